/*
 * Discovery: every node behind a DNS name. A round resolves the name's A
 * and AAAA records, asks each address's EPMD for its names (NAMES, in
 * parallel, each under a timeout), reverse-resolves the addresses that
 * have nodes, and names each node alive@HOST. `distgw discover` runs one
 * round and prints it (and pings each node with --ping); `distgw serve
 * -discover` runs a round every interval and connects to every node.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/rand.h>

#include "addr.h"
#include "cli.h"
#include "discover.h"
#include "dist_proto.h"
#include "epmd_wire.h"
#include "gw.h"
#include "log.h"
#include "options.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ */
/* pure parts                                                          */
/* ------------------------------------------------------------------ */

bool
discover_alive_ok(const uint8_t *s, size_t n)
{
    size_t i;
    int chars;

    if (n == 0)
        return false;
    for (i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] == 0x7f || s[i] == '@')
            return false;
    chars = epmd_wire_utf8_chars(s, n);
    return chars > 0 && chars <= DISCOVER_PART_MAX;
}

int
discover_names_parse(const uint8_t *buf, size_t len, discover_node_cb cb,
                     void *arg, size_t *skipped, char *why, size_t whylen)
{
    struct epmd_wire_error err;
    const uint8_t *name;
    size_t pos = 4, nlen;
    uint32_t eport, port;
    char alive[4 * DISCOVER_PART_MAX + 1];
    int n = 0, rc;

    if (skipped != NULL)
        *skipped = 0;
    if (epmd_wire_parse_names_header(buf, len, &eport, &err) != EPMD_WIRE_OK) {
        snprintf(why, whylen, "not a NAMES reply (%zu bytes)", len);
        return -1;
    }
    while ((rc = epmd_wire_names_next(buf, len, &pos, &name, &nlen, &port,
                                      &err)) == EPMD_WIRE_OK) {
        if (!discover_alive_ok(name, nlen) || nlen >= sizeof(alive) ||
            port == 0 || port > 65535) {
            if (skipped != NULL)
                (*skipped)++;
            continue;
        }
        memcpy(alive, name, nlen);
        alive[nlen] = '\0';
        n++;
        if (cb != NULL && cb(arg, alive, port) < 0)
            return n;
    }
    if (rc == EPMD_WIRE_REJECT) {
        snprintf(why, whylen, "malformed NAMES line at byte %zu", err.pos);
        return -1;
    }
    if (pos != len) {
        snprintf(why, whylen, "NAMES reply ends inside a line");
        return -1;
    }
    return n;
}

