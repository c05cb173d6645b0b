/* Integration tests of "Connections that stay up": the client, through the public API only, against
   the Hyperliquid-like server (tests/servers/hl_server.py), most of the time through the TCP fault
   proxy (tests/servers/fault_proxy.py) that stalls, slows, resets, refuses and corrupts on command.
   Every wait is a bounded poll loop; timings are only ever checked as generous upper bounds of
   what the configuration promises (or as the exact numbers the library itself reports).
   On a failure the test prints the events its connections saw ("  trace ..." lines, times in ms).
   POSIX only, like the harness. Run from the repo root; about 45 s in all (IT_ONLY=word runs the
   tests whose name holds word).

   Every configuration field of this feature changes behaviour in some test:

   hl_config
     connects_per_minute       t_connect_budget_caps_attempts (3/min: the 4th attempt waits;
                               unlimited: many) and HL_UNLIMITED everywhere else
     ws_msgs_per_minute        t_thousand_subs_replayed_within_msg_budget (replay paced)
     max_subscriptions         t_thousand_subs_replayed_within_msg_budget (1100 slots),
                               t_local_subscription_limits (4 slots: HL_E_POOL_EMPTY)
     max_subscriptions_venue   t_thousand_subs_replayed_within_msg_budget (the 1001st is
                               HL_E_RATE_LIMITED), t_local_subscription_limits (3)
     queue_slots               t_queue_slots_bound_every_queue
     queue_slot_size           t_queue_slot_size_drops_big_messages
     json_max_tokens           t_msg_tokens_bounded_by_json_max_tokens
   hl_ws_desc
     reconnect                 t_set_reconnect_off_makes_drop_final (desc field and the call)
     backoff.initial_ms, max_ms, multiplier_pct
                               t_backoff_gives_up_after_max_attempts (exact delays, no jitter),
                               t_restart_reconnects_with_backoff_and_resubscribes
     backoff.jitter, jitter_pct t_restart_reconnects_with_backoff_and_resubscribes (proportional
                               25 %), t_half_open_detected_by_ping_timeout (full),
                               t_backoff_gives_up_after_max_attempts (none)
     backoff.max_attempts      t_backoff_gives_up_after_max_attempts
     backoff.healthy_ms        t_healthy_connection_resets_attempts,
                               t_close_storm_opens_breaker_and_probe_closes_it
     breaker.failures, cooldown_ms
                               t_close_storm_opens_breaker_and_probe_closes_it,
                               t_close_during_handshake_is_retried
     breaker.ratio_pct, ratio_min_calls, ratio_window_ms
                               t_breaker_ratio_opens_on_failure_share
     ping_interval_ms, pong_timeout_ms
                               t_half_open_detected_by_ping_timeout
     app_ping_ms               t_app_ping_keeps_idle_connection_up
     silence_timeout_ms        t_silence_watchdog_reconnects
     profile                   t_no_profile_no_routing (and every routed test)
     batch_events              t_batch_events_bracket_messages
   hl_sub_desc
     queue_len, overflow       t_overflow_reject_new, t_overflow_drop_oldest, t_overflow_conflate,
                               t_overflow_backpressure
     stale_after_ms            t_stale_subscription_reported_alone

   Also: server close 1012, HTTP 429 on the upgrade (retried) and Retry-After (a responder written
   here: ws_python_server.py's /reject sends no Retry-After), garbage bytes, a slow link,
   subscription errors from the server, unsubscribe, hl_stats_json. */
#define _DEFAULT_SOURCE /* popen, kill and friends under -std=c99 (glibc) */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#define IT_LOG 64
#define HL_SERVER "tests/servers/hl_server.py"
#define FAULT_PROXY "tests/servers/fault_proxy.py"
#define WS_PY_SERVER "tests/servers/ws_python_server.py"

/* ---- small helpers ------------------------------------------------------------------------ */

static double it_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int it_contains(const unsigned char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;
    if (k > n) return 0;
    for (i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0) return 1;
    return 0;
}

/* The first "tid":N of a trades message; -1 when none. */
static long long it_tid(const unsigned char *p, size_t n)
{
    char buf[2048];
    const char *t;
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    t = strstr(buf, "\"tid\":");
    return t ? strtoll(t + 6, NULL, 10) : -1;
}

/* ---- what a connection saw ---------------------------------------------------------------- */

typedef struct it_rec {
    hl_state state;
    int opens, disconnects, closes, errors, messages, server_errors;
    int nbo;                                 /* entries into BACKOFF */
    uint32_t bo_delay[IT_LOG], bo_attempt[IT_LOG];
    int bo_result[IT_LOG];
    int disc_result[IT_LOG], disc_code[IT_LOG], disc_http[IT_LOG];
    uint32_t disc_delay[IT_LOG], disc_attempt[IT_LOG];
    hl_breaker_state breaker_at_open[IT_LOG];
    int close_result, close_code;
    int error_result, error_http;
    int sub_active, sub_failed, sub_pending;
    char sub_detail[256];
    hl_sub failed_sub;
    int gaps, gap_bad;
    int nstale;
    hl_sub stale_sub[8];
    long dropped;
    int dropped_events, dropped_result;
    int batch_begin, batch_end, in_batch, batch_bad;
    char last_msg[512];
    double t0;                               /* it_desc: the trace's times count from here */
    char trace[900];
} it_rec;

static void it_trace(it_rec *r, const char *fmt, ...)
{
    size_t used = strlen(r->trace);
    va_list ap;
    if (used + 48 >= sizeof r->trace) return;
    used += (size_t)snprintf(r->trace + used, sizeof r->trace - used, "%s%.0f:", used ? " " : "",
                             (it_now() - r->t0) * 1000.0);
    va_start(ap, fmt);
    vsnprintf(r->trace + used, sizeof r->trace - used, fmt, ap);
    va_end(ap);
}

static void it_on_event(hl_ctx *ctx, const hl_event *ev)
{
    it_rec *r = (it_rec *)ev->user;
    switch (ev->type) {
    case HL_EV_STATE:
        r->state = ev->state;
        if (ev->state == HL_STATE_BACKOFF) {
            if (r->nbo < IT_LOG) {
                r->bo_delay[r->nbo] = ev->delay_ms;
                r->bo_attempt[r->nbo] = ev->attempt;
                r->bo_result[r->nbo] = ev->result;
            }
            r->nbo++;
            it_trace(r, "BACKOFF(%u ms,#%u)", (unsigned)ev->delay_ms, (unsigned)ev->attempt);
        }
        break;
    case HL_EV_OPEN: {
        hl_ws_stats st;
        if (r->opens < IT_LOG && hl_ws_stats_get(ctx, ev->ws, &st) == HL_OK)
            r->breaker_at_open[r->opens] = st.breaker;
        r->opens++;
        it_trace(r, "open");
        break;
    }
    case HL_EV_MESSAGE:
        r->messages++;
        if (it_contains(ev->data, ev->len, "\"channel\":\"error\"")) r->server_errors++;
        snprintf(r->last_msg, sizeof r->last_msg, "%.*s", (int)(ev->len < 500 ? ev->len : 500),
                 (const char *)ev->data);
        if (r->batch_begin && !r->in_batch) r->batch_bad++;
        break;
    case HL_EV_ERROR:
        r->errors++;
        r->error_result = ev->result;
        r->error_http = ev->http_status;
        it_trace(r, "error(%s)", hl_result_name(ev->result));
        break;
    case HL_EV_CLOSE:
        r->closes++;
        r->close_result = ev->result;
        r->close_code = ev->close_code;
        r->state = HL_STATE_CLOSED;
        it_trace(r, "CLOSE(%s,%d)", hl_result_name(ev->result), ev->close_code);
        break;
    case HL_EV_DISCONNECT:
        if (r->disconnects < IT_LOG) {
            r->disc_result[r->disconnects] = ev->result;
            r->disc_code[r->disconnects] = ev->close_code;
            r->disc_http[r->disconnects] = ev->http_status;
            r->disc_delay[r->disconnects] = ev->delay_ms;
            r->disc_attempt[r->disconnects] = ev->attempt;
        }
        r->disconnects++;
        it_trace(r, "disc(%s,%d)", hl_result_name(ev->result), ev->close_code);
        break;
    case HL_EV_SUB:
        if (ev->sub_state == HL_SUB_ACTIVE) r->sub_active++;
        else if (ev->sub_state == HL_SUB_PENDING) r->sub_pending++;
        else if (ev->sub_state == HL_SUB_FAILED) {
            r->sub_failed++;
            r->failed_sub = ev->sub;
            snprintf(r->sub_detail, sizeof r->sub_detail, "%s", ev->detail);
            it_trace(r, "subfail");
        }
        break;
    case HL_EV_GAP:
        r->gaps++;
        if (!ev->gap_from_ns || ev->gap_to_ns < ev->gap_from_ns) r->gap_bad++;
        break;
    case HL_EV_STALE:
        if (r->nstale < 8) r->stale_sub[r->nstale] = ev->sub;
        r->nstale++;
        it_trace(r, "stale(%llu ms)", (unsigned long long)ev->stale_ms);
        break;
    case HL_EV_DROPPED:
        r->dropped += (long)ev->len;
        r->dropped_events++;
        r->dropped_result = ev->result;
        break;
    case HL_EV_BATCH_BEGIN:
        if (r->in_batch) r->batch_bad++;
        r->in_batch = 1;
        r->batch_begin++;
        break;
    case HL_EV_BATCH_END:
        if (!r->in_batch) r->batch_bad++;
        r->in_batch = 0;
        r->batch_end++;
        break;
    default:
        break;
    }
}

