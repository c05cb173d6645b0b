/* The HTTP/1.1 client: a first-come-first-served request queue, a keep-alive pool made of the
   context's connection slots (at most http_max_per_origin per origin, closed after
   http_idle_timeout_ms idle), one request at a time per connection, and per attempt: the
   endpoint's circuit breaker, the origin's weight budget, time to first byte and total timeouts.
   A failed attempt is retried with backoff (or the server's Retry-After) only when the request
   is idempotent and the failure is retryable; a pooled connection the server closed while it
   sat idle costs one free retry on a fresh connection. */

static hl__hreq *hl__hreq_get(hl_ctx *ctx, hl_http h)
{
    uint32_t idx = (h.id & 0xFFFFu) - 1;
    if (!ctx || h.id == 0 || idx >= ctx->cfg.http_max_requests) return NULL;
    if (ctx->hreqs[idx].id != h.id || ctx->hreqs[idx].state == HL__HREQ_FREE) return NULL;
    return &ctx->hreqs[idx];
}

static int32_t hl__origin_of(hl_ctx *ctx, const hl_url *u)
{
    uint32_t i;
    int32_t free_slot = -1;
    for (i = 0; i < ctx->cfg.http_max_endpoints; i++) {
        hl__origin *o = &ctx->origins[i];
        if (!o->used) {
            if (free_slot < 0) free_slot = (int32_t)i;
            continue;
        }
        if (o->scheme == u->scheme && o->port == u->port && strcmp(o->host, u->host) == 0) return (int32_t)i;
    }
    if (free_slot >= 0) {
        hl__origin *o = &ctx->origins[free_slot];
        uint32_t w = ctx->cfg.http_weight_per_minute;
        HL_MEMSET(o, 0, sizeof *o);
        o->used = 1;
        o->scheme = u->scheme;
        o->port = u->port;
        o->is_ipv6 = u->is_ipv6;
        HL_MEMCPY(o->host, u->host, strlen(u->host) + 1);
        hl__bucket_init(&o->weight, w == HL_UNLIMITED ? 0 : w, w, hl__now(ctx));
    }
    return free_slot;
}

static int32_t hl__endpoint_of(hl_ctx *ctx, int32_t origin, const char *target)
{
    size_t n = strcspn(target, "?");
    uint64_t h = hl__fnv1a(hl__fnv1a(HL__FNV_INIT, &origin, sizeof origin), target, n);
    uint32_t i;
    int32_t free_slot = -1;
    for (i = 0; i < ctx->cfg.http_max_endpoints; i++) {
        hl__endpoint *e = &ctx->endpoints[i];
        if (!e->used) {
            if (free_slot < 0) free_slot = (int32_t)i;
        } else if (e->origin == origin && e->path_hash == h) {
            return (int32_t)i;
        }
    }
    if (free_slot >= 0) {
        hl__endpoint *e = &ctx->endpoints[free_slot];
        HL_MEMSET(e, 0, sizeof *e);
        e->used = 1;
        e->origin = origin;
        e->path_hash = h;
        hl__fmt(e->path, sizeof e->path, "%.*s", (int)HL__MIN(n, sizeof e->path - 1), target);
    }
    return free_slot;
}

static void hl__http_latency(hl__endpoint *e, uint64_t ns)
{
    uint64_t us = ns / 1000;
    int b = 0;
    while (b < HL__HTTP_LAT_BUCKETS - 1 && us >= (16ull << b)) b++;
    e->lat_hist[b]++;
    if (!e->lat_count || ns < e->lat_min_ns) e->lat_min_ns = ns;
    if (ns > e->lat_max_ns) e->lat_max_ns = ns;
    e->lat_sum_ns += ns;
    e->lat_count++;
}

