/*
 * json: the two JSON forms of a term, through jansson.
 *
 * The typed form is lossless: every term maps to JSON and back to a term
 * that is =:= the original and encodes to the same bytes. What JSON cannot
 * carry exactly is an object with one reserved key ({"atom":"ok"},
 * {"tuple":[...]}, {"binary":"<base64>"}, ...). The plain form follows
 * OTP 27's json module and refuses what that module cannot express.
 * docs/json.md is the contract of both.
 *
 * Both directions recurse, a few small frames per JSON nesting level, and
 * stop at JSON_MAX_DEPTH levels, within jansson's own parsing limit:
 * whatever we print can be read back, and a json_t built in code (even a
 * cyclic one) cannot run us off the stack. At the limit this takes about
 * as much stack as jansson's parser and printer do for the same text
 * (docs/json.md has the figures). Long lists are loops, not recursion.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "etf_int.h"

/* Nested arrays and objects produced or accepted. jansson's parser reads
 * values down to depth JSON_PARSER_MAX_DEPTH (2048 in jansson 2.14),
 * counting scalars too, so 2047 containers around a scalar is the most
 * that can be read back. */
#define JSON_MAX_DEPTH (JSON_PARSER_MAX_DEPTH - 1)
/* Integers of magnitude up to 2^53 are exact in every JSON reader (IEEE
 * doubles); the typed form writes the others as {"int":"..."}. */
#define JSON_EXACT_INT (INT64_C(1) << 53)
/* Bignums of up to this many magnitude bytes are written in decimal, a
 * quadratic conversion; larger ones in hexadecimal, which is linear. */
#define JSON_DEC_MAX_BYTES 8192
/* Decimal digits accepted in {"int":...}: 8192 bytes need 19,729. */
#define JSON_DEC_MAX_DIGITS 20000
/* Hexadecimal digits accepted: the BEAM's own bignum limit. */
#define JSON_HEX_MAX_DIGITS (2 * (size_t)ETF_MAX_BIG_BYTES)
/* Room for the path in an error message ("... at $.tuple[3]"). */
#define JSON_PATH_MAX 72
/* Bytes of a member name shown in a path. */
#define JSON_PATH_KEY_MAX 24

/* Functions on the recursion path, and the ones they call, are kept out of
 * line so that each level costs small frames (see JSON_MAX_DEPTH). */
#if defined(__GNUC__)
#define JSON_NOINLINE __attribute__((noinline))
#else
#define JSON_NOINLINE
#endif

/* One step of the path from the root to the value at hand, kept on the C
 * stack and rendered only when something goes wrong. NULL is the root. */
struct jpath {
    const struct jpath *up;
    const char *key; /* member name, or NULL for an array index */
    size_t keylen;
    size_t index;
};

struct jctx {
    etf_json_form form;
    etf_arena *a; /* from JSON only */
    etf_error *err;
    unsigned locals; /* LOCAL_EXT terms read (from JSON) */
};

static struct jpath
jp_key(const struct jpath *up, const char *key, size_t keylen)
{
    struct jpath p = {up, key, keylen, 0};
    return p;
}

static struct jpath
jp_index(const struct jpath *up, size_t index)
{
    struct jpath p = {up, NULL, 0, index};
    return p;
}

/* Render p as "$.a[3].b" into out (size cap), keeping the end of the path
 * (where it went wrong) when it does not fit. */
static void
jp_render(const struct jpath *p, char *out, size_t cap)
{
    char buf[JSON_PATH_MAX + 1];
    size_t pos = cap > 5 ? cap - 5 : 0; /* room for "$...", NUL */
    bool cut = false;

    if (pos > JSON_PATH_MAX)
        pos = JSON_PATH_MAX;
    buf[pos] = '\0';
    for (; p != NULL; p = p->up) {
        char seg[JSON_PATH_KEY_MAX + 8];
        size_t n = 0;

        if (p->key != NULL) {
            size_t k =
                p->keylen < JSON_PATH_KEY_MAX ? p->keylen : JSON_PATH_KEY_MAX;
            seg[n++] = '.';
            for (size_t i = 0; i < k; i++) {
                unsigned char ch = (unsigned char)p->key[i];
                seg[n++] = ch >= 0x20 && ch != 0x7f ? (char)ch : '?';
            }
            if (k < p->keylen) {
                memcpy(seg + n, "...", 3);
                n += 3;
            }
        } else {
            n = (size_t)snprintf(seg, sizeof(seg), "[%zu]", p->index);
        }
        if (n > pos) {
            cut = true;
            break;
        }
        pos -= n;
        memcpy(buf + pos, seg, n);
    }
    snprintf(out, cap, "$%s%s", cut ? "..." : "", buf + pos);
}

/* Fill the error with code and a message ending in " at <path>". */
static int jerr(struct jctx *c, const struct jpath *p, etf_code code,
                const char *fmt, ...) ETF_PRINTF(4, 5);

static int
jerr(struct jctx *c, const struct jpath *p, etf_code code, const char *fmt, ...)
{
    char path[JSON_PATH_MAX + 8];
    va_list ap;
    size_t n;

    c->err->code = code;
    c->err->pos = 0;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
    va_end(ap);
    n = strlen(c->err->msg);
    if (n + 5 < sizeof(c->err->msg)) {
        jp_render(p, path, sizeof(c->err->msg) - n - 4);
        snprintf(c->err->msg + n, sizeof(c->err->msg) - n, " at %s", path);
    }
    return -1;
}

static int
jnomem(struct jctx *c, const struct jpath *p)
{
    return jerr(c, p, ETF_E_NOMEM, "out of memory");
}

/* Check that a container at nesting level lvl is allowed. */
static int
jdepth(struct jctx *c, unsigned lvl, const struct jpath *p)
{
    if (lvl > JSON_MAX_DEPTH)
        return jerr(c, p, ETF_E_DEPTH, "nested deeper than %d JSON levels",
                    JSON_MAX_DEPTH);
    return 0;
}

/* ------------------------------------------------------------------ */
/* UTF-8, base64, hex                                                  */
/* ------------------------------------------------------------------ */

/* Count the characters of UTF-8 text with the core's strict decoder;
 * -1 and the offset of the first bad byte in *bad if it is not valid. */
static long long
utf8_count(const uint8_t *s, size_t len, size_t *bad)
{
    long long chars = 0;
    size_t i = 0, k;
    uint32_t cp;

    while (i < len) {
        k = utf8_decode(s + i, len - i, &cp);
        if (k == 0) {
            *bad = i;
            return -1;
        }
        i += k;
        chars++;
    }
    return chars;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode n bytes as padded standard base64 into a new string. */
JSON_NOINLINE static json_t *
b64_json(const uint8_t *p, size_t n)
{
    size_t outlen = (n + 2) / 3 * 4;
    char *out = malloc(outlen + 1);
    size_t i = 0, o = 0;
    json_t *j;

    if (out == NULL)
        return NULL;
    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    j = json_stringn_nocheck(out, o);
    free(out);
    return j;
}

static int
b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Decode strict base64 (standard alphabet, padding, no whitespace, zero
 * unused bits) into the arena. Returns -1 and the offending offset in
 * *bad. */
static int
b64_decode(etf_arena *a, const char *s, size_t len, uint8_t **out,
           size_t *outlen, size_t *bad, bool *nomem)
{
    size_t pad = 0, n, o = 0;
    uint8_t *buf;

    *nomem = false;
    if (len % 4 != 0) {
        *bad = len;
        return -1;
    }
    if (len > 0 && s[len - 1] == '=')
        pad = s[len - 2] == '=' ? 2 : 1;
    n = len / 4 * 3 - pad;
    buf = etf_arena_alloc(a, n > 0 ? n : 1);
    if (buf == NULL) {
        *nomem = true;
        return -1;
    }
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        size_t real = i + 4 == len ? 4 - pad : 4;

        for (size_t k = 0; k < 4; k++) {
            if (k >= real) {
                /* '=' only as the final padding. */
                if (s[i + k] != '=') {
                    *bad = i + k;
                    return -1;
                }
                v[k] = 0;
                continue;
            }
            v[k] = b64_value((unsigned char)s[i + k]);
            if (v[k] < 0) {
                *bad = i + k;
                return -1;
            }
        }
        if (real == 2 && (v[1] & 0x0f) != 0) {
            *bad = i + 1;
            return -1;
        }
        if (real == 3 && (v[2] & 0x03) != 0) {
            *bad = i + 2;
            return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)v[2] << 6 | (uint32_t)v[3];
        buf[o++] = (uint8_t)(w >> 16);
        if (real > 2)
            buf[o++] = (uint8_t)(w >> 8);
        if (real > 3)
            buf[o++] = (uint8_t)w;
    }
    *out = buf;
    *outlen = o;
    return 0;
}

