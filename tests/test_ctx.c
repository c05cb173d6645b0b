/* The context: configuration defaults, sizing, init into caller memory, the connection pool and
   handles, argument checks of hl_ws_connect, result strings. No network: a resolver hook stands
   in for DNS and the tests never let a connection get as far as a socket. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

/* ---- hooks ---- */

static int g_resolve_calls;
static int g_entropy_calls;

static int resolve_fail(void *user, const char *host, uint16_t port, hl_addr *out, int max)
{
    (void)user; (void)host; (void)port; (void)out; (void)max;
    g_resolve_calls++;
    return HL_E_DNS;
}

static int entropy_fixed(void *user, void *buf, size_t len)
{
    (void)user;
    g_entropy_calls++;
    memset(buf, 0x5A, len);
    return 0;
}

static int entropy_broken(void *user, void *buf, size_t len)
{
    (void)user; (void)buf; (void)len;
    return -1;
}

static uint64_t g_now = 1000000000ull;
static uint64_t clock_fake(void *user)
{
    (void)user;
    return g_now;
}

static char g_logged[4096];
static void log_collect(void *user, hl_log_level level, uint32_t conn_id, const char *msg)
{
    size_t n = strlen(g_logged);
    (void)user; (void)conn_id;
    snprintf(g_logged + n, sizeof g_logged - n, "%d:%s\n", (int)level, msg);
}

/* ---- events ---- */

#define EV_MAX 64
static hl_event g_ev[EV_MAX];
static char g_ev_detail[EV_MAX][160];
static int g_nev;
static int g_reentry_rc = 1;

static void on_event(hl_ctx *ctx, const hl_event *ev)
{
    if (g_reentry_rc == 1) g_reentry_rc = hl_poll(ctx, 0); /* not allowed from a callback */
    if (g_nev < EV_MAX) {
        g_ev[g_nev] = *ev;
        snprintf(g_ev_detail[g_nev], sizeof g_ev_detail[0], "%s", ev->detail ? ev->detail : "(null)");
        g_nev++;
    }
}

static int count_events(hl_event_type t)
{
    int i, n = 0;
    for (i = 0; i < g_nev; i++) n += g_ev[i].type == t;
    return n;
}

static const hl_event *find_event(hl_event_type t)
{
    int i;
    for (i = 0; i < g_nev; i++)
        if (g_ev[i].type == t) return &g_ev[i];
    return NULL;
}

/* A small configuration that never touches the network by itself. */
static hl_config small_config(void)
{
    hl_config c;
    memset(&c, 0, sizeof c);
    c.max_connections = 2;
    c.max_message_size = 4096;
    c.read_chunk_size = 1024;
    c.send_queue_size = 2048;
    c.max_header_size = 1024;
    c.resolve = resolve_fail;
    c.entropy = entropy_fixed;
    c.clock = clock_fake;
    return c;
}

static void *g_mem;
static hl_ctx *new_ctx(const hl_config *c)
{
    size_t n = hl_ctx_size(c);
    hl_ctx *ctx = NULL;
    g_mem = malloc(n);
    if (!g_mem) return NULL;
    if (hl_ctx_init(&ctx, g_mem, n, c) != HL_OK) {
        free(g_mem);
        g_mem = NULL;
        return NULL;
    }
    g_nev = 0;
    g_reentry_rc = 1;
    g_resolve_calls = 0;
    return ctx;
}

static void free_ctx(hl_ctx *ctx)
{
    if (ctx) hl_ctx_shutdown(ctx);
    free(g_mem);
    g_mem = NULL;
}

static hl_ws_desc desc_for(const char *url)
{
    hl_ws_desc d;
    memset(&d, 0, sizeof d);
    d.url = url;
    d.on_event = on_event;
    return d;
}

/* ==================================================================================== */

