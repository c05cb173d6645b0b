/* hl_url_parse: good URLs give exact fields, bad ones HL_E_BAD_URL with a reason. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

typedef struct good_url {
    const char *url;
    hl_scheme scheme;
    const char *host;
    unsigned port;
    int is_ipv6;
    const char *target;
} good_url;

static const good_url goods[] = {
    {"ws://example.com", HL_SCHEME_WS, "example.com", 80, 0, "/"},
    {"ws://example.com/", HL_SCHEME_WS, "example.com", 80, 0, "/"},
    {"wss://example.com/ws", HL_SCHEME_WSS, "example.com", 443, 0, "/ws"},
    {"http://example.com/a/b", HL_SCHEME_HTTP, "example.com", 80, 0, "/a/b"},
    {"https://example.com/info", HL_SCHEME_HTTPS, "example.com", 443, 0, "/info"},
    {"WS://EXAMPLE.COM/Path", HL_SCHEME_WS, "example.com", 80, 0, "/Path"},
    {"Wss://Api.Hyperliquid.XYZ/ws", HL_SCHEME_WSS, "api.hyperliquid.xyz", 443, 0, "/ws"},
    {"HTTPS://H/", HL_SCHEME_HTTPS, "h", 443, 0, "/"},
    {"ws://example.com:8080/chat", HL_SCHEME_WS, "example.com", 8080, 0, "/chat"},
    {"ws://h:1", HL_SCHEME_WS, "h", 1, 0, "/"},
    {"ws://h:65535/", HL_SCHEME_WS, "h", 65535, 0, "/"},
    {"wss://h:80/", HL_SCHEME_WSS, "h", 80, 0, "/"},
    {"ws://h:0080/", HL_SCHEME_WS, "h", 80, 0, "/"},
    {"ws://127.0.0.1:9001/", HL_SCHEME_WS, "127.0.0.1", 9001, 0, "/"},
    {"ws://[::1]:9001/echo", HL_SCHEME_WS, "::1", 9001, 1, "/echo"},
    {"ws://[::1]", HL_SCHEME_WS, "::1", 80, 1, "/"},
    {"wss://[2001:DB8::A]/x", HL_SCHEME_WSS, "2001:db8::a", 443, 1, "/x"},
    {"ws://[::ffff:192.0.2.1]:81/", HL_SCHEME_WS, "::ffff:192.0.2.1", 81, 1, "/"},
    {"ws://h/a/b?x=1&y=%20z", HL_SCHEME_WS, "h", 80, 0, "/a/b?x=1&y=%20z"},
    {"ws://h?x=1", HL_SCHEME_WS, "h", 80, 0, "/?x=1"},
    {"ws://h:81?x", HL_SCHEME_WS, "h", 81, 0, "/?x"},
    {"ws://my-host_1.example.org./p", HL_SCHEME_WS, "my-host_1.example.org.", 80, 0, "/p"},
    {"http://h/p?q#frag", HL_SCHEME_HTTP, "h", 80, 0, "/p?q"},
    {"http://h#frag", HL_SCHEME_HTTP, "h", 80, 0, "/"},
    {"https://h:8443/p#", HL_SCHEME_HTTPS, "h", 8443, 0, "/p"},
    {"ws://h/%41%7e%7E", HL_SCHEME_WS, "h", 80, 0, "/%41%7e%7E"},
    {"ws://h/~!$&'()*+,;=:@", HL_SCHEME_WS, "h", 80, 0, "/~!$&'()*+,;=:@"},
};

static void test_good_urls(void)
{
    size_t i;
    for (i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        const good_url *g = &goods[i];
        hl_url u;
        char detail[128];
        int rc;
        strcpy(detail, "untouched");
        rc = hl_url_parse(g->url, &u, detail, sizeof detail);
        CHECK_EQ(rc, HL_OK);
        if (rc != HL_OK) {
            printf("  %s: %s\n", g->url, detail);
            continue;
        }
        CHECK_EQ(u.scheme, g->scheme);
        CHECK_EQ(u.port, g->port);
        CHECK_EQ(u.is_ipv6, g->is_ipv6);
        CHECK(strcmp(u.host, g->host) == 0);
        CHECK(strcmp(u.target, g->target) == 0);
        CHECK_EQ(detail[0], '\0'); /* cleared on success */
        if (hl_test_failed_now) {
            printf("  %s -> host '%s' port %u target '%s'\n", g->url, u.host, (unsigned)u.port, u.target);
            return;
        }
        /* detail may be NULL */
        CHECK_EQ(hl_url_parse(g->url, &u, NULL, 0), HL_OK);
    }
}

