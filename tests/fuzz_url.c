/* Fuzz target: hl_url_parse on arbitrary NUL-terminated text.
   On success the fields must be consistent (scheme known, port non-zero, host non-empty, lower
   case and of allowed characters, target starting with '/' without spaces, controls or '#'),
   and the URL rebuilt from the fields must parse back to the same fields. On failure the result
   is HL_E_BAD_URL with a non-empty reason, also when the reason buffer is tiny. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ASSERT(c)                                                                              \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "fuzz_url: %s:%d: %s\n", __FILE__, __LINE__, #c);                     \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

static void fz_check_fields(const hl_url *u)
{
    size_t i, hn = strlen(u->host), tn = strlen(u->target);
    FZ_ASSERT(u->scheme >= HL_SCHEME_WS && u->scheme <= HL_SCHEME_HTTPS);
    FZ_ASSERT(u->port != 0);
    FZ_ASSERT(hn > 0 && hn <= HL_URL_MAX_HOST);
    FZ_ASSERT(tn > 0 && tn <= HL_URL_MAX_TARGET);
    FZ_ASSERT(u->target[0] == '/');
    for (i = 0; i < hn; i++) {
        char c = u->host[i];
        FZ_ASSERT(!(c >= 'A' && c <= 'Z'));
        if (u->is_ipv6)
            FZ_ASSERT((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.');
        else
            FZ_ASSERT((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '.' || c == '_');
    }
    if (u->is_ipv6) FZ_ASSERT(strchr(u->host, ':') != NULL);
    for (i = 0; i < tn; i++) {
        unsigned char c = (unsigned char)u->target[i];
        FZ_ASSERT(c > 0x20 && c < 0x7F && c != '#');
        if (c == '%') {
            FZ_ASSERT(i + 2 < tn);
            FZ_ASSERT(strchr("0123456789abcdefABCDEF", u->target[i + 1]) != NULL);
            FZ_ASSERT(strchr("0123456789abcdefABCDEF", u->target[i + 2]) != NULL);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"", "ws", "wss", "http", "https"};
    char *s = (char *)malloc(size + 1);
    hl_url *u = (hl_url *)malloc(sizeof *u);
    hl_url *v = (hl_url *)malloc(sizeof *v);
    char detail[128], tiny[4];
    int rc, rc2;
    if (!s || !u || !v) {
        free(s);
        free(u);
        free(v);
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    detail[0] = '\0';
    rc = hl_url_parse(s, u, detail, sizeof detail);
    FZ_ASSERT(rc == HL_OK || rc == HL_E_BAD_URL);
    FZ_ASSERT(memchr(detail, '\0', sizeof detail) != NULL);
    /* the same verdict without a reason buffer, and with a tiny one */
    rc2 = hl_url_parse(s, v, NULL, 0);
    FZ_ASSERT(rc2 == rc);
    memset(tiny, 'Z', sizeof tiny);
    rc2 = hl_url_parse(s, v, tiny, 3);
    FZ_ASSERT(rc2 == rc);
    FZ_ASSERT(tiny[3] == 'Z');
    if (rc == HL_OK) {
        static char rebuilt[16 + HL_URL_MAX_HOST + HL_URL_MAX_TARGET + 16];
        FZ_ASSERT(detail[0] == '\0');
        fz_check_fields(u);
        FZ_ASSERT(memcmp(u, v, sizeof *u) == 0);
        snprintf(rebuilt, sizeof rebuilt, "%s://%s%s%s:%u%s", names[u->scheme], u->is_ipv6 ? "[" : "",
                 u->host, u->is_ipv6 ? "]" : "", (unsigned)u->port, u->target);
        FZ_ASSERT(hl_url_parse(rebuilt, v, NULL, 0) == HL_OK);
        FZ_ASSERT(v->scheme == u->scheme && v->port == u->port && v->is_ipv6 == u->is_ipv6);
        FZ_ASSERT(strcmp(v->host, u->host) == 0);
        FZ_ASSERT(strcmp(v->target, u->target) == 0);
    } else {
        FZ_ASSERT(detail[0] != '\0');
        FZ_ASSERT(strlen(tiny) == 2);
    }
    free(s);
    free(u);
    free(v);
    return 0;
}
