/* The poll loop: one turn of each connection (readiness, then timers), the descriptor list and
   the next deadline for foreign loops, and hl_poll on top of them. */

/* Work that waits for no socket: a new connection, a stop, a pending error, a replay, or
   plaintext BearSSL already decrypted. */
static int hl__conn_ready_now(const hl__conn *c)
{
    if (c->held) return 0;
    if ((c->state == HL_STATE_IDLE && !c->deadline) || c->stop || c->io_error) return 1;
    if (c->kick && c->state == HL_STATE_OPEN) return 1;
#if HL_ENABLE_TLS
    if (c->tls && !c->held_by_queue && c->fd != HL_INVALID_SOCKET && c->state >= HL_STATE_UPGRADING &&
        (br_ssl_engine_current_state(&c->t->cc.eng) & BR_SSL_RECVAPP))
        return 1;
#endif
    return 0;
}

/* One turn of a connection: readiness in revents, then due timers. Sets c->wake. */
static void hl__conn_step(hl_ctx *ctx, hl__conn *c, unsigned revents, uint64_t now)
{
    uint64_t next = 0, t;
    c->wake = 0;
    if (c->kind == HL__KIND_HTTP && c->hreq >= 0 && c->state != HL_STATE_OPEN) {
        /* a request's total time runs while its connection is still being made */
        uint64_t due = ctx->hreqs[c->hreq].deadline_ns;
        if (now >= due) {
            hl__http_conn_fail(ctx, c, HL_E_REQUEST_TIMEOUT, "no response within %s (timeout_ms)",
                               "the total time, still connecting");
            return;
        }
        c->wake = due;
    }
    if (c->stop) {
        hl__set_error(c, HL_E_CLOSED, 0, c->stop == 2 ? "closed by hl_ws_close before the connection opened"
                                                      : "aborted by hl_ws_abort");
        hl__conn_finish(ctx, c);
        return;
    }
    if ((c->state == HL_STATE_IDLE || c->state == HL_STATE_BACKOFF) && now >= c->deadline) {
        hl__conn_try_start(ctx, c, now);
        return;
    }
    if (c->state == HL_STATE_BACKOFF || c->state == HL_STATE_IDLE) return;
    if (c->state == HL_STATE_CONNECTING) {
        if (revents & (HL_POLLOUT | HL_POLLERR | HL_POLLIN)) {
            int e = hl__net_connect_result(c->tp, c->fd);
            if (e == 0) {
                hl__tcp_connected(ctx, c);
            } else {
                hl__net_close(c->tp, c->fd);
                c->fd = HL_INVALID_SOCKET;
                hl__connect_next(ctx, c, hl__connect_errno_result(e), e);
                return;
            }
        } else if (c->deadline && now >= c->deadline) {
            hl__net_close(c->tp, c->fd);
            c->fd = HL_INVALID_SOCKET;
            hl__connect_next(ctx, c, HL_E_CONNECT_TIMEOUT, 0);
            return;
        } else {
            return;
        }
        if (hl__gone(c)) return;
    }
#if HL_ENABLE_TLS
    if (c->state == HL_STATE_TLS_HANDSHAKE) {
        if (revents) hl__tls_step(ctx, c);
        if (!hl__gone(c) && c->state == HL_STATE_TLS_HANDSHAKE && c->deadline && now >= c->deadline)
            hl__conn_fail(ctx, c, HL_E_HANDSHAKE_TIMEOUT, 0, "TLS handshake not done within %u ms (handshake_timeout_ms)",
                          (unsigned)ctx->cfg.handshake_timeout_ms);
        if (hl__gone(c) || c->state == HL_STATE_TLS_HANDSHAKE) return;
    }
#endif
    if (c->kind == HL__KIND_HTTP) {
        hl__http_conn_step(ctx, c, revents, now);
        return;
    }
    if (c->io_error) {
        hl__io_fail(ctx, c, c->io_error, "send");
        return;
    }
    if ((revents & (HL_POLLIN | HL_POLLERR)) || hl__conn_ready_now(c)) {
        c->kick = 0;
        if (!c->held_by_queue) hl__conn_read(ctx, c);
        if (hl__gone(c)) return;
    }
    t = hl__live_step(ctx, c, now);
    if (hl__gone(c)) return;
    HL__SOONER(next, t);
    if (hl__wsp_tx_pending(&c->ws)) {
        int e = hl__conn_flush(c);
        if (e) {
            hl__io_fail(ctx, c, e, "send");
            return;
        }
    }
    t = hl__subs_pump(ctx, c, now);
    HL__SOONER(next, t);
    t = hl__subs_stale_check(ctx, c, now);
    if (hl__gone(c)) return;
    HL__SOONER(next, t);
    if (hl__wsp_tx_pending(&c->ws)) {
        int e = hl__conn_flush(c);
        if (e) {
            if (c->state == HL_STATE_CLOSING) hl__conn_finish(ctx, c);
            else hl__io_fail(ctx, c, e, "send");
            return;
        }
    }
    if (c->state == HL_STATE_OPEN && c->ws.close_sent) hl__conn_closing(ctx, c);
    if (c->deadline && now >= c->deadline) {
        if (c->state == HL_STATE_UPGRADING) {
            hl__conn_fail(ctx, c, HL_E_HANDSHAKE_TIMEOUT, 0, "no upgrade response within %u ms (handshake_timeout_ms)",
                          (unsigned)ctx->cfg.handshake_timeout_ms);
            return;
        }
        if (c->state == HL_STATE_CLOSING) {
            if ((!c->ws.close_recv || !c->ws.close_sent) && !c->err.result) {
                hl__set_error(c, HL_E_CLOSE_TIMEOUT, 0, "closing handshake not finished within %u ms (close_timeout_ms)",
                              (unsigned)ctx->cfg.close_timeout_ms);
                hl__emit_error(ctx, c, NULL, 0);
            }
            hl__conn_finish(ctx, c);
            return;
        }
    }
    c->wake = next;
}

