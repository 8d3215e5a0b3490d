/*
 * The bridge's request validation (dist/api.c): routes and methods,
 * ?format=, query numbers, bodies, and each member of /send, /rpc, /call
 * and /mailboxes in both JSON forms; every refusal with its exact status,
 * error and detail, every acceptance with the exact terms it yields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"
#include "etf.h"

/* An expected refusal: body text, form, status, error, detail. */
struct refusal {
    const char *body;
    etf_json_form form;
    int status;
    const char *error;
    const char *detail;
};

static int
setup(void **state)
{
    *state = etf_arena_new();
    return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    etf_arena_free(*state);
    return 0;
}

/* The JSON object of text, which must parse. */
static json_t *
object(const char *text)
{
    struct api_error err;
    json_t *j = NULL;

    assert_int_equal(api_parse_body(text, strlen(text), &j, &err), 0);
    assert_int_equal(err.status, 0);
    assert_non_null(j);
    return j;
}

/* t must be =:= the term the Erlang text expect reads as. */
static void
assert_term(etf_arena *a, const etf_term *t, const char *expect)
{
    etf_error e;
    etf_term *want = etf_parse(a, expect, strlen(expect), &e);

    assert_non_null(want);
    assert_non_null(t);
    if (!etf_equal(t, want)) {
        char *got = etf_format(t, ETF_TEXT_W, NULL);

        fail_msg("got %s, want %s", got, expect);
    }
}

static void
assert_error(const struct api_error *err, int status, const char *error,
             const char *detail)
{
    assert_int_equal(err->status, status);
    assert_string_equal(err->error, error);
    assert_string_equal(err->detail, detail);
}

/* ------------------------------------------------------------------ */

static void
test_routes(void **state)
{
    static const struct {
        const char *path;
        enum api_method m;
        enum api_route route;
    } ok[] = {
        {"/healthz", API_GET, API_R_HEALTHZ},
        {"/metrics", API_GET, API_R_METRICS},
        {"/nodes", API_GET, API_R_NODES},
        {"/names", API_GET, API_R_NAMES},
        {"/send", API_POST, API_R_SEND},
        {"/rpc", API_POST, API_R_RPC},
        {"/call", API_POST, API_R_CALL},
        {"/mailboxes", API_POST, API_R_MAILBOXES},
        {"/events", API_GET, API_R_EVENTS},
    };
    struct api_error err;
    const char *name, *allow;
    size_t i, len;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(
            api_route(ok[i].path, ok[i].m, &name, &len, &allow, &err),
            ok[i].route);
        assert_int_equal(err.status, 0);
        assert_null(name);
        assert_string_equal(api_route_name(ok[i].route), ok[i].path);
        /* Any other method: 405 naming the one it takes. */
        assert_int_equal(api_route(ok[i].path,
                                   ok[i].m == API_GET ? API_POST : API_GET,
                                   &name, &len, &allow, &err),
                         ok[i].route);
        assert_int_equal(err.status, 405);
        assert_string_equal(err.error, "method not allowed");
        assert_string_equal(allow, ok[i].m == API_GET ? "GET" : "POST");
        assert_int_equal(
            api_route(ok[i].path, API_DELETE, &name, &len, &allow, &err),
            ok[i].route);
        assert_int_equal(err.status, 405);
    }
    assert_int_equal(api_route("/send", API_GET, &name, &len, &allow, &err),
                     API_R_SEND);
    assert_error(&err, 405, "method not allowed", "/send takes POST");
    assert_int_equal(
        api_route("/healthz", API_OTHER, &name, &len, &allow, &err),
        API_R_HEALTHZ);
    assert_error(&err, 405, "method not allowed", "/healthz takes GET");

    assert_int_equal(
        api_route("/mailboxes/inbox", API_DELETE, &name, &len, &allow, &err),
        API_R_MAILBOX);
    assert_int_equal(err.status, 0);
    assert_int_equal(len, 5);
    assert_memory_equal(name, "inbox", 5);
    assert_int_equal(
        api_route("/mailboxes/inbox", API_GET, &name, &len, &allow, &err),
        API_R_MAILBOX);
    assert_error(&err, 405, "method not allowed",
                 "/mailboxes/NAME takes DELETE");
    assert_string_equal(allow, "DELETE");
    assert_string_equal(api_route_name(API_R_MAILBOX), "/mailboxes/NAME");

    assert_int_equal(api_route("/mailboxes/in box/messages", API_GET, &name,
                               &len, &allow, &err),
                     API_R_MESSAGES);
    assert_int_equal(err.status, 0);
    assert_int_equal(len, 6);
    assert_memory_equal(name, "in box", 6);
    assert_int_equal(
        api_route("/mailboxes/x/messages", API_POST, &name, &len, &allow, &err),
        API_R_MESSAGES);
    assert_error(&err, 405, "method not allowed",
                 "/mailboxes/NAME/messages takes GET");
    assert_string_equal(api_route_name(API_R_MESSAGES),
                        "/mailboxes/NAME/messages");

    /* Everything else: 404 with the path. */
    static const char *const missing[] = {
        "/",
        "",
        "/healthz/",
        "/HEALTHZ",
        "/sendx",
        "/mailboxes/",
        "/mailboxes//messages",
        "/mailboxes/a/messages/",
        "/mailboxes/a/b",
        "/mailboxes/a/message",
        "/events?x",
    };
    for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        assert_int_equal(
            api_route(missing[i], API_GET, &name, &len, &allow, &err),
            API_R_OTHER);
        assert_int_equal(err.status, 404);
        assert_string_equal(err.error, "no such route");
        assert_string_equal(err.detail, missing[i]);
    }
    assert_string_equal(api_route_name(API_R_OTHER), "other");
    assert_string_equal(api_route_name(API_R_COUNT), "other");
}