/* What a handler subscription saw. */
typedef struct it_subrec {
    it_rec *rec;          /* the connection's record (batch check) */
    const char *must;     /* every message must contain this */
    int msgs, wrong, after_gap, outside_batch;
    int unsub_after;      /* >0: the handler unsubscribes after this many messages */
    int want_tokens, tokens, tokens_again, tok_type;
    long long last_tid;
    int tid_back;
} it_subrec;

static void it_handler(hl_ctx *ctx, const hl_msg *m)
{
    it_subrec *s = (it_subrec *)m->user;
    long long tid = it_tid(m->data, m->len);
    s->msgs++;
    if (m->after_gap) s->after_gap++;
    if (s->must && !it_contains(m->data, m->len, s->must)) s->wrong++;
    if (s->rec && s->rec->batch_begin && !s->rec->in_batch) s->outside_batch++;
    if (tid >= 0) {
        if (tid < s->last_tid) s->tid_back++;
        s->last_tid = tid;
    }
    if (s->want_tokens) {
        const hl_json_tok *t = NULL, *t2 = NULL;
        s->tokens = hl_msg_tokens(ctx, m, &t);
        s->tokens_again = hl_msg_tokens(ctx, m, &t2);
        s->tok_type = s->tokens > 0 && t ? t[0].type : -1;
    }
    if (s->unsub_after && s->msgs == s->unsub_after) hl_ws_unsubscribe(ctx, m->sub);
}

/* ---- servers, proxy, contexts ------------------------------------------------------------- */

typedef struct it_env {
    hl_test_server srv, proxy;
    int srv_up, proxy_up;
    const char *const *srv_args;
    hl_ctx *ctx[2];
    void *mem[2];
    char url[128];
    /* a one-shot HTTP responder written here (Retry-After) */
    int lfd, cfd;
    char req[4096];
    size_t req_len;
    int responder_hits;
    const char *response;
} it_env;

static int it_spawn(hl_test_server *s, const char *script, int port, const char *const *extra)
{
    char *argv[40], portbuf[16];
    int n = 0, i;
    snprintf(portbuf, sizeof portbuf, "%d", port);
    argv[n++] = "/usr/bin/python3";
    argv[n++] = (char *)script;
    argv[n++] = "--port";
    argv[n++] = portbuf;
    for (i = 0; extra && extra[i] && n < 38; i++) argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    return hl_test_server_start(s, argv);
}

/* hl_server.py with extra arguments, and the fault proxy in front of it when proxy is set. The
   URL the client uses is in e->url. */
static int it_up(it_env *e, int proxy, const char *const *srv_args)
{
    memset(e, 0, sizeof *e);
    e->lfd = e->cfd = -1;
    e->srv_args = srv_args;
    if (it_spawn(&e->srv, HL_SERVER, 0, srv_args) != 0) return -1;
    e->srv_up = 1;
    if (proxy) {
        char target[64];
        const char *pargs[3];
        snprintf(target, sizeof target, "127.0.0.1:%d", e->srv.port);
        pargs[0] = "--target";
        pargs[1] = target;
        pargs[2] = NULL;
        if (it_spawn(&e->proxy, FAULT_PROXY, 0, pargs) != 0 || e->proxy.port2 <= 0) return -1;
        e->proxy_up = 1;
    }
    snprintf(e->url, sizeof e->url, "ws://127.0.0.1:%d/ws", proxy ? e->proxy.port : e->srv.port);
    return 0;
}

/* The server dies (SIGKILL: no goodbye to anyone). */
static void it_server_kill(it_env *e)
{
    if (!e->srv_up) return;
    kill(e->srv.pid, SIGKILL);
    waitpid(e->srv.pid, NULL, 0);
    close(e->srv.stdin_fd);
    e->srv.pid = 0;
    e->srv_up = 0;
}

/* A new server on the port of the old one. */
static int it_server_start_again(it_env *e)
{
    int port = e->srv.port;
    if (it_spawn(&e->srv, HL_SERVER, port, e->srv_args) != 0) return -1;
    e->srv_up = 1;
    return e->srv.port == port ? 0 : -1;
}

/* A control line to hl_server.py (its answer goes nowhere). */
static void it_srv(it_env *e, const char *line)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s\n", line);
    if (e->srv_up && write(e->srv.stdin_fd, buf, (size_t)n) != n) fprintf(stderr, "it_srv: write failed\n");
}

/* A command to the fault proxy; reply (may be NULL) gets its answer line. 0 when "OK ...". */
static int it_proxy(it_env *e, const char *cmd, char *reply, size_t cap)
{
    struct sockaddr_in a;
    char tmp[256];
    size_t n = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
    if (!reply) {
        reply = tmp;
        cap = sizeof tmp;
    }
    reply[0] = '\0';
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)e->proxy.port2);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)(void *)&a, sizeof a) == 0 &&
        write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd) && write(fd, "\n", 1) == 1) {
        while (n + 1 < cap && read(fd, reply + n, 1) == 1 && reply[n] != '\n') n++;
        reply[n] = '\0';
        ok = strncmp(reply, "OK", 2) == 0;
    }
    close(fd);
    return ok ? 0 : -1;
}

