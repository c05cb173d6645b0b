/* Bump arena over the caller's block. With base == NULL it only counts, so hl_ctx_size runs the
   very carving code hl_ctx_init runs and the two can never disagree. */
typedef struct hl__arena {
    unsigned char *base;
    size_t size;
    size_t used;
} hl__arena;

#define HL__ALIGN 16u

static void *hl__arena_alloc(hl__arena *a, size_t n)
{
    size_t start = (a->used + (HL__ALIGN - 1)) & ~(size_t)(HL__ALIGN - 1);
    if (start < a->used || n > (size_t)-1 - start) return NULL;
    a->used = start + n;
    if (!a->base) return NULL;
    if (a->used > a->size) return NULL;
    return a->base + start;
}