static void
test_form(void **state)
{
    struct api_error err;
    etf_json_form f;

    (void)state;
    assert_int_equal(api_parse_form(NULL, &f, &err), 0);
    assert_int_equal(f, ETF_JSON_TYPED);
    assert_int_equal(api_parse_form("typed", &f, &err), 0);
    assert_int_equal(f, ETF_JSON_TYPED);
    assert_int_equal(api_parse_form("plain", &f, &err), 0);
    assert_int_equal(f, ETF_JSON_PLAIN);
    assert_int_equal(api_parse_form("Plain", &f, &err), 400);
    assert_error(&err, 400, "bad request", "format is \"typed\" or \"plain\"");
    assert_int_equal(f, ETF_JSON_TYPED);
    assert_int_equal(api_parse_form("", &f, &err), 400);
    assert_int_equal(api_parse_form("json", &f, &err), 400);
}

static void
test_query_num(void **state)
{
    static const char *const bad[] = {
        "",    "-1",   "+5",  " 5",     "5 ",
        "5x",  "0x10", "1e3", "300001", "99999999999999999999999",
        "3.0",
    };
    struct api_error err;
    struct api_poll p;
    long v;
    size_t i;

    (void)state;
    assert_int_equal(api_query_num("k", NULL, 42, 0, 10, &v, &err), 0);
    assert_int_equal(v, 42);
    assert_int_equal(api_query_num("k", "0", 42, 0, 10, &v, &err), 0);
    assert_int_equal(v, 0);
    assert_int_equal(api_query_num("k", "10", 42, 0, 10, &v, &err), 0);
    assert_int_equal(v, 10);
    assert_int_equal(api_query_num("k", "007", 42, 0, 10, &v, &err), 0);
    assert_int_equal(v, 7);
    assert_int_equal(api_query_num("k", "11", 42, 0, 10, &v, &err), 400);
    assert_error(&err, 400, "bad request", "k must be an integer from 0 to 10");
    assert_int_equal(api_query_num("k", "0", 42, 1, 10, &v, &err), 400);
    assert_error(&err, 400, "bad request", "k must be an integer from 1 to 10");

    assert_int_equal(api_parse_poll(NULL, NULL, &p, &err), 0);
    assert_int_equal(p.wait_ms, 0);
    assert_int_equal(p.max, API_DEFAULT_TAKE);
    assert_int_equal(api_parse_poll("300000", "10000", &p, &err), 0);
    assert_int_equal(p.wait_ms, 300000);
    assert_int_equal(p.max, 10000);
    assert_int_equal(api_parse_poll("0", "1", &p, &err), 0);
    assert_int_equal(p.wait_ms, 0);
    assert_int_equal(p.max, 1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(api_parse_poll(bad[i], NULL, &p, &err), 400);
        assert_error(&err, 400, "bad request",
                     "wait_ms must be an integer from 0 to 300000");
    }
    assert_int_equal(api_parse_poll("5", "0", &p, &err), 400);
    assert_error(&err, 400, "bad request",
                 "max must be an integer from 1 to 10000");
    assert_int_equal(api_parse_poll("5", "10001", &p, &err), 400);
    assert_error(&err, 400, "bad request",
                 "max must be an integer from 1 to 10000");
    /* wait_ms is checked first. */
    assert_int_equal(api_parse_poll("x", "0", &p, &err), 400);
    assert_error(&err, 400, "bad request",
                 "wait_ms must be an integer from 0 to 300000");
}

