/*
 * The bridge: an HTTP/JSON API (libevent's evhttp, jansson) through which
 * programs that are not Erlang send, call, and read mailboxes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "addr.h"
#include "dist_proto.h"
#include "gw.h"
#include "log.h"
#include "xmalloc.h"

/* Request bodies larger than this are refused with 413. */
#define BRIDGE_MAX_BODY (8u * 1024 * 1024)
/* Long polls waiting at once, and event streams open at once. */
#define BRIDGE_MAX_POLLS 256
#define BRIDGE_MAX_STREAMS 64
/* An event stream whose unsent output passes this is dropped. */
#define BRIDGE_STREAM_MAX_BUFFER (4u * 1024 * 1024)
/* Default and largest call timeouts, and the longest long poll. */
#define BRIDGE_DEFAULT_TIMEOUT_MS 5000
#define BRIDGE_MAX_TIMEOUT_MS 600000
#define BRIDGE_MAX_WAIT_MS 300000
/* Messages one GET takes at most. */
#define BRIDGE_MAX_TAKE 10000

#define ETF_MIME "application/x-erlang-binary"

enum route {
    R_HEALTHZ,
    R_METRICS,
    R_NODES,
    R_NAMES,
    R_SEND,
    R_RPC,
    R_CALL,
    R_MAILBOXES,
    R_MAILBOX,
    R_MESSAGES,
    R_EVENTS,
    R_OTHER,
    R_COUNT
};

static const char *const route_names[R_COUNT] = {
    "/healthz",        "/metrics",
    "/nodes",          "/names",
    "/send",           "/rpc",
    "/call",           "/mailboxes",
    "/mailboxes/NAME", "/mailboxes/NAME/messages",
    "/events",         "other",
};

/* Statuses we count per route. */
static const int counted_status[] = {200, 201, 202, 204, 400, 404, 405, 409,
                                     413, 415, 429, 500, 502, 503, 504};
#define NSTATUS (sizeof(counted_status) / sizeof(counted_status[0]))

/* What a request waits for: a call's reply, a node coming up, messages. */
enum wait_kind { W_CALL, W_SEND, W_POLL };

struct waiter {
    LIST_ENTRY(waiter) entry;
    struct bridge *b;
    enum wait_kind kind;
    enum route route;
    struct evhttp_request *req;
    struct event *timer;
    etf_json_form form;
    bool etf_out;
    char node[HS_NAME_MAX + 1];
    /* W_CALL: our pid for the call and the reference tagging it */
    uint32_t pid_id;
    etf_arena *a;
    etf_term ref;
    etf_term target; /* the name monitored, to demonitor */
    bool rpc;
    struct evbuffer *output; /* what the call printed (io requests) */
    /* W_SEND: what to send once the node is up */
    etf_term ctl, msg;
    /* W_POLL */
    struct mailbox *mb;
    size_t max;
};

struct stream {
    LIST_ENTRY(stream) entry;
    struct bridge *b;
    struct evhttp_request *req;
    etf_json_form form;
};

struct bridge {
    struct gw *g;
    struct evhttp *http;
    LIST_HEAD(, waiter) waiters;
    LIST_HEAD(, stream) streams;
    unsigned npolls, nstreams;
    uint64_t requests[R_COUNT][NSTATUS + 1];
    uint64_t streams_dropped, events_sent;
    uint64_t msgs_by_op[DOP_UNLINK_ID_ACK + 1];
};

/* ------------------------------------------------------------------ */
/* replies                                                             */
/* ------------------------------------------------------------------ */

static void
count(struct bridge *b, enum route r, int status)
{
    size_t i;

    for (i = 0; i < NSTATUS; i++)
        if (counted_status[i] == status)
            break;
    b->requests[r][i]++;
}

static void
reply_json(struct bridge *b, struct evhttp_request *req, enum route r,
           int status, json_t *body)
{
    struct evbuffer *out = evbuffer_new();
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    if (text != NULL) {
        evbuffer_add(out, text, strlen(text));
        evbuffer_add(out, "\n", 1);
    }
    evhttp_send_reply(req, status, NULL, out);
    count(b, r, status);
    free(text);
    evbuffer_free(out);
    json_decref(body);
}

/* {"error": what, "detail": detail} with status. */
static void
reply_error(struct bridge *b, struct evhttp_request *req, enum route r,
            int status, const char *what, const char *detail)
{
    json_t *j = json_pack("{s:s}", "error", what);

    if (detail != NULL)
        json_object_set_new(j, "detail", json_string(detail));
    reply_json(b, req, r, status, j);
}

/* A term as JSON in the request's form; an error reply if it cannot be. */
static json_t *
term_json(const etf_term *t, etf_json_form form, etf_error *err)
{
    return etf_to_json(t, form, err);
}

static void
reply_etf(struct bridge *b, struct evhttp_request *req, enum route r,
          int status, const etf_term *t)
{
    struct evbuffer *out = evbuffer_new();
    size_t len;
    uint8_t *bytes = etf_encode_alloc(t, NULL, &len, NULL);

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      ETF_MIME);
    if (bytes != NULL)
        evbuffer_add(out, bytes, len);
    evhttp_send_reply(req, bytes ? status : 500, NULL, out);
    count(b, r, bytes ? status : 500);
    free(bytes);
    evbuffer_free(out);
}

/* ------------------------------------------------------------------ */
/* request helpers                                                     */
/* ------------------------------------------------------------------ */

static bool
wants_etf(struct evhttp_request *req)
{
    const char *acc =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");

    return acc != NULL && strstr(acc, ETF_MIME) != NULL;
}

static bool
sends_etf(struct evhttp_request *req)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req),
                                        "Content-Type");

    return ct != NULL && strncmp(ct, ETF_MIME, strlen(ETF_MIME)) == 0;
}

/* A query parameter, or NULL. The caller frees q with evhttp_clear_headers. */
static const char *
query(struct evhttp_request *req, struct evkeyvalq *q, const char *key)
{
    const char *uri = evhttp_request_get_uri(req);
    struct evhttp_uri *u = evhttp_uri_parse(uri);
    const char *qs;

    if (TAILQ_EMPTY(q) && u != NULL && (qs = evhttp_uri_get_query(u)) != NULL)
        evhttp_parse_query_str(qs, q);
    if (u != NULL)
        evhttp_uri_free(u);
    return evhttp_find_header(q, key);
}

