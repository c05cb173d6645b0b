/* Integration tests of the WebSocket client against real servers on 127.0.0.1: Debian's
   python3-websockets (tests/servers/ws_python_server.py) and node's ws
   (tests/servers/ws_node_server.js). The same tests run against both, through the public API
   only (hl_ctx_init, hl_ws_connect, hl_poll or the foreign-loop calls, events). Every wait is a
   bounded poll loop: past its time limit the test fails and names the state it reached.
   A few tests need no server (connection refused, handshake and close timeouts, IPv6, idle
   poll); they use sockets opened here, and for IPv6 and the close timeout a minimal server
   written here (the test servers listen on 127.0.0.1 only). POSIX only, like the harness.
   Run from the repo root; about 4 s in all. */
#define _DEFAULT_SOURCE /* usleep and friends in the harness under -std=c99 (glibc) */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#define IT_TIMEOUT_S 10.0
#define IT_MAX_MSGS 64
#define IT_MIB (1024u * 1024u)

/* Payload rules shared with the servers (see the header of ws_python_server.py). */
static const char it_frag_unit[] = "frag-test \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 0123456789 ";
#define IT_FLOOD_TID_BASE 100000000000000ULL

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

static uint64_t it_fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* n bytes of valid UTF-8 made of the frag unit (multi-byte characters included); a character
   cut by the end is replaced by '.' bytes, as the servers do. */
static void it_make_text(unsigned char *out, size_t n)
{
    size_t unit = sizeof it_frag_unit - 1, i;
    for (i = 0; i < n; i++) out[i] = (unsigned char)it_frag_unit[i % unit];
    i = n;
    while (i > 0 && (out[i - 1] & 0xC0) == 0x80) i--;
    if (i > 0 && out[i - 1] >= 0xC0) {
        unsigned lead = out[i - 1];
        size_t need = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        if (n - (i - 1) < need) memset(out + i - 1, '.', n - (i - 1));
    }
}

static void it_make_frag_binary(unsigned char *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) out[i] = (unsigned char)(i % 251);
}

/* Find needle in the first n bytes of hay; returns its offset or -1. */
static long it_find(const unsigned char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;
    if (k > n) return -1;
    for (i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0) return (long)i;
    return -1;
}

/* An integer field "name":N of a small JSON text; -1 when absent. */
static long long it_json_int(const char *json, const char *name)
{
    char key[64];
    const char *p;
    snprintf(key, sizeof key, "\"%s\":", name);
    p = strstr(json, key);
    if (!p) return -1;
    return strtoll(p + strlen(key), NULL, 10);
}

/* A TCP socket on 127.0.0.1 (or ::1), bound to an ephemeral port; listening when backlog > 0. */
static int it_listener(int v6, int backlog, int *port)
{
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage ss;
    socklen_t len;
    if (fd < 0) return -1;
    memset(&ss, 0, sizeof ss);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)(void *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)(void *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    if (bind(fd, (struct sockaddr *)(void *)&ss, len) != 0 || (backlog > 0 && listen(fd, backlog) != 0)) {
        close(fd);
        return -1;
    }
    len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)(void *)&ss, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(v6 ? ((struct sockaddr_in6 *)(void *)&ss)->sin6_port
                     : ((struct sockaddr_in *)(void *)&ss)->sin_port);
    return fd;
}

/* ---- one connection under test ---------------------------------------------------------- */

typedef struct it_msg {
    unsigned char *data; /* a NUL-terminated copy */
    size_t len;
    int is_text;
} it_msg;

typedef struct it it;
struct it {
    hl_ctx *ctx;
    void *mem;
    hl_ws ws;
    double timeout_s;
    int foreign;               /* drive with hl_pollfds/hl_next_timeout/poll/hl_process */
    int shared;                /* ctx belongs to another it (it_attach) */
    void (*hook)(it *t);       /* called on every turn of a wait (test-side servers) */
    void (*on_msg)(it *t, const hl_event *ev); /* replaces storing messages */
    void *user;

    hl_state state;
    int open;
    char protocol[128];
    it_msg msgs[IT_MAX_MSGS];
    int nmsgs;                 /* stored */
    uint64_t msgs_total;       /* delivered */
    int npongs;
    unsigned char pong[126];
    size_t pong_len;
    int nerrors, err_result, err_http;
    char err_detail[160];
    char err_body[512];
    size_t err_body_len;
    int closed;
    int close_code, close_result;
    hl_close_origin close_origin;
    char close_reason[128];
    hl_ws_stats final_stats;   /* read during the CLOSE event */
    hl_error_info final_err;   /* hl_ws_last_error during the CLOSE event */
    int final_err_rc;
    int events_after_close;
    int msgs_before_close;     /* messages delivered before the CLOSE event */

    char trace[400];           /* the events seen, for failure messages */
    char last_tok[24];
    int repeat;

    double wait_start;
};

static void it_trace_flush(it *t)
{
    size_t used = strlen(t->trace);
    if (t->repeat > 1 && used + 12 < sizeof t->trace)
        snprintf(t->trace + used, sizeof t->trace - used, "*%d", t->repeat);
    t->repeat = 0;
}

static void it_trace(it *t, const char *tok)
{
    size_t used;
    if (t->repeat && strcmp(tok, t->last_tok) == 0) {
        t->repeat++;
        return;
    }
    it_trace_flush(t);
    used = strlen(t->trace);
    if (used + strlen(tok) + 8 < sizeof t->trace)
        snprintf(t->trace + used, sizeof t->trace - used, "%s%s", used ? " " : "", tok);
    snprintf(t->last_tok, sizeof t->last_tok, "%s", tok);
    t->repeat = 1;
}

static void it_on_event(hl_ctx *ctx, const hl_event *ev)
{
    it *t = (it *)ev->user;
    char tok[64];
    if (t->closed) t->events_after_close++;
    switch (ev->type) {
    case HL_EV_STATE:
        t->state = ev->state;
        it_trace(t, hl_state_str(ev->state));
        break;
    case HL_EV_OPEN:
        t->open = 1;
        snprintf(t->protocol, sizeof t->protocol, "%s", ev->protocol ? ev->protocol : "(null)");
        it_trace(t, "open");
        break;
    case HL_EV_MESSAGE:
        t->msgs_total++;
        it_trace(t, ev->is_text ? "txt" : "bin");
        if (t->on_msg) {
            t->on_msg(t, ev);
        } else if (t->nmsgs < IT_MAX_MSGS) {
            it_msg *m = &t->msgs[t->nmsgs++];
            m->data = (unsigned char *)malloc(ev->len + 1);
            if (m->data) {
                if (ev->len) memcpy(m->data, ev->data, ev->len);
                m->data[ev->len] = '\0';
            }
            m->len = ev->len;
            m->is_text = ev->is_text;
        }
        break;
    case HL_EV_PONG:
        t->npongs++;
        t->pong_len = ev->len;
        if (ev->len <= 125 && ev->len) memcpy(t->pong, ev->data, ev->len);
        it_trace(t, "pong");
        break;
    case HL_EV_ERROR:
        t->nerrors++;
        if (t->nerrors == 1) {
            t->err_result = ev->result;
            t->err_http = ev->http_status;
            snprintf(t->err_detail, sizeof t->err_detail, "%s", ev->detail ? ev->detail : "(null)");
            t->err_body_len = ev->len;
            if (ev->len && ev->data) {
                size_t k = ev->len < sizeof t->err_body - 1 ? ev->len : sizeof t->err_body - 1;
                memcpy(t->err_body, ev->data, k);
                t->err_body[k] = '\0';
            }
        }
        snprintf(tok, sizeof tok, "error(%s)", hl_result_name(ev->result));
        it_trace(t, tok);
        break;
    case HL_EV_CLOSE:
        t->closed++;
        t->close_code = ev->close_code;
        t->close_result = ev->result;
        t->close_origin = ev->close_origin;
        t->msgs_before_close = (int)t->msgs_total;
        snprintf(t->close_reason, sizeof t->close_reason, "%s", ev->reason ? ev->reason : "(null)");
        hl_ws_stats_get(ctx, ev->ws, &t->final_stats);
        t->final_err_rc = hl_ws_last_error(ctx, ev->ws, &t->final_err);
        snprintf(tok, sizeof tok, "close(%d,%s)", ev->close_code, hl_result_name(ev->result));
        it_trace(t, tok);
        break;
    default:
        it_trace(t, "unknown-event");
        break;
    }
}

