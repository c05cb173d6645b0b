/* The driver: the context, connection slots and their lifecycle, and hl_poll. The only place
   that owns sockets and calls into sys; the protocol machines below it never see them. */

#define HL__MAX_ADDRS 8
#define HL__MAX_PINS 4
#define HL__READS_PER_PASS 64 /* bounds one connection's turn so others are served too */

typedef struct hl__conn {
    uint32_t id;            /* 0 when the slot is free */
    uint32_t gen;
    hl_state state;
    hl_socket fd;
    uint64_t deadline;      /* ns on the context clock; 0 when none */
    hl_url url;
    char subprotocols[256];
    char protocol[128];     /* chosen by the server */
    hl_headers_fn headers;
    void *headers_user;
    hl_event_fn on_event;
    void *user;
    hl_addr addrs[HL__MAX_ADDRS];
    int naddrs, addr_i;
    char key[25];           /* Sec-WebSocket-Key */
    int stop;               /* deliver nothing more: 1 hl_ws_abort, 2 hl_ws_close before open */
    int io_error;           /* a send error found outside hl_process (errno), handled inside it */
    hl_close_origin close_origin;
    hl_error_info err;
    hl__wsp ws;
    int tls;                /* wss:// */
    unsigned char pins[32 * HL__MAX_PINS];
    int npins;
#if HL_ENABLE_TLS
    hl__tls *t;
#endif
} hl__conn;

struct hl_ctx {
    hl_config cfg;
    hl__rng rng;
    hl__conn *conns;
    hl_pollfd *pfds;
    struct pollfd *sys_pfds;
    int in_process;         /* callbacks are running: hl_poll may not be re-entered */
    int events;             /* delivered in the current hl_process */
    hl_ctx_stats stats;
#if HL_ENABLE_TLS
    hl__anchors anchors;
#endif
};

HL_API void hl_config_resolve(const hl_config *in, hl_config *out)
{
    if (in) *out = *in;
    else HL_MEMSET(out, 0, sizeof *out);
#define HL__DEF(f, v) if (!out->f) out->f = (v)
    HL__DEF(max_connections, 4);
    HL__DEF(max_message_size, 1u << 20);
    HL__DEF(read_chunk_size, 16u << 10);
    HL__DEF(send_queue_size, 256u << 10);
    HL__DEF(max_header_size, 8u << 10);
    HL__DEF(connect_timeout_ms, 10000);
    HL__DEF(handshake_timeout_ms, 10000);
    HL__DEF(close_timeout_ms, 5000);
    HL__DEF(log_level, HL_LOG_INFO);
    HL__DEF(clock, hl__clock_default);
    HL__DEF(entropy, hl__entropy_default);
    HL__DEF(resolve, hl__sys_resolve);
    if (out->read_chunk_size < 1024) out->read_chunk_size = 1024;
    if (out->max_header_size < 256) out->max_header_size = 256;
    if (out->send_queue_size < 2 * HL__TX_CTRL_RESERVE) out->send_queue_size = 2 * HL__TX_CTRL_RESERVE;
    if (!out->wall_clock) out->wall_clock = hl__wall_clock_default;
#if HL_ENABLE_TLS
    HL__DEF(tls_output_buffer_size, 4181);
    out->tls_output_buffer_size = HL__MAX(out->tls_output_buffer_size, (uint32_t)HL__TLS_MIN_OBUF);
    out->tls_output_buffer_size = HL__MIN(out->tls_output_buffer_size, (uint32_t)HL__TLS_MAX_OBUF);
    if (!out->tls_anchors) HL__DEF(tls_anchor_space, 128u << 10);
#endif
#undef HL__DEF
}

/* Receive buffer: one whole message plus a read chunk, and never less than the headers. */
static size_t hl__rx_cap(const hl_config *c)
{
    return HL__MAX((size_t)c->max_message_size, (size_t)c->max_header_size) + c->read_chunk_size;
}

