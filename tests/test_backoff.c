/* Backoff with jitter (hl__backoff_*), and hl_err_retryable, the one retry verdict: exact tables
   for the resolved defaults, the base delays, the jitter bounds and the mapping of a random word
   into them. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

/* A deterministic word source for the sweeps (xorshift64*). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd32(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static hl_backoff mk(uint32_t initial, uint32_t max, uint32_t mult, hl_jitter jitter, uint32_t jitter_pct)
{
    hl_backoff in, out;
    memset(&in, 0, sizeof in);
    in.initial_ms = initial;
    in.max_ms = max;
    in.multiplier_pct = mult;
    in.jitter = jitter;
    in.jitter_pct = jitter_pct;
    hl__backoff_resolve(&in, &out);
    return out;
}

static void test_resolve_defaults(void)
{
    hl_backoff in, out;
    memset(&in, 0, sizeof in);
    memset(&out, 0xAB, sizeof out);
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.initial_ms, 1000);
    CHECK_EQ(out.max_ms, 30000);
    CHECK_EQ(out.multiplier_pct, 200);
    CHECK_EQ(out.jitter, HL_JITTER_PROPORTIONAL);
    CHECK_EQ(out.jitter_pct, 20);
    CHECK_EQ(out.max_attempts, 0);
    CHECK_EQ(out.healthy_ms, 10000);
}

static void test_resolve_explicit_and_clamped(void)
{
    hl_backoff in, out;
    memset(&in, 0, sizeof in);
    in.initial_ms = 250;
    in.max_ms = 5000;
    in.multiplier_pct = 150;
    in.jitter = HL_JITTER_FULL;
    in.jitter_pct = 35;
    in.max_attempts = 7;
    in.healthy_ms = 1234;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.initial_ms, 250);
    CHECK_EQ(out.max_ms, 5000);
    CHECK_EQ(out.multiplier_pct, 150);
    CHECK_EQ(out.jitter, HL_JITTER_FULL);
    CHECK_EQ(out.jitter_pct, 35);
    CHECK_EQ(out.max_attempts, 7);
    CHECK_EQ(out.healthy_ms, 1234);

    /* a multiplier below 100 % would shrink the delay: raised to 100 */
    in.multiplier_pct = 50;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.multiplier_pct, 100);
    in.multiplier_pct = 99;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.multiplier_pct, 100);
    in.multiplier_pct = 100;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.multiplier_pct, 100);

    /* a cap below the first delay is raised to it, also against the default cap */
    in.initial_ms = 9000;
    in.max_ms = 100;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.max_ms, 9000);
    in.initial_ms = 50000;
    in.max_ms = 0;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.max_ms, 50000);

    /* jitter_pct: 0 is the default (20), above 100 is 100 */
    in.jitter_pct = 0;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.jitter_pct, 20);
    in.jitter_pct = 100;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.jitter_pct, 100);
    in.jitter_pct = 101;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.jitter_pct, 100);
    in.jitter_pct = 0xFFFFFFFFu;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.jitter_pct, 100);

    /* HL_JITTER_DEFAULT resolves to proportional; NONE stays NONE */
    in.jitter = HL_JITTER_DEFAULT;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.jitter, HL_JITTER_PROPORTIONAL);
    in.jitter = HL_JITTER_NONE;
    hl__backoff_resolve(&in, &out);
    CHECK_EQ(out.jitter, HL_JITTER_NONE);

    /* resolving twice changes nothing */
    {
        hl_backoff again;
        hl__backoff_resolve(&out, &again);
        CHECK(memcmp(&out, &again, sizeof out) == 0);
    }
}

/* Base delays for attempts 1..40 (initial 1000 ms, cap 30000 ms): initial * multiplier^(n-1)
   floored to whole milliseconds (the steps are worked in microseconds). */
typedef struct base_row {
    uint32_t mult;
    uint32_t first[10]; /* attempts 1..10; from 11 on every multiplier here is at the cap */
} base_row;

static const base_row base_rows[] = {
    {100, {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}},
    {150, {1000, 1500, 2250, 3375, 5062, 7593, 11390, 17085, 25628, 30000}},
    {200, {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000}},
    {1000, {1000, 10000, 30000, 30000, 30000, 30000, 30000, 30000, 30000, 30000}},
};

