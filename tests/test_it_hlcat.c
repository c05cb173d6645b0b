/* Integration test of the hlcat example (examples/hlcat.c, built to build/hlcat): the binary
   runs as a child process with its stdin, stdout and stderr on pipes, against the real test
   servers (tests/servers/ws_python_server.py and ws_node_server.js) and against a local socket
   that refuses connections. It checks what a user sees: the lines on stdout, the one-line
   failure messages and -v lifecycle lines on stderr, and the exit status.
   No timing is asserted: every run has a generous time limit, past which the test fails.
   POSIX only, like the harness. */
#define _DEFAULT_SOURCE /* usleep and friends in the harness under -std=c99 (glibc) */
#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#define HLCAT "build/hlcat"
#define RUN_TIMEOUT_S 15.0
#define RUN_MAX_ARGS 24

/* One run of hlcat. */
typedef struct hlcat_run {
    int status;      /* exit status; 128+N after signal N; -1 when it timed out or did not start */
    char out[1 << 16];
    size_t out_len;
    char err[1 << 14];
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
    const char *http_url[] = {"http://127.0.0.1:1/", NULL};
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
    run_hlcat(&g_run, http_url, "", NULL);
    CHECK_STATUS(2);
    CHECK_HAS(g_run.err, "not ws:// or wss://");
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

/* --ping: pings go out and pongs show with -v. stdin stays open until the first pong. */
static void t_ping_pong(void)
{
    char url[96];
    const char *args[] = {"-v", "--ping", "0.02", url, NULL};
    it_url(url, sizeof url, "/echo");
    run_hlcat(&g_run, args, "", "hlcat: pong");
    CHECK_STATUS(0);
    CHECK_HAS(g_run.err, "hlcat: ping \"1\"\n");
    CHECK_HAS(g_run.err, "hlcat: pong, 1 bytes \"1\"\n");
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
    run_server_suite("python", py);
    run_server_suite("node", node);
    return hl_test_summary();
}
