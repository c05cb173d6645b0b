/* Integration tests of the HTTP/1.1 client against real servers on 127.0.0.1, started here:
     * Debian's nginx (tests/http/start_nginx.sh): static files over keep-alive, HTTPS with the
       test CA of tests/tls/make_certs.sh (build/tls/certs), its access log shows which requests
       shared a connection;
     * the scripted fault server (tests/servers/http_fault_server.py): chunked with extensions
       and trailers, bytewise responses, slow first bytes, 5xx/429 with Retry-After, storms of
       500, closes in the middle, idle closes, malformed framing, the Hyperliquid-like /info
       and /exchange; its /_count and /_log show what reached it, X-Conn which connection.
   Public API only (hl_stats_json for the counters). Control requests to the fault server go
   through a raw socket of their own, never through the client under test. Every wait is a
   bounded poll loop; timing is checked with generous lower bounds only.

   Every http_* field of hl_config (and the shared limits the HTTP client obeys) changes
   behaviour in a test:
     http_max_requests        t_queue_full (2: the third request is HL_E_QUEUE_FULL)
     http_request_size        t_request_size (1024: a 2000-byte body is HL_E_MSG_TOO_BIG)
     http_max_per_origin      t_nginx_keepalive (1: one connection in nginx's log),
                              t_pool_parallel (3: six parallel requests on exactly 3 connections)
     http_idle_timeout_ms     t_idle_timeout (200 ms: a new connection after 500 ms idle)
     http_max_endpoints       t_max_endpoints (2: a third path is HL_E_POOL_EMPTY)
     http_max_headers         t_max_headers (3: a 4-header response is HL_E_HEADER_TOO_BIG)
     http_data_timeout_ms     t_class_timeouts (HL_HTTP_DATA requests time out by it)
     http_trading_timeout_ms  t_class_timeouts (HL_HTTP_TRADING requests time out by it)
     http_max_retries         t_max_retries (1: two attempts where the default makes three)
     http_backoff             t_backoff_vs_deadline (a 3 s first delay past the deadline: the
                              503 is delivered; 50 ms: retried), t_max_retries (20 ms)
     http_breaker             t_breaker (3 failures, 700 ms cool-down)
     http_weight_per_minute   t_rate_wait, t_rate_fail
     http_rate_fail           t_rate_fail (HL_E_RATE_LIMITED instead of waiting)
     http_traceparent         t_request_id_traceparent
     max_message_size         t_info_big (256 KiB: the 700 KB body is HL_E_MSG_TOO_BIG)
     max_header_size          t_max_header_size (2048: a 5 KB head is HL_E_HEADER_TOO_BIG)
     connects_per_minute      t_connect_budget (1: the HTTP pool is not held back by it; the
                              WebSocket side is tested in test_it_resilience)
   The request's own fields: method, url, headers, body (t_forms, t_post_retries, t_bad_requests),
   idempotent and retries (t_post_retries, t_max_retries), weight (t_rate_*), cls
   (t_class_timeouts), connect_timeout_ms (t_connect_timeout), first_byte_timeout_ms
   (t_slow_first_byte), timeout_ms (t_total_timeout, t_total_timeout_connecting).
   A test that fails prints the library's log lines of that test on stderr.
*/
#define _DEFAULT_SOURCE
#ifndef HL_ENABLE_TLS
#define HL_ENABLE_TLS 1
#endif
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#define IT_PATTERN "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define IT_CERTS "build/tls/certs"
#define IT_FIXTURES "../shared/fixtures/hl"
#define IT_WAIT_S 15.0

static hl_test_server g_fault, g_ngx;
static char g_ngx_dir[128];

/* ---- helpers ------------------------------------------------------------------------------ */

static double it_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The library's log lines of the running test, shown when it fails. */
static char g_log[32768];
static size_t g_log_len;

static void it_log(void *user, hl_log_level level, uint32_t conn_id, const char *msg)
{
    int n;
    (void)user;
    if (g_log_len >= sizeof g_log - 1) return;
    n = snprintf(g_log + g_log_len, sizeof g_log - g_log_len, "  [%d] %u %s\n", (int)level, (unsigned)conn_id, msg);
    if (n > 0) g_log_len += (size_t)n;
    if (g_log_len >= sizeof g_log) g_log_len = sizeof g_log - 1;
}

