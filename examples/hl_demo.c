/* hl_demo - a live Hyperliquid market view that stays up by itself, built on hl_net.h's
   Hyperliquid profile.

   hl_demo [-t SECONDS] [-v] [URL]

   URL defaults to ws://127.0.0.1:8080/ws, the local stand-in for the exchange:
       /usr/bin/python3 tests/servers/hl_server.py --port 8080 --drop-every 5
   (`make demo` starts it on a free port and runs this program against it; see examples/demo.sh).
   With a TLS build the real endpoint works too: hl_demo wss://api.hyperliquid.xyz/ws

   What it shows:
     * trades of BTC, ETH, SOL and HYPE, each through its own handler (zero copy: the message is
       read where it arrived, with the library's JSON tokens);
     * bbo of BTC, also through a handler;
     * the l2Book of ETH through a pull queue instead: conflated, so it holds only the latest
       book however fast they come, and the program pulls it once a second;
     * one status line a second (rewritten in place with \r when stdout is a terminal, cut to
       its width): the connection state, reconnects so far, messages per second, the round-trip
       time, the last trade price per coin, BTC's best bid/ask and ETH's book top;
     * a line for each lifecycle event that matters: a disconnect with its reason and the delay
       before the next attempt, the reconnect, each subscription resubscribed with the length of
       its gap, a refused subscription, the circuit breaker opening.
   The connection has reconnection on (backoff 0.5 s doubling up to 5 s), an RFC 6455 ping
   every second (a pong missing for 3 s fails the connection) and Hyperliquid's application
   ping ({"method":"ping"}) after 5 s without traffic either way. The subscriptions live in the
   library's registry, so after every reconnect the library sends them again by itself: this
   program never resubscribes.

   After SECONDS (default 15), or at Ctrl-C, it closes with 1000 and prints the library's
   statistics (hl_stats_json, indented). Exit status 0 when market data arrived, 1 when none
   did (the last error says why), 2 on a usage error.

   Memory: one static block of HLDEMO_MEMORY bytes, checked against hl_ctx_size; no malloc.
   Build: cc -std=c99 -I. examples/hl_demo.c -o build/hl_demo
          (wss://: add -DHL_ENABLE_TLS=1 -I/usr/include/bearssl ... -lbearssl) */

#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <io.h>
#define hldemo_isatty() _isatty(_fileno(stdout))
#else
#include <sys/ioctl.h>
#include <unistd.h>
#define hldemo_isatty() isatty(1)
#endif

#ifndef HLDEMO_MEMORY
#define HLDEMO_MEMORY (4u << 20)
#endif
#define HLDEMO_DEFAULT_URL "ws://127.0.0.1:8080/ws"
#define HLDEMO_BOOK_MAX 16384u /* largest l2Book message the pull queue keeps */
#define HLDEMO_NCOINS 4
#define HLDEMO_NS 1000000000ull

static unsigned char hldemo_memory[HLDEMO_MEMORY];
static char hldemo_book[HLDEMO_BOOK_MAX + 1];
static char hldemo_stats[1 << 15];
static volatile sig_atomic_t hldemo_interrupted;

typedef struct hldemo_feed {
    const char *label;   /* "trades BTC" */
    const char *json;    /* the subscription */
    hl_sub sub;
    char px[24];         /* trades: last price */
} hldemo_feed;

typedef struct hldemo {
    const char *url;
    int verbose;
    int tty;
    int width;               /* of the terminal: the status line is cut to fit */
    int status_shown;        /* a status line is on screen without its newline */
    hl_ctx *ctx;
    hl_ws ws;
    hldemo_feed trades[HLDEMO_NCOINS];
    hldemo_feed bbo, book;
    char bbo_bid[24], bbo_ask[24], book_bid[24], book_ask[24];
    unsigned long data_msgs;  /* market data messages seen (handlers and pulls) */
    uint64_t msgs_in_last;    /* hl_ws_stats.msgs_in at the last status line */
    unsigned long opens;
    uint32_t next_attempt;    /* from the last disconnect */
    int done, closing;
    char last_error[200];
    int stats_len;
} hldemo;

