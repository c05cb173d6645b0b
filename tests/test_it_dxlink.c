/* The second protocol profile: examples/dxlink_profile.c (a DXLink-like profile written against
   the public hl_profile interface) against tests/servers/dxlink_server.py, the local server of
   the same protocol subset. Checks that subscriptions made through the profile reach the server
   in its format, that data comes back routed by event type and symbol to the right handler,
   that the server's keepalives are answered (the server ends a silent client, and a connection
   without the profile shows that it does), that unsubscribe, a refused subscription, a reconnect
   with replay and authorization work. The profile's own functions are checked on fixed inputs
   too. No timing is asserted; every wait has a generous limit. POSIX only, like the harness. */
#include "harness.h"

#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#define DXLINK_PROFILE_ONLY
#include "examples/dxlink_profile.c"

#include <poll.h>

#define DX_SERVER "tests/servers/dxlink_server.py"

/* ---- the server, with its stdout kept for the replies to control lines ------------------- */

typedef struct dx_srv {
    pid_t pid;
    int in_fd, out_fd;
    int port;
    char buf[4096];
    size_t len;
} dx_srv;

/* One line from the server's stdout into out (without the newline); 0, or -1 after timeout_ms
   or at EOF. */
static int dx_line(dx_srv *s, char *out, size_t cap, int timeout_ms)
{
    int waited = 0;
    for (;;) {
        char *nl = (char *)memchr(s->buf, '\n', s->len);
        struct pollfd p;
        ssize_t r;
        if (nl) {
            size_t n = (size_t)(nl - s->buf);
            snprintf(out, cap, "%.*s", (int)n, s->buf);
            memmove(s->buf, nl + 1, s->len - n - 1);
            s->len -= n + 1;
            return 0;
        }
        if (waited >= timeout_ms || s->len == sizeof s->buf) return -1;
        p.fd = s->out_fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 50) <= 0) {
            waited += 50;
            continue;
        }
        r = read(s->out_fd, s->buf + s->len, sizeof s->buf - s->len);
        if (r <= 0) return -1;
        s->len += (size_t)r;
    }
}

/* Start the server with extra arguments (NULL-terminated); 0 with s->port set, or -1. */
static int dx_start(dx_srv *s, const char *const *extra)
{
    char *argv[16];
    char line[128];
    int in[2], out[2], n = 0;
    memset(s, 0, sizeof *s);
    s->pid = -1;
    argv[n++] = (char *)"/usr/bin/python3";
    argv[n++] = (char *)DX_SERVER;
    while (extra && *extra && n < 15) argv[n++] = (char *)*extra++;
    argv[n] = NULL;
    if (pipe(in) != 0) return -1;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->in_fd = in[1];
    s->out_fd = out[0];
    while (dx_line(s, line, sizeof line, 10000) == 0)
        if (sscanf(line, "READY %d", &s->port) == 1) return 0;
    return -1;
}

static void dx_stop(dx_srv *s)
{
    int i, st;
    if (s->pid <= 0) return;
    close(s->in_fd); /* the server leaves at the end of its stdin */
    for (i = 0; i < 100 && waitpid(s->pid, &st, WNOHANG) == 0; i++) hl_test_sleep_ms(20);
    if (i == 100) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, &st, 0);
    }
    close(s->out_fd);
    s->pid = 0;
}

/* Send a control line and read its one-line reply. */
static int dx_cmd(dx_srv *s, const char *cmd, char *reply, size_t cap)
{
    size_t n = strlen(cmd);
    if (write(s->in_fd, cmd, n) != (ssize_t)n || write(s->in_fd, "\n", 1) != 1) return -1;
    return dx_line(s, reply, cap, 5000);
}

