#if defined(HL_NET_IMPLEMENTATION) && !defined(HL_NET_IMPLEMENTATION_INCLUDED)
#define HL_NET_IMPLEMENTATION_INCLUDED

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#endif
#if HL_ENABLE_TLS
/* BearSSL's headers test an undefined macro with #if; keep -Wundef for our own code. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#endif
#include <bearssl.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif
/* jsmn puts its definitions in its header: keep them private to this file, with the settings we
   rely on. Its header must not have been included before with other settings. */
#ifdef JSMN_H
#error "define HL_NET_IMPLEMENTATION in a file that does not include jsmn.h itself"
#endif
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Hook macros: a host may route these to its own primitives. */
#ifndef HL_ASSERT
#include <assert.h>
#define HL_ASSERT(c) assert(c)
#endif
#ifndef HL_MEMCPY
#define HL_MEMCPY(d, s, n) memcpy((d), (s), (n))
#endif
#ifndef HL_MEMMOVE
#define HL_MEMMOVE(d, s, n) memmove((d), (s), (n))
#endif
#ifndef HL_MEMSET
#define HL_MEMSET(d, v, n) memset((d), (v), (n))
#endif

#ifdef HL_NET_STATIC
#define HL__FN static
#else
#define HL__FN
#endif

#define HL__MIN(a, b) ((a) < (b) ? (a) : (b))
#define HL__MAX(a, b) ((a) > (b) ? (a) : (b))
#define HL__NS_PER_MS 1000000u

/* Bounded formatting into a fixed buffer; always NUL-terminates. */
static void hl__fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (cap == 0) return;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

static int hl__lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive comparison of n bytes (HTTP header names, tokens). */
static int hl__ieq(const char *a, const char *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (hl__lower((unsigned char)a[i]) != hl__lower((unsigned char)b[i])) return 0;
    return 1;
}
