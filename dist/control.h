/*
 * Control messages of a connected link: parse a frame into a checked
 * control tuple and its payload, and write frames.
 */
#ifndef DIST_CONTROL_H
#define DIST_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "etf.h"

struct ctl_msg {
    int op;            /* enum dop */
    etf_term *ctl;     /* the control tuple */
    etf_term *payload; /* message, exit reason or spawn args; or NULL */
    /* Fields of the tuple, by meaning; NULL where the op has none. */
    const etf_term *from; /* sender pid (MONITOR_P_EXIT: pid or name) */
    const etf_term *to;   /* pid, registered name, or alias */
    const etf_term *ref;  /* monitor reference, spawn request id */
    const etf_term *reason;
    const etf_term *id; /* UNLINK_ID id, SPAWN_REPLY flags */
    const etf_term *token;
    const etf_term *group_leader; /* SPAWN_REQUEST */
    const etf_term *mfa;          /* SPAWN_REQUEST {M,F,Arity} */
    const etf_term *result;       /* SPAWN_REPLY */
};

/* The name of an operation, for logs ("REG_SEND"). */
const char *ctl_opname(int op);

/*
 * Parse one frame payload (length removed, non-empty) into m, with terms
 * from arena a. Pass-through frames (112, 131 ctl, [131 msg]) always;
 * 131 'D' headers through cache when it is not NULL. Checks the tuple's
 * shape for its op. On failure returns -1 with a message in why.
 */
int ctl_parse(etf_arena *a, const uint8_t *p, size_t len, etf_atom_cache *cache,
              struct ctl_msg *m, char *why, size_t whylen);

/* Append a pass-through frame (length, 112, 131 ctl, [131 msg]) to w. */
int ctl_frame(etf_writer *w, const etf_term *ctl, const etf_term *msg);

#endif
