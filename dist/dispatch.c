/*
 * What the gateway does with each control message: deliver to mailboxes,
 * answer net_kernel, keep links and monitors, and give every request it
 * cannot serve the answer OTP itself would give.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist_proto.h"
#include "gw.h"
#include "log.h"

/* Build and send a control tuple of n elements; e is filled by fill. */
static int
reply(struct conn *c, etf_term *ctl, const etf_term *msg)
{
    return conn_send(c, ctl, msg);
}

static bool
atom_is(const etf_term *t, const char *s)
{
    return t != NULL && t->kind == ETF_ATOM && t->len == strlen(s) &&
           memcmp(t->v.str, s, t->len) == 0;
}

/* Print a message for a mailbox that asked for it: "name from msg". */
static void
print_msg(const struct mailbox *mb, const etf_term *from, const etf_term *msg)
{
    char *f = from ? etf_format(from, ETF_TEXT_W, NULL) : NULL;
    char *m = etf_format(msg, ETF_TEXT_TP, NULL);

    if (m != NULL) {
        printf("%s %s %s\n", mb->name, f ? f : "undefined", m);
        fflush(stdout);
    }
    free(f);
    free(m);
}

/* {2, '', To} + msg */
static int
send_to_pid(struct conn *c, etf_arena *a, const etf_term *to,
            const etf_term *msg)
{
    etf_term ctl, *e = etf_set_tuple(a, &ctl, 3);

    if (e == NULL)
        return -1;
    etf_set_int(&e[0], DOP_SEND);
    gw_atom(a, &e[1], "");
    e[2] = *to;
    return reply(c, &ctl, msg);
}

/* The seeds' detector: keep {send, From, Content}, answer {get, Pid}
 * with {msgs, [{From, Content}, ...]} in arrival order. */
static void
recorder(struct conn *c, struct mailbox *mb, etf_arena *a, const etf_term *msg)
{
    etf_decode_opts o = {.no_version = false};
    struct mbox_msg *m;
    etf_term reply_t, *e, *list;
    size_t i;

    if (msg->kind == ETF_TUPLE && msg->len == 3 &&
        atom_is(&msg->v.elems[0], "send")) {
        etf_term pair, *p = etf_set_tuple(a, &pair, 2);

        if (p == NULL)
            return;
        p[0] = msg->v.elems[1];
        p[1] = msg->v.elems[2];
        mbox_put(c->gw, mb, NULL, &pair); /* counts it as received */
        return;
    }
    mb->received++;
    if (msg->kind != ETF_TUPLE || msg->len != 2 ||
        !atom_is(&msg->v.elems[0], "get") || msg->v.elems[1].kind != ETF_PID) {
        log_debug("recorder %s: ignored a message that is neither "
                  "{send, From, Content} nor {get, Pid}",
                  mb->name);
        return;
    }
    e = etf_set_tuple(a, &reply_t, 2);
    gw_atom(a, &e[0], "msgs");
    if (mb->depth == 0) {
        etf_set_nil(&e[1]);
    } else {
        list = etf_set_list(a, &e[1], (uint32_t)mb->depth);
        i = 0;
        STAILQ_FOREACH(m, &mb->queue, entry)
        {
            etf_term *t = etf_decode(a, m->data + m->from_len, m->msg_len, &o,
                                     NULL, NULL);
            if (t != NULL)
                list[i] = *t;
            else
                gw_atom(a, &list[i], "undefined");
            i++;
        }
    }
    send_to_pid(c, a, &msg->v.elems[1], &reply_t);
}

/* A message for mailbox mb, from a pid if known. */
static void
deliver(struct conn *c, struct mailbox *mb, etf_arena *a, const etf_term *from,
        const etf_term *msg)
{
    etf_term answer, *e;

    /* {'$gw_pid', Pid}: any mailbox tells Pid its own pid, so a remote
     * process can link to it, monitor it or send it exit signals. */
    if (msg->kind == ETF_TUPLE && msg->len == 2 &&
        atom_is(&msg->v.elems[0], "$gw_pid") &&
        msg->v.elems[1].kind == ETF_PID) {
        e = etf_set_tuple(a, &answer, 3);
        if (e == NULL || gw_atom(a, &e[0], "$gw_pid") < 0 ||
            gw_atom(a, &e[1], mb->name) < 0 ||
            gw_make_pid(c->gw, a, &e[2], mb->pid_id) < 0)
            return;
        send_to_pid(c, a, &msg->v.elems[1], &answer);
        return;
    }
    switch (mb->mode) {
    case MBOX_ECHO:
        mb->received++;
        if (from != NULL)
            send_to_pid(c, a, from, msg);
        break;
    case MBOX_RECORDER:
        recorder(c, mb, a, msg);
        break;
    case MBOX_QUEUE:
        if (mb->print)
            print_msg(mb, from, msg);
        mbox_put(c->gw, mb, from, msg);
        break;
    }
    /* The bridge wakes long polls and writes the event streams, after the
     * message is kept. */
    if (c->gw->on_message != NULL)
        c->gw->on_message(c->gw, mb, from, msg);
}

