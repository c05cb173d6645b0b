/* hlcat - a wscat-like command-line WebSocket client, and a curl-like HTTP client, built on
   hl_net.h.

   hlcat [options] URL

   With an http:// or https:// URL hlcat makes one HTTP request (see HTTP below). Otherwise it
   connects to URL (ws://, or wss:// in a build with TLS), prints every message it receives on
   its own line on stdout and sends every line of stdin as a text message (the line ending, "\n"
   or "\r\n", is stripped; a line that is not valid UTF-8 is skipped with a warning). Binary
   messages are printed as lowercase hex, or as their raw bytes with --binary-raw (each followed
   by a newline, like text).

   Staying up (all optional):
     * --reconnect keeps the connection up: after a drop the library waits (exponential backoff
       with jitter, 1 s doubling up to 30 s unless --backoff-initial / --backoff-max say
       otherwise) and connects again, for as long as the failures are retryable.
     * --profile hyperliquid speaks Hyperliquid's application protocol: its application ping,
       and subscriptions. Each --sub JSON (e.g. --sub '{"type":"trades","coin":"BTC"}') is kept
       in the library's registry, sent once the connection is open and replayed after every
       reconnect; its messages are printed one per line like any other message.
     * --ping S sends an RFC 6455 ping every S seconds; a pong that does not come in time fails
       the connection (and, with --reconnect, starts a new one). With a profile, the application
       ping runs at the profile's interval (Hyperliquid: 50 s) unless --app-ping says otherwise.
     * -v prints one line on stderr per lifecycle event: state changes (with the reason, and for
       BACKOFF the delay and the attempt), disconnects, subscription states, gaps after a
       reconnect, stale feeds, drops, the open (with the subprotocol) and pongs (with the RTT).
     * --stats writes the library's statistics (hl_stats_json, one line of JSON) on stderr at
       exit, before the verdict line.

   TLS (builds with HL_ENABLE_TLS 1): --ca FILE trusts the PEM certificates in FILE instead of
   the system bundle; --pin SHA256 (up to 4) accepts a server whose public key has that SHA-256
   (64 hex digits or base64, as `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der |
   openssl dgst -sha256` gives it), in place of CA trust; --insecure accepts any certificate at
   all (lab use only: hlcat says so loudly). A build without TLS refuses these options.

   When it stops:
     * -n N: after the N-th message received (subscription messages count too), hlcat closes
       with 1000 and exits once the closing handshake is over. Messages after the N-th are not
       printed.
     * End of stdin: without -n, --reconnect or --sub, hlcat sends what is left, waits until the
       send queue has drained, then closes with 1000. With any of them, the end of stdin closes
       nothing: hlcat goes on receiving (so "printf 'a\nb\n' | hlcat -n 2 URL" prints both
       echoes, and "hlcat --sub ... URL </dev/null" streams until Ctrl-C).
     * The server closes, or the connection fails (with --reconnect: fails for good, such as a
       refused upgrade with HTTP 4xx, or a certificate that does not verify).
     * Ctrl-C: the first one closes with 1000; another one (or one while a close is under way)
       drops the connection at once.

   Exit status: 0 after a normal close: a closing handshake in which the server's close frame
   carried 1000 (normal), 1001 (going away) or no code (1005), whoever started it (hlcat starts
   it on -n, end of stdin and Ctrl-C; a server answers that 1000 with 1000). When the server
   never answers hlcat's own close (close timeout, TCP closed), that is a warning and still 0.
   Otherwise 1, with one line on stderr saying why (a close code of the server's own, like 1011,
   counts as a failure even when it crossed hlcat's close), e.g.
       hlcat: connect to 127.0.0.1:1 failed: Connection refused (HL_E_CONNECT_REFUSED)
       hlcat: server refused the upgrade with HTTP 403 (HL_E_HANDSHAKE); body: rejected: 403
       hlcat: server closed the connection with code 1011: trades.json not found
   2 for a usage error (a --sub the profile cannot route is one); 130 after a Ctrl-C while no
   connection was open, or one that dropped it.

   HTTP (http://, or https:// in a build with TLS): one request with the library's blocking
   hl_http_fetch, and the response body on stdout exactly as it came (binary-safe, nothing
   added). Like curl:
     * -X METHOD (default GET, or POST when -d is given); -H 'Name: value' (repeatable, as for
       WebSocket; Host, Content-Length, Connection, Transfer-Encoding, X-Request-Id and
       traceparent are the library's own and refused); -I is -X HEAD -i.
     * -d DATA is the request body, sent byte for byte (as curl's --data-binary: newlines are
       kept, no Content-Type is added; give one with -H). -d @FILE reads FILE, -d @- reads
       stdin; several -d are joined with '&'. The body lives in a static buffer of
       HLCAT_DATA_MAX bytes (1 MiB; rebuild with -DHLCAT_DATA_MAX=N for more): past it hlcat
       says so and exits 63 without sending anything.
     * -i prints the head before the body: "HTTP/1.1 <status>" (the library keeps no reason
       phrase), one "Name: value" line per header as received, then an empty line; lines end
       in "\n".
     * --retry N: retries of a request the library may repeat (GET, HEAD, PUT, DELETE, OPTIONS,
       TRACE, or any method with --idempotent) after a failure hl_err_retryable calls retryable
       (network errors, timeouts) or a 5xx, 408 or 429 response, with backoff (200 ms doubling,
       or the server's Retry-After), within --max-time. Without --retry the
       library's default holds (config.http_max_retries: 2); --retry 0 means none, as in curl.
       A POST without --idempotent is never retried (its 5xx response is printed as it is).
     * --connect-timeout S (per address tried; default 10) and --max-time S (the whole request,
       retries included; default 30, the library's http_data_timeout_ms); fractions allowed.
     * --max-message BYTES bounds the response body (default 1 MiB; more is exit 63).
     * -v: the request line and -H headers (values of Authorization, Proxy-Authorization and
       Cookie hidden), the library's log lines (retries with their delay and reason), the
       status and response headers, and the request id (X-Request-Id), attempts, retries and
       latency. -v -v adds the library's debug lines.
     * --stats: hl_stats_json on stderr at exit, with the endpoint's counters and latency.
     * --ca FILE and --insecure as for wss://. --pin is refused for https://: hl_http_req has
       no pins (the library's HTTP client cannot pin a key). An https:// URL naming an IP
       address is refused (exit 60) unless --insecure: no certificate name check covers it.
   Ctrl-C ends an HTTP request at once (the default signal action).
   Exit status for HTTP, in the style of curl, with one line on stderr naming the hl_result:
        0  a response arrived, whatever its status (with --fail: a status below 400)
       22  --fail (-f) and the status is 400 or more (nothing is printed on stdout)
        2  usage error, bad URL, or a header/method the library refuses
        6  the host name did not resolve (HL_E_DNS)
        7  connect refused or failed (HL_E_CONNECT_REFUSED, HL_E_CONNECT)
       28  timeout: connect, TLS handshake, first byte or --max-time (HL_E_*_TIMEOUT)
       35  TLS handshake failure (HL_E_TLS)
       60  the server's certificate or key was not accepted (HL_E_TLS_CERT)
        8  a malformed response, or a head over the limits (HL_E_HTTP_PROTOCOL,
           HL_E_HEADER_TOO_BIG)
       63  a body too big: the -d body, or the response over --max-message (HL_E_MSG_TOO_BIG)
       75  temporary refusal: the client's rate limit or the endpoint's open circuit breaker
           (HL_E_RATE_LIMITED, HL_E_CIRCUIT_OPEN)
       23  writing stdout failed
        1  anything else (the server closed or reset the connection, no TLS in this build ...)
   e.g.  hlcat: GET http://127.0.0.1:1/ failed: connect to 127.0.0.1:1 failed: Connection
         refused (HL_E_CONNECT_REFUSED)                                   (one line, exit 7)

   This program also shows the foreign-loop API: on POSIX it runs its own poll() over the
   library's sockets (hl_pollfds) and stdin (fd 0), sleeps at most hl_next_timeout, and hands the
   readiness back with hl_process. On Windows, where WSAPoll cannot wait on a console or pipe, it
   calls hl_poll with a 50 ms timeout and checks stdin between polls: a pipe with PeekNamedPipe,
   a file by reading it, a console with _kbhit.
   Limitation: on a console, once a key is pressed hlcat blocks in ReadFile until Enter, and
   messages received meanwhile are printed after that.

   Memory: hlcat never calls malloc. The context lives in one static block of HLCAT_MEMORY bytes
   (40 MiB, mostly untouched virtual memory; rebuild with -DHLCAT_MEMORY=N for more); hlcat checks
   hl_ctx_size against it and says what a configuration would need. For HTTP the context has one
   request slot whose http_request_size is HLCAT_DATA_MAX plus 64 KiB for the head.

   Build: cc -std=c99 -I. examples/hlcat.c -o build/hlcat                       (ws:// only)
          cc -std=c99 -I. -DHL_ENABLE_TLS=1 -I/usr/include/bearssl examples/hlcat.c \
             -o build/hlcat -lbearssl                                           (and wss://)
          x86_64-w64-mingw32-gcc -std=c99 -I. examples/hlcat.c -o hlcat.exe -lws2_32 */

