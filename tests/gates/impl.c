/* Gate: the implementation alone, as one translation unit. tests/run.sh compiles it with gcc and
   clang under the full warning set, as C++ (g++, clang++), for Windows (mingw) and for a
   big-endian target (s390x), and inspects its symbols with nm. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
