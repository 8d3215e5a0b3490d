/*
 * Unit tests of the EPMD wire codec: framing, every request, every reply,
 * and the malformed cases OTP closes without an answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "epmd_wire.h"

/* Frame buf in one read; returns the status and sets *plen. */
static int
frame_once(const uint8_t *buf, size_t len, size_t *plen,
           struct epmd_wire_error *err)
{
    struct epmd_wire_framer f;

    epmd_wire_framer_init(&f);
    return epmd_wire_frame(&f, buf, len, plen, err);
}

static void
test_frame_empty_and_one_byte(void **state)
{
    const uint8_t b[] = {0};
    size_t plen = 0;

    (void)state;
    assert_int_equal(frame_once(b, 0, &plen, NULL), EPMD_WIRE_NEED_MORE);
    assert_int_equal(frame_once(b, 1, &plen, NULL), EPMD_WIRE_NEED_MORE);
}

static void
test_frame_zero_length(void **state)
{
    const uint8_t b[] = {0, 0};
    struct epmd_wire_error err;
    size_t plen;

    (void)state;
    assert_int_equal(frame_once(b, 2, &plen, &err), EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_EZEROLEN);
}

static void
test_frame_limits(void **state)
{
    uint8_t b[2];
    struct epmd_wire_error err;
    size_t plen;

    (void)state;
    /* 3057 is the largest length OTP processes; 3058 is refused. */
    b[0] = 3057 >> 8;
    b[1] = 3057 & 0xff;
    assert_int_equal(frame_once(b, 2, &plen, &err), EPMD_WIRE_NEED_MORE);
    b[0] = 3058 >> 8;
    b[1] = 3058 & 0xff;
    assert_int_equal(frame_once(b, 2, &plen, &err), EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_ETOOLARGE);
    b[0] = b[1] = 0xff;
    assert_int_equal(frame_once(b, 2, &plen, &err), EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_ETOOLARGE);
}

static void
test_frame_partial_then_whole(void **state)
{
    const uint8_t b[] = {0, 3, 'z', 'a', 'b'};
    struct epmd_wire_framer f;
    size_t plen = 0;

    (void)state;
    epmd_wire_framer_init(&f);
    for (size_t i = 0; i < sizeof(b); i++)
        assert_int_equal(epmd_wire_frame(&f, b, i, &plen, NULL),
                         EPMD_WIRE_NEED_MORE);
    assert_int_equal(epmd_wire_frame(&f, b, sizeof(b), &plen, NULL),
                     EPMD_WIRE_OK);
    assert_int_equal(plen, 3);
}

static void
test_frame_excess(void **state)
{
    const uint8_t b[] = {0, 1, 'n', 'X'};
    struct epmd_wire_framer f;
    struct epmd_wire_error err;
    size_t plen;

    (void)state;
    /* Extra bytes in the same read as the header: refused. */
    assert_int_equal(frame_once(b, sizeof(b), &plen, &err), EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_EEXCESS);
    /* Extra bytes after the header was seen: ignored. */
    epmd_wire_framer_init(&f);
    assert_int_equal(epmd_wire_frame(&f, b, 2, &plen, NULL),
                     EPMD_WIRE_NEED_MORE);
    assert_int_equal(epmd_wire_frame(&f, b, sizeof(b), &plen, NULL),
                     EPMD_WIRE_OK);
    assert_int_equal(plen, 1);
}

/* Build an ALIVE2_REQ payload (no length field) into buf. */
static size_t
alive2_payload(uint8_t *buf, size_t cap, const char *name, size_t nlen,
               const char *extra, size_t elen, uint16_t high)
{
    struct epmd_node_info n = {
        .port = 4370,
        .node_type = EPMD_NODE_NORMAL,
        .protocol = 0,
        .high_vsn = high,
        .low_vsn = 5,
        .name = (const uint8_t *)name,
        .name_len = nlen,
        .extra = (const uint8_t *)extra,
        .extra_len = elen,
    };
    uint8_t tmp[8192];
    size_t len = epmd_wire_alive2_req(tmp, sizeof(tmp), &n);

    assert_true(len >= 2 && len - 2 <= cap);
    memcpy(buf, tmp + 2, len - 2);
    return len - 2;
}

