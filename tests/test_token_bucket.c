/* Token bucket (hl__bucket_*): starts full, waits exact to the nanosecond, never above capacity,
   capacity 0 is unlimited, integer arithmetic without drift. A reference model with the same
   exact arithmetic (one token = 60e9 units, R units per ns) checks long random runs. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

#define TOKEN 60000000000ull /* units per token: R tokens/min = R units/ns */
#define T0 (123456789ull)

static uint64_t rng_state = 0xD1B54A32D192ED03ull;
static uint64_t rnd64(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* ceil(a / b) */
static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

static void test_starts_full_then_empty(void)
{
    hl__bucket b;
    int i;
    hl__bucket_init(&b, 5, 5, T0);
    for (i = 0; i < 5; i++) CHECK_EQ(hl__bucket_take(&b, T0, 1), 0);
    /* empty: one token at 5/min takes exactly 12 s */
    CHECK_EQ(hl__bucket_take(&b, T0, 1), 12000000000ull);
    CHECK_EQ(hl__bucket_take(&b, T0 + 1, 1), 11999999999ull);
    CHECK_EQ(hl__bucket_take(&b, T0 + 11999999999ull, 1), 1);
    CHECK_EQ(hl__bucket_take(&b, T0 + 12000000000ull, 1), 0);
    CHECK_EQ(hl__bucket_take(&b, T0 + 12000000000ull, 1), 12000000000ull);
    /* two tokens at once: 24 s, and nothing is taken while waiting */
    CHECK_EQ(hl__bucket_take(&b, T0 + 12000000000ull, 2), 24000000000ull);
    CHECK_EQ(hl__bucket_take(&b, T0 + 24000000000ull, 2), 12000000000ull);
    CHECK_EQ(hl__bucket_take(&b, T0 + 36000000000ull, 2), 0);
}

static void test_take_n_at_once(void)
{
    hl__bucket b;
    hl__bucket_init(&b, 1200, 1200, T0); /* Hyperliquid REST weight */
    CHECK_EQ(hl__bucket_take(&b, T0, 20), 0);
    CHECK_EQ(hl__bucket_take(&b, T0, 1180), 0);
    CHECK_EQ(hl__bucket_take(&b, T0, 2), 100000000ull); /* 2 tokens at 20/s: 100 ms */
    CHECK_EQ(hl__bucket_take(&b, T0, 1200), 60000000000ull);
    CHECK_EQ(hl__bucket_take(&b, T0, 0), 0); /* nothing asked, nothing to wait for */
}

/* The wait is the least number of ns after which the take succeeds: one ns earlier it must not.
   Many capacities, rates (dividing 60e9 or not) and amounts below the capacity (the way to a
   full bucket is test_wait_exact_to_full). */
static void test_wait_exact(void)
{
    static const uint32_t rates[] = {1, 3, 7, 30, 1200, 2000, 6999, 1000003, 0x7FFFFFFFu};
    static const uint32_t caps[] = {2, 3, 10, 1000};
    size_t r, c;
    for (r = 0; r < sizeof rates / sizeof rates[0]; r++)
        for (c = 0; c < sizeof caps / sizeof caps[0]; c++) {
            uint32_t n;
            for (n = 1; n < caps[c] && n <= 3; n++) {
                hl__bucket b, probe;
                uint64_t now = T0, w;
                hl__bucket_init(&b, caps[c], rates[r], now);
                CHECK_EQ(hl__bucket_take(&b, now, caps[c]), 0); /* empty it */
                now += 17;                                       /* a little has come back */
                w = hl__bucket_take(&b, now, n);
                CHECK_EQ(w, ceil_div((uint64_t)n * TOKEN - 17ull * rates[r], rates[r]));
                if (w == 0) continue;
                probe = b;
                CHECK_EQ(hl__bucket_take(&probe, now + w - 1, n), 1);
                probe = b;
                CHECK_EQ(hl__bucket_take(&probe, now + w, n), 0);
                CHECK_EQ(hl__bucket_take(&probe, now + w, 0), 0);
            }
        }
}

/* The same on the way to a full bucket: capacity 1 at 7/min, the token is back after
   ceil(60e9 / 7) = 8571428572 ns, not one ns earlier. */
static void test_wait_exact_to_full(void)
{
    hl__bucket b, probe;
    uint64_t w;
    hl__bucket_init(&b, 1, 7, T0);
    CHECK_EQ(hl__bucket_take(&b, T0, 1), 0);
    w = hl__bucket_take(&b, T0, 1);
    CHECK_EQ(w, 8571428572ull);
    probe = b;
    CHECK_EQ(hl__bucket_take(&probe, T0 + w - 1, 1), 1);
    probe = b;
    CHECK_EQ(hl__bucket_take(&probe, T0 + w, 1), 0);
    /* capacity 3 at 7/min, three tokens: ceil(180e9 / 7) */
    hl__bucket_init(&b, 3, 7, T0);
    CHECK_EQ(hl__bucket_take(&b, T0, 3), 0);
    w = hl__bucket_take(&b, T0, 3);
    CHECK_EQ(w, 25714285715ull);
    probe = b;
    CHECK_EQ(hl__bucket_take(&probe, T0 + w - 1, 3), 1);
}

static void test_never_above_capacity(void)
{
    hl__bucket b;
    uint64_t w;
    hl__bucket_init(&b, 4, 60, T0); /* one token a second */
    CHECK_EQ(hl__bucket_take(&b, T0, 1), 0);
    /* a day of idling refills to 4, not more */
    CHECK_EQ(hl__bucket_take(&b, T0 + 86400000000000ull, 4), 0);
    w = hl__bucket_take(&b, T0 + 86400000000000ull, 1);
    CHECK_EQ(w, 1000000000ull);
    CHECK_EQ(b.units, 0);
    /* refill in many small steps also stops at the capacity */
    {
        uint64_t now = T0 + 86400000000000ull;
        int i;
        for (i = 0; i < 100000; i++) {
            now += 123457;
            hl__bucket_refill(&b, now);
            CHECK(b.units <= 4 * TOKEN);
        }
        CHECK_EQ(b.units, 4 * TOKEN);
    }
}

static void test_weight_above_capacity(void)
{
    hl__bucket b;
    hl__bucket_init(&b, 10, 10, T0);
    CHECK_EQ(hl__bucket_take(&b, T0, 11), UINT64_MAX);
    CHECK_EQ(hl__bucket_take(&b, T0, 0xFFFFFFFFu), UINT64_MAX);
    /* nothing was taken */
    CHECK_EQ(hl__bucket_take(&b, T0, 10), 0);
    CHECK_EQ(hl__bucket_take(&b, T0 + 3600000000000ull, 11), UINT64_MAX);
}

static void test_capacity_zero_unlimited(void)
{
    hl__bucket b;
    int i;
    hl__bucket_init(&b, 0, 0, T0);
    for (i = 0; i < 10000; i++) CHECK_EQ(hl__bucket_take(&b, T0, 1), 0);
    CHECK_EQ(hl__bucket_take(&b, T0, 0xFFFFFFFFu), 0);
    hl__bucket_init(&b, 0, 2000, T0);
    for (i = 0; i < 10000; i++) CHECK_EQ(hl__bucket_take(&b, T0 + (uint64_t)i, 1000), 0);
}

/* A bucket that refills 0 tokens a minute says "never" (UINT64_MAX) when empty; it must not
   refill later either. */
static void test_rate_zero_never_refills(void)
{
    hl__bucket b;
    hl__bucket_init(&b, 3, 0, T0);
    CHECK_EQ(hl__bucket_take(&b, T0, 3), 0);
    CHECK_EQ(hl__bucket_take(&b, T0, 1), UINT64_MAX);
    CHECK_EQ(hl__bucket_take(&b, T0 + 3600000000000ull, 1), UINT64_MAX); /* an hour later */
}

static void test_long_idle_then_burst(void)
{
    hl__bucket b;
    uint64_t now = T0, w;
    int i;
    hl__bucket_init(&b, 2000, 2000, now); /* Hyperliquid WS messages */
    CHECK_EQ(hl__bucket_take(&b, now, 2000), 0);
    CHECK_EQ(hl__bucket_take(&b, now, 1), 30000000ull); /* 30 ms a message */
    /* ten years idle */
    now += 10ull * 365 * 86400 * 1000000000ull;
    for (i = 0; i < 2000; i++) CHECK_EQ(hl__bucket_take(&b, now, 1), 0);
    w = hl__bucket_take(&b, now, 1);
    CHECK_EQ(w, 30000000ull);
    /* the biggest clock value does not overflow the refill */
    hl__bucket_init(&b, 2000, 0xFFFFFFFFu, 0);
    CHECK_EQ(hl__bucket_take(&b, 0, 2000), 0);
    CHECK_EQ(hl__bucket_take(&b, UINT64_MAX, 2000), 0);
    CHECK_EQ(hl__bucket_take(&b, UINT64_MAX, 1), ceil_div(TOKEN, 0xFFFFFFFFu));
}

static void test_clock_backwards(void)
{
    /* a clock going back adds nothing and takes nothing */
    hl__bucket b;
    hl__bucket_init(&b, 2, 60, T0 + 5000000000ull);
    CHECK_EQ(hl__bucket_take(&b, T0 + 5000000000ull, 2), 0);
    CHECK_EQ(hl__bucket_take(&b, T0, 1), 1000000000ull);
    CHECK(b.units <= 2 * TOKEN);
}

/* A big bucket: a capacity the uint32_t field allows must be served (capacity * 60e9 units
   does not fit 64 bits above 307,445,734 tokens). */
static void test_large_capacity(void)
{
    hl__bucket b;
    hl__bucket_init(&b, 300000000u, 300000000u, T0); /* below the 64-bit limit: fine */
    CHECK_EQ(hl__bucket_take(&b, T0, 300000000u), 0);
    CHECK_EQ(hl__bucket_take(&b, T0, 1), 200);
    /* above HL__BUCKET_MAX a minute the budget is no limit at all */
    hl__bucket_init(&b, 400000000u, 400000000u, T0);
    CHECK_EQ(b.capacity, 0);
    CHECK_EQ(hl__bucket_take(&b, T0, 200000000u), 0);
    CHECK_EQ(hl__bucket_take(&b, T0, 200000000u), 0);
    CHECK_EQ(hl__bucket_take(&b, T0, 1), 0);
}

/* Take each token as soon as it is there: the k-th token after the bucket ran empty is taken at
   exactly ceil(k * 60e9 / R) ns, for a million tokens (no drift). */
static void test_no_drift_steady(void)
{
    static const uint32_t rates[] = {7, 1200, 2000, 0xFFFFFFFFu};
    size_t r;
    for (r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        hl__bucket b;
        uint64_t now = T0, k, bad = 0;
        hl__bucket_init(&b, 2, rates[r], now);
        CHECK_EQ(hl__bucket_take(&b, now, 2), 0);
        for (k = 1; k <= 1000000; k++) {
            uint64_t w = hl__bucket_take(&b, now, 1);
            if (w == UINT64_MAX) {
                bad++;
                break;
            }
            now += w;
            if (hl__bucket_take(&b, now, 1) != 0) bad++;
            if (now - T0 != ceil_div(k * TOKEN, rates[r])) bad++;
        }
        CHECK_EQ(bad, 0);
    }
}

/* The model: exact state in units, refill min(cap, u + dt * R), take when u >= n * TOKEN, else
   wait ceil((n * TOKEN - u) / R). */
typedef struct model {
    uint64_t units, last, cap;
    uint32_t rate;
} model;

static uint64_t model_take(model *m, uint64_t now, uint32_t n)
{
    uint64_t need = (uint64_t)n * TOKEN, dt = now > m->last ? now - m->last : 0;
    m->last = now;
    if (m->units < m->cap) {
        uint64_t room = m->cap - m->units;
        if (dt >= ceil_div(room, m->rate)) m->units = m->cap;
        else m->units += dt * m->rate;
    }
    if (n * TOKEN > m->cap) return UINT64_MAX;
    if (m->units >= need) {
        m->units -= need;
        return 0;
    }
    return ceil_div(need - m->units, m->rate);
}

static void test_model_random(void)
{
    static const uint32_t caps[] = {1, 3, 10, 2000};
    static const uint32_t rates[] = {7, 60, 1200, 2000, 999983};
    size_t c, r;
    long steps = 0, mismatches = 0;
    for (c = 0; c < sizeof caps / sizeof caps[0]; c++)
        for (r = 0; r < sizeof rates / sizeof rates[0]; r++) {
            hl__bucket b;
            model m;
            uint64_t now = T0;
            int i;
            hl__bucket_init(&b, caps[c], rates[r], now);
            m.units = (uint64_t)caps[c] * TOKEN;
            m.cap = m.units;
            m.last = now;
            m.rate = rates[r];
            for (i = 0; i < 50000; i++) {
                uint32_t n = 1 + (uint32_t)(rnd64() % caps[c]);
                uint64_t per = TOKEN / rates[r], got, want;
                /* steps from 0 to ~2 tokens' time, sometimes exactly a wait */
                uint64_t dt = rnd64() % (2 * per * n + 1);
                if (i % 7 == 0) dt = 0;
                now += dt;
                got = hl__bucket_take(&b, now, n);
                want = model_take(&m, now, n);
                steps++;
                if (got != want || b.units != m.units) {
                    if (!mismatches)
                        printf("  cap %u rate %u step %d: got %llu want %llu (units %llu vs %llu)\n",
                               (unsigned)caps[c], (unsigned)rates[r], i, (unsigned long long)got,
                               (unsigned long long)want, (unsigned long long)b.units,
                               (unsigned long long)m.units);
                    mismatches++;
                    b.units = m.units; /* go on from the model's state */
                }
                if (got != 0 && got != UINT64_MAX && i % 3 == 0) {
                    /* wait exactly the answer: then it must succeed */
                    now += got;
                    got = hl__bucket_take(&b, now, n);
                    want = model_take(&m, now, n);
                    CHECK_EQ(want, 0);
                    if (got != want || b.units != m.units) {
                        mismatches++;
                        b.units = m.units;
                    }
                }
            }
        }
    CHECK(steps >= 1000000);
    CHECK_EQ(mismatches, 0);
}

int main(void)
{
    HL_TEST(test_starts_full_then_empty);
    HL_TEST(test_take_n_at_once);
    HL_TEST(test_wait_exact);
    HL_TEST(test_wait_exact_to_full);
    HL_TEST(test_never_above_capacity);
    HL_TEST(test_weight_above_capacity);
    HL_TEST(test_capacity_zero_unlimited);
    HL_TEST(test_rate_zero_never_refills);
    HL_TEST(test_long_idle_then_burst);
    HL_TEST(test_clock_backwards);
    HL_TEST(test_large_capacity);
    HL_TEST(test_no_drift_steady);
    HL_TEST(test_model_random);
    return hl_test_summary();
}
