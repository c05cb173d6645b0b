/* Routed receive and resubscribe figures for the Hyperliquid profile. Plain lines, no pass/fail.

   1. Throughput. node's ws server floods 300-byte trades messages (/flood: {"channel":"trades",
      "data":[{"coin":"BTC",...,"tid":N,"pad":"xx..."}]}, which the Hyperliquid profile routes to
      "trades|BTC") and closes the run with a {"done":N} text. The same flood is received
        - raw:    no profile, every message an HL_EV_MESSAGE (the plain WebSocket figure);
        - routed: the Hyperliquid profile and one subscription {"type":"trades","coin":"BTC"}
                  with a handler: classify, route-key hash lookup, handler call;
        - tokens: the same, the handler also calling hl_msg_tokens (jsmn over the message).
      Each line gives messages/s, MB/s and the client's CPU time per message (getrusage); the
      server is a separate process on the same cores, so CPU per message is the steadier figure.
      N is calibrated for about 2 s a run; each mode runs REPS times, alternating, best kept.
   2. Reconnect to resubscribed. hl_server.py (messages per minute unlimited, trades at 0.01/s so
      only acks flow) with N = 1, 100, 1000 subscriptions; backoff 1 ms (max 10 ms), unlimited
      budgets. Times from the HL_EV_DISCONNECT to the N-th HL_EV_SUB active:
        - drop:    the server resets the TCP connection and stays up (pure reconnect + replay);
        - restart: the server is killed (SIGKILL) and started again on the same port while the
                   client keeps polling and retrying; timed from the kill, so the server's own
                   start-up (printed on its own) is included.
   Runs from the repo root. */
#define _DEFAULT_SOURCE
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include "harness.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#define MSG_SIZE 300
#define TARGET_S 2.0
#define REPS 2
#define GIVE_UP_S 60.0
#define RECONNECT_REPS 3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- 1. throughput -------------------------------------------------------------------------- */

enum { MODE_RAW, MODE_ROUTED, MODE_TOKENS };
static const char *const mode_names[] = {"raw", "routed", "tokens"};

typedef struct flood_count {
    int mode;
    unsigned long long routed, unrouted, odd, tokens_bad;
    long long tokens_sum;
    int done, closed;
    char why[200];
} flood_count;

typedef struct run_result {
    int ok;
    unsigned long long msgs;
    double wall, cpu;
} run_result;

static void flood_event(hl_ctx *ctx, const hl_event *ev)
{
    flood_count *c = (flood_count *)ev->user;
    (void)ctx;
    if (ev->type == HL_EV_MESSAGE) {
        if (ev->len == MSG_SIZE) c->unrouted++;
        else if (ev->len < 40 && memcmp(ev->data, "{\"done\":", 8) == 0) c->done = 1;
        else c->odd++;
    } else if (ev->type == HL_EV_ERROR) {
        snprintf(c->why, sizeof c->why, "%s: %s", hl_result_name(ev->result), ev->detail);
    } else if (ev->type == HL_EV_CLOSE) {
        c->closed = 1;
    }
}

static void flood_handler(hl_ctx *ctx, const hl_msg *m)
{
    flood_count *c = (flood_count *)m->user;
    c->routed++;
    if (c->mode == MODE_TOKENS) {
        const hl_json_tok *t;
        int n = hl_msg_tokens(ctx, m, &t);
        if (n <= 0 || t[0].type != 1) c->tokens_bad++;
        else c->tokens_sum += n;
    }
}

