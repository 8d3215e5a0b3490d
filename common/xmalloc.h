/*
 * Allocation wrappers that exit on failure: for daemons only, never for
 * libraries that parse network input.
 */
#ifndef COMMON_XMALLOC_H
#define COMMON_XMALLOC_H

#include <stddef.h>

/* Allocate size bytes (size > 0); exit on failure. */
void *xmalloc(size_t size);
/* Allocate nmemb zeroed elements; exit on overflow or failure. */
void *xcalloc(size_t nmemb, size_t size);
/* Resize ptr to nmemb elements of size; exit on overflow or failure. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
/* Duplicate a string; exit on failure. */
char *xstrdup(const char *s);

#endif
