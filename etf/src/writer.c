/*
 * The cursor writer: appends encoded pieces to a fixed buffer, a growing
 * heap buffer, or nowhere (measuring).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "etf_int.h"

void
etf_writer_init(etf_writer *w, void *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = buf != NULL ? cap : 0;
}

int
etf_writer_init_dynamic(etf_writer *w, size_t initial)
{
    memset(w, 0, sizeof(*w));
    if (initial < 64)
        initial = 64;
    w->buf = malloc(initial);
    if (w->buf == NULL)
        return etf_fail(&w->err, ETF_E_NOMEM, 0, "out of memory");
    w->cap = initial;
    w->grow = true;
    return 0;
}

void
etf_writer_free(etf_writer *w)
{
    if (w->grow)
        free(w->buf);
    w->buf = NULL;
    w->cap = w->pos = 0;
}

uint8_t *
etf_writer_release(etf_writer *w, size_t *len)
{
    uint8_t *p = w->buf;

    if (len != NULL)
        *len = w->pos;
    w->buf = NULL;
    w->cap = w->pos = 0;
    return p;
}

/* Make room for n more bytes; returns where to write them, or NULL when
 * only measuring or when a fixed buffer is full (pos still advances). */
static uint8_t *
reserve(etf_writer *w, size_t n, int *rc)
{
    size_t want, cap;
    uint8_t *nb;

    *rc = 0;
    if (w->buf == NULL && !w->grow) {
        w->pos += n;
        return NULL;
    }
    if (w->cap - w->pos < n || w->full) {
        if (!w->grow) {
            if (!w->full)
                etf_fail(&w->err, ETF_E_SPACE, w->pos,
                         "buffer of %zu bytes is full", w->cap);
            w->full = true;
            w->pos += n;
            *rc = -1;
            return NULL;
        }
        if (n > SIZE_MAX / 2 - w->pos) {
            *rc = etf_fail(&w->err, ETF_E_NOMEM, w->pos, "out of memory");
            return NULL;
        }
        want = w->pos + n;
        cap = w->cap;
        while (cap < want)
            cap *= 2;
        nb = realloc(w->buf, cap);
        if (nb == NULL) {
            *rc = etf_fail(&w->err, ETF_E_NOMEM, w->pos, "out of memory");
            return NULL;
        }
        w->buf = nb;
        w->cap = cap;
    }
    nb = w->buf + w->pos;
    w->pos += n;
    return nb;
}

int
etf_write_raw(etf_writer *w, const void *p, size_t len)
{
    int rc;
    uint8_t *o = reserve(w, len, &rc);

    if (o != NULL && len > 0)
        memcpy(o, p, len);
    return rc;
}

/* Run a write; a fixed buffer that is full keeps counting, so go on. */
#define TRY(w, expr)                                                           \
    do {                                                                       \
        if ((expr) < 0 && !(w)->full)                                          \
            return -1;                                                         \
    } while (0)

/* Write a tag byte and a big-endian number of width 1, 2 or 4. */
static int
tag_n(etf_writer *w, uint8_t tag, uint32_t v, int width)
{
    int rc;
    uint8_t *o = reserve(w, 1 + (size_t)width, &rc);

    if (o == NULL)
        return rc;
    o[0] = tag;
    if (width == 1)
        o[1] = (uint8_t)v;
    else if (width == 2)
        put16(o + 1, v);
    else if (width == 4)
        put32(o + 1, v);
    return 0;
}

int
etf_write_version(etf_writer *w)
{
    return tag_n(w, ETF_VERSION_MAGIC, 0, 0);
}

int
etf_write_bignum(etf_writer *w, bool negative, const uint8_t *d, size_t n)
{
    uint64_t m = 0;
    size_t i;
    int rc;
    uint8_t *o;

    while (n > 0 && d[n - 1] == 0)
        n--;
    if (n <= 4) {
        for (i = n; i > 0; i--)
            m = (m << 8) | d[i - 1];
        /* Values that fit INTEGER_EXT go there, as the BEAM does. */
        if (!negative && m <= 255)
            return tag_n(w, TAG_SMALL_INTEGER_EXT, (uint32_t)m, 1);
        if (!negative && m <= INT32_MAX)
            return tag_n(w, TAG_INTEGER_EXT, (uint32_t)m, 4);
        if (negative && m <= (uint64_t)INT32_MAX + 1)
            return tag_n(w, TAG_INTEGER_EXT, (uint32_t)(-(int64_t)m), 4);
    }
    if (n > ETF_MAX_BIG_BYTES)
        return etf_fail(&w->err, ETF_E_BIG, w->pos,
                        "bignum of %zu bytes is too large", n);
    if (n <= 255) {
        o = reserve(w, 3 + n, &rc);
        if (o == NULL)
            return rc;
        o[0] = TAG_SMALL_BIG_EXT;
        o[1] = (uint8_t)n;
        o[2] = negative;
        memcpy(o + 3, d, n);
        return 0;
    }
    o = reserve(w, 6 + n, &rc);
    if (o == NULL)
        return rc;
    o[0] = TAG_LARGE_BIG_EXT;
    put32(o + 1, (uint32_t)n);
    o[5] = negative;
    memcpy(o + 6, d, n);
    return 0;
}

