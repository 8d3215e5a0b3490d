/*
 * One client connection: read one request, answer it, and either close or,
 * for a registration, hold the connection for as long as the node lives.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "addr.h"
#include "epmd_wire.h"
#include "log.h"
#include "registry.h"
#include "server_int.h"
#include "xmalloc.h"

/* Debug logs format their arguments (peer text, escaped names) only when
 * they will be printed: these run for every request. */
#define S_DEBUG(...)                                                           \
    do {                                                                       \
        if (log_getverbose() >= 1)                                             \
            log_debug(__VA_ARGS__);                                            \
    } while (0)
#define S_TRACE(...)                                                           \
    do {                                                                       \
        if (log_getverbose() >= 2)                                             \
            log_trace(__VA_ARGS__);                                            \
    } while (0)

enum session_state {
    S_READ_REQUEST, /* waiting for a whole request */
    S_REPLY,        /* flushing a reply, then close */
    S_REGISTERED,   /* ALIVE2 answered: the socket is the registration */
    S_KILL,         /* flushing "OK" to KILL_REQ, then stop the daemon */
    S_CLOSED
};

struct session {
    struct server *srv;
    struct bufferevent *bev;
    int fd;
    enum session_state state;
    struct epmd_wire_framer framer;
    int local; /* loopback peer, or our own address */
    struct sockaddr_storage peer_addr;
    char peer[ADDR_STRLEN];     /* peer_addr as text, made when first logged */
    struct registry_node *node; /* held while S_REGISTERED */
    struct session *prev, *next;
};

static void session_read_cb(struct bufferevent *bev, void *arg);
static int session_input(struct session *s);
static bool session_quick_port2(struct server *srv, int fd, const uint8_t *buf,
                                size_t n);
static void session_write_cb(struct bufferevent *bev, void *arg);
static void session_event_cb(struct bufferevent *bev, short what, void *arg);

static const char *
session_strstate(enum session_state st)
{
    switch (st) {
    case S_READ_REQUEST:
        return "READ_REQUEST";
    case S_REPLY:
        return "REPLY";
    case S_REGISTERED:
        return "REGISTERED";
    case S_KILL:
        return "KILL";
    case S_CLOSED:
        return "CLOSED";
    }
    return "?";
}

/* The peer's address as text, for logs; formatted on first use. */
static const char *
session_peer(struct session *s)
{
    if (s->peer[0] == '\0')
        addr_fmt((struct sockaddr *)&s->peer_addr, s->peer, sizeof(s->peer));
    return s->peer;
}

/* Change state; the only place that does. */
static void
session_enter_state(struct session *s, enum session_state st)
{
    S_TRACE("%s fd %d: %s -> %s", session_peer(s), s->fd,
            session_strstate(s->state), session_strstate(st));
    s->state = st;
}

/* Close the connection and forget the session; the only bufferevent_free.
 * A registration ends here, with its connection. */
static void
session_teardown(struct session *s)
{
    struct server *srv = s->srv;
    char name[LOG_ESCAPE_SIZE(EPMD_MAXSYMLEN)];
    struct epmd_node_info info;

    if (s->node != NULL) {
        registry_info(s->node, &info);
        S_DEBUG("%s: unregistering \"%s\", port %u", session_peer(s),
                log_escape(info.name, info.name_len, name, sizeof(name)),
                info.port);
        registry_unregister(srv->reg, s->node);
        srv->metrics->unregistrations++;
        s->node = NULL;
    }
    session_enter_state(s, S_CLOSED);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    bufferevent_free(s->bev);
    srv->metrics->connections_open--;
    free(s);
}

/* Refuse a peer: log why, count it, close without a reply (as OTP does). */
static void
session_refuse(struct session *s, enum metrics_refusal why, const char *step,
               const char *detail)
{
    s->srv->metrics->refusals[why]++;
    log_warnx("%s: %s refused: %s", session_peer(s), step, detail);
    session_teardown(s);
}

/* The reply is out: close, stop the daemon, or keep a registration. */
static int
session_written(struct session *s)
{
    struct server *srv = s->srv;

    switch (s->state) {
    case S_REPLY:
        session_teardown(s);
        return 0;
    case S_KILL:
        session_teardown(s);
        srv->killed = 1;
        event_base_loopexit(srv->base, NULL);
        return 0;
    default:
        return 1;
    }
}

