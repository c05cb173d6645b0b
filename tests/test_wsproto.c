/* The sans-I/O RFC 6455 client machine (hl__wsp), without sockets: server bytes go in through
   rx_buf/rx_ack/recv as the driver would put them, a sink records what is delivered, and the
   send queue (tx_buf/tx_ack) is decoded frame by frame (client frames must be masked). */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

/* ---- the machine under test, on buffers of exactly the sizes it is given ---- */

static hl__rng g_rng;
static hl__wsp W;
static unsigned char *g_rx, *g_tx;
static int g_stop;
static long g_rx_full; /* times rx_buf offered no room with bytes still to put */

/* ---- what the sink received ---- */

#define LOG_MAX 4096
typedef struct rec {
    int kind;    /* 'T' text, 'B' binary, 'P' pong */
    size_t len, off;
    int in_rx;   /* the pointer lay inside the receive buffer */
    size_t rx_off; /* where, when it did */
} rec;
static rec g_log[LOG_MAX];
static int g_nlog;
static unsigned char g_logdata[3u << 20];
static size_t g_logused;
static int g_stop_after; /* set g_stop after this many deliveries (0: never) */

static void log_put(int kind, const unsigned char *p, size_t n)
{
    rec *r;
    if (g_nlog >= LOG_MAX || g_logused + n > sizeof g_logdata) {
        CHECK(!"sink log overflow");
        return;
    }
    r = &g_log[g_nlog++];
    r->kind = kind;
    r->len = n;
    r->off = g_logused;
    r->in_rx = p >= W.rx && p + n <= W.rx + W.rx_cap;
    r->rx_off = r->in_rx ? (size_t)(p - W.rx) : 0;
    if (n) memcpy(g_logdata + g_logused, p, n);
    g_logused += n;
    if (g_stop_after && g_nlog >= g_stop_after) g_stop = 1;
}

static int g_hold; /* hold this many offers before taking one */
static int g_offers;

static int on_message(void *user, int is_text, const unsigned char *p, size_t n)
{
    CHECK(user == &W);
    g_offers++;
    if (g_hold > 0) {
        g_hold--;
        log_put(is_text ? 't' : 'b', p, n); /* an offer held back: recorded in lower case */
        return 1;
    }
    log_put(is_text ? 'T' : 'B', p, n);
    return 0;
}

static void on_pong(void *user, const unsigned char *p, size_t n)
{
    CHECK(user == &W);
    log_put('P', p, n);
}

static void log_reset(void)
{
    g_nlog = 0;
    g_logused = 0;
}

/* Is delivery i of kind k with exactly these bytes? */
static int log_is(int i, int kind, const void *data, size_t n)
{
    if (i >= g_nlog) return 0;
    return g_log[i].kind == kind && g_log[i].len == n &&
           (n == 0 || memcmp(g_logdata + g_log[i].off, data, n) == 0);
}

static void wsp_free(void)
{
    free(g_rx);
    free(g_tx);
    g_rx = g_tx = NULL;
}

/* A machine with a receive buffer of max_msg + chunk bytes (the driver's rx_cap without the
   header floor) and a send queue of txcap bytes, both heap blocks of exactly that size. */
static void wsp_open(size_t max_msg, size_t chunk, size_t txcap)
{
    unsigned char seed[44];
    size_t i;
    wsp_free();
    for (i = 0; i < sizeof seed; i++) seed[i] = (unsigned char)(i * 13 + 1);
    hl__rng_seed(&g_rng, seed);
    memset(&W, 0, sizeof W);
    g_rx = (unsigned char *)malloc(max_msg + chunk);
    g_tx = (unsigned char *)malloc(txcap);
    W.rx = g_rx;
    W.rx_cap = max_msg + chunk;
    W.compact_below = chunk;
    W.max_msg = max_msg;
    W.tx = g_tx;
    W.tx_cap = txcap;
    W.rng = &g_rng;
    hl__wsp_reset(&W);
    log_reset();
    g_stop = 0;
    g_stop_after = 0;
    g_rx_full = 0;
    g_hold = 0;
    g_offers = 0;
}

static void wsp_default(void)
{
    wsp_open(64 * 1024, 1024, 16 * 1024);
}

/* Run the parser once over what is buffered. */
static int wsp_recv(void)
{
    hl__wsp_sink sink;
    sink.message = on_message;
    sink.pong = on_pong;
    sink.user = &W;
    return hl__wsp_recv(&W, &sink, &g_stop);
}

/* Put n bytes into the machine, at most chunk per read (0: as much as the buffer offers),
   parsing after each read like the driver. After a close or a failure the rest is dropped;
   while the sink holds a message nothing more is read (the driver stops reading too). */
static int feed_chunked(const void *data, size_t n, size_t chunk)
{
    const unsigned char *d = (const unsigned char *)data;
    int rc = HL_OK;
    while (n > 0 && !W.failed && !W.close_recv && !g_stop && !W.held) {
        size_t room, k;
        unsigned char *dst = hl__wsp_rx_buf(&W, &room);
        if (room == 0) {
            g_rx_full++;
            return HL_E_MSG_TOO_BIG;
        }
        k = n < room ? n : room;
        if (chunk && k > chunk) k = chunk;
        memcpy(dst, d, k);
        hl__wsp_rx_ack(&W, k);
        d += k;
        n -= k;
        rc = wsp_recv();
    }
    return W.failed ? W.result : rc;
}

static int feed(const void *data, size_t n)
{
    return feed_chunked(data, n, 0);
}

#define FEED(s) feed(s, sizeof(s) - 1)

/* ---- decoding the send queue ---- */

typedef struct txframe {
    int fin, op;
    size_t len;
    unsigned char key[4];
    const unsigned char *payload; /* into g_txdata */
} txframe;

static txframe g_txf[256];
static int g_ntx;
static unsigned char g_txdata[1u << 20];

/* Decode every frame in the queue, check each is a well-formed masked client frame, and
   acknowledge them all (as if the socket took everything). Returns the number of frames. */
static int tx_take(void)
{
    size_t n, pos = 0, used = 0;
    const unsigned char *p = hl__wsp_tx_buf(&W, &n);
    g_ntx = 0;
    while (pos < n) {
        hl__frame f;
        int h = hl__frame_parse(p + pos, n - pos, &f);
        txframe *t;
        CHECK(h > 0);
        if (h <= 0) break;
        CHECK_EQ(f.masked, 1);
        CHECK_EQ(f.rsv, 0);
        CHECK(pos + (size_t)h + f.len <= n);
        if (pos + (size_t)h + f.len > n || g_ntx >= 256 || used + f.len > sizeof g_txdata) break;
        t = &g_txf[g_ntx++];
        t->fin = f.fin;
        t->op = f.opcode;
        t->len = (size_t)f.len;
        memcpy(t->key, f.mask, 4);
        hl__mask(g_txdata + used, p + pos + h, (size_t)f.len, f.mask, 0);
        t->payload = g_txdata + used;
        used += (size_t)f.len;
        pos += (size_t)h + (size_t)f.len;
    }
    hl__wsp_tx_ack(&W, n);
    return g_ntx;
}

static int tx_is(int i, int fin, int op, const void *data, size_t n)
{
    if (i >= g_ntx) return 0;
    return g_txf[i].fin == fin && g_txf[i].op == op && g_txf[i].len == n &&
           (n == 0 || memcmp(g_txf[i].payload, data, n) == 0);
}

