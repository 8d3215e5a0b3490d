/*
 * Control messages: parse pass-through and 'D'-header frames into checked
 * tuples, write frames, and refuse every malformed shape. The otp_*
 * frames are 112 followed by term_to_binary/1 of the control tuple and
 * message, made on an OTP 25 node a@vm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control.h"
#include "dist_proto.h"
#include "etf.h"

/* {6,<0.9.0>,'',net_kernel} +
 * {'$gen_call',{<0.9.0>,[alias|Ref]},{is_auth,a@vm}} */
static const uint8_t otp_reg_send[] = {
    112, 131, 104, 4,   97,  6,   88,  100, 0,   4,   97,  64,  118, 109,
    0,   0,   0,   9,   0,   0,   0,   0,   107, 4,   69,  95,  100, 0,
    0,   100, 0,   10,  110, 101, 116, 95,  107, 101, 114, 110, 101, 108,
    131, 104, 3,   100, 0,   9,   36,  103, 101, 110, 95,  99,  97,  108,
    108, 104, 2,   88,  100, 0,   4,   97,  64,  118, 109, 0,   0,   0,
    9,   0,   0,   0,   0,   107, 4,   69,  95,  108, 0,   0,   0,   1,
    100, 0,   5,   97,  108, 105, 97,  115, 90,  0,   3,   100, 0,   4,
    97,  64,  118, 109, 107, 4,   69,  95,  0,   2,   163, 181, 168, 28,
    0,   1,   58,  155, 145, 54,  104, 2,   100, 0,   7,   105, 115, 95,
    97,  117, 116, 104, 100, 0,   4,   97,  64,  118, 109};
/* {19,<0.9.0>,net_kernel,Ref} */
static const uint8_t otp_monitor_p[] = {
    112, 131, 104, 4,   97,  19,  88, 100, 0,   4,   97,  64,  118,
    109, 0,   0,   0,   9,   0,   0,  0,   0,   107, 4,   69,  95,
    100, 0,   10,  110, 101, 116, 95, 107, 101, 114, 110, 101, 108,
    90,  0,   3,   100, 0,   4,   97, 64,  118, 109, 107, 4,   69,
    95,  0,   2,   163, 181, 168, 28, 0,   1,   58,  155, 145, 54};
/* {22,<0.9.0>,<0.85.0>} + {"hello",<<1,2,3>>,3.5,#{a => 1}} */
static const uint8_t otp_send_sender[] = {
    112, 131, 104, 3,   97,  22, 88, 100, 0,   4,   97,  64,  118, 109, 0,
    0,   0,   9,   0,   0,   0,  0,  107, 4,   69,  95,  88,  100, 0,   4,
    97,  64,  118, 109, 0,   0,  0,  85,  0,   0,   0,   0,   107, 4,   69,
    95,  131, 104, 4,   107, 0,  5,  104, 101, 108, 108, 111, 109, 0,   0,
    0,   3,   1,   2,   3,   70, 64, 12,  0,   0,   0,   0,   0,   0,   116,
    0,   0,   0,   1,   100, 0,  1,  97,  97,  1};
/* {1,<0.9.0>,<0.85.0>} */
static const uint8_t otp_link[] = {
    112, 131, 104, 3, 97, 1,  88,  100, 0,  4,  97,  64,  118, 109, 0,  0,
    0,   9,   0,   0, 0,  0,  107, 4,   69, 95, 88,  100, 0,   4,   97, 64,
    118, 109, 0,   0, 0,  85, 0,   0,   0,  0,  107, 4,   69,  95};
/* {35,4,<0.9.0>,<0.85.0>} */
static const uint8_t otp_unlink_id[] = {
    112, 131, 104, 4,   97, 35, 97, 4,  88,  100, 0,  4,  97,  64,  118, 109,
    0,   0,   0,   9,   0,  0,  0,  0,  107, 4,   69, 95, 88,  100, 0,   4,
    97,  64,  118, 109, 0,  0,  0,  85, 0,   0,   0,  0,  107, 4,   69,  95};
/* {29,Ref,<0.9.0>,<0.85.0>,{erpc,execute_call,4},[monitor]} +
 * [Ref,lists,reverse,[[1,2,3]]] */
