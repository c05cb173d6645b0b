/* Circuit breaker (hl__breaker_*): CLOSED -> OPEN after N consecutive failures or a failure
   ratio over a window, OPEN refuses until the cool-down ends (the wait is exact), HALF_OPEN lets
   one probe through, the probe's outcome closes or re-opens. Virtual nanosecond clock. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

#define MS 1000000ull
#define T0 (5000000000ull) /* an arbitrary start: the clock is not 0 at boot */

static hl_breaker_config cfg(uint32_t failures, uint32_t cooldown_ms, uint32_t ratio_pct, uint32_t window_ms,
                             uint32_t min_calls)
{
    hl_breaker_config in, out;
    memset(&in, 0, sizeof in);
    in.failures = failures;
    in.cooldown_ms = cooldown_ms;
    in.ratio_pct = ratio_pct;
    in.ratio_window_ms = window_ms;
    in.ratio_min_calls = min_calls;
    hl__breaker_config_resolve(&in, &out);
    return out;
}

static void fresh(hl__breaker *b)
{
    memset(b, 0, sizeof *b); /* zero is CLOSED, as in a new connection slot */
}

/* allow() then record(ok) at now: the way callers use it. Returns what allow said. */
static int call(hl__breaker *b, const hl_breaker_config *c, uint64_t now, int ok)
{
    uint64_t w = 0;
    if (!hl__breaker_allow(b, c, now, &w)) return 0;
    hl__breaker_record(b, c, now, ok);
    return 1;
}

static void test_config_defaults(void)
{
    hl_breaker_config in, out;
    memset(&in, 0, sizeof in);
    hl__breaker_config_resolve(&in, &out);
    CHECK_EQ(out.failures, 5);
    CHECK_EQ(out.cooldown_ms, 15000);
    CHECK_EQ(out.ratio_pct, 0);
    CHECK_EQ(out.ratio_window_ms, 60000);
    CHECK_EQ(out.ratio_min_calls, 10);
    in.failures = 2;
    in.cooldown_ms = 7;
    in.ratio_pct = 150;
    in.ratio_window_ms = 9;
    in.ratio_min_calls = 3;
    hl__breaker_config_resolve(&in, &out);
    CHECK_EQ(out.failures, 2);
    CHECK_EQ(out.cooldown_ms, 7);
    CHECK_EQ(out.ratio_pct, 100);
    CHECK_EQ(out.ratio_window_ms, 9);
    CHECK_EQ(out.ratio_min_calls, 3);
}

static void test_opens_after_exactly_n(void)
{
    uint32_t n, k;
    for (n = 1; n <= 12; n++) {
        hl_breaker_config c = cfg(n, 1000, 0, 0, 0);
        hl__breaker b;
        uint64_t now = T0;
        fresh(&b);
        for (k = 1; k < n; k++) {
            CHECK(call(&b, &c, now, 0));
            CHECK_EQ(b.state, HL_BREAKER_CLOSED);
            now += MS;
        }
        CHECK(call(&b, &c, now, 0));
        CHECK_EQ(b.state, HL_BREAKER_OPEN);
        CHECK_EQ(b.opens, 1);
        CHECK_EQ(b.opened_at, now);
        CHECK_EQ(b.consecutive, n);
    }
}

static void test_success_resets_count(void)
{
    hl_breaker_config c = cfg(3, 1000, 0, 0, 0);
    hl__breaker b;
    uint64_t now = T0;
    int i;
    fresh(&b);
    /* F F S F F S ... never three in a row: stays closed for ever */
    for (i = 0; i < 300; i++) {
        CHECK(call(&b, &c, now, i % 3 == 2));
        CHECK_EQ(b.state, HL_BREAKER_CLOSED);
        now += 10 * MS;
    }
    CHECK_EQ(b.opens, 0);
    CHECK_EQ(b.consecutive, 0); /* the last call succeeded */
    CHECK(call(&b, &c, now, 0));
    CHECK(call(&b, &c, now += MS, 0));
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK(call(&b, &c, now += MS, 0)); /* the third in a row */
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
    CHECK_EQ(b.opens, 1);
}

