/*
 * Connections to other nodes: accept and dial, the handshake under a
 * timeout, then framing, ticks and control messages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>

#include "addr.h"
#include "dist_proto.h"
#include "frame.h"
#include "gw.h"
#include "log.h"
#include "tls.h"
#include "xmalloc.h"

/* Messages held for a connection that is not up yet, at most. */
#define CONN_MAX_PENDING 100000
/* Backpressure: past this much unsent output to a peer we stop reading
 * from it, and read again once the output is down to the low mark. */
#define CONN_OUT_HIGH (16u * 1024 * 1024)
#define CONN_OUT_LOW (4u * 1024 * 1024)
/* The smallest read buffer, and how much one wakeup reads from one peer
 * at most before the others get their turn. */
#define CONN_RBUF_MIN (64u * 1024)
#define CONN_READ_BUDGET (1u << 20)
/* Batched reads (conn_coalesce): a wakeup that finds this many frames
 * waiting marks a stream, which is then woken only when this many bytes
 * wait, or when gw->coalesce_us have passed. */
#define CONN_COALESCE_FRAMES 4
#define CONN_COALESCE_BYTES (64 * 1024)

static void conn_read_cb(struct bufferevent *, void *);
static void conn_reading(struct conn *, bool);
static void conn_write_cb(struct bufferevent *, void *);
static void nodelay(evutil_socket_t fd);
static void conn_event_cb(struct bufferevent *, short, void *);
static void conn_timer_cb(evutil_socket_t, short, void *);

static const char *
strconnstate(enum conn_state s)
{
    switch (s) {
    case CONN_LOOKUP:
        return "epmd_lookup";
    case CONN_CONNECTING:
        return "connect";
    case CONN_HANDSHAKE:
        return "handshake";
    case CONN_UP:
        return "up";
    case CONN_CLOSING:
        return "closing";
    }
    return "?";
}

/* Change state, logging the step by name. */
static void
conn_enter_state(struct conn *c, enum conn_state s)
{
    log_trace("%s %s: %s -> %s", c->addr, c->peer[0] ? c->peer : "?",
              strconnstate(c->state), strconnstate(s));
    c->state = s;
}

struct conn *
conn_find(struct gw *g, const char *node)
{
    struct conn *c;

    LIST_FOREACH(c, &g->conns, entry)
    if (c->state != CONN_CLOSING && strcmp(c->peer, node) == 0)
        return c;
    return NULL;
}

static struct conn *
conn_new(struct gw *g, bool outbound)
{
    struct conn *c = xcalloc(1, sizeof(*c));

    c->gw = g;
    c->outbound = outbound;
    c->since = time(NULL);
    STAILQ_INIT(&c->pending);
    c->timer = event_new(g->base, -1, 0, conn_timer_cb, c);
    LIST_INSERT_HEAD(&g->conns, c, entry);
    return c;
}

/* The read buffer goes with c: a read callback may still be on it. */
static void
conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    free(c->rbuf);
    free(c);
}

