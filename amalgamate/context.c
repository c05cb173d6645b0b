/* The context: what a connection slot and the context hold, the configuration and its defaults,
   carving the caller's block, events and logging. The driver files after this one (ws_conn,
   subs, liveness, poll, ws_api, stats_json) share these definitions; they are the only place
   that owns sockets. */

#define HL__MAX_ADDRS 8
#define HL__MAX_PINS 4
#define HL__MAX_VENUES 4
#define HL__SUB_JSON_MAX 256
#define HL__READS_PER_PASS 64 /* bounds one connection's turn so others are served too */

/* A subscription slot. Live subscriptions of a connection form a list in subscribe order. */
typedef struct hl__sub {
    uint32_t id;              /* 0 when free */
    uint32_t gen;
    int32_t conn;             /* index of its connection */
    int32_t next;             /* next of the same connection, -1 at the end */
    hl_sub_state state;
    int sent;                 /* its subscribe message went out on the current connection */
    int unsub_pending;        /* removed; the unsubscribe message has still to go out */
    uint64_t canon;           /* hash of the canonical form (duplicates, acks) */
    uint64_t route;           /* hash of the route key */
    char json[HL__SUB_JSON_MAX];
    size_t json_len;
    hl_msg_fn on_message;
    void *user;
    uint32_t queue_len;
    hl_overflow overflow;
    uint32_t stale_after_ms;
    int32_t q_head, q_tail;   /* queued slots, oldest first */
    uint64_t active_since;    /* when it became active (staleness counts from there) */
    uint64_t gap_from;        /* when its connection dropped; 0 before the first drop */
    int stale_reported;
    hl_sub_stats st;
} hl__sub;

/* A queue slot: header here, its bytes at data + index * queue_slot_size. */
typedef struct hl__qslot {
    int32_t next;
    uint32_t len;
    int is_snapshot;         /* bit 0 is_snapshot, bit 1 after_gap */
    uint64_t recv_ns;
} hl__qslot;

/* Limits shared by every connection to one venue (one profile). */
typedef struct hl__venue {
    const hl_profile *profile;
    hl__bucket msgs;
    uint32_t subs;
    uint32_t max_subs;
} hl__venue;

typedef struct hl__conn {
    uint32_t id;            /* 0 when the slot is free */
    uint32_t gen;
    hl_state state;
    hl_socket fd;
    const hl_transport *tp; /* config.transport: NULL for the OS sockets */
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
    /* staying up */
    int reconnect;
    hl_backoff backoff;
    hl_breaker_config bcfg;
    hl__breaker breaker;
    uint32_t attempt;        /* failed attempts since the last healthy connection */
    uint64_t retry_after_ns; /* the server's Retry-After on a refused upgrade */
    uint64_t healthy_at;     /* OPEN until then counts as healthy; 0 once it did */
    const hl_profile *profile;
    int venue;               /* index into ctx->venues, -1 without a profile */
    uint32_t ping_ms, pong_timeout_ms, app_ping_ms, silence_ms;
    uint64_t next_ping, ping_sent_at, app_ping_sent_at, last_rx, last_tx;
    int32_t sub_first, sub_last;
    int held_by_queue;       /* a BACKPRESSURE queue is full: stop reading */
    int kick;                /* run it at the next hl_process even without readiness */
    int batch_events;
    int in_batch;
    uint64_t wake;           /* the next timer of this connection (0: none), set by its turn */
    /* an HTTP connection (kind HL__KIND_HTTP) of the client's pool */
    int kind;
    int32_t hreq;            /* the request on it, -1 when idle */
    int32_t origin;
    hl__http_parser hp;
    hl_header *hdrs;         /* http_max_headers views into the receive buffer */
    uint64_t idle_until;     /* idle in the pool: closed at this time */
    uint64_t first_byte_by;  /* the request's time to first byte runs out */
    int got_bytes;           /* some of the response has arrived */
    int served;              /* it has carried a response before (a pooled reuse) */
    int held;                /* its last response is kept for hl_http_fetch */
    int keep_after_hold;     /* ... and it may go back to the pool afterwards */
    uint32_t connect_ms;     /* this connection's connect timeout (0: config) */
} hl__conn;

#define HL__KIND_WS 0
#define HL__KIND_HTTP 1

