/*
 * The cursor reader: bounded reads of one term piece at a time, with no
 * allocation. Every function checks the bytes left before it reads, and
 * moves r->pos only when it succeeds.
 */
#include <math.h>
#include <stdlib.h>
#include <zlib.h>

#include "etf_int.h"

#define FAIL(r, code, at, ...) etf_fail(&(r)->err, (code), (at), __VA_ARGS__)

void
etf_reader_init(etf_reader *r, const void *buf, size_t len)
{
    /* Not a memset of the whole struct: the error text is only written
     * when something fails, and this runs for every decode. */
    r->buf = buf;
    r->len = len;
    r->pos = 0;
    r->refs = NULL;
    r->allow_local = false;
    r->err.code = ETF_OK;
    r->err.pos = 0;
    r->err.msg[0] = '\0';
}

/* Fail unless n bytes are left at position p. */
static int
need(etf_reader *r, size_t p, size_t n, const char *what)
{
    if (p > r->len || r->len - p < n)
        return FAIL(r, ETF_E_TRUNCATED, p,
                    "%s needs %zu bytes at byte %zu, %zu left", what, n, p,
                    p > r->len ? 0 : r->len - p);
    return 0;
}

/* Fail unless a declared count fits the bytes left, each element taking at
 * least min bytes; this keeps huge lengths from reaching an allocation. */
static int
need_elems(etf_reader *r, size_t p, uint64_t count, unsigned min,
           const char *what)
{
    uint64_t left = r->len - p;

    if (count > left / min)
        return FAIL(r, ETF_E_LENGTH, p,
                    "%s of %llu elements at byte %zu, only %llu bytes left",
                    what, (unsigned long long)count, p,
                    (unsigned long long)left);
    return 0;
}

int
etf_read_version(etf_reader *r)
{
    if (need(r, r->pos, 1, "version") < 0)
        return -1;
    if (r->buf[r->pos] != ETF_VERSION_MAGIC)
        return FAIL(r, ETF_E_VERSION, r->pos, "version byte is %u, not 131",
                    r->buf[r->pos]);
    r->pos++;
    return 0;
}

/* The kind of term each tag starts; 0 for tags that start none. */
static const uint8_t tag_type[256] = {
    [TAG_SMALL_INTEGER_EXT] = ETF_T_INTEGER,
    [TAG_INTEGER_EXT] = ETF_T_INTEGER,
    [TAG_SMALL_BIG_EXT] = ETF_T_INTEGER,
    [TAG_LARGE_BIG_EXT] = ETF_T_INTEGER,
    [TAG_NEW_FLOAT_EXT] = ETF_T_FLOAT,
    [TAG_FLOAT_EXT] = ETF_T_FLOAT,
    [TAG_ATOM_EXT] = ETF_T_ATOM,
    [TAG_SMALL_ATOM_EXT] = ETF_T_ATOM,
    [TAG_ATOM_UTF8_EXT] = ETF_T_ATOM,
    [TAG_SMALL_ATOM_UTF8_EXT] = ETF_T_ATOM,
    [TAG_ATOM_CACHE_REF] = ETF_T_ATOM,
    [TAG_SMALL_TUPLE_EXT] = ETF_T_TUPLE,
    [TAG_LARGE_TUPLE_EXT] = ETF_T_TUPLE,
    [TAG_NIL_EXT] = ETF_T_NIL,
    [TAG_STRING_EXT] = ETF_T_STRING,
    [TAG_LIST_EXT] = ETF_T_LIST,
    [TAG_BINARY_EXT] = ETF_T_BINARY,
    [TAG_BIT_BINARY_EXT] = ETF_T_BINARY,
    [TAG_MAP_EXT] = ETF_T_MAP,
    [TAG_NEW_PID_EXT] = ETF_T_PID,
    [TAG_PID_EXT] = ETF_T_PID,
    [TAG_NEW_PORT_EXT] = ETF_T_PORT,
    [TAG_PORT_EXT] = ETF_T_PORT,
    [TAG_V4_PORT_EXT] = ETF_T_PORT,
    [TAG_NEWER_REFERENCE_EXT] = ETF_T_REF,
    [TAG_REFERENCE_EXT] = ETF_T_REF,
    [TAG_NEW_REFERENCE_EXT] = ETF_T_REF,
    [TAG_EXPORT_EXT] = ETF_T_EXPORT,
    [TAG_NEW_FUN_EXT] = ETF_T_FUN,
    [TAG_LOCAL_EXT] = ETF_T_LOCAL,
    [TAG_COMPRESSED] = ETF_T_COMPRESSED,
};

