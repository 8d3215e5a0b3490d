/*
 * The bridge's request validation: pure functions from a path, query
 * strings and a JSON body to a request struct, or to the HTTP status and
 * the error the client is told. No sockets, no gateway state, so every
 * rule is unit-tested and fuzzed as it runs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static const char *const route_names[API_R_COUNT] = {
    "/healthz",        "/metrics",
    "/nodes",          "/names",
    "/send",           "/rpc",
    "/call",           "/mailboxes",
    "/mailboxes/NAME", "/mailboxes/NAME/messages",
    "/events",         "other",
};

/* The fixed routes and the one method each takes. */
static const struct {
    const char *path;
    enum api_route route;
    enum api_method method;
} fixed_routes[] = {
    {"/healthz", API_R_HEALTHZ, API_GET},
    {"/metrics", API_R_METRICS, API_GET},
    {"/nodes", API_R_NODES, API_GET},
    {"/names", API_R_NAMES, API_GET},
    {"/send", API_R_SEND, API_POST},
    {"/rpc", API_R_RPC, API_POST},
    {"/call", API_R_CALL, API_POST},
    {"/mailboxes", API_R_MAILBOXES, API_POST},
    {"/events", API_R_EVENTS, API_GET},
};

static const char *const method_names[] = {"GET", "POST", "DELETE", "OTHER"};