static void test_open_waits_exactly_then_one_probe(void)
{
    hl_breaker_config c = cfg(2, 1500, 0, 0, 0);
    hl__breaker b;
    uint64_t opened, w;
    uint64_t cool = 1500 * MS;
    fresh(&b);
    CHECK(call(&b, &c, T0, 0));
    CHECK(call(&b, &c, T0 + 3, 0));
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
    opened = T0 + 3;

    /* refused for the whole cool-down; the wait names exactly when it ends */
    w = 0;
    CHECK(!hl__breaker_allow(&b, &c, opened, &w));
    CHECK_EQ(w, cool);
    w = 0;
    CHECK(!hl__breaker_allow(&b, &c, opened + 1, &w));
    CHECK_EQ(w, cool - 1);
    w = 0;
    CHECK(!hl__breaker_allow(&b, &c, opened + 700 * MS + 12345, &w));
    CHECK_EQ(w, cool - 700 * MS - 12345);
    w = 0;
    CHECK(!hl__breaker_allow(&b, &c, opened + cool - 1, &w));
    CHECK_EQ(w, 1);
    CHECK(!hl__breaker_allow(&b, &c, opened + cool - 1, NULL)); /* NULL wait is fine */
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
    CHECK_EQ(b.opens, 1);

    /* at the end of the cool-down: HALF_OPEN, one probe only */
    CHECK(hl__breaker_allow(&b, &c, opened + cool, &w));
    CHECK_EQ(b.state, HL_BREAKER_HALF_OPEN);
    w = 0;
    CHECK(!hl__breaker_allow(&b, &c, opened + cool, &w));
    CHECK(w > 0);
    CHECK(!hl__breaker_allow(&b, &c, opened + cool + 10 * cool, NULL));
    CHECK_EQ(b.state, HL_BREAKER_HALF_OPEN);

    /* the probe succeeds: CLOSED, counts reset, calls flow */
    hl__breaker_record(&b, &c, opened + cool + 5, 1);
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK_EQ(b.consecutive, 0);
    CHECK(hl__breaker_allow(&b, &c, opened + cool + 6, &w));
    CHECK(hl__breaker_allow(&b, &c, opened + cool + 6, &w));
    CHECK_EQ(b.opens, 1);
    /* and it takes N failures again to open */
    hl__breaker_record(&b, &c, opened + cool + 7, 0);
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    hl__breaker_record(&b, &c, opened + cool + 8, 0);
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
    CHECK_EQ(b.opens, 2);
}

static void test_probe_failure_reopens_fresh(void)
{
    hl_breaker_config c = cfg(1, 2000, 0, 0, 0);
    hl__breaker b;
    uint64_t cool = 2000 * MS, t, w;
    int round;
    fresh(&b);
    CHECK(call(&b, &c, T0, 0));
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
    t = T0;
    for (round = 1; round <= 5; round++) {
        uint64_t probe_at = t + cool + (uint64_t)round * 777; /* some time after the cool-down */
        uint64_t fail_at = probe_at + 300 * MS;               /* the probe takes 300 ms to fail */
        CHECK(hl__breaker_allow(&b, &c, probe_at, &w));
        CHECK_EQ(b.state, HL_BREAKER_HALF_OPEN);
        CHECK(!hl__breaker_allow(&b, &c, probe_at + 1, NULL));
        hl__breaker_record(&b, &c, fail_at, 0);
        CHECK_EQ(b.state, HL_BREAKER_OPEN);
        CHECK_EQ(b.opens, (uint64_t)round + 1);
        CHECK_EQ(b.opened_at, fail_at);
        /* a fresh cool-down from the failure, not from the first opening */
        w = 0;
        CHECK(!hl__breaker_allow(&b, &c, fail_at, &w));
        CHECK_EQ(w, cool);
        w = 0;
        CHECK(!hl__breaker_allow(&b, &c, fail_at + cool - 1, &w));
        CHECK_EQ(w, 1);
        t = fail_at;
    }
    /* finally a good probe */
    CHECK(hl__breaker_allow(&b, &c, t + cool, &w));
    hl__breaker_record(&b, &c, t + cool + 1, 1);
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK_EQ(b.opens, 6);
}

static void test_records_while_open_change_nothing(void)
{
    /* calls let through before it opened may finish while it is open */
    hl_breaker_config c = cfg(2, 1000, 0, 0, 0);
    hl__breaker b;
    uint64_t w;
    fresh(&b);
    CHECK(call(&b, &c, T0, 0));
    CHECK(call(&b, &c, T0 + 1, 0));
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
    hl__breaker_record(&b, &c, T0 + 500 * MS, 0);
    hl__breaker_record(&b, &c, T0 + 600 * MS, 1);
    hl__breaker_record(&b, &c, T0 + 700 * MS, 0);
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
    CHECK_EQ(b.opens, 1);
    CHECK_EQ(b.opened_at, T0 + 1);
    w = 0;
    CHECK(!hl__breaker_allow(&b, &c, T0 + 800 * MS, &w));
    CHECK_EQ(w, 200 * MS + 1);
}

static void test_ratio_opens_after_min_calls(void)
{
    /* 50 % over at least 4 calls in 10 s; consecutive failures out of the way (1000) */
    hl_breaker_config c = cfg(1000, 1000, 50, 10000, 4);
    hl__breaker b;
    uint64_t now = T0;
    fresh(&b);
    CHECK(call(&b, &c, now, 0)); /* 1 call, 1 failure: 100 % but too few calls */
    CHECK(call(&b, &c, now += MS, 0)); /* 2/2 */
    CHECK(call(&b, &c, now += MS, 1)); /* 2/3 */
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK(call(&b, &c, now += MS, 1)); /* 2/4 = 50 %, but a success never opens */
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK(call(&b, &c, now += MS, 0)); /* 3/5 = 60 % */
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
    CHECK_EQ(b.opens, 1);
}

