// Gate: a C++ program that includes the header only and links against the implementation
// compiled as C: the extern "C" block must make the names match.
#include "hl_net.h"

#include <cstdio>
#include <cstring>
#include <vector>

int main()
{
    hl_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 1;
    cfg.max_message_size = 4096;
    std::vector<unsigned char> mem(hl_ctx_size(&cfg));
    hl_ctx *ctx = 0;
    int rc = hl_ctx_init(&ctx, &mem[0], mem.size(), &cfg);
    if (rc != HL_OK) {
        std::printf("hl_ctx_init: %s\n", hl_result_str(rc));
        return 1;
    }
    hl_ctx_shutdown(ctx);
    return 0;
}