static void
test_body(void **state)
{
    static const struct {
        const char *text;
        int status;
        const char *error, *detail;
    } cases[] = {
        {"", 400, "bad json", "'[' or '{' expected near end of file at byte 0"},
        {"{", 400, "bad json",
         "string or '}' expected near end of file at "
         "byte 1"},
        {"{\"a\":1,}", 400, "bad json",
         "string or '}' expected near '}' at byte 8"},
        {"[1]", 400, "bad request", "the body must be a JSON object"},
        {"{\"a\":1,\"a\":2}", 400, "bad json",
         "duplicate object key near '\"a\"' at byte 10"},
        {"{\"a\":1} x", 400, "bad json",
         "end of file expected near 'x' at "
         "byte 9"},
        {"{\"a\":\"\\ud800\"}", 400, "bad json",
         "invalid Unicode '\\uD800' near '\"\\ud800\"' at byte 13"},
    };
    struct api_error err;
    json_t *j;
    char *big;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(
            api_parse_body(cases[i].text, strlen(cases[i].text), &j, &err),
            cases[i].status);
        assert_null(j);
        if (strcmp(err.detail, cases[i].detail) != 0)
            fail_msg("%s: detail %s", cases[i].text, err.detail);
        assert_error(&err, cases[i].status, cases[i].error, cases[i].detail);
    }
    /* NUL inside strings is read (a typed binary may hold it), never in a
     * member name. */
    assert_int_equal(api_parse_body("{\"a\":\"\\u0000\"}", 14, &j, &err), 0);
    assert_int_equal(json_string_length(json_object_get(j, "a")), 1);
    json_decref(j);
    assert_int_equal(api_parse_body("{\"a\\u0000\":1}", 13, &j, &err), 400);
    assert_error(&err, 400, "bad json",
                 "NUL byte in object key not supported near '\"a\\u0000\"' "
                 "at byte 10");
    assert_int_equal(api_parse_body(NULL, 0, &j, &err), 400);
    assert_string_equal(err.error, "bad json");
    assert_int_equal(api_parse_body("{}", 2, &j, &err), 0);
    assert_true(json_is_object(j));
    json_decref(j);
    /* The limit: one byte over is 413, whatever the bytes. */
    big = malloc(API_MAX_BODY + 1);
    assert_non_null(big);
    memset(big, ' ', API_MAX_BODY + 1);
    big[0] = '{';
    big[API_MAX_BODY - 1] = '}';
    assert_int_equal(api_parse_body(big, API_MAX_BODY, &j, &err), 0);
    json_decref(j);
    assert_int_equal(api_parse_body(big, API_MAX_BODY + 1, &j, &err), 413);
    assert_null(j);
    assert_error(&err, 413, "body too large", "the limit is 8388608 bytes");
    free(big);
}

/* Run every refusal through parse and check it exactly. */
static void
refusals(etf_arena *a, const struct refusal *r, size_t n,
         int (*parse)(json_t *, etf_json_form, etf_arena *, void *,
                      struct api_error *),
         void *out)
{
    struct api_error err;
    size_t i;
    json_t *j;

    for (i = 0; i < n; i++) {
        j = object(r[i].body);
        memset(&err, 0, sizeof(err));
        if (parse(j, r[i].form, a, out, &err) != r[i].status ||
            err.status != r[i].status || strcmp(err.error, r[i].error) != 0 ||
            strcmp(err.detail, r[i].detail) != 0)
            fail_msg("%s: got %d \"%s\" \"%s\", want %d \"%s\" \"%s\"",
                     r[i].body, err.status, err.error, err.detail, r[i].status,
                     r[i].error, r[i].detail);
        json_decref(j);
    }
}

static int
send_cb(json_t *j, etf_json_form f, etf_arena *a, void *out,
        struct api_error *err)
{
    return api_parse_send(j, f, a, out, err);
}

static int
rpc_cb(json_t *j, etf_json_form f, etf_arena *a, void *out,
       struct api_error *err)
{
    return api_parse_rpc(j, f, a, out, err);
}

static int
call_cb(json_t *j, etf_json_form f, etf_arena *a, void *out,
        struct api_error *err)
{
    return api_parse_call(j, f, a, out, err);
}

static int
mailbox_cb(json_t *j, etf_json_form f, etf_arena *a, void *out,
           struct api_error *err)
{
    (void)f;
    (void)a;
    return api_parse_mailbox(j, out, err);
}

#define T ETF_JSON_TYPED
#define P ETF_JSON_PLAIN
#define NREF(x) (sizeof(x) / sizeof((x)[0]))

