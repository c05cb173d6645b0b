/* Fuzz target: the HTTP/1.1 response parser (hl__http_parser_init / hl__http_parse) on arbitrary
   bytes fed in arbitrary pieces.

   Input: byte 0 chooses the limits and mode (bit 0 the request was HEAD, bit 1 the stream ends
   after the last byte, bits 2-3 max headers 32/8/2/0, bits 4-5 max head 8192/256/64/1024,
   bits 6-7 max body 1 MiB/16/0/1000); byte 1's low 4 bits say how many split sizes follow
   (each byte a piece size, 0 meaning 1, used in turn until the input is fed), and its bit 4
   whether the pieces run closes the gap chunk framing leaves (hl__http_compact after each
   "need more", as the client does); the rest is the server's bytes. They are fed into a heap
   buffer of exactly their size (ASan sees any read past what was received) three ways: whole,
   in the pieces from the input, and byte by byte (compacting).

   Checked for every run: the result is 1, 0 (only without the end of the stream) or one of the
   parser's errors with a detail (HL_E_EOF only at the end of the stream); a complete response
   is not 1xx, has at most max headers, NUL-terminated header views inside the bytes received,
   a body [body_start, wr) inside them and not over max body, none at all for HEAD/204/304, and
   ends within the input. Across the runs: the same result, and for a complete response the
   same status, close flag, headers, body and end position. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ASSERT(c)                                                                              \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "fuzz_http: %s:%d: %s\n", __FILE__, __LINE__, #c);                    \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

#define FZ_BYTEWISE_MAX 4096 /* byte-by-byte runs only for inputs up to this size */

typedef struct fz_lim {
    int head, eof, max_hdrs;
    size_t max_head, max_body;
} fz_lim;

typedef struct fz_run {
    int rc, status, close, nhdrs;
    size_t consumed;
    char *summary;  /* malloc: headers then body, comparable with memcmp */
    size_t summary_len;
    char detail[128];
} fz_run;

/* Feed src[0..n) in pieces (sizes cycled from pieces[0..npieces), none: whole) and check the
   invariants of one run. */
static void fz_feed(const unsigned char *src, size_t n, const fz_lim *lim, const unsigned char *pieces, size_t npieces,
                    int bytewise, int compact, fz_run *out)
{
    char *buf = (char *)malloc(n ? n : 1);
    hl_header *hdrs = (hl_header *)malloc(sizeof(hl_header) * (size_t)(lim->max_hdrs ? lim->max_hdrs : 1));
    hl__http_parser p;
    size_t off = 0, fill = 0, dropped = 0, before, k = 0;
    int rc = 0, i;
    FZ_ASSERT(buf && hdrs);
    memset(out, 0, sizeof *out);
    hl__http_parser_init(&p, hdrs, lim->max_hdrs, lim->max_head, lim->max_body, lim->head);
    while (off < n) {
        size_t step = n, to;
        if (bytewise) {
            step = 1;
        } else if (npieces) {
            step = pieces[k++ % npieces];
            if (!step) step = 1;
        }
        to = off + step > n ? n : off + step;
        memcpy(buf + fill, src + off, to - off);
        fill += to - off;
        off = to;
        before = fill;
        rc = hl__http_parse(&p, buf, &fill, 0);
        FZ_ASSERT(fill <= before);
        if (rc == 0 && compact) {
            hl__http_compact(&p, buf, &fill);
            FZ_ASSERT(p.body_start <= p.wr && p.wr <= p.rd && p.rd <= fill);
        }
        dropped += before - fill;
        if (rc != 0) break;
    }
    if (rc == 0 && lim->eof) {
        before = fill;
        rc = hl__http_parse(&p, buf, &fill, 1);
        FZ_ASSERT(fill <= before);
        dropped += before - fill;
        FZ_ASSERT(rc != 0);
    }
    out->rc = rc;
    memcpy(out->detail, p.detail, sizeof out->detail);
    FZ_ASSERT(memchr(p.detail, '\0', sizeof p.detail) != NULL);
    FZ_ASSERT(rc == 1 || rc == 0 || rc == HL_E_HTTP_PROTOCOL || rc == HL_E_HEADER_TOO_BIG || rc == HL_E_MSG_TOO_BIG ||
              rc == HL_E_EOF);
    if (rc < 0) FZ_ASSERT(p.detail[0] != '\0');
    if (rc == HL_E_EOF) FZ_ASSERT(lim->eof);
    if (rc == 1) {
        size_t body_len, len = 0, cap;
        FZ_ASSERT(p.status >= 200 && p.status <= 999);
        FZ_ASSERT(p.nhdrs >= 0 && p.nhdrs <= lim->max_hdrs);
        FZ_ASSERT(p.body_start <= p.wr && p.wr <= p.rd && p.rd <= fill);
        body_len = p.wr - p.body_start;
        FZ_ASSERT(body_len <= lim->max_body);
        if (lim->head || p.status == 204 || p.status == 304) FZ_ASSERT(body_len == 0);
        out->status = p.status;
        out->close = p.close;
        out->nhdrs = p.nhdrs;
        out->consumed = dropped + p.rd;
        FZ_ASSERT(out->consumed <= n);
        cap = body_len + 1;
        for (i = 0; i < p.nhdrs; i++) {
            const char *nm = hdrs[i].name, *v = hdrs[i].value;
            FZ_ASSERT(nm >= buf && nm < buf + fill && memchr(nm, '\0', (size_t)(buf + fill - nm)) != NULL);
            FZ_ASSERT(v >= buf && v < buf + fill && memchr(v, '\0', (size_t)(buf + fill - v)) != NULL);
            FZ_ASSERT(nm[0] != '\0');
            cap += strlen(nm) + strlen(v) + 2;
        }
        if (p.retry_after) FZ_ASSERT(p.retry_after >= buf && p.retry_after < buf + fill);
        out->summary = (char *)malloc(cap);
        FZ_ASSERT(out->summary);
        for (i = 0; i < p.nhdrs; i++) {
            size_t a = strlen(hdrs[i].name) + 1, b = strlen(hdrs[i].value) + 1;
            memcpy(out->summary + len, hdrs[i].name, a);
            memcpy(out->summary + len + a, hdrs[i].value, b);
            len += a + b;
        }
        memcpy(out->summary + len, buf + p.body_start, body_len);
        out->summary_len = len + body_len;
    }
    free(buf);
    free(hdrs);
}