/* The one place a connection is torn down. */
void
conn_close(struct conn *c, const char *why)
{
    struct pending *p;
    bool was_up = c->state == CONN_UP;
    enum conn_state prev = c->state;
    struct timeval zero = {0, 0};

    if (c->state == CONN_CLOSING)
        return;
    if (c->on_down != NULL) {
        /* A one-shot command reports it itself, with the step. */
        log_debug("%s %s: %s: %s", c->addr, c->peer,
                  c->state == CONN_HANDSHAKE ? hs_step(&c->hs)
                                             : strconnstate(c->state),
                  why);
        c->on_down(c, why);
    } else if (was_up)
        log_info("%s: connection to %s closed: %s", c->addr, c->peer, why);
    else
        log_warnx("%s%s%s: %s failed: %s", c->addr, c->peer[0] ? " " : "",
                  c->peer,
                  c->state == CONN_HANDSHAKE ? hs_step(&c->hs)
                                             : strconnstate(c->state),
                  why);
    if (c->state == CONN_HANDSHAKE)
        c->gw->stats.handshakes_failed++;
    conn_enter_state(c, CONN_CLOSING);
    if (was_up)
        dispatch_conn_down(c);
    if (c->gw->on_conn_down != NULL && c->peer[0] != '\0') {
        char step[512];

        snprintf(step, sizeof(step), "%s: %s",
                 was_up                   ? "connection"
                 : prev == CONN_HANDSHAKE ? hs_step(&c->hs)
                 : prev == CONN_LOOKUP    ? "EPMD lookup"
                                          : strconnstate(prev),
                 why);
        c->gw->on_conn_down(c->gw, c->peer, step);
    }
    LIST_REMOVE(c, entry);
    if (c->rev != NULL)
        event_free(c->rev);
    if (c->coalescing)
        c->gw->coalescing--;
    if (c->coalesce != NULL) {
        evutil_socket_t tfd = event_get_fd(c->coalesce);

        event_free(c->coalesce);
        close(tfd);
    }
    if (c->bev != NULL) {
        /* What we still had to say (a handshake status such as
         * not_allowed) goes out before the close, as far as the socket
         * takes it without blocking: freeing the bufferevent drops it.
         * The bufferevent keeps the start of its output frozen to all
         * but itself (evbuffer_write and copyout fail on it): thaw it,
         * since the bufferevent goes next. SIGPIPE is ignored. */
        struct evbuffer *out = bufferevent_get_output(c->bev);
        evutil_socket_t fd = bufferevent_getfd(c->bev);

        if (fd >= 0 && evbuffer_get_length(out) > 0 &&
            evbuffer_unfreeze(out, 1) == 0)
            (void)evbuffer_write(out, fd);
        bufferevent_free(c->bev);
    }
    if (c->epmd_bev != NULL)
        bufferevent_free(c->epmd_bev);
    event_free(c->timer);
    while ((p = STAILQ_FIRST(&c->pending)) != NULL) {
        STAILQ_REMOVE_HEAD(&c->pending, entry);
        free(p);
    }
    if (c->cache != NULL) {
        etf_atom_cache_clear(c->cache);
        free(c->cache);
    }
    c->bev = c->epmd_bev = NULL;
    c->rev = c->coalesce = c->timer = NULL;
    /* Callbacks up the stack may still hold c: free it from the loop. */
    event_base_once(c->gw->base, -1, EV_TIMEOUT, conn_free_cb, c, &zero);
}

static void
conn_write(struct conn *c, const void *p, size_t n)
{
    if (n == 0)
        return;
    bufferevent_write(c->bev, p, n);
    c->last_write = time(NULL);
    c->gw->stats.bytes_out += n;
    if (!c->paused &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) > CONN_OUT_HIGH) {
        /* The peer reads slower than it makes us write (an echo, say). */
        c->paused = true;
        conn_reading(c, false);
        bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUT_LOW, 0);
        log_debug("%s: %u bytes unsent: reading paused", c->peer,
                  CONN_OUT_HIGH);
    }
}

static void
arm_timer(struct conn *c, int seconds)
{
    struct timeval tv = {seconds, 0};

    evtimer_add(c->timer, &tv);
}

/* The handshake is done: start ticking and send what waited. */
static void
conn_up(struct conn *c)
{
    struct pending *p;

    c->flags = c->hs.negotiated;
    c->peer_creation = c->hs.peer_creation;
    strcpy(c->peer, c->hs.peer_name);
    c->gw->stats.handshakes_ok++;
    c->last_read = c->last_write = c->since = time(NULL);
    conn_enter_state(c, CONN_UP);
    (c->on_up ? log_debug : log_info)(
        "%s: connected to %s (%s, flags 0x%llx)", c->addr, c->peer,
        c->outbound ? "outbound" : "inbound", (unsigned long long)c->flags);
    evtimer_del(c->timer);
    arm_timer(c, (int)(c->gw->ticktime / 4 ? c->gw->ticktime / 4 : 1));
    while ((p = STAILQ_FIRST(&c->pending)) != NULL) {
        STAILQ_REMOVE_HEAD(&c->pending, entry);
        conn_write(c, p->frame, p->len);
        free(p);
    }
    c->npending = 0;
    if (c->on_up != NULL)
        c->on_up(c);
    if (c->gw->on_conn_up != NULL)
        c->gw->on_conn_up(c->gw, c);
}