static void hl__http_count_error(hl__endpoint *e, int result)
{
    switch (result) {
    case HL_E_CONNECT_TIMEOUT: case HL_E_REQUEST_TIMEOUT: case HL_E_HANDSHAKE_TIMEOUT: e->err_timeout++; break;
    case HL_E_TLS: case HL_E_TLS_CERT: e->err_tls++; break;
    case HL_E_HTTP_PROTOCOL: case HL_E_HEADER_TOO_BIG: case HL_E_MSG_TOO_BIG: e->err_protocol++; break;
    case HL_E_CIRCUIT_OPEN: case HL_E_RATE_LIMITED: e->err_refused++; break;
    default: e->err_network++; break;
    }
}

static void hl__hreq_free(hl__hreq *q)
{
    q->state = HL__HREQ_FREE;
    q->conn = -1;
}

/* The request is over: its callback runs once, with the response when c is given. */
static void hl__http_finish(hl_ctx *ctx, hl__hreq *q, hl__conn *c, int result, const char *detail, uint64_t now)
{
    hl_http_response r;
    HL_MEMSET(&r, 0, sizeof r);
    hl__fmt(q->detail, sizeof q->detail, "%s", detail ? detail : "");
    if (q->hold) {
        q->state = HL__HREQ_HELD; /* the caller reads it after hl_http_fetch returned */
        if (!c) q->conn = -1;
    }
    r.result = result;
    r.detail = q->detail;
    r.attempts = q->attempts;
    r.latency_ns = now - q->start_ns;
    r.request_id = q->id_text;
    r.request.id = q->id;
    r.user = q->user;
    if (c && result == HL_OK) {
        r.status = c->hp.status;
        r.headers = c->hdrs;
        r.header_count = c->hp.nhdrs;
        r.body = c->ws.rx + c->hp.body_start;
        r.body_len = c->hp.wr - c->hp.body_start;
    }
    hl__log(ctx, result == HL_OK ? HL_LOG_DEBUG : HL_LOG_WARN, 0, "http %s %s -> %d%s%s in %.1f ms, %u attempt(s), request %s",
            q->method, q->target, r.status, result == HL_OK ? "" : " ", result == HL_OK ? "" : r.detail,
            (double)r.latency_ns / 1e6, (unsigned)q->attempts, q->id_text);
    if (q->state != HL__HREQ_HELD) hl__hreq_free(q);
    ctx->events++;
    q->cb(ctx, &r);
}

/* An attempt ended without a usable response: retry it, or finish with the error. */
static void hl__http_attempt_failed(hl_ctx *ctx, hl__hreq *q, int result, const char *detail, int stale_pooled,
                                    uint64_t now)
{
    hl__endpoint *e = &ctx->endpoints[q->endpoint];
    uint32_t delay;
    q->state = HL__HREQ_QUEUED;
    q->conn = -1;
    hl__http_count_error(e, result);
    if (stale_pooled && !q->fresh_retry_used && q->idempotent) {
        /* the server closed the pooled connection while it sat idle: once, at once, fresh */
        q->fresh_retry_used = 1;
        q->attempts--;
        q->next_try_ns = now;
        ctx->http_kick = 1;
        return;
    }
    hl__breaker_record(&e->breaker, &ctx->cfg.http_breaker, now, 0);
    if (!q->idempotent || !hl_err_retryable(result, 0) || q->attempts > q->max_retries || now >= q->deadline_ns) {
        char why[200];
        hl__fmt(why, sizeof why, "%s%s", detail,
                !q->idempotent && hl_err_retryable(result, 0) ? " (not retried: the request is not idempotent)" : "");
        hl__http_finish(ctx, q, NULL, result, why, now);
        return;
    }
    delay = hl__backoff_delay(&ctx->cfg.http_backoff, q->attempts, hl__rand32(ctx));
    q->next_try_ns = now + (uint64_t)delay * HL__NS_PER_MS;
    e->retries++;
    hl__log(ctx, HL_LOG_INFO, 0, "http %s %s attempt %u failed (%s: %s); retrying in %u ms, request %s", q->method,
            q->target, (unsigned)q->attempts, hl_result_name(result), detail, (unsigned)delay, q->id_text);
}

/* The response on c is whole: retry (5xx, 408, 429 on an idempotent request with time left) or
   deliver it. */