#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <conio.h>
#include <fcntl.h>
#include <io.h>
#else
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#endif

#ifndef HLCAT_MEMORY
#define HLCAT_MEMORY (40u << 20)
#endif
#define HLCAT_LINE_MAX (256u << 10)               /* longest stdin line */
#define HLCAT_SEND_QUEUE (2 * HLCAT_LINE_MAX)     /* so any line fits once the queue drains */
#define HLCAT_BODY_MAX 200                        /* bytes of a refusal's body shown */
#define HLCAT_MAX_SUBS 64                         /* --sub; the library's default slot count */
#define HLCAT_MAX_PINS 4                          /* --pin; what hl_ws_desc accepts */
#define HLCAT_STATS_MAX (64u << 10)               /* --stats JSON */
#ifndef HLCAT_DATA_MAX
#define HLCAT_DATA_MAX (1u << 20)                 /* -d: the HTTP request body */
#endif
#define HLCAT_HEAD_ROOM (64u << 10)               /* the HTTP request head, beside the body */
#define HLCAT_MAX_DATA 16                         /* -d arguments */
#define HLCAT_MAX_RESP_HEADERS 128                /* response headers kept (http_max_headers) */
#define HLCAT_OPT_NAME 32                         /* room for an option's name in messages */

static unsigned char hlcat_memory[HLCAT_MEMORY];

typedef struct hlcat {
    /* options */
    const char *url;
    const char *subprotocols;
    hl_header headers[HL_MAX_EXTRA_HEADERS];
    int nheaders;
    unsigned long max_msgs; /* -n; 0: no limit */
    int verbose;
    int binary_raw;
    uint32_t ping_ms;       /* --ping: RFC 6455 ping interval; 0: none */
    int reconnect;
    uint32_t backoff_initial_ms, backoff_max_ms; /* 0: the library's defaults */
    const hl_profile *profile;
    uint32_t app_ping_ms;   /* --app-ping: 0 the profile's, HL_UNLIMITED none */
    int app_ping_set;
    uint32_t stale_ms;      /* --stale */
    const char *sub_json[HLCAT_MAX_SUBS];
    hl_sub subs[HLCAT_MAX_SUBS];
    int nsubs;
    int stats;
    const char *ca_file;
    unsigned char pins[32 * HLCAT_MAX_PINS];
    int npins;
    int insecure;
    /* HTTP */
    int http;               /* the URL is http:// or https:// */
    const char *method;     /* -X; NULL: GET, or POST with -d */
    const char *data_args[HLCAT_MAX_DATA]; /* -d, in order */
    int ndata;
    size_t data_len;        /* bytes of the body in hlcat_data */
    int data_errno;         /* why reading a -d @FILE failed */
    int include;            /* -i */
    int fail;               /* -f */
    int retries;            /* --retry as hl_http_req.retries: 0 the library's default, -1 none */
    int idempotent;
    uint32_t max_time_ms;   /* --max-time; 0: the library's default */
    char ws_opt[HLCAT_OPT_NAME];   /* the first WebSocket-only option given ("" none) */
    char http_opt[HLCAT_OPT_NAME]; /* the first HTTP-only option given */
    /* the connection */
    hl_ctx *ctx;
    hl_ws ws;
    int open;             /* open now (HL_EV_OPEN seen, no drop since) */
    unsigned long opens;  /* HL_EV_OPEN events */
    int closing;          /* we asked for the close (or gave up) */
    int done;             /* HL_EV_CLOSE seen */
    int fatal;            /* exit status forced by a local event: 1 (failure) or 130 (Ctrl-C) */
    unsigned long received;
    size_t room_empty;    /* hl_ws_send_room with an empty queue (taken at open) */
    char lib_error[200];  /* the library's last ERROR log line (why a call failed) */
    char stats_json[HLCAT_STATS_MAX];
    int stats_len;        /* > 0: stats_json holds the statistics taken at the close */
    /* stdin */
    int stdin_eof;
    unsigned long line_no;
    unsigned char in[HLCAT_LINE_MAX];
    size_t in_start, in_len; /* unsent bytes are in[in_start, in_len) */
    /* the outcome */
    int http_status;
    char body[HLCAT_BODY_MAX + 1];
    int close_result;
    char close_detail[160];
    int close_code;
    char close_reason[124];
    hl_close_origin close_origin;
} hlcat;

static hlcat hlcat_state;
static unsigned char hlcat_data[HLCAT_DATA_MAX]; /* the HTTP request body (-d) */
static volatile sig_atomic_t hlcat_interrupts;

static void hlcat_on_sigint(int sig)
{
    (void)sig;
    hlcat_interrupts++;
#if defined(_WIN32)
    signal(SIGINT, hlcat_on_sigint); /* the CRT resets the handler to SIG_DFL */
#endif
}

/* ---- output ---- */

static void hlcat_print_message(const hlcat *h, const unsigned char *p, size_t n, int is_text)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    if (is_text || h->binary_raw) {
        if (n) fwrite(p, 1, n, stdout);
    } else {
        for (i = 0; i < n; i++) {
            putchar(hex[p[i] >> 4]);
            putchar(hex[p[i] & 15]);
        }
    }
    putchar('\n'); /* flushed before the loop sleeps: one write for a burst of messages */
}

/* Copy at most cap-1 bytes of p into out on one line: controls become spaces or '?'. */
static void hlcat_one_line(char *out, size_t cap, const unsigned char *p, size_t n)
{
    size_t i, k = 0;
    for (i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = p[i];
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
        else if (c < 0x20 || c == 0x7f) c = '?';
        out[k++] = (char)c;
    }
    while (k > 0 && out[k - 1] == ' ') k--;
    out[k] = '\0';
}

static const char *hlcat_origin_str(hl_close_origin o)
{
    switch (o) {
    case HL_CLOSE_BY_PEER: return "by the server";
    case HL_CLOSE_BY_LOCAL: return "by us";
    case HL_CLOSE_BY_ERROR: return "after an error";
    default: return "";
    }
}

static const char *hlcat_sub_state_str(hl_sub_state s)
{
    switch (s) {
    case HL_SUB_PENDING: return "PENDING";
    case HL_SUB_ACTIVE: return "ACTIVE";
    case HL_SUB_FAILED: return "FAILED";
    case HL_SUB_REMOVED: return "REMOVED";
    default: return "?";
    }
}

/* The --sub text of a subscription handle (for -v lines). */
static const char *hlcat_sub_name(const hlcat *h, hl_sub sub)
{
    int i;
    for (i = 0; i < h->nsubs; i++)
        if (h->subs[i].id == sub.id) return h->sub_json[i];
    return "(unknown subscription)";
}

/* ---- the library's callbacks ---- */

static int hlcat_headers(void *user, hl_header *out, int max)
{
    hlcat *h = (hlcat *)user;
    int i;
    for (i = 0; i < h->nheaders && i < max; i++) out[i] = h->headers[i];
    if (h->verbose && i) fprintf(stderr, "hlcat: connect: %d extra header(s) from the provider\n", i);
    return i;
}

/* Always installed: the last ERROR line is kept to explain a failed call (the library says
   why there); with -v -v (for HTTP: -v) every line is printed. */
static void hlcat_log(void *user, hl_log_level level, uint32_t conn_id, const char *msg)
{
    static const char *const names[] = {"?", "error", "warn", "info", "debug"};
    hlcat *h = (hlcat *)user;
    if (level == HL_LOG_ERROR) snprintf(h->lib_error, sizeof h->lib_error, "%s", msg);
    if (h->verbose >= 2 || (h->http && h->verbose))
        fprintf(stderr, "hlcat: [lib %s #%lx] %s\n", names[(unsigned)level <= 4 ? (unsigned)level : 0],
                (unsigned long)conn_id, msg);
}

static void hlcat_close(hlcat *h, const char *why)
{
    int rc;
    if (h->closing || h->done) return;
    h->closing = 1;
    if (h->verbose)
        fprintf(stderr, h->open ? "hlcat: %s; closing with 1000\n" : "hlcat: %s; giving up the connection attempt\n", why);
    rc = hl_ws_close(h->ctx, h->ws, 1000, NULL);
    if (rc != HL_OK && rc != HL_E_CLOSED)
        fprintf(stderr, "hlcat: close failed: %s (%s)\n", hl_result_str(rc), hl_result_name(rc));
}