static void
test_send_refused(void **state)
{
    static const char to_shape[] =
        "member \"to\" must be {\"name\":..,\"node\":..} or {\"pid\":..}";
    static const char needs_name[] =
        "\"to\" needs a string \"name\" (and \"node\")";
    static const char bad_name[] = "the name must be an atom: valid UTF-8, at "
                                   "most 255 characters, not empty";
    static const struct refusal r[] = {
        {"{}", T, 400, "bad request", to_shape},
        {"{\"msg\":1}", T, 400, "bad request", to_shape},
        {"{\"to\":\"inbox\",\"msg\":1}", T, 400, "bad request", to_shape},
        {"{\"to\":[],\"msg\":1}", T, 400, "bad request", to_shape},
        {"{\"to\":{\"name\":\"a\"},\"msg\":1,\"mgs\":2}", T, 400, "bad request",
         "unknown member \"mgs\""},
        {"{\"to\":{},\"msg\":1}", T, 400, "bad request", needs_name},
        {"{\"to\":{\"name\":1},\"msg\":1}", T, 400, "bad request", needs_name},
        {"{\"to\":{\"name\":\"a\",\"node\":1},\"msg\":1}", T, 400,
         "bad request", needs_name},
        {"{\"to\":{\"node\":\"a@h\"},\"msg\":1}", T, 400, "bad request",
         needs_name},
        {"{\"to\":{\"name\":\"a\",\"host\":\"h\"},\"msg\":1}", T, 400,
         "bad request", "unknown member \"host\" in \"to\""},
        {"{\"to\":{\"name\":\"\"},\"msg\":1}", T, 400, "bad name", bad_name},
        {"{\"to\":{\"name\":\"a\\u0000b\"},\"msg\":1}", T, 400, "bad name",
         bad_name},
        {"{\"to\":{\"name\":\"a\",\"node\":\"nohost\"},\"msg\":1}", T, 400,
         "bad node name", "nohost is not a node name (name@host)"},
        {"{\"to\":{\"name\":\"a\",\"node\":\"\"},\"msg\":1}", T, 400,
         "bad node name", " is not a node name (name@host)"},
        {"{\"to\":{\"name\":\"a\",\"node\":\"a@b@c\"},\"msg\":1}", T, 400,
         "bad node name", "a@b@c is not a node name (name@host)"},
        {"{\"to\":{\"name\":\"a\",\"node\":\"@h\"},\"msg\":1}", T, 400,
         "bad node name", "@h is not a node name (name@host)"},
        {"{\"to\":{\"name\":\"a\",\"node\":\"a@\"},\"msg\":1}", T, 400,
         "bad node name", "a@ is not a node name (name@host)"},
        {"{\"to\":{\"name\":\"a\",\"node\":\"a@h\\u0000x\"},\"msg\":1}", T, 400,
         "bad node name", "a node name holds no NUL"},
        {"{\"to\":{\"name\":\"a\"}}", T, 400, "bad request",
         "member \"msg\" is missing"},
        {"{\"to\":{\"name\":\"a\"},\"msg\":{\"atom\":1}}", T, 400, "bad term",
         "\"msg\": expected a string (atom text), found an integer at $.atom"},
        {"{\"to\":{\"name\":\"a\"},\"msg\":{\"tuple\":[1],\"x\":2}}", T, 400,
         "bad term",
         "\"msg\": an object of 2 members (a typed value has one) at $"},
        {"{\"to\":{\"name\":\"a\"},\"msg\":{\"binary\":\"aGl=\"}}", T, 400,
         "bad term", "\"msg\": bad base64 at offset 2 at $.binary"},
        {"{\"to\":{\"pid\":1},\"msg\":1}", T, 400, "bad request",
         "\"to\" is not a pid: expected an object, found an integer at $.pid"},
        {"{\"to\":{\"pid\":{\"node\":\"a@h\",\"id\":1,\"serial\":0}},"
         "\"msg\":1}",
         T, 400, "bad request",
         "\"to\" is not a pid: member \"creation\" missing at $.pid"},
        {"{\"to\":{\"pid\":{\"node\":\"a@h\",\"id\":1,\"serial\":0,"
         "\"creation\":1},\"node\":\"b@h\"},\"msg\":1}",
         T, 400, "bad request",
         "\"to\" is not a pid: an object of 2 members (a typed value has one) "
         "at $"},
        {"{\"to\":{\"pid\":{\"node\":\"nonode\",\"id\":1,\"serial\":0,"
         "\"creation\":1}},\"msg\":1}",
         T, 400, "bad node name", "nonode is not a node name (name@host)"},
        /* Plain form: what it cannot say is a bad term. */
        {"{\"to\":{\"name\":\"a\"},\"msg\":{\"atom\":\"x\"}}", P, 0, "", ""},
        {"{\"to\":{\"name\":\"a\"}}", P, 400, "bad request",
         "member \"msg\" is missing"},
    };
    struct api_send s;

    refusals(*state, r, NREF(r), send_cb, &s);
}

