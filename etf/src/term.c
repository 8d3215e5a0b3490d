/*
 * Building terms, and comparing them in Erlang's term order.
 */
#include <math.h>
#include <stdlib.h>

#include "etf_int.h"

void
etf_set_int(etf_term *t, int64_t v)
{
    memset(t, 0, sizeof(*t));
    t->kind = ETF_INT;
    t->v.i = v;
}

void
etf_set_float(etf_term *t, double v)
{
    memset(t, 0, sizeof(*t));
    t->kind = ETF_FLOAT;
    t->v.f = v;
}

void
etf_set_nil(etf_term *t)
{
    memset(t, 0, sizeof(*t));
    t->kind = ETF_NIL;
}

int
etf_set_big(etf_arena *a, etf_term *t, bool negative, const uint8_t *d,
            size_t n)
{
    uint64_t m = 0;
    size_t i;
    void *copy;

    while (n > 0 && d[n - 1] == 0)
        n--;
    if (n <= 8) {
        for (i = n; i > 0; i--)
            m = (m << 8) | d[i - 1];
        if (!negative && m <= (uint64_t)INT64_MAX) {
            etf_set_int(t, (int64_t)m);
            return 0;
        }
        if (negative && m <= (uint64_t)INT64_MAX + 1) {
            etf_set_int(t,
                        m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m);
            return 0;
        }
    }
    if (n > ETF_MAX_BIG_BYTES || (copy = etf_arena_alloc(a, n)) == NULL)
        return -1;
    memcpy(copy, d, n);
    memset(t, 0, sizeof(*t));
    t->kind = ETF_BIG;
    t->aux = negative;
    t->len = (uint32_t)n;
    t->v.bytes = copy;
    return 0;
}

int
etf_set_atom(etf_arena *a, etf_term *t, const char *utf8, size_t len)
{
    size_t chars;
    char *s;

    if (!utf8_valid((const uint8_t *)utf8, len, &chars) ||
        chars > ETF_MAX_ATOM_CHARS)
        return -1;
    if ((s = etf_arena_strdup(a, utf8, len)) == NULL)
        return -1;
    memset(t, 0, sizeof(*t));
    t->kind = ETF_ATOM;
    t->len = (uint32_t)len;
    t->v.str = s;
    return 0;
}

int
etf_set_bitstring(etf_arena *a, etf_term *t, const void *p, size_t len,
                  unsigned bits)
{
    uint8_t *copy;

    if (len > UINT32_MAX || bits < 1 || bits > 8)
        return -1;
    if ((copy = etf_arena_alloc(a, len)) == NULL)
        return -1;
    if (len > 0)
        memcpy(copy, p, len);
    if (len == 0)
        bits = 8;
    else if (bits < 8)
        copy[len - 1] &= (uint8_t)(0xFF << (8 - bits));
    memset(t, 0, sizeof(*t));
    t->kind = ETF_BINARY;
    t->aux = (uint8_t)bits;
    t->len = (uint32_t)len;
    t->v.bytes = copy;
    return 0;
}

int
etf_set_binary(etf_arena *a, etf_term *t, const void *p, size_t len)
{
    return etf_set_bitstring(a, t, p, len, 8);
}

int
etf_set_string(etf_arena *a, etf_term *t, const void *p, size_t len)
{
    void *copy;

    if (len == 0) {
        etf_set_nil(t);
        return 0;
    }
    if (len > UINT32_MAX || (copy = etf_arena_alloc(a, len)) == NULL)
        return -1;
    memcpy(copy, p, len);
    memset(t, 0, sizeof(*t));
    t->kind = ETF_STRING;
    t->len = (uint32_t)len;
    t->v.bytes = copy;
    return 0;
}

/* Allocate n zeroed terms. */
static etf_term *
terms(etf_arena *a, size_t n)
{
    etf_term *e;

    if (n > SIZE_MAX / sizeof(etf_term))
        return NULL;
    e = etf_arena_alloc(a, n * sizeof(etf_term));
    if (e != NULL)
        memset(e, 0, n * sizeof(etf_term));
    return e;
}

etf_term *
etf_set_tuple(etf_arena *a, etf_term *t, uint32_t n)
{
    etf_term *e = terms(a, n);

    if (e == NULL)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->kind = ETF_TUPLE;
    t->len = n;
    t->v.elems = e;
    return e;
}