static void test_ratio_exact_threshold(void)
{
    /* 30 % over at least 10 calls: 7 successes then failures; the 3rd failure is 3/10 = 30 % */
    hl_breaker_config c = cfg(1000, 1000, 30, 60000, 10);
    hl__breaker b;
    uint64_t now = T0;
    int i;
    fresh(&b);
    for (i = 0; i < 7; i++) CHECK(call(&b, &c, now += MS, 1));
    CHECK(call(&b, &c, now += MS, 0));
    CHECK(call(&b, &c, now += MS, 0));
    CHECK_EQ(b.state, HL_BREAKER_CLOSED); /* 2/9 */
    CHECK(call(&b, &c, now += MS, 0));
    CHECK_EQ(b.state, HL_BREAKER_OPEN); /* 3/10 */

    /* 11 calls with 3 failures = 27 %: below 30 %, closed */
    fresh(&b);
    now = T0;
    for (i = 0; i < 8; i++) CHECK(call(&b, &c, now += MS, 1));
    for (i = 0; i < 3; i++) CHECK(call(&b, &c, now += MS, 0));
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK(call(&b, &c, now += MS, 0)); /* 4/12 = 33 % */
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
}

static void test_ratio_window_rolls(void)
{
    /* 50 % over at least 4 calls in a 1 s window */
    hl_breaker_config c = cfg(1000, 1000, 50, 1000, 4);
    hl__breaker b;
    uint64_t start = T0, now;
    int w;
    fresh(&b);
    /* each window: 1 success + 2 failures (3 calls, under min_calls): never opens, for many windows */
    for (w = 0; w < 50; w++) {
        now = start + (uint64_t)w * 1000 * MS;
        CHECK(call(&b, &c, now, 1));
        CHECK(call(&b, &c, now + 100 * MS, 0));
        CHECK(call(&b, &c, now + 999 * MS, 0));
        CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    }
    CHECK_EQ(b.opens, 0);
    /* a fourth call inside the window: 3/4 */
    now = start + 50ull * 1000 * MS;
    CHECK(call(&b, &c, now, 0));
    CHECK(call(&b, &c, now + 1, 0));
    CHECK(call(&b, &c, now + 2, 1));
    CHECK(call(&b, &c, now + 999 * MS, 0));
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
}

static void test_ratio_window_boundary(void)
{
    /* the window is [start, start + window): a call at start + window begins a new one */
    hl_breaker_config c = cfg(1000, 1000, 100, 1000, 3);
    hl__breaker b;
    uint64_t now = T0;
    fresh(&b);
    CHECK(call(&b, &c, now, 0));
    CHECK(call(&b, &c, now + 1, 0));
    CHECK(call(&b, &c, now + 1000 * MS, 0)); /* new window: 1/1 */
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK(call(&b, &c, now + 1000 * MS + 1, 0));
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK(call(&b, &c, now + 1999 * MS, 0)); /* 3/3 in the second window */
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
}

static void test_ratio_off_by_default(void)
{
    /* ratio_pct 0: 9 failures out of 10 calls never open a breaker that needs 5 in a row */
    hl_breaker_config c = cfg(5, 1000, 0, 0, 0);
    hl__breaker b;
    uint64_t now = T0;
    int i;
    fresh(&b);
    for (i = 0; i < 100; i++) CHECK(call(&b, &c, now += MS, i % 5 == 4));
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK_EQ(b.opens, 0);
}

static void test_closed_after_probe_resets_window(void)
{
    /* after a good probe the ratio window starts again: old failures do not count */
    hl_breaker_config c = cfg(1000, 1000, 50, 60000, 4);
    hl__breaker b;
    uint64_t now = T0;
    fresh(&b);
    CHECK(call(&b, &c, now, 0));
    CHECK(call(&b, &c, now += MS, 0));
    CHECK(call(&b, &c, now += MS, 0));
    CHECK(call(&b, &c, now += MS, 0));
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
    now += 1000 * MS;
    CHECK(hl__breaker_allow(&b, &c, now, NULL));
    hl__breaker_record(&b, &c, now, 1);
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK(call(&b, &c, now += MS, 0)); /* 1/1 in the new window: too few calls */
    CHECK(call(&b, &c, now += MS, 1));
    CHECK(call(&b, &c, now += MS, 0)); /* 2/3 */
    CHECK_EQ(b.state, HL_BREAKER_CLOSED);
    CHECK(call(&b, &c, now += MS, 0)); /* 3/4 */
    CHECK_EQ(b.state, HL_BREAKER_OPEN);
    CHECK_EQ(b.opens, 2);
}

int main(void)
{
    HL_TEST(test_config_defaults);
    HL_TEST(test_opens_after_exactly_n);
    HL_TEST(test_success_resets_count);
    HL_TEST(test_open_waits_exactly_then_one_probe);
    HL_TEST(test_probe_failure_reopens_fresh);
    HL_TEST(test_records_while_open_change_nothing);
    HL_TEST(test_ratio_opens_after_min_calls);
    HL_TEST(test_ratio_exact_threshold);
    HL_TEST(test_ratio_window_rolls);
    HL_TEST(test_ratio_window_boundary);
    HL_TEST(test_ratio_off_by_default);
    HL_TEST(test_closed_after_probe_resets_window);
    return hl_test_summary();
}