/* One number of the proxy's "stats" line (conns, accepted, c2s, s2c); -1 when unknown. */
static long long it_proxy_stat(it_env *e, const char *field)
{
    char reply[256], key[32];
    const char *p;
    if (it_proxy(e, "stats", reply, sizeof reply) != 0) return -1;
    snprintf(key, sizeof key, " %s=", field);
    p = strstr(reply, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void it_cfg(hl_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_connections = 2;
    cfg->max_message_size = 256u << 10;
    cfg->connects_per_minute = HL_UNLIMITED;
    cfg->connect_timeout_ms = 2000;
    cfg->handshake_timeout_ms = 2000;
    cfg->close_timeout_ms = 1000;
}

static hl_ctx *it_ctx(it_env *e, int i, const hl_config *cfg)
{
    size_t size = hl_ctx_size(cfg);
    e->mem[i] = malloc(size);
    if (!e->mem[i] || hl_ctx_init(&e->ctx[i], e->mem[i], size, cfg) != HL_OK) {
        free(e->mem[i]);
        e->mem[i] = NULL;
        e->ctx[i] = NULL;
    }
    return e->ctx[i];
}

/* Reconnecting, fast backoff without jitter, a breaker that stays out of the way, Hyperliquid. */
static void it_desc(hl_ws_desc *d, it_rec *r, const char *url)
{
    memset(d, 0, sizeof *d);
    memset(r, 0, sizeof *r);
    r->t0 = it_now();
    d->url = url;
    d->on_event = it_on_event;
    d->user = r;
    d->reconnect = 1;
    d->backoff.initial_ms = 50;
    d->backoff.max_ms = 200;
    d->backoff.jitter = HL_JITTER_NONE;
    d->breaker.failures = 1000;
    d->profile = hl_profile_hyperliquid();
}

static void it_subdesc(hl_sub_desc *sd, const char *json, it_subrec *h)
{
    memset(sd, 0, sizeof *sd);
    sd->subscription = json;
    if (h) {
        sd->on_message = it_handler;
        sd->user = h;
    }
}

/* The responder written here: every connection gets e->response, whatever it asks. */
static void it_responder(it_env *e)
{
    if (e->cfd < 0 && e->lfd >= 0) {
        e->cfd = accept(e->lfd, NULL, NULL);
        if (e->cfd >= 0) {
            fcntl(e->cfd, F_SETFL, O_NONBLOCK);
            e->req_len = 0;
        }
    }
    if (e->cfd >= 0) {
        ssize_t k = read(e->cfd, e->req + e->req_len, sizeof e->req - 1 - e->req_len);
        if (k > 0) {
            e->req_len += (size_t)k;
            e->req[e->req_len] = '\0';
        }
        if (k == 0 || strstr(e->req, "\r\n\r\n") || e->req_len + 1 >= sizeof e->req) {
            if (k != 0 && write(e->cfd, e->response, strlen(e->response)) < 0)
                fprintf(stderr, "responder: write failed\n");
            close(e->cfd);
            e->cfd = -1;
            e->responder_hits++;
        }
    }
}

static int it_responder_start(it_env *e, const char *response)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    e->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (e->lfd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(e->lfd, (struct sockaddr *)(void *)&a, sizeof a) != 0 || listen(e->lfd, 8) != 0 ||
        getsockname(e->lfd, (struct sockaddr *)(void *)&a, &len) != 0)
        return -1;
    fcntl(e->lfd, F_SETFL, O_NONBLOCK);
    e->response = response;
    snprintf(e->url, sizeof e->url, "ws://127.0.0.1:%d/ws", ntohs(a.sin_port));
    return 0;
}

/* One turn of every context (and of the responder). */
static void it_pump(it_env *e, int ms)
{
    if (e->ctx[0]) hl_poll(e->ctx[0], e->ctx[1] ? ms / 2 : ms);
    if (e->ctx[1]) hl_poll(e->ctx[1], ms / 2);
    if (e->lfd >= 0) it_responder(e);
}

static void it_run(it_env *e, int ms)
{
    double until = it_now() + ms / 1000.0;
    while (it_now() < until) it_pump(e, 10);
}

/* Poll until cond holds or ms pass. */
#define IT_WAIT(e, cond, ms)                                                                       \
    do {                                                                                           \
        double it_until_ = it_now() + (ms) / 1000.0;                                               \
        while (!(cond) && it_now() < it_until_) it_pump((e), 10);                                  \
    } while (0)

static void it_show(const char *name, const it_rec *r)
{
    if (hl_test_failed_now)
        printf("  trace %s: opens=%d disc=%d closes=%d subs(active=%d failed=%d) gaps=%d | %s\n", name,
               r->opens, r->disconnects, r->closes, r->sub_active, r->sub_failed, r->gaps, r->trace);
}

static void it_down(it_env *e)
{
    int i;
    for (i = 0; i < 2; i++) {
        if (e->ctx[i]) hl_ctx_shutdown(e->ctx[i]);
        free(e->mem[i]);
        e->ctx[i] = NULL;
        e->mem[i] = NULL;
    }
    if (e->cfd >= 0) close(e->cfd);
    if (e->lfd >= 0) close(e->lfd);
    e->cfd = e->lfd = -1;
    if (e->proxy_up) hl_test_server_stop(&e->proxy);
    if (e->srv_up) hl_test_server_stop(&e->srv);
    e->proxy_up = e->srv_up = 0;
}

/* it_up for a test: on failure the test fails ("server start"), everything started is stopped,
   and 0 tells the caller to return. */
static int it_start(it_env *e, int proxy, const char *const *srv_args)
{
    if (it_up(e, proxy, srv_args) == 0) return 1;
    hl_test_fail_at(__FILE__, __LINE__, "server start");
    it_down(e);
    return 0;
}

static hl_breaker_state it_breaker(it_env *e, int i, hl_ws ws)
{
    hl_ws_stats st;
    memset(&st, 0, sizeof st);
    hl_ws_stats_get(e->ctx[i], ws, &st);
    return st.breaker;
}

static uint64_t it_attempts(it_env *e, int i, hl_ws ws)
{
    hl_ws_stats st;
    memset(&st, 0, sizeof st);
    hl_ws_stats_get(e->ctx[i], ws, &st);
    return st.attempts;
}

static hl_sub_stats it_sstats(it_env *e, int i, hl_sub s)
{
    hl_sub_stats st;
    memset(&st, 0, sizeof st);
    hl_sub_stats_get(e->ctx[i], s, &st);
    return st;
}

static int it_all_active(it_env *e, const hl_sub *subs, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (it_sstats(e, 0, subs[i]).state != HL_SUB_ACTIVE) return 0;
    return 1;
}

/* Bounds of a proportionally jittered delay. */
static uint32_t it_base(uint32_t initial, uint32_t mult_pct, uint32_t max, uint32_t attempt)
{
    uint64_t d = initial;
    uint32_t i;
    for (i = 1; i < attempt; i++) d = d * mult_pct / 100;
    return (uint32_t)(d < max ? d : max);
}

/* ---- reconnect, backoff, resubscribe ------------------------------------------------------ */

/* The server dies and comes back on the same port: the client retries by itself with growing,
   jittered delays, and every subscription comes back active with a gap reported. */
static void t_restart_reconnects_with_backoff_and_resubscribes(void)
{
    static const char *const args[] = {"--rate", "20", NULL};
    static const char *const subs_json[3] = {"{\"type\":\"trades\",\"coin\":\"BTC\"}",
                                             "{\"type\":\"trades\",\"coin\":\"ETH\"}",
                                             "{\"type\":\"l2Book\",\"coin\":\"BTC\"}"};
    it_env e;
    it_rec r;
    it_subrec h[2];
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub subs[3];
    hl_ws ws;
    int i;
    if (it_up(&e, 1, args) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    d.backoff.initial_ms = 100;
    d.backoff.max_ms = 800;
    d.backoff.multiplier_pct = 200;
    d.backoff.jitter = HL_JITTER_PROPORTIONAL;
    d.backoff.jitter_pct = 25;
    d.backoff.healthy_ms = 60000;
    memset(h, 0, sizeof h);
    h[0].must = "\"coin\":\"BTC\"";
    h[1].must = "\"coin\":\"ETH\"";
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    for (i = 0; i < 3; i++) {
        it_subdesc(&sd, subs_json[i], i < 2 ? &h[i] : NULL);
        CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &subs[i]), HL_OK);
    }
    IT_WAIT(&e, it_all_active(&e, subs, 3) && h[0].msgs > 0 && h[1].msgs > 0, 5000);
    CHECK(it_all_active(&e, subs, 3));
    CHECK_EQ(r.gaps, 0);

    it_server_kill(&e);
    IT_WAIT(&e, r.nbo >= 4, 5000); /* the drop, then three refused attempts */
    CHECK(r.nbo >= 4);
    CHECK(it_server_start_again(&e) == 0);
    IT_WAIT(&e, r.opens >= 2 && it_all_active(&e, subs, 3) && r.gaps >= 3 && h[0].after_gap && h[1].after_gap,
            8000);

    CHECK_EQ(r.opens, 2);
    CHECK(r.disconnects >= 1);
    CHECK(hl_err_retryable(r.disc_result[0], r.disc_http[0]));
    for (i = 0; i < r.nbo && i < 4; i++) { /* 100, 200, 400, 800 ms, each +-25 %, capped at 800 */
        uint32_t base = it_base(100, 200, 800, (uint32_t)i + 1);
        uint32_t lo = base * 75 / 100, hi = base * 125 / 100 > 800 ? 800 : base * 125 / 100;
        CHECK_EQ(r.bo_attempt[i], i + 1);
        CHECK(r.bo_delay[i] >= lo && r.bo_delay[i] <= hi);
        if (i > 0) CHECK(r.bo_delay[i] > r.bo_delay[i - 1]); /* the ranges do not overlap */
    }
    CHECK(it_all_active(&e, subs, 3));
    CHECK_EQ(r.gaps, 3);
    CHECK_EQ(r.gap_bad, 0);
    CHECK_EQ(r.sub_active, 6);
    CHECK(h[0].after_gap == 1 && h[1].after_gap == 1); /* the first message after the gap only */
    CHECK_EQ(h[0].wrong + h[1].wrong, 0);
    CHECK_EQ(r.closes, 0);
    it_show("client", &r);
    it_down(&e);
}

/* Past max_attempts the connection ends (HL_EV_CLOSE); without jitter the delays are exactly
   initial * multiplier^n, capped at max_ms. */
static void t_backoff_gives_up_after_max_attempts(void)
{
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_ws ws;
    static const uint32_t want[4] = {50, 150, 400, 400};
    int i;
    if (it_up(&e, 1, NULL) != 0 || it_proxy(&e, "refuse", NULL, 0) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    d.backoff.initial_ms = 50;
    d.backoff.multiplier_pct = 300;
    d.backoff.max_ms = 400;
    d.backoff.jitter = HL_JITTER_NONE;
    d.backoff.max_attempts = 4;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    IT_WAIT(&e, r.closes > 0, 5000);
    CHECK_EQ(r.closes, 1);
    CHECK_EQ(r.nbo, 4);
    for (i = 0; i < 4 && i < r.nbo; i++) {
        CHECK_EQ(r.bo_delay[i], want[i]);
        CHECK_EQ(r.bo_attempt[i], i + 1);
    }
    CHECK_EQ(r.opens, 0);
    CHECK_EQ(it_proxy_stat(&e, "accepted"), 5); /* the first attempt and four retries */
    CHECK(hl_err_retryable(r.close_result, 0)); /* it gave up although a retry might help */
    CHECK_EQ(hl_ws_state(e.ctx[0], ws), HL_STATE_CLOSED);
    it_show("client", &r);
    it_down(&e);
}

/* A connection that stayed up for healthy_ms starts the attempt count again. */
static void t_healthy_connection_resets_attempts(void)
{
    static const char *const args[] = {"--rate", "0.01", NULL};
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub sub;
    hl_ws ws;
    int k;
    if (!it_start(&e, 0, args)) return;
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    d.backoff.initial_ms = 100;
    d.backoff.multiplier_pct = 200;
    d.backoff.max_ms = 1000;
    d.backoff.healthy_ms = 1500;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &sub), HL_OK);
    /* twice: drop as soon as the server has the subscription (well before healthy_ms) */
    for (k = 1; k <= 2; k++) {
        IT_WAIT(&e, r.sub_active >= k, 3000);
        it_srv(&e, "drop");
        IT_WAIT(&e, r.disconnects >= k, 3000);
    }
    IT_WAIT(&e, r.sub_active >= 3, 3000);
    it_run(&e, 2000); /* now it becomes healthy */
    it_srv(&e, "drop");
    IT_WAIT(&e, r.disconnects >= 3, 3000);
    CHECK_EQ(r.disconnects, 3);
    CHECK_EQ(r.disc_attempt[0], 1);
    CHECK_EQ(r.disc_delay[0], 100);
    CHECK_EQ(r.disc_attempt[1], 2);
    CHECK_EQ(r.disc_delay[1], 200);
    CHECK_EQ(r.disc_attempt[2], 1); /* healthy: counted from the start again */
    CHECK_EQ(r.disc_delay[2], 100);
    CHECK_EQ(r.disc_result[0], HL_E_RESET);
    it_show("client", &r);
    it_down(&e);
}

