/*
 * Control messages (erl_dist_protocol "Protocol between Connected Nodes").
 */
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "dist_proto.h"

/* What a pid, name or ref field must hold. */
enum want { W_ANY, W_PID, W_ATOM, W_PID_OR_ATOM, W_REF, W_INT, W_TUPLE };

/* Shape of each control tuple: arity, payload, and where fields are. */
struct op_spec {
    uint8_t op;
    uint8_t arity;
    bool payload;
    int8_t from, to, ref, reason, id, token, gl, mfa, result;
    uint8_t from_want, to_want;
};

#define NO -1
static const struct op_spec specs[] = {
    {DOP_LINK, 3, false, 1, 2, NO, NO, NO, NO, NO, NO, NO, W_PID, W_PID},
    {DOP_SEND, 3, true, NO, 2, NO, NO, NO, NO, NO, NO, NO, W_ANY, W_PID},
    {DOP_EXIT, 4, false, 1, 2, NO, 3, NO, NO, NO, NO, NO, W_PID, W_PID},
    {DOP_UNLINK, 3, false, 1, 2, NO, NO, NO, NO, NO, NO, NO, W_PID, W_PID},
    {DOP_REG_SEND, 4, true, 1, 3, NO, NO, NO, NO, NO, NO, NO, W_PID, W_ATOM},
    {DOP_GROUP_LEADER, 3, false, 1, 2, NO, NO, NO, NO, NO, NO, NO, W_PID,
     W_PID},
    {DOP_EXIT2, 4, false, 1, 2, NO, 3, NO, NO, NO, NO, NO, W_PID, W_PID},
    {DOP_SEND_TT, 4, true, NO, 2, NO, NO, NO, 3, NO, NO, NO, W_ANY, W_PID},
    {DOP_EXIT_TT, 5, false, 1, 2, NO, 4, NO, 3, NO, NO, NO, W_PID, W_PID},
    {DOP_REG_SEND_TT, 5, true, 1, 3, NO, NO, NO, 4, NO, NO, NO, W_PID, W_ATOM},
    {DOP_EXIT2_TT, 5, false, 1, 2, NO, 4, NO, 3, NO, NO, NO, W_PID, W_PID},
    {DOP_MONITOR_P, 4, false, 1, 2, 3, NO, NO, NO, NO, NO, NO, W_PID,
     W_PID_OR_ATOM},
    {DOP_DEMONITOR_P, 4, false, 1, 2, 3, NO, NO, NO, NO, NO, NO, W_PID,
     W_PID_OR_ATOM},
    {DOP_MONITOR_P_EXIT, 5, false, 1, 2, 3, 4, NO, NO, NO, NO, NO,
     W_PID_OR_ATOM, W_PID},
    {DOP_SEND_SENDER, 3, true, 1, 2, NO, NO, NO, NO, NO, NO, NO, W_PID, W_PID},
    {DOP_SEND_SENDER_TT, 4, true, 1, 2, NO, NO, NO, 3, NO, NO, NO, W_PID,
     W_PID},
    {DOP_PAYLOAD_EXIT, 3, true, 1, 2, NO, NO, NO, NO, NO, NO, NO, W_PID, W_PID},
    {DOP_PAYLOAD_EXIT_TT, 4, true, 1, 2, NO, NO, NO, 3, NO, NO, NO, W_PID,
     W_PID},
    {DOP_PAYLOAD_EXIT2, 3, true, 1, 2, NO, NO, NO, NO, NO, NO, NO, W_PID,
     W_PID},
    {DOP_PAYLOAD_EXIT2_TT, 4, true, 1, 2, NO, NO, NO, 3, NO, NO, NO, W_PID,
     W_PID},
    {DOP_PAYLOAD_MONITOR_P_EXIT, 4, true, 1, 2, 3, NO, NO, NO, NO, NO, NO,
     W_PID_OR_ATOM, W_PID},
    {DOP_SPAWN_REQUEST, 6, true, 2, NO, 1, NO, NO, NO, 3, 4, NO, W_PID, W_ANY},
    {DOP_SPAWN_REQUEST_TT, 7, true, 2, NO, 1, NO, NO, 6, 3, 4, NO, W_PID,
     W_ANY},
    {DOP_SPAWN_REPLY, 5, false, NO, 2, 1, NO, 3, NO, NO, NO, 4, W_ANY, W_PID},
    {DOP_SPAWN_REPLY_TT, 6, false, NO, 2, 1, NO, 3, 5, NO, NO, 4, W_ANY, W_PID},
    {DOP_ALIAS_SEND, 3, true, 1, 2, NO, NO, NO, NO, NO, NO, NO, W_PID, W_REF},
    {DOP_ALIAS_SEND_TT, 4, true, 1, 2, NO, NO, NO, 3, NO, NO, NO, W_PID, W_REF},
    {DOP_UNLINK_ID, 4, false, 2, 3, NO, NO, 1, NO, NO, NO, NO, W_PID, W_PID},
    {DOP_UNLINK_ID_ACK, 4, false, 2, 3, NO, NO, 1, NO, NO, NO, NO, W_PID,
     W_PID},
};

