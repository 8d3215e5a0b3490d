/*
 * Parse one term written in Erlang syntax, as erl_scan, erl_parse and
 * erl_eval would read and evaluate it, plus the forms etf_format prints
 * for pids, ports, refs and LOCAL_EXT payloads (docs/text.md).
 *
 * The scanner hands out one token at a time with one token of lookahead;
 * the parser keeps open containers on its own stack and finished values
 * on a value stack, so nesting costs heap, not C stack, and is bounded
 * by TEXT_MAX_DEPTH.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etf_int.h"

/* Containers nest at most this deep: the tree decoder's default. */
#define TEXT_MAX_DEPTH ETF_DEFAULT_MAX_DEPTH
/* Digits in one integer literal; reading them is quadratic in their
 * number, and 200,000 decimal digits take about 0.15 s. */
#define TEXT_MAX_INT_DIGITS 200000u
/* Binary literals may expand to at most this many bits in one parse, or
 * to 8 bytes per byte of text when that is more. */
#define TEXT_MIN_BIN_BUDGET (8u * 128 * 1024)
#define TEXT_BIN_BITS_PER_BYTE 64u

typedef enum tkind {
    TK_EOF,
    TK_ATOM,
    TK_VAR,
    TK_INT,
    TK_FLOAT,
    TK_CHAR,
    TK_STRING,
    TK_PUNCT,
    TK_DOT,
    TK_HASH, /* #Name< */
} tkind;

/* Punctuation of more than one character. */
enum {
    P_ARROW = 256, /* => */
    P_ASSIGN,      /* := */
    P_LTLT,        /* << */
    P_GTGT,        /* >> */
    P_MAP,         /* #{ */
    P_MINUSMINUS,  /* -- (list subtraction, never in a term) */
    P_PLUSPLUS,    /* ++ */
};

/* The #Name< forms. */
enum { H_REF, H_PORT, H_LOCAL, H_FUN };

typedef struct token {
    tkind kind;
    size_t pos, end; /* byte span in the text */
    int punct;       /* TK_PUNCT: the character or a P_ code; TK_HASH: H_ */
    bool quoted;     /* TK_ATOM */
    unsigned base;   /* TK_INT: radix of the digits at [dpos, end) */
    size_t dpos;
    double f;    /* TK_FLOAT */
    uint32_t ch; /* TK_CHAR */
} token;

typedef enum fkind { F_TUPLE, F_LIST, F_MAP, F_BIN, F_PAREN } fkind;

/* A binary segment's value, held until its size and type are read. */
typedef enum skind { S_NONE, S_INT, S_FLOAT, S_STRING, S_BIN, S_OTHER } skind;

typedef struct bitbuf {
    uint8_t *p;
    size_t bits, cap;
} bitbuf;

typedef struct frame {
    fkind kind;
    bool tail;   /* list: '|' read, the next value is the tail */
    bool neg;    /* parenthesis after '-': negate the number inside */
    size_t base; /* first value of this container on the value stack */
    size_t pos;  /* where it opened */
    /* F_BIN only */
    bitbuf bb;
    skind seg;
    etf_term segv; /* S_INT, S_FLOAT, S_BIN */
    size_t segpos;
} frame;

typedef struct parser {
    etf_arena *a;
    const uint8_t *s;
    size_t len, pos;
    etf_error *err;
    token la;
    bool have_la;
    /* the text of the last atom scanned, UTF-8 */
    char atom[ETF_MAX_ATOM_BYTES + 4];
    size_t atomlen;
    /* the code points of the last string scanned */
    uint32_t *cps;
    size_t ncps, capcps;
    unsigned locals; /* #Local<...> terms read */
    /* the code points of the last quoted atom scanned */
    uint32_t *acps;
    size_t nacps, capacps;
    /* finished values and open containers */
    etf_term *vals;
    size_t nvals, capvals;
    frame *fr;
    size_t nfr, capfr;
    size_t bin_budget; /* bits binary literals may still produce */
    char dp;           /* the C library's decimal point */
} parser;

/* Fail with ETF_E_SYNTAX (or code) at pos, the position in the message. */
static int fail(parser *p, etf_code code, size_t pos, const char *fmt, ...)
    ETF_PRINTF(4, 5);

static int
fail(parser *p, etf_code code, size_t pos, const char *fmt, ...)
{
    char msg[96];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return etf_fail(p->err, code, pos, "%s at byte %zu", msg, pos);
}

static int
nomem(parser *p)
{
    return etf_fail(p->err, ETF_E_NOMEM, p->pos, "out of memory");
}

/* Grow *buf (of *cap elements of size sz) to hold need elements. */
static bool
grow(void **buf, size_t *cap, size_t need, size_t sz)
{
    size_t ncap = *cap ? *cap : 16;
    void *nb;

    if (need <= *cap)
        return true;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / sz)
            return false;
        ncap *= 2;
    }
    nb = realloc(*buf, ncap * sz);
    if (nb == NULL)
        return false;
    *buf = nb;
    *cap = ncap;
    return true;
}

/* ------------------------------------------------------------------ */
/* Characters                                                          */
/* ------------------------------------------------------------------ */

/* Decode the code point at i (the text was checked to be UTF-8). */
static size_t
cp_at(const parser *p, size_t i, uint32_t *c)
{
    size_t k;

    if (i >= p->len) {
        *c = 0;
        return 0;
    }
    k = utf8_decode(p->s + i, p->len - i, c);
    if (k == 0) {
        *c = p->s[i];
        k = 1;
    }
    return k;
}

/* erl_scan's white space: U+0000..U+0020 and U+0080..U+00A0. */
static bool
is_white(uint32_t c)
{
    return c <= ' ' || (c >= 0x80 && c <= 0xA0);
}

static bool
is_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

static bool
is_lower(uint32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 0xDF && c <= 0xFF && c != 0xF7);
}

static bool
is_upper(uint32_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7);
}

static bool
is_name_char(uint32_t c)
{
    return is_lower(c) || is_upper(c) || is_digit(c) || c == '_' || c == '@';
}

/* The value of c as a digit in base (36 if not a digit at all). */
static unsigned
digit_val(uint32_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 36;
}

/* Code points erl_scan accepts in escapes: not surrogates, not U+FFFE
 * or U+FFFF, at most U+10FFFF. */
static bool
valid_cp(uint32_t c)
{
    return c < 0xD800 || (c > 0xDFFF && c < 0xFFFE) ||
           (c > 0xFFFF && c <= 0x10FFFF);
}

static const char *const reserved_words[] = {
    "after",  "and",     "andalso", "band", "begin", "bnot", "bor",
    "bsl",    "bsr",     "bxor",    "case", "catch", "cond", "div",
    "end",    "fun",     "if",      "let",  "not",   "of",   "or",
    "orelse", "receive", "rem",     "try",  "when",  "xor",
};

