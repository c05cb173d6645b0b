/* The opening handshake: SHA-1, base64, Sec-WebSocket-Accept, the request text, the response
   parser and its checks, and the extra-header check. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static void hex(const unsigned char *d, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void sha1_hex(const void *data, size_t n, char out[41])
{
    hl__sha1 s;
    unsigned char d[20];
    hl__sha1_init(&s);
    hl__sha1_update(&s, data, n);
    hl__sha1_final(&s, d);
    hex(d, 20, out);
}

/* ---- SHA-1 ---- */

static void test_sha1_vectors(void)
{
    static const struct { const char *msg, *digest; } v[] = {
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "a49b2446a02c645bf419f995b67091253a04a259"},
        {"The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"},
    };
    size_t i;
    char out[41];
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        sha1_hex(v[i].msg, strlen(v[i].msg), out);
        CHECK(strcmp(out, v[i].digest) == 0);
    }
}

static void test_sha1_million_a(void)
{
    static unsigned char a[1000];
    static const size_t pieces[] = {1000, 1, 63, 64, 65, 999};
    size_t p;
    memset(a, 'a', sizeof a);
    for (p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
        hl__sha1 s;
        unsigned char d[20];
        char out[41];
        size_t done = 0;
        hl__sha1_init(&s);
        while (done < 1000000) {
            size_t k = pieces[p];
            if (k > 1000000 - done) k = 1000000 - done;
            hl__sha1_update(&s, a, k);
            done += k;
        }
        hl__sha1_final(&s, d);
        hex(d, 20, out);
        CHECK(strcmp(out, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0);
    }
}

/* Lengths around the 55/56/64-byte padding boundaries (byte i is i*7 mod 256). */
static void test_sha1_padding_boundaries(void)
{
    static const struct { size_t n; const char *digest; } v[] = {
        {55, "aecd1643c9903b9bae8cb94f53c50f8a4e18605b"},
        {56, "f5d65c621c02cc8e785159feff8088e3072da1bc"},
        {63, "4952f0fe097e4d6410ae9eab4855aa836caf3bff"},
        {64, "1e17ae1fc093e5daca033553c97a5192ca164486"},
        {65, "ac44f5dbe3e9b5d2733fc9537fcad715c3c20bc3"},
        {119, "b4a4e69060d0b1e7e8ebbf7041a4211c63438b57"},
        {120, "b651390c2996406336a3f6647e4b590c18cdd6f8"},
    };
    unsigned char buf[128];
    size_t i, cut;
    char out[41];
    for (i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 7);
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        sha1_hex(buf, v[i].n, out);
        CHECK(strcmp(out, v[i].digest) == 0);
        /* the same in two updates cut anywhere */
        for (cut = 0; cut <= v[i].n; cut++) {
            hl__sha1 s;
            unsigned char d[20];
            hl__sha1_init(&s);
            hl__sha1_update(&s, buf, cut);
            hl__sha1_update(&s, buf + cut, v[i].n - cut);
            hl__sha1_final(&s, d);
            hex(d, 20, out);
            CHECK(strcmp(out, v[i].digest) == 0);
        }
    }
}

/* ---- base64 ---- */

static void test_base64_rfc4648(void)
{
    static const struct { const char *in, *out; } v[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[16];
        size_t n;
        memset(out, 'Z', sizeof out);
        n = hl__base64_encode((const unsigned char *)v[i].in, strlen(v[i].in), out);
        CHECK_EQ(n, strlen(v[i].out));
        CHECK(strcmp(out, v[i].out) == 0);
        CHECK_EQ(out[n + 1], 'Z'); /* exactly 4 * ceil(n / 3) + 1 bytes written */
    }
}

