/*
 * Error codes and messages.
 */
#include <stdio.h>

#include "etf_int.h"

const char *
etf_strerror(etf_code code)
{
    switch (code) {
    case ETF_OK:
        return "ok";
    case ETF_E_TRUNCATED:
        return "truncated";
    case ETF_E_VERSION:
        return "bad version";
    case ETF_E_TAG:
        return "bad tag";
    case ETF_E_LENGTH:
        return "bad length";
    case ETF_E_ATOM:
        return "atom too long";
    case ETF_E_UTF8:
        return "invalid utf-8";
    case ETF_E_FLOAT:
        return "bad float";
    case ETF_E_DEPTH:
        return "too deep";
    case ETF_E_COMPRESSED:
        return "bad compressed term";
    case ETF_E_TRAILING:
        return "trailing bytes";
    case ETF_E_DUPKEY:
        return "duplicate map key";
    case ETF_E_BITS:
        return "bad bit count";
    case ETF_E_BIG:
        return "bignum too large";
    case ETF_E_REF:
        return "bad reference";
    case ETF_E_CACHE:
        return "bad atom cache reference";
    case ETF_E_NODE:
        return "bad node";
    case ETF_E_TYPE:
        return "wrong type";
    case ETF_E_RANGE:
        return "out of range";
    case ETF_E_NOMEM:
        return "out of memory";
    case ETF_E_SPACE:
        return "buffer full";
    case ETF_E_LIMIT:
        return "limit exceeded";
    case ETF_E_SYNTAX:
        return "syntax error";
    case ETF_E_JSON:
        return "bad json";
    case ETF_E_ARG:
        return "bad argument";
    }
    return "unknown error";
}

int
etf_fail(etf_error *err, etf_code code, size_t pos, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return -1;
    err->code = code;
    err->pos = pos;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}