int
discover_ptr_clean(const char *ptr, char *out, size_t outlen)
{
    size_t n = strlen(ptr), i;

    if (n > 0 && ptr[n - 1] == '.')
        n--;
    if (n == 0 || n > DISCOVER_PART_MAX || n >= outlen || ptr[n - 1] == '.')
        return -1; /* empty, too long, or an empty last label */
    for (i = 0; i < n; i++) {
        char ch = ptr[i];

        if (ch == '.') {
            /* no empty label */
            if (i == 0 || ptr[i - 1] == '.')
                return -1;
            continue;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
            return -1;
    }
    memcpy(out, ptr, n);
    out[n] = '\0';
    return 0;
}

/* Add alive@host to out unless it is there already or does not fit. */
static int
add_candidate(char out[][HS_NAME_MAX + 1], int n, int max, const char *alive,
              const char *host, size_t hostlen)
{
    int i;

    if (n >= max)
        return n;
    if ((size_t)snprintf(out[n], HS_NAME_MAX + 1, "%s@%.*s", alive,
                         (int)hostlen, host) > HS_NAME_MAX ||
        !hs_name_ok(out[n], strlen(out[n])))
        return n;
    for (i = 0; i < n; i++)
        if (strcmp(out[i], out[n]) == 0)
            return n;
    return n + 1;
}

/* Add alive@name and, for a name with dots, alive@its-first-label. */
static int
add_name(char out[][HS_NAME_MAX + 1], int n, int max, const char *alive,
         const char *name)
{
    uint8_t bin[16];

    if (name == NULL || name[0] == '\0')
        return n;
    n = add_candidate(out, n, max, alive, name, strlen(name));
    /* The first label of a name, never of a numeric address. */
    if (strchr(name, '.') != NULL && inet_pton(AF_INET, name, bin) != 1)
        n = add_candidate(out, n, max, alive, name, strcspn(name, "."));
    return n;
}

int
discover_candidates(const char *alive, const char *ptr, const char *ip,
                    const char *self, char out[][HS_NAME_MAX + 1], int max)
{
    int n = add_name(out, 0, max, alive, ptr);

    n = add_name(out, n, max, alive, self);
    return add_candidate(out, n, max, alive, ip, strlen(ip));
}

/* True if the numeric addresses a and b are the same address. */
static bool
same_ip(const char *a, const char *b)
{
    uint8_t x[16], y[16];

    if (inet_pton(AF_INET, a, x) == 1)
        return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
    if (inet_pton(AF_INET6, a, x) == 1)
        return inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
    return false;
}

/* A byte that ends a word of a hosts file: blanks, control bytes, '#'. */
static bool
hosts_sep(char ch)
{
    return (unsigned char)ch <= ' ' || ch == 0x7f || ch == '#';
}

int
discover_hosts_find(const char *text, size_t len, const char *ip, char *out,
                    size_t outlen)
{
    const char *p = text, *end = text + len, *eol, *q, *w;
    char word[DISCOVER_IP_MAX + 1];
    size_t wl;

    for (; p < end; p = eol + (eol < end)) {
        if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
            eol = end;
        q = p;
        /* the address: the line's first word */
        while (q < eol && (*q == ' ' || *q == '\t'))
            q++;
        w = q;
        while (q < eol && !hosts_sep(*q))
            q++;
        wl = (size_t)(q - w);
        if (wl == 0 || wl >= sizeof(word) ||
            (q < eol && *q != ' ' && *q != '\t'))
            continue;
        memcpy(word, w, wl);
        word[wl] = '\0';
        if (!same_ip(word, ip))
            continue;
        /* the canonical name: the second word */
        while (q < eol && (*q == ' ' || *q == '\t'))
            q++;
        w = q;
        while (q < eol && !hosts_sep(*q))
            q++;
        wl = (size_t)(q - w);
        if (wl == 0 || wl >= outlen ||
            (q < eol && *q != ' ' && *q != '\t' && *q != '#' && *q != '\r'))
            continue;
        memcpy(out, w, wl);
        out[wl] = '\0';
        return 0;
    }
    return -1;
}

int
discover_fmt_node(char *buf, size_t len, const char *node, const char *ip,
                  unsigned port, const char *status)
{
    return snprintf(buf, len, "%s %s port %u%s%s", node, ip, port,
                    status != NULL ? " " : "", status != NULL ? status : "");
}

void
discover_fmt_summary(FILE *f, const char *name, const struct discover_counts *c)
{
    size_t i;

    fprintf(f, "discover %s: %zu address%s, %zu node%s", name, c->addrs,
            c->addrs == 1 ? "" : "es", c->nodes, c->nodes == 1 ? "" : "s");
    if (c->pinged)
        fprintf(f, ", %zu pong, %zu pang", c->pong, c->pang);
    if (c->dns_error != NULL) {
        fprintf(f, "; failed: %s (%s)", name, c->dns_error);
        return;
    }
    fputs("; failed: ", f);
    if (c->nfailed == 0)
        fputs("none", f);
    for (i = 0; i < c->nfailed; i++)
        fprintf(f, "%s%s (%s)", i ? ", " : "", c->failed[i].ip,
                c->failed[i].why);
}

/* ------------------------------------------------------------------ */
/* a round                                                             */
/* ------------------------------------------------------------------ */

struct disc;

/* Where an address is in its round. */
enum daddr_state {
    DA_WAIT,  /* not asked yet */
    DA_NAMES, /* NAMES sent (or connecting) */
    DA_PTR,   /* answered; reverse lookup */
    DA_DONE,
    DA_FAILED,
};

/* One address of the name. */
struct daddr {
    struct disc *d;
    enum daddr_state state;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char ip[DISCOVER_IP_MAX];
    struct bufferevent *bev;
    struct event *timer;
    struct evdns_request *ptr_req;
    bool connected;
    char ptr[DISCOVER_PART_MAX + 1]; /* "" when there is none */
    char why[128];
    size_t first, count; /* its nodes in d->nodes */
};

/* Where a node's ping is. */
enum dping {
    DP_NONE,
    DP_WAIT,
    DP_PONG,
    DP_PANG,
};

/* One node found. */
struct dnode {
    char alive[4 * DISCOVER_PART_MAX + 1];
    size_t addr;                /* index in d->addrs (this round's) */
    struct sockaddr_storage ss; /* where its EPMD answered */
    socklen_t sslen;
    char ip[DISCOVER_IP_MAX];
    unsigned port;
    char name[HS_NAME_MAX + 1]; /* as printed: alive@PTR or alive@IP */
    char cand[DISCOVER_MAX_CANDIDATES][HS_NAME_MAX + 1];
    int ncand;
    int form;    /* the candidate to try (serve: the one that worked) */
    int tried;   /* candidates tried this round */
    bool warned; /* serve: its failure to connect was logged */
    /* --ping */
    enum dping ping;
    uint32_t tag;
    char why[300];
};

struct disc {
    struct gw *g;
    struct evdns_base *dns;
    char name[256];
    unsigned interval;
    bool serve, ping;
    bool running;
    struct evdns_getaddrinfo_request *gai;
    struct event *round_timer, *connect_timer;
    char dns_error[128];
    char *hosts; /* /etc/hosts, read once per round */
    size_t hosts_len;
    struct daddr *addrs;
    size_t naddrs, next, active, left;
    struct dnode *nodes;
    size_t nnodes, capnodes, dropped;
    /* serve: what the last round found, sorted by name */
    struct dnode *known;
    size_t nknown;
    bool dns_failed_before;
    unsigned rounds;
    /* --ping */
    etf_arena *a;
    etf_term self;
    size_t pings_left, ping_next;
    int rc;
    bool done;
};

static void round_start(struct disc *d);
static bool is_local(const struct sockaddr_storage *ss, socklen_t len);
static void round_end(struct disc *d);
static void addr_next(struct disc *d);

/* The EPMD port: ERL_EPMD_PORT, else 4369. */
static uint16_t
epmd_port(void)
{
    const char *s = getenv("ERL_EPMD_PORT");
    uint16_t port;

    if (s != NULL && addr_parse_port(s, &port) == 0)
        return port;
    return 4369;
}

/* Read /etc/hosts (bounded); NULL if there is none. */
static char *
read_hosts(size_t *len)
{
    FILE *f = fopen("/etc/hosts", "r");
    char *buf;

    *len = 0;
    if (f == NULL)
        return NULL;
    buf = xmalloc(DISCOVER_MAX_HOSTS_FILE);
    *len = fread(buf, 1, DISCOVER_MAX_HOSTS_FILE, f);
    fclose(f);
    return buf;
}

/* Free what an address holds and count it done. */
static void
addr_finish(struct daddr *a, enum daddr_state st)
{
    struct disc *d = a->d;

    if (a->bev != NULL)
        bufferevent_free(a->bev);
    if (a->timer != NULL)
        event_free(a->timer);
    a->bev = NULL;
    a->timer = NULL;
    a->state = st;
    d->active--;
    d->left--;
    if (st == DA_FAILED)
        log_debug("discover %s: %s: %s", d->name, a->ip, a->why);
    addr_next(d);
    if (d->left == 0)
        round_end(d);
}

static void
addr_fail(struct daddr *a, const char *why)
{
    snprintf(a->why, sizeof(a->why), "%s", why);
    addr_finish(a, DA_FAILED);
}

/* The PTR answer for an address: keep the name if it is a host name. */
static void
ptr_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
    struct daddr *a = arg;

    (void)ttl;
    a->ptr_req = NULL;
    if (result == DNS_ERR_NONE && type == DNS_PTR && count > 0 &&
        discover_ptr_clean(((char **)addresses)[0], a->ptr, sizeof(a->ptr)) ==
            0)
        log_trace("discover %s: %s is %s", a->d->name, a->ip, a->ptr);
    else {
        a->ptr[0] = '\0';
        log_trace(
            "discover %s: %s has no usable PTR name (%s)", a->d->name, a->ip,
            result == DNS_ERR_NONE ? "bad name" : evdns_err_to_string(result));
    }
    addr_finish(a, DA_DONE);
}

