/*
 * TLS distribution (as -proto_dist inet_tls): OpenSSL contexts, and
 * naming why a TLS connection failed.
 */
#ifndef DIST_TLS_H
#define DIST_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct event_base;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

struct tls_opts {
    const char *cert;        /* PEM certificate (chain) */
    const char *key;         /* PEM private key */
    const char *ca;          /* PEM CA bundle; verification on when set */
    int verify;              /* -1: default (on when ca), 0 off, 1 on */
    const char *server_name; /* outbound: name to check instead of host */
};

struct tls {
    SSL_CTX *server, *client;
    bool verify;
    const char *server_name;
};

/* Build the contexts; NULL with why on failure. */
struct tls *tls_new(const struct tls_opts *o, char *why, size_t whylen);
void tls_free(struct tls *t);
/* A bufferevent that accepts TLS on fd, or connects (fd -1) to host. */
struct bufferevent *tls_accept_bev(struct tls *t, struct event_base *base,
                                   int fd);
struct bufferevent *tls_connect_bev(struct tls *t, struct event_base *base,
                                    const char *host);
/* Why a TLS bufferevent failed: certificate verification or the OpenSSL
 * error queue, in words. */
void tls_error(struct bufferevent *bev, char *buf, size_t len);

#endif