/* A counter from the server's "stats" line ("keepalives"), or -1. */
static long dx_stat(dx_srv *s, const char *name)
{
    char reply[256], key[64];
    const char *p;
    if (dx_cmd(s, "stats", reply, sizeof reply) != 0) return -1;
    snprintf(key, sizeof key, " %s=", name);
    p = strstr(reply, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static dx_srv g_srv, g_auth_srv;

/* ---- a client of the library with the profile ------------------------------------------ */

#define DX_MAX_ROUTES 4

typedef struct dx_route {
    const char *json;  /* the subscription */
    const char *match; /* what every one of its messages must contain */
    hl_sub sub;
    unsigned long msgs, wrong, after_reopen;
    struct dx_client *c;
} dx_route;

typedef struct dx_client {
    hl_ctx *ctx;
    void *mem;
    hl_ws ws;
    int connected; /* hl_ws_connect succeeded */
    dxlink_setup setup;
    int send_setup;
    dx_route routes[DX_MAX_ROUTES];
    int nroutes;
    unsigned long opens, disconnects, messages;
    int saw_setup, saw_authorized, saw_opened, saw_config, saw_timeout, saw_unauthorized, saw_unrouted_data;
    int failed;
    hl_sub failed_sub;
    char failed_detail[200];
    int closed, close_code;
    hl_close_origin close_origin;
} dx_client;

static void dx_on_data(hl_ctx *ctx, const hl_msg *msg)
{
    dx_route *r = (dx_route *)msg->user;
    (void)ctx;
    r->msgs++;
    if (r->c->opens >= 2) r->after_reopen++;
    /* the message must be the route's: the profile routes by the first event (the data is a
       view, not a C string: search a terminated copy) */
    char m[2048];
    size_t n = msg->len < sizeof m - 1 ? msg->len : sizeof m - 1;
    memcpy(m, msg->data, n);
    m[n] = '\0';
    if (!strstr(m, "\"type\":\"FEED_DATA\"") || !strstr(m, r->match)) r->wrong++;
}

static void dx_on_event(hl_ctx *ctx, const hl_event *ev)
{
    dx_client *c = (dx_client *)ev->user;
    switch (ev->type) {
    case HL_EV_OPEN:
        c->opens++;
        if (c->send_setup) CHECK_EQ(dxlink_send_setup(ctx, ev->ws, &c->setup), HL_OK);
        break;
    case HL_EV_MESSAGE: {
        /* the data is a view, not a C string: what follows it in the buffer is not ours */
        char m[2048];
        size_t n = ev->len < sizeof m - 1 ? ev->len : sizeof m - 1;
        memcpy(m, ev->data, n);
        m[n] = '\0';
        c->messages++;
        if (strstr(m, "\"type\":\"SETUP\"")) c->saw_setup = 1;
        if (strstr(m, "\"state\":\"AUTHORIZED\"")) c->saw_authorized = 1;
        if (strstr(m, "\"type\":\"CHANNEL_OPENED\"")) c->saw_opened = 1;
        if (strstr(m, "\"type\":\"FEED_CONFIG\"")) c->saw_config = 1;
        if (strstr(m, "\"error\":\"TIMEOUT\"")) c->saw_timeout = 1;
        if (strstr(m, "\"error\":\"UNAUTHORIZED\"")) c->saw_unauthorized = 1;
        if (strstr(m, "\"type\":\"FEED_DATA\"")) c->saw_unrouted_data = 1;
        break;
    }
    case HL_EV_SUB:
        if (ev->sub_state == HL_SUB_FAILED) {
            c->failed++;
            c->failed_sub = ev->sub;
            snprintf(c->failed_detail, sizeof c->failed_detail, "%s", ev->detail);
        }
        break;
    case HL_EV_DISCONNECT:
        c->disconnects++;
        break;
    case HL_EV_CLOSE:
        c->closed = 1;
        c->close_code = ev->close_code;
        c->close_origin = ev->close_origin;
        break;
    default:
        break;
    }
}

/* A context and a connection to port; with_profile 0 makes a plain connection (no profile). */
static int dx_client_open(dx_client *c, int port, int with_profile, int reconnect, const char *token,
                          double keepalive_s)
{
    hl_config cfg;
    hl_ws_desc d;
    char url[64];
    size_t need;
    memset(c, 0, sizeof *c);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.max_subscriptions = 8;
    cfg.max_message_size = 64 << 10;
    cfg.send_queue_size = 64 << 10;
    need = hl_ctx_size(&cfg);
    c->mem = malloc(need);
    if (!c->mem || hl_ctx_init(&c->ctx, c->mem, need, &cfg) != HL_OK) return -1;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    memset(&d, 0, sizeof d);
    d.url = url;
    d.on_event = dx_on_event;
    d.user = c;
    d.profile = with_profile ? dxlink_profile() : NULL;
    d.reconnect = reconnect;
    d.backoff.initial_ms = 50;
    d.backoff.max_ms = 200;
    c->setup.token = token;
    c->setup.keepalive_s = keepalive_s;
    c->send_setup = 1;
    if (hl_ws_connect(c->ctx, &d, &c->ws) != HL_OK) return -1;
    c->connected = 1;
    return 0;
}

static int dx_subscribe(dx_client *c, const char *json, const char *match)
{
    dx_route *r = &c->routes[c->nroutes];
    hl_sub_desc sd;
    int rc;
    if (c->nroutes == DX_MAX_ROUTES) return HL_E_INVALID;
    r->json = json;
    r->match = match;
    r->c = c;
    memset(&sd, 0, sizeof sd);
    sd.subscription = json;
    sd.on_message = dx_on_data;
    sd.user = r;
    rc = hl_ws_subscribe(c->ctx, c->ws, &sd, &r->sub);
    if (rc == HL_OK) c->nroutes++;
    return rc;
}

/* Poll until done(c) or timeout_ms; returns done(c). */
static int dx_run(dx_client *c, int (*done)(const dx_client *), int timeout_ms)
{
    const hl_config *cfg = hl_ctx_config(c->ctx);
    uint64_t end = cfg->clock(cfg->user) + (uint64_t)timeout_ms * 1000000u;
    while (!(done && done(c)) && cfg->clock(cfg->user) < end) {
        if (hl_poll(c->ctx, 20) < 0) break;
    }
    return done ? done(c) : 0;
}

/* Close (1000) and wait for the end, then free. */
static void dx_client_close(dx_client *c)
{
    if (c->ctx && c->connected && !c->closed) {
        const hl_config *cfg = hl_ctx_config(c->ctx);
        uint64_t end = cfg->clock(cfg->user) + 3000000000u;
        if (hl_ws_close(c->ctx, c->ws, 1000, NULL) != HL_OK) hl_ws_abort(c->ctx, c->ws);
        while (!c->closed && cfg->clock(cfg->user) < end) hl_poll(c->ctx, 20);
    }
    if (c->ctx) hl_ctx_shutdown(c->ctx);
    free(c->mem);
    c->mem = NULL;
    c->ctx = NULL;
}

static int dx_each_route_has(const dx_client *c, unsigned long n)
{
    int i;
    for (i = 0; i < c->nroutes; i++)
        if (c->routes[i].msgs < n) return 0;
    return c->nroutes > 0;
}

static int dx_five_each(const dx_client *c)
{
    return dx_each_route_has(c, 5);
}

static int dx_closed(const dx_client *c)
{
    return c->closed;
}

static int dx_failed(const dx_client *c)
{
    return c->failed > 0 && c->routes[0].msgs >= 2;
}

static int dx_reopened_and_flowing(const dx_client *c)
{
    int i;
    if (c->opens < 2) return 0;
    for (i = 0; i < c->nroutes; i++)
        if (c->routes[i].after_reopen < 3) return 0;
    return 1;
}

static int dx_never(const dx_client *c)
{
    (void)c;
    return 0;
}

#define NEED_SERVER(s)                                                                            \
    do {                                                                                          \
        if ((s).port <= 0) {                                                                      \
            hl_test_fail_at(__FILE__, __LINE__, "no server (see the setup line)");                 \
            return;                                                                               \
        }                                                                                         \
    } while (0)

/* ---- the profile's functions on fixed inputs --------------------------------------------- */

#define DX_S(lit) lit, strlen(lit) /* a string literal and its length */

static void t_profile_functions(void)
{
    const hl_profile *p = dxlink_profile();
    char out[256], key[96];
    hl_msg_info info;
    const char *sub = "{\"type\":\"Quote\",\"symbol\":\"AAPL\"}";
    const char *data = "{\"type\":\"FEED_DATA\",\"channel\":1,\"data\":[{\"eventType\":\"Trade\",\"eventSymbol\":"
                       "\"BRK/A\",\"price\":1.5},{\"eventType\":\"Quote\",\"eventSymbol\":\"X\"}]}";
    const char *err = "{\"type\":\"ERROR\",\"channel\":1,\"error\":\"INVALID_MESSAGE\",\"message\":"
                      "\"Unknown event type: {\\\"type\\\":\\\"Bogus\\\",\\\"symbol\\\":\\\"X\\\"}\"}";
    int n;
    CHECK(strcmp(p->name, "dxlink") == 0);
    CHECK_EQ(p->app_ping_ms, 0);
    n = p->sub_message(sub, strlen(sub), 0, out, sizeof out);
    CHECK(n > 0 && strcmp(out, "{\"type\":\"FEED_SUBSCRIPTION\",\"channel\":1,\"add\":[{\"type\":\"Quote\",\"symbol\":\"AAPL\"}]}") == 0);
    CHECK_EQ(n, (int)strlen(out));
    n = p->sub_message(sub, strlen(sub), 1, out, sizeof out);
    CHECK(n > 0 && strcmp(out, "{\"type\":\"FEED_SUBSCRIPTION\",\"channel\":1,\"remove\":[{\"type\":\"Quote\",\"symbol\":\"AAPL\"}]}") == 0);
    CHECK(p->sub_message(sub, strlen(sub), 0, out, 20) < 0); /* no room: an error, not a cut message */
    n = p->sub_route(sub, strlen(sub), key, sizeof key);
    CHECK(n == 10 && strcmp(key, "Quote|AAPL") == 0);
    /* member order and spaces do not matter; a missing symbol cannot be routed */
    n = p->sub_route(DX_S("{ \"symbol\" : \"MSFT\", \"fromTime\": 0, \"type\":\"Candle\" }"), key, sizeof key);
    CHECK(n > 0 && strcmp(key, "Candle|MSFT") == 0);
    CHECK(p->sub_route(DX_S("{\"type\":\"Quote\"}"), key, sizeof key) < 0);
    n = p->app_ping(out, sizeof out);
    CHECK(n > 0 && strcmp(out, "{\"type\":\"KEEPALIVE\",\"channel\":0}") == 0);
    n = p->app_pong(DX_S("{\"type\":\"KEEPALIVE\",\"channel\":0}"), out, sizeof out);
    CHECK(n > 0 && strcmp(out, "{\"type\":\"KEEPALIVE\",\"channel\":0}") == 0);

    memset(&info, 0, sizeof info);
    p->classify(data, strlen(data), &info); /* routed by its first event */
    CHECK_EQ(info.kind, HL_MSGK_DATA);
    CHECK(strcmp(info.key, "Trade|BRK/A") == 0 && info.key_len == 11);
    memset(&info, 0, sizeof info);
    p->classify(DX_S("{\"channel\":0,\"type\":\"KEEPALIVE\"}"), &info);
    CHECK_EQ(info.kind, HL_MSGK_PING);
    memset(&info, 0, sizeof info);
    p->classify(err, strlen(err), &info);
    CHECK_EQ(info.kind, HL_MSGK_ERROR);
    CHECK(info.text && info.text_len > 20 && strncmp(info.text, "Unknown event type: ", 20) == 0);
    CHECK(info.sub && strcmp(info.sub, "{\"type\":\"Bogus\",\"symbol\":\"X\"}") == 0);
    memset(&info, 0, sizeof info);
    p->classify(DX_S("{\"type\":\"FEED_CONFIG\",\"channel\":1,\"dataFormat\":\"FULL\"}"), &info);
    CHECK_EQ(info.kind, HL_MSGK_OTHER);
    memset(&info, 0, sizeof info); /* COMPACT is not this profile's */
    p->classify(DX_S("{\"type\":\"FEED_DATA\",\"channel\":1,\"data\":[\"Quote\",[\"Quote\",\"AAPL\",1,2]]}"), &info);
    CHECK_EQ(info.kind, HL_MSGK_OTHER);
    memset(&info, 0, sizeof info); /* cut off, or not an object */
    p->classify(DX_S("{\"type\":\"FEED_DATA\",\"channel\":1,\"data\":[{\"eventType\":\"Quo"), &info);
    CHECK_EQ(info.kind, HL_MSGK_OTHER);
    memset(&info, 0, sizeof info);
    p->classify(DX_S("KEEPALIVE"), &info);
    CHECK_EQ(info.kind, HL_MSGK_OTHER);
}

/* ---- against the server ------------------------------------------------------------------ */

/* Three subscriptions through the profile; every message reaches the handler of its route. */
static void t_routed(void)
{
    dx_client c;
    hl_sub_stats ss;
    int i;
    NEED_SERVER(g_srv);
    memset(&ss, 0, sizeof ss);
    if (dx_client_open(&c, g_srv.port, 1, 0, NULL, 0) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "client setup failed");
        dx_client_close(&c);
        return;
    }
    CHECK_EQ(dx_subscribe(&c, "{\"type\":\"Quote\",\"symbol\":\"AAPL\"}", "\"eventType\":\"Quote\",\"eventSymbol\":\"AAPL\""), HL_OK);
    CHECK_EQ(dx_subscribe(&c, "{\"type\":\"Trade\",\"symbol\":\"AAPL\"}", "\"eventType\":\"Trade\",\"eventSymbol\":\"AAPL\""), HL_OK);
    CHECK_EQ(dx_subscribe(&c, "{\"symbol\":\"MSFT\",\"type\":\"Quote\"}", "\"eventType\":\"Quote\",\"eventSymbol\":\"MSFT\""), HL_OK);
    CHECK(dx_run(&c, dx_five_each, 8000));
    for (i = 0; i < c.nroutes; i++) CHECK_EQ(c.routes[i].wrong, 0);
    CHECK(c.saw_setup && c.saw_authorized && c.saw_opened && c.saw_config);
    CHECK(!c.saw_unrouted_data);
    CHECK_EQ(c.disconnects, 0);
    CHECK(!c.closed);
    /* DXLink acknowledges no subscription: the profile's sub_no_ack makes one ACTIVE once sent */
    CHECK_EQ(hl_sub_stats_get(c.ctx, c.routes[0].sub, &ss), HL_OK);
    CHECK_EQ(ss.state, HL_SUB_ACTIVE);
    CHECK(ss.msgs >= 5);
    dx_client_close(&c);
}

/* The server sends KEEPALIVE every 0.2 s and ends a client silent for the keepaliveTimeout it
   announced (0.6 s here): the profile's connection answers every keepalive and stays up well
   past that; a connection without the profile does not answer and is ended. */
static void t_keepalive_answered(void)
{
    dx_client c, plain;
    long ka0, ka1;
    hl_ws_stats st;
    NEED_SERVER(g_srv);
    ka0 = dx_stat(&g_srv, "keepalives");
    if (dx_client_open(&c, g_srv.port, 1, 0, NULL, 0.6) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "client setup failed");
        dx_client_close(&c);
        return;
    }
    CHECK_EQ(dx_subscribe(&c, "{\"type\":\"Trade\",\"symbol\":\"IBM\"}", "\"eventSymbol\":\"IBM\""), HL_OK);
    dx_run(&c, dx_never, 2500);
    ka1 = dx_stat(&g_srv, "keepalives");
    CHECK(ka0 >= 0 && ka1 >= 0);
    CHECK(ka1 - ka0 >= 5); /* about 12 in 2.5 s */
    CHECK(!c.saw_timeout);
    CHECK(!c.closed);
    CHECK_EQ(c.disconnects, 0);
    CHECK(c.routes[0].msgs > 0);
    CHECK_EQ(hl_ws_stats_get(c.ctx, c.ws, &st), HL_OK);
    CHECK(st.msgs_out >= 3 + (uint64_t)(ka1 - ka0)); /* SETUP, CHANNEL_REQUEST, FEED_SETUP, ... */
    dx_client_close(&c);

    /* the control: no profile, nobody answers, the server gives up on the client */
    if (dx_client_open(&plain, g_srv.port, 0, 0, NULL, 0.6) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "plain client setup failed");
        dx_client_close(&plain);
        return;
    }
    CHECK(dx_run(&plain, dx_closed, 5000));
    CHECK(plain.saw_timeout);
    CHECK_EQ(plain.close_code, 1000);
    CHECK_EQ(plain.close_origin, HL_CLOSE_BY_PEER);
    dx_client_close(&plain);
}

