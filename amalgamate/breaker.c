/* Circuit breaker: CLOSED -> OPEN after N consecutive failures, or a failure ratio over a
   window -> HALF_OPEN after a cool-down -> one probe -> CLOSED on success, OPEN on failure.
   A pure machine on the context clock (nanoseconds); WebSocket connects and HTTP requests
   both go through one per endpoint. */
typedef struct hl__breaker {
    hl_breaker_state state;
    uint32_t consecutive;     /* failures in a row */
    uint32_t win_calls, win_failures;
    uint64_t win_start;       /* tumbling window of ratio_window_ms */
    uint64_t opened_at;
    int probe_out;            /* HALF_OPEN: the one probe is under way */
    uint64_t opens;           /* how many times it opened (stats) */
} hl__breaker;

static void hl__breaker_config_resolve(const hl_breaker_config *in, hl_breaker_config *out)
{
    *out = *in;
    if (!out->failures) out->failures = 5;
    if (!out->cooldown_ms) out->cooldown_ms = 15000;
    if (!out->ratio_window_ms) out->ratio_window_ms = 60000;
    if (!out->ratio_min_calls) out->ratio_min_calls = 10;
    if (out->ratio_pct > 100) out->ratio_pct = 100;
}

static void hl__breaker_open(hl__breaker *b, uint64_t now)
{
    b->state = HL_BREAKER_OPEN;
    b->opened_at = now;
    b->probe_out = 0;
    b->opens++;
}

/* May a call go out now? In HALF_OPEN exactly one probe is let through. When it says no and
   wait_ns is not NULL, *wait_ns is the time until the cool-down ends. */
static int hl__breaker_allow(hl__breaker *b, const hl_breaker_config *c, uint64_t now, uint64_t *wait_ns)
{
    uint64_t cool = (uint64_t)c->cooldown_ms * HL__NS_PER_MS;
    if (b->state == HL_BREAKER_OPEN) {
        if (now - b->opened_at < cool) {
            if (wait_ns) *wait_ns = cool - (now - b->opened_at);
            return 0;
        }
        b->state = HL_BREAKER_HALF_OPEN;
        b->probe_out = 0;
    }
    if (b->state == HL_BREAKER_HALF_OPEN) {
        if (b->probe_out) {
            if (wait_ns) *wait_ns = cool;
            return 0;
        }
        b->probe_out = 1;
    }
    return 1;
}

/* The outcome of a call that allow() let through. */
static void hl__breaker_record(hl__breaker *b, const hl_breaker_config *c, uint64_t now, int ok)
{
    uint64_t win = (uint64_t)c->ratio_window_ms * HL__NS_PER_MS;
    if (now - b->win_start >= win) {
        b->win_start = now;
        b->win_calls = b->win_failures = 0;
    }
    b->win_calls++;
    if (ok) {
        b->consecutive = 0;
        if (b->state == HL_BREAKER_HALF_OPEN) {
            b->state = HL_BREAKER_CLOSED;
            b->win_calls = b->win_failures = 0;
            b->win_start = now;
        }
        b->probe_out = 0;
        return;
    }
    b->consecutive++;
    b->win_failures++;
    if (b->state == HL_BREAKER_HALF_OPEN) {
        hl__breaker_open(b, now);
        return;
    }
    if (b->state == HL_BREAKER_CLOSED &&
        (b->consecutive >= c->failures ||
         (c->ratio_pct && b->win_calls >= c->ratio_min_calls &&
          (uint64_t)b->win_failures * 100 >= (uint64_t)c->ratio_pct * b->win_calls)))
        hl__breaker_open(b, now);
}
