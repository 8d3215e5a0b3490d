/*
 * The subcommands: `serve` runs the gateway; ping, names, send and rpc
 * are one-shot nodes that do one thing and exit.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "addr.h"
#include "cli.h"
#include "dist_proto.h"
#include "gw.h"
#include "log.h"
#include "options.h"
#include "tls.h"
#include "xmalloc.h"

/* Options every subcommand takes. */
struct common_opts {
    const char *sname, *name, *cookie;
    int verbose;
    unsigned timeout;
    struct tls_opts tls;
    bool use_tls;
};

enum {
    O_SNAME = 1000,
    O_NAME,
    O_COOKIE,
    O_HIDDEN,
    O_PORT,
    O_MAILBOX,
    O_ECHO,
    O_RECORDER,
    O_PRINT,
    O_TICKTIME,
    O_TIMEOUT,
    O_MAXFRAME,
    O_MBOXMAX,
    O_DEBUG,
    O_HELP,
    O_DISCOVER,
    O_DISCOVER_INTERVAL,
    O_COALESCE,
    O_HTTP,
    O_START_EPMD,
    O_TLS_CERT,
    O_TLS_KEY,
    O_TLS_CA,
    O_TLS_VERIFY,
    O_TLS_SERVER_NAME,
};

/* clang-format off */
#define COMMON_LONGOPTS                                                        \
    {"sname", required_argument, NULL, O_SNAME},                               \
    {"name", required_argument, NULL, O_NAME},                                 \
    {"setcookie", required_argument, NULL, O_COOKIE},                          \
    {"timeout", required_argument, NULL, O_TIMEOUT},                           \
    {"d", no_argument, NULL, O_DEBUG},                                         \
    {"tls-cert", required_argument, NULL, O_TLS_CERT},                         \
    {"tls-key", required_argument, NULL, O_TLS_KEY},                           \
    {"tls-ca", required_argument, NULL, O_TLS_CA},                             \
    {"tls-verify", required_argument, NULL, O_TLS_VERIFY},                     \
    {"tls-server-name", required_argument, NULL, O_TLS_SERVER_NAME},           \
    {"help", no_argument, NULL, O_HELP}
/* clang-format on */

/* Parse a number in [lo, hi]; -1 if it is not one. */
static long
number(const char *s, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    return v;
}

/* Handle a common option; 1 if it was one, -1 on a bad value. */
static int
common_opt(struct common_opts *o, int c, const char *arg)
{
    long v;

    switch (c) {
    case O_SNAME:
        o->sname = arg;
        return 1;
    case O_NAME:
        o->name = arg;
        return 1;
    case O_COOKIE:
        o->cookie = arg;
        return 1;
    case O_DEBUG:
        o->verbose++;
        return 1;
    case O_TIMEOUT:
        if ((v = number(arg, 1, 86400)) < 0)
            return -1;
        o->timeout = (unsigned)v;
        return 1;
    case O_TLS_CERT:
        o->tls.cert = arg;
        o->use_tls = true;
        return 1;
    case O_TLS_KEY:
        o->tls.key = arg;
        o->use_tls = true;
        return 1;
    case O_TLS_CA:
        o->tls.ca = arg;
        o->use_tls = true;
        return 1;
    case O_TLS_SERVER_NAME:
        o->tls.server_name = arg;
        return 1;
    case O_TLS_VERIFY:
        if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
            return -1;
        o->tls.verify = strcmp(arg, "on") == 0;
        return 1;
    }
    return 0;
}

/* Name and cookie for g. For one-shot commands without -sname/-name the
 * name is made up, short or long like the node it talks to. */
static int
setup_identity(struct gw *g, const struct common_opts *o, const char *peer)
{
    char why[512], made[64];
    const char *arg = o->name ? o->name : o->sname;
    bool longnames = o->name != NULL;

    if (arg == NULL) {
        snprintf(made, sizeof(made), "distgw_%ld", (long)getpid());
        arg = made;
        if (peer != NULL && strchr(peer, '@') != NULL &&
            strchr(strchr(peer, '@') + 1, '.') != NULL)
            longnames = true;
    }
    if (opt_node_name(arg, longnames, g->name, sizeof(g->name), why,
                      sizeof(why)) < 0 ||
        opt_cookie(o->cookie, g->cookie, sizeof(g->cookie), why, sizeof(why)) <
            0) {
        fprintf(stderr, "distgw: %s\n", why);
        return -1;
    }
    strcpy(g->host, strchr(g->name, '@') + 1);
    if (o->use_tls && (g->tls = tls_new(&o->tls, why, sizeof(why))) == NULL) {
        fprintf(stderr, "distgw: %s\n", why);
        return -1;
    }
    return 0;
}

