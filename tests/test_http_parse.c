/* The HTTP/1.1 response parser (amalgamate/http_parse.c) on its own: no sockets.

   Every response form is fed whole, cut in two at every byte position, and one byte at a time;
   all must give the same status, headers (NUL-terminated views into the buffer), body, end
   position and close flag. The buffer is a heap block of exactly the input's size, so ASan sees
   a read past the bytes received. Rejections must carry the right code and a detail, and must
   not depend on how the bytes were cut either.

   Decisions for the debatable cases, as the parser makes them and these tests pin them down:
     * bare LF line ends are accepted everywhere (status line, headers, chunk lines, trailers);
       a CR is only dropped right before the LF, a bare CR elsewhere is a control character;
     * a response whose Transfer-Encoding is anything but a lone "chunked" (gzip; "chunked, gzip";
       "gzip, chunked"; a second Transfer-Encoding header) is refused (HL_E_HTTP_PROTOCOL): we
       ask for no coding, so one we cannot undo is an error, not a close-delimited body;
     * the same Content-Length twice is accepted; two different ones, a list ("5, 5"), a sign,
       hex, spaces inside, an empty value, or more than 13 digits are HL_E_HTTP_PROTOCOL; a
       well-formed length over max_body is HL_E_MSG_TOO_BIG before any body byte is read;
     * a chunk size whose value passes max_body is HL_E_MSG_TOO_BIG (so a 2^64+1 size never wraps);
       a size line without hex digits, or with anything but ';', SP, HTAB or CR after them, is
       HL_E_HTTP_PROTOCOL; extensions and whatever follows SP/HTAB are ignored;
     * trailers are read, checked like header lines, and dropped (not counted in max_headers);
     * an oversized head (max_head bytes, status line to the blank line's LF included) or one
       header too many is HL_E_HEADER_TOO_BIG (the manual's "HL_E_HTTP_PROTOCOL" for oversized
       heads is out of date);
     * obs-text (0x80-0xFF) and DEL in header values are accepted; other controls but HTAB are not;
     * 1xx responses (100, 103, also 101) are skipped; HEAD, 204 and 304 never have a body.
*/
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include "harness.h"

#define HP_HDRS 32
#define HP_HEAD 8192
#define HP_BODY (1u << 20)

typedef struct hp_lim {
    int max_hdrs;
    size_t max_head, max_body;
    int head; /* the request was HEAD */
} hp_lim;

static const hp_lim hp_default = {HP_HDRS, HP_HEAD, HP_BODY, 0};

/* What one run of the parser made of an input. */
typedef struct hp_res {
    int rc;             /* 1 complete, 0 wants more, or the error */
    int status, close, nhdrs;
    char hdrs[8192];    /* "name: value\n" per header, in order */
    unsigned char *body;/* a copy (malloc), body_len bytes */
    size_t body_len;
    size_t consumed;    /* input bytes that made the response (dropped 1xx included) */
    char retry_after[64];
    char detail[128];
    char bad_view[96];  /* non-empty when a view pointed outside the bytes received */
} hp_res;

static void hp_res_free(hp_res *r)
{
    free(r->body);
    r->body = NULL;
}

/* Feed src[0..n) to a fresh parser: cut > 0 feeds [0,cut) then the rest; step > 0 feeds step
   bytes at a time; neither: one feed. eof: tell the parser the stream ended after the last byte.
   compact: close the gap chunk framing leaves after each "need more", as the client does. */
