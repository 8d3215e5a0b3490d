/*
 * The distribution handshake (erl_dist_protocol "Distribution Handshake",
 * dist_util.erl), both roles.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "dist_proto.h"
#include "handshake.h"
#include "log.h"

static const char *const status_text[] = {
    [HS_STATUS_OK] = "ok",
    [HS_STATUS_OK_SIMULTANEOUS] = "ok_simultaneous",
    [HS_STATUS_NOK] = "nok",
    [HS_STATUS_NOT_ALLOWED] = "not_allowed",
    [HS_STATUS_ALIVE] = "alive",
};

const char *
hs_strstate(enum hs_state s)
{
    switch (s) {
    case HS_RECV_NAME:
        return "recv_name";
    case HS_WAIT_STATUS:
        return "wait_status";
    case HS_RECV_STATUS_REPLY:
        return "recv_status_reply";
    case HS_RECV_COMPLEMENT:
        return "recv_complement";
    case HS_RECV_REPLY:
        return "recv_challenge_reply";
    case HS_RECV_STATUS:
        return "recv_status";
    case HS_RECV_CHALLENGE:
        return "recv_challenge";
    case HS_RECV_ACK:
        return "recv_challenge_ack";
    case HS_DONE:
        return "done";
    case HS_FAILED:
        return "failed";
    }
    return "?";
}

const char *
hs_step(const struct hs *h)
{
    return h->state == HS_FAILED ? "handshake" : hs_strstate(h->state);
}

static enum hs_result fail(struct hs *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void out_status(struct hs *h, enum hs_status st);

/* Record why the handshake failed at its current step. */
static enum hs_result
fail(struct hs *h, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(h->error, sizeof(h->error), "%s: ", hs_strstate(h->state));
    va_start(ap, fmt);
    vsnprintf(h->error + n, sizeof(h->error) - (size_t)n, fmt, ap);
    va_end(ap);
    h->state = HS_FAILED;
    return HS_FAIL;
}

static uint32_t
get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t
get64(const uint8_t *p)
{
    return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

/* Append a message: length prefix, then the pieces. */
static void
out_begin(struct hs *h, size_t *at)
{
    *at = h->outlen;
    h->outlen += h->pkt_len;
}

static void
out_bytes(struct hs *h, const void *p, size_t n)
{
    if (h->outlen + n <= sizeof(h->out)) {
        memcpy(h->out + h->outlen, p, n);
        h->outlen += n;
    }
}

static void
out_u8(struct hs *h, uint8_t v)
{
    out_bytes(h, &v, 1);
}

static void
out_u16(struct hs *h, uint32_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    out_bytes(h, b, 2);
}

static void
out_u32(struct hs *h, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};

    out_bytes(h, b, 4);
}

static void
out_end(struct hs *h, size_t at)
{
    size_t n = h->outlen - at - h->pkt_len;

    if (h->pkt_len == 2) {
        h->out[at] = (uint8_t)(n >> 8);
        h->out[at + 1] = (uint8_t)n;
    } else {
        h->out[at] = (uint8_t)(n >> 24);
        h->out[at + 1] = (uint8_t)(n >> 16);
        h->out[at + 2] = (uint8_t)(n >> 8);
        h->out[at + 3] = (uint8_t)n;
    }
}

void
hs_digest(const char *cookie, uint32_t challenge, uint8_t out[16])
{
    char num[16];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 16;
    int n = snprintf(num, sizeof(num), "%" PRIu32, challenge);

    /* An allocation failure leaves a digest that can never match. */
    memset(out, 0, 16);
    if (ctx == NULL)
        return;
    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, cookie, strlen(cookie)) != 1 ||
        EVP_DigestUpdate(ctx, num, (size_t)n) != 1 ||
        EVP_DigestFinal_ex(ctx, out, &len) != 1)
        memset(out, 0xFF, 16);
    EVP_MD_CTX_free(ctx);
}

uint64_t
hs_missing_flags(uint64_t peer_flags)
{
    if (peer_flags & DFLAG_MANDATORY_25_DIGEST)
        peer_flags |= DFLAG_MANDATORY_25;
    return DFLAG_WE_REQUIRE & ~peer_flags;
}

