/* The context's statistics as one JSON document, for a metrics endpoint or a log line. Written
   straight into the caller's buffer; nothing of it is kept. */

typedef struct hl__jw {
    char *p;
    size_t cap, len;
    int over;
} hl__jw;

static void hl__jw_put(hl__jw *w, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (w->over) return;
    va_start(ap, fmt);
    n = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len) w->over = 1;
    else w->len += (size_t)n;
}

/* s as the inside of a JSON string (quotes, backslashes and control bytes escaped). */
static void hl__jw_chars(hl__jw *w, const char *s)
{
    for (; *s && !w->over; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') hl__jw_put(w, "\\%c", ch);
        else if (ch < 0x20) hl__jw_put(w, "\\u%04x", ch);
        else hl__jw_put(w, "%c", ch);
    }
}

static void hl__jw_str(hl__jw *w, const char *s)
{
    hl__jw_put(w, "\"");
    hl__jw_chars(w, s);
    hl__jw_put(w, "\"");
}

static void hl__jw_sub(hl__jw *w, const hl__sub *s, uint64_t now)
{
    static const char *const states[] = {"", "pending", "active", "failed", "removed"};
    hl__jw_put(w, "{\"subscription\":");
    hl__jw_str(w, s->json);
    hl__jw_put(w, ",\"state\":\"%s\",\"msgs\":%llu,\"bytes\":%llu,\"drops\":%llu,\"conflated\":%llu,"
                  "\"queued\":%u,\"queue_peak\":%u,\"last_msg_age_ms\":%lld,\"awaiting_snapshot\":%s}",
               states[s->state <= HL_SUB_REMOVED ? s->state : 0], (unsigned long long)s->st.msgs,
               (unsigned long long)s->st.bytes, (unsigned long long)s->st.drops,
               (unsigned long long)s->st.conflated, (unsigned)s->st.queued, (unsigned)s->st.queue_peak,
               s->st.last_msg_ns ? (long long)((now - s->st.last_msg_ns) / HL__NS_PER_MS) : -1LL,
               s->st.awaiting_snapshot ? "true" : "false");
}

static void hl__jw_conn(hl_ctx *ctx, hl__jw *w, hl__conn *c, uint64_t now)
{
    static const char *const bstates[] = {"closed", "open", "half_open"};
    hl_ws_stats st;
    int32_t i;
    int first = 1;
    hl_ws_stats_get(ctx, hl__conn_handle(c), &st);
    hl__jw_put(w, "{\"id\":%u,\"url\":", (unsigned)c->id);
    hl__jw_put(w, "\"%s://%s%s%s:%u", c->tls ? "wss" : "ws", c->url.is_ipv6 ? "[" : "", c->url.host,
               c->url.is_ipv6 ? "]" : "", (unsigned)c->url.port);
    hl__jw_chars(w, c->url.target);
    hl__jw_put(w, "\"");
    hl__jw_put(w, ",\"state\":\"%s\",\"profile\":", hl_state_str(c->state));
    hl__jw_str(w, c->profile ? c->profile->name : "generic");
    hl__jw_put(w, ",\"connects\":%llu,\"attempts\":%llu,\"reconnects\":%llu,\"disconnects\":%llu,"
                  "\"success_rate\":%.3f,\"uptime_ms\":%llu,\"connected_ms\":%llu,",
               (unsigned long long)st.connects, (unsigned long long)st.attempts, (unsigned long long)st.reconnects,
               (unsigned long long)st.disconnects, st.attempts ? (double)st.connects / (double)st.attempts : 0.0,
               st.opened_at_ns ? (unsigned long long)((now - st.opened_at_ns) / HL__NS_PER_MS) : 0ULL,
               (unsigned long long)(st.connected_ns / HL__NS_PER_MS));
    hl__jw_put(w, "\"last_disconnect_ago_ms\":%lld,\"last_disconnect_reason\":\"%s\",",
               st.last_disconnect_ns ? (long long)((now - st.last_disconnect_ns) / HL__NS_PER_MS) : -1LL,
               st.last_disconnect_ns ? hl_result_name(st.last_disconnect_result) : "");
    hl__jw_put(w, "\"msgs_in\":%llu,\"bytes_in\":%llu,\"msgs_out\":%llu,\"bytes_out\":%llu,"
                  "\"last_msg_age_ms\":%lld,\"pings_in\":%llu,\"pongs_in\":%llu,\"pings_out\":%llu,"
                  "\"pongs_coalesced\":%llu,\"send_queue_bytes\":%llu,\"send_queue_peak\":%llu,",
               (unsigned long long)st.msgs_in, (unsigned long long)st.bytes_in, (unsigned long long)st.msgs_out,
               (unsigned long long)st.bytes_out,
               st.last_msg_ns ? (long long)((now - st.last_msg_ns) / HL__NS_PER_MS) : -1LL,
               (unsigned long long)st.pings_in, (unsigned long long)st.pongs_in, (unsigned long long)st.pings_out,
               (unsigned long long)st.pongs_coalesced, (unsigned long long)st.send_queue_bytes,
               (unsigned long long)st.send_queue_peak);
    hl__jw_put(w, "\"rtt_us\":{\"last\":%.1f,\"min\":%.1f,\"mean\":%.1f,\"max\":%.1f,\"samples\":%llu},",
               st.rtt_last_ns / 1e3, st.rtt_min_ns / 1e3, st.rtt_count ? (double)st.rtt_sum_ns / (double)st.rtt_count / 1e3 : 0.0,
               st.rtt_max_ns / 1e3, (unsigned long long)st.rtt_count);
    hl__jw_put(w, "\"breaker\":\"%s\",\"breaker_opens\":%llu,\"subscriptions\":[",
               bstates[st.breaker <= HL_BREAKER_HALF_OPEN ? st.breaker : 0], (unsigned long long)st.breaker_opens);
    for (i = c->sub_first; i >= 0; i = ctx->subs[i].next) {
        if (ctx->subs[i].unsub_pending) continue;
        if (!first) hl__jw_put(w, ",");
        first = 0;
        hl__jw_sub(w, &ctx->subs[i], now);
    }
    hl__jw_put(w, "]}");
}

