/*
 * EPMD wire codec.
 */
#include <stdio.h>
#include <string.h>

#include "epmd_wire.h"

static const char *const wire_errmsg[EPMD_WIRE_ECOUNT] = {
    [EPMD_WIRE_ENONE] = "no error",
    [EPMD_WIRE_EZEROLEN] = "zero length request",
    [EPMD_WIRE_ETOOLARGE] = "request length too large",
    [EPMD_WIRE_EEXCESS] = "more bytes than the request length",
    [EPMD_WIRE_EUNKNOWN] = "unknown message type",
    [EPMD_WIRE_ESHORT] = "message too short",
    [EPMD_WIRE_ENAMELEN] = "node name length past the end",
    [EPMD_WIRE_EEXTRALEN] = "extra length past the end",
    [EPMD_WIRE_ENAMENUL] = "NUL byte inside node name",
    [EPMD_WIRE_ENAME] = "node name not 1..254 UTF-8 characters",
    [EPMD_WIRE_ESYNTAX] = "malformed names line",
};

const char *
epmd_wire_strerror(int code)
{
    if (code < 0 || code >= EPMD_WIRE_ECOUNT)
        return "unknown error";
    return wire_errmsg[code];
}

const char *
epmd_wire_strrefusal(enum epmd_alive2_refusal r)
{
    switch (r) {
    case EPMD_ALIVE2_ACCEPTABLE:
        return "acceptable";
    case EPMD_ALIVE2_NAME_TOO_LONG:
        return "node name too long";
    case EPMD_ALIVE2_NAME_UTF8:
        return "node name not valid UTF-8";
    case EPMD_ALIVE2_EXTRA_TOO_LONG:
        return "extra field too long";
    }
    return "unknown";
}

/* Record an error; always returns EPMD_WIRE_REJECT. */
static int
wire_fail(struct epmd_wire_error *err, int code, size_t pos)
{
    if (err != NULL) {
        err->code = code;
        err->msg = wire_errmsg[code];
        err->pos = pos;
    }
    return EPMD_WIRE_REJECT;
}

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* Write Port Type Proto High Low Nlen Name Elen Extra, the body that
 * ALIVE2_REQ and a found PORT2_RESP share. */
static void
wire_put_node(uint8_t *p, const struct epmd_node_info *n)
{
    p = put16(p, n->port);
    *p++ = n->node_type;
    *p++ = n->protocol;
    p = put16(p, n->high_vsn);
    p = put16(p, n->low_vsn);
    p = put16(p, (uint16_t)n->name_len);
    if (n->name_len > 0)
        memcpy(p, n->name, n->name_len);
    p += n->name_len;
    p = put16(p, (uint16_t)n->extra_len);
    if (n->extra_len > 0)
        memcpy(p, n->extra, n->extra_len);
}

int
epmd_wire_utf8_chars(const uint8_t *s, size_t len)
{
    size_t i = 0;
    int n = 0;

    while (i < len) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            n++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else
            return -1; /* continuation byte, C0/C1 overlong lead, F5+ */
        if (len - i <= k)
            return -1;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000))
            return -1; /* overlong */
        if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return -1;
        i += k + 1;
        n++;
    }
    return n;
}

void
epmd_wire_framer_init(struct epmd_wire_framer *f)
{
    f->want = 0;
}

int
epmd_wire_frame(struct epmd_wire_framer *f, const uint8_t *buf, size_t len,
                size_t *payload_len, struct epmd_wire_error *err)
{
    if (f->want == 0) {
        size_t n;

        if (len < 2)
            return EPMD_WIRE_NEED_MORE;
        n = get16(buf);
        if (n == 0)
            return wire_fail(err, EPMD_WIRE_EZEROLEN, 0);
        if (n > EPMD_MAX_REQUEST_LEN)
            return wire_fail(err, EPMD_WIRE_ETOOLARGE, 0);
        f->want = n + 2;
        /* Seen together with the header: OTP read them in one go. */
        if (len > f->want)
            return wire_fail(err, EPMD_WIRE_EEXCESS, f->want);
    }
    if (len < f->want)
        return EPMD_WIRE_NEED_MORE;
    *payload_len = f->want - 2;
    return EPMD_WIRE_OK;
}

/* Parse ALIVE2_REQ: 'x' Port:16 Type:8 Proto:8 High:16 Low:16
 * Nlen:16 Name Elen:16 Extra; trailing bytes are ignored, as OTP does. */
static int
wire_parse_alive2(const uint8_t *p, size_t len, struct epmd_node_info *n,
                  struct epmd_wire_error *err)
{
    size_t nlen, elen;

