/* Integration test of the hlcat example (examples/hlcat.c, built to build/hlcat): the binary
   runs as a child process with its stdin, stdout and stderr on pipes, against the real test
   servers (tests/servers/ws_python_server.py and ws_node_server.js, the Hyperliquid-like
   tests/servers/hl_server.py dropping every connection each second, and ws_python_server.py
   with TLS on certificates from tests/tls/make_certs.sh) and against a local socket that
   refuses connections. It checks what a user sees: the lines on stdout, the one-line failure
   messages, -v lifecycle lines and --stats JSON on stderr, and the exit status.
   HTTP mode (http://, https://) runs against tests/servers/http_fault_server.py and, for
   https://, Debian's nginx (tests/http/start_nginx.sh) with the same test certificates: the
   body on stdout byte for byte, -i heads, -d bodies (literal, @FILE, @-), retries seen with -v,
   and the curl-style exit codes.
   No timing is asserted: every run has a generous time limit, past which the test fails.
   POSIX only, like the harness. */
#define _DEFAULT_SOURCE /* usleep and friends in the harness under -std=c99 (glibc) */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#ifndef HLCAT /* -DHLCAT='"path"' tests another build (one without TLS, say) */
#define HLCAT "build/hlcat"
#endif
#define RUN_TIMEOUT_S 15.0
#define RUN_MAX_ARGS 24

/* One run of hlcat. */
typedef struct hlcat_run {
    int status;      /* exit status; 128+N after signal N; -1 when it timed out or did not start */
    char out[1 << 16];
    size_t out_len;
    char err[1 << 16];
    size_t err_len;
} hlcat_run;

static hlcat_run g_run;

/* The server the per-server tests run against. */
static const char *g_srv = "";
static int g_port;

/* ---- helpers ---------------------------------------------------------------------------- */

static double it_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read what fd has into buf (keeping it NUL-terminated, dropping what does not fit).
   Returns 0 at EOF, 1 otherwise. */
