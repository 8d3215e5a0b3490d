/*
 * Encode a term tree, iteratively, in the forms OTP's term_to_binary
 * chooses, so that our bytes match the BEAM's for the same term.
 */
#include <math.h>
#include <stdlib.h>
#include <zlib.h>

#include "etf_int.h"

struct eframe {
    const etf_term *elems;
    uint32_t count;
    uint32_t next;
    size_t size_at; /* NEW_FUN_EXT: where its Size field is, else SIZE_MAX */
};

#define INLINE_EFRAMES 32
/* A creator that is not a pid is encoded by a nested call: bound them. */
#define MAX_NESTED_CREATORS 64

struct encoder {
    etf_writer *w;
    unsigned nested;
    struct eframe *stack;
    size_t depth, cap;
    struct eframe inline_stack[INLINE_EFRAMES];
};

static int
epush(struct encoder *e, const etf_term *elems, uint32_t count, size_t size_at)
{
    struct eframe *f;
    size_t ncap;

    if (e->depth == e->cap) {
        ncap = e->cap * 2;
        if (e->stack == e->inline_stack) {
            f = malloc(ncap * sizeof(*f));
            if (f != NULL)
                memcpy(f, e->stack, e->cap * sizeof(*f));
        } else
            f = realloc(e->stack, ncap * sizeof(*f));
        if (f == NULL)
            return etf_fail(&e->w->err, ETF_E_NOMEM, e->w->pos,
                            "out of memory");
        e->stack = f;
        e->cap = ncap;
    }
    f = &e->stack[e->depth++];
    f->elems = elems;
    f->count = count;
    f->next = 0;
    f->size_at = size_at;
    return 0;
}

static int
atom(etf_writer *w, const etf_term *t)
{
    if (t->kind != ETF_ATOM)
        return etf_fail(&w->err, ETF_E_TYPE, w->pos, "expected an atom");
    return etf_write_atom(w, t->v.str, t->len);
}

static int
integer(etf_writer *w, const etf_term *t)
{
    if (t->kind == ETF_INT)
        return etf_write_int64(w, t->v.i);
    if (t->kind == ETF_BIG)
        return etf_write_bignum(w, t->aux != 0, t->v.bytes, t->len);
    return etf_fail(&w->err, ETF_E_TYPE, w->pos, "expected an integer");
}

/* A fixed buffer that ran out keeps counting: carry on to measure. */
#define CHECK(w, expr)                                                         \
    do {                                                                       \
        if ((expr) < 0 && !(w)->full)                                          \
            return -1;                                                         \
    } while (0)

static int encode_tree(etf_writer *w, const etf_term *t, unsigned nested);

static int
fun_header(struct encoder *e, const etf_term *t)
{
    etf_writer *w = e->w;
    const etf_fun *fn = t->v.fun;
    const etf_pid *pid;
    uint8_t head[1 + 4 + 1 + 16 + 4 + 4];
    size_t size_at;

    if (fn->pid.kind != ETF_PID && e->nested >= MAX_NESTED_CREATORS)
        return etf_fail(&w->err, ETF_E_DEPTH, w->pos,
                        "funs whose creators are funs, nested too deep");
    head[0] = TAG_NEW_FUN_EXT;
    put32(head + 1, 0); /* Size, patched when the free variables are done */
    head[5] = fn->arity;
    memcpy(head + 6, fn->uniq, 16);
    put32(head + 22, fn->index);
    put32(head + 26, fn->numfree);
    size_at = w->pos + 1;
    CHECK(w, etf_write_raw(w, head, sizeof(head)));
    CHECK(w, atom(w, &fn->module));
    CHECK(w, integer(w, &fn->old_index));
    CHECK(w, integer(w, &fn->old_uniq));
    if (fn->pid.kind == ETF_PID) {
        pid = fn->pid.v.pid;
        CHECK(w, etf_write_pid(w, pid->node.v.str, pid->node.len, pid->id,
                               pid->serial, pid->creation));
    } else {
        /* Any term came as the creator: write it back as it was. */
        CHECK(w, encode_tree(w, &fn->pid, e->nested + 1));
    }
    return epush(e, fn->free, fn->numfree, size_at);
}