/* Unsubscribe: the remove message reaches the server (one subscription fewer there) and no
   message reaches the route afterwards. */
static void t_unsubscribe(void)
{
    dx_client c;
    unsigned long msft;
    long subs0, subs1;
    NEED_SERVER(g_srv);
    if (dx_client_open(&c, g_srv.port, 1, 0, NULL, 0) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "client setup failed");
        dx_client_close(&c);
        return;
    }
    CHECK_EQ(dx_subscribe(&c, "{\"type\":\"Quote\",\"symbol\":\"AAPL\"}", "\"eventSymbol\":\"AAPL\""), HL_OK);
    CHECK_EQ(dx_subscribe(&c, "{\"type\":\"Quote\",\"symbol\":\"MSFT\"}", "\"eventSymbol\":\"MSFT\""), HL_OK);
    CHECK(dx_run(&c, dx_five_each, 8000));
    subs0 = dx_stat(&g_srv, "subs");
    CHECK_EQ(hl_ws_unsubscribe(c.ctx, c.routes[1].sub), HL_OK);
    msft = c.routes[1].msgs;
    dx_run(&c, dx_never, 600);
    subs1 = dx_stat(&g_srv, "subs");
    CHECK_EQ(c.routes[1].msgs, msft);
    CHECK(c.routes[0].msgs > 5);
    CHECK(subs0 >= 2);
    CHECK_EQ(subs1, subs0 - 1);
    dx_client_close(&c);
}

