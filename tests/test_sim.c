/* Deterministic simulation of "connections that stay up". The library runs against a fake
   Hyperliquid server living in this process, through an in-memory transport (config.transport),
   on a virtual clock; no socket, no real time. Each seed draws a configuration (backoff, breaker,
   heartbeats, timeouts) and a schedule of faults and user actions over virtual time; invariants
   are checked while it runs and after recovery and closing.

   The loop drives the library with hl_pollfds + hl_next_timeout + hl_process only: it computes the
   readiness of each handle itself (readable when the server has released bytes, writable unless
   a stall fault blocks it) and moves the clock to the next deadline or server event.

       SIM_SEEDS=N   run N seeds (default 1000)       SIM_FIRST=S  start at seed S (default 1)
       SIM_SEED=S    run seed S alone, printing its trace (the same trace a failure prints)
       SIM_LIST=1    print the first violation of each family for every failing seed

   One PASS/FAIL line per invariant family; a failure names the first failing seed and prints
   that seed's trace. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

#include <stdarg.h>

#define MS 1000000ull
#define SEC 1000000000ull
#define WALL0 1750000000 /* Unix time of virtual time 0 (Retry-After dates) */
#define T0 (1000 * SEC)  /* virtual time of a seed's start */

/* ---- invariant families ----------------------------------------------------------------------- */

enum { FAM_RESTORE, FAM_BACKOFF, FAM_BREAKER, FAM_POOLS, FAM_UNSUB, FAM_WIRE, NFAM };
static const char *const fam_name[NFAM] = {
    "sim_subscriptions_restored", "sim_backoff_within_bounds", "sim_breaker_transitions_legal",
    "sim_pools_return_to_initial", "sim_no_delivery_after_unsubscribe", "sim_wire_and_api",
};

#if defined(__GNUC__)
#define SIM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SIM_PRINTF(f, a)
#endif

static int g_trace;               /* print the seed's trace as it runs */
static int seed_bad[NFAM];        /* violations of the running seed */
static char seed_why[NFAM][400];  /* the first of each family */
static uint64_t g_now;            /* the virtual clock, ns */

static void trace(const char *fmt, ...) SIM_PRINTF(1, 2);
static void bad(int fam, const char *fmt, ...) SIM_PRINTF(2, 3);

static void trace(const char *fmt, ...)
{
    va_list ap;
    if (!g_trace) return;
    printf("  [%9.3f] ", (double)(g_now - T0) / 1e9);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static void bad(int fam, const char *fmt, ...)
{
    char m[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (!seed_bad[fam]) snprintf(seed_why[fam], sizeof seed_why[0], "t=%.3f s: %s", (double)(g_now - T0) / 1e9, m);
    if (seed_bad[fam]++ < 5) trace("VIOLATION %s: %s", fam_name[fam], m);
}

/* ---- randomness: splitmix64 streams ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint32_t pick(uint64_t *s, uint32_t n) { return n ? (uint32_t)(rng_next(s) % n) : 0; }
static uint32_t span(uint64_t *s, uint32_t lo, uint32_t hi) { return lo + pick(s, hi - lo + 1); }
static int chance(uint64_t *s, uint32_t pct) { return pick(s, 100) < pct; }

/* ---- the subscriptions the user plays with ------------------------------------------------------ */

/* {trades, l2Book} x {BTC, ETH, SOL}, and l2Book BTC with nSigFigs 5. That one shares the route
   "l2Book|BTC" with plain l2Book BTC (the data does not say which it is), so a message fans out
   to both, and a handler may unsubscribe the other one in the middle. */
#define NKIND 7
static const struct kind {
    const char *type, *coin, *label;
    int sig5;  /* nSigFigs 5 */
    int route; /* the kind whose data it receives */
} kinds[NKIND] = {
    {"trades", "BTC", "BTC", 0, 0}, {"trades", "ETH", "ETH", 0, 1}, {"trades", "SOL", "SOL", 0, 2},
    {"l2Book", "BTC", "BTC", 0, 3}, {"l2Book", "ETH", "ETH", 0, 4}, {"l2Book", "SOL", "SOL", 0, 5},
    {"l2Book", "BTC", "BTC nSigFigs 5", 1, 3},
};
#define KTYPE(k) kinds[k].type
#define KCOIN(k) kinds[k].label
#define IS_TRADES(k) (kinds[k].type[0] == 't')

/* The server's normalized echo of a subscription: keys sorted, l2Book defaults spelled out. */
static void ack_json(int k, char *out, size_t cap)
{
    if (IS_TRADES(k)) snprintf(out, cap, "{\"coin\":\"%s\",\"type\":\"trades\"}", kinds[k].coin);
    else snprintf(out, cap, "{\"coin\":\"%s\",\"mantissa\":null,\"nSigFigs\":%s,\"type\":\"l2Book\"}", kinds[k].coin,
                  kinds[k].sig5 ? "5" : "null");
}

/* The same, as it appears inside a JSON string (an error's text). */
static void ack_json_escaped(int k, char *out, size_t cap)
{
    char raw[128];
    size_t i, o = 0;
    ack_json(k, raw, sizeof raw);
    for (i = 0; raw[i] && o + 3 < cap; i++) {
        if (raw[i] == '"') out[o++] = '\\';
        out[o++] = raw[i];
    }
    out[o] = '\0';
}

/* The string value of "key" in a flat JSON object (spaces allowed), or 0. */
static int json_str(const char *obj, const char *key, char *out, size_t cap)
{
    char pat[32];
    const char *p;
    size_t n = 0;
    snprintf(pat, sizeof pat, "\"%s\"", key);
    if (!(p = strstr(obj, pat))) return 0;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p++ != ':') return 0;
    while (*p == ' ') p++;
    if (*p++ != '"') return 0;
    while (*p && *p != '"' && n + 1 < cap) out[n++] = *p++;
    out[n] = '\0';
    return *p == '"';
}

static int kind_of_sub(const char *obj)
{
    char t[32], c[32];
    int k, sig5 = strstr(obj, "\"nSigFigs\":5") || strstr(obj, "\"nSigFigs\" : 5");
    if (!json_str(obj, "type", t, sizeof t) || !json_str(obj, "coin", c, sizeof c)) return -1;
    for (k = 0; k < NKIND; k++)
        if (!strcmp(t, kinds[k].type) && !strcmp(c, kinds[k].coin) && sig5 == kinds[k].sig5) return k;
    return -1;
}

/* The route (kind) and sequence number (trades: tid, l2Book: time) of a feed message, or -1. */
static int feed_kind(const unsigned char *p, size_t n, uint64_t *seq)
{
    char t[1024];
    const char *co, *sq;
    int ty, ci;
    if (n >= sizeof t) return -1;
    memcpy(t, p, n);
    t[n] = '\0';
    if (!strncmp(t, "{\"channel\":\"trades\"", 19)) ty = 0;
    else if (!strncmp(t, "{\"channel\":\"l2Book\"", 19)) ty = 1;
    else return -1;
    if (!(co = strstr(t, "\"coin\":\""))) return -1;
    for (ci = 0; ci < 3; ci++)
        if (!strncmp(co + 8, kinds[ci].coin, 3) && co[11] == '"') break;
    if (ci == 3 || !(sq = strstr(t, ty == 0 ? "\"tid\":" : "\"time\":"))) return -1;
    *seq = strtoull(sq + (ty == 0 ? 6 : 7), NULL, 10);
    return ty * 3 + ci;
}

/* ---- the world -------------------------------------------------------------------------------- */

#define SC_MAX 4        /* server connections at once */
#define OUT_CAP 32768   /* server -> client bytes in flight */
#define IN_CAP 8192     /* client -> server bytes not parsed yet */
#define CH_MAX 512
#define JOB_MAX 64
#define SEV_MAX 24
#define AFQ_MAX 64
#define DEAD_MAX 256
#define CONN_LOG 128

enum { P_CONNECTING = 1, P_HANDSHAKE, P_OPEN, P_CLOSING, P_DEAD };

/* What the server does to one connection attempt. */
enum { A_NONE, A_REFUSE_NOW, A_REFUSE, A_HANG, A_503, A_429, A_HS_HANG, A_COUNT };
static const char *const afault_name[A_COUNT] = {
    "none", "connect refused at once", "connect refused", "connect never completes",
    "upgrade refused 503 (Retry-After)", "upgrade refused 429", "upgrade never answered",
};

/* Scheduled events: faults and user actions. */
enum {
    E_OUTAGE, E_EOF, E_RESET, E_SILENT, E_STALL, E_GARBAGE, E_CLOSE, E_SLOW, E_REJECT,
    E_SUB, E_UNSUB, E_RC_OFF, E_RC_ON, E_COUNT
};
static const char *const sev_name[E_COUNT] = {
    "outage (drop + failing attempts)", "server drops the connection (EOF)", "server resets the connection",
    "server goes silent (half-open)", "server stalls (half-open, sends block)", "server sends garbage",
    "server sends a close frame", "slow acks", "subscriptions rejected", "user subscribes",
    "user unsubscribes", "user switches reconnect off", "user switches reconnect on",
};
static const unsigned sev_weight[E_COUNT] = {14, 8, 6, 6, 4, 6, 7, 5, 5, 16, 11, 5, 5};

typedef struct chunk {
    uint64_t end, at; /* stream bytes up to end become readable at `at` */
    int kind;         /* 1: end of stream after them, 2: reset after them */
} chunk;

/* One server side of a transport handle. */
typedef struct sconn {
    int used;                 /* the client holds the handle */
    hl_socket h;
    int n;                    /* connection number, for the trace */
    int phase, afault;
    uint64_t ready_at;        /* the TCP connect completes (UINT64_MAX: never) */
    int connect_err;
    int silent, blocked, reset;
    unsigned subs, rejected;  /* kinds subscribed / rejected on this connection (bits) */
    unsigned pings, pongs;    /* server pings sent, and the last one the client answered */
    uint64_t job_at;          /* requests are answered in order */
    uint64_t last_at;         /* release times never go backwards: TCP is one byte stream */
    uint64_t wr, rd, rel;     /* stream positions: written, read by the client, released */
    int ended;                /* released end of stream: 1 EOF, 2 reset */
    unsigned ch_head, ch_tail;
    size_t in_len;
    chunk ch[CH_MAX];
    unsigned char in[IN_CAP];
    unsigned char out[OUT_CAP];
} sconn;

typedef struct job {
    uint64_t at;
    hl_socket h;
    int kind, unsub, reject;
} job;

typedef struct sev {
    uint64_t at;
    int what, arg;
} sev;

/* The user's view of one subscription kind. */
typedef struct msub {
    int wanted;            /* subscribed and not unsubscribed since */
    hl_sub h;              /* its handle on the current connection (0: none) */
    int pull;              /* 1: a queue the user pulls, 0: a handler */
    hl_overflow overflow;
    uint32_t queue_len, stale_ms;
    hl_sub_state st;       /* as HL_EV_SUB said */
    uint64_t seq;          /* last sequence number delivered: they only grow */
    uint64_t got;
    uint64_t active_at, last_at, gap_from;
} msub;

enum { OUT_FAIL = 1, OUT_NONE = 2, OUT_OK = 4 }; /* what the breaker may have recorded */

static struct sim {
    uint64_t seed, rs, rsrv, ruser, rent; /* PRNG streams: setup, server, user, entropy */
    hl_ctx *ctx;
    hl_config cfg;
    hl_ws_desc desc;
    hl_backoff bo;            /* resolved by hand from the documented defaults */
    hl_breaker_config br;
    uint32_t tick_ms, lat_ms, proc_ms, pull_ms, cpm;
    uint64_t end_sched, last_effect, quiet;
    sev ev[SEV_MAX];
    int nev, iev;
    /* server */
    sconn sc[SC_MAX];
    int nconns;
    job jobs[JOB_MAX];
    int njobs;
    int afq[AFQ_MAX];
    unsigned afq_head, afq_tail;
    uint64_t next_tick, seq, slow_until, reject_until;
    unsigned reject_mask;
    int ra_min, ra_max;       /* Retry-After the current attempt got (ms), -1: none */
    int header_calls;
    char auth[64];
    uint64_t conn_at[CONN_LOG];
    int nconn_at;
    /* the user and the model of the connection */
    hl_ws ws;
    int alive, reconnect, closing, gap_due;
    hl_state state;
    uint64_t user_reconnect_at, next_pull;
    int opened, healthy, ambiguous, rc_at_open;
    uint64_t open_at, next_allowed;
    uint32_t att, last_delay;
    int bstate, probes;
    uint64_t bopens, bopened_at;
    uint32_t cons_lo, cons_hi;
    msub subs[NKIND];
    uint32_t dead[DEAD_MAX];
    int ndead;
    int abort, busy_reported, stop_pulling, graceful;
    uint64_t h_attempts, h_opens, last_attempt; /* of the current handle, as the transport saw them */
} S;

static struct totals {
    uint64_t seeds, vtime, connects, disconnects, opens, breaker_opens, msgs, gaps, drops, faults[E_COUNT],
        afaults[A_COUNT], failed_subs, closes_by_hand, breaker_closes, circuit_events, late_attempts;
} TOT;

/* ---- hooks: clock, entropy, resolver, headers, log ---------------------------------------------- */

static uint64_t sim_clock(void *user)
{
    (void)user;
    return g_now;
}

static int64_t sim_wall(void *user)
{
    (void)user;
    return WALL0 + (int64_t)(g_now / SEC);
}

static int sim_entropy(void *user, void *buf, size_t len)
{
    unsigned char *p = (unsigned char *)buf;
    (void)user;
    while (len--) *p++ = (unsigned char)rng_next(&S.rent);
    return 0;
}

static int sim_resolve(void *user, const char *host, uint16_t port, hl_addr *out, int max)
{
    (void)user;
    if (strcmp(host, "api.hyperliquid.sim") != 0 || port != 80 || max < 1) return HL_E_DNS;
    memset(out, 0, sizeof *out);
    out->bytes[0] = 127;
    out->bytes[3] = 1;
    out->len = 16;
    return 1;
}

/* Asked on every connect: the server checks it sees the latest token. */
static int sim_headers(void *user, hl_header *out, int max)
{
    (void)user;
    if (max < 1) return 0;
    snprintf(S.auth, sizeof S.auth, "Bearer sim-%d", ++S.header_calls);
    out[0].name = "Authorization";
    out[0].value = S.auth;
    return 1;
}

static void sim_log(void *user, hl_log_level level, uint32_t id, const char *msg)
{
    (void)user;
    (void)id;
    trace("log%d: %s", (int)level, msg);
}

/* ---- the fake server: output -------------------------------------------------------------------- */

static uint64_t lat(void)
{
    return g_now + span(&S.rsrv, 0, S.lat_ms) * MS;
}

/* Queue stream bytes readable from `at` (kind 1/2: end or reset after them). 0 when full. */
static int sc_put(sconn *c, const void *p, size_t n, uint64_t at, int kind)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    chunk *k;
    if (c->wr - c->rd + n > OUT_CAP || c->ch_tail - c->ch_head >= CH_MAX) return 0;
    for (i = 0; i < n; i++) c->out[(c->wr + i) % OUT_CAP] = b[i];
    c->wr += n;
    if (at < c->last_at) at = c->last_at;
    c->last_at = at;
    k = &c->ch[c->ch_tail++ % CH_MAX];
    k->end = c->wr;
    k->at = at;
    k->kind = kind;
    return 1;
}

