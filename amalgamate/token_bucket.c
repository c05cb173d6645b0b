/* Token bucket for client-side rate limits (messages or request weight per minute). Exact
   integer arithmetic: one token is 60e9 units and a bucket refilling R tokens per minute gains
   R units per nanosecond, so no rounding drifts. */
#define HL__TOKEN 60000000000ull

typedef struct hl__bucket {
    uint64_t units;      /* tokens * HL__TOKEN */
    uint64_t last;       /* ns of the last refill */
    uint32_t capacity;   /* tokens; 0 = unlimited */
    uint32_t per_minute;
} hl__bucket;

#define HL__BUCKET_MAX 300000000u /* capacity * HL__TOKEN must fit 64 bits */

/* A budget of capacity tokens refilled at per_minute; a capacity above HL__BUCKET_MAX is no
   limit at all (0). */
static void hl__bucket_init(hl__bucket *b, uint32_t capacity, uint32_t per_minute, uint64_t now)
{
    if (capacity > HL__BUCKET_MAX) capacity = per_minute = 0;
    b->capacity = capacity;
    b->per_minute = per_minute;
    b->units = (uint64_t)capacity * HL__TOKEN; /* starts full */
    b->last = now;
}

static void hl__bucket_refill(hl__bucket *b, uint64_t now)
{
    uint64_t cap = (uint64_t)b->capacity * HL__TOKEN, dt = now > b->last ? now - b->last : 0, missing;
    b->last = now;
    if (b->units >= cap || !b->per_minute) return;
    missing = cap - b->units;
    if (dt >= (missing + b->per_minute - 1) / b->per_minute) b->units = cap;
    else b->units += dt * b->per_minute; /* < missing: cannot overflow */
}

/* Take n tokens: 0 when taken, else the nanoseconds until n tokens will be there (nothing is
   taken then). n above the capacity can never be served: returns UINT64_MAX. */
static uint64_t hl__bucket_take(hl__bucket *b, uint64_t now, uint32_t n)
{
    uint64_t need = (uint64_t)n * HL__TOKEN;
    if (!b->capacity) return 0;
    if (n > b->capacity) return UINT64_MAX;
    hl__bucket_refill(b, now);
    if (b->units >= need) {
        b->units -= need;
        return 0;
    }
    if (!b->per_minute) return UINT64_MAX;
    return (need - b->units + b->per_minute - 1) / b->per_minute;
}