/* The acceptor's answer to a peer's name, as net_kernel decides it. */
static enum hs_status
pick_status(struct conn *c)
{
    struct gw *g = c->gw;
    struct conn *other;

    LIST_FOREACH(other, &g->conns, entry)
    {
        if (other == c || other->state == CONN_CLOSING)
            continue;
        if (strcmp(other->peer, c->hs.peer_name) != 0)
            continue;
        if (other->state == CONN_UP)
            return HS_STATUS_ALIVE; /* the peer restarted: ask */
        /* Both dialled at once: the greater name keeps its own. */
        if (strcmp(g->name, c->hs.peer_name) > 0)
            return HS_STATUS_NOK;
        conn_close(other, "simultaneous connect: the peer's wins");
        return HS_STATUS_OK_SIMULTANEOUS;
    }
    return HS_STATUS_OK;
}

static void
handshake_step(struct conn *c, enum hs_result r)
{
    struct conn *old, *next;

    if (r == HS_ASK_STATUS) {
        enum hs_status st = pick_status(c);

        strcpy(c->peer, c->hs.peer_name);
        r = hs_status(&c->hs, st);
        if (st == HS_STATUS_ALIVE)
            log_info("%s: %s reconnects while its old connection is up",
                     c->addr, c->peer);
    }
    conn_write(c, c->hs.out, c->hs.outlen);
    if (r == HS_FAIL) {
        conn_close(c, c->hs.error);
        return;
    }
    if (r == HS_COMPLETE) {
        /* An old connection to the same node is stale now. Not through
         * conn_find: it finds c itself first (c is the newest and has
         * its peer's name), and the old one would stay up. */
        for (old = LIST_FIRST(&c->gw->conns); old != NULL; old = next) {
            next = LIST_NEXT(old, entry);
            if (old != c && old->state != CONN_CLOSING &&
                strcmp(old->peer, c->hs.peer_name) == 0)
                conn_close(old, "replaced by a new connection");
        }
        conn_up(c);
    }
}

static void
handle_frame(struct conn *c, const uint8_t *p, size_t n, etf_arena *a)
{
    struct ctl_msg m;
    char why[256];

    c->gw->stats.bytes_in += n + 4;
    if (n == 0) {
        /* A tick. Answer it, so a peer with a short ticktime keeps us. */
        if (time(NULL) - c->last_write >= 1)
            conn_write(c, "\0\0\0\0", 4);
        return;
    }
    etf_arena_reset(a);
    if (ctl_parse(a, p, n, c->cache, &m, why, sizeof(why)) < 0) {
        conn_close(c, why);
        return;
    }
    log_trace("%s: %s", c->peer, ctl_opname(m.op));
    dispatch(c, &m, a);
}

/* The length header of the frame at p (have bytes): FRAME_OK with *plen
 * when the whole frame is there, FRAME_NEED_MORE, or FRAME_REJECT after
 * closing c with the reason. */
