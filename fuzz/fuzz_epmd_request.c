/*
 * Fuzz the server side of the EPMD codec: framing, then request parsing.
 * Invariants: nothing is read past the input (ASan), a parsed request
 * re-encodes with the client builders and parses back to the same fields,
 * and ALIVE2 checks never crash on what the parser accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "epmd_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Compare two node infos field by field. */
static int
same_info(const struct epmd_node_info *a, const struct epmd_node_info *b)
{
    return a->port == b->port && a->node_type == b->node_type &&
           a->protocol == b->protocol && a->high_vsn == b->high_vsn &&
           a->low_vsn == b->low_vsn && a->name_len == b->name_len &&
           a->extra_len == b->extra_len &&
           (a->name_len == 0 || memcmp(a->name, b->name, a->name_len) == 0) &&
           (a->extra_len == 0 || memcmp(a->extra, b->extra, a->extra_len) == 0);
}

static void
check_roundtrip(const struct epmd_request *req)
{
    uint8_t *buf;
    size_t len, plen;
    struct epmd_request again;
    struct epmd_wire_framer f;

    /* "s\0..." names the empty string, as a C string does in OTP; the
     * builder cannot say that without the NUL, so skip it. */
    if (req->type == EPMD_STOP_REQ && req->name_len == 0)
        return;
    /* Likewise an ALIVE2 with empty name and extra parses only with a
     * trailing byte (OTP wants more than 13 bytes); the builder adds none. */
    if (req->type == EPMD_ALIVE2_REQ &&
        req->alive.name_len + req->alive.extra_len == 0)
        return;
    switch (req->type) {
    case EPMD_ALIVE2_REQ:
        len = epmd_wire_alive2_req(NULL, 0, &req->alive);
        break;
    case EPMD_PORT_PLEASE2_REQ:
        len = epmd_wire_port2_req(NULL, 0, req->name, req->name_len);
        break;
    case EPMD_STOP_REQ:
        len = epmd_wire_stop_req(NULL, 0, req->name, req->name_len);
        break;
    default:
        len = epmd_wire_simple_req(NULL, 0, req->type);
        break;
    }
    if (len == 0)
        abort(); /* everything that parsed fits the 16-bit length */
    if ((buf = malloc(len)) == NULL)
        return;
    switch (req->type) {
    case EPMD_ALIVE2_REQ:
        epmd_wire_alive2_req(buf, len, &req->alive);
        break;
    case EPMD_PORT_PLEASE2_REQ:
        epmd_wire_port2_req(buf, len, req->name, req->name_len);
        break;
    case EPMD_STOP_REQ:
        epmd_wire_stop_req(buf, len, req->name, req->name_len);
        break;
    default:
        epmd_wire_simple_req(buf, len, req->type);
        break;
    }
    epmd_wire_framer_init(&f);
    if (epmd_wire_frame(&f, buf, len, &plen, NULL) != EPMD_WIRE_OK ||
        plen != len - 2)
        abort();
    if (epmd_wire_parse_request(buf + 2, plen, &again, NULL) != EPMD_WIRE_OK)
        abort();
    if (again.type != req->type)
        abort();
    if (req->type == EPMD_ALIVE2_REQ && !same_info(&again.alive, &req->alive))
        abort();
    if ((req->type == EPMD_PORT_PLEASE2_REQ || req->type == EPMD_STOP_REQ) &&
        (again.name_len != req->name_len ||
         memcmp(again.name, req->name, req->name_len) != 0))
        abort();
    free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct epmd_wire_framer f;
    struct epmd_wire_error err;
    struct epmd_request req;
    uint8_t *copy;
    size_t plen, i;
    int st = EPMD_WIRE_NEED_MORE;

    /* Exact-size heap copy so ASan catches any read past the end. */
    if ((copy = malloc(size ? size : 1)) == NULL)
        return 0;
    memcpy(copy, data, size);

    /* Byte-by-byte framing must agree with whole-buffer framing on a
     * complete request (only the "excess" rule depends on chunking). */
    epmd_wire_framer_init(&f);
    for (i = 0; i <= size && st == EPMD_WIRE_NEED_MORE; i++)
        st = epmd_wire_frame(&f, copy, i, &plen, &err);
    if (st == EPMD_WIRE_OK) {
        if (plen + 2 > size || plen > EPMD_MAX_REQUEST_LEN || plen == 0)
            abort();
        if (epmd_wire_parse_request(copy + 2, plen, &req, &err) ==
            EPMD_WIRE_OK) {
            if (req.type == EPMD_ALIVE2_REQ)
                (void)epmd_wire_alive2_check(&req.alive);
            check_roundtrip(&req);
        } else if (err.code <= EPMD_WIRE_ENONE ||
                   err.code >= EPMD_WIRE_ECOUNT || err.pos > plen)
            abort();
    }

    /* The payload parser on the raw input too. */
    if (epmd_wire_parse_request(copy, size, &req, &err) == EPMD_WIRE_OK)
        check_roundtrip(&req);
    (void)epmd_wire_utf8_chars(copy, size);
    free(copy);
    return 0;
}