#define IT_TEST(fn)                                                                               \
    do {                                                                                          \
        int it_f0 = hl_test_fails;                                                                \
        double it_t0 = it_now();                                                                  \
        g_log_len = 0;                                                                            \
        g_log[0] = '\0';                                                                          \
        HL_TEST(fn);                                                                              \
        fprintf(stderr, "---- %s: %.2f s\n", #fn, it_now() - it_t0);                              \
        if (hl_test_fails != it_f0)                                                               \
            fprintf(stderr, "---- library log of %s:\n%s%s", #fn, g_log,                         \
                    g_log_len >= sizeof g_log - 1 ? "\n  (log cut here)\n" : "");                \
    } while (0)

static void it_config(hl_config *c)
{
    memset(c, 0, sizeof *c);
    c->log = it_log;
    c->log_level = HL_LOG_DEBUG;
}

typedef struct it_ctx {
    hl_ctx *ctx;
    void *mem;
} it_ctx;

static hl_ctx *it_open(it_ctx *c, const hl_config *cfg)
{
    size_t n = hl_ctx_size(cfg);
    c->ctx = NULL;
    c->mem = malloc(n);
    if (!c->mem || hl_ctx_init(&c->ctx, c->mem, n, cfg) != HL_OK) {
        free(c->mem);
        c->mem = NULL;
        c->ctx = NULL;
    }
    return c->ctx;
}

static void it_close(it_ctx *c)
{
    if (c->ctx) hl_ctx_shutdown(c->ctx);
    free(c->mem);
    c->ctx = NULL;
    c->mem = NULL;
}

/* What a test keeps of a response (the library's views live only during the callback). */
typedef struct it_resp {
    int done;
    int result, status;
    uint32_t attempts;
    uint64_t latency_ns;
    char detail[256];
    char request_id[40];
    size_t body_len;
    uint32_t body_sum;          /* sum of the body bytes mod 2^32 */
    int pattern_ok;             /* the body is pattern bytes */
    char body[2048];            /* its first bytes, NUL-terminated */
    char hdrs[2048];            /* "name: value\n" per header */
    int header_count;
    int xconn, xseq;
    int body_in_buf;            /* the body view was non-NULL when body_len > 0 */
} it_resp;

static void it_take(it_resp *o, const hl_http_response *r)
{
    size_t i, len = 0;
    const char *v;
    int k;
    o->result = r->result;
    o->status = r->status;
    o->attempts = r->attempts;
    o->latency_ns = r->latency_ns;
    snprintf(o->detail, sizeof o->detail, "%s", r->detail ? r->detail : "(null detail)");
    snprintf(o->request_id, sizeof o->request_id, "%s", r->request_id ? r->request_id : "");
    o->body_len = r->body_len;
    o->body_sum = 0;
    o->pattern_ok = 1;
    o->body_in_buf = r->body_len == 0 || r->body != NULL;
    for (i = 0; i < r->body_len && r->body; i++) {
        o->body_sum += r->body[i];
        if (r->body[i] != (unsigned char)IT_PATTERN[i % 62]) o->pattern_ok = 0;
    }
    i = r->body_len < sizeof o->body - 1 ? r->body_len : sizeof o->body - 1;
    if (r->body) memcpy(o->body, r->body, i);
    o->body[i] = '\0';
    o->hdrs[0] = '\0';
    o->header_count = r->header_count;
    for (k = 0; k < r->header_count; k++) {
        int n = snprintf(o->hdrs + len, sizeof o->hdrs - len, "%s: %s\n", r->headers[k].name, r->headers[k].value);
        if (n < 0 || (size_t)n >= sizeof o->hdrs - len) break;
        len += (size_t)n;
    }
    v = hl_http_header(r, "x-conn");
    o->xconn = v ? atoi(v) : 0;
    v = hl_http_header(r, "X-SEQ");
    o->xseq = v ? atoi(v) : 0;
    o->done++;
}

static void it_on_resp(hl_ctx *ctx, const hl_http_response *r)
{
    (void)ctx;
    it_take((it_resp *)r->user, r);
}

static void it_req(hl_http_req *q, const char *method, const char *url, it_resp *o)
{
    memset(q, 0, sizeof *q);
    q->method = method;
    q->url = url;
    q->on_response = it_on_resp;
    q->user = o;
    if (o) memset(o, 0, sizeof *o);
}

static const char *it_url(char *out, size_t cap, int port, const char *target)
{
    snprintf(out, cap, "http://127.0.0.1:%d%s", port, target);
    return out;
}

/* hl_http_fetch into o (the blocking call). Its *out, the detail included, stays valid until
   the next call into the library (t_fetch_error_detail checks that on its own). */
static int it_fetch(hl_ctx *ctx, const hl_http_req *q, it_resp *o)
{
    hl_http_response r;
    int rc;
    memset(o, 0, sizeof *o);
    rc = hl_http_fetch(ctx, q, &r);
    it_take(o, &r);
    CHECK_EQ(rc, r.result);
    return rc;
}

static int it_wait(hl_ctx *ctx, it_resp *o, int n, double secs);

/* hl_http_request and poll until the callback ran (or IT_WAIT_S passed). */
static int it_call(hl_ctx *ctx, const hl_http_req *q, it_resp *o)
{
    hl_http_req copy = *q;
    hl_http h;
    int rc;
    memset(o, 0, sizeof *o);
    copy.on_response = it_on_resp;
    copy.user = o;
    rc = hl_http_request(ctx, &copy, &h);
    if (rc != HL_OK) {
        o->result = rc;
        o->done = 1;
        snprintf(o->detail, sizeof o->detail, "hl_http_request: %s", hl_result_name(rc));
        return rc;
    }
    if (it_wait(ctx, o, 1, IT_WAIT_S) != 1) {
        hl_test_fail_at(__FILE__, __LINE__, "no response within IT_WAIT_S");
        hl_http_cancel(ctx, h);
    }
    return o->result;
}

/* Poll until every one of n responses arrived (or secs pass); returns how many arrived. */
static int it_wait(hl_ctx *ctx, it_resp *o, int n, double secs)
{
    double end = it_now() + secs;
    int i, got = 0;
    for (;;) {
        got = 0;
        for (i = 0; i < n; i++) got += o[i].done ? 1 : 0;
        if (got == n || it_now() > end) break;
        if (hl_poll(ctx, 50) < 0) break;
    }
    for (i = 0; i < n; i++) CHECK(o[i].done <= 1); /* exactly once */
    return got;
}

/* Poll for secs whatever happens. */
static void it_poll_for(hl_ctx *ctx, double secs)
{
    double end = it_now() + secs;
    while (it_now() < end) hl_poll(ctx, 20);
}

static void it_fail_resp(const char *what, const it_resp *o, int line)
{
    char m[400];
    snprintf(m, sizeof m, "%.20s: result %s status %d attempts %u detail '%.160s' body %lu bytes '%.60s'", what,
             hl_result_name(o->result), o->status, (unsigned)o->attempts, o->detail, (unsigned long)o->body_len, o->body);
    hl_test_fail_at(__FILE__, line, m);
}

/* The response must be: result, status (when result is HL_OK), attempts (0: any). */
#define IT_EXPECT(o, res, st, att)                                                                \
    do {                                                                                          \
        if ((o)->result != (res) || ((res) == HL_OK && (o)->status != (st)) ||                    \
            ((att) && (o)->attempts != (uint32_t)(att)) || (o)->done != 1 ||           \
            ((o)->detail[0] == '\0') != ((res) == HL_OK))                                      \
            it_fail_resp(#o, (o), __LINE__);                                                      \
    } while (0)

/* ---- the fault server's control endpoints, over a socket of our own ------------------------ */

/* GET target with Connection: close; the body (NUL-terminated) in body. Returns the status. */
static int ctl_get(const char *target, char *body, size_t cap)
{
    struct sockaddr_in a;
    struct timeval tv;
    char req[512], *buf;
    size_t len = 0, bcap = 1u << 20;
    int s, status = -1;
    const char *p;
    body[0] = '\0';
    if (g_fault.port <= 0) return -1;
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return -1;
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_fault.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    buf = (char *)malloc(bcap);
    if (!buf || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        free(buf);
        close(s);
        return -1;
    }
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
    if (send(s, req, strlen(req), 0) == (ssize_t)strlen(req)) {
        for (;;) {
            ssize_t r = recv(s, buf + len, bcap - 1 - len, 0);
            if (r <= 0) break;
            len += (size_t)r;
            if (len >= bcap - 1) break;
        }
    }
    close(s);
    buf[len] = '\0';
    if (len > 12 && sscanf(buf, "HTTP/1.1 %d", &status) == 1 && (p = strstr(buf, "\r\n\r\n")) != NULL)
        snprintf(body, cap, "%s", p + 4);
    free(buf);
    return status;
}

/* /_count: requests that reached path (NULL: all), and *conns distinct connections. */
static int ctl_count(const char *path, int *conns)
{
    char t[256], body[256];
    int req = -1, c = -1;
    const char *p;
    if (path) snprintf(t, sizeof t, "/_count?path=%s", path);
    else snprintf(t, sizeof t, "/_count");
    if (ctl_get(t, body, sizeof body) == 200) {
        if ((p = strstr(body, "\"requests\":")) != NULL) req = atoi(p + 11);
        if ((p = strstr(body, "\"connections\":")) != NULL) c = atoi(p + 14);
    }
    if (conns) *conns = c;
    return req;
}

static void ctl_reset(void)
{
    char body[64];
    CHECK_EQ(ctl_get("/_reset", body, sizeof body), 200);
}

#define NEED_FAULT()                                                                              \
    do {                                                                                          \
        if (g_fault.port <= 0) {                                                                  \
            hl_test_fail_at(__FILE__, __LINE__, "the fault server did not start");               \
            return;                                                                               \
        }                                                                                         \
        ctl_reset();                                                                              \
    } while (0)

#define NEED_NGINX()                                                                              \
    do {                                                                                          \
        if (g_ngx.port <= 0) {                                                                    \
            hl_test_fail_at(__FILE__, __LINE__, "nginx did not start (tests/http/start_nginx.sh)"); \
            return;                                                                               \
        }                                                                                         \
    } while (0)

/* A number in the stats JSON after "key": within the endpoint whose path is path. */
static long long it_stat(hl_ctx *ctx, const char *path, const char *key)
{
    static char js[65536];
    char pat[128];
    const char *p, *q;
    if (hl_stats_json(ctx, js, sizeof js) < 0) return -1;
    snprintf(pat, sizeof pat, "\"path\":\"%s\"", path);
    p = strstr(js, pat);
    if (!p) return -1;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    q = strstr(p, pat);
    if (!q) return -1;
    q += strlen(pat);
    if (*q == '"') return !strncmp(q, "\"closed\"", 8) ? 0 : !strncmp(q, "\"open\"", 6) ? 1 : 2;
    return atoll(q);
}

/* ---- nginx -------------------------------------------------------------------------------- */

/* One keep-alive connection for everything (http_max_per_origin 1): fetch and callbacks, HEAD,
   204, a 429 delivered as it is, files from 0 B to 1 MiB. nginx's access log must show one
   connection serial and request numbers 1, 2, 3, ... */
static void t_nginx_keepalive(void)
{
    static const struct {
        const char *method, *path;
        int status;
        size_t len;
    } v[] = {
        {"GET", "/1k.bin", 200, 1024},  {"GET", "/0.bin", 200, 0},       {"HEAD", "/1k.bin", 200, 0},
        {"GET", "/100k.bin", 200, 102400}, {"GET", "/status/204", 204, 0}, {"GET", "/1m.bin", 200, 1048576},
        {"GET", "/ok", 200, 3},         {"GET", "/missing", 404, 0},     {"GET", "/1k.bin", 200, 1024},
    };
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o[12];
    char url[160], log[8192], path[200];
    size_t i, n = sizeof v / sizeof v[0];
    long len;
    double end;
    NEED_NGINX();
    it_config(&cfg);
    cfg.http_max_per_origin = 1;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    for (i = 0; i < n; i++) {
        it_req(&q, v[i].method, it_url(url, sizeof url, g_ngx.port, v[i].path), &o[i]);
        if (i % 2 == 0) {
            it_fetch(c.ctx, &q, &o[i]);
        } else {
            hl_http h;
            CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
            CHECK(h.id != 0);
            it_wait(c.ctx, &o[i], 1, IT_WAIT_S);
        }
        IT_EXPECT(&o[i], HL_OK, v[i].status, 1);
        if (v[i].status == 200 && v[i].path[1] != 'o') {
            CHECK_EQ(o[i].body_len, v[i].len);
            CHECK(o[i].pattern_ok);
        }
    }
    CHECK(strcmp(o[6].body, "ok\n") == 0);
    CHECK(strstr(o[2].hdrs, "Content-Length: 1024\n") != NULL); /* HEAD: the length, no body */
    /* a 429 with Retry-After, not retried (retries -1), delivered as it is */
    it_req(&q, NULL, it_url(url, sizeof url, g_ngx.port, "/status/429"), &o[9]);
    q.retries = -1;
    it_fetch(c.ctx, &q, &o[9]);
    IT_EXPECT(&o[9], HL_OK, 429, 1);
    CHECK(strstr(o[9].hdrs, "Retry-After: 1\n") != NULL);
    it_close(&c);
    /* nginx's access log: "<connection> <request number> "<line>" <status> <bytes>"; it is
       written after the response went out, so give the last line a moment */
    snprintf(path, sizeof path, "%s/access.log", g_ngx_dir);
    end = it_now() + 3.0;
    do {
        char *line = log, *nl;
        long conn0 = -1;
        int k = 0, bad = 0;
        len = hl_test_read_file(path, log, sizeof log);
        /* start_nginx.sh's readiness probe (GET /ok, Connection: close) comes first */
        while (len > 0 && (nl = strchr(line, '\n')) != NULL) {
            long conn, num;
            *nl = '\0';
            if (conn0 < 0 && strstr(line, "\"GET /1k.bin HTTP/1.1\"")) sscanf(line, "%ld", &conn0);
            if (conn0 >= 0 && sscanf(line, "%ld %ld", &conn, &num) == 2) {
                if (conn != conn0 || num != k + 1) bad = 1;
                k++;
            }
            line = nl + 1;
        }
        if (k >= (int)n + 1 || it_now() > end) {
            CHECK(len > 0);
            CHECK(!bad); /* one connection, its requests numbered 1, 2, 3, ... */
            CHECK_EQ(k, (int)n + 1);
            break;
        }
        hl_test_sleep_ms(20);
    } while (1);
}

#if HL_ENABLE_TLS
/* HTTPS to nginx with the test CA: two requests, one TLS handshake (the connection is kept). */
/* https:// to an IP address: no certificate name can vouch for it, so the request is refused at
   once unless the origin's key is pinned (the nginx certificate is for DNS:localhost only). */
static void t_https_ip_literal(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    hl_http h;
    it_resp o;
    char url[160];
    NEED_NGINX();
    if (g_ngx.port2 <= 0) return;
    it_config(&cfg);
    cfg.tls_ca_file = IT_CERTS "/ca.pem";
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    snprintf(url, sizeof url, "https://127.0.0.1:%d/1k.bin", g_ngx.port2);
    it_req(&q, NULL, url, &o);
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_E_TLS_CERT);
    CHECK(strstr(g_log, "cannot be verified by name") != NULL);
    it_close(&c);
}

static void t_https_nginx(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o[3];
    hl_ctx_stats st;
    char url[160];
    NEED_NGINX();
    if (g_ngx.port2 <= 0) {
        hl_test_fail_at(__FILE__, __LINE__, "nginx has no HTTPS port (certificates?)");
        return;
    }
    it_config(&cfg);
    cfg.tls_ca_file = IT_CERTS "/ca.pem";
    cfg.http_max_per_origin = 1;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    snprintf(url, sizeof url, "https://localhost:%d/100k.bin", g_ngx.port2);
    it_req(&q, NULL, url, &o[0]);
    it_fetch(c.ctx, &q, &o[0]);
    IT_EXPECT(&o[0], HL_OK, 200, 1);
    CHECK_EQ(o[0].body_len, 102400);
    CHECK(o[0].pattern_ok);
    snprintf(url, sizeof url, "https://localhost:%d/1k.bin", g_ngx.port2);
    it_req(&q, NULL, url, &o[1]);
    {
        hl_http h;
        CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
        it_wait(c.ctx, &o[1], 1, IT_WAIT_S);
    }
    IT_EXPECT(&o[1], HL_OK, 200, 1);
    CHECK_EQ(o[1].body_len, 1024);
    CHECK(o[1].pattern_ok);
    memset(&st, 0, sizeof st);
    CHECK_EQ(hl_ctx_stats_get(c.ctx, &st), HL_OK);
    CHECK_EQ(st.tls_handshakes_full, 1);
    it_close(&c);
    /* without the CA the certificate is refused, and that is not retried */
    it_config(&cfg);
    cfg.tls_ca_file = IT_CERTS "/ca2.pem";
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, url, &o[2]);
    it_fetch(c.ctx, &q, &o[2]);
    IT_EXPECT(&o[2], HL_E_TLS_CERT, 0, 1);
    it_close(&c);
}
#endif

