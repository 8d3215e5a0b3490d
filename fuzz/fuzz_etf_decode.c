/*
 * libFuzzer target for the ETF decoder. For any input:
 *  - etf_decode reads nothing past the input (it gets a heap copy of exactly
 *    len bytes, so AddressSanitizer sees any over-read) and reports a used
 *    count within it; with exact set it agrees on whether bytes are left;
 *  - if it decodes, encode -> decode -> encode gives the same bytes and a
 *    tree etf_equal to the first, and decoding with borrow (binaries and
 *    strings left in the input) gives an equal tree;
 *  - etf_skip never rejects what etf_decode accepts, and accepts what it
 *    rejects only for duplicate map keys (which skipping cannot see);
 *  - a walk with the cursor API (etf_peek and etf_read_*), touching every
 *    view it hands out, agrees with etf_skip and does not crash.
 * A failed invariant aborts, which libFuzzer reports with the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <etf.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs are small; keep a compressed term from asking for much memory. */
#define FUZZ_MAX_INFLATED (1u << 20)

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_etf_decode: " __VA_ARGS__);                  \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

static volatile uint8_t sink;

/* Read every byte of a view, so the sanitizer checks that it is in bounds. */
static void
touch(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t x = 0;

    for (size_t i = 0; i < len; i++)
        x ^= b[i];
    sink ^= x;
}

static void
touch_atom(const etf_atomv *a)
{
    char utf8[ETF_MAX_ATOM_BYTES];
    size_t n;

    touch(a->p, a->len);
    n = etf_atom_utf8(a, utf8);
    CHECK(n <= sizeof(utf8), "atom transcodes to %zu bytes", n);
    touch(utf8, n);
}

static void
touch_int(const etf_intv *v)
{
    if (v->big)
        touch(v->digits, v->ndigits);
}

/* Walk one term with the cursor API, as a consumer would. Returns 0 or -1
 * like etf_skip, leaving r->pos after the term on success. */