/* A message for the user: printed and counted against -n. */
static void hlcat_deliver(hlcat *h, const unsigned char *p, size_t n, int is_text)
{
    if (h->max_msgs && h->received >= h->max_msgs) return; /* past -n: closing, not shown */
    hlcat_print_message(h, p, n, is_text);
    h->received++;
    if (h->max_msgs && h->received == h->max_msgs) hlcat_close(h, "got the -n messages");
}

/* The handler of every --sub: its messages are printed like the others. */
static void hlcat_on_sub_message(hl_ctx *ctx, const hl_msg *msg)
{
    (void)ctx;
    hlcat_deliver((hlcat *)msg->user, msg->data, msg->len, 1);
}

static void hlcat_verbose_state(const hl_event *ev)
{
    if (ev->state == HL_STATE_BACKOFF) {
        if (ev->result)
            fprintf(stderr, "hlcat: state %s -> BACKOFF: %s (%s); attempt %lu in %lu ms\n",
                    hl_state_str(ev->prev_state), ev->detail, hl_result_name(ev->result),
                    (unsigned long)ev->attempt, (unsigned long)ev->delay_ms);
        else
            fprintf(stderr, "hlcat: state %s -> BACKOFF; attempt %lu in %lu ms\n", hl_state_str(ev->prev_state),
                    (unsigned long)ev->attempt, (unsigned long)ev->delay_ms);
    } else if (ev->result) {
        fprintf(stderr, "hlcat: state %s -> %s: %s (%s)\n", hl_state_str(ev->prev_state),
                hl_state_str(ev->state), ev->detail, hl_result_name(ev->result));
    } else {
        fprintf(stderr, "hlcat: state %s -> %s\n", hl_state_str(ev->prev_state), hl_state_str(ev->state));
    }
}

static void hlcat_on_event(hl_ctx *ctx, const hl_event *ev)
{
    hlcat *h = (hlcat *)ev->user;
    switch (ev->type) {
    case HL_EV_STATE:
        if (h->verbose) hlcat_verbose_state(ev);
        break;
    case HL_EV_OPEN:
        h->open = 1;
        h->opens++;
        h->room_empty = hl_ws_send_room(ctx, ev->ws);
        if (h->verbose) {
            if (ev->protocol[0]) fprintf(stderr, "hlcat: open, subprotocol \"%s\"\n", ev->protocol);
            else fprintf(stderr, "hlcat: open, no subprotocol\n");
            if (h->opens > 1) fprintf(stderr, "hlcat: reconnected (connection %lu)\n", h->opens);
        }
        break;
    case HL_EV_MESSAGE:
        hlcat_deliver(h, ev->data, ev->len, ev->is_text);
        break;
    case HL_EV_PONG:
        if (!h->verbose) break;
        if (ev->rtt_ns) {
            fprintf(stderr, "hlcat: pong, rtt %.3f ms\n", (double)ev->rtt_ns / 1e6);
        } else {
            char text[126];
            hlcat_one_line(text, sizeof text, ev->data, ev->len);
            fprintf(stderr, "hlcat: pong, %lu bytes \"%s\"\n", (unsigned long)ev->len, text);
        }
        break;
    case HL_EV_ERROR:
        h->http_status = ev->http_status;
        if (ev->result == HL_E_HANDSHAKE && ev->len)
            hlcat_one_line(h->body, sizeof h->body, ev->data, ev->len);
        if (h->verbose) {
            if (ev->result == HL_E_HANDSHAKE && ev->http_status)
                fprintf(stderr, "hlcat: error %s: %s; body: %s\n", hl_result_name(ev->result), ev->detail, h->body);
            else
                fprintf(stderr, "hlcat: error %s: %s\n", hl_result_name(ev->result), ev->detail);
        }
        break;
    case HL_EV_DISCONNECT:
        h->open = 0;
        h->body[0] = '\0';
        if (h->verbose)
            fprintf(stderr, "hlcat: disconnect: code %d%s%s%s, %s%s%s; reconnecting in %lu ms (attempt %lu)\n",
                    ev->close_code, ev->reason[0] ? " \"" : "", ev->reason, ev->reason[0] ? "\"" : "",
                    hl_result_name(ev->result), ev->detail[0] ? ": " : "", ev->detail,
                    (unsigned long)ev->delay_ms, (unsigned long)ev->attempt);
        break;
    case HL_EV_SUB:
        if (h->verbose)
            fprintf(stderr, "hlcat: subscription %s %s%s%s\n", hlcat_sub_name(h, ev->sub), hlcat_sub_state_str(ev->sub_state),
                    ev->detail[0] ? ": " : "", ev->detail);
        if (ev->sub_state == HL_SUB_FAILED && !h->verbose) /* a refusal is worth a line anyway */
            fprintf(stderr, "hlcat: subscription %s failed: %s\n", hlcat_sub_name(h, ev->sub), ev->detail);
        break;
    case HL_EV_GAP:
        if (h->verbose)
            fprintf(stderr, "hlcat: resubscribed %s after a gap of %lu ms\n", hlcat_sub_name(h, ev->sub),
                    (unsigned long)((ev->gap_to_ns - ev->gap_from_ns) / 1000000u));
        break;
    case HL_EV_STALE:
        if (h->verbose)
            fprintf(stderr, "hlcat: stale: %s silent for %lu ms\n", hlcat_sub_name(h, ev->sub), (unsigned long)ev->stale_ms);
        break;
    case HL_EV_DROPPED:
        if (h->verbose)
            fprintf(stderr, "hlcat: dropped %lu message(s) of %s: %s (%s)\n", (unsigned long)ev->len,
                    hlcat_sub_name(h, ev->sub), ev->detail, hl_result_name(ev->result));
        break;
    case HL_EV_CLOSE:
        h->open = 0;
        h->done = 1;
        h->close_result = ev->result;
        h->close_code = ev->close_code;
        h->close_origin = ev->close_origin;
        snprintf(h->close_detail, sizeof h->close_detail, "%s", ev->detail);
        snprintf(h->close_reason, sizeof h->close_reason, "%s", ev->reason);
        /* the connection and its subscriptions are freed after this callback: take the
           statistics now */
        if (h->stats) h->stats_len = hl_stats_json(ctx, h->stats_json, sizeof h->stats_json);
        if (h->verbose)
            fprintf(stderr, "hlcat: close %d \"%s\" %s%s%s%s\n", ev->close_code, ev->reason,
                    hlcat_origin_str(ev->close_origin), ev->result ? " (" : "",
                    ev->result ? hl_result_name(ev->result) : "", ev->result ? ")" : "");
        break;
    default:
        break;
    }
}

/* ---- stdin ---- */

/* The end of stdin closes the connection only for a plain session. */
static int hlcat_persistent(const hlcat *h)
{
    return h->max_msgs || h->reconnect || h->nsubs;
}

/* Send the complete lines in the input buffer (and at EOF the unterminated rest). Stops at a
   full send queue: the line stays and is tried again after the next poll. */
static void hlcat_send_lines(hlcat *h)
{
    while (h->open && !h->closing && !h->done && h->in_start < h->in_len) {
        unsigned char *p = h->in + h->in_start;
        size_t avail = h->in_len - h->in_start, len, take;
        unsigned char *nl = (unsigned char *)memchr(p, '\n', avail);
        int rc;
        if (nl) {
            len = (size_t)(nl - p);
            take = len + 1;
        } else if (h->stdin_eof) {
            len = take = avail;
        } else {
            break;
        }
        if (len && p[len - 1] == '\r') len--;
        rc = hl_ws_send(h->ctx, h->ws, HL_MSG_TEXT, p, len);
        if (rc == HL_E_QUEUE_FULL) break;
        if (rc == HL_E_CLOSED || rc == HL_E_STATE) break; /* dropped meanwhile: the line waits */
        h->line_no++;
        h->in_start += take;
        if (rc == HL_E_BAD_UTF8) {
            fprintf(stderr, "hlcat: stdin line %lu is not valid UTF-8; not sent\n", h->line_no);
        } else if (rc != HL_OK) {
            fprintf(stderr, "hlcat: sending stdin line %lu failed: %s (%s)\n", h->line_no,
                    hl_result_str(rc), hl_result_name(rc));
        }
    }
    if (h->in_start == h->in_len) h->in_start = h->in_len = 0;
}

/* Does the loop want more of stdin now? Only while open, and while every line read so far
   went out (a full send queue stops reading: backpressure reaches the writer of stdin). */
static int hlcat_want_stdin(const hlcat *h)
{
    if (!h->open || h->closing || h->done || h->stdin_eof) return 0;
    if (h->in_start < h->in_len && memchr(h->in + h->in_start, '\n', h->in_len - h->in_start)) return 0;
    return 1;
}

