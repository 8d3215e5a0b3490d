/*
 * libetf core: the cursor reader and writer, the tree decoder and encoder,
 * term order. Expected bytes are what OTP 25's term_to_binary/1 writes and
 * what binary_to_term/1 accepts or refuses (see shared reference etf.md
 * and interop/etf_corpus.sh, which checks the same against a live node).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <zlib.h>

#include "etf.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__})
#define BL(...) B(__VA_ARGS__), sizeof(B(__VA_ARGS__))

/* Decode exactly, re-encode, and require the same bytes back. */
static void
roundtrip(const uint8_t *in, size_t len)
{
    etf_arena *a = etf_arena_new();
    etf_decode_opts o = {.exact = true};
    etf_error e = {0};
    etf_term *t = etf_decode(a, in, len, &o, NULL, &e);
    uint8_t *out;
    size_t outlen;
    etf_writer w;

    if (t == NULL)
        fail_msg("decode failed: %s", e.msg);
    out = etf_encode_alloc(t, NULL, &outlen, &e);
    assert_non_null(out);
    assert_int_equal(outlen, len);
    assert_memory_equal(out, in, len);
    /* Measuring gives the same size. */
    etf_writer_init(&w, NULL, 0);
    assert_int_equal(etf_encode(t, &w, NULL), 0);
    assert_int_equal(w.pos, len);
    free(out);
    etf_arena_free(a);
}

/* Decode and require failure with code; returns the error. */
static etf_error
reject(const uint8_t *in, size_t len, etf_code code)
{
    etf_arena *a = etf_arena_new();
    etf_error e = {0};
    etf_term *t = etf_decode(a, in, len, NULL, NULL, &e);

    if (t != NULL)
        fail_msg("accepted what must be refused (want %s)", etf_strerror(code));
    if (e.code != code)
        fail_msg("refused with %s (%s), want %s", etf_strerror(e.code), e.msg,
                 etf_strerror(code));
    assert_true(e.pos <= len);
    assert_true(strlen(e.msg) > 0);
    etf_arena_free(a);
    return e;
}

/* Decode (must succeed) into arena a. */
static etf_term *
dec(etf_arena *a, const uint8_t *in, size_t len)
{
    etf_error e = {0};
    etf_term *t = etf_decode(a, in, len, NULL, NULL, &e);

    if (t == NULL)
        fail_msg("decode failed: %s", e.msg);
    return t;
}

static void
test_integers(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term *t;

    (void)state;
    roundtrip(BL(131, 97, 0));
    roundtrip(BL(131, 97, 255));
    roundtrip(BL(131, 98, 0, 0, 1, 0));                       /* 256 */
    roundtrip(BL(131, 98, 255, 255, 255, 251));               /* -5 */
    roundtrip(BL(131, 98, 127, 255, 255, 255));               /* 2^31-1 */
    roundtrip(BL(131, 98, 128, 0, 0, 0));                     /* -2^31 */
    roundtrip(BL(131, 110, 4, 0, 0, 0, 0, 128));              /* 2^31 */
    roundtrip(BL(131, 110, 4, 1, 1, 0, 0, 128));              /* -2^31-1 */
    roundtrip(BL(131, 110, 8, 0, 0, 0, 0, 0, 0, 0, 0, 128));  /* 2^63 */
    roundtrip(BL(131, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1)); /* -2^64 */

    /* Non-canonical forms decode to the same number (the BEAM normalises),
     * and re-encode canonically. */
    t = dec(a, BL(131, 110, 1, 0, 5));
    assert_int_equal(t->kind, ETF_INT);
    assert_int_equal(t->v.i, 5);
    t = dec(a, BL(131, 110, 3, 0, 1, 0, 0));
    assert_int_equal(t->v.i, 1);
    t = dec(a, BL(131, 110, 0, 0));
    assert_int_equal(t->v.i, 0);
    t = dec(a, BL(131, 110, 1, 1, 0)); /* negative zero */
    assert_int_equal(t->v.i, 0);
    t = dec(a, BL(131, 110, 1, 2, 5)); /* any non-zero sign is negative */
    assert_int_equal(t->v.i, -5);
    t = dec(a, BL(131, 111, 0, 0, 0, 1, 0, 5));
    assert_int_equal(t->v.i, 5);
    t = dec(a, BL(131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128)); /* -2^63 */
    assert_int_equal(t->kind, ETF_INT);
    assert_true(t->v.i == INT64_MIN);
    t = dec(a, BL(131, 110, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    assert_int_equal(t->kind, ETF_BIG);
    assert_int_equal(t->len, 9);
    etf_arena_free(a);
}

static void
test_int_writer(void **state)
{
    uint8_t buf[32];
    etf_writer w;

    (void)state;
    etf_writer_init(&w, buf, sizeof(buf));
    assert_int_equal(etf_write_int64(&w, INT64_MIN), 0);
    assert_int_equal(w.pos, 11);
    assert_memory_equal(buf, B(110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128), 11);
    etf_writer_init(&w, buf, sizeof(buf));
    assert_int_equal(etf_write_uint64(&w, UINT64_MAX), 0);
    assert_memory_equal(
        buf, B(110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255), 11);
    etf_writer_init(&w, buf, sizeof(buf));
    assert_int_equal(etf_write_int64(&w, -1), 0);
    assert_memory_equal(buf, B(98, 255, 255, 255, 255), 5);
}

static void
test_bignum_limit(void **state)
{
    size_t n = 4194297; /* one byte over the BEAM's limit */
    uint8_t *buf = calloc(1, n + 6);

    (void)state;
    assert_non_null(buf);
    buf[0] = 131;
    buf[1] = 111;
    buf[2] = (uint8_t)(n >> 24);
    buf[3] = (uint8_t)(n >> 16);
    buf[4] = (uint8_t)(n >> 8);
    buf[5] = (uint8_t)n;
    reject(buf, 7, ETF_E_BIG);
    free(buf);
    reject(BL(131, 111, 255, 255, 255, 255, 0, 1), ETF_E_BIG);
    reject(BL(131, 110, 5, 0, 1, 2), ETF_E_TRUNCATED);
}

static void
test_floats(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term *t;
    const char *text = "1.50000000000000000000e+00";
    uint8_t old[33] = {131, 99};

    (void)state;
    roundtrip(BL(131, 70, 64, 9, 33, 251, 84, 68, 45, 24));       /* pi */
    roundtrip(BL(131, 70, 128, 0, 0, 0, 0, 0, 0, 0));             /* -0.0 */
    roundtrip(BL(131, 70, 0, 0, 0, 0, 0, 0, 0, 1));               /* 5e-324 */
    reject(BL(131, 70, 127, 248, 0, 0, 0, 0, 0, 0), ETF_E_FLOAT); /* NaN */
    reject(BL(131, 70, 127, 240, 0, 0, 0, 0, 0, 0), ETF_E_FLOAT); /* Inf */
    reject(BL(131, 70, 255, 240, 0, 0, 0, 0, 0, 0), ETF_E_FLOAT);
    reject(BL(131, 70, 0, 0, 0), ETF_E_TRUNCATED);

    memcpy(old + 2, text, strlen(text));
    t = dec(a, old, sizeof(old));
    assert_int_equal(t->kind, ETF_FLOAT);
    assert_true(t->v.f == 1.5);
    /* The BEAM's syntax: digits '.' digits, optional exponent, then NUL. */
    memset(old + 2, 0, 31);
    memcpy(old + 2, "1,25", 4);
    assert_true(dec(a, old, sizeof(old))->v.f == 1.25);
    memcpy(old + 2, "nan", 3);
    reject(old, sizeof(old), ETF_E_FLOAT);
    memset(old + 2, 0, 31);
    memcpy(old + 2, "1e400", 5);
    reject(old, sizeof(old), ETF_E_FLOAT);
    memcpy(old + 2, "1.0e400", 7);
    reject(old, sizeof(old), ETF_E_FLOAT);
    memset(old + 2, 0, 31);
    memcpy(old + 2, " 1.0", 4);
    reject(old, sizeof(old), ETF_E_FLOAT);
    memset(old + 2, 0, 31);
    memcpy(old + 2, "1.0x", 4);
    reject(old, sizeof(old), ETF_E_FLOAT);
    etf_arena_free(a);
}

static void
test_float_encode_minor0(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term t;
    etf_encode_opts o = {.text_floats = true};
    uint8_t *out;
    size_t len;
    etf_error e;

    (void)state;
    etf_set_float(&t, 1.5);
    out = etf_encode_alloc(&t, &o, &len, &e);
    assert_non_null(out);
    assert_int_equal(len, 33);
    assert_int_equal(out[1], 99);
    assert_string_equal((char *)out + 2, "1.50000000000000000000e+00");
    assert_true(dec(a, out, len)->v.f == 1.5);
    free(out);
    etf_set_float(&t, NAN);
    assert_null(etf_encode_alloc(&t, NULL, &len, &e));
    assert_int_equal(e.code, ETF_E_FLOAT);
    etf_arena_free(a);
}

static void
test_atoms(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term *t;
    uint8_t buf[1100];
    size_t i;
    etf_encode_opts utf8 = {.utf8_atoms = true};
    uint8_t *out;
    size_t len;
    etf_error e;

    (void)state;
    roundtrip(BL(131, 100, 0, 2, 'o', 'k'));
    roundtrip(BL(131, 100, 0, 0));              /* '' */
    roundtrip(BL(131, 100, 0, 3, 'a', 0, 'b')); /* 'a\0b' */
    /* 'é' is Latin-1 in ATOM_EXT, UTF-8 in the tree. */
    t = dec(a, BL(131, 100, 0, 1, 0xE9));
    assert_int_equal(t->kind, ETF_ATOM);
    assert_int_equal(t->len, 2);
    assert_memory_equal(t->v.str, "\xC3\xA9", 2);
    roundtrip(BL(131, 100, 0, 1, 0xE9));
    /* The same atom as UTF-8 is equal, and re-encodes as OTP 25 does. */
    assert_true(etf_equal(t, dec(a, BL(131, 119, 2, 0xC3, 0xA9))));
    roundtrip(BL(131, 119, 3, 0xE6, 0x97, 0xA5)); /* '日' */
    /* minor_version 2 writes every atom as UTF-8. */
    out = etf_encode_alloc(t, &utf8, &len, &e);
    assert_non_null(out);
    assert_int_equal(len, 5);
    assert_memory_equal(out, B(131, 119, 2, 0xC3, 0xA9), 5);
    free(out);
    /* SMALL_ATOM_EXT (Latin-1) is read too. */
    t = dec(a, BL(131, 115, 1, 0xE9));
    assert_memory_equal(t->v.str, "\xC3\xA9", 2);

    /* 255 characters are fine, 256 are not, in bytes or in UTF-8. */
    buf[0] = 131;
    buf[1] = 100;
    buf[2] = 0;
    buf[3] = 255;
    memset(buf + 4, 'x', 256);
    roundtrip(buf, 4 + 255);
    buf[3] = 0;
    buf[2] = 1; /* 256 */
    buf[3] = 0;
    reject(buf, 4 + 256, ETF_E_ATOM);
    buf[1] = 118;
    buf[2] = (uint8_t)(1020 >> 8);
    buf[3] = (uint8_t)(1020 & 0xFF);
    for (i = 0; i < 255; i++)
        memcpy(buf + 4 + 4 * i, "\xF0\x9F\x98\x80", 4);
    t = dec(a, buf, 4 + 1020);
    assert_int_equal(t->len, 1020);
    buf[2] = (uint8_t)(1024 >> 8);
    buf[3] = (uint8_t)(1024 & 0xFF);
    memcpy(buf + 4 + 1020, "\xF0\x9F\x98\x80", 4);
    reject(buf, 4 + 1024, ETF_E_ATOM);

    /* Invalid UTF-8: malformed, overlong, surrogate, beyond U+10FFFF. */
    reject(BL(131, 119, 2, 0xC3, 0x28), ETF_E_UTF8);
    reject(BL(131, 119, 2, 0xC0, 0x80), ETF_E_UTF8);
    reject(BL(131, 119, 3, 0xED, 0xA0, 0x80), ETF_E_UTF8);
    reject(BL(131, 119, 4, 0xF4, 0x90, 0x80, 0x80), ETF_E_UTF8);
    reject(BL(131, 118, 0, 1, 0xFF), ETF_E_UTF8);
    reject(BL(131, 100, 0, 5, 'a'), ETF_E_TRUNCATED);
    etf_arena_free(a);
}

/* Long atoms are checked a block at a time: every bad sequence is found
 * wherever it falls, and the Latin-1 test sees every character. */
static void
test_atoms_long_utf8(void **state)
{
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
        {"\xC3\x28", 2},
        {"\xC0\x80", 2},
        {"\xC1\xBF", 2},
        {"\xE0\x9F\xBF", 3},
        {"\xED\xA0\x80", 3},
        {"\xED\xBF\xBF", 3},
        {"\xF0\x8F\xBF\xBF", 4},
        {"\xF4\x90\x80\x80", 4},
        {"\xF5\x80\x80\x80", 4},
        {"\xFF", 1},
        {"\x80", 1},
        {"\xE2\x82", 2},
        {"\xF0\x9F\x98", 3},
        {"\xE2\x82\xAC\xAC", 4},
    };
    etf_arena *a = etf_arena_new();
    uint8_t buf[4 + 80], *out;
    size_t i, at, len, n;
    etf_error e;
    etf_term *t, atom;

    (void)state;
    buf[0] = 131;
    buf[1] = 119;
    for (len = 16; len <= 70; len += 9) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            for (at = 0; at + bad[i].n <= len; at++) {
                buf[2] = (uint8_t)len;
                memset(buf + 3, 'a', len);
                memcpy(buf + 3 + at, bad[i].s, bad[i].n);
                reject(buf, 3 + len, ETF_E_UTF8);
                assert_int_equal(etf_set_atom(a, &atom, (char *)buf + 3, len),
                                 -1);
            }
        }
        /* A euro sign anywhere: valid, and no longer Latin-1. */
        for (at = 0; at + 3 <= len; at++) {
            buf[2] = (uint8_t)len;
            memset(buf + 3, 'a', len);
            memcpy(buf + 3 + at, "\xE2\x82\xAC", 3);
            t = dec(a, buf, 3 + len);
            assert_int_equal(t->len, len);
            out = etf_encode_alloc(t, NULL, &n, &e);
            assert_non_null(out);
            assert_int_equal(out[1], 119);
            free(out);
            /* An e-acute instead: Latin-1, so ATOM_EXT of one byte less. */
            memcpy(buf + 3 + at,
                   "\xC3\xA9"
                   "a",
                   3);
            t = dec(a, buf, 3 + len);
            out = etf_encode_alloc(t, NULL, &n, &e);
            assert_non_null(out);
            assert_int_equal(n, 1 + 3 + len - 1);
            assert_int_equal(out[1], 100);
            assert_int_equal(out[4 + at], 0xE9);
            free(out);
        }
    }
    etf_arena_free(a);
}