static int
walk(etf_reader *r)
{
    uint64_t pending = 1;
    size_t start = r->pos;

    while (pending > 0) {
        etf_type t;
        etf_intv iv;
        etf_atomv av, fv_;
        etf_pidv pv;
        etf_portv ov;
        etf_refv rv;
        etf_funv fv;
        const uint8_t *bp;
        size_t bl;
        unsigned bits;
        uint32_t n;
        double d;
        int64_t i64;
        int rc;

        pending--;
        if (etf_peek(r, &t) < 0)
            goto fail;
        switch (t) {
        case ETF_T_INTEGER: {
            etf_reader copy = *r;
            int r64 = etf_read_int64(&copy, &i64);

            rc = etf_read_integer(r, &iv);
            if (rc == 0) {
                touch_int(&iv);
                /* int64 reads the same integer, or says it does not fit */
                if (iv.big)
                    CHECK(r64 < 0 && copy.err.code == ETF_E_RANGE,
                          "etf_read_int64 on a bignum: %d", r64);
                else
                    CHECK(r64 == 0 && i64 == iv.i && copy.pos == r->pos,
                          "etf_read_int64 and etf_read_integer disagree");
            } else
                CHECK(r64 < 0, "etf_read_int64 accepts a bad integer");
            break;
        }
        case ETF_T_FLOAT:
            rc = etf_read_double(r, &d);
            CHECK(rc < 0 || d == d, "etf_read_double gave NaN");
            break;
        case ETF_T_ATOM:
            rc = etf_read_atom(r, &av);
            if (rc == 0)
                touch_atom(&av);
            break;
        case ETF_T_TUPLE:
            rc = etf_read_tuple_header(r, &n);
            pending += rc == 0 ? n : 0;
            break;
        case ETF_T_NIL:
            rc = etf_read_nil(r);
            break;
        case ETF_T_STRING:
            rc = etf_read_string(r, &bp, &bl);
            if (rc == 0)
                touch(bp, bl);
            break;
        case ETF_T_LIST:
            rc = etf_read_list_header(r, &n);
            pending += rc == 0 ? (uint64_t)n + 1 : 0;
            break;
        case ETF_T_BINARY:
            rc = etf_read_binary(r, &bp, &bl, &bits);
            if (rc == 0) {
                CHECK(bits >= 1 && bits <= 8, "binary with %u bits", bits);
                touch(bp, bl);
            }
            break;
        case ETF_T_MAP:
            rc = etf_read_map_header(r, &n);
            pending += rc == 0 ? 2 * (uint64_t)n : 0;
            break;
        case ETF_T_PID:
            rc = etf_read_pid(r, &pv);
            if (rc == 0)
                touch_atom(&pv.node);
            break;
        case ETF_T_PORT:
            rc = etf_read_port(r, &ov);
            if (rc == 0)
                touch_atom(&ov.node);
            break;
        case ETF_T_REF:
            rc = etf_read_ref(r, &rv);
            if (rc == 0) {
                CHECK(rv.len <= ETF_MAX_REF_WORDS, "ref of %u words", rv.len);
                touch_atom(&rv.node);
            }
            break;
        case ETF_T_EXPORT:
            rc = etf_read_export(r, &av, &fv_, &n);
            if (rc == 0) {
                touch_atom(&av);
                touch_atom(&fv_);
            }
            break;
        case ETF_T_FUN:
            rc = etf_read_fun(r, &fv);
            if (rc == 0) {
                touch_atom(&fv.module);
                touch_int(&fv.old_index);
                touch_int(&fv.old_uniq);
                if (!fv.creator_is_term)
                    touch_atom(&fv.pid.node);
                /* A creator that is not a pid comes as one more term. */
                pending += (uint64_t)fv.numfree + fv.creator_is_term;
            }
            break;
        case ETF_T_LOCAL:
            rc = etf_read_local(r, &bp, &bl);
            if (rc == 0)
                touch(bp, bl);
            break;
        default:
            /* compressed inside a term */
            rc = -1;
            break;
        }
        if (rc < 0)
            goto fail;
        CHECK(r->pos <= r->len, "reader at %zu past %zu", r->pos, r->len);
        if (pending > r->len - r->pos)
            goto fail; /* as etf_skip: the rest cannot fit */
    }
    return 0;
fail:
    r->pos = start;
    return -1;
}

/* Skip and walk one top-level term (version byte, maybe compressed) and
 * check that they agree; returns etf_skip's verdict. */
