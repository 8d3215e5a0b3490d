/*
 * Checked allocation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

void *
xmalloc(size_t size)
{
    void *p;

    if (size == 0)
        fatalx("xmalloc: zero size");
    if ((p = malloc(size)) == NULL)
        fatalx("xmalloc: allocating %zu bytes: out of memory", size);
    return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
    void *p;

    if (nmemb == 0 || size == 0)
        fatalx("xcalloc: zero size");
    if ((p = calloc(nmemb, size)) == NULL)
        fatalx("xcalloc: allocating %zu * %zu bytes: out of memory", nmemb,
               size);
    return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
    void *p;

    if (nmemb == 0 || size == 0)
        fatalx("xreallocarray: zero size");
    if (nmemb > SIZE_MAX / size)
        fatalx("xreallocarray: %zu * %zu bytes overflows", nmemb, size);
    if ((p = realloc(ptr, nmemb * size)) == NULL)
        fatalx("xreallocarray: allocating %zu * %zu bytes: out of memory",
               nmemb, size);
    return p;
}

char *
xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(xmalloc(n), s, n);
}