static void
test_containers(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term *t;
    uint8_t *big;
    size_t i;

    (void)state;
    roundtrip(BL(131, 104, 0));
    roundtrip(BL(131, 104, 2, 100, 0, 1, 'a', 106));
    roundtrip(BL(131, 106));
    roundtrip(BL(131, 107, 0, 3, 'a', 'b', 'c'));
    roundtrip(BL(131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3)); /* [1,2|3] */
    roundtrip(BL(131, 108, 0, 0, 0, 1, 98, 0, 0, 1, 0, 106)); /* [256] */
    roundtrip(BL(131, 116, 0, 0, 0, 0));
    roundtrip(BL(131, 116, 0, 0, 0, 1, 100, 0, 1, 'a', 97, 1));
    /* A large tuple. */
    big = malloc(6 + 300 * 2);
    memcpy(big, B(131, 105, 0, 0, 1, 44), 6);
    for (i = 0; i < 300; i++) {
        big[6 + 2 * i] = 97;
        big[7 + 2 * i] = (uint8_t)i;
    }
    roundtrip(big, 6 + 600);
    free(big);

    /* LIST_EXT of no elements is its tail; LARGE_TUPLE of arity 1 is an
     * ordinary tuple; a list of small ints is the same term as a string. */
    t = dec(a, BL(131, 108, 0, 0, 0, 0, 100, 0, 1, 'a'));
    assert_int_equal(t->kind, ETF_ATOM);
    t = dec(a, BL(131, 105, 0, 0, 0, 1, 97, 7));
    assert_int_equal(t->kind, ETF_TUPLE);
    assert_true(
        etf_equal(dec(a, BL(131, 107, 0, 2, 'h', 'i')),
                  dec(a, BL(131, 108, 0, 0, 0, 2, 97, 'h', 97, 'i', 106))));
    /* Declared sizes beyond the input fail before any allocation. */
    reject(BL(131, 108, 255, 255, 255, 255, 106), ETF_E_LENGTH);
    reject(BL(131, 105, 255, 255, 255, 255, 106), ETF_E_LENGTH);
    reject(BL(131, 116, 255, 255, 255, 255, 106, 106), ETF_E_LENGTH);
    reject(BL(131, 108, 0, 0, 0, 3, 97, 1, 97, 2, 106), ETF_E_TRUNCATED);
    reject(BL(131, 104, 3, 97, 1, 97, 2), ETF_E_TRUNCATED);
    reject(BL(131, 107, 0, 10, 'a'), ETF_E_TRUNCATED);
    /* Duplicate keys, small and large maps; 1 and 1.0 are distinct. */
    reject(BL(131, 116, 0, 0, 0, 2, 97, 1, 106, 97, 1, 106), ETF_E_DUPKEY);
    dec(a, BL(131, 116, 0, 0, 0, 2, 97, 1, 106, 70, 63, 240, 0, 0, 0, 0, 0, 0,
              106));
    big = malloc(6 + 40 * 4);
    memcpy(big, B(131, 116, 0, 0, 0, 40), 6);
    for (i = 0; i < 40; i++) {
        big[6 + 4 * i] = 97;
        big[7 + 4 * i] = (uint8_t)(i == 39 ? 3 : i);
        big[8 + 4 * i] = 97;
        big[9 + 4 * i] = 0;
    }
    reject(big, 6 + 160, ETF_E_DUPKEY);
    big[7 + 4 * 39] = 200;
    t = dec(a, big, 6 + 160);
    assert_int_equal(t->len, 40);
    /* The decoded order is kept (OTP prints large maps in that order). */
    assert_int_equal(t->v.elems[2 * 39].v.i, 200);
    free(big);
    etf_arena_free(a);
}

