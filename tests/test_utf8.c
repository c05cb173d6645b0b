/* Incremental UTF-8 validation (hl__utf8_feed): verdicts, split invariance, and fail-fast (the
   state becomes REJECT at exactly the first byte no valid text can continue with). */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

#define U(s) (const unsigned char *)(s), sizeof(s) - 1

/* 0: valid and complete, 1: a valid prefix that ends inside a character, 2: invalid. */
enum { V_OK = 0, V_PARTIAL = 1, V_BAD = 2 };

static int verdict_of(uint32_t st)
{
    if (st == HL__UTF8_ACCEPT) return V_OK;
    if (st == HL__UTF8_REJECT) return V_BAD;
    return V_PARTIAL;
}

static int verdict(const unsigned char *s, size_t n)
{
    return verdict_of(hl__utf8_feed(HL__UTF8_ACCEPT, s, n));
}

/* An independent reference: decode each sequence; for one cut short by the end of the input,
   ask whether the code points its completions could reach meet the valid range for its length
   (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static int ref_range_ok(int len, uint32_t lo, uint32_t hi)
{
    if (len == 2) return hi >= 0x80 && lo <= 0x7FF;
    if (len == 3) return (hi >= 0x800 && lo <= 0xD7FF) || (hi >= 0xE000 && lo <= 0xFFFF);
    return hi >= 0x10000 && lo <= 0x10FFFF;
}

static int ref_verdict(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned b = s[i];
        int len, have, missing;
        uint32_t cp, lo, hi;
        if (b < 0x80) {
            i++;
            continue;
        }
        if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; }
        else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; }
        else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; }
        else return V_BAD;
        have = 1;
        while (have < len && i + (size_t)have < n) {
            if ((s[i + have] & 0xC0) != 0x80) return V_BAD; /* not a continuation byte */
            cp = cp << 6 | (s[i + have] & 0x3F);
            have++;
        }
        missing = len - have;
        lo = cp << (6 * missing);
        hi = lo | ((1u << (6 * missing)) - 1);
        if (!ref_range_ok(len, lo, hi)) return V_BAD;
        if (missing) return V_PARTIAL;
        i += (size_t)len;
    }
    return V_OK;
}

/* Index of the first byte at which the reference says the prefix is impossible, or -1. */
static long ref_reject_at(const unsigned char *s, size_t n)
{
    size_t k;
    for (k = 1; k <= n; k++)
        if (ref_verdict(s, k) == V_BAD) return (long)k - 1;
    return -1;
}

/* Index of the byte at which the machine, fed one byte at a time, enters REJECT, or -1. */
static long reject_at_bytewise(const unsigned char *s, size_t n)
{
    uint32_t st = HL__UTF8_ACCEPT;
    size_t i;
    for (i = 0; i < n; i++) {
        st = hl__utf8_feed(st, s + i, 1);
        if (st == HL__UTF8_REJECT) return (long)i;
    }
    return -1;
}

/* ---- sample tables ---- */

typedef struct sample {
    const char *s;
    size_t n;
    long reject_at; /* -1: never rejected */
    int verdict;
} sample;

#define OK(s) {s, sizeof(s) - 1, -1, V_OK}
#define PARTIAL(s) {s, sizeof(s) - 1, -1, V_PARTIAL}
#define BAD(s, at) {s, sizeof(s) - 1, at, V_BAD}