/* One turn of a foreign loop: hl_pollfds + hl_next_timeout + poll() + hl_process. */
static int it_foreign_turn(it *t, int max_wait_ms)
{
    hl_pollfd fds[8];
    struct pollfd sfds[8];
    int n = hl_pollfds(t->ctx, fds, 8), i, r, tmo;
    if (n < 0) return n;
    if (n > 8) return HL_E_INVALID;
    tmo = hl_next_timeout(t->ctx);
    if (tmo < 0 || tmo > max_wait_ms) tmo = max_wait_ms;
    for (i = 0; i < n; i++) {
        sfds[i].fd = fds[i].fd;
        sfds[i].events = (short)(((fds[i].events & HL_POLLIN) ? POLLIN : 0) |
                                 ((fds[i].events & HL_POLLOUT) ? POLLOUT : 0));
        sfds[i].revents = 0;
    }
    do r = poll(sfds, (nfds_t)n, tmo); while (r < 0 && errno == EINTR);
    if (r < 0) return HL_E_IO;
    for (i = 0; i < n; i++) {
        short re = sfds[i].revents;
        fds[i].revents = ((re & (POLLIN | POLLHUP)) ? HL_POLLIN : 0u) | ((re & POLLOUT) ? HL_POLLOUT : 0u) |
                         ((re & (POLLERR | POLLNVAL)) ? HL_POLLERR : 0u);
    }
    return hl_process(t->ctx, fds, r > 0 ? n : 0);
}

static int it_pump(it *t, int ms)
{
    if (t->hook) t->hook(t);
    return t->foreign ? it_foreign_turn(t, ms) : hl_poll(t->ctx, ms);
}

static void it_fail_state(it *t, const char *file, int line, const char *what)
{
    char m[440]; /* the harness keeps 512 bytes of reason */
    it_trace_flush(t);
    snprintf(m, sizeof m, "%.110s [%s] state=%s events: %.200s%s%.90s", what, g_srv, hl_state_str(t->state),
             t->trace, t->nerrors ? " detail: " : "", t->nerrors ? t->err_detail : "");
    hl_test_fail_at(file, line, m);
    t->repeat = 0; /* the trace is flushed: start a new token next time */
    t->last_tok[0] = '\0';
}

/* A step of IT_WAIT: returns 1 to go on waiting, 0 when done or timed out (then it failed). */
static int it_wait_step(it *t, int done, const char *what, const char *file, int line)
{
    double now;
    int rc;
    if (done) {
        t->wait_start = 0;
        return 0;
    }
    now = it_now();
    if (t->wait_start == 0) {
        t->wait_start = now;
    } else if (now - t->wait_start > t->timeout_s) {
        char m[300];
        snprintf(m, sizeof m, "timed out after %.0f s waiting for %s", t->timeout_s, what);
        it_fail_state(t, file, line, m);
        t->wait_start = 0;
        return 0;
    }
    rc = it_pump(t, 20);
    if (rc < 0) {
        char m[300];
        snprintf(m, sizeof m, "poll failed with %s while waiting for %s", hl_result_name(rc), what);
        it_fail_state(t, file, line, m);
        t->wait_start = 0;
        return 0;
    }
    return 1;
}

