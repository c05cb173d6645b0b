/* The public WebSocket calls. They only change state and queue bytes; the work happens in
   hl_poll, except that a send made outside hl_poll is written to the socket at once. */


HL_API int hl_ctx_stats_get(hl_ctx *ctx, hl_ctx_stats *out)
{
    if (!ctx || !out) return HL_E_INVALID;
    *out = ctx->stats;
#if HL_ENABLE_TLS
    out->tls_anchors = (uint32_t)ctx->anchors.count;
    out->tls_anchor_bytes = ctx->cfg.tls_anchors ? 0 : ctx->anchors.bytes_used + ctx->anchors.count * sizeof(br_x509_trust_anchor);
#endif
    return HL_OK;
}

HL_API int hl_ws_connect(hl_ctx *ctx, const hl_ws_desc *desc, hl_ws *out)
{
    hl__conn *c = NULL;
    uint32_t i;
    hl_url url;
    char why[120];
    int rc;
    if (!ctx || !desc || !desc->url || !desc->on_event || !out) return HL_E_INVALID;
    out->id = 0;
    rc = hl_url_parse(desc->url, &url, why, sizeof why);
    if (rc != HL_OK) {
        hl__log(ctx, HL_LOG_ERROR, 0, "bad URL '%.80s': %s", desc->url, why);
        return rc;
    }
    if (url.scheme != HL_SCHEME_WS && url.scheme != HL_SCHEME_WSS) return HL_E_BAD_URL;
    if (url.scheme == HL_SCHEME_WSS && !HL_ENABLE_TLS) {
        hl__log(ctx, HL_LOG_ERROR, 0, "wss:// needs a build with HL_ENABLE_TLS 1");
        return HL_E_UNSUPPORTED;
    }
    if (desc->tls_pin_count < 0 || desc->tls_pin_count > HL__MAX_PINS || (desc->tls_pin_count && !desc->tls_pins))
        return HL_E_INVALID;
#if HL_ENABLE_TLS
    if (url.scheme == HL_SCHEME_WSS) {
        rc = hl__tls_anchors_ready(ctx, why, sizeof why);
        if (rc != HL_OK) {
            hl__log(ctx, HL_LOG_ERROR, 0, "%s", why);
            return rc;
        }
        if ((url.is_ipv6 || hl__is_ipv4_literal(url.host)) && !desc->tls_pin_count && !ctx->cfg.tls_insecure) {
            hl__log(ctx, HL_LOG_ERROR, 0, "wss://%s: an IP address cannot be verified by name; pin the key "
                                          "(tls_pins) or use a DNS name", url.host);
            return HL_E_TLS_CERT;
        }
    }
#endif
    if (desc->subprotocols && strlen(desc->subprotocols) >= sizeof c->subprotocols) return HL_E_INVALID;
    for (i = 0; i < ctx->cfg.max_connections; i++)
        if (!ctx->conns[i].id) {
            c = &ctx->conns[i];
            break;
        }
    if (!c) {
        hl__log(ctx, HL_LOG_WARN, 0, "no free connection slot: raise max_connections (%u)",
                (unsigned)ctx->cfg.max_connections);
        return HL_E_POOL_EMPTY;
    }
    hl__conn_claim(ctx, c);
    c->url = url;
    if (desc->subprotocols) HL_MEMCPY(c->subprotocols, desc->subprotocols, strlen(desc->subprotocols) + 1);
    c->headers = desc->headers;
    c->headers_user = desc->headers_user;
    c->on_event = desc->on_event;
    c->user = desc->user;
    c->tls = url.scheme == HL_SCHEME_WSS;
    c->npins = desc->tls_pin_count;
    if (c->npins) HL_MEMCPY(c->pins, desc->tls_pins, 32 * (size_t)c->npins);
    c->reconnect = desc->reconnect != 0;
    hl__backoff_resolve(&desc->backoff, &c->backoff);
    hl__breaker_config_resolve(&desc->breaker, &c->bcfg);
    c->profile = desc->profile;
    c->venue = desc->profile ? hl__venue_of(ctx, desc->profile) : -1;
    c->ping_ms = desc->ping_interval_ms;
    c->pong_timeout_ms = desc->pong_timeout_ms ? desc->pong_timeout_ms : 10000;
    c->app_ping_ms = desc->app_ping_ms ? desc->app_ping_ms : (desc->profile ? desc->profile->app_ping_ms : 0);
    if (c->app_ping_ms == HL_UNLIMITED) c->app_ping_ms = 0;
    c->silence_ms = desc->silence_timeout_ms;
    c->batch_events = desc->batch_events != 0;
    out->id = c->id;
    return HL_OK;
}

/* Send what was just queued at once when called from outside hl_process: latency matters more
   than batching for our users. A failure is kept for hl_process to report. */
static int hl__after_queue(hl_ctx *ctx, hl__conn *c, int rc)
{
    if (rc == HL_OK && !ctx->in_process && !c->io_error && c->fd != HL_INVALID_SOCKET)
        c->io_error = hl__conn_flush(c);
    return rc;
}

static hl__conn *hl__conn_open(hl_ctx *ctx, hl_ws ws, int *rc)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    *rc = HL_OK;
    if (!c) *rc = HL_E_BAD_HANDLE;
    else if (c->state == HL_STATE_CLOSING || c->state == HL_STATE_CLOSED || c->stop) *rc = HL_E_CLOSED;
    else if (c->state != HL_STATE_OPEN) *rc = HL_E_STATE;
    return *rc == HL_OK ? c : NULL;
}