static int it_drain(int fd, char *buf, size_t cap, size_t *len)
{
    char tmp[4096];
    ssize_t r = read(fd, tmp, sizeof tmp);
    if (r == 0) return 0;
    if (r < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (*len + 1 < cap) {
        size_t k = (size_t)r < cap - 1 - *len ? (size_t)r : cap - 1 - *len;
        memcpy(buf + *len, tmp, k);
        *len += k;
        buf[*len] = '\0';
    }
    return 1;
}

/* Run build/hlcat with args (NULL-terminated). input goes to its stdin, which is then closed;
   with close_on, stdin stays open until stderr contains close_on (or hlcat exits). */
static void run_hlcat(hlcat_run *r, const char *const *args, const char *input, const char *close_on)
{
    char *argv[RUN_MAX_ARGS + 2];
    int in[2], out[2], err[2], n = 0, out_open = 1, err_open = 1, st;
    pid_t pid;
    double deadline;
    size_t off = 0, ilen = input ? strlen(input) : 0;

    memset(r, 0, sizeof *r);
    r->status = -1;
    argv[n++] = (char *)HLCAT;
    while (args[n - 1] && n <= RUN_MAX_ARGS) {
        argv[n] = (char *)args[n - 1];
        n++;
    }
    argv[n] = NULL;
    if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) return;
    pid = fork();
    if (pid < 0) return;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        execv(HLCAT, argv);
        fprintf(stderr, "cannot run %s: %s\n", HLCAT, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    while (off < ilen) { /* small inputs: they fit the pipe */
        ssize_t w = write(in[1], input + off, ilen - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    if (!close_on) {
        close(in[1]);
        in[1] = -1;
    }
    deadline = it_now() + RUN_TIMEOUT_S;
    while (out_open || err_open) {
        struct pollfd p[2];
        int np = 0, i;
        if (it_now() > deadline) {
            kill(pid, SIGKILL);
            break;
        }
        if (out_open) p[np].fd = out[0], p[np].events = POLLIN, p[np].revents = 0, np++;
        if (err_open) p[np].fd = err[0], p[np].events = POLLIN, p[np].revents = 0, np++;
        if (poll(p, (nfds_t)np, 100) < 0 && errno != EINTR) break;
        for (i = 0; i < np; i++) {
            if (!p[i].revents) continue;
            if (p[i].fd == out[0]) out_open = it_drain(out[0], r->out, sizeof r->out, &r->out_len);
            else err_open = it_drain(err[0], r->err, sizeof r->err, &r->err_len);
        }
        if (close_on && in[1] >= 0 && strstr(r->err, close_on)) {
            close(in[1]);
            in[1] = -1;
        }
    }
    close(out[0]);
    close(err[0]);
    if (out_open || err_open) { /* timed out */
        waitpid(pid, &st, 0);
        if (in[1] >= 0) close(in[1]);
        return;
    }
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (it_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            if (in[1] >= 0) close(in[1]);
            return;
        }
        usleep(10000);
    }
    if (in[1] >= 0) close(in[1]);
    if (WIFEXITED(st)) r->status = WEXITSTATUS(st);
    else if (WIFSIGNALED(st)) r->status = 128 + WTERMSIG(st);
}

static int it_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* A failure message with the run's stderr, which usually says what went wrong. */
static void it_fail_run(const char *file, int line, const char *what)
{
    char m[480];
    snprintf(m, sizeof m, "%s; status %d; stderr: \"%.300s\"", what, g_run.status, g_run.err);
    hl_test_fail_at(file, line, m);
}

#define CHECK_STATUS(want)                                                                        \
    do {                                                                                          \
        if (g_run.status != (want)) {                                                             \
            char it_m[64];                                                                        \
            snprintf(it_m, sizeof it_m, "exit status %d expected", (want));                       \
            it_fail_run(__FILE__, __LINE__, it_m);                                                \
        }                                                                                         \
    } while (0)

#define CHECK_HAS(hay, needle)                                                                    \
    do {                                                                                          \
        if (!strstr((hay), (needle))) {                                                           \
            char it_m[400];                                                                       \
            snprintf(it_m, sizeof it_m, "no \"%.80s\" in %s: \"%.250s\"", (needle), #hay, (hay)); \
            hl_test_fail_at(__FILE__, __LINE__, it_m);                                            \
        }                                                                                         \
    } while (0)

#define CHECK_STR(got, want)                                                                      \
    do {                                                                                          \
        if (strcmp((got), (want)) != 0) {                                                         \
            char it_m[400];                                                                       \
            snprintf(it_m, sizeof it_m, "%s is \"%.150s\", expected \"%.150s\"", #got, (got),     \
                     (want));                                                                     \
            hl_test_fail_at(__FILE__, __LINE__, it_m);                                            \
        }                                                                                         \
    } while (0)

static void it_url(char *out, size_t cap, const char *path)
{
    snprintf(out, cap, "ws://127.0.0.1:%d%s", g_port, path);
}

/* A TCP port on 127.0.0.1 that refuses connections for as long as *fd stays open: bound but
   not listening, so a SYN gets a RST and nobody else can take the port meanwhile. */
static int it_refusing_port(int *fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(*fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(*fd, (struct sockaddr *)&a, &len) != 0) {
        close(*fd);
        return -1;
    }
    return ntohs(a.sin_port);
}

/* ---- tests without a server ---------------------------------------------------------------- */

static void t_binary_present(void)
{
    CHECK(access(HLCAT, X_OK) == 0);
}

static void t_connect_refused(void)
{
    int fd, port = it_refusing_port(&fd);
    char url[64], want[160];
    const char *args[] = {url, NULL};
    CHECK(port > 0);
    if (port <= 0) return;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", port);
    run_hlcat(&g_run, args, "", NULL);
    close(fd);
    CHECK_STATUS(1);
    snprintf(want, sizeof want,
             "hlcat: connect to 127.0.0.1:%d failed: Connection refused (HL_E_CONNECT_REFUSED)\n", port);
    CHECK_STR(g_run.err, want);
    CHECK_EQ(g_run.out_len, 0);
}

static void t_connect_refused_verbose(void)
{
    int fd, port = it_refusing_port(&fd);
    char url[64];
    const char *args[] = {"-v", url, NULL};
    CHECK(port > 0);
    if (port <= 0) return;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    run_hlcat(&g_run, args, "", NULL);
    close(fd);
    CHECK_STATUS(1);
    CHECK_HAS(g_run.err, "hlcat: state IDLE -> RESOLVING\n");
    CHECK_HAS(g_run.err, "hlcat: error HL_E_CONNECT_REFUSED: connect to 127.0.0.1:");
    CHECK_HAS(g_run.err, "-> CLOSED: connect to 127.0.0.1:");
    CHECK_HAS(g_run.err, "hlcat: close 1006 \"\" after an error (HL_E_CONNECT_REFUSED)\n");
    /* the last line is the one-line verdict */
    CHECK_HAS(g_run.err, "failed: Connection refused (HL_E_CONNECT_REFUSED)\n");
}

static void t_usage_errors(void)
{
    const char *none[] = {NULL};
    const char *zero_n[] = {"-n", "0", "ws://127.0.0.1:1/", NULL};
    const char *bad_h[] = {"-H", "no colon here", "ws://127.0.0.1:1/", NULL};
    const char *unknown[] = {"--frobnicate", "ws://127.0.0.1:1/", NULL};
    const char *bad_url[] = {"ws://[::1", NULL};
    const char *ftp_url[] = {"ftp://127.0.0.1:1/", NULL};
    const char *help[] = {"--help", NULL};
    run_hlcat(&g_run, none, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "hlcat: no URL given\n");
    run_hlcat(&g_run, zero_n, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "-n wants a whole number");
    run_hlcat(&g_run, bad_h, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "-H wants 'Name: value'");
    run_hlcat(&g_run, unknown, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "unknown option '--frobnicate'");
    run_hlcat(&g_run, bad_url, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "hlcat: bad URL 'ws://[::1'");
    CHECK_HAS(g_run.err, "(HL_E_BAD_URL)\n");
    run_hlcat(&g_run, ftp_url, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "hlcat: bad URL 'ftp://127.0.0.1:1/'");
    run_hlcat(&g_run, help, "", NULL);
    CHECK_STATUS(0);
    CHECK_HAS(g_run.out, "usage: hlcat [options] URL");
}

static void t_memory_too_small(void)
{
    const char *args[] = {"--max-message", "4000000000", "ws://127.0.0.1:1/", NULL};
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "bytes of context memory");
    CHECK_HAS(g_run.err, "-DHLCAT_MEMORY=");
}

/* ---- tests per server ---------------------------------------------------------------------- */

/* Lines go out as text messages and their echoes come back, one per line: an empty line, a
   CRLF line, UTF-8, and a last line without a newline (sent at EOF). */
static void t_echo_lines(void)
{
    char url[96];
    const char *args[] = {"-n", "5", url, NULL};
    it_url(url, sizeof url, "/echo");
    run_hlcat(&g_run, args, "hello\n\nw\xc3\xb6rld \xe2\x82\xac\ncrlf\r\nlast", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "hello\n\nw\xc3\xb6rld \xe2\x82\xac\ncrlf\nlast\n");
    CHECK_EQ(g_run.err_len, 0);
}

/* Many lines: the send path and -n counting hold up beyond one read of stdin. */
static void t_echo_many(void)
{
    static char input[40000], want[40000];
    char url[96];
    const char *args[] = {"-n", "3000", url, NULL};
    size_t n = 0;
    int i;
    for (i = 0; i < 3000; i++) n += (size_t)snprintf(input + n, sizeof input - n, "line %d\n", i);
    memcpy(want, input, n + 1);
    it_url(url, sizeof url, "/echo");
    run_hlcat(&g_run, args, input, NULL);
    CHECK_STATUS(0);
    CHECK_EQ(g_run.out_len, n);
    CHECK(strcmp(g_run.out, want) == 0);
}

/* A line that is not UTF-8 is skipped with a warning; the others go. */
static void t_bad_utf8_line(void)
{
    char url[96];
    const char *args[] = {"-n", "2", url, NULL};
    it_url(url, sizeof url, "/echo");
    run_hlcat(&g_run, args, "a\nb\xff\nc\n", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "a\nc\n");
    CHECK_HAS(g_run.err, "hlcat: stdin line 2 is not valid UTF-8; not sent\n");
}

/* -n stops a stream that would go on: exactly N lines, a close by us, exit 0. */
static void t_n_limit(void)
{
    char url[96];
    const char *args[] = {"-v", "-n", "7", url, NULL};
    it_url(url, sizeof url, "/flood?n=100000&size=64");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK_EQ(it_count_lines(g_run.out), 7);
    CHECK_EQ(g_run.out_len, 7 * 65);
    CHECK_HAS(g_run.out, "\"tid\":100000000000006");
    CHECK_HAS(g_run.err, "hlcat: got the -n messages; closing with 1000\n");
    CHECK_HAS(g_run.err, "hlcat: close 1000 \"\" by us\n");
}

/* The Hyperliquid-style trade stream of the demo, shortened. */
static void t_trades(void)
{
    char url[96];
    const char *args[] = {"-n", "3", url, NULL};
    int i;
    const char *p;
    it_url(url, sizeof url, "/trades?rate=1000");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK_EQ(it_count_lines(g_run.out), 3);
    for (i = 0, p = g_run.out; i < 3 && p; i++) {
        CHECK(strncmp(p, "{\"channel\":\"trades\",\"data\":[{", 29) == 0);
        p = strchr(p, '\n');
        if (p) p++;
    }
}

/* -H headers reach the server (its /headers mode answers them as JSON), a value may hold ':',
   and the provider is asked on connect. */
static void t_headers(void)
{
    char url[96];
    const char *args[] = {"-v", "-n", "1", "-H", "X-Hl-Test: abc 123", "-H", "Authorization:Bearer t0k",
                          "-H", "X-Url: http://a:1/b", url, NULL};
    it_url(url, sizeof url, "/headers");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK_HAS(g_run.out, "\"x-hl-test\":\"abc 123\"");
    CHECK_HAS(g_run.out, "\"authorization\":\"Bearer t0k\"");
    CHECK_HAS(g_run.out, "\"x-url\":\"http://a:1/b\"");
    CHECK_HAS(g_run.out, "\"path\":\"/headers\"");
    CHECK_HAS(g_run.err, "hlcat: connect: 3 extra header(s) from the provider\n");
}

/* A header the library writes itself is refused at connect, with the reason. */
static void t_reserved_header(void)
{
    char url[96];
    const char *args[] = {"-H", "Host: example.com", url, NULL};
    it_url(url, sizeof url, "/echo");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(1);
    CHECK_HAS(g_run.err, "'Host' is written by the library (HL_E_INVALID)\n");
}

/* -s offers subprotocols; the server picks by its own preference ("chat"). */
static void t_subprotocol(void)
{
    char url[96];
    const char *args[] = {"-v", "-s", "superchat, chat", "-n", "1", url, NULL};
    it_url(url, sizeof url, "/headers");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK_HAS(g_run.out, "\"sec-websocket-protocol\":\"superchat, chat\"");
    CHECK_HAS(g_run.err, "hlcat: open, subprotocol \"chat\"\n");
}

/* A refused upgrade: one line with the HTTP status and the body, exit 1. */
static void t_reject(void)
{
    char url[96];
    const char *args[] = {url, NULL};
    it_url(url, sizeof url, "/reject");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(1);
    CHECK_STR(g_run.err, "hlcat: server refused the upgrade with HTTP 403 (HL_E_HANDSHAKE); body: rejected: 403\n");
    it_url(url, sizeof url, "/reject?status=503");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(1);
    CHECK_HAS(g_run.err, "HTTP 503 (HL_E_HANDSHAKE); body: rejected: 503\n");
    CHECK_EQ(it_count_lines(g_run.err), 1);
}

/* -v: one line per lifecycle event; the end of stdin (no -n) closes with 1000. */
static void t_verbose_lifecycle(void)
{
    char url[96];
    const char *args[] = {"-v", url, NULL};
    it_url(url, sizeof url, "/echo");
    run_hlcat(&g_run, args, "one\n", NULL);
    CHECK_STATUS(0);
    CHECK_HAS(g_run.err, "hlcat: connecting to ws://127.0.0.1:");
    CHECK_HAS(g_run.err, "hlcat: state IDLE -> RESOLVING\n");
    CHECK_HAS(g_run.err, "hlcat: state RESOLVING -> CONNECTING\n");
    CHECK_HAS(g_run.err, "hlcat: state CONNECTING -> UPGRADING\n");
    CHECK_HAS(g_run.err, "hlcat: state UPGRADING -> OPEN\n");
    CHECK_HAS(g_run.err, "hlcat: open, no subprotocol\n");
    CHECK_HAS(g_run.err, "hlcat: end of stdin; closing once the send queue has drained\n");
    CHECK_HAS(g_run.err, "closing with 1000\n");
    CHECK_HAS(g_run.err, "hlcat: state OPEN -> CLOSING\n");
    CHECK_HAS(g_run.err, "hlcat: state CLOSING -> CLOSED\n");
    CHECK_HAS(g_run.err, "hlcat: close 1000 \"\" by us\n");
}

/* --ping: the library's RFC 6455 pings go out and their pongs show with -v, with the round
   trip. stdin stays open until the first pong. */
static void t_ping_pong(void)
{
    char url[96];
    const char *args[] = {"-v", "--ping", "0.02", url, NULL};
    it_url(url, sizeof url, "/echo");
    run_hlcat(&g_run, args, "", "hlcat: pong");
    CHECK_STATUS(0);
    CHECK_HAS(g_run.err, "hlcat: pong, rtt ");
    CHECK_HAS(g_run.err, " ms\n");
}

/* The server closes: 1000 is a normal end (exit 0), 1011 a failure with its reason (exit 1).
   stdin stays open, so the close is the server's alone. */
static void t_server_close(void)
{
    char url[96];
    const char *args[] = {"-v", url, NULL};
    it_url(url, sizeof url, "/close?code=1000&reason=done");
    run_hlcat(&g_run, args, "", "never printed");
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "closing\n");
    CHECK_HAS(g_run.err, "hlcat: close 1000 \"done\" by the server\n");
    it_url(url, sizeof url, "/close?code=1011&reason=oops");
    run_hlcat(&g_run, args, "", "never printed");
    CHECK_STATUS(1);
    CHECK_HAS(g_run.err, "hlcat: close 1011 \"oops\" by the server\n");
    CHECK_HAS(g_run.err, "hlcat: server closed the connection with code 1011: oops\n");
}

/* A TCP reset without a close frame is a failure with the library's reason. */
static void t_reset(void)
{
    char url[96];
    const char *args[] = {url, NULL};
    it_url(url, sizeof url, "/reset?after=0&delay=0");
    run_hlcat(&g_run, args, "", "never printed");
    CHECK_STATUS(1);
    CHECK_EQ(it_count_lines(g_run.err), 1);
    CHECK(strstr(g_run.err, "(HL_E_RESET)\n") || strstr(g_run.err, "(HL_E_EOF)\n"));
}

/* Binary messages: hex by default, raw bytes with --binary-raw (each with a newline). */
static void t_binary(void)
{
    char url[96];
    const char *hex[] = {"-n", "1", url, NULL};
    const char *raw[] = {"-n", "1", "--binary-raw", url, NULL};
    unsigned char want[21];
    int i;
    it_url(url, sizeof url, "/frag?type=binary&size=20&parts=3");
    run_hlcat(&g_run, hex, "", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "000102030405060708090a0b0c0d0e0f10111213\n");
    run_hlcat(&g_run, raw, "", NULL);
    CHECK_STATUS(0);
    for (i = 0; i < 20; i++) want[i] = (unsigned char)i;
    want[20] = '\n';
    CHECK_EQ(g_run.out_len, 21);
    CHECK(memcmp(g_run.out, want, 21) == 0);
}

/* --max-message: a bigger message fails the connection with 1009 and a clear reason. */
static void t_max_message(void)
{
    char url[96];
    const char *args[] = {"--max-message", "1000", "-n", "1", url, NULL};
    it_url(url, sizeof url, "/frag?size=5000&parts=1");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(1);
    CHECK_HAS(g_run.err, "(HL_E_MSG_TOO_BIG)\n");
    CHECK_EQ(g_run.out_len, 0);
}

/* ---- staying up: tests/servers/hl_server.py, which drops every connection each second ----- */

static int g_hl_port;

static void it_hl_url(char *out, size_t cap)
{
    snprintf(out, cap, "ws://127.0.0.1:%d/ws", g_hl_port);
}

/* The number after key (e.g. "\"reconnects\":") in s, or -1. */
static long it_json_num(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Does every line of s start with one of the two prefixes? */
static int it_lines_start(const char *s, const char *a, const char *b)
{
    while (*s) {
        const char *nl = strchr(s, '\n');
        if (strncmp(s, a, strlen(a)) != 0 && strncmp(s, b, strlen(b)) != 0) return 0;
        if (!nl) break;
        s = nl + 1;
    }
    return 1;
}

/* Usage errors of the new options: no network needed. */
static void t_usage_staying_up(void)
{
    const char *sub_no_profile[] = {"--sub", "{\"type\":\"trades\",\"coin\":\"BTC\"}", "ws://127.0.0.1:1/", NULL};
    const char *bad_profile[] = {"--profile", "binance", "ws://127.0.0.1:1/", NULL};
    const char *app_ping_no_profile[] = {"--app-ping", "5", "ws://127.0.0.1:1/", NULL};
    const char *backoff_no_reconnect[] = {"--backoff-initial", "50", "ws://127.0.0.1:1/", NULL};
    const char *backoff_bad[] = {"--reconnect", "--backoff-max", "-3", "ws://127.0.0.1:1/", NULL};
    const char *sub_not_json[] = {"--profile", "hyperliquid", "--sub", "nope", "ws://127.0.0.1:1/", NULL};
    const char *sub_twice[] = {"--profile", "hyperliquid", "--sub", "{\"type\":\"trades\",\"coin\":\"BTC\"}",
                               "--sub", "{\"coin\":\"BTC\",\"type\":\"trades\"}", "ws://127.0.0.1:1/", NULL};
    const char *help[] = {"-h", NULL};
    run_hlcat(&g_run, sub_no_profile, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "hlcat: --sub needs --profile");
    run_hlcat(&g_run, bad_profile, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "unknown profile 'binance' (known: hyperliquid)");
    run_hlcat(&g_run, app_ping_no_profile, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "--app-ping needs --profile");
    run_hlcat(&g_run, backoff_no_reconnect, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "need --reconnect");
    run_hlcat(&g_run, backoff_bad, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "--backoff-max wants milliseconds");
    /* the library says why it cannot take a subscription; nothing is connected */
    run_hlcat(&g_run, sub_not_json, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "hlcat: --sub 'nope': subscription is not a flat JSON object");
    CHECK_HAS(g_run.err, "(HL_E_INVALID)\n");
    run_hlcat(&g_run, sub_twice, "", NULL); /* the same subscription in another key order */
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "already subscribed");
    run_hlcat(&g_run, help, "", NULL);
    CHECK_STATUS(0);
    CHECK_HAS(g_run.out, "--reconnect");
    CHECK_HAS(g_run.out, "--sub JSON");
    CHECK_HAS(g_run.out, "--stats");
    CHECK_HAS(g_run.out, "--pin SHA256");
}

/* --profile hyperliquid --sub ... --reconnect against a server that drops every connection each
   second: messages keep coming across the drops, and -v shows the backoff, the disconnect, the
   reconnect and the resubscription with its gap. 100 messages at about 40 a second take at least
   two drops. */
static void t_hl_reconnect(void)
{
    char url[96];
    const char *args[] = {"-v", "--profile", "hyperliquid", "--reconnect", "--backoff-initial", "50",
                          "--backoff-max", "200", "--sub", "{\"type\":\"trades\",\"coin\":\"BTC\"}", "--sub",
                          "{\"type\":\"bbo\",\"coin\":\"ETH\"}", "-n", "100", url, NULL};
    it_hl_url(url, sizeof url);
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK_EQ(it_count_lines(g_run.out), 100);
    CHECK(it_lines_start(g_run.out, "{\"channel\":\"trades\",\"data\":[{\"coin\":\"BTC\"",
                         "{\"channel\":\"bbo\",\"data\":{\"coin\":\"ETH\""));
    CHECK_HAS(g_run.err, "hlcat: subscription {\"type\":\"trades\",\"coin\":\"BTC\"} ACTIVE\n");
    CHECK_HAS(g_run.err, "hlcat: subscription {\"type\":\"bbo\",\"coin\":\"ETH\"} ACTIVE\n");
    CHECK_HAS(g_run.err, "hlcat: disconnect: code 1006, ");
    CHECK_HAS(g_run.err, "; reconnecting in ");
    CHECK_HAS(g_run.err, "hlcat: state CLOSED -> BACKOFF: ");
    CHECK_HAS(g_run.err, "; attempt 1 in ");
    CHECK_HAS(g_run.err, "hlcat: subscription {\"type\":\"trades\",\"coin\":\"BTC\"} PENDING: connection lost");
    CHECK_HAS(g_run.err, "hlcat: state BACKOFF -> RESOLVING\n");
    CHECK_HAS(g_run.err, "hlcat: reconnected (connection 2)\n");
    CHECK_HAS(g_run.err, "hlcat: resubscribed {\"type\":\"trades\",\"coin\":\"BTC\"} after a gap of ");
    CHECK_HAS(g_run.err, "hlcat: resubscribed {\"type\":\"bbo\",\"coin\":\"ETH\"} after a gap of ");
    CHECK_HAS(g_run.err, "hlcat: got the -n messages; closing with 1000\n");
    CHECK_HAS(g_run.err, "hlcat: close 1000 \"\" by us\n");
}

/* --stats: one line of JSON on stderr at exit, taken at the close, with the connection, its
   counters and its subscriptions. --app-ping 0.05 makes the application pings (answered by
   the server's {"channel":"pong"}) give RTT samples. */
static void t_hl_stats(void)
{
    char url[96];
    const char *args[] = {"--profile", "hyperliquid", "--reconnect", "--backoff-initial", "50", "--app-ping",
                          "0.05", "--sub", "{\"type\":\"trades\",\"coin\":\"BTC\"}", "--stats", "-n", "40", url, NULL};
    const char *json;
    it_hl_url(url, sizeof url);
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK_EQ(it_count_lines(g_run.out), 40);
    json = strstr(g_run.err, "{\"version\":\"");
    CHECK(json != NULL);
    if (!json) return;
    CHECK(json == g_run.err || json[-1] == '\n'); /* a line of its own ... */
    CHECK_EQ(it_count_lines(json), 1);            /* ... and the last one */
    CHECK_HAS(json, "\"state\":\"CLOSED\",\"profile\":\"hyperliquid\"");
    CHECK_HAS(json, "\"subscriptions\":[{\"subscription\":\"{\\\"type\\\":\\\"trades\\\",\\\"coin\\\":\\\"BTC\\\"}\"");
    CHECK(it_json_num(json, "\"connects\":") >= 1);
    CHECK(it_json_num(json, "\"msgs\":") >= 40);
    CHECK(it_json_num(json, "\"samples\":") >= 1);
    CHECK_EQ(it_json_num(json, "\"reconnects\":"), it_json_num(json, "\"connects\":") - 1);
    CHECK(json[strlen(json) - 2] == '}');
}

/* Without --reconnect a drop ends hlcat as before: exit 1 with the reason. The end of stdin
   closes nothing when there are subscriptions, so the drop is what ends it. */
static void t_hl_no_reconnect(void)
{
    char url[96];
    const char *args[] = {"--profile", "hyperliquid", "--sub", "{\"type\":\"trades\",\"coin\":\"BTC\"}", url, NULL};
    it_hl_url(url, sizeof url);
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(1); /* (a drop may come before the first trade: stdout is not checked) */
    CHECK_EQ(it_count_lines(g_run.err), 1);
    CHECK(strstr(g_run.err, "(HL_E_RESET)\n") || strstr(g_run.err, "(HL_E_EOF)\n"));
}

/* A subscription the server refuses: FAILED with the server's text (a line even without -v);
   the other subscription goes on. A silent coin is reported stale. */
static void t_hl_sub_failed_and_stale(void)
{
    char url[96];
    const char *args[] = {"-v", "--profile", "hyperliquid", "--reconnect", "--backoff-initial", "50",
                          "--sub", "{\"type\":\"l2Book\",\"coin\":\"BTC\",\"nSigFigs\":9}",
                          "--sub", "{\"type\":\"trades\",\"coin\":\"DOGE\"}",
                          "--sub", "{\"type\":\"trades\",\"coin\":\"BTC\"}", "--stale", "0.2", "-n", "30", url, NULL};
    it_hl_url(url, sizeof url);
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK_EQ(it_count_lines(g_run.out), 30);
    CHECK_HAS(g_run.err, "hlcat: subscription {\"type\":\"l2Book\",\"coin\":\"BTC\",\"nSigFigs\":9} FAILED: Invalid subscription");
    CHECK_HAS(g_run.err, "hlcat: stale: {\"type\":\"trades\",\"coin\":\"DOGE\"} silent for ");
}

/* ---- TLS: ws_python_server.py with --tls-cert/--tls-key ----------------------------------- */

#define IT_CERTS "build/tls/certs"

static int g_tls_port;   /* the TLS server (leaf ec.pem for localhost, by the test CA) */
static int g_hlcat_tls;  /* build/hlcat was built with TLS */
static char g_pin_hex[80], g_pin_b64[80];

/* The first line a shell command prints, without its newline. */
static int it_cmd_line(const char *cmd, char *out, size_t cap)
{
    FILE *f = popen(cmd, "r");
    int ok;
    if (!f) return -1;
    ok = fgets(out, (int)cap, f) != NULL;
    if (pclose(f) != 0 || !ok) return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] ? 0 : -1;
}