#define IT_WAIT(t, cond)                                                                          \
    do {                                                                                          \
        while (it_wait_step((t), !!(cond), #cond, __FILE__, __LINE__)) {                          \
        }                                                                                         \
    } while (0)
/* Wait; on timeout the test has failed: jump to its cleanup. */
#define IT_WAIT_OR_OUT(t, cond)                                                                   \
    do {                                                                                          \
        IT_WAIT(t, cond);                                                                         \
        if (!(cond)) goto out;                                                                    \
    } while (0)
/* Check with the connection's state and events in the message. */
#define IT_CHECK(t, cond)                                                                         \
    do {                                                                                          \
        if (!(cond)) it_fail_state((t), __FILE__, __LINE__, #cond);                               \
    } while (0)

/* Build a context for cfg (may be NULL) and start connecting to url. 0 or -1 (failed). */
static int it_start_url(it *t, const hl_config *cfg, const char *url, const char *subprotocols,
                        hl_headers_fn headers, void *headers_user)
{
    hl_ws_desc desc;
    size_t size;
    int rc;
    if (t->timeout_s == 0) t->timeout_s = IT_TIMEOUT_S;
    size = hl_ctx_size(cfg);
    t->mem = malloc(size);
    if (!t->mem) {
        hl_test_fail_at(__FILE__, __LINE__, "malloc of the context block failed");
        return -1;
    }
    rc = hl_ctx_init(&t->ctx, t->mem, size, cfg);
    if (rc != HL_OK) {
        char m[120];
        snprintf(m, sizeof m, "hl_ctx_init: %s", hl_result_name(rc));
        hl_test_fail_at(__FILE__, __LINE__, m);
        t->ctx = NULL;
        return -1;
    }
    memset(&desc, 0, sizeof desc);
    desc.url = url;
    desc.subprotocols = subprotocols;
    desc.headers = headers;
    desc.headers_user = headers_user;
    desc.on_event = it_on_event;
    desc.user = t;
    rc = hl_ws_connect(t->ctx, &desc, &t->ws);
    if (rc != HL_OK) {
        char m[160];
        snprintf(m, sizeof m, "hl_ws_connect(%.100s): %s", url, hl_result_name(rc));
        hl_test_fail_at(__FILE__, __LINE__, m);
        return -1;
    }
    return 0;
}

static int it_start(it *t, const hl_config *cfg, const char *path, const char *subprotocols,
                    hl_headers_fn headers, void *headers_user)
{
    char url[512];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", g_port, path);
    return it_start_url(t, cfg, url, subprotocols, headers, headers_user);
}

/* Start another connection to path in owner's context (several connections, one context). */
static int it_attach(it *t, it *owner, const char *path)
{
    hl_ws_desc desc;
    char url[512];
    int rc;
    t->timeout_s = owner->timeout_s;
    t->ctx = owner->ctx;
    t->shared = 1;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", g_port, path);
    memset(&desc, 0, sizeof desc);
    desc.url = url;
    desc.on_event = it_on_event;
    desc.user = t;
    rc = hl_ws_connect(t->ctx, &desc, &t->ws);
    if (rc != HL_OK) {
        char m[160];
        snprintf(m, sizeof m, "hl_ws_connect(%.100s) on a shared context: %s", url, hl_result_name(rc));
        hl_test_fail_at(__FILE__, __LINE__, m);
        return -1;
    }
    return 0;
}

/* Connect to path on the current server and wait for OPEN (or the end). 1 when open. */
static int it_open(it *t, const hl_config *cfg, const char *path)
{
    if (it_start(t, cfg, path, NULL, NULL, NULL) != 0) return 0;
    IT_WAIT(t, t->open || t->closed);
    if (!t->open) it_fail_state(t, __FILE__, __LINE__, "the connection did not open");
    return t->open && !t->closed;
}

/* Free everything; check the invariants every connection keeps. */
static void it_end(it *t)
{
    int i;
    if (t->closed > 1) it_fail_state(t, __FILE__, __LINE__, "more than one CLOSE event");
    if (t->events_after_close) it_fail_state(t, __FILE__, __LINE__, "events after the CLOSE event");
    if (t->ctx && !t->shared) hl_ctx_shutdown(t->ctx);
    for (i = 0; i < t->nmsgs; i++) free(t->msgs[i].data);
    free(t->mem);
    memset(t, 0, sizeof *t);
}

/* Whether a message of len bytes can ever fit the send queue: the library answers
   HL_E_QUEUE_FULL both for "not now" and "never" (framing: at most 14 bytes; the queue keeps a
   reserve of two 131-byte control frames). */
static int it_can_fit(it *t, size_t len)
{
    return len + 14 + 2 * 131 <= hl_ctx_config(t->ctx)->send_queue_size;
}

/* Send a whole message, polling while the send queue is full. */
static int it_send(it *t, hl_msg_type type, const void *data, size_t len)
{
    double t0 = it_now();
    for (;;) {
        int rc = hl_ws_send(t->ctx, t->ws, type, data, len);
        if (rc != HL_E_QUEUE_FULL || !it_can_fit(t, len) || it_now() - t0 > t->timeout_s) return rc;
        if (it_pump(t, 10) < 0) return rc;
    }
}

static int it_send_fragment(it *t, hl_msg_type type, const void *data, size_t len, int final)
{
    double t0 = it_now();
    for (;;) {
        int rc = hl_ws_send_fragment(t->ctx, t->ws, type, data, len, final);
        if (rc != HL_E_QUEUE_FULL || !it_can_fit(t, len) || it_now() - t0 > t->timeout_s) return rc;
        if (it_pump(t, 10) < 0) return rc;
    }
}

static int it_msg_is(const it_msg *m, int is_text, const void *data, size_t len)
{
    return m->data && m->is_text == is_text && m->len == len && (len == 0 || memcmp(m->data, data, len) == 0);
}

/* ---- echo --------------------------------------------------------------------------------- */

static void t_echo_boundaries(void)
{
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 65537};
    enum { NS = sizeof sizes / sizeof sizes[0], NM = 2 * NS + 1 };
    unsigned char *exp[NM];
    size_t exp_len[NM];
    int exp_text[NM];
    it t;
    int i, n = 0;
    memset(&t, 0, sizeof t);
    memset(exp, 0, sizeof exp);
    for (i = 0; i < (int)NS; i++) { /* text with multi-byte characters */
        exp[n] = (unsigned char *)malloc(sizes[i] + 1);
        if (!exp[n]) goto out;
        it_make_text(exp[n], sizes[i]);
        exp_len[n] = sizes[i];
        exp_text[n++] = 1;
    }
    for (i = 0; i < (int)NS; i++) { /* binary: every byte value, shifted per message */
        size_t k;
        exp[n] = (unsigned char *)malloc(sizes[i] + 1);
        if (!exp[n]) goto out;
        for (k = 0; k < sizes[i]; k++) exp[n][k] = (unsigned char)(k + (size_t)i);
        exp_len[n] = sizes[i];
        exp_text[n++] = 0;
    }
    exp[n] = (unsigned char *)malloc(256); /* exactly 0..255 */
    if (!exp[n]) goto out;
    for (i = 0; i < 256; i++) exp[n][i] = (unsigned char)i;
    exp_len[n] = 256;
    exp_text[n++] = 0;

    if (!it_open(&t, NULL, "/echo")) goto out;
    for (i = 0; i < n; i++) {
        int rc = it_send(&t, exp_text[i] ? HL_MSG_TEXT : HL_MSG_BINARY, exp[i], exp_len[i]);
        CHECK_EQ(rc, HL_OK);
        if (rc != HL_OK) goto out;
    }
    IT_WAIT_OR_OUT(&t, t.nmsgs >= n || t.closed);
    CHECK_EQ(t.nmsgs, n);
    for (i = 0; i < n && i < t.nmsgs; i++) {
        if (!it_msg_is(&t.msgs[i], exp_text[i], exp[i], exp_len[i])) {
            char m[200];
            snprintf(m, sizeof m, "echo %d (%s, %zu bytes) came back as %s, %zu bytes, different", i,
                     exp_text[i] ? "text" : "binary", exp_len[i], t.msgs[i].is_text ? "text" : "binary",
                     t.msgs[i].len);
            it_fail_state(&t, __FILE__, __LINE__, m);
            break;
        }
    }
    IT_CHECK(&t, !t.closed && t.nerrors == 0);
out:
    for (i = 0; i < n + 1 && i < NM; i++) free(exp[i]);
    it_end(&t);
}

static void t_echo_16mib(void)
{
    const size_t size = 16 * IT_MIB;
    hl_config cfg;
    unsigned char *data = (unsigned char *)malloc(size);
    uint64_t x = 0x9E3779B97F4A7C15ULL, sum;
    hl_ws_stats st;
    size_t i;
    it t;
    memset(&t, 0, sizeof t);
    memset(&st, 0, sizeof st);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.max_message_size = (uint32_t)size;
    cfg.send_queue_size = (uint32_t)(size + 64 * 1024); /* one framed message and the reserve */
    if (!data) {
        CHECK(data != NULL);
        return;
    }
    for (i = 0; i < size; i++) { /* xorshift64: every byte value, no pattern */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (unsigned char)(x >> 24);
    }
    sum = it_fnv1a(data, size);
    t.timeout_s = 20;
    if (!it_open(&t, &cfg, "/echo")) goto out;
    CHECK_EQ(it_send(&t, HL_MSG_BINARY, data, size), HL_OK);
    IT_WAIT_OR_OUT(&t, t.nmsgs >= 1 || t.closed);
    IT_CHECK(&t, t.msgs[0].len == size && !t.msgs[0].is_text);
    if (t.msgs[0].len == size) IT_CHECK(&t, it_fnv1a(t.msgs[0].data, size) == sum);
    CHECK_EQ(hl_ws_stats_get(t.ctx, t.ws, &st), HL_OK);
    CHECK_EQ(st.bytes_in, size);
    CHECK_EQ(st.bytes_out, size);
    CHECK(st.send_queue_peak <= cfg.send_queue_size);
    IT_CHECK(&t, !t.closed && t.nerrors == 0);
out:
    free(data);
    it_end(&t);
}

/* ---- fragments ---------------------------------------------------------------------------- */

typedef struct frag_case {
    int parts;
    size_t size;
    int text;
} frag_case;

static void t_frag_from_server(void)
{
    static const frag_case cases[] = {
        {5, 1000, 1},   {1, 0, 1},        {3, 0, 0},       {7, 100, 0},   {62, 62, 1}, /* 1-byte fragments */
        {10, 310, 1},   {2, 200000, 0},   {1000, 100000, 0}, {3, 70000, 1}, {4, 3, 1}, /* empty fragments */
    };
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const frag_case *fc = &cases[c];
        unsigned char *exp = (unsigned char *)malloc(fc->size + 1);
        char path[128];
        it t;
        memset(&t, 0, sizeof t);
        if (!exp) {
            CHECK(exp != NULL);
            return;
        }
        if (fc->text) it_make_text(exp, fc->size);
        else it_make_frag_binary(exp, fc->size);
        snprintf(path, sizeof path, "/frag?parts=%d&size=%zu&type=%s", fc->parts, fc->size,
                 fc->text ? "text" : "binary");
        if (it_open(&t, NULL, path)) {
            IT_WAIT(&t, t.nmsgs >= 1 || t.closed);
            if (t.nmsgs >= 1 && !it_msg_is(&t.msgs[0], fc->text, exp, fc->size)) {
                char m[200];
                snprintf(m, sizeof m, "%s: got %s of %zu bytes, not the expected %zu", path,
                         t.msgs[0].is_text ? "text" : "binary", t.msgs[0].len, fc->size);
                it_fail_state(&t, __FILE__, __LINE__, m);
            }
            /* still open and still usable after the fragmented message */
            if (it_send(&t, HL_MSG_TEXT, "after", 5) == HL_OK) {
                IT_WAIT(&t, t.nmsgs >= 2 || t.closed);
                IT_CHECK(&t, t.nmsgs == 2 && it_msg_is(&t.msgs[1], 1, "after", 5));
            } else {
                it_fail_state(&t, __FILE__, __LINE__, "send after the fragmented message failed");
            }
            IT_CHECK(&t, t.msgs_total == 2 && t.nerrors == 0 && !t.closed);
        }
        free(exp);
        it_end(&t);
    }
}

static void t_frag_ping(void)
{
    unsigned char exp[1000];
    hl_ws_stats st;
    it t;
    memset(&t, 0, sizeof t);
    memset(&st, 0, sizeof st);
    it_make_text(exp, sizeof exp);
    if (!it_open(&t, NULL, "/frag_ping?parts=4&size=1000&type=text")) goto out;
    IT_WAIT_OR_OUT(&t, t.nmsgs >= 1 || t.closed);
    IT_CHECK(&t, it_msg_is(&t.msgs[0], 1, exp, sizeof exp));
    CHECK_EQ(hl_ws_stats_get(t.ctx, t.ws, &st), HL_OK);
    CHECK_EQ(st.pings_in, 1);
    CHECK_EQ(st.pongs_coalesced, 0);
    CHECK_EQ(st.msgs_in, 1);
    CHECK_EQ(it_send(&t, HL_MSG_BINARY, "x", 1), HL_OK);
    IT_WAIT_OR_OUT(&t, t.nmsgs >= 2 || t.closed);
    IT_CHECK(&t, it_msg_is(&t.msgs[1], 0, "x", 1));
    IT_CHECK(&t, !t.closed && t.nerrors == 0);
out:
    it_end(&t);
}