static const uint8_t otp_spawn_request[] = {
    112, 131, 104, 6,   97,  29,  90,  0,   3,   100, 0,   4,   97,  64,  118,
    109, 107, 4,   69,  95,  0,   2,   163, 181, 168, 28,  0,   1,   58,  155,
    145, 54,  88,  100, 0,   4,   97,  64,  118, 109, 0,   0,   0,   9,   0,
    0,   0,   0,   107, 4,   69,  95,  88,  100, 0,   4,   97,  64,  118, 109,
    0,   0,   0,   85,  0,   0,   0,   0,   107, 4,   69,  95,  104, 3,   100,
    0,   4,   101, 114, 112, 99,  100, 0,   12,  101, 120, 101, 99,  117, 116,
    101, 95,  99,  97,  108, 108, 97,  4,   108, 0,   0,   0,   1,   100, 0,
    7,   109, 111, 110, 105, 116, 111, 114, 106, 131, 108, 0,   0,   0,   4,
    90,  0,   3,   100, 0,   4,   97,  64,  118, 109, 107, 4,   69,  95,  0,
    2,   163, 181, 168, 28,  0,   1,   58,  155, 145, 54,  100, 0,   5,   108,
    105, 115, 116, 115, 100, 0,   7,   114, 101, 118, 101, 114, 115, 101, 108,
    0,   0,   0,   1,   107, 0,   3,   1,   2,   3,   106, 106};
/* {26,<0.9.0>,<0.85.0>} + kill */
static const uint8_t otp_payload_exit2[] = {
    112, 131, 104, 3,  97,  26,  88, 100, 0,   4,   97,  64, 118, 109,
    0,   0,   0,   9,  0,   0,   0,  0,   107, 4,   69,  95, 88,  100,
    0,   4,   97,  64, 118, 109, 0,  0,   0,   85,  0,   0,  0,   0,
    107, 4,   69,  95, 131, 100, 0,  4,   107, 105, 108, 108};
/* {33,<0.9.0>,Ref} + {reply,1 bsl 70} */
static const uint8_t otp_alias_send[] = {
    112, 131, 104, 3,   97,  33,  88,  100, 0,   4,  97,  64, 118, 109, 0,
    0,   0,   9,   0,   0,   0,   0,   107, 4,   69, 95,  90, 0,   3,   100,
    0,   4,   97,  64,  118, 109, 107, 4,   69,  95, 0,   2,  163, 181, 168,
    28,  0,   1,   58,  155, 145, 54,  131, 104, 2,  100, 0,  5,   114, 101,
    112, 108, 121, 110, 9,   0,   0,   0,   0,   0,  0,   0,  0,   0,   64};

struct otp_frame {
    const char *name;
    const uint8_t *p;
    size_t len;
    int op;
    bool payload;
};

#define F(n, op, pl)                                                           \
    {                                                                          \
#n, n, sizeof(n), op, pl                                               \
    }
static const struct otp_frame otp_frames[] = {
    F(otp_reg_send, DOP_REG_SEND, true),
    F(otp_monitor_p, DOP_MONITOR_P, false),
    F(otp_send_sender, DOP_SEND_SENDER, true),
    F(otp_link, DOP_LINK, false),
    F(otp_unlink_id, DOP_UNLINK_ID, false),
    F(otp_spawn_request, DOP_SPAWN_REQUEST, true),
    F(otp_payload_exit2, DOP_PAYLOAD_EXIT2, true),
    F(otp_alias_send, DOP_ALIAS_SEND, true),
};
#undef F

static int
setup(void **state)
{
    *state = etf_arena_new();
    return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    etf_arena_free(*state);
    return 0;
}

static etf_term *
parse_text(etf_arena *a, const char *text)
{
    etf_error err;
    etf_term *t = etf_parse(a, text, strlen(text), &err);

    assert_non_null(t);
    return t;
}

static void
set_atom(etf_arena *a, etf_term *t, const char *s)
{
    assert_int_equal(etf_set_atom(a, t, s, strlen(s)), 0);
}

static void
make_pid(etf_arena *a, etf_term *t, const char *node, uint32_t id)
{
    etf_pid *p = etf_set_pid(a, t);

    assert_non_null(p);
    set_atom(a, &p->node, node);
    p->id = id;
    p->serial = 0;
    p->creation = 0x12345678;
}

static void
make_ref(etf_arena *a, etf_term *t, const char *node, uint32_t w)
{
    etf_ref *r = etf_set_ref(a, t);

    assert_non_null(r);
    set_atom(a, &r->node, node);
    r->creation = 0x12345678;
    r->len = 3;
    r->id[0] = w;
    r->id[1] = 2;
    r->id[2] = 3;
}

