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