static void t_send_fragments(void)
{
    /* "héllo wörld € 😀 end": every multi-byte character gets split by 1-byte fragments */
    static const char text[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80 end";
    const size_t tn = sizeof text - 1;
    unsigned char *bin = (unsigned char *)malloc(71000);
    size_t i;
    int rc;
    it t;
    memset(&t, 0, sizeof t);
    if (!bin) {
        CHECK(bin != NULL);
        return;
    }
    for (i = 0; i < 71000; i++) bin[i] = (unsigned char)(i * 7 + 1);
    if (!it_open(&t, NULL, "/echo")) goto out;

    /* 1: text in 1-byte fragments, a ping in the middle, a whole send refused meanwhile */
    for (i = 0; i < tn; i++) {
        rc = it_send_fragment(&t, HL_MSG_TEXT, text + i, 1, i + 1 == tn);
        CHECK_EQ(rc, HL_OK);
        if (rc != HL_OK) goto out;
        if (i == 2) {
            CHECK_EQ(hl_ws_ping(t.ctx, t.ws, "mid", 3), HL_OK);
            CHECK_EQ(hl_ws_send(t.ctx, t.ws, HL_MSG_TEXT, "no", 2), HL_E_STATE);
            CHECK_EQ(hl_ws_send_fragment(t.ctx, t.ws, HL_MSG_BINARY, "no", 2, 1), HL_E_STATE);
        }
    }
    /* 2: binary: empty first fragment, 1000, 70000, empty final */
    CHECK_EQ(it_send_fragment(&t, HL_MSG_BINARY, NULL, 0, 0), HL_OK);
    CHECK_EQ(it_send_fragment(&t, HL_MSG_BINARY, bin, 1000, 0), HL_OK);
    CHECK_EQ(it_send_fragment(&t, HL_MSG_BINARY, bin + 1000, 70000, 0), HL_OK);
    CHECK_EQ(it_send_fragment(&t, HL_MSG_BINARY, NULL, 0, 1), HL_OK);
    /* 3: a single final fragment is a whole message */
    CHECK_EQ(it_send_fragment(&t, HL_MSG_TEXT, "one", 3, 1), HL_OK);
    /* 4: UTF-8 checked across fragments: ending inside a character is refused, then completed */
    CHECK_EQ(it_send_fragment(&t, HL_MSG_TEXT, "h\xc3", 2, 0), HL_OK);
    CHECK_EQ(it_send_fragment(&t, HL_MSG_TEXT, NULL, 0, 1), HL_E_BAD_UTF8);
    CHECK_EQ(it_send_fragment(&t, HL_MSG_TEXT, "\xff", 1, 1), HL_E_BAD_UTF8);
    CHECK_EQ(it_send_fragment(&t, HL_MSG_TEXT, "\xa9", 1, 1), HL_OK);

    IT_WAIT_OR_OUT(&t, (t.nmsgs >= 4 && t.npongs >= 1) || t.closed);
    CHECK_EQ(t.nmsgs, 4);
    IT_CHECK(&t, it_msg_is(&t.msgs[0], 1, text, tn));
    IT_CHECK(&t, it_msg_is(&t.msgs[1], 0, bin, 71000));
    IT_CHECK(&t, it_msg_is(&t.msgs[2], 1, "one", 3));
    IT_CHECK(&t, it_msg_is(&t.msgs[3], 1, "h\xc3\xa9", 3));
    IT_CHECK(&t, t.npongs == 1 && t.pong_len == 3 && memcmp(t.pong, "mid", 3) == 0);
    IT_CHECK(&t, !t.closed && t.nerrors == 0);
out:
    free(bin);
    it_end(&t);
}

/* ---- control frames ----------------------------------------------------------------------- */

static void pingflood_case(int n, int size, uint32_t send_queue_size)
{
    hl_config cfg;
    char path[96];
    hl_ws_stats st;
    long long pings, pongs;
    const char *json;
    it t;
    memset(&t, 0, sizeof t);
    memset(&st, 0, sizeof st);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.send_queue_size = send_queue_size;
    snprintf(path, sizeof path, "/pingflood?n=%d&size=%d", n, size);
    if (!it_open(&t, &cfg, path)) goto out;
    IT_WAIT_OR_OUT(&t, t.nmsgs >= 1 || t.closed);
    json = (const char *)t.msgs[0].data;
    IT_CHECK(&t, t.msgs[0].is_text && json && strstr(json, "\"last_answered\":true") != NULL);
    if (!json) goto out;
    pings = it_json_int(json, "pings");
    pongs = it_json_int(json, "pongs");
    CHECK_EQ(pings, n);
    CHECK_EQ(hl_ws_stats_get(t.ctx, t.ws, &st), HL_OK);
    /* every ping arrived before the report; each was answered or coalesced into a later pong */
    CHECK_EQ(st.pings_in, n);
    CHECK(st.pongs_coalesced < st.pings_in);
    CHECK_EQ(pongs, (long long)(st.pings_in - st.pongs_coalesced));
    CHECK_EQ(st.msgs_in, 1);
    /* the connection survived */
    CHECK_EQ(it_send(&t, HL_MSG_TEXT, "still here", 10), HL_OK);
    IT_WAIT_OR_OUT(&t, t.nmsgs >= 2 || t.closed);
    IT_CHECK(&t, it_msg_is(&t.msgs[1], 1, "still here", 10));
    IT_CHECK(&t, !t.closed && t.nerrors == 0);
    if (hl_test_failed_now)
        printf("  pingflood n=%d size=%d queue=%u [%s]: report %s, pings_in %llu, coalesced %llu\n", n, size,
               (unsigned)send_queue_size, g_srv, json, (unsigned long long)st.pings_in,
               (unsigned long long)st.pongs_coalesced);
out:
    it_end(&t);
}

static void t_pingflood(void)
{
    pingflood_case(1000, 16, 0);
    pingflood_case(5000, 125, 0);
    /* a send queue of a few pongs: pongs pile up within one read pass and get coalesced */
    pingflood_case(5000, 125, 600);
}

static void t_ping_pong(void)
{
    unsigned char big[126];
    hl_ws_stats st;
    it t;
    memset(&t, 0, sizeof t);
    memset(&st, 0, sizeof st);
    memset(big, 'p', sizeof big);
    if (!it_open(&t, NULL, "/echo")) goto out;
    CHECK_EQ(hl_ws_ping(t.ctx, t.ws, "hello-ping", 10), HL_OK);
    IT_WAIT_OR_OUT(&t, t.npongs >= 1 || t.closed);
    IT_CHECK(&t, t.pong_len == 10 && memcmp(t.pong, "hello-ping", 10) == 0);
    CHECK_EQ(hl_ws_ping(t.ctx, t.ws, NULL, 0), HL_OK);
    IT_WAIT_OR_OUT(&t, t.npongs >= 2 || t.closed);
    CHECK_EQ(t.pong_len, 0);
    CHECK_EQ(hl_ws_ping(t.ctx, t.ws, big, 125), HL_OK);
    IT_WAIT_OR_OUT(&t, t.npongs >= 3 || t.closed);
    IT_CHECK(&t, t.pong_len == 125 && memcmp(t.pong, big, 125) == 0);
    CHECK_EQ(hl_ws_ping(t.ctx, t.ws, big, 126), HL_E_INVALID);
    CHECK_EQ(hl_ws_stats_get(t.ctx, t.ws, &st), HL_OK);
    CHECK_EQ(st.pings_out, 3);
    CHECK_EQ(st.pongs_in, 3);
    IT_CHECK(&t, t.nmsgs == 0 && !t.closed && t.nerrors == 0);
out:
    it_end(&t);
}

/* ---- closing ------------------------------------------------------------------------------ */

static void t_server_close(void)
{
    it t;
    memset(&t, 0, sizeof t);
    if (!it_open(&t, NULL, "/close?code=4000&reason=bye")) goto out;
    IT_WAIT_OR_OUT(&t, t.closed);
    IT_CHECK(&t, t.nmsgs == 1 && it_msg_is(&t.msgs[0], 1, "closing", 7));
    IT_CHECK(&t, t.msgs_before_close == 1);
    CHECK_EQ(t.close_code, 4000);
    CHECK(strcmp(t.close_reason, "bye") == 0);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_PEER);
    CHECK_EQ(t.close_result, HL_OK);
    CHECK_EQ(t.final_err.close_code, 4000);
    CHECK_EQ(t.final_err.result, HL_OK);
    IT_CHECK(&t, t.nerrors == 0 && t.state == HL_STATE_CLOSED);
    IT_CHECK(&t, strstr(t.trace, "CLOSING") != NULL);
out:
    it_end(&t);
}