static void it_tls_url(char *out, size_t cap, const char *host)
{
    snprintf(out, cap, "wss://%s:%d/echo", host, g_tls_port);
}

#define TLS_NEED()                                                                                \
    do {                                                                                          \
        if (g_tls_port <= 0 || !g_pin_hex[0]) {                                                   \
            hl_test_fail_at(__FILE__, __LINE__, "no TLS server or pins (see tls_setup)");          \
            return;                                                                               \
        }                                                                                         \
    } while (0)

/* --ca: the test CA verifies the server's chain; without it the system bundle does not, and
   that failure is final even with --reconnect. */
static void t_tls_ca(void)
{
    char url[96];
    const char *ok[] = {"--ca", IT_CERTS "/ca.pem", "-n", "1", url, NULL};
    const char *other_ca[] = {"--ca", IT_CERTS "/ca2.pem", "--reconnect", url, NULL};
    const char *missing[] = {"--ca", IT_CERTS "/no-such.pem", url, NULL};
    TLS_NEED();
    it_tls_url(url, sizeof url, "localhost");
    run_hlcat(&g_run, ok, "hello tls\n", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "hello tls\n");
    CHECK_EQ(g_run.err_len, 0);
    run_hlcat(&g_run, other_ca, "", NULL);
    CHECK_STATUS(1);
    CHECK_HAS(g_run.err, "not end at a trusted CA");
    CHECK_HAS(g_run.err, "(HL_E_TLS_CERT)\n");
    CHECK_EQ(it_count_lines(g_run.err), 1);
    run_hlcat(&g_run, missing, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "hlcat: --ca: cannot read '" IT_CERTS "/no-such.pem'");
}