/* ---- liveness ------------------------------------------------------------------------------ */

/* A half-open link (the proxy forwards nothing, sockets stay open) is found by the RFC 6455 ping
   within ping_interval + pong_timeout; the client reconnects once the link works again. */
static void t_half_open_detected_by_ping_timeout(void)
{
    static const char *const args[] = {"--rate", "10", NULL};
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub sub;
    hl_ws ws;
    hl_ws_stats st;
    double t0, took = 0;
    int i;
    if (it_up(&e, 1, args) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    cfg.handshake_timeout_ms = 800; /* attempts during the stall fail fast */
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    d.ping_interval_ms = 300;
    d.pong_timeout_ms = 500;
    d.app_ping_ms = HL_UNLIMITED;
    d.backoff.initial_ms = 100;
    d.backoff.max_ms = 400;
    d.backoff.jitter = HL_JITTER_FULL;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &sub), HL_OK);
    IT_WAIT(&e, r.sub_active >= 1, 5000);
    it_run(&e, 700); /* a ping or two answered */
    memset(&st, 0, sizeof st);
    hl_ws_stats_get(e.ctx[0], ws, &st);
    CHECK(st.rtt_count >= 1);
    CHECK_EQ(r.disconnects, 0);

    CHECK(it_proxy(&e, "stall", NULL, 0) == 0);
    t0 = it_now();
    IT_WAIT(&e, r.disconnects >= 1, 5000);
    took = it_now() - t0;
    CHECK(r.disconnects >= 1);
    CHECK_EQ(r.disc_result[0], HL_E_PONG_TIMEOUT);
    CHECK(took < (300 + 500) / 1000.0 + 1.5); /* generous: a shared machine */
    it_run(&e, 1200);                         /* attempts fail while the link is stalled */
    CHECK_EQ(r.opens, 1);
    CHECK(it_proxy(&e, "pass", NULL, 0) == 0);
    IT_WAIT(&e, r.opens >= 2 && r.sub_active >= 2, 6000);
    CHECK(r.opens >= 2);
    CHECK(r.sub_active >= 2);
    CHECK_EQ(it_sstats(&e, 0, sub).state, HL_SUB_ACTIVE);
    for (i = 0; i < r.nbo && i < IT_LOG; i++) /* full jitter: anywhere in [0, base] */
        CHECK(r.bo_delay[i] <= it_base(100, 200, 400, r.bo_attempt[i]));
    it_show("client", &r);
    it_down(&e);
}

/* Nothing received for silence_timeout_ms fails the connection (HL_E_SILENCE) and it reconnects;
   a steady feed never trips it. */
static void t_silence_watchdog_reconnects(void)
{
    static const char *const args[] = {"--rate", "20", NULL};
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub sub;
    hl_ws ws;
    if (it_up(&e, 1, args) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    cfg.handshake_timeout_ms = 800;
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    d.silence_timeout_ms = 600;
    d.app_ping_ms = HL_UNLIMITED;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &sub), HL_OK);
    IT_WAIT(&e, r.sub_active >= 1, 5000);
    it_run(&e, 1000);
    CHECK_EQ(r.disconnects, 0); /* 20 messages a second: never silent */
    CHECK(it_proxy(&e, "stall", NULL, 0) == 0);
    IT_WAIT(&e, r.disconnects >= 1, 4000);
    CHECK(r.disconnects >= 1);
    CHECK_EQ(r.disc_result[0], HL_E_SILENCE);
    CHECK(it_proxy(&e, "pass", NULL, 0) == 0);
    IT_WAIT(&e, r.opens >= 2 && it_sstats(&e, 0, sub).state == HL_SUB_ACTIVE, 5000);
    CHECK(r.opens >= 2);
    CHECK_EQ(it_sstats(&e, 0, sub).state, HL_SUB_ACTIVE);
    it_show("client", &r);
    it_down(&e);
}

/* The application ping (a client message) keeps a server with an idle timeout from closing the
   connection; without it the server closes after ~2 s and the client reconnects. */
static void t_app_ping_keeps_idle_connection_up(void)
{
    static const char *const args[] = {"--idle-timeout", "2", NULL};
    it_env e;
    it_rec ra, rb;
    hl_config cfg;
    hl_ws_desc d;
    hl_ws a, b;
    hl_ws_stats st;
    if (!it_start(&e, 0, args)) return;
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &ra, e.url);
    d.app_ping_ms = 500;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &a), HL_OK);
    it_desc(&d, &rb, e.url);
    d.app_ping_ms = HL_UNLIMITED;
    d.backoff.initial_ms = 100;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &b), HL_OK);
    it_run(&e, 5000);
    CHECK_EQ(ra.opens, 1);
    CHECK_EQ(ra.disconnects, 0);
    memset(&st, 0, sizeof st);
    hl_ws_stats_get(e.ctx[0], a, &st);
    CHECK(st.rtt_count >= 5); /* {"channel":"pong"} answers timed */
    IT_WAIT(&e, rb.opens >= 2, 2000);
    CHECK(rb.disconnects >= 1);
    CHECK_EQ(rb.disc_code[0], 1000); /* the server's idle close */
    CHECK(rb.opens >= 2);
    it_show("pinging", &ra);
    it_show("silent", &rb);
    it_down(&e);
}

/* ---- faults on the link ------------------------------------------------------------------- */

/* A slow link (4 KB/s) still opens, subscribes and delivers. */
static void t_slow_server_still_works(void)
{
    static const char *const args[] = {"--rate", "5", NULL};
    it_env e;
    it_rec r;
    it_subrec h;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub sub;
    hl_ws ws;
    if (it_up(&e, 1, args) != 0 || it_proxy(&e, "slow 4000", NULL, 0) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    memset(&h, 0, sizeof h);
    h.must = "\"coin\":\"BTC\"";
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", &h);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &sub), HL_OK);
    IT_WAIT(&e, h.msgs >= 5, 6000);
    CHECK(h.msgs >= 5);
    CHECK_EQ(h.wrong, 0);
    CHECK_EQ(h.tid_back, 0);
    CHECK_EQ(r.disconnects, 0);
    CHECK_EQ(r.opens, 1);
    it_show("client", &r);
    it_down(&e);
}

/* Garbage bytes from the server are a protocol error; the client reconnects and resubscribes. */
static void t_garbage_is_protocol_error_then_reconnect(void)
{
    static const char *const args[] = {"--rate", "10", NULL};
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub sub;
    hl_ws ws;
    char reply[128];
    if (it_up(&e, 1, args) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &sub), HL_OK);
    IT_WAIT(&e, r.sub_active >= 1, 5000);
    it_srv(&e, "pause"); /* no frame in flight: the garbage lands on a frame boundary */
    it_run(&e, 300);
    /* 16 bytes: the decoder judges a header once it has all of it (0xFF 0xFF: 14 bytes) */
    CHECK(it_proxy(&e, "garbage 16 0xFF", reply, sizeof reply) == 0);
    CHECK(strstr(reply, "conns=1") != NULL);
    IT_WAIT(&e, r.disconnects >= 1, 4000);
    CHECK(r.disconnects >= 1);
    CHECK_EQ(r.disc_result[0], HL_E_PROTOCOL);
    it_srv(&e, "resume");
    IT_WAIT(&e, r.opens >= 2 && it_sstats(&e, 0, sub).state == HL_SUB_ACTIVE, 5000);
    CHECK(r.opens >= 2);
    CHECK_EQ(it_sstats(&e, 0, sub).state, HL_SUB_ACTIVE);
    CHECK_EQ(r.closes, 0);
    it_show("client", &r);
    it_down(&e);
}

/* A server that closes with 1012 (service restart): the client reconnects and resubscribes. */
static void t_server_close_1012_reconnects(void)
{
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub sub;
    hl_ws ws;
    if (!it_start(&e, 0, NULL)) return;
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &sub), HL_OK);
    IT_WAIT(&e, r.sub_active >= 1, 5000);
    it_srv(&e, "close 1012 restarting");
    IT_WAIT(&e, r.disconnects >= 1 && r.sub_active >= 2, 5000);
    CHECK(r.disconnects >= 1);
    CHECK_EQ(r.disc_code[0], 1012);
    CHECK_EQ(r.sub_active, 2);
    CHECK_EQ(r.gaps, 1);
    CHECK_EQ(r.closes, 0);
    it_show("client", &r);
    it_down(&e);
}

/* ---- breaker and connect budget ------------------------------------------------------------ */

/* A storm of refused connections opens the breaker: no attempt reaches the proxy during the
   cool-down. After it, one probe goes out; it succeeds and, once healthy, closes the breaker. */