/* Room for n bytes at the writer's position, or NULL: then the writer's
 * own functions take over (to grow, measure or fail). */
static inline uint8_t *
room(etf_writer *w, size_t n)
{
    if (w->buf == NULL || w->full || w->cap - w->pos < n)
        return NULL;
    return w->buf + w->pos;
}

/* A tag and a 32-bit count, straight into the buffer when it has room. */
static inline int
head32(etf_writer *w, uint8_t tag, uint32_t n)
{
    uint8_t *o = room(w, 5);
    uint8_t b[5];

    if (o == NULL) {
        b[0] = tag;
        put32(b + 1, n);
        return etf_write_raw(w, b, 5);
    }
    o[0] = tag;
    put32(o + 1, n);
    w->pos += 5;
    return 0;
}

/* encode_one for the common terms, written straight into the buffer when
 * it has room; returns 1 for what it leaves to encode_one. */
static inline int
encode_common(struct encoder *e, const etf_term *t)
{
    etf_writer *w = e->w;
    uint64_t bits;
    uint8_t *o;

    switch (t->kind) {
    case ETF_INT:
        if (t->v.i >= 0 && t->v.i <= 255 && (o = room(w, 2)) != NULL) {
            o[0] = TAG_SMALL_INTEGER_EXT;
            o[1] = (uint8_t)t->v.i;
            w->pos += 2;
            return 0;
        }
        if (t->v.i >= INT32_MIN && t->v.i <= INT32_MAX &&
            (o = room(w, 5)) != NULL) {
            o[0] = TAG_INTEGER_EXT;
            put32(o + 1, (uint32_t)(int32_t)t->v.i);
            w->pos += 5;
            return 0;
        }
        return etf_write_int64(w, t->v.i);
    case ETF_BIG:
        return etf_write_bignum(w, t->aux != 0, t->v.bytes, t->len);
    case ETF_ATOM:
        return etf_write_atom(w, t->v.str, t->len);
    case ETF_FLOAT:
        if (w->old_floats || !isfinite(t->v.f) || (o = room(w, 9)) == NULL)
            return 1;
        memcpy(&bits, &t->v.f, sizeof(bits));
        o[0] = TAG_NEW_FLOAT_EXT;
        put64(o + 1, bits);
        w->pos += 9;
        return 0;
    case ETF_NIL:
        if ((o = room(w, 1)) == NULL)
            return 1;
        o[0] = TAG_NIL_EXT;
        w->pos += 1;
        return 0;
    case ETF_TUPLE:
        if (t->len > 255 || (o = room(w, 2)) == NULL)
            return 1;
        o[0] = TAG_SMALL_TUPLE_EXT;
        o[1] = (uint8_t)t->len;
        w->pos += 2;
        return t->len ? epush(e, t->v.elems, t->len, SIZE_MAX) : 0;
    case ETF_LIST:
        if (t->len == 0)
            return 1;
        CHECK(w, head32(w, TAG_LIST_EXT, t->len));
        return epush(e, t->v.elems, t->len + 1, SIZE_MAX);
    case ETF_MAP:
        CHECK(w, head32(w, TAG_MAP_EXT, t->len));
        return t->len ? epush(e, t->v.elems, 2 * t->len, SIZE_MAX) : 0;
    case ETF_BINARY:
        if (t->aux != 8 || (o = room(w, 5 + (size_t)t->len)) == NULL)
            return 1;
        o[0] = TAG_BINARY_EXT;
        put32(o + 1, t->len);
        if (t->len > 0)
            memcpy(o + 5, t->v.bytes, t->len);
        w->pos += 5 + (size_t)t->len;
        return 0;
    case ETF_STRING:
        if (t->len == 0 || t->len > STRING_EXT_MAX ||
            (o = room(w, 3 + (size_t)t->len)) == NULL)
            return 1;
        o[0] = TAG_STRING_EXT;
        put16(o + 1, t->len);
        memcpy(o + 3, t->v.bytes, t->len);
        w->pos += 3 + (size_t)t->len;
        return 0;
    }
    return 1;
}

