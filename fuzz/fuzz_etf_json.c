/*
 * Fuzz the JSON forms of libetf.
 *
 * JSON text in: whatever maps to a term (in either form) must encode to
 * ETF, decode back to a term =:= to it, map to JSON again and back to a
 * term =:= the first with the very same encoding. The plain form must also
 * be a fixpoint: JSON -> term -> JSON gives equal JSON.
 *
 * An input starting with 131 (never the first byte of JSON text) is taken
 * as ETF instead: a term that decodes must go through the typed form and
 * come back =:= with the same encoding, unless it is nested too deeply for
 * JSON, which must then be the error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "etf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what, const etf_error *e)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s (%s: %s)\n", what,
                e != NULL ? etf_strerror(e->code) : "-",
                e != NULL ? e->msg : "");
        abort();
    }
}

/* Error messages are NUL-terminated and the code is set. */
static void
check_err(const etf_error *e)
{
    check(e->code != ETF_OK, "failure without a code", e);
    check(memchr(e->msg, '\0', sizeof(e->msg)) != NULL, "unterminated msg",
          NULL);
}

/* json_equal, but for member names holding NUL too (json_equal looks
 * them up as C strings). */
static bool
json_same(const json_t *x, const json_t *y)
{
    if (json_typeof(x) != json_typeof(y))
        return false;
    switch (json_typeof(x)) {
    case JSON_OBJECT: {
        const char *key;
        size_t klen;
        json_t *v;

        if (json_object_size(x) != json_object_size(y))
            return false;
        json_object_keylen_foreach((json_t *)(uintptr_t)x, key, klen, v)
        {
            const json_t *w = json_object_getn(y, key, klen);
            if (w == NULL || !json_same(v, w))
                return false;
        }
        return true;
    }
    case JSON_ARRAY:
        if (json_array_size(x) != json_array_size(y))
            return false;
        for (size_t i = 0; i < json_array_size(x); i++)
            if (!json_same(json_array_get(x, i), json_array_get(y, i)))
                return false;
        return true;
    case JSON_STRING:
        return json_string_length(x) == json_string_length(y) &&
               memcmp(json_string_value(x), json_string_value(y),
                      json_string_length(x)) == 0;
    default:
        return json_equal(x, y);
    }
}

static uint8_t *
encode(const etf_term *t, size_t *len)
{
    etf_error e = {0};
    uint8_t *b = etf_encode_alloc(t, NULL, len, &e);

    check(b != NULL, "a term from JSON does not encode", &e);
    return b;
}

/* t2 is =:= t and encodes to the n bytes at b. */
static void
same(const etf_term *t, const etf_term *t2, const uint8_t *b, size_t n)
{
    size_t n2;
    uint8_t *b2;

    check(etf_equal(t, t2), "round trip is not =:=", NULL);
    b2 = encode(t2, &n2);
    check(n2 == n && memcmp(b, b2, n) == 0, "round trip changes the bytes",
          NULL);
    free(b2);
}

/* Typed form through text, compact or pretty. */
static void
typed_text_roundtrip(etf_arena *a, const etf_term *t, const uint8_t *b,
                     size_t n, bool pretty)
{
    etf_error e = {0};
    char *s = etf_to_json_text(t, ETF_JSON_TYPED, pretty, &e);
    etf_term *t2;

    if (s == NULL) {
        check_err(&e);
        check(e.code == ETF_E_DEPTH, "typed form refused a term", &e);
        return;
    }
    t2 = etf_from_json_text(a, s, strlen(s), ETF_JSON_TYPED, &e);
    check(t2 != NULL, "typed JSON we wrote does not read back", &e);
    same(t, t2, b, n);
    free(s);
}

static void
from_json_input(const uint8_t *data, size_t size, etf_json_form form)
{
    etf_arena *a = etf_arena_new();
    etf_error e = {0};
    etf_term *t, *t2, *t3;
    uint8_t *b;
    size_t n;
    json_t *j;

    if (a == NULL)
        return;
    t = etf_from_json_text(a, (const char *)data, size, form, &e);
    if (t == NULL) {
        check_err(&e);
        etf_arena_free(a);
        return;
    }
    b = encode(t, &n);
    /* Our own encoding, LOCAL_EXT included (JSON can name one). */
    t2 = etf_decode(a, b, n, &(etf_decode_opts){.local = true}, NULL, &e);
    check(t2 != NULL, "our encoding does not decode", &e);
    same(t, t2, b, n);

    j = etf_to_json(t2, form, &e);
    check(j != NULL, "a term read from JSON does not map back", &e);
    t3 = etf_from_json(a, j, form, &e);
    check(t3 != NULL, "JSON we made does not map to a term", &e);
    same(t, t3, b, n);

    if (form == ETF_JSON_PLAIN) {
        json_error_t je;
        json_t *j0 = json_loadb((const char *)data, size,
                                JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        check(j0 != NULL && json_same(j0, j), "plain form is no fixpoint",
              NULL);
        json_decref(j0);
    } else {
        typed_text_roundtrip(a, t, b, n, size % 2 == 0);
    }
    json_decref(j);
    free(b);
    etf_arena_free(a);
}

static void
from_etf_input(const uint8_t *data, size_t size)
{
    etf_arena *a = etf_arena_new();
    etf_error e = {0};
    etf_term *t, *t2;
    uint8_t *b;
    size_t n;
    json_t *j;

    if (a == NULL)
        return;
    t = etf_decode(a, data, size, NULL, NULL, &e);
    if (t == NULL) {
        etf_arena_free(a);
        return;
    }
    b = encode(t, &n);
    typed_text_roundtrip(a, t, b, n, size % 2 == 0);

    /* The plain form either refuses or gives JSON that reads back to a
     * term mapping to the same JSON. */
    j = etf_to_json(t, ETF_JSON_PLAIN, &e);
    if (j == NULL) {
        check_err(&e);
        check(e.code == ETF_E_JSON || e.code == ETF_E_DEPTH,
              "plain form fails oddly", &e);
    } else {
        json_t *j2;

        t2 = etf_from_json(a, j, ETF_JSON_PLAIN, &e);
        check(t2 != NULL, "plain JSON we made does not map back", &e);
        j2 = etf_to_json(t2, ETF_JSON_PLAIN, &e);
        check(j2 != NULL && json_same(j, j2), "plain form is no fixpoint", &e);
        json_decref(j2);
        json_decref(j);
    }
    free(b);
    etf_arena_free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 131) {
        from_etf_input(data, size);
        return 0;
    }
    from_json_input(data, size, ETF_JSON_TYPED);
    from_json_input(data, size, ETF_JSON_PLAIN);
    return 0;
}