/* ---- pool ---------------------------------------------------------------------------------- */

/* Six parallel requests, http_max_per_origin 3: exactly three connections carry them. */
static void t_pool_parallel(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o[6];
    char url[160];
    int i, j, distinct = 0, seen[6], conns = 0;
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_max_per_origin = 3;
    cfg.max_connections = 4;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    for (i = 0; i < 6; i++) {
        hl_http h;
        char t[64];
        snprintf(t, sizeof t, "/slow_first_byte?delay_ms=200&size=%d", 100 + i);
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, t), &o[i]);
        CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
    }
    CHECK_EQ(it_wait(c.ctx, o, 6, IT_WAIT_S), 6);
    for (i = 0; i < 6; i++) {
        IT_EXPECT(&o[i], HL_OK, 200, 1);
        CHECK_EQ(o[i].body_len, 100 + i);
        for (j = 0; j < distinct && seen[j] != o[i].xconn; j++) continue;
        if (j == distinct) seen[distinct++] = o[i].xconn;
    }
    CHECK_EQ(distinct, 3);
    CHECK_EQ(ctl_count("/slow_first_byte", &conns), 6);
    CHECK_EQ(conns, 3);
    it_close(&c);
}

/* The default pool keeps a connection for the next request; http_idle_timeout_ms 200 closes it. */
static void t_idle_timeout(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp a, b;
    char url[160];
    int k;
    NEED_FAULT();
    for (k = 0; k < 2; k++) {
        it_config(&cfg);
        if (k == 1) cfg.http_idle_timeout_ms = 200;
        if (!it_open(&c, &cfg)) {
            CHECK(!"context");
            return;
        }
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok"), &a);
        it_fetch(c.ctx, &q, &a);
        IT_EXPECT(&a, HL_OK, 200, 1);
        it_poll_for(c.ctx, 0.5);
        it_req(&q, NULL, url, &b);
        it_fetch(c.ctx, &q, &b);
        IT_EXPECT(&b, HL_OK, 200, 1);
        if (k == 0) {
            CHECK_EQ(b.xconn, a.xconn);
            CHECK_EQ(b.xseq, 2);
        } else {
            CHECK(b.xconn != a.xconn);
            CHECK_EQ(b.xseq, 1);
        }
        it_close(&c);
    }
}

/* A pooled connection the server closed while idle: the next GET goes out on it (hl_process
   with no readiness, as a foreign loop that has not polled yet would), fails before any byte,
   and is sent again at once on a new connection: the caller sees one attempt, the stats one
   network error, the server two connections. */
static void t_idle_close_stale(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp a, b;
    hl_http h;
    char url[160];
    int conns = 0;
    NEED_FAULT();
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/idle_close?after_ms=100"), &a);
    it_fetch(c.ctx, &q, &a);
    IT_EXPECT(&a, HL_OK, 200, 1);
    hl_test_sleep_ms(300); /* the server closes the idle connection meanwhile; we do not look */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=5"), &b);
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
    CHECK(hl_process(c.ctx, NULL, 0) >= 0); /* dispatched on the pooled connection */
    it_wait(c.ctx, &b, 1, IT_WAIT_S);
    IT_EXPECT(&b, HL_OK, 200, 1);
    CHECK_EQ(b.body_len, 5);
    CHECK(b.xconn != a.xconn);
    CHECK_EQ(ctl_count(NULL, &conns), 2);
    CHECK_EQ(conns, 2);
    CHECK_EQ(it_stat(c.ctx, "/ok", "network"), 1);
    CHECK_EQ(it_stat(c.ctx, "/ok", "retries"), 0);
    it_close(&c);
}

/* Idle connections of one origin must not starve another origin of connection slots. */
static void t_pool_other_origin(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o[3];
    char url[160];
    int i;
    NEED_FAULT();
    NEED_NGINX();
    it_config(&cfg);
    cfg.max_connections = 2;
    cfg.http_max_per_origin = 2;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    for (i = 0; i < 2; i++) {
        hl_http h;
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/slow_first_byte?delay_ms=100"), &o[i]);
        CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
    }
    CHECK_EQ(it_wait(c.ctx, o, 2, IT_WAIT_S), 2);
    IT_EXPECT(&o[0], HL_OK, 200, 1);
    IT_EXPECT(&o[1], HL_OK, 200, 1);
    CHECK(o[0].xconn != o[1].xconn); /* both slots now hold idle connections to the fault server */
    it_req(&q, NULL, it_url(url, sizeof url, g_ngx.port, "/ok"), &o[2]);
    q.timeout_ms = 2000;
    it_fetch(c.ctx, &q, &o[2]);
    IT_EXPECT(&o[2], HL_OK, 200, 1);
    it_close(&c);
}

/* ---- response forms from the fault server -------------------------------------------------- */

