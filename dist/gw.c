/*
 * The local node: its name, creation, pids and references.
 */
#include <string.h>

#include <openssl/rand.h>

#include "dist_proto.h"
#include "gw.h"

void
gw_init(struct gw *g, struct event_base *base)
{
    memset(g, 0, sizeof(*g));
    g->base = base;
    g->flags = DFLAG_WE_OFFER;
    g->hidden = true;
    g->ticktime = DIST_DEFAULT_TICKTIME;
    g->max_frame = DIST_DEFAULT_MAX_FRAME;
    g->mbox_max = 100000;
    g->next_pid = 1;
    g->next_ref = 1;
    g->epmd_port = 4369;
    LIST_INIT(&g->conns);
    LIST_INIT(&g->mailboxes);
    if (RAND_bytes((unsigned char *)g->ref_base, sizeof(g->ref_base)) != 1)
        g->ref_base[0] = (uint32_t)time(NULL);
}

int
gw_atom(etf_arena *a, etf_term *t, const char *s)
{
    return etf_set_atom(a, t, s, strlen(s));
}

uint32_t
gw_new_pid_id(struct gw *g)
{
    /* Pid numbers are 28 bits in OTP's own; stay inside that range. */
    uint32_t id = g->next_pid++;

    if (g->next_pid >= (1u << 28))
        g->next_pid = 1;
    return id;
}

int
gw_make_pid(struct gw *g, etf_arena *a, etf_term *t, uint32_t id)
{
    etf_pid *p = etf_set_pid(a, t);

    if (p == NULL || gw_atom(a, &p->node, g->name) < 0)
        return -1;
    p->id = id;
    p->serial = 0;
    p->creation = g->creation;
    return 0;
}

int
gw_make_ref(struct gw *g, etf_arena *a, etf_term *t)
{
    etf_ref *r = etf_set_ref(a, t);

    if (r == NULL || gw_atom(a, &r->node, g->name) < 0)
        return -1;
    r->creation = g->creation;
    r->len = 3;
    r->id[0] = g->next_ref++ & 0x3FFFF; /* 18 bits, as OTP's first word */
    r->id[1] = g->ref_base[0];
    r->id[2] = g->ref_base[1] + (g->next_ref >> 18);
    return 0;
}

const etf_term *
gw_node_of(const etf_term *t)
{
    switch (t->kind) {
    case ETF_PID:
        return &t->v.pid->node;
    case ETF_PORT:
        return &t->v.port->node;
    case ETF_REF:
        return &t->v.ref->node;
    default:
        return NULL;
    }
}

bool
gw_is_ours(const struct gw *g, const etf_term *t)
{
    const etf_term *node = gw_node_of(t);
    uint32_t cr;

    if (node == NULL || node->len != strlen(g->name) ||
        memcmp(node->v.str, g->name, node->len) != 0)
        return false;
    cr = t->kind == ETF_PID    ? t->v.pid->creation
         : t->kind == ETF_PORT ? t->v.port->creation
                               : t->v.ref->creation;
    return cr == g->creation;
}
