/* JSON without a tree: a scanner that skips values to find a few keys of an envelope (routing
   must not tokenize whole messages), and, with jsmn, the canonical form of a subscription object
   so that the server's reordered, default-filled acks match what was sent. */

/* Skip white space. */
static const char *hl__js_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Does c end a number or literal? */
static int hl__js_delim(char c)
{
    switch (c) {
    case ',': case ']': case '}': case ':': case ' ': case '\t': case '\r': case '\n': case '\0': return 1;
    default: return 0;
    }
}

/* Skip one JSON value starting at p; returns the byte after it, or NULL when malformed or cut.
   Structure is tracked only as far as needed to find the end (a validator it is not). */
static const char *hl__js_skip(const char *p, const char *end)
{
    int depth = 0;
    p = hl__js_ws(p, end);
    do {
        if (p >= end) return NULL;
        switch (*p) {
        case '"':
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\' && ++p == end) return NULL;
            if (p >= end) return NULL;
            p++;
            break;
        case '{': case '[':
            depth++;
            p++;
            break;
        case '}': case ']':
            if (--depth < 0) return NULL;
            p++;
            break;
        case ',': case ':': case ' ': case '\t': case '\n': case '\r':
            if (!depth) return NULL;
            p++;
            break;
        case '\0':
            return NULL;
        default:
            while (p < end && !hl__js_delim(*p)) p++;
            break;
        }
    } while (depth > 0);
    return p;
}

/* The value of key in the object at obj, without finding where that value ends: only the
   members before it are skipped. NULL when absent. For scanning a large message's envelope. */
static const char *hl__js_find(const char *obj, const char *end, const char *key)
{
    size_t kl = strlen(key);
    const char *p = hl__js_ws(obj, end);
    if (p >= end || *p != '{') return NULL;
    p++;
    for (;;) {
        const char *k, *kend, *v;
        p = hl__js_ws(p, end);
        if (p >= end || *p != '"') return NULL;
        k = p + 1;
        p = hl__js_skip(p, end);
        if (!p) return NULL;
        kend = p - 1;
        p = hl__js_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        v = hl__js_ws(p + 1, end);
        if ((size_t)(kend - k) == kl && memcmp(k, key, kl) == 0) return v < end ? v : NULL;
        p = hl__js_skip(v, end);
        if (!p) return NULL;
        p = hl__js_ws(p, end);
        if (p >= end || *p != ',') return NULL;
        p++;
    }
}

/* Copy a JSON string's contents (no quotes) into out, undoing the escapes that matter for
   text shown to people (\" \\ \/ \n \t; \uXXXX kept as is). Always NUL-terminates. */
static void hl__js_unescape(const char *s, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    if (!cap) return;
    for (i = 0; i < n && o + 1 < cap; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char e = s[++i];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'u' ? (i--, '\\') : e;
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

/* In the object at obj (pointing at '{'), find key; *val gets the start of its value and the
   return is the value's end, or NULL when absent or malformed. */
static const char *hl__js_find(const char *obj, const char *end, const char *key);
static const char *hl__js_get(const char *obj, const char *end, const char *key, const char **val)
{
    const char *v = hl__js_find(obj, end, key);
    if (!v) return NULL;
    *val = v;
    return hl__js_skip(v, end);
}

/* The contents of the string value at v (without quotes, escapes left as they are). */
static int hl__js_str(const char *v, const char *ve, const char **s, size_t *n)
{
    if (!v || ve - v < 2 || *v != '"' || ve[-1] != '"') return 0;
    *s = v + 1;
    *n = (size_t)(ve - v - 2);
    return 1;
}

/* Canonical form of a flat JSON object: its members sorted by key, members whose value is a
   default (null, false, "") left out, 0x addresses lower-cased, white space outside strings
   dropped. Two subscriptions are the same when their canonical forms are equal; only the 64-bit
   FNV-1a hash of the form is kept. Returns 0, or HL_E_INVALID for something that is not an
   object. */
#define HL__JSON_CANON_MEMBERS 16

static uint64_t hl__fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}
#define HL__FNV_INIT 0xcbf29ce484222325ull

static int hl__js_is_default(const char *v, size_t n)
{
    return (n == 4 && memcmp(v, "null", 4) == 0) || (n == 5 && memcmp(v, "false", 5) == 0) ||
           (n == 2 && memcmp(v, "\"\"", 2) == 0);
}

static uint64_t hl__fnv_value(uint64_t h, const char *v, size_t n)
{
    size_t i;
    int addr = n == 44 && v[0] == '"' && v[1] == '0' && (v[2] == 'x' || v[2] == 'X');
    int in_str = 0, esc = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (esc) esc = 0;
        else if (in_str && c == '\\') esc = 1;
        else if (c == '"') in_str = !in_str;
        if (!in_str && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) continue;
        if (addr) c = (unsigned char)hl__lower(c);
        h = (h ^ c) * 0x100000001b3ull;
    }
    return h;
}

static int hl__json_canon_hash(const char *js, size_t len, uint64_t *out)
{
    jsmntok_t t[1 + 2 * HL__JSON_CANON_MEMBERS + 32];
    jsmn_parser jp;
    int n, i, k, m = 0, order[HL__JSON_CANON_MEMBERS];
    uint64_t h = HL__FNV_INIT;
    jsmn_init(&jp);
    n = jsmn_parse(&jp, js, len, t, (unsigned)(sizeof t / sizeof t[0]));
    if (n < 1 || t[0].type != JSMN_OBJECT || t[0].size > HL__JSON_CANON_MEMBERS) return HL_E_INVALID;
    /* the member keys (tokens whose parent is the object), skipping defaults */
    for (i = 1; i < n; i++) {
        if (t[i].parent != 0) continue;
        if (i + 1 >= n || t[i].type != JSMN_STRING) return HL_E_INVALID;
        if (!hl__js_is_default(js + t[i + 1].start - (t[i + 1].type == JSMN_STRING),
                               (size_t)(t[i + 1].end - t[i + 1].start) + 2 * (t[i + 1].type == JSMN_STRING)))
            order[m++] = i;
    }
    /* insertion sort by key */
    for (i = 1; i < m; i++) {
        int x = order[i];
        for (k = i - 1; k >= 0; k--) {
            int a = order[k];
            size_t la = (size_t)(t[a].end - t[a].start), lx = (size_t)(t[x].end - t[x].start);
            int c = memcmp(js + t[a].start, js + t[x].start, HL__MIN(la, lx));
            if (c < 0 || (c == 0 && la <= lx)) break;
            order[k + 1] = a;
        }
        order[k + 1] = x;
    }
    for (i = 0; i < m; i++) {
        const jsmntok_t *kt = &t[order[i]], *vt = &t[order[i] + 1];
        int q = vt->type == JSMN_STRING;
        h = hl__fnv1a(h, js + kt->start, (size_t)(kt->end - kt->start));
        h = hl__fnv1a(h, "=", 1);
        h = hl__fnv_value(h, js + vt->start - q, (size_t)(vt->end - vt->start) + 2 * (size_t)q);
        h = hl__fnv1a(h, ";", 1);
    }
    *out = h;
    return HL_OK;
}
