/*
 * Fuzz what discovery takes from the network and the hosts file: a NAMES
 * reply read into nodes, a PTR answer checked as a host name, a hosts
 * file searched for an address. Invariants: nothing is read past the
 * input (ASan); every node handed on has an alive part that passes
 * discover_alive_ok and a port in 1..65535, and the nodes rebuilt into a
 * reply read back the same; a cleaned PTR name cleans to itself and makes
 * only valid node names; a name found in a hosts file is one word.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discover.h"
#include "epmd_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_NODES 64

struct nodes {
    int n;
    char alive[MAX_NODES][4 * DISCOVER_PART_MAX + 1];
    unsigned port[MAX_NODES];
};

static int
keep_cb(void *arg, const char *alive, unsigned port)
{
    struct nodes *s = arg;

    if (!discover_alive_ok((const uint8_t *)alive, strlen(alive)) ||
        port == 0 || port > 65535)
        abort();
    if (s->n == MAX_NODES)
        return -1;
    strcpy(s->alive[s->n], alive);
    s->port[s->n++] = port;
    return 0;
}

static void
fuzz_names(const uint8_t *buf, size_t len)
{
    static struct nodes a, b;
    static uint8_t out[MAX_NODES * 1100 + 4];
    char why[128];
    size_t olen, skipped;
    int n, i;

    memset(&a, 0, sizeof(a));
    n = discover_names_parse(buf, len, keep_cb, &a, &skipped, why, sizeof(why));
    if (n < 0 || a.n == 0)
        return;
    /* What was kept, rebuilt, reads back the same with nothing skipped. */
    olen = epmd_wire_names_header(out, sizeof(out), 4369);
    for (i = 0; i < a.n; i++)
        olen += epmd_wire_names_line(out + olen, sizeof(out) - olen,
                                     (const uint8_t *)a.alive[i],
                                     strlen(a.alive[i]), a.port[i]);
    if (olen > sizeof(out))
        abort();
    memset(&b, 0, sizeof(b));
    if (discover_names_parse(out, olen, keep_cb, &b, &skipped, why,
                             sizeof(why)) != a.n ||
        skipped != 0 || b.n != a.n)
        abort();
    for (i = 0; i < a.n; i++)
        if (strcmp(a.alive[i], b.alive[i]) != 0 || a.port[i] != b.port[i])
            abort();
}

static void
fuzz_ptr(const uint8_t *buf, size_t len)
{
    char in[300], out[300], again[300];
    char cand[DISCOVER_MAX_CANDIDATES][HS_NAME_MAX + 1];
    int n, i;

    if (len >= sizeof(in))
        len = sizeof(in) - 1;
    memcpy(in, buf, len);
    in[len] = '\0';
    if (discover_ptr_clean(in, out, sizeof(out)) < 0)
        return;
    if (out[0] == '\0' || strlen(out) > DISCOVER_PART_MAX ||
        discover_ptr_clean(out, again, sizeof(again)) < 0 ||
        strcmp(out, again) != 0)
        abort();
    n = discover_candidates("n", out, "10.0.0.1", out, cand,
                            DISCOVER_MAX_CANDIDATES);
    if (n < 1 || n > DISCOVER_MAX_CANDIDATES)
        abort();
    for (i = 0; i < n; i++)
        if (!hs_name_ok(cand[i], strlen(cand[i])) ||
            strncmp(cand[i], "n@", 2) != 0)
            abort();
}

static void
fuzz_hosts(const uint8_t *buf, size_t len)
{
    static const char *const ips[] = {"10.0.0.1", "::1", "127.0.0.1"};
    char out[64];
    size_t i;

    for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
        if (discover_hosts_find((const char *)buf, len, ips[i], out,
                                sizeof(out)) < 0)
            continue;
        if (out[0] == '\0' || strpbrk(out, " \t\n#") != NULL ||
            strlen(out) >= sizeof(out))
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_names(data, size);
    fuzz_ptr(data, size);
    fuzz_hosts(data, size);
    return 0;
}