/* Key i of kind k; keys of different i differ, except as the cases say. */
static void
map_key(etf_writer *w, int k, uint32_t i)
{
    char text[32];
    uint8_t bytes[3] = {1, 2, (uint8_t)i};

    switch (k) {
    case 0:
        etf_write_int64(w, (int64_t)i * 1000003);
        break;
    case 1: /* atoms of every length from 1 to 19 */
        snprintf(text, sizeof(text), "k%0*u", (int)(i % 19), i);
        etf_write_atom(w, text, strlen(text));
        break;
    case 2: /* binaries sharing their first and last bytes */
        snprintf(text, sizeof(text), "xxxxxxxx%05uyyyyyyyy", i);
        etf_write_binary(w, text, strlen(text));
        break;
    case 3:
        etf_write_double(w, (double)i + 0.5);
        break;
    case 4: /* {i, ok} */
        etf_write_tuple_header(w, 2);
        etf_write_int64(w, i);
        etf_write_atom(w, "ok", 2);
        break;
    case 5: /* [1, 2, i]: a string for i < 256, else a list; the same
             * first elements, so the same hash, and the map is sorted */
        if (i < 256) {
            etf_write_string(w, bytes, 3);
        } else {
            etf_write_list_header(w, 3);
            etf_write_int64(w, 1);
            etf_write_int64(w, 2);
            etf_write_int64(w, i);
            etf_write_nil(w);
        }
        break;
    }
}

/* A map of n keys of kind k (values nil); key n-1 is written as key dup
 * when dup < n - 1. */
static uint8_t *
make_map(int k, uint32_t n, uint32_t dup, size_t *len)
{
    etf_writer w;
    uint32_t i;

    assert_int_equal(etf_writer_init_dynamic(&w, 64), 0);
    etf_write_version(&w);
    etf_write_map_header(&w, n);
    for (i = 0; i < n; i++) {
        map_key(&w, k, i == n - 1 && dup < n - 1 ? dup : i);
        etf_write_nil(&w);
    }
    return etf_writer_release(&w, len);
}

/* Duplicate keys are found in maps of any size and kind of key, however
 * many keys share a hash. */
static void
test_map_duplicates(void **state)
{
    static const uint32_t sizes[] = {2, 3, 16, 17, 64, 65, 300};
    etf_arena *a = etf_arena_new();
    etf_term *t;
    uint8_t *m;
    size_t len, s;
    uint32_t n;
    int k;

    (void)state;
    for (k = 0; k <= 5; k++) {
        for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            n = sizes[s];
            m = make_map(k, n, UINT32_MAX, &len);
            t = dec(a, m, len);
            assert_int_equal(t->len, n);
            free(m);
            m = make_map(k, n, 0, &len);
            reject(m, len, ETF_E_DUPKEY);
            free(m);
            m = make_map(k, n, n - 2, &len);
            reject(m, len, ETF_E_DUPKEY);
            free(m);
            m = make_map(k, n, n / 2, &len);
            if (n > 2)
                reject(m, len, ETF_E_DUPKEY);
            free(m);
        }
    }
    /* "\1\2\3" and [1, 2, 3] are the same key. */
    reject(BL(131, 116, 0, 0, 0, 2, 107, 0, 3, 1, 2, 3, 106, 108, 0, 0, 0, 3,
              97, 1, 97, 2, 97, 3, 106, 106),
           ETF_E_DUPKEY);
    /* So are [1 | "\2\3"] and "\1\2\3". */
    reject(BL(131, 116, 0, 0, 0, 2, 108, 0, 0, 0, 1, 97, 1, 107, 0, 2, 2, 3,
              106, 107, 0, 3, 1, 2, 3, 106),
           ETF_E_DUPKEY);
    /* [1, 2, 3, 4, 5] and [1, 2, 3, 4 | "\5"] are the same key (the hash
     * reads past the first cells), [1, 2, 3, 4, 6] another one. */
    reject(BL(131, 116, 0, 0, 0, 2, 107, 0, 5, 1, 2, 3, 4, 5, 106, 108, 0, 0, 0,
              4, 97, 1, 97, 2, 97, 3, 97, 4, 107, 0, 1, 5, 106),
           ETF_E_DUPKEY);
    reject(BL(131, 116, 0, 0, 0, 2, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97,
              2, 106, 106, 107, 0, 2, 1, 2, 106),
           ETF_E_DUPKEY);
    dec(a, BL(131, 116, 0, 0, 0, 2, 107, 0, 5, 1, 2, 3, 4, 5, 106, 107, 0, 5, 1,
              2, 3, 4, 6, 106));
    /* <<1:1>> and <<1>> are not. */
    dec(a, BL(131, 116, 0, 0, 0, 2, 77, 0, 0, 0, 1, 1, 128, 106, 109, 0, 0, 0,
              1, 128, 106));
    etf_arena_free(a);
}

/* Key i of a list in map-key order: numbers (every integer before every
 * float), atoms, a ref, an export, a port, a pid, a tuple, a map, nil,
 * lists and binaries. */
#define ORDERED_KEYS 20
static void
ordered_key(etf_writer *w, int i)
{
    static const uint8_t big[9] = {0, 0, 0, 0, 0, 0, 0, 0, 64}; /* 2^70 */
    static const uint32_t id[3] = {1, 2, 3};

    switch (i) {
    case 0:
        etf_write_bignum(w, true, big, sizeof(big));
        break;
    case 1:
        etf_write_int64(w, -5);
        break;
    case 2:
        etf_write_int64(w, 7);
        break;
    case 3:
        etf_write_bignum(w, false, big, sizeof(big));
        break;
    case 4:
        etf_write_double(w, -1.5);
        break;
    case 5:
        etf_write_double(w, 2.0);
        break;
    case 6:
        etf_write_atom(w, "a", 1);
        break;
    case 7:
        etf_write_atom(w, "ab", 2);
        break;
    case 8:
        etf_write_atom(w, "b_an_atom_of_twenty_", 20);
        break;
    case 9:
        etf_write_ref(w, "n@h", 3, 1, id, 3);
        break;
    case 10:
        etf_write_export(w, "m", 1, "f", 1, 2);
        break;
    case 11:
        etf_write_port(w, "n@h", 3, 5, 1);
        break;
    case 12:
        etf_write_pid(w, "n@h", 3, 5, 0, 1);
        break;
    case 13:
        etf_write_tuple_header(w, 1);
        etf_write_int64(w, 1);
        break;
    case 14:
        etf_write_map_header(w, 0);
        break;
    case 15:
        etf_write_nil(w);
        break;
    case 16:
        etf_write_list_header(w, 1);
        etf_write_int64(w, 1);
        etf_write_nil(w);
        break;
    case 17:
        etf_write_string(w, (const uint8_t *)"ab", 2);
        break;
    case 18:
        etf_write_binary(w, "", 0);
        break;
    default:
        etf_write_binary(w, "\1", 1);
        break;
    }
}

/* A map of the ordered keys from..to, in order or reversed, with key twice
 * (written again after itself) when twice is in range. */
static uint8_t *
ordered_map(int from, int to, bool reversed, int twice, size_t *len)
{
    etf_writer w;
    int i, k, n = to - from + 1 + (twice >= from && twice <= to);

    assert_int_equal(etf_writer_init_dynamic(&w, 64), 0);
    etf_write_version(&w);
    etf_write_map_header(&w, (uint32_t)n);
    for (i = from; i <= to; i++) {
        k = reversed ? to - (i - from) : i;
        ordered_key(&w, k);
        etf_write_int64(&w, i);
        if (k == twice) {
            ordered_key(&w, k);
            etf_write_int64(&w, -i);
        }
    }
    return etf_writer_release(&w, len);
}

/* Maps whose keys go up are taken at one comparison a pair: keys of every
 * kind in map-key order are taken, in either order, and a key written twice
 * in a row is refused wherever it is. */
