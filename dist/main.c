/*
 * distgw: an Erlang distribution gateway, and one-shot node commands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: distgw serve|ping|names|send|rpc|discover [options] ...\n"
            "       distgw COMMAND -help\n");
}

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {
        {"serve", cli_serve}, {"ping", cli_ping}, {"names", cli_names},
        {"send", cli_send},   {"rpc", cli_rpc},   {"discover", cli_discover},
    };
    size_t i;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "distgw: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
