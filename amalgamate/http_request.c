/* An HTTP request as the client keeps it: a slot holding the request rendered to its exact bytes
   (so a retry sends the same bytes), its policy and timers; and the endpoints (origin + path,
   each with a breaker and statistics) and origins (a weight bucket and the pool's share) it
   belongs to. */

enum {
    HL__HREQ_FREE = 0,
    HL__HREQ_QUEUED,   /* waiting for a connection, the rate budget or its retry time */
    HL__HREQ_ACTIVE,   /* on a connection */
    HL__HREQ_HELD      /* done by hl_http_fetch: its response stays readable until the next call */
};

#define HL__HTTP_LAT_BUCKETS 24 /* latency histogram: bucket i holds < 2^(i+4) microseconds */

typedef struct hl__hreq {
    uint32_t id, gen;
    int state;
    uint64_t seq;             /* submit order: the queue is served first come, first served */
    int32_t endpoint, origin;
    int32_t conn;             /* the connection while ACTIVE, else -1 */
    char *buf;                /* the rendered request */
    size_t len;
    int head;                 /* a HEAD request: no response body */
    int idempotent;
    uint32_t max_retries, attempts, weight;
    uint32_t connect_ms, first_byte_ms;
    uint64_t start_ns, deadline_ns, next_try_ns;
    int fresh_retry_used;     /* the one free retry after a pooled connection turned out closed */
    int hold;                 /* hl_http_fetch: keep the response until the next call */
    char detail[200];         /* why it failed, kept with the slot */
    hl_http_fn cb;
    void *user;
    char id_text[17];         /* X-Request-Id */
    char method[12];
    char target[64];          /* for log lines: the start of the path */
} hl__hreq;

typedef struct hl__origin {
    int used;
    hl_scheme scheme;
    uint16_t port;
    int is_ipv6;
    char host[HL_URL_MAX_HOST + 1];
    hl__bucket weight;
    unsigned char pins[32 * 4];
    int npins;
    int pins_fixed;
} hl__origin;

typedef struct hl__endpoint {
    int used;
    int32_t origin;
    uint64_t path_hash;
    char path[64];            /* shown in stats (cut at 63 bytes, query dropped) */
    hl__breaker breaker;
    uint64_t requests, retries, bytes_out, bytes_in;
    uint64_t by_class[6];     /* responses 1xx..5xx by first digit; [0] unused */
    uint64_t err_timeout, err_network, err_tls, err_protocol, err_refused; /* attempts without a response */
    uint64_t lat_count, lat_sum_ns, lat_min_ns, lat_max_ns;
    uint32_t lat_hist[HL__HTTP_LAT_BUCKETS];
} hl__endpoint;

static int hl__method_idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
           !strcmp(m, "OPTIONS") || !strcmp(m, "TRACE");
}

static const char *const hl__http_reserved[] = {"host", "content-length", "connection", "transfer-encoding",
                                                "x-request-id", "traceparent"};

static void hl__hex(char *out, const unsigned char *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Render the request into out (cap bytes): request line, Host, our headers, the caller's, the
   body. Returns the length, or a negative result with the reason in why. */
static long hl__http_render(char *out, size_t cap, const hl_url *u, const hl_http_req *req, const char *method,
                            const char *req_id, const char *traceparent, char *why, size_t wcap)
{
    hl__strbuf b;
    char num[32];
    int i;
    b.p = out;
    b.cap = cap;
    b.len = 0;
    b.overflow = 0;
    for (i = 0; i < req->header_count; i++)
        if (hl__header_check(&req->headers[i], hl__http_reserved, sizeof hl__http_reserved / sizeof hl__http_reserved[0],
                             why, wcap) != HL_OK)
            return HL_E_INVALID;
    hl__sb_request_line(&b, method, u);
    hl__sb_str(&b, "User-Agent: hl_net/" HL_NET_VERSION "\r\nX-Request-Id: ");
    hl__sb_str(&b, req_id);
    hl__sb_str(&b, "\r\n");
    if (traceparent) {
        hl__sb_str(&b, "traceparent: ");
        hl__sb_str(&b, traceparent);
        hl__sb_str(&b, "\r\n");
    }
    for (i = 0; i < req->header_count; i++) {
        hl__sb_str(&b, req->headers[i].name);
        hl__sb_str(&b, ": ");
        hl__sb_str(&b, req->headers[i].value);
        hl__sb_str(&b, "\r\n");
    }
    if (req->body_len || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        hl__fmt(num, sizeof num, "Content-Length: %lu\r\n", (unsigned long)req->body_len);
        hl__sb_str(&b, num);
    }
    hl__sb_str(&b, "\r\n");
    if (req->body_len) hl__sb_put(&b, (const char *)req->body, req->body_len);
    if (b.overflow) {
        hl__fmt(why, wcap, "request head and body over http_request_size (%lu bytes)", (unsigned long)cap);
        return HL_E_MSG_TOO_BIG;
    }
    return (long)b.len;
}