/* Is frame i a close with this code (0: empty payload)? */
static int tx_is_close(int i, int code)
{
    if (i >= g_ntx || g_txf[i].op != HL__OP_CLOSE || !g_txf[i].fin) return 0;
    if (code == 0) return g_txf[i].len == 0;
    return g_txf[i].len >= 2 && (g_txf[i].payload[0] << 8 | g_txf[i].payload[1]) == code &&
           hl__utf8_feed(0, g_txf[i].payload + 2, g_txf[i].len - 2) == HL__UTF8_ACCEPT;
}

/* ---- building server frames ---- */

static unsigned char g_stream[1u << 20];
static size_t g_slen;

static void s_reset(void)
{
    g_slen = 0;
}

static void s_frame(int fin, int op, const void *payload, size_t n)
{
    g_slen += hl__frame_write(g_stream + g_slen, fin, op, n, NULL);
    if (n) memcpy(g_stream + g_slen, payload, n);
    g_slen += n;
}

/* ====================================================================================== */

static void test_text_and_binary(void)
{
    wsp_default();
    CHECK_EQ(FEED("\x81\x05Hello"), HL_OK);
    CHECK_EQ(g_nlog, 1);
    CHECK(log_is(0, 'T', "Hello", 5));
    CHECK_EQ(FEED("\x82\x03\x00\x01\xff"), HL_OK);
    CHECK(log_is(1, 'B', "\x00\x01\xff", 3));
    CHECK_EQ(FEED("\x81\x00"), HL_OK);
    CHECK(log_is(2, 'T', "", 0));
    CHECK_EQ(FEED("\x82\x00"), HL_OK);
    CHECK(log_is(3, 'B', "", 0));
    CHECK_EQ(g_nlog, 4);
    CHECK_EQ(W.stats.msgs_in, 4);
    CHECK_EQ(W.stats.bytes_in, 8);
    CHECK_EQ(tx_take(), 0); /* nothing to answer */
    CHECK_EQ(W.failed, 0);
    /* everything consumed: the buffer starts over at the front */
    CHECK_EQ(W.fill, 0);
    wsp_free();
}

/* 16-bit and 64-bit length forms from the server. */
static void test_long_lengths(void)
{
    static unsigned char payload[70000];
    size_t i;
    for (i = 0; i < sizeof payload; i++) payload[i] = (unsigned char)(i * 7 + 1);
    wsp_open(128 * 1024, 1024, 4096);
    s_reset();
    s_frame(1, HL__OP_BINARY, payload, 126);
    s_frame(1, HL__OP_BINARY, payload, 65535);
    s_frame(1, HL__OP_BINARY, payload, 65536);
    s_frame(1, HL__OP_BINARY, payload, 70000);
    CHECK_EQ(feed(g_stream, g_slen), HL_OK);
    CHECK_EQ(g_nlog, 4);
    CHECK(log_is(0, 'B', payload, 126));
    CHECK(log_is(1, 'B', payload, 65535));
    CHECK(log_is(2, 'B', payload, 65536));
    CHECK(log_is(3, 'B', payload, 70000));
    CHECK_EQ(g_rx_full, 0);
    wsp_free();
}

/* An unfragmented message is handed over where it landed in the receive buffer. */
static void test_zero_copy(void)
{
    wsp_default();
    CHECK_EQ(FEED("\x81\x05Hello"), HL_OK);
    CHECK_EQ(g_nlog, 1);
    CHECK_EQ(g_log[0].in_rx, 1);
    CHECK_EQ(g_log[0].rx_off, 2); /* right after its 2-byte header */
    /* two messages in one read: the second one sits behind the first */
    CHECK_EQ(FEED("\x81\x02" "ab" "\x82\x7e\x00\x80" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), HL_OK);
    CHECK_EQ(g_nlog, 3);
    CHECK_EQ(g_log[1].in_rx, 1);
    CHECK_EQ(g_log[1].rx_off, 2);
    CHECK_EQ(g_log[2].in_rx, 1);
    CHECK_EQ(g_log[2].rx_off, 4 + 4);
    /* a fragmented one is assembled inside the buffer too */
    CHECK_EQ(FEED("\x01\x03Hel\x89\x00\x80\x02lo"), HL_OK);
    CHECK_EQ(g_nlog, 4);
    CHECK(log_is(3, 'T', "Hello", 5));
    CHECK_EQ(g_log[3].in_rx, 1);
    wsp_free();
}

/* RFC 6455 5.4: control frames in the middle of a fragmented message. */
static void test_fragmented_with_pings(void)
{
    wsp_default();
    CHECK_EQ(FEED("\x01\x03Hel"), HL_OK);
    CHECK_EQ(g_nlog, 0);
    CHECK_EQ(FEED("\x89\x04ping"), HL_OK);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is(0, 1, HL__OP_PONG, "ping", 4));
    CHECK_EQ(FEED("\x00\x01l" "\x8a\x02po" "\x89\x00" "\x80\x01o"), HL_OK);
    CHECK_EQ(g_nlog, 2);
    CHECK(log_is(0, 'P', "po", 2));
    CHECK(log_is(1, 'T', "Hello", 5));
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is(0, 1, HL__OP_PONG, "", 0));
    /* binary, four fragments, one empty, a ping after each */
    CHECK_EQ(FEED("\x02\x02\x01\x02" "\x89\x01" "a" "\x00\x00" "\x89\x01" "b" "\x00\x01\x03"
                  "\x89\x01" "c" "\x80\x01\x04"), HL_OK);
    CHECK_EQ(g_nlog, 3);
    CHECK(log_is(2, 'B', "\x01\x02\x03\x04", 4));
    CHECK_EQ(tx_take(), 3);
    CHECK(tx_is(0, 1, HL__OP_PONG, "a", 1));
    CHECK(tx_is(1, 1, HL__OP_PONG, "b", 1));
    CHECK(tx_is(2, 1, HL__OP_PONG, "c", 1));
    CHECK_EQ(W.stats.pings_in, 5);
    CHECK_EQ(W.stats.pongs_in, 1);
    CHECK_EQ(W.stats.msgs_in, 2);
    CHECK_EQ(W.failed, 0);
    wsp_free();
}

/* A 125-byte ping is answered with the same 125 bytes. */
static void test_ping_max_payload(void)
{
    unsigned char pl[125];
    size_t i;
    for (i = 0; i < sizeof pl; i++) pl[i] = (unsigned char)(i ^ 0x5a);
    wsp_default();
    s_reset();
    s_frame(1, HL__OP_PING, pl, 125);
    CHECK_EQ(feed(g_stream, g_slen), HL_OK);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is(0, 1, HL__OP_PONG, pl, 125));
    wsp_free();
}

/* ---- many messages, split at every byte ---- */