static void t_close_storm_opens_breaker_and_probe_closes_it(void)
{
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_ws ws;
    long long acc0, acc1;
    uint64_t att0, att1;
    if (it_up(&e, 1, NULL) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    d.breaker.failures = 3;
    d.breaker.cooldown_ms = 1500;
    d.backoff.initial_ms = 50;
    d.backoff.max_ms = 100;
    d.backoff.healthy_ms = 500;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    IT_WAIT(&e, r.opens >= 1, 5000);
    CHECK_EQ(it_breaker(&e, 0, ws), HL_BREAKER_CLOSED);
    CHECK(it_proxy(&e, "refuse", NULL, 0) == 0);
    CHECK(it_proxy(&e, "reset", NULL, 0) == 0);
    IT_WAIT(&e, it_breaker(&e, 0, ws) == HL_BREAKER_OPEN, 4000);
    CHECK_EQ(it_breaker(&e, 0, ws), HL_BREAKER_OPEN);
    acc0 = it_proxy_stat(&e, "accepted");
    att0 = it_attempts(&e, 0, ws);
    it_run(&e, 1000); /* inside the 1.5 s cool-down */
    acc1 = it_proxy_stat(&e, "accepted");
    att1 = it_attempts(&e, 0, ws);
    CHECK(acc0 >= 3);
    CHECK_EQ(acc1, acc0);
    CHECK_EQ(att1, att0);
    CHECK(it_proxy(&e, "pass", NULL, 0) == 0);
    IT_WAIT(&e, r.opens >= 2, 4000);
    CHECK_EQ(r.opens, 2);
    CHECK_EQ(r.breaker_at_open[1], HL_BREAKER_HALF_OPEN); /* the probe */
    IT_WAIT(&e, it_breaker(&e, 0, ws) == HL_BREAKER_CLOSED, 3000); /* healthy after 500 ms */
    CHECK_EQ(it_breaker(&e, 0, ws), HL_BREAKER_CLOSED);
    {
        hl_ws_stats st;
        hl_ws_stats_get(e.ctx[0], ws, &st);
        CHECK_EQ(st.breaker_opens, 1);
    }
    it_show("client", &r);
    it_down(&e);
}

/* A server that closes TCP during the upgrade (the proxy's close_after 0: FIN right after the
   upstream connect) is a network failure like a reset: retried with backoff, counted by the
   breaker, which opens after `failures` of them. */
static void t_close_during_handshake_is_retried(void)
{
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_ws ws;
    if (it_up(&e, 1, NULL) != 0 || it_proxy(&e, "close_after 0", NULL, 0) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    d.breaker.failures = 4;
    d.breaker.cooldown_ms = 60000;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    IT_WAIT(&e, it_breaker(&e, 0, ws) == HL_BREAKER_OPEN || r.closes, 4000);
    CHECK_EQ(r.closes, 0);
    CHECK_EQ(it_breaker(&e, 0, ws), HL_BREAKER_OPEN);
    CHECK_EQ(it_attempts(&e, 0, ws), 4);
    CHECK_EQ(it_proxy_stat(&e, "accepted"), 4);
    it_show("client", &r);
    it_down(&e);
}

/* With ratio_pct the breaker opens on the share of failures among ratio_min_calls calls in
   ratio_window_ms, long before `failures` in a row; a window too short never gathers the calls. */
static void t_breaker_ratio_opens_on_failure_share(void)
{
    it_env e;
    it_rec ra, rb;
    hl_config cfg;
    hl_ws_desc d;
    hl_ws a, b;
    if (it_up(&e, 1, NULL) != 0 || it_proxy(&e, "refuse", NULL, 0) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &ra, e.url);
    d.breaker.failures = 1000;
    d.breaker.ratio_pct = 50;
    d.breaker.ratio_min_calls = 3;
    d.breaker.ratio_window_ms = 60000;
    d.breaker.cooldown_ms = 60000;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &a), HL_OK);
    it_desc(&d, &rb, e.url);
    d.breaker.failures = 1000;
    d.breaker.ratio_pct = 50;
    d.breaker.ratio_min_calls = 3;
    d.breaker.ratio_window_ms = 1; /* every call starts a new window */
    d.breaker.cooldown_ms = 60000;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &b), HL_OK);
    IT_WAIT(&e, it_attempts(&e, 0, b) >= 8, 5000);
    CHECK_EQ(it_breaker(&e, 0, a), HL_BREAKER_OPEN);
    CHECK_EQ(it_attempts(&e, 0, a), 3);
    CHECK(it_attempts(&e, 0, b) >= 8);
    CHECK_EQ(it_breaker(&e, 0, b), HL_BREAKER_CLOSED);
    it_show("window 60 s", &ra);
    it_show("window 1 ms", &rb);
    it_down(&e);
}

/* connects_per_minute caps connection attempts per context: with 3 a minute only three reach the
   proxy in the time an unlimited context makes many. */
static void t_connect_budget_caps_attempts(void)
{
    it_env e;
    it_rec ra, rb;
    hl_config cfg;
    hl_ws_desc d;
    hl_ws a, b;
    if (it_up(&e, 1, NULL) != 0 || it_proxy(&e, "refuse", NULL, 0) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    cfg.connects_per_minute = 3;
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    cfg.connects_per_minute = HL_UNLIMITED;
    CHECK(it_ctx(&e, 1, &cfg) != NULL);
    it_desc(&d, &ra, e.url);
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &a), HL_OK);
    it_desc(&d, &rb, e.url);
    CHECK_EQ(hl_ws_connect(e.ctx[1], &d, &b), HL_OK);
    IT_WAIT(&e, it_attempts(&e, 1, b) >= 10, 5000);
    CHECK(it_attempts(&e, 1, b) >= 10);
    CHECK_EQ(it_attempts(&e, 0, a), 3);
    CHECK_EQ(ra.closes, 0); /* still waiting for budget, not given up */
    it_show("budget 3", &ra);
    it_show("unlimited", &rb);
    it_down(&e);
}

/* ---- subscriptions ------------------------------------------------------------------------- */

/* 1000 subscriptions are all acknowledged, dropped with the connection and replayed after the
   reconnect, the replay paced by ws_msgs_per_minute: the subscribe messages the proxy forwards
   never exceed the bucket (capacity + refill since it was made). The 1001st subscription is
   refused locally by max_subscriptions_venue. */
static void t_thousand_subs_replayed_within_msg_budget(void)
{
    static const char *const args[] = {"--rate", "0.01", "--max-msgs-per-min", "0", "--max-subs", "5000",
                                       NULL};
    enum { N = 1000, BUDGET = 1900 };
    static char json[N + 1][48];
    static hl_sub subs[N + 1];
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_ws ws;
    char msg[128];
    double t_init, t_reset, t_done = 0;
    long long frame, over = 0, c2s;
    int i, samples = 0; /* proxy counts read during the replay */
    if (it_up(&e, 1, args) != 0) {
        CHECK(!"servers start");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    cfg.max_subscriptions = 1100;
    cfg.max_subscriptions_venue = 1000;
    cfg.ws_msgs_per_minute = BUDGET;
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    d.app_ping_ms = HL_UNLIMITED; /* the subscribes are the only client messages */
    t_init = it_now();
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    for (i = 0; i <= N; i++) {
        snprintf(json[i], sizeof json[i], "{\"type\":\"trades\",\"coin\":\"C%04d\"}", i);
        it_subdesc(&sd, json[i], NULL);
        if (i < N) CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &subs[i]), HL_OK);
        else CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &subs[i]), HL_E_RATE_LIMITED);
    }
    /* every subscribe frame has the same size: 2 header bytes, 4 mask bytes, the message */
    frame = 6 + snprintf(msg, sizeof msg, "{\"method\":\"subscribe\",\"subscription\":%s}", json[0]);
    IT_WAIT(&e, r.sub_active >= N, 10000);
    CHECK_EQ(r.sub_active, N);
    CHECK(it_all_active(&e, subs, N));

    CHECK(it_proxy(&e, "reset", NULL, 0) == 0);
    t_reset = it_now();
    while (it_now() - t_reset < 15.0) {
        double now;
        it_pump(&e, 10);
        if (r.sub_active >= 2 * N && it_all_active(&e, subs, N)) {
            t_done = it_now();
            break;
        }
        if (it_now() - t_reset > 0.25 * (samples + 1)) { /* the proxy's count, a few times a second */
            c2s = it_proxy_stat(&e, "c2s");
            now = it_now();
            /* the handshakes' bytes count too: a few frames of slack */
            if (c2s / frame > BUDGET + (long long)(BUDGET * (now - t_init) / 60.0) + 8) over++;
            samples++;
        }
    }
    CHECK(t_done > 0);
    c2s = it_proxy_stat(&e, "c2s"); /* all of it, against the bucket at the end */
    if (c2s / frame > BUDGET + (long long)(BUDGET * (it_now() - t_init) / 60.0) + 8) over++;
    CHECK_EQ(r.sub_active, 2 * N);
    CHECK(it_all_active(&e, subs, N));
    CHECK_EQ(r.gaps, N);
    CHECK_EQ(over, 0);
    {
        /* The replay cannot beat the bucket: at the reset it held at most what this estimate says
           (the bucket is younger than t_init), so the rest took at least this long. */
        double tokens = BUDGET - N + BUDGET * (t_reset - t_init) / 60.0;
        double wait = tokens >= N ? 0.0 : (N - tokens) / (BUDGET / 60.0);
        CHECK(t_done - t_reset >= 0.9 * wait);
    }
    CHECK(c2s / frame >= 2 * N && c2s / frame <= 2 * N + 8); /* each subscribe sent once a connection */
    CHECK_EQ(r.server_errors, 0);
    it_show("client", &r);
    it_down(&e);
}