bool
hs_name_ok(const char *name, size_t len)
{
    const char *at = memchr(name, '@', len);
    size_t i, chars = 0;

    if (at == NULL || at == name || at == name + len - 1)
        return false;
    if (memchr(at + 1, '@', len - (size_t)(at - name) - 1) != NULL)
        return false;
    for (i = 0; i < len; i++) {
        /* No NUL, and no control bytes: names go into logs as they are
         * (a peer named "a@h\nforged line" would write log lines). */
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7F)
            return false;
        /* A node name is an atom: count characters, not bytes. */
        if (((unsigned char)name[i] & 0xC0) != 0x80)
            chars++;
    }
    return len <= HS_NAME_MAX && chars <= 255;
}

static int
common_init(struct hs *h, const char *name, uint64_t flags, uint32_t creation,
            const char *cookie, unsigned pkt_len)
{
    memset(h, 0, sizeof(*h));
    if (strlen(name) > HS_NAME_MAX)
        return -1;
    strcpy(h->name, name);
    h->flags = flags;
    h->creation = creation;
    h->cookie = cookie;
    h->pkt_len = pkt_len == 4 ? 4 : 2;
    if (RAND_bytes((unsigned char *)&h->challenge, sizeof(h->challenge)) != 1)
        return -1;
    return 0;
}

int
hs_init_acceptor(struct hs *h, const char *name, uint64_t flags,
                 uint32_t creation, const char *cookie, unsigned pkt_len)
{
    if (common_init(h, name, flags, creation, cookie, pkt_len) < 0)
        return -1;
    h->state = HS_RECV_NAME;
    return 0;
}

/* The 'N' message: send_name (initiator) and send_challenge (acceptor)
 * differ only in the challenge field. */
static void
send_new_name(struct hs *h, bool with_challenge)
{
    size_t at, n = strlen(h->name);

    out_begin(h, &at);
    out_u8(h, HS_TAG_NAME);
    out_u32(h, (uint32_t)(h->flags >> 32));
    out_u32(h, (uint32_t)h->flags);
    if (with_challenge)
        out_u32(h, h->challenge);
    out_u32(h, h->creation);
    out_u16(h, (uint32_t)n);
    out_bytes(h, h->name, n);
    out_end(h, at);
}

int
hs_init_initiator(struct hs *h, const char *name, uint64_t flags,
                  uint32_t creation, const char *cookie, const char *peer,
                  unsigned pkt_len)
{
    if (common_init(h, name, flags, creation, cookie, pkt_len) < 0 ||
        strlen(peer) > HS_NAME_MAX)
        return -1;
    h->initiator = true;
    strcpy(h->peer_name, peer);
    send_new_name(h, false);
    h->state = HS_RECV_STATUS;
    return 0;
}

/* Copy and check a peer's node name. */
static enum hs_result
take_peer_name(struct hs *h, const uint8_t *p, size_t n)
{
    char esc[LOG_ESCAPE_SIZE(64)];

    if (n > HS_NAME_MAX || !hs_name_ok((const char *)p, n)) {
        log_escape(p, n, esc, sizeof(esc));
        if (memchr(p, '@', n) == NULL && n > 0)
            return fail(h,
                        "peer \"%s\" asks for a dynamic name, which this "
                        "node does not hand out",
                        esc);
        return fail(h, "bad node name \"%s\"", esc);
    }
    memcpy(h->peer_name, p, n);
    h->peer_name[n] = '\0';
    return HS_CONTINUE;
}