static void client_close_case(int code, const char *reason, int expect_code)
{
    it t;
    memset(&t, 0, sizeof t);
    if (!it_open(&t, NULL, "/echo")) goto out;
    CHECK_EQ(it_send(&t, HL_MSG_TEXT, "before", 6), HL_OK);
    IT_WAIT_OR_OUT(&t, t.nmsgs >= 1 || t.closed);
    CHECK_EQ(hl_ws_close(t.ctx, t.ws, code, reason), HL_OK);
    CHECK_EQ(hl_ws_send(t.ctx, t.ws, HL_MSG_TEXT, "late", 4), HL_E_CLOSED);
    CHECK_EQ(hl_ws_close(t.ctx, t.ws, code, reason), HL_E_CLOSED);
    IT_WAIT_OR_OUT(&t, t.closed);
    CHECK_EQ(t.close_code, expect_code);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_LOCAL);
    CHECK_EQ(t.close_result, HL_OK);
    IT_CHECK(&t, t.nerrors == 0 && t.nmsgs == 1 && t.state == HL_STATE_CLOSED);
    CHECK_EQ(hl_ws_state(t.ctx, t.ws), HL_STATE_CLOSED); /* the handle is dead */
    CHECK_EQ(hl_ws_send(t.ctx, t.ws, HL_MSG_TEXT, "dead", 4), HL_E_BAD_HANDLE);
out:
    it_end(&t);
}

static void t_client_close(void)
{
    client_close_case(4001, "client bye", 4001);
    client_close_case(1000, NULL, 1000);
    client_close_case(0, NULL, 1005); /* no code sent: the echo has none either */
}

static void reset_case(int after)
{
    char path[64];
    it t;
    memset(&t, 0, sizeof t);
    snprintf(path, sizeof path, "/reset?after=%d&delay=100", after);
    if (!it_open(&t, NULL, path)) goto out;
    IT_WAIT_OR_OUT(&t, t.closed);
    IT_CHECK(&t, t.nerrors == 1);
    IT_CHECK(&t, t.err_result == HL_E_RESET || t.err_result == HL_E_EOF);
    IT_CHECK(&t, t.close_result == t.err_result);
    CHECK_EQ(t.close_code, 1006);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_ERROR);
    CHECK_EQ(t.msgs_total, 0);
    CHECK_EQ(t.final_err_rc, HL_OK);
    CHECK_EQ(t.final_err.result, t.err_result);
    if (t.err_result == HL_E_RESET) CHECK_EQ(t.final_err.sys_errno, ECONNRESET);
out:
    it_end(&t);
}

static void t_reset(void)
{
    reset_case(0);
    reset_case(10); /* header and 8 of 100 payload bytes */
    reset_case(60);
}

/* ---- handshake ---------------------------------------------------------------------------- */

static void reject_case(const char *path, int status, const char *body)
{
    it t;
    memset(&t, 0, sizeof t);
    if (it_start(&t, NULL, path, NULL, NULL, NULL) != 0) goto out;
    IT_WAIT_OR_OUT(&t, t.closed);
    IT_CHECK(&t, !t.open && t.nerrors == 1);
    CHECK_EQ(t.err_result, HL_E_HANDSHAKE);
    CHECK_EQ(t.err_http, status);
    if (t.err_body_len != strlen(body) || strcmp(t.err_body, body) != 0) {
        char m[300];
        snprintf(m, sizeof m, "%.60s: body '%.100s' (%zu bytes), expected '%.60s'", path, t.err_body,
                 t.err_body_len, body);
        it_fail_state(&t, __FILE__, __LINE__, m);
    }
    CHECK_EQ(t.close_code, 1006);
    CHECK_EQ(t.close_result, HL_E_HANDSHAKE);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_ERROR);
    /* the same facts from hl_ws_last_error, asked during the CLOSE event */
    CHECK_EQ(t.final_err_rc, HL_OK);
    CHECK_EQ(t.final_err.result, HL_E_HANDSHAKE);
    CHECK_EQ(t.final_err.http_status, status);
    CHECK_EQ(t.final_err.close_code, 1006);
    {
        hl_error_info info;
        /* the handle is dead after CLOSE: last_error answers BAD_HANDLE */
        CHECK_EQ(hl_ws_last_error(t.ctx, t.ws, &info), HL_E_BAD_HANDLE);
    }
out:
    it_end(&t);
}

static void t_reject(void)
{
    reject_case("/reject?status=403", 403, "rejected: 403");
    reject_case("/reject?status=503", 503, "rejected: 503");
    reject_case("/no_such_mode", 404, "unknown mode");
}

typedef struct hdr_user {
    int calls;
} hdr_user;

static int it_headers(void *user, hl_header *out, int max)
{
    hdr_user *u = (hdr_user *)user;
    u->calls++;
    if (max < 2) return HL_E_INVALID;
    out[0].name = "X-Test-Header";
    out[0].value = "hello-123";
    out[1].name = "X-Other";
    out[1].value = "a b, c";
    return 2;
}

static void headers_case(const char *offer, const char *chosen)
{
    hdr_user u;
    const char *json;
    char want[160];
    it t;
    memset(&t, 0, sizeof t);
    u.calls = 0;
    if (it_start(&t, NULL, "/headers", offer, it_headers, &u) != 0) goto out;
    IT_WAIT_OR_OUT(&t, t.nmsgs >= 1 || t.closed);
    IT_CHECK(&t, t.open);
    CHECK_EQ(u.calls, 1);
    if (strcmp(t.protocol, chosen) != 0) {
        char m[300];
        snprintf(m, sizeof m, "offered '%s': OPEN reports '%s', expected '%s'", offer ? offer : "(none)",
                 t.protocol, chosen);
        it_fail_state(&t, __FILE__, __LINE__, m);
    }
    json = (const char *)t.msgs[0].data;
    IT_CHECK(&t, json && t.msgs[0].is_text);
    if (!json) goto out;
    IT_CHECK(&t, strstr(json, "\"x-test-header\":\"hello-123\"") != NULL);
    IT_CHECK(&t, strstr(json, "\"x-other\":\"a b, c\"") != NULL);
    IT_CHECK(&t, strstr(json, "\"path\":\"/headers\"") != NULL);
    IT_CHECK(&t, strstr(json, "\"sec-websocket-version\":\"13\"") != NULL);
    if (offer) {
        snprintf(want, sizeof want, "\"sec-websocket-protocol\":\"%s\"", offer);
        IT_CHECK(&t, strstr(json, want) != NULL);
    } else {
        IT_CHECK(&t, strstr(json, "sec-websocket-protocol") == NULL);
    }
    if (hl_test_failed_now) printf("  headers [%s]: %s\n", g_srv, json);
out:
    it_end(&t);
}

static void t_headers_subprotocols(void)
{
    headers_case("superchat, chat", "chat"); /* both servers prefer "chat" */
    headers_case("superchat", "superchat");
    headers_case(NULL, "");
}

/* ---- limits ------------------------------------------------------------------------------- */