static void
test_alive2_roundtrip(void **state)
{
    uint8_t p[64];
    size_t len = alive2_payload(p, sizeof(p), "foo", 3, "ex", 2, 6);
    struct epmd_request req;

    (void)state;
    assert_int_equal(len, 13 + 3 + 2);
    assert_int_equal(p[0], 'x');
    assert_int_equal(epmd_wire_parse_request(p, len, &req, NULL), EPMD_WIRE_OK);
    assert_int_equal(req.type, EPMD_ALIVE2_REQ);
    assert_int_equal(req.alive.port, 4370);
    assert_int_equal(req.alive.node_type, 77);
    assert_int_equal(req.alive.high_vsn, 6);
    assert_int_equal(req.alive.low_vsn, 5);
    assert_int_equal(req.alive.name_len, 3);
    assert_memory_equal(req.alive.name, "foo", 3);
    assert_int_equal(req.alive.extra_len, 2);
    assert_memory_equal(req.alive.extra, "ex", 2);
    assert_int_equal(epmd_wire_alive2_check(&req.alive),
                     EPMD_ALIVE2_ACCEPTABLE);
}

static void
test_alive2_trailing_bytes_ignored(void **state)
{
    uint8_t p[64];
    size_t len = alive2_payload(p, sizeof(p), "a", 1, "", 0, 5);
    struct epmd_request req;

    (void)state;
    p[len] = 'T';
    p[len + 1] = 'T';
    assert_int_equal(epmd_wire_parse_request(p, len + 2, &req, NULL),
                     EPMD_WIRE_OK);
    assert_int_equal(req.alive.name_len, 1);
    assert_int_equal(req.alive.extra_len, 0);
}

static void
test_alive2_malformed(void **state)
{
    uint8_t p[64];
    size_t len;
    struct epmd_request req;
    struct epmd_wire_error err;

    (void)state;
    len = alive2_payload(p, sizeof(p), "abc", 3, "e", 1, 6);
    /* Every truncation is refused. */
    for (size_t i = 1; i < len; i++) {
        assert_int_equal(epmd_wire_parse_request(p, i, &req, &err),
                         EPMD_WIRE_REJECT);
        assert_true(err.code == EPMD_WIRE_ESHORT ||
                    err.code == EPMD_WIRE_ENAMELEN ||
                    err.code == EPMD_WIRE_EEXTRALEN);
    }
    /* Name length past the end. */
    p[9] = 0;
    p[10] = 200;
    assert_int_equal(epmd_wire_parse_request(p, len, &req, &err),
                     EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_ENAMELEN);
    /* Extra length past the end. */
    len = alive2_payload(p, sizeof(p), "abc", 3, "e", 1, 6);
    p[11 + 3 + 1] = 9;
    assert_int_equal(epmd_wire_parse_request(p, len, &req, &err),
                     EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_EEXTRALEN);
    /* NUL inside the name, and NUL-terminated. */
    len = alive2_payload(p, sizeof(p), "a\0b", 3, "", 0, 6);
    assert_int_equal(epmd_wire_parse_request(p, len, &req, &err),
                     EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_ENAMENUL);
    assert_int_equal(err.pos, 12);
    len = alive2_payload(p, sizeof(p), "ab\0", 3, "", 0, 6);
    assert_int_equal(epmd_wire_parse_request(p, len, &req, &err),
                     EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_ENAMENUL);
    /* An empty name with one trailing byte passes, as in OTP. */
    len = alive2_payload(p, sizeof(p), "", 0, "", 0, 6);
    assert_int_equal(len, 13);
    assert_int_equal(epmd_wire_parse_request(p, len, &req, &err),
                     EPMD_WIRE_REJECT);
    p[len] = 0;
    assert_int_equal(epmd_wire_parse_request(p, len + 1, &req, &err),
                     EPMD_WIRE_OK);
    assert_int_equal(req.alive.name_len, 0);
}

