/* A WebSocket connection's life: resolve, connect (each address in turn), TLS, upgrade, the
   byte stream, reading, and the end of an attempt, which either waits and reconnects (backoff,
   breaker, connect budget) or ends the connection for good. */

typedef struct hl__sink_ctx {
    hl_ctx *ctx;
    hl__conn *c;
} hl__sink_ctx;

static void hl__batch_begin(hl_ctx *ctx, hl__conn *c)
{
    hl_event ev;
    if (!c->batch_events || c->in_batch) return;
    c->in_batch = 1;
    hl__event_init(&ev, HL_EV_BATCH_BEGIN);
    hl__emit(ctx, c, &ev);
}

static int hl__on_message(void *user, int is_text, const unsigned char *p, size_t n)
{
    hl__sink_ctx *s = (hl__sink_ctx *)user;
    hl_event ev;
    hl__batch_begin(s->ctx, s->c);
    s->c->ws.stats.last_msg_ns = s->c->last_rx;
    if (s->c->profile && is_text) return hl__subs_on_text(s->ctx, s->c, p, n);
    hl__event_init(&ev, HL_EV_MESSAGE);
    ev.data = p;
    ev.len = n;
    ev.is_text = is_text;
    hl__emit(s->ctx, s->c, &ev);
    return 0;
}

static void hl__on_pong(void *user, const unsigned char *p, size_t n)
{
    hl__sink_ctx *s = (hl__sink_ctx *)user;
    hl_event ev;
    hl__event_init(&ev, HL_EV_PONG);
    hl__live_pong(s->ctx, s->c, p, n, &ev.rtt_ns);
    ev.data = p;
    ev.len = n;
    hl__emit(s->ctx, s->c, &ev);
}

/* ---- the byte stream: plain TCP or TLS ---- */

#if HL_ENABLE_TLS
#define HL__TLS_FAIL_OR_NONE HL__TLS_FAIL
#else
#define HL__TLS_FAIL_OR_NONE (-1001)
#endif
#define HL__IO_TLS (-77777) /* hl__conn_flush: the TLS engine failed */

/* Same conventions as hl__sys_recv/send, plus HL__TLS_FAIL when TLS is on. */
static long hl__conn_recv(hl__conn *c, unsigned char *p, size_t n, int *err)
{
#if HL_ENABLE_TLS
    if (c->tls) return hl__tls_recv(c->t, c->fd, p, n, err);
#endif
    return hl__net_recv(c->tp, c->fd, p, n, err);
}

static long hl__conn_send(hl__conn *c, const unsigned char *p, size_t n, int *err)
{
#if HL_ENABLE_TLS
    if (c->tls) return hl__tls_send(c->t, c->fd, p, n, err);
#endif
    return hl__net_send(c->tp, c->fd, p, n, err);
}

/* Send what the queue holds until the socket would block. Returns 0, the errno, or
   HL__IO_TLS. */
static int hl__conn_flush(hl__conn *c)
{
    for (;;) {
        size_t n;
        const unsigned char *p = hl__wsp_tx_buf(&c->ws, &n);
        long w;
        int e = 0;
        if (n == 0) return 0;
        w = hl__conn_send(c, p, n, &e);
        if (w == HL__AGAIN) return 0;
        if (w == HL__TLS_FAIL_OR_NONE) return HL__IO_TLS;
        if (w < 0) return e ? e : -1;
        hl__wsp_tx_ack(&c->ws, (size_t)w);
    }
}

/* ---- the end of an attempt ---- */

/* Back to a fresh connection state, keeping registry, stats and policy. */
static void hl__conn_reset_attempt(hl__conn *c)
{
    hl__wsp_reset(&c->ws);
    HL_MEMSET(&c->err, 0, sizeof c->err);
    c->stop = 0;
    c->io_error = 0;
    c->close_origin = (hl_close_origin)0;
    c->retry_after_ns = 0;
    c->held_by_queue = 0;
    c->kick = 0;
    c->protocol[0] = '\0';
    c->naddrs = c->addr_i = 0;
}

/* The attempt is over: close the socket; then wait and reconnect when that is on and the
   failure is retryable, else end for good (HL_EV_CLOSE, slot freed). */