static const char *const bads[] = {
    "",
    "example.com",
    "example.com/ws",
    "//example.com/",
    "ftp://example.com/",
    "wsx://h/",
    "ws:/h/",
    "ws:h",
    "ws//h",
    "ws://",
    "ws:///path",
    "ws://:80/",
    "ws://?x",
    "ws://user@host/",
    "ws://user:pass@host/",
    "ws://@host/",
    "ws://h:/",
    "ws://h:x/",
    "ws://h:-1/",
    "ws://h:0/",
    "ws://h:000/",
    "ws://h:65536/",
    "ws://h:99999/",
    "ws://h:4294967376/",
    "ws://h:123456789012345678901234567890/",
    "ws://h:80x/",
    "ws://h:80:81/",
    "ws://h /",
    "ws:// h/",
    "ws://h/a b",
    "ws://h/a\tb",
    "ws://h/a\nb",
    "ws://h/\x7f",
    "ws://h/caf\xc3\xa9",
    "ws://h\xc3\xa9/",
    "ws://h/%",
    "ws://h/%4",
    "ws://h/%zz",
    "ws://h/%4g",
    "ws://h/?q=%%41",
    "ws://h/#frag",
    "wss://h/p?q#frag",
    "ws://h#",
    "ws://[::1",
    "ws://[::1/",
    "ws://[]/",
    "ws://[1.2.3.4]/",
    "ws://[g::1]/",
    "ws://[::1%25eth0]/",
    "ws://[::1]x/",
    "ws://[::1]:/",
    "ws://[::1]:65536/",
    "ws://h\\x/",
    "ws://h!/",
};

static void test_bad_urls(void)
{
    size_t i;
    for (i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        hl_url u;
        char detail[128];
        int rc;
        detail[0] = '\0';
        rc = hl_url_parse(bads[i], &u, detail, sizeof detail);
        CHECK_EQ(rc, HL_E_BAD_URL);
        CHECK(detail[0] != '\0');
        CHECK(strlen(detail) < sizeof detail);
        if (hl_test_failed_now) {
            printf("  '%s' -> %d host '%s' target '%s'\n", bads[i], rc, u.host, u.target);
            return;
        }
        CHECK_EQ(hl_url_parse(bads[i], &u, NULL, 0), HL_E_BAD_URL);
    }
}

