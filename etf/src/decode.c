/*
 * Decode a whole term into a tree. Iterative: an explicit stack of
 * containers being filled, so depth costs heap, bounded by max_depth,
 * never C stack.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "etf_int.h"

struct frame {
    etf_term *cur, *stop; /* the parent's slots, to go back to */
    etf_term *owner;      /* the container being filled */
    size_t start;         /* where it began, for error messages */
};

/* Frames kept inside the decoder before the stack moves to the heap. */
#define INLINE_FRAMES 32

struct decoder {
    etf_arena *a;
    etf_reader r;
    struct frame *stack;
    size_t depth, cap, max_depth;
    struct frame inline_stack[INLINE_FRAMES];
    size_t base; /* offset of r.buf in the caller's input, for messages */
    bool borrow; /* point into the input instead of copying */
    etf_term *cur, *stop; /* the next slot to fill and the end of its
                           * container, while decode_any runs */
    etf_error *err;
};

static int
oom(struct decoder *d)
{
    return etf_fail(d->err, ETF_E_NOMEM, d->r.pos, "out of memory");
}

/* Copy the reader's error out, shifting positions into caller terms. */
static int
reader_fail(struct decoder *d)
{
    if (d->err != NULL) {
        *d->err = d->r.err;
        d->err->pos += d->base;
    }
    return -1;
}

/* The stack is full or as deep as allowed: grow it, or fail. */
static int
grow(struct decoder *d, size_t start)
{
    struct frame *f;
    size_t ncap;

    if (d->depth >= d->max_depth)
        return etf_fail(d->err, ETF_E_DEPTH, start + d->base,
                        "nesting deeper than %zu at byte %zu", d->max_depth,
                        start + d->base);
    ncap = d->cap * 2;
    if (d->stack == d->inline_stack) {
        f = malloc(ncap * sizeof(*f));
        if (f != NULL)
            memcpy(f, d->stack, d->cap * sizeof(*f));
    } else
        f = realloc(d->stack, ncap * sizeof(*f));
    if (f == NULL)
        return etf_fail(d->err, ETF_E_NOMEM, start + d->base, "out of memory");
    d->stack = f;
    d->cap = ncap;
    return 0;
}

/* Fill count slots at elems next, for owner; d->cur and d->stop, where
 * the parent goes on, are kept in a frame. */
static inline int
push(struct decoder *d, etf_term *owner, etf_term *elems, uint32_t count,
     size_t start)
{
    struct frame *f;

    if ((d->depth >= d->cap || d->depth >= d->max_depth) && grow(d, start) < 0)
        return -1;
    f = &d->stack[d->depth++];
    f->cur = d->cur;
    f->stop = d->stop;
    f->owner = owner;
    f->start = start;
    d->cur = elems;
    d->stop = elems + count;
    return 0;
}

/* Copy an atom's text into the arena as UTF-8. */
static int
set_atom(struct decoder *d, etf_term *t, const etf_atomv *av)
{
    size_t n = av->len;
    char *s;

    /* Latin-1 may double in UTF-8. */
    if ((s = arena_alloc(d->a, av->latin1 ? 2 * n + 1 : n + 1)) == NULL)
        return oom(d);
    if (av->latin1)
        n = utf8_from_latin1((const uint8_t *)av->p, n, (uint8_t *)s);
    else
        memcpy(s, av->p, n);
    s[n] = '\0';
    t->kind = ETF_ATOM;
    t->aux = 0;
    t->len = (uint32_t)n;
    t->v.str = s;
    return 0;
}

static int
set_integer(struct decoder *d, etf_term *t, const etf_intv *iv)
{
    if (!iv->big) {
        etf_set_int(t, iv->i);
        return 0;
    }
    if (etf_set_big(d->a, t, iv->sign, iv->digits, iv->ndigits) < 0)
        return oom(d);
    return 0;
}

static int
set_pid(struct decoder *d, etf_term *t, const etf_pidv *pv)
{
    etf_pid *pid = etf_set_pid(d->a, t);

    if (pid == NULL || set_atom(d, &pid->node, &pv->node) < 0)
        return oom(d);
    pid->id = pv->id;
    pid->serial = pv->serial;
    pid->creation = pv->creation;
    return 0;
}

/* Decode the term at the reader into *t; containers get their slots and a
 * frame, filled by later rounds. Every kind of term, and every error. */