etf_term *
etf_set_list(etf_arena *a, etf_term *t, uint32_t n)
{
    etf_term *e;

    if (n == 0 || n == UINT32_MAX || (e = terms(a, (size_t)n + 1)) == NULL)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->kind = ETF_LIST;
    t->len = n;
    t->v.elems = e;
    e[n].kind = ETF_NIL;
    return e;
}

etf_term *
etf_set_map(etf_arena *a, etf_term *t, uint32_t pairs)
{
    etf_term *e = terms(a, 2 * (size_t)pairs);

    if (e == NULL)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->kind = ETF_MAP;
    t->len = pairs;
    t->v.elems = e;
    return e;
}

/* Allocate a zeroed struct of size n and point t at it. */
static void *
boxed(etf_arena *a, etf_term *t, etf_kind kind, size_t n)
{
    void *p = etf_arena_alloc(a, n);

    if (p == NULL)
        return NULL;
    memset(p, 0, n);
    memset(t, 0, sizeof(*t));
    t->kind = (uint8_t)kind;
    t->v.pid = p;
    return p;
}

etf_pid *
etf_set_pid(etf_arena *a, etf_term *t)
{
    return boxed(a, t, ETF_PID, sizeof(etf_pid));
}

etf_port *
etf_set_port(etf_arena *a, etf_term *t)
{
    return boxed(a, t, ETF_PORT, sizeof(etf_port));
}

etf_ref *
etf_set_ref(etf_arena *a, etf_term *t)
{
    return boxed(a, t, ETF_REF, sizeof(etf_ref));
}

etf_export *
etf_set_export(etf_arena *a, etf_term *t)
{
    return boxed(a, t, ETF_EXPORT, sizeof(etf_export));
}

etf_fun *
etf_set_fun(etf_arena *a, etf_term *t, uint32_t numfree)
{
    etf_fun *f = boxed(a, t, ETF_FUN, sizeof(etf_fun));

    if (f == NULL)
        return NULL;
    f->numfree = numfree;
    if (numfree > 0 && (f->free = terms(a, numfree)) == NULL)
        return NULL;
    return f;
}

size_t
etf_list_length(const etf_term *t)
{
    if (t->kind == ETF_LIST || t->kind == ETF_STRING)
        return t->len;
    return 0;
}

const etf_term *
etf_list_nth(const etf_term *t, size_t i, etf_term *tmp)
{
    if (i >= etf_list_length(t))
        return NULL;
    if (t->kind == ETF_LIST)
        return &t->v.elems[i];
    etf_set_int(tmp, t->v.bytes[i]);
    return tmp;
}

/* ------------------------------------------------------------------ */
/* Term order                                                          */
/* ------------------------------------------------------------------ */

/* number < atom < reference < fun < port < pid < tuple < map < nil < list
 * < bitstring */
static int
rank(const etf_term *t)
{
    switch (t->kind) {
    case ETF_INT:
    case ETF_BIG:
    case ETF_FLOAT:
        return 0;
    case ETF_ATOM:
        return 1;
    case ETF_REF:
        return 2;
    case ETF_FUN:
    case ETF_EXPORT:
        return 3;
    case ETF_PORT:
        return 4;
    case ETF_PID:
        return 5;
    case ETF_TUPLE:
        return 6;
    case ETF_MAP:
        return 7;
    case ETF_NIL:
        return 8;
    case ETF_LIST:
    case ETF_STRING:
        return 9;
    case ETF_BINARY:
        return 10;
    default:
        return 11; /* LOCAL_EXT: opaque, last */
    }
}

static int
cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static int
cmp_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;

    if (c != 0)
        return c < 0 ? -1 : 1;
    return cmp_u64(na, nb);
}

static int
cmp_atoms(const etf_term *a, const etf_term *b)
{
    /* UTF-8 byte order is code point order. */
    return cmp_bytes((const uint8_t *)a->v.str, a->len,
                     (const uint8_t *)b->v.str, b->len);
}

/* The magnitude of a bignum compared with another. */
static int
cmp_mag(const etf_term *a, const etf_term *b)
{
    size_t i;

    if (a->len != b->len)
        return cmp_u64(a->len, b->len);
    for (i = a->len; i > 0; i--)
        if (a->v.bytes[i - 1] != b->v.bytes[i - 1])
            return a->v.bytes[i - 1] < b->v.bytes[i - 1] ? -1 : 1;
    return 0;
}