/* Write ctl (+ msg) with ctl_frame into a fresh malloc'd buffer. */
static uint8_t *
write_frame(const etf_term *ctl, const etf_term *msg, size_t *len)
{
    etf_writer w;

    assert_int_equal(etf_writer_init_dynamic(&w, 64), 0);
    assert_int_equal(ctl_frame(&w, ctl, msg), 0);
    return etf_writer_release(&w, len);
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void
test_opnames(void **state)
{
    static const struct {
        int op;
        const char *name;
    } names[] = {
        {DOP_LINK, "LINK"},
        {DOP_SEND, "SEND"},
        {DOP_EXIT, "EXIT"},
        {DOP_UNLINK, "UNLINK"},
        {DOP_REG_SEND, "REG_SEND"},
        {DOP_GROUP_LEADER, "GROUP_LEADER"},
        {DOP_EXIT2, "EXIT2"},
        {DOP_SEND_TT, "SEND_TT"},
        {DOP_EXIT_TT, "EXIT_TT"},
        {DOP_REG_SEND_TT, "REG_SEND_TT"},
        {DOP_EXIT2_TT, "EXIT2_TT"},
        {DOP_MONITOR_P, "MONITOR_P"},
        {DOP_DEMONITOR_P, "DEMONITOR_P"},
        {DOP_MONITOR_P_EXIT, "MONITOR_P_EXIT"},
        {DOP_SEND_SENDER, "SEND_SENDER"},
        {DOP_SEND_SENDER_TT, "SEND_SENDER_TT"},
        {DOP_PAYLOAD_EXIT, "PAYLOAD_EXIT"},
        {DOP_PAYLOAD_EXIT_TT, "PAYLOAD_EXIT_TT"},
        {DOP_PAYLOAD_EXIT2, "PAYLOAD_EXIT2"},
        {DOP_PAYLOAD_EXIT2_TT, "PAYLOAD_EXIT2_TT"},
        {DOP_PAYLOAD_MONITOR_P_EXIT, "PAYLOAD_MONITOR_P_EXIT"},
        {DOP_SPAWN_REQUEST, "SPAWN_REQUEST"},
        {DOP_SPAWN_REQUEST_TT, "SPAWN_REQUEST_TT"},
        {DOP_SPAWN_REPLY, "SPAWN_REPLY"},
        {DOP_SPAWN_REPLY_TT, "SPAWN_REPLY_TT"},
        {DOP_ALIAS_SEND, "ALIAS_SEND"},
        {DOP_ALIAS_SEND_TT, "ALIAS_SEND_TT"},
        {DOP_UNLINK_ID, "UNLINK_ID"},
        {DOP_UNLINK_ID_ACK, "UNLINK_ID_ACK"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_string_equal(ctl_opname(names[i].op), names[i].name);
    assert_string_equal(ctl_opname(5), "unknown");
    assert_string_equal(ctl_opname(99), "unknown");
}

/* OTP's frames parse, and ctl_frame writes them back byte for byte. */
static void
test_otp_frames(void **state)
{
    etf_arena *a = *state;
    struct ctl_msg m;
    char why[256];
    uint8_t *out;
    size_t i, len;

    for (i = 0; i < sizeof(otp_frames) / sizeof(otp_frames[0]); i++) {
        const struct otp_frame *f = &otp_frames[i];

        etf_arena_reset(a);
        if (ctl_parse(a, f->p, f->len, NULL, &m, why, sizeof(why)) != 0)
            fail_msg("%s: %s", f->name, why);
        assert_int_equal(m.op, f->op);
        assert_int_equal(m.payload != NULL, f->payload);
        out = write_frame(m.ctl, m.payload, &len);
        assert_int_equal(len, f->len + 4);
        assert_int_equal(be32(out), f->len);
        assert_memory_equal(out + 4, f->p, f->len);
        free(out);
    }
}

static void
test_otp_reg_send_fields(void **state)
{
    etf_arena *a = *state;
    struct ctl_msg m;
    char why[256];
    const etf_term *p, *tag;

    assert_int_equal(ctl_parse(a, otp_reg_send, sizeof(otp_reg_send), NULL, &m,
                               why, sizeof(why)),
                     0);
    assert_int_equal(m.from->kind, ETF_PID);
    assert_string_equal(m.from->v.pid->node.v.str, "a@vm");
    assert_int_equal(m.from->v.pid->id, 9);
    assert_int_equal(m.to->kind, ETF_ATOM);
    assert_string_equal(m.to->v.str, "net_kernel");
    assert_null(m.ref);
    assert_null(m.reason);
    /* {'$gen_call', {Pid, [alias|Ref]}, {is_auth, a@vm}}: the tag is an
     * improper list and must survive as one. */
    p = m.payload;
    assert_int_equal(p->kind, ETF_TUPLE);
    assert_int_equal(p->len, 3);
    tag = &p->v.elems[1].v.elems[1];
    assert_int_equal(tag->kind, ETF_LIST);
    assert_int_equal(tag->len, 1);
    assert_string_equal(tag->v.elems[0].v.str, "alias");
    assert_int_equal(tag->v.elems[1].kind, ETF_REF);
}

static void
test_otp_other_fields(void **state)
{
    etf_arena *a = *state;
    struct ctl_msg m;
    char why[256];

    assert_int_equal(ctl_parse(a, otp_monitor_p, sizeof(otp_monitor_p), NULL,
                               &m, why, sizeof(why)),
                     0);
    assert_int_equal(m.ref->kind, ETF_REF);
    assert_string_equal(m.to->v.str, "net_kernel");
    assert_null(m.payload);

    assert_int_equal(ctl_parse(a, otp_unlink_id, sizeof(otp_unlink_id), NULL,
                               &m, why, sizeof(why)),
                     0);
    assert_int_equal(m.id->kind, ETF_INT);
    assert_int_equal(m.id->v.i, 4);
    assert_int_equal(m.from->v.pid->id, 9);
    assert_int_equal(m.to->v.pid->id, 85);

    assert_int_equal(ctl_parse(a, otp_spawn_request, sizeof(otp_spawn_request),
                               NULL, &m, why, sizeof(why)),
                     0);
    assert_int_equal(m.ref->kind, ETF_REF);
    assert_int_equal(m.from->v.pid->id, 9);
    assert_int_equal(m.group_leader->v.pid->id, 85);
    assert_int_equal(m.mfa->kind, ETF_TUPLE);
    assert_string_equal(m.mfa->v.elems[1].v.str, "execute_call");
    assert_int_equal(m.payload->kind, ETF_LIST);

    assert_int_equal(ctl_parse(a, otp_payload_exit2, sizeof(otp_payload_exit2),
                               NULL, &m, why, sizeof(why)),
                     0);
    /* The payload of an exit is its reason. */
    assert_ptr_equal(m.reason, m.payload);
    assert_string_equal(m.reason->v.str, "kill");

    assert_int_equal(ctl_parse(a, otp_alias_send, sizeof(otp_alias_send), NULL,
                               &m, why, sizeof(why)),
                     0);
    assert_int_equal(m.to->kind, ETF_REF);
    assert_int_equal(m.payload->v.elems[1].kind, ETF_BIG);
}

/* Every op, built here: parse finds the op and every field in its place. */
static void
test_every_op(void **state)
{
    etf_arena *a = *state;
    etf_term P, Q, R, A, I, T, GL, MFA, RES, REASON, ctl, *e, *msg;
    struct ctl_msg m;
    char why[256];
    uint8_t *out;
    size_t len, i, k;
    /* For each op: elements after the op (by letter) and whether a payload
     * follows. P/Q pids, A atom, R ref, I id, T token, G group leader,
     * M mfa, S result, X reason, '_' the unused ''. */
    static const struct {
        int op;
        const char *shape;
        bool payload;
        char from, to, ref, reason, id, token;
    } ops[] = {
        {DOP_LINK, "PQ", false, 'P', 'Q', 0, 0, 0, 0},
        {DOP_SEND, "_Q", true, 0, 'Q', 0, 0, 0, 0},
        {DOP_EXIT, "PQX", false, 'P', 'Q', 0, 'X', 0, 0},
        {DOP_UNLINK, "PQ", false, 'P', 'Q', 0, 0, 0, 0},
        {DOP_REG_SEND, "P_A", true, 'P', 'A', 0, 0, 0, 0},
        {DOP_GROUP_LEADER, "PQ", false, 'P', 'Q', 0, 0, 0, 0},
        {DOP_EXIT2, "PQX", false, 'P', 'Q', 0, 'X', 0, 0},
        {DOP_SEND_TT, "_QT", true, 0, 'Q', 0, 0, 0, 'T'},
        {DOP_EXIT_TT, "PQTX", false, 'P', 'Q', 0, 'X', 0, 'T'},
        {DOP_REG_SEND_TT, "P_AT", true, 'P', 'A', 0, 0, 0, 'T'},
        {DOP_EXIT2_TT, "PQTX", false, 'P', 'Q', 0, 'X', 0, 'T'},
        {DOP_MONITOR_P, "PAR", false, 'P', 'A', 'R', 0, 0, 0},
        {DOP_MONITOR_P, "PQR", false, 'P', 'Q', 'R', 0, 0, 0},
        {DOP_DEMONITOR_P, "PAR", false, 'P', 'A', 'R', 0, 0, 0},
        {DOP_MONITOR_P_EXIT, "AQRX", false, 'A', 'Q', 'R', 'X', 0, 0},
        {DOP_MONITOR_P_EXIT, "PQRX", false, 'P', 'Q', 'R', 'X', 0, 0},
        {DOP_SEND_SENDER, "PQ", true, 'P', 'Q', 0, 0, 0, 0},
        {DOP_SEND_SENDER_TT, "PQT", true, 'P', 'Q', 0, 0, 0, 'T'},
        {DOP_PAYLOAD_EXIT, "PQ", true, 'P', 'Q', 0, 0, 0, 0},
        {DOP_PAYLOAD_EXIT_TT, "PQT", true, 'P', 'Q', 0, 0, 0, 'T'},
        {DOP_PAYLOAD_EXIT2, "PQ", true, 'P', 'Q', 0, 0, 0, 0},
        {DOP_PAYLOAD_EXIT2_TT, "PQT", true, 'P', 'Q', 0, 0, 0, 'T'},
        {DOP_PAYLOAD_MONITOR_P_EXIT, "PQR", true, 'P', 'Q', 'R', 0, 0, 0},
        {DOP_SPAWN_REQUEST, "RPGML", true, 'P', 0, 'R', 0, 0, 0},
        {DOP_SPAWN_REQUEST_TT, "RPGMLT", true, 'P', 0, 'R', 0, 0, 'T'},
        {DOP_SPAWN_REPLY, "RQIS", false, 0, 'Q', 'R', 0, 'I', 0},
        {DOP_SPAWN_REPLY_TT, "RQIST", false, 0, 'Q', 'R', 0, 'I', 'T'},
        {DOP_ALIAS_SEND, "PR", true, 'P', 'R', 0, 0, 0, 0},
        {DOP_ALIAS_SEND_TT, "PRT", true, 'P', 'R', 0, 0, 0, 'T'},
        {DOP_UNLINK_ID, "IPQ", false, 'P', 'Q', 0, 0, 'I', 0},
        {DOP_UNLINK_ID_ACK, "IPQ", false, 'P', 'Q', 0, 0, 'I', 0},
    };

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        const char *shape = ops[i].shape;
        const etf_term *want;

        etf_arena_reset(a);
        make_pid(a, &P, "a@vm", 9);
        make_pid(a, &Q, "gw@vm", 3);
        make_ref(a, &R, "a@vm", 77);
        make_pid(a, &GL, "a@vm", 1);
        set_atom(a, &A, "inbox");
        etf_set_int(&I, 123456789);
        T = *parse_text(a, "{seq, 7}");
        MFA = *parse_text(a, "{erpc, execute_call, 4}");
        RES = *parse_text(a, "notsup");
        REASON = *parse_text(a, "{shutdown, <<\"bye\">>}");
        msg = parse_text(a, "{hello, [1, 2 | 3], #{k => 1.5}}");
        e = etf_set_tuple(a, &ctl, (uint32_t)strlen(shape) + 1);
        etf_set_int(&e[0], ops[i].op);
        for (k = 0; shape[k]; k++) {
            etf_term *x = &e[k + 1];

            switch (shape[k]) {
            case 'P':
                *x = P;
                break;
            case 'Q':
                *x = Q;
                break;
            case 'R':
                *x = R;
                break;
            case 'A':
                *x = A;
                break;
            case 'I':
                *x = I;
                break;
            case 'T':
                *x = T;
                break;
            case 'G':
                *x = GL;
                break;
            case 'M':
                *x = MFA;
                break;
            case 'S':
                *x = RES;
                break;
            case 'X':
                *x = REASON;
                break;
            case 'L':
                *x = *parse_text(a, "[monitor]");
                break;
            case '_':
                set_atom(a, x, "");
                break;
            }
        }
        out = write_frame(&ctl, ops[i].payload ? msg : NULL, &len);
        assert_int_equal(be32(out), len - 4);
        assert_int_equal(out[4], DIST_PASS_THROUGH);
        assert_int_equal(out[5], 131);
        if (ctl_parse(a, out + 4, len - 4, NULL, &m, why, sizeof(why)) != 0)
            fail_msg("%s: %s", ctl_opname(ops[i].op), why);
        assert_int_equal(m.op, ops[i].op);
        assert_true(etf_equal(m.ctl, &ctl));
        if (ops[i].payload) {
            assert_non_null(m.payload);
            assert_true(etf_equal(m.payload, msg));
        } else {
            assert_null(m.payload);
        }
#define CHECK(field, letter)                                                   \
    do {                                                                       \
        char l_ = (letter);                                                    \
        want = l_ == 'P'   ? &P                                                \
               : l_ == 'Q' ? &Q                                                \
               : l_ == 'R' ? &R                                                \
               : l_ == 'A' ? &A                                                \
               : l_ == 'I' ? &I                                                \
               : l_ == 'T' ? &T                                                \
               : l_ == 'X' ? &REASON                                           \
                           : NULL;                                             \
        if (want == NULL)                                                      \
            assert_null(m.field);                                              \
        else {                                                                 \
            assert_non_null(m.field);                                          \
            assert_true(etf_equal(m.field, want));                             \
        }                                                                      \
    } while (0)
        CHECK(from, ops[i].from);
        CHECK(to, ops[i].to);
        CHECK(ref, ops[i].ref);
        CHECK(id, ops[i].id);
        CHECK(token, ops[i].token);
        if (ops[i].reason)
            CHECK(reason, ops[i].reason);
        else if (ops[i].op >= DOP_PAYLOAD_EXIT &&
                 ops[i].op <= DOP_PAYLOAD_MONITOR_P_EXIT)
            assert_ptr_equal(m.reason, m.payload);
        else
            assert_null(m.reason);
#undef CHECK
        if (ops[i].op == DOP_SPAWN_REQUEST ||
            ops[i].op == DOP_SPAWN_REQUEST_TT) {
            assert_true(etf_equal(m.group_leader, &GL));
            assert_true(etf_equal(m.mfa, &MFA));
        } else {
            assert_null(m.group_leader);
            assert_null(m.mfa);
        }
        if (ops[i].op == DOP_SPAWN_REPLY || ops[i].op == DOP_SPAWN_REPLY_TT)
            assert_true(etf_equal(m.result, &RES));
        else
            assert_null(m.result);
        free(out);
    }
}

/* Parse a control tuple written as text (+ optional message text) and
 * expect a refusal whose message contains want. */
static void
expect_refused(etf_arena *a, const etf_term *ctl, const etf_term *msg,
               const char *want)
{
    struct ctl_msg m;
    char why[256] = "";
    uint8_t *out;
    size_t len;

    out = write_frame(ctl, msg, &len);
    if (ctl_parse(a, out + 4, len - 4, NULL, &m, why, sizeof(why)) == 0)
        fail_msg("accepted, wanted \"%s\"", want);
    if (strstr(why, want) == NULL)
        fail_msg("refused with \"%s\", wanted \"%s\"", why, want);
    free(out);
}

static void
test_refused_shapes(void **state)
{
    etf_arena *a = *state;
    etf_term P, Q, R, ctl, *e, *msg;

    make_pid(a, &P, "a@vm", 9);
    make_pid(a, &Q, "gw@vm", 3);
    make_ref(a, &R, "a@vm", 77);
    msg = parse_text(a, "hello");

    expect_refused(a, parse_text(a, "[1, 2]"), NULL, "not a tuple");
    expect_refused(a, parse_text(a, "{}"), NULL, "not a tuple");
    expect_refused(a, parse_text(a, "{link, 1, 2}"), NULL, "not a tuple");
    expect_refused(a, parse_text(a, "{5}"), NULL, "unknown control op 5");
    expect_refused(a, parse_text(a, "{99, a}"), NULL, "unknown control op");
    expect_refused(a, parse_text(a, "{-1, a}"), NULL, "unknown control op");
    /* LINK with two elements, REG_SEND with five */
    e = etf_set_tuple(a, &ctl, 2);
    etf_set_int(&e[0], DOP_LINK);
    e[1] = P;
    expect_refused(a, &ctl, NULL, "LINK with 2 elements, not 3");
    /* LINK to an atom */
    e = etf_set_tuple(a, &ctl, 3);
    etf_set_int(&e[0], DOP_LINK);
    e[1] = P;
    set_atom(a, &e[2], "inbox");
    expect_refused(a, &ctl, NULL, "wrong type");
    /* SEND_SENDER from an atom */
    e = etf_set_tuple(a, &ctl, 3);
    etf_set_int(&e[0], DOP_SEND_SENDER);
    set_atom(a, &e[1], "x");
    e[2] = Q;
    expect_refused(a, &ctl, msg, "wrong type");
    /* REG_SEND to a pid */
    e = etf_set_tuple(a, &ctl, 4);
    etf_set_int(&e[0], DOP_REG_SEND);
    e[1] = P;
    set_atom(a, &e[2], "");
    e[3] = Q;
    expect_refused(a, &ctl, msg, "wrong type");
    /* REG_SEND without its message */
    e[3] = *parse_text(a, "inbox");
    expect_refused(a, &ctl, NULL, "without its message");
    /* LINK with a message after it */
    e = etf_set_tuple(a, &ctl, 3);
    etf_set_int(&e[0], DOP_LINK);
    e[1] = P;
    e[2] = Q;
    expect_refused(a, &ctl, msg, "bytes after");
    /* MONITOR_P with a pid where the ref goes */
    e = etf_set_tuple(a, &ctl, 4);
    etf_set_int(&e[0], DOP_MONITOR_P);
    e[1] = P;
    e[2] = Q;
    e[3] = P;
    expect_refused(a, &ctl, NULL, "without a reference");
    /* PAYLOAD_MONITOR_P_EXIT with an atom where the ref goes */
    e = etf_set_tuple(a, &ctl, 4);
    etf_set_int(&e[0], DOP_PAYLOAD_MONITOR_P_EXIT);
    e[1] = P;
    e[2] = Q;
    set_atom(a, &e[3], "noref");
    expect_refused(a, &ctl, msg, "without a reference");
    /* UNLINK_ID with an atom id */
    e = etf_set_tuple(a, &ctl, 4);
    etf_set_int(&e[0], DOP_UNLINK_ID);
    set_atom(a, &e[1], "four");
    e[2] = P;
    e[3] = Q;
    expect_refused(a, &ctl, NULL, "wrong type");
    /* SPAWN_REQUEST with a list for the MFA */
    e = etf_set_tuple(a, &ctl, 6);
    etf_set_int(&e[0], DOP_SPAWN_REQUEST);
    e[1] = R;
    e[2] = P;
    e[3] = P;
    e[4] = *parse_text(a, "[erpc, execute_call, 4]");
    e[5] = *parse_text(a, "[]");
    expect_refused(a, &ctl, msg, "wrong type");
    /* ALIAS_SEND to a pid */
    e = etf_set_tuple(a, &ctl, 3);
    etf_set_int(&e[0], DOP_ALIAS_SEND);
    e[1] = P;
    e[2] = Q;
    expect_refused(a, &ctl, msg, "wrong type");
}

/* An op number beyond int is not the op it truncates to. */
static void
test_refused_wide_op(void **state)
{
    etf_arena *a = *state;
    etf_term P, Q, ctl, *e;

    make_pid(a, &P, "a@vm", 9);
    make_pid(a, &Q, "gw@vm", 3);
    e = etf_set_tuple(a, &ctl, 3);
    /* 2^32 + 1 truncates to LINK (1) in an int */
    etf_set_int(&e[0], 4294967297LL);
    e[1] = P;
    e[2] = Q;
    expect_refused(a, &ctl, NULL, "unknown control op");
}

static void
test_refused_bytes(void **state)
{
    etf_arena *a = *state;
    struct ctl_msg m;
    char why[256];
    uint8_t buf[512];
    size_t n;

    /* neither 112 nor 131,'D' */
    buf[0] = 131;
    buf[1] = 104;
    assert_int_equal(ctl_parse(a, buf, 2, NULL, &m, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "not 112"));
    assert_int_equal(ctl_parse(a, buf, 0, NULL, &m, why, sizeof(why)), -1);
    /* a 'D' header without an agreed cache */
    buf[0] = 131;
    buf[1] = 'D';
    buf[2] = 0;
    assert_int_equal(ctl_parse(a, buf, 3, NULL, &m, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "no atom cache"));
    /* 112 with nothing after it, or without the 131 version */
    buf[0] = 112;
    assert_int_equal(ctl_parse(a, buf, 1, NULL, &m, why, sizeof(why)), -1);
    memcpy(buf, otp_link, sizeof(otp_link));
    buf[1] = 130;
    assert_int_equal(
        ctl_parse(a, buf, sizeof(otp_link), NULL, &m, why, sizeof(why)), -1);
    /* Every cut of an OTP frame is refused, never read past. */
    for (n = 0; n < sizeof(otp_reg_send); n++) {
        uint8_t *cut = malloc(n ? n : 1);

        memcpy(cut, otp_reg_send, n);
        etf_arena_reset(a);
        assert_int_equal(ctl_parse(a, cut, n, NULL, &m, why, sizeof(why)), -1);
        free(cut);
    }
}

/* A 'D' header with no atom cache references, then bare terms. */
static void
test_dist_header(void **state)
{
    etf_arena *a = *state;
    etf_atom_cache *cache = calloc(1, sizeof(*cache));
    etf_encode_opts bare = {.no_version = true};
    etf_term P, Q, ctl, *e, *msg;
    struct ctl_msg m;
    char why[256];
    uint8_t *c, *p, buf[1024];
    size_t clen, plen, n;

    assert_non_null(cache);
    make_pid(a, &P, "a@vm", 9);
    make_pid(a, &Q, "gw@vm", 3);
    e = etf_set_tuple(a, &ctl, 3);
    etf_set_int(&e[0], DOP_SEND_SENDER);
    e[1] = P;
    e[2] = Q;
    msg = parse_text(a, "{hello, \"world\"}");
    c = etf_encode_alloc(&ctl, &bare, &clen, NULL);
    p = etf_encode_alloc(msg, &bare, &plen, NULL);
    assert_non_null(c);
    assert_non_null(p);
    buf[0] = 131;
    buf[1] = 'D';
    buf[2] = 0;
    memcpy(buf + 3, c, clen);
    memcpy(buf + 3 + clen, p, plen);
    n = 3 + clen + plen;
    if (ctl_parse(a, buf, n, cache, &m, why, sizeof(why)) != 0)
        fail_msg("%s", why);
    assert_int_equal(m.op, DOP_SEND_SENDER);
    assert_true(etf_equal(m.from, &P));
    assert_true(etf_equal(m.payload, msg));
    /* Written back, it is a pass-through frame with the same terms. */
    {
        uint8_t *out;
        size_t len;
        struct ctl_msg m2;

        out = write_frame(m.ctl, m.payload, &len);
        assert_int_equal(out[4], DIST_PASS_THROUGH);
        assert_int_equal(
            ctl_parse(a, out + 4, len - 4, NULL, &m2, why, sizeof(why)), 0);
        assert_true(etf_equal(m2.ctl, m.ctl));
        assert_true(etf_equal(m2.payload, m.payload));
        free(out);
    }
    /* An atom cache reference to an empty slot is refused. */
    buf[0] = 131;
    buf[1] = 'D';
    buf[2] = 1;
    buf[3] = 0x00; /* old entry, segment 0 */
    buf[4] = 5;    /* index */
    buf[5] = 104;
    buf[6] = 1;
    buf[7] = 82; /* ATOM_CACHE_REF */
    buf[8] = 0;
    assert_int_equal(ctl_parse(a, buf, 9, cache, &m, why, sizeof(why)), -1);
    /* Found by fuzz_dist_control: two new entries for one slot in one
     * header. The first reference pointed at the text the second one
     * freed (a use after free under ASan); such a header is refused. */
    {
        static const uint8_t twice[] = {
            131, 'D', 2,   0x88, 0x00,    /* two refs: new entries, segment 0 */
            5,   1,   'a',                /* slot 5 = 'a' */
            5,   1,   'b',                /* slot 5 = 'b' again */
            104, 3,   97,  2,    82,   0, /* {2, ref 0, ...} */
            88,  119, 6,   'a',  '@',  'h', 'o', 's', 't', 0,  0, 0,
            9,   0,   0,   0,    0,    0,   0,   0,   7,   82, 1};

        assert_int_equal(
            ctl_parse(a, twice, sizeof(twice), cache, &m, why, sizeof(why)),
            -1);
    }
    free(c);
    free(p);
    etf_atom_cache_clear(cache);
    free(cache);
}

/* ctl_frame with no buffer measures; the size matches what it writes. */
static void
test_frame_measure(void **state)
{
    etf_arena *a = *state;
    etf_writer w;
    struct ctl_msg m;
    char why[256];
    uint8_t *out;
    size_t len;

    assert_int_equal(ctl_parse(a, otp_send_sender, sizeof(otp_send_sender),
                               NULL, &m, why, sizeof(why)),
                     0);
    etf_writer_init(&w, NULL, 0);
    assert_int_equal(ctl_frame(&w, m.ctl, m.payload), 0);
    out = write_frame(m.ctl, m.payload, &len);
    assert_int_equal(w.pos, len);
    assert_int_equal(len, sizeof(otp_send_sender) + 4);
    free(out);
    /* A fixed buffer too small fails rather than overflows. */
    {
        uint8_t small[16];

        etf_writer_init(&w, small, sizeof(small));
        assert_int_equal(ctl_frame(&w, m.ctl, m.payload), -1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opnames),
        cmocka_unit_test_setup_teardown(test_otp_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otp_reg_send_fields, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_otp_other_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_wide_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dist_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_measure, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