static int
decode_any(struct decoder *d, etf_term *t)
{
    etf_reader *r = &d->r;
    size_t start, blen;
    etf_type type;
    etf_intv iv;
    etf_atomv av, fv;
    etf_pidv pv;
    etf_portv ov;
    etf_refv rv;
    etf_funv fn;
    const uint8_t *bp;
    unsigned bits;
    uint32_t n;
    etf_term *elems;
    void *copy;

again:
    start = r->pos;
    if (etf_peek(r, &type) < 0)
        return reader_fail(d);
    switch (type) {
    case ETF_T_INTEGER:
        if (etf_read_integer(r, &iv) < 0)
            return reader_fail(d);
        return set_integer(d, t, &iv);
    case ETF_T_FLOAT:
        t->kind = ETF_FLOAT;
        if (etf_read_double(r, &t->v.f) < 0)
            return reader_fail(d);
        return 0;
    case ETF_T_ATOM:
        if (etf_read_atom(r, &av) < 0)
            return reader_fail(d);
        return set_atom(d, t, &av);
    case ETF_T_TUPLE:
        if (etf_read_tuple_header(r, &n) < 0)
            return reader_fail(d);
        if ((elems = etf_set_tuple(d->a, t, n)) == NULL)
            return oom(d);
        return n > 0 ? push(d, t, elems, n, start) : 0;
    case ETF_T_NIL:
        if (etf_read_nil(r) < 0)
            return reader_fail(d);
        etf_set_nil(t);
        return 0;
    case ETF_T_STRING:
        if (etf_read_string(r, &bp, &blen) < 0)
            return reader_fail(d);
        if (d->borrow && blen > 0) {
            memset(t, 0, sizeof(*t));
            t->kind = ETF_STRING;
            t->len = (uint32_t)blen;
            t->v.bytes = bp;
            return 0;
        }
        if (etf_set_string(d->a, t, bp, blen) < 0)
            return oom(d);
        return 0;
    case ETF_T_LIST:
        if (etf_read_list_header(r, &n) < 0)
            return reader_fail(d);
        if (n == 0) /* LIST_EXT of no elements is its tail (as the BEAM) */
            goto again;
        if ((elems = etf_set_list(d->a, t, n)) == NULL)
            return oom(d);
        return push(d, t, elems, n + 1, start);
    case ETF_T_BINARY:
        if (etf_read_binary(r, &bp, &blen, &bits) < 0)
            return reader_fail(d);
        /* Borrowed unless unused bits must be cleared in a copy. */
        if (d->borrow &&
            (bits == 8 || blen == 0 || (bp[blen - 1] & (0xFF >> bits)) == 0)) {
            memset(t, 0, sizeof(*t));
            t->kind = ETF_BINARY;
            t->aux = (uint8_t)(blen == 0 ? 8 : bits);
            t->len = (uint32_t)blen;
            t->v.bytes = bp;
            return 0;
        }
        if (etf_set_bitstring(d->a, t, bp, blen, bits) < 0)
            return oom(d);
        return 0;
    case ETF_T_MAP:
        if (etf_read_map_header(r, &n) < 0)
            return reader_fail(d);
        if ((elems = etf_set_map(d->a, t, n)) == NULL)
            return oom(d);
        return n > 0 ? push(d, t, elems, 2 * n, start) : 0;
    case ETF_T_PID:
        if (etf_read_pid(r, &pv) < 0)
            return reader_fail(d);
        return set_pid(d, t, &pv);
    case ETF_T_PORT: {
        etf_port *port;

        if (etf_read_port(r, &ov) < 0)
            return reader_fail(d);
        if ((port = etf_set_port(d->a, t)) == NULL)
            return oom(d);
        port->id = ov.id;
        port->creation = ov.creation;
        return set_atom(d, &port->node, &ov.node);
    }
    case ETF_T_REF: {
        etf_ref *ref;

        if (etf_read_ref(r, &rv) < 0)
            return reader_fail(d);
        if ((ref = etf_set_ref(d->a, t)) == NULL)
            return oom(d);
        ref->creation = rv.creation;
        ref->len = rv.len;
        /* only the first len words were read */
        memcpy(ref->id, rv.id, rv.len * sizeof(ref->id[0]));
        return set_atom(d, &ref->node, &rv.node);
    }
    case ETF_T_EXPORT: {
        etf_export *ex;

        if (etf_read_export(r, &av, &fv, &n) < 0)
            return reader_fail(d);
        if ((ex = etf_set_export(d->a, t)) == NULL)
            return oom(d);
        ex->arity = n;
        if (set_atom(d, &ex->module, &av) < 0)
            return -1;
        return set_atom(d, &ex->function, &fv);
    }
    case ETF_T_FUN: {
        etf_fun *fun;

        if (etf_read_fun(r, &fn) < 0)
            return reader_fail(d);
        if ((fun = etf_set_fun(d->a, t, fn.creator_is_term ? 0 : fn.numfree)) ==
            NULL)
            return oom(d);
        fun->arity = fn.arity;
        memcpy(fun->uniq, fn.uniq, 16);
        fun->index = fn.index;
        if (set_atom(d, &fun->module, &fn.module) < 0 ||
            set_integer(d, &fun->old_index, &fn.old_index) < 0 ||
            set_integer(d, &fun->old_uniq, &fn.old_uniq) < 0)
            return -1;
        if (fn.creator_is_term) {
            /* Creator and free variables in one frame; the creator is
             * moved to fun->pid when the frame is done. */
            etf_term *slots = etf_arena_alloc(d->a, ((size_t)fn.numfree + 1) *
                                                        sizeof(etf_term));
            if (slots == NULL)
                return oom(d);
            memset(slots, 0, ((size_t)fn.numfree + 1) * sizeof(etf_term));
            fun->numfree = fn.numfree;
            fun->free = slots + 1;
            return push(d, t, slots, fn.numfree + 1, start);
        }
        if (set_pid(d, &fun->pid, &fn.pid) < 0)
            return -1;
        return fn.numfree > 0 ? push(d, t, fun->free, fn.numfree, start) : 0;
    }
    case ETF_T_LOCAL:
        /* Its payload runs to the end of the input: only a whole term. */
        if (d->depth != 0)
            return etf_fail(d->err, ETF_E_TAG, start + d->base,
                            "LOCAL_EXT at byte %zu inside a term: it can "
                            "only be a whole term",
                            start + d->base);
        if (etf_read_local(r, &bp, &blen) < 0)
            return reader_fail(d);
        if ((copy = etf_arena_alloc(d->a, blen)) == NULL)
            return oom(d);
        memcpy(copy, bp, blen);
        t->kind = ETF_LOCAL;
        t->len = (uint32_t)blen;
        t->v.bytes = copy;
        return 0;
    case ETF_T_COMPRESSED:
        return etf_fail(d->err, ETF_E_TAG, start + d->base,
                        "compressed term at byte %zu inside a term",
                        start + d->base);
    }
    return etf_fail(d->err, ETF_E_TAG, start + d->base, "bad tag");
}