static void too_big_case(const char *path, int send_len)
{
    hl_config cfg;
    it t;
    memset(&t, 0, sizeof t);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.max_message_size = 1000;
    if (!it_open(&t, &cfg, path)) goto out;
    if (send_len) {
        unsigned char buf[2000];
        memset(buf, 'b', sizeof buf);
        CHECK_EQ(it_send(&t, HL_MSG_BINARY, buf, (size_t)send_len), HL_OK);
    }
    IT_WAIT_OR_OUT(&t, t.closed);
    IT_CHECK(&t, t.nerrors == 1 && t.err_result == HL_E_MSG_TOO_BIG);
    CHECK_EQ(t.close_code, 1009);
    CHECK_EQ(t.close_result, HL_E_MSG_TOO_BIG);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_ERROR);
    CHECK_EQ(t.msgs_total, 0);
out:
    it_end(&t);
}

static void t_max_message_size(void)
{
    hl_config cfg;
    unsigned char exp[1000];
    it t;
    too_big_case("/frag?parts=1&size=5000&type=binary", 0);
    too_big_case("/frag?parts=10&size=5000&type=text", 0); /* each fragment fits, the sum does not */
    too_big_case("/frag?parts=1&size=1001&type=binary", 0);
    too_big_case("/echo", 2000);
    /* exactly the limit is fine */
    memset(&t, 0, sizeof t);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.max_message_size = 1000;
    it_make_frag_binary(exp, sizeof exp);
    if (!it_open(&t, &cfg, "/frag?parts=3&size=1000&type=binary")) goto out;
    IT_WAIT_OR_OUT(&t, t.nmsgs >= 1 || t.closed);
    IT_CHECK(&t, it_msg_is(&t.msgs[0], 0, exp, sizeof exp) && !t.closed);
out:
    it_end(&t);
}

/* ---- the poll loop ------------------------------------------------------------------------ */

static void t_foreign_loop(void)
{
    unsigned char *big = (unsigned char *)malloc(200000);
    size_t i;
    int rc;
    it t;
    memset(&t, 0, sizeof t);
    if (!big) {
        CHECK(big != NULL);
        return;
    }
    for (i = 0; i < 200000; i++) big[i] = (unsigned char)(i ^ (i >> 8));
    t.foreign = 1;
    if (it_start(&t, NULL, "/echo", NULL, NULL, NULL) != 0) goto out;
    CHECK_EQ(hl_next_timeout(t.ctx), 0); /* the connect is due now */
    IT_WAIT_OR_OUT(&t, t.open || t.closed);
    IT_CHECK(&t, t.open);
    CHECK_EQ(hl_next_timeout(t.ctx), -1); /* open and idle: no deadline */
    rc = it_send(&t, HL_MSG_TEXT, "foreign", 7);
    CHECK_EQ(rc, HL_OK);
    rc = it_send(&t, HL_MSG_BINARY, big, 200000); /* more than the socket takes at once */
    CHECK_EQ(rc, HL_OK);
    CHECK_EQ(hl_ws_ping(t.ctx, t.ws, "fp", 2), HL_OK);
    IT_WAIT_OR_OUT(&t, (t.nmsgs >= 2 && t.npongs >= 1) || t.closed);
    IT_CHECK(&t, it_msg_is(&t.msgs[0], 1, "foreign", 7));
    IT_CHECK(&t, it_msg_is(&t.msgs[1], 0, big, 200000));
    IT_CHECK(&t, t.pong_len == 2 && memcmp(t.pong, "fp", 2) == 0);
    CHECK_EQ(hl_ws_close(t.ctx, t.ws, 1000, "done"), HL_OK);
    IT_WAIT_OR_OUT(&t, t.closed);
    CHECK_EQ(t.close_code, 1000);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_LOCAL);
    CHECK_EQ(t.close_result, HL_OK);
    CHECK_EQ(hl_pollfds(t.ctx, NULL, 0), 0); /* no socket left */
out:
    free(big);
    it_end(&t);
}

/* hl_poll(ctx, 50) with an open, idle connection comes back (generous bound only). */
static void t_idle_poll_open(void)
{
    int k;
    it t;
    memset(&t, 0, sizeof t);
    if (!it_open(&t, NULL, "/echo")) goto out;
    for (k = 0; k < 3; k++) {
        double t0 = it_now();
        int rc = hl_poll(t.ctx, 50);
        double dt = it_now() - t0;
        CHECK(rc >= 0);
        CHECK(dt < 2.0);
    }
    IT_CHECK(&t, !t.closed && t.state == HL_STATE_OPEN);
out:
    it_end(&t);
}

/* ---- a flood, in order -------------------------------------------------------------------- */

typedef struct flood_check {
    long tid_off;
    uint64_t n300, bad, done;
} flood_check;

static void flood_on_msg(it *t, const hl_event *ev)
{
    flood_check *f = (flood_check *)t->user;
    if (ev->len == 300 && ev->is_text) {
        uint64_t tid = 0;
        int k;
        if (f->tid_off < 0) {
            long o = it_find(ev->data, ev->len, "\"tid\":");
            f->tid_off = o < 0 ? 0 : o + 6;
        }
        for (k = 0; k < 15 && (size_t)f->tid_off + 15 <= ev->len; k++)
            tid = tid * 10 + (uint64_t)(ev->data[f->tid_off + k] - '0');
        if (tid != IT_FLOOD_TID_BASE + f->n300) f->bad++;
        f->n300++;
    } else if (ev->len < 64 && it_find(ev->data, ev->len, "{\"done\":") == 0) {
        f->done = (uint64_t)strtoull((const char *)ev->data + 8, NULL, 10);
    } else {
        f->bad++;
    }
}

static void t_flood_order(void)
{
    flood_check f;
    it t;
    memset(&t, 0, sizeof t);
    f.tid_off = -1;
    f.n300 = f.bad = f.done = 0;
    t.on_msg = flood_on_msg;
    t.user = &f;
    if (!it_open(&t, NULL, "/flood?n=20000&size=300")) goto out;
    IT_WAIT_OR_OUT(&t, f.done || t.closed);
    CHECK_EQ(f.done, 20000);
    CHECK_EQ(f.n300, 20000);
    CHECK_EQ(f.bad, 0);
    IT_CHECK(&t, !t.closed && t.nerrors == 0);
out:
    it_end(&t);
}

/* hl_ws_abort from inside a message callback: nothing more is delivered. */
static void abort_on_msg(it *t, const hl_event *ev)
{
    if (t->msgs_total == 10) CHECK_EQ(hl_ws_abort(t->ctx, ev->ws), HL_OK);
}

static void t_abort_in_callback(void)
{
    it t;
    memset(&t, 0, sizeof t);
    t.on_msg = abort_on_msg;
    if (!it_open(&t, NULL, "/flood?n=5000&size=300")) goto out;
    IT_WAIT_OR_OUT(&t, t.closed);
    CHECK_EQ(t.msgs_total, 10);
    CHECK_EQ(t.close_code, 1006);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_LOCAL);
    IT_CHECK(&t, t.nerrors == 0);
out:
    it_end(&t);
}

/* Close from a message callback while the server floods: the closing handshake finishes
   although data keeps arriving until the server sees our close. */
static void close_on_msg(it *t, const hl_event *ev)
{
    if (t->msgs_total == 100) CHECK_EQ(hl_ws_close(t->ctx, ev->ws, 1000, "enough"), HL_OK);
}

static void t_close_during_flood(void)
{
    it t;
    memset(&t, 0, sizeof t);
    t.on_msg = close_on_msg;
    if (!it_open(&t, NULL, "/flood?n=300000&size=300")) goto out;
    IT_WAIT_OR_OUT(&t, t.closed);
    /* how much more arrives depends on when the server reads our close (node may even finish
       the whole flood first): only the lower bound is ours */
    CHECK(t.msgs_total >= 100);
    CHECK_EQ(t.close_code, 1000);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_LOCAL);
    CHECK_EQ(t.close_result, HL_OK);
    IT_CHECK(&t, t.nerrors == 0);
out:
    it_end(&t);
}

/* Several connections in one context, served side by side; a freed slot is reused with a new
   handle and the old handle stays dead. */
