/*
 * Talking to EPMD as a node does: register (and keep the registration,
 * registering again when EPMD comes back), look up a node's port, list
 * names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "dist_proto.h"
#include "epmd_wire.h"
#include "gw.h"
#include "log.h"

/* A NAMES reply larger than this is refused (10,000 names fit easily). */
#define NAMES_MAX_REPLY (4u * 1024 * 1024)
/* Seconds between attempts to register again. */
#define EPMD_RETRY_SEC 1

static void (*registered_cb)(struct gw *, bool);
static void alive_connect(struct gw *g);

static void
alive_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    alive_connect(arg);
}

static void
alive_lost(struct gw *g, const char *why)
{
    struct timeval tv = {EPMD_RETRY_SEC, 0};

    if (g->alive != NULL) {
        bufferevent_free(g->alive);
        g->alive = NULL;
    }
    if (g->registered)
        log_warnx("EPMD registration of %s lost (%s); registering again",
                  g->name, why);
    else
        log_debug("EPMD registration of %s: %s; trying again", g->name, why);
    g->registered = false;
    if (g->epmd_retry == NULL)
        g->epmd_retry = evtimer_new(g->base, alive_retry_cb, g);
    evtimer_add(g->epmd_retry, &tv);
}

static void
alive_read_cb(struct bufferevent *bev, void *arg)
{
    struct gw *g = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct epmd_wire_error err;
    uint8_t buf[16];
    size_t n = evbuffer_get_length(in), used;
    uint8_t result;
    uint32_t creation;
    bool first = g->creation == 0;
    int rc;

    if (g->registered) {
        evbuffer_drain(in, n); /* EPMD sends nothing more */
        return;
    }
    if (n > sizeof(buf))
        n = sizeof(buf);
    evbuffer_copyout(in, buf, n);
    rc = epmd_wire_parse_alive2_resp(buf, n, &used, &result, &creation, &err);
    if (rc == EPMD_WIRE_NEED_MORE)
        return;
    evbuffer_drain(in, n);
    if (rc != EPMD_WIRE_OK) {
        alive_lost(g, err.msg);
        return;
    }
    if (result != 0) {
        log_warnx("EPMD refused %s: the name seems to be in use by another "
                  "node",
                  g->name);
        if (first && registered_cb != NULL) {
            registered_cb(g, false);
            return;
        }
        alive_lost(g, "name in use");
        return;
    }
    g->registered = true;
    if (first) {
        g->creation = creation;
        log_info("registered %s with EPMD on port %u (creation %u)", g->name,
                 g->port, creation);
        if (registered_cb != NULL)
            registered_cb(g, true);
    } else {
        /* Our pids keep the creation we started with, as an OTP node
         * keeps its own until it restarts distribution. */
        g->stats.reregistrations++;
        log_info("registered %s with EPMD again (EPMD gave creation %u, "
                 "keeping %u)",
                 g->name, creation, g->creation);
    }
}

/* Run `epmd -daemon -port P` from our own directory, as erl runs the
 * epmd of its installation. The daemon detaches; its parent exits at
 * once and is reaped here. */