static inline uint64_t
mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 29);
}

static inline uint64_t
load64(const uint8_t *p)
{
    uint64_t w;

    memcpy(&w, p, 8);
    return w;
}

static inline uint64_t
rotl(uint64_t w, unsigned k)
{
    return (w << k) | (w >> (64 - k));
}

/* The length of p and up to 24 of its bytes: the first, middle and last
 * eight (fewer, overlapping, when it is shorter). One multiply: a key's
 * hash is mostly compared with a few others, not spread over a table. */
static inline uint64_t
hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    uint32_t a, b;

    h ^= n;
    if (n >= 8) {
        h ^= load64(p) ^ rotl(load64(p + n / 2 - 4), 21) ^
             rotl(load64(p + n - 8), 42);
    } else if (n >= 4) {
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        h ^= ((uint64_t)a << 32 | b) << 3;
    } else if (n > 0) {
        h ^= (uint64_t)(p[0] | p[n / 2] << 8 | p[n - 1] << 16) << 3;
    }
    return mix(h, 0);
}

static uint64_t key_hash(const etf_term *k, unsigned depth);

/* A list's hash, from its first elements however its cells are split
 * between LIST_EXT and STRING_EXT (the same term may come either way). */
static uint64_t
list_hash(const etf_term *k, unsigned depth)
{
    uint64_t h = ETF_LIST;
    etf_term e;
    uint32_t i, seen = 0;

    while (depth > 0 && seen < 4) {
        if (k->kind == ETF_STRING) {
            for (i = 0; i < k->len && seen < 4; i++, seen++) {
                etf_set_int(&e, k->v.bytes[i]);
                h = mix(h, key_hash(&e, depth - 1));
            }
            if (i < k->len)
                break;
            etf_set_nil(&e); /* a string's tail is [] */
            k = &e;
            continue;
        }
        if (k->kind != ETF_LIST)
            return mix(h, key_hash(k, depth - 1)); /* the tail */
        for (i = 0; i < k->len && seen < 4; i++, seen++)
            h = mix(h, key_hash(&k->v.elems[i], depth - 1));
        if (i < k->len)
            break;
        k = &k->v.elems[k->len];
    }
    return h;
}

/*
 * A hash of a map key that equal keys (etf_compare(..., true) == 0) share.
 * Containers hash by their kind, and within depth levels by their first
 * elements: a list by its first four elements (list_hash), a tuple by its
 * arity and first four. Keys with the same hash are compared in full.
 */