static void hp_feed_ex(const char *src, size_t n, const hp_lim *lim, size_t cut, size_t step, int eof, int compact,
                       hp_res *out)
{
    char *buf = (char *)malloc(n ? n : 1);
    hl_header *hdrs = (hl_header *)malloc(sizeof(hl_header) * (size_t)(lim->max_hdrs > 0 ? lim->max_hdrs : 1));
    hl__http_parser p;
    size_t off = 0, fill = 0, dropped = 0, before;
    int rc = 0, i;
    memset(out, 0, sizeof *out);
    hl__http_parser_init(&p, hdrs, lim->max_hdrs, lim->max_head, lim->max_body, lim->head);
    while (off < n) {
        size_t to = step ? off + step : (cut && off < cut ? cut : n);
        if (to > n) to = n;
        memcpy(buf + fill, src + off, to - off);
        fill += to - off;
        off = to;
        before = fill;
        rc = hl__http_parse(&p, buf, &fill, 0);
        if (rc == 0 && compact) hl__http_compact(&p, buf, &fill);
        dropped += before - fill;
        if (rc != 0) break;
    }
    if (rc == 0 && eof) {
        before = fill;
        rc = hl__http_parse(&p, buf, &fill, 1);
        dropped += before - fill;
    }
    out->rc = rc;
    snprintf(out->detail, sizeof out->detail, "%s", p.detail);
    if (rc == 1) {
        size_t len = 0;
        out->status = p.status;
        out->close = p.close;
        out->nhdrs = p.nhdrs;
        out->consumed = dropped + p.rd;
        if (!(p.body_start <= p.wr && p.wr <= p.rd && p.rd <= fill))
            snprintf(out->bad_view, sizeof out->bad_view, "body [%lu,%lu) rd %lu fill %lu", (unsigned long)p.body_start,
                     (unsigned long)p.wr, (unsigned long)p.rd, (unsigned long)fill);
        for (i = 0; i < p.nhdrs && !out->bad_view[0]; i++) {
            const char *nm = hdrs[i].name, *v = hdrs[i].value;
            if (nm < buf || nm >= buf + fill || !memchr(nm, 0, (size_t)(buf + fill - nm)) || v < buf ||
                v >= buf + fill || !memchr(v, 0, (size_t)(buf + fill - v))) {
                snprintf(out->bad_view, sizeof out->bad_view, "header %d is not a NUL-terminated view", i);
                break;
            }
            len += (size_t)snprintf(out->hdrs + len, sizeof out->hdrs - len, "%s: %s\n", nm, v);
            if (len >= sizeof out->hdrs) len = sizeof out->hdrs - 1;
        }
        if (p.retry_after && p.retry_after >= buf && p.retry_after < buf + fill)
            snprintf(out->retry_after, sizeof out->retry_after, "%s", p.retry_after);
        if (!out->bad_view[0]) {
            out->body_len = p.wr - p.body_start;
            out->body = (unsigned char *)malloc(out->body_len ? out->body_len : 1);
            memcpy(out->body, buf + p.body_start, out->body_len);
        }
    }
    free(buf);
    free(hdrs);
}

static void hp_feed(const char *src, size_t n, const hp_lim *lim, size_t cut, size_t step, int eof, hp_res *out)
{
    hp_feed_ex(src, n, lim, cut, step, eof, 0, out);
}

/* Do two runs agree? (errors: the same code; details may differ) */
static int hp_same(const hp_res *a, const hp_res *b)
{
    if (a->rc != b->rc || a->bad_view[0] || b->bad_view[0]) return 0;
    if (a->rc != 1) return 1;
    return a->status == b->status && a->close == b->close && a->nhdrs == b->nhdrs && strcmp(a->hdrs, b->hdrs) == 0 &&
           a->body_len == b->body_len && memcmp(a->body, b->body, a->body_len) == 0 && a->consumed == b->consumed &&
           strcmp(a->retry_after, b->retry_after) == 0;
}

static void hp_fail_split(const char *name, const char *how, size_t at, const hp_res *one, const hp_res *other)
{
    char m[400];
    snprintf(m, sizeof m, "%.60s: %.30s %lu differs from one feed (rc %d '%.60s' vs rc %d '%.60s'%s%.90s)", name, how,
             (unsigned long)at, other->rc, other->detail, one->rc, one->detail, other->bad_view[0] ? "; " : "",
             other->bad_view);
    hl_test_fail_at(__FILE__, __LINE__, m);
}

/* One feed, every two-piece cut and byte by byte (with and without compaction): all the same. The one-feed result is left in
   *one (free it). Returns 1 when all agreed. */
static int hp_all_splits(const char *name, const char *src, size_t n, const hp_lim *lim, int eof, hp_res *one)
{
    hp_res r;
    size_t cut;
    int compact;
    hp_feed(src, n, lim, 0, 0, eof, one);
    if (one->bad_view[0]) {
        char m[200];
        snprintf(m, sizeof m, "%.60s: %.96s", name, one->bad_view);
        hl_test_fail_at(__FILE__, __LINE__, m);
        return 0;
    }
    for (cut = 1; cut < n; cut++) {
        hp_feed(src, n, lim, cut, 0, eof, &r);
        if (!hp_same(one, &r)) {
            hp_fail_split(name, "cut at", cut, one, &r);
            hp_res_free(&r);
            return 0;
        }
        hp_res_free(&r);
    }
    for (compact = 0; compact < 2; compact++) {
        hp_feed_ex(src, n, lim, 0, 1, eof, compact, &r);
        if (!hp_same(one, &r)) {
            hp_fail_split(name, compact ? "bytewise compacting, stop" : "bytewise, stop", 0, one, &r);
            hp_res_free(&r);
            return 0;
        }
        hp_res_free(&r);
    }
    return 1;
}

/* ---- the response forms ---- */

typedef struct hp_form {
    const char *name;
    const char *raw;
    size_t raw_len;    /* 0: strlen(raw) */
    int head, eof;
    int status, close;
    const char *hdrs;  /* expected "name: value\n" lines */
    const char *body;
    size_t extra;      /* bytes after the response that must be left alone */
} hp_form;