/* --pin: the server's key, in hex or base64, stands in for CA trust (an IP address, or a CA
   that signed nothing of the server's); a wrong pin is refused; an IP address without a pin
   cannot be verified. */
static void t_tls_pin(void)
{
    char url[96];
    const char *hex_ip[] = {"--pin", g_pin_hex, "-n", "1", url, NULL};
    const char *b64_name[] = {"--ca", IT_CERTS "/ca2.pem", "--pin", g_pin_b64, "-n", "1", url, NULL};
    const char *wrong[] = {"--pin", "0000000000000000000000000000000000000000000000000000000000000000", "--pin",
                           "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", url, NULL};
    const char *none_ip[] = {url, NULL};
    TLS_NEED();
    it_tls_url(url, sizeof url, "127.0.0.1");
    run_hlcat(&g_run, hex_ip, "pinned\n", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "pinned\n");
    run_hlcat(&g_run, wrong, "", NULL);
    CHECK_STATUS(1);
    CHECK_HAS(g_run.err, "matches none of the pinned");
    CHECK_HAS(g_run.err, "(HL_E_TLS_CERT)\n");
    run_hlcat(&g_run, none_ip, "", NULL);
    CHECK_STATUS(1);
    CHECK_HAS(g_run.err, "an IP address cannot be verified by name; give the server's key with --pin");
    it_tls_url(url, sizeof url, "localhost");
    run_hlcat(&g_run, b64_name, "base64\n", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "base64\n");
}