static void t_many_connections(void)
{
    hl_config cfg;
    hl_ws extra, old;
    hl_ws_desc desc;
    unsigned char exp[5000];
    flood_check f;
    it a, b, c, d, e;
    int i;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    memset(&e, 0, sizeof e);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 4;
    f.tid_off = -1;
    f.n300 = f.bad = f.done = 0;
    d.on_msg = flood_on_msg;
    d.user = &f;
    it_make_frag_binary(exp, sizeof exp);
    if (it_start(&a, &cfg, "/echo", NULL, NULL, NULL) != 0) goto out;
    if (it_attach(&b, &a, "/echo") != 0 || it_attach(&c, &a, "/frag?parts=3&size=5000&type=binary") != 0 ||
        it_attach(&d, &a, "/flood?n=5000&size=300") != 0)
        goto out;
    memset(&desc, 0, sizeof desc);
    desc.url = "ws://127.0.0.1:1/never";
    desc.on_event = it_on_event;
    desc.user = &e;
    CHECK_EQ(hl_ws_connect(a.ctx, &desc, &extra), HL_E_POOL_EMPTY);
    IT_WAIT_OR_OUT(&a, (a.open || a.closed) && (b.open || b.closed));
    IT_CHECK(&a, a.open && !a.closed);
    IT_CHECK(&b, b.open && !b.closed);
    for (i = 0; i < 20; i++) {
        char m[32];
        snprintf(m, sizeof m, "a-%d", i);
        CHECK_EQ(it_send(&a, HL_MSG_TEXT, m, strlen(m)), HL_OK);
        snprintf(m, sizeof m, "b-%d", i);
        CHECK_EQ(it_send(&b, HL_MSG_TEXT, m, strlen(m)), HL_OK);
    }
    IT_WAIT_OR_OUT(&a, (a.nmsgs >= 20 && b.nmsgs >= 20 && c.nmsgs >= 1 && f.done) || a.closed || b.closed ||
                           c.closed || d.closed);
    for (i = 0; i < 20; i++) {
        char m[32];
        snprintf(m, sizeof m, "a-%d", i);
        IT_CHECK(&a, it_msg_is(&a.msgs[i], 1, m, strlen(m)));
        snprintf(m, sizeof m, "b-%d", i);
        IT_CHECK(&b, it_msg_is(&b.msgs[i], 1, m, strlen(m)));
    }
    IT_CHECK(&c, it_msg_is(&c.msgs[0], 0, exp, sizeof exp));
    CHECK_EQ(f.n300, 5000);
    CHECK_EQ(f.bad, 0);
    /* close a; its slot is free again and its handle dead */
    CHECK_EQ(hl_ws_close(a.ctx, a.ws, 1000, NULL), HL_OK);
    IT_WAIT_OR_OUT(&a, a.closed);
    CHECK_EQ(a.close_code, 1000);
    old = a.ws;
    if (it_attach(&e, &b, "/echo") != 0) goto out;
    CHECK(e.ws.id != old.id);
    IT_WAIT_OR_OUT(&e, e.open || e.closed);
    CHECK_EQ(hl_ws_send(a.ctx, old, HL_MSG_TEXT, "stale", 5), HL_E_BAD_HANDLE);
    CHECK_EQ(it_send(&e, HL_MSG_TEXT, "new", 3), HL_OK);
    CHECK_EQ(it_send(&b, HL_MSG_TEXT, "b-last", 6), HL_OK);
    IT_WAIT_OR_OUT(&e, (e.nmsgs >= 1 && b.nmsgs >= 21) || e.closed || b.closed);
    IT_CHECK(&e, it_msg_is(&e.msgs[0], 1, "new", 3));
    IT_CHECK(&b, it_msg_is(&b.msgs[20], 1, "b-last", 6));
    IT_CHECK(&b, !b.closed && !c.closed && !d.closed && !e.closed);
out:
    it_end(&e);
    it_end(&d);
    it_end(&c);
    it_end(&b);
    it_end(&a); /* the owner of the context last */
}

/* Each resolved address is tried in turn: a resolver hook answers with a refusing address
   first and the server second (no DNS: the host name never leaves the test). */
typedef struct fallback_resolver {
    int calls;
    char host[64];
    uint16_t url_port;
    int refused_port;
} fallback_resolver;

static void it_addr_v4(hl_addr *out, int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(out, 0, sizeof *out);
    memcpy(out->bytes, &a, sizeof a);
    out->len = (uint32_t)sizeof a;
}

static int fallback_resolve(void *user, const char *host, uint16_t port, hl_addr *out, int max)
{
    fallback_resolver *r = (fallback_resolver *)user;
    r->calls++;
    snprintf(r->host, sizeof r->host, "%s", host);
    r->url_port = port;
    if (max < 2) return HL_E_DNS;
    it_addr_v4(&out[0], r->refused_port);
    it_addr_v4(&out[1], g_port);
    return 2;
}

static void t_address_fallback(void)
{
    fallback_resolver r;
    hl_config cfg;
    int port = 0;
    int fd = it_listener(0, 0, &port); /* bound, not listening: refuses */
    it t;
    memset(&t, 0, sizeof t);
    memset(&r, 0, sizeof r);
    CHECK(fd >= 0);
    if (fd < 0) return;
    r.refused_port = port;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.resolve = fallback_resolve;
    cfg.user = &r;
    if (it_start_url(&t, &cfg, "ws://fallback.test:1234/echo", NULL, NULL, NULL) != 0) goto out;
    IT_WAIT_OR_OUT(&t, t.open || t.closed);
    IT_CHECK(&t, t.open && t.nerrors == 0);
    CHECK_EQ(r.calls, 1);
    CHECK(strcmp(r.host, "fallback.test") == 0);
    CHECK_EQ(r.url_port, 1234);
    CHECK_EQ(it_send(&t, HL_MSG_TEXT, "via the second address", 22), HL_OK);
    IT_WAIT_OR_OUT(&t, t.nmsgs >= 1 || t.closed);
    IT_CHECK(&t, it_msg_is(&t.msgs[0], 1, "via the second address", 22));
out:
    it_end(&t);
    close(fd);
}

/* ---- tests without a server --------------------------------------------------------------- */

static void t_connect_refused(void)
{
    char url[64];
    int port = 0;
    int fd = it_listener(0, 0, &port); /* bound, not listening: a connect gets RST */
    it t;
    memset(&t, 0, sizeof t);
    CHECK(fd >= 0);
    if (fd < 0) return;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", port);
    if (it_start_url(&t, NULL, url, NULL, NULL, NULL) != 0) goto out;
    IT_WAIT_OR_OUT(&t, t.closed);
    IT_CHECK(&t, !t.open && t.nerrors == 1 && t.err_result == HL_E_CONNECT_REFUSED);
    CHECK_EQ(t.close_code, 1006);
    CHECK_EQ(t.close_result, HL_E_CONNECT_REFUSED);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_ERROR);
out:
    it_end(&t);
    close(fd);
}

static void t_handshake_timeout(void)
{
    char url[64];
    hl_config cfg;
    double t0;
    int port = 0;
    int fd = it_listener(0, 4, &port); /* listens, never accepts: the kernel completes TCP only */
    it t;
    memset(&t, 0, sizeof t);
    CHECK(fd >= 0);
    if (fd < 0) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.handshake_timeout_ms = 300;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", port);
    t0 = it_now();
    if (it_start_url(&t, &cfg, url, NULL, NULL, NULL) != 0) goto out;
    IT_WAIT_OR_OUT(&t, t.closed);
    IT_CHECK(&t, !t.open && t.nerrors == 1 && t.err_result == HL_E_HANDSHAKE_TIMEOUT);
    CHECK(it_now() - t0 >= 0.29); /* never early (a lower bound only) */
    CHECK_EQ(t.close_code, 1006);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_ERROR);
    CHECK(strstr(t.trace, "UPGRADING") != NULL);
out:
    it_end(&t);
    close(fd);
}

/* A hand-made server (test side, driven by the wait hook): accept one connection, read the
   request, answer 101 and send `frame`; after that read and keep what the client sends, and
   never answer a close. */
typedef struct hand_server {
    int lfd, cfd;
    char req[4096];
    size_t req_len;
    int answered;
    const unsigned char *frame;
    size_t frame_len;
    unsigned char got[256]; /* the first bytes the client sent after the handshake */
    size_t got_len;
} hand_server;

static int hand_server_init(hand_server *s, int v6, const unsigned char *frame, size_t frame_len)
{
    int port = 0;
    memset(s, 0, sizeof *s);
    s->cfd = -1;
    s->frame = frame;
    s->frame_len = frame_len;
    s->lfd = it_listener(v6, 4, &port);
    if (s->lfd < 0) return -1;
    fcntl(s->lfd, F_SETFL, fcntl(s->lfd, F_GETFL, 0) | O_NONBLOCK);
    return port;
}