static void hlcat_stdin_eof(hlcat *h)
{
    h->stdin_eof = 1;
    if (!h->verbose) return;
    if (h->max_msgs)
        fprintf(stderr, "hlcat: end of stdin; still receiving (-n %lu: %lu so far)\n", h->max_msgs, h->received);
    else if (hlcat_persistent(h))
        fprintf(stderr, "hlcat: end of stdin; still receiving (stop with -n or Ctrl-C)\n");
    else
        fprintf(stderr, "hlcat: end of stdin; closing once the send queue has drained\n");
}

/* Room at the end of the input buffer, compacting first; a full buffer without a newline is a
   line over HLCAT_LINE_MAX. Returns 0 when nothing can be read. */
static size_t hlcat_in_room(hlcat *h)
{
    if (h->in_start > 0) {
        memmove(h->in, h->in + h->in_start, h->in_len - h->in_start);
        h->in_len -= h->in_start;
        h->in_start = 0;
    }
    if (h->in_len == sizeof h->in) {
        fprintf(stderr, "hlcat: a stdin line is longer than %lu bytes\n", (unsigned long)sizeof h->in);
        h->fatal = 1;
        h->in_len = 0;
        hlcat_close(h, "stdin line too long");
        return 0;
    }
    return sizeof h->in - h->in_len;
}

#if defined(_WIN32)
/* Read what stdin has now without blocking (except on a console, see the top). */
static void hlcat_read_stdin(hlcat *h)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    DWORD type, mode, avail = 0, got = 0;
    size_t room = hlcat_in_room(h);
    if (room == 0) return;
    if (in == NULL || in == INVALID_HANDLE_VALUE) {
        hlcat_stdin_eof(h);
        return;
    }
    type = GetFileType(in);
    if (type == FILE_TYPE_PIPE) {
        if (!PeekNamedPipe(in, NULL, 0, NULL, &avail, NULL)) {
            hlcat_stdin_eof(h); /* the writer closed its end */
            return;
        }
        if (avail == 0) return;
    } else if (type == FILE_TYPE_CHAR && GetConsoleMode(in, &mode)) {
        if (!_kbhit()) return;
        avail = (DWORD)room;
    } else {
        avail = (DWORD)room; /* a file (or NUL): never blocks */
    }
    if (avail > room) avail = (DWORD)room;
    if (!ReadFile(in, h->in + h->in_len, avail, &got, NULL) || got == 0) {
        hlcat_stdin_eof(h);
        return;
    }
    h->in_len += got;
}
#else
static void hlcat_read_stdin(hlcat *h)
{
    size_t room = hlcat_in_room(h);
    ssize_t r;
    if (room == 0) return;
    r = read(0, h->in + h->in_len, room);
    if (r > 0) {
        h->in_len += (size_t)r;
    } else if (r == 0) {
        hlcat_stdin_eof(h);
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        fprintf(stderr, "hlcat: reading stdin failed: %s\n", strerror(errno));
        hlcat_stdin_eof(h);
    }
}
#endif

/* ---- the loop ---- */

/* The work done between waits: interrupts, lines to send, the end of stdin. */
static void hlcat_tick(hlcat *h)
{
    static sig_atomic_t seen;
    if (hlcat_interrupts != seen) {
        seen = hlcat_interrupts;
        if (!h->closing) {
            hlcat_close(h, "interrupted");
            if (!h->open) h->fatal = 130; /* nothing was open: no handshake to wait for */
        } else {
            if (h->verbose) fprintf(stderr, "hlcat: interrupted while closing; dropping the connection\n");
            h->closing = 1;
            h->fatal = 130;
            hl_ws_abort(h->ctx, h->ws);
        }
    }
    hlcat_send_lines(h);
    if (h->open && h->stdin_eof && !hlcat_persistent(h) && h->in_start == h->in_len && !h->closing &&
        hl_ws_send_room(h->ctx, h->ws) >= h->room_empty)
        hlcat_close(h, "end of stdin and the send queue drained");
}

#if defined(_WIN32)
static int hlcat_run(hlcat *h)
{
    while (!h->done) {
        int t = 250, r; /* 250: notice Ctrl-C */
        hlcat_tick(h);
        if (hlcat_want_stdin(h)) {
            hlcat_read_stdin(h);
            hlcat_send_lines(h);
            t = 50;
        }
        if (h->done) break;
        fflush(stdout);
        r = hl_poll(h->ctx, t);
        if (r < 0) {
            fprintf(stderr, "hlcat: hl_poll failed: %s (%s)\n", hl_result_str(r), hl_result_name(r));
            return 1;
        }
    }
    return 0;
}
#else
static int hlcat_run(hlcat *h)
{
    enum { MAXFDS = 8 };
    hl_pollfd fds[MAXFDS];
    struct pollfd pfds[MAXFDS + 1];
    while (!h->done) {
        int n, i, r, use_stdin;
        hlcat_tick(h);
        if (h->done) break;
        /* 1. the library's sockets and the events each waits for */
        n = hl_pollfds(h->ctx, fds, MAXFDS);
        if (n < 0) return 1;
        if (n > MAXFDS) n = MAXFDS; /* max_connections is 1: cannot happen */
        for (i = 0; i < n; i++) {
            pfds[i].fd = (int)fds[i].fd;
            pfds[i].events = (short)(((fds[i].events & HL_POLLIN) ? POLLIN : 0) |
                                     ((fds[i].events & HL_POLLOUT) ? POLLOUT : 0));
            pfds[i].revents = 0;
        }
        /* 2. our own descriptor next to them */
        use_stdin = hlcat_want_stdin(h);
        if (use_stdin) {
            pfds[n].fd = 0;
            pfds[n].events = POLLIN;
            pfds[n].revents = 0;
        }
        /* 3. sleep no longer than the library's next deadline (-1: none, only readiness) */
        fflush(stdout);
        r = poll(pfds, (nfds_t)(n + use_stdin), hl_next_timeout(h->ctx));
        if (r < 0) {
            if (errno == EINTR) continue; /* Ctrl-C: handled in hlcat_tick */
            fprintf(stderr, "hlcat: poll failed: %s\n", strerror(errno));
            return 1;
        }
        /* 4. stdin first, so its lines go out in this turn */
        if (use_stdin && pfds[n].revents) {
            hlcat_read_stdin(h);
            hlcat_send_lines(h);
        }
        /* 5. hand the readiness back; timers run even when nothing was ready */
        for (i = 0; i < n; i++) {
            short re = pfds[i].revents;
            fds[i].revents = ((re & (POLLIN | POLLHUP)) ? HL_POLLIN : 0u) |
                             ((re & POLLOUT) ? HL_POLLOUT : 0u) |
                             ((re & (POLLERR | POLLNVAL)) ? HL_POLLERR : 0u);
        }
        r = hl_process(h->ctx, fds, r > 0 ? n : 0);
        if (r < 0) {
            fprintf(stderr, "hlcat: hl_process failed: %s (%s)\n", hl_result_str(r), hl_result_name(r));
            return 1;
        }
    }
    return 0;
}
#endif

/* The exit status and, for a failure, its one line on stderr. */
static int hlcat_outcome(const hlcat *h)
{
    int res = h->close_result;
    if (h->fatal == 130) { /* Ctrl-C while nothing was open, or twice */
        fprintf(stderr, "hlcat: interrupted\n");
        return 130;
    }
    if (h->close_origin == HL_CLOSE_BY_LOCAL && h->close_code == 1006 &&
        (res == HL_OK || res == HL_E_CLOSE_TIMEOUT || res == HL_E_EOF)) {
        /* our close went out but the server did not finish the handshake: still our close */
        if (res != HL_OK) fprintf(stderr, "hlcat: warning: %s (%s)\n", h->close_detail, hl_result_name(res));
        else fprintf(stderr, "hlcat: warning: the server did not answer our close frame\n");
        return h->fatal ? 1 : 0;
    }
    if (res == HL_E_HANDSHAKE && h->http_status) {
        fprintf(stderr, "hlcat: %s (%s); body: %s\n", h->close_detail, hl_result_name(res),
                h->body[0] ? h->body : "(empty)");
        return 1;
    }
    if (res != HL_OK) {
        fprintf(stderr, "hlcat: %s (%s)\n", h->close_detail, hl_result_name(res));
        return 1;
    }
    /* A clean closing handshake. Whoever started it, the code the server sent decides: it
       answers our 1000 with 1000, and any other code is the server's own complaint (it may
       have crossed our close). */
    if (h->close_code == 1000 || h->close_code == 1001 || h->close_code == 1005) return h->fatal ? 1 : 0;
    fprintf(stderr, "hlcat: server closed the connection with code %d%s%s\n", h->close_code,
            h->close_reason[0] ? ": " : "", h->close_reason);
    return 1;
}