/* --insecure: any certificate, with a loud warning on stderr. */
static void t_tls_insecure(void)
{
    char url[96];
    const char *args[] = {"--insecure", "-n", "1", url, NULL};
    TLS_NEED();
    it_tls_url(url, sizeof url, "127.0.0.1");
    run_hlcat(&g_run, args, "anything goes\n", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "anything goes\n");
    CHECK_HAS(g_run.err, "hlcat: WARNING: --insecure: the server's certificate is NOT verified.");
}

/* Argument checks of --pin, and the TLS options in a build without TLS. */
static void t_tls_args(void)
{
    const char *bad[] = {"--pin", "abc", "wss://localhost:1/", NULL};
    const char *b64_short[] = {"--pin", "zZJyA75EBAEfpWXSJD2eYAQ041f98dKXNMcBvDPW7d==", "wss://localhost:1/", NULL};
    const char *five[] = {"--pin", g_pin_hex, "--pin", g_pin_hex, "--pin", g_pin_hex, "--pin", g_pin_hex,
                          "--pin", g_pin_hex, "wss://localhost:1/", NULL};
    const char *insecure[] = {"--insecure", "wss://localhost:1/", NULL};
    if (!g_hlcat_tls) {
        run_hlcat(&g_run, insecure, "", NULL);
        CHECK_STATUS(2);
        CHECK_HAS(g_run.err, "hlcat: --insecure is a TLS option, and this hlcat was built without TLS");
        run_hlcat(&g_run, bad, "", NULL);
        CHECK_STATUS(2);
        CHECK_HAS(g_run.err, "hlcat: --pin is a TLS option");
        return;
    }
    run_hlcat(&g_run, bad, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "--pin wants a SHA-256 as 64 hex digits or 44 characters of base64, not 'abc'");
    run_hlcat(&g_run, b64_short, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "--pin wants a SHA-256");
    TLS_NEED();
    run_hlcat(&g_run, five, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "too many --pin (at most 4)");
}

/* ---- HTTP: tests/servers/http_fault_server.py and nginx ---------------------------------- */

#define IT_DIR "build/it_hlcat"

static int g_http_port;          /* http_fault_server.py */
static int g_ngx_port, g_ngx_tls_port; /* nginx: plain and HTTPS (0: not running) */

static void it_http_url(char *out, size_t cap, const char *path)
{
    snprintf(out, cap, "http://127.0.0.1:%d%s", g_http_port, path);
}

/* Is s (n bytes) the server's pattern bytes? */
static int it_is_pattern(const char *s, size_t n)
{
    static const char pat[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] != pat[i % 62]) return 0;
    return 1;
}

#define HTTP_NEED()                                                                               \
    do {                                                                                          \
        if (g_http_port <= 0) {                                                                   \
            hl_test_fail_at(__FILE__, __LINE__, "http_fault_server.py did not start");            \
            return;                                                                               \
        }                                                                                         \
    } while (0)

/* GET: the body on stdout exactly, nothing on stderr; a bigger body byte for byte. */
static void t_http_get(void)
{
    char url[128];
    const char *args[] = {url, NULL};
    HTTP_NEED();
    it_http_url(url, sizeof url, "/ok");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK_EQ(g_run.out_len, 16);
    CHECK_STR(g_run.out, "0123456789ABCDEF");
    CHECK_EQ(g_run.err_len, 0);
    it_http_url(url, sizeof url, "/ok?size=60000&chunked=1&chunk=7000");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK_EQ(g_run.out_len, 60000);
    CHECK(it_is_pattern(g_run.out, g_run.out_len));
}

/* -i: "HTTP/1.1 <status>", the headers as received, an empty line, then the body. */
static void t_http_include(void)
{
    char url[128];
    const char *args[] = {"-i", url, NULL};
    HTTP_NEED();
    it_http_url(url, sizeof url, "/ok?size=4");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK(strncmp(g_run.out, "HTTP/1.1 200\nX-Conn: ", 21) == 0);
    CHECK_HAS(g_run.out, "\nX-Seq: 1\nContent-Type: application/octet-stream\nContent-Length: 4\n\n0123");
    CHECK(g_run.out_len > 4 && strcmp(g_run.out + g_run.out_len - 6, "\n\n0123") == 0);
    it_http_url(url, sizeof url, "/status?code=404&body=gone");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0); /* any status is a response (curl's default) */
    CHECK(strncmp(g_run.out, "HTTP/1.1 404\n", 13) == 0);
    CHECK_HAS(g_run.out, "\nContent-Type: text/plain\n");
    CHECK_HAS(g_run.out, "\n\ngone");
}

/* POST with -d: literal, @FILE (binary, with NUL and newlines), @- (stdin), and two -d joined
   with '&'; -v shows the request. */