/* Write the head of t; containers push their elements. */
static int
encode_one(struct encoder *e, const etf_term *t)
{
    etf_writer *w = e->w;
    const etf_pid *pid;
    const etf_port *port;
    const etf_ref *ref;
    const etf_export *ex;
    int rc;

    if ((rc = encode_common(e, t)) <= 0)
        return rc;
    switch (t->kind) {
    case ETF_INT:
    case ETF_BIG:
        return integer(w, t);
    case ETF_FLOAT:
        return etf_write_double(w, t->v.f);
    case ETF_ATOM:
        return atom(w, t);
    case ETF_TUPLE:
        CHECK(w, etf_write_tuple_header(w, t->len));
        return t->len ? epush(e, t->v.elems, t->len, SIZE_MAX) : 0;
    case ETF_NIL:
        return etf_write_nil(w);
    case ETF_LIST:
        if (t->len == 0)
            return etf_fail(&w->err, ETF_E_LENGTH, w->pos,
                            "list term with no elements");
        CHECK(w, etf_write_list_header(w, t->len));
        return epush(e, t->v.elems, t->len + 1, SIZE_MAX);
    case ETF_STRING:
        return etf_write_string(w, t->v.bytes, t->len);
    case ETF_BINARY:
        return etf_write_bitbinary(w, t->v.bytes, t->len, t->aux);
    case ETF_MAP:
        CHECK(w, etf_write_map_header(w, t->len));
        return t->len ? epush(e, t->v.elems, 2 * t->len, SIZE_MAX) : 0;
    case ETF_PID:
        pid = t->v.pid;
        return etf_write_pid(w, pid->node.v.str, pid->node.len, pid->id,
                             pid->serial, pid->creation);
    case ETF_PORT:
        port = t->v.port;
        return etf_write_port(w, port->node.v.str, port->node.len, port->id,
                              port->creation);
    case ETF_REF:
        ref = t->v.ref;
        return etf_write_ref(w, ref->node.v.str, ref->node.len, ref->creation,
                             ref->id, ref->len);
    case ETF_EXPORT:
        ex = t->v.exp;
        return etf_write_export(w, ex->module.v.str, ex->module.len,
                                ex->function.v.str, ex->function.len,
                                ex->arity);
    case ETF_FUN:
        return fun_header(e, t);
    case ETF_LOCAL:
        /* Its payload runs to the end of the input: only a whole term. */
        if (e->depth != 0 || e->nested != 0)
            return etf_fail(&w->err, ETF_E_TAG, w->pos,
                            "a LOCAL_EXT term can only be a whole term, "
                            "not inside one");
        CHECK(w, etf_write_raw(w, (const uint8_t[]){TAG_LOCAL_EXT}, 1));
        return etf_write_raw(w, t->v.bytes, t->len);
    }
    return etf_fail(&w->err, ETF_E_TYPE, w->pos, "term of unknown kind %u",
                    t->kind);
}

