/*
 * Private helpers shared by libetf's sources.
 */
#ifndef ETF_INT_H
#define ETF_INT_H

#include <stdarg.h>
#include <string.h>

#include "etf.h"
#include "tags.h"

#if defined(__GNUC__)
#define ETF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ETF_PRINTF(f, a)
#endif

/* Fill err (if not NULL) with code, position and a formatted message;
 * returns -1 so callers can `return etf_fail(...)`. */
int etf_fail(etf_error *err, etf_code code, size_t pos, const char *fmt, ...)
    ETF_PRINTF(4, 5);

/* Check that len bytes of UTF-8 are valid (no overlongs, surrogates or
 * code points above U+10FFFF); on success *chars is the character count. */
bool utf8_valid(const uint8_t *p, size_t len, size_t *chars);
/* The same, and *latin1 (if not NULL) tells whether every character is at
 * most U+00FF. */
bool utf8_check(const uint8_t *p, size_t len, size_t *chars, bool *latin1);
/* Check n < 32 bytes of UTF-8 at p, where 32 bytes may be read, and
 * store them at out (32 bytes, unless NULL) with zeros after them. */
bool utf8_short(const uint8_t *p, size_t n, uint8_t *out);
/* Decode one code point at p (which must be valid UTF-8 of n bytes left);
 * returns its length in bytes, 0 on invalid input. */
size_t utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);
/* Encode cp into out (at least 4 bytes); returns the byte count. */
size_t utf8_encode(uint32_t cp, uint8_t *out);
/* Latin-1 text of n bytes as UTF-8 at out, which has room for 2 * n
 * bytes; returns the bytes written. */
size_t utf8_from_latin1(const uint8_t *p, size_t n, uint8_t *out);
/* True when every character of valid UTF-8 text is at most U+00FF. */
bool utf8_is_latin1(const uint8_t *p, size_t len);

/* True when the 8 bytes at p are all ASCII. */
static inline bool
ascii8(const uint8_t *p)
{
    uint64_t w;

    memcpy(&w, p, 8);
    return (w & 0x8080808080808080ULL) == 0;
}

static inline uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t
get64(const uint8_t *p)
{
    return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static inline void
put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void
put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* Copy len bytes into the arena, with a NUL after them. */
char *etf_arena_strdup(etf_arena *a, const void *p, size_t len);

#define ARENA_ALIGN 16

struct arena_block {
    struct arena_block *next;
    size_t size; /* bytes of data */
    size_t used;
    _Alignas(16) unsigned char data[];
};

/* Blocks in the order they were made; cur is the one being filled, the
 * ones after it are free for reuse after a reset. */
struct etf_arena {
    struct arena_block *first, *cur, *last;
    size_t next_size;
};

/* etf_arena_alloc, with the common case inline: room in the current
 * block. */
static inline void *
arena_alloc(etf_arena *a, size_t n)
{
    struct arena_block *b = a->cur;
    size_t r = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    void *p;

    if (b == NULL || n == 0 || n > SIZE_MAX / 2 || b->size - b->used < r)
        return etf_arena_alloc(a, n);
    p = b->data + b->used;
    b->used += r;
    return p;
}

/* An atom at b in one of its four common forms, well formed: its view in
 * *av and the bytes it takes; 0 for anything else, which the general path
 * reads again to report. The decoder's and etf_skip's quick paths. */
static inline size_t
etf_atom_common(const uint8_t *b, size_t left, etf_atomv *av)
{
    size_t n, chars;

    if (left < 2)
        return 0;
    switch (b[0]) {
    case TAG_SMALL_ATOM_UTF8_EXT:
        /* At most 255 bytes, so at most 255 characters. */
        if (left - 2 < (n = b[1]))
            return 0;
        if (n < 32 && left - 2 >= 32 ? !utf8_short(b + 2, n, NULL)
                                     : !utf8_valid(b + 2, n, NULL))
            return 0; /* one block read when 32 bytes may be */
        *av = (etf_atomv){.p = (const char *)b + 2, .len = n};
        return 2 + n;
    case TAG_ATOM_UTF8_EXT:
        if (left < 3 || left - 3 < (n = get16(b + 1)))
            return 0;
        /* Under 32 bytes is under 256 characters. */
        if (n < 32 && left - 3 >= 32) {
            if (!utf8_short(b + 3, n, NULL))
                return 0;
        } else if (!utf8_valid(b + 3, n, &chars) || chars > ETF_MAX_ATOM_CHARS)
            return 0;
        *av = (etf_atomv){.p = (const char *)b + 3, .len = n};
        return 3 + n;
    case TAG_SMALL_ATOM_EXT:
        if (left - 2 < (n = b[1]))
            return 0;
        *av = (etf_atomv){.p = (const char *)b + 2, .len = n, .latin1 = true};
        return 2 + n;
    case TAG_ATOM_EXT:
        if (left < 3 || (n = get16(b + 1)) > ETF_MAX_ATOM_CHARS || left - 3 < n)
            return 0;
        *av = (etf_atomv){.p = (const char *)b + 3, .len = n, .latin1 = true};
        return 3 + n;
    }
    return 0;
}

#endif