static void t_http_post_echo(void)
{
    static const char bin[] = "line 1\r\nline 2\n\0zero\xff\xfe end";
    char url[128], path[96];
    const char *lit[] = {"-v", "-d", "hello world", "-H", "Content-Type: text/plain", url, NULL};
    const char *file[] = {"-d", path, url, NULL};
    const char *std_in[] = {"-d", "@-", url, NULL};
    const char *two[] = {"-d", "a=1", "-d", "b=2", url, NULL};
    char arg[100];
    FILE *f;
    HTTP_NEED();
    it_http_url(url, sizeof url, "/echo");
    run_hlcat(&g_run, lit, "", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "hello world");
    CHECK_HAS(g_run.err, "hlcat: > POST http://127.0.0.1:");
    CHECK_HAS(g_run.err, "hlcat: > Content-Type: text/plain\n");
    CHECK_HAS(g_run.err, "hlcat: > 11 body bytes\n");
    CHECK_HAS(g_run.err, "hlcat: < HTTP/1.1 200, 11 body bytes\n");
    CHECK_HAS(g_run.err, "hlcat: < X-Method: POST\n");
    CHECK_HAS(g_run.err, "hlcat: < Content-Type: text/plain\n");
    snprintf(path, sizeof path, IT_DIR "/body-%ld.bin", (long)getpid());
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fwrite(bin, 1, sizeof bin - 1, f);
    fclose(f);
    snprintf(arg, sizeof arg, "@%s", path);
    file[1] = arg;
    run_hlcat(&g_run, file, "", NULL);
    remove(path);
    CHECK_STATUS(0);
    CHECK_EQ(g_run.out_len, sizeof bin - 1);
    CHECK(memcmp(g_run.out, bin, sizeof bin - 1) == 0);
    run_hlcat(&g_run, std_in, "from stdin\n", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "from stdin\n");
    run_hlcat(&g_run, two, "", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "a=1&b=2");
}

/* -X PUT with a body; HEAD (-X HEAD -i, and -I): the head, no body. */
static void t_http_put_head(void)
{
    char url[128];
    const char *put[] = {"-X", "PUT", "-d", "put body", "-i", url, NULL};
    const char *head[] = {"-X", "HEAD", "-i", url, NULL};
    const char *head_i[] = {"-I", url, NULL};
    HTTP_NEED();
    it_http_url(url, sizeof url, "/echo");
    run_hlcat(&g_run, put, "", NULL);
    CHECK_STATUS(0);
    CHECK_HAS(g_run.out, "\nX-Method: PUT\n");
    CHECK_HAS(g_run.out, "\nContent-Length: 8\n\nput body");
    it_http_url(url, sizeof url, "/ok?size=16");
    run_hlcat(&g_run, head, "", NULL);
    CHECK_STATUS(0);
    CHECK(strncmp(g_run.out, "HTTP/1.1 200\n", 13) == 0);
    CHECK_HAS(g_run.out, "\nContent-Length: 16\n\n");
    CHECK(g_run.out_len > 2 && strcmp(g_run.out + g_run.out_len - 2, "\n\n") == 0); /* no body */
    run_hlcat(&g_run, head_i, "", NULL);
    CHECK_STATUS(0);
    CHECK_HAS(g_run.out, "\nContent-Length: 16\n\n");
    CHECK(g_run.out_len > 2 && strcmp(g_run.out + g_run.out_len - 2, "\n\n") == 0);
}

/* A 503 then a 200: --retry 2 gets "ok", and -v shows the retry, the attempts and the request
   id; --retry 0 prints the 503's body (exit 0); without --retry the library's default (2)
   rides out two failures. */
static void t_http_flaky_retry(void)
{
    char url[128];
    const char *retry[] = {"-v", "--retry", "2", url, NULL};
    const char *none[] = {"--retry", "0", url, NULL};
    const char *deflt[] = {"-v", url, NULL};
    HTTP_NEED();
    it_http_url(url, sizeof url, "/flaky?fail=1&id=retry2");
    run_hlcat(&g_run, retry, "", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "ok");
    CHECK_HAS(g_run.err, "hlcat: [lib info #0] http GET /flaky?fail=1&id=retry2 -> 503, retrying in ");
    CHECK_HAS(g_run.err, "hlcat: < X-Attempt: 2\n");
    CHECK_HAS(g_run.err, ": 2 attempt(s), 1 retry, ");
    CHECK_HAS(g_run.err, "hlcat: request ");
    it_http_url(url, sizeof url, "/flaky?fail=1&id=retry0");
    run_hlcat(&g_run, none, "", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "flaky failure 1/1");
    it_http_url(url, sizeof url, "/flaky?fail=2&id=default");
    run_hlcat(&g_run, deflt, "", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "ok");
    CHECK_HAS(g_run.err, ": 3 attempt(s), 2 retries, ");
}

/* A POST is not retried: the 502 is printed (exit 0), or with --fail nothing and exit 22.
   --idempotent lets it be retried. The server's counter confirms one attempt each. */
static void t_http_post_retry(void)
{
    char url[128];
    const char *post[] = {"-v", "-d", "{}", url, NULL};
    const char *fail[] = {"--fail", "-d", "{}", url, NULL};
    const char *idem[] = {"-v", "--idempotent", "-d", "{}", url, NULL};
    const char *count[] = {url, NULL};
    HTTP_NEED();
    it_http_url(url, sizeof url, "/exchange?fail=1&id=post");
    run_hlcat(&g_run, post, "", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "bad gateway");
    CHECK_HAS(g_run.err, "hlcat: < HTTP/1.1 502, 11 body bytes\n");
    CHECK_HAS(g_run.err, ": 1 attempt(s), 0 retries, ");
    it_http_url(url, sizeof url, "/exchange?fail=1&id=postfail");
    run_hlcat(&g_run, fail, "", NULL);
    CHECK_STATUS(22);
    CHECK_EQ(g_run.out_len, 0);
    CHECK_HAS(g_run.err, "/exchange?fail=1&id=postfail: the server answered HTTP 502 (--fail)\n");
    CHECK_EQ(it_count_lines(g_run.err), 1);
    it_http_url(url, sizeof url, "/_count?path=/exchange");
    run_hlcat(&g_run, count, "", NULL);
    CHECK_STR(g_run.out, "{\"requests\":2,\"connections\":2}");
    it_http_url(url, sizeof url, "/exchange?fail=1&id=idem");
    run_hlcat(&g_run, idem, "", NULL);
    CHECK_STATUS(0);
    CHECK_HAS(g_run.out, "\"status\":\"ok\"");
    CHECK_HAS(g_run.err, "-> 502, retrying in ");
    CHECK_HAS(g_run.err, ": 2 attempt(s), 1 retry, ");
}

/* --max-time cuts a server that is slow to answer: exit 28. */
static void t_http_max_time(void)
{
    char url[128];
    const char *args[] = {"--max-time", "0.3", url, NULL};
    HTTP_NEED();
    it_http_url(url, sizeof url, "/slow_first_byte?delay_ms=5000");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(28);
    CHECK_HAS(g_run.err, "hlcat: GET http://127.0.0.1:");
    CHECK_HAS(g_run.err, "(HL_E_REQUEST_TIMEOUT)\n");
    CHECK_EQ(it_count_lines(g_run.err), 1);
    CHECK_EQ(g_run.out_len, 0);
}

/* Connection refused: exit 7 and exactly one line naming the hl_result. */
static void t_http_refused(void)
{
    int fd, port = it_refusing_port(&fd);
    char url[64], want[200];
    const char *args[] = {"--retry", "1", url, NULL};
    CHECK(port > 0);
    if (port <= 0) return;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    run_hlcat(&g_run, args, "", NULL);
    close(fd);
    CHECK_STATUS(7);
    snprintf(want, sizeof want,
             "hlcat: GET http://127.0.0.1:%d/ failed: connect to 127.0.0.1:%d failed: Connection refused "
             "(HL_E_CONNECT_REFUSED)\n", port, port);
    CHECK_STR(g_run.err, want);
    CHECK_EQ(g_run.out_len, 0);
}

/* A malformed response (two different Content-Lengths) is exit 8; a body over --max-message
   is exit 63. */