static void
test_send_accepted(void **state)
{
    etf_arena *a = *state;
    struct api_error err;
    struct api_send s;
    json_t *j;

    j = object("{\"to\":{\"name\":\"inbox\"},\"msg\":{\"tuple\":[{\"atom\":"
               "\"hello\"},\"w\",[1,2],1.5,{\"int\":\"18446744073709551616\"}]}"
               "}");
    assert_int_equal(api_parse_send(j, T, a, &s, &err), 0);
    assert_int_equal(err.status, 0);
    assert_null(s.pid);
    assert_string_equal(s.name, "inbox");
    assert_null(s.node);
    assert_term(a, s.msg,
                "{hello, <<\"w\">>, [1,2], 1.5, 18446744073709551616}");
    json_decref(j);

    /* The same text in the plain form: objects are maps, strings binaries. */
    j = object("{\"to\":{\"name\":\"inbox\",\"node\":\"n@h\"},\"msg\":{\"b\":"
               "[1,\"x\",true,null],\"a\":1.0}}");
    assert_int_equal(api_parse_send(j, P, a, &s, &err), 0);
    assert_string_equal(s.name, "inbox");
    assert_string_equal(s.node, "n@h");
    assert_term(a, s.msg,
                "#{<<\"a\">> => 1.0, <<\"b\">> => [1,<<\"x\">>,true,"
                "null]}");
    json_decref(j);

    /* A pid target: the node is the pid's. */
    j = object("{\"to\":{\"pid\":{\"node\":\"o@h\",\"id\":81,\"serial\":2,"
               "\"creation\":7}},\"msg\":[]}");
    assert_int_equal(api_parse_send(j, T, a, &s, &err), 0);
    assert_non_null(s.pid);
    assert_int_equal(s.pid->kind, ETF_PID);
    assert_int_equal(s.pid->v.pid->id, 81);
    assert_int_equal(s.pid->v.pid->serial, 2);
    assert_int_equal(s.pid->v.pid->creation, 7);
    assert_null(s.name);
    assert_string_equal(s.node, "o@h");
    assert_term(a, s.msg, "[]");
    json_decref(j);

    /* Names up to 255 characters, UTF-8 ones counted in characters. */
    {
        char body[2048], name[1024];
        size_t i, o = 0;

        for (i = 0; i < 255; i++) {
            memcpy(name + o, "\xc3\xa9", 2);
            o += 2;
        }
        name[o] = '\0';
        snprintf(body, sizeof(body), "{\"to\":{\"name\":\"%s\"},\"msg\":1}",
                 name);
        j = object(body);
        assert_int_equal(api_parse_send(j, T, a, &s, &err), 0);
        assert_string_equal(s.name, name);
        json_decref(j);
        snprintf(body, sizeof(body), "{\"to\":{\"name\":\"%se\"},\"msg\":1}",
                 name);
        j = object(body);
        assert_int_equal(api_parse_send(j, T, a, &s, &err), 400);
        assert_string_equal(err.error, "bad name");
        json_decref(j);
    }
}

static void
test_send_etf(void **state)
{
    etf_arena *a = *state;
    /* term_to_binary({ok, 1}) */
    static const uint8_t ok1[] = {131, 104, 2, 100, 0, 2, 111, 107, 97, 1};
    static const uint8_t extra[] = {131, 97, 1, 0};
    struct api_error err;
    struct api_send s;

    assert_int_equal(
        api_parse_send_etf(ok1, sizeof(ok1), "sink", "n@h", a, &s, &err), 0);
    assert_string_equal(s.name, "sink");
    assert_string_equal(s.node, "n@h");
    assert_null(s.pid);
    assert_term(a, s.msg, "{ok, 1}");
    assert_int_equal(
        api_parse_send_etf(ok1, sizeof(ok1), "sink", NULL, a, &s, &err), 0);
    assert_null(s.node);

    assert_int_equal(
        api_parse_send_etf(ok1, sizeof(ok1), NULL, "n@h", a, &s, &err), 400);
    assert_error(&err, 400, "bad request",
                 "an ETF body needs ?name=N[&node=NODE]");
    assert_int_equal(
        api_parse_send_etf(ok1, sizeof(ok1), "", NULL, a, &s, &err), 400);
    assert_string_equal(err.error, "bad name");
    assert_int_equal(
        api_parse_send_etf(ok1, sizeof(ok1), "sink", "nh", a, &s, &err), 400);
    assert_error(&err, 400, "bad node name",
                 "nh is not a node name (name@host)");
    assert_int_equal(
        api_parse_send_etf(ok1, sizeof(ok1) - 1, "sink", NULL, a, &s, &err),
        400);
    assert_string_equal(err.error, "bad term");
    assert_int_equal(strncmp(err.detail, "", 0), 0);
    assert_non_null(strstr(err.detail, " at byte "));
    assert_int_equal(
        api_parse_send_etf(extra, sizeof(extra), "sink", NULL, a, &s, &err),
        400);
    assert_string_equal(err.error, "bad term");
    assert_int_equal(
        api_parse_send_etf(ok1 + 1, sizeof(ok1) - 1, "sink", NULL, a, &s, &err),
        400);
    assert_string_equal(err.error, "bad term");
    assert_int_equal(api_parse_send_etf(NULL, 0, "sink", NULL, a, &s, &err),
                     400);
    assert_string_equal(err.error, "bad term");
    assert_int_equal(
        api_parse_send_etf(ok1, API_MAX_BODY + 1, "sink", NULL, a, &s, &err),
        413);
    assert_error(&err, 413, "body too large", "the limit is 8388608 bytes");
}