/* ---- HTTP ---- */

/* Append n bytes to the request body; -1 when they do not fit. */
static int hlcat_data_put(hlcat *h, const void *p, size_t n)
{
    if (n > sizeof hlcat_data - h->data_len) return -1;
    if (n) memcpy(hlcat_data + h->data_len, p, n);
    h->data_len += n;
    return 0;
}

/* Append a whole file (stdin for "-"). 0, -1 when it does not fit, -2 when it cannot be read
   (h->data_errno says why). */
static int hlcat_data_file(hlcat *h, const char *path)
{
    int is_stdin = strcmp(path, "-") == 0, rc = 0;
    FILE *f;
    errno = 0;
    f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        h->data_errno = errno;
        return -2;
    }
#if defined(_WIN32)
    if (is_stdin) _setmode(_fileno(stdin), _O_BINARY);
#endif
    for (;;) {
        size_t room = sizeof hlcat_data - h->data_len, got;
        unsigned char extra;
        if (room == 0) { /* full: one byte more is too much */
            if (fread(&extra, 1, 1, f) == 1) rc = -1;
            break;
        }
        got = fread(hlcat_data + h->data_len, 1, room, f);
        h->data_len += got;
        if (got < room) break;
    }
    if (rc == 0 && ferror(f)) {
        h->data_errno = errno;
        rc = -2;
    }
    if (!is_stdin) fclose(f);
    return rc;
}

/* The body from the -d arguments, joined with '&' as curl joins them. Returns -1 to go on, or
   an exit status. */
static int hlcat_load_data(hlcat *h)
{
    int i, rc = 0;
    h->data_len = 0;
    for (i = 0; i < h->ndata && rc == 0; i++) {
        const char *a = h->data_args[i];
        if (i > 0) rc = hlcat_data_put(h, "&", 1);
        if (rc == 0) rc = a[0] == '@' ? hlcat_data_file(h, a + 1) : hlcat_data_put(h, a, strlen(a));
        if (rc == -2) {
            const char *why = h->data_errno ? strerror(h->data_errno) : "read error";
            if (strcmp(a, "@-") == 0) fprintf(stderr, "hlcat: -d @-: cannot read stdin: %s\n", why);
            else fprintf(stderr, "hlcat: -d %s: cannot read '%s': %s\n", a, a + 1, why);
            return 2;
        }
    }
    if (rc == -1) {
        fprintf(stderr, "hlcat: the request body (-d) is over %lu bytes, hlcat's limit; nothing was sent "
                        "(rebuild with -DHLCAT_DATA_MAX=N for more)\n", (unsigned long)HLCAT_DATA_MAX);
        return 63;
    }
    return -1;
}

/* The exit status of a request that got no response, in the style of curl's. */
static int hlcat_http_exit(int result)
{
    switch (result) {
    case HL_E_INVALID: case HL_E_BAD_URL: return 2;
    case HL_E_DNS: return 6;
    case HL_E_CONNECT_REFUSED: case HL_E_CONNECT: return 7;
    case HL_E_HTTP_PROTOCOL: case HL_E_HEADER_TOO_BIG: return 8;
    case HL_E_CONNECT_TIMEOUT: case HL_E_HANDSHAKE_TIMEOUT: case HL_E_REQUEST_TIMEOUT: return 28;
    case HL_E_TLS: return 35;
    case HL_E_TLS_CERT: return 60;
    case HL_E_MSG_TOO_BIG: return 63;
    case HL_E_RATE_LIMITED: case HL_E_CIRCUIT_OPEN: return 75;
    default: return 1;
    }
}

/* Header values -v does not show. */
static int hlcat_secret_header(const char *name)
{
    static const char *const secret[] = {"authorization", "proxy-authorization", "cookie"};
    size_t i, k;
    for (i = 0; i < sizeof secret / sizeof secret[0]; i++) {
        for (k = 0; secret[i][k] && tolower((unsigned char)name[k]) == secret[i][k]; k++) {
        }
        if (!secret[i][k] && !name[k]) return 1;
    }
    return 0;
}

/* An https:// URL naming an IP address, which no certificate name check can cover: without a
   name the TLS layer checks none, so hlcat refuses it itself (as hl_ws_connect does for wss://
   without a pin), unless --insecure says any certificate will do. */
static int hlcat_https_ip(const hlcat *h)
{
    hl_url u;
    size_t i;
    int digits_dots = 1;
    if (h->insecure || hl_url_parse(h->url, &u, NULL, 0) != HL_OK || u.scheme != HL_SCHEME_HTTPS) return 0;
    for (i = 0; u.host[i]; i++)
        if (!isdigit((unsigned char)u.host[i]) && u.host[i] != '.') digits_dots = 0;
    return u.is_ipv6 || digits_dots; /* (no top-level domain is all digits) */
}

/* A method as HTTP spells one: a token (RFC 9110 5.6.2). */
static int hlcat_method_ok(const char *m)
{
    if (!*m) return 0;
    for (; *m; m++)
        if (!isalnum((unsigned char)*m) && !strchr("!#$%&'*+-.^_`|~", *m)) return 0;
    return 1;
}

/* One request with hl_http_fetch; the body to stdout. Returns the exit status. */
static int hlcat_http(hlcat *h)
{
    hl_http_req req;
    hl_http_response r;
    const char *method = h->method ? h->method : h->ndata ? "POST" : "GET";
    char verdict[480];
    int rc, status = 0, i;

    memset(&req, 0, sizeof req);
    req.method = method;
    req.url = h->url;
    req.headers = h->nheaders ? h->headers : NULL;
    req.header_count = h->nheaders;
    req.body = h->ndata ? hlcat_data : NULL;
    req.body_len = h->data_len;
    req.idempotent = h->idempotent;
    req.retries = h->retries;
    req.timeout_ms = h->max_time_ms;
    if (h->verbose) {
        fprintf(stderr, "hlcat: > %s %s\n", method, h->url);
        for (i = 0; i < h->nheaders; i++)
            fprintf(stderr, "hlcat: > %s: %s\n", h->headers[i].name,
                    hlcat_secret_header(h->headers[i].name) ? "(hidden)" : h->headers[i].value);
        if (h->ndata) fprintf(stderr, "hlcat: > %lu body bytes\n", (unsigned long)h->data_len);
    }
    h->lib_error[0] = '\0';
    if (hlcat_https_ip(h)) {
        memset(&r, 0, sizeof r);
        rc = HL_E_TLS_CERT;
        snprintf(h->lib_error, sizeof h->lib_error, "%s", "an IP address cannot be verified by name; use the "
                 "server's DNS name (or --insecure, lab use only)");
    } else {
        rc = hl_http_fetch(h->ctx, &req, &r);
    }
    verdict[0] = '\0';
    if (h->verbose && rc == HL_OK) {
        fprintf(stderr, "hlcat: < HTTP/1.1 %d, %lu body bytes\n", r.status, (unsigned long)r.body_len);
        for (i = 0; i < r.header_count; i++)
            fprintf(stderr, "hlcat: < %s: %s\n", r.headers[i].name, r.headers[i].value);
    }
    if (h->verbose && r.request_id)
        fprintf(stderr, "hlcat: request %s: %lu attempt(s), %lu retr%s, %.1f ms\n", r.request_id,
                (unsigned long)r.attempts, (unsigned long)(r.attempts ? r.attempts - 1 : 0),
                r.attempts == 2 ? "y" : "ies", (double)r.latency_ns / 1e6);
    if (rc == HL_OK && h->fail && r.status >= 400) {
        snprintf(verdict, sizeof verdict, "hlcat: %s %s: the server answered HTTP %d (--fail)\n", method, h->url,
                 r.status);
        status = 22;
    } else if (rc == HL_OK) {
        if (h->include) {
            printf("HTTP/1.1 %d\n", r.status);
            for (i = 0; i < r.header_count; i++) printf("%s: %s\n", r.headers[i].name, r.headers[i].value);
            putchar('\n');
        }
        if (r.body_len) fwrite(r.body, 1, r.body_len, stdout);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            snprintf(verdict, sizeof verdict, "hlcat: writing stdout failed: %s\n", strerror(errno));
            status = 23;
        }
    } else {
        hl_url url;
        char why[128];
        if (rc == HL_E_BAD_URL && hl_url_parse(h->url, &url, why, sizeof why) != HL_OK)
            snprintf(verdict, sizeof verdict, "hlcat: bad URL '%s': %s (%s)\n", h->url, why, hl_result_name(rc));
        else if (rc == HL_E_UNSUPPORTED)
            snprintf(verdict, sizeof verdict, "hlcat: cannot fetch '%s': this build has no TLS for https:// (%s)\n",
                     h->url, hl_result_name(rc));
        else /* the library's ERROR line says why a call was refused; the response, why it failed */
            snprintf(verdict, sizeof verdict, "hlcat: %s %s failed: %s (%s)%s\n", method, h->url,
                     h->lib_error[0] ? h->lib_error : r.detail && r.detail[0] ? r.detail : hl_result_str(rc),
                     hl_result_name(rc),
                     rc == HL_E_MSG_TOO_BIG && !h->lib_error[0] ? "; --max-message raises the limit" : "");
        status = hlcat_http_exit(rc);
    }
    if (h->stats) { /* after the response is used: this call may release it */
        h->stats_len = hl_stats_json(h->ctx, h->stats_json, sizeof h->stats_json);
        if (h->stats_len > 0) fprintf(stderr, "%s\n", h->stats_json);
        else fprintf(stderr, "hlcat: --stats: %s\n", hl_result_str(h->stats_len));
    }
    fputs(verdict, stderr);
    return status;
}

