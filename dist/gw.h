/*
 * distgw's private header: the local node, its connections and its
 * mailboxes.
 */
#ifndef DIST_GW_H
#define DIST_GW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "control.h"
#include "etf.h"
#include "handshake.h"

struct gw;
struct conn;
struct mailbox;

/* How a mailbox treats what arrives. */
enum mbox_mode {
    MBOX_QUEUE,    /* keep messages (bounded) for a reader to take */
    MBOX_ECHO,     /* send each message back to its sender */
    MBOX_RECORDER, /* keep {send, From, Content}; answer {get, Pid} */
};

/* One message kept in a mailbox: ETF bytes of the sender (or empty) and
 * of the message. */
struct mbox_msg {
    STAILQ_ENTRY(mbox_msg) entry;
    size_t from_len, msg_len;
    uint8_t data[]; /* from, then msg */
};

/* A remote process linked to or monitoring a mailbox. */
struct mbox_watch {
    LIST_ENTRY(mbox_watch) entry;
    bool monitor; /* else a link */
    uint8_t *pid; /* ETF bytes (no version) of the remote pid */
    size_t pid_len;
    uint8_t *ref; /* monitors: ETF bytes of the reference */
    size_t ref_len;
    bool by_name; /* monitor set up by name: DOWN names us */
};

struct mailbox {
    LIST_ENTRY(mailbox) entry;
    char *name; /* registered name (UTF-8) */
    uint32_t pid_id;
    enum mbox_mode mode;
    bool print; /* write each message to stdout */
    STAILQ_HEAD(, mbox_msg) queue;
    size_t depth, bytes, max_depth;
    uint64_t received, dropped;
    LIST_HEAD(, mbox_watch) watchers;
};

/* Connection states, named after the step they wait on. */
enum conn_state {
    CONN_LOOKUP, /* outbound: asking the peer's EPMD for its port */
    CONN_CONNECTING,
    CONN_HANDSHAKE, /* hs says which message it waits for */
    CONN_UP,
    CONN_CLOSING, /* flushing, then freed */
};

/* A message waiting for an outbound connection to come up. */
struct pending {
    STAILQ_ENTRY(pending) entry;
    size_t len;
    uint8_t frame[]; /* a whole frame with its length */
};

struct conn {
    LIST_ENTRY(conn) entry;
    struct gw *gw;
    enum conn_state state;
    bool outbound;
    struct bufferevent *bev; /* writes; reads too over TLS */
    /* Plain TCP: the socket is read here, into one contiguous buffer
     * (allocated while it holds bytes, freed when empty). */
    struct event *rev;
    /* A busy stream is read in batches (see conn_coalesce): the socket's
     * SO_RCVLOWAT is raised and this timer reads what is left. */
    struct event *coalesce;
    bool coalescing;
    uint8_t *rbuf;
    size_t rlen, rcap;
    struct event *timer; /* handshake timeout, then ticks */
    char addr[300];      /* the peer's address, for logs */
    char peer[HS_NAME_MAX + 1];
    uint32_t peer_creation;
    uint64_t flags; /* negotiated */
    struct hs hs;
    time_t last_read, last_write, since;
    bool paused;           /* reading stopped until our output drains */
    etf_atom_cache *cache; /* only if the peer uses 'D' headers */
    STAILQ_HEAD(, pending) pending;
    size_t npending;
    /* outbound EPMD lookup */
    struct bufferevent *epmd_bev;
    char host[256];
    char alive[256];
    struct sockaddr_storage peer_ss;
    socklen_t peer_sslen;
    /* one-shot callbacks of the client commands */
    void (*on_up)(struct conn *);
    void (*on_down)(struct conn *, const char *why);
    void (*on_drained)(struct conn *); /* output buffer emptied */
};

/* distgw serve's default for -coalesce, in microseconds. */
#define GW_DEFAULT_COALESCE_US 100

/* Control messages counted by op number up to this (DOP_UNLINK_ID_ACK
 * is 36; a few to spare for ops to come). */
#define GW_MAX_OP 47

/* What the one-shot commands wait for: a message to one of our pids. */
typedef void (*gw_deliver_cb)(struct gw *, const struct ctl_msg *, void *);

struct gw {
    struct event_base *base;
    char name[HS_NAME_MAX + 1]; /* alive@host */
    char host[256];
    char cookie[1024];
    uint32_t creation;
    uint64_t flags;
    bool hidden;
    unsigned ticktime;
    size_t max_frame;
    size_t mbox_max;
    unsigned coalesce_us; /* 0: read every byte as it comes */
    unsigned coalescing;  /* connections reading in batches now */
    uint32_t next_pid, next_ref;
    uint32_t ref_base[2]; /* random words that make our refs unique */
    uint16_t port;        /* our listen port */
    struct tls *tls;      /* TLS distribution, or NULL for TCP */
    uint16_t epmd_port;
    struct evconnlistener *listeners[4];
    int nlisteners;
    struct bufferevent *alive; /* the registration with EPMD */
    struct event *epmd_retry;
    bool registered;
    bool start_epmd, epmd_started; /* start our epmd if none answers */
    LIST_HEAD(, conn) conns;
    LIST_HEAD(, mailbox) mailboxes;
    /* messages to pids without a mailbox (client commands, bridge calls) */
    gw_deliver_cb deliver;
    void *deliver_arg;
    /* Whether a pid of ours that is no mailbox is alive (one of the
     * deliver hook's, given deliver_arg); NULL: every such pid is. */
    bool (*owns_pid)(struct gw *, const etf_term *pid, void *arg);
    /* the bridge's hooks (NULL without it) */
    void (*on_message)(struct gw *, struct mailbox *, const etf_term *from,
                       const etf_term *msg);
    void (*on_conn_up)(struct gw *, struct conn *);
    void (*on_conn_down)(struct gw *, const char *node, const char *why);
    void *bridge;
    struct {
        uint64_t handshakes_ok, handshakes_failed, msgs_in, msgs_out, bytes_in,
            bytes_out, dropped, reregistrations;
        uint64_t read_wakeups;    /* plain TCP socket reads, by wakeup */
        uint64_t coalesce_starts; /* streams switched to batched reads */
        uint64_t in_by_op[GW_MAX_OP + 1]; /* control messages by op */
    } stats;
};