static void
test_alive2_check(void **state)
{
    static uint8_t name[1100], extra[1100];
    struct epmd_node_info n = {.name = name, .extra = extra};
    uint8_t *p;

    (void)state;
    /* 255 two-byte characters: 510 bytes, accepted; 256 refused. */
    for (p = name; p < name + 512; p += 2) {
        p[0] = 0xc3;
        p[1] = 0xa5;
    }
    n.name_len = 510;
    assert_int_equal(epmd_wire_alive2_check(&n), EPMD_ALIVE2_ACCEPTABLE);
    n.name_len = 512;
    assert_int_equal(epmd_wire_alive2_check(&n), EPMD_ALIVE2_NAME_TOO_LONG);
    /* 255 four-byte characters: 1020 bytes, accepted. */
    for (p = name; p < name + 1020; p += 4)
        memcpy(p, "\xf0\x9f\x98\x80", 4);
    n.name_len = 1020;
    assert_int_equal(epmd_wire_alive2_check(&n), EPMD_ALIVE2_ACCEPTABLE);
    memset(name, 'a', sizeof(name));
    n.name_len = 1021;
    assert_int_equal(epmd_wire_alive2_check(&n), EPMD_ALIVE2_NAME_TOO_LONG);
    n.name_len = 256;
    assert_int_equal(epmd_wire_alive2_check(&n), EPMD_ALIVE2_NAME_TOO_LONG);
    n.name_len = 255;
    assert_int_equal(epmd_wire_alive2_check(&n), EPMD_ALIVE2_ACCEPTABLE);
    /* Invalid UTF-8. */
    name[3] = 0xff;
    assert_int_equal(epmd_wire_alive2_check(&n), EPMD_ALIVE2_NAME_UTF8);
    name[3] = 'a';
    /* Extra: 1020 accepted, 1021 refused. */
    n.extra_len = 1020;
    assert_int_equal(epmd_wire_alive2_check(&n), EPMD_ALIVE2_ACCEPTABLE);
    n.extra_len = 1021;
    assert_int_equal(epmd_wire_alive2_check(&n), EPMD_ALIVE2_EXTRA_TOO_LONG);
}

static void
test_utf8(void **state)
{
    (void)state;
#define U(s) epmd_wire_utf8_chars((const uint8_t *)(s), sizeof(s) - 1)
    assert_int_equal(U(""), 0);
    assert_int_equal(U("abc"), 3);
    assert_int_equal(U("\xc3\xa5"), 1);
    assert_int_equal(U("\xe2\x82\xac"), 1);
    assert_int_equal(U("\xf0\x9f\x98\x80"), 1);
    assert_int_equal(U("\xf4\x8f\xbf\xbf"), 1);  /* U+10FFFF */
    assert_int_equal(U("\xf4\x90\x80\x80"), -1); /* above U+10FFFF */
    assert_int_equal(U("\xc0\x80"), -1);         /* overlong NUL */
    assert_int_equal(U("\xc1\xbf"), -1);         /* overlong */
    assert_int_equal(U("\xe0\x9f\xbf"), -1);     /* overlong */
    assert_int_equal(U("\xf0\x8f\xbf\xbf"), -1); /* overlong */
    assert_int_equal(U("\xed\xa0\x80"), -1);     /* surrogate */
    assert_int_equal(U("\xed\x9f\xbf"), 1);      /* U+D7FF */
    assert_int_equal(U("\x80"), -1);
    assert_int_equal(U("\xc3"), -1);
    assert_int_equal(U("\xe2\x82"), -1);
    assert_int_equal(U("\xf5\x80\x80\x80"), -1);
    assert_int_equal(U("\xc3\x28"), -1);
#undef U
}

static void
test_port2_request(void **state)
{
    uint8_t b[600];
    struct epmd_request req;
    struct epmd_wire_error err;
    size_t len;

    (void)state;
    len = epmd_wire_port2_req(b, sizeof(b), (const uint8_t *)"foo", 3);
    assert_int_equal(len, 6);
    assert_memory_equal(b, "\x00\x04zfoo", 6);
    assert_int_equal(epmd_wire_parse_request(b + 2, 4, &req, NULL),
                     EPMD_WIRE_OK);
    assert_int_equal(req.type, EPMD_PORT_PLEASE2_REQ);
    assert_int_equal(req.name_len, 3);
    /* One trailing NUL is stripped. */
    assert_int_equal(
        epmd_wire_parse_request((const uint8_t *)"zfoo", 5, &req, NULL),
        EPMD_WIRE_OK);
    assert_int_equal(req.name_len, 3);
    /* Empty, NUL inside, bad UTF-8: refused. */
    assert_int_equal(
        epmd_wire_parse_request((const uint8_t *)"z", 1, &req, &err),
        EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_ESHORT);
    assert_int_equal(
        epmd_wire_parse_request((const uint8_t *)"z", 2, &req, &err),
        EPMD_WIRE_REJECT);
    assert_int_equal(
        epmd_wire_parse_request((const uint8_t *)"za\0b", 4, &req, &err),
        EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_ENAMENUL);
    assert_int_equal(
        epmd_wire_parse_request((const uint8_t *)"za\xff", 3, &req, &err),
        EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_ENAME);
    /* 254 characters: accepted; 255: refused (OTP's off-by-one). */
    b[0] = 'z';
    memset(b + 1, 'n', 255);
    assert_int_equal(epmd_wire_parse_request(b, 1 + 254, &req, NULL),
                     EPMD_WIRE_OK);
    assert_int_equal(epmd_wire_parse_request(b, 1 + 255, &req, &err),
                     EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_ENAME);
}