static void test_base_table(void)
{
    size_t r;
    uint32_t a;
    for (r = 0; r < sizeof base_rows / sizeof base_rows[0]; r++) {
        hl_backoff b = mk(1000, 30000, base_rows[r].mult, HL_JITTER_NONE, 0);
        uint32_t prev = 0;
        for (a = 1; a <= 40; a++) {
            uint32_t want = a <= 10 ? base_rows[r].first[a - 1] : (base_rows[r].mult == 100 ? 1000 : 30000);
            uint32_t got = hl__backoff_base(&b, a);
            CHECK_EQ(got, want);
            if (got != want) printf("  multiplier %u%% attempt %u\n", (unsigned)base_rows[r].mult, (unsigned)a);
            CHECK(got >= prev); /* never shrinks */
            prev = got;
        }
        /* attempt 0 (no retry yet) is treated like the first */
        CHECK_EQ(hl__backoff_base(&b, 0), 1000);
    }
}

static void test_base_powers_of_two_to_the_top(void)
{
    /* initial 1 ms, x2, cap UINT32_MAX: 2^(n-1) up to 2^31, then the cap; no 32-bit overflow */
    hl_backoff b = mk(1, 0xFFFFFFFFu, 200, HL_JITTER_NONE, 0);
    uint32_t a;
    for (a = 1; a <= 32; a++) CHECK_EQ(hl__backoff_base(&b, a), (uint32_t)1 << (a - 1));
    for (a = 33; a <= 40; a++) CHECK_EQ(hl__backoff_base(&b, a), 0xFFFFFFFFu);
    CHECK_EQ(hl__backoff_base(&b, 0xFFFFFFFFu), 0xFFFFFFFFu);
}

static void test_base_huge_attempts(void)
{
    static const uint32_t mults[] = {150, 200, 1000, 100000, 0xFFFFFFFFu};
    static const uint32_t attempts[] = {41, 100, 1000, 65536, 0x7FFFFFFFu, 0xFFFFFFFEu, 0xFFFFFFFFu};
    size_t i, j;
    for (i = 0; i < sizeof mults / sizeof mults[0]; i++) {
        hl_backoff b = mk(1000, 30000, mults[i], HL_JITTER_NONE, 0);
        hl_backoff big = mk(1000, 0xFFFFFFFFu, mults[i], HL_JITTER_NONE, 0);
        for (j = 0; j < sizeof attempts / sizeof attempts[0]; j++) {
            CHECK_EQ(hl__backoff_base(&b, attempts[j]), 30000);
            CHECK_EQ(hl__backoff_base(&big, attempts[j]), 0xFFFFFFFFu);
        }
    }
    /* 1 % growth reaches either cap long before attempt 65536 */
    {
        hl_backoff b = mk(1000, 30000, 101, HL_JITTER_NONE, 0);
        hl_backoff big = mk(1000, 0xFFFFFFFFu, 101, HL_JITTER_NONE, 0);
        CHECK_EQ(hl__backoff_base(&b, 2), 1010);
        CHECK_EQ(hl__backoff_base(&b, 65536), 30000);
        CHECK_EQ(hl__backoff_base(&big, 65536), 0xFFFFFFFFu);
        CHECK_EQ(hl__backoff_base(&big, 0xFFFFFFFFu), 0xFFFFFFFFu);
    }
    /* the biggest multiplier: one step goes past the biggest cap, without wrapping */
    {
        hl_backoff b = mk(0xFFFFFFFEu, 0xFFFFFFFFu, 0xFFFFFFFFu, HL_JITTER_NONE, 0);
        CHECK_EQ(hl__backoff_base(&b, 1), 0xFFFFFFFEu);
        CHECK_EQ(hl__backoff_base(&b, 2), 0xFFFFFFFFu);
    }
    /* multiplier 100 %: constant, however far (a loop of a million steps here) */
    {
        hl_backoff b = mk(1000, 30000, 100, HL_JITTER_NONE, 0);
        CHECK_EQ(hl__backoff_base(&b, 1000000), 1000);
    }
}

