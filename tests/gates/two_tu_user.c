/* Gate: the header-only side of the two-translation-unit build (see two_tu_impl.c). */
#include "hl_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hl_gate_two_tu_impl_side(void);

int main(void)
{
    hl_config cfg;
    hl_ctx *ctx;
    size_t size;
    void *mem;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.max_message_size = 4096;
    size = hl_ctx_size(&cfg);
    mem = malloc(size);
    if (!mem) return 1;
    rc = hl_ctx_init(&ctx, mem, size, &cfg);
    if (rc != HL_OK) {
        printf("hl_ctx_init: %s\n", hl_result_str(rc));
        free(mem);
        return 1;
    }
    rc = hl_poll(ctx, 0) < 0;
    hl_ctx_shutdown(ctx);
    free(mem);
    if (rc) return 1;
    if (strcmp(hl_result_name(HL_E_CONNECT_REFUSED), "HL_E_CONNECT_REFUSED") != 0) return 1;
    return hl_gate_two_tu_impl_side();
}