static int
skip_and_walk(const uint8_t *buf, size_t len, size_t *used)
{
    etf_reader r, w;
    etf_type t;
    uint32_t usize;
    uint8_t *inflated;
    int rs, rw;

    etf_reader_init(&r, buf, len);
    if (etf_read_version(&r) < 0)
        return -1;
    if (etf_peek(&r, &t) == 0 && t == ETF_T_COMPRESSED) {
        if (etf_read_compressed_size(&r, &usize) < 0 ||
            usize > FUZZ_MAX_INFLATED)
            return -1;
        inflated = malloc(usize ? usize : 1);
        CHECK(inflated != NULL, "out of memory");
        if (etf_inflate(&r, inflated, usize) < 0) {
            free(inflated);
            return -1;
        }
        *used = r.pos;
        etf_reader_init(&r, inflated, usize);
        etf_reader_init(&w, inflated, usize);
        rs = etf_skip(&r);
        rw = walk(&w);
        CHECK(rs == rw && r.pos == w.pos,
              "skip (%d at %zu) and walk (%d at %zu) disagree in "
              "compressed data",
              rs, r.pos, rw, w.pos);
        free(inflated);
        return rs;
    }
    w = r;
    rs = etf_skip(&r);
    rw = walk(&w);
    CHECK(rs == rw && r.pos == w.pos,
          "skip (%d at %zu) and walk (%d at %zu) disagree", rs, r.pos, rw,
          w.pos);
    if (rs == 0)
        *used = r.pos;
    return rs;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    etf_decode_opts opts = {.max_inflated = FUZZ_MAX_INFLATED};
    etf_decode_opts borrow = {.max_inflated = FUZZ_MAX_INFLATED,
                              .borrow = true};
    etf_decode_opts exact = {.max_inflated = FUZZ_MAX_INFLATED, .exact = true};
    etf_error err = {0}, err2 = {0};
    etf_arena *a, *b;
    etf_term *t, *t2, *tx;
    uint8_t *buf, *e1, *e2;
    size_t used = 0, skipped = 0, n1 = 0, n2 = 0;
    int rs;

    /* An exact-size heap copy: reading past it is a sanitizer report. */
    buf = malloc(size ? size : 1);
    CHECK(buf != NULL, "out of memory");
    if (size > 0)
        memcpy(buf, data, size);
    a = etf_arena_new();
    b = etf_arena_new();
    CHECK(a != NULL && b != NULL, "out of memory");

    t = etf_decode(a, buf, size, &opts, &used, &err);
    rs = skip_and_walk(buf, size, &skipped);
    if (t == NULL) {
        CHECK(err.code != ETF_OK, "decode failed without a code");
        CHECK(err.pos <= size, "error at %zu past %zu", err.pos, size);
        /* Skipping cannot see duplicate keys, has no depth limit, and
         * takes a compressed term's data as a term plus trailing bytes. */
        CHECK(rs < 0 || err.code == ETF_E_DUPKEY || err.code == ETF_E_DEPTH ||
                  err.code == ETF_E_COMPRESSED,
              "etf_skip accepts what etf_decode rejects: %s at %zu: %s",
              etf_strerror(err.code), err.pos, err.msg);
        goto out;
    }
    CHECK(used <= size, "used %zu of %zu", used, size);
    CHECK(rs == 0, "etf_skip rejects what etf_decode accepts");
    CHECK(skipped == used, "etf_skip used %zu, etf_decode %zu", skipped, used);

    /* Borrowing binaries and strings from buf decodes the same term. */
    etf_arena_reset(b);
    tx = etf_decode(b, buf, size, &borrow, NULL, &err2);
    CHECK(tx != NULL && etf_equal(t, tx),
          "decode with borrow differs from decode with copies");

    etf_arena_reset(b);
    tx = etf_decode(b, buf, size, &exact, NULL, &err2);
    CHECK((tx != NULL) == (used == size),
          "exact decode %s with %zu of %zu bytes used",
          tx ? "accepts" : "rejects", used, size);
    CHECK(tx != NULL || err2.code == ETF_E_TRAILING,
          "exact decode fails with %s, not trailing", etf_strerror(err2.code));

    e1 = etf_encode_alloc(t, NULL, &n1, &err);
    CHECK(e1 != NULL, "cannot encode a decoded term: %s: %s",
          etf_strerror(err.code), err.msg);
    etf_arena_reset(b);
    t2 = etf_decode(b, e1, n1, &exact, NULL, &err);
    CHECK(t2 != NULL, "cannot decode our own encoding: %s at %zu: %s",
          etf_strerror(err.code), err.pos, err.msg);
    CHECK(etf_equal(t, t2), "decode(encode(t)) is not t");
    CHECK(etf_compare(t, t2, true) == 0, "etf_compare says they differ");
    e2 = etf_encode_alloc(t2, NULL, &n2, &err);
    CHECK(e2 != NULL, "cannot re-encode");
    CHECK(n1 == n2 && memcmp(e1, e2, n1) == 0,
          "encode is not stable (%zu vs %zu bytes)", n1, n2);
    free(e1);
    free(e2);
out:
    etf_arena_free(a);
    etf_arena_free(b);
    free(buf);
    return 0;
}