/* Carve everything from the arena; with a counting arena this is hl_ctx_size. */
static hl_ctx *hl__ctx_carve(hl__arena *a, const hl_config *cfg)
{
    hl_ctx *ctx = (hl_ctx *)hl__arena_alloc(a, sizeof(hl_ctx));
    hl__conn *conns = (hl__conn *)hl__arena_alloc(a, sizeof(hl__conn) * cfg->max_connections);
    hl_pollfd *pfds = (hl_pollfd *)hl__arena_alloc(a, sizeof(hl_pollfd) * cfg->max_connections);
    struct pollfd *spfds = (struct pollfd *)hl__arena_alloc(a, sizeof(struct pollfd) * cfg->max_connections);
    uint32_t i;
#if HL_ENABLE_TLS
    unsigned char *anchors = cfg->tls_anchor_space ? (unsigned char *)hl__arena_alloc(a, cfg->tls_anchor_space) : NULL;
#endif
    if (ctx) {
        HL_MEMSET(ctx, 0, sizeof *ctx);
        ctx->conns = conns;
        ctx->pfds = pfds;
        ctx->sys_pfds = spfds;
#if HL_ENABLE_TLS
        ctx->anchors.base = anchors;
        ctx->anchors.cap = anchors ? cfg->tls_anchor_space : 0;
#endif
    }
    for (i = 0; i < cfg->max_connections; i++) {
        unsigned char *rx = (unsigned char *)hl__arena_alloc(a, hl__rx_cap(cfg));
        unsigned char *tx = (unsigned char *)hl__arena_alloc(a, cfg->send_queue_size);
#if HL_ENABLE_TLS
        hl__tls *t = (hl__tls *)hl__arena_alloc(a, sizeof(hl__tls));
        unsigned char *ibuf = (unsigned char *)hl__arena_alloc(a, HL__TLS_IBUF);
        unsigned char *obuf = (unsigned char *)hl__arena_alloc(a, cfg->tls_output_buffer_size);
        if (t) {
            HL_MEMSET(t, 0, sizeof *t);
            t->ibuf = ibuf;
            t->obuf = obuf;
            t->olen = cfg->tls_output_buffer_size;
        }
#endif
        if (ctx && conns) {
            hl__conn *c = &conns[i];
            HL_MEMSET(c, 0, sizeof *c);
            c->fd = HL_INVALID_SOCKET;
            c->ws.rx = rx;
            c->ws.rx_cap = hl__rx_cap(cfg);
            c->ws.compact_below = cfg->read_chunk_size;
            c->ws.max_msg = cfg->max_message_size;
            c->ws.tx = tx;
            c->ws.tx_cap = cfg->send_queue_size;
            c->ws.rng = &ctx->rng;
#if HL_ENABLE_TLS
            c->t = t;
#endif
        }
    }
    if (!ctx || !conns || !pfds || !spfds) return NULL;
    return ctx;
}

HL_API size_t hl_ctx_size(const hl_config *config)
{
    hl_config cfg;
    hl__arena a;
    hl_config_resolve(config, &cfg);
    a.base = NULL;
    a.size = 0;
    a.used = 0;
    hl__ctx_carve(&a, &cfg);
    return a.used + HL__ALIGN - 1; /* the block may start unaligned */
}

static void hl__log(hl_ctx *ctx, hl_log_level level, uint32_t id, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    if (!ctx->cfg.log || level > ctx->cfg.log_level) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->cfg.log(ctx->cfg.user, level, id, msg);
}

HL_API int hl_ctx_init(hl_ctx **out, void *mem, size_t size, const hl_config *config)
{
    hl_config cfg;
    hl__arena a;
    hl_ctx *ctx;
    size_t skew;
    unsigned char seed[44];
    if (!out || !mem) return HL_E_INVALID;
    *out = NULL;
    hl_config_resolve(config, &cfg);
    if (size < hl_ctx_size(&cfg)) return HL_E_NO_MEMORY;
    skew = (size_t)(-(intptr_t)mem) & (HL__ALIGN - 1);
    a.base = (unsigned char *)mem + skew;
    a.size = size - skew;
    a.used = 0;
    ctx = hl__ctx_carve(&a, &cfg);
    if (!ctx) return HL_E_NO_MEMORY;
    ctx->cfg = cfg;
    if (cfg.entropy(cfg.user, seed, sizeof seed) != 0) return HL_E_IO;
    hl__rng_seed(&ctx->rng, seed);
    HL_MEMSET(seed, 0, sizeof seed);
    if (hl__sys_startup() != HL_OK) return HL_E_IO;
    *out = ctx;
    return HL_OK;
}