int
etf_peek(etf_reader *r, etf_type *type)
{
    uint8_t t;

    *type = (etf_type)0;
    if (r->pos >= r->len)
        return need(r, r->pos, 1, "tag");
    if ((t = tag_type[r->buf[r->pos]]) == 0)
        return FAIL(r, ETF_E_TAG, r->pos, "unknown tag %u at byte %zu",
                    r->buf[r->pos], r->pos);
    *type = (etf_type)t;
    return 0;
}

/* Fail with a type error naming what was expected at p. */
static int
wrong_type(etf_reader *r, size_t p, const char *want)
{
    if (p >= r->len)
        return need(r, p, 1, want);
    return FAIL(r, ETF_E_TYPE, p, "expected %s at byte %zu, found tag %u", want,
                p, r->buf[p]);
}

/* Read an atom at *pp, moving *pp past it on success. */
static int
atom_at(etf_reader *r, size_t *pp, etf_atomv *a)
{
    size_t p = *pp, len, chars;
    uint8_t tag;

    if (need(r, p, 1, "atom") < 0)
        return -1;
    tag = r->buf[p];
    switch (tag) {
    case TAG_ATOM_EXT:
    case TAG_ATOM_UTF8_EXT:
        if (need(r, p + 1, 2, "atom length") < 0)
            return -1;
        len = get16(r->buf + p + 1);
        p += 3;
        break;
    case TAG_SMALL_ATOM_EXT:
    case TAG_SMALL_ATOM_UTF8_EXT:
        if (need(r, p + 1, 1, "atom length") < 0)
            return -1;
        len = r->buf[p + 1];
        p += 2;
        break;
    case TAG_ATOM_CACHE_REF:
        if (need(r, p + 1, 1, "atom cache index") < 0)
            return -1;
        if (r->refs == NULL)
            return FAIL(r, ETF_E_CACHE, p,
                        "ATOM_CACHE_REF at byte %zu outside a distribution "
                        "message",
                        p);
        if (r->buf[p + 1] >= r->refs->count)
            return FAIL(r, ETF_E_CACHE, p + 1,
                        "atom cache index %u at byte %zu, header has %u",
                        r->buf[p + 1], p + 1, r->refs->count);
        a->p = r->refs->ref[r->buf[p + 1]].p;
        a->len = r->refs->ref[r->buf[p + 1]].len;
        a->latin1 = false;
        *pp = p + 2;
        return 0;
    default:
        return wrong_type(r, p, "an atom");
    }
    if (need(r, p, len, "atom text") < 0)
        return -1;
    a->p = (const char *)r->buf + p;
    a->len = len;
    if (tag == TAG_ATOM_EXT || tag == TAG_SMALL_ATOM_EXT) {
        a->latin1 = true;
        chars = len;
    } else {
        a->latin1 = false;
        if (!utf8_valid(r->buf + p, len, &chars))
            return FAIL(r, ETF_E_UTF8, *pp, "atom at byte %zu is not UTF-8",
                        *pp);
    }
    if (chars > ETF_MAX_ATOM_CHARS)
        return FAIL(r, ETF_E_ATOM, *pp,
                    "atom of %zu characters at byte %zu (max 255)", chars, *pp);
    *pp = p + len;
    return 0;
}

int
etf_read_atom(etf_reader *r, etf_atomv *a)
{
    size_t p = r->pos;

    if (atom_at(r, &p, a) < 0)
        return -1;
    r->pos = p;
    return 0;
}

/* Set v from a little-endian magnitude of n bytes. */
static void
int_from_digits(etf_intv *v, uint8_t sign, const uint8_t *d, size_t n)
{
    uint64_t m = 0;
    size_t i;

    while (n > 0 && d[n - 1] == 0)
        n--;
    v->sign = 0;
    v->digits = d;
    v->ndigits = n;
    if (n <= 8) {
        for (i = n; i > 0; i--)
            m = (m << 8) | d[i - 1];
        if (sign == 0 && m <= (uint64_t)INT64_MAX) {
            v->big = false;
            v->i = (int64_t)m;
            return;
        }
        if (sign != 0 && m <= (uint64_t)INT64_MAX + 1) {
            v->big = false;
            v->i = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
            return;
        }
    }
    v->big = true;
    v->sign = sign != 0;
}