int
etf_write_uint64(etf_writer *w, uint64_t v)
{
    uint8_t d[8];
    size_t i;

    for (i = 0; i < 8; i++)
        d[i] = (uint8_t)(v >> (8 * i));
    return etf_write_bignum(w, false, d, 8);
}

int
etf_write_int64(etf_writer *w, int64_t v)
{
    uint64_t m;
    uint8_t d[8];
    size_t i;

    if (v >= 0 && v <= 255)
        return tag_n(w, TAG_SMALL_INTEGER_EXT, (uint32_t)v, 1);
    if (v >= INT32_MIN && v <= INT32_MAX)
        return tag_n(w, TAG_INTEGER_EXT, (uint32_t)(int32_t)v, 4);
    m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    for (i = 0; i < 8; i++)
        d[i] = (uint8_t)(m >> (8 * i));
    return etf_write_bignum(w, v < 0, d, 8);
}

int
etf_write_double(etf_writer *w, double v)
{
    uint64_t bits;
    char text[64];
    int rc;
    uint8_t *o;

    if (!isfinite(v))
        return etf_fail(&w->err, ETF_E_FLOAT, w->pos, "float is not finite");
    if (w->old_floats) {
        o = reserve(w, 1 + FLOAT_EXT_BYTES, &rc);
        if (o == NULL)
            return rc;
        memset(o, 0, 1 + FLOAT_EXT_BYTES);
        o[0] = TAG_FLOAT_EXT;
        snprintf(text, sizeof(text), "%.20e", v);
        memcpy(o + 1, text, strlen(text) < 31 ? strlen(text) : 31);
        return 0;
    }
    o = reserve(w, 9, &rc);
    if (o == NULL)
        return rc;
    memcpy(&bits, &v, sizeof(bits));
    o[0] = TAG_NEW_FLOAT_EXT;
    put64(o + 1, bits);
    return 0;
}

int
etf_write_atom(etf_writer *w, const char *utf8, size_t len)
{
    const uint8_t *s = (const uint8_t *)utf8;
    size_t chars, i, n, cont;
    bool latin1;
    int rc;
    uint8_t *o, c, lead;

    if (!utf8_check(s, len, &chars, &latin1))
        return etf_fail(&w->err, ETF_E_UTF8, w->pos, "atom is not valid UTF-8");
    if (chars > ETF_MAX_ATOM_CHARS)
        return etf_fail(&w->err, ETF_E_ATOM, w->pos,
                        "atom of %zu characters (max 255)", chars);
    if (!w->utf8_atoms && latin1) {
        /* ATOM_EXT with one Latin-1 byte per character. */
        o = reserve(w, 3 + chars, &rc);
        if (o == NULL)
            return rc;
        o[0] = TAG_ATOM_EXT;
        put16(o + 1, (uint32_t)chars);
        if (chars == len) {
            memcpy(o + 3, s, len);
            return 0;
        }
        /* Valid UTF-8 of U+0000..U+00FF: ASCII, or C2/C3 and a
         * continuation byte. A byte at a time and without a branch, which
         * random text would mispredict: a continuation byte steps back
         * over its lead's slot and writes the character there. */
        for (i = 0, n = 3, lead = 0; i < len; i++) {
            c = s[i];
            cont = (c & 0xC0) == 0x80;
            n -= cont;
            o[n++] = cont ? (uint8_t)(((lead & 3) << 6) | (c & 0x3F)) : c;
            lead = c;
        }
        return 0;
    }
    if (len <= 255) {
        o = reserve(w, 2 + len, &rc);
        if (o == NULL)
            return rc;
        o[0] = TAG_SMALL_ATOM_UTF8_EXT;
        o[1] = (uint8_t)len;
        memcpy(o + 2, s, len);
        return 0;
    }
    o = reserve(w, 3 + len, &rc);
    if (o == NULL)
        return rc;
    o[0] = TAG_ATOM_UTF8_EXT;
    put16(o + 1, (uint32_t)len);
    memcpy(o + 3, s, len);
    return 0;
}

int
etf_write_tuple_header(etf_writer *w, uint32_t arity)
{
    if (arity <= 255)
        return tag_n(w, TAG_SMALL_TUPLE_EXT, arity, 1);
    return tag_n(w, TAG_LARGE_TUPLE_EXT, arity, 4);
}

int
etf_write_nil(etf_writer *w)
{
    return tag_n(w, TAG_NIL_EXT, 0, 0);
}