static void build_mixed_stream(void)
{
    static unsigned char big[300];
    static const char kosme[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
    size_t i;
    for (i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 3);
    s_reset();
    s_frame(1, HL__OP_TEXT, "Hello", 5);
    s_frame(1, HL__OP_BINARY, big, sizeof big);           /* 16-bit length */
    s_frame(1, HL__OP_TEXT, "", 0);
    s_frame(1, HL__OP_PING, "p1", 2);
    s_frame(0, HL__OP_TEXT, kosme, 3);                     /* cut inside a character */
    s_frame(1, HL__OP_PONG, "pong!", 5);
    s_frame(0, HL__OP_CONT, kosme + 3, 5);
    s_frame(1, HL__OP_PING, "", 0);
    s_frame(1, HL__OP_CONT, kosme + 8, 3);
    s_frame(1, HL__OP_BINARY, big, 125);
    s_frame(0, HL__OP_BINARY, big, 200);
    s_frame(0, HL__OP_CONT, "", 0);
    s_frame(1, HL__OP_PING, big, 125);
    s_frame(1, HL__OP_CONT, big + 200, 100);
    s_frame(1, HL__OP_TEXT, "{\"channel\":\"trades\"}", 20);
    s_frame(1, HL__OP_CLOSE, "\x03\xe8" "done", 6);
    s_frame(1, HL__OP_TEXT, "after close", 11);           /* must not be delivered */
}

/* The deliveries and the answers of the whole stream in one read. */
static int g_ref_nlog;
static rec g_ref_log[64];
static unsigned char g_ref_data[4096];
static txframe g_ref_tx[32];
static unsigned char g_ref_txdata[4096];
static int g_ref_ntx;

static int same_as_reference(void)
{
    int i;
    if (g_nlog != g_ref_nlog || g_ntx != g_ref_ntx) return 0;
    for (i = 0; i < g_nlog; i++)
        if (g_log[i].kind != g_ref_log[i].kind || g_log[i].len != g_ref_log[i].len ||
            memcmp(g_logdata + g_log[i].off, g_ref_data + g_ref_log[i].off, g_log[i].len) != 0 ||
            !g_log[i].in_rx)
            return 0;
    for (i = 0; i < g_ntx; i++)
        if (g_txf[i].op != g_ref_tx[i].op || g_txf[i].fin != g_ref_tx[i].fin ||
            g_txf[i].len != g_ref_tx[i].len ||
            memcmp(g_txf[i].payload, g_ref_txdata + (g_ref_tx[i].payload - g_txdata), g_txf[i].len) != 0)
            return 0;
    return 1;
}

static void test_stream_split_every_byte(void)
{
    size_t cut, cut2, chunk;
    long bad = 0;
    build_mixed_stream();
    wsp_open(4096, 1024, 4096);
    CHECK_EQ(feed(g_stream, g_slen), HL_OK);
    CHECK_EQ(W.close_recv, 1);
    CHECK_EQ(W.recv_code, 1000);
    CHECK(strcmp(W.recv_reason, "done") == 0);
    /* what the stream must give */
    CHECK_EQ(g_nlog, 8);
    CHECK(log_is(0, 'T', "Hello", 5));
    CHECK(g_nlog > 1 && g_log[1].kind == 'B' && g_log[1].len == 300);
    CHECK(log_is(2, 'T', "", 0));
    CHECK(log_is(3, 'P', "pong!", 5));
    CHECK(log_is(4, 'T', "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11));
    CHECK(g_nlog > 5 && g_log[5].kind == 'B' && g_log[5].len == 125);
    CHECK(g_nlog > 6 && g_log[6].kind == 'B' && g_log[6].len == 300);
    CHECK(log_is(7, 'T', "{\"channel\":\"trades\"}", 20));
    CHECK_EQ(tx_take(), 4);
    CHECK(tx_is(0, 1, HL__OP_PONG, "p1", 2));
    CHECK(tx_is(1, 1, HL__OP_PONG, "", 0));
    CHECK(g_ntx > 2 && g_txf[2].op == HL__OP_PONG && g_txf[2].len == 125);
    CHECK(tx_is(3, 1, HL__OP_CLOSE, "\x03\xe8", 2));
    if (hl_test_failed_now) return;
    g_ref_nlog = g_nlog;
    memcpy(g_ref_log, g_log, sizeof(rec) * (size_t)g_nlog);
    memcpy(g_ref_data, g_logdata, g_logused);
    g_ref_ntx = g_ntx;
    memcpy(g_ref_tx, g_txf, sizeof(txframe) * (size_t)g_ntx);
    memcpy(g_ref_txdata, g_txdata, sizeof g_ref_txdata);

    /* two reads, cut anywhere */
    for (cut = 0; cut <= g_slen; cut++) {
        wsp_open(4096, 1024, 4096);
        feed(g_stream, cut);
        feed(g_stream + cut, g_slen - cut);
        tx_take();
        if (!same_as_reference() || !W.close_recv || W.failed) bad++;
    }
    CHECK_EQ(bad, 0);
    /* three reads */
    for (cut = 0; cut <= g_slen; cut += 7)
        for (cut2 = cut; cut2 <= g_slen; cut2 += 3) {
            wsp_open(4096, 1024, 4096);
            feed(g_stream, cut);
            feed(g_stream + cut, cut2 - cut);
            feed(g_stream + cut2, g_slen - cut2);
            tx_take();
            if (!same_as_reference()) bad++;
        }
    CHECK_EQ(bad, 0);
    /* fixed read sizes, the send queue drained between reads */
    for (chunk = 1; chunk <= 64; chunk++) {
        size_t pos = 0;
        int ntx = 0;
        wsp_open(4096, 1024, 4096);
        while (pos < g_slen) {
            size_t k = g_slen - pos < chunk ? g_slen - pos : chunk;
            feed(g_stream + pos, k);
            pos += k;
            ntx += tx_take();
        }
        if (g_nlog != g_ref_nlog || ntx != g_ref_ntx) bad++;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(g_rx_full, 0);
    wsp_free();
}

/* ---- UTF-8 ---- */

static void test_utf8_fail_fast_mid_fragment(void)
{
    /* a fragment announcing 10 bytes; the 3rd byte is impossible: fail before the rest */
    wsp_default();
    CHECK_EQ(FEED("\x01\x0a" "ab\xff"), HL_E_BAD_UTF8);
    CHECK_EQ(W.failed, 1);
    CHECK_EQ(W.result, HL_E_BAD_UTF8);
    CHECK_EQ(g_nlog, 0);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1007));
    CHECK_EQ(W.sent_code, 1007);
    /* nothing more is processed */
    CHECK_EQ(FEED("cdefghi" "\x81\x02ok\x89\x00"), HL_E_BAD_UTF8);
    CHECK_EQ(g_nlog, 0);
    CHECK_EQ(tx_take(), 0);

    /* the first fragment is fine and delivered nothing; the second breaks a character */
    wsp_default();
    CHECK_EQ(FEED("\x01\x01\xce"), HL_OK);
    CHECK_EQ(FEED("\x00\x01\x41"), HL_E_BAD_UTF8);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1007));

    /* a surrogate in the middle of a long first fragment, fed byte by byte */
    wsp_default();
    {
        static const char msg[] = "\x01\x14" "abcdefgh\xed\xa0\x80" "ijklmnopq";
        size_t i, at = 2 + 8 + 1; /* index of 0xa0 */
        for (i = 0; i < sizeof msg - 1; i++) {
            int rc = feed(msg + i, 1);
            if (i < at) CHECK_EQ(rc, HL_OK);
            else CHECK_EQ(rc, HL_E_BAD_UTF8);
            if (i == at) CHECK_EQ(W.failed, 1);
        }
    }
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1007));

    /* a text message that ends inside a character */
    wsp_default();
    CHECK_EQ(FEED("\x81\x01\xce"), HL_E_BAD_UTF8);
    CHECK_EQ(g_nlog, 0);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1007));
    /* a character split across fragments is fine */
    wsp_default();
    CHECK_EQ(FEED("\x01\x01\xce\x89\x00\x80\x01\xba"), HL_OK);
    CHECK(log_is(0, 'T', "\xce\xba", 2));
    /* binary is not checked */
    CHECK_EQ(FEED("\x82\x02\xff\xfe"), HL_OK);
    CHECK(log_is(1, 'B', "\xff\xfe", 2));
    wsp_free();
}

/* Garbage that announces a long header fails on its first two bytes, without waiting for the
   rest of the header it "announced" (a broken peer may send nothing more). */