static enum frame_result
conn_frame_len(struct conn *c, const uint8_t *p, size_t have, size_t *plen)
{
    size_t hdr = c->state == CONN_UP ? 4 : c->hs.pkt_len;
    enum frame_result fr;
    char why[128];

    fr = frame_next(p, have, (unsigned)hdr,
                    c->state == CONN_UP ? c->gw->max_frame : HS_MAX_MSG, plen);
    if (fr != FRAME_REJECT)
        return fr;
    /* 0x15/0x16 0x03 starts a TLS alert or handshake record: a TLS peer
     * where we speak plain TCP. */
    if (c->state == CONN_HANDSHAKE && (p[0] == 0x15 || p[0] == 0x16) &&
        p[1] == 0x03 && c->gw->tls == NULL)
        snprintf(why, sizeof(why), "%s",
                 c->outbound ? "the peer speaks TLS, we dialled it "
                               "in plain TCP"
                             : "the peer speaks TLS, this port plain TCP");
    else
        snprintf(why, sizeof(why), "frame of %zu bytes is over the limit",
                 *plen);
    conn_close(c, why);
    return FRAME_REJECT;
}

/* One whole frame, without its length header: a handshake message or a
 * distribution frame. False if c is closed now. */
static bool
conn_frame(struct conn *c, const uint8_t *p, size_t n, etf_arena **a)
{
    if (c->state == CONN_HANDSHAKE) {
        handshake_step(c, hs_input(&c->hs, p, n));
        return c->state == CONN_HANDSHAKE || c->state == CONN_UP;
    }
    if (*a == NULL && (*a = etf_arena_new()) == NULL) {
        conn_close(c, "out of memory");
        return false;
    }
    handle_frame(c, p, n, *a);
    return c->state == CONN_UP;
}

static size_t
conn_hdr_len(const struct conn *c)
{
    return c->state == CONN_UP ? 4 : c->hs.pkt_len;
}

/* TLS: frames come out of the bufferevent's input buffer. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    etf_arena *a = NULL;
    uint8_t head[4];
    size_t have, plen, hdr;
    enum frame_result fr;

    c->last_read = time(NULL);
    while (c->state == CONN_HANDSHAKE || c->state == CONN_UP) {
        hdr = conn_hdr_len(c);
        have = evbuffer_get_length(in);
        if (have < hdr)
            break;
        evbuffer_copyout(in, head, hdr);
        if ((fr = conn_frame_len(c, head, hdr, &plen)) == FRAME_REJECT)
            break;
        if (have - hdr < plen)
            break;
        /* Closing c frees the buffer: drain only while it is open. */
        if (!conn_frame(c, evbuffer_pullup(in, (ssize_t)(hdr + plen)) + hdr,
                        plen, &a))
            break;
        evbuffer_drain(in, hdr + plen);
    }
    etf_arena_free(a);
}

/* Make room in c->rbuf for the next read: at least CONN_RBUF_MIN, and
 * for a frame longer than that, room for all of it, grown by doubling so
 * that memory follows the bytes that came rather than the length a peer
 * announced. */
static int
conn_rbuf_reserve(struct conn *c)
{
    size_t hdr = conn_hdr_len(c), want = CONN_RBUF_MIN, plen, cap;
    uint8_t *p;

    if (c->rlen >= hdr &&
        frame_next(c->rbuf, c->rlen, (unsigned)hdr, SIZE_MAX, &plen) ==
            FRAME_NEED_MORE &&
        hdr + plen > want)
        want = hdr + plen;
    if (c->rcap >= want && c->rcap > c->rlen)
        return 0;
    cap = c->rcap < CONN_RBUF_MIN ? CONN_RBUF_MIN : c->rcap;
    while (cap < want && cap <= c->rlen * 2)
        cap *= 2;
    if (cap > want && want > CONN_RBUF_MIN)
        cap = want;
    if (cap <= c->rlen)
        cap = c->rlen + CONN_RBUF_MIN; /* never read into no room */
    if ((p = realloc(c->rbuf, cap)) == NULL)
        return -1;
    c->rbuf = p;
    c->rcap = cap;
    return 0;
}

/* Act on every whole frame in c->rbuf and keep the rest at its start.
 * False if c is closed now. */
