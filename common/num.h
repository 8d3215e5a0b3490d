/*
 * Strict number parsing (no atoi): the whole string, in range.
 */
#ifndef COMMON_NUM_H
#define COMMON_NUM_H

/* Parse s as a decimal number in [min, max] with no sign, spaces or
 * trailing characters. Returns 0 and sets *out, or -1. */
int num_parse(const char *s, long long min, long long max, long long *out);

#endif