    if (len < EPMD_ALIVE2_MIN_LEN)
        return wire_fail(err, EPMD_WIRE_ESHORT, len);
    n->port = get16(p + 1);
    n->node_type = p[3];
    n->protocol = p[4];
    n->high_vsn = get16(p + 5);
    n->low_vsn = get16(p + 7);
    nlen = get16(p + 9);
    if (nlen + 13 > len)
        return wire_fail(err, EPMD_WIRE_ENAMELEN, 9);
    elen = get16(p + 11 + nlen);
    if (elen + nlen + 13 > len)
        return wire_fail(err, EPMD_WIRE_EEXTRALEN, 11 + nlen);
    if (memchr(p + 11, '\0', nlen) != NULL)
        return wire_fail(
            err, EPMD_WIRE_ENAMENUL,
            11 + (size_t)((const uint8_t *)memchr(p + 11, '\0', nlen) -
                          (p + 11)));
    n->name = p + 11;
    n->name_len = nlen;
    n->extra = p + 13 + nlen;
    n->extra_len = elen;
    return EPMD_WIRE_OK;
}

/* Parse PORT_PLEASE2_REQ: 'z' Name, one trailing NUL allowed. */
static int
wire_parse_port2(const uint8_t *p, size_t len, struct epmd_request *req,
                 struct epmd_wire_error *err)
{
    size_t nlen = len - 1;
    const uint8_t *nul;
    int chars;

    if (nlen > 0 && p[len - 1] == '\0')
        nlen--;
    if (nlen == 0)
        return wire_fail(err, EPMD_WIRE_ESHORT, len);
    if ((nul = memchr(p + 1, '\0', nlen)) != NULL)
        return wire_fail(err, EPMD_WIRE_ENAMENUL, (size_t)(nul - p));
    /* OTP counts the name's terminating NUL as one more character, so a
     * lookup takes at most 254 characters (epmd_srv.c, PORT2_REQ). */
    chars = epmd_wire_utf8_chars(p + 1, nlen);
    if (chars < 0 || chars + 1 > EPMD_MAX_NAME_CHARS)
        return wire_fail(err, EPMD_WIRE_ENAME, 1);
    req->name = p + 1;
    req->name_len = nlen;
    return EPMD_WIRE_OK;
}

int
epmd_wire_parse_request(const uint8_t *p, size_t len, struct epmd_request *req,
                        struct epmd_wire_error *err)
{
    const uint8_t *nul;

    memset(req, 0, sizeof(*req));
    if (len == 0)
        return wire_fail(err, EPMD_WIRE_ESHORT, 0);
    req->type = p[0];
    switch (p[0]) {
    case EPMD_ALIVE2_REQ:
        return wire_parse_alive2(p, len, &req->alive, err);
    case EPMD_PORT_PLEASE2_REQ:
        return wire_parse_port2(p, len, req, err);
    case EPMD_NAMES_REQ:
    case EPMD_DUMP_REQ:
    case EPMD_KILL_REQ:
        return EPMD_WIRE_OK;
    case EPMD_STOP_REQ:
        if (len <= 1)
            return wire_fail(err, EPMD_WIRE_ESHORT, len);
        /* OTP compares the name as a C string: it ends at a NUL. */
        req->name = p + 1;
        nul = memchr(p + 1, '\0', len - 1);
        req->name_len = nul != NULL ? (size_t)(nul - (p + 1)) : len - 1;
        return EPMD_WIRE_OK;
    default:
        return wire_fail(err, EPMD_WIRE_EUNKNOWN, 0);
    }
}

enum epmd_alive2_refusal
epmd_wire_alive2_check(const struct epmd_node_info *n)
{
    int chars;

    if (n->name_len > EPMD_MAXSYMLEN)
        return EPMD_ALIVE2_NAME_TOO_LONG;
    chars = epmd_wire_utf8_chars(n->name, n->name_len);
    if (chars < 0)
        return EPMD_ALIVE2_NAME_UTF8;
    if (chars > EPMD_MAX_NAME_CHARS)
        return EPMD_ALIVE2_NAME_TOO_LONG;
    if (n->extra_len > EPMD_MAXSYMLEN)
        return EPMD_ALIVE2_EXTRA_TOO_LONG;
    return EPMD_ALIVE2_ACCEPTABLE;
}

/* True if a message of need bytes can be written to buf. */
static int
wire_fits(const uint8_t *buf, size_t cap, size_t need)
{
    return buf != NULL && cap >= need;
}