static bool
reserved(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(reserved_words) / sizeof(reserved_words[0]); i++)
        if (strlen(reserved_words[i]) == len &&
            memcmp(reserved_words[i], s, len) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Scanner                                                             */
/* ------------------------------------------------------------------ */

/* Skip white space and % comments. */
static void
skip_blank(parser *p)
{
    uint32_t c;
    size_t k;

    while (p->pos < p->len) {
        k = cp_at(p, p->pos, &c);
        if (c == '%') {
            while (p->pos < p->len && p->s[p->pos] != '\n')
                p->pos++;
        } else if (is_white(c)) {
            p->pos += k;
        } else {
            break;
        }
    }
}

/* Read one escape after a backslash at p->pos (pointing past it). */
static int
scan_escape(parser *p, uint32_t *out)
{
    size_t start = p->pos - 1, k, n;
    uint32_t c, v;

    if (p->pos >= p->len)
        return fail(p, ETF_E_SYNTAX, start, "unterminated escape");
    k = cp_at(p, p->pos, &c);
    if (c >= '0' && c <= '7') {
        v = 0;
        for (n = 0; n < 3 && p->pos < p->len && p->s[p->pos] >= '0' &&
                    p->s[p->pos] <= '7';
             n++)
            v = v * 8 + (uint32_t)(p->s[p->pos++] - '0');
        *out = v;
        return 0;
    }
    if (c == 'x') {
        p->pos++;
        if (p->pos < p->len && p->s[p->pos] == '{') {
            p->pos++;
            v = 0;
            n = 0;
            while (p->pos < p->len && digit_val(p->s[p->pos]) < 16) {
                if (v <= 0x10FFFF)
                    v = v * 16 + digit_val(p->s[p->pos]);
                p->pos++;
                n++;
            }
            if (n == 0 || p->pos >= p->len || p->s[p->pos] != '}' ||
                !valid_cp(v))
                return fail(p, ETF_E_SYNTAX, start, "illegal \\x{...} escape");
            p->pos++;
            *out = v;
            return 0;
        }
        if (p->pos + 1 < p->len && digit_val(p->s[p->pos]) < 16 &&
            digit_val(p->s[p->pos + 1]) < 16) {
            *out = digit_val(p->s[p->pos]) * 16 + digit_val(p->s[p->pos + 1]);
            p->pos += 2;
            return 0;
        }
        return fail(p, ETF_E_SYNTAX, start, "illegal \\x escape");
    }
    if (c == '^') {
        p->pos++;
        if (p->pos >= p->len)
            return fail(p, ETF_E_SYNTAX, start, "unterminated escape");
        p->pos += cp_at(p, p->pos, &c);
        *out = c & 31;
        return 0;
    }
    p->pos += k;
    switch (c) {
    case 'n':
        *out = '\n';
        break;
    case 'r':
        *out = '\r';
        break;
    case 't':
        *out = '\t';
        break;
    case 'v':
        *out = '\v';
        break;
    case 'b':
        *out = '\b';
        break;
    case 'f':
        *out = '\f';
        break;
    case 'e':
        *out = 27;
        break;
    case 's':
        *out = ' ';
        break;
    case 'd':
        *out = 127;
        break;
    default:
        if (!valid_cp(c))
            return fail(p, ETF_E_SYNTAX, start, "illegal character");
        *out = c;
    }
    return 0;
}

/* Scan a quoted atom or a string (q is the quote, p->pos is past it). */
static int
scan_quoted(parser *p, uint32_t q, size_t start)
{
    uint32_t c, **buf = q == '"' ? &p->cps : &p->acps;
    size_t k, *n = q == '"' ? &p->ncps : &p->nacps,
              *cap = q == '"' ? &p->capcps : &p->capacps;

    for (;;) {
        if (p->pos >= p->len)
            return fail(p, ETF_E_SYNTAX, start, "unterminated %s",
                        q == '"' ? "string" : "atom");
        k = cp_at(p, p->pos, &c);
        p->pos += k;
        if (c == q)
            return 0;
        if (c == '\\' && scan_escape(p, &c) < 0)
            return -1;
        if (!grow((void **)buf, cap, *n + 1, sizeof(uint32_t)))
            return nomem(p);
        (*buf)[(*n)++] = c;
    }
}

/* Put the quoted atom just scanned into p->atom as UTF-8. */
static int
cps_to_atom(parser *p, size_t start)
{
    size_t i;

    if (p->nacps > ETF_MAX_ATOM_CHARS)
        return fail(p, ETF_E_ATOM, start, "atom longer than 255 characters");
    p->atomlen = 0;
    for (i = 0; i < p->nacps; i++)
        p->atomlen += utf8_encode(p->acps[i], (uint8_t *)p->atom + p->atomlen);
    p->atom[p->atomlen] = '\0';
    return 0;
}

/* Scan digits (with _ between two of them) in base; returns how many
 * digits were read. */
static size_t
scan_digits(parser *p, unsigned base)
{
    size_t n = 0;

    while (p->pos < p->len) {
        uint8_t c = p->s[p->pos];

        if (digit_val(c) < base) {
            p->pos++;
            n++;
        } else if (c == '_' && n > 0 && p->pos + 1 < p->len &&
                   digit_val(p->s[p->pos + 1]) < base) {
            p->pos++;
        } else {
            break;
        }
    }
    return n;
}

/* Scan a number starting with a digit: an integer, Base#Digits or a
 * float. */
static int
scan_number(parser *p, token *t)
{
    size_t start = p->pos, i, n;
    unsigned base = 0;
    char *buf;

    scan_digits(p, 10);
    if (p->pos < p->len && p->s[p->pos] == '#') {
        for (i = start; i < p->pos; i++)
            if (p->s[i] != '_') {
                base = base * 10 + (unsigned)(p->s[i] - '0');
                if (base > 36)
                    break;
            }
        if (base < 2 || base > 36)
            return fail(p, ETF_E_SYNTAX, start, "illegal base");
        p->pos++;
        t->dpos = p->pos;
        if (scan_digits(p, base) == 0)
            return fail(p, ETF_E_SYNTAX, start, "illegal integer");
        t->kind = TK_INT;
        t->base = base;
        return 0;
    }
    if (p->pos + 1 < p->len && p->s[p->pos] == '.' &&
        is_digit(p->s[p->pos + 1])) {
        p->pos++;
        scan_digits(p, 10);
        if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
            p->pos++;
            if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
                p->pos++;
            if (scan_digits(p, 10) == 0)
                return fail(p, ETF_E_SYNTAX, start, "illegal float");
        }
        /* strtod wants the C library's decimal point and no _. */
        buf = malloc(p->pos - start + 1);
        if (buf == NULL)
            return nomem(p);
        for (i = start, n = 0; i < p->pos; i++)
            if (p->s[i] != '_')
                buf[n++] = p->s[i] == '.' ? p->dp : (char)p->s[i];
        buf[n] = '\0';
        t->f = strtod(buf, NULL);
        free(buf);
        if (!isfinite(t->f))
            return fail(p, ETF_E_FLOAT, start, "float out of range");
        t->kind = TK_FLOAT;
        return 0;
    }
    t->kind = TK_INT;
    t->base = 10;
    t->dpos = start;
    return 0;
}