/* The reason names the problem. */
static void test_bad_url_details(void)
{
    static const struct { const char *url, *word; } cases[] = {
        {"ftp://h/", "scheme"},
        {"ws://user@h/", "user"},
        {"ws://h:0/", "port"},
        {"ws://h:65536/", "port"},
        {"ws://h/a b", "space"},
        {"ws://h/%zz", "percent"},
        {"ws://[::1/", "IPv6"},
        {"ws://[::1", "]"},
        {"ws://h/#x", "fragment"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hl_url u;
        char detail[128];
        detail[0] = '\0';
        CHECK_EQ(hl_url_parse(cases[i].url, &u, detail, sizeof detail), HL_E_BAD_URL);
        CHECK(strstr(detail, cases[i].word) != NULL);
    }
}

/* A small detail buffer is cut, never overrun, and stays NUL-terminated. */
static void test_detail_small_buffer(void)
{
    char buf[16];
    hl_url u;
    size_t cap;
    for (cap = 1; cap <= 8; cap++) {
        memset(buf, 'Z', sizeof buf);
        CHECK_EQ(hl_url_parse("ftp://h/", &u, buf, cap), HL_E_BAD_URL);
        CHECK_EQ(strlen(buf), cap - 1);
        CHECK_EQ(buf[cap], 'Z');
    }
    memset(buf, 'Z', sizeof buf);
    CHECK_EQ(hl_url_parse("ftp://h/", &u, buf, 0), HL_E_BAD_URL);
    CHECK_EQ(buf[0], 'Z');
}

static void test_null_arguments(void)
{
    hl_url u;
    CHECK_EQ(hl_url_parse(NULL, &u, NULL, 0), HL_E_INVALID);
    CHECK_EQ(hl_url_parse("ws://h/", NULL, NULL, 0), HL_E_INVALID);
}

/* Limits: host up to 255 bytes, path and query up to 2048 bytes. */
static void test_length_limits(void)
{
    static char url[4096], detail[128];
    static hl_url u;
    size_t i;
    /* host of 255, 256 */
    strcpy(url, "ws://");
    for (i = 0; i < 255; i++) url[5 + i] = (char)('a' + i % 26);
    strcpy(url + 5 + 255, "/x");
    CHECK_EQ(hl_url_parse(url, &u, detail, sizeof detail), HL_OK);
    CHECK_EQ(strlen(u.host), 255);
    url[5 + 255] = 'q';
    strcpy(url + 5 + 256, "/x");
    detail[0] = '\0';
    CHECK_EQ(hl_url_parse(url, &u, detail, sizeof detail), HL_E_BAD_URL);
    CHECK(detail[0] != '\0');
    /* IPv6 literal longer than 255 (all valid characters) */
    strcpy(url, "ws://[");
    for (i = 0; i < 300; i++) url[6 + i] = (i % 5 == 4) ? ':' : '0';
    strcpy(url + 306, "]/");
    detail[0] = '\0';
    CHECK_EQ(hl_url_parse(url, &u, detail, sizeof detail), HL_E_BAD_URL);
    CHECK(detail[0] != '\0');
    /* target of exactly 2048 bytes: "/" + 2047 */
    strcpy(url, "ws://h/");
    for (i = 0; i < 2047; i++) url[7 + i] = 'p';
    url[7 + 2047] = '\0';
    CHECK_EQ(hl_url_parse(url, &u, detail, sizeof detail), HL_OK);
    CHECK_EQ(strlen(u.target), 2048);
    /* 2049 */
    url[7 + 2047] = 'p';
    url[7 + 2048] = '\0';
    detail[0] = '\0';
    CHECK_EQ(hl_url_parse(url, &u, detail, sizeof detail), HL_E_BAD_URL);
    CHECK(detail[0] != '\0');
    /* a query with no path: the implied "/" counts too */
    strcpy(url, "ws://h?");
    for (i = 0; i < 2046; i++) url[7 + i] = 'q';
    url[7 + 2046] = '\0';
    CHECK_EQ(hl_url_parse(url, &u, detail, sizeof detail), HL_OK);
    CHECK_EQ(strlen(u.target), 2048);
    url[7 + 2046] = 'q';
    url[7 + 2047] = '\0';
    CHECK_EQ(hl_url_parse(url, &u, detail, sizeof detail), HL_E_BAD_URL);
    /* a long fragment does not count against the target (http) */
    strcpy(url, "http://h/p#");
    for (i = 0; i < 3000; i++) url[11 + i] = 'f';
    url[11 + 3000] = '\0';
    CHECK_EQ(hl_url_parse(url, &u, detail, sizeof detail), HL_OK);
    CHECK(strcmp(u.target, "/p") == 0);
}

/* Every port from 1 to 65535 parses back to itself. */
static void test_all_ports(void)
{
    unsigned port;
    long bad = 0;
    for (port = 1; port <= 65535; port++) {
        char url[32];
        hl_url u;
        snprintf(url, sizeof url, "ws://h:%u/", port);
        if (hl_url_parse(url, &u, NULL, 0) != HL_OK || u.port != port) bad++;
    }
    CHECK_EQ(bad, 0);
}

/* A parse into a used struct keeps nothing of the previous result. */
static void test_output_reset(void)
{
    hl_url u;
    CHECK_EQ(hl_url_parse("ws://[::1]:9/x", &u, NULL, 0), HL_OK);
    CHECK_EQ(hl_url_parse("ws://h/", &u, NULL, 0), HL_OK);
    CHECK_EQ(u.is_ipv6, 0);
    CHECK_EQ(u.port, 80);
}

int main(void)
{
    HL_TEST(test_good_urls);
    HL_TEST(test_bad_urls);
    HL_TEST(test_bad_url_details);
    HL_TEST(test_detail_small_buffer);
    HL_TEST(test_null_arguments);
    HL_TEST(test_length_limits);
    HL_TEST(test_all_ports);
    HL_TEST(test_output_reset);
    return hl_test_summary();
}