static run_result flood_run(const hl_test_server *srv, int mode, unsigned long long n)
{
    run_result r;
    hl_config cfg;
    hl_ctx *ctx = NULL;
    hl_ws_desc desc;
    hl_sub_desc sd;
    hl_sub sub;
    hl_ws ws;
    flood_count c;
    char url[128];
    size_t size;
    void *mem;
    double t0, c0;
    memset(&r, 0, sizeof r);
    memset(&c, 0, sizeof c);
    c.mode = mode;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    size = hl_ctx_size(&cfg);
    mem = malloc(size);
    if (!mem || hl_ctx_init(&ctx, mem, size, &cfg) != HL_OK) {
        free(mem);
        return r;
    }
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/flood?n=%llu&size=%d", srv->port, n, MSG_SIZE);
    memset(&desc, 0, sizeof desc);
    desc.url = url;
    desc.on_event = flood_event;
    desc.user = &c;
    if (mode != MODE_RAW) desc.profile = hl_profile_hyperliquid();
    t0 = now_s();
    c0 = cpu_s();
    if (hl_ws_connect(ctx, &desc, &ws) == HL_OK) {
        memset(&sd, 0, sizeof sd);
        sd.subscription = "{\"type\":\"trades\",\"coin\":\"BTC\"}";
        sd.on_message = flood_handler;
        sd.user = &c;
        if (mode == MODE_RAW || hl_ws_subscribe(ctx, ws, &sd, &sub) == HL_OK)
            while (!c.done && !c.closed && now_s() - t0 < GIVE_UP_S)
                if (hl_poll(ctx, 100) < 0) break;
    }
    r.wall = now_s() - t0;
    r.cpu = cpu_s() - c0;
    r.msgs = mode == MODE_RAW ? c.unrouted : c.routed;
    r.ok = c.done && r.msgs == n && c.odd == 0 && c.tokens_bad == 0 && (mode == MODE_RAW || c.unrouted == 0);
    if (!r.ok)
        fprintf(stderr, "%s: %llu routed, %llu unrouted of %llu, %llu odd, %llu bad tokens, done=%d "
                "closed=%d %s\n", mode_names[mode], c.routed, c.unrouted, n, c.odd, c.tokens_bad, c.done, c.closed,
                c.why);
    if (!c.closed && hl_ws_state(ctx, ws) == HL_STATE_OPEN) {
        double t1 = now_s();
        hl_ws_close(ctx, ws, 1000, NULL);
        while (!c.closed && now_s() - t1 < 2.0) hl_poll(ctx, 50);
    }
    hl_ctx_shutdown(ctx);
    free(mem);
    return r;
}

static void print_flood(int mode, unsigned long long n, const run_result *r, const run_result *raw)
{
    if (!r->ok) {
        printf("flood %-6s N=%-8llu failed (see stderr)\n", mode_names[mode], n);
        return;
    }
    printf("flood %-6s N=%-8llu %9.0f msgs/s %6.1f MB/s  client CPU %5.0f ns/msg", mode_names[mode], n,
           (double)r->msgs / r->wall, (double)r->msgs * MSG_SIZE / r->wall / 1e6,
           r->cpu * 1e9 / (double)r->msgs);
    if (mode != MODE_RAW && raw->ok)
        printf("  (%+5.0f ns/msg vs raw)", (r->cpu - raw->cpu) * 1e9 / (double)n);
    printf("  (%.2f s)\n", r->wall);
    fflush(stdout);
}

static void bench_flood(void)
{
    static char *const node[] = {"node", "tests/servers/ws_node_server.js", NULL};
    hl_test_server srv;
    run_result cal, best[3];
    unsigned long long n;
    double rate;
    int rep, mode;
    memset(&srv, 0, sizeof srv);
    if (hl_test_server_start(&srv, node) != 0) {
        printf("flood: could not start node tests/servers/ws_node_server.js\n");
        return;
    }
    cal = flood_run(&srv, MODE_ROUTED, 200000); /* warms node's JIT up too */
    rate = cal.ok && cal.wall > 0 ? (double)cal.msgs / cal.wall : 100000.0;
    n = (unsigned long long)(rate * TARGET_S / 10000.0 + 1) * 10000ULL;
    if (n < 50000) n = 50000;
    if (n > 20000000ULL) n = 20000000ULL;
    memset(best, 0, sizeof best);
    for (rep = 0; rep < REPS; rep++)
        for (mode = MODE_RAW; mode <= MODE_TOKENS; mode++) {
            run_result r = flood_run(&srv, mode, n);
            if (r.ok && (!best[mode].ok || r.cpu < best[mode].cpu)) best[mode] = r;
        }
    for (mode = MODE_RAW; mode <= MODE_TOKENS; mode++) print_flood(mode, n, &best[mode], &best[MODE_RAW]);
    if (best[MODE_ROUTED].ok && best[MODE_TOKENS].ok)
        printf("flood hl_msg_tokens in the handler costs %.0f ns/msg (%d-byte trades message)\n",
               (best[MODE_TOKENS].cpu - best[MODE_ROUTED].cpu) * 1e9 / (double)n, MSG_SIZE);
    hl_test_server_stop(&srv);
}

/* ---- 2. reconnect to resubscribed ----------------------------------------------------------- */