static void test_violation_on_two_bytes(void)
{
    static const char *const heads[] = {"\xff\xff", "\xc1\x7f", "\x81\xfe", "\x83\x7e", "\x09\x7e",
                                        "\x89\x7f"};
    size_t i;
    for (i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        wsp_default();
        CHECK_EQ(feed(heads[i], 2), HL_E_PROTOCOL);
        CHECK_EQ(g_nlog, 0);
        CHECK_EQ(tx_take(), 1);
        CHECK(tx_is_close(0, 1002));
        wsp_free();
    }
    /* a valid start of a long frame just waits for more */
    wsp_default();
    CHECK_EQ(feed("\x82\x7f", 2), HL_OK);
    CHECK_EQ(tx_take(), 0);
    wsp_free();
}

/* ---- protocol violations ---- */

typedef struct violation {
    const char *name;
    const char *bytes;
    size_t n;
    int result, code;
} violation;

#define VIOL(name, s) {name, s, sizeof(s) - 1, HL_E_PROTOCOL, 1002}

static const violation violations[] = {
    VIOL("rsv1", "\xc1\x00"),
    VIOL("rsv2", "\xa1\x00"),
    VIOL("rsv3", "\x91\x00"),
    VIOL("rsv1 on ping", "\xc9\x00"),
    VIOL("rsv on continuation", "\x01\x01" "a" "\xb0\x01" "b"),
    VIOL("opcode 3", "\x83\x00"),
    VIOL("opcode 4", "\x84\x00"),
    VIOL("opcode 5", "\x85\x00"),
    VIOL("opcode 6", "\x86\x00"),
    VIOL("opcode 7", "\x87\x00"),
    VIOL("opcode B", "\x8b\x00"),
    VIOL("opcode C", "\x8c\x00"),
    VIOL("opcode D", "\x8d\x00"),
    VIOL("opcode E", "\x8e\x00"),
    VIOL("opcode F", "\x8f\x00"),
    VIOL("masked text", "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"),
    VIOL("masked ping", "\x89\x80\x01\x02\x03\x04"),
    VIOL("fragmented ping", "\x09\x00"),
    VIOL("fragmented pong", "\x0a\x00"),
    VIOL("fragmented close", "\x08\x02\x03\xe8"),
    VIOL("ping of 126", "\x89\x7e\x00\x7e"),
    VIOL("pong of 126", "\x8a\x7e\x00\x7e"),
    VIOL("close of 126", "\x88\x7e\x00\x7e"),
    VIOL("ping with 64-bit length", "\x89\x7f\x00\x00\x00\x00\x00\x00\x00\x7e"),
    VIOL("continuation first", "\x80\x01" "a"),
    VIOL("unfinished continuation first", "\x00\x01" "a"),
    VIOL("continuation after a whole message", "\x81\x01" "a" "\x80\x01" "b"),
    VIOL("text inside fragmented text", "\x01\x01" "a" "\x81\x01" "b"),
    VIOL("binary inside fragmented text", "\x01\x01" "a" "\x02\x01" "b"),
    VIOL("text inside fragmented binary, after a ping", "\x02\x01" "a" "\x89\x00" "\x01\x01" "b"),
    VIOL("64-bit length with the top bit", "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"),
    VIOL("close with 1 byte", "\x88\x01\x03"),
};

static void test_protocol_violations(void)
{
    size_t i;
    for (i = 0; i < sizeof violations / sizeof violations[0]; i++) {
        const violation *v = &violations[i];
        int rc, ntx;
        wsp_default();
        rc = feed(v->bytes, v->n);
        ntx = tx_take();
        CHECK_EQ(rc, v->result);
        CHECK_EQ(W.failed, 1);
        CHECK_EQ(W.result, v->result);
        CHECK(W.detail[0] != '\0');
        CHECK(ntx >= 1); /* a pong may come first */
        CHECK(tx_is_close(ntx - 1, v->code));
        {
            int k;
            for (k = 0; k < ntx - 1; k++) CHECK_EQ(g_txf[k].op, HL__OP_PONG);
        }
        CHECK_EQ(W.close_sent, 1);
        /* input after the failure is ignored */
        CHECK_EQ(FEED("\x81\x02ok\x89\x00"), v->result);
        CHECK_EQ(tx_take(), 0);
        if (hl_test_failed_now) {
            printf("  case '%s': rc %d, failed %d, %d frames sent\n", v->name, rc, W.failed, ntx);
            break;
        }
    }
    /* every delivery before the violation happened, none after */
    wsp_default();
    CHECK_EQ(FEED("\x81\x01" "a" "\x83\x00" "\x81\x01" "b"), HL_E_PROTOCOL);
    CHECK_EQ(g_nlog, 1);
    CHECK(log_is(0, 'T', "a", 1));
    wsp_free();
}

/* ---- size limit ---- */

static void test_message_too_big(void)
{
    static unsigned char big[2048];
    memset(big, 'x', sizeof big);
    /* exactly max_msg passes, one more fails with 1009 (decided at the header) */
    wsp_open(1000, 1024, 4096);
    s_reset();
    s_frame(1, HL__OP_TEXT, big, 1000);
    CHECK_EQ(feed(g_stream, g_slen), HL_OK);
    CHECK_EQ(g_nlog, 1);
    CHECK(g_nlog == 1 && g_log[0].len == 1000);
    wsp_open(1000, 1024, 4096);
    CHECK_EQ(FEED("\x82\x7e\x03\xe9"), HL_E_MSG_TOO_BIG);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1009));
    CHECK(strlen(W.detail) > 0);
    /* a 64-bit length is a size problem, not a protocol one */
    wsp_open(1000, 1024, 4096);
    CHECK_EQ(FEED("\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x00"), HL_E_MSG_TOO_BIG);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1009));
    /* fragments adding up: 600 + 400 passes, 600 + 401 fails at the second header */
    wsp_open(1000, 1024, 4096);
    s_reset();
    s_frame(0, HL__OP_BINARY, big, 600);
    s_frame(1, HL__OP_PING, "x", 1);
    s_frame(1, HL__OP_CONT, big, 400);
    CHECK_EQ(feed(g_stream, g_slen), HL_OK);
    CHECK(g_nlog == 1 && g_log[0].len == 1000);
    wsp_open(1000, 1024, 4096);
    s_reset();
    s_frame(0, HL__OP_BINARY, big, 600);
    s_frame(0, HL__OP_CONT, big, 0);
    s_frame(1, HL__OP_CONT, big, 401);
    CHECK_EQ(feed(g_stream, g_slen - 401), HL_E_MSG_TOO_BIG);
    CHECK_EQ(g_nlog, 0);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1009));
    CHECK_EQ(W.result, HL_E_MSG_TOO_BIG);
    /* control frames do not count */
    wsp_open(1000, 1024, 4096);
    s_reset();
    s_frame(0, HL__OP_TEXT, big, 999);
    s_frame(1, HL__OP_PING, big, 125);
    s_frame(1, HL__OP_PONG, big, 125);
    s_frame(1, HL__OP_CONT, big, 1);
    CHECK_EQ(feed(g_stream, g_slen), HL_OK);
    CHECK_EQ(g_nlog, 2);
    CHECK(g_nlog == 2 && g_log[1].kind == 'T' && g_log[1].len == 1000);
    wsp_free();
}

/* ---- close frames ---- */