static void t_forms(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    hl_http h;
    int conn0;
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_max_per_origin = 1;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    /* chunked with extensions and trailers, by callback */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/chunked?chunks=5,10,1&ext=1&trailers=1"), &o);
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
    it_wait(c.ctx, &o, 1, IT_WAIT_S);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK_EQ(o.body_len, 16);
    CHECK(o.pattern_ok);
    CHECK(strstr(o.hdrs, "Trailer: X-Checksum, X-Trailer-Note\n") != NULL);
    CHECK(strstr(o.hdrs, "X-Checksum: ") == NULL); /* trailers are dropped */
    CHECK(strstr(o.hdrs, "X-Trailer-Note: ") == NULL);
    conn0 = o.xconn;
    /* the same, every byte its own segment */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/chunked?chunks=5,10,1&ext=1&trailers=1&bytewise=1"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK_EQ(o.body_len, 16);
    CHECK(o.pattern_ok);
    /* big chunks, upper-case padded sizes */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/chunked?chunks=3000,1,70000&upper=1&pad=1"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK_EQ(o.body_len, 73001);
    CHECK(o.pattern_ok);
    /* a bytewise Content-Length response */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/bytewise?size=64"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK_EQ(o.body_len, 64);
    CHECK(o.pattern_ok);
    /* 100 and 103 before the answer */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/interim"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK(strcmp(o.body, "final") == 0);
    CHECK(strstr(o.hdrs, "Link:") == NULL);
    /* HEAD, 204 and 304 with a Content-Length: no body read, the connection stays in step */
    it_req(&q, "HEAD", it_url(url, sizeof url, g_fault.port, "/ok?size=100"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK_EQ(o.body_len, 0);
    CHECK(strstr(o.hdrs, "Content-Length: 100\n") != NULL);
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/status?code=204"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 204, 1);
    CHECK_EQ(o.body_len, 0);
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/status?code=304"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 304, 1);
    CHECK_EQ(o.body_len, 0);
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=3"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK(strcmp(o.body, "012") == 0);
    CHECK_EQ(o.xconn, conn0); /* everything so far on one connection */
    CHECK_EQ(o.xseq, 9);
    /* close-delimited: the body ends with the connection */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/close_delimited?size=1000"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK_EQ(o.body_len, 1000);
    CHECK(o.pattern_ok);
    /* close=1: Connection: close, then a fresh connection */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=2&close=1"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    conn0 = o.xconn;
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=2"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK(o.xconn != conn0);
    /* a body sent back: POST /echo */
    it_req(&q, "POST", it_url(url, sizeof url, g_fault.port, "/echo"), &o);
    q.body = "hello echo";
    q.body_len = 10;
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK(strcmp(o.body, "hello echo") == 0);
    CHECK(strstr(o.hdrs, "X-Method: POST\n") != NULL);
    it_close(&c);
}

/* ---- timeouts and retries ----------------------------------------------------------------- */

/* A slow first byte times out by first_byte_timeout_ms and is retried while time remains. */
static void t_slow_first_byte(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    NEED_FAULT();
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/slow_first_byte?delay_ms=1500"), &o);
    q.first_byte_timeout_ms = 250;
    q.timeout_ms = 8000;
    it_call(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_E_REQUEST_TIMEOUT, 0, 3); /* 1 + http_max_retries (2) */
    CHECK(strstr(o.detail, "first_byte_timeout_ms") != NULL);
    CHECK_EQ(ctl_count("/slow_first_byte", NULL), 3);
    CHECK_EQ(it_stat(c.ctx, "/slow_first_byte", "timeout"), 3);
    CHECK_EQ(it_stat(c.ctx, "/slow_first_byte", "retries"), 2);
    it_close(&c);
}

/* The total timeout is final: no retry after it. */
static void t_total_timeout(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    double t0;
    NEED_FAULT();
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/slow_first_byte?delay_ms=3000"), &o);
    q.timeout_ms = 400;
    t0 = it_now();
    it_call(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_E_REQUEST_TIMEOUT, 0, 1);
    CHECK(strstr(o.detail, "timeout_ms") != NULL);
    CHECK(it_now() - t0 >= 0.35);
    CHECK(o.latency_ns >= 350000000ull);
    CHECK_EQ(ctl_count("/slow_first_byte", NULL), 1);
    it_close(&c);
}

/* HL_HTTP_DATA and HL_HTTP_TRADING take their total time from their own config field. */
static void t_class_timeouts(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    int k;
    NEED_FAULT();
    for (k = 0; k < 2; k++) {
        it_config(&cfg);
        cfg.http_data_timeout_ms = k == 0 ? 250 : 5000;
        cfg.http_trading_timeout_ms = k == 0 ? 5000 : 250;
        if (!it_open(&c, &cfg)) {
            CHECK(!"context");
            return;
        }
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/slow_first_byte?delay_ms=600&size=4"), &o);
        q.cls = HL_HTTP_DATA;
        q.retries = -1;
        it_fetch(c.ctx, &q, &o);
        if (k == 0) IT_EXPECT(&o, HL_E_REQUEST_TIMEOUT, 0, 1);
        else IT_EXPECT(&o, HL_OK, 200, 1);
        it_req(&q, "POST", it_url(url, sizeof url, g_fault.port, "/exchange?delay_ms=600"), &o);
        q.cls = HL_HTTP_TRADING;
        q.body = "{}";
        q.body_len = 2;
        it_fetch(c.ctx, &q, &o);
        if (k == 0) IT_EXPECT(&o, HL_OK, 200, 1);
        else IT_EXPECT(&o, HL_E_REQUEST_TIMEOUT, 0, 1);
        it_close(&c);
    }
}

/* 503 once, then 200: the second attempt answers. */
static void t_flaky_503(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    NEED_FAULT();
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/flaky?fail=1&status=503"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 2);
    CHECK(strcmp(o.body, "ok") == 0);
    CHECK_EQ(ctl_count("/flaky", NULL), 2);
    CHECK_EQ(it_stat(c.ctx, "/flaky", "5xx"), 1);
    CHECK_EQ(it_stat(c.ctx, "/flaky", "2xx"), 1);
    it_close(&c);
}

/* http_max_retries, and the request's own retries (-1 none, N). */
static void t_max_retries(void)
{
    static const struct {
        uint32_t cfg_retries;
        int req_retries;
        uint32_t attempts;
    } v[] = {{0, 0, 3}, {1, 0, 2}, {1, 3, 4}, {5, -1, 1}};
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160], t[80];
    size_t i;
    NEED_FAULT();
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        it_config(&cfg);
        cfg.http_max_retries = v[i].cfg_retries;
        cfg.http_backoff.initial_ms = 20;
        if (!it_open(&c, &cfg)) {
            CHECK(!"context");
            return;
        }
        snprintf(t, sizeof t, "/flaky?fail=9&status=500&case=%u", (unsigned)i);
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, t), &o);
        q.retries = v[i].req_retries;
        it_fetch(c.ctx, &q, &o);
        IT_EXPECT(&o, HL_OK, 500, v[i].attempts); /* the last 500 is delivered */
        it_close(&c);
    }
    CHECK_EQ(ctl_count("/flaky", NULL), 3 + 2 + 4 + 1);
}

/* A retry whose backoff would pass the deadline is not made: the 503 is the answer. */
static void t_backoff_vs_deadline(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    int k;
    NEED_FAULT();
    for (k = 0; k < 2; k++) {
        it_config(&cfg);
        cfg.http_backoff.initial_ms = k == 0 ? 3000 : 50;
        cfg.http_backoff.jitter = HL_JITTER_NONE;
        if (!it_open(&c, &cfg)) {
            CHECK(!"context");
            return;
        }
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, k == 0 ? "/flaky?fail=1&id=a" : "/flaky?fail=1&id=b"), &o);
        q.timeout_ms = 1500;
        it_fetch(c.ctx, &q, &o);
        if (k == 0) IT_EXPECT(&o, HL_OK, 503, 1);
        else IT_EXPECT(&o, HL_OK, 200, 2);
        it_close(&c);
    }
}

/* 429 with Retry-After in seconds and as an HTTP-date: the retry waits for it. */
static void t_retry_after(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    NEED_FAULT();
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/retry_after?seconds=1&times=1"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 2);
    CHECK(strcmp(o.body, "ok") == 0);
    CHECK(o.latency_ns >= 900000000ull);
    /* Retry-After: <IMF-fixdate> 2 s ahead (within [1, 3] s of our clock) */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/retry_after_date?seconds=2&times=1"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 2);
    CHECK(o.latency_ns >= 900000000ull);
    CHECK_EQ(ctl_count("/retry_after", NULL), 2);
    CHECK_EQ(ctl_count("/retry_after_date", NULL), 2);
    it_close(&c);
}

/* A close in the middle of a body is retried; when it keeps happening the answer is HL_E_EOF.
   On fresh connections: a head without its body, an RST, half a head, each once, then a good
   answer: two attempts. An RST without retries: one attempt. */
static void t_close_mid_body(void)
{
    static const char *const drops[] = {"/drop?fail=1&how=head", "/drop?fail=1&how=rst", "/drop?fail=1&how=partial",
                                        "/drop?fail=1&how=fin"};
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    size_t i;
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_backoff.initial_ms = 50;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/close_mid_body?size=100&after=10"), &o);
    it_call(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_E_EOF, 0, 3);
    CHECK(strstr(o.detail, "middle of the body") != NULL);
    CHECK_EQ(ctl_count("/close_mid_body", NULL), 3);
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/close_mid_body?size=100&after=10&rst=1"), &o);
    q.retries = -1;
    it_fetch(c.ctx, &q, &o);
    CHECK(o.result == HL_E_RESET || o.result == HL_E_EOF);
    CHECK_EQ(o.attempts, 1);
    it_close(&c);
    for (i = 0; i < sizeof drops / sizeof drops[0]; i++) {
        if (!it_open(&c, &cfg)) { /* a new context: the first attempt is on a fresh connection */
            CHECK(!"context");
            return;
        }
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, drops[i]), &o);
        it_fetch(c.ctx, &q, &o);
        IT_EXPECT(&o, HL_OK, 200, 2);
        CHECK(strcmp(o.body, "ok") == 0);
        it_close(&c);
    }
    CHECK_EQ(ctl_count("/drop", NULL), 8);
}