/* The address answered with nodes: find its name, as getnameinfo with
 * NI_NAMEREQD would (the hosts file, then a PTR query). */
static void
addr_reverse(struct daddr *a)
{
    struct disc *d = a->d;
    char name[DISCOVER_PART_MAX + 2];

    a->state = DA_PTR;
    if (d->hosts != NULL &&
        discover_hosts_find(d->hosts, d->hosts_len, a->ip, name,
                            sizeof(name)) == 0 &&
        discover_ptr_clean(name, a->ptr, sizeof(a->ptr)) == 0) {
        addr_finish(a, DA_DONE);
        return;
    }
    /* The reverse query runs under evdns's own timeout and attempts. */
    if (a->ss.ss_family == AF_INET)
        a->ptr_req = evdns_base_resolve_reverse(
            d->dns, &((struct sockaddr_in *)&a->ss)->sin_addr,
            DNS_QUERY_NO_SEARCH, ptr_cb, a);
    else
        a->ptr_req = evdns_base_resolve_reverse_ipv6(
            d->dns, &((struct sockaddr_in6 *)&a->ss)->sin6_addr,
            DNS_QUERY_NO_SEARCH, ptr_cb, a);
    if (a->ptr_req == NULL && a->state == DA_PTR) {
        a->ptr[0] = '\0';
        addr_finish(a, DA_DONE);
    }
}

/* Keep one node of a's NAMES reply. */
static int
add_node_cb(void *arg, const char *alive, unsigned port)
{
    struct daddr *a = arg;
    struct disc *d = a->d;
    struct dnode *n;

    if (d->nnodes >= DISCOVER_MAX_NODES) {
        d->dropped++;
        return -1;
    }
    if (d->nnodes == d->capnodes) {
        d->capnodes = d->capnodes ? d->capnodes * 2 : 16;
        d->nodes = xreallocarray(d->nodes, d->capnodes, sizeof(*d->nodes));
    }
    n = &d->nodes[d->nnodes++];
    memset(n, 0, sizeof(*n));
    snprintf(n->alive, sizeof(n->alive), "%s", alive);
    n->addr = (size_t)(a - d->addrs);
    n->ss = a->ss;
    n->sslen = a->sslen;
    snprintf(n->ip, sizeof(n->ip), "%s", a->ip);
    n->port = port;
    a->count++;
    return 0;
}

/* EPMD closed after its reply: read it. */
static void
addr_reply(struct daddr *a)
{
    struct evbuffer *in = bufferevent_get_input(a->bev);
    size_t len = evbuffer_get_length(in), skipped;
    const uint8_t *p = evbuffer_pullup(in, -1);
    char why[128];

    a->first = a->d->nnodes;
    a->count = 0;
    if (len == 0 || p == NULL) {
        addr_fail(a, "EPMD closed without a NAMES reply");
        return;
    }
    if (discover_names_parse(p, len, add_node_cb, a, &skipped, why,
                             sizeof(why)) < 0) {
        a->d->nnodes = a->first;
        addr_fail(a, why);
        return;
    }
    if (skipped > 0)
        log_warnx("discover %s: EPMD on %s: skipped %zu name%s that cannot "
                  "be a node name",
                  a->d->name, a->ip, skipped, skipped == 1 ? "" : "s");
    log_debug("discover %s: EPMD on %s has %zu node%s", a->d->name, a->ip,
              a->count, a->count == 1 ? "" : "s");
    bufferevent_free(a->bev);
    a->bev = NULL;
    if (a->count == 0) {
        addr_finish(a, DA_DONE);
        return;
    }
    addr_reverse(a);
}

static void
addr_read_cb(struct bufferevent *bev, void *arg)
{
    struct daddr *a = arg;

    if (evbuffer_get_length(bufferevent_get_input(bev)) > DISCOVER_MAX_REPLY)
        addr_fail(a, "NAMES reply over 1 MiB");
}

static void
addr_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct daddr *a = arg;
    uint8_t req[8];
    size_t n;

    if (what & BEV_EVENT_CONNECTED) {
        a->connected = true;
        n = epmd_wire_simple_req(req, sizeof(req), EPMD_NAMES_REQ);
        bufferevent_write(bev, req, n);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        addr_reply(a);
        return;
    }
    addr_fail(a, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
addr_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct daddr *a = arg;
    char why[64];

    (void)fd;
    (void)what;
    snprintf(why, sizeof(why), "%s in %d s",
             a->connected ? "no NAMES reply" : "no connection",
             DISCOVER_EPMD_TIMEOUT);
    addr_fail(a, why);
}