static uint16_t
epmd_port_env(void)
{
    const char *s = getenv("ERL_EPMD_PORT");
    uint16_t port;

    if (s != NULL && addr_parse_port(s, &port) == 0)
        return port;
    return 4369;
}

/* As PID 1 in a container we inherit orphans (the epmd we start, too):
 * reap them. */
static void
sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    log_info("signal %d: stopping", (int)sig);
    event_base_loopbreak(arg);
}

/* ------------------------------------------------------------------ */
/* serve                                                               */
/* ------------------------------------------------------------------ */

static void
serve_usage(FILE *f)
{
    fprintf(f,
            "usage: distgw serve -sname NAME | -name NAME [-setcookie C]\n"
            "         [-port MIN-MAX] [-hidden] [-http ADDR:PORT|off]\n"
            "         [-start_epmd true|false]\n"
            "         [-mailbox NAME]...\n"
            "         [-echo NAME]... [-recorder NAME]... [-print]\n"
            "         [-ticktime SECONDS] [-max-frame BYTES]\n"
            "         [-tls-cert PEM -tls-key PEM [-tls-ca PEM]\n"
            "          [-tls-verify on|off] [-tls-server-name NAME]]\n"
            "         [-mailbox-max N] [-discover NAME\n"
            "         [-discover-interval SECONDS]] [-coalesce USEC] [-d]...\n"
            "Runs the gateway: a hidden node that registers with EPMD\n"
            "(ERL_EPMD_PORT, default 4369) and listens on the first free\n"
            "port of the range (default 9100-9200, or ERL_DIST_PORT).\n"
            "  -mailbox NAME   register NAME; messages to it are kept\n"
            "  -echo NAME      register NAME; messages are sent back\n"
            "  -recorder NAME  keep {send, From, Content}, answer {get, Pid}\n"
            "                  with {msgs, [{From, Content}, ...]}\n"
            "  -print          print what arrives at -mailbox names\n"
            "  -coalesce USEC  how long a message of a busy stream may wait\n"
            "                  to be read with the next ones (default %u;\n"
            "                  0 reads every message as it comes)\n",
            GW_DEFAULT_COALESCE_US);
}

static void
serve_registered_cb(struct gw *g, bool ok)
{
    if (!ok) {
        log_warnx("cannot register %s with EPMD: the name is taken", g->name);
        event_base_loopbreak(g->base);
        g->registered = false;
        g->creation = 0;
        return;
    }
    printf("distgw: %s listening on port %u\n", g->name, g->port);
    fflush(stdout);
}

struct mbox_arg {
    const char *name;
    enum mbox_mode mode;
};

