/*
 * Fuzz the distribution handshake at each state of both roles.
 *
 * Input: a config byte, then handshake messages, each with a 2-byte
 * big-endian length (a short last one takes what is left). The config
 * picks the role and the state to start from (reached first with valid
 * messages), the status an acceptor answers, and whether the harness
 * writes the right digest into 'r'/'a' messages (so the fuzzer reaches
 * the end of the handshake; without it a completion needs the right
 * bytes from the input).
 *
 * Invariants: nothing is read past a message (ASan); the output is whole
 * length-prefixed messages; HS_COMPLETE only on a challenge reply or ack
 * carrying MD5(cookie ++ challenge), computed here with OpenSSL, and for
 * an initiator only after the dialled name came back; a failed or
 * finished handshake takes nothing more and sends nothing; errors hold no
 * control bytes (peer data is escaped).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dist_proto.h"
#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COOKIE "fuzzcookie"
#define OURS "gw@host"
#define PEER "a@host"
#define CHALLENGE 1234567890u
#define OTP25_FLAGS 0xD07DF7FBCULL

/* MD5(cookie ++ decimal challenge), independently of hs_digest. */
static void
md5_digest(uint32_t challenge, uint8_t out[16])
{
    char text[64];
    unsigned int len = 16;
    int n = snprintf(text, sizeof(text), "%s%" PRIu32, COOKIE, challenge);

    if (EVP_Digest(text, (size_t)n, out, &len, EVP_md5(), NULL) != 1)
        abort();
}

static void
put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xFFFF);
}

/* The output is a run of whole messages with pkt-byte lengths. */
static void
check_out(const struct hs *h)
{
    size_t off = 0, n;

    if (h->outlen > sizeof(h->out))
        abort();
    while (off < h->outlen) {
        if (h->outlen - off < h->pkt_len)
            abort();
        n = h->pkt_len == 2
                ? ((size_t)h->out[off] << 8 | h->out[off + 1])
                : ((size_t)h->out[off] << 24 | (size_t)h->out[off + 1] << 16 |
                   (size_t)h->out[off + 2] << 8 | h->out[off + 3]);
        if (n == 0 || h->outlen - off - h->pkt_len < n)
            abort();
        off += h->pkt_len + n;
    }
}