static enum hs_result
recv_name(struct hs *h, const uint8_t *m, size_t len)
{
    uint64_t missing;
    size_t n;

    if (len >= 1 && m[0] == HS_TAG_NAME) {
        /* 'N' Flags:64 Creation:32 Nlen:16 Name [extra ignored] */
        if (len < 15)
            return fail(h, "name message of %zu bytes is too short", len);
        h->peer_flags = get64(m + 1);
        h->peer_creation = get32(m + 9);
        n = ((size_t)m[13] << 8) | m[14];
        if (n > len - 15)
            return fail(h, "name length %zu runs past the message", n);
        if (take_peer_name(h, m + 15, n) != HS_CONTINUE)
            return HS_FAIL;
    } else if (len >= 1 && m[0] == HS_TAG_NAME_OLD) {
        /* 'n' Version:16 Flags:32 Name (rest) */
        if (len < 7)
            return fail(h, "old name message of %zu bytes is too short", len);
        if ((((unsigned)m[1] << 8) | m[2]) != DIST_VERSION_5)
            return fail(h, "old name message with version %u",
                        ((unsigned)m[1] << 8) | m[2]);
        h->peer_flags = get32(m + 3);
        if (!(h->peer_flags & DFLAG_HANDSHAKE_23))
            return fail(h, "peer speaks neither the OTP 23 handshake nor "
                           "sends the complement");
        h->peer_old = true;
        if (take_peer_name(h, m + 7, len - 7) != HS_CONTINUE)
            return HS_FAIL;
    } else {
        return fail(h, "expected a name message, got tag %u", len ? m[0] : 0);
    }
    if (h->peer_flags & DFLAG_NAME_ME)
        return fail(h, "peer asks for a dynamic name");
    /* An old-style peer's high flags come with its complement. */
    missing = hs_missing_flags(h->peer_flags);
    if (h->peer_old)
        missing &= 0xFFFFFFFFULL;
    if (missing != 0) {
        /* Answer as OTP does, and fail at this step (not in hs_status,
         * which would name the step "failed"). */
        out_status(h, HS_STATUS_NOT_ALLOWED);
        return fail(h, "peer %s lacks required flags 0x%" PRIx64, h->peer_name,
                    missing);
    }
    h->state = HS_WAIT_STATUS;
    return HS_ASK_STATUS;
}

static void
send_challenge(struct hs *h)
{
    send_new_name(h, true);
    h->state = h->peer_old ? HS_RECV_COMPLEMENT : HS_RECV_REPLY;
}

/* Append the 's' status message. */
static void
out_status(struct hs *h, enum hs_status st)
{
    size_t at;
    const char *text = status_text[st];

    out_begin(h, &at);
    out_u8(h, HS_TAG_STATUS);
    out_bytes(h, text, strlen(text));
    out_end(h, at);
}

enum hs_result
hs_status(struct hs *h, enum hs_status st)
{
    if (h->state != HS_WAIT_STATUS && !(st == HS_STATUS_NOT_ALLOWED))
        return fail(h, "status asked in the wrong state");
    out_status(h, st);
    switch (st) {
    case HS_STATUS_OK:
    case HS_STATUS_OK_SIMULTANEOUS:
        send_challenge(h);
        return HS_CONTINUE;
    case HS_STATUS_ALIVE:
        h->state = HS_RECV_STATUS_REPLY;
        return HS_CONTINUE;
    case HS_STATUS_NOK:
        return fail(h, "refused %s: a simultaneous connection wins",
                    h->peer_name);
    case HS_STATUS_NOT_ALLOWED:
        break;
    }
    return fail(h, "refused %s: not allowed", h->peer_name);
}

static enum hs_result
recv_status_reply(struct hs *h, const uint8_t *m, size_t len)
{
    if (len == 5 && memcmp(m, "strue", 5) == 0) {
        send_challenge(h);
        return HS_CONTINUE;
    }
    if (len == 6 && memcmp(m, "sfalse", 6) == 0)
        return fail(h, "peer %s gave up its pending connection", h->peer_name);
    return fail(h, "expected 'true' or 'false' from %s", h->peer_name);
}

static enum hs_result
recv_complement(struct hs *h, const uint8_t *m, size_t len)
{
    uint64_t missing;

    if (len != 9 || m[0] != HS_TAG_COMPLEMENT)
        return fail(h, "expected a 9-byte complement, got %zu bytes", len);
    h->peer_flags |= (uint64_t)get32(m + 1) << 32;
    h->peer_creation = get32(m + 5);
    if ((missing = hs_missing_flags(h->peer_flags)) != 0)
        return fail(h, "peer %s lacks required flags 0x%" PRIx64, h->peer_name,
                    missing);
    h->state = HS_RECV_REPLY;
    return HS_CONTINUE;
}

static enum hs_result
recv_reply(struct hs *h, const uint8_t *m, size_t len)
{
    uint8_t want[16];
    size_t at;

    if (len != 21 || m[0] != HS_TAG_REPLY)
        return fail(h, "expected a 21-byte challenge reply, got %zu bytes",
                    len);
    hs_digest(h->cookie, h->challenge, want);
    if (CRYPTO_memcmp(want, m + 5, 16) != 0)
        return fail(h, "digest from %s does not match: the cookies differ",
                    h->peer_name);
    h->peer_challenge = get32(m + 1);
    hs_digest(h->cookie, h->peer_challenge, want);
    out_begin(h, &at);
    out_u8(h, HS_TAG_ACK);
    out_bytes(h, want, 16);
    out_end(h, at);
    h->negotiated = h->flags & h->peer_flags;
    h->state = HS_DONE;
    return HS_COMPLETE;
}