struct hl_ctx {
    hl_config cfg;
    hl__rng rng;
    hl__conn *conns;
    hl_pollfd *pfds;
    struct pollfd *sys_pfds;
    hl__sub *subs;
    int32_t *routes;         /* open addressing on route hash: sub index, -1 empty, -2 deleted */
    uint32_t route_cap;      /* a power of two */
    uint32_t route_deleted;
    hl__qslot *qslots;
    unsigned char *qdata;
    int32_t qfree;
    jsmntok_t *toks;
    const unsigned char *tok_msg; /* the message toks hold, if any */
    int tok_n;
    hl__venue venues[HL__MAX_VENUES];
    hl__bucket connects;
    hl__hreq *hreqs;
    hl__endpoint *endpoints;
    hl__origin *origins;
    uint64_t http_seq;
    int http_kick;           /* the request queue has work now */
    uint64_t http_wake;      /* the queue's next timer */
    int in_process;          /* callbacks are running: hl_poll may not be re-entered */
    int events;              /* delivered in the current hl_process */
    hl_ctx_stats stats;
#if HL_ENABLE_TLS
    hl__anchors anchors;
#endif
};

/* Across the driver files. */
static int hl__conn_flush(hl__conn *c);
static void hl__conn_fail(hl_ctx *ctx, hl__conn *c, int result, int sys_errno, const char *fmt, ...);
static int hl__subs_on_text(hl_ctx *ctx, hl__conn *c, const unsigned char *p, size_t n);
static void hl__subs_connection_open(hl__conn *c);
static void hl__subs_connection_lost(hl_ctx *ctx, hl__conn *c, uint64_t now);
static void hl__subs_free_all(hl_ctx *ctx, hl__conn *c);
static void hl__live_open(hl_ctx *ctx, hl__conn *c, uint64_t now);
static void hl__live_healthy(hl__conn *c, uint64_t now);
static int hl__live_pong(hl_ctx *ctx, hl__conn *c, const unsigned char *p, size_t n, uint64_t *rtt);
static void hl__live_app_pong(hl_ctx *ctx, hl__conn *c);
static void hl__http_conn_ready(hl_ctx *ctx, hl__conn *c);
static void hl__http_conn_end(hl_ctx *ctx, hl__conn *c);
static int hl__conn_ready_now(const hl__conn *c);

/* next = the earlier of next and t, where 0 means "none". */
#define HL__SOONER(next, t) do { if ((t) && (!(next) || (t) < (next))) (next) = (t); } while (0)

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
    HL__DEF(wall_clock, hl__wall_clock_default);
    HL__DEF(connects_per_minute, 30);
    HL__DEF(max_subscriptions, 64);
    HL__DEF(queue_slots, 64);
    HL__DEF(queue_slot_size, 4096);
    HL__DEF(json_max_tokens, 2048);
    HL__DEF(http_max_requests, 16);
    HL__DEF(http_request_size, 16u << 10);
    HL__DEF(http_max_per_origin, 2);
    HL__DEF(http_idle_timeout_ms, 30000);
    HL__DEF(http_max_endpoints, 16);
    HL__DEF(http_max_headers, 32);
    HL__DEF(http_data_timeout_ms, 30000);
    HL__DEF(http_trading_timeout_ms, 10000);
    HL__DEF(http_max_retries, 2);
    HL__DEF(http_backoff.initial_ms, 200);
    HL__DEF(http_backoff.max_ms, 5000);
    hl__backoff_resolve(&out->http_backoff, &out->http_backoff);
    hl__breaker_config_resolve(&out->http_breaker, &out->http_breaker);
    if (out->http_max_requests > 0xFFFF) out->http_max_requests = 0xFFFF;
    if (out->max_connections > 0xFFFF) out->max_connections = 0xFFFF;
    if (out->max_subscriptions > 0xFFFF) out->max_subscriptions = 0xFFFF;
    if (out->read_chunk_size < 1024) out->read_chunk_size = 1024;
    if (out->max_header_size < 256) out->max_header_size = 256;
    if (out->send_queue_size < 2 * HL__TX_CTRL_RESERVE) out->send_queue_size = 2 * HL__TX_CTRL_RESERVE;