/* ---- options ---- */

static void hlcat_usage(FILE *f)
{
    fprintf(f,
            "usage: hlcat [options] URL\n"
            "ws:// and wss://: prints each message received on its own line on stdout (binary\n"
            "as hex) and sends each stdin line as a text message. At the end of stdin it closes\n"
            "with 1000 once the send queue has drained, unless -n, --reconnect or --sub keep it\n"
            "receiving. http:// and https://: one request, like curl (see HTTP below).\n"
            "\n"
            "  -H 'Name: value'      extra handshake or request header (repeatable, up to %d)\n"
            "  -s PROTOS             subprotocols to offer, comma separated\n"
            "  -n N                  exit after N messages received (closes with 1000 first);\n"
            "                        subscription messages count too\n"
            "  -v                    lifecycle events on stderr; -v -v adds the library's log\n"
            "  --binary-raw          print binary messages as raw bytes instead of hex\n"
            "  --max-message BYTES   largest message or response body accepted (default 1048576)\n"
            "  --connect-timeout S   TCP connect, and upgrade or TLS handshake, timeout in\n"
            "                        seconds (default 10)\n"
            "  --stats               the library's statistics as JSON on stderr at exit\n"
            "  -h, --help            this help\n"
            "\n"
            "Staying up:\n"
            "  --reconnect           reconnect after a drop, with exponential backoff and jitter\n"
            "  --backoff-initial MS  first delay before reconnecting (default 1000)\n"
            "  --backoff-max MS      longest delay (default 30000)\n"
            "  --ping S              RFC 6455 ping every S seconds; no pong in 10 s fails the\n"
            "                        connection (pongs and their RTT show with -v)\n"
            "  --profile NAME        application protocol: hyperliquid\n"
            "  --sub JSON            subscribe (repeatable, up to %d; needs --profile), e.g.\n"
            "                        --sub '{\"type\":\"trades\",\"coin\":\"BTC\"}'; replayed after\n"
            "                        every reconnect, its messages printed like the others\n"
            "  --app-ping S          the profile's application ping every S seconds (default:\n"
            "                        the profile's, 50 for hyperliquid; 0: none)\n"
            "  --stale S             report (-v) a subscription silent for S seconds\n"
            "\n",
            HL_MAX_EXTRA_HEADERS, HLCAT_MAX_SUBS);
    fprintf(f, /* (pieces below 4095 characters, the longest literal C99 promises) */
            "HTTP (http://, https://): the response body goes to stdout exactly as received.\n"
            "  -X, --request METHOD  request method (default GET, or POST with -d)\n"
            "  -d, --data DATA       request body, sent byte for byte; @FILE reads FILE, @- stdin;\n"
            "                        several are joined with '&'; at most %lu bytes\n"
            "  -i, --include         print \"HTTP/1.1 <status>\", the headers and an empty line\n"
            "                        before the body\n"
            "  -I, --head            a HEAD request, its head printed (-X HEAD -i)\n"
            "  -f, --fail            status 400 or more: print nothing and exit 22\n"
            "  --retry N             retries of an idempotent request after a network failure,\n"
            "                        timeout, 5xx, 408 or 429 (default 2; 0: none)\n"
            "  --idempotent          the request may be retried whatever its method (a POST)\n"
            "  --max-time S          the whole request, retries included (default 30)\n"
            "  -v                    request, response head, request id, attempts, retries,\n"
            "                        latency and the library's log on stderr\n"
            "\n",
            (unsigned long)HLCAT_DATA_MAX);
    fprintf(f,
            "TLS (wss://, https://)%s:\n"
            "  --ca FILE             trust the PEM certificates in FILE (default: the system's)\n"
            "  --pin SHA256          accept the server whose public key has this SHA-256, in hex\n"
            "                        or base64 (repeatable, up to %d); stands in for CA trust;\n"
            "                        wss:// only\n"
            "  --insecure            accept ANY certificate: no protection at all (lab use only)\n"
            "\n"
            "Exit status (ws://, wss://): 0 after a normal close (the server's close frame\n"
            "carries 1000, 1001 or no code, or it never answered hlcat's own close), 1 on a\n"
            "failure (one line on stderr says why), 2 on a usage error, 130 after Ctrl-C while\n"
            "nothing was open.\n"
            "Exit status (http://, https://), as curl's, with one line on stderr saying why:\n"
            "   0 a response, any status (with --fail: below 400)\n"
            "  22 --fail and a status of 400 or more\n"
            "   2 usage error, bad URL, a header or method the library refuses\n"
            "   6 DNS failure              7 connect refused or failed\n"
            "  28 timeout (connect, TLS handshake, first byte, --max-time)\n"
            "  35 TLS handshake failure   60 certificate not accepted\n"
            "   8 malformed response (or its head over the limits)\n"
            "  63 body too big (-d, or the response over --max-message)\n"
            "  75 rate limited or circuit breaker open (temporary)\n"
            "  23 writing stdout failed    1 anything else\n",
            HL_ENABLE_TLS ? "" : " - not in this build", HLCAT_MAX_PINS);
}

static int hlcat_bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "hlcat: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'hlcat --help'.\n");
    return 2;
}