/* Release what is due: chunks in order, as the virtual clock passes their time. */
static void sc_release(sconn *c)
{
    while (c->ch_head != c->ch_tail && c->ch[c->ch_head % CH_MAX].at <= g_now) {
        const chunk *k = &c->ch[c->ch_head++ % CH_MAX];
        c->rel = k->end;
        if (k->kind) c->ended = k->kind;
    }
}

/* One unmasked frame. Feed data is dropped when the client is far behind (as a server would
   drop or disconnect); control traffic always has room. */
static void srv_frame(sconn *c, int op, const void *p, size_t n, uint64_t at, int data)
{
    unsigned char f[1100];
    size_t h = 2;
    f[0] = (unsigned char)(0x80 | op);
    if (n < 126) {
        f[1] = (unsigned char)n;
    } else {
        f[1] = 126;
        f[2] = (unsigned char)(n >> 8);
        f[3] = (unsigned char)n;
        h = 4;
    }
    memcpy(f + h, p, n);
    if (data && c->wr - c->rd + h + n > OUT_CAP / 2) return;
    sc_put(c, f, h + n, at, 0);
}

static void srv_text(sconn *c, uint64_t at, int data, const char *fmt, ...) SIM_PRINTF(4, 5);
static void srv_text(sconn *c, uint64_t at, int data, const char *fmt, ...)
{
    char m[1024];
    int n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    srv_frame(c, 1, m, (size_t)n, at, data);
}

static sconn *sc_find(hl_socket h)
{
    int i;
    for (i = 0; i < SC_MAX; i++)
        if (S.sc[i].used && S.sc[i].h == h) return &S.sc[i];
    return NULL;
}

/* The connection the client is using, if the server has it open and talking. */
static sconn *srv_open_conn(void)
{
    int i;
    for (i = 0; i < SC_MAX; i++)
        if (S.sc[i].used && S.sc[i].phase == P_OPEN && !S.sc[i].silent) return &S.sc[i];
    return NULL;
}

/* ---- the fake server: input --------------------------------------------------------------------- */

/* A header's value from a request (names as the library writes them). */
static int req_header(const char *req, const char *name, char *out, size_t cap)
{
    char pat[64];
    const char *p;
    size_t n = 0;
    snprintf(pat, sizeof pat, "\r\n%s: ", name);
    if (!(p = strstr(req, pat))) return 0;
    for (p += strlen(pat); *p && *p != '\r' && n + 1 < cap;) out[n++] = *p++;
    out[n] = '\0';
    return 1;
}