typedef struct resub {
    int opens, disconnects, active, closed;
    int want;          /* active events that mean "all back" */
    double t_disc, t_all;
} resub;

static void resub_event(hl_ctx *ctx, const hl_event *ev)
{
    resub *s = (resub *)ev->user;
    (void)ctx;
    if (ev->type == HL_EV_OPEN) s->opens++;
    else if (ev->type == HL_EV_CLOSE) s->closed = 1;
    else if (ev->type == HL_EV_DISCONNECT) {
        if (!s->t_disc) s->t_disc = now_s();
        s->disconnects++;
    } else if (ev->type == HL_EV_SUB && ev->sub_state == HL_SUB_ACTIVE) {
        s->active++;
        if (s->want && s->active == s->want) s->t_all = now_s();
    }
}

static void hl_server_argv(char **argv, char *portbuf, size_t cap, int port)
{
    static const char *const args[] = {"/usr/bin/python3", "tests/servers/hl_server.py", "--port", "<port>",
                                       "--rate", "0.01", "--max-msgs-per-min", "0", "--max-subs", "100000",
                                       "--idle-timeout", "0"};
    size_t i, n = sizeof args / sizeof args[0];
    snprintf(portbuf, cap, "%d", port);
    for (i = 0; i < n; i++) argv[i] = i == 3 ? portbuf : (char *)args[i];
    argv[n] = NULL;
}

static int start_hl_server(hl_test_server *srv, int port)
{
    char portbuf[16], *argv[16];
    hl_server_argv(argv, portbuf, sizeof portbuf, port);
    return hl_test_server_start(srv, argv);
}

/* Like hl_test_server_start, without waiting for READY: *out_fd is the child's stdout, to be
   read (non-blocking) by wait_ready while the client is polled. */
static int start_hl_server_async(hl_test_server *srv, int port, int *out_fd)
{
    char portbuf[16], *argv[16];
    int in[2], out[2];
    hl_server_argv(argv, portbuf, sizeof portbuf, port);
    if (pipe(in) != 0) return -1;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    srv->pid = fork();
    if (srv->pid < 0) return -1;
    if (srv->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    srv->stdin_fd = in[1];
    srv->port = port;
    srv->port2 = 0;
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    *out_fd = out[0];
    return 0;
}

/* 1 once the child printed READY (the fd is closed then), 0 not yet, -1 when it failed. */
static int check_ready(int *fd, char *buf, size_t cap, size_t *fill)
{
    ssize_t k;
    if (*fd < 0) return 1;
    k = read(*fd, buf + *fill, cap - 1 - *fill);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
        close(*fd);
        *fd = -1;
        return -1;
    }
    if (k > 0) {
        *fill += (size_t)k;
        buf[*fill] = '\0';
        if (strstr(buf, "READY ") && strchr(strstr(buf, "READY "), '\n')) {
            close(*fd);
            *fd = -1;
            return 1;
        }
    }
    return 0;
}

