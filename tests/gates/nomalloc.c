/* Gate: proof at run time that the library never calls malloc, calloc, realloc or free.

   Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free: every call to those
   four from this program's own object (which holds the whole implementation) goes through the
   counting wrappers below. The counters are armed from hl_ctx_init to hl_ctx_shutdown, across a
   real connection to the local Python echo server, one message each way and a closing handshake.
   Any call counted there fails the gate.

   Name resolution: the default resolver is getaddrinfo, and libc may allocate inside it (calls
   inside libc are not seen through --wrap, but the point of the gate is that a host can run with
   no allocation at all). So this program sets config.resolve to a hook that writes a 127.0.0.1
   sockaddr without getaddrinfo, and connects to a host name that only the hook knows
   ("echo.invalid"), which also shows the hook is really used.

   Built with HL_ENABLE_TLS 1 and given a CA, a certificate chain and its key, it does the same
   over wss:// (the Python server with --tls-cert/--tls-key, certificates for "localhost" from
   tests/tls/make_certs.sh), which covers the BearSSL glue as well.

   The echo server is started, and stdio is used, only outside the armed window.
   Usage (from the repo root): build/gates/nomalloc [CA.pem CHAIN.pem KEY.pem]
   Exit 0 and "ok" on success. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static int gate_armed;
static long gate_calls[4]; /* malloc, calloc, realloc, free while armed */

void *__wrap_malloc(size_t n)
{
    if (gate_armed) gate_calls[0]++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size)
{
    if (gate_armed) gate_calls[1]++;
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n)
{
    if (gate_armed) gate_calls[2]++;
    return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
    if (gate_armed) gate_calls[3]++;
    __real_free(p);
}

#define GATE_MSG "no allocation on this path"

typedef struct gate_state {
    int opened, echoed, closed, close_code, resolved, errors;
} gate_state;

static int gate_resolve(void *user, const char *host, uint16_t port, hl_addr *out, int max)
{
    struct sockaddr_in sin;
    gate_state *st = (gate_state *)user;
    if (max < 1 || (strcmp(host, "echo.invalid") != 0 && strcmp(host, "localhost") != 0))
        return HL_E_DNS;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memcpy(out[0].bytes, &sin, sizeof sin);
    out[0].len = (uint32_t)sizeof sin;
    st->resolved++;
    return 1;
}

static void gate_on_event(hl_ctx *ctx, const hl_event *ev)
{
    gate_state *st = (gate_state *)ev->user;
    switch (ev->type) {
    case HL_EV_OPEN:
        st->opened = 1;
        if (hl_ws_send(ctx, ev->ws, HL_MSG_TEXT, GATE_MSG, strlen(GATE_MSG)) != HL_OK) st->errors++;
        break;
    case HL_EV_MESSAGE:
        if (ev->len == strlen(GATE_MSG) && memcmp(ev->data, GATE_MSG, ev->len) == 0) st->echoed = 1;
        if (hl_ws_close(ctx, ev->ws, 1000, "done") != HL_OK) st->errors++;
        break;
    case HL_EV_ERROR:
        st->errors++;
        break;
    case HL_EV_CLOSE:
        st->closed = 1;
        st->close_code = ev->close_code;
        break;
    default:
        break;
    }
}

/* Start the echo server with a pipe on its stdin (it leaves when that closes) and read its
   "READY <port>" line. Returns the port, or -1. */
