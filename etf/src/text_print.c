/*
 * The Erlang text form of a term, printed as OTP 25 prints it:
 * ETF_TEXT_W is io_lib:format("~w", [T]) and ETF_TEXT_TP is
 * io_lib:format("~tp", [T]) on a single line (io_lib_pretty with
 * line_length 0), both as UTF-8. Pids, ports and refs name their node
 * where OTP prints an index into its own node table (docs/text.md).
 *
 * The printer keeps its own stack of open containers, so the depth of a
 * term costs heap, never C stack: a 1,000,000-deep list prints.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etf_int.h"

/* The output: a growing buffer that remembers running out of memory. */
typedef struct tbuf {
    char *p;
    size_t len, cap;
    bool oom;
} tbuf;

/* The most keys OTP keeps in a flat, sorted map (MAP_SMALL_MAP_LIMIT). */
#define MAP_SMALL 32

/* One open container on the print stack. */
typedef struct pframe {
    const etf_term *t; /* the tuple, map or the list segment being walked */
    size_t i;          /* next element (maps: next key or value) */
    bool first;        /* nothing printed inside yet */
    bool closing;      /* list: the improper tail is printed, close it */
    uint32_t *order;   /* small map out of key order: its pairs sorted */
} pframe;

/* Make room for n more bytes. */
static bool
tb_reserve(tbuf *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->oom)
        return false;
    if (n <= b->cap - b->len)
        return true;
    cap = b->cap ? b->cap : 64;
    while (n > cap - b->len) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void