/* Local limits: subscription slots (HL_E_POOL_EMPTY), the venue's limit (HL_E_RATE_LIMITED),
   duplicates in any key order (HL_E_INVALID), and no profile (HL_E_STATE). No server needed. */
static void t_local_subscription_limits(void)
{
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub s;
    hl_ws ws;
    char json[64];
    int i;
    memset(&e, 0, sizeof e);
    e.lfd = e.cfd = -1;
    it_cfg(&cfg);
    cfg.max_subscriptions = 4;
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    cfg.max_subscriptions = 8;
    cfg.max_subscriptions_venue = 3;
    CHECK(it_ctx(&e, 1, &cfg) != NULL);
    if (!e.ctx[0] || !e.ctx[1]) {
        it_down(&e);
        return;
    }
    it_desc(&d, &r, "ws://127.0.0.1:9/ws"); /* never polled */
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    for (i = 0; i < 5; i++) {
        snprintf(json, sizeof json, "{\"type\":\"trades\",\"coin\":\"X%d\"}", i);
        it_subdesc(&sd, json, NULL);
        CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &s), i < 4 ? HL_OK : HL_E_POOL_EMPTY);
    }
    it_subdesc(&sd, "{\"coin\":\"X1\", \"type\":\"trades\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &s), HL_E_INVALID);
    CHECK_EQ(hl_ws_connect(e.ctx[1], &d, &ws), HL_OK);
    for (i = 0; i < 4; i++) {
        snprintf(json, sizeof json, "{\"type\":\"trades\",\"coin\":\"X%d\"}", i);
        it_subdesc(&sd, json, NULL);
        CHECK_EQ(hl_ws_subscribe(e.ctx[1], ws, &sd, &s), i < 3 ? HL_OK : HL_E_RATE_LIMITED);
    }
    d.profile = NULL;
    CHECK_EQ(hl_ws_connect(e.ctx[1], &d, &ws), HL_OK);
    CHECK_EQ(hl_ws_subscribe(e.ctx[1], ws, &sd, &s), HL_E_STATE);
    it_down(&e);
}

/* The server refuses a subscription: HL_EV_SUB FAILED with the server's text; the connection and
   the other subscriptions carry on. */
static void t_server_rejects_subscription_with_its_text(void)
{
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub bad, good;
    hl_ws ws;
    if (!it_start(&e, 0, NULL)) return;
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"l2Book\",\"coin\":\"BTC\",\"nSigFigs\":9}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &bad), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &good), HL_OK);
    IT_WAIT(&e, r.sub_failed >= 1 && r.sub_active >= 1, 5000);
    CHECK_EQ(r.sub_failed, 1);
    CHECK_EQ(r.failed_sub.id, bad.id);
    /* the server's text, JSON escapes undone */
    CHECK(strcmp(r.sub_detail,
                 "Invalid subscription {\"type\":\"l2Book\",\"coin\":\"BTC\",\"nSigFigs\":9}") == 0);
    CHECK_EQ(it_sstats(&e, 0, bad).state, HL_SUB_FAILED);
    CHECK_EQ(it_sstats(&e, 0, good).state, HL_SUB_ACTIVE);
    CHECK_EQ(r.disconnects, 0);
    if (hl_test_failed_now) printf("  detail: %s\n", r.sub_detail);
    it_show("client", &r);
    it_down(&e);
}

/* A subscription silent for stale_after_ms on a healthy connection is reported (once), the
   others keep flowing and the socket stays up; without stale_after_ms nothing is reported. */
static void t_stale_subscription_reported_alone(void)
{
    static const char *const args[] = {"--rate", "10", "--silent-coin", "DOGE", "--silent-coin", "ETH", NULL};
    it_env e;
    it_rec r;
    it_subrec h;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub btc, doge, eth;
    hl_ws ws;
    int before;
    if (!it_start(&e, 0, args)) return;
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    memset(&h, 0, sizeof h);
    h.must = "\"coin\":\"BTC\"";
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", &h);
    sd.stale_after_ms = 600;
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &btc), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"DOGE\"}", NULL);
    sd.stale_after_ms = 600;
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &doge), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"ETH\"}", NULL); /* silent, no stale_after_ms */
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &eth), HL_OK);
    IT_WAIT(&e, r.sub_active >= 3, 5000);
    IT_WAIT(&e, r.nstale >= 1, 3000);
    before = h.msgs;
    it_run(&e, 1000);
    CHECK_EQ(r.nstale, 1);
    CHECK_EQ(r.stale_sub[0].id, doge.id);
    CHECK(h.msgs > before); /* BTC keeps flowing */
    CHECK_EQ(h.wrong, 0);
    CHECK_EQ(r.disconnects, 0);
    CHECK_EQ(r.opens, 1);
    CHECK_EQ(it_sstats(&e, 0, doge).msgs, 0);
    CHECK_EQ(it_sstats(&e, 0, doge).state, HL_SUB_ACTIVE);
    it_show("client", &r);
    it_down(&e);
}

/* No message reaches a route after hl_ws_unsubscribe, neither a handler (unsubscribing from
   inside itself) nor a queue; the handle is dead. */
static void t_unsubscribe_stops_delivery(void)
{
    static const char *const args[] = {"--rate", "40", NULL};
    it_env e;
    it_rec r;
    it_subrec h;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub hs, qs;
    hl_ws ws;
    hl_sub_stats st;
    char buf[4096];
    size_t len;
    int other;
    if (!it_start(&e, 0, args)) return;
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    memset(&h, 0, sizeof h);
    h.unsub_after = 3;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", &h);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &hs), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"ETH\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &qs), HL_OK);
    IT_WAIT(&e, h.msgs >= 3 && it_sstats(&e, 0, qs).queued >= 2, 5000);
    CHECK_EQ(hl_ws_unsubscribe(e.ctx[0], qs), HL_OK);
    other = r.messages;
    it_run(&e, 600);
    CHECK_EQ(h.msgs, 3);
    CHECK_EQ(hl_sub_pull(e.ctx[0], qs, buf, sizeof buf, &len, NULL), HL_E_BAD_HANDLE);
    CHECK_EQ(hl_sub_stats_get(e.ctx[0], hs, &st), HL_E_BAD_HANDLE);
    CHECK_EQ(hl_ws_unsubscribe(e.ctx[0], hs), HL_E_BAD_HANDLE);
    CHECK(r.messages >= other); /* what was still in flight arrives unrouted */
    CHECK_EQ(r.disconnects, 0);
    it_show("client", &r);
    it_down(&e);
}

/* ---- pull queues --------------------------------------------------------------------------- */

/* A pull queue of 4 under a 40/s feed, left alone for 800 ms; *first_ns and *last_ns get the arrival
   times of the oldest and newest message pulled, *pulled how many. */