/* An exponential backoff must grow: with a small first delay and a multiplier below 200 % the
   integer step initial * multiplier / 100 can round back to the same value for ever. Expected
   values from initial * (multiplier/100)^(attempt-1), capped. */
static void test_base_small_initial_grows(void)
{
    hl_backoff b1 = mk(1, 30000, 150, HL_JITTER_NONE, 0);   /* 1.5^39 ~ 7.4e6: at the cap */
    hl_backoff b10 = mk(10, 30000, 105, HL_JITTER_NONE, 0); /* 10 * 1.05^199 ~ 1.6e5: capped */
    hl_backoff b3 = mk(3, 30000, 120, HL_JITTER_NONE, 0);   /* 3 * 1.2^10 = 18.6 */
    CHECK_EQ(hl__backoff_base(&b1, 40), 30000);
    CHECK_EQ(hl__backoff_base(&b10, 200), 30000);
    CHECK_EQ(hl__backoff_base(&b3, 11), 18);
    CHECK(hl__backoff_base(&b1, 3) >= 2); /* 2.25 */
}

typedef struct bounds_row {
    hl_jitter jitter;
    uint32_t jitter_pct;
    uint32_t attempt;
    uint32_t lo, hi; /* initial 1000, x2, cap 30000 */
} bounds_row;

static const bounds_row bounds_rows[] = {
    {HL_JITTER_PROPORTIONAL, 20, 1, 800, 1200},
    {HL_JITTER_PROPORTIONAL, 20, 2, 1600, 2400},
    {HL_JITTER_PROPORTIONAL, 20, 5, 12800, 19200},
    {HL_JITTER_PROPORTIONAL, 20, 6, 24000, 30000},  /* base at the cap: never above it */
    {HL_JITTER_PROPORTIONAL, 20, 40, 24000, 30000},
    {HL_JITTER_PROPORTIONAL, 1, 1, 990, 1010},
    {HL_JITTER_PROPORTIONAL, 50, 3, 2000, 6000},
    {HL_JITTER_PROPORTIONAL, 100, 1, 0, 2000},
    {HL_JITTER_PROPORTIONAL, 100, 4, 0, 16000},
    {HL_JITTER_PROPORTIONAL, 100, 5, 0, 30000},     /* 32000 capped */
    {HL_JITTER_PROPORTIONAL, 100, 9, 0, 30000},
    {HL_JITTER_FULL, 20, 1, 0, 1000},
    {HL_JITTER_FULL, 20, 5, 0, 16000},
    {HL_JITTER_FULL, 20, 30, 0, 30000},
    {HL_JITTER_NONE, 20, 1, 1000, 1000},
    {HL_JITTER_NONE, 20, 4, 8000, 8000},
    {HL_JITTER_NONE, 20, 30, 30000, 30000},
};

static void test_bounds_table(void)
{
    size_t i;
    for (i = 0; i < sizeof bounds_rows / sizeof bounds_rows[0]; i++) {
        const bounds_row *r = &bounds_rows[i];
        hl_backoff b = mk(1000, 30000, 200, r->jitter, r->jitter_pct);
        uint32_t lo = 1, hi = 0;
        hl__backoff_bounds(&b, r->attempt, &lo, &hi);
        CHECK_EQ(lo, r->lo);
        CHECK_EQ(hi, r->hi);
        if (lo != r->lo || hi != r->hi) printf("  row %u\n", (unsigned)i);
    }
}

