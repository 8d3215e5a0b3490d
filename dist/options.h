/*
 * What a node needs before it starts: its name and its cookie, found the
 * way erl finds them.
 */
#ifndef DIST_OPTIONS_H
#define DIST_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

/* Make the full node name from -sname (longnames false) or -name NAME.
 * Returns 0, or -1 with an erl-like message in why. */
int opt_node_name(const char *arg, bool longnames, char *out, size_t outlen,
                  char *why, size_t whylen);
/* The cookie: -setcookie, else $ERLANG_COOKIE, else $ERLANG_COOKIE_FILE,
 * else ~/.erlang.cookie (created with 20 random capitals if missing, as
 * erl does). Returns 0, or -1 with why. */
int opt_cookie(const char *flag, char *out, size_t outlen, char *why,
               size_t whylen);
/* Parse "MIN-MAX" or "PORT" into a port range. */
int opt_port_range(const char *s, unsigned *min, unsigned *max);

#endif