static void hl__http_response_done(hl_ctx *ctx, hl__conn *c, hl__hreq *q, uint64_t now)
{
    hl__endpoint *e = &ctx->endpoints[q->endpoint];
    int status = c->hp.status;
    e->by_class[status / 100 <= 5 ? status / 100 : 0]++;
    e->bytes_in += c->hp.wr - c->hp.body_start;
    hl__http_latency(e, now - q->start_ns);
    hl__breaker_record(&e->breaker, &ctx->cfg.http_breaker, now, status < 500);
    if ((status >= 500 || status == 408 || status == 429) && q->idempotent && q->attempts <= q->max_retries) {
        uint64_t wait;
        int64_t ra = c->hp.retry_after ? hl__retry_after_ns(c->hp.retry_after, strlen(c->hp.retry_after),
                                                            ctx->cfg.wall_clock(ctx->cfg.user))
                                       : -1;
        wait = (uint64_t)hl__backoff_delay(&ctx->cfg.http_backoff, q->attempts, hl__rand32(ctx)) * HL__NS_PER_MS;
        if (ra > 0 && (uint64_t)ra > wait) wait = (uint64_t)ra;
        if (now < q->deadline_ns && wait < q->deadline_ns - now) {
            hl__log(ctx, HL_LOG_INFO, 0, "http %s %s -> %d, retrying in %u ms%s, request %s", q->method, q->target,
                    status, (unsigned)(wait / HL__NS_PER_MS), ra > 0 ? " (Retry-After)" : "", q->id_text);
            e->retries++;
            q->state = HL__HREQ_QUEUED;
            q->conn = -1;
            q->next_try_ns = now + wait;
            return;
        }
    }
    if (q->hold) c->held = 1;
    hl__http_finish(ctx, q, c, HL_OK, "", now);
}

/* Put c back into the pool, idle, or close it. */
static void hl__http_conn_idle(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    c->hreq = -1;
    c->got_bytes = 0;
    c->first_byte_by = 0;
    c->ws.fill = 0;
    c->served = 1;
    c->idle_until = now + (uint64_t)ctx->cfg.http_idle_timeout_ms * HL__NS_PER_MS;
    ctx->http_kick = 1;
}

/* Send q on c (connected). */
static void hl__http_send(hl_ctx *ctx, hl__conn *c, hl__hreq *q, uint64_t now)
{
    HL_MEMCPY(c->ws.tx, q->buf, q->len);
    c->ws.tx_head = 0;
    c->ws.tx_tail = q->len;
    c->ws.fill = 0;
    c->got_bytes = 0;
    c->idle_until = 0;
    hl__http_parser_init(&c->hp, c->hdrs, (int)ctx->cfg.http_max_headers, ctx->cfg.max_header_size,
                         ctx->cfg.max_message_size, q->head);
    c->first_byte_by = now + (uint64_t)q->first_byte_ms * HL__NS_PER_MS;
    ctx->endpoints[q->endpoint].bytes_out += q->len;
    if (!ctx->in_process) c->io_error = hl__conn_flush(c);
}

/* The transport of an HTTP connection is up (after TLS for https). */
static void hl__http_conn_ready(hl_ctx *ctx, hl__conn *c)
{
    uint64_t now = hl__now(ctx);
    c->deadline = 0;
    hl__set_state(ctx, c, HL_STATE_OPEN, HL_OK);
    if (c->hreq >= 0) hl__http_send(ctx, c, &ctx->hreqs[c->hreq], now);
    else hl__http_conn_idle(ctx, c, now);
}

