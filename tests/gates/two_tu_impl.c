/* Gate: two translation units. This one holds the implementation and calls the API itself;
   two_tu_user.c includes the header only. Linked together they must build and run. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include <string.h>

int hl_gate_two_tu_impl_side(void);

int hl_gate_two_tu_impl_side(void)
{
    hl_url u;
    if (hl_url_parse("ws://example.com:9001/x?y=1", &u, NULL, 0) != HL_OK) return 1;
    if (u.port != 9001 || strcmp(u.host, "example.com") != 0) return 1;
    return 0;
}