static void
test_send_etf_details(void **state)
{
    etf_arena *a = *state;
    static const uint8_t trunc[] = {131, 104, 2, 100, 0, 2, 111, 107};
    static const uint8_t extra[] = {131, 97, 1, 0};
    static const uint8_t nover[] = {97, 1};
    struct api_error err;
    struct api_send s;
    char want[320];
    etf_error e;

    /* The detail is libetf's message and position, as decoding says. */
    assert_null(etf_decode(a, trunc, sizeof(trunc),
                           &(etf_decode_opts){.exact = true}, NULL, &e));
    snprintf(want, sizeof(want), "%s at byte %zu", e.msg, e.pos);
    api_parse_send_etf(trunc, sizeof(trunc), "s", NULL, a, &s, &err);
    assert_error(&err, 400, "bad term", want);
    assert_null(etf_decode(a, extra, sizeof(extra),
                           &(etf_decode_opts){.exact = true}, NULL, &e));
    assert_int_equal(e.code, ETF_E_TRAILING);
    snprintf(want, sizeof(want), "%s at byte %zu", e.msg, e.pos);
    api_parse_send_etf(extra, sizeof(extra), "s", NULL, a, &s, &err);
    assert_error(&err, 400, "bad term", want);
    assert_null(etf_decode(a, nover, sizeof(nover),
                           &(etf_decode_opts){.exact = true}, NULL, &e));
    assert_int_equal(e.code, ETF_E_VERSION);
    snprintf(want, sizeof(want), "%s at byte %zu", e.msg, e.pos);
    api_parse_send_etf(nover, sizeof(nover), "s", NULL, a, &s, &err);
    assert_error(&err, 400, "bad term", want);
}

static void
test_rpc_refused(void **state)
{
    static const char node_str[] = "member \"node\" must be a non-empty string";
    static const char tmo[] = "timeout_ms must be an integer from 1 to 600000";
#define RPC(rest)                                                              \
    "{\"node\":\"n@h\",\"module\":\"m\",\"function\":\"f\"" rest "}"
    static const struct refusal r[] = {
        {"{}", T, 400, "bad request", node_str},
        {"{\"node\":1}", T, 400, "bad request", node_str},
        {"{\"node\":\"\"}", T, 400, "bad request", node_str},
        {"{\"node\":\"n@h\\u0000\"}", T, 400, "bad request", node_str},
        {"{\"node\":\"n\"}", T, 400, "bad node name",
         "n is not a node name (name@host)"},
        {"{\"node\":\"n@h\"}", T, 400, "bad request",
         "member \"module\" must be a non-empty string"},
        {"{\"node\":\"n@h\",\"module\":{\"atom\":\"m\"}}", T, 400,
         "bad request", "member \"module\" must be a non-empty string"},
        {"{\"node\":\"n@h\",\"module\":\"m\"}", T, 400, "bad request",
         "member \"function\" must be a non-empty string"},
        {RPC(""), T, 400, "bad request", "member \"args\" is missing"},
        {RPC(",\"args\":{\"atom\":\"x\"}"), T, 400, "bad request",
         "\"args\" must be a proper list"},
        {RPC(",\"args\":\"ab\""), T, 400, "bad request",
         "\"args\" must be a proper list"},
        {RPC(",\"args\":{\"list\":[1],\"tail\":2}"), T, 400, "bad request",
         "\"args\" must be a proper list"},
        {RPC(",\"args\":{\"map\":[]}"), T, 400, "bad request",
         "\"args\" must be a proper list"},
        {RPC(",\"args\":[{\"pid\":1}]"), T, 400, "bad term",
         "\"args\": expected an object, found an integer at $[0].pid"},
        {RPC(",\"args\":{}"), P, 400, "bad request",
         "\"args\" must be a proper list"},
        {RPC(",\"args\":[],\"timeout_ms\":0"), T, 400, "bad request", tmo},
        {RPC(",\"args\":[],\"timeout_ms\":600001"), T, 400, "bad request", tmo},
        {RPC(",\"args\":[],\"timeout_ms\":1.5"), T, 400, "bad request", tmo},
        {RPC(",\"args\":[],\"timeout_ms\":\"5\""), T, 400, "bad request", tmo},
        {RPC(",\"args\":[],\"timeout\":5"), T, 400, "bad request",
         "unknown member \"timeout\""},
        {RPC(",\"args\":[],\"name\":\"x\""), T, 400, "bad request",
         "unknown member \"name\""},
    };
    struct api_rpc rq;
    etf_arena *a = *state;
    struct api_error err;
    json_t *j;
    char body[600], longname[300];

    refusals(a, r, NREF(r), rpc_cb, &rq);
    /* Module and function must be atoms. */
    memset(longname, 'm', 256);
    longname[256] = '\0';
    snprintf(body, sizeof(body),
             "{\"node\":\"n@h\",\"module\":\"%s\",\"function\":\"f\","
             "\"args\":[]}",
             longname);
    j = object(body);
    assert_int_equal(api_parse_rpc(j, T, a, &rq, &err), 400);
    assert_error(&err, 400, "bad name",
                 "member \"module\" must be an atom: valid UTF-8, at most 255 "
                 "characters");
    json_decref(j);
    snprintf(body, sizeof(body),
             "{\"node\":\"n@h\",\"module\":\"m\",\"function\":\"%s\","
             "\"args\":[]}",
             longname);
    j = object(body);
    assert_int_equal(api_parse_rpc(j, T, a, &rq, &err), 400);
    assert_error(&err, 400, "bad name",
                 "member \"function\" must be an atom: valid UTF-8, at most "
                 "255 characters");
    json_decref(j);
#undef RPC
}