static void test_close_valid_codes_echoed(void)
{
    static const int codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                1012, 1013, 1014, 3000, 3999, 4000, 4999};
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        unsigned char pl[5];
        pl[0] = (unsigned char)(codes[i] >> 8);
        pl[1] = (unsigned char)codes[i];
        memcpy(pl + 2, "bye", 3);
        wsp_default();
        s_reset();
        s_frame(1, HL__OP_CLOSE, pl, 5);
        CHECK_EQ(feed(g_stream, g_slen), HL_OK);
        CHECK_EQ(W.close_recv, 1);
        CHECK_EQ(W.failed, 0);
        CHECK_EQ(W.recv_code, codes[i]);
        CHECK(strcmp(W.recv_reason, "bye") == 0);
        CHECK_EQ(tx_take(), 1);
        CHECK(tx_is(0, 1, HL__OP_CLOSE, pl, 2)); /* the code echoed, no reason */
        CHECK_EQ(W.close_sent, 1);
        if (hl_test_failed_now) {
            printf("  code %d\n", codes[i]);
            break;
        }
    }
    wsp_free();
}

static void test_close_invalid_codes(void)
{
    static const int codes[] = {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                                5000, 65535};
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        unsigned char pl[2];
        pl[0] = (unsigned char)(codes[i] >> 8);
        pl[1] = (unsigned char)codes[i];
        wsp_default();
        s_reset();
        s_frame(1, HL__OP_CLOSE, pl, 2);
        CHECK_EQ(feed(g_stream, g_slen), HL_E_PROTOCOL);
        CHECK_EQ(W.failed, 1);
        CHECK_EQ(tx_take(), 1);
        CHECK(tx_is_close(0, 1002));
        if (hl_test_failed_now) {
            printf("  code %d\n", codes[i]);
            break;
        }
    }
    wsp_free();
}

static void test_close_forms(void)
{
    /* empty close: code 1005 recorded, answered with an empty close */
    wsp_default();
    CHECK_EQ(FEED("\x88\x00"), HL_OK);
    CHECK_EQ(W.close_recv, 1);
    CHECK_EQ(W.recv_code, 1005);
    CHECK_EQ(W.recv_reason[0], '\0');
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 0));
    /* one byte: 1002 */
    wsp_default();
    CHECK_EQ(FEED("\x88\x01\x03"), HL_E_PROTOCOL);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1002));
    /* code only */
    wsp_default();
    CHECK_EQ(FEED("\x88\x02\x03\xe9"), HL_OK);
    CHECK_EQ(W.recv_code, 1001);
    CHECK_EQ(W.recv_reason[0], '\0');
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is(0, 1, HL__OP_CLOSE, "\x03\xe9", 2));
    /* reason with bad UTF-8: 1007 */
    wsp_default();
    CHECK_EQ(FEED("\x88\x05\x03\xe8" "a\xffz"), HL_E_BAD_UTF8);
    CHECK_EQ(W.close_recv, 0);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1007));
    /* reason cut inside a character: 1007 */
    wsp_default();
    CHECK_EQ(FEED("\x88\x04\x03\xe8" "\xe2\x82"), HL_E_BAD_UTF8);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1007));
    /* the longest reason (123 bytes of UTF-8) is kept whole */
    {
        unsigned char pl[125];
        size_t i;
        pl[0] = 0x0f;
        pl[1] = 0xa0; /* 4000 */
        for (i = 2; i < 125; i++) pl[i] = (unsigned char)('a' + i % 26);
        pl[123] = 0xc3;
        pl[124] = 0xa9;
        wsp_default();
        s_reset();
        s_frame(1, HL__OP_CLOSE, pl, 125);
        CHECK_EQ(feed(g_stream, g_slen), HL_OK);
        CHECK_EQ(W.recv_code, 4000);
        CHECK_EQ(strlen(W.recv_reason), 123);
        CHECK(memcmp(W.recv_reason, pl + 2, 123) == 0);
    }
    /* a close in the middle of a fragmented message ends it undelivered */
    wsp_default();
    CHECK_EQ(FEED("\x01\x03Hel" "\x88\x02\x03\xe8" "\x80\x02lo"), HL_OK);
    CHECK_EQ(g_nlog, 0);
    CHECK_EQ(W.close_recv, 1);
    wsp_free();
}

/* After the peer's close nothing is delivered or answered. */
static void test_nothing_after_close(void)
{
    wsp_default();
    CHECK_EQ(FEED("\x81\x01" "a" "\x88\x02\x03\xe8" "\x81\x01" "b" "\x89\x01p"), HL_OK);
    CHECK_EQ(g_nlog, 1);
    CHECK(log_is(0, 'T', "a", 1));
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 1000));
    /* more reads: ignored (the driver drops them, and recv on the buffered rest does nothing) */
    CHECK_EQ(wsp_recv(), HL_OK);
    CHECK_EQ(g_nlog, 1);
    CHECK_EQ(tx_take(), 0);
    /* our sends are refused */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"x", 1, 1, 0), HL_E_CLOSED);
    CHECK_EQ(hl__wsp_ping(&W, (const unsigned char *)"x", 1), HL_E_CLOSED);
    CHECK_EQ(tx_take(), 0);
    wsp_free();
}

/* We close first: the server's answer is not echoed; its pings are not answered meanwhile. */
static void test_local_close(void)
{
    wsp_default();
    hl__wsp_queue_close(&W, 1000, "bye", 3);
    CHECK_EQ(W.close_sent, 1);
    CHECK_EQ(W.sent_code, 1000);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is(0, 1, HL__OP_CLOSE, "\x03\xe8" "bye", 5));
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, (const unsigned char *)"x", 1, 1, 0), HL_E_CLOSED);
    CHECK_EQ(FEED("\x81\x02hi" "\x89\x01p"), HL_OK);
    CHECK(log_is(0, 'T', "hi", 2)); /* data still arrives until the server's close */
    CHECK_EQ(tx_take(), 0);          /* no pong after our close */
    CHECK_EQ(FEED("\x88\x02\x03\xe8"), HL_OK);
    CHECK_EQ(W.close_recv, 1);
    CHECK_EQ(W.recv_code, 1000);
    CHECK_EQ(tx_take(), 0);          /* no second close */
    /* a second local close does nothing */
    hl__wsp_queue_close(&W, 1001, NULL, 0);
    CHECK_EQ(W.sent_code, 1000);
    CHECK_EQ(tx_take(), 0);
    /* close without a code */
    wsp_default();
    hl__wsp_queue_close(&W, 0, NULL, 0);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is_close(0, 0));
    /* a reason over 123 bytes is cut to 123 */
    {
        char reason[200];
        memset(reason, 'r', sizeof reason);
        wsp_default();
        hl__wsp_queue_close(&W, 1000, reason, sizeof reason);
        CHECK_EQ(tx_take(), 1);
        CHECK(g_ntx == 1 && g_txf[0].len == 125);
    }
    wsp_free();
}

/* ---- sending ---- */