/* Ask the next address's EPMD for its names. */
static void
addr_start(struct daddr *a)
{
    struct disc *d = a->d;
    struct timeval tv = {DISCOVER_EPMD_TIMEOUT, 0};

    d->active++;
    a->state = DA_NAMES;
    a->bev = bufferevent_socket_new(d->g->base, -1, BEV_OPT_CLOSE_ON_FREE);
    a->timer = evtimer_new(d->g->base, addr_timeout_cb, a);
    if (a->bev == NULL || a->timer == NULL) {
        addr_fail(a, "out of memory");
        return;
    }
    evtimer_add(a->timer, &tv);
    bufferevent_setcb(a->bev, addr_read_cb, NULL, addr_event_cb, a);
    bufferevent_enable(a->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(a->bev, (struct sockaddr *)&a->ss,
                                   (int)a->sslen) < 0)
        addr_fail(a, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* Keep DISCOVER_PARALLEL queries in flight. */
static void
addr_next(struct disc *d)
{
    while (d->active < DISCOVER_PARALLEL && d->next < d->naddrs)
        addr_start(&d->addrs[d->next++]);
}

/* The name's addresses: keep each once (at most DISCOVER_MAX_ADDRS) and
 * start asking their EPMDs. */
static void
gai_cb(int result, struct evutil_addrinfo *res, void *arg)
{
    struct disc *d = arg;
    struct evutil_addrinfo *ai;
    struct daddr *a;
    size_t i, total = 0;
    uint16_t port = epmd_port();

    d->gai = NULL;
    if (result != 0) {
        snprintf(d->dns_error, sizeof(d->dns_error), "%s",
                 result == EVUTIL_EAI_CANCEL ? "cancelled"
                                             : evutil_gai_strerror(result));
        round_end(d);
        return;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next)
        total++;
    d->addrs = xcalloc(total ? total : 1, sizeof(*d->addrs));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(a->ss))
            continue;
        a = &d->addrs[d->naddrs];
        memset(a, 0, sizeof(*a));
        a->d = d;
        memcpy(&a->ss, ai->ai_addr, ai->ai_addrlen);
        a->sslen = (socklen_t)ai->ai_addrlen;
        addr_fmt_ip((struct sockaddr *)&a->ss, a->ip, sizeof(a->ip));
        for (i = 0; i < d->naddrs; i++)
            if (strcmp(d->addrs[i].ip, a->ip) == 0)
                break;
        if (i < d->naddrs)
            continue; /* the same address twice */
        if (d->naddrs == DISCOVER_MAX_ADDRS) {
            log_warnx("discover %s: more than %d addresses; asking the first "
                      "%d",
                      d->name, DISCOVER_MAX_ADDRS, DISCOVER_MAX_ADDRS);
            break;
        }
        if (a->ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
        else
            ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
        d->naddrs++;
    }
    evutil_freeaddrinfo(res);
    log_debug("discover %s: %zu address%s", d->name, d->naddrs,
              d->naddrs == 1 ? "" : "es");
    if (d->naddrs == 0) {
        snprintf(d->dns_error, sizeof(d->dns_error), "no addresses");
        round_end(d);
        return;
    }
    d->hosts = read_hosts(&d->hosts_len);
    d->left = d->naddrs;
    addr_next(d);
}

/* Forget the last round's addresses and nodes (not the known ones). */
static void
round_clear(struct disc *d)
{
    size_t i;

    for (i = 0; i < d->naddrs; i++) {
        struct daddr *a = &d->addrs[i];

        /* A round starts only after the last one ended, so no reverse
         * query is left to cancel; none may call back into freed memory. */
        if (a->ptr_req != NULL)
            fatalx("discover: a reverse query outlived its round");
        if (a->bev != NULL)
            bufferevent_free(a->bev);
        if (a->timer != NULL)
            event_free(a->timer);
    }
    free(d->addrs);
    d->addrs = NULL;
    d->naddrs = d->next = d->active = d->left = 0;
    d->nnodes = d->dropped = 0;
    free(d->hosts);
    d->hosts = NULL;
    d->dns_error[0] = '\0';
}

/* Start a round: resolve the name again. */
static void
round_start(struct disc *d)
{
    struct evutil_addrinfo hints;
    struct evdns_getaddrinfo_request *req;

    round_clear(d);
    d->running = true;
    d->rounds++;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    /* The callback may run before this returns (a numeric name, a name
     * in /etc/hosts); it then returns NULL. */
    req = evdns_getaddrinfo(d->dns, d->name, NULL, &hints, gai_cb, d);
    if (d->running && d->addrs == NULL && d->dns_error[0] == '\0')
        d->gai = req;
}

/* By name; for one name, IPv4 first (OTP's distribution listens on IPv4
 * unless told otherwise), then in the order DNS gave. */
static int
node_cmp(const void *x, const void *y)
{
    const struct dnode *a = x, *b = y;
    int c = strcmp(a->name, b->name);

    if (c != 0)
        return c;
    if ((a->ss.ss_family == AF_INET) != (b->ss.ss_family == AF_INET))
        return a->ss.ss_family == AF_INET ? -1 : 1;
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* Name the round's nodes, sort them and drop duplicates (one node seen at
 * two addresses of the same host, A and AAAA, has one name). */
static void
name_nodes(struct disc *d)
{
    char self[256];
    size_t i, j;

    /* A node on this host goes by this host's name (erl's default). */
    if (gethostname(self, sizeof(self)) < 0)
        self[0] = '\0';
    self[sizeof(self) - 1] = '\0';
    for (i = 0; i < d->nnodes; i++) {
        struct dnode *n = &d->nodes[i];
        struct daddr *a = &d->addrs[n->addr];

        n->ncand = discover_candidates(n->alive, a->ptr, a->ip,
                                       is_local(&a->ss, a->sslen) ? self : NULL,
                                       n->cand, DISCOVER_MAX_CANDIDATES);
        snprintf(n->name, sizeof(n->name), "%s", n->ncand ? n->cand[0] : "");
    }
    for (i = j = 0; i < d->nnodes; i++)
        if (d->nodes[i].ncand > 0)
            d->nodes[j++] = d->nodes[i];
    d->nnodes = j;
    if (d->nnodes > 1)
        qsort(d->nodes, d->nnodes, sizeof(*d->nodes), node_cmp);
    for (i = j = 0; i < d->nnodes; i++)
        if (j == 0 || strcmp(d->nodes[j - 1].name, d->nodes[i].name) != 0)
            d->nodes[j++] = d->nodes[i];
    d->nnodes = j;
}

/* The counts and failures of the round, for its last line. */
static struct discover_failure *
round_counts(struct disc *d, struct discover_counts *c)
{
    struct discover_failure *f;
    size_t i;

    memset(c, 0, sizeof(*c));
    f = xcalloc(d->naddrs ? d->naddrs : 1, sizeof(*f));
    c->addrs = d->naddrs;
    c->nodes = d->nnodes;
    c->dns_error = d->dns_error[0] ? d->dns_error : NULL;
    for (i = 0; i < d->naddrs; i++) {
        if (d->addrs[i].state != DA_FAILED)
            continue;
        snprintf(f[c->nfailed].ip, sizeof(f->ip), "%s", d->addrs[i].ip);
        snprintf(f[c->nfailed].why, sizeof(f->why), "%s", d->addrs[i].why);
        c->nfailed++;
    }
    c->failed = f;
    c->pinged = d->ping;
    for (i = 0; i < d->nnodes; i++) {
        c->pong += d->nodes[i].ping == DP_PONG;
        c->pang += d->nodes[i].ping == DP_PANG;
    }
    return f;
}

/* ------------------------------------------------------------------ */
/* connecting to what a round found                                    */
/* ------------------------------------------------------------------ */

static struct disc *the_disc; /* one discovery per process */

/* The node a connection was dialled for, and which candidate. */
static struct dnode *
node_of_conn(struct disc *d, const char *peer, int *form)
{
    struct dnode *list = d->serve ? d->known : d->nodes;
    size_t n = d->serve ? d->nknown : d->nnodes, i;
    int k;

    for (i = 0; i < n; i++)
        for (k = 0; k < list[i].ncand; k++)
            if (strcmp(list[i].cand[k], peer) == 0) {
                if (form != NULL)
                    *form = k;
                return &list[i];
            }
    return NULL;
}

static void node_dial(struct disc *d, struct dnode *n);

/* Try the node's next candidate name, from the loop (never from inside
 * conn_close). */
static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct disc *d = the_disc;
    char *name = arg;
    struct dnode *n;

    (void)fd;
    (void)what;
    if (d != NULL && (n = node_of_conn(d, name, NULL)) != NULL)
        node_dial(d, n);
    free(name);
}