const char *
ctl_opname(int op)
{
    switch (op) {
    case DOP_LINK:
        return "LINK";
    case DOP_SEND:
        return "SEND";
    case DOP_EXIT:
        return "EXIT";
    case DOP_UNLINK:
        return "UNLINK";
    case DOP_REG_SEND:
        return "REG_SEND";
    case DOP_GROUP_LEADER:
        return "GROUP_LEADER";
    case DOP_EXIT2:
        return "EXIT2";
    case DOP_SEND_TT:
        return "SEND_TT";
    case DOP_EXIT_TT:
        return "EXIT_TT";
    case DOP_REG_SEND_TT:
        return "REG_SEND_TT";
    case DOP_EXIT2_TT:
        return "EXIT2_TT";
    case DOP_MONITOR_P:
        return "MONITOR_P";
    case DOP_DEMONITOR_P:
        return "DEMONITOR_P";
    case DOP_MONITOR_P_EXIT:
        return "MONITOR_P_EXIT";
    case DOP_SEND_SENDER:
        return "SEND_SENDER";
    case DOP_SEND_SENDER_TT:
        return "SEND_SENDER_TT";
    case DOP_PAYLOAD_EXIT:
        return "PAYLOAD_EXIT";
    case DOP_PAYLOAD_EXIT_TT:
        return "PAYLOAD_EXIT_TT";
    case DOP_PAYLOAD_EXIT2:
        return "PAYLOAD_EXIT2";
    case DOP_PAYLOAD_EXIT2_TT:
        return "PAYLOAD_EXIT2_TT";
    case DOP_PAYLOAD_MONITOR_P_EXIT:
        return "PAYLOAD_MONITOR_P_EXIT";
    case DOP_SPAWN_REQUEST:
        return "SPAWN_REQUEST";
    case DOP_SPAWN_REQUEST_TT:
        return "SPAWN_REQUEST_TT";
    case DOP_SPAWN_REPLY:
        return "SPAWN_REPLY";
    case DOP_SPAWN_REPLY_TT:
        return "SPAWN_REPLY_TT";
    case DOP_ALIAS_SEND:
        return "ALIAS_SEND";
    case DOP_ALIAS_SEND_TT:
        return "ALIAS_SEND_TT";
    case DOP_UNLINK_ID:
        return "UNLINK_ID";
    case DOP_UNLINK_ID_ACK:
        return "UNLINK_ID_ACK";
    }
    return "unknown";
}

static bool
is_kind(const etf_term *t, enum want w)
{
    switch (w) {
    case W_ANY:
        return true;
    case W_PID:
        return t->kind == ETF_PID;
    case W_ATOM:
        return t->kind == ETF_ATOM;
    case W_PID_OR_ATOM:
        return t->kind == ETF_PID || t->kind == ETF_ATOM;
    case W_REF:
        return t->kind == ETF_REF;
    case W_INT:
        return t->kind == ETF_INT || t->kind == ETF_BIG;
    case W_TUPLE:
        return t->kind == ETF_TUPLE;
    }
    return false;
}

static const etf_term *
field(const etf_term *tuple, int i)
{
    return i < 0 ? NULL : &tuple->v.elems[i];
}

/* Decode one 131-prefixed term (or a bare one under a 'D' header). */
static etf_term *
term_at(etf_arena *a, const uint8_t *p, size_t len, size_t *used,
        const etf_atom_refs *refs, char *why, size_t whylen, const char *what,
        size_t base)
{
    /* Borrow: the frame outlives the terms, which die with dispatch. */
    etf_decode_opts o = {
        .no_version = refs != NULL, .refs = refs, .borrow = true};
    etf_error e;
    etf_term *t = etf_decode(a, p, len, &o, used, &e);

    if (t == NULL)
        snprintf(why, whylen, "%s at byte %zu: %s", what, base + e.pos, e.msg);
    return t;
}

int
ctl_parse(etf_arena *a, const uint8_t *p, size_t len, etf_atom_cache *cache,
          struct ctl_msg *m, char *why, size_t whylen)
{
    const struct op_spec *s = NULL;
    etf_atom_refs refs, *rp = NULL;
    etf_reader r;
    size_t off, used;
    const etf_term *t;
    size_t i;

