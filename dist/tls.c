/*
 * TLS for distribution connections, through OpenSSL bufferevents: the
 * handshake and framing code above is the same for TCP and TLS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "xmalloc.h"

/* Describe the OpenSSL error queue into why. */
static void
ssl_why(const char *what, char *why, size_t whylen)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown error";

    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(why, whylen, "%s: %s", what, buf);
    ERR_clear_error();
}

static SSL_CTX *
ctx_new(const struct tls_opts *o, bool server, bool verify, char *why,
        size_t whylen)
{
    SSL_CTX *ctx =
        SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

    if (ctx == NULL) {
        ssl_why("TLS context", why, whylen);
        return NULL;
    }
    /* TLS 1.2 and 1.3, as OTP's distribution speaks them. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (o->cert != NULL &&
        SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
        ssl_why(o->cert, why, whylen);
        goto fail;
    }
    if (o->key != NULL &&
        SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) {
        ssl_why(o->key, why, whylen);
        goto fail;
    }
    if (o->cert != NULL && o->key != NULL &&
        SSL_CTX_check_private_key(ctx) != 1) {
        ssl_why("certificate and key do not match", why, whylen);
        goto fail;
    }
    if (o->ca != NULL && SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
        ssl_why(o->ca, why, whylen);
        goto fail;
    }
    if (verify)
        SSL_CTX_set_verify(ctx,
                           SSL_VERIFY_PEER |
                               (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                           NULL);
    else
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

struct tls *
tls_new(const struct tls_opts *o, char *why, size_t whylen)
{
    struct tls *t = xcalloc(1, sizeof(*t));

    t->verify = o->verify == -1 ? o->ca != NULL : o->verify == 1;
    if (t->verify && o->ca == NULL) {
        snprintf(why, whylen, "verifying peers needs a CA bundle (-tls-ca)");
        free(t);
        return NULL;
    }
    if (o->cert == NULL || o->key == NULL) {
        snprintf(why, whylen,
                 "TLS needs a certificate and a key (-tls-cert, -tls-key)");
        free(t);
        return NULL;
    }
    t->server_name = o->server_name;
    t->server = ctx_new(o, true, t->verify, why, whylen);
    if (t->server == NULL) {
        free(t);
        return NULL;
    }
    t->client = ctx_new(o, false, t->verify, why, whylen);
    if (t->client == NULL) {
        SSL_CTX_free(t->server);
        free(t);
        return NULL;
    }
    return t;
}

void
tls_free(struct tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->server);
    SSL_CTX_free(t->client);
    free(t);
}

struct bufferevent *
tls_accept_bev(struct tls *t, struct event_base *base, int fd)
{
    SSL *ssl = SSL_new(t->server);

    if (ssl == NULL)
        return NULL;
    return bufferevent_openssl_socket_new(
        base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

struct bufferevent *
tls_connect_bev(struct tls *t, struct event_base *base, const char *host)
{
    SSL *ssl = SSL_new(t->client);
    const char *name = t->server_name != NULL ? t->server_name : host;
    char sni[256];

    if (ssl == NULL)
        return NULL;
    /* As OTP: SNI is the host part of the node name, and with
     * verification the certificate must match it. */
    /* (The macro casts away const: hand it a copy.) */
    snprintf(sni, sizeof(sni), "%s", name);
    SSL_set_tlsext_host_name(ssl, sni);
    if (t->verify) {
        X509_VERIFY_PARAM *p = SSL_get0_param(ssl);

        X509_VERIFY_PARAM_set_hostflags(p,
                                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(p, name, 0);
    }
    return bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
}

void
tls_error(struct bufferevent *bev, char *buf, size_t len)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    unsigned long e, best = 0;
    long vr;
    char err[256];

    /* libevent queues OpenSSL's errors and some of its own (library 0). */
    while ((e = bufferevent_get_openssl_error(bev)) != 0)
        if (best == 0 && ERR_GET_LIB(e) != 0)
            best = e;
    if (ssl != NULL && (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
        snprintf(buf, len, "TLS: peer certificate refused: %s",
                 X509_verify_cert_error_string(vr));
        return;
    }
    if (best != 0) {
        ERR_error_string_n(best, err, sizeof(err));
        snprintf(buf, len, "TLS: %s%s", err,
                 strstr(err, "wrong version number") ||
                         strstr(err, "http request") ||
                         strstr(err, "packet length too long") ||
                         strstr(err, "record layer failure")
                     ? " (the peer does not speak TLS)"
                     : "");
        return;
    }
    snprintf(buf, len,
             "TLS handshake failed: the peer does not speak TLS, "
             "or refused our certificate");
}