static void
test_map_key_order(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term *t;
    uint8_t *m;
    size_t len;
    int i;

    (void)state;
    m = ordered_map(0, ORDERED_KEYS - 1, false, -1, &len);
    t = dec(a, m, len);
    free(m);
    assert_int_equal(t->len, ORDERED_KEYS);
    for (i = 1; i < ORDERED_KEYS; i++)
        assert_true(
            etf_compare(&t->v.elems[2 * i - 2], &t->v.elems[2 * i], true) < 0);
    m = ordered_map(0, ORDERED_KEYS - 1, true, -1, &len);
    t = dec(a, m, len);
    free(m);
    assert_int_equal(t->len, ORDERED_KEYS);
    for (i = 0; i < ORDERED_KEYS; i++) {
        m = ordered_map(0, ORDERED_KEYS - 1, false, i, &len);
        reject(m, len, ETF_E_DUPKEY);
        free(m);
        m = ordered_map(i > 0 ? i - 1 : i, i, false, i, &len);
        reject(m, len, ETF_E_DUPKEY);
        free(m);
        m = ordered_map(0, ORDERED_KEYS - 1, true, i, &len);
        reject(m, len, ETF_E_DUPKEY);
        free(m);
    }
    etf_arena_free(a);
}

static void
test_binaries(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term *t;

    (void)state;
    roundtrip(BL(131, 109, 0, 0, 0, 0));
    roundtrip(BL(131, 109, 0, 0, 0, 3, 1, 2, 3));
    roundtrip(BL(131, 77, 0, 0, 0, 1, 3, 224)); /* <<7:3>> */
    /* Unused low bits are masked: <<7:3>> whatever the garbage. */
    t = dec(a, BL(131, 77, 0, 0, 0, 1, 3, 255));
    assert_int_equal(t->aux, 3);
    assert_int_equal(t->v.bytes[0], 224);
    /* Bits=8 is a binary; an empty bitstring must say 0 bits. */
    t = dec(a, BL(131, 77, 0, 0, 0, 1, 8, 255));
    assert_int_equal(t->aux, 8);
    t = dec(a, BL(131, 77, 0, 0, 0, 0, 0));
    assert_int_equal(t->len, 0);
    reject(BL(131, 77, 0, 0, 0, 1, 0, 255), ETF_E_BITS);
    reject(BL(131, 77, 0, 0, 0, 1, 9, 255), ETF_E_BITS);
    reject(BL(131, 77, 0, 0, 0, 0, 3), ETF_E_BITS);
    reject(BL(131, 109, 0, 0, 0, 10, 1, 2, 3), ETF_E_TRUNCATED);
    reject(BL(131, 109, 255, 255, 255, 255), ETF_E_TRUNCATED);
    etf_arena_free(a);
}

static void
test_local_and_old_creations(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_decode_opts local = {.local = true};
    uint8_t raw[40], z[80], in[100];
    uLongf zlen = sizeof(z);
    etf_term *t;

    (void)state;
    /* LOCAL_EXT only where the caller asks for it: OTP 25 refuses it. */
    reject(BL(131, 121, 1, 2, 3), ETF_E_TAG);
    reject(BL(131, 104, 2, 97, 1, 121, 0, 0), ETF_E_TAG);
    t = etf_decode(a, BL(131, 121, 1, 2, 3), &local, NULL, NULL);
    assert_non_null(t);
    assert_int_equal(t->kind, ETF_LOCAL);
    assert_int_equal(t->len, 3);
    /* Its payload runs to the end of the input, so it is only ever the
     * whole term: inside one, its bytes would swallow what follows. */
    {
        etf_error e;
        etf_reader r;
        etf_writer w;
        etf_term tup, *el;
        uint8_t out[16];

        assert_null(etf_decode(a, BL(131, 108, 0, 0, 0, 1, 121, 1, 2, 3, 106),
                               &local, NULL, &e));
        assert_int_equal(e.code, ETF_E_TAG);
        assert_int_equal(e.pos, 6);
        etf_reader_init(&r, BL(131, 108, 0, 0, 0, 1, 121, 1, 2, 3, 106));
        r.allow_local = true;
        r.pos = 1;
        assert_int_equal(etf_skip(&r), -1);
        assert_int_equal(r.err.code, ETF_E_TAG);
        etf_reader_init(&r, BL(131, 121, 1, 2, 3));
        r.allow_local = true;
        r.pos = 1;
        assert_int_equal(etf_skip(&r), 0);
        assert_int_equal(r.pos, 5);
        /* and the encoder writes one only as the whole term */
        el = etf_set_tuple(a, &tup, 1);
        assert_non_null(el);
        el[0] = *t;
        etf_writer_init(&w, out, sizeof(out));
        assert_int_equal(etf_encode(&tup, &w, NULL), -1);
        assert_int_equal(w.err.code, ETF_E_TAG);
        etf_writer_init(&w, out, sizeof(out));
        assert_int_equal(etf_encode(t, &w, NULL), 0);
        assert_int_equal(w.pos, 5);
        assert_memory_equal(out, B(131, 121, 1, 2, 3), 5);
    }
    /* One-byte creations of the old tags hold 2 bits. */
    reject(BL(131, 103, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 1, 0, 0, 0, 2, 255),
           ETF_E_NODE);
    reject(BL(131, 102, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 9, 4), ETF_E_NODE);
    reject(BL(131, 101, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 9, 4), ETF_E_NODE);
    dec(a, BL(131, 103, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 1, 0, 0, 0, 2, 3));
    /* The old reference forms hold 18 bits in their first word. */
    dec(a, BL(131, 101, 100, 0, 3, 'a', '@', 'h', 0, 3, 255, 255, 3));
    reject(BL(131, 101, 100, 0, 3, 'a', '@', 'h', 0, 4, 0, 0, 3), ETF_E_REF);
    reject(BL(131, 114, 0, 1, 100, 0, 3, 'a', '@', 'h', 3, 0, 4, 0, 0),
           ETF_E_REF);
    dec(a,
        BL(131, 90, 0, 1, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 3, 128, 0, 0, 0));
    /* Bytes after the term inside compressed data are ignored, as by the
     * BEAM. */
    memcpy(raw, B(97, 7, 0, 0, 0), 5);
    assert_int_equal(compress2(z, &zlen, raw, 5, 6), Z_OK);
    memcpy(in, B(131, 80, 0, 0, 0, 5), 6);
    memcpy(in + 6, z, zlen);
    t = dec(a, in, 6 + zlen);
    assert_int_equal(t->v.i, 7);
    etf_arena_free(a);
}

static void
test_borrow(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_decode_opts o = {.borrow = true};
    const uint8_t in[] = {131, 104, 3,   109, 0, 0, 0, 2, 1, 2,  107,
                          0,   1,   'x', 77,  0, 0, 0, 1, 3, 255};
    etf_term *t = etf_decode(a, in, sizeof(in), &o, NULL, NULL);

    (void)state;
    assert_non_null(t);
    /* Binaries and strings point into the input... */
    assert_ptr_equal(t->v.elems[0].v.bytes, in + 8);
    assert_ptr_equal(t->v.elems[1].v.bytes, in + 13);
    /* ...but a bitstring with garbage in its unused bits is a clean copy. */
    assert_true(t->v.elems[2].v.bytes < in ||
                t->v.elems[2].v.bytes >= in + sizeof(in));
    assert_int_equal(t->v.elems[2].v.bytes[0], 224);
    etf_arena_free(a);
}

static void
test_pids_ports_refs(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term *t;

    (void)state;
    /* NEW_PID_EXT, NEW_PORT_EXT, V4_PORT_EXT, NEWER_REFERENCE_EXT. */
    roundtrip(BL(131, 88, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 9, 0, 0, 0, 0, 0,
                 0, 0, 7));
    roundtrip(BL(131, 89, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 9, 0, 0, 0, 7));
    roundtrip(BL(131, 120, 100, 0, 3, 'a', '@', 'h', 0, 0, 1, 0, 0, 0, 0, 9, 0,
                 0, 0, 7));
    /* OTP 25 writes ports from 2^28 on as V4_PORT_EXT. */
    roundtrip(BL(131, 120, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 0, 16, 0, 0, 0, 0,
                 0, 0, 7));
    roundtrip(
        BL(131, 89, 100, 0, 3, 'a', '@', 'h', 15, 255, 255, 255, 0, 0, 0, 7));
    roundtrip(BL(131, 90, 0, 3, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 7, 0, 0, 0,
                 1, 0, 0, 0, 2, 0, 0, 0, 3));
    roundtrip(BL(131, 90, 0, 0, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 7));
    reject(BL(131, 90, 0, 6, 100, 0, 3, 'a', '@', 'h'), ETF_E_REF);
    /* The old tags decode, and are upgraded. */
    t = dec(a,
            BL(131, 103, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 9, 0, 0, 0, 0, 2));
    assert_int_equal(t->kind, ETF_PID);
    assert_int_equal(t->v.pid->creation, 2);
    t = dec(a, BL(131, 102, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 9, 2));
    assert_int_equal(t->kind, ETF_PORT);
    t = dec(a, BL(131, 101, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 9, 2));
    assert_int_equal(t->kind, ETF_REF);
    assert_int_equal(t->v.ref->len, 1);
    t = dec(a, BL(131, 114, 0, 2, 100, 0, 3, 'a', '@', 'h', 2, 0, 0, 0, 1, 0, 0,
                  0, 2));
    assert_int_equal(t->v.ref->len, 2);
    /* A node that is not an atom is refused. */
    reject(BL(131, 88, 97, 1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 7), ETF_E_NODE);
    etf_arena_free(a);
}

