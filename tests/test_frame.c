/* RFC 6455 section 5 frame codec: hl__frame_parse, hl__frame_write and hl__mask, byte-exact. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

/* ---- RFC 6455 section 5.7 examples ---- */

typedef struct example {
    const char *name;
    unsigned char bytes[16];
    size_t n;         /* header + payload bytes in .bytes */
    int fin, opcode, masked;
    unsigned char mask[4];
    size_t hlen;      /* header length */
    const char *payload; /* unmasked payload */
} example;

static const example examples[] = {
    {"unmasked text Hello", {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, 7, 1, HL__OP_TEXT, 0,
     {0, 0, 0, 0}, 2, "Hello"},
    {"masked text Hello",
     {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, 11, 1, HL__OP_TEXT, 1,
     {0x37, 0xfa, 0x21, 0x3d}, 6, "Hello"},
    {"fragment Hel", {0x01, 0x03, 0x48, 0x65, 0x6c}, 5, 0, HL__OP_TEXT, 0, {0, 0, 0, 0}, 2, "Hel"},
    {"fragment lo", {0x80, 0x02, 0x6c, 0x6f}, 4, 1, HL__OP_CONT, 0, {0, 0, 0, 0}, 2, "lo"},
    {"unmasked ping", {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, 7, 1, HL__OP_PING, 0,
     {0, 0, 0, 0}, 2, "Hello"},
    {"masked pong",
     {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, 11, 1, HL__OP_PONG, 1,
     {0x37, 0xfa, 0x21, 0x3d}, 6, "Hello"},
    {"unmasked pong", {0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, 7, 1, HL__OP_PONG, 0,
     {0, 0, 0, 0}, 2, "Hello"},
};

static void test_rfc_examples_decode(void)
{
    size_t i;
    for (i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const example *e = &examples[i];
        hl__frame f;
        unsigned char payload[128]; /* roomy: gcc -O3 cannot bound f.len here */
        int h;
        memset(&f, 0xAB, sizeof f);
        h = hl__frame_parse(e->bytes, e->n, &f);
        CHECK_EQ(h, (int)e->hlen);
        CHECK_EQ(f.fin, e->fin);
        CHECK_EQ(f.rsv, 0);
        CHECK_EQ(f.opcode, e->opcode);
        CHECK_EQ(f.masked, e->masked);
        CHECK_EQ(f.len, strlen(e->payload));
        CHECK_EQ(e->n, e->hlen + strlen(e->payload));
        if (e->masked) {
            CHECK(memcmp(f.mask, e->mask, 4) == 0);
            hl__mask(payload, e->bytes + h, (size_t)f.len, f.mask, 0);
        } else {
            memcpy(payload, e->bytes + h, (size_t)f.len);
        }
        CHECK(memcmp(payload, e->payload, strlen(e->payload)) == 0);
    }
}

static void test_rfc_examples_encode(void)
{
    size_t i;
    for (i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const example *e = &examples[i];
        unsigned char out[HL__FRAME_MAX_HEADER + 128];
        size_t pl = strlen(e->payload);
        size_t h = hl__frame_write(out, e->fin, e->opcode, pl, e->masked ? e->mask : NULL);
        CHECK_EQ(h, e->hlen);
        if (e->masked) hl__mask(out + h, (const unsigned char *)e->payload, pl, e->mask, 0);
        else memcpy(out + h, e->payload, pl);
        CHECK(memcmp(out, e->bytes, e->n) == 0);
    }
}

/* 256 bytes and 64 KiB of binary data in a single unmasked frame (the RFC's two examples). */
static void test_rfc_examples_long(void)
{
    static const unsigned char h256[] = {0x82, 0x7E, 0x01, 0x00};
    static const unsigned char h64k[] = {0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
    unsigned char out[HL__FRAME_MAX_HEADER];
    hl__frame f;
    size_t n;
    n = hl__frame_write(out, 1, HL__OP_BINARY, 256, NULL);
    CHECK_EQ(n, sizeof h256);
    CHECK(memcmp(out, h256, sizeof h256) == 0);
    CHECK_EQ(hl__frame_parse(h256, sizeof h256, &f), 4);
    CHECK_EQ(f.len, 256);
    CHECK_EQ(f.opcode, HL__OP_BINARY);
    CHECK_EQ(f.fin, 1);
    CHECK_EQ(f.masked, 0);
    n = hl__frame_write(out, 1, HL__OP_BINARY, 65536, NULL);
    CHECK_EQ(n, sizeof h64k);
    CHECK(memcmp(out, h64k, sizeof h64k) == 0);
    CHECK_EQ(hl__frame_parse(h64k, sizeof h64k, &f), 10);
    CHECK_EQ(f.len, 65536);
    CHECK_EQ(f.opcode, HL__OP_BINARY);
}

/* ---- length forms ---- */

typedef struct len_case {
    uint64_t len;
    size_t hlen; /* unmasked */
    unsigned char b1; /* second byte, unmasked */
} len_case;

static const len_case len_cases[] = {
    {0, 2, 0}, {1, 2, 1}, {125, 2, 125}, {126, 4, 126}, {127, 4, 126}, {65535, 4, 126},
    {65536, 10, 127}, {0xFFFFFFFFull, 10, 127}, {0x100000000ull, 10, 127},
    {0x7FFFFFFFFFFFFFFFull, 10, 127},
};

/* The expected big-endian length bytes of a header. */
static void expect_len_bytes(const unsigned char *out, const len_case *c)
{
    int i;
    if (c->hlen == 4) {
        CHECK_EQ(out[2], (c->len >> 8) & 0xFF);
        CHECK_EQ(out[3], c->len & 0xFF);
    } else if (c->hlen == 10) {
        for (i = 0; i < 8; i++) CHECK_EQ(out[2 + i], (c->len >> (56 - 8 * i)) & 0xFF);
    }
}

static void test_length_boundaries(void)
{
    static const unsigned char key[4] = {0xde, 0xad, 0xbe, 0xef};
    size_t i;
    int masked, op, fin;
    for (i = 0; i < sizeof len_cases / sizeof len_cases[0]; i++) {
        const len_case *c = &len_cases[i];
        for (masked = 0; masked < 2; masked++)
            for (fin = 0; fin < 2; fin++)
                for (op = 0; op < 16; op++) {
                    unsigned char out[HL__FRAME_MAX_HEADER + 4];
                    hl__frame f;
                    size_t n;
                    memset(out, 0xEE, sizeof out);
                    n = hl__frame_write(out, fin, op, c->len, masked ? key : NULL);
                    CHECK_EQ(n, c->hlen + (masked ? 4 : 0));
                    CHECK_EQ(out[n], 0xEE); /* nothing written past the header */
                    CHECK_EQ(out[0], (fin ? 0x80 : 0) | op);
                    CHECK_EQ(out[1], (masked ? 0x80 : 0) | c->b1);
                    expect_len_bytes(out, c);
                    if (masked) CHECK(memcmp(out + c->hlen, key, 4) == 0);
                    CHECK_EQ(hl__frame_parse(out, n, &f), (int)n);
                    CHECK_EQ(f.len, c->len);
                    CHECK_EQ(f.fin, fin);
                    CHECK_EQ(f.opcode, op);
                    CHECK_EQ(f.masked, masked);
                    CHECK_EQ(f.rsv, 0);
                    if (masked) CHECK(memcmp(f.mask, key, 4) == 0);
                }
    }
}

static void test_length_decode_exact(void)
{
    /* hand-written headers, each length form */
    static const unsigned char h0[] = {0x82, 0x00};
    static const unsigned char h125[] = {0x82, 0x7D};
    static const unsigned char h126[] = {0x82, 0x7E, 0x00, 0x7E};
    static const unsigned char h65535[] = {0x82, 0x7E, 0xFF, 0xFF};
    static const unsigned char h2_32[] = {0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0};
    static const unsigned char hmax[] = {0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    static const unsigned char hmix[] = {0x82, 0x7F, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    hl__frame f;
    CHECK_EQ(hl__frame_parse(h0, sizeof h0, &f), 2);
    CHECK_EQ(f.len, 0);
    CHECK_EQ(hl__frame_parse(h125, sizeof h125, &f), 2);
    CHECK_EQ(f.len, 125);
    CHECK_EQ(hl__frame_parse(h126, sizeof h126, &f), 4);
    CHECK_EQ(f.len, 126);
    CHECK_EQ(hl__frame_parse(h65535, sizeof h65535, &f), 4);
    CHECK_EQ(f.len, 65535);
    CHECK_EQ(hl__frame_parse(h2_32, sizeof h2_32, &f), 10);
    CHECK(f.len == 0x100000000ull);
    CHECK_EQ(hl__frame_parse(hmax, sizeof hmax, &f), 10);
    CHECK(f.len == 0x7FFFFFFFFFFFFFFFull);
    CHECK_EQ(hl__frame_parse(hmix, sizeof hmix, &f), 10);
    CHECK(f.len == 0x0123456789ABCDEFull);
}

static void test_length_top_bit(void)
{
    static const unsigned char top[][14] = {
        {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0},
        {0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
        {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, /* masked */
        {0x02, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 5},
    };
    static const size_t lens[] = {10, 10, 14, 10};
    size_t i, k;
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        hl__frame f;
        CHECK_EQ(hl__frame_parse(top[i], lens[i], &f), HL_E_PROTOCOL);
        /* still "need more" while the header is incomplete */
        for (k = 0; k < lens[i]; k++) CHECK_EQ(hl__frame_parse(top[i], k, &f), 0);
    }
}

static void test_header_bits(void)
{
    hl__frame f;
    unsigned b0;
    /* every first byte: fin, rsv, opcode decoded as given */
    for (b0 = 0; b0 < 256; b0++) {
        unsigned char h[2];
        h[0] = (unsigned char)b0;
        h[1] = 3;
        CHECK_EQ(hl__frame_parse(h, 2, &f), 2);
        CHECK_EQ(f.fin, (int)(b0 >> 7));
        CHECK_EQ(f.rsv, (int)((b0 >> 4) & 7));
        CHECK_EQ(f.opcode, (int)(b0 & 15));
        CHECK_EQ(f.masked, 0);
        CHECK_EQ(f.len, 3);
    }
}

/* Every header, cut at every byte, says "need more" until it is whole; with trailing bytes it
   still reports just the header. */
static void test_header_split(void)
{
    static const unsigned char key[4] = {1, 2, 3, 4};
    size_t i;
    int masked;
    for (i = 0; i < sizeof len_cases / sizeof len_cases[0]; i++)
        for (masked = 0; masked < 2; masked++) {
            unsigned char out[HL__FRAME_MAX_HEADER + 8];
            hl__frame f;
            size_t n, k;
            memset(&f, 0, sizeof f);
            memset(out, 0x55, sizeof out);
            n = hl__frame_write(out, 1, HL__OP_BINARY, len_cases[i].len, masked ? key : NULL);
            for (k = 0; k < n; k++) CHECK_EQ(hl__frame_parse(out, k, &f), 0);
            for (k = n; k <= sizeof out; k++) {
                CHECK_EQ(hl__frame_parse(out, k, &f), (int)n);
                CHECK_EQ(f.len, len_cases[i].len);
            }
        }
}

/* ---- masking ---- */

static void ref_mask(unsigned char *dst, const unsigned char *src, size_t n,
                     const unsigned char key[4], size_t offset)
{
    size_t i;
    for (i = 0; i < n; i++) dst[i] = src[i] ^ key[(i + offset) % 4];
}

static void test_mask_reference(void)
{
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    unsigned char src[80], buf[96], ref[80], inplace[96];
    size_t n, off, align, i;
    for (i = 0; i < sizeof src; i++) src[i] = (unsigned char)(i * 7 + 3);
    for (n = 0; n <= 64; n++)
        for (off = 0; off <= 7; off++)
            for (align = 0; align < 8; align++) {
                ref_mask(ref, src, n, key, off);
                /* out of place, src and dst at several alignments; bytes around dst untouched */
                ref_mask(ref, src + (7 - align), n, key, off);
                memset(buf, 0xCC, sizeof buf);
                hl__mask(buf + align, src + (7 - align), n, key, off);
                CHECK(memcmp(buf + align, ref, n) == 0);
                for (i = 0; i < align; i++) CHECK_EQ(buf[i], 0xCC);
                for (i = align + n; i < sizeof buf; i++) CHECK_EQ(buf[i], 0xCC);
                /* in place */
                memset(inplace, 0xCC, sizeof inplace);
                memcpy(inplace + align, src, n);
                hl__mask(inplace + align, inplace + align, n, key, off);
                ref_mask(ref, src, n, key, off);
                CHECK(memcmp(inplace + align, ref, n) == 0);
                for (i = align + n; i < sizeof inplace; i++) CHECK_EQ(inplace[i], 0xCC);
                /* masking twice gives the original back */
                hl__mask(inplace + align, inplace + align, n, key, off);
                CHECK(memcmp(inplace + align, src, n) == 0);
            }
}

/* Masking a payload in pieces, each with offset = bytes done so far, equals masking it whole. */
static void test_mask_pieces(void)
{
    static const unsigned char key[4] = {0xa1, 0x02, 0xf3, 0x44};
    unsigned char src[200], whole[200], pieces[200];
    size_t i, cut1, cut2;
    for (i = 0; i < sizeof src; i++) src[i] = (unsigned char)(255 - i);
    hl__mask(whole, src, sizeof src, key, 0);
    ref_mask(pieces, src, sizeof src, key, 0);
    CHECK(memcmp(whole, pieces, sizeof src) == 0);
    for (cut1 = 0; cut1 <= 40; cut1++)
        for (cut2 = cut1; cut2 <= sizeof src; cut2 += 13) {
            hl__mask(pieces, src, cut1, key, 0);
            hl__mask(pieces + cut1, src + cut1, cut2 - cut1, key, cut1);
            hl__mask(pieces + cut2, src + cut2, sizeof src - cut2, key, cut2);
            CHECK(memcmp(whole, pieces, sizeof src) == 0);
        }
}

/* A whole masked frame built by the codec decodes back to the payload. */
static void test_round_trip_frames(void)
{
    static unsigned char frame[HL__FRAME_MAX_HEADER + 70000], payload[70000], back[70000];
    static const size_t sizes[] = {0, 1, 125, 126, 127, 1000, 65535, 65536, 69999};
    static const unsigned char key[4] = {9, 8, 7, 6};
    size_t i, j;
    for (j = 0; j < sizeof payload; j++) payload[j] = (unsigned char)(j * 31 + (j >> 8));
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        hl__frame f;
        size_t h = hl__frame_write(frame, 1, HL__OP_BINARY, sizes[i], key);
        int ph;
        hl__mask(frame + h, payload, sizes[i], key, 0);
        ph = hl__frame_parse(frame, h + sizes[i], &f);
        CHECK_EQ(ph, (int)h);
        CHECK_EQ(f.len, sizes[i]);
        CHECK_EQ(f.masked, 1);
        hl__mask(back, frame + h, sizes[i], f.mask, 0);
        CHECK(memcmp(back, payload, sizes[i]) == 0);
    }
}

int main(void)
{
    HL_TEST(test_rfc_examples_decode);
    HL_TEST(test_rfc_examples_encode);
    HL_TEST(test_rfc_examples_long);
    HL_TEST(test_length_boundaries);
    HL_TEST(test_length_decode_exact);
    HL_TEST(test_length_top_bit);
    HL_TEST(test_header_bits);
    HL_TEST(test_header_split);
    HL_TEST(test_mask_reference);
    HL_TEST(test_mask_pieces);
    HL_TEST(test_round_trip_frames);
    return hl_test_summary();
}