#if HL_ENABLE_TLS
    HL__DEF(tls_output_buffer_size, 4181);
    out->tls_output_buffer_size = HL__MAX(out->tls_output_buffer_size, (uint32_t)HL__TLS_MIN_OBUF);
    out->tls_output_buffer_size = HL__MIN(out->tls_output_buffer_size, (uint32_t)HL__TLS_MAX_OBUF);
    if (!out->tls_anchors) HL__DEF(tls_anchor_space, 128u << 10);
#endif
#undef HL__DEF
}

/* Receive buffer: a whole message (or an HTTP response's head and body) plus a read chunk. */
static size_t hl__rx_cap(const hl_config *c)
{
    return (size_t)c->max_message_size + c->max_header_size + c->read_chunk_size;
}

static uint32_t hl__route_cap(const hl_config *c)
{
    uint32_t n = 8;
    while (n < 2 * c->max_subscriptions) n *= 2;
    return n;
}

/* Carve everything from the arena; with a counting arena this is hl_ctx_size. */
static hl_ctx *hl__ctx_carve(hl__arena *a, const hl_config *cfg)
{
    hl_ctx *ctx = (hl_ctx *)hl__arena_alloc(a, sizeof(hl_ctx));
    hl__conn *conns = (hl__conn *)hl__arena_alloc(a, sizeof(hl__conn) * cfg->max_connections);
    hl_pollfd *pfds = (hl_pollfd *)hl__arena_alloc(a, sizeof(hl_pollfd) * cfg->max_connections);
    struct pollfd *spfds = (struct pollfd *)hl__arena_alloc(a, sizeof(struct pollfd) * cfg->max_connections);
    hl__sub *subs = (hl__sub *)hl__arena_alloc(a, sizeof(hl__sub) * cfg->max_subscriptions);
    int32_t *routes = (int32_t *)hl__arena_alloc(a, sizeof(int32_t) * hl__route_cap(cfg));
    hl__qslot *qslots = (hl__qslot *)hl__arena_alloc(a, sizeof(hl__qslot) * cfg->queue_slots);
    unsigned char *qdata = (unsigned char *)hl__arena_alloc(a, (size_t)cfg->queue_slots * cfg->queue_slot_size);
    jsmntok_t *toks = (jsmntok_t *)hl__arena_alloc(a, sizeof(jsmntok_t) * cfg->json_max_tokens);
    hl__hreq *hreqs = (hl__hreq *)hl__arena_alloc(a, sizeof(hl__hreq) * cfg->http_max_requests);
    hl__endpoint *eps = (hl__endpoint *)hl__arena_alloc(a, sizeof(hl__endpoint) * cfg->http_max_endpoints);
    hl__origin *origins = (hl__origin *)hl__arena_alloc(a, sizeof(hl__origin) * cfg->http_max_endpoints);
    uint32_t i;
#if HL_ENABLE_TLS
    unsigned char *anchors = cfg->tls_anchor_space ? (unsigned char *)hl__arena_alloc(a, cfg->tls_anchor_space) : NULL;
#endif
    if (ctx) {
        HL_MEMSET(ctx, 0, sizeof *ctx);
        ctx->conns = conns;
        ctx->pfds = pfds;
        ctx->sys_pfds = spfds;
        ctx->subs = subs;
        ctx->routes = routes;
        ctx->route_cap = hl__route_cap(cfg);
        ctx->qslots = qslots;
        ctx->qdata = qdata;
        ctx->toks = toks;
        ctx->hreqs = hreqs;
        ctx->endpoints = eps;
        ctx->origins = origins;
#if HL_ENABLE_TLS
        ctx->anchors.base = anchors;
        ctx->anchors.cap = anchors ? cfg->tls_anchor_space : 0;
#endif
    }
    for (i = 0; i < cfg->http_max_requests; i++) {
        char *rb = (char *)hl__arena_alloc(a, cfg->http_request_size);
        if (hreqs) {
            HL_MEMSET(&hreqs[i], 0, sizeof hreqs[i]);
            hreqs[i].buf = rb;
        }
    }
    for (i = 0; i < cfg->max_connections; i++) {
        unsigned char *rx = (unsigned char *)hl__arena_alloc(a, hl__rx_cap(cfg));
        unsigned char *tx = (unsigned char *)hl__arena_alloc(a, cfg->send_queue_size);
        hl_header *hdrs = (hl_header *)hl__arena_alloc(a, sizeof(hl_header) * cfg->http_max_headers);
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
            c->tp = cfg->transport;
            c->ws.rx = rx;
            c->ws.rx_cap = hl__rx_cap(cfg);
            c->ws.compact_below = cfg->read_chunk_size;
            c->ws.max_msg = cfg->max_message_size;
            c->ws.tx = tx;
            c->ws.tx_cap = cfg->send_queue_size;
            c->ws.rng = &ctx->rng;
            c->hdrs = hdrs;
#if HL_ENABLE_TLS
            c->t = t;
#endif
        }
    }
    if (!ctx || !conns || !pfds || !spfds || !subs || !routes || !qslots || !qdata || !toks || !hreqs || !eps ||
        !origins)
        return NULL;
    HL_MEMSET(eps, 0, sizeof(hl__endpoint) * cfg->http_max_endpoints);
    HL_MEMSET(origins, 0, sizeof(hl__origin) * cfg->http_max_endpoints);
    HL_MEMSET(subs, 0, sizeof(hl__sub) * cfg->max_subscriptions);
    for (i = 0; i < ctx->route_cap; i++) routes[i] = -1;
    for (i = 0; i < cfg->queue_slots; i++) qslots[i].next = i + 1 < cfg->queue_slots ? (int32_t)i + 1 : -1;
    ctx->qfree = cfg->queue_slots ? 0 : -1;
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

