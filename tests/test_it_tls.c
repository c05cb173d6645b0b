/* Integration tests of wss:// (TLS with BearSSL) against real servers on 127.0.0.1, with
   certificates made by tests/tls/make_certs.sh into build/tls/certs:
     * nginx terminating TLS in front of the python3-websockets server
       (tests/tls/nginx_wss.conf),
     * the python3-websockets server with its own TLS (--tls-cert/--tls-key),
     * openssl s_server for handshake-level cases (certificate rejections, TLS 1.3 only).
   Public API only, except the BearSSL types a caller uses for tls_anchors. Every wait is a
   bounded poll loop; failures name the events seen. POSIX only, like the harness; Linux
   servers also die with the test (PR_SET_PDEATHSIG). Host names: BearSSL checks the SAN
   dNSName and has no IP-address SANs, so the URLs say localhost. */
#define _DEFAULT_SOURCE
#ifndef HL_ENABLE_TLS
#define HL_ENABLE_TLS 1
#endif
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include "harness.h"

#if HL_ENABLE_TLS

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define TL_CERTS "build/tls/certs"
#define TL_WORK "build/tls"
#define TL_TIMEOUT_S 10.0
#define TL_MAX_MSGS 8
#define TL_MIB (1024u * 1024u)

/* ---- small helpers ------------------------------------------------------------------------ */

static double tl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tl_fill(unsigned char *p, size_t n, unsigned seed)
{
    uint32_t x = 2463534242u ^ seed;
    size_t i;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(x >> 11);
    }
}

/* The absolute path of a repo-relative path (the file must exist). */
static int tl_abspath(const char *rel, char *out, size_t cap)
{
    char cwd[512];
    if (!getcwd(cwd, sizeof cwd)) return -1;
    if ((size_t)snprintf(out, cap, "%s/%s", cwd, rel) >= cap) return -1;
    return access(out, F_OK) == 0 ? 0 : -1;
}

/* Run a shell command and keep the first line of its output (trailing newline dropped). */
static int tl_cmd_line(const char *cmd, char *out, size_t cap)
{
    FILE *f = popen(cmd, "r");
    int ok;
    size_t n;
    if (!f) return -1;
    ok = fgets(out, (int)cap, f) != NULL;
    if (pclose(f) != 0) ok = 0;
    if (!ok) return -1;
    n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = '\0';
    return 0;
}

/* A port that was free a moment ago (bind 0, read, close). */
static int tl_free_port(void)
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

static int tl_tcp_accepts(int port)
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

/* ---- server processes --------------------------------------------------------------------- */

/* A child process: stdin is a pipe we hold (the python servers leave when it closes), stdout
   and stderr go to a log file under build/tls. */
typedef struct tl_proc {
    pid_t pid;
    int in_fd;
    int port;
    char log[256];
} tl_proc;

static int tl_proc_spawn(tl_proc *p, char *const argv[], const char *log)
{
    int in[2];
    memset(p, 0, sizeof *p);
    p->in_fd = -1;
    snprintf(p->log, sizeof p->log, "%s", log);
    unlink(log); /* so nothing of an earlier run is read as this one's port */
    if (pipe(in) != 0) return -1;
    p->pid = fork();
    if (p->pid < 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    if (p->pid == 0) {
        int fd;
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
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

static int tl_proc_alive(tl_proc *p)
{
    int st;
    if (p->pid <= 0) return 0;
    if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
        p->pid = 0;
        return 0;
    }
    return 1;
}

static void tl_proc_stop(tl_proc *p)
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
        hl_test_sleep_ms(20);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    p->pid = 0;
}

/* Wait (10 s at most) for the log to show "<word> <port>" (python: READY 1234) or
   "<word> <host>:<port>" (s_server: ACCEPT 127.0.0.1:1234). */
static int tl_proc_wait_port(tl_proc *p, const char *word)
{
    double t0 = tl_now();
    while (tl_now() - t0 < 10.0) {
        char buf[4096];
        long n = hl_test_read_file(p->log, buf, sizeof buf);
        const char *s = n > 0 ? strstr(buf, word) : NULL;
        if (s && strchr(s, '\n')) {
            const char *colon;
            s += strlen(word);
            colon = strchr(s, ':');
            if (colon && colon < strchr(s, '\n')) s = colon + 1;
            p->port = atoi(s);
            return p->port > 0 ? 0 : -1;
        }
        if (!tl_proc_alive(p)) return -1;
        hl_test_sleep_ms(10);
    }
    return -1;
}

static int g_certs_ok;
static char g_certs[400]; /* absolute path of build/tls/certs */
static char g_nginx[64];

static void tl_cert_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_certs, name);
}

/* python3-websockets, plain (chain == NULL) or with TLS. */
static int tl_python_start(tl_proc *p, const char *tag, const char *chain, const char *key)
{
    char cert[512], keyp[512], log[256];
    char *argv[8];
    int n = 0;
    argv[n++] = (char *)"/usr/bin/python3";
    argv[n++] = (char *)"tests/servers/ws_python_server.py";
    if (chain) {
        tl_cert_path(cert, sizeof cert, chain);
        tl_cert_path(keyp, sizeof keyp, key);
        argv[n++] = (char *)"--tls-cert";
        argv[n++] = cert;
        argv[n++] = (char *)"--tls-key";
        argv[n++] = keyp;
    }
    argv[n] = NULL;
    snprintf(log, sizeof log, TL_WORK "/python-%s.log", tag);
    if (tl_proc_spawn(p, argv, log) != 0) return -1;
    if (tl_proc_wait_port(p, "READY ") != 0) {
        tl_proc_stop(p);
        return -1;
    }
    return 0;
}

static int g_sserver_runs;

/* openssl s_server -WWW with leaf (+ chain file when not NULL); extra: one more option. */
static int tl_sserver_start(tl_proc *p, const char *leaf, const char *key, const char *chain, const char *extra)
{
    char cert[512], keyp[512], chainp[512], log[256];
    char *argv[16];
    int n = 0;
    tl_cert_path(cert, sizeof cert, leaf);
    tl_cert_path(keyp, sizeof keyp, key);
    argv[n++] = (char *)"openssl";
    argv[n++] = (char *)"s_server";
    argv[n++] = (char *)"-accept";
    argv[n++] = (char *)"127.0.0.1:0";
    argv[n++] = (char *)"-cert";
    argv[n++] = cert;
    argv[n++] = (char *)"-key";
    argv[n++] = keyp;
    if (chain) {
        tl_cert_path(chainp, sizeof chainp, chain);
        argv[n++] = (char *)"-cert_chain";
        argv[n++] = chainp;
    }
    argv[n++] = (char *)"-WWW";
    if (extra) argv[n++] = (char *)extra;
    argv[n] = NULL;
    snprintf(log, sizeof log, TL_WORK "/s_server-%d-%s%s.log", ++g_sserver_runs, leaf, extra ? extra : "");
    if (tl_proc_spawn(p, argv, log) != 0) return -1;
    if (tl_proc_wait_port(p, "ACCEPT ") != 0) {
        tl_proc_stop(p);
        return -1;
    }
    return 0;
}