/* The venue's outbound budget: a message that would break it is refused, never delayed. */
static int hl__send_budget(hl_ctx *ctx, hl__conn *c)
{
    if (c->venue < 0 || c->ws.send_op) return HL_OK; /* a fragmented message counts once */
    if (hl__venue_take(ctx, c, hl__now(ctx))) {
        hl__log(ctx, HL_LOG_WARN, c->id, "outbound budget of the %s venue spent (ws_msgs_per_minute)", c->profile->name);
        return HL_E_RATE_LIMITED;
    }
    return HL_OK;
}

static int hl__send_common(hl_ctx *ctx, hl_ws ws, hl_msg_type type, const void *data, size_t len, int fin, int frag)
{
    int rc;
    hl__conn *c = hl__conn_open(ctx, ws, &rc);
    if (!c) return rc;
    if (!data && len) return HL_E_INVALID;
    rc = hl__send_budget(ctx, c);
    if (rc != HL_OK) return rc;
    rc = hl__wsp_send(&c->ws, (int)type, (const unsigned char *)data, len, fin, frag);
    if (rc == HL_OK) c->last_tx = hl__now(ctx);
    return hl__after_queue(ctx, c, rc);
}

HL_API int hl_ws_send(hl_ctx *ctx, hl_ws ws, hl_msg_type type, const void *data, size_t len)
{
    return hl__send_common(ctx, ws, type, data, len, 1, 0);
}

HL_API int hl_ws_send_fragment(hl_ctx *ctx, hl_ws ws, hl_msg_type type, const void *data,
                               size_t len, int final)
{
    return hl__send_common(ctx, ws, type, data, len, final != 0, 1);
}

HL_API int hl_ws_ping(hl_ctx *ctx, hl_ws ws, const void *data, size_t len)
{
    int rc;
    hl__conn *c = hl__conn_open(ctx, ws, &rc);
    if (!c) return rc;
    if (!data && len) return HL_E_INVALID;
    return hl__after_queue(ctx, c, hl__wsp_ping(&c->ws, (const unsigned char *)data, len));
}

HL_API int hl_ws_close(hl_ctx *ctx, hl_ws ws, int code, const char *reason)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    size_t rlen = reason ? strlen(reason) : 0;
    if (!c) return HL_E_BAD_HANDLE;
    if (code != 0 && (!hl__close_code_valid((unsigned)code) || code == 1005 || code == 1006))
        return HL_E_INVALID;
    if (rlen > 123 || (rlen && code == 0)) return HL_E_INVALID;
    if (rlen && hl__utf8_feed(0, (const unsigned char *)reason, rlen) != HL__UTF8_ACCEPT) return HL_E_BAD_UTF8;
    if (c->ws.close_sent || c->stop) return HL_E_CLOSED;
    if (c->state != HL_STATE_OPEN) {
        /* not open yet: nothing to hand-shake, just stop */
        c->stop = 2;
        c->close_origin = HL_CLOSE_BY_LOCAL;
        return HL_OK;
    }
    c->close_origin = HL_CLOSE_BY_LOCAL;
    c->held_by_queue = 0; /* closing: nothing is held back any more */
    c->kick = 1;          /* CLOSING and its deadline start now, not at the next wake-up */
    hl__wsp_queue_close(&c->ws, code, reason, rlen);
    return hl__after_queue(ctx, c, HL_OK);
}

HL_API int hl_ws_abort(hl_ctx *ctx, hl_ws ws)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    if (!c) return HL_E_BAD_HANDLE;
    if (!c->close_origin) c->close_origin = HL_CLOSE_BY_LOCAL;
    c->stop = 1;
    return HL_OK;
}

HL_API int hl_ws_set_reconnect(hl_ctx *ctx, hl_ws ws, int on)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    if (!c) return HL_E_BAD_HANDLE;
    c->reconnect = on != 0;
    return HL_OK;
}

HL_API hl_state hl_ws_state(hl_ctx *ctx, hl_ws ws)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    return c ? c->state : HL_STATE_CLOSED;
}

HL_API size_t hl_ws_send_room(hl_ctx *ctx, hl_ws ws)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    size_t used;
    if (!c) return 0;
    used = hl__wsp_tx_used(&c->ws) + HL__TX_CTRL_RESERVE;
    return used >= c->ws.tx_cap ? 0 : c->ws.tx_cap - used;
}

HL_API int hl_ws_stats_get(hl_ctx *ctx, hl_ws ws, hl_ws_stats *out)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    if (!c || !out) return c ? HL_E_INVALID : HL_E_BAD_HANDLE;
    hl__live_healthy(c, hl__now(ctx));
    *out = c->ws.stats;
    out->send_queue_bytes = hl__wsp_tx_used(&c->ws);
    out->breaker = c->breaker.state;
    out->breaker_opens = c->breaker.opens;
    if (out->opened_at_ns) out->connected_ns += hl__now(ctx) - out->opened_at_ns;
    return HL_OK;
}

HL_API int hl_ws_last_error(hl_ctx *ctx, hl_ws ws, hl_error_info *out)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    if (!c || !out) return c ? HL_E_INVALID : HL_E_BAD_HANDLE;
    *out = c->err;
    return HL_OK;
}
