/* Fuzz target: the RFC 6455 client machine (hl__wsp) fed arbitrary server bytes.

   Input: 4 header bytes, then the server's byte stream.
     byte 0: max message size (index into max_sizes) and send queue size (index into tx_sizes)
     bytes 1-3: seed of the schedule: the size of each read, when the send queue is drained
                (all of it or part), and when the client sends something itself
   Run A feeds the stream on that schedule, and its sink sometimes holds a message back (it is
   offered again, unchanged, on the next recv; nothing is read meanwhile, as in the driver);
   run B feeds it in reads as large as the receive buffer offers and takes every message at
   once. Both must deliver the same messages and pongs and end the same way.
   Invariants checked on the way: the receive buffer always has room (max message + one read
   chunk is enough), its indices stay ordered, deliveries are at most max_msg bytes and lie
   inside the buffer, text is valid UTF-8, everything queued to send is a well-formed masked
   client frame, at most one close is sent and nothing after it, a failure queues the matching
   close code. The buffers are heap blocks of exactly their size, so ASan sees any overrun. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ASSERT(c)                                                                              \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "fuzz_frame: %s:%d: %s\n", __FILE__, __LINE__, #c);                   \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

#define FZ_CHUNK 1024 /* the smallest read_chunk_size the configuration allows */

static const size_t max_sizes[] = {16, 125, 126, 1000, 4096, 70000};
static const size_t tx_sizes[] = {2 * HL__TX_CTRL_RESERVE, 1024, 8192};

typedef struct fz_run {
    hl__wsp w;
    hl__rng rng;
    uint64_t hash;      /* of everything delivered, in order */
    unsigned long ndeliv;
    /* the client's side of the wire: bytes taken from the send queue, decoded frame by frame */
    unsigned char *wire;
    size_t wire_len, wire_cap;
    int close_seen;
    int client_closed;  /* the application queued its close (its code, not a failure's) */
    int stop;
    uint32_t hold_rng;  /* 0: never hold a message */
    int holds;          /* consecutive holds of the current message */
    uint64_t held_hash; /* what the held message looked like */
    size_t held_len;
} fz_run;