static uint64_t
key_hash(const etf_term *k, unsigned depth)
{
    double f;
    uint64_t bits, h;
    uint32_t i;

    switch (k->kind) {
    case ETF_INT:
        return mix(ETF_INT, (uint64_t)k->v.i);
    case ETF_FLOAT:
        f = k->v.f == 0 ? 0.0 : k->v.f; /* 0.0 and -0.0 compare equal */
        memcpy(&bits, &f, sizeof(bits));
        return mix(ETF_FLOAT, bits);
    case ETF_ATOM:
        return hash_bytes(ETF_ATOM, (const uint8_t *)k->v.str, k->len);
    case ETF_BIG:
    case ETF_LOCAL:
        return hash_bytes(mix(k->kind, k->aux), k->v.bytes, k->len);
    case ETF_BINARY:
        /* aux holds the bits used in the last byte, unused bits are 0 */
        return hash_bytes(mix(ETF_BINARY, k->aux), k->v.bytes, k->len);
    case ETF_TUPLE:
        h = mix(ETF_TUPLE, k->len);
        for (i = 0; depth > 0 && i < k->len && i < 4; i++)
            h = mix(h, key_hash(&k->v.elems[i], depth - 1));
        return h;
    case ETF_STRING:
    case ETF_LIST:
        return list_hash(k, depth);
    case ETF_MAP:
        return mix(ETF_MAP, k->len);
    case ETF_PID:
        return mix(mix(ETF_PID, k->v.pid->id), k->v.pid->serial);
    case ETF_PORT:
        return mix(ETF_PORT, k->v.port->id);
    default:
        return mix(k->kind, 0);
    }
}

/* key_hash of a map's key, with the common kinds inline. */
static inline uint64_t
map_key_hash(const etf_term *k)
{
    if (k->kind == ETF_INT)
        return mix(ETF_INT, (uint64_t)k->v.i);
    if (k->kind == ETF_ATOM)
        return hash_bytes(ETF_ATOM, (const uint8_t *)k->v.str, k->len);
    return key_hash(k, 2);
}

/* Map-key order by kind: every integer before every float, then term
 * order. Keys of one rank are ordered by etf_compare. */
static const uint8_t key_rank[] = {
    [ETF_INT] = 0,   [ETF_BIG] = 0,     [ETF_FLOAT] = 1,   [ETF_ATOM] = 2,
    [ETF_REF] = 3,   [ETF_FUN] = 4,     [ETF_EXPORT] = 4,  [ETF_PORT] = 5,
    [ETF_PID] = 6,   [ETF_TUPLE] = 7,   [ETF_MAP] = 8,     [ETF_NIL] = 9,
    [ETF_LIST] = 10, [ETF_STRING] = 10, [ETF_BINARY] = 11, [ETF_LOCAL] = 12,
};

/* a comes before b in map-key order (etf_compare(a, b, true) < 0), the
 * common cases inline. */
static inline bool
key_before(const etf_term *a, const etf_term *b)
{
    unsigned ra = key_rank[a->kind], rb = key_rank[b->kind];
    size_t n;
    int c;

    if (ra != rb)
        return ra < rb;
    if (a->kind == ETF_INT && b->kind == ETF_INT)
        return a->v.i < b->v.i;
    if (a->kind == ETF_ATOM) {
        n = a->len < b->len ? a->len : b->len;
        c = memcmp(a->v.str, b->v.str, n);
        return c < 0 || (c == 0 && a->len < b->len);
    }
    return etf_compare(a, b, true) < 0;
}

/* The old way: sort a copy of the pairs (so the decoded order is kept) and
 * look at neighbours. */
static int
check_map_sorted(struct decoder *d, etf_term *map, size_t start)
{
    etf_term copy;
    etf_error e;
    int rc;

    copy = *map;
    copy.v.elems = malloc(2 * (size_t)map->len * sizeof(etf_term));
    if (copy.v.elems == NULL)
        return oom(d);
    memcpy(copy.v.elems, map->v.elems, 2 * (size_t)map->len * sizeof(etf_term));
    rc = etf_map_sort(&copy, &e);
    free(copy.v.elems);
    if (rc == 0)
        return 0;
    if (e.code != ETF_E_DUPKEY)
        return oom(d);
    return etf_fail(d->err, ETF_E_DUPKEY, start + d->base,
                    "map at byte %zu has a duplicate key", start + d->base);
}

/* Maps up to this many pairs are checked with their hashes on the stack. */
#define MAP_INLINE 64

/* Keys i and j of a map have the same hash: 0 if they differ, -1 (with
 * the error set) if they are the same. After more full comparisons than
 * the map has keys, the map is sorted instead: -1 if that finds a
 * duplicate, else 1, the map is done. */
static int
compare_keys(struct decoder *d, etf_term *map, size_t start, uint32_t i,
             uint32_t j, uint32_t *compares)
{
    const etf_term *kv = map->v.elems;

    if (etf_compare(&kv[2 * i], &kv[2 * j], true) == 0)
        return etf_fail(d->err, ETF_E_DUPKEY, start + d->base,
                        "map at byte %zu has a duplicate key", start + d->base);
    if (++*compares > map->len)
        return check_map_sorted(d, map, start) < 0 ? -1 : 1;
    return 0;
}