static void test_config_defaults(void)
{
    hl_config c, zero;
    int pass;
    memset(&zero, 0, sizeof zero);
    for (pass = 0; pass < 2; pass++) {
        memset(&c, 0xFF, sizeof c);
        hl_config_resolve(pass ? &zero : NULL, &c);
        CHECK_EQ(c.max_connections, 4);
        CHECK_EQ(c.max_message_size, 1u << 20);
        CHECK_EQ(c.read_chunk_size, 16u << 10);
        CHECK_EQ(c.send_queue_size, 256u << 10);
        CHECK_EQ(c.max_header_size, 8u << 10);
        CHECK_EQ(c.connect_timeout_ms, 10000);
        CHECK_EQ(c.handshake_timeout_ms, 10000);
        CHECK_EQ(c.close_timeout_ms, 5000);
        CHECK_EQ(c.log_level, HL_LOG_INFO);
        CHECK(c.clock != NULL);
        CHECK(c.entropy != NULL);
        CHECK(c.resolve != NULL);
        CHECK(c.log == NULL);
        CHECK(c.user == NULL);
    }
    /* the default clock is monotonic and moves in nanoseconds */
    {
        uint64_t a = c.clock(NULL), b = c.clock(NULL);
        CHECK(a > 0);
        CHECK(b >= a);
    }
    /* the default entropy fills the buffer */
    {
        unsigned char buf[64];
        size_t i, nz = 0;
        memset(buf, 0, sizeof buf);
        CHECK_EQ(c.entropy(NULL, buf, sizeof buf), 0);
        for (i = 0; i < sizeof buf; i++) nz += buf[i] != 0;
        CHECK(nz > 32);
    }
}

static void test_config_keeps_values(void)
{
    hl_config in, out;
    int user;
    memset(&in, 0, sizeof in);
    in.max_connections = 7;
    in.max_message_size = 12345;
    in.read_chunk_size = 5000;
    in.send_queue_size = 9999;
    in.max_header_size = 777;
    in.connect_timeout_ms = 1;
    in.handshake_timeout_ms = 2;
    in.close_timeout_ms = 3;
    in.log_level = HL_LOG_DEBUG;
    in.clock = clock_fake;
    in.entropy = entropy_fixed;
    in.resolve = resolve_fail;
    in.log = log_collect;
    in.user = &user;
    hl_config_resolve(&in, &out);
    CHECK_EQ(out.max_connections, 7);
    CHECK_EQ(out.max_message_size, 12345);
    CHECK_EQ(out.read_chunk_size, 5000);
    CHECK_EQ(out.send_queue_size, 9999);
    CHECK_EQ(out.max_header_size, 777);
    CHECK_EQ(out.connect_timeout_ms, 1);
    CHECK_EQ(out.handshake_timeout_ms, 2);
    CHECK_EQ(out.close_timeout_ms, 3);
    CHECK_EQ(out.log_level, HL_LOG_DEBUG);
    CHECK(out.clock == clock_fake);
    CHECK(out.entropy == entropy_fixed);
    CHECK(out.resolve == resolve_fail);
    CHECK(out.log == log_collect);
    CHECK(out.user == &user);
    /* in place */
    hl_config_resolve(&in, &in);
    CHECK_EQ(in.max_connections, 7);
    CHECK_EQ(in.close_timeout_ms, 3);
}

/* Floors: a read chunk of at least 1 KiB, headers of at least 256 bytes, a send queue of at
   least twice the control-frame reserve. */
static void test_config_minimums(void)
{
    hl_config in, out;
    memset(&in, 0, sizeof in);
    in.read_chunk_size = 1;
    in.max_header_size = 1;
    in.send_queue_size = 1;
    hl_config_resolve(&in, &out);
    CHECK_EQ(out.read_chunk_size, 1024);
    CHECK_EQ(out.max_header_size, 256);
    CHECK_EQ(out.send_queue_size, 2 * HL__TX_CTRL_RESERVE);
    in.read_chunk_size = 1023;
    in.max_header_size = 255;
    hl_config_resolve(&in, &out);
    CHECK_EQ(out.read_chunk_size, 1024);
    CHECK_EQ(out.max_header_size, 256);
    in.read_chunk_size = 1025;
    in.max_header_size = 257;
    in.send_queue_size = 2 * HL__TX_CTRL_RESERVE + 1;
    hl_config_resolve(&in, &out);
    CHECK_EQ(out.read_chunk_size, 1025);
    CHECK_EQ(out.max_header_size, 257);
    CHECK_EQ(out.send_queue_size, 2 * HL__TX_CTRL_RESERVE + 1);
}