int
api_fail(struct api_error *err, int status, const char *error, const char *fmt,
         ...)
{
    va_list ap;

    err->status = status;
    snprintf(err->error, sizeof(err->error), "%s", error);
    err->detail[0] = '\0';
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *
api_route_name(enum api_route r)
{
    return r < API_R_COUNT ? route_names[r] : "other";
}

/* A route that takes only method want: 405 naming it otherwise. */
static enum api_route
route_method(enum api_route r, const char *path, enum api_method m,
             enum api_method want, const char **allow, struct api_error *err)
{
    *allow = method_names[want];
    if (m != want)
        api_fail(err, 405, "method not allowed", "%s takes %s", path,
                 method_names[want]);
    return r;
}

enum api_route
api_route(const char *path, enum api_method m, const char **name,
          size_t *namelen, const char **allow, struct api_error *err)
{
    const char *rest, *slash;
    size_t i;

    err->status = 0;
    *name = NULL;
    *namelen = 0;
    *allow = NULL;
    for (i = 0; i < sizeof(fixed_routes) / sizeof(fixed_routes[0]); i++)
        if (strcmp(path, fixed_routes[i].path) == 0)
            return route_method(fixed_routes[i].route, path, m,
                                fixed_routes[i].method, allow, err);
    if (strncmp(path, "/mailboxes/", 11) == 0 && path[11] != '\0') {
        rest = path + 11;
        slash = strchr(rest, '/');
        if (slash == NULL) {
            *name = rest;
            *namelen = strlen(rest);
            return route_method(API_R_MAILBOX, "/mailboxes/NAME", m, API_DELETE,
                                allow, err);
        }
        if (slash > rest && strcmp(slash, "/messages") == 0) {
            *name = rest;
            *namelen = (size_t)(slash - rest);
            return route_method(API_R_MESSAGES, "/mailboxes/NAME/messages", m,
                                API_GET, allow, err);
        }
    }
    api_fail(err, 404, "no such route", "%.200s", path);
    return API_R_OTHER;
}

int
api_parse_form(const char *format, etf_json_form *form, struct api_error *err)
{
    err->status = 0;
    *form = ETF_JSON_TYPED;
    if (format == NULL || strcmp(format, "typed") == 0)
        return 0;
    if (strcmp(format, "plain") == 0) {
        *form = ETF_JSON_PLAIN;
        return 0;
    }
    return api_fail(err, 400, "bad request",
                    "format is \"typed\" or \"plain\"");
}

int
api_query_num(const char *key, const char *s, long def, long lo, long hi,
              long *v, struct api_error *err)
{
    const char *p;
    char *end;
    long n;

    err->status = 0;
    *v = def;
    if (s == NULL)
        return 0;
    /* Decimal digits only: no sign, no spaces, no empty value. */
    for (p = s; *p >= '0' && *p <= '9'; p++)
        ;
    if (p == s || *p != '\0')
        goto bad;
    errno = 0;
    n = strtol(s, &end, 10);
    if (errno != 0 || n < lo || n > hi)
        goto bad;
    *v = n;
    return 0;
bad:
    return api_fail(err, 400, "bad request",
                    "%s must be an integer from %ld to %ld", key, lo, hi);
}

int
api_parse_poll(const char *wait_ms, const char *max, struct api_poll *out,
               struct api_error *err)
{
    if (api_query_num("wait_ms", wait_ms, 0, 0, API_MAX_WAIT_MS, &out->wait_ms,
                      err) != 0)
        return err->status;
    return api_query_num("max", max, API_DEFAULT_TAKE, 1, API_MAX_TAKE,
                         &out->max, err);
}

int
api_parse_body(const void *buf, size_t len, json_t **out, struct api_error *err)
{
    json_error_t je;
    json_t *j;

    err->status = 0;
    *out = NULL;
    if (len > API_MAX_BODY)
        return api_fail(err, 413, "body too large", "the limit is %u bytes",
                        API_MAX_BODY);
    /* NUL is allowed inside strings: the typed form reads "a\u0000b" as a
     * binary; names are checked for it where they are read. */
    j = json_loadb(buf != NULL ? buf : "", len,
                   JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (j == NULL)
        return api_fail(err, 400, "bad json", "%s at byte %d", je.text,
                        je.position);
    if (!json_is_object(j)) {
        json_decref(j);
        return api_fail(err, 400, "bad request",
                        "the body must be a JSON object");
    }
    *out = j;
    return 0;
}

/* Refuse members other than those in known (NULL-terminated). */
static int
only_members(json_t *obj, const char *where, const char *const *known,
             struct api_error *err)
{
    const char *key;
    size_t klen, i;
    json_t *v;

    /* By length too: a member name may hold NUL ("to\u0000x"). */
    json_object_keylen_foreach(obj, key, klen, v)
    {
        for (i = 0; known[i] != NULL; i++)
            if (klen == strlen(known[i]) && memcmp(key, known[i], klen) == 0)
                break;
        if (known[i] == NULL)
            return api_fail(err, 400, "bad request",
                            "unknown member \"%.100s\"%s", key, where);
    }
    return 0;
}

/* A member that must be a non-empty string without NUL. */
static int
member_str(json_t *obj, const char *key, const char **out,
           struct api_error *err)
{
    json_t *m = json_object_get(obj, key);

    if (!json_is_string(m) || json_string_length(m) == 0 ||
        strlen(json_string_value(m)) != json_string_length(m))
        return api_fail(err, 400, "bad request",
                        "member \"%s\" must be a non-empty string", key);
    *out = json_string_value(m);
    return 0;
}

/* A node name: alive@host, at most 255 characters. */
static int
check_node(const char *node, struct api_error *err)
{
    if (!hs_name_ok(node, strlen(node)))
        return api_fail(err, 400, "bad node name",
                        "%.200s is not a node name (name@host)", node);
    return 0;
}

/* A string member that names an atom (module, function, registered
 * name): made into t. */
static int
member_atom(json_t *obj, const char *key, etf_arena *a, etf_term *t,
            const char **s, struct api_error *err)
{
    if (member_str(obj, key, s, err) != 0)
        return err->status;
    if (etf_set_atom(a, t, *s, strlen(*s)) < 0)
        return api_fail(err, 400, "bad name",
                        "member \"%s\" must be an atom: valid UTF-8, at most "
                        "255 characters",
                        key);
    return 0;
}

/* A term member in form ("msg", "args", "request"). */
static int
member_term(json_t *obj, const char *key, etf_json_form form, etf_arena *a,
            etf_term **out, struct api_error *err)
{
    json_t *m = json_object_get(obj, key);
    etf_error e;

    if (m == NULL)
        return api_fail(err, 400, "bad request", "member \"%s\" is missing",
                        key);
    if ((*out = etf_from_json(a, m, form, &e)) == NULL)
        return api_fail(err, 400, "bad term", "\"%s\": %s", key, e.msg);
    return 0;
}

/* "timeout_ms": an integer within limits, or the default. */
static int
member_timeout(json_t *obj, long *out, struct api_error *err)
{
    json_t *m = json_object_get(obj, "timeout_ms");
    json_int_t v;

    *out = API_DEFAULT_TIMEOUT_MS;
    if (m == NULL)
        return 0;
    if (!json_is_integer(m) || (v = json_integer_value(m)) < 1 ||
        v > API_MAX_TIMEOUT_MS)
        return api_fail(err, 400, "bad request",
                        "timeout_ms must be an integer from 1 to %d",
                        API_MAX_TIMEOUT_MS);
    *out = (long)v;
    return 0;
}

/* The name and node of a target, checked the same way from JSON and from
 * the query of an ETF body. */
static int
check_target(const char *name, size_t name_len, const char *node, etf_arena *a,
             struct api_send *out, struct api_error *err)
{
    etf_term atom;

    if (strlen(name) != name_len ||
        etf_set_atom(a, &atom, name, name_len) < 0 || name_len == 0)
        return api_fail(err, 400, "bad name",
                        "the name must be an atom: valid UTF-8, at most 255 "
                        "characters, not empty");
    if (node != NULL && check_node(node, err) != 0)
        return err->status;
    out->name = name;
    out->node = node;
    return 0;
}

int
api_parse_send(json_t *body, etf_json_form form, etf_arena *a,
               struct api_send *out, struct api_error *err)
{
    static const char *const known[] = {"to", "msg", NULL};
    static const char *const known_to[] = {"name", "node", NULL};
    json_t *to, *n, *nd;
    etf_term *pid;
    etf_error e;
    const etf_term *pn;

    memset(out, 0, sizeof(*out));
    err->status = 0;
    if (only_members(body, "", known, err) != 0)
        return err->status;
    to = json_object_get(body, "to");
    if (!json_is_object(to))
        return api_fail(err, 400, "bad request",
                        "member \"to\" must be {\"name\":..,\"node\":..} or "
                        "{\"pid\":..}");
    if (json_object_get(to, "pid") != NULL) {
        pid = etf_from_json(a, to, ETF_JSON_TYPED, &e);
        if (pid == NULL)
            return api_fail(err, 400, "bad request", "\"to\" is not a pid: %s",
                            e.msg);
        if (pid->kind != ETF_PID)
            return api_fail(err, 400, "bad request", "\"to\" is not a pid");
        pn = &pid->v.pid->node;
        if (pn->len > HS_NAME_MAX || memchr(pn->v.str, '\0', pn->len) != NULL)
            return api_fail(err, 400, "bad node name",
                            "the pid's node is not a node name");
        memcpy(out->pid_node, pn->v.str, pn->len);
        out->pid_node[pn->len] = '\0';
        if (check_node(out->pid_node, err) != 0)
            return err->status;
        out->pid = pid;
        out->node = out->pid_node;
    } else {
        if (only_members(to, " in \"to\"", known_to, err) != 0)
            return err->status;
        n = json_object_get(to, "name");
        nd = json_object_get(to, "node");
        if (!json_is_string(n) || (nd != NULL && !json_is_string(nd)))
            return api_fail(err, 400, "bad request",
                            "\"to\" needs a string \"name\" (and \"node\")");
        if (nd != NULL &&
            strlen(json_string_value(nd)) != json_string_length(nd))
            return api_fail(err, 400, "bad node name",
                            "a node name holds no NUL");
        if (check_target(json_string_value(n), json_string_length(n),
                         nd ? json_string_value(nd) : NULL, a, out, err) != 0)
            return err->status;
    }
    return member_term(body, "msg", form, a, &out->msg, err);
}

int
api_parse_send_etf(const void *buf, size_t len, const char *name,
                   const char *node, etf_arena *a, struct api_send *out,
                   struct api_error *err)
{
    etf_decode_opts exact = {.exact = true};
    etf_error e;

    memset(out, 0, sizeof(*out));
    err->status = 0;
    if (len > API_MAX_BODY)
        return api_fail(err, 413, "body too large", "the limit is %u bytes",
                        API_MAX_BODY);
    if (name == NULL)
        return api_fail(err, 400, "bad request",
                        "an ETF body needs ?name=N[&node=NODE]");
    if (check_target(name, strlen(name), node, a, out, err) != 0)
        return err->status;
    if ((out->msg = etf_decode(a, buf, len, &exact, NULL, &e)) == NULL)
        return api_fail(err, 400, "bad term", "%s at byte %zu", e.msg, e.pos);
    return 0;
}

/* A proper list (or a string, or []). */
static bool
proper_list(const etf_term *t)
{
    if (t->kind == ETF_NIL || t->kind == ETF_STRING)
        return true;
    return t->kind == ETF_LIST && t->v.elems[t->len].kind == ETF_NIL;
}

int
api_parse_rpc(json_t *body, etf_json_form form, etf_arena *a,
              struct api_rpc *out, struct api_error *err)
{
    static const char *const known[] = {"node", "module",     "function",
                                        "args", "timeout_ms", NULL};
    const char *s;

    memset(out, 0, sizeof(*out));
    err->status = 0;
    if (only_members(body, "", known, err) != 0 ||
        member_str(body, "node", &out->node, err) != 0 ||
        check_node(out->node, err) != 0 ||
        member_atom(body, "module", a, &out->module, &s, err) != 0 ||
        member_atom(body, "function", a, &out->function, &s, err) != 0 ||
        member_term(body, "args", form, a, &out->args, err) != 0)
        return err->status;
    if (!proper_list(out->args))
        return api_fail(err, 400, "bad request",
                        "\"args\" must be a proper list");
    return member_timeout(body, &out->timeout_ms, err);
}

int
api_parse_call(json_t *body, etf_json_form form, etf_arena *a,
               struct api_call *out, struct api_error *err)
{
    static const char *const known[] = {"node", "name", "request", "timeout_ms",
                                        NULL};
    const char *s;

    memset(out, 0, sizeof(*out));
    err->status = 0;
    if (only_members(body, "", known, err) != 0 ||
        member_str(body, "node", &out->node, err) != 0 ||
        check_node(out->node, err) != 0 ||
        member_atom(body, "name", a, &out->name, &s, err) != 0 ||
        member_term(body, "request", form, a, &out->request, err) != 0)
        return err->status;
    return member_timeout(body, &out->timeout_ms, err);
}

int
api_parse_mailbox(json_t *body, struct api_mailbox *out, struct api_error *err)
{
    static const char *const known[] = {"name", "mode", "max", NULL};
    static const struct {
        const char *name;
        enum mbox_mode kind;
    } modes[] = {
        {"queue", MBOX_QUEUE},
        {"recorder", MBOX_RECORDER},
        {"echo", MBOX_ECHO},
    };
    json_t *mode, *max;
    size_t i;
    etf_arena *a;
    etf_term atom;
    int bad;

    memset(out, 0, sizeof(*out));
    err->status = 0;
    if (only_members(body, "", known, err) != 0 ||
        member_str(body, "name", &out->name, err) != 0)
        return err->status;
    /* The name must make an atom; net_kernel is the gateway's own. */
    if ((a = etf_arena_new()) == NULL)
        return api_fail(err, 500, "out of memory", NULL);
    bad = etf_set_atom(a, &atom, out->name, strlen(out->name)) < 0;
    etf_arena_free(a);
    if (bad || strcmp(out->name, "net_kernel") == 0)
        return api_fail(err, 400, "bad name",
                        "a mailbox name is an atom other than net_kernel");
    out->mode = "queue";
    out->kind = MBOX_QUEUE;
    if ((mode = json_object_get(body, "mode")) != NULL) {
        for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
            if (json_is_string(mode) &&
                json_string_length(mode) == strlen(modes[i].name) &&
                strcmp(json_string_value(mode), modes[i].name) == 0)
                break;
        if (i == sizeof(modes) / sizeof(modes[0]))
            return api_fail(err, 400, "bad request",
                            "\"mode\" is \"queue\", \"recorder\" or \"echo\"");
        out->mode = modes[i].name;
        out->kind = modes[i].kind;
    }
    max = json_object_get(body, "max");
    if (max != NULL && (!json_is_integer(max) || json_integer_value(max) < 1 ||
                        json_integer_value(max) > API_MAX_MBOX_DEPTH))
        return api_fail(err, 400, "bad request",
                        "\"max\" is an integer from 1 to %d",
                        API_MAX_MBOX_DEPTH);
    out->max = max ? (long)json_integer_value(max) : 0;
    return 0;
}
