/*
 * The bridge's requests, checked without sockets: routes, query numbers
 * and the JSON (or ETF) bodies of /send, /rpc, /call and /mailboxes, each
 * turned into a struct or into the HTTP status and the error the client
 * gets back. bridge.c does the I/O around them.
 */
#ifndef DIST_API_H
#define DIST_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "etf.h"
#include "gw.h"
#include "handshake.h"

/* Request bodies larger than this are refused with 413. */
#define API_MAX_BODY (8u * 1024 * 1024)
/* Default and largest "timeout_ms" of /rpc and /call. */
#define API_DEFAULT_TIMEOUT_MS 5000
#define API_MAX_TIMEOUT_MS 600000
/* The longest long poll (?wait_ms=), and messages one GET takes at most
 * (?max=, 1000 when absent). */
#define API_MAX_WAIT_MS 300000
#define API_DEFAULT_TAKE 1000
#define API_MAX_TAKE 10000
/* Largest "max" depth of a mailbox made by POST /mailboxes. */
#define API_MAX_MBOX_DEPTH 10000000

/* The media type of raw ETF bodies and replies. */
#define API_ETF_MIME "application/x-erlang-binary"

/* What the client is told: {"error": error, "detail": detail} with status;
 * detail is empty when there is nothing to add. */
struct api_error {
    int status;
    char error[48];
    char detail[320];
};

enum api_method { API_GET, API_POST, API_DELETE, API_OTHER };

enum api_route {
    API_R_HEALTHZ,
    API_R_METRICS,
    API_R_NODES,
    API_R_NAMES,
    API_R_SEND,
    API_R_RPC,
    API_R_CALL,
    API_R_MAILBOXES,
    API_R_MAILBOX,  /* /mailboxes/NAME */
    API_R_MESSAGES, /* /mailboxes/NAME/messages */
    API_R_EVENTS,
    API_R_OTHER, /* no such route */
    API_R_COUNT
};

/* The route's name as /metrics labels it ("/mailboxes/NAME"). */
const char *api_route_name(enum api_route r);

/* Find the route of a decoded path and check the method. Returns the
 * route; for /mailboxes/NAME[/messages] *name points at NAME inside path
 * with its length in *namelen. When the path or method is wrong, err says
 * 404 or 405 (err->detail then names the allowed method for a 405, which
 * allow also points to), and the route is the path's, or API_R_OTHER. */
enum api_route api_route(const char *path, enum api_method m, const char **name,
                         size_t *namelen, const char **allow,
                         struct api_error *err);

/* ?format=: NULL or "typed" is the typed form, "plain" the plain one;
 * anything else is a 400. Returns 0 or the status. */
int api_parse_form(const char *format, etf_json_form *form,
                   struct api_error *err);

/* A number query parameter within [lo, hi], *v = def when s is NULL.
 * Returns 0, or 400 with err naming key. */
int api_query_num(const char *key, const char *s, long def, long lo, long hi,
                  long *v, struct api_error *err);

/* ?wait_ms= (0 .. API_MAX_WAIT_MS, 0 by default) and ?max= (1 ..
 * API_MAX_TAKE) of GET /mailboxes/NAME/messages. */
struct api_poll {
    long wait_ms, max;
};
int api_parse_poll(const char *wait_ms, const char *max, struct api_poll *out,
                   struct api_error *err);

/* A request body: at most API_MAX_BODY bytes (413), JSON (400 "bad json"
 * with jansson's reason and byte), an object (400 "bad request"), with no
 * member twice. On success *out is a new reference the caller decrefs. */
int api_parse_body(const void *buf, size_t len, json_t **out,
                   struct api_error *err);

/* POST /send. The strings point into the JSON body (or the query) and live
 * as long as it; the terms live in the arena. */
struct api_send {
    const etf_term *pid;            /* the target pid, or NULL for a name */
    const char *name;               /* registered name, NULL with a pid */
    const char *node;               /* NULL: a mailbox of the gateway's own */
    char pid_node[HS_NAME_MAX + 1]; /* node points here with a pid */
    etf_term *msg;
};

/* {"to": {"name": N[, "node": NODE]} | {"pid": ...}, "msg": TERM}, msg in
 * form. Returns 0 or the status (400). */
int api_parse_send(json_t *body, etf_json_form form, etf_arena *a,
                   struct api_send *out, struct api_error *err);
/* The same with the message as len bytes of ETF and the target given in
 * ?name= and ?node= (NULL when absent). 413 beyond API_MAX_BODY. */
int api_parse_send_etf(const void *buf, size_t len, const char *name,
                       const char *node, etf_arena *a, struct api_send *out,
                       struct api_error *err);

/* POST /rpc: {"node", "module", "function", "args"[, "timeout_ms"]}. */
struct api_rpc {
    const char *node;
    etf_term module, function; /* atoms */
    etf_term *args;            /* a proper list */
    long timeout_ms;
};
int api_parse_rpc(json_t *body, etf_json_form form, etf_arena *a,
                  struct api_rpc *out, struct api_error *err);

/* POST /call: {"node", "name", "request"[, "timeout_ms"]}. */
struct api_call {
    const char *node;
    etf_term name; /* an atom */
    etf_term *request;
    long timeout_ms;
};
int api_parse_call(json_t *body, etf_json_form form, etf_arena *a,
                   struct api_call *out, struct api_error *err);

/* POST /mailboxes: {"name"[, "mode": "queue"|"recorder"|"echo"][, "max"]}. */
struct api_mailbox {
    const char *name;
    const char *mode; /* "queue" when absent */
    enum mbox_mode kind;
    long max; /* 0: the gateway's default */
};
int api_parse_mailbox(json_t *body, struct api_mailbox *out,
                      struct api_error *err);

/* Fill err with status, error and a printf-formatted detail (fmt may be
 * NULL); returns status. */
int api_fail(struct api_error *err, int status, const char *error,
             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