int
cli_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        COMMON_LONGOPTS,
        {"hidden", no_argument, NULL, O_HIDDEN},
        {"port", required_argument, NULL, O_PORT},
        {"mailbox", required_argument, NULL, O_MAILBOX},
        {"echo", required_argument, NULL, O_ECHO},
        {"recorder", required_argument, NULL, O_RECORDER},
        {"print", no_argument, NULL, O_PRINT},
        {"ticktime", required_argument, NULL, O_TICKTIME},
        {"max-frame", required_argument, NULL, O_MAXFRAME},
        {"mailbox-max", required_argument, NULL, O_MBOXMAX},
        {"discover", required_argument, NULL, O_DISCOVER},
        {"http", required_argument, NULL, O_HTTP},
        {"start_epmd", required_argument, NULL, O_START_EPMD},
        {"discover-interval", required_argument, NULL, O_DISCOVER_INTERVAL},
        {"coalesce", required_argument, NULL, O_COALESCE},
        {NULL, 0, NULL, 0},
    };
    struct common_opts o = {.tls.verify = -1};
    struct gw g;
    struct event_base *base;
    struct event *sigs[3];
    struct mbox_arg mboxes[64];
    struct mailbox *mb;
    size_t nmbox = 0, i;
    unsigned pmin = 9100, pmax = 9200, ticktime = DIST_DEFAULT_TICKTIME;
    size_t max_frame = DIST_DEFAULT_MAX_FRAME, mbox_max = 100000;
    bool print = false;
    const char *env, *discover = NULL, *http = NULL;
    bool start_epmd = true;
    unsigned discover_interval = 10, coalesce_us = GW_DEFAULT_COALESCE_US;
    long v;
    int c, rc;

    if ((env = getenv("ERL_DIST_PORT")) != NULL &&
        opt_port_range(env, &pmin, &pmax) < 0) {
        fprintf(stderr, "distgw: bad ERL_DIST_PORT '%s'\n", env);
        return 2;
    }
    optind = 1;
    while ((c = getopt_long_only(argc, argv, "", longopts, NULL)) != -1) {
        if ((rc = common_opt(&o, c, optarg)) != 0) {
            if (rc < 0)
                goto bad;
            continue;
        }
        switch (c) {
        case O_HIDDEN:
            break; /* always hidden: see the README */
        case O_PORT:
            if (opt_port_range(optarg, &pmin, &pmax) < 0)
                goto bad;
            break;
        case O_MAILBOX:
        case O_ECHO:
        case O_RECORDER:
            if (nmbox == sizeof(mboxes) / sizeof(mboxes[0]))
                goto bad;
            mboxes[nmbox].name = optarg;
            mboxes[nmbox++].mode = c == O_ECHO       ? MBOX_ECHO
                                   : c == O_RECORDER ? MBOX_RECORDER
                                                     : MBOX_QUEUE;
            break;
        case O_PRINT:
            print = true;
            break;
        case O_TICKTIME:
            if ((v = number(optarg, 1, 3600)) < 0)
                goto bad;
            ticktime = (unsigned)v;
            break;
        case O_MAXFRAME:
            if ((v = number(optarg, 1024, 1L << 31)) < 0)
                goto bad;
            max_frame = (size_t)v;
            break;
        case O_MBOXMAX:
            if ((v = number(optarg, 1, 100000000)) < 0)
                goto bad;
            mbox_max = (size_t)v;
            break;
        case O_DISCOVER:
            discover = optarg;
            break;
        case O_HTTP:
            http = optarg;
            break;
        case O_START_EPMD:
            if (strcmp(optarg, "true") != 0 && strcmp(optarg, "false") != 0)
                goto bad;
            start_epmd = strcmp(optarg, "true") == 0;
            break;
        case O_DISCOVER_INTERVAL:
            if ((v = number(optarg, 1, 86400)) < 0)
                goto bad;
            discover_interval = (unsigned)v;
            break;
        case O_COALESCE:
            if ((v = number(optarg, 0, 100000)) < 0)
                goto bad;
            coalesce_us = (unsigned)v;
            break;
        case O_HELP:
            serve_usage(stdout);
            return 0;
        default:
            goto bad;
        }
    }
    if (optind != argc || (o.sname == NULL && o.name == NULL)) {
        if (o.sname == NULL && o.name == NULL)
            fprintf(stderr, "distgw serve: give -sname NAME or -name NAME\n");
        goto bad;
    }
    log_init("distgw", 1, 0);
    log_setverbose(o.verbose);
    signal(SIGPIPE, SIG_IGN);
    if ((base = event_base_new()) == NULL) {
        fprintf(stderr, "distgw: cannot make an event loop\n");
        return 1;
    }
    gw_init(&g, base);
    g.coalesce_us = coalesce_us;
    g.epmd_port = epmd_port_env();
    g.ticktime = ticktime;
    g.max_frame = max_frame;
    g.mbox_max = mbox_max;
    g.start_epmd = start_epmd;
    if (setup_identity(&g, &o, NULL) < 0)
        return 1;
    for (i = 0; i < nmbox; i++) {
        if ((mb = mbox_open(&g, mboxes[i].name, mboxes[i].mode)) == NULL) {
            fprintf(stderr, "distgw: mailbox %s given twice\n", mboxes[i].name);
            return 2;
        }
        mb->print = print;
    }
    if (gw_listen(&g, pmin, pmax) < 0) {
        fprintf(stderr, "distgw: no free port in %u-%u\n", pmin, pmax);
        return 1;
    }
    /* The HTTP API: on 127.0.0.1:8080 unless told otherwise ("off"). */
    if (http == NULL) {
        if (bridge_start(&g, "127.0.0.1:8080", false) < 0)
            log_info("no HTTP API");
    } else if (strcmp(http, "off") != 0 && bridge_start(&g, http, true) < 0)
        return 1;
    epmdc_register(&g, serve_registered_cb);
    if (discover != NULL && discover_start(&g, discover, discover_interval) < 0)
        return 1;
    sigs[0] = evsignal_new(base, SIGINT, signal_cb, base);
    sigs[1] = evsignal_new(base, SIGTERM, signal_cb, base);
    sigs[2] = evsignal_new(base, SIGCHLD, sigchld_cb, NULL);
    event_add(sigs[0], NULL);
    event_add(sigs[1], NULL);
    event_add(sigs[2], NULL);
    event_base_dispatch(base);
    rc = g.creation == 0 ? 1 : 0;
    log_info("stopped");
    return rc;
