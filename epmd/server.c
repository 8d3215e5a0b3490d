/*
 * The daemon's event loop: listeners, accepting (paused on EMFILE), and
 * signals as events.
 */
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "registry.h"
#include "server_int.h"
#include "xmalloc.h"

/* How long accepting pauses when out of file descriptors. */
#define SERVER_EMFILE_PAUSE_SEC 1

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                 struct sockaddr *sa, int salen, void *arg)
{
    struct server *srv = arg;

    (void)l;
    if (srv->cfg->delay_accept > 0)
        sleep((unsigned)srv->cfg->delay_accept);
    session_open(srv, fd, sa, salen);
}

/* Re-enable accepting after a pause. */
static void
server_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;

    (void)fd;
    (void)what;
    log_debug("resuming accept");
    for (int i = 0; i < srv->nlisteners; i++)
        evconnlistener_enable(srv->listeners[i]);
}

static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct server *srv = arg;
    int e = EVUTIL_SOCKET_ERROR();
    struct timeval tv = {SERVER_EMFILE_PAUSE_SEC, 0};

    (void)l;
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        /* Out of descriptors: stop accepting for a while instead of
         * spinning on a listener that stays readable. */
        log_warnx("accept: %s; pausing accept for %d s (%zu nodes, "
                  "%llu connections open)",
                  strerror(e), SERVER_EMFILE_PAUSE_SEC,
                  registry_count(srv->reg),
                  (unsigned long long)srv->metrics->connections_open);
        srv->metrics->accept_paused++;
        for (int i = 0; i < srv->nlisteners; i++)
            evconnlistener_disable(srv->listeners[i]);
        evtimer_add(srv->resume_ev, &tv);
        return;
    }
    log_warnx("accept: %s", strerror(e));
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;

    (void)what;
    log_debug("got signal %d, exiting", (int)sig);
    srv->exit_signal = (int)sig;
    event_base_loopexit(srv->base, NULL);
}

struct server *
server_new(struct event_base *base, const struct epmd_config *cfg,
           struct listen_set *ls, struct registry *reg, struct metrics *m)
{
    static const int sigs[] = {SIGTERM, SIGINT};
    struct server *srv = xcalloc(1, sizeof(*srv));

    srv->base = base;
    srv->cfg = cfg;
    srv->reg = reg;
    srv->metrics = m;
    for (int i = 0; i < ls->n; i++) {
        struct evconnlistener *l;

        evutil_make_socket_nonblocking(ls->fds[i]);
        l = evconnlistener_new(base, server_accept_cb, srv,
                               LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
                               ls->fds[i]);
        if (l == NULL)
            fatalx("cannot listen on socket %d", ls->fds[i]);
        evconnlistener_set_error_cb(l, server_accept_error_cb);
        srv->listeners[srv->nlisteners++] = l;
        ls->fds[i] = -1; /* owned by the listener now */
    }
    ls->n = 0;
    if ((srv->resume_ev = evtimer_new(base, server_resume_cb, srv)) == NULL)
        fatalx("evtimer_new failed");
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        srv->sig_ev[i] = evsignal_new(base, sigs[i], server_signal_cb, srv);
        if (srv->sig_ev[i] == NULL || evsignal_add(srv->sig_ev[i], NULL))
            fatalx("cannot handle signal %d", sigs[i]);
        srv->nsig++;
    }
    return srv;
}

int
server_run(struct server *srv)
{
    if (event_base_dispatch(srv->base) == -1)
        fatalx("event loop failed");
    if (srv->killed)
        log_info("got KILL_REQ - terminates normal");
    return srv->killed ? 0 : srv->exit_signal;
}

void
server_free(struct server *srv)
{
    if (srv == NULL)
        return;
    session_close_all(srv);
    for (int i = 0; i < srv->nlisteners; i++)
        evconnlistener_free(srv->listeners[i]);
    for (int i = 0; i < srv->nsig; i++)
        event_free(srv->sig_ev[i]);
    event_free(srv->resume_ev);
    free(srv);
}
