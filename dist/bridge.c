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
#include "api.h"
#include "dist_proto.h"
#include "gw.h"
#include "log.h"
#include "xmalloc.h"

/* Long polls waiting at once, and event streams open at once. */
#define BRIDGE_MAX_POLLS 256
#define BRIDGE_MAX_STREAMS 64
/* An event stream whose unsent output passes this is dropped. */
#ifndef BRIDGE_STREAM_MAX_BUFFER
#define BRIDGE_STREAM_MAX_BUFFER (4u * 1024 * 1024)
#endif

#define ETF_MIME API_ETF_MIME
#define BRIDGE_STR2(x) #x
#define BRIDGE_STR(x) BRIDGE_STR2(x)

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
    enum api_route route;
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
    /* W_POLL: the mailbox by name (it may be closed while we wait) */
    char mbname[ETF_MAX_ATOM_BYTES + 1];
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
    uint64_t requests[API_R_COUNT][NSTATUS + 1];
    uint64_t streams_dropped, events_sent;
};

/* ------------------------------------------------------------------ */
/* replies                                                             */
/* ------------------------------------------------------------------ */

static void
count(struct bridge *b, enum api_route r, int status)
{
    size_t i;

    for (i = 0; i < NSTATUS; i++)
        if (counted_status[i] == status)
            break;
    b->requests[r][i]++;
}