/* net_kernel answers {is_auth, Node} with yes, which is what makes
 * net_adm:ping/1 return pong. */
static void
net_kernel(struct conn *c, etf_arena *a, const etf_term *msg)
{
    const etf_term *from, *req;
    etf_term answer, *e;

    if (msg->kind != ETF_TUPLE || msg->len != 3 ||
        !atom_is(&msg->v.elems[0], "$gen_call"))
        return;
    from = &msg->v.elems[1];
    req = &msg->v.elems[2];
    if (from->kind != ETF_TUPLE || from->len != 2 ||
        from->v.elems[0].kind != ETF_PID)
        return;
    if (req->kind == ETF_TUPLE && req->len == 2 &&
        atom_is(&req->v.elems[0], "is_auth")) {
        /* {Tag, yes}: the tag is echoed as it came, [alias|Ref] too. */
        e = etf_set_tuple(a, &answer, 2);
        e[0] = from->v.elems[1];
        gw_atom(a, &e[1], "yes");
        send_to_pid(c, a, &from->v.elems[0], &answer);
        log_debug("%s: net_kernel is_auth answered yes", c->peer);
        return;
    }
    log_debug("%s: net_kernel ignored a call it does not serve", c->peer);
}

/* {'EXIT', From, Reason} or {'DOWN', Ref, process, From, Reason} into a
 * mailbox (mailboxes trap exits). */
static void
signal_msg(struct conn *c, struct mailbox *mb, etf_arena *a, bool down,
           const etf_term *ref, const etf_term *from, const etf_term *reason)
{
    etf_term t, *e;

    if (down) {
        e = etf_set_tuple(a, &t, 5);
        gw_atom(a, &e[0], "DOWN");
        e[1] = *ref;
        gw_atom(a, &e[2], "process");
        e[3] = *from;
        e[4] = *reason;
    } else {
        e = etf_set_tuple(a, &t, 3);
        gw_atom(a, &e[0], "EXIT");
        e[1] = *from;
        e[2] = *reason;
    }
    deliver(c, mb, a, NULL, &t);
}

static struct mailbox *
target(struct gw *g, const etf_term *to)
{
    if (to->kind == ETF_ATOM)
        return mbox_by_name(g, to->v.str, to->len);
    return mbox_by_pid(g, to);
}