static void fz_same(const fz_run *a, const fz_run *b)
{
    if (a->rc != b->rc) {
        fprintf(stderr, "fuzz_http: split-dependent result: %d '%s' vs %d '%s'\n", a->rc, a->detail, b->rc, b->detail);
        abort();
    }
    if (a->rc != 1) return;
    FZ_ASSERT(a->status == b->status);
    FZ_ASSERT(a->close == b->close);
    FZ_ASSERT(a->nhdrs == b->nhdrs);
    FZ_ASSERT(a->consumed == b->consumed);
    FZ_ASSERT(a->summary_len == b->summary_len);
    FZ_ASSERT(memcmp(a->summary, b->summary, a->summary_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int hdrs_choice[4] = {32, 8, 2, 0};
    static const size_t head_choice[4] = {8192, 256, 64, 1024};
    static const size_t body_choice[4] = {1u << 20, 16, 0, 1000};
    fz_lim lim;
    size_t npieces, skip;
    unsigned char *payload, *pieces;
    fz_run whole, split, bytes;
    if (size < 2) return 0;
    lim.head = data[0] & 1;
    lim.eof = (data[0] >> 1) & 1;
    lim.max_hdrs = hdrs_choice[(data[0] >> 2) & 3];
    lim.max_head = head_choice[(data[0] >> 4) & 3];
    lim.max_body = body_choice[(data[0] >> 6) & 3];
    npieces = data[1] & 15u;
    if (2 + npieces > size) npieces = size - 2;
    skip = 2 + npieces;
    /* exact-size heap copies */
    pieces = (unsigned char *)malloc(npieces ? npieces : 1);
    payload = (unsigned char *)malloc(size - skip ? size - skip : 1);
    FZ_ASSERT(pieces && payload);
    memcpy(pieces, data + 2, npieces);
    memcpy(payload, data + skip, size - skip);
    fz_feed(payload, size - skip, &lim, NULL, 0, 0, 0, &whole);
    fz_feed(payload, size - skip, &lim, pieces, npieces, 0, (data[1] >> 4) & 1, &split);
    fz_same(&whole, &split);
    if (size - skip <= FZ_BYTEWISE_MAX) {
        fz_feed(payload, size - skip, &lim, NULL, 0, 1, 1, &bytes);
        fz_same(&whole, &bytes);
        free(bytes.summary);
    }
    free(whole.summary);
    free(split.summary);
    free(pieces);
    free(payload);
    return 0;
}