static void
reply_json(struct bridge *b, struct evhttp_request *req, enum api_route r,
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
reply_error(struct bridge *b, struct evhttp_request *req, enum api_route r,
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

/* An error reason in the request's form, or in the typed form when the
 * plain one cannot carry it (exit reasons are mostly tuples). */
static json_t *
reason_json(const etf_term *t, etf_json_form form)
{
    etf_error e;
    json_t *j = etf_to_json(t, form, &e);

    return j != NULL ? j : etf_to_json(t, ETF_JSON_TYPED, &e);
}

static void
reply_etf(struct bridge *b, struct evhttp_request *req, enum api_route r,
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
    struct api_error err;
    etf_json_form form;

    /* route_cb has refused a bad ?format= already. */
    api_parse_form(query(req, &q, "format"), &form, &err);

    evhttp_clear_headers(&q);
    return form;
}

/* An api_* error as the reply: {"error": .., "detail": ..}. */
static void
reply_api_error(struct bridge *b, struct evhttp_request *req, enum api_route r,
                const struct api_error *err)
{
    reply_error(b, req, r, err->status, err->error,
                err->detail[0] != '\0' ? err->detail : NULL);
}

/* The request body, checked by api_parse_body; an error reply and -1 if
 * it is not a JSON object. */
static int
body_json(struct bridge *b, struct evhttp_request *req, enum api_route r,
          json_t **out)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    struct api_error err;

    if (api_parse_body(len ? evbuffer_pullup(in, -1) : NULL, len, out, &err) !=
        0) {
        reply_api_error(b, req, r, &err);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* waiters                                                             */
/* ------------------------------------------------------------------ */

static void waiter_timeout_cb(evutil_socket_t, short, void *);
static void demonitor(struct gw *, struct waiter *);

static struct waiter *
waiter_new(struct bridge *b, enum wait_kind kind, enum api_route r,
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
        reply_etf(b, req, API_R_MESSAGES, 200, &all);
    } else {
        reply_json(b, req, API_R_MESSAGES, 200,
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
    struct mailbox *mb;

    (void)fd;
    (void)what;
    switch (w->kind) {
    case W_POLL:
        if ((mb = mbox_by_name(w->b->g, w->mbname, strlen(w->mbname))) == NULL)
            reply_error(w->b, w->req, w->route, 404, "no such mailbox",
                        w->mbname);
        else
            reply_messages(w->b, w->req, mb, w->max, w->form, w->etf_out);
        break;
    case W_CALL:
        /* A late reply is dropped (no waiter has the pid); the monitor
         * must not outlive the call. */
        demonitor(w->b->g, w);
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
    char *text[2] = {NULL, NULL}; /* by etf_json_form */
    etf_error e;

    /* Wake the long polls on this mailbox: after the message is kept. */
    for (w = LIST_FIRST(&b->waiters); w != NULL; w = next) {
        next = LIST_NEXT(w, entry);
        if (w->kind == W_POLL && strcmp(w->mbname, mb->name) == 0) {
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
            /* A reader this slow would make us hold everything: drop it,
             * with a last event saying why. */
            b->streams_dropped++;
            log_warnx("event stream dropped: the reader is %u bytes behind",
                      BRIDGE_STREAM_MAX_BUFFER);
            out = evbuffer_new();
            evbuffer_add_printf(out,
                                "event: dropped\ndata: {\"error\":\"too slow\","
                                "\"detail\":\"more than %u bytes unread\"}\n\n",
                                BRIDGE_STREAM_MAX_BUFFER);
            evhttp_send_reply_chunk(s->req, out);
            evbuffer_free(out);
            evhttp_connection_set_closecb(evhttp_request_get_connection(s->req),
                                          NULL, NULL);
            evhttp_send_reply_end(s->req);
            stream_free(s);
            continue;
        }
        /* One text per form, made for the first stream that wants it. */
        if (text[s->form] == NULL) {
            if ((v = term_json(msg, s->form, &e)) == NULL)
                v = json_pack("{s:s}", "unrepresentable", e.msg);
            j = json_pack("{s:s,s:o,s:o}", "mailbox", mb->name, "from",
                          from ? term_json(from, ETF_JSON_TYPED, &e)
                               : json_null(),
                          "msg", v);
            text[s->form] = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
            json_decref(j);
            if (text[s->form] == NULL)
                continue;
        }
        out = evbuffer_new();
        evbuffer_add_printf(out, "event: message\ndata: %s\n\n", text[s->form]);
        evhttp_send_reply_chunk(s->req, out);
        evbuffer_free(out);
        b->events_sent++;
    }
    free(text[ETF_JSON_TYPED]);
    free(text[ETF_JSON_PLAIN]);
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

/* A pid of ours that is no mailbox is alive while a call waits on it;
 * any other (a mailbox killed, a call done) is gone: monitors get noproc. */
static bool
bridge_owns_pid(struct gw *g, const etf_term *pid, void *arg)
{
    (void)g;
    return call_by_pid(arg, pid) != NULL;
}

/* Append code point cp as UTF-8. */
static void
put_utf8(struct evbuffer *out, uint32_t cp)
{
    uint8_t u[4];

    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        evbuffer_add(out, u, 1);
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3F));
        evbuffer_add(out, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp & 0x3F));
        evbuffer_add(out, u, 3);
    } else {
        u[0] = (uint8_t)(0xF0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (uint8_t)(0x80 | (cp & 0x3F));
        evbuffer_add(out, u, 4);
    }
}

/* Chardata as io:put_chars takes it (binaries, code points, nested lists,
 * a binary tail) appended to out as UTF-8; latin1 binaries are converted.
 * Returns -1 for anything else or nesting beyond depth. */
static int
put_chardata(struct evbuffer *out, const etf_term *t, bool latin1,
             unsigned depth)
{
    size_t i;
    const etf_term *x;

    if (depth > 100)
        return -1;
    switch (t->kind) {
    case ETF_BINARY:
        if (t->aux != 8)
            return -1;
        if (!latin1) {
            evbuffer_add(out, t->v.bytes, t->len);
            return 0;
        }
        /* FALLTHROUGH */
    case ETF_STRING:
        for (i = 0; i < t->len; i++)
            put_utf8(out, t->v.bytes[i]);
        return 0;
    case ETF_NIL:
        return 0;
    case ETF_INT:
        if (t->v.i < 0 || t->v.i > 0x10FFFF ||
            (t->v.i >= 0xD800 && t->v.i <= 0xDFFF) || (latin1 && t->v.i > 255))
            return -1;
        put_utf8(out, (uint32_t)t->v.i);
        return 0;
    case ETF_LIST:
        for (i = 0; i <= t->len; i++) {
            x = &t->v.elems[i];
            /* The tail may be [] or a binary, as in an iolist. */
            if (i == t->len && x->kind != ETF_NIL && x->kind != ETF_BINARY)
                return -1;
            if (put_chardata(out, x, latin1, depth + 1) < 0)
                return -1;
        }
        return 0;
    default:
        return -1;
    }
}

/* Answer an io request of a remote call whose group leader we are:
 * {put_chars, Enc, Chars} and {put_chars, Chars} are kept as output; the
 * rest (formatting, reading) needs Erlang and is answered
 * {error, request}. */
static void
io_request(struct gw *g, struct waiter *w, const etf_term *req, etf_arena *a)
{
    const etf_term *from = &req->v.elems[1], *r = &req->v.elems[3];
    const etf_term *chars = NULL;
    etf_term ctl, msg, *e;
    struct conn *c = conn_find(g, w->node);
    struct evbuffer *tmp = evbuffer_new();
    bool latin1 = false;

    if (r->kind == ETF_TUPLE && (r->len == 3 || r->len == 2) &&
        r->v.elems[0].kind == ETF_ATOM &&
        strcmp(r->v.elems[0].v.str, "put_chars") == 0) {
        chars = &r->v.elems[r->len - 1];
        latin1 = r->len == 3 && r->v.elems[1].kind == ETF_ATOM &&
                 strcmp(r->v.elems[1].v.str, "latin1") == 0;
    }
    if (w->output == NULL)
        w->output = evbuffer_new();
    if (chars != NULL && put_chardata(tmp, chars, latin1, 0) == 0)
        evbuffer_add_buffer(w->output, tmp);
    else
        chars = NULL;
    evbuffer_free(tmp);
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
        json_t *reason = reason_json(m->reason, w->form);

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
        json_t *j = json_pack("{s:s}", "error", "badrpc");
        json_t *reason = reason_json(&v->v.elems[1], w->form);

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

    reply_json(b, req, API_R_HEALTHZ, ok ? 200 : 503,
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
        "distgw_sse_events_total %llu\n"
        "# HELP distgw_read_wakeups_total Reads of a node's plain TCP "
        "socket: when it was readable, or when a batch's wait ended.\n"
        "# TYPE distgw_read_wakeups_total counter\n"
        "distgw_read_wakeups_total %llu\n"
        "# HELP distgw_coalesce_starts_total Times a node's stream began to "
        "be read in batches (-coalesce).\n"
        "# TYPE distgw_coalesce_starts_total counter\n"
        "distgw_coalesce_starts_total %llu\n"
        "# HELP distgw_coalescing_connections Connections read in batches "
        "now.\n"
        "# TYPE distgw_coalescing_connections gauge\n"
        "distgw_coalescing_connections %u\n",
        nodes, (unsigned long long)g->stats.handshakes_ok,
        (unsigned long long)g->stats.handshakes_failed,
        (unsigned long long)g->stats.msgs_in,
        (unsigned long long)g->stats.msgs_out,
        (unsigned long long)g->stats.bytes_in,
        (unsigned long long)g->stats.bytes_out,
        (unsigned long long)g->stats.dropped, g->registered ? 1 : 0,
        (unsigned long long)g->stats.reregistrations, b->nstreams,
        (unsigned long long)b->streams_dropped,
        (unsigned long long)b->events_sent,
        (unsigned long long)g->stats.read_wakeups,
        (unsigned long long)g->stats.coalesce_starts, g->coalescing);
    evbuffer_add_printf(out,
                        "# HELP distgw_control_messages_in_total Control "
                        "messages received, by kind.\n"
                        "# TYPE distgw_control_messages_in_total counter\n");
    for (i = 0; i <= GW_MAX_OP; i++) {
        char kind[32];
        size_t k;

        if (g->stats.in_by_op[i] == 0)
            continue;
        /* LINK -> link, REG_SEND_TT -> reg_send_tt */
        snprintf(kind, sizeof(kind), "%s", ctl_opname((int)i));
        for (k = 0; kind[k] != '\0'; k++)
            if (kind[k] >= 'A' && kind[k] <= 'Z')
                kind[k] = (char)(kind[k] - 'A' + 'a');
        evbuffer_add_printf(
            out, "distgw_control_messages_in_total{kind=\"%s\"} %llu\n", kind,
            (unsigned long long)g->stats.in_by_op[i]);
    }
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
    for (r = 0; r < API_R_COUNT; r++)
        for (i = 0; i < NSTATUS; i++)
            if (b->requests[r][i] > 0)
                evbuffer_add_printf(
                    out,
                    "distgw_http_requests_total{route=\"%s\",status=\"%d\"} "
                    "%llu\n",
                    api_route_name((enum api_route)r), counted_status[i],
                    (unsigned long long)b->requests[r][i]);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    count(b, API_R_METRICS, 200);
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
    reply_json(b, req, API_R_NODES, 200, json_pack("{s:o}", "nodes", list));
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
        reply_error(b, req, API_R_NAMES, 502, "epmd unreachable", why);
        evhttp_clear_headers(&q);
        return;
    }
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
        if (sscanf(line, "name %255s at port %u", name, &port) == 2)
            json_array_append_new(
                list, json_pack("{s:s,s:i}", "name", name, "port", (int)port));
    free(text);
    reply_json(b, req, API_R_NAMES, 200,
               json_pack("{s:s,s:o}", "host", host, "names", list));
    evhttp_clear_headers(&q);
}

/* Keep a message /send gives a mailbox of our own, as one from a node
 * would be kept; 503 if the mailbox is full. */
static int
send_local(struct bridge *b, struct mailbox *mb, const etf_term *msg,
           etf_arena *a)
{
    struct gw *g = b->g;
    const etf_term *kept = msg;
    etf_term pair, *p;

    if (mb->mode == MBOX_RECORDER) {
        /* {send, From, Content} is kept as {From, Content}, the rest
         * ignored, as dispatch does for messages from nodes. */
        if (msg->kind != ETF_TUPLE || msg->len != 3 ||
            msg->v.elems[0].kind != ETF_ATOM ||
            strcmp(msg->v.elems[0].v.str, "send") != 0) {
            mb->received++;
            return 0;
        }
        if ((p = etf_set_tuple(a, &pair, 2)) == NULL)
            return -1;
        p[0] = msg->v.elems[1];
        p[1] = msg->v.elems[2];
        kept = &pair;
    } else if (mb->mode == MBOX_ECHO) {
        /* No sender to echo to. */
        mb->received++;
        bridge_on_message(g, mb, NULL, msg);
        return 0;
    }
    if (mb->depth >= mb->max_depth) {
        mb->received++;
        mb->dropped++;
        g->stats.dropped++;
        return 503;
    }
    if (mbox_put(g, mb, NULL, kept) < 0)
        return -1;
    bridge_on_message(g, mb, NULL, msg);
    return 0;
}

/* Where /send goes: a local mailbox, or a node and a name or pid. */
static void
h_send(struct bridge *b, struct evhttp_request *req)
{
    struct gw *g = b->g;
    etf_json_form form = form_of(req);
    json_t *body = NULL;
    etf_arena *a = etf_arena_new();
    etf_term ctl, *e;
    struct api_send s;
    struct api_error err;
    struct mailbox *mb;
    struct conn *c;
    struct waiter *w;
    struct evkeyvalq q = TAILQ_HEAD_INITIALIZER(q);
    int rc;

    if (sends_etf(req)) {
        /* Raw ETF: the message is the body, the target in the query. */
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        const char *name = query(req, &q, "name"),
                   *node = query(req, &q, "node");

        rc = api_parse_send_etf(len ? evbuffer_pullup(in, -1) : NULL, len, name,
                                node, a, &s, &err);
    } else if (body_json(b, req, API_R_SEND, &body) < 0)
        goto done;
    else
        rc = api_parse_send(body, form, a, &s, &err);
    if (rc != 0) {
        reply_api_error(b, req, API_R_SEND, &err);
        goto done;
    }
    /* A mailbox of our own. */
    if (s.node == NULL || strcmp(s.node, g->name) == 0) {
        mb = s.pid ? mbox_by_pid(g, s.pid)
                   : mbox_by_name(g, s.name, strlen(s.name));
        if (mb == NULL) {
            reply_error(b, req, API_R_SEND, 404, "no such mailbox",
                        s.name ? s.name : "no mailbox has that pid");
            goto done;
        }
        if ((rc = send_local(b, mb, s.msg, a)) != 0) {
            if (rc == 503)
                reply_error(b, req, API_R_SEND, 503, "mailbox full", mb->name);
            else
                reply_error(b, req, API_R_SEND, 500, "cannot keep the message",
                            mb->name);
            goto done;
        }
        reply_json(b, req, API_R_SEND, 202,
                   json_pack("{s:b,s:s}", "sent", 1, "node", g->name));
        goto done;
    }
    /* {6, From, '', Name} or {2, '', Pid}, from a pid of the bridge. */
    if (s.pid != NULL) {
        e = etf_set_tuple(a, &ctl, 3);
        etf_set_int(&e[0], DOP_SEND);
        gw_atom(a, &e[1], "");
        e[2] = *s.pid;
    } else {
        e = etf_set_tuple(a, &ctl, 4);
        etf_set_int(&e[0], DOP_REG_SEND);
        gw_make_pid(g, a, &e[1], 0);
        gw_atom(a, &e[2], "");
        gw_atom(a, &e[3], s.name); /* checked by api_parse_send */
    }
    c = conn_find(g, s.node);
    if (c != NULL && c->state == CONN_UP) {
        conn_send(c, &ctl, s.msg);
        reply_json(b, req, API_R_SEND, 202,
                   json_pack("{s:b,s:s}", "sent", 1, "node", s.node));
        goto done;
    }
    /* Hold the request until the node is up or known to be unreachable. */
    w = waiter_new(b, W_SEND, API_R_SEND, req, API_DEFAULT_TIMEOUT_MS);
    snprintf(w->node, sizeof(w->node), "%s", s.node);
    w->ctl = ctl;
    w->msg = *s.msg;
    /* The terms live in a; hand it to the waiter. */
    etf_arena_free(w->a);
    w->a = a;
    a = NULL;
    /* On failure the connection's down hook has answered already. */
    conn_connect(g, w->node);
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
    enum api_route r = rpc ? API_R_RPC : API_R_CALL;
    etf_json_form form = form_of(req);
    json_t *body;
    etf_term ctl, msg, req_t, *e, *from, self, *request;
    struct api_rpc rq;
    struct api_call cq;
    struct api_error err;
    struct waiter *w;
    struct conn *c;
    etf_arena *a;
    const char *node;
    long timeout;
    int rc;

    if (body_json(b, req, r, &body) < 0)
        return;
    a = etf_arena_new();
    rc = rpc ? api_parse_rpc(body, form, a, &rq, &err)
             : api_parse_call(body, form, a, &cq, &err);
    if (rc != 0) {
        reply_api_error(b, req, r, &err);
        etf_arena_free(a);
        json_decref(body);
        return;
    }
    node = rpc ? rq.node : cq.node;
    timeout = rpc ? rq.timeout_ms : cq.timeout_ms;
    w = waiter_new(b, W_CALL, r, req, timeout);
    /* The request's terms live in a: the waiter keeps it. */
    etf_arena_free(w->a);
    w->a = a;
    w->rpc = rpc;
    snprintf(w->node, sizeof(w->node), "%s", node);
    w->pid_id = gw_new_pid_id(g);
    gw_make_pid(g, w->a, &self, w->pid_id);
    gw_make_ref(g, w->a, &w->ref);
    if (rpc) {
        gw_atom(w->a, &w->target, "rex");
        e = etf_set_tuple(w->a, &req_t, 5);
        gw_atom(w->a, &e[0], "call");
        e[1] = rq.module;
        e[2] = rq.function;
        e[3] = *rq.args;
        e[4] = self; /* group leader: output comes back to us */
        request = &req_t;
    } else {
        w->target = cq.name;
        request = cq.request;
    }
    /* node points into body: from here on, w->node. */
    json_decref(body);
    /* On failure the connection's down hook has answered already. */
    if ((c = conn_connect(g, w->node)) == NULL)
        return;
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
}

static void
h_mailboxes_post(struct bridge *b, struct evhttp_request *req)
{
    struct gw *g = b->g;
    json_t *body, *pid_j;
    struct api_mailbox rq;
    struct api_error err;
    struct mailbox *mb;
    etf_arena *a;
    etf_term pid;
    etf_error e;

    if (body_json(b, req, API_R_MAILBOXES, &body) < 0)
        return;
    if (api_parse_mailbox(body, &rq, &err) != 0) {
        reply_api_error(b, req, API_R_MAILBOXES, &err);
        json_decref(body);
        return;
    }
    if ((mb = mbox_open(g, rq.name, rq.kind)) == NULL) {
        reply_error(b, req, API_R_MAILBOXES, 409, "mailbox exists", rq.name);
        json_decref(body);
        return;
    }
    if (rq.max > 0)
        mb->max_depth = (size_t)rq.max;
    a = etf_arena_new();
    gw_make_pid(g, a, &pid, mb->pid_id);
    pid_j = term_json(&pid, ETF_JSON_TYPED, &e);
    reply_json(b, req, API_R_MAILBOXES, 201,
               json_pack("{s:s,s:s,s:o,s:I}", "name", mb->name, "mode", rq.mode,
                         "pid", pid_j, "max", (json_int_t)mb->max_depth));
    log_info("mailbox %s opened (%s)", mb->name, rq.mode);
    etf_arena_free(a);
    json_decref(body);
}

static void
h_mailbox_delete(struct bridge *b, struct evhttp_request *req,
                 struct mailbox *mb)
{
    struct waiter *w, *next;

    /* Long polls on it end now, with 404. */
    for (w = LIST_FIRST(&b->waiters); w != NULL; w = next) {
        next = LIST_NEXT(w, entry);
        if (w->kind == W_POLL && strcmp(w->mbname, mb->name) == 0) {
            reply_error(b, w->req, w->route, 404, "no such mailbox", mb->name);
            waiter_free(w);
        }
    }
    log_info("mailbox %s closed", mb->name);
    mbox_close(b->g, mb, "normal");
    evhttp_send_reply(req, 204, NULL, NULL);
    count(b, API_R_MAILBOX, 204);
}

static void
h_messages(struct bridge *b, struct evhttp_request *req, struct mailbox *mb)
{
    struct evkeyvalq q = TAILQ_HEAD_INITIALIZER(q);
    const char *wait_s = query(req, &q, "wait_ms"),
               *max_s = query(req, &q, "max");
    struct api_poll p;
    struct api_error err;
    struct waiter *w;

    if (api_parse_poll(wait_s, max_s, &p, &err) != 0) {
        evhttp_clear_headers(&q);
        reply_api_error(b, req, API_R_MESSAGES, &err);
        return;
    }
    evhttp_clear_headers(&q);
    if (mb->depth > 0 || p.wait_ms == 0) {
        reply_messages(b, req, mb, (size_t)p.max, form_of(req), wants_etf(req));
        return;
    }
    if (b->npolls >= BRIDGE_MAX_POLLS) {
        reply_error(b, req, API_R_MESSAGES, 429, "too many long polls",
                    "the limit is " BRIDGE_STR(BRIDGE_MAX_POLLS));
        return;
    }
    w = waiter_new(b, W_POLL, API_R_MESSAGES, req, p.wait_ms);
    snprintf(w->mbname, sizeof(w->mbname), "%s", mb->name);
    w->max = (size_t)p.max;
}

static void
h_events(struct bridge *b, struct evhttp_request *req)
{
    struct stream *s;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (b->nstreams >= BRIDGE_MAX_STREAMS) {
        reply_error(b, req, API_R_EVENTS, 429, "too many event streams",
                    "the limit is " BRIDGE_STR(BRIDGE_MAX_STREAMS));
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
    count(b, API_R_EVENTS, 200);
    evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                  stream_closed_cb, s);
}

static void
route_cb(struct evhttp_request *req, void *arg)
{
    struct bridge *b = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evhttp_uri *u = evhttp_uri_parse(uri);
    const char *path = u ? evhttp_uri_get_path(u) : NULL, *name, *allow;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    enum api_method m = cmd == EVHTTP_REQ_GET      ? API_GET
                        : cmd == EVHTTP_REQ_POST   ? API_POST
                        : cmd == EVHTTP_REQ_DELETE ? API_DELETE
                                                   : API_OTHER;
    struct evkeyvalq q = TAILQ_HEAD_INITIALIZER(q);
    struct api_error err;
    enum api_route r;
    struct mailbox *mb;
    char *dec = NULL;
    size_t namelen;
    etf_json_form form;
    char what[ETF_MAX_ATOM_BYTES + 1];

    if (path == NULL || (dec = evhttp_uridecode(path, 0, NULL)) == NULL) {
        reply_error(b, req, API_R_OTHER, 400, "bad request", "no path");
        goto done;
    }
    r = api_route(dec, m, &name, &namelen, &allow, &err);
    if (err.status == 405)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          allow);
    if (err.status == 0)
        api_parse_form(query(req, &q, "format"), &form, &err);
    if (err.status != 0) {
        reply_api_error(b, req, r, &err);
        goto done;
    }
    switch (r) {
    case API_R_HEALTHZ:
        h_healthz(b, req);
        break;
    case API_R_METRICS:
        h_metrics(b, req);
        break;
    case API_R_NODES:
        h_nodes(b, req);
        break;
    case API_R_NAMES:
        h_names(b, req);
        break;
    case API_R_SEND:
        h_send(b, req);
        break;
    case API_R_RPC:
        h_call(b, req, true);
        break;
    case API_R_CALL:
        h_call(b, req, false);
        break;
    case API_R_MAILBOXES:
        h_mailboxes_post(b, req);
        break;
    case API_R_EVENTS:
        h_events(b, req);
        break;
    case API_R_MAILBOX:
    case API_R_MESSAGES:
        if ((mb = mbox_by_name(b->g, name, namelen)) == NULL) {
            snprintf(what, sizeof(what), "%.*s", (int)namelen, name);
            reply_error(b, req, r, 404, "no such mailbox", what);
            break;
        }
        if (r == API_R_MAILBOX)
            h_mailbox_delete(b, req, mb);
        else
            h_messages(b, req, mb);
        break;
    default:
        reply_error(b, req, API_R_OTHER, 404, "no such route", dec);
        break;
    }
done:
    evhttp_clear_headers(&q);
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
    evhttp_set_max_body_size(b->http, API_MAX_BODY + 1);
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
    g->owns_pid = bridge_owns_pid;
    g->on_message = bridge_on_message;
    g->on_conn_up = bridge_on_conn_up;
    g->on_conn_down = bridge_on_conn_down;
    log_info("HTTP API on %s", addr);
    return 0;
}