static void ping_finish(struct disc *d, struct dnode *n, enum dping st,
                        const char *why);

/* A link we dialled went down: try the node's next name if the handshake
 * failed, else count a pang (-ping) or log why (serve). */
static void
disc_conn_down(struct conn *c, const char *why)
{
    struct disc *d = the_disc;
    struct dnode *n;
    struct timeval zero = {0, 0};
    bool handshake = c->state == CONN_HANDSHAKE;
    int form;

    if (d == NULL || (n = node_of_conn(d, c->peer, &form)) == NULL ||
        form != n->form) {
        log_info("%s: connection to %s closed: %s", c->addr, c->peer, why);
        return;
    }
    if (d->ping && n->ping != DP_WAIT)
        return;
    if (c->state == CONN_UP) {
        log_info("%s: connection to %s closed: %s", c->addr, c->peer, why);
        if (d->ping)
            ping_finish(d, n, DP_PANG, "closed before is_auth answered");
        return;
    }
    if (handshake && n->tried < n->ncand) {
        /* Most likely the node has another name: try the next one. */
        log_debug("discover %s: %s: %s; trying %s", d->name, c->peer, why,
                  n->cand[(n->form + 1) % n->ncand]);
        n->form = (n->form + 1) % n->ncand;
        event_base_once(d->g->base, -1, EV_TIMEOUT, retry_cb,
                        xstrdup(n->cand[n->form]), &zero);
        return;
    }
    if (d->ping) {
        char text[300];

        snprintf(text, sizeof(text), "%s failed: %s",
                 handshake                     ? hs_step(&c->hs)
                 : c->state == CONN_LOOKUP     ? "EPMD lookup"
                 : c->state == CONN_CONNECTING ? "connect"
                                               : "connection",
                 why);
        ping_finish(d, n, DP_PANG, text);
        return;
    }
    /* Once per node, not every round. */
    (n->warned ? log_debug : log_warnx)("discover %s: cannot connect to %s: %s",
                                        d->name, n->name, why);
    n->warned = true;
}

/* Send {'$gen_call', {Self, Tag}, {is_auth, Us}} to net_kernel. */
static void
ping_send(struct disc *d, struct conn *c, struct dnode *n)
{
    etf_term ctl, msg, req, *e, *from;
    etf_arena *a = d->a;

    e = etf_set_tuple(a, &ctl, 4);
    etf_set_int(&e[0], DOP_REG_SEND);
    e[1] = d->self;
    gw_atom(a, &e[2], "");
    gw_atom(a, &e[3], "net_kernel");
    e = etf_set_tuple(a, &req, 2);
    gw_atom(a, &e[0], "is_auth");
    gw_atom(a, &e[1], d->g->name);
    e = etf_set_tuple(a, &msg, 3);
    gw_atom(a, &e[0], "$gen_call");
    from = etf_set_tuple(a, &e[1], 2);
    from[0] = d->self;
    etf_set_int(&from[1], n->tag);
    e[2] = req;
    conn_send(c, &ctl, &msg);
}

/* A link we dialled is up: remember the name that worked, then ping
 * (-ping) or log it (serve). */
static void
disc_conn_up(struct conn *c)
{
    struct disc *d = the_disc;
    struct dnode *n;
    int form;

    if (d == NULL || (n = node_of_conn(d, c->peer, &form)) == NULL) {
        log_info("%s: connected to %s", c->addr, c->peer);
        return;
    }
    n->form = form;
    n->warned = false;
    if (d->ping)
        ping_send(d, c, n);
    else
        log_info("%s: connected to %s (found by discover %s)", c->addr, c->peer,
                 d->name);
}