static void test_send_messages(void)
{
    static unsigned char big[70000];
    size_t i;
    for (i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 11);
    wsp_open(1024, 1024, 80000);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"Hello", 5, 1, 0), HL_OK);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, big, 300, 1, 0), HL_OK);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"", 0, 1, 0), HL_OK);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, big, 70000, 1, 0), HL_OK);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"\xce\xba\xe1\xbd\xb9", 5, 1, 0), HL_OK);
    CHECK_EQ(hl__wsp_ping(&W, (const unsigned char *)"are you there", 13), HL_OK);
    CHECK_EQ(hl__wsp_ping(&W, big, 125), HL_OK);
    CHECK_EQ(hl__wsp_ping(&W, big, 126), HL_E_INVALID);
    CHECK_EQ(W.stats.msgs_out, 5);
    CHECK_EQ(W.stats.bytes_out, 5 + 300 + 70000 + 5);
    CHECK_EQ(W.stats.pings_out, 2);
    CHECK_EQ(tx_take(), 7);
    CHECK(tx_is(0, 1, HL__OP_TEXT, "Hello", 5));
    CHECK(tx_is(1, 1, HL__OP_BINARY, big, 300));
    CHECK(tx_is(2, 1, HL__OP_TEXT, "", 0));
    CHECK(tx_is(3, 1, HL__OP_BINARY, big, 70000));
    CHECK(tx_is(4, 1, HL__OP_TEXT, "\xce\xba\xe1\xbd\xb9", 5));
    CHECK(tx_is(5, 1, HL__OP_PING, "are you there", 13));
    CHECK(tx_is(6, 1, HL__OP_PING, big, 125));
    /* masking keys vary from frame to frame */
    CHECK(memcmp(g_txf[0].key, g_txf[1].key, 4) != 0 || memcmp(g_txf[1].key, g_txf[2].key, 4) != 0);
    CHECK(W.stats.send_queue_peak >= 5 + 300 + 70000 + 5 + 13 + 125);
    /* bad arguments */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_PING, (const unsigned char *)"x", 1, 1, 0), HL_E_INVALID);
    CHECK_EQ(hl__wsp_send(&W, 0, (const unsigned char *)"x", 1, 1, 0), HL_E_INVALID);
    CHECK_EQ(tx_take(), 0);
    wsp_free();
}

static void test_send_bad_utf8(void)
{
    static const char *const bad[] = {"\xff", "a\x80", "\xce", "abc\xe2\x82", "\xed\xa0\x80",
                                      "\xc0\xaf", "\xf4\x90\x80\x80"};
    size_t i;
    wsp_default();
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t used;
        CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)bad[i], strlen(bad[i]), 1, 0),
                 HL_E_BAD_UTF8);
        hl__wsp_tx_buf(&W, &used);
        CHECK_EQ(used, 0);
    }
    CHECK_EQ(W.stats.msgs_out, 0);
    /* binary carries anything */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, (const unsigned char *)"\xff", 1, 1, 0), HL_OK);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is(0, 1, HL__OP_BINARY, "\xff", 1));
    wsp_free();
}

static void test_send_fragmented(void)
{
    wsp_default();
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"Hel", 3, 0, 1), HL_OK);
    CHECK_EQ(hl__wsp_ping(&W, (const unsigned char *)"p", 1), HL_OK);
    /* a whole message or another type while one is open */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"x", 1, 1, 0), HL_E_STATE);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, (const unsigned char *)"x", 1, 0, 1), HL_E_STATE);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"lo", 2, 1, 1), HL_OK);
    CHECK_EQ(W.stats.msgs_out, 1);
    CHECK_EQ(tx_take(), 3);
    CHECK(tx_is(0, 0, HL__OP_TEXT, "Hel", 3));
    CHECK(tx_is(1, 1, HL__OP_PING, "p", 1));
    CHECK(tx_is(2, 1, HL__OP_CONT, "lo", 2));
    /* UTF-8 checked across fragments */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"a\xce", 2, 0, 1), HL_OK);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"\xba\xe1", 2, 0, 1), HL_OK);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"\xbd", 1, 1, 1), HL_E_BAD_UTF8);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"\x41", 1, 0, 1), HL_E_BAD_UTF8);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"\xbd\xb9", 2, 0, 1), HL_OK);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"", 0, 1, 1), HL_OK);
    CHECK_EQ(tx_take(), 4);
    CHECK(tx_is(0, 0, HL__OP_TEXT, "a\xce", 2));
    CHECK(tx_is(1, 0, HL__OP_CONT, "\xba\xe1", 2));
    CHECK(tx_is(2, 0, HL__OP_CONT, "\xbd\xb9", 2));
    CHECK(tx_is(3, 1, HL__OP_CONT, "", 0));
    /* a fragmented binary message, then a whole one is allowed again */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, (const unsigned char *)"\x01", 1, 0, 1), HL_OK);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, (const unsigned char *)"\x02", 1, 1, 1), HL_OK);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"whole", 5, 1, 0), HL_OK);
    /* a one-fragment message with final set is a plain frame */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"one", 3, 1, 1), HL_OK);
    CHECK_EQ(tx_take(), 4);
    CHECK(tx_is(0, 0, HL__OP_BINARY, "\x01", 1));
    CHECK(tx_is(1, 1, HL__OP_CONT, "\x02", 1));
    CHECK(tx_is(2, 1, HL__OP_TEXT, "whole", 5));
    CHECK(tx_is(3, 1, HL__OP_TEXT, "one", 3));
    wsp_free();
}

/* The send queue after acknowledging part of it: the rest goes out unchanged, and a frame that
   does not fit at the tail moves the rest to the front. */
static void test_send_partial_ack(void)
{
    static unsigned char a[600], b[450], before[608];
    size_t n, i;
    const unsigned char *q;
    for (i = 0; i < sizeof a; i++) a[i] = (unsigned char)i;
    for (i = 0; i < sizeof b; i++) b[i] = (unsigned char)(~i);
    wsp_open(1024, 1024, 1024);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, a, 600, 1, 0), HL_OK);
    q = hl__wsp_tx_buf(&W, &n);
    CHECK_EQ(n, 608); /* 16-bit length: 2 + 2 + 4 mask + 600 */
    memcpy(before, q, 608);
    hl__wsp_tx_ack(&W, 500);
    q = hl__wsp_tx_buf(&W, &n);
    CHECK_EQ(n, 108);
    CHECK(memcmp(q, before + 500, 108) == 0);
    /* 108 + 458 fits the queue (1024 - 262 reserve) but not the tail (1024 - 608) */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, b, 450, 1, 0), HL_OK);
    q = hl__wsp_tx_buf(&W, &n);
    CHECK_EQ(n, 108 + 458);
    CHECK(memcmp(q, before + 500, 108) == 0);
    {
        hl__frame f;
        unsigned char back[450];
        int h = hl__frame_parse(q + 108, n - 108, &f);
        CHECK_EQ(h, 8);
        CHECK_EQ(f.len, 450);
        hl__mask(back, q + 108 + 8, 450, f.mask, 0);
        CHECK(memcmp(back, b, 450) == 0);
    }
    hl__wsp_tx_ack(&W, n);
    hl__wsp_tx_buf(&W, &n);
    CHECK_EQ(n, 0);
    wsp_free();
}

/* A message that could never fit the queue (beside the control reserve) is HL_E_MSG_TOO_BIG,
   not HL_E_QUEUE_FULL, so nobody waits for room that will never come. */
static void test_send_too_big_for_queue(void)
{
    static unsigned char m[1024];
    size_t used;
    wsp_open(4096, 1024, 1024);
    /* 754 bytes: 2 + 2 + 4 + 754 = 762 = 1024 - 262 fits an empty queue exactly */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, m, 755, 1, 0), HL_E_MSG_TOO_BIG);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, m, 755, 0, 1), HL_E_MSG_TOO_BIG);
    hl__wsp_tx_buf(&W, &used);
    CHECK_EQ(used, 0);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, m, 754, 1, 0), HL_OK);
    hl__wsp_tx_buf(&W, &used);
    CHECK_EQ(used, 762);
    /* now it is merely full */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, m, 1, 1, 0), HL_E_QUEUE_FULL);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is(0, 1, HL__OP_BINARY, m, 754));
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, m, 754, 1, 0), HL_OK);
    wsp_free();
}

