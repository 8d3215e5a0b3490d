/*
 * etf-bench: libetf against erl_interface's ei on the same corpus, in one
 * run: full decode, skip and encode. Prints MB/s for both and, last,
 * "etf-bench: decode R1x ei, skip R2x ei, encode R3x ei".
 *
 * usage: etf-bench CORPUS_DIR
 *        etf-bench --warm CORPUS_DIR   (decode, each term repeated)
 * (the .etf files in CORPUS_DIR, or in CORPUS_DIR/terms as
 * interop/lib/etf_corpus.escript writes them)
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <ei.h>
#include <etf.h>

/* ei walks nested terms recursively (ei_skip_term; our ei encode walk too):
 * a 1,000,000-deep list overflows its stack. Terms nested deeper than this
 * are left out of every phase. */
#define BENCH_MAX_DEPTH 10000
/* Each side runs each phase for at least this long. */
#define BENCH_MIN_SECONDS 1.0

struct sample {
    char *name;
    uint8_t *bytes;
    size_t len;
    etf_term *tree; /* decoded once, for the encode phase */
};

static struct sample *samples;
static size_t nsamples, total_bytes, max_len;
static volatile uint64_t sink;

/* Scratch space the ei walk copies into, like the arena on our side. */
static char *scratch;
static size_t scratch_cap, scratch_used;

static void die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("etf-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        die("out of memory");
    return p;
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        die("%s: cannot seek", path);
    buf = xmalloc((size_t)n);
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
        die("%s: short read", path);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .etf files of dir, sorted; NULL if there are none. */
static char **
list_dir(const char *dir, size_t *count)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    DIR *d;

    if ((d = opendir(dir)) == NULL)
        return NULL;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);

        if (l < 5 || strcmp(de->d_name + l - 4, ".etf") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            if ((names = realloc(names, cap * sizeof(*names))) == NULL)
                die("out of memory");
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    if (n == 0) {
        free(names);
        return NULL;
    }
    qsort(names, n, sizeof(*names), name_cmp);
    *count = n;
    return names;
}

/* Nesting depth of a tree, counting no further than limit + 1. */
static unsigned
depth(const etf_term *t, unsigned limit)
{
    unsigned d = 0, sub;
    size_t i, n = 0;
    const etf_term *kids = NULL;

    if (limit == 0)
        return 1;
    switch (t->kind) {
    case ETF_TUPLE:
        kids = t->v.elems, n = t->len;
        break;
    case ETF_LIST:
        kids = t->v.elems, n = (size_t)t->len + 1;
        break;
    case ETF_MAP:
        kids = t->v.elems, n = 2 * (size_t)t->len;
        break;
    case ETF_FUN:
        kids = t->v.fun->free, n = t->v.fun->numfree;
        break;
    default:
        return 1;
    }
    for (i = 0; i < n; i++)
        if ((sub = depth(&kids[i], limit - 1)) > d)
            d = sub;
    return d + 1;
}

/* ------------------------------------------------------------------ */
/* ei: a full decode, as a consumer that keeps every value would      */
/* ------------------------------------------------------------------ */

static char *
scratch_alloc(size_t n)
{
    char *p;

    if (scratch_cap - scratch_used < n)
        die("scratch space exhausted");
    p = scratch + scratch_used;
    scratch_used += (n + 7) & ~(size_t)7;
    return p;
}

/* Decode one term with ei_get_type and ei_decode_*, copying atoms,
 * strings, binaries, bignums, pids, ports, refs and funs out of the
 * buffer. Iterative: a count of the terms still to come. */
