/*
 * The distribution handshake state machine: bytes in, bytes out, next
 * state, for both roles. Digests are checked against MD5 values computed
 * outside this code (Python's hashlib), never against hs_digest itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dist_proto.h"
#include "handshake.h"

#define COOKIE "ck"
#define GW "gw@host"
#define PEER "a@host"
#define OUR_CHALLENGE 1234567890u
#define PEER_CHALLENGE 42u
#define OUR_CREATION 0x11223344u
#define PEER_CREATION 0x55667788u
/* What OTP 25.2.3 offers (erts_internal:get_dflags/0 "default"). */
#define OTP25_FLAGS 0xD07DF7FBCULL

/* md5("ck1234567890"), md5("ck42"), md5("ck4294967295"),
 * md5("secretcookie0"), md5("other1234567890"), from hashlib. */
static const char *const MD5_CK_OURS = "832ba18179ba8824bf6692e5e08b7aa6";
static const char *const MD5_CK_PEER = "0b499e3a2e92a4adb1103853a076ff17";
static const char *const MD5_CK_MAX = "f455395933f711d1ca6e48a2400c1d5d";
static const char *const MD5_SECRET_0 = "b84e52efd9d2ef526db2fccc23e877e8";
static const char *const MD5_OTHER_OURS = "923a4de1212c574d1d3cabda44c22c76";

/* A growing byte string to build messages with. */
struct buf {
    uint8_t b[4096];
    size_t n;
};

static void
put8(struct buf *b, unsigned v)
{
    b->b[b->n++] = (uint8_t)v;
}

static void
put16(struct buf *b, unsigned v)
{
    put8(b, v >> 8);
    put8(b, v);
}

static void
put32(struct buf *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v & 0xFFFF);
}

static void
put64(struct buf *b, uint64_t v)
{
    put32(b, (uint32_t)(v >> 32));
    put32(b, (uint32_t)v);
}

static void
putstr(struct buf *b, const char *s)
{
    memcpy(b->b + b->n, s, strlen(s));
    b->n += strlen(s);
}

static void
puthex(struct buf *b, const char *hex)
{
    unsigned v;

    for (; hex[0] && hex[1]; hex += 2) {
        sscanf(hex, "%2x", &v);
        put8(b, v);
    }
}

/* Prefix b's bytes with a 2- or 4-byte length. */
static void
framed(const struct buf *in, unsigned pkt, struct buf *out)
{
    out->n = 0;
    if (pkt == 4)
        put32(out, (uint32_t)in->n);
    else
        put16(out, (unsigned)in->n);
    memcpy(out->b + out->n, in->b, in->n);
    out->n += in->n;
}

static void
assert_out(const struct hs *h, const struct buf *want)
{
    assert_int_equal(h->outlen, want->n);
    assert_memory_equal(h->out, want->b, want->n);
}

/* 'N' name message as an OTP 25 initiator sends it. */
static void
name_msg(struct buf *b, uint64_t flags, uint32_t creation, const char *name)
{
    b->n = 0;
    put8(b, 'N');
    put64(b, flags);
    put32(b, creation);
    put16(b, (unsigned)strlen(name));
    putstr(b, name);
}

/* The challenge 'N' message an acceptor sends. */
static void
challenge_msg(struct buf *b, uint64_t flags, uint32_t challenge,
              uint32_t creation, const char *name)
{
    b->n = 0;
    put8(b, 'N');
    put64(b, flags);
    put32(b, challenge);
    put32(b, creation);
    put16(b, (unsigned)strlen(name));
    putstr(b, name);
}

static void
reply_msg(struct buf *b, uint32_t challenge, const char *digest_hex)
{
    b->n = 0;
    put8(b, 'r');
    put32(b, challenge);
    puthex(b, digest_hex);
}

static struct hs *
new_acceptor(const char *cookie, unsigned pkt)
{
    struct hs *h = malloc(sizeof(*h));

    assert_non_null(h);
    assert_int_equal(
        hs_init_acceptor(h, GW, DFLAG_WE_OFFER, OUR_CREATION, cookie, pkt), 0);
    h->challenge = OUR_CHALLENGE;
    assert_int_equal(h->state, HS_RECV_NAME);
    assert_false(h->initiator);
    assert_int_equal(h->outlen, 0);
    return h;
}