static void server_kill(hl_test_server *srv)
{
    kill(srv->pid, SIGKILL);
    waitpid(srv->pid, NULL, 0);
    close(srv->stdin_fd);
    srv->pid = 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void bench_resubscribe(int nsubs)
{
    static char json[1000][48];
    hl_test_server srv;
    hl_config cfg;
    hl_ctx *ctx = NULL;
    hl_ws_desc desc;
    hl_sub_desc sd;
    hl_ws ws;
    hl_sub sub;
    resub s;
    char url[128];
    size_t size;
    void *mem;
    double t0, drop[RECONNECT_REPS], restart[RECONNECT_REPS], start_s[RECONNECT_REPS];
    int i, rep, port, ok = 1;
    memset(&srv, 0, sizeof srv);
    if (start_hl_server(&srv, 0) != 0) {
        printf("resubscribe: could not start hl_server.py\n");
        return;
    }
    port = srv.port;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.max_subscriptions = 1100;
    cfg.max_subscriptions_venue = HL_UNLIMITED;
    cfg.ws_msgs_per_minute = HL_UNLIMITED;
    cfg.connects_per_minute = HL_UNLIMITED;
    size = hl_ctx_size(&cfg);
    mem = malloc(size);
    if (!mem || hl_ctx_init(&ctx, mem, size, &cfg) != HL_OK) {
        free(mem);
        hl_test_server_stop(&srv);
        return;
    }
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", port);
    memset(&s, 0, sizeof s);
    memset(&desc, 0, sizeof desc);
    desc.url = url;
    desc.on_event = resub_event;
    desc.user = &s;
    desc.reconnect = 1;
    desc.backoff.initial_ms = 1;
    desc.backoff.max_ms = 10;
    desc.backoff.jitter = HL_JITTER_NONE;
    desc.breaker.failures = 1000000;
    desc.app_ping_ms = HL_UNLIMITED;
    desc.profile = hl_profile_hyperliquid();
    if (hl_ws_connect(ctx, &desc, &ws) != HL_OK) ok = 0;
    for (i = 0; ok && i < nsubs; i++) {
        snprintf(json[i], sizeof json[i], "{\"type\":\"trades\",\"coin\":\"C%04d\"}", i);
        memset(&sd, 0, sizeof sd);
        sd.subscription = json[i];
        if (hl_ws_subscribe(ctx, ws, &sd, &sub) != HL_OK) ok = 0;
    }
    t0 = now_s();
    while (ok && s.active < nsubs && now_s() - t0 < 20.0) hl_poll(ctx, 50);
    if (s.active < nsubs) ok = 0;
    for (rep = 0; ok && rep < 2 * RECONNECT_REPS; rep++) {
        int is_restart = rep >= RECONNECT_REPS;
        s.t_disc = s.t_all = 0;
        s.want = s.active + nsubs;
        if (is_restart) {
            char ready[256];
            size_t fill = 0;
            int fd = -1, up = 0;
            double t_kill;
            server_kill(&srv);
            t_kill = now_s();
            if (start_hl_server_async(&srv, port, &fd) != 0) {
                ok = 0;
                break;
            }
            /* the client polls (and retries) while the server starts */
            while (!s.t_all && !s.closed && now_s() - t_kill < 20.0) {
                hl_poll(ctx, up ? 50 : 2);
                if (!up) {
                    up = check_ready(&fd, ready, sizeof ready, &fill);
                    if (up < 0) break;
                    if (up) start_s[rep - RECONNECT_REPS] = now_s() - t_kill;
                }
            }
            if (fd >= 0) close(fd);
            if (up <= 0 || !s.t_all) {
                printf("resubscribe: hl_server.py did not come back on port %d\n", port);
                ok = 0;
                break;
            }
            s.t_disc = t_kill; /* the drop is the kill */
        } else {
            static const char line[] = "drop\n";
            if (write(srv.stdin_fd, line, sizeof line - 1) != (ssize_t)(sizeof line - 1)) ok = 0;
            t0 = now_s();
            while (ok && !s.t_all && !s.closed && now_s() - t0 < 20.0) hl_poll(ctx, 50);
        }
        if (!s.t_all || !s.t_disc) {
            ok = 0;
            break;
        }
        if (is_restart) restart[rep - RECONNECT_REPS] = s.t_all - s.t_disc;
        else drop[rep] = s.t_all - s.t_disc;
    }
    if (ok) {
        qsort(drop, RECONNECT_REPS, sizeof drop[0], cmp_double);
        qsort(restart, RECONNECT_REPS, sizeof restart[0], cmp_double);
        qsort(start_s, RECONNECT_REPS, sizeof start_s[0], cmp_double);
        printf("resubscribe N=%-4d drop -> all active: median %6.1f ms (min %6.1f)   "
               "kill+restart -> all active: median %6.1f ms (min %6.1f; server start-up %3.0f ms of it)\n",
               nsubs, drop[RECONNECT_REPS / 2] * 1e3, drop[0] * 1e3, restart[RECONNECT_REPS / 2] * 1e3,
               restart[0] * 1e3, start_s[RECONNECT_REPS / 2] * 1e3);
    } else {
        printf("resubscribe N=%-4d failed (active %d, opens %d, disconnects %d, closed %d)\n", nsubs,
               s.active, s.opens, s.disconnects, s.closed);
    }
    fflush(stdout);
    hl_ctx_shutdown(ctx);
    free(mem);
    if (srv.pid > 0) hl_test_server_stop(&srv);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    printf("bench_routed: %d-byte Hyperliquid trades messages, Hyperliquid profile and router\n", MSG_SIZE);
    bench_flood();
    bench_resubscribe(1);
    bench_resubscribe(100);
    bench_resubscribe(1000);
    return 0;
}