static bool
conn_rbuf_frames(struct conn *c, unsigned *frames)
{
    etf_arena *a = NULL;
    size_t off = 0, plen, hdr;
    enum frame_result fr;
    bool open = true;

    while (open) {
        hdr = conn_hdr_len(c);
        fr = conn_frame_len(c, c->rbuf + off, c->rlen - off, &plen);
        if (fr == FRAME_REJECT)
            open = false;
        else if (fr == FRAME_NEED_MORE)
            break;
        else {
            open = conn_frame(c, c->rbuf + off + hdr, plen, &a);
            off += hdr + plen;
            (*frames)++;
        }
    }
    etf_arena_free(a);
    if (open && off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    return open;
}

/* Batched reads. A peer that streams small messages would otherwise wake
 * us for every few of them, and each wakeup costs the sender too: its
 * write has to wake us, and on a small machine we then take its core.
 * A wakeup that finds several frames waiting shows a stream: we then ask
 * the kernel to wake us only once CONN_COALESCE_BYTES wait (SO_RCVLOWAT),
 * and read what is left after coalesce_us. A wakeup that finds less ends
 * it, so a request and its answer (one frame a wakeup) never wait. The
 * cost: in a stream, a message may wait up to coalesce_us.
 * The wait has a timerfd of its own, made when the connection first
 * streams: libevent's timers are whole milliseconds on epoll unless the
 * loop pays a syscall on every turn for precise ones. */
static void conn_sock_read_cb(evutil_socket_t, short, void *);

static void
conn_coalesce_timer_cb(evutil_socket_t tfd, short what, void *arg)
{
    struct conn *c = arg;
    uint64_t expirations;

    (void)what;
    if (read(tfd, &expirations, sizeof(expirations)) < 0)
        return; /* not expired after all (EAGAIN) */
    conn_sock_read_cb(event_get_fd(c->rev), EV_TIMEOUT, c);
}

static void
conn_coalesce_arm(struct conn *c, unsigned usec)
{
    struct itimerspec its = {.it_value = {.tv_sec = usec / 1000000,
                                          .tv_nsec = usec % 1000000 * 1000}};

    (void)timerfd_settime(event_get_fd(c->coalesce), 0, &its, NULL);
}

static int
conn_set_lowat(evutil_socket_t fd, int bytes)
{
    return setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes));
}

