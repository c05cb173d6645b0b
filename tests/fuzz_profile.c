/* Fuzz target: the Hyperliquid profile (classify, sub_route, sub_message, app_pong) on arbitrary
   bytes, passed as an exact-size heap copy so that ASan catches any read past the end.
   - classify: a known kind; the same answer twice; DATA keys NUL-terminated and shorter than the
     key room; ack and error views inside the message (or the scratch room for an unescaped
     embedded subscription); an ack's subscription can be hashed.
   - sub_route: a key shorter than the room, NUL-terminated, the same with exactly enough room,
     refused with one byte less.
   - sub_message: the envelope around the input, exact length. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ASSERT(c)                                                                              \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "fuzz_profile: %s:%d: %s\n", __FILE__, __LINE__, #c);                 \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

static int fz_in(const void *p, size_t n, const void *base, size_t cap)
{
    const char *a = (const char *)p, *b = (const char *)base;
    return a >= b && n <= cap && a - b <= (ptrdiff_t)(cap - n);
}

static void fz_check_info(const hl_msg_info *in, const char *b, size_t n)
{
    FZ_ASSERT((unsigned)in->kind <= HL_MSGK_ERROR);
    FZ_ASSERT(in->key_len < sizeof in->key);
    FZ_ASSERT(in->key[in->key_len] == '\0'); /* key_len counts: a key may hold any byte of the message */
    FZ_ASSERT(in->is_snapshot == 0 || in->is_snapshot == 1);
    if (in->kind != HL_MSGK_DATA) FZ_ASSERT(in->key_len == 0);
    if (in->kind == HL_MSGK_SUB_ACK || in->kind == HL_MSGK_UNSUB_ACK) {
        FZ_ASSERT(in->sub != NULL);
        FZ_ASSERT(fz_in(in->sub, in->sub_len, b, n));
    }
    if (in->sub && in->kind == HL_MSGK_ERROR) {
        FZ_ASSERT(fz_in(in->sub, in->sub_len + 1, in->scratch, sizeof in->scratch));
        FZ_ASSERT(in->sub[in->sub_len] == '\0');
    }
    if (in->text) {
        FZ_ASSERT(in->kind == HL_MSGK_ERROR);
        FZ_ASSERT(fz_in(in->text, in->text_len, b, n));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const hl_profile *p = hl_profile_hyperliquid();
    char *b = (char *)malloc(size ? size : 1);
    hl_msg_info *in = (hl_msg_info *)malloc(sizeof *in);
    hl_msg_info *in2 = (hl_msg_info *)malloc(sizeof *in2);
    char key[96], key2[96];
    char *out;
    int r, r2;
    if (!b || !in || !in2) {
        free(b);
        free(in);
        free(in2);
        return 0;
    }
    if (size) memcpy(b, data, size);

    /* classify, twice */
    memset(in, 0, sizeof *in);
    memset(in2, 0, sizeof *in2);
    p->classify(b, size, in);
    p->classify(b, size, in2);
    fz_check_info(in, b, size);
    FZ_ASSERT(in->kind == in2->kind && in->key_len == in2->key_len && memcmp(in->key, in2->key, in->key_len) == 0);
    FZ_ASSERT(in->is_snapshot == in2->is_snapshot && in->sub_len == in2->sub_len && in->text == in2->text);
    if (in->kind == HL_MSGK_SUB_ACK || in->kind == HL_MSGK_UNSUB_ACK) {
        uint64_t h;
        FZ_ASSERT(in->sub == in2->sub);
        (void)hl__json_canon_hash(in->sub, in->sub_len, &h);
    }
    if (in->kind == HL_MSGK_ERROR && in->sub) {
        uint64_t h;
        FZ_ASSERT(memcmp(in->sub, in2->sub, in->sub_len) == 0);
        (void)hl__json_canon_hash(in->sub, in->sub_len, &h);
    }

    /* the input as a subscription */
    r = p->sub_route(b, size, key, sizeof key);
    FZ_ASSERT(r < (int)sizeof key);
    if (r >= 0) {
        FZ_ASSERT(key[r] == '\0');
        r2 = p->sub_route(b, size, key2, (size_t)r + 1);
        FZ_ASSERT(r2 == r && memcmp(key, key2, (size_t)r) == 0);
        r2 = p->sub_route(b, size, key2, (size_t)r);
        FZ_ASSERT(r2 < 0);
    } else {
        FZ_ASSERT(r == HL_E_INVALID);
    }

    /* the subscribe and unsubscribe texts around it */
    out = (char *)malloc(size + 64);
    if (out) {
        static const char head[] = "{\"method\":\"subscribe\",\"subscription\":";
        r = p->sub_message(b, size, 0, out, size + 64);
        FZ_ASSERT(r == (int)(sizeof head - 1 + size + 1));
        FZ_ASSERT(memcmp(out, head, sizeof head - 1) == 0);
        FZ_ASSERT((size == 0 || memcmp(out + sizeof head - 1, data, size) == 0) && out[r - 1] == '}' && out[r] == '\0');
        r2 = p->sub_message(b, size, 1, out, size + 64);
        FZ_ASSERT(r2 == r + 2);
        FZ_ASSERT(p->sub_message(b, size, 1, out, (size_t)r2) == HL_E_INVALID);
        FZ_ASSERT(p->app_pong(b, size, out, 18) == 17);
        free(out);
    }

    free(b);
    free(in);
    free(in2);
    return 0;
}
