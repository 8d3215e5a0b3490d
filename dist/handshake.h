/*
 * The distribution handshake as a pure state machine: whole handshake
 * messages in (without their length prefix), bytes to send out (with it),
 * and the next state. No I/O, so it is unit-tested and fuzzed directly.
 */
#ifndef DIST_HANDSHAKE_H
#define DIST_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_NAME_MAX 1024 /* bytes of a node name, NUL excluded */
#define HS_OUT_MAX 2200  /* room for the largest message we send */

enum hs_state {
    /* acceptor */
    HS_RECV_NAME,         /* wait for 'N' (or old 'n') */
    HS_WAIT_STATUS,       /* the caller must pick a status (hs_status) */
    HS_RECV_STATUS_REPLY, /* sent "alive": wait for "true"/"false" */
    HS_RECV_COMPLEMENT,   /* old 'n' peer: wait for 'c' */
    HS_RECV_REPLY,        /* wait for 'r' with the peer's digest */
    /* initiator */
    HS_RECV_STATUS,    /* sent our name: wait for 's' */
    HS_RECV_CHALLENGE, /* wait for the acceptor's 'N' */
    HS_RECV_ACK,       /* sent 'r': wait for 'a' */
    HS_DONE,
    HS_FAILED,
};

enum hs_result {
    HS_FAIL = -1,    /* h->error says why; close after sending out */
    HS_CONTINUE = 0, /* send out, wait for the next message */
    HS_ASK_STATUS,   /* acceptor: peer named; call hs_status() */
    HS_COMPLETE,     /* send out; the connection is up */
};

/* What the acceptor answers to a peer's name (the node table decides). */
enum hs_status {
    HS_STATUS_OK,
    HS_STATUS_OK_SIMULTANEOUS,
    HS_STATUS_NOK,
    HS_STATUS_NOT_ALLOWED,
    HS_STATUS_ALIVE,
};

struct hs {
    enum hs_state state;
    bool initiator;
    unsigned pkt_len; /* length prefix: 2 over TCP, 4 inside TLS */

    /* ours */
    char name[HS_NAME_MAX + 1];
    uint64_t flags;
    uint32_t creation;
    uint32_t challenge; /* the one we send (set at init, random) */
    const char *cookie; /* not owned; never logged */

    /* the peer's */
    char peer_name[HS_NAME_MAX + 1]; /* initiator: the node dialled */
    uint64_t peer_flags;
    uint32_t peer_creation;
    uint32_t peer_challenge;
    bool peer_old; /* sent 'n': expect 'c' */

    uint64_t negotiated; /* ours & theirs, when complete */

    /* bytes to send after each step, length prefixes included */
    uint8_t out[HS_OUT_MAX];
    size_t outlen;

    /* on failure: the step and the reason, peer data escaped */
    char error[256];
};

/* Start an acceptor; the challenge comes from RAND_bytes. Returns -1 if
 * no random challenge could be had. */
int hs_init_acceptor(struct hs *h, const char *name, uint64_t flags,
                     uint32_t creation, const char *cookie, unsigned pkt_len);
/* Start an initiator towards peer (full node name); h->out then holds our
 * name message. */
int hs_init_initiator(struct hs *h, const char *name, uint64_t flags,
                      uint32_t creation, const char *cookie, const char *peer,
                      unsigned pkt_len);
/* Feed one whole handshake message (its length prefix removed). h->out is
 * reset first and holds what to send. */
enum hs_result hs_input(struct hs *h, const uint8_t *msg, size_t len);
/* Acceptor: answer the peer's name with a status. */
enum hs_result hs_status(struct hs *h, enum hs_status status);
/* The state's name, for logs. */
const char *hs_strstate(enum hs_state s);
/* The step to name in a log: the state, or "handshake" once it failed
 * (h->error then names the step that failed). */
const char *hs_step(const struct hs *h);
/* MD5(cookie ++ decimal(challenge)) into out[16]. */
void hs_digest(const char *cookie, uint32_t challenge, uint8_t out[16]);
/* The flags a peer must have, after expanding the OTP 25 digest bit;
 * returns the missing ones (0 if none). */
uint64_t hs_missing_flags(uint64_t peer_flags);
/* Check a full node name: one '@', non-empty parts, at most 255
 * characters of UTF-8, no control bytes. */
bool hs_name_ok(const char *name, size_t len);

#endif