static int
integer_at(etf_reader *r, size_t *pp, etf_intv *v)
{
    size_t p = *pp, n;
    uint8_t sign;

    if (need(r, p, 1, "integer") < 0)
        return -1;
    switch (r->buf[p]) {
    case TAG_SMALL_INTEGER_EXT:
        if (need(r, p + 1, 1, "small integer") < 0)
            return -1;
        v->big = false;
        v->i = r->buf[p + 1];
        *pp = p + 2;
        return 0;
    case TAG_INTEGER_EXT:
        if (need(r, p + 1, 4, "integer") < 0)
            return -1;
        v->big = false;
        v->i = (int32_t)get32(r->buf + p + 1);
        *pp = p + 5;
        return 0;
    case TAG_SMALL_BIG_EXT:
        if (need(r, p + 1, 2, "bignum header") < 0)
            return -1;
        n = r->buf[p + 1];
        sign = r->buf[p + 2];
        p += 3;
        break;
    case TAG_LARGE_BIG_EXT:
        if (need(r, p + 1, 5, "bignum header") < 0)
            return -1;
        n = get32(r->buf + p + 1);
        sign = r->buf[p + 5];
        if (n > ETF_MAX_BIG_BYTES)
            return FAIL(r, ETF_E_BIG, p,
                        "bignum of %zu bytes at byte %zu (max %u)", n, p,
                        ETF_MAX_BIG_BYTES);
        p += 6;
        break;
    default:
        return wrong_type(r, p, "an integer");
    }
    if (need(r, p, n, "bignum digits") < 0)
        return -1;
    int_from_digits(v, sign, r->buf + p, n);
    *pp = p + n;
    return 0;
}

int
etf_read_integer(etf_reader *r, etf_intv *v)
{
    size_t p = r->pos;

    if (integer_at(r, &p, v) < 0)
        return -1;
    r->pos = p;
    return 0;
}

int
etf_read_int64(etf_reader *r, int64_t *out)
{
    etf_intv v;
    size_t p = r->pos;

    if (integer_at(r, &p, &v) < 0)
        return -1;
    if (v.big)
        return FAIL(r, ETF_E_RANGE, r->pos,
                    "integer at byte %zu does not fit 64 bits", r->pos);
    *out = v.i;
    r->pos = p;
    return 0;
}

/* Parse FLOAT_EXT text as the BEAM does: [+-]D+[.,]D+([eE][+-]D+)? up to
 * the first NUL of the 31 bytes, finite. */
static bool
float_text(const uint8_t *src, double *out)
{
    char buf[FLOAT_EXT_BYTES + 1], *s, *end, *dp;
    double d;

    memcpy(buf, src, FLOAT_EXT_BYTES);
    buf[FLOAT_EXT_BYTES] = '\0';
    s = buf;
    if (*s == '+' || *s == '-')
        s++;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s != '.' && *s != ',')
        return false;
    dp = s++;
    *dp = '.';
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s != '\0')
        return false;
    d = strtod(buf, &end);
    if (end != s || !isfinite(d))
        return false;
    *out = d;
    return true;
}

int
etf_read_double(etf_reader *r, double *out)
{
    size_t p = r->pos;
    uint64_t bits;
    double d;

    if (need(r, p, 1, "float") < 0)
        return -1;
    if (r->buf[p] == TAG_NEW_FLOAT_EXT) {
        if (need(r, p + 1, 8, "float") < 0)
            return -1;
        bits = get64(r->buf + p + 1);
        memcpy(&d, &bits, sizeof(d));
        if (!isfinite(d))
            return FAIL(r, ETF_E_FLOAT, p, "float at byte %zu is not finite",
                        p);
        *out = d;
        r->pos = p + 9;
        return 0;
    }
    if (r->buf[p] == TAG_FLOAT_EXT) {
        if (need(r, p + 1, FLOAT_EXT_BYTES, "float text") < 0)
            return -1;
        if (!float_text(r->buf + p + 1, out))
            return FAIL(r, ETF_E_FLOAT, p,
                        "float text at byte %zu is not a finite number", p);
        r->pos = p + 1 + FLOAT_EXT_BYTES;
        return 0;
    }
    return wrong_type(r, p, "a float");
}

int
etf_read_tuple_header(etf_reader *r, uint32_t *arity)
{
    size_t p = r->pos;
    uint32_t n;

    if (need(r, p, 1, "tuple") < 0)
        return -1;
    if (r->buf[p] == TAG_SMALL_TUPLE_EXT) {
        if (need(r, p + 1, 1, "tuple arity") < 0)
            return -1;
        n = r->buf[p + 1];
        p += 2;
    } else if (r->buf[p] == TAG_LARGE_TUPLE_EXT) {
        if (need(r, p + 1, 4, "tuple arity") < 0)
            return -1;
        n = get32(r->buf + p + 1);
        p += 5;
    } else
        return wrong_type(r, p, "a tuple");
    if (need_elems(r, p, n, 1, "tuple") < 0)
        return -1;
    *arity = n;
    r->pos = p;
    return 0;
}

int
etf_read_nil(etf_reader *r)
{
    if (need(r, r->pos, 1, "nil") < 0)
        return -1;
    if (r->buf[r->pos] != TAG_NIL_EXT)
        return wrong_type(r, r->pos, "[]");
    r->pos++;
    return 0;
}