/* Write what is queued now; most replies fit the socket buffer at once,
 * which spares a trip through the event loop. Whatever is left goes out
 * when the socket is writable. */
static int
session_flush(struct session *s)
{
    struct evbuffer *out = bufferevent_get_output(s->bev);
    int n = 0;

    /* A bufferevent freezes the start of its output for itself. */
    evbuffer_unfreeze(out, 1);
    while (evbuffer_get_length(out) > 0 && (n = evbuffer_write(out, s->fd)) > 0)
        ;
    evbuffer_freeze(out, 1);
    if (evbuffer_get_length(out) == 0)
        return session_written(s);
    if (n == -1 && errno != EAGAIN && errno != EINTR) {
        S_DEBUG("%s: write error while replying: %s", session_peer(s),
                strerror(errno));
        if (s->state == S_KILL) {
            s->srv->killed = 1;
            event_base_loopexit(s->srv->base, NULL);
        }
        session_teardown(s); /* a registration ends here too */
        return 0;
    }
    bufferevent_enable(s->bev, EV_WRITE);
    return 1;
}

/* Queue a reply, move to st and send it. S_REPLY and S_KILL close once it
 * is written; S_REGISTERED keeps reading (any byte means unregister).
 * Returns 0 if the session is gone. */
static int
session_reply(struct session *s, const void *buf, size_t len,
              enum session_state st)
{
    struct evbuffer *out = bufferevent_get_output(s->bev);

    if (len > 0 && s->srv->cfg->delay_write > 0)
        sleep((unsigned)s->srv->cfg->delay_write);
    if (len > 0 && evbuffer_add(out, buf, len) == -1)
        fatalx("evbuffer_add: out of memory");
    session_enter_state(s, st);
    if (st == S_REGISTERED)
        bufferevent_enable(s->bev, EV_READ);
    else
        bufferevent_disable(s->bev, EV_READ);
    return session_flush(s);
}

void
session_open(struct server *srv, int fd, const struct sockaddr *peer,
             int peerlen)
{
    struct session *s;
    struct sockaddr_storage self;
    socklen_t selflen = sizeof(self);
    struct timeval tv;
    struct evbuffer *in;
    uint8_t first[EPMD_INBUF_SIZE - 1];
    ssize_t n;

    /* Clients send their request right after connecting: if it is already
     * here, it may be answered now, without waiting for the event loop. */
    n = recv(fd, first, sizeof(first), 0);
    if (n > 0 && session_quick_port2(srv, fd, first, (size_t)n))
        return;
    s = xcalloc(1, sizeof(*s));
    s->srv = srv;
    s->fd = fd;
    s->state = S_READ_REQUEST;
    epmd_wire_framer_init(&s->framer);
    memcpy(&s->peer_addr, peer,
           (size_t)peerlen < sizeof(s->peer_addr) ? (size_t)peerlen
                                                  : sizeof(s->peer_addr));
    /* Local: loopback, or a connection from this host's own address. */
    s->local = addr_is_loopback(peer) ||
               (getsockname(fd, (struct sockaddr *)&self, &selflen) == 0 &&
                addr_same_ip(peer, (struct sockaddr *)&self));
    s->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (s->bev == NULL) {
        log_warnx("%s: cannot create a buffer event", session_peer(s));
        close(fd);
        free(s);
        return;
    }
    bufferevent_setcb(s->bev, session_read_cb, session_write_cb,
                      session_event_cb, s);
    /* Read no more than OTP's buffer holds before the header is known. */
    bufferevent_setwatermark(s->bev, EV_READ, 0, EPMD_INBUF_SIZE - 1);
    tv.tv_sec = srv->cfg->packet_timeout;
    tv.tv_usec = 0;
    bufferevent_set_timeouts(s->bev, &tv, &tv);
    /* Writes are attempted directly; the write event is only for leftovers. */
    bufferevent_disable(s->bev, EV_WRITE);
    s->next = srv->sessions;
    if (s->next != NULL)
        s->next->prev = s;
    srv->sessions = s;
    srv->metrics->connections++;
    srv->metrics->connections_open++;
    S_TRACE("%s fd %d: %s peer connected", session_peer(s), fd,
            s->local ? "local" : "non-local");
    if (n > 0) {
        in = bufferevent_get_input(s->bev);
        evbuffer_unfreeze(in, 0); /* the bufferevent keeps its end frozen */
        if (evbuffer_add(in, first, (size_t)n) == -1)
            fatalx("evbuffer_add: out of memory");
        evbuffer_freeze(in, 0);
    }
    if (n > 0) {
        if (session_input(s) && s->state == S_READ_REQUEST)
            bufferevent_enable(s->bev, EV_READ);
    } else if (n == 0) {
        S_DEBUG("%s: closed without sending a request", session_peer(s));
        session_teardown(s);
    } else if (errno == EAGAIN || errno == EINTR)
        bufferevent_enable(s->bev, EV_READ);
    else {
        S_DEBUG("%s: read error: %s", session_peer(s), strerror(errno));
        session_teardown(s);
    }
}