HL_API int hl_pollfds(hl_ctx *ctx, hl_pollfd *fds, int max)
{
    uint32_t i;
    int n = 0;
    if (!ctx || (max > 0 && !fds)) return HL_E_INVALID;
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        hl__conn *c = &ctx->conns[i];
        if (!c->id || c->fd == HL_INVALID_SOCKET) continue;
        if (n < max) {
            int want_out = hl__wsp_tx_used(&c->ws) != 0;
            unsigned in = c->held_by_queue ? 0u : HL_POLLIN;
#if HL_ENABLE_TLS
            if (c->tls) want_out = (want_out && c->state != HL_STATE_TLS_HANDSHAKE) || hl__tls_wants_write(c->t);
#endif
            fds[n].fd = c->fd;
            fds[n].events = c->state == HL_STATE_CONNECTING ? HL_POLLOUT : in | (want_out ? HL_POLLOUT : 0u);
            fds[n].revents = 0;
        }
        n++;
    }
    return n;
}

HL_API int hl_next_timeout(hl_ctx *ctx)
{
    uint64_t now, best = 0;
    uint32_t i;
    if (!ctx) return -1;
    now = hl__now(ctx);
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        hl__conn *c = &ctx->conns[i];
        if (!c->id) continue;
        if (hl__conn_ready_now(c)) return 0;
        HL__SOONER(best, c->deadline);
        HL__SOONER(best, c->wake);
    }
    if (ctx->http_kick) return 0;
    HL__SOONER(best, ctx->http_wake);
    if (!best) return -1;
    if (best <= now) return 0;
    /* round up so a wake-up never comes before the deadline */
    return (int)HL__MIN((best - now + HL__NS_PER_MS - 1) / HL__NS_PER_MS, (uint64_t)0x7FFFFFFF);
}

HL_API int hl_process(hl_ctx *ctx, const hl_pollfd *fds, int n)
{
    uint32_t i;
    uint64_t now;
    if (!ctx || n < 0 || (n > 0 && !fds)) return HL_E_INVALID;
    if (ctx->in_process) return HL_E_STATE;
    ctx->in_process = 1;
    ctx->events = 0;
    hl__http_release_held(ctx);
    now = hl__now(ctx);
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        hl__conn *c = &ctx->conns[i];
        unsigned rev = 0;
        int k;
        if (!c->id) continue;
        for (k = 0; k < n; k++)
            if (fds[k].fd == c->fd && c->fd != HL_INVALID_SOCKET) rev |= fds[k].revents;
        hl__conn_step(ctx, c, rev, now);
    }
    ctx->http_wake = hl__http_pump(ctx, now);
    ctx->in_process = 0;
    return ctx->events;
}

HL_API int hl_poll(hl_ctx *ctx, int timeout_ms)
{
    int n, t, r;
    if (!ctx) return HL_E_INVALID;
    if (ctx->in_process) return HL_E_STATE;
    n = hl_pollfds(ctx, ctx->pfds, (int)ctx->cfg.max_connections);
    t = hl_next_timeout(ctx);
    if (t >= 0 && (timeout_ms < 0 || t < timeout_ms)) timeout_ms = t;
    if (timeout_ms < 0 && n == 0) timeout_ms = 0; /* nothing could ever wake us */
    r = hl__sys_poll(ctx->pfds, n, timeout_ms, ctx->sys_pfds);
    if (r < 0) return r;
    return hl_process(ctx, ctx->pfds, r > 0 ? n : 0);
}

HL_API void hl_ctx_shutdown(hl_ctx *ctx)
{
    uint32_t i;
    if (!ctx) return;
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        hl__conn *c = &ctx->conns[i];
        if (c->fd != HL_INVALID_SOCKET) hl__net_close(c->tp, c->fd);
        c->fd = HL_INVALID_SOCKET;
        c->id = 0;
    }
    hl__sys_cleanup();
}