tb_put(tbuf *b, const void *s, size_t n)
{
    if (n == 0 || !tb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void
tb_puts(tbuf *b, const char *s)
{
    tb_put(b, s, strlen(s));
}

static void
tb_putc(tbuf *b, char c)
{
    if (!tb_reserve(b, 1))
        return;
    b->p[b->len++] = c;
}

/* Append a code point as UTF-8. */
static void
tb_cp(tbuf *b, uint32_t cp)
{
    uint8_t u[4];

    tb_put(b, u, utf8_encode(cp, u));
}

static void
tb_u64(tbuf *b, uint64_t v)
{
    char s[24];
    size_t i = sizeof(s);

    do {
        s[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    tb_put(b, s + i, sizeof(s) - i);
}

static void
tb_i64(tbuf *b, int64_t v)
{
    if (v < 0) {
        tb_putc(b, '-');
        tb_u64(b, 0 - (uint64_t)v);
    } else {
        tb_u64(b, (uint64_t)v);
    }
}

/* ------------------------------------------------------------------ */
/* Atoms and strings as io_lib writes them                             */
/* ------------------------------------------------------------------ */

/* erl_scan:reserved_word/1 of OTP 25 (no features enabled). */
static const char *const reserved[] = {
    "after",  "and",     "andalso", "band", "begin", "bnot", "bor",
    "bsl",    "bsr",     "bxor",    "case", "catch", "cond", "div",
    "end",    "fun",     "if",      "let",  "not",   "of",   "or",
    "orelse", "receive", "rem",     "try",  "when",  "xor",
};

/* True when the UTF-8 text is one of Erlang's reserved words. */
static bool
is_reserved(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strlen(reserved[i]) == len && memcmp(reserved[i], s, len) == 0)
            return true;
    return false;
}

/* io_lib's first character of an unquoted atom: a-z, or Latin-1 ß-ÿ but
 * not ÷. */
static bool
atom_start(uint32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 0xDF && c <= 0xFF && c != 0xF7);
}

/* io_lib's name_char/1. */
static bool
atom_char(uint32_t c)
{
    return atom_start(c) || (c >= 'A' && c <= 'Z') ||
           (c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= '0' && c <= '9') ||
           c == '_' || c == '@';
}

/* Decode the next code point of valid UTF-8 (atoms in the tree are
 * validated); a stray byte reads as itself so nothing loops. */
static size_t
next_cp(const uint8_t *p, size_t n, uint32_t *cp)
{
    size_t k = utf8_decode(p, n, cp);

    if (k == 0) {
        *cp = p[0];
        k = 1;
    }
    return k;
}

/* io_lib's string_char/4: one character inside quotes q. With uni false,
 * characters above U+00FF print as \x{HEX} (write_string_as_latin1). */
static void
put_char_escaped(tbuf *b, uint32_t c, uint32_t q, bool uni)
{
    char s[16];

    if (c == q) {
        tb_putc(b, '\\');
        tb_putc(b, (char)c);
    } else if (c == '\\') {
        tb_put(b, "\\\\", 2);
    } else if (c >= ' ' && c <= '~') {
        tb_putc(b, (char)c);
    } else if (c >= 0xA0 && (uni || c <= 0xFF)) {
        tb_cp(b, c);
    } else if (c > 0xFF) {
        snprintf(s, sizeof(s), "\\x{%X}", (unsigned)c);
        tb_puts(b, s);
    } else {
        switch (c) {
        case '\n':
            tb_put(b, "\\n", 2);
            break;
        case '\r':
            tb_put(b, "\\r", 2);
            break;
        case '\t':
            tb_put(b, "\\t", 2);
            break;
        case '\v':
            tb_put(b, "\\v", 2);
            break;
        case '\b':
            tb_put(b, "\\b", 2);
            break;
        case '\f':
            tb_put(b, "\\f", 2);
            break;
        case 27:
            tb_put(b, "\\e", 2);
            break;
        case 127:
            tb_put(b, "\\d", 2);
            break;
        default:
            snprintf(s, sizeof(s), "\\%c%c%c", '0' + (int)(c >> 6),
                     '0' + (int)((c >> 3) & 7), '0' + (int)(c & 7));
            tb_puts(b, s);
        }
    }
}

/* Print an atom as io_lib:write_atom/1 (uni) or write_atom_as_latin1/1;
 * force_quote quotes it whatever its text (node names in pids). */
static void
put_atom(tbuf *b, const char *str, size_t len, bool uni, bool force_quote)
{
    const uint8_t *p = (const uint8_t *)str;
    size_t i, k;
    uint32_t c;
    bool quote = force_quote || len == 0 || is_reserved(str, len);

    for (i = 0; !quote && i < len; i += k) {
        k = next_cp(p + i, len - i, &c);
        if (i == 0 ? !atom_start(c) : !atom_char(c))
            quote = true;
    }
    if (!quote) {
        /* Unquoted atoms hold only Latin-1 letters, digits, _ and @. */
        tb_put(b, str, len);
        return;
    }
    tb_putc(b, '\'');
    for (i = 0; i < len; i += k) {
        k = next_cp(p + i, len - i, &c);
        put_char_escaped(b, c, '\'', uni);
    }
    tb_putc(b, '\'');
}

/* The character the emulator judges an atom's byte i by when it decides
 * on quotes: a Latin-1 character for a two-byte sequence, a letter for a
 * continuation byte, and 0 (quote it) for a longer sequence. */
static int
erts_latin1(const uint8_t *p, size_t i, size_t len)
{
    int c1 = p[i], c2 = i + 1 < len ? p[i + 1] : 0;

    if ((c1 & 0x80) == 0)
        return c1;
    if ((c1 & 0xE0) == 0xC0)
        return (c1 & 0x1F) << 6 | (c2 & 0x3F);
    if ((c1 & 0xC0) == 0x80)
        return 'a';
    return 0;
}

static bool
erts_lower(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 128 + 95 && c <= 255 && c != 247);
}

static bool
erts_alnum(int c)
{
    return erts_lower(c) || (c >= 'A' && c <= 'Z') ||
           (c >= 128 + 64 && c <= 128 + 94 && c != 247 - 32) ||
           (c >= '0' && c <= '9');
}

/* Print an atom as the emulator does inside fun_to_list/1 (erts'
 * print_atom_name): quoting decided on Latin-1 letters, digits and _,
 * and each byte of the UTF-8 name becomes one character of the result,
 * which is what OTP's own string holds. */
static void
put_erts_atom(tbuf *b, const char *str, size_t len)
{
    const uint8_t *p = (const uint8_t *)str;
    bool quote = false;
    size_t i;
    char s[8];
    int lc;

    if (len == 0) {
        tb_put(b, "''", 2);
        return;
    }
    if (!erts_lower(erts_latin1(p, 0, len)))
        quote = true;
    for (i = 1; !quote && i < len; i++) {
        lc = erts_latin1(p, i, len);
        if (!erts_alnum(lc) && lc != '_')
            quote = true;
    }
    if (quote)
        tb_putc(b, '\'');
    for (i = 0; i < len; i++) {
        switch (p[i]) {
        case '\'':
            tb_put(b, "\\'", 2);
            break;
        case '\\':
            tb_put(b, "\\\\", 2);
            break;
        case '\n':
            tb_put(b, "\\n", 2);
            break;
        case '\f':
            tb_put(b, "\\f", 2);
            break;
        case '\t':
            tb_put(b, "\\t", 2);
            break;
        case '\r':
            tb_put(b, "\\r", 2);
            break;
        case '\b':
            tb_put(b, "\\b", 2);
            break;
        case '\v':
            tb_put(b, "\\v", 2);
            break;
        default:
            if (p[i] < ' ') {
                snprintf(s, sizeof(s), "\\%03o", p[i]);
                tb_puts(b, s);
            } else if (p[i] == 0xC2 && i + 1 < len && p[i + 1] < 0xA0) {
                /* U+0080..U+009F: octal escape of the code point. */
                snprintf(s, sizeof(s), "\\%03o", p[i + 1]);
                tb_puts(b, s);
                i++;
            } else {
                tb_cp(b, p[i]);
            }
        }
    }
    if (quote)
        tb_putc(b, '\'');
}

/* printable_latin1_list/1's characters, which ~tp shows as text under
 * OTP's default printable range (+pc latin1). */
static bool
printable(int64_t c)
{
    return (c >= 32 && c <= 126) || (c >= 160 && c <= 255) ||
           (c >= 8 && c <= 13) || c == 27;
}

/* ------------------------------------------------------------------ */
/* Numbers                                                             */
/* ------------------------------------------------------------------ */

/*
 * Bignums to decimal. Below DC_MIN limbs, repeated division by 10^9;
 * above, divide and conquer: N = H * 2^(32m) + L with m a power of two,
 * so dec(N) = dec(H) * dec(2^(32m)) + dec(L), the products in base 10^9
 * by Karatsuba. O(n^1.6) instead of O(n^2): a 4 MiB bignum prints in
 * seconds, not minutes.
 */
#define DEC_BASE 1000000000u
/* 32-bit limbs converted by division; and the smallest Karatsuba factor */
#define DC_MIN 64
#define KARATSUBA_MIN 64

/* x[0..nx) += y[0..ny), ny <= nx; the carry out of x is dropped (callers
 * size x for the sum). */
static void
dec_add(uint32_t *x, size_t nx, const uint32_t *y, size_t ny)
{
    uint32_t carry = 0, t;
    size_t i;

    for (i = 0; i < nx && (i < ny || carry); i++) {
        t = x[i] + (i < ny ? y[i] : 0) + carry;
        carry = t >= DEC_BASE;
        x[i] = carry ? t - DEC_BASE : t;
    }
}

/* x[0..nx) -= y[0..ny), x >= y. */
static void
dec_sub(uint32_t *x, size_t nx, const uint32_t *y, size_t ny)
{
    uint32_t borrow = 0, sub;
    size_t i;

    for (i = 0; i < nx && (i < ny || borrow); i++) {
        sub = (i < ny ? y[i] : 0) + borrow;
        borrow = x[i] < sub;
        x[i] = borrow ? x[i] + DEC_BASE - sub : x[i] - sub;
    }
}

static size_t
dec_trim(const uint32_t *x, size_t n)
{
    while (n > 0 && x[n - 1] == 0)
        n--;
    return n;
}

/* r[0..na+nb) = a * b in base 10^9; false on out of memory. */
static bool
dec_mul(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *r)
{
    const uint32_t *sw;
    uint32_t *t, *sa, *sb, *z0, *z1, *z2;
    size_t i, j, m, la1, lb1, lsa, lsb, n1, off, len;
    uint64_t carry, x;
    bool ok;

    if (na < nb) {
        sw = a, a = b, b = sw;
        i = na, na = nb, nb = i;
    }
    memset(r, 0, (na + nb) * sizeof(*r));
    if (nb < KARATSUBA_MIN) {
        /* Rows of products summed in 64 bits, carried every 17 rows:
         * 17 products below 10^18 and a limb stay below 2^64. */
        uint64_t *acc = calloc(na + nb + 1, sizeof(*acc));

        if (acc == NULL)
            return false;
        for (i = 0; i < nb; i++) {
            for (j = 0; j < na; j++)
                acc[i + j] += (uint64_t)a[j] * b[i];
            if (i % 17 == 16 || i == nb - 1) {
                carry = 0;
                for (j = 0; j < na + nb; j++) {
                    x = acc[j] + carry;
                    acc[j] = x % DEC_BASE;
                    carry = x / DEC_BASE;
                }
            }
        }
        for (j = 0; j < na + nb; j++)
            r[j] = (uint32_t)acc[j];
        free(acc);
        return true;
    }
    if (na >= 2 * nb) {
        /* Unbalanced: a in pieces of nb limbs. */
        if ((t = malloc(2 * nb * sizeof(*t))) == NULL)
            return false;
        for (off = 0; off < na; off += nb) {
            len = na - off < nb ? na - off : nb;
            if (!dec_mul(a + off, len, b, nb, t)) {
                free(t);
                return false;
            }
            dec_add(r + off, na + nb - off, t, dec_trim(t, len + nb));
        }
        free(t);
        return true;
    }
    /* a = a1 B^m + a0, b = b1 B^m + b0 with m < nb <= na < 2m + 2. */
    m = na / 2;
    la1 = na - m;
    lb1 = nb - m;
    lsa = la1 + 1;
    lsb = (lb1 > m ? lb1 : m) + 1;
    n1 = lsa + lsb;
    t = calloc(lsa + lsb + 2 * m + (la1 + lb1) + n1, sizeof(*t));
    if (t == NULL)
        return false;
    sa = t;
    sb = sa + lsa;
    z0 = sb + lsb;
    z2 = z0 + 2 * m;
    z1 = z2 + la1 + lb1;
    memcpy(sa, a + m, la1 * sizeof(*sa));
    dec_add(sa, lsa, a, m);
    memcpy(sb, b, m * sizeof(*sb));
    dec_add(sb, lsb, b + m, lb1);
    ok = dec_mul(a, m, b, m, z0) && dec_mul(a + m, la1, b + m, lb1, z2) &&
         dec_mul(sa, dec_trim(sa, lsa), sb, dec_trim(sb, lsb), z1);
    if (ok) {
        /* z1 = (a0 + a1)(b0 + b1) - z0 - z2 = a0 b1 + a1 b0 */
        dec_sub(z1, n1, z0, 2 * m);
        dec_sub(z1, n1, z2, la1 + lb1);
        memcpy(r, z0, 2 * m * sizeof(*r));
        memcpy(r + 2 * m, z2, (la1 + lb1) * sizeof(*r));
        dec_add(r + m, na + nb - m, z1, dec_trim(z1, n1));
    }
    free(t);
    return ok;
}

/* Decimal (base 10^9) limbs of the binary limbs l[0..n), by repeated
 * division; out holds at least n * 10 / 9 + 2. Returns the count. */
static size_t
dec_small(const uint32_t *l, size_t n, uint32_t *out)
{
    uint32_t w[DC_MIN];
    size_t i, k = 0;
    uint64_t rem, cur;

    memcpy(w, l, n * sizeof(*w));
    n = dec_trim(w, n);
    while (n > 0) {
        rem = 0;
        for (i = n; i-- > 0;) {
            cur = (rem << 32) | w[i];
            w[i] = (uint32_t)(cur / DEC_BASE);
            rem = cur % DEC_BASE;
        }
        out[k++] = (uint32_t)rem;
        n = dec_trim(w, n);
    }
    return k;
}

/* The powers dec(2^(32 * 2^k)) the conversion splits by. */
typedef struct decpow {
    uint32_t *p[40];
    size_t n[40];
    int count;
} decpow;

/* Decimal limbs of the binary limbs l[0..n) into *out (malloc'd). */
static bool
dec_convert(const uint32_t *l, size_t n, decpow *pw, uint32_t **out,
            size_t *nout)
{
    uint32_t *hi = NULL, *lo = NULL, *r;
    size_t nhi, nlo, m = 1, nr;
    int k = 0;

    n = dec_trim(l, n);
    if (n <= DC_MIN) {
        if ((*out = malloc((n * 10 / 9 + 2) * sizeof(**out))) == NULL)
            return false;
        *nout = dec_small(l, n, *out);
        return true;
    }
    while (2 * m < n) {
        m *= 2;
        k++;
    }
    /* pw->p[k] = dec(2^(32m)), by squaring the one before. */
    while (pw->count <= k) {
        int j = pw->count;

        if (j == 0) {
            pw->p[0] = malloc(2 * sizeof(uint32_t));
            if (pw->p[0] == NULL)
                return false;
            pw->p[0][0] = 294967296u; /* 2^32 = 4 294967296 */
            pw->p[0][1] = 4;
            pw->n[0] = 2;
        } else {
            size_t pn = pw->n[j - 1];

            pw->p[j] = malloc(2 * pn * sizeof(uint32_t));
            if (pw->p[j] == NULL ||
                !dec_mul(pw->p[j - 1], pn, pw->p[j - 1], pn, pw->p[j])) {
                free(pw->p[j]);
                return false;
            }
            pw->n[j] = dec_trim(pw->p[j], 2 * pn);
        }
        pw->count++;
    }
    if (!dec_convert(l + m, n - m, pw, &hi, &nhi) ||
        !dec_convert(l, m, pw, &lo, &nlo)) {
        free(hi);
        return false;
    }
    nr = nhi + pw->n[k] + 1;
    if (nr < nlo + 1)
        nr = nlo + 1;
    if ((r = calloc(nr, sizeof(*r))) == NULL ||
        !dec_mul(hi, nhi, pw->p[k], pw->n[k], r)) {
        free(r);
        free(hi);
        free(lo);
        return false;
    }
    dec_add(r, nr, lo, nlo);
    free(hi);
    free(lo);
    *out = r;
    *nout = dec_trim(r, nr);
    return true;
}

/* Print a bignum (little-endian magnitude bytes) in decimal. */
static void
put_big(tbuf *b, bool negative, const uint8_t *d, size_t n)
{
    size_t nl = (n + 3) / 4, i, nd = 0;
    uint32_t *limb, *dec = NULL;
    decpow pw;
    char s[16];
    int k;

    pw.count = 0;
    if ((limb = calloc(nl ? nl : 1, sizeof(*limb))) == NULL) {
        b->oom = true;
        return;
    }
    for (i = 0; i < n; i++)
        limb[i / 4] |= (uint32_t)d[i] << (8 * (i % 4));
    if (!dec_convert(limb, nl, &pw, &dec, &nd))
        b->oom = true;
    for (k = 0; k < pw.count; k++)
        free(pw.p[k]);
    free(limb);
    if (!b->oom) {
        if (negative)
            tb_putc(b, '-');
        if (nd == 0)
            tb_putc(b, '0');
        for (i = nd; i-- > 0;) {
            k = snprintf(s, sizeof(s), i == nd - 1 ? "%u" : "%09u",
                         (unsigned)dec[i]);
            tb_put(b, s, (size_t)k);
        }
    }
    free(dec);
}

/* Parse the digits and exponent of "%.*e" output: d.ddde[+-]x. */
static void
split_e(const char *s, char *digits, int *ndigits, int *exp10)
{
    int n = 0;

    for (; *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[n++] = *s;
    *ndigits = n;
    *exp10 = atoi(s + 1);
}

/* Read back digits (n of them, d1.d2...dn) times 10^exp10; dp is the C
 * library's decimal point, which strtod wants. */
static double
read_back(const char *digits, int n, int exp10, char dp)
{
    char s[48];

    snprintf(s, sizeof(s), "%c%c%.*se%d", digits[0], dp, n - 1, digits + 1,
             exp10);
    return strtod(s, NULL);
}

/* Add one unit in the last place (dir 1) or take one away (dir -1)
 * from an n-digit decimal mantissa, keeping n digits. */
static void
bump(char *digits, int n, int *exp10, int dir)
{
    int i;

    if (dir > 0) {
        for (i = n - 1; i >= 0 && digits[i] == '9'; i--)
            digits[i] = '0';
        if (i >= 0) {
            digits[i]++;
        } else {
            /* 99..9 + 1 = 100..0 */
            digits[0] = '1';
            (*exp10)++;
        }
    } else {
        for (i = n - 1; i >= 0 && digits[i] == '0'; i--)
            digits[i] = '9';
        if (i >= 0)
            digits[i]--;
        if (digits[0] == '0') {
            /* 100..0 - 1 = 99..9 with one digit fewer: keep n by a
             * trailing 9, a value just below the original. */
            memmove(digits, digits + 1, (size_t)n - 1);
            digits[n - 1] = '9';
            (*exp10)--;
        }
    }
}

/* Find p significant digits that read back as v: the nearest p-digit
 * decimal, or when it falls outside v's rounding interval (lopsided at
 * powers of two) its neighbour on the other side of v. A p-digit number
 * inside the interval is one of those two, so this is exact. */
static bool
try_digits(double v, int p, char dp, char *digits, int *n, int *exp10)
{
    char s[48], cand[24];
    int e, ce;
    double r;

    snprintf(s, sizeof(s), "%.*e", p - 1, v);
    split_e(s, digits, n, &e);
    r = read_back(digits, *n, e, dp);
    if (r == v) {
        *exp10 = e;
        return true;
    }
    memcpy(cand, digits, (size_t)*n);
    ce = e;
    bump(cand, *n, &ce, r < v ? 1 : -1);
    if (read_back(cand, *n, ce, dp) == v) {
        memcpy(digits, cand, (size_t)*n);
        *exp10 = ce;
        return true;
    }
    return false;
}

/* Find the shortest decimal digits that read back as v (v > 0, finite),
 * the nearest when several of that length do: the digits that
 * float_to_list(V, [short]) prints. If p digits can, p + 1 can, so a
 * binary search over 1..17 finds the shortest. Returns the count. */
static int
shortest_digits(double v, char *digits, int *exp10)
{
    const struct lconv *lc = localeconv();
    char dp = lc != NULL && lc->decimal_point != NULL && lc->decimal_point[0]
                  ? lc->decimal_point[0]
                  : '.';
    int lo = 1, hi = 17, mid, n;
    char s[48];

    while (lo < hi) {
        mid = (lo + hi) / 2;
        if (try_digits(v, mid, dp, digits, &n, exp10))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (try_digits(v, lo, dp, digits, &n, exp10))
        return n;
    /* 17 significant digits always read back. */
    snprintf(s, sizeof(s), "%.16e", v);
    split_e(s, digits, &n, exp10);
    return n;
}

/* Format a finite double as float_to_list(F, [short]) does: the shortest
 * digits, in fixed notation when the decimal exponent is small, else as
 * d.ddde[-]x; the bounds are those of erts' Ryu-based to_chars. */
static void
put_double(tbuf *b, double v)
{
    char digits[24], s[64];
    int n, sci, e, lower, upper, whole, k = 0, i;
    uint64_t out = 0;
    bool fixed;

    if (v == 0) {
        tb_puts(b, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    if (!isfinite(v)) {
        /* No term holds one; a tree built in C might. */
        tb_puts(b, v != v  ? "#Float<nan>"
                   : v < 0 ? "#Float<-inf>"
                           : "#Float<inf>");
        return;
    }
    if (v < 0) {
        s[k++] = '-';
        v = -v;
    }
    n = shortest_digits(v, digits, &sci);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    for (i = 0; i < n; i++)
        out = out * 10 + (uint64_t)(digits[i] - '0');
    /* The value is out * 10^e. */
    e = sci - n + 1;
    if (n == 1) {
        lower = -4;
        upper = 2;
    } else {
        lower = -(n + 2);
        upper = sci >= 10 ? 2 : 1;
    }
    fixed = lower <= e && e <= upper;
    /* Integers from 2^53 up print in scientific notation. */
    if (fixed && ((out >= (1ull << 53) && e == 0) ||
                  (out > (1ull << 52) / 5 && e == 1) ||
                  (out > (1ull << 51) / 25 && e == 2)))
        fixed = false;
    if (fixed) {
        whole = n + e;
        if (e >= 0) {
            memcpy(s + k, digits, (size_t)n);
            k += n;
            for (i = 0; i < e; i++)
                s[k++] = '0';
            s[k++] = '.';
            s[k++] = '0';
        } else if (whole > 0) {
            memcpy(s + k, digits, (size_t)whole);
            k += whole;
            s[k++] = '.';
            memcpy(s + k, digits + whole, (size_t)(n - whole));
            k += n - whole;
        } else {
            s[k++] = '0';
            s[k++] = '.';
            for (i = 0; i < -whole; i++)
                s[k++] = '0';
            memcpy(s + k, digits, (size_t)n);
            k += n;
        }
    } else {
        s[k++] = digits[0];
        s[k++] = '.';
        if (n == 1) {
            s[k++] = '0';
        } else {
            memcpy(s + k, digits + 1, (size_t)(n - 1));
            k += n - 1;
        }
        k += snprintf(s + k, sizeof(s) - (size_t)k, "e%d", sci);
    }
    tb_put(b, s, (size_t)k);
}

/* The low 32 bits of an integer term as a signed number: how the
 * emulator prints a fun's old index and old uniq. */
static int32_t
low32(const etf_term *t)
{
    uint32_t u = 0;
    size_t i;

    if (t->kind == ETF_INT)
        return (int32_t)(uint32_t)t->v.i;
    if (t->kind == ETF_BIG) {
        for (i = 0; i < 4 && i < t->len; i++)
            u |= (uint32_t)t->v.bytes[i] << (8 * i);
        if (t->aux)
            u = 0u - u;
    }
    return (int32_t)u;
}

static void
put_integer(tbuf *b, const etf_term *t)
{
    if (t->kind == ETF_INT)
        tb_i64(b, t->v.i);
    else if (t->kind == ETF_BIG)
        put_big(b, t->aux != 0, t->v.bytes, t->len);
    else
        tb_puts(b, "?");
}

/* ------------------------------------------------------------------ */
/* Binaries                                                            */
/* ------------------------------------------------------------------ */

/* <<1,2,3:2>>: io_lib:write_binary/2. */
static void
put_binary_bytes(tbuf *b, const etf_term *t)
{
    size_t n = t->len, whole = n, i;
    unsigned bits = t->aux;

    if (bits >= 1 && bits <= 7 && n > 0)
        whole = n - 1;
    tb_put(b, "<<", 2);
    for (i = 0; i < whole; i++) {
        if (i > 0)
            tb_putc(b, ',');
        tb_u64(b, t->v.bytes[i]);
    }
    if (whole < n) {
        if (whole > 0)
            tb_putc(b, ',');
        tb_u64(b, (unsigned)(t->v.bytes[whole] >> (8 - bits)));
        tb_putc(b, ':');
        tb_u64(b, bits);
    }
    tb_put(b, ">>", 2);
}

/* ~tp of a binary: io_lib_pretty prints it as text when every character
 * is printable (Latin-1 range): <<"abc">> when the bytes are ASCII
 * UTF-8 or Latin-1 text, <<"héllo"/utf8>> for UTF-8 with characters
 * above U+007F; anything else as bytes. */
static void
put_binary_tp(tbuf *b, const etf_term *t)
{
    const uint8_t *p = t->v.bytes;
    size_t n = t->len, i, k, chars = 0;
    uint32_t c;
    bool ok = true;

    if (t->aux != 8 || n == 0) {
        put_binary_bytes(b, t);
        return;
    }
    if (utf8_valid(p, n, NULL)) {
        for (i = 0; i < n && ok; i += k) {
            k = utf8_decode(p + i, n - i, &c);
            ok = printable(c);
            chars++;
        }
        if (!ok) {
            put_binary_bytes(b, t);
            return;
        }
        tb_put(b, "<<\"", 3);
        for (i = 0; i < n; i += k) {
            k = utf8_decode(p + i, n - i, &c);
            put_char_escaped(b, c, '"', true);
        }
        tb_puts(b, chars == n ? "\">>" : "\"/utf8>>");
        return;
    }
    for (i = 0; i < n; i++)
        if (!printable(p[i])) {
            put_binary_bytes(b, t);
            return;
        }
    tb_put(b, "<<\"", 3);
    for (i = 0; i < n; i++)
        put_char_escaped(b, p[i], '"', true);
    tb_put(b, "\">>", 3);
}

/* ------------------------------------------------------------------ */
/* Lists                                                               */
/* ------------------------------------------------------------------ */

/* A list in the tree may continue in its tail (a list or a string
 * segment): walk the whole chain to decide whether ~tp shows it as a
 * string: every element a printable character, ending in []. */
static bool
list_is_printable(const etf_term *t)
{
    size_t i;

    for (;;) {
        if (t->kind == ETF_STRING) {
            for (i = 0; i < t->len; i++)
                if (!printable(t->v.bytes[i]))
                    return false;
            return true;
        }
        if (t->kind == ETF_NIL)
            return true;
        if (t->kind != ETF_LIST)
            return false;
        for (i = 0; i < t->len; i++)
            if (t->v.elems[i].kind != ETF_INT || !printable(t->v.elems[i].v.i))
                return false;
        t = &t->v.elems[t->len];
    }
}

/* Print a printable list (see list_is_printable) as "text". */
static void
put_list_string(tbuf *b, const etf_term *t)
{
    size_t i;

    tb_putc(b, '"');
    for (;;) {
        if (t->kind == ETF_STRING) {
            for (i = 0; i < t->len; i++)
                put_char_escaped(b, t->v.bytes[i], '"', true);
            break;
        }
        if (t->kind != ETF_LIST)
            break;
        for (i = 0; i < t->len; i++)
            put_char_escaped(b, (uint32_t)t->v.elems[i].v.i, '"', true);
        t = &t->v.elems[t->len];
    }
    tb_putc(b, '"');
}

/* ------------------------------------------------------------------ */
/* Pids, ports, refs, funs                                             */
/* ------------------------------------------------------------------ */

/* The node of a pid, port or ref: its name always quoted, then
 * "/Creation" unless the creation is 0. */
static void
put_node(tbuf *b, const etf_term *node, uint32_t creation, bool uni)
{
    if (node->kind == ETF_ATOM)
        put_atom(b, node->v.str, node->len, uni, true);
    else
        tb_put(b, "''", 2);
    if (creation != 0) {
        tb_putc(b, '/');
        tb_u64(b, creation);
    }
}

static void
put_pid(tbuf *b, const etf_pid *pid, bool uni)
{
    tb_putc(b, '<');
    put_node(b, &pid->node, pid->creation, uni);
    tb_putc(b, '.');
    tb_u64(b, pid->id);
    tb_putc(b, '.');
    tb_u64(b, pid->serial);
    tb_putc(b, '>');
}

static void
put_port(tbuf *b, const etf_port *port, bool uni)
{
    tb_puts(b, "#Port<");
    put_node(b, &port->node, port->creation, uni);
    tb_putc(b, '.');
    tb_u64(b, port->id);
    tb_putc(b, '>');
}

static void
put_ref(tbuf *b, const etf_ref *ref, bool uni)
{
    uint32_t i, n = ref->len <= ETF_MAX_REF_WORDS ? ref->len : 0;

    tb_puts(b, "#Ref<");
    put_node(b, &ref->node, ref->creation, uni);
    /* Highest word first, as erts prints them. */
    for (i = n; i-- > 0;) {
        tb_putc(b, '.');
        tb_u64(b, ref->id[i]);
    }
    tb_putc(b, '>');
}

/* #Fun<Module.OldIndex.OldUniq>: the module's bytes unquoted, as erts
 * prints a local fun. */
static void
put_fun(tbuf *b, const etf_fun *fun)
{
    size_t i;

    tb_puts(b, "#Fun<");
    if (fun->module.kind == ETF_ATOM)
        for (i = 0; i < fun->module.len; i++)
            tb_cp(b, (uint8_t)fun->module.v.str[i]);
    tb_putc(b, '.');
    tb_i64(b, low32(&fun->old_index));
    tb_putc(b, '.');
    tb_i64(b, low32(&fun->old_uniq));
    tb_putc(b, '>');
}

static void
put_export(tbuf *b, const etf_export *exp)
{
    tb_puts(b, "fun ");
    put_erts_atom(b, exp->module.v.str, exp->module.len);
    tb_putc(b, ':');
    put_erts_atom(b, exp->function.v.str, exp->function.len);
    tb_putc(b, '/');
    tb_u64(b, exp->arity);
}

/* #Local<B1,B2,...>: the opaque LOCAL_EXT payload, byte by byte. */
static void
put_local(tbuf *b, const etf_term *t)
{
    size_t i;

    tb_puts(b, "#Local<");
    for (i = 0; i < t->len; i++) {
        if (i > 0)
            tb_putc(b, ',');
        tb_u64(b, t->v.bytes[i]);
    }
    tb_putc(b, '>');
}

/* ------------------------------------------------------------------ */
/* The walk                                                            */
/* ------------------------------------------------------------------ */

typedef struct pstack {
    pframe *f;
    size_t n, cap;
} pstack;

static bool
push(pstack *s, const etf_term *t)
{
    pframe *f;
    size_t cap;

    if (s->n == s->cap) {
        cap = s->cap ? s->cap * 2 : 32;
        f = realloc(s->f, cap * sizeof(*f));
        if (f == NULL)
            return false;
        s->f = f;
        s->cap = cap;
    }
    s->f[s->n].t = t;
    s->f[s->n].i = 0;
    s->f[s->n].first = true;
    s->f[s->n].closing = false;
    s->f[s->n].order = NULL;
    s->n++;
    return true;
}

static int
key_cmp(const void *x, const void *y)
{
    const etf_term *const *a = x, *const *b = y;

    return etf_compare(*a, *b, true);
}

/* A map of at most MAP_SMALL pairs prints in key order, as OTP keeps
 * such a map sorted however it was built; when the tree holds it out of
 * order, give the frame the sorted order of its pairs. */
static bool
sort_small_map(pframe *f)
{
    const etf_term *t = f->t, **keys;
    uint32_t i, n = t->len;

    for (i = 1; i < n; i++)
        if (etf_compare(&t->v.elems[2 * i - 2], &t->v.elems[2 * i], true) >= 0)
            break;
    if (i >= n)
        return true;
    keys = malloc(n * sizeof(*keys));
    f->order = malloc(n * sizeof(*f->order));
    if (keys == NULL || f->order == NULL) {
        free(keys);
        return false;
    }
    for (i = 0; i < n; i++)
        keys[i] = &t->v.elems[2 * i];
    qsort(keys, n, sizeof(*keys), key_cmp);
    for (i = 0; i < n; i++)
        f->order[i] = (uint32_t)((keys[i] - t->v.elems) / 2);
    free(keys);
    return true;
}

/* Print one term; containers are opened here and continued by the loop
 * in print_term. Returns false when a frame could not be pushed. */
static bool
print_open(tbuf *b, pstack *s, const etf_term *t, bool tp)
{
    size_t i;

    switch ((etf_kind)t->kind) {
    case ETF_INT:
    case ETF_BIG:
        put_integer(b, t);
        break;
    case ETF_FLOAT:
        put_double(b, t->v.f);
        break;
    case ETF_ATOM:
        put_atom(b, t->v.str, t->len, tp, false);
        break;
    case ETF_NIL:
        tb_put(b, "[]", 2);
        break;
    case ETF_STRING:
        if (tp && list_is_printable(t)) {
            put_list_string(b, t);
            break;
        }
        tb_putc(b, '[');
        for (i = 0; i < t->len; i++) {
            if (i > 0)
                tb_putc(b, ',');
            tb_u64(b, t->v.bytes[i]);
        }
        tb_putc(b, ']');
        break;
    case ETF_LIST:
        if (tp && list_is_printable(t)) {
            put_list_string(b, t);
            break;
        }
        tb_putc(b, '[');
        return push(s, t);
    case ETF_TUPLE:
        tb_putc(b, '{');
        return push(s, t);
    case ETF_MAP:
        tb_put(b, "#{", 2);
        if (!push(s, t))
            return false;
        if (t->len > 1 && t->len <= MAP_SMALL)
            return sort_small_map(&s->f[s->n - 1]);
        return true;
    case ETF_BINARY:
        if (tp)
            put_binary_tp(b, t);
        else
            put_binary_bytes(b, t);
        break;
    case ETF_PID:
        put_pid(b, t->v.pid, tp);
        break;
    case ETF_PORT:
        put_port(b, t->v.port, tp);
        break;
    case ETF_REF:
        put_ref(b, t->v.ref, tp);
        break;
    case ETF_EXPORT:
        put_export(b, t->v.exp);
        break;
    case ETF_FUN:
        put_fun(b, t->v.fun);
        break;
    case ETF_LOCAL:
        put_local(b, t);
        break;
    default:
        tb_puts(b, "#Bad<>");
        break;
    }
    return true;
}

/* Advance the innermost open container by one step: print a separator
 * and open its next element, or close it. */
static bool
print_step(tbuf *b, pstack *s, bool tp)
{
    pframe *f = &s->f[s->n - 1];
    const etf_term *t = f->t, *next;
    size_t i;

    switch (t->kind) {
    case ETF_TUPLE:
        if (f->i == t->len) {
            tb_putc(b, '}');
            s->n--;
            return true;
        }
        if (f->i > 0)
            tb_putc(b, ',');
        return print_open(b, s, &t->v.elems[f->i++], tp);
    case ETF_MAP:
        if (f->i == 2 * (size_t)t->len) {
            tb_putc(b, '}');
            free(f->order);
            s->n--;
            return true;
        }
        if (f->i % 2 == 1)
            tb_put(b, " => ", 4);
        else if (f->i > 0)
            tb_putc(b, ',');
        i = f->i++;
        /* OTP keeps a map of more than 32 keys as a hash trie, which
         * term_to_binary walks in one order and io_lib in the reverse. */
        if (t->len > MAP_SMALL)
            i = 2 * ((size_t)t->len - 1 - i / 2) + i % 2;
        else if (f->order != NULL)
            i = 2 * (size_t)f->order[i / 2] + i % 2;
        return print_open(b, s, &t->v.elems[i], tp);
    case ETF_STRING:
        /* A string segment in the tail of a list. */
        for (i = 0; i < t->len; i++) {
            if (!f->first)
                tb_putc(b, ',');
            f->first = false;
            tb_u64(b, t->v.bytes[i]);
        }
        tb_putc(b, ']');
        s->n--;
        return true;
    default: /* ETF_LIST */
        if (f->closing) {
            tb_putc(b, ']');
            s->n--;
            return true;
        }
        if (f->i < t->len) {
            if (!f->first)
                tb_putc(b, ',');
            f->first = false;
            return print_open(b, s, &t->v.elems[f->i++], tp);
        }
        next = &t->v.elems[t->len];
        if (next->kind == ETF_NIL) {
            tb_putc(b, ']');
            s->n--;
        } else if (next->kind == ETF_LIST) {
            /* The tail is more of the same list. */
            f->t = next;
            f->i = 0;
        } else if (next->kind == ETF_STRING) {
            f->t = next;
        } else {
            tb_putc(b, '|');
            f->closing = true;
            return print_open(b, s, next, tp);
        }
        return true;
    }
}

char *
etf_format(const etf_term *t, etf_text_fmt fmt, size_t *len)
{
    tbuf b = {NULL, 0, 0, false};
    pstack s = {NULL, 0, 0};
    bool tp = fmt == ETF_TEXT_TP, ok;

    if (t == NULL)
        return NULL;
    ok = print_open(&b, &s, t, tp);
    while (ok && s.n > 0 && !b.oom)
        ok = print_step(&b, &s, tp);
    while (s.n > 0)
        free(s.f[--s.n].order);
    free(s.f);
    if (!ok || !tb_reserve(&b, 1)) {
        free(b.p);
        return NULL;
    }
    b.p[b.len] = '\0';
    if (len != NULL)
        *len = b.len;
    return b.p;
}
