/* dxlink_profile - a second protocol profile, for a DXLink-like service (dxFeed's WebSocket
   protocol), written against the public hl_profile interface only, to show that the interface is
   not Hyperliquid's alone; and a small client that uses it.

   dxlink_profile [-t SECONDS] [-v] [-k KEEPALIVE_S] [-a TOKEN] URL [TYPE:SYMBOL ...]
   e.g. (the local stand-in server: tests/servers/dxlink_server.py)
       /usr/bin/python3 tests/servers/dxlink_server.py --port 8081 &
       build/dxlink_profile ws://127.0.0.1:8081/ Quote:AAPL Trade:AAPL Quote:MSFT
   Prints every routed event message on stdout, prefixed with its route ("Quote|AAPL"), for
   SECONDS (default 10), reconnecting after drops; lifecycle lines on stderr with -v.

   THE PROTOCOL SUBSET. This is a plausible, self-consistent subset of DXLink, written from its
   public descriptions (message names and shapes of dxFeed's dxlink-websocket-client), not from
   a specification; tests/servers/dxlink_server.py implements the same subset and says where it
   chose. Messages are JSON objects with "type" and "channel" (0: the connection):
     * on every connect, before any subscription, the client sends SETUP (with keepaliveTimeout,
       acceptKeepaliveTimeout), AUTH when it has a token, CHANNEL_REQUEST for channel 1, service
       FEED, and FEED_SETUP asking for the FULL data format (dxlink_send_setup, called from
       HL_EV_OPEN);
     * subscriptions are {"type":"Quote","symbol":"AAPL"} objects (extra members such as fromTime
       or source go along as written); subscribe and unsubscribe are
       {"type":"FEED_SUBSCRIPTION","channel":1,"add":[SUB]} and ..."remove":[SUB]...;
     * data is {"type":"FEED_DATA","channel":1,"data":[{"eventType":"Quote","eventSymbol":"AAPL",
       ...}, ...]}, routed by "eventType|eventSymbol" of its FIRST event;
     * keepalives are {"type":"KEEPALIVE","channel":0} in both directions;
     * errors are {"type":"ERROR","channel":N,"error":KIND,"message":TEXT}.

   HOW IT MAPS ONTO hl_profile, and what does not fit:
     * The handshake (SETUP, AUTH, CHANNEL_REQUEST, FEED_SETUP) is not a profile function: the
       interface has no "connection opened" hook. The application sends it on HL_EV_OPEN; that
       works because the library replays the registry's subscriptions at the end of the turn
       that delivered HL_EV_OPEN, so the handshake is queued first. It also assumes the server
       takes FEED_SUBSCRIPTION before it has answered CHANNEL_OPENED (the subset's server
       does); a service that insists on the answer would need the interface to hold
       subscriptions until the profile says the session is ready.
     * Keepalive: the server's KEEPALIVE is classified HL_MSGK_PING, so the library answers each
       one with app_pong (a KEEPALIVE): a client that answers meets its own keepaliveTimeout
       because the subset's server sends one every acceptKeepaliveTimeout / 2. The profile has
       NO application ping of its own (app_ping_ms 0): the library's application ping waits for
       an HL_MSGK_PONG answer and fails the connection without it, and DXLink answers nothing
       (a KEEPALIVE that is both "ping" and "pong" cannot be classified as both). Do not set
       hl_ws_desc.app_ping_ms with this profile. Detect a dead server with
       hl_ws_desc.silence_timeout_ms instead (the server promised something at least every
       acceptKeepaliveTimeout seconds).
     * No per-subscription acknowledgement exists in DXLink (FEED_CONFIG answers FEED_SETUP and
       names no subscription). The profile says so (sub_no_ack = 1): a subscription counts as
       HL_SUB_ACTIVE once its FEED_SUBSCRIPTION message is out, so HL_EV_GAP after a reconnect
       and HL_EV_STALE work as for a venue with acks.
     * An ERROR whose message embeds a subscription object (the subset's server writes
       "Unknown event type: {...}") fails that subscription (HL_SUB_FAILED, the text as detail);
       other errors reach the application as HL_EV_MESSAGE.
     * One FEED_DATA message can carry events of several symbols; a profile gives one route key
       per message, so only the first event's route gets the message. The subset's server sends
       one event per message; a real client would need a split hook in the interface, or one
       subscription route for the whole channel.
     * COMPACT data format (field order from FEED_CONFIG's eventFields) needs per-connection
       state that classify does not have: such messages are HL_MSGK_OTHER. FEED_SETUP asks for
       FULL.
     * The channel number (1) is fixed: the profile functions get no per-connection context.
   Everything else, other messages included (SETUP, AUTH_STATE, CHANNEL_OPENED, FEED_CONFIG),
   is HL_MSGK_OTHER and reaches the application as HL_EV_MESSAGE.

   The JSON scanning here only walks the envelope (the members of the top object, and of the
   first event), never the whole message, as hl_profile.classify asks.

   tests/test_it_dxlink.c includes this file with DXLINK_PROFILE_ONLY defined, to use the
   profile without the main program.

   Build: cc -std=c99 -I. examples/dxlink_profile.c -o build/dxlink_profile */

