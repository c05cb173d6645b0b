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