static struct hs *
new_initiator(const char *cookie, unsigned pkt)
{
    struct hs *h = malloc(sizeof(*h));

    assert_non_null(h);
    assert_int_equal(hs_init_initiator(h, PEER, DFLAG_WE_OFFER, PEER_CREATION,
                                       cookie, GW, pkt),
                     0);
    assert_true(h->initiator);
    assert_int_equal(h->state, HS_RECV_STATUS);
    return h;
}

static void
test_digest_vectors(void **state)
{
    uint8_t d[16];
    struct buf want = {.n = 0};

    (void)state;
    hs_digest("ck", 1234567890u, d);
    puthex(&want, MD5_CK_OURS);
    assert_memory_equal(d, want.b, 16);
    /* The challenge is printed unsigned, not as a negative int32. */
    hs_digest("ck", 4294967295u, d);
    want.n = 0;
    puthex(&want, MD5_CK_MAX);
    assert_memory_equal(d, want.b, 16);
    hs_digest("secretcookie", 0, d);
    want.n = 0;
    puthex(&want, MD5_SECRET_0);
    assert_memory_equal(d, want.b, 16);
}

static void
test_missing_flags(void **state)
{
    (void)state;
    assert_int_equal(hs_missing_flags(DFLAG_MANDATORY_25), 0);
    assert_int_equal(hs_missing_flags(OTP25_FLAGS), 0);
    /* The digest bit stands for the whole OTP 25 set. */
    assert_int_equal(hs_missing_flags(DFLAG_MANDATORY_25_DIGEST), 0);
    assert_int_equal(hs_missing_flags(0), DFLAG_MANDATORY_25);
    assert_int_equal(hs_missing_flags(DFLAG_MANDATORY_25 & ~DFLAG_MAP_TAG),
                     DFLAG_MAP_TAG);
    /* Bit 36 is not the digest bit (a documented mistake elsewhere). */
    assert_int_equal(hs_missing_flags(1ULL << 36), DFLAG_MANDATORY_25);
}

static void
test_name_ok(void **state)
{
    char longname[1100];

    (void)state;
    assert_true(hs_name_ok("a@b", 3));
    assert_true(hs_name_ok("gw@host.example.com", 19));
    assert_true(hs_name_ok("n\xc3\xa9@h", 5)); /* UTF-8 alive part */
    assert_false(hs_name_ok("ab", 2));
    assert_false(hs_name_ok("@b", 2));
    assert_false(hs_name_ok("a@", 2));
    assert_false(hs_name_ok("a@b@c", 5));
    assert_false(hs_name_ok("a\0@b", 4));
    assert_false(hs_name_ok("a@b\0", 4));
    /* Control bytes would reach the logs as they are. */
    assert_false(hs_name_ok("a\n@b", 4));
    assert_false(hs_name_ok("a@b\x1b[2J", 7));
    assert_false(hs_name_ok("a\x7f@b", 4));
    assert_false(hs_name_ok("a@h\x7fst", 7));
    /* A node name is an atom: at most 255 characters. */
    memset(longname, 'x', sizeof(longname));
    memcpy(longname + 250, "@h", 2);
    assert_true(hs_name_ok(longname, 255));
    assert_false(hs_name_ok(longname, 256));
    assert_false(hs_name_ok(longname, 1025));
}