int
etf_write_list_header(etf_writer *w, uint32_t n)
{
    return tag_n(w, TAG_LIST_EXT, n, 4);
}

int
etf_write_string(etf_writer *w, const uint8_t *p, size_t len)
{
    size_t i;

    if (len == 0)
        return etf_write_nil(w);
    if (len <= STRING_EXT_MAX) {
        TRY(w, tag_n(w, TAG_STRING_EXT, (uint32_t)len, 2));
        return etf_write_raw(w, p, len);
    }
    if (len > UINT32_MAX)
        return etf_fail(&w->err, ETF_E_LENGTH, w->pos, "list too long");
    TRY(w, etf_write_list_header(w, (uint32_t)len));
    for (i = 0; i < len; i++)
        TRY(w, tag_n(w, TAG_SMALL_INTEGER_EXT, p[i], 1));
    return etf_write_nil(w);
}

int
etf_write_binary(etf_writer *w, const void *p, size_t len)
{

    if (len > UINT32_MAX)
        return etf_fail(&w->err, ETF_E_LENGTH, w->pos, "binary too long");
    TRY(w, tag_n(w, TAG_BINARY_EXT, (uint32_t)len, 4));
    return etf_write_raw(w, p, len);
}

int
etf_write_bitbinary(etf_writer *w, const void *p, size_t len, unsigned bits)
{
    int rc;
    uint8_t *o;

    if (bits == 8 || len == 0)
        return etf_write_binary(w, p, len);
    if (bits < 1 || bits > 8)
        return etf_fail(&w->err, ETF_E_BITS, w->pos, "bad bit count %u", bits);
    if (len > UINT32_MAX)
        return etf_fail(&w->err, ETF_E_LENGTH, w->pos, "binary too long");
    o = reserve(w, 6 + len, &rc);
    if (o == NULL)
        return rc;
    o[0] = TAG_BIT_BINARY_EXT;
    put32(o + 1, (uint32_t)len);
    o[5] = (uint8_t)bits;
    memcpy(o + 6, p, len);
    o[5 + len] &= (uint8_t)(0xFF << (8 - bits));
    return 0;
}

int
etf_write_map_header(etf_writer *w, uint32_t arity)
{
    return tag_n(w, TAG_MAP_EXT, arity, 4);
}

int
etf_write_pid(etf_writer *w, const char *node, size_t node_len, uint32_t id,
              uint32_t serial, uint32_t creation)
{
    int rc;
    uint8_t *o;

    TRY(w, tag_n(w, TAG_NEW_PID_EXT, 0, 0));
    TRY(w, etf_write_atom(w, node, node_len));
    o = reserve(w, 12, &rc);
    if (o == NULL)
        return rc;
    put32(o, id);
    put32(o + 4, serial);
    put32(o + 8, creation);
    return w->full ? -1 : 0;
}

int
etf_write_port(etf_writer *w, const char *node, size_t node_len, uint64_t id,
               uint32_t creation)
{
    /* OTP 25 writes NEW_PORT_EXT only for 28-bit port numbers. */
    bool v4 = id > 0x0FFFFFFFu;
    int rc;
    uint8_t *o;

    TRY(w, tag_n(w, v4 ? TAG_V4_PORT_EXT : TAG_NEW_PORT_EXT, 0, 0));
    TRY(w, etf_write_atom(w, node, node_len));
    o = reserve(w, v4 ? 12 : 8, &rc);
    if (o == NULL)
        return rc;
    if (v4) {
        put64(o, id);
        put32(o + 8, creation);
    } else {
        put32(o, (uint32_t)id);
        put32(o + 4, creation);
    }
    return w->full ? -1 : 0;
}

int
etf_write_ref(etf_writer *w, const char *node, size_t node_len,
              uint32_t creation, const uint32_t *id, uint32_t len)
{
    uint32_t i;
    int rc;
    uint8_t *o;

    if (len > ETF_MAX_REF_WORDS)
        return etf_fail(&w->err, ETF_E_REF, w->pos,
                        "reference of %u words (max 5)", len);
    TRY(w, tag_n(w, TAG_NEWER_REFERENCE_EXT, len, 2));
    TRY(w, etf_write_atom(w, node, node_len));
    o = reserve(w, 4 + 4 * (size_t)len, &rc);
    if (o == NULL)
        return rc;
    put32(o, creation);
    for (i = 0; i < len; i++)
        put32(o + 4 + 4 * i, id[i]);
    return w->full ? -1 : 0;
}

int
etf_write_export(etf_writer *w, const char *module, size_t module_len,
                 const char *function, size_t function_len, uint32_t arity)
{

    TRY(w, tag_n(w, TAG_EXPORT_EXT, 0, 0));
    TRY(w, etf_write_atom(w, module, module_len));
    TRY(w, etf_write_atom(w, function, function_len));
    return etf_write_int64(w, arity);
}
