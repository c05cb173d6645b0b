/* Liveness at two levels. RFC 6455 pings carry the send time, so their pong gives the round
   trip; the profile's application ping goes out when either direction has been quiet for its
   interval (the venue may close a connection idle in either sense). A missing pong, or a
   receive silence longer than silence_timeout_ms, fails the connection so it reconnects. A
   connection that stays open for backoff.healthy_ms resets the attempt count and counts as a
   success for the breaker. */

static void hl__rtt_sample(hl_ws_stats *st, uint64_t rtt)
{
    st->rtt_last_ns = rtt;
    if (!st->rtt_count || rtt < st->rtt_min_ns) st->rtt_min_ns = rtt;
    if (rtt > st->rtt_max_ns) st->rtt_max_ns = rtt;
    st->rtt_sum_ns += rtt;
    st->rtt_count++;
}

/* Has the connection been open for healthy_ms? Then its attempt count starts over and the
   breaker counts a success. Judged whenever something happens (no timer of its own: an idle
   connection has no reason to wake up for it). */
static void hl__live_healthy(hl__conn *c, uint64_t now)
{
    if (c->healthy_at > 1 && now >= c->healthy_at && c->state == HL_STATE_OPEN) {
        c->healthy_at = 0;
        c->attempt = 0;
        hl__breaker_record(&c->breaker, &c->bcfg, now, 1);
    }
}

static void hl__live_open(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    (void)ctx;
    c->last_rx = c->last_tx = now;
    c->ping_sent_at = c->app_ping_sent_at = 0;
    c->next_ping = c->ping_ms ? now + (uint64_t)c->ping_ms * HL__NS_PER_MS : 0;
}

/* A pong: when it answers our timed ping, *rtt gets the round trip. Returns 1 then. */
static int hl__live_pong(hl_ctx *ctx, hl__conn *c, const unsigned char *p, size_t n, uint64_t *rtt)
{
    uint64_t sent = 0;
    size_t i;
    *rtt = 0;
    if (!c->ping_sent_at || n != 8) return 0;
    for (i = 0; i < 8; i++) sent = sent << 8 | p[i];
    if (sent != c->ping_sent_at) return 0;
    *rtt = hl__now(ctx) - sent;
    hl__rtt_sample(&c->ws.stats, *rtt);
    c->ping_sent_at = 0;
    return 1;
}

static void hl__live_app_pong(hl_ctx *ctx, hl__conn *c)
{
    if (!c->app_ping_sent_at) return;
    hl__rtt_sample(&c->ws.stats, hl__now(ctx) - c->app_ping_sent_at);
    c->app_ping_sent_at = 0;
}

/* Run the timers of an open connection; returns the next time one is due (0: none). */
static uint64_t hl__live_step(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    uint64_t next = 0, due, pong = (uint64_t)c->pong_timeout_ms * HL__NS_PER_MS;
    if (c->state != HL_STATE_OPEN || c->ws.close_sent) return 0;
    hl__live_healthy(c, now);
    if (c->silence_ms) {
        due = c->last_rx + (uint64_t)c->silence_ms * HL__NS_PER_MS;
        if (now >= due) {
            hl__conn_fail(ctx, c, HL_E_SILENCE, 0, "nothing received for %u ms (silence_timeout_ms)",
                          (unsigned)c->silence_ms);
            return 0;
        }
        HL__SOONER(next, due);
    }
    if (c->ping_sent_at) {
        due = c->ping_sent_at + pong;
        if (now >= due) {
            hl__conn_fail(ctx, c, HL_E_PONG_TIMEOUT, 0, "no pong within %u ms (pong_timeout_ms)",
                          (unsigned)c->pong_timeout_ms);
            return 0;
        }
        HL__SOONER(next, due);
    }
    if (c->ping_ms) {
        if (now >= c->next_ping) {
            unsigned char stamp[8];
            int i;
            for (i = 0; i < 8; i++) stamp[i] = (unsigned char)(now >> (56 - 8 * i));
            if (!c->ping_sent_at && hl__wsp_ping(&c->ws, stamp, 8) == HL_OK) {
                c->ping_sent_at = now;
                HL__SOONER(next, now + pong);
            }
            c->next_ping = now + (uint64_t)c->ping_ms * HL__NS_PER_MS;
        }
        HL__SOONER(next, c->next_ping);
    }
    if (c->app_ping_ms && c->profile) {
        if (c->app_ping_sent_at) {
            due = c->app_ping_sent_at + pong;
            if (now >= due) {
                hl__conn_fail(ctx, c, HL_E_PONG_TIMEOUT, 0, "no answer to the %s ping within %u ms (pong_timeout_ms)",
                              c->profile->name, (unsigned)c->pong_timeout_ms);
                return 0;
            }
            HL__SOONER(next, due);
        } else {
            due = HL__MIN(c->last_tx, c->last_rx) + (uint64_t)c->app_ping_ms * HL__NS_PER_MS;
            if (now >= due) {
                char msg[64];
                int n = c->profile->app_ping(msg, sizeof msg);
                uint64_t wait = hl__venue_take(ctx, c, now);
                if (wait) {
                    HL__SOONER(next, now + wait);
                } else if (n > 0 && hl__wsp_send(&c->ws, HL__OP_TEXT, (const unsigned char *)msg, (size_t)n, 1, 0) == HL_OK) {
                    c->app_ping_sent_at = c->last_tx = now;
                    HL__SOONER(next, now + pong);
                }
            } else {
                HL__SOONER(next, due);
            }
        }
    }
    return next;
}