/* Fill the nginx template: @NAME@ fields from the table. */
static int tl_template(const char *src, const char *dst, const char *const *kv)
{
    static char tpl[8192];
    FILE *f;
    const char *p;
    long n = hl_test_read_file(src, tpl, sizeof tpl);
    if (n <= 0) return -1;
    f = fopen(dst, "w");
    if (!f) return -1;
    for (p = tpl; *p;) {
        int i, hit = 0;
        if (*p == '@') {
            for (i = 0; kv[i]; i += 2) {
                size_t k = strlen(kv[i]);
                if (strncmp(p + 1, kv[i], k) == 0 && p[1 + k] == '@') {
                    fputs(kv[i + 1], f);
                    p += k + 2;
                    hit = 1;
                    break;
                }
            }
        }
        if (!hit) fputc(*p++, f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* nginx with TLS on a free port in front of 127.0.0.1:upstream. Retries on a port conflict. */
static int tl_nginx_start(tl_proc *p, const char *tag, const char *chain, const char *key, int upstream)
{
    char prefix[512], rel[128], conf[600], errlog[600], log[256], cert[512], keyp[512];
    char port_s[16], up_s[16], cmd[700];
    int attempt;
    if (!g_nginx[0]) return -1;
    snprintf(rel, sizeof rel, TL_WORK "/nginx-%s", tag);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/tmp'", rel);
    if (system(cmd) != 0 || tl_abspath(rel, prefix, sizeof prefix) != 0) return -1;
    snprintf(conf, sizeof conf, "%s/nginx.conf", prefix);
    snprintf(errlog, sizeof errlog, "%s/error.log", prefix);
    snprintf(log, sizeof log, "%s/stderr.log", rel);
    tl_cert_path(cert, sizeof cert, chain);
    tl_cert_path(keyp, sizeof keyp, key);
    snprintf(up_s, sizeof up_s, "%d", upstream);
    for (attempt = 0; attempt < 5; attempt++) {
        const char *kv[] = {"PREFIX", prefix, "PORT", port_s, "UPSTREAM", up_s, "CERT", cert, "KEY", keyp,
                            "USER", geteuid() == 0 ? "user root;" : "", NULL};
        char *argv[] = {g_nginx, (char *)"-p", prefix, (char *)"-e", errlog, (char *)"-c", conf,
                        (char *)"-g", (char *)"daemon off;", NULL};
        double t0;
        int port = tl_free_port();
        if (port <= 0) return -1;
        snprintf(port_s, sizeof port_s, "%d", port);
        if (tl_template("tests/tls/nginx_wss.conf", conf, kv) != 0) return -1;
        if (tl_proc_spawn(p, argv, log) != 0) return -1;
        for (t0 = tl_now(); tl_now() - t0 < 5.0 && tl_proc_alive(p);) {
            if (tl_tcp_accepts(port)) {
                p->port = port;
                return 0;
            }
            hl_test_sleep_ms(10);
        }
        tl_proc_stop(p); /* died (port taken?) or never listened: try another port */
    }
    return -1;
}

/* ---- the user block of the configuration (log, resolve, wall clock) ------------------------ */

typedef struct tl_user {
    int insecure_warnings;  /* WARN lines naming tls_insecure */
    int errors_logged;
    char last_error[256];
    int resolve_v6_only;    /* tl_resolve answers ::1 alone (else ::1, then 127.0.0.1) */
    int resolves;
    int64_t fixed_time;     /* wall_clock answer when non-zero */
} tl_user;

static tl_user g_user;

static void tl_log(void *user, hl_log_level level, uint32_t conn_id, const char *msg)
{
    tl_user *u = (tl_user *)user;
    (void)conn_id;
    if (level == HL_LOG_WARN && strstr(msg, "tls_insecure")) u->insecure_warnings++;
    if (level == HL_LOG_ERROR) {
        u->errors_logged++;
        snprintf(u->last_error, sizeof u->last_error, "%s", msg);
    }
}

static int tl_resolve(void *user, const char *host, uint16_t port, hl_addr *out, int max)
{
    tl_user *u = (tl_user *)user;
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    (void)host;
    u->resolves++;
    if (max < 2) return HL_E_DNS;
    if (u->resolve_v6_only) max = 1;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(port);
    a6.sin6_addr = in6addr_loopback;
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a4.sin_port = htons(port);
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memcpy(out[0].bytes, &a6, sizeof a6);
    out[0].len = sizeof a6;
    if (max < 2) return 1;
    memcpy(out[1].bytes, &a4, sizeof a4);
    out[1].len = sizeof a4;
    return 2;
}

static int64_t tl_wall_clock(void *user)
{
    tl_user *u = (tl_user *)user;
    return u->fixed_time ? u->fixed_time : (int64_t)time(NULL);
}

/* A configuration with our callbacks and the test CA from the file (ca == NULL: none set). */
static void tl_config(hl_config *cfg, const char *ca)
{
    static char ca_path[512];
    memset(cfg, 0, sizeof *cfg);
    cfg->max_connections = 2;
    cfg->max_message_size = TL_MIB;
    cfg->send_queue_size = 2 * TL_MIB + 65536; /* a 1 MiB message framed, and the reserve */
    cfg->log = tl_log;
    cfg->log_level = HL_LOG_INFO;
    cfg->user = &g_user;
    cfg->wall_clock = tl_wall_clock;
    if (ca) {
        tl_cert_path(ca_path, sizeof ca_path, ca);
        cfg->tls_ca_file = ca_path;
    }
}

/* ---- one context and its current connection ------------------------------------------------ */

typedef struct tl_msg {
    unsigned char *data;
    size_t len;
    int is_text;
} tl_msg;

typedef struct tl {
    hl_ctx *ctx;
    void *mem;
    hl_ws ws;
    /* the current connection */
    double timeout_s;          /* of TL_WAIT; 0: TL_TIMEOUT_S */
    int open, closed, nerrors, err_result, close_result, close_code, saw_tls_state, state_upgrading;
    char detail[200];
    hl_error_info info;        /* hl_ws_last_error read during the CLOSE event */
    tl_msg msgs[TL_MAX_MSGS];  /* the first messages */
    int nmsgs;
    uint64_t msgs_total;
    unsigned char last[64];    /* the start of the last message */
    size_t last_len;
    char last_tok[32];
    int repeat;
    char trace[300];
} tl;

/* Append an event name to the trace; repeats are counted ("txt*500"). */
static void tl_trace(tl *t, const char *tok)
{
    size_t used = strlen(t->trace);
    if (t->repeat && strcmp(tok, t->last_tok) == 0) {
        t->repeat++;
        return;
    }
    if (t->repeat > 1 && used + 12 < sizeof t->trace) {
        snprintf(t->trace + used, sizeof t->trace - used, "*%d", t->repeat);
        used = strlen(t->trace);
    }
    if (used + strlen(tok) + 16 < sizeof t->trace)
        snprintf(t->trace + used, sizeof t->trace - used, "%s%s", used ? " " : "", tok);
    snprintf(t->last_tok, sizeof t->last_tok, "%s", tok);
    t->repeat = 1;
}

static void tl_on_event(hl_ctx *ctx, const hl_event *ev)
{
    tl *t = (tl *)ev->user;
    char tok[80];
    switch (ev->type) {
    case HL_EV_STATE:
        if (ev->state == HL_STATE_TLS_HANDSHAKE) t->saw_tls_state = 1;
        if (ev->state == HL_STATE_UPGRADING) t->state_upgrading = 1;
        tl_trace(t, hl_state_str(ev->state));
        break;
    case HL_EV_OPEN:
        t->open = 1;
        tl_trace(t, "open");
        break;
    case HL_EV_MESSAGE:
        tl_trace(t, ev->is_text ? "txt" : "bin");
        t->msgs_total++;
        t->last_len = ev->len < sizeof t->last ? ev->len : sizeof t->last;
        if (t->last_len) memcpy(t->last, ev->data, t->last_len);
        if (t->nmsgs < TL_MAX_MSGS) {
            tl_msg *m = &t->msgs[t->nmsgs++];
            m->data = (unsigned char *)malloc(ev->len + 1);
            if (m->data && ev->len) memcpy(m->data, ev->data, ev->len);
            m->len = ev->len;
            m->is_text = ev->is_text;
        }
        break;
    case HL_EV_ERROR:
        if (!t->nerrors++) {
            t->err_result = ev->result;
            snprintf(t->detail, sizeof t->detail, "%s", ev->detail);
        }
        snprintf(tok, sizeof tok, "error(%s)", hl_result_name(ev->result));
        tl_trace(t, tok);
        break;
    case HL_EV_CLOSE:
        t->closed++;
        t->close_result = ev->result;
        t->close_code = ev->close_code;
        hl_ws_last_error(ctx, ev->ws, &t->info);
        snprintf(tok, sizeof tok, "close(%d,%s)", ev->close_code, hl_result_name(ev->result));
        tl_trace(t, tok);
        break;
    default:
        tl_trace(t, "?");
        break;
    }
}

static void tl_fail(tl *t, const char *file, int line, const char *what)
{
    char m[448];
    tl_trace(t, ""); /* flush a repeat count */
    snprintf(m, sizeof m, "%.120s; events: %.160s%s%.140s", what, t->trace, t->nerrors ? "; detail: " : "",
             t->nerrors ? t->detail : "");
    hl_test_fail_at(file, line, m);
}

#define TL_CHECK(t, cond)                                                                         \
    do {                                                                                          \
        if (!(cond)) tl_fail((t), __FILE__, __LINE__, #cond);                                     \
    } while (0)

/* Poll until cond holds or 10 s pass (then the test fails). */
#define TL_WAIT(t, cond)                                                                          \
    do {                                                                                          \
        double tl_w0 = tl_now();                                                                  \
        while (!(cond)) {                                                                         \
            int tl_rc = hl_poll((t)->ctx, 20);                                                    \
            if (tl_rc < 0 || tl_now() - tl_w0 > ((t)->timeout_s ? (t)->timeout_s : TL_TIMEOUT_S)) {  \
                tl_fail((t), __FILE__, __LINE__, "timed out or poll failed waiting for " #cond);  \
                break;                                                                            \
            }                                                                                     \
        }                                                                                         \
    } while (0)

static int tl_init(tl *t, const hl_config *cfg)
{
    size_t size = hl_ctx_size(cfg);
    int rc;
    memset(t, 0, sizeof *t);
    t->mem = malloc(size);
    if (!t->mem) return HL_E_NO_MEMORY;
    rc = hl_ctx_init(&t->ctx, t->mem, size, cfg);
    if (rc != HL_OK) t->ctx = NULL;
    return rc;
}

static void tl_reset_conn(tl *t)
{
    int i;
    for (i = 0; i < t->nmsgs; i++) free(t->msgs[i].data);
    t->nmsgs = 0;
    t->msgs_total = 0;
    t->last_len = 0;
    t->last_tok[0] = '\0';
    t->repeat = 0;
    t->open = t->closed = t->nerrors = t->err_result = t->close_result = t->close_code = 0;
    t->saw_tls_state = t->state_upgrading = 0;
    t->detail[0] = t->trace[0] = '\0';
    memset(&t->info, 0, sizeof t->info);
}

/* Start a connection; the hl_ws_connect result. */
static int tl_connect(tl *t, const char *url, const unsigned char *pins, int npins)
{
    hl_ws_desc d;
    tl_reset_conn(t);
    memset(&d, 0, sizeof d);
    d.url = url;
    d.on_event = tl_on_event;
    d.user = t;
    d.tls_pins = pins;
    d.tls_pin_count = npins;
    return hl_ws_connect(t->ctx, &d, &t->ws);
}

static void tl_end(tl *t)
{
    tl_reset_conn(t);
    if (t->ctx) hl_ctx_shutdown(t->ctx);
    free(t->mem);
    memset(t, 0, sizeof *t);
}

/* Connect and wait for OPEN (1) or the end (0, test failed). */
static int tl_open(tl *t, const char *url, const unsigned char *pins, int npins)
{
    int rc = tl_connect(t, url, pins, npins);
    if (rc != HL_OK) {
        char m[300];
        snprintf(m, sizeof m, "hl_ws_connect(%s) = %s", url, hl_result_name(rc));
        tl_fail(t, __FILE__, __LINE__, m);
        return 0;
    }
    TL_WAIT(t, t->open || t->closed);
    if (!t->open) tl_fail(t, __FILE__, __LINE__, "the connection did not open");
    TL_CHECK(t, t->saw_tls_state);
    return t->open && !t->closed;
}

/* Close with 1000 and wait for the CLOSE event: 1 when it was clean. */
static int tl_close(tl *t)
{
    int rc = hl_ws_close(t->ctx, t->ws, 1000, "done");
    TL_CHECK(t, rc == HL_OK);
    if (rc != HL_OK) return 0;
    TL_WAIT(t, t->closed);
    TL_CHECK(t, t->close_code == 1000 && t->close_result == HL_OK);
    return t->closed && t->close_code == 1000 && t->close_result == HL_OK;
}

/* Send, polling while the send queue is full. */
static int tl_send(tl *t, hl_msg_type type, const void *p, size_t n)
{
    double t0 = tl_now();
    for (;;) {
        int rc = hl_ws_send(t->ctx, t->ws, type, p, n);
        if (rc != HL_E_QUEUE_FULL || tl_now() - t0 > TL_TIMEOUT_S) return rc;
        if (hl_poll(t->ctx, 10) < 0) return rc;
    }
}

/* Echo round trips on an open connection: a text, a binary of every byte value, and one of
   big bytes (0: none); each must come back equal. */
static void tl_echo_round(tl *t, size_t big)
{
    static const char text[] = "wss caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    unsigned char bin[256];
    unsigned char *bigp = NULL;
    int i, want = big ? 3 : 2, base = t->nmsgs;
    for (i = 0; i < 256; i++) bin[i] = (unsigned char)i;
    TL_CHECK(t, tl_send(t, HL_MSG_TEXT, text, sizeof text - 1) == HL_OK);
    TL_CHECK(t, tl_send(t, HL_MSG_BINARY, bin, sizeof bin) == HL_OK);
    if (big) {
        bigp = (unsigned char *)malloc(big);
        if (!bigp) {
            TL_CHECK(t, bigp != NULL);
            return;
        }
        tl_fill(bigp, big, (unsigned)big);
        TL_CHECK(t, tl_send(t, HL_MSG_BINARY, bigp, big) == HL_OK);
    }
    TL_WAIT(t, t->nmsgs >= base + want || t->closed);
    if (t->nmsgs >= base + want) {
        tl_msg *m = &t->msgs[base];
        TL_CHECK(t, m[0].is_text && m[0].len == sizeof text - 1 && memcmp(m[0].data, text, m[0].len) == 0);
        TL_CHECK(t, !m[1].is_text && m[1].len == 256 && memcmp(m[1].data, bin, 256) == 0);
        if (big) TL_CHECK(t, !m[2].is_text && m[2].len == big && m[2].data && memcmp(m[2].data, bigp, big) == 0);
    }
    TL_CHECK(t, !t->closed && t->nerrors == 0);
    free(bigp);
}

/* Connect, expect a TLS failure: result, BearSSL code (0: any), detail words (NULL: none). */
static void tl_expect_fail(tl *t, const char *url, const unsigned char *pins, int npins, int result,
                           int tls_error, const char *word1, const char *word2)
{
    int rc = tl_connect(t, url, pins, npins);
    TL_CHECK(t, rc == HL_OK);
    if (rc != HL_OK) return;
    TL_WAIT(t, t->closed);
    TL_CHECK(t, !t->open);
    TL_CHECK(t, t->saw_tls_state);
    TL_CHECK(t, t->nerrors == 1);
    if (t->err_result != result || t->close_result != result) {
        char m[200];
        snprintf(m, sizeof m, "expected %s, got error %s / close %s", hl_result_name(result),
                 hl_result_name(t->err_result), hl_result_name(t->close_result));
        tl_fail(t, __FILE__, __LINE__, m);
    }
    TL_CHECK(t, t->close_code == 1006);
    TL_CHECK(t, t->info.result == result);
    if (tls_error && t->info.tls_error != tls_error) {
        char m[120];
        snprintf(m, sizeof m, "tls_error %d, expected %d", t->info.tls_error, tls_error);
        tl_fail(t, __FILE__, __LINE__, m);
    }
    if (word1) TL_CHECK(t, strstr(t->detail, word1) != NULL);
    if (word2) TL_CHECK(t, strstr(t->detail, word2) != NULL);
    TL_CHECK(t, strcmp(t->detail, t->info.detail) == 0);
}

/* ---- servers shared by the tests ----------------------------------------------------------- */

static tl_proc g_py_ec, g_py_rsa, g_py_self, g_py_plain, g_ngx;

/* Key pins (SHA-256 of the SubjectPublicKeyInfo) computed with openssl at setup. */
static unsigned char g_pin_ec[32], g_pin_other[32];
static char g_pin_ec_b64[64];
static int g_pins_ok;

static int tl_pin_of(const char *cert, char *hex, size_t hcap, char *b64, size_t bcap)
{
    char cmd[900], path[512];
    tl_cert_path(path, sizeof path, cert);
    snprintf(cmd, sizeof cmd,
             "openssl x509 -pubkey -noout -in '%s' | openssl pkey -pubin -outform der | "
             "openssl dgst -sha256 -hex | sed 's/^.*= *//'", path);
    if (tl_cmd_line(cmd, hex, hcap) != 0) return -1;
    if (b64) {
        snprintf(cmd, sizeof cmd,
                 "openssl x509 -pubkey -noout -in '%s' | openssl pkey -pubin -outform der | "
                 "openssl dgst -sha256 -binary | openssl base64 -A", path);
        if (tl_cmd_line(cmd, b64, bcap) != 0) return -1;
    }
    return 0;
}

static void tl_url(char *out, size_t cap, const char *host, int port, const char *path)
{
    snprintf(out, cap, "wss://%s:%d%s", host, port, path);
}

/* Fail the test at once when a shared server is missing. */
#define TL_NEED(proc, what)                                                                       \
    do {                                                                                          \
        if (!g_certs_ok || (proc).port <= 0) {                                                    \
            hl_test_fail_at(__FILE__, __LINE__, "no " what " (see the setup lines above)");        \
            return;                                                                               \
        }                                                                                         \
    } while (0)

/* ---- tests ------------------------------------------------------------------------------- */

static void t_pin_parse(void)
{
    unsigned char a[32], b[32];
    char hex[100], upper[100];
    size_t i;
    if (!g_pins_ok) {
        hl_test_fail_at(__FILE__, __LINE__, "pins could not be computed with openssl");
        return;
    }
    for (i = 0; i < 32; i++) snprintf(hex + 2 * i, sizeof hex - 2 * i, "%02x", g_pin_ec[i]);
    CHECK_EQ(hl_tls_pin_parse(hex, a), HL_OK);
    CHECK(memcmp(a, g_pin_ec, 32) == 0);
    for (i = 0; i <= 64; i++) upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
    CHECK_EQ(hl_tls_pin_parse(upper, b), HL_OK);
    CHECK(memcmp(b, g_pin_ec, 32) == 0);
    CHECK_EQ(hl_tls_pin_parse(g_pin_ec_b64, b), HL_OK); /* HPKP's base64 form */
    CHECK(memcmp(b, g_pin_ec, 32) == 0);
    hex[63] = '\0';
    CHECK_EQ(hl_tls_pin_parse(hex, a), HL_E_INVALID);
    hex[63] = 'g';
    CHECK_EQ(hl_tls_pin_parse(hex, a), HL_E_INVALID);
    CHECK_EQ(hl_tls_pin_parse("", a), HL_E_INVALID);
    CHECK_EQ(hl_tls_pin_parse(NULL, a), HL_E_INVALID);
}

static void t_ctx_size(void)
{
    hl_config c, r;
    size_t base, more_anchors, n1, n2, big_out, small_out;
    memset(&c, 0, sizeof c);
    base = hl_ctx_size(&c);
    c.tls_anchor_space = 256u << 10;
    more_anchors = hl_ctx_size(&c);
    CHECK_EQ(more_anchors - base, (256u << 10) - (128u << 10)); /* default 128 KiB */
    memset(&c, 0, sizeof c);
    c.max_connections = 1;
    c.tls_output_buffer_size = 16469;
    n1 = hl_ctx_size(&c);
    c.max_connections = 2;
    n2 = hl_ctx_size(&c);
    big_out = n2 - n1;
    c.tls_output_buffer_size = 597;
    small_out = hl_ctx_size(&c);
    c.max_connections = 1;
    small_out = small_out - hl_ctx_size(&c);
    CHECK(big_out - small_out >= 16469 - 597 && big_out - small_out < 16469 - 597 + 64);
    CHECK(small_out > 16709); /* the input buffer is always a whole record */
    /* out of range values are clamped, as hl_config_resolve shows */
    c.tls_output_buffer_size = 100;
    hl_config_resolve(&c, &r);
    CHECK_EQ(r.tls_output_buffer_size, 597);
    c.tls_output_buffer_size = 1u << 20;
    hl_config_resolve(&c, &r);
    CHECK_EQ(r.tls_output_buffer_size, 16469);
    c.tls_output_buffer_size = 0;
    hl_config_resolve(&c, &r);
    CHECK_EQ(r.tls_output_buffer_size, 4181);
    CHECK_EQ(r.tls_anchor_space, 128u << 10);
}

/* tls_anchor_space too small for the bundle: HL_E_NO_MEMORY at connect, with a log line. */
static void t_anchor_space_too_small(void)
{
    hl_config cfg;
    tl t;
    char url[128];
    int rc;
    TL_NEED(g_py_ec, "python TLS server");
    tl_config(&cfg, "ca.pem");
    cfg.tls_anchor_space = 64;
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", g_py_ec.port, "/echo");
    g_user.errors_logged = 0;
    rc = tl_connect(&t, url, NULL, 0);
    CHECK_EQ(rc, HL_E_NO_MEMORY);
    CHECK(g_user.errors_logged == 1 && strstr(g_user.last_error, "tls_anchor_space") != NULL);
out:
    tl_end(&t);
}

/* A missing CA file is refused at connect with a reason naming the field. */
static void t_ca_file_missing(void)
{
    hl_config cfg;
    tl t;
    char url[128];
    TL_NEED(g_py_ec, "python TLS server");
    tl_config(&cfg, "does-not-exist.pem");
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", g_py_ec.port, "/echo");
    g_user.errors_logged = 0;
    CHECK_EQ(tl_connect(&t, url, NULL, 0), HL_E_TLS_CERT);
    CHECK(strstr(g_user.last_error, "does-not-exist.pem") != NULL);
out:
    tl_end(&t);
}

static void echo_case(const char *ca, int via_pem, int port, size_t big)
{
    static char pem[16384];
    hl_config cfg;
    hl_ctx_stats st = {0, 0, 0, 0};
    tl t;
    char url[128];
    tl_config(&cfg, via_pem ? NULL : ca);
    if (via_pem) {
        char path[512];
        tl_cert_path(path, sizeof path, ca);
        CHECK(hl_test_read_file(path, pem, sizeof pem) > 0);
        cfg.tls_ca_pem = pem;
    }
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", port, "/echo");
    if (!tl_open(&t, url, NULL, 0)) goto out;
    tl_echo_round(&t, big);
    CHECK_EQ(hl_ctx_stats_get(t.ctx, &st), HL_OK);
    CHECK_EQ(st.tls_anchors, 1);
    CHECK(st.tls_anchor_bytes > 0 && st.tls_anchor_bytes <= (128u << 10));
    CHECK_EQ(st.tls_handshakes_full, 1);
    tl_close(&t);
out:
    tl_end(&t);
}

static void t_echo_nginx(void)
{
    TL_NEED(g_ngx, "nginx");
    echo_case("ca.pem", 0, g_ngx.port, TL_MIB);
}

static void t_echo_nginx_ca_pem(void)
{
    TL_NEED(g_ngx, "nginx");
    echo_case("ca.pem", 1, g_ngx.port, 0);
}

static void t_echo_python(void)
{
    TL_NEED(g_py_ec, "python TLS server");
    echo_case("ca.pem", 0, g_py_ec.port, TL_MIB);
}

static void t_echo_python_ca_pem(void)
{
    TL_NEED(g_py_ec, "python TLS server");
    echo_case("ca.pem", 1, g_py_ec.port, TL_MIB);
}

static void t_echo_python_rsa(void)
{
    TL_NEED(g_py_rsa, "python TLS server (RSA)");
    echo_case("ca.pem", 0, g_py_rsa.port, 65536);
}

/* The root CA as a br_x509_trust_anchor built here, handed over by tls_anchors. */
typedef struct tl_anchor_build {
    unsigned char dn[1024];
    size_t dn_len;
    unsigned char q[160];
    br_x509_decoder_context dc;
} tl_anchor_build;

static void tl_dn_append(void *ctx, const void *p, size_t n)
{
    tl_anchor_build *b = (tl_anchor_build *)ctx;
    if (b->dn_len + n <= sizeof b->dn) memcpy(b->dn + b->dn_len, p, n);
    b->dn_len += n;
}

static void tl_der_push(void *ctx, const void *p, size_t n)
{
    br_x509_decoder_push((br_x509_decoder_context *)ctx, p, n);
}

static int tl_anchor_from_pem(const char *pem, size_t len, tl_anchor_build *b, br_x509_trust_anchor *ta)
{
    br_pem_decoder_context pc;
    const br_x509_pkey *pk = NULL;
    memset(b, 0, sizeof *b);
    br_pem_decoder_init(&pc);
    while (len > 0) {
        size_t k = br_pem_decoder_push(&pc, pem, len);
        pem += k;
        len -= k;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            br_x509_decoder_init(&b->dc, tl_dn_append, b);
            br_pem_decoder_setdest(&pc, tl_der_push, &b->dc);
            break;
        case BR_PEM_END_OBJ:
            pk = br_x509_decoder_get_pkey(&b->dc);
            len = 0;
            break;
        case BR_PEM_ERROR:
            return -1;
        default:
            break;
        }
    }
    if (!pk || pk->key_type != BR_KEYTYPE_EC || pk->key.ec.qlen > sizeof b->q || b->dn_len > sizeof b->dn)
        return -1;
    memcpy(b->q, pk->key.ec.q, pk->key.ec.qlen);
    memset(ta, 0, sizeof *ta);
    ta->dn.data = b->dn;
    ta->dn.len = b->dn_len;
    ta->flags = BR_X509_TA_CA;
    ta->pkey.key_type = BR_KEYTYPE_EC;
    ta->pkey.key.ec.curve = pk->key.ec.curve;
    ta->pkey.key.ec.q = b->q;
    ta->pkey.key.ec.qlen = pk->key.ec.qlen;
    return 0;
}

static void t_anchors_array(void)
{
    static tl_anchor_build b;
    static char pem[4096];
    br_x509_trust_anchor ta;
    hl_config cfg, dflt;
    hl_ctx_stats st = {0, 0, 0, 0};
    tl t;
    char url[128], path[512];
    long n;
    memset(&t, 0, sizeof t);
    TL_NEED(g_py_ec, "python TLS server");
    tl_cert_path(path, sizeof path, "ca.pem");
    n = hl_test_read_file(path, pem, sizeof pem);
    CHECK(n > 0);
    if (n <= 0 || tl_anchor_from_pem(pem, (size_t)n, &b, &ta) != 0) {
        CHECK(!"ca.pem decodes into a trust anchor");
        return;
    }
    tl_config(&cfg, NULL);
    cfg.tls_anchors = &ta;
    cfg.tls_anchor_count = 1;
    tl_config(&dflt, "ca.pem");
    CHECK(hl_ctx_size(&dflt) - hl_ctx_size(&cfg) >= (128u << 10)); /* no anchor space carved */
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", g_py_ec.port, "/echo");
    if (!tl_open(&t, url, NULL, 0)) goto out;
    tl_echo_round(&t, 0);
    CHECK_EQ(hl_ctx_stats_get(t.ctx, &st), HL_OK);
    CHECK_EQ(st.tls_anchors, 1);
    CHECK_EQ(st.tls_anchor_bytes, 0);
    tl_close(&t);
out:
    tl_end(&t);
}

/* s_server serving leaf (+chain), client trusting ca: the expected failure. */
static void reject_case(const char *leaf, const char *key, const char *chain, const char *ca, int result,
                        int tls_error, const char *w1, const char *w2)
{
    tl_proc s;
    hl_config cfg;
    tl t;
    char url[128];
    memset(&t, 0, sizeof t);
    if (!g_certs_ok || tl_sserver_start(&s, leaf, key, chain, NULL) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "openssl s_server did not start");
        return;
    }
    tl_config(&cfg, ca);
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (t.ctx) {
        tl_url(url, sizeof url, "localhost", s.port, "/");
        tl_expect_fail(&t, url, NULL, 0, result, tls_error, w1, w2);
    }
    tl_end(&t);
    tl_proc_stop(&s);
}

static void t_reject_unknown_ca(void)
{
    reject_case("ec.pem", "ec.key", "inter.pem", "ca2.pem", HL_E_TLS_CERT, BR_ERR_X509_NOT_TRUSTED,
                "trusted CA", NULL);
}

static void t_reject_expired(void)
{
    reject_case("expired.pem", "expired.key", "inter.pem", "ca.pem", HL_E_TLS_CERT, BR_ERR_X509_EXPIRED,
                "expired", NULL);
}

static void t_reject_wrong_host(void)
{
    reject_case("other.pem", "other.key", "inter.pem", "ca.pem", HL_E_TLS_CERT, BR_ERR_X509_BAD_SERVER_NAME,
                "not for host 'localhost'", NULL);
}

static void t_reject_self_signed(void)
{
    reject_case("self.pem", "self.key", NULL, "ca.pem", HL_E_TLS_CERT, BR_ERR_X509_NOT_TRUSTED,
                "self-signed", NULL);
}

static void t_reject_missing_intermediate(void)
{
    reject_case("ec.pem", "ec.key", NULL, "ca.pem", HL_E_TLS_CERT, BR_ERR_X509_NOT_TRUSTED,
                "missing intermediate", NULL);
}

/* The certificate would be trusted, but the key is not the pinned one. */
static void t_reject_pin_mismatch(void)
{
    hl_config cfg;
    tl t;
    char url[128];
    TL_NEED(g_py_ec, "python TLS server");
    if (!g_pins_ok) {
        hl_test_fail_at(__FILE__, __LINE__, "no pins");
        return;
    }
    tl_config(&cfg, "ca.pem");
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", g_py_ec.port, "/echo");
    tl_expect_fail(&t, url, g_pin_other, 1, HL_E_TLS_CERT, 0, "pinned", NULL);
out:
    tl_end(&t);
}

/* A right pin stands in for CA trust (unrelated CA configured), among other pins; the host
   name is still checked. */
static void t_pin_untrusted_ca(void)
{
    unsigned char pins[64];
    hl_config cfg;
    hl_ctx_stats st = {0, 0, 0, 0};
    tl t;
    tl_proc s;
    char url[128];
    memset(&t, 0, sizeof t);
    TL_NEED(g_py_ec, "python TLS server");
    if (!g_pins_ok) {
        hl_test_fail_at(__FILE__, __LINE__, "no pins");
        return;
    }
    tl_config(&cfg, "ca2.pem");
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", g_py_ec.port, "/echo");
    tl_expect_fail(&t, url, NULL, 0, HL_E_TLS_CERT, BR_ERR_X509_NOT_TRUSTED, NULL, NULL); /* no pin */
    CHECK_EQ(hl_tls_pin_parse(g_pin_ec_b64, pins), HL_OK);
    if (tl_open(&t, url, pins, 1)) {
        tl_echo_round(&t, 0);
        tl_close(&t);
    }
    memcpy(pins, g_pin_other, 32); /* two pins, the second one right */
    memcpy(pins + 32, g_pin_ec, 32);
    if (tl_open(&t, url, pins, 2)) tl_close(&t);
    CHECK_EQ(hl_ctx_stats_get(t.ctx, &st), HL_OK);
    CHECK_EQ(st.tls_handshakes_full + st.tls_handshakes_resumed, 2);
    /* the other.example certificate with its own key pinned, served for localhost */
    if (tl_sserver_start(&s, "other.pem", "other.key", "inter.pem", NULL) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "openssl s_server did not start");
        goto out;
    }
    tl_url(url, sizeof url, "localhost", s.port, "/");
    tl_expect_fail(&t, url, g_pin_other, 1, HL_E_TLS_CERT, BR_ERR_X509_BAD_SERVER_NAME, "not for host", NULL);
    tl_proc_stop(&s);
out:
    tl_end(&t);
}

/* wss:// to an IP address: no name to verify, so only with a pin (or insecure). */
static void t_ip_address_url(void)
{
    hl_config cfg;
    tl t;
    char url[128];
    TL_NEED(g_py_ec, "python TLS server");
    tl_config(&cfg, "ca.pem");
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "127.0.0.1", g_py_ec.port, "/echo");
    g_user.errors_logged = 0;
    CHECK_EQ(tl_connect(&t, url, NULL, 0), HL_E_TLS_CERT);
    CHECK(g_user.errors_logged == 1 && strstr(g_user.last_error, "IP address") != NULL);
    CHECK_EQ(tl_connect(&t, "wss://[::1]:443/", NULL, 0), HL_E_TLS_CERT);
    if (g_pins_ok && tl_open(&t, url, g_pin_ec, 1)) {
        tl_echo_round(&t, 0);
        tl_close(&t);
    }
    if (g_pins_ok) tl_expect_fail(&t, url, g_pin_other, 1, HL_E_TLS_CERT, 0, "pinned", NULL);
out:
    tl_end(&t);
}

/* wall_clock decides the date certificates are checked against. */
static void t_wall_clock(void)
{
    hl_config cfg;
    tl t;
    char url[128];
    TL_NEED(g_py_ec, "python TLS server");
    tl_config(&cfg, "ca.pem");
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", g_py_ec.port, "/echo");
    g_user.fixed_time = 2592000000LL; /* 2052: past the leaf's 825 days */
    tl_expect_fail(&t, url, NULL, 0, HL_E_TLS_CERT, BR_ERR_X509_EXPIRED, "expired", NULL);
    g_user.fixed_time = 0;
    if (tl_open(&t, url, NULL, 0)) tl_close(&t);
out:
    g_user.fixed_time = 0;
    tl_end(&t);
}

/* tls_insecure: the self-signed server is refused without it and accepted with it, with a
   warning through config.log on every connect. */
static void t_insecure(void)
{
    hl_config cfg;
    tl t;
    char url[128];
    int i;
    TL_NEED(g_py_self, "python TLS server (self-signed)");
    tl_url(url, sizeof url, "localhost", g_py_self.port, "/echo");
    tl_config(&cfg, "ca.pem");
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (t.ctx) {
        g_user.insecure_warnings = 0;
        tl_expect_fail(&t, url, NULL, 0, HL_E_TLS_CERT, BR_ERR_X509_NOT_TRUSTED, NULL, NULL);
        CHECK_EQ(g_user.insecure_warnings, 0);
    }
    tl_end(&t);
    tl_config(&cfg, NULL); /* no CA at all: insecure needs none */
    cfg.tls_insecure = 1;
    cfg.tls_ca_file = "does-not-exist.pem";
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    g_user.insecure_warnings = 0;
    for (i = 0; i < 2; i++) {
        if (!tl_open(&t, url, NULL, 0)) break;
        tl_echo_round(&t, 0);
        tl_close(&t);
        CHECK_EQ(g_user.insecure_warnings, i + 1);
    }
    /* an IP address needs no pin in insecure mode */
    tl_url(url, sizeof url, "127.0.0.1", g_py_self.port, "/echo");
    if (tl_open(&t, url, NULL, 0)) tl_close(&t);
    CHECK_EQ(g_user.insecure_warnings, 3);
out:
    tl_end(&t);
}

static void t_tls13_only(void)
{
    tl_proc s;
    hl_config cfg;
    tl t;
    char url[128];
    memset(&t, 0, sizeof t);
    if (!g_certs_ok || tl_sserver_start(&s, "ec.pem", "ec.key", "inter.pem", "-tls1_3") != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "openssl s_server -tls1_3 did not start");
        return;
    }
    tl_config(&cfg, "ca.pem");
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (t.ctx) {
        tl_url(url, sizeof url, "localhost", s.port, "/");
        tl_expect_fail(&t, url, NULL, 0, HL_E_TLS, BR_ERR_RECV_FATAL_ALERT + 70, "TLS 1.3", "TLS 1.2 only");
    }
    tl_end(&t);
    tl_proc_stop(&s);
}