/* Start batching c's reads; false if it cannot (out of fds). */
static bool
conn_coalesce_start(struct conn *c, evutil_socket_t fd)
{
    int tfd;

    if (c->coalesce == NULL) {
        if ((tfd = timerfd_create(CLOCK_MONOTONIC,
                                  TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
            return false;
        c->coalesce = event_new(c->gw->base, tfd, EV_READ | EV_PERSIST,
                                conn_coalesce_timer_cb, c);
        if (c->coalesce == NULL || event_add(c->coalesce, NULL) < 0) {
            if (c->coalesce != NULL)
                event_free(c->coalesce);
            c->coalesce = NULL;
            close(tfd);
            return false;
        }
    }
    if (conn_set_lowat(fd, CONN_COALESCE_BYTES) < 0)
        return false;
    c->coalescing = true;
    c->gw->coalescing++;
    c->gw->stats.coalesce_starts++;
    return true;
}

/* After a wakeup that acted on frames: batch the next reads, or not.
 * more: the read budget ran out with bytes perhaps left in the socket,
 * which must not wait for the low mark: the timer reads them at once. */
static void
conn_coalesce(struct conn *c, evutil_socket_t fd, unsigned frames, bool more)
{
    if (c->gw->coalesce_us == 0)
        return;
    if (frames >= CONN_COALESCE_FRAMES && !c->paused) {
        if (c->coalescing || conn_coalesce_start(c, fd))
            conn_coalesce_arm(c, more ? 1 : c->gw->coalesce_us);
    } else if (c->coalescing) {
        if (conn_set_lowat(fd, 1) < 0) {
            /* the low mark stays up: so must the timer */
            conn_coalesce_arm(c, c->gw->coalesce_us);
            return;
        }
        c->coalescing = false;
        c->gw->coalescing--;
        conn_coalesce_arm(c, 0);
    }
}

/* Plain TCP: read what the socket has, up to a budget per wakeup so that
 * one busy peer does not keep the others waiting, and act on the frames.
 * A bufferevent would read 4 KiB a time, each after an ioctl, and copy a
 * frame that spans its chunks before it could be read whole. Called when
 * the socket is readable, and by the coalesce timer. */
static void
conn_sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    size_t budget = CONN_READ_BUDGET, space;
    unsigned frames = 0;
    ssize_t n;

    (void)what;
    c->gw->stats.read_wakeups++;
    while (budget > 0 && !c->paused) {
        if (conn_rbuf_reserve(c) < 0) {
            conn_close(c, "out of memory");
            return;
        }
        space = c->rcap - c->rlen;
        if ((n = recv(fd, c->rbuf + c->rlen, space, 0)) <= 0) {
            if (n == -1 && (errno == EAGAIN || errno == EINTR))
                break;
            conn_close(c,
                       n == 0 ? "peer closed the connection" : strerror(errno));
            return;
        }
        c->last_read = time(NULL);
        c->rlen += (size_t)n;
        if (!conn_rbuf_frames(c, &frames))
            return;
        if ((size_t)n < space)
            break; /* nothing more for now */
        budget -= (size_t)n < budget ? (size_t)n : budget;
    }
    if (c->rlen == 0) {
        free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
    }
    conn_coalesce(c, fd, frames, budget == 0 && !c->paused);
}

/* Start or stop reading from the peer. */
static void
conn_reading(struct conn *c, bool on)
{
    if (c->rev == NULL)
        (on ? bufferevent_enable : bufferevent_disable)(c->bev, EV_READ);
    else if (on)
        event_add(c->rev, NULL);
    else
        event_del(c->rev);
}

/* Plain TCP: this connection reads its socket itself (conn_sock_read_cb);
 * the bufferevent only writes. */
static int
conn_own_reads(struct conn *c, evutil_socket_t fd)
{
    c->rev =
        event_new(c->gw->base, fd, EV_READ | EV_PERSIST, conn_sock_read_cb, c);
    if (c->rev == NULL)
        return -1;
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_enable(c->bev, EV_WRITE);
    return event_add(c->rev, NULL);
}

/* Everything written has gone to the kernel. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    if (c->paused) {
        c->paused = false;
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        conn_reading(c, true);
        log_debug("%s: output drained: reading again", c->peer);
    }
    if (c->state == CONN_UP && c->on_drained != NULL &&
        evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        c->on_drained(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    char why[128];

    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        nodelay(bufferevent_getfd(bev));
        if (c->gw->tls == NULL &&
            conn_own_reads(c, bufferevent_getfd(bev)) < 0) {
            conn_close(c, "cannot set up the connection");
            return;
        }
        log_debug("%s: connected, handshake as initiator with %s", c->addr,
                  c->peer);
        conn_enter_state(c, CONN_HANDSHAKE);
        conn_write(c, c->hs.out, c->hs.outlen);
        arm_timer(c, HS_TIMEOUT_SEC);
        return;
    }
    if (what & BEV_EVENT_EOF)
        snprintf(why, sizeof(why), "peer closed the connection");
    else if (c->gw->tls != NULL && c->state != CONN_UP)
        tls_error(bev, why, sizeof(why));
    else if (EVUTIL_SOCKET_ERROR() == 0)
        snprintf(why, sizeof(why), "peer closed the connection");
    else
        snprintf(why, sizeof(why), "%s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    conn_close(c, why);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct gw *g = c->gw;
    time_t now = time(NULL);
    int quarter = (int)(g->ticktime / 4 ? g->ticktime / 4 : 1);

    (void)fd;
    (void)what;
    if (c->state != CONN_UP) {
        conn_close(c, "timed out");
        return;
    }
    if (c->paused)
        c->last_read = now; /* we are the ones not reading */
    if (now - c->last_read > (time_t)g->ticktime) {
        conn_close(c, "net_tick_timeout: nothing read for a tick time");
        return;
    }
    if (now - c->last_write >= quarter)
        conn_write(c, "\0\0\0\0", 4);
    arm_timer(c, quarter);
}

/* Small control messages go out at once, as OTP sets for its sockets. */
static void
nodelay(evutil_socket_t fd)
{
    int one = 1;

    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
    struct gw *g = arg;
    struct conn *c;

    (void)l;
    (void)salen;
    c = conn_new(g, false);
    addr_fmt(sa, c->addr, sizeof(c->addr));
    nodelay(fd);
    /* Inside TLS the handshake messages have 4-byte lengths. */
    c->bev = g->tls != NULL
                 ? tls_accept_bev(g->tls, g->base, fd)
                 : bufferevent_socket_new(g->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL ||
        hs_init_acceptor(&c->hs, g->name, g->flags, g->creation, g->cookie,
                         g->tls != NULL ? 4 : 2) < 0) {
        conn_close(c, "cannot set up the connection");
        return;
    }
    conn_enter_state(c, CONN_HANDSHAKE);
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    if (g->tls != NULL)
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    else if (conn_own_reads(c, fd) < 0) {
        conn_close(c, "cannot set up the connection");
        return;
    }
    arm_timer(c, HS_TIMEOUT_SEC);
    log_debug("%s: accepted, waiting for the peer's name", c->addr);
}

static void
resume_accept_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evconnlistener_enable(arg);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();

    (void)arg;
    log_warnx("accept: %s", evutil_socket_error_to_string(err));
    if (err == EMFILE || err == ENFILE) {
        /* Out of descriptors: pause a second rather than spin. */
        struct timeval tv = {1, 0};

        evconnlistener_disable(l);
        event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT,
                        resume_accept_cb, l, &tv);
    }
}