int
etf_read_list_header(etf_reader *r, uint32_t *n)
{
    size_t p = r->pos;
    uint32_t len;

    if (need(r, p, 1, "list") < 0)
        return -1;
    if (r->buf[p] != TAG_LIST_EXT)
        return wrong_type(r, p, "a list");
    if (need(r, p + 1, 4, "list length") < 0)
        return -1;
    len = get32(r->buf + p + 1);
    /* The elements and the tail each take at least one byte. */
    if (need_elems(r, p + 5, (uint64_t)len + 1, 1, "list") < 0)
        return -1;
    *n = len;
    r->pos = p + 5;
    return 0;
}

int
etf_read_string(etf_reader *r, const uint8_t **out, size_t *len)
{
    size_t p = r->pos, n;

    if (need(r, p, 1, "string") < 0)
        return -1;
    if (r->buf[p] != TAG_STRING_EXT)
        return wrong_type(r, p, "a string");
    if (need(r, p + 1, 2, "string length") < 0)
        return -1;
    n = get16(r->buf + p + 1);
    if (need(r, p + 3, n, "string bytes") < 0)
        return -1;
    *out = r->buf + p + 3;
    *len = n;
    r->pos = p + 3 + n;
    return 0;
}

int
etf_read_map_header(etf_reader *r, uint32_t *arity)
{
    size_t p = r->pos;
    uint32_t n;

    if (need(r, p, 1, "map") < 0)
        return -1;
    if (r->buf[p] != TAG_MAP_EXT)
        return wrong_type(r, p, "a map");
    if (need(r, p + 1, 4, "map arity") < 0)
        return -1;
    n = get32(r->buf + p + 1);
    if (need_elems(r, p + 5, n, 2, "map") < 0)
        return -1;
    *arity = n;
    r->pos = p + 5;
    return 0;
}

int
etf_read_binary(etf_reader *r, const uint8_t **out, size_t *len, unsigned *bits)
{
    size_t p = r->pos, n;
    unsigned b = 8;

    if (need(r, p, 1, "binary") < 0)
        return -1;
    if (r->buf[p] == TAG_BINARY_EXT) {
        if (need(r, p + 1, 4, "binary length") < 0)
            return -1;
        n = get32(r->buf + p + 1);
        p += 5;
    } else if (r->buf[p] == TAG_BIT_BINARY_EXT) {
        if (need(r, p + 1, 5, "bit binary header") < 0)
            return -1;
        n = get32(r->buf + p + 1);
        b = r->buf[p + 5];
        /* Bits 1..8, except that an empty one must say 0. */
        if (n == 0 ? b != 0 : (b < 1 || b > 8))
            return FAIL(r, ETF_E_BITS, p + 5,
                        "bit binary at byte %zu has %zu bytes and %u bits", p,
                        n, b);
        if (n == 0)
            b = 8;
        p += 6;
    } else
        return wrong_type(r, p, "a binary");
    if (need(r, p, n, "binary bytes") < 0)
        return -1;
    *out = r->buf + p;
    *len = n;
    *bits = b;
    r->pos = p + n;
    return 0;
}

/* The first word of REFERENCE_EXT and NEW_REFERENCE_EXT holds 18 bits;
 * binary_to_term refuses more (NEWER_REFERENCE_EXT takes 32). */
#define OLD_REF_WORD0_LIMIT (1u << 18)

/* The old one-byte creations hold 2 bits; the BEAM refuses more. */
static int
old_creation(etf_reader *r, size_t at)
{
    return FAIL(r, ETF_E_NODE, at,
                "creation %u at byte %zu does not fit 2 bits", r->buf[at], at);
}

/* The node atom of a pid, port or reference. */
static int
node_at(etf_reader *r, size_t *pp, etf_atomv *node)
{
    etf_type t;
    size_t save = r->pos;
    int rc;

    r->pos = *pp;
    rc = etf_peek(r, &t);
    r->pos = save;
    if (rc < 0)
        return -1;
    if (t != ETF_T_ATOM)
        return FAIL(r, ETF_E_NODE, *pp, "node at byte %zu is not an atom", *pp);
    return atom_at(r, pp, node);
}

static int
pid_at(etf_reader *r, size_t *pp, etf_pidv *pid)
{
    size_t p = *pp;
    uint8_t tag;

    if (need(r, p, 1, "pid") < 0)
        return -1;
    tag = r->buf[p];
    if (tag != TAG_NEW_PID_EXT && tag != TAG_PID_EXT)
        return wrong_type(r, p, "a pid");
    p++;
    if (node_at(r, &p, &pid->node) < 0)
        return -1;
    if (need(r, p, tag == TAG_NEW_PID_EXT ? 12 : 9, "pid") < 0)
        return -1;
    pid->id = get32(r->buf + p);
    pid->serial = get32(r->buf + p + 4);
    if (tag == TAG_NEW_PID_EXT) {
        pid->creation = get32(r->buf + p + 8);
        p += 12;
    } else {
        pid->creation = r->buf[p + 8];
        if (pid->creation > 3)
            return old_creation(r, p + 8);
        p += 9;
    }
    *pp = p;
    return 0;
}