/* Every sizing field changes hl_ctx_size, by at least what it adds per connection. */
static void test_ctx_size_grows(void)
{
    hl_config base = small_config(), c;
    size_t s0 = hl_ctx_size(&base), s;
    hl_config zero;
    memset(&zero, 0, sizeof zero);
    CHECK(s0 > 2 * (4096 + 1024 + 2048));
    CHECK_EQ(hl_ctx_size(NULL), hl_ctx_size(&zero));
    CHECK(hl_ctx_size(NULL) > 4 * ((1u << 20) + (16u << 10) + (256u << 10)));

    c = base;
    c.max_connections = 3;
    s = hl_ctx_size(&c);
    CHECK(s >= s0 + 4096 + 1024 + 2048);
    c = base;
    c.max_message_size = 4096 + 10000;
    s = hl_ctx_size(&c);
    CHECK(s >= s0 + 2 * 10000);
    c = base;
    c.read_chunk_size = 1024 + 10000;
    s = hl_ctx_size(&c);
    CHECK(s >= s0 + 2 * 10000);
    c = base;
    c.send_queue_size = 2048 + 10000;
    s = hl_ctx_size(&c);
    CHECK(s >= s0 + 2 * 10000);
    /* the receive buffer holds a head and a body (HTTP), so the header size always counts */
    c = base;
    c.max_header_size = 4096 + 10000;
    s = hl_ctx_size(&c);
    CHECK(s >= s0 + 2 * 10000);
    c = base;
    c.max_header_size = (base.max_header_size ? base.max_header_size : 8192) + 1000;
    CHECK(hl_ctx_size(&c) >= s0 + 2 * 1000);
    /* fields that are not sizes leave it alone */
    c = base;
    c.connect_timeout_ms = 1;
    c.log_level = HL_LOG_DEBUG;
    CHECK_EQ(hl_ctx_size(&c), s0);
}

static void test_ctx_init_memory(void)
{
    hl_config c = small_config();
    size_t n = hl_ctx_size(&c), skew;
    hl_ctx *ctx;
    unsigned char *m;
    /* one byte short */
    m = (unsigned char *)malloc(n);
    ctx = (hl_ctx *)m;
    CHECK_EQ(hl_ctx_init(&ctx, m, n - 1, &c), HL_E_NO_MEMORY);
    CHECK(ctx == NULL);
    CHECK_EQ(hl_ctx_init(&ctx, m, 0, &c), HL_E_NO_MEMORY);
    /* exact */
    CHECK_EQ(hl_ctx_init(&ctx, m, n, &c), HL_OK);
    CHECK((unsigned char *)ctx >= m && (unsigned char *)ctx < m + n);
    CHECK(hl_ctx_config(ctx)->max_message_size == 4096);
    CHECK(hl_ctx_config(ctx)->connect_timeout_ms == 10000); /* resolved */
    hl_ctx_shutdown(ctx);
    free(m);
    /* any alignment: heap blocks of exactly n bytes starting at every offset mod 16 */
    for (skew = 1; skew < 16; skew++) {
        m = (unsigned char *)malloc(n + skew);
        CHECK_EQ(hl_ctx_init(&ctx, m + skew, n, &c), HL_OK);
        CHECK((unsigned char *)ctx >= m + skew && (unsigned char *)ctx < m + skew + n);
        hl_ctx_shutdown(ctx);
        free(m);
    }
    /* nothing written outside the block */
    {
        size_t i;
        m = (unsigned char *)malloc(n + 64);
        memset(m, 0xA5, n + 64);
        CHECK_EQ(hl_ctx_init(&ctx, m + 31, n, &c), HL_OK);
        for (i = 0; i < 31; i++) CHECK_EQ(m[i], 0xA5);
        for (i = 31 + n; i < n + 64; i++) CHECK_EQ(m[i], 0xA5);
        hl_ctx_shutdown(ctx);
        free(m);
    }
    /* bad arguments */
    CHECK_EQ(hl_ctx_init(NULL, g_ev, sizeof g_ev, &c), HL_E_INVALID);
    CHECK_EQ(hl_ctx_init(&ctx, NULL, n, &c), HL_E_INVALID);
}

/* The entropy hook seeds the context; a failing one fails init. */
static void test_ctx_entropy(void)
{
    hl_config c = small_config();
    size_t n = hl_ctx_size(&c);
    unsigned char *m = (unsigned char *)malloc(n);
    hl_ctx *ctx;
    g_entropy_calls = 0;
    CHECK_EQ(hl_ctx_init(&ctx, m, n, &c), HL_OK);
    CHECK(g_entropy_calls >= 1);
    hl_ctx_shutdown(ctx);
    c.entropy = entropy_broken;
    CHECK_EQ(hl_ctx_init(&ctx, m, n, &c), HL_E_IO);
    free(m);
}

