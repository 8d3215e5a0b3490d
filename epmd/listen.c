/*
 * Bind the listen sockets the way OTP's epmd does.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "epmd.h"
#include "log.h"
#include "xmalloc.h"

/* One address to bind; implicit ones may fail without stopping us. */
struct listen_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int implicit;
};

/* Append an address; -1 if the list is full. */
static int
listen_add(struct listen_addr *a, int *n, const char *ip, uint16_t port,
           int implicit)
{
    if (*n >= EPMD_MAX_LISTEN)
        return -1;
    if (addr_parse_ip(ip, port, &a[*n].ss, &a[*n].len) == -1)
        fatalx("listen_add: bad built-in address %s", ip);
    a[*n].implicit = implicit;
    (*n)++;
    return 0;
}

/* Turn -address into a list: loopback first, then each token. */
static enum listen_result
listen_parse(const char *list, uint16_t port, struct listen_addr *a, int *n)
{
    char *copy = xstrdup(list), *tok, *save = NULL;
    struct listen_addr tmp;
    enum listen_result rv = LISTEN_OK;

    listen_add(a, n, "127.0.0.1", port, 1);
    listen_add(a, n, "::1", port, 1);
    for (tok = strtok_r(copy, ", ", &save); tok != NULL;
         tok = strtok_r(NULL, ", ", &save)) {
        if (addr_parse_ip(tok, port, &tmp.ss, &tmp.len) == -1) {
            log_warnx("cannot parse IP address \"%s\"", tok);
            rv = LISTEN_FAILED;
            break;
        }
        /* The loopback addresses are already in the list. */
        if (addr_same_ip((struct sockaddr *)&tmp.ss,
                         (struct sockaddr *)&a[0].ss) ||
            addr_same_ip((struct sockaddr *)&tmp.ss,
                         (struct sockaddr *)&a[1].ss))
            continue;
        if (*n >= EPMD_MAX_LISTEN) {
            log_warnx("cannot listen on more than %d IP addresses",
                      EPMD_MAX_LISTEN);
            rv = LISTEN_FAILED;
            break;
        }
        tmp.implicit = 0;
        a[(*n)++] = tmp;
    }
    free(copy);
    return rv;
}

/* Open, bind and listen on one address; -1 and errno on failure, with
 * *step naming the call that failed. */
static int
listen_one(const struct listen_addr *a, const char **step)
{
    int fd, on = 1, e;

    *step = "socket";
    if ((fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
        return -1;
    *step = "setsockopt";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
        goto fail;
    if (a->ss.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
        goto fail;
    *step = "bind";
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1)
        goto fail;
    *step = "listen";
    if (listen(fd, SOMAXCONN) == -1)
        goto fail;
    return fd;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

enum listen_result
listen_open(const struct epmd_config *cfg, struct listen_set *ls)
{
    struct listen_addr addrs[EPMD_MAX_LISTEN];
    char text[ADDR_STRLEN];
    const char *step;
    int naddrs = 0, fd;
    enum listen_result rv;

    ls->n = 0;
    if (cfg->addresses != NULL &&
        cfg->addresses[strspn(cfg->addresses, " ,")] != '\0') {
        if ((rv = listen_parse(cfg->addresses, cfg->port, addrs, &naddrs)) !=
            LISTEN_OK)
            return rv;
    } else {
        listen_add(addrs, &naddrs, "0.0.0.0", cfg->port, 0);
        /* IPv6 may be missing or disabled on this host. */
        listen_add(addrs, &naddrs, "::", cfg->port, 1);
    }
    for (int i = 0; i < naddrs; i++) {
        addr_fmt((struct sockaddr *)&addrs[i].ss, text, sizeof(text));
        if ((fd = listen_one(&addrs[i], &step)) != -1) {
            log_debug("listening on %s", text);
            ls->fds[ls->n++] = fd;
            continue;
        }
        if (errno == EADDRINUSE) {
            log_debug("there is already a epmd running at port %u on ipaddr "
                      "%s",
                      cfg->port, text);
            listen_close(ls);
            return LISTEN_IN_USE;
        }
        if (addrs[i].implicit) {
            log_debug("not listening on %s: %s: %s", text, step,
                      strerror(errno));
            continue;
        }
        log_warn("cannot listen on %s: %s", text, step);
        listen_close(ls);
        return LISTEN_FAILED;
    }
    if (ls->n == 0) {
        log_warnx("no address to listen on for port %u", cfg->port);
        return LISTEN_FAILED;
    }
    return LISTEN_OK;
}

void
listen_close(struct listen_set *ls)
{
    for (int i = 0; i < ls->n; i++) {
        if (ls->fds[i] != -1)
            close(ls->fds[i]);
    }
    ls->n = 0;
}