static int
cmp_ints(const etf_term *a, const etf_term *b)
{
    int sa, sb, c;

    if (a->kind == ETF_INT && b->kind == ETF_INT)
        return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
    /* A bignum lies beyond every int64. */
    sa = a->kind == ETF_BIG ? (a->aux ? -2 : 2) : 0;
    sb = b->kind == ETF_BIG ? (b->aux ? -2 : 2) : 0;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    c = cmp_mag(a, b);
    return sa < 0 ? -c : c;
}

static double
big_to_double(const etf_term *t)
{
    double d = 0;
    size_t i;

    for (i = t->len; i > 0; i--)
        d = d * 256.0 + t->v.bytes[i - 1];
    return t->aux ? -d : d;
}

/* An integer against a float, by value. */
static int
cmp_int_float(const etf_term *a, double f)
{
    double d, ip;

    if (a->kind == ETF_BIG) {
        d = big_to_double(a);
        return d < f ? -1 : d > f;
    }
    /* Floats of 2^63 or beyond lie outside int64 either way. */
    if (f >= 9223372036854775808.0)
        return -1;
    if (f < -9223372036854775808.0)
        return 1;
    ip = floor(f);
    if ((double)(int64_t)ip != ip || (int64_t)ip != a->v.i)
        return a->v.i < (int64_t)ip ? -1 : 1;
    return ip < f ? -1 : 0;
}

static int
cmp_numbers(const etf_term *a, const etf_term *b, bool exact)
{
    bool fa = a->kind == ETF_FLOAT, fb = b->kind == ETF_FLOAT;
    int c;

    if (fa && fb)
        return a->v.f < b->v.f ? -1 : a->v.f > b->v.f;
    if (!fa && !fb)
        return cmp_ints(a, b);
    /* In map-key order every integer comes before every float. */
    if (exact)
        return fa ? 1 : -1;
    c = fa ? -cmp_int_float(b, a->v.f) : cmp_int_float(a, b->v.f);
    return c;
}

struct cmp_pair {
    etf_term x, y;
};

#define CMP_INLINE 16

struct cmp_stack {
    struct cmp_pair *p;
    size_t n, cap;
    struct cmp_pair inline_pairs[CMP_INLINE];
};

static int
cpush(struct cmp_stack *s, const etf_term *x, const etf_term *y)
{
    struct cmp_pair *np;
    size_t ncap;

    if (s->n == s->cap) {
        ncap = s->cap * 2;
        if (s->p == s->inline_pairs) {
            np = malloc(ncap * sizeof(*np));
            if (np != NULL)
                memcpy(np, s->p, s->n * sizeof(*np));
        } else
            np = realloc(s->p, ncap * sizeof(*np));
        if (np == NULL)
            return -1;
        s->p = np;
        s->cap = ncap;
    }
    s->p[s->n].x = *x;
    s->p[s->n].y = *y;
    s->n++;
    return 0;
}

/* The rest of a list from element i on, as a term (the tail if i is the
 * length). */
static etf_term
list_rest(const etf_term *t, uint32_t i)
{
    etf_term r = *t;

    if (t->kind == ETF_LIST) {
        if (i == t->len)
            return t->v.elems[i];
        r.v.elems = t->v.elems + i;
    } else {
        if (i == t->len) {
            etf_set_nil(&r);
            return r;
        }
        r.v.bytes = t->v.bytes + i;
    }
    r.len = t->len - i;
    return r;
}

static int sort_pairs(etf_term *kv, uint32_t n);

/* Compare two maps: size, then keys in map-key order, then values in that
 * order. Pushes the pairs to compare, or returns a verdict. */