/* Listen on one address family at port; returns the listener or NULL. */
static struct evconnlistener *
listen_on(struct gw *g, int family, unsigned port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    evutil_socket_t fd;
    int one = 1;
    struct evconnlistener *l;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_any;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
        s4->sin_port = htons((uint16_t)port);
        len = sizeof(*s4);
    }
    fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    evutil_make_socket_nonblocking(fd);
    evutil_make_socket_closeonexec(fd);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
        close(fd);
        return NULL;
    }
    l = evconnlistener_new(g->base, accept_cb, g, LEV_OPT_CLOSE_ON_FREE, -1,
                           fd);
    if (l == NULL)
        close(fd);
    else
        evconnlistener_set_error_cb(l, accept_error_cb);
    return l;
}

int
gw_listen(struct gw *g, unsigned port_min, unsigned port_max)
{
    unsigned port;
    struct evconnlistener *l4, *l6;

    for (port = port_min; port <= port_max; port++) {
        l4 = listen_on(g, AF_INET, port);
        l6 = listen_on(g, AF_INET6, port);
        if (l4 == NULL && l6 == NULL)
            continue;
        /* Both families or what the host has; never half of a port
         * another process holds the other half of. */
        if (l4 == NULL && errno == EADDRINUSE) {
            evconnlistener_free(l6);
            continue;
        }
        if (l4 != NULL)
            g->listeners[g->nlisteners++] = l4;
        if (l6 != NULL)
            g->listeners[g->nlisteners++] = l6;
        g->port = (uint16_t)port;
        return 0;
    }
    return -1;
}