/* The connection ended (failure, server close, idle timeout): its request, if any, learns why. */
static void hl__http_conn_end(hl_ctx *ctx, hl__conn *c)
{
    uint64_t now = hl__now(ctx);
    if (c->fd != HL_INVALID_SOCKET) {
        hl__net_close(c->tp, c->fd);
        c->fd = HL_INVALID_SOCKET;
    }
    if (c->hreq >= 0) {
        hl__hreq *q = &ctx->hreqs[c->hreq];
        int result = c->err.result ? c->err.result : HL_E_EOF;
        int stale = c->served && !c->got_bytes && (result == HL_E_EOF || result == HL_E_RESET || result == HL_E_IO);
        c->hreq = -1;
        hl__http_attempt_failed(ctx, q, result, c->err.result ? c->err.detail : "server closed the connection", stale, now);
    }
    c->state = HL_STATE_CLOSED;
    c->id = 0;
    ctx->http_kick = 1;
}

/* Fail the attempt on c and close c. */
static void hl__http_conn_fail(hl_ctx *ctx, hl__conn *c, int result, const char *fmt, const char *arg)
{
    hl__set_error(c, result, 0, fmt, arg);
    hl__http_conn_end(ctx, c);
}

/* One turn of an HTTP connection once its transport is up. */
static void hl__http_conn_step(hl_ctx *ctx, hl__conn *c, unsigned revents, uint64_t now)
{
    hl__hreq *q = c->hreq >= 0 ? &ctx->hreqs[c->hreq] : NULL;
    int eof = 0, i;
    c->wake = 0;
    if (c->held) return;
    if (c->io_error) {
        hl__io_fail(ctx, c, c->io_error, "send");
        return;
    }
    if (hl__wsp_tx_pending(&c->ws)) {
        int e = hl__conn_flush(c);
        if (e) {
            hl__io_fail(ctx, c, e, "send");
            return;
        }
    }
    if ((revents & (HL_POLLIN | HL_POLLERR)) || hl__conn_ready_now(c)) {
        for (i = 0; i < HL__READS_PER_PASS; i++) {
            int e = 0;
            long r;
            size_t room = c->ws.rx_cap - c->ws.fill;
            if (room == 0) break;
            r = hl__conn_recv(c, c->ws.rx + c->ws.fill, room, &e);
            if (r == HL__AGAIN) break;
            if (r == HL__TLS_FAIL_OR_NONE) e = HL__IO_TLS;
            if (r < 0) {
                hl__io_fail(ctx, c, e, "recv");
                return;
            }
            if (r == 0) {
                eof = 1;
                break;
            }
            c->ws.fill += (size_t)r;
            c->got_bytes = 1;
        }
        if (!q) {
            /* idle in the pool: the server closed it, or sent what nobody asked for */
            hl__http_conn_fail(ctx, c, eof ? HL_E_EOF : HL_E_HTTP_PROTOCOL, "%s",
                               eof ? "server closed the idle connection" : "bytes on an idle connection");
            return;
        }
        if (c->got_bytes || eof) {
            int rc = hl__http_parse(&c->hp, (char *)c->ws.rx, &c->ws.fill, eof);
            if (rc == 0) hl__http_compact(&c->hp, (char *)c->ws.rx, &c->ws.fill);
            if (rc < 0) {
                hl__http_conn_fail(ctx, c, rc, "%s", c->hp.detail);
                return;
            }
            if (rc == 1) {
                int reuse = !c->hp.close && !eof && c->hp.rd == c->ws.fill;
                c->hreq = -1;
                hl__http_response_done(ctx, c, q, now);
                if (c->held) {
                    c->served = 1;
                    c->keep_after_hold = reuse;
                    return;
                }
                if (reuse) {
                    hl__http_conn_idle(ctx, c, now);
                } else {
                    c->err.result = HL_OK;
                    hl__http_conn_end(ctx, c);
                    return;
                }
                q = NULL;
            }
        }
    }
    if (q) {
        if (now >= q->deadline_ns) {
            hl__http_conn_fail(ctx, c, HL_E_REQUEST_TIMEOUT, "no whole response within %s (timeout_ms)", "the total time");
            return;
        }
        if (!c->got_bytes && c->first_byte_by && now >= c->first_byte_by) {
            hl__http_conn_fail(ctx, c, HL_E_REQUEST_TIMEOUT, "no response byte within %s (first_byte_timeout_ms)",
                               "the time to first byte");
            return;
        }
        HL__SOONER(c->wake, q->deadline_ns);
        if (!c->got_bytes) HL__SOONER(c->wake, c->first_byte_by);
    } else if (c->idle_until) {
        if (now >= c->idle_until) {
            c->err.result = HL_OK;
            hl__http_conn_end(ctx, c);
            return;
        }
        HL__SOONER(c->wake, c->idle_until);
    }
}

