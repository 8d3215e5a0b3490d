/*
 * Strict UTF-8, as the BEAM checks atoms: no overlong forms, no
 * surrogates, nothing above U+10FFFF.
 */
#include "etf_int.h"

size_t
utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t len, i;

    if (n == 0)
        return 0;
    c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        c &= 0x07;
    } else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    /* Overlong 3- and 4-byte forms, surrogates, beyond U+10FFFF. */
    if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
        (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
        return 0;
    *cp = c;
    return len;
}

/*
 * The validator is a DFA whose transitions for one byte class are packed
 * in a 64-bit row: a state is a bit offset (a multiple of 6) and the next
 * state is (row >> state) & 63. The step is a shift, with no branch, so
 * random mixes of 1- to 4-byte characters cost no mispredictions.
 *
 * States: 0 accept, 6/12/18 one/two/three continuation bytes to come,
 * 24 after E0 (A0..BF next: no overlong), 30 after ED (80..9F next: no
 * surrogates), 36 after F0 (90..BF next: no overlong), 42 after F4 (80..8F
 * next: nothing above U+10FFFF), 48 reject (which it never leaves).
 */
static const uint8_t utf8_class[256] = {
    0, 0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0,  0,  0,  0,  0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    2, 2,  2,  2,  2,  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3,  3,  3,  3,  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    4, 4,  5,  5,  5,  5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5,  5,  5,  5,  5, 5, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 7,
    9, 10, 10, 10, 11, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

static const uint64_t utf8_row[12] = {
    0x0030C30C30C30C00ULL, /* 00..7F */
    0x00303301B0306030ULL, /* 80..8F */
    0x0030C0C1B0306030ULL, /* 90..9F */
    0x0030C0CC06306030ULL, /* A0..BF */
    0x0030C30C30C30C30ULL, /* C0, C1, F5..FF: never valid */
    0x0030C30C30C30C06ULL, /* C2..DF */
    0x0030C30C30C30C18ULL, /* E0 */
    0x0030C30C30C30C0CULL, /* E1..EC, EE, EF */
    0x0030C30C30C30C1EULL, /* ED */
    0x0030C30C30C30C24ULL, /* F0 */
    0x0030C30C30C30C12ULL, /* F1..F3 */
    0x0030C30C30C30C2AULL, /* F4 */
};

static bool
utf8_check_scalar(const uint8_t *p, size_t len, size_t *chars, bool *latin1)
{
    size_t i = 0, cont = 0;
    uint64_t s = 0;
    unsigned wide = 0, b;

    while (i < len) {
        /* Most atoms are ASCII: take them eight bytes at a time. */
        if (s == 0 && len - i >= 8 && ascii8(p + i)) {
            i += 8;
            continue;
        }
        b = p[i++];
        s = (utf8_row[utf8_class[b]] >> s) & 63;
        cont += (b & 0xC0) == 0x80;
        /* In valid UTF-8 only the lead bytes of U+0100 and up are >= C4. */
        wide |= b >= 0xC4;
    }
    if (s != 0)
        return false;
    if (chars != NULL)
        *chars = len - cont;
    if (latin1 != NULL)
        *latin1 = !wide;
    return true;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define UTF8_AVX2 1

/*
 * 32 bytes at a time with AVX2, by the "lookup" method of Keiser and
 * Lemire, "Validating UTF-8 In Less Than One Instruction Per Byte" (2021):
 * every error shows in the two nibbles of a byte and the high nibble of
 * the next, so three table lookups find all of them but the missing or
 * extra third and fourth bytes, which come from the bytes two and three
 * back. Same rules as the DFA above; the tests hold the two together.
 */

/* Error bits of a pair of bytes (the first, the second). */
#define TOO_SHORT (1 << 0)      /* 11______ 0_______, 11______ 11______ */
#define TOO_LONG (1 << 1)       /* 0_______ 10______ */
#define OVERLONG_3 (1 << 2)     /* 11100000 100_____ */
#define TOO_LARGE (1 << 3)      /* 11110100 1001____ and above */
#define SURROGATE (1 << 4)      /* 11101101 101_____ */
#define OVERLONG_2 (1 << 5)     /* 1100000_ 10______ */
#define TOO_LARGE_1000 (1 << 6) /* 11110101 1000____ and above */
#define OVERLONG_4 (1 << 6)     /* 11110000 1000____ */
#define TWO_CONTS (-128)        /* 10______ 10______ (bit 7 as a char) */
#define CARRY (TOO_SHORT | TOO_LONG | TWO_CONTS)

#define TABLE16(...) _mm256_setr_epi8(__VA_ARGS__, __VA_ARGS__)

__attribute__((target("avx2"))) static inline __m256i
prev_n(__m256i in, __m256i prev, int n)
{
    __m256i x = _mm256_permute2x128_si256(prev, in, 0x21);

    switch (n) {
    case 1:
        return _mm256_alignr_epi8(in, x, 15);
    case 2:
        return _mm256_alignr_epi8(in, x, 14);
    default:
        return _mm256_alignr_epi8(in, x, 13);
    }
}

__attribute__((target("avx2"))) static inline __m256i
high_nibbles(__m256i v)
{
    return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
}

/* The error bits of one block, given the block before it. */
__attribute__((target("avx2"))) static inline __m256i
block_errors(__m256i in, __m256i prev)
{
    const __m256i byte_1_high_tab = TABLE16(
        /* 0_______: ASCII first */
        TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
        TOO_LONG,
        /* 10______: continuation first */
        TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
        /* 1100____, 1101____: two-byte lead */
        TOO_SHORT | OVERLONG_2, TOO_SHORT,
        /* 1110____: three-byte lead */
        TOO_SHORT | OVERLONG_3 | SURROGATE,
        /* 1111____: four-byte lead */
        TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4);
    const __m256i byte_1_low_tab = TABLE16(
        CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4, /* ____0000 */
        CARRY | OVERLONG_2,                           /* ____0001 */
        CARRY, CARRY,                                 /* ____001_ */
        CARRY | TOO_LARGE,                            /* ____0100 */
        CARRY | TOO_LARGE | TOO_LARGE_1000,           /* ____0101 */
        CARRY | TOO_LARGE | TOO_LARGE_1000,           /* ____011_ */
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000, /* ____1___ */
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE, /* ____1101 */
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000);
    const __m256i byte_2_high_tab = TABLE16(
        /* ________ 0_______: ASCII second */
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
        TOO_SHORT, TOO_SHORT,
        /* ________ 1000____ */
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 |
            OVERLONG_4,
        /* ________ 1001____ */
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
        /* ________ 101_____ */
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
        /* ________ 11______ */
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT);
    __m256i prev1 = prev_n(in, prev, 1);
    __m256i sc = _mm256_and_si256(
        _mm256_and_si256(
            _mm256_shuffle_epi8(byte_1_high_tab, high_nibbles(prev1)),
            _mm256_shuffle_epi8(
                byte_1_low_tab,
                _mm256_and_si256(prev1, _mm256_set1_epi8(0x0F)))),
        _mm256_shuffle_epi8(byte_2_high_tab, high_nibbles(in)));
    /* Bytes two after a 111_____ or three after a 1111____ must be
     * continuations: the only case that sets bit 7 of sc. */
    __m256i third = _mm256_subs_epu8(prev_n(in, prev, 2),
                                     _mm256_set1_epi8((char)(0xE0 - 0x80)));
    __m256i fourth = _mm256_subs_epu8(prev_n(in, prev, 3),
                                      _mm256_set1_epi8((char)(0xF0 - 0x80)));
    __m256i must23 = _mm256_and_si256(_mm256_or_si256(third, fourth),
                                      _mm256_set1_epi8((char)0x80));

    return _mm256_xor_si256(must23, sc);
}

__attribute__((target("avx2"))) static bool
utf8_check_avx2(const uint8_t *p, size_t len, size_t *chars, bool *latin1)
{
    __m256i prev = _mm256_setzero_si256(), err = prev, high = prev, in;
    uint8_t tail[32];
    size_t i, cont = 0;
    bool last = false;

    for (i = 0; !last; i += 32) {
        if (len - i >= 32) {
            in = _mm256_loadu_si256((const __m256i *)(p + i));
        } else {
            /* Zeros after the end: ASCII, which ends any character cut
             * short with an error. Always one such block, so the last
             * character is checked even when len is a multiple of 32. */
            memset(tail, 0, sizeof(tail));
            memcpy(tail, p + i, len - i);
            in = _mm256_loadu_si256((const __m256i *)tail);
            last = true;
        }
        err = _mm256_or_si256(err, block_errors(in, prev));
        high = _mm256_max_epu8(high, in);
        /* Continuation bytes, 80..BF, are the signed bytes below -64. */
        cont += (size_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(
            _mm256_cmpgt_epi8(_mm256_set1_epi8(-64), in)));
        prev = in;
    }
    if (!_mm256_testz_si256(err, err))
        return false;
    if (chars != NULL)
        *chars = len - cont;
    if (latin1 != NULL) {
        /* Bytes of C4 and up lead the characters past U+00FF. */
        __m256i wide = _mm256_cmpeq_epi8(
            _mm256_max_epu8(high, _mm256_set1_epi8((char)0xC4)), high);
        *latin1 = _mm256_testz_si256(wide, wide);
    }
    return true;
}

/* utf8_short with AVX2: one load, masked to n bytes, one block. */
__attribute__((target("avx2"))) static bool
utf8_short_avx2(const uint8_t *p, size_t n, uint8_t *out)
{
    /* 32 ones then 32 zeros: from 32 - n on, n ones. */
    static const uint8_t window[64] = {
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    __m256i in = _mm256_and_si256(
        _mm256_loadu_si256((const __m256i *)p),
        _mm256_loadu_si256((const __m256i *)(window + 32 - n)));
    __m256i err = block_errors(in, _mm256_setzero_si256());

    if (!_mm256_testz_si256(err, err))
        return false;
    if (out != NULL)
        _mm256_storeu_si256((__m256i *)out, in);
    return true;
}
#endif

bool
utf8_short(const uint8_t *p, size_t n, uint8_t *out)
{
#ifdef UTF8_AVX2
    /* The zeros after the n bytes are ASCII, so a character they cut
     * short is an error within the block. */
    if (__builtin_cpu_supports("avx2"))
        return utf8_short_avx2(p, n, out);
#endif
    if (!utf8_valid(p, n, NULL))
        return false;
    if (out != NULL) {
        memcpy(out, p, n);
        memset(out + n, 0, 32 - n);
    }
    return true;
}

/* Latin-1 to UTF-8 from byte i on, without a branch per byte (random
 * Latin-1 mispredicts): both bytes of a pair are written, and o moves
 * past one or two. */
static size_t
latin1_tail(const uint8_t *p, size_t i, size_t n, uint8_t *out, size_t o)
{
    unsigned c;

    for (; i < n; i++) {
        c = p[i];
        out[o] = (uint8_t)(c < 0x80 ? c : 0xC0 | (c >> 6));
        out[o + 1] = (uint8_t)(0x80 | (c & 0x3F));
        o += 1 + (c >> 7);
    }
    return o;
}

#ifdef UTF8_AVX2
/*
 * Four characters a round with BMI2: pdep spreads the four bytes into
 * 16-bit lanes, each lane gets its two-byte form or stays one byte, and
 * pext packs the bytes to keep. Each round stores 8 bytes at o, which is
 * never ahead of 2 * i, so the stores stay within 2 * n.
 */
__attribute__((target("bmi2,popcnt"))) static size_t
latin1_bmi2(const uint8_t *p, size_t n, uint8_t *out)
{
    const uint64_t low = 0x00FF00FF00FF00FFULL;
    uint64_t w, wide, two, keep, packed;
    uint32_t x;
    size_t i, o = 0;

    for (i = 0; i + 4 <= n; i += 4) {
        memcpy(&x, p + i, 4);
        w = _pdep_u64(x, low);
        wide = (w & 0x0080008000800080ULL) >> 7; /* 1 in lanes past 0x7F */
        two = ((w >> 6) & 0x0003000300030003ULL) | 0x00C000C000C000C0ULL |
              ((w & 0x003F003F003F003FULL) | 0x0080008000800080ULL) << 8;
        w = (w & ~(wide * 0xFFFF)) | (two & wide * 0xFFFF);
        keep = low | (wide * 0xFF00);
        packed = _pext_u64(w, keep);
        memcpy(out + o, &packed, 8);
        o += 4 + (size_t)__builtin_popcountll(wide);
    }
    return latin1_tail(p, i, n, out, o);
}
#endif

size_t
utf8_from_latin1(const uint8_t *p, size_t n, uint8_t *out)
{
    size_t i = 0;

    /* The ASCII prefix is the same in both. */
    while (n - i >= 8 && ascii8(p + i)) {
        memcpy(out + i, p + i, 8);
        i += 8;
    }
    while (i < n && p[i] < 0x80) {
        out[i] = p[i];
        i++;
    }
    if (i == n)
        return n;
#ifdef UTF8_AVX2
    if (__builtin_cpu_supports("bmi2"))
        return i + latin1_bmi2(p + i, n - i, out + i);
#endif
    return latin1_tail(p, i, n, out, i);
}

bool
utf8_check(const uint8_t *p, size_t len, size_t *chars, bool *latin1)
{
    unsigned acc = 0;
    size_t i;
    bool ascii;

    /* Short ASCII, the most common atom: a load or two, or a few bytes. */
    if (len <= 16) {
        if (len >= 8) {
            ascii = ascii8(p) && ascii8(p + len - 8);
        } else {
            for (i = 0; i < len; i++)
                acc |= p[i];
            ascii = acc < 0x80;
        }
        if (ascii) {
            if (chars != NULL)
                *chars = len;
            if (latin1 != NULL)
                *latin1 = true;
            return true;
        }
    }
#ifdef UTF8_AVX2
    /* Anything else in one padded block or more: quicker than the DFA from
     * a few multibyte characters on. */
    if (len >= 4 && __builtin_cpu_supports("avx2"))
        return utf8_check_avx2(p, len, chars, latin1);
#endif
    return utf8_check_scalar(p, len, chars, latin1);
}

bool
utf8_valid(const uint8_t *p, size_t len, size_t *chars)
{
    return utf8_check(p, len, chars, NULL);
}

size_t
utf8_encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    } else if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

bool
utf8_is_latin1(const uint8_t *p, size_t len)
{
    size_t i;

    i = 0;
    while (i + 8 <= len && ascii8(p + i))
        i += 8;
    /* Latin-1 characters above U+007F are encoded as C2 xx or C3 xx. */
    for (; i < len; i++) {
        if (p[i] >= 0x80) {
            if (p[i] != 0xC2 && p[i] != 0xC3)
                return false;
            i++;
        }
    }
    return true;
}