size_t
epmd_wire_alive2_resp(uint8_t *buf, size_t cap, uint16_t high_vsn,
                      uint8_t result, uint32_t creation)
{
    int x = high_vsn >= EPMD_DIST_VSN_X_RESP;
    size_t need = x ? 6 : 4;

    if (wire_fits(buf, cap, need)) {
        buf[0] = x ? EPMD_ALIVE2_X_RESP : EPMD_ALIVE2_RESP;
        buf[1] = result;
        if (x)
            put32(buf + 2, creation);
        else
            put16(buf + 2, (uint16_t)creation);
    }
    return need;
}

size_t
epmd_wire_port2_resp(uint8_t *buf, size_t cap, const struct epmd_node_info *n)
{
    size_t need;
    uint8_t *p;

    if (n == NULL) {
        if (wire_fits(buf, cap, 2)) {
            buf[0] = EPMD_PORT2_RESP;
            buf[1] = 1;
        }
        return 2;
    }
    need = 14 + n->name_len + n->extra_len;
    if (wire_fits(buf, cap, need)) {
        p = buf;
        *p++ = EPMD_PORT2_RESP;
        *p++ = 0;
        wire_put_node(p, n);
    }
    return need;
}

size_t
epmd_wire_names_header(uint8_t *buf, size_t cap, uint32_t port)
{
    if (wire_fits(buf, cap, 4))
        put32(buf, port);
    return 4;
}

/* Write prefix, name, then a formatted suffix; nul adds a NUL byte. */
static size_t
wire_text_line(uint8_t *buf, size_t cap, const char *prefix,
               const uint8_t *name, size_t name_len, const char *suffix,
               int nul)
{
    size_t plen = strlen(prefix), slen = strlen(suffix);
    size_t need = plen + name_len + slen + (nul ? 1 : 0);

    if (wire_fits(buf, cap, need)) {
        memcpy(buf, prefix, plen);
        if (name_len > 0)
            memcpy(buf + plen, name, name_len);
        memcpy(buf + plen + name_len, suffix, slen);
        if (nul)
            buf[need - 1] = '\0';
    }
    return need;
}

size_t
epmd_wire_names_line(uint8_t *buf, size_t cap, const uint8_t *name,
                     size_t name_len, unsigned port)
{
    char suffix[32];

    snprintf(suffix, sizeof(suffix), " at port %u\n", port);
    return wire_text_line(buf, cap, "name ", name, name_len, suffix, 0);
}

size_t
epmd_wire_dump_active(uint8_t *buf, size_t cap, const uint8_t *name,
                      size_t name_len, unsigned port, int fd)
{
    char suffix[64];

    snprintf(suffix, sizeof(suffix), "> at port %u, fd = %d\n", port, fd);
    return wire_text_line(buf, cap, "active name     <", name, name_len, suffix,
                          1);
}

size_t
epmd_wire_dump_old(uint8_t *buf, size_t cap, const uint8_t *name,
                   size_t name_len, unsigned port, int fd)
{
    char suffix[64];

    snprintf(suffix, sizeof(suffix), ">, port = %u, fd = %d \n", port, fd);
    return wire_text_line(buf, cap, "old/unused name <", name, name_len, suffix,
                          1);
}

size_t
epmd_wire_alive2_req(uint8_t *buf, size_t cap, const struct epmd_node_info *n)
{
    size_t body = 13 + n->name_len + n->extra_len;
    uint8_t *p;

    if (n->name_len > UINT16_MAX || n->extra_len > UINT16_MAX ||
        body > UINT16_MAX)
        return 0;
    if (wire_fits(buf, cap, body + 2)) {
        p = put16(buf, (uint16_t)body);
        *p++ = EPMD_ALIVE2_REQ;
        wire_put_node(p, n);
    }
    return body + 2;
}

/* Build Length:16, tag, then name bytes. */
static size_t
wire_tag_name_req(uint8_t *buf, size_t cap, uint8_t tag, const uint8_t *name,
                  size_t name_len)
{
    size_t body = 1 + name_len;

    if (body > UINT16_MAX)
        return 0;
    if (wire_fits(buf, cap, body + 2)) {
        put16(buf, (uint16_t)body);
        buf[2] = tag;
        if (name_len > 0)
            memcpy(buf + 3, name, name_len);
    }
    return body + 2;
}

size_t
epmd_wire_port2_req(uint8_t *buf, size_t cap, const uint8_t *name,
                    size_t name_len)
{
    return wire_tag_name_req(buf, cap, EPMD_PORT_PLEASE2_REQ, name, name_len);
}

size_t
epmd_wire_simple_req(uint8_t *buf, size_t cap, uint8_t type)
{
    return wire_tag_name_req(buf, cap, type, NULL, 0);
}