HL_API const hl_config *hl_ctx_config(const hl_ctx *ctx)
{
    return &ctx->cfg;
}

static uint64_t hl__now(hl_ctx *ctx)
{
    return ctx->cfg.clock(ctx->cfg.user);
}

static void hl__set_deadline(hl_ctx *ctx, hl__conn *c, uint32_t ms)
{
    c->deadline = hl__now(ctx) + (uint64_t)ms * HL__NS_PER_MS;
}

static hl__conn *hl__conn_get(hl_ctx *ctx, hl_ws ws)
{
    uint32_t idx = (ws.id & 0xFFFFu) - 1;
    if (!ctx || ws.id == 0 || idx >= ctx->cfg.max_connections) return NULL;
    if (ctx->conns[idx].id != ws.id) return NULL;
    return &ctx->conns[idx];
}

/* ---- events ---- */

static void hl__emit(hl_ctx *ctx, hl__conn *c, hl_event *ev)
{
    ev->ws.id = c->id;
    ev->user = c->user;
    if (!ev->detail) ev->detail = "";
    if (!ev->reason) ev->reason = "";
    if (!ev->protocol) ev->protocol = "";
    ctx->events++;
    c->on_event(ctx, ev);
}

static void hl__set_state(hl_ctx *ctx, hl__conn *c, hl_state s, int result)
{
    hl_event ev;
    if (c->state == s) return;
    HL_MEMSET(&ev, 0, sizeof ev);
    ev.type = HL_EV_STATE;
    ev.prev_state = c->state;
    ev.state = s;
    ev.result = result;
    ev.detail = result ? c->err.detail : "";
    c->state = s;
    hl__log(ctx, HL_LOG_DEBUG, c->id, "state %s -> %s%s%s", hl_state_str(ev.prev_state),
            hl_state_str(s), result ? ": " : "", result ? c->err.detail : "");
    hl__emit(ctx, c, &ev);
}

/* Record the reason a connection fails; the first reason wins. */
static void hl__set_error(hl__conn *c, int result, int sys_errno, const char *fmt, ...)
{
    va_list ap;
    if (c->err.result) return;
    c->err.result = result;
    c->err.sys_errno = sys_errno;
    va_start(ap, fmt);
    vsnprintf(c->err.detail, sizeof c->err.detail, fmt, ap);
    va_end(ap);
}

static void hl__emit_error(hl_ctx *ctx, hl__conn *c, const unsigned char *data, size_t len)
{
    hl_event ev;
    HL_MEMSET(&ev, 0, sizeof ev);
    ev.type = HL_EV_ERROR;
    ev.result = c->err.result;
    ev.detail = c->err.detail;
    ev.http_status = c->err.http_status;
    ev.data = data;
    ev.len = len;
    hl__log(ctx, HL_LOG_WARN, c->id, "%s: %s", hl_result_name(c->err.result), c->err.detail);
    hl__emit(ctx, c, &ev);
}

/* The end of a connection: socket closed, CLOSED and CLOSE events, slot freed. */
static void hl__conn_finish(hl_ctx *ctx, hl__conn *c)
{
    hl_event ev;
#if HL_ENABLE_TLS
    if (c->tls) {
        if (c->err.result) c->t->session_ok = 0; /* resume only after a clean end */
        else if (c->fd != HL_INVALID_SOCKET) hl__tls_close(c->t, c->fd);
    }
#endif
    if (c->fd != HL_INVALID_SOCKET) {
        hl__sys_close(c->fd);
        c->fd = HL_INVALID_SOCKET;
    }
    c->deadline = 0;
    hl__set_state(ctx, c, HL_STATE_CLOSED, c->err.result);
    HL_MEMSET(&ev, 0, sizeof ev);
    ev.type = HL_EV_CLOSE;
    ev.result = c->err.result;
    ev.detail = c->err.detail;
    ev.close_origin = c->close_origin;
    if (c->ws.close_recv) {
        ev.close_code = c->ws.recv_code;
        ev.reason = c->ws.recv_reason;
    } else {
        ev.close_code = c->ws.sent_code && c->ws.failed ? c->ws.sent_code : 1006;
    }
    c->err.close_code = ev.close_code;
    hl__emit(ctx, c, &ev);
    c->id = 0; /* the handle is dead from here on */
}