/* gw.c */
void gw_init(struct gw *g, struct event_base *base);
/* Fill t with a new pid of ours (or the pid of a given id). */
int gw_make_pid(struct gw *g, etf_arena *a, etf_term *t, uint32_t id);
uint32_t gw_new_pid_id(struct gw *g);
int gw_make_ref(struct gw *g, etf_arena *a, etf_term *t);
/* True if t is a pid of this node (name and creation). */
bool gw_is_ours(const struct gw *g, const etf_term *pid);
/* The node name a pid, port or ref belongs to. */
const etf_term *gw_node_of(const etf_term *t);
int gw_atom(etf_arena *a, etf_term *t, const char *s);

/* conn.c */
struct conn *conn_find(struct gw *g, const char *node);
/* Connect to node (alive@host) unless connected; NULL on a bad name. */
struct conn *conn_connect(struct gw *g, const char *node);
/* The same, at a known address: that address's EPMD is asked for the
 * node's port and the host part is not resolved (sa NULL: resolve it). */
struct conn *conn_connect_at(struct gw *g, const char *node,
                             const struct sockaddr *sa, socklen_t salen);
/* Queue a control message (and payload) on c, or hold it until c is up.
 * Returns -1 if it cannot be encoded. */
int conn_send(struct conn *c, const etf_term *ctl, const etf_term *msg);
/* Send to a node, connecting first if needed. */
int gw_send_to_node(struct gw *g, const char *node, const etf_term *ctl,
                    const etf_term *msg);
void conn_close(struct conn *c, const char *why);
int gw_listen(struct gw *g, unsigned port_min, unsigned port_max);

/* dispatch.c */
/* Act on a control message that came in on c. */
void dispatch(struct conn *c, struct ctl_msg *m, etf_arena *a);
/* A connection went down: tell mailboxes linked to or monitoring it. */
void dispatch_conn_down(struct conn *c);

/* mailbox.c */
struct mailbox *mbox_open(struct gw *g, const char *name, enum mbox_mode m);
struct mailbox *mbox_by_name(struct gw *g, const char *name, size_t len);
struct mailbox *mbox_by_pid(struct gw *g, const etf_term *pid);
/* Take the oldest message (caller frees it), or NULL if empty. */
struct mbox_msg *mbox_take(struct mailbox *mb);
void mbox_close(struct gw *g, struct mailbox *mb, const char *reason);
/* Keep a message (bounded: the newest is dropped, counted and logged when
 * the mailbox is full). */
int mbox_put(struct gw *g, struct mailbox *mb, const etf_term *from,
             const etf_term *msg);
/* Remember a link or monitor from a remote pid. */
int mbox_watch(struct mailbox *mb, bool monitor, const etf_term *pid,
               const etf_term *ref, bool by_name);
/* Forget a link (ref NULL) or the monitor with ref. */
void mbox_unwatch(struct mailbox *mb, bool monitor, const etf_term *pid,
                  const etf_term *ref);

/* epmdc.c: talk to EPMD as a node does */
/* Register g (ALIVE2, keeping the socket) and re-register when EPMD goes
 * away; calls back when registered the first time. */
int epmdc_register(struct gw *g, void (*cb)(struct gw *, bool ok));
/* Ask host's EPMD for name's port, asynchronously. */
/* Connect c to the address the lookup found. */
void conn_dial(struct conn *c, const struct sockaddr *sa, socklen_t len);
int epmdc_lookup(struct gw *g, struct conn *c, const char *host,
                 const char *alive);
/* Blocking NAMES request to host's EPMD (for `distgw names`): returns a
 * malloc'd text (the lines after the port), or NULL with why. */
char *epmdc_names(const char *host, uint16_t port, char *why, size_t whylen);

/* bridge.c: the HTTP/JSON API */
/* Serve the API on addr ("ADDR:PORT"); returns -1 after logging why
 * (must: the address was asked for, so the failure is fatal). */
int bridge_start(struct gw *g, const char *addr, bool must);

/* discover.c: every node behind a DNS name */
/* Resolve name now and every interval seconds, ask each address's EPMD
 * for its nodes, and connect to every node found. */
int discover_start(struct gw *g, const char *name, unsigned interval);

#endif
