/*
 * Fuzz the bridge's request validation (dist/api.c) as the API receives a
 * request: body bytes through api_parse_body, then every api_parse_* in
 * both JSON forms. Whatever is accepted must map back to JSON in the same
 * form and to ETF without error, and in the typed form come back from that
 * JSON =:= what was parsed; whatever is refused must say a 4xx status and
 * an error. The same bytes are also tried as an ETF body of /send, and as
 * a path and query numbers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "etf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s (%s)\n", what,
                detail != NULL ? detail : "");
        abort();
    }
}

/* A refusal: a client error with its words, the struct left unused. */
static void
check_refusal(int rc, const struct api_error *err)
{
    check(rc == err->status, "return value is the status", err->error);
    check(rc == 400 || rc == 413, "refusals are 400 or 413", err->error);
    check(err->error[0] != '\0', "a refusal names its error", NULL);
    check(memchr(err->detail, '\0', sizeof(err->detail)) != NULL,
          "detail is terminated", NULL);
}

/* An accepted term maps to JSON in form and to ETF; in the typed form the
 * JSON reads back =:=. */
static void
check_term(etf_arena *a, const etf_term *t, etf_json_form form)
{
    etf_error e;
    json_t *j = etf_to_json(t, form, &e);
    uint8_t *bytes;
    size_t len;
    etf_term *back;

    check(j != NULL, "an accepted term maps back to JSON", e.msg);
    if (form == ETF_JSON_TYPED) {
        back = etf_from_json(a, j, ETF_JSON_TYPED, &e);
        check(back != NULL, "typed JSON reads back", e.msg);
        check(etf_equal(back, t), "typed JSON reads back =:=", NULL);
    }
    json_decref(j);
    bytes = etf_encode_alloc(t, NULL, &len, &e);
    check(bytes != NULL, "an accepted term encodes to ETF", e.msg);
    back =
        etf_decode(a, bytes, len,
                   &(etf_decode_opts){.exact = true, .local = true}, NULL, &e);
    check(back != NULL && etf_equal(back, t), "its ETF decodes =:=", e.msg);
    free(bytes);
}

static void
check_body(json_t *body, etf_json_form form)
{
    etf_arena *a = etf_arena_new();
    struct api_error err;
    struct api_send s;
    struct api_rpc r;
    struct api_call c;
    struct api_mailbox m;
    int rc;

    if (a == NULL)
        return;
    if ((rc = api_parse_send(body, form, a, &s, &err)) == 0) {
        check(s.msg != NULL, "send: a message", NULL);
        check((s.pid != NULL) != (s.name != NULL), "send: a pid or a name",
              NULL);
        check_term(a, s.msg, form);
        if (s.pid != NULL)
            check_term(a, s.pid, ETF_JSON_TYPED);
    } else
        check_refusal(rc, &err);
    if ((rc = api_parse_rpc(body, form, a, &r, &err)) == 0) {
        check(r.timeout_ms >= 1 && r.timeout_ms <= API_MAX_TIMEOUT_MS,
              "rpc: timeout in range", NULL);
        check(r.module.kind == ETF_ATOM && r.function.kind == ETF_ATOM,
              "rpc: atoms", NULL);
        check_term(a, r.args, form);
    } else
        check_refusal(rc, &err);
    if ((rc = api_parse_call(body, form, a, &c, &err)) == 0) {
        check(c.name.kind == ETF_ATOM, "call: an atom", NULL);
        check_term(a, c.request, form);
    } else
        check_refusal(rc, &err);
    if ((rc = api_parse_mailbox(body, &m, &err)) == 0)
        check(m.name != NULL && m.mode != NULL && m.max >= 0 &&
                  m.max <= API_MAX_MBOX_DEPTH,
              "mailbox: fields", NULL);
    else
        check_refusal(rc, &err);
    etf_arena_free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_error err;
    struct api_send s;
    struct api_poll p;
    etf_json_form form;
    const char *name, *allow;
    size_t namelen;
    json_t *body;
    etf_arena *a;
    char *text;
    int rc;

    if ((rc = api_parse_body(data, size, &body, &err)) == 0) {
        check(json_is_object(body), "a body is an object", NULL);
        check_body(body, ETF_JSON_TYPED);
        check_body(body, ETF_JSON_PLAIN);
        json_decref(body);
    } else
        check_refusal(rc, &err);

    /* The bytes as the ETF body of a /send. */
    if ((a = etf_arena_new()) != NULL) {
        if ((rc = api_parse_send_etf(data, size, "sink", NULL, a, &s, &err)) ==
            0)
            check_term(a, s.msg, ETF_JSON_TYPED);
        else
            check_refusal(rc, &err);
        etf_arena_free(a);
    }

    /* The bytes as a path and as query values. */
    if ((text = malloc(size + 1)) == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    api_route(text, (enum api_method)(size % 4), &name, &namelen, &allow, &err);
    check(err.status == 0 || err.status == 404 || err.status == 405,
          "routes: 404 or 405", text);
    if (name != NULL)
        check(name >= text && name + namelen <= text + size,
              "a mailbox name inside the path", NULL);
    if (api_parse_poll(text, NULL, &p, &err) == 0)
        check(p.wait_ms >= 0 && p.wait_ms <= API_MAX_WAIT_MS,
              "wait_ms in range", text);
    else
        check(err.status == 400, "bad numbers are 400", text);
    if (api_parse_form(text, &form, &err) == 0)
        check(strcmp(text, "plain") == 0 || strcmp(text, "typed") == 0,
              "only two forms", text);
    free(text);
    return 0;
}