static void hand_server_free(hand_server *s)
{
    if (s->cfd >= 0) close(s->cfd);
    if (s->lfd >= 0) close(s->lfd);
}

static void hand_hook(it *t)
{
    hand_server *s = (hand_server *)t->user;
    if (s->cfd < 0) {
        s->cfd = accept(s->lfd, NULL, NULL);
        if (s->cfd >= 0) fcntl(s->cfd, F_SETFL, fcntl(s->cfd, F_GETFL, 0) | O_NONBLOCK);
        return;
    }
    if (!s->answered) {
        ssize_t r = recv(s->cfd, s->req + s->req_len, sizeof s->req - 1 - s->req_len, 0);
        const char *k;
        if (r <= 0) return;
        s->req_len += (size_t)r;
        s->req[s->req_len] = '\0';
        if (!strstr(s->req, "\r\n\r\n")) return;
        k = strstr(s->req, "Sec-WebSocket-Key: ");
        if (k) {
            char key[64], accept_b64[29], resp[512];
            size_t kn = strcspn(k + 19, "\r\n");
            int n;
            if (kn >= sizeof key) kn = sizeof key - 1;
            memcpy(key, k + 19, kn);
            key[kn] = '\0';
            hl__ws_accept_compute(key, accept_b64); /* an internal helper: the server side */
            n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: %s\r\n\r\n",
                         accept_b64);
            if (send(s->cfd, resp, (size_t)n, 0) != n) return;
            if (s->frame_len && send(s->cfd, s->frame, s->frame_len, 0) != (ssize_t)s->frame_len) return;
        }
        s->answered = 1;
        return;
    }
    for (;;) {
        unsigned char buf[4096];
        ssize_t r = recv(s->cfd, buf, sizeof buf, 0);
        size_t k;
        if (r <= 0) return;
        k = (size_t)r < sizeof s->got - s->got_len ? (size_t)r : sizeof s->got - s->got_len;
        memcpy(s->got + s->got_len, buf, k);
        s->got_len += k;
    }
}

static int it_ipv6_available(void)
{
    int port, fd = it_listener(1, 1, &port);
    if (fd < 0) return 0;
    close(fd);
    return 1;
}

static void t_ipv6_loopback(void)
{
    static const unsigned char frame[] = "\x81\x0fhello over ipv6";
    char url[64];
    hand_server s;
    int port = hand_server_init(&s, 1, frame, sizeof frame - 1);
    it t;
    memset(&t, 0, sizeof t);
    CHECK(port > 0);
    if (port <= 0) return;
    t.hook = hand_hook;
    t.user = &s;
    snprintf(url, sizeof url, "ws://[::1]:%d/v6", port);
    if (it_start_url(&t, NULL, url, NULL, NULL, NULL) != 0) goto out;
    IT_WAIT_OR_OUT(&t, t.nmsgs >= 1 || t.closed);
    IT_CHECK(&t, t.open && it_msg_is(&t.msgs[0], 1, "hello over ipv6", 15));
    IT_CHECK(&t, strstr(s.req, "GET /v6 HTTP/1.1\r\n") == s.req);
    IT_CHECK(&t, strstr(s.req, "\r\nHost: [::1]:") != NULL);
out:
    it_end(&t);
    hand_server_free(&s);
}

/* The server never answers our close: close_timeout_ms ends the connection. */
static void t_close_timeout(void)
{
    char url[64];
    hand_server s;
    hl_config cfg;
    double t0;
    int port = hand_server_init(&s, 0, NULL, 0);
    it t;
    memset(&t, 0, sizeof t);
    CHECK(port > 0);
    if (port <= 0) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.close_timeout_ms = 300;
    t.hook = hand_hook;
    t.user = &s;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/quiet", port);
    if (it_start_url(&t, &cfg, url, NULL, NULL, NULL) != 0) goto out;
    IT_WAIT_OR_OUT(&t, t.open || t.closed);
    t0 = it_now();
    CHECK_EQ(hl_ws_close(t.ctx, t.ws, 4321, "x"), HL_OK);
    IT_WAIT_OR_OUT(&t, t.closed);
    CHECK(it_now() - t0 >= 0.29); /* never early (a lower bound only) */
    CHECK_EQ(t.close_result, HL_E_CLOSE_TIMEOUT);
    CHECK_EQ(t.close_origin, HL_CLOSE_BY_LOCAL);
    CHECK_EQ(t.close_code, 1006);
    IT_CHECK(&t, strstr(t.trace, "CLOSING") != NULL);
    /* our close frame reached the server: FIN + close, masked, code 4321, reason "x" */
    IT_CHECK(&t, s.got_len >= 9 && s.got[0] == 0x88 && s.got[1] == (0x80 | 3));
    if (s.got_len >= 9)
        IT_CHECK(&t, (s.got[6] ^ s.got[2]) == (4321 >> 8) && (s.got[7] ^ s.got[3]) == (4321 & 255) &&
                         (s.got[8] ^ s.got[4]) == 'x');
out:
    it_end(&t);
    hand_server_free(&s);
}

static void t_idle_poll_empty(void)
{
    hl_config cfg;
    hl_ctx *ctx = NULL;
    size_t size;
    void *mem;
    int k;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    size = hl_ctx_size(&cfg);
    mem = malloc(size);
    CHECK(mem != NULL);
    if (!mem) return;
    CHECK_EQ(hl_ctx_init(&ctx, mem, size, &cfg), HL_OK);
    if (ctx) {
        CHECK_EQ(hl_next_timeout(ctx), -1);
        for (k = 0; k < 3; k++) {
            double t0 = it_now();
            CHECK_EQ(hl_poll(ctx, 50), 0);
            CHECK(it_now() - t0 < 2.0);
        }
        {
            double t0 = it_now();
            CHECK_EQ(hl_poll(ctx, -1), 0); /* nothing could ever wake it: returns */
            CHECK(it_now() - t0 < 2.0);
        }
        hl_ctx_shutdown(ctx);
    }
    free(mem);
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
    char start_name[96];
    g_srv = name;
    memset(&srv, 0, sizeof srv);
    if (hl_test_server_start(&srv, argv) != 0) {
        snprintf(start_name, sizeof start_name, "server_start[%s]", name);
        hl_test_failed_now = 1;
        hl_test_fails++;
        printf("FAIL %s: could not start %s %s\n", start_name, argv[0], argv[1]);
        fflush(stdout);
        return;
    }
    g_port = srv.port;
    IT_RUN(t_echo_boundaries);
    IT_RUN(t_echo_16mib);
    IT_RUN(t_frag_from_server);
    IT_RUN(t_frag_ping);
    IT_RUN(t_send_fragments);
    IT_RUN(t_pingflood);
    IT_RUN(t_ping_pong);
    IT_RUN(t_server_close);
    IT_RUN(t_client_close);
    IT_RUN(t_reset);
    IT_RUN(t_reject);
    IT_RUN(t_headers_subprotocols);
    IT_RUN(t_max_message_size);
    IT_RUN(t_foreign_loop);
    IT_RUN(t_idle_poll_open);
    IT_RUN(t_flood_order);
    IT_RUN(t_abort_in_callback);
    IT_RUN(t_close_during_flood);
    IT_RUN(t_many_connections);
    IT_RUN(t_address_fallback);
    hl_test_server_stop(&srv);
}

int main(void)
{
    static char *const py[] = {"/usr/bin/python3", "tests/servers/ws_python_server.py", NULL};
    static char *const node[] = {"node", "tests/servers/ws_node_server.js", NULL};
    signal(SIGPIPE, SIG_IGN); /* the hand-made servers write to sockets the client may close */
    g_srv = "local";
    HL_TEST(t_connect_refused);
    HL_TEST(t_handshake_timeout);
    HL_TEST(t_idle_poll_empty);
    HL_TEST(t_close_timeout);
    if (it_ipv6_available()) {
        HL_TEST(t_ipv6_loopback);
    } else {
        printf("PASS t_ipv6_loopback (skipped: no IPv6 loopback)\n");
        hl_test_passes++;
    }
    run_server_suite("python", py);
    run_server_suite("node", node);
    return hl_test_summary();
}