void
dispatch(struct conn *c, struct ctl_msg *m, etf_arena *a)
{
    struct gw *g = c->gw;
    struct mailbox *mb;
    etf_term ctl, *e;

    if (m->op >= 0 && m->op <= GW_MAX_OP)
        g->stats.in_by_op[m->op]++;
    switch (m->op) {
    case DOP_SEND:
    case DOP_SEND_TT:
    case DOP_SEND_SENDER:
    case DOP_SEND_SENDER_TT:
    case DOP_REG_SEND:
    case DOP_REG_SEND_TT:
        g->stats.msgs_in++;
        if (m->to->kind == ETF_ATOM && atom_is(m->to, "net_kernel")) {
            net_kernel(c, a, m->payload);
            return;
        }
        if ((mb = target(g, m->to)) != NULL) {
            deliver(c, mb, a, m->from, m->payload);
            return;
        }
        if (m->to->kind == ETF_PID && gw_is_ours(g, m->to) &&
            g->deliver != NULL) {
            g->deliver(g, m, g->deliver_arg);
            return;
        }
        /* As OTP: a message to a name or pid that does not exist is
         * dropped. Count it. */
        g->stats.dropped++;
        log_debug("%s: %s to a process that does not exist, dropped", c->peer,
                  ctl_opname(m->op));
        return;
    case DOP_LINK:
        if ((mb = mbox_by_pid(g, m->to)) != NULL) {
            mbox_watch(mb, false, m->from, NULL, false);
            return;
        }
        /* {3, To, From, noproc}, as erts answers a link to a dead pid */
        e = etf_set_tuple(a, &ctl, 4);
        etf_set_int(&e[0], DOP_EXIT);
        e[1] = *m->to;
        e[2] = *m->from;
        gw_atom(a, &e[3], "noproc");
        reply(c, &ctl, NULL);
        return;
    case DOP_UNLINK_ID:
        if ((mb = mbox_by_pid(g, m->to)) != NULL)
            mbox_unwatch(mb, false, m->from, NULL);
        /* {36, Id, To, From} before any other signal to that sender */
        e = etf_set_tuple(a, &ctl, 4);
        etf_set_int(&e[0], DOP_UNLINK_ID_ACK);
        e[1] = *m->id;
        e[2] = *m->to;
        e[3] = *m->from;
        reply(c, &ctl, NULL);
        return;
    case DOP_UNLINK:
        if ((mb = mbox_by_pid(g, m->to)) != NULL)
            mbox_unwatch(mb, false, m->from, NULL);
        return;
    case DOP_UNLINK_ID_ACK:
    case DOP_GROUP_LEADER:
        /* We send no unlinks and run no code with a group leader. */
        log_debug("%s: %s accepted", c->peer, ctl_opname(m->op));
        return;
    case DOP_EXIT:
    case DOP_EXIT_TT:
    case DOP_PAYLOAD_EXIT:
    case DOP_PAYLOAD_EXIT_TT:
        /* A linked remote process is gone: the link is too. */
        if ((mb = mbox_by_pid(g, m->to)) != NULL) {
            mbox_unwatch(mb, false, m->from, NULL);
            signal_msg(c, mb, a, false, NULL, m->from, m->reason);
        }
        return;
    case DOP_EXIT2:
    case DOP_EXIT2_TT:
    case DOP_PAYLOAD_EXIT2:
    case DOP_PAYLOAD_EXIT2_TT:
        if ((mb = mbox_by_pid(g, m->to)) == NULL)
            return;
        if (atom_is(m->reason, "kill")) {
            log_info("mailbox %s killed by %s", mb->name, c->peer);
            mbox_close(g, mb, "killed");
            return;
        }
        signal_msg(c, mb, a, false, NULL, m->from, m->reason);
        return;
    case DOP_MONITOR_P:
        if (atom_is(m->to, "net_kernel"))
            return; /* always alive; must not answer noproc */
        if ((mb = target(g, m->to)) != NULL) {
            mbox_watch(mb, true, m->from, m->ref, m->to->kind == ETF_ATOM);
            return;
        }
        /* Mailboxes first: with a deliver hook (the bridge) set, every
         * pid of ours would otherwise be taken for the hook's own. */
        if (g->deliver != NULL && m->to->kind == ETF_PID &&
            gw_is_ours(g, m->to) &&
            (g->owns_pid == NULL || g->owns_pid(g, m->to, g->deliver_arg)))
            return; /* a one-shot command's own pid: alive while it runs */
        /* {21, To, From, Ref, noproc}: DOWN right away, as OTP does */
        e = etf_set_tuple(a, &ctl, 5);
        etf_set_int(&e[0], DOP_MONITOR_P_EXIT);
        e[1] = *m->to;
        e[2] = *m->from;
        e[3] = *m->ref;
        gw_atom(a, &e[4], "noproc");
        reply(c, &ctl, NULL);
        return;
    case DOP_DEMONITOR_P:
        if ((mb = target(g, m->to)) != NULL)
            mbox_unwatch(mb, true, m->from, m->ref);
        return;
    case DOP_MONITOR_P_EXIT:
    case DOP_PAYLOAD_MONITOR_P_EXIT:
        if ((mb = mbox_by_pid(g, m->to)) != NULL)
            signal_msg(c, mb, a, true, m->ref, m->from, m->reason);
        else if (g->deliver != NULL && gw_is_ours(g, m->to))
            g->deliver(g, m, g->deliver_arg);
        return;
    case DOP_SPAWN_REQUEST:
    case DOP_SPAWN_REQUEST_TT:
        /* We run no Erlang code: {31, ReqId, From, 0, notsup}, which the
         * caller sees as {badrpc, notsup} or a notsup spawn error. */
        e = etf_set_tuple(a, &ctl, 5);
        etf_set_int(&e[0], DOP_SPAWN_REPLY);
        e[1] = *m->ref;
        e[2] = *m->from;
        etf_set_int(&e[3], 0);
        gw_atom(a, &e[4], "notsup");
        reply(c, &ctl, NULL);
        log_debug("%s: spawn request answered notsup", c->peer);
        return;
    case DOP_SPAWN_REPLY:
    case DOP_SPAWN_REPLY_TT:
    case DOP_ALIAS_SEND:
    case DOP_ALIAS_SEND_TT:
        if (g->deliver != NULL)
            g->deliver(g, m, g->deliver_arg);
        else
            log_debug("%s: %s for nobody, dropped", c->peer, ctl_opname(m->op));
        return;
    }
    log_debug("%s: %s ignored", c->peer, ctl_opname(m->op));
}

void
dispatch_conn_down(struct conn *c)
{
    struct mailbox *mb;
    struct mbox_watch *w, *next;
    etf_decode_opts o = {.no_version = true};
    etf_arena *a = etf_arena_new();
    const etf_term *node;
    etf_term *pid;

    if (a == NULL)
        return;
    /* Links and monitors held by processes of the lost node are gone. */
    LIST_FOREACH(mb, &c->gw->mailboxes, entry)
    {
        for (w = LIST_FIRST(&mb->watchers); w != NULL; w = next) {
            next = LIST_NEXT(w, entry);
            pid = etf_decode(a, w->pid, w->pid_len, &o, NULL, NULL);
            if (pid == NULL || (node = gw_node_of(pid)) == NULL ||
                node->len != strlen(c->peer) ||
                memcmp(node->v.str, c->peer, node->len) != 0)
                continue;
            LIST_REMOVE(w, entry);
            free(w->pid);
            free(w->ref);
            free(w);
        }
    }
    etf_arena_free(a);
}
