/* The opening handshake (RFC 6455 section 4): the client's request and the checks of the
   server's response. Pure functions over buffers. */

static const char hl__ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)); out gets 28 chars and a NUL. */
static void hl__ws_accept_compute(const char *key, char out[29])
{
    hl__sha1 s;
    unsigned char digest[20];
    hl__sha1_init(&s);
    hl__sha1_update(&s, key, strlen(key));
    hl__sha1_update(&s, hl__ws_guid, sizeof hl__ws_guid - 1);
    hl__sha1_final(&s, digest);
    hl__base64_encode(digest, 20, out);
}

/* Headers the library writes itself; a provider may not set them. */
static const char *const hl__ws_reserved[] = {"host", "upgrade", "connection", "sec-websocket-key",
                                              "sec-websocket-version", "sec-websocket-protocol",
                                              "sec-websocket-extensions", "content-length"};

/* Check one extra header of the upgrade request. */
static int hl__ws_header_check(const hl_header *h, char *detail, size_t cap)
{
    return hl__header_check(h, hl__ws_reserved, sizeof hl__ws_reserved / sizeof hl__ws_reserved[0], detail, cap);
}

/* Write the upgrade request into out; returns its length or HL_E_HEADER_TOO_BIG. */
static int hl__ws_request_write(char *out, size_t cap, const hl_url *u, const char *key,
                                const char *subprotocols, const hl_header *hdrs, int nhdrs)
{
    hl__strbuf b;
    int i;
    b.p = out;
    b.cap = cap;
    b.len = 0;
    b.overflow = 0;
    hl__sb_request_line(&b, "GET", u);
    hl__sb_str(&b, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    hl__sb_str(&b, key);
    hl__sb_str(&b, "\r\nSec-WebSocket-Version: 13\r\n");
    if (subprotocols && subprotocols[0]) {
        hl__sb_str(&b, "Sec-WebSocket-Protocol: ");
        hl__sb_str(&b, subprotocols);
        hl__sb_str(&b, "\r\n");
    }
    for (i = 0; i < nhdrs; i++) {
        hl__sb_str(&b, hdrs[i].name);
        hl__sb_str(&b, ": ");
        hl__sb_str(&b, hdrs[i].value);
        hl__sb_str(&b, "\r\n");
    }
    hl__sb_str(&b, "\r\n");
    if (b.overflow || b.len > 0x7FFFFFFF) return HL_E_HEADER_TOO_BIG;
    return (int)b.len;
}

/* What the response says, as views into the receive buffer. */
typedef struct hl__ws_response {
    int status;
    long long content_length; /* -1 when absent */
    int upgrade_ok;           /* Upgrade: websocket */
    int connection_ok;        /* Connection lists upgrade */
    const char *accept;
    size_t accept_len;
    int accept_count;
    const char *protocol;
    size_t protocol_len;
    int has_extensions;
    const char *retry_after;  /* Retry-After of a refusal (429, 503) */
    size_t retry_after_len;
} hl__ws_response;

/* Parse the status line and headers in buf[0..n). Returns the header length (body starts
   there), 0 when the blank line has not arrived, HL_E_HEADER_TOO_BIG past max, or
   HL_E_HTTP_PROTOCOL with a reason in detail. */
static int hl__ws_response_parse(const char *buf, size_t n, size_t max, hl__ws_response *r,
                                 char *detail, size_t cap)
{
    size_t end = 0, i, line;
    for (i = 0; i + 1 < n && i < max; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n') { end = i + 2; break; }
        if (i + 3 < n && buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            end = i + 4;
            break;
        }
    }
    if (end > max) end = 0; /* the head must fit max whole, terminator included */
    if (!end) {
        if (n >= max) {
            hl__fmt(detail, cap, "response headers exceed max_header_size (%u)", (unsigned)max);
            return HL_E_HEADER_TOO_BIG;
        }
        return 0;
    }
    HL_MEMSET(r, 0, sizeof *r);
    r->content_length = -1;
    /* status line: HTTP/1.x SP 3DIGIT */
    if (end < 13 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[7] < '0' || buf[7] > '9' || buf[8] != ' ' ||
        buf[9] < '1' || buf[9] > '9' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
        (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')) {
        hl__fmt(detail, cap, "bad HTTP status line");
        return HL_E_HTTP_PROTOCOL;
    }
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    line = 0;
    while (line < end && buf[line] != '\n') line++;
    line++;
    while (line < end) {
        size_t le = line, colon, nl, vl;
        const char *v;
        while (buf[le] != '\n') le++;
        nl = le - line;
        if (nl > 0 && buf[le - 1] == '\r') nl--;
        if (nl == 0) break;
        if (buf[line] == ' ' || buf[line] == '\t') {
            hl__fmt(detail, cap, "obsolete header line folding");
            return HL_E_HTTP_PROTOCOL;
        }
        for (colon = line; colon < line + nl && buf[colon] != ':'; colon++)
            if (!hl__is_tchar((unsigned char)buf[colon])) {
                hl__fmt(detail, cap, "bad character in a header name");
                return HL_E_HTTP_PROTOCOL;
            }
        if (colon == line + nl || colon == line) {
            hl__fmt(detail, cap, "header line without a name and colon");
            return HL_E_HTTP_PROTOCOL;
        }
        vl = line + nl - colon - 1;
        v = hl__trim(buf + colon + 1, &vl);
#define HL__HDR_IS(s) (colon - line == sizeof(s) - 1 && hl__ieq(buf + line, s, sizeof(s) - 1))
        if (HL__HDR_IS("upgrade")) {
            r->upgrade_ok = hl__list_has(v, vl, "websocket");
        } else if (HL__HDR_IS("connection")) {
            r->connection_ok |= hl__list_has(v, vl, "upgrade");
        } else if (HL__HDR_IS("sec-websocket-accept")) {
            r->accept = v;
            r->accept_len = vl;
            r->accept_count++;
        } else if (HL__HDR_IS("sec-websocket-protocol")) {
            r->protocol = v;
            r->protocol_len = vl;
        } else if (HL__HDR_IS("sec-websocket-extensions")) {
            r->has_extensions = 1;
        } else if (HL__HDR_IS("retry-after")) {
            r->retry_after = v;
            r->retry_after_len = vl;
        } else if (HL__HDR_IS("content-length")) {
            long long cl = 0;
            size_t k;
            if (vl == 0 || vl > 15 || r->content_length >= 0) {
                hl__fmt(detail, cap, "bad or repeated Content-Length");
                return HL_E_HTTP_PROTOCOL;
            }
            for (k = 0; k < vl; k++) {
                if (v[k] < '0' || v[k] > '9') {
                    hl__fmt(detail, cap, "bad Content-Length");
                    return HL_E_HTTP_PROTOCOL;
                }
                cl = cl * 10 + (v[k] - '0');
            }
            r->content_length = cl;
        }
#undef HL__HDR_IS
        line = le + 1;
    }
    return (int)end;
}

/* Is a subprotocol the server chose one of those offered? */
static int hl__ws_protocol_offered(const char *offered, const char *p, size_t n)
{
    char tok[128];
    if (!offered || n == 0 || n >= sizeof tok) return 0;
    HL_MEMCPY(tok, p, n);
    tok[n] = '\0';
    return hl__list_has(offered, strlen(offered), tok);
}

/* Check a 101 response against our key and offer (RFC 6455 4.1, the client's checks). */
static int hl__ws_response_check(const hl__ws_response *r, const char *key, const char *offered,
                                 char *detail, size_t cap)
{
    char expect[29];
    if (!r->upgrade_ok) {
        hl__fmt(detail, cap, "101 response without 'Upgrade: websocket'");
        return HL_E_HANDSHAKE;
    }
    if (!r->connection_ok) {
        hl__fmt(detail, cap, "101 response without 'Connection: Upgrade'");
        return HL_E_HANDSHAKE;
    }
    hl__ws_accept_compute(key, expect);
    if (r->accept_count != 1 || r->accept_len != 28 || memcmp(r->accept, expect, 28) != 0) {
        hl__fmt(detail, cap, "Sec-WebSocket-Accept missing or wrong");
        return HL_E_HANDSHAKE;
    }
    if (r->has_extensions) {
        hl__fmt(detail, cap, "server selected an extension that was not offered");
        return HL_E_HANDSHAKE;
    }
    if (r->protocol_len && !hl__ws_protocol_offered(offered, r->protocol, r->protocol_len)) {
        hl__fmt(detail, cap, "server selected a subprotocol that was not offered");
        return HL_E_HANDSHAKE;
    }
    return HL_OK;
}