/* The acceptor from 'N' to the ack, every byte checked. */
static void
accept_flow(unsigned pkt)
{
    struct hs *h = new_acceptor(COOKIE, pkt);
    struct buf m, raw, want;

    name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_ASK_STATUS);
    assert_int_equal(h->state, HS_WAIT_STATUS);
    assert_int_equal(h->outlen, 0);
    assert_string_equal(h->peer_name, PEER);
    assert_int_equal(h->peer_flags, OTP25_FLAGS);
    assert_int_equal(h->peer_creation, PEER_CREATION);
    assert_false(h->peer_old);

    /* "sok" then our challenge, both framed. */
    assert_int_equal(hs_status(h, HS_STATUS_OK), HS_CONTINUE);
    assert_int_equal(h->state, HS_RECV_REPLY);
    raw.n = 0;
    putstr(&raw, "sok");
    framed(&raw, pkt, &want);
    challenge_msg(&raw, DFLAG_WE_OFFER, OUR_CHALLENGE, OUR_CREATION, GW);
    {
        struct buf second;

        framed(&raw, pkt, &second);
        memcpy(want.b + want.n, second.b, second.n);
        want.n += second.n;
    }
    assert_out(h, &want);

    reply_msg(&m, PEER_CHALLENGE, MD5_CK_OURS);
    assert_int_equal(hs_input(h, m.b, m.n), HS_COMPLETE);
    assert_int_equal(h->state, HS_DONE);
    assert_int_equal(h->peer_challenge, PEER_CHALLENGE);
    assert_int_equal(h->negotiated, DFLAG_WE_OFFER & OTP25_FLAGS);
    raw.n = 0;
    put8(&raw, 'a');
    puthex(&raw, MD5_CK_PEER);
    framed(&raw, pkt, &want);
    assert_out(h, &want);
    free(h);
}

static void
test_accept_ok(void **state)
{
    (void)state;
    accept_flow(2);
}

static void
test_accept_ok_tls_framing(void **state)
{
    (void)state;
    accept_flow(4);
}

/* Negotiated flags leave out the atom cache and fragments OTP offers. */
static void
test_accept_negotiated_no_cache(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;

    (void)state;
    name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_ASK_STATUS);
    hs_status(h, HS_STATUS_OK);
    reply_msg(&m, PEER_CHALLENGE, MD5_CK_OURS);
    assert_int_equal(hs_input(h, m.b, m.n), HS_COMPLETE);
    assert_int_equal(h->negotiated & DFLAG_DIST_HDR_ATOM_CACHE, 0);
    assert_int_equal(h->negotiated & DFLAG_FRAGMENTS, 0);
    assert_int_equal(h->negotiated & DFLAG_PUBLISHED, 0);
    free(h);
}

static void
test_accept_wrong_cookie(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;

    (void)state;
    name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_ASK_STATUS);
    hs_status(h, HS_STATUS_OK);
    /* The peer's digest made with cookie "other". */
    reply_msg(&m, PEER_CHALLENGE, MD5_OTHER_OURS);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_int_equal(h->state, HS_FAILED);
    assert_int_equal(h->outlen, 0); /* no ack is sent */
    assert_non_null(strstr(h->error, "recv_challenge_reply"));
    assert_non_null(strstr(h->error, "cookies differ"));
    assert_null(strstr(h->error, COOKIE "1")); /* no secret in the log */
    /* Nothing more is taken. */
    reply_msg(&m, PEER_CHALLENGE, MD5_CK_OURS);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    free(h);
}

static void
test_accept_reply_sizes(void **state)
{
    struct hs *h;
    struct buf m;
    size_t cut;

    (void)state;
    for (cut = 0; cut < 3; cut++) {
        h = new_acceptor(COOKIE, 2);
        name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
        hs_input(h, m.b, m.n);
        hs_status(h, HS_STATUS_OK);
        reply_msg(&m, PEER_CHALLENGE, MD5_CK_OURS);
        if (cut == 0)
            m.n = 20; /* short */
        else if (cut == 1)
            put8(&m, 0); /* long */
        else
            m.b[0] = 'R'; /* wrong tag */
        assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
        assert_int_equal(h->state, HS_FAILED);
        free(h);
    }
}

