/*
 * A bump allocator: terms of one decode live and die together.
 */
#include <stdlib.h>

#include "etf_int.h"

#define ARENA_FIRST_BLOCK 4096
#define ARENA_MAX_BLOCK (1u << 20)

etf_arena *
etf_arena_new(void)
{
    etf_arena *a = calloc(1, sizeof(*a));

    if (a != NULL)
        a->next_size = ARENA_FIRST_BLOCK;
    return a;
}

void
etf_arena_free(etf_arena *a)
{
    struct arena_block *b, *next;

    if (a == NULL)
        return;
    for (b = a->first; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void
etf_arena_reset(etf_arena *a)
{
    if (a == NULL || a->first == NULL)
        return;
    /* Keep every block: the next use refills them without malloc. */
    a->cur = a->first;
    a->cur->used = 0;
}

void *
etf_arena_alloc(etf_arena *a, size_t n)
{
    struct arena_block *b = a->cur;
    size_t size;
    void *p;

    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n == 0)
        n = ARENA_ALIGN;
    /* Move on through blocks kept from before a reset. */
    while (b != NULL && b->size - b->used < n && b->next != NULL &&
           b->next->size >= n) {
        b = b->next;
        b->used = 0;
        a->cur = b;
    }
    if (b == NULL || b->size - b->used < n) {
        size = a->next_size;
        if (a->next_size < ARENA_MAX_BLOCK)
            a->next_size *= 2;
        if (size < n)
            size = n;
        if (size > SIZE_MAX - sizeof(*b))
            return NULL;
        b = malloc(sizeof(*b) + size);
        if (b == NULL)
            return NULL;
        b->size = size;
        b->used = 0;
        /* Insert after cur, so blocks after it stay reusable. */
        if (a->cur == NULL) {
            b->next = NULL;
            a->first = a->last = b;
        } else {
            b->next = a->cur->next;
            a->cur->next = b;
            if (a->last == a->cur)
                a->last = b;
        }
        a->cur = b;
    }
    p = b->data + b->used;
    b->used += n;
    return p;
}

size_t
etf_arena_used(const etf_arena *a)
{
    const struct arena_block *b;
    size_t n = 0;

    /* Blocks after cur are kept from before a reset, unused. */
    for (b = a->first; b != NULL; b = b->next) {
        n += b->used;
        if (b == a->cur)
            break;
    }
    return n;
}

char *
etf_arena_strdup(etf_arena *a, const void *p, size_t len)
{
    char *s = etf_arena_alloc(a, len + 1);

    if (s == NULL)
        return NULL;
    if (len > 0)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}