/* Connect, echo, close cleanly, twice: one full and one resumed handshake. A failed
   connection forgets the session: the next one is full again. */
static void resume_case(int port, int after_failure)
{
    hl_config cfg;
    hl_ctx_stats st = {0, 0, 0, 0};
    tl t;
    char url[128];
    int i;
    tl_config(&cfg, "ca.pem");
    cfg.max_connections = 1;
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", port, "/echo");
    for (i = 0; i < 2; i++) {
        if (!tl_open(&t, url, NULL, 0)) goto out;
        tl_echo_round(&t, 0);
        if (!tl_close(&t)) goto out;
    }
    CHECK_EQ(hl_ctx_stats_get(t.ctx, &st), HL_OK);
    CHECK_EQ(st.tls_handshakes_full, 1);
    CHECK_EQ(st.tls_handshakes_resumed, 1);
    if (after_failure) {
        /* the server refuses the upgrade (HTTP 404): an error end, so the session is dropped */
        tl_url(url, sizeof url, "localhost", port, "/no-such-mode");
        CHECK_EQ(tl_connect(&t, url, NULL, 0), HL_OK);
        TL_WAIT(&t, t.closed);
        TL_CHECK(&t, t.err_result == HL_E_HANDSHAKE);
        CHECK_EQ(hl_ctx_stats_get(t.ctx, &st), HL_OK);
        CHECK_EQ(st.tls_handshakes_resumed, 2); /* that one still resumed */
        tl_url(url, sizeof url, "localhost", port, "/echo");
        if (tl_open(&t, url, NULL, 0)) tl_close(&t);
        CHECK_EQ(hl_ctx_stats_get(t.ctx, &st), HL_OK);
        CHECK_EQ(st.tls_handshakes_full, 2);
        CHECK_EQ(st.tls_handshakes_resumed, 2);
    }
out:
    tl_end(&t);
}