/* Dial the node by its current candidate name. */
static void
node_dial(struct disc *d, struct dnode *n)
{
    struct conn *c;

    n->tried++;
    if (conn_find(d->g, n->cand[n->form]) != NULL)
        return; /* connected already, by someone else: not ours to hook */
    if ((c = conn_connect_at(d->g, n->cand[n->form], (struct sockaddr *)&n->ss,
                             n->sslen)) == NULL) {
        /* closed already, and logged */
        if (d->ping)
            ping_finish(d, n, DP_PANG, "cannot dial");
        return;
    }
    c->on_up = disc_conn_up;
    c->on_down = disc_conn_down;
}

/* True if the address is one of this host's: it can be bound to. */
static bool
is_local(const struct sockaddr_storage *ss, socklen_t len)
{
    struct sockaddr_storage any = *ss;
    int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

    if (fd < 0)
        return false;
    if (any.ss_family == AF_INET)
        ((struct sockaddr_in *)&any)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&any)->sin6_port = 0;
    rc = bind(fd, (struct sockaddr *)&any, len);
    close(fd);
    return rc == 0;
}

/* True if n is this gateway: our alive part and port, at an address of
 * this host (its PTR name need not be the host name we go by). */
static bool
is_us(struct disc *d, const struct dnode *n)
{
    const char *at = strchr(d->g->name, '@');
    int k;

    for (k = 0; k < n->ncand; k++)
        if (strcmp(n->cand[k], d->g->name) == 0)
            return true;
    return at != NULL && n->port == d->g->port &&
           strlen(n->alive) == (size_t)(at - d->g->name) &&
           memcmp(n->alive, d->g->name, (size_t)(at - d->g->name)) == 0 &&
           is_local(&n->ss, n->sslen);
}

/* serve: dial every known node that has no connection, but not us. */
static void
connect_all(struct disc *d)
{
    size_t i;
    int k;

    for (i = 0; i < d->nknown; i++) {
        struct dnode *n = &d->known[i];
        bool have = is_us(d, n);

        for (k = 0; k < n->ncand && !have; k++)
            have = conn_find(d->g, n->cand[k]) != NULL;
        if (have)
            continue;
        n->tried = 0;
        node_dial(d, n);
    }
}

/* Dial once registered with EPMD (a handshake needs our creation). */
static void
connect_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct disc *d = arg;
    struct timeval tv = {1, 0};

    (void)fd;
    (void)what;
    if (d->g->creation == 0) {
        /* Not registered yet: our creation is not known. */
        evtimer_add(d->connect_timer, &tv);
        return;
    }
    connect_all(d);
}

/* serve: a node at an address whose EPMD did not answer this round is
 * not gone (we do not know): keep it from the last round. */
static void
keep_unanswered(struct disc *d)
{
    size_t i, a, j, kept = 0;

    for (i = 0; i < d->nknown; i++) {
        const struct dnode *k = &d->known[i];

        for (a = 0; a < d->naddrs; a++)
            if (d->addrs[a].state == DA_FAILED &&
                strcmp(d->addrs[a].ip, k->ip) == 0)
                break;
        if (a == d->naddrs)
            continue;
        for (j = 0; j < d->nnodes; j++)
            if (strcmp(d->nodes[j].name, k->name) == 0)
                break;
        if (j < d->nnodes || d->nnodes >= DISCOVER_MAX_NODES)
            continue; /* found at another address, or no room */
        if (d->nnodes == d->capnodes) {
            d->capnodes = d->capnodes ? d->capnodes * 2 : 16;
            d->nodes = xreallocarray(d->nodes, d->capnodes, sizeof(*d->nodes));
        }
        d->nodes[d->nnodes++] = *k;
        kept++;
    }
    if (kept == 0)
        return;
    log_debug("discover %s: kept %zu node%s of addresses that did not answer",
              d->name, kept, kept == 1 ? "" : "s");
    if (d->nnodes > 1)
        qsort(d->nodes, d->nnodes, sizeof(*d->nodes), node_cmp);
}

/* serve: log what changed since the last round, and keep this one. */
static void
serve_round_done(struct disc *d, const struct discover_counts *c)
{
    size_t i = 0, j = 0;
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    struct timeval now = {0, 0}, tv = {d->interval, 0};

    if (f != NULL) {
        discover_fmt_summary(f, d->name, c);
        fclose(f);
        log_debug("%s", text);
    }
    if (c->dns_error != NULL) {
        /* Keep what we knew: a DNS hiccup is not every node gone. */
        if (!d->dns_failed_before)
            log_warnx("discover %s: cannot resolve: %s; keeping the last "
                      "round's %zu node%s",
                      d->name, c->dns_error, d->nknown,
                      d->nknown == 1 ? "" : "s");
        d->dns_failed_before = true;
        free(text);
        evtimer_add(d->connect_timer, &now);
        evtimer_add(d->round_timer, &tv);
        return;
    }
    if (d->dns_failed_before)
        log_info("discover %s: resolves again", d->name);
    d->dns_failed_before = false;
    free(text);
    keep_unanswered(d);
    /* Both lists are sorted by name. */
    while (i < d->nknown || j < d->nnodes) {
        int cmp = i == d->nknown   ? 1
                  : j == d->nnodes ? -1
                                   : strcmp(d->known[i].name, d->nodes[j].name);

        if (cmp < 0) {
            log_info("discover %s: %s is gone (not reconnected)", d->name,
                     d->known[i].name);
            i++;
        } else if (cmp > 0) {
            log_info("discover %s: new node %s at %s port %u", d->name,
                     d->nodes[j].name, d->nodes[j].ip, d->nodes[j].port);
            j++;
        } else {
            d->nodes[j].form = d->known[i].form; /* what worked */
            d->nodes[j].warned = d->known[i].warned;
            if (d->nodes[j].form >= d->nodes[j].ncand)
                d->nodes[j].form = 0;
            i++;
            j++;
        }
    }
    free(d->known);
    d->known = xcalloc(d->nnodes ? d->nnodes : 1, sizeof(*d->known));
    if (d->nnodes > 0)
        memcpy(d->known, d->nodes, d->nnodes * sizeof(*d->known));
    d->nknown = d->nnodes;
    evtimer_add(d->connect_timer, &now);
    evtimer_add(d->round_timer, &tv);
}

