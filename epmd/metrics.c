/*
 * Counters, and an optional Prometheus text endpoint on evhttp.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <netinet/in.h>

#include "addr.h"
#include "epmd.h"
#include "log.h"
#include "registry.h"
#include "xmalloc.h"

static const char *const metrics_req_names[MREQ_COUNT] = {
    [MREQ_ALIVE2] = "alive2",   [MREQ_PORT_PLEASE2] = "port_please2",
    [MREQ_NAMES] = "names",     [MREQ_DUMP] = "dump",
    [MREQ_KILL] = "kill",       [MREQ_STOP] = "stop",
    [MREQ_UNKNOWN] = "unknown",
};

static const char *const metrics_refusal_names[REFUSE_COUNT] = {
    [REFUSE_NON_LOCAL] = "non_local",
    [REFUSE_NOT_RELAXED] = "not_relaxed",
    [REFUSE_KILL_LIVE] = "kill_live_nodes",
    [REFUSE_ZERO_LENGTH] = "zero_length",
    [REFUSE_TOO_LARGE] = "too_large",
    [REFUSE_EXCESS] = "excess_bytes",
    [REFUSE_UNKNOWN] = "unknown_type",
    [REFUSE_MALFORMED] = "malformed",
    [REFUSE_BAD_NAME] = "bad_name",
    [REFUSE_EXTRA_TOO_LONG] = "extra_too_long",
    [REFUSE_NAME_TAKEN] = "name_taken",
    [REFUSE_PARTIAL] = "partial",
    [REFUSE_TIMEOUT] = "timeout",
};

enum metrics_req
metrics_req_type(uint8_t tag)
{
    switch (tag) {
    case EPMD_ALIVE2_REQ:
        return MREQ_ALIVE2;
    case EPMD_PORT_PLEASE2_REQ:
        return MREQ_PORT_PLEASE2;
    case EPMD_NAMES_REQ:
        return MREQ_NAMES;
    case EPMD_DUMP_REQ:
        return MREQ_DUMP;
    case EPMD_KILL_REQ:
        return MREQ_KILL;
    case EPMD_STOP_REQ:
        return MREQ_STOP;
    }
    return MREQ_UNKNOWN;
}

/* A growing string for the exposition text. */
struct metrics_text {
    char *buf;
    size_t len, cap;
};

static void metrics_printf(struct metrics_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
metrics_printf(struct metrics_text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            fatalx("metrics: vsnprintf failed");
        if ((size_t)n < t->cap - t->len)
            break;
        t->cap = t->cap * 2 + (size_t)n;
        t->buf = xreallocarray(t->buf, t->cap, 1);
    }
    t->len += (size_t)n;
}

char *
metrics_render(const struct metrics *m)
{
    struct metrics_text t = {xmalloc(1024), 0, 1024};

    metrics_printf(&t,
                   "# HELP epmd_registered_nodes Nodes registered now.\n"
                   "# TYPE epmd_registered_nodes gauge\n"
                   "epmd_registered_nodes %zu\n",
                   m->reg != NULL ? registry_count(m->reg) : 0);
    metrics_printf(&t,
                   "# HELP epmd_unregistered_names Names remembered for "
                   "their next creation.\n"
                   "# TYPE epmd_unregistered_names gauge\n"
                   "epmd_unregistered_names %zu\n",
                   m->reg != NULL ? registry_unreg_count(m->reg) : 0);
    metrics_printf(&t, "# HELP epmd_requests_total Requests by type.\n"
                       "# TYPE epmd_requests_total counter\n");
    for (int i = 0; i < MREQ_COUNT; i++)
        metrics_printf(&t, "epmd_requests_total{type=\"%s\"} %llu\n",
                       metrics_req_names[i],
                       (unsigned long long)m->requests[i]);
    metrics_printf(&t, "# HELP epmd_refusals_total Requests refused or "
                       "connections dropped, by reason.\n"
                       "# TYPE epmd_refusals_total counter\n");
    for (int i = 0; i < REFUSE_COUNT; i++)
        metrics_printf(&t, "epmd_refusals_total{reason=\"%s\"} %llu\n",
                       metrics_refusal_names[i],
                       (unsigned long long)m->refusals[i]);
    metrics_printf(&t,
                   "# HELP epmd_connections_total Connections accepted.\n"
                   "# TYPE epmd_connections_total counter\n"
                   "epmd_connections_total %llu\n"
                   "# HELP epmd_connections_open Connections open now.\n"
                   "# TYPE epmd_connections_open gauge\n"
                   "epmd_connections_open %llu\n"
                   "# HELP epmd_accept_paused_total Times accepting paused "
                   "for lack of file descriptors.\n"
                   "# TYPE epmd_accept_paused_total counter\n"
                   "epmd_accept_paused_total %llu\n"
                   "# HELP epmd_registrations_total Successful "
                   "registrations.\n"
                   "# TYPE epmd_registrations_total counter\n"
                   "epmd_registrations_total %llu\n"
                   "# HELP epmd_unregistrations_total Registrations ended.\n"
                   "# TYPE epmd_unregistrations_total counter\n"
                   "epmd_unregistrations_total %llu\n",
                   (unsigned long long)m->connections,
                   (unsigned long long)m->connections_open,
                   (unsigned long long)m->accept_paused,
                   (unsigned long long)m->registrations,
                   (unsigned long long)m->unregistrations);
    return t.buf;
}

static void
metrics_request_cb(struct evhttp_request *req, void *arg)
{
    struct metrics *m = arg;
    struct evbuffer *body;
    const char *uri = evhttp_request_get_uri(req);
    char *text;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || uri == NULL ||
        (strcmp(uri, "/metrics") != 0 && strncmp(uri, "/metrics?", 9) != 0)) {
        evhttp_send_error(req, HTTP_NOTFOUND, NULL);
        return;
    }
    if ((body = evbuffer_new()) == NULL)
        fatalx("evbuffer_new: out of memory");
    text = metrics_render(m);
    evbuffer_add(body, text, strlen(text));
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, HTTP_OK, "OK", body);
    evbuffer_free(body);
}

int
metrics_listen(struct metrics *m, struct event_base *base, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    char ip[ADDR_STRLEN];
    uint16_t port;

    if (addr_parse_hostport(addr, &ss, &sslen) == -1) {
        log_warnx("cannot parse metrics address \"%s\" (want [IP:]PORT)", addr);
        return -1;
    }
    port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    addr_fmt_ip((struct sockaddr *)&ss, ip, sizeof(ip));
    if ((m->http = evhttp_new(base)) == NULL)
        fatalx("evhttp_new failed");
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET);
    evhttp_set_gencb(m->http, metrics_request_cb, m);
    if (evhttp_bind_socket(m->http, ip, port) == -1) {
        log_warn("cannot listen for metrics on %s", addr);
        evhttp_free(m->http);
        m->http = NULL;
        return -1;
    }
    log_debug("metrics on http://%s/metrics", addr);
    return 0;
}

void
metrics_close(struct metrics *m)
{
    if (m->http != NULL)
        evhttp_free(m->http);
    m->http = NULL;
}
