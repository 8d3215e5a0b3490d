/*
 * Mailboxes: names registered on the gateway that messages arrive in,
 * bounded, with the links and monitors remote processes hold on them.
 */
#include <stdlib.h>
#include <string.h>

#include "dist_proto.h"
#include "gw.h"
#include "log.h"
#include "xmalloc.h"

struct mailbox *
mbox_open(struct gw *g, const char *name, enum mbox_mode mode)
{
    struct mailbox *mb;

    if (mbox_by_name(g, name, strlen(name)) != NULL)
        return NULL;
    mb = xcalloc(1, sizeof(*mb));
    mb->name = xstrdup(name);
    mb->pid_id = gw_new_pid_id(g);
    mb->mode = mode;
    mb->max_depth = g->mbox_max;
    STAILQ_INIT(&mb->queue);
    LIST_INIT(&mb->watchers);
    LIST_INSERT_HEAD(&g->mailboxes, mb, entry);
    return mb;
}

struct mailbox *
mbox_by_name(struct gw *g, const char *name, size_t len)
{
    struct mailbox *mb;

    LIST_FOREACH(mb, &g->mailboxes, entry)
    if (strlen(mb->name) == len && memcmp(mb->name, name, len) == 0)
        return mb;
    return NULL;
}

struct mailbox *
mbox_by_pid(struct gw *g, const etf_term *pid)
{
    struct mailbox *mb;

    if (pid->kind != ETF_PID || !gw_is_ours(g, pid))
        return NULL;
    LIST_FOREACH(mb, &g->mailboxes, entry)
    if (mb->pid_id == pid->v.pid->id && pid->v.pid->serial == 0)
        return mb;
    return NULL;
}

/* ETF bytes of t without the version byte, malloc'd. */
static uint8_t *
encode_bare(const etf_term *t, size_t *len)
{
    etf_encode_opts o = {.no_version = true};

    return etf_encode_alloc(t, &o, len, NULL);
}

int
mbox_put(struct gw *g, struct mailbox *mb, const etf_term *from,
         const etf_term *msg)
{
    struct mbox_msg *m;
    uint8_t *fb = NULL, *mbytes;
    size_t flen = 0, mlen;

    mb->received++;
    if (mb->depth >= mb->max_depth) {
        mb->dropped++;
        g->stats.dropped++;
        /* Log the first drop and then every thousandth. */
        if (mb->dropped % 1000 == 1)
            log_warnx("mailbox %s is full (%zu messages): dropped %llu so "
                      "far",
                      mb->name, mb->depth, (unsigned long long)mb->dropped);
        return -1;
    }
    if (from != NULL && (fb = encode_bare(from, &flen)) == NULL)
        return -1;
    if ((mbytes = etf_encode_alloc(msg, NULL, &mlen, NULL)) == NULL) {
        free(fb);
        return -1;
    }
    m = xmalloc(sizeof(*m) + flen + mlen);
    m->from_len = flen;
    m->msg_len = mlen;
    if (flen)
        memcpy(m->data, fb, flen);
    memcpy(m->data + flen, mbytes, mlen);
    free(fb);
    free(mbytes);
    STAILQ_INSERT_TAIL(&mb->queue, m, entry);
    mb->depth++;
    mb->bytes += flen + mlen;
    return 0;
}

struct mbox_msg *
mbox_take(struct mailbox *mb)
{
    struct mbox_msg *m = STAILQ_FIRST(&mb->queue);

    if (m == NULL)
        return NULL;
    STAILQ_REMOVE_HEAD(&mb->queue, entry);
    mb->depth--;
    mb->bytes -= m->from_len + m->msg_len;
    return m;
}

int
mbox_watch(struct mailbox *mb, bool monitor, const etf_term *pid,
           const etf_term *ref, bool by_name)
{
    struct mbox_watch *w = xcalloc(1, sizeof(*w));

    w->monitor = monitor;
    w->by_name = by_name;
    if ((w->pid = encode_bare(pid, &w->pid_len)) == NULL ||
        (ref != NULL && (w->ref = encode_bare(ref, &w->ref_len)) == NULL)) {
        free(w->pid);
        free(w);
        return -1;
    }
    LIST_INSERT_HEAD(&mb->watchers, w, entry);
    return 0;
}

static bool
same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

static void
watch_free(struct mbox_watch *w)
{
    LIST_REMOVE(w, entry);
    free(w->pid);
    free(w->ref);
    free(w);
}

void
mbox_unwatch(struct mailbox *mb, bool monitor, const etf_term *pid,
             const etf_term *ref)
{
    struct mbox_watch *w, *next;
    uint8_t *pb, *rb = NULL;
    size_t plen, rlen = 0;

    if ((pb = encode_bare(pid, &plen)) == NULL)
        return;
    if (ref != NULL && (rb = encode_bare(ref, &rlen)) == NULL) {
        free(pb);
        return;
    }
    for (w = LIST_FIRST(&mb->watchers); w != NULL; w = next) {
        next = LIST_NEXT(w, entry);
        if (w->monitor == monitor && same_bytes(w->pid, w->pid_len, pb, plen) &&
            (!monitor || same_bytes(w->ref, w->ref_len, rb, rlen)))
            watch_free(w);
    }
    free(pb);
    free(rb);
}

/* Tell one watcher that the mailbox is gone. */
static void
notify(struct gw *g, struct mailbox *mb, struct mbox_watch *w,
       const char *reason)
{
    etf_arena *a = etf_arena_new();
    etf_decode_opts o = {.no_version = true};
    etf_term ctl, *e, *pid, *ref;
    const etf_term *node;
    char nodename[HS_NAME_MAX + 1];

    if (a == NULL)
        return;
    pid = etf_decode(a, w->pid, w->pid_len, &o, NULL, NULL);
    ref = w->ref ? etf_decode(a, w->ref, w->ref_len, &o, NULL, NULL) : NULL;
    if (pid == NULL || (node = gw_node_of(pid)) == NULL ||
        node->len > HS_NAME_MAX)
        goto done;
    memcpy(nodename, node->v.str, node->len);
    nodename[node->len] = '\0';
    if (w->monitor && ref != NULL) {
        /* {21, FromProc, ToPid, Ref, Reason} */
        e = etf_set_tuple(a, &ctl, 5);
        etf_set_int(&e[0], DOP_MONITOR_P_EXIT);
        if (w->by_name)
            gw_atom(a, &e[1], mb->name);
        else
            gw_make_pid(g, a, &e[1], mb->pid_id);
        e[2] = *pid;
        e[3] = *ref;
        gw_atom(a, &e[4], reason);
    } else {
        /* {3, FromPid, ToPid, Reason} */
        e = etf_set_tuple(a, &ctl, 4);
        etf_set_int(&e[0], DOP_EXIT);
        gw_make_pid(g, a, &e[1], mb->pid_id);
        e[2] = *pid;
        gw_atom(a, &e[3], reason);
    }
    struct conn *c = conn_find(g, nodename);
    if (c != NULL)
        conn_send(c, &ctl, NULL);
done:
    etf_arena_free(a);
}

void
mbox_close(struct gw *g, struct mailbox *mb, const char *reason)
{
    struct mbox_watch *w;
    struct mbox_msg *m;

    while ((w = LIST_FIRST(&mb->watchers)) != NULL) {
        notify(g, mb, w, reason);
        watch_free(w);
    }
    while ((m = STAILQ_FIRST(&mb->queue)) != NULL) {
        STAILQ_REMOVE_HEAD(&mb->queue, entry);
        free(m);
    }
    LIST_REMOVE(mb, entry);
    free(mb->name);
    free(mb);
}