void
session_close_all(struct server *srv)
{
    while (srv->sessions != NULL)
        session_teardown(srv->sessions);
}

/* ALIVE2_REQ: register, answer, and keep the connection. */
static int
session_alive2(struct session *s, const struct epmd_node_info *n)
{
    struct server *srv = s->srv;
    char name[LOG_ESCAPE_SIZE(EPMD_MAXSYMLEN)];
    enum epmd_alive2_refusal why;
    uint8_t out[6];
    size_t olen;
    uint32_t creation = EPMD_REFUSED_CREATION;
    uint8_t result = 1;

    log_escape(n->name, n->name_len, name, sizeof(name));
    if ((why = epmd_wire_alive2_check(n)) != EPMD_ALIVE2_ACCEPTABLE) {
        srv->metrics
            ->refusals[why == EPMD_ALIVE2_EXTRA_TOO_LONG ? REFUSE_EXTRA_TOO_LONG
                                                         : REFUSE_BAD_NAME]++;
        log_warnx("%s: ALIVE2_REQ for \"%s\" refused: %s", session_peer(s),
                  name, epmd_wire_strrefusal(why));
    } else if ((s->node = registry_register(srv->reg, n, s->fd, s)) == NULL) {
        srv->metrics->refusals[REFUSE_NAME_TAKEN]++;
        log_warnx("%s: ALIVE2_REQ for \"%s\" refused: name already "
                  "registered",
                  session_peer(s), name);
    } else {
        result = 0;
        creation = registry_creation(s->node);
        srv->metrics->registrations++;
        S_DEBUG("%s: ALIVE2_REQ registered \"%s\" port %u type %u proto "
                "%u vsn %u-%u creation %u",
                session_peer(s), name, n->port, n->node_type, n->protocol,
                n->low_vsn, n->high_vsn, creation);
    }
    olen =
        epmd_wire_alive2_resp(out, sizeof(out), n->high_vsn, result, creation);
    /* Held open even when refused, as OTP does; no idle timeout. */
    bufferevent_set_timeouts(s->bev, NULL, NULL);
    return session_reply(s, out, olen, S_REGISTERED);
}

/* The PORT2_RESP to a request: the node's entry or "not found". Sets
 * *port to the node's port, 0 if it is not registered. */
static size_t
port2_resp(struct server *srv, const struct epmd_request *req, uint8_t *out,
           size_t cap, unsigned *port)
{
    struct registry_node *node;
    struct epmd_node_info info;

    node = registry_lookup(srv->reg, req->name, req->name_len);
    if (node == NULL) {
        *port = 0;
        return epmd_wire_port2_resp(out, cap, NULL);
    }
    registry_info(node, &info);
    *port = info.port;
    return epmd_wire_port2_resp(out, cap, &info);
}

