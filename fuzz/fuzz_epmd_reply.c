/*
 * Fuzz the client side of the EPMD codec: ALIVE2 replies, PORT2 replies and
 * NAMES replies, as distgw parses them. Invariants: nothing is read past the
 * input (ASan), consumed lengths stay within it, and a parsed reply encodes
 * back to the very bytes it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "epmd_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_alive2(const uint8_t *buf, size_t len)
{
    uint8_t out[8], result;
    uint32_t creation;
    size_t used;

    if (epmd_wire_parse_alive2_resp(buf, len, &used, &result, &creation,
                                    NULL) != EPMD_WIRE_OK)
        return;
    if (used > len)
        abort();
    if (epmd_wire_alive2_resp(out, sizeof(out), buf[0] == 'v' ? 6 : 5, result,
                              creation) != used ||
        memcmp(out, buf, used) != 0)
        abort();
}

static void
fuzz_port2(const uint8_t *buf, size_t len)
{
    struct epmd_node_info n;
    uint8_t result, *out;
    size_t used, olen;

    if (epmd_wire_parse_port2_resp(buf, len, &used, &result, &n, NULL) !=
        EPMD_WIRE_OK)
        return;
    if (used > len)
        abort();
    if (result != 0) {
        if (used != 2)
            abort();
        return;
    }
    olen = epmd_wire_port2_resp(NULL, 0, &n);
    if (olen != used || (out = malloc(olen)) == NULL)
        return;
    epmd_wire_port2_resp(out, olen, &n);
    if (memcmp(out, buf, used) != 0)
        abort();
    free(out);
}

static void
fuzz_names(const uint8_t *buf, size_t len)
{
    uint8_t line[128];
    const uint8_t *name, *name2;
    size_t nlen, nlen2, pos = 4, pos2, llen;
    uint32_t port, port2;

    if (epmd_wire_parse_names_header(buf, len, &port, NULL) != EPMD_WIRE_OK)
        return;
    while (epmd_wire_names_next(buf, len, &pos, &name, &nlen, &port, NULL) ==
           EPMD_WIRE_OK) {
        if (pos > len || name < buf || name + nlen > buf + len)
            abort();
        /* A rebuilt line parses back to the same name and port. */
        llen = epmd_wire_names_line(line, sizeof(line), name, nlen, port);
        if (llen > sizeof(line))
            continue;
        pos2 = 0;
        if (epmd_wire_names_next(line, llen, &pos2, &name2, &nlen2, &port2,
                                 NULL) != EPMD_WIRE_OK ||
            pos2 != llen || nlen2 != nlen || port2 != port ||
            memcmp(name2, name, nlen) != 0)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;

    if (size < 1)
        return 0;
    /* Exact-size heap copy of the reply so ASan sees any overread. */
    if ((copy = malloc(size - 1 ? size - 1 : 1)) == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        fuzz_alive2(copy, size - 1);
        break;
    case 1:
        fuzz_port2(copy, size - 1);
        break;
    default:
        fuzz_names(copy, size - 1);
        break;
    }
    free(copy);
    return 0;
}
