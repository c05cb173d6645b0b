/* autobahn_client - the echo client for the Autobahn|Testsuite "fuzzingclient" conformance run
   (and for tests/servers/fuzzingserver.py, which speaks the same control API).

   autobahn_client [-v] BASE_URL AGENT
   e.g.  autobahn_client ws://127.0.0.1:9001 hl_net

   What it does, one connection at a time, exactly as the fuzzing server expects of a client:
     1. BASE_URL/getCaseCount: the server sends the number of cases as a text message, then
        closes;
     2. for each case N = 1..count, BASE_URL/runCase?case=N&agent=AGENT: every message received
        is sent back whole with the same type (text or binary) until the connection closes;
        the library answers pings and runs the closing handshake;
     3. BASE_URL/updateReports?agent=AGENT: the server writes its reports and closes.
   The AGENT name goes into the query percent-encoded (letters, digits and "-._~" stay as they
   are), so any name is safe; the reports carry it as given.

   Configuration: max_message_size 17 MiB and send_queue_size 17 MiB (case 9.1.6 and 9.2.6
   send 16 MiB messages, which must be echoed whole), one connection slot, close timeout 3 s.
   The memory block (about 34 MiB) comes from malloc here, sized by hl_ctx_size: an application
   may get it wherever it likes; the library itself never allocates.

   With -v each case prints one line on stderr (case N/M, the close code and who closed). At the
   end a summary line goes to stderr. The verdicts are the server's (its report); this program
   only counts how the connections ended. Exit status: 0 when getCaseCount and updateReports
   worked, 1 when either failed (getCaseCount failing ends the run at once), 2 on a usage error.

   Build: cc -std=c99 -I. examples/autobahn_client.c -o build/autobahn_client */

#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AB_MAX_MESSAGE (17u << 20)
#define AB_SEND_QUEUE (17u << 20)
#define AB_URL_MAX 2048
#define AB_LIST_MAX 40 /* case numbers listed in the summary */

typedef enum ab_mode { AB_COUNT, AB_ECHO, AB_REPORTS } ab_mode;

/* One connection's story. */
typedef struct ab_conn {
    ab_mode mode;
    int done;
    int opened;
    char text[32];        /* AB_COUNT: the first message */
    int got_text;
    unsigned long echoed;
    unsigned long queue_full;
    int send_error;       /* another hl_ws_send failure */
    int result;           /* of HL_EV_CLOSE */
    int close_code;
    hl_close_origin origin;
    char detail[160];
    char reason[124];
} ab_conn;

static int ab_verbose;

static void ab_on_event(hl_ctx *ctx, const hl_event *ev)
{
    ab_conn *c = (ab_conn *)ev->user;
    int rc;
    switch (ev->type) {
    case HL_EV_OPEN:
        c->opened = 1;
        break;
    case HL_EV_MESSAGE:
        if (c->mode == AB_COUNT) {
            if (!c->got_text && ev->is_text && ev->len < sizeof c->text) {
                memcpy(c->text, ev->data, ev->len);
                c->text[ev->len] = '\0';
                c->got_text = 1;
            }
            break;
        }
        if (c->mode != AB_ECHO) break;
        rc = hl_ws_send(ctx, ev->ws, ev->is_text ? HL_MSG_TEXT : HL_MSG_BINARY, ev->data, ev->len);
        if (rc == HL_OK) {
            c->echoed++;
        } else if (rc == HL_E_QUEUE_FULL) {
            if (!c->queue_full)
                fprintf(stderr, "autobahn_client: echo of a %lu-byte message dropped: send queue full "
                                "(%lu bytes free; raise send_queue_size)\n",
                        (unsigned long)ev->len, (unsigned long)hl_ws_send_room(ctx, ev->ws));
            c->queue_full++;
        } else if (rc != HL_E_CLOSED) {
            if (!c->send_error)
                fprintf(stderr, "autobahn_client: echo failed: %s (%s)\n", hl_result_str(rc), hl_result_name(rc));
            c->send_error = rc;
        }
        break;
    case HL_EV_ERROR:
        if (ab_verbose >= 2) fprintf(stderr, "autobahn_client:   error %s: %s\n", hl_result_name(ev->result), ev->detail);
        break;
    case HL_EV_CLOSE:
        c->done = 1;
        c->result = ev->result;
        c->close_code = ev->close_code;
        c->origin = ev->close_origin;
        snprintf(c->detail, sizeof c->detail, "%s", ev->detail);
        snprintf(c->reason, sizeof c->reason, "%s", ev->reason);
        break;
    default:
        break;
    }
}