static void
test_simple_requests(void **state)
{
    const uint8_t tags[] = {EPMD_NAMES_REQ, EPMD_DUMP_REQ, EPMD_KILL_REQ};
    struct epmd_request req;
    uint8_t b[8];

    (void)state;
    for (size_t i = 0; i < sizeof(tags); i++) {
        assert_int_equal(epmd_wire_simple_req(b, sizeof(b), tags[i]), 3);
        assert_int_equal(b[0], 0);
        assert_int_equal(b[1], 1);
        assert_int_equal(b[2], tags[i]);
        assert_int_equal(epmd_wire_parse_request(b + 2, 1, &req, NULL),
                         EPMD_WIRE_OK);
        assert_int_equal(req.type, tags[i]);
        /* Trailing bytes do not matter for these. */
        b[3] = 'x';
        assert_int_equal(epmd_wire_parse_request(b + 2, 2, &req, NULL),
                         EPMD_WIRE_OK);
    }
}

static void
test_stop_request(void **state)
{
    struct epmd_request req;
    struct epmd_wire_error err;
    uint8_t b[16];

    (void)state;
    assert_int_equal(
        epmd_wire_stop_req(b, sizeof(b), (const uint8_t *)"node", 4), 7);
    assert_memory_equal(b, "\x00\x05snode", 7);
    assert_int_equal(epmd_wire_parse_request(b + 2, 5, &req, NULL),
                     EPMD_WIRE_OK);
    assert_int_equal(req.type, EPMD_STOP_REQ);
    assert_int_equal(req.name_len, 4);
    assert_memory_equal(req.name, "node", 4);
    /* The name ends at a NUL, as a C string. */
    assert_int_equal(
        epmd_wire_parse_request((const uint8_t *)"sab\0cd", 6, &req, NULL),
        EPMD_WIRE_OK);
    assert_int_equal(req.name_len, 2);
    assert_int_equal(
        epmd_wire_parse_request((const uint8_t *)"s", 1, &req, &err),
        EPMD_WIRE_REJECT);
    assert_int_equal(err.code, EPMD_WIRE_ESHORT);
}

static void
test_unknown_requests(void **state)
{
    /* Includes the removed pre-R14 ALIVE_REQ 'a' and PORT_PLEASE_REQ 'p'. */
    const char tags[] = {'a', 'p', 'Q', 'y', 'w', 0, (char)0xff};
    struct epmd_request req;
    struct epmd_wire_error err;
    uint8_t b[4] = {0, 'f', 'o', 'o'};

    (void)state;
    for (size_t i = 0; i < sizeof(tags); i++) {
        b[0] = (uint8_t)tags[i];
        assert_int_equal(epmd_wire_parse_request(b, 4, &req, &err),
                         EPMD_WIRE_REJECT);
        assert_int_equal(err.code, EPMD_WIRE_EUNKNOWN);
    }
    assert_int_equal(epmd_wire_parse_request(b, 0, &req, &err),
                     EPMD_WIRE_REJECT);
}