static void
check_error(const struct hs *h)
{
    const char *p;

    if (memchr(h->error, '\0', sizeof(h->error)) == NULL)
        abort();
    for (p = h->error; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            abort();
}

/* Feed one message and check what came back. */
static enum hs_result
feed(struct hs *h, const uint8_t *m, size_t len, enum hs_status st, bool *named)
{
    enum hs_state before = h->state;
    uint64_t flags_before = h->peer_flags;
    enum hs_result r = hs_input(h, m, len);
    uint8_t want[16];

    check_out(h);
    switch (r) {
    case HS_FAIL:
        if (h->state != HS_FAILED || h->error[0] == '\0')
            abort();
        check_error(h);
        break;
    case HS_ASK_STATUS:
        if (h->initiator || before != HS_RECV_NAME ||
            h->state != HS_WAIT_STATUS || h->outlen != 0 ||
            !hs_name_ok(h->peer_name, strlen(h->peer_name)) ||
            (h->peer_flags & DFLAG_NAME_ME))
            abort();
        r = hs_status(h, st);
        check_out(h);
        if (r == HS_FAIL)
            check_error(h);
        break;
    case HS_COMPLETE:
        if (h->state != HS_DONE || h->negotiated != (h->flags & h->peer_flags))
            abort();
        md5_digest(h->challenge, want);
        if (!h->initiator) {
            /* 'r' Challenge:32 Digest:16 over our challenge */
            if (before != HS_RECV_REPLY || len != 21 || m[0] != 'r' ||
                memcmp(m + 5, want, 16) != 0)
                abort();
        } else {
            if (before != HS_RECV_ACK || len != 17 || m[0] != 'a' ||
                memcmp(m + 1, want, 16) != 0 || !*named)
                abort();
        }
        break;
    case HS_CONTINUE:
        if (h->state == HS_FAILED || h->state == HS_DONE)
            abort();
        if (h->initiator && before == HS_RECV_CHALLENGE) {
            /* the acceptor's name was exactly the one dialled */
            if (len < 19 || ((size_t)m[17] << 8 | m[18]) != strlen(PEER) ||
                memcmp(m + 19, PEER, strlen(PEER)) != 0)
                abort();
            *named = true;
        }
        if (!h->initiator && before == HS_RECV_STATUS_REPLY &&
            (len != 5 || memcmp(m, "strue", 5) != 0))
            abort();
        if (!h->initiator && before == HS_RECV_COMPLEMENT &&
            (h->peer_flags & 0xFFFFFFFFULL) != (flags_before & 0xFFFFFFFFULL))
            abort();
        break;
    }
    return r;
}

/* Canned valid messages that lead to each starting state. */
static size_t
name_msg(uint8_t *b)
{
    size_t n = strlen(PEER);

    b[0] = 'N';
    put32(b + 1, (uint32_t)(OTP25_FLAGS >> 32));
    put32(b + 5, (uint32_t)OTP25_FLAGS);
    put32(b + 9, 7);
    put16(b + 13, (unsigned)n);
    memcpy(b + 15, PEER, n);
    return 15 + n;
}

static size_t
old_name_msg(uint8_t *b)
{
    size_t n = strlen(PEER);

    b[0] = 'n';
    put16(b + 1, 5);
    put32(b + 3, (uint32_t)OTP25_FLAGS);
    memcpy(b + 7, PEER, n);
    return 7 + n;
}

static size_t
challenge_msg(uint8_t *b)
{
    size_t n = strlen(PEER);

    b[0] = 'N';
    put32(b + 1, (uint32_t)(OTP25_FLAGS >> 32));
    put32(b + 5, (uint32_t)OTP25_FLAGS);
    put32(b + 9, 987654321u);
    put32(b + 13, 9);
    put16(b + 17, (unsigned)n);
    memcpy(b + 19, PEER, n);
    return 19 + n;
}

enum start {
    ST_ACC_NAME,
    ST_ACC_REPLY,
    ST_ACC_STATUS_REPLY,
    ST_ACC_COMPLEMENT,
    ST_INI_STATUS,
    ST_INI_CHALLENGE,
    ST_INI_ACK,
    ST_COUNT
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum hs_status statuses[] = {
        HS_STATUS_OK, HS_STATUS_OK_SIMULTANEOUS, HS_STATUS_ALIVE, HS_STATUS_NOK,
        HS_STATUS_NOT_ALLOWED};
    struct hs *h;
    uint8_t cfg, canned[64], *copy;
    enum start start;
    enum hs_status st;
    enum hs_result r = HS_CONTINUE;
    bool fix_digest, named = false, done = false;
    size_t off, n, cn;
    unsigned pkt;

    if (size < 1)
        return 0;
    cfg = data[0];
    start = (enum start)((cfg & 0x07) % ST_COUNT);
    st = statuses[((cfg >> 3) & 0x07) % 5];
    fix_digest = (cfg & 0x40) != 0;
    pkt = (cfg & 0x80) ? 4 : 2;
    if ((h = malloc(sizeof(*h))) == NULL)
        return 0;
    if (start <= ST_ACC_COMPLEMENT) {
        if (hs_init_acceptor(h, OURS, DFLAG_WE_OFFER, 5, COOKIE, pkt) < 0)
            abort();
    } else if (hs_init_initiator(h, PEER, DFLAG_WE_OFFER, 5, COOKIE, PEER,
                                 pkt) < 0) {
        abort();
    }
    h->challenge = CHALLENGE;
    check_out(h);
    /* Reach the starting state with valid messages. */
    switch (start) {
    case ST_ACC_NAME:
    case ST_INI_STATUS:
        break;
    case ST_ACC_REPLY:
        cn = name_msg(canned);
        if (feed(h, canned, cn, HS_STATUS_OK, &named) != HS_CONTINUE)
            abort();
        break;
    case ST_ACC_STATUS_REPLY:
        cn = name_msg(canned);
        if (feed(h, canned, cn, HS_STATUS_ALIVE, &named) != HS_CONTINUE ||
            h->state != HS_RECV_STATUS_REPLY)
            abort();
        break;
    case ST_ACC_COMPLEMENT:
        cn = old_name_msg(canned);
        if (feed(h, canned, cn, HS_STATUS_OK, &named) != HS_CONTINUE ||
            h->state != HS_RECV_COMPLEMENT)
            abort();
        break;
    case ST_INI_CHALLENGE:
    case ST_INI_ACK:
        memcpy(canned, "sok", 3);
        if (feed(h, canned, 3, st, &named) != HS_CONTINUE)
            abort();
        if (start == ST_INI_ACK) {
            cn = challenge_msg(canned);
            if (feed(h, canned, cn, st, &named) != HS_CONTINUE ||
                h->state != HS_RECV_ACK)
                abort();
        }
        break;
    case ST_COUNT:
        break;
    }
    /* Then the fuzzed messages, each in a buffer of its exact size. */
    for (off = 1; off < size;) {
        if (size - off >= 2) {
            n = (size_t)data[off] << 8 | data[off + 1];
            off += 2;
            if (n > size - off)
                n = size - off;
        } else {
            n = size - off;
        }
        if ((copy = malloc(n ? n : 1)) == NULL)
            break;
        memcpy(copy, data + off, n);
        off += n;
        if (fix_digest && !h->initiator && n == 21 && copy[0] == 'r')
            md5_digest(CHALLENGE, copy + 5);
        if (fix_digest && h->initiator && n == 17 && copy[0] == 'a')
            md5_digest(CHALLENGE, copy + 1);
        if (done) {
            /* Finished or failed: nothing more is taken or sent. */
            if (hs_input(h, copy, n) != HS_FAIL || h->outlen != 0 ||
                h->state != HS_FAILED)
                abort();
        } else {
            r = feed(h, copy, n, st, &named);
            done = r == HS_FAIL || r == HS_COMPLETE || h->state == HS_FAILED;
        }
        free(copy);
    }
    (void)hs_step(h);
    free(h);
    return 0;
}