/* On a pooled connection, a reset before any byte of the response looks like a connection the
   server closed while it was idle: the request is sent again at once on a new connection, and
   the caller sees one attempt (the server two requests, the stats one network error). */
static void t_pooled_reset(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp a, b;
    char url[160];
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_max_per_origin = 1;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=1"), &a);
    it_fetch(c.ctx, &q, &a);
    IT_EXPECT(&a, HL_OK, 200, 1);
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/drop?fail=1&how=rst"), &b);
    it_fetch(c.ctx, &q, &b);
    IT_EXPECT(&b, HL_OK, 200, 1);
    CHECK(b.xconn != a.xconn);
    CHECK_EQ(ctl_count("/drop", NULL), 2);
    CHECK_EQ(it_stat(c.ctx, "/drop", "network"), 1);
    it_close(&c);
}

/* The breaker of an endpoint opens after a storm of 500s (http_breaker.failures 3): queued
   requests get HL_E_CIRCUIT_OPEN in their callback, new ones from hl_http_request itself, and
   none reaches the server. After the cool-down a failing probe opens it again; after /_heal
   the probe closes it. */
static void t_breaker(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o[6];
    char url[160], body[64];
    hl_http h;
    int i;
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_breaker.failures = 3;
    cfg.http_breaker.cooldown_ms = 700;
    cfg.http_max_per_origin = 1;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_url(url, sizeof url, g_fault.port, "/storm");
    for (i = 0; i < 5; i++) {
        it_req(&q, NULL, url, &o[i]);
        q.retries = -1;
        CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
    }
    CHECK_EQ(it_wait(c.ctx, o, 5, IT_WAIT_S), 5);
    for (i = 0; i < 3; i++) IT_EXPECT(&o[i], HL_OK, 500, 1);
    for (i = 3; i < 5; i++) {
        IT_EXPECT(&o[i], HL_E_CIRCUIT_OPEN, 0, 0);
        CHECK_EQ(o[i].attempts, 0);
    }
    it_req(&q, NULL, url, &o[5]);
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_E_CIRCUIT_OPEN);
    CHECK_EQ(h.id, 0);
    CHECK_EQ(o[5].done, 0);
    CHECK_EQ(ctl_count("/storm", NULL), 3);
    CHECK_EQ(it_stat(c.ctx, "/storm", "breaker"), 1);
    /* other paths of the origin are not affected */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok"), &o[5]);
    it_fetch(c.ctx, &q, &o[5]);
    IT_EXPECT(&o[5], HL_OK, 200, 1);
    /* after the cool-down: one probe, still 500, open again */
    hl_test_sleep_ms(800);
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/storm"), &o[0]);
    q.retries = -1;
    it_fetch(c.ctx, &q, &o[0]);
    IT_EXPECT(&o[0], HL_OK, 500, 1);
    it_req(&q, NULL, url, &o[1]);
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_E_CIRCUIT_OPEN);
    CHECK_EQ(ctl_count("/storm", NULL), 4);
    /* healed: the next probe closes it */
    CHECK_EQ(ctl_get("/_heal", body, sizeof body), 200);
    hl_test_sleep_ms(800);
    it_req(&q, NULL, url, &o[2]);
    it_fetch(c.ctx, &q, &o[2]);
    IT_EXPECT(&o[2], HL_OK, 200, 1);
    CHECK(strcmp(o[2].body, "healed") == 0);
    it_req(&q, NULL, url, &o[3]);
    it_fetch(c.ctx, &q, &o[3]);
    IT_EXPECT(&o[3], HL_OK, 200, 1);
    CHECK_EQ(it_stat(c.ctx, "/storm", "breaker"), 0);
    CHECK_EQ(it_stat(c.ctx, "/storm", "breaker_opens"), 2);
    CHECK_EQ(ctl_count("/storm", NULL), 6);
    it_close(&c);
    ctl_reset(); /* un-heal */
}

/* ---- POST: /exchange (not idempotent) and /info (idempotent) ------------------------------- */

static void t_post_retries(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    hl_header ct = {"Content-Type", "application/json"};
    char url[160];
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_backoff.initial_ms = 50;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, "POST", it_url(url, sizeof url, g_fault.port, "/exchange?fail=1&id=a"), &o);
    q.headers = &ct;
    q.header_count = 1;
    q.body = "{\"action\":{}}";
    q.body_len = strlen((const char *)q.body);
    q.cls = HL_HTTP_TRADING;
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 502, 1);
    CHECK(strcmp(o.body, "bad gateway") == 0);
    CHECK_EQ(ctl_count("/exchange", NULL), 1);
    /* the same, marked idempotent: retried */
    it_req(&q, "POST", it_url(url, sizeof url, g_fault.port, "/exchange?fail=1&id=b"), &o);
    q.headers = &ct;
    q.header_count = 1;
    q.body = "{\"action\":{}}";
    q.body_len = strlen((const char *)q.body);
    q.idempotent = 1;
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 2);
    CHECK(strstr(o.body, "resting") != NULL);
    CHECK_EQ(ctl_count("/exchange", NULL), 3);
    /* a POST whose connection drops is not retried either */
    it_req(&q, "POST", it_url(url, sizeof url, g_fault.port, "/drop?fail=1&how=fin"), &o);
    q.body = "x";
    q.body_len = 1;
    it_call(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_E_EOF, 0, 1);
    CHECK(strstr(o.detail, "not idempotent") != NULL);
    it_close(&c);
}

static void t_info_meta(void)
{
    static char fixture[65536];
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    hl_header ct = {"Content-Type", "application/json"};
    char url[160];
    long n;
    NEED_FAULT();
    n = hl_test_read_file(IT_FIXTURES "/meta_response.json", fixture, sizeof fixture);
    CHECK(n > 0);
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, "POST", it_url(url, sizeof url, g_fault.port, "/info"), &o);
    q.headers = &ct;
    q.header_count = 1;
    q.body = "{\"type\":\"meta\"}";
    q.body_len = strlen((const char *)q.body);
    q.idempotent = 1;
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK_EQ((long)o.body_len, n);
    CHECK(n > 0 && (size_t)n < sizeof o.body && memcmp(o.body, fixture, (size_t)n) == 0);
    CHECK(strstr(o.hdrs, "Content-Type: application/json\n") != NULL);
    /* an unknown type: 422 with the fixture body, not retried */
    it_req(&q, "POST", url, &o);
    q.body = "{\"type\":\"nope\"}";
    q.body_len = strlen((const char *)q.body);
    q.idempotent = 1;
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 422, 1);
    it_close(&c);
}

/* ~700 KB of JSON within max_message_size (its X-Body-Sum checked), HL_E_MSG_TOO_BIG below. */
static void t_info_big(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    const char *sum;
    int k;
    NEED_FAULT();
    for (k = 0; k < 2; k++) {
        it_config(&cfg);
        if (k == 1) cfg.max_message_size = 256u << 10;
        if (!it_open(&c, &cfg)) {
            CHECK(!"context");
            return;
        }
        it_req(&q, "POST", it_url(url, sizeof url, g_fault.port, "/info"), &o);
        q.body = "{\"type\":\"big\"}";
        q.body_len = strlen((const char *)q.body);
        q.idempotent = 1;
        it_call(c.ctx, &q, &o);
        if (k == 0) {
            IT_EXPECT(&o, HL_OK, 200, 1);
            CHECK(o.body_len >= 700000);
            CHECK(o.body[0] == '[');
            sum = strstr(o.hdrs, "X-Body-Sum: ");
            CHECK(sum != NULL);
            if (sum) CHECK_EQ(strtoul(sum + 12, NULL, 10), o.body_sum);
        } else {
            IT_EXPECT(&o, HL_E_MSG_TOO_BIG, 0, 1); /* our own limit: not retried */
            CHECK(strstr(o.detail, "max_message_size") != NULL);
        }
        it_close(&c);
    }
}

/* ---- rate limit ---------------------------------------------------------------------------- */

/* 6000 weight per minute, requests of weight 1525: three go at once, the fourth waits for 100
   units (about 1 s); with http_rate_fail it fails instead. A weight above the whole budget
   fails in both modes. */
static void t_rate_wait(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o[4];
    char url[160];
    hl_http h;
    int i;
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_weight_per_minute = 6000;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    for (i = 0; i < 4; i++) {
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=1"), &o[i]);
        q.weight = 1525;
        it_fetch(c.ctx, &q, &o[i]);
        IT_EXPECT(&o[i], HL_OK, 200, 1);
    }
    CHECK(o[3].latency_ns >= 600000000ull);
    it_req(&q, NULL, url, &o[0]);
    q.weight = 6001;
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
    it_wait(c.ctx, o, 1, IT_WAIT_S);
    IT_EXPECT(&o[0], HL_E_RATE_LIMITED, 0, 0);
    CHECK_EQ(ctl_count("/ok", NULL), 4);
    it_close(&c);
}