static void t_resume_python(void)
{
    TL_NEED(g_py_ec, "python TLS server");
    resume_case(g_py_ec.port, 1);
}

static void t_resume_nginx(void)
{
    TL_NEED(g_ngx, "nginx");
    resume_case(g_ngx.port, 0);
}

/* The smallest output buffer (597: records of 512 bytes, MFL asked) still carries 100 KiB. */
static void small_obuf_case(int port)
{
    hl_config cfg;
    tl t;
    char url[128];
    tl_config(&cfg, "ca.pem");
    cfg.tls_output_buffer_size = 597;
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    CHECK_EQ(hl_ctx_config(t.ctx)->tls_output_buffer_size, 597);
    tl_url(url, sizeof url, "localhost", port, "/echo");
    if (!tl_open(&t, url, NULL, 0)) goto out;
    tl_echo_round(&t, 100 * 1024);
    tl_close(&t);
out:
    tl_end(&t);
}

static void t_small_output_buffer_python(void)
{
    TL_NEED(g_py_ec, "python TLS server");
    small_obuf_case(g_py_ec.port);
}

static void t_small_output_buffer_nginx(void)
{
    TL_NEED(g_ngx, "nginx");
    small_obuf_case(g_ngx.port);
}

/* A receive buffer much smaller than a TLS record (2 KiB against the 16 KiB records a server
   sends when no smaller fragment length is asked): each record's plaintext takes several reads,
   and the last one must still be delivered when the socket has nothing more to say. */