bad:
    serve_usage(stderr);
    return 2;
}

/* ------------------------------------------------------------------ */
/* one-shot commands                                                   */
/* ------------------------------------------------------------------ */

/* State of a one-shot command. */
struct oneshot {
    struct gw g;
    const char *peer;
    etf_arena *a;
    etf_term self, tag; /* our pid, the reference we wait on */
    int rc;             /* exit status once done */
    bool done;
    /* what to do when the link is up */
    void (*start)(struct oneshot *, struct conn *);
    /* send: the name and term */
    const char *to_name;
    etf_term *term;
    /* rpc: the call */
    etf_term *mfa_call;
};

static void
finish(struct oneshot *s, int rc)
{
    if (s->done)
        return;
    s->done = true;
    s->rc = rc;
    event_base_loopbreak(s->g.base);
}

static void
oneshot_down(struct conn *c, const char *why)
{
    struct oneshot *s = c->gw->deliver_arg;

    if (s->done)
        return;
    if (c->state == CONN_HANDSHAKE && c->hs.state == HS_RECV_ACK &&
        strstr(why, "peer closed") != NULL)
        fprintf(stderr,
                "distgw: %s closed the connection after our challenge "
                "reply: the cookies differ\n",
                s->peer);
    else
        fprintf(stderr, "distgw: %s: %s failed: %s\n", s->peer,
                c->state == CONN_HANDSHAKE    ? hs_step(&c->hs)
                : c->state == CONN_LOOKUP     ? "EPMD lookup"
                : c->state == CONN_CONNECTING ? "connect"
                                              : "connection",
                why);
    finish(s, 1);
}

static void
oneshot_up(struct conn *c)
{
    struct oneshot *s = c->gw->deliver_arg;

    s->start(s, c);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct oneshot *s = arg;

    (void)fd;
    (void)what;
    fprintf(stderr, "distgw: %s: no answer in time\n", s->peer);
    finish(s, 1);
}

/* Send {'$gen_call', {Self, Tag}, Request} to name on c. */
static void
gen_call(struct oneshot *s, struct conn *c, const char *name,
         const etf_term *request)
{
    etf_term ctl, msg, *e, *from;

    e = etf_set_tuple(s->a, &ctl, 4);
    etf_set_int(&e[0], DOP_REG_SEND);
    e[1] = s->self;
    gw_atom(s->a, &e[2], "");
    gw_atom(s->a, &e[3], name);
    e = etf_set_tuple(s->a, &msg, 3);
    gw_atom(s->a, &e[0], "$gen_call");
    from = etf_set_tuple(s->a, &e[1], 2);
    from[0] = s->self;
    from[1] = s->tag;
    e[2] = *request;
    conn_send(c, &ctl, &msg);
}