static void t_rate_fail(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o[5];
    char url[160];
    hl_http h;
    int i;
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_weight_per_minute = 6000;
    cfg.http_rate_fail = 1;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    for (i = 0; i < 4; i++) {
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=1"), &o[i]);
        q.weight = 1525;
        it_call(c.ctx, &q, &o[i]);
        if (i < 3) IT_EXPECT(&o[i], HL_OK, 200, 1);
        else IT_EXPECT(&o[i], HL_E_RATE_LIMITED, 0, 0);
    }
    CHECK(strstr(o[3].detail, "http_weight_per_minute") != NULL);
    /* a small one still fits */
    it_req(&q, NULL, url, &o[4]);
    q.weight = 10;
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
    it_wait(c.ctx, &o[4], 1, IT_WAIT_S);
    IT_EXPECT(&o[4], HL_OK, 200, 1);
    CHECK_EQ(ctl_count("/ok", NULL), 4);
    it_close(&c);
}

/* ---- request headers ----------------------------------------------------------------------- */

/* X-Request-Id always (the one the response reports), traceparent only with http_traceparent,
   and the caller's extra headers, as the server logged them. */
static void t_request_id_traceparent(void)
{
    static char log[65536];
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    hl_header extra[2] = {{"X-Custom", "custom value"}, {"Authorization", "Bearer secret-token"}};
    char url[160], want[128];
    int k;
    NEED_FAULT();
    for (k = 0; k < 2; k++) {
        size_t i;
        ctl_reset();
        it_config(&cfg);
        cfg.http_traceparent = k;
        if (!it_open(&c, &cfg)) {
            CHECK(!"context");
            return;
        }
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=1"), &o);
        q.headers = extra;
        q.header_count = 2;
        it_fetch(c.ctx, &q, &o);
        IT_EXPECT(&o, HL_OK, 200, 1);
        CHECK_EQ(strlen(o.request_id), 16);
        for (i = 0; o.request_id[i]; i++) CHECK(strchr("0123456789abcdef", o.request_id[i]) != NULL);
        CHECK_EQ(ctl_get("/_log?path=/ok", log, sizeof log), 200);
        snprintf(want, sizeof want, "[\"X-Request-Id\",\"%s\"]", o.request_id);
        CHECK(strstr(log, want) != NULL);
        CHECK(strstr(log, "[\"X-Custom\",\"custom value\"]") != NULL);
        CHECK(strstr(log, "[\"Host\",\"127.0.0.1:") != NULL);
        if (k == 0) {
            CHECK(strstr(log, "traceparent") == NULL);
        } else {
            const char *t = strstr(log, "[\"traceparent\",\"00-");
            CHECK(t != NULL);
            if (t) {
                /* 00-<32 hex trace id>-<16 hex span id>-01 */
                t += 19;
                for (i = 0; i < 32; i++) CHECK(strchr("0123456789abcdef", t[i]) != NULL);
                CHECK(t[32] == '-');
                for (i = 33; i < 49; i++) CHECK(strchr("0123456789abcdef", t[i]) != NULL);
                CHECK(strncmp(t + 49, "-01\"]", 5) == 0);
            }
        }
        CHECK(strstr(g_log, "secret-token") == NULL); /* never logged */
        it_close(&c);
    }
}

static void t_bad_requests(void)
{
    static const char *const bad_urls[] = {"ftp://127.0.0.1/", "http://", "not a url", "ws://127.0.0.1:1/",
                                           "http://127.0.0.1:99999/", "http://exa mple.com/"};
    static const hl_header bad_hdrs[][1] = {
        {{"X-Inject", "a\r\nX-Injected: 1"}}, {{"X-LF", "a\nb"}}, {{"X-CR", "a\rb"}}, {{"Bad Name", "v"}},
        {{"Host", "evil"}}, {{"Content-Length", "5"}}, {{"Connection", "close"}}, {{"X-Request-Id", "mine"}},
        {{"", "v"}},
    };
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    hl_http h;
    hl_http_response r;
    it_resp o;
    char url[160];
    size_t i;
    NEED_FAULT();
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    for (i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        it_req(&q, NULL, bad_urls[i], &o);
        h.id = 77;
        CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_E_BAD_URL);
        CHECK_EQ(h.id, 0);
        CHECK_EQ(hl_http_fetch(c.ctx, &q, &r), HL_E_BAD_URL);
        CHECK_EQ(r.result, HL_E_BAD_URL);
    }
    it_url(url, sizeof url, g_fault.port, "/ok");
    for (i = 0; i < sizeof bad_hdrs / sizeof bad_hdrs[0]; i++) {
        it_req(&q, NULL, url, &o);
        q.headers = bad_hdrs[i];
        q.header_count = 1;
        CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_E_INVALID);
    }
    it_req(&q, "GE T", url, &o);
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_E_INVALID);
    it_req(&q, NULL, url, &o);
    q.on_response = NULL;
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_E_INVALID);
    CHECK_EQ(o.done, 0);
    CHECK_EQ(ctl_count(NULL, NULL), 0); /* nothing reached the server */
    it_close(&c);
}

/* Malformed framing from the server: HL_E_HTTP_PROTOCOL (or the limit it broke). */
static void t_bad_framing(void)
{
    static const struct {
        const char *kind;
        int result;
    } v[] = {
        {"two_cl", HL_E_HTTP_PROTOCOL},       {"cl_list", HL_E_HTTP_PROTOCOL},
        {"cl_and_chunked", HL_E_HTTP_PROTOCOL}, {"bad_chunk_size", HL_E_HTTP_PROTOCOL},
        {"chunk_overflow", HL_E_MSG_TOO_BIG}, {"chunk_overflow63", HL_E_MSG_TOO_BIG},
        {"chunk_no_crlf", HL_E_HTTP_PROTOCOL}, {"obs_fold", HL_E_HTTP_PROTOCOL},
        {"huge_headers", HL_E_HEADER_TOO_BIG}, {"huge_header_line", HL_E_HEADER_TOO_BIG},
        {"bad_status_line", HL_E_HTTP_PROTOCOL}, {"status_garbage", HL_E_HTTP_PROTOCOL},
        {"status_http2", HL_E_HTTP_PROTOCOL}, {"status_4digit", HL_E_HTTP_PROTOCOL},
        {"negative_cl", HL_E_HTTP_PROTOCOL},  {"cl_plus", HL_E_HTTP_PROTOCOL},
        {"cl_overflow", HL_E_HTTP_PROTOCOL},  {"cl_hex", HL_E_HTTP_PROTOCOL},
        {"space_before_colon", HL_E_HTTP_PROTOCOL}, {"no_colon", HL_E_HTTP_PROTOCOL},
        {"nul_in_header", HL_E_HTTP_PROTOCOL}, {"te_gzip", HL_E_HTTP_PROTOCOL},
        {"te_chunked_not_last", HL_E_HTTP_PROTOCOL}, {"cl_short", HL_E_EOF},
        {"bare_lf", HL_OK},                   {"status_lf_only", HL_OK},
    };
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160], t[80];
    size_t i;
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_backoff.initial_ms = 20;
    cfg.http_breaker.failures = 1000; /* every kind is the endpoint /bad */
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(t, sizeof t, "/bad?kind=%s", v[i].kind);
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, t), &o);
        q.retries = -1;
        it_call(c.ctx, &q, &o);
        if (o.result != v[i].result || (o.result == HL_OK && strcmp(o.body, "ok") != 0) ||
            (o.detail[0] == '\0') != (o.result == HL_OK)) {
            char m[300];
            snprintf(m, sizeof m, "/bad?kind=%s: %s '%.120s', want %s", v[i].kind, hl_result_name(o.result), o.detail,
                     hl_result_name(v[i].result));
            hl_test_fail_at(__FILE__, __LINE__, m);
        }
    }
    /* a protocol error counts as retryable: a GET is tried 1 + http_max_retries times */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/bad?kind=two_cl&again=1"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_E_HTTP_PROTOCOL, 0, 3);
    it_close(&c);
}

/* ---- the other limits ---------------------------------------------------------------------- */

static void t_max_header_size(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    int k;
    NEED_FAULT();
    for (k = 0; k < 2; k++) {
        it_config(&cfg);
        if (k == 1) cfg.max_header_size = 2048;
        if (!it_open(&c, &cfg)) {
            CHECK(!"context");
            return;
        }
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=4&pad=5000"), &o);
        it_fetch(c.ctx, &q, &o);
        if (k == 0) IT_EXPECT(&o, HL_OK, 200, 1);
        else IT_EXPECT(&o, HL_E_HEADER_TOO_BIG, 0, 1);
        it_close(&c);
    }
}

static void t_max_headers(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    int k;
    NEED_FAULT();
    for (k = 0; k < 2; k++) {
        it_config(&cfg);
        cfg.http_max_headers = k == 0 ? 4 : 3; /* X-Conn, X-Seq, Content-Type, Content-Length */
        if (!it_open(&c, &cfg)) {
            CHECK(!"context");
            return;
        }
        it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=4"), &o);
        it_call(c.ctx, &q, &o);
        if (k == 0) {
            IT_EXPECT(&o, HL_OK, 200, 1);
            CHECK_EQ(o.header_count, 4);
        } else {
            IT_EXPECT(&o, HL_E_HEADER_TOO_BIG, 0, 1);
            CHECK(strstr(o.detail, "http_max_headers") != NULL);
        }
        it_close(&c);
    }
}