size_t
epmd_wire_stop_req(uint8_t *buf, size_t cap, const uint8_t *name,
                   size_t name_len)
{
    return wire_tag_name_req(buf, cap, EPMD_STOP_REQ, name, name_len);
}

int
epmd_wire_parse_alive2_resp(const uint8_t *buf, size_t len, size_t *used,
                            uint8_t *result, uint32_t *creation,
                            struct epmd_wire_error *err)
{
    size_t need;

    if (len < 1)
        return EPMD_WIRE_NEED_MORE;
    if (buf[0] == EPMD_ALIVE2_X_RESP)
        need = 6;
    else if (buf[0] == EPMD_ALIVE2_RESP)
        need = 4;
    else
        return wire_fail(err, EPMD_WIRE_EUNKNOWN, 0);
    if (len < need)
        return EPMD_WIRE_NEED_MORE;
    *result = buf[1];
    *creation = need == 6 ? get32(buf + 2) : get16(buf + 2);
    *used = need;
    return EPMD_WIRE_OK;
}

int
epmd_wire_parse_port2_resp(const uint8_t *buf, size_t len, size_t *used,
                           uint8_t *result, struct epmd_node_info *n,
                           struct epmd_wire_error *err)
{
    size_t nlen, elen;

    memset(n, 0, sizeof(*n));
    if (len < 1)
        return EPMD_WIRE_NEED_MORE;
    if (buf[0] != EPMD_PORT2_RESP)
        return wire_fail(err, EPMD_WIRE_EUNKNOWN, 0);
    if (len < 2)
        return EPMD_WIRE_NEED_MORE;
    *result = buf[1];
    if (buf[1] != 0) {
        *used = 2;
        return EPMD_WIRE_OK;
    }
    if (len < 12)
        return EPMD_WIRE_NEED_MORE;
    nlen = get16(buf + 10);
    if (len < 14 + nlen)
        return EPMD_WIRE_NEED_MORE;
    elen = get16(buf + 12 + nlen);
    if (len < 14 + nlen + elen)
        return EPMD_WIRE_NEED_MORE;
    n->port = get16(buf + 2);
    n->node_type = buf[4];
    n->protocol = buf[5];
    n->high_vsn = get16(buf + 6);
    n->low_vsn = get16(buf + 8);
    n->name = buf + 12;
    n->name_len = nlen;
    n->extra = buf + 14 + nlen;
    n->extra_len = elen;
    *used = 14 + nlen + elen;
    return EPMD_WIRE_OK;
}

int
epmd_wire_parse_names_header(const uint8_t *buf, size_t len, uint32_t *port,
                             struct epmd_wire_error *err)
{
    (void)err;
    if (len < 4)
        return EPMD_WIRE_NEED_MORE;
    *port = get32(buf);
    return EPMD_WIRE_OK;
}

int
epmd_wire_names_next(const uint8_t *buf, size_t len, size_t *pos,
                     const uint8_t **name, size_t *name_len, uint32_t *port,
                     struct epmd_wire_error *err)
{
    static const char pre[] = "name ", mid[] = " at port ";
    const size_t plen = sizeof(pre) - 1, mlen = sizeof(mid) - 1;
    const uint8_t *line, *nl, *m = NULL;
    size_t llen, i;
    uint64_t v = 0;

    if (*pos >= len)
        return EPMD_WIRE_NEED_MORE;
    line = buf + *pos;
    if ((nl = memchr(line, '\n', len - *pos)) == NULL)
        return EPMD_WIRE_NEED_MORE;
    llen = (size_t)(nl - line);
    if (llen < plen + mlen + 1 || memcmp(line, pre, plen) != 0)
        return wire_fail(err, EPMD_WIRE_ESYNTAX, *pos);
    /* The last " at port " ends the name. */
    for (i = llen - mlen; i >= plen; i--) {
        if (memcmp(line + i, mid, mlen) == 0) {
            m = line + i;
            break;
        }
        if (i == 0)
            break;
    }
    if (m == NULL || m + mlen == nl)
        return wire_fail(err, EPMD_WIRE_ESYNTAX, *pos);
    for (const uint8_t *d = m + mlen; d < nl; d++) {
        if (*d < '0' || *d > '9')
            return wire_fail(err, EPMD_WIRE_ESYNTAX, (size_t)(d - buf));
        v = v * 10 + (uint64_t)(*d - '0');
        if (v > UINT32_MAX)
            return wire_fail(err, EPMD_WIRE_ESYNTAX, (size_t)(d - buf));
    }
    *name = line + plen;
    *name_len = (size_t)(m - (line + plen));
    *port = (uint32_t)v;
    *pos += llen + 1;
    return EPMD_WIRE_OK;
}
