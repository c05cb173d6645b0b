/* HTTP dates and Retry-After (hl__http_date_parse, hl__retry_after_ns): IMF-fixdate only
   (RFC 9110 5.6.7), exact Unix seconds, leap years and month ends checked against a naive day
   count, invalid forms refused. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

static const char *const wdays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"}; /* 1970-01-01: Thu */
static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int mdays(int y, int m) /* m 1..12 */
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days from 1970-01-01, counted the slow way (years >= 1970). */
static long naive_days(int y, int m, int d)
{
    long n = 0;
    int i;
    for (i = 1970; i < y; i++) n += leap(i) ? 366 : 365;
    for (i = 1; i < m; i++) n += mdays(y, i);
    return n + d - 1;
}

/* Parse through an exact-size heap copy: -1, or 0 with *out. */
static int parse(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    char *b = (char *)malloc(n ? n : 1);
    int rc;
    if (!b) return -2;
    memcpy(b, s, n);
    rc = hl__http_date_parse(b, n, out);
    free(b);
    return rc;
}

static int64_t retry(const char *s, int64_t now)
{
    size_t n = strlen(s);
    char *b = (char *)malloc(n ? n : 1);
    int64_t r;
    if (!b) return -2;
    memcpy(b, s, n);
    r = hl__retry_after_ns(b, n, now);
    free(b);
    return r;
}

typedef struct date_row {
    const char *s;
    int64_t unix_s;
} date_row;