/* Release responses hl_http_fetch kept: the caller has called into the library again. */
static void hl__http_release_held(hl_ctx *ctx)
{
    uint32_t i;
    for (i = 0; i < ctx->cfg.http_max_requests; i++) {
        hl__hreq *q = &ctx->hreqs[i];
        hl__conn *c;
        if (q->state != HL__HREQ_HELD) continue;
        c = q->conn >= 0 ? &ctx->conns[q->conn] : NULL;
        hl__hreq_free(q);
        if (!c || !c->held) continue;
        c->held = 0;
        if (c->keep_after_hold) {
            hl__http_conn_idle(ctx, c, hl__now(ctx));
        } else {
            c->err.result = HL_OK;
            hl__http_conn_end(ctx, c);
        }
    }
}

/* A connection for q: an idle pooled one of its origin, or a new one while the origin has fewer
   than http_max_per_origin (taking a free slot, or closing the longest-idle connection of
   another origin when none is free). NULL when it must wait. */
static hl__conn *hl__http_pick_conn(hl_ctx *ctx, hl__hreq *q, int *fresh)
{
    uint32_t i, n = 0;
    hl__conn *free_slot = NULL, *victim = NULL;
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        hl__conn *c = &ctx->conns[i];
        int idle;
        if (!c->id) {
            if (!free_slot) free_slot = c;
            continue;
        }
        if (c->kind != HL__KIND_HTTP) continue;
        idle = c->state == HL_STATE_OPEN && c->hreq < 0 && !c->held && !c->io_error;
        if (c->origin != q->origin) {
            if (idle && (!victim || c->idle_until < victim->idle_until)) victim = c;
            continue;
        }
        n++;
        if (idle) {
            *fresh = 0;
            return c;
        }
    }
    if (n >= ctx->cfg.http_max_per_origin) return NULL;
    if (!free_slot && victim) {
        victim->err.result = HL_OK;
        hl__http_conn_end(ctx, victim);
        free_slot = victim;
    }
    if (!free_slot) return NULL;
    *fresh = 1;
    return free_slot;
}

/* Try to start q's next attempt now. Returns when to look again (0: it started or ended). */
static uint64_t hl__http_dispatch(hl_ctx *ctx, hl__hreq *q, uint64_t now)
{
    hl__endpoint *e = &ctx->endpoints[q->endpoint];
    hl__origin *o = &ctx->origins[q->origin];
    uint64_t wait = 0;
    int fresh = 0;
    hl__conn *c = hl__http_pick_conn(ctx, q, &fresh);
    if (!c) return 0; /* a connection frees up: http_kick wakes us */
    if (!hl__breaker_allow(&e->breaker, &ctx->cfg.http_breaker, now, &wait)) {
        char why[120];
        hl__fmt(why, sizeof why, "circuit breaker of %s open; next probe in %u ms", e->path,
                (unsigned)(wait / HL__NS_PER_MS));
        e->err_refused++;
        hl__http_finish(ctx, q, NULL, HL_E_CIRCUIT_OPEN, why, now);
        return 0;
    }
    wait = hl__bucket_take(&o->weight, now, q->weight);
    if (wait) {
        e->breaker.probe_out = 0; /* not sent: the probe is still to come */
        if (ctx->cfg.http_rate_fail || wait == UINT64_MAX) {
            e->err_refused++;
            hl__http_finish(ctx, q, NULL, HL_E_RATE_LIMITED,
                            wait == UINT64_MAX ? "request weight above the whole per-minute budget"
                                               : "over http_weight_per_minute",
                            now);
            return 0;
        }
        return now + wait;
    }
    q->state = HL__HREQ_ACTIVE;
    q->attempts++;
    e->requests++;
    q->conn = (int32_t)(c - ctx->conns);
    if (!fresh) {
        c->hreq = (int32_t)(q - ctx->hreqs);
        hl__http_send(ctx, c, q, now);
        return 0;
    }
    hl__conn_claim(ctx, c);
    c->kind = HL__KIND_HTTP;
    c->origin = q->origin;
    c->hreq = (int32_t)(q - ctx->hreqs);
    c->url.scheme = o->scheme == HL_SCHEME_HTTPS ? HL_SCHEME_WSS : HL_SCHEME_WS;
    c->url.port = o->port;
    c->url.is_ipv6 = o->is_ipv6;
    HL_MEMCPY(c->url.host, o->host, strlen(o->host) + 1);
    c->tls = o->scheme == HL_SCHEME_HTTPS;
    c->npins = o->npins;
    if (o->npins) HL_MEMCPY(c->pins, o->pins, 32 * (size_t)o->npins);
    c->connect_ms = q->connect_ms;
    hl__conn_try_start(ctx, c, now);
    return 0;
}