    memset(m, 0, sizeof(*m));
    if (len >= 1 && p[0] == DIST_PASS_THROUGH) {
        off = 1;
    } else if (len >= 2 && p[0] == 131 && p[1] == 'D') {
        if (cache == NULL) {
            snprintf(why, whylen,
                     "distribution header, but no atom cache was agreed");
            return -1;
        }
        etf_reader_init(&r, p, len);
        r.pos = 1;
        if (etf_read_dist_header(&r, cache, &refs) < 0) {
            snprintf(why, whylen, "distribution header at byte %zu: %s",
                     r.err.pos, r.err.msg);
            return -1;
        }
        rp = &refs;
        off = r.pos;
    } else {
        snprintf(why, whylen, "frame starts with byte %u, not 112 or 131,68",
                 len ? p[0] : 0);
        return -1;
    }
    m->ctl = term_at(a, p + off, len - off, &used, rp, why, whylen,
                     "control message", off);
    if (m->ctl == NULL)
        return -1;
    off += used;
    t = m->ctl;
    if (t->kind != ETF_TUPLE || t->len < 1 || t->v.elems[0].kind != ETF_INT) {
        snprintf(why, whylen, "control message is not a tuple with an op");
        return -1;
    }
    /* Range first: a wide number must not truncate to a known op. */
    if (t->v.elems[0].v.i < 0 || t->v.elems[0].v.i > 255) {
        snprintf(why, whylen, "unknown control op %lld",
                 (long long)t->v.elems[0].v.i);
        return -1;
    }
    m->op = (int)t->v.elems[0].v.i;
    for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (specs[i].op == m->op)
            s = &specs[i];
    if (s == NULL) {
        snprintf(why, whylen, "unknown control op %d", m->op);
        return -1;
    }
    if (t->len != s->arity) {
        snprintf(why, whylen, "%s with %u elements, not %u", ctl_opname(m->op),
                 t->len, s->arity);
        return -1;
    }
    m->from = field(t, s->from);
    m->to = field(t, s->to);
    m->ref = field(t, s->ref);
    m->reason = field(t, s->reason);
    m->id = field(t, s->id);
    m->token = field(t, s->token);
    m->group_leader = field(t, s->gl);
    m->mfa = field(t, s->mfa);
    m->result = field(t, s->result);
    if ((m->from && !is_kind(m->from, s->from_want)) ||
        (m->to && !is_kind(m->to, s->to_want)) ||
        (m->group_leader && !is_kind(m->group_leader, W_PID)) ||
        (m->mfa && !is_kind(m->mfa, W_TUPLE)) ||
        (m->id && !is_kind(m->id, W_INT))) {
        snprintf(why, whylen, "%s has a field of the wrong type",
                 ctl_opname(m->op));
        return -1;
    }
    if (((m->op >= DOP_MONITOR_P && m->op <= DOP_MONITOR_P_EXIT) ||
         m->op == DOP_PAYLOAD_MONITOR_P_EXIT) &&
        m->ref->kind != ETF_REF) {
        snprintf(why, whylen, "%s without a reference", ctl_opname(m->op));
        return -1;
    }
    if (s->payload) {
        if (off >= len) {
            snprintf(why, whylen, "%s without its message", ctl_opname(m->op));
            return -1;
        }
        m->payload = term_at(a, p + off, len - off, &used, rp, why, whylen,
                             "message", off);
        if (m->payload == NULL)
            return -1;
        off += used;
        if (m->op == DOP_PAYLOAD_EXIT || m->op == DOP_PAYLOAD_EXIT_TT ||
            m->op == DOP_PAYLOAD_EXIT2 || m->op == DOP_PAYLOAD_EXIT2_TT ||
            m->op == DOP_PAYLOAD_MONITOR_P_EXIT)
            m->reason = m->payload;
    }
    if (off != len) {
        snprintf(why, whylen, "%zu bytes after the %s message", len - off,
                 ctl_opname(m->op));
        return -1;
    }
    return 0;
}

int
ctl_frame(etf_writer *w, const etf_term *ctl, const etf_term *msg)
{
    size_t start = w->pos, n;
    uint8_t head[5] = {0, 0, 0, 0, DIST_PASS_THROUGH};

    if (etf_write_raw(w, head, 5) < 0 || etf_encode(ctl, w, NULL) < 0 ||
        (msg != NULL && etf_encode(msg, w, NULL) < 0))
        return -1;
    n = w->pos - start - 4;
    if (n > UINT32_MAX)
        return -1;
    if (w->buf != NULL) {
        w->buf[start] = (uint8_t)(n >> 24);
        w->buf[start + 1] = (uint8_t)(n >> 16);
        w->buf[start + 2] = (uint8_t)(n >> 8);
        w->buf[start + 3] = (uint8_t)n;
    }
    return 0;
}