/* PORT_PLEASE2_REQ: answer with the node's entry or "not found". */
static int
session_port2(struct session *s, const struct epmd_request *req)
{
    char name[LOG_ESCAPE_SIZE(EPMD_MAXSYMLEN)];
    uint8_t out[EPMD_PORT2_RESP_MAX];
    size_t olen;
    unsigned port;

    name[0] = '\0';
    if (log_getverbose() >= 1)
        log_escape(req->name, req->name_len, name, sizeof(name));
    olen = port2_resp(s->srv, req, out, sizeof(out), &port);
    if (port != 0)
        S_DEBUG("%s: PORT_PLEASE2_REQ \"%s\": port %u", session_peer(s), name,
                port);
    else
        S_DEBUG("%s: PORT_PLEASE2_REQ \"%s\": not registered", session_peer(s),
                name);
    return session_reply(s, out, olen, S_REPLY);
}

/*
 * Lookups are most of an epmd's work, and a lookup's whole request is
 * nearly always in the first read: answer it from the socket and close,
 * without a session (no bufferevent, no allocation). Anything else (other
 * requests, a partial or malformed one, -delay_write, and debug logging,
 * whose lines follow a session's steps) goes the session's way. Returns
 * false if the request is left to the session.
 */
static bool
session_quick_port2(struct server *srv, int fd, const uint8_t *buf, size_t n)
{
    struct epmd_wire_framer fr;
    struct epmd_wire_error err;
    struct epmd_request req;
    uint8_t out[EPMD_PORT2_RESP_MAX];
    size_t plen, olen;
    unsigned port;

    if (n < 3 || buf[2] != EPMD_PORT_PLEASE2_REQ || log_getverbose() > 0 ||
        srv->cfg->delay_write > 0)
        return false;
    epmd_wire_framer_init(&fr);
    if (epmd_wire_frame(&fr, buf, n, &plen, &err) != EPMD_WIRE_OK ||
        fr.want != n ||
        epmd_wire_parse_request(buf + 2, plen, &req, &err) != EPMD_WIRE_OK)
        return false;
    srv->metrics->connections++;
    srv->metrics->requests[metrics_req_type(EPMD_PORT_PLEASE2_REQ)]++;
    olen = port2_resp(srv, &req, out, sizeof(out), &port);
    /* A few hundred bytes into a new socket's empty buffer: one send, or
     * the peer is gone (and a reply cannot reach it either way). */
    (void)send(fd, out, olen, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    return true;
}

/* NAMES_REQ and DUMP_REQ: the port, then one line per node. */
static int
session_names(struct session *s, int dump)
{
    struct server *srv = s->srv;
    struct evbuffer *out = evbuffer_new();
    struct registry_node *n;
    struct epmd_node_info info;
    uint8_t line[64 + EPMD_MAXSYMLEN];
    size_t len;

    if (out == NULL)
        fatalx("evbuffer_new: out of memory");
    len = epmd_wire_names_header(line, sizeof(line), srv->cfg->port);
    evbuffer_add(out, line, len);
    for (n = registry_first(srv->reg); n != NULL; n = registry_next(n)) {
        registry_info(n, &info);
        if (dump)
            len =
                epmd_wire_dump_active(line, sizeof(line), info.name,
                                      info.name_len, info.port, registry_fd(n));
        else
            len = epmd_wire_names_line(line, sizeof(line), info.name,
                                       info.name_len, info.port);
        evbuffer_add(out, line, len);
    }
    for (n = dump ? registry_first_unreg(srv->reg) : NULL; n != NULL;
         n = registry_next(n)) {
        registry_info(n, &info);
        len = epmd_wire_dump_old(line, sizeof(line), info.name, info.name_len,
                                 info.port, registry_fd(n));
        evbuffer_add(out, line, len);
    }
    S_DEBUG("%s: %s: %zu active names", session_peer(s),
            dump ? "DUMP_REQ" : "NAMES_REQ", registry_count(srv->reg));
    if (srv->cfg->delay_write > 0)
        sleep((unsigned)srv->cfg->delay_write);
    bufferevent_write_buffer(s->bev, out);
    evbuffer_free(out);
    return session_reply(s, NULL, 0, S_REPLY);
}

/* KILL_REQ: stop the daemon, unless nodes live and we are not relaxed. */
static int
session_kill(struct session *s)
{
    struct server *srv = s->srv;

    if (!srv->cfg->relaxed && registry_count(srv->reg) > 0) {
        srv->metrics->refusals[REFUSE_KILL_LIVE]++;
        log_warnx("%s: KILL_REQ refused: %zu live nodes and no "
                  "-relaxed_command_check",
                  session_peer(s), registry_count(srv->reg));
        return session_reply(s, EPMD_KILL_NO, 2, S_REPLY);
    }
    S_DEBUG("%s: KILL_REQ accepted", session_peer(s));
    return session_reply(s, EPMD_KILL_OK, 2, S_KILL);
}

/* STOP_REQ: force a name out and close its registration connection. */
static int
session_stop(struct session *s, const struct epmd_request *req)
{
    char name[LOG_ESCAPE_SIZE(EPMD_MAXSYMLEN)];
    struct registry_node *node;
    struct session *owner;
    uint8_t out[14];

    log_escape(req->name, req->name_len, name, sizeof(name));
    node = registry_lookup(s->srv->reg, req->name, req->name_len);
    if (node == NULL) {
        S_DEBUG("%s: STOP_REQ \"%s\": not registered", session_peer(s), name);
        /* OTP sends NOEXIST and then STOPPED as well. */
        memcpy(out, EPMD_STOP_NOEXIST EPMD_STOP_OK, 14);
        return session_reply(s, out, 14, S_REPLY);
    }
    S_DEBUG("%s: STOP_REQ \"%s\": stopped", session_peer(s), name);
    owner = registry_owner(node);
    if (owner != NULL)
        session_teardown(owner); /* unregisters the node */
    else
        registry_unregister(s->srv->reg, node);
    return session_reply(s, EPMD_STOP_OK, 7, S_REPLY);
}

/* Map a parse error to a refusal reason. */
static enum metrics_refusal
session_refusal_of(int code)
{
    switch (code) {
    case EPMD_WIRE_EZEROLEN:
        return REFUSE_ZERO_LENGTH;
    case EPMD_WIRE_ETOOLARGE:
        return REFUSE_TOO_LARGE;
    case EPMD_WIRE_EEXCESS:
        return REFUSE_EXCESS;
    case EPMD_WIRE_EUNKNOWN:
        return REFUSE_UNKNOWN;
    case EPMD_WIRE_ENAME:
        return REFUSE_BAD_NAME;
    default:
        return REFUSE_MALFORMED;
    }
}

static const char *
session_reqname(uint8_t tag)
{
    switch (tag) {
    case EPMD_ALIVE2_REQ:
        return "ALIVE2_REQ";
    case EPMD_PORT_PLEASE2_REQ:
        return "PORT_PLEASE2_REQ";
    case EPMD_NAMES_REQ:
        return "NAMES_REQ";
    case EPMD_DUMP_REQ:
        return "DUMP_REQ";
    case EPMD_KILL_REQ:
        return "KILL_REQ";
    case EPMD_STOP_REQ:
        return "STOP_REQ";
    }
    return "request";
}

/* Act on one whole request payload; returns 0 if the session is gone. */
static int
session_request(struct session *s, const uint8_t *p, size_t len)
{
    struct server *srv = s->srv;
    struct epmd_request req;
    struct epmd_wire_error err;
    const char *what = session_reqname(p[0]);
    char detail[128];

    srv->metrics->requests[metrics_req_type(p[0])]++;
    S_DEBUG("%s: got %s (%zu bytes)", session_peer(s), what, len);
    switch (p[0]) {
    case EPMD_ALIVE2_REQ:
    case EPMD_DUMP_REQ:
    case EPMD_KILL_REQ:
    case EPMD_STOP_REQ:
        if (!s->local) {
            session_refuse(s, REFUSE_NON_LOCAL, what,
                           "only accepted from a local peer");
            return 0;
        }
        break;
    }
    if (p[0] == EPMD_STOP_REQ && !srv->cfg->relaxed) {
        session_refuse(s, REFUSE_NOT_RELAXED, what,
                       "needs -relaxed_command_check");
        return 0;
    }
    if (epmd_wire_parse_request(p, len, &req, &err) != EPMD_WIRE_OK) {
        if (err.code == EPMD_WIRE_EUNKNOWN)
            snprintf(detail, sizeof(detail), "unknown type %u", p[0]);
        else
            snprintf(detail, sizeof(detail), "%s at byte %zu", err.msg,
                     err.pos);
        session_refuse(s, session_refusal_of(err.code), what, detail);
        return 0;
    }
    switch (req.type) {
    case EPMD_ALIVE2_REQ:
        return session_alive2(s, &req.alive);
    case EPMD_PORT_PLEASE2_REQ:
        return session_port2(s, &req);
    case EPMD_NAMES_REQ:
        return session_names(s, 0);
    case EPMD_DUMP_REQ:
        return session_names(s, 1);
    case EPMD_KILL_REQ:
        return session_kill(s);
    case EPMD_STOP_REQ:
        return session_stop(s, &req);
    }
    fatalx("session_request: parsed type %u has no handler", req.type);
}

/* Act on what has been read; returns 0 if the session is gone. */
static int
session_input(struct session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    size_t len = evbuffer_get_length(in), plen, want;
    struct epmd_wire_error err;
    const uint8_t *buf;
    char detail[128];

    switch (s->state) {
    case S_READ_REQUEST:
        buf = evbuffer_pullup(in, -1);
        switch (epmd_wire_frame(&s->framer, buf, len, &plen, &err)) {
        case EPMD_WIRE_NEED_MORE:
            return 1;
        case EPMD_WIRE_REJECT:
            if (err.code == EPMD_WIRE_EEXCESS)
                snprintf(detail, sizeof(detail),
                         "got %zu bytes in packet, expected %zu", len - 2,
                         s->framer.want - 2);
            else
                snprintf(detail, sizeof(detail), "%s (length %u)", err.msg,
                         (unsigned)((buf[0] << 8) | buf[1]));
            session_refuse(s, session_refusal_of(err.code), "request", detail);
            return 0;
        }
        /* The request decides what happens: s may be gone afterwards. */
        want = s->framer.want;
        if (!session_request(s, buf + 2, plen))
            return 0;
        evbuffer_drain(in, want);
        if (s->state == S_REGISTERED && evbuffer_get_length(in) > 0) {
            /* OTP reads no further than the request, so these bytes would
             * reach it on the registration socket: unregister, as it does. */
            log_warnx("%s: got %zu bytes after the ALIVE2 request; "
                      "unregistering",
                      session_peer(s), evbuffer_get_length(in));
            session_teardown(s);
            return 0;
        }
        return 1;
    case S_REGISTERED:
        log_warnx("%s: got %zu bytes on a registration connection; "
                  "unregistering",
                  session_peer(s), len);
        session_teardown(s);
        return 0;
    default:
        evbuffer_drain(in, len);
        return 1;
    }
}

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    (void)session_input(arg);
}

