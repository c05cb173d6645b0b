/* hl_net.h - a poll-driven WebSocket (RFC 6455) and HTTP/1.1 client for C99, in one header,
   with TLS (BearSSL), connections that stay up by themselves, and fixed memory.
   Version 0.1.0. MIT licence (at the end of this file).

   GENERATED from amalgamate/ by amalgamate/amalgamate.sh: edit the modules, not this file.

   Do this:
       #define HL_NET_IMPLEMENTATION
   before you include this file in *one* C or C++ file to create the implementation, and include
   it there before any other header (strict -std=c99 hides POSIX declarations otherwise). Every
   other file includes it plainly. Add HL_NET_STATIC as well to make every function static.
   Dependencies: jsmn (header only, Debian libjsmn-dev) always; BearSSL (libbearssl-dev) with
   HL_ENABLE_TLS 1: -DHL_ENABLE_TLS=1 -I/usr/include/bearssl ... -lbearssl.

QUICK START
   A complete subscriber: connects, subscribes to Hyperliquid trades, prints them, and keeps the
   connection up through drops until it has seen 100 trades.

       #define HL_NET_IMPLEMENTATION
       #include "hl_net.h"
       #include <stdio.h>

       static int trades;

       static void on_trade(hl_ctx *ctx, const hl_msg *m)
       {
           (void)ctx;
           printf("%.*s\n", (int)m->len, (const char *)m->data);
           trades++;
       }

       static void on_event(hl_ctx *ctx, const hl_event *ev)
       {
           (void)ctx;
           if (ev->type == HL_EV_DISCONNECT)
               fprintf(stderr, "dropped (%s), back in %u ms\n", ev->detail, ev->delay_ms);
       }

       int main(void)
       {
           static unsigned char mem[8 << 20];
           hl_config cfg = {0};
           hl_ctx *ctx;
           hl_ws_desc desc = {0};
           hl_sub_desc sub = {0};
           hl_ws ws;
           hl_sub s;
           cfg.max_connections = 1;
           if (hl_ctx_size(&cfg) > sizeof mem || hl_ctx_init(&ctx, mem, sizeof mem, &cfg)) return 1;
           desc.url = "ws://127.0.0.1:8080/ws"; // wss://api.hyperliquid.xyz/ws with TLS
           desc.on_event = on_event;
           desc.profile = hl_profile_hyperliquid();
           desc.reconnect = 1;
           desc.ping_interval_ms = 20000;
           if (hl_ws_connect(ctx, &desc, &ws) != HL_OK) return 1;
           sub.subscription = "{\"type\":\"trades\",\"coin\":\"BTC\"}";
           sub.on_message = on_trade;
           if (hl_ws_subscribe(ctx, ws, &sub, &s) != HL_OK) return 1;
           while (trades < 100) hl_poll(ctx, 1000);
           hl_ctx_shutdown(ctx);
           return 0;
       }

MEMORY MODEL
   The library never calls malloc, calloc, realloc or free. hl_ctx_size(&cfg) says how many bytes
   a configuration needs; hl_ctx_init carves that block once into fixed pools and never asks for
   more. Per connection slot (WebSocket or pooled HTTP) it holds a receive buffer of
   max_message_size + max_header_size + read_chunk_size bytes (a whole message, or an HTTP
   response, is assembled there and handed to you in place: zero copy), a send queue of
   send_queue_size bytes and, with TLS, about 29 KiB (BearSSL's contexts, a 16709-byte input
   buffer, tls_output_buffer_size output). Besides: subscription slots, queue slots for pulled
   messages, JSON tokens, HTTP request slots, and tls_anchor_space for trust anchors. With the
   defaults a slot is about 1.3 MiB. Running out of a pool is an error code (HL_E_POOL_EMPTY,
   HL_E_QUEUE_FULL), never a crash and never growth. The default resolver, getaddrinfo, may
   allocate inside libc; pass config.resolve to avoid even that.

THREADING
   None. The library creates no threads and takes no locks. One context belongs to one thread at
   a time; use one context per thread if you have several. Give hl_poll at least 16 KiB of stack
   (BearSSL uses up to about 6 KiB during a handshake).

POLL-LOOP INTEGRATION
   Simplest: call hl_poll(ctx, timeout_ms) in your loop. It sleeps at most until the earliest
   deadline of the context (timeouts, heartbeats, backoff, rate-limit refills) and never past
   timeout_ms, then does all ready work and calls your callbacks. An idle context uses no CPU.
   With your own loop (epoll, kqueue, a game frame): hl_pollfds lists the sockets and the events
   each wants, hl_next_timeout gives the milliseconds to the next deadline, and after your wait
   hl_process(ctx, fds, n) takes the readiness you observed (n = 0 just runs due work).
   Callbacks run only inside hl_poll / hl_process. Inside a callback you may send, subscribe,
   close or abort, but not call hl_poll, hl_process or hl_http_fetch.
   Outside hl_poll, hl_ws_send writes to the socket at once when it can (latency first); what
   does not fit waits in the send queue and goes out in later polls.
   config.transport replaces the OS sockets (an embedded TCP stack, or memory for tests).

CONNECTION LIFECYCLE, RECONNECT AND CIRCUIT BREAKER
       IDLE -> RESOLVING -> CONNECTING -> TLS_HANDSHAKE -> UPGRADING -> OPEN -> CLOSING -> CLOSED
                 ^                                                                       |
                 +------------------- BACKOFF (delay_ms, attempt) <----------------------+
                                        (hl_ws_desc.reconnect and a retryable failure)
   Every change is an HL_EV_STATE event; failures come with result and detail. Without
   reconnect, every connection ends with exactly one HL_EV_CLOSE (the handle is dead after it).
   With reconnect, a drop is an HL_EV_DISCONNECT (code, reason, result, delay) and the handle
   lives on: after backoff (default 1 s, x2, at most 30 s, +-20 % jitter from the CSPRNG; an
   upgrade refused with 429/503 and Retry-After waits at least that long) it connects again,
   replays every subscription and reports each feed's gap (HL_EV_GAP). The attempt count resets
   once a connection has stayed open backoff.healthy_ms (10 s). hl_err_retryable is the one rule
   of what retries: certificate errors, bad URLs and 4xx other than 408/429 do not.
   A circuit breaker per connection gates attempts:
       CLOSED --(5 failures in a row, or ratio_pct of a window)--> OPEN --(cooldown_ms)--> HALF_OPEN
          ^                                                         ^                       |
          +------------------(the one probe stays healthy)---------|-----------------------+
                                                                    +-----(probe fails)-----+
   While OPEN no attempt is made (state BACKOFF, result HL_E_CIRCUIT_OPEN). New connections of
   the whole context also share connects_per_minute (30: Hyperliquid's limit per IP): attempts
   past it wait, they never fail. (HTTP connections are not counted: the pool keeps them.)
   Liveness: RFC 6455 pings every ping_interval_ms must be answered within pong_timeout_ms (RTT
   in the stats); the profile's application ping goes out when either direction has been quiet
   for app_ping_ms; silence_timeout_ms fails a connection that received nothing that long. Each
   catches a half-open TCP connection and leads to a reconnect.

SUBSCRIPTIONS, ROUTING AND BACKPRESSURE
   hl_ws_subscribe keeps a subscription in the connection's registry: sent now when open,
   replayed in order after every reconnect, paced by the venue's outbound budget
   (ws_msgs_per_minute, shared by all connections of a profile). Duplicates are found by content
   (key order, white space, null/false/"" defaults and address case do not matter), so the
   server's normalised acks match. States: PENDING, ACTIVE (acked), FAILED (the server's error
   channel; HL_EV_SUB carries its text). Each incoming message is classified by the profile with
   a scan of its envelope (never a full parse) and routed by one hash lookup to its handler (the
   data is a view, valid during the call; hl_msg_tokens tokenizes it once, on demand) or its
   bounded pull queue (hl_sub_pull). When a queue is full its overflow policy decides:
   REJECT_NEW and DROP_OLDEST drop and count (HL_EV_DROPPED), CONFLATE keeps only the latest,
   BACKPRESSURE stops reading the socket until you pull. Nothing is dropped silently.
   hl_ws_send on a profile connection also spends the venue budget: past it, HL_E_RATE_LIMITED.
   A message over max_message_size fails the connection with close 1009; text is checked as
   UTF-8 as it arrives (1007 at the first bad byte). hl_ws_send returns HL_E_QUEUE_FULL when the
   message does not fit the send queue now (nothing queued: send it again after a poll;
   hl_ws_send_room tells the room) and HL_E_MSG_TOO_BIG when it never could. Pongs and the close
   frame have a reserve in the queue; when pings pile up only the newest is answered (RFC 6455
   5.5.3), counted in pongs_coalesced. hl_stats_json writes every counter as one JSON document.

HTTP CLIENT
   hl_http_request queues a request (copied, rendered once) and calls on_response exactly once;
   hl_http_fetch blocks. Connections come from the same slots, kept alive per origin (at most
   http_max_per_origin, idle ones closed after http_idle_timeout_ms). Per request: connect, time
   to first byte and total timeouts (class defaults: data 30 s, trading 10 s). An idempotent
   request (GET, HEAD, PUT, DELETE, OPTIONS, or idempotent=1 such as Hyperliquid's /info) is
   retried up to http_max_retries times with backoff on connect failures, timeouts, 5xx, 408 and
   429, waiting at least Retry-After (seconds or HTTP-date); a non-idempotent one (/exchange) is
   never retried. A pooled connection the server closed while idle costs one free retry on a
   fresh connection. Each endpoint (origin + path) has a circuit breaker (an open one fails fast
   with HL_E_CIRCUIT_OPEN) and statistics; each origin a weighted budget
   (http_weight_per_minute: requests past it wait, or fail with HL_E_RATE_LIMITED if
   http_rate_fail). Responses are parsed strictly (two Content-Lengths, Content-Length with
   chunked, bad chunks and obsolete folding are HL_E_HTTP_PROTOCOL; an oversized head is
   HL_E_HEADER_TOO_BIG, an oversized body HL_E_MSG_TOO_BIG). The free retry after a stale pooled
   connection is not counted in attempts (the server normally never saw that try; if it reset
   the connection after reading the request, it did). Every
   request sends X-Request-Id (and traceparent if asked); log lines carry it; headers are never
   logged, so Authorization stays out of logs.

TLS
   wss:// and https:// verify the server by default: the chain against the trust anchors (from
   tls_ca_pem, tls_ca_file, the system bundle, or your own array), the host name (SAN), and the
   dates against wall_clock. tls_pins adds or stands in for CA trust with SHA-256 pins of the
   server's public key. tls_insecure accepts any certificate and says so in the log on every
   connect: for the lab only. BearSSL speaks TLS 1.2 (ECDHE with AES-GCM or ChaCha20-Poly1305);
   a TLS 1.3-only server fails with a message saying so. Sessions are resumed on reconnect to the
   same host (hl_ctx_stats counts full and resumed handshakes). An IP-address host cannot be
   checked by name: pin its key. Certificate failures are HL_E_TLS_CERT with the reason (unknown
   CA, expired, wrong host, pin mismatch) and BearSSL's code in hl_error_info.tls_error.

CONFIGURATION
   hl_config, zero meaning default (hl_config_resolve shows the effective values):
       max_connections       4          connection slots (WebSocket and pooled HTTP)
       max_message_size      1 MiB      largest message or HTTP body received
       read_chunk_size       16 KiB     receive room beyond one message (min 1 KiB)
       send_queue_size       256 KiB    framed bytes waiting for the socket
       max_header_size       8 KiB      handshake and HTTP heads (min 256)
       connect_timeout_ms    10000      per address tried
       handshake_timeout_ms  10000      TCP connected to 101 received (TLS included)
       close_timeout_ms      5000       closing handshake and the server's TCP close
       log_level             INFO       most detailed level passed to log
       clock, entropy, resolve, log, user, transport, wall_clock   callbacks
       tls_ca_file, tls_ca_pem(_len), tls_anchors(_count)           trust anchors
       tls_anchor_space      128 KiB    room for parsed anchors (Debian's bundle: 71 KiB)
       tls_output_buffer_size 4181      597..16469; smaller asks servers for smaller records
       tls_insecure          0
       connects_per_minute   30         HL_UNLIMITED for none
       ws_msgs_per_minute    profile    Hyperliquid 2000; HL_UNLIMITED for none
       max_subscriptions     64         subscription slots
       max_subscriptions_venue profile  Hyperliquid 1000
       queue_slots           64         message slots shared by pull queues
       queue_slot_size       4096       largest message a pull queue keeps
       json_max_tokens       2048       tokens hl_msg_tokens can give
       http_max_requests     16         requests queued or in flight
       http_request_size     16 KiB     a request's head and body
       http_max_per_origin   2
       http_idle_timeout_ms  30000
       http_max_endpoints    16         origin+path pairs with a breaker and stats
       http_max_headers      32
       http_data_timeout_ms  30000      http_trading_timeout_ms 10000
       http_max_retries      2          http_backoff 200 ms x2 up to 5 s; http_breaker as above
       http_weight_per_minute 0         no client-side limit (Hyperliquid: 1200)
       http_rate_fail        0          0: wait in the queue; 1: HL_E_RATE_LIMITED
       http_traceparent      0
   Per connection (hl_ws_desc): reconnect, backoff, breaker, ping_interval_ms, pong_timeout_ms
   (10000), app_ping_ms (the profile's; HL_UNLIMITED for none), silence_timeout_ms, profile,
   subprotocols, headers (asked on every connect), tls_pins, batch_events.
   Compile time: HL_ENABLE_TLS (0), HL_NET_STATIC, HL_CONFIG_HEADER, and the hooks HL_ASSERT,
   HL_MEMCPY, HL_MEMMOVE, HL_MEMSET.

ERRORS
   Every call returns HL_OK (0) or a negative hl_result; hl_result_str and hl_result_name describe
   one. Events carry the result and a detail string; hl_ws_last_error gives errno, HTTP status,
   close code and BearSSL's code as well. When the server refuses the upgrade, HL_EV_ERROR has
   the HTTP status and the response body. Log lines name the config field to change when a
   limit is hit.

HYPERLIQUID NOTES
   hl_profile_hyperliquid(): {"method":"ping"} every 50 s when quiet (the server closes a
   connection idle for 60 s), answered by {"channel":"pong"}; subscriptions are the objects of
   the API ({"type":"l2Book","coin":"ETH"}); routes are channel|coin (trades, l2Book, bbo,
   activeAssetCtx; activeSpotAssetCtx for "@107" or "PURR/USDC" coins), candle|coin|interval,
   <user feed>|user (addresses lower-cased), or the channel alone where the data names nobody
   (user for userEvents, orderUpdates, notification, allMids). One userEvents or orderUpdates
   user per connection: their data does not say whose it is. Limits applied locally: 2000
   messages/min and 1000 subscriptions per venue, 30 new connections/min. User feeds start with
   an isSnapshot message (hl_msg.is_snapshot); after a reconnect the first message of each route
   has after_gap set. The HTTP /info endpoint is a POST marked idempotent; /exchange is not.
   Hyperliquid's servers speak TLS 1.2 as of this writing; BearSSL has no TLS 1.3.

LIMITATIONS
   No permessage-deflate; no HTTP/2; HTTP bodies are not decompressed (we send no
   Accept-Encoding). Name resolution uses blocking getaddrinfo unless a resolver hook is set. The
   Windows build (Winsock, WSAPoll) has no TLS yet and is compiled, not run, in CI.
*/
/* ==== begin api.h ==== */
#ifndef HL_NET_H
#define HL_NET_H

/* The implementation needs POSIX declarations that strict -std=c99 hides; they must be asked for
   before the first system header, so include hl_net.h first in the implementation file (or build
   with -D_POSIX_C_SOURCE=200809L). */
#if defined(HL_NET_IMPLEMENTATION) && !defined(_WIN32) && !defined(_POSIX_C_SOURCE) && !defined(__APPLE__)
#define _POSIX_C_SOURCE 200809L
#endif
#if defined(_WIN32) && !defined(_WIN32_WINNT)
#define _WIN32_WINNT 0x0600 /* WSAPoll */
#endif

#include <stddef.h>
#include <stdint.h>

#define HL_NET_VERSION_MAJOR 0
#define HL_NET_VERSION_MINOR 1
#define HL_NET_VERSION_PATCH 0
#define HL_NET_VERSION "0.1.0"

/* Compile-time switches (0/1). TLS needs BearSSL: -I/usr/include/bearssl -lbearssl. */
#ifdef HL_CONFIG_HEADER
#include HL_CONFIG_HEADER
#endif
#ifndef HL_ENABLE_TLS
#define HL_ENABLE_TLS 0
#endif

#ifdef HL_NET_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define HL_API static __attribute__((unused))
#else
#define HL_API static
#endif
#else
#define HL_API extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- results ------------------------------------------------------------------------------ */

/* Every call returns HL_OK or a negative code; codes are grouped by class in steps of 10. */
typedef enum hl_result {
    HL_OK = 0,
    /* usage */
    HL_E_INVALID = -1,          /* a NULL or out-of-range argument */
    HL_E_BAD_URL = -2,          /* the URL does not parse (detail says where) */
    HL_E_STATE = -3,            /* the call does not fit the connection's state */
    HL_E_UNSUPPORTED = -4,      /* built without the feature (e.g. wss:// with HL_ENABLE_TLS 0) */
    HL_E_BAD_HANDLE = -5,       /* a handle that is closed or was never issued */
    /* limits */
    HL_E_NO_MEMORY = -10,       /* the block given to hl_ctx_init is smaller than hl_ctx_size */
    HL_E_POOL_EMPTY = -11,      /* every connection slot is in use (config.max_connections) */
    HL_E_QUEUE_FULL = -12,      /* the send queue has no room (config.send_queue_size) */
    HL_E_MSG_TOO_BIG = -13,     /* a message over config.max_message_size (close 1009) */
    HL_E_HEADER_TOO_BIG = -14,  /* handshake headers over config.max_header_size */
    /* timeouts */
    HL_E_CONNECT_TIMEOUT = -20,
    HL_E_HANDSHAKE_TIMEOUT = -21,
    HL_E_CLOSE_TIMEOUT = -22,   /* the peer did not finish the closing handshake in time */
    HL_E_PONG_TIMEOUT = -23,    /* a ping (RFC 6455 or the profile's) got no answer in time */
    HL_E_SILENCE = -24,         /* nothing received within silence_timeout_ms */
    HL_E_REQUEST_TIMEOUT = -25, /* an HTTP request's time to first byte or total time ran out */
    /* network */
    HL_E_DNS = -30,             /* the host name did not resolve */
    HL_E_CONNECT_REFUSED = -31,
    HL_E_CONNECT = -32,         /* any other connect failure (unreachable, ...) */
    HL_E_IO = -33,              /* a send/recv failure; errno in the last error */
    HL_E_RESET = -34,           /* the peer reset the TCP connection */
    HL_E_EOF = -35,             /* the peer closed TCP without a WebSocket close frame */
    /* TLS */
    HL_E_TLS = -40,
    HL_E_TLS_CERT = -41,
    /* protocol */
    HL_E_HANDSHAKE = -50,       /* the server refused the upgrade (HTTP status in last error) */
    HL_E_PROTOCOL = -51,        /* the peer broke RFC 6455 (close 1002) */
    HL_E_BAD_UTF8 = -52,        /* invalid UTF-8 in a text message or close reason (close 1007) */
    HL_E_HTTP_PROTOCOL = -53,   /* a malformed HTTP response */
    HL_E_CLOSED = -54,          /* the connection is closing or closed */
    /* policy */
    HL_E_RATE_LIMITED = -60,
    HL_E_CIRCUIT_OPEN = -61
} hl_result;

/* A short fixed description of a result code ("connection refused"); never NULL. */
HL_API const char *hl_result_str(int result);
/* The enum name of a result code ("HL_E_CONNECT_REFUSED"); never NULL. */
HL_API const char *hl_result_name(int result);

/* ---- platform types ----------------------------------------------------------------------- */

#if defined(_WIN32)
typedef uintptr_t hl_socket; /* a Winsock SOCKET */
#define HL_INVALID_SOCKET (~(hl_socket)0)
#else
typedef int hl_socket;
#define HL_INVALID_SOCKET (-1)
#endif

/* A resolved socket address (a struct sockaddr_in or sockaddr_in6 as bytes). */
typedef struct hl_addr {
    unsigned char bytes[28];
    uint32_t len;
} hl_addr;

/* A transport replaces the OS sockets: an embedded host's own TCP stack (lwIP), or an in-memory
   one for deterministic tests. Handles are whatever the transport likes; they appear in
   hl_pollfd.fd, and the caller reports their readiness to hl_process (hl_poll would hand them
   to poll(), so drive a custom transport with hl_pollfds, hl_next_timeout and hl_process).
   err values are the platform's errno codes (ECONNREFUSED, ECONNRESET, ...). */
#define HL_IO_AGAIN (-1) /* send/recv: would block */
#define HL_IO_ERROR (-2) /* connect/send/recv failed; *err says why */
typedef struct hl_transport {
    /* 0 connected, 1 in progress (writable readiness tells when), or HL_IO_ERROR */
    int (*connect)(void *user, const hl_addr *addr, hl_socket *out, int *err);
    int (*connect_result)(void *user, hl_socket s); /* after readiness: 0 or the error */
    long (*send)(void *user, hl_socket s, const void *p, size_t n, int *err);
    long (*recv)(void *user, hl_socket s, void *p, size_t n, int *err); /* 0: end of stream */
    void (*close)(void *user, hl_socket s);
    void *user;
} hl_transport;

/* ---- resilience policies ------------------------------------------------------------------ */

typedef enum hl_jitter {
    HL_JITTER_DEFAULT = 0,   /* proportional */
    HL_JITTER_PROPORTIONAL,  /* base +- jitter_pct percent */
    HL_JITTER_FULL,          /* uniform in [0, base] */
    HL_JITTER_NONE
} hl_jitter;

/* Exponential backoff with jitter; zero fields mean the defaults beside them. */
typedef struct hl_backoff {
    uint32_t initial_ms;      /* 1000: delay before the first retry */
    uint32_t max_ms;          /* 30000: cap */
    uint32_t multiplier_pct;  /* 200: each delay is the last one times 2 */
    hl_jitter jitter;         /* proportional */
    uint32_t jitter_pct;      /* 20: +-20 % for proportional jitter */
    uint32_t max_attempts;    /* 0: retry for ever */
    uint32_t healthy_ms;      /* 10000: connected this long resets the attempt count */
} hl_backoff;

typedef enum hl_breaker_state { HL_BREAKER_CLOSED = 0, HL_BREAKER_OPEN, HL_BREAKER_HALF_OPEN } hl_breaker_state;

/* Circuit breaker: CLOSED -> OPEN after `failures` consecutive failures (or, with ratio_pct, that
   share of failures among at least ratio_min_calls calls in ratio_window_ms) -> HALF_OPEN after
   cooldown_ms -> one probe -> CLOSED on success, OPEN again on failure. */
typedef struct hl_breaker_config {
    uint32_t failures;        /* 5 */
    uint32_t ratio_pct;       /* 0: off */
    uint32_t ratio_window_ms; /* 60000 */
    uint32_t ratio_min_calls; /* 10 */
    uint32_t cooldown_ms;     /* 15000 */
} hl_breaker_config;

/* Would a retry help after this failure? The reconnect and HTTP retry logic ask this one
   function. Certificate errors, bad URLs and 4xx refusals other than 408 and 429 do not retry;
   network errors, timeouts, 5xx, 408 and 429 do. http_status 0 when there was none. */
HL_API int hl_err_retryable(int result, int http_status);

/* ---- callbacks in the configuration ------------------------------------------------------- */

/* Monotonic time in nanoseconds. Default: CLOCK_MONOTONIC / QueryPerformanceCounter. */
typedef uint64_t (*hl_clock_fn)(void *user);
/* Fill buf with len unpredictable bytes; return 0, or non-zero on failure.
   Default: getrandom()/ /dev/urandom / BCryptGenRandom. */
typedef int (*hl_entropy_fn)(void *user, void *buf, size_t len);
/* Resolve host:port into at most max addresses, in the order to try; return how many were
   written, or a negative hl_result (HL_E_DNS). Default: getaddrinfo (it blocks). */
typedef int (*hl_resolve_fn)(void *user, const char *host, uint16_t port, hl_addr *out, int max);

typedef enum hl_log_level {
    HL_LOG_ERROR = 1,
    HL_LOG_WARN = 2,
    HL_LOG_INFO = 3,
    HL_LOG_DEBUG = 4
} hl_log_level;
/* conn_id is the connection's handle id (0 for the context). msg is valid during the call. */
typedef void (*hl_log_fn)(void *user, hl_log_level level, uint32_t conn_id, const char *msg);

/* ---- configuration ------------------------------------------------------------------------ */

/* Zero in any field means the default given beside it; hl_config_resolve shows the result. */
typedef struct hl_config {
    uint32_t max_connections;      /* 4: connection slots carved from the block */
    uint32_t max_message_size;     /* 1 MiB: largest message received; past it close 1009 */
    uint32_t read_chunk_size;      /* 16 KiB: receive buffer room beyond one whole message */
    uint32_t send_queue_size;      /* 256 KiB: bytes of framed messages waiting for the socket */
    uint32_t max_header_size;      /* 8 KiB: handshake request and response headers */
    uint32_t connect_timeout_ms;   /* 10000: TCP connect, per address tried */
    uint32_t handshake_timeout_ms; /* 10000: from TCP connected to the 101 response */
    uint32_t close_timeout_ms;     /* 5000: closing handshake and the server's TCP close */
    hl_log_level log_level;        /* HL_LOG_INFO: the most detailed level passed to log */
    hl_clock_fn clock;             /* monotonic clock */
    hl_entropy_fn entropy;         /* OS random bytes (masking keys, Sec-WebSocket-Key) */
    hl_resolve_fn resolve;         /* name resolution */
    hl_log_fn log;                 /* NULL: silence */
    const hl_transport *transport; /* NULL: the OS sockets */
    void *user;                    /* passed to clock, entropy, resolve, log and wall_clock */

    /* TLS (HL_ENABLE_TLS 1; ignored otherwise). Trust anchors are parsed into the context's
       block at the first wss:// connect: from tls_ca_pem, else tls_ca_file, else the first of
       /etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt, /etc/ssl/cert.pem;
       or taken as they are from tls_anchors. */
    const char *tls_ca_file;
    const char *tls_ca_pem;        /* PEM text in memory */
    size_t tls_ca_pem_len;         /* 0: strlen(tls_ca_pem) */
    const void *tls_anchors;       /* the caller's br_x509_trust_anchor array, kept by pointer */
    uint32_t tls_anchor_count;
    uint32_t tls_anchor_space;     /* 128 KiB: block bytes for parsed anchors (0 with tls_anchors) */
    uint32_t tls_output_buffer_size; /* 4181: BearSSL output buffer, 597..16469 bytes; below
                                        16469 the client asks for smaller records (RFC 6066) */
    int tls_insecure;              /* 1: accept ANY certificate. Lab use only; warns every connect */
    int64_t (*wall_clock)(void *user); /* Unix seconds for certificate dates; default time() */

    /* Connections that stay up */
    uint32_t connects_per_minute;  /* 30: new WebSocket connections per minute, all of them
                                      together (Hyperliquid allows 30 per IP); attempts wait,
                                      not fail. The HTTP pool is limited by weight instead.
                                      Budgets (these, ws_msgs_per_minute, http_weight_per_minute)
                                      above 300,000,000 a minute mean no limit. */
    uint32_t ws_msgs_per_minute;   /* 0: the profile's limit (Hyperliquid 2000), shared by all
                                      connections; HL_UNLIMITED for none */
    uint32_t max_subscriptions;    /* 64: subscription slots carved from the block */
    uint32_t max_subscriptions_venue; /* 0: the profile's limit (Hyperliquid 1000); enforced
                                         locally with HL_E_RATE_LIMITED */
    uint32_t queue_slots;          /* 64: message slots shared by all pull queues */
    uint32_t queue_slot_size;      /* 4096: largest message a pull queue keeps */
    uint32_t json_max_tokens;      /* 2048: tokens hl_msg_tokens can give one message */

    /* HTTP client. Its connections come from the same max_connections slots; a response body
       is bounded by max_message_size and its head by max_header_size. */
    uint32_t http_max_requests;    /* 16: requests queued or in flight */
    uint32_t http_request_size;    /* 16 KiB: one request's head and body */
    uint32_t http_max_per_origin;  /* 2: pooled connections per origin */
    uint32_t http_idle_timeout_ms; /* 30000: an idle pooled connection is closed after this */
    uint32_t http_max_endpoints;   /* 16: origin+path pairs with their own breaker and stats */
    uint32_t http_max_headers;     /* 32: response headers kept (more: HL_E_HEADER_TOO_BIG) */
    uint32_t http_data_timeout_ms; /* 30000: total time of a HL_HTTP_DATA request */
    uint32_t http_trading_timeout_ms; /* 10000: total time of a HL_HTTP_TRADING request */
    uint32_t http_max_retries;     /* 2: retries of a retryable, idempotent request */
    hl_backoff http_backoff;       /* between retries: 200 ms, x2, up to 5 s by default */
    hl_breaker_config http_breaker;/* per endpoint */
    uint32_t http_weight_per_minute; /* 0: no client-side limit (Hyperliquid: 1200 per IP) */
    int http_rate_fail;            /* 1: over the weight budget fail with HL_E_RATE_LIMITED;
                                      0: wait in the request queue */
    int http_traceparent;          /* 1: also send a W3C traceparent header */
} hl_config;

#define HL_UNLIMITED 0xFFFFFFFFu

/* Copy in into out with every zero field replaced by its default. in may be NULL. */
HL_API void hl_config_resolve(const hl_config *in, hl_config *out);

/* ---- context ------------------------------------------------------------------------------ */

typedef struct hl_ctx hl_ctx;

/* Bytes of memory hl_ctx_init needs for this configuration (config may be NULL). */
HL_API size_t hl_ctx_size(const hl_config *config);
/* Build a context inside mem (size bytes, any alignment). The library never allocates: all it
   uses for its whole life is carved from mem here. *out points into mem. */
HL_API int hl_ctx_init(hl_ctx **out, void *mem, size_t size, const hl_config *config);
/* Close every socket at once (no closing handshakes); mem may then be reused. */
HL_API void hl_ctx_shutdown(hl_ctx *ctx);
/* The effective configuration of a context. */
HL_API const hl_config *hl_ctx_config(const hl_ctx *ctx);

/* ---- URLs --------------------------------------------------------------------------------- */

typedef enum hl_scheme { HL_SCHEME_WS = 1, HL_SCHEME_WSS, HL_SCHEME_HTTP, HL_SCHEME_HTTPS } hl_scheme;

#define HL_URL_MAX_HOST 255
#define HL_URL_MAX_TARGET 2048

typedef struct hl_url {
    hl_scheme scheme;
    uint16_t port;                       /* explicit, or 80/443 from the scheme */
    int is_ipv6;                         /* host was a bracketed IPv6 literal */
    char host[HL_URL_MAX_HOST + 1];      /* without brackets; lower case */
    char target[HL_URL_MAX_TARGET + 1];  /* path and query, at least "/"; no fragment */
} hl_url;

/* Parse an absolute ws://, wss://, http:// or https:// URL. On failure returns HL_E_BAD_URL and,
   when detail is not NULL, writes a NUL-terminated reason into it. */
HL_API int hl_url_parse(const char *url, hl_url *out, char *detail, size_t detail_size);

/* ---- WebSocket connections ---------------------------------------------------------------- */

/* A connection handle: a slot index and a generation, so a stale handle is detected. */
typedef struct hl_ws {
    uint32_t id;
} hl_ws;

typedef enum hl_state {
    HL_STATE_IDLE = 0,
    HL_STATE_RESOLVING,
    HL_STATE_CONNECTING,
    HL_STATE_TLS_HANDSHAKE,
    HL_STATE_UPGRADING,
    HL_STATE_OPEN,
    HL_STATE_CLOSING,
    HL_STATE_CLOSED,
    HL_STATE_BACKOFF   /* waiting to reconnect: event delay_ms says how long */
} hl_state;

HL_API const char *hl_state_str(hl_state state);

typedef struct hl_sub {
    uint32_t id;
} hl_sub;

typedef enum hl_sub_state {
    HL_SUB_PENDING = 1, /* sent (or waiting to be sent), no ack yet */
    HL_SUB_ACTIVE,      /* acknowledged */
    HL_SUB_FAILED,      /* the server answered with an error; detail has its text */
    HL_SUB_REMOVED      /* unsubscribed (final) */
} hl_sub_state;

typedef enum hl_event_type {
    HL_EV_STATE = 1, /* state and prev_state; result says why when the change is a failure;
                        entering BACKOFF, delay_ms and attempt say when the next try comes */
    HL_EV_OPEN,      /* the handshake succeeded; protocol is the chosen subprotocol or "" */
    HL_EV_MESSAGE,   /* a whole message: data/len, is_text */
    HL_EV_PONG,      /* a pong arrived: data/len is its payload */
    HL_EV_ERROR,     /* result and detail; for a refused handshake http_status and data/len
                        (the body, up to what the receive buffer held) */
    HL_EV_CLOSE,     /* close_code, reason, close_origin; the handle is dead after this */
    HL_EV_DISCONNECT,/* with reconnect on: the connection dropped (close_code, reason, result,
                        detail) and a new attempt follows after delay_ms; the handle lives on */
    HL_EV_SUB,       /* a subscription changed state: sub, sub_state, detail (server's error) */
    HL_EV_GAP,       /* after a reconnect, sub's data may be missing from gap_from_ns to
                        gap_to_ns (context clock); its next snapshot refills it */
    HL_EV_STALE,     /* sub has been silent for stale_ms while the connection is healthy */
    HL_EV_DROPPED,   /* messages of sub were dropped (count in len; result says why) */
    HL_EV_BATCH_BEGIN, /* around all messages one poll delivers for a connection */
    HL_EV_BATCH_END
} hl_event_type;

typedef enum hl_close_origin {
    HL_CLOSE_BY_PEER = 1,  /* the server sent the first close frame */
    HL_CLOSE_BY_LOCAL,     /* hl_ws_close was called */
    HL_CLOSE_BY_ERROR      /* the library failed the connection (result says why) */
} hl_close_origin;

typedef struct hl_event {
    hl_event_type type;
    hl_ws ws;
    void *user;                 /* hl_ws_desc.user */
    hl_state state, prev_state; /* HL_EV_STATE */
    int result;                 /* HL_EV_ERROR, HL_EV_CLOSE, HL_EV_STATE: an hl_result */
    const char *detail;         /* NUL-terminated, never NULL */
    const unsigned char *data;  /* MESSAGE, PONG, ERROR: valid only during the callback */
    size_t len;
    int is_text;                /* MESSAGE */
    int close_code;             /* CLOSE: 1005 when the peer sent none, 1006 when no close frame */
    const char *reason;         /* CLOSE: NUL-terminated close reason */
    hl_close_origin close_origin;
    int http_status;            /* ERROR for HL_E_HANDSHAKE */
    const char *protocol;       /* OPEN */
    uint32_t delay_ms;          /* STATE to BACKOFF, DISCONNECT: wait before the next attempt */
    uint32_t attempt;           /* STATE to BACKOFF, DISCONNECT: the attempt that comes next */
    uint64_t rtt_ns;            /* PONG for a ping the library sent */
    hl_sub sub;                 /* SUB, GAP, STALE, DROPPED */
    hl_sub_state sub_state;     /* SUB */
    uint64_t gap_from_ns, gap_to_ns; /* GAP */
    uint64_t stale_ms;          /* STALE */
} hl_event;

typedef void (*hl_event_fn)(hl_ctx *ctx, const hl_event *ev);

typedef struct hl_header {
    const char *name;
    const char *value;
} hl_header;
/* Asked on every connect: write up to max headers into out and return how many, or a negative
   hl_result to abort the attempt. The strings need to stay valid only until it returns. */
typedef int (*hl_headers_fn)(void *user, hl_header *out, int max);

#define HL_MAX_EXTRA_HEADERS 16

/* ---- protocol profiles -------------------------------------------------------------------- */

/* What a profile makes of one incoming text message. */
typedef enum hl_msg_kind {
    HL_MSGK_OTHER = 0,   /* not the profile's: delivered as HL_EV_MESSAGE */
    HL_MSGK_DATA,        /* a feed message: key/key_len is its route key */
    HL_MSGK_SUB_ACK,     /* sub/sub_len: the subscription object acknowledged */
    HL_MSGK_UNSUB_ACK,
    HL_MSGK_PONG,        /* answer to the application ping */
    HL_MSGK_PING,        /* the server's application ping: answered with app_pong */
    HL_MSGK_ERROR        /* text/text_len; sub/sub_len when it names a subscription */
} hl_msg_kind;

typedef struct hl_msg_info {
    hl_msg_kind kind;
    char key[96];             /* DATA: route key, NUL-terminated */
    size_t key_len;
    const char *sub;          /* SUB_ACK, UNSUB_ACK, ERROR: view into the message */
    size_t sub_len;
    const char *text;         /* ERROR */
    size_t text_len;
    int is_snapshot;          /* DATA: the message says it is a snapshot */
    char scratch[256];        /* the profile's room, e.g. for an unescaped subscription */
} hl_msg_info;

/* A service's application protocol: heartbeat, subscribe format, routing. Functions write into
   out (cap bytes) and return the length, or a negative hl_result. */
typedef struct hl_profile {
    const char *name;
    uint32_t app_ping_ms;          /* default application ping interval (0: none) */
    uint32_t msgs_per_minute;      /* outbound messages the venue allows (0: no limit) */
    uint32_t max_subscriptions;    /* per venue (0: no limit) */
    int (*app_ping)(char *out, size_t cap);
    int (*app_pong)(const char *ping, size_t len, char *out, size_t cap);
    int (*sub_message)(const char *sub, size_t sub_len, int unsubscribe, char *out, size_t cap);
    /* the route key the data of a subscription will carry */
    int (*sub_route)(const char *sub, size_t sub_len, char *key, size_t cap);
    /* classify a message; must not tokenize it whole (a scan of the envelope is enough) */
    void (*classify)(const char *msg, size_t len, hl_msg_info *info);
    int sub_no_ack;                /* 1: the venue acknowledges no subscription; one counts as
                                      ACTIVE once its subscribe message is out */
} hl_profile;

/* Hyperliquid: {"method":"ping"} every 50 s, subscribe/unsubscribe with acks matched by content,
   routes channel|coin (or user, or coin|interval for candles), 2000 messages/min, 1000 subs. */
HL_API const hl_profile *hl_profile_hyperliquid(void);

typedef struct hl_ws_desc {
    const char *url;           /* ws:// or wss:// */
    const char *subprotocols;  /* offered in order, comma separated ("chat, superchat"), or NULL */
    hl_headers_fn headers;     /* extra handshake headers, or NULL */
    void *headers_user;
    hl_event_fn on_event;      /* required */
    void *user;                /* returned in every event */
    const unsigned char *tls_pins; /* tls_pin_count SHA-256 digests (32 bytes each) of the
                                      server's SubjectPublicKeyInfo: one must match. A pin stands
                                      in for CA trust; host name and dates are still checked. */
    int tls_pin_count;

    /* Staying up */
    int reconnect;             /* 1: reconnect after retryable failures (hl_ws_set_reconnect) */
    hl_backoff backoff;
    hl_breaker_config breaker;
    uint32_t ping_interval_ms; /* RFC 6455 pings (0: none), answered within pong_timeout_ms */
    uint32_t pong_timeout_ms;  /* 10000 */
    uint32_t app_ping_ms;      /* 0: the profile's interval; HL_UNLIMITED: no app ping */
    uint32_t silence_timeout_ms; /* nothing received this long: reconnect (0: off) */
    const hl_profile *profile; /* NULL: generic (no application protocol) */
    int batch_events;          /* 1: HL_EV_BATCH_BEGIN/END around each poll's messages */
} hl_ws_desc;

/* Start a connection. The URL and headers are checked now (HL_E_BAD_URL, HL_E_UNSUPPORTED);
   the connection proceeds inside hl_poll and reports through on_event. */
HL_API int hl_ws_connect(hl_ctx *ctx, const hl_ws_desc *desc, hl_ws *out);

typedef enum hl_msg_type { HL_MSG_TEXT = 1, HL_MSG_BINARY = 2 } hl_msg_type;

/* Queue a whole message. Text must be valid UTF-8 (HL_E_BAD_UTF8 otherwise). HL_E_QUEUE_FULL
   when the send queue lacks room now: nothing was queued, try again after hl_poll.
   HL_E_MSG_TOO_BIG when the message could never fit config.send_queue_size. */
HL_API int hl_ws_send(hl_ctx *ctx, hl_ws ws, hl_msg_type type, const void *data, size_t len);
/* Queue one fragment of a message; the first call fixes the type, final=1 ends the message.
   UTF-8 is checked across fragments; control frames may be sent between fragments. */
HL_API int hl_ws_send_fragment(hl_ctx *ctx, hl_ws ws, hl_msg_type type, const void *data,
                               size_t len, int final);
/* Queue a ping (payload at most 125 bytes); the answer arrives as HL_EV_PONG. */
HL_API int hl_ws_ping(hl_ctx *ctx, hl_ws ws, const void *data, size_t len);
/* Start the closing handshake. code 0 sends a close frame without a code; otherwise 1000-4999
   as RFC 6455 7.4 allows; reason (may be NULL) at most 123 bytes of UTF-8. */
HL_API int hl_ws_close(hl_ctx *ctx, hl_ws ws, int code, const char *reason);
/* Close the socket now without a closing handshake (HL_EV_CLOSE follows with code 1006). */
HL_API int hl_ws_abort(hl_ctx *ctx, hl_ws ws);
/* Switch automatic reconnection on or off while running. */
HL_API int hl_ws_set_reconnect(hl_ctx *ctx, hl_ws ws, int on);
HL_API hl_state hl_ws_state(hl_ctx *ctx, hl_ws ws);
/* Bytes free in the send queue now. */
HL_API size_t hl_ws_send_room(hl_ctx *ctx, hl_ws ws);

typedef struct hl_ws_stats {
    uint64_t connects;           /* handshakes that opened */
    uint64_t attempts;           /* connection attempts started */
    uint64_t disconnects;
    uint64_t reconnects;         /* attempts after the first */
    uint64_t connected_ns;       /* total time open, the current stretch included */
    uint64_t opened_at_ns;       /* start of the current stretch (0: not open) */
    uint64_t last_disconnect_ns;
    int last_disconnect_result;  /* hl_result of the last drop */
    uint64_t last_msg_ns;        /* last message received (context clock) */
    uint64_t rtt_last_ns, rtt_min_ns, rtt_max_ns, rtt_sum_ns, rtt_count;
    hl_breaker_state breaker;
    uint64_t breaker_opens;
    uint64_t msgs_in, bytes_in, msgs_out, bytes_out; /* bytes count payload */
    uint64_t pings_in, pongs_in, pings_out;
    uint64_t pongs_coalesced;    /* pings answered by a later pong only (RFC 6455 5.5.3) */
    uint64_t send_queue_peak;    /* high-water mark of the send queue in bytes */
    uint64_t send_queue_bytes;   /* bytes in the send queue now (0: all handed to the socket) */
} hl_ws_stats;
HL_API int hl_ws_stats_get(hl_ctx *ctx, hl_ws ws, hl_ws_stats *out);

/* ---- subscriptions, routing and queues ---------------------------------------------------- */

typedef enum hl_overflow {
    HL_OVERFLOW_REJECT_NEW = 0, /* keep what is queued, drop the new message (counted) */
    HL_OVERFLOW_DROP_OLDEST,    /* drop the oldest queued message (counted) */
    HL_OVERFLOW_CONFLATE,       /* keep only the latest message of the route (order books, bbo) */
    HL_OVERFLOW_BACKPRESSURE    /* stop reading the socket until the queue has room */
} hl_overflow;

typedef struct hl_msg {
    const unsigned char *data; /* valid during the callback / copied out by hl_sub_pull */
    size_t len;
    int is_snapshot;           /* the message says it is a snapshot (Hyperliquid isSnapshot) */
    int after_gap;             /* the first message of the route after a reconnect's gap */
    uint64_t recv_ns;          /* context clock when it arrived */
    hl_ws ws;
    hl_sub sub;
    void *user;                /* hl_sub_desc.user */
} hl_msg;

typedef void (*hl_msg_fn)(hl_ctx *ctx, const hl_msg *msg);

typedef struct hl_sub_desc {
    const char *subscription;  /* the profile's subscription object, e.g.
                                  {"type":"trades","coin":"BTC"} for Hyperliquid */
    hl_msg_fn on_message;      /* handler; NULL: messages wait in a queue for hl_sub_pull */
    void *user;
    uint32_t queue_len;        /* 16: messages the queue keeps (pulling only) */
    hl_overflow overflow;      /* when the queue is full */
    uint32_t stale_after_ms;   /* HL_EV_STALE after this much silence on a healthy connection */
} hl_sub_desc;

/* Add a subscription to ws's registry: sent now when open, and replayed after every reconnect.
   A duplicate (same content, any key order) is HL_E_INVALID; past the venue's limit
   HL_E_RATE_LIMITED. The ws needs a profile. */
HL_API int hl_ws_subscribe(hl_ctx *ctx, hl_ws ws, const hl_sub_desc *desc, hl_sub *out);
/* Remove it: no message reaches the route after this call. */
HL_API int hl_ws_unsubscribe(hl_ctx *ctx, hl_sub sub);
/* Copy the oldest queued message of sub into buf: 1 when one was copied, 0 when the queue is
   empty, HL_E_MSG_TOO_BIG (with *len set, nothing removed) when cap is too small. */
HL_API int hl_sub_pull(hl_ctx *ctx, hl_sub sub, void *buf, size_t cap, size_t *len, hl_msg *info);

typedef struct hl_sub_stats {
    hl_sub_state state;
    uint64_t msgs, bytes, drops, conflated;
    uint32_t queued, queue_peak;
    uint64_t last_msg_ns;
    int awaiting_snapshot;     /* re-subscribed after a drop; no message since (see HL_EV_GAP) */
} hl_sub_stats;
HL_API int hl_sub_stats_get(hl_ctx *ctx, hl_sub sub, hl_sub_stats *out);

/* A JSON token, laid out as jsmn's (with parent links). */
#define HL_JSON_OBJECT 1
#define HL_JSON_ARRAY 2
#define HL_JSON_STRING 3
#define HL_JSON_PRIMITIVE 4 /* number, true, false, null */
typedef struct hl_json_tok {
    int type;  /* HL_JSON_* */
    int start, end, size, parent; /* [start, end) bytes of the message; size: members/elements */
} hl_json_tok;
/* The JSON tokens of the message in a handler; the message is tokenized at most once, and only
   when a handler asks. Returns the token count or a negative hl_result. */
HL_API int hl_msg_tokens(hl_ctx *ctx, const hl_msg *msg, const hl_json_tok **toks);

/* The whole context's statistics as JSON into buf (NUL-terminated). Returns the length, or
   HL_E_QUEUE_FULL with nothing useful in buf when cap is too small. */
HL_API int hl_stats_json(hl_ctx *ctx, char *buf, size_t cap);

/* ---- HTTP/1.1 client ----------------------------------------------------------------------- */

typedef struct hl_http {
    uint32_t id;
} hl_http;

typedef enum hl_http_class {
    HL_HTTP_DATA = 0,   /* reads: config.http_data_timeout_ms */
    HL_HTTP_TRADING     /* writes that move money: config.http_trading_timeout_ms */
} hl_http_class;

typedef struct hl_http_response {
    int result;                 /* HL_OK when a response arrived (any status) */
    const char *detail;         /* why, when result is not HL_OK */
    int status;                 /* HTTP status, 0 without a response */
    const hl_header *headers;   /* NUL-terminated names and values, valid during the callback */
    int header_count;
    const unsigned char *body;  /* valid during the callback (hl_http_fetch: until the next call) */
    size_t body_len;
    uint32_t attempts;          /* 1 + retries */
    uint64_t latency_ns;        /* from hl_http_request to the response */
    const char *request_id;     /* the X-Request-Id sent */
    hl_http request;
    void *user;
} hl_http_response;

typedef void (*hl_http_fn)(hl_ctx *ctx, const hl_http_response *r);

typedef struct hl_http_req {
    const char *method;         /* "GET" when NULL */
    const char *url;            /* http:// or https:// */
    const hl_header *headers;   /* extra headers (no Host, Content-Length, Connection) */
    int header_count;
    const void *body;
    size_t body_len;
    int idempotent;             /* 1: a POST that may be retried (Hyperliquid /info) */
    int retries;                /* -1: none; 0: config.http_max_retries; else this many */
    uint32_t weight;            /* rate-limit weight (0 means 1) */
    hl_http_class cls;
    uint32_t connect_timeout_ms;/* 0: config.connect_timeout_ms */
    uint32_t first_byte_timeout_ms; /* 0: the total timeout */
    uint32_t timeout_ms;        /* total, retries included; 0: the class default */
    hl_http_fn on_response;     /* required for hl_http_request */
    void *user;
    const unsigned char *tls_pins; /* as hl_ws_desc.tls_pins; they belong to the origin: every
                                      request to it must give the same pins */
    int tls_pin_count;
} hl_http_req;

/* Start a request; hl_poll does the rest and calls on_response exactly once. The request is
   copied: req and what it points to may go away after the call. */
HL_API int hl_http_request(hl_ctx *ctx, const hl_http_req *req, hl_http *out);
/* Blocking: run hl_poll until the response is complete. *out stays valid until the next call
   into the library. Returns out->result. */
HL_API int hl_http_fetch(hl_ctx *ctx, const hl_http_req *req, hl_http_response *out);
/* Give up on a request: its callback runs with HL_E_CLOSED. */
HL_API int hl_http_cancel(hl_ctx *ctx, hl_http req);
/* A response header by name (case-insensitive), or NULL. */
HL_API const char *hl_http_header(const hl_http_response *r, const char *name);

/* Parse a key pin: 64 hex digits, or base64 of the 32 bytes (44 characters, as HPKP writes
   pin-sha256). `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`. */
HL_API int hl_tls_pin_parse(const char *text, unsigned char out[32]);

typedef struct hl_ctx_stats {
    uint64_t tls_handshakes_full;
    uint64_t tls_handshakes_resumed;
    uint32_t tls_anchors;        /* trust anchors in use */
    size_t tls_anchor_bytes;     /* of tls_anchor_space used by them */
} hl_ctx_stats;
HL_API int hl_ctx_stats_get(hl_ctx *ctx, hl_ctx_stats *out);

/* What ended (or is ending) a connection, with the details the event carried. */
typedef struct hl_error_info {
    int result;           /* hl_result */
    int sys_errno;        /* errno / WSAGetLastError of a failed system call, else 0 */
    int http_status;      /* of a refused handshake, else 0 */
    int close_code;       /* close code sent or received, else 0 */
    int tls_error;        /* BearSSL's error code of a TLS failure, else 0 */
    char detail[256];
} hl_error_info;
HL_API int hl_ws_last_error(hl_ctx *ctx, hl_ws ws, hl_error_info *out);

/* ---- the poll loop ------------------------------------------------------------------------ */

/* Wait at most timeout_ms (-1: until the next deadline or readiness) and then do all work that
   is ready, calling event callbacks. Never sleeps past the earliest deadline of the context.
   Returns the number of events delivered, or a negative hl_result. */
HL_API int hl_poll(hl_ctx *ctx, int timeout_ms);

/* For foreign event loops (epoll, kqueue, a frame loop): list the sockets and what each waits
   for, sleep as your loop likes (at most hl_next_timeout), then hand back the readiness. */
#define HL_POLLIN 1u
#define HL_POLLOUT 2u
#define HL_POLLERR 4u
typedef struct hl_pollfd {
    hl_socket fd;
    unsigned events;  /* HL_POLLIN | HL_POLLOUT wanted */
    unsigned revents; /* filled by the caller before hl_process */
} hl_pollfd;
/* Write up to max entries; returns how many sockets are live (may exceed max). */
HL_API int hl_pollfds(hl_ctx *ctx, hl_pollfd *fds, int max);
/* Milliseconds until the earliest deadline: 0 when work is due now, -1 when there is none. */
HL_API int hl_next_timeout(hl_ctx *ctx);
/* Process the readiness in fds (n may be 0 to run due timers only) and all due work.
   Returns the number of events delivered, or a negative hl_result. */
HL_API int hl_process(hl_ctx *ctx, const hl_pollfd *fds, int n);

#ifdef __cplusplus
}
#endif

#endif /* HL_NET_H */
/* ==== end api.h ==== */
/* ==== begin prelude.c ==== */
#if defined(HL_NET_IMPLEMENTATION) && !defined(HL_NET_IMPLEMENTATION_INCLUDED)
#define HL_NET_IMPLEMENTATION_INCLUDED

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#endif
#if HL_ENABLE_TLS
/* BearSSL's headers test an undefined macro with #if; keep -Wundef for our own code. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#endif
#include <bearssl.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif
/* jsmn puts its definitions in its header: keep them private to this file, with the settings we
   rely on. Its header must not have been included before with other settings. */
#ifdef JSMN_H
#error "define HL_NET_IMPLEMENTATION in a file that does not include jsmn.h itself"
#endif
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Hook macros: a host may route these to its own primitives. */
#ifndef HL_ASSERT
#include <assert.h>
#define HL_ASSERT(c) assert(c)
#endif
#ifndef HL_MEMCPY
#define HL_MEMCPY(d, s, n) memcpy((d), (s), (n))
#endif
#ifndef HL_MEMMOVE
#define HL_MEMMOVE(d, s, n) memmove((d), (s), (n))
#endif
#ifndef HL_MEMSET
#define HL_MEMSET(d, v, n) memset((d), (v), (n))
#endif

#ifdef HL_NET_STATIC
#define HL__FN static
#else
#define HL__FN
#endif

#define HL__MIN(a, b) ((a) < (b) ? (a) : (b))
#define HL__MAX(a, b) ((a) > (b) ? (a) : (b))
#define HL__NS_PER_MS 1000000u

/* Bounded formatting into a fixed buffer; always NUL-terminates. */
static void hl__fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (cap == 0) return;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

static int hl__lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive comparison of n bytes (HTTP header names, tokens). */
static int hl__ieq(const char *a, const char *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (hl__lower((unsigned char)a[i]) != hl__lower((unsigned char)b[i])) return 0;
    return 1;
}
/* ==== end prelude.c ==== */
/* ==== begin errors.c ==== */
/* Result codes: one table gives both the enum name and the description. */
typedef struct hl__result_desc {
    int code;
    const char *name;
    const char *text;
} hl__result_desc;

static const hl__result_desc hl__results[] = {
    {HL_OK, "HL_OK", "success"},
    {HL_E_INVALID, "HL_E_INVALID", "invalid argument"},
    {HL_E_BAD_URL, "HL_E_BAD_URL", "malformed URL"},
    {HL_E_STATE, "HL_E_STATE", "call does not fit the connection state"},
    {HL_E_UNSUPPORTED, "HL_E_UNSUPPORTED", "feature not built in"},
    {HL_E_BAD_HANDLE, "HL_E_BAD_HANDLE", "stale or unknown handle"},
    {HL_E_NO_MEMORY, "HL_E_NO_MEMORY", "memory block smaller than hl_ctx_size"},
    {HL_E_POOL_EMPTY, "HL_E_POOL_EMPTY", "no free connection slot"},
    {HL_E_QUEUE_FULL, "HL_E_QUEUE_FULL", "send queue full"},
    {HL_E_MSG_TOO_BIG, "HL_E_MSG_TOO_BIG", "message too big"},
    {HL_E_HEADER_TOO_BIG, "HL_E_HEADER_TOO_BIG", "headers too big"},
    {HL_E_CONNECT_TIMEOUT, "HL_E_CONNECT_TIMEOUT", "connect timed out"},
    {HL_E_HANDSHAKE_TIMEOUT, "HL_E_HANDSHAKE_TIMEOUT", "handshake timed out"},
    {HL_E_CLOSE_TIMEOUT, "HL_E_CLOSE_TIMEOUT", "closing handshake timed out"},
    {HL_E_PONG_TIMEOUT, "HL_E_PONG_TIMEOUT", "no pong within pong_timeout_ms"},
    {HL_E_SILENCE, "HL_E_SILENCE", "nothing received within silence_timeout_ms"},
    {HL_E_REQUEST_TIMEOUT, "HL_E_REQUEST_TIMEOUT", "request timed out"},
    {HL_E_DNS, "HL_E_DNS", "name resolution failed"},
    {HL_E_CONNECT_REFUSED, "HL_E_CONNECT_REFUSED", "connection refused"},
    {HL_E_CONNECT, "HL_E_CONNECT", "connect failed"},
    {HL_E_IO, "HL_E_IO", "socket I/O error"},
    {HL_E_RESET, "HL_E_RESET", "connection reset by peer"},
    {HL_E_EOF, "HL_E_EOF", "peer closed the connection without a close frame"},
    {HL_E_TLS, "HL_E_TLS", "TLS failure"},
    {HL_E_TLS_CERT, "HL_E_TLS_CERT", "TLS certificate rejected"},
    {HL_E_HANDSHAKE, "HL_E_HANDSHAKE", "server refused the WebSocket upgrade"},
    {HL_E_PROTOCOL, "HL_E_PROTOCOL", "WebSocket protocol violation"},
    {HL_E_BAD_UTF8, "HL_E_BAD_UTF8", "invalid UTF-8"},
    {HL_E_HTTP_PROTOCOL, "HL_E_HTTP_PROTOCOL", "malformed HTTP response"},
    {HL_E_CLOSED, "HL_E_CLOSED", "connection closed"},
    {HL_E_RATE_LIMITED, "HL_E_RATE_LIMITED", "rate limited"},
    {HL_E_CIRCUIT_OPEN, "HL_E_CIRCUIT_OPEN", "circuit breaker open"},
};

static const hl__result_desc *hl__result_find(int code)
{
    size_t i;
    for (i = 0; i < sizeof hl__results / sizeof hl__results[0]; i++)
        if (hl__results[i].code == code) return &hl__results[i];
    return NULL;
}

HL_API const char *hl_result_str(int result)
{
    const hl__result_desc *d = hl__result_find(result);
    return d ? d->text : "unknown result code";
}

HL_API const char *hl_result_name(int result)
{
    const hl__result_desc *d = hl__result_find(result);
    return d ? d->name : "HL_E_UNKNOWN";
}

HL_API const char *hl_state_str(hl_state state)
{
    static const char *const names[] = {"IDLE",      "RESOLVING", "CONNECTING", "TLS_HANDSHAKE",
                                        "UPGRADING", "OPEN",      "CLOSING",    "CLOSED",
                                        "BACKOFF"};
    if ((unsigned)state < sizeof names / sizeof names[0]) return names[state];
    return "UNKNOWN";
}

HL_API int hl_err_retryable(int result, int http_status)
{
    if (result == HL_E_HANDSHAKE || result == HL_OK) {
        if (http_status == 408 || http_status == 429 || http_status >= 500) return 1;
        return http_status == 0 && result == HL_OK; /* a clean close by the peer */
    }
    switch (result) {
    case HL_E_CONNECT_TIMEOUT: case HL_E_HANDSHAKE_TIMEOUT: case HL_E_CLOSE_TIMEOUT:
    case HL_E_PONG_TIMEOUT: case HL_E_SILENCE: case HL_E_REQUEST_TIMEOUT:
    case HL_E_DNS: case HL_E_CONNECT_REFUSED: case HL_E_CONNECT: case HL_E_IO: case HL_E_RESET:
    case HL_E_EOF: case HL_E_TLS: case HL_E_PROTOCOL: case HL_E_BAD_UTF8: case HL_E_HTTP_PROTOCOL:
    case HL_E_CLOSED: case HL_E_RATE_LIMITED: case HL_E_CIRCUIT_OPEN:
        return 1;
    default: /* usage errors, HL_E_TLS_CERT, limits of our own configuration */
        return 0;
    }
}
/* ==== end errors.c ==== */
/* ==== begin arena.c ==== */
/* Bump arena over the caller's block. With base == NULL it only counts, so hl_ctx_size runs the
   very carving code hl_ctx_init runs and the two can never disagree. */
typedef struct hl__arena {
    unsigned char *base;
    size_t size;
    size_t used;
} hl__arena;

#define HL__ALIGN 16u

static void *hl__arena_alloc(hl__arena *a, size_t n)
{
    size_t start = (a->used + (HL__ALIGN - 1)) & ~(size_t)(HL__ALIGN - 1);
    if (start < a->used || n > (size_t)-1 - start) return NULL;
    a->used = start + n;
    if (!a->base) return NULL;
    if (a->used > a->size) return NULL;
    return a->base + start;
}
/* ==== end arena.c ==== */
/* ==== begin clock_random.c ==== */
/* Default clock and entropy, and the generator that makes masking keys and handshake keys. */

static uint64_t hl__clock_default(void *user)
{
    (void)user;
#if defined(_WIN32)
    {
        LARGE_INTEGER f, c;
        QueryPerformanceFrequency(&f);
        QueryPerformanceCounter(&c);
        return (uint64_t)((double)c.QuadPart * 1e9 / (double)f.QuadPart);
    }
#else
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
#endif
}

/* Wall-clock Unix seconds: only certificate dates need it. */
static int64_t hl__wall_clock_default(void *user)
{
    (void)user;
    return (int64_t)time(NULL);
}

#if defined(_WIN32)
/* RtlGenRandom lives in advapi32 under the name SystemFunction036. */
BOOLEAN NTAPI SystemFunction036(PVOID buf, ULONG len);
static int hl__entropy_default(void *user, void *buf, size_t len)
{
    (void)user;
    return SystemFunction036(buf, (ULONG)len) ? 0 : -1;
}
#else
static int hl__entropy_default(void *user, void *buf, size_t len)
{
    unsigned char *p = (unsigned char *)buf;
    int fd;
    (void)user;
    fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0) return -1;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return 0;
}
#endif

/* 32-bit rotate left (SHA-1, ChaCha20). */
static uint32_t hl__rotl32(uint32_t v, int n)
{
    return (v << n) | (v >> (32 - n));
}

#if HL_ENABLE_TLS
/* With BearSSL built in, masking keys and handshake keys come from its HMAC-DRBG (SHA-256),
   seeded from the OS through config.entropy and mixed with BearSSL's own system seeder, and
   drawn through a small pool: one DRBG call per 4-byte key would cost more than the frame. */
typedef struct hl__rng {
    br_hmac_drbg_context drbg;
    unsigned char pool[256];
    unsigned used; /* bytes of pool already handed out */
} hl__rng;

static void hl__rng_seed(hl__rng *r, const unsigned char seed[44])
{
    br_prng_seeder sys = br_prng_seeder_system(NULL);
    br_hmac_drbg_init(&r->drbg, &br_sha256_vtable, seed, 44);
    if (sys) sys(&r->drbg.vtable);
    r->used = sizeof r->pool;
}

static void hl__rng_bytes(hl__rng *r, unsigned char *out, size_t n)
{
    while (n > 0) {
        size_t k;
        if (r->used == sizeof r->pool) {
            br_hmac_drbg_generate(&r->drbg, r->pool, sizeof r->pool);
            r->used = 0;
        }
        k = HL__MIN(n, sizeof r->pool - r->used);
        HL_MEMCPY(out, r->pool + r->used, k);
        HL_MEMSET(r->pool + r->used, 0, k); /* handed-out bytes are not kept */
        r->used += (unsigned)k;
        out += k;
        n -= k;
    }
}
#else
/* ChaCha20 keystream (RFC 8439 block function) keyed once from the entropy source: masking keys
   are needed per frame, and a system call per frame would cost more than the frame. */
typedef struct hl__rng {
    uint32_t key[8];
    uint32_t counter;
    uint32_t nonce[3];
    unsigned char block[64];
    unsigned used; /* bytes of block already handed out */
} hl__rng;

#define HL__QR(a, b, c, d)                                                                        \
    do {                                                                                          \
        a += b; d ^= a; d = hl__rotl32(d, 16);                                                    \
        c += d; b ^= c; b = hl__rotl32(b, 12);                                                    \
        a += b; d ^= a; d = hl__rotl32(d, 8);                                                     \
        c += d; b ^= c; b = hl__rotl32(b, 7);                                                     \
    } while (0)

static void hl__chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
                               unsigned char out[64])
{
    uint32_t s[16], x[16];
    int i;
    s[0] = 0x61707865u; s[1] = 0x3320646eu; s[2] = 0x79622d32u; s[3] = 0x6b206574u;
    for (i = 0; i < 8; i++) s[4 + i] = key[i];
    s[12] = counter;
    s[13] = nonce[0]; s[14] = nonce[1]; s[15] = nonce[2];
    for (i = 0; i < 16; i++) x[i] = s[i];
    for (i = 0; i < 10; i++) {
        HL__QR(x[0], x[4], x[8], x[12]);
        HL__QR(x[1], x[5], x[9], x[13]);
        HL__QR(x[2], x[6], x[10], x[14]);
        HL__QR(x[3], x[7], x[11], x[15]);
        HL__QR(x[0], x[5], x[10], x[15]);
        HL__QR(x[1], x[6], x[11], x[12]);
        HL__QR(x[2], x[7], x[8], x[13]);
        HL__QR(x[3], x[4], x[9], x[14]);
    }
    for (i = 0; i < 16; i++) {
        uint32_t v = x[i] + s[i];
        out[4 * i] = (unsigned char)v;
        out[4 * i + 1] = (unsigned char)(v >> 8);
        out[4 * i + 2] = (unsigned char)(v >> 16);
        out[4 * i + 3] = (unsigned char)(v >> 24);
    }
}

static uint32_t hl__load32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Seed from 44 bytes of entropy (key and nonce). */
static void hl__rng_seed(hl__rng *r, const unsigned char seed[44])
{
    int i;
    for (i = 0; i < 8; i++) r->key[i] = hl__load32le(seed + 4 * i);
    for (i = 0; i < 3; i++) r->nonce[i] = hl__load32le(seed + 32 + 4 * i);
    r->counter = 0;
    r->used = 64;
}

static void hl__rng_bytes(hl__rng *r, unsigned char *out, size_t n)
{
    while (n > 0) {
        size_t k;
        if (r->used == 64) {
            hl__chacha20_block(r->key, r->counter++, r->nonce, r->block);
            if (r->counter == 0) r->nonce[0]++; /* 256 GiB later: move to a fresh stream */
            r->used = 0;
        }
        k = HL__MIN(n, (size_t)(64 - r->used));
        HL_MEMCPY(out, r->block + r->used, k);
        HL_MEMSET(r->block + r->used, 0, k); /* handed-out bytes are not kept */
        r->used += (unsigned)k;
        out += k;
        n -= k;
    }
}
#endif /* HL_ENABLE_TLS */
/* ==== end clock_random.c ==== */
/* ==== begin sha1_base64.c ==== */
/* SHA-1 and base64: only the opening handshake needs them (Sec-WebSocket-Accept). */
typedef struct hl__sha1 {
    uint32_t h[5];
    uint64_t total;
    unsigned char buf[64];
    size_t fill;
} hl__sha1;

static void hl__sha1_init(hl__sha1 *s)
{
    s->h[0] = 0x67452301u;
    s->h[1] = 0xEFCDAB89u;
    s->h[2] = 0x98BADCFEu;
    s->h[3] = 0x10325476u;
    s->h[4] = 0xC3D2E1F0u;
    s->total = 0;
    s->fill = 0;
}

static void hl__sha1_block(hl__sha1 *s, const unsigned char *p)
{
    uint32_t w[80], a, b, c, d, e;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 80; i++) w[i] = hl__rotl32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3]; e = s->h[4];
    for (i = 0; i < 80; i++) {
        uint32_t f, k, t;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999u; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1u; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
        else { f = b ^ c ^ d; k = 0xCA62C1D6u; }
        t = hl__rotl32(a, 5) + f + e + k + w[i];
        e = d; d = c; c = hl__rotl32(b, 30); b = a; a = t;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e;
}

static void hl__sha1_update(hl__sha1 *s, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    s->total += n;
    while (n > 0) {
        size_t k = HL__MIN(n, 64 - s->fill);
        HL_MEMCPY(s->buf + s->fill, p, k);
        s->fill += k;
        p += k;
        n -= k;
        if (s->fill == 64) {
            hl__sha1_block(s, s->buf);
            s->fill = 0;
        }
    }
}

static void hl__sha1_final(hl__sha1 *s, unsigned char out[20])
{
    uint64_t bits = s->total * 8;
    unsigned char pad = 0x80, len[8];
    int i;
    hl__sha1_update(s, &pad, 1);
    pad = 0;
    while (s->fill != 56) hl__sha1_update(s, &pad, 1);
    for (i = 0; i < 8; i++) len[i] = (unsigned char)(bits >> (56 - 8 * i));
    hl__sha1_update(s, len, 8);
    for (i = 0; i < 20; i++) out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* Standard base64 with padding; out needs 4 * ((n + 2) / 3) + 1 bytes. Returns the length. */
static size_t hl__base64_encode(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}
/* ==== end sha1_base64.c ==== */
/* ==== begin utf8.c ==== */
/* Incremental UTF-8 validation that fails at the first byte that cannot start or continue a
   valid sequence (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), so a text
   message split at any byte is judged the same and a bad one is refused at once (close 1007).
   State: bits 0-7 continuation bytes still needed, 8-15 lowest and 16-23 highest allowed next
   byte. 0 is the state between characters. */
#define HL__UTF8_ACCEPT 0u
#define HL__UTF8_REJECT 0xFFFFFFFFu

static uint32_t hl__utf8_step(uint32_t st, unsigned b)
{
    unsigned need = st & 0xFF;
    if (need == 0) {
        if (b < 0x80) return 0;
        if (b >= 0xC2 && b <= 0xDF) return 1u | 0x80u << 8 | 0xBFu << 16;
        if (b == 0xE0) return 2u | 0xA0u << 8 | 0xBFu << 16;
        if (b == 0xED) return 2u | 0x80u << 8 | 0x9Fu << 16;
        if (b >= 0xE1 && b <= 0xEF) return 2u | 0x80u << 8 | 0xBFu << 16;
        if (b == 0xF0) return 3u | 0x90u << 8 | 0xBFu << 16;
        if (b >= 0xF1 && b <= 0xF3) return 3u | 0x80u << 8 | 0xBFu << 16;
        if (b == 0xF4) return 3u | 0x80u << 8 | 0x8Fu << 16;
        return HL__UTF8_REJECT;
    }
    if (b < ((st >> 8) & 0xFF) || b > ((st >> 16) & 0xFF)) return HL__UTF8_REJECT;
    return need == 1 ? 0 : (need - 1) | 0x80u << 8 | 0xBFu << 16;
}

/* Feed n bytes; returns the new state (HL__UTF8_REJECT once invalid, and it stays so). */
static uint32_t hl__utf8_feed(uint32_t st, const unsigned char *p, size_t n)
{
    size_t i = 0;
    if (st == HL__UTF8_REJECT) return st;
    while (i < n) {
        if (st == 0) { /* ASCII runs eight bytes at a time */
            while (i + 8 <= n) {
                uint64_t w;
                HL_MEMCPY(&w, p + i, 8);
                if (w & 0x8080808080808080ull) break;
                i += 8;
            }
            if (i == n) break;
        }
        st = hl__utf8_step(st, p[i++]);
        if (st == HL__UTF8_REJECT) return st;
    }
    return st;
}
/* ==== end utf8.c ==== */
/* ==== begin url.c ==== */
/* URL parsing: scheme, host (name, IPv4 or bracketed IPv6), port, target. Strict on purpose:
   what we cannot represent exactly is refused with a reason rather than guessed at. */

static int hl__url_fail(char *detail, size_t cap, const char *why, size_t at)
{
    if (detail) hl__fmt(detail, cap, "%s (at offset %u)", why, (unsigned)at);
    return HL_E_BAD_URL;
}

static int hl__is_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int hl__is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

HL_API int hl_url_parse(const char *url, hl_url *out, char *detail, size_t detail_size)
{
    static const struct { const char *name; hl_scheme scheme; uint16_t port; } schemes[] = {
        {"ws://", HL_SCHEME_WS, 80},
        {"wss://", HL_SCHEME_WSS, 443},
        {"http://", HL_SCHEME_HTTP, 80},
        {"https://", HL_SCHEME_HTTPS, 443},
    };
    size_t i, p = 0, hs, he, hn;
    int found = 0;
    if (!url || !out) return HL_E_INVALID;
    HL_MEMSET(out, 0, sizeof *out);
    for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].name);
        if (strlen(url) >= n && hl__ieq(url, schemes[i].name, n)) {
            out->scheme = schemes[i].scheme;
            out->port = schemes[i].port;
            p = n;
            found = 1;
            break;
        }
    }
    if (!found) return hl__url_fail(detail, detail_size, "scheme must be ws, wss, http or https", 0);

    /* host */
    if (url[p] == '[') {
        hs = ++p;
        while (url[p] && url[p] != ']') {
            if (!hl__is_hex((unsigned char)url[p]) && url[p] != ':' && url[p] != '.')
                return hl__url_fail(detail, detail_size, "bad character in IPv6 literal", p);
            p++;
        }
        if (url[p] != ']') return hl__url_fail(detail, detail_size, "IPv6 literal lacks ']'", p);
        he = p++;
        out->is_ipv6 = 1;
        if (he == hs || !memchr(url + hs, ':', he - hs))
            return hl__url_fail(detail, detail_size, "IPv6 literal is not an address", hs);
    } else {
        hs = p;
        while (hl__is_alnum((unsigned char)url[p]) || url[p] == '-' || url[p] == '.' || url[p] == '_')
            p++;
        he = p;
        if (url[p] == '@') return hl__url_fail(detail, detail_size, "user info is not supported", p);
        if (he == hs) return hl__url_fail(detail, detail_size, "host is empty or has a bad character", p);
    }
    hn = he - hs;
    if (hn > HL_URL_MAX_HOST) return hl__url_fail(detail, detail_size, "host longer than 255 bytes", hs);
    for (i = 0; i < hn; i++) out->host[i] = (char)hl__lower((unsigned char)url[hs + i]);
    out->host[hn] = '\0';

    /* port */
    if (url[p] == ':') {
        unsigned long port = 0;
        size_t ps = ++p;
        while (url[p] >= '0' && url[p] <= '9') {
            port = port * 10 + (unsigned long)(url[p] - '0');
            if (port > 65535) return hl__url_fail(detail, detail_size, "port above 65535", ps);
            p++;
        }
        if (p == ps) return hl__url_fail(detail, detail_size, "port is empty or not a number", ps);
        if (port == 0) return hl__url_fail(detail, detail_size, "port 0", ps);
        out->port = (uint16_t)port;
    }
    if (url[p] != '\0' && url[p] != '/' && url[p] != '?' && url[p] != '#')
        return hl__url_fail(detail, detail_size, "unexpected character after host", p);

    /* target: path and query, without the fragment */
    {
        size_t o = 0;
        if (url[p] != '/') out->target[o++] = '/';
        for (; url[p] && url[p] != '#'; p++) {
            unsigned char c = (unsigned char)url[p];
            if (c <= 0x20 || c >= 0x7F)
                return hl__url_fail(detail, detail_size, "space, control or non-ASCII byte in path", p);
            if (c == '%' && !(hl__is_hex((unsigned char)url[p + 1]) && hl__is_hex((unsigned char)url[p + 2])))
                return hl__url_fail(detail, detail_size, "bad percent escape", p);
            if (o >= HL_URL_MAX_TARGET)
                return hl__url_fail(detail, detail_size, "path and query longer than 2048 bytes", p);
            out->target[o++] = (char)c;
        }
        out->target[o] = '\0';
        if (url[p] == '#' && (out->scheme == HL_SCHEME_WS || out->scheme == HL_SCHEME_WSS))
            return hl__url_fail(detail, detail_size, "a WebSocket URL has no fragment (RFC 6455 3)", p);
    }
    if (detail && detail_size) detail[0] = '\0';
    return HL_OK;
}
/* ==== end url.c ==== */
/* ==== begin json.c ==== */
/* JSON without a tree: a scanner that skips values to find a few keys of an envelope (routing
   must not tokenize whole messages), and, with jsmn, the canonical form of a subscription object
   so that the server's reordered, default-filled acks match what was sent. */

/* Skip white space. */
static const char *hl__js_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Does c end a number or literal? */
static int hl__js_delim(char c)
{
    switch (c) {
    case ',': case ']': case '}': case ':': case ' ': case '\t': case '\r': case '\n': case '\0': return 1;
    default: return 0;
    }
}

/* Skip one JSON value starting at p; returns the byte after it, or NULL when malformed or cut.
   Structure is tracked only as far as needed to find the end (a validator it is not). */
static const char *hl__js_skip(const char *p, const char *end)
{
    int depth = 0;
    p = hl__js_ws(p, end);
    do {
        if (p >= end) return NULL;
        switch (*p) {
        case '"':
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\' && ++p == end) return NULL;
            if (p >= end) return NULL;
            p++;
            break;
        case '{': case '[':
            depth++;
            p++;
            break;
        case '}': case ']':
            if (--depth < 0) return NULL;
            p++;
            break;
        case ',': case ':': case ' ': case '\t': case '\n': case '\r':
            if (!depth) return NULL;
            p++;
            break;
        case '\0':
            return NULL;
        default:
            while (p < end && !hl__js_delim(*p)) p++;
            break;
        }
    } while (depth > 0);
    return p;
}

/* The value of key in the object at obj, without finding where that value ends: only the
   members before it are skipped. NULL when absent. For scanning a large message's envelope. */
static const char *hl__js_find(const char *obj, const char *end, const char *key)
{
    size_t kl = strlen(key);
    const char *p = hl__js_ws(obj, end);
    if (p >= end || *p != '{') return NULL;
    p++;
    for (;;) {
        const char *k, *kend, *v;
        p = hl__js_ws(p, end);
        if (p >= end || *p != '"') return NULL;
        k = p + 1;
        p = hl__js_skip(p, end);
        if (!p) return NULL;
        kend = p - 1;
        p = hl__js_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        v = hl__js_ws(p + 1, end);
        if ((size_t)(kend - k) == kl && memcmp(k, key, kl) == 0) return v < end ? v : NULL;
        p = hl__js_skip(v, end);
        if (!p) return NULL;
        p = hl__js_ws(p, end);
        if (p >= end || *p != ',') return NULL;
        p++;
    }
}

/* Copy a JSON string's contents (no quotes) into out, undoing the escapes that matter for
   text shown to people (\" \\ \/ \n \t; \uXXXX kept as is). Always NUL-terminates. */
static void hl__js_unescape(const char *s, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    if (!cap) return;
    for (i = 0; i < n && o + 1 < cap; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char e = s[++i];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'u' ? (i--, '\\') : e;
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

/* In the object at obj (pointing at '{'), find key; *val gets the start of its value and the
   return is the value's end, or NULL when absent or malformed. */
static const char *hl__js_find(const char *obj, const char *end, const char *key);
static const char *hl__js_get(const char *obj, const char *end, const char *key, const char **val)
{
    const char *v = hl__js_find(obj, end, key);
    if (!v) return NULL;
    *val = v;
    return hl__js_skip(v, end);
}

/* The contents of the string value at v (without quotes, escapes left as they are). */
static int hl__js_str(const char *v, const char *ve, const char **s, size_t *n)
{
    if (!v || ve - v < 2 || *v != '"' || ve[-1] != '"') return 0;
    *s = v + 1;
    *n = (size_t)(ve - v - 2);
    return 1;
}

/* Canonical form of a flat JSON object: its members sorted by key, members whose value is a
   default (null, false, "") left out, 0x addresses lower-cased, white space outside strings
   dropped. Two subscriptions are the same when their canonical forms are equal; only the 64-bit
   FNV-1a hash of the form is kept. Returns 0, or HL_E_INVALID for something that is not an
   object. */
#define HL__JSON_CANON_MEMBERS 16

static uint64_t hl__fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}
#define HL__FNV_INIT 0xcbf29ce484222325ull

static int hl__js_is_default(const char *v, size_t n)
{
    return (n == 4 && memcmp(v, "null", 4) == 0) || (n == 5 && memcmp(v, "false", 5) == 0) ||
           (n == 2 && memcmp(v, "\"\"", 2) == 0);
}

static uint64_t hl__fnv_value(uint64_t h, const char *v, size_t n)
{
    size_t i;
    int addr = n == 44 && v[0] == '"' && v[1] == '0' && (v[2] == 'x' || v[2] == 'X');
    int in_str = 0, esc = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (esc) esc = 0;
        else if (in_str && c == '\\') esc = 1;
        else if (c == '"') in_str = !in_str;
        if (!in_str && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) continue;
        if (addr) c = (unsigned char)hl__lower(c);
        h = (h ^ c) * 0x100000001b3ull;
    }
    return h;
}

static int hl__json_canon_hash(const char *js, size_t len, uint64_t *out)
{
    jsmntok_t t[1 + 2 * HL__JSON_CANON_MEMBERS + 32];
    jsmn_parser jp;
    int n, i, k, m = 0, order[HL__JSON_CANON_MEMBERS];
    uint64_t h = HL__FNV_INIT;
    jsmn_init(&jp);
    n = jsmn_parse(&jp, js, len, t, (unsigned)(sizeof t / sizeof t[0]));
    if (n < 1 || t[0].type != JSMN_OBJECT || t[0].size > HL__JSON_CANON_MEMBERS) return HL_E_INVALID;
    /* the member keys (tokens whose parent is the object), skipping defaults */
    for (i = 1; i < n; i++) {
        if (t[i].parent != 0) continue;
        if (i + 1 >= n || t[i].type != JSMN_STRING) return HL_E_INVALID;
        if (!hl__js_is_default(js + t[i + 1].start - (t[i + 1].type == JSMN_STRING),
                               (size_t)(t[i + 1].end - t[i + 1].start) + 2 * (t[i + 1].type == JSMN_STRING)))
            order[m++] = i;
    }
    /* insertion sort by key */
    for (i = 1; i < m; i++) {
        int x = order[i];
        for (k = i - 1; k >= 0; k--) {
            int a = order[k];
            size_t la = (size_t)(t[a].end - t[a].start), lx = (size_t)(t[x].end - t[x].start);
            int c = memcmp(js + t[a].start, js + t[x].start, HL__MIN(la, lx));
            if (c < 0 || (c == 0 && la <= lx)) break;
            order[k + 1] = a;
        }
        order[k + 1] = x;
    }
    for (i = 0; i < m; i++) {
        const jsmntok_t *kt = &t[order[i]], *vt = &t[order[i] + 1];
        int q = vt->type == JSMN_STRING;
        h = hl__fnv1a(h, js + kt->start, (size_t)(kt->end - kt->start));
        h = hl__fnv1a(h, "=", 1);
        h = hl__fnv_value(h, js + vt->start - q, (size_t)(vt->end - vt->start) + 2 * (size_t)q);
        h = hl__fnv1a(h, ";", 1);
    }
    *out = h;
    return HL_OK;
}
/* ==== end json.c ==== */
/* ==== begin http_date.c ==== */
/* Retry-After: delay-seconds or an HTTP-date (RFC 9110 5.6.7, the IMF-fixdate form
   "Sun, 06 Nov 1994 08:49:37 GMT"). Both the WebSocket upgrade and HTTP retries honour it. */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t hl__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int hl__digits(const char *p, int n, unsigned *out)
{
    int i;
    *out = 0;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        *out = *out * 10 + (unsigned)(p[i] - '0');
    }
    return 1;
}

/* Parse an IMF-fixdate into Unix seconds; 0 on success, -1 otherwise. */
static int hl__http_date_parse(const char *v, size_t n, int64_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    unsigned day, year, hh, mm, ss, mon;
    if (n != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
        v[19] != ':' || v[22] != ':' || memcmp(v + 25, " GMT", 4) != 0)
        return -1;
    if (!hl__digits(v + 5, 2, &day) || !hl__digits(v + 12, 4, &year) || !hl__digits(v + 17, 2, &hh) ||
        !hl__digits(v + 20, 2, &mm) || !hl__digits(v + 23, 2, &ss))
        return -1;
    for (mon = 0; mon < 12; mon++)
        if (memcmp(months + 3 * mon, v + 8, 3) == 0) break;
    if (mon == 12 || day < 1 || hh > 23 || mm > 59 || ss > 60) return -1;
    {
        static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        if (day > mdays[mon] || (mon == 1 && day == 29 && !leap)) return -1;
    }
    *out = hl__days_from_civil(year, mon + 1, day) * 86400 + hh * 3600 + mm * 60 + ss;
    return 0;
}

/* A Retry-After value as nanoseconds from now (never negative); -1 when unreadable. */
static int64_t hl__retry_after_ns(const char *v, size_t n, int64_t unix_now)
{
    unsigned secs;
    int64_t when;
    if (n > 0 && n <= 9 && hl__digits(v, (int)n, &secs)) return (int64_t)secs * 1000000000;
    if (hl__http_date_parse(v, n, &when) == 0) {
        if (when <= unix_now) return 0;
        /* a date centuries away still fits (and is capped at about 292 years) */
        return when - unix_now >= 9000000000LL ? INT64_MAX : (when - unix_now) * 1000000000;
    }
    return -1;
}
/* ==== end http_date.c ==== */
/* ==== begin backoff.c ==== */
/* Reconnect and retry delays: exponential backoff with jitter. Pure: the caller passes the
   attempt number and a random word, so the bounds can be checked exactly in simulation. */

static void hl__backoff_resolve(const hl_backoff *in, hl_backoff *out)
{
    *out = *in;
    if (!out->initial_ms) out->initial_ms = 1000;
    if (!out->max_ms) out->max_ms = 30000;
    if (!out->multiplier_pct) out->multiplier_pct = 200;
    if (out->multiplier_pct < 100) out->multiplier_pct = 100;
    if (out->max_ms < out->initial_ms) out->max_ms = out->initial_ms;
    if (!out->jitter) out->jitter = HL_JITTER_PROPORTIONAL;
    if (!out->jitter_pct) out->jitter_pct = 20;
    if (out->jitter_pct > 100) out->jitter_pct = 100;
    if (!out->healthy_ms) out->healthy_ms = 10000;
}

/* The delay before attempt (1 = the first retry) without jitter: initial * multiplier^(n-1),
   floored, capped at max. Worked in microseconds so that small delays grow too (3 ms x1.2 does
   not round back to 3 ms at every step). */
static uint32_t hl__backoff_base(const hl_backoff *b, uint32_t attempt)
{
    uint64_t d = (uint64_t)b->initial_ms * 1000, cap = (uint64_t)b->max_ms * 1000;
    uint32_t i;
    for (i = 1; i < attempt && d < cap && b->multiplier_pct > 100; i++)
        d = d > UINT64_MAX / b->multiplier_pct ? cap : d * b->multiplier_pct / 100;
    return (uint32_t)(HL__MIN(d, cap) / 1000);
}

/* The range the jittered delay of an attempt falls in, [lo, hi] milliseconds. */
static void hl__backoff_bounds(const hl_backoff *b, uint32_t attempt, uint32_t *lo, uint32_t *hi)
{
    uint32_t base = hl__backoff_base(b, attempt);
    switch (b->jitter) {
    case HL_JITTER_FULL:
        *lo = 0;
        *hi = base;
        break;
    case HL_JITTER_NONE:
        *lo = *hi = base;
        break;
    default: /* proportional: base +- jitter_pct, never above max */
        *lo = (uint32_t)((uint64_t)base * (100 - b->jitter_pct) / 100);
        *hi = (uint32_t)HL__MIN((uint64_t)base * (100 + b->jitter_pct) / 100, (uint64_t)b->max_ms);
        if (*hi < *lo) *hi = *lo;
        break;
    }
}

/* The jittered delay of an attempt; rnd is a uniformly random 32-bit word. */
static uint32_t hl__backoff_delay(const hl_backoff *b, uint32_t attempt, uint32_t rnd)
{
    uint32_t lo, hi;
    hl__backoff_bounds(b, attempt, &lo, &hi);
    return lo + (uint32_t)(((uint64_t)rnd * ((uint64_t)(hi - lo) + 1)) >> 32);
}
/* ==== end backoff.c ==== */
/* ==== begin breaker.c ==== */
/* Circuit breaker: CLOSED -> OPEN after N consecutive failures, or a failure ratio over a
   window -> HALF_OPEN after a cool-down -> one probe -> CLOSED on success, OPEN on failure.
   A pure machine on the context clock (nanoseconds); WebSocket connects and HTTP requests
   both go through one per endpoint. */
typedef struct hl__breaker {
    hl_breaker_state state;
    uint32_t consecutive;     /* failures in a row */
    uint32_t win_calls, win_failures;
    uint64_t win_start;       /* tumbling window of ratio_window_ms */
    uint64_t opened_at;
    int probe_out;            /* HALF_OPEN: the one probe is under way */
    uint64_t opens;           /* how many times it opened (stats) */
} hl__breaker;

static void hl__breaker_config_resolve(const hl_breaker_config *in, hl_breaker_config *out)
{
    *out = *in;
    if (!out->failures) out->failures = 5;
    if (!out->cooldown_ms) out->cooldown_ms = 15000;
    if (!out->ratio_window_ms) out->ratio_window_ms = 60000;
    if (!out->ratio_min_calls) out->ratio_min_calls = 10;
    if (out->ratio_pct > 100) out->ratio_pct = 100;
}

static void hl__breaker_open(hl__breaker *b, uint64_t now)
{
    b->state = HL_BREAKER_OPEN;
    b->opened_at = now;
    b->probe_out = 0;
    b->opens++;
}

/* May a call go out now? In HALF_OPEN exactly one probe is let through. When it says no and
   wait_ns is not NULL, *wait_ns is the time until the cool-down ends. */
static int hl__breaker_allow(hl__breaker *b, const hl_breaker_config *c, uint64_t now, uint64_t *wait_ns)
{
    uint64_t cool = (uint64_t)c->cooldown_ms * HL__NS_PER_MS;
    if (b->state == HL_BREAKER_OPEN) {
        if (now - b->opened_at < cool) {
            if (wait_ns) *wait_ns = cool - (now - b->opened_at);
            return 0;
        }
        b->state = HL_BREAKER_HALF_OPEN;
        b->probe_out = 0;
    }
    if (b->state == HL_BREAKER_HALF_OPEN) {
        if (b->probe_out) {
            if (wait_ns) *wait_ns = cool;
            return 0;
        }
        b->probe_out = 1;
    }
    return 1;
}

/* The outcome of a call that allow() let through. */
static void hl__breaker_record(hl__breaker *b, const hl_breaker_config *c, uint64_t now, int ok)
{
    uint64_t win = (uint64_t)c->ratio_window_ms * HL__NS_PER_MS;
    if (now - b->win_start >= win) {
        b->win_start = now;
        b->win_calls = b->win_failures = 0;
    }
    b->win_calls++;
    if (ok) {
        b->consecutive = 0;
        if (b->state == HL_BREAKER_HALF_OPEN) {
            b->state = HL_BREAKER_CLOSED;
            b->win_calls = b->win_failures = 0;
            b->win_start = now;
        }
        b->probe_out = 0;
        return;
    }
    b->consecutive++;
    b->win_failures++;
    if (b->state == HL_BREAKER_HALF_OPEN) {
        hl__breaker_open(b, now);
        return;
    }
    if (b->state == HL_BREAKER_CLOSED &&
        (b->consecutive >= c->failures ||
         (c->ratio_pct && b->win_calls >= c->ratio_min_calls &&
          (uint64_t)b->win_failures * 100 >= (uint64_t)c->ratio_pct * b->win_calls)))
        hl__breaker_open(b, now);
}
/* ==== end breaker.c ==== */
/* ==== begin token_bucket.c ==== */
/* Token bucket for client-side rate limits (messages or request weight per minute). Exact
   integer arithmetic: one token is 60e9 units and a bucket refilling R tokens per minute gains
   R units per nanosecond, so no rounding drifts. */
#define HL__TOKEN 60000000000ull

typedef struct hl__bucket {
    uint64_t units;      /* tokens * HL__TOKEN */
    uint64_t last;       /* ns of the last refill */
    uint32_t capacity;   /* tokens; 0 = unlimited */
    uint32_t per_minute;
} hl__bucket;

#define HL__BUCKET_MAX 300000000u /* capacity * HL__TOKEN must fit 64 bits */

/* A budget of capacity tokens refilled at per_minute; a capacity above HL__BUCKET_MAX is no
   limit at all (0). */
static void hl__bucket_init(hl__bucket *b, uint32_t capacity, uint32_t per_minute, uint64_t now)
{
    if (capacity > HL__BUCKET_MAX) capacity = per_minute = 0;
    b->capacity = capacity;
    b->per_minute = per_minute;
    b->units = (uint64_t)capacity * HL__TOKEN; /* starts full */
    b->last = now;
}

static void hl__bucket_refill(hl__bucket *b, uint64_t now)
{
    uint64_t cap = (uint64_t)b->capacity * HL__TOKEN, dt = now > b->last ? now - b->last : 0, missing;
    b->last = now;
    if (b->units >= cap || !b->per_minute) return;
    missing = cap - b->units;
    if (dt >= (missing + b->per_minute - 1) / b->per_minute) b->units = cap;
    else b->units += dt * b->per_minute; /* < missing: cannot overflow */
}

/* Take n tokens: 0 when taken, else the nanoseconds until n tokens will be there (nothing is
   taken then). n above the capacity can never be served: returns UINT64_MAX. */
static uint64_t hl__bucket_take(hl__bucket *b, uint64_t now, uint32_t n)
{
    uint64_t need = (uint64_t)n * HL__TOKEN;
    if (!b->capacity) return 0;
    if (n > b->capacity) return UINT64_MAX;
    hl__bucket_refill(b, now);
    if (b->units >= need) {
        b->units -= need;
        return 0;
    }
    if (!b->per_minute) return UINT64_MAX;
    return (need - b->units + b->per_minute - 1) / b->per_minute;
}
/* ==== end token_bucket.c ==== */
/* ==== begin sys.c ==== */
/* Sockets: non-blocking TCP, poll, name resolution. The only file that knows POSIX from
   Winsock; everything above sees hl_socket and these calls. */

#define HL__AGAIN (-1000) /* would block */

#if defined(_WIN32)
typedef int hl__socklen;
#define HL__EINPROGRESS WSAEWOULDBLOCK
#define HL__ECONNREFUSED WSAECONNREFUSED
#define HL__ECONNRESET WSAECONNRESET
#define HL__ETIMEDOUT WSAETIMEDOUT
static int hl__sys_errno(void) { return WSAGetLastError(); }
static int hl__sys_would_block(int e) { return e == WSAEWOULDBLOCK; }
#else
typedef socklen_t hl__socklen;
#define HL__EINPROGRESS EINPROGRESS
#define HL__ECONNREFUSED ECONNREFUSED
#define HL__ECONNRESET ECONNRESET
#define HL__ETIMEDOUT ETIMEDOUT
static int hl__sys_errno(void) { return errno; }
static int hl__sys_would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }
#endif

static int hl__sys_startup(void)
{
#if defined(_WIN32)
    WSADATA wsa;
    return WSAStartup(MAKEWORD(2, 2), &wsa) == 0 ? HL_OK : HL_E_IO;
#else
    return HL_OK;
#endif
}

static void hl__sys_cleanup(void)
{
#if defined(_WIN32)
    WSACleanup();
#endif
}

static void hl__sys_close(hl_socket s)
{
#if defined(_WIN32)
    closesocket((SOCKET)s);
#else
    close(s);
#endif
}

/* A non-blocking TCP socket with TCP_NODELAY for the address family of a. */
static hl_socket hl__sys_socket(const hl_addr *a, int *err)
{
    const struct sockaddr *sa = (const struct sockaddr *)(const void *)a->bytes;
    int one = 1;
#if defined(_WIN32)
    u_long nb = 1;
    SOCKET s = socket(sa->sa_family, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) {
        *err = hl__sys_errno();
        return HL_INVALID_SOCKET;
    }
    if (ioctlsocket(s, FIONBIO, &nb) != 0) {
        *err = hl__sys_errno();
        closesocket(s);
        return HL_INVALID_SOCKET;
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    return (hl_socket)s;
#else
    int s = socket(sa->sa_family, SOCK_STREAM, 0);
    int fl;
    if (s < 0) {
        *err = errno;
        return HL_INVALID_SOCKET;
    }
    fl = fcntl(s, F_GETFL, 0);
    if (fl < 0 || fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(s, F_SETFD, FD_CLOEXEC) < 0) {
        *err = errno;
        close(s);
        return HL_INVALID_SOCKET;
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
    setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return s;
#endif
}

/* Start connecting: 0 connected, 1 in progress, -1 failed (*err set). */
static int hl__sys_connect(hl_socket s, const hl_addr *a, int *err)
{
    const struct sockaddr *sa = (const struct sockaddr *)(const void *)a->bytes;
#if defined(_WIN32)
    if (connect((SOCKET)s, sa, (int)a->len) == 0) return 0;
#else
    if (connect(s, sa, (socklen_t)a->len) == 0) return 0;
#endif
    *err = hl__sys_errno();
#if !defined(_WIN32)
    if (*err == EINTR) return 1;
#endif
    return *err == HL__EINPROGRESS ? 1 : -1;
}

/* After the socket became writable: 0 connected, else the connect error. */
static int hl__sys_connect_result(hl_socket s)
{
    int e = 0;
    hl__socklen len = sizeof e;
#if defined(_WIN32)
    if (getsockopt((SOCKET)s, SOL_SOCKET, SO_ERROR, (char *)&e, &len) != 0) return hl__sys_errno();
#else
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) != 0) return errno;
#endif
    return e;
}

/* Bytes sent, HL__AGAIN, or -1 with *err. */
static long hl__sys_send(hl_socket s, const unsigned char *p, size_t n, int *err)
{
    long r;
#if defined(_WIN32)
    r = send((SOCKET)s, (const char *)p, (int)HL__MIN(n, (size_t)0x7FFFFFFF), 0);
#elif defined(MSG_NOSIGNAL)
    do r = (long)send(s, p, n, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
#else
    do r = (long)send(s, p, n, 0); while (r < 0 && errno == EINTR);
#endif
    if (r >= 0) return r;
    *err = hl__sys_errno();
    return hl__sys_would_block(*err) ? HL__AGAIN : -1;
}

/* Bytes received, 0 at EOF, HL__AGAIN, or -1 with *err. */
static long hl__sys_recv(hl_socket s, unsigned char *p, size_t n, int *err)
{
    long r;
#if defined(_WIN32)
    r = recv((SOCKET)s, (char *)p, (int)HL__MIN(n, (size_t)0x7FFFFFFF), 0);
#else
    do r = (long)recv(s, p, n, 0); while (r < 0 && errno == EINTR);
#endif
    if (r >= 0) return r;
    *err = hl__sys_errno();
    return hl__sys_would_block(*err) ? HL__AGAIN : -1;
}

/* Wait for readiness on fds (revents filled) or timeout_ms; 0 fds just sleeps. */
static int hl__sys_poll(hl_pollfd *fds, int n, int timeout_ms, struct pollfd *scratch)
{
    int i, r;
#if defined(_WIN32)
    if (n == 0) {
        if (timeout_ms > 0) Sleep((DWORD)timeout_ms);
        return 0;
    }
#endif
    for (i = 0; i < n; i++) {
        scratch[i].fd = fds[i].fd;
        scratch[i].events = (short)(((fds[i].events & HL_POLLIN) ? POLLIN : 0) |
                                    ((fds[i].events & HL_POLLOUT) ? POLLOUT : 0));
        scratch[i].revents = 0;
    }
#if defined(_WIN32)
    r = WSAPoll(scratch, (ULONG)n, timeout_ms);
#else
    r = poll(scratch, (nfds_t)n, timeout_ms);
    if (r < 0 && errno == EINTR) r = 0; /* a signal ends the wait: the caller's loop decides */
#endif
    if (r < 0) return HL_E_IO;
    for (i = 0; i < n; i++) {
        short re = scratch[i].revents;
        fds[i].revents = ((re & (POLLIN | POLLHUP)) ? HL_POLLIN : 0u) |
                         ((re & POLLOUT) ? HL_POLLOUT : 0u) |
                         ((re & (POLLERR | POLLNVAL)) ? HL_POLLERR : 0u);
    }
    return r;
}

/* The default resolver: getaddrinfo, which blocks (a hook replaces it). */
static int hl__sys_resolve(void *user, const char *host, uint16_t port, hl_addr *out, int max)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[8];
    int n = 0;
    (void)user;
    HL_MEMSET(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hl__fmt(service, sizeof service, "%u", (unsigned)port);
    if (getaddrinfo(host, service, &hints, &res) != 0 || !res) return HL_E_DNS;
    for (ai = res; ai && n < max; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof out[n].bytes) continue;
        HL_MEMCPY(out[n].bytes, ai->ai_addr, ai->ai_addrlen);
        out[n].len = (uint32_t)ai->ai_addrlen;
        n++;
    }
    freeaddrinfo(res);
    return n > 0 ? n : HL_E_DNS;
}

/* A readable name for a system error code, into out. */
static void hl__sys_strerror(int e, char *out, size_t cap)
{
#if defined(_WIN32)
    hl__fmt(out, cap, "WSA error %d", e);
#else
    hl__fmt(out, cap, "%s", strerror(e));
#endif
}
/* ==== end sys.c ==== */
/* ==== begin transport.c ==== */
/* The byte streams the driver and TLS talk through: the OS sockets, or the caller's transport
   (config.transport). Same conventions as the sys calls: bytes, HL__AGAIN, or -1 with *err. */

/* Open a stream to a: 0 connected, 1 in progress, -1 failed (*err set). */
static int hl__net_open(const hl_transport *tp, const hl_addr *a, hl_socket *out, int *err)
{
    if (tp) {
        int r = tp->connect(tp->user, a, out, err);
        return r == 0 || r == 1 ? r : -1;
    }
    *out = hl__sys_socket(a, err);
    if (*out == HL_INVALID_SOCKET) return -1;
    {
        int r = hl__sys_connect(*out, a, err);
        if (r < 0) {
            hl__sys_close(*out);
            *out = HL_INVALID_SOCKET;
        }
        return r;
    }
}

static int hl__net_connect_result(const hl_transport *tp, hl_socket s)
{
    return tp ? tp->connect_result(tp->user, s) : hl__sys_connect_result(s);
}

static long hl__net_send(const hl_transport *tp, hl_socket s, const unsigned char *p, size_t n, int *err)
{
    long r;
    if (!tp) return hl__sys_send(s, p, n, err);
    r = tp->send(tp->user, s, p, n, err);
    return r == HL_IO_AGAIN ? HL__AGAIN : r < 0 ? -1 : r;
}

static long hl__net_recv(const hl_transport *tp, hl_socket s, unsigned char *p, size_t n, int *err)
{
    long r;
    if (!tp) return hl__sys_recv(s, p, n, err);
    r = tp->recv(tp->user, s, p, n, err);
    return r == HL_IO_AGAIN ? HL__AGAIN : r < 0 ? -1 : r;
}

static void hl__net_close(const hl_transport *tp, hl_socket s)
{
    if (tp) tp->close(tp->user, s);
    else hl__sys_close(s);
}
/* ==== end transport.c ==== */
/* ==== begin tls.c ==== */
/* TLS with BearSSL: the client engine pumped over a non-blocking socket, trust anchors parsed
   into the arena, SHA-256 public-key pinning, an explicit insecure mode, session resumption and
   readable errors. BearSSL never allocates: every context and buffer here comes from the arena
   and stays where it was put (the engine keeps pointers into itself and into the buffers). */
#if HL_ENABLE_TLS

#define HL__TLS_IBUF BR_SSL_BUFSIZE_INPUT /* a whole record from any server (16709) */
#define HL__TLS_MIN_OBUF 597
#define HL__TLS_MAX_OBUF BR_SSL_BUFSIZE_OUTPUT
#define HL__TLS_PIN_FAIL 0x7F01 /* our end_chain code: no pinned key matched */

/* TLS 1.2, ECDHE only, AEAD only: what BearSSL does well and every modern server offers. */
static const uint16_t hl__tls_suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

/* An X.509 engine wrapping br_x509_minimal: adds key pinning, and in insecure mode accepts any
   chain. Its own decoder reads the first (the server's) certificate, for the key when minimal
   gives none: insecure mode, and a pinned IP-address host (no certificate name can match an
   address, so there the pin alone vouches for the key). */
typedef struct hl__x509 {
    const br_x509_class *vtable; /* first: BearSSL calls through it */
    br_x509_minimal_context minimal;
    br_x509_decoder_context leaf; /* decodes the first certificate */
    int cert_index;
    const unsigned char *pins;    /* pin_count SHA-256 digests of SubjectPublicKeyInfo */
    int pin_count;
    int insecure;
    int ip_host;                  /* the host is an IP address */
    int use_leaf;                 /* the key to use is the leaf decoder's */
    int pin_failed;
} hl__x509;

typedef struct hl__tls {
    br_ssl_client_context cc;
    const hl_transport *tp; /* the byte stream (NULL: OS sockets) */
    hl__x509 x509;
    unsigned char *ibuf, *obuf;
    size_t olen;
    int inited;            /* profile set up once per slot (re-init would drop the session) */
    int session_ok;        /* cc holds a session for session_host:session_port */
    char session_host[HL_URL_MAX_HOST + 1];
    uint16_t session_port;
    unsigned char offered_id[32];
    int offered;
    int resumed;
} hl__tls;

static hl__x509 *hl__x509_of(const br_x509_class **ctx)
{
    return (hl__x509 *)(void *)ctx;
}

static void hl__x509_start_chain(const br_x509_class **ctx, const char *server_name)
{
    hl__x509 *x = hl__x509_of(ctx);
    x->cert_index = 0;
    x->pin_failed = 0;
    x->use_leaf = x->insecure;
    x->minimal.vtable->start_chain(&x->minimal.vtable, server_name);
    br_x509_decoder_init(&x->leaf, 0, 0);
}

static void hl__x509_start_cert(const br_x509_class **ctx, uint32_t length)
{
    hl__x509 *x = hl__x509_of(ctx);
    x->minimal.vtable->start_cert(&x->minimal.vtable, length);
}

static void hl__x509_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    hl__x509 *x = hl__x509_of(ctx);
    x->minimal.vtable->append(&x->minimal.vtable, buf, len);
    if (x->cert_index == 0) br_x509_decoder_push(&x->leaf, buf, len);
}

static void hl__x509_end_cert(const br_x509_class **ctx)
{
    hl__x509 *x = hl__x509_of(ctx);
    x->minimal.vtable->end_cert(&x->minimal.vtable);
    x->cert_index++;
}

/* DER of a length; returns bytes written. */
static size_t hl__der_len(unsigned char *out, size_t n)
{
    if (n < 128) { out[0] = (unsigned char)n; return 1; }
    if (n < 256) { out[0] = 0x81; out[1] = (unsigned char)n; return 2; }
    out[0] = 0x82; out[1] = (unsigned char)(n >> 8); out[2] = (unsigned char)n;
    return 3;
}

/* Hash a DER TLV whose value is given in parts (tag, then pieces) without building it. */
static void hl__der_hash_hdr(br_sha256_context *h, unsigned tag, size_t len)
{
    unsigned char hdr[4];
    size_t n;
    hdr[0] = (unsigned char)tag;
    n = 1 + hl__der_len(hdr + 1, len);
    br_sha256_update(h, hdr, n);
}

static size_t hl__der_tlv_size(size_t len)
{
    return 1 + (len < 128 ? 1 : len < 256 ? 2 : 3) + len;
}

/* Length of an unsigned big integer as a DER INTEGER value (leading zeros dropped, a zero
   byte added when the top bit is set). */
static size_t hl__der_uint_len(const unsigned char **p, size_t *n)
{
    while (*n > 1 && (*p)[0] == 0) { (*p)++; (*n)--; }
    return *n + (((*p)[0] & 0x80) ? 1 : 0);
}

/* SHA-256 of the SubjectPublicKeyInfo DER of a key, as `openssl pkey -pubin -outform der`
   would encode it; that is what a pin names. Returns 0, or -1 for a curve we do not know. */
static int hl__spki_sha256(const br_x509_pkey *pk, unsigned char out[32])
{
    static const unsigned char rsa_alg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                            0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    static const unsigned char ec_oid[] = {0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
    static const unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const unsigned char p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
    static const unsigned char p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
    br_sha256_context h;
    unsigned char zero = 0;
    br_sha256_init(&h);
    if (pk->key_type == BR_KEYTYPE_RSA) {
        const unsigned char *n = pk->key.rsa.n, *e = pk->key.rsa.e;
        size_t nl = pk->key.rsa.nlen, el = pk->key.rsa.elen;
        size_t niv = hl__der_uint_len(&n, &nl), eiv = hl__der_uint_len(&e, &el);
        size_t seq = hl__der_tlv_size(niv) + hl__der_tlv_size(eiv);
        size_t bits = 1 + hl__der_tlv_size(seq);
        hl__der_hash_hdr(&h, 0x30, sizeof rsa_alg + hl__der_tlv_size(bits));
        br_sha256_update(&h, rsa_alg, sizeof rsa_alg);
        hl__der_hash_hdr(&h, 0x03, bits);
        br_sha256_update(&h, &zero, 1); /* no unused bits */
        hl__der_hash_hdr(&h, 0x30, seq);
        hl__der_hash_hdr(&h, 0x02, niv);
        if (niv > nl) br_sha256_update(&h, &zero, 1);
        br_sha256_update(&h, n, nl);
        hl__der_hash_hdr(&h, 0x02, eiv);
        if (eiv > el) br_sha256_update(&h, &zero, 1);
        br_sha256_update(&h, e, el);
    } else {
        const unsigned char *curve;
        size_t cl, alg, bits = 1 + pk->key.ec.qlen;
        switch (pk->key.ec.curve) {
        case BR_EC_secp256r1: curve = p256; cl = sizeof p256; break;
        case BR_EC_secp384r1: curve = p384; cl = sizeof p384; break;
        case BR_EC_secp521r1: curve = p521; cl = sizeof p521; break;
        default: return -1;
        }
        alg = sizeof ec_oid + cl;
        hl__der_hash_hdr(&h, 0x30, hl__der_tlv_size(alg) + hl__der_tlv_size(bits));
        hl__der_hash_hdr(&h, 0x30, alg);
        br_sha256_update(&h, ec_oid, sizeof ec_oid);
        br_sha256_update(&h, curve, cl);
        hl__der_hash_hdr(&h, 0x03, bits);
        br_sha256_update(&h, &zero, 1);
        br_sha256_update(&h, pk->key.ec.q, pk->key.ec.qlen);
    }
    br_sha256_out(&h, out);
    return 0;
}

static unsigned hl__x509_end_chain(const br_x509_class **ctx)
{
    hl__x509 *x = hl__x509_of(ctx);
    unsigned err = x->minimal.vtable->end_chain(&x->minimal.vtable);
    if (x->insecure && !x->pin_count) return 0;
    if (x->pin_count > 0 && x->ip_host && err == BR_ERR_X509_BAD_SERVER_NAME) x->use_leaf = 1;
    if (x->pin_count > 0 && (x->use_leaf || err == 0 || err == BR_ERR_X509_NOT_TRUSTED)) {
        /* A pin stands in for CA trust; name and dates are still checked by minimal, except in
           insecure mode and for an IP-address host, where the pin is the only check. */
        unsigned char d[32];
        const br_x509_pkey *pk = x->use_leaf ? br_x509_decoder_get_pkey(&x->leaf)
                                             : x->minimal.vtable->get_pkey(&x->minimal.vtable, NULL);
        int i;
        if (pk && hl__spki_sha256(pk, d) == 0)
            for (i = 0; i < x->pin_count; i++)
                if (memcmp(d, x->pins + 32 * i, 32) == 0) return 0;
        x->pin_failed = 1;
        return HL__TLS_PIN_FAIL;
    }
    return err;
}

static const br_x509_pkey *hl__x509_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
    hl__x509 *x = (hl__x509 *)(void *)ctx;
    if (x->use_leaf) {
        if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
        return br_x509_decoder_get_pkey(&x->leaf);
    }
    return x->minimal.vtable->get_pkey(&x->minimal.vtable, usages);
}

static const br_x509_class hl__x509_vtable = {
    sizeof(hl__x509),   hl__x509_start_chain, hl__x509_start_cert, hl__x509_append,
    hl__x509_end_cert,  hl__x509_end_chain,   hl__x509_get_pkey,
};

/* ---- trust anchors ---- */

/* Parsed anchors live in one arena region: DN and key bytes grow up from the start, the anchor
   structs grow down from the end, so one pass over the PEM suffices. */
typedef struct hl__anchors {
    unsigned char *base;
    size_t cap, bytes_used, count;
    int loaded;
    int overflow;
    const char *source;  /* where they came from, for messages */
    size_t dn_start, dn_len;
    br_x509_decoder_context dc;
} hl__anchors;

static br_x509_trust_anchor *hl__anchor_array(hl__anchors *a)
{
    return (br_x509_trust_anchor *)(void *)(a->base + a->cap - a->count * sizeof(br_x509_trust_anchor));
}

static unsigned char *hl__anchor_bytes(hl__anchors *a, const void *src, size_t n)
{
    unsigned char *p;
    size_t limit = a->cap - (a->count + 1) * sizeof(br_x509_trust_anchor);
    if (a->cap < (a->count + 1) * sizeof(br_x509_trust_anchor) || a->bytes_used + n > limit) {
        a->overflow = 1;
        return NULL;
    }
    p = a->base + a->bytes_used;
    if (src) HL_MEMCPY(p, src, n);
    a->bytes_used += n;
    return p;
}

static void hl__anchor_dn(void *ctx, const void *buf, size_t len)
{
    hl__anchors *a = (hl__anchors *)ctx;
    if (hl__anchor_bytes(a, buf, len)) a->dn_len += len;
}

static void hl__anchor_push(void *ctx, const void *buf, size_t len)
{
    br_x509_decoder_push((br_x509_decoder_context *)ctx, buf, len);
}

/* One certificate decoded: keep its DN and a copy of its key as an anchor. */
static void hl__anchor_finish(hl__anchors *a)
{
    const br_x509_pkey *pk = br_x509_decoder_get_pkey(&a->dc);
    br_x509_trust_anchor ta;
    HL_MEMSET(&ta, 0, sizeof ta);
    if (!pk || a->overflow) {
        if (!a->overflow) a->bytes_used = a->dn_start; /* not a usable certificate: skip it */
        return;
    }
    ta.dn.data = a->base + a->dn_start;
    ta.dn.len = a->dn_len;
    ta.flags = br_x509_decoder_isCA(&a->dc) ? BR_X509_TA_CA : 0;
    ta.pkey.key_type = pk->key_type;
    if (pk->key_type == BR_KEYTYPE_RSA) {
        ta.pkey.key.rsa.n = hl__anchor_bytes(a, pk->key.rsa.n, pk->key.rsa.nlen);
        ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
        ta.pkey.key.rsa.e = hl__anchor_bytes(a, pk->key.rsa.e, pk->key.rsa.elen);
        ta.pkey.key.rsa.elen = pk->key.rsa.elen;
    } else {
        ta.pkey.key.ec.curve = pk->key.ec.curve;
        ta.pkey.key.ec.q = hl__anchor_bytes(a, pk->key.ec.q, pk->key.ec.qlen);
        ta.pkey.key.ec.qlen = pk->key.ec.qlen;
    }
    if (a->overflow) return;
    a->count++;
    HL_MEMCPY(hl__anchor_array(a), &ta, sizeof ta);
}

/* Feed PEM text; call with len 0 at the end. */
static void hl__anchors_pem(hl__anchors *a, br_pem_decoder_context *pc, const unsigned char *p, size_t len)
{
    while (len > 0 && !a->overflow) {
        size_t k = br_pem_decoder_push(pc, p, len);
        p += k;
        len -= k;
        switch (br_pem_decoder_event(pc)) {
        case BR_PEM_BEGIN_OBJ:
            if (strcmp(br_pem_decoder_name(pc), "CERTIFICATE") == 0 ||
                strcmp(br_pem_decoder_name(pc), "X509 CERTIFICATE") == 0) {
                a->dn_start = a->bytes_used;
                a->dn_len = 0;
                br_x509_decoder_init(&a->dc, hl__anchor_dn, a);
                br_pem_decoder_setdest(pc, hl__anchor_push, &a->dc);
            } else {
                br_pem_decoder_setdest(pc, 0, 0);
            }
            break;
        case BR_PEM_END_OBJ:
            if (br_pem_decoder_name(pc)[0]) hl__anchor_finish(a);
            break;
        case BR_PEM_ERROR:
            return;
        default:
            break;
        }
    }
}

static const char *const hl__ca_paths[] = {"/etc/ssl/certs/ca-certificates.crt",
                                           "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"};

/* Load the anchors the configuration names: memory PEM, else a file, else the system bundle.
   Returns HL_OK or HL_E_TLS_CERT / HL_E_NO_MEMORY with a reason. */
static int hl__anchors_load(hl__anchors *a, const hl_config *cfg, char *detail, size_t cap)
{
    br_pem_decoder_context pc;
    size_t i;
    a->bytes_used = a->count = 0;
    a->overflow = 0;
    br_pem_decoder_init(&pc);
    if (cfg->tls_ca_pem) {
        a->source = "tls_ca_pem";
        hl__anchors_pem(a, &pc, (const unsigned char *)cfg->tls_ca_pem,
                        cfg->tls_ca_pem_len ? cfg->tls_ca_pem_len : strlen(cfg->tls_ca_pem));
    } else {
        FILE *f = NULL;
        if (cfg->tls_ca_file) {
            a->source = cfg->tls_ca_file;
            f = fopen(cfg->tls_ca_file, "rb");
        } else {
            for (i = 0; i < sizeof hl__ca_paths / sizeof hl__ca_paths[0] && !f; i++) {
                a->source = hl__ca_paths[i];
                f = fopen(hl__ca_paths[i], "rb");
            }
        }
        if (!f) {
            hl__fmt(detail, cap, "cannot read CA bundle %s (set tls_ca_file)", a->source);
            return HL_E_TLS_CERT;
        }
        for (;;) {
            unsigned char chunk[4096];
            size_t n = fread(chunk, 1, sizeof chunk, f);
            if (n == 0) break;
            hl__anchors_pem(a, &pc, chunk, n);
        }
        fclose(f);
    }
    if (a->overflow) {
        hl__fmt(detail, cap, "trust anchors from %s do not fit tls_anchor_space (%u bytes)", a->source,
                (unsigned)a->cap);
        return HL_E_NO_MEMORY;
    }
    if (a->count == 0) {
        hl__fmt(detail, cap, "no certificate found in %s", a->source);
        return HL_E_TLS_CERT;
    }
    a->loaded = 1;
    return HL_OK;
}

/* ---- the engine ---- */

static void hl__tls_profile(hl__tls *t)
{
    br_ssl_engine_context *e = &t->cc.eng;
    br_ssl_client_zero(&t->cc);
    br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(e, hl__tls_suites, sizeof hl__tls_suites / sizeof hl__tls_suites[0]);
    br_ssl_engine_set_default_ec(e);
    br_ssl_engine_set_default_ecdsa(e);
    br_ssl_engine_set_default_rsavrfy(e);
    br_ssl_engine_set_hash(e, br_sha256_ID, &br_sha256_vtable);
    br_ssl_engine_set_hash(e, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_prf_sha256(e, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(e, &br_tls12_sha384_prf);
    br_ssl_engine_set_default_aes_gcm(e);
    br_ssl_engine_set_default_chapol(e);
    br_ssl_engine_add_flags(e, BR_OPT_NO_RENEGOTIATION);
}

/* Start a handshake with host, which is always given: BearSSL takes it for SNI and checks the
   certificate against it (a NULL name would silently skip that check). ip_host says the host is
   an IP address, allowed only with a pin or in insecure mode. */
static int hl__tls_start(hl__tls *t, hl__anchors *a, const hl_config *cfg, const char *host, int ip_host,
                         uint16_t port, const unsigned char *pins, int npins,
                         const unsigned char seed[32], int64_t unix_now)
{
    hl__x509 *x = &t->x509;
    int resume;
    t->tp = cfg->transport;
    if (!t->inited) {
        hl__tls_profile(t);
        t->inited = 1;
    }
    br_ssl_engine_inject_entropy(&t->cc.eng, seed, 32);
    br_x509_minimal_init(&x->minimal, &br_sha256_vtable,
                         a->count ? hl__anchor_array(a) : NULL, a->count);
    br_x509_minimal_set_hash(&x->minimal, br_sha256_ID, &br_sha256_vtable);
    br_x509_minimal_set_hash(&x->minimal, br_sha384_ID, &br_sha384_vtable);
    br_x509_minimal_set_hash(&x->minimal, br_sha512_ID, &br_sha512_vtable);
    br_x509_minimal_set_rsa(&x->minimal, br_ssl_engine_get_rsavrfy(&t->cc.eng));
    br_x509_minimal_set_ecdsa(&x->minimal, br_ssl_engine_get_ec(&t->cc.eng),
                              br_ssl_engine_get_ecdsa(&t->cc.eng));
    if (unix_now > 0)
        br_x509_minimal_set_time(&x->minimal, (uint32_t)(unix_now / 86400 + 719528),
                                 (uint32_t)(unix_now % 86400));
    x->vtable = &hl__x509_vtable;
    x->pins = pins;
    x->pin_count = npins;
    x->insecure = cfg->tls_insecure;
    x->ip_host = ip_host;
    br_ssl_engine_set_x509(&t->cc.eng, &x->vtable);
    br_ssl_engine_set_buffers_bidi(&t->cc.eng, t->ibuf, HL__TLS_IBUF, t->obuf, t->olen);
    /* resume only towards the endpoint the session came from */
    resume = t->session_ok && t->session_port == port && strcmp(t->session_host, host) == 0;
    if (!resume) br_ssl_client_forget_session(&t->cc);
    t->offered = resume;
    if (resume) {
        br_ssl_session_parameters sp;
        br_ssl_engine_get_session_parameters(&t->cc.eng, &sp);
        HL_MEMCPY(t->offered_id, sp.session_id, 32);
    }
    t->resumed = 0;
    if (!br_ssl_client_reset(&t->cc, host, resume)) return HL_E_TLS;
    t->session_ok = 0;
    HL_MEMCPY(t->session_host, host, strlen(host) + 1);
    t->session_port = port;
    return HL_OK;
}

/* Called once the handshake is done: remember the session, tell whether it was resumed. */
static void hl__tls_established(hl__tls *t, int host_known)
{
    br_ssl_session_parameters sp;
    br_ssl_engine_get_session_parameters(&t->cc.eng, &sp);
    t->resumed = t->offered && memcmp(sp.session_id, t->offered_id, 32) == 0;
    t->session_ok = host_known;
}

/* Move records to the socket until none is waiting or it would block. 0, HL__AGAIN or -1. */
static long hl__tls_push(hl__tls *t, hl_socket fd, int *err)
{
    br_ssl_engine_context *e = &t->cc.eng;
    while (br_ssl_engine_current_state(e) & BR_SSL_SENDREC) {
        size_t n;
        unsigned char *p = br_ssl_engine_sendrec_buf(e, &n);
        long w = hl__net_send(t->tp, fd, p, n, err);
        if (w < 0) return w;
        br_ssl_engine_sendrec_ack(e, (size_t)w);
    }
    return 0;
}

#define HL__TLS_FAIL (-1001) /* the engine failed: hl__tls_error says why */

/* Drive the handshake: 1 done, 0 waiting for the socket, 0 ... or HL__TLS_FAIL / -1 (errno) /
   -2 (TCP closed). */
static int hl__tls_handshake(hl__tls *t, hl_socket fd, int *err)
{
    br_ssl_engine_context *e = &t->cc.eng;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(e);
        long r;
        if (st & BR_SSL_CLOSED) return HL__TLS_FAIL;
        if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) return 1;
        if (st & BR_SSL_SENDREC) {
            r = hl__tls_push(t, fd, err);
            if (r == -1) return -1;
            if (r == 0) continue;
        }
        if (!(st & BR_SSL_RECVREC)) return 0;
        {
            size_t n;
            unsigned char *p = br_ssl_engine_recvrec_buf(e, &n);
            r = hl__net_recv(t->tp, fd, p, n, err);
            if (r == HL__AGAIN) return 0;
            if (r < 0) return -1;
            if (r == 0) return -2;
            br_ssl_engine_recvrec_ack(e, (size_t)r);
        }
    }
}

/* Plaintext in: bytes copied, 0 at the end of the stream, HL__AGAIN, -1 (errno) or
   HL__TLS_FAIL. */
static long hl__tls_recv(hl__tls *t, hl_socket fd, unsigned char *dst, size_t cap, int *err)
{
    br_ssl_engine_context *e = &t->cc.eng;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(e);
        long r;
        if (st & BR_SSL_CLOSED) return br_ssl_engine_last_error(e) == BR_ERR_OK ? 0 : HL__TLS_FAIL;
        if (st & BR_SSL_RECVAPP) {
            size_t n;
            unsigned char *p = br_ssl_engine_recvapp_buf(e, &n);
            n = HL__MIN(n, cap);
            HL_MEMCPY(dst, p, n);
            br_ssl_engine_recvapp_ack(e, n);
            return (long)n;
        }
        if (st & BR_SSL_SENDREC) {
            r = hl__tls_push(t, fd, err);
            if (r == -1) return -1;
        }
        if (!(st & BR_SSL_RECVREC)) return HL__AGAIN;
        {
            size_t n;
            unsigned char *p = br_ssl_engine_recvrec_buf(e, &n);
            r = hl__net_recv(t->tp, fd, p, n, err);
            if (r <= 0) return r;
            br_ssl_engine_recvrec_ack(e, (size_t)r);
        }
    }
}

/* Plaintext out: bytes taken (they may wait in the engine until the socket drains), HL__AGAIN,
   -1 (errno) or HL__TLS_FAIL. */
static long hl__tls_send(hl__tls *t, hl_socket fd, const unsigned char *src, size_t n, int *err)
{
    br_ssl_engine_context *e = &t->cc.eng;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(e);
        if (st & BR_SSL_CLOSED) return HL__TLS_FAIL;
        if (st & BR_SSL_SENDAPP) {
            size_t room;
            unsigned char *p = br_ssl_engine_sendapp_buf(e, &room);
            room = HL__MIN(room, n);
            HL_MEMCPY(p, src, room);
            br_ssl_engine_sendapp_ack(e, room);
            br_ssl_engine_flush(e, 0);
            if (hl__tls_push(t, fd, err) == -1) return -1;
            return (long)room;
        }
        if (st & BR_SSL_SENDREC) {
            long r = hl__tls_push(t, fd, err);
            if (r < 0) return r;
            continue;
        }
        return HL__AGAIN;
    }
}

static int hl__tls_wants_write(const hl__tls *t)
{
    return (br_ssl_engine_current_state(&t->cc.eng) & BR_SSL_SENDREC) != 0;
}

/* Send close_notify if the socket takes it now; the WebSocket close already ended the talk. */
static void hl__tls_close(hl__tls *t, hl_socket fd)
{
    int err = 0;
    if (br_ssl_engine_current_state(&t->cc.eng) & BR_SSL_CLOSED) return;
    br_ssl_engine_close(&t->cc.eng);
    hl__tls_push(t, fd, &err);
}

/* The reason the engine failed, as a result code and a sentence. */
static int hl__tls_error(const hl__tls *t, const char *host, char *detail, size_t cap)
{
    int e = br_ssl_engine_last_error(&t->cc.eng);
    if (t->x509.pin_failed || e == HL__TLS_PIN_FAIL) {
        hl__fmt(detail, cap, "server key matches none of the pinned SHA-256 keys");
        return HL_E_TLS_CERT;
    }
    switch (e) {
    case BR_ERR_X509_EXPIRED:
        hl__fmt(detail, cap, "certificate expired or not yet valid (BearSSL %d; check the clock)", e);
        return HL_E_TLS_CERT;
    case BR_ERR_X509_BAD_SERVER_NAME:
        hl__fmt(detail, cap, "certificate is not for host '%s' (BearSSL %d)", host, e);
        return HL_E_TLS_CERT;
    case BR_ERR_X509_NOT_TRUSTED:
        hl__fmt(detail, cap, "certificate chain does not end at a trusted CA: unknown CA, self-signed, "
                             "or a missing intermediate (BearSSL %d)", e);
        return HL_E_TLS_CERT;
    case BR_ERR_X509_EMPTY_CHAIN:
        hl__fmt(detail, cap, "server sent no certificate (BearSSL %d)", e);
        return HL_E_TLS_CERT;
    case BR_ERR_UNSUPPORTED_VERSION:
    case BR_ERR_BAD_VERSION:
        hl__fmt(detail, cap, "server answered with something that is not TLS 1.2: an old TLS version, "
                             "or not TLS at all (a plain ws:// or http:// port?) (BearSSL %d)", e);
        return HL_E_TLS;
    case BR_ERR_RECV_FATAL_ALERT + 70: /* protocol_version */
        hl__fmt(detail, cap, "server does not speak TLS 1.2: it requires TLS 1.3 (or an older version), "
                             "and BearSSL supports TLS 1.2 only (BearSSL %d)", e);
        return HL_E_TLS;
    case BR_ERR_RECV_FATAL_ALERT + 40: /* handshake_failure */
        hl__fmt(detail, cap, "server refused the handshake: no common ECDHE+AEAD cipher suite or it "
                             "requires an extension BearSSL lacks (alert 40)");
        return HL_E_TLS;
    default:
        break;
    }
    if (e >= 32 && e < 64) {
        hl__fmt(detail, cap, "certificate rejected (BearSSL X.509 error %d)", e);
        return HL_E_TLS_CERT;
    }
    if (e >= BR_ERR_SEND_FATAL_ALERT) hl__fmt(detail, cap, "TLS failed; we sent fatal alert %d", e - BR_ERR_SEND_FATAL_ALERT);
    else if (e >= BR_ERR_RECV_FATAL_ALERT) hl__fmt(detail, cap, "server sent fatal TLS alert %d", e - BR_ERR_RECV_FATAL_ALERT);
    else hl__fmt(detail, cap, "TLS failed (BearSSL error %d)", e);
    return HL_E_TLS;
}

#endif /* HL_ENABLE_TLS */

/* A pin as text: 64 hex digits or 44 characters of base64 (as HPKP's pin-sha256 writes it). */
HL_API int hl_tls_pin_parse(const char *text, unsigned char out[32])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n, i;
    if (!text || !out) return HL_E_INVALID;
    n = strlen(text);
    if (n == 64) {
        for (i = 0; i < 32; i++) {
            int v = 0, k;
            for (k = 0; k < 2; k++) {
                int c = hl__lower((unsigned char)text[2 * i + k]);
                if (c >= '0' && c <= '9') v = v * 16 + (c - '0');
                else if (c >= 'a' && c <= 'f') v = v * 16 + (c - 'a' + 10);
                else return HL_E_INVALID;
            }
            out[i] = (unsigned char)v;
        }
        return HL_OK;
    }
    if (n == 44 && text[43] == '=' && text[42] != '=') {
        uint32_t acc = 0;
        size_t o = 0;
        int bits = 0;
        for (i = 0; i < 43; i++) {
            const char *p = strchr(b64, text[i]);
            if (!p || !text[i]) return HL_E_INVALID;
            acc = acc << 6 | (uint32_t)(p - b64);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                if (o < 32) out[o++] = (unsigned char)(acc >> bits);
                acc &= (1u << bits) - 1;
            }
        }
        return o == 32 ? HL_OK : HL_E_INVALID;
    }
    return HL_E_INVALID;
}
/* ==== end tls.c ==== */
/* ==== begin http_syntax.c ==== */
/* HTTP text basics shared by the WebSocket handshake and the HTTP client: tokens, comma lists,
   header checks and bounded string building. */

static int hl__is_tchar(int c)
{
    return hl__is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Trim spaces and tabs on both sides of p[0..*n). */
static const char *hl__trim(const char *p, size_t *n)
{
    while (*n && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        (*n)--;
    }
    while (*n && (p[*n - 1] == ' ' || p[*n - 1] == '\t')) (*n)--;
    return p;
}

/* Does a comma-separated header value contain token (case-insensitive)? */
static int hl__list_has(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token), i = 0;
    while (i < n) {
        size_t s = i, len;
        const char *t;
        while (i < n && v[i] != ',') i++;
        len = i - s;
        t = hl__trim(v + s, &len);
        if (len == tl && hl__ieq(t, token, tl)) return 1;
        i++;
    }
    return 0;
}

/* Check one caller-given header: a token name, no control characters in the value, and not
   one of the names the library writes itself. HL_OK or HL_E_INVALID with the reason. */
static int hl__header_check(const hl_header *h, const char *const *reserved, size_t nreserved, char *detail,
                            size_t cap)
{
    const char *p;
    size_t i, n;
    if (!h->name || !h->value || !h->name[0]) {
        hl__fmt(detail, cap, "extra header with a NULL or empty name or value");
        return HL_E_INVALID;
    }
    for (p = h->name; *p; p++)
        if (!hl__is_tchar((unsigned char)*p)) {
            hl__fmt(detail, cap, "extra header name '%.40s' has a bad character", h->name);
            return HL_E_INVALID;
        }
    for (p = h->value; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t') {
            hl__fmt(detail, cap, "extra header '%.40s' has a control character in its value", h->name);
            return HL_E_INVALID;
        }
    n = strlen(h->name);
    for (i = 0; i < nreserved; i++)
        if (strlen(reserved[i]) == n && hl__ieq(h->name, reserved[i], n)) {
            hl__fmt(detail, cap, "extra header '%.40s' is written by the library", h->name);
            return HL_E_INVALID;
        }
    return HL_OK;
}

typedef struct hl__strbuf {
    char *p;
    size_t cap, len;
    int overflow;
} hl__strbuf;

static void hl__sb_put(hl__strbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->overflow = 1;
        return;
    }
    HL_MEMCPY(b->p + b->len, s, n);
    b->len += n;
}

static void hl__sb_str(hl__strbuf *b, const char *s)
{
    hl__sb_put(b, s, strlen(s));
}

/* "METHOD target HTTP/1.1\r\nHost: host[:port]\r\n": the port only when not the scheme's. */
static void hl__sb_request_line(hl__strbuf *b, const char *method, const hl_url *u)
{
    char port[8];
    int tls = u->scheme == HL_SCHEME_WSS || u->scheme == HL_SCHEME_HTTPS;
    hl__sb_str(b, method);
    hl__sb_str(b, " ");
    hl__sb_str(b, u->target);
    hl__sb_str(b, " HTTP/1.1\r\nHost: ");
    if (u->is_ipv6) hl__sb_str(b, "[");
    hl__sb_str(b, u->host);
    if (u->is_ipv6) hl__sb_str(b, "]");
    if (u->port != (tls ? 443 : 80)) {
        hl__fmt(port, sizeof port, ":%u", (unsigned)u->port);
        hl__sb_str(b, port);
    }
    hl__sb_str(b, "\r\n");
}
/* ==== end http_syntax.c ==== */
/* ==== begin http_parse.c ==== */
/* HTTP/1.1 response parsing, incremental over one buffer: the head is parsed once it is whole
   (headers become NUL-terminated views into it), then the body is taken by Content-Length,
   chunks (their framing squeezed out in place, so the body ends up contiguous), or the end of
   the stream. Strict about framing, because a response read wrongly poisons the connection it
   came on: two Content-Lengths, Content-Length with chunked, bad chunk sizes, obsolete line
   folding, oversized heads and bodies are refused with a reason. */

enum {
    HL__HP_HEAD = 0,
    HL__HP_BODY_CL,
    HL__HP_CHUNK_SIZE,
    HL__HP_CHUNK_DATA,
    HL__HP_CHUNK_END,  /* the CRLF after a chunk's data */
    HL__HP_TRAILERS,
    HL__HP_BODY_EOF,
    HL__HP_DONE
};

typedef struct hl__http_parser {
    int state;
    int head_request;    /* the request was HEAD: no body whatever the headers say */
    int status;
    int minor;           /* HTTP/1.x */
    long long content_length; /* -1 when absent */
    int chunked;
    int close;           /* the server will close (Connection: close, HTTP/1.0, EOF body) */
    uint64_t left;       /* body or chunk bytes still to come */
    size_t rd;           /* next unparsed byte */
    size_t body_start, wr; /* the body so far is [body_start, wr) */
    size_t max_head, max_body;
    hl_header *hdrs;
    int nhdrs, max_hdrs;
    const char *retry_after;
    char detail[128];
} hl__http_parser;

static void hl__http_parser_init(hl__http_parser *p, hl_header *hdrs, int max_hdrs, size_t max_head,
                                 size_t max_body, int head_request)
{
    HL_MEMSET(p, 0, sizeof *p);
    p->hdrs = hdrs;
    p->max_hdrs = max_hdrs;
    p->max_head = max_head;
    p->max_body = max_body;
    p->head_request = head_request;
    p->content_length = -1;
}

static int hl__http_fail(hl__http_parser *p, int rc, const char *why)
{
    hl__fmt(p->detail, sizeof p->detail, "%s", why);
    return rc;
}

#define HL__NO_LINE ((size_t)-1)

/* The end of the line starting at i in buf[0..n): index of its '\n', or HL__NO_LINE. */
static size_t hl__line_end(const char *buf, size_t i, size_t n)
{
    const char *nl = (const char *)memchr(buf + i, '\n', n - i);
    return nl ? (size_t)(nl - buf) : HL__NO_LINE;
}

/* Parse one header line [s, e) (without its line break) in place: NUL-terminate name and value.
   Returns HL_OK or an error. */
static int hl__http_header_line(hl__http_parser *p, char *s, char *e)
{
    char *colon = s, *v;
    if (*s == ' ' || *s == '\t') return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "obsolete header line folding");
    while (colon < e && *colon != ':') {
        if (!hl__is_tchar((unsigned char)*colon))
            return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "bad character in a header name (or space before colon)");
        colon++;
    }
    if (colon == e || colon == s) return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "header line without a name and colon");
    for (v = colon + 1; v < e; v++)
        if ((unsigned char)*v < 0x20 && *v != '\t')
            return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "control character in a header value");
    *colon = '\0';
    v = colon + 1;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *e = '\0';
    if (p->state == HL__HP_TRAILERS) return HL_OK; /* trailers are read and dropped */
    if (p->nhdrs >= p->max_hdrs) return hl__http_fail(p, HL_E_HEADER_TOO_BIG, "more headers than http_max_headers");
    p->hdrs[p->nhdrs].name = s;
    p->hdrs[p->nhdrs].value = v;
    p->nhdrs++;
    if (hl__ieq(s, "content-length", 15)) {
        long long cl = 0;
        const char *q = v;
        if (!*q) return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "empty Content-Length");
        for (; *q; q++) {
            if (*q < '0' || *q > '9' || cl > 1000000000000LL)
                return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "bad Content-Length");
            cl = cl * 10 + (*q - '0');
        }
        if (p->content_length >= 0 && p->content_length != cl)
            return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "two different Content-Lengths");
        p->content_length = cl;
    } else if (hl__ieq(s, "transfer-encoding", 18)) {
        size_t vl = strlen(v);
        if (!(vl == 7 && hl__ieq(v, "chunked", 7)) || p->chunked)
            return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "unsupported Transfer-Encoding (only chunked)");
        p->chunked = 1;
    } else if (hl__ieq(s, "connection", 11)) {
        if (hl__list_has(v, strlen(v), "close")) p->close = 1;
        else if (p->minor == 0 && hl__list_has(v, strlen(v), "keep-alive")) p->close = 0;
    } else if (hl__ieq(s, "retry-after", 12)) {
        p->retry_after = v;
    }
    return HL_OK;
}

/* The head from buf[p->rd]: status line and headers. 1 done, 0 more needed, <0 error. */
static int hl__http_head(hl__http_parser *p, char *buf, size_t n)
{
    size_t i = p->rd, e, start = p->rd;
    char *line;
    int rc;
    /* the whole head first (so it is parsed, and modified, exactly once) */
    for (;;) {
        e = hl__line_end(buf, i, n);
        if (e == HL__NO_LINE) {
            if (n - start >= p->max_head) return hl__http_fail(p, HL_E_HEADER_TOO_BIG, "response head over max_header_size");
            return 0;
        }
        if (e - start >= p->max_head) return hl__http_fail(p, HL_E_HEADER_TOO_BIG, "response head over max_header_size");
        if (e == i || (e == i + 1 && buf[i] == '\r')) break; /* the empty line */
        i = e + 1;
    }
    line = buf + start;
    if (n - start < 12 || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
        line[9] < '1' || line[9] > '9' || line[10] < '0' || line[10] > '9' || line[11] < '0' || line[11] > '9' ||
        (line[12] != ' ' && line[12] != '\r' && line[12] != '\n'))
        return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "bad HTTP status line");
    p->minor = line[7] - '0';
    p->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    p->close = p->minor == 0;
    p->nhdrs = 0;
    p->content_length = -1;
    p->chunked = 0;
    p->retry_after = NULL;
    i = hl__line_end(buf, start, n) + 1;
    for (;;) {
        size_t le = hl__line_end(buf, i, n), ve = le;
        if (ve > i && buf[ve - 1] == '\r') ve--;
        if (ve == i) {
            i = le + 1;
            break;
        }
        rc = hl__http_header_line(p, buf + i, buf + ve);
        if (rc != HL_OK) return rc;
        i = le + 1;
    }
    p->rd = i;
    return 1;
}

/* Feed: the buffer holds *fillp bytes (the parser keeps its place in it; dropping an interim
   1xx response moves what follows to the front and lowers *fillp); eof says the stream ended.
   Returns 1 when the response is complete ([body_start, wr) is its body), 0 when more bytes
   are needed, or an error (detail says why). */
static int hl__http_parse(hl__http_parser *p, char *buf, size_t *fillp, int eof)
{
    size_t fill = *fillp;
    for (;;) {
        switch (p->state) {
        case HL__HP_HEAD: {
            int r = hl__http_head(p, buf, fill);
            if (r <= 0) {
                if (r == 0 && eof) return hl__http_fail(p, HL_E_EOF, "connection closed before a whole response head");
                return r;
            }
            if (p->status >= 100 && p->status < 200) {
                /* an interim response: drop it, the real one follows */
                HL_MEMMOVE(buf, buf + p->rd, fill - p->rd);
                fill -= p->rd;
                *fillp = fill;
                p->rd = 0;
                continue;
            }
            p->body_start = p->wr = p->rd;
            if (p->chunked && p->content_length >= 0)
                return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "both Content-Length and chunked");
            if (p->head_request || p->status == 204 || p->status == 304) {
                p->state = HL__HP_DONE;
            } else if (p->chunked) {
                p->state = HL__HP_CHUNK_SIZE;
            } else if (p->content_length >= 0) {
                if ((uint64_t)p->content_length > p->max_body)
                    return hl__http_fail(p, HL_E_MSG_TOO_BIG, "response body over max_message_size");
                p->left = (uint64_t)p->content_length;
                p->state = HL__HP_BODY_CL;
            } else {
                p->close = 1;
                p->state = HL__HP_BODY_EOF;
            }
            continue;
        }
        case HL__HP_BODY_CL: {
            size_t k = (size_t)HL__MIN((uint64_t)(fill - p->rd), p->left);
            p->rd += k;
            p->wr = p->rd; /* no framing: the body is where it landed */
            p->left -= k;
            if (p->left == 0) {
                p->state = HL__HP_DONE;
                continue;
            }
            if (eof) return hl__http_fail(p, HL_E_EOF, "connection closed in the middle of the body");
            return 0;
        }
        case HL__HP_BODY_EOF:
            if (fill - p->body_start > p->max_body)
                return hl__http_fail(p, HL_E_MSG_TOO_BIG, "response body over max_message_size");
            p->rd = p->wr = fill;
            if (!eof) return 0;
            p->state = HL__HP_DONE;
            continue;
        case HL__HP_CHUNK_SIZE: {
            size_t e = hl__line_end(buf, p->rd, fill), i;
            uint64_t size = 0;
            int digits = 0;
            /* the same limit whether the line came whole or in pieces */
            if ((e == HL__NO_LINE ? fill : e) - p->rd > 1024)
                return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "chunk size line too long");
            if (e == HL__NO_LINE) {
                if (eof) return hl__http_fail(p, HL_E_EOF, "connection closed in the middle of the body");
                return 0;
            }
            for (i = p->rd; i < e && hl__is_hex((unsigned char)buf[i]); i++, digits++) {
                int c = hl__lower((unsigned char)buf[i]);
                size = size * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
                if (size > p->max_body) return hl__http_fail(p, HL_E_MSG_TOO_BIG, "chunk larger than max_message_size");
            }
            if (!digits || (i < e && buf[i] != ';' && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r'))
                return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "bad chunk size");
            if ((uint64_t)(p->wr - p->body_start) + size > p->max_body)
                return hl__http_fail(p, HL_E_MSG_TOO_BIG, "response body over max_message_size");
            p->rd = e + 1; /* chunk extensions are ignored */
            p->left = size;
            p->state = size ? HL__HP_CHUNK_DATA : HL__HP_TRAILERS;
            continue;
        }
        case HL__HP_CHUNK_DATA: {
            size_t k = (size_t)HL__MIN((uint64_t)(fill - p->rd), p->left);
            if (k) {
                HL_MEMMOVE(buf + p->wr, buf + p->rd, k); /* squeeze the framing out */
                p->wr += k;
                p->rd += k;
                p->left -= k;
            }
            if (p->left) {
                if (eof) return hl__http_fail(p, HL_E_EOF, "connection closed in the middle of the body");
                return 0;
            }
            p->state = HL__HP_CHUNK_END;
            continue;
        }
        case HL__HP_CHUNK_END:
            if (fill - p->rd < 1 || (buf[p->rd] == '\r' && fill - p->rd < 2)) {
                if (eof) return hl__http_fail(p, HL_E_EOF, "connection closed in the middle of the body");
                return 0;
            }
            if (buf[p->rd] == '\r') p->rd++;
            if (buf[p->rd] != '\n') return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "chunk data not followed by CRLF");
            p->rd++;
            p->state = HL__HP_CHUNK_SIZE;
            continue;
        case HL__HP_TRAILERS: {
            size_t e = hl__line_end(buf, p->rd, fill), ve;
            int rc;
            if ((e == HL__NO_LINE ? fill : e) - p->rd > p->max_head)
                return hl__http_fail(p, HL_E_HEADER_TOO_BIG, "trailers over max_header_size");
            if (e == HL__NO_LINE) {
                if (eof) return hl__http_fail(p, HL_E_EOF, "connection closed in the trailers");
                return 0;
            }
            ve = e;
            if (ve > p->rd && buf[ve - 1] == '\r') ve--;
            if (ve == p->rd) {
                p->rd = e + 1;
                p->state = HL__HP_DONE;
                continue;
            }
            rc = hl__http_header_line(p, buf + p->rd, buf + ve);
            if (rc != HL_OK) return rc;
            p->rd = e + 1;
            continue;
        }
        default: /* HL__HP_DONE */
            return 1;
        }
    }
}

/* Close the gap chunk framing left between the body and the unparsed bytes, so framing never
   takes room a body needs. */
static void hl__http_compact(hl__http_parser *p, char *buf, size_t *fill)
{
    size_t gap;
    if (p->state == HL__HP_HEAD || p->rd <= p->wr) return;
    gap = p->rd - p->wr;
    HL_MEMMOVE(buf + p->wr, buf + p->rd, *fill - p->rd);
    *fill -= gap;
    p->rd = p->wr;
}
/* ==== end http_parse.c ==== */
/* ==== begin ws_frame.c ==== */
/* RFC 6455 section 5 frame codec: header encode/decode and masking. Stateless; the receive
   machine keeps header bytes in its buffer until a whole header is there. */
enum {
    HL__OP_CONT = 0x0,
    HL__OP_TEXT = 0x1,
    HL__OP_BINARY = 0x2,
    HL__OP_CLOSE = 0x8,
    HL__OP_PING = 0x9,
    HL__OP_PONG = 0xA
};

#define HL__FRAME_MAX_HEADER 14 /* 2 + 8 length + 4 mask */

typedef struct hl__frame {
    int fin;
    int rsv;    /* the three RSV bits, as bits 2..0 */
    int opcode;
    int masked;
    uint64_t len;
    unsigned char mask[4];
} hl__frame;

/* Decode a header from p[0..n): the header length, 0 when more bytes are needed, or
   HL_E_PROTOCOL for a 64-bit length with the top bit set. */
static int hl__frame_parse(const unsigned char *p, size_t n, hl__frame *f)
{
    size_t need = 2;
    unsigned len7;
    if (n < 2) return 0;
    f->fin = p[0] >> 7;
    f->rsv = (p[0] >> 4) & 7;
    f->opcode = p[0] & 0x0F;
    f->masked = p[1] >> 7;
    len7 = p[1] & 0x7F;
    need += len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    need += f->masked ? 4 : 0;
    if (n < need) return 0;
    if (len7 == 126) {
        f->len = (uint64_t)p[2] << 8 | p[3];
    } else if (len7 == 127) {
        int i;
        if (p[2] & 0x80) return HL_E_PROTOCOL;
        f->len = 0;
        for (i = 0; i < 8; i++) f->len = f->len << 8 | p[2 + i];
    } else {
        f->len = len7;
    }
    if (f->masked) HL_MEMCPY(f->mask, p + need - 4, 4);
    return (int)need;
}

/* Encode a header into out (HL__FRAME_MAX_HEADER bytes); mask NULL means unmasked. */
static size_t hl__frame_write(unsigned char *out, int fin, int opcode, uint64_t len,
                              const unsigned char *mask)
{
    size_t n = 2;
    out[0] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0F));
    out[1] = mask ? 0x80 : 0;
    if (len < 126) {
        out[1] |= (unsigned char)len;
    } else if (len <= 0xFFFF) {
        out[1] |= 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        n = 4;
    } else {
        int i;
        out[1] |= 127;
        for (i = 0; i < 8; i++) out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        HL_MEMCPY(out + n, mask, 4);
        n += 4;
    }
    return n;
}

/* dst[i] = src[i] ^ key[(i + offset) % 4]; dst may equal src. Works a word at a time. */
static void hl__mask(unsigned char *dst, const unsigned char *src, size_t n,
                     const unsigned char key[4], size_t offset)
{
    size_t i = 0;
    unsigned char k[8];
    uint64_t kw;
    for (i = 0; i < 8; i++) k[i] = key[(i + offset) & 3];
    HL_MEMCPY(&kw, k, 8);
    for (i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        HL_MEMCPY(&w, src + i, 8);
        w ^= kw;
        HL_MEMCPY(dst + i, &w, 8);
    }
    for (; i < n; i++) dst[i] = src[i] ^ k[i & 7];
}
/* ==== end ws_frame.c ==== */
/* ==== begin ws_handshake.c ==== */
/* The opening handshake (RFC 6455 section 4): the client's request and the checks of the
   server's response. Pure functions over buffers. */

static const char hl__ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)); out gets 28 chars and a NUL. */
static void hl__ws_accept_compute(const char *key, char out[29])
{
    hl__sha1 s;
    unsigned char digest[20];
    hl__sha1_init(&s);
    hl__sha1_update(&s, key, strlen(key));
    hl__sha1_update(&s, hl__ws_guid, sizeof hl__ws_guid - 1);
    hl__sha1_final(&s, digest);
    hl__base64_encode(digest, 20, out);
}

/* Headers the library writes itself; a provider may not set them. */
static const char *const hl__ws_reserved[] = {"host", "upgrade", "connection", "sec-websocket-key",
                                              "sec-websocket-version", "sec-websocket-protocol",
                                              "sec-websocket-extensions", "content-length"};

/* Check one extra header of the upgrade request. */
static int hl__ws_header_check(const hl_header *h, char *detail, size_t cap)
{
    return hl__header_check(h, hl__ws_reserved, sizeof hl__ws_reserved / sizeof hl__ws_reserved[0], detail, cap);
}

/* Write the upgrade request into out; returns its length or HL_E_HEADER_TOO_BIG. */
static int hl__ws_request_write(char *out, size_t cap, const hl_url *u, const char *key,
                                const char *subprotocols, const hl_header *hdrs, int nhdrs)
{
    hl__strbuf b;
    int i;
    b.p = out;
    b.cap = cap;
    b.len = 0;
    b.overflow = 0;
    hl__sb_request_line(&b, "GET", u);
    hl__sb_str(&b, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    hl__sb_str(&b, key);
    hl__sb_str(&b, "\r\nSec-WebSocket-Version: 13\r\n");
    if (subprotocols && subprotocols[0]) {
        hl__sb_str(&b, "Sec-WebSocket-Protocol: ");
        hl__sb_str(&b, subprotocols);
        hl__sb_str(&b, "\r\n");
    }
    for (i = 0; i < nhdrs; i++) {
        hl__sb_str(&b, hdrs[i].name);
        hl__sb_str(&b, ": ");
        hl__sb_str(&b, hdrs[i].value);
        hl__sb_str(&b, "\r\n");
    }
    hl__sb_str(&b, "\r\n");
    if (b.overflow || b.len > 0x7FFFFFFF) return HL_E_HEADER_TOO_BIG;
    return (int)b.len;
}

/* What the response says, as views into the receive buffer. */
typedef struct hl__ws_response {
    int status;
    long long content_length; /* -1 when absent */
    int upgrade_ok;           /* Upgrade: websocket */
    int connection_ok;        /* Connection lists upgrade */
    const char *accept;
    size_t accept_len;
    int accept_count;
    const char *protocol;
    size_t protocol_len;
    int has_extensions;
    const char *retry_after;  /* Retry-After of a refusal (429, 503) */
    size_t retry_after_len;
} hl__ws_response;

/* Parse the status line and headers in buf[0..n). Returns the header length (body starts
   there), 0 when the blank line has not arrived, HL_E_HEADER_TOO_BIG past max, or
   HL_E_HTTP_PROTOCOL with a reason in detail. */
static int hl__ws_response_parse(const char *buf, size_t n, size_t max, hl__ws_response *r,
                                 char *detail, size_t cap)
{
    size_t end = 0, i, line;
    for (i = 0; i + 1 < n && i < max; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n') { end = i + 2; break; }
        if (i + 3 < n && buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            end = i + 4;
            break;
        }
    }
    if (end > max) end = 0; /* the head must fit max whole, terminator included */
    if (!end) {
        if (n >= max) {
            hl__fmt(detail, cap, "response headers exceed max_header_size (%u)", (unsigned)max);
            return HL_E_HEADER_TOO_BIG;
        }
        return 0;
    }
    HL_MEMSET(r, 0, sizeof *r);
    r->content_length = -1;
    /* status line: HTTP/1.x SP 3DIGIT */
    if (end < 13 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[7] < '0' || buf[7] > '9' || buf[8] != ' ' ||
        buf[9] < '1' || buf[9] > '9' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
        (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')) {
        hl__fmt(detail, cap, "bad HTTP status line");
        return HL_E_HTTP_PROTOCOL;
    }
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    line = 0;
    while (line < end && buf[line] != '\n') line++;
    line++;
    while (line < end) {
        size_t le = line, colon, nl, vl;
        const char *v;
        while (buf[le] != '\n') le++;
        nl = le - line;
        if (nl > 0 && buf[le - 1] == '\r') nl--;
        if (nl == 0) break;
        if (buf[line] == ' ' || buf[line] == '\t') {
            hl__fmt(detail, cap, "obsolete header line folding");
            return HL_E_HTTP_PROTOCOL;
        }
        for (colon = line; colon < line + nl && buf[colon] != ':'; colon++)
            if (!hl__is_tchar((unsigned char)buf[colon])) {
                hl__fmt(detail, cap, "bad character in a header name");
                return HL_E_HTTP_PROTOCOL;
            }
        if (colon == line + nl || colon == line) {
            hl__fmt(detail, cap, "header line without a name and colon");
            return HL_E_HTTP_PROTOCOL;
        }
        vl = line + nl - colon - 1;
        v = hl__trim(buf + colon + 1, &vl);
#define HL__HDR_IS(s) (colon - line == sizeof(s) - 1 && hl__ieq(buf + line, s, sizeof(s) - 1))
        if (HL__HDR_IS("upgrade")) {
            r->upgrade_ok = hl__list_has(v, vl, "websocket");
        } else if (HL__HDR_IS("connection")) {
            r->connection_ok |= hl__list_has(v, vl, "upgrade");
        } else if (HL__HDR_IS("sec-websocket-accept")) {
            r->accept = v;
            r->accept_len = vl;
            r->accept_count++;
        } else if (HL__HDR_IS("sec-websocket-protocol")) {
            r->protocol = v;
            r->protocol_len = vl;
        } else if (HL__HDR_IS("sec-websocket-extensions")) {
            r->has_extensions = 1;
        } else if (HL__HDR_IS("retry-after")) {
            r->retry_after = v;
            r->retry_after_len = vl;
        } else if (HL__HDR_IS("content-length")) {
            long long cl = 0;
            size_t k;
            if (vl == 0 || vl > 15 || r->content_length >= 0) {
                hl__fmt(detail, cap, "bad or repeated Content-Length");
                return HL_E_HTTP_PROTOCOL;
            }
            for (k = 0; k < vl; k++) {
                if (v[k] < '0' || v[k] > '9') {
                    hl__fmt(detail, cap, "bad Content-Length");
                    return HL_E_HTTP_PROTOCOL;
                }
                cl = cl * 10 + (v[k] - '0');
            }
            r->content_length = cl;
        }
#undef HL__HDR_IS
        line = le + 1;
    }
    return (int)end;
}

/* Is a subprotocol the server chose one of those offered? */
static int hl__ws_protocol_offered(const char *offered, const char *p, size_t n)
{
    char tok[128];
    if (!offered || n == 0 || n >= sizeof tok) return 0;
    HL_MEMCPY(tok, p, n);
    tok[n] = '\0';
    return hl__list_has(offered, strlen(offered), tok);
}

/* Check a 101 response against our key and offer (RFC 6455 4.1, the client's checks). */
static int hl__ws_response_check(const hl__ws_response *r, const char *key, const char *offered,
                                 char *detail, size_t cap)
{
    char expect[29];
    if (!r->upgrade_ok) {
        hl__fmt(detail, cap, "101 response without 'Upgrade: websocket'");
        return HL_E_HANDSHAKE;
    }
    if (!r->connection_ok) {
        hl__fmt(detail, cap, "101 response without 'Connection: Upgrade'");
        return HL_E_HANDSHAKE;
    }
    hl__ws_accept_compute(key, expect);
    if (r->accept_count != 1 || r->accept_len != 28 || memcmp(r->accept, expect, 28) != 0) {
        hl__fmt(detail, cap, "Sec-WebSocket-Accept missing or wrong");
        return HL_E_HANDSHAKE;
    }
    if (r->has_extensions) {
        hl__fmt(detail, cap, "server selected an extension that was not offered");
        return HL_E_HANDSHAKE;
    }
    if (r->protocol_len && !hl__ws_protocol_offered(offered, r->protocol, r->protocol_len)) {
        hl__fmt(detail, cap, "server selected a subprotocol that was not offered");
        return HL_E_HANDSHAKE;
    }
    return HL_OK;
}
/* ==== end ws_handshake.c ==== */
/* ==== begin ws_proto.c ==== */
/* The RFC 6455 client machine after the handshake. Sans-I/O: the driver puts received bytes
   into the receive buffer (rx_buf/rx_ack) and takes bytes to send from the send queue
   (tx_buf/tx_ack); this file never sees a socket or a clock.

   Receive buffer layout: [msg_start, wr) is the message assembled so far (unmasked payload of
   its fragments, headers squeezed out), [rd, fill) the bytes not parsed yet. An unfragmented
   message is delivered where it landed, so the common case copies nothing; a fragment's payload
   is moved down over the headers between it and the previous fragment. */

#define HL__CTRL_FRAME_MAX (6 + 125)        /* masked control frame */
#define HL__TX_CTRL_RESERVE (2 * HL__CTRL_FRAME_MAX) /* kept for pong and close */

typedef struct hl__wsp_sink {
    /* returns 0 when taken, 1 to hold the message: it is offered again on the next recv */
    int (*message)(void *user, int is_text, const unsigned char *p, size_t n);
    void (*pong)(void *user, const unsigned char *p, size_t n);
    void *user;
} hl__wsp_sink;

typedef struct hl__wsp {
    unsigned char *rx;
    size_t rx_cap, compact_below, max_msg;
    size_t msg_start, wr, rd, fill;
    int msg_op;          /* opcode of the message being assembled, 0 when none */
    uint32_t utf8;       /* UTF-8 state of that message */
    int in_payload;      /* a data frame's header was read and its payload is arriving */
    int held;            /* a whole message waits: the sink asked to hold it (backpressure) */
    int frame_fin;
    uint64_t frame_left; /* payload bytes of that frame still to come */

    unsigned char *tx;
    size_t tx_cap, tx_head, tx_tail;
    int send_op;         /* type of an outgoing fragmented message, 0 when none */
    uint32_t send_utf8;
    unsigned char pong[125];
    int pong_pending;    /* -1 none, else the payload length of the latest unanswered ping */
    unsigned char close_frame[4 + 123];
    int close_pending;   /* -1 none, else the close payload length waiting for queue room */

    int close_sent, close_recv;
    int failed;          /* a protocol error: no more input is processed */
    int recv_code;       /* close code received (1005 when the frame had none) */
    char recv_reason[124];
    int sent_code;
    int result;          /* HL_E_PROTOCOL, HL_E_BAD_UTF8, HL_E_MSG_TOO_BIG once failed */
    char detail[160];
    hl__rng *rng;
    hl_ws_stats stats;
} hl__wsp;

static void hl__wsp_reset(hl__wsp *p)
{
    p->msg_start = p->wr = p->rd = p->fill = 0;
    p->msg_op = 0;
    p->utf8 = 0;
    p->in_payload = 0;
    p->held = 0;
    p->frame_left = 0;
    p->tx_head = p->tx_tail = 0;
    p->send_op = 0;
    p->send_utf8 = 0;
    p->pong_pending = -1;
    p->close_pending = -1;
    p->close_sent = p->close_recv = p->failed = 0;
    p->recv_code = p->sent_code = 0;
    p->recv_reason[0] = '\0';
    p->result = HL_OK;
    p->detail[0] = '\0';
}

/* ---- send queue ---- */

static size_t hl__wsp_tx_used(const hl__wsp *p)
{
    return p->tx_tail - p->tx_head;
}

/* n contiguous free bytes at the tail, compacting if that makes room; NULL when full.
   keep bytes of room stay free afterwards (the control-frame reserve). */
static unsigned char *hl__wsp_tx_room(hl__wsp *p, size_t n, size_t keep)
{
    size_t used = hl__wsp_tx_used(p);
    if (n > p->tx_cap || p->tx_cap - used < n || p->tx_cap - used - n < keep) return NULL;
    if (p->tx_cap - p->tx_tail < n) {
        HL_MEMMOVE(p->tx, p->tx + p->tx_head, used);
        p->tx_head = 0;
        p->tx_tail = used;
    }
    return p->tx + p->tx_tail;
}

static void hl__wsp_tx_commit(hl__wsp *p, size_t n)
{
    p->tx_tail += n;
    if (hl__wsp_tx_used(p) > p->stats.send_queue_peak) p->stats.send_queue_peak = hl__wsp_tx_used(p);
}

/* Frame and mask a payload into the queue; the caller checked there is room. */
static void hl__wsp_put_frame(hl__wsp *p, unsigned char *dst, int fin, int op,
                              const unsigned char *data, size_t n)
{
    unsigned char key[4];
    size_t h;
    hl__rng_bytes(p->rng, key, 4);
    h = hl__frame_write(dst, fin, op, n, key);
    if (n) hl__mask(dst + h, data, n, key, 0);
    hl__wsp_tx_commit(p, h + n);
}

static size_t hl__frame_size(size_t n)
{
    return n + 6 + (n >= 126 ? 2 : 0) + (n > 0xFFFF ? 6 : 0);
}

/* Control frames may use the reserve; when even that is full they wait in a slot. */
static int hl__wsp_put_control(hl__wsp *p, int op, const unsigned char *data, size_t n)
{
    unsigned char *dst = hl__wsp_tx_room(p, hl__frame_size(n), 0);
    if (!dst) return HL_E_QUEUE_FULL;
    hl__wsp_put_frame(p, dst, 1, op, data, n);
    return HL_OK;
}

/* Write what waits in the slots once the queue drained; called after every tx_ack. */
static void hl__wsp_flush_slots(hl__wsp *p)
{
    if (p->pong_pending >= 0 &&
        hl__wsp_put_control(p, HL__OP_PONG, p->pong, (size_t)p->pong_pending) == HL_OK)
        p->pong_pending = -1;
    if (p->close_pending >= 0 && p->pong_pending < 0 &&
        hl__wsp_put_control(p, HL__OP_CLOSE, p->close_frame, (size_t)p->close_pending) == HL_OK)
        p->close_pending = -1;
}

/* Queue our close frame (code 0: none); nothing is sent after it. */
static void hl__wsp_queue_close(hl__wsp *p, int code, const char *reason, size_t rlen)
{
    size_t n = 0;
    if (p->close_sent) return;
    p->close_sent = 1;
    p->sent_code = code;
    if (code) {
        p->close_frame[0] = (unsigned char)(code >> 8);
        p->close_frame[1] = (unsigned char)code;
        n = 2 + HL__MIN(rlen, (size_t)123);
        if (n > 2) HL_MEMCPY(p->close_frame + 2, reason, n - 2);
    }
    p->close_pending = (int)n;
    hl__wsp_flush_slots(p);
}

/* Bytes waiting to be sent (tx_buf) and how many went out (tx_ack). */
static const unsigned char *hl__wsp_tx_buf(const hl__wsp *p, size_t *len)
{
    *len = hl__wsp_tx_used(p);
    return p->tx + p->tx_head;
}

static void hl__wsp_tx_ack(hl__wsp *p, size_t n)
{
    p->tx_head += n;
    if (p->tx_head == p->tx_tail) p->tx_head = p->tx_tail = 0;
    hl__wsp_flush_slots(p);
}

static int hl__wsp_tx_pending(const hl__wsp *p)
{
    return p->tx_tail != p->tx_head || p->pong_pending >= 0 || p->close_pending >= 0;
}

/* Queue a data frame. fragment: part of hl_ws_send_fragment (fin says whether last). */
static int hl__wsp_send(hl__wsp *p, int type, const unsigned char *data, size_t n, int fin,
                        int fragment)
{
    int op;
    uint32_t st = 0;
    unsigned char *dst;
    if (p->close_sent || p->close_recv) return HL_E_CLOSED;
    if (type != HL__OP_TEXT && type != HL__OP_BINARY) return HL_E_INVALID;
    if (!fragment && p->send_op) return HL_E_STATE; /* a fragmented message is open */
    if (p->send_op && type != p->send_op) return HL_E_STATE;
    op = p->send_op ? HL__OP_CONT : type;
    if (type == HL__OP_TEXT) {
        st = hl__utf8_feed(p->send_op ? p->send_utf8 : 0, data, n);
        if (st == HL__UTF8_REJECT || (fin && st != HL__UTF8_ACCEPT)) return HL_E_BAD_UTF8;
    }
    if (hl__frame_size(n) > p->tx_cap - HL__TX_CTRL_RESERVE) return HL_E_MSG_TOO_BIG; /* never fits */
    dst = hl__wsp_tx_room(p, hl__frame_size(n), HL__TX_CTRL_RESERVE);
    if (!dst) return HL_E_QUEUE_FULL;
    hl__wsp_put_frame(p, dst, fin, op, data, n);
    p->send_op = fin ? 0 : type;
    p->send_utf8 = st;
    if (fin) p->stats.msgs_out++;
    p->stats.bytes_out += n;
    return HL_OK;
}

static int hl__wsp_ping(hl__wsp *p, const unsigned char *data, size_t n)
{
    int rc;
    if (n > 125) return HL_E_INVALID;
    if (p->close_sent || p->close_recv) return HL_E_CLOSED;
    rc = hl__wsp_put_control(p, HL__OP_PING, data, n);
    if (rc == HL_OK) p->stats.pings_out++;
    return rc;
}

/* ---- receive ---- */

/* Free room at the end of the receive buffer, after squeezing out consumed bytes when the room
   has become small. Each byte of a message moves at most once this way. */
static unsigned char *hl__wsp_rx_buf(hl__wsp *p, size_t *len)
{
    if (p->rx_cap - p->fill < p->compact_below && (p->msg_start > 0 || p->rd > p->wr)) {
        size_t mlen = p->wr - p->msg_start, tail = p->fill - p->rd;
        HL_MEMMOVE(p->rx, p->rx + p->msg_start, mlen);
        HL_MEMMOVE(p->rx + mlen, p->rx + p->rd, tail);
        p->msg_start = 0;
        p->wr = mlen;
        p->rd = mlen;
        p->fill = mlen + tail;
    }
    *len = p->rx_cap - p->fill;
    return p->rx + p->fill;
}

static void hl__wsp_rx_ack(hl__wsp *p, size_t n)
{
    p->fill += n;
}

/* Fail the connection (RFC 6455 7.1.7): queue a close with the code, stop reading. */
static int hl__wsp_fail(hl__wsp *p, int result, int code, const char *why)
{
    p->failed = 1;
    p->result = result;
    hl__fmt(p->detail, sizeof p->detail, "%s", why);
    hl__wsp_queue_close(p, code, why, strlen(why));
    return result;
}

static int hl__close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static int hl__wsp_on_close(hl__wsp *p, const unsigned char *d, size_t n)
{
    unsigned code = 1005;
    if (n == 1) return hl__wsp_fail(p, HL_E_PROTOCOL, 1002, "close frame with a 1-byte payload");
    if (n >= 2) {
        code = (unsigned)d[0] << 8 | d[1];
        if (!hl__close_code_valid(code))
            return hl__wsp_fail(p, HL_E_PROTOCOL, 1002, "close frame with an invalid code");
        if (hl__utf8_feed(0, d + 2, n - 2) != HL__UTF8_ACCEPT)
            return hl__wsp_fail(p, HL_E_BAD_UTF8, 1007, "close reason is not valid UTF-8");
        HL_MEMCPY(p->recv_reason, d + 2, n - 2);
    }
    p->recv_reason[n >= 2 ? n - 2 : 0] = '\0';
    p->recv_code = (int)code;
    p->close_recv = 1;
    /* echo the code, as RFC 6455 5.5.1 suggests; an empty close is answered empty */
    hl__wsp_queue_close(p, n >= 2 ? (int)code : 0, NULL, 0);
    return HL_OK;
}

static int hl__wsp_on_control(hl__wsp *p, const hl__frame *f, const unsigned char *d,
                              const hl__wsp_sink *sink)
{
    size_t n = (size_t)f->len;
    if (f->opcode == HL__OP_PING) {
        p->stats.pings_in++;
        if (p->close_sent) return HL_OK;
        if (p->pong_pending >= 0) p->stats.pongs_coalesced++;
        HL_MEMCPY(p->pong, d, n);
        p->pong_pending = (int)n;
        hl__wsp_flush_slots(p);
        return HL_OK;
    }
    if (f->opcode == HL__OP_PONG) {
        p->stats.pongs_in++;
        if (sink->pong) sink->pong(sink->user, d, n);
        return HL_OK;
    }
    return hl__wsp_on_close(p, d, n);
}

/* Check a header against RFC 6455 5.2-5.5 for a client. */
static int hl__wsp_check_header(hl__wsp *p, const hl__frame *f)
{
    if (f->rsv) return hl__wsp_fail(p, HL_E_PROTOCOL, 1002, "reserved bits set without an extension");
    if (f->masked) return hl__wsp_fail(p, HL_E_PROTOCOL, 1002, "masked frame from the server");
    if ((f->opcode > 2 && f->opcode < 8) || f->opcode > 10)
        return hl__wsp_fail(p, HL_E_PROTOCOL, 1002, "reserved opcode");
    if (f->opcode >= 8) {
        if (!f->fin) return hl__wsp_fail(p, HL_E_PROTOCOL, 1002, "fragmented control frame");
        if (f->len > 125) return hl__wsp_fail(p, HL_E_PROTOCOL, 1002, "control frame over 125 bytes");
        return HL_OK;
    }
    if (f->opcode == HL__OP_CONT && !p->msg_op)
        return hl__wsp_fail(p, HL_E_PROTOCOL, 1002, "continuation frame without a message");
    if (f->opcode != HL__OP_CONT && p->msg_op)
        return hl__wsp_fail(p, HL_E_PROTOCOL, 1002, "new message inside a fragmented message");
    if (f->len > (uint64_t)p->max_msg ||
        (p->msg_op && (uint64_t)(p->wr - p->msg_start) + f->len > (uint64_t)p->max_msg))
        return hl__wsp_fail(p, HL_E_MSG_TOO_BIG, 1009, "message over max_message_size");
    return HL_OK;
}

/* Deliver the assembled message and start the next one where parsing stands; a message the
   sink holds stays where it is. */
static int hl__wsp_deliver(hl__wsp *p, const hl__wsp_sink *sink)
{
    int is_text = p->msg_op == HL__OP_TEXT;
    size_t n = p->wr - p->msg_start;
    if (is_text && p->utf8 != HL__UTF8_ACCEPT)
        return hl__wsp_fail(p, HL_E_BAD_UTF8, 1007, "text message ends inside a UTF-8 sequence");
    p->held = sink->message(sink->user, is_text, p->rx + p->msg_start, n) != 0;
    if (p->held) return HL_OK;
    p->stats.msgs_in++;
    p->stats.bytes_in += n;
    p->msg_op = 0;
    p->msg_start = p->wr = p->rd;
    return HL_OK;
}

/* Parse everything parseable in the receive buffer, calling the sink for each message and pong.
   Returns HL_OK, or the error the connection failed with (a close frame is then queued). After a
   close frame from the peer, or a failure, further input is ignored. *stop is polled after every
   callback so the driver can stop delivery (abort from inside a callback). */
static int hl__wsp_recv(hl__wsp *p, const hl__wsp_sink *sink, const int *stop)
{
    if (p->held && !p->failed && !*stop && hl__wsp_deliver(p, sink) != HL_OK) return p->result;
    while (!p->failed && !p->close_recv && !*stop && !p->held) {
        if (p->in_payload) {
            size_t k = (size_t)HL__MIN((uint64_t)(p->fill - p->rd), p->frame_left);
            if (k) {
                if (p->rd != p->wr) HL_MEMMOVE(p->rx + p->wr, p->rx + p->rd, k);
                if (p->msg_op == HL__OP_TEXT) {
                    p->utf8 = hl__utf8_feed(p->utf8, p->rx + p->wr, k);
                    if (p->utf8 == HL__UTF8_REJECT)
                        return hl__wsp_fail(p, HL_E_BAD_UTF8, 1007, "invalid UTF-8 in a text message");
                }
                p->wr += k;
                p->rd += k;
                p->frame_left -= k;
            }
            if (p->frame_left) break;
            p->in_payload = 0;
            if (p->frame_fin && hl__wsp_deliver(p, sink) != HL_OK) return p->result;
            continue;
        } else {
            hl__frame f;
            int h = hl__frame_parse(p->rx + p->rd, p->fill - p->rd, &f);
            if (h == 0) {
                /* the first two bytes already say most of what is wrong: fail now, not once the
                   rest of a header that garbage "announced" has arrived */
                if (p->fill - p->rd >= 2) {
                    const unsigned char *b = p->rx + p->rd;
                    f.fin = b[0] >> 7;
                    f.rsv = (b[0] >> 4) & 7;
                    f.opcode = b[0] & 0x0F;
                    f.masked = b[1] >> 7;
                    f.len = b[1] & 0x7F; /* 126/127 only mean "longer": over 125 all the same */
                    if ((f.rsv || f.masked || (f.opcode > 2 && f.opcode < 8) || f.opcode > 10 ||
                         (f.opcode >= 8 && (!f.fin || f.len > 125))) &&
                        hl__wsp_check_header(p, &f) != HL_OK)
                        return p->result;
                }
                break;
            }
            if (h < 0) return hl__wsp_fail(p, HL_E_PROTOCOL, 1002, "64-bit length with the top bit set");
            if (hl__wsp_check_header(p, &f) != HL_OK) return p->result;
            if (f.opcode >= 8) {
                const unsigned char *d = p->rx + p->rd + h;
                if (p->fill - p->rd - (size_t)h < f.len) break; /* whole control frame first */
                p->rd += (size_t)h + (size_t)f.len;
                if (hl__wsp_on_control(p, &f, d, sink) != HL_OK) return p->result;
                if (!p->msg_op) p->msg_start = p->wr = p->rd;
                continue;
            }
            p->rd += (size_t)h;
            if (f.opcode != HL__OP_CONT) {
                p->msg_op = f.opcode;
                p->utf8 = HL__UTF8_ACCEPT;
                p->msg_start = p->wr = p->rd;
            }
            p->in_payload = 1;
            p->frame_fin = f.fin;
            p->frame_left = f.len;
        }
    }
    if (p->msg_start == p->fill && !p->msg_op && !p->in_payload)
        p->msg_start = p->wr = p->rd = p->fill = 0; /* all consumed: start over at the front */
    return p->failed ? p->result : HL_OK;
}
/* ==== end ws_proto.c ==== */
/* ==== begin profile_hyperliquid.c ==== */
/* The Hyperliquid profile (see the manual's HYPERLIQUID NOTES). Routes are
   "channel|coin|interval|user" with the parts the channel's data carries, built the same way from
   a subscription and from the data it brings, so one hash lookup routes a message. */

static int hl__hl_in(const char *const *names, size_t count, const char *ch, size_t n)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (strlen(names[i]) == n && memcmp(names[i], ch, n) == 0) return 1;
    return 0;
}

/* Channels whose data names the user (so the route includes it); others carry none. webData3
   names it inside userState. */
static int hl__hl_user_routed(const char *ch, size_t n)
{
    static const char *const names[] = {"userFills", "userFundings", "userNonFundingLedgerUpdates",
                                        "userTwapSliceFills", "userTwapHistory", "activeAssetData",
                                        "clearinghouseState", "openOrders", "twapStates", "webData2",
                                        "webData3", "spotState", "allDexsClearinghouseState",
                                        "userHistoricalOrders"};
    return hl__hl_in(names, sizeof names / sizeof names[0], ch, n);
}

/* Channels whose data is about one coin (so the route includes it); feeds of many coins
   (allMids, assetCtxs, ...) route by channel. */
static int hl__hl_coin_routed(const char *ch, size_t n)
{
    static const char *const names[] = {"trades", "l2Book", "bbo", "candle", "activeAssetCtx",
                                        "activeSpotAssetCtx", "activeAssetData"};
    return hl__hl_in(names, sizeof names / sizeof names[0], ch, n);
}

/* Append "|part" to key; addresses lower-cased. Returns 0, or -1 when it does not fit. */
static int hl__hl_key_add(char *key, size_t cap, size_t *len, const char *part, size_t n, int lower)
{
    size_t i;
    if (*len + 1 + n + 1 > cap) return -1;
    key[(*len)++] = '|';
    for (i = 0; i < n; i++) key[(*len)++] = lower ? (char)hl__lower((unsigned char)part[i]) : part[i];
    key[*len] = '\0';
    return 0;
}

static int hl__hl_key_start(char *key, size_t cap, size_t *len, const char *ch, size_t n)
{
    if (n + 1 > cap) return -1;
    HL_MEMCPY(key, ch, n);
    key[n] = '\0';
    *len = n;
    return 0;
}

/* A string member of obj, or 0 when absent. */
static int hl__hl_member(const char *obj, const char *end, const char *name, const char **s, size_t *n)
{
    const char *v, *ve = hl__js_get(obj, end, name, &v);
    return ve && hl__js_str(v, ve, s, n);
}

static int hl__hl_app_ping(char *out, size_t cap)
{
    static const char ping[] = "{\"method\":\"ping\"}";
    if (cap < sizeof ping) return HL_E_INVALID;
    HL_MEMCPY(out, ping, sizeof ping);
    return (int)sizeof ping - 1;
}

/* Some reports say the server may send a text "Ping" expecting {"method":"pong"}. */
static int hl__hl_app_pong(const char *ping, size_t len, char *out, size_t cap)
{
    static const char pong[] = "{\"method\":\"pong\"}";
    (void)ping;
    (void)len;
    if (cap < sizeof pong) return HL_E_INVALID;
    HL_MEMCPY(out, pong, sizeof pong);
    return (int)sizeof pong - 1;
}

static int hl__hl_sub_message(const char *sub, size_t n, int unsubscribe, char *out, size_t cap)
{
    const char *head = unsubscribe ? "{\"method\":\"unsubscribe\",\"subscription\":" : "{\"method\":\"subscribe\",\"subscription\":";
    size_t hl = strlen(head);
    if (hl + n + 2 > cap) return HL_E_INVALID;
    HL_MEMCPY(out, head, hl);
    HL_MEMCPY(out + hl, sub, n);
    out[hl + n] = '}';
    out[hl + n + 1] = '\0';
    return (int)(hl + n + 1);
}

static int hl__hl_sub_route(const char *sub, size_t n, char *key, size_t cap)
{
    const char *end = sub + n, *type, *coin, *iv, *user;
    size_t tl, cl, il, ul, len;
    if (!hl__hl_member(sub, end, "type", &type, &tl)) return HL_E_INVALID;
    if (tl == 10 && memcmp(type, "userEvents", 10) == 0) {
        type = "user";
        tl = 4;
    }
    if (hl__hl_member(sub, end, "coin", &coin, &cl)) {
        /* spot coins ("@107", "PURR/USDC") push their context on another channel */
        if (tl == 14 && memcmp(type, "activeAssetCtx", 14) == 0 && cl && (coin[0] == '@' || memchr(coin, '/', cl))) {
            type = "activeSpotAssetCtx";
            tl = 18;
        }
    } else {
        coin = NULL;
    }
    if (hl__hl_key_start(key, cap, &len, type, tl)) return HL_E_INVALID;
    if (coin && hl__hl_coin_routed(type, tl) && hl__hl_key_add(key, cap, &len, coin, cl, 0)) return HL_E_INVALID;
    if (hl__hl_member(sub, end, "interval", &iv, &il) && hl__hl_key_add(key, cap, &len, iv, il, 0)) return HL_E_INVALID;
    if (hl__hl_user_routed(type, tl) && hl__hl_member(sub, end, "user", &user, &ul) &&
        hl__hl_key_add(key, cap, &len, user, ul, 1))
        return HL_E_INVALID;
    return (int)len;
}

/* Copy the JSON embedded in an error string (after its first '{'), undoing \" and \\. */
static void hl__hl_error_sub(const char *text, size_t n, hl_msg_info *info)
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

static void hl__hl_classify(const char *msg, size_t len, hl_msg_info *info)
{
    const char *end = msg + len, *ch, *dv, *de, *v, *ve, *s;
    size_t chl, sl, klen;
    const char *p = hl__js_ws(msg, end), *last = end;
    info->kind = HL_MSGK_OTHER;
    if (p == end || *p != '{') {
        if (len == 4 && memcmp(msg, "Ping", 4) == 0) info->kind = HL_MSGK_PING;
        return;
    }
    /* one whole JSON value, or it is nobody's (a cut or garbled message is not routed) */
    while (last > p && (last[-1] == ' ' || last[-1] == '\n' || last[-1] == '\r' || last[-1] == '\t')) last--;
    if (hl__js_skip(p, end) != last) return;
    if (!hl__hl_member(p, end, "channel", &ch, &chl)) return;
    if (chl == 4 && memcmp(ch, "pong", 4) == 0) {
        info->kind = HL_MSGK_PONG;
        return;
    }
    /* data's start only: finding its end would mean skipping the whole feed message */
    dv = hl__js_find(p, end, "data");
    if (!dv || (*dv != '{' && *dv != '[' && *dv != '"')) return;
    if (chl == 20 && memcmp(ch, "subscriptionResponse", 20) == 0) {
        de = hl__js_skip(dv, end);
        if (!de) return;
        if (!hl__hl_member(dv, de, "method", &s, &sl)) return;
        ve = hl__js_get(dv, de, "subscription", &v);
        if (!ve) return;
        info->kind = (sl == 11 && memcmp(s, "unsubscribe", 11) == 0) ? HL_MSGK_UNSUB_ACK : HL_MSGK_SUB_ACK;
        info->sub = v;
        info->sub_len = (size_t)(ve - v);
        return;
    }
    if (chl == 5 && memcmp(ch, "error", 5) == 0) {
        de = hl__js_skip(dv, end);
        if (!de) return;
        info->kind = HL_MSGK_ERROR;
        if (hl__js_str(dv, de, &info->text, &info->text_len)) hl__hl_error_sub(info->text, info->text_len, info);
        return;
    }
    if (chl == 4 && memcmp(ch, "post", 4) == 0) return;
    /* a feed: the route parts come from data, or from its first element when it is an array */
    info->kind = HL_MSGK_DATA;
    if (hl__hl_key_start(info->key, sizeof info->key, &klen, ch, chl)) return;
    {
        /* lookups stop at the member they want, bounded by the message's end */
        const char *obj = dv, *iv;
        size_t il;
        int user_feed = hl__hl_user_routed(ch, chl);
        if (*obj == '[') obj = hl__js_ws(obj + 1, end);
        if (obj < end && *obj == '{') {
            int candle = chl == 6 && memcmp(ch, "candle", 6) == 0;
            if (hl__hl_coin_routed(ch, chl) &&
                (candle ? hl__hl_member(obj, end, "s", &s, &sl) : hl__hl_member(obj, end, "coin", &s, &sl)))
                hl__hl_key_add(info->key, sizeof info->key, &klen, s, sl, 0);
            if (candle && hl__hl_member(obj, end, "i", &iv, &il))
                hl__hl_key_add(info->key, sizeof info->key, &klen, iv, il, 0);
            if (user_feed) {
                const char *us = chl == 8 && memcmp(ch, "webData3", 8) == 0 ? hl__js_find(obj, end, "userState") : obj;
                if (us && hl__hl_member(us, end, "user", &s, &sl))
                    hl__hl_key_add(info->key, sizeof info->key, &klen, s, sl, 1);
            }
            /* only user feeds start with a snapshot */
            if (chl > 4 && memcmp(ch, "user", 4) == 0) {
                v = hl__js_find(obj, end, "isSnapshot");
                info->is_snapshot = v && end - v >= 4 && memcmp(v, "true", 4) == 0;
            }
        }
    }
    info->key_len = klen;
}

static const hl_profile hl__profile_hl = {
    "hyperliquid", 50000, 2000, 1000,
    hl__hl_app_ping, hl__hl_app_pong, hl__hl_sub_message, hl__hl_sub_route, hl__hl_classify,
    0, /* every subscription is acknowledged */
};

HL_API const hl_profile *hl_profile_hyperliquid(void)
{
    return &hl__profile_hl;
}
/* ==== end profile_hyperliquid.c ==== */
/* ==== begin http_request.c ==== */
/* An HTTP request as the client keeps it: a slot holding the request rendered to its exact bytes
   (so a retry sends the same bytes), its policy and timers; and the endpoints (origin + path,
   each with a breaker and statistics) and origins (a weight bucket and the pool's share) it
   belongs to. */

enum {
    HL__HREQ_FREE = 0,
    HL__HREQ_QUEUED,   /* waiting for a connection, the rate budget or its retry time */
    HL__HREQ_ACTIVE,   /* on a connection */
    HL__HREQ_HELD      /* done by hl_http_fetch: its response stays readable until the next call */
};

#define HL__HTTP_LAT_BUCKETS 24 /* latency histogram: bucket i holds < 2^(i+4) microseconds */

typedef struct hl__hreq {
    uint32_t id, gen;
    int state;
    uint64_t seq;             /* submit order: the queue is served first come, first served */
    int32_t endpoint, origin;
    int32_t conn;             /* the connection while ACTIVE, else -1 */
    char *buf;                /* the rendered request */
    size_t len;
    int head;                 /* a HEAD request: no response body */
    int idempotent;
    uint32_t max_retries, attempts, weight;
    uint32_t connect_ms, first_byte_ms;
    uint64_t start_ns, deadline_ns, next_try_ns;
    int fresh_retry_used;     /* the one free retry after a pooled connection turned out closed */
    int hold;                 /* hl_http_fetch: keep the response until the next call */
    char detail[200];         /* why it failed, kept with the slot */
    hl_http_fn cb;
    void *user;
    char id_text[17];         /* X-Request-Id */
    char method[12];
    char target[64];          /* for log lines: the start of the path */
} hl__hreq;

typedef struct hl__origin {
    int used;
    hl_scheme scheme;
    uint16_t port;
    int is_ipv6;
    char host[HL_URL_MAX_HOST + 1];
    hl__bucket weight;
    unsigned char pins[32 * 4];
    int npins;
    int pins_fixed;
} hl__origin;

typedef struct hl__endpoint {
    int used;
    int32_t origin;
    uint64_t path_hash;
    char path[64];            /* shown in stats (cut at 63 bytes, query dropped) */
    hl__breaker breaker;
    uint64_t requests, retries, bytes_out, bytes_in;
    uint64_t by_class[6];     /* responses 1xx..5xx by first digit; [0] unused */
    uint64_t err_timeout, err_network, err_tls, err_protocol, err_refused; /* attempts without a response */
    uint64_t lat_count, lat_sum_ns, lat_min_ns, lat_max_ns;
    uint32_t lat_hist[HL__HTTP_LAT_BUCKETS];
} hl__endpoint;

static int hl__method_idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
           !strcmp(m, "OPTIONS") || !strcmp(m, "TRACE");
}

static const char *const hl__http_reserved[] = {"host", "content-length", "connection", "transfer-encoding",
                                                "x-request-id", "traceparent"};

static void hl__hex(char *out, const unsigned char *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Render the request into out (cap bytes): request line, Host, our headers, the caller's, the
   body. Returns the length, or a negative result with the reason in why. */
static long hl__http_render(char *out, size_t cap, const hl_url *u, const hl_http_req *req, const char *method,
                            const char *req_id, const char *traceparent, char *why, size_t wcap)
{
    hl__strbuf b;
    char num[32];
    int i;
    b.p = out;
    b.cap = cap;
    b.len = 0;
    b.overflow = 0;
    for (i = 0; i < req->header_count; i++)
        if (hl__header_check(&req->headers[i], hl__http_reserved, sizeof hl__http_reserved / sizeof hl__http_reserved[0],
                             why, wcap) != HL_OK)
            return HL_E_INVALID;
    hl__sb_request_line(&b, method, u);
    hl__sb_str(&b, "User-Agent: hl_net/" HL_NET_VERSION "\r\nX-Request-Id: ");
    hl__sb_str(&b, req_id);
    hl__sb_str(&b, "\r\n");
    if (traceparent) {
        hl__sb_str(&b, "traceparent: ");
        hl__sb_str(&b, traceparent);
        hl__sb_str(&b, "\r\n");
    }
    for (i = 0; i < req->header_count; i++) {
        hl__sb_str(&b, req->headers[i].name);
        hl__sb_str(&b, ": ");
        hl__sb_str(&b, req->headers[i].value);
        hl__sb_str(&b, "\r\n");
    }
    if (req->body_len || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        hl__fmt(num, sizeof num, "Content-Length: %lu\r\n", (unsigned long)req->body_len);
        hl__sb_str(&b, num);
    }
    hl__sb_str(&b, "\r\n");
    if (req->body_len) hl__sb_put(&b, (const char *)req->body, req->body_len);
    if (b.overflow) {
        hl__fmt(why, wcap, "request head and body over http_request_size (%lu bytes)", (unsigned long)cap);
        return HL_E_MSG_TOO_BIG;
    }
    return (long)b.len;
}
/* ==== end http_request.c ==== */
/* ==== begin context.c ==== */
/* The context: what a connection slot and the context hold, the configuration and its defaults,
   carving the caller's block, events and logging. The driver files after this one (ws_conn,
   subs, liveness, poll, ws_api, stats_json) share these definitions; they are the only place
   that owns sockets. */

#define HL__MAX_ADDRS 8
#define HL__MAX_PINS 4
#define HL__MAX_VENUES 4
#define HL__SUB_JSON_MAX 256
#define HL__READS_PER_PASS 64 /* bounds one connection's turn so others are served too */

/* A subscription slot. Live subscriptions of a connection form a list in subscribe order. */
typedef struct hl__sub {
    uint32_t id;              /* 0 when free */
    uint32_t gen;
    int32_t conn;             /* index of its connection */
    int32_t next;             /* next of the same connection, -1 at the end */
    hl_sub_state state;
    int sent;                 /* its subscribe message went out on the current connection */
    int unsub_pending;        /* removed; the unsubscribe message has still to go out */
    uint64_t canon;           /* hash of the canonical form (duplicates, acks) */
    uint64_t route;           /* hash of the route key */
    char json[HL__SUB_JSON_MAX];
    size_t json_len;
    hl_msg_fn on_message;
    void *user;
    uint32_t queue_len;
    hl_overflow overflow;
    uint32_t stale_after_ms;
    int32_t q_head, q_tail;   /* queued slots, oldest first */
    uint64_t active_since;    /* when it became active (staleness counts from there) */
    uint64_t gap_from;        /* when its connection dropped; 0 before the first drop */
    int stale_reported;
    hl_sub_stats st;
} hl__sub;

/* A queue slot: header here, its bytes at data + index * queue_slot_size. */
typedef struct hl__qslot {
    int32_t next;
    uint32_t len;
    int is_snapshot;         /* bit 0 is_snapshot, bit 1 after_gap */
    uint64_t recv_ns;
} hl__qslot;

/* Limits shared by every connection to one venue (one profile). */
typedef struct hl__venue {
    const hl_profile *profile;
    hl__bucket msgs;
    uint32_t subs;
    uint32_t max_subs;
} hl__venue;

typedef struct hl__conn {
    uint32_t id;            /* 0 when the slot is free */
    uint32_t gen;
    hl_state state;
    hl_socket fd;
    const hl_transport *tp; /* config.transport: NULL for the OS sockets */
    uint64_t deadline;      /* ns on the context clock; 0 when none */
    hl_url url;
    char subprotocols[256];
    char protocol[128];     /* chosen by the server */
    hl_headers_fn headers;
    void *headers_user;
    hl_event_fn on_event;
    void *user;
    hl_addr addrs[HL__MAX_ADDRS];
    int naddrs, addr_i;
    char key[25];           /* Sec-WebSocket-Key */
    int stop;               /* deliver nothing more: 1 hl_ws_abort, 2 hl_ws_close before open */
    int io_error;           /* a send error found outside hl_process (errno), handled inside it */
    hl_close_origin close_origin;
    hl_error_info err;
    hl__wsp ws;
    int tls;                /* wss:// */
    unsigned char pins[32 * HL__MAX_PINS];
    int npins;
#if HL_ENABLE_TLS
    hl__tls *t;
#endif
    /* staying up */
    int reconnect;
    hl_backoff backoff;
    hl_breaker_config bcfg;
    hl__breaker breaker;
    uint32_t attempt;        /* failed attempts since the last healthy connection */
    uint64_t retry_after_ns; /* the server's Retry-After on a refused upgrade */
    uint64_t healthy_at;     /* OPEN until then counts as healthy; 0 once it did */
    const hl_profile *profile;
    int venue;               /* index into ctx->venues, -1 without a profile */
    uint32_t ping_ms, pong_timeout_ms, app_ping_ms, silence_ms;
    uint64_t next_ping, ping_sent_at, app_ping_sent_at, last_rx, last_tx;
    int32_t sub_first, sub_last;
    int held_by_queue;       /* a BACKPRESSURE queue is full: stop reading */
    int kick;                /* run it at the next hl_process even without readiness */
    int batch_events;
    int in_batch;
    uint64_t wake;           /* the next timer of this connection (0: none), set by its turn */
    /* an HTTP connection (kind HL__KIND_HTTP) of the client's pool */
    int kind;
    int32_t hreq;            /* the request on it, -1 when idle */
    int32_t origin;
    hl__http_parser hp;
    hl_header *hdrs;         /* http_max_headers views into the receive buffer */
    uint64_t idle_until;     /* idle in the pool: closed at this time */
    uint64_t first_byte_by;  /* the request's time to first byte runs out */
    int got_bytes;           /* some of the response has arrived */
    int served;              /* it has carried a response before (a pooled reuse) */
    int held;                /* its last response is kept for hl_http_fetch */
    int keep_after_hold;     /* ... and it may go back to the pool afterwards */
    uint32_t connect_ms;     /* this connection's connect timeout (0: config) */
} hl__conn;

#define HL__KIND_WS 0
#define HL__KIND_HTTP 1

struct hl_ctx {
    hl_config cfg;
    hl__rng rng;
    hl__conn *conns;
    hl_pollfd *pfds;
    struct pollfd *sys_pfds;
    hl__sub *subs;
    int32_t *routes;         /* open addressing on route hash: sub index, -1 empty, -2 deleted */
    uint32_t route_cap;      /* a power of two */
    uint32_t route_deleted;
    hl__qslot *qslots;
    unsigned char *qdata;
    int32_t qfree;
    jsmntok_t *toks;
    const unsigned char *tok_msg; /* the message toks hold, if any */
    int tok_n;
    hl__venue venues[HL__MAX_VENUES];
    hl__bucket connects;
    hl__hreq *hreqs;
    hl__endpoint *endpoints;
    hl__origin *origins;
    uint64_t http_seq;
    int http_kick;           /* the request queue has work now */
    uint64_t http_wake;      /* the queue's next timer */
    int in_process;          /* callbacks are running: hl_poll may not be re-entered */
    int events;              /* delivered in the current hl_process */
    hl_ctx_stats stats;
#if HL_ENABLE_TLS
    hl__anchors anchors;
#endif
};

/* Across the driver files. */
static int hl__conn_flush(hl__conn *c);
static void hl__conn_fail(hl_ctx *ctx, hl__conn *c, int result, int sys_errno, const char *fmt, ...);
static int hl__subs_on_text(hl_ctx *ctx, hl__conn *c, const unsigned char *p, size_t n);
static void hl__subs_connection_open(hl__conn *c);
static void hl__subs_connection_lost(hl_ctx *ctx, hl__conn *c, uint64_t now);
static void hl__subs_free_all(hl_ctx *ctx, hl__conn *c);
static void hl__live_open(hl_ctx *ctx, hl__conn *c, uint64_t now);
static void hl__live_healthy(hl__conn *c, uint64_t now);
static int hl__live_pong(hl_ctx *ctx, hl__conn *c, const unsigned char *p, size_t n, uint64_t *rtt);
static void hl__live_app_pong(hl_ctx *ctx, hl__conn *c);
static void hl__http_conn_ready(hl_ctx *ctx, hl__conn *c);
static void hl__http_conn_end(hl_ctx *ctx, hl__conn *c);
static int hl__conn_ready_now(const hl__conn *c);

/* next = the earlier of next and t, where 0 means "none". */
#define HL__SOONER(next, t) do { if ((t) && (!(next) || (t) < (next))) (next) = (t); } while (0)

HL_API void hl_config_resolve(const hl_config *in, hl_config *out)
{
    if (in) *out = *in;
    else HL_MEMSET(out, 0, sizeof *out);
#define HL__DEF(f, v) if (!out->f) out->f = (v)
    HL__DEF(max_connections, 4);
    HL__DEF(max_message_size, 1u << 20);
    HL__DEF(read_chunk_size, 16u << 10);
    HL__DEF(send_queue_size, 256u << 10);
    HL__DEF(max_header_size, 8u << 10);
    HL__DEF(connect_timeout_ms, 10000);
    HL__DEF(handshake_timeout_ms, 10000);
    HL__DEF(close_timeout_ms, 5000);
    HL__DEF(log_level, HL_LOG_INFO);
    HL__DEF(clock, hl__clock_default);
    HL__DEF(entropy, hl__entropy_default);
    HL__DEF(resolve, hl__sys_resolve);
    HL__DEF(wall_clock, hl__wall_clock_default);
    HL__DEF(connects_per_minute, 30);
    HL__DEF(max_subscriptions, 64);
    HL__DEF(queue_slots, 64);
    HL__DEF(queue_slot_size, 4096);
    HL__DEF(json_max_tokens, 2048);
    HL__DEF(http_max_requests, 16);
    HL__DEF(http_request_size, 16u << 10);
    HL__DEF(http_max_per_origin, 2);
    HL__DEF(http_idle_timeout_ms, 30000);
    HL__DEF(http_max_endpoints, 16);
    HL__DEF(http_max_headers, 32);
    HL__DEF(http_data_timeout_ms, 30000);
    HL__DEF(http_trading_timeout_ms, 10000);
    HL__DEF(http_max_retries, 2);
    HL__DEF(http_backoff.initial_ms, 200);
    HL__DEF(http_backoff.max_ms, 5000);
    hl__backoff_resolve(&out->http_backoff, &out->http_backoff);
    hl__breaker_config_resolve(&out->http_breaker, &out->http_breaker);
    if (out->http_max_requests > 0xFFFF) out->http_max_requests = 0xFFFF;
    if (out->max_connections > 0xFFFF) out->max_connections = 0xFFFF;
    if (out->max_subscriptions > 0xFFFF) out->max_subscriptions = 0xFFFF;
    if (out->read_chunk_size < 1024) out->read_chunk_size = 1024;
    if (out->max_header_size < 256) out->max_header_size = 256;
    if (out->send_queue_size < 2 * HL__TX_CTRL_RESERVE) out->send_queue_size = 2 * HL__TX_CTRL_RESERVE;
#if HL_ENABLE_TLS
    HL__DEF(tls_output_buffer_size, 4181);
    out->tls_output_buffer_size = HL__MAX(out->tls_output_buffer_size, (uint32_t)HL__TLS_MIN_OBUF);
    out->tls_output_buffer_size = HL__MIN(out->tls_output_buffer_size, (uint32_t)HL__TLS_MAX_OBUF);
    if (!out->tls_anchors) HL__DEF(tls_anchor_space, 128u << 10);
#endif
#undef HL__DEF
}

/* Receive buffer: a whole message (or an HTTP response's head and body) plus a read chunk. */
static size_t hl__rx_cap(const hl_config *c)
{
    return (size_t)c->max_message_size + c->max_header_size + c->read_chunk_size;
}

static uint32_t hl__route_cap(const hl_config *c)
{
    uint32_t n = 8;
    while (n < 2 * c->max_subscriptions) n *= 2;
    return n;
}

/* Carve everything from the arena; with a counting arena this is hl_ctx_size. */
static hl_ctx *hl__ctx_carve(hl__arena *a, const hl_config *cfg)
{
    hl_ctx *ctx = (hl_ctx *)hl__arena_alloc(a, sizeof(hl_ctx));
    hl__conn *conns = (hl__conn *)hl__arena_alloc(a, sizeof(hl__conn) * cfg->max_connections);
    hl_pollfd *pfds = (hl_pollfd *)hl__arena_alloc(a, sizeof(hl_pollfd) * cfg->max_connections);
    struct pollfd *spfds = (struct pollfd *)hl__arena_alloc(a, sizeof(struct pollfd) * cfg->max_connections);
    hl__sub *subs = (hl__sub *)hl__arena_alloc(a, sizeof(hl__sub) * cfg->max_subscriptions);
    int32_t *routes = (int32_t *)hl__arena_alloc(a, sizeof(int32_t) * hl__route_cap(cfg));
    hl__qslot *qslots = (hl__qslot *)hl__arena_alloc(a, sizeof(hl__qslot) * cfg->queue_slots);
    unsigned char *qdata = (unsigned char *)hl__arena_alloc(a, (size_t)cfg->queue_slots * cfg->queue_slot_size);
    jsmntok_t *toks = (jsmntok_t *)hl__arena_alloc(a, sizeof(jsmntok_t) * cfg->json_max_tokens);
    hl__hreq *hreqs = (hl__hreq *)hl__arena_alloc(a, sizeof(hl__hreq) * cfg->http_max_requests);
    hl__endpoint *eps = (hl__endpoint *)hl__arena_alloc(a, sizeof(hl__endpoint) * cfg->http_max_endpoints);
    hl__origin *origins = (hl__origin *)hl__arena_alloc(a, sizeof(hl__origin) * cfg->http_max_endpoints);
    uint32_t i;
#if HL_ENABLE_TLS
    unsigned char *anchors = cfg->tls_anchor_space ? (unsigned char *)hl__arena_alloc(a, cfg->tls_anchor_space) : NULL;
#endif
    if (ctx) {
        HL_MEMSET(ctx, 0, sizeof *ctx);
        ctx->conns = conns;
        ctx->pfds = pfds;
        ctx->sys_pfds = spfds;
        ctx->subs = subs;
        ctx->routes = routes;
        ctx->route_cap = hl__route_cap(cfg);
        ctx->qslots = qslots;
        ctx->qdata = qdata;
        ctx->toks = toks;
        ctx->hreqs = hreqs;
        ctx->endpoints = eps;
        ctx->origins = origins;
#if HL_ENABLE_TLS
        ctx->anchors.base = anchors;
        ctx->anchors.cap = anchors ? cfg->tls_anchor_space : 0;
#endif
    }
    for (i = 0; i < cfg->http_max_requests; i++) {
        char *rb = (char *)hl__arena_alloc(a, cfg->http_request_size);
        if (hreqs) {
            HL_MEMSET(&hreqs[i], 0, sizeof hreqs[i]);
            hreqs[i].buf = rb;
        }
    }
    for (i = 0; i < cfg->max_connections; i++) {
        unsigned char *rx = (unsigned char *)hl__arena_alloc(a, hl__rx_cap(cfg));
        unsigned char *tx = (unsigned char *)hl__arena_alloc(a, cfg->send_queue_size);
        hl_header *hdrs = (hl_header *)hl__arena_alloc(a, sizeof(hl_header) * cfg->http_max_headers);
#if HL_ENABLE_TLS
        hl__tls *t = (hl__tls *)hl__arena_alloc(a, sizeof(hl__tls));
        unsigned char *ibuf = (unsigned char *)hl__arena_alloc(a, HL__TLS_IBUF);
        unsigned char *obuf = (unsigned char *)hl__arena_alloc(a, cfg->tls_output_buffer_size);
        if (t) {
            HL_MEMSET(t, 0, sizeof *t);
            t->ibuf = ibuf;
            t->obuf = obuf;
            t->olen = cfg->tls_output_buffer_size;
        }
#endif
        if (ctx && conns) {
            hl__conn *c = &conns[i];
            HL_MEMSET(c, 0, sizeof *c);
            c->fd = HL_INVALID_SOCKET;
            c->tp = cfg->transport;
            c->ws.rx = rx;
            c->ws.rx_cap = hl__rx_cap(cfg);
            c->ws.compact_below = cfg->read_chunk_size;
            c->ws.max_msg = cfg->max_message_size;
            c->ws.tx = tx;
            c->ws.tx_cap = cfg->send_queue_size;
            c->ws.rng = &ctx->rng;
            c->hdrs = hdrs;
#if HL_ENABLE_TLS
            c->t = t;
#endif
        }
    }
    if (!ctx || !conns || !pfds || !spfds || !subs || !routes || !qslots || !qdata || !toks || !hreqs || !eps ||
        !origins)
        return NULL;
    HL_MEMSET(eps, 0, sizeof(hl__endpoint) * cfg->http_max_endpoints);
    HL_MEMSET(origins, 0, sizeof(hl__origin) * cfg->http_max_endpoints);
    HL_MEMSET(subs, 0, sizeof(hl__sub) * cfg->max_subscriptions);
    for (i = 0; i < ctx->route_cap; i++) routes[i] = -1;
    for (i = 0; i < cfg->queue_slots; i++) qslots[i].next = i + 1 < cfg->queue_slots ? (int32_t)i + 1 : -1;
    ctx->qfree = cfg->queue_slots ? 0 : -1;
    return ctx;
}

HL_API size_t hl_ctx_size(const hl_config *config)
{
    hl_config cfg;
    hl__arena a;
    hl_config_resolve(config, &cfg);
    a.base = NULL;
    a.size = 0;
    a.used = 0;
    hl__ctx_carve(&a, &cfg);
    return a.used + HL__ALIGN - 1; /* the block may start unaligned */
}

static uint64_t hl__now(hl_ctx *ctx)
{
    return ctx->cfg.clock(ctx->cfg.user);
}

HL_API int hl_ctx_init(hl_ctx **out, void *mem, size_t size, const hl_config *config)
{
    hl_config cfg;
    hl__arena a;
    hl_ctx *ctx;
    size_t skew;
    unsigned char seed[44];
    if (!out || !mem) return HL_E_INVALID;
    *out = NULL;
    hl_config_resolve(config, &cfg);
    if (size < hl_ctx_size(&cfg)) return HL_E_NO_MEMORY;
    skew = (size_t)(-(intptr_t)mem) & (HL__ALIGN - 1);
    a.base = (unsigned char *)mem + skew;
    a.size = size - skew;
    a.used = 0;
    ctx = hl__ctx_carve(&a, &cfg);
    if (!ctx) return HL_E_NO_MEMORY;
    ctx->cfg = cfg;
    if (cfg.entropy(cfg.user, seed, sizeof seed) != 0) return HL_E_IO;
    hl__rng_seed(&ctx->rng, seed);
    HL_MEMSET(seed, 0, sizeof seed);
    hl__bucket_init(&ctx->connects, cfg.connects_per_minute == HL_UNLIMITED ? 0 : cfg.connects_per_minute,
                    cfg.connects_per_minute, hl__now(ctx));
    if (hl__sys_startup() != HL_OK) return HL_E_IO;
    *out = ctx;
    return HL_OK;
}

HL_API const hl_config *hl_ctx_config(const hl_ctx *ctx)
{
    return &ctx->cfg;
}

static uint32_t hl__rand32(hl_ctx *ctx)
{
    unsigned char b[4];
    hl__rng_bytes(&ctx->rng, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The venue of a profile, made on first use; -1 when all are taken (limits then apply per
   connection only: logged). */
static int hl__venue_of(hl_ctx *ctx, const hl_profile *p)
{
    int i;
    for (i = 0; i < HL__MAX_VENUES; i++)
        if (ctx->venues[i].profile == p) return i;
    for (i = 0; i < HL__MAX_VENUES; i++)
        if (!ctx->venues[i].profile) {
            hl__venue *v = &ctx->venues[i];
            uint32_t rate = ctx->cfg.ws_msgs_per_minute ? ctx->cfg.ws_msgs_per_minute : p->msgs_per_minute;
            if (rate == HL_UNLIMITED) rate = 0;
            v->profile = p;
            hl__bucket_init(&v->msgs, rate, rate, hl__now(ctx));
            v->max_subs = ctx->cfg.max_subscriptions_venue ? ctx->cfg.max_subscriptions_venue : p->max_subscriptions;
            if (v->max_subs == HL_UNLIMITED) v->max_subs = 0;
            return i;
        }
    return -1;
}

/* Take an outbound message token of the connection's venue: 0, or ns to wait. */
static uint64_t hl__venue_take(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    if (c->venue < 0) return 0;
    return hl__bucket_take(&ctx->venues[c->venue].msgs, now, 1);
}

static void hl__set_deadline(hl_ctx *ctx, hl__conn *c, uint32_t ms)
{
    c->deadline = hl__now(ctx) + (uint64_t)ms * HL__NS_PER_MS;
}

static hl__conn *hl__conn_get(hl_ctx *ctx, hl_ws ws)
{
    uint32_t idx = (ws.id & 0xFFFFu) - 1;
    if (!ctx || ws.id == 0 || idx >= ctx->cfg.max_connections) return NULL;
    if (ctx->conns[idx].id != ws.id) return NULL;
    return &ctx->conns[idx];
}

#if HL_ENABLE_TLS
/* A host written as an IPv4 address: no certificate name can vouch for it. */
static int hl__is_ipv4_literal(const char *h)
{
    for (; *h; h++)
        if (!((*h >= '0' && *h <= '9') || *h == '.')) return 0;
    return 1;
}
#endif

static hl_ws hl__conn_handle(const hl__conn *c)
{
    hl_ws h;
    h.id = c->id;
    return h;
}

/* Take the free slot c for a new connection: a fresh handle and a clean state. The caller sets
   what kind of connection it is. */
static void hl__conn_claim(hl_ctx *ctx, hl__conn *c)
{
    uint32_t gen = (c->gen + 1) & 0xFFFFu;
    c->gen = gen ? gen : 1;
    c->id = c->gen << 16 | (uint32_t)(c - ctx->conns + 1);
    c->state = HL_STATE_IDLE;
    c->fd = HL_INVALID_SOCKET;
    c->deadline = c->wake = 0;
    c->subprotocols[0] = c->protocol[0] = '\0';
    c->headers = NULL;
    c->on_event = NULL;
    c->user = NULL;
    c->naddrs = c->addr_i = 0;
    c->stop = c->io_error = 0;
    c->close_origin = (hl_close_origin)0;
    HL_MEMSET(&c->err, 0, sizeof c->err);
    hl__wsp_reset(&c->ws);
    HL_MEMSET(&c->ws.stats, 0, sizeof c->ws.stats);
    c->tls = 0;
    c->npins = 0;
    c->reconnect = 0;
    HL_MEMSET(&c->backoff, 0, sizeof c->backoff);
    HL_MEMSET(&c->bcfg, 0, sizeof c->bcfg);
    hl__backoff_resolve(&c->backoff, &c->backoff);
    hl__breaker_config_resolve(&c->bcfg, &c->bcfg);
    HL_MEMSET(&c->breaker, 0, sizeof c->breaker);
    c->attempt = 0;
    c->retry_after_ns = c->healthy_at = 0;
    c->profile = NULL;
    c->venue = -1;
    c->ping_ms = c->pong_timeout_ms = c->app_ping_ms = c->silence_ms = 0;
    c->ping_sent_at = c->app_ping_sent_at = 0;
    c->sub_first = c->sub_last = -1;
    c->held_by_queue = c->kick = c->batch_events = c->in_batch = 0;
    c->kind = HL__KIND_WS;
    c->hreq = c->origin = -1;
    c->idle_until = c->first_byte_by = 0;
    c->got_bytes = c->served = c->held = c->keep_after_hold = 0;
    c->connect_ms = 0;
}


/* The current attempt is over: the slot was freed, or it waits to reconnect. */
static int hl__gone(const hl__conn *c)
{
    return c->id == 0 || c->state == HL_STATE_BACKOFF || c->state == HL_STATE_CLOSED;
}

static void hl__log(hl_ctx *ctx, hl_log_level level, uint32_t id, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    if (!ctx->cfg.log || level > ctx->cfg.log_level) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->cfg.log(ctx->cfg.user, level, id, msg);
}

/* ---- events ---- */

static void hl__emit(hl_ctx *ctx, hl__conn *c, hl_event *ev)
{
    ev->ws.id = c->id;
    ev->user = c->user;
    if (!ev->detail) ev->detail = "";
    if (!ev->reason) ev->reason = "";
    if (!ev->protocol) ev->protocol = "";
    if (!c->on_event) return; /* the HTTP pool's connections report through their requests */
    ctx->events++;
    c->on_event(ctx, ev);
}

static void hl__event_init(hl_event *ev, hl_event_type type)
{
    HL_MEMSET(ev, 0, sizeof *ev);
    ev->type = type;
}

static void hl__set_state_ex(hl_ctx *ctx, hl__conn *c, hl_state s, int result, uint32_t delay_ms)
{
    hl_event ev;
    if (c->state == s) return;
    hl__event_init(&ev, HL_EV_STATE);
    ev.prev_state = c->state;
    ev.state = s;
    ev.result = result;
    ev.detail = result ? c->err.detail : "";
    ev.delay_ms = delay_ms;
    ev.attempt = c->attempt;
    c->state = s;
    hl__log(ctx, HL_LOG_DEBUG, c->id, "state %s -> %s%s%s", hl_state_str(ev.prev_state),
            hl_state_str(s), result ? ": " : "", result ? c->err.detail : "");
    hl__emit(ctx, c, &ev);
}

static void hl__set_state(hl_ctx *ctx, hl__conn *c, hl_state s, int result)
{
    hl__set_state_ex(ctx, c, s, result, 0);
}

/* Record the reason a connection fails; the first reason wins. */
static void hl__set_error(hl__conn *c, int result, int sys_errno, const char *fmt, ...)
{
    va_list ap;
    if (c->err.result) return;
    c->err.result = result;
    c->err.sys_errno = sys_errno;
    va_start(ap, fmt);
    vsnprintf(c->err.detail, sizeof c->err.detail, fmt, ap);
    va_end(ap);
}

static void hl__emit_error(hl_ctx *ctx, hl__conn *c, const unsigned char *data, size_t len)
{
    hl_event ev;
    hl__event_init(&ev, HL_EV_ERROR);
    ev.result = c->err.result;
    ev.detail = c->err.detail;
    ev.http_status = c->err.http_status;
    ev.data = data;
    ev.len = len;
    hl__log(ctx, HL_LOG_WARN, c->id, "%s: %s", hl_result_name(c->err.result), c->err.detail);
    hl__emit(ctx, c, &ev);
}

#if HL_ENABLE_TLS
/* Trust anchors are parsed on the first wss:// or https:// use (reading a bundle takes tens of
   milliseconds). */
static int hl__tls_anchors_ready(hl_ctx *ctx, char *why, size_t cap)
{
    int rc;
    if (ctx->anchors.loaded || ctx->cfg.tls_insecure) return HL_OK;
    if (ctx->cfg.tls_anchors) {
        if (!ctx->cfg.tls_anchor_count) {
            hl__fmt(why, cap, "tls_anchors is set but tls_anchor_count is 0");
            return HL_E_INVALID;
        }
        ctx->anchors.base = (unsigned char *)(uintptr_t)ctx->cfg.tls_anchors; /* read only */
        ctx->anchors.cap = ctx->cfg.tls_anchor_count * sizeof(br_x509_trust_anchor);
        ctx->anchors.count = ctx->cfg.tls_anchor_count;
        ctx->anchors.loaded = 1;
        return HL_OK;
    }
    rc = hl__anchors_load(&ctx->anchors, &ctx->cfg, why, cap);
    if (rc == HL_OK)
        hl__log(ctx, HL_LOG_INFO, 0, "loaded %u trust anchors (%u bytes) from %s", (unsigned)ctx->anchors.count,
                (unsigned)ctx->anchors.bytes_used, ctx->anchors.source);
    return rc;
}
#endif
/* ==== end context.c ==== */
/* ==== begin ws_conn.c ==== */
/* A WebSocket connection's life: resolve, connect (each address in turn), TLS, upgrade, the
   byte stream, reading, and the end of an attempt, which either waits and reconnects (backoff,
   breaker, connect budget) or ends the connection for good. */

typedef struct hl__sink_ctx {
    hl_ctx *ctx;
    hl__conn *c;
} hl__sink_ctx;

static void hl__batch_begin(hl_ctx *ctx, hl__conn *c)
{
    hl_event ev;
    if (!c->batch_events || c->in_batch) return;
    c->in_batch = 1;
    hl__event_init(&ev, HL_EV_BATCH_BEGIN);
    hl__emit(ctx, c, &ev);
}

static int hl__on_message(void *user, int is_text, const unsigned char *p, size_t n)
{
    hl__sink_ctx *s = (hl__sink_ctx *)user;
    hl_event ev;
    hl__batch_begin(s->ctx, s->c);
    s->c->ws.stats.last_msg_ns = s->c->last_rx;
    if (s->c->profile && is_text) return hl__subs_on_text(s->ctx, s->c, p, n);
    hl__event_init(&ev, HL_EV_MESSAGE);
    ev.data = p;
    ev.len = n;
    ev.is_text = is_text;
    hl__emit(s->ctx, s->c, &ev);
    return 0;
}

static void hl__on_pong(void *user, const unsigned char *p, size_t n)
{
    hl__sink_ctx *s = (hl__sink_ctx *)user;
    hl_event ev;
    hl__event_init(&ev, HL_EV_PONG);
    hl__live_pong(s->ctx, s->c, p, n, &ev.rtt_ns);
    ev.data = p;
    ev.len = n;
    hl__emit(s->ctx, s->c, &ev);
}

/* ---- the byte stream: plain TCP or TLS ---- */

#if HL_ENABLE_TLS
#define HL__TLS_FAIL_OR_NONE HL__TLS_FAIL
#else
#define HL__TLS_FAIL_OR_NONE (-1001)
#endif
#define HL__IO_TLS (-77777) /* hl__conn_flush: the TLS engine failed */

/* Same conventions as hl__sys_recv/send, plus HL__TLS_FAIL when TLS is on. */
static long hl__conn_recv(hl__conn *c, unsigned char *p, size_t n, int *err)
{
#if HL_ENABLE_TLS
    if (c->tls) return hl__tls_recv(c->t, c->fd, p, n, err);
#endif
    return hl__net_recv(c->tp, c->fd, p, n, err);
}

static long hl__conn_send(hl__conn *c, const unsigned char *p, size_t n, int *err)
{
#if HL_ENABLE_TLS
    if (c->tls) return hl__tls_send(c->t, c->fd, p, n, err);
#endif
    return hl__net_send(c->tp, c->fd, p, n, err);
}

/* Send what the queue holds until the socket would block. Returns 0, the errno, or
   HL__IO_TLS. */
static int hl__conn_flush(hl__conn *c)
{
    for (;;) {
        size_t n;
        const unsigned char *p = hl__wsp_tx_buf(&c->ws, &n);
        long w;
        int e = 0;
        if (n == 0) return 0;
        w = hl__conn_send(c, p, n, &e);
        if (w == HL__AGAIN) return 0;
        if (w == HL__TLS_FAIL_OR_NONE) return HL__IO_TLS;
        if (w < 0) return e ? e : -1;
        hl__wsp_tx_ack(&c->ws, (size_t)w);
    }
}

/* ---- the end of an attempt ---- */

/* Back to a fresh connection state, keeping registry, stats and policy. */
static void hl__conn_reset_attempt(hl__conn *c)
{
    hl__wsp_reset(&c->ws);
    HL_MEMSET(&c->err, 0, sizeof c->err);
    c->stop = 0;
    c->io_error = 0;
    c->close_origin = (hl_close_origin)0;
    c->retry_after_ns = 0;
    c->held_by_queue = 0;
    c->kick = 0;
    c->protocol[0] = '\0';
    c->naddrs = c->addr_i = 0;
}

/* The attempt is over: close the socket; then wait and reconnect when that is on and the
   failure is retryable, else end for good (HL_EV_CLOSE, slot freed). */
static void hl__conn_finish(hl_ctx *ctx, hl__conn *c)
{
    uint64_t now;
    hl_ws_stats *st = &c->ws.stats;
    hl_event ev;
    int final, code;
    const char *reason = "";
    if (c->kind == HL__KIND_HTTP) {
        hl__http_conn_end(ctx, c);
        return;
    }
    now = hl__now(ctx);
#if HL_ENABLE_TLS
    if (c->tls) {
        if (c->err.result) c->t->session_ok = 0; /* resume only after a clean end */
        else if (c->fd != HL_INVALID_SOCKET) hl__tls_close(c->t, c->fd);
    }
#endif
    if (c->fd != HL_INVALID_SOCKET) {
        hl__net_close(c->tp, c->fd);
        c->fd = HL_INVALID_SOCKET;
    }
    c->deadline = 0;
    if (st->opened_at_ns) {
        st->connected_ns += now - st->opened_at_ns;
        st->opened_at_ns = 0;
        st->disconnects++;
        st->last_disconnect_ns = now;
        st->last_disconnect_result = c->err.result;
    }
    if (c->ws.close_recv) {
        code = c->ws.recv_code;
        reason = c->ws.recv_reason;
    } else {
        code = c->ws.sent_code && c->ws.failed ? c->ws.sent_code : 1006;
    }
    c->err.close_code = code;
    /* a connection that never became healthy counts against the breaker */
    hl__live_healthy(c, now);
    if (c->healthy_at && c->close_origin != HL_CLOSE_BY_LOCAL && c->state != HL_STATE_BACKOFF) {
        hl__breaker_record(&c->breaker, &c->bcfg, now, 0);
        st->breaker_opens = c->breaker.opens;
    }
    final = !c->reconnect || c->close_origin == HL_CLOSE_BY_LOCAL || c->stop ||
            !hl_err_retryable(c->err.result, c->err.http_status) ||
            (c->backoff.max_attempts && c->attempt >= c->backoff.max_attempts);
    hl__set_state(ctx, c, HL_STATE_CLOSED, c->err.result);
    if (final) {
        hl__event_init(&ev, HL_EV_CLOSE);
        ev.result = c->err.result;
        ev.detail = c->err.detail;
        ev.close_origin = c->close_origin;
        ev.close_code = code;
        ev.reason = reason;
        hl__emit(ctx, c, &ev);
        hl__subs_free_all(ctx, c);
        c->id = 0; /* the handle is dead from here on */
        return;
    }
    {
        uint32_t delay;
        c->attempt++;
        delay = hl__backoff_delay(&c->backoff, c->attempt, hl__rand32(ctx));
        if (c->retry_after_ns > (uint64_t)delay * HL__NS_PER_MS)
            delay = (uint32_t)HL__MIN(c->retry_after_ns / HL__NS_PER_MS, (uint64_t)0x7FFFFFFF);
        if (c->breaker.state == HL_BREAKER_OPEN) {
            uint64_t cool = (uint64_t)c->bcfg.cooldown_ms * HL__NS_PER_MS, gone = now - c->breaker.opened_at;
            if (gone < cool && (cool - gone) / HL__NS_PER_MS > delay) delay = (uint32_t)((cool - gone) / HL__NS_PER_MS);
        }
        hl__subs_connection_lost(ctx, c, now);
        hl__event_init(&ev, HL_EV_DISCONNECT);
        ev.result = c->err.result;
        ev.detail = c->err.detail;
        ev.close_origin = c->close_origin;
        ev.close_code = code;
        ev.reason = reason;
        ev.http_status = c->err.http_status;
        ev.delay_ms = delay;
        ev.attempt = c->attempt;
        hl__log(ctx, HL_LOG_INFO, c->id, "disconnected (%s%s%s), reconnecting in %u ms (attempt %u)",
                hl_result_name(c->err.result), c->err.detail[0] ? ": " : "", c->err.detail, (unsigned)delay,
                (unsigned)c->attempt);
        hl__emit(ctx, c, &ev);
        if (hl__gone(c) && c->state != HL_STATE_CLOSED) return; /* the callback gave up on it */
        if (c->id == 0) return;
        c->deadline = now + (uint64_t)delay * HL__NS_PER_MS;
        hl__set_state_ex(ctx, c, HL_STATE_BACKOFF, c->err.result, delay);
        hl__conn_reset_attempt(c);
    }
}

/* Fail now: error event, then the end of the attempt, without a closing handshake. */
static void hl__conn_fail(hl_ctx *ctx, hl__conn *c, int result, int sys_errno, const char *fmt, ...)
{
    if (!c->err.result) {
        va_list ap;
        c->err.result = result;
        c->err.sys_errno = sys_errno;
        va_start(ap, fmt);
        vsnprintf(c->err.detail, sizeof c->err.detail, fmt, ap);
        va_end(ap);
        if (!c->close_origin) c->close_origin = HL_CLOSE_BY_ERROR;
        hl__emit_error(ctx, c, NULL, 0);
    }
    hl__conn_finish(ctx, c);
}

/* Enter CLOSING: the close handshake (or a failure's close frame) is under way. */
static void hl__conn_closing(hl_ctx *ctx, hl__conn *c)
{
    if (c->state == HL_STATE_CLOSING) return;
    hl__set_deadline(ctx, c, ctx->cfg.close_timeout_ms);
    hl__set_state(ctx, c, HL_STATE_CLOSING, c->err.result);
}

/* ---- connecting ---- */

static int hl__connect_errno_result(int e)
{
    if (e == HL__ECONNREFUSED) return HL_E_CONNECT_REFUSED;
    if (e == HL__ETIMEDOUT) return HL_E_CONNECT_TIMEOUT;
    return HL_E_CONNECT;
}

static void hl__upgrade_start(hl_ctx *ctx, hl__conn *c);
static void hl__tcp_connected(hl_ctx *ctx, hl__conn *c);
static void hl__io_fail(hl_ctx *ctx, hl__conn *c, int e, const char *what);

/* Try the addresses from addr_i on until one connects or is in progress. */
static void hl__connect_next(hl_ctx *ctx, hl__conn *c, int last_result, int last_errno)
{
    char why[96];
    while (c->addr_i < c->naddrs) {
        const hl_addr *a = &c->addrs[c->addr_i++];
        int e = 0, r = hl__net_open(c->tp, a, &c->fd, &e);
        if (r >= 0) {
            hl__set_deadline(ctx, c, c->connect_ms ? c->connect_ms : ctx->cfg.connect_timeout_ms);
            hl__set_state(ctx, c, HL_STATE_CONNECTING, HL_OK);
            if (r == 0) hl__tcp_connected(ctx, c);
            return;
        }
        c->fd = HL_INVALID_SOCKET;
        last_result = hl__connect_errno_result(e);
        last_errno = e;
    }
    if (last_result == HL_E_CONNECT_TIMEOUT && !last_errno) {
        hl__conn_fail(ctx, c, last_result, 0, "connect to %s:%u timed out after %u ms (connect_timeout_ms)",
                      c->url.host, (unsigned)c->url.port,
                      (unsigned)(c->connect_ms ? c->connect_ms : ctx->cfg.connect_timeout_ms));
        return;
    }
    hl__sys_strerror(last_errno, why, sizeof why);
    hl__conn_fail(ctx, c, last_result, last_errno, "connect to %s:%u failed: %s", c->url.host,
                  (unsigned)c->url.port, why);
}

/* Start an attempt when the breaker and the connect budget allow; else wait in BACKOFF. */
static void hl__conn_try_start(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    uint64_t wait = 0;
    int n;
    if (!hl__breaker_allow(&c->breaker, &c->bcfg, now, &wait)) {
        c->deadline = now + wait;
        hl__set_error(c, HL_E_CIRCUIT_OPEN, 0, "circuit breaker open after %u failures; next probe in %u ms",
                      (unsigned)c->breaker.consecutive, (unsigned)(wait / HL__NS_PER_MS));
        hl__set_state_ex(ctx, c, HL_STATE_BACKOFF, HL_E_CIRCUIT_OPEN, (uint32_t)(wait / HL__NS_PER_MS));
        HL_MEMSET(&c->err, 0, sizeof c->err);
        return;
    }
    /* the venue budget is for WebSocket connections; the HTTP pool reuses its few */
    wait = c->kind == HL__KIND_WS ? hl__bucket_take(&ctx->connects, now, 1) : 0;
    if (wait) {
        c->breaker.probe_out = 0; /* not made: the probe is still to come */
        c->deadline = now + wait;
        hl__log(ctx, HL_LOG_INFO, c->id, "connect budget (connects_per_minute %u) spent: waiting %u ms",
                (unsigned)ctx->cfg.connects_per_minute, (unsigned)(wait / HL__NS_PER_MS));
        return;
    }
    c->deadline = 0;
    c->healthy_at = 1; /* not healthy until it has been open for healthy_ms */
    c->ws.stats.attempts++;
    if (c->ws.stats.attempts > 1) c->ws.stats.reconnects++;
    hl__set_state(ctx, c, HL_STATE_RESOLVING, HL_OK);
    n = ctx->cfg.resolve(ctx->cfg.user, c->url.host, c->url.port, c->addrs, HL__MAX_ADDRS);
    if (n <= 0) {
        hl__conn_fail(ctx, c, n < 0 ? n : HL_E_DNS, 0, "cannot resolve '%s'", c->url.host);
        return;
    }
    c->naddrs = n;
    c->addr_i = 0;
    hl__connect_next(ctx, c, HL_E_CONNECT, 0);
}

/* TCP is up: write the upgrade request into the send queue. */
static void hl__upgrade_start(hl_ctx *ctx, hl__conn *c)
{
    hl_header hdrs[HL_MAX_EXTRA_HEADERS];
    unsigned char raw[16];
    int nh = 0, i, len;
    size_t room;
    if (c->headers) {
        nh = c->headers(c->headers_user, hdrs, HL_MAX_EXTRA_HEADERS);
        if (nh < 0) {
            hl__conn_fail(ctx, c, nh, 0, "header provider refused the connect (%s)", hl_result_name(nh));
            return;
        }
        if (nh > HL_MAX_EXTRA_HEADERS) nh = HL_MAX_EXTRA_HEADERS;
        for (i = 0; i < nh; i++) {
            char why[120];
            if (hl__ws_header_check(&hdrs[i], why, sizeof why) != HL_OK) {
                hl__conn_fail(ctx, c, HL_E_INVALID, 0, "%s", why);
                return;
            }
        }
    }
    hl__rng_bytes(&ctx->rng, raw, sizeof raw);
    hl__base64_encode(raw, sizeof raw, c->key);
    room = HL__MIN(c->ws.tx_cap, (size_t)ctx->cfg.max_header_size);
    len = hl__ws_request_write((char *)c->ws.tx, room, &c->url, c->key, c->subprotocols, hdrs, nh);
    if (len < 0) {
        hl__conn_fail(ctx, c, HL_E_HEADER_TOO_BIG, 0, "upgrade request over max_header_size (%u)",
                      (unsigned)ctx->cfg.max_header_size);
        return;
    }
    c->ws.tx_head = 0;
    c->ws.tx_tail = (size_t)len;
    hl__set_deadline(ctx, c, ctx->cfg.handshake_timeout_ms);
    hl__set_state(ctx, c, HL_STATE_UPGRADING, HL_OK);
}

#if HL_ENABLE_TLS
static void hl__tls_fail(hl_ctx *ctx, hl__conn *c)
{
    char why[160];
    int rc = hl__tls_error(c->t, c->url.host, why, sizeof why);
    c->err.tls_error = br_ssl_engine_last_error(&c->t->cc.eng);
    c->t->session_ok = 0;
    hl__conn_fail(ctx, c, rc, 0, "TLS with %s:%u: %s", c->url.host, (unsigned)c->url.port, why);
}

/* Pump the TLS handshake; on success go on to the WebSocket upgrade. */
static void hl__tls_step(hl_ctx *ctx, hl__conn *c)
{
    int e = 0, r = hl__tls_handshake(c->t, c->fd, &e);
    if (r == 0) return;
    if (r == HL__TLS_FAIL) {
        hl__tls_fail(ctx, c);
        return;
    }
    if (r < 0) {
        if (r == -2) e = HL__ECONNRESET;
        hl__io_fail(ctx, c, e, "TLS handshake");
        return;
    }
    hl__tls_established(c->t, !(c->url.is_ipv6 || hl__is_ipv4_literal(c->url.host)));
    if (c->t->resumed) ctx->stats.tls_handshakes_resumed++;
    else ctx->stats.tls_handshakes_full++;
    hl__log(ctx, HL_LOG_DEBUG, c->id, "TLS established (%s handshake)", c->t->resumed ? "resumed" : "full");
    if (c->kind == HL__KIND_HTTP) hl__http_conn_ready(ctx, c);
    else hl__upgrade_start(ctx, c);
}
#endif

/* TCP is up: start TLS for wss://, else go straight to the upgrade. */
static void hl__tcp_connected(hl_ctx *ctx, hl__conn *c)
{
#if HL_ENABLE_TLS
    if (c->tls) {
        unsigned char seed[32];
        int ip_host = c->url.is_ipv6 || hl__is_ipv4_literal(c->url.host);
        if (ctx->cfg.entropy(ctx->cfg.user, seed, sizeof seed) != 0) {
            hl__conn_fail(ctx, c, HL_E_TLS, 0, "entropy source failed");
            return;
        }
        if (ctx->cfg.tls_insecure)
            hl__log(ctx, HL_LOG_WARN, c->id, "tls_insecure is set: the certificate of %s is NOT verified",
                    c->url.host);
        if (hl__tls_start(c->t, &ctx->anchors, &ctx->cfg, c->url.host, ip_host, c->url.port, c->pins, c->npins,
                          seed, ctx->cfg.wall_clock(ctx->cfg.user)) != HL_OK) {
            HL_MEMSET(seed, 0, sizeof seed);
            hl__tls_fail(ctx, c);
            return;
        }
        HL_MEMSET(seed, 0, sizeof seed);
        hl__set_deadline(ctx, c, ctx->cfg.handshake_timeout_ms);
        hl__set_state(ctx, c, HL_STATE_TLS_HANDSHAKE, HL_OK);
        hl__tls_step(ctx, c);
        return;
    }
#endif
    if (c->kind == HL__KIND_HTTP) hl__http_conn_ready(ctx, c);
    else hl__upgrade_start(ctx, c);
}

/* The whole response head is in the receive buffer: check it and open, or report refusal. */
static void hl__upgrade_response(hl_ctx *ctx, hl__conn *c, int eof)
{
    hl__ws_response r;
    hl__wsp *p = &c->ws;
    char why[160];
    uint64_t now;
    int h = hl__ws_response_parse((const char *)p->rx, p->fill, ctx->cfg.max_header_size, &r, why, sizeof why);
    if (h == 0) {
        if (eof) hl__conn_fail(ctx, c, HL_E_EOF, 0, "server closed the connection during the handshake");
        return;
    }
    if (h < 0) {
        hl__conn_fail(ctx, c, h, 0, "%s", why);
        return;
    }
    if (r.status != 101) {
        size_t body = p->fill - (size_t)h;
        /* keep the refusal's body: wait for Content-Length bytes while they fit, or EOF */
        if (!eof && r.content_length > 0 && (size_t)r.content_length > body &&
            (size_t)h + (size_t)r.content_length <= p->rx_cap)
            return;
        if (r.content_length >= 0 && body > (size_t)r.content_length) body = (size_t)r.content_length;
        if (r.retry_after) {
            int64_t ra = hl__retry_after_ns(r.retry_after, r.retry_after_len, ctx->cfg.wall_clock(ctx->cfg.user));
            if (ra > 0) c->retry_after_ns = (uint64_t)ra;
        }
        c->err.result = HL_E_HANDSHAKE;
        c->err.http_status = r.status;
        hl__fmt(c->err.detail, sizeof c->err.detail, "server refused the upgrade with HTTP %d", r.status);
        c->close_origin = HL_CLOSE_BY_ERROR;
        hl__emit_error(ctx, c, p->rx + h, body);
        hl__conn_finish(ctx, c);
        return;
    }
    if (hl__ws_response_check(&r, c->key, c->subprotocols, why, sizeof why) != HL_OK) {
        hl__conn_fail(ctx, c, HL_E_HANDSHAKE, 0, "%s", why);
        return;
    }
    if (r.protocol_len) {
        HL_MEMCPY(c->protocol, r.protocol, r.protocol_len); /* < 128: checked as offered */
        c->protocol[r.protocol_len] = '\0';
    }
    p->rd = p->msg_start = p->wr = (size_t)h; /* frames may follow the head at once */
    now = hl__now(ctx);
    c->deadline = 0;
    c->ws.stats.connects++;
    c->ws.stats.opened_at_ns = now;
    c->healthy_at = now + (uint64_t)c->backoff.healthy_ms * HL__NS_PER_MS;
    hl__live_open(ctx, c, now);
    hl__set_state(ctx, c, HL_STATE_OPEN, HL_OK);
    if (hl__gone(c)) return;
    {
        hl_event ev;
        hl__event_init(&ev, HL_EV_OPEN);
        ev.protocol = c->protocol;
        hl__emit(ctx, c, &ev);
    }
    if (!hl__gone(c)) hl__subs_connection_open(c);
}

/* ---- I/O ---- */

static void hl__io_fail(hl_ctx *ctx, hl__conn *c, int e, const char *what)
{
    char why[96];
#if HL_ENABLE_TLS
    if (e == HL__IO_TLS) {
        hl__tls_fail(ctx, c);
        return;
    }
#endif
    hl__sys_strerror(e, why, sizeof why);
    hl__conn_fail(ctx, c, e == HL__ECONNRESET ? HL_E_RESET : HL_E_IO, e, "%s failed: %s", what, why);
}

/* The peer closed TCP. After the closing handshake (or our failure's close) that is the normal
   end; before it, the connection dropped. */
static void hl__conn_eof(hl_ctx *ctx, hl__conn *c)
{
    if (c->ws.close_recv || c->ws.failed || c->state == HL_STATE_CLOSING) {
        if (!c->ws.close_recv && !c->ws.failed)
            hl__set_error(c, HL_E_EOF, 0, "server closed TCP before answering our close frame");
        hl__conn_finish(ctx, c);
        return;
    }
    if (c->state == HL_STATE_UPGRADING) {
        hl__upgrade_response(ctx, c, 1);
        if (hl__gone(c)) return;
    }
    hl__conn_fail(ctx, c, HL_E_EOF, 0, "server closed TCP without a close frame");
}

/* Parse what the receive buffer holds, delivering messages. */
static void hl__conn_parse(hl_ctx *ctx, hl__conn *c, const hl__wsp_sink *sink)
{
    if (hl__wsp_recv(&c->ws, sink, &c->stop) != HL_OK && !c->err.result) {
        c->err.result = c->ws.result;
        c->close_origin = HL_CLOSE_BY_ERROR;
        hl__fmt(c->err.detail, sizeof c->err.detail, "%s", c->ws.detail);
        hl__emit_error(ctx, c, NULL, 0);
    }
    if (hl__gone(c) || c->stop) return;
    if (c->ws.close_recv || c->ws.failed) {
        if (c->ws.close_recv && !c->close_origin) c->close_origin = HL_CLOSE_BY_PEER;
        hl__conn_closing(ctx, c);
    }
}

/* Read and process until the socket would block (bounded per pass), unless a full queue holds
   a message back. */
static void hl__conn_read(hl_ctx *ctx, hl__conn *c)
{
    hl__sink_ctx sc;
    hl__wsp_sink sink;
    int i;
    sc.ctx = ctx;
    sc.c = c;
    sink.message = hl__on_message;
    sink.pong = hl__on_pong;
    sink.user = &sc;
    c->in_batch = 0;
    if (c->ws.held && (c->state == HL_STATE_OPEN || c->state == HL_STATE_CLOSING)) hl__conn_parse(ctx, c, &sink);
    for (i = 0; i < HL__READS_PER_PASS && !hl__gone(c) && !c->stop && !c->ws.held; i++) {
        size_t room;
        unsigned char *dst = hl__wsp_rx_buf(&c->ws, &room);
        int e = 0;
        long r;
        if (room == 0) {
            /* Cannot happen with the buffer sized max message + chunk; guard anyway. */
            hl__conn_fail(ctx, c, HL_E_MSG_TOO_BIG, 0, "receive buffer full (max_message_size)");
            break;
        }
        r = hl__conn_recv(c, dst, room, &e);
        if (r == HL__AGAIN) break;
        if (r == HL__TLS_FAIL_OR_NONE) e = HL__IO_TLS;
        if (r < 0) {
            if (c->state == HL_STATE_CLOSING && (c->ws.close_recv || c->ws.failed)) {
                hl__conn_finish(ctx, c); /* a reset after the close exchange ends it all the same */
                break;
            }
            hl__io_fail(ctx, c, e, "recv");
            break;
        }
        if (r == 0) {
            hl__conn_eof(ctx, c);
            break;
        }
        c->last_rx = hl__now(ctx);
        if (c->ws.close_recv || c->ws.failed) continue; /* after close: read and discard */
        hl__wsp_rx_ack(&c->ws, (size_t)r);
        if (c->state == HL_STATE_UPGRADING) {
            hl__upgrade_response(ctx, c, 0);
            if (hl__gone(c) || c->state != HL_STATE_OPEN) continue;
        }
        hl__conn_parse(ctx, c, &sink);
        if (hl__gone(c) || c->stop) break;
        if (c->ws.close_sent && !c->ws.close_recv && !c->ws.failed) break; /* send our close first */
    }
    if (c->in_batch && c->id) {
        hl_event ev;
        c->in_batch = 0;
        hl__event_init(&ev, HL_EV_BATCH_END);
        hl__emit(ctx, c, &ev);
    }
}
/* ==== end ws_conn.c ==== */
/* ==== begin http_client.c ==== */
/* The HTTP/1.1 client: a first-come-first-served request queue, a keep-alive pool made of the
   context's connection slots (at most http_max_per_origin per origin, closed after
   http_idle_timeout_ms idle), one request at a time per connection, and per attempt: the
   endpoint's circuit breaker, the origin's weight budget, time to first byte and total timeouts.
   A failed attempt is retried with backoff (or the server's Retry-After) only when the request
   is idempotent and the failure is retryable; a pooled connection the server closed while it
   sat idle costs one free retry on a fresh connection. */

static hl__hreq *hl__hreq_get(hl_ctx *ctx, hl_http h)
{
    uint32_t idx = (h.id & 0xFFFFu) - 1;
    if (!ctx || h.id == 0 || idx >= ctx->cfg.http_max_requests) return NULL;
    if (ctx->hreqs[idx].id != h.id || ctx->hreqs[idx].state == HL__HREQ_FREE) return NULL;
    return &ctx->hreqs[idx];
}

static int32_t hl__origin_of(hl_ctx *ctx, const hl_url *u)
{
    uint32_t i;
    int32_t free_slot = -1;
    for (i = 0; i < ctx->cfg.http_max_endpoints; i++) {
        hl__origin *o = &ctx->origins[i];
        if (!o->used) {
            if (free_slot < 0) free_slot = (int32_t)i;
            continue;
        }
        if (o->scheme == u->scheme && o->port == u->port && strcmp(o->host, u->host) == 0) return (int32_t)i;
    }
    if (free_slot >= 0) {
        hl__origin *o = &ctx->origins[free_slot];
        uint32_t w = ctx->cfg.http_weight_per_minute;
        HL_MEMSET(o, 0, sizeof *o);
        o->used = 1;
        o->scheme = u->scheme;
        o->port = u->port;
        o->is_ipv6 = u->is_ipv6;
        HL_MEMCPY(o->host, u->host, strlen(u->host) + 1);
        hl__bucket_init(&o->weight, w == HL_UNLIMITED ? 0 : w, w, hl__now(ctx));
    }
    return free_slot;
}

static int32_t hl__endpoint_of(hl_ctx *ctx, int32_t origin, const char *target)
{
    size_t n = strcspn(target, "?");
    uint64_t h = hl__fnv1a(hl__fnv1a(HL__FNV_INIT, &origin, sizeof origin), target, n);
    uint32_t i;
    int32_t free_slot = -1;
    for (i = 0; i < ctx->cfg.http_max_endpoints; i++) {
        hl__endpoint *e = &ctx->endpoints[i];
        if (!e->used) {
            if (free_slot < 0) free_slot = (int32_t)i;
        } else if (e->origin == origin && e->path_hash == h) {
            return (int32_t)i;
        }
    }
    if (free_slot >= 0) {
        hl__endpoint *e = &ctx->endpoints[free_slot];
        HL_MEMSET(e, 0, sizeof *e);
        e->used = 1;
        e->origin = origin;
        e->path_hash = h;
        hl__fmt(e->path, sizeof e->path, "%.*s", (int)HL__MIN(n, sizeof e->path - 1), target);
    }
    return free_slot;
}

static void hl__http_latency(hl__endpoint *e, uint64_t ns)
{
    uint64_t us = ns / 1000;
    int b = 0;
    while (b < HL__HTTP_LAT_BUCKETS - 1 && us >= (16ull << b)) b++;
    e->lat_hist[b]++;
    if (!e->lat_count || ns < e->lat_min_ns) e->lat_min_ns = ns;
    if (ns > e->lat_max_ns) e->lat_max_ns = ns;
    e->lat_sum_ns += ns;
    e->lat_count++;
}

static void hl__http_count_error(hl__endpoint *e, int result)
{
    switch (result) {
    case HL_E_CONNECT_TIMEOUT: case HL_E_REQUEST_TIMEOUT: case HL_E_HANDSHAKE_TIMEOUT: e->err_timeout++; break;
    case HL_E_TLS: case HL_E_TLS_CERT: e->err_tls++; break;
    case HL_E_HTTP_PROTOCOL: case HL_E_HEADER_TOO_BIG: case HL_E_MSG_TOO_BIG: e->err_protocol++; break;
    case HL_E_CIRCUIT_OPEN: case HL_E_RATE_LIMITED: e->err_refused++; break;
    default: e->err_network++; break;
    }
}

static void hl__hreq_free(hl__hreq *q)
{
    q->state = HL__HREQ_FREE;
    q->conn = -1;
}

/* The request is over: its callback runs once, with the response when c is given. */
static void hl__http_finish(hl_ctx *ctx, hl__hreq *q, hl__conn *c, int result, const char *detail, uint64_t now)
{
    hl_http_response r;
    HL_MEMSET(&r, 0, sizeof r);
    hl__fmt(q->detail, sizeof q->detail, "%s", detail ? detail : "");
    if (q->hold) {
        q->state = HL__HREQ_HELD; /* the caller reads it after hl_http_fetch returned */
        if (!c) q->conn = -1;
    }
    r.result = result;
    r.detail = q->detail;
    r.attempts = q->attempts;
    r.latency_ns = now - q->start_ns;
    r.request_id = q->id_text;
    r.request.id = q->id;
    r.user = q->user;
    if (c && result == HL_OK) {
        r.status = c->hp.status;
        r.headers = c->hdrs;
        r.header_count = c->hp.nhdrs;
        r.body = c->ws.rx + c->hp.body_start;
        r.body_len = c->hp.wr - c->hp.body_start;
    }
    hl__log(ctx, result == HL_OK ? HL_LOG_DEBUG : HL_LOG_WARN, 0, "http %s %s -> %d%s%s in %.1f ms, %u attempt(s), request %s",
            q->method, q->target, r.status, result == HL_OK ? "" : " ", result == HL_OK ? "" : r.detail,
            (double)r.latency_ns / 1e6, (unsigned)q->attempts, q->id_text);
    if (q->state != HL__HREQ_HELD) hl__hreq_free(q);
    ctx->events++;
    q->cb(ctx, &r);
}

/* An attempt ended without a usable response: retry it, or finish with the error. */
static void hl__http_attempt_failed(hl_ctx *ctx, hl__hreq *q, int result, const char *detail, int stale_pooled,
                                    uint64_t now)
{
    hl__endpoint *e = &ctx->endpoints[q->endpoint];
    uint32_t delay;
    q->state = HL__HREQ_QUEUED;
    q->conn = -1;
    hl__http_count_error(e, result);
    if (stale_pooled && !q->fresh_retry_used && q->idempotent) {
        /* the server closed the pooled connection while it sat idle: once, at once, fresh */
        q->fresh_retry_used = 1;
        q->attempts--;
        q->next_try_ns = now;
        ctx->http_kick = 1;
        return;
    }
    hl__breaker_record(&e->breaker, &ctx->cfg.http_breaker, now, 0);
    if (!q->idempotent || !hl_err_retryable(result, 0) || q->attempts > q->max_retries || now >= q->deadline_ns) {
        char why[200];
        hl__fmt(why, sizeof why, "%s%s", detail,
                !q->idempotent && hl_err_retryable(result, 0) ? " (not retried: the request is not idempotent)" : "");
        hl__http_finish(ctx, q, NULL, result, why, now);
        return;
    }
    delay = hl__backoff_delay(&ctx->cfg.http_backoff, q->attempts, hl__rand32(ctx));
    q->next_try_ns = now + (uint64_t)delay * HL__NS_PER_MS;
    e->retries++;
    hl__log(ctx, HL_LOG_INFO, 0, "http %s %s attempt %u failed (%s: %s); retrying in %u ms, request %s", q->method,
            q->target, (unsigned)q->attempts, hl_result_name(result), detail, (unsigned)delay, q->id_text);
}

/* The response on c is whole: retry (5xx, 408, 429 on an idempotent request with time left) or
   deliver it. */
static void hl__http_response_done(hl_ctx *ctx, hl__conn *c, hl__hreq *q, uint64_t now)
{
    hl__endpoint *e = &ctx->endpoints[q->endpoint];
    int status = c->hp.status;
    e->by_class[status / 100 <= 5 ? status / 100 : 0]++;
    e->bytes_in += c->hp.wr - c->hp.body_start;
    hl__http_latency(e, now - q->start_ns);
    hl__breaker_record(&e->breaker, &ctx->cfg.http_breaker, now, status < 500);
    if ((status >= 500 || status == 408 || status == 429) && q->idempotent && q->attempts <= q->max_retries) {
        uint64_t wait;
        int64_t ra = c->hp.retry_after ? hl__retry_after_ns(c->hp.retry_after, strlen(c->hp.retry_after),
                                                            ctx->cfg.wall_clock(ctx->cfg.user))
                                       : -1;
        wait = (uint64_t)hl__backoff_delay(&ctx->cfg.http_backoff, q->attempts, hl__rand32(ctx)) * HL__NS_PER_MS;
        if (ra > 0 && (uint64_t)ra > wait) wait = (uint64_t)ra;
        if (now < q->deadline_ns && wait < q->deadline_ns - now) {
            hl__log(ctx, HL_LOG_INFO, 0, "http %s %s -> %d, retrying in %u ms%s, request %s", q->method, q->target,
                    status, (unsigned)(wait / HL__NS_PER_MS), ra > 0 ? " (Retry-After)" : "", q->id_text);
            e->retries++;
            q->state = HL__HREQ_QUEUED;
            q->conn = -1;
            q->next_try_ns = now + wait;
            return;
        }
    }
    if (q->hold) c->held = 1;
    hl__http_finish(ctx, q, c, HL_OK, "", now);
}

/* Put c back into the pool, idle, or close it. */
static void hl__http_conn_idle(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    c->hreq = -1;
    c->got_bytes = 0;
    c->first_byte_by = 0;
    c->ws.fill = 0;
    c->served = 1;
    c->idle_until = now + (uint64_t)ctx->cfg.http_idle_timeout_ms * HL__NS_PER_MS;
    ctx->http_kick = 1;
}

/* Send q on c (connected). */
static void hl__http_send(hl_ctx *ctx, hl__conn *c, hl__hreq *q, uint64_t now)
{
    HL_MEMCPY(c->ws.tx, q->buf, q->len);
    c->ws.tx_head = 0;
    c->ws.tx_tail = q->len;
    c->ws.fill = 0;
    c->got_bytes = 0;
    c->idle_until = 0;
    hl__http_parser_init(&c->hp, c->hdrs, (int)ctx->cfg.http_max_headers, ctx->cfg.max_header_size,
                         ctx->cfg.max_message_size, q->head);
    c->first_byte_by = now + (uint64_t)q->first_byte_ms * HL__NS_PER_MS;
    ctx->endpoints[q->endpoint].bytes_out += q->len;
    if (!ctx->in_process) c->io_error = hl__conn_flush(c);
}

/* The transport of an HTTP connection is up (after TLS for https). */
static void hl__http_conn_ready(hl_ctx *ctx, hl__conn *c)
{
    uint64_t now = hl__now(ctx);
    c->deadline = 0;
    hl__set_state(ctx, c, HL_STATE_OPEN, HL_OK);
    if (c->hreq >= 0) hl__http_send(ctx, c, &ctx->hreqs[c->hreq], now);
    else hl__http_conn_idle(ctx, c, now);
}

/* The connection ended (failure, server close, idle timeout): its request, if any, learns why. */
static void hl__http_conn_end(hl_ctx *ctx, hl__conn *c)
{
    uint64_t now = hl__now(ctx);
    if (c->fd != HL_INVALID_SOCKET) {
        hl__net_close(c->tp, c->fd);
        c->fd = HL_INVALID_SOCKET;
    }
    if (c->hreq >= 0) {
        hl__hreq *q = &ctx->hreqs[c->hreq];
        int result = c->err.result ? c->err.result : HL_E_EOF;
        int stale = c->served && !c->got_bytes && (result == HL_E_EOF || result == HL_E_RESET || result == HL_E_IO);
        c->hreq = -1;
        hl__http_attempt_failed(ctx, q, result, c->err.result ? c->err.detail : "server closed the connection", stale, now);
    }
    c->state = HL_STATE_CLOSED;
    c->id = 0;
    ctx->http_kick = 1;
}

/* Fail the attempt on c and close c. */
static void hl__http_conn_fail(hl_ctx *ctx, hl__conn *c, int result, const char *fmt, const char *arg)
{
    hl__set_error(c, result, 0, fmt, arg);
    hl__http_conn_end(ctx, c);
}

/* One turn of an HTTP connection once its transport is up. */
static void hl__http_conn_step(hl_ctx *ctx, hl__conn *c, unsigned revents, uint64_t now)
{
    hl__hreq *q = c->hreq >= 0 ? &ctx->hreqs[c->hreq] : NULL;
    int eof = 0, i;
    c->wake = 0;
    if (c->held) return;
    if (c->io_error) {
        hl__io_fail(ctx, c, c->io_error, "send");
        return;
    }
    if (hl__wsp_tx_pending(&c->ws)) {
        int e = hl__conn_flush(c);
        if (e) {
            hl__io_fail(ctx, c, e, "send");
            return;
        }
    }
    if ((revents & (HL_POLLIN | HL_POLLERR)) || hl__conn_ready_now(c)) {
        for (i = 0; i < HL__READS_PER_PASS; i++) {
            int e = 0;
            long r;
            size_t room = c->ws.rx_cap - c->ws.fill;
            if (room == 0) break;
            r = hl__conn_recv(c, c->ws.rx + c->ws.fill, room, &e);
            if (r == HL__AGAIN) break;
            if (r == HL__TLS_FAIL_OR_NONE) e = HL__IO_TLS;
            if (r < 0) {
                hl__io_fail(ctx, c, e, "recv");
                return;
            }
            if (r == 0) {
                eof = 1;
                break;
            }
            c->ws.fill += (size_t)r;
            c->got_bytes = 1;
        }
        if (!q) {
            /* idle in the pool: the server closed it, or sent what nobody asked for */
            hl__http_conn_fail(ctx, c, eof ? HL_E_EOF : HL_E_HTTP_PROTOCOL, "%s",
                               eof ? "server closed the idle connection" : "bytes on an idle connection");
            return;
        }
        if (c->got_bytes || eof) {
            int rc = hl__http_parse(&c->hp, (char *)c->ws.rx, &c->ws.fill, eof);
            if (rc == 0) hl__http_compact(&c->hp, (char *)c->ws.rx, &c->ws.fill);
            if (rc < 0) {
                hl__http_conn_fail(ctx, c, rc, "%s", c->hp.detail);
                return;
            }
            if (rc == 1) {
                int reuse = !c->hp.close && !eof && c->hp.rd == c->ws.fill;
                c->hreq = -1;
                hl__http_response_done(ctx, c, q, now);
                if (c->held) {
                    c->served = 1;
                    c->keep_after_hold = reuse;
                    return;
                }
                if (reuse) {
                    hl__http_conn_idle(ctx, c, now);
                } else {
                    c->err.result = HL_OK;
                    hl__http_conn_end(ctx, c);
                    return;
                }
                q = NULL;
            }
        }
    }
    if (q) {
        if (now >= q->deadline_ns) {
            hl__http_conn_fail(ctx, c, HL_E_REQUEST_TIMEOUT, "no whole response within %s (timeout_ms)", "the total time");
            return;
        }
        if (!c->got_bytes && c->first_byte_by && now >= c->first_byte_by) {
            hl__http_conn_fail(ctx, c, HL_E_REQUEST_TIMEOUT, "no response byte within %s (first_byte_timeout_ms)",
                               "the time to first byte");
            return;
        }
        HL__SOONER(c->wake, q->deadline_ns);
        if (!c->got_bytes) HL__SOONER(c->wake, c->first_byte_by);
    } else if (c->idle_until) {
        if (now >= c->idle_until) {
            c->err.result = HL_OK;
            hl__http_conn_end(ctx, c);
            return;
        }
        HL__SOONER(c->wake, c->idle_until);
    }
}

/* Release responses hl_http_fetch kept: the caller has called into the library again. */
static void hl__http_release_held(hl_ctx *ctx)
{
    uint32_t i;
    for (i = 0; i < ctx->cfg.http_max_requests; i++) {
        hl__hreq *q = &ctx->hreqs[i];
        hl__conn *c;
        if (q->state != HL__HREQ_HELD) continue;
        c = q->conn >= 0 ? &ctx->conns[q->conn] : NULL;
        hl__hreq_free(q);
        if (!c || !c->held) continue;
        c->held = 0;
        if (c->keep_after_hold) {
            hl__http_conn_idle(ctx, c, hl__now(ctx));
        } else {
            c->err.result = HL_OK;
            hl__http_conn_end(ctx, c);
        }
    }
}

/* A connection for q: an idle pooled one of its origin, or a new one while the origin has fewer
   than http_max_per_origin (taking a free slot, or closing the longest-idle connection of
   another origin when none is free). NULL when it must wait. */
static hl__conn *hl__http_pick_conn(hl_ctx *ctx, hl__hreq *q, int *fresh)
{
    uint32_t i, n = 0;
    hl__conn *free_slot = NULL, *victim = NULL;
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        hl__conn *c = &ctx->conns[i];
        int idle;
        if (!c->id) {
            if (!free_slot) free_slot = c;
            continue;
        }
        if (c->kind != HL__KIND_HTTP) continue;
        idle = c->state == HL_STATE_OPEN && c->hreq < 0 && !c->held && !c->io_error;
        if (c->origin != q->origin) {
            if (idle && (!victim || c->idle_until < victim->idle_until)) victim = c;
            continue;
        }
        n++;
        if (idle) {
            *fresh = 0;
            return c;
        }
    }
    if (n >= ctx->cfg.http_max_per_origin) return NULL;
    if (!free_slot && victim) {
        victim->err.result = HL_OK;
        hl__http_conn_end(ctx, victim);
        free_slot = victim;
    }
    if (!free_slot) return NULL;
    *fresh = 1;
    return free_slot;
}

/* Try to start q's next attempt now. Returns when to look again (0: it started or ended). */
static uint64_t hl__http_dispatch(hl_ctx *ctx, hl__hreq *q, uint64_t now)
{
    hl__endpoint *e = &ctx->endpoints[q->endpoint];
    hl__origin *o = &ctx->origins[q->origin];
    uint64_t wait = 0;
    int fresh = 0;
    hl__conn *c = hl__http_pick_conn(ctx, q, &fresh);
    if (!c) return 0; /* a connection frees up: http_kick wakes us */
    if (!hl__breaker_allow(&e->breaker, &ctx->cfg.http_breaker, now, &wait)) {
        char why[120];
        hl__fmt(why, sizeof why, "circuit breaker of %s open; next probe in %u ms", e->path,
                (unsigned)(wait / HL__NS_PER_MS));
        e->err_refused++;
        hl__http_finish(ctx, q, NULL, HL_E_CIRCUIT_OPEN, why, now);
        return 0;
    }
    wait = hl__bucket_take(&o->weight, now, q->weight);
    if (wait) {
        e->breaker.probe_out = 0; /* not sent: the probe is still to come */
        if (ctx->cfg.http_rate_fail || wait == UINT64_MAX) {
            e->err_refused++;
            hl__http_finish(ctx, q, NULL, HL_E_RATE_LIMITED,
                            wait == UINT64_MAX ? "request weight above the whole per-minute budget"
                                               : "over http_weight_per_minute",
                            now);
            return 0;
        }
        return now + wait;
    }
    q->state = HL__HREQ_ACTIVE;
    q->attempts++;
    e->requests++;
    q->conn = (int32_t)(c - ctx->conns);
    if (!fresh) {
        c->hreq = (int32_t)(q - ctx->hreqs);
        hl__http_send(ctx, c, q, now);
        return 0;
    }
    hl__conn_claim(ctx, c);
    c->kind = HL__KIND_HTTP;
    c->origin = q->origin;
    c->hreq = (int32_t)(q - ctx->hreqs);
    c->url.scheme = o->scheme == HL_SCHEME_HTTPS ? HL_SCHEME_WSS : HL_SCHEME_WS;
    c->url.port = o->port;
    c->url.is_ipv6 = o->is_ipv6;
    HL_MEMCPY(c->url.host, o->host, strlen(o->host) + 1);
    c->tls = o->scheme == HL_SCHEME_HTTPS;
    c->npins = o->npins;
    if (o->npins) HL_MEMCPY(c->pins, o->pins, 32 * (size_t)o->npins);
    c->connect_ms = q->connect_ms;
    hl__conn_try_start(ctx, c, now);
    return 0;
}

/* Serve the queue in submit order; returns the next time something is due (0: none). */
static uint64_t hl__http_pump(hl_ctx *ctx, uint64_t now)
{
    uint64_t next = 0, last_seq = 0;
    ctx->http_kick = 0;
    for (;;) {
        hl__hreq *q = NULL;
        uint32_t i;
        /* the oldest queued request after last_seq */
        for (i = 0; i < ctx->cfg.http_max_requests; i++) {
            hl__hreq *r = &ctx->hreqs[i];
            if (r->state == HL__HREQ_QUEUED && r->seq > last_seq && (!q || r->seq < q->seq)) q = r;
        }
        if (!q) break;
        last_seq = q->seq;
        if (now >= q->deadline_ns) {
            hl__http_count_error(&ctx->endpoints[q->endpoint], HL_E_REQUEST_TIMEOUT);
            hl__http_finish(ctx, q, NULL, HL_E_REQUEST_TIMEOUT, "timed out waiting in the queue (timeout_ms)", now);
            continue;
        }
        HL__SOONER(next, q->deadline_ns);
        if (q->next_try_ns > now) {
            HL__SOONER(next, q->next_try_ns);
            continue;
        }
        HL__SOONER(next, hl__http_dispatch(ctx, q, now));
    }
    return next;
}

/* ---- the calls ---- */

HL_API int hl_http_request(hl_ctx *ctx, const hl_http_req *req, hl_http *out)
{
    hl__hreq *q = NULL;
    hl_url u;
    char why[160], tp[64];
    const char *method;
    unsigned char rnd[24];
    long len;
    uint32_t i, timeout;
    int32_t origin, ep;
    uint64_t now;
    if (!ctx || !req || !req->url || !req->on_response || !out) return HL_E_INVALID;
    out->id = 0;
    if (!ctx->in_process) hl__http_release_held(ctx);
    method = req->method ? req->method : "GET";
    if (!method[0] || strlen(method) >= sizeof q->method) return HL_E_INVALID;
    for (i = 0; method[i]; i++)
        if (!hl__is_tchar((unsigned char)method[i])) return HL_E_INVALID;
    if (hl_url_parse(req->url, &u, why, sizeof why) != HL_OK || (u.scheme != HL_SCHEME_HTTP && u.scheme != HL_SCHEME_HTTPS)) {
        hl__log(ctx, HL_LOG_ERROR, 0, "bad HTTP URL '%.80s': %s", req->url, why[0] ? why : "scheme must be http or https");
        return HL_E_BAD_URL;
    }
    if (u.scheme == HL_SCHEME_HTTPS && !HL_ENABLE_TLS) {
        hl__log(ctx, HL_LOG_ERROR, 0, "https:// needs a build with HL_ENABLE_TLS 1");
        return HL_E_UNSUPPORTED;
    }
#if HL_ENABLE_TLS
    if (u.scheme == HL_SCHEME_HTTPS) {
        int rc = hl__tls_anchors_ready(ctx, why, sizeof why);
        if (rc != HL_OK) {
            hl__log(ctx, HL_LOG_ERROR, 0, "%s", why);
            return rc;
        }
    }
#endif
    for (i = 0; i < ctx->cfg.http_max_requests; i++)
        if (ctx->hreqs[i].state == HL__HREQ_FREE) {
            q = &ctx->hreqs[i];
            break;
        }
    if (!q) {
        hl__log(ctx, HL_LOG_WARN, 0, "HTTP request queue full: raise http_max_requests (%u)",
                (unsigned)ctx->cfg.http_max_requests);
        return HL_E_QUEUE_FULL;
    }
    if (req->tls_pin_count < 0 || req->tls_pin_count > 4 || (req->tls_pin_count && !req->tls_pins)) return HL_E_INVALID;
#if HL_ENABLE_TLS
    if (u.scheme == HL_SCHEME_HTTPS && (u.is_ipv6 || hl__is_ipv4_literal(u.host)) && !req->tls_pin_count &&
        !ctx->cfg.tls_insecure) {
        hl__log(ctx, HL_LOG_ERROR, 0, "https://%s: an IP address cannot be verified by name; pin the key "
                                      "(tls_pins) or use a DNS name", u.host);
        return HL_E_TLS_CERT;
    }
#endif
    origin = hl__origin_of(ctx, &u);
    ep = origin >= 0 ? hl__endpoint_of(ctx, origin, u.target) : -1;
    if (ep < 0) {
        hl__log(ctx, HL_LOG_WARN, 0, "no room for another endpoint: raise http_max_endpoints (%u)",
                (unsigned)ctx->cfg.http_max_endpoints);
        return HL_E_POOL_EMPTY;
    }
    {
        /* the first request to an origin fixes its pins (or that it has none) */
        hl__origin *o = &ctx->origins[origin];
        size_t pl = 32 * (size_t)req->tls_pin_count;
        if (!o->pins_fixed) {
            if (pl) HL_MEMCPY(o->pins, req->tls_pins, pl);
            o->npins = req->tls_pin_count;
            o->pins_fixed = 1;
        } else if (o->npins != req->tls_pin_count || (pl && memcmp(o->pins, req->tls_pins, pl) != 0)) {
            hl__log(ctx, HL_LOG_ERROR, 0, "https://%s: a request with other pins than the origin's", u.host);
            return HL_E_INVALID;
        }
    }
    now = hl__now(ctx);
    if (ctx->endpoints[ep].breaker.state == HL_BREAKER_OPEN &&
        now - ctx->endpoints[ep].breaker.opened_at < (uint64_t)ctx->cfg.http_breaker.cooldown_ms * HL__NS_PER_MS) {
        ctx->endpoints[ep].err_refused++;
        return HL_E_CIRCUIT_OPEN; /* fail fast, before anything is queued */
    }
    hl__rng_bytes(&ctx->rng, rnd, sizeof rnd);
    hl__hex(q->id_text, rnd, 8);
    if (ctx->cfg.http_traceparent) {
        char trace[33], span[17];
        hl__hex(trace, rnd + 8, 16);
        hl__hex(span, rnd, 8);
        hl__fmt(tp, sizeof tp, "00-%s-%s-01", trace, span);
    }
    len = hl__http_render(q->buf, ctx->cfg.http_request_size, &u, req, method, q->id_text,
                          ctx->cfg.http_traceparent ? tp : NULL, why, sizeof why);
    if (len < 0) {
        hl__log(ctx, HL_LOG_ERROR, 0, "%s", why);
        return (int)len;
    }
    if ((size_t)len > ctx->cfg.send_queue_size) {
        hl__log(ctx, HL_LOG_ERROR, 0, "request of %ld bytes does not fit send_queue_size", len);
        return HL_E_MSG_TOO_BIG;
    }
    q->gen = (q->gen + 1) & 0xFFFFu;
    if (!q->gen) q->gen = 1;
    q->id = q->gen << 16 | (i + 1);
    q->state = HL__HREQ_QUEUED;
    q->seq = ++ctx->http_seq;
    q->origin = origin;
    q->endpoint = ep;
    q->conn = -1;
    q->len = (size_t)len;
    q->head = strcmp(method, "HEAD") == 0;
    q->idempotent = req->idempotent || hl__method_idempotent(method);
    q->max_retries = req->retries < 0 ? 0 : req->retries ? (uint32_t)req->retries : ctx->cfg.http_max_retries;
    q->attempts = 0;
    q->weight = req->weight ? req->weight : 1;
    timeout = req->timeout_ms ? req->timeout_ms
                              : req->cls == HL_HTTP_TRADING ? ctx->cfg.http_trading_timeout_ms : ctx->cfg.http_data_timeout_ms;
    q->connect_ms = req->connect_timeout_ms;
    q->first_byte_ms = req->first_byte_timeout_ms ? req->first_byte_timeout_ms : timeout;
    q->start_ns = now;
    q->deadline_ns = now + (uint64_t)timeout * HL__NS_PER_MS;
    q->next_try_ns = 0;
    q->fresh_retry_used = 0;
    q->hold = 0;
    q->cb = req->on_response;
    q->user = req->user;
    HL_MEMCPY(q->method, method, strlen(method) + 1);
    hl__fmt(q->target, sizeof q->target, "%s", u.target);
    ctx->http_kick = 1;
    out->id = q->id;
    return HL_OK;
}

typedef struct hl__fetch {
    int done;
    hl_http_response *out;
} hl__fetch;

static void hl__fetch_done(hl_ctx *ctx, const hl_http_response *r)
{
    hl__fetch *f = (hl__fetch *)r->user;
    (void)ctx;
    *f->out = *r;
    f->done = 1;
}

HL_API int hl_http_fetch(hl_ctx *ctx, const hl_http_req *req, hl_http_response *out)
{
    hl_http_req copy;
    hl_http h;
    hl__fetch f;
    hl__hreq *q;
    int rc;
    if (!ctx || !req || !out) return HL_E_INVALID;
    if (ctx->in_process) return HL_E_STATE;
    HL_MEMSET(out, 0, sizeof *out);
    copy = *req;
    f.done = 0;
    f.out = out;
    copy.on_response = hl__fetch_done;
    copy.user = &f;
    rc = hl_http_request(ctx, &copy, &h);
    if (rc != HL_OK) {
        out->result = rc;
        out->detail = hl_result_str(rc);
        return rc;
    }
    q = hl__hreq_get(ctx, h);
    q->hold = 1;
    while (!f.done) {
        rc = hl_poll(ctx, 1000);
        if (rc < 0 && rc != HL_E_STATE) {
            hl_http_cancel(ctx, h);
            break;
        }
    }
    out->user = req->user;
    return out->result;
}

HL_API int hl_http_cancel(hl_ctx *ctx, hl_http h)
{
    hl__hreq *q = hl__hreq_get(ctx, h);
    if (!q || q->state == HL__HREQ_HELD) return HL_E_BAD_HANDLE;
    if (q->state == HL__HREQ_ACTIVE && q->conn >= 0) {
        hl__conn *c = &ctx->conns[q->conn];
        c->hreq = -1; /* the connection's exchange cannot be finished: close it */
        c->err.result = HL_OK;
        hl__http_conn_end(ctx, c);
    }
    hl__http_finish(ctx, q, NULL, HL_E_CLOSED, "cancelled by hl_http_cancel", hl__now(ctx));
    return HL_OK;
}

HL_API const char *hl_http_header(const hl_http_response *r, const char *name)
{
    int i;
    size_t n;
    if (!r || !name || !r->headers) return NULL;
    n = strlen(name) + 1;
    for (i = 0; i < r->header_count; i++)
        if (hl__ieq(r->headers[i].name, name, n)) return r->headers[i].value;
    return NULL;
}
/* ==== end http_client.c ==== */
/* ==== begin subs.c ==== */
/* The subscription registry and the router. Subscriptions live in fixed slots, each connection
   keeping its own in subscribe order; after every (re)connect they are replayed in that order,
   paced by the venue's message bucket. Incoming text goes through the profile's classifier:
   acks and errors move subscriptions between states, and feed data is routed by one hash lookup
   of its route key to the handler or the bounded queue of each matching subscription. */

#define HL__ROUTE_EMPTY (-1)
#define HL__ROUTE_DELETED (-2)
#define HL__MAX_FANOUT 8 /* subscriptions sharing one route key that one message reaches */

static hl__sub *hl__sub_get(hl_ctx *ctx, hl_sub s)
{
    uint32_t idx = (s.id & 0xFFFFu) - 1;
    if (!ctx || s.id == 0 || idx >= ctx->cfg.max_subscriptions) return NULL;
    if (ctx->subs[idx].id != s.id || ctx->subs[idx].unsub_pending) return NULL;
    return &ctx->subs[idx];
}

static hl_sub hl__sub_handle(const hl__sub *s)
{
    hl_sub h;
    h.id = s->id;
    return h;
}

/* ---- the route table ---- */

static void hl__route_insert(hl_ctx *ctx, int32_t idx)
{
    uint32_t mask = ctx->route_cap - 1, i = (uint32_t)ctx->subs[idx].route & mask;
    while (ctx->routes[i] >= 0) i = (i + 1) & mask;
    if (ctx->routes[i] == HL__ROUTE_DELETED) ctx->route_deleted--;
    ctx->routes[i] = idx;
}

/* Rebuild when deleted marks pile up, so lookups stay short; skip is the entry being removed. */
static void hl__route_rebuild(hl_ctx *ctx, int32_t skip)
{
    uint32_t i;
    for (i = 0; i < ctx->route_cap; i++) ctx->routes[i] = HL__ROUTE_EMPTY;
    ctx->route_deleted = 0;
    for (i = 0; i < ctx->cfg.max_subscriptions; i++)
        if (ctx->subs[i].id && !ctx->subs[i].unsub_pending && (int32_t)i != skip) hl__route_insert(ctx, (int32_t)i);
}

static void hl__route_remove(hl_ctx *ctx, int32_t idx)
{
    uint32_t mask = ctx->route_cap - 1, i = (uint32_t)ctx->subs[idx].route & mask;
    while (ctx->routes[i] != HL__ROUTE_EMPTY) {
        if (ctx->routes[i] == idx) {
            ctx->routes[i] = HL__ROUTE_DELETED;
            if (++ctx->route_deleted > ctx->route_cap / 4) hl__route_rebuild(ctx, idx);
            return;
        }
        i = (i + 1) & mask;
    }
}

/* The subscriptions of connection c whose route hash is h (up to max). */
static int hl__route_lookup(hl_ctx *ctx, int32_t conn, uint64_t h, int32_t *out, int max)
{
    uint32_t mask = ctx->route_cap - 1, i = (uint32_t)h & mask;
    int n = 0;
    while (ctx->routes[i] != HL__ROUTE_EMPTY && n < max) {
        int32_t s = ctx->routes[i];
        if (s >= 0 && ctx->subs[s].route == h && ctx->subs[s].conn == conn) out[n++] = s;
        i = (i + 1) & mask;
    }
    return n;
}

/* ---- queues ---- */

static unsigned char *hl__qdata(hl_ctx *ctx, int32_t slot)
{
    return ctx->qdata + (size_t)slot * ctx->cfg.queue_slot_size;
}

static void hl__queue_pop(hl_ctx *ctx, hl__sub *s)
{
    int32_t q = s->q_head;
    s->q_head = ctx->qslots[q].next;
    if (s->q_head < 0) s->q_tail = -1;
    ctx->qslots[q].next = ctx->qfree;
    ctx->qfree = q;
    s->st.queued--;
}

static void hl__emit_dropped(hl_ctx *ctx, hl__conn *c, hl__sub *s, int why)
{
    hl_event ev;
    hl__event_init(&ev, HL_EV_DROPPED);
    ev.sub = hl__sub_handle(s);
    ev.len = 1;
    ev.result = why;
    ev.detail = why == HL_E_MSG_TOO_BIG ? "message larger than queue_slot_size"
                                        : "queue full (hl_sub_desc.queue_len or queue_slots)";
    s->st.drops++;
    hl__emit(ctx, c, &ev);
}

/* Keep a copy of a message in s's queue under its overflow policy. */
static void hl__queue_push(hl_ctx *ctx, hl__conn *c, hl__sub *s, const unsigned char *p, size_t n,
                           int snap, uint64_t now)
{
    int32_t q;
    if (n > ctx->cfg.queue_slot_size) {
        hl__emit_dropped(ctx, c, s, HL_E_MSG_TOO_BIG);
        return;
    }
    if (s->overflow == HL_OVERFLOW_CONFLATE && s->q_tail >= 0) {
        q = s->q_tail; /* latest wins: overwrite in place */
        s->st.conflated++;
    } else {
        if (s->st.queued >= s->queue_len || ctx->qfree < 0) {
            if (s->overflow == HL_OVERFLOW_DROP_OLDEST && s->q_head >= 0) {
                hl__queue_pop(ctx, s);
                hl__emit_dropped(ctx, c, s, HL_E_QUEUE_FULL);
            } else {
                hl__emit_dropped(ctx, c, s, HL_E_QUEUE_FULL);
                return;
            }
        }
        q = ctx->qfree;
        ctx->qfree = ctx->qslots[q].next;
        ctx->qslots[q].next = -1;
        if (s->q_tail >= 0) ctx->qslots[s->q_tail].next = q;
        else s->q_head = q;
        s->q_tail = q;
        s->st.queued++;
        if (s->st.queued > s->st.queue_peak) s->st.queue_peak = s->st.queued;
    }
    HL_MEMCPY(hl__qdata(ctx, q), p, n);
    ctx->qslots[q].len = (uint32_t)n;
    ctx->qslots[q].is_snapshot = snap;
    ctx->qslots[q].recv_ns = now;
}

static int hl__queue_full(hl_ctx *ctx, const hl__sub *s)
{
    return s->st.queued >= s->queue_len || ctx->qfree < 0;
}

/* ---- registry ---- */

static void hl__sub_set_state(hl_ctx *ctx, hl__conn *c, hl__sub *s, hl_sub_state st, const char *detail)
{
    hl_event ev;
    if (s->state == st) return;
    s->state = st;
    s->st.state = st;
    hl__event_init(&ev, HL_EV_SUB);
    ev.sub = hl__sub_handle(s);
    ev.sub_state = st;
    ev.detail = detail;
    hl__emit(ctx, c, &ev);
}

/* Unlink s from its connection's list and free the slot (queued messages go with it). */
static void hl__sub_free(hl_ctx *ctx, hl__sub *s)
{
    hl__conn *c = &ctx->conns[s->conn];
    int32_t idx = (int32_t)(s - ctx->subs), *pp = &c->sub_first, prev = -1;
    while (*pp >= 0 && *pp != idx) {
        prev = *pp;
        pp = &ctx->subs[*pp].next;
    }
    if (*pp == idx) *pp = s->next;
    if (c->sub_last == idx) c->sub_last = prev;
    while (s->q_head >= 0) hl__queue_pop(ctx, s);
    if (!s->unsub_pending) hl__route_remove(ctx, idx);
    if (c->venue >= 0 && ctx->venues[c->venue].subs) ctx->venues[c->venue].subs--;
    s->id = 0;
}

static void hl__subs_free_all(hl_ctx *ctx, hl__conn *c)
{
    while (c->sub_first >= 0) hl__sub_free(ctx, &ctx->subs[c->sub_first]);
}

/* The subscription is active (acked, or sent to a venue without acks); after a drop, its gap is
   reported and its next message flagged. */
static void hl__sub_activate(hl_ctx *ctx, hl__conn *c, hl__sub *s, uint64_t now)
{
    s->active_since = now;
    hl__sub_set_state(ctx, c, s, HL_SUB_ACTIVE, "");
    if (s->gap_from && s->id) {
        hl_event ev;
        s->st.awaiting_snapshot = 1;
        hl__event_init(&ev, HL_EV_GAP);
        ev.sub = hl__sub_handle(s);
        ev.gap_from_ns = s->gap_from;
        ev.gap_to_ns = now;
        s->gap_from = 0;
        hl__emit(ctx, c, &ev);
    }
}

/* Queue one subscribe/unsubscribe message if the venue's bucket and the send queue allow.
   Returns 1 when sent, 0 when it must wait (then *wait_ns, 0 meaning "queue room"). */
static int hl__sub_send(hl_ctx *ctx, hl__conn *c, hl__sub *s, int unsubscribe, uint64_t now, uint64_t *wait_ns)
{
    char msg[HL__SUB_JSON_MAX + 64];
    int n = c->profile->sub_message(s->json, s->json_len, unsubscribe, msg, sizeof msg);
    uint64_t w;
    if (n < 0) return 1; /* the profile cannot express it: nothing to send */
    if (hl_ws_send_room(ctx, hl__conn_handle(c)) < (size_t)n + 14) {
        *wait_ns = 0;
        return 0;
    }
    w = hl__venue_take(ctx, c, now);
    if (w) {
        *wait_ns = w;
        return 0;
    }
    if (hl__wsp_send(&c->ws, HL__OP_TEXT, (const unsigned char *)msg, (size_t)n, 1, 0) != HL_OK) {
        *wait_ns = 0;
        return 0;
    }
    c->last_tx = now;
    return 1;
}

/* Send what waits, in subscribe order: unsubscribes of removed subscriptions, then subscribes
   not yet sent on this connection. Returns when the next try is due (0: nothing waits, or only
   queue room, which the next flush brings). */
static uint64_t hl__subs_pump(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    int32_t i = c->sub_first;
    if (c->state != HL_STATE_OPEN || !c->profile || c->ws.close_sent) return 0;
    while (i >= 0) {
        hl__sub *s = &ctx->subs[i];
        int32_t next = s->next;
        uint64_t wait = 0;
        if (s->unsub_pending || !s->sent) {
            if (!hl__sub_send(ctx, c, s, s->unsub_pending, now, &wait)) return wait ? now + wait : 0;
            if (s->unsub_pending) {
                hl__sub_free(ctx, s);
            } else {
                s->sent = 1;
                if (c->profile->sub_no_ack) {
                    hl__sub_activate(ctx, c, s, now);
                    if (hl__gone(c) || c->state != HL_STATE_OPEN) return 0;
                    next = s->next; /* the callback may have changed the list */
                }
            }
        }
        i = next;
    }
    return 0;
}

/* The connection opened: its subscriptions are replayed by the pump in this same turn. */
static void hl__subs_connection_open(hl__conn *c)
{
    c->kick = c->sub_first >= 0;
}

/* The connection dropped: everything goes back to PENDING (to be replayed) and remembers when
   the gap began; removed subscriptions need no unsubscribe on a new connection. */
static void hl__subs_connection_lost(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    int32_t i = c->sub_first;
    while (i >= 0) {
        hl__sub *s = &ctx->subs[i];
        int32_t next = s->next;
        if (s->unsub_pending) {
            hl__sub_free(ctx, s);
        } else {
            s->sent = 0;
            if (s->state == HL_SUB_ACTIVE) s->gap_from = now;
            hl__sub_set_state(ctx, c, s, HL_SUB_PENDING, "connection lost; will be replayed");
        }
        i = next;
    }
}

/* Find the subscription of c whose canonical form the JSON object p[0..n) has. */
static hl__sub *hl__sub_by_content(hl_ctx *ctx, hl__conn *c, const char *p, size_t n)
{
    uint64_t h;
    int32_t i;
    if (hl__json_canon_hash(p, n, &h) != HL_OK) return NULL;
    for (i = c->sub_first; i >= 0; i = ctx->subs[i].next)
        if (ctx->subs[i].canon == h && !ctx->subs[i].unsub_pending) return &ctx->subs[i];
    return NULL;
}

static void hl__sub_deliver(hl_ctx *ctx, hl__conn *c, hl__sub *s, const unsigned char *p, size_t n,
                            const hl_msg_info *info, uint64_t now)
{
    s->st.msgs++;
    s->st.bytes += n;
    s->st.last_msg_ns = now;
    s->stale_reported = 0;
    if (s->on_message) {
        hl_msg m;
        m.data = p;
        m.len = n;
        m.is_snapshot = info->is_snapshot;
        m.after_gap = s->st.awaiting_snapshot;
        m.recv_ns = now;
        m.ws = hl__conn_handle(c);
        m.sub = hl__sub_handle(s);
        m.user = s->user;
        ctx->tok_msg = NULL; /* tokens are made on demand, at most once */
        ctx->events++;
        s->on_message(ctx, &m);
    } else {
        hl__queue_push(ctx, c, s, p, n, info->is_snapshot | s->st.awaiting_snapshot << 1, now);
    }
    s->st.awaiting_snapshot = 0;
}

/* A text message on a connection with a profile. Returns 1 to hold it (a full BACKPRESSURE
   queue), else 0. */
static int hl__subs_on_text(hl_ctx *ctx, hl__conn *c, const unsigned char *p, size_t n)
{
    hl_msg_info info;
    hl__sub *s;
    uint64_t now = c->last_rx;
    HL_MEMSET(&info, 0, sizeof info);
    c->profile->classify((const char *)p, n, &info);
    switch (info.kind) {
    case HL_MSGK_DATA: {
        int32_t hit[HL__MAX_FANOUT];
        int k, nh = hl__route_lookup(ctx, (int32_t)(c - ctx->conns), hl__fnv1a(HL__FNV_INIT, info.key, info.key_len),
                                     hit, HL__MAX_FANOUT);
        if (nh == 0) break; /* nobody subscribed: an ordinary message */
        for (k = 0; k < nh; k++) {
            s = &ctx->subs[hit[k]];
            if (s->overflow == HL_OVERFLOW_BACKPRESSURE && !s->on_message && hl__queue_full(ctx, s) &&
                !c->ws.close_sent) { /* closing: no holding back the close handshake */
                c->held_by_queue = 1;
                return 1;
            }
        }
        for (k = 0; k < nh; k++) {
            s = &ctx->subs[hit[k]];
            /* a handler may unsubscribe: check the slot is still the one we found */
            if (s->id && !s->unsub_pending && s->conn == (int32_t)(c - ctx->conns))
                hl__sub_deliver(ctx, c, s, p, n, &info, now);
        }
        return 0;
    }
    case HL_MSGK_SUB_ACK:
        s = hl__sub_by_content(ctx, c, info.sub, info.sub_len);
        if (!s || s->state == HL_SUB_ACTIVE) break;
        hl__sub_activate(ctx, c, s, now);
        return 0;
    case HL_MSGK_UNSUB_ACK:
        return 0;
    case HL_MSGK_PONG:
        hl__live_app_pong(ctx, c);
        return 0;
    case HL_MSGK_PING: {
        char reply[128];
        int r = c->profile->app_pong((const char *)p, n, reply, sizeof reply);
        if (r > 0 && hl__wsp_send(&c->ws, HL__OP_TEXT, (const unsigned char *)reply, (size_t)r, 1, 0) == HL_OK)
            c->last_tx = now;
        return 0;
    }
    case HL_MSGK_ERROR:
        /* an error about an unsubscribe (the server had forgotten it already) fails nothing */
        s = info.sub && !(info.text_len >= 13 && memcmp(info.text, "Already unsub", 13) == 0)
                ? hl__sub_by_content(ctx, c, info.sub, info.sub_len)
                : NULL;
        /* an error fails a subscription not yet acked; without acks, any one it names */
        if (s && (s->state != HL_SUB_ACTIVE || c->profile->sub_no_ack)) {
            char detail[160];
            hl__js_unescape(info.text, info.text_len, detail, sizeof detail);
            hl__log(ctx, HL_LOG_WARN, c->id, "subscription %.80s failed: %s", s->json, detail);
            hl__sub_set_state(ctx, c, s, HL_SUB_FAILED, detail);
            return 0;
        }
        hl__log(ctx, HL_LOG_WARN, c->id, "server error: %.*s", (int)HL__MIN(info.text_len, (size_t)150), info.text);
        break; /* not about one subscription: the user sees it as a message */
    default:
        break;
    }
    {
        hl_event ev;
        hl__event_init(&ev, HL_EV_MESSAGE);
        ev.data = p;
        ev.len = n;
        ev.is_text = 1;
        hl__emit(ctx, c, &ev);
    }
    return 0;
}

/* Report subscriptions silent for longer than their stale_after_ms on an open connection;
   returns when the next check is due (0: none). */
static uint64_t hl__subs_stale_check(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    uint64_t next = 0;
    int32_t i;
    if (c->state != HL_STATE_OPEN) return 0;
    for (i = c->sub_first; i >= 0 && !hl__gone(c); i = ctx->subs[i].next) {
        hl__sub *s = &ctx->subs[i];
        uint64_t since, due;
        if (!s->stale_after_ms || s->state != HL_SUB_ACTIVE || s->stale_reported) continue;
        since = HL__MAX(s->st.last_msg_ns, s->active_since);
        due = since + (uint64_t)s->stale_after_ms * HL__NS_PER_MS;
        if (now >= due) {
            hl_event ev;
            s->stale_reported = 1;
            hl__event_init(&ev, HL_EV_STALE);
            ev.sub = hl__sub_handle(s);
            ev.stale_ms = (now - since) / HL__NS_PER_MS;
            hl__emit(ctx, c, &ev);
        } else if (!next || due < next) {
            next = due;
        }
    }
    return next;
}

/* ---- the calls ---- */

HL_API int hl_ws_subscribe(hl_ctx *ctx, hl_ws ws, const hl_sub_desc *desc, hl_sub *out)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    hl__sub *s = NULL;
    size_t n;
    uint64_t canon;
    char key[96];
    int kl;
    uint32_t i;
    if (!c) return HL_E_BAD_HANDLE;
    if (!desc || !desc->subscription || !out) return HL_E_INVALID;
    out->id = 0;
    if (!c->profile) {
        hl__log(ctx, HL_LOG_ERROR, c->id, "hl_ws_subscribe needs a profile (hl_ws_desc.profile)");
        return HL_E_STATE;
    }
    n = strlen(desc->subscription);
    if (n >= HL__SUB_JSON_MAX || hl__json_canon_hash(desc->subscription, n, &canon) != HL_OK) {
        hl__log(ctx, HL_LOG_ERROR, c->id, "subscription is not a flat JSON object under %u bytes: %.80s",
                (unsigned)HL__SUB_JSON_MAX, desc->subscription);
        return HL_E_INVALID;
    }
    kl = c->profile->sub_route(desc->subscription, n, key, sizeof key);
    if (kl < 0) {
        hl__log(ctx, HL_LOG_ERROR, c->id, "the %s profile cannot route %.80s", c->profile->name, desc->subscription);
        return HL_E_INVALID;
    }
    for (i = (uint32_t)c->sub_first; (int32_t)i >= 0; i = (uint32_t)ctx->subs[i].next)
        if (ctx->subs[i].canon == canon && !ctx->subs[i].unsub_pending) {
            hl__log(ctx, HL_LOG_ERROR, c->id, "already subscribed: %.80s", desc->subscription);
            return HL_E_INVALID;
        }
    if (c->venue >= 0 && ctx->venues[c->venue].max_subs && ctx->venues[c->venue].subs >= ctx->venues[c->venue].max_subs) {
        hl__log(ctx, HL_LOG_ERROR, c->id, "the %s venue allows %u subscriptions (max_subscriptions_venue)",
                c->profile->name, (unsigned)ctx->venues[c->venue].max_subs);
        return HL_E_RATE_LIMITED;
    }
    for (i = 0; i < ctx->cfg.max_subscriptions; i++)
        if (!ctx->subs[i].id) {
            s = &ctx->subs[i];
            break;
        }
    if (!s) {
        hl__log(ctx, HL_LOG_ERROR, c->id, "no free subscription slot: raise max_subscriptions (%u)",
                (unsigned)ctx->cfg.max_subscriptions);
        return HL_E_POOL_EMPTY;
    }
    {
        uint32_t gen = (s->gen + 1) & 0xFFFFu;
        HL_MEMSET(s, 0, sizeof *s);
        s->gen = gen ? gen : 1;
    }
    s->id = s->gen << 16 | (i + 1);
    s->conn = (int32_t)(c - ctx->conns);
    s->next = -1;
    s->state = HL_SUB_PENDING;
    s->st.state = HL_SUB_PENDING;
    s->canon = canon;
    s->route = hl__fnv1a(HL__FNV_INIT, key, (size_t)kl);
    HL_MEMCPY(s->json, desc->subscription, n + 1);
    s->json_len = n;
    s->on_message = desc->on_message;
    s->user = desc->user;
    s->queue_len = desc->queue_len ? desc->queue_len : 16;
    s->overflow = desc->overflow;
    s->stale_after_ms = desc->stale_after_ms;
    s->q_head = s->q_tail = -1;
    if (c->sub_last >= 0) ctx->subs[c->sub_last].next = (int32_t)i;
    else c->sub_first = (int32_t)i;
    c->sub_last = (int32_t)i;
    hl__route_insert(ctx, (int32_t)i);
    if (c->venue >= 0) ctx->venues[c->venue].subs++;
    c->kick = 1;
    out->id = s->id;
    return HL_OK;
}

HL_API int hl_ws_unsubscribe(hl_ctx *ctx, hl_sub sub)
{
    hl__sub *s = hl__sub_get(ctx, sub);
    hl__conn *c;
    if (!s) return HL_E_BAD_HANDLE;
    c = &ctx->conns[s->conn];
    hl__route_remove(ctx, (int32_t)(s - ctx->subs)); /* nothing reaches it from now on */
    if (c->state == HL_STATE_OPEN && s->sent && s->state != HL_SUB_FAILED) {
        s->state = s->st.state = HL_SUB_REMOVED;
        s->unsub_pending = 1; /* freed once its unsubscribe message is out */
        while (s->q_head >= 0) hl__queue_pop(ctx, s);
        c->kick = 1;
    } else {
        s->state = s->st.state = HL_SUB_REMOVED;
        s->unsub_pending = 1;
        hl__sub_free(ctx, s);
    }
    return HL_OK;
}

HL_API int hl_sub_pull(hl_ctx *ctx, hl_sub sub, void *buf, size_t cap, size_t *len, hl_msg *info)
{
    hl__sub *s = hl__sub_get(ctx, sub);
    hl__qslot *q;
    hl__conn *c;
    if (!s) return HL_E_BAD_HANDLE;
    if (!buf && cap) return HL_E_INVALID;
    if (s->q_head < 0) return 0;
    q = &ctx->qslots[s->q_head];
    if (len) *len = q->len;
    if (q->len > cap) return HL_E_MSG_TOO_BIG;
    HL_MEMCPY(buf, hl__qdata(ctx, s->q_head), q->len);
    c = &ctx->conns[s->conn];
    if (info) {
        info->data = (const unsigned char *)buf;
        info->len = q->len;
        info->is_snapshot = q->is_snapshot & 1;
        info->after_gap = q->is_snapshot >> 1;
        info->recv_ns = q->recv_ns;
        info->ws = hl__conn_handle(c);
        info->sub = sub;
        info->user = s->user;
    }
    hl__queue_pop(ctx, s);
    ctx->tok_msg = NULL; /* buf may be where the last tokenized message was */
    if (c->held_by_queue) { /* room again: let the held message in */
        c->held_by_queue = 0;
        c->kick = 1;
    }
    return 1;
}

HL_API int hl_sub_stats_get(hl_ctx *ctx, hl_sub sub, hl_sub_stats *out)
{
    hl__sub *s = hl__sub_get(ctx, sub);
    if (!s || !out) return s ? HL_E_INVALID : HL_E_BAD_HANDLE;
    *out = s->st;
    return HL_OK;
}

HL_API int hl_msg_tokens(hl_ctx *ctx, const hl_msg *msg, const hl_json_tok **toks)
{
    jsmn_parser jp;
    int n;
    if (!ctx || !msg || !toks) return HL_E_INVALID;
    if (ctx->tok_msg != msg->data) {
        jsmn_init(&jp);
        n = jsmn_parse(&jp, (const char *)msg->data, msg->len, ctx->toks, ctx->cfg.json_max_tokens);
        if (n < 0) return n == JSMN_ERROR_NOMEM ? HL_E_MSG_TOO_BIG : HL_E_INVALID;
        ctx->tok_msg = msg->data;
        ctx->tok_n = n;
    }
    *toks = (const hl_json_tok *)(const void *)ctx->toks;
    return ctx->tok_n;
}

/* hl_json_tok must be jsmntok_t with parent links, field for field, and HL_JSON_* its types. */
typedef char hl__tok_layout_check[(sizeof(hl_json_tok) == sizeof(jsmntok_t) &&
                                   offsetof(hl_json_tok, parent) == offsetof(jsmntok_t, parent) &&
                                   HL_JSON_OBJECT == JSMN_OBJECT && HL_JSON_ARRAY == JSMN_ARRAY &&
                                   HL_JSON_STRING == JSMN_STRING && HL_JSON_PRIMITIVE == JSMN_PRIMITIVE)
                                      ? 1
                                      : -1];
/* ==== end subs.c ==== */
/* ==== begin liveness.c ==== */
/* Liveness at two levels. RFC 6455 pings carry the send time, so their pong gives the round
   trip; the profile's application ping goes out when either direction has been quiet for its
   interval (the venue may close a connection idle in either sense). A missing pong, or a
   receive silence longer than silence_timeout_ms, fails the connection so it reconnects. A
   connection that stays open for backoff.healthy_ms resets the attempt count and counts as a
   success for the breaker. */

static void hl__rtt_sample(hl_ws_stats *st, uint64_t rtt)
{
    st->rtt_last_ns = rtt;
    if (!st->rtt_count || rtt < st->rtt_min_ns) st->rtt_min_ns = rtt;
    if (rtt > st->rtt_max_ns) st->rtt_max_ns = rtt;
    st->rtt_sum_ns += rtt;
    st->rtt_count++;
}

/* Has the connection been open for healthy_ms? Then its attempt count starts over and the
   breaker counts a success. Judged whenever something happens (no timer of its own: an idle
   connection has no reason to wake up for it). */
static void hl__live_healthy(hl__conn *c, uint64_t now)
{
    if (c->healthy_at > 1 && now >= c->healthy_at && c->state == HL_STATE_OPEN) {
        c->healthy_at = 0;
        c->attempt = 0;
        hl__breaker_record(&c->breaker, &c->bcfg, now, 1);
    }
}

static void hl__live_open(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    (void)ctx;
    c->last_rx = c->last_tx = now;
    c->ping_sent_at = c->app_ping_sent_at = 0;
    c->next_ping = c->ping_ms ? now + (uint64_t)c->ping_ms * HL__NS_PER_MS : 0;
}

/* A pong: when it answers our timed ping, *rtt gets the round trip. Returns 1 then. */
static int hl__live_pong(hl_ctx *ctx, hl__conn *c, const unsigned char *p, size_t n, uint64_t *rtt)
{
    uint64_t sent = 0;
    size_t i;
    *rtt = 0;
    if (!c->ping_sent_at || n != 8) return 0;
    for (i = 0; i < 8; i++) sent = sent << 8 | p[i];
    if (sent != c->ping_sent_at) return 0;
    *rtt = hl__now(ctx) - sent;
    hl__rtt_sample(&c->ws.stats, *rtt);
    c->ping_sent_at = 0;
    return 1;
}

static void hl__live_app_pong(hl_ctx *ctx, hl__conn *c)
{
    if (!c->app_ping_sent_at) return;
    hl__rtt_sample(&c->ws.stats, hl__now(ctx) - c->app_ping_sent_at);
    c->app_ping_sent_at = 0;
}

/* Run the timers of an open connection; returns the next time one is due (0: none). */
static uint64_t hl__live_step(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    uint64_t next = 0, due, pong = (uint64_t)c->pong_timeout_ms * HL__NS_PER_MS;
    if (c->state != HL_STATE_OPEN || c->ws.close_sent) return 0;
    hl__live_healthy(c, now);
    if (c->silence_ms) {
        due = c->last_rx + (uint64_t)c->silence_ms * HL__NS_PER_MS;
        if (now >= due) {
            hl__conn_fail(ctx, c, HL_E_SILENCE, 0, "nothing received for %u ms (silence_timeout_ms)",
                          (unsigned)c->silence_ms);
            return 0;
        }
        HL__SOONER(next, due);
    }
    if (c->ping_sent_at) {
        due = c->ping_sent_at + pong;
        if (now >= due) {
            hl__conn_fail(ctx, c, HL_E_PONG_TIMEOUT, 0, "no pong within %u ms (pong_timeout_ms)",
                          (unsigned)c->pong_timeout_ms);
            return 0;
        }
        HL__SOONER(next, due);
    }
    if (c->ping_ms) {
        if (now >= c->next_ping) {
            unsigned char stamp[8];
            int i;
            for (i = 0; i < 8; i++) stamp[i] = (unsigned char)(now >> (56 - 8 * i));
            if (!c->ping_sent_at && hl__wsp_ping(&c->ws, stamp, 8) == HL_OK) {
                c->ping_sent_at = now;
                HL__SOONER(next, now + pong);
            }
            c->next_ping = now + (uint64_t)c->ping_ms * HL__NS_PER_MS;
        }
        HL__SOONER(next, c->next_ping);
    }
    if (c->app_ping_ms && c->profile) {
        if (c->app_ping_sent_at) {
            due = c->app_ping_sent_at + pong;
            if (now >= due) {
                hl__conn_fail(ctx, c, HL_E_PONG_TIMEOUT, 0, "no answer to the %s ping within %u ms (pong_timeout_ms)",
                              c->profile->name, (unsigned)c->pong_timeout_ms);
                return 0;
            }
            HL__SOONER(next, due);
        } else {
            due = HL__MIN(c->last_tx, c->last_rx) + (uint64_t)c->app_ping_ms * HL__NS_PER_MS;
            if (now >= due) {
                char msg[64];
                int n = c->profile->app_ping(msg, sizeof msg);
                uint64_t wait = hl__venue_take(ctx, c, now);
                if (wait) {
                    HL__SOONER(next, now + wait);
                } else if (n > 0 && hl__wsp_send(&c->ws, HL__OP_TEXT, (const unsigned char *)msg, (size_t)n, 1, 0) == HL_OK) {
                    c->app_ping_sent_at = c->last_tx = now;
                    HL__SOONER(next, now + pong);
                }
            } else {
                HL__SOONER(next, due);
            }
        }
    }
    return next;
}
/* ==== end liveness.c ==== */
/* ==== begin poll.c ==== */
/* The poll loop: one turn of each connection (readiness, then timers), the descriptor list and
   the next deadline for foreign loops, and hl_poll on top of them. */

/* Work that waits for no socket: a new connection, a stop, a pending error, a replay, or
   plaintext BearSSL already decrypted. */
static int hl__conn_ready_now(const hl__conn *c)
{
    if (c->held) return 0;
    if ((c->state == HL_STATE_IDLE && !c->deadline) || c->stop || c->io_error) return 1;
    if (c->kick && c->state == HL_STATE_OPEN) return 1;
#if HL_ENABLE_TLS
    if (c->tls && !c->held_by_queue && c->fd != HL_INVALID_SOCKET && c->state >= HL_STATE_UPGRADING &&
        (br_ssl_engine_current_state(&c->t->cc.eng) & BR_SSL_RECVAPP))
        return 1;
#endif
    return 0;
}

/* One turn of a connection: readiness in revents, then due timers. Sets c->wake. */
static void hl__conn_step(hl_ctx *ctx, hl__conn *c, unsigned revents, uint64_t now)
{
    uint64_t next = 0, t;
    c->wake = 0;
    if (c->kind == HL__KIND_HTTP && c->hreq >= 0 && c->state != HL_STATE_OPEN) {
        /* a request's total time runs while its connection is still being made */
        uint64_t due = ctx->hreqs[c->hreq].deadline_ns;
        if (now >= due) {
            hl__http_conn_fail(ctx, c, HL_E_REQUEST_TIMEOUT, "no response within %s (timeout_ms)",
                               "the total time, still connecting");
            return;
        }
        c->wake = due;
    }
    if (c->stop) {
        hl__set_error(c, HL_E_CLOSED, 0, c->stop == 2 ? "closed by hl_ws_close before the connection opened"
                                                      : "aborted by hl_ws_abort");
        hl__conn_finish(ctx, c);
        return;
    }
    if ((c->state == HL_STATE_IDLE || c->state == HL_STATE_BACKOFF) && now >= c->deadline) {
        hl__conn_try_start(ctx, c, now);
        return;
    }
    if (c->state == HL_STATE_BACKOFF || c->state == HL_STATE_IDLE) return;
    if (c->state == HL_STATE_CONNECTING) {
        if (revents & (HL_POLLOUT | HL_POLLERR | HL_POLLIN)) {
            int e = hl__net_connect_result(c->tp, c->fd);
            if (e == 0) {
                hl__tcp_connected(ctx, c);
            } else {
                hl__net_close(c->tp, c->fd);
                c->fd = HL_INVALID_SOCKET;
                hl__connect_next(ctx, c, hl__connect_errno_result(e), e);
                return;
            }
        } else if (c->deadline && now >= c->deadline) {
            hl__net_close(c->tp, c->fd);
            c->fd = HL_INVALID_SOCKET;
            hl__connect_next(ctx, c, HL_E_CONNECT_TIMEOUT, 0);
            return;
        } else {
            return;
        }
        if (hl__gone(c)) return;
    }
#if HL_ENABLE_TLS
    if (c->state == HL_STATE_TLS_HANDSHAKE) {
        if (revents) hl__tls_step(ctx, c);
        if (!hl__gone(c) && c->state == HL_STATE_TLS_HANDSHAKE && c->deadline && now >= c->deadline)
            hl__conn_fail(ctx, c, HL_E_HANDSHAKE_TIMEOUT, 0, "TLS handshake not done within %u ms (handshake_timeout_ms)",
                          (unsigned)ctx->cfg.handshake_timeout_ms);
        if (hl__gone(c) || c->state == HL_STATE_TLS_HANDSHAKE) return;
    }
#endif
    if (c->kind == HL__KIND_HTTP) {
        hl__http_conn_step(ctx, c, revents, now);
        return;
    }
    if (c->io_error) {
        hl__io_fail(ctx, c, c->io_error, "send");
        return;
    }
    if ((revents & (HL_POLLIN | HL_POLLERR)) || hl__conn_ready_now(c)) {
        c->kick = 0;
        if (!c->held_by_queue) hl__conn_read(ctx, c);
        if (hl__gone(c)) return;
    }
    t = hl__live_step(ctx, c, now);
    if (hl__gone(c)) return;
    HL__SOONER(next, t);
    if (hl__wsp_tx_pending(&c->ws)) {
        int e = hl__conn_flush(c);
        if (e) {
            hl__io_fail(ctx, c, e, "send");
            return;
        }
    }
    t = hl__subs_pump(ctx, c, now);
    HL__SOONER(next, t);
    t = hl__subs_stale_check(ctx, c, now);
    if (hl__gone(c)) return;
    HL__SOONER(next, t);
    if (hl__wsp_tx_pending(&c->ws)) {
        int e = hl__conn_flush(c);
        if (e) {
            if (c->state == HL_STATE_CLOSING) hl__conn_finish(ctx, c);
            else hl__io_fail(ctx, c, e, "send");
            return;
        }
    }
    if (c->state == HL_STATE_OPEN && c->ws.close_sent) hl__conn_closing(ctx, c);
    if (c->deadline && now >= c->deadline) {
        if (c->state == HL_STATE_UPGRADING) {
            hl__conn_fail(ctx, c, HL_E_HANDSHAKE_TIMEOUT, 0, "no upgrade response within %u ms (handshake_timeout_ms)",
                          (unsigned)ctx->cfg.handshake_timeout_ms);
            return;
        }
        if (c->state == HL_STATE_CLOSING) {
            if ((!c->ws.close_recv || !c->ws.close_sent) && !c->err.result) {
                hl__set_error(c, HL_E_CLOSE_TIMEOUT, 0, "closing handshake not finished within %u ms (close_timeout_ms)",
                              (unsigned)ctx->cfg.close_timeout_ms);
                hl__emit_error(ctx, c, NULL, 0);
            }
            hl__conn_finish(ctx, c);
            return;
        }
    }
    c->wake = next;
}

HL_API int hl_pollfds(hl_ctx *ctx, hl_pollfd *fds, int max)
{
    uint32_t i;
    int n = 0;
    if (!ctx || (max > 0 && !fds)) return HL_E_INVALID;
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        hl__conn *c = &ctx->conns[i];
        if (!c->id || c->fd == HL_INVALID_SOCKET) continue;
        if (n < max) {
            int want_out = hl__wsp_tx_used(&c->ws) != 0;
            unsigned in = c->held_by_queue ? 0u : HL_POLLIN;
#if HL_ENABLE_TLS
            if (c->tls) want_out = (want_out && c->state != HL_STATE_TLS_HANDSHAKE) || hl__tls_wants_write(c->t);
#endif
            fds[n].fd = c->fd;
            fds[n].events = c->state == HL_STATE_CONNECTING ? HL_POLLOUT : in | (want_out ? HL_POLLOUT : 0u);
            fds[n].revents = 0;
        }
        n++;
    }
    return n;
}

HL_API int hl_next_timeout(hl_ctx *ctx)
{
    uint64_t now, best = 0;
    uint32_t i;
    if (!ctx) return -1;
    now = hl__now(ctx);
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        hl__conn *c = &ctx->conns[i];
        if (!c->id) continue;
        if (hl__conn_ready_now(c)) return 0;
        HL__SOONER(best, c->deadline);
        HL__SOONER(best, c->wake);
    }
    if (ctx->http_kick) return 0;
    HL__SOONER(best, ctx->http_wake);
    if (!best) return -1;
    if (best <= now) return 0;
    /* round up so a wake-up never comes before the deadline */
    return (int)HL__MIN((best - now + HL__NS_PER_MS - 1) / HL__NS_PER_MS, (uint64_t)0x7FFFFFFF);
}

HL_API int hl_process(hl_ctx *ctx, const hl_pollfd *fds, int n)
{
    uint32_t i;
    uint64_t now;
    if (!ctx || n < 0 || (n > 0 && !fds)) return HL_E_INVALID;
    if (ctx->in_process) return HL_E_STATE;
    ctx->in_process = 1;
    ctx->events = 0;
    hl__http_release_held(ctx);
    now = hl__now(ctx);
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        hl__conn *c = &ctx->conns[i];
        unsigned rev = 0;
        int k;
        if (!c->id) continue;
        for (k = 0; k < n; k++)
            if (fds[k].fd == c->fd && c->fd != HL_INVALID_SOCKET) rev |= fds[k].revents;
        hl__conn_step(ctx, c, rev, now);
    }
    ctx->http_wake = hl__http_pump(ctx, now);
    ctx->in_process = 0;
    return ctx->events;
}

HL_API int hl_poll(hl_ctx *ctx, int timeout_ms)
{
    int n, t, r;
    if (!ctx) return HL_E_INVALID;
    if (ctx->in_process) return HL_E_STATE;
    n = hl_pollfds(ctx, ctx->pfds, (int)ctx->cfg.max_connections);
    t = hl_next_timeout(ctx);
    if (t >= 0 && (timeout_ms < 0 || t < timeout_ms)) timeout_ms = t;
    if (timeout_ms < 0 && n == 0) timeout_ms = 0; /* nothing could ever wake us */
    r = hl__sys_poll(ctx->pfds, n, timeout_ms, ctx->sys_pfds);
    if (r < 0) return r;
    return hl_process(ctx, ctx->pfds, r > 0 ? n : 0);
}

HL_API void hl_ctx_shutdown(hl_ctx *ctx)
{
    uint32_t i;
    if (!ctx) return;
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        hl__conn *c = &ctx->conns[i];
        if (c->fd != HL_INVALID_SOCKET) hl__net_close(c->tp, c->fd);
        c->fd = HL_INVALID_SOCKET;
        c->id = 0;
    }
    hl__sys_cleanup();
}
/* ==== end poll.c ==== */
/* ==== begin ws_api.c ==== */
/* The public WebSocket calls. They only change state and queue bytes; the work happens in
   hl_poll, except that a send made outside hl_poll is written to the socket at once. */


HL_API int hl_ctx_stats_get(hl_ctx *ctx, hl_ctx_stats *out)
{
    if (!ctx || !out) return HL_E_INVALID;
    *out = ctx->stats;
#if HL_ENABLE_TLS
    out->tls_anchors = (uint32_t)ctx->anchors.count;
    out->tls_anchor_bytes = ctx->cfg.tls_anchors ? 0 : ctx->anchors.bytes_used + ctx->anchors.count * sizeof(br_x509_trust_anchor);
#endif
    return HL_OK;
}

HL_API int hl_ws_connect(hl_ctx *ctx, const hl_ws_desc *desc, hl_ws *out)
{
    hl__conn *c = NULL;
    uint32_t i;
    hl_url url;
    char why[120];
    int rc;
    if (!ctx || !desc || !desc->url || !desc->on_event || !out) return HL_E_INVALID;
    out->id = 0;
    rc = hl_url_parse(desc->url, &url, why, sizeof why);
    if (rc != HL_OK) {
        hl__log(ctx, HL_LOG_ERROR, 0, "bad URL '%.80s': %s", desc->url, why);
        return rc;
    }
    if (url.scheme != HL_SCHEME_WS && url.scheme != HL_SCHEME_WSS) return HL_E_BAD_URL;
    if (url.scheme == HL_SCHEME_WSS && !HL_ENABLE_TLS) {
        hl__log(ctx, HL_LOG_ERROR, 0, "wss:// needs a build with HL_ENABLE_TLS 1");
        return HL_E_UNSUPPORTED;
    }
    if (desc->tls_pin_count < 0 || desc->tls_pin_count > HL__MAX_PINS || (desc->tls_pin_count && !desc->tls_pins))
        return HL_E_INVALID;
#if HL_ENABLE_TLS
    if (url.scheme == HL_SCHEME_WSS) {
        rc = hl__tls_anchors_ready(ctx, why, sizeof why);
        if (rc != HL_OK) {
            hl__log(ctx, HL_LOG_ERROR, 0, "%s", why);
            return rc;
        }
        if ((url.is_ipv6 || hl__is_ipv4_literal(url.host)) && !desc->tls_pin_count && !ctx->cfg.tls_insecure) {
            hl__log(ctx, HL_LOG_ERROR, 0, "wss://%s: an IP address cannot be verified by name; pin the key "
                                          "(tls_pins) or use a DNS name", url.host);
            return HL_E_TLS_CERT;
        }
    }
#endif
    if (desc->subprotocols && strlen(desc->subprotocols) >= sizeof c->subprotocols) return HL_E_INVALID;
    for (i = 0; i < ctx->cfg.max_connections; i++)
        if (!ctx->conns[i].id) {
            c = &ctx->conns[i];
            break;
        }
    if (!c) {
        hl__log(ctx, HL_LOG_WARN, 0, "no free connection slot: raise max_connections (%u)",
                (unsigned)ctx->cfg.max_connections);
        return HL_E_POOL_EMPTY;
    }
    hl__conn_claim(ctx, c);
    c->url = url;
    if (desc->subprotocols) HL_MEMCPY(c->subprotocols, desc->subprotocols, strlen(desc->subprotocols) + 1);
    c->headers = desc->headers;
    c->headers_user = desc->headers_user;
    c->on_event = desc->on_event;
    c->user = desc->user;
    c->tls = url.scheme == HL_SCHEME_WSS;
    c->npins = desc->tls_pin_count;
    if (c->npins) HL_MEMCPY(c->pins, desc->tls_pins, 32 * (size_t)c->npins);
    c->reconnect = desc->reconnect != 0;
    hl__backoff_resolve(&desc->backoff, &c->backoff);
    hl__breaker_config_resolve(&desc->breaker, &c->bcfg);
    c->profile = desc->profile;
    c->venue = desc->profile ? hl__venue_of(ctx, desc->profile) : -1;
    c->ping_ms = desc->ping_interval_ms;
    c->pong_timeout_ms = desc->pong_timeout_ms ? desc->pong_timeout_ms : 10000;
    c->app_ping_ms = desc->app_ping_ms ? desc->app_ping_ms : (desc->profile ? desc->profile->app_ping_ms : 0);
    if (c->app_ping_ms == HL_UNLIMITED) c->app_ping_ms = 0;
    c->silence_ms = desc->silence_timeout_ms;
    c->batch_events = desc->batch_events != 0;
    out->id = c->id;
    return HL_OK;
}

/* Send what was just queued at once when called from outside hl_process: latency matters more
   than batching for our users. A failure is kept for hl_process to report. */
static int hl__after_queue(hl_ctx *ctx, hl__conn *c, int rc)
{
    if (rc == HL_OK && !ctx->in_process && !c->io_error && c->fd != HL_INVALID_SOCKET)
        c->io_error = hl__conn_flush(c);
    return rc;
}

static hl__conn *hl__conn_open(hl_ctx *ctx, hl_ws ws, int *rc)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    *rc = HL_OK;
    if (!c) *rc = HL_E_BAD_HANDLE;
    else if (c->state == HL_STATE_CLOSING || c->state == HL_STATE_CLOSED || c->stop) *rc = HL_E_CLOSED;
    else if (c->state != HL_STATE_OPEN) *rc = HL_E_STATE;
    return *rc == HL_OK ? c : NULL;
}

/* The venue's outbound budget: a message that would break it is refused, never delayed. */
static int hl__send_budget(hl_ctx *ctx, hl__conn *c)
{
    if (c->venue < 0 || c->ws.send_op) return HL_OK; /* a fragmented message counts once */
    if (hl__venue_take(ctx, c, hl__now(ctx))) {
        hl__log(ctx, HL_LOG_WARN, c->id, "outbound budget of the %s venue spent (ws_msgs_per_minute)", c->profile->name);
        return HL_E_RATE_LIMITED;
    }
    return HL_OK;
}

static int hl__send_common(hl_ctx *ctx, hl_ws ws, hl_msg_type type, const void *data, size_t len, int fin, int frag)
{
    int rc;
    hl__conn *c = hl__conn_open(ctx, ws, &rc);
    if (!c) return rc;
    if (!data && len) return HL_E_INVALID;
    rc = hl__send_budget(ctx, c);
    if (rc != HL_OK) return rc;
    rc = hl__wsp_send(&c->ws, (int)type, (const unsigned char *)data, len, fin, frag);
    if (rc == HL_OK) c->last_tx = hl__now(ctx);
    return hl__after_queue(ctx, c, rc);
}

HL_API int hl_ws_send(hl_ctx *ctx, hl_ws ws, hl_msg_type type, const void *data, size_t len)
{
    return hl__send_common(ctx, ws, type, data, len, 1, 0);
}

HL_API int hl_ws_send_fragment(hl_ctx *ctx, hl_ws ws, hl_msg_type type, const void *data,
                               size_t len, int final)
{
    return hl__send_common(ctx, ws, type, data, len, final != 0, 1);
}

HL_API int hl_ws_ping(hl_ctx *ctx, hl_ws ws, const void *data, size_t len)
{
    int rc;
    hl__conn *c = hl__conn_open(ctx, ws, &rc);
    if (!c) return rc;
    if (!data && len) return HL_E_INVALID;
    return hl__after_queue(ctx, c, hl__wsp_ping(&c->ws, (const unsigned char *)data, len));
}

HL_API int hl_ws_close(hl_ctx *ctx, hl_ws ws, int code, const char *reason)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    size_t rlen = reason ? strlen(reason) : 0;
    if (!c) return HL_E_BAD_HANDLE;
    if (code != 0 && (!hl__close_code_valid((unsigned)code) || code == 1005 || code == 1006))
        return HL_E_INVALID;
    if (rlen > 123 || (rlen && code == 0)) return HL_E_INVALID;
    if (rlen && hl__utf8_feed(0, (const unsigned char *)reason, rlen) != HL__UTF8_ACCEPT) return HL_E_BAD_UTF8;
    if (c->ws.close_sent || c->stop) return HL_E_CLOSED;
    if (c->state != HL_STATE_OPEN) {
        /* not open yet: nothing to hand-shake, just stop */
        c->stop = 2;
        c->close_origin = HL_CLOSE_BY_LOCAL;
        return HL_OK;
    }
    c->close_origin = HL_CLOSE_BY_LOCAL;
    c->held_by_queue = 0; /* closing: nothing is held back any more */
    c->kick = 1;          /* CLOSING and its deadline start now, not at the next wake-up */
    hl__wsp_queue_close(&c->ws, code, reason, rlen);
    return hl__after_queue(ctx, c, HL_OK);
}

HL_API int hl_ws_abort(hl_ctx *ctx, hl_ws ws)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    if (!c) return HL_E_BAD_HANDLE;
    if (!c->close_origin) c->close_origin = HL_CLOSE_BY_LOCAL;
    c->stop = 1;
    return HL_OK;
}

HL_API int hl_ws_set_reconnect(hl_ctx *ctx, hl_ws ws, int on)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    if (!c) return HL_E_BAD_HANDLE;
    c->reconnect = on != 0;
    return HL_OK;
}

HL_API hl_state hl_ws_state(hl_ctx *ctx, hl_ws ws)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    return c ? c->state : HL_STATE_CLOSED;
}

HL_API size_t hl_ws_send_room(hl_ctx *ctx, hl_ws ws)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    size_t used;
    if (!c) return 0;
    used = hl__wsp_tx_used(&c->ws) + HL__TX_CTRL_RESERVE;
    return used >= c->ws.tx_cap ? 0 : c->ws.tx_cap - used;
}

HL_API int hl_ws_stats_get(hl_ctx *ctx, hl_ws ws, hl_ws_stats *out)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    if (!c || !out) return c ? HL_E_INVALID : HL_E_BAD_HANDLE;
    hl__live_healthy(c, hl__now(ctx));
    *out = c->ws.stats;
    out->send_queue_bytes = hl__wsp_tx_used(&c->ws);
    out->breaker = c->breaker.state;
    out->breaker_opens = c->breaker.opens;
    if (out->opened_at_ns) out->connected_ns += hl__now(ctx) - out->opened_at_ns;
    return HL_OK;
}

HL_API int hl_ws_last_error(hl_ctx *ctx, hl_ws ws, hl_error_info *out)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    if (!c || !out) return c ? HL_E_INVALID : HL_E_BAD_HANDLE;
    *out = c->err;
    return HL_OK;
}
/* ==== end ws_api.c ==== */
/* ==== begin stats_json.c ==== */
/* The context's statistics as one JSON document, for a metrics endpoint or a log line. Written
   straight into the caller's buffer; nothing of it is kept. */

typedef struct hl__jw {
    char *p;
    size_t cap, len;
    int over;
} hl__jw;

static void hl__jw_put(hl__jw *w, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (w->over) return;
    va_start(ap, fmt);
    n = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len) w->over = 1;
    else w->len += (size_t)n;
}

/* s as the inside of a JSON string (quotes, backslashes and control bytes escaped). */
static void hl__jw_chars(hl__jw *w, const char *s)
{
    for (; *s && !w->over; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') hl__jw_put(w, "\\%c", ch);
        else if (ch < 0x20) hl__jw_put(w, "\\u%04x", ch);
        else hl__jw_put(w, "%c", ch);
    }
}

static void hl__jw_str(hl__jw *w, const char *s)
{
    hl__jw_put(w, "\"");
    hl__jw_chars(w, s);
    hl__jw_put(w, "\"");
}

static void hl__jw_sub(hl__jw *w, const hl__sub *s, uint64_t now)
{
    static const char *const states[] = {"", "pending", "active", "failed", "removed"};
    hl__jw_put(w, "{\"subscription\":");
    hl__jw_str(w, s->json);
    hl__jw_put(w, ",\"state\":\"%s\",\"msgs\":%llu,\"bytes\":%llu,\"drops\":%llu,\"conflated\":%llu,"
                  "\"queued\":%u,\"queue_peak\":%u,\"last_msg_age_ms\":%lld,\"awaiting_snapshot\":%s}",
               states[s->state <= HL_SUB_REMOVED ? s->state : 0], (unsigned long long)s->st.msgs,
               (unsigned long long)s->st.bytes, (unsigned long long)s->st.drops,
               (unsigned long long)s->st.conflated, (unsigned)s->st.queued, (unsigned)s->st.queue_peak,
               s->st.last_msg_ns ? (long long)((now - s->st.last_msg_ns) / HL__NS_PER_MS) : -1LL,
               s->st.awaiting_snapshot ? "true" : "false");
}

static void hl__jw_conn(hl_ctx *ctx, hl__jw *w, hl__conn *c, uint64_t now)
{
    static const char *const bstates[] = {"closed", "open", "half_open"};
    hl_ws_stats st;
    int32_t i;
    int first = 1;
    hl_ws_stats_get(ctx, hl__conn_handle(c), &st);
    hl__jw_put(w, "{\"id\":%u,\"url\":", (unsigned)c->id);
    hl__jw_put(w, "\"%s://%s%s%s:%u", c->tls ? "wss" : "ws", c->url.is_ipv6 ? "[" : "", c->url.host,
               c->url.is_ipv6 ? "]" : "", (unsigned)c->url.port);
    hl__jw_chars(w, c->url.target);
    hl__jw_put(w, "\"");
    hl__jw_put(w, ",\"state\":\"%s\",\"profile\":", hl_state_str(c->state));
    hl__jw_str(w, c->profile ? c->profile->name : "generic");
    hl__jw_put(w, ",\"connects\":%llu,\"attempts\":%llu,\"reconnects\":%llu,\"disconnects\":%llu,"
                  "\"success_rate\":%.3f,\"uptime_ms\":%llu,\"connected_ms\":%llu,",
               (unsigned long long)st.connects, (unsigned long long)st.attempts, (unsigned long long)st.reconnects,
               (unsigned long long)st.disconnects, st.attempts ? (double)st.connects / (double)st.attempts : 0.0,
               st.opened_at_ns ? (unsigned long long)((now - st.opened_at_ns) / HL__NS_PER_MS) : 0ULL,
               (unsigned long long)(st.connected_ns / HL__NS_PER_MS));
    hl__jw_put(w, "\"last_disconnect_ago_ms\":%lld,\"last_disconnect_reason\":\"%s\",",
               st.last_disconnect_ns ? (long long)((now - st.last_disconnect_ns) / HL__NS_PER_MS) : -1LL,
               st.last_disconnect_ns ? hl_result_name(st.last_disconnect_result) : "");
    hl__jw_put(w, "\"msgs_in\":%llu,\"bytes_in\":%llu,\"msgs_out\":%llu,\"bytes_out\":%llu,"
                  "\"last_msg_age_ms\":%lld,\"pings_in\":%llu,\"pongs_in\":%llu,\"pings_out\":%llu,"
                  "\"pongs_coalesced\":%llu,\"send_queue_bytes\":%llu,\"send_queue_peak\":%llu,",
               (unsigned long long)st.msgs_in, (unsigned long long)st.bytes_in, (unsigned long long)st.msgs_out,
               (unsigned long long)st.bytes_out,
               st.last_msg_ns ? (long long)((now - st.last_msg_ns) / HL__NS_PER_MS) : -1LL,
               (unsigned long long)st.pings_in, (unsigned long long)st.pongs_in, (unsigned long long)st.pings_out,
               (unsigned long long)st.pongs_coalesced, (unsigned long long)st.send_queue_bytes,
               (unsigned long long)st.send_queue_peak);
    hl__jw_put(w, "\"rtt_us\":{\"last\":%.1f,\"min\":%.1f,\"mean\":%.1f,\"max\":%.1f,\"samples\":%llu},",
               st.rtt_last_ns / 1e3, st.rtt_min_ns / 1e3, st.rtt_count ? (double)st.rtt_sum_ns / (double)st.rtt_count / 1e3 : 0.0,
               st.rtt_max_ns / 1e3, (unsigned long long)st.rtt_count);
    hl__jw_put(w, "\"breaker\":\"%s\",\"breaker_opens\":%llu,\"subscriptions\":[",
               bstates[st.breaker <= HL_BREAKER_HALF_OPEN ? st.breaker : 0], (unsigned long long)st.breaker_opens);
    for (i = c->sub_first; i >= 0; i = ctx->subs[i].next) {
        if (ctx->subs[i].unsub_pending) continue;
        if (!first) hl__jw_put(w, ",");
        first = 0;
        hl__jw_sub(w, &ctx->subs[i], now);
    }
    hl__jw_put(w, "]}");
}

/* The upper bound (microseconds) of the histogram bucket holding the p-th percentile. */
static uint64_t hl__lat_pct(const hl__endpoint *e, unsigned pct)
{
    uint64_t want = (e->lat_count * pct + 99) / 100, seen = 0;
    int b;
    for (b = 0; b < HL__HTTP_LAT_BUCKETS; b++) {
        seen += e->lat_hist[b];
        if (seen >= want && want) return 16ull << b;
    }
    return 0;
}

static void hl__jw_endpoint(hl_ctx *ctx, hl__jw *w, const hl__endpoint *e)
{
    static const char *const bstates[] = {"closed", "open", "half_open"};
    const hl__origin *o = &ctx->origins[e->origin];
    hl__jw_put(w, "{\"origin\":\"%s://%s%s%s:%u\",\"path\":", o->scheme == HL_SCHEME_HTTPS ? "https" : "http",
               o->is_ipv6 ? "[" : "", o->host, o->is_ipv6 ? "]" : "", (unsigned)o->port);
    hl__jw_str(w, e->path);
    hl__jw_put(w, ",\"requests\":%llu,\"retries\":%llu,\"responses\":{\"1xx\":%llu,\"2xx\":%llu,\"3xx\":%llu,"
                  "\"4xx\":%llu,\"5xx\":%llu},\"errors\":{\"timeout\":%llu,\"network\":%llu,\"tls\":%llu,"
                  "\"protocol\":%llu,\"refused\":%llu},\"bytes_out\":%llu,\"bytes_in\":%llu,",
               (unsigned long long)e->requests, (unsigned long long)e->retries, (unsigned long long)e->by_class[1],
               (unsigned long long)e->by_class[2], (unsigned long long)e->by_class[3],
               (unsigned long long)e->by_class[4], (unsigned long long)e->by_class[5],
               (unsigned long long)e->err_timeout, (unsigned long long)e->err_network, (unsigned long long)e->err_tls,
               (unsigned long long)e->err_protocol, (unsigned long long)e->err_refused,
               (unsigned long long)e->bytes_out, (unsigned long long)e->bytes_in);
    hl__jw_put(w, "\"latency_us\":{\"count\":%llu,\"min\":%.1f,\"mean\":%.1f,\"max\":%.1f,\"p50_le\":%llu,"
                  "\"p90_le\":%llu,\"p99_le\":%llu},\"breaker\":\"%s\",\"breaker_opens\":%llu}",
               (unsigned long long)e->lat_count, e->lat_min_ns / 1e3,
               e->lat_count ? (double)e->lat_sum_ns / (double)e->lat_count / 1e3 : 0.0, e->lat_max_ns / 1e3,
               (unsigned long long)hl__lat_pct(e, 50), (unsigned long long)hl__lat_pct(e, 90),
               (unsigned long long)hl__lat_pct(e, 99),
               bstates[e->breaker.state <= HL_BREAKER_HALF_OPEN ? e->breaker.state : 0],
               (unsigned long long)e->breaker.opens);
}

HL_API int hl_stats_json(hl_ctx *ctx, char *buf, size_t cap)
{
    hl__jw w;
    uint32_t i;
    int first = 1;
    uint64_t now;
    hl_ctx_stats cs;
    if (!ctx || !buf || cap == 0) return HL_E_INVALID;
    now = hl__now(ctx);
    w.p = buf;
    w.cap = cap;
    w.len = 0;
    w.over = 0;
    buf[0] = '\0';
    hl_ctx_stats_get(ctx, &cs);
    hl__jw_put(&w, "{\"version\":\"%s\",\"tls_handshakes_full\":%llu,\"tls_handshakes_resumed\":%llu,"
                   "\"tls_anchors\":%u,\"connections\":[",
               HL_NET_VERSION, (unsigned long long)cs.tls_handshakes_full,
               (unsigned long long)cs.tls_handshakes_resumed, (unsigned)cs.tls_anchors);
    for (i = 0; i < ctx->cfg.max_connections; i++) {
        if (!ctx->conns[i].id || ctx->conns[i].kind != HL__KIND_WS) continue;
        if (!first) hl__jw_put(&w, ",");
        first = 0;
        hl__jw_conn(ctx, &w, &ctx->conns[i], now);
    }
    hl__jw_put(&w, "],\"http_endpoints\":[");
    for (i = 0, first = 1; i < ctx->cfg.http_max_endpoints; i++) {
        if (!ctx->endpoints[i].used) continue;
        if (!first) hl__jw_put(&w, ",");
        first = 0;
        hl__jw_endpoint(ctx, &w, &ctx->endpoints[i]);
    }
    hl__jw_put(&w, "]}");
    if (w.over) {
        buf[0] = '\0';
        return HL_E_QUEUE_FULL;
    }
    return (int)w.len;
}
/* ==== end stats_json.c ==== */
/* ==== begin impl_end.c ==== */
#endif /* HL_NET_IMPLEMENTATION */
/* ==== end impl_end.c ==== */
/*
------------------------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the hl_net authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------------------------
*/