static void
test_rpc_accepted(void **state)
{
    etf_arena *a = *state;
    struct api_error err;
    struct api_rpc rq;
    json_t *j;

    j = object("{\"node\":\"n@h\",\"module\":\"lists\",\"function\":\"seq\","
               "\"args\":[1,10]}");
    assert_int_equal(api_parse_rpc(j, T, a, &rq, &err), 0);
    assert_string_equal(rq.node, "n@h");
    assert_term(a, &rq.module, "lists");
    assert_term(a, &rq.function, "seq");
    assert_term(a, rq.args, "[1,10]");
    assert_int_equal(rq.args->kind, ETF_STRING);
    assert_int_equal(rq.timeout_ms, API_DEFAULT_TIMEOUT_MS);
    json_decref(j);

    j = object("{\"node\":\"n@h\",\"module\":\"erlang\",\"function\":\"node\","
               "\"args\":[],\"timeout_ms\":600000}");
    assert_int_equal(api_parse_rpc(j, T, a, &rq, &err), 0);
    assert_term(a, rq.args, "[]");
    assert_int_equal(rq.timeout_ms, 600000);
    json_decref(j);

    j = object("{\"node\":\"n@h\",\"module\":\"m\",\"function\":\"f\","
               "\"args\":[{\"atom\":\"a\"},\"s\",{\"list\":[1]}],"
               "\"timeout_ms\":1}");
    assert_int_equal(api_parse_rpc(j, T, a, &rq, &err), 0);
    assert_term(a, rq.args, "[a, <<\"s\">>, [1]]");
    assert_int_equal(rq.timeout_ms, 1);
    json_decref(j);

    /* Plain: strings are binaries, objects maps. */
    j = object("{\"node\":\"n@h\",\"module\":\"m\",\"function\":\"f\","
               "\"args\":[\"s\",{\"k\":[]}]}");
    assert_int_equal(api_parse_rpc(j, P, a, &rq, &err), 0);
    assert_term(a, rq.args, "[<<\"s\">>, #{<<\"k\">> => []}]");
    json_decref(j);
}

static void
test_call(void **state)
{
    static const char tmo[] = "timeout_ms must be an integer from 1 to 600000";
    static const struct refusal r[] = {
        {"{}", T, 400, "bad request",
         "member \"node\" must be a non-empty string"},
        {"{\"node\":\"x\"}", T, 400, "bad node name",
         "x is not a node name (name@host)"},
        {"{\"node\":\"n@h\"}", T, 400, "bad request",
         "member \"name\" must be a non-empty string"},
        {"{\"node\":\"n@h\",\"name\":\"\"}", T, 400, "bad request",
         "member \"name\" must be a non-empty string"},
        {"{\"node\":\"n@h\",\"name\":\"s\"}", T, 400, "bad request",
         "member \"request\" is missing"},
        {"{\"node\":\"n@h\",\"name\":\"s\",\"request\":{\"tuple\":1}}", T, 400,
         "bad term",
         "\"request\": expected an array, found an integer at $.tuple"},
        {"{\"node\":\"n@h\",\"name\":\"s\",\"request\":1,\"timeout_ms\":-1}", T,
         400, "bad request", tmo},
        {"{\"node\":\"n@h\",\"name\":\"s\",\"request\":1,\"timeout_ms\":null}",
         T, 400, "bad request", tmo},
        {"{\"node\":\"n@h\",\"name\":\"s\",\"request\":1,\"module\":\"m\"}", T,
         400, "bad request", "unknown member \"module\""},
    };
    etf_arena *a = *state;
    struct api_error err;
    struct api_call cq;
    json_t *j;

    refusals(a, r, NREF(r), call_cb, &cq);
    j = object("{\"node\":\"n@h\",\"name\":\"kv\",\"request\":{\"tuple\":[{"
               "\"atom\":\"get\"},\"k\"]},\"timeout_ms\":2500}");
    assert_int_equal(api_parse_call(j, T, a, &cq, &err), 0);
    assert_string_equal(cq.node, "n@h");
    assert_term(a, &cq.name, "kv");
    assert_term(a, cq.request, "{get, <<\"k\">>}");
    assert_int_equal(cq.timeout_ms, 2500);
    json_decref(j);
    j = object("{\"node\":\"n@h\",\"name\":\"kv\",\"request\":{\"get\":"
               "\"k\"}}");
    assert_int_equal(api_parse_call(j, P, a, &cq, &err), 0);
    assert_term(a, cq.request, "#{<<\"get\">> => <<\"k\">>}");
    assert_int_equal(cq.timeout_ms, API_DEFAULT_TIMEOUT_MS);
    json_decref(j);
    /* The typed form refuses what the plain one took. */
    j = object("{\"node\":\"n@h\",\"name\":\"kv\",\"request\":{\"get\":"
               "\"k\"}}");
    assert_int_equal(api_parse_call(j, T, a, &cq, &err), 400);
    assert_string_equal(err.error, "bad term");
    json_decref(j);
}