static void flood_case(int port, uint32_t chunk, uint32_t obuf, int n, int sleep_ms)
{
    hl_config cfg;
    tl t;
    char url[160], want[64];
    tl_config(&cfg, "ca.pem");
    cfg.max_connections = 1;
    cfg.read_chunk_size = chunk;
    cfg.max_message_size = 1024;
    cfg.max_header_size = 1024;
    cfg.send_queue_size = 65536;
    cfg.tls_output_buffer_size = obuf;
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    snprintf(url, sizeof url, "wss://localhost:%d/flood?n=%d&size=300", port, n);
    if (!tl_open(&t, url, NULL, 0)) goto out;
    snprintf(want, sizeof want, "{\"done\":%d}", n);
    if (sleep_ms) hl_test_sleep_ms(sleep_ms); /* let the flood pile up in the socket buffers */
    TL_WAIT(&t, t.closed || (t.last_len == strlen(want) && memcmp(t.last, want, t.last_len) == 0));
    if (t.msgs_total != (uint64_t)n + 1) {
        char m[200];
        snprintf(m, sizeof m, "%llu of %d messages received", (unsigned long long)t.msgs_total, n + 1);
        tl_fail(&t, __FILE__, __LINE__, m);
    }
    tl_close(&t);
out:
    tl_end(&t);
}

