/* hl_net.h - a poll-driven WebSocket (RFC 6455) client for C99, in one header.
   Version 0.1.0. MIT licence (at the end of this file).

   GENERATED from amalgamate/ by amalgamate/amalgamate.sh: edit the modules, not this file.

   Do this:
       #define HL_NET_IMPLEMENTATION
   before you include this file in *one* C or C++ file to create the implementation. Every other
   file includes it plainly. Add HL_NET_STATIC as well to make every function static.

QUICK START
   A complete subscriber: connects, sends one message, prints what arrives until the server
   closes.

       #define HL_NET_IMPLEMENTATION
       #include "hl_net.h"
       #include <stdio.h>

       static void on_event(hl_ctx *ctx, const hl_event *ev)
       {
           switch (ev->type) {
           case HL_EV_OPEN:
               hl_ws_send(ctx, ev->ws, HL_MSG_TEXT, "{\"method\":\"ping\"}", 17);
               break;
           case HL_EV_MESSAGE:
               printf("%.*s\n", (int)ev->len, (const char *)ev->data);
               break;
           case HL_EV_ERROR:
               fprintf(stderr, "error: %s\n", ev->detail);
               break;
           case HL_EV_CLOSE:
               *(int *)ev->user = 1;
               break;
           default:
               break;
           }
       }

       int main(void)
       {
           static unsigned char mem[4 << 20];
           hl_config cfg = {0};
           hl_ctx *ctx;
           hl_ws_desc desc = {0};
           hl_ws ws;
           int done = 0;
           cfg.max_connections = 1;
           if (hl_ctx_size(&cfg) > sizeof mem || hl_ctx_init(&ctx, mem, sizeof mem, &cfg)) return 1;
           desc.url = "ws://127.0.0.1:8080/echo";
           desc.on_event = on_event;
           desc.user = &done;
           if (hl_ws_connect(ctx, &desc, &ws) != HL_OK) return 1;
           while (!done) hl_poll(ctx, 1000);
           hl_ctx_shutdown(ctx);
           return 0;
       }

   Build: cc app.c (plain ws://). With TLS: -DHL_ENABLE_TLS=1 -I/usr/include/bearssl -lbearssl.

MEMORY MODEL
   The library never calls malloc, calloc, realloc or free. hl_ctx_size(&cfg) says how many bytes
   a configuration needs; hl_ctx_init carves that block once into fixed pools and never asks for
   more. Per connection it holds a receive buffer of max_message_size + read_chunk_size bytes
   (a whole message is assembled there and handed to you in place, zero-copy) and a send queue of
   send_queue_size bytes. With the defaults (1 MiB messages, 16 KiB chunk, 256 KiB queue) that is
   about 1.3 MiB per connection. Running out of a pool is an error code (HL_E_POOL_EMPTY,
   HL_E_QUEUE_FULL), never a crash and never growth. The default resolver, getaddrinfo, may
   allocate inside libc; pass your own config.resolve to avoid even that.

THREADING
   None. The library creates no threads and takes no locks. One context belongs to one thread at
   a time; use one context per thread if you have several.

POLL-LOOP INTEGRATION
   Simplest: call hl_poll(ctx, timeout_ms) in your loop. It sleeps at most until the earliest
   deadline of the context (connect, handshake and close timeouts) and never past timeout_ms, then
   does all ready work and calls your callbacks. An idle context uses no CPU.
   With your own loop (epoll, kqueue, a game frame): hl_pollfds lists the sockets and the events
   each wants, hl_next_timeout gives the milliseconds to the next deadline, and after your wait
   hl_process(ctx, fds, n) takes the readiness you observed (n = 0 just runs due timers).
   Callbacks run only inside hl_poll / hl_process. Inside a callback you may send, close or
   abort, but not call hl_poll or hl_process.
   Outside hl_poll, hl_ws_send writes to the socket at once when it can (latency first); what
   does not fit waits in the send queue and goes out in later polls.

CONNECTION LIFECYCLE
   IDLE -> RESOLVING -> CONNECTING -> UPGRADING -> OPEN -> CLOSING -> CLOSED
   Every change is an HL_EV_STATE event. A failure is an HL_EV_ERROR (result + detail) and every
   connection ends with exactly one HL_EV_CLOSE (code, reason, who closed); the handle is dead
   after that callback returns. Each resolved address is tried in turn (IPv4 and IPv6).

LIMITS AND BACKPRESSURE
   Receive: a message over max_message_size fails the connection with close 1009. Text is checked
   as UTF-8 as it arrives and fails at the first bad byte (1007). Send: hl_ws_send returns
   HL_E_QUEUE_FULL when the message does not fit the send queue; nothing was queued, so send it
   again after a poll (hl_ws_send_room tells the room). Pongs and the close frame use a small
   reserve of the queue, so a full queue never blocks the protocol; when pings pile up faster
   than the socket drains, only the newest is answered (RFC 6455 5.5.3), counted in
   hl_ws_stats.pongs_coalesced.

CONFIGURATION
   hl_config, zero meaning default (hl_config_resolve shows the effective values):
       max_connections       4          connection slots
       max_message_size      1 MiB      largest message received
       read_chunk_size       16 KiB     receive room beyond one message (min 1 KiB)
       send_queue_size       256 KiB    framed bytes waiting for the socket
       max_header_size       8 KiB      handshake request and response headers (min 256)
       connect_timeout_ms    10000      per address tried
       handshake_timeout_ms  10000      TCP connected to 101 received
       close_timeout_ms      5000       closing handshake and the server's TCP close
       log_level             INFO       most detailed level passed to log
       clock, entropy, resolve, log, user   callbacks (monotonic ns clock, OS randomness,
                                            getaddrinfo, silence)
   Compile time: HL_ENABLE_TLS (0), HL_NET_STATIC, HL_CONFIG_HEADER, and the hooks HL_ASSERT,
   HL_MEMCPY, HL_MEMMOVE, HL_MEMSET.

ERRORS
   Every call returns HL_OK (0) or a negative hl_result; hl_result_str and hl_result_name describe
   one. Events carry the result and a detail string; hl_ws_last_error gives errno, HTTP status and
   close code as well. When the server refuses the upgrade, HL_EV_ERROR has the HTTP status and
   the response body.

LIMITATIONS
   wss:// needs HL_ENABLE_TLS (TLS is the next milestone; the Windows build has no TLS yet).
   No permessage-deflate. Name resolution uses blocking getaddrinfo unless a resolver hook is set.
*/
