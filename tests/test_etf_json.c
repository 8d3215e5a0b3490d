/*
 * libetf JSON forms: the typed form (lossless) and the plain form (OTP 27's
 * json module), both directions. docs/json.md is the contract these tests
 * hold the code to: exact JSON text for every term kind, round trips that
 * give =:= terms and the same ETF bytes, and every error with its code and
 * where it happened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "etf.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__})
#define BL(...) B(__VA_ARGS__), sizeof(B(__VA_ARGS__))

static etf_arena *arena;

static int
setup(void **state)
{
    (void)state;
    arena = etf_arena_new();
    return arena == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    (void)state;
    etf_arena_free(arena);
    arena = NULL;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static etf_term *
new_term(void)
{
    etf_term *t = etf_arena_alloc(arena, sizeof(*t));

    assert_non_null(t);
    memset(t, 0, sizeof(*t));
    return t;
}

static etf_term *
dec(const uint8_t *p, size_t len)
{
    etf_decode_opts o = {.exact = true};
    etf_error e = {0};
    etf_term *t = etf_decode(arena, p, len, &o, NULL, &e);

    if (t == NULL)
        fail_msg("decode failed: %s", e.msg);
    return t;
}

static void
set_atom(etf_term *t, const char *s)
{
    assert_int_equal(etf_set_atom(arena, t, s, strlen(s)), 0);
}

static etf_term *
atom(const char *s)
{
    etf_term *t = new_term();

    set_atom(t, s);
    return t;
}

static etf_term *
integer(int64_t v)
{
    etf_term *t = new_term();

    etf_set_int(t, v);
    return t;
}

static etf_term *
binary(const void *p, size_t len)
{
    etf_term *t = new_term();

    assert_int_equal(etf_set_binary(arena, t, p, len), 0);
    return t;
}

/* A list of n terms given as pointers, with a tail (NULL for []). */
static etf_term *
list_of(size_t n, etf_term *const *el, const etf_term *tail)
{
    etf_term *t = new_term();
    etf_term *slots;

    if (n == 0) {
        etf_set_nil(t);
        return t;
    }
    slots = etf_set_list(arena, t, (uint32_t)n);
    assert_non_null(slots);
    for (size_t i = 0; i < n; i++)
        slots[i] = *el[i];
    if (tail != NULL)
        slots[n] = *tail;
    return t;
}

static etf_term *
tuple_of(size_t n, etf_term *const *el)
{
    etf_term *t = new_term();
    etf_term *slots = etf_set_tuple(arena, t, (uint32_t)n);

    assert_true(n == 0 || slots != NULL);
    for (size_t i = 0; i < n; i++)
        slots[i] = *el[i];
    return t;
}

static char *
to_text(const etf_term *t, etf_json_form form)
{
    etf_error e = {0};
    char *s = etf_to_json_text(t, form, false, &e);

    if (s == NULL)
        fail_msg("to JSON failed: %s (%s)", e.msg, etf_strerror(e.code));
    return s;
}

/* The term must map to exactly this JSON text. */
static void
expect_json(const etf_term *t, etf_json_form form, const char *want)
{
    char *s = to_text(t, form);

    assert_string_equal(s, want);
    free(s);
}

static etf_term *
from_text(const char *text, etf_json_form form)
{
    etf_error e = {0};
    etf_term *t = etf_from_json_text(arena, text, strlen(text), form, &e);

    if (t == NULL)
        fail_msg("from JSON failed on %.60s: %s (%s) pos %zu", text, e.msg,
                 etf_strerror(e.code), e.pos);
    return t;
}

static uint8_t *
enc(const etf_term *t, size_t *len)
{
    etf_error e = {0};
    uint8_t *b = etf_encode_alloc(t, NULL, len, &e);

    if (b == NULL)
        fail_msg("encode failed: %s", e.msg);
    return b;
}

/* Both terms are =:= and encode to the same bytes. */
static void
assert_same_term(const etf_term *x, const etf_term *y)
{
    size_t lx, ly;
    uint8_t *bx, *by;

    assert_true(etf_equal(x, y));
    bx = enc(x, &lx);
    by = enc(y, &ly);
    assert_int_equal(lx, ly);
    assert_memory_equal(bx, by, lx);
    free(bx);
    free(by);
}

/* The typed form gives t back, through json_t and through text (compact
 * and pretty). */
static void
roundtrip_typed(const etf_term *t)
{
    etf_error e = {0};
    json_t *j = etf_to_json(t, ETF_JSON_TYPED, &e);
    etf_term *back;
    char *s;

    if (j == NULL)
        fail_msg("to JSON failed: %s", e.msg);
    back = etf_from_json(arena, j, ETF_JSON_TYPED, &e);
    if (back == NULL)
        fail_msg("from JSON failed: %s", e.msg);
    json_decref(j);
    assert_same_term(t, back);

    s = to_text(t, ETF_JSON_TYPED);
    assert_same_term(t, from_text(s, ETF_JSON_TYPED));
    free(s);
    s = etf_to_json_text(t, ETF_JSON_TYPED, true, &e);
    assert_non_null(s);
    assert_same_term(t, from_text(s, ETF_JSON_TYPED));
    free(s);
}

/* Decode the bytes, round-trip the term through the typed form and require
 * the same bytes back (for inputs already in our encoder's forms). */
static void
roundtrip_bytes(const uint8_t *p, size_t len)
{
    etf_term *t = dec(p, len);
    size_t n;
    uint8_t *b = enc(t, &n);

    assert_int_equal(n, len);
    assert_memory_equal(b, p, len);
    free(b);
    roundtrip_typed(t);
}