/* Split alive@host. */
static int
split_node(const char *node, char *alive, size_t alen, char *host, size_t hlen)
{
    const char *at = strchr(node, '@');

    if (!hs_name_ok(node, strlen(node)) || at == NULL ||
        (size_t)(at - node) >= alen || strlen(at + 1) >= hlen)
        return -1;
    memcpy(alive, node, (size_t)(at - node));
    alive[at - node] = '\0';
    strcpy(host, at + 1);
    return 0;
}

struct conn *
conn_connect(struct gw *g, const char *node)
{
    return conn_connect_at(g, node, NULL, 0);
}

struct conn *
conn_connect_at(struct gw *g, const char *node, const struct sockaddr *sa,
                socklen_t salen)
{
    struct conn *c;
    char alive[256], host[256];

    if ((c = conn_find(g, node)) != NULL)
        return c;
    if (split_node(node, alive, sizeof(alive), host, sizeof(host)) < 0)
        return NULL;
    c = conn_new(g, true);
    snprintf(c->peer, sizeof(c->peer), "%s", node);
    snprintf(c->host, sizeof(c->host), "%s", host);
    snprintf(c->addr, sizeof(c->addr), "%s", host);
    if (hs_init_initiator(&c->hs, g->name, g->flags, g->creation, g->cookie,
                          node, g->tls != NULL ? 4 : 2) < 0) {
        conn_close(c, "cannot start a handshake");
        return NULL;
    }
    if (sa != NULL && salen <= sizeof(c->peer_ss)) {
        memcpy(&c->peer_ss, sa, salen);
        c->peer_sslen = salen;
    }
    conn_enter_state(c, CONN_LOOKUP);
    arm_timer(c, HS_TIMEOUT_SEC);
    if (epmdc_lookup(g, c, host, alive) < 0)
        return NULL; /* closed with the reason */
    return c;
}

void
conn_dial(struct conn *c, const struct sockaddr *sa, socklen_t len)
{
    addr_fmt(sa, c->addr, sizeof(c->addr));
    c->bev =
        c->gw->tls != NULL
            ? tls_connect_bev(c->gw->tls, c->gw->base, c->host)
            : bufferevent_socket_new(c->gw->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        conn_close(c, "out of memory");
        return;
    }
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    /* Over plain TCP reads start once connected (conn_own_reads). */
    bufferevent_enable(c->bev,
                       c->gw->tls != NULL ? EV_READ | EV_WRITE : EV_WRITE);
    conn_enter_state(c, CONN_CONNECTING);
    if (bufferevent_socket_connect(c->bev, sa, (int)len) < 0)
        conn_close(c, "connect failed");
}

int
conn_send(struct conn *c, const etf_term *ctl, const etf_term *msg)
{
    etf_writer w;
    struct pending *p;
    uint8_t *frame;
    size_t len;

    if (etf_writer_init_dynamic(&w, 256) < 0)
        return -1;
    if (ctl_frame(&w, ctl, msg) < 0) {
        log_warnx("%s: cannot encode a message: %s", c->peer, w.err.msg);
        etf_writer_free(&w);
        return -1;
    }
    frame = etf_writer_release(&w, &len);
    c->gw->stats.msgs_out++;
    if (c->state == CONN_UP) {
        conn_write(c, frame, len);
        free(frame);
        return 0;
    }
    if (c->npending >= CONN_MAX_PENDING) {
        c->gw->stats.dropped++;
        log_warnx("%s: %zu messages wait for the connection; dropped one",
                  c->peer, c->npending);
        free(frame);
        return -1;
    }
    p = xmalloc(sizeof(*p) + len);
    p->len = len;
    memcpy(p->frame, frame, len);
    free(frame);
    STAILQ_INSERT_TAIL(&c->pending, p, entry);
    c->npending++;
    return 0;
}

int
gw_send_to_node(struct gw *g, const char *node, const etf_term *ctl,
                const etf_term *msg)
{
    struct conn *c = conn_connect(g, node);

    if (c == NULL)
        return -1;
    return conn_send(c, ctl, msg);
}
