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