static void hl__conn_finish(hl_ctx *ctx, hl__conn *c)
{
    uint64_t now;
    hl_ws_stats *st = &c->ws.stats;
    hl_event ev;
    int final, code;
    const char *reason = "";
    if (c->kind == HL__KIND_HTTP) {
        hl__http_conn_end(ctx, c);
        return;
    }
    now = hl__now(ctx);
#if HL_ENABLE_TLS
    if (c->tls) {
        if (c->err.result) c->t->session_ok = 0; /* resume only after a clean end */
        else if (c->fd != HL_INVALID_SOCKET) hl__tls_close(c->t, c->fd);
    }
#endif
    if (c->fd != HL_INVALID_SOCKET) {
        hl__net_close(c->tp, c->fd);
        c->fd = HL_INVALID_SOCKET;
    }
    c->deadline = 0;
    if (st->opened_at_ns) {
        st->connected_ns += now - st->opened_at_ns;
        st->opened_at_ns = 0;
        st->disconnects++;
        st->last_disconnect_ns = now;
        st->last_disconnect_result = c->err.result;
    }
    if (c->ws.close_recv) {
        code = c->ws.recv_code;
        reason = c->ws.recv_reason;
    } else {
        code = c->ws.sent_code && c->ws.failed ? c->ws.sent_code : 1006;
    }
    c->err.close_code = code;
    /* a connection that never became healthy counts against the breaker */
    hl__live_healthy(c, now);
    if (c->healthy_at && c->close_origin != HL_CLOSE_BY_LOCAL && c->state != HL_STATE_BACKOFF) {
        hl__breaker_record(&c->breaker, &c->bcfg, now, 0);
        st->breaker_opens = c->breaker.opens;
    }
    final = !c->reconnect || c->close_origin == HL_CLOSE_BY_LOCAL || c->stop ||
            !hl_err_retryable(c->err.result, c->err.http_status) ||
            (c->backoff.max_attempts && c->attempt >= c->backoff.max_attempts);
    hl__set_state(ctx, c, HL_STATE_CLOSED, c->err.result);
    if (final) {
        hl__event_init(&ev, HL_EV_CLOSE);
        ev.result = c->err.result;
        ev.detail = c->err.detail;
        ev.close_origin = c->close_origin;
        ev.close_code = code;
        ev.reason = reason;
        hl__emit(ctx, c, &ev);
        hl__subs_free_all(ctx, c);
        c->id = 0; /* the handle is dead from here on */
        return;
    }
    {
        uint32_t delay;
        c->attempt++;
        delay = hl__backoff_delay(&c->backoff, c->attempt, hl__rand32(ctx));
        if (c->retry_after_ns > (uint64_t)delay * HL__NS_PER_MS)
            delay = (uint32_t)HL__MIN(c->retry_after_ns / HL__NS_PER_MS, (uint64_t)0x7FFFFFFF);
        if (c->breaker.state == HL_BREAKER_OPEN) {
            uint64_t cool = (uint64_t)c->bcfg.cooldown_ms * HL__NS_PER_MS, gone = now - c->breaker.opened_at;
            if (gone < cool && (cool - gone) / HL__NS_PER_MS > delay) delay = (uint32_t)((cool - gone) / HL__NS_PER_MS);
        }
        hl__subs_connection_lost(ctx, c, now);
        hl__event_init(&ev, HL_EV_DISCONNECT);
        ev.result = c->err.result;
        ev.detail = c->err.detail;
        ev.close_origin = c->close_origin;
        ev.close_code = code;
        ev.reason = reason;
        ev.http_status = c->err.http_status;
        ev.delay_ms = delay;
        ev.attempt = c->attempt;
        hl__log(ctx, HL_LOG_INFO, c->id, "disconnected (%s%s%s), reconnecting in %u ms (attempt %u)",
                hl_result_name(c->err.result), c->err.detail[0] ? ": " : "", c->err.detail, (unsigned)delay,
                (unsigned)c->attempt);
        hl__emit(ctx, c, &ev);
        if (hl__gone(c) && c->state != HL_STATE_CLOSED) return; /* the callback gave up on it */
        if (c->id == 0) return;
        c->deadline = now + (uint64_t)delay * HL__NS_PER_MS;
        hl__set_state_ex(ctx, c, HL_STATE_BACKOFF, c->err.result, delay);
        hl__conn_reset_attempt(c);
    }
}