static void
test_accept_missing_flags(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m, raw, want;

    (void)state;
    /* An OTP 22-era peer: no HANDSHAKE_23, no MAP_TAG... */
    name_msg(&m, DFLAG_EXTENDED_REFERENCES | DFLAG_UTF8_ATOMS, PEER_CREATION,
             PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_int_equal(h->state, HS_FAILED);
    raw.n = 0;
    putstr(&raw, "snot_allowed");
    framed(&raw, 2, &want);
    assert_out(h, &want);
    assert_non_null(strstr(h->error, "lacks required flags"));
    /* The error names the step that failed. */
    assert_int_equal(strncmp(h->error, "recv_name: ", 11), 0);
    free(h);
}

static void
test_accept_digest_flag_only(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;

    (void)state;
    /* The digest bit alone stands for the 25 set: accepted. */
    name_msg(&m, DFLAG_MANDATORY_25_DIGEST, PEER_CREATION, PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_ASK_STATUS);
    free(h);
}

static void
test_accept_bad_names(void **state)
{
    static const char *const bad[] = {"nohost", "@host", "a@", "a@b@c", ""};
    struct hs *h;
    struct buf m;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        h = new_acceptor(COOKIE, 2);
        name_msg(&m, OTP25_FLAGS, PEER_CREATION, bad[i]);
        assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
        assert_int_equal(h->state, HS_FAILED);
        assert_int_equal(h->outlen, 0);
        free(h);
    }
    /* A name with control bytes is escaped in the error. */
    h = new_acceptor(COOKIE, 2);
    name_msg(&m, OTP25_FLAGS, PEER_CREATION, "evil\n\x1b[2J");
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_null(strchr(h->error, '\n'));
    assert_null(strchr(h->error, '\x1b'));
    free(h);
}

/* Found by fuzz_dist_handshake: a name with DEL passed the name check
 * and the digest error then carried it into the log unescaped. */
static void
test_accept_control_bytes_in_name(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;
    const char *p;

    (void)state;
    m.n = 0;
    put8(&m, 'n');
    put16(&m, 5);
    put32(&m, 0x07df6fbc);
    putstr(&m, "a@h\x7fst");
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    for (p = h->error; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    free(h);
}

static void
test_accept_name_me(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;

    (void)state;
    /* A dynamic-name request carries the host only. */
    name_msg(&m, OTP25_FLAGS | DFLAG_NAME_ME, PEER_CREATION, "host");
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_non_null(strstr(h->error, "dynamic name"));
    free(h);
    h = new_acceptor(COOKIE, 2);
    name_msg(&m, OTP25_FLAGS | DFLAG_NAME_ME, PEER_CREATION, PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_non_null(strstr(h->error, "dynamic name"));
    free(h);
}

static void
test_accept_truncated_name_msg(void **state)
{
    struct hs *h;
    struct buf m;
    size_t n;

    (void)state;
    name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
    /* Every proper prefix fails cleanly. */
    for (n = 0; n < m.n; n++) {
        h = new_acceptor(COOKIE, 2);
        assert_int_equal(hs_input(h, m.b, n), HS_FAIL);
        assert_int_equal(h->state, HS_FAILED);
        free(h);
    }
    /* Bytes after the name are ignored, as OTP does. */
    put32(&m, 0xdeadbeef);
    h = new_acceptor(COOKIE, 2);
    assert_int_equal(hs_input(h, m.b, m.n), HS_ASK_STATUS);
    assert_string_equal(h->peer_name, PEER);
    free(h);
}

static void
test_accept_wrong_first_tag(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;

    (void)state;
    reply_msg(&m, PEER_CHALLENGE, MD5_CK_OURS);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_non_null(strstr(h->error, "recv_name"));
    free(h);
}

static void
test_accept_input_while_waiting_status(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;

    (void)state;
    name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_ASK_STATUS);
    reply_msg(&m, PEER_CHALLENGE, MD5_CK_OURS);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_int_equal(h->state, HS_FAILED);
    free(h);
}

static void
test_accept_status_texts(void **state)
{
    static const struct {
        enum hs_status st;
        const char *text;
        enum hs_result r;
        enum hs_state next;
    } cases[] = {
        {HS_STATUS_OK_SIMULTANEOUS, "sok_simultaneous", HS_CONTINUE,
         HS_RECV_REPLY},
        {HS_STATUS_NOK, "snok", HS_FAIL, HS_FAILED},
        {HS_STATUS_NOT_ALLOWED, "snot_allowed", HS_FAIL, HS_FAILED},
        {HS_STATUS_ALIVE, "salive", HS_CONTINUE, HS_RECV_STATUS_REPLY},
    };
    struct hs *h;
    struct buf m, raw, want;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h = new_acceptor(COOKIE, 2);
        name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
        hs_input(h, m.b, m.n);
        assert_int_equal(hs_status(h, cases[i].st), cases[i].r);
        assert_int_equal(h->state, cases[i].next);
        raw.n = 0;
        putstr(&raw, cases[i].text);
        framed(&raw, 2, &want);
        assert_true(h->outlen >= want.n);
        assert_memory_equal(h->out, want.b, want.n);
        if (cases[i].st == HS_STATUS_OK_SIMULTANEOUS)
            assert_true(h->outlen > want.n); /* and the challenge */
        else
            assert_int_equal(h->outlen, want.n);
        free(h);
    }
}