static uint64_t hl__now(hl_ctx *ctx)
{
    return ctx->cfg.clock(ctx->cfg.user);
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
    hl__bucket_init(&ctx->connects, cfg.connects_per_minute == HL_UNLIMITED ? 0 : cfg.connects_per_minute,
                    cfg.connects_per_minute, hl__now(ctx));
    if (hl__sys_startup() != HL_OK) return HL_E_IO;
    *out = ctx;
    return HL_OK;
}

HL_API const hl_config *hl_ctx_config(const hl_ctx *ctx)
{
    return &ctx->cfg;
}

static uint32_t hl__rand32(hl_ctx *ctx)
{
    unsigned char b[4];
    hl__rng_bytes(&ctx->rng, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The venue of a profile, made on first use; -1 when all are taken (limits then apply per
   connection only: logged). */
static int hl__venue_of(hl_ctx *ctx, const hl_profile *p)
{
    int i;
    for (i = 0; i < HL__MAX_VENUES; i++)
        if (ctx->venues[i].profile == p) return i;
    for (i = 0; i < HL__MAX_VENUES; i++)
        if (!ctx->venues[i].profile) {
            hl__venue *v = &ctx->venues[i];
            uint32_t rate = ctx->cfg.ws_msgs_per_minute ? ctx->cfg.ws_msgs_per_minute : p->msgs_per_minute;
            if (rate == HL_UNLIMITED) rate = 0;
            v->profile = p;
            hl__bucket_init(&v->msgs, rate, rate, hl__now(ctx));
            v->max_subs = ctx->cfg.max_subscriptions_venue ? ctx->cfg.max_subscriptions_venue : p->max_subscriptions;
            if (v->max_subs == HL_UNLIMITED) v->max_subs = 0;
            return i;
        }
    return -1;
}

/* Take an outbound message token of the connection's venue: 0, or ns to wait. */
static uint64_t hl__venue_take(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    if (c->venue < 0) return 0;
    return hl__bucket_take(&ctx->venues[c->venue].msgs, now, 1);
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

#if HL_ENABLE_TLS
/* A host written as an IPv4 address: no certificate name can vouch for it. */
static int hl__is_ipv4_literal(const char *h)
{
    for (; *h; h++)
        if (!((*h >= '0' && *h <= '9') || *h == '.')) return 0;
    return 1;
}
#endif

static hl_ws hl__conn_handle(const hl__conn *c)
{
    hl_ws h;
    h.id = c->id;
    return h;
}

/* Take the free slot c for a new connection: a fresh handle and a clean state. The caller sets
   what kind of connection it is. */
static void hl__conn_claim(hl_ctx *ctx, hl__conn *c)
{
    uint32_t gen = (c->gen + 1) & 0xFFFFu;
    c->gen = gen ? gen : 1;
    c->id = c->gen << 16 | (uint32_t)(c - ctx->conns + 1);
    c->state = HL_STATE_IDLE;
    c->fd = HL_INVALID_SOCKET;
    c->deadline = c->wake = 0;
    c->subprotocols[0] = c->protocol[0] = '\0';
    c->headers = NULL;
    c->on_event = NULL;
    c->user = NULL;
    c->naddrs = c->addr_i = 0;
    c->stop = c->io_error = 0;
    c->close_origin = (hl_close_origin)0;
    HL_MEMSET(&c->err, 0, sizeof c->err);
    hl__wsp_reset(&c->ws);
    HL_MEMSET(&c->ws.stats, 0, sizeof c->ws.stats);
    c->tls = 0;
    c->npins = 0;
    c->reconnect = 0;
    HL_MEMSET(&c->backoff, 0, sizeof c->backoff);
    HL_MEMSET(&c->bcfg, 0, sizeof c->bcfg);
    hl__backoff_resolve(&c->backoff, &c->backoff);
    hl__breaker_config_resolve(&c->bcfg, &c->bcfg);
    HL_MEMSET(&c->breaker, 0, sizeof c->breaker);
    c->attempt = 0;
    c->retry_after_ns = c->healthy_at = 0;
    c->profile = NULL;
    c->venue = -1;
    c->ping_ms = c->pong_timeout_ms = c->app_ping_ms = c->silence_ms = 0;
    c->ping_sent_at = c->app_ping_sent_at = 0;
    c->sub_first = c->sub_last = -1;
    c->held_by_queue = c->kick = c->batch_events = c->in_batch = 0;
    c->kind = HL__KIND_WS;
    c->hreq = c->origin = -1;
    c->idle_until = c->first_byte_by = 0;
    c->got_bytes = c->served = c->held = c->keep_after_hold = 0;
    c->connect_ms = 0;
}


/* The current attempt is over: the slot was freed, or it waits to reconnect. */
static int hl__gone(const hl__conn *c)
{
    return c->id == 0 || c->state == HL_STATE_BACKOFF || c->state == HL_STATE_CLOSED;
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

/* ---- events ---- */

static void hl__emit(hl_ctx *ctx, hl__conn *c, hl_event *ev)
{
    ev->ws.id = c->id;
    ev->user = c->user;
    if (!ev->detail) ev->detail = "";
    if (!ev->reason) ev->reason = "";
    if (!ev->protocol) ev->protocol = "";
    if (!c->on_event) return; /* the HTTP pool's connections report through their requests */
    ctx->events++;
    c->on_event(ctx, ev);
}

static void hl__event_init(hl_event *ev, hl_event_type type)
{
    HL_MEMSET(ev, 0, sizeof *ev);
    ev->type = type;
}

static void hl__set_state_ex(hl_ctx *ctx, hl__conn *c, hl_state s, int result, uint32_t delay_ms)
{
    hl_event ev;
    if (c->state == s) return;
    hl__event_init(&ev, HL_EV_STATE);
    ev.prev_state = c->state;
    ev.state = s;
    ev.result = result;
    ev.detail = result ? c->err.detail : "";
    ev.delay_ms = delay_ms;
    ev.attempt = c->attempt;
    c->state = s;
    hl__log(ctx, HL_LOG_DEBUG, c->id, "state %s -> %s%s%s", hl_state_str(ev.prev_state),
            hl_state_str(s), result ? ": " : "", result ? c->err.detail : "");
    hl__emit(ctx, c, &ev);
}

static void hl__set_state(hl_ctx *ctx, hl__conn *c, hl_state s, int result)
{
    hl__set_state_ex(ctx, c, s, result, 0);
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
    hl__event_init(&ev, HL_EV_ERROR);
    ev.result = c->err.result;
    ev.detail = c->err.detail;
    ev.http_status = c->err.http_status;
    ev.data = data;
    ev.len = len;
    hl__log(ctx, HL_LOG_WARN, c->id, "%s: %s", hl_result_name(c->err.result), c->err.detail);
    hl__emit(ctx, c, &ev);
}

#if HL_ENABLE_TLS
/* Trust anchors are parsed on the first wss:// or https:// use (reading a bundle takes tens of
   milliseconds). */
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