/* JSON text must be refused with code, and the message must contain msg. */
static etf_error
expect_from_err(const char *text, etf_json_form form, etf_code code,
                const char *msg)
{
    etf_error e = {0};
    etf_term *t = etf_from_json_text(arena, text, strlen(text), form, &e);

    if (t != NULL)
        fail_msg("accepted %s", text);
    if (e.code != code)
        fail_msg("%s refused with %s (%s), want %s", text, etf_strerror(e.code),
                 e.msg, etf_strerror(code));
    if (msg != NULL && strstr(e.msg, msg) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", text, e.msg, msg);
    return e;
}

static void
expect_to_err(const etf_term *t, etf_json_form form, etf_code code,
              const char *msg)
{
    etf_error e = {0};
    char *s = etf_to_json_text(t, form, false, &e);

    if (s != NULL)
        fail_msg("mapped what must be refused: %s", s);
    if (e.code != code)
        fail_msg("refused with %s (%s), want %s", etf_strerror(e.code), e.msg,
                 etf_strerror(code));
    if (msg != NULL && strstr(e.msg, msg) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg);
    assert_null(etf_to_json(t, form, &e));
}

/* ------------------------------------------------------------------ */
/* Typed form: term to JSON text                                       */
/* ------------------------------------------------------------------ */

static void
typed_integers(void **state)
{
    const int64_t exact = INT64_C(1) << 53;
    etf_term t;

    (void)state;
    etf_set_int(&t, 0);
    expect_json(&t, ETF_JSON_TYPED, "0");
    etf_set_int(&t, -1);
    expect_json(&t, ETF_JSON_TYPED, "-1");
    etf_set_int(&t, exact);
    expect_json(&t, ETF_JSON_TYPED, "9007199254740992");
    etf_set_int(&t, -exact);
    expect_json(&t, ETF_JSON_TYPED, "-9007199254740992");
    etf_set_int(&t, exact + 1);
    expect_json(&t, ETF_JSON_TYPED, "{\"int\":\"9007199254740993\"}");
    etf_set_int(&t, -exact - 1);
    expect_json(&t, ETF_JSON_TYPED, "{\"int\":\"-9007199254740993\"}");
    etf_set_int(&t, INT64_MAX);
    expect_json(&t, ETF_JSON_TYPED, "{\"int\":\"9223372036854775807\"}");
    roundtrip_typed(&t);
    etf_set_int(&t, INT64_MIN);
    expect_json(&t, ETF_JSON_TYPED, "{\"int\":\"-9223372036854775808\"}");
    roundtrip_typed(&t);
}

static void
typed_bignums(void **state)
{
    /* 2^64 and -(2^64): SMALL_BIG_EXT as term_to_binary writes them. */
    etf_term *t = dec(BL(131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));

    (void)state;
    assert_int_equal(t->kind, ETF_BIG);
    expect_json(t, ETF_JSON_TYPED, "{\"int\":\"18446744073709551616\"}");
    roundtrip_typed(t);
    t = dec(BL(131, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1));
    expect_json(t, ETF_JSON_TYPED, "{\"int\":\"-18446744073709551616\"}");
    roundtrip_typed(t);
    /* 2^100 */
    t = dec(BL(131, 110, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16));
    expect_json(t, ETF_JSON_TYPED,
                "{\"int\":\"1267650600228229401496703205376\"}");
    roundtrip_typed(t);
    /* 2^64 - 1: every digit byte 255, carries through every limb. */
    t = dec(BL(131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255));
    expect_json(t, ETF_JSON_TYPED, "{\"int\":\"18446744073709551615\"}");
    roundtrip_typed(t);
    /* -(4 * 10^27 - 1), as OTP 25 writes it. */
    t = dec(BL(131, 110, 12, 1, 255, 255, 255, 159, 243, 0, 66, 127, 242, 184,
               236, 12));
    expect_json(t, ETF_JSON_TYPED,
                "{\"int\":\"-3999999999999999999999999999\"}");
    roundtrip_typed(t);
}

/* Compare a decimal string for 256^n - 1 computed by long multiplication. */
static void
typed_bignum_sizes(void **state)
{
    (void)state;
    for (size_t n = 9; n <= 300; n += 7) {
        uint8_t *d = malloc(n);
        etf_term *t = new_term();
        char *s, *digits;
        size_t nd = 1;
        char want[1024];

        /* want = 256^n - 1 in decimal, by repeated x256 on a digit array
         * (least significant first). */
        digits = calloc(1024, 1);
        digits[0] = 1;
        for (size_t i = 0; i < n; i++) {
            unsigned carry = 0;
            for (size_t k = 0; k < nd; k++) {
                unsigned v = (unsigned)digits[k] * 256 + carry;
                digits[k] = (char)(v % 10);
                carry = v / 10;
            }
            while (carry) {
                digits[nd++] = (char)(carry % 10);
                carry /= 10;
            }
        }
        for (size_t k = 0; k < nd; k++) { /* minus one: last digit is 6 */
            if (digits[k] > 0) {
                digits[k]--;
                break;
            }
            digits[k] = 9;
        }
        while (nd > 1 && digits[nd - 1] == 0)
            nd--;
        memcpy(want, "{\"int\":\"", 8);
        for (size_t k = 0; k < nd; k++)
            want[8 + k] = (char)('0' + digits[nd - 1 - k]);
        memcpy(want + 8 + nd, "\"}", 3);
        free(digits);

        memset(d, 255, n);
        assert_int_equal(etf_set_big(arena, t, false, d, n), 0);
        s = to_text(t, ETF_JSON_TYPED);
        assert_string_equal(s, want);
        assert_same_term(t, from_text(s, ETF_JSON_TYPED));
        free(s);
        free(d);
    }
}

static void
typed_bignum_hex(void **state)
{
    /* Up to 8192 magnitude bytes in decimal, beyond that in hexadecimal. */
    size_t n = 8193;
    uint8_t *d = calloc(n, 1);
    etf_term *t = new_term();
    char *s;

    (void)state;
    d[0] = 0xab;
    d[n - 1] = 0x05;
    assert_int_equal(etf_set_big(arena, t, true, d, n), 0);
    s = to_text(t, ETF_JSON_TYPED);
    assert_int_equal(strncmp(s, "{\"int\":\"-0x5000000", 17), 0);
    assert_string_equal(s + strlen(s) - 6, "00ab\"}");
    assert_int_equal(strlen(s), strlen("{\"int\":\"-0x\"}") + 2 * n - 1);
    assert_same_term(t, from_text(s, ETF_JSON_TYPED));
    free(s);

    /* 8192 bytes still decimal (19,729 digits at most). */
    memset(d, 255, 8192);
    assert_int_equal(etf_set_big(arena, t, false, d, 8192), 0);
    s = to_text(t, ETF_JSON_TYPED);
    assert_int_equal(strlen(s), strlen("{\"int\":\"\"}") + 19729);
    /* 2^65536 - 1 = 2003529930406846...5 */
    assert_int_equal(strncmp(s + 8, "2003529930406846", 16), 0);
    assert_string_equal(s + strlen(s) - 3, "5\"}");
    assert_same_term(t, from_text(s, ETF_JSON_TYPED));
    free(s);
    free(d);
}

static void
typed_int_text_input(void **state)
{
    etf_term *t;

    (void)state;
    t = from_text("{\"int\":\"5\"}", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_INT);
    assert_int_equal(t->v.i, 5);
    t = from_text("{\"int\":\"-0\"}", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_INT);
    assert_int_equal(t->v.i, 0);
    t = from_text("{\"int\":\"0x10\"}", ETF_JSON_TYPED);
    assert_int_equal(t->v.i, 16);
    t = from_text("{\"int\":\"-0xFFFFFFFFFFFFFFFF\"}", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_BIG);
    assert_int_equal(t->aux, 1);
    assert_int_equal(t->len, 8);
    t = from_text("{\"int\":\"-9223372036854775808\"}", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_INT);
    assert_true(t->v.i == INT64_MIN);
    t = from_text("{\"int\":\"9223372036854775808\"}", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_BIG);
    /* Plain JSON integers beyond 2^53 are still read exactly. */
    t = from_text("9223372036854775807", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_INT);
    assert_true(t->v.i == INT64_MAX);

    expect_from_err("{\"int\":\"\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "no digits at $.int");
    expect_from_err("{\"int\":\"-\"}", ETF_JSON_TYPED, ETF_E_JSON, "no digits");
    expect_from_err("{\"int\":\"+1\"}", ETF_JSON_TYPED, ETF_E_JSON, "offset 0");
    expect_from_err("{\"int\":\" 1\"}", ETF_JSON_TYPED, ETF_E_JSON, "offset 0");
    expect_from_err("{\"int\":\"1 \"}", ETF_JSON_TYPED, ETF_E_JSON, "offset 1");
    expect_from_err("{\"int\":\"12a\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "offset 2");
    expect_from_err("{\"int\":\"01\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "leading zero");
    expect_from_err("{\"int\":\"0x\"}", ETF_JSON_TYPED, ETF_E_JSON, "offset 1");
    expect_from_err("{\"int\":\"0x0f\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "leading zero");
    expect_from_err("{\"int\":\"0xg\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "offset 2");
    expect_from_err("{\"int\":\"1.0\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "offset 1");
    expect_from_err("{\"int\":5}", ETF_JSON_TYPED, ETF_E_JSON,
                    "expected integer text");

    /* Over 20,000 decimal digits is refused before any work. */
    char *big = malloc(20001 + 16);
    strcpy(big, "{\"int\":\"");
    memset(big + 8, '7', 20001);
    strcpy(big + 8 + 20001, "\"}");
    expect_from_err(big, ETF_JSON_TYPED, ETF_E_LIMIT, "20001 decimal digits");
    big[8 + 20000] = '"';
    big[8 + 20001] = '}';
    big[8 + 20002] = '\0';
    t = from_text(big, ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_BIG);
    free(big);
}

static void
typed_floats(void **state)
{
    etf_term t;
    etf_term *back;

    (void)state;
    etf_set_float(&t, 1.0);
    expect_json(&t, ETF_JSON_TYPED, "1.0");
    roundtrip_typed(&t);
    etf_set_float(&t, -0.0);
    expect_json(&t, ETF_JSON_TYPED, "-0.0");
    back = from_text("-0.0", ETF_JSON_TYPED);
    assert_int_equal(back->kind, ETF_FLOAT);
    assert_true(signbit(back->v.f));
    assert_same_term(&t, back);
    etf_set_float(&t, 0.1);
    expect_json(&t, ETF_JSON_TYPED, "0.10000000000000001");
    roundtrip_typed(&t);
    etf_set_float(&t, 1e17);
    expect_json(&t, ETF_JSON_TYPED, "1e17");
    roundtrip_typed(&t);
    etf_set_float(&t, 1e16);
    expect_json(&t, ETF_JSON_TYPED, "10000000000000000.0");
    roundtrip_typed(&t);
    etf_set_float(&t, 5e-324);
    roundtrip_typed(&t);
    etf_set_float(&t, -1.7976931348623157e308);
    roundtrip_typed(&t);
    /* An integral float stays a float, an integer an integer. */
    back = from_text("[1.0,1,1e2]", ETF_JSON_TYPED);
    assert_int_equal(back->kind, ETF_LIST);
    assert_int_equal(back->v.elems[0].kind, ETF_FLOAT);
    assert_int_equal(back->v.elems[1].kind, ETF_INT);
    assert_int_equal(back->v.elems[2].kind, ETF_FLOAT);
    assert_true(back->v.elems[2].v.f == 100.0);
    expect_from_err("1e400", ETF_JSON_TYPED, ETF_E_JSON, "overflow");
}

static void
typed_atoms(void **state)
{
    etf_term *t;

    (void)state;
    expect_json(atom("ok"), ETF_JSON_TYPED, "{\"atom\":\"ok\"}");
    expect_json(atom(""), ETF_JSON_TYPED, "{\"atom\":\"\"}");
    expect_json(atom("true"), ETF_JSON_TYPED, "true");
    expect_json(atom("false"), ETF_JSON_TYPED, "false");
    expect_json(atom("null"), ETF_JSON_TYPED, "null");
    expect_json(atom("\xc3\xa9t\xc3\xa9"), ETF_JSON_TYPED,
                "{\"atom\":\"\xc3\xa9t\xc3\xa9\"}");
    t = new_term();
    assert_int_equal(etf_set_atom(arena, t, "a\0b", 3), 0);
    expect_json(t, ETF_JSON_TYPED, "{\"atom\":\"a\\u0000b\"}");
    roundtrip_typed(t);
    roundtrip_typed(atom("true"));
    roundtrip_typed(atom("undefined"));
    /* 'é' as ATOM_EXT (Latin-1) comes back as the same atom and bytes. */
    roundtrip_bytes(BL(131, 100, 0, 2, 0xe9, 't'));

    /* true/false/null and {"atom":...} spellings read the same. */
    assert_true(etf_equal(from_text("true", ETF_JSON_TYPED), atom("true")));
    assert_true(etf_equal(from_text("{\"atom\":\"true\"}", ETF_JSON_TYPED),
                          atom("true")));
    assert_true(etf_equal(from_text("null", ETF_JSON_TYPED), atom("null")));
    assert_true(etf_equal(from_text("false", ETF_JSON_TYPED), atom("false")));
}

static void
typed_atom_limits(void **state)
{
    char text[2048];
    size_t n;

    (void)state;
    /* 255 four-byte characters are an atom; 256 ASCII ones are not. */
    n = (size_t)snprintf(text, sizeof(text), "{\"atom\":\"");
    for (int i = 0; i < 255; i++) {
        memcpy(text + n, "\xf0\x9f\x98\x80", 4);
        n += 4;
    }
    memcpy(text + n, "\"}", 3);
    roundtrip_typed(from_text(text, ETF_JSON_TYPED));
    n = (size_t)snprintf(text, sizeof(text), "{\"atom\":\"");
    memset(text + n, 'a', 256);
    memcpy(text + n + 256, "\"}", 3);
    expect_from_err(text, ETF_JSON_TYPED, ETF_E_ATOM, "256 characters");
    expect_from_err("{\"atom\":1}", ETF_JSON_TYPED, ETF_E_JSON,
                    "expected a string (atom text), found an integer at "
                    "$.atom");
}

static void
typed_tuples_lists(void **state)
{
    etf_term *el[3];
    etf_term *t;

    (void)state;
    expect_json(tuple_of(0, NULL), ETF_JSON_TYPED, "{\"tuple\":[]}");
    el[0] = atom("ok");
    el[1] = integer(1);
    el[2] = tuple_of(0, NULL);
    t = tuple_of(3, el);
    expect_json(t, ETF_JSON_TYPED,
                "{\"tuple\":[{\"atom\":\"ok\"},1,{\"tuple\":[]}]}");
    roundtrip_typed(t);

    /* [] and a proper list of anything but bytes are arrays. */
    t = new_term();
    etf_set_nil(t);
    expect_json(t, ETF_JSON_TYPED, "[]");
    roundtrip_typed(t);
    t = list_of(3, el, NULL);
    expect_json(t, ETF_JSON_TYPED, "[{\"atom\":\"ok\"},1,{\"tuple\":[]}]");
    roundtrip_typed(t);
    el[0] = integer(1);
    el[1] = integer(256);
    t = list_of(2, el, NULL);
    expect_json(t, ETF_JSON_TYPED, "[1,256]");
    roundtrip_typed(t);

    /* [a|b] */
    el[0] = atom("a");
    t = list_of(1, el, atom("b"));
    expect_json(t, ETF_JSON_TYPED,
                "{\"list\":[{\"atom\":\"a\"}],\"tail\":{\"atom\":\"b\"}}");
    roundtrip_typed(t);
    /* [1,2|<<>>] */
    el[0] = integer(1);
    el[1] = integer(2);
    t = list_of(2, el, binary("", 0));
    expect_json(t, ETF_JSON_TYPED,
                "{\"list\":[1,2],\"tail\":{\"binary\":\"\"}}");
    roundtrip_typed(t);
}

static void
typed_strings(void **state)
{
    etf_term *t;

    (void)state;
    /* STRING_EXT: an array of small integers, read back as a string. */
    t = dec(BL(131, 107, 0, 3, 'a', 'b', 0));
    assert_int_equal(t->kind, ETF_STRING);
    expect_json(t, ETF_JSON_TYPED, "[97,98,0]");
    t = from_text("[97,98,0]", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_STRING);
    roundtrip_bytes(BL(131, 107, 0, 3, 'a', 'b', 0));

    /* LIST_EXT of small integers (as C nodes write it) is the same term
     * but other bytes: it keeps them as {"list":[...]}. */
    t = dec(BL(131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106));
    assert_int_equal(t->kind, ETF_LIST);
    expect_json(t, ETF_JSON_TYPED, "{\"list\":[1,2]}");
    roundtrip_bytes(BL(131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106));
    assert_true(etf_equal(t, from_text("[1,2]", ETF_JSON_TYPED)));

    /* Nested LIST_EXT cells and a STRING_EXT tail stay as they are. */
    t = dec(BL(131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106));
    expect_json(t, ETF_JSON_TYPED, "{\"list\":[1],\"tail\":{\"list\":[2]}}");
    roundtrip_bytes(
        BL(131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106));
    t = dec(BL(131, 108, 0, 0, 0, 1, 100, 0, 1, 'x', 107, 0, 2, 1, 2));
    expect_json(t, ETF_JSON_TYPED,
                "{\"list\":[{\"atom\":\"x\"}],\"tail\":[1,2]}");
    roundtrip_bytes(BL(131, 108, 0, 0, 0, 1, 100, 0, 1, 'x', 107, 0, 2, 1, 2));
    assert_true(
        etf_equal(t, from_text("[{\"atom\":\"x\"},1,2]", ETF_JSON_TYPED)));

    /* {"list":[]} is [], and [] as a tail ends a proper list. */
    t = from_text("{\"list\":[]}", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_NIL);
    t = from_text("{\"list\":[1],\"tail\":[]}", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_LIST);
    assert_int_equal(t->v.elems[1].kind, ETF_NIL);
}

static void
typed_long_string(void **state)
{
    /* 70,000 bytes: ETF_STRING past STRING_EXT's 65,535 encodes as a
     * LIST_EXT, which decodes to ETF_LIST and must come back as such. */
    size_t n = 70000;
    uint8_t *p = malloc(n);
    etf_term *t = new_term(), *back;
    uint8_t *b;
    size_t blen;

    (void)state;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7);
    assert_int_equal(etf_set_string(arena, t, p, n), 0);
    roundtrip_typed(t);
    b = enc(t, &blen);
    back = dec(b, blen);
    assert_int_equal(back->kind, ETF_LIST);
    roundtrip_bytes(b, blen);
    free(b);
    free(p);
}

static void
typed_binaries(void **state)
{
    etf_term *t;

    (void)state;
    expect_json(binary("", 0), ETF_JSON_TYPED, "{\"binary\":\"\"}");
    expect_json(binary("h", 1), ETF_JSON_TYPED, "{\"binary\":\"aA==\"}");
    expect_json(binary("hi", 2), ETF_JSON_TYPED, "{\"binary\":\"aGk=\"}");
    expect_json(binary("hi!", 3), ETF_JSON_TYPED, "{\"binary\":\"aGkh\"}");
    expect_json(binary("\xff\xfe\x00", 3), ETF_JSON_TYPED,
                "{\"binary\":\"//4A\"}");
    roundtrip_typed(binary("\xff\xfe\x00", 3));

    /* A JSON string is a UTF-8 binary. */
    t = from_text("\"h\\u00e9\\u0000\"", ETF_JSON_TYPED);
    assert_same_term(t, binary("h\xc3\xa9\0", 4));

    /* Bitstrings: bits is bit_size/1, unused bits are zero. */
    t = new_term();
    assert_int_equal(etf_set_bitstring(arena, t, "\xe0", 1, 3), 0);
    expect_json(t, ETF_JSON_TYPED,
                "{\"bitstring\":{\"bits\":3,\"data\":\"4A==\"}}");
    roundtrip_typed(t);
    assert_int_equal(etf_set_bitstring(arena, t, "\x01\x80", 2, 1), 0);
    expect_json(t, ETF_JSON_TYPED,
                "{\"bitstring\":{\"bits\":9,\"data\":\"AYA=\"}}");
    roundtrip_typed(t);
    roundtrip_bytes(BL(131, 77, 0, 0, 0, 2, 7, 0xab, 0xfe));
    /* A whole number of bits is a binary. */
    t = from_text("{\"bitstring\":{\"bits\":8,\"data\":\"/w==\"}}",
                  ETF_JSON_TYPED);
    assert_same_term(t, binary("\xff", 1));
    t = from_text("{\"bitstring\":{\"bits\":0,\"data\":\"\"}}", ETF_JSON_TYPED);
    assert_same_term(t, binary("", 0));

    expect_from_err("{\"bitstring\":{\"bits\":2,\"data\":\"4A==\"}}",
                    ETF_JSON_TYPED, ETF_E_BITS, "unused bits");
    expect_from_err("{\"bitstring\":{\"bits\":9,\"data\":\"4A==\"}}",
                    ETF_JSON_TYPED, ETF_E_BITS, "9 bits do not fill 1 bytes");
    expect_from_err("{\"bitstring\":{\"bits\":-1,\"data\":\"\"}}",
                    ETF_JSON_TYPED, ETF_E_BITS, "at $.bitstring.bits");
    expect_from_err("{\"bitstring\":{\"bits\":3}}", ETF_JSON_TYPED, ETF_E_JSON,
                    "member \"data\" missing");
    expect_from_err("{\"bitstring\":{\"bits\":3,\"data\":\"4A==\",\"x\":1}}",
                    ETF_JSON_TYPED, ETF_E_JSON, "unexpected member \"x\"");
}

static void
typed_base64_errors(void **state)
{
    (void)state;
    expect_from_err("{\"binary\":\"aGk\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "not a multiple of 4 at $.binary");
    expect_from_err("{\"binary\":\"aG k\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "bad base64 at offset 2 at $.binary");
    expect_from_err("{\"binary\":\"aGk-\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "offset 3");
    expect_from_err("{\"binary\":\"a=k=\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "offset 1");
    expect_from_err("{\"binary\":\"aGk=aGk=\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "offset 3");
    expect_from_err("{\"binary\":\"====\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "offset 0");
    /* Non-zero bits after the last byte: "aGl=" would also be "hi". */
    expect_from_err("{\"binary\":\"aGl=\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "offset 2");
    expect_from_err("{\"binary\":\"aB==\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "offset 1");
    expect_from_err("{\"binary\":[]}", ETF_JSON_TYPED, ETF_E_JSON,
                    "expected a base64 string, found an array");
    expect_from_err("{\"tuple\":[1,{\"binary\":\"!!!!\"}]}", ETF_JSON_TYPED,
                    ETF_E_JSON, "at $.tuple[1].binary");
}

static void
typed_maps(void **state)
{
    etf_term *t, *kv;

    (void)state;
    t = new_term();
    (void)etf_set_map(arena, t, 0);
    expect_json(t, ETF_JSON_TYPED, "{\"map\":[]}");
    roundtrip_typed(t);

    /* Order as built (b before a), any keys. */
    kv = etf_set_map(arena, t, 3);
    assert_non_null(kv);
    set_atom(&kv[0], "b");
    etf_set_int(&kv[1], 1);
    set_atom(&kv[2], "a");
    etf_set_float(&kv[3], 2.0);
    etf_set_int(&kv[4], 1);
    kv[5] = *tuple_of(0, NULL);
    expect_json(t, ETF_JSON_TYPED,
                "{\"map\":[[{\"atom\":\"b\"},1],[{\"atom\":\"a\"},2.0],"
                "[1,{\"tuple\":[]}]]}");
    roundtrip_typed(t);

    /* 1 and 1.0 are different keys. */
    t = from_text("{\"map\":[[1,\"a\"],[1.0,\"b\"]]}", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_MAP);
    assert_int_equal(t->len, 2);
    roundtrip_typed(t);
    /* Object form: binary keys, in the order written. */
    t = from_text("{\"map\":{\"z\":1,\"a\":[]}}", ETF_JSON_TYPED);
    assert_int_equal(t->len, 2);
    assert_same_term(&t->v.elems[0], binary("z", 1));
    assert_same_term(&t->v.elems[2], binary("a", 1));

    /* A large map keeps the order it had on the wire. */
    t = new_term();
    kv = etf_set_map(arena, t, 40);
    for (int i = 0; i < 40; i++) {
        etf_set_int(&kv[2 * i], (i * 17) % 40);
        etf_set_int(&kv[2 * i + 1], i);
    }
    roundtrip_typed(t);

    expect_from_err("{\"map\":[[1,2],[1,3]]}", ETF_JSON_TYPED, ETF_E_DUPKEY,
                    "at $.map");
    expect_from_err("{\"map\":[[{\"atom\":\"a\"},2],[{\"atom\":\"a\"},3]]}",
                    ETF_JSON_TYPED, ETF_E_DUPKEY, NULL);
    expect_from_err("{\"map\":[[1,2,3]]}", ETF_JSON_TYPED, ETF_E_JSON,
                    "pair at $.map[0]");
    expect_from_err("{\"map\":[1]}", ETF_JSON_TYPED, ETF_E_JSON,
                    "pair at $.map[0]");
    expect_from_err("{\"map\":[[1,{\"bad\":1}]]}", ETF_JSON_TYPED, ETF_E_JSON,
                    "unknown type \"bad\" at $.map[0][1]");
    expect_from_err("{\"map\":1}", ETF_JSON_TYPED, ETF_E_JSON,
                    "expected an array of [key, value] pairs");
}

static void
typed_pids_ports_refs(void **state)
{
    etf_term *t;
    etf_pid *pid;
    etf_port *port;
    etf_ref *ref;

    (void)state;
    /* self() of gen@vm as OTP 25 writes it. */
    t = dec(BL(131, 88, 100, 0, 6, 103, 101, 110, 64, 118, 109, 0, 0, 0, 9, 0,
               0, 0, 0, 107, 4, 66, 113));
    expect_json(t, ETF_JSON_TYPED,
                "{\"pid\":{\"node\":\"gen@vm\",\"id\":9,\"serial\":0,"
                "\"creation\":1795441265}}");
    roundtrip_bytes(BL(131, 88, 100, 0, 6, 103, 101, 110, 64, 118, 109, 0, 0, 0,
                       9, 0, 0, 0, 0, 107, 4, 66, 113));
    t = new_term();
    pid = etf_set_pid(arena, t);
    set_atom(&pid->node, "n@h");
    pid->id = UINT32_MAX;
    pid->serial = UINT32_MAX;
    pid->creation = UINT32_MAX;
    roundtrip_typed(t);

    t = new_term();
    port = etf_set_port(arena, t);
    set_atom(&port->node, "n@h");
    port->id = 5;
    port->creation = 3;
    expect_json(t, ETF_JSON_TYPED,
                "{\"port\":{\"node\":\"n@h\",\"id\":5,\"creation\":3}}");
    roundtrip_typed(t);
    port->id = UINT64_MAX;
    expect_json(t, ETF_JSON_TYPED,
                "{\"port\":{\"node\":\"n@h\",\"id\":{\"int\":"
                "\"18446744073709551615\"},\"creation\":3}}");
    roundtrip_typed(t);
    /* V4_PORT_EXT with a 40-bit id. */
    roundtrip_bytes(BL(131, 120, 100, 0, 3, 'n', '@', 'h', 0, 0, 1, 0, 0, 0, 0,
                       0, 0, 0, 0, 7));

    t = new_term();
    ref = etf_set_ref(arena, t);
    set_atom(&ref->node, "n@h");
    ref->creation = 2;
    ref->len = 3;
    ref->id[0] = 1;
    ref->id[1] = 2;
    ref->id[2] = 3;
    expect_json(t, ETF_JSON_TYPED,
                "{\"ref\":{\"node\":\"n@h\",\"id\":[1,2,3],\"creation\":2}}");
    roundtrip_typed(t);
    ref->len = 0;
    expect_json(t, ETF_JSON_TYPED,
                "{\"ref\":{\"node\":\"n@h\",\"id\":[],\"creation\":2}}");
    roundtrip_typed(t);
    ref->len = 5;
    ref->id[3] = UINT32_MAX;
    ref->id[4] = 0;
    roundtrip_typed(t);

    expect_from_err("{\"pid\":{\"node\":\"n@h\",\"id\":1,\"serial\":0}}",
                    ETF_JSON_TYPED, ETF_E_JSON,
                    "member \"creation\" missing at $.pid");
    expect_from_err("{\"pid\":{\"node\":\"n@h\",\"id\":4294967296,"
                    "\"serial\":0,\"creation\":0}}",
                    ETF_JSON_TYPED, ETF_E_RANGE, "at $.pid.id");
    expect_from_err("{\"pid\":{\"node\":\"n@h\",\"id\":-1,"
                    "\"serial\":0,\"creation\":0}}",
                    ETF_JSON_TYPED, ETF_E_RANGE, "at $.pid.id");
    expect_from_err("{\"pid\":{\"node\":1,\"id\":1,\"serial\":0,"
                    "\"creation\":0}}",
                    ETF_JSON_TYPED, ETF_E_JSON, "at $.pid.node");
    expect_from_err("{\"pid\":{\"node\":\"n@h\",\"id\":1,\"serial\":0,"
                    "\"creation\":0,\"extra\":0}}",
                    ETF_JSON_TYPED, ETF_E_JSON, "unexpected member \"extra\"");
    expect_from_err("{\"pid\":[]}", ETF_JSON_TYPED, ETF_E_JSON,
                    "expected an object");
    expect_from_err("{\"ref\":{\"node\":\"n@h\",\"id\":[1,2,3,4,5,6],"
                    "\"creation\":0}}",
                    ETF_JSON_TYPED, ETF_E_REF, "6 words");
    expect_from_err("{\"ref\":{\"node\":\"n@h\",\"id\":[1,\"2\"],"
                    "\"creation\":0}}",
                    ETF_JSON_TYPED, ETF_E_JSON, "at $.ref.id[1]");
    expect_from_err("{\"port\":{\"node\":\"n@h\",\"id\":{\"int\":"
                    "\"18446744073709551616\"},\"creation\":0}}",
                    ETF_JSON_TYPED, ETF_E_RANGE, "at $.port.id");
    expect_from_err("{\"port\":{\"node\":\"n@h\",\"id\":{\"int\":\"-1\"},"
                    "\"creation\":0}}",
                    ETF_JSON_TYPED, ETF_E_RANGE, NULL);
}

/* fun(X) -> {X, Y, <<"s">>} end with Y = 7, made on gen@vm by OTP 25. */
static const uint8_t fun_bytes[] = {
    131, 112, 0,   0,   1,   13,  1,   6,   83,  97,  170, 70,  21,  144, 209,
    189, 241, 235, 98,  209, 166, 235, 8,   0,   0,   0,   42,  0,   0,   0,
    1,   100, 0,   8,   101, 114, 108, 95,  101, 118, 97,  108, 97,  42,  98,
    0,   50,  155, 13,  88,  100, 0,   6,   103, 101, 110, 64,  118, 109, 0,
    0,   0,   9,   0,   0,   0,   0,   107, 4,   66,  113, 104, 6,   97,  1,
    108, 0,   0,   0,   1,   104, 2,   100, 0,   1,   89,  97,  7,   106, 100,
    0,   4,   110, 111, 110, 101, 100, 0,   4,   110, 111, 110, 101, 116, 0,
    0,   0,   0,   108, 0,   0,   0,   1,   104, 5,   100, 0,   6,   99,  108,
    97,  117, 115, 101, 97,  1,   108, 0,   0,   0,   1,   104, 3,   100, 0,
    3,   118, 97,  114, 97,  1,   100, 0,   1,   88,  106, 106, 108, 0,   0,
    0,   1,   104, 3,   100, 0,   5,   116, 117, 112, 108, 101, 97,  1,   108,
    0,   0,   0,   3,   104, 3,   100, 0,   3,   118, 97,  114, 97,  1,   100,
    0,   1,   88,  104, 3,   100, 0,   3,   118, 97,  114, 97,  1,   100, 0,
    1,   89,  104, 3,   100, 0,   3,   98,  105, 110, 97,  1,   108, 0,   0,
    0,   1,   104, 5,   100, 0,   11,  98,  105, 110, 95,  101, 108, 101, 109,
    101, 110, 116, 97,  1,   104, 3,   100, 0,   6,   115, 116, 114, 105, 110,
    103, 97,  1,   107, 0,   1,   115, 100, 0,   7,   100, 101, 102, 97,  117,
    108, 116, 100, 0,   7,   100, 101, 102, 97,  117, 108, 116, 106, 106, 106,
    106};

static void
typed_funs(void **state)
{
    etf_term *t;
    etf_export *ex;
    etf_fun *f;
    char *s;

    (void)state;
    t = new_term();
    ex = etf_set_export(arena, t);
    set_atom(&ex->module, "lists");
    set_atom(&ex->function, "map");
    ex->arity = 2;
    expect_json(t, ETF_JSON_TYPED,
                "{\"export\":{\"module\":\"lists\",\"function\":\"map\","
                "\"arity\":2}}");
    roundtrip_typed(t);
    roundtrip_bytes(BL(131, 113, 100, 0, 5, 'l', 'i', 's', 't', 's', 100, 0, 3,
                       'm', 'a', 'p', 97, 2));

    roundtrip_bytes(fun_bytes, sizeof(fun_bytes));
    s = to_text(dec(fun_bytes, sizeof(fun_bytes)), ETF_JSON_TYPED);
    const char *want =
        "{\"fun\":{\"module\":\"erl_eval\",\"arity\":1,\"uniq\":"
        "\"065361aa461590d1bdf1eb62d1a6eb08\",\"index\":42,"
        "\"old_index\":42,\"old_uniq\":3316493,\"pid\":{\"node\":"
        "\"gen@vm\",\"id\":9,\"serial\":0,\"creation\":1795441265},"
        "\"free\":[{\"tuple\":[1,[{\"tuple\":[{\"atom\":\"Y\"},7]}],";
    assert_int_equal(strncmp(s, want, strlen(want)), 0);
    free(s);

    /* A fun built here: no free variables, a bignum old_uniq. */
    t = new_term();
    f = etf_set_fun(arena, t, 0);
    assert_non_null(f);
    set_atom(&f->module, "m");
    f->arity = 255;
    memset(f->uniq, 0xab, 16);
    f->index = UINT32_MAX;
    etf_set_int(&f->old_index, -5);
    etf_set_int(&f->old_uniq, INT64_MAX);
    etf_pid *pid = etf_set_pid(arena, &f->pid);
    set_atom(&pid->node, "a@b");
    expect_json(t, ETF_JSON_TYPED,
                "{\"fun\":{\"module\":\"m\",\"arity\":255,\"uniq\":"
                "\"abababababababababababababababab\",\"index\":4294967295,"
                "\"old_index\":-5,\"old_uniq\":{\"int\":"
                "\"9223372036854775807\"},\"pid\":{\"node\":\"a@b\",\"id\":0,"
                "\"serial\":0,\"creation\":0},\"free\":[]}}");
    roundtrip_typed(t);

    const char *good =
        "{\"fun\":{\"module\":\"m\",\"arity\":1,\"uniq\":"
        "\"ABABABABABABABABABABABABABABABAB\",\"index\":0,\"old_index\":0,"
        "\"old_uniq\":0,\"pid\":{\"node\":\"a@b\",\"id\":0,\"serial\":0,"
        "\"creation\":0},\"free\":[1,\"x\"]}}";
    t = from_text(good, ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_FUN);
    assert_int_equal(t->v.fun->numfree, 2);
    assert_int_equal(t->v.fun->uniq[15], 0xab);
    roundtrip_typed(t);

    /* arity 256 does not fit NEW_FUN_EXT's byte */
    expect_from_err("{\"fun\":{\"module\":\"m\",\"arity\":256,\"uniq\":"
                    "\"abababababababababababababababab\",\"index\":0,"
                    "\"old_index\":0,\"old_uniq\":0,\"pid\":{\"node\":\"a@b\","
                    "\"id\":0,\"serial\":0,\"creation\":0},\"free\":[]}}",
                    ETF_JSON_TYPED, ETF_E_RANGE, "at $.fun.arity");
    expect_from_err("{\"fun\":{\"module\":\"m\",\"arity\":1,\"uniq\":"
                    "\"abab\",\"index\":0,"
                    "\"old_index\":0,\"old_uniq\":0,\"pid\":{\"node\":\"a@b\","
                    "\"id\":0,\"serial\":0,\"creation\":0},\"free\":[]}}",
                    ETF_JSON_TYPED, ETF_E_JSON, "32 hex digits, found 4");
    expect_from_err("{\"fun\":{\"module\":\"m\",\"arity\":1,\"uniq\":"
                    "\"abababababababababababababababaX\",\"index\":0,"
                    "\"old_index\":0,\"old_uniq\":0,\"pid\":{\"node\":\"a@b\","
                    "\"id\":0,\"serial\":0,\"creation\":0},\"free\":[]}}",
                    ETF_JSON_TYPED, ETF_E_JSON, "offset 31 at $.fun.uniq");
    expect_from_err(
        "{\"fun\":{\"module\":\"m\",\"arity\":1,\"uniq\":"
        "\"abababababababababababababababab\",\"index\":0,"
        "\"old_index\":1.5,\"old_uniq\":0,\"pid\":{\"node\":\"a@b\","
        "\"id\":0,\"serial\":0,\"creation\":0},\"free\":[]}}",
        ETF_JSON_TYPED, ETF_E_JSON, "at $.fun.old_index");
    expect_from_err("{\"fun\":{\"module\":\"m\",\"arity\":1,\"uniq\":"
                    "\"abababababababababababababababab\",\"index\":0,"
                    "\"old_index\":0,\"old_uniq\":0,\"pid\":{\"node\":\"a@b\","
                    "\"id\":0,\"serial\":0,\"creation\":0},\"free\":[{}]}}",
                    ETF_JSON_TYPED, ETF_E_JSON, "at $.fun.free[0]");
    expect_from_err("{\"export\":{\"module\":\"m\",\"function\":\"f\"}}",
                    ETF_JSON_TYPED, ETF_E_JSON, "\"arity\" missing");
}

static void
typed_local(void **state)
{
    etf_term *t;

    (void)state;
    t = from_text("{\"local\":\"AQID\"}", ETF_JSON_TYPED);
    assert_int_equal(t->kind, ETF_LOCAL);
    assert_int_equal(t->len, 3);
    expect_json(t, ETF_JSON_TYPED, "{\"local\":\"AQID\"}");
    roundtrip_typed(t);
    /* Only as the whole term: its encoding runs to the end. */
    expect_from_err("[{\"local\":\"AQID\"},1]", ETF_JSON_TYPED, ETF_E_JSON,
                    "only be the whole term");
    expect_from_err("{\"tuple\":[{\"local\":\"AQ==\"}]}", ETF_JSON_TYPED,
                    ETF_E_JSON, "only be the whole term");
}

static void
typed_object_errors(void **state)
{
    etf_error e;

    (void)state;
    expect_from_err("{}", ETF_JSON_TYPED, ETF_E_JSON, "0 members");
    expect_from_err("{\"atom\":\"a\",\"tuple\":[]}", ETF_JSON_TYPED, ETF_E_JSON,
                    "2 members");
    expect_from_err("{\"list\":[1],\"tail\":2,\"x\":3}", ETF_JSON_TYPED,
                    ETF_E_JSON, "3 members");
    expect_from_err("{\"Atom\":\"a\"}", ETF_JSON_TYPED, ETF_E_JSON,
                    "unknown type \"Atom\"");
    expect_from_err("{\"tail\":1}", ETF_JSON_TYPED, ETF_E_JSON,
                    "unknown type \"tail\"");
    expect_from_err("{\"list\":[],\"tail\":1}", ETF_JSON_TYPED, ETF_E_JSON,
                    "tail but no elements at $.list");
    expect_from_err("{\"list\":{}}", ETF_JSON_TYPED, ETF_E_JSON,
                    "expected an array");
    expect_from_err("{\"tuple\":{}}", ETF_JSON_TYPED, ETF_E_JSON,
                    "expected an array, found an object at $.tuple");
    expect_from_err("[1,[2,{\"x\":1}]]", ETF_JSON_TYPED, ETF_E_JSON,
                    "at $[1][1]");
    /* Text errors carry jansson's byte position. */
    e = expect_from_err("[1,2", ETF_JSON_TYPED, ETF_E_JSON, "line 1");
    assert_int_equal(e.pos, 4);
    e = expect_from_err("[1,2] x", ETF_JSON_TYPED, ETF_E_JSON, NULL);
    assert_int_equal(e.pos, 7);
    e = expect_from_err("{\"a\":1,\n\"a\":2}", ETF_JSON_PLAIN, ETF_E_JSON,
                        "duplicate");
    assert_int_equal(e.pos, 11);
    expect_from_err("", ETF_JSON_TYPED, ETF_E_JSON, NULL);
    expect_from_err("[\"\xff\"]", ETF_JSON_TYPED, ETF_E_UTF8, NULL);
    expect_from_err("\"\\udc00\"", ETF_JSON_TYPED, ETF_E_JSON, NULL);
    expect_from_err("123456789012345678901234567890", ETF_JSON_TYPED,
                    ETF_E_JSON, "too big integer");
}

/* ------------------------------------------------------------------ */
/* Depth                                                               */
/* ------------------------------------------------------------------ */

/* [[[...[x]...]]] with depth lists around x. */
static etf_term *
nested_lists(size_t depth, const etf_term *inner)
{
    etf_term *cur = new_term();

    *cur = *inner;
    for (size_t i = 0; i < depth; i++) {
        etf_term *outer = new_term();
        etf_term *el = etf_set_list(arena, outer, 1);
        assert_non_null(el);
        el[0] = *cur;
        cur = outer;
    }
    return cur;
}

static void
depth_limits(void **state)
{
    etf_term *t;
    char *s;
    size_t n = 2048;

    (void)state;
    /* jansson reads values down to depth 2048, so 2047 arrays around a
     * scalar: we write and read them, and no more. */
    n = 2047;
    t = nested_lists(n - 1, integer(1000));
    s = to_text(t, ETF_JSON_TYPED);
    assert_same_term(t, from_text(s, ETF_JSON_TYPED));
    free(s);
    t = nested_lists(n, integer(1000));
    s = to_text(t, ETF_JSON_TYPED);
    assert_same_term(t, from_text(s, ETF_JSON_TYPED));
    free(s);
    s = to_text(t, ETF_JSON_PLAIN);
    assert_same_term(t, from_text(s, ETF_JSON_PLAIN));
    free(s);
    t = nested_lists(n + 1, integer(1000));
    expect_to_err(t, ETF_JSON_TYPED, ETF_E_DEPTH, "2047 JSON levels");
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_DEPTH, NULL);
    /* The typed wrapper of the innermost atom is a level too. */
    t = nested_lists(n, atom("y"));
    expect_to_err(t, ETF_JSON_TYPED, ETF_E_DEPTH, NULL);
    s = to_text(t, ETF_JSON_PLAIN);
    assert_same_term(from_text(s, ETF_JSON_PLAIN),
                     nested_lists(n, binary("y", 1)));
    free(s);
    /* 2048 nested empty arrays parse in jansson; we refuse them. */
    s = malloc(2 * 2048 + 1);
    memset(s, '[', 2048);
    memset(s + 2048, ']', 2048);
    s[4096] = '\0';
    expect_from_err(s, ETF_JSON_TYPED, ETF_E_DEPTH, "at $...[0][0]");
    s[2047] = ' ';
    s[2048] = ' ';
    assert_int_equal(from_text(s, ETF_JSON_PLAIN)->kind, ETF_LIST);
    free(s);

    /* A million-deep list or tuple is an error, not a crash. */
    t = nested_lists(1000000, integer(1));
    expect_to_err(t, ETF_JSON_TYPED, ETF_E_DEPTH, NULL);
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_DEPTH, NULL);
    etf_term *cur = integer(1);
    for (int i = 0; i < 1000000; i++) {
        etf_term *outer = new_term();
        etf_term *el = etf_set_tuple(arena, outer, 1);
        el[0] = *cur;
        cur = outer;
    }
    expect_to_err(cur, ETF_JSON_TYPED, ETF_E_DEPTH, NULL);
    expect_to_err(cur, ETF_JSON_PLAIN, ETF_E_JSON, "a tuple at $");

    /* A million-long list is no problem. */
    size_t len = 1000000;
    t = new_term();
    etf_term *el = etf_set_list(arena, t, (uint32_t)len);
    for (size_t i = 0; i < len; i++)
        etf_set_int(&el[i], (int64_t)i);
    s = to_text(t, ETF_JSON_TYPED);
    assert_same_term(t, from_text(s, ETF_JSON_TYPED));
    free(s);

    /* Text deeper than jansson's limit. */
    s = malloc(2 * 3000 + 1);
    memset(s, '[', 3000);
    memset(s + 3000, ']', 3000);
    s[6000] = '\0';
    expect_from_err(s, ETF_JSON_TYPED, ETF_E_DEPTH, "depth");
    free(s);

    /* A json_t built in code deeper than the limit, and a cyclic one. */
    json_t *root = json_array(), *cj = root;
    for (int i = 0; i < 3000; i++) {
        json_t *inner = json_array();
        json_array_append_new(cj, inner);
        cj = inner;
    }
    etf_error e = {0};
    assert_null(etf_from_json(arena, root, ETF_JSON_TYPED, &e));
    assert_int_equal(e.code, ETF_E_DEPTH);
    assert_non_null(strstr(e.msg, "at $...[0][0]"));
    assert_null(etf_from_json(arena, root, ETF_JSON_PLAIN, &e));
    assert_int_equal(e.code, ETF_E_DEPTH);
    json_decref(root);
    json_t *cyc = json_array(), *obj = json_object();
    json_array_append(cyc, obj);
    json_object_set(obj, "tuple", cyc);
    assert_null(etf_from_json(arena, cyc, ETF_JSON_TYPED, &e));
    assert_int_equal(e.code, ETF_E_DEPTH);
    json_object_clear(obj);
    json_decref(obj);
    json_decref(cyc);
}

/* ------------------------------------------------------------------ */
/* Plain form                                                          */
/* ------------------------------------------------------------------ */

static void
plain_to_json(void **state)
{
    etf_term *el[4];
    etf_term *t, *kv;

    (void)state;
    expect_json(integer(INT64_MAX), ETF_JSON_PLAIN, "9223372036854775807");
    expect_json(integer(-3), ETF_JSON_PLAIN, "-3");
    t = new_term();
    etf_set_float(t, 1.0);
    expect_json(t, ETF_JSON_PLAIN, "1.0");
    etf_set_float(t, -0.0);
    expect_json(t, ETF_JSON_PLAIN, "-0.0");
    expect_json(atom("ok"), ETF_JSON_PLAIN, "\"ok\"");
    expect_json(atom("true"), ETF_JSON_PLAIN, "true");
    expect_json(atom("false"), ETF_JSON_PLAIN, "false");
    expect_json(atom("null"), ETF_JSON_PLAIN, "null");
    expect_json(binary("h\xc3\xa9", 3), ETF_JSON_PLAIN, "\"h\xc3\xa9\"");
    expect_json(binary("a\0b", 3), ETF_JSON_PLAIN, "\"a\\u0000b\"");
    t = new_term();
    etf_set_nil(t);
    expect_json(t, ETF_JSON_PLAIN, "[]");
    /* Strings and byte lists are arrays of numbers, as json:encode. */
    expect_json(dec(BL(131, 107, 0, 2, 'h', 'i')), ETF_JSON_PLAIN, "[104,105]");
    expect_json(dec(BL(131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106)),
                ETF_JSON_PLAIN, "[1,2]");
    /* Nested list cells are one list. */
    expect_json(dec(BL(131, 108, 0, 0, 0, 1, 100, 0, 1, 'x', 107, 0, 2, 1, 2)),
                ETF_JSON_PLAIN, "[\"x\",1,2]");
    el[0] = atom("a");
    el[1] = binary("b", 1);
    el[2] = integer(1);
    t = list_of(3, el, NULL);
    expect_json(t, ETF_JSON_PLAIN, "[\"a\",\"b\",1]");

    /* Maps with binary, atom and integer keys, in the map's order. */
    t = new_term();
    kv = etf_set_map(arena, t, 4);
    set_atom(&kv[0], "a");
    etf_set_int(&kv[1], 1);
    assert_int_equal(etf_set_binary(arena, &kv[2], "b", 1), 0);
    set_atom(&kv[3], "null");
    etf_set_int(&kv[4], -7);
    etf_set_nil(&kv[5]);
    set_atom(&kv[6], "true");
    set_atom(&kv[7], "x");
    expect_json(t, ETF_JSON_PLAIN,
                "{\"a\":1,\"b\":null,\"-7\":[],\"true\":\"x\"}");
    kv = etf_set_map(arena, t, 1);
    etf_set_int(&kv[1], 0);
    assert_int_equal(
        etf_set_big(arena, &kv[0], true, B(0, 0, 0, 0, 0, 0, 0, 0, 1), 9), 0);
    expect_json(t, ETF_JSON_PLAIN, "{\"-18446744073709551616\":0}");
    etf_set_map(arena, t, 0);
    expect_json(t, ETF_JSON_PLAIN, "{}");
}

static void
plain_to_json_errors(void **state)
{
    etf_term *el[2];
    etf_term *t, *kv;

    (void)state;
    expect_to_err(tuple_of(0, NULL), ETF_JSON_PLAIN, ETF_E_JSON,
                  "a tuple at $");
    expect_to_err(dec(BL(131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)),
                  ETF_JSON_PLAIN, ETF_E_JSON, "beyond 64 bits");
    t = new_term();
    assert_int_equal(etf_set_bitstring(arena, t, "\xe0", 1, 3), 0);
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_JSON, "a bitstring");
    expect_to_err(binary("a\xff", 2), ETF_JSON_PLAIN, ETF_E_JSON,
                  "not valid UTF-8 (byte 1 is bad)");
    el[0] = integer(1);
    el[1] = binary("\xc0\x80", 2); /* overlong NUL */
    expect_to_err(list_of(2, el, NULL), ETF_JSON_PLAIN, ETF_E_JSON,
                  "not valid UTF-8 (byte 0 is bad) at $[1]");
    expect_to_err(list_of(1, el, atom("t")), ETF_JSON_PLAIN, ETF_E_JSON,
                  "an improper list at $");
    expect_to_err(dec(BL(131, 88, 100, 0, 3, 'n', '@', 'h', 0, 0, 0, 1, 0, 0, 0,
                         0, 0, 0, 0, 0)),
                  ETF_JSON_PLAIN, ETF_E_JSON, "a pid at $");
    expect_to_err(dec(fun_bytes, sizeof(fun_bytes)), ETF_JSON_PLAIN, ETF_E_JSON,
                  "a local fun");
    expect_to_err(dec(BL(131, 113, 100, 0, 1, 'l', 100, 0, 1, 'm', 97, 2)),
                  ETF_JSON_PLAIN, ETF_E_JSON, "an external fun");

    /* Where: $.key for map values. */
    t = new_term();
    kv = etf_set_map(arena, t, 1);
    assert_int_equal(etf_set_binary(arena, &kv[0], "k", 1), 0);
    el[0] = integer(1);
    el[1] = tuple_of(0, NULL);
    kv[1] = *list_of(2, el, NULL);
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_JSON, "a tuple at $.k[1]");
    /* Keys that cannot be member names, or that print the same. */
    kv[0] = *tuple_of(0, NULL);
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_JSON,
                  "not a binary, atom or integer");
    etf_set_float(&kv[0], 1.0);
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_JSON,
                  "not a binary, atom or integer");
    kv[0] = *binary("\xff", 1);
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_JSON, "map key not valid UTF-8");
    kv = etf_set_map(arena, t, 2);
    set_atom(&kv[0], "a");
    etf_set_int(&kv[1], 1);
    kv[2] = *binary("a", 1);
    etf_set_int(&kv[3], 2);
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_JSON,
                  "two map keys print the same at $.a");
    kv = etf_set_map(arena, t, 2);
    etf_set_int(&kv[0], 1);
    etf_set_int(&kv[1], 1);
    kv[2] = *binary("1", 1);
    etf_set_int(&kv[3], 2);
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_JSON, "print the same");
}

static void
plain_from_json(void **state)
{
    etf_term *t;

    (void)state;
    assert_same_term(from_text("null", ETF_JSON_PLAIN), atom("null"));
    assert_same_term(from_text("true", ETF_JSON_PLAIN), atom("true"));
    assert_same_term(from_text("false", ETF_JSON_PLAIN), atom("false"));
    assert_same_term(from_text("\"ok\"", ETF_JSON_PLAIN), binary("ok", 2));
    assert_same_term(from_text("-0", ETF_JSON_PLAIN), integer(0));
    t = from_text("1.5e3", ETF_JSON_PLAIN);
    assert_int_equal(t->kind, ETF_FLOAT);
    assert_true(t->v.f == 1500.0);
    t = from_text("1E2", ETF_JSON_PLAIN);
    assert_int_equal(t->kind, ETF_FLOAT);
    t = from_text("[]", ETF_JSON_PLAIN);
    assert_int_equal(t->kind, ETF_NIL);
    t = from_text("[104,105]", ETF_JSON_PLAIN);
    assert_same_term(t, dec(BL(131, 107, 0, 2, 'h', 'i')));
    t = from_text("[1,\"a\",[]]", ETF_JSON_PLAIN);
    assert_int_equal(t->kind, ETF_LIST);
    assert_int_equal(t->len, 3);

    /* Objects are maps with binary keys, sorted as OTP orders them. */
    t = from_text("{\"b\":1,\"a\":{\"atom\":\"x\"},\"\":[]}", ETF_JSON_PLAIN);
    assert_int_equal(t->kind, ETF_MAP);
    assert_int_equal(t->len, 3);
    assert_same_term(&t->v.elems[0], binary("", 0));
    assert_same_term(&t->v.elems[2], binary("a", 1));
    assert_same_term(&t->v.elems[4], binary("b", 1));
    /* {"atom":"x"} means nothing special in the plain form. */
    assert_int_equal(t->v.elems[3].kind, ETF_MAP);
    assert_same_term(&t->v.elems[3].v.elems[0], binary("atom", 4));
    /* The same bytes as term_to_binary(#{<<"a">> => 1, <<"b">> => 2}). */
    size_t n;
    uint8_t *b = enc(from_text("{\"b\":2,\"a\":1}", ETF_JSON_PLAIN), &n);
    const uint8_t want[] = {131, 116, 0, 0,   0, 2, 109, 0, 0,   0,  1,
                            'a', 97,  1, 109, 0, 0, 0,   1, 'b', 97, 2};
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(b, want, n);
    free(b);

    /* Plain round trip of what the plain form can carry. */
    const char *texts[] = {
        "{\"a\":[1,2.5,\"x\",null,true,{\"b\":{}}],\"c\":-9223372036854775808}",
        "[[],[[]],\"\\u0000\",0.0,-0.0,1e-300]",
        "\"\\ud83d\\ude00\"",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        etf_term *x = from_text(texts[i], ETF_JSON_PLAIN);
        char *s = to_text(x, ETF_JSON_PLAIN);
        assert_same_term(x, from_text(s, ETF_JSON_PLAIN));
        free(s);
    }

    expect_from_err("123456789012345678901234567890", ETF_JSON_PLAIN,
                    ETF_E_JSON, "too big integer");
    expect_from_err("[1,{\"a\":[nul]}]", ETF_JSON_PLAIN, ETF_E_JSON,
                    "invalid token");
    /* Invalid UTF-8 that did not come through jansson's parser. */
    json_t *j = json_stringn_nocheck("\xff", 1);
    etf_error e = {0};
    assert_null(etf_from_json(arena, j, ETF_JSON_PLAIN, &e));
    assert_int_equal(e.code, ETF_E_UTF8);
    json_decref(j);
}

static void
api_args(void **state)
{
    etf_error e = {0};
    json_t *j = json_integer(1);

    (void)state;
    assert_null(etf_to_json(NULL, ETF_JSON_TYPED, &e));
    assert_int_equal(e.code, ETF_E_ARG);
    assert_null(etf_to_json(integer(1), (etf_json_form)7, &e));
    assert_int_equal(e.code, ETF_E_ARG);
    assert_null(etf_from_json(NULL, j, ETF_JSON_TYPED, &e));
    assert_int_equal(e.code, ETF_E_ARG);
    assert_null(etf_from_json(arena, NULL, ETF_JSON_TYPED, &e));
    assert_int_equal(e.code, ETF_E_ARG);
    /* A NULL error is allowed. */
    assert_null(etf_to_json(tuple_of(0, NULL), ETF_JSON_PLAIN, NULL));
    assert_non_null(etf_from_json(arena, j, ETF_JSON_TYPED, NULL));
    json_decref(j);
    /* Text with a length: bytes after it are not read. */
    etf_term *t =
        etf_from_json_text(arena, "[1]garbage", 3, ETF_JSON_TYPED, &e);
    assert_non_null(t);
    assert_int_equal(t->kind, ETF_STRING);
    /* Pretty output is indented. */
    char *s = etf_to_json_text(atom("ok"), ETF_JSON_TYPED, true, &e);
    assert_string_equal(s, "{\n  \"atom\": \"ok\"\n}");
    free(s);
}

/* Every kind at once, from bytes OTP 25 wrote, back to the same bytes. */
static void
typed_mixed_bytes(void **state)
{
    (void)state;
    /* {ok, [a|b], #{1 => 1.0, <<"k">> => [-0.0]}, <<>>, 'é'} */
    roundtrip_bytes(BL(131, 104, 5, 100, 0, 2, 'o', 'k', 108, 0, 0, 0, 1, 100,
                       0, 1, 'a', 100, 0, 1, 'b', 116, 0, 0, 0, 2, 97, 1, 70,
                       63, 240, 0, 0, 0, 0, 0, 0, 109, 0, 0, 0, 1, 'k', 108, 0,
                       0, 0, 1, 70, 128, 0, 0, 0, 0, 0, 0, 0, 106, 109, 0, 0, 0,
                       0, 100, 0, 1, 0xe9));
    /* SMALL_ATOM_UTF8_EXT for a non-Latin-1 atom. */
    roundtrip_bytes(BL(131, 119, 3, 0xe2, 0x82, 0xac));
    /* LARGE_TUPLE_EXT of 256 nils. */
    uint8_t big[6 + 256];
    big[0] = 131;
    big[1] = 105;
    big[2] = 0;
    big[3] = 0;
    big[4] = 1;
    big[5] = 0;
    memset(big + 6, 106, 256);
    roundtrip_bytes(big, sizeof(big));
}

/* Trees no decoder makes but code can build, and the last limits. */
static void
odd_terms(void **state)
{
    etf_term *t = new_term(), *kv;
    etf_error e = {0};
    json_t *j;

    (void)state;
    etf_set_float(t, NAN);
    expect_to_err(t, ETF_JSON_TYPED, ETF_E_FLOAT, "not finite");
    etf_set_float(t, -INFINITY);
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_FLOAT, "not finite");
    t->kind = 99;
    expect_to_err(t, ETF_JSON_TYPED, ETF_E_TYPE, "unknown kind 99");

    etf_ref *ref = etf_set_ref(arena, t);
    set_atom(&ref->node, "n@h");
    ref->len = 6;
    expect_to_err(t, ETF_JSON_TYPED, ETF_E_REF, "6 words");
    etf_pid *pid = etf_set_pid(arena, t);
    etf_set_int(&pid->node, 1);
    expect_to_err(t, ETF_JSON_TYPED, ETF_E_NODE, "not an atom at $");
    etf_fun *f = etf_set_fun(arena, t, 0);
    set_atom(&f->module, "m");
    etf_set_int(&f->old_index, 0);
    etf_set_int(&f->old_uniq, 0);
    etf_set_int(&f->pid, 0);
    /* The BEAM takes any term as a fun's creator: it maps, and back. */
    {
        etf_error e2 = {0};
        char *s = etf_to_json_text(t, ETF_JSON_TYPED, false, &e2);
        etf_term *back;

        assert_non_null(s);
        assert_non_null(strstr(s, "\"pid\":0"));
        back = etf_from_json_text(arena, s, strlen(s), ETF_JSON_TYPED, &e2);
        assert_non_null(back);
        assert_true(etf_equal(back, t));
        free(s);
    }
    t->v.fun->old_uniq = *atom("x");
    expect_to_err(t, ETF_JSON_TYPED, ETF_E_TYPE,
                  "not an integer at $.fun.old_uniq");

    /* Atom text that did not come through jansson's parser. */
    j = json_pack("{s:o}", "atom", json_stringn_nocheck("\xc3", 1));
    assert_null(etf_from_json(arena, j, ETF_JSON_TYPED, &e));
    assert_int_equal(e.code, ETF_E_UTF8);
    assert_non_null(strstr(e.msg, "byte 0 at $.atom"));
    json_decref(j);

    /* A plain map key too large to print in decimal. */
    uint8_t *d = calloc(8193, 1);
    d[8192] = 1;
    kv = etf_set_map(arena, t, 1);
    assert_int_equal(etf_set_big(arena, &kv[0], false, d, 8193), 0);
    etf_set_int(&kv[1], 0);
    expect_to_err(t, ETF_JSON_PLAIN, ETF_E_LIMIT, "over 8192 bytes");
    free(d);

    /* Hex digits past the BEAM's bignum limit. */
    size_t n = 2 * (size_t)ETF_MAX_BIG_BYTES + 1;
    char *text = malloc(n + 16);
    strcpy(text, "{\"int\":\"0x");
    memset(text + 10, 'f', n);
    strcpy(text + 10 + n, "\"}");
    expect_from_err(text, ETF_JSON_TYPED, ETF_E_BIG, "hex digits");
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(typed_integers, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_bignums, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_bignum_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_bignum_hex, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_int_text_input, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_floats, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_atoms, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_atom_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_tuples_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_long_string, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_binaries, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_base64_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_maps, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_pids_ports_refs, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_funs, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_local, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_object_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_mixed_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(depth_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_to_json, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_to_json_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_from_json, setup, teardown),
        cmocka_unit_test_setup_teardown(api_args, setup, teardown),
        cmocka_unit_test_setup_teardown(odd_terms, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
