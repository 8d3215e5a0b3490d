/*
 * Fuzz the Erlang text parser and printer. Invariants: an error points
 * inside the input; a term that parses prints (~w and ~tp) as UTF-8,
 * NUL-free unless a local fun's module holds one, that parses back to the same
 * term (=:=) and encodes to the same bytes. Input that starts with 131 is also
 * decoded as ETF, and a term that decodes prints as text that parses back to it
 * (=:=). The documented exceptions: local funs, and exports whose atoms are not
 * ASCII (OTP prints them byte by byte) or whose arity is above 255.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
ascii(const etf_term *atom)
{
    uint32_t i;

    for (i = 0; i < atom->len; i++)
        if ((uint8_t)atom->v.str[i] >= 0x80)
            return false;
    return true;
}

/* True when t holds a term whose text does not read back: a local fun,
 * an export of a non-ASCII atom or of arity above 255 (walked without
 * recursion: terms nest 100,000 deep). */
static bool
unreadable(const etf_term *t)
{
    const etf_term **stack;
    size_t n = 0, cap = 64, i, k;
    bool found = false;

    if ((stack = malloc(cap * sizeof(*stack))) == NULL)
        abort();
    stack[n++] = t;
    while (n > 0 && !found) {
        t = stack[--n];
        switch (t->kind) {
        case ETF_EXPORT:
            found = !ascii(&t->v.exp->module) || !ascii(&t->v.exp->function) ||
                    t->v.exp->arity > 255;
            break;
        case ETF_FUN:
            found = true;
            break;
        case ETF_TUPLE:
        case ETF_MAP:
        case ETF_LIST:
            k = t->kind == ETF_MAP    ? 2 * (size_t)t->len
                : t->kind == ETF_LIST ? (size_t)t->len + 1
                                      : t->len;
            for (i = 0; i < k; i++) {
                if (n == cap) {
                    cap *= 2;
                    stack = realloc(stack, cap * sizeof(*stack));
                    if (stack == NULL)
                        abort();
                }
                stack[n++] = &t->v.elems[i];
            }
            break;
        default:
            break;
        }
    }
    free(stack);
    return found;
}

/* Well-formed UTF-8 structure (lead byte, continuation bytes). */
static bool
utf8_ok(const char *s, size_t n)
{
    size_t i = 0, k, j;
    uint8_t c;

    while (i < n) {
        c = (uint8_t)s[i];
        k = c < 0x80                 ? 1
            : c >= 0xC2 && c <= 0xDF ? 2
            : c >= 0xE0 && c <= 0xEF ? 3
            : c >= 0xF0 && c <= 0xF4 ? 4
                                     : 0;
        if (k == 0 || i + k > n)
            return false;
        for (j = 1; j < k; j++)
            if (((uint8_t)s[i + j] & 0xC0) != 0x80)
                return false;
        i += k;
    }
    return true;
}

static void
check_round_trip(etf_arena *a, const etf_term *t, etf_text_fmt fmt, bool exact,
                 bool same_bytes)
{
    size_t n, len1, len2;
    etf_error err;
    etf_term *back;
    uint8_t *b1, *b2;
    char *s = etf_format(t, fmt, &n);

    if (s == NULL)
        abort();
    /* A local fun's module prints raw, NUL and all, as OTP prints it. */
    if ((exact && memchr(s, '\0', n) != NULL) || s[n] != '\0' || !utf8_ok(s, n))
        abort();
    back = etf_parse(a, s, n, &err);
    if (!exact) {
        free(s);
        return;
    }
    if (back == NULL) {
        fprintf(stderr, "printed text does not parse: %s\n%s\n", err.msg, s);
        abort();
    }
    if (!etf_equal(t, back)) {
        fprintf(stderr, "printed text parses to another term:\n%s\n", s);
        abort();
    }
    if (!same_bytes) {
        free(s);
        return;
    }
    b1 = etf_encode_alloc(t, NULL, &len1, &err);
    b2 = etf_encode_alloc(back, NULL, &len2, &err);
    if (b1 == NULL || b2 == NULL || len1 != len2 || memcmp(b1, b2, len1) != 0)
        abort();
    free(b1);
    free(b2);
    free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    etf_arena *a = etf_arena_new();
    etf_error err;
    etf_term *t;
    bool exact;

    if (a == NULL)
        return 0;
    t = etf_parse(a, (const char *)data, size, &err);
    if (t == NULL) {
        if (err.pos > size || err.code == ETF_OK)
            abort();
    } else {
        exact = !unreadable(t);
        check_round_trip(a, t, ETF_TEXT_W, exact, true);
        check_round_trip(a, t, ETF_TEXT_TP, exact, true);
    }
    if (size > 0 && data[0] == 131) {
        /* The tree the decoder makes, in whatever shape it has (maps out
         * of order, lists with string tails, bignums, bitstrings). */
        t = etf_decode(a, data, size, NULL, NULL, &err);
        if (t != NULL) {
            exact = !unreadable(t);
            check_round_trip(a, t, ETF_TEXT_W, exact, false);
            check_round_trip(a, t, ETF_TEXT_TP, exact, false);
        }
    }
    etf_arena_free(a);
    return 0;
}