/*
 * A finished map must not hold the same key twice. Keys in increasing
 * order, as OTP writes small maps, are checked with one comparison a pair.
 * Otherwise keys are hashed into an open-addressing table of indices; only
 * keys of equal hash are compared.
 * Keys made to share a hash (all lists, say) would make that quadratic, so
 * after as many full comparisons as there are keys it sorts instead.
 */
static int
check_map(struct decoder *d, etf_term *map, size_t start)
{
    const etf_term *kv = map->v.elems;
    uint32_t n = map->len, i, compares = 0;
    size_t size, mask, j;
    uint32_t inline_table[2 * MAP_INLINE], *table = inline_table;
    uint64_t inline_hash[MAP_INLINE], *hash = inline_hash;
    int rc = 0;

    if (n < 2)
        return 0;
    /* OTP writes a map of up to 32 keys in key order: keys that only go
     * up cannot repeat. */
    for (i = 1; i < n && key_before(&kv[2 * i - 2], &kv[2 * i]); i++)
        ;
    if (i == n)
        return 0;
    for (size = 4; size < 2 * (uint64_t)n; size *= 2)
        ;
    if (n > MAP_INLINE) {
        hash = malloc(n * sizeof(*hash));
        table = malloc(size * sizeof(*table));
        if (hash == NULL || table == NULL) {
            rc = oom(d);
            goto done;
        }
    }
    if (n <= 16) {
        /* Small maps: every pair of hashes, no table. */
        for (i = 0; i < n; i++) {
            hash[i] = map_key_hash(&kv[2 * i]);
            for (j = 0; j < i; j++)
                if (hash[j] == hash[i] &&
                    (rc = compare_keys(d, map, start, i, j, &compares)) != 0)
                    goto done;
        }
        goto done;
    }
    /* Slots hold a key's index + 1; 0 is empty. */
    memset(table, 0, size * sizeof(*table));
    mask = size - 1;
    for (i = 0; i < n; i++) {
        hash[i] = map_key_hash(&kv[2 * i]);
        for (j = hash[i] & mask; table[j] != 0; j = (j + 1) & mask)
            if (hash[table[j] - 1] == hash[i] &&
                (rc = compare_keys(d, map, start, i, table[j] - 1,
                                   &compares)) != 0)
                goto done;
        table[j] = i + 1;
    }
done:
    if (hash != inline_hash)
        free(hash);
    if (table != inline_table)
        free(table);
    return rc < 0 ? -1 : 0;
}

/* Slots for n elements of a container, left for the decoder to fill. */
static etf_term *
slots(struct decoder *d, size_t n)
{
    /* n is at most the bytes left, so this cannot overflow. */
    return arena_alloc(d->a, n * sizeof(etf_term));
}

/* 16 bytes of ones, then 16 of zeros: the 16 bytes from 16 - n on keep
 * the first n bytes of 16, on any byte order. */
static const uint8_t keep_window[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};

/*
 * Start filling a container of kind and len at *cur, with its slots
 * (nslots) allocated here: *cur and *stop move into it, its parent's
 * place is kept in a frame.
 */
static inline int
enter(struct decoder *d, etf_term **cur, etf_term **stop, etf_kind kind,
      size_t len, size_t nslots, size_t start)
{
    etf_term *elems = slots(d, nslots), *t = *cur;

    if (elems == NULL) {
        d->r.pos = start;
        return oom(d);
    }
    *t = (etf_term){.kind = kind, .len = (uint32_t)len, .v.elems = elems};
    d->cur = t + 1;
    d->stop = *stop;
    if (push(d, t, elems, (uint32_t)nslots, start) < 0)
        return -1;
    *cur = d->cur;
    *stop = d->stop;
    return 0;
}

/*
 * A finished container: a map's keys must differ, and a fun whose creator
 * was a term in its frame gets it moved out.
 */
static int
close_frame(struct decoder *d, const struct frame *f)
{
    etf_term *owner = f->owner;

    if (owner->kind == ETF_MAP)
        return check_map(d, owner, f->start);
    if (owner->kind == ETF_FUN && owner->v.fun->pid.kind == 0)
        owner->v.fun->pid = owner->v.fun->free[-1];
    return 0;
}

/*
 * Decode one term at d->r into *root.
 *
 * The slot being filled (cur) and the end of its container (stop) live in
 * locals, like the input cursor; a frame keeps the parent's pair while a
 * container is filled. The common terms, well formed, are read straight
 * from the buffer here. Whatever this loop does not handle, or finds
 * amiss, goes to decode_any, which reads the term again and reports the
 * error; the locals are handed over in d around that call.
 */