static etf_json_form
form_of(struct evhttp_request *req)
{
    struct evkeyvalq q = TAILQ_HEAD_INITIALIZER(q);
    const char *f = query(req, &q, "format");
    etf_json_form form =
        f != NULL && strcmp(f, "plain") == 0 ? ETF_JSON_PLAIN : ETF_JSON_TYPED;

    evhttp_clear_headers(&q);
    return form;
}

/* Parse a number query parameter within [lo, hi]; def if absent, -1 if
 * malformed. */
static long
query_num(struct evhttp_request *req, const char *key, long def, long lo,
          long hi)
{
    struct evkeyvalq q = TAILQ_HEAD_INITIALIZER(q);
    const char *s = query(req, &q, key);
    char *end;
    long v = def;

    if (s != NULL) {
        v = strtol(s, &end, 10);
        if (end == s || *end != '\0' || v < lo || v > hi)
            v = -1;
    }
    evhttp_clear_headers(&q);
    return v;
}

/* The request body as a JSON object; an error reply and NULL otherwise. */
static json_t *
body_json(struct bridge *b, struct evhttp_request *req, enum route r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    json_error_t je;
    json_t *j;
    char detail[256];

    if (len > BRIDGE_MAX_BODY) {
        reply_error(b, req, r, 413, "body too large", NULL);
        return NULL;
    }
    j = json_loadb((const char *)evbuffer_pullup(in, -1), len,
                   JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        snprintf(detail, sizeof(detail), "%s at byte %d", je.text, je.position);
        reply_error(b, req, r, 400, "bad json", detail);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        reply_error(b, req, r, 400, "bad request",
                    "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* A term member of a request ("msg", "args", "request"). */
static etf_term *
member_term(struct bridge *b, struct evhttp_request *req, enum route r,
            json_t *body, const char *key, etf_json_form form, etf_arena *a)
{
    json_t *m = json_object_get(body, key);
    etf_error e;
    etf_term *t;
    char detail[300];

    if (m == NULL) {
        snprintf(detail, sizeof(detail), "member \"%s\" is missing", key);
        reply_error(b, req, r, 400, "bad request", detail);
        return NULL;
    }
    if ((t = etf_from_json(a, m, form, &e)) == NULL) {
        snprintf(detail, sizeof(detail), "\"%s\": %s", key, e.msg);
        reply_error(b, req, r, 400, "bad term", detail);
    }
    return t;
}

/* A string member that must be present. */
static const char *
member_str(struct bridge *b, struct evhttp_request *req, enum route r,
           json_t *body, const char *key)
{
    json_t *m = json_object_get(body, key);
    char detail[128];

    if (!json_is_string(m) || json_string_length(m) == 0) {
        snprintf(detail, sizeof(detail),
                 "member \"%s\" must be a non-empty string", key);
        reply_error(b, req, r, 400, "bad request", detail);
        return NULL;
    }
    return json_string_value(m);
}

/* "timeout_ms" member: default, or -1 after an error reply. */
static long
member_timeout(struct bridge *b, struct evhttp_request *req, enum route r,
               json_t *body)
{
    json_t *m = json_object_get(body, "timeout_ms");
    json_int_t v;

    if (m == NULL)
        return BRIDGE_DEFAULT_TIMEOUT_MS;
    if (!json_is_integer(m) || (v = json_integer_value(m)) < 1 ||
        v > BRIDGE_MAX_TIMEOUT_MS) {
        reply_error(b, req, r, 400, "bad request",
                    "timeout_ms must be an integer from 1 to 600000");
        return -1;
    }
    return (long)v;
}

static bool
valid_node(const char *node)
{
    return hs_name_ok(node, strlen(node));
}

/* ------------------------------------------------------------------ */
/* waiters                                                             */
/* ------------------------------------------------------------------ */

static void waiter_timeout_cb(evutil_socket_t, short, void *);

static struct waiter *
waiter_new(struct bridge *b, enum wait_kind kind, enum route r,
           struct evhttp_request *req, long timeout_ms)
{
    struct waiter *w = xcalloc(1, sizeof(*w));
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    w->b = b;
    w->kind = kind;
    w->route = r;
    w->req = req;
    w->form = form_of(req);
    w->etf_out = wants_etf(req);
    w->a = etf_arena_new();
    w->timer = evtimer_new(b->g->base, waiter_timeout_cb, w);
    evtimer_add(w->timer, &tv);
    LIST_INSERT_HEAD(&b->waiters, w, entry);
    if (kind == W_POLL)
        b->npolls++;
    return w;
}

static void
waiter_free(struct waiter *w)
{
    LIST_REMOVE(w, entry);
    if (w->kind == W_POLL)
        w->b->npolls--;
    event_free(w->timer);
    etf_arena_free(w->a);
    if (w->output != NULL)
        evbuffer_free(w->output);
    free(w);
}

/* Reply {"result"|"reply": T} (plus output for rpc), or T as ETF. */
static void
waiter_reply_term(struct waiter *w, int status, const char *key,
                  const etf_term *t)
{
    etf_error e;
    json_t *j, *v;

    if (w->etf_out) {
        reply_etf(w->b, w->req, w->route, status, t);
        return;
    }
    if ((v = term_json(t, w->form, &e)) == NULL) {
        reply_error(w->b, w->req, w->route, 500, "cannot show the result",
                    e.msg);
        return;
    }
    j = json_object();
    json_object_set_new(j, key, v);
    if (w->output != NULL && evbuffer_get_length(w->output) > 0)
        json_object_set_new(
            j, "output",
            json_stringn((const char *)evbuffer_pullup(w->output, -1),
                         evbuffer_get_length(w->output)));
    reply_json(w->b, w->req, w->route, status, j);
}

/* Take up to max messages of a mailbox into a reply. */
static void
reply_messages(struct bridge *b, struct evhttp_request *req, struct mailbox *mb,
               size_t max, etf_json_form form, bool etf_out)
{
    etf_decode_opts bare = {.no_version = true};
    etf_arena *a = etf_arena_new();
    json_t *list = json_array(), *item;
    struct mbox_msg *m;
    etf_term all, *cells = NULL, *from, *msg, *pair;
    size_t n = 0, i;
    etf_error e;

    if (etf_out) {
        n = mb->depth < max ? mb->depth : max;
        if (n > 0)
            cells = etf_set_list(a, &all, (uint32_t)n);
        else
            etf_set_nil(&all);
    }
    for (i = 0; i < max && (m = mbox_take(mb)) != NULL; i++) {
        from = m->from_len
                   ? etf_decode(a, m->data, m->from_len, &bare, NULL, NULL)
                   : NULL;
        msg =
            etf_decode(a, m->data + m->from_len, m->msg_len, NULL, NULL, NULL);
        free(m);
        if (msg == NULL)
            continue;
        if (etf_out) {
            pair = etf_set_tuple(a, &cells[i], 2);
            if (from != NULL)
                pair[0] = *from;
            else
                gw_atom(a, &pair[0], "undefined");
            pair[1] = *msg;
            continue;
        }
        item = json_object();
        json_object_set_new(item, "from",
                            from ? term_json(from, ETF_JSON_TYPED, &e)
                                 : json_null());
        {
            json_t *v = term_json(msg, form, &e);
            if (v == NULL)
                json_object_set_new(item, "error", json_string(e.msg));
            else
                json_object_set_new(item, "msg", v);
        }
        json_array_append_new(list, item);
    }
    if (etf_out) {
        json_decref(list);
        reply_etf(b, req, R_MESSAGES, 200, &all);
    } else {
        reply_json(b, req, R_MESSAGES, 200,
                   json_pack("{s:s,s:o,s:I,s:I}", "mailbox", mb->name,
                             "messages", list, "left", (json_int_t)mb->depth,
                             "dropped", (json_int_t)mb->dropped));
    }
    etf_arena_free(a);
}

static void
waiter_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct waiter *w = arg;
    char detail[HS_NAME_MAX + 64];

    (void)fd;
    (void)what;
    switch (w->kind) {
    case W_POLL:
        reply_messages(w->b, w->req, w->mb, w->max, w->form, w->etf_out);
        break;
    case W_CALL:
        snprintf(detail, sizeof(detail), "no reply from %s in time", w->node);
        reply_error(w->b, w->req, w->route, 504, "timeout", detail);
        break;
    case W_SEND:
        snprintf(detail, sizeof(detail), "no connection to %s in time",
                 w->node);
        reply_error(w->b, w->req, w->route, 504, "timeout", detail);
        break;
    }
    waiter_free(w);
}

/* ------------------------------------------------------------------ */
/* hooks from the node                                                 */
/* ------------------------------------------------------------------ */

static void
stream_free(struct stream *s)
{
    LIST_REMOVE(s, entry);
    s->b->nstreams--;
    free(s);
}

static void
stream_closed_cb(struct evhttp_connection *evcon, void *arg)
{
    struct stream *s = arg;

    (void)evcon;
    stream_free(s);
}

static void
bridge_on_message(struct gw *g, struct mailbox *mb, const etf_term *from,
                  const etf_term *msg)
{
    struct bridge *b = g->bridge;
    struct waiter *w, *next;
    struct stream *s, *snext;
    struct evbuffer *out;
    struct bufferevent *bev;
    json_t *j, *v;
    char *text;
    etf_error e;

    /* Wake the long polls on this mailbox: after the message is kept. */
    for (w = LIST_FIRST(&b->waiters); w != NULL; w = next) {
        next = LIST_NEXT(w, entry);
        if (w->kind == W_POLL && w->mb == mb && mb->mode == MBOX_QUEUE) {
            evtimer_del(w->timer);
            event_active(w->timer, EV_TIMEOUT, 0);
        }
    }
    for (s = LIST_FIRST(&b->streams); s != NULL; s = snext) {
        snext = LIST_NEXT(s, entry);
        bev = evhttp_connection_get_bufferevent(
            evhttp_request_get_connection(s->req));
        if (bev != NULL && evbuffer_get_length(bufferevent_get_output(bev)) >
                               BRIDGE_STREAM_MAX_BUFFER) {
            /* A reader this slow would make us hold everything: drop it. */
            b->streams_dropped++;
            log_warnx("event stream dropped: the reader is %u bytes behind",
                      BRIDGE_STREAM_MAX_BUFFER);
            evhttp_connection_set_closecb(evhttp_request_get_connection(s->req),
                                          NULL, NULL);
            evhttp_send_reply_end(s->req);
            stream_free(s);
            continue;
        }
        if ((v = term_json(msg, s->form, &e)) == NULL)
            v = json_pack("{s:s}", "unrepresentable", e.msg);
        j = json_pack("{s:s,s:o,s:o}", "mailbox", mb->name, "from",
                      from ? term_json(from, ETF_JSON_TYPED, &e) : json_null(),
                      "msg", v);
        text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(j);
        if (text == NULL)
            continue;
        out = evbuffer_new();
        evbuffer_add_printf(out, "event: message\ndata: %s\n\n", text);
        evhttp_send_reply_chunk(s->req, out);
        evbuffer_free(out);
        free(text);
        b->events_sent++;
    }
}

static void
bridge_on_conn_up(struct gw *g, struct conn *c)
{
    struct bridge *b = g->bridge;
    struct waiter *w, *next;

    for (w = LIST_FIRST(&b->waiters); w != NULL; w = next) {
        next = LIST_NEXT(w, entry);
        if (w->kind != W_SEND || strcmp(w->node, c->peer) != 0)
            continue;
        conn_send(c, &w->ctl, &w->msg);
        reply_json(b, w->req, w->route, 202,
                   json_pack("{s:b,s:s}", "sent", 1, "node", c->peer));
        waiter_free(w);
    }
}

static void
bridge_on_conn_down(struct gw *g, const char *node, const char *why)
{
    struct bridge *b = g->bridge;
    struct waiter *w, *next;
    bool unknown = strstr(why, "knows no node") != NULL ||
                   strstr(why, "cannot resolve") != NULL;

    for (w = LIST_FIRST(&b->waiters); w != NULL; w = next) {
        next = LIST_NEXT(w, entry);
        if (w->kind == W_POLL || strcmp(w->node, node) != 0)
            continue;
        reply_error(b, w->req, w->route, unknown ? 404 : 502,
                    unknown ? "unknown node" : "node unreachable", why);
        waiter_free(w);
    }
}

static struct waiter *
call_by_pid(struct bridge *b, const etf_term *pid)
{
    struct waiter *w;

    if (pid == NULL || pid->kind != ETF_PID)
        return NULL;
    LIST_FOREACH(w, &b->waiters, entry)
    if (w->kind == W_CALL && w->pid_id == pid->v.pid->id)
        return w;
    return NULL;
}

/* Answer an io request of a remote call whose group leader we are. */
static void
io_request(struct gw *g, struct waiter *w, const etf_term *req, etf_arena *a)
{
    const etf_term *from = &req->v.elems[1], *r = &req->v.elems[3];
    const etf_term *chars = NULL;
    etf_term ctl, msg, *e;
    struct conn *c = conn_find(g, w->node);

    if (r->kind == ETF_TUPLE && (r->len == 3 || r->len == 2) &&
        r->v.elems[0].kind == ETF_ATOM &&
        strcmp(r->v.elems[0].v.str, "put_chars") == 0)
        chars = &r->v.elems[r->len - 1];
    if (w->output == NULL)
        w->output = evbuffer_new();
    if (chars != NULL && ((chars->kind == ETF_BINARY && chars->aux == 8) ||
                          chars->kind == ETF_STRING))
        evbuffer_add(w->output, chars->v.bytes, chars->len);
    else
        chars = NULL;
    if (c == NULL || from->kind != ETF_PID)
        return;
    e = etf_set_tuple(a, &ctl, 3);
    etf_set_int(&e[0], DOP_SEND);
    gw_atom(a, &e[1], "");
    e[2] = *from;
    e = etf_set_tuple(a, &msg, 3);
    gw_atom(a, &e[0], "io_reply");
    e[1] = req->v.elems[2];
    if (chars != NULL) {
        gw_atom(a, &e[2], "ok");
    } else {
        /* {error, request}: formatting needs Erlang; the caller sees it */
        etf_term *er = etf_set_tuple(a, &e[2], 2);
        gw_atom(a, &er[0], "error");
        gw_atom(a, &er[1], "request");
    }
    conn_send(c, &ctl, &msg);
}

static void
demonitor(struct gw *g, struct waiter *w)
{
    etf_term ctl, *e;
    struct conn *c = conn_find(g, w->node);

    if (c == NULL || w->rpc)
        return;
    e = etf_set_tuple(w->a, &ctl, 4);
    etf_set_int(&e[0], DOP_DEMONITOR_P);
    gw_make_pid(g, w->a, &e[1], w->pid_id);
    e[2] = w->target;
    e[3] = w->ref;
    conn_send(c, &ctl, NULL);
}

/* Messages to pids of ours that are not mailboxes: replies to calls. */
static void
bridge_deliver(struct gw *g, const struct ctl_msg *m, void *arg)
{
    struct bridge *b = arg;
    const etf_term *p = m->payload, *v;
    struct waiter *w = call_by_pid(b, m->to);
    etf_arena *a;
    bool bad;

    if (w == NULL) {
        log_debug("message to a finished call, dropped");
        return;
    }
    if (m->op == DOP_MONITOR_P_EXIT || m->op == DOP_PAYLOAD_MONITOR_P_EXIT) {
        const char *why = m->reason->kind == ETF_ATOM &&
                                  strcmp(m->reason->v.str, "noproc") == 0
                              ? "noproc"
                              : "exit";
        json_t *j = json_pack("{s:s}", "error", why);
        etf_error e;
        json_t *reason = term_json(m->reason, w->form, &e);

        if (reason != NULL)
            json_object_set_new(j, "reason", reason);
        reply_json(b, w->req, w->route, strcmp(why, "noproc") == 0 ? 404 : 500,
                   j);
        waiter_free(w);
        return;
    }
    if (p == NULL)
        return;
    if (p->kind == ETF_TUPLE && p->len == 4 && p->v.elems[0].kind == ETF_ATOM &&
        strcmp(p->v.elems[0].v.str, "io_request") == 0) {
        if ((a = etf_arena_new()) != NULL) {
            io_request(g, w, p, a);
            etf_arena_free(a);
        }
        return;
    }
    if (p->kind != ETF_TUPLE || p->len != 2 ||
        !etf_equal(&p->v.elems[0], &w->ref))
        return;
    v = &p->v.elems[1];
    demonitor(g, w);
    bad = w->rpc && v->kind == ETF_TUPLE && v->len == 2 &&
          v->v.elems[0].kind == ETF_ATOM &&
          strcmp(v->v.elems[0].v.str, "badrpc") == 0;
    if (bad) {
        etf_error e;
        json_t *j = json_pack("{s:s}", "error", "badrpc");
        json_t *reason = term_json(&v->v.elems[1], w->form, &e);

        if (reason != NULL)
            json_object_set_new(j, "reason", reason);
        if (w->output != NULL && evbuffer_get_length(w->output) > 0)
            json_object_set_new(
                j, "output",
                json_stringn((const char *)evbuffer_pullup(w->output, -1),
                             evbuffer_get_length(w->output)));
        reply_json(b, w->req, w->route, 502, j);
    } else
        waiter_reply_term(w, 200, w->rpc ? "result" : "reply", v);
    waiter_free(w);
}

/* ------------------------------------------------------------------ */
/* handlers                                                            */
/* ------------------------------------------------------------------ */

static void
h_healthz(struct bridge *b, struct evhttp_request *req)
{
    struct gw *g = b->g;
    bool ok = g->registered && g->nlisteners > 0;

    reply_json(b, req, R_HEALTHZ, ok ? 200 : 503,
               json_pack("{s:s,s:b,s:b,s:i}", "node", g->name, "registered",
                         g->registered, "listening", g->nlisteners > 0, "port",
                         g->port));
}

static void
h_metrics(struct bridge *b, struct evhttp_request *req)
{
    struct gw *g = b->g;
    struct evbuffer *out = evbuffer_new();
    struct conn *c;
    struct mailbox *mb;
    unsigned nodes = 0;
    size_t r, i;

    LIST_FOREACH(c, &g->conns, entry)
    if (c->state == CONN_UP)
        nodes++;
    evbuffer_add_printf(
        out,
        "# HELP distgw_build_info Build information.\n"
        "# TYPE distgw_build_info gauge\n"
        "distgw_build_info{version=\"0.1.0\"} 1\n"
        "# HELP distgw_connected_nodes Nodes connected now.\n"
        "# TYPE distgw_connected_nodes gauge\n"
        "distgw_connected_nodes %u\n"
        "# HELP distgw_handshakes_total Handshakes by result.\n"
        "# TYPE distgw_handshakes_total counter\n"
        "distgw_handshakes_total{result=\"ok\"} %llu\n"
        "distgw_handshakes_total{result=\"failed\"} %llu\n"
        "# HELP distgw_messages_total Distribution messages by direction.\n"
        "# TYPE distgw_messages_total counter\n"
        "distgw_messages_total{direction=\"in\"} %llu\n"
        "distgw_messages_total{direction=\"out\"} %llu\n"
        "# HELP distgw_bytes_total Distribution bytes by direction.\n"
        "# TYPE distgw_bytes_total counter\n"
        "distgw_bytes_total{direction=\"in\"} %llu\n"
        "distgw_bytes_total{direction=\"out\"} %llu\n"
        "# HELP distgw_dropped_messages_total Messages dropped: full "
        "mailboxes, unknown targets, full send queues.\n"
        "# TYPE distgw_dropped_messages_total counter\n"
        "distgw_dropped_messages_total %llu\n"
        "# HELP distgw_epmd_registered 1 while registered with EPMD.\n"
        "# TYPE distgw_epmd_registered gauge\n"
        "distgw_epmd_registered %d\n"
        "# HELP distgw_epmd_reregistrations_total Registrations after the "
        "first.\n"
        "# TYPE distgw_epmd_reregistrations_total counter\n"
        "distgw_epmd_reregistrations_total %llu\n"
        "# HELP distgw_sse_streams Event streams open now.\n"
        "# TYPE distgw_sse_streams gauge\n"
        "distgw_sse_streams %u\n"
        "# HELP distgw_sse_dropped_total Event streams dropped for reading "
        "too slowly.\n"
        "# TYPE distgw_sse_dropped_total counter\n"
        "distgw_sse_dropped_total %llu\n"
        "# HELP distgw_sse_events_total Events written to streams.\n"
        "# TYPE distgw_sse_events_total counter\n"
        "distgw_sse_events_total %llu\n",
        nodes, (unsigned long long)g->stats.handshakes_ok,
        (unsigned long long)g->stats.handshakes_failed,
        (unsigned long long)g->stats.msgs_in,
        (unsigned long long)g->stats.msgs_out,
        (unsigned long long)g->stats.bytes_in,
        (unsigned long long)g->stats.bytes_out,
        (unsigned long long)g->stats.dropped, g->registered ? 1 : 0,
        (unsigned long long)g->stats.reregistrations, b->nstreams,
        (unsigned long long)b->streams_dropped,
        (unsigned long long)b->events_sent);
    evbuffer_add_printf(out, "# HELP distgw_mailbox_depth Messages kept.\n"
                             "# TYPE distgw_mailbox_depth gauge\n");
    LIST_FOREACH(mb, &g->mailboxes, entry)
    evbuffer_add_printf(out, "distgw_mailbox_depth{mailbox=\"%s\"} %zu\n",
                        mb->name, mb->depth);
    evbuffer_add_printf(out, "# HELP distgw_mailbox_received_total Messages "
                             "arrived.\n"
                             "# TYPE distgw_mailbox_received_total counter\n");
    LIST_FOREACH(mb, &g->mailboxes, entry)
    evbuffer_add_printf(out,
                        "distgw_mailbox_received_total{mailbox=\"%s\"} %llu\n",
                        mb->name, (unsigned long long)mb->received);
    evbuffer_add_printf(out,
                        "# HELP distgw_mailbox_dropped_total Messages dropped "
                        "by a full mailbox.\n"
                        "# TYPE distgw_mailbox_dropped_total counter\n");
    LIST_FOREACH(mb, &g->mailboxes, entry)
    evbuffer_add_printf(out,
                        "distgw_mailbox_dropped_total{mailbox=\"%s\"} %llu\n",
                        mb->name, (unsigned long long)mb->dropped);
    evbuffer_add_printf(out, "# HELP distgw_http_requests_total HTTP requests "
                             "by route and status.\n"
                             "# TYPE distgw_http_requests_total counter\n");
    for (r = 0; r < R_COUNT; r++)
        for (i = 0; i < NSTATUS; i++)
            if (b->requests[r][i] > 0)
                evbuffer_add_printf(
                    out,
                    "distgw_http_requests_total{route=\"%s\",status=\"%d\"} "
                    "%llu\n",
                    route_names[r], counted_status[i],
                    (unsigned long long)b->requests[r][i]);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    count(b, R_METRICS, 200);
    evhttp_send_reply(req, 200, NULL, out);
    evbuffer_free(out);
}

static void
h_nodes(struct bridge *b, struct evhttp_request *req)
{
    json_t *list = json_array();
    struct conn *c;
    char flags[32];

    LIST_FOREACH(c, &b->g->conns, entry)
    {
        if (c->state != CONN_UP)
            continue;
        snprintf(flags, sizeof(flags), "0x%llx", (unsigned long long)c->flags);
        json_array_append_new(
            list,
            json_pack("{s:s,s:s,s:I,s:s,s:I,s:s}", "node", c->peer, "flags",
                      flags, "creation", (json_int_t)c->peer_creation,
                      "direction", c->outbound ? "outbound" : "inbound",
                      "since", (json_int_t)c->since, "address", c->addr));
    }
    reply_json(b, req, R_NODES, 200, json_pack("{s:o}", "nodes", list));
}

static void
h_names(struct bridge *b, struct evhttp_request *req)
{
    struct evkeyvalq q = TAILQ_HEAD_INITIALIZER(q);
    const char *host = query(req, &q, "host");
    json_t *list = json_array();
    char why[512], *text, *line, *save = NULL;
    unsigned port;
    char name[256];

    if (host == NULL)
        host = "localhost";
    text = epmdc_names(host, b->g->epmd_port, why, sizeof(why));
    if (text == NULL) {
        json_decref(list);
        reply_error(b, req, R_NAMES, 502, "epmd unreachable", why);
        evhttp_clear_headers(&q);
        return;
    }
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
        if (sscanf(line, "name %255s at port %u", name, &port) == 2)
            json_array_append_new(
                list, json_pack("{s:s,s:i}", "name", name, "port", (int)port));
    free(text);
    reply_json(b, req, R_NAMES, 200,
               json_pack("{s:s,s:o}", "host", host, "names", list));
    evhttp_clear_headers(&q);
}

/* Where /send goes: a local mailbox, or a node and a name or pid. */
static void
h_send(struct bridge *b, struct evhttp_request *req)
{
    struct gw *g = b->g;
    etf_json_form form = form_of(req);
    json_t *body = NULL, *to;
    etf_arena *a = etf_arena_new();
    etf_term *msg = NULL, *pid = NULL, ctl, *e;
    const char *name = NULL, *node = NULL;
    struct mailbox *mb;
    struct conn *c;
    struct waiter *w;
    etf_error err;
    struct evkeyvalq q = TAILQ_HEAD_INITIALIZER(q);
    char pnode[HS_NAME_MAX + 1];

    if (sends_etf(req)) {
        /* Raw ETF: the message is the body, the target in the query. */
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);

        if (len > BRIDGE_MAX_BODY) {
            reply_error(b, req, R_SEND, 413, "body too large", NULL);
            goto done;
        }
        msg = etf_decode(a, evbuffer_pullup(in, -1), len,
                         &(etf_decode_opts){.exact = true}, NULL, &err);
        if (msg == NULL) {
            char detail[200];
            snprintf(detail, sizeof(detail), "%s", err.msg);
            reply_error(b, req, R_SEND, 400, "bad term", detail);
            goto done;
        }
        name = query(req, &q, "name");
        node = query(req, &q, "node");
        if (name == NULL) {
            reply_error(b, req, R_SEND, 400, "bad request",
                        "an ETF body needs ?name=N[&node=NODE]");
            goto done;
        }
    } else {
        if ((body = body_json(b, req, R_SEND)) == NULL)
            goto done;
        to = json_object_get(body, "to");
        if (!json_is_object(to)) {
            reply_error(b, req, R_SEND, 400, "bad request",
                        "member \"to\" must be {\"name\":..,\"node\":..} or "
                        "{\"pid\":..}");
            goto done;
        }
        if (json_object_get(to, "pid") != NULL) {
            pid = etf_from_json(a, to, ETF_JSON_TYPED, &err);
            if (pid == NULL || pid->kind != ETF_PID) {
                reply_error(b, req, R_SEND, 400, "bad request",
                            "\"to\" is not a pid");
                goto done;
            }
        } else {
            json_t *n = json_object_get(to, "name"),
                   *nd = json_object_get(to, "node");
            if (!json_is_string(n) || (nd != NULL && !json_is_string(nd))) {
                reply_error(b, req, R_SEND, 400, "bad request",
                            "\"to\" needs a string \"name\" (and \"node\")");
                goto done;
            }
            name = json_string_value(n);
            node = nd ? json_string_value(nd) : NULL;
        }
        if ((msg = member_term(b, req, R_SEND, body, "msg", form, a)) == NULL)
            goto done;
    }
    if (pid != NULL) {
        snprintf(pnode, sizeof(pnode), "%.*s", (int)pid->v.pid->node.len,
                 pid->v.pid->node.v.str);
        node = pnode;
    }
    /* A mailbox of our own. */
    if (node == NULL || strcmp(node, g->name) == 0) {
        mb = pid ? mbox_by_pid(g, pid) : mbox_by_name(g, name, strlen(name));
        if (mb == NULL) {
            reply_error(b, req, R_SEND, 404, "no such mailbox",
                        name ? name : "pid");
            goto done;
        }
        if (mb->depth >= mb->max_depth && mb->mode == MBOX_QUEUE) {
            mb->dropped++;
            g->stats.dropped++;
            reply_error(b, req, R_SEND, 503, "mailbox full", mb->name);
            goto done;
        }
        if (g->on_message)
            g->on_message(g, mb, NULL, msg);
        mbox_put(g, mb, NULL, msg);
        reply_json(b, req, R_SEND, 202,
                   json_pack("{s:b,s:s}", "sent", 1, "node", g->name));
        goto done;
    }
    if (!valid_node(node)) {
        reply_error(b, req, R_SEND, 400, "bad node name", node);
        goto done;
    }
    /* {6, From, '', Name} or {2, '', Pid}, from a pid of the bridge. */
    if (pid != NULL) {
        e = etf_set_tuple(a, &ctl, 3);
        etf_set_int(&e[0], DOP_SEND);
        gw_atom(a, &e[1], "");
        e[2] = *pid;
    } else {
        e = etf_set_tuple(a, &ctl, 4);
        etf_set_int(&e[0], DOP_REG_SEND);
        gw_make_pid(g, a, &e[1], 0);
        gw_atom(a, &e[2], "");
        if (gw_atom(a, &e[3], name) < 0) {
            reply_error(b, req, R_SEND, 400, "bad name", name);
            goto done;
        }
    }
    c = conn_find(g, node);
    if (c != NULL && c->state == CONN_UP) {
        conn_send(c, &ctl, msg);
        reply_json(b, req, R_SEND, 202,
                   json_pack("{s:b,s:s}", "sent", 1, "node", node));
        goto done;
    }
    /* Hold the request until the node is up or known to be unreachable. */
    w = waiter_new(b, W_SEND, R_SEND, req, BRIDGE_DEFAULT_TIMEOUT_MS);
    snprintf(w->node, sizeof(w->node), "%s", node);
    w->ctl = ctl;
    w->msg = *msg;
    /* The terms live in a; hand it to the waiter. */
    etf_arena_free(w->a);
    w->a = a;
    a = NULL;
    /* On failure the connection's down hook has answered already. */
    conn_connect(g, node);
done:
    evhttp_clear_headers(&q);
    json_decref(body);
    etf_arena_free(a);
}

/* /rpc and /call: a gen_server call from a fresh pid of ours, monitored
 * (for /call) so that a missing or dying server answers at once. */
static void
h_call(struct bridge *b, struct evhttp_request *req, bool rpc)
{
    struct gw *g = b->g;
    enum route r = rpc ? R_RPC : R_CALL;
    etf_json_form form = form_of(req);
    json_t *body;
    const char *node, *name = NULL, *mod = NULL, *fun = NULL;
    etf_term *args = NULL, *request = NULL, ctl, msg, req_t, *e, *from, self;
    struct waiter *w;
    struct conn *c;
    long timeout;

    if ((body = body_json(b, req, r)) == NULL)
        return;
    if ((node = member_str(b, req, r, body, "node")) == NULL ||
        (timeout = member_timeout(b, req, r, body)) < 0)
        goto done;
    if (!valid_node(node)) {
        reply_error(b, req, r, 400, "bad node name", node);
        goto done;
    }
    if (rpc) {
        if ((mod = member_str(b, req, r, body, "module")) == NULL ||
            (fun = member_str(b, req, r, body, "function")) == NULL)
            goto done;
    } else if ((name = member_str(b, req, r, body, "name")) == NULL)
        goto done;
    w = waiter_new(b, W_CALL, r, req, timeout);
    w->rpc = rpc;
    snprintf(w->node, sizeof(w->node), "%s", node);
    if (rpc) {
        if ((args = member_term(b, req, r, body, "args", form, w->a)) == NULL)
            goto fail;
        if (args->kind != ETF_LIST && args->kind != ETF_NIL &&
            args->kind != ETF_STRING) {
            reply_error(b, req, r, 400, "bad request",
                        "\"args\" must be a list");
            goto fail;
        }
    } else if ((request = member_term(b, req, r, body, "request", form,
                                      w->a)) == NULL)
        goto fail;
    w->pid_id = gw_new_pid_id(g);
    gw_make_pid(g, w->a, &self, w->pid_id);
    gw_make_ref(g, w->a, &w->ref);
    if (gw_atom(w->a, &w->target, rpc ? "rex" : name) < 0) {
        reply_error(b, req, r, 400, "bad request", "names must be atoms");
        goto fail;
    }
    if (rpc) {
        e = etf_set_tuple(w->a, &req_t, 5);
        gw_atom(w->a, &e[0], "call");
        if (gw_atom(w->a, &e[1], mod) < 0 || gw_atom(w->a, &e[2], fun) < 0) {
            reply_error(b, req, r, 400, "bad request",
                        "module and function must be atoms");
            goto fail;
        }
        e[3] = *args;
        e[4] = self; /* group leader: output comes back to us */
        request = &req_t;
    }
    /* On failure the connection's down hook has answered already. */
    if ((c = conn_connect(g, node)) == NULL)
        goto done;
    if (!rpc) {
        /* {19, Self, Name, Ref}: noproc comes back if there is none */
        e = etf_set_tuple(w->a, &ctl, 4);
        etf_set_int(&e[0], DOP_MONITOR_P);
        e[1] = self;
        e[2] = w->target;
        e[3] = w->ref;
        conn_send(c, &ctl, NULL);
    }
    e = etf_set_tuple(w->a, &ctl, 4);
    etf_set_int(&e[0], DOP_REG_SEND);
    e[1] = self;
    gw_atom(w->a, &e[2], "");
    e[3] = w->target;
    e = etf_set_tuple(w->a, &msg, 3);
    gw_atom(w->a, &e[0], "$gen_call");
    from = etf_set_tuple(w->a, &e[1], 2);
    from[0] = self;
    from[1] = w->ref;
    e[2] = *request;
    conn_send(c, &ctl, &msg);
    goto done;
fail:
    waiter_free(w);
done:
    json_decref(body);
}

static void
h_mailboxes_post(struct bridge *b, struct evhttp_request *req)
{
    struct gw *g = b->g;
    json_t *body, *mode_j, *max_j;
    const char *name, *mode;
    enum mbox_mode m = MBOX_QUEUE;
    struct mailbox *mb;
    etf_arena *a = etf_arena_new();
    etf_term pid, *check = NULL;
    etf_error e;

    if ((body = body_json(b, req, R_MAILBOXES)) == NULL)
        goto done;
    if ((name = member_str(b, req, R_MAILBOXES, body, "name")) == NULL)
        goto done;
    if (gw_atom(a, &pid, name) < 0 || strcmp(name, "net_kernel") == 0) {
        reply_error(b, req, R_MAILBOXES, 400, "bad name",
                    "a mailbox name is an atom other than net_kernel");
        goto done;
    }
    mode_j = json_object_get(body, "mode");
    mode = json_is_string(mode_j) ? json_string_value(mode_j) : "queue";
    if (strcmp(mode, "recorder") == 0)
        m = MBOX_RECORDER;
    else if (strcmp(mode, "echo") == 0)
        m = MBOX_ECHO;
    else if (strcmp(mode, "queue") != 0 ||
             (mode_j && !json_is_string(mode_j))) {
        reply_error(b, req, R_MAILBOXES, 400, "bad request",
                    "\"mode\" is \"queue\", \"recorder\" or \"echo\"");
        goto done;
    }
    max_j = json_object_get(body, "max");
    if (max_j != NULL &&
        (!json_is_integer(max_j) || json_integer_value(max_j) < 1 ||
         json_integer_value(max_j) > 10000000)) {
        reply_error(b, req, R_MAILBOXES, 400, "bad request",
                    "\"max\" is an integer from 1 to 10000000");
        goto done;
    }
    if ((mb = mbox_open(g, name, m)) == NULL) {
        reply_error(b, req, R_MAILBOXES, 409, "mailbox exists", name);
        goto done;
    }
    if (max_j != NULL)
        mb->max_depth = (size_t)json_integer_value(max_j);
    gw_make_pid(g, a, &pid, mb->pid_id);
    check = &pid;
    reply_json(b, req, R_MAILBOXES, 201,
               json_pack("{s:s,s:s,s:o}", "name", mb->name, "mode", mode, "pid",
                         term_json(check, ETF_JSON_TYPED, &e)));
    log_info("mailbox %s opened (%s)", name, mode);
done:
    json_decref(body);
    etf_arena_free(a);
}

static void
h_mailbox(struct bridge *b, struct evhttp_request *req, const char *name,
          bool messages)
{
    struct gw *g = b->g;
    struct mailbox *mb = mbox_by_name(g, name, strlen(name));
    enum route r = messages ? R_MESSAGES : R_MAILBOX;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct waiter *w, *next;
    long wait_ms, max;

    if (mb == NULL) {
        reply_error(b, req, r, 404, "no such mailbox", name);
        return;
    }
    if (!messages) {
        if (cmd != EVHTTP_REQ_DELETE) {
            reply_error(b, req, r, 405, "method not allowed", "DELETE");
            return;
        }
        /* Long polls on it end now, empty. */
        for (w = LIST_FIRST(&b->waiters); w != NULL; w = next) {
            next = LIST_NEXT(w, entry);
            if (w->kind == W_POLL && w->mb == mb) {
                reply_error(b, w->req, w->route, 404, "no such mailbox", name);
                waiter_free(w);
            }
        }
        log_info("mailbox %s closed", name);
        mbox_close(g, mb, "normal");
        evhttp_send_reply(req, 204, NULL, NULL);
        count(b, r, 204);
        return;
    }
    if (cmd != EVHTTP_REQ_GET) {
        reply_error(b, req, r, 405, "method not allowed", "GET");
        return;
    }
    wait_ms = query_num(req, "wait_ms", 0, 0, BRIDGE_MAX_WAIT_MS);
    max = query_num(req, "max", 1000, 1, BRIDGE_MAX_TAKE);
    if (wait_ms < 0 || max < 0) {
        reply_error(b, req, r, 400, "bad request",
                    "wait_ms is 0..300000 and max 1..10000");
        return;
    }
    if (mb->depth > 0 || wait_ms == 0) {
        reply_messages(b, req, mb, (size_t)max, form_of(req), wants_etf(req));
        return;
    }
    if (b->npolls >= BRIDGE_MAX_POLLS) {
        reply_error(b, req, r, 429, "too many long polls", NULL);
        return;
    }
    w = waiter_new(b, W_POLL, r, req, wait_ms);
    w->mb = mb;
    w->max = (size_t)max;
}

static void
h_events(struct bridge *b, struct evhttp_request *req)
{
    struct stream *s;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (b->nstreams >= BRIDGE_MAX_STREAMS) {
        reply_error(b, req, R_EVENTS, 429, "too many event streams", NULL);
        return;
    }
    s = xcalloc(1, sizeof(*s));
    s->b = b;
    s->req = req;
    s->form = form_of(req);
    LIST_INSERT_HEAD(&b->streams, s, entry);
    b->nstreams++;
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply_start(req, 200, "OK");
    count(b, R_EVENTS, 200);
    evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                  stream_closed_cb, s);
}