/* Run a one-shot command against peer; deliver gets what comes to us. */
static int
oneshot_run(struct oneshot *s, const struct common_opts *o,
            gw_deliver_cb deliver)
{
    struct event_base *base = event_base_new();
    struct event *timer;
    struct timeval tv = {o->timeout ? o->timeout : 10, 0};
    struct conn *c;
    uint32_t cr;

    log_init("distgw", 1, 0);
    log_setverbose(o->verbose);
    signal(SIGPIPE, SIG_IGN);
    gw_init(&s->g, base);
    s->g.epmd_port = epmd_port_env();
    s->g.deliver = deliver;
    s->g.deliver_arg = s;
    if (setup_identity(&s->g, o, s->peer) < 0)
        return 2;
    /* Not registered with EPMD: a creation of our own, never 0..3. */
    RAND_bytes((unsigned char *)&cr, sizeof(cr));
    s->g.creation = cr < 4 ? cr + 4 : cr;
    s->a = etf_arena_new();
    gw_make_pid(&s->g, s->a, &s->self, gw_new_pid_id(&s->g));
    gw_make_ref(&s->g, s->a, &s->tag);
    timer = evtimer_new(base, timeout_cb, s);
    evtimer_add(timer, &tv);
    if ((c = conn_connect(&s->g, s->peer)) == NULL) {
        if (!s->done)
            fprintf(stderr, "distgw: bad node name '%s'\n", s->peer);
        return 2;
    }
    c->on_up = oneshot_up;
    c->on_down = oneshot_down;
    s->rc = 1;
    event_base_dispatch(base);
    return s->rc;
}

static bool
is_tagged_reply(struct oneshot *s, const struct ctl_msg *m)
{
    const etf_term *p = m->payload;

    return p != NULL && p->kind == ETF_TUPLE && p->len == 2 &&
           etf_equal(&p->v.elems[0], &s->tag);
}

static void
ping_deliver(struct gw *g, const struct ctl_msg *m, void *arg)
{
    struct oneshot *s = arg;
    const etf_term *v;

    (void)g;
    if (!is_tagged_reply(s, m))
        return;
    v = &m->payload->v.elems[1];
    if (v->kind == ETF_ATOM && strcmp(v->v.str, "yes") == 0) {
        printf("pong\n");
        finish(s, 0);
    } else {
        fprintf(stderr, "distgw: %s does not accept us (is_auth said no)\n",
                s->peer);
        printf("pang\n");
        finish(s, 1);
    }
}

static void
ping_start(struct oneshot *s, struct conn *c)
{
    etf_term req, *e = etf_set_tuple(s->a, &req, 2);

    gw_atom(s->a, &e[0], "is_auth");
    gw_atom(s->a, &e[1], s->g.name);
    gen_call(s, c, "net_kernel", &req);
}

static void
oneshot_usage(const char *cmd)
{
    fprintf(stderr,
            "usage: distgw %s [-sname NAME | -name NAME] [-setcookie C] "
            "[-timeout SECONDS] [-d] %s\n",
            cmd,
            strcmp(cmd, "ping") == 0   ? "NODE"
            : strcmp(cmd, "send") == 0 ? "NODE NAME TERM"
            : strcmp(cmd, "rpc") == 0  ? "NODE MODULE FUNCTION ARGS"
                                       : "[HOST]");
}