/* Connect to url and run the connection to its end. Returns HL_OK, or the hl_ws_connect or
   hl_poll failure (the connection's own outcome is in *c). */
static int ab_run(hl_ctx *ctx, const char *url, ab_mode mode, ab_conn *c)
{
    hl_ws_desc desc;
    hl_ws ws;
    int rc;
    memset(c, 0, sizeof *c);
    c->mode = mode;
    memset(&desc, 0, sizeof desc);
    desc.url = url;
    desc.on_event = ab_on_event;
    desc.user = c;
    rc = hl_ws_connect(ctx, &desc, &ws);
    if (rc != HL_OK) return rc;
    while (!c->done) {
        rc = hl_poll(ctx, 1000);
        if (rc < 0) {
            hl_ws_abort(ctx, ws);
            while (!c->done && hl_poll(ctx, 100) >= 0) {
            }
            return rc;
        }
    }
    return HL_OK;
}

static const char *ab_origin_str(hl_close_origin o)
{
    switch (o) {
    case HL_CLOSE_BY_PEER: return "by the server";
    case HL_CLOSE_BY_LOCAL: return "by us";
    case HL_CLOSE_BY_ERROR: return "by us after an error";
    default: return "";
    }
}

/* Append s to out, percent-encoding everything but RFC 3986 unreserved characters. */
static int ab_append_encoded(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (n + (plain ? 1 : 3) >= cap) return -1;
        if (plain) {
            out[n++] = (char)ch;
        } else {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    out[n] = '\0';
    return 0;
}

/* base + path + (agent, encoded) into out. */
static int ab_url(char *out, size_t cap, const char *base, const char *path, const char *agent)
{
    int n = snprintf(out, cap, "%s%s", base, path);
    if (n < 0 || (size_t)n >= cap) return -1;
    return agent ? ab_append_encoded(out, cap, agent) : 0;
}

static void ab_usage(FILE *f)
{
    fprintf(f, "usage: autobahn_client [-v] BASE_URL AGENT\n"
               "Runs every case of an Autobahn|Testsuite fuzzing server as an echo client, then\n"
               "asks it to write its reports, e.g.: autobahn_client ws://127.0.0.1:9001 hl_net\n"
               "  -v   one line per case on stderr (-v -v: also each error event)\n");
}

int main(int argc, char **argv)
{
    static char base[AB_URL_MAX], url[AB_URL_MAX];
    const char *base_arg = NULL, *agent = NULL;
    hl_config cfg;
    hl_ctx *ctx = NULL;
    void *mem;
    size_t need;
    ab_conn c;
    char *end;
    long count, i;
    int rc, status = 0, k;
    unsigned long normal = 0, other_code = 0, errors = 0, queue_full = 0, echoed = 0;
    long listed[AB_LIST_MAX];
    int nlisted = 0;
    size_t blen;

    for (k = 1; k < argc; k++) {
        if (strcmp(argv[k], "-v") == 0) ab_verbose++;
        else if (strcmp(argv[k], "-vv") == 0) ab_verbose += 2;
        else if (strcmp(argv[k], "-h") == 0 || strcmp(argv[k], "--help") == 0) {
            ab_usage(stdout);
            return 0;
        } else if (argv[k][0] == '-') {
            fprintf(stderr, "autobahn_client: unknown option '%s'\n", argv[k]);
            ab_usage(stderr);
            return 2;
        } else if (!base_arg) base_arg = argv[k];
        else if (!agent) agent = argv[k];
        else {
            ab_usage(stderr);
            return 2;
        }
    }
    if (!base_arg || !agent || !agent[0]) {
        ab_usage(stderr);
        return 2;
    }
    blen = strlen(base_arg);
    while (blen > 0 && base_arg[blen - 1] == '/') blen--; /* "ws://host:9001/" works too */
    if (blen >= sizeof base) {
        fprintf(stderr, "autobahn_client: BASE_URL too long\n");
        return 2;
    }
    memcpy(base, base_arg, blen);
    base[blen] = '\0';

    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.max_message_size = AB_MAX_MESSAGE;
    cfg.send_queue_size = AB_SEND_QUEUE;
    cfg.close_timeout_ms = 3000;
    /* wss:// runs trust the CA named the way OpenSSL tools name it */
    cfg.tls_ca_file = getenv("SSL_CERT_FILE");
    cfg.connects_per_minute = HL_UNLIMITED; /* one connection per case, 301 in a few seconds */
    need = hl_ctx_size(&cfg);
    mem = malloc(need);
    if (!mem) {
        fprintf(stderr, "autobahn_client: cannot allocate %lu bytes\n", (unsigned long)need);
        return 1;
    }
    rc = hl_ctx_init(&ctx, mem, need, &cfg);
    if (rc != HL_OK) {
        fprintf(stderr, "autobahn_client: hl_ctx_init failed: %s (%s)\n", hl_result_str(rc), hl_result_name(rc));
        free(mem);
        return 1;
    }

    /* 1. the number of cases */
    if (ab_url(url, sizeof url, base, "/getCaseCount", NULL) != 0) {
        fprintf(stderr, "autobahn_client: BASE_URL too long\n");
        status = 2;
        goto out;
    }
    rc = ab_run(ctx, url, AB_COUNT, &c);
    if (rc != HL_OK || !c.got_text) {
        if (rc != HL_OK)
            fprintf(stderr, "autobahn_client: getCaseCount failed: %s: %s (%s)\n", url, hl_result_str(rc), hl_result_name(rc));
        else if (c.result != HL_OK)
            fprintf(stderr, "autobahn_client: getCaseCount failed: %s (%s)\n", c.detail, hl_result_name(c.result));
        else
            fprintf(stderr, "autobahn_client: getCaseCount failed: the server closed (%d) without sending the count\n",
                    c.close_code);
        status = 1;
        goto out;
    }
    count = strtol(c.text, &end, 10);
    if (end == c.text || *end != '\0' || count < 0 || count > 100000) {
        fprintf(stderr, "autobahn_client: getCaseCount failed: '%s' is not a case count\n", c.text);
        status = 1;
        goto out;
    }
    if (ab_verbose) fprintf(stderr, "autobahn_client: %ld cases at %s, agent '%s'\n", count, base, agent);

    /* 2. the cases, one after the other */
    for (i = 1; i <= count; i++) {
        char path[64];
        snprintf(path, sizeof path, "/runCase?case=%ld&agent=", i);
        if (ab_url(url, sizeof url, base, path, agent) != 0) {
            fprintf(stderr, "autobahn_client: BASE_URL and AGENT make a URL over %d bytes\n", AB_URL_MAX);
            status = 2;
            goto out;
        }
        rc = ab_run(ctx, url, AB_ECHO, &c);
        if (rc != HL_OK) {
            fprintf(stderr, "autobahn_client: case %ld/%ld: %s (%s)\n", i, count, hl_result_str(rc), hl_result_name(rc));
            errors++;
            if (nlisted < AB_LIST_MAX) listed[nlisted++] = i;
            continue;
        }
        echoed += c.echoed;
        queue_full += c.queue_full;
        if (c.result != HL_OK) {
            errors++;
            if (nlisted < AB_LIST_MAX) listed[nlisted++] = i;
        } else if (c.close_code == 1000) {
            normal++;
        } else {
            other_code++;
        }
        if (ab_verbose) {
            fprintf(stderr, "autobahn_client: case %ld/%ld: close %d %s, %lu echoed", i, count, c.close_code,
                    ab_origin_str(c.origin), c.echoed);
            if (c.result != HL_OK) fprintf(stderr, " (%s: %s)", hl_result_name(c.result), c.detail);
            if (c.queue_full) fprintf(stderr, ", %lu dropped: queue full", c.queue_full);
            fputc('\n', stderr);
        }
    }

    /* 3. the reports */
    if (ab_url(url, sizeof url, base, "/updateReports?agent=", agent) != 0) {
        status = 2;
        goto out;
    }
    rc = ab_run(ctx, url, AB_REPORTS, &c);
    if (rc != HL_OK || (c.result != HL_OK && !c.opened)) {
        fprintf(stderr, "autobahn_client: updateReports failed: %s (%s)\n",
                rc != HL_OK ? hl_result_str(rc) : c.detail, hl_result_name(rc != HL_OK ? rc : c.result));
        status = 1;
    } else if (ab_verbose) {
        fprintf(stderr, "autobahn_client: updateReports: close %d %s\n", c.close_code, ab_origin_str(c.origin));
    }

    fprintf(stderr, "autobahn_client: %ld cases: %lu closed with 1000, %lu with another code, %lu ended by an "
                    "error; %lu messages echoed, %lu echoes dropped (queue full)\n",
            count, normal, other_code, errors, echoed, queue_full);
    if (nlisted && ab_verbose) {
        fprintf(stderr, "autobahn_client: cases ended by an error (the report says whether that was expected):");
        for (k = 0; k < nlisted; k++) fprintf(stderr, " %ld", listed[k]);
        fprintf(stderr, "%s\n", errors > (unsigned long)nlisted ? " ..." : "");
    }

out:
    hl_ctx_shutdown(ctx);
    free(mem);
    return status;
}