/* A full queue refuses data (queueing nothing) yet pongs and the close still get out. */
static void test_queue_full(void)
{
    static unsigned char m[100];
    size_t used, used2;
    int sent = 0, rc, i;
    unsigned char pl[125];
    memset(m, 'm', sizeof m);
    memset(pl, 'p', sizeof pl);
    wsp_open(4096, 1024, 1024);
    while ((rc = hl__wsp_send(&W, HL__OP_BINARY, m, sizeof m, 1, 0)) == HL_OK) sent++;
    CHECK_EQ(rc, HL_E_QUEUE_FULL);
    hl__wsp_tx_buf(&W, &used);
    CHECK_EQ(sent, (int)((1024 - HL__TX_CTRL_RESERVE) / 106)); /* 7 */
    CHECK_EQ(used, (size_t)sent * 106);
    /* small frames still fit until the free room would drop below the reserve */
    while (hl__wsp_send(&W, HL__OP_TEXT, m, 1, 1, 0) == HL_OK) sent++;
    hl__wsp_tx_buf(&W, &used);
    CHECK(W.tx_cap - used >= HL__TX_CTRL_RESERVE);
    CHECK(W.tx_cap - used < HL__TX_CTRL_RESERVE + 7);
    /* nothing queued by refused calls, nor by a message bigger than the queue */
    CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, m, sizeof m, 1, 0), HL_E_QUEUE_FULL);
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, m, 1, 1, 0), HL_E_QUEUE_FULL);
    {
        static unsigned char huge[2000];
        CHECK_EQ(hl__wsp_send(&W, HL__OP_BINARY, huge, sizeof huge, 1, 0), HL_E_MSG_TOO_BIG);
    }
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, m, sizeof m, 0, 1), HL_E_QUEUE_FULL);
    CHECK_EQ(W.send_op, 0); /* the refused first fragment opened nothing */
    hl__wsp_tx_buf(&W, &used2);
    CHECK_EQ(used2, used);
    /* the server pings with the biggest payload, then closes: both answers fit the reserve */
    s_reset();
    s_frame(1, HL__OP_PING, pl, 125);
    s_frame(1, HL__OP_CLOSE, "\x03\xe8", 2);
    CHECK_EQ(feed(g_stream, g_slen), HL_OK);
    CHECK_EQ(W.pong_pending, -1);
    CHECK_EQ(W.close_pending, -1);
    tx_take();
    CHECK(g_ntx >= 2);
    CHECK_EQ(g_ntx, sent + 2);
    for (i = 0; i < g_ntx - 2; i++) CHECK_EQ(g_txf[i].op, i < 7 ? HL__OP_BINARY : HL__OP_TEXT);
    CHECK(tx_is(g_ntx - 2, 1, HL__OP_PONG, pl, 125));
    CHECK(tx_is_close(g_ntx - 1, 1000));
    wsp_free();
}

/* Data in the queue up to the reserve, our own pings in the reserve: the queue is full for
   pongs too. A ping flood is answered by one pong, for the newest ping, once there is room. */
static void test_ping_flood_full_queue(void)
{
    static unsigned char m[100];
    unsigned char pl[125];
    int k;
    memset(m, 'm', sizeof m);
    memset(pl, 'u', sizeof pl);
    wsp_open(4096, 1024, 1024);
    while (hl__wsp_send(&W, HL__OP_BINARY, m, sizeof m, 1, 0) == HL_OK) {
    }
    while (hl__wsp_ping(&W, pl, 125) == HL_OK) {
    }
    while (hl__wsp_ping(&W, pl, 0) == HL_OK) {
    }
    for (k = 0; k < 10; k++) {
        char p[8];
        snprintf(p, sizeof p, "ping%d", k);
        s_reset();
        s_frame(1, HL__OP_PING, p, strlen(p));
        CHECK_EQ(feed(g_stream, g_slen), HL_OK);
    }
    CHECK_EQ(W.stats.pings_in, 10);
    CHECK_EQ(W.stats.pongs_coalesced, 9);
    CHECK_EQ(W.pong_pending, 5);
    /* the socket takes everything: the pong for the newest ping follows */
    tx_take();
    CHECK(g_ntx > 0);
    for (k = 0; k < g_ntx; k++) CHECK(g_txf[k].op != HL__OP_PONG);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is(0, 1, HL__OP_PONG, "ping9", 5));
    CHECK_EQ(W.pong_pending, -1);
    /* with room again every ping is answered at once */
    CHECK_EQ(FEED("\x89\x01" "a" "\x89\x01" "b"), HL_OK);
    CHECK_EQ(tx_take(), 2);
    CHECK(tx_is(0, 1, HL__OP_PONG, "a", 1));
    CHECK(tx_is(1, 1, HL__OP_PONG, "b", 1));
    CHECK_EQ(W.stats.pongs_coalesced, 9);
    wsp_free();
}

/* A pending pong goes before the close that follows it (both waiting in their slots). */
static void test_pending_pong_then_close(void)
{
    static unsigned char m[100];
    unsigned char pl[125];
    memset(m, 'm', sizeof m);
    memset(pl, 'u', sizeof pl);
    wsp_open(4096, 1024, 1024);
    while (hl__wsp_send(&W, HL__OP_BINARY, m, sizeof m, 1, 0) == HL_OK) {
    }
    while (hl__wsp_ping(&W, pl, 125) == HL_OK) {
    }
    while (hl__wsp_ping(&W, pl, 0) == HL_OK) {
    }
    CHECK_EQ(FEED("\x89\x03" "abc" "\x88\x02\x03\xe9" "\x89\x01z"), HL_OK);
    CHECK_EQ(W.pong_pending, 3);
    CHECK_EQ(W.close_pending, 2);
    CHECK_EQ(W.close_recv, 1);
    tx_take(); /* the data and our pings */
    CHECK_EQ(tx_take(), 2);
    CHECK(tx_is(0, 1, HL__OP_PONG, "abc", 3));
    CHECK(tx_is_close(1, 1001));
    CHECK_EQ(hl__wsp_tx_pending(&W), 0);
    wsp_free();
}

/* A message of max_msg bytes arriving as many small fragments with control frames between
   them, read in small and odd pieces, fits a receive buffer of max_msg + one read chunk. */