/* Fail now: error event, then the end of the attempt, without a closing handshake. */
static void hl__conn_fail(hl_ctx *ctx, hl__conn *c, int result, int sys_errno, const char *fmt, ...)
{
    if (!c->err.result) {
        va_list ap;
        c->err.result = result;
        c->err.sys_errno = sys_errno;
        va_start(ap, fmt);
        vsnprintf(c->err.detail, sizeof c->err.detail, fmt, ap);
        va_end(ap);
        if (!c->close_origin) c->close_origin = HL_CLOSE_BY_ERROR;
        hl__emit_error(ctx, c, NULL, 0);
    }
    hl__conn_finish(ctx, c);
}

/* Enter CLOSING: the close handshake (or a failure's close frame) is under way. */
static void hl__conn_closing(hl_ctx *ctx, hl__conn *c)
{
    if (c->state == HL_STATE_CLOSING) return;
    hl__set_deadline(ctx, c, ctx->cfg.close_timeout_ms);
    hl__set_state(ctx, c, HL_STATE_CLOSING, c->err.result);
}

/* ---- connecting ---- */

static int hl__connect_errno_result(int e)
{
    if (e == HL__ECONNREFUSED) return HL_E_CONNECT_REFUSED;
    if (e == HL__ETIMEDOUT) return HL_E_CONNECT_TIMEOUT;
    return HL_E_CONNECT;
}

static void hl__upgrade_start(hl_ctx *ctx, hl__conn *c);
static void hl__tcp_connected(hl_ctx *ctx, hl__conn *c);
static void hl__io_fail(hl_ctx *ctx, hl__conn *c, int e, const char *what);

/* Try the addresses from addr_i on until one connects or is in progress. */
static void hl__connect_next(hl_ctx *ctx, hl__conn *c, int last_result, int last_errno)
{
    char why[96];
    while (c->addr_i < c->naddrs) {
        const hl_addr *a = &c->addrs[c->addr_i++];
        int e = 0, r = hl__net_open(c->tp, a, &c->fd, &e);
        if (r >= 0) {
            hl__set_deadline(ctx, c, c->connect_ms ? c->connect_ms : ctx->cfg.connect_timeout_ms);
            hl__set_state(ctx, c, HL_STATE_CONNECTING, HL_OK);
            if (r == 0) hl__tcp_connected(ctx, c);
            return;
        }
        c->fd = HL_INVALID_SOCKET;
        last_result = hl__connect_errno_result(e);
        last_errno = e;
    }
    if (last_result == HL_E_CONNECT_TIMEOUT && !last_errno) {
        hl__conn_fail(ctx, c, last_result, 0, "connect to %s:%u timed out after %u ms (connect_timeout_ms)",
                      c->url.host, (unsigned)c->url.port,
                      (unsigned)(c->connect_ms ? c->connect_ms : ctx->cfg.connect_timeout_ms));
        return;
    }
    hl__sys_strerror(last_errno, why, sizeof why);
    hl__conn_fail(ctx, c, last_result, last_errno, "connect to %s:%u failed: %s", c->url.host,
                  (unsigned)c->url.port, why);
}

/* Start an attempt when the breaker and the connect budget allow; else wait in BACKOFF. */
static void hl__conn_try_start(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    uint64_t wait = 0;
    int n;
    if (!hl__breaker_allow(&c->breaker, &c->bcfg, now, &wait)) {
        c->deadline = now + wait;
        hl__set_error(c, HL_E_CIRCUIT_OPEN, 0, "circuit breaker open after %u failures; next probe in %u ms",
                      (unsigned)c->breaker.consecutive, (unsigned)(wait / HL__NS_PER_MS));
        hl__set_state_ex(ctx, c, HL_STATE_BACKOFF, HL_E_CIRCUIT_OPEN, (uint32_t)(wait / HL__NS_PER_MS));
        HL_MEMSET(&c->err, 0, sizeof c->err);
        return;
    }
    /* the venue budget is for WebSocket connections; the HTTP pool reuses its few */
    wait = c->kind == HL__KIND_WS ? hl__bucket_take(&ctx->connects, now, 1) : 0;
    if (wait) {
        c->breaker.probe_out = 0; /* not made: the probe is still to come */
        c->deadline = now + wait;
        hl__log(ctx, HL_LOG_INFO, c->id, "connect budget (connects_per_minute %u) spent: waiting %u ms",
                (unsigned)ctx->cfg.connects_per_minute, (unsigned)(wait / HL__NS_PER_MS));
        return;
    }
    c->deadline = 0;
    c->healthy_at = 1; /* not healthy until it has been open for healthy_ms */
    c->ws.stats.attempts++;
    if (c->ws.stats.attempts > 1) c->ws.stats.reconnects++;
    hl__set_state(ctx, c, HL_STATE_RESOLVING, HL_OK);
    n = ctx->cfg.resolve(ctx->cfg.user, c->url.host, c->url.port, c->addrs, HL__MAX_ADDRS);
    if (n <= 0) {
        hl__conn_fail(ctx, c, n < 0 ? n : HL_E_DNS, 0, "cannot resolve '%s'", c->url.host);
        return;
    }
    c->naddrs = n;
    c->addr_i = 0;
    hl__connect_next(ctx, c, HL_E_CONNECT, 0);
}

