/* Result codes: one table gives both the enum name and the description. */
typedef struct hl__result_desc {
    int code;
    const char *name;
    const char *text;
} hl__result_desc;

static const hl__result_desc hl__results[] = {
    {HL_OK, "HL_OK", "success"},
    {HL_E_INVALID, "HL_E_INVALID", "invalid argument"},
    {HL_E_BAD_URL, "HL_E_BAD_URL", "malformed URL"},
    {HL_E_STATE, "HL_E_STATE", "call does not fit the connection state"},
    {HL_E_UNSUPPORTED, "HL_E_UNSUPPORTED", "feature not built in"},
    {HL_E_BAD_HANDLE, "HL_E_BAD_HANDLE", "stale or unknown handle"},
    {HL_E_NO_MEMORY, "HL_E_NO_MEMORY", "memory block smaller than hl_ctx_size"},
    {HL_E_POOL_EMPTY, "HL_E_POOL_EMPTY", "no free connection slot"},
    {HL_E_QUEUE_FULL, "HL_E_QUEUE_FULL", "send queue full"},
    {HL_E_MSG_TOO_BIG, "HL_E_MSG_TOO_BIG", "message too big"},
    {HL_E_HEADER_TOO_BIG, "HL_E_HEADER_TOO_BIG", "headers too big"},
    {HL_E_CONNECT_TIMEOUT, "HL_E_CONNECT_TIMEOUT", "connect timed out"},
    {HL_E_HANDSHAKE_TIMEOUT, "HL_E_HANDSHAKE_TIMEOUT", "handshake timed out"},
    {HL_E_CLOSE_TIMEOUT, "HL_E_CLOSE_TIMEOUT", "closing handshake timed out"},
    {HL_E_PONG_TIMEOUT, "HL_E_PONG_TIMEOUT", "no pong within pong_timeout_ms"},
    {HL_E_SILENCE, "HL_E_SILENCE", "nothing received within silence_timeout_ms"},
    {HL_E_REQUEST_TIMEOUT, "HL_E_REQUEST_TIMEOUT", "request timed out"},
    {HL_E_DNS, "HL_E_DNS", "name resolution failed"},
    {HL_E_CONNECT_REFUSED, "HL_E_CONNECT_REFUSED", "connection refused"},
    {HL_E_CONNECT, "HL_E_CONNECT", "connect failed"},
    {HL_E_IO, "HL_E_IO", "socket I/O error"},
    {HL_E_RESET, "HL_E_RESET", "connection reset by peer"},
    {HL_E_EOF, "HL_E_EOF", "peer closed the connection without a close frame"},
    {HL_E_TLS, "HL_E_TLS", "TLS failure"},
    {HL_E_TLS_CERT, "HL_E_TLS_CERT", "TLS certificate rejected"},
    {HL_E_HANDSHAKE, "HL_E_HANDSHAKE", "server refused the WebSocket upgrade"},
    {HL_E_PROTOCOL, "HL_E_PROTOCOL", "WebSocket protocol violation"},
    {HL_E_BAD_UTF8, "HL_E_BAD_UTF8", "invalid UTF-8"},
    {HL_E_HTTP_PROTOCOL, "HL_E_HTTP_PROTOCOL", "malformed HTTP response"},
    {HL_E_CLOSED, "HL_E_CLOSED", "connection closed"},
    {HL_E_RATE_LIMITED, "HL_E_RATE_LIMITED", "rate limited"},
    {HL_E_CIRCUIT_OPEN, "HL_E_CIRCUIT_OPEN", "circuit breaker open"},
};

static const hl__result_desc *hl__result_find(int code)
{
    size_t i;
    for (i = 0; i < sizeof hl__results / sizeof hl__results[0]; i++)
        if (hl__results[i].code == code) return &hl__results[i];
    return NULL;
}

HL_API const char *hl_result_str(int result)
{
    const hl__result_desc *d = hl__result_find(result);
    return d ? d->text : "unknown result code";
}

HL_API const char *hl_result_name(int result)
{
    const hl__result_desc *d = hl__result_find(result);
    return d ? d->name : "HL_E_UNKNOWN";
}

HL_API const char *hl_state_str(hl_state state)
{
    static const char *const names[] = {"IDLE",      "RESOLVING", "CONNECTING", "TLS_HANDSHAKE",
                                        "UPGRADING", "OPEN",      "CLOSING",    "CLOSED",
                                        "BACKOFF"};
    if ((unsigned)state < sizeof names / sizeof names[0]) return names[state];
    return "UNKNOWN";
}

HL_API int hl_err_retryable(int result, int http_status)
{
    if (result == HL_E_HANDSHAKE || result == HL_OK) {
        if (http_status == 408 || http_status == 429 || http_status >= 500) return 1;
        return http_status == 0 && result == HL_OK; /* a clean close by the peer */
    }
    switch (result) {
    case HL_E_CONNECT_TIMEOUT: case HL_E_HANDSHAKE_TIMEOUT: case HL_E_CLOSE_TIMEOUT:
    case HL_E_PONG_TIMEOUT: case HL_E_SILENCE: case HL_E_REQUEST_TIMEOUT:
    case HL_E_DNS: case HL_E_CONNECT_REFUSED: case HL_E_CONNECT: case HL_E_IO: case HL_E_RESET:
    case HL_E_EOF: case HL_E_TLS: case HL_E_PROTOCOL: case HL_E_BAD_UTF8: case HL_E_HTTP_PROTOCOL:
    case HL_E_CLOSED: case HL_E_RATE_LIMITED: case HL_E_CIRCUIT_OPEN:
        return 1;
    default: /* usage errors, HL_E_TLS_CERT, limits of our own configuration */
        return 0;
    }
}
