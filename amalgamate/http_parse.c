/* HTTP/1.1 response parsing, incremental over one buffer: the head is parsed once it is whole
   (headers become NUL-terminated views into it), then the body is taken by Content-Length,
   chunks (their framing squeezed out in place, so the body ends up contiguous), or the end of
   the stream. Strict about framing, because a response read wrongly poisons the connection it
   came on: two Content-Lengths, Content-Length with chunked, bad chunk sizes, obsolete line
   folding, oversized heads and bodies are refused with a reason. */

enum {
    HL__HP_HEAD = 0,
    HL__HP_BODY_CL,
    HL__HP_CHUNK_SIZE,
    HL__HP_CHUNK_DATA,
    HL__HP_CHUNK_END,  /* the CRLF after a chunk's data */
    HL__HP_TRAILERS,
    HL__HP_BODY_EOF,
    HL__HP_DONE
};

typedef struct hl__http_parser {
    int state;
    int head_request;    /* the request was HEAD: no body whatever the headers say */
    int status;
    int minor;           /* HTTP/1.x */
    long long content_length; /* -1 when absent */
    int chunked;
    int close;           /* the server will close (Connection: close, HTTP/1.0, EOF body) */
    uint64_t left;       /* body or chunk bytes still to come */
    size_t rd;           /* next unparsed byte */
    size_t body_start, wr; /* the body so far is [body_start, wr) */
    size_t max_head, max_body;
    hl_header *hdrs;
    int nhdrs, max_hdrs;
    const char *retry_after;
    char detail[128];
} hl__http_parser;

static void hl__http_parser_init(hl__http_parser *p, hl_header *hdrs, int max_hdrs, size_t max_head,
                                 size_t max_body, int head_request)
{
    HL_MEMSET(p, 0, sizeof *p);
    p->hdrs = hdrs;
    p->max_hdrs = max_hdrs;
    p->max_head = max_head;
    p->max_body = max_body;
    p->head_request = head_request;
    p->content_length = -1;
}

static int hl__http_fail(hl__http_parser *p, int rc, const char *why)
{
    hl__fmt(p->detail, sizeof p->detail, "%s", why);
    return rc;
}

#define HL__NO_LINE ((size_t)-1)

/* The end of the line starting at i in buf[0..n): index of its '\n', or HL__NO_LINE. */
static size_t hl__line_end(const char *buf, size_t i, size_t n)
{
    const char *nl = (const char *)memchr(buf + i, '\n', n - i);
    return nl ? (size_t)(nl - buf) : HL__NO_LINE;
}

/* Parse one header line [s, e) (without its line break) in place: NUL-terminate name and value.
   Returns HL_OK or an error. */
static int hl__http_header_line(hl__http_parser *p, char *s, char *e)
{
    char *colon = s, *v;
    if (*s == ' ' || *s == '\t') return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "obsolete header line folding");
    while (colon < e && *colon != ':') {
        if (!hl__is_tchar((unsigned char)*colon))
            return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "bad character in a header name (or space before colon)");
        colon++;
    }
    if (colon == e || colon == s) return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "header line without a name and colon");
    for (v = colon + 1; v < e; v++)
        if ((unsigned char)*v < 0x20 && *v != '\t')
            return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "control character in a header value");
    *colon = '\0';
    v = colon + 1;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *e = '\0';
    if (p->state == HL__HP_TRAILERS) return HL_OK; /* trailers are read and dropped */
    if (p->nhdrs >= p->max_hdrs) return hl__http_fail(p, HL_E_HEADER_TOO_BIG, "more headers than http_max_headers");
    p->hdrs[p->nhdrs].name = s;
    p->hdrs[p->nhdrs].value = v;
    p->nhdrs++;
    if (hl__ieq(s, "content-length", 15)) {
        long long cl = 0;
        const char *q = v;
        if (!*q) return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "empty Content-Length");
        for (; *q; q++) {
            if (*q < '0' || *q > '9' || cl > 1000000000000LL)
                return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "bad Content-Length");
            cl = cl * 10 + (*q - '0');
        }
        if (p->content_length >= 0 && p->content_length != cl)
            return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "two different Content-Lengths");
        p->content_length = cl;
    } else if (hl__ieq(s, "transfer-encoding", 18)) {
        size_t vl = strlen(v);
        if (!(vl == 7 && hl__ieq(v, "chunked", 7)) || p->chunked)
            return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "unsupported Transfer-Encoding (only chunked)");
        p->chunked = 1;
    } else if (hl__ieq(s, "connection", 11)) {
        if (hl__list_has(v, strlen(v), "close")) p->close = 1;
        else if (p->minor == 0 && hl__list_has(v, strlen(v), "keep-alive")) p->close = 0;
    } else if (hl__ieq(s, "retry-after", 12)) {
        p->retry_after = v;
    }
    return HL_OK;
}

