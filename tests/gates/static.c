/* Gate: HL_NET_STATIC makes every function static, so two programs (or two libraries) can each
   embed their own copy. Built with -Werror: unused static functions must not warn. */
#define HL_NET_STATIC
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <string.h>

int main(void)
{
    static unsigned char mem[1 << 21];
    hl_config cfg;
    hl_ctx *ctx;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.max_message_size = 4096;
    if (hl_ctx_size(&cfg) > sizeof mem) return 1;
    if (hl_ctx_init(&ctx, mem, sizeof mem, &cfg) != HL_OK) return 1;
    hl_ctx_shutdown(ctx);
    return 0;
}