/* Serve the queue in submit order; returns the next time something is due (0: none). */
static uint64_t hl__http_pump(hl_ctx *ctx, uint64_t now)
{
    uint64_t next = 0, last_seq = 0;
    ctx->http_kick = 0;
    for (;;) {
        hl__hreq *q = NULL;
        uint32_t i;
        /* the oldest queued request after last_seq */
        for (i = 0; i < ctx->cfg.http_max_requests; i++) {
            hl__hreq *r = &ctx->hreqs[i];
            if (r->state == HL__HREQ_QUEUED && r->seq > last_seq && (!q || r->seq < q->seq)) q = r;
        }
        if (!q) break;
        last_seq = q->seq;
        if (now >= q->deadline_ns) {
            hl__http_count_error(&ctx->endpoints[q->endpoint], HL_E_REQUEST_TIMEOUT);
            hl__http_finish(ctx, q, NULL, HL_E_REQUEST_TIMEOUT, "timed out waiting in the queue (timeout_ms)", now);
            continue;
        }
        HL__SOONER(next, q->deadline_ns);
        if (q->next_try_ns > now) {
            HL__SOONER(next, q->next_try_ns);
            continue;
        }
        HL__SOONER(next, hl__http_dispatch(ctx, q, now));
    }
    return next;
}

/* ---- the calls ---- */