/* max_connections handles can be had without polling; one more is HL_E_POOL_EMPTY. */
static void test_pool_exhaustion(void)
{
    hl_config c = small_config();
    hl_ctx *ctx;
    hl_ws ws[4];
    hl_ws_desc d = desc_for("ws://127.0.0.1:9/");
    int i;
    c.max_connections = 3;
    ctx = new_ctx(&c);
    CHECK(ctx != NULL);
    if (!ctx) return;
    for (i = 0; i < 3; i++) {
        CHECK_EQ(hl_ws_connect(ctx, &d, &ws[i]), HL_OK);
        CHECK(ws[i].id != 0);
        CHECK_EQ(hl_ws_state(ctx, ws[i]), HL_STATE_IDLE);
    }
    CHECK(ws[0].id != ws[1].id && ws[1].id != ws[2].id && ws[0].id != ws[2].id);
    ws[3].id = 12345;
    CHECK_EQ(hl_ws_connect(ctx, &d, &ws[3]), HL_E_POOL_EMPTY);
    CHECK_EQ(ws[3].id, 0);
    CHECK_EQ(g_resolve_calls, 0); /* nothing happens outside hl_poll */
    CHECK_EQ(g_nev, 0);
    CHECK_EQ(hl_pollfds(ctx, NULL, 0), 0); /* no sockets yet */
    CHECK_EQ(hl_next_timeout(ctx), 0);     /* but work is due */
    /* not open yet */
    CHECK_EQ(hl_ws_send(ctx, ws[0], HL_MSG_TEXT, "x", 1), HL_E_STATE);
    CHECK_EQ(hl_ws_ping(ctx, ws[0], "x", 1), HL_E_STATE);
    free_ctx(ctx);
}

/* A connection that ended leaves a stale handle; its slot's next handle differs. */
static void test_stale_handle(void)
{
    hl_config c = small_config();
    hl_ctx *ctx;
    hl_ws ws, ws2, other;
    hl_ws_desc d = desc_for("ws://nowhere.invalid/");
    hl_ws_stats st;
    hl_error_info info;
    const hl_event *ev;
    int rc;
    c.max_connections = 1;
    memset(&info, 0xFF, sizeof info);
    ctx = new_ctx(&c);
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(hl_ws_connect(ctx, &d, &ws), HL_OK);
    CHECK_EQ(hl_ws_last_error(ctx, ws, &info), HL_OK);
    CHECK_EQ(info.result, HL_OK);
    CHECK_EQ(hl_ws_stats_get(ctx, ws, &st), HL_OK);
    rc = hl_process(ctx, NULL, 0);
    CHECK(rc >= 2);
    CHECK_EQ(g_resolve_calls, 1);
    CHECK_EQ(g_reentry_rc, HL_E_STATE); /* hl_poll from a callback is refused */
    CHECK_EQ(count_events(HL_EV_ERROR), 1);
    CHECK_EQ(count_events(HL_EV_CLOSE), 1);
    ev = find_event(HL_EV_CLOSE);
    CHECK(ev != NULL);
    if (ev) {
        CHECK_EQ(ev->result, HL_E_DNS);
        CHECK_EQ(ev->close_code, 1006);
        CHECK_EQ(ev->close_origin, HL_CLOSE_BY_ERROR);
        CHECK_EQ(ev->ws.id, ws.id);
        CHECK(g_ev_detail[ev - g_ev][0] != '\0');
    }
    CHECK(g_nev > 0 && g_ev[g_nev - 1].type == HL_EV_CLOSE); /* the last word */
    /* the handle is dead */
    CHECK_EQ(hl_ws_send(ctx, ws, HL_MSG_TEXT, "x", 1), HL_E_BAD_HANDLE);
    CHECK_EQ(hl_ws_send_fragment(ctx, ws, HL_MSG_TEXT, "x", 1, 1), HL_E_BAD_HANDLE);
    CHECK_EQ(hl_ws_ping(ctx, ws, NULL, 0), HL_E_BAD_HANDLE);
    CHECK_EQ(hl_ws_close(ctx, ws, 1000, NULL), HL_E_BAD_HANDLE);
    CHECK_EQ(hl_ws_abort(ctx, ws), HL_E_BAD_HANDLE);
    CHECK_EQ(hl_ws_stats_get(ctx, ws, &st), HL_E_BAD_HANDLE);
    CHECK_EQ(hl_ws_last_error(ctx, ws, &info), HL_E_BAD_HANDLE);
    CHECK_EQ(hl_ws_state(ctx, ws), HL_STATE_CLOSED);
    CHECK_EQ(hl_ws_send_room(ctx, ws), 0);
    /* the slot is free again, under a new handle */
    CHECK_EQ(hl_ws_connect(ctx, &d, &ws2), HL_OK);
    CHECK(ws2.id != ws.id);
    CHECK_EQ(hl_ws_send(ctx, ws, HL_MSG_TEXT, "x", 1), HL_E_BAD_HANDLE);
    CHECK_EQ(hl_ws_state(ctx, ws2), HL_STATE_IDLE);
    /* handles never issued */
    other.id = 0;
    CHECK_EQ(hl_ws_abort(ctx, other), HL_E_BAD_HANDLE);
    other.id = (ws2.id & 0xFFFF0000u) | 2; /* slot 2 of a 1-slot pool */
    CHECK_EQ(hl_ws_abort(ctx, other), HL_E_BAD_HANDLE);
    other.id = 0xFFFFFFFFu;
    CHECK_EQ(hl_ws_abort(ctx, other), HL_E_BAD_HANDLE);
    free_ctx(ctx);
}