static int
ei_walk(const char *buf, size_t len)
{
    int index = 0, version, type, size;
    long pending = 1, arity;
    uint64_t acc = 0;

    scratch_used = 0;
    if (ei_decode_version(buf, &index, &version) < 0)
        return -1;
    while (pending > 0) {
        pending--;
        if (ei_get_type(buf, &index, &type, &size) < 0)
            return -1;
        switch (type) {
        case ERL_SMALL_INTEGER_EXT:
        case ERL_INTEGER_EXT:
        case ERL_SMALL_BIG_EXT:
        case ERL_LARGE_BIG_EXT: {
            long long v;

            if (ei_decode_longlong(buf, &index, &v) == 0) {
                acc += (uint64_t)v;
            } else {
                erlang_big *big = ei_alloc_big((unsigned)size);

                if (big == NULL || ei_decode_big(buf, &index, big) < 0)
                    return -1;
                acc += big->arity;
                ei_free_big(big);
            }
            break;
        }
        case ERL_FLOAT_EXT:
        case NEW_FLOAT_EXT: {
            double d;

            if (ei_decode_double(buf, &index, &d) < 0)
                return -1;
            acc += (uint64_t)(d != 0);
            break;
        }
        case ERL_ATOM_EXT: {
            char *atom = scratch_alloc(MAXATOMLEN_UTF8);
            erlang_char_encoding was, res;

            if (ei_decode_atom_as(buf, &index, atom, MAXATOMLEN_UTF8,
                                  ERLANG_UTF8, &was, &res) < 0)
                return -1;
            acc += (uint8_t)atom[0];
            break;
        }
        case ERL_SMALL_TUPLE_EXT:
        case ERL_LARGE_TUPLE_EXT:
            if (ei_decode_tuple_header(buf, &index, &size) < 0)
                return -1;
            pending += size;
            break;
        case ERL_NIL_EXT:
            if (ei_decode_list_header(buf, &index, &size) < 0)
                return -1;
            break;
        case ERL_STRING_EXT: {
            char *s = scratch_alloc((size_t)size + 1);

            if (ei_decode_string(buf, &index, s) < 0)
                return -1;
            acc += (uint8_t)s[0];
            break;
        }
        case ERL_LIST_EXT:
            if (ei_decode_list_header(buf, &index, &size) < 0)
                return -1;
            pending += (long)size + 1;
            break;
        case ERL_BINARY_EXT: {
            char *b = scratch_alloc((size_t)size);

            if (ei_decode_binary(buf, &index, b, &arity) < 0)
                return -1;
            acc += (uint64_t)arity;
            break;
        }
        case ERL_BIT_BINARY_EXT: {
            const char *p;
            unsigned int bitoffs;
            size_t nbits;
            char *b;

            if (ei_decode_bitstring(buf, &index, &p, &bitoffs, &nbits) < 0)
                return -1;
            b = scratch_alloc((nbits + 7) / 8);
            memcpy(b, p, (nbits + 7) / 8);
            acc += nbits;
            break;
        }
        case ERL_MAP_EXT:
            if (ei_decode_map_header(buf, &index, &size) < 0)
                return -1;
            pending += 2 * (long)size;
            break;
        case ERL_PID_EXT:
        case ERL_NEW_PID_EXT: {
            erlang_pid *pid = (erlang_pid *)scratch_alloc(sizeof(*pid));

            if (ei_decode_pid(buf, &index, pid) < 0)
                return -1;
            acc += pid->num;
            break;
        }
        case ERL_PORT_EXT:
        case ERL_NEW_PORT_EXT:
        case ERL_V4_PORT_EXT: {
            erlang_port *port = (erlang_port *)scratch_alloc(sizeof(*port));

            if (ei_decode_port(buf, &index, port) < 0)
                return -1;
            acc += port->id;
            break;
        }
        case ERL_REFERENCE_EXT:
        case ERL_NEW_REFERENCE_EXT:
        case ERL_NEWER_REFERENCE_EXT: {
            erlang_ref *ref = (erlang_ref *)scratch_alloc(sizeof(*ref));

            if (ei_decode_ref(buf, &index, ref) < 0)
                return -1;
            acc += ref->n[0];
            break;
        }
        case ERL_NEW_FUN_EXT:
        case ERL_EXPORT_EXT:
        case ERL_FUN_EXT: {
            erlang_fun f;

            /* free variables come back as a malloc'd copy of their bytes */
            if (ei_decode_fun(buf, &index, &f) < 0)
                return -1;
            acc += (uint64_t)f.arity;
            free_fun(&f);
            break;
        }
        default:
            return -1;
        }
    }
    sink += acc;
    return (size_t)index == len ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* ei: encode a libetf tree with ei_x_encode_*                         */
/* ------------------------------------------------------------------ */

static int ei_put(ei_x_buff *x, const etf_term *t);

static void
node_name(char *dst, const etf_term *atom)
{
    memcpy(dst, atom->v.str, atom->len);
    dst[atom->len] = '\0';
}

static int
ei_put_big(ei_x_buff *x, const etf_term *t)
{
    erlang_big big;
    size_t n = t->len;
    char *digits = scratch_alloc(n + 2);

    /* ei keeps digits as 16-bit words; pad an odd count with a zero */
    memcpy(digits, t->v.bytes, n);
    digits[n] = 0;
    big.arity = (unsigned)n;
    big.is_neg = t->aux != 0;
    big.digits = digits;
    return ei_x_encode_big(x, &big);
}

static int
ei_put_fun(ei_x_buff *x, const etf_term *t)
{
    const etf_fun *f = t->v.fun;
    erlang_fun ef;
    ei_x_buff fv;
    uint32_t i;
    int rc;

    memset(&ef, 0, sizeof(ef));
    ef.arity = f->arity;
    node_name(ef.module, &f->module);
    ef.type = EI_FUN_CLOSURE;
    memcpy(ef.u.closure.md5, f->uniq, 16);
    ef.u.closure.index = (long)f->index;
    ef.u.closure.old_index = (long)f->old_index.v.i;
    ef.u.closure.uniq = (long)f->old_uniq.v.i;
    ef.u.closure.n_free_vars = (long)f->numfree;
    node_name(ef.u.closure.pid.node, &f->pid.v.pid->node);
    ef.u.closure.pid.num = f->pid.v.pid->id;
    ef.u.closure.pid.serial = f->pid.v.pid->serial;
    ef.u.closure.pid.creation = f->pid.v.pid->creation;
    /* ei takes the free variables already encoded */
    if (ei_x_new(&fv) < 0)
        return -1;
    for (i = 0; i < f->numfree; i++)
        if (ei_put(&fv, &f->free[i]) < 0) {
            ei_x_free(&fv);
            return -1;
        }
    ef.u.closure.free_var_len = fv.index;
    ef.u.closure.free_vars = fv.buff;
    rc = ei_x_encode_fun(x, &ef);
    ei_x_free(&fv);
    return rc;
}

/* Encode t with ei_x_encode_*, recursively (ei's headers need the count
 * first, as ours do). */
static int
ei_put(ei_x_buff *x, const etf_term *t)
{
    uint32_t i;

    switch (t->kind) {
    case ETF_INT:
        return ei_x_encode_longlong(x, t->v.i);
    case ETF_BIG:
        return ei_put_big(x, t);
    case ETF_FLOAT:
        return ei_x_encode_double(x, t->v.f);
    case ETF_ATOM:
        return ei_x_encode_atom_len_as(x, t->v.str, (int)t->len, ERLANG_UTF8,
                                       ERLANG_UTF8);
    case ETF_TUPLE:
        if (ei_x_encode_tuple_header(x, t->len) < 0)
            return -1;
        for (i = 0; i < t->len; i++)
            if (ei_put(x, &t->v.elems[i]) < 0)
                return -1;
        return 0;
    case ETF_NIL:
        return ei_x_encode_empty_list(x);
    case ETF_LIST:
        if (ei_x_encode_list_header(x, t->len) < 0)
            return -1;
        for (i = 0; i <= t->len; i++)
            if (ei_put(x, &t->v.elems[i]) < 0)
                return -1;
        return 0;
    case ETF_STRING:
        return ei_x_encode_string_len(x, (const char *)t->v.bytes, (int)t->len);
    case ETF_BINARY:
        if (t->aux == 8)
            return ei_x_encode_binary(x, t->v.bytes, (int)t->len);
        return ei_x_encode_bitstring(x, (const char *)t->v.bytes, 0,
                                     ((size_t)t->len - 1) * 8 + t->aux);
    case ETF_MAP:
        if (ei_x_encode_map_header(x, t->len) < 0)
            return -1;
        for (i = 0; i < 2 * t->len; i++)
            if (ei_put(x, &t->v.elems[i]) < 0)
                return -1;
        return 0;
    case ETF_PID: {
        erlang_pid p;

        node_name(p.node, &t->v.pid->node);
        p.num = t->v.pid->id;
        p.serial = t->v.pid->serial;
        p.creation = t->v.pid->creation;
        return ei_x_encode_pid(x, &p);
    }
    case ETF_PORT: {
        erlang_port p;

        node_name(p.node, &t->v.port->node);
        p.id = t->v.port->id;
        p.creation = t->v.port->creation;
        return ei_x_encode_port(x, &p);
    }
    case ETF_REF: {
        erlang_ref r;

        node_name(r.node, &t->v.ref->node);
        r.len = (int)t->v.ref->len;
        memcpy(r.n, t->v.ref->id, sizeof(r.n));
        r.creation = t->v.ref->creation;
        return ei_x_encode_ref(x, &r);
    }
    case ETF_EXPORT: {
        erlang_fun f;
        char func[MAXATOMLEN_UTF8];

        memset(&f, 0, sizeof(f));
        f.arity = t->v.exp->arity;
        f.type = EI_FUN_EXPORT;
        node_name(f.module, &t->v.exp->module);
        node_name(func, &t->v.exp->function);
        f.u.exprt.func = func;
        return ei_x_encode_fun(x, &f);
    }
    case ETF_FUN:
        return ei_put_fun(x, t);
    default:
        return -1;
    }
}

static int
ei_encode_tree(ei_x_buff *x, const etf_term *t)
{
    x->index = 0;
    scratch_used = 0;
    if (ei_x_encode_version(x) < 0)
        return -1;
    return ei_put(x, t);
}

/* ------------------------------------------------------------------ */
/* The phases                                                          */
/* ------------------------------------------------------------------ */

enum phase { DECODE, SKIP, ENCODE };

static etf_arena *pass_arena, *tree_arena;
static uint8_t *out_buf;
static size_t out_cap;
static ei_x_buff xbuf;

/* One full decode of s by each side; a failure ends the run. */
static void
decode_ours(const struct sample *s)
{
    etf_error err;
    etf_term *t;

    etf_arena_reset(pass_arena);
    t = etf_decode(pass_arena, s->bytes, s->len, NULL, NULL, &err);
    if (t == NULL)
        die("%s: etf_decode: %s", s->name, err.msg);
    sink += t->kind;
}

static void
decode_ei(const struct sample *s)
{
    if (ei_walk((const char *)s->bytes, s->len) < 0)
        die("%s: ei decode walk failed", s->name);
}

/* One pass of libetf over every sample. */
static void
ours_pass(enum phase ph)
{
    size_t i;

    for (i = 0; i < nsamples; i++) {
        const struct sample *s = &samples[i];

        switch (ph) {
        case DECODE:
            decode_ours(s);
            break;
        case SKIP: {
            etf_reader r;

            etf_reader_init(&r, s->bytes, s->len);
            if (etf_read_version(&r) < 0 || etf_skip(&r) < 0)
                die("%s: etf_skip: %s", s->name, r.err.msg);
            sink += r.pos;
            break;
        }
        case ENCODE: {
            etf_writer w;

            etf_writer_init(&w, out_buf, out_cap);
            if (etf_encode(s->tree, &w, NULL) < 0)
                die("%s: etf_encode: %s", s->name, w.err.msg);
            sink += w.pos;
            break;
        }
        }
    }
}

/* One pass of ei over every sample. */
static void
ei_pass(enum phase ph)
{
    size_t i;

    for (i = 0; i < nsamples; i++) {
        const struct sample *s = &samples[i];
        const char *b = (const char *)s->bytes;

        switch (ph) {
        case DECODE:
            decode_ei(s);
            break;
        case SKIP: {
            int index = 0, version;

            if (ei_decode_version(b, &index, &version) < 0 ||
                ei_skip_term(b, &index) < 0)
                die("%s: ei_skip_term failed", s->name);
            sink += (uint64_t)index;
            break;
        }
        case ENCODE:
            if (ei_encode_tree(&xbuf, s->tree) < 0)
                die("%s: ei_x_encode_* failed", s->name);
            sink += (uint64_t)xbuf.index;
            break;
        }
    }
}

/* Run both sides, alternating which goes first, until each has run for
 * BENCH_MIN_SECONDS; return MB/s of corpus bytes for each. */
static void
measure(enum phase ph, double *ours_mbs, double *ei_mbs)
{
    double t_ours = 0, t_ei = 0, t0;
    unsigned rounds = 0, n_ours = 0, n_ei = 0;

    ours_pass(ph); /* warm up */
    ei_pass(ph);
    while (t_ours < BENCH_MIN_SECONDS || t_ei < BENCH_MIN_SECONDS ||
           rounds < 4) {
        for (int k = 0; k < 2; k++) {
            bool ours_turn = (k == 0) == (rounds % 2 == 0);

            t0 = now();
            if (ours_turn) {
                ours_pass(ph);
                t_ours += now() - t0;
                n_ours++;
            } else {
                ei_pass(ph);
                t_ei += now() - t0;
                n_ei++;
            }
        }
        rounds++;
    }
    *ours_mbs = (double)total_bytes * n_ours / t_ours / 1e6;
    *ei_mbs = (double)total_bytes * n_ei / t_ei / 1e6;
}

/* ---- the floor: every node visited, nothing built ---- */

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* Past the atom at p: any atom tag, as a pid's node or an export's name. */
static const uint8_t *
past_atom(const uint8_t *p)
{
    if (p[0] == 115 || p[0] == 119) /* SMALL_ATOM_EXT, SMALL_ATOM_UTF8_EXT */
        return p + 2 + p[1];
    return p + 3 + ((size_t)p[1] << 8 | p[2]);
}

/*
 * Visit every node of the term after the version byte with one switch on
 * its tag, and move past it: no tree, no copy, no check. A decoder that
 * branches on each node's tag pays at least this; on terms of random shape
 * most of it is the branch on the tag going wrong. The terms are known
 * good (both decoders took them); a walk that does not end at the term's
 * last byte stops the bench. Returns the nodes visited.
 */
static size_t
floor_walk(const uint8_t *p, size_t len)
{
    static uint64_t stack[BENCH_MAX_DEPTH + 1];
    const uint8_t *start = p, *end = p + len;
    uint64_t left = 1; /* nodes still to visit in the open container */
    size_t depth = 0, nodes = 0;

    for (p++;; nodes++) {
        while (left == 0) {
            if (depth == 0) {
                if (p != end)
                    die("floor walk ends at byte %zu of %zu",
                        (size_t)(p - start), len);
                return nodes;
            }
            left = stack[--depth];
        }
        left--;
        switch (*p) {
        case 97: /* SMALL_INTEGER_EXT */
            p += 2;
            break;
        case 98: /* INTEGER_EXT */
            p += 5;
            break;
        case 70: /* NEW_FLOAT_EXT */
            p += 9;
            break;
        case 99: /* FLOAT_EXT */
            p += 32;
            break;
        case 106: /* NIL_EXT */
            p += 1;
            break;
        case 100:
        case 115:
        case 118:
        case 119: /* the atoms */
            p = past_atom(p);
            break;
        case 104: /* SMALL_TUPLE_EXT */
        case 105: /* LARGE_TUPLE_EXT */
        case 108: /* LIST_EXT: the elements and a tail */
        case 116: /* MAP_EXT: keys and values */
            if (depth == BENCH_MAX_DEPTH)
                die("floor walk: deeper than %d", BENCH_MAX_DEPTH);
            stack[depth++] = left;
            left = *p == 104   ? p[1]
                   : *p == 108 ? (uint64_t)be32(p + 1) + 1
                   : *p == 116 ? 2 * (uint64_t)be32(p + 1)
                               : be32(p + 1);
            p += *p == 104 ? 2 : 5;
            break;
        case 107: /* STRING_EXT */
            p += 3 + ((size_t)p[1] << 8 | p[2]);
            break;
        case 109: /* BINARY_EXT */
            p += 5 + (size_t)be32(p + 1);
            break;
        case 77: /* BIT_BINARY_EXT */
            p += 6 + (size_t)be32(p + 1);
            break;
        case 110: /* SMALL_BIG_EXT */
            p += 3 + p[1];
            break;
        case 111: /* LARGE_BIG_EXT */
            p += 6 + (size_t)be32(p + 1);
            break;
        case 88:  /* NEW_PID_EXT */
        case 120: /* V4_PORT_EXT */
            p = past_atom(p + 1) + 12;
            break;
        case 89: /* NEW_PORT_EXT */
            p = past_atom(p + 1) + 8;
            break;
        case 103: /* PID_EXT */
            p = past_atom(p + 1) + 9;
            break;
        case 102: /* PORT_EXT */
            p = past_atom(p + 1) + 5;
            break;
        case 90: /* NEWER_REFERENCE_EXT */
            p = past_atom(p + 3) + 4 + 4 * ((size_t)p[1] << 8 | p[2]);
            break;
        case 114: /* NEW_REFERENCE_EXT */
            p = past_atom(p + 3) + 1 + 4 * ((size_t)p[1] << 8 | p[2]);
            break;
        case 113: /* EXPORT_EXT: module, function, arity */
            p = past_atom(past_atom(p + 1)) + 2;
            break;
        case 112: /* NEW_FUN_EXT: its size counts itself */
            p += 1 + (size_t)be32(p + 1);
            break;
        default:
            die("floor walk: tag %u at byte %zu", *p, (size_t)(p - start));
        }
    }
}

/* ms a pass of the floor walk over the corpus, for BENCH_MIN_SECONDS. */
static double
floor_ms(void)
{
    double t0;
    unsigned n = 0;
    size_t i;

    for (i = 0; i < nsamples; i++) /* warm up, and check every term */
        sink += floor_walk(samples[i].bytes, samples[i].len);
    t0 = now();
    while (now() - t0 < BENCH_MIN_SECONDS) {
        for (i = 0; i < nsamples; i++)
            sink += floor_walk(samples[i].bytes, samples[i].len);
        n++;
    }
    return (now() - t0) / n * 1e3;
}

/* Free what load() made. */
static void
unload(void)
{
    size_t i;

    for (i = 0; i < nsamples; i++) {
        free(samples[i].bytes);
        free(samples[i].name);
    }
    free(samples);
    free(scratch);
    free(out_buf);
    ei_x_free(&xbuf);
    etf_arena_free(pass_arena);
    etf_arena_free(tree_arena);
}

static void
load(const char *dir)
{
    char path[8192], sub[4096];
    char **names;
    size_t count = 0, i, compressed = 0, deep = 0, ei_fails = 0, ei_lossy = 0;
    size_t all_bytes = 0;
    etf_arena *trees;
    const char *from = dir;

    snprintf(sub, sizeof(sub), "%s/terms", dir);
    if ((names = list_dir(sub, &count)) != NULL)
        from = sub;
    else if ((names = list_dir(dir, &count)) == NULL)
        die("%s: no .etf files (nor in %s)", dir, sub);
    samples = xmalloc(count * sizeof(*samples));
    if ((trees = tree_arena = etf_arena_new()) == NULL)
        die("out of memory");
    for (i = 0; i < count; i++) {
        struct sample s;
        etf_error err;

        snprintf(path, sizeof(path), "%s/%s", from, names[i]);
        s.name = names[i];
        s.bytes = read_file(path, &s.len);
        all_bytes += s.len;
        if (s.len >= 2 && s.bytes[0] == 131 && s.bytes[1] == 80) {
            compressed++; /* tag 80: ei has no inflate */
            free(s.bytes);
            free(s.name);
            continue;
        }
        s.tree = etf_decode(trees, s.bytes, s.len, NULL, NULL, &err);
        if (s.tree == NULL)
            die("%s: libetf cannot decode it: %s", path, err.msg);
        if (depth(s.tree, BENCH_MAX_DEPTH) > BENCH_MAX_DEPTH) {
            deep++;
            free(s.bytes);
            free(s.name);
            continue;
        }
        if (s.len > max_len)
            max_len = s.len;
        samples[nsamples++] = s;
        total_bytes += s.len;
    }
    free(names);
    printf("etf-bench: corpus %s: %zu files, %zu bytes\n", from, count,
           all_bytes);
    printf("etf-bench: left out %zu compressed terms (tag 80: ei cannot "
           "inflate), %zu terms nested deeper than %d (ei recurses)\n",
           compressed, deep, BENCH_MAX_DEPTH);

    /* Scratch for the ei walk: every copy it makes fits twice the input
     * (Latin-1 atoms grow to UTF-8) plus the fixed-size structs. */
    scratch_cap = 4 * max_len + 64 * 1024 * 1024;
    scratch = xmalloc(scratch_cap);
    out_cap = 2 * max_len + 1024;
    out_buf = xmalloc(out_cap);
    if (ei_x_new(&xbuf) < 0 || (pass_arena = etf_arena_new()) == NULL)
        die("out of memory");

    /* Both sides must handle every term they are timed on, and ei's
     * encoding must be the same term as ours. */
    for (i = 0; i < nsamples; i++) {
        struct sample *s = &samples[i];
        etf_arena *a;
        etf_term *back;
        etf_error err;
        int index = 0, version;

        if (ei_walk((const char *)s->bytes, s->len) < 0 ||
            ei_decode_version((const char *)s->bytes, &index, &version) < 0 ||
            ei_skip_term((const char *)s->bytes, &index) < 0 ||
            (size_t)index != s->len) {
            ei_fails++;
            total_bytes -= s->len;
            free(s->bytes);
            free(s->name);
            samples[i--] = samples[--nsamples];
            continue;
        }
        if (ei_encode_tree(&xbuf, s->tree) < 0)
            die("%s: ei cannot encode it", s->name);
        if ((a = etf_arena_new()) == NULL)
            die("out of memory");
        back = etf_decode(a, xbuf.buff, (size_t)xbuf.index, NULL, NULL, &err);
        if (back == NULL || !etf_equal(back, s->tree)) {
            /* ei keeps node, module and function names NUL-terminated */
            ei_lossy++;
            total_bytes -= s->len;
            free(s->bytes);
            free(s->name);
            samples[i--] = samples[--nsamples];
        }
        etf_arena_free(a);
    }
    printf("etf-bench: left out %zu terms ei fails to decode, %zu it cannot "
           "encode as they are\n"
           "           (a NUL in a pid's node or a fun's module or function "
           "name: ei's strings end at NUL)\n",
           ei_fails, ei_lossy);
    if (nsamples == 0)
        die("nothing left to measure");
    printf("etf-bench: measuring %zu terms, %.1f MB; each side runs each "
           "phase >= %.0f s, alternating which goes first\n",
           nsamples, (double)total_bytes / 1e6, BENCH_MIN_SECONDS);
}

/*
 * Decode with warm caches and a trained branch predictor: each term on its
 * own, WARM_REPS times in a row, the best of WARM_ROUNDS such runs, summed
 * over the corpus. Against the timed passes, where each term comes once,
 * this shows what the term shapes cost in mispredicted branches.
 */
#define WARM_REPS 5
#define WARM_ROUNDS 7

static void
warm(void)
{
    double ours = 0, theirs = 0, walk = 0, t0, t1, t2, t3, best_o, best_e,
           best_w;
    size_t i;
    int k, round;

    for (i = 0; i < nsamples; i++) {
        const struct sample *s = &samples[i];

        best_o = best_e = best_w = 1e9;
        for (round = 0; round < WARM_ROUNDS; round++) {
            t0 = now();
            for (k = 0; k < WARM_REPS; k++)
                decode_ours(s);
            t1 = now();
            for (k = 0; k < WARM_REPS; k++)
                decode_ei(s);
            t2 = now();
            for (k = 0; k < WARM_REPS; k++)
                sink += floor_walk(s->bytes, s->len);
            t3 = now();
            if (t1 - t0 < best_o)
                best_o = t1 - t0;
            if (t2 - t1 < best_e)
                best_e = t2 - t1;
            if (t3 - t2 < best_w)
                best_w = t3 - t2;
        }
        ours += best_o / WARM_REPS;
        theirs += best_e / WARM_REPS;
        walk += best_w / WARM_REPS;
    }
    printf("decode, each term %d times in a row (best of %d): libetf %.2f ms, "
           "ei %.2f ms for the corpus\n"
           "the floor walk the same way: %.2f ms\n",
           WARM_REPS, WARM_ROUNDS, ours * 1e3, theirs * 1e3, walk * 1e3);
    printf("etf-bench: warm decode %.2fx ei\n", theirs / ours);
}

int
main(int argc, char **argv)
{
    double d_ours, d_ei, s_ours, s_ei, e_ours, e_ei, fl, mb;

    if (argc == 4 && strcmp(argv[1], "--profile") == 0) {
        /* libetf alone on one phase for a few seconds, for perf */
        enum phase ph = strcmp(argv[2], "skip") == 0     ? SKIP
                        : strcmp(argv[2], "encode") == 0 ? ENCODE
                                                         : DECODE;
        double t0;
        unsigned n = 0;

        if (ei_init() != 0)
            die("ei_init failed");
        load(argv[3]);
        t0 = now();
        while (now() - t0 < 3.0) {
            ours_pass(ph);
            n++;
        }
        printf("etf-bench: libetf %s %.1f MB/s\n", argv[2],
               (double)total_bytes * n / (now() - t0) / 1e6);
        unload();
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--warm") == 0) {
        if (ei_init() != 0)
            die("ei_init failed");
        load(argv[2]);
        warm();
        unload();
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: etf-bench CORPUS_DIR\n"
                        "       etf-bench --profile decode|skip|encode "
                        "CORPUS_DIR\n"
                        "       etf-bench --warm CORPUS_DIR\n");
        return 2;
    }
    if (ei_init() != 0)
        die("ei_init failed");
    load(argv[1]);

    measure(DECODE, &d_ours, &d_ei);
    printf("decode  libetf %8.1f MB/s   ei %8.1f MB/s   %.2fx\n", d_ours, d_ei,
           d_ours / d_ei);
    printf("        libetf: etf_decode into an arena tree (atoms, strings, "
           "binaries copied)\n"
           "        ei: ei_get_type + ei_decode_* on every term, copying "
           "atoms (as UTF-8), strings,\n"
           "            binaries and bitstrings into a reused scratch "
           "buffer; bignums via\n"
           "            ei_alloc_big/ei_decode_big, funs via "
           "ei_decode_fun/free_fun\n");
    fl = floor_ms();
    mb = (double)total_bytes / 1e6;
    printf("        floor: %.2f ms a pass to visit every node with one branch "
           "on its tag,\n"
           "            building and checking nothing; a pass of libetf "
           "takes %.2f ms, of ei %.2f ms,\n"
           "            and decode at 2x ei would take %.2f ms\n",
           fl, mb / d_ours * 1e3, mb / d_ei * 1e3, mb / d_ei * 1e3 / 2);
    measure(SKIP, &s_ours, &s_ei);
    printf("skip    libetf %8.1f MB/s   ei %8.1f MB/s   %.2fx\n", s_ours, s_ei,
           s_ours / s_ei);
    printf("        etf_skip vs ei_skip_term, after the version byte\n");
    measure(ENCODE, &e_ours, &e_ei);
    printf("encode  libetf %8.1f MB/s   ei %8.1f MB/s   %.2fx\n", e_ours, e_ei,
           e_ours / e_ei);
    printf("        both from the same decoded libetf tree, so both pay a "
           "tree walk: etf_encode\n"
           "        into a fixed buffer; ei_x_encode_* per node into a "
           "reused ei_x_buff\n"
           "        (MB/s counts the corpus bytes the terms came from)\n");
    printf("etf-bench: decode %.2fx ei, skip %.2fx ei, encode %.2fx ei\n",
           d_ours / d_ei, s_ours / s_ei, e_ours / e_ei);
    unload();
    return sink == 42 ? 3 : 0;
}