static void
test_mailbox(void **state)
{
    static const char bad_name[] =
        "a mailbox name is an atom other than net_kernel";
    static const char modes[] =
        "\"mode\" is \"queue\", \"recorder\" or \"echo\"";
    static const char max[] = "\"max\" is an integer from 1 to 10000000";
    static const struct refusal r[] = {
        {"{}", T, 400, "bad request",
         "member \"name\" must be a non-empty string"},
        {"{\"name\":[]}", T, 400, "bad request",
         "member \"name\" must be a non-empty string"},
        {"{\"name\":\"net_kernel\"}", T, 400, "bad name", bad_name},
        {"{\"name\":\"a\",\"mode\":\"Queue\"}", T, 400, "bad request", modes},
        {"{\"name\":\"a\",\"mode\":1}", T, 400, "bad request", modes},
        {"{\"name\":\"a\",\"mode\":\"queue\\u0000x\"}", T, 400, "bad request",
         modes},
        {"{\"name\":\"a\",\"mode\":null}", T, 400, "bad request", modes},
        {"{\"name\":\"a\",\"max\":0}", T, 400, "bad request", max},
        {"{\"name\":\"a\",\"max\":10000001}", T, 400, "bad request", max},
        {"{\"name\":\"a\",\"max\":\"5\"}", T, 400, "bad request", max},
        {"{\"name\":\"a\",\"max\":5.0}", T, 400, "bad request", max},
        {"{\"name\":\"a\",\"recorder\":true}", T, 400, "bad request",
         "unknown member \"recorder\""},
    };
    etf_arena *a = *state;
    struct api_error err;
    struct api_mailbox mq;
    json_t *j;
    char body[1200], name[300];

    refusals(a, r, NREF(r), mailbox_cb, &mq);
    j = object("{\"name\":\"inbox\"}");
    assert_int_equal(api_parse_mailbox(j, &mq, &err), 0);
    assert_string_equal(mq.name, "inbox");
    assert_string_equal(mq.mode, "queue");
    assert_int_equal(mq.kind, MBOX_QUEUE);
    assert_int_equal(mq.max, 0);
    json_decref(j);
    j = object("{\"name\":\"rec\",\"mode\":\"recorder\",\"max\":10000000}");
    assert_int_equal(api_parse_mailbox(j, &mq, &err), 0);
    assert_string_equal(mq.mode, "recorder");
    assert_int_equal(mq.kind, MBOX_RECORDER);
    assert_int_equal(mq.max, 10000000);
    json_decref(j);
    j = object("{\"name\":\"e\",\"mode\":\"echo\",\"max\":1}");
    assert_int_equal(api_parse_mailbox(j, &mq, &err), 0);
    assert_int_equal(mq.kind, MBOX_ECHO);
    assert_int_equal(mq.max, 1);
    json_decref(j);
    /* 255 characters make an atom, 256 do not. */
    memset(name, 'n', 255);
    name[255] = '\0';
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    j = object(body);
    assert_int_equal(api_parse_mailbox(j, &mq, &err), 0);
    json_decref(j);
    snprintf(body, sizeof(body), "{\"name\":\"%sn\"}", name);
    j = object(body);
    assert_int_equal(api_parse_mailbox(j, &mq, &err), 400);
    assert_error(&err, 400, "bad name", bad_name);
    json_decref(j);
    j = object("{\"name\":\"a\\u0000b\"}");
    assert_int_equal(api_parse_mailbox(j, &mq, &err), 400);
    assert_error(&err, 400, "bad request",
                 "member \"name\" must be a non-empty string");
    json_decref(j);
}

static void
test_fail(void **state)
{
    struct api_error err;
    char longtext[600];

    (void)state;
    assert_int_equal(api_fail(&err, 504, "timeout", NULL), 504);
    assert_error(&err, 504, "timeout", "");
    memset(longtext, 'x', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    assert_int_equal(api_fail(&err, 400, "bad request", "%s", longtext), 400);
    assert_int_equal(strlen(err.detail), sizeof(err.detail) - 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_query_num),
        cmocka_unit_test(test_body),
        cmocka_unit_test_setup_teardown(test_send_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_etf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_etf_details, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpc_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpc_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mailbox, setup, teardown),
        cmocka_unit_test(test_fail),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