static void t_flood_small_rx_python(void)
{
    TL_NEED(g_py_ec, "python TLS server");
    flood_case(g_py_ec.port, 1024, 16469, 5000, 100);
}

static void t_flood_small_rx_nginx(void)
{
    TL_NEED(g_ngx, "nginx");
    flood_case(g_ngx.port, 1024, 16469, 5000, 100);
}

static void t_flood_default_python(void)
{
    TL_NEED(g_py_ec, "python TLS server");
    flood_case(g_py_ec.port, 0, 0, 20000, 0);
}

/* A scripted TLS server (python3 -c; argv: chain, key): answers an upgrade of /N with 101 and,
   in the same write, N text frames of 100 bytes, then stays silent until the client leaves. */
static const char tl_blast_py[] =
    "import base64,hashlib,socket,ssl,sys\n"
    "ctx=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "ctx.maximum_version=ssl.TLSVersion.TLSv1_2\n"
    "ctx.load_cert_chain(sys.argv[1],sys.argv[2])\n"
    "ls=socket.socket()\n"
    "ls.bind(('127.0.0.1',0))\n"
    "ls.listen(8)\n"
    "print('READY',ls.getsockname()[1],flush=True)\n"
    "frame=bytes([0x81,100])+b'0123456789'*10\n"
    "while True:\n"
    "    c,_=ls.accept()\n"
    "    try:\n"
    "        s=ctx.wrap_socket(c,server_side=True)\n"
    "        req=b''\n"
    "        while b'\\r\\n\\r\\n' not in req:\n"
    "            d=s.recv(4096)\n"
    "            if not d: raise EOFError\n"
    "            req+=d\n"
    "        n=int(req.split(b' ')[1][1:])\n"
    "        k=[l.split(b':',1)[1].strip() for l in req.split(b'\\r\\n') if l.lower().startswith(b'sec-websocket-key:')][0]\n"
    "        acc=base64.b64encode(hashlib.sha1(k+b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest())\n"
    "        s.sendall(b'HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n'"
    "+b'Sec-WebSocket-Accept: '+acc+b'\\r\\n\\r\\n'+frame*n)\n"
    "        while s.recv(4096): pass\n"
    "    except Exception: pass\n"
    "    finally: c.close()\n";