/* TCP is up: write the upgrade request into the send queue. */
static void hl__upgrade_start(hl_ctx *ctx, hl__conn *c)
{
    hl_header hdrs[HL_MAX_EXTRA_HEADERS];
    unsigned char raw[16];
    int nh = 0, i, len;
    size_t room;
    if (c->headers) {
        nh = c->headers(c->headers_user, hdrs, HL_MAX_EXTRA_HEADERS);
        if (nh < 0) {
            hl__conn_fail(ctx, c, nh, 0, "header provider refused the connect (%s)", hl_result_name(nh));
            return;
        }
        if (nh > HL_MAX_EXTRA_HEADERS) nh = HL_MAX_EXTRA_HEADERS;
        for (i = 0; i < nh; i++) {
            char why[120];
            if (hl__ws_header_check(&hdrs[i], why, sizeof why) != HL_OK) {
                hl__conn_fail(ctx, c, HL_E_INVALID, 0, "%s", why);
                return;
            }
        }
    }
    hl__rng_bytes(&ctx->rng, raw, sizeof raw);
    hl__base64_encode(raw, sizeof raw, c->key);
    room = HL__MIN(c->ws.tx_cap, (size_t)ctx->cfg.max_header_size);
    len = hl__ws_request_write((char *)c->ws.tx, room, &c->url, c->key, c->subprotocols, hdrs, nh);
    if (len < 0) {
        hl__conn_fail(ctx, c, HL_E_HEADER_TOO_BIG, 0, "upgrade request over max_header_size (%u)",
                      (unsigned)ctx->cfg.max_header_size);
        return;
    }
    c->ws.tx_head = 0;
    c->ws.tx_tail = (size_t)len;
    hl__set_deadline(ctx, c, ctx->cfg.handshake_timeout_ms);
    hl__set_state(ctx, c, HL_STATE_UPGRADING, HL_OK);
}

#if HL_ENABLE_TLS
static void hl__tls_fail(hl_ctx *ctx, hl__conn *c)
{
    char why[160];
    int rc = hl__tls_error(c->t, c->url.host, why, sizeof why);
    c->err.tls_error = br_ssl_engine_last_error(&c->t->cc.eng);
    c->t->session_ok = 0;
    hl__conn_fail(ctx, c, rc, 0, "TLS with %s:%u: %s", c->url.host, (unsigned)c->url.port, why);
}

/* Pump the TLS handshake; on success go on to the WebSocket upgrade. */
static void hl__tls_step(hl_ctx *ctx, hl__conn *c)
{
    int e = 0, r = hl__tls_handshake(c->t, c->fd, &e);
    if (r == 0) return;
    if (r == HL__TLS_FAIL) {
        hl__tls_fail(ctx, c);
        return;
    }
    if (r < 0) {
        if (r == -2) e = HL__ECONNRESET;
        hl__io_fail(ctx, c, e, "TLS handshake");
        return;
    }
    hl__tls_established(c->t, !(c->url.is_ipv6 || hl__is_ipv4_literal(c->url.host)));
    if (c->t->resumed) ctx->stats.tls_handshakes_resumed++;
    else ctx->stats.tls_handshakes_full++;
    hl__log(ctx, HL_LOG_DEBUG, c->id, "TLS established (%s handshake)", c->t->resumed ? "resumed" : "full");
    if (c->kind == HL__KIND_HTTP) hl__http_conn_ready(ctx, c);
    else hl__upgrade_start(ctx, c);
}
#endif