static void
test_accept_alive_true(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m, raw, want;

    (void)state;
    name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
    hs_input(h, m.b, m.n);
    assert_int_equal(hs_status(h, HS_STATUS_ALIVE), HS_CONTINUE);
    m.n = 0;
    putstr(&m, "strue");
    assert_int_equal(hs_input(h, m.b, m.n), HS_CONTINUE);
    assert_int_equal(h->state, HS_RECV_REPLY);
    challenge_msg(&raw, DFLAG_WE_OFFER, OUR_CHALLENGE, OUR_CREATION, GW);
    framed(&raw, 2, &want);
    assert_out(h, &want);
    reply_msg(&m, PEER_CHALLENGE, MD5_CK_OURS);
    assert_int_equal(hs_input(h, m.b, m.n), HS_COMPLETE);
    free(h);
}

static void
test_accept_alive_false(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;

    (void)state;
    name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
    hs_input(h, m.b, m.n);
    hs_status(h, HS_STATUS_ALIVE);
    m.n = 0;
    putstr(&m, "sfalse");
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_int_equal(h->outlen, 0);
    free(h);
    h = new_acceptor(COOKIE, 2);
    name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
    hs_input(h, m.b, m.n);
    hs_status(h, HS_STATUS_ALIVE);
    m.n = 0;
    putstr(&m, "strueish");
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    free(h);
}

/* An OTP 23/24 peer without EPMD: 'n' (version 5), then 'c'. */
static void
test_accept_old_name_and_complement(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;

    (void)state;
    m.n = 0;
    put8(&m, 'n');
    put16(&m, 5);
    put32(&m, (uint32_t)OTP25_FLAGS);
    putstr(&m, PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_ASK_STATUS);
    assert_true(h->peer_old);
    assert_string_equal(h->peer_name, PEER);
    assert_int_equal(hs_status(h, HS_STATUS_OK), HS_CONTINUE);
    assert_int_equal(h->state, HS_RECV_COMPLEMENT);
    m.n = 0;
    put8(&m, 'c');
    put32(&m, (uint32_t)(OTP25_FLAGS >> 32));
    put32(&m, PEER_CREATION);
    assert_int_equal(hs_input(h, m.b, m.n), HS_CONTINUE);
    assert_int_equal(h->outlen, 0);
    assert_int_equal(h->state, HS_RECV_REPLY);
    assert_int_equal(h->peer_flags, OTP25_FLAGS);
    assert_int_equal(h->peer_creation, PEER_CREATION);
    reply_msg(&m, PEER_CHALLENGE, MD5_CK_OURS);
    assert_int_equal(hs_input(h, m.b, m.n), HS_COMPLETE);
    free(h);
}