/* Abort (or close) before the first poll ends the connection without resolving or connecting. */
static void test_abort_before_poll(void)
{
    hl_config c = small_config();
    hl_ctx *ctx;
    hl_ws ws;
    hl_ws_desc d = desc_for("ws://example.invalid/");
    const hl_event *ev;
    int which;
    for (which = 0; which < 2; which++) {
        ctx = new_ctx(&c);
        CHECK(ctx != NULL);
        if (!ctx) return;
        CHECK_EQ(hl_ws_connect(ctx, &d, &ws), HL_OK);
        if (which == 0) CHECK_EQ(hl_ws_abort(ctx, ws), HL_OK);
        else CHECK_EQ(hl_ws_close(ctx, ws, 1000, "bye"), HL_OK);
        hl_process(ctx, NULL, 0);
        hl_process(ctx, NULL, 0);
        CHECK_EQ(g_resolve_calls, 0);
        CHECK_EQ(count_events(HL_EV_CLOSE), 1);
        ev = find_event(HL_EV_CLOSE);
        if (ev) CHECK_EQ(ev->close_origin, HL_CLOSE_BY_LOCAL);
        CHECK_EQ(hl_ws_state(ctx, ws), HL_STATE_CLOSED);
        if (hl_test_failed_now)
            printf("  %s before the first poll: resolver called %d times, %d events\n",
                   which ? "hl_ws_close" : "hl_ws_abort", g_resolve_calls, g_nev);
        free_ctx(ctx);
        if (hl_test_failed_now) return;
    }
}

static void test_connect_bad_url(void)
{
    static const char *const urls[] = {"ftp://h/", "h:80", "", "ws://", "ws://h:0/",
                                       "ws://h/#frag", "http://h/", "https://h/", "ws://a b/"};
    hl_config c = small_config();
    hl_ctx *ctx = new_ctx(&c);
    hl_ws ws;
    size_t i;
    CHECK(ctx != NULL);
    if (!ctx) return;
    for (i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        hl_ws_desc d = desc_for(urls[i]);
        ws.id = 99;
        CHECK_EQ(hl_ws_connect(ctx, &d, &ws), HL_E_BAD_URL);
        CHECK_EQ(ws.id, 0);
    }
    /* no slot was used up by the refusals */
    {
        hl_ws_desc d = desc_for("ws://h/");
        CHECK_EQ(hl_ws_connect(ctx, &d, &ws), HL_OK);
        CHECK_EQ(hl_ws_connect(ctx, &d, &ws), HL_OK);
    }
    free_ctx(ctx);
}

