/* Default clock and entropy, and the generator that makes masking keys and handshake keys. */

static uint64_t hl__clock_default(void *user)
{
    (void)user;
#if defined(_WIN32)
    {
        LARGE_INTEGER f, c;
        QueryPerformanceFrequency(&f);
        QueryPerformanceCounter(&c);
        return (uint64_t)((double)c.QuadPart * 1e9 / (double)f.QuadPart);
    }
#else
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
#endif
}

/* Wall-clock Unix seconds: only certificate dates need it. */
static int64_t hl__wall_clock_default(void *user)
{
    (void)user;
    return (int64_t)time(NULL);
}

#if defined(_WIN32)
/* RtlGenRandom lives in advapi32 under the name SystemFunction036. */
BOOLEAN NTAPI SystemFunction036(PVOID buf, ULONG len);
static int hl__entropy_default(void *user, void *buf, size_t len)
{
    (void)user;
    return SystemFunction036(buf, (ULONG)len) ? 0 : -1;
}
#else
static int hl__entropy_default(void *user, void *buf, size_t len)
{
    unsigned char *p = (unsigned char *)buf;
    int fd;
    (void)user;
    fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0) return -1;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return 0;
}
#endif

/* 32-bit rotate left (SHA-1, ChaCha20). */
static uint32_t hl__rotl32(uint32_t v, int n)
{
    return (v << n) | (v >> (32 - n));
}

#if HL_ENABLE_TLS
/* With BearSSL built in, masking keys and handshake keys come from its HMAC-DRBG (SHA-256),
   seeded from the OS through config.entropy and mixed with BearSSL's own system seeder, and
   drawn through a small pool: one DRBG call per 4-byte key would cost more than the frame. */
typedef struct hl__rng {
    br_hmac_drbg_context drbg;
    unsigned char pool[256];
    unsigned used; /* bytes of pool already handed out */
} hl__rng;

static void hl__rng_seed(hl__rng *r, const unsigned char seed[44])
{
    br_prng_seeder sys = br_prng_seeder_system(NULL);
    br_hmac_drbg_init(&r->drbg, &br_sha256_vtable, seed, 44);
    if (sys) sys(&r->drbg.vtable);
    r->used = sizeof r->pool;
}

static void hl__rng_bytes(hl__rng *r, unsigned char *out, size_t n)
{
    while (n > 0) {
        size_t k;
        if (r->used == sizeof r->pool) {
            br_hmac_drbg_generate(&r->drbg, r->pool, sizeof r->pool);
            r->used = 0;
        }
        k = HL__MIN(n, sizeof r->pool - r->used);
        HL_MEMCPY(out, r->pool + r->used, k);
        HL_MEMSET(r->pool + r->used, 0, k); /* handed-out bytes are not kept */
        r->used += (unsigned)k;
        out += k;
        n -= k;
    }
}
#else
/* ChaCha20 keystream (RFC 8439 block function) keyed once from the entropy source: masking keys
   are needed per frame, and a system call per frame would cost more than the frame. */
typedef struct hl__rng {
    uint32_t key[8];
    uint32_t counter;
    uint32_t nonce[3];
    unsigned char block[64];
    unsigned used; /* bytes of block already handed out */
} hl__rng;

#define HL__QR(a, b, c, d)                                                                        \
    do {                                                                                          \
        a += b; d ^= a; d = hl__rotl32(d, 16);                                                    \
        c += d; b ^= c; b = hl__rotl32(b, 12);                                                    \
        a += b; d ^= a; d = hl__rotl32(d, 8);                                                     \
        c += d; b ^= c; b = hl__rotl32(b, 7);                                                     \
    } while (0)

static void hl__chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
                               unsigned char out[64])
{
    uint32_t s[16], x[16];
    int i;
    s[0] = 0x61707865u; s[1] = 0x3320646eu; s[2] = 0x79622d32u; s[3] = 0x6b206574u;
    for (i = 0; i < 8; i++) s[4 + i] = key[i];
    s[12] = counter;
    s[13] = nonce[0]; s[14] = nonce[1]; s[15] = nonce[2];
    for (i = 0; i < 16; i++) x[i] = s[i];
    for (i = 0; i < 10; i++) {
        HL__QR(x[0], x[4], x[8], x[12]);
        HL__QR(x[1], x[5], x[9], x[13]);
        HL__QR(x[2], x[6], x[10], x[14]);
        HL__QR(x[3], x[7], x[11], x[15]);
        HL__QR(x[0], x[5], x[10], x[15]);
        HL__QR(x[1], x[6], x[11], x[12]);
        HL__QR(x[2], x[7], x[8], x[13]);
        HL__QR(x[3], x[4], x[9], x[14]);
    }
    for (i = 0; i < 16; i++) {
        uint32_t v = x[i] + s[i];
        out[4 * i] = (unsigned char)v;
        out[4 * i + 1] = (unsigned char)(v >> 8);
        out[4 * i + 2] = (unsigned char)(v >> 16);
        out[4 * i + 3] = (unsigned char)(v >> 24);
    }
}

static uint32_t hl__load32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Seed from 44 bytes of entropy (key and nonce). */
static void hl__rng_seed(hl__rng *r, const unsigned char seed[44])
{
    int i;
    for (i = 0; i < 8; i++) r->key[i] = hl__load32le(seed + 4 * i);
    for (i = 0; i < 3; i++) r->nonce[i] = hl__load32le(seed + 32 + 4 * i);
    r->counter = 0;
    r->used = 64;
}

static void hl__rng_bytes(hl__rng *r, unsigned char *out, size_t n)
{
    while (n > 0) {
        size_t k;
        if (r->used == 64) {
            hl__chacha20_block(r->key, r->counter++, r->nonce, r->block);
            if (r->counter == 0) r->nonce[0]++; /* 256 GiB later: move to a fresh stream */
            r->used = 0;
        }
        k = HL__MIN(n, (size_t)(64 - r->used));
        HL_MEMCPY(out, r->block + r->used, k);
        HL_MEMSET(r->block + r->used, 0, k); /* handed-out bytes are not kept */
        r->used += (unsigned)k;
        out += k;
        n -= k;
    }
}
#endif /* HL_ENABLE_TLS */