static void
session_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    (void)session_written(arg);
}

static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct session *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    int e = EVUTIL_SOCKET_ERROR();

    if (what & BEV_EVENT_TIMEOUT) {
        s->srv->metrics->refusals[REFUSE_TIMEOUT]++;
        log_warnx("%s: closing: no whole request within %d s "
                  "(-packet_timeout), %zu bytes received",
                  session_peer(s), s->srv->cfg->packet_timeout,
                  evbuffer_get_length(in));
    } else if (s->state == S_READ_REQUEST) {
        s->srv->metrics->refusals[REFUSE_PARTIAL]++;
        if ((what & BEV_EVENT_EOF) && evbuffer_get_length(in) == 0)
            /* Port probes (health checks) do this all day: not a warning. */
            S_DEBUG("%s: closed without sending a request", session_peer(s));
        else if (what & BEV_EVENT_EOF)
            log_warnx("%s: closed after %zu bytes, before a whole request",
                      session_peer(s), evbuffer_get_length(in));
        else
            log_warnx("%s: read error before a whole request: %s",
                      session_peer(s), strerror(e));
    } else if (s->state == S_REGISTERED)
        S_DEBUG("%s: registration connection %s", session_peer(s),
                (what & BEV_EVENT_EOF) ? "closed" : strerror(e));
    else if (s->state == S_KILL) {
        s->srv->killed = 1;
        event_base_loopexit(s->srv->base, NULL);
    } else
        S_DEBUG("%s: %s while replying: %s", session_peer(s),
                (what & BEV_EVENT_WRITING) ? "write error" : "error",
                strerror(e));
    session_teardown(s);
}
