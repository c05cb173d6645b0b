/* Receive throughput: a local server floods 300-byte JSON text messages (/flood?n=N&size=300)
   and the client counts them until the closing {"done":N} message. For each server (node's ws,
   then Debian's python3-websockets) it prints:
     - raw:   a plain blocking socket that only reads and counts bytes, no WebSocket parsing at
              all: what the server (a separate process on the same cores) can push at most;
     - hl:    hl_net.h (hl_ws_connect + hl_poll, default configuration) receiving the same flood.
   Each line gives messages/s, payload MB/s, the client's CPU time per message (getrusage), and,
   on Linux, the server's CPU time as a share of the wall time: a server near 100% is the
   bottleneck, and the raw line is then the ceiling the hl line can reach.
   N is chosen from a calibration run so each measured run lasts about 2-3 s; each measurement
   runs twice (raw and hl alternating) and the faster run is shown, since the machine is shared.
   Plain figures, no pass/fail. Build with -O2. Runs from the repo root. */
#define _DEFAULT_SOURCE
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define MSG_SIZE 300
#define TARGET_S 2.5
#define REPS 2 /* each measurement runs REPS times, alternating; the best run is shown */
#define GIVE_UP_S 120.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of this process. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of another process (Linux /proc), or -1 when unknown. */
static double proc_cpu_s(pid_t pid)
{
#if defined(__linux__)
    char path[64], buf[1024], *p;
    unsigned long utime = 0, stime = 0;
    long tck = sysconf(_SC_CLK_TCK);
    FILE *f;
    size_t n;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (!f) return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p || tck <= 0) return -1;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt, then
       utime and stime (fields 14 and 15) */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)tck;
#else
    (void)pid;
    return -1;
#endif
}

typedef struct run_result {
    int ok;
    unsigned long long msgs;
    double wall, cpu, server_cpu;
} run_result;

static void print_result(const char *server, const char *client, unsigned long long n, const run_result *r)
{
    if (!r->ok) {
        printf("%-7s %-4s N=%-9llu failed (see above)\n", server, client, n);
        return;
    }
    printf("%-7s %-4s N=%-9llu %9.0f msgs/s %7.1f MB/s  client CPU %6.0f ns/msg (%3.0f%% of wall)", server,
           client, n, (double)r->msgs / r->wall, (double)r->msgs * MSG_SIZE / r->wall / 1e6,
           r->cpu * 1e9 / (double)r->msgs, 100.0 * r->cpu / r->wall);
    if (r->server_cpu >= 0) printf("  server CPU %3.0f%% of wall", 100.0 * r->server_cpu / r->wall);
    printf("  (%.2f s)\n", r->wall);
    fflush(stdout);
}

/* ---- the baseline: count bytes on a blocking socket ------------------------------------- */

static run_result raw_run(const hl_test_server *srv, unsigned long long n)
{
    run_result r;
    struct sockaddr_in a;
    char req[512], done[64];
    static unsigned char buf[256 * 1024];
    unsigned long long want, got = 0;
    size_t head = 0;
    double t0, c0, s0;
    int fd, len;
    memset(&r, 0, sizeof r);
    /* every flood frame is 4 header bytes + 300; then {"done":N} in a short text frame */
    len = snprintf(done, sizeof done, "{\"done\":%llu}", n);
    want = n * (4 + MSG_SIZE) + 2 + (unsigned long long)len;
    t0 = now_s();
    c0 = cpu_s();
    s0 = proc_cpu_s(srv->pid);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return r;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)srv->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)(void *)&a, sizeof a) != 0) goto fail;
    len = snprintf(req, sizeof req,
                   "GET /flood?n=%llu&size=%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   n, MSG_SIZE, srv->port);
    if (send(fd, req, (size_t)len, 0) != len) goto fail;
    for (;;) { /* the response head, then whatever frames came with it */
        ssize_t k = recv(fd, buf + head, sizeof buf - head, 0);
        size_t i;
        if (k <= 0) goto fail;
        head += (size_t)k;
        for (i = 3; i < head; i++)
            if (memcmp(buf + i - 3, "\r\n\r\n", 4) == 0) break;
        if (i < head) {
            if (memcmp(buf, "HTTP/1.1 101", 12) != 0) goto fail;
            got = head - (i + 1);
            break;
        }
        if (head == sizeof buf) goto fail;
    }
    while (got < want) {
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k <= 0) goto fail;
        got += (unsigned long long)k;
    }
    r.wall = now_s() - t0;
    r.cpu = cpu_s() - c0;
    r.server_cpu = s0 >= 0 ? proc_cpu_s(srv->pid) - s0 : -1;
    r.msgs = n;
    r.ok = got == want;
    close(fd); /* without a close frame: the server just sees the TCP end */
    return r;
fail:
    fprintf(stderr, "raw reader: failed after %llu of %llu bytes\n", got, want);
    close(fd);
    return r;
}