static void it_overflow_run(it_env *e, it_rec *r, hl_overflow ov, hl_sub *sub, hl_sub_stats *before,
                            int *pulled, uint64_t *first_ns, uint64_t *last_ns, long long *tid_order_bad)
{
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_ws ws;
    hl_config cfg;
    unsigned char buf[4096];
    size_t len;
    hl_msg m;
    long long last = -1;
    *pulled = 0;
    *first_ns = *last_ns = 0;
    *tid_order_bad = 0;
    it_cfg(&cfg);
    CHECK(it_ctx(e, 0, &cfg) != NULL);
    it_desc(&d, r, e->url);
    CHECK_EQ(hl_ws_connect(e->ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    sd.queue_len = 4;
    sd.overflow = ov;
    CHECK_EQ(hl_ws_subscribe(e->ctx[0], ws, &sd, sub), HL_OK);
    IT_WAIT(e, r->sub_active >= 1, 5000);
    it_run(e, 800);
    *before = it_sstats(e, 0, *sub);
    while (hl_sub_pull(e->ctx[0], *sub, buf, sizeof buf, &len, &m) == 1) {
        long long tid = it_tid(buf, len);
        if (!*pulled) *first_ns = m.recv_ns;
        *last_ns = m.recv_ns;
        if (tid <= last) (*tid_order_bad)++;
        last = tid;
        (*pulled)++;
    }
}

static void t_overflow_reject_new(void)
{
    static const char *const args[] = {"--rate", "40", NULL};
    it_env e;
    it_rec r;
    hl_sub sub;
    hl_sub_stats st;
    int pulled;
    uint64_t first, last;
    long long bad;
    if (!it_start(&e, 0, args)) return;
    it_overflow_run(&e, &r, HL_OVERFLOW_REJECT_NEW, &sub, &st, &pulled, &first, &last, &bad);
    CHECK(st.msgs >= 10);
    CHECK_EQ(st.queued, 4);
    CHECK_EQ(st.drops, st.msgs - 4);
    CHECK_EQ(r.dropped, (long)st.drops); /* one HL_EV_DROPPED per message dropped */
    CHECK_EQ(r.dropped_result, HL_E_QUEUE_FULL);
    CHECK_EQ(pulled, 4);
    CHECK(last < st.last_msg_ns); /* the newest were the ones dropped */
    CHECK_EQ(bad, 0);
    it_show("client", &r);
    it_down(&e);
}

static void t_overflow_drop_oldest(void)
{
    static const char *const args[] = {"--rate", "40", NULL};
    it_env e;
    it_rec r;
    hl_sub sub;
    hl_sub_stats st;
    int pulled;
    uint64_t first, last;
    long long bad;
    if (!it_start(&e, 0, args)) return;
    it_overflow_run(&e, &r, HL_OVERFLOW_DROP_OLDEST, &sub, &st, &pulled, &first, &last, &bad);
    CHECK(st.msgs >= 10);
    CHECK_EQ(st.queued, 4);
    CHECK_EQ(st.drops, st.msgs - 4);
    CHECK_EQ(pulled, 4);
    CHECK_EQ(last, st.last_msg_ns); /* the newest is kept */
    CHECK_EQ(bad, 0);
    CHECK_EQ(r.dropped, (long)st.drops); /* HL_EV_DROPPED reports these drops too */
    it_show("client", &r);
    it_down(&e);
}

static void t_overflow_conflate(void)
{
    static const char *const args[] = {"--rate", "40", NULL};
    it_env e;
    it_rec r;
    hl_sub sub;
    hl_sub_stats st;
    int pulled;
    uint64_t first, last;
    long long bad;
    if (!it_start(&e, 0, args)) return;
    it_overflow_run(&e, &r, HL_OVERFLOW_CONFLATE, &sub, &st, &pulled, &first, &last, &bad);
    CHECK(st.msgs >= 10);
    CHECK_EQ(st.queued, 1);
    CHECK_EQ(st.conflated, st.msgs - 1);
    CHECK_EQ(st.drops, 0);
    CHECK_EQ(r.dropped_events, 0);
    CHECK_EQ(pulled, 1);
    CHECK_EQ(last, st.last_msg_ns); /* only the latest */
    it_show("client", &r);
    it_down(&e);
}

/* Backpressure: a full queue stops reading the socket; nothing is dropped, and the messages come
   once the queue is pulled, in order. */
static void t_overflow_backpressure(void)
{
    static const char *const args[] = {"--rate", "40", NULL};
    it_env e;
    it_rec r;
    hl_sub sub;
    hl_sub_stats st, st2;
    int pulled, total, k;
    uint64_t first, last;
    long long bad;
    unsigned char buf[4096];
    size_t len;
    long long prev = -1;
    int order_bad = 0;
    if (!it_start(&e, 0, args)) return;
    it_overflow_run(&e, &r, HL_OVERFLOW_BACKPRESSURE, &sub, &st, &pulled, &first, &last, &bad);
    CHECK_EQ(st.msgs, 4); /* reading stopped at a full queue */
    CHECK_EQ(st.queued, 4);
    CHECK_EQ(st.drops, 0);
    CHECK_EQ(pulled, 4);
    CHECK_EQ(bad, 0);
    total = pulled;
    for (k = 0; k < 60; k++) { /* pull as it comes, 600 ms */
        it_pump(&e, 10);
        while (hl_sub_pull(e.ctx[0], sub, buf, sizeof buf, &len, NULL) == 1) {
            long long tid = it_tid(buf, len);
            if (tid <= prev) order_bad++;
            prev = tid;
            total++;
        }
    }
    st2 = it_sstats(&e, 0, sub);
    CHECK(total >= 12); /* the held-back messages came */
    CHECK_EQ(st2.drops, 0);
    CHECK_EQ(r.dropped_events, 0);
    CHECK_EQ(order_bad, 0);
    CHECK_EQ(r.disconnects, 0);
    it_show("client", &r);
    it_down(&e);
}

/* queue_slots is one pool for every queue: 3 slots hold 3 messages even when a queue may keep 16. */
static void t_queue_slots_bound_every_queue(void)
{
    static const char *const args[] = {"--rate", "40", NULL};
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub sub;
    hl_ws ws;
    hl_sub_stats st;
    if (!it_start(&e, 0, args)) return;
    it_cfg(&cfg);
    cfg.queue_slots = 3;
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    sd.queue_len = 16;
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &sub), HL_OK);
    IT_WAIT(&e, it_sstats(&e, 0, sub).msgs >= 8, 5000);
    st = it_sstats(&e, 0, sub);
    CHECK_EQ(st.queued, 3);
    CHECK(st.drops >= 5);
    CHECK_EQ(r.dropped_result, HL_E_QUEUE_FULL);
    it_show("client", &r);
    it_down(&e);
}

/* A message larger than queue_slot_size cannot be queued: dropped with HL_E_MSG_TOO_BIG. */
static void t_queue_slot_size_drops_big_messages(void)
{
    static const char *const args[] = {"--rate", "40", NULL};
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub sub;
    hl_ws ws;
    hl_sub_stats st;
    if (!it_start(&e, 0, args)) return;
    it_cfg(&cfg);
    cfg.queue_slot_size = 128; /* a trades message is longer */
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &sub), HL_OK);
    IT_WAIT(&e, it_sstats(&e, 0, sub).msgs >= 4, 5000);
    st = it_sstats(&e, 0, sub);
    CHECK(st.msgs >= 4);
    CHECK_EQ(st.queued, 0);
    CHECK_EQ(st.drops, st.msgs);
    CHECK_EQ(r.dropped_result, HL_E_MSG_TOO_BIG);
    it_show("client", &r);
    it_down(&e);
}

/* hl_msg_tokens gives a handler the message's tokens (made once), up to json_max_tokens. */
static void t_msg_tokens_bounded_by_json_max_tokens(void)
{
    static const char *const args[] = {"--rate", "20", NULL};
    it_env e;
    it_rec ra, rb;
    it_subrec ha, hb;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub s;
    hl_ws a, b;
    if (!it_start(&e, 0, args)) return;
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    cfg.json_max_tokens = 8;
    CHECK(it_ctx(&e, 1, &cfg) != NULL);
    memset(&ha, 0, sizeof ha);
    memset(&hb, 0, sizeof hb);
    ha.want_tokens = hb.want_tokens = 1;
    it_desc(&d, &ra, e.url);
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &a), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", &ha);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], a, &sd, &s), HL_OK);
    it_desc(&d, &rb, e.url);
    CHECK_EQ(hl_ws_connect(e.ctx[1], &d, &b), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", &hb);
    CHECK_EQ(hl_ws_subscribe(e.ctx[1], b, &sd, &s), HL_OK);
    IT_WAIT(&e, ha.msgs >= 2 && hb.msgs >= 2, 5000);
    CHECK(ha.tokens > 8);
    CHECK_EQ(ha.tokens_again, ha.tokens);
    CHECK_EQ(ha.tok_type, 1); /* an object */
    CHECK_EQ(hb.tokens, HL_E_MSG_TOO_BIG);
    it_show("default", &ra);
    it_show("8 tokens", &rb);
    it_down(&e);
}

/* ---- switches and odd servers -------------------------------------------------------------- */

/* With reconnect off (in the desc, or switched off by hl_ws_set_reconnect) a drop is final. */
static void t_set_reconnect_off_makes_drop_final(void)
{
    it_env e;
    it_rec ra, rb, rc;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub s;
    hl_ws a, b, c;
    if (!it_start(&e, 0, NULL)) return;
    it_cfg(&cfg);
    cfg.max_connections = 3;
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &ra, e.url); /* reconnect on, switched off below */
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &a), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], a, &sd, &s), HL_OK);
    it_desc(&d, &rb, e.url); /* reconnect on */
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &b), HL_OK);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], b, &sd, &s), HL_OK);
    it_desc(&d, &rc, e.url); /* reconnect off */
    d.reconnect = 0;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &c), HL_OK);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], c, &sd, &s), HL_OK);
    IT_WAIT(&e, ra.sub_active && rb.sub_active && rc.sub_active, 5000);
    CHECK_EQ(hl_ws_set_reconnect(e.ctx[0], a, 0), HL_OK);
    it_srv(&e, "drop");
    IT_WAIT(&e, ra.closes && rc.closes && rb.opens >= 2, 5000);
    CHECK_EQ(ra.closes, 1);
    CHECK_EQ(ra.disconnects, 0);
    CHECK_EQ(ra.close_result, HL_E_RESET);
    CHECK_EQ(hl_ws_state(e.ctx[0], a), HL_STATE_CLOSED);
    CHECK_EQ(hl_ws_set_reconnect(e.ctx[0], a, 1), HL_E_BAD_HANDLE); /* the handle is dead */
    CHECK_EQ(rc.closes, 1);
    CHECK_EQ(rc.disconnects, 0);
    CHECK_EQ(rb.closes, 0);
    CHECK_EQ(rb.disconnects, 1);
    CHECK(rb.opens >= 2);
    it_show("switched off", &ra);
    it_show("on", &rb);
    it_show("off", &rc);
    it_down(&e);
}