static void
start_epmd(struct gw *g)
{
    char self[PATH_MAX], path[PATH_MAX + 8], port[16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;
    pid_t pid;

    if (n <= 0)
        return;
    self[n] = '\0';
    if ((slash = strrchr(self, '/')) == NULL)
        return;
    *slash = '\0';
    snprintf(path, sizeof(path), "%s/epmd", self);
    snprintf(port, sizeof(port), "%u", g->epmd_port);
    if (access(path, X_OK) != 0) {
        log_warnx("no EPMD on port %u, and no %s to start", g->epmd_port, path);
        return;
    }
    log_info("no EPMD on port %u: starting %s -daemon", g->epmd_port, path);
    if ((pid = fork()) == 0) {
        execl(path, path, "-daemon", "-port", port, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

static void
alive_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct gw *g = arg;
    uint8_t req[600];
    struct epmd_node_info n;
    char alive[256];
    const char *at = strchr(g->name, '@');
    size_t len;

    if (what & BEV_EVENT_CONNECTED) {
        memcpy(alive, g->name, (size_t)(at - g->name));
        alive[at - g->name] = '\0';
        memset(&n, 0, sizeof(n));
        n.port = g->port;
        n.node_type = g->hidden ? 72 : 77;
        n.protocol = 0;
        n.high_vsn = DIST_VERSION_6;
        n.low_vsn = DIST_VERSION_5;
        n.name = (const uint8_t *)alive;
        n.name_len = strlen(alive);
        len = epmd_wire_alive2_req(req, sizeof(req), &n);
        bufferevent_write(bev, req, len);
        return;
    }
    if (!(what & BEV_EVENT_EOF) && EVUTIL_SOCKET_ERROR() == ECONNREFUSED &&
        g->start_epmd && !g->epmd_started) {
        /* As erl does: no EPMD yet, so start one (ours, next to us). */
        g->epmd_started = true;
        start_epmd(g);
    }
    alive_lost(g, what & BEV_EVENT_EOF
                      ? "EPMD closed the connection"
                      : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
alive_connect(struct gw *g)
{
    struct sockaddr_in sin;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(g->epmd_port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g->alive = bufferevent_socket_new(g->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (g->alive == NULL) {
        alive_lost(g, "out of memory");
        return;
    }
    bufferevent_setcb(g->alive, alive_read_cb, NULL, alive_event_cb, g);
    bufferevent_enable(g->alive, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(g->alive, (struct sockaddr *)&sin,
                                   sizeof(sin)) < 0)
        alive_lost(g, "cannot connect to EPMD");
}

int
epmdc_register(struct gw *g, void (*cb)(struct gw *, bool ok))
{
    registered_cb = cb;
    alive_connect(g);
    return 0;
}

/* Resolve host to its first address, with port. */
static int
resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
        socklen_t *len, char *why, size_t whylen)
{
    struct addrinfo hints, *res;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
        snprintf(why, whylen, "cannot resolve host %s: %s", host,
                 gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    return 0;
}

static void
lookup_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct epmd_node_info n;
    struct epmd_wire_error err;
    uint8_t req[300], buf[2048];
    size_t len, used;
    uint8_t result;
    char why[700];

    if (what & BEV_EVENT_CONNECTED) {
        len = epmd_wire_port2_req(req, sizeof(req), (const uint8_t *)c->alive,
                                  strlen(c->alive));
        bufferevent_write(bev, req, len);
        return;
    }
    if (!(what & BEV_EVENT_EOF)) {
        snprintf(why, sizeof(why), "EPMD on %s: %s", c->host,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        conn_close(c, why);
        return;
    }
    /* EPMD closes after its reply. */
    len = evbuffer_get_length(in);
    if (len > sizeof(buf))
        len = sizeof(buf);
    evbuffer_copyout(in, buf, len);
    if (epmd_wire_parse_port2_resp(buf, len, &used, &result, &n, &err) !=
        EPMD_WIRE_OK) {
        snprintf(why, sizeof(why), "EPMD on %s sent a bad reply: %s", c->host,
                 err.msg);
        conn_close(c, why);
        return;
    }
    if (result != 0) {
        snprintf(why, sizeof(why), "EPMD on %s knows no node named %s", c->host,
                 c->alive);
        conn_close(c, why);
        return;
    }
    bufferevent_free(c->epmd_bev);
    c->epmd_bev = NULL;
    if (c->peer_ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&c->peer_ss)->sin_port = htons(n.port);
    else
        ((struct sockaddr_in6 *)&c->peer_ss)->sin6_port = htons(n.port);
    log_debug("EPMD on %s: %s is at port %u", c->host, c->alive, n.port);
    conn_dial(c, (struct sockaddr *)&c->peer_ss, c->peer_sslen);
}

int
epmdc_lookup(struct gw *g, struct conn *c, const char *host, const char *alive)
{
    char why[700];

    snprintf(c->alive, sizeof(c->alive), "%s", alive);
    if (c->peer_sslen != 0) {
        /* The address is known (discovery found the node there). */
        if (c->peer_ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&c->peer_ss)->sin_port = htons(g->epmd_port);
        else
            ((struct sockaddr_in6 *)&c->peer_ss)->sin6_port =
                htons(g->epmd_port);
    } else if (resolve(host, g->epmd_port, &c->peer_ss, &c->peer_sslen, why,
                       sizeof(why)) < 0) {
        conn_close(c, why);
        return -1;
    }
    c->epmd_bev = bufferevent_socket_new(g->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->epmd_bev == NULL) {
        conn_close(c, "out of memory");
        return -1;
    }
    bufferevent_setcb(c->epmd_bev, NULL, NULL, lookup_event_cb, c);
    bufferevent_enable(c->epmd_bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(c->epmd_bev, (struct sockaddr *)&c->peer_ss,
                                   c->peer_sslen) < 0) {
        snprintf(why, sizeof(why), "cannot connect to EPMD on %s", host);
        conn_close(c, why);
        return -1;
    }
    return 0;
}

char *
epmdc_names(const char *host, uint16_t port, char *why, size_t whylen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct epmd_wire_error err;
    uint8_t req[8];
    uint32_t eport;
    size_t n, cap = 65536, have = 0;
    char *buf, *nb;
    ssize_t got;
    int fd;

    if (resolve(host, port, &ss, &len, why, whylen) < 0)
        return NULL;
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        /* Bounded: a host that does not answer costs 3 s, not minutes. */
        struct timeval tv = {3, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
        snprintf(why, whylen, "cannot connect to EPMD on %s port %u: %s", host,
                 port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    n = epmd_wire_simple_req(req, sizeof(req), 'n');
    if (write(fd, req, n) != (ssize_t)n) {
        snprintf(why, whylen, "cannot send to EPMD on %s: %s", host,
                 strerror(errno));
        close(fd);
        return NULL;
    }
    if ((buf = malloc(cap + 1)) == NULL) {
        close(fd);
        return NULL;
    }
    while ((got = read(fd, buf + have, cap - have)) > 0) {
        have += (size_t)got;
        if (have == cap) {
            if (cap >= NAMES_MAX_REPLY ||
                (nb = realloc(buf, cap * 2 + 1)) == NULL) {
                snprintf(why, whylen, "NAMES reply from %s is too large", host);
                free(buf);
                close(fd);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    if (epmd_wire_parse_names_header((uint8_t *)buf, have, &eport, &err) !=
        EPMD_WIRE_OK) {
        snprintf(why, whylen, "EPMD on %s sent no NAMES reply", host);
        free(buf);
        return NULL;
    }
    memmove(buf, buf + 4, have - 4);
    buf[have - 4] = '\0';
    return buf;
}