static const sample samples[] = {
    OK(""),
    OK("a"),
    OK("Hello, world"),
    OK("0123456789abcdefghijklmnopqrstuvwxyz"),
    {"\0\x01\x7f", 3, -1, V_OK},
    OK("\xc2\x80"),             /* U+0080 */
    OK("\xdf\xbf"),             /* U+07FF */
    OK("\xe0\xa0\x80"),         /* U+0800 */
    OK("\xe1\x80\x80"),
    OK("\xec\xbf\xbf"),
    OK("\xed\x80\x80"),         /* U+D000 */
    OK("\xed\x9f\xbf"),         /* U+D7FF, last before the surrogates */
    OK("\xee\x80\x80"),         /* U+E000, first after */
    OK("\xef\xbf\xbd"),         /* U+FFFD */
    OK("\xef\xbf\xbf"),         /* U+FFFF */
    OK("\xf0\x90\x80\x80"),     /* U+10000 */
    OK("\xf1\x80\x80\x80"),
    OK("\xf3\xbf\xbf\xbf"),
    OK("\xf4\x80\x80\x80"),
    OK("\xf4\x8f\xbf\xbf"),     /* U+10FFFF */
    OK("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), /* kosme */
    OK("abcdefgh\xe2\x82\xac" "abcdefgh"),
    OK("\xf0\x9f\x98\x80 smile \xe4\xb8\xad\xe6\x96\x87"),
    /* overlong forms */
    BAD("\xc0\x80", 0),
    BAD("\xc0\xaf", 0),
    BAD("\xc1\xbf", 0),
    BAD("\xe0\x80\x80", 1),
    BAD("\xe0\x80\xaf", 1),
    BAD("\xe0\x9f\xbf", 1),
    BAD("\xf0\x80\x80\x80", 1),
    BAD("\xf0\x80\x80\xaf", 1),
    BAD("\xf0\x8f\xbf\xbf", 1),
    /* surrogates */
    BAD("\xed\xa0\x80", 1),
    BAD("\xed\xad\xbf", 1),
    BAD("\xed\xb0\x80", 1),
    BAD("\xed\xbf\xbf", 1),
    BAD("\xed\xa0\x80\xed\xb0\x80", 1),
    /* above U+10FFFF, and bytes that never appear */
    BAD("\xf4\x90\x80\x80", 1),
    BAD("\xf4\xbf\xbf\xbf", 1),
    BAD("\xf5\x80\x80\x80", 0),
    BAD("\xf7\xbf\xbf\xbf", 0),
    BAD("\xf8\x88\x80\x80\x80", 0),
    BAD("\xfc\x84\x80\x80\x80\x80", 0),
    BAD("\xfe", 0),
    BAD("\xff", 0),
    BAD("a\xfe", 1),
    /* stray continuation bytes */
    BAD("\x80", 0),
    BAD("\xbf", 0),
    BAD("abc\x80", 3),
    BAD("\xc2\x80\x80", 2),
    BAD("\xe2\x82\xac\xac", 3),
    /* a lead byte followed by a non-continuation */
    BAD("\xc2\x41", 1),
    BAD("\xc2\xc2\x80", 1),
    BAD("\xe1\x80\x41", 2),
    BAD("\xe1\x41\x80", 1),
    BAD("\xf0\x90\x80\x41", 3),
    BAD("\xf1\x80\xc0\x80", 2),
};

static const sample truncated[] = {
    PARTIAL("\xc2"),
    PARTIAL("\xdf"),
    PARTIAL("\xe0"),
    PARTIAL("\xe0\xa0"),
    PARTIAL("\xed\x9f"),
    PARTIAL("\xef\xbf"),
    PARTIAL("\xf0"),
    PARTIAL("\xf0\x90"),
    PARTIAL("\xf0\x90\x80"),
    PARTIAL("\xf4\x8f\xbf"),
    PARTIAL("abc\xe2\x82"),
    PARTIAL("abcdefgh\xf4\x8f\xbf"),
    PARTIAL("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce"),
};

static void check_sample(const sample *t)
{
    const unsigned char *s = (const unsigned char *)t->s;
    long at = reject_at_bytewise(s, t->n);
    CHECK_EQ(verdict(s, t->n), t->verdict);
    CHECK_EQ(ref_verdict(s, t->n), t->verdict); /* the reference agrees with the table */
    CHECK_EQ(at, t->reject_at);
    CHECK_EQ(ref_reject_at(s, t->n), t->reject_at);
}

static void test_valid_and_invalid(void)
{
    size_t i;
    for (i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        check_sample(&samples[i]);
        if (hl_test_failed_now) {
            printf("  (sample %u)\n", (unsigned)i);
            return;
        }
    }
}

static void test_truncated(void)
{
    size_t i;
    for (i = 0; i < sizeof truncated / sizeof truncated[0]; i++) {
        check_sample(&truncated[i]);
        CHECK(hl__utf8_feed(HL__UTF8_ACCEPT, (const unsigned char *)truncated[i].s, truncated[i].n) !=
              HL__UTF8_ACCEPT);
    }
}

/* The state after feeding a sample whole equals the state after any two or three feeds. */
static void check_splits(const unsigned char *s, size_t n)
{
    uint32_t whole = hl__utf8_feed(HL__UTF8_ACCEPT, s, n);
    size_t i, j;
    for (i = 0; i <= n; i++) {
        uint32_t st = hl__utf8_feed(hl__utf8_feed(HL__UTF8_ACCEPT, s, i), s + i, n - i);
        CHECK_EQ(st, whole);
        for (j = i; j <= n; j++) {
            uint32_t st3 = hl__utf8_feed(HL__UTF8_ACCEPT, s, i);
            st3 = hl__utf8_feed(st3, s + i, j - i);
            st3 = hl__utf8_feed(st3, s + j, n - j);
            CHECK_EQ(st3, whole);
        }
    }
}

static void test_splits(void)
{
    size_t i;
    for (i = 0; i < sizeof samples / sizeof samples[0]; i++)
        check_splits((const unsigned char *)samples[i].s, samples[i].n);
    for (i = 0; i < sizeof truncated / sizeof truncated[0]; i++)
        check_splits((const unsigned char *)truncated[i].s, truncated[i].n);
}

/* Prefixes fed whole (through the ASCII fast path) turn REJECT exactly at the bad byte. */
static void check_fail_fast(const unsigned char *s, size_t n, long at)
{
    size_t k;
    for (k = 0; k <= n; k++) {
        uint32_t st = hl__utf8_feed(HL__UTF8_ACCEPT, s, k);
        if (at >= 0 && (long)k > at) CHECK_EQ(st, HL__UTF8_REJECT);
        else CHECK(st != HL__UTF8_REJECT);
    }
    CHECK_EQ(reject_at_bytewise(s, n), at);
}

static void test_fail_fast(void)
{
    /* "kosme" then a UTF-16 surrogate: the 0xa0 (index 12) is the first impossible byte */
    check_fail_fast(U("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"), 12);
    check_fail_fast(U("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited"), 12);
    check_fail_fast(U("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"), 12);
    check_fail_fast(U("Hello-\xc0\x80-world"), 6);
    check_fail_fast(U("0123456789abcdef\xe0\x9f\x80"), 17);
    check_fail_fast(U("0123456789abcdef\xf0\x8f\x80\x80"), 17);
    check_fail_fast(U("01234567\xf5zzzzzzzzzzzzz"), 8);
    check_fail_fast(U("\xf4\x8f\xbf\xbf\xf4\x90"), 5);
    check_fail_fast(U("\xe2\x82\xac\xe2\x82" "abcdefghijklmnop"), 5);
}

/* ---- exhaustive comparison with the reference ---- */

static const unsigned char interesting[] = {0x00, 0x41, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F,
                                            0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
                                            0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};

static void test_exhaustive_short(void)
{
    unsigned a, b;
    size_t c, d;
    unsigned char s[4];
    long bad = 0;
    for (a = 0; a < 256; a++) {
        s[0] = (unsigned char)a;
        if (verdict(s, 1) != ref_verdict(s, 1)) bad++;
        for (b = 0; b < 256; b++) {
            s[1] = (unsigned char)b;
            if (verdict(s, 2) != ref_verdict(s, 2)) bad++;
            for (c = 0; c < sizeof interesting; c++) {
                s[2] = interesting[c];
                if (verdict(s, 3) != ref_verdict(s, 3)) bad++;
            }
        }
    }
    /* four bytes: every lead of interest with every second byte */
    for (a = 0; a < sizeof interesting; a++) {
        s[0] = interesting[a];
        if (s[0] < 0xC2) continue;
        for (b = 0; b < 256; b++) {
            s[1] = (unsigned char)b;
            for (c = 0; c < sizeof interesting; c++) {
                s[2] = interesting[c];
                for (d = 0; d < sizeof interesting; d++) {
                    s[3] = interesting[d];
                    if (verdict(s, 4) != ref_verdict(s, 4)) bad++;
                }
            }
        }
    }
    CHECK_EQ(bad, 0);
}

/* Every code point encodes to bytes that are accepted exactly when it is a scalar value. */
static void test_every_code_point(void)
{
    uint32_t cp;
    long bad = 0;
    for (cp = 0; cp <= 0x10FFFF; cp++) {
        unsigned char s[4];
        size_t n;
        if (cp < 0x80) { s[0] = (unsigned char)cp; n = 1; }
        else if (cp < 0x800) {
            s[0] = (unsigned char)(0xC0 | cp >> 6);
            s[1] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            s[0] = (unsigned char)(0xE0 | cp >> 12);
            s[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            s[2] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            s[0] = (unsigned char)(0xF0 | cp >> 18);
            s[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            s[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            s[3] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        if (verdict(s, n) != ((cp >= 0xD800 && cp <= 0xDFFF) ? V_BAD : V_OK)) bad++;
    }
    CHECK_EQ(bad, 0);
}

/* ---- the ASCII fast path ---- */

static void test_ascii_fast_path(void)
{
    unsigned char buf[64];
    size_t n, off, p;
    for (off = 0; off < 8; off++)
        for (n = 0; n <= 40; n++) {
            unsigned char *s = buf + off;
            for (p = 0; p < n; p++) s[p] = (unsigned char)('A' + (p % 26));
            CHECK_EQ(verdict(s, n), V_OK);
            for (p = 0; p < n; p++) {
                /* one bad byte at p: rejected exactly there */
                unsigned char keep = s[p];
                s[p] = (p & 1) ? 0x80 : 0xFF;
                check_fail_fast(s, n, (long)p);
                /* a valid two-byte character at p */
                s[p] = 0xC3;
                if (p + 1 < n) {
                    unsigned char keep2 = s[p + 1];
                    s[p + 1] = 0xA9;
                    CHECK_EQ(verdict(s, n), V_OK);
                    s[p + 1] = keep2;
                } else {
                    CHECK_EQ(verdict(s, n), V_PARTIAL);
                }
                s[p] = keep;
            }
        }
    /* every ASCII byte, NUL included, in one run */
    {
        unsigned char all[128];
        for (p = 0; p < 128; p++) all[p] = (unsigned char)p;
        CHECK_EQ(verdict(all, 128), V_OK);
    }
}

/* The fast path must not skip ASCII when a character is open: those bytes are errors there. */
static void test_ascii_inside_sequence(void)
{
    uint32_t st = hl__utf8_feed(HL__UTF8_ACCEPT, U("\xe2"));
    CHECK_EQ(verdict_of(st), V_PARTIAL);
    CHECK_EQ(hl__utf8_feed(st, U("abcdefghijklmnop")), HL__UTF8_REJECT);
    st = hl__utf8_feed(HL__UTF8_ACCEPT, U("\xf0\x90\x80"));
    CHECK_EQ(hl__utf8_feed(st, U("01234567")), HL__UTF8_REJECT);
    st = hl__utf8_feed(HL__UTF8_ACCEPT, U("\xe2\x82"));
    CHECK_EQ(hl__utf8_feed(st, U("\xac" "abcdefghijklmnop")), HL__UTF8_ACCEPT);
    CHECK_EQ(hl__utf8_feed(st, U("\xac" "abcdefghijklmnop\x80")), HL__UTF8_REJECT);
}

static void test_reject_is_sticky(void)
{
    CHECK_EQ(hl__utf8_feed(HL__UTF8_REJECT, U("abc")), HL__UTF8_REJECT);
    CHECK_EQ(hl__utf8_feed(HL__UTF8_REJECT, U("")), HL__UTF8_REJECT);
    CHECK_EQ(hl__utf8_feed(HL__UTF8_REJECT, U("\xc2\x80")), HL__UTF8_REJECT);
    CHECK_EQ(hl__utf8_feed(HL__UTF8_ACCEPT, U("")), HL__UTF8_ACCEPT);
    /* an open character stays open over an empty feed */
    {
        uint32_t st = hl__utf8_feed(HL__UTF8_ACCEPT, U("\xf0\x90"));
        CHECK_EQ(hl__utf8_feed(st, U("")), st);
    }
}

int main(void)
{
    HL_TEST(test_valid_and_invalid);
    HL_TEST(test_truncated);
    HL_TEST(test_splits);
    HL_TEST(test_fail_fast);
    HL_TEST(test_exhaustive_short);
    HL_TEST(test_every_code_point);
    HL_TEST(test_ascii_fast_path);
    HL_TEST(test_ascii_inside_sequence);
    HL_TEST(test_reject_is_sticky);
    return hl_test_summary();
}