int
etf_read_pid(etf_reader *r, etf_pidv *pid)
{
    size_t p = r->pos;

    if (pid_at(r, &p, pid) < 0)
        return -1;
    r->pos = p;
    return 0;
}

int
etf_read_port(etf_reader *r, etf_portv *port)
{
    size_t p = r->pos;
    uint8_t tag;

    if (need(r, p, 1, "port") < 0)
        return -1;
    tag = r->buf[p];
    if (tag != TAG_NEW_PORT_EXT && tag != TAG_PORT_EXT &&
        tag != TAG_V4_PORT_EXT)
        return wrong_type(r, p, "a port");
    p++;
    if (node_at(r, &p, &port->node) < 0)
        return -1;
    switch (tag) {
    case TAG_PORT_EXT:
        if (need(r, p, 5, "port") < 0)
            return -1;
        port->id = get32(r->buf + p);
        port->creation = r->buf[p + 4];
        if (port->creation > 3)
            return old_creation(r, p + 4);
        p += 5;
        break;
    case TAG_NEW_PORT_EXT:
        if (need(r, p, 8, "port") < 0)
            return -1;
        port->id = get32(r->buf + p);
        port->creation = get32(r->buf + p + 4);
        p += 8;
        break;
    default:
        if (need(r, p, 12, "port") < 0)
            return -1;
        port->id = get64(r->buf + p);
        port->creation = get32(r->buf + p + 8);
        p += 12;
        break;
    }
    r->pos = p;
    return 0;
}

int
etf_read_ref(etf_reader *r, etf_refv *ref)
{
    size_t p = r->pos, i, cr;
    uint8_t tag;
    uint32_t n;

    if (need(r, p, 1, "reference") < 0)
        return -1;
    tag = r->buf[p];
    if (tag == TAG_REFERENCE_EXT) {
        p++;
        if (node_at(r, &p, &ref->node) < 0 || need(r, p, 5, "reference") < 0)
            return -1;
        ref->len = 1;
        ref->id[0] = get32(r->buf + p);
        if (ref->id[0] >= OLD_REF_WORD0_LIMIT)
            return FAIL(r, ETF_E_REF, p,
                        "reference number at byte %zu is over 18 bits", p);
        ref->creation = r->buf[p + 4];
        if (ref->creation > 3)
            return old_creation(r, p + 4);
        r->pos = p + 5;
        return 0;
    }
    if (tag != TAG_NEW_REFERENCE_EXT && tag != TAG_NEWER_REFERENCE_EXT)
        return wrong_type(r, p, "a reference");
    if (need(r, p + 1, 2, "reference length") < 0)
        return -1;
    n = get16(r->buf + p + 1);
    if (n > ETF_MAX_REF_WORDS)
        return FAIL(r, ETF_E_REF, p + 1,
                    "reference at byte %zu has %u words (max 5)", p, n);
    p += 3;
    if (node_at(r, &p, &ref->node) < 0)
        return -1;
    cr = tag == TAG_NEWER_REFERENCE_EXT ? 4 : 1;
    if (need(r, p, cr + 4 * (size_t)n, "reference") < 0)
        return -1;
    ref->creation = cr == 4 ? get32(r->buf + p) : r->buf[p];
    if (cr == 1 && ref->creation > 3)
        return old_creation(r, p);
    p += cr;
    ref->len = n;
    for (i = 0; i < n; i++, p += 4)
        ref->id[i] = get32(r->buf + p);
    /* The old one-byte-creation form holds 18 bits in its first word. */
    if (cr == 1 && n > 0 && ref->id[0] >= OLD_REF_WORD0_LIMIT)
        return FAIL(r, ETF_E_REF, p - 4 * (size_t)n,
                    "reference number at byte %zu is over 18 bits",
                    p - 4 * (size_t)n);
    r->pos = p;
    return 0;
}

int
etf_read_export(etf_reader *r, etf_atomv *module, etf_atomv *function,
                uint32_t *arity)
{
    size_t p = r->pos;
    etf_intv a;

    if (need(r, p, 1, "export") < 0)
        return -1;
    if (r->buf[p] != TAG_EXPORT_EXT)
        return wrong_type(r, p, "an export fun");
    p++;
    if (atom_at(r, &p, module) < 0 || atom_at(r, &p, function) < 0)
        return -1;
    /* The BEAM takes any non-negative small integer as the arity. */
    if (integer_at(r, &p, &a) < 0)
        return -1;
    if (a.big || a.i < 0 || a.i > UINT32_MAX)
        return FAIL(r, ETF_E_RANGE, r->pos,
                    "export arity at byte %zu is not a small non-negative "
                    "integer",
                    r->pos);
    *arity = (uint32_t)a.i;
    r->pos = p;
    return 0;
}

