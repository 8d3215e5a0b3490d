/*
 * Discovery: every node behind a DNS name (placeholder until written).
 */
#include <stdio.h>

#include "cli.h"
#include "gw.h"

int
discover_start(struct gw *g, const char *name, unsigned interval)
{
    (void)g;
    (void)interval;
    fprintf(stderr, "distgw: -discover %s: not built yet\n", name);
    return -1;
}

int
cli_discover(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "distgw discover: not built yet\n");
    return 2;
}