/* An event type the server does not know: the ERROR naming the subscription fails it, with the
   server's text; the others go on. */
static void t_sub_refused(void)
{
    dx_client c;
    NEED_SERVER(g_srv);
    if (dx_client_open(&c, g_srv.port, 1, 0, NULL, 0) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "client setup failed");
        dx_client_close(&c);
        return;
    }
    CHECK_EQ(dx_subscribe(&c, "{\"type\":\"Quote\",\"symbol\":\"AAPL\"}", "\"eventSymbol\":\"AAPL\""), HL_OK);
    CHECK_EQ(dx_subscribe(&c, "{\"symbol\":\"AAPL\",\"type\":\"Bogus\"}", "never"), HL_OK);
    CHECK(dx_run(&c, dx_failed, 5000));
    CHECK_EQ(c.failed, 1);
    CHECK_EQ(c.failed_sub.id, c.routes[1].sub.id);
    CHECK(strstr(c.failed_detail, "Unknown event type") != NULL);
    CHECK_EQ(c.routes[1].msgs, 0);
    CHECK_EQ(c.routes[0].wrong, 0);
    dx_client_close(&c);
}

/* The server drops the connection: the library reconnects, the application's handshake goes out
   again on the new HL_EV_OPEN, the library replays the subscriptions, data flows again. */