static int
hex_value(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Integers as text                                                    */
/* ------------------------------------------------------------------ */

/* Write a magnitude (little-endian bytes, no high zero bytes) as decimal
 * or, above JSON_DEC_MAX_BYTES, as 0x-prefixed hexadecimal; NULL on out of
 * memory. The caller frees the string. */
JSON_NOINLINE static char *
mag_to_text(bool negative, const uint8_t *d, size_t n)
{
    char *out, *o;

    while (n > 0 && d[n - 1] == 0)
        n--;
    if (n > JSON_DEC_MAX_BYTES) {
        static const char hexdig[] = "0123456789abcdef";

        out = malloc(2 * n + 4);
        if (out == NULL)
            return NULL;
        o = out;
        if (negative)
            *o++ = '-';
        *o++ = '0';
        *o++ = 'x';
        if (d[n - 1] >> 4)
            *o++ = hexdig[d[n - 1] >> 4];
        *o++ = hexdig[d[n - 1] & 15];
        for (size_t i = n - 1; i-- > 0;) {
            *o++ = hexdig[d[i] >> 4];
            *o++ = hexdig[d[i] & 15];
        }
        *o = '\0';
        return out;
    }

    /* Base 2^32 limbs, divided by 10^9 until nothing is left; each
     * remainder is nine decimal digits. */
    size_t nl = (n + 3) / 4, nchunks = 0;
    uint32_t *limb = calloc(nl > 0 ? nl : 1, sizeof(*limb));
    uint32_t *chunk = malloc((n / 3 + 2) * sizeof(*chunk));

    out = malloc(n / 3 * 9 + 32);
    if (limb == NULL || chunk == NULL || out == NULL) {
        free(limb);
        free(chunk);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        limb[i / 4] |= (uint32_t)d[i] << (8 * (i % 4));
    while (nl > 0) {
        uint64_t rem = 0;

        for (size_t i = nl; i-- > 0;) {
            uint64_t cur = rem << 32 | limb[i];
            limb[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        chunk[nchunks++] = (uint32_t)rem;
        while (nl > 0 && limb[nl - 1] == 0)
            nl--;
    }
    o = out;
    if (negative && nchunks > 0)
        *o++ = '-';
    if (nchunks == 0) {
        *o++ = '0';
    } else {
        o += sprintf(o, "%" PRIu32, chunk[nchunks - 1]);
        for (size_t i = nchunks - 1; i-- > 0;)
            o += sprintf(o, "%09" PRIu32, chunk[i]);
    }
    *o = '\0';
    free(limb);
    free(chunk);
    return out;
}

/* Parse the text of {"int":...} into t: -?(0|[1-9][0-9]*) in decimal, or
 * -?0x followed by hexadecimal digits without leading zeros. */
JSON_NOINLINE static int
text_to_int(struct jctx *c, const char *s, size_t len, etf_term *t,
            const struct jpath *p)
{
    bool negative = false, hex = false;
    const char *digits = s;
    size_t nd = len;
    uint8_t *mag = NULL;
    size_t nmag = 0;
    int rc;

    if (nd > 0 && *digits == '-') {
        negative = true;
        digits++;
        nd--;
    }
    if (nd > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        hex = true;
        digits += 2;
        nd -= 2;
    }
    if (nd == 0)
        return jerr(c, p, ETF_E_JSON, "integer text has no digits");
    for (size_t i = 0; i < nd; i++) {
        unsigned char ch = (unsigned char)digits[i];
        if (hex ? hex_value(ch) < 0 : (ch < '0' || ch > '9'))
            return jerr(c, p, ETF_E_JSON,
                        "bad character at offset %zu of integer text",
                        (size_t)(digits - s) + i);
    }
    if (nd > 1 && digits[0] == '0')
        return jerr(c, p, ETF_E_JSON, "integer text has a leading zero");
    if (nd > (hex ? JSON_HEX_MAX_DIGITS : JSON_DEC_MAX_DIGITS))
        return jerr(c, p, hex ? ETF_E_BIG : ETF_E_LIMIT,
                    "integer of %zu %s digits is over the limit of %zu", nd,
                    hex ? "hex" : "decimal",
                    hex ? JSON_HEX_MAX_DIGITS : (size_t)JSON_DEC_MAX_DIGITS);

    if (hex) {
        nmag = (nd + 1) / 2;
        mag = malloc(nmag);
        if (mag == NULL)
            return jnomem(c, p);
        for (size_t i = 0; i < nmag; i++) {
            /* byte i holds hex digits nd-2i-2 and nd-2i-1 */
            size_t lo = nd - 1 - 2 * i;
            int v = hex_value((unsigned char)digits[lo]);
            if (lo > 0)
                v |= hex_value((unsigned char)digits[lo - 1]) << 4;
            mag[i] = (uint8_t)v;
        }
    } else {
        /* Multiply-and-add nine digits at a time into base 2^32 limbs. */
        size_t cap = nd / 9 + 2, nl = 0;
        uint32_t *limb = calloc(cap, sizeof(*limb));
        size_t i = 0;

        if (limb == NULL)
            return jnomem(c, p);
        while (i < nd) {
            size_t k = (nd - i) % 9 != 0 && i == 0 ? (nd - i) % 9 : 9;
            uint32_t v = 0, mul = 1;
            uint64_t carry;

            for (size_t j = 0; j < k; j++) {
                v = v * 10 + (uint32_t)(digits[i + j] - '0');
                mul *= 10;
            }
            i += k;
            carry = v;
            for (size_t j = 0; j < nl; j++) {
                uint64_t x = (uint64_t)limb[j] * mul + carry;
                limb[j] = (uint32_t)x;
                carry = x >> 32;
            }
            if (carry != 0)
                limb[nl++] = (uint32_t)carry;
        }
        nmag = nl * 4;
        mag = malloc(nmag > 0 ? nmag : 1);
        if (mag == NULL) {
            free(limb);
            return jnomem(c, p);
        }
        for (size_t j = 0; j < nmag; j++)
            mag[j] = (uint8_t)(limb[j / 4] >> (8 * (j % 4)));
        free(limb);
    }
    while (nmag > 0 && mag[nmag - 1] == 0)
        nmag--;
    if (nmag > ETF_MAX_BIG_BYTES) {
        free(mag);
        return jerr(c, p, ETF_E_BIG, "integer over %u bytes",
                    ETF_MAX_BIG_BYTES);
    }
    if (nmag == 0) {
        etf_set_int(t, 0);
        rc = 0;
    } else {
        rc = etf_set_big(c->a, t, negative, mag, nmag);
        if (rc != 0)
            jnomem(c, p);
    }
    free(mag);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Term to JSON                                                        */
/* ------------------------------------------------------------------ */

static json_t *to_json(struct jctx *c, const etf_term *t, unsigned lvl,
                       const struct jpath *p);

/* Make {"key": v}, taking v (which may be NULL after an error). */
static json_t *
wrap(struct jctx *c, const char *key, json_t *v, const struct jpath *p)
{
    json_t *o;

    if (v == NULL)
        return NULL;
    o = json_object();
    if (o == NULL || json_object_set_new_nocheck(o, key, v) != 0) {
        json_decref(o);
        jnomem(c, p);
        return NULL;
    }
    return o;
}

/* Set o[key] = v, taking v; on failure o is released. */
static json_t *
put(struct jctx *c, json_t *o, const char *key, json_t *v,
    const struct jpath *p)
{
    if (o == NULL) {
        json_decref(v);
        if (c->err->code == ETF_OK)
            jnomem(c, p);
        return NULL;
    }
    if (v == NULL) {
        if (c->err->code == ETF_OK)
            jnomem(c, p);
        json_decref(o);
        return NULL;
    }
    if (json_object_set_new_nocheck(o, key, v) != 0) {
        json_decref(o);
        jnomem(c, p);
        return NULL;
    }
    return o;
}

static json_t *
str_json(struct jctx *c, const char *s, size_t len, const struct jpath *p)
{
    json_t *j = json_stringn(s, len);

    if (j == NULL)
        jnomem(c, p);
    return j;
}

/* An integer of any size as a JSON number where exact, else {"int":...}
 * (the typed form) or an error (the plain form, which jansson can only
 * carry up to 64 bits). */
JSON_NOINLINE static json_t *
int_json(struct jctx *c, bool big, int64_t v, bool negative, const uint8_t *d,
         size_t n, unsigned lvl, const struct jpath *p)
{
    char buf[24], *text;
    json_t *j;

    if (!big && (c->form == ETF_JSON_PLAIN ||
                 (v >= -JSON_EXACT_INT && v <= JSON_EXACT_INT))) {
        j = json_integer(v);
        if (j == NULL)
            jnomem(c, p);
        return j;
    }
    if (c->form == ETF_JSON_PLAIN) {
        jerr(c, p, ETF_E_JSON, "integer beyond 64 bits");
        return NULL;
    }
    if (jdepth(c, lvl + 1, p) != 0)
        return NULL;
    if (big) {
        text = mag_to_text(negative, d, n);
        if (text == NULL) {
            jnomem(c, p);
            return NULL;
        }
        j = json_string_nocheck(text);
        free(text);
    } else {
        snprintf(buf, sizeof(buf), "%" PRId64, v);
        j = json_string_nocheck(buf);
    }
    if (j == NULL) {
        jnomem(c, p);
        return NULL;
    }
    return wrap(c, "int", j, p);
}

/* An integer term (ETF_INT or ETF_BIG) as int_json writes it. */
JSON_NOINLINE static json_t *
term_int_json(struct jctx *c, const etf_term *t, unsigned lvl,
              const struct jpath *p)
{
    if (t->kind == ETF_INT)
        return int_json(c, false, t->v.i, false, NULL, 0, lvl, p);
    if (t->kind == ETF_BIG)
        return int_json(c, true, 0, t->aux != 0, t->v.bytes, t->len, lvl, p);
    jerr(c, p, ETF_E_TYPE, "not an integer");
    return NULL;
}

/* A 64-bit unsigned field (a port id) as int_json writes integers. */
JSON_NOINLINE static json_t *
u64_json(struct jctx *c, uint64_t v, unsigned lvl, const struct jpath *p)
{
    uint8_t d[8];

    if (v <= (uint64_t)JSON_EXACT_INT)
        return int_json(c, false, (int64_t)v, false, NULL, 0, lvl, p);
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)(v >> (8 * i));
    return int_json(c, true, 0, false, d, 8, lvl, p);
}

/* The text of an atom member (node, module, function) as a string. */
static json_t *
atom_text(struct jctx *c, const etf_term *t, const struct jpath *p)
{
    if (t->kind != ETF_ATOM) {
        jerr(c, p, ETF_E_NODE, "not an atom");
        return NULL;
    }
    return str_json(c, t->v.str, t->len, p);
}

/* The inner object of a pid: {"node":..,"id":..,"serial":..,"creation":..}. */
JSON_NOINLINE static json_t *
pid_fields(struct jctx *c, const etf_pid *pid, const struct jpath *p)
{
    json_t *o = json_object();

    if (o == NULL) {
        jnomem(c, p);
        return NULL;
    }
    o = put(c, o, "node", atom_text(c, &pid->node, p), p);
    o = put(c, o, "id", json_integer(pid->id), p);
    o = put(c, o, "serial", json_integer(pid->serial), p);
    o = put(c, o, "creation", json_integer(pid->creation), p);
    return o;
}

/* The 16 bytes of a fun's uniq as 32 lowercase hex digits. */
JSON_NOINLINE static json_t *
hex16_json(const uint8_t *u)
{
    static const char hexdig[] = "0123456789abcdef";
    char buf[33];

    for (int i = 0; i < 16; i++) {
        buf[2 * i] = hexdig[u[i] >> 4];
        buf[2 * i + 1] = hexdig[u[i] & 15];
    }
    buf[32] = '\0';
    return json_string_nocheck(buf);
}

/* The elements of the list t into a new array. The plain form gathers the
 * cells of a chain of list tails into one array, so [1|[2|[3]]] is [1,2,3]
 * however it was built; the typed form takes only t's own cells, since a
 * nested tail is encoded as it is. *tail is where the cells end (NULL for
 * a proper list). */
JSON_NOINLINE static json_t *
list_elems(struct jctx *c, const etf_term *t, unsigned lvl,
           const struct jpath *p, const etf_term **tail)
{
    json_t *arr = json_array();
    size_t idx = 0;
    const etf_term *cur = t;

    if (arr == NULL) {
        jnomem(c, p);
        return NULL;
    }
    for (;;) {
        if (cur->kind == ETF_LIST) {
            for (uint32_t i = 0; i < cur->len; i++, idx++) {
                struct jpath ep = jp_index(p, idx);
                json_t *e = to_json(c, &cur->v.elems[i], lvl, &ep);
                if (e == NULL || json_array_append_new(arr, e) != 0) {
                    if (e != NULL)
                        jnomem(c, &ep);
                    json_decref(arr);
                    return NULL;
                }
            }
            cur = &cur->v.elems[cur->len];
            if (c->form == ETF_JSON_TYPED) {
                *tail = cur->kind == ETF_NIL ? NULL : cur;
                return arr;
            }
        } else if (cur->kind == ETF_STRING) {
            for (uint32_t i = 0; i < cur->len; i++, idx++) {
                json_t *e = json_integer(cur->v.bytes[i]);
                if (e == NULL || json_array_append_new(arr, e) != 0) {
                    jnomem(c, p);
                    json_decref(arr);
                    return NULL;
                }
            }
            *tail = NULL;
            return arr;
        } else {
            *tail = cur->kind == ETF_NIL ? NULL : cur;
            return arr;
        }
    }
}

static bool
is_byte(const etf_term *t)
{
    return t->kind == ETF_INT && t->v.i >= 0 && t->v.i <= 255;
}

/* A list in the typed form mirrors the tree, so that it encodes to the
 * same bytes: ETF_STRING (STRING_EXT) is an array of integers 0..255; an
 * ETF_LIST (LIST_EXT) is an array too, unless every element is such an
 * integer (which as an array would read back as ETF_STRING) or its tail is
 * not [], and then it is {"list":[...]} or {"list":[...],"tail":...}. */
JSON_NOINLINE static json_t *
list_json(struct jctx *c, const etf_term *t, unsigned lvl,
          const struct jpath *p)
{
    const etf_term *cur = t, *tail;
    struct jpath lp;
    json_t *arr, *o;
    bool wrapped = true;

    if (c->form == ETF_JSON_PLAIN) {
        while (cur->kind == ETF_LIST)
            cur = &cur->v.elems[cur->len];
        if (cur->kind != ETF_NIL && cur->kind != ETF_STRING) {
            jerr(c, p, ETF_E_JSON, "an improper list");
            return NULL;
        }
        if (jdepth(c, lvl + 1, p) != 0)
            return NULL;
        return list_elems(c, t, lvl + 1, p, &tail);
    }
    if (t->kind == ETF_LIST) {
        for (uint32_t i = 0; wrapped && i < t->len; i++)
            wrapped = is_byte(&t->v.elems[i]);
        wrapped = wrapped || t->v.elems[t->len].kind != ETF_NIL;
    }
    if (t->kind == ETF_STRING || !wrapped) {
        if (jdepth(c, lvl + 1, p) != 0)
            return NULL;
        return list_elems(c, t, lvl + 1, p, &tail);
    }
    if (jdepth(c, lvl + 2, p) != 0)
        return NULL;
    lp = jp_key(p, "list", 4);
    arr = list_elems(c, t, lvl + 2, &lp, &tail);
    if (arr == NULL)
        return NULL;
    o = wrap(c, "list", arr, p);
    if (tail == NULL)
        return o;
    lp = jp_key(p, "tail", 4);
    return put(c, o, "tail", to_json(c, tail, lvl + 1, &lp), p);
}

/* A map key as the member name of a plain-form object, into a new string
 * (*len its length); NULL with the error set if it cannot be one. */
JSON_NOINLINE static char *
plain_key(struct jctx *c, const etf_term *k, size_t *len, const struct jpath *p)
{
    char *s = NULL;
    size_t bad;

    switch (k->kind) {
    case ETF_ATOM:
    case ETF_BINARY:
        if (k->kind == ETF_BINARY && k->aux != 8) {
            jerr(c, p, ETF_E_JSON, "a bitstring map key");
            return NULL;
        }
        if (k->kind == ETF_BINARY && utf8_count(k->v.bytes, k->len, &bad) < 0) {
            jerr(c, p, ETF_E_JSON,
                 "a map key not valid UTF-8 (byte %zu is bad)", bad);
            return NULL;
        }
        s = malloc(k->len + 1);
        if (s == NULL)
            break;
        memcpy(s, k->v.bytes, k->len);
        s[k->len] = '\0';
        *len = k->len;
        return s;
    case ETF_INT:
        s = malloc(24);
        if (s == NULL)
            break;
        *len = (size_t)snprintf(s, 24, "%" PRId64, k->v.i);
        return s;
    case ETF_BIG:
        if (k->len > JSON_DEC_MAX_BYTES) {
            jerr(c, p, ETF_E_LIMIT, "an integer map key over %d bytes",
                 JSON_DEC_MAX_BYTES);
            return NULL;
        }
        s = mag_to_text(k->aux != 0, k->v.bytes, k->len);
        if (s == NULL)
            break;
        *len = strlen(s);
        return s;
    default:
        jerr(c, p, ETF_E_JSON,
             "a map key that is not a binary, atom or integer");
        return NULL;
    }
    jnomem(c, p);
    return NULL;
}

/* A map: an object in the plain form, [key, value] pairs in the typed. */
JSON_NOINLINE static json_t *
map_json(struct jctx *c, const etf_term *t, unsigned lvl, const struct jpath *p)
{
    json_t *o, *arr;

    if (c->form == ETF_JSON_PLAIN) {
        if (jdepth(c, lvl + 1, p) != 0)
            return NULL;
        o = json_object();
        if (o == NULL) {
            jnomem(c, p);
            return NULL;
        }
        for (uint32_t i = 0; i < t->len; i++) {
            size_t klen = 0;
            char *key = plain_key(c, &t->v.elems[2 * i], &klen, p);
            struct jpath vp;
            json_t *v;

            if (key == NULL) {
                json_decref(o);
                return NULL;
            }
            if (json_object_getn(o, key, klen) != NULL) {
                vp = jp_key(p, key, klen);
                jerr(c, &vp, ETF_E_JSON, "two map keys print the same");
                free(key);
                json_decref(o);
                return NULL;
            }
            vp = jp_key(p, key, klen);
            v = to_json(c, &t->v.elems[2 * i + 1], lvl + 1, &vp);
            if (v == NULL || json_object_setn_new_nocheck(o, key, klen, v)) {
                if (v != NULL)
                    jnomem(c, &vp);
                free(key);
                json_decref(o);
                return NULL;
            }
            free(key);
        }
        return o;
    }

    /* {"map":[[k,v],...]}: keys may be any term, and the order is kept. */
    if (jdepth(c, lvl + 3, p) != 0)
        return NULL;
    arr = json_array();
    if (arr == NULL) {
        jnomem(c, p);
        return NULL;
    }
    for (uint32_t i = 0; i < t->len; i++) {
        struct jpath mp = jp_key(p, "map", 3);
        struct jpath ip = jp_index(&mp, i);
        struct jpath kp = jp_index(&ip, 0), vp = jp_index(&ip, 1);
        json_t *pair = json_array(), *e;

        /* arr owns pair once appended, pair each element: a failed
         * append has released what it was given. */
        if (pair == NULL || json_array_append_new(arr, pair) != 0) {
            jnomem(c, &ip);
            json_decref(arr);
            return NULL;
        }
        e = to_json(c, &t->v.elems[2 * i], lvl + 3, &kp);
        if (e != NULL && json_array_append_new(pair, e) == 0) {
            e = to_json(c, &t->v.elems[2 * i + 1], lvl + 3, &vp);
            if (e != NULL && json_array_append_new(pair, e) == 0)
                continue;
        }
        if (c->err->code == ETF_OK)
            jnomem(c, &ip);
        json_decref(arr);
        return NULL;
    }
    return wrap(c, "map", arr, p);
}

/* A local fun, every field of NEW_FUN_EXT, free variables as values. */
JSON_NOINLINE static json_t *
fun_json(struct jctx *c, const etf_term *t, unsigned lvl, const struct jpath *p)
{
    const etf_fun *f = t->v.fun;
    struct jpath fp = jp_key(p, "fun", 3), xp;
    json_t *o, *fr;

    if (jdepth(c, lvl + 3, p) != 0)
        return NULL;
    o = json_object();
    if (o == NULL) {
        jnomem(c, p);
        return NULL;
    }
    o = put(c, o, "module", atom_text(c, &f->module, &fp), &fp);
    o = put(c, o, "arity", json_integer(f->arity), &fp);
    o = put(c, o, "uniq", hex16_json(f->uniq), &fp);
    o = put(c, o, "index", json_integer(f->index), &fp);
    xp = jp_key(&fp, "old_index", 9);
    o = put(c, o, "old_index", term_int_json(c, &f->old_index, lvl + 2, &xp),
            &fp);
    xp = jp_key(&fp, "old_uniq", 8);
    o = put(c, o, "old_uniq", term_int_json(c, &f->old_uniq, lvl + 2, &xp),
            &fp);
    xp = jp_key(&fp, "pid", 3);
    /* The creator is a pid's fields; the BEAM also takes any other term
     * there, which is then written as a typed value (no "node" member). */
    o = put(c, o, "pid",
            o == NULL                ? NULL
            : f->pid.kind == ETF_PID ? pid_fields(c, f->pid.v.pid, &xp)
                                     : to_json(c, &f->pid, lvl + 3, &xp),
            &fp);
    xp = jp_key(&fp, "free", 4);
    fr = o != NULL ? json_array() : NULL;
    for (uint32_t i = 0; fr != NULL && i < f->numfree; i++) {
        struct jpath ep = jp_index(&xp, i);
        json_t *e = to_json(c, &f->free[i], lvl + 3, &ep);
        if (e == NULL || json_array_append_new(fr, e) != 0) {
            json_decref(fr);
            fr = NULL;
        }
    }
    o = put(c, o, "free", fr, &fp);
    return wrap(c, "fun", o, p);
}

/* {"tuple":[...]}. */
JSON_NOINLINE static json_t *
tuple_json(struct jctx *c, const etf_term *t, unsigned lvl,
           const struct jpath *p)
{
    struct jpath tp = jp_key(p, "tuple", 5);
    json_t *arr;

    if (c->form == ETF_JSON_PLAIN) {
        jerr(c, p, ETF_E_JSON, "a tuple");
        return NULL;
    }
    if (jdepth(c, lvl + 2, p) != 0)
        return NULL;
    arr = json_array();
    if (arr == NULL) {
        jnomem(c, p);
        return NULL;
    }
    for (uint32_t i = 0; i < t->len; i++) {
        struct jpath ep = jp_index(&tp, i);
        json_t *e = to_json(c, &t->v.elems[i], lvl + 2, &ep);
        if (e == NULL || json_array_append_new(arr, e) != 0) {
            if (e != NULL)
                jnomem(c, &ep);
            json_decref(arr);
            return NULL;
        }
    }
    return wrap(c, "tuple", arr, p);
}

/* Every kind that holds no other term (pids, ports, refs and exports hold
 * atoms only). */
JSON_NOINLINE static json_t *
leaf_json(struct jctx *c, const etf_term *t, unsigned lvl,
          const struct jpath *p)
{
    bool plain = c->form == ETF_JSON_PLAIN;
    json_t *o, *arr;

    switch ((etf_kind)t->kind) {
    case ETF_INT:
    case ETF_BIG:
        return term_int_json(c, t, lvl, p);
    case ETF_FLOAT:
        o = json_real(t->v.f);
        if (o == NULL) {
            if (isfinite(t->v.f))
                jnomem(c, p);
            else
                jerr(c, p, ETF_E_FLOAT, "a float that is not finite");
        }
        return o;
    case ETF_ATOM:
        if (t->len == 4 && memcmp(t->v.str, "true", 4) == 0)
            return json_true();
        if (t->len == 5 && memcmp(t->v.str, "false", 5) == 0)
            return json_false();
        if (t->len == 4 && memcmp(t->v.str, "null", 4) == 0)
            return json_null();
        if (plain)
            return str_json(c, t->v.str, t->len, p);
        if (jdepth(c, lvl + 1, p) != 0)
            return NULL;
        return wrap(c, "atom", str_json(c, t->v.str, t->len, p), p);
    case ETF_NIL:
        if (jdepth(c, lvl + 1, p) != 0)
            return NULL;
        o = json_array();
        if (o == NULL)
            jnomem(c, p);
        return o;
    case ETF_BINARY:
        if (plain) {
            size_t bad;

            if (t->aux != 8) {
                jerr(c, p, ETF_E_JSON, "a bitstring");
                return NULL;
            }
            if (utf8_count(t->v.bytes, t->len, &bad) < 0) {
                jerr(c, p, ETF_E_JSON,
                     "a binary not valid UTF-8 (byte %zu is bad)", bad);
                return NULL;
            }
            return str_json(c, (const char *)t->v.bytes, t->len, p);
        }
        if (t->aux == 8) {
            if (jdepth(c, lvl + 1, p) != 0)
                return NULL;
            o = b64_json(t->v.bytes, t->len);
            if (o == NULL)
                jnomem(c, p);
            return wrap(c, "binary", o, p);
        }
        if (jdepth(c, lvl + 2, p) != 0)
            return NULL;
        if (t->len == 0 || t->aux < 1 || t->aux > 7) {
            jerr(c, p, ETF_E_BITS, "a bitstring with %u bits in its last byte",
                 t->aux);
            return NULL;
        }
        o = json_object();
        if (o == NULL) {
            jnomem(c, p);
            return NULL;
        }
        o = put(c, o, "bits",
                json_integer((json_int_t)(t->len - 1) * 8 + t->aux), p);
        o = put(c, o, "data", b64_json(t->v.bytes, t->len), p);
        return wrap(c, "bitstring", o, p);
    case ETF_LOCAL:
        if (plain)
            break;
        if (jdepth(c, lvl + 1, p) != 0)
            return NULL;
        o = b64_json(t->v.bytes, t->len);
        if (o == NULL)
            jnomem(c, p);
        return wrap(c, "local", o, p);
    case ETF_PID:
        if (plain)
            break;
        if (jdepth(c, lvl + 2, p) != 0)
            return NULL;
        return wrap(c, "pid", pid_fields(c, t->v.pid, p), p);
    case ETF_PORT: {
        struct jpath ip = jp_key(p, "id", 2);

        if (plain)
            break;
        if (jdepth(c, lvl + 2, p) != 0)
            return NULL;
        o = json_object();
        o = put(c, o, "node", atom_text(c, &t->v.port->node, p), p);
        o = put(c, o, "id", u64_json(c, t->v.port->id, lvl + 2, &ip), p);
        o = put(c, o, "creation", json_integer(t->v.port->creation), p);
        return wrap(c, "port", o, p);
    }
    case ETF_REF:
        if (plain)
            break;
        if (jdepth(c, lvl + 3, p) != 0)
            return NULL;
        if (t->v.ref->len > ETF_MAX_REF_WORDS) {
            jerr(c, p, ETF_E_REF, "a reference of %u words", t->v.ref->len);
            return NULL;
        }
        arr = json_array();
        for (uint32_t i = 0; arr != NULL && i < t->v.ref->len; i++) {
            if (json_array_append_new(arr, json_integer(t->v.ref->id[i]))) {
                json_decref(arr);
                arr = NULL;
            }
        }
        o = json_object();
        o = put(c, o, "node", atom_text(c, &t->v.ref->node, p), p);
        o = put(c, o, "id", arr, p);
        o = put(c, o, "creation", json_integer(t->v.ref->creation), p);
        return wrap(c, "ref", o, p);
    case ETF_EXPORT:
        if (plain)
            break;
        if (jdepth(c, lvl + 2, p) != 0)
            return NULL;
        o = json_object();
        o = put(c, o, "module", atom_text(c, &t->v.exp->module, p), p);
        o = put(c, o, "function", atom_text(c, &t->v.exp->function, p), p);
        o = put(c, o, "arity", json_integer(t->v.exp->arity), p);
        return wrap(c, "export", o, p);
    case ETF_FUN:
        break;
    default:
        jerr(c, p, ETF_E_TYPE, "a term of unknown kind %u", t->kind);
        return NULL;
    }

    static const char *const kind_name[] = {
        [ETF_PID] = "a pid",       [ETF_PORT] = "a port",
        [ETF_REF] = "a reference", [ETF_EXPORT] = "an external fun",
        [ETF_FUN] = "a local fun", [ETF_LOCAL] = "a LOCAL_EXT term",
    };
    jerr(c, p, ETF_E_JSON, "%s", kind_name[t->kind]);
    return NULL;
}

/* Map t, enclosed by lvl JSON containers, to a new JSON value. */
static json_t *
to_json(struct jctx *c, const etf_term *t, unsigned lvl, const struct jpath *p)
{
    switch (t->kind) {
    case ETF_LIST:
    case ETF_STRING:
        return list_json(c, t, lvl, p);
    case ETF_TUPLE:
        return tuple_json(c, t, lvl, p);
    case ETF_MAP:
        return map_json(c, t, lvl, p);
    case ETF_FUN:
        if (c->form == ETF_JSON_PLAIN)
            return leaf_json(c, t, lvl, p);
        return fun_json(c, t, lvl, p);
    default:
        return leaf_json(c, t, lvl, p);
    }
}

/* ------------------------------------------------------------------ */
/* JSON to term                                                        */
/* ------------------------------------------------------------------ */

static int from_json(struct jctx *c, const json_t *j, etf_term *t, unsigned lvl,
                     const struct jpath *p);

static const char *
json_kind_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something";
}

/* Check that j is of the JSON type asked for. */
static int
want(struct jctx *c, const json_t *j, json_type type, const char *what,
     const struct jpath *p)
{
    if (j == NULL || json_typeof(j) != type)
        return jerr(c, p, ETF_E_JSON, "expected %s, found %s", what,
                    j == NULL ? "nothing" : json_kind_name(j));
    return 0;
}

/* A JSON string as an atom: at most 255 characters of valid UTF-8. */
JSON_NOINLINE static int
atom_from(struct jctx *c, const json_t *j, etf_term *t, const struct jpath *p)
{
    const char *s;
    size_t len, bad;
    long long chars;

    if (want(c, j, JSON_STRING, "a string (atom text)", p) != 0)
        return -1;
    s = json_string_value(j);
    len = json_string_length(j);
    chars = utf8_count((const uint8_t *)s, len, &bad);
    if (chars < 0)
        return jerr(c, p, ETF_E_UTF8, "atom text not valid UTF-8 at byte %zu",
                    bad);
    if (chars > ETF_MAX_ATOM_CHARS)
        return jerr(c, p, ETF_E_ATOM, "atom of %lld characters (at most %d)",
                    chars, ETF_MAX_ATOM_CHARS);
    if (etf_set_atom(c->a, t, s, len) != 0)
        return jnomem(c, p);
    return 0;
}

/* A JSON string or array element as an unsigned integer up to max: a
 * JSON integer, or in the typed form also {"int":"..."}. */
JSON_NOINLINE static int
uint_from(struct jctx *c, const json_t *j, uint64_t max, uint64_t *out,
          const struct jpath *p)
{
    if (json_is_integer(j)) {
        json_int_t v = json_integer_value(j);
        if (v < 0 || (uint64_t)v > max)
            return jerr(c, p, ETF_E_RANGE, "%" PRId64 " is not in 0..%" PRIu64,
                        (int64_t)v, max);
        *out = (uint64_t)v;
        return 0;
    }
    if (c->form == ETF_JSON_TYPED && json_is_object(j) &&
        json_object_size(j) == 1 && json_is_string(json_object_get(j, "int"))) {
        struct jpath ip = jp_key(p, "int", 3);
        const json_t *s = json_object_get(j, "int");
        etf_term t;
        uint64_t v = 0;

        if (text_to_int(c, json_string_value(s), json_string_length(s), &t,
                        &ip) != 0)
            return -1;
        if (t.kind == ETF_INT && t.v.i >= 0) {
            v = (uint64_t)t.v.i;
        } else if (t.kind == ETF_BIG && t.aux == 0 && t.len <= 8) {
            for (uint32_t i = 0; i < t.len; i++)
                v |= (uint64_t)t.v.bytes[i] << (8 * i);
        } else {
            return jerr(c, p, ETF_E_RANGE, "integer not in 0..%" PRIu64, max);
        }
        if (v > max)
            return jerr(c, p, ETF_E_RANGE, "integer not in 0..%" PRIu64, max);
        *out = v;
        return 0;
    }
    return jerr(c, p, ETF_E_JSON, "expected an integer, found %s",
                j == NULL ? "nothing" : json_kind_name(j));
}

/* Read member name of o as an integer 0..2^32-1. */
static int
u32_field(struct jctx *c, const json_t *o, const char *name, uint32_t *out,
          const struct jpath *p)
{
    struct jpath fp = jp_key(p, name, strlen(name));
    uint64_t v;

    if (uint_from(c, json_object_get(o, name), UINT32_MAX, &v, &fp) != 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Check that j is an object with exactly the n members named. */
static int
exact_fields(struct jctx *c, const json_t *j, const char *const *names,
             size_t n, const struct jpath *p)
{
    if (want(c, j, JSON_OBJECT, "an object", p) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (json_object_get(j, names[i]) == NULL)
            return jerr(c, p, ETF_E_JSON, "member \"%s\" missing", names[i]);
    if (json_object_size(j) != n) {
        const char *key;
        const json_t *v;

        json_object_foreach((json_t *)(uintptr_t)j, key, v)
        {
            size_t i;
            (void)v;
            for (i = 0; i < n && strcmp(key, names[i]) != 0; i++)
                ;
            if (i == n)
                return jerr(c, p, ETF_E_JSON, "unexpected member \"%.24s\"",
                            key);
        }
        return jerr(c, p, ETF_E_JSON, "unexpected member");
    }
    return 0;
}

/* {"node":..,"id":..,"serial":..,"creation":..} as a pid. */
JSON_NOINLINE static int
pid_from(struct jctx *c, const json_t *j, etf_term *t, const struct jpath *p)
{
    static const char *const names[] = {"node", "id", "serial", "creation"};
    struct jpath np = jp_key(p, "node", 4);
    etf_pid *pid;

    if (exact_fields(c, j, names, 4, p) != 0)
        return -1;
    pid = etf_set_pid(c->a, t);
    if (pid == NULL)
        return jnomem(c, p);
    if (atom_from(c, json_object_get(j, "node"), &pid->node, &np) != 0 ||
        u32_field(c, j, "id", &pid->id, p) != 0 ||
        u32_field(c, j, "serial", &pid->serial, p) != 0 ||
        u32_field(c, j, "creation", &pid->creation, p) != 0)
        return -1;
    return 0;
}

/* {"node":..,"id":..,"creation":..} as a port (64-bit id). */
JSON_NOINLINE static int
port_from(struct jctx *c, const json_t *j, etf_term *t, const struct jpath *p)
{
    static const char *const names[] = {"node", "id", "creation"};
    struct jpath np = jp_key(p, "node", 4), ip = jp_key(p, "id", 2);
    etf_port *port;

    if (exact_fields(c, j, names, 3, p) != 0)
        return -1;
    port = etf_set_port(c->a, t);
    if (port == NULL)
        return jnomem(c, p);
    if (atom_from(c, json_object_get(j, "node"), &port->node, &np) != 0 ||
        uint_from(c, json_object_get(j, "id"), UINT64_MAX, &port->id, &ip) ||
        u32_field(c, j, "creation", &port->creation, p) != 0)
        return -1;
    return 0;
}

/* {"node":..,"id":[...],"creation":..} as a reference. */
JSON_NOINLINE static int
ref_from(struct jctx *c, const json_t *j, etf_term *t, const struct jpath *p)
{
    static const char *const names[] = {"node", "id", "creation"};
    struct jpath np = jp_key(p, "node", 4), ip = jp_key(p, "id", 2);
    const json_t *ids;
    etf_ref *ref;

    if (exact_fields(c, j, names, 3, p) != 0)
        return -1;
    ids = json_object_get(j, "id");
    if (want(c, ids, JSON_ARRAY, "an array of words", &ip) != 0)
        return -1;
    if (json_array_size(ids) > ETF_MAX_REF_WORDS)
        return jerr(c, &ip, ETF_E_REF, "a reference of %zu words (at most %d)",
                    json_array_size(ids), ETF_MAX_REF_WORDS);
    ref = etf_set_ref(c->a, t);
    if (ref == NULL)
        return jnomem(c, p);
    if (atom_from(c, json_object_get(j, "node"), &ref->node, &np) != 0 ||
        u32_field(c, j, "creation", &ref->creation, p) != 0)
        return -1;
    ref->len = (uint32_t)json_array_size(ids);
    for (uint32_t i = 0; i < ref->len; i++) {
        struct jpath ep = jp_index(&ip, i);
        uint64_t v;

        if (uint_from(c, json_array_get(ids, i), UINT32_MAX, &v, &ep) != 0)
            return -1;
        ref->id[i] = (uint32_t)v;
    }
    return 0;
}

/* {"module":..,"function":..,"arity":..} as fun M:F/A. */
JSON_NOINLINE static int
export_from(struct jctx *c, const json_t *j, etf_term *t, const struct jpath *p)
{
    static const char *const names[] = {"module", "function", "arity"};
    struct jpath mp = jp_key(p, "module", 6), fp = jp_key(p, "function", 8);
    etf_export *e;

    if (exact_fields(c, j, names, 3, p) != 0)
        return -1;
    e = etf_set_export(c->a, t);
    if (e == NULL)
        return jnomem(c, p);
    if (atom_from(c, json_object_get(j, "module"), &e->module, &mp) != 0 ||
        atom_from(c, json_object_get(j, "function"), &e->function, &fp) != 0 ||
        u32_field(c, j, "arity", &e->arity, p) != 0)
        return -1;
    return 0;
}

/* An integer term (JSON integer or {"int":...}) for the old index and
 * uniq of a fun. */
static int
int_from(struct jctx *c, const json_t *j, etf_term *t, unsigned lvl,
         const struct jpath *p)
{
    if (json_is_integer(j) || json_is_object(j)) {
        if (from_json(c, j, t, lvl, p) != 0)
            return -1;
        if (t->kind == ETF_INT || t->kind == ETF_BIG)
            return 0;
    }
    return jerr(c, p, ETF_E_JSON, "expected an integer");
}

/* The fields of a local fun; j is the inner object, at level lvl. */
JSON_NOINLINE static int
fun_from(struct jctx *c, const json_t *j, etf_term *t, unsigned lvl,
         const struct jpath *p)
{
    static const char *const names[] = {"module", "arity",     "uniq",
                                        "index",  "old_index", "old_uniq",
                                        "pid",    "free"};
    struct jpath xp;
    const json_t *fr, *uq;
    uint32_t arity;
    etf_fun *f;

    if (exact_fields(c, j, names, 8, p) != 0)
        return -1;
    fr = json_object_get(j, "free");
    xp = jp_key(p, "free", 4);
    if (want(c, fr, JSON_ARRAY, "an array of free variables", &xp) != 0)
        return -1;
    if (json_array_size(fr) > UINT32_MAX)
        return jerr(c, &xp, ETF_E_LIMIT, "too many free variables");
    f = etf_set_fun(c->a, t, (uint32_t)json_array_size(fr));
    if (f == NULL)
        return jnomem(c, p);
    xp = jp_key(p, "module", 6);
    if (atom_from(c, json_object_get(j, "module"), &f->module, &xp) != 0)
        return -1;
    xp = jp_key(p, "arity", 5);
    if (u32_field(c, j, "arity", &arity, p) != 0)
        return -1;
    if (arity > 255)
        return jerr(c, &xp, ETF_E_RANGE, "fun arity %" PRIu32 " over 255",
                    arity);
    f->arity = (uint8_t)arity;
    uq = json_object_get(j, "uniq");
    xp = jp_key(p, "uniq", 4);
    if (want(c, uq, JSON_STRING, "32 hex digits", &xp) != 0)
        return -1;
    if (json_string_length(uq) != 32)
        return jerr(c, &xp, ETF_E_JSON, "expected 32 hex digits, found %zu",
                    json_string_length(uq));
    for (int i = 0; i < 32; i++) {
        int v = hex_value((unsigned char)json_string_value(uq)[i]);
        if (v < 0)
            return jerr(c, &xp, ETF_E_JSON, "not a hex digit at offset %d", i);
        if (i % 2 == 0)
            f->uniq[i / 2] = (uint8_t)(v << 4);
        else
            f->uniq[i / 2] |= (uint8_t)v;
    }
    if (u32_field(c, j, "index", &f->index, p) != 0)
        return -1;
    /* j itself is at level lvl: its members are inside it. */
    xp = jp_key(p, "old_index", 9);
    if (int_from(c, json_object_get(j, "old_index"), &f->old_index, lvl, &xp) !=
        0)
        return -1;
    xp = jp_key(p, "old_uniq", 8);
    if (int_from(c, json_object_get(j, "old_uniq"), &f->old_uniq, lvl, &xp) !=
        0)
        return -1;
    xp = jp_key(p, "pid", 3);
    {
        const json_t *pj = json_object_get(j, "pid");

        if (jdepth(c, lvl + 1, &xp) != 0)
            return -1;
        if (pj != NULL &&
            (!json_is_object(pj) || json_object_get(pj, "node") == NULL)) {
            if (from_json(c, pj, &f->pid, lvl + 1, &xp) != 0)
                return -1;
        } else if (pid_from(c, pj, &f->pid, &xp) != 0)
            return -1;
    }
    xp = jp_key(p, "free", 4);
    if (jdepth(c, lvl + 1, &xp) != 0)
        return -1;
    for (uint32_t i = 0; i < f->numfree; i++) {
        struct jpath ep = jp_index(&xp, i);
        if (from_json(c, json_array_get(fr, i), &f->free[i], lvl + 1, &ep))
            return -1;
    }
    return 0;
}

/* A base64 string into bytes in the arena. */
JSON_NOINLINE static int
b64_from(struct jctx *c, const json_t *j, uint8_t **out, size_t *len,
         const struct jpath *p)
{
    size_t bad;
    bool nomem;

    if (want(c, j, JSON_STRING, "a base64 string", p) != 0)
        return -1;
    if (b64_decode(c->a, json_string_value(j), json_string_length(j), out, len,
                   &bad, &nomem) != 0) {
        if (nomem)
            return jnomem(c, p);
        if (bad == json_string_length(j))
            return jerr(c, p, ETF_E_JSON,
                        "base64 length %zu is not a multiple of 4", bad);
        return jerr(c, p, ETF_E_JSON, "bad base64 at offset %zu", bad);
    }
    if (*len > UINT32_MAX)
        return jerr(c, p, ETF_E_LIMIT, "binary over 4 GiB");
    return 0;
}

/* {"bits":N,"data":"<base64>"} as a bitstring (or a binary). */
JSON_NOINLINE static int
bitstring_from(struct jctx *c, const json_t *j, etf_term *t,
               const struct jpath *p)
{
    static const char *const names[] = {"bits", "data"};
    struct jpath bp = jp_key(p, "bits", 4), dp = jp_key(p, "data", 4);
    const json_t *bits = json_object_get(j, "bits");
    uint8_t *data;
    size_t len;
    json_int_t nbits;
    unsigned last;

    if (exact_fields(c, j, names, 2, p) != 0)
        return -1;
    if (want(c, bits, JSON_INTEGER, "a bit count", &bp) != 0)
        return -1;
    if (b64_from(c, json_object_get(j, "data"), &data, &len, &dp) != 0)
        return -1;
    nbits = json_integer_value(bits);
    if (nbits < 0 || (uint64_t)(nbits + 7) / 8 != len)
        return jerr(c, &bp, ETF_E_BITS,
                    "%" PRId64 " bits do not fill %zu bytes", (int64_t)nbits,
                    len);
    last = nbits % 8 == 0 ? 8 : (unsigned)(nbits % 8);
    if (len > 0 && last < 8 && (data[len - 1] & (0xffu >> last)) != 0)
        return jerr(c, &dp, ETF_E_BITS, "unused bits of the last byte not 0");
    t->kind = ETF_BINARY;
    t->aux = (uint8_t)last;
    t->len = (uint32_t)len;
    t->v.bytes = data;
    return 0;
}

/* Check the keys of a map for duplicates without changing its order. */
JSON_NOINLINE static int
map_check_dups(struct jctx *c, const etf_term *m, const struct jpath *p)
{
    etf_term tmp = *m;
    etf_error e;
    etf_term *copy;

    if (m->len < 2)
        return 0;
    copy = malloc((size_t)m->len * 2 * sizeof(*copy));
    if (copy == NULL)
        return jnomem(c, p);
    memcpy(copy, m->v.elems, (size_t)m->len * 2 * sizeof(*copy));
    tmp.v.elems = copy;
    memset(&e, 0, sizeof(e));
    if (etf_map_sort(&tmp, &e) != 0) {
        free(copy);
        if (e.code == ETF_E_DUPKEY)
            return jerr(c, p, ETF_E_DUPKEY, "the same map key twice");
        return jerr(c, p, e.code, "%s", e.msg);
    }
    free(copy);
    return 0;
}

/* An object {"name": value, ...} as a map with binary keys. */
JSON_NOINLINE static int
object_map_from(struct jctx *c, const json_t *j, etf_term *t, unsigned lvl,
                const struct jpath *p)
{
    size_t n = json_object_size(j), i = 0;
    const char *key;
    size_t klen;
    json_t *v;
    etf_term *kv;

    if (n > UINT32_MAX)
        return jerr(c, p, ETF_E_LIMIT, "too many members");
    kv = etf_set_map(c->a, t, (uint32_t)n);
    if (kv == NULL && n > 0)
        return jnomem(c, p);
    json_object_keylen_foreach((json_t *)(uintptr_t)j, key, klen, v)
    {
        struct jpath vp = jp_key(p, key, klen);

        if (i >= n)
            break;
        if (etf_set_binary(c->a, &kv[2 * i], key, klen) != 0)
            return jnomem(c, &vp);
        if (from_json(c, v, &kv[2 * i + 1], lvl, &vp) != 0)
            return -1;
        i++;
    }
    if (c->form == ETF_JSON_PLAIN && n > 1 && etf_map_sort(t, c->err) != 0)
        return -1;
    return 0;
}

/* {"map": [[k, v], ...]} or {"map": {"name": v, ...}}. */
JSON_NOINLINE static int
map_from(struct jctx *c, const json_t *j, etf_term *t, unsigned lvl,
         const struct jpath *p)
{
    size_t n;
    etf_term *kv;

    if (json_is_object(j)) {
        if (jdepth(c, lvl + 1, p) != 0)
            return -1;
        return object_map_from(c, j, t, lvl + 1, p);
    }
    if (want(c, j, JSON_ARRAY, "an array of [key, value] pairs", p) != 0)
        return -1;
    if (jdepth(c, lvl + 2, p) != 0)
        return -1;
    n = json_array_size(j);
    if (n > UINT32_MAX)
        return jerr(c, p, ETF_E_LIMIT, "too many pairs");
    kv = etf_set_map(c->a, t, (uint32_t)n);
    if (kv == NULL && n > 0)
        return jnomem(c, p);
    for (size_t i = 0; i < n; i++) {
        struct jpath ip = jp_index(p, i);
        struct jpath kp = jp_index(&ip, 0), vp = jp_index(&ip, 1);
        const json_t *pair = json_array_get(j, i);

        if (!json_is_array(pair) || json_array_size(pair) != 2)
            return jerr(c, &ip, ETF_E_JSON, "expected a [key, value] pair");
        if (from_json(c, json_array_get(pair, 0), &kv[2 * i], lvl + 2, &kp) ||
            from_json(c, json_array_get(pair, 1), &kv[2 * i + 1], lvl + 2, &vp))
            return -1;
    }
    return map_check_dups(c, t, p);
}

/* An array as a list: [] is NIL, an array of integers 0..255 a string
 * (STRING_EXT), anything else a list (LIST_EXT) with [] as its tail. With
 * as_list, always a list, and *tailp (if not NULL) is its tail's slot. */
JSON_NOINLINE static int
array_from(struct jctx *c, const json_t *arr, bool as_list, etf_term *t,
           unsigned lvl, const struct jpath *p, etf_term **tailp)
{
    size_t n = json_array_size(arr);
    etf_term *el;
    bool bytes = !as_list;

    if (jdepth(c, lvl + 1, p) != 0)
        return -1;
    if (n == 0) {
        etf_set_nil(t);
        return 0;
    }
    for (size_t i = 0; bytes && i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        bytes = json_is_integer(e) && json_integer_value(e) >= 0 &&
                json_integer_value(e) <= 255;
    }
    if (bytes) {
        uint8_t *b = malloc(n);
        int rc;

        if (b == NULL)
            return jnomem(c, p);
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)json_integer_value(json_array_get(arr, i));
        rc = etf_set_string(c->a, t, b, n);
        free(b);
        return rc != 0 ? jnomem(c, p) : 0;
    }
    if (n > UINT32_MAX)
        return jerr(c, p, ETF_E_LIMIT, "list too long");
    el = etf_set_list(c->a, t, (uint32_t)n);
    if (el == NULL)
        return jnomem(c, p);
    for (size_t i = 0; i < n; i++) {
        struct jpath ep = jp_index(p, i);
        if (from_json(c, json_array_get(arr, i), &el[i], lvl + 1, &ep) != 0)
            return -1;
    }
    if (tailp != NULL)
        *tailp = &el[n];
    return 0;
}

/* {"list": [...], "tail": T}, or {"list": [...]} for a proper list: a
 * LIST_EXT whatever its elements, and T kept as the tail as it is (a list
 * tail is not joined to the list: LIST_EXT cells nest on the wire too). */
JSON_NOINLINE static int
improper_from(struct jctx *c, const json_t *j, etf_term *t, unsigned lvl,
              const struct jpath *p)
{
    const json_t *arr = json_object_get(j, "list");
    const json_t *tj = json_object_get(j, "tail");
    struct jpath lp = jp_key(p, "list", 4), tp = jp_key(p, "tail", 4);
    etf_term *tail = NULL;

    /* j is at level lvl + 1; its members are inside it. */
    if (want(c, arr, JSON_ARRAY, "an array", &lp) != 0)
        return -1;
    if (tj != NULL && json_array_size(arr) == 0)
        return jerr(c, &lp, ETF_E_JSON, "a list with a tail but no elements");
    if (array_from(c, arr, true, t, lvl + 1, &lp, &tail) != 0)
        return -1;
    if (tj == NULL)
        return 0;
    return from_json(c, tj, tail, lvl + 1, &tp);
}

/* {"tuple": v}, v enclosed by lvl containers. */
JSON_NOINLINE static int
tuple_from(struct jctx *c, const json_t *v, etf_term *t, unsigned lvl,
           const struct jpath *p)
{
    etf_term *el;
    size_t n;

    if (want(c, v, JSON_ARRAY, "an array", p) != 0 ||
        jdepth(c, lvl + 1, p) != 0)
        return -1;
    n = json_array_size(v);
    if (n > UINT32_MAX)
        return jerr(c, p, ETF_E_LIMIT, "tuple too large");
    el = etf_set_tuple(c->a, t, (uint32_t)n);
    if (el == NULL && n > 0)
        return jnomem(c, p);
    for (size_t i = 0; i < n; i++) {
        struct jpath ep = jp_index(p, i);
        if (from_json(c, json_array_get(v, i), &el[i], lvl + 1, &ep) != 0)
            return -1;
    }
    return 0;
}

/* The typed form's objects: one reserved key, or "list" and "tail". */
JSON_NOINLINE static int
typed_object_from(struct jctx *c, const json_t *j, etf_term *t, unsigned lvl,
                  const struct jpath *p)
{
    size_t n = json_object_size(j);
    void *it = json_object_iter((json_t *)(uintptr_t)j);
    const char *key;
    size_t klen;
    const json_t *v;
    struct jpath kp;

    if (n == 2 && json_object_get(j, "list") != NULL &&
        json_object_get(j, "tail") != NULL)
        return improper_from(c, j, t, lvl, p);
    if (n != 1 || it == NULL)
        return jerr(c, p, ETF_E_JSON,
                    "an object of %zu members (a typed value has one)", n);
    key = json_object_iter_key(it);
    klen = json_object_iter_key_len(it);
    v = json_object_iter_value(it);
    kp = jp_key(p, key, klen);

#define KEY_IS(s) (klen == sizeof(s) - 1 && memcmp(key, s, klen) == 0)
    if (KEY_IS("atom"))
        return atom_from(c, v, t, &kp);
    if (KEY_IS("int")) {
        if (want(c, v, JSON_STRING, "integer text", &kp) != 0)
            return -1;
        return text_to_int(c, json_string_value(v), json_string_length(v), t,
                           &kp);
    }
    if (KEY_IS("binary") || KEY_IS("local")) {
        uint8_t *data;
        size_t len;

        if (b64_from(c, v, &data, &len, &kp) != 0)
            return -1;
        t->kind = KEY_IS("binary") ? ETF_BINARY : ETF_LOCAL;
        c->locals += t->kind == ETF_LOCAL;
        t->aux = KEY_IS("binary") ? 8 : 0;
        t->len = (uint32_t)len;
        t->v.bytes = data;
        return 0;
    }
    if (KEY_IS("list"))
        return improper_from(c, j, t, lvl, p);
    if (KEY_IS("tuple"))
        return tuple_from(c, v, t, lvl + 1, &kp);
    if (KEY_IS("map"))
        return map_from(c, v, t, lvl + 1, &kp);
    if (KEY_IS("fun") || KEY_IS("pid") || KEY_IS("port") || KEY_IS("ref") ||
        KEY_IS("export") || KEY_IS("bitstring")) {
        if (jdepth(c, lvl + 2, &kp) != 0)
            return -1;
        if (KEY_IS("fun"))
            return fun_from(c, v, t, lvl + 2, &kp);
        if (KEY_IS("pid"))
            return pid_from(c, v, t, &kp);
        if (KEY_IS("port"))
            return port_from(c, v, t, &kp);
        if (KEY_IS("ref"))
            return jdepth(c, lvl + 3, &kp) != 0 ? -1 : ref_from(c, v, t, &kp);
        if (KEY_IS("export"))
            return export_from(c, v, t, &kp);
        return bitstring_from(c, v, t, &kp);
    }
#undef KEY_IS
    return jerr(c, p, ETF_E_JSON, "unknown type \"%.*s\"",
                (int)(klen < 32 ? klen : 32), key);
}

/* Map j, enclosed by lvl JSON containers, to the term at t. */
static int
from_json(struct jctx *c, const json_t *j, etf_term *t, unsigned lvl,
          const struct jpath *p)
{
    switch (json_typeof(j)) {
    case JSON_NULL:
        return etf_set_atom(c->a, t, "null", 4) != 0 ? jnomem(c, p) : 0;
    case JSON_TRUE:
        return etf_set_atom(c->a, t, "true", 4) != 0 ? jnomem(c, p) : 0;
    case JSON_FALSE:
        return etf_set_atom(c->a, t, "false", 5) != 0 ? jnomem(c, p) : 0;
    case JSON_INTEGER:
        etf_set_int(t, json_integer_value(j));
        return 0;
    case JSON_REAL:
        if (!isfinite(json_real_value(j)))
            return jerr(c, p, ETF_E_FLOAT, "a real that is not finite");
        etf_set_float(t, json_real_value(j));
        return 0;
    case JSON_STRING:
        /* Strings are UTF-8 binaries in both forms. */
        if (c->form == ETF_JSON_PLAIN) {
            size_t bad;
            if (utf8_count((const uint8_t *)json_string_value(j),
                           json_string_length(j), &bad) < 0)
                return jerr(c, p, ETF_E_UTF8,
                            "a string not valid UTF-8 at byte %zu", bad);
        }
        if (etf_set_binary(c->a, t, json_string_value(j),
                           json_string_length(j)) != 0)
            return jnomem(c, p);
        return 0;
    case JSON_ARRAY:
        return array_from(c, j, false, t, lvl, p, NULL);
    case JSON_OBJECT:
        if (jdepth(c, lvl + 1, p) != 0)
            return -1;
        if (c->form == ETF_JSON_PLAIN)
            return object_map_from(c, j, t, lvl + 1, p);
        return typed_object_from(c, j, t, lvl, p);
    }
    return jerr(c, p, ETF_E_JSON, "unknown JSON value");
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

static void
clear_err(etf_error *err)
{
    err->code = ETF_OK;
    err->pos = 0;
    err->msg[0] = '\0';
}

struct json_t *
etf_to_json(const etf_term *t, etf_json_form form, etf_error *err)
{
    etf_error local;
    struct jctx c;

    if (err == NULL)
        err = &local;
    clear_err(err);
    c.form = form;
    c.a = NULL;
    c.err = err;
    if (t == NULL || (form != ETF_JSON_TYPED && form != ETF_JSON_PLAIN)) {
        jerr(&c, NULL, ETF_E_ARG, "no term, or an unknown form");
        return NULL;
    }
    return to_json(&c, t, 0, NULL);
}

etf_term *
etf_from_json(etf_arena *a, const struct json_t *j, etf_json_form form,
              etf_error *err)
{
    etf_error local;
    struct jctx c;
    etf_term *t;

    if (err == NULL)
        err = &local;
    clear_err(err);
    c.form = form;
    c.a = a;
    c.err = err;
    c.locals = 0;
    if (a == NULL || j == NULL ||
        (form != ETF_JSON_TYPED && form != ETF_JSON_PLAIN)) {
        jerr(&c, NULL, ETF_E_ARG, "no arena, no JSON, or an unknown form");
        return NULL;
    }
    t = etf_arena_alloc(a, sizeof(*t));
    if (t == NULL) {
        jnomem(&c, NULL);
        return NULL;
    }
    if (from_json(&c, j, t, 0, NULL) != 0)
        return NULL;
    /* A LOCAL_EXT payload runs to the end of its input: it can only be
     * the whole term. */
    if (c.locals > 1 || (c.locals == 1 && t->kind != ETF_LOCAL)) {
        jerr(&c, NULL, ETF_E_JSON,
             "a LOCAL_EXT term can only be the whole term, not inside one");
        return NULL;
    }
    return t;
}

struct dumpbuf {
    char *p;
    size_t len, cap;
};

/* Append jansson's output to a growing NUL-terminated buffer. */
static int
dump_cb(const char *buf, size_t size, void *data)
{
    struct dumpbuf *d = data;

    if (d->cap - d->len <= size) {
        size_t cap =
            d->cap * 2 > d->len + size + 1 ? d->cap * 2 : d->len + size + 1;
        char *np = realloc(d->p, cap);
        if (np == NULL)
            return -1;
        d->p = np;
        d->cap = cap;
    }
    memcpy(d->p + d->len, buf, size);
    d->len += size;
    d->p[d->len] = '\0';
    return 0;
}

char *
etf_to_json_text(const etf_term *t, etf_json_form form, bool pretty,
                 etf_error *err)
{
    etf_error local;
    struct dumpbuf d = {NULL, 0, 0};
    size_t flags = JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
    json_t *j;

    if (err == NULL)
        err = &local;
    j = etf_to_json(t, form, err);
    if (j == NULL)
        return NULL;
    flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
    d.cap = 256;
    d.p = malloc(d.cap);
    if (d.p == NULL || json_dump_callback(j, dump_cb, &d, flags) != 0) {
        json_decref(j);
        free(d.p);
        err->code = ETF_E_NOMEM;
        err->pos = 0;
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    d.p[d.len] = '\0';
    json_decref(j);
    return d.p;
}

etf_term *
etf_from_json_text(etf_arena *a, const char *text, size_t len,
                   etf_json_form form, etf_error *err)
{
    etf_error local;
    json_error_t je;
    json_t *j;
    etf_term *t;

    if (err == NULL)
        err = &local;
    clear_err(err);
    if (text == NULL && len > 0) {
        err->code = ETF_E_ARG;
        snprintf(err->msg, sizeof(err->msg), "no text");
        return NULL;
    }
    /* Duplicate members are refused rather than one of them dropped;
     * \u0000 is allowed in strings since binaries and atoms may hold NUL. */
    j = json_loadb(text != NULL ? text : "", len,
                   JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                   &je);
    if (j == NULL) {
        switch (json_error_code(&je)) {
        case json_error_out_of_memory:
            err->code = ETF_E_NOMEM;
            break;
        case json_error_stack_overflow:
            err->code = ETF_E_DEPTH;
            break;
        case json_error_invalid_utf8:
            err->code = ETF_E_UTF8;
            break;
        default:
            err->code = ETF_E_JSON;
            break;
        }
        err->pos = je.position > 0 ? (size_t)je.position : 0;
        snprintf(err->msg, sizeof(err->msg), "%.90s (line %d, column %d)",
                 je.text, je.line, je.column);
        return NULL;
    }
    t = etf_from_json(a, j, form, err);
    json_decref(j);
    return t;
}