/* ---- hl_net.h ------------------------------------------------------------------------------ */

typedef struct hl_count {
    unsigned long long msgs, odd, done;
    int closed;
    char why[200];
} hl_count;

static void on_event(hl_ctx *ctx, const hl_event *ev)
{
    hl_count *c = (hl_count *)ev->user;
    (void)ctx;
    if (ev->type == HL_EV_MESSAGE) {
        if (ev->len == MSG_SIZE) c->msgs++;
        else if (ev->len < 40 && memcmp(ev->data, "{\"done\":", 8) == 0) c->done = 1;
        else c->odd++;
    } else if (ev->type == HL_EV_ERROR) {
        snprintf(c->why, sizeof c->why, "%s: %s", hl_result_name(ev->result), ev->detail);
    } else if (ev->type == HL_EV_CLOSE) {
        c->closed = 1;
    }
}

static run_result hl_run(const hl_test_server *srv, unsigned long long n)
{
    run_result r;
    hl_config cfg;
    hl_ctx *ctx = NULL;
    hl_ws_desc desc;
    hl_ws ws;
    hl_count c;
    char url[128];
    size_t size;
    void *mem;
    double t0, c0, s0;
    memset(&r, 0, sizeof r);
    memset(&c, 0, sizeof c);
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
    desc.on_event = on_event;
    desc.user = &c;
    t0 = now_s();
    c0 = cpu_s();
    s0 = proc_cpu_s(srv->pid);
    if (hl_ws_connect(ctx, &desc, &ws) == HL_OK) {
        while (!c.done && !c.closed && now_s() - t0 < GIVE_UP_S)
            if (hl_poll(ctx, 100) < 0) break;
    }
    r.wall = now_s() - t0;
    r.cpu = cpu_s() - c0;
    r.server_cpu = s0 >= 0 ? proc_cpu_s(srv->pid) - s0 : -1;
    r.msgs = c.msgs;
    r.ok = c.done && c.msgs == n && c.odd == 0;
    if (!r.ok)
        fprintf(stderr, "hl: %llu of %llu messages, %llu odd, done=%d closed=%d %s\n", c.msgs, n, c.odd,
                (int)c.done, c.closed, c.why);
    if (!c.closed && hl_ws_state(ctx, ws) == HL_STATE_OPEN) { /* leave politely, briefly */
        double t1 = now_s();
        hl_ws_close(ctx, ws, 1000, NULL);
        while (!c.closed && now_s() - t1 < 2.0) hl_poll(ctx, 50);
    }
    hl_ctx_shutdown(ctx);
    free(mem);
    return r;
}

static void bench_server(const char *name, char *const argv[])
{
    hl_test_server srv;
    run_result cal, raw, hl;
    unsigned long long n;
    double rate;
    int rep;
    memset(&srv, 0, sizeof srv);
    if (hl_test_server_start(&srv, argv) != 0) {
        printf("%-7s could not start %s %s\n", name, argv[0], argv[1]);
        return;
    }
    cal = hl_run(&srv, 300000); /* also warms the server (and node's JIT) up */
    rate = cal.ok && cal.wall > 0 ? (double)cal.msgs / cal.wall : 100000.0;
    n = (unsigned long long)(rate * TARGET_S / 10000.0 + 1) * 10000ULL;
    if (n < 50000) n = 50000;
    if (n > 50000000ULL) n = 50000000ULL;
    memset(&raw, 0, sizeof raw);
    memset(&hl, 0, sizeof hl);
    for (rep = 0; rep < REPS; rep++) {
        run_result r = raw_run(&srv, n);
        if (r.ok && (!raw.ok || r.wall < raw.wall)) raw = r;
        r = hl_run(&srv, n);
        if (r.ok && (!hl.ok || r.wall < hl.wall)) hl = r;
    }
    print_result(name, "raw", n, &raw);
    print_result(name, "hl", n, &hl);
    if (raw.ok && hl.ok)
        printf("%-7s hl reaches %.0f%% of the raw reader's rate; it costs %.0f ns/msg of client CPU more "
               "than raw;\n"
               "%-7s hl alone could take about %.1f M msgs/s (1 / its CPU time per message)\n",
               name, 100.0 * ((double)hl.msgs / hl.wall) / ((double)raw.msgs / raw.wall),
               (hl.cpu - raw.cpu) * 1e9 / (double)n, "", (double)n / hl.cpu / 1e6);
    hl_test_server_stop(&srv);
}

int main(void)
{
    static char *const node[] = {"node", "tests/servers/ws_node_server.js", NULL};
    static char *const py[] = {"/usr/bin/python3", "tests/servers/ws_python_server.py", NULL};
    signal(SIGPIPE, SIG_IGN);
    printf("bench_recv: %d-byte text messages from a local flood server (separate process, same machine)\n",
           MSG_SIZE);
    bench_server("node", node);
    bench_server("python", py);
    return 0;
}