/* Every proper prefix of a well-formed term is refused as cut short. */
static void
prefixes_fail(const uint8_t *in, size_t len)
{
    etf_arena *a = etf_arena_new();
    etf_error e;
    size_t n;

    for (n = 1; n < len; n++) {
        memset(&e, 0, sizeof(e));
        if (etf_decode(a, in, n, NULL, NULL, &e) != NULL)
            fail_msg("a prefix of %zu bytes of %zu decoded", n, len);
        if (e.code != ETF_E_TRUNCATED && e.code != ETF_E_LENGTH)
            fail_msg("a prefix of %zu bytes refused with %s", n,
                     etf_strerror(e.code));
    }
    etf_arena_free(a);
}

/* The decoder's quick reads of common terms give way to the full ones on
 * anything amiss, with the same errors. */
static void
test_quick_paths(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term *t;

    (void)state;
    prefixes_fail(
        BL(131, 88, 119, 3, 'a', '@', 'h', 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 7));
    prefixes_fail(BL(131, 89, 115, 3, 'a', '@', 'h', 0, 0, 0, 9, 0, 0, 0, 7));
    prefixes_fail(BL(131, 120, 118, 0, 3, 'a', '@', 'h', 0, 0, 1, 0, 0, 0, 0, 9,
                     0, 0, 0, 7));
    prefixes_fail(BL(131, 90, 0, 2, 100, 0, 3, 'a', '@', 'h', 0, 0, 0, 7, 0, 0,
                     0, 1, 0, 0, 0, 2));
    prefixes_fail(BL(131, 113, 119, 1, 'm', 100, 0, 1, 'f', 97, 2));
    prefixes_fail(BL(131, 108, 0, 0, 0, 3, 97, 1, 98, 255, 255, 255, 251, 110,
                     1, 0, 7, 106));
    prefixes_fail(
        BL(131, 104, 3, 98, 0, 0, 1, 44, 97, 5, 70, 63, 240, 0, 0, 0, 0, 0, 0));
    prefixes_fail(BL(131, 116, 0, 0, 0, 1, 119, 1, 'k', 109, 0, 0, 0, 2, 1, 2));
    prefixes_fail(BL(131, 107, 0, 3, 1, 2, 3));
    /* A node or atom that is not UTF-8, a node that is not an atom. */
    reject(BL(131, 88, 119, 2, 0xC3, 0x28, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 7),
           ETF_E_UTF8);
    reject(BL(131, 113, 119, 1, 'm', 119, 1, 0xFF, 97, 2), ETF_E_UTF8);
    reject(BL(131, 89, 97, 1, 0, 0, 0, 9, 0, 0, 0, 7), ETF_E_NODE);
    /* An export's arity may come as INTEGER_EXT, not as a negative one. */
    t = dec(a, BL(131, 113, 119, 1, 'm', 119, 1, 'f', 98, 0, 0, 1, 0));
    assert_int_equal(t->v.exp->arity, 256);
    reject(BL(131, 113, 119, 1, 'm', 119, 1, 'f', 98, 255, 255, 255, 255),
           ETF_E_RANGE);
    /* Integers in a run, then something else. */
    t = dec(a, BL(131, 108, 0, 0, 0, 4, 97, 1, 98, 255, 255, 255, 251, 97, 3,
                  119, 1, 'x', 98, 0, 0, 1, 0));
    assert_int_equal(t->kind, ETF_LIST);
    assert_int_equal(t->v.elems[1].v.i, -5);
    assert_int_equal(t->v.elems[3].kind, ETF_ATOM);
    assert_int_equal(t->v.elems[4].v.i, 256);
    /* NaN and infinity are refused, as NEW_FLOAT_EXT or in a tuple. */
    reject(BL(131, 104, 1, 70, 127, 240, 0, 0, 0, 0, 0, 0), ETF_E_FLOAT);
    reject(BL(131, 70, 127, 248, 0, 0, 0, 0, 0, 0), ETF_E_FLOAT);
    etf_arena_free(a);
}

/* Decode len bytes from a heap copy of exactly that size, so that a read
 * past the end is caught under ASan; NULL (and e) if refused. etf_skip
 * must agree, and take the same bytes. */
static etf_term *
dec_exact_copy(etf_arena *a, const uint8_t *in, size_t len, etf_error *e)
{
    uint8_t *copy = malloc(len);
    etf_reader r;
    size_t used = 0;
    etf_term *t;
    int rc;

    assert_non_null(copy);
    memcpy(copy, in, len);
    memset(e, 0, sizeof(*e));
    t = etf_decode(a, copy, len, NULL, &used, e);
    etf_reader_init(&r, copy, len);
    rc = etf_read_version(&r);
    if (rc == 0)
        rc = etf_skip(&r);
    if ((rc == 0) != (t != NULL))
        fail_msg("etf_skip (%d) and etf_decode (%s) disagree on %zu bytes", rc,
                 t != NULL ? "accepts" : e->msg, len);
    if (t != NULL)
        assert_int_equal(r.pos, used);
    free(copy);
    return t;
}

/* An atom of every tag and of 0..40 bytes, ASCII, two-byte, emoji and
 * cut-short UTF-8, Latin-1 above 0x7F, alone or as a pid's node, at the
 * end of the input and followed by enough bytes for one-block reads: the text
 * comes back as UTF-8 with a NUL after it, or the atom is refused as OTP
 * refuses it, and every prefix is refused without a read past the end. */
static void
test_short_atoms(void **state)
{
    static const uint8_t tags[] = {115, 119, 100, 118};
    static const uint8_t emoji[] = {0xF0, 0x9F, 0x98, 0x80};
    uint8_t in[128], text[64], want[128];
    etf_arena *a = etf_arena_new();
    size_t n, i, k, len, wlen, pad;
    unsigned kind, ti, pid, v;
    const etf_term *atom;
    etf_error e;
    etf_term *t;

    (void)state;
    for (ti = 0; ti < sizeof(tags); ti++) {
        bool utf8 = tags[ti] == 118 || tags[ti] == 119;

        for (kind = 0; kind < 4; kind++) {
            for (n = 0; n <= 40; n++) {
                /* kind 0: ASCII; 1: é (UTF-8) or 0xE9 (Latin-1); 2: an
                 * emoji every four bytes, with ASCII after the last whole
                 * one; 3: as 2, but the last emoji cut short (UTF-8 only) */
                for (i = 0; i < n; i++)
                    text[i] = (uint8_t)('a' + i % 26);
                if (kind == 1 && n > 0) {
                    if (utf8 && n >= 2)
                        text[n - 2] = 0xC3, text[n - 1] = 0xA9;
                    else if (!utf8)
                        text[n - 1] = 0xE9;
                }
                if (kind >= 2 && utf8) {
                    for (i = 0; i + 4 <= n; i += 4)
                        memcpy(text + i, emoji, 4);
                    if (kind == 3 && n % 4 != 0)
                        memcpy(text + i, emoji, n - i);
                }
                for (v = 0; v < 4; v++) {
                    bool bad = kind == 3 && utf8 && n % 4 != 0;

                    pad = v < 2 ? 0 : 40; /* a tail of pad integers */
                    pid = v & 1;

                    /* [Atom | Tail] with the atom first: a list of one
                     * atom and a tail of pad small integers in a list */
                    k = 0;
                    in[k++] = 131;
                    in[k++] = 108, in[k++] = 0, in[k++] = 0, in[k++] = 0;
                    in[k++] = 1;
                    if (pid) /* NEW_PID_EXT: the atom is its node */
                        in[k++] = 88;
                    in[k++] = tags[ti];
                    if (tags[ti] == 115 || tags[ti] == 119)
                        in[k++] = (uint8_t)n;
                    else
                        in[k++] = 0, in[k++] = (uint8_t)n;
                    memcpy(in + k, text, n);
                    k += n;
                    if (pid) {
                        memset(in + k, 0, 12);
                        in[k + 3] = 7;
                        k += 12;
                    }
                    if (pad == 0) {
                        in[k++] = 106;
                    } else {
                        in[k++] = 107, in[k++] = 0, in[k++] = (uint8_t)pad;
                        for (i = 0; i < pad; i++)
                            in[k++] = (uint8_t)i;
                    }
                    len = k;
                    t = dec_exact_copy(a, in, len, &e);
                    if (bad) {
                        if (t != NULL || e.code != ETF_E_UTF8)
                            fail_msg("tag %u, %zu bytes, kind %u: %s", tags[ti],
                                     n, kind, t ? "accepted" : e.msg);
                        continue;
                    }
                    if (t == NULL)
                        fail_msg("tag %u, %zu bytes, kind %u: %s", tags[ti], n,
                                 kind, e.msg);
                    /* the text as UTF-8 */
                    for (i = 0, wlen = 0; i < n; i++) {
                        if (!utf8 && text[i] >= 0x80) {
                            want[wlen++] = (uint8_t)(0xC0 | (text[i] >> 6));
                            want[wlen++] = (uint8_t)(0x80 | (text[i] & 0x3F));
                        } else {
                            want[wlen++] = text[i];
                        }
                    }
                    atom = &t->v.elems[0];
                    if (pid) {
                        assert_int_equal(atom->kind, ETF_PID);
                        assert_int_equal(atom->v.pid->id, 7);
                        atom = &atom->v.pid->node;
                    }
                    assert_int_equal(atom->kind, ETF_ATOM);
                    assert_int_equal(atom->len, wlen);
                    assert_memory_equal(atom->v.str, want, wlen);
                    assert_int_equal(atom->v.str[wlen], '\0');
                    for (k = 1; k < len; k++)
                        if (dec_exact_copy(a, in, k, &e) != NULL)
                            fail_msg("tag %u, %zu bytes: a prefix of %zu "
                                     "decoded",
                                     tags[ti], n, k);
                    etf_arena_reset(a);
                }
            }
        }
    }
    etf_arena_free(a);
}