int
etf_read_fun(etf_reader *r, etf_funv *fun)
{
    size_t p = r->pos;

    if (need(r, p, 1, "fun") < 0)
        return -1;
    fun->creator_is_term = false;
    if (r->buf[p] != TAG_NEW_FUN_EXT)
        return wrong_type(r, p, "a fun");
    if (need(r, p + 1, 4 + 1 + 16 + 4 + 4, "fun header") < 0)
        return -1;
    p++;
    fun->size = get32(r->buf + p);
    fun->arity = r->buf[p + 4];
    memcpy(fun->uniq, r->buf + p + 5, 16);
    fun->index = get32(r->buf + p + 21);
    fun->numfree = get32(r->buf + p + 25);
    p += 29;
    if (atom_at(r, &p, &fun->module) < 0 ||
        integer_at(r, &p, &fun->old_index) < 0 ||
        integer_at(r, &p, &fun->old_uniq) < 0)
        return -1;
    /* The creator is a pid, but the BEAM decodes any term there. */
    fun->creator_is_term =
        p < r->len && r->buf[p] != TAG_NEW_PID_EXT && r->buf[p] != TAG_PID_EXT;
    if (!fun->creator_is_term && pid_at(r, &p, &fun->pid) < 0)
        return -1;
    if (need_elems(r, p, (uint64_t)fun->numfree + fun->creator_is_term, 1,
                   "fun free variables") < 0)
        return -1;
    r->pos = p;
    return 0;
}

int
etf_read_local(etf_reader *r, const uint8_t **out, size_t *len)
{
    size_t p = r->pos;

    if (need(r, p, 1, "local term") < 0)
        return -1;
    if (r->buf[p] != TAG_LOCAL_EXT)
        return wrong_type(r, p, "a LOCAL_EXT term");
    if (!r->allow_local)
        return FAIL(r, ETF_E_TAG, p,
                    "LOCAL_EXT at byte %zu: only the node that made it can "
                    "read it",
                    p);
    *out = r->buf + p + 1;
    *len = r->len - p - 1;
    r->pos = r->len;
    return 0;
}

/* Skip the term at r, adding the terms it holds to *pending; any term,
 * and every error. whole: this term is the whole term being skipped. */
static int
skip_any(etf_reader *r, uint64_t *pending, bool whole)
{
    etf_type t;
    etf_intv iv;
    etf_atomv av;
    etf_pidv pv;
    etf_portv ov;
    etf_refv rv;
    etf_funv fv;
    const uint8_t *bp;
    size_t bl;
    unsigned bits;
    uint32_t n;
    double d;
    int rc;

    if (etf_peek(r, &t) < 0)
        return -1;
    switch (t) {
    case ETF_T_INTEGER:
        return etf_read_integer(r, &iv);
    case ETF_T_FLOAT:
        return etf_read_double(r, &d);
    case ETF_T_ATOM:
        return etf_read_atom(r, &av);
    case ETF_T_TUPLE:
        if ((rc = etf_read_tuple_header(r, &n)) == 0)
            *pending += n;
        return rc;
    case ETF_T_NIL:
        return etf_read_nil(r);
    case ETF_T_STRING:
        return etf_read_string(r, &bp, &bl);
    case ETF_T_LIST:
        if ((rc = etf_read_list_header(r, &n)) == 0)
            *pending += (uint64_t)n + 1;
        return rc;
    case ETF_T_BINARY:
        return etf_read_binary(r, &bp, &bl, &bits);
    case ETF_T_MAP:
        if ((rc = etf_read_map_header(r, &n)) == 0)
            *pending += 2 * (uint64_t)n;
        return rc;
    case ETF_T_PID:
        return etf_read_pid(r, &pv);
    case ETF_T_PORT:
        return etf_read_port(r, &ov);
    case ETF_T_REF:
        return etf_read_ref(r, &rv);
    case ETF_T_EXPORT:
        return etf_read_export(r, &av, &av, &n);
    case ETF_T_FUN:
        rc = etf_read_fun(r, &fv);
        if (rc == 0)
            *pending += (uint64_t)fv.numfree + fv.creator_is_term;
        return rc;
    case ETF_T_LOCAL:
        /* Its payload runs to the end of the input: only a whole term. */
        if (!whole)
            return FAIL(r, ETF_E_TAG, r->pos,
                        "LOCAL_EXT at byte %zu inside a term: it can only "
                        "be a whole term",
                        r->pos);
        return etf_read_local(r, &bp, &bl);
    default:
        return FAIL(r, ETF_E_TAG, r->pos,
                    "compressed term at byte %zu inside a term", r->pos);
    }
}

/*
 * skip_any for the common terms, read straight from the buffer. It only
 * takes the way where the term is well formed: anything else goes to
 * skip_any, which reads the term again and reports the error. Returns the
 * bytes the term takes, 0 for skip_any.
 */