/* The receive buffer (2 KiB) is smaller than the records (16 KiB): the plaintext of the last
   record is handed over in several reads after the socket is empty. All of it must be delivered
   without more traffic from the server (which stays silent). The number of frames varies so
   that the end of the data falls at different points of the driver's read loop. */
static void t_last_record_small_rx(void)
{
    char cert[512], key[512];
    char *argv[] = {(char *)"/usr/bin/python3", (char *)"-c", (char *)tl_blast_py, cert, key, NULL};
    int n, bad = 0, runs = 0;
    char failed[200] = "";
    tl_proc srv;
    tl_cert_path(cert, sizeof cert, "ec-chain.pem");
    tl_cert_path(key, sizeof key, "ec.key");
    if (tl_proc_spawn(&srv, argv, TL_WORK "/blast.log") != 0 || tl_proc_wait_port(&srv, "READY ") != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "the scripted python TLS server did not start");
        tl_proc_stop(&srv);
        return;
    }
    for (n = 700; n <= 1500; n += 61) {
        hl_config cfg;
        tl t;
        char url[128];
        double t0;
        runs++;
        tl_config(&cfg, "ca.pem");
        cfg.max_connections = 1;
        cfg.read_chunk_size = 1024;
        cfg.max_message_size = 1024;
        cfg.max_header_size = 1024;
        cfg.send_queue_size = 65536;
        cfg.tls_output_buffer_size = 16469; /* no MFL: the server writes 16 KiB records */
        CHECK_EQ(tl_init(&t, &cfg), HL_OK);
        snprintf(url, sizeof url, "wss://localhost:%d/%d", srv.port, n);
        if (t.ctx && tl_connect(&t, url, NULL, 0) == HL_OK) {
            TL_WAIT(&t, t.state_upgrading || t.closed);
            hl_test_sleep_ms(100); /* the whole answer lands in our socket buffer */
            for (t0 = tl_now(); !t.closed && t.msgs_total < (uint64_t)n && tl_now() - t0 < 2.0;)
                if (hl_poll(t.ctx, 20) < 0) break;
            if (t.msgs_total != (uint64_t)n) {
                size_t used = strlen(failed);
                bad++;
                snprintf(failed + used, sizeof failed - used, "%s%d->%llu", used ? ", " : "", n,
                         (unsigned long long)t.msgs_total);
            }
        }
        tl_end(&t);
    }
    tl_proc_stop(&srv);
    if (bad) {
        char m[300];
        snprintf(m, sizeof m, "%d of %d runs stalled with plaintext left in the TLS engine (frames sent -> "
                              "delivered): %s", bad, runs, failed);
        hl_test_fail_at(__FILE__, __LINE__, m);
    }
}

/* A plain ws:// server on a wss:// URL: the server answers the ClientHello in plain HTTP. The
   result is HL_E_TLS; the detail must not blame TLS 1.3. */
static void t_plain_server_on_wss(void)
{
    hl_config cfg;
    tl t;
    char url[128];
    TL_NEED(g_py_plain, "python plain server");
    tl_config(&cfg, "ca.pem");
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", g_py_plain.port, "/echo");
    tl_expect_fail(&t, url, NULL, 0, HL_E_TLS, 0, NULL, NULL);
    TL_CHECK(&t, strstr(t.detail, "TLS 1.3") == NULL);
out:
    tl_end(&t);
}

/* A TCP listener that never answers the ClientHello: handshake_timeout_ms ends it. */
static void t_tls_handshake_timeout(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    hl_config cfg;
    tl t;
    char url[128];
    double t0;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    memset(&t, 0, sizeof t);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 4) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &len) != 0) {
        CHECK(!"a listening socket");
        if (ls >= 0) close(ls);
        return;
    }
    tl_config(&cfg, "ca.pem");
    cfg.handshake_timeout_ms = 300;
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (t.ctx) {
        tl_url(url, sizeof url, "localhost", ntohs(a.sin_port), "/");
        t0 = tl_now();
        tl_expect_fail(&t, url, NULL, 0, HL_E_HANDSHAKE_TIMEOUT, 0, "handshake_timeout_ms", NULL);
        CHECK(tl_now() - t0 >= 0.29);
    }
    tl_end(&t);
    close(ls);
}

/* localhost resolving to ::1 first (nothing listens there): the next address is tried. */
static void t_ipv6_first_fallback(void)
{
    hl_config cfg;
    tl t;
    char url[128];
    TL_NEED(g_py_ec, "python TLS server");
    tl_config(&cfg, "ca.pem");
    cfg.resolve = tl_resolve;
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", g_py_ec.port, "/echo");
    g_user.resolves = 0;
    g_user.resolve_v6_only = 1; /* ::1 alone: refused, so the address is really tried */
    CHECK_EQ(tl_connect(&t, url, NULL, 0), HL_OK);
    TL_WAIT(&t, t.closed);
    TL_CHECK(&t, t.err_result == HL_E_CONNECT_REFUSED && !t.open);
    g_user.resolve_v6_only = 0;
    if (tl_open(&t, url, NULL, 0)) {
        tl_echo_round(&t, 0);
        tl_close(&t);
    }
    CHECK_EQ(g_user.resolves, 2);
out:
    tl_end(&t);
}

/* No CA configured: the system bundle is loaded (Debian: ~140 roots); our test CA is not in it. */
static void t_system_bundle(void)
{
    hl_config cfg;
    hl_ctx_stats st = {0, 0, 0, 0};
    tl t;
    char url[128];
    if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) != 0) {
        fprintf(stderr, "t_system_bundle: no /etc/ssl/certs/ca-certificates.crt, skipped\n");
        return;
    }
    TL_NEED(g_py_ec, "python TLS server");
    tl_config(&cfg, NULL);
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    tl_url(url, sizeof url, "localhost", g_py_ec.port, "/echo");
    tl_expect_fail(&t, url, NULL, 0, HL_E_TLS_CERT, BR_ERR_X509_NOT_TRUSTED, "trusted CA", NULL);
    CHECK_EQ(hl_ctx_stats_get(t.ctx, &st), HL_OK);
    CHECK(st.tls_anchors >= 100 && st.tls_anchors <= 400);
    CHECK(st.tls_anchor_bytes > 30000 && st.tls_anchor_bytes <= (128u << 10));
    fprintf(stderr, "t_system_bundle: %u anchors, %zu bytes of tls_anchor_space\n", (unsigned)st.tls_anchors,
            st.tls_anchor_bytes);
    tl_end(&t);
    /* what the stat says is used is enough space for the same bundle */
    cfg.tls_anchor_space = (uint32_t)st.tls_anchor_bytes;
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    g_user.errors_logged = 0;
    if (tl_connect(&t, url, NULL, 0) != HL_OK) {
        char m[300];
        snprintf(m, sizeof m, "tls_anchor_space = tls_anchor_bytes (%zu) does not hold the bundle: %.200s",
                 st.tls_anchor_bytes, g_user.last_error);
        hl_test_fail_at(__FILE__, __LINE__, m);
    } else {
        TL_WAIT(&t, t.closed);
    }
out:
    tl_end(&t);
}

/* wss:// needs TLS; the URL checks happen before any network. */
static void t_connect_checks(void)
{
    hl_config cfg;
    tl t;
    unsigned char pins[32 * 5];
    TL_NEED(g_py_ec, "python TLS server");
    memset(pins, 0, sizeof pins);
    tl_config(&cfg, "ca.pem");
    CHECK_EQ(tl_init(&t, &cfg), HL_OK);
    if (!t.ctx) goto out;
    CHECK_EQ(tl_connect(&t, "wss://localhost:1/", pins, 5), HL_E_INVALID); /* at most 4 pins */
    CHECK_EQ(tl_connect(&t, "wss://localhost:1/", NULL, 1), HL_E_INVALID);
    CHECK_EQ(tl_connect(&t, "wss://localhost:1/", pins, -1), HL_E_INVALID);
    /* a refused TCP connect on wss:// is a connect error, not a TLS one */
    CHECK_EQ(tl_connect(&t, "wss://localhost:1/", NULL, 0), HL_OK);
    TL_WAIT(&t, t.closed);
    TL_CHECK(&t, t.err_result == HL_E_CONNECT_REFUSED && !t.saw_tls_state);
out:
    tl_end(&t);
}

/* The Autobahn client over wss:// through nginx, on a few sections (the full list runs in the
   plain suite). Needs build/autobahn_client; it is given SSL_CERT_FILE=<root CA>. */