static void
test_alive2_responses(void **state)
{
    uint8_t b[8];
    uint8_t result;
    uint32_t creation;
    size_t used;

    (void)state;
    assert_int_equal(epmd_wire_alive2_resp(NULL, 0, 6, 0, 0), 6);
    assert_int_equal(epmd_wire_alive2_resp(b, sizeof(b), 6, 0, 0x01020304), 6);
    assert_memory_equal(b, "v\x00\x01\x02\x03\x04", 6);
    assert_int_equal(
        epmd_wire_parse_alive2_resp(b, 6, &used, &result, &creation, NULL),
        EPMD_WIRE_OK);
    assert_int_equal(used, 6);
    assert_int_equal(result, 0);
    assert_int_equal(creation, 0x01020304);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(
            epmd_wire_parse_alive2_resp(b, i, &used, &result, &creation, NULL),
            EPMD_WIRE_NEED_MORE);
    assert_int_equal(epmd_wire_alive2_resp(b, sizeof(b), 5, 1, 99), 4);
    assert_memory_equal(b, "y\x01\x00\x63", 4);
    assert_int_equal(
        epmd_wire_parse_alive2_resp(b, 4, &used, &result, &creation, NULL),
        EPMD_WIRE_OK);
    assert_int_equal(result, 1);
    assert_int_equal(creation, 99);
    /* Too small a buffer: measured, nothing written. */
    memset(b, 0xaa, sizeof(b));
    assert_int_equal(epmd_wire_alive2_resp(b, 3, 5, 0, 1), 4);
    assert_int_equal(b[0], 0xaa);
    b[0] = 'q';
    assert_int_equal(
        epmd_wire_parse_alive2_resp(b, 4, &used, &result, &creation, NULL),
        EPMD_WIRE_REJECT);
}

static void
test_port2_responses(void **state)
{
    struct epmd_node_info n = {
        .port = 0xabcd,
        .node_type = 72,
        .protocol = 0,
        .high_vsn = 6,
        .low_vsn = 5,
        .name = (const uint8_t *)"node",
        .name_len = 4,
        .extra = (const uint8_t *)"\x00xtr",
        .extra_len = 4,
    };
    struct epmd_node_info got;
    uint8_t b[64], result;
    size_t len, used;

    (void)state;
    len = epmd_wire_port2_resp(b, sizeof(b), &n);
    assert_int_equal(len, 14 + 4 + 4);
    assert_memory_equal(b,
                        "w\x00\xab\xcd\x48\x00\x00\x06\x00\x05\x00\x04"
                        "node\x00\x04\x00xtr",
                        len);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(
            epmd_wire_parse_port2_resp(b, i, &used, &result, &got, NULL),
            EPMD_WIRE_NEED_MORE);
    assert_int_equal(
        epmd_wire_parse_port2_resp(b, len, &used, &result, &got, NULL),
        EPMD_WIRE_OK);
    assert_int_equal(used, len);
    assert_int_equal(result, 0);
    assert_int_equal(got.port, 0xabcd);
    assert_int_equal(got.node_type, 72);
    assert_int_equal(got.high_vsn, 6);
    assert_int_equal(got.low_vsn, 5);
    assert_memory_equal(got.name, "node", 4);
    assert_memory_equal(got.extra, "\x00xtr", 4);
    /* Empty extra. */
    n.extra_len = 0;
    len = epmd_wire_port2_resp(b, sizeof(b), &n);
    assert_int_equal(len, 18);
    assert_int_equal(
        epmd_wire_parse_port2_resp(b, len, &used, &result, &got, NULL),
        EPMD_WIRE_OK);
    assert_int_equal(got.extra_len, 0);
    /* Not found. */
    assert_int_equal(epmd_wire_port2_resp(b, sizeof(b), NULL), 2);
    assert_memory_equal(b, "w\x01", 2);
    assert_int_equal(
        epmd_wire_parse_port2_resp(b, 2, &used, &result, &got, NULL),
        EPMD_WIRE_OK);
    assert_int_equal(result, 1);
    assert_int_equal(used, 2);
    b[0] = 'v';
    assert_int_equal(
        epmd_wire_parse_port2_resp(b, 2, &used, &result, &got, NULL),
        EPMD_WIRE_REJECT);
}