/* HTTP 429 on the upgrade is retried (python-websockets server). */
static void t_http_429_upgrade_is_retried(void)
{
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_ws ws;
    char url[128];
    memset(&e, 0, sizeof e);
    e.lfd = e.cfd = -1;
    if (it_spawn(&e.srv, WS_PY_SERVER, 0, NULL) != 0) {
        CHECK(!"server start");
        return;
    }
    e.srv_up = 1;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/reject?status=429", e.srv.port);
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, url);
    d.profile = NULL;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    IT_WAIT(&e, r.disconnects >= 2, 5000);
    CHECK(r.disconnects >= 2);
    CHECK_EQ(r.disc_http[0], 429);
    CHECK_EQ(r.disc_result[0], HL_E_HANDSHAKE);
    CHECK_EQ(r.error_http, 429);
    CHECK_EQ(r.closes, 0);
    CHECK(it_attempts(&e, 0, ws) >= 2);
    it_show("client", &r);
    it_down(&e);
}

/* Retry-After on a refused upgrade sets the wait before the next attempt. The test servers cannot
   send the header, so a responder written here refuses with 429 and Retry-After: 2. */
static void t_retry_after_sets_reconnect_delay(void)
{
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_ws ws;
    memset(&e, 0, sizeof e);
    e.lfd = e.cfd = -1;
    if (it_responder_start(&e, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\n"
                               "Content-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\n"
                               "slow") != 0) {
        CHECK(!"responder");
        it_down(&e);
        return;
    }
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    IT_WAIT(&e, r.disconnects >= 1, 5000);
    CHECK_EQ(r.disconnects, 1);
    CHECK_EQ(r.disc_http[0], 429);
    CHECK_EQ(r.disc_delay[0], 2000); /* not the 50 ms of the backoff */
    it_run(&e, 1000);
    CHECK_EQ(e.responder_hits, 1); /* and it really waits */
    it_show("client", &r);
    it_down(&e);
}

/* hl_stats_json is valid JSON (python's json module parses it) and lists the subscriptions. */
static void t_stats_json_is_valid_and_lists_subscriptions(void)
{
    static const char *const args[] = {"--rate", "10", NULL};
    it_env e;
    it_rec r;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub s;
    hl_ws ws;
    static char buf[65536];
    char small[64];
    int n, rc = -1;
    FILE *p;
    if (!it_start(&e, 0, args)) return;
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &r, e.url);
    d.ping_interval_ms = 200; /* RTT figures in the output */
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &ws), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &s), HL_OK);
    it_subdesc(&sd, "{\"type\":\"l2Book\",\"coin\":\"ETH\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], ws, &sd, &s), HL_OK);
    IT_WAIT(&e, r.sub_active >= 2, 5000);
    it_run(&e, 500);
    n = hl_stats_json(e.ctx[0], buf, sizeof buf);
    CHECK(n > 0);
    CHECK_EQ(hl_stats_json(e.ctx[0], small, sizeof small), HL_E_QUEUE_FULL);
    fflush(stdout);
    p = popen("/usr/bin/python3 -c 'import json,sys\n"
              "d = json.load(sys.stdin)\n"
              "s = sorted(x[\"subscription\"] for c in d[\"connections\"] for x in c[\"subscriptions\"]"
              " if x[\"state\"] == \"active\")\n"
              "sys.exit(0 if s == sorted(sys.argv[1:]) else 3)' "
              "'{\"type\":\"trades\",\"coin\":\"BTC\"}' '{\"type\":\"l2Book\",\"coin\":\"ETH\"}'",
              "w");
    CHECK(p != NULL);
    if (p) {
        if (n > 0) fwrite(buf, 1, (size_t)n, p);
        rc = pclose(p);
    }
    CHECK(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    if (hl_test_failed_now) printf("  json: %.600s\n", buf);
    it_show("client", &r);
    it_down(&e);
}

/* batch_events: every message of a poll comes between BATCH_BEGIN and BATCH_END; off, none. */
static void t_batch_events_bracket_messages(void)
{
    static const char *const args[] = {"--rate", "40", NULL};
    it_env e;
    it_rec ra, rb;
    it_subrec ha, hb;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub s;
    hl_ws a, b;
    if (!it_start(&e, 0, args)) return;
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    memset(&ha, 0, sizeof ha);
    memset(&hb, 0, sizeof hb);
    it_desc(&d, &ra, e.url);
    d.batch_events = 1;
    ha.rec = &ra;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &a), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", &ha);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], a, &sd, &s), HL_OK);
    it_desc(&d, &rb, e.url);
    hb.rec = &rb;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &b), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", &hb);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], b, &sd, &s), HL_OK);
    IT_WAIT(&e, ha.msgs >= 10 && hb.msgs >= 10, 5000);
    it_run(&e, 50);
    CHECK(ha.msgs >= 10);
    CHECK(ra.batch_begin >= 1);
    CHECK(ra.batch_begin == ra.batch_end || (ra.batch_begin == ra.batch_end + 1 && ra.in_batch));
    CHECK_EQ(ra.batch_bad, 0);
    CHECK_EQ(ha.outside_batch, 0);
    CHECK_EQ(ra.in_batch, 0); /* every batch closed by the end of a poll */
    CHECK_EQ(rb.batch_begin + rb.batch_end, 0);
    it_show("batched", &ra);
    it_down(&e);
}

/* Without a profile nothing is routed: subscribing is refused and the server's acks and data
   arrive as plain messages; with the profile the acks are consumed and the data routed. */
static void t_no_profile_no_routing(void)
{
    static const char *const args[] = {"--rate", "20", NULL};
    static const char sub_msg[] =
        "{\"method\":\"subscribe\",\"subscription\":{\"type\":\"trades\",\"coin\":\"BTC\"}}";
    it_env e;
    it_rec ra, rb;
    it_subrec hb;
    hl_config cfg;
    hl_ws_desc d;
    hl_sub_desc sd;
    hl_sub s;
    hl_ws a, b;
    if (!it_start(&e, 0, args)) return;
    it_cfg(&cfg);
    CHECK(it_ctx(&e, 0, &cfg) != NULL);
    it_desc(&d, &ra, e.url);
    d.profile = NULL;
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &a), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", NULL);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], a, &sd, &s), HL_E_STATE);
    it_desc(&d, &rb, e.url);
    memset(&hb, 0, sizeof hb);
    CHECK_EQ(hl_ws_connect(e.ctx[0], &d, &b), HL_OK);
    it_subdesc(&sd, "{\"type\":\"trades\",\"coin\":\"BTC\"}", &hb);
    CHECK_EQ(hl_ws_subscribe(e.ctx[0], b, &sd, &s), HL_OK);
    IT_WAIT(&e, ra.opens >= 1, 5000);
    CHECK_EQ(hl_ws_send(e.ctx[0], a, HL_MSG_TEXT, sub_msg, sizeof sub_msg - 1), HL_OK);
    IT_WAIT(&e, ra.messages >= 4 && hb.msgs >= 3, 5000);
    CHECK(ra.messages >= 4);
    CHECK(hb.msgs >= 3);
    CHECK_EQ(rb.messages, 0); /* ack consumed, data routed */
    CHECK_EQ(rb.sub_active, 1);
    CHECK_EQ(ra.sub_active, 0);
    it_show("generic", &ra);
    it_show("hyperliquid", &rb);
    it_down(&e);
}

/* IT_ONLY=word runs only the tests whose name contains word. */
#define IT_TEST(fn)                                                                                \
    do {                                                                                           \
        const char *only_ = getenv("IT_ONLY");                                                     \
        if (!only_ || strstr(#fn, only_)) HL_TEST(fn);                                             \
    } while (0)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    IT_TEST(t_local_subscription_limits);
    IT_TEST(t_restart_reconnects_with_backoff_and_resubscribes);
    IT_TEST(t_backoff_gives_up_after_max_attempts);
    IT_TEST(t_healthy_connection_resets_attempts);
    IT_TEST(t_half_open_detected_by_ping_timeout);
    IT_TEST(t_silence_watchdog_reconnects);
    IT_TEST(t_app_ping_keeps_idle_connection_up);
    IT_TEST(t_slow_server_still_works);
    IT_TEST(t_garbage_is_protocol_error_then_reconnect);
    IT_TEST(t_server_close_1012_reconnects);
    IT_TEST(t_close_storm_opens_breaker_and_probe_closes_it);
    IT_TEST(t_close_during_handshake_is_retried);
    IT_TEST(t_breaker_ratio_opens_on_failure_share);
    IT_TEST(t_connect_budget_caps_attempts);
    IT_TEST(t_thousand_subs_replayed_within_msg_budget);
    IT_TEST(t_server_rejects_subscription_with_its_text);
    IT_TEST(t_stale_subscription_reported_alone);
    IT_TEST(t_unsubscribe_stops_delivery);
    IT_TEST(t_overflow_reject_new);
    IT_TEST(t_overflow_drop_oldest);
    IT_TEST(t_overflow_conflate);
    IT_TEST(t_overflow_backpressure);
    IT_TEST(t_queue_slots_bound_every_queue);
    IT_TEST(t_queue_slot_size_drops_big_messages);
    IT_TEST(t_msg_tokens_bounded_by_json_max_tokens);
    IT_TEST(t_set_reconnect_off_makes_drop_final);
    IT_TEST(t_http_429_upgrade_is_retried);
    IT_TEST(t_retry_after_sets_reconnect_delay);
    IT_TEST(t_stats_json_is_valid_and_lists_subscriptions);
    IT_TEST(t_batch_events_bracket_messages);
    IT_TEST(t_no_profile_no_routing);
    return hl_test_summary();
}