static int
cmp_maps(struct cmp_stack *s, const etf_term *a, const etf_term *b, int *out)
{
    etf_term *ka, *kb;
    size_t bytes = 2 * (size_t)a->len * sizeof(etf_term);
    uint32_t i;
    int rc = -1;

    *out = 0;
    if (a->len != b->len) {
        *out = a->len < b->len ? -1 : 1;
        return 0;
    }
    ka = malloc(bytes ? bytes : 1);
    kb = malloc(bytes ? bytes : 1);
    if (ka == NULL || kb == NULL)
        goto done;
    memcpy(ka, a->v.elems, bytes);
    memcpy(kb, b->v.elems, bytes);
    sort_pairs(ka, a->len);
    sort_pairs(kb, b->len);
    /* Values pushed first so that all keys are compared before them. */
    for (i = a->len; i > 0; i--)
        if (cpush(s, &ka[2 * i - 1], &kb[2 * i - 1]) < 0)
            goto done;
    for (i = a->len; i > 0; i--)
        if (cpush(s, &ka[2 * i - 2], &kb[2 * i - 2]) < 0)
            goto done;
    rc = 0;
done:
    free(ka);
    free(kb);
    return rc;
}

/* Compare two terms that are not containers, or start on containers. */
static int
cmp_step(struct cmp_stack *s, const etf_term *a, const etf_term *b, bool exact,
         int *out)
{
    int ra = rank(a), rb = rank(b), c;
    uint32_t i, n;
    etf_term ta, tb, xa, xb;
    const etf_term *ea, *eb;

    *out = 0;
    if (ra != rb) {
        *out = ra < rb ? -1 : 1;
        return 0;
    }
    switch (ra) {
    case 0:
        *out = cmp_numbers(a, b, exact);
        return 0;
    case 1:
        *out = cmp_atoms(a, b);
        return 0;
    case 2: /* refs: node, then the id words from the most significant */
        if ((c = cmp_atoms(&a->v.ref->node, &b->v.ref->node)) != 0) {
            *out = c;
            return 0;
        }
        n = a->v.ref->len > b->v.ref->len ? a->v.ref->len : b->v.ref->len;
        for (i = n; i > 0; i--) {
            uint32_t wa = i <= a->v.ref->len ? a->v.ref->id[i - 1] : 0;
            uint32_t wb = i <= b->v.ref->len ? b->v.ref->id[i - 1] : 0;
            if (wa != wb) {
                *out = wa < wb ? -1 : 1;
                return 0;
            }
        }
        *out = cmp_u64(a->v.ref->creation, b->v.ref->creation);
        return 0;
    case 3:
        if (a->kind != b->kind) { /* local funs before exports */
            *out = a->kind == ETF_FUN ? -1 : 1;
            return 0;
        }
        if (a->kind == ETF_EXPORT) {
            if ((c = cmp_atoms(&a->v.exp->module, &b->v.exp->module)) ||
                (c = cmp_atoms(&a->v.exp->function, &b->v.exp->function))) {
                *out = c;
                return 0;
            }
            *out = cmp_u64(a->v.exp->arity, b->v.exp->arity);
            return 0;
        }
        /* OTP 25 tells funs apart by OldUniq too (not by OldIndex). */
        if ((c = cmp_atoms(&a->v.fun->module, &b->v.fun->module)) ||
            (c = cmp_u64(a->v.fun->index, b->v.fun->index)) ||
            (c = memcmp(a->v.fun->uniq, b->v.fun->uniq, 16)) ||
            (c = etf_compare(&a->v.fun->old_uniq, &b->v.fun->old_uniq,
                             exact)) ||
            (c = cmp_u64(a->v.fun->numfree, b->v.fun->numfree))) {
            *out = c < 0 ? -1 : 1;
            return 0;
        }
        for (i = a->v.fun->numfree; i > 0; i--)
            if (cpush(s, &a->v.fun->free[i - 1], &b->v.fun->free[i - 1]) < 0)
                return -1;
        return cpush(s, &a->v.fun->pid, &b->v.fun->pid);
    case 4:
        if ((c = cmp_atoms(&a->v.port->node, &b->v.port->node)) ||
            (c = cmp_u64(a->v.port->id, b->v.port->id)) ||
            (c = cmp_u64(a->v.port->creation, b->v.port->creation)))
            *out = c;
        return 0;
    case 5: /* pids: serial and id (the BEAM's pid number), then node */
        if ((c = cmp_u64(a->v.pid->serial, b->v.pid->serial)) ||
            (c = cmp_u64(a->v.pid->id, b->v.pid->id)) ||
            (c = cmp_atoms(&a->v.pid->node, &b->v.pid->node)) ||
            (c = cmp_u64(a->v.pid->creation, b->v.pid->creation)))
            *out = c;
        return 0;
    case 6:
        if (a->len != b->len) {
            *out = a->len < b->len ? -1 : 1;
            return 0;
        }
        for (i = a->len; i > 0; i--)
            if (cpush(s, &a->v.elems[i - 1], &b->v.elems[i - 1]) < 0)
                return -1;
        return 0;
    case 7:
        return cmp_maps(s, a, b, out);
    case 8:
        return 0;
    case 9:
        if (a->kind == ETF_STRING && b->kind == ETF_STRING) {
            *out = cmp_bytes(a->v.bytes, a->len, b->v.bytes, b->len);
            return 0;
        }
        /* Element by element; then what is left of each, which is a
         * tail on at least one side. */
        n = a->len < b->len ? a->len : b->len;
        ta = list_rest(a, n);
        tb = list_rest(b, n);
        if (cpush(s, &ta, &tb) < 0)
            return -1;
        for (i = n; i > 0; i--) {
            ea = etf_list_nth(a, i - 1, &xa);
            eb = etf_list_nth(b, i - 1, &xb);
            if (cpush(s, ea, eb) < 0)
                return -1;
        }
        return 0;
    case 10: {
        /* Bitstrings: by bits, as unsigned bytes, shorter first on ties. */
        size_t ba = a->len ? (size_t)(a->len - 1) * 8 + a->aux : 0;
        size_t bb = b->len ? (size_t)(b->len - 1) * 8 + b->aux : 0;
        size_t nb = (ba < bb ? ba : bb) / 8;
        c = nb ? memcmp(a->v.bytes, b->v.bytes, nb) : 0;
        if (c == 0 && ba != bb && (ba < bb ? ba : bb) % 8 != 0) {
            unsigned rest = (unsigned)((ba < bb ? ba : bb) % 8);
            uint8_t mask = (uint8_t)(0xFF << (8 - rest));
            c = (a->v.bytes[nb] & mask) - (b->v.bytes[nb] & mask);
        } else if (c == 0 && ba == bb && ba % 8 != 0)
            c = a->v.bytes[nb] - b->v.bytes[nb];
        *out = c != 0 ? (c < 0 ? -1 : 1) : cmp_u64(ba, bb);
        return 0;
    }
    default:
        *out = cmp_bytes(a->v.bytes, a->len, b->v.bytes, b->len);
        return 0;
    }
}