static void test_rx_bound_fragmented_max(void)
{
    static unsigned char msg[8192], pl[125];
    static const size_t reads[] = {0, 1, 3, 64, 131, 1000, 1023, 1024};
    static const size_t frags[] = {1, 7, 40, 121, 1000};
    size_t r, i, f, frag;
    for (i = 0; i < sizeof msg; i++) msg[i] = (unsigned char)(i * 13 + (i >> 7));
    for (i = 0; i < sizeof pl; i++) pl[i] = (unsigned char)i;
    for (f = 0; f < sizeof frags / sizeof frags[0]; f++)
        for (r = 0; r < sizeof reads / sizeof reads[0]; r++) {
            size_t pos = 0;
            frag = frags[f];
            s_reset();
            while (pos < sizeof msg) {
                size_t k = sizeof msg - pos < frag ? sizeof msg - pos : frag;
                s_frame(pos + k == sizeof msg, pos ? HL__OP_CONT : HL__OP_BINARY, msg + pos, k);
                if ((pos / frag) % (frag < 4 ? 16 : 1) == 0) {
                    s_frame(1, HL__OP_PING, pl, 125);
                    s_frame(1, HL__OP_PONG, pl, (pos / frag) % 126);
                }
                pos += k;
            }
            /* then a whole max-size message in one frame, and a small one */
            s_frame(1, HL__OP_BINARY, msg, sizeof msg);
            s_frame(1, HL__OP_TEXT, "end", 3);
            wsp_open(sizeof msg, 1024, 64 * 1024);
            /* the send queue is drained after every read, as the driver's flush would */
            pos = 0;
            while (pos < g_slen && !W.failed) {
                size_t k = reads[r] ? reads[r] : g_slen;
                if (k > g_slen - pos) k = g_slen - pos;
                CHECK_EQ(feed_chunked(g_stream + pos, k, reads[r]), HL_OK);
                pos += k;
                {
                    size_t n;
                    hl__wsp_tx_buf(&W, &n);
                    hl__wsp_tx_ack(&W, n);
                }
            }
            CHECK_EQ(g_rx_full, 0);
            CHECK_EQ(W.failed, 0);
            {
                int k, nmsg = 0, npong = 0, idx[3] = {0, 0, 0};
                for (k = 0; k < g_nlog; k++) {
                    if (g_log[k].kind == 'P') npong++;
                    else if (nmsg < 3) idx[nmsg++] = k;
                    else nmsg++;
                }
                CHECK_EQ(nmsg, 3);
                CHECK_EQ((uint64_t)npong, W.stats.pongs_in);
                CHECK(log_is(idx[0], 'B', msg, sizeof msg));
                CHECK(log_is(idx[1], 'B', msg, sizeof msg));
                CHECK(log_is(idx[2], 'T', "end", 3));
                CHECK(g_log[idx[0]].in_rx && g_log[idx[1]].in_rx);
            }
            CHECK_EQ(W.stats.msgs_in, 3);
            if (hl_test_failed_now) {
                printf("  frag %u read %u\n", (unsigned)frag, (unsigned)reads[r]);
                wsp_free();
                return;
            }
        }
    wsp_free();
}

/* The driver's stop flag (set from a callback) halts delivery; the rest waits for the next
   call. */
static void test_stop_flag(void)
{
    wsp_default();
    g_stop_after = 1;
    CHECK_EQ(FEED("\x81\x01" "a" "\x81\x01" "b" "\x81\x01" "c"), HL_OK);
    CHECK_EQ(g_nlog, 1);
    g_stop = 0;
    g_stop_after = 0;
    CHECK_EQ(wsp_recv(), HL_OK);
    CHECK_EQ(g_nlog, 3);
    CHECK(log_is(1, 'T', "b", 1));
    CHECK(log_is(2, 'T', "c", 1));
    wsp_free();
}

/* A sink may hold a message (backpressure): it stays in place and is offered again, unchanged,
   on the next recv; nothing behind it is parsed meanwhile. */
static void test_hold_message(void)
{
    wsp_default();
    g_hold = 1;
    CHECK_EQ(FEED("\x81\x05Hello" "\x89\x01p" "\x82\x02\x01\x02"), HL_OK);
    CHECK_EQ(W.held, 1);
    CHECK_EQ(g_nlog, 1);
    CHECK(log_is(0, 't', "Hello", 5));
    CHECK_EQ(W.stats.msgs_in, 0);
    CHECK_EQ(tx_take(), 0); /* the ping behind it waits too */
    /* held twice more, then taken */
    g_hold = 2;
    CHECK_EQ(wsp_recv(), HL_OK);
    CHECK_EQ(wsp_recv(), HL_OK);
    CHECK_EQ(W.held, 1);
    CHECK_EQ(W.stats.msgs_in, 0);
    CHECK_EQ(wsp_recv(), HL_OK);
    CHECK_EQ(W.held, 0);
    CHECK_EQ(g_nlog, 5);
    CHECK(log_is(1, 't', "Hello", 5));
    CHECK(log_is(2, 't', "Hello", 5));
    CHECK(log_is(3, 'T', "Hello", 5));
    CHECK_EQ(g_log[0].rx_off, g_log[3].rx_off); /* same place: zero-copy still */
    CHECK(log_is(4, 'B', "\x01\x02", 2));
    CHECK_EQ(W.stats.msgs_in, 2);
    CHECK_EQ(tx_take(), 1);
    CHECK(tx_is(0, 1, HL__OP_PONG, "p", 1));
    /* a held fragmented message, then the rest of the stream in small reads */
    wsp_default();
    g_hold = 1;
    CHECK_EQ(FEED("\x01\x02" "ab" "\x89\x00" "\x80\x01" "c"), HL_OK);
    CHECK_EQ(W.held, 1);
    CHECK(log_is(0, 't', "abc", 3));
    CHECK_EQ(wsp_recv(), HL_OK);
    CHECK(log_is(1, 'T', "abc", 3));
    CHECK_EQ(feed_chunked("\x81\x03xyz", 5, 1), HL_OK);
    CHECK(log_is(2, 'T', "xyz", 3));
    /* the stop flag leaves a held message held */
    wsp_default();
    g_hold = 1;
    CHECK_EQ(FEED("\x81\x01" "a"), HL_OK);
    g_stop = 1;
    CHECK_EQ(wsp_recv(), HL_OK);
    CHECK_EQ(g_offers, 1);
    CHECK_EQ(W.held, 1);
    g_stop = 0;
    CHECK_EQ(wsp_recv(), HL_OK);
    CHECK_EQ(W.held, 0);
    CHECK(log_is(1, 'T', "a", 1));
    wsp_free();
}

/* reset makes a failed machine new again. */
static void test_reset(void)
{
    wsp_default();
    CHECK_EQ(FEED("\x01\x02" "ab" "\x83\x00"), HL_E_PROTOCOL);
    hl__wsp_reset(&W);
    log_reset();
    CHECK_EQ(W.failed, 0);
    CHECK_EQ(W.close_sent, 0);
    CHECK_EQ(W.stats.msgs_in, 0);
    CHECK_EQ(tx_take(), 0);
    CHECK_EQ(FEED("\x81\x02ok"), HL_OK);
    CHECK(log_is(0, 'T', "ok", 2));
    CHECK_EQ(hl__wsp_send(&W, HL__OP_TEXT, (const unsigned char *)"hi", 2, 1, 0), HL_OK);
    CHECK_EQ(tx_take(), 1);
    wsp_free();
}

int main(void)
{
    HL_TEST(test_text_and_binary);
    HL_TEST(test_long_lengths);
    HL_TEST(test_zero_copy);
    HL_TEST(test_fragmented_with_pings);
    HL_TEST(test_ping_max_payload);
    HL_TEST(test_stream_split_every_byte);
    HL_TEST(test_utf8_fail_fast_mid_fragment);
    HL_TEST(test_protocol_violations);
    HL_TEST(test_violation_on_two_bytes);
    HL_TEST(test_message_too_big);
    HL_TEST(test_close_valid_codes_echoed);
    HL_TEST(test_close_invalid_codes);
    HL_TEST(test_close_forms);
    HL_TEST(test_nothing_after_close);
    HL_TEST(test_local_close);
    HL_TEST(test_send_messages);
    HL_TEST(test_send_bad_utf8);
    HL_TEST(test_send_fragmented);
    HL_TEST(test_send_partial_ack);
    HL_TEST(test_send_too_big_for_queue);
    HL_TEST(test_queue_full);
    HL_TEST(test_ping_flood_full_queue);
    HL_TEST(test_pending_pong_then_close);
    HL_TEST(test_rx_bound_fragmented_max);
    HL_TEST(test_stop_flag);
    HL_TEST(test_hold_message);
    HL_TEST(test_reset);
    return hl_test_summary();
}