static inline size_t
skip_common(const uint8_t *b, size_t left, uint64_t *pending)
{
    uint64_t bits, n;
    double d;

    if (left < 2)
        return 0;
    switch (b[0]) {
    case TAG_SMALL_INTEGER_EXT:
        return 2;
    case TAG_INTEGER_EXT:
        return left >= 5 ? 5 : 0;
    case TAG_SMALL_BIG_EXT:
        return left >= 3 && left - 3 >= b[1] ? 3 + (size_t)b[1] : 0;
    case TAG_NEW_FLOAT_EXT:
        if (left < 9)
            return 0;
        bits = get64(b + 1);
        memcpy(&d, &bits, sizeof(d));
        return isfinite(d) ? 9 : 0;
    case TAG_SMALL_ATOM_UTF8_EXT:
    case TAG_ATOM_UTF8_EXT:
    case TAG_SMALL_ATOM_EXT:
    case TAG_ATOM_EXT: {
        etf_atomv av;

        return etf_atom_common(b, left, &av);
    }
    case TAG_SMALL_TUPLE_EXT:
        /* each element takes at least a byte */
        if (left - 2 < b[1])
            return 0;
        *pending += b[1];
        return 2;
    case TAG_NIL_EXT:
        return 1;
    case TAG_STRING_EXT:
        if (left < 3 || left - 3 < (n = get16(b + 1)))
            return 0;
        return 3 + n;
    case TAG_LIST_EXT:
        /* the elements and the tail */
        if (left < 5 || left - 5 < (n = get32(b + 1)) + 1)
            return 0;
        *pending += n + 1;
        return 5;
    case TAG_BINARY_EXT:
        if (left < 5 || left - 5 < (n = get32(b + 1)))
            return 0;
        return 5 + n;
    case TAG_MAP_EXT:
        if (left < 5 || (left - 5) / 2 < (n = get32(b + 1)))
            return 0;
        *pending += 2 * n;
        return 5;
    }
    return 0;
}

int
etf_skip(etf_reader *r)
{
    size_t start = r->pos, n;
    uint64_t pending = 1; /* terms still to skip */

    /* Every compound term adds its children to the count; each child takes
     * at least one byte, which the header reads have checked. */
    while (pending > 0) {
        pending--;
        n = skip_common(r->buf + r->pos, r->len - r->pos, &pending);
        if (n > 0)
            r->pos += n;
        else if (skip_any(r, &pending, r->pos == start) < 0)
            goto fail;
        /* Cheap bound: what is still pending cannot fit what is left. */
        if (pending > r->len - r->pos) {
            FAIL(r, ETF_E_LENGTH, r->pos,
                 "%llu terms still expected at byte %zu, %zu bytes left",
                 (unsigned long long)pending, r->pos, r->len - r->pos);
            goto fail;
        }
    }
    return 0;
fail:
    r->pos = start;
    return -1;
}

int
etf_read_compressed_size(etf_reader *r, uint32_t *usize)
{
    size_t p = r->pos;

    if (need(r, p, 1, "compressed term") < 0)
        return -1;
    if (r->buf[p] != TAG_COMPRESSED)
        return wrong_type(r, p, "a compressed term");
    if (need(r, p + 1, 4, "compressed size") < 0)
        return -1;
    *usize = get32(r->buf + p + 1);
    return 0;
}

int
etf_inflate(etf_reader *r, void *out, uint32_t usize)
{
    size_t p = r->pos + 5;
    z_stream zs;
    uint32_t claimed;
    int zr;
    uint8_t extra;

    if (etf_read_compressed_size(r, &claimed) < 0)
        return -1;
    if (claimed != usize)
        return FAIL(r, ETF_E_ARG, r->pos, "inflate buffer of %u bytes for %u",
                    usize, claimed);
    memset(&zs, 0, sizeof(zs));
    if (inflateInit(&zs) != Z_OK)
        return FAIL(r, ETF_E_NOMEM, r->pos, "zlib init failed");
    zs.next_in = (Bytef *)(uintptr_t)(r->buf + p);
    zs.avail_in = (uInt)(r->len - p > UINT32_MAX ? UINT32_MAX : r->len - p);
    zs.next_out = out;
    zs.avail_out = usize;
    zr = inflate(&zs, Z_FINISH);
    if (zr != Z_STREAM_END && zs.avail_out == 0 &&
        (zr == Z_OK || zr == Z_BUF_ERROR)) {
        /* Output full but the stream goes on: it must end right here. */
        zs.next_out = &extra;
        zs.avail_out = 1;
        zr = inflate(&zs, Z_FINISH);
        if (zs.avail_out == 0) {
            inflateEnd(&zs);
            return FAIL(r, ETF_E_COMPRESSED, r->pos,
                        "compressed term at byte %zu inflates to more than "
                        "its size %u",
                        r->pos, usize);
        }
    }
    if (zr != Z_STREAM_END) {
        bool cut = zs.avail_in == 0 && (zr == Z_BUF_ERROR || zr == Z_OK);

        inflateEnd(&zs);
        if (cut)
            return FAIL(r, ETF_E_TRUNCATED, r->pos,
                        "compressed term at byte %zu is cut short", r->pos);
        return FAIL(r, ETF_E_COMPRESSED, r->pos,
                    "compressed term at byte %zu is not a zlib stream", r->pos);
    }
    if (zs.total_out != usize) {
        inflateEnd(&zs);
        return FAIL(r, ETF_E_COMPRESSED, r->pos,
                    "compressed term at byte %zu inflates to %lu bytes, "
                    "not %u",
                    r->pos, zs.total_out, usize);
    }
    r->pos = p + zs.total_in;
    inflateEnd(&zs);
    return 0;
}