static void t_reconnect_replay(void)
{
    dx_client c;
    char reply[128];
    long setups0, setups1, subs;
    int i;
    NEED_SERVER(g_srv);
    setups0 = dx_stat(&g_srv, "setups");
    if (dx_client_open(&c, g_srv.port, 1, 1, NULL, 0) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "client setup failed");
        dx_client_close(&c);
        return;
    }
    CHECK_EQ(dx_subscribe(&c, "{\"type\":\"Quote\",\"symbol\":\"AAPL\"}", "\"eventType\":\"Quote\",\"eventSymbol\":\"AAPL\""), HL_OK);
    CHECK_EQ(dx_subscribe(&c, "{\"type\":\"Trade\",\"symbol\":\"MSFT\"}", "\"eventType\":\"Trade\",\"eventSymbol\":\"MSFT\""), HL_OK);
    CHECK(dx_run(&c, dx_five_each, 8000));
    CHECK_EQ(dx_cmd(&g_srv, "drop", reply, sizeof reply), 0);
    CHECK(strncmp(reply, "OK drop conns=", 14) == 0);
    CHECK(dx_run(&c, dx_reopened_and_flowing, 8000));
    CHECK_EQ(c.disconnects, 1);
    CHECK_EQ(c.opens, 2);
    for (i = 0; i < c.nroutes; i++) CHECK_EQ(c.routes[i].wrong, 0);
    setups1 = dx_stat(&g_srv, "setups");
    subs = dx_stat(&g_srv, "subs");
    CHECK_EQ(setups1 - setups0, 2); /* a SETUP on each connection */
    CHECK_EQ(subs, 2);              /* both replayed once on the new connection */
    dx_client_close(&c);
}

