/*
 * Node registry: a hash table by name over two lists, active nodes
 * (newest first, the order NAMES reports) and unregistered names (a FIFO).
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "xmalloc.h"

struct registry_node {
    struct registry_node *hnext; /* hash chain */
    struct registry_node *prev;  /* active list or unregistered FIFO */
    struct registry_node *next;
    int active;
    uint32_t cr_counter;
    uint16_t port;
    uint8_t node_type;
    uint8_t protocol;
    uint16_t high_vsn;
    uint16_t low_vsn;
    int fd;
    void *owner;
    uint8_t *extra;
    size_t extra_len;
    size_t name_len;
    uint8_t name[]; /* name_len bytes, then a NUL for logging */
};

/* A doubly linked list with both ends. */
struct registry_list {
    struct registry_node *head;
    struct registry_node *tail;
    size_t count;
};

struct registry {
    struct registry_node **buckets;
    size_t nbuckets; /* a power of two */
    size_t nnodes;   /* in the hash: active + unregistered */
    struct registry_list active;
    struct registry_list unreg;
    size_t max_unreg;
    time_t (*now)(void);
};

/* FNV-1a over the name. */
static size_t
registry_hash(const uint8_t *name, size_t len)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= name[i];
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static time_t
registry_time(void)
{
    return time(NULL);
}

struct registry *
registry_new(size_t max_unreg, time_t (*now)(void))
{
    struct registry *r = xcalloc(1, sizeof(*r));

    r->nbuckets = 64;
    r->buckets = xcalloc(r->nbuckets, sizeof(*r->buckets));
    r->max_unreg = max_unreg;
    r->now = now != NULL ? now : registry_time;
    return r;
}

static void
registry_node_free(struct registry_node *n)
{
    free(n->extra);
    free(n);
}

void
registry_free(struct registry *r)
{
    struct registry_node *n, *next;

    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nbuckets; i++) {
        for (n = r->buckets[i]; n != NULL; n = next) {
            next = n->hnext;
            registry_node_free(n);
        }
    }
    free(r->buckets);
    free(r);
}

static void
list_unlink(struct registry_list *l, struct registry_node *n)
{
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
    l->count--;
}

static void
list_push_head(struct registry_list *l, struct registry_node *n)
{
    n->prev = NULL;
    n->next = l->head;
    if (l->head != NULL)
        l->head->prev = n;
    else
        l->tail = n;
    l->head = n;
    l->count++;
}

static void
list_push_tail(struct registry_list *l, struct registry_node *n)
{
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
    l->count++;
}

/* Find a node, active or not, by name. */
static struct registry_node *
registry_find(struct registry *r, const uint8_t *name, size_t len)
{
    struct registry_node *n;

    n = r->buckets[registry_hash(name, len) & (r->nbuckets - 1)];
    for (; n != NULL; n = n->hnext) {
        if (n->name_len == len && memcmp(n->name, name, len) == 0)
            return n;
    }
    return NULL;
}

static void
registry_hash_remove(struct registry *r, struct registry_node *n)
{
    struct registry_node **pp;

    pp = &r->buckets[registry_hash(n->name, n->name_len) & (r->nbuckets - 1)];
    for (; *pp != NULL; pp = &(*pp)->hnext) {
        if (*pp == n) {
            *pp = n->hnext;
            r->nnodes--;
            return;
        }
    }
}

/* Double the table once it holds more nodes than buckets. */
static void
registry_grow(struct registry *r)
{
    struct registry_node **nb, *n, *next;
    size_t nsize = r->nbuckets * 2;

    nb = xcalloc(nsize, sizeof(*nb));
    for (size_t i = 0; i < r->nbuckets; i++) {
        for (n = r->buckets[i]; n != NULL; n = next) {
            size_t h = registry_hash(n->name, n->name_len) & (nsize - 1);

            next = n->hnext;
            n->hnext = nb[h];
            nb[h] = n;
        }
    }
    free(r->buckets);
    r->buckets = nb;
    r->nbuckets = nsize;
}

