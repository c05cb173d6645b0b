/* Figures for wss:// (TLS with BearSSL); prints plain lines, never pass/fail (make bench).
     * receive throughput of 300-byte messages (/flood) over wss:// (python3-websockets with its
       own TLS, and nginx terminating TLS in front of it) next to ws:// to the same python server;
     * full and resumed TLS handshake times on loopback (median of 50 each, context clock);
     * bytes of the context block per connection, with TLS and (a helper built here) without;
     * the stripped size of a statically linked examples/hlcat.c with TLS.
   Servers and certificates as in tests/test_it_tls.c (tests/tls/make_certs.sh into
   build/tls/certs, tests/tls/nginx_wss.conf). Run from the repo root. POSIX only. */
#define _DEFAULT_SOURCE
#ifndef HL_ENABLE_TLS
#define HL_ENABLE_TLS 1
#endif
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#if HL_ENABLE_TLS

#define BT_CERTS "build/tls/certs"
#define BT_WORK "build/tls"
#define BT_FLOOD_N 200000
#define BT_FLOOD_SIZE 300
#define BT_HANDSHAKES 50

static void bt_sleep_ms(int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static double bt_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double bt_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long bt_read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) return -1;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

/* ---- server processes (as in tests/test_it_tls.c) ------------------------------------------ */

typedef struct bt_proc {
    pid_t pid;
    int in_fd;
    int port;
    char log[256];
} bt_proc;

