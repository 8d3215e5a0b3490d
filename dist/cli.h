/*
 * distgw's subcommands.
 */
#ifndef DIST_CLI_H
#define DIST_CLI_H

int cli_serve(int argc, char **argv);
int cli_ping(int argc, char **argv);
int cli_names(int argc, char **argv);
int cli_send(int argc, char **argv);
int cli_rpc(int argc, char **argv);
int cli_discover(int argc, char **argv); /* discover.c */

#endif