static void srv_handshake(sconn *c)
{
    char req[IN_CAP + 1], key[64], acc[29], auth[64], resp[512], date[64];
    const char *end;
    size_t n;
    uint64_t at = lat();
    int len, secs;
    memcpy(req, c->in, c->in_len);
    req[c->in_len] = '\0';
    if (!(end = strstr(req, "\r\n\r\n"))) {
        if (c->in_len >= IN_CAP) bad(FAM_WIRE, "upgrade request without an end of headers");
        return;
    }
    n = (size_t)(end + 4 - req);
    if (n != c->in_len) bad(FAM_WIRE, "bytes after the upgrade request before the 101");
    c->in_len = 0;
    req[n] = '\0';
    if (strncmp(req, "GET /ws HTTP/1.1\r\n", 18) != 0 || !strstr(req, "\r\nUpgrade: websocket\r\n") ||
        !strstr(req, "\r\nConnection: Upgrade\r\n") || !strstr(req, "\r\nSec-WebSocket-Version: 13\r\n") ||
        !strstr(req, "\r\nHost: api.hyperliquid.sim\r\n"))
        bad(FAM_WIRE, "malformed upgrade request: %.80s", req);
    if (!req_header(req, "Sec-WebSocket-Key", key, sizeof key) || strlen(key) != 24) {
        bad(FAM_WIRE, "upgrade request without a 24-character Sec-WebSocket-Key");
        key[0] = '\0';
    }
    if (!req_header(req, "Authorization", auth, sizeof auth) || strcmp(auth, S.auth) != 0)
        bad(FAM_WIRE, "the header provider was not asked for this connect (Authorization '%s', latest '%s')",
            req_header(req, "Authorization", auth, sizeof auth) ? auth : "", S.auth);
    switch (c->afault) {
    case A_503:
    case A_429:
        secs = (int)span(&S.rsrv, 1, 12);
        if (c->afault == A_429 && chance(&S.rsrv, 50)) {
            snprintf(date, sizeof date, "%s", "");
        } else if (chance(&S.rsrv, 30)) { /* an HTTP date: whole seconds, read maybe a second later */
            time_t t = (time_t)(WALL0 + (int64_t)(g_now / SEC) + secs);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(date, sizeof date, "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
            S.ra_min = (secs - 1) * 1000;
            S.ra_max = secs * 1000;
        } else {
            snprintf(date, sizeof date, "Retry-After: %d\r\n", secs);
            S.ra_min = S.ra_max = secs * 1000;
        }
        len = c->afault == A_503
                  ? snprintf(resp, sizeof resp, "HTTP/1.1 503 Service Unavailable\r\n%sContent-Type: text/plain\r\n"
                                                "Content-Length: 5\r\nConnection: close\r\n\r\nbusy\n", date)
                  : snprintf(resp, sizeof resp, "HTTP/1.1 429 Too Many Requests\r\n%sContent-Length: 0\r\n\r\n", date);
        sc_put(c, resp, (size_t)len, at, 0);
        if (c->afault == A_503 || chance(&S.rsrv, 50)) sc_put(c, "", 0, at, 1);
        c->phase = P_DEAD;
        break;
    case A_HS_HANG:
        c->phase = P_DEAD; /* reads, never answers */
        break;
    default:
        hl__ws_accept_compute(key, acc);
        len = snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
        sc_put(c, resp, (size_t)len, at, 0);
        if (chance(&S.rsrv, 30)) srv_text(c, at, 0, "Websocket connection established.");
        c->phase = P_OPEN;
        break;
    }
}

/* A subscribe/unsubscribe/ping request on an open connection. */
static void srv_request(sconn *c, const unsigned char *p, size_t n)
{
    static const char sub[] = "{\"method\":\"subscribe\",\"subscription\":";
    static const char unsub[] = "{\"method\":\"unsubscribe\",\"subscription\":";
    char t[600];
    const char *obj;
    int k, is_unsub;
    uint64_t delay;
    job *j;
    if (n >= sizeof t) {
        bad(FAM_WIRE, "client message of %u bytes", (unsigned)n);
        return;
    }
    memcpy(t, p, n);
    t[n] = '\0';
    if (!strcmp(t, "{\"method\":\"ping\"}")) {
        srv_text(c, lat(), 0, "{\"channel\":\"pong\"}");
        return;
    }
    is_unsub = !strncmp(t, unsub, sizeof unsub - 1);
    if (!is_unsub && strncmp(t, sub, sizeof sub - 1) != 0) {
        bad(FAM_WIRE, "unexpected client message: %.80s", t);
        return;
    }
    obj = t + (is_unsub ? sizeof unsub : sizeof sub) - 1;
    if ((k = kind_of_sub(obj)) < 0 || t[n - 1] != '}') {
        bad(FAM_WIRE, "unexpected subscription in: %.100s", t);
        return;
    }
    if (S.njobs == JOB_MAX) {
        bad(FAM_WIRE, "more than %d requests waiting at the server", JOB_MAX);
        return;
    }
    delay = (g_now < S.slow_until ? span(&S.rsrv, 800, 5000) : span(&S.rsrv, 1, S.proc_ms)) * MS;
    if (c->job_at < g_now + delay) c->job_at = g_now + delay;
    j = &S.jobs[S.njobs++];
    j->at = c->job_at;
    j->h = c->h;
    j->kind = k;
    j->unsub = is_unsub;
    j->reject = !is_unsub && g_now < S.reject_until && (S.reject_mask >> k & 1);
}

/* The server answers a request, in order, after its processing time. */
static void srv_job(const job *j)
{
    sconn *c = sc_find(j->h);
    char js[160];
    unsigned bit = 1u << j->kind;
    uint64_t at;
    if (!c || c->phase != P_OPEN || c->silent) return;
    at = lat();
    if (j->unsub) {
        c->rejected &= ~bit;
        if (!(c->subs & bit)) {
            ack_json_escaped(j->kind, js, sizeof js);
            srv_text(c, at, 0, "{\"channel\":\"error\",\"data\":\"Already unsubscribed: %s\"}", js);
            return;
        }
        c->subs &= ~bit;
        ack_json(j->kind, js, sizeof js);
        srv_text(c, at, 0, "{\"channel\":\"subscriptionResponse\",\"data\":{\"method\":\"unsubscribe\",\"subscription\":%s}}", js);
    } else if (j->reject) {
        c->subs &= ~bit;
        c->rejected |= bit;
        ack_json_escaped(j->kind, js, sizeof js);
        srv_text(c, at, 0, "{\"channel\":\"error\",\"data\":\"Invalid subscription %s\"}", js);
        trace("server #%d: rejects %s %s", c->n, KTYPE(j->kind), KCOIN(j->kind));
    } else if (c->subs & bit) {
        bad(FAM_RESTORE, "%s %s subscribed twice on one connection (#%d)", KTYPE(j->kind), KCOIN(j->kind), c->n);
        ack_json_escaped(j->kind, js, sizeof js);
        srv_text(c, at, 0, "{\"channel\":\"error\",\"data\":\"Already subscribed: %s\"}", js);
    } else {
        c->subs |= bit;
        c->rejected &= ~bit;
        ack_json(j->kind, js, sizeof js);
        srv_text(c, at, 0, "{\"channel\":\"subscriptionResponse\",\"data\":{\"method\":\"subscribe\",\"subscription\":%s}}", js);
    }
}

static void srv_message(sconn *c, int op, const unsigned char *p, size_t n)
{
    unsigned v;
    switch (op) {
    case 1:
        if (c->phase == P_OPEN) srv_request(c, p, n);
        break;
    case 8: /* the client's close: echo it (unless ours came first) and end the stream */
        if (c->phase == P_OPEN) srv_frame(c, 8, p, n >= 2 ? 2 : 0, lat(), 0);
        sc_put(c, "", 0, lat(), 1);
        c->phase = P_DEAD;
        break;
    case 9:
        trace("server #%d: ping (%u bytes)%s", c->n, (unsigned)n, c->phase == P_OPEN ? ", pong" : "");
        if (c->phase == P_OPEN) srv_frame(c, 10, p, n, lat(), 0);
        break;
    case 10: /* answers one of our pings; only the latest may be answered (coalescing) */
        if (n < 3 || n > 12 || memcmp(p, "sp", 2) != 0) {
            bad(FAM_WIRE, "pong with a payload the server never sent");
            break;
        }
        v = (unsigned)strtoul((const char *)p + 2, NULL, 10); /* digits up to the frame's end */
        if (v > c->pings || v < c->pongs) bad(FAM_WIRE, "pong for ping %u (sent %u, answered %u)", v, c->pings, c->pongs);
        c->pongs = v;
        break;
    default:
        bad(FAM_WIRE, "client frame with opcode %d", op);
        break;
    }
}

/* Parse the client's frames: each must be masked, final, without RSV bits. */
static void srv_frames(sconn *c)
{
    while (c->used && (c->phase == P_OPEN || c->phase == P_CLOSING) && c->in_len >= 2) {
        unsigned char *b = c->in, pl[IN_CAP + 1];
        size_t len = b[1] & 127, h = len == 126 ? 4 : 2, i;
        int op;
        if (len == 127 || !(b[1] & 0x80) || (b[0] & 0x70) || !(b[0] & 0x80)) {
            bad(FAM_WIRE, "client frame %02x %02x: %s", b[0], b[1],
                len == 127 ? "64-bit length" : !(b[1] & 0x80) ? "not masked" : (b[0] & 0x70) ? "RSV bits" : "fragmented");
            c->in_len = 0;
            return;
        }
        if (c->in_len < h + 4) return;
        if (len == 126) len = (size_t)b[2] << 8 | b[3];
        if (h + 4 + len > IN_CAP) {
            bad(FAM_WIRE, "client frame of %u bytes", (unsigned)len);
            c->in_len = 0;
            return;
        }
        if (c->in_len < h + 4 + len) return;
        op = b[0] & 15;
        for (i = 0; i < len; i++) pl[i] = b[h + 4 + i] ^ b[h + (i & 3)];
        pl[len] = '\0';
        memmove(c->in, c->in + h + 4 + len, c->in_len - (h + 4 + len));
        c->in_len -= h + 4 + len;
        srv_message(c, op, pl, len);
    }
}

/* Every tick the server pushes one message per subscription, and sometimes pings. */
static void srv_tick(void)
{
    int i, k;
    for (i = 0; i < SC_MAX; i++) {
        sconn *c = &S.sc[i];
        uint64_t at;
        if (!c->used || c->phase != P_OPEN || c->silent) continue;
        at = lat();
        for (k = 0; k < NKIND; k++) {
            unsigned long long seq = ++S.seq, ms = (unsigned long long)WALL0 * 1000 + g_now / MS;
            if (!(c->subs >> k & 1)) continue;
            if (IS_TRADES(k))
                srv_text(c, at, 1, "{\"channel\":\"trades\",\"data\":[{\"coin\":\"%s\",\"side\":\"%s\",\"px\":\"%u.%u\","
                                   "\"sz\":\"0.%03u\",\"hash\":\"0x%064d\",\"time\":%llu,\"tid\":%llu,\"users\":"
                                   "[\"0x%040d\",\"0x%040d\"]}]}", kinds[k].coin, seq & 1 ? "B" : "A",
                         (unsigned)(100 + seq % 900), (unsigned)(seq % 10), (unsigned)(seq % 1000), 0, ms, seq, 1, 2);
            else
                srv_text(c, at, 1, "{\"channel\":\"l2Book\",\"data\":{\"coin\":\"%s\",\"time\":%llu,\"levels\":"
                                   "[[{\"px\":\"%u.5\",\"sz\":\"1.2\",\"n\":3}],[{\"px\":\"%u.5\",\"sz\":\"0.8\",\"n\":1}]]}}",
                         kinds[k].coin, seq, (unsigned)(100 + seq % 50), (unsigned)(151 + seq % 50));
        }
        if (chance(&S.rsrv, 15)) {
            char pl[16];
            int n = snprintf(pl, sizeof pl, "sp%u", ++c->pings);
            srv_frame(c, 9, pl, (size_t)n, at, 0);
        }
    }
    S.next_tick += S.tick_ms * MS;
}

static void srv_run_due(void)
{
    for (;;) {
        int i, best = -1;
        job j;
        for (i = 0; i < S.njobs; i++)
            if (S.jobs[i].at <= g_now && (best < 0 || S.jobs[i].at < S.jobs[best].at)) best = i;
        if (best < 0) break;
        j = S.jobs[best];
        memmove(&S.jobs[best], &S.jobs[best + 1], (size_t)(S.njobs - best - 1) * sizeof(job));
        S.njobs--;
        srv_job(&j);
    }
    while (S.next_tick <= g_now) srv_tick();
}

/* The next time the server does something the client could see (always after now). */
static uint64_t srv_next(void)
{
    uint64_t t = S.next_tick;
    int i;
    for (i = 0; i < S.njobs; i++)
        if (S.jobs[i].at < t) t = S.jobs[i].at;
    for (i = 0; i < SC_MAX; i++) {
        sconn *c = &S.sc[i];
        if (!c->used) continue;
        sc_release(c);
        if (c->ch_head != c->ch_tail && c->ch[c->ch_head % CH_MAX].at < t) t = c->ch[c->ch_head % CH_MAX].at;
        if (c->phase == P_CONNECTING && c->ready_at > g_now && c->ready_at < t) t = c->ready_at;
    }
    return t;
}

/* A fault on the open connection, now. */
static void srv_fault(int what, int arg)
{
    static const unsigned char garbage[4][12] = {
        {0xC1, 0x05, 'h', 'e', 'l', 'l', 'o'},               /* RSV1 without an extension */
        {0x83, 0x00},                                         /* reserved opcode */
        {0x81, 0x85, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'},    /* masked server frame */
        {0x81, 0x02, 0xC3, 0x28},                             /* invalid UTF-8 */
    };
    static const size_t garbage_len[4] = {7, 2, 11, 4};
    sconn *c = srv_open_conn();
    uint64_t at = lat();
    if (!c) {
        trace("  (no open connection: nothing to break)");
        return;
    }
    S.last_effect = g_now;
    switch (what) {
    case E_EOF:
        sc_put(c, "", 0, at, 1);
        c->phase = P_DEAD;
        break;
    case E_RESET:
        sc_put(c, "", 0, at, 2);
        c->reset = 1;
        c->phase = P_DEAD;
        break;
    case E_STALL:
        c->blocked = 1;
        /* fall through */
    case E_SILENT:
        c->silent = 1;
        break;
    case E_GARBAGE:
        if (arg < 4) {
            sc_put(c, garbage[arg], garbage_len[arg], at, 0);
        } else { /* random bytes after a header byte with RSV bits */
            unsigned char g[40];
            size_t i, n = span(&S.rsrv, 1, sizeof g);
            for (i = 0; i < n; i++) g[i] = (unsigned char)rng_next(&S.rsrv);
            g[0] |= 0x70;
            sc_put(c, g, n, at, 0);
        }
        break;
    case E_CLOSE: {
        unsigned char f[32];
        int code = arg ? 1012 : 1001;
        const char *why = arg ? "service restart" : "going away";
        f[0] = (unsigned char)(code >> 8);
        f[1] = (unsigned char)code;
        memcpy(f + 2, why, strlen(why));
        srv_frame(c, 8, f, 2 + strlen(why), at, 0);
        c->phase = P_CLOSING;
        if (chance(&S.rsrv, 40)) { /* some servers do not wait for the answer */
            sc_put(c, "", 0, at, 1);
            c->phase = P_DEAD;
        }
        break;
    }
    default:
        break;
    }
}

/* ---- the in-memory transport -------------------------------------------------------------------- */

static void on_connect_attempt(void);

static sconn *sc_of(hl_socket h, const char *what)
{
    sconn *c = sc_find(h);
    if (!c) bad(FAM_WIRE, "transport %s on handle %d, which is not open", what, (int)h);
    return c;
}

static int tp_connect(void *user, const hl_addr *addr, hl_socket *out, int *err)
{
    sconn *c = NULL;
    int i, f = A_NONE;
    (void)user;
    if (addr->bytes[0] != 127 || addr->len != 16) bad(FAM_WIRE, "connect to an address the resolver never gave");
    on_connect_attempt();
    S.ra_min = S.ra_max = -1;
    if (S.afq_head != S.afq_tail) {
        f = S.afq[S.afq_head++ % AFQ_MAX];
        S.last_effect = g_now;
        TOT.afaults[f]++;
    }
    if (f == A_REFUSE_NOW) {
        trace("tp: connect refused at once");
        *err = ECONNREFUSED;
        return HL_IO_ERROR;
    }
    for (i = 0; i < SC_MAX && !c; i++)
        if (!S.sc[i].used) c = &S.sc[i];
    if (!c) {
        bad(FAM_WIRE, "more than %d transport handles open at once", SC_MAX);
        *err = EMFILE;
        return HL_IO_ERROR;
    }
    memset(c, 0, offsetof(sconn, ch));
    c->used = 1;
    c->n = ++S.nconns;
    c->h = (hl_socket)(100 + c->n);
    c->afault = f;
    c->phase = P_CONNECTING;
    c->ready_at = f == A_HANG ? UINT64_MAX : lat();
    c->connect_err = f == A_REFUSE ? ECONNREFUSED : 0;
    *out = c->h;
    trace("tp: connect -> handle %d (#%d)%s%s", (int)c->h, c->n, f ? ": " : "", f ? afault_name[f] : "");
    if (f == A_NONE && chance(&S.rsrv, 25)) {
        c->phase = P_HANDSHAKE;
        return 0;
    }
    return 1;
}

static int tp_connect_result(void *user, hl_socket h)
{
    sconn *c = sc_of(h, "connect_result");
    (void)user;
    if (!c) return EBADF;
    if (c->phase != P_CONNECTING || g_now < c->ready_at) {
        bad(FAM_WIRE, "connect_result on handle %d before the connect completed", (int)h);
        return EINPROGRESS;
    }
    c->phase = c->connect_err ? P_DEAD : P_HANDSHAKE;
    return c->connect_err;
}

static long tp_send(void *user, hl_socket h, const void *p, size_t n, int *err)
{
    sconn *c = sc_of(h, "send");
    size_t k = n;
    (void)user;
    if (!c) {
        *err = EBADF;
        return HL_IO_ERROR;
    }
    if (c->phase == P_CONNECTING) {
        bad(FAM_WIRE, "send on handle %d before the connect completed", (int)h);
        *err = ENOTCONN;
        return HL_IO_ERROR;
    }
    if (c->reset) {
        *err = ECONNRESET;
        return HL_IO_ERROR;
    }
    if (c->blocked) return HL_IO_AGAIN;
    if (n > 1 && chance(&S.rsrv, 12)) k = span(&S.rsrv, 1, (uint32_t)n - 1); /* a short write */
    if (c->silent || c->phase == P_DEAD) return (long)k;                    /* swallowed */
    if (c->in_len + k > IN_CAP) {
        bad(FAM_WIRE, "client sent more than %d bytes the server could not parse", IN_CAP);
        c->in_len = 0;
        return (long)k;
    }
    memcpy(c->in + c->in_len, p, k);
    c->in_len += k;
    if (c->phase == P_HANDSHAKE) srv_handshake(c);
    srv_frames(c);
    return (long)k;
}

static long tp_recv(void *user, hl_socket h, void *p, size_t n, int *err)
{
    sconn *c = sc_of(h, "recv");
    unsigned char *d = (unsigned char *)p;
    size_t avail, k, i;
    (void)user;
    if (!c) {
        *err = EBADF;
        return HL_IO_ERROR;
    }
    if (c->phase == P_CONNECTING) bad(FAM_WIRE, "recv on handle %d before the connect completed", (int)h);
    sc_release(c);
    avail = (size_t)(c->rel - c->rd);
    if (!avail) {
        if (c->ended == 2) {
            *err = ECONNRESET;
            return HL_IO_ERROR;
        }
        return c->ended ? 0 : HL_IO_AGAIN;
    }
    k = n < avail ? n : avail;
    if (k > 1 && chance(&S.rsrv, 25)) k = span(&S.rsrv, 1, (uint32_t)k); /* a short read */
    for (i = 0; i < k; i++) d[i] = c->out[(c->rd + i) % OUT_CAP];
    c->rd += k;
    return (long)k;
}

static void tp_close(void *user, hl_socket h)
{
    sconn *c = sc_of(h, "close");
    int i;
    (void)user;
    if (!c) return;
    trace("tp: close handle %d (#%d)", (int)h, c->n);
    c->used = 0;
    for (i = 0; i < S.njobs; i++)
        if (S.jobs[i].h == h) S.jobs[i].h = -1;
}

static const hl_transport g_tp = {tp_connect, tp_connect_result, tp_send, tp_recv, tp_close, NULL};

/* Readiness as poll() would report it for the transport's handles. */
static unsigned readiness(hl_socket h, unsigned events)
{
    sconn *c = sc_of(h, "poll");
    unsigned r = 0;
    if (!c) return HL_POLLERR;
    if (c->phase == P_CONNECTING)
        return g_now >= c->ready_at ? HL_POLLOUT | (c->connect_err ? HL_POLLERR : 0u) : 0u;
    sc_release(c);
    if ((events & HL_POLLIN) && (c->rel > c->rd || c->ended)) r |= HL_POLLIN;
    if ((events & HL_POLLOUT) && !c->blocked) r |= HL_POLLOUT;
    return r;
}

/* ---- the model: backoff, breaker, connect budget -------------------------------------------------- */

/* The documented delay range of an attempt: base = initial * multiplier^(attempt-1), capped at
   max; proportional jitter +-pct (never above max), full [0, base], none: base. In whole
   milliseconds either rounding of each step is fine, so the range spans both. */
static void backoff_bounds(uint32_t attempt, uint32_t *lo, uint32_t *hi)
{
    uint64_t b0 = S.bo.initial_ms, b1 = S.bo.initial_ms, max = S.bo.max_ms, pct = S.bo.jitter_pct;
    uint32_t i;
    for (i = 1; i < attempt && b0 < max; i++) b0 = b0 * S.bo.multiplier_pct / 100;
    for (i = 1; i < attempt && b1 < max; i++) b1 = (b1 * S.bo.multiplier_pct + 99) / 100;
    if (b0 > max) b0 = max;
    if (b1 > max) b1 = max;
    if (S.bo.jitter == HL_JITTER_FULL) {
        *lo = 0;
        *hi = (uint32_t)b1;
    } else if (S.bo.jitter == HL_JITTER_NONE) {
        *lo = (uint32_t)b0;
        *hi = (uint32_t)b1;
    } else {
        uint64_t h = b1 * (100 + pct) / 100;
        *lo = (uint32_t)(b0 * (100 - pct) / 100);
        *hi = (uint32_t)(h < max ? h : max);
    }
}

static const char *bname(int b)
{
    return b == HL_BREAKER_OPEN ? "OPEN" : b == HL_BREAKER_HALF_OPEN ? "HALF_OPEN" : "CLOSED";
}

/* Read the breaker and check the transition since the last look. o: what the call that just
   ended may have recorded (0: none ended). */
static void breaker_check(int o, const char *why)
{
    hl_ws_stats st;
    int from = S.bstate, to;
    uint32_t n = S.br.failures;
    uint64_t expect;
    if (hl_ws_stats_get(S.ctx, S.ws, &st) != HL_OK) {
        bad(FAM_WIRE, "hl_ws_stats_get failed on a live handle");
        return;
    }
    to = (int)st.breaker;
    if (o) {
        uint32_t lo = UINT32_MAX, hi = 0;
        if (o & OUT_FAIL) lo = S.cons_lo + 1, hi = S.cons_hi + 1;
        if (o & OUT_NONE) lo = lo < S.cons_lo ? lo : S.cons_lo, hi = hi > S.cons_hi ? hi : S.cons_hi;
        if (o & OUT_OK) lo = 0;
        S.cons_lo = lo;
        S.cons_hi = hi;
    }
    expect = S.bopens + (to == HL_BREAKER_OPEN && from != HL_BREAKER_OPEN);
    if (st.breaker_opens != expect)
        bad(FAM_BREAKER, "breaker_opens %llu, expected %llu (%s -> %s, %s)", (unsigned long long)st.breaker_opens,
            (unsigned long long)expect, bname(from), bname(to), why);
    S.bopens = st.breaker_opens;
    if (from == to) {
        if (to == HL_BREAKER_CLOSED && o == OUT_FAIL && S.cons_lo >= n)
            bad(FAM_BREAKER, "still CLOSED after %u consecutive failures (failures %u)", S.cons_lo, n);
        return;
    }
    trace("breaker %s -> %s (%s; consecutive failures %u..%u, opens %llu)", bname(from), bname(to), why, S.cons_lo,
          S.cons_hi, (unsigned long long)st.breaker_opens);
    if (from == HL_BREAKER_CLOSED && to == HL_BREAKER_OPEN && (!(o & OUT_FAIL) || S.cons_hi < n))
        bad(FAM_BREAKER, "CLOSED -> OPEN after at most %u consecutive failures (failures %u; %s)", S.cons_hi, n, why);
    if (from == HL_BREAKER_OPEN && to == HL_BREAKER_HALF_OPEN && g_now - S.bopened_at < (uint64_t)S.br.cooldown_ms * MS)
        bad(FAM_BREAKER, "OPEN -> HALF_OPEN after %llu ms, cool-down %u ms",
            (unsigned long long)((g_now - S.bopened_at) / MS), S.br.cooldown_ms);
    if (from == HL_BREAKER_HALF_OPEN && to == HL_BREAKER_OPEN && !(o & OUT_FAIL))
        bad(FAM_BREAKER, "HALF_OPEN -> OPEN without a failed probe (%s)", why);
    if (from == HL_BREAKER_HALF_OPEN && to == HL_BREAKER_CLOSED && !(o & OUT_OK))
        bad(FAM_BREAKER, "HALF_OPEN -> CLOSED without a healthy probe (%s)", why);
    if ((from == HL_BREAKER_CLOSED && to == HL_BREAKER_HALF_OPEN) || (from == HL_BREAKER_OPEN && to == HL_BREAKER_CLOSED))
        bad(FAM_BREAKER, "illegal transition %s -> %s (%s)", bname(from), bname(to), why);
    if (to == HL_BREAKER_OPEN) S.bopened_at = g_now, TOT.breaker_opens++;
    if (from == HL_BREAKER_HALF_OPEN && to == HL_BREAKER_CLOSED) TOT.breaker_closes++;
    if (to == HL_BREAKER_HALF_OPEN) S.probes = 0;
    S.bstate = to;
}

/* Every transport connect: not before the announced delay, not while OPEN, one probe in
   HALF_OPEN, within connects_per_minute. */
static void on_connect_attempt(void)
{
    int i, n = S.nconn_at;
    TOT.connects++;
    if (S.alive) {
        S.h_attempts++;
        S.last_attempt = g_now;
        if (S.next_allowed && g_now > S.next_allowed + SEC) TOT.late_attempts++;
        if (g_now < S.next_allowed)
            bad(FAM_BACKOFF, "attempt %llu ms before the announced delay ended",
                (unsigned long long)((S.next_allowed - g_now) / MS));
        breaker_check(0, "connect");
        if (S.bstate == HL_BREAKER_OPEN) bad(FAM_BREAKER, "connect attempt while the breaker is OPEN");
        if (S.bstate == HL_BREAKER_HALF_OPEN && ++S.probes > 1)
            bad(FAM_BREAKER, "probe %d in one HALF_OPEN period", S.probes);
    }
    S.conn_at[n % CONN_LOG] = g_now;
    S.nconn_at++;
    for (i = 1; S.cpm != HL_UNLIMITED && i <= n && i < CONN_LOG; i++) {
        uint64_t t0 = S.conn_at[(n - i) % CONN_LOG];
        uint64_t allowed = S.cpm + (g_now - t0) * S.cpm / (60 * SEC);
        if ((uint64_t)i + 1 > allowed) {
            bad(FAM_BACKOFF, "%d connects within %.3f s: over connects_per_minute %u", i + 1, (double)(g_now - t0) / 1e9, S.cpm);
            break;
        }
    }
}

/* The connection counted as healthy (open for healthy_ms): the library records a success and
   resets the attempt count on the first hl_process at or after that time. */
static void healthy_check(void)
{
    if (!S.alive || S.state != HL_STATE_OPEN || S.healthy || g_now < S.open_at + (uint64_t)S.bo.healthy_ms * MS) {
        if (S.alive) breaker_check(0, "after hl_process");
        return;
    }
    S.healthy = 1;
    S.att = 0;
    /* with reconnect off when it opened, the library keeps no record: be lenient there */
    breaker_check(S.rc_at_open ? OUT_OK : OUT_OK | OUT_NONE, "healthy connection");
}

/* ---- the user: subscriptions -------------------------------------------------------------------- */

static msub *msub_of(uint32_t id)
{
    int k;
    for (k = 0; k < NKIND && id; k++)
        if (S.subs[k].h.id == id) return &S.subs[k];
    return NULL;
}

static int is_dead(uint32_t id)
{
    int i;
    for (i = 0; i < S.ndead; i++)
        if (S.dead[i] == id) return 1;
    return 0;
}

/* The subscription an event or message names: a live one, else a violation. */
static msub *sub_for(uint32_t id, const char *what)
{
    msub *m = msub_of(id);
    if (m) return m;
    if (is_dead(id)) bad(FAM_UNSUB, "%s for subscription %08x after hl_ws_unsubscribe returned", what, (unsigned)id);
    else bad(FAM_WIRE, "%s for subscription %08x, which the user does not hold", what, (unsigned)id);
    return NULL;
}

static void delivered(msub *m, uint32_t id, const unsigned char *p, size_t n, uint64_t recv_ns, const char *how)
{
    uint64_t seq = 0;
    int k = feed_kind(p, n, &seq);
    if (!m || id != m->h.id || !m->wanted) {
        sub_for(id, how);
        return;
    }
    if (k != kinds[m - S.subs].route)
        bad(FAM_UNSUB, "%s: %.60s reached %s %s", how, (const char *)p, KTYPE(m - S.subs), KCOIN(m - S.subs));
    else if (seq <= m->seq)
        bad(FAM_UNSUB, "%s: %s %s message %llu after %llu (duplicate or reordered)", how, KTYPE(k), KCOIN(k),
            (unsigned long long)seq, (unsigned long long)m->seq);
    m->seq = seq;
    m->got++;
    if (recv_ns > g_now || recv_ns < m->last_at)
        bad(FAM_WIRE, "%s: recv_ns %.3f is in the future or before the previous message's", how, (double)(recv_ns - T0) / 1e9);
    m->last_at = recv_ns;
    TOT.msgs++;
}

static void user_unsubscribe(int k, const char *how);

static void on_msg(hl_ctx *ctx, const hl_msg *msg)
{
    (void)ctx;
    delivered((msub *)msg->user, msg->sub.id, msg->data, msg->len, msg->recv_ns, "handler");
    if (g_now < S.end_sched && chance(&S.ruser, 2)) { /* sometimes the handler unsubscribes: often the
                                                         other subscription of the same route */
        int k = (int)pick(&S.ruser, NKIND), me = (int)((msub *)msg->user - S.subs);
        if (kinds[me].route == 3 && chance(&S.ruser, 70)) k = me == 3 ? 6 : 3;
        if (S.subs[k].wanted && S.subs[k].h.id) user_unsubscribe(k, "from inside a handler");
    }
}

static void user_subscribe(int k, int again)
{
    msub *m = &S.subs[k];
    hl_sub_desc d;
    char js[96];
    int rc;
    if (!again) {
        if (m->wanted) { /* a duplicate (in any key order) is refused */
            if (S.alive) {
                hl_sub dup;
                memset(&d, 0, sizeof d);
                ack_json(k, js, sizeof js);
                d.subscription = js;
                d.on_message = on_msg;
                if ((rc = hl_ws_subscribe(S.ctx, S.ws, &d, &dup)) != HL_E_INVALID)
                    bad(FAM_WIRE, "duplicate hl_ws_subscribe(%s) returned %s", js, hl_result_name(rc));
            }
            return;
        }
        m->wanted = 1;
        m->pull = chance(&S.ruser, 40);
        m->overflow = (hl_overflow)pick(&S.ruser, 4);
        m->queue_len = span(&S.ruser, 1, 6);
        if (m->overflow == HL_OVERFLOW_BACKPRESSURE) /* keep up with the feed, else the heartbeat starves */
            m->queue_len += 2 * (S.pull_ms / S.tick_ms + 1);
        m->stale_ms = chance(&S.ruser, 20) ? span(&S.ruser, 3, 6) * S.tick_ms : 0;
        trace("user: subscribe %s %s (%s)", KTYPE(k), KCOIN(k), m->pull ? "queue" : "handler");
    }
    m->h.id = 0;
    m->st = (hl_sub_state)0;
    m->gap_from = m->active_at = m->last_at = 0;
    if (!S.alive) {
        hl_sub none;
        memset(&d, 0, sizeof d);
        ack_json(k, js, sizeof js);
        d.subscription = js;
        if (S.ws.id && (rc = hl_ws_subscribe(S.ctx, S.ws, &d, &none)) != HL_E_BAD_HANDLE)
            bad(FAM_WIRE, "hl_ws_subscribe on a closed handle returned %s", hl_result_name(rc));
        return;
    }
    switch (pick(&S.ruser, 3)) { /* the user's spelling varies; acks come back normalized */
    case 0:
        snprintf(js, sizeof js, "{\"type\":\"%s\",\"coin\":\"%s\"%s}", KTYPE(k), kinds[k].coin,
                 kinds[k].sig5 ? ",\"nSigFigs\":5" : "");
        break;
    case 1:
        snprintf(js, sizeof js, "{ %s\"coin\" : \"%s\", \"type\" : \"%s\" }", kinds[k].sig5 ? "\"nSigFigs\" : 5, " : "",
                 kinds[k].coin, KTYPE(k));
        break;
    default:
        if (IS_TRADES(k)) snprintf(js, sizeof js, "{\"coin\":\"%s\",\"type\":\"trades\"}", kinds[k].coin);
        else snprintf(js, sizeof js, "{\"type\":\"l2Book\",\"coin\":\"%s\",\"nSigFigs\":%s}", kinds[k].coin,
                      kinds[k].sig5 ? "5" : "null");
        break;
    }
    memset(&d, 0, sizeof d);
    d.subscription = js;
    d.on_message = m->pull ? NULL : on_msg;
    d.user = m;
    d.queue_len = m->queue_len;
    d.overflow = m->overflow;
    d.stale_after_ms = m->stale_ms;
    if ((rc = hl_ws_subscribe(S.ctx, S.ws, &d, &m->h)) != HL_OK) {
        uint32_t i, used = 0;
        for (i = 0; i < S.ctx->cfg.max_subscriptions; i++) used += S.ctx->subs[i].id != 0;
        if (rc == HL_E_POOL_EMPTY && used == S.ctx->cfg.max_subscriptions) { /* slots wait for unsubscribes */
            trace("user: no subscription slot free; gives up %s %s", KTYPE(k), KCOIN(k));
            m->wanted = 0;
        } else {
            bad(FAM_WIRE, "hl_ws_subscribe(%s) returned %s", js, hl_result_name(rc));
        }
        m->h.id = 0;
        return;
    }
    m->st = HL_SUB_PENDING;
}

static void user_unsubscribe(int k, const char *how)
{
    msub *m = &S.subs[k];
    hl_sub h = m->h;
    hl_sub_stats st;
    int rc;
    if (!m->wanted) return;
    trace("user: unsubscribe %s %s%s%s", KTYPE(k), KCOIN(k), how ? " " : "", how ? how : "");
    m->wanted = 0;
    m->h.id = 0;
    if (!h.id) return;
    if ((rc = hl_ws_unsubscribe(S.ctx, h)) != HL_OK)
        bad(FAM_WIRE, "hl_ws_unsubscribe returned %s", hl_result_name(rc));
    if (S.ndead < DEAD_MAX) S.dead[S.ndead++] = h.id;
    if ((rc = hl_ws_unsubscribe(S.ctx, h)) != HL_E_BAD_HANDLE || (rc = hl_sub_stats_get(S.ctx, h, &st)) != HL_E_BAD_HANDLE)
        bad(FAM_UNSUB, "a call on an unsubscribed handle returned %s", hl_result_name(rc));
}

/* Drain every queue; check a removed handle pulls nothing. */
static void user_pull(void)
{
    unsigned char buf[2048];
    int k, rc;
    for (k = 0; k < NKIND; k++) {
        msub *m = &S.subs[k];
        hl_msg info;
        size_t len;
        while (m->pull && m->h.id && (rc = hl_sub_pull(S.ctx, m->h, buf, sizeof buf, &len, &info)) != 0) {
            if (rc != 1) {
                bad(FAM_WIRE, "hl_sub_pull returned %s", hl_result_name(rc));
                break;
            }
            if (info.sub.id != m->h.id || info.len != len || info.user != m) bad(FAM_WIRE, "hl_sub_pull info does not match");
            delivered(m, m->h.id, buf, len, info.recv_ns, "queue");
        }
    }
    if (S.ndead) {
        hl_sub h;
        size_t len;
        h.id = S.dead[pick(&S.ruser, (uint32_t)S.ndead)];
        if ((rc = hl_sub_pull(S.ctx, h, buf, sizeof buf, &len, NULL)) != HL_E_BAD_HANDLE)
            bad(FAM_UNSUB, "hl_sub_pull on an unsubscribed handle returned %d", rc);
    }
    S.next_pull = g_now + S.pull_ms * MS;
}

static void user_connect(void)
{
    int k, rc;
    S.desc.reconnect = S.reconnect;
    if ((rc = hl_ws_connect(S.ctx, &S.desc, &S.ws)) != HL_OK) {
        bad(FAM_WIRE, "hl_ws_connect returned %s", hl_result_name(rc));
        S.abort = 1;
        return;
    }
    trace("user: hl_ws_connect (reconnect %s) -> %08x", S.reconnect ? "on" : "off", (unsigned)S.ws.id);
    S.alive = 1;
    S.state = HL_STATE_IDLE;
    S.att = 0;
    S.bstate = HL_BREAKER_CLOSED;
    S.bopens = 0;
    S.cons_lo = S.cons_hi = 0;
    S.probes = 0;
    S.next_allowed = 0;
    S.opened = S.healthy = S.ambiguous = 0;
    S.user_reconnect_at = 0;
    S.h_attempts = S.h_opens = 0;
    for (k = 0; k < NKIND; k++)
        if (S.subs[k].wanted) user_subscribe(k, 1);
}

static void user_set_reconnect(int on)
{
    int rc;
    S.reconnect = on;
    trace("user: reconnect %s", on ? "on" : "off");
    if (S.alive && (rc = hl_ws_set_reconnect(S.ctx, S.ws, on)) != HL_OK)
        bad(FAM_WIRE, "hl_ws_set_reconnect returned %s", hl_result_name(rc));
}

/* ---- events ------------------------------------------------------------------------------------- */

static void ev_state(const hl_event *ev)
{
    if (ev->prev_state != S.state)
        bad(FAM_WIRE, "STATE event from %s, but the last state was %s", hl_state_str(ev->prev_state), hl_state_str(S.state));
    trace("ev STATE %s -> %s%s%s%s", hl_state_str(ev->prev_state), hl_state_str(ev->state), ev->result ? " " : "",
          ev->result ? hl_result_name(ev->result) : "", ev->state == HL_STATE_BACKOFF ? " (see DISCONNECT)" : "");
    if (S.state == HL_STATE_OPEN && !S.healthy && g_now >= S.open_at + (uint64_t)S.bo.healthy_ms * MS)
        S.ambiguous = 1; /* healthy in this very hl_process: recorded or not, depending on order */
    S.state = ev->state;
    switch (ev->state) {
    case HL_STATE_RESOLVING:
        S.opened = S.healthy = S.ambiguous = 0;
        break;
    case HL_STATE_OPEN:
        S.opened = 1;
        S.open_at = g_now;
        S.rc_at_open = S.reconnect;
        S.h_opens++;
        TOT.opens++;
        break;
    case HL_STATE_BACKOFF:
        if (ev->result == HL_E_CIRCUIT_OPEN) {
            TOT.circuit_events++;
            if (ev->delay_ms > S.br.cooldown_ms)
                bad(FAM_BREAKER, "circuit-open wait %u ms over the cool-down %u ms", ev->delay_ms, S.br.cooldown_ms);
            if (S.next_allowed < g_now + ev->delay_ms * MS) S.next_allowed = g_now + ev->delay_ms * MS;
        } else if (ev->delay_ms != S.last_delay || ev->attempt != S.att) {
            bad(FAM_BACKOFF, "BACKOFF event says %u ms / attempt %u, DISCONNECT said %u ms / attempt %u", ev->delay_ms,
                ev->attempt, S.last_delay, S.att);
        }
        break;
    default:
        break;
    }
}

static void ev_disconnect(const hl_event *ev)
{
    uint32_t lo, hi, rmin, rmax, expect = S.att + 1;
    int o;
    TOT.disconnects++;
    trace("ev DISCONNECT %s (%s) close %d, attempt %u in %u ms", hl_result_name(ev->result), ev->detail,
          ev->close_code, ev->attempt, ev->delay_ms);
    if (!S.reconnect) bad(FAM_WIRE, "DISCONNECT (reconnecting) although reconnect is off");
    /* what this attempt's end may have recorded: a failure unless it had been healthy */
    if (!S.opened) o = OUT_FAIL;
    else if (S.healthy) o = OUT_NONE;
    else if (!S.rc_at_open) o = OUT_FAIL | OUT_NONE;
    else if (S.ambiguous) o = OUT_FAIL | OUT_OK;
    else o = OUT_FAIL;
    if (ev->attempt != expect && !((o & OUT_OK) && ev->attempt == 1))
        bad(FAM_BACKOFF, "attempt %u follows attempt %u (expected %u%s)", ev->attempt, S.att, expect,
            S.healthy ? ": the connection had been healthy, the count should restart" : "");
    if (o == (OUT_FAIL | OUT_OK) && expect != 1) o = ev->attempt == 1 ? OUT_OK : OUT_FAIL; /* the count tells */
    S.att = ev->attempt;
    breaker_check(o, "attempt ended");
    backoff_bounds(ev->attempt, &lo, &hi);
    rmin = S.ra_min >= 0 && (uint32_t)S.ra_min > lo ? (uint32_t)S.ra_min : lo;
    rmax = S.ra_max >= 0 && (uint32_t)S.ra_max > hi ? (uint32_t)S.ra_max : hi;
    /* an open breaker stretches the announced wait to the end of its cool-down */
    if (S.bstate == HL_BREAKER_OPEN) {
        uint64_t gone = g_now - S.bopened_at, cool = (uint64_t)S.br.cooldown_ms * MS;
        uint32_t left = gone < cool ? (uint32_t)((cool - gone) / MS) : 0;
        if (left > rmax) rmax = left;
        if (left > rmin) rmin = left;
    }
    if (ev->delay_ms < rmin || ev->delay_ms > rmax)
        bad(FAM_BACKOFF, "attempt %u: delay %u ms outside [%u, %u] (jitter bounds [%u, %u], Retry-After %d..%d ms)",
            ev->attempt, ev->delay_ms, rmin, rmax, lo, hi, S.ra_min, S.ra_max);
    S.last_delay = ev->delay_ms;
    S.next_allowed = g_now + ev->delay_ms * MS;
}

static void ev_close(const hl_event *ev)
{
    int k;
    trace("ev CLOSE %s (%s) code %d origin %d", hl_result_name(ev->result), ev->detail, ev->close_code, (int)ev->close_origin);
    if (!S.closing && S.reconnect)
        bad(FAM_RESTORE, "gave up (HL_EV_CLOSE, %s: %s) although reconnect is on", hl_result_name(ev->result), ev->detail);
    if (S.closing && ev->close_origin != HL_CLOSE_BY_LOCAL)
        bad(FAM_WIRE, "close after hl_ws_close/abort has origin %d", (int)ev->close_origin);
    if (S.graceful && (ev->result != HL_OK || ev->close_code != 1000))
        bad(FAM_WIRE, "hl_ws_close(1000) on an open connection to a well-behaved server ended with %s, code %d (%s)",
            hl_result_name(ev->result), ev->close_code, ev->detail);
    S.alive = 0;
    S.state = HL_STATE_CLOSED;
    for (k = 0; k < NKIND; k++) {
        S.subs[k].h.id = 0;
        S.subs[k].st = (hl_sub_state)0;
    }
    if (!S.closing) { /* the user connects again by hand */
        S.user_reconnect_at = g_now + span(&S.ruser, 50, 2000) * MS;
        TOT.closes_by_hand++;
    }
}

static void ev_sub(const hl_event *ev)
{
    msub *m = sub_for(ev->sub.id, "HL_EV_SUB");
    hl_sub_state from, to = ev->sub_state;
    int k;
    if (!m) return;
    k = (int)(m - S.subs);
    from = m->st;
    trace("ev SUB %s %s %d -> %d %s", KTYPE(k), KCOIN(k), (int)from, (int)to, ev->detail);
    if (!((from == HL_SUB_PENDING && (to == HL_SUB_ACTIVE || to == HL_SUB_FAILED)) ||
          ((from == HL_SUB_ACTIVE || from == HL_SUB_FAILED) && to == HL_SUB_PENDING)))
        bad(FAM_RESTORE, "subscription %s %s went from state %d to %d", KTYPE(k), KCOIN(k), (int)from, (int)to);
    if (from == HL_SUB_ACTIVE && to == HL_SUB_PENDING) m->gap_from = g_now;
    if (to == HL_SUB_ACTIVE) {
        m->active_at = g_now;
        if (m->gap_from) S.gap_due = k;
    }
    if (to == HL_SUB_FAILED) TOT.failed_subs++;
    m->st = to;
}

static void on_event(hl_ctx *ctx, const hl_event *ev)
{
    msub *m;
    uint64_t seq;
    int k;
    (void)ctx;
    if (ev->ws.id != S.ws.id) bad(FAM_WIRE, "event for ws %08x, the user's is %08x", (unsigned)ev->ws.id, (unsigned)S.ws.id);
    if (S.gap_due >= 0 && ev->type != HL_EV_GAP) {
        bad(FAM_RESTORE, "no HL_EV_GAP after %s %s became active again", KTYPE(S.gap_due), KCOIN(S.gap_due));
        S.gap_due = -1;
    }
    switch (ev->type) {
    case HL_EV_STATE: ev_state(ev); break;
    case HL_EV_DISCONNECT: ev_disconnect(ev); break;
    case HL_EV_CLOSE: ev_close(ev); break;
    case HL_EV_SUB: ev_sub(ev); break;
    case HL_EV_PONG: trace("ev PONG %u bytes, rtt %.3f ms", (unsigned)ev->len, (double)ev->rtt_ns / 1e6); break;
    case HL_EV_ERROR: trace("ev ERROR %s: %s (http %d)", hl_result_name(ev->result), ev->detail, ev->http_status); break;
    case HL_EV_GAP:
        if (!(m = sub_for(ev->sub.id, "HL_EV_GAP"))) break;
        k = (int)(m - S.subs);
        TOT.gaps++;
        trace("ev GAP %s %s %.3f s", KTYPE(k), KCOIN(k), (double)(ev->gap_to_ns - ev->gap_from_ns) / 1e9);
        if (S.gap_due != k || ev->gap_from_ns != m->gap_from || ev->gap_to_ns != g_now)
            bad(FAM_RESTORE, "HL_EV_GAP of %s %s from %.3f to %.3f, expected from %.3f to now %.3f", KTYPE(k), KCOIN(k),
                (double)(ev->gap_from_ns - T0) / 1e9, (double)(ev->gap_to_ns - T0) / 1e9,
                (double)(m->gap_from - T0) / 1e9, (double)(g_now - T0) / 1e9);
        m->gap_from = 0;
        S.gap_due = -1;
        break;
    case HL_EV_STALE:
        if (!(m = sub_for(ev->sub.id, "HL_EV_STALE"))) break;
        k = (int)(m - S.subs);
        trace("ev STALE %s %s %llu ms", KTYPE(k), KCOIN(k), (unsigned long long)ev->stale_ms);
        if (!m->stale_ms || ev->stale_ms < m->stale_ms || m->st != HL_SUB_ACTIVE || S.state != HL_STATE_OPEN ||
            g_now - (m->last_at > m->active_at ? m->last_at : m->active_at) < m->stale_ms * MS)
            bad(FAM_RESTORE, "HL_EV_STALE of %s %s (%llu ms, stale_after_ms %u) while it is not stale (state %d, "
                             "last message %.3f, active since %.3f)", KTYPE(k), KCOIN(k), (unsigned long long)ev->stale_ms,
                m->stale_ms, (int)m->st, (double)(m->last_at - T0) / 1e9, (double)(m->active_at - T0) / 1e9);
        break;
    case HL_EV_DROPPED:
        if (!(m = sub_for(ev->sub.id, "HL_EV_DROPPED"))) break;
        TOT.drops++;
        if (!m->pull) bad(FAM_WIRE, "HL_EV_DROPPED for a subscription with a handler");
        break;
    case HL_EV_MESSAGE:
        k = feed_kind(ev->data, ev->len, &seq);
        if (k == 3 && !S.subs[3].h.id) k = 6;
        if (k >= 0 && S.subs[k].h.id)
            bad(FAM_UNSUB, "feed data of live subscription %s %s delivered as a plain message", KTYPE(k), KCOIN(k));
        break;
    default:
        break;
    }
}

/* ---- pools ------------------------------------------------------------------------------------- */

/* Slots in use agree with what the user holds; queue slots are either free or queued. */
static void pools_check(int final)
{
    hl_ctx *x = S.ctx;
    uint32_t i, live = 0, queued = 0, nfree = 0, routes = 0, held = 0;
    int32_t q;
    int k;
    for (i = 0; i < x->cfg.max_subscriptions; i++) {
        if (!x->subs[i].id) continue;
        queued += x->subs[i].st.queued;
        if (!x->subs[i].unsub_pending) live++;
        else if (final) bad(FAM_POOLS, "subscription slot %u still waits for its unsubscribe", i);
    }
    for (k = 0; k < NKIND; k++) held += S.subs[k].h.id != 0;
    for (q = x->qfree; q >= 0 && nfree <= x->cfg.queue_slots; q = x->qslots[q].next) nfree++;
    for (i = 0; i < x->route_cap; i++) {
        int32_t r = x->routes[i];
        if (r < 0) continue;
        routes++;
        if (!x->subs[r].id || x->subs[r].unsub_pending)
            bad(FAM_POOLS, "route entry %u points at subscription slot %d, which is %s", i, r, x->subs[r].id ? "removed" : "free");
    }
    if (live != held) bad(FAM_POOLS, "%u subscription slots live, the user holds %u", live, held);
    if (nfree + queued != x->cfg.queue_slots)
        bad(FAM_POOLS, "queue slots: %u free + %u queued != %u", nfree, queued, x->cfg.queue_slots);
    if (routes != live) bad(FAM_POOLS, "%u route entries for %u live subscriptions", routes, live);
    if (!final) return;
    for (i = 0; i < x->cfg.max_connections; i++)
        if (x->conns[i].id) bad(FAM_POOLS, "connection slot %u still in use after HL_EV_CLOSE", i);
    for (k = 0; k < HL__MAX_VENUES; k++)
        if (x->venues[k].subs) bad(FAM_POOLS, "venue %d still counts %u subscriptions", k, x->venues[k].subs);
    for (k = 0; k < SC_MAX; k++)
        if (S.sc[k].used) bad(FAM_POOLS, "transport handle %d (#%d) never closed", (int)S.sc[k].h, S.sc[k].n);
    if (hl_pollfds(x, NULL, 0) != 0 || hl_next_timeout(x) != -1)
        bad(FAM_POOLS, "an empty context still lists sockets or deadlines");
}

/* ---- the loop ---------------------------------------------------------------------------------- */

static void sched_run(const sev *e)
{
    int i, n;
    TOT.faults[e->what]++;
    trace("== %s", sev_name[e->what]);
    switch (e->what) {
    case E_OUTAGE:
        n = (int)span(&S.rs, 1, S.br.failures + 1);
        trace("  the next %d attempts fail", n);
        srv_fault(E_EOF, 0);
        for (i = 0; i < n && S.afq_tail - S.afq_head < AFQ_MAX; i++)
            S.afq[S.afq_tail++ % AFQ_MAX] = (int)span(&S.rs, A_REFUSE_NOW, A_HS_HANG);
        S.last_effect = g_now;
        break;
    case E_SLOW:
        S.slow_until = S.last_effect = g_now + span(&S.rs, 2000, 10000) * MS;
        break;
    case E_REJECT:
        S.reject_until = S.last_effect = g_now + span(&S.rs, 1000, 8000) * MS;
        S.reject_mask = span(&S.rs, 1, (1u << NKIND) - 1);
        trace("  rejecting kinds %02x until %.3f", S.reject_mask, (double)(S.reject_until - T0) / 1e9);
        break;
    case E_SUB:
        user_subscribe(e->arg, 0);
        break;
    case E_UNSUB:
        for (i = 0; i < NKIND && !S.subs[(e->arg + i) % NKIND].wanted; i++) {}
        if (i < NKIND) user_unsubscribe((e->arg + i) % NKIND, NULL);
        break;
    case E_RC_OFF:
    case E_RC_ON:
        user_set_reconnect(e->what == E_RC_ON);
        if (e->what == E_RC_ON && !S.alive && !S.user_reconnect_at) S.user_reconnect_at = g_now;
        break;
    default:
        srv_fault(e->what, e->arg);
        break;
    }
}

static void user_run_due(void)
{
    while (S.iev < S.nev && S.ev[S.iev].at <= g_now) sched_run(&S.ev[S.iev++]);
    if (S.next_pull <= g_now && !S.stop_pulling) user_pull();
    if (S.user_reconnect_at && S.user_reconnect_at <= g_now && !S.alive && !S.closing) user_connect();
}

static uint64_t user_next(void)
{
    uint64_t t = S.stop_pulling ? UINT64_MAX : S.next_pull;
    if (S.iev < S.nev && S.ev[S.iev].at < t) t = S.ev[S.iev].at;
    if (S.user_reconnect_at > g_now && S.user_reconnect_at < t && !S.alive) t = S.user_reconnect_at;
    return t;
}

/* The earliest deadline the library holds, read from its fields: ms from now, or -1. */
static int lib_deadline_ms(void)
{
    int i, to = -1;
    for (i = 0; i < (int)S.ctx->cfg.max_connections; i++) {
        const hl__conn *c = &S.ctx->conns[i];
        uint64_t t = c->deadline > g_now ? c->deadline : c->wake > g_now ? c->wake : 0;
        if (c->id && t && (to < 0 || (int)((t - g_now + MS - 1) / MS) < to)) to = (int)((t - g_now + MS - 1) / MS);
    }
    return to;
}

/* Run until t_end, or until the connection is closed when until_closed. */
static void run_until(uint64_t t_end, int until_closed)
{
    int spins = 0;
    while (!S.abort && !(until_closed && !S.alive)) {
        hl_pollfd fds[8];
        int i, n, to, any = 0, r;
        uint64_t next, t;
        srv_run_due();
        user_run_due();
        n = hl_pollfds(S.ctx, fds, 8);
        if (n > 8 || n < 0) {
            bad(FAM_WIRE, "hl_pollfds returned %d", n);
            S.abort = 1;
            break;
        }
        for (i = 0; i < n; i++) {
            fds[i].revents = readiness(fds[i].fd, fds[i].events);
            any |= fds[i].revents != 0;
        }
        to = hl_next_timeout(S.ctx);
        if ((any || to == 0) && spins < 200) {
            spins++;
            if ((r = hl_process(S.ctx, fds, n)) < 0) bad(FAM_WIRE, "hl_process returned %s", hl_result_name(r));
            if (S.gap_due >= 0) {
                bad(FAM_RESTORE, "no HL_EV_GAP after %s %s became active again", KTYPE(S.gap_due), KCOIN(S.gap_due));
                S.gap_due = -1;
            }
            healthy_check();
            pools_check(0);
            continue;
        }
        if (spins >= 200) {
            /* Ready or due at every call, and nothing changes: under hl_poll that is a busy loop
               while real time passes. Report it once, then let virtual time pass the same way. */
            const hl__conn *c = &S.ctx->conns[S.alive ? (S.ws.id & 0xFFFF) - 1 : 0];
            if (!S.busy_reported++)
                bad(FAM_WIRE, "busy loop: hl_process called %d times at one instant without progress (%s; state %s, "
                              "held message %d, held by queue %d, kick %d)", spins,
                    any ? "hl_pollfds asks for readiness the socket has" : "hl_next_timeout() stays 0",
                    hl_state_str(c->state), c->ws.held, c->held_by_queue, c->kick);
            to = lib_deadline_ms();
        }
        next = t_end;
        if (to > 0 && g_now + (uint64_t)to * MS < next) next = g_now + (uint64_t)to * MS;
        if ((t = srv_next()) < next) next = t;
        if ((t = user_next()) < next) next = t;
        if (next <= g_now) break;
        g_now = next;
        spins = 0;
    }
}

/* ---- one seed ----------------------------------------------------------------------------------- */

static void *g_mem;
static size_t g_mem_size;

static void base_config(hl_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_connections = 2;
    c->max_message_size = 16384;
    c->read_chunk_size = 1024;
    c->send_queue_size = 4096;
    c->max_header_size = 2048;
    c->max_subscriptions = 16;
    c->queue_slots = 24;
    c->queue_slot_size = 1024;
    c->json_max_tokens = 64;
    c->clock = sim_clock;
    c->entropy = sim_entropy;
    c->resolve = sim_resolve;
    c->wall_clock = sim_wall;
    c->transport = &g_tp;
}

static void setup(uint64_t seed)
{
    static const uint32_t mults[5] = {0, 100, 150, 200, 300};
    static const uint32_t cpms[3] = {0, 12, 120};
    hl_backoff *b = &S.desc.backoff;
    hl_breaker_config *br = &S.desc.breaker;
    uint32_t iv;
    int i, rc;
    memset(&S, 0, sizeof S);
    memset(seed_bad, 0, sizeof seed_bad);
    S.seed = seed;
    S.rs = seed * 0x2545F4914F6CDD1Dull;
    S.rsrv = S.rs ^ 0x1111111111111111ull;
    S.ruser = S.rs ^ 0x2222222222222222ull;
    S.rent = S.rs ^ 0x3333333333333333ull;
    S.gap_due = -1;
    g_now = T0;

    /* staying-up policy: zeros mean the documented defaults */
    b->initial_ms = chance(&S.rs, 10) ? 0 : span(&S.rs, 100, 1500);
    b->max_ms = chance(&S.rs, 10) ? 0 : span(&S.rs, b->initial_ms ? b->initial_ms : 1000, 12000);
    b->multiplier_pct = mults[pick(&S.rs, 5)];
    b->jitter = (hl_jitter)pick(&S.rs, 4);
    b->jitter_pct = chance(&S.rs, 20) ? 0 : span(&S.rs, 1, 60);
    b->healthy_ms = chance(&S.rs, 10) ? 0 : span(&S.rs, 1000, 8000);
    br->failures = chance(&S.rs, 15) ? 0 : span(&S.rs, 1, 5);
    br->cooldown_ms = chance(&S.rs, 10) ? 0 : span(&S.rs, 1000, 10000);
    S.bo = *b;
    if (!S.bo.initial_ms) S.bo.initial_ms = 1000;
    if (!S.bo.max_ms) S.bo.max_ms = 30000;
    if (!S.bo.multiplier_pct) S.bo.multiplier_pct = 200;
    if (!S.bo.jitter) S.bo.jitter = HL_JITTER_PROPORTIONAL;
    if (!S.bo.jitter_pct) S.bo.jitter_pct = 20;
    if (!S.bo.healthy_ms) S.bo.healthy_ms = 10000;
    S.br = *br;
    if (!S.br.failures) S.br.failures = 5;
    if (!S.br.cooldown_ms) S.br.cooldown_ms = 15000;

    /* heartbeats: at least one of RFC 6455 ping and application ping; silence past both */
    S.desc.ping_interval_ms = chance(&S.rs, 50) ? span(&S.rs, 1500, 5000) : 0;
    S.desc.app_ping_ms = chance(&S.rs, 60) || !S.desc.ping_interval_ms ? span(&S.rs, 1500, 6000) : HL_UNLIMITED;
    S.desc.pong_timeout_ms = span(&S.rs, 2000, 5000);
    iv = S.desc.ping_interval_ms && S.desc.ping_interval_ms < S.desc.app_ping_ms ? S.desc.ping_interval_ms : S.desc.app_ping_ms;
    S.desc.silence_timeout_ms = chance(&S.rs, 50) ? span(&S.rs, iv + 1000, iv + 6000) : 0;
    S.desc.url = "ws://api.hyperliquid.sim/ws";
    S.desc.on_event = on_event;
    S.desc.headers = sim_headers;
    S.desc.profile = hl_profile_hyperliquid();

    base_config(&S.cfg);
    S.cfg.connect_timeout_ms = span(&S.rs, 1000, 4000);
    S.cfg.handshake_timeout_ms = span(&S.rs, 1000, 4000);
    S.cfg.close_timeout_ms = span(&S.rs, 1000, 3000);
    S.cfg.connects_per_minute = cpms[pick(&S.rs, 3)];
    S.cfg.max_subscriptions = chance(&S.rs, 50) ? 8 : 16; /* 8: a small route table, rebuilt often */
    S.cpm = S.cfg.connects_per_minute ? S.cfg.connects_per_minute : 30;
    if (g_trace) {
        S.cfg.log = sim_log;
        S.cfg.log_level = HL_LOG_DEBUG;
    }
    S.tick_ms = span(&S.rs, 300, 1200);
    S.lat_ms = span(&S.rs, 0, 30);
    S.proc_ms = span(&S.rs, 1, 50);
    S.pull_ms = span(&S.rs, 200, 1500);
    S.next_tick = g_now + S.tick_ms * MS;
    S.next_pull = g_now + S.pull_ms * MS;
    S.quiet = ((uint64_t)S.bo.max_ms + S.br.cooldown_ms + S.cfg.connect_timeout_ms + S.cfg.handshake_timeout_ms +
               12000 + 5000 + 2 * 60000 / S.cpm + 10000) * MS;

    /* the schedule */
    S.end_sched = g_now + span(&S.rs, 20, 80) * SEC;
    S.nev = (int)span(&S.rs, 3, 14);
    for (i = 0; i < S.nev; i++) {
        unsigned w = 0, r, e;
        sev x;
        int j;
        for (e = 0; e < E_COUNT; e++) w += sev_weight[e];
        r = pick(&S.rs, w);
        for (e = 0; r >= sev_weight[e]; e++) r -= sev_weight[e];
        x.at = g_now + span(&S.rs, 500, (uint32_t)((S.end_sched - g_now) / MS)) * MS;
        x.what = (int)e;
        x.arg = (int)(e == E_GARBAGE ? pick(&S.rs, 5) : e == E_CLOSE ? pick(&S.rs, 2) : pick(&S.rs, NKIND));
        for (j = i; j > 0 && S.ev[j - 1].at > x.at; j--) S.ev[j] = S.ev[j - 1];
        S.ev[j] = x;
    }

    if ((rc = hl_ctx_init(&S.ctx, g_mem, g_mem_size, &S.cfg)) != HL_OK) {
        bad(FAM_WIRE, "hl_ctx_init returned %s", hl_result_name(rc));
        S.abort = 1;
        return;
    }
    if (g_trace) {
        printf("seed %llu: backoff %u..%u ms x%u%% jitter %d/%u%% healthy %u ms; breaker %u failures, cool-down %u ms;\n"
               "  ping %u ms, app ping %u ms, pong timeout %u ms, silence %u ms; timeouts connect %u handshake %u close %u;\n"
               "  connects/min %u; tick %u ms, latency <= %u ms, processing <= %u ms, pull every %u ms; %d events:\n",
               (unsigned long long)seed, S.bo.initial_ms, S.bo.max_ms, S.bo.multiplier_pct, (int)S.bo.jitter,
               S.bo.jitter_pct, S.bo.healthy_ms, S.br.failures, S.br.cooldown_ms, S.desc.ping_interval_ms,
               S.desc.app_ping_ms, S.desc.pong_timeout_ms, S.desc.silence_timeout_ms, S.cfg.connect_timeout_ms,
               S.cfg.handshake_timeout_ms, S.cfg.close_timeout_ms, S.cpm, S.tick_ms, S.lat_ms, S.proc_ms, S.pull_ms,
               S.nev);
        for (i = 0; i < S.nev; i++)
            printf("    %9.3f  %s (%d)\n", (double)(S.ev[i].at - T0) / 1e9, sev_name[S.ev[i].what], S.ev[i].arg);
    }
    S.reconnect = 1;
    user_connect();
    for (i = (int)span(&S.rs, 1, 4); i > 0; i--) user_subscribe((int)pick(&S.rs, NKIND), 0);
}

/* After the last fault and a quiet time: open, every wanted subscription active (or failed if
   this connection's server rejected it), the server agrees, and data flows to each. */
static void recovery_check(void)
{
    sconn *c = srv_open_conn();
    unsigned want = 0, have;
    uint64_t before[NKIND];
    int k;
    hl_ws_stats ws;
    if (!S.alive || hl_ws_state(S.ctx, S.ws) != HL_STATE_OPEN || !c) {
        bad(FAM_RESTORE, "not open %.0f s after the last fault (state %s, breaker %s, last attempt %.3f s ago)",
            (double)S.quiet / 1e9, S.alive ? hl_state_str(hl_ws_state(S.ctx, S.ws)) : "closed", bname(S.bstate),
            (double)(g_now - S.last_attempt) / 1e9);
        return;
    }
    if (hl_ws_stats_get(S.ctx, S.ws, &ws) != HL_OK || ws.attempts != S.h_attempts || ws.connects != S.h_opens ||
        ws.reconnects != S.h_attempts - 1)
        bad(FAM_WIRE, "hl_ws_stats: attempts %llu, connects %llu, reconnects %llu; the transport saw %llu attempts, %llu opens",
            (unsigned long long)ws.attempts, (unsigned long long)ws.connects, (unsigned long long)ws.reconnects,
            (unsigned long long)S.h_attempts, (unsigned long long)S.h_opens);
    for (k = 0; k < NKIND; k++) {
        msub *m = &S.subs[k];
        hl_sub_stats st;
        hl_sub_state expect;
        if (!m->wanted) continue;
        if (!m->h.id || hl_sub_stats_get(S.ctx, m->h, &st) != HL_OK) {
            bad(FAM_RESTORE, "%s %s is wanted but has no live handle", KTYPE(k), KCOIN(k));
            continue;
        }
        expect = (c->rejected >> k & 1) ? HL_SUB_FAILED : HL_SUB_ACTIVE;
        if (st.state != expect || m->st != expect)
            bad(FAM_RESTORE, "%s %s is in state %d (events said %d), expected %d (server #%d: subscribed %02x, rejected %02x)",
                KTYPE(k), KCOIN(k), (int)st.state, (int)m->st, (int)expect, c->n, c->subs, c->rejected);
        if (expect == HL_SUB_ACTIVE) want |= 1u << k;
    }
    have = c->subs;
    if (have != want) bad(FAM_RESTORE, "the server has kinds %02x subscribed, the user wants %02x", have, want);
    for (k = 0; k < NKIND; k++) before[k] = S.subs[k].got;
    run_until(g_now + (3 * (uint64_t)S.tick_ms + 2 * S.pull_ms + 200) * MS, 0);
    for (k = 0; k < NKIND; k++) {
        hl_sub_stats st;
        if (!(want >> k & 1) || !S.subs[k].h.id) continue;
        if (hl_sub_stats_get(S.ctx, S.subs[k].h, &st) != HL_OK || S.subs[k].got == before[k])
            bad(FAM_RESTORE, "no data reached %s %s after recovery", KTYPE(k), KCOIN(k));
    }
}

static void run_seed(uint64_t seed)
{
    uint64_t cap;
    int rc;
    setup(seed);
    if (S.abort) return;
    run_until(S.end_sched, 0);
    /* recovery: reconnect on, and quiet until no fault has acted for S.quiet */
    if (!S.reconnect) user_set_reconnect(1);
    if (!S.alive && !S.user_reconnect_at) S.user_reconnect_at = g_now;
    cap = g_now + 20 * S.quiet;
    while (!S.abort && S.last_effect + S.quiet > g_now && g_now < cap)
        run_until(S.last_effect + S.quiet < cap ? S.last_effect + S.quiet : cap, 0);
    run_until(g_now + S.quiet / 2, 0);
    if (!S.abort) recovery_check();
    /* close everything: the pools must be back to their initial counts */
    S.closing = 1;
    if (S.alive && chance(&S.ruser, 30)) { /* the consumer stops first: queues fill up, then close */
        trace("user: stops pulling");
        S.stop_pulling = 1;
        run_until(g_now + 4 * (uint64_t)S.tick_ms * MS, 0);
    }
    if (S.alive) {
        S.graceful = S.state == HL_STATE_OPEN && chance(&S.ruser, 70);
        trace("user: %s", S.graceful ? "hl_ws_close 1000" : "hl_ws_abort");
        rc = S.graceful ? hl_ws_close(S.ctx, S.ws, 1000, "bye") : hl_ws_abort(S.ctx, S.ws);
        if (rc != HL_OK) bad(FAM_WIRE, "%s returned %s", S.graceful ? "hl_ws_close" : "hl_ws_abort", hl_result_name(rc));
        if (S.stop_pulling && chance(&S.ruser, 50)) { /* and pulls again while it closes */
            trace("user: pulls again");
            S.stop_pulling = 0;
            S.next_pull = g_now + S.pull_ms * MS;
        }
        run_until(g_now + 60 * SEC, 1);
        if (S.alive) bad(FAM_POOLS, "no HL_EV_CLOSE within 60 s of closing");
    }
    pools_check(1);
    TOT.seeds++;
    TOT.vtime += g_now - T0;
    if (S.ctx) hl_ctx_shutdown(S.ctx);
}

/* ---- main --------------------------------------------------------------------------------------- */

static int fam_fails[NFAM];
static uint64_t fam_seed[NFAM];
static char fam_why[NFAM][400];
static uint64_t g_nseeds;
static int g_fam;

static void family_result(void)
{
    char m[440];
    if (!fam_fails[g_fam]) return;
    snprintf(m, sizeof m, "%d of %llu seeds failed; first seed %llu: %.300s (rerun: SIM_SEED=%llu build/test_sim)",
             fam_fails[g_fam], (unsigned long long)g_nseeds, (unsigned long long)fam_seed[g_fam], fam_why[g_fam],
             (unsigned long long)fam_seed[g_fam]);
    hl_test_fail_at(__FILE__, __LINE__, m);
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    hl_config cfg;
    const char *e;
    uint64_t first = 1, s, traced = 0;
    double t0, dt;
    int f, n, single = 0, list;
    char name[160];
    g_nseeds = 1000;
    if ((e = getenv("SIM_SEEDS")) && *e) g_nseeds = strtoull(e, NULL, 10);
    if ((e = getenv("SIM_FIRST")) && *e) first = strtoull(e, NULL, 10);
    list = (e = getenv("SIM_LIST")) && *e == '1';
    if ((e = getenv("SIM_SEED")) && *e) {
        first = strtoull(e, NULL, 10);
        g_nseeds = 1;
        single = g_trace = 1;
    }
    base_config(&cfg);
    g_mem_size = hl_ctx_size(&cfg);
    g_mem = malloc(g_mem_size);
    if (!g_mem) return 2;
    t0 = wall_seconds();
    for (s = first; s < first + g_nseeds; s++) {
        run_seed(s);
        for (f = 0; f < NFAM; f++) {
            if (!seed_bad[f]) continue;
            if (list) printf("# seed %llu %s: %s\n", (unsigned long long)s, fam_name[f], seed_why[f]);
            if (!fam_fails[f]++) {
                fam_seed[f] = s;
                memcpy(fam_why[f], seed_why[f], sizeof fam_why[f]);
            }
        }
    }
    dt = wall_seconds() - t0;
    printf("# %llu seeds in %.2f s (%.0f seeds/s), %.1f virtual hours: %llu connects, %llu opens, %llu disconnects,\n"
           "#   %llu reconnects by hand (reconnect off), %llu messages, %llu gaps, %llu drops, %llu rejected subscriptions,\n"
           "#   breaker: %llu opens, %llu HALF_OPEN -> CLOSED, %llu circuit-open BACKOFF events; %llu attempts over 1 s\n"
           "#   later than their DISCONNECT announced\n",
           (unsigned long long)TOT.seeds, dt, dt > 0 ? (double)TOT.seeds / dt : 0.0, (double)TOT.vtime / 3.6e12,
           (unsigned long long)TOT.connects, (unsigned long long)TOT.opens, (unsigned long long)TOT.disconnects,
           (unsigned long long)TOT.closes_by_hand, (unsigned long long)TOT.msgs, (unsigned long long)TOT.gaps,
           (unsigned long long)TOT.drops, (unsigned long long)TOT.failed_subs, (unsigned long long)TOT.breaker_opens,
           (unsigned long long)TOT.breaker_closes, (unsigned long long)TOT.circuit_events,
           (unsigned long long)TOT.late_attempts);
    printf("# faults:");
    for (f = 0; f < E_COUNT; f++) printf(" %s %llu;", sev_name[f], (unsigned long long)TOT.faults[f]);
    printf("\n# attempt faults:");
    for (f = 1; f < A_COUNT; f++) printf(" %s %llu;", afault_name[f], (unsigned long long)TOT.afaults[f]);
    printf("\n");
    /* print the trace of the first failing seeds (at most two) */
    for (f = 0, n = 0; f < NFAM && !single && n < 2; f++) {
        if (!fam_fails[f] || fam_seed[f] == traced) continue;
        n++;
        printf("--- trace of seed %llu (%s) ---\n", (unsigned long long)fam_seed[f], fam_name[f]);
        g_trace = 1;
        run_seed(fam_seed[f]);
        g_trace = 0;
        traced = fam_seed[f];
    }
    for (f = 0; f < NFAM; f++) {
        g_fam = f;
        snprintf(name, sizeof name, "%s (%llu seed%s)", fam_name[f], (unsigned long long)g_nseeds, g_nseeds == 1 ? "" : "s");
        hl_test_run(name, family_result);
    }
    free(g_mem);
    return hl_test_summary();
}
