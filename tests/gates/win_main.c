/* Gate: a small Windows program (mingw cross-compile, linked with -lws2_32) that uses the API,
   so the link proves every Winsock and system function the implementation calls exists. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <stdio.h>

static unsigned char hl_gate_mem[1 << 21];

int main(void)
{
    hl_config cfg;
    hl_ctx *ctx;
    hl_ws_desc desc;
    hl_ws ws;
    memset(&cfg, 0, sizeof cfg);
    memset(&desc, 0, sizeof desc);
    cfg.max_connections = 1;
    cfg.max_message_size = 4096;
    if (hl_ctx_init(&ctx, hl_gate_mem, sizeof hl_gate_mem, &cfg) != HL_OK) return 1;
    desc.url = "ws://127.0.0.1:9/";
    if (hl_ws_connect(ctx, &desc, &ws) == HL_OK) hl_poll(ctx, 0);
    hl_ctx_shutdown(ctx);
    printf("ok\n");
    return 0;
}