static int
decode_tree(struct decoder *d, etf_term *root)
{
    const uint8_t *const buf = d->r.buf, *const end = buf + d->r.len;
    const uint8_t *p = buf + d->r.pos, *q;
    etf_term *cur = root, *stop = root + 1;
    etf_atomv av, fv;
    struct frame *f;
    size_t left, n, k, i;
    etf_pid *pid;
    etf_port *port;
    etf_ref *ref;
    etf_export *ex;
    uint64_t bits;
    uint8_t *copy;
    double fl;
    uint64_t w0, w1, m0, m1;
    uint64_t *out;

    /* d->r.pos is brought up to date before each call that may fail, so
     * that its error (out of memory too) says where. */
    for (;;) {
        while (cur == stop) {
            if (d->depth == 0) {
                d->r.pos = (size_t)(p - buf);
                return 0;
            }
            f = &d->stack[--d->depth];
            if (f->owner->kind >= ETF_MAP &&
                (d->r.pos = (size_t)(p - buf), close_frame(d, f) < 0))
                return -1;
            cur = f->cur;
            stop = f->stop;
        }
        left = (size_t)(end - p);
        if (left < 2)
            goto general;
        switch (p[0]) {
        /* Integers come in runs (lists, map keys and values): each case
         * reads on while the container has room and the next term is
         * another of its tag. */
        case TAG_SMALL_INTEGER_EXT:
            do {
                *cur++ = (etf_term){.kind = ETF_INT, .v.i = p[1]};
                p += 2;
            } while (cur != stop && end - p >= 2 &&
                     p[0] == TAG_SMALL_INTEGER_EXT);
            continue;
        case TAG_INTEGER_EXT:
            if (left < 5)
                break;
            do {
                *cur++ =
                    (etf_term){.kind = ETF_INT, .v.i = (int32_t)get32(p + 1)};
                p += 5;
            } while (cur != stop && end - p >= 5 && p[0] == TAG_INTEGER_EXT);
            continue;
        case TAG_NIL_EXT:
            *cur++ = (etf_term){.kind = ETF_NIL};
            p += 1;
            continue;
        case TAG_SMALL_ATOM_UTF8_EXT:
        case TAG_SMALL_ATOM_EXT:
        case TAG_ATOM_UTF8_EXT:
        case TAG_ATOM_EXT:
            /* A one- or two-byte length: k is where the text starts. */
            if (p[0] == TAG_SMALL_ATOM_UTF8_EXT || p[0] == TAG_SMALL_ATOM_EXT)
                n = p[1], k = 2;
            else if (left >= 3)
                n = get16(p + 1), k = 3;
            else
                break;
            /* Short ASCII, the usual atom: two words and a mask, and the
             * zeros the mask leaves are the NUL. */
            if (n < 16 && left - k >= 16) {
                memcpy(&w0, p + k, 8);
                memcpy(&w1, p + k + 8, 8);
                memcpy(&m0, keep_window + 16 - n, 8);
                memcpy(&m1, keep_window + 24 - n, 8);
                w0 &= m0;
                w1 &= m1;
                if (((w0 | w1) & 0x8080808080808080ULL) == 0) {
                    if ((out = arena_alloc(d->a, 16)) == NULL)
                        goto nomem;
                    out[0] = w0;
                    out[1] = w1;
                    *cur++ = (etf_term){.kind = ETF_ATOM,
                                        .len = (uint32_t)n,
                                        .v.str = (const char *)out};
                    p += k + n;
                    continue;
                }
            }
            /* Short UTF-8 in one block, checked and copied at once (under
             * 32 bytes, so under 256 characters). */
            if ((p[0] == TAG_SMALL_ATOM_UTF8_EXT ||
                 p[0] == TAG_ATOM_UTF8_EXT) &&
                n < 32 && left - k >= 32) {
                if ((copy = arena_alloc(d->a, 32)) == NULL)
                    goto nomem;
                if (!utf8_short(p + k, n, copy))
                    break;
                *cur++ = (etf_term){.kind = ETF_ATOM,
                                    .len = (uint32_t)n,
                                    .v.str = (const char *)copy};
                p += k + n;
                continue;
            }
            if ((k = etf_atom_common(p, left, &av)) == 0)
                break;
            d->r.pos = (size_t)(p - buf);
            p += k;
            if (set_atom(d, cur++, &av) < 0)
                return -1;
            continue;
        case TAG_SMALL_TUPLE_EXT:
            n = p[1];
            if (n == 0) {
                *cur++ = (etf_term){.kind = ETF_TUPLE};
                p += 2;
                continue;
            }
            if (left - 2 < n)
                break;
            if (enter(d, &cur, &stop, ETF_TUPLE, n, n, (size_t)(p - buf)) < 0)
                return -1;
            p += 2;
            continue;
        case TAG_LIST_EXT:
            /* n elements and a tail, each at least a byte (n + 1 could
             * wrap where size_t has 32 bits) */
            if (left < 5 || (n = get32(p + 1)) == 0 || n >= left - 5)
                break;
            if (enter(d, &cur, &stop, ETF_LIST, n, n + 1, (size_t)(p - buf)) <
                0)
                return -1;
            p += 5;
            continue;
        case TAG_MAP_EXT:
            /* n keys and n values, each at least a byte */
            if (left < 5 || (n = get32(p + 1)) == 0 || (left - 5) / 2 < n)
                break;
            if (enter(d, &cur, &stop, ETF_MAP, n, 2 * n, (size_t)(p - buf)) < 0)
                return -1;
            p += 5;
            continue;
        case TAG_SMALL_BIG_EXT:
            if (left < 3 || left - 3 < (n = p[1]))
                break;
            if (etf_set_big(d->a, cur++, p[2] != 0, p + 3, n) < 0)
                goto nomem;
            p += 3 + n;
            continue;
        case TAG_NEW_FLOAT_EXT:
            if (left < 9)
                break;
            bits = get64(p + 1);
            memcpy(&fl, &bits, sizeof(fl));
            if (!isfinite(fl))
                break;
            *cur++ = (etf_term){.kind = ETF_FLOAT, .v.f = fl};
            p += 9;
            continue;
        case TAG_STRING_EXT:
            if (left < 3 || (n = get16(p + 1)) == 0 || left - 3 < n ||
                d->borrow)
                break;
            if ((copy = arena_alloc(d->a, n)) == NULL)
                goto nomem;
            memcpy(copy, p + 3, n);
            *cur++ = (etf_term){
                .kind = ETF_STRING, .len = (uint32_t)n, .v.bytes = copy};
            p += 3 + n;
            continue;
        case TAG_BINARY_EXT:
            if (left < 5 || left - 5 < (n = get32(p + 1)) || d->borrow)
                break;
            if ((copy = arena_alloc(d->a, n)) == NULL && n > 0)
                goto nomem;
            if (n > 0)
                memcpy(copy, p + 5, n);
            *cur++ = (etf_term){.kind = ETF_BINARY,
                                .aux = 8,
                                .len = (uint32_t)n,
                                .v.bytes = copy};
            p += 5 + n;
            continue;
        case TAG_NEW_PID_EXT:
            if ((k = etf_atom_common(p + 1, left - 1, &av)) == 0 ||
                left - 1 - k < 12)
                break;
            d->r.pos = (size_t)(p - buf);
            if ((pid = arena_alloc(d->a, sizeof(*pid))) == NULL)
                goto nomem;
            q = p + 1 + k;
            pid->id = get32(q);
            pid->serial = get32(q + 4);
            pid->creation = get32(q + 8);
            *cur = (etf_term){.kind = ETF_PID, .v.pid = pid};
            p += 1 + k + 12;
            if (set_atom(d, &pid->node, &av) < 0)
                return -1;
            cur++;
            continue;
        case TAG_NEW_PORT_EXT:
        case TAG_V4_PORT_EXT:
            /* 32-bit id and creation, or 64-bit id and 32-bit creation */
            n = p[0] == TAG_NEW_PORT_EXT ? 8 : 12;
            if ((k = etf_atom_common(p + 1, left - 1, &av)) == 0 ||
                left - 1 - k < n)
                break;
            d->r.pos = (size_t)(p - buf);
            if ((port = arena_alloc(d->a, sizeof(*port))) == NULL)
                goto nomem;
            q = p + 1 + k;
            port->id = n == 8 ? get32(q) : get64(q);
            port->creation = get32(q + n - 4);
            *cur = (etf_term){.kind = ETF_PORT, .v.port = port};
            p += 1 + k + n;
            if (set_atom(d, &port->node, &av) < 0)
                return -1;
            cur++;
            continue;
        case TAG_NEWER_REFERENCE_EXT:
            /* Len, node, a 32-bit creation and Len id words, at most five */
            if (left < 3 || (n = get16(p + 1)) > ETF_MAX_REF_WORDS ||
                (k = etf_atom_common(p + 3, left - 3, &av)) == 0 ||
                left - 3 - k < 4 + 4 * n)
                break;
            d->r.pos = (size_t)(p - buf);
            if ((ref = arena_alloc(d->a, sizeof(*ref))) == NULL)
                goto nomem;
            q = p + 3 + k;
            ref->creation = get32(q);
            ref->len = (uint32_t)n;
            memset(ref->id, 0, sizeof(ref->id));
            for (i = 0; i < n; i++)
                ref->id[i] = get32(q + 4 + 4 * i);
            *cur = (etf_term){.kind = ETF_REF, .v.ref = ref};
            p += 3 + k + 4 + 4 * n;
            if (set_atom(d, &ref->node, &av) < 0)
                return -1;
            cur++;
            continue;
        case TAG_EXPORT_EXT:
            /* Module, function and an arity that is a small integer */
            if ((k = etf_atom_common(p + 1, left - 1, &av)) == 0 ||
                (n = etf_atom_common(p + 1 + k, left - 1 - k, &fv)) == 0 ||
                left - 1 - k - n < 2 || p[1 + k + n] != TAG_SMALL_INTEGER_EXT)
                break;
            d->r.pos = (size_t)(p - buf);
            if ((ex = arena_alloc(d->a, sizeof(*ex))) == NULL)
                goto nomem;
            ex->arity = p[1 + k + n + 1];
            *cur = (etf_term){.kind = ETF_EXPORT, .v.exp = ex};
            p += 1 + k + n + 2;
            if (set_atom(d, &ex->module, &av) < 0 ||
                set_atom(d, &ex->function, &fv) < 0)
                return -1;
            cur++;
            continue;
        }
    general:
        /* Everything else, and every error, the careful way. */
        d->r.pos = (size_t)(p - buf);
        d->cur = cur + 1;
        d->stop = stop;
        if (decode_any(d, cur) < 0)
            return -1;
        p = buf + d->r.pos;
        cur = d->cur;
        stop = d->stop;
        continue;
    }

nomem:
    d->r.pos = (size_t)(p - buf);
    return oom(d);
}

