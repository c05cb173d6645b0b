/* HTTP text basics shared by the WebSocket handshake and the HTTP client: tokens, comma lists,
   header checks and bounded string building. */

static int hl__is_tchar(int c)
{
    return hl__is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Trim spaces and tabs on both sides of p[0..*n). */
static const char *hl__trim(const char *p, size_t *n)
{
    while (*n && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        (*n)--;
    }
    while (*n && (p[*n - 1] == ' ' || p[*n - 1] == '\t')) (*n)--;
    return p;
}

/* Does a comma-separated header value contain token (case-insensitive)? */
static int hl__list_has(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token), i = 0;
    while (i < n) {
        size_t s = i, len;
        const char *t;
        while (i < n && v[i] != ',') i++;
        len = i - s;
        t = hl__trim(v + s, &len);
        if (len == tl && hl__ieq(t, token, tl)) return 1;
        i++;
    }
    return 0;
}

/* Check one caller-given header: a token name, no control characters in the value, and not
   one of the names the library writes itself. HL_OK or HL_E_INVALID with the reason. */
static int hl__header_check(const hl_header *h, const char *const *reserved, size_t nreserved, char *detail,
                            size_t cap)
{
    const char *p;
    size_t i, n;
    if (!h->name || !h->value || !h->name[0]) {
        hl__fmt(detail, cap, "extra header with a NULL or empty name or value");
        return HL_E_INVALID;
    }
    for (p = h->name; *p; p++)
        if (!hl__is_tchar((unsigned char)*p)) {
            hl__fmt(detail, cap, "extra header name '%.40s' has a bad character", h->name);
            return HL_E_INVALID;
        }
    for (p = h->value; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t') {
            hl__fmt(detail, cap, "extra header '%.40s' has a control character in its value", h->name);
            return HL_E_INVALID;
        }
    n = strlen(h->name);
    for (i = 0; i < nreserved; i++)
        if (strlen(reserved[i]) == n && hl__ieq(h->name, reserved[i], n)) {
            hl__fmt(detail, cap, "extra header '%.40s' is written by the library", h->name);
            return HL_E_INVALID;
        }
    return HL_OK;
}

typedef struct hl__strbuf {
    char *p;
    size_t cap, len;
    int overflow;
} hl__strbuf;

static void hl__sb_put(hl__strbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->overflow = 1;
        return;
    }
    HL_MEMCPY(b->p + b->len, s, n);
    b->len += n;
}

static void hl__sb_str(hl__strbuf *b, const char *s)
{
    hl__sb_put(b, s, strlen(s));
}

/* "METHOD target HTTP/1.1\r\nHost: host[:port]\r\n": the port only when not the scheme's. */
static void hl__sb_request_line(hl__strbuf *b, const char *method, const hl_url *u)
{
    char port[8];
    int tls = u->scheme == HL_SCHEME_WSS || u->scheme == HL_SCHEME_HTTPS;
    hl__sb_str(b, method);
    hl__sb_str(b, " ");
    hl__sb_str(b, u->target);
    hl__sb_str(b, " HTTP/1.1\r\nHost: ");
    if (u->is_ipv6) hl__sb_str(b, "[");
    hl__sb_str(b, u->host);
    if (u->is_ipv6) hl__sb_str(b, "]");
    if (u->port != (tls ? 443 : 80)) {
        hl__fmt(port, sizeof port, ":%u", (unsigned)u->port);
        hl__sb_str(b, port);
    }
    hl__sb_str(b, "\r\n");
}