static hldemo g_demo;

static void hldemo_on_sigint(int sig)
{
    (void)sig;
    hldemo_interrupted = 1;
    signal(SIGINT, hldemo_on_sigint);
}

static uint64_t hldemo_now(const hldemo *d)
{
    const hl_config *cfg = hl_ctx_config(d->ctx);
    return cfg->clock(cfg->user);
}

/* ---- output: event lines above a status line that is rewritten in place ---- */

static void hldemo_clear_status(hldemo *d)
{
    if (d->status_shown) {
        fputs("\r\033[K", stdout); /* back to the start of the line, erase it */
        d->status_shown = 0;
    }
}

static void hldemo_say(hldemo *d, const char *fmt, ...)
{
    va_list ap;
    hldemo_clear_status(d);
    fputs("demo: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static const char *hldemo_label(hldemo *d, hl_sub sub)
{
    int i;
    for (i = 0; i < HLDEMO_NCOINS; i++)
        if (d->trades[i].sub.id == sub.id) return d->trades[i].label;
    if (d->bbo.sub.id == sub.id) return d->bbo.label;
    if (d->book.sub.id == sub.id) return d->book.label;
    return "?";
}

static void hldemo_status(hldemo *d)
{
    char line[512];
    size_t n = 0;
    int i;
    hl_ws_stats st;
    uint64_t msgs = 0;
    char rtt[32] = "-";
    unsigned long reconnects = 0;
    if (hl_ws_stats_get(d->ctx, d->ws, &st) == HL_OK) {
        msgs = st.msgs_in - d->msgs_in_last;
        d->msgs_in_last = st.msgs_in;
        if (st.rtt_count) snprintf(rtt, sizeof rtt, "%.2f ms", (double)st.rtt_last_ns / 1e6);
        reconnects = st.connects ? (unsigned long)st.connects - 1 : 0;
    }
    /* the connection first, so a narrow terminal still shows it */
    n += (size_t)snprintf(line + n, sizeof line - n, "%s | reconnects %lu | %3lu msg/s | rtt %s |",
                          hl_state_str(hl_ws_state(d->ctx, d->ws)), reconnects, (unsigned long)msgs, rtt);
    for (i = 0; i < HLDEMO_NCOINS; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, " %s %s", d->trades[i].label + 7,
                              d->trades[i].px[0] ? d->trades[i].px : "-");
    n += (size_t)snprintf(line + n, sizeof line - n, " | bbo BTC %s/%s | book ETH %s/%s",
                          d->bbo_bid[0] ? d->bbo_bid : "-", d->bbo_ask[0] ? d->bbo_ask : "-",
                          d->book_bid[0] ? d->book_bid : "-", d->book_ask[0] ? d->book_ask : "-");
    if (n >= sizeof line) n = sizeof line - 1;
    if (d->tty) {
        if (d->width > 1 && n > (size_t)d->width - 1) line[d->width - 1] = '\0'; /* one row: \r works */
        hldemo_clear_status(d);
        fputs(line, stdout);
        d->status_shown = 1;
    } else {
        printf("%s\n", line);
    }
    fflush(stdout);
}

/* ---- reading the messages ---- */

/* Token kinds are told by the text, not by hl_json_tok.type: its values follow the jsmn
   version the library was built with (see the report on api.h). A string token starts after
   its opening quote; an array token at its '['. */
static int hldemo_tok_is(const char *js, const hl_json_tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->start > 0 && js[t->start - 1] == '"' && (size_t)(t->end - t->start) == n &&
           memcmp(js + t->start, s, n) == 0;
}

static int hldemo_tok_is_array(const char *js, const hl_json_tok *t)
{
    return js[t->start] == '[';
}

static void hldemo_tok_copy(char *out, size_t cap, const char *js, const hl_json_tok *t)
{
    size_t n = (size_t)(t->end - t->start);
    if (n >= cap) n = cap - 1;
    memcpy(out, js + t->start, n);
    out[n] = '\0';
}

/* trades: {"channel":"trades","data":[{"coin":..,"px":"..",..},..]}: the last trade's px. */
static void hldemo_on_trades(hl_ctx *ctx, const hl_msg *msg)
{
    hldemo_feed *f = (hldemo_feed *)msg->user;
    const hl_json_tok *t;
    const char *js = (const char *)msg->data;
    int n = hl_msg_tokens(ctx, msg, &t), i;
    g_demo.data_msgs++;
    for (i = 0; i + 1 < n; i++)
        if (t[i].size == 1 && hldemo_tok_is(js, &t[i], "px")) hldemo_tok_copy(f->px, sizeof f->px, js, &t[i + 1]);
}

/* bbo: {"channel":"bbo","data":{"coin":"BTC","time":..,"bbo":[bid,ask]}}, a side may be null. */
static void hldemo_on_bbo(hl_ctx *ctx, const hl_msg *msg)
{
    const hl_json_tok *t;
    const char *js = (const char *)msg->data;
    int n = hl_msg_tokens(ctx, msg, &t), i, arr = -1;
    g_demo.data_msgs++;
    g_demo.bbo_bid[0] = g_demo.bbo_ask[0] = '\0';
    for (i = 0; i + 1 < n; i++) {
        if (arr < 0 && t[i].size == 1 && hldemo_tok_is(js, &t[i], "bbo") && hldemo_tok_is_array(js, &t[i + 1])) arr = i + 1;
        if (arr >= 0 && t[i].size == 1 && hldemo_tok_is(js, &t[i], "px")) {
            int side = t[i].parent; /* the level object; the bid is the array's first child */
            if (side >= 0 && t[side].parent == arr)
                hldemo_tok_copy(side == arr + 1 ? g_demo.bbo_bid : g_demo.bbo_ask, sizeof g_demo.bbo_bid, js, &t[i + 1]);
        }
    }
}

/* The first "px" string value after p, copied into out. Returns where it ended, or NULL. */
static const char *hldemo_next_px(const char *p, char *out, size_t cap)
{
    const char *v = p ? strstr(p, "\"px\":\"") : NULL, *e;
    size_t n;
    if (!v) return NULL;
    v += 6;
    e = strchr(v, '"');
    if (!e) return NULL;
    n = (size_t)(e - v) < cap - 1 ? (size_t)(e - v) : cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return e;
}

/* The ETH book waits in its conflated queue (the latest one only): pull it and read the top.
   levels is [[bids, best first], [asks, best first]]. A plain scan is enough here. */
static void hldemo_pull_book(hldemo *d)
{
    size_t len = 0;
    hl_msg info;
    int rc = hl_sub_pull(d->ctx, d->book.sub, hldemo_book, HLDEMO_BOOK_MAX, &len, &info);
    const char *levels;
    if (rc != 1) return;
    d->data_msgs++;
    hldemo_book[len] = '\0';
    levels = strstr(hldemo_book, "\"levels\":[[");
    if (!levels) return;
    hldemo_next_px(levels, d->book_bid, sizeof d->book_bid);
    hldemo_next_px(strstr(levels, "],["), d->book_ask, sizeof d->book_ask);
}

/* ---- lifecycle ---- */

static void hldemo_on_event(hl_ctx *ctx, const hl_event *ev)
{
    hldemo *d = (hldemo *)ev->user;
    switch (ev->type) {
    case HL_EV_STATE:
        if (d->verbose) {
            if (ev->state == HL_STATE_BACKOFF)
                hldemo_say(d, "state %s -> BACKOFF (%s), next attempt in %lu ms", hl_state_str(ev->prev_state),
                           hl_result_name(ev->result), (unsigned long)ev->delay_ms);
            else
                hldemo_say(d, "state %s -> %s", hl_state_str(ev->prev_state), hl_state_str(ev->state));
        }
        if (ev->state == HL_STATE_BACKOFF && ev->result == HL_E_CIRCUIT_OPEN)
            hldemo_say(d, "%s; waiting %lu ms", ev->detail, (unsigned long)ev->delay_ms);
        break;
    case HL_EV_OPEN:
        d->opens++;
        if (d->opens == 1) hldemo_say(d, "connected to %s; subscribing to 6 feeds", d->url);
        else hldemo_say(d, "reconnected (attempt %lu); the library resubscribes by itself", (unsigned long)d->next_attempt);
        break;
    case HL_EV_ERROR:
        snprintf(d->last_error, sizeof d->last_error, "%s (%s)", ev->detail, hl_result_name(ev->result));
        break;
    case HL_EV_DISCONNECT:
        d->next_attempt = ev->attempt;
        hldemo_say(d, "disconnected: %s (%s, close code %d); reconnecting in %lu ms (attempt %lu)",
                   ev->detail[0] ? ev->detail : "closed by the server", hl_result_name(ev->result), ev->close_code,
                   (unsigned long)ev->delay_ms, (unsigned long)ev->attempt);
        break;
    case HL_EV_GAP:
        hldemo_say(d, "resubscribed %s after a gap of %lu ms", hldemo_label(d, ev->sub),
                   (unsigned long)((ev->gap_to_ns - ev->gap_from_ns) / 1000000u));
        break;
    case HL_EV_SUB:
        if (ev->sub_state == HL_SUB_FAILED)
            hldemo_say(d, "subscription %s refused: %s", hldemo_label(d, ev->sub), ev->detail);
        else if (d->verbose)
            hldemo_say(d, "subscription %s: %s", hldemo_label(d, ev->sub),
                       ev->sub_state == HL_SUB_ACTIVE ? "active" : ev->sub_state == HL_SUB_PENDING ? "pending" : "removed");
        break;
    case HL_EV_DROPPED:
        hldemo_say(d, "dropped %lu message(s) of %s: %s", (unsigned long)ev->len, hldemo_label(d, ev->sub), ev->detail);
        break;
    case HL_EV_STALE:
        hldemo_say(d, "%s has been silent for %lu ms", hldemo_label(d, ev->sub), (unsigned long)ev->stale_ms);
        break;
    case HL_EV_MESSAGE:
        if (d->verbose) hldemo_say(d, "message: %.*s", (int)(ev->len > 200 ? 200 : ev->len), (const char *)ev->data);
        break;
    case HL_EV_CLOSE:
        d->done = 1;
        if (ev->result && ev->result != HL_E_CLOSED)
            snprintf(d->last_error, sizeof d->last_error, "%s (%s)", ev->detail, hl_result_name(ev->result));
        if (ev->result == HL_E_CLOSED && ev->close_origin == HL_CLOSE_BY_LOCAL)
            hldemo_say(d, "closed while waiting to reconnect (no connection was open)");
        else
            hldemo_say(d, "closed: code %d%s%s%s", ev->close_code, ev->close_origin == HL_CLOSE_BY_LOCAL ? " by us" : "",
                       ev->result ? ", " : "", ev->result ? hl_result_name(ev->result) : "");
        /* the connection is freed after this callback: take the statistics now */
        d->stats_len = hl_stats_json(ctx, hldemo_stats, sizeof hldemo_stats);
        break;
    default:
        break;
    }
}

/* ---- the statistics, indented ---- */

static void hldemo_print_json(const char *s)
{
    int depth = 0, in_str = 0, i;
    for (; *s; s++) {
        char c = *s;
        if (in_str) {
            putchar(c);
            if (c == '\\' && s[1]) putchar(*++s);
            else if (c == '"') in_str = 0;
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            putchar(c);
            break;
        case '{':
        case '[':
            putchar(c);
            if (s[1] == '}' || s[1] == ']') { /* empty */
                putchar(*++s);
                break;
            }
            depth++;
            putchar('\n');
            for (i = 0; i < depth; i++) fputs("  ", stdout);
            break;
        case '}':
        case ']':
            depth--;
            putchar('\n');
            for (i = 0; i < depth; i++) fputs("  ", stdout);
            putchar(c);
            break;
        case ',':
            putchar(c);
            putchar('\n');
            for (i = 0; i < depth; i++) fputs("  ", stdout);
            break;
        case ':':
            fputs(": ", stdout);
            break;
        default:
            putchar(c);
        }
    }
    putchar('\n');
}

/* ---- main ---- */

static int hldemo_usage(FILE *f, int status)
{
    fprintf(f,
            "usage: hl_demo [-t SECONDS] [-v] [URL]\n"
            "A live view of Hyperliquid trades (BTC ETH SOL HYPE), BTC's bbo and ETH's book that\n"
            "reconnects and resubscribes by itself. URL defaults to " HLDEMO_DEFAULT_URL ", e.g.\n"
            "  /usr/bin/python3 tests/servers/hl_server.py --port 8080 --drop-every 5\n"
            "  -t SECONDS   run this long, then close and print the statistics (default 15)\n"
            "  -v           every state change and subscription state too\n");
    return status;
}

static int hldemo_subscribe(hldemo *d, hldemo_feed *f, hl_msg_fn fn, hl_overflow overflow, uint32_t queue_len)
{
    hl_sub_desc sd;
    int rc;
    memset(&sd, 0, sizeof sd);
    sd.subscription = f->json;
    sd.on_message = fn;
    sd.user = f;
    sd.overflow = overflow;
    sd.queue_len = queue_len;
    rc = hl_ws_subscribe(d->ctx, d->ws, &sd, &f->sub);
    if (rc != HL_OK) fprintf(stderr, "hl_demo: subscribing to %s failed: %s\n", f->label, hl_result_name(rc));
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const coins[HLDEMO_NCOINS] = {"BTC", "ETH", "SOL", "HYPE"};
    static char labels[HLDEMO_NCOINS][16], subs[HLDEMO_NCOINS][64];
    hldemo *d = &g_demo;
    hl_config cfg;
    hl_ws_desc desc;
    double seconds = 15;
    uint64_t start, end, next_tick, close_by = 0;
    int i, rc;

    d->url = HLDEMO_DEFAULT_URL;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return hldemo_usage(stdout, 0);
        if (strcmp(argv[i], "-v") == 0) {
            d->verbose = 1;
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            char *e;
            seconds = strtod(argv[++i], &e);
            if (*e || !(seconds > 0 && seconds < 1e6)) return hldemo_usage(stderr, 2);
        } else if (argv[i][0] != '-') {
            d->url = argv[i];
        } else {
            return hldemo_usage(stderr, 2);
        }
    }
#if defined(TIOCGWINSZ)
    {
        struct winsize ws;
        if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) d->width = ws.ws_col;
    }
#endif
    d->tty = hldemo_isatty();
    if (!d->width) d->width = 80;

    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.max_subscriptions = 8;
    cfg.queue_slots = 2;                     /* one conflated book, and room to spare */
    cfg.queue_slot_size = HLDEMO_BOOK_MAX;
    if (hl_ctx_size(&cfg) > sizeof hldemo_memory) {
        fprintf(stderr, "hl_demo: the configuration needs %lu bytes; rebuild with -DHLDEMO_MEMORY=%lu\n",
                (unsigned long)hl_ctx_size(&cfg), (unsigned long)hl_ctx_size(&cfg));
        return 2;
    }
    rc = hl_ctx_init(&d->ctx, hldemo_memory, sizeof hldemo_memory, &cfg);
    if (rc != HL_OK) {
        fprintf(stderr, "hl_demo: hl_ctx_init: %s\n", hl_result_str(rc));
        return 1;
    }

    memset(&desc, 0, sizeof desc);
    desc.url = d->url;
    desc.on_event = hldemo_on_event;
    desc.user = d;
    desc.profile = hl_profile_hyperliquid();
    desc.reconnect = 1;
    desc.backoff.initial_ms = 500;
    desc.backoff.max_ms = 5000;
    desc.ping_interval_ms = 1000;
    desc.pong_timeout_ms = 3000;
    desc.app_ping_ms = 5000;
    rc = hl_ws_connect(d->ctx, &desc, &d->ws);
    if (rc != HL_OK) {
        fprintf(stderr, "hl_demo: cannot connect to '%s': %s (%s)\n", d->url, hl_result_str(rc), hl_result_name(rc));
        hl_ctx_shutdown(d->ctx);
        return rc == HL_E_BAD_URL ? 2 : 1;
    }

    /* Into the registry; the library sends them once open, and again after every reconnect. */
    for (i = 0; i < HLDEMO_NCOINS; i++) {
        snprintf(labels[i], sizeof labels[i], "trades %s", coins[i]);
        snprintf(subs[i], sizeof subs[i], "{\"type\":\"trades\",\"coin\":\"%s\"}", coins[i]);
        d->trades[i].label = labels[i];
        d->trades[i].json = subs[i];
        if (hldemo_subscribe(d, &d->trades[i], hldemo_on_trades, HL_OVERFLOW_REJECT_NEW, 0) != HL_OK) return 1;
    }
    d->bbo.label = "bbo BTC";
    d->bbo.json = "{\"type\":\"bbo\",\"coin\":\"BTC\"}";
    d->book.label = "l2Book ETH";
    d->book.json = "{\"type\":\"l2Book\",\"coin\":\"ETH\"}";
    if (hldemo_subscribe(d, &d->bbo, hldemo_on_bbo, HL_OVERFLOW_REJECT_NEW, 0) != HL_OK ||
        hldemo_subscribe(d, &d->book, NULL, HL_OVERFLOW_CONFLATE, 1) != HL_OK)
        return 1;

    signal(SIGINT, hldemo_on_sigint);
    hldemo_say(d, "connecting to %s for %g s (Ctrl-C stops earlier)", d->url, seconds);
    start = hldemo_now(d);
    end = start + (uint64_t)(seconds * 1e9);
    next_tick = start + HLDEMO_NS;
    while (!d->done) {
        uint64_t now = hldemo_now(d), wake;
        if (!d->closing && (now >= end || hldemo_interrupted)) {
            hldemo_say(d, "%s; closing with 1000", hldemo_interrupted ? "interrupted" : "time is up");
            d->closing = 1;
            close_by = now + 6 * HLDEMO_NS; /* the library's close timeout is 5 s */
            hl_ws_close(d->ctx, d->ws, 1000, "demo over");
        }
        if (d->closing && now >= close_by) hl_ws_abort(d->ctx, d->ws);
        if (now >= next_tick) {
            hldemo_pull_book(d);
            if (!d->closing) hldemo_status(d);
            next_tick += HLDEMO_NS;
            if (next_tick <= now) next_tick = now + HLDEMO_NS;
        }
        wake = next_tick < end || d->closing ? next_tick : end;
        rc = hl_poll(d->ctx, wake > now ? (int)((wake - now) / 1000000u) + 1 : 0);
        if (rc < 0) {
            fprintf(stderr, "hl_demo: hl_poll: %s\n", hl_result_str(rc));
            break;
        }
    }
    hldemo_clear_status(d);
    hl_ctx_shutdown(d->ctx);

    if (d->stats_len > 0) {
        printf("demo: the library's statistics (hl_stats_json):\n");
        hldemo_print_json(hldemo_stats);
    }
    if (!d->data_msgs) {
        printf("demo: no market data arrived from %s%s%s\n", d->url, d->last_error[0] ? ": " : "", d->last_error);
        return 1;
    }
    printf("demo: %lu market data messages, %lu connection(s)\n", d->data_msgs, d->opens);
    return 0;
}
