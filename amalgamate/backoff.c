/* Reconnect and retry delays: exponential backoff with jitter. Pure: the caller passes the
   attempt number and a random word, so the bounds can be checked exactly in simulation. */

static void hl__backoff_resolve(const hl_backoff *in, hl_backoff *out)
{
    *out = *in;
    if (!out->initial_ms) out->initial_ms = 1000;
    if (!out->max_ms) out->max_ms = 30000;
    if (!out->multiplier_pct) out->multiplier_pct = 200;
    if (out->multiplier_pct < 100) out->multiplier_pct = 100;
    if (out->max_ms < out->initial_ms) out->max_ms = out->initial_ms;
    if (!out->jitter) out->jitter = HL_JITTER_PROPORTIONAL;
    if (!out->jitter_pct) out->jitter_pct = 20;
    if (out->jitter_pct > 100) out->jitter_pct = 100;
    if (!out->healthy_ms) out->healthy_ms = 10000;
}

/* The delay before attempt (1 = the first retry) without jitter: initial * multiplier^(n-1),
   floored, capped at max. Worked in microseconds so that small delays grow too (3 ms x1.2 does
   not round back to 3 ms at every step). */
static uint32_t hl__backoff_base(const hl_backoff *b, uint32_t attempt)
{
    uint64_t d = (uint64_t)b->initial_ms * 1000, cap = (uint64_t)b->max_ms * 1000;
    uint32_t i;
    for (i = 1; i < attempt && d < cap && b->multiplier_pct > 100; i++)
        d = d > UINT64_MAX / b->multiplier_pct ? cap : d * b->multiplier_pct / 100;
    return (uint32_t)(HL__MIN(d, cap) / 1000);
}

/* The range the jittered delay of an attempt falls in, [lo, hi] milliseconds. */
static void hl__backoff_bounds(const hl_backoff *b, uint32_t attempt, uint32_t *lo, uint32_t *hi)
{
    uint32_t base = hl__backoff_base(b, attempt);
    switch (b->jitter) {
    case HL_JITTER_FULL:
        *lo = 0;
        *hi = base;
        break;
    case HL_JITTER_NONE:
        *lo = *hi = base;
        break;
    default: /* proportional: base +- jitter_pct, never above max */
        *lo = (uint32_t)((uint64_t)base * (100 - b->jitter_pct) / 100);
        *hi = (uint32_t)HL__MIN((uint64_t)base * (100 + b->jitter_pct) / 100, (uint64_t)b->max_ms);
        if (*hi < *lo) *hi = *lo;
        break;
    }
}

/* The jittered delay of an attempt; rnd is a uniformly random 32-bit word. */
static uint32_t hl__backoff_delay(const hl_backoff *b, uint32_t attempt, uint32_t rnd)
{
    uint32_t lo, hi;
    hl__backoff_bounds(b, attempt, &lo, &hi);
    return lo + (uint32_t)(((uint64_t)rnd * ((uint64_t)(hi - lo) + 1)) >> 32);
}