/* The upper bound (microseconds) of the histogram bucket holding the p-th percentile. */
static uint64_t hl__lat_pct(const hl__endpoint *e, unsigned pct)
{
    uint64_t want = (e->lat_count * pct + 99) / 100, seen = 0;
    int b;
    for (b = 0; b < HL__HTTP_LAT_BUCKETS; b++) {
        seen += e->lat_hist[b];
        if (seen >= want && want) return 16ull << b;
    }
    return 0;
}

static void hl__jw_endpoint(hl_ctx *ctx, hl__jw *w, const hl__endpoint *e)
{
    static const char *const bstates[] = {"closed", "open", "half_open"};
    const hl__origin *o = &ctx->origins[e->origin];
    hl__jw_put(w, "{\"origin\":\"%s://%s%s%s:%u\",\"path\":", o->scheme == HL_SCHEME_HTTPS ? "https" : "http",
               o->is_ipv6 ? "[" : "", o->host, o->is_ipv6 ? "]" : "", (unsigned)o->port);
    hl__jw_str(w, e->path);
    hl__jw_put(w, ",\"requests\":%llu,\"retries\":%llu,\"responses\":{\"1xx\":%llu,\"2xx\":%llu,\"3xx\":%llu,"
                  "\"4xx\":%llu,\"5xx\":%llu},\"errors\":{\"timeout\":%llu,\"network\":%llu,\"tls\":%llu,"
                  "\"protocol\":%llu,\"refused\":%llu},\"bytes_out\":%llu,\"bytes_in\":%llu,",
               (unsigned long long)e->requests, (unsigned long long)e->retries, (unsigned long long)e->by_class[1],
               (unsigned long long)e->by_class[2], (unsigned long long)e->by_class[3],
               (unsigned long long)e->by_class[4], (unsigned long long)e->by_class[5],
               (unsigned long long)e->err_timeout, (unsigned long long)e->err_network, (unsigned long long)e->err_tls,
               (unsigned long long)e->err_protocol, (unsigned long long)e->err_refused,
               (unsigned long long)e->bytes_out, (unsigned long long)e->bytes_in);
    hl__jw_put(w, "\"latency_us\":{\"count\":%llu,\"min\":%.1f,\"mean\":%.1f,\"max\":%.1f,\"p50_le\":%llu,"
                  "\"p90_le\":%llu,\"p99_le\":%llu},\"breaker\":\"%s\",\"breaker_opens\":%llu}",
               (unsigned long long)e->lat_count, e->lat_min_ns / 1e3,
               e->lat_count ? (double)e->lat_sum_ns / (double)e->lat_count / 1e3 : 0.0, e->lat_max_ns / 1e3,
               (unsigned long long)hl__lat_pct(e, 50), (unsigned long long)hl__lat_pct(e, 90),
               (unsigned long long)hl__lat_pct(e, 99),
               bstates[e->breaker.state <= HL_BREAKER_HALF_OPEN ? e->breaker.state : 0],
               (unsigned long long)e->breaker.opens);
}

HL_API int hl_stats_json(hl_ctx *ctx, char *buf, size_t cap)
{
    hl__jw w;
    uint32_t i;
    int first = 1;
    uint64_t now;
    hl_ctx_stats cs;
    if (!ctx || !buf || cap == 0) return HL_E_INVALID;
    now = hl__now(ctx);
    w.p = buf;
    w.cap = cap;
    w.len = 0;
    w.over = 0;
    buf[0] = '\0';
    hl_ctx_stats_get(ctx, &cs);
    hl__jw_put(&w, "{\"version\":\"%s\",\"tls_handshakes_full\":%llu,\"tls_handshakes_resumed\":%llu,"
                   "\"tls_anchors\":%u,\"connections\":[",
               HL_NET_VERSION, (unsigned long long)cs.tls_handshakes_full,
               (unsigned long long)cs.tls_handshakes_resumed, (unsigned)cs.tls_anchors);
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        if (!ctx->conns[i].id || ctx->conns[i].kind != HL__KIND_WS) continue;
        if (!first) hl__jw_put(&w, ",");
        first = 0;
        hl__jw_conn(ctx, &w, &ctx->conns[i], now);
    }
    hl__jw_put(&w, "],\"http_endpoints\":[");
    for (i = 0, first = 1; i < ctx->cfg.http_max_endpoints; i++) {
        if (!ctx->endpoints[i].used) continue;
        if (!first) hl__jw_put(&w, ",");
        first = 0;
        hl__jw_endpoint(ctx, &w, &ctx->endpoints[i]);
    }
    hl__jw_put(&w, "]}");
    if (w.over) {
        buf[0] = '\0';
        return HL_E_QUEUE_FULL;
    }
    return (int)w.len;
}
