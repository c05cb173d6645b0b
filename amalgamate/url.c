/* URL parsing: scheme, host (name, IPv4 or bracketed IPv6), port, target. Strict on purpose:
   what we cannot represent exactly is refused with a reason rather than guessed at. */

static int hl__url_fail(char *detail, size_t cap, const char *why, size_t at)
{
    if (detail) hl__fmt(detail, cap, "%s (at offset %u)", why, (unsigned)at);
    return HL_E_BAD_URL;
}

static int hl__is_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int hl__is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

HL_API int hl_url_parse(const char *url, hl_url *out, char *detail, size_t detail_size)
{
    static const struct { const char *name; hl_scheme scheme; uint16_t port; } schemes[] = {
        {"ws://", HL_SCHEME_WS, 80},
        {"wss://", HL_SCHEME_WSS, 443},
        {"http://", HL_SCHEME_HTTP, 80},
        {"https://", HL_SCHEME_HTTPS, 443},
    };
    size_t i, p = 0, hs, he, hn;
    int found = 0;
    if (!url || !out) return HL_E_INVALID;
    HL_MEMSET(out, 0, sizeof *out);
    for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].name);
        if (strlen(url) >= n && hl__ieq(url, schemes[i].name, n)) {
            out->scheme = schemes[i].scheme;
            out->port = schemes[i].port;
            p = n;
            found = 1;
            break;
        }
    }
    if (!found) return hl__url_fail(detail, detail_size, "scheme must be ws, wss, http or https", 0);

    /* host */
    if (url[p] == '[') {
        hs = ++p;
        while (url[p] && url[p] != ']') {
            if (!hl__is_hex((unsigned char)url[p]) && url[p] != ':' && url[p] != '.')
                return hl__url_fail(detail, detail_size, "bad character in IPv6 literal", p);
            p++;
        }
        if (url[p] != ']') return hl__url_fail(detail, detail_size, "IPv6 literal lacks ']'", p);
        he = p++;
        out->is_ipv6 = 1;
        if (he == hs || !memchr(url + hs, ':', he - hs))
            return hl__url_fail(detail, detail_size, "IPv6 literal is not an address", hs);
    } else {
        hs = p;
        while (hl__is_alnum((unsigned char)url[p]) || url[p] == '-' || url[p] == '.' || url[p] == '_')
            p++;
        he = p;
        if (url[p] == '@') return hl__url_fail(detail, detail_size, "user info is not supported", p);
        if (he == hs) return hl__url_fail(detail, detail_size, "host is empty or has a bad character", p);
    }
    hn = he - hs;
    if (hn > HL_URL_MAX_HOST) return hl__url_fail(detail, detail_size, "host longer than 255 bytes", hs);
    for (i = 0; i < hn; i++) out->host[i] = (char)hl__lower((unsigned char)url[hs + i]);
    out->host[hn] = '\0';

    /* port */
    if (url[p] == ':') {
        unsigned long port = 0;
        size_t ps = ++p;
        while (url[p] >= '0' && url[p] <= '9') {
            port = port * 10 + (unsigned long)(url[p] - '0');
            if (port > 65535) return hl__url_fail(detail, detail_size, "port above 65535", ps);
            p++;
        }
        if (p == ps) return hl__url_fail(detail, detail_size, "port is empty or not a number", ps);
        if (port == 0) return hl__url_fail(detail, detail_size, "port 0", ps);
        out->port = (uint16_t)port;
    }
    if (url[p] != '\0' && url[p] != '/' && url[p] != '?' && url[p] != '#')
        return hl__url_fail(detail, detail_size, "unexpected character after host", p);

    /* target: path and query, without the fragment */
    {
        size_t o = 0;
        if (url[p] != '/') out->target[o++] = '/';
        for (; url[p] && url[p] != '#'; p++) {
            unsigned char c = (unsigned char)url[p];
            if (c <= 0x20 || c >= 0x7F)
                return hl__url_fail(detail, detail_size, "space, control or non-ASCII byte in path", p);
            if (c == '%' && !(hl__is_hex((unsigned char)url[p + 1]) && hl__is_hex((unsigned char)url[p + 2])))
                return hl__url_fail(detail, detail_size, "bad percent escape", p);
            if (o >= HL_URL_MAX_TARGET)
                return hl__url_fail(detail, detail_size, "path and query longer than 2048 bytes", p);
            out->target[o++] = (char)c;
        }
        out->target[o] = '\0';
        if (url[p] == '#' && (out->scheme == HL_SCHEME_WS || out->scheme == HL_SCHEME_WSS))
            return hl__url_fail(detail, detail_size, "a WebSocket URL has no fragment (RFC 6455 3)", p);
    }
    if (detail && detail_size) detail[0] = '\0';
    return HL_OK;
}