static void test_connect_wss_without_tls(void)
{
#if !HL_ENABLE_TLS
    hl_config c = small_config();
    hl_ctx *ctx = new_ctx(&c);
    hl_ws ws;
    hl_ws_desc d = desc_for("wss://example.com/ws");
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(hl_ws_connect(ctx, &d, &ws), HL_E_UNSUPPORTED);
    CHECK_EQ(ws.id, 0);
    d.url = "WSS://[::1]:443/";
    CHECK_EQ(hl_ws_connect(ctx, &d, &ws), HL_E_UNSUPPORTED);
    free_ctx(ctx);
#endif
}

static void test_connect_invalid_arguments(void)
{
    hl_config c = small_config();
    hl_ctx *ctx = new_ctx(&c);
    hl_ws ws;
    hl_ws_desc d = desc_for("ws://h/");
    char longp[300];
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(hl_ws_connect(NULL, &d, &ws), HL_E_INVALID);
    CHECK_EQ(hl_ws_connect(ctx, NULL, &ws), HL_E_INVALID);
    CHECK_EQ(hl_ws_connect(ctx, &d, NULL), HL_E_INVALID);
    d.on_event = NULL;
    CHECK_EQ(hl_ws_connect(ctx, &d, &ws), HL_E_INVALID);
    d = desc_for(NULL);
    CHECK_EQ(hl_ws_connect(ctx, &d, &ws), HL_E_INVALID);
    d = desc_for("ws://h/");
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    d.subprotocols = longp;
    CHECK_EQ(hl_ws_connect(ctx, &d, &ws), HL_E_INVALID);
    free_ctx(ctx);
}

/* log_level filters what reaches the log callback. */
static void test_log_level(void)
{
    hl_config c = small_config();
    hl_ctx *ctx;
    hl_ws ws;
    hl_ws_desc bad = desc_for("ftp://h/"), good = desc_for("ws://h/");
    c.max_connections = 1;
    c.log = log_collect;
    c.log_level = HL_LOG_ERROR;
    ctx = new_ctx(&c);
    CHECK(ctx != NULL);
    if (!ctx) return;
    g_logged[0] = '\0';
    CHECK_EQ(hl_ws_connect(ctx, &bad, &ws), HL_E_BAD_URL); /* an error: logged */
    CHECK(strstr(g_logged, "1:") == g_logged);
    CHECK_EQ(hl_ws_connect(ctx, &good, &ws), HL_OK);
    g_logged[0] = '\0';
    CHECK_EQ(hl_ws_connect(ctx, &good, &ws), HL_E_POOL_EMPTY); /* a warning: filtered */
    CHECK_EQ(g_logged[0], '\0');
    free_ctx(ctx);
    c.log_level = HL_LOG_WARN;
    ctx = new_ctx(&c);
    if (!ctx) return;
    CHECK_EQ(hl_ws_connect(ctx, &good, &ws), HL_OK);
    g_logged[0] = '\0';
    CHECK_EQ(hl_ws_connect(ctx, &good, &ws), HL_E_POOL_EMPTY);
    CHECK(strstr(g_logged, "max_connections") != NULL); /* names the field to raise */
    free_ctx(ctx);
}

#define RC(x) {x, #x}
static const struct { int code; const char *name; } results[] = {
    RC(HL_OK), RC(HL_E_INVALID), RC(HL_E_BAD_URL), RC(HL_E_STATE), RC(HL_E_UNSUPPORTED),
    RC(HL_E_BAD_HANDLE), RC(HL_E_NO_MEMORY), RC(HL_E_POOL_EMPTY), RC(HL_E_QUEUE_FULL),
    RC(HL_E_MSG_TOO_BIG), RC(HL_E_HEADER_TOO_BIG), RC(HL_E_CONNECT_TIMEOUT),
    RC(HL_E_HANDSHAKE_TIMEOUT), RC(HL_E_CLOSE_TIMEOUT), RC(HL_E_PONG_TIMEOUT), RC(HL_E_SILENCE),
    RC(HL_E_REQUEST_TIMEOUT), RC(HL_E_DNS), RC(HL_E_CONNECT_REFUSED),
    RC(HL_E_CONNECT), RC(HL_E_IO), RC(HL_E_RESET), RC(HL_E_EOF), RC(HL_E_TLS), RC(HL_E_TLS_CERT),
    RC(HL_E_HANDSHAKE), RC(HL_E_PROTOCOL), RC(HL_E_BAD_UTF8), RC(HL_E_HTTP_PROTOCOL),
    RC(HL_E_CLOSED), RC(HL_E_RATE_LIMITED), RC(HL_E_CIRCUIT_OPEN),
};