/* Latin-1 atoms of every length and mix of bytes become the UTF-8 a
 * byte-at-a-time conversion gives, through etf_atom_utf8 into a buffer of
 * exactly twice the length (so an over-write is caught) and through the
 * decoder. */
static void
test_latin1_atoms(void **state)
{
    etf_arena *a = etf_arena_new();
    uint8_t text[255], want[510], in[3 + 255];
    etf_term *t;
    etf_atomv av;
    uint32_t seed = 1;
    size_t n, i, w, got;
    char *out;
    int mix;

    (void)state;
    for (mix = 0; mix < 5; mix++) {
        for (n = 0; n <= 255; n++) {
            for (i = 0; i < n; i++) {
                seed = seed * 1103515245 + 12345;
                switch (mix) {
                case 0: /* random */
                    text[i] = (uint8_t)(seed >> 16);
                    break;
                case 1: /* all past 0x7F */
                    text[i] = (uint8_t)(0x80 | (seed >> 16));
                    break;
                case 2: /* ASCII and not, in turn */
                    text[i] = (uint8_t)(i % 2 ? 0xE9 : 'a' + i % 26);
                    break;
                case 3: /* ASCII with one byte past 0x7F at the end */
                    text[i] = (uint8_t)(i + 1 == n ? 0xFF : 'A' + i % 26);
                    break;
                default: /* every byte value */
                    text[i] = (uint8_t)(i * 7 + n);
                    break;
                }
            }
            for (i = w = 0; i < n; i++) {
                if (text[i] < 0x80) {
                    want[w++] = text[i];
                } else {
                    want[w++] = (uint8_t)(0xC0 | text[i] >> 6);
                    want[w++] = (uint8_t)(0x80 | (text[i] & 0x3F));
                }
            }
            av = (etf_atomv){.p = (const char *)text, .len = n, .latin1 = true};
            out = malloc(n ? 2 * n : 1);
            got = etf_atom_utf8(&av, out);
            assert_int_equal(got, w);
            assert_memory_equal(out, want, w);
            free(out);
            in[0] = 100; /* ATOM_EXT */
            in[1] = 0;
            in[2] = (uint8_t)n;
            memcpy(in + 3, text, n);
            t = etf_decode(a, in, 3 + n, &(etf_decode_opts){.no_version = true},
                           NULL, NULL);
            assert_non_null(t);
            assert_int_equal(t->kind, ETF_ATOM);
            assert_int_equal(t->len, w);
            assert_memory_equal(t->v.str, want, w);
            assert_int_equal(t->v.str[w], '\0');
            etf_arena_reset(a);
        }
    }
    etf_arena_free(a);
}

/* Short UTF-8 atoms with a bad sequence at their end or in their middle,
 * in the one-block reads and at the end of the input: all refused. */
static void
test_short_atoms_bad_utf8(void **state)
{
    static const struct {
        uint8_t len, b[4];
    } bad[] = {
        {1, {0x80}},                   /* a stray continuation */
        {2, {0xC0, 0x80}},             /* overlong two bytes */
        {3, {0xE0, 0x80, 0x80}},       /* overlong three bytes */
        {4, {0xF0, 0x80, 0x80, 0x80}}, /* overlong four bytes */
        {3, {0xED, 0xA0, 0x80}},       /* a surrogate */
        {4, {0xF4, 0x90, 0x80, 0x80}}, /* above U+10FFFF */
        {1, {0xF5}},                   /* never a lead */
        {1, {0xFF}},
        {2, {0xC3, 0x41}}, /* a lead without its continuation */
    };
    uint8_t in[128];
    etf_arena *a = etf_arena_new();
    size_t b, n, at, j, k;
    unsigned tag, pad;
    etf_error e;

    (void)state;
    for (b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
        for (tag = 118; tag <= 119; tag++) {
            for (n = bad[b].len; n <= 40; n++) {
                for (j = 0; j < 2; j++) {
                    /* the bad bytes first, then last */
                    at = j == 0 ? 0 : n - bad[b].len;
                    for (pad = 0; pad <= 40; pad += 40) {
                        k = 0;
                        in[k++] = 131;
                        in[k++] = 108, in[k++] = 0, in[k++] = 0, in[k++] = 0;
                        in[k++] = 1;
                        in[k++] = (uint8_t)tag;
                        if (tag == 118)
                            in[k++] = 0;
                        in[k++] = (uint8_t)n;
                        memset(in + k, 'a', n);
                        memcpy(in + k + at, bad[b].b, bad[b].len);
                        k += n;
                        if (pad == 0) {
                            in[k++] = 106;
                        } else {
                            in[k++] = 107, in[k++] = 0, in[k++] = (uint8_t)pad;
                            memset(in + k, 'z', pad);
                            k += pad;
                        }
                        if (dec_exact_copy(a, in, k, &e) != NULL ||
                            e.code != ETF_E_UTF8)
                            fail_msg("bad sequence %zu at %zu of %zu bytes "
                                     "(tag %u, pad %u): %s",
                                     b, at, n, tag, pad, e.msg);
                    }
                }
            }
        }
    }
    etf_arena_free(a);
}

static void
test_funs(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term *t;

    (void)state;
    /* fun lists:map/2, arity as SMALL_INTEGER_EXT or INTEGER_EXT. */
    roundtrip(BL(131, 113, 100, 0, 5, 'l', 'i', 's', 't', 's', 100, 0, 3, 'm',
                 'a', 'p', 97, 2));
    t = dec(a, BL(131, 113, 100, 0, 1, 'l', 100, 0, 1, 'm', 98, 0, 0, 1, 0));
    assert_int_equal(t->v.exp->arity, 256);
    roundtrip(BL(131, 113, 100, 0, 1, 'l', 100, 0, 1, 'm', 98, 0, 0, 1, 0));
    reject(BL(131, 113, 100, 0, 1, 'l', 100, 0, 1, 'm', 98, 255, 255, 255, 255),
           ETF_E_RANGE);
    reject(BL(131, 117, 0, 0, 0, 0), ETF_E_TAG); /* FUN_EXT is gone */
    /* NEW_FUN_EXT whose creator is not a pid: the BEAM takes any term
     * there, and so do we, and write it back as it was. */
    roundtrip(BL(131, 112, 0, 0, 0, 41, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                 12, 13, 14, 15, 0, 0, 0, 0, 0, 0, 0, 1, 100, 0, 1, 'm', 97, 0,
                 97, 5, 97, 42, 97, 7));
    etf_arena_free(a);
}

