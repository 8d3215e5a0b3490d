/*
 * Shared between server.c (listeners, accept, signals) and session.c (one
 * connection's state machine).
 */
#ifndef EPMD_SERVER_INT_H
#define EPMD_SERVER_INT_H

#include "epmd.h"

struct evconnlistener;
struct session;

struct server {
    struct event_base *base;
    const struct epmd_config *cfg;
    struct registry *reg;
    struct metrics *metrics;
    struct evconnlistener *listeners[EPMD_MAX_LISTEN];
    int nlisteners;
    struct event *resume_ev; /* re-enables accepting after EMFILE */
    struct event *sig_ev[4];
    int nsig;
    struct session *sessions; /* every open session */
    int exit_signal;          /* signal that stopped the loop, or 0 */
    int killed;               /* KILL_REQ accepted */
};

/* Start a session on an accepted socket; the session owns fd. */
void session_open(struct server *srv, int fd, const struct sockaddr *peer,
                  int peerlen);
/* Close every session (at exit). */
void session_close_all(struct server *srv);

#endif
