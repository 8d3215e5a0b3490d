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

/* True when the 8 bytes at p are all ASCII. */
static inline bool
ascii8(const uint8_t *p)
{
    uint64_t w;

    memcpy(&w, p, 8);
    return (w & 0x8080808080808080ULL) == 0;
}

bool
utf8_valid(const uint8_t *p, size_t len, size_t *chars)
{
    size_t i = 0, n = 0, k;
    uint32_t cp;

    /* Most atoms are ASCII: take them eight bytes at a time. */
    while (i + 8 <= len && ascii8(p + i)) {
        i += 8;
        n += 8;
    }
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
        } else {
            k = utf8_decode(p + i, len - i, &cp);
            if (k == 0)
                return false;
            i += k;
        }
        n++;
    }
    if (chars != NULL)
        *chars = n;
    return true;
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