/* Parse the common options of a one-shot command; returns optind or -1. */
static int
oneshot_opts(int argc, char **argv, struct common_opts *o, const char *cmd)
{
    static const struct option longopts[] = {COMMON_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    int c;

    optind = 1;
    while ((c = getopt_long_only(argc, argv, "", longopts, NULL)) != -1) {
        if (c == O_HELP) {
            oneshot_usage(cmd);
            exit(0);
        }
        if (common_opt(o, c, optarg) != 1) {
            oneshot_usage(cmd);
            return -1;
        }
    }
    return optind;
}

int
cli_ping(int argc, char **argv)
{
    struct common_opts o = {.tls.verify = -1};
    struct oneshot *s = xcalloc(1, sizeof(*s));
    int i = oneshot_opts(argc, argv, &o, "ping"), rc;

    if (i < 0 || argc - i != 1) {
        if (i >= 0)
            oneshot_usage("ping");
        return 2;
    }
    s->peer = argv[i];
    if (strchr(s->peer, '@') == NULL) {
        /* `distgw ping gw`: a node on this host, as a health check. */
        char host[256], *full = xmalloc(HS_NAME_MAX + 1);

        if (gethostname(host, sizeof(host)) < 0)
            return 2;
        host[sizeof(host) - 1] = '\0';
        if (o.name == NULL)
            host[strcspn(host, ".")] = '\0';
        snprintf(full, HS_NAME_MAX + 1, "%s@%s", s->peer, host);
        s->peer = full;
    }
    s->start = ping_start;
    rc = oneshot_run(s, &o, ping_deliver);
    if (rc == 1 && !s->done)
        printf("pang\n");
    else if (rc == 1 && s->rc == 1 && s->done)
        printf("pang\n");
    return rc;
}

/* send: REG_SEND the term, and finish once it is written out. */
static void
send_drained(struct conn *c)
{
    finish(c->gw->deliver_arg, 0);
}

static void
send_start(struct oneshot *s, struct conn *c)
{
    etf_term ctl, *e = etf_set_tuple(s->a, &ctl, 4);

    etf_set_int(&e[0], DOP_REG_SEND);
    e[1] = s->self;
    gw_atom(s->a, &e[2], "");
    if (gw_atom(s->a, &e[3], s->to_name) < 0) {
        fprintf(stderr, "distgw: '%s' is not a valid name\n", s->to_name);
        finish(s, 2);
        return;
    }
    c->on_drained = send_drained;
    conn_send(c, &ctl, s->term);
}

static void
ignore_deliver(struct gw *g, const struct ctl_msg *m, void *arg)
{
    (void)g;
    (void)m;
    (void)arg;
}

/* Parse a term given on the command line. */
static etf_term *
cli_term(etf_arena *a, const char *text, const char *what)
{
    etf_error err;
    etf_term *t = etf_parse(a, text, strlen(text), &err);

    if (t == NULL)
        fprintf(stderr, "distgw: %s is not an Erlang term: %s (byte %zu)\n",
                what, err.msg, err.pos);
    return t;
}

int
cli_send(int argc, char **argv)
{
    struct common_opts o = {.tls.verify = -1};
    struct oneshot *s = xcalloc(1, sizeof(*s));
    etf_arena *a = etf_arena_new();
    int i = oneshot_opts(argc, argv, &o, "send");

    if (i < 0 || argc - i != 3) {
        if (i >= 0)
            oneshot_usage("send");
        return 2;
    }
    s->peer = argv[i];
    s->to_name = argv[i + 1];
    if ((s->term = cli_term(a, argv[i + 2], "TERM")) == NULL)
        return 2;
    s->start = send_start;
    return oneshot_run(s, &o, ignore_deliver);
}

/* rpc: {call, M, F, A, GroupLeader} to rex, which answers {Tag, Result};
 * output the call makes comes to us as io requests and is printed. */
static void
io_request(struct oneshot *s, const etf_term *req)
{
    const etf_term *from = &req->v.elems[1], *as = &req->v.elems[2];
    const etf_term *r = &req->v.elems[3], *chars = NULL;
    etf_term ctl, msg, *e;
    struct conn *c = conn_find(&s->g, s->peer);

    /* {put_chars, Encoding, Chars} or {put_chars, Chars} */
    if (r->kind == ETF_TUPLE && r->len == 3 && r->v.elems[0].kind == ETF_ATOM &&
        strcmp(r->v.elems[0].v.str, "put_chars") == 0)
        chars = &r->v.elems[2];
    else if (r->kind == ETF_TUPLE && r->len == 2 &&
             r->v.elems[0].kind == ETF_ATOM &&
             strcmp(r->v.elems[0].v.str, "put_chars") == 0)
        chars = &r->v.elems[1];
    if (chars != NULL && chars->kind == ETF_BINARY && chars->aux == 8)
        fwrite(chars->v.bytes, 1, chars->len, stdout);
    else if (chars != NULL && chars->kind == ETF_STRING)
        fwrite(chars->v.bytes, 1, chars->len, stdout);
    else if (r->kind == ETF_TUPLE && r->len == 5) {
        /* {put_chars, Enc, M, F, A}: formatting needs Erlang; say so
         * rather than lose the output without a word. */
        fprintf(stderr, "distgw: output formatted by the remote call "
                        "(io:format) is not shown: run it through "
                        "io_lib:format/2 to get it as the result\n");
        chars = r;
    }
    if (c == NULL || from->kind != ETF_PID)
        return;
    e = etf_set_tuple(s->a, &ctl, 3);
    etf_set_int(&e[0], DOP_SEND);
    gw_atom(s->a, &e[1], "");
    e[2] = *from;
    e = etf_set_tuple(s->a, &msg, 3);
    gw_atom(s->a, &e[0], "io_reply");
    e[1] = *as;
    gw_atom(s->a, &e[2], chars != NULL ? "ok" : "error");
    conn_send(c, &ctl, &msg);
}

static void
rpc_deliver(struct gw *g, const struct ctl_msg *m, void *arg)
{
    struct oneshot *s = arg;
    const etf_term *p = m->payload, *v;
    char *text;
    bool bad;

    (void)g;
    if (p != NULL && p->kind == ETF_TUPLE && p->len == 4 &&
        p->v.elems[0].kind == ETF_ATOM &&
        strcmp(p->v.elems[0].v.str, "io_request") == 0) {
        io_request(s, p);
        return;
    }
    if (!is_tagged_reply(s, m))
        return;
    v = &p->v.elems[1];
    bad = v->kind == ETF_TUPLE && v->len == 2 &&
          v->v.elems[0].kind == ETF_ATOM &&
          strcmp(v->v.elems[0].v.str, "badrpc") == 0;
    text = etf_format(v, ETF_TEXT_TP, NULL);
    if (text != NULL)
        printf("%s\n", text);
    free(text);
    finish(s, bad ? 1 : 0);
}

static void
rpc_start(struct oneshot *s, struct conn *c)
{
    etf_term req, *e = etf_set_tuple(s->a, &req, 5);

    gw_atom(s->a, &e[0], "call");
    e[1] = s->mfa_call[0];
    e[2] = s->mfa_call[1];
    e[3] = s->mfa_call[2];
    e[4] = s->self; /* group leader: output comes back to us */
    gen_call(s, c, "rex", &req);
}

int
cli_rpc(int argc, char **argv)
{
    struct common_opts o = {.tls.verify = -1};
    struct oneshot *s = xcalloc(1, sizeof(*s));
    etf_arena *a = etf_arena_new();
    int i = oneshot_opts(argc, argv, &o, "rpc");
    etf_term *args;

    if (i < 0 || argc - i != 4) {
        if (i >= 0)
            oneshot_usage("rpc");
        return 2;
    }
    s->peer = argv[i];
    s->mfa_call = etf_arena_alloc(a, 3 * sizeof(etf_term));
    if (gw_atom(a, &s->mfa_call[0], argv[i + 1]) < 0 ||
        gw_atom(a, &s->mfa_call[1], argv[i + 2]) < 0) {
        fprintf(stderr, "distgw: module and function must be atoms\n");
        return 2;
    }
    if ((args = cli_term(a, argv[i + 3], "ARGS")) == NULL)
        return 2;
    if (args->kind != ETF_LIST && args->kind != ETF_NIL &&
        args->kind != ETF_STRING) {
        fprintf(stderr, "distgw: ARGS must be a list, like [1, 2]\n");
        return 2;
    }
    s->mfa_call[2] = *args;
    s->start = rpc_start;
    return oneshot_run(s, &o, rpc_deliver);
}

int
cli_names(int argc, char **argv)
{
    struct common_opts o = {.tls.verify = -1};
    const char *host = "localhost";
    char why[512], *text;
    int i = oneshot_opts(argc, argv, &o, "names");

    if (i < 0 || argc - i > 1) {
        if (i >= 0)
            oneshot_usage("names");
        return 2;
    }
    if (argc - i == 1)
        host = argv[i];
    if ((text = epmdc_names(host, epmd_port_env(), why, sizeof(why))) == NULL) {
        fprintf(stderr, "distgw: %s\n", why);
        return 1;
    }
    fputs(text, stdout);
    free(text);
    return 0;
}
