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