/* TCP is up: start TLS for wss://, else go straight to the upgrade. */
static void hl__tcp_connected(hl_ctx *ctx, hl__conn *c)
{
#if HL_ENABLE_TLS
    if (c->tls) {
        unsigned char seed[32];
        int ip_host = c->url.is_ipv6 || hl__is_ipv4_literal(c->url.host);
        if (ctx->cfg.entropy(ctx->cfg.user, seed, sizeof seed) != 0) {
            hl__conn_fail(ctx, c, HL_E_TLS, 0, "entropy source failed");
            return;
        }
        if (ctx->cfg.tls_insecure)
            hl__log(ctx, HL_LOG_WARN, c->id, "tls_insecure is set: the certificate of %s is NOT verified",
                    c->url.host);
        if (hl__tls_start(c->t, &ctx->anchors, &ctx->cfg, c->url.host, ip_host, c->url.port, c->pins, c->npins,
                          seed, ctx->cfg.wall_clock(ctx->cfg.user)) != HL_OK) {
            HL_MEMSET(seed, 0, sizeof seed);
            hl__tls_fail(ctx, c);
            return;
        }
        HL_MEMSET(seed, 0, sizeof seed);
        hl__set_deadline(ctx, c, ctx->cfg.handshake_timeout_ms);
        hl__set_state(ctx, c, HL_STATE_TLS_HANDSHAKE, HL_OK);
        hl__tls_step(ctx, c);
        return;
    }
#endif
    if (c->kind == HL__KIND_HTTP) hl__http_conn_ready(ctx, c);
    else hl__upgrade_start(ctx, c);
}

/* The whole response head is in the receive buffer: check it and open, or report refusal. */
static void hl__upgrade_response(hl_ctx *ctx, hl__conn *c, int eof)
{
    hl__ws_response r;
    hl__wsp *p = &c->ws;
    char why[160];
    uint64_t now;
    int h = hl__ws_response_parse((const char *)p->rx, p->fill, ctx->cfg.max_header_size, &r, why, sizeof why);
    if (h == 0) {
        if (eof) hl__conn_fail(ctx, c, HL_E_EOF, 0, "server closed the connection during the handshake");
        return;
    }
    if (h < 0) {
        hl__conn_fail(ctx, c, h, 0, "%s", why);
        return;
    }
    if (r.status != 101) {
        size_t body = p->fill - (size_t)h;
        /* keep the refusal's body: wait for Content-Length bytes while they fit, or EOF */
        if (!eof && r.content_length > 0 && (size_t)r.content_length > body &&
            (size_t)h + (size_t)r.content_length <= p->rx_cap)
            return;
        if (r.content_length >= 0 && body > (size_t)r.content_length) body = (size_t)r.content_length;
        if (r.retry_after) {
            int64_t ra = hl__retry_after_ns(r.retry_after, r.retry_after_len, ctx->cfg.wall_clock(ctx->cfg.user));
            if (ra > 0) c->retry_after_ns = (uint64_t)ra;
        }
        c->err.result = HL_E_HANDSHAKE;
        c->err.http_status = r.status;
        hl__fmt(c->err.detail, sizeof c->err.detail, "server refused the upgrade with HTTP %d", r.status);
        c->close_origin = HL_CLOSE_BY_ERROR;
        hl__emit_error(ctx, c, p->rx + h, body);
        hl__conn_finish(ctx, c);
        return;
    }
    if (hl__ws_response_check(&r, c->key, c->subprotocols, why, sizeof why) != HL_OK) {
        hl__conn_fail(ctx, c, HL_E_HANDSHAKE, 0, "%s", why);
        return;
    }
    if (r.protocol_len) {
        HL_MEMCPY(c->protocol, r.protocol, r.protocol_len); /* < 128: checked as offered */
        c->protocol[r.protocol_len] = '\0';
    }
    p->rd = p->msg_start = p->wr = (size_t)h; /* frames may follow the head at once */
    now = hl__now(ctx);
    c->deadline = 0;
    c->ws.stats.connects++;
    c->ws.stats.opened_at_ns = now;
    c->healthy_at = now + (uint64_t)c->backoff.healthy_ms * HL__NS_PER_MS;
    hl__live_open(ctx, c, now);
    hl__set_state(ctx, c, HL_STATE_OPEN, HL_OK);
    if (hl__gone(c)) return;
    {
        hl_event ev;
        hl__event_init(&ev, HL_EV_OPEN);
        ev.protocol = c->protocol;
        hl__emit(ctx, c, &ev);
    }
    if (!hl__gone(c)) hl__subs_connection_open(c);
}

/* ---- I/O ---- */