static void
test_accept_old_name_refusals(void **state)
{
    struct hs *h;
    struct buf m;

    (void)state;
    /* version 6 in an old message */
    h = new_acceptor(COOKIE, 2);
    m.n = 0;
    put8(&m, 'n');
    put16(&m, 6);
    put32(&m, (uint32_t)OTP25_FLAGS);
    putstr(&m, PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    free(h);
    /* no HANDSHAKE_23: the peer would never send a complement */
    h = new_acceptor(COOKIE, 2);
    m.n = 0;
    put8(&m, 'n');
    put16(&m, 5);
    put32(&m, (uint32_t)(OTP25_FLAGS & ~DFLAG_HANDSHAKE_23));
    putstr(&m, PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    free(h);
    /* a complement of the wrong size */
    h = new_acceptor(COOKIE, 2);
    m.n = 0;
    put8(&m, 'n');
    put16(&m, 5);
    put32(&m, (uint32_t)OTP25_FLAGS);
    putstr(&m, PEER);
    hs_input(h, m.b, m.n);
    hs_status(h, HS_STATUS_OK);
    m.n = 0;
    put8(&m, 'c');
    put32(&m, 0);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    free(h);
}

static void
test_initiator_name(void **state)
{
    struct hs *h = new_initiator(COOKIE, 2);
    struct buf raw, want;

    (void)state;
    name_msg(&raw, DFLAG_WE_OFFER, PEER_CREATION, PEER);
    framed(&raw, 2, &want);
    assert_out(h, &want);
    free(h);
}

/* The initiator from its name to the ack, every byte checked. */
static void
test_initiator_ok(void **state)
{
    struct hs *h = new_initiator(COOKIE, 2);
    struct buf m, raw, want;

    (void)state;
    h->challenge = PEER_CHALLENGE;
    m.n = 0;
    putstr(&m, "sok");
    assert_int_equal(hs_input(h, m.b, m.n), HS_CONTINUE);
    assert_int_equal(h->state, HS_RECV_CHALLENGE);
    assert_int_equal(h->outlen, 0);
    challenge_msg(&m, OTP25_FLAGS, OUR_CHALLENGE, OUR_CREATION, GW);
    assert_int_equal(hs_input(h, m.b, m.n), HS_CONTINUE);
    assert_int_equal(h->state, HS_RECV_ACK);
    assert_int_equal(h->peer_creation, OUR_CREATION);
    /* 'r', our challenge, the digest over theirs */
    reply_msg(&raw, PEER_CHALLENGE, MD5_CK_OURS);
    framed(&raw, 2, &want);
    assert_out(h, &want);
    m.n = 0;
    put8(&m, 'a');
    puthex(&m, MD5_CK_PEER);
    assert_int_equal(hs_input(h, m.b, m.n), HS_COMPLETE);
    assert_int_equal(h->state, HS_DONE);
    assert_int_equal(h->outlen, 0);
    assert_int_equal(h->negotiated, DFLAG_WE_OFFER & OTP25_FLAGS);
    free(h);
}

static void
test_initiator_bad_ack(void **state)
{
    struct hs *h = new_initiator(COOKIE, 2);
    struct buf m;

    (void)state;
    h->challenge = PEER_CHALLENGE;
    m.n = 0;
    putstr(&m, "sok");
    hs_input(h, m.b, m.n);
    challenge_msg(&m, OTP25_FLAGS, OUR_CHALLENGE, OUR_CREATION, GW);
    hs_input(h, m.b, m.n);
    m.n = 0;
    put8(&m, 'a');
    puthex(&m, MD5_CK_OURS); /* over the wrong challenge */
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_non_null(strstr(h->error, "cookies differ"));
    free(h);
}

static void
test_initiator_challenge_name_mismatch(void **state)
{
    static const char *const names[] = {"gw@host.example", "gw@hos", "GW@host",
                                        "gw@hostx"};
    struct hs *h;
    struct buf m;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        h = new_initiator(COOKIE, 2);
        m.n = 0;
        putstr(&m, "sok");
        hs_input(h, m.b, m.n);
        challenge_msg(&m, OTP25_FLAGS, OUR_CHALLENGE, OUR_CREATION, names[i]);
        assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
        assert_non_null(strstr(h->error, "calls itself"));
        assert_int_equal(h->outlen, 0);
        free(h);
    }
    /* a name length running past the message */
    h = new_initiator(COOKIE, 2);
    m.n = 0;
    putstr(&m, "sok");
    hs_input(h, m.b, m.n);
    challenge_msg(&m, OTP25_FLAGS, OUR_CHALLENGE, OUR_CREATION, GW);
    m.b[18] += 5;
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    free(h);
}

static void
test_initiator_challenge_missing_flags(void **state)
{
    struct hs *h = new_initiator(COOKIE, 2);
    struct buf m;

    (void)state;
    m.n = 0;
    putstr(&m, "sok");
    hs_input(h, m.b, m.n);
    challenge_msg(&m, DFLAG_EXTENDED_REFERENCES, OUR_CHALLENGE, OUR_CREATION,
                  GW);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_non_null(strstr(h->error, "lacks required flags"));
    free(h);
}

static void
test_initiator_statuses(void **state)
{
    static const struct {
        const char *text;
        enum hs_result r;
        enum hs_state next;
        const char *out;
    } cases[] = {
        {"sok", HS_CONTINUE, HS_RECV_CHALLENGE, NULL},
        {"sok_simultaneous", HS_CONTINUE, HS_RECV_CHALLENGE, NULL},
        {"salive", HS_CONTINUE, HS_RECV_CHALLENGE, "strue"},
        {"snok", HS_FAIL, HS_FAILED, NULL},
        {"snot_allowed", HS_FAIL, HS_FAILED, NULL},
        {"sokay", HS_FAIL, HS_FAILED, NULL},
        {"s", HS_FAIL, HS_FAILED, NULL},
        {"", HS_FAIL, HS_FAILED, NULL},
        {"xok", HS_FAIL, HS_FAILED, NULL},
        {"snamed:", HS_FAIL, HS_FAILED, NULL},
    };
    struct hs *h;
    struct buf m, raw, want;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h = new_initiator(COOKIE, 2);
        m.n = 0;
        putstr(&m, cases[i].text);
        assert_int_equal(hs_input(h, m.b, m.n), cases[i].r);
        assert_int_equal(h->state, cases[i].next);
        if (cases[i].out != NULL) {
            raw.n = 0;
            putstr(&raw, cases[i].out);
            framed(&raw, 2, &want);
            assert_out(h, &want);
        } else {
            assert_int_equal(h->outlen, 0);
        }
        free(h);
    }
}