static void t_http_bad_and_big(void)
{
    char url[128];
    const char *args[] = {url, NULL};
    const char *small[] = {"--max-message", "1000", url, NULL};
    HTTP_NEED();
    it_http_url(url, sizeof url, "/bad?kind=two_cl");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(8);
    CHECK_HAS(g_run.err, "(HL_E_HTTP_PROTOCOL)\n");
    CHECK_EQ(g_run.out_len, 0);
    it_http_url(url, sizeof url, "/ok?size=2000");
    run_hlcat(&g_run, small, "", NULL);
    CHECK_STATUS(63);
    CHECK_HAS(g_run.err, "(HL_E_MSG_TOO_BIG); --max-message raises the limit\n");
}

/* --stats: the JSON names the endpoint, with its response and byte counts. */
static void t_http_stats(void)
{
    char url[128], want[128];
    const char *args[] = {"--stats", url, NULL};
    const char *json;
    HTTP_NEED();
    it_http_url(url, sizeof url, "/ok?size=10");
    run_hlcat(&g_run, args, "", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "0123456789");
    json = strstr(g_run.err, "{\"version\":\"");
    CHECK(json == g_run.err);
    if (!json) return;
    CHECK_EQ(it_count_lines(json), 1);
    snprintf(want, sizeof want, "\"http_endpoints\":[{\"origin\":\"http://127.0.0.1:%d\",\"path\":\"/ok\"",
             g_http_port);
    CHECK_HAS(json, want);
    CHECK_HAS(json, "\"requests\":1,\"retries\":0,\"responses\":{\"1xx\":0,\"2xx\":1,");
    CHECK_HAS(json, "\"bytes_in\":10,");
}

/* Usage: options of the other kind of URL, -d over the limit (nothing sent), bad values. */
static void t_http_usage(void)
{
    char path[96], arg[100];
    const char *n_http[] = {"-n", "1", "http://127.0.0.1:1/", NULL};
    const char *d_ws[] = {"-d", "x", "ws://127.0.0.1:1/", NULL};
    const char *retry_bad[] = {"--retry", "-1", "http://127.0.0.1:1/", NULL};
    const char *method_bad[] = {"-X", "GE T", "http://127.0.0.1:1/", NULL};
    const char *big[] = {"-d", arg, "http://127.0.0.1:1/", NULL};
    const char *missing[] = {"-d", "@" IT_DIR "/no-such-file", "http://127.0.0.1:1/", NULL};
    const char *host[] = {"-H", "Host: example.com", "http://127.0.0.1:1/", NULL};
    const char *help[] = {"--help", NULL};
    FILE *f;
    static char block[4096];
    int i;
    run_hlcat(&g_run, n_http, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "hlcat: -n is a WebSocket option (ws://, wss://), not for http:// or https://\n");
    run_hlcat(&g_run, d_ws, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "hlcat: -d is an HTTP option (http://, https://), not for ws:// or wss://\n");
    run_hlcat(&g_run, retry_bad, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "--retry wants a whole number");
    run_hlcat(&g_run, method_bad, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "-X wants an HTTP method");
    run_hlcat(&g_run, missing, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "cannot read '" IT_DIR "/no-such-file': ");
    run_hlcat(&g_run, host, "", NULL); /* refused by the library before anything is sent */
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "'Host' is written by the library (HL_E_INVALID)\n");
    /* 1 MiB + 1 byte: over hlcat's body buffer (the port would refuse: nothing is tried) */
    snprintf(path, sizeof path, IT_DIR "/big-%ld.bin", (long)getpid());
    snprintf(arg, sizeof arg, "@%s", path);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    memset(block, 'b', sizeof block);
    for (i = 0; i < 256; i++) fwrite(block, 1, sizeof block, f);
    fputc('!', f);
    fclose(f);
    run_hlcat(&g_run, big, "", NULL);
    remove(path);
    CHECK_STATUS(63);
    CHECK_HAS(g_run.err, "hlcat: the request body (-d) is over 1048576 bytes, hlcat's limit; nothing was sent");
    run_hlcat(&g_run, help, "", NULL);
    CHECK_STATUS(0);
    CHECK_HAS(g_run.out, "-X, --request METHOD");
    CHECK_HAS(g_run.out, "  63 body too big");
}

/* https:// to nginx: --ca trusts the test CA (exit 0); the system bundle does not (60); an IP
   address cannot be checked by name (60); a plain HTTP port is not TLS (35). */
static void t_https_nginx(void)
{
    char url[128];
    const char *ca[] = {"--ca", IT_CERTS "/ca.pem", url, NULL};
    const char *none[] = {url, NULL};
    if (g_ngx_tls_port <= 0) {
        hl_test_fail_at(__FILE__, __LINE__, "nginx with HTTPS did not start (tests/http/start_nginx.sh)");
        return;
    }
    snprintf(url, sizeof url, "https://localhost:%d/ok", g_ngx_tls_port);
    run_hlcat(&g_run, ca, "", NULL);
    CHECK_STATUS(0);
    CHECK_STR(g_run.out, "ok\n");
    CHECK_EQ(g_run.err_len, 0);
    snprintf(url, sizeof url, "https://localhost:%d/1k.bin", g_ngx_tls_port);
    run_hlcat(&g_run, ca, "", NULL);
    CHECK_STATUS(0);
    CHECK_EQ(g_run.out_len, 1024);
    CHECK(it_is_pattern(g_run.out, g_run.out_len));
    snprintf(url, sizeof url, "https://localhost:%d/ok", g_ngx_tls_port);
    run_hlcat(&g_run, none, "", NULL);
    CHECK_STATUS(60);
    CHECK_HAS(g_run.err, "not end at a trusted CA");
    CHECK_HAS(g_run.err, "(HL_E_TLS_CERT)\n");
    CHECK_EQ(g_run.out_len, 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/ok", g_ngx_tls_port);
    run_hlcat(&g_run, ca, "", NULL);
    CHECK_STATUS(60);
    CHECK_HAS(g_run.err, "an IP address cannot be verified by name");
    snprintf(url, sizeof url, "https://localhost:%d/ok", g_ngx_port);
    run_hlcat(&g_run, ca, "", NULL);
    CHECK_STATUS(35);
    CHECK_HAS(g_run.err, "(HL_E_TLS)\n");
}

/* A build without TLS refuses https:// (exit 1) and the TLS options (exit 2). */
static void t_https_no_tls(void)
{
    const char *url[] = {"https://localhost:1/", NULL};
    const char *ca[] = {"--ca", "x.pem", "https://localhost:1/", NULL};
    run_hlcat(&g_run, url, "", NULL);
    CHECK_STATUS(1);
    CHECK_HAS(g_run.err, "this build has no TLS for https:// (HL_E_UNSUPPORTED)\n");
    run_hlcat(&g_run, ca, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "hlcat: --ca is a TLS option");
}

/* Remove run directories (IT_DIR/nginx-<pid>) left by runs that died before cleaning up. */
static void it_sweep_nginx_dirs(void)
{
    DIR *d = opendir(IT_DIR);
    struct dirent *e;
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        char cmd[400], *end;
        long pid;
        if (strncmp(e->d_name, "nginx-", 6) != 0) continue;
        pid = strtol(e->d_name + 6, &end, 10);
        if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(cmd, sizeof cmd, "rm -rf '" IT_DIR "/%.200s'", e->d_name);
        if (system(cmd) != 0) fprintf(stderr, "could not remove " IT_DIR "/%s\n", e->d_name);
    }
    closedir(d);
}