size_t
etf_atom_utf8(const etf_atomv *a, char *out)
{
    if (!a->latin1) {
        memcpy(out, a->p, a->len);
        return a->len;
    }
    return utf8_from_latin1((const uint8_t *)a->p, a->len, (uint8_t *)out);
}

int
etf_read_dist_header(etf_reader *r, etf_atom_cache *cache, etf_atom_refs *refs)
{
    size_t p = r->pos, flags_at, flen, i, len;
    unsigned nrefs, nib, seg, idx;
    bool is_new, long_atoms;
    char *text;
    uint8_t seen[ETF_ATOM_CACHE_SIZE / 8];

    if (need(r, p, 2, "distribution header") < 0)
        return -1;
    if (r->buf[p] != TAG_DIST_HEADER)
        return wrong_type(r, p, "a distribution header");
    nrefs = r->buf[p + 1];
    p += 2;
    refs->count = 0;
    if (nrefs == 0) {
        r->pos = p;
        return 0;
    }
    flen = nrefs / 2 + 1;
    if (need(r, p, flen, "distribution header flags") < 0)
        return -1;
    flags_at = p;
    p += flen;
    /* The nibble after the last reference holds the LongAtoms bit. */
    nib = r->buf[flags_at + nrefs / 2];
    nib = (nrefs & 1) ? nib >> 4 : nib & 0x0F;
    long_atoms = (nib & 1) != 0;
    memset(seen, 0, sizeof(seen));
    for (i = 0; i < nrefs; i++) {
        nib = r->buf[flags_at + i / 2];
        nib = (i & 1) ? nib >> 4 : nib & 0x0F;
        is_new = (nib & 8) != 0;
        seg = nib & 7;
        if (need(r, p, 1, "atom cache index") < 0)
            return -1;
        idx = seg * 256 + r->buf[p];
        /* A slot once per header (OTP's encoder never repeats one): a
         * new entry for a slot an earlier reference points at would
         * free that reference's text. */
        if (seen[idx / 8] & (1u << (idx % 8)))
            return FAIL(r, ETF_E_CACHE, p,
                        "atom cache slot %u at byte %zu appears twice in "
                        "one header",
                        idx, p);
        seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
        p++;
        if (is_new) {
            if (need(r, p, long_atoms ? 2 : 1, "atom cache length") < 0)
                return -1;
            len = long_atoms ? get16(r->buf + p) : r->buf[p];
            p += long_atoms ? 2 : 1;
            if (need(r, p, len, "atom cache text") < 0)
                return -1;
            if (len > ETF_MAX_ATOM_BYTES || !utf8_valid(r->buf + p, len, NULL))
                return FAIL(r, ETF_E_UTF8, p,
                            "atom cache entry at byte %zu is not a UTF-8 "
                            "atom",
                            p);
            text = malloc(len + 1);
            if (text == NULL)
                return FAIL(r, ETF_E_NOMEM, p, "out of memory");
            memcpy(text, r->buf + p, len);
            text[len] = '\0';
            free(cache->text[idx]);
            cache->text[idx] = text;
            cache->len[idx] = (uint16_t)len;
            p += len;
        } else if (cache->text[idx] == NULL) {
            return FAIL(r, ETF_E_CACHE, p - 1,
                        "atom cache slot %u at byte %zu was never set", idx,
                        p - 1);
        }
        refs->ref[i].p = cache->text[idx];
        refs->ref[i].len = cache->len[idx];
    }
    refs->count = nrefs;
    r->pos = p;
    return 0;
}

void
etf_atom_cache_clear(etf_atom_cache *cache)
{
    size_t i;

    for (i = 0; i < ETF_ATOM_CACHE_SIZE; i++) {
        free(cache->text[i]);
        cache->text[i] = NULL;
        cache->len[i] = 0;
    }
}