static void test_base64_alphabet(void)
{
    static const unsigned char hi[] = {0xFB, 0xEF, 0xBE, 0xFF, 0xFF, 0xFF, 0x00, 0x10, 0x83};
    unsigned char all[48];
    char out[80];
    size_t i;
    CHECK_EQ(hl__base64_encode(hi, 3, out), 4);
    CHECK(strcmp(out, "++++") == 0);
    CHECK_EQ(hl__base64_encode(hi + 3, 3, out), 4);
    CHECK(strcmp(out, "////") == 0);
    CHECK_EQ(hl__base64_encode(hi + 6, 3, out), 4);
    CHECK(strcmp(out, "ABCD") == 0);
    /* 48 bytes spelling every 6-bit value in order */
    for (i = 0; i < 16; i++) {
        unsigned v0 = (unsigned)(4 * i), v1 = v0 + 1, v2 = v0 + 2, v3 = v0 + 3;
        all[3 * i] = (unsigned char)(v0 << 2 | v1 >> 4);
        all[3 * i + 1] = (unsigned char)((v1 & 15) << 4 | v2 >> 2);
        all[3 * i + 2] = (unsigned char)((v2 & 3) << 6 | v3);
    }
    CHECK_EQ(hl__base64_encode(all, sizeof all, out), 64);
    CHECK(strcmp(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == 0);
    /* a 16-byte key (what the client sends) is 24 characters with "==" */
    CHECK_EQ(hl__base64_encode(all, 16, out), 24);
    CHECK(out[22] == '=' && out[23] == '=');
}

/* ---- Sec-WebSocket-Accept ---- */

static void test_accept_rfc_example(void)
{
    char out[29];
    memset(out, 'Z', sizeof out);
    hl__ws_accept_compute(RFC_KEY, out);
    CHECK(strcmp(out, RFC_ACCEPT) == 0);
    CHECK_EQ(strlen(out), 28);
}

/* ---- request ---- */

static hl_url parse_url(const char *s)
{
    hl_url u;
    int rc = hl_url_parse(s, &u, NULL, 0);
    CHECK_EQ(rc, HL_OK);
    return u;
}

static void test_request_text(void)
{
    static const char want[] =
        "GET /chat?x=1 HTTP/1.1\r\n"
        "Host: server.example.com:8080\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: " RFC_KEY "\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: chat, superchat\r\n"
        "X-Api-Key: k1\r\n"
        "Origin: http://example.com\r\n"
        "\r\n";
    hl_header h[2];
    char out[1024];
    hl_url u = parse_url("ws://Server.Example.com:8080/chat?x=1");
    int n;
    h[0].name = "X-Api-Key";
    h[0].value = "k1";
    h[1].name = "Origin";
    h[1].value = "http://example.com";
    n = hl__ws_request_write(out, sizeof out, &u, RFC_KEY, "chat, superchat", h, 2);
    CHECK_EQ(n, (int)strlen(want));
    CHECK(n > 0 && memcmp(out, want, (size_t)n) == 0);
}

static void test_request_minimal(void)
{
    static const char want[] =
        "GET / HTTP/1.1\r\n"
        "Host: example.com\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: " RFC_KEY "\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n";
    char out[512];
    hl_url u = parse_url("WS://EXAMPLE.com");
    int n = hl__ws_request_write(out, sizeof out, &u, RFC_KEY, NULL, NULL, 0);
    CHECK_EQ(n, (int)strlen(want));
    CHECK(n > 0 && memcmp(out, want, (size_t)n) == 0);
    /* an empty subprotocol list writes no header either */
    n = hl__ws_request_write(out, sizeof out, &u, RFC_KEY, "", NULL, 0);
    CHECK_EQ(n, (int)strlen(want));
    CHECK(n > 0 && memcmp(out, want, (size_t)n) == 0);
}

static void test_request_host_forms(void)
{
    static const struct { const char *url, *host_line; } v[] = {
        {"ws://h/", "Host: h\r\n"},
        {"ws://h:80/", "Host: h\r\n"},
        {"ws://h:443/", "Host: h:443\r\n"},
        {"ws://h:8080/", "Host: h:8080\r\n"},
        {"wss://h/", "Host: h\r\n"},
        {"wss://h:443/", "Host: h\r\n"},
        {"wss://h:80/", "Host: h:80\r\n"},
        {"ws://[::1]:9001/", "Host: [::1]:9001\r\n"},
        {"ws://[::1]/", "Host: [::1]\r\n"},
        {"wss://[2001:db8::1]:443/", "Host: [2001:db8::1]\r\n"},
        {"ws://127.0.0.1:65535/x", "Host: 127.0.0.1:65535\r\n"},
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[512];
        hl_url u = parse_url(v[i].url);
        int n = hl__ws_request_write(out, sizeof out - 1, &u, RFC_KEY, NULL, NULL, 0);
        CHECK(n > 0);
        if (n <= 0) continue;
        out[n] = '\0';
        CHECK(strstr(out, v[i].host_line) != NULL);
        if (hl_test_failed_now) {
            printf("  %s:\n%s", v[i].url, out);
            return;
        }
    }
}

/* Too small a buffer: HL_E_HEADER_TOO_BIG and no byte written past it. */
static void test_request_overflow(void)
{
    char out[600];
    hl_url u = parse_url("ws://example.com:9000/path");
    hl_header h;
    int full, cap;
    h.name = "X-Long";
    h.value = "0123456789012345678901234567890123456789";
    full = hl__ws_request_write(out, sizeof out, &u, RFC_KEY, "p1, p2", &h, 1);
    CHECK(full > 0 && full < 500);
    if (full <= 0) return;
    CHECK_EQ(hl__ws_request_write(out, (size_t)full, &u, RFC_KEY, "p1, p2", &h, 1), full);
    for (cap = 0; cap < full; cap++) {
        memset(out, '#', sizeof out);
        CHECK_EQ(hl__ws_request_write(out, (size_t)cap, &u, RFC_KEY, "p1, p2", &h, 1),
                 HL_E_HEADER_TOO_BIG);
        CHECK_EQ(out[cap], '#');
    }
}

/* ---- response ---- */

#define ST "HTTP/1.1 101 Switching Protocols\r\n"
#define UPG "Upgrade: websocket\r\n"
#define CON "Connection: Upgrade\r\n"
#define ACC "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
#define GOOD ST UPG CON ACC "\r\n"

static void test_response_good(void)
{
    static const char resp[] = GOOD;
    hl__ws_response r;
    char detail[160];
    int n = hl__ws_response_parse(resp, strlen(resp), 8192, &r, detail, sizeof detail);
    CHECK_EQ(n, (int)strlen(resp));
    CHECK_EQ(r.status, 101);
    CHECK_EQ(r.content_length, -1);
    CHECK_EQ(r.upgrade_ok, 1);
    CHECK_EQ(r.connection_ok, 1);
    CHECK_EQ(r.accept_count, 1);
    CHECK_EQ(r.accept_len, 28);
    CHECK(r.accept && memcmp(r.accept, RFC_ACCEPT, 28) == 0);
    CHECK_EQ(r.protocol_len, 0);
    CHECK_EQ(r.has_extensions, 0);
    CHECK_EQ(hl__ws_response_check(&r, RFC_KEY, NULL, detail, sizeof detail), HL_OK);
    CHECK_EQ(hl__ws_response_check(&r, RFC_KEY, "chat", detail, sizeof detail), HL_OK);
    /* another key does not match */
    detail[0] = '\0';
    CHECK_EQ(hl__ws_response_check(&r, "x3JJHMbDL1EzLkh9GBhXDw==", NULL, detail, sizeof detail),
             HL_E_HANDSHAKE);
    CHECK(detail[0] != '\0');
}

/* Frames right behind the head: the head length is returned, the rest left alone. */
static void test_response_with_frames_after(void)
{
    static const char resp[] = GOOD "\x81\x05Hello\x89\x00";
    hl__ws_response r;
    char detail[160];
    CHECK_EQ(hl__ws_response_parse(resp, sizeof resp - 1, 8192, &r, detail, sizeof detail),
             (int)strlen(GOOD));
    CHECK_EQ(hl__ws_response_check(&r, RFC_KEY, NULL, detail, sizeof detail), HL_OK);
}

/* Every prefix of a response says "need more"; the whole says its length. */
static void test_response_split(void)
{
    static const char *const resps[] = {
        GOOD,
        ST "Upgrade: websocket\nConnection: Upgrade\n" ACC "\r\n",
        "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n"
        "Sec-WebSocket-Accept: " RFC_ACCEPT "\n\n",
        "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
    };
    size_t i, k;
    for (i = 0; i < sizeof resps / sizeof resps[0]; i++) {
        const char *s = resps[i];
        size_t n = strlen(s);
        const char *end = strstr(s, "\r\n\r\n");
        size_t head = end ? (size_t)(end - s) + 4 : (size_t)(strstr(s, "\n\n") - s) + 2;
        for (k = 0; k <= n; k++) {
            hl__ws_response r;
            char detail[160];
            int rc;
            char *buf = (char *)malloc(k ? k : 1); /* exactly k bytes: ASan sees any over-read */
            if (!buf) return;
            memcpy(buf, s, k);
            rc = hl__ws_response_parse(buf, k, 8192, &r, detail, sizeof detail);
            if (k < head) CHECK_EQ(rc, 0);
            else CHECK_EQ(rc, (int)head);
            if (k >= head && rc > 0 && r.status == 101)
                CHECK_EQ(hl__ws_response_check(&r, RFC_KEY, NULL, detail, sizeof detail), HL_OK);
            free(buf);
        }
    }
}

typedef struct resp_case {
    const char *name;
    const char *text;
    int parse_rc;  /* HL_OK: parses to its whole length */
    int check_rc;  /* after a successful parse */
} resp_case;

static const resp_case resp_cases[] = {
    {"good", GOOD, HL_OK, HL_OK},
    {"case and whitespace",
     "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, upgrade\r\n"
     "sec-websocket-accept:" RFC_ACCEPT "  \r\n\r\n",
     HL_OK, HL_OK},
    {"tab before value", ST "Upgrade:\twebsocket\r\n" CON ACC "\r\n", HL_OK, HL_OK},
    {"HTTP/1.0", "HTTP/1.0 101 Switching Protocols\r\n" UPG CON ACC "\r\n", HL_OK, HL_OK},
    {"subprotocol offered", ST UPG CON ACC "Sec-WebSocket-Protocol: superchat\r\n\r\n", HL_OK, HL_OK},
    {"Connection in a second header", ST UPG "Connection: keep-alive\r\nConnection: Upgrade\r\n" ACC "\r\n",
     HL_OK, HL_OK},
    {"other headers", ST "Server: x\r\n" UPG "Date: Mon, 1 Jan 2024 00:00:00 GMT\r\n" CON ACC
     "X-Empty:\r\n\r\n", HL_OK, HL_OK},
    {"missing accept", ST UPG CON "\r\n", HL_OK, HL_E_HANDSHAKE},
    {"duplicate accept", ST UPG CON ACC ACC "\r\n", HL_OK, HL_E_HANDSHAKE},
    {"wrong accept", ST UPG CON "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\r\n\r\n", HL_OK,
     HL_E_HANDSHAKE},
    {"short accept", ST UPG CON "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n", HL_OK,
     HL_E_HANDSHAKE},
    {"long accept", ST UPG CON "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo==\r\n\r\n", HL_OK,
     HL_E_HANDSHAKE},
    {"accept of the key itself", ST UPG CON "Sec-WebSocket-Accept: " RFC_KEY "\r\n\r\n", HL_OK,
     HL_E_HANDSHAKE},
    {"missing Upgrade", ST CON ACC "\r\n", HL_OK, HL_E_HANDSHAKE},
    {"Upgrade not websocket", ST "Upgrade: h2c\r\n" CON ACC "\r\n", HL_OK, HL_E_HANDSHAKE},
    {"missing Connection", ST UPG ACC "\r\n", HL_OK, HL_E_HANDSHAKE},
    {"Connection close", ST UPG "Connection: close\r\n" ACC "\r\n", HL_OK, HL_E_HANDSHAKE},
    {"Connection upgraded", ST UPG "Connection: Upgraded\r\n" ACC "\r\n", HL_OK, HL_E_HANDSHAKE},
    {"extension selected", ST UPG CON ACC "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", HL_OK,
     HL_E_HANDSHAKE},
    {"subprotocol not offered", ST UPG CON ACC "Sec-WebSocket-Protocol: mqtt\r\n\r\n", HL_OK,
     HL_E_HANDSHAKE},
    {"subprotocol list", ST UPG CON ACC "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n", HL_OK,
     HL_E_HANDSHAKE},
    {"subprotocol prefix", ST UPG CON ACC "Sec-WebSocket-Protocol: cha\r\n\r\n", HL_OK,
     HL_E_HANDSHAKE},
    {"obsolete folding", ST UPG " continued\r\n" CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"obsolete folding tab", ST UPG CON ACC "\tmore\r\n\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"status 2 digits", "HTTP/1.1 10 Switching Protocols\r\n" UPG CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"status letters", "HTTP/1.1 abc Switching Protocols\r\n" UPG CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"status 4 digits", "HTTP/1.1 1010 Switching Protocols\r\n" UPG CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"status 099", "HTTP/1.1 099 Odd\r\n" UPG CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"HTTP/2", "HTTP/2 101 Switching Protocols\r\n" UPG CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"HTTP/1.x", "HTTP/1.x 101 Switching Protocols\r\n" UPG CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"lower-case version", "http/1.1 101 Switching Protocols\r\n" UPG CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"two spaces", "HTTP/1.1  101 Switching Protocols\r\n" UPG CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"not HTTP", "ICY 101 OK\r\n" UPG CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"status line only", "HTTP/1.1\r\n\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"no colon", ST "Upgrade websocket\r\n" CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"empty name", ST ": websocket\r\n" CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"space before colon", ST "Upgrade : websocket\r\n" CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"space in name", ST "Up grade: websocket\r\n" CON ACC "\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"Content-Length letters", ST UPG CON ACC "Content-Length: abc\r\n\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"Content-Length empty", ST UPG CON ACC "Content-Length: \r\n\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"Content-Length two numbers", ST UPG CON ACC "Content-Length: 1 2\r\n\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"Content-Length negative", ST UPG CON ACC "Content-Length: -1\r\n\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"Content-Length plus", ST UPG CON ACC "Content-Length: +1\r\n\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"Content-Length list", ST UPG CON ACC "Content-Length: 5, 5\r\n\r\n", HL_E_HTTP_PROTOCOL, 0},
    {"Content-Length 16 digits", ST UPG CON ACC "Content-Length: 1234567890123456\r\n\r\n",
     HL_E_HTTP_PROTOCOL, 0},
    {"Content-Length twice", ST UPG CON ACC "Content-Length: 5\r\ncontent-length: 5\r\n\r\n",
     HL_E_HTTP_PROTOCOL, 0},
};

static void test_response_table(void)
{
    size_t i;
    for (i = 0; i < sizeof resp_cases / sizeof resp_cases[0]; i++) {
        const resp_case *c = &resp_cases[i];
        hl__ws_response r;
        char detail[160];
        size_t n = strlen(c->text);
        int rc, ok;
        detail[0] = '\0';
        rc = hl__ws_response_parse(c->text, n, 8192, &r, detail, sizeof detail);
        if (c->parse_rc == HL_OK) {
            ok = rc == (int)n && r.status == 101;
            if (ok) {
                detail[0] = '\0';
                rc = hl__ws_response_check(&r, RFC_KEY, "chat, superchat", detail, sizeof detail);
                ok = rc == c->check_rc && (rc == HL_OK || detail[0] != '\0');
            }
        } else {
            ok = rc == c->parse_rc && detail[0] != '\0';
        }
        CHECK(ok);
        if (!ok) printf("  case '%s': rc %d, detail '%s'\n", c->name, rc, detail);
    }
}

/* A chosen subprotocol with nothing offered is refused; the chosen value is reported. */
static void test_response_subprotocol(void)
{
    static const char resp[] = ST UPG CON ACC "Sec-WebSocket-Protocol:  chat \r\n\r\n";
    hl__ws_response r;
    char detail[160];
    CHECK_EQ(hl__ws_response_parse(resp, strlen(resp), 8192, &r, detail, sizeof detail), (int)strlen(resp));
    CHECK_EQ(r.protocol_len, 4);
    CHECK(r.protocol && memcmp(r.protocol, "chat", 4) == 0);
    CHECK_EQ(hl__ws_response_check(&r, RFC_KEY, "chat", detail, sizeof detail), HL_OK);
    CHECK_EQ(hl__ws_response_check(&r, RFC_KEY, "superchat, chat", detail, sizeof detail), HL_OK);
    CHECK_EQ(hl__ws_response_check(&r, RFC_KEY, "superchat", detail, sizeof detail), HL_E_HANDSHAKE);
    CHECK_EQ(hl__ws_response_check(&r, RFC_KEY, NULL, detail, sizeof detail), HL_E_HANDSHAKE);
    CHECK_EQ(hl__ws_response_check(&r, RFC_KEY, "", detail, sizeof detail), HL_E_HANDSHAKE);
}

/* A refusal: status and Content-Length reported, the body starts at the returned length. */
static void test_response_refusal(void)
{
    static const char resp[] = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n"
                               "Content-Length:  12 \r\n\r\nslow down!!!";
    hl__ws_response r;
    char detail[160];
    int n = hl__ws_response_parse(resp, sizeof resp - 1, 8192, &r, detail, sizeof detail);
    CHECK_EQ(n, (int)(sizeof resp - 1 - 12));
    CHECK_EQ(r.status, 429);
    CHECK_EQ(r.content_length, 12);
    CHECK(n > 0 && memcmp(resp + n, "slow down!!!", 12) == 0);
}

/* Build a head of exactly total bytes (padded with an X-Pad header). */
static size_t make_head(char *buf, size_t total, int lf_only)
{
    const char *eol = lf_only ? "\n" : "\r\n";
    size_t e = strlen(eol), n;
    n = (size_t)sprintf(buf, "HTTP/1.1 101 Switching Protocols%sUpgrade: websocket%sX-Pad: ", eol, eol);
    /* the pad value fills up to total minus the end of its line and the blank line */
    while (n < total - 2 * e) buf[n++] = 'p';
    memcpy(buf + n, eol, e);
    memcpy(buf + n + e, eol, e);
    n += 2 * e;
    buf[n] = '\0';
    return n;
}

/* The limit is on the whole head: max bytes pass, max + 1 is HL_E_HEADER_TOO_BIG. */
static void test_response_header_limit(void)
{
    static char buf[1200];
    hl__ws_response r;
    char detail[160];
    const size_t max = 512;
    int lf;
    for (lf = 0; lf < 2; lf++) {
        size_t n = make_head(buf, max, lf), extra;
        CHECK_EQ(n, max);
        CHECK_EQ(hl__ws_response_parse(buf, n, max, &r, detail, sizeof detail), (int)max);
        for (extra = 1; extra <= 4; extra++) {
            n = make_head(buf, max + extra, lf);
            CHECK_EQ(n, max + extra);
            detail[0] = '\0';
            CHECK_EQ(hl__ws_response_parse(buf, n, max, &r, detail, sizeof detail), HL_E_HEADER_TOO_BIG);
            CHECK(strstr(detail, "max_header_size") != NULL);
            if (hl_test_failed_now) {
                printf("  head of %u bytes with max %u (%s) was accepted\n", (unsigned)n, (unsigned)max,
                       lf ? "LF" : "CRLF");
                return;
            }
        }
    }
    /* incomplete: need more below the limit, too big at it */
    {
        size_t n = make_head(buf, 1000, 0) - 4; /* cut the blank line */
        CHECK_EQ(hl__ws_response_parse(buf, max - 1, max, &r, detail, sizeof detail), 0);
        CHECK_EQ(hl__ws_response_parse(buf, max, max, &r, detail, sizeof detail), HL_E_HEADER_TOO_BIG);
        CHECK_EQ(hl__ws_response_parse(buf, n, max, &r, detail, sizeof detail), HL_E_HEADER_TOO_BIG);
    }
}

/* ---- extra header check ---- */

static void test_header_check(void)
{
    static const struct { const char *name, *value; int ok; } v[] = {
        {"X-Token", "abc", 1},
        {"Authorization", "Bearer a.b.c", 1},
        {"Origin", "https://app.example.com", 1},
        {"X-Tab", "a\tb", 1},
        {"X-Empty", "", 1},
        {"x!#$%&'*+-.^_`|~9", "v", 1},
        {"X-Utf8", "caf\xc3\xa9", 1},
        {"X-CRLF", "a\r\nX-Evil: 1", 0},
        {"X-LF", "a\nb", 0},
        {"X-CR", "a\rb", 0},
        {"X-NUL-ish", "a\x01" "b", 0},
        {"X-Esc", "\x1b[0m", 0},
        {"", "v", 0},
        {"X Token", "v", 0},
        {"X-Token:", "v", 0},
        {"X:Token", "v", 0},
        {"X-Token\r\n", "v", 0},
        {"X(Token)", "v", 0},
        {"X/Token", "v", 0},
        {"X\"", "v", 0},
        {"X\xc3\xa9", "v", 0},
        {"Host", "evil.example.com", 0},
        {"host", "h", 0},
        {"Upgrade", "websocket", 0},
        {"CONNECTION", "Upgrade", 0},
        {"Sec-WebSocket-Key", RFC_KEY, 0},
        {"sec-websocket-version", "13", 0},
        {"Sec-WebSocket-Protocol", "chat", 0},
        {"Sec-WebSocket-Extensions", "permessage-deflate", 0},
        {"Content-Length", "0", 0},
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        hl_header h;
        char detail[120];
        int rc;
        h.name = v[i].name;
        h.value = v[i].value;
        detail[0] = '\0';
        rc = hl__ws_header_check(&h, detail, sizeof detail);
        CHECK_EQ(rc, v[i].ok ? HL_OK : HL_E_INVALID);
        if (!v[i].ok) CHECK(detail[0] != '\0');
        if (hl_test_failed_now) {
            printf("  header '%s: %s'\n", v[i].name, v[i].value);
            return;
        }
    }
    {
        hl_header h;
        char detail[120];
        h.name = NULL;
        h.value = "v";
        CHECK_EQ(hl__ws_header_check(&h, detail, sizeof detail), HL_E_INVALID);
        h.name = "X";
        h.value = NULL;
        CHECK_EQ(hl__ws_header_check(&h, detail, sizeof detail), HL_E_INVALID);
    }
}

int main(void)
{
    HL_TEST(test_sha1_vectors);
    HL_TEST(test_sha1_million_a);
    HL_TEST(test_sha1_padding_boundaries);
    HL_TEST(test_base64_rfc4648);
    HL_TEST(test_base64_alphabet);
    HL_TEST(test_accept_rfc_example);
    HL_TEST(test_request_text);
    HL_TEST(test_request_minimal);
    HL_TEST(test_request_host_forms);
    HL_TEST(test_request_overflow);
    HL_TEST(test_response_good);
    HL_TEST(test_response_with_frames_after);
    HL_TEST(test_response_split);
    HL_TEST(test_response_table);
    HL_TEST(test_response_subprotocol);
    HL_TEST(test_response_refusal);
    HL_TEST(test_response_header_limit);
    HL_TEST(test_header_check);
    return hl_test_summary();
}