static enum hs_result
recv_status(struct hs *h, const uint8_t *m, size_t len)
{
    size_t at;

    if (len < 1 || m[0] != HS_TAG_STATUS)
        return fail(h, "expected a status message, got tag %u", len ? m[0] : 0);
    if ((len == 3 && memcmp(m + 1, "ok", 2) == 0) ||
        (len == 16 && memcmp(m + 1, "ok_simultaneous", 15) == 0)) {
        h->state = HS_RECV_CHALLENGE;
        return HS_CONTINUE;
    }
    if (len == 6 && memcmp(m + 1, "alive", 5) == 0) {
        /* We still want this connection. */
        out_begin(h, &at);
        out_bytes(h, "strue", 5);
        out_end(h, at);
        h->state = HS_RECV_CHALLENGE;
        return HS_CONTINUE;
    }
    if (len == 4 && memcmp(m + 1, "nok", 3) == 0)
        return fail(h, "%s answered nok: its own connection to us wins",
                    h->peer_name);
    if (len == 12 && memcmp(m + 1, "not_allowed", 11) == 0)
        return fail(h, "%s answered not_allowed (flags or allow list)",
                    h->peer_name);
    return fail(h, "%s answered an unknown status", h->peer_name);
}

static enum hs_result
recv_challenge(struct hs *h, const uint8_t *m, size_t len)
{
    uint8_t digest[16];
    uint64_t missing;
    size_t n, at;

    if (len < 19 || m[0] != HS_TAG_NAME)
        return fail(h, "expected a challenge of 19 bytes or more, got %zu",
                    len);
    h->peer_flags = get64(m + 1);
    h->peer_challenge = get32(m + 9);
    h->peer_creation = get32(m + 13);
    n = ((size_t)m[17] << 8) | m[18];
    if (n != len - 19 || n != strlen(h->peer_name) ||
        memcmp(m + 19, h->peer_name, n) != 0) {
        char esc[LOG_ESCAPE_SIZE(64)];

        log_escape(m + 19, n <= len - 19 ? n : len - 19, esc, sizeof(esc));
        return fail(h, "dialled %s but the peer calls itself \"%s\"",
                    h->peer_name, esc);
    }
    if ((missing = hs_missing_flags(h->peer_flags)) != 0)
        return fail(h, "peer %s lacks required flags 0x%" PRIx64, h->peer_name,
                    missing);
    hs_digest(h->cookie, h->peer_challenge, digest);
    out_begin(h, &at);
    out_u8(h, HS_TAG_REPLY);
    out_u32(h, h->challenge);
    out_bytes(h, digest, 16);
    out_end(h, at);
    h->state = HS_RECV_ACK;
    return HS_CONTINUE;
}

static enum hs_result
recv_ack(struct hs *h, const uint8_t *m, size_t len)
{
    uint8_t want[16];

    if (len != 17 || m[0] != HS_TAG_ACK)
        return fail(h, "expected a 17-byte challenge ack, got %zu bytes", len);
    hs_digest(h->cookie, h->challenge, want);
    if (CRYPTO_memcmp(want, m + 1, 16) != 0)
        return fail(h,
                    "ack digest from %s does not match: the cookies "
                    "differ",
                    h->peer_name);
    h->negotiated = h->flags & h->peer_flags;
    h->state = HS_DONE;
    return HS_COMPLETE;
}

enum hs_result
hs_input(struct hs *h, const uint8_t *msg, size_t len)
{
    h->outlen = 0;
    switch (h->state) {
    case HS_RECV_NAME:
        return recv_name(h, msg, len);
    case HS_RECV_STATUS_REPLY:
        return recv_status_reply(h, msg, len);
    case HS_RECV_COMPLEMENT:
        return recv_complement(h, msg, len);
    case HS_RECV_REPLY:
        return recv_reply(h, msg, len);
    case HS_RECV_STATUS:
        return recv_status(h, msg, len);
    case HS_RECV_CHALLENGE:
        return recv_challenge(h, msg, len);
    case HS_RECV_ACK:
        return recv_ack(h, msg, len);
    case HS_WAIT_STATUS:
        return fail(h, "message before the status was decided");
    case HS_DONE:
    case HS_FAILED:
        break;
    }
    return fail(h, "message after the handshake ended");
}
