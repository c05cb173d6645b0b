/* Retry-After: delay-seconds or an HTTP-date (RFC 9110 5.6.7, the IMF-fixdate form
   "Sun, 06 Nov 1994 08:49:37 GMT"). Both the WebSocket upgrade and HTTP retries honour it. */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t hl__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int hl__digits(const char *p, int n, unsigned *out)
{
    int i;
    *out = 0;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        *out = *out * 10 + (unsigned)(p[i] - '0');
    }
    return 1;
}

/* Parse an IMF-fixdate into Unix seconds; 0 on success, -1 otherwise. */
static int hl__http_date_parse(const char *v, size_t n, int64_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    unsigned day, year, hh, mm, ss, mon;
    if (n != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
        v[19] != ':' || v[22] != ':' || memcmp(v + 25, " GMT", 4) != 0)
        return -1;
    if (!hl__digits(v + 5, 2, &day) || !hl__digits(v + 12, 4, &year) || !hl__digits(v + 17, 2, &hh) ||
        !hl__digits(v + 20, 2, &mm) || !hl__digits(v + 23, 2, &ss))
        return -1;
    for (mon = 0; mon < 12; mon++)
        if (memcmp(months + 3 * mon, v + 8, 3) == 0) break;
    if (mon == 12 || day < 1 || hh > 23 || mm > 59 || ss > 60) return -1;
    {
        static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        if (day > mdays[mon] || (mon == 1 && day == 29 && !leap)) return -1;
    }
    *out = hl__days_from_civil(year, mon + 1, day) * 86400 + hh * 3600 + mm * 60 + ss;
    return 0;
}

/* A Retry-After value as nanoseconds from now (never negative); -1 when unreadable. */
static int64_t hl__retry_after_ns(const char *v, size_t n, int64_t unix_now)
{
    unsigned secs;
    int64_t when;
    if (n > 0 && n <= 9 && hl__digits(v, (int)n, &secs)) return (int64_t)secs * 1000000000;
    if (hl__http_date_parse(v, n, &when) == 0) {
        if (when <= unix_now) return 0;
        /* a date centuries away still fits (and is capped at about 292 years) */
        return when - unix_now >= 9000000000LL ? INT64_MAX : (when - unix_now) * 1000000000;
    }
    return -1;
}