static void hl__io_fail(hl_ctx *ctx, hl__conn *c, int e, const char *what)
{
    char why[96];
#if HL_ENABLE_TLS
    if (e == HL__IO_TLS) {
        hl__tls_fail(ctx, c);
        return;
    }
#endif
    hl__sys_strerror(e, why, sizeof why);
    hl__conn_fail(ctx, c, e == HL__ECONNRESET ? HL_E_RESET : HL_E_IO, e, "%s failed: %s", what, why);
}

/* The peer closed TCP. After the closing handshake (or our failure's close) that is the normal
   end; before it, the connection dropped. */
static void hl__conn_eof(hl_ctx *ctx, hl__conn *c)
{
    if (c->ws.close_recv || c->ws.failed || c->state == HL_STATE_CLOSING) {
        if (!c->ws.close_recv && !c->ws.failed)
            hl__set_error(c, HL_E_EOF, 0, "server closed TCP before answering our close frame");
        hl__conn_finish(ctx, c);
        return;
    }
    if (c->state == HL_STATE_UPGRADING) {
        hl__upgrade_response(ctx, c, 1);
        if (hl__gone(c)) return;
    }
    hl__conn_fail(ctx, c, HL_E_EOF, 0, "server closed TCP without a close frame");
}

/* Parse what the receive buffer holds, delivering messages. */
static void hl__conn_parse(hl_ctx *ctx, hl__conn *c, const hl__wsp_sink *sink)
{
    if (hl__wsp_recv(&c->ws, sink, &c->stop) != HL_OK && !c->err.result) {
        c->err.result = c->ws.result;
        c->close_origin = HL_CLOSE_BY_ERROR;
        hl__fmt(c->err.detail, sizeof c->err.detail, "%s", c->ws.detail);
        hl__emit_error(ctx, c, NULL, 0);
    }
    if (hl__gone(c) || c->stop) return;
    if (c->ws.close_recv || c->ws.failed) {
        if (c->ws.close_recv && !c->close_origin) c->close_origin = HL_CLOSE_BY_PEER;
        hl__conn_closing(ctx, c);
    }
}

/* Read and process until the socket would block (bounded per pass), unless a full queue holds
   a message back. */
static void hl__conn_read(hl_ctx *ctx, hl__conn *c)
{
    hl__sink_ctx sc;
    hl__wsp_sink sink;
    int i;
    sc.ctx = ctx;
    sc.c = c;
    sink.message = hl__on_message;
    sink.pong = hl__on_pong;
    sink.user = &sc;
    c->in_batch = 0;
    if (c->ws.held && (c->state == HL_STATE_OPEN || c->state == HL_STATE_CLOSING)) hl__conn_parse(ctx, c, &sink);
    for (i = 0; i < HL__READS_PER_PASS && !hl__gone(c) && !c->stop && !c->ws.held; i++) {
        size_t room;
        unsigned char *dst = hl__wsp_rx_buf(&c->ws, &room);
        int e = 0;
        long r;
        if (room == 0) {
            /* Cannot happen with the buffer sized max message + chunk; guard anyway. */
            hl__conn_fail(ctx, c, HL_E_MSG_TOO_BIG, 0, "receive buffer full (max_message_size)");
            break;
        }
        r = hl__conn_recv(c, dst, room, &e);
        if (r == HL__AGAIN) break;
        if (r == HL__TLS_FAIL_OR_NONE) e = HL__IO_TLS;
        if (r < 0) {
            if (c->state == HL_STATE_CLOSING && (c->ws.close_recv || c->ws.failed)) {
                hl__conn_finish(ctx, c); /* a reset after the close exchange ends it all the same */
                break;
            }
            hl__io_fail(ctx, c, e, "recv");
            break;
        }
        if (r == 0) {
            hl__conn_eof(ctx, c);
            break;
        }
        c->last_rx = hl__now(ctx);
        if (c->ws.close_recv || c->ws.failed) continue; /* after close: read and discard */
        hl__wsp_rx_ack(&c->ws, (size_t)r);
        if (c->state == HL_STATE_UPGRADING) {
            hl__upgrade_response(ctx, c, 0);
            if (hl__gone(c) || c->state != HL_STATE_OPEN) continue;
        }
        hl__conn_parse(ctx, c, &sink);
        if (hl__gone(c) || c->stop) break;
        if (c->ws.close_sent && !c->ws.close_recv && !c->ws.failed) break; /* send our close first */
    }
    if (c->in_batch && c->id) {
        hl_event ev;
        c->in_batch = 0;
        hl__event_init(&ev, HL_EV_BATCH_END);
        hl__emit(ctx, c, &ev);
    }
}