/* Scan the next token into t. */
static int
scan(parser *p, token *t)
{
    uint32_t c, d;
    size_t k, n, start;

    memset(t, 0, sizeof(*t));
    skip_blank(p);
    start = t->pos = p->pos;
    if (p->pos >= p->len) {
        t->kind = TK_EOF;
        t->end = p->pos;
        return 0;
    }
    k = cp_at(p, p->pos, &c);
    d = p->pos + 1 < p->len ? p->s[p->pos + 1] : 0;
    if (is_digit(c)) {
        if (scan_number(p, t) < 0)
            return -1;
    } else if (is_lower(c)) {
        p->pos += k;
        while (p->pos < p->len) {
            k = cp_at(p, p->pos, &c);
            if (!is_name_char(c))
                break;
            p->pos += k;
        }
        /* Bare atoms are Latin-1 letters, digits, _ and @: at most two
         * bytes of UTF-8 each, copied as they are. */
        for (k = start, n = 0; k < p->pos; n++)
            k += cp_at(p, k, &c);
        if (n > ETF_MAX_ATOM_CHARS)
            return fail(p, ETF_E_ATOM, start,
                        "atom longer than 255 characters");
        p->atomlen = p->pos - start;
        memcpy(p->atom, p->s + start, p->atomlen);
        p->atom[p->atomlen] = '\0';
        t->kind = TK_ATOM;
    } else if (is_upper(c) || c == '_') {
        p->pos += k;
        while (p->pos < p->len) {
            k = cp_at(p, p->pos, &c);
            if (!is_name_char(c))
                break;
            p->pos += k;
        }
        t->kind = TK_VAR;
    } else if (c == '\'') {
        p->pos++;
        p->nacps = 0;
        if (scan_quoted(p, '\'', start) < 0 || cps_to_atom(p, start) < 0)
            return -1;
        t->kind = TK_ATOM;
        t->quoted = true;
    } else if (c == '"') {
        /* Adjacent strings are one string, as in erl_scan. */
        p->ncps = 0;
        for (;;) {
            size_t at = p->pos;

            p->pos++;
            if (scan_quoted(p, '"', at) < 0)
                return -1;
            skip_blank(p);
            if (p->pos >= p->len || p->s[p->pos] != '"')
                break;
        }
        t->kind = TK_STRING;
    } else if (c == '$') {
        p->pos++;
        if (p->pos >= p->len)
            return fail(p, ETF_E_SYNTAX, start, "unterminated character");
        p->pos += cp_at(p, p->pos, &c);
        if (c == '\\' && scan_escape(p, &c) < 0)
            return -1;
        t->kind = TK_CHAR;
        t->ch = c;
    } else if (c == '.') {
        p->pos++;
        t->kind = TK_PUNCT;
        t->punct = '.';
        if (p->pos >= p->len || p->s[p->pos] == '%' ||
            (cp_at(p, p->pos, &c) > 0 && is_white(c)))
            t->kind = TK_DOT;
    } else if (c == '#') {
        p->pos++;
        if (d == '{') {
            p->pos++;
            t->kind = TK_PUNCT;
            t->punct = P_MAP;
        } else {
            static const struct {
                const char *name;
                int h;
            } hs[] = {{"Ref<", H_REF},
                      {"Port<", H_PORT},
                      {"Local<", H_LOCAL},
                      {"Fun<", H_FUN}};
            size_t i;

            t->kind = TK_PUNCT;
            t->punct = '#';
            for (i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
                size_t hl = strlen(hs[i].name);

                if (p->len - p->pos >= hl &&
                    memcmp(p->s + p->pos, hs[i].name, hl) == 0) {
                    p->pos += hl;
                    t->kind = TK_HASH;
                    t->punct = hs[i].h;
                    break;
                }
            }
        }
    } else if (c >= 0x80) {
        /* Outside quotes only Latin-1 letters and spaces may be beyond
         * ASCII, as in erl_scan. */
        return fail(p, ETF_E_SYNTAX, start, "illegal character");
    } else {
        t->kind = TK_PUNCT;
        t->punct = (int)c;
        p->pos += k;
        if (c == '=' && d == '>')
            t->punct = P_ARROW;
        else if (c == ':' && d == '=')
            t->punct = P_ASSIGN;
        else if (c == '<' && d == '<')
            t->punct = P_LTLT;
        else if (c == '>' && d == '>')
            t->punct = P_GTGT;
        else if ((c == '-' || c == '+') && d == c)
            t->punct = c == '-' ? P_MINUSMINUS : P_PLUSPLUS;
        if (t->punct >= 256)
            p->pos++;
    }
    t->end = p->pos;
    return 0;
}

static int
next(parser *p, token *t)
{
    if (p->have_la) {
        *t = p->la;
        p->have_la = false;
        return 0;
    }
    return scan(p, t);
}

static const token *
peek(parser *p)
{
    if (!p->have_la) {
        if (scan(p, &p->la) < 0)
            return NULL;
        p->have_la = true;
    }
    return &p->la;
}

/* True (and consumed) when the next token is the punctuation c. */
static int
accept(parser *p, int c)
{
    const token *t = peek(p);

    if (t == NULL)
        return -1;
    if (t->kind == TK_PUNCT && t->punct == c) {
        p->have_la = false;
        return 1;
    }
    return 0;
}

/* Describe a token for an error message. */
static const char *
describe(const parser *p, const token *t, char *buf, size_t size)
{
    size_t n;

    if (t->kind == TK_EOF)
        return "end of input";
    if (t->kind == TK_DOT)
        return "'.'";
    n = t->end - t->pos;
    if (n > 24)
        n = 24;
    snprintf(buf, size, "'%.*s'", (int)n, (const char *)p->s + t->pos);
    return buf;
}