/* ------------------------------------------------------------------ */
/* the one-shot command                                                */
/* ------------------------------------------------------------------ */

/* Print every node and the last line, and stop. */
static void
cli_print(struct disc *d)
{
    struct discover_counts c;
    struct discover_failure *f = round_counts(d, &c);
    char line[2 * HS_NAME_MAX + 512], status[HS_NAME_MAX + 400];
    size_t i;

    for (i = 0; i < d->nnodes; i++) {
        struct dnode *n = &d->nodes[i];

        if (!d->ping)
            status[0] = '\0';
        else if (n->ping == DP_PONG && strcmp(n->cand[n->form], n->name) != 0)
            snprintf(status, sizeof(status), "pong as %s", n->cand[n->form]);
        else if (n->ping == DP_PONG)
            snprintf(status, sizeof(status), "pong");
        else
            snprintf(status, sizeof(status), "pang (%s)",
                     n->why[0] ? n->why : "no answer in time");
        discover_fmt_node(line, sizeof(line), n->name, n->ip, n->port,
                          d->ping ? status : NULL);
        printf("%s\n", line);
    }
    if (d->dropped > 0)
        fprintf(stderr, "distgw: more than %d nodes: the rest are not shown\n",
                DISCOVER_MAX_NODES);
    discover_fmt_summary(stdout, d->name, &c);
    printf("\n");
    fflush(stdout);
    /* At least one address answered: 0, else 1. */
    d->rc = c.addrs > c.nfailed && c.dns_error == NULL ? 0 : 1;
    free(f);
    d->done = true;
    event_base_loopbreak(d->g->base);
}

/* Record a node's pong or pang; print once the last one is in, else
 * start the next waiting ping. */
static void
ping_finish(struct disc *d, struct dnode *n, enum dping st, const char *why)
{
    if (n->ping != DP_WAIT)
        return;
    n->ping = st;
    snprintf(n->why, sizeof(n->why), "%s", why != NULL ? why : "");
    if (--d->pings_left == 0 && !d->done)
        cli_print(d);
    else if (d->ping_next < d->nnodes && !d->done)
        node_dial(d, &d->nodes[d->ping_next++]);
}

/* A message to our pid: the {Tag, yes} answer of a node's net_kernel. */
static void
ping_deliver(struct gw *g, const struct ctl_msg *m, void *arg)
{
    struct disc *d = arg;
    const etf_term *p = m->payload, *v;
    size_t i;
    int64_t tag;

    (void)g;
    if (p == NULL || p->kind != ETF_TUPLE || p->len != 2 ||
        p->v.elems[0].kind != ETF_INT)
        return;
    tag = p->v.elems[0].v.i;
    v = &p->v.elems[1];
    for (i = 0; i < d->nnodes; i++) {
        struct dnode *n = &d->nodes[i];

        if (n->ping != DP_WAIT || (int64_t)n->tag != tag)
            continue;
        if (v->kind == ETF_ATOM && strcmp(v->v.str, "yes") == 0)
            ping_finish(d, n, DP_PONG, NULL);
        else
            ping_finish(d, n, DP_PANG, "is_auth said no");
        return;
    }
}

/* Ping every node the round found. */
static void
cli_ping_all(struct disc *d)
{
    size_t i;

    d->pings_left = d->nnodes;
    for (i = 0; i < d->nnodes; i++) {
        d->nodes[i].ping = DP_WAIT;
        d->nodes[i].tag = (uint32_t)i + 1;
    }
    /* DISCOVER_PARALLEL at a time; each one done starts the next. */
    while (d->ping_next < d->nnodes && d->ping_next < DISCOVER_PARALLEL &&
           !d->done)
        node_dial(d, &d->nodes[d->ping_next++]);
}

/* Every address is done: name the nodes, then act on them (serve: log
 * and connect; discover: ping or print). */
static void
round_end(struct disc *d)
{
    struct discover_counts c;
    struct discover_failure *f;

    if (!d->running)
        return;
    d->running = false;
    name_nodes(d);
    if (d->serve) {
        f = round_counts(d, &c);
        serve_round_done(d, &c);
        free(f);
        return;
    }
    if (d->ping && d->nnodes > 0) {
        cli_ping_all(d);
        return;
    }
    cli_print(d);
}

static void
round_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    round_start(arg);
}

/* libevent's resolver speaks through our log (its chatter at -d -d), not
 * on stderr by itself; what failed is in the round's last line anyway. */
static void
dns_log_cb(int is_warning, const char *msg)
{
    if (is_warning)
        log_warnx("resolver: %s", msg);
    else
        log_trace("resolver: %s", msg);
}

/* A resolver on base: the system's nameservers and search list
 * (/etc/resolv.conf), /etc/hosts, and a bounded wait. */
static struct evdns_base *
dns_new(struct event_base *base)
{
    struct evdns_base *dns;

    evdns_set_log_fn(dns_log_cb);
    dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                   EVDNS_BASE_DISABLE_WHEN_INACTIVE);

    if (dns == NULL)
        return NULL;
    /* 2 s per try, 2 tries: a dead nameserver costs 4 s, not 15. */
    evdns_base_set_option(dns, "timeout:", "2");
    evdns_base_set_option(dns, "attempts:", "2");
    return dns;
}