/* With --token, channels open only after AUTH: the right token gets data, a wrong one gets
   UNAUTHORIZED errors and nothing routed. */
static void t_auth(void)
{
    dx_client c;
    NEED_SERVER(g_auth_srv);
    if (dx_client_open(&c, g_auth_srv.port, 1, 0, "s3cret", 0) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "client setup failed");
        dx_client_close(&c);
        return;
    }
    CHECK_EQ(dx_subscribe(&c, "{\"type\":\"Quote\",\"symbol\":\"AAPL\"}", "\"eventSymbol\":\"AAPL\""), HL_OK);
    CHECK(dx_run(&c, dx_five_each, 8000));
    CHECK(c.saw_authorized && !c.saw_unauthorized);
    dx_client_close(&c);

    if (dx_client_open(&c, g_auth_srv.port, 1, 0, "wrong", 0) != 0) {
        hl_test_fail_at(__FILE__, __LINE__, "client setup failed");
        dx_client_close(&c);
        return;
    }
    CHECK_EQ(dx_subscribe(&c, "{\"type\":\"Quote\",\"symbol\":\"AAPL\"}", "\"eventSymbol\":\"AAPL\""), HL_OK);
    dx_run(&c, dx_never, 800);
    CHECK(c.saw_unauthorized);
    CHECK(!c.saw_authorized);
    CHECK_EQ(c.routes[0].msgs, 0);
    c.setup.token = "a\"b"; /* a token that cannot go into the JSON as it is */
    CHECK_EQ(dxlink_send_setup(c.ctx, c.ws, &c.setup), HL_E_INVALID);
    dx_client_close(&c);
}

static void dx_setup_line(const char *name, int ok)
{
    if (ok) {
        hl_test_passes++;
        printf("PASS %s\n", name);
    } else {
        hl_test_fails++;
        printf("FAIL %s: " DX_SERVER " did not start\n", name);
    }
    fflush(stdout);
}

int main(void)
{
    static const char *const plain[] = {"--rate", "20", "--keepalive", "0.2", NULL};
    static const char *const auth[] = {"--rate", "20", "--keepalive", "0.2", "--token", "s3cret", NULL};
    signal(SIGPIPE, SIG_IGN);
    HL_TEST(t_profile_functions);
    dx_setup_line("setup_dxlink_server", dx_start(&g_srv, plain) == 0);
    dx_setup_line("setup_dxlink_server_token", dx_start(&g_auth_srv, auth) == 0);
    HL_TEST(t_routed);
    HL_TEST(t_keepalive_answered);
    HL_TEST(t_unsubscribe);
    HL_TEST(t_sub_refused);
    HL_TEST(t_reconnect_replay);
    HL_TEST(t_auth);
    dx_stop(&g_auth_srv);
    dx_stop(&g_srv);
    return hl_test_summary();
}