/* Parse a number in [lo, hi]; returns 0 on success. */
static int hlcat_number(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;
    if (!s || !*s) return -1;
    v = strtod(s, &end);
    if (*end != '\0' || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

/* "Name: value" -> a header; the argument is split in place (argv strings are writable). */
static int hlcat_add_header(hlcat *h, char *arg)
{
    char *colon = strchr(arg, ':'), *v;
    if (!colon || colon == arg) return -1;
    if (h->nheaders >= HL_MAX_EXTRA_HEADERS) return -2;
    *colon = '\0';
    for (v = colon + 1; *v == ' ' || *v == '\t'; v++) {
    }
    h->headers[h->nheaders].name = arg;
    h->headers[h->nheaders].value = v;
    h->nheaders++;
    return 0;
}

/* Options that take a value. */
static int hlcat_takes_value(const char *a)
{
    static const char *const names[] = {"-H", "-s", "-n", "--max-message", "--connect-timeout", "--ping",
                                        "--backoff-initial", "--backoff-max", "--profile", "--sub",
                                        "--app-ping", "--stale", "--ca", "--pin", "-X", "--request", "-d",
                                        "--data", "--data-binary", "--retry", "--max-time"};
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(a, names[i]) == 0) return 1;
    return 0;
}

/* Is the option (its first n bytes) one of names? */
static int hlcat_in_list(const char *opt, size_t n, const char *const *names, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (strlen(names[i]) == n && strncmp(opt, names[i], n) == 0) return 1;
    return 0;
}

/* Remember the first option that belongs to one kind of URL only, for the check once the URL
   is known (options may come before it). */
static void hlcat_note_option(hlcat *h, const char *a)
{
    static const char *const ws_only[] = {"-s", "-n", "--binary-raw", "--reconnect", "--ping", "--backoff-initial",
                                          "--backoff-max", "--profile", "--sub", "--app-ping", "--stale", "--pin"};
    static const char *const http_only[] = {"-X", "--request", "-d", "--data", "--data-binary", "-i", "--include",
                                            "-I", "--head", "-f", "--fail", "--retry", "--idempotent", "--max-time"};
    size_t n = (a[1] == '-' && strchr(a, '=')) ? (size_t)(strchr(a, '=') - a) : strlen(a);
    if (n >= HLCAT_OPT_NAME) return;
    if (!h->ws_opt[0] && hlcat_in_list(a, n, ws_only, sizeof ws_only / sizeof ws_only[0])) {
        memcpy(h->ws_opt, a, n);
        h->ws_opt[n] = '\0';
    }
    if (!h->http_opt[0] && hlcat_in_list(a, n, http_only, sizeof http_only / sizeof http_only[0])) {
        memcpy(h->http_opt, a, n);
        h->http_opt[n] = '\0';
    }
}

/* Case-insensitive: does s start with the lowercase prefix p? */
static int hlcat_prefix(const char *s, const char *p)
{
    for (; *p; s++, p++)
        if (tolower((unsigned char)*s) != *p) return 0;
    return 1;
}

#if !HL_ENABLE_TLS
/* The TLS options in a build without TLS: a clear refusal. */
static int hlcat_no_tls(const char *name)
{
    fprintf(stderr,
            "hlcat: %s is a TLS option, and this hlcat was built without TLS (HL_ENABLE_TLS 0); "
            "rebuild with -DHL_ENABLE_TLS=1 -I/usr/include/bearssl ... -lbearssl\n",
            name);
    return 2;
}
#endif

/* Seconds in [lo, 2000000] -> milliseconds (at least 1). */
static int hlcat_seconds_ms(const char *val, double lo, uint32_t *out)
{
    double num;
    if (hlcat_number(val, lo, 2e6, &num) != 0) return -1;
    *out = (uint32_t)(num * 1000 + 0.5);
    if (*out == 0 && num > 0) *out = 1;
    return 0;
}

/* Returns -1 to go on, else an exit status. */
static int hlcat_parse_args(hlcat *h, hl_config *cfg, int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        char *a = argv[i], *val = NULL;
        const char *name = a;
        double num;
        char longname[32];
        if (a[0] != '-' || a[1] == '\0') {
            if (h->url) return hlcat_bad_usage("more than one URL ('%s')", a);
            h->url = a;
            continue;
        }
        hlcat_note_option(h, a);
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            hlcat_usage(stdout);
            return 0;
        }
        if (strcmp(a, "-v") == 0) {
            h->verbose++;
            continue;
        }
        if (strcmp(a, "-vv") == 0) {
            h->verbose += 2;
            continue;
        }
        if (strcmp(a, "--binary-raw") == 0) {
            h->binary_raw = 1;
            continue;
        }
        if (strcmp(a, "--reconnect") == 0) {
            h->reconnect = 1;
            continue;
        }
        if (strcmp(a, "--stats") == 0) {
            h->stats = 1;
            continue;
        }
        if (strcmp(a, "-i") == 0 || strcmp(a, "--include") == 0) {
            h->include = 1;
            continue;
        }
        if (strcmp(a, "-I") == 0 || strcmp(a, "--head") == 0) {
            h->method = "HEAD";
            h->include = 1;
            continue;
        }
        if (strcmp(a, "-f") == 0 || strcmp(a, "--fail") == 0) {
            h->fail = 1;
            continue;
        }
        if (strcmp(a, "--idempotent") == 0) {
            h->idempotent = 1;
            continue;
        }
        if (strcmp(a, "--insecure") == 0) {
#if HL_ENABLE_TLS
            h->insecure = 1;
            continue;
#else
            return hlcat_no_tls(a);
#endif
        }
        if (a[1] == '-' && strchr(a, '=')) { /* --name=value */
            size_t n = (size_t)(strchr(a, '=') - a);
            if (n >= sizeof longname) return hlcat_bad_usage("unknown option '%s'", a);
            memcpy(longname, a, n);
            longname[n] = '\0';
            name = longname;
            val = a + n + 1;
        } else if (hlcat_takes_value(a)) {
            if (i + 1 >= argc) return hlcat_bad_usage("option '%s' needs a value", a);
            val = argv[++i];
        } else {
            return hlcat_bad_usage("unknown option '%s'", a);
        }
        if (strcmp(name, "-H") == 0) {
            int rc = hlcat_add_header(h, val);
            if (rc == -1) return hlcat_bad_usage("-H wants 'Name: value', not '%s'", val);
            if (rc == -2) return hlcat_bad_usage("too many -H headers (at most 16): '%s'", val);
        } else if (strcmp(name, "-s") == 0) {
            h->subprotocols = val;
        } else if (strcmp(name, "-n") == 0) {
            if (hlcat_number(val, 1, 4e9, &num) != 0 || num != (double)(unsigned long)num)
                return hlcat_bad_usage("-n wants a whole number >= 1, not '%s'", val);
            h->max_msgs = (unsigned long)num;
        } else if (strcmp(name, "--max-message") == 0) {
            if (hlcat_number(val, 1, 4294967295.0, &num) != 0 || num != (double)(uint32_t)num)
                return hlcat_bad_usage("--max-message wants bytes (1 to 4294967295), not '%s'", val);
            cfg->max_message_size = (uint32_t)num;
        } else if (strcmp(name, "--connect-timeout") == 0) {
            if (hlcat_seconds_ms(val, 0.001, &cfg->connect_timeout_ms) != 0)
                return hlcat_bad_usage("--connect-timeout wants seconds (0.001 to 2000000), not '%s'", val);
            cfg->handshake_timeout_ms = cfg->connect_timeout_ms;
        } else if (strcmp(name, "--ping") == 0) {
            if (hlcat_seconds_ms(val, 0.001, &h->ping_ms) != 0)
                return hlcat_bad_usage("--ping wants seconds (0.001 to 2000000), not '%s'", val);
        } else if (strcmp(name, "--backoff-initial") == 0 || strcmp(name, "--backoff-max") == 0) {
            if (hlcat_number(val, 1, 2147483647.0, &num) != 0 || num != (double)(uint32_t)num) {
                fprintf(stderr, "hlcat: %s wants milliseconds (1 to 2147483647), not '%s'\nTry 'hlcat --help'.\n",
                        name, val);
                return 2;
            }
            if (strcmp(name, "--backoff-initial") == 0) h->backoff_initial_ms = (uint32_t)num;
            else h->backoff_max_ms = (uint32_t)num;
        } else if (strcmp(name, "--profile") == 0) {
            if (strcmp(val, "hyperliquid") != 0)
                return hlcat_bad_usage("unknown profile '%s' (known: hyperliquid)", val);
            h->profile = hl_profile_hyperliquid();
        } else if (strcmp(name, "--sub") == 0) {
            if (h->nsubs >= HLCAT_MAX_SUBS) return hlcat_bad_usage("too many --sub (at most 64): '%s'", val);
            h->sub_json[h->nsubs++] = val;
        } else if (strcmp(name, "--app-ping") == 0) {
            if (hlcat_seconds_ms(val, 0, &h->app_ping_ms) != 0)
                return hlcat_bad_usage("--app-ping wants seconds (0 to 2000000), not '%s'", val);
            if (h->app_ping_ms == 0) h->app_ping_ms = HL_UNLIMITED; /* 0: none */
            h->app_ping_set = 1;
        } else if (strcmp(name, "--stale") == 0) {
            if (hlcat_seconds_ms(val, 0.001, &h->stale_ms) != 0)
                return hlcat_bad_usage("--stale wants seconds (0.001 to 2000000), not '%s'", val);
        } else if (strcmp(name, "-X") == 0 || strcmp(name, "--request") == 0) {
            if (!hlcat_method_ok(val))
                return hlcat_bad_usage("-X wants an HTTP method such as GET or POST, not '%s'", val);
            h->method = val;
        } else if (strcmp(name, "-d") == 0 || strcmp(name, "--data") == 0 || strcmp(name, "--data-binary") == 0) {
            if (h->ndata >= HLCAT_MAX_DATA) return hlcat_bad_usage("too many -d (at most 16): '%s'", val);
            h->data_args[h->ndata++] = val;
        } else if (strcmp(name, "--retry") == 0) {
            if (hlcat_number(val, 0, 1000, &num) != 0 || num != (double)(int)num)
                return hlcat_bad_usage("--retry wants a whole number of retries (0 to 1000), not '%s'", val);
            h->retries = num == 0 ? -1 : (int)num; /* hl_http_req.retries: -1 is none, 0 the default */
        } else if (strcmp(name, "--max-time") == 0) {
            if (hlcat_seconds_ms(val, 0.001, &h->max_time_ms) != 0)
                return hlcat_bad_usage("--max-time wants seconds (0.001 to 2000000), not '%s'", val);
        } else if (strcmp(name, "--ca") == 0 || strcmp(name, "--pin") == 0) {
#if HL_ENABLE_TLS
            if (strcmp(name, "--ca") == 0) {
                FILE *f = fopen(val, "rb");
                if (!f) {
                    fprintf(stderr, "hlcat: --ca: cannot read '%s': %s\n", val, strerror(errno));
                    return 2;
                }
                fclose(f);
                h->ca_file = val;
            } else {
                if (h->npins >= HLCAT_MAX_PINS) return hlcat_bad_usage("too many --pin (at most 4): '%s'", val);
                if (hl_tls_pin_parse(val, h->pins + 32 * h->npins) != HL_OK)
                    return hlcat_bad_usage("--pin wants a SHA-256 as 64 hex digits or 44 characters of base64, "
                                           "not '%s'", val);
                h->npins++;
            }
#else
            return hlcat_no_tls(name);
#endif
        } else {
            return hlcat_bad_usage("unknown option '%s'", name);
        }
    }
    if (!h->url) return hlcat_bad_usage("%s", "no URL given");
    h->http = hlcat_prefix(h->url, "http://") || hlcat_prefix(h->url, "https://");
    if (h->http && strcmp(h->ws_opt, "--pin") == 0)
        return hlcat_bad_usage("%s", "--pin is for wss:// only: the library's HTTP client takes no pins "
                                     "(trust the server's CA with --ca instead)");
    if (h->http && h->ws_opt[0])
        return hlcat_bad_usage("%s is a WebSocket option (ws://, wss://), not for http:// or https://", h->ws_opt);
    if (!h->http && h->http_opt[0])
        return hlcat_bad_usage("%s is an HTTP option (http://, https://), not for ws:// or wss://", h->http_opt);
    if (h->nsubs && !h->profile) return hlcat_bad_usage("%s", "--sub needs --profile (e.g. --profile hyperliquid)");
    if (h->app_ping_set && !h->profile) return hlcat_bad_usage("%s", "--app-ping needs --profile");
    if (h->stale_ms && !h->nsubs) return hlcat_bad_usage("%s", "--stale needs --sub");
    if ((h->backoff_initial_ms || h->backoff_max_ms) && !h->reconnect)
        return hlcat_bad_usage("%s", "--backoff-initial and --backoff-max need --reconnect");
    if (h->backoff_initial_ms && h->backoff_max_ms && h->backoff_initial_ms > h->backoff_max_ms)
        return hlcat_bad_usage("%s", "--backoff-initial is larger than --backoff-max");
    return -1;
}