static struct disc *
disc_new(struct gw *g, const char *name)
{
    struct disc *d = xcalloc(1, sizeof(*d));

    d->g = g;
    snprintf(d->name, sizeof(d->name), "%s", name);
    if ((d->dns = dns_new(g->base)) == NULL) {
        free(d);
        return NULL;
    }
    d->round_timer = evtimer_new(g->base, round_timer_cb, d);
    d->connect_timer = evtimer_new(g->base, connect_timer_cb, d);
    the_disc = d;
    return d;
}

int
discover_start(struct gw *g, const char *name, unsigned interval)
{
    struct disc *d;

    if (strlen(name) == 0 || strlen(name) >= sizeof(d->name)) {
        log_warnx("-discover: bad name '%s'", name);
        return -1;
    }
    if ((d = disc_new(g, name)) == NULL) {
        log_warnx("-discover %s: cannot set up a resolver", name);
        return -1;
    }
    d->serve = true;
    d->interval = interval ? interval : 10;
    log_info("discover %s: every %u s", name, d->interval);
    round_start(d);
    return 0;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: distgw discover [-ping] [-sname NAME | -name NAME]\n"
            "         [-setcookie C] [-timeout SECONDS] [-d]... DNSNAME\n"
            "Resolves every A and AAAA record of DNSNAME, asks each address's\n"
            "EPMD (ERL_EPMD_PORT, default 4369) for its names and prints\n"
            "one line per node: NODE ADDRESS port PORT, then a last line\n"
            "with the counts and the addresses that failed.\n"
            "  -ping           ping each node found (pong or pang)\n"
            "  -timeout S      give up after S seconds (default 10)\n"
            "Exit status: 0 if at least one address answered, else 1.\n");
}

/* -timeout: what has not answered failed; print what we have. */
static void
cli_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct disc *d = arg;
    size_t i;

    (void)fd;
    (void)what;
    if (d->done)
        return;
    if (d->running) {
        /* Addresses still asking: they failed. */
        for (i = 0; i < d->naddrs; i++) {
            struct daddr *a = &d->addrs[i];

            if (a->state == DA_WAIT || a->state == DA_NAMES ||
                a->state == DA_PTR) {
                if (a->state == DA_PTR)
                    a->state = DA_DONE; /* answered; no PTR name */
                else {
                    a->state = DA_FAILED;
                    snprintf(a->why, sizeof(a->why), "no answer in time");
                }
            }
        }
        if (d->naddrs == 0 && d->dns_error[0] == '\0')
            snprintf(d->dns_error, sizeof(d->dns_error), "no answer in time");
        d->running = false;
        name_nodes(d);
        cli_print(d);
        return;
    }
    for (i = 0; i < d->nnodes; i++)
        if (d->nodes[i].ping == DP_WAIT)
            d->nodes[i].ping = DP_PANG;
    cli_print(d);
}

int
cli_discover(int argc, char **argv)
{
    enum { O_SNAME = 1, O_NAME, O_COOKIE, O_TIMEOUT, O_DEBUG, O_PING, O_HELP };
    static const struct option longopts[] = {
        {"sname", required_argument, NULL, O_SNAME},
        {"name", required_argument, NULL, O_NAME},
        {"setcookie", required_argument, NULL, O_COOKIE},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"d", no_argument, NULL, O_DEBUG},
        {"ping", no_argument, NULL, O_PING},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *sname = NULL, *lname = NULL, *cookie = NULL;
    char why[512], made[64], *end;
    struct event_base *base;
    struct event *timer;
    struct gw *g;
    struct disc *d;
    bool ping = false;
    int c, verbose = 0;
    long timeout = 10;
    struct timeval tv;
    uint32_t cr;

    optind = 1;
    while ((c = getopt_long_only(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_SNAME:
            sname = optarg;
            break;
        case O_NAME:
            lname = optarg;
            break;
        case O_COOKIE:
            cookie = optarg;
            break;
        case O_TIMEOUT:
            errno = 0;
            timeout = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end != '\0' || timeout < 1 ||
                timeout > 86400) {
                usage(stderr);
                return 2;
            }
            break;
        case O_DEBUG:
            verbose++;
            break;
        case O_PING:
            ping = true;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 1 || argv[optind][0] == '\0' ||
        strlen(argv[optind]) >= sizeof(d->name)) {
        usage(stderr);
        return 2;
    }
    log_init("distgw", 1, 0);
    log_setverbose(verbose);
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    g = xcalloc(1, sizeof(*g));
    gw_init(g, base);
    g->epmd_port = epmd_port();
    if (ping) {
        /* A one-shot node of our own, as `distgw ping` makes. */
        if (lname == NULL && sname == NULL) {
            snprintf(made, sizeof(made), "distgw_%ld", (long)getpid());
            sname = made;
        }
        if (opt_node_name(lname ? lname : sname, lname != NULL, g->name,
                          sizeof(g->name), why, sizeof(why)) < 0 ||
            opt_cookie(cookie, g->cookie, sizeof(g->cookie), why, sizeof(why)) <
                0) {
            fprintf(stderr, "distgw: %s\n", why);
            return 2;
        }
        snprintf(g->host, sizeof(g->host), "%s", strchr(g->name, '@') + 1);
        /* Not registered with EPMD: a creation of our own, never 0..3. */
        RAND_bytes((unsigned char *)&cr, sizeof(cr));
        g->creation = cr < 4 ? cr + 4 : cr;
    }
    if ((d = disc_new(g, argv[optind])) == NULL) {
        fprintf(stderr, "distgw: cannot set up a resolver\n");
        return 1;
    }
    d->ping = ping;
    d->rc = 1;
    if (ping) {
        d->a = etf_arena_new();
        gw_make_pid(g, d->a, &d->self, gw_new_pid_id(g));
        g->deliver = ping_deliver;
        g->deliver_arg = d;
    }
    tv.tv_sec = timeout;
    tv.tv_usec = 0;
    timer = evtimer_new(base, cli_timeout_cb, d);
    evtimer_add(timer, &tv);
    round_start(d);
    if (!d->done)
        event_base_dispatch(base);
    return d->rc;
}