HL_API int hl_http_request(hl_ctx *ctx, const hl_http_req *req, hl_http *out)
{
    hl__hreq *q = NULL;
    hl_url u;
    char why[160], tp[64];
    const char *method;
    unsigned char rnd[24];
    long len;
    uint32_t i, timeout;
    int32_t origin, ep;
    uint64_t now;
    if (!ctx || !req || !req->url || !req->on_response || !out) return HL_E_INVALID;
    out->id = 0;
    if (!ctx->in_process) hl__http_release_held(ctx);
    method = req->method ? req->method : "GET";
    if (!method[0] || strlen(method) >= sizeof q->method) return HL_E_INVALID;
    for (i = 0; method[i]; i++)
        if (!hl__is_tchar((unsigned char)method[i])) return HL_E_INVALID;
    if (hl_url_parse(req->url, &u, why, sizeof why) != HL_OK || (u.scheme != HL_SCHEME_HTTP && u.scheme != HL_SCHEME_HTTPS)) {
        hl__log(ctx, HL_LOG_ERROR, 0, "bad HTTP URL '%.80s': %s", req->url, why[0] ? why : "scheme must be http or https");
        return HL_E_BAD_URL;
    }
    if (u.scheme == HL_SCHEME_HTTPS && !HL_ENABLE_TLS) {
        hl__log(ctx, HL_LOG_ERROR, 0, "https:// needs a build with HL_ENABLE_TLS 1");
        return HL_E_UNSUPPORTED;
    }
#if HL_ENABLE_TLS
    if (u.scheme == HL_SCHEME_HTTPS) {
        int rc = hl__tls_anchors_ready(ctx, why, sizeof why);
        if (rc != HL_OK) {
            hl__log(ctx, HL_LOG_ERROR, 0, "%s", why);
            return rc;
        }
    }
#endif
    for (i = 0; i < ctx->cfg.http_max_requests; i++)
        if (ctx->hreqs[i].state == HL__HREQ_FREE) {
            q = &ctx->hreqs[i];
            break;
        }
    if (!q) {
        hl__log(ctx, HL_LOG_WARN, 0, "HTTP request queue full: raise http_max_requests (%u)",
                (unsigned)ctx->cfg.http_max_requests);
        return HL_E_QUEUE_FULL;
    }
    if (req->tls_pin_count < 0 || req->tls_pin_count > 4 || (req->tls_pin_count && !req->tls_pins)) return HL_E_INVALID;
#if HL_ENABLE_TLS
    if (u.scheme == HL_SCHEME_HTTPS && (u.is_ipv6 || hl__is_ipv4_literal(u.host)) && !req->tls_pin_count &&
        !ctx->cfg.tls_insecure) {
        hl__log(ctx, HL_LOG_ERROR, 0, "https://%s: an IP address cannot be verified by name; pin the key "
                                      "(tls_pins) or use a DNS name", u.host);
        return HL_E_TLS_CERT;
    }
#endif
    origin = hl__origin_of(ctx, &u);
    ep = origin >= 0 ? hl__endpoint_of(ctx, origin, u.target) : -1;
    if (ep < 0) {
        hl__log(ctx, HL_LOG_WARN, 0, "no room for another endpoint: raise http_max_endpoints (%u)",
                (unsigned)ctx->cfg.http_max_endpoints);
        return HL_E_POOL_EMPTY;
    }
    {
        /* the first request to an origin fixes its pins (or that it has none) */
        hl__origin *o = &ctx->origins[origin];
        size_t pl = 32 * (size_t)req->tls_pin_count;
        if (!o->pins_fixed) {
            if (pl) HL_MEMCPY(o->pins, req->tls_pins, pl);
            o->npins = req->tls_pin_count;
            o->pins_fixed = 1;
        } else if (o->npins != req->tls_pin_count || (pl && memcmp(o->pins, req->tls_pins, pl) != 0)) {
            hl__log(ctx, HL_LOG_ERROR, 0, "https://%s: a request with other pins than the origin's", u.host);
            return HL_E_INVALID;
        }
    }
    now = hl__now(ctx);
    if (ctx->endpoints[ep].breaker.state == HL_BREAKER_OPEN &&
        now - ctx->endpoints[ep].breaker.opened_at < (uint64_t)ctx->cfg.http_breaker.cooldown_ms * HL__NS_PER_MS) {
        ctx->endpoints[ep].err_refused++;
        return HL_E_CIRCUIT_OPEN; /* fail fast, before anything is queued */
    }
    hl__rng_bytes(&ctx->rng, rnd, sizeof rnd);
    hl__hex(q->id_text, rnd, 8);
    if (ctx->cfg.http_traceparent) {
        char trace[33], span[17];
        hl__hex(trace, rnd + 8, 16);
        hl__hex(span, rnd, 8);
        hl__fmt(tp, sizeof tp, "00-%s-%s-01", trace, span);
    }
    len = hl__http_render(q->buf, ctx->cfg.http_request_size, &u, req, method, q->id_text,
                          ctx->cfg.http_traceparent ? tp : NULL, why, sizeof why);
    if (len < 0) {
        hl__log(ctx, HL_LOG_ERROR, 0, "%s", why);
        return (int)len;
    }
    if ((size_t)len > ctx->cfg.send_queue_size) {
        hl__log(ctx, HL_LOG_ERROR, 0, "request of %ld bytes does not fit send_queue_size", len);
        return HL_E_MSG_TOO_BIG;
    }
    q->gen = (q->gen + 1) & 0xFFFFu;
    if (!q->gen) q->gen = 1;
    q->id = q->gen << 16 | (i + 1);
    q->state = HL__HREQ_QUEUED;
    q->seq = ++ctx->http_seq;
    q->origin = origin;
    q->endpoint = ep;
    q->conn = -1;
    q->len = (size_t)len;
    q->head = strcmp(method, "HEAD") == 0;
    q->idempotent = req->idempotent || hl__method_idempotent(method);
    q->max_retries = req->retries < 0 ? 0 : req->retries ? (uint32_t)req->retries : ctx->cfg.http_max_retries;
    q->attempts = 0;
    q->weight = req->weight ? req->weight : 1;
    timeout = req->timeout_ms ? req->timeout_ms
                              : req->cls == HL_HTTP_TRADING ? ctx->cfg.http_trading_timeout_ms : ctx->cfg.http_data_timeout_ms;
    q->connect_ms = req->connect_timeout_ms;
    q->first_byte_ms = req->first_byte_timeout_ms ? req->first_byte_timeout_ms : timeout;
    q->start_ns = now;
    q->deadline_ns = now + (uint64_t)timeout * HL__NS_PER_MS;
    q->next_try_ns = 0;
    q->fresh_retry_used = 0;
    q->hold = 0;
    q->cb = req->on_response;
    q->user = req->user;
    HL_MEMCPY(q->method, method, strlen(method) + 1);
    hl__fmt(q->target, sizeof q->target, "%s", u.target);
    ctx->http_kick = 1;
    out->id = q->id;
    return HL_OK;
}