/* The head from buf[p->rd]: status line and headers. 1 done, 0 more needed, <0 error. */
static int hl__http_head(hl__http_parser *p, char *buf, size_t n)
{
    size_t i = p->rd, e, start = p->rd;
    char *line;
    int rc;
    /* the whole head first (so it is parsed, and modified, exactly once) */
    for (;;) {
        e = hl__line_end(buf, i, n);
        if (e == HL__NO_LINE) {
            if (n - start >= p->max_head) return hl__http_fail(p, HL_E_HEADER_TOO_BIG, "response head over max_header_size");
            return 0;
        }
        if (e - start >= p->max_head) return hl__http_fail(p, HL_E_HEADER_TOO_BIG, "response head over max_header_size");
        if (e == i || (e == i + 1 && buf[i] == '\r')) break; /* the empty line */
        i = e + 1;
    }
    line = buf + start;
    if (n - start < 12 || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
        line[9] < '1' || line[9] > '9' || line[10] < '0' || line[10] > '9' || line[11] < '0' || line[11] > '9' ||
        (line[12] != ' ' && line[12] != '\r' && line[12] != '\n'))
        return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "bad HTTP status line");
    p->minor = line[7] - '0';
    p->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    p->close = p->minor == 0;
    p->nhdrs = 0;
    p->content_length = -1;
    p->chunked = 0;
    p->retry_after = NULL;
    i = hl__line_end(buf, start, n) + 1;
    for (;;) {
        size_t le = hl__line_end(buf, i, n), ve = le;
        if (ve > i && buf[ve - 1] == '\r') ve--;
        if (ve == i) {
            i = le + 1;
            break;
        }
        rc = hl__http_header_line(p, buf + i, buf + ve);
        if (rc != HL_OK) return rc;
        i = le + 1;
    }
    p->rd = i;
    return 1;
}

/* Feed: the buffer holds *fillp bytes (the parser keeps its place in it; dropping an interim
   1xx response moves what follows to the front and lowers *fillp); eof says the stream ended.
   Returns 1 when the response is complete ([body_start, wr) is its body), 0 when more bytes
   are needed, or an error (detail says why). */