static void
test_compressed(void **state)
{
    uint8_t raw[2000], z[2100], in[2200];
    uLongf zlen = sizeof(z);
    etf_arena *a = etf_arena_new();
    etf_term *t, *plain;
    etf_decode_opts small = {.max_inflated = 100};
    etf_encode_opts co = {.compress = 6};
    etf_error e;
    uint8_t *out;
    size_t len;

    (void)state;
    /* A string of 1000 'a's, compressed as term_to_binary(_, [compressed])
     * would: 131, 80, Size, zlib. */
    raw[0] = 107;
    raw[1] = 1000 >> 8;
    raw[2] = 1000 & 0xFF;
    memset(raw + 3, 'a', 1000);
    assert_int_equal(compress2(z, &zlen, raw, 1003, 6), Z_OK);
    in[0] = 131;
    in[1] = 80;
    in[2] = 0;
    in[3] = 0;
    in[4] = 1003 >> 8;
    in[5] = 1003 & 0xFF;
    memcpy(in + 6, z, zlen);
    t = dec(a, in, 6 + zlen);
    assert_int_equal(t->kind, ETF_STRING);
    assert_int_equal(t->len, 1000);
    /* Trailing bytes after the zlib stream are ignored, as by the BEAM. */
    in[6 + zlen] = 0;
    dec(a, in, 6 + zlen + 1);
    /* Our encoder compresses only when that is smaller. */
    out = etf_encode_alloc(t, &co, &len, &e);
    assert_non_null(out);
    assert_int_equal(out[1], 80);
    plain = dec(a, out, len);
    assert_true(etf_equal(t, plain));
    free(out);
    out = etf_encode_alloc(dec(a, BL(131, 109, 0, 0, 0, 1, 1)), &co, &len, &e);
    assert_int_equal(len, 7);
    assert_int_equal(out[1], 109);
    free(out);
    /* A size that lies by one either way, garbage, raw deflate, a cap. */
    in[5] = (1003 & 0xFF) + 1;
    reject(in, 6 + zlen, ETF_E_COMPRESSED);
    in[5] = (1003 & 0xFF) - 1;
    reject(in, 6 + zlen, ETF_E_COMPRESSED);
    in[5] = 1003 & 0xFF;
    reject(in, 6 + zlen - 4, ETF_E_TRUNCATED);
    reject(BL(131, 80, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6), ETF_E_COMPRESSED);
    reject(in, 8, ETF_E_TRUNCATED);
    assert_null(etf_decode(a, in, 6 + zlen, &small, NULL, &e));
    assert_int_equal(e.code, ETF_E_LIMIT);
    /* Tag 80 only right after the version byte. */
    reject(BL(131, 104, 1, 80, 0, 0, 0, 1, 0), ETF_E_TAG);
    etf_arena_free(a);
}

static void
test_whole_input(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_decode_opts exact = {.exact = true};
    etf_decode_opts nover = {.no_version = true};
    etf_error e;
    size_t used;

    (void)state;
    reject(BL(131), ETF_E_TRUNCATED);
    reject((const uint8_t *)"", 0, ETF_E_TRUNCATED);
    reject(BL(130, 97, 1), ETF_E_VERSION);
    reject(BL(131, 0), ETF_E_TAG);
    reject(BL(131, 75), ETF_E_TAG);
    reject(BL(131, 68, 0), ETF_E_TAG);
    reject(BL(131, 82, 0), ETF_E_CACHE);
    /* Trailing bytes: ignored by default (binary_to_term), refused when
     * exactly one term is asked for. */
    assert_non_null(etf_decode(a, BL(131, 97, 1, 0, 0), NULL, &used, &e));
    assert_int_equal(used, 3);
    assert_null(etf_decode(a, BL(131, 97, 1, 0, 0), &exact, NULL, &e));
    assert_int_equal(e.code, ETF_E_TRAILING);
    assert_int_equal(e.pos, 3);
    assert_non_null(etf_decode(a, BL(97, 1), &nover, &used, &e));
    assert_int_equal(used, 2);
    etf_arena_free(a);
}

static void
test_error_positions(void **state)
{
    etf_error e;

    (void)state;
    /* The bad atom inside a tuple is reported where it starts. */
    e = reject(BL(131, 104, 2, 97, 1, 119, 2, 0xC3, 0x28), ETF_E_UTF8);
    assert_int_equal(e.pos, 5);
    e = reject(BL(131, 104, 2, 97, 1, 200), ETF_E_TAG);
    assert_int_equal(e.pos, 5);
    assert_non_null(strstr(e.msg, "byte 5"));
}

static void
test_deep_nesting(void **state)
{
    size_t depth = 1000000, i, len = 1 + depth * 6 + 1;
    uint8_t *buf = malloc(len);
    etf_arena *a = etf_arena_new();
    etf_decode_opts lim = {.max_depth = 1000};
    etf_error e;
    etf_term *t;
    uint8_t *out;
    size_t olen;
    etf_reader r;

    (void)state;
    /* [[[...]]] a million deep: LIST_EXT 1, then the tail NIL at the end is
     * not how OTP writes it; OTP writes 108,0,0,0,1,<elem>,106. */
    buf[0] = 131;
    for (i = 0; i < depth; i++)
        memcpy(buf + 1 + 5 * i, B(108, 0, 0, 0, 1), 5);
    buf[1 + 5 * depth] = 106;
    memset(buf + 2 + 5 * depth, 106, depth);
    len = 2 + 6 * depth;
    t = etf_decode(a, buf, len, &(etf_decode_opts){.max_depth = 2000000}, NULL,
                   &e);
    assert_non_null(t);
    out = etf_encode_alloc(t, NULL, &olen, &e);
    assert_non_null(out);
    assert_int_equal(olen, len);
    assert_memory_equal(out, buf, len);
    free(out);
    assert_true(etf_equal(t, t));
    etf_reader_init(&r, buf, len);
    assert_int_equal(etf_read_version(&r), 0);
    assert_int_equal(etf_skip(&r), 0);
    assert_int_equal(r.pos, len);
    /* The limit is enforced with a clear error. */
    assert_null(etf_decode(a, buf, len, &lim, NULL, &e));
    assert_int_equal(e.code, ETF_E_DEPTH);
    /* The default limit refuses a million. */
    assert_null(etf_decode(a, buf, len, NULL, NULL, &e));
    assert_int_equal(e.code, ETF_E_DEPTH);
    etf_arena_free(a);
    free(buf);
}