typedef struct hl__fetch {
    int done;
    hl_http_response *out;
} hl__fetch;

static void hl__fetch_done(hl_ctx *ctx, const hl_http_response *r)
{
    hl__fetch *f = (hl__fetch *)r->user;
    (void)ctx;
    *f->out = *r;
    f->done = 1;
}

HL_API int hl_http_fetch(hl_ctx *ctx, const hl_http_req *req, hl_http_response *out)
{
    hl_http_req copy;
    hl_http h;
    hl__fetch f;
    hl__hreq *q;
    int rc;
    if (!ctx || !req || !out) return HL_E_INVALID;
    if (ctx->in_process) return HL_E_STATE;
    HL_MEMSET(out, 0, sizeof *out);
    copy = *req;
    f.done = 0;
    f.out = out;
    copy.on_response = hl__fetch_done;
    copy.user = &f;
    rc = hl_http_request(ctx, &copy, &h);
    if (rc != HL_OK) {
        out->result = rc;
        out->detail = hl_result_str(rc);
        return rc;
    }
    q = hl__hreq_get(ctx, h);
    q->hold = 1;
    while (!f.done) {
        rc = hl_poll(ctx, 1000);
        if (rc < 0 && rc != HL_E_STATE) {
            hl_http_cancel(ctx, h);
            break;
        }
    }
    out->user = req->user;
    return out->result;
}

HL_API int hl_http_cancel(hl_ctx *ctx, hl_http h)
{
    hl__hreq *q = hl__hreq_get(ctx, h);
    if (!q || q->state == HL__HREQ_HELD) return HL_E_BAD_HANDLE;
    if (q->state == HL__HREQ_ACTIVE && q->conn >= 0) {
        hl__conn *c = &ctx->conns[q->conn];
        c->hreq = -1; /* the connection's exchange cannot be finished: close it */
        c->err.result = HL_OK;
        hl__http_conn_end(ctx, c);
    }
    hl__http_finish(ctx, q, NULL, HL_E_CLOSED, "cancelled by hl_http_cancel", hl__now(ctx));
    return HL_OK;
}

HL_API const char *hl_http_header(const hl_http_response *r, const char *name)
{
    int i;
    size_t n;
    if (!r || !name || !r->headers) return NULL;
    n = strlen(name) + 1;
    for (i = 0; i < r->header_count; i++)
        if (hl__ieq(r->headers[i].name, name, n)) return r->headers[i].value;
    return NULL;
}