/* Encode t without a version byte. */
static int
encode_tree(etf_writer *w, const etf_term *t, unsigned nested)
{
    struct encoder e;
    struct eframe *f;
    int rc = 0;

    e.w = w;
    e.nested = nested;
    e.depth = 0;
    e.stack = e.inline_stack;
    e.cap = INLINE_EFRAMES;
    for (;;) {
        if (encode_one(&e, t) < 0 && !w->full) {
            rc = -1;
            break;
        }
        for (;;) {
            if (e.depth == 0)
                goto done;
            f = &e.stack[e.depth - 1];
            if (f->next < f->count)
                break;
            if (f->size_at != SIZE_MAX && w->buf != NULL &&
                f->size_at + 4 <= w->cap)
                put32(w->buf + f->size_at, (uint32_t)(w->pos - f->size_at));
            e.depth--;
        }
        t = &f->elems[f->next++];
    }
done:
    if (e.stack != e.inline_stack)
        free(e.stack);
    if (rc == 0 && w->full)
        rc = -1;
    return rc;
}

/* Write 131, 80, size and the zlib stream of the uncompressed term when
 * that is smaller, else 131 and the term as it is. */
static int
encode_compressed(etf_writer *w, const etf_term *t, int level)
{
    etf_writer raw;
    uLongf zlen;
    uint8_t *z, head[6];
    int rc;

    if (etf_writer_init_dynamic(&raw, 256) < 0)
        return etf_fail(&w->err, ETF_E_NOMEM, w->pos, "out of memory");
    raw.utf8_atoms = w->utf8_atoms;
    raw.old_floats = w->old_floats;
    if (encode_tree(&raw, t, 0) < 0) {
        w->err = raw.err;
        etf_writer_free(&raw);
        return -1;
    }
    if (raw.pos > UINT32_MAX) {
        etf_writer_free(&raw);
        return etf_fail(&w->err, ETF_E_LENGTH, w->pos, "term too large");
    }
    zlen = compressBound((uLong)raw.pos);
    z = malloc(zlen);
    if (z == NULL ||
        compress2(z, &zlen, raw.buf, (uLong)raw.pos, level) != Z_OK) {
        free(z);
        etf_writer_free(&raw);
        return etf_fail(&w->err, ETF_E_NOMEM, w->pos, "compression failed");
    }
    /* OTP keeps the compressed form when it is no longer. */
    if (zlen + 5 <= raw.pos) {
        head[0] = ETF_VERSION_MAGIC;
        head[1] = TAG_COMPRESSED;
        put32(head + 2, (uint32_t)raw.pos);
        rc = etf_write_raw(w, head, 6);
        if (rc == 0)
            rc = etf_write_raw(w, z, zlen);
    } else {
        rc = etf_write_version(w);
        if (rc == 0)
            rc = etf_write_raw(w, raw.buf, raw.pos);
    }
    free(z);
    etf_writer_free(&raw);
    return rc;
}

int
etf_encode(const etf_term *t, etf_writer *w, const etf_encode_opts *opts)
{
    static const etf_encode_opts defaults;
    bool utf8 = w->utf8_atoms, old = w->old_floats;
    int rc;

    if (opts == NULL)
        opts = &defaults;
    if (opts->compress < 0 || opts->compress > 9)
        return etf_fail(&w->err, ETF_E_ARG, w->pos, "bad compression level");
    w->utf8_atoms = opts->utf8_atoms;
    w->old_floats = opts->text_floats;
    if (opts->compress > 0 && !opts->no_version)
        rc = encode_compressed(w, t, opts->compress);
    else if (!opts->no_version && etf_write_version(w) < 0 && !w->full)
        rc = -1;
    else
        rc = encode_tree(w, t, 0);
    w->utf8_atoms = utf8;
    w->old_floats = old;
    return rc;
}

uint8_t *
etf_encode_alloc(const etf_term *t, const etf_encode_opts *opts, size_t *len,
                 etf_error *err)
{
    etf_writer w;

    if (etf_writer_init_dynamic(&w, 256) < 0) {
        if (err != NULL)
            *err = w.err;
        return NULL;
    }
    if (etf_encode(t, &w, opts) < 0) {
        if (err != NULL)
            *err = w.err;
        etf_writer_free(&w);
        return NULL;
    }
    return etf_writer_release(&w, len);
}