static void hp_check_form(const hp_form *f, const hp_lim *lim)
{
    hp_res one;
    size_t n = f->raw_len ? f->raw_len : strlen(f->raw);
    char m[300];
    if (!hp_all_splits(f->name, f->raw, n, lim, f->eof, &one)) {
        hp_res_free(&one);
        return;
    }
    if (one.rc != 1 || one.status != f->status || one.close != f->close || strcmp(one.hdrs, f->hdrs) != 0 ||
        one.body_len != strlen(f->body) || memcmp(one.body, f->body, one.body_len) != 0 ||
        one.consumed != n - f->extra) {
        snprintf(m, sizeof m, "%.60s: rc %d (%.60s) status %d close %d consumed %lu, headers [%.80s] body %lu bytes", f->name,
                 one.rc, one.detail, one.status, one.close, (unsigned long)one.consumed, one.hdrs,
                 (unsigned long)one.body_len);
        hl_test_fail_at(__FILE__, __LINE__, m);
    }
    hp_res_free(&one);
}

static void test_content_length(void)
{
    static const hp_form f[] = {
        {"cl", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello, world", 0, 0, 0, 200, 0,
         "Content-Type: text/plain\nContent-Length: 12\n", "hello, world", 0},
        {"cl zero", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, 0, 200, 0, "Content-Length: 0\n", "", 0},
        {"cl leading zeros, same length twice", "HTTP/1.1 201 Created\r\ncontent-length: 003\r\nCONTENT-LENGTH: 3\r\n\r\nabc",
         0, 0, 0, 201, 0, "content-length: 003\nCONTENT-LENGTH: 3\n", "abc", 0},
        {"cl then the next response", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1", 0, 0, 0, 200, 0,
         "Content-Length: 2\n", "ok", 8},
        {"cl with a 503", "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 4\r\n\r\nbusy", 0, 0, 0,
         503, 0, "Retry-After: 7\nContent-Length: 4\n", "busy", 0},
        {"connection close", "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nok", 0, 0, 0,
         200, 1, "Connection: keep-alive, Close\nContent-Length: 2\n", "ok", 0},
    };
    static const char binary[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n\r\n\0\r\n\n";
    hp_res one;
    size_t i;
    for (i = 0; i < sizeof f / sizeof f[0]; i++) {
        hp_check_form(&f[i], &hp_default);
    }
    /* a body holding CR, LF and NUL */
    if (hp_all_splits("binary body", binary, sizeof binary - 1, &hp_default, 0, &one)) {
        CHECK_EQ(one.rc, 1);
        CHECK_EQ(one.body_len, 6);
        CHECK(one.body && memcmp(one.body, "\r\n\0\r\n\n", 6) == 0);
    }
    hp_res_free(&one);
}

static void test_chunked(void)
{
    static const hp_form f[] = {
        {"chunked with extensions and trailers",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum, X-Trailer-Note\r\n\r\n"
         "5;i=0;q=\"x;y \\\"z\\\"\";flag\r\nhello\r\n"
         "7;i=1\r\n, world\r\n"
         "0;i=2;q=\"x;y \\\"z\\\"\";flag\r\nX-Checksum: 1234\r\nX-Trailer-Note: done\r\n\r\n",
         0, 0, 0, 200, 0, "Transfer-Encoding: chunked\nTrailer: X-Checksum, X-Trailer-Note\n", "hello, world", 0},
        {"chunk sizes: upper case, leading zeros, BWS",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n000A\r\n0123456789\r\na \r\nABCDEFGHIJ\r\n1\t;x=1\r\nK\r\n00\r\n\r\n",
         0, 0, 0, 200, 0, "Transfer-Encoding: Chunked\n", "0123456789ABCDEFGHIJK", 0},
        {"chunked, empty body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 0, 0, 200, 0,
         "Transfer-Encoding: chunked\n", "", 0},
        {"chunked, chunk data holding CRLF and digits",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\r\n0\r\r\n3\r\n\n\n\n\r\n0\r\n\r\nNEXT", 0, 0, 0, 200, 0,
         "Transfer-Encoding: chunked\n", "\r\n0\r\n\n\n", 4},
        {"chunked then the next response",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", 0, 0, 0, 200, 0,
         "Transfer-Encoding: chunked\n", "ok", 17},
    };
    size_t i;
    for (i = 0; i < sizeof f / sizeof f[0]; i++) hp_check_form(&f[i], &hp_default);
}

static void test_close_delimited(void)
{
    static const hp_form f[] = {
        {"close-delimited", "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\nbody until the end", 0, 0, 1,
         200, 1, "Content-Type: application/octet-stream\n", "body until the end", 0},
        {"close-delimited, empty", "HTTP/1.1 200 OK\r\n\r\n", 0, 0, 1, 200, 1, "", "", 0},
    };
    hp_res r;
    size_t i;
    for (i = 0; i < sizeof f / sizeof f[0]; i++) hp_check_form(&f[i], &hp_default);
    /* without the end of the stream it is never complete */
    hp_feed(f[0].raw, strlen(f[0].raw), &hp_default, 0, 0, 0, &r);
    CHECK_EQ(r.rc, 0);
    hp_res_free(&r);
}

static void test_no_body_responses(void)
{
    hp_lim head = hp_default;
    static const hp_form h[] = {
        {"HEAD with Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n", 0, 1, 0, 200, 0,
         "Content-Length: 1024\n", "", 0},
        {"HEAD with chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 1, 0, 200, 0,
         "Transfer-Encoding: chunked\n", "", 0},
        {"HEAD without a length, then more bytes", "HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nHTTP/1.1 200 OK\r\n", 0, 1, 0, 200, 0,
         "X-A: 1\n", "", 17},
    };
    static const hp_form f[] = {
        {"204 with Content-Length", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, 0, 0, 204, 0,
         "Content-Length: 10\n", "", 0},
        {"204 then the next response", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\n", 0, 0, 0,
         204, 0, "Content-Length: 10\n", "", 17},
        {"304 with Content-Length", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 10\r\n\r\n", 0, 0, 0, 304,
         0, "ETag: \"x\"\nContent-Length: 10\n", "", 0},
        {"304 with chunked", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0, 0, 304, 0,
         "Transfer-Encoding: chunked\n", "", 0},
    };
    size_t i;
    head.head = 1;
    for (i = 0; i < sizeof h / sizeof h[0]; i++) hp_check_form(&h[i], &head);
    for (i = 0; i < sizeof f / sizeof f[0]; i++) hp_check_form(&f[i], &hp_default);
}

static void test_interim_responses(void)
{
    static const hp_form f[] = {
        {"100 and 103 before the 200",
         "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"
         "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
         0, 0, 0, 200, 0, "Content-Length: 5\n", "final", 0},
        {"100 before a chunked 200",
         "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         0, 0, 0, 200, 0, "Transfer-Encoding: chunked\n", "abc", 0},
        {"103 before a 204", "HTTP/1.1 103 Early Hints\nLink: </a>\n\nHTTP/1.1 204 No Content\n\n", 0, 0, 0, 204, 0, "",
         "", 0},
    };
    size_t i;
    for (i = 0; i < sizeof f / sizeof f[0]; i++) hp_check_form(&f[i], &hp_default);
}

static void test_http10(void)
{
    static const hp_form f[] = {
        {"1.0 with Content-Length", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 0, 0, 200, 1,
         "Content-Length: 2\n", "ok", 0},
        {"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", 0, 0, 0, 200, 0,
         "Connection: Keep-Alive\nContent-Length: 2\n", "ok", 0},
        {"1.0 close-delimited", "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil eof", 0, 0, 1, 200, 1, "Server: old\n",
         "until eof", 0},
    };
    size_t i;
    for (i = 0; i < sizeof f / sizeof f[0]; i++) hp_check_form(&f[i], &hp_default);
}

static void test_line_ends_and_values(void)
{
    static const hp_form f[] = {
        {"bare LF everywhere", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0, 0, 0, 200, 0, "Content-Length: 2\n", "ok",
         0},
        {"bare LF, chunked", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nok\n0\nX-T: 1\n\n", 0, 0, 0, 200, 0,
         "Transfer-Encoding: chunked\n", "ok", 0},
        {"mixed line ends", "HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\nok", 0, 0, 0, 200, 0,
         "X-A: 1\nContent-Length: 2\n", "ok", 0},
        {"value whitespace trimmed, inner kept",
         "HTTP/1.1 200 OK\r\nX-Spaces: \t padded  value \t\r\nX-Empty:\r\nX-Blank:   \r\nX-Tab:a\tb\r\nContent-Length: 0\r\n\r\n",
         0, 0, 0, 200, 0, "X-Spaces: padded  value\nX-Empty: \nX-Blank: \nX-Tab: a\tb\nContent-Length: 0\n", "", 0},
        {"obs-text and DEL in a value", "HTTP/1.1 200 OK\r\nX-Text: caf\xc3\xa9 \x7f\xff\r\nContent-Length: 0\r\n\r\n", 0, 0,
         0, 200, 0, "X-Text: caf\xc3\xa9 \x7f\xff\nContent-Length: 0\n", "", 0},
        {"token characters in names, colon in the value",
         "HTTP/1.1 200 OK\r\nX-!#$%&'*+-.^_`|~09az: a:b: c\r\nContent-Length: 0\r\n\r\n", 0, 0, 0, 200, 0,
         "X-!#$%&'*+-.^_`|~09az: a:b: c\nContent-Length: 0\n", "", 0},
        {"empty reason", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", 0, 0, 0, 200, 0, "Content-Length: 0\n", "", 0},
        {"no reason", "HTTP/1.1 404\r\nContent-Length: 1\r\n\r\nx", 0, 0, 0, 404, 0, "Content-Length: 1\n", "x", 0},
        {"long reason, status 999", "HTTP/1.1 999 A Reason, With Spaces: And Colons\r\nContent-Length: 0\r\n\r\n", 0, 0, 0,
         999, 0, "Content-Length: 0\n", "", 0},
        {"status line only", "HTTP/1.1 200 OK\r\n\r\n", 0, 0, 1, 200, 1, "", "", 0},
    };
    size_t i;
    for (i = 0; i < sizeof f / sizeof f[0]; i++) hp_check_form(&f[i], &hp_default);
}

static void test_retry_after_and_again(void)
{
    static const char raw[] = "HTTP/1.1 429 Too Many Requests\r\nRetry-After:  120 \r\nContent-Length: 4\r\n\r\nslow";
    char buf[sizeof raw];
    hl_header hdrs[4];
    hl__http_parser p;
    size_t fill = sizeof raw - 1;
    hp_res r;
    hp_feed(raw, sizeof raw - 1, &hp_default, 0, 0, 0, &r);
    CHECK_EQ(r.rc, 1);
    CHECK_EQ(r.status, 429);
    CHECK(strcmp(r.retry_after, "120") == 0);
    hp_res_free(&r);
    /* once complete it stays complete, and nothing moves */
    memcpy(buf, raw, sizeof raw);
    hl__http_parser_init(&p, hdrs, 4, 1024, 1024, 0);
    CHECK_EQ(hl__http_parse(&p, buf, &fill, 0), 1);
    CHECK_EQ(hl__http_parse(&p, buf, &fill, 0), 1);
    CHECK_EQ(hl__http_parse(&p, buf, &fill, 1), 1);
    CHECK_EQ(fill, sizeof raw - 1);
    CHECK_EQ(p.rd, sizeof raw - 1);
    CHECK(memcmp(buf + p.body_start, "slow", 4) == 0);
    CHECK(strcmp(hdrs[0].name, "Retry-After") == 0);
    CHECK(strcmp(hdrs[0].value, "120") == 0);
}

/* ---- limits at their edges ---- */

/* A head of exactly len bytes: status line, one X-Pad header padded to fit, the blank line. */
static size_t hp_head_of(char *out, size_t len, const char *tail)
{
    static const char start[] = "HTTP/1.1 200 OK\r\nX-Pad: ";
    static const char end[] = "\r\nContent-Length: 0\r\n\r\n";
    size_t pad = len - (sizeof start - 1) - (sizeof end - 1);
    memcpy(out, start, sizeof start - 1);
    memset(out + sizeof start - 1, 'p', pad);
    memcpy(out + sizeof start - 1 + pad, end, sizeof end - 1);
    strcpy(out + len, tail);
    return len + strlen(tail);
}

static void test_head_limit(void)
{
    hp_lim lim = hp_default;
    char raw[400];
    hp_res r;
    size_t n;
    lim.max_head = 256;
    n = hp_head_of(raw, 256, "");
    if (hp_all_splits("head of exactly max_head", raw, n, &lim, 0, &r)) CHECK_EQ(r.rc, 1);
    hp_res_free(&r);
    n = hp_head_of(raw, 257, "");
    if (hp_all_splits("head of max_head + 1", raw, n, &lim, 0, &r)) {
        CHECK_EQ(r.rc, HL_E_HEADER_TOO_BIG);
        CHECK(strstr(r.detail, "max_header_size") != NULL);
    }
    hp_res_free(&r);
    /* a head that never ends: refused once max_head bytes are there, not waited for */
    memset(raw, 'h', 300);
    memcpy(raw, "HTTP/1.1 200 OK\r\nX-Long: ", 25);
    if (hp_all_splits("unterminated head", raw, 256, &lim, 0, &r)) CHECK_EQ(r.rc, HL_E_HEADER_TOO_BIG);
    hp_res_free(&r);
    hp_feed(raw, 255, &lim, 0, 0, 0, &r);
    CHECK_EQ(r.rc, 0);
    hp_res_free(&r);
    /* interim responses count on their own: each may be up to max_head */
    n = (size_t)snprintf(raw, sizeof raw, "HTTP/1.1 100 Continue\r\n\r\n");
    n += hp_head_of(raw + n, 256, "");
    if (hp_all_splits("interim then a head of max_head", raw, n, &lim, 0, &r)) CHECK_EQ(r.rc, 1);
    hp_res_free(&r);
}

static void test_header_count_limit(void)
{
    hp_lim lim = hp_default;
    static const char four[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n";
    static const char five[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nContent-Length: 0\r\n\r\n";
    static const char trailers[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "1\r\nx\r\n0\r\nT1: 1\r\nT2: 2\r\nT3: 3\r\n\r\n";
    hp_res r;
    lim.max_hdrs = 4;
    if (hp_all_splits("max_headers headers", four, sizeof four - 1, &lim, 0, &r)) CHECK_EQ(r.nhdrs, 4);
    hp_res_free(&r);
    if (hp_all_splits("one header too many", five, sizeof five - 1, &lim, 0, &r)) {
        CHECK_EQ(r.rc, HL_E_HEADER_TOO_BIG);
        CHECK(strstr(r.detail, "http_max_headers") != NULL);
    }
    hp_res_free(&r);
    if (hp_all_splits("trailers are not counted", trailers, sizeof trailers - 1, &lim, 0, &r)) {
        CHECK_EQ(r.rc, 1);
        CHECK_EQ(r.nhdrs, 4);
        CHECK_EQ(r.body_len, 1);
    }
    hp_res_free(&r);
}

static void test_body_limit(void)
{
    static const struct {
        const char *name, *raw;
        int eof, rc;
    } v[] = {
        {"cl = max_body", "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n0123456789abcdef", 0, 1},
        {"cl = max_body + 1", "HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n0123456789abcdefg", 0, HL_E_MSG_TOO_BIG},
        {"cl far over, before any body byte", "HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n\r\n", 0, HL_E_MSG_TOO_BIG},
        {"chunks = max_body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n",
         0, 1},
        {"chunks = max_body + 1",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n9\r\n89abcdefg\r\n0\r\n\r\n", 0,
         HL_E_MSG_TOO_BIG},
        {"one chunk over", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n0123456789abcdefg\r\n0\r\n\r\n", 0,
         HL_E_MSG_TOO_BIG},
        {"chunk size 2^64+1", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\na\r\n0\r\n\r\n", 0,
         HL_E_MSG_TOO_BIG},
        {"chunk size 2^63", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8000000000000000\r\na\r\n0\r\n\r\n", 0,
         HL_E_MSG_TOO_BIG},
        {"chunk size of 40 f", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffffffffffffffffffff\r\n",
         0, HL_E_MSG_TOO_BIG},
        {"eof body = max_body", "HTTP/1.1 200 OK\r\n\r\n0123456789abcdef", 1, 1},
        {"eof body = max_body + 1, before the end", "HTTP/1.1 200 OK\r\n\r\n0123456789abcdefg", 0, HL_E_MSG_TOO_BIG},
    };
    hp_lim lim = hp_default;
    size_t i;
    lim.max_body = 16;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        hp_res r;
        if (hp_all_splits(v[i].name, v[i].raw, strlen(v[i].raw), &lim, v[i].eof, &r)) {
            if (r.rc != v[i].rc) {
                char m[200];
                snprintf(m, sizeof m, "%.60s: rc %d (%.80s), want %d", v[i].name, r.rc, r.detail, v[i].rc);
                hl_test_fail_at(__FILE__, __LINE__, m);
            }
            if (r.rc == 1) CHECK(r.body_len == 16 && memcmp(r.body, "0123456789abcdef", 16) == 0);
            if (r.rc < 0) CHECK(strstr(r.detail, "max_message_size") != NULL);
        }
        hp_res_free(&r);
    }
}

/* ---- rejections ---- */

typedef struct hp_bad {
    const char *name;
    const char *raw;
    int rc;
    const char *detail_has; /* a word the detail must contain, or NULL */
} hp_bad;

static void hp_check_bad(const hp_bad *v, size_t n, int eof, const hp_lim *lim)
{
    size_t i;
    for (i = 0; i < n; i++) {
        hp_res r;
        char m[300];
        if (hp_all_splits(v[i].name, v[i].raw, strlen(v[i].raw), lim, eof, &r)) {
            if (r.rc != v[i].rc || !r.detail[0] || (v[i].detail_has && !strstr(r.detail, v[i].detail_has))) {
                snprintf(m, sizeof m, "%.60s: rc %d detail '%.80s', want %d with '%.40s'", v[i].name, r.rc, r.detail, v[i].rc,
                         v[i].detail_has ? v[i].detail_has : "");
                hl_test_fail_at(__FILE__, __LINE__, m);
            }
        }
        hp_res_free(&r);
    }
}

static void test_reject_content_length(void)
{
    static const hp_bad v[] = {
        {"two different Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
         HL_E_HTTP_PROTOCOL, "two different"},
        {"Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", HL_E_HTTP_PROTOCOL, "Content-Length"},
        {"Content-Length then chunked",
         "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "chunked"},
        {"chunked then Content-Length",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "chunked"},
        {"negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok", HL_E_HTTP_PROTOCOL, "Content-Length"},
        {"Content-Length with a sign", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "Content-Length"},
        {"hex Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "Content-Length"},
        {"Content-Length with a space inside", "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\nok", HL_E_HTTP_PROTOCOL,
         "Content-Length"},
        {"empty Content-Length", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nok", HL_E_HTTP_PROTOCOL, "Content-Length"},
        {"Content-Length 2^64+1", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551617\r\n\r\nok", HL_E_HTTP_PROTOCOL,
         "Content-Length"},
        {"Content-Length of 30 digits", "HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999999999999999\r\n\r\nok",
         HL_E_HTTP_PROTOCOL, "Content-Length"},
        {"Content-Length letters", "HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\nok", HL_E_HTTP_PROTOCOL, "Content-Length"},
    };
    hp_check_bad(v, sizeof v / sizeof v[0], 0, &hp_default);
}

static void test_reject_chunks(void)
{
    static const hp_bad v[] = {
        {"non-hex chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "chunk size"},
        {"negative chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n", HL_E_HTTP_PROTOCOL,
         "chunk size"},
        {"0x chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", HL_E_HTTP_PROTOCOL,
         "chunk size"},
        {"extension without a size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;ext\r\nx\r\n0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "chunk size"},
        {"empty size line", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", HL_E_HTTP_PROTOCOL, "chunk size"},
        {"NUL after the size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\x01\r\nhello\r\n0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "chunk size"},
        {"chunk data not followed by CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "CRLF"},
        {"chunk data followed by CR x", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\rx\n0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "CRLF"},
        {"chunk longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhello\r\n0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "CRLF"},
        {"obs-fold in a trailer",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: a\r\n b\r\n\r\n", HL_E_HTTP_PROTOCOL,
         "folding"},
        {"space before colon in a trailer",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T : a\r\n\r\n", HL_E_HTTP_PROTOCOL, NULL},
    };
    hp_check_bad(v, sizeof v / sizeof v[0], 0, &hp_default);
}

static void test_reject_header_syntax(void)
{
    static const hp_bad v[] = {
        {"obsolete line folding", "HTTP/1.1 200 OK\r\nX-Folded: first\r\n  second\r\nContent-Length: 2\r\n\r\nok",
         HL_E_HTTP_PROTOCOL, "folding"},
        {"folding with a tab", "HTTP/1.1 200 OK\r\nX-Folded: first\r\n\tsecond\r\nContent-Length: 2\r\n\r\nok",
         HL_E_HTTP_PROTOCOL, "folding"},
        {"folded first header line", "HTTP/1.1 200 OK\r\n X-A: 1\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL,
         "folding"},
        {"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "colon"},
        {"tab before colon", "HTTP/1.1 200 OK\r\nX-A\t: 1\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, NULL},
        {"no colon", "HTTP/1.1 200 OK\r\nX-Broken\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, NULL},
        {"empty name", "HTTP/1.1 200 OK\r\n: value\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, NULL},
        {"separator in the name", "HTTP/1.1 200 OK\r\nX(A): 1\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, NULL},
        {"UTF-8 in the name", "HTTP/1.1 200 OK\r\nX-\xc3\xa9: 1\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, NULL},
        {"control character in a value", "HTTP/1.1 200 OK\r\nX-Ctl: a\x01" "b\r\nContent-Length: 2\r\n\r\nok",
         HL_E_HTTP_PROTOCOL, "control"},
        {"escape in a value", "HTTP/1.1 200 OK\r\nX-Esc: \x1b[31mred\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL,
         "control"},
        {"bare CR inside a value", "HTTP/1.1 200 OK\r\nX-CR: a\rb\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL,
         "control"},
        {"CR CR LF", "HTTP/1.1 200 OK\r\nX-CR: a\r\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "control"},
        {"unsupported Transfer-Encoding gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok", HL_E_HTTP_PROTOCOL,
         "Transfer-Encoding"},
        {"chunked, gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nok\r\n0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "Transfer-Encoding"},
        {"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "Transfer-Encoding"},
        {"identity", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL,
         "Transfer-Encoding"},
        {"chunked twice",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
         HL_E_HTTP_PROTOCOL, "Transfer-Encoding"},
    };
    hp_check_bad(v, sizeof v / sizeof v[0], 0, &hp_default);
    {
        /* a NUL in a value and in a name (strlen cannot build these) */
        static const char nul_value[] = "HTTP/1.1 200 OK\r\nX-Nul: a\0b\r\nContent-Length: 2\r\n\r\nok";
        static const char nul_name[] = "HTTP/1.1 200 OK\r\nX-N\0l: ab\r\nContent-Length: 2\r\n\r\nok";
        hp_res r;
        if (hp_all_splits("NUL in a value", nul_value, sizeof nul_value - 1, &hp_default, 0, &r))
            CHECK_EQ(r.rc, HL_E_HTTP_PROTOCOL);
        hp_res_free(&r);
        if (hp_all_splits("NUL in a name", nul_name, sizeof nul_name - 1, &hp_default, 0, &r))
            CHECK_EQ(r.rc, HL_E_HTTP_PROTOCOL);
        hp_res_free(&r);
    }
}

static void test_reject_status_line(void)
{
    static const hp_bad v[] = {
        {"letters in the status", "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "status line"},
        {"garbage", "hello world\r\n\r\n", HL_E_HTTP_PROTOCOL, "status line"},
        {"HTTP/2.0", "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "status line"},
        {"HTTP/1.2", "HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "status line"},
        {"lower-case http", "http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "status line"},
        {"4-digit status", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "status line"},
        {"2-digit status", "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "status line"},
        {"status 099", "HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "status line"},
        {"two spaces", "HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "status line"},
        {"no space after the status", "HTTP/1.1 200OK\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "status line"},
        {"blank line first", "\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, "status line"},
        {"short", "HTTP/1.1\r\n\r\n", HL_E_HTTP_PROTOCOL, "status line"},
    };
    hp_check_bad(v, sizeof v / sizeof v[0], 0, &hp_default);
}

/* A response starting with a lone LF is malformed like one starting with CRLF. */
static void test_reject_leading_lf(void)
{
    static const hp_bad v[] = {
        {"lone LF before the status line", "\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", HL_E_HTTP_PROTOCOL, NULL},
        {"lone LF after an interim response", "HTTP/1.1 100 Continue\r\n\r\n\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
         HL_E_HTTP_PROTOCOL, NULL},
    };
    hp_check_bad(v, sizeof v / sizeof v[0], 0, &hp_default);
}

static void test_eof_in_the_middle(void)
{
    static const hp_bad v[] = {
        {"eof before anything", "", HL_E_EOF, NULL},
        {"eof in the status line", "HTTP/1.1 20", HL_E_EOF, NULL},
        {"eof in the head", "HTTP/1.1 200 OK\r\nContent-Le", HL_E_EOF, NULL},
        {"eof before the blank line", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", HL_E_EOF, NULL},
        {"eof after an interim response", "HTTP/1.1 100 Continue\r\n\r\n", HL_E_EOF, NULL},
        {"eof in a Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshor", HL_E_EOF, "body"},
        {"eof before a Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", HL_E_EOF, "body"},
        {"eof before the first chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HL_E_EOF, NULL},
        {"eof in a chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1", HL_E_EOF, NULL},
        {"eof in chunk data", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", HL_E_EOF, NULL},
        {"eof before the chunk's CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello", HL_E_EOF, NULL},
        {"eof in the chunk's CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r", HL_E_EOF, NULL},
        {"eof after a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", HL_E_EOF, NULL},
        {"eof after the last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", HL_E_EOF, NULL},
        {"eof in the trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n", HL_E_EOF, NULL},
    };
    hp_lim head = hp_default;
    hp_check_bad(v, sizeof v / sizeof v[0], 1, &hp_default);
    head.head = 1;
    hp_check_bad(v, 5, 1, &head); /* HEAD: the head still has to be whole */
}

/* Size lines and trailer lines are bounded; the bound must not depend on how the bytes came. */
static void test_chunk_line_limit_split_stable(void)
{
    char raw[3000];
    hp_res r;
    size_t n;
    n = (size_t)snprintf(raw, sizeof raw, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;");
    memset(raw + n, 'e', 1100);
    n += 1100;
    n += (size_t)snprintf(raw + n, sizeof raw - n, "\r\nhello\r\n0\r\n\r\n");
    if (hp_all_splits("chunk size line of 1100 bytes", raw, n, &hp_default, 0, &r)) {
        CHECK_EQ(r.rc, HL_E_HTTP_PROTOCOL);
        CHECK(strstr(r.detail, "too long") != NULL);
    }
    hp_res_free(&r);
}

static void test_trailer_limit_split_stable(void)
{
    char raw[1000];
    hp_res r;
    size_t n;
    hp_lim lim = hp_default;
    lim.max_head = 256;
    n = (size_t)snprintf(raw, sizeof raw, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: ");
    memset(raw + n, 't', 400);
    n += 400;
    n += (size_t)snprintf(raw + n, sizeof raw - n, "\r\n\r\n");
    if (hp_all_splits("trailer line over max_head", raw, n, &lim, 0, &r)) CHECK_EQ(r.rc, HL_E_HEADER_TOO_BIG);
    hp_res_free(&r);
}

int main(void)
{
    HL_TEST(test_content_length);
    HL_TEST(test_chunked);
    HL_TEST(test_close_delimited);
    HL_TEST(test_no_body_responses);
    HL_TEST(test_interim_responses);
    HL_TEST(test_http10);
    HL_TEST(test_line_ends_and_values);
    HL_TEST(test_retry_after_and_again);
    HL_TEST(test_head_limit);
    HL_TEST(test_header_count_limit);
    HL_TEST(test_body_limit);
    HL_TEST(test_reject_content_length);
    HL_TEST(test_reject_chunks);
    HL_TEST(test_reject_header_syntax);
    HL_TEST(test_reject_status_line);
    HL_TEST(test_reject_leading_lf);
    HL_TEST(test_eof_in_the_middle);
    HL_TEST(test_chunk_line_limit_split_stable);
    HL_TEST(test_trailer_limit_split_stable);
    return hl_test_summary();
}