#ifndef DXLINK_PROFILE_ONLY
#define HL_NET_IMPLEMENTATION
#endif
#include "hl_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DXLINK_CHANNEL 1
#define DXLINK_CHANNEL_TEXT "1"

/* ---- a small JSON envelope scanner (no tokenizer: the profile only looks at a few members) */

static const char *dxlink_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* One past the end of the JSON value at p, or NULL when it is cut off. */
static const char *dxlink_skip(const char *p, const char *e)
{
    int depth = 0;
    p = dxlink_ws(p, e);
    if (p >= e) return NULL;
    if (*p == '"') {
        for (p++; p < e; p++) {
            if (*p == '\\') p++;
            else if (*p == '"') return p + 1;
        }
        return NULL;
    }
    if (*p == '{' || *p == '[') {
        for (; p < e; p++) {
            if (*p == '"') {
                p = dxlink_skip(p, e);
                if (!p) return NULL;
                p--; /* the loop steps past the closing quote */
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
        }
        return NULL;
    }
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') p++;
    return p;
}

/* The start of member name's value in the object at p (members before it are skipped, the
   rest is not read), or NULL. */
static const char *dxlink_find(const char *p, const char *e, const char *name)
{
    size_t n = strlen(name);
    p = dxlink_ws(p, e);
    if (p >= e || *p != '{') return NULL;
    p++;
    for (;;) {
        const char *k, *ke, *v;
        p = dxlink_ws(p, e);
        if (p >= e || *p != '"') return NULL;
        k = p + 1;
        ke = dxlink_skip(p, e);
        if (!ke) return NULL;
        p = dxlink_ws(ke, e);
        if (p >= e || *p != ':') return NULL;
        v = dxlink_ws(p + 1, e);
        if ((size_t)(ke - 1 - k) == n && memcmp(k, name, n) == 0) return v;
        p = dxlink_skip(v, e);
        if (!p) return NULL;
        p = dxlink_ws(p, e);
        if (p >= e || *p != ',') return NULL;
        p++;
    }
}

/* The string value of member name (its bytes as written, without the quotes). */
static int dxlink_str(const char *obj, const char *e, const char *name, const char **s, size_t *n)
{
    const char *v = dxlink_find(obj, e, name), *ve;
    if (!v || *v != '"') return 0;
    ve = dxlink_skip(v, e);
    if (!ve) return 0;
    *s = v + 1;
    *n = (size_t)(ve - v - 2);
    return 1;
}

static int dxlink_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* key = "type|symbol" (the bytes as written). Returns its length, or -1 when it does not fit. */
static int dxlink_key(char *key, size_t cap, const char *t, size_t tn, const char *s, size_t sn)
{
    if (tn + 1 + sn + 1 > cap) return -1;
    memcpy(key, t, tn);
    key[tn] = '|';
    memcpy(key + tn + 1, s, sn);
    key[tn + 1 + sn] = '\0';
    return (int)(tn + 1 + sn);
}

/* ---- the profile ---- */

static int dxlink_copy(char *out, size_t cap, const char *text)
{
    size_t n = strlen(text);
    if (n + 1 > cap) return HL_E_INVALID;
    memcpy(out, text, n + 1);
    return (int)n;
}

static int dxlink_app_ping(char *out, size_t cap)
{
    return dxlink_copy(out, cap, "{\"type\":\"KEEPALIVE\",\"channel\":0}");
}

static int dxlink_app_pong(const char *ping, size_t len, char *out, size_t cap)
{
    (void)ping;
    (void)len;
    return dxlink_copy(out, cap, "{\"type\":\"KEEPALIVE\",\"channel\":0}");
}

static int dxlink_sub_message(const char *sub, size_t n, int unsubscribe, char *out, size_t cap)
{
    static const char head[] = "{\"type\":\"FEED_SUBSCRIPTION\",\"channel\":" DXLINK_CHANNEL_TEXT ",\"";
    const char *verb = unsubscribe ? "remove\":[" : "add\":[";
    size_t hn = sizeof head - 1, vn = strlen(verb), len = hn + vn + n + 2;
    if (len + 1 > cap || len > 0x7FFFFFFF) return HL_E_INVALID; /* no room: nothing cut short */
    memcpy(out, head, hn);
    memcpy(out + hn, verb, vn);
    memcpy(out + hn + vn, sub, n);
    memcpy(out + hn + vn + n, "]}", 3);
    return (int)len;
}

static int dxlink_sub_route(const char *sub, size_t n, char *key, size_t cap)
{
    const char *t, *s;
    size_t tn, sn;
    int k;
    if (!dxlink_str(sub, sub + n, "type", &t, &tn) || !dxlink_str(sub, sub + n, "symbol", &s, &sn) || !tn || !sn)
        return HL_E_INVALID;
    k = dxlink_key(key, cap, t, tn, s, sn);
    return k < 0 ? HL_E_INVALID : k;
}

/* The subscription object inside an error text ("Unknown event type: {\"type\":..}"), with
   JSON string escapes undone, into info->scratch. */
static void dxlink_error_sub(const char *text, size_t n, hl_msg_info *info)
{
    const char *b = (const char *)memchr(text, '{', n);
    size_t i, o = 0;
    if (!b) return;
    for (i = (size_t)(b - text); i < n && o + 1 < sizeof info->scratch; i++) {
        if (text[i] == '\\' && i + 1 < n) i++;
        info->scratch[o++] = text[i];
    }
    info->scratch[o] = '\0';
    info->sub = info->scratch;
    info->sub_len = o;
}

static void dxlink_classify(const char *msg, size_t len, hl_msg_info *info)
{
    const char *e = msg + len, *t, *d;
    size_t tn;
    info->kind = HL_MSGK_OTHER;
    if (!dxlink_str(msg, e, "type", &t, &tn)) return;
    if (dxlink_is(t, tn, "KEEPALIVE")) {
        info->kind = HL_MSGK_PING; /* answered with app_pong */
    } else if (dxlink_is(t, tn, "FEED_DATA")) {
        const char *et, *es;
        size_t etn, esn;
        int k;
        d = dxlink_find(msg, e, "data");
        if (!d || *d != '[') return;
        d = dxlink_ws(d + 1, e);
        if (d >= e || *d != '{') return; /* COMPACT (or empty): not this profile's */
        if (!dxlink_str(d, e, "eventType", &et, &etn) || !dxlink_str(d, e, "eventSymbol", &es, &esn)) return;
        k = dxlink_key(info->key, sizeof info->key, et, etn, es, esn);
        if (k < 0) return;
        info->key_len = (size_t)k;
        info->kind = HL_MSGK_DATA;
    } else if (dxlink_is(t, tn, "ERROR")) {
        info->kind = HL_MSGK_ERROR;
        if (dxlink_str(msg, e, "message", &info->text, &info->text_len))
            dxlink_error_sub(info->text, info->text_len, info);
    }
}

static const hl_profile dxlink_profile_def = {
    "dxlink",
    0, /* no application ping: see the top (the server's keepalives are answered instead) */
    0, /* no outbound message budget known */
    0, /* no subscription limit known */
    dxlink_app_ping, dxlink_app_pong, dxlink_sub_message, dxlink_sub_route, dxlink_classify,
    1, /* DXLink acknowledges no subscription: active once sent */
};

static const hl_profile *dxlink_profile(void)
{
    return &dxlink_profile_def;
}

/* What the connection handshake announces. */
typedef struct dxlink_setup {
    const char *token;    /* AUTH token, or NULL for none */
    double keepalive_s;   /* keepaliveTimeout and acceptKeepaliveTimeout; 0: 60 */
    const char *contract; /* FEED channel contract; NULL: "AUTO" */
} dxlink_setup;

/* Queue the handshake; call it on HL_EV_OPEN (every connect), before the library replays the
   subscriptions. Returns HL_OK or the first failing hl_ws_send's result. */
static int dxlink_send_setup(hl_ctx *ctx, hl_ws ws, const dxlink_setup *su)
{
    char m[512];
    double ka = su && su->keepalive_s > 0 ? su->keepalive_s : 60;
    const char *contract = su && su->contract ? su->contract : "AUTO";
    int n, rc;
    size_t i;
    if (su && su->token) /* the token goes into a JSON string as it is */
        for (i = 0; su->token[i]; i++)
            if (su->token[i] == '"' || su->token[i] == '\\' || (unsigned char)su->token[i] < 0x20) return HL_E_INVALID;
    n = snprintf(m, sizeof m,
                 "{\"type\":\"SETUP\",\"channel\":0,\"version\":\"0.1-hl_net/" HL_NET_VERSION "\","
                 "\"keepaliveTimeout\":%g,\"acceptKeepaliveTimeout\":%g}", ka, ka);
    rc = hl_ws_send(ctx, ws, HL_MSG_TEXT, m, (size_t)n);
    if (rc == HL_OK && su && su->token) {
        n = snprintf(m, sizeof m, "{\"type\":\"AUTH\",\"channel\":0,\"token\":\"%.400s\"}", su->token);
        rc = hl_ws_send(ctx, ws, HL_MSG_TEXT, m, (size_t)n);
    }
    if (rc == HL_OK) {
        n = snprintf(m, sizeof m, "{\"type\":\"CHANNEL_REQUEST\",\"channel\":%d,\"service\":\"FEED\","
                                  "\"parameters\":{\"contract\":\"%.40s\"}}", DXLINK_CHANNEL, contract);
        rc = hl_ws_send(ctx, ws, HL_MSG_TEXT, m, (size_t)n);
    }
    if (rc == HL_OK) {
        n = snprintf(m, sizeof m, "{\"type\":\"FEED_SETUP\",\"channel\":%d,\"acceptAggregationPeriod\":0,"
                                  "\"acceptDataFormat\":\"FULL\"}", DXLINK_CHANNEL);
        rc = hl_ws_send(ctx, ws, HL_MSG_TEXT, m, (size_t)n);
    }
    return rc;
}

#ifndef DXLINK_PROFILE_ONLY

/* ---- the client ---- */

#include <signal.h>

#define DXC_MAX_SUBS 32

typedef struct dxc {
    dxlink_setup setup;
    int verbose;
    int done;
    unsigned long events;
    char sub_json[DXC_MAX_SUBS][128];
    hl_sub subs[DXC_MAX_SUBS];
    int nsubs;
} dxc;

static unsigned char dxc_memory[4u << 20];
static volatile sig_atomic_t dxc_interrupted;

static void dxc_on_sigint(int sig)
{
    (void)sig;
    dxc_interrupted = 1;
    signal(SIGINT, dxc_on_sigint);
}

static void dxc_on_data(hl_ctx *ctx, const hl_msg *msg)
{
    dxc *c = (dxc *)msg->user;
    char key[96];
    int i;
    (void)ctx;
    c->events++;
    for (i = 0; i < c->nsubs; i++)
        if (c->subs[i].id == msg->sub.id) break;
    if (i == c->nsubs || dxlink_sub_route(c->sub_json[i], strlen(c->sub_json[i]), key, sizeof key) < 0) key[0] = '\0';
    printf("%s %.*s\n", key, (int)msg->len, (const char *)msg->data);
}

static void dxc_on_event(hl_ctx *ctx, const hl_event *ev)
{
    dxc *c = (dxc *)ev->user;
    switch (ev->type) {
    case HL_EV_OPEN: {
        int rc = dxlink_send_setup(ctx, ev->ws, &c->setup);
        if (c->verbose) fprintf(stderr, "dxlink: open; handshake queued (%s)\n", hl_result_name(rc));
        break;
    }
    case HL_EV_MESSAGE:
        if (c->verbose) fprintf(stderr, "dxlink: message %.*s\n", (int)(ev->len > 300 ? 300 : ev->len), (const char *)ev->data);
        break;
    case HL_EV_SUB:
        if (ev->sub_state == HL_SUB_FAILED || c->verbose)
            fprintf(stderr, "dxlink: subscription %u: state %d %s\n", (unsigned)ev->sub.id, (int)ev->sub_state, ev->detail);
        break;
    case HL_EV_DISCONNECT:
        fprintf(stderr, "dxlink: disconnected (%s: %s); reconnecting in %lu ms\n", hl_result_name(ev->result), ev->detail,
                (unsigned long)ev->delay_ms);
        break;
    case HL_EV_STATE:
        if (c->verbose) fprintf(stderr, "dxlink: state %s -> %s\n", hl_state_str(ev->prev_state), hl_state_str(ev->state));
        break;
    case HL_EV_CLOSE:
        c->done = 1;
        if (ev->result && ev->result != HL_E_CLOSED)
            fprintf(stderr, "dxlink: closed: %s (%s)\n", ev->detail, hl_result_name(ev->result));
        break;
    default:
        break;
    }
}

static int dxc_usage(void)
{
    fprintf(stderr, "usage: dxlink_profile [-t SECONDS] [-v] [-k KEEPALIVE_S] [-a TOKEN] URL [TYPE:SYMBOL ...]\n"
                    "       (default subscriptions: Quote:AAPL Trade:AAPL Quote:MSFT)\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const char *const defaults[] = {"Quote:AAPL", "Trade:AAPL", "Quote:MSFT"};
    static dxc c;
    const char *url = NULL, *subs[DXC_MAX_SUBS];
    int nsubs = 0, i, rc;
    double seconds = 10;
    hl_config cfg;
    hl_ctx *ctx;
    hl_ws_desc desc;
    hl_ws ws;
    uint64_t end;
    const hl_config *rc_cfg;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) c.verbose = 1;
        else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) c.setup.keepalive_s = atof(argv[++i]);
        else if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) c.setup.token = argv[++i];
        else if (argv[i][0] == '-') return dxc_usage();
        else if (!url) url = argv[i];
        else if (nsubs < DXC_MAX_SUBS) subs[nsubs++] = argv[i];
    }
    if (!url || !(seconds > 0)) return dxc_usage();
    if (!nsubs)
        for (; nsubs < 3; nsubs++) subs[nsubs] = defaults[nsubs];

    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    if (hl_ctx_size(&cfg) > sizeof dxc_memory || hl_ctx_init(&ctx, dxc_memory, sizeof dxc_memory, &cfg) != HL_OK) {
        fprintf(stderr, "dxlink: context memory too small\n");
        return 1;
    }
    memset(&desc, 0, sizeof desc);
    desc.url = url;
    desc.on_event = dxc_on_event;
    desc.user = &c;
    desc.profile = dxlink_profile();
    desc.reconnect = 1;
    desc.backoff.initial_ms = 500;
    desc.backoff.max_ms = 5000;
    /* the server promised a message at least every acceptKeepaliveTimeout */
    desc.silence_timeout_ms = (uint32_t)((c.setup.keepalive_s > 0 ? c.setup.keepalive_s : 60) * 1000);
    rc = hl_ws_connect(ctx, &desc, &ws);
    if (rc != HL_OK) {
        fprintf(stderr, "dxlink: cannot connect to '%s': %s\n", url, hl_result_name(rc));
        return rc == HL_E_BAD_URL ? 2 : 1;
    }
    for (i = 0; i < nsubs; i++) {
        const char *colon = strchr(subs[i], ':');
        hl_sub_desc sd;
        if (!colon || colon == subs[i] || !colon[1]) return dxc_usage();
        snprintf(c.sub_json[i], sizeof c.sub_json[i], "{\"type\":\"%.*s\",\"symbol\":\"%s\"}",
                 (int)(colon - subs[i]), subs[i], colon + 1);
        memset(&sd, 0, sizeof sd);
        sd.subscription = c.sub_json[i];
        sd.on_message = dxc_on_data;
        sd.user = &c;
        rc = hl_ws_subscribe(ctx, ws, &sd, &c.subs[i]);
        if (rc != HL_OK) {
            fprintf(stderr, "dxlink: cannot subscribe to %s: %s\n", c.sub_json[i], hl_result_name(rc));
            return 2;
        }
        c.nsubs++;
    }

    signal(SIGINT, dxc_on_sigint);
    rc_cfg = hl_ctx_config(ctx);
    end = rc_cfg->clock(rc_cfg->user) + (uint64_t)(seconds * 1e9);
    while (!c.done) {
        if ((dxc_interrupted || rc_cfg->clock(rc_cfg->user) >= end) && hl_ws_state(ctx, ws) != HL_STATE_CLOSING) {
            if (hl_ws_close(ctx, ws, 1000, NULL) != HL_OK) hl_ws_abort(ctx, ws);
            dxc_interrupted = 0;
            end = (uint64_t)-1;
        }
        fflush(stdout);
        if (hl_poll(ctx, 200) < 0) break;
    }
    hl_ctx_shutdown(ctx);
    fprintf(stderr, "dxlink: %lu events routed\n", c.events);
    return c.events ? 0 : 1;
}

#endif /* DXLINK_PROFILE_ONLY */