/* Fail now: error event, then the end, without a closing handshake. */
static void hl__conn_fail(hl_ctx *ctx, hl__conn *c, int result, int sys_errno, const char *fmt, ...)
{
    if (!c->err.result) {
        va_list ap;
        c->err.result = result;
        c->err.sys_errno = sys_errno;
        va_start(ap, fmt);
        vsnprintf(c->err.detail, sizeof c->err.detail, fmt, ap);
        va_end(ap);
        c->close_origin = HL_CLOSE_BY_ERROR;
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

/* ---- the protocol sink ---- */

typedef struct hl__sink_ctx {
    hl_ctx *ctx;
    hl__conn *c;
} hl__sink_ctx;

static void hl__on_message(void *user, int is_text, const unsigned char *p, size_t n)
{
    hl__sink_ctx *s = (hl__sink_ctx *)user;
    hl_event ev;
    HL_MEMSET(&ev, 0, sizeof ev);
    ev.type = HL_EV_MESSAGE;
    ev.data = p;
    ev.len = n;
    ev.is_text = is_text;
    hl__emit(s->ctx, s->c, &ev);
}

static void hl__on_pong(void *user, const unsigned char *p, size_t n)
{
    hl__sink_ctx *s = (hl__sink_ctx *)user;
    hl_event ev;
    HL_MEMSET(&ev, 0, sizeof ev);
    ev.type = HL_EV_PONG;
    ev.data = p;
    ev.len = n;
    hl__emit(s->ctx, s->c, &ev);
}

/* ---- the byte stream: plain TCP or TLS ---- */

/* Same conventions as hl__sys_recv/send, plus HL__TLS_FAIL when TLS is on. */
static long hl__conn_recv(hl__conn *c, unsigned char *p, size_t n, int *err)
{
#if HL_ENABLE_TLS
    if (c->tls) return hl__tls_recv(c->t, c->fd, p, n, err);
#endif
    return hl__sys_recv(c->fd, p, n, err);
}

static long hl__conn_send(hl__conn *c, const unsigned char *p, size_t n, int *err)
{
#if HL_ENABLE_TLS
    if (c->tls) return hl__tls_send(c->t, c->fd, p, n, err);
#endif
    return hl__sys_send(c->fd, p, n, err);
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
        int e = 0, r;
        c->fd = hl__sys_socket(a, &e);
        if (c->fd == HL_INVALID_SOCKET) {
            last_result = HL_E_CONNECT;
            last_errno = e;
            continue;
        }
        r = hl__sys_connect(c->fd, a, &e);
        if (r >= 0) {
            hl__set_deadline(ctx, c, ctx->cfg.connect_timeout_ms);
            hl__set_state(ctx, c, HL_STATE_CONNECTING, HL_OK);
            if (r == 0) hl__tcp_connected(ctx, c);
            return;
        }
        hl__sys_close(c->fd);
        c->fd = HL_INVALID_SOCKET;
        last_result = hl__connect_errno_result(e);
        last_errno = e;
    }
    if (last_result == HL_E_CONNECT_TIMEOUT && !last_errno) {
        hl__conn_fail(ctx, c, last_result, 0, "connect to %s:%u timed out after %u ms (connect_timeout_ms)",
                      c->url.host, (unsigned)c->url.port, (unsigned)ctx->cfg.connect_timeout_ms);
        return;
    }
    hl__sys_strerror(last_errno, why, sizeof why);
    hl__conn_fail(ctx, c, last_result, last_errno, "connect to %s:%u failed: %s", c->url.host,
                  (unsigned)c->url.port, why);
}

static void hl__resolve_and_connect(hl_ctx *ctx, hl__conn *c)
{
    int n;
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
static int hl__is_ipv4_literal(const char *h)
{
    for (; *h; h++)
        if (!((*h >= '0' && *h <= '9') || *h == '.')) return 0;
    return 1;
}

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
    hl__upgrade_start(ctx, c);
}
#endif

/* TCP is up: start TLS for wss://, else go straight to the upgrade. */
static void hl__tcp_connected(hl_ctx *ctx, hl__conn *c)
{
#if HL_ENABLE_TLS
    if (c->tls) {
        unsigned char seed[32];
        const char *name = (c->url.is_ipv6 || hl__is_ipv4_literal(c->url.host)) ? NULL : c->url.host;
        if (ctx->cfg.entropy(ctx->cfg.user, seed, sizeof seed) != 0) {
            hl__conn_fail(ctx, c, HL_E_TLS, 0, "entropy source failed");
            return;
        }
        if (ctx->cfg.tls_insecure)
            hl__log(ctx, HL_LOG_WARN, c->id, "tls_insecure is set: the certificate of %s is NOT verified",
                    c->url.host);
        if (hl__tls_start(c->t, &ctx->anchors, &ctx->cfg, name, c->url.port, c->pins, c->npins, seed,
                          ctx->cfg.wall_clock(ctx->cfg.user)) != HL_OK) {
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
    hl__upgrade_start(ctx, c);
}

/* The whole response head is in the receive buffer: check it and open, or report refusal. */
static void hl__upgrade_response(hl_ctx *ctx, hl__conn *c, int eof)
{
    hl__ws_response r;
    hl__wsp *p = &c->ws;
    char why[160];
    int h = hl__ws_response_parse((const char *)p->rx, p->fill, ctx->cfg.max_header_size, &r, why, sizeof why);
    if (h == 0) {
        if (eof) hl__conn_fail(ctx, c, HL_E_HANDSHAKE, 0, "server closed the connection during the handshake");
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
    c->deadline = 0;
    hl__set_state(ctx, c, HL_STATE_OPEN, HL_OK);
    {
        hl_event ev;
        HL_MEMSET(&ev, 0, sizeof ev);
        ev.type = HL_EV_OPEN;
        ev.protocol = c->protocol;
        hl__emit(ctx, c, &ev);
    }
}

/* ---- I/O ---- */

#if HL_ENABLE_TLS
#define HL__TLS_FAIL_OR_NONE HL__TLS_FAIL
#else
#define HL__TLS_FAIL_OR_NONE (-1001)
#endif
#define HL__IO_TLS (-77777) /* hl__conn_flush: the TLS engine failed */

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
        if (c->id == 0) return;
    }
    hl__conn_fail(ctx, c, HL_E_EOF, 0, "server closed TCP without a close frame");
}

/* Read and process until the socket would block (bounded per pass). */
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
    for (i = 0; i < HL__READS_PER_PASS && c->id && !c->stop; i++) {
        size_t room;
        unsigned char *dst = hl__wsp_rx_buf(&c->ws, &room);
        int e = 0;
        long r;
        if (room == 0) {
            /* Cannot happen with the buffer sized max message + chunk; guard anyway. */
            hl__conn_fail(ctx, c, HL_E_MSG_TOO_BIG, 0, "receive buffer full (max_message_size)");
            return;
        }
        r = hl__conn_recv(c, dst, room, &e);
        if (r == HL__AGAIN) return;
        if (r == HL__TLS_FAIL_OR_NONE) e = HL__IO_TLS;
        if (r < 0) {
            if (c->state == HL_STATE_CLOSING && (c->ws.close_recv || c->ws.failed)) {
                hl__conn_finish(ctx, c); /* a reset after the close exchange ends it all the same */
                return;
            }
            hl__io_fail(ctx, c, e, "recv");
            return;
        }
        if (r == 0) {
            hl__conn_eof(ctx, c);
            return;
        }
        if (c->ws.close_recv || c->ws.failed) continue; /* after close: read and discard */
        hl__wsp_rx_ack(&c->ws, (size_t)r);
        if (c->state == HL_STATE_UPGRADING) {
            hl__upgrade_response(ctx, c, 0);
            if (c->id == 0 || c->state != HL_STATE_OPEN) continue;
        }
        if (hl__wsp_recv(&c->ws, &sink, &c->stop) != HL_OK && !c->err.result) {
            c->err.result = c->ws.result;
            c->close_origin = HL_CLOSE_BY_ERROR;
            hl__fmt(c->err.detail, sizeof c->err.detail, "%s", c->ws.detail);
            hl__emit_error(ctx, c, NULL, 0);
        }
        if (c->id == 0 || c->stop) return;
        if (c->ws.close_recv || c->ws.failed) {
            if (c->ws.close_recv && !c->close_origin) c->close_origin = HL_CLOSE_BY_PEER;
            hl__conn_closing(ctx, c);
        }
        if (c->ws.close_sent && !c->ws.close_recv && !c->ws.failed) return; /* send our close first */
    }
}

/* One turn of a connection: readiness in revents, then due timers. */
static void hl__conn_step(hl_ctx *ctx, hl__conn *c, unsigned revents, uint64_t now)
{
    if (c->state == HL_STATE_IDLE) {
        hl__resolve_and_connect(ctx, c);
        return;
    }
    if (c->stop) {
        hl__set_error(c, HL_E_CLOSED, 0, c->stop == 2 ? "closed by hl_ws_close before the connection opened"
                                                      : "aborted by hl_ws_abort");
        hl__conn_finish(ctx, c);
        return;
    }
    if (c->state == HL_STATE_CONNECTING) {
        if (revents & (HL_POLLOUT | HL_POLLERR | HL_POLLIN)) {
            int e = hl__sys_connect_result(c->fd);
            if (e == 0) {
                hl__tcp_connected(ctx, c);
            } else {
                hl__sys_close(c->fd);
                c->fd = HL_INVALID_SOCKET;
                hl__connect_next(ctx, c, hl__connect_errno_result(e), e);
                return;
            }
        } else if (c->deadline && now >= c->deadline) {
            hl__sys_close(c->fd);
            c->fd = HL_INVALID_SOCKET;
            hl__connect_next(ctx, c, HL_E_CONNECT_TIMEOUT, 0);
            return;
        } else {
            return;
        }
        if (c->id == 0) return;
    }
#if HL_ENABLE_TLS
    if (c->state == HL_STATE_TLS_HANDSHAKE) {
        if (revents) hl__tls_step(ctx, c);
        if (c->id && c->state == HL_STATE_TLS_HANDSHAKE && c->deadline && now >= c->deadline)
            hl__conn_fail(ctx, c, HL_E_HANDSHAKE_TIMEOUT, 0, "TLS handshake not done within %u ms (handshake_timeout_ms)",
                          (unsigned)ctx->cfg.handshake_timeout_ms);
        if (c->id == 0 || c->state == HL_STATE_TLS_HANDSHAKE) return;
    }
#endif
    if (c->io_error) {
        hl__io_fail(ctx, c, c->io_error, "send");
        return;
    }
    if (revents & (HL_POLLIN | HL_POLLERR)) {
        hl__conn_read(ctx, c);
        if (c->id == 0) return;
    }
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
        } else if (c->state == HL_STATE_CLOSING) {
            if ((!c->ws.close_recv || !c->ws.close_sent) && !c->err.result) {
                hl__set_error(c, HL_E_CLOSE_TIMEOUT, 0, "closing handshake not finished within %u ms (close_timeout_ms)",
                              (unsigned)ctx->cfg.close_timeout_ms);
                hl__emit_error(ctx, c, NULL, 0);
            }
            hl__conn_finish(ctx, c);
        }
    }
}