static void test_bounds_unresolved_edges(void)
{
    /* hl__backoff_bounds on an unresolved struct: jitter_pct 0 means no spread at all, and an
       unknown jitter value falls back to proportional */
    hl_backoff b;
    uint32_t lo, hi;
    memset(&b, 0, sizeof b);
    b.initial_ms = 1000;
    b.max_ms = 30000;
    b.multiplier_pct = 200;
    b.jitter = HL_JITTER_PROPORTIONAL;
    b.jitter_pct = 0;
    hl__backoff_bounds(&b, 3, &lo, &hi);
    CHECK_EQ(lo, 4000);
    CHECK_EQ(hi, 4000);
    CHECK_EQ(hl__backoff_delay(&b, 3, 0), 4000);
    CHECK_EQ(hl__backoff_delay(&b, 3, 0xFFFFFFFFu), 4000);
    b.jitter = (hl_jitter)77;
    b.jitter_pct = 10;
    hl__backoff_bounds(&b, 1, &lo, &hi);
    CHECK_EQ(lo, 900);
    CHECK_EQ(hi, 1100);
    /* the biggest range the type allows: [0, UINT32_MAX] */
    memset(&b, 0, sizeof b);
    b.initial_ms = b.max_ms = 0xFFFFFFFFu;
    b.multiplier_pct = 100;
    b.jitter = HL_JITTER_FULL;
    hl__backoff_bounds(&b, 1, &lo, &hi);
    CHECK_EQ(lo, 0);
    CHECK_EQ(hi, 0xFFFFFFFFu);
    CHECK_EQ(hl__backoff_delay(&b, 1, 0), 0);
    CHECK_EQ(hl__backoff_delay(&b, 1, 0xFFFFFFFFu), 0xFFFFFFFFu);
    CHECK_EQ(hl__backoff_delay(&b, 1, 12345), 12345);
}

/* The first random word that maps to offset v of a range of n values (v*2^32/n rounded up). */
static uint64_t first_word(uint64_t v, uint64_t n)
{
    return (v * 0x100000000ull + n - 1) / n;
}

static void test_delay_in_bounds(void)
{
    static const hl_jitter modes[] = {HL_JITTER_PROPORTIONAL, HL_JITTER_FULL, HL_JITTER_NONE};
    static const uint32_t pcts[] = {1, 20, 50, 100};
    static const uint32_t mults[] = {100, 150, 200, 1000};
    size_t m, p, k;
    uint32_t a;
    long checked = 0;
    for (m = 0; m < sizeof modes / sizeof modes[0]; m++)
        for (p = 0; p < sizeof pcts / sizeof pcts[0]; p++)
            for (k = 0; k < sizeof mults / sizeof mults[0]; k++) {
                hl_backoff b = mk(1000, 30000, mults[k], modes[m], pcts[p]);
                for (a = 1; a <= 40; a++) {
                    uint32_t lo, hi, d;
                    uint64_t n;
                    int i;
                    hl__backoff_bounds(&b, a, &lo, &hi);
                    CHECK(lo <= hi);
                    CHECK(hi <= 30000);
                    n = (uint64_t)(hi - lo) + 1;
                    /* both ends reachable: 0 gives lo, UINT32_MAX gives hi */
                    CHECK_EQ(hl__backoff_delay(&b, a, 0), lo);
                    CHECK_EQ(hl__backoff_delay(&b, a, 0xFFFFFFFFu), hi);
                    /* the words on each side of the step up to hi (uniform mapping) */
                    if (hi > lo) {
                        uint64_t w = first_word(hi - lo, n);
                        CHECK_EQ(hl__backoff_delay(&b, a, (uint32_t)w), hi);
                        CHECK_EQ(hl__backoff_delay(&b, a, (uint32_t)(w - 1)), hi - 1);
                        w = first_word(1, n);
                        CHECK_EQ(hl__backoff_delay(&b, a, (uint32_t)w), lo + 1);
                        CHECK_EQ(hl__backoff_delay(&b, a, (uint32_t)(w - 1)), lo);
                    }
                    for (i = 0; i < 200; i++) {
                        d = hl__backoff_delay(&b, a, rnd32());
                        CHECK(d >= lo && d <= hi);
                        checked++;
                    }
                    /* the delay of the same word is the same */
                    CHECK_EQ(hl__backoff_delay(&b, a, 0x80000000u), hl__backoff_delay(&b, a, 0x80000000u));
                }
            }
    CHECK(checked > 0);
}