etf_term *
etf_decode(etf_arena *a, const void *buf, size_t len,
           const etf_decode_opts *opts, size_t *used, etf_error *err)
{
    static const etf_decode_opts defaults;
    struct decoder d;
    etf_term *root;
    uint8_t *inflated = NULL;
    uint32_t usize;
    size_t max_inflated, consumed;
    etf_reader outer;
    etf_type type;
    int rc = -1;

    if (opts == NULL)
        opts = &defaults;
    d.a = a;
    d.depth = 0;
    d.base = 0;
    d.stack = d.inline_stack;
    d.cap = INLINE_FRAMES;
    d.err = err;
    d.max_depth = opts->max_depth ? opts->max_depth : ETF_DEFAULT_MAX_DEPTH;
    max_inflated =
        opts->max_inflated ? opts->max_inflated : ETF_DEFAULT_MAX_INFLATED;
    etf_reader_init(&d.r, buf, len);
    d.r.refs = opts->refs;
    d.borrow = opts->borrow;
    d.r.allow_local = opts->local;
    if ((root = etf_arena_alloc(a, sizeof(*root))) == NULL) {
        oom(&d);
        return NULL;
    }
    memset(root, 0, sizeof(*root));
    if (!opts->no_version && etf_read_version(&d.r) < 0) {
        reader_fail(&d);
        return NULL;
    }
    if (etf_peek(&d.r, &type) == 0 && type == ETF_T_COMPRESSED) {
        if (etf_read_compressed_size(&d.r, &usize) < 0) {
            reader_fail(&d);
            return NULL;
        }
        if (usize > max_inflated) {
            etf_fail(err, ETF_E_LIMIT, d.r.pos,
                     "compressed term at byte %zu claims %u bytes, over the "
                     "limit of %zu",
                     d.r.pos, usize, max_inflated);
            return NULL;
        }
        if ((inflated = malloc(usize ? usize : 1)) == NULL) {
            oom(&d);
            return NULL;
        }
        if (etf_inflate(&d.r, inflated, usize) < 0) {
            reader_fail(&d);
            free(inflated);
            return NULL;
        }
        /* Decode the inflated bytes; the whole of them must be one term. */
        outer = d.r;
        etf_reader_init(&d.r, inflated, usize);
        d.borrow = false; /* the inflated bytes are freed below */
        d.r.allow_local = opts->local;
        d.r.refs = opts->refs;
        d.base = 0;
        /* Bytes after the term inside the inflated data are ignored, as
         * binary_to_term/1 ignores them. */
        rc = decode_tree(&d, root);
        if (rc < 0 && err != NULL && err->code != ETF_E_COMPRESSED) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof(err->msg) - n,
                     " (inside compressed data)");
        }
        consumed = outer.pos;
        free(inflated);
    } else {
        rc = decode_tree(&d, root);
        consumed = d.r.pos;
    }
    if (d.stack != d.inline_stack)
        free(d.stack);
    if (rc < 0)
        return NULL;
    if (opts->exact && consumed != len) {
        etf_fail(err, ETF_E_TRAILING, consumed,
                 "%zu bytes after the term at byte %zu", len - consumed,
                 consumed);
        return NULL;
    }
    if (used != NULL)
        *used = consumed;
    return root;
}