static void t_autobahn_wss(void)
{
    static char *const fz_argv[] = {(char *)"/usr/bin/python3", (char *)"tests/servers/fuzzingserver.py",
                                    (char *)"--port", (char *)"0", (char *)"--report-dir",
                                    (char *)TL_WORK "/autobahn", (char *)"--cases",
                                    (char *)"1.*,2.*,5.*,7.1.*", NULL};
    tl_proc fz, ngx;
    char cmd[1024], ca[512], buf[8192];
    int rc;
    long n;
    if (access("build/autobahn_client", X_OK) != 0 || access("tests/servers/fuzzingserver.py", R_OK) != 0) {
        fprintf(stderr, "t_autobahn_wss: needs build/autobahn_client and tests/servers/fuzzingserver.py, skipped\n");
        return;
    }
    if (!g_certs_ok || !g_nginx[0]) {
        hl_test_fail_at(__FILE__, __LINE__, "no certificates or no nginx");
        return;
    }
    if (tl_proc_spawn(&fz, fz_argv, TL_WORK "/autobahn-server.log") != 0 || tl_proc_wait_port(&fz, "READY ") != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "fuzzingserver.py did not start");
        tl_proc_stop(&fz);
        return;
    }
    if (tl_nginx_start(&ngx, "autobahn", "ec-chain.pem", "ec.key", fz.port) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "nginx did not start");
        tl_proc_stop(&fz);
        return;
    }
    tl_cert_path(ca, sizeof ca, "ca.pem");
    snprintf(cmd, sizeof cmd,
             "SSL_CERT_FILE='%s' timeout -k 5 120 build/autobahn_client wss://localhost:%d hl_net_tls "
             ">" TL_WORK "/autobahn-client.log 2>&1 </dev/null", ca, ngx.port);
    rc = system(cmd);
    hl_test_sleep_ms(200); /* the summary line follows /updateReports */
    n = hl_test_read_file(fz.log, buf, sizeof buf);
    {
        const char *s = n > 0 ? strstr(buf, "agent hl_net_tls:") : NULL;
        char m[300];
        char clog[2048] = "";
        if (hl_test_read_file(TL_WORK "/autobahn-client.log", clog, sizeof clog) > 0 && strstr(clog, "HL_E_UNSUPPORTED")) {
            hl_test_fail_at(__FILE__, __LINE__, "build/autobahn_client is built without TLS (HL_ENABLE_TLS 0): "
                                                "wss:// gives HL_E_UNSUPPORTED");
        } else if (strstr(clog, "HL_E_TLS_CERT")) {
            hl_test_fail_at(__FILE__, __LINE__, "build/autobahn_client does not trust the test CA: it should set "
                                                "config.tls_ca_file from the environment variable SSL_CERT_FILE");
        } else if (!s) {
            snprintf(m, sizeof m, "no report from fuzzingserver (client exit %d; see " TL_WORK "/autobahn-*.log)", rc);
            hl_test_fail_at(__FILE__, __LINE__, m);
        } else if (!strstr(s, " 0 FAILED") || strstr(s, "missing")) {
            snprintf(m, sizeof m, "%.200s", s);
            hl_test_fail_at(__FILE__, __LINE__, m);
        }
    }
    tl_proc_stop(&ngx);
    tl_proc_stop(&fz);
}

/* ---- main --------------------------------------------------------------------------------- */

static void tl_setup_line(const char *name, int ok, const char *why)
{
    if (ok) {
        printf("PASS %s\n", name);
        hl_test_passes++;
    } else {
        printf("FAIL %s: %s\n", name, why);
        hl_test_fails++;
    }
    fflush(stdout);
}

static void tl_setup(void)
{
    char hex[100];
    struct addrinfo hints, *res = NULL, *ai;
    char names[200] = "";
    int rc = system("mkdir -p " TL_WORK " && sh tests/tls/make_certs.sh " TL_CERTS);
    g_certs_ok = rc == 0 && tl_abspath(TL_CERTS, g_certs, sizeof g_certs) == 0;
    tl_setup_line("setup_certs", g_certs_ok, "tests/tls/make_certs.sh " TL_CERTS " failed (is openssl installed?)");
    if (!g_certs_ok) return;
    g_pins_ok = tl_pin_of("ec.pem", hex, sizeof hex, g_pin_ec_b64, sizeof g_pin_ec_b64) == 0 &&
                hl_tls_pin_parse(hex, g_pin_ec) == HL_OK && tl_pin_of("other.pem", hex, sizeof hex, NULL, 0) == 0 &&
                hl_tls_pin_parse(hex, g_pin_other) == HL_OK;
    tl_setup_line("setup_pins", g_pins_ok, "openssl x509 -pubkey | openssl pkey | openssl dgst failed");

    if (access("/usr/sbin/nginx", X_OK) == 0) snprintf(g_nginx, sizeof g_nginx, "/usr/sbin/nginx");
    else if (system("command -v nginx >/dev/null 2>&1") == 0) snprintf(g_nginx, sizeof g_nginx, "nginx");
    tl_setup_line("setup_python_tls", tl_python_start(&g_py_ec, "ec", "ec-chain.pem", "ec.key") == 0,
                  "python server with --tls-cert did not start (see " TL_WORK "/python-ec.log)");
    tl_setup_line("setup_python_tls_rsa", tl_python_start(&g_py_rsa, "rsa", "rsa-chain.pem", "rsa.key") == 0,
                  "see " TL_WORK "/python-rsa.log");
    tl_setup_line("setup_python_tls_self", tl_python_start(&g_py_self, "self", "self.pem", "self.key") == 0,
                  "see " TL_WORK "/python-self.log");
    tl_setup_line("setup_python_plain", tl_python_start(&g_py_plain, "plain", NULL, NULL) == 0,
                  "see " TL_WORK "/python-plain.log");
    tl_setup_line("setup_nginx",
                  g_nginx[0] && g_py_plain.port > 0 &&
                      tl_nginx_start(&g_ngx, "main", "ec-chain.pem", "ec.key", g_py_plain.port) == 0,
                  g_nginx[0] ? "nginx did not start (see " TL_WORK "/nginx-main/error.log)"
                             : "nginx is not installed (make deps)");

    /* what localhost resolves to here (the library tries each address in order) */
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo("localhost", "443", &hints, &res) == 0) {
        for (ai = res; ai; ai = ai->ai_next) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                     ai->ai_family == AF_INET6 ? "::1 (IPv6)" : "127.0.0.1 (IPv4)");
        }
        freeaddrinfo(res);
    }
    fprintf(stderr, "localhost resolves to: %s\n", names[0] ? names : "(nothing)");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    tl_setup();
    HL_TEST(t_pin_parse);
    HL_TEST(t_ctx_size);
    HL_TEST(t_anchor_space_too_small);
    HL_TEST(t_ca_file_missing);
    HL_TEST(t_connect_checks);
    HL_TEST(t_echo_nginx);
    HL_TEST(t_echo_nginx_ca_pem);
    HL_TEST(t_echo_python);
    HL_TEST(t_echo_python_ca_pem);
    HL_TEST(t_echo_python_rsa);
    HL_TEST(t_anchors_array);
    HL_TEST(t_reject_unknown_ca);
    HL_TEST(t_reject_expired);
    HL_TEST(t_reject_wrong_host);
    HL_TEST(t_reject_self_signed);
    HL_TEST(t_reject_missing_intermediate);
    HL_TEST(t_reject_pin_mismatch);
    HL_TEST(t_pin_untrusted_ca);
    HL_TEST(t_ip_address_url);
    HL_TEST(t_wall_clock);
    HL_TEST(t_insecure);
    HL_TEST(t_tls13_only);
    HL_TEST(t_resume_python);
    HL_TEST(t_resume_nginx);
    HL_TEST(t_small_output_buffer_python);
    HL_TEST(t_small_output_buffer_nginx);
    HL_TEST(t_flood_default_python);
    HL_TEST(t_flood_small_rx_python);
    HL_TEST(t_flood_small_rx_nginx);
    HL_TEST(t_last_record_small_rx);
    HL_TEST(t_plain_server_on_wss);
    HL_TEST(t_tls_handshake_timeout);
    HL_TEST(t_ipv6_first_fallback);
    HL_TEST(t_system_bundle);
    HL_TEST(t_autobahn_wss);
    tl_proc_stop(&g_ngx);
    tl_proc_stop(&g_py_plain);
    tl_proc_stop(&g_py_self);
    tl_proc_stop(&g_py_rsa);
    tl_proc_stop(&g_py_ec);
    return hl_test_summary();
}

#else /* built without TLS */

int main(void)
{
    printf("PASS test_it_tls (skipped: built with HL_ENABLE_TLS 0)\n");
    return 0;
}

#endif