static const date_row good_dates[] = {
    {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},   /* RFC 9110's example */
    {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
    {"Thu, 01 Jan 1970 00:00:01 GMT", 1},
    {"Wed, 31 Dec 1969 23:59:59 GMT", -1},
    {"Fri, 31 Dec 1999 23:59:59 GMT", 946684799},
    {"Sat, 01 Jan 2000 00:00:00 GMT", 946684800},
    {"Tue, 29 Feb 2000 12:00:00 GMT", 951825600},   /* 2000 is a leap year (divisible by 400) */
    {"Wed, 01 Mar 2000 00:00:00 GMT", 951868800},
    {"Thu, 28 Feb 2019 23:59:59 GMT", 1551398399},
    {"Fri, 01 Mar 2019 00:00:00 GMT", 1551398400},
    {"Thu, 29 Feb 2024 23:59:59 GMT", 1709251199},
    {"Fri, 01 Mar 2024 00:00:00 GMT", 1709251200},
    {"Sun, 28 Feb 2100 00:00:00 GMT", 4107456000},  /* 2100 is not */
    {"Mon, 01 Mar 2100 00:00:00 GMT", 4107542400},
    {"Tue, 19 Jan 2038 03:14:07 GMT", 2147483647},
    {"Tue, 19 Jan 2038 03:14:08 GMT", 2147483648},  /* past 32 bits */
    {"Sun, 07 Feb 2106 06:28:16 GMT", 4294967296},
    {"Thu, 30 Apr 2026 23:59:59 GMT", 1777593599},
    {"Fri, 01 May 2026 00:00:00 GMT", 1777593600},
    {"Thu, 31 Dec 2026 23:59:59 GMT", 1798761599},
    {"Fri, 31 Dec 9999 23:59:59 GMT", 253402300799},
    {"Sat, 01 Jan 0000 00:00:00 GMT", -62167219200},
};

static void test_known_dates(void)
{
    size_t i;
    for (i = 0; i < sizeof good_dates / sizeof good_dates[0]; i++) {
        int64_t t = 12345;
        int rc = parse(good_dates[i].s, &t);
        CHECK_EQ(rc, 0);
        CHECK_EQ(t, good_dates[i].unix_s);
        if (rc != 0 || t != good_dates[i].unix_s) printf("  %s -> %d %lld\n", good_dates[i].s, rc, (long long)t);
    }
}

/* Every day from 1970 to 2400 (leap rules of 4, 100 and 400 years, every month end) at
   00:00:00 and 23:59:59, against the naive count. */
static void test_every_day(void)
{
    int y, m, d;
    long bad = 0, days = 0;
    for (y = 1970; y <= 2400; y++)
        for (m = 1; m <= 12; m++)
            for (d = 1; d <= mdays(y, m); d++) {
                char s[64];
                int64_t t = 0, want = (int64_t)naive_days(y, m, d) * 86400;
                snprintf(s, sizeof s, "%s, %02d %s %04d 00:00:00 GMT", wdays[days % 7], d, mons[m - 1], y);
                if (parse(s, &t) != 0 || t != want) {
                    if (!bad) printf("  %s -> %lld, want %lld\n", s, (long long)t, (long long)want);
                    bad++;
                }
                snprintf(s, sizeof s, "%s, %02d %s %04d 23:59:59 GMT", wdays[days % 7], d, mons[m - 1], y);
                if (parse(s, &t) != 0 || t != want + 86399) bad++;
                days++;
            }
    CHECK_EQ(bad, 0);
    CHECK_EQ(days, naive_days(2401, 1, 1));
}

static void test_times_of_day(void)
{
    int hh, mm, ss;
    long bad = 0;
    for (hh = 0; hh < 24; hh++)
        for (mm = 0; mm < 60; mm++)
            for (ss = 0; ss < 60; ss += 7) {
                char s[64];
                int64_t t = 0;
                snprintf(s, sizeof s, "Sun, 06 Nov 1994 %02d:%02d:%02d GMT", hh, mm, ss);
                if (parse(s, &t) != 0 || t != 784080000 + hh * 3600 + mm * 60 + ss) bad++;
            }
    CHECK_EQ(bad, 0);
}

static void test_leap_second(void)
{
    /* ":60" is a leap second; it reads as the next second */
    int64_t t = 0;
    CHECK_EQ(parse("Sat, 31 Dec 2016 23:59:60 GMT", &t), 0);
    CHECK_EQ(t, 1483228800);
}

static const char *const bad_dates[] = {
    "",
    "Sun, 06 Nov 1994 08:49:37 GM",        /* 28 bytes */
    "Sun, 06 Nov 1994 08:49:37 GMT ",      /* 30 bytes */
    " Sun, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37 gmt",
    "Sunday, 06-Nov-94 08:49:37 GMT",      /* RFC 850 (obsolete) */
    "Sun Nov  6 08:49:37 1994",            /* asctime (obsolete) */
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sun,06 Nov 1994 08:49:37 GMT ",
    "Sun, 06 nov 1994 08:49:37 GMT",
    "Sun, 06 NOV 1994 08:49:37 GMT",
    "Sun, 06 Foo 1994 08:49:37 GMT",
    "Sun, 06 Nov 94   08:49:37 GMT",
    "Sun, 06 Nov 1994 08-49-37 GMT",
    "Sun, 06 Nov 1994 8:49:37  GMT",
    "Sun, 06 Nov 199x 08:49:37 GMT",
    "Sun, 0x Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:4a:37 GMT",
    "Sun, -6 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 +8:49:37 GMT",
    "Sun, 00 Nov 1994 08:49:37 GMT",
    "Sun, 32 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:00:00 GMT",
    "Sun, 06 Nov 1994 08:60:00 GMT",
    "Sun, 06 Nov 1994 08:49:61 GMT",
    "Sun, 06 Nov 1994 99:99:99 GMT",
};

static void test_invalid_forms(void)
{
    size_t i;
    for (i = 0; i < sizeof bad_dates / sizeof bad_dates[0]; i++) {
        int64_t t = 777;
        int rc = parse(bad_dates[i], &t);
        CHECK_EQ(rc, -1);
        if (rc != -1) printf("  accepted [%s] as %lld\n", bad_dates[i], (long long)t);
    }
}

/* Days that do not exist in their month are not dates. */
static void test_impossible_days(void)
{
    static const char *const impossible[] = {
        "Thu, 31 Apr 2026 00:00:00 GMT", "Sat, 30 Feb 2024 00:00:00 GMT", "Fri, 29 Feb 2023 00:00:00 GMT",
        "Mon, 29 Feb 2100 00:00:00 GMT", "Mon, 31 Jun 2026 00:00:00 GMT", "Thu, 31 Sep 2026 00:00:00 GMT",
        "Tue, 31 Nov 2026 00:00:00 GMT",
    };
    size_t i;
    for (i = 0; i < sizeof impossible / sizeof impossible[0]; i++) {
        int64_t t = 0;
        int rc = parse(impossible[i], &t);
        CHECK_EQ(rc, -1);
        if (rc != -1) printf("  accepted [%s] as %lld\n", impossible[i], (long long)t);
    }
}

static void test_retry_after_seconds(void)
{
    CHECK_EQ(retry("0", 0), 0);
    CHECK_EQ(retry("1", 0), 1000000000ll);
    CHECK_EQ(retry("120", 784111777), 120000000000ll);
    CHECK_EQ(retry("0120", 0), 120000000000ll);
    CHECK_EQ(retry("86400", 0), 86400000000000ll);
    CHECK_EQ(retry("999999999", 0), 999999999000000000ll);
    /* not a delay */
    CHECK_EQ(retry("", 0), -1);
    CHECK_EQ(retry("1000000000", 0), -1); /* 10 digits */
    CHECK_EQ(retry("-1", 0), -1);
    CHECK_EQ(retry("+1", 0), -1);
    CHECK_EQ(retry(" 5", 0), -1);
    CHECK_EQ(retry("5 ", 0), -1);
    CHECK_EQ(retry("1.5", 0), -1);
    CHECK_EQ(retry("1e3", 0), -1);
    CHECK_EQ(retry("abc", 0), -1);
}

static void test_retry_after_dates(void)
{
    const char *d = "Sun, 06 Nov 1994 08:49:37 GMT"; /* 784111777 */
    CHECK_EQ(retry(d, 784111777 - 30), 30000000000ll);
    CHECK_EQ(retry(d, 784111777 - 1), 1000000000ll);
    CHECK_EQ(retry(d, 784111777), 0);
    CHECK_EQ(retry(d, 784111777 + 1), 0);
    CHECK_EQ(retry(d, 1800000000), 0); /* long past */
    CHECK_EQ(retry(d, 0), 784111777000000000ll);
    CHECK_EQ(retry("Wed, 01 Jan 2200 00:00:00 GMT", 1800000000), (7258118400ll - 1800000000) * 1000000000ll);
    CHECK_EQ(retry("Sun, 06 Nov 1994 08:49:37 UTC", 0), -1);
    CHECK_EQ(retry("Sunday, 06-Nov-94 08:49:37 GMT", 0), -1);
}

/* A date so far ahead that its distance in nanoseconds does not fit 63 bits (from 2262 on) is a
   very long wait, not a signed overflow (UBSan stops here, so this test runs last). */
static void test_retry_after_far_future(void)
{
    int64_t r = retry("Fri, 31 Dec 9999 23:59:59 GMT", 1800000000);
    CHECK(r > 0);
    r = retry("Sat, 12 Apr 2262 00:00:00 GMT", 0);
    CHECK(r > 0);
}

int main(void)
{
    HL_TEST(test_known_dates);
    HL_TEST(test_every_day);
    HL_TEST(test_times_of_day);
    HL_TEST(test_leap_second);
    HL_TEST(test_invalid_forms);
    HL_TEST(test_impossible_days);
    HL_TEST(test_retry_after_seconds);
    HL_TEST(test_retry_after_dates);
    HL_TEST(test_retry_after_far_future);
    return hl_test_summary();
}