static int gate_server_start(pid_t *pid, int *stdin_fd, char *const *argv)
{
    int in[2], out[2], port = -1;
    char line[64];
    size_t n = 0;
    if (pipe(in) != 0 || pipe(out) != 0) return -1;
    *pid = fork();
    if (*pid < 0) return -1;
    if (*pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *stdin_fd = in[1];
    while (n + 1 < sizeof line && read(out[0], line + n, 1) == 1 && line[n] != '\n') n++;
    line[n] = '\0';
    close(out[0]);
    if (sscanf(line, "READY %d", &port) != 1) port = -1;
    return port;
}

static void gate_server_stop(pid_t pid, int stdin_fd)
{
    int i, status;
    close(stdin_fd);
    for (i = 0; i < 200; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) return;
        {
            struct timespec ts = {0, 20000000};
            nanosleep(&ts, NULL);
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

int main(int argc, char **argv)
{
    static unsigned char mem[4 << 20];
    char url[64];
    hl_config cfg;
    hl_ws_desc desc;
    hl_ctx *ctx = NULL;
    hl_ws ws;
    gate_state st;
    pid_t pid;
    int fd, port, rc, i;
    time_t deadline;
    int tls = argc == 4;
    char *server[10];

    server[0] = (char *)"/usr/bin/python3";
    server[1] = (char *)"tests/servers/ws_python_server.py";
    server[2] = (char *)"--port";
    server[3] = (char *)"0";
    server[4] = NULL;
    if (tls) {
        server[4] = (char *)"--tls-cert";
        server[5] = argv[2];
        server[6] = (char *)"--tls-key";
        server[7] = argv[3];
        server[8] = NULL;
    } else if (argc != 1) {
        printf("usage: nomalloc [CA.pem CHAIN.pem KEY.pem]\n");
        return 2;
    }
#if !HL_ENABLE_TLS
    if (tls) {
        printf("built without HL_ENABLE_TLS\n");
        return 2;
    }
#endif
    port = gate_server_start(&pid, &fd, server);
    if (port <= 0) {
        printf("cannot start tests/servers/ws_python_server.py\n");
        return 1;
    }
    memset(&st, 0, sizeof st);
    memset(&cfg, 0, sizeof cfg);
    memset(&desc, 0, sizeof desc);
    cfg.max_connections = 1;
    cfg.resolve = gate_resolve;
    cfg.user = &st;
    if (tls) {
#if HL_ENABLE_TLS
        cfg.tls_ca_file = argv[1];
#endif
        snprintf(url, sizeof url, "wss://localhost:%d/echo", port);
    } else {
        snprintf(url, sizeof url, "ws://echo.invalid:%d/echo", port);
    }
    desc.url = url;
    desc.on_event = gate_on_event;
    desc.user = &st;
    deadline = time(NULL) + 15;

    gate_armed = 1; /* ---- from here to hl_ctx_shutdown: no allocation allowed ---- */
    rc = hl_ctx_size(&cfg) <= sizeof mem ? hl_ctx_init(&ctx, mem, sizeof mem, &cfg) : HL_E_NO_MEMORY;
    if (rc == HL_OK) rc = hl_ws_connect(ctx, &desc, &ws);
    if (rc == HL_OK)
        while (!st.closed && time(NULL) < deadline) hl_poll(ctx, 100);
    if (ctx) hl_ctx_shutdown(ctx);
    gate_armed = 0; /* ---- end of the window ---- */

    gate_server_stop(pid, fd);
    if (rc != HL_OK) printf("setup failed: %s\n", hl_result_name(rc));
    for (i = 0; i < 4; i++)
        if (gate_calls[i])
            printf("%s called %ld times inside the library\n",
                   i == 0 ? "malloc" : i == 1 ? "calloc" : i == 2 ? "realloc" : "free",
                   gate_calls[i]);
    if (!st.resolved) printf("the resolver hook was not used\n");
    if (!st.opened || !st.echoed || !st.closed || st.close_code != 1000 || st.errors)
        printf("exchange incomplete: opened=%d echoed=%d closed=%d code=%d errors=%d\n", st.opened,
               st.echoed, st.closed, st.close_code, st.errors);
    if (rc != HL_OK || gate_calls[0] || gate_calls[1] || gate_calls[2] || gate_calls[3] ||
        !st.resolved || !st.opened || !st.echoed || !st.closed || st.close_code != 1000 ||
        st.errors)
        return 1;
    printf("ok: %s connect, echo and close with no malloc/calloc/realloc/free\n", tls ? "wss" : "ws");
    return 0;
}