/* ---- the poll loop ---- */

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
#if HL_ENABLE_TLS
            if (c->tls) want_out = (want_out && c->state != HL_STATE_TLS_HANDSHAKE) || hl__tls_wants_write(c->t);
#endif
            fds[n].fd = c->fd;
            fds[n].events = c->state == HL_STATE_CONNECTING ? HL_POLLOUT
                                                            : HL_POLLIN | (want_out ? HL_POLLOUT : 0u);
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
        if (c->state == HL_STATE_IDLE || c->stop || c->io_error) return 0;
        if (c->deadline && (!best || c->deadline < best)) best = c->deadline;
    }
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
        if (c->fd != HL_INVALID_SOCKET) hl__sys_close(c->fd);
        c->fd = HL_INVALID_SOCKET;
        c->id = 0;
    }
    hl__sys_cleanup();
}

/* ---- the WebSocket calls ---- */

#if HL_ENABLE_TLS
/* Trust anchors are parsed on the first wss:// connect (reading the bundle takes tens of ms). */
static int hl__tls_anchors_ready(hl_ctx *ctx, char *why, size_t cap)
{
    int rc;
    if (ctx->anchors.loaded || ctx->cfg.tls_insecure) return HL_OK;
    if (ctx->cfg.tls_anchors) {
        if (!ctx->cfg.tls_anchor_count) {
            hl__fmt(why, cap, "tls_anchors is set but tls_anchor_count is 0");
            return HL_E_INVALID;
        }
        ctx->anchors.base = (unsigned char *)(uintptr_t)ctx->cfg.tls_anchors; /* read only */
        ctx->anchors.cap = ctx->cfg.tls_anchor_count * sizeof(br_x509_trust_anchor);
        ctx->anchors.count = ctx->cfg.tls_anchor_count;
        ctx->anchors.loaded = 1;
        return HL_OK;
    }
    rc = hl__anchors_load(&ctx->anchors, &ctx->cfg, why, cap);
    if (rc == HL_OK)
        hl__log(ctx, HL_LOG_INFO, 0, "loaded %u trust anchors (%u bytes) from %s", (unsigned)ctx->anchors.count,
                (unsigned)ctx->anchors.bytes_used, ctx->anchors.source);
    return rc;
}
#endif