static int
unexpected(parser *p, const token *t, const char *expected)
{
    char b[40];

    return fail(p, ETF_E_SYNTAX, t->pos, "expected %s, not %s", expected,
                describe(p, t, b, sizeof(b)));
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

/* Make the integer whose digits in base lie at [from, to) (with _), negated
 * if neg. */
static int
make_int(parser *p, etf_term *out, bool neg, unsigned base, size_t from,
         size_t to, size_t pos)
{
    uint32_t *limb = NULL, chunk_mul, chunk;
    size_t nd = 0, nl = 0, cap, i, j, k;
    uint64_t u = 0;
    uint8_t *bytes;
    unsigned per;
    bool small = true;
    int rc;

    for (i = from; i < to; i++)
        if (p->s[i] != '_') {
            unsigned dv = digit_val(p->s[i]);

            nd++;
            if (small && u > (UINT64_MAX - dv) / base)
                small = false;
            else if (small)
                u = u * base + dv;
        }
    if (small && (u <= (uint64_t)INT64_MAX || (neg && u - 1 <= INT64_MAX))) {
        if (neg)
            etf_set_int(out,
                        u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u);
        else
            etf_set_int(out, (int64_t)u);
        return 0;
    }
    if (nd > TEXT_MAX_INT_DIGITS)
        return fail(p, ETF_E_LIMIT, pos, "integer of more than %u digits",
                    TEXT_MAX_INT_DIGITS);
    /* Multiply-add in 32-bit limbs, several digits at a time. */
    for (per = 1, chunk_mul = base; (uint64_t)chunk_mul * base <= UINT32_MAX;
         per++)
        chunk_mul *= base;
    cap = nd / 4 + 2; /* 32 bits hold more than 4 digits of base 36 */
    limb = calloc(cap, sizeof(*limb));
    if (limb == NULL)
        return nomem(p);
    for (i = from; i < to;) {
        unsigned got = 0;
        uint64_t mul = 1, carry;

        chunk = 0;
        while (i < to && got < per) {
            if (p->s[i] != '_') {
                chunk = chunk * base + digit_val(p->s[i]);
                mul *= base;
                got++;
            }
            i++;
        }
        carry = chunk;
        for (j = 0; j < nl; j++) {
            uint64_t cur = (uint64_t)limb[j] * mul + carry;

            limb[j] = (uint32_t)cur;
            carry = cur >> 32;
        }
        if (carry != 0)
            limb[nl++] = (uint32_t)carry;
    }
    bytes = malloc(nl * 4 + 1);
    if (bytes == NULL) {
        free(limb);
        return nomem(p);
    }
    for (j = 0, k = 0; j < nl; j++)
        for (i = 0; i < 4; i++)
            bytes[k++] = (uint8_t)(limb[j] >> (8 * i));
    rc = etf_set_big(p->a, out, neg, bytes, k);
    free(limb);
    free(bytes);
    if (rc < 0)
        return nomem(p);
    return 0;
}

/* The code points of the string just scanned, as a term: [] when empty,
 * a byte string when every one fits a byte, else a list of integers. */
static int
make_string(parser *p, etf_term *out)
{
    size_t i;
    uint8_t *b;
    etf_term *e;

    for (i = 0; i < p->ncps && p->cps[i] <= 255; i++)
        ;
    if (i == p->ncps) {
        b = malloc(p->ncps ? p->ncps : 1);
        if (b == NULL)
            return nomem(p);
        for (i = 0; i < p->ncps; i++)
            b[i] = (uint8_t)p->cps[i];
        i = (size_t)etf_set_string(p->a, out, b, p->ncps);
        free(b);
        return i == 0 ? 0 : nomem(p);
    }
    if (p->ncps >= UINT32_MAX)
        return fail(p, ETF_E_LIMIT, p->pos, "string too long");
    if ((e = etf_set_list(p->a, out, (uint32_t)p->ncps)) == NULL)
        return nomem(p);
    for (i = 0; i < p->ncps; i++)
        etf_set_int(&e[i], p->cps[i]);
    return 0;
}

/* An atom from the text just scanned. */
static int
make_atom(parser *p, etf_term *out, size_t pos)
{
    if (etf_set_atom(p->a, out, p->atom, p->atomlen) < 0)
        return fail(p, ETF_E_ATOM, pos, "bad atom");
    return 0;
}

/* Read decimal digits at p->pos (no _, no sign) into *v, at most max. */
static int
raw_uint(parser *p, uint64_t *v, uint64_t max, const char *what)
{
    size_t start = p->pos;
    uint64_t x = 0;

    if (p->pos >= p->len || !is_digit(p->s[p->pos]))
        return fail(p, ETF_E_SYNTAX, start, "expected %s", what);
    while (p->pos < p->len && is_digit(p->s[p->pos])) {
        unsigned dv = p->s[p->pos] - '0';

        if (x > (max - dv) / 10)
            return fail(p, ETF_E_SYNTAX, start, "%s out of range", what);
        x = x * 10 + dv;
        p->pos++;
    }
    *v = x;
    return 0;
}

static bool
raw_char(parser *p, uint8_t c)
{
    if (p->pos < p->len && p->s[p->pos] == c) {
        p->pos++;
        return true;
    }
    return false;
}

/* The node of a pid, port or ref: an atom, then /Creation if any. */
static int
scan_node(parser *p, etf_term *node, uint32_t *creation, size_t pos)
{
    token t;
    uint64_t v = 0;

    if (next(p, &t) < 0)
        return -1;
    if (t.kind == TK_INT)
        return fail(p, ETF_E_SYNTAX, t.pos,
                    "a node index names no node; write the node's name, "
                    "as in <'a@host'.81.0>");
    if (t.kind != TK_ATOM)
        return unexpected(p, &t, "a node name");
    if (make_atom(p, node, pos) < 0)
        return -1;
    /* What follows is read byte by byte: ".81.0" is no float here. */
    if (raw_char(p, '/') && raw_uint(p, &v, UINT32_MAX, "a creation") < 0)
        return -1;
    *creation = (uint32_t)v;
    return 0;
}

/* <'node'/Cr.Id.Serial> after the '<'. */
static int
parse_pid(parser *p, etf_term *out, size_t pos)
{
    etf_pid *pid = etf_set_pid(p->a, out);
    uint64_t id, serial;

    if (pid == NULL)
        return nomem(p);
    if (scan_node(p, &pid->node, &pid->creation, pos) < 0)
        return -1;
    if (!raw_char(p, '.'))
        return fail(p, ETF_E_SYNTAX, p->pos, "expected '.' in a pid");
    if (raw_uint(p, &id, UINT32_MAX, "a pid number") < 0)
        return -1;
    if (!raw_char(p, '.'))
        return fail(p, ETF_E_SYNTAX, p->pos, "expected '.' in a pid");
    if (raw_uint(p, &serial, UINT32_MAX, "a pid serial") < 0)
        return -1;
    if (!raw_char(p, '>'))
        return fail(p, ETF_E_SYNTAX, p->pos, "expected '>' after a pid");
    pid->id = (uint32_t)id;
    pid->serial = (uint32_t)serial;
    return 0;
}

/* #Port<'node'/Cr.Id> after the "#Port<". */
static int
parse_port(parser *p, etf_term *out, size_t pos)
{
    etf_port *port = etf_set_port(p->a, out);

    if (port == NULL)
        return nomem(p);
    if (scan_node(p, &port->node, &port->creation, pos) < 0)
        return -1;
    if (!raw_char(p, '.'))
        return fail(p, ETF_E_SYNTAX, p->pos, "expected '.' in a port");
    if (raw_uint(p, &port->id, UINT64_MAX, "a port number") < 0)
        return -1;
    if (!raw_char(p, '>'))
        return fail(p, ETF_E_SYNTAX, p->pos, "expected '>' after a port");
    return 0;
}

/* #Ref<'node'/Cr.W2.W1.W0> (highest word first) after the "#Ref<". */
static int
parse_ref(parser *p, etf_term *out, size_t pos)
{
    etf_ref *ref = etf_set_ref(p->a, out);
    uint32_t w[ETF_MAX_REF_WORDS], i, n = 0;
    uint64_t v;

    if (ref == NULL)
        return nomem(p);
    if (scan_node(p, &ref->node, &ref->creation, pos) < 0)
        return -1;
    while (raw_char(p, '.')) {
        if (n == ETF_MAX_REF_WORDS)
            return fail(p, ETF_E_REF, p->pos, "a ref has at most 5 words");
        if (raw_uint(p, &v, UINT32_MAX, "a ref word") < 0)
            return -1;
        w[n++] = (uint32_t)v;
    }
    if (!raw_char(p, '>'))
        return fail(p, ETF_E_SYNTAX, p->pos, "expected '.' or '>' in a ref");
    ref->len = n;
    for (i = 0; i < n; i++)
        ref->id[i] = w[n - 1 - i];
    return 0;
}

/* #Local<B,B,...> after the "#Local<": a LOCAL_EXT payload. */
static int
parse_local(parser *p, etf_term *out)
{
    uint8_t *b = NULL;
    size_t n = 0, cap = 0;
    uint64_t v;
    void *copy;

    if (!raw_char(p, '>')) {
        do {
            if (raw_uint(p, &v, 255, "a byte") < 0)
                goto fail;
            if (!grow((void **)&b, &cap, n + 1, 1)) {
                nomem(p);
                goto fail;
            }
            b[n++] = (uint8_t)v;
        } while (raw_char(p, ','));
        if (!raw_char(p, '>')) {
            fail(p, ETF_E_SYNTAX, p->pos, "expected ',' or '>' in #Local<>");
            goto fail;
        }
    }
    if (n > UINT32_MAX || (copy = etf_arena_alloc(p->a, n ? n : 1)) == NULL) {
        nomem(p);
        goto fail;
    }
    if (n > 0)
        memcpy(copy, b, n);
    free(b);
    memset(out, 0, sizeof(*out));
    out->kind = ETF_LOCAL;
    p->locals++;
    out->len = (uint32_t)n;
    out->v.bytes = copy;
    return 0;
fail:
    free(b);
    return -1;
}

/* fun M:F/A after the "fun". */
static int
parse_export(parser *p, etf_term *out)
{
    etf_export *e = etf_set_export(p->a, out);
    token t;
    etf_term ar;

    if (e == NULL)
        return nomem(p);
    if (next(p, &t) < 0)
        return -1;
    if (t.kind != TK_ATOM)
        return unexpected(p, &t, "a module name after 'fun'");
    if (make_atom(p, &e->module, t.pos) < 0)
        return -1;
    if (next(p, &t) < 0)
        return -1;
    if (t.kind != TK_PUNCT || t.punct != ':')
        return unexpected(p, &t, "':'");
    if (next(p, &t) < 0)
        return -1;
    if (t.kind != TK_ATOM)
        return unexpected(p, &t, "a function name");
    if (make_atom(p, &e->function, t.pos) < 0)
        return -1;
    if (next(p, &t) < 0)
        return -1;
    if (t.kind != TK_PUNCT || t.punct != '/')
        return unexpected(p, &t, "'/'");
    if (next(p, &t) < 0)
        return -1;
    if (t.kind != TK_INT)
        return unexpected(p, &t, "an arity");
    if (make_int(p, &ar, false, t.base, t.dpos, t.end, t.pos) < 0)
        return -1;
    if (ar.kind != ETF_INT || ar.v.i > 255)
        return fail(p, ETF_E_SYNTAX, t.pos, "arity above 255");
    e->arity = (uint32_t)ar.v.i;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Binaries                                                            */
/* ------------------------------------------------------------------ */

/* Append nbits bits, taken from src starting at bit skip (MSB first). */
static int
bb_put(parser *p, bitbuf *bb, const uint8_t *src, size_t skip, size_t nbits)
{
    size_t i, need = (bb->bits + nbits + 7) / 8;

    if (!grow((void **)&bb->p, &bb->cap, need ? need : 1, 1))
        return nomem(p);
    if (bb->bits % 8 == 0 && skip % 8 == 0) {
        memcpy(bb->p + bb->bits / 8, src + skip / 8, nbits / 8);
        bb->bits += nbits / 8 * 8;
        skip += nbits / 8 * 8;
        nbits %= 8;
    }
    for (i = 0; i < nbits; i++) {
        size_t s = skip + i, d = bb->bits + i;
        unsigned bit = (src[s / 8] >> (7 - s % 8)) & 1;

        if (d % 8 == 0)
            bb->p[d / 8] = 0;
        bb->p[d / 8] |= (uint8_t)(bit << (7 - d % 8));
    }
    bb->bits += nbits;
    return 0;
}

/* Charge nbits to the parse's binary budget. */
static int
charge(parser *p, size_t nbits, size_t pos)
{
    if (nbits > p->bin_budget)
        return fail(p, ETF_E_LIMIT, pos,
                    "binary literal too large for the text it came from");
    p->bin_budget -= nbits;
    return 0;
}

/* The low nbits of integer v (two's complement), as a segment: big-endian,
 * or little-endian with the leftover bits last as OTP does. */
static int
put_int_bits(parser *p, bitbuf *bb, const etf_term *v, size_t nbits,
             bool little)
{
    size_t nb = (nbits + 7) / 8, i, full, rest;
    uint8_t *le, *be;
    unsigned carry = 1;
    int rc = 0;

    if (nbits == 0)
        return 0;
    le = calloc(nb, 1);
    be = malloc(nb);
    if (le == NULL || be == NULL) {
        free(le);
        free(be);
        return nomem(p);
    }
    /* Little-endian bytes of v modulo 2^(8 nb). */
    if (v->kind == ETF_INT) {
        for (i = 0; i < nb; i++)
            le[i] = i < 8 ? (uint8_t)((uint64_t)v->v.i >> (8 * i))
                          : (v->v.i < 0 ? 0xFF : 0);
    } else {
        for (i = 0; i < nb && i < v->len; i++)
            le[i] = v->v.bytes[i];
        if (v->aux)
            for (i = 0; i < nb; i++) {
                unsigned x = (uint8_t)~le[i] + carry;

                le[i] = (uint8_t)x;
                carry = x >> 8;
            }
    }
    if (!little) {
        /* The value right-aligned in nb bytes: skip the top pad bits. */
        for (i = 0; i < nb; i++)
            be[i] = le[nb - 1 - i];
        rc = bb_put(p, bb, be, nb * 8 - nbits, nbits);
    } else {
        full = nbits / 8;
        rest = nbits % 8;
        rc = bb_put(p, bb, le, 0, full * 8);
        if (rc == 0 && rest) {
            uint8_t last = (uint8_t)(le[full] << (8 - rest));

            rc = bb_put(p, bb, &last, 0, rest);
        }
    }
    free(le);
    free(be);
    return rc;
}

/* A code point as utf8, utf16 or utf32. */
static int
put_utf(parser *p, bitbuf *bb, uint32_t c, unsigned width, bool little,
        size_t pos)
{
    uint8_t out[4];
    uint16_t u[2];
    size_t n, i;

    if (!valid_cp(c) && !(c == 0xFFFE || c == 0xFFFF))
        return fail(p, ETF_E_SYNTAX, pos, "not a Unicode code point");
    if (width == 8) {
        n = utf8_encode(c, out);
    } else if (width == 16) {
        if (c >= 0x10000) {
            u[0] = (uint16_t)(0xD800 + ((c - 0x10000) >> 10));
            u[1] = (uint16_t)(0xDC00 + ((c - 0x10000) & 0x3FF));
            n = 4;
        } else {
            u[0] = (uint16_t)c;
            n = 2;
        }
        for (i = 0; i < n / 2; i++) {
            out[2 * i] = (uint8_t)(little ? u[i] : u[i] >> 8);
            out[2 * i + 1] = (uint8_t)(little ? u[i] >> 8 : u[i]);
        }
    } else {
        n = 4;
        for (i = 0; i < 4; i++)
            out[little ? i : 3 - i] = (uint8_t)(c >> (8 * i));
    }
    if (charge(p, n * 8, pos) < 0)
        return -1;
    return bb_put(p, bb, out, 0, n * 8);
}

/* A double as a 64- or 32-bit IEEE float. */
static int
put_float(parser *p, bitbuf *bb, double d, size_t nbits, bool little,
          size_t pos)
{
    uint8_t out[8], tmp;
    uint64_t u64;
    uint32_t u32;
    float f;
    size_t i;

    if (nbits == 64) {
        memcpy(&u64, &d, 8);
    } else if (nbits == 32) {
        /* Out of float's range: OTP writes infinity; stay defined. */
        if (fabs(d) > FLT_MAX)
            f = fabs(d) >= (double)FLT_MAX + ldexp(1, 103)
                    ? (d < 0 ? -INFINITY : INFINITY)
                    : (d < 0 ? -FLT_MAX : FLT_MAX);
        else
            f = (float)d;
        memcpy(&u32, &f, 4);
        u64 = (uint64_t)u32 << 32;
    } else {
        return fail(p, ETF_E_SYNTAX, pos, "floats are 32 or 64 bits here");
    }
    for (i = 0; i < 8; i++)
        out[i] = (uint8_t)(u64 >> (56 - 8 * i));
    if (little)
        for (i = 0; i < nbits / 16; i++) {
            tmp = out[i];
            out[i] = out[nbits / 8 - 1 - i];
            out[nbits / 8 - 1 - i] = tmp;
        }
    return bb_put(p, bb, out, 0, nbits);
}

/* The type specifiers of a segment. */
typedef struct segspec {
    enum {
        T_INTEGER,
        T_FLOAT,
        T_BINARY,
        T_BITS,
        T_UTF8,
        T_UTF16,
        T_UTF32
    } type;
    bool has_size, has_unit, little;
    uint64_t size;
    unsigned unit;
} segspec;

static bool
host_little(void)
{
    uint16_t one = 1;
    uint8_t b;

    memcpy(&b, &one, 1);
    return b == 1;
}

/* Read ":Size" and "/Type-Type-unit:N" after a segment's value. */
static int
parse_spec(parser *p, segspec *sp)
{
    token t;
    etf_term v;
    int r;

    memset(sp, 0, sizeof(*sp));
    if ((r = accept(p, ':')) < 0)
        return -1;
    if (r) {
        if (next(p, &t) < 0)
            return -1;
        if (t.kind != TK_INT)
            return unexpected(p, &t, "a segment size (an integer)");
        if (make_int(p, &v, false, t.base, t.dpos, t.end, t.pos) < 0)
            return -1;
        if (v.kind != ETF_INT || v.v.i > (int64_t)UINT32_MAX)
            return fail(p, ETF_E_LIMIT, t.pos, "segment size too large");
        sp->has_size = true;
        sp->size = (uint64_t)v.v.i;
    }
    if ((r = accept(p, '/')) < 0)
        return -1;
    if (!r)
        return 0;
    do {
        if (next(p, &t) < 0)
            return -1;
        if (t.kind != TK_ATOM)
            return unexpected(p, &t, "a type specifier");
#define IS(s) (p->atomlen == strlen(s) && memcmp(p->atom, s, p->atomlen) == 0)
        if (IS("integer"))
            sp->type = T_INTEGER;
        else if (IS("float"))
            sp->type = T_FLOAT;
        else if (IS("binary") || IS("bytes"))
            sp->type = T_BINARY;
        else if (IS("bitstring") || IS("bits"))
            sp->type = T_BITS;
        else if (IS("utf8"))
            sp->type = T_UTF8;
        else if (IS("utf16"))
            sp->type = T_UTF16;
        else if (IS("utf32"))
            sp->type = T_UTF32;
        else if (IS("signed") || IS("unsigned") || IS("big"))
            ;
        else if (IS("little"))
            sp->little = true;
        else if (IS("native"))
            sp->little = host_little();
        else if (IS("unit")) {
            if (next(p, &t) < 0)
                return -1;
            if (t.kind != TK_PUNCT || t.punct != ':')
                return unexpected(p, &t, "':' after unit");
            if (next(p, &t) < 0)
                return -1;
            if (t.kind != TK_INT)
                return unexpected(p, &t, "a unit");
            if (make_int(p, &v, false, t.base, t.dpos, t.end, t.pos) < 0)
                return -1;
            if (v.kind != ETF_INT || v.v.i < 1 || v.v.i > 256)
                return fail(p, ETF_E_SYNTAX, t.pos, "unit out of 1..256");
            sp->has_unit = true;
            sp->unit = (unsigned)v.v.i;
        } else {
            return fail(p, ETF_E_SYNTAX, t.pos, "unknown type specifier '%s'",
                        p->atom);
        }
#undef IS
    } while ((r = accept(p, '-')) > 0);
    return r < 0 ? -1 : 0;
}

/* Read the specifiers of the segment held in f and append it. */
static int
finish_segment(parser *p, frame *f)
{
    segspec sp;
    size_t pos = f->segpos, nbits, i, unit;
    etf_term iv;
    double d;

    if (parse_spec(p, &sp) < 0)
        return -1;
    if (f->seg == S_OTHER)
        return fail(p, ETF_E_SYNTAX, pos,
                    "a segment is a number, a string or a binary");
    if (sp.type >= T_UTF8) {
        unsigned w = sp.type == T_UTF8 ? 8 : sp.type == T_UTF16 ? 16 : 32;

        if (sp.has_size || sp.has_unit)
            return fail(p, ETF_E_SYNTAX, pos,
                        "utf segments take no size or unit");
        if (f->seg == S_STRING) {
            for (i = 0; i < p->ncps; i++)
                if (put_utf(p, &f->bb, p->cps[i], w, sp.little, pos) < 0)
                    return -1;
            return 0;
        }
        if (f->seg != S_INT || f->segv.kind != ETF_INT || f->segv.v.i < 0 ||
            f->segv.v.i > 0x10FFFF)
            return fail(p, ETF_E_SYNTAX, pos, "not a Unicode code point");
        return put_utf(p, &f->bb, (uint32_t)f->segv.v.i, w, sp.little, pos);
    }
    unit = sp.has_unit ? sp.unit : (sp.type == T_BINARY ? 8 : 1);
    if (sp.type == T_BINARY || sp.type == T_BITS) {
        const etf_term *b = &f->segv;
        size_t have;

        if (f->seg != S_BIN)
            return fail(p, ETF_E_SYNTAX, pos, "only a binary can be a %s",
                        sp.type == T_BINARY ? "binary" : "bitstring");
        have = b->len == 0 ? 0 : ((size_t)b->len - 1) * 8 + b->aux;
        nbits = sp.has_size ? (size_t)sp.size * unit : have;
        if (sp.has_size && sp.size != 0 && nbits / sp.size != unit)
            return fail(p, ETF_E_LIMIT, pos, "segment size too large");
        if (nbits > have)
            return fail(p, ETF_E_SYNTAX, pos, "segment larger than its value");
        if (nbits % unit != 0)
            return fail(p, ETF_E_SYNTAX, pos,
                        "bitstring is not a multiple of the unit");
        if (charge(p, nbits, pos) < 0)
            return -1;
        return bb_put(p, &f->bb, b->v.bytes, 0, nbits);
    }
    if (f->seg == S_BIN)
        return fail(p, ETF_E_SYNTAX, pos,
                    "a binary in a binary needs /binary or /bits");
    if (sp.type == T_FLOAT) {
        nbits = sp.has_size ? (size_t)sp.size * unit : 64;
        if (f->seg == S_STRING) {
            for (i = 0; i < p->ncps; i++)
                if (charge(p, nbits, pos) < 0 ||
                    put_float(p, &f->bb, p->cps[i], nbits, sp.little, pos) < 0)
                    return -1;
            return 0;
        }
        if (f->segv.kind == ETF_FLOAT)
            d = f->segv.v.f;
        else if (f->segv.kind == ETF_INT)
            d = (double)f->segv.v.i;
        else
            return fail(p, ETF_E_SYNTAX, pos, "integer too large for a float");
        if (charge(p, nbits, pos) < 0)
            return -1;
        return put_float(p, &f->bb, d, nbits, sp.little, pos);
    }
    nbits = sp.has_size ? (size_t)sp.size * unit : 8;
    if (sp.has_size && sp.size != 0 && nbits / sp.size != unit)
        return fail(p, ETF_E_LIMIT, pos, "segment size too large");
    if (f->seg == S_FLOAT)
        return fail(p, ETF_E_SYNTAX, pos, "a float segment needs /float");
    if (f->seg == S_STRING) {
        for (i = 0; i < p->ncps; i++) {
            etf_set_int(&iv, p->cps[i]);
            if (charge(p, nbits, pos) < 0 ||
                put_int_bits(p, &f->bb, &iv, nbits, sp.little) < 0)
                return -1;
        }
        return 0;
    }
    if (charge(p, nbits, pos) < 0)
        return -1;
    return put_int_bits(p, &f->bb, &f->segv, nbits, sp.little);
}

/* ------------------------------------------------------------------ */
/* Containers                                                          */
/* ------------------------------------------------------------------ */

static int
push_val(parser *p, const etf_term *v)
{
    if (!grow((void **)&p->vals, &p->capvals, p->nvals + 1, sizeof(etf_term)))
        return nomem(p);
    p->vals[p->nvals++] = *v;
    return 0;
}

static int
open_frame(parser *p, fkind kind, size_t pos)
{
    frame *f;

    if (p->nfr >= TEXT_MAX_DEPTH)
        return fail(p, ETF_E_DEPTH, pos, "nesting deeper than %u",
                    (unsigned)TEXT_MAX_DEPTH);
    if (!grow((void **)&p->fr, &p->capfr, p->nfr + 1, sizeof(frame)))
        return nomem(p);
    f = &p->fr[p->nfr++];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->base = p->nvals;
    f->pos = pos;
    return 0;
}

/* Count the elements a list tail adds when spliced in. */
static size_t
tail_len(const etf_term *t)
{
    if (t->kind == ETF_LIST || t->kind == ETF_STRING)
        return t->len;
    return 0;
}

/* A proper list of integers 0..255 becomes a byte string, the form
 * term_to_binary gives it (STRING_EXT). */
static int
small_ints_to_string(parser *p, etf_term *t)
{
    size_t i;
    uint8_t *b;

    if (t->kind != ETF_LIST || t->v.elems[t->len].kind != ETF_NIL ||
        t->len > 65535)
        return 0;
    for (i = 0; i < t->len; i++)
        if (t->v.elems[i].kind != ETF_INT || t->v.elems[i].v.i < 0 ||
            t->v.elems[i].v.i > 255)
            return 0;
    b = malloc(t->len);
    if (b == NULL)
        return nomem(p);
    for (i = 0; i < t->len; i++)
        b[i] = (uint8_t)t->v.elems[i].v.i;
    i = (size_t)etf_set_string(p->a, t, b, t->len);
    free(b);
    return i == 0 ? 0 : nomem(p);
}

/* Build the list of the top frame: [a, b | Tail] with a list tail
 * spliced in, so [1|[2]] is [1,2] as in Erlang. */
static int
close_list(parser *p, frame *f, etf_term *out)
{
    size_t n = p->nvals - f->base, i, extra;
    const etf_term *tail = NULL;
    etf_term *e;

    if (f->tail) {
        tail = &p->vals[p->nvals - 1];
        n--;
    }
    extra = tail != NULL ? tail_len(tail) : 0;
    if (n + extra >= UINT32_MAX)
        return fail(p, ETF_E_LIMIT, f->pos, "list too long");
    if (n == 0) {
        *out = *tail; /* [|T] cannot be written; only [] gets here */
        return 0;
    }
    if ((e = etf_set_list(p->a, out, (uint32_t)(n + extra))) == NULL)
        return nomem(p);
    for (i = 0; i < n; i++)
        e[i] = p->vals[f->base + i];
    if (tail == NULL)
        return small_ints_to_string(p, out);
    if (tail->kind == ETF_LIST) {
        for (i = 0; i <= tail->len; i++)
            e[n + i] = tail->v.elems[i];
    } else if (tail->kind == ETF_STRING) {
        for (i = 0; i < tail->len; i++)
            etf_set_int(&e[n + i], tail->v.bytes[i]);
    } else {
        e[n] = *tail;
    }
    return small_ints_to_string(p, out);
}

typedef struct kv {
    const etf_term *k, *v;
    size_t i;
} kv;

static int
kv_cmp(const void *x, const void *y)
{
    const kv *a = x, *b = y;
    int c = etf_compare(a->k, b->k, true);

    if (c != 0)
        return c;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Build the map of the top frame; of equal keys the last one wins, as
 * erl_eval evaluates #{a => 1, a => 2}. */
static int
close_map(parser *p, frame *f, etf_term *out)
{
    size_t n = (p->nvals - f->base) / 2, i, m = 0;
    kv *s;
    etf_term *e;

    if (n > UINT32_MAX)
        return fail(p, ETF_E_LIMIT, f->pos, "map too large");
    s = malloc((n ? n : 1) * sizeof(*s));
    if (s == NULL)
        return nomem(p);
    for (i = 0; i < n; i++) {
        s[i].k = &p->vals[f->base + 2 * i];
        s[i].v = &p->vals[f->base + 2 * i + 1];
        s[i].i = i;
    }
    qsort(s, n, sizeof(*s), kv_cmp);
    for (i = 0; i < n; i++)
        if (i + 1 == n || etf_compare(s[i].k, s[i + 1].k, true) != 0)
            s[m++] = s[i];
    e = etf_set_map(p->a, out, (uint32_t)m);
    if (e == NULL) {
        free(s);
        return nomem(p);
    }
    for (i = 0; i < m; i++) {
        e[2 * i] = *s[i].k;
        e[2 * i + 1] = *s[i].v;
    }
    free(s);
    return etf_map_sort(out, p->err);
}

static int
close_bin(parser *p, frame *f, etf_term *out)
{
    bitbuf *bb = &f->bb;
    size_t len = (bb->bits + 7) / 8;
    unsigned bits = bb->bits % 8 ? (unsigned)(bb->bits % 8) : 8;

    if (len > UINT32_MAX)
        return fail(p, ETF_E_LIMIT, f->pos, "binary too large");
    if (etf_set_bitstring(p->a, out, bb->p, len, bits) < 0)
        return nomem(p);
    return 0;
}

/* -(N): negate the number inside a signed parenthesis. */
static int
negate(parser *p, etf_term *t, size_t pos)
{
    uint8_t mag[8];
    uint64_t u;
    int i;

    switch (t->kind) {
    case ETF_FLOAT:
        t->v.f = -t->v.f;
        return 0;
    case ETF_INT:
        if (t->v.i != INT64_MIN) {
            t->v.i = -t->v.i;
            return 0;
        }
        u = (uint64_t)1 << 63;
        for (i = 0; i < 8; i++)
            mag[i] = (uint8_t)(u >> (8 * i));
        return etf_set_big(p->a, t, false, mag, 8) < 0 ? nomem(p) : 0;
    case ETF_BIG:
        /* through etf_set_big, which makes -2^63 an ETF_INT again */
        return etf_set_big(p->a, t, t->aux == 0, t->v.bytes, t->len) < 0
                   ? nomem(p)
                   : 0;
    default:
        return fail(p, ETF_E_SYNTAX, pos, "a sign needs a number");
    }
}

/* Close the top frame into out. */
static int
close_frame(parser *p, etf_term *out)
{
    frame *f = &p->fr[p->nfr - 1];
    etf_term *e;
    size_t i, n = p->nvals - f->base;
    int rc = 0;

    switch (f->kind) {
    case F_TUPLE:
        if (n > UINT32_MAX)
            return fail(p, ETF_E_LIMIT, f->pos, "tuple too large");
        if ((e = etf_set_tuple(p->a, out, (uint32_t)n)) == NULL)
            return nomem(p);
        for (i = 0; i < n; i++)
            e[i] = p->vals[f->base + i];
        break;
    case F_LIST:
        rc = close_list(p, f, out);
        break;
    case F_MAP:
        rc = close_map(p, f, out);
        break;
    case F_BIN:
        rc = close_bin(p, f, out);
        free(f->bb.p);
        f->bb.p = NULL;
        break;
    case F_PAREN:
        *out = p->vals[f->base];
        if (f->neg)
            rc = negate(p, out, f->pos);
        break;
    }
    p->nvals = f->base;
    p->nfr--;
    return rc;
}

/* Read one value where a term is expected. *opened is set when the value
 * is a container left open on the frame stack. */
static int
read_value(parser *p, etf_term *out, bool *opened)
{
    token t;
    bool neg = false, sign = false;
    int r;

    *opened = false;
    if (next(p, &t) < 0)
        return -1;
    while (t.kind == TK_PUNCT && (t.punct == '-' || t.punct == '+')) {
        neg ^= t.punct == '-';
        sign = true;
        if (next(p, &t) < 0)
            return -1;
    }
    if (sign && t.kind == TK_PUNCT && t.punct == '(') {
        *opened = true;
        if (open_frame(p, F_PAREN, t.pos) < 0)
            return -1;
        p->fr[p->nfr - 1].neg = neg;
        return 0;
    }
    if (sign && t.kind != TK_INT && t.kind != TK_FLOAT && t.kind != TK_CHAR)
        return unexpected(p, &t, "a number after the sign");
    switch (t.kind) {
    case TK_INT:
        return make_int(p, out, neg, t.base, t.dpos, t.end, t.pos);
    case TK_FLOAT:
        etf_set_float(out, neg ? -t.f : t.f);
        return 0;
    case TK_CHAR:
        etf_set_int(out, neg ? -(int64_t)t.ch : (int64_t)t.ch);
        return 0;
    case TK_STRING:
        return make_string(p, out);
    case TK_ATOM:
        if (!t.quoted && reserved(p->atom, p->atomlen)) {
            if (strcmp(p->atom, "fun") == 0)
                return parse_export(p, out);
            return fail(p, ETF_E_SYNTAX, t.pos,
                        "reserved word '%s' is not a term (quote it)", p->atom);
        }
        return make_atom(p, out, t.pos);
    case TK_VAR:
        return fail(p, ETF_E_SYNTAX, t.pos, "variables are not terms");
    case TK_HASH:
        switch (t.punct) {
        case H_REF:
            return parse_ref(p, out, t.pos);
        case H_PORT:
            return parse_port(p, out, t.pos);
        case H_LOCAL:
            return parse_local(p, out);
        default:
            return fail(p, ETF_E_SYNTAX, t.pos,
                        "a local fun cannot be read back from its text");
        }
    case TK_PUNCT:
        switch (t.punct) {
        case '{':
            if ((r = accept(p, '}')) != 0) {
                if (r > 0 && etf_set_tuple(p->a, out, 0) == NULL)
                    return nomem(p);
                return r < 0 ? -1 : 0;
            }
            *opened = true;
            return open_frame(p, F_TUPLE, t.pos);
        case '[':
            if ((r = accept(p, ']')) != 0) {
                etf_set_nil(out);
                return r < 0 ? -1 : 0;
            }
            *opened = true;
            return open_frame(p, F_LIST, t.pos);
        case P_MAP:
            if ((r = accept(p, '}')) != 0) {
                if (r > 0 && etf_set_map(p->a, out, 0) == NULL)
                    return nomem(p);
                return r < 0 ? -1 : 0;
            }
            *opened = true;
            return open_frame(p, F_MAP, t.pos);
        case P_LTLT:
            if ((r = accept(p, P_GTGT)) != 0) {
                if (r > 0 && etf_set_binary(p->a, out, "", 0) < 0)
                    return nomem(p);
                return r < 0 ? -1 : 0;
            }
            *opened = true;
            return open_frame(p, F_BIN, t.pos);
        case '<':
            return parse_pid(p, out, t.pos);
        case '(':
            *opened = true;
            return open_frame(p, F_PAREN, t.pos);
        default:
            break;
        }
        break;
    default:
        break;
    }
    return unexpected(p, &t, "a term");
}

/* Read the value of a binary segment into the top (F_BIN) frame. */
static int
read_segment(parser *p, bool *opened)
{
    frame *f = &p->fr[p->nfr - 1];
    token t;
    bool neg = false, sign = false;
    int r;

    *opened = false;
    if (next(p, &t) < 0)
        return -1;
    f = &p->fr[p->nfr - 1];
    f->segpos = t.pos;
    while (t.kind == TK_PUNCT && (t.punct == '-' || t.punct == '+')) {
        neg ^= t.punct == '-';
        sign = true;
        if (next(p, &t) < 0)
            return -1;
    }
    if (sign && t.kind != TK_INT && t.kind != TK_FLOAT && t.kind != TK_CHAR &&
        !(t.kind == TK_PUNCT && t.punct == '('))
        return unexpected(p, &t, "a number after the sign");
    switch (t.kind) {
    case TK_INT:
        f->seg = S_INT;
        return make_int(p, &f->segv, neg, t.base, t.dpos, t.end, t.pos);
    case TK_CHAR:
        f->seg = S_INT;
        etf_set_int(&f->segv, neg ? -(int64_t)t.ch : (int64_t)t.ch);
        return 0;
    case TK_FLOAT:
        f->seg = S_FLOAT;
        etf_set_float(&f->segv, neg ? -t.f : t.f);
        return 0;
    case TK_STRING:
        f->seg = S_STRING;
        return 0;
    case TK_PUNCT:
        if (t.punct == '(') {
            *opened = true;
            if (open_frame(p, F_PAREN, t.pos) < 0)
                return -1;
            p->fr[p->nfr - 1].neg = neg;
            return 0;
        }
        if (t.punct == P_LTLT && !sign) {
            if ((r = accept(p, P_GTGT)) != 0) {
                f->seg = S_BIN;
                if (r > 0 && etf_set_binary(p->a, &f->segv, "", 0) < 0)
                    return nomem(p);
                return r < 0 ? -1 : 0;
            }
            *opened = true;
            return open_frame(p, F_BIN, t.pos);
        }
        break;
    default:
        break;
    }
    return unexpected(p, &t,
                      "a binary segment (a number, a string or <<...>>)");
}

/* Hand a finished value to the container it belongs to. */
static int
deliver(parser *p, const etf_term *v)
{
    frame *f;

    if (p->nfr > 0 && (f = &p->fr[p->nfr - 1])->kind == F_BIN) {
        switch (v->kind) {
        case ETF_INT:
        case ETF_BIG:
            f->seg = S_INT;
            break;
        case ETF_FLOAT:
            f->seg = S_FLOAT;
            break;
        case ETF_BINARY:
            f->seg = S_BIN;
            break;
        default:
            f->seg = S_OTHER;
        }
        f->segv = *v;
        return 0;
    }
    return push_val(p, v);
}

/* Having read a value inside the top frame, read what follows it. Sets
 * *want_value when another value comes next. */
static int
after_value(parser *p, bool *want_value)
{
    frame *f = &p->fr[p->nfr - 1];
    etf_term v;
    token t;

    *want_value = false;
    if (f->kind == F_BIN) {
        if (finish_segment(p, f) < 0)
            return -1;
        f = &p->fr[p->nfr - 1];
        f->seg = S_NONE;
    }
    if (next(p, &t) < 0)
        return -1;
    if (t.kind != TK_PUNCT)
        goto bad;
    switch (f->kind) {
    case F_TUPLE:
        if (t.punct == ',')
            goto more;
        if (t.punct == '}')
            goto close;
        goto bad;
    case F_LIST:
        if (t.punct == ']')
            goto close;
        if (f->tail)
            goto bad;
        if (t.punct == ',')
            goto more;
        if (t.punct == '|') {
            f->tail = true;
            goto more;
        }
        goto bad;
    case F_MAP:
        if ((p->nvals - f->base) % 2 == 1) {
            if (t.punct == P_ARROW)
                goto more;
            if (t.punct == P_ASSIGN)
                return fail(p, ETF_E_SYNTAX, t.pos,
                            "':=' updates a map; write '=>'");
            goto bad;
        }
        if (t.punct == ',')
            goto more;
        if (t.punct == '}')
            goto close;
        goto bad;
    case F_BIN:
        if (t.punct == ',')
            goto more;
        if (t.punct == P_GTGT)
            goto close;
        goto bad;
    case F_PAREN:
        if (t.punct == ')')
            goto close;
        goto bad;
    }
bad:
    switch (f->kind) {
    case F_TUPLE:
        return unexpected(p, &t, "',' or '}'");
    case F_LIST:
        return unexpected(p, &t, f->tail ? "']'" : "',', '|' or ']'");
    case F_PAREN:
        return unexpected(p, &t, "')'");
    case F_MAP:
        return unexpected(
            p, &t, (p->nvals - f->base) % 2 == 1 ? "'=>'" : "',' or '}'");
    default:
        return unexpected(p, &t, "',' or '>>'");
    }
more:
    *want_value = true;
    return 0;
close:
    if (close_frame(p, &v) < 0)
        return -1;
    return deliver(p, &v);
}

static void
parser_free(parser *p)
{
    size_t i;

    for (i = 0; i < p->nfr; i++)
        free(p->fr[i].bb.p);
    free(p->fr);
    free(p->vals);
    free(p->cps);
    free(p->acps);
}

etf_term *
etf_parse(etf_arena *a, const char *text, size_t len, etf_error *err)
{
    parser p;
    etf_term v, *out = NULL;
    const struct lconv *lc;
    bool want = true, opened;
    size_t i, k;
    uint32_t c;
    token t;

    memset(&p, 0, sizeof(p));
    p.a = a;
    p.s = (const uint8_t *)text;
    p.len = len;
    p.err = err;
    lc = localeconv();
    p.dp = lc != NULL && lc->decimal_point != NULL && lc->decimal_point[0]
               ? lc->decimal_point[0]
               : '.';
    p.bin_budget = len > TEXT_MIN_BIN_BUDGET / TEXT_BIN_BITS_PER_BYTE
                       ? len * TEXT_BIN_BITS_PER_BYTE
                       : TEXT_MIN_BIN_BUDGET;
    if (a == NULL || (text == NULL && len > 0)) {
        etf_fail(err, ETF_E_ARG, 0, "no arena or no text");
        return NULL;
    }
    for (i = 0; i < len; i += k) {
        if ((uint8_t)text[i] < 0x80) {
            k = 1;
        } else if ((k = utf8_decode(p.s + i, len - i, &c)) == 0) {
            etf_fail(err, ETF_E_UTF8, i, "invalid UTF-8 at byte %zu", i);
            return NULL;
        }
    }
    for (;;) {
        if (want) {
            int r = p.nfr > 0 && p.fr[p.nfr - 1].kind == F_BIN
                        ? read_segment(&p, &opened)
                        : read_value(&p, &v, &opened);

            if (r < 0)
                goto done;
            if (opened)
                continue;
            if (!(p.nfr > 0 && p.fr[p.nfr - 1].kind == F_BIN) &&
                push_val(&p, &v) < 0)
                goto done;
            want = false;
        }
        if (p.nfr == 0)
            break;
        if (after_value(&p, &want) < 0)
            goto done;
    }
    /* One term, then an optional '.' and nothing else. */
    if (next(&p, &t) < 0)
        goto done;
    if (t.kind == TK_DOT && next(&p, &t) < 0)
        goto done;
    if (t.kind != TK_EOF) {
        char b[40];

        fail(&p, ETF_E_TRAILING, t.pos, "unexpected %s after the term",
             describe(&p, &t, b, sizeof(b)));
        goto done;
    }
    /* A LOCAL_EXT payload runs to the end of its input: it can only be
     * the whole term. */
    if (p.locals > 1 || (p.locals == 1 && p.vals[0].kind != ETF_LOCAL)) {
        fail(&p, ETF_E_SYNTAX, 0,
             "a #Local<...> term can only be the whole term, not inside one");
        goto done;
    }
    out = etf_arena_alloc(a, sizeof(*out));
    if (out == NULL)
        nomem(&p);
    else
        *out = p.vals[0];
done:
    parser_free(&p);
    return out;
}