static void test_result_strings(void)
{
    size_t n = sizeof results / sizeof results[0], i, j;
    const char *unk_str = hl_result_str(12345), *unk_name = hl_result_name(12345);
    CHECK(unk_str && unk_str[0]);
    CHECK(unk_name && unk_name[0]);
    CHECK(hl_result_str(-9999) && hl_result_str(-9999)[0]);
    for (i = 0; i < n; i++) {
        const char *s = hl_result_str(results[i].code), *nm = hl_result_name(results[i].code);
        CHECK(s != NULL && s[0] != '\0');
        CHECK(nm != NULL && strcmp(nm, results[i].name) == 0);
        CHECK(strcmp(s, unk_str) != 0);
        for (j = 0; j < i; j++) {
            CHECK(strcmp(s, hl_result_str(results[j].code)) != 0);
            CHECK(strcmp(nm, hl_result_name(results[j].code)) != 0);
        }
        if (results[i].code != HL_OK) CHECK(results[i].code < 0);
    }
    /* every code the library knows (its name is not the fallback) is in the table above, so a
       new code cannot slip in without a distinct name and text */
    {
        int code, known = 0;
        for (code = -200; code <= 0; code++) {
            int listed = 0;
            if (strcmp(hl_result_name(code), unk_name) == 0) {
                CHECK(strcmp(hl_result_str(code), unk_str) == 0);
                continue;
            }
            known++;
            for (i = 0; i < n; i++) listed |= results[i].code == code;
            CHECK(listed);
            if (!listed) printf("  result %d (%s) is not in test_ctx.c's table\n", code, hl_result_name(code));
        }
        CHECK_EQ(known, (int)n);
    }
}

static void test_state_strings(void)
{
    int s, t;
    for (s = HL_STATE_IDLE; s <= HL_STATE_CLOSED; s++) {
        const char *a = hl_state_str((hl_state)s);
        CHECK(a && a[0] && strcmp(a, "UNKNOWN") != 0);
        for (t = HL_STATE_IDLE; t < s; t++) CHECK(strcmp(a, hl_state_str((hl_state)t)) != 0);
    }
    CHECK(strcmp(hl_state_str((hl_state)99), "UNKNOWN") == 0);
    CHECK(strcmp(hl_state_str(HL_STATE_OPEN), "OPEN") == 0);
}

/* An idle context has no deadline, no sockets, and a poll returns at once with no events. */
static void test_idle_context(void)
{
    hl_config c = small_config();
    hl_ctx *ctx = new_ctx(&c);
    hl_pollfd fds[2];
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK_EQ(hl_next_timeout(ctx), -1);
    CHECK_EQ(hl_pollfds(ctx, fds, 2), 0);
    CHECK_EQ(hl_poll(ctx, 0), 0);
    CHECK_EQ(hl_poll(ctx, -1), 0); /* nothing could wake it: returns instead of hanging */
    CHECK_EQ(hl_process(ctx, NULL, 0), 0);
    CHECK_EQ(hl_next_timeout(NULL), -1);
    CHECK_EQ(hl_process(NULL, NULL, 0), HL_E_INVALID);
    CHECK_EQ(hl_process(ctx, NULL, 1), HL_E_INVALID);
    CHECK_EQ(hl_pollfds(ctx, NULL, 1), HL_E_INVALID);
    CHECK_EQ(hl_poll(NULL, 0), HL_E_INVALID);
    CHECK_EQ(g_nev, 0);
    free_ctx(ctx);
}

int main(void)
{
    HL_TEST(test_config_defaults);
    HL_TEST(test_config_keeps_values);
    HL_TEST(test_config_minimums);
    HL_TEST(test_ctx_size_grows);
    HL_TEST(test_ctx_init_memory);
    HL_TEST(test_ctx_entropy);
    HL_TEST(test_pool_exhaustion);
    HL_TEST(test_stale_handle);
    HL_TEST(test_abort_before_poll);
    HL_TEST(test_connect_bad_url);
    HL_TEST(test_connect_wss_without_tls);
    HL_TEST(test_connect_invalid_arguments);
    HL_TEST(test_log_level);
    HL_TEST(test_result_strings);
    HL_TEST(test_state_strings);
    HL_TEST(test_idle_context);
    return hl_test_summary();
}