static void
test_names_and_dump(void **state)
{
    uint8_t b[256];
    size_t len = 0, pos = 4;
    const uint8_t *name;
    size_t nlen;
    uint32_t port;
    struct epmd_wire_error err;

    (void)state;
    len += epmd_wire_names_header(b, sizeof(b), 4369);
    len += epmd_wire_names_line(b + len, sizeof(b) - len,
                                (const uint8_t *)"beta", 4, 40002);
    len += epmd_wire_names_line(b + len, sizeof(b) - len,
                                (const uint8_t *)"a b", 3, 7);
    assert_memory_equal(b,
                        "\x00\x00\x11\x11name beta at port 40002\n"
                        "name a b at port 7\n",
                        len);
    assert_int_equal(epmd_wire_parse_names_header(b, len, &port, NULL),
                     EPMD_WIRE_OK);
    assert_int_equal(port, 4369);
    assert_int_equal(
        epmd_wire_names_next(b, len, &pos, &name, &nlen, &port, NULL),
        EPMD_WIRE_OK);
    assert_int_equal(nlen, 4);
    assert_memory_equal(name, "beta", 4);
    assert_int_equal(port, 40002);
    assert_int_equal(
        epmd_wire_names_next(b, len, &pos, &name, &nlen, &port, NULL),
        EPMD_WIRE_OK);
    assert_int_equal(nlen, 3);
    assert_memory_equal(name, "a b", 3);
    assert_int_equal(port, 7);
    assert_int_equal(
        epmd_wire_names_next(b, len, &pos, &name, &nlen, &port, NULL),
        EPMD_WIRE_NEED_MORE);
    pos = 0;
    assert_int_equal(epmd_wire_names_next((const uint8_t *)"nome x at port "
                                                           "1\n",
                                          17, &pos, &name, &nlen, &port, &err),
                     EPMD_WIRE_REJECT);
    pos = 0;
    assert_int_equal(
        epmd_wire_names_next((const uint8_t *)"name x at port 1x\n", 18, &pos,
                             &name, &nlen, &port, &err),
        EPMD_WIRE_REJECT);
    {
        static const char act[] = "active name     <n1> at port 5, fd = 7\n";
        static const char old[] = "old/unused name <n1>, port = 5, fd = 7 \n";

        /* Each line goes out with its NUL terminator. */
        len =
            epmd_wire_dump_active(b, sizeof(b), (const uint8_t *)"n1", 2, 5, 7);
        assert_int_equal(len, sizeof(act));
        assert_memory_equal(b, act, sizeof(act));
        len = epmd_wire_dump_old(b, sizeof(b), (const uint8_t *)"n1", 2, 5, 7);
        assert_int_equal(len, sizeof(old));
        assert_memory_equal(b, old, sizeof(old));
    }
}

static void
test_request_too_long_to_encode(void **state)
{
    static uint8_t big[70000];
    struct epmd_node_info n = {.name = big, .name_len = 65530};

    (void)state;
    assert_int_equal(epmd_wire_alive2_req(NULL, 0, &n), 0);
    assert_int_equal(epmd_wire_port2_req(NULL, 0, big, 65535), 0);
    assert_int_equal(epmd_wire_port2_req(NULL, 0, big, 65534), 65537);
}

static void
test_strerror(void **state)
{
    (void)state;
    for (int i = 0; i < EPMD_WIRE_ECOUNT; i++)
        assert_non_null(epmd_wire_strerror(i));
    assert_string_equal(epmd_wire_strerror(-1), "unknown error");
    assert_string_equal(epmd_wire_strrefusal(EPMD_ALIVE2_NAME_UTF8),
                        "node name not valid UTF-8");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_empty_and_one_byte),
        cmocka_unit_test(test_frame_zero_length),
        cmocka_unit_test(test_frame_limits),
        cmocka_unit_test(test_frame_partial_then_whole),
        cmocka_unit_test(test_frame_excess),
        cmocka_unit_test(test_alive2_roundtrip),
        cmocka_unit_test(test_alive2_trailing_bytes_ignored),
        cmocka_unit_test(test_alive2_malformed),
        cmocka_unit_test(test_alive2_check),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_port2_request),
        cmocka_unit_test(test_simple_requests),
        cmocka_unit_test(test_stop_request),
        cmocka_unit_test(test_unknown_requests),
        cmocka_unit_test(test_alive2_responses),
        cmocka_unit_test(test_port2_responses),
        cmocka_unit_test(test_names_and_dump),
        cmocka_unit_test(test_request_too_long_to_encode),
        cmocka_unit_test(test_strerror),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