static void run_http_suite(void)
{
    static char *const fault[] = {"/usr/bin/python3", "tests/servers/http_fault_server.py", NULL};
    const char *help[] = {"--help", NULL};
    hl_test_server srv, ngx;
    char ngx_dir[96], cmd[160];
    int tls;
    memset(&srv, 0, sizeof srv);
    memset(&ngx, 0, sizeof ngx);
    if (system("mkdir -p " IT_DIR) != 0) printf("(could not create " IT_DIR ")\n");
    if (hl_test_server_start(&srv, fault) != 0) {
        hl_test_fails++;
        printf("FAIL server_start[http_fault_server]: could not start tests/servers/http_fault_server.py\n");
    } else {
        g_http_port = srv.port;
    }
    fflush(stdout);
    HL_TEST(t_http_get);
    HL_TEST(t_http_include);
    HL_TEST(t_http_post_echo);
    HL_TEST(t_http_put_head);
    HL_TEST(t_http_flaky_retry);
    HL_TEST(t_http_post_retry);
    HL_TEST(t_http_max_time);
    HL_TEST(t_http_refused);
    HL_TEST(t_http_bad_and_big);
    HL_TEST(t_http_stats);
    HL_TEST(t_http_usage);
    hl_test_server_stop(&srv);

    run_hlcat(&g_run, help, "", NULL);
    tls = strstr(g_run.out, "not in this build") == NULL;
    if (!tls) {
        printf("(%s has no TLS: only the refusal of https:// is tested)\n", HLCAT);
        HL_TEST(t_https_no_tls);
        return;
    }
    it_sweep_nginx_dirs();
    snprintf(ngx_dir, sizeof ngx_dir, IT_DIR "/nginx-%ld", (long)getpid());
    if (system("sh tests/tls/make_certs.sh " IT_CERTS " >/dev/null") == 0) {
        char *argv[] = {"sh", "tests/http/start_nginx.sh", ngx_dir, "0", "0", IT_CERTS "/ec-chain.pem",
                        IT_CERTS "/ec.key", NULL};
        if (hl_test_server_start(&ngx, argv) == 0) {
            g_ngx_port = ngx.port;
            g_ngx_tls_port = ngx.port2;
        }
    }
    HL_TEST(t_https_nginx);
    hl_test_server_stop(&ngx);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", ngx_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", ngx_dir);
}

/* ---- main --------------------------------------------------------------------------------- */

#define IT_RUN(fn)                                                                                \
    do {                                                                                          \
        char it_name[96];                                                                         \
        snprintf(it_name, sizeof it_name, "%s[%s]", #fn, g_srv);                                 \
        hl_test_run(it_name, fn);                                                                 \
    } while (0)

static void run_server_suite(const char *name, char *const argv[])
{
    hl_test_server srv;
    g_srv = name;
    memset(&srv, 0, sizeof srv);
    if (hl_test_server_start(&srv, argv) != 0) {
        hl_test_fails++;
        printf("FAIL server_start[%s]: could not start %s %s\n", name, argv[0], argv[1]);
        fflush(stdout);
        return;
    }
    g_port = srv.port;
    IT_RUN(t_echo_lines);
    IT_RUN(t_echo_many);
    IT_RUN(t_bad_utf8_line);
    IT_RUN(t_n_limit);
    IT_RUN(t_trades);
    IT_RUN(t_headers);
    IT_RUN(t_reserved_header);
    IT_RUN(t_subprotocol);
    IT_RUN(t_reject);
    IT_RUN(t_verbose_lifecycle);
    IT_RUN(t_ping_pong);
    IT_RUN(t_server_close);
    IT_RUN(t_reset);
    IT_RUN(t_binary);
    IT_RUN(t_max_message);
    hl_test_server_stop(&srv);
}

/* The Hyperliquid-like server drops every connection each second; DOGE never trades. */
static void run_hl_suite(void)
{
    static char *const argv[] = {"/usr/bin/python3", "tests/servers/hl_server.py", "--drop-every", "1", "--rate",
                                 "20", "--silent-coin", "DOGE", NULL};
    hl_test_server srv;
    memset(&srv, 0, sizeof srv);
    if (hl_test_server_start(&srv, argv) != 0) {
        hl_test_fails++;
        printf("FAIL server_start[hl_server]: could not start tests/servers/hl_server.py\n");
        fflush(stdout);
        return;
    }
    g_hl_port = srv.port;
    HL_TEST(t_hl_reconnect);
    HL_TEST(t_hl_stats);
    HL_TEST(t_hl_no_reconnect);
    HL_TEST(t_hl_sub_failed_and_stale);
    hl_test_server_stop(&srv);
}

/* Certificates, the pins of ec.pem, and the TLS server; each step that fails is a FAIL line
   and the tests that need it fail too. */
static void run_tls_suite(void)
{
    static char *const argv[] = {"/usr/bin/python3", "tests/servers/ws_python_server.py", "--tls-cert",
                                 IT_CERTS "/ec-chain.pem", "--tls-key", IT_CERTS "/ec.key", NULL};
    const char *help[] = {"--help", NULL};
    hl_test_server srv;
    int certs_ok;
    run_hlcat(&g_run, help, "", NULL);
    g_hlcat_tls = strstr(g_run.out, "not in this build") == NULL;
    if (!g_hlcat_tls) {
        printf("(%s has no TLS: only the refusal of the TLS options is tested)\n", HLCAT);
        HL_TEST(t_tls_args);
        return;
    }
    memset(&srv, 0, sizeof srv);
    certs_ok = system("sh tests/tls/make_certs.sh " IT_CERTS " >/dev/null") == 0;
    if (!certs_ok) {
        hl_test_fails++;
        printf("FAIL tls_setup: sh tests/tls/make_certs.sh " IT_CERTS " failed (is openssl installed?)\n");
    } else if (it_cmd_line("openssl x509 -pubkey -noout -in " IT_CERTS "/ec.pem | openssl pkey -pubin -outform der"
                           " | openssl dgst -sha256 -hex | sed 's/^.*= *//'", g_pin_hex, sizeof g_pin_hex) != 0 ||
               it_cmd_line("openssl x509 -pubkey -noout -in " IT_CERTS "/ec.pem | openssl pkey -pubin -outform der"
                           " | openssl dgst -sha256 -binary | openssl base64 -A", g_pin_b64, sizeof g_pin_b64) != 0) {
        g_pin_hex[0] = '\0';
        hl_test_fails++;
        printf("FAIL tls_setup: the pin of " IT_CERTS "/ec.pem could not be computed with openssl\n");
    } else if (hl_test_server_start(&srv, argv) != 0) {
        hl_test_fails++;
        printf("FAIL tls_setup: ws_python_server.py --tls-cert did not start\n");
    } else {
        g_tls_port = srv.port;
    }
    fflush(stdout);
    HL_TEST(t_tls_ca);
    HL_TEST(t_tls_pin);
    HL_TEST(t_tls_insecure);
    HL_TEST(t_tls_args);
    hl_test_server_stop(&srv);
}

int main(void)
{
    static char *const py[] = {"/usr/bin/python3", "tests/servers/ws_python_server.py", NULL};
    static char *const node[] = {"node", "tests/servers/ws_node_server.js", NULL};
    signal(SIGPIPE, SIG_IGN); /* hlcat may exit before reading all of its stdin */
    HL_TEST(t_binary_present);
    if (access(HLCAT, X_OK) != 0) {
        printf("(build %s first: make %s)\n", HLCAT, HLCAT);
        return hl_test_summary();
    }
    HL_TEST(t_connect_refused);
    HL_TEST(t_connect_refused_verbose);
    HL_TEST(t_usage_errors);
    HL_TEST(t_memory_too_small);
    HL_TEST(t_usage_staying_up);
    run_server_suite("python", py);
    run_server_suite("node", node);
    run_hl_suite();
    run_tls_suite();
    run_http_suite();
    return hl_test_summary();
}