static void
test_reader_cursor(void **state)
{
    etf_reader r;
    etf_type ty;
    uint32_t n;
    etf_atomv at;
    int64_t v;
    char utf8[ETF_MAX_ATOM_BYTES];

    (void)state;
    /* {ok, 'é', 300} */
    etf_reader_init(&r, BL(131, 104, 3, 100, 0, 2, 'o', 'k', 100, 0, 1, 0xE9,
                           98, 0, 0, 1, 44));
    assert_int_equal(etf_read_version(&r), 0);
    assert_int_equal(etf_peek(&r, &ty), 0);
    assert_int_equal(ty, ETF_T_TUPLE);
    assert_int_equal(etf_read_tuple_header(&r, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(etf_read_atom(&r, &at), 0);
    assert_int_equal(at.len, 2);
    assert_true(at.latin1);
    assert_int_equal(etf_read_atom(&r, &at), 0);
    assert_int_equal(etf_atom_utf8(&at, utf8), 2);
    /* A failed read leaves the cursor where it was. */
    assert_int_equal(etf_read_atom(&r, &at), -1);
    assert_int_equal(r.err.code, ETF_E_TYPE);
    assert_int_equal(r.pos, 12);
    assert_int_equal(etf_read_int64(&r, &v), 0);
    assert_int_equal(v, 300);
    assert_int_equal(r.pos, r.len);
    assert_int_equal(etf_peek(&r, &ty), -1);
    assert_int_equal(r.err.code, ETF_E_TRUNCATED);

    /* int64 range. */
    etf_reader_init(&r, BL(110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
    assert_int_equal(etf_read_int64(&r, &v), -1);
    assert_int_equal(r.err.code, ETF_E_RANGE);
    assert_int_equal(r.pos, 0);
}

static void
test_writer_fixed_and_measure(void **state)
{
    uint8_t buf[4];
    etf_writer w;
    etf_arena *a = etf_arena_new();
    etf_term *t =
        dec(a, BL(131, 104, 2, 100, 0, 2, 'o', 'k', 109, 0, 0, 0, 2, 1, 2));

    (void)state;
    etf_writer_init(&w, NULL, 0);
    assert_int_equal(etf_encode(t, &w, NULL), 0);
    assert_int_equal(w.pos, 15);
    /* Too small: fails with ETF_E_SPACE but reports the size it needs. */
    etf_writer_init(&w, buf, sizeof(buf));
    assert_int_equal(etf_encode(t, &w, NULL), -1);
    assert_int_equal(w.err.code, ETF_E_SPACE);
    assert_int_equal(w.pos, 15);
    assert_memory_equal(buf, B(131, 104, 2), 3);
    etf_arena_free(a);
}

/* etf_arena_used counts what was handed out, rounded to the alignment,
 * across blocks, and starts again after a reset that keeps the blocks. */
static void
test_arena_used(void **state)
{
    etf_arena *a = etf_arena_new();

    (void)state;
    assert_int_equal(etf_arena_used(a), 0);
    assert_non_null(etf_arena_alloc(a, 10));
    assert_int_equal(etf_arena_used(a), 16);
    assert_non_null(etf_arena_alloc(a, 100000)); /* a block of its own */
    assert_int_equal(etf_arena_used(a), 16 + 100000);
    assert_non_null(etf_arena_alloc(a, 1));
    assert_int_equal(etf_arena_used(a), 16 + 100000 + 16);
    etf_arena_reset(a);
    assert_int_equal(etf_arena_used(a), 0);
    assert_non_null(etf_arena_alloc(a, 3000));
    /* with 4 KiB first blocks, on to a kept block: counted all the same */
    assert_non_null(etf_arena_alloc(a, 3000));
    assert_int_equal(etf_arena_used(a), 6016);
    etf_arena_free(a);
}

static void
test_constructors_and_order(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term terms[12], map, *kv, x, y;
    etf_error e;
    uint8_t d9[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
    size_t i;

    (void)state;
    /* number < atom < ref < fun < port < pid < tuple < map < nil < list <
     * bitstring */
    etf_set_int(&terms[0], 5);
    assert_int_equal(etf_set_atom(a, &terms[1], "a", 1), 0);
    etf_set_ref(a, &terms[2]);
    etf_set_atom(a, &terms[2].v.ref->node, "n@h", 3);
    etf_set_export(a, &terms[3]);
    etf_set_atom(a, &terms[3].v.exp->module, "m", 1);
    etf_set_atom(a, &terms[3].v.exp->function, "f", 1);
    etf_set_port(a, &terms[4]);
    etf_set_atom(a, &terms[4].v.port->node, "n@h", 3);
    etf_set_pid(a, &terms[5]);
    etf_set_atom(a, &terms[5].v.pid->node, "n@h", 3);
    etf_set_tuple(a, &terms[6], 0);
    etf_set_map(a, &terms[7], 0);
    etf_set_nil(&terms[8]);
    etf_set_string(a, &terms[9], "a", 1);
    etf_set_binary(a, &terms[10], "", 0);
    for (i = 0; i + 1 < 11; i++) {
        assert_true(etf_compare(&terms[i], &terms[i + 1], false) < 0);
        assert_true(etf_compare(&terms[i + 1], &terms[i], true) > 0);
    }
    /* Numbers: by value for ==, ints before floats in map-key order. */
    etf_set_int(&x, 1);
    etf_set_float(&y, 1.0);
    assert_int_equal(etf_compare(&x, &y, false), 0);
    assert_true(etf_compare(&x, &y, true) < 0);
    etf_set_int(&x, 2);
    assert_true(etf_compare(&x, &y, false) > 0);
    assert_true(etf_compare(&x, &y, true) < 0);
    assert_int_equal(etf_set_big(a, &x, false, d9, 9), 0);
    assert_int_equal(x.kind, ETF_BIG);
    etf_set_float(&y, 1e300);
    assert_true(etf_compare(&x, &y, false) < 0);
    etf_set_int(&y, INT64_MAX);
    assert_true(etf_compare(&x, &y, false) > 0);
    assert_int_equal(etf_set_big(a, &x, true, d9, 9), 0);
    assert_true(etf_compare(&x, &y, false) < 0);
    /* A bignum that fits becomes an int. */
    assert_int_equal(etf_set_big(a, &x, true, d9, 1), 0);
    assert_int_equal(x.kind, ETF_INT);
    /* Strings and lists compare element by element; [1] < [1,2] < [2]. */
    {
        etf_term l1, l2, s;
        etf_term *el = etf_set_list(a, &l1, 1);
        etf_set_int(&el[0], 1);
        el = etf_set_list(a, &l2, 2);
        etf_set_int(&el[0], 1);
        etf_set_int(&el[1], 2);
        etf_set_string(a, &s, "\x02", 1);
        assert_true(etf_compare(&l1, &l2, true) < 0);
        assert_true(etf_compare(&l2, &s, true) < 0);
        etf_set_string(a, &s, "\x01\x02", 2);
        assert_true(etf_equal(&l2, &s));
    }
    /* Pids by serial, then id, then node, then creation (as OTP 25 orders
     * them: <aaa@h.5.0> > <zzz@h.1.0>, and a small map's keys follow). */
    {
        static const struct {
            const char *node;
            uint32_t id, serial, creation;
        } pids[] = {{"zzz@h", 9, 0, 1},
                    {"aaa@h", 1, 1, 9},
                    {"zzz@h", 1, 1, 1},
                    {"zzz@h", 1, 1, 2},
                    {"aaa@h", 2, 1, 1}};
        etf_term p[5];

        for (i = 0; i < 5; i++) {
            etf_set_pid(a, &p[i]);
            etf_set_atom(a, &p[i].v.pid->node, pids[i].node,
                         strlen(pids[i].node));
            p[i].v.pid->id = pids[i].id;
            p[i].v.pid->serial = pids[i].serial;
            p[i].v.pid->creation = pids[i].creation;
        }
        for (i = 0; i + 1 < 5; i++) {
            assert_true(etf_compare(&p[i], &p[i + 1], true) < 0);
            assert_true(etf_compare(&p[i + 1], &p[i], true) > 0);
        }
    }
    /* Map sort orders keys as OTP orders a small map's keys. */
    kv = etf_set_map(a, &map, 3);
    etf_set_float(&kv[0], 1.0);
    etf_set_int(&kv[2], 2);
    etf_set_atom(a, &kv[4], "a", 1);
    for (i = 0; i < 3; i++)
        etf_set_int(&kv[2 * i + 1], (int64_t)i);
    assert_int_equal(etf_map_sort(&map, &e), 0);
    assert_int_equal(kv[0].kind, ETF_INT);
    assert_int_equal(kv[2].kind, ETF_FLOAT);
    assert_int_equal(kv[4].kind, ETF_ATOM);
    etf_set_int(&kv[2], 2);
    assert_int_equal(etf_map_sort(&map, &e), -1);
    assert_int_equal(e.code, ETF_E_DUPKEY);
    /* Atoms are validated when built. */
    assert_int_equal(etf_set_atom(a, &x, "\xC3\x28", 2), -1);
    etf_arena_free(a);
}

static void
test_dist_header(void **state)
{
    etf_atom_cache cache;
    etf_atom_refs refs;
    etf_reader r;
    etf_atomv at;
    etf_arena *a = etf_arena_new();
    etf_decode_opts o = {.no_version = true};
    etf_term *t;
    etf_error e;

    (void)state;
    memset(&cache, 0, sizeof(cache));
    /* Two refs: new entry "ok" in segment 0 index 5, new entry "hi" in
     * segment 1 index 7; flags nibbles 0x8 | 0x9 -> byte 0x98, then the
     * final nibble (no long atoms) in the next byte. */
    etf_reader_init(&r, BL(131, 68, 2, 0x98, 0x00, 5, 2, 'o', 'k', 7, 2, 'h',
                           'i', 104, 2, 82, 0, 82, 1));
    assert_int_equal(etf_read_version(&r), 0);
    assert_int_equal(etf_read_dist_header(&r, &cache, &refs), 0);
    assert_int_equal(refs.count, 2);
    assert_int_equal(cache.len[5], 2);
    assert_int_equal(cache.len[256 + 7], 2);
    o.refs = &refs;
    t = etf_decode(a, r.buf + r.pos, r.len - r.pos, &o, NULL, &e);
    assert_non_null(t);
    assert_int_equal(t->kind, ETF_TUPLE);
    assert_string_equal(t->v.elems[0].v.str, "ok");
    assert_string_equal(t->v.elems[1].v.str, "hi");
    /* An old entry refers to what the cache already holds. */
    etf_reader_init(&r, BL(68, 1, 0x00, 5, 82, 0));
    assert_int_equal(etf_read_dist_header(&r, &cache, &refs), 0);
    r.refs = &refs;
    assert_int_equal(etf_read_atom(&r, &at), 0);
    assert_int_equal(at.len, 2);
    /* Unknown index in the term, and a never-set slot in the header. */
    etf_reader_init(&r, BL(82, 9));
    r.refs = &refs;
    assert_int_equal(etf_read_atom(&r, &at), -1);
    assert_int_equal(r.err.code, ETF_E_CACHE);
    etf_reader_init(&r, BL(68, 1, 0x00, 99));
    assert_int_equal(etf_read_dist_header(&r, &cache, &refs), -1);
    assert_int_equal(r.err.code, ETF_E_CACHE);
    etf_atom_cache_clear(&cache);
    etf_arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_int_writer),
        cmocka_unit_test(test_bignum_limit),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_float_encode_minor0),
        cmocka_unit_test(test_atoms),
        cmocka_unit_test(test_atoms_long_utf8),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_map_duplicates),
        cmocka_unit_test(test_map_key_order),
        cmocka_unit_test(test_binaries),
        cmocka_unit_test(test_local_and_old_creations),
        cmocka_unit_test(test_borrow),
        cmocka_unit_test(test_pids_ports_refs),
        cmocka_unit_test(test_quick_paths),
        cmocka_unit_test(test_short_atoms),
        cmocka_unit_test(test_short_atoms_bad_utf8),
        cmocka_unit_test(test_latin1_atoms),
        cmocka_unit_test(test_funs),
        cmocka_unit_test(test_compressed),
        cmocka_unit_test(test_whole_input),
        cmocka_unit_test(test_error_positions),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_reader_cursor),
        cmocka_unit_test(test_writer_fixed_and_measure),
        cmocka_unit_test(test_arena_used),
        cmocka_unit_test(test_constructors_and_order),
        cmocka_unit_test(test_dist_header),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
