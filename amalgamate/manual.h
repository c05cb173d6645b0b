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