/* An acceptor and an initiator talk to each other through their out
 * buffers; both complete with the same cookie, and agree on the flags. */
static void
talk(const char *icookie, const char *acookie, unsigned pkt, bool *a_done,
     bool *i_done)
{
    struct hs *a = malloc(sizeof(*a)), *i = malloc(sizeof(*i));
    enum hs_result ra, ri = HS_CONTINUE;
    size_t off, n;
    uint8_t copy[HS_OUT_MAX];
    size_t copylen;
    int steps;

    assert_int_equal(
        hs_init_acceptor(a, GW, DFLAG_WE_OFFER, OUR_CREATION, acookie, pkt), 0);
    assert_int_equal(hs_init_initiator(i, PEER, DFLAG_WE_OFFER, PEER_CREATION,
                                       icookie, GW, pkt),
                     0);
    *a_done = *i_done = false;
    /* i's name -> a */
    memcpy(copy, i->out, i->outlen);
    copylen = i->outlen;
    for (steps = 0; steps < 10; steps++) {
        /* deliver every message in copy to a */
        ra = HS_CONTINUE;
        for (off = 0; off + pkt <= copylen; off += pkt + n) {
            n = pkt == 2 ? ((size_t)copy[off] << 8 | copy[off + 1])
                         : ((size_t)copy[off + 2] << 8 | copy[off + 3]);
            ra = hs_input(a, copy + off + pkt, n);
            if (ra == HS_ASK_STATUS)
                ra = hs_status(a, HS_STATUS_OK);
            if (ra == HS_FAIL)
                break;
        }
        if (ra == HS_COMPLETE)
            *a_done = true;
        if (ra == HS_FAIL || a->outlen == 0)
            break;
        memcpy(copy, a->out, a->outlen);
        copylen = a->outlen;
        for (off = 0; off + pkt <= copylen; off += pkt + n) {
            n = pkt == 2 ? ((size_t)copy[off] << 8 | copy[off + 1])
                         : ((size_t)copy[off + 2] << 8 | copy[off + 3]);
            ri = hs_input(i, copy + off + pkt, n);
            if (ri == HS_FAIL)
                break;
        }
        if (ri == HS_COMPLETE)
            *i_done = true;
        if (ri == HS_FAIL || i->outlen == 0)
            break;
        memcpy(copy, i->out, i->outlen);
        copylen = i->outlen;
    }
    if (*a_done && *i_done) {
        assert_int_equal(a->negotiated, i->negotiated);
        assert_string_equal(a->peer_name, PEER);
        assert_int_equal(a->peer_creation, PEER_CREATION);
        assert_int_equal(i->peer_creation, OUR_CREATION);
    }
    free(a);
    free(i);
}

static void
test_both_roles_together(void **state)
{
    bool ad, id;

    (void)state;
    talk("ck", "ck", 2, &ad, &id);
    assert_true(ad);
    assert_true(id);
    talk("ck", "ck", 4, &ad, &id);
    assert_true(ad);
    assert_true(id);
    talk("ck", "other", 2, &ad, &id);
    assert_false(ad);
    assert_false(id);
    /* The cookie is compared whole: a prefix is not enough. */
    talk("ck", "ckx", 2, &ad, &id);
    assert_false(ad);
    assert_false(id);
}

