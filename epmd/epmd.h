/*
 * epmd's private header: configuration and the parts of the daemon.
 */
#ifndef EPMD_EPMD_H
#define EPMD_EPMD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "epmd_proto.h"

struct event_base;
struct registry;
struct metrics;

/* Settings from the command line and the environment. */
struct epmd_config {
    uint16_t port;         /* -port, ERL_EPMD_PORT; 0 = any */
    int debug;             /* number of -d */
    int relaxed;           /* -relaxed_command_check, ERL_EPMD_RELAXED_... */
    int packet_timeout;    /* seconds */
    int delay_accept;      /* seconds, 0 = none */
    int delay_write;       /* seconds, 0 = none */
    int daemon;            /* -daemon */
    int systemd;           /* -systemd */
    const char *addresses; /* -address, ERL_EPMD_ADDRESS; NULL = all */
    const char *metrics;   /* -metrics_address; NULL = off */
    const char *user;      /* -user: drop to this user after binding */
};

/* Listen sockets, bound and listening. */
struct listen_set {
    int fds[EPMD_MAX_LISTEN];
    int n;
};

/* listen.c */
enum listen_result {
    LISTEN_OK = 0,
    LISTEN_IN_USE = 1, /* another epmd holds the port: exit 0 */
    LISTEN_FAILED = -1 /* logged; exit 1 */
};
/* Bind and listen as OTP does: all interfaces, or the address list with
 * the loopback addresses added. */
enum listen_result listen_open(const struct epmd_config *cfg,
                               struct listen_set *ls);
/* Close every socket in the set. */
void listen_close(struct listen_set *ls);

/* sysd.c: systemd socket activation and readiness, without libsystemd. */
/* Take the sockets passed in LISTEN_FDS; returns the count, 0 if none,
 * -1 if more than max. */
int sysd_listen_fds(int *fds, int max);
/* Send a state string to NOTIFY_SOCKET; 0 if sent or not under systemd. */
int sysd_notify(const char *state);

/* metrics.c: counters, and an optional Prometheus endpoint. */
enum metrics_refusal {
    REFUSE_NON_LOCAL,      /* local-only request from a remote peer */
    REFUSE_NOT_RELAXED,    /* STOP_REQ without relaxed command check */
    REFUSE_KILL_LIVE,      /* KILL_REQ with live nodes */
    REFUSE_ZERO_LENGTH,    /* length field 0 */
    REFUSE_TOO_LARGE,      /* length field above the limit */
    REFUSE_EXCESS,         /* more bytes than the request */
    REFUSE_UNKNOWN,        /* unknown request tag */
    REFUSE_MALFORMED,      /* short, bad lengths, NUL in a name */
    REFUSE_BAD_NAME,       /* name too long or invalid UTF-8 */
    REFUSE_EXTRA_TOO_LONG, /* ALIVE2 extra field too long */
    REFUSE_NAME_TAKEN,     /* ALIVE2 for an active name */
    REFUSE_PARTIAL,        /* closed before a whole request */
    REFUSE_TIMEOUT,        /* -packet_timeout expired */
    REFUSE_COUNT
};
enum metrics_req {
    MREQ_ALIVE2,
    MREQ_PORT_PLEASE2,
    MREQ_NAMES,
    MREQ_DUMP,
    MREQ_KILL,
    MREQ_STOP,
    MREQ_UNKNOWN,
    MREQ_COUNT
};
struct metrics {
    uint64_t requests[MREQ_COUNT];
    uint64_t refusals[REFUSE_COUNT];
    uint64_t connections;      /* accepted */
    uint64_t connections_open; /* now */
    uint64_t accept_paused;    /* times accepting paused on EMFILE */
    uint64_t registrations;    /* successful ALIVE2 */
    uint64_t unregistrations;
    struct registry *reg;
    struct evhttp *http;
};
/* Map a request tag to its counter. */
enum metrics_req metrics_req_type(uint8_t tag);
/* Start serving GET /metrics on addr ("[IP:]PORT"); -1 on failure. */
int metrics_listen(struct metrics *m, struct event_base *base,
                   const char *addr);
/* Render the Prometheus text; returns a malloc'd string. */
char *metrics_render(const struct metrics *m);
/* Stop the endpoint. */
void metrics_close(struct metrics *m);

/* server.c: the libevent daemon. */
struct server;
struct server *server_new(struct event_base *base,
                          const struct epmd_config *cfg, struct listen_set *ls,
                          struct registry *reg, struct metrics *m);
/* Run until KILL_REQ or a signal; returns 0 for KILL_REQ, or the signal. */
int server_run(struct server *s);
void server_free(struct server *s);

/* cli.c: the interactive commands; each returns the exit code. */
int cli_names(uint16_t port, int silent);
int cli_dump(uint16_t port);
int cli_kill(uint16_t port);
int cli_stop(uint16_t port, const char *name);

#endif