static int hl__http_parse(hl__http_parser *p, char *buf, size_t *fillp, int eof)
{
    size_t fill = *fillp;
    for (;;) {
        switch (p->state) {
        case HL__HP_HEAD: {
            int r = hl__http_head(p, buf, fill);
            if (r <= 0) {
                if (r == 0 && eof) return hl__http_fail(p, HL_E_EOF, "connection closed before a whole response head");
                return r;
            }
            if (p->status >= 100 && p->status < 200) {
                /* an interim response: drop it, the real one follows */
                HL_MEMMOVE(buf, buf + p->rd, fill - p->rd);
                fill -= p->rd;
                *fillp = fill;
                p->rd = 0;
                continue;
            }
            p->body_start = p->wr = p->rd;
            if (p->chunked && p->content_length >= 0)
                return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "both Content-Length and chunked");
            if (p->head_request || p->status == 204 || p->status == 304) {
                p->state = HL__HP_DONE;
            } else if (p->chunked) {
                p->state = HL__HP_CHUNK_SIZE;
            } else if (p->content_length >= 0) {
                if ((uint64_t)p->content_length > p->max_body)
                    return hl__http_fail(p, HL_E_MSG_TOO_BIG, "response body over max_message_size");
                p->left = (uint64_t)p->content_length;
                p->state = HL__HP_BODY_CL;
            } else {
                p->close = 1;
                p->state = HL__HP_BODY_EOF;
            }
            continue;
        }
        case HL__HP_BODY_CL: {
            size_t k = (size_t)HL__MIN((uint64_t)(fill - p->rd), p->left);
            p->rd += k;
            p->wr = p->rd; /* no framing: the body is where it landed */
            p->left -= k;
            if (p->left == 0) {
                p->state = HL__HP_DONE;
                continue;
            }
            if (eof) return hl__http_fail(p, HL_E_EOF, "connection closed in the middle of the body");
            return 0;
        }
        case HL__HP_BODY_EOF:
            if (fill - p->body_start > p->max_body)
                return hl__http_fail(p, HL_E_MSG_TOO_BIG, "response body over max_message_size");
            p->rd = p->wr = fill;
            if (!eof) return 0;
            p->state = HL__HP_DONE;
            continue;
        case HL__HP_CHUNK_SIZE: {
            size_t e = hl__line_end(buf, p->rd, fill), i;
            uint64_t size = 0;
            int digits = 0;
            /* the same limit whether the line came whole or in pieces */
            if ((e == HL__NO_LINE ? fill : e) - p->rd > 1024)
                return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "chunk size line too long");
            if (e == HL__NO_LINE) {
                if (eof) return hl__http_fail(p, HL_E_EOF, "connection closed in the middle of the body");
                return 0;
            }
            for (i = p->rd; i < e && hl__is_hex((unsigned char)buf[i]); i++, digits++) {
                int c = hl__lower((unsigned char)buf[i]);
                size = size * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
                if (size > p->max_body) return hl__http_fail(p, HL_E_MSG_TOO_BIG, "chunk larger than max_message_size");
            }
            if (!digits || (i < e && buf[i] != ';' && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r'))
                return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "bad chunk size");
            if ((uint64_t)(p->wr - p->body_start) + size > p->max_body)
                return hl__http_fail(p, HL_E_MSG_TOO_BIG, "response body over max_message_size");
            p->rd = e + 1; /* chunk extensions are ignored */
            p->left = size;
            p->state = size ? HL__HP_CHUNK_DATA : HL__HP_TRAILERS;
            continue;
        }
        case HL__HP_CHUNK_DATA: {
            size_t k = (size_t)HL__MIN((uint64_t)(fill - p->rd), p->left);
            if (k) {
                HL_MEMMOVE(buf + p->wr, buf + p->rd, k); /* squeeze the framing out */
                p->wr += k;
                p->rd += k;
                p->left -= k;
            }
            if (p->left) {
                if (eof) return hl__http_fail(p, HL_E_EOF, "connection closed in the middle of the body");
                return 0;
            }
            p->state = HL__HP_CHUNK_END;
            continue;
        }
        case HL__HP_CHUNK_END:
            if (fill - p->rd < 1 || (buf[p->rd] == '\r' && fill - p->rd < 2)) {
                if (eof) return hl__http_fail(p, HL_E_EOF, "connection closed in the middle of the body");
                return 0;
            }
            if (buf[p->rd] == '\r') p->rd++;
            if (buf[p->rd] != '\n') return hl__http_fail(p, HL_E_HTTP_PROTOCOL, "chunk data not followed by CRLF");
            p->rd++;
            p->state = HL__HP_CHUNK_SIZE;
            continue;
        case HL__HP_TRAILERS: {
            size_t e = hl__line_end(buf, p->rd, fill), ve;
            int rc;
            if ((e == HL__NO_LINE ? fill : e) - p->rd > p->max_head)
                return hl__http_fail(p, HL_E_HEADER_TOO_BIG, "trailers over max_header_size");
            if (e == HL__NO_LINE) {
                if (eof) return hl__http_fail(p, HL_E_EOF, "connection closed in the trailers");
                return 0;
            }
            ve = e;
            if (ve > p->rd && buf[ve - 1] == '\r') ve--;
            if (ve == p->rd) {
                p->rd = e + 1;
                p->state = HL__HP_DONE;
                continue;
            }
            rc = hl__http_header_line(p, buf + p->rd, buf + ve);
            if (rc != HL_OK) return rc;
            p->rd = e + 1;
            continue;
        }
        default: /* HL__HP_DONE */
            return 1;
        }
    }
}

/* Close the gap chunk framing left between the body and the unparsed bytes, so framing never
   takes room a body needs. */
static void hl__http_compact(hl__http_parser *p, char *buf, size_t *fill)
{
    size_t gap;
    if (p->state == HL__HP_HEAD || p->rd <= p->wr) return;
    gap = p->rd - p->wr;
    HL_MEMMOVE(buf + p->wr, buf + p->rd, *fill - p->rd);
    *fill -= gap;
    p->rd = p->wr;
}