static void t_max_endpoints(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    hl_http h;
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_max_endpoints = 2;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=1"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=2"), &o); /* the same endpoint */
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    it_req(&q, "POST", it_url(url, sizeof url, g_fault.port, "/echo"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/status?code=201"), &o);
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_E_POOL_EMPTY);
    CHECK(strstr(g_log, "http_max_endpoints") != NULL);
    it_close(&c);
    /* the default has room for it */
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=1"), &o);
    it_fetch(c.ctx, &q, &o);
    it_req(&q, "POST", it_url(url, sizeof url, g_fault.port, "/echo"), &o);
    it_fetch(c.ctx, &q, &o);
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/status?code=201"), &o);
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 201, 1);
    it_close(&c);
}

static void t_request_size(void)
{
    static char body[2000];
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    hl_http h;
    NEED_FAULT();
    memset(body, 'b', sizeof body);
    it_config(&cfg);
    cfg.http_request_size = 1024;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, "POST", it_url(url, sizeof url, g_fault.port, "/echo"), &o);
    q.body = body;
    q.body_len = sizeof body;
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_E_MSG_TOO_BIG);
    CHECK(strstr(g_log, "http_request_size") != NULL);
    q.body_len = 500;
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK_EQ(o.body_len, 500);
    it_close(&c);
    /* the default takes the 2000 bytes */
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, "POST", url, &o);
    q.body = body;
    q.body_len = sizeof body;
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK_EQ(o.body_len, sizeof body);
    it_close(&c);
}

/* ---- queue, cancel ------------------------------------------------------------------------- */

static void t_queue_full(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o[3];
    char url[160];
    hl_http h[3];
    int i;
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_max_requests = 2;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_url(url, sizeof url, g_fault.port, "/slow_first_byte?delay_ms=300");
    for (i = 0; i < 3; i++) {
        it_req(&q, NULL, url, &o[i]);
        CHECK_EQ(hl_http_request(c.ctx, &q, &h[i]), i < 2 ? HL_OK : HL_E_QUEUE_FULL);
    }
    CHECK(strstr(g_log, "http_max_requests") != NULL);
    CHECK_EQ(it_wait(c.ctx, o, 2, IT_WAIT_S), 2);
    IT_EXPECT(&o[0], HL_OK, 200, 1);
    IT_EXPECT(&o[1], HL_OK, 200, 1);
    CHECK_EQ(o[2].done, 0);
    /* the slots are free again */
    it_req(&q, NULL, url, &o[2]);
    CHECK_EQ(hl_http_request(c.ctx, &q, &h[2]), HL_OK);
    it_wait(c.ctx, &o[2], 1, IT_WAIT_S);
    IT_EXPECT(&o[2], HL_OK, 200, 1);
    it_close(&c);
}

static void t_cancel(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o[3];
    char url[160];
    hl_http h[3];
    int i;
    NEED_FAULT();
    it_config(&cfg);
    cfg.http_max_per_origin = 1;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_url(url, sizeof url, g_fault.port, "/slow_first_byte?delay_ms=2000");
    for (i = 0; i < 2; i++) {
        it_req(&q, NULL, url, &o[i]);
        CHECK_EQ(hl_http_request(c.ctx, &q, &h[i]), HL_OK);
    }
    it_poll_for(c.ctx, 0.2); /* the first is on the wire, the second queued behind it */
    CHECK_EQ(o[0].done + o[1].done, 0);
    CHECK_EQ(hl_http_cancel(c.ctx, h[1]), HL_OK); /* queued */
    CHECK_EQ(o[1].done, 1);
    CHECK_EQ(o[1].result, HL_E_CLOSED);
    CHECK_EQ(hl_http_cancel(c.ctx, h[0]), HL_OK); /* in flight */
    CHECK_EQ(o[0].done, 1);
    CHECK_EQ(o[0].result, HL_E_CLOSED);
    CHECK(o[0].detail[0] != '\0');
    CHECK_EQ(hl_http_cancel(c.ctx, h[0]), HL_E_BAD_HANDLE);
    it_poll_for(c.ctx, 0.1);
    CHECK_EQ(o[0].done, 1); /* exactly once */
    CHECK_EQ(o[1].done, 1);
    /* the pool goes on */
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/ok?size=3"), &o[2]);
    CHECK_EQ(hl_http_request(c.ctx, &q, &h[2]), HL_OK);
    it_wait(c.ctx, &o[2], 1, IT_WAIT_S);
    IT_EXPECT(&o[2], HL_OK, 200, 1);
    CHECK_EQ(ctl_count("/slow_first_byte", NULL), 1); /* the queued one never went out */
    it_close(&c);
}

/* From a callback: hl_http_fetch and hl_poll are refused (HL_E_STATE), hl_http_request works. */
typedef struct it_reent {
    char url[160];
    int fetch_rc, poll_rc, req_rc, status, done;
    it_resp next;
    hl_http h;
} it_reent;

static void it_on_reenter(hl_ctx *ctx, const hl_http_response *r)
{
    it_reent *e = (it_reent *)r->user;
    hl_http_response out;
    hl_http_req q;
    memset(&q, 0, sizeof q);
    q.url = e->url;
    e->fetch_rc = hl_http_fetch(ctx, &q, &out);
    e->poll_rc = hl_poll(ctx, 0);
    it_req(&q, NULL, e->url, &e->next);
    e->req_rc = hl_http_request(ctx, &q, &e->h);
    e->status = r->status;
    e->done++;
}

static void t_reentry(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    static it_reent e;
    hl_http h;
    double end;
    NEED_FAULT();
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    memset(&e, 0, sizeof e);
    it_url(e.url, sizeof e.url, g_fault.port, "/ok?size=7");
    it_req(&q, NULL, e.url, NULL);
    q.on_response = it_on_reenter;
    q.user = &e;
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
    end = it_now() + IT_WAIT_S;
    while (!(e.done && e.next.done) && it_now() < end) hl_poll(c.ctx, 50);
    CHECK_EQ(e.done, 1);
    CHECK_EQ(e.status, 200);
    CHECK_EQ(e.fetch_rc, HL_E_STATE);
    CHECK_EQ(e.poll_rc, HL_E_STATE);
    CHECK_EQ(e.req_rc, HL_OK);
    IT_EXPECT(&e.next, HL_OK, 200, 1);
    CHECK_EQ(e.next.body_len, 7);
    CHECK_EQ(ctl_count("/ok", NULL), 2);
    it_close(&c);
}

/* ---- connect timeouts ---------------------------------------------------------------------- */

/* A listener that never accepts, its backlog full: further connects hang (SYN dropped). */
typedef struct it_blackhole {
    int lsock, fill[4], port;
} it_blackhole;

static int it_blackhole_open(it_blackhole *b)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int i;
    b->port = 0;
    for (i = 0; i < 4; i++) b->fill[i] = -1;
    b->lsock = socket(AF_INET, SOCK_STREAM, 0);
    if (b->lsock < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(b->lsock, (struct sockaddr *)&a, sizeof a) != 0 || listen(b->lsock, 0) != 0 ||
        getsockname(b->lsock, (struct sockaddr *)&a, &al) != 0)
        return -1;
    for (i = 0; i < 4; i++) {
        b->fill[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (b->fill[i] < 0) return -1;
        fcntl(b->fill[i], F_SETFL, O_NONBLOCK);
        if (connect(b->fill[i], (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) return -1;
    }
    hl_test_sleep_ms(50);
    b->port = ntohs(a.sin_port);
    return 0;
}

static void it_blackhole_close(it_blackhole *b)
{
    int i;
    for (i = 0; i < 4; i++)
        if (b->fill[i] >= 0) close(b->fill[i]);
    if (b->lsock >= 0) close(b->lsock);
}

/* The request's connect_timeout_ms: HL_E_CONNECT_TIMEOUT, retried while time remains. */
static void t_connect_timeout(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    it_blackhole b;
    char url[160];
    char want[32];
    if (it_blackhole_open(&b) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "could not set up a listener that does not accept");
        it_blackhole_close(&b);
        return;
    }
    it_config(&cfg);
    cfg.http_backoff.initial_ms = 50;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        it_blackhole_close(&b);
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, b.port, "/x"), &o);
    q.connect_timeout_ms = 200;
    q.retries = -1;
    it_fetch(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_E_CONNECT_TIMEOUT, 0, 1);
    it_req(&q, NULL, url, &o);
    q.connect_timeout_ms = 200;
    q.timeout_ms = 5000;
    it_call(c.ctx, &q, &o);
    IT_EXPECT(&o, HL_E_CONNECT_TIMEOUT, 0, 3); /* 1 + http_max_retries */
    CHECK_EQ(it_stat(c.ctx, "/x", "timeout"), 4);
    snprintf(want, sizeof want, "after %u ms", 200u);
    CHECK(strstr(o.detail, want) != NULL); /* the detail names the timeout that ran out */
    it_close(&c);
    it_blackhole_close(&b);
}