HL_API int hl_ctx_stats_get(hl_ctx *ctx, hl_ctx_stats *out)
{
    if (!ctx || !out) return HL_E_INVALID;
    *out = ctx->stats;
#if HL_ENABLE_TLS
    out->tls_anchors = (uint32_t)ctx->anchors.count;
    out->tls_anchor_bytes = ctx->cfg.tls_anchors ? 0 : ctx->anchors.bytes_used;
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
    c->gen = (c->gen + 1) & 0xFFFFu;
    if (!c->gen) c->gen = 1;
    c->id = c->gen << 16 | (i + 1);
    c->state = HL_STATE_IDLE;
    c->fd = HL_INVALID_SOCKET;
    c->deadline = 0;
    c->url = url;
    c->subprotocols[0] = '\0';
    if (desc->subprotocols) HL_MEMCPY(c->subprotocols, desc->subprotocols, strlen(desc->subprotocols) + 1);
    c->protocol[0] = '\0';
    c->headers = desc->headers;
    c->headers_user = desc->headers_user;
    c->on_event = desc->on_event;
    c->user = desc->user;
    c->naddrs = c->addr_i = 0;
    c->stop = 0;
    c->io_error = 0;
    c->close_origin = (hl_close_origin)0;
    c->tls = url.scheme == HL_SCHEME_WSS;
    c->npins = desc->tls_pin_count;
    if (c->npins) HL_MEMCPY(c->pins, desc->tls_pins, 32 * (size_t)c->npins);
    HL_MEMSET(&c->err, 0, sizeof c->err);
    hl__wsp_reset(&c->ws);
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

HL_API int hl_ws_send(hl_ctx *ctx, hl_ws ws, hl_msg_type type, const void *data, size_t len)
{
    int rc;
    hl__conn *c = hl__conn_open(ctx, ws, &rc);
    if (!c) return rc;
    if (!data && len) return HL_E_INVALID;
    return hl__after_queue(ctx, c, hl__wsp_send(&c->ws, (int)type, (const unsigned char *)data, len, 1, 0));
}

HL_API int hl_ws_send_fragment(hl_ctx *ctx, hl_ws ws, hl_msg_type type, const void *data,
                               size_t len, int final)
{
    int rc;
    hl__conn *c = hl__conn_open(ctx, ws, &rc);
    if (!c) return rc;
    if (!data && len) return HL_E_INVALID;
    return hl__after_queue(ctx, c, hl__wsp_send(&c->ws, (int)type, (const unsigned char *)data, len, final != 0, 1));
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
    *out = c->ws.stats;
    out->send_queue_bytes = hl__wsp_tx_used(&c->ws);
    return HL_OK;
}

HL_API int hl_ws_last_error(hl_ctx *ctx, hl_ws ws, hl_error_info *out)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    if (!c || !out) return c ? HL_E_INVALID : HL_E_BAD_HANDLE;
    *out = c->err;
    return HL_OK;
}
