/* Fuzz target: the JSON helpers on arbitrary bytes (an exact-size heap copy, so ASan sees any
   read past the end).
   - hl__js_skip: NULL, or an end inside the input; the same answer twice.
   - hl__js_get for a set of keys: the value lies inside the input and is exactly one skipped
     value (its end is hl__js_skip of its start); hl__js_str of it stays inside it.
   - hl__json_canon_hash: HL_OK or HL_E_INVALID, the same hash twice, the same verdict and hash
     with white space in front, and for an accepted object the same hash with a space before and
     after every token (the canonical form drops white space outside strings). */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ASSERT(c)                                                                              \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "fuzz_json: %s:%d: %s\n", __FILE__, __LINE__, #c);                    \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

static void fz_get(const char *b, size_t n, const char *key)
{
    const char *v = NULL, *v2 = NULL, *ve, *ve2, *s;
    size_t sl;
    ve = hl__js_get(b, b + n, key, &v);
    ve2 = hl__js_get(b, b + n, key, &v2);
    FZ_ASSERT(ve == ve2);
    if (!ve) return;
    FZ_ASSERT(v == v2);
    FZ_ASSERT(v >= b && v <= ve && ve <= b + n);
    FZ_ASSERT(hl__js_skip(v, b + n) == ve);
    if (hl__js_str(v, ve, &s, &sl)) {
        FZ_ASSERT(s == v + 1);
        FZ_ASSERT(s + sl + 1 == ve);
    }
    /* a found value that is an object can be searched in turn */
    if (ve > v && *v == '{') {
        const char *w;
        const char *we = hl__js_get(v, ve, "coin", &w);
        if (we) FZ_ASSERT(w >= v && we <= ve);
    }
}

/* A JSON literal or number (jsmn's strict mode checks only the first byte of a primitive). */
static int fz_primitive_ok(const char *p, size_t n)
{
    size_t i = 0;
    if ((n == 4 && memcmp(p, "true", 4) == 0) || (n == 5 && memcmp(p, "false", 5) == 0) ||
        (n == 4 && memcmp(p, "null", 4) == 0))
        return 1;
    if (i < n && p[i] == '-') i++;
    if (i < n && p[i] == '0') {
        i++;
    } else if (i < n && p[i] >= '1' && p[i] <= '9') {
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    } else {
        return 0;
    }
    if (i < n && p[i] == '.') {
        size_t d = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
        if (i == d) return 0;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        size_t d;
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) i++;
        d = i;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
        if (i == d) return 0;
    }
    return i == n;
}

/* s[0..n) with a space before and after every token (jsmn's own tokens, the settings the
   library uses), into out (room for 3n + 1 bytes). White space between tokens never changes
   the tokens. Returns the new length, or 0 when s does not tokenize into toks or holds a
   primitive that is not JSON (jsmn takes `1"x` as one primitive: no white-space rule there). */
static size_t fz_spaced(const char *s, size_t n, char *out, jsmntok_t *toks, unsigned ntok, unsigned char *mark)
{
    jsmn_parser jp;
    int k, t;
    size_t i, o = 0;
    jsmn_init(&jp);
    t = jsmn_parse(&jp, s, n, toks, ntok);
    if (t < 1) return 0;
    memset(mark, 0, n + 1);
    for (k = 0; k < t; k++) {
        int q = toks[k].type == JSMN_STRING;
        if (toks[k].type == JSMN_PRIMITIVE &&
            !fz_primitive_ok(s + toks[k].start, (size_t)(toks[k].end - toks[k].start)))
            return 0;
        mark[toks[k].start - q] = 1;
        mark[toks[k].end + q] = 1;
    }
    for (i = 0; i <= n; i++) {
        if (mark[i]) out[o++] = ' ';
        if (i < n) out[o++] = s[i];
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"channel", "data", "coin", "a", "", "type", "subscription",
                                       "user", "s", "i", "isSnapshot", "method"};
    char *b = (char *)malloc(size ? size : 1);
    char *pre = (char *)malloc(size + 2);
    const char *e, *e2;
    size_t k;
    int rc, rc2;
    uint64_t h = 0, h2 = 0;
    if (!b || !pre) {
        free(b);
        free(pre);
        return 0;
    }
    if (size) memcpy(b, data, size);

    e = hl__js_skip(b, b + size);
    e2 = hl__js_skip(b, b + size);
    FZ_ASSERT(e == e2);
    if (e) FZ_ASSERT(e >= b && e <= b + size);

    for (k = 0; k < sizeof keys / sizeof keys[0]; k++) fz_get(b, size, keys[k]);

    rc = hl__json_canon_hash(b, size, &h);
    FZ_ASSERT(rc == HL_OK || rc == HL_E_INVALID);
    rc2 = hl__json_canon_hash(b, size, &h2);
    FZ_ASSERT(rc2 == rc);
    if (rc == HL_OK) FZ_ASSERT(h == h2);
    /* white space in front changes nothing */
    pre[0] = ' ';
    pre[1] = '\n';
    if (size) memcpy(pre + 2, data, size);
    rc2 = hl__json_canon_hash(pre, size + 2, &h2);
    FZ_ASSERT(rc2 == rc);
    if (rc == HL_OK) FZ_ASSERT(h == h2);
    if (rc == HL_OK) {
        char *sp = (char *)malloc(3 * size + 1);
        unsigned char *mark = (unsigned char *)malloc(size + 1);
        jsmntok_t *toks = (jsmntok_t *)malloc(256 * sizeof *toks);
        size_t sn;
        if (sp && mark && toks && (sn = fz_spaced(b, size, sp, toks, 256, mark)) > 0) {
            rc2 = hl__json_canon_hash(sp, sn, &h2);
            FZ_ASSERT(rc2 == HL_OK);
            FZ_ASSERT(h == h2);
        }
        free(sp);
        free(mark);
        free(toks);
    }

    free(b);
    free(pre);
    return 0;
}