int
etf_compare(const etf_term *x, const etf_term *y, bool exact)
{
    struct cmp_stack s;
    struct cmp_pair p;
    int out = 0;

    /* Scalars of the same kind need no stack (map keys mostly are). */
    if (x->kind == y->kind) {
        if (x->kind == ETF_ATOM)
            return cmp_atoms(x, y);
        if (x->kind == ETF_INT)
            return x->v.i < y->v.i ? -1 : x->v.i > y->v.i;
    }
    s.p = s.inline_pairs;
    s.n = 0;
    s.cap = CMP_INLINE;
    if (cpush(&s, x, y) < 0)
        return 0;
    while (s.n > 0 && out == 0) {
        p = s.p[--s.n];
        if (cmp_step(&s, &p.x, &p.y, exact, &out) < 0) {
            /* Out of memory: fall back to comparing kinds only. */
            out = rank(&p.x) - rank(&p.y);
            break;
        }
    }
    if (s.p != s.inline_pairs)
        free(s.p);
    return out;
}

bool
etf_equal(const etf_term *x, const etf_term *y)
{
    return etf_compare(x, y, true) == 0;
}

static int
cmp_keys_cb(const void *a, const void *b)
{
    return etf_compare(a, b, true);
}

/* Sort n key-value pairs by key; returns 1 if two keys are equal. */
static int
sort_pairs(etf_term *kv, uint32_t n)
{
    uint32_t i;

    if (n < 2)
        return 0;
    qsort(kv, n, 2 * sizeof(etf_term), cmp_keys_cb);
    for (i = 1; i < n; i++)
        if (etf_compare(&kv[2 * i - 2], &kv[2 * i], true) == 0)
            return 1;
    return 0;
}

int
etf_map_sort(etf_term *map, etf_error *err)
{
    if (map->kind != ETF_MAP)
        return etf_fail(err, ETF_E_TYPE, 0, "not a map");
    if (sort_pairs(map->v.elems, map->len))
        return etf_fail(err, ETF_E_DUPKEY, 0, "map has a duplicate key");
    return 0;
}