/* FNV-1a over a delivery's kind, length and bytes, chained onto h. */
static uint64_t fz_fnv(uint64_t h, int kind, const unsigned char *p, size_t n)
{
    size_t i;
    h = (h ^ (uint64_t)kind) * 1099511628211ull;
    h = (h ^ (uint64_t)n) * 1099511628211ull;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void fz_hash(fz_run *r, int kind, const unsigned char *p, size_t n)
{
    r->hash = fz_fnv(r->hash, kind, p, n);
    r->ndeliv++;
}

static void fz_on_pong(void *user, const unsigned char *p, size_t n)
{
    fz_run *r = (fz_run *)user;
    FZ_ASSERT(n <= 125);
    FZ_ASSERT(p >= r->w.rx && p + n <= r->w.rx + r->w.rx_cap);
    fz_hash(r, 'P', p, n);
}

static uint32_t fz_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static int fz_on_message(void *user, int is_text, const unsigned char *p, size_t n)
{
    fz_run *r = (fz_run *)user;
    FZ_ASSERT(n <= r->w.max_msg);
    FZ_ASSERT(p >= r->w.rx && p + n <= r->w.rx + r->w.rx_cap);
    if (is_text) FZ_ASSERT(hl__utf8_feed(HL__UTF8_ACCEPT, p, n) == HL__UTF8_ACCEPT);
    if (r->holds) /* offered again: the same message */
        FZ_ASSERT(n == r->held_len && fz_fnv(0, is_text, p, n) == r->held_hash);
    if (r->hold_rng && r->holds < 3 && (fz_next(&r->hold_rng) & 3) == 0) {
        r->held_hash = fz_fnv(0, is_text, p, n);
        r->held_len = n;
        r->holds++;
        return 1;
    }
    r->holds = 0;
    fz_hash(r, is_text ? 'T' : 'B', p, n);
    return 0;
}

static void fz_check_indices(const hl__wsp *w)
{
    FZ_ASSERT(w->msg_start <= w->wr);
    FZ_ASSERT(w->wr <= w->rd);
    FZ_ASSERT(w->rd <= w->fill);
    FZ_ASSERT(w->fill <= w->rx_cap);
    FZ_ASSERT(w->tx_head <= w->tx_tail);
    FZ_ASSERT(w->tx_tail <= w->tx_cap);
    FZ_ASSERT(w->pong_pending >= -1 && w->pong_pending <= 125);
    FZ_ASSERT(w->close_pending >= -1 && w->close_pending <= 125);
    if (w->msg_op) FZ_ASSERT(w->wr - w->msg_start <= w->max_msg);
}

/* Decode whole client frames at the front of the wire. */
static void fz_wire_decode(fz_run *r)
{
    size_t pos = 0;
    for (;;) {
        hl__frame f;
        int h = hl__frame_parse(r->wire + pos, r->wire_len - pos, &f);
        FZ_ASSERT(h >= 0);
        if (h == 0 || r->wire_len - pos - (size_t)h < f.len) break;
        FZ_ASSERT(f.masked == 1);
        FZ_ASSERT(f.rsv == 0);
        FZ_ASSERT(f.opcode <= 2 || (f.opcode >= 8 && f.opcode <= 10));
        FZ_ASSERT(!r->close_seen); /* nothing after our close */
        if (f.opcode >= 8) {
            FZ_ASSERT(f.fin);
            FZ_ASSERT(f.len <= 125);
        }
        if (f.opcode == HL__OP_CLOSE) {
            unsigned char pl[125];
            r->close_seen = 1;
            FZ_ASSERT(f.len != 1);
            hl__mask(pl, r->wire + pos + h, (size_t)f.len, f.mask, 0);
            if (f.len >= 2) {
                unsigned code = (unsigned)pl[0] << 8 | pl[1];
                FZ_ASSERT(hl__close_code_valid(code));
                FZ_ASSERT((int)code == r->w.sent_code);
                FZ_ASSERT(hl__utf8_feed(HL__UTF8_ACCEPT, pl + 2, (size_t)f.len - 2) == HL__UTF8_ACCEPT);
            } else {
                FZ_ASSERT(r->w.sent_code == 0);
            }
        }
        pos += (size_t)h + (size_t)f.len;
    }
    if (pos) {
        memmove(r->wire, r->wire + pos, r->wire_len - pos);
        r->wire_len -= pos;
    }
}

/* The socket takes n bytes of the send queue (all of it when n is larger). */
static void fz_drain(fz_run *r, size_t n)
{
    size_t len;
    const unsigned char *p = hl__wsp_tx_buf(&r->w, &len);
    if (n > len) n = len;
    FZ_ASSERT(r->wire_len + n <= r->wire_cap);
    memcpy(r->wire + r->wire_len, p, n);
    r->wire_len += n;
    hl__wsp_tx_ack(&r->w, n);
    fz_check_indices(&r->w);
    fz_wire_decode(r);
}

static int fz_open(fz_run *r, size_t max_msg, size_t txcap)
{
    unsigned char seed[44];
    memset(r, 0, sizeof *r);
    memset(seed, 7, sizeof seed);
    hl__rng_seed(&r->rng, seed);
    r->w.rx = (unsigned char *)malloc(max_msg + FZ_CHUNK);
    r->w.tx = (unsigned char *)malloc(txcap);
    r->wire_cap = 2 * txcap + 64; /* a partial frame's head plus a whole queue */
    r->wire = (unsigned char *)malloc(r->wire_cap);
    if (!r->w.rx || !r->w.tx || !r->wire) return -1;
    r->w.rx_cap = max_msg + FZ_CHUNK;
    r->w.compact_below = FZ_CHUNK;
    r->w.max_msg = max_msg;
    r->w.tx_cap = txcap;
    r->w.rng = &r->rng;
    hl__wsp_reset(&r->w);
    r->hash = 14695981039346656037ull;
    return 0;
}

static void fz_close(fz_run *r)
{
    free(r->w.rx);
    free(r->w.tx);
    free(r->wire);
}

/* Put up to n bytes in (one read of at most `chunk`, 0 meaning all the room), parse them.
   Returns how many were taken. */
static size_t fz_read(fz_run *r, const uint8_t *p, size_t n, size_t chunk)
{
    hl__wsp_sink sink;
    size_t room, k;
    unsigned char *dst;
    int rc;
    if (r->w.failed || r->w.close_recv) return n; /* the driver reads and drops */
    sink.message = fz_on_message;
    sink.pong = fz_on_pong;
    sink.user = r;
    if (r->w.held) { /* no reading: offer the held message again (parsing goes on after it) */
        FZ_ASSERT(r->holds > 0);
        k = 0;
    } else {
        dst = hl__wsp_rx_buf(&r->w, &room);
        fz_check_indices(&r->w);
        FZ_ASSERT(room > 0); /* max message + one chunk always suffices */
        k = n < room ? n : room;
        if (chunk && k > chunk) k = chunk;
        memcpy(dst, p, k);
        hl__wsp_rx_ack(&r->w, k);
    }
    rc = hl__wsp_recv(&r->w, &sink, &r->stop);
    fz_check_indices(&r->w);
    if (rc != HL_OK) {
        FZ_ASSERT(r->w.failed);
        FZ_ASSERT(rc == r->w.result);
        FZ_ASSERT(rc == HL_E_PROTOCOL || rc == HL_E_BAD_UTF8 || rc == HL_E_MSG_TOO_BIG);
        FZ_ASSERT(r->w.close_sent);
        if (!r->client_closed)
            FZ_ASSERT(r->w.sent_code == (rc == HL_E_PROTOCOL ? 1002 : rc == HL_E_BAD_UTF8 ? 1007 : 1009));
        FZ_ASSERT(r->w.detail[0] != '\0');
    } else {
        FZ_ASSERT(!r->w.failed);
    }
    if (r->w.close_recv) {
        FZ_ASSERT(r->w.recv_code == 1005 || hl__close_code_valid((unsigned)r->w.recv_code));
        FZ_ASSERT(r->w.close_sent);
        FZ_ASSERT(strlen(r->w.recv_reason) <= 123);
    }
    return k;
}

/* Something the application might do between reads. */
static void fz_client_action(fz_run *r, uint32_t v)
{
    static const unsigned char body[300] = {'x'};
    size_t before, after, n = (v >> 8) % sizeof body;
    int rc;
    hl__wsp_tx_buf(&r->w, &before);
    switch ((v >> 4) % 6) {
    case 0: rc = hl__wsp_send(&r->w, HL__OP_TEXT, (const unsigned char *)"\xce\xba\xcf\x83", 4, 1, 0); break;
    case 1: rc = hl__wsp_send(&r->w, HL__OP_BINARY, body, n, 1, 0); break;
    case 2: rc = hl__wsp_ping(&r->w, body, n % 126); break;
    case 3: rc = hl__wsp_send(&r->w, HL__OP_TEXT, (const unsigned char *)"abc", 3, (v >> 20) & 1, 1); break;
    case 4: rc = hl__wsp_send(&r->w, HL__OP_BINARY, body, n, (v >> 20) & 1, 1); break;
    default:
        if ((v >> 24) % 8 == 0) {
            if (!r->w.close_sent) r->client_closed = 1;
            hl__wsp_queue_close(&r->w, 1000 + (int)((v >> 8) % 4), "bye", 3);
        }
        rc = HL_OK;
        break;
    }
    hl__wsp_tx_buf(&r->w, &after);
    FZ_ASSERT(rc == HL_OK || rc == HL_E_QUEUE_FULL || rc == HL_E_STATE || rc == HL_E_CLOSED ||
              rc == HL_E_MSG_TOO_BIG);
    if (rc != HL_OK) FZ_ASSERT(after == before); /* a refusal queues nothing */
    fz_check_indices(&r->w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_run a, b;
    size_t max_msg, txcap, pos;
    uint32_t s;
    int ok;
    if (size < 4) return 0;
    max_msg = max_sizes[data[0] % (sizeof max_sizes / sizeof max_sizes[0])];
    txcap = tx_sizes[(data[0] / 8) % (sizeof tx_sizes / sizeof tx_sizes[0])];
    s = (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
    s = s * 2654435761u + 1; /* never 0 */
    if (!s) s = 1;
    data += 4;
    size -= 4;

    /* run A: reads of scheduled sizes, drains, holds and client actions between them */
    ok = fz_open(&a, max_msg, txcap) == 0 && fz_open(&b, max_msg, txcap) == 0;
    if (!ok) {
        fz_close(&a);
        fz_close(&b);
        return 0;
    }
    a.hold_rng = s ^ 0x9E3779B9u;
    if (!a.hold_rng) a.hold_rng = 1;
    pos = 0;
    while (pos < size) {
        uint32_t v = fz_next(&s);
        size_t chunk;
        switch (v & 3) {
        case 0: chunk = 1 + (v >> 8) % 3; break;       /* tiny */
        case 1: chunk = 1 + (v >> 8) % 32; break;      /* small */
        case 2: chunk = 1 + (v >> 8) % 2048; break;    /* up to two read chunks */
        default: chunk = 0; break;                     /* all the room */
        }
        pos += fz_read(&a, data + pos, size - pos, chunk);
        v = fz_next(&s);
        if ((v & 7) == 0) fz_drain(&a, (size_t)-1);
        else if ((v & 7) == 1) fz_drain(&a, (v >> 8) % 200);
        if (((v >> 3) & 15) == 0) fz_client_action(&a, fz_next(&s));
    }
    while (a.w.held) fz_read(&a, data, 0, 0); /* take what is still held (at most 3 holds) */
    fz_drain(&a, (size_t)-1);
    fz_drain(&a, (size_t)-1); /* a pong or close waiting in a slot gets out now */
    FZ_ASSERT(!hl__wsp_tx_pending(&a.w));
    FZ_ASSERT(a.wire_len == 0); /* only whole frames were queued */

    /* run B: the same bytes in reads as large as the buffer offers */
    pos = 0;
    while (pos < size) pos += fz_read(&b, data + pos, size - pos, 0);
    fz_drain(&b, (size_t)-1);
    fz_drain(&b, (size_t)-1);

    FZ_ASSERT(a.ndeliv == b.ndeliv);
    FZ_ASSERT(a.hash == b.hash);
    FZ_ASSERT(a.w.failed == b.w.failed);
    FZ_ASSERT(a.w.result == b.w.result);
    FZ_ASSERT(a.w.close_recv == b.w.close_recv);
    FZ_ASSERT(a.w.recv_code == b.w.recv_code);
    FZ_ASSERT(strcmp(a.w.recv_reason, b.w.recv_reason) == 0);
    FZ_ASSERT(a.w.stats.msgs_in == b.w.stats.msgs_in && a.w.stats.bytes_in == b.w.stats.bytes_in);
    FZ_ASSERT(a.w.stats.pings_in == b.w.stats.pings_in);
    /* a close received or a failure put our close frame on the wire */
    if (b.w.close_recv || b.w.failed) FZ_ASSERT(b.close_seen);
    if (a.w.close_recv || a.w.failed || a.client_closed) FZ_ASSERT(a.close_seen);
    fz_close(&a);
    fz_close(&b);
    return 0;
}