static void
test_after_done(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;

    (void)state;
    name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
    hs_input(h, m.b, m.n);
    hs_status(h, HS_STATUS_OK);
    reply_msg(&m, PEER_CHALLENGE, MD5_CK_OURS);
    assert_int_equal(hs_input(h, m.b, m.n), HS_COMPLETE);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_int_equal(h->outlen, 0);
    free(h);
}

static void
test_strstate(void **state)
{
    (void)state;
    assert_string_equal(hs_strstate(HS_RECV_NAME), "recv_name");
    assert_string_equal(hs_strstate(HS_RECV_REPLY), "recv_challenge_reply");
    assert_string_equal(hs_strstate(HS_RECV_ACK), "recv_challenge_ack");
    assert_string_equal(hs_strstate(HS_DONE), "done");
    assert_string_equal(hs_strstate((enum hs_state)99), "?");
}

/* A failed handshake names the step once, in the error, not "failed". */
static void
test_step_after_failure(void **state)
{
    struct hs *h = new_acceptor(COOKIE, 2);
    struct buf m;

    (void)state;
    assert_string_equal(hs_step(h), "recv_name");
    name_msg(&m, OTP25_FLAGS, PEER_CREATION, PEER);
    hs_input(h, m.b, m.n);
    hs_status(h, HS_STATUS_OK);
    assert_string_equal(hs_step(h), "recv_challenge_reply");
    reply_msg(&m, PEER_CHALLENGE, MD5_OTHER_OURS);
    assert_int_equal(hs_input(h, m.b, m.n), HS_FAIL);
    assert_string_equal(hs_step(h), "handshake");
    assert_int_equal(strncmp(h->error, "recv_challenge_reply: ", 22), 0);
    free(h);
}

static void
test_init_rejects_long_names(void **state)
{
    struct hs *h = malloc(sizeof(*h));
    char name[HS_NAME_MAX + 10];

    (void)state;
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_int_equal(hs_init_acceptor(h, name, 0, 1, "c", 2), -1);
    assert_int_equal(hs_init_initiator(h, "a@b", 0, 1, "c", name, 2), -1);
    free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_vectors),
        cmocka_unit_test(test_missing_flags),
        cmocka_unit_test(test_name_ok),
        cmocka_unit_test(test_accept_ok),
        cmocka_unit_test(test_accept_ok_tls_framing),
        cmocka_unit_test(test_accept_negotiated_no_cache),
        cmocka_unit_test(test_accept_wrong_cookie),
        cmocka_unit_test(test_accept_reply_sizes),
        cmocka_unit_test(test_accept_missing_flags),
        cmocka_unit_test(test_accept_digest_flag_only),
        cmocka_unit_test(test_accept_bad_names),
        cmocka_unit_test(test_accept_control_bytes_in_name),
        cmocka_unit_test(test_accept_name_me),
        cmocka_unit_test(test_accept_truncated_name_msg),
        cmocka_unit_test(test_accept_wrong_first_tag),
        cmocka_unit_test(test_accept_input_while_waiting_status),
        cmocka_unit_test(test_accept_status_texts),
        cmocka_unit_test(test_accept_alive_true),
        cmocka_unit_test(test_accept_alive_false),
        cmocka_unit_test(test_accept_old_name_and_complement),
        cmocka_unit_test(test_accept_old_name_refusals),
        cmocka_unit_test(test_initiator_name),
        cmocka_unit_test(test_initiator_ok),
        cmocka_unit_test(test_initiator_bad_ack),
        cmocka_unit_test(test_initiator_challenge_name_mismatch),
        cmocka_unit_test(test_initiator_challenge_missing_flags),
        cmocka_unit_test(test_initiator_statuses),
        cmocka_unit_test(test_both_roles_together),
        cmocka_unit_test(test_after_done),
        cmocka_unit_test(test_strstate),
        cmocka_unit_test(test_step_after_failure),
        cmocka_unit_test(test_init_rejects_long_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