/* Every value of a small range gets the same share of words, within one. */
static void test_delay_uniform_small_range(void)
{
    hl_backoff b = mk(10, 10, 100, HL_JITTER_FULL, 0); /* [0, 10]: 11 values */
    uint64_t n = 11, v, per = 0x100000000ull / n;
    for (v = 0; v < n; v++) {
        uint64_t first = first_word(v, n), next = first_word(v + 1, n);
        CHECK_EQ(hl__backoff_delay(&b, 1, (uint32_t)first), v);
        CHECK_EQ(hl__backoff_delay(&b, 1, (uint32_t)(next - 1)), v);
        CHECK(next - first == per || next - first == per + 1);
    }
}

typedef struct retry_row {
    int result, status, retry;
} retry_row;

static const retry_row retry_rows[] = {
    {HL_OK, 0, 1}, /* a clean close by the peer */
    {HL_OK, 200, 0},
    {HL_E_HANDSHAKE, 400, 0},
    {HL_E_HANDSHAKE, 401, 0},
    {HL_E_HANDSHAKE, 403, 0},
    {HL_E_HANDSHAKE, 404, 0},
    {HL_E_HANDSHAKE, 408, 1},
    {HL_E_HANDSHAKE, 426, 0},
    {HL_E_HANDSHAKE, 429, 1},
    {HL_E_HANDSHAKE, 500, 1},
    {HL_E_HANDSHAKE, 502, 1},
    {HL_E_HANDSHAKE, 503, 1},
    {HL_E_HANDSHAKE, 599, 1},
    {HL_E_CONNECT_TIMEOUT, 0, 1},
    {HL_E_HANDSHAKE_TIMEOUT, 0, 1},
    {HL_E_CLOSE_TIMEOUT, 0, 1},
    {HL_E_PONG_TIMEOUT, 0, 1},
    {HL_E_SILENCE, 0, 1},
    {HL_E_REQUEST_TIMEOUT, 0, 1},
    {HL_E_DNS, 0, 1},
    {HL_E_CONNECT_REFUSED, 0, 1},
    {HL_E_CONNECT, 0, 1},
    {HL_E_IO, 0, 1},
    {HL_E_RESET, 0, 1},
    {HL_E_EOF, 0, 1},
    {HL_E_TLS, 0, 1},
    {HL_E_PROTOCOL, 0, 1},
    {HL_E_BAD_UTF8, 0, 1},
    {HL_E_HTTP_PROTOCOL, 0, 1},
    {HL_E_CLOSED, 0, 1},
    {HL_E_RATE_LIMITED, 0, 1},
    {HL_E_CIRCUIT_OPEN, 0, 1},
    {HL_E_TLS_CERT, 0, 0},
    {HL_E_BAD_URL, 0, 0},
    {HL_E_INVALID, 0, 0},
    {HL_E_STATE, 0, 0},
    {HL_E_UNSUPPORTED, 0, 0},
    {HL_E_BAD_HANDLE, 0, 0},
    {HL_E_NO_MEMORY, 0, 0},
    {HL_E_POOL_EMPTY, 0, 0},
    {HL_E_QUEUE_FULL, 0, 0},
    {HL_E_MSG_TOO_BIG, 0, 0},
    {HL_E_HEADER_TOO_BIG, 0, 0},
    {-9999, 0, 0},
};

static void test_err_retryable(void)
{
    size_t i;
    for (i = 0; i < sizeof retry_rows / sizeof retry_rows[0]; i++) {
        int got = hl_err_retryable(retry_rows[i].result, retry_rows[i].status);
        CHECK_EQ(got, retry_rows[i].retry);
        if (got != retry_rows[i].retry)
            printf("  %s status %d\n", hl_result_name(retry_rows[i].result), retry_rows[i].status);
    }
}

int main(void)
{
    HL_TEST(test_resolve_defaults);
    HL_TEST(test_resolve_explicit_and_clamped);
    HL_TEST(test_base_table);
    HL_TEST(test_base_powers_of_two_to_the_top);
    HL_TEST(test_base_huge_attempts);
    HL_TEST(test_base_small_initial_grows);
    HL_TEST(test_bounds_table);
    HL_TEST(test_bounds_unresolved_edges);
    HL_TEST(test_delay_in_bounds);
    HL_TEST(test_delay_uniform_small_range);
    HL_TEST(test_err_retryable);
    return hl_test_summary();
}