/* The total time (timeout_ms 300) also bounds the connect (config.connect_timeout_ms 10 s). */
static void t_total_timeout_connecting(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    it_blackhole b;
    hl_http h;
    char url[160];
    if (it_blackhole_open(&b) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "could not set up a listener that does not accept");
        it_blackhole_close(&b);
        return;
    }
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        it_blackhole_close(&b);
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, b.port, "/x"), &o);
    q.timeout_ms = 300;
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
    it_wait(c.ctx, &o, 1, 3.0);
    if (!o.done) {
        hl_test_fail_at(__FILE__, __LINE__, "a request with timeout_ms 300 still connecting after 3 s");
        hl_http_cancel(c.ctx, h);
    } else {
        CHECK(o.result == HL_E_REQUEST_TIMEOUT || o.result == HL_E_CONNECT_TIMEOUT);
    }
    it_close(&c);
    it_blackhole_close(&b);
}

/* ---- connects_per_minute ------------------------------------------------------------------- */

/* connects_per_minute is the WebSocket venue's budget: the HTTP pool, limited by weight
   instead, opens connections as it needs them even with the budget set to 1 a minute. */
static void t_connect_budget(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[160];
    double t0;
    int i, ok = 0;
    NEED_FAULT();
    it_config(&cfg);
    cfg.connects_per_minute = 1;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_url(url, sizeof url, g_fault.port, "/ok?size=1&close=1");
    t0 = it_now();
    for (i = 0; i < 5; i++) {
        it_req(&q, NULL, url, &o);
        it_fetch(c.ctx, &q, &o);
        ok += o.result == HL_OK && o.status == 200;
    }
    CHECK_EQ(ok, 5);
    CHECK(it_now() - t0 < 10.0); /* five connections, no budget wait (generous bound) */
    CHECK(strstr(g_log, "connects_per_minute") == NULL);
    it_close(&c);
}

/* ---- buffer use of chunk framing ----------------------------------------------------------- */

/* 1000 one-byte chunks with extensions: a 1000-byte body (under max_message_size 2048) whose
   framing (~33 KB) is bigger than the receive buffer (2048 + 8192 + 16384 bytes). The framing
   is squeezed out as it is parsed, so the response must fit. */
static void t_chunk_framing_buffer(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    it_resp o;
    char url[2200], t[2100];
    hl_http h;
    size_t n;
    double end;
    long polls = 0;
    int i;
    NEED_FAULT();
    it_config(&cfg);
    cfg.max_message_size = 2048;
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    n = (size_t)snprintf(t, sizeof t, "/chunked?ext=1&chunks=");
    for (i = 0; i < 1000; i++) n += (size_t)snprintf(t + n, sizeof t - n, i ? ",1" : "1");
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, t), &o);
    q.timeout_ms = 3000;
    q.retries = -1;
    CHECK_EQ(hl_http_request(c.ctx, &q, &h), HL_OK);
    end = it_now() + IT_WAIT_S;
    while (!o.done && it_now() < end) {
        hl_poll(c.ctx, 100);
        polls++;
    }
    IT_EXPECT(&o, HL_OK, 200, 1);
    CHECK_EQ(o.body_len, 1000);
    CHECK(o.pattern_ok);
    if (polls > 500) {
        char m[160];
        snprintf(m, sizeof m, "the full receive buffer spins: %ld hl_poll calls for one request", polls);
        hl_test_fail_at(__FILE__, __LINE__, m);
    }
    it_close(&c);
}

/* ---- the detail of a failed hl_http_fetch ------------------------------------------------ */

/* Something else runs on the stack between the return of hl_http_fetch and the next call into
   the library, as in any program. */
static void it_scribble_stack(void)
{
    volatile char junk[65536];
    size_t i;
    for (i = 0; i < sizeof junk; i++) junk[i] = (char)('#' + (i & 1));
    (void)junk[100];
}

/* "*out stays valid until the next call into the library": the detail too (it once pointed
   into a stack frame of the library that was gone when hl_http_fetch returned; under ASan with
   detect_stack_use_after_return that was a crash, so this test stays last). */
static void t_fetch_error_detail(void)
{
    hl_config cfg;
    it_ctx c;
    hl_http_req q;
    hl_http_response r;
    char url[160], copy[256];
    NEED_FAULT();
    it_config(&cfg);
    if (!it_open(&c, &cfg)) {
        CHECK(!"context");
        return;
    }
    it_req(&q, NULL, it_url(url, sizeof url, g_fault.port, "/bad?kind=two_cl"), NULL);
    q.on_response = NULL;
    q.retries = -1;
    CHECK_EQ(hl_http_fetch(c.ctx, &q, &r), HL_E_HTTP_PROTOCOL);
    it_scribble_stack();
    CHECK(r.detail != NULL);
    snprintf(copy, sizeof copy, "%s", r.detail ? r.detail : "");
    if (!strstr(copy, "two different Content-Lengths")) {
        char m[400];
        snprintf(m, sizeof m, "the detail of a failed hl_http_fetch is gone after it returned: '%.60s'", copy);
        hl_test_fail_at(__FILE__, __LINE__, m);
    }
    it_close(&c);
}

/* Remove the run directories (parent/prefix<pid>) of earlier runs that died before cleaning up:
   those whose process no longer exists. */
static void it_sweep(const char *parent, const char *prefix)
{
    DIR *d = opendir(parent);
    struct dirent *e;
    size_t pl = strlen(prefix);
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        char cmd[600], *end;
        long pid;
        if (strncmp(e->d_name, prefix, pl) != 0) continue;
        pid = strtol(e->d_name + pl, &end, 10);
        if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(cmd, sizeof cmd, "rm -rf '%s/%.200s'", parent, e->d_name);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s/%s\n", parent, e->d_name);
    }
    closedir(d);
}

/* ---- main ---------------------------------------------------------------------------------- */

int main(void)
{
    char *fault_argv[] = {(char *)"/usr/bin/python3", (char *)"tests/servers/http_fault_server.py", NULL};
    char *ngx_argv[8];
    int tls = 0;
    signal(SIGPIPE, SIG_IGN);
    if (hl_test_server_start(&g_fault, fault_argv) != 0) g_fault.port = 0;
    it_sweep("build/it_http", "nginx-");
    snprintf(g_ngx_dir, sizeof g_ngx_dir, "build/it_http/nginx-%ld", (long)getpid());
#if HL_ENABLE_TLS
    tls = system("sh tests/tls/make_certs.sh " IT_CERTS " >/dev/null 2>&1") == 0;
#endif
    ngx_argv[0] = (char *)"sh";
    ngx_argv[1] = (char *)"tests/http/start_nginx.sh";
    ngx_argv[2] = g_ngx_dir;
    ngx_argv[3] = (char *)"0";
    if (tls) {
        ngx_argv[4] = (char *)"0";
        ngx_argv[5] = (char *)IT_CERTS "/ec-chain.pem";
        ngx_argv[6] = (char *)IT_CERTS "/ec.key";
        ngx_argv[7] = NULL;
    } else {
        ngx_argv[4] = NULL;
    }
    if (hl_test_server_start(&g_ngx, ngx_argv) != 0) g_ngx.port = 0;

    IT_TEST(t_nginx_keepalive);
#if HL_ENABLE_TLS
    IT_TEST(t_https_nginx);
    IT_TEST(t_https_ip_literal);
#endif
    IT_TEST(t_pool_parallel);
    IT_TEST(t_idle_timeout);
    IT_TEST(t_idle_close_stale);
    IT_TEST(t_pool_other_origin);
    IT_TEST(t_forms);
    IT_TEST(t_slow_first_byte);
    IT_TEST(t_total_timeout);
    IT_TEST(t_class_timeouts);
    IT_TEST(t_flaky_503);
    IT_TEST(t_max_retries);
    IT_TEST(t_backoff_vs_deadline);
    IT_TEST(t_retry_after);
    IT_TEST(t_close_mid_body);
    IT_TEST(t_pooled_reset);
    IT_TEST(t_breaker);
    IT_TEST(t_post_retries);
    IT_TEST(t_info_meta);
    IT_TEST(t_info_big);
    IT_TEST(t_rate_wait);
    IT_TEST(t_rate_fail);
    IT_TEST(t_request_id_traceparent);
    IT_TEST(t_bad_requests);
    IT_TEST(t_bad_framing);
    IT_TEST(t_max_header_size);
    IT_TEST(t_max_headers);
    IT_TEST(t_max_endpoints);
    IT_TEST(t_request_size);
    IT_TEST(t_queue_full);
    IT_TEST(t_cancel);
    IT_TEST(t_reentry);
    IT_TEST(t_connect_timeout);
    IT_TEST(t_total_timeout_connecting);
    IT_TEST(t_connect_budget);
    IT_TEST(t_chunk_framing_buffer);
    IT_TEST(t_fetch_error_detail); /* last: see there */

    hl_test_server_stop(&g_ngx);
    hl_test_server_stop(&g_fault);
    if (g_ngx_dir[0]) {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_ngx_dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_ngx_dir);
    }
    return hl_test_summary();
}