/* Why hl_ws_connect refused, on one line. Returns the exit status. */
static int hlcat_connect_failed(const hlcat *h, int rc)
{
    hl_url url;
    char why[128];
    if (rc == HL_E_BAD_URL && hl_url_parse(h->url, &url, why, sizeof why) != HL_OK)
        fprintf(stderr, "hlcat: bad URL '%s': %s (%s)\n", h->url, why, hl_result_name(rc));
    else if (rc == HL_E_UNSUPPORTED)
        fprintf(stderr, "hlcat: cannot connect to '%s': this build has no TLS for wss:// (%s)\n", h->url,
                hl_result_name(rc));
    else if (rc == HL_E_BAD_URL)
        fprintf(stderr, "hlcat: bad URL '%s': not ws://, wss://, http:// or https:// (%s)\n", h->url,
                hl_result_name(rc));
    else if (rc == HL_E_TLS_CERT && strstr(h->lib_error, "IP address"))
        fprintf(stderr, "hlcat: cannot connect to '%s': an IP address cannot be verified by name; give the "
                        "server's key with --pin, or use its DNS name (%s)\n", h->url, hl_result_name(rc));
    else
        fprintf(stderr, "hlcat: cannot connect to '%s': %s (%s)\n", h->url,
                h->lib_error[0] ? h->lib_error : hl_result_str(rc), hl_result_name(rc));
    return rc == HL_E_BAD_URL || rc == HL_E_INVALID ? 2 : 1;
}

int main(int argc, char **argv)
{
    hlcat *h = &hlcat_state;
    hl_config cfg;
    hl_ws_desc desc;
    size_t need;
    int rc, status, i;

    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.send_queue_size = HLCAT_SEND_QUEUE;
    status = hlcat_parse_args(h, &cfg, argc, argv);
    if (status >= 0) return status;
    cfg.log = hlcat_log;
    cfg.user = h;
    cfg.log_level = h->verbose >= 2 ? HL_LOG_DEBUG : HL_LOG_ERROR;
    if (h->http) {
        /* one request: one slot holding the whole rendered request (head and -d body), which
           must also fit the connection's send buffer */
        cfg.http_max_requests = 1;
        cfg.http_request_size = HLCAT_DATA_MAX + HLCAT_HEAD_ROOM;
        cfg.send_queue_size = cfg.http_request_size;
        cfg.http_max_headers = HLCAT_MAX_RESP_HEADERS;
        if (h->verbose == 1) cfg.log_level = HL_LOG_INFO; /* retries and failures */
        status = hlcat_load_data(h);
        if (status >= 0) return status;
    }
    cfg.tls_ca_file = h->ca_file;
    cfg.tls_insecure = h->insecure;

    need = hl_ctx_size(&cfg);
    if (need > sizeof hlcat_memory) {
        fprintf(stderr,
                "hlcat: this configuration needs %lu bytes of context memory, hlcat has %lu "
                "(lower --max-message, or rebuild with -DHLCAT_MEMORY=%lu)\n",
                (unsigned long)need, (unsigned long)sizeof hlcat_memory, (unsigned long)need);
        return 2;
    }
    rc = hl_ctx_init(&h->ctx, hlcat_memory, sizeof hlcat_memory, &cfg);
    if (rc != HL_OK) {
        fprintf(stderr, "hlcat: hl_ctx_init failed: %s (%s)\n", hl_result_str(rc), hl_result_name(rc));
        return 1;
    }
    if (h->insecure)
        fprintf(stderr, "hlcat: WARNING: --insecure: the server's certificate is NOT verified. Anyone on "
                        "the path can read and change this connection. Lab use only.\n");

#if defined(_WIN32)
    if (h->binary_raw || h->http) _setmode(_fileno(stdout), _O_BINARY);
#else
    /* With fd 0 closed, a socket could become fd 0 and be read as stdin: hold it with
       /dev/null (an empty stdin) before the library opens any socket. */
    if (fcntl(0, F_GETFD) == -1 && open("/dev/null", O_RDONLY) != 0) {
        fprintf(stderr, "hlcat: stdin is closed and /dev/null cannot stand in for it\n");
        return 1;
    }
#endif
    if (h->http) { /* Ctrl-C keeps its default action: it ends hlcat at once */
        status = hlcat_http(h);
        hl_ctx_shutdown(h->ctx);
        return status;
    }
#if defined(_WIN32)
    signal(SIGINT, hlcat_on_sigint);
#else
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = hlcat_on_sigint; /* no SA_RESTART: poll() returns EINTR */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
    }
#endif

    memset(&desc, 0, sizeof desc);
    desc.url = h->url;
    desc.subprotocols = h->subprotocols;
    desc.headers = hlcat_headers;
    desc.headers_user = h;
    desc.on_event = hlcat_on_event;
    desc.user = h;
    desc.tls_pins = h->npins ? h->pins : NULL;
    desc.tls_pin_count = h->npins;
    desc.reconnect = h->reconnect;
    desc.backoff.initial_ms = h->backoff_initial_ms;
    desc.backoff.max_ms = h->backoff_max_ms;
    if (h->backoff_initial_ms && !h->backoff_max_ms && h->backoff_initial_ms > 30000)
        desc.backoff.max_ms = h->backoff_initial_ms; /* the default cap would undercut it */
    desc.ping_interval_ms = h->ping_ms;
    desc.profile = h->profile;
    desc.app_ping_ms = h->app_ping_ms;
    if (h->verbose) fprintf(stderr, "hlcat: connecting to %s\n", h->url);
    rc = hl_ws_connect(h->ctx, &desc, &h->ws);
    if (rc != HL_OK) {
        status = hlcat_connect_failed(h, rc);
        hl_ctx_shutdown(h->ctx);
        return status;
    }
    /* The subscriptions go into the registry now; the library sends them once open. */
    for (i = 0; i < h->nsubs; i++) {
        hl_sub_desc sd;
        memset(&sd, 0, sizeof sd);
        sd.subscription = h->sub_json[i];
        sd.on_message = hlcat_on_sub_message;
        sd.user = h;
        sd.stale_after_ms = h->stale_ms;
        h->lib_error[0] = '\0';
        rc = hl_ws_subscribe(h->ctx, h->ws, &sd, &h->subs[i]);
        if (rc != HL_OK) {
            fprintf(stderr, "hlcat: --sub '%s': %s (%s)\nTry 'hlcat --help'.\n", h->sub_json[i],
                    h->lib_error[0] ? h->lib_error : hl_result_str(rc), hl_result_name(rc));
            hl_ctx_shutdown(h->ctx);
            return 2;
        }
    }

    status = hlcat_run(h);
    if (h->stats) {
        if (h->stats_len <= 0) h->stats_len = hl_stats_json(h->ctx, h->stats_json, sizeof h->stats_json);
        if (h->stats_len > 0) fprintf(stderr, "%s\n", h->stats_json);
        else fprintf(stderr, "hlcat: --stats: %s\n", hl_result_str(h->stats_len));
    }
    hl_ctx_shutdown(h->ctx);
    fflush(stdout);
    if (status != 0) return status;
    return hlcat_outcome(h);
}
