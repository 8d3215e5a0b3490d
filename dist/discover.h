/*
 * Discovery's pure parts: reading a NAMES reply, choosing node names from
 * an address and its PTR name, reading a hosts file, and the text that
 * `distgw discover` prints. No I/O, so they are unit-tested directly.
 */
#ifndef DIST_DISCOVER_H
#define DIST_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "handshake.h"

/* Addresses one round asks, at most: a name with more is cut here (and
 * the cut is logged), so a hostile DNS answer cannot make us open
 * thousands of sockets. 1024 is far above any service's replica count. */
#define DISCOVER_MAX_ADDRS 1024
/* EPMD NAMES queries in flight at once. */
#define DISCOVER_PARALLEL 64
/* A NAMES reply larger than this is refused: 1 MiB holds ~30,000 lines of
 * "name <255 bytes> at port 65535\n". */
#define DISCOVER_MAX_REPLY (1024u * 1024)
/* Nodes one round keeps, at most (over all addresses): a node costs ~8 KB
 * (its names to try), so a hostile EPMD cannot take more than ~16 MB a
 * round. */
#define DISCOVER_MAX_NODES 2048
/* Seconds an address's EPMD has to answer NAMES (connect included). */
#define DISCOVER_EPMD_TIMEOUT 3
/* Bytes of /etc/hosts read for reverse lookups, at most. */
#define DISCOVER_MAX_HOSTS_FILE (1024u * 1024)
/* Node names tried per node: alive@PTR, alive@first-label, alive@HOST and
 * alive@first-label of this host's name (local addresses), alive@IP. */
#define DISCOVER_MAX_CANDIDATES 5
/* Longest alive part or host part we keep (as OTP: 255 characters). */
#define DISCOVER_PART_MAX 255

/* Text of an IPv6 address, NUL included. */
#define DISCOVER_IP_MAX 46

/* Called for each node of a NAMES reply; alive is NUL-terminated and
 * valid for the call only. Return -1 to stop. */
typedef int (*discover_node_cb)(void *arg, const char *alive, unsigned port);

/*
 * Read a whole NAMES reply (the 4-byte port, then "name N at port P\n"
 * lines). Names that cannot be the alive part of a node name are
 * skipped and counted in *skipped (NULL: not counted). Returns the number
 * of nodes passed to cb, or -1 with why for a reply that is not one.
 */
int discover_names_parse(const uint8_t *buf, size_t len, discover_node_cb cb,
                         void *arg, size_t *skipped, char *why, size_t whylen);

/* True if s (n bytes) can be the alive part of a node name: 1..255
 * characters of UTF-8, no '@', no control characters or spaces. */
bool discover_alive_ok(const uint8_t *s, size_t n);

/*
 * Make a PTR answer usable as the host part: drop one trailing dot and
 * check it is a host name (letters, digits, '-', '_', '.', at most 255
 * bytes, no empty label). Returns 0 with the name in out, or -1.
 */
int discover_ptr_clean(const char *ptr, char *out, size_t outlen);

/*
 * The node names to try for alive at an address, in order, into out
 * (each HS_NAME_MAX + 1 bytes), each once: alive@PTR, then
 * alive@FIRSTLABEL when the PTR name has a dot; then the same two of
 * self, this host's name, for an address of this host; then alive@IP.
 * ptr or self NULL or "" means there is none. Returns how many were
 * written.
 */
int discover_candidates(const char *alive, const char *ptr, const char *ip,
                        const char *self, char out[][HS_NAME_MAX + 1], int max);

/*
 * Find ip (numeric text) in the text of a hosts file and copy the first
 * name of the first line that has it into out (as getnameinfo reads
 * /etc/hosts). Returns 0 if found, else -1.
 */
int discover_hosts_find(const char *text, size_t len, const char *ip, char *out,
                        size_t outlen);

/* An address whose EPMD did not answer, and why. */
struct discover_failure {
    char ip[DISCOVER_IP_MAX];
    char why[128];
};

/* What a round found, for the last line. */
struct discover_counts {
    size_t addrs, nodes;
    bool pinged;
    size_t pong, pang;
    const struct discover_failure *failed;
    size_t nfailed;
    const char *dns_error; /* the name did not resolve: why; else NULL */
};

/* One node's line: "NODE IP port PORT" and, when status is not NULL,
 * " STATUS". Returns what snprintf returns. */
int discover_fmt_node(char *buf, size_t len, const char *node, const char *ip,
                      unsigned port, const char *status);

/* Write the last line, without its newline: "discover NAME: A addresses,
 * N nodes[, P pong, Q pang]; failed: none|IP (why), ..." */
void discover_fmt_summary(FILE *f, const char *name,
                          const struct discover_counts *c);

#endif