static void
route_cb(struct evhttp_request *req, void *arg)
{
    struct bridge *b = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evhttp_uri *u = evhttp_uri_parse(uri);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    char *dec = NULL, *name;
    bool get = cmd == EVHTTP_REQ_GET, post = cmd == EVHTTP_REQ_POST;

    if (path == NULL) {
        reply_error(b, req, R_OTHER, 400, "bad request", "no path");
        goto done;
    }
    dec = evhttp_uridecode(path, 0, NULL);
    if (strcmp(dec, "/healthz") == 0 && get)
        h_healthz(b, req);
    else if (strcmp(dec, "/metrics") == 0 && get)
        h_metrics(b, req);
    else if (strcmp(dec, "/nodes") == 0 && get)
        h_nodes(b, req);
    else if (strcmp(dec, "/names") == 0 && get)
        h_names(b, req);
    else if (strcmp(dec, "/send") == 0 && post)
        h_send(b, req);
    else if (strcmp(dec, "/rpc") == 0 && post)
        h_call(b, req, true);
    else if (strcmp(dec, "/call") == 0 && post)
        h_call(b, req, false);
    else if (strcmp(dec, "/mailboxes") == 0 && post)
        h_mailboxes_post(b, req);
    else if (strcmp(dec, "/events") == 0 && get)
        h_events(b, req);
    else if (strncmp(dec, "/mailboxes/", 11) == 0) {
        name = dec + 11;
        char *slash = strchr(name, '/');
        if (slash != NULL && strcmp(slash, "/messages") == 0) {
            *slash = '\0';
            h_mailbox(b, req, name, true);
        } else if (slash == NULL && *name != '\0')
            h_mailbox(b, req, name, false);
        else
            reply_error(b, req, R_OTHER, 404, "no such route", dec);
    } else if (strcmp(dec, "/healthz") == 0 || strcmp(dec, "/metrics") == 0 ||
               strcmp(dec, "/nodes") == 0 || strcmp(dec, "/names") == 0 ||
               strcmp(dec, "/events") == 0 || strcmp(dec, "/send") == 0 ||
               strcmp(dec, "/rpc") == 0 || strcmp(dec, "/call") == 0 ||
               strcmp(dec, "/mailboxes") == 0)
        reply_error(b, req, R_OTHER, 405, "method not allowed", dec);
    else
        reply_error(b, req, R_OTHER, 404, "no such route", dec);
done:
    free(dec);
    if (u != NULL)
        evhttp_uri_free(u);
}