static int bt_spawn(bt_proc *p, char *const argv[], const char *log)
{
    int in[2];
    memset(p, 0, sizeof *p);
    p->in_fd = -1;
    snprintf(p->log, sizeof p->log, "%s", log);
    unlink(log);
    if (pipe(in) != 0) return -1;
    p->pid = fork();
    if (p->pid < 0) return -1;
    if (p->pid == 0) {
        int fd;
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in[0], 0);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        close(in[0]);
        close(in[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    p->in_fd = in[1];
    return 0;
}

static int bt_alive(bt_proc *p)
{
    int st;
    if (p->pid <= 0) return 0;
    if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
        p->pid = 0;
        return 0;
    }
    return 1;
}

static void bt_stop(bt_proc *p)
{
    int i, st;
    if (p->in_fd >= 0) close(p->in_fd);
    p->in_fd = -1;
    if (p->pid <= 0) return;
    kill(p->pid, SIGTERM);
    for (i = 0; i < 150; i++) {
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            p->pid = 0;
            return;
        }
        bt_sleep_ms(20);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    p->pid = 0;
}

static int bt_wait_ready(bt_proc *p)
{
    double t0 = bt_wall();
    while (bt_wall() - t0 < 10.0) {
        char buf[4096];
        const char *s = bt_read_file(p->log, buf, sizeof buf) > 0 ? strstr(buf, "READY ") : NULL;
        if (s && strchr(s, '\n')) {
            p->port = atoi(s + 6);
            return p->port > 0 ? 0 : -1;
        }
        if (!bt_alive(p)) return -1;
        bt_sleep_ms(10);
    }
    return -1;
}

static char g_certs[400];

static int bt_python(bt_proc *p, const char *tag, int tls)
{
    char cert[512], key[512], log[256];
    char *argv[] = {(char *)"/usr/bin/python3", (char *)"tests/servers/ws_python_server.py", (char *)"--tls-cert",
                    cert, (char *)"--tls-key", key, NULL};
    snprintf(cert, sizeof cert, "%s/ec-chain.pem", g_certs);
    snprintf(key, sizeof key, "%s/ec.key", g_certs);
    if (!tls) argv[2] = NULL;
    snprintf(log, sizeof log, BT_WORK "/bench-python-%s.log", tag);
    if (bt_spawn(p, argv, log) != 0 || bt_wait_ready(p) != 0) {
        bt_stop(p);
        return -1;
    }
    return 0;
}

static int bt_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (s < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

static int bt_accepts(int port)
{
    struct sockaddr_in a;
    int s = socket(AF_INET, SOCK_STREAM, 0), ok;
    if (s < 0) return 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

/* nginx from the template, TLS on a free port, in front of 127.0.0.1:upstream. */
static int bt_nginx(bt_proc *p, int upstream)
{
    static char tpl[8192];
    char prefix[512], conf[600], errlog[600], cwd[256], port_s[16], up_s[16];
    const char *nginx = access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
    int attempt;
    if (!getcwd(cwd, sizeof cwd) || bt_read_file("tests/tls/nginx_wss.conf", tpl, sizeof tpl) <= 0) return -1;
    if (system("mkdir -p " BT_WORK "/nginx-bench/tmp") != 0) return -1;
    snprintf(prefix, sizeof prefix, "%s/" BT_WORK "/nginx-bench", cwd);
    snprintf(conf, sizeof conf, "%s/nginx.conf", prefix);
    snprintf(errlog, sizeof errlog, "%s/error.log", prefix);
    snprintf(up_s, sizeof up_s, "%d", upstream);
    for (attempt = 0; attempt < 5; attempt++) {
        char cert[512], key[512];
        const char *kv[] = {"PREFIX", prefix, "PORT", port_s, "UPSTREAM", up_s, "CERT", cert, "KEY", key,
                            "USER", geteuid() == 0 ? "user root;" : "", NULL};
        char *argv[] = {(char *)nginx, (char *)"-p", prefix, (char *)"-e", errlog, (char *)"-c", conf,
                        (char *)"-g", (char *)"daemon off;", NULL};
        const char *s;
        FILE *f;
        double t0;
        int port = bt_free_port(), i;
        snprintf(port_s, sizeof port_s, "%d", port);
        snprintf(cert, sizeof cert, "%s/ec-chain.pem", g_certs);
        snprintf(key, sizeof key, "%s/ec.key", g_certs);
        f = fopen(conf, "w");
        if (!f) return -1;
        for (s = tpl; *s;) {
            int hit = 0;
            if (*s == '@')
                for (i = 0; kv[i]; i += 2) {
                    size_t k = strlen(kv[i]);
                    if (strncmp(s + 1, kv[i], k) == 0 && s[1 + k] == '@') {
                        fputs(kv[i + 1], f);
                        s += k + 2;
                        hit = 1;
                        break;
                    }
                }
            if (!hit) fputc(*s++, f);
        }
        fclose(f);
        if (bt_spawn(p, argv, BT_WORK "/nginx-bench/stderr.log") != 0) return -1;
        for (t0 = bt_wall(); bt_wall() - t0 < 5.0 && bt_alive(p);) {
            if (bt_accepts(port)) {
                p->port = port;
                return 0;
            }
            bt_sleep_ms(10);
        }
        bt_stop(p);
    }
    return -1;
}

/* ---- the client ------------------------------------------------------------------------- */

typedef struct bt {
    hl_ctx *ctx;
    void *mem;
    size_t size;
    hl_ws ws;
    int open, closed, err;
    uint64_t msgs, bytes;
    int done;
    uint64_t t_open, t_done, t_tls_start, t_tls_end;
} bt;

static uint64_t bt_clock(hl_ctx *ctx)
{
    const hl_config *c = hl_ctx_config(ctx);
    return c->clock(c->user);
}

static void bt_on_event(hl_ctx *ctx, const hl_event *ev)
{
    bt *b = (bt *)ev->user;
    switch (ev->type) {
    case HL_EV_STATE:
        if (ev->state == HL_STATE_TLS_HANDSHAKE) b->t_tls_start = bt_clock(ctx);
        if (ev->state == HL_STATE_UPGRADING) b->t_tls_end = bt_clock(ctx);
        break;
    case HL_EV_OPEN:
        b->open = 1;
        b->t_open = bt_clock(ctx);
        break;
    case HL_EV_MESSAGE:
        b->msgs++;
        b->bytes += ev->len;
        if (ev->len < 40 && ev->len > 8 && memcmp(ev->data, "{\"done\":", 8) == 0) {
            b->done = 1;
            b->t_done = bt_clock(ctx);
        }
        break;
    case HL_EV_ERROR:
        if (!b->err) fprintf(stderr, "bench_tls: %s: %s\n", hl_result_name(ev->result), ev->detail);
        b->err = ev->result;
        break;
    case HL_EV_CLOSE:
        b->closed = 1;
        break;
    default:
        break;
    }
}

static void bt_config(hl_config *cfg, uint32_t obuf)
{
    static char ca[512];
    memset(cfg, 0, sizeof *cfg);
    snprintf(ca, sizeof ca, "%s/ca.pem", g_certs);
    cfg->max_connections = 1;
    cfg->tls_ca_file = ca;
    cfg->tls_output_buffer_size = obuf;
    cfg->connects_per_minute = HL_UNLIMITED; /* the handshake series connects 100 times */
}

static int bt_init(bt *b, const hl_config *cfg)
{
    memset(b, 0, sizeof *b);
    b->size = hl_ctx_size(cfg);
    b->mem = malloc(b->size);
    if (!b->mem || hl_ctx_init(&b->ctx, b->mem, b->size, cfg) != HL_OK) {
        free(b->mem);
        b->mem = NULL;
        return -1;
    }
    return 0;
}

static void bt_free(bt *b)
{
    if (b->ctx) hl_ctx_shutdown(b->ctx);
    free(b->mem);
    b->ctx = NULL;
    b->mem = NULL;
}

static int bt_connect(bt *b, const char *url)
{
    hl_ws_desc d;
    b->open = b->closed = b->err = b->done = 0;
    b->msgs = b->bytes = 0;
    b->t_open = b->t_done = b->t_tls_start = b->t_tls_end = 0;
    memset(&d, 0, sizeof d);
    d.url = url;
    d.on_event = bt_on_event;
    d.user = b;
    return hl_ws_connect(b->ctx, &d, &b->ws);
}

/* Poll until cond or limit seconds. */
#define BT_WAIT(b, cond, limit)                                                                   \
    do {                                                                                          \
        double bt_w0 = bt_wall();                                                                 \
        while (!(cond) && bt_wall() - bt_w0 < (limit))                                            \
            if (hl_poll((b)->ctx, 50) < 0) break;                                                 \
    } while (0)

static void bt_close(bt *b)
{
    if (b->open && !b->closed && hl_ws_close(b->ctx, b->ws, 1000, NULL) == HL_OK) BT_WAIT(b, b->closed, 5.0);
}

/* /flood over url: messages per second and MB/s of payload, and client CPU per message. */
static void bt_flood(const char *label, const char *base, uint32_t obuf)
{
    hl_config cfg;
    bt b;
    char url[256];
    double cpu0, cpu1, secs;
    bt_config(&cfg, obuf);
    if (bt_init(&b, &cfg) != 0) {
        printf("%-48s n/a (context init failed)\n", label);
        return;
    }
    snprintf(url, sizeof url, "%s/flood?n=%d&size=%d", base, BT_FLOOD_N, BT_FLOOD_SIZE);
    if (bt_connect(&b, url) != HL_OK) {
        printf("%-48s n/a (connect failed)\n", label);
        bt_free(&b);
        return;
    }
    BT_WAIT(&b, b.open || b.closed, 10.0);
    cpu0 = bt_cpu();
    BT_WAIT(&b, b.done || b.closed, 120.0);
    cpu1 = bt_cpu();
    if (!b.done || b.msgs != BT_FLOOD_N + 1) {
        printf("%-48s n/a (%llu of %d messages)\n", label, (unsigned long long)b.msgs, BT_FLOOD_N + 1);
    } else {
        secs = (double)(b.t_done - b.t_open) / 1e9;
        printf("%-48s %9.0f msg/s %7.1f MB/s  client CPU %.2f us/msg (%.0f%% of one core)\n", label,
               BT_FLOOD_N / secs, BT_FLOOD_N * (double)BT_FLOOD_SIZE / secs / 1e6, (cpu1 - cpu0) / BT_FLOOD_N * 1e6,
               (cpu1 - cpu0) / secs * 100.0);
    }
    bt_close(&b);
    bt_free(&b);
}

static int bt_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Handshake times (TLS_HANDSHAKE to UPGRADING, context clock): full ones with a new context
   each time, resumed ones on one context, each connection closed cleanly. */
static void bt_handshakes(const char *label, const char *url)
{
    uint64_t full[BT_HANDSHAKES], res[BT_HANDSHAKES], open_full[BT_HANDSHAKES], open_res[BT_HANDSHAKES];
    hl_config cfg;
    hl_ctx_stats st;
    bt b;
    int i, nf = 0, nr = 0;
    bt_config(&cfg, 0);
    for (i = 0; i < BT_HANDSHAKES; i++) {
        uint64_t t0;
        if (bt_init(&b, &cfg) != 0) break;
        t0 = bt_clock(b.ctx);
        if (bt_connect(&b, url) == HL_OK) {
            BT_WAIT(&b, b.open || b.closed, 10.0);
            if (b.open && b.t_tls_end > b.t_tls_start) {
                full[nf] = b.t_tls_end - b.t_tls_start;
                open_full[nf++] = b.t_open - t0;
            }
            bt_close(&b);
        }
        bt_free(&b);
    }
    if (bt_init(&b, &cfg) == 0) {
        for (i = 0; i <= BT_HANDSHAKES; i++) {
            uint64_t t0 = bt_clock(b.ctx);
            if (bt_connect(&b, url) != HL_OK) break;
            BT_WAIT(&b, b.open || b.closed, 10.0);
            if (i > 0 && b.open && b.t_tls_end > b.t_tls_start) { /* the first one is full */
                res[nr] = b.t_tls_end - b.t_tls_start;
                open_res[nr++] = b.t_open - t0;
            }
            bt_close(&b);
        }
        memset(&st, 0, sizeof st);
        hl_ctx_stats_get(b.ctx, &st);
        bt_free(&b);
    }
    qsort(full, (size_t)nf, sizeof full[0], bt_cmp_u64);
    qsort(res, (size_t)nr, sizeof res[0], bt_cmp_u64);
    qsort(open_full, (size_t)nf, sizeof open_full[0], bt_cmp_u64);
    qsort(open_res, (size_t)nr, sizeof open_res[0], bt_cmp_u64);
    if (nf)
        printf("%-28s full handshake    median %6.2f ms (min %.2f, max %.2f; n=%d)  connect to OPEN %.2f ms\n", label,
               full[nf / 2] / 1e6, full[0] / 1e6, full[nf - 1] / 1e6, nf, open_full[nf / 2] / 1e6);
    else
        printf("%-28s full handshake    n/a\n", label);
    if (nr)
        printf("%-28s resumed handshake median %6.2f ms (min %.2f, max %.2f; n=%d)  connect to OPEN %.2f ms"
               "  [ctx stats: %llu full, %llu resumed]\n",
               label, res[nr / 2] / 1e6, res[0] / 1e6, res[nr - 1] / 1e6, nr, open_res[nr / 2] / 1e6,
               (unsigned long long)st.tls_handshakes_full, (unsigned long long)st.tls_handshakes_resumed);
    else
        printf("%-28s resumed handshake n/a\n", label);
}

/* ---- sizes -------------------------------------------------------------------------------- */

static size_t bt_per_conn(uint32_t max_msg, uint32_t queue, uint32_t obuf)
{
    hl_config c;
    size_t one, two;
    memset(&c, 0, sizeof c);
    c.max_message_size = max_msg;
    c.send_queue_size = queue;
    c.tls_output_buffer_size = obuf;
    c.max_connections = 1;
    one = hl_ctx_size(&c);
    c.max_connections = 2;
    two = hl_ctx_size(&c);
    return two - one;
}

/* The same per-connection figures from a helper built here with HL_ENABLE_TLS 0. */
static const char bt_probe_src[] =
    "#define HL_ENABLE_TLS 0\n"
    "#define HL_NET_IMPLEMENTATION\n"
    "#include \"hl_net.h\"\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "static size_t per_conn(uint32_t m, uint32_t q)\n"
    "{\n"
    "    hl_config c;\n"
    "    size_t one;\n"
    "    memset(&c, 0, sizeof c);\n"
    "    c.max_message_size = m;\n"
    "    c.send_queue_size = q;\n"
    "    c.max_connections = 1;\n"
    "    one = hl_ctx_size(&c);\n"
    "    c.max_connections = 2;\n"
    "    return hl_ctx_size(&c) - one;\n"
    "}\n"
    "int main(void)\n"
    "{\n"
    "    printf(\"%zu %zu %zu\\n\", per_conn(0, 0), per_conn(65536, 65536), hl_ctx_size(NULL));\n"
    "    return 0;\n"
    "}\n";

static void bt_sizes(void)
{
    size_t d = bt_per_conn(0, 0, 0), d597 = bt_per_conn(0, 0, 597), dmax = bt_per_conn(0, 0, 16469);
    size_t small = bt_per_conn(65536, 65536, 0), small597 = bt_per_conn(65536, 65536, 597);
    unsigned long plain = 0, plain_small = 0, plain_ctx = 0;
    char line[128];
    FILE *f;
    hl_config c;
    printf("context block per connection, TLS build (hl_ctx_size(max_connections=2) - (=1)):\n");
    printf("  defaults (1 MiB message, 256 KiB queue, tls_output_buffer_size 4181): %zu bytes\n", d);
    printf("  same, tls_output_buffer_size 597:    %zu bytes\n", d597);
    printf("  same, tls_output_buffer_size 16469:  %zu bytes\n", dmax);
    printf("  64 KiB message and queue, obuf 4181:  %zu bytes; obuf 597: %zu bytes\n", small, small597);
    printf("  of which TLS state: engine+x509 struct %zu, input buffer %d, output buffer as configured\n",
           sizeof(hl__tls), (int)HL__TLS_IBUF);
    memset(&c, 0, sizeof c);
    printf("  whole context, defaults (max_connections 4, tls_anchor_space 128 KiB): %zu bytes\n", hl_ctx_size(&c));
    f = fopen(BT_WORK "/size_probe.c", "w");
    if (f) {
        fputs(bt_probe_src, f);
        fclose(f);
    }
    if (f && system("${CC:-cc} -std=c99 -O1 -I. -o " BT_WORK "/size_probe " BT_WORK "/size_probe.c 2>" BT_WORK
                    "/size_probe.log") == 0 &&
        (f = popen("./" BT_WORK "/size_probe", "r")) != NULL) {
        if (fgets(line, sizeof line, f)) sscanf(line, "%lu %lu %lu", &plain, &plain_small, &plain_ctx);
        pclose(f);
    }
    if (plain) {
        printf("context block per connection, plain build (HL_ENABLE_TLS 0): %lu bytes (64 KiB message and queue: "
               "%lu)\n", plain, plain_small);
        printf("  TLS adds per connection: %lu bytes (obuf 4181), %lu bytes (obuf 597)\n",
               (unsigned long)(d - plain), (unsigned long)(d597 - plain));
        printf("  whole context, defaults, plain build: %lu bytes\n", plain_ctx);
    } else {
        printf("context block per connection, plain build: n/a (could not build " BT_WORK "/size_probe.c)\n");
    }
}

static int g_warned;

/* Build examples/hlcat.c with flags and libs, strip it, print its size. */
static void bt_binary(const char *label, const char *flags, const char *libs)
{
    char cmd[1400], out[256], log[256], buf[4096];
    struct stat sb;
    snprintf(out, sizeof out, BT_WORK "/hlcat_%s", label);
    snprintf(log, sizeof log, BT_WORK "/hlcat_%s.log", label);
    snprintf(cmd, sizeof cmd, "${CC:-cc} -std=c99 %s -I. -I/usr/include/bearssl examples/hlcat.c -o %s %s >%s 2>&1"
             " && strip -o %s.stripped %s", flags, out, libs, log, out, out);
    if (access("examples/hlcat.c", R_OK) != 0) {
        printf("hlcat %-34s n/a (no examples/hlcat.c)\n", label);
        return;
    }
    if (system(cmd) != 0) {
        printf("hlcat %-34s n/a (build failed, see %s)\n", label, log);
        return;
    }
    snprintf(out + strlen(out), sizeof out - strlen(out), ".stripped");
    if (stat(out, &sb) != 0) {
        printf("hlcat %-34s n/a\n", label);
        return;
    }
    printf("hlcat %-34s %8ld bytes stripped  (%s)\n", label, (long)sb.st_size, flags);
    if (bt_read_file(log, buf, sizeof buf) > 0 && strstr(buf, "getaddrinfo") && !g_warned++)
        printf("  note: the linker warns: 'Using getaddrinfo in statically linked applications requires at "
               "runtime the shared libraries from the glibc version used for linking' (name resolution "
               "loads libnss at run time; a resolve hook or musl avoids it)\n");
}

int main(void)
{
    bt_proc py_plain, py_tls, ngx;
    char base[128];
    signal(SIGPIPE, SIG_IGN);
    memset(&py_plain, 0, sizeof py_plain);
    memset(&py_tls, 0, sizeof py_tls);
    memset(&ngx, 0, sizeof ngx);
    if (system("mkdir -p " BT_WORK " && sh tests/tls/make_certs.sh " BT_CERTS) != 0 || !getcwd(g_certs, 256)) {
        printf("bench_tls: tests/tls/make_certs.sh failed; no figures\n");
        return 0;
    }
    strcat(g_certs, "/" BT_CERTS);
    printf("bench_tls: %d messages of %d bytes per run; loopback; 2-core VM shared with others, so "
           "figures are noisy\n", BT_FLOOD_N, BT_FLOOD_SIZE);
    if (bt_python(&py_plain, "plain", 0) != 0) printf("python plain server did not start\n");
    if (bt_python(&py_tls, "tls", 1) != 0) printf("python TLS server did not start\n");
    if (py_plain.port > 0 && bt_nginx(&ngx, py_plain.port) != 0) printf("nginx did not start\n");

    printf("-- receive throughput (/flood, server -> client)\n");
    if (py_plain.port > 0) {
        snprintf(base, sizeof base, "ws://127.0.0.1:%d", py_plain.port);
        bt_flood("ws://  python (plain)", base, 0);
    }
    if (py_tls.port > 0) {
        snprintf(base, sizeof base, "wss://localhost:%d", py_tls.port);
        bt_flood("wss:// python TLS (obuf 4181, MFL 4096)", base, 0);
        bt_flood("wss:// python TLS (obuf 16469, 16 KiB records)", base, 16469);
        bt_flood("wss:// python TLS (obuf 597, MFL 512)", base, 597);
    }
    if (ngx.port > 0) {
        snprintf(base, sizeof base, "wss://localhost:%d", ngx.port);
        bt_flood("wss:// nginx -> python (obuf 4181)", base, 0);
        bt_flood("wss:// nginx -> python (obuf 16469)", base, 16469);
    }

    printf("-- TLS handshakes (ECDSA P-256 chain, TLS_HANDSHAKE -> UPGRADING on the context clock)\n");
    if (py_tls.port > 0) {
        snprintf(base, sizeof base, "wss://localhost:%d/echo", py_tls.port);
        bt_handshakes("python TLS", base);
    }
    if (ngx.port > 0) {
        snprintf(base, sizeof base, "wss://localhost:%d/echo", ngx.port);
        bt_handshakes("nginx", base);
    }
    bt_stop(&ngx);
    bt_stop(&py_tls);
    bt_stop(&py_plain);

    printf("-- memory\n");
    bt_sizes();

    printf("-- code size (examples/hlcat.c, gcc, stripped; BearSSL always linked statically; 'dynlibc': glibc "
           "shared)\n");
    bt_binary("tls_static_Os", "-Os -static -DHL_ENABLE_TLS=1", "-l:libbearssl.a");
    bt_binary("tls_static_Os_gc", "-Os -static -DHL_ENABLE_TLS=1 -ffunction-sections -fdata-sections -Wl,--gc-sections",
              "-l:libbearssl.a");
    bt_binary("plain_static_Os", "-Os -static -DHL_ENABLE_TLS=0", "");
    bt_binary("tls_dynlibc_Os_gc", "-Os -DHL_ENABLE_TLS=1 -ffunction-sections -fdata-sections -Wl,--gc-sections",
              "-l:libbearssl.a");
    bt_binary("plain_dynlibc_Os_gc", "-Os -DHL_ENABLE_TLS=0 -ffunction-sections -fdata-sections -Wl,--gc-sections", "");
    return 0;
}

#else

int main(void)
{
    printf("bench_tls: built with HL_ENABLE_TLS 0; no figures\n");
    return 0;
}

#endif
