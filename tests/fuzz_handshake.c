/* Fuzz target: the opening handshake's response parser and checks on arbitrary bytes, and the
   extra-header check guarding the request writer.

   Input: byte 0 picks max_header_size and the offered subprotocols; the rest is the server's
   response (a heap copy of exactly its size, so ASan sees any over-read).
   Checked: the parser's result is "need more" (only below the limit), a head length, or one of
   its two errors with a reason; a head length ends with LF, is stable when the input is cut
   there, and "need more" one byte earlier; views it returns lie inside the head; the checks
   give HL_OK or HL_E_HANDSHAKE with a reason. Then the input, split at the first ':', as an
   extra header: if hl__ws_header_check accepts it, the request written with it still has
   CRLF line ends only and exactly one blank line, at the end (no header injection). */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ASSERT(c)                                                                              \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "fuzz_handshake: %s:%d: %s\n", __FILE__, __LINE__, #c);               \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

#define FZ_KEY "dGhlIHNhbXBsZSBub25jZQ=="

static int fz_inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && p + n <= buf + len;
}

static void fz_response(const char *buf, size_t n, size_t max, const char *offered)
{
    hl__ws_response r;
    char detail[160];
    int rc;
    detail[0] = '\0';
    rc = hl__ws_response_parse(buf, n, max, &r, detail, sizeof detail);
    if (rc == 0) {
        FZ_ASSERT(n < max);
        return;
    }
    if (rc < 0) {
        FZ_ASSERT(rc == HL_E_HEADER_TOO_BIG || rc == HL_E_HTTP_PROTOCOL);
        FZ_ASSERT(detail[0] != '\0');
        if (rc == HL_E_HEADER_TOO_BIG) FZ_ASSERT(n >= max);
        return;
    }
    /* a head: (the limit is checked by tests/test_handshake.c, not here) */
    FZ_ASSERT((size_t)rc <= n);
    FZ_ASSERT(rc >= 14);
    FZ_ASSERT(buf[rc - 1] == '\n');
    FZ_ASSERT(r.status >= 100 && r.status <= 999);
    FZ_ASSERT(r.content_length >= -1);
    FZ_ASSERT(r.accept_count >= 0);
    if (r.accept_count) FZ_ASSERT(fz_inside(r.accept, r.accept_len, buf, (size_t)rc));
    if (r.protocol) FZ_ASSERT(fz_inside(r.protocol, r.protocol_len, buf, (size_t)rc));
    {
        hl__ws_response r2;
        FZ_ASSERT(hl__ws_response_parse(buf, (size_t)rc, max, &r2, detail, sizeof detail) == rc);
        FZ_ASSERT(r2.status == r.status && r2.content_length == r.content_length);
        FZ_ASSERT(r2.accept_count == r.accept_count && r2.upgrade_ok == r.upgrade_ok);
        if ((size_t)rc - 1 < max)
            FZ_ASSERT(hl__ws_response_parse(buf, (size_t)rc - 1, max, &r2, detail, sizeof detail) == 0);
    }
    if (r.status == 101) {
        detail[0] = '\0';
        rc = hl__ws_response_check(&r, FZ_KEY, offered, detail, sizeof detail);
        FZ_ASSERT(rc == HL_OK || rc == HL_E_HANDSHAKE);
        if (rc != HL_OK) FZ_ASSERT(detail[0] != '\0');
        if (rc == HL_OK) {
            FZ_ASSERT(r.upgrade_ok && r.connection_ok && r.accept_count == 1 && !r.has_extensions);
            FZ_ASSERT(memcmp(r.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28) == 0);
            FZ_ASSERT(r.protocol_len < 128); /* the driver copies it into 128 bytes */
        }
    }
}

/* The input as one extra header: the writer must not let it break the request's framing. */
static void fz_header(const uint8_t *data, size_t size)
{
    char name[64], value[256], detail[120];
    static char out[2048];
    const uint8_t *colon = (const uint8_t *)memchr(data, ':', size);
    size_t nn, vn, i, blank = 0;
    hl_header h;
    hl_url u;
    int n;
    if (!colon) return;
    nn = (size_t)(colon - data);
    vn = size - nn - 1;
    if (nn >= sizeof name || vn >= sizeof value) return;
    memcpy(name, data, nn);
    name[nn] = '\0';
    memcpy(value, colon + 1, vn);
    value[vn] = '\0';
    h.name = name;
    h.value = value;
    detail[0] = '\0';
    if (hl__ws_header_check(&h, detail, sizeof detail) != HL_OK) {
        FZ_ASSERT(detail[0] != '\0');
        return;
    }
    if (strlen(name) != nn || strlen(value) != vn) return; /* cut at a NUL: a different header */
    FZ_ASSERT(hl_url_parse("ws://example.com/ws", &u, NULL, 0) == HL_OK);
    n = hl__ws_request_write(out, sizeof out, &u, FZ_KEY, "chat", &h, 1);
    FZ_ASSERT(n > 0);
    for (i = 0; i < (size_t)n; i++) {
        if (out[i] == '\r') FZ_ASSERT(i + 1 < (size_t)n && out[i + 1] == '\n');
        if (out[i] == '\n') {
            FZ_ASSERT(i > 0 && out[i - 1] == '\r');
            if (i >= 3 && out[i - 2] == '\n') blank++;
        }
    }
    FZ_ASSERT(blank == 1);
    FZ_ASSERT(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t maxes[] = {256, 512, 1024, 8192};
    static const char *const offers[] = {NULL, "chat", "chat, superchat", ""};
    char *buf;
    if (size < 1) return 0;
    buf = (char *)malloc(size - 1 ? size - 1 : 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, size - 1);
    fz_response(buf, size - 1, maxes[data[0] & 3], offers[(data[0] >> 2) & 3]);
    free(buf);
    fz_header(data + 1, size - 1);
    return 0;
}