int
bridge_start(struct gw *g, const char *addr, bool must)
{
    struct bridge *b = xcalloc(1, sizeof(*b));
    struct sockaddr_storage ss;
    socklen_t len;
    char host[ADDR_STRLEN];
    uint16_t port;

    if (addr_parse_hostport(addr, &ss, &len) < 0) {
        log_warnx("bad -http address '%s': give ADDR:PORT", addr);
        free(b);
        return -1;
    }
    addr_fmt_ip((struct sockaddr *)&ss, host, sizeof(host));
    port = ss.ss_family == AF_INET6
               ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
               : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    b->g = g;
    LIST_INIT(&b->waiters);
    LIST_INIT(&b->streams);
    b->http = evhttp_new(g->base);
    evhttp_set_max_body_size(b->http, BRIDGE_MAX_BODY + 1);
    evhttp_set_allowed_methods(b->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_DELETE);
    evhttp_set_gencb(b->http, route_cb, b);
    if (evhttp_bind_socket(b->http, host, port) < 0) {
        if (must)
            log_warnx("cannot serve HTTP on %s", addr);
        else
            log_warnx("cannot serve HTTP on %s (in use?); running without "
                      "the HTTP API: give -http ADDR:PORT",
                      addr);
        evhttp_free(b->http);
        free(b);
        return -1;
    }
    g->bridge = b;
    g->deliver = bridge_deliver;
    g->deliver_arg = b;
    g->on_message = bridge_on_message;
    g->on_conn_up = bridge_on_conn_up;
    g->on_conn_down = bridge_on_conn_down;
    log_info("HTTP API on %s", addr);
    return 0;
}