static void
registry_hash_insert(struct registry *r, struct registry_node *n)
{
    size_t h;

    if (r->nnodes >= r->nbuckets)
        registry_grow(r);
    h = registry_hash(n->name, n->name_len) & (r->nbuckets - 1);
    n->hnext = r->buckets[h];
    r->buckets[h] = n;
    r->nnodes++;
}

/* Advance a creation counter, skipping the small creations 0..3. */
static void
registry_bump(struct registry_node *n)
{
    n->cr_counter++;
    if (n->cr_counter < EPMD_MIN_BIG_CREATION)
        n->cr_counter = EPMD_MIN_BIG_CREATION;
}

struct registry_node *
registry_register(struct registry *r, const struct epmd_node_info *info, int fd,
                  void *owner)
{
    struct registry_node *n, *old;

    n = registry_find(r, info->name, info->name_len);
    if (n != NULL && n->active)
        return NULL;
    if (n != NULL) {
        /* A returning name: same slot, next creation. */
        list_unlink(&r->unreg, n);
        registry_bump(n);
    } else {
        n = xmalloc(sizeof(*n) + info->name_len + 1);
        memset(n, 0, sizeof(*n));
        memcpy(n->name, info->name, info->name_len);
        n->name[info->name_len] = '\0';
        n->name_len = info->name_len;
        if (r->unreg.count > r->max_unreg) {
            /* OTP recycles the oldest slot, counter and all. */
            old = r->unreg.head;
            list_unlink(&r->unreg, old);
            registry_hash_remove(r, old);
            n->cr_counter = old->cr_counter;
            registry_node_free(old);
        } else {
            n->cr_counter = (uint32_t)r->now();
            registry_bump(n);
        }
        registry_hash_insert(r, n);
    }
    n->active = 1;
    n->port = info->port;
    n->node_type = info->node_type;
    n->protocol = info->protocol;
    n->high_vsn = info->high_vsn;
    n->low_vsn = info->low_vsn;
    n->fd = fd;
    n->owner = owner;
    free(n->extra);
    n->extra = NULL;
    n->extra_len = info->extra_len;
    if (info->extra_len > 0) {
        n->extra = xmalloc(info->extra_len);
        memcpy(n->extra, info->extra, info->extra_len);
    }
    list_push_head(&r->active, n);
    return n;
}

void
registry_unregister(struct registry *r, struct registry_node *n)
{
    if (!n->active)
        return;
    list_unlink(&r->active, n);
    n->active = 0;
    n->owner = NULL;
    list_push_tail(&r->unreg, n);
}

struct registry_node *
registry_lookup(struct registry *r, const uint8_t *name, size_t name_len)
{
    struct registry_node *n = registry_find(r, name, name_len);

    return n != NULL && n->active ? n : NULL;
}

size_t
registry_count(const struct registry *r)
{
    return r->active.count;
}

size_t
registry_unreg_count(const struct registry *r)
{
    return r->unreg.count;
}

struct registry_node *
registry_first(struct registry *r)
{
    return r->active.head;
}

struct registry_node *
registry_first_unreg(struct registry *r)
{
    return r->unreg.head;
}

struct registry_node *
registry_next(struct registry_node *n)
{
    return n->next;
}

void
registry_info(const struct registry_node *n, struct epmd_node_info *out)
{
    out->port = n->port;
    out->node_type = n->node_type;
    out->protocol = n->protocol;
    out->high_vsn = n->high_vsn;
    out->low_vsn = n->low_vsn;
    out->name = n->name;
    out->name_len = n->name_len;
    out->extra = n->extra;
    out->extra_len = n->extra_len;
}

uint32_t
registry_creation(const struct registry_node *n)
{
    if (n->high_vsn >= EPMD_DIST_VSN_X_RESP)
        return n->cr_counter;
    return n->cr_counter % 3 + 1;
}

void *
registry_owner(const struct registry_node *n)
{
    return n->owner;
}

int
registry_fd(const struct registry_node *n)
{
    return n->fd;
}
