/*
 * epmd-bench: start our epmd and OTP's on private ports and measure both in
 * one run: PORT_PLEASE2 lookups per second at 1, 16 and 64 concurrent
 * clients (a new TCP connection per lookup), time to register 1,000 and
 * 10,000 nodes (or how many were taken before the server failed), NAMES
 * latency with 1,000 names, and RSS idle and with 1,000 names.
 *
 * Lookups are also run against a floor: a server that only accepts, reads,
 * writes one prepared reply and closes. No epmd can do less per lookup,
 * so its rate is the most any epmd reaches against these clients on this
 * machine (the clients share its cores and their kernel work dominates).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "epmd_wire.h"
#include "fdio.h"

#define BENCH_MAX_CLIENTS 64
#define BENCH_NAMES_ROUNDS 200
#define BENCH_REPLY_TIMEOUT_MS 5000

struct bench_server {
    const char *label;
    const char *path;
    uint16_t port;
    pid_t pid;
};

struct bench_result {
    double lookups[3]; /* per second at 1, 16, 64 clients */
    double cpu_us[3];  /* server CPU time per lookup, microseconds */
    unsigned long lookup_errors[3];
    int reg1000_taken;
    double reg1000_sec;
    int reg10000_taken;
    double reg10000_sec;
    double names_p50_ms, names_p99_ms;
    long rss_idle_kb, rss_1000_kb;
};

static const int bench_clients[3] = {1, 16, 64};
static double bench_seconds = 3.0;

static double
now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read until EOF (or cap) with a hang bound; returns bytes or -1. */
static ssize_t
read_to_eof(int fd, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    for (;;) {
        ssize_t r;

        if (poll(&pfd, 1, BENCH_REPLY_TIMEOUT_MS) <= 0)
            return -1;
        r = read(fd, buf + got, cap - got);
        if (r == -1 && errno == EINTR)
            continue;
        if (r < 0)
            return got > 0 ? (ssize_t)got : -1;
        if (r == 0 || (got += (size_t)r) == cap)
            return (ssize_t)got;
    }
}

/* Read exactly len bytes with a hang bound; 0 or -1. */
static int
read_exact(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    while (got < len) {
        ssize_t r;

        if (poll(&pfd, 1, BENCH_REPLY_TIMEOUT_MS) <= 0)
            return -1;
        r = read(fd, buf + got, len - got);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Register one node; returns the socket that holds it, or -1. */
static int
bench_register(uint16_t port, const char *name, uint16_t nodeport)
{
    struct epmd_node_info n = {
        .port = nodeport,
        .node_type = EPMD_NODE_NORMAL,
        .high_vsn = 6,
        .low_vsn = 5,
        .name = (const uint8_t *)name,
        .name_len = strlen(name),
    };
    uint8_t req[300], resp[6], result;
    uint32_t creation;
    size_t len = epmd_wire_alive2_req(req, sizeof(req), &n), used;
    int fd;

    if ((fd = fd_connect_loopback(port)) == -1)
        return -1;
    if (fd_write_all(fd, req, len) == -1 || read_exact(fd, resp, 6) == -1 ||
        epmd_wire_parse_alive2_resp(resp, 6, &used, &result, &creation, NULL) !=
            EPMD_WIRE_OK ||
        result != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct lookup_arg {
    uint16_t port;
    atomic_int *stop;
    unsigned long ok, errors;
};

static void *
lookup_worker(void *p)
{
    struct lookup_arg *a = p;
    uint8_t req[32], buf[128], result;
    size_t len = epmd_wire_port2_req(req, sizeof(req),
                                     (const uint8_t *)"benchnode", 9),
           used;
    struct epmd_node_info info;

    while (!atomic_load(a->stop)) {
        int fd = fd_connect_loopback(a->port);
        ssize_t r;

        if (fd == -1) {
            a->errors++;
            continue;
        }
        if (fd_write_all(fd, req, len) == 0 &&
            (r = read_to_eof(fd, buf, sizeof(buf))) > 0 &&
            epmd_wire_parse_port2_resp(buf, (size_t)r, &used, &result, &info,
                                       NULL) == EPMD_WIRE_OK &&
            result == 0 && info.port == 4242)
            a->ok++;
        else
            a->errors++;
        close(fd);
    }
    return NULL;
}

/* Lookups per second with c concurrent clients. */
static double
bench_lookups(uint16_t port, int c, unsigned long *errors)
{
    pthread_t th[BENCH_MAX_CLIENTS];
    struct lookup_arg args[BENCH_MAX_CLIENTS];
    atomic_int stop = 0;
    unsigned long ok = 0;
    double t0, t1;

    *errors = 0;
    t0 = now_sec();
    for (int i = 0; i < c; i++) {
        args[i] = (struct lookup_arg){.port = port, .stop = &stop};
        pthread_create(&th[i], NULL, lookup_worker, &args[i]);
    }
    usleep((useconds_t)(bench_seconds * 1e6));
    atomic_store(&stop, 1);
    for (int i = 0; i < c; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
        *errors += args[i].errors;
    }
    t1 = now_sec();
    return (double)ok / (t1 - t0);
}

/* Register up to n nodes one after the other; stops at the first failure.
 * fds receives the held sockets; returns how many were taken. */
static int
bench_register_many(uint16_t port, int n, const char *prefix, int *fds,
                    double *sec)
{
    char name[64];
    double t0 = now_sec();
    int i;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%d", prefix, i);
        if ((fds[i] = bench_register(port, name,
                                     (uint16_t)(20000 + i % 30000))) == -1)
            break;
    }
    *sec = now_sec() - t0;
    return i;
}

static void
close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* NAMES latency with the names registered; checks the line count. */
static int
bench_names(uint16_t port, int expect, double *p50, double *p99)
{
    static uint8_t buf[1 << 20];
    double lat[BENCH_NAMES_ROUNDS];
    uint8_t req[4];
    size_t len = epmd_wire_simple_req(req, sizeof(req), EPMD_NAMES_REQ);

    for (int i = 0; i < BENCH_NAMES_ROUNDS; i++) {
        double t0 = now_sec();
        int fd = fd_connect_loopback(port), lines = 0;
        ssize_t r;

        if (fd == -1)
            return -1;
        if (fd_write_all(fd, req, len) == -1 ||
            (r = read_to_eof(fd, buf, sizeof(buf))) < 4) {
            close(fd);
            return -1;
        }
        lat[i] = (now_sec() - t0) * 1000.0;
        close(fd);
        for (ssize_t k = 4; k < r; k++)
            lines += buf[k] == '\n';
        if (lines != expect) {
            fprintf(stderr, "NAMES: %d lines, expected %d\n", lines, expect);
            return -1;
        }
    }
    qsort(lat, BENCH_NAMES_ROUNDS, sizeof(double), cmp_double);
    *p50 = lat[BENCH_NAMES_ROUNDS / 2];
    *p99 = lat[BENCH_NAMES_ROUNDS * 99 / 100];
    return 0;
}

/* CPU time (user + system) a process has used, in seconds. */
static double
cpu_sec(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15, counted after the ")" that ends the name. */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long
rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static int
server_start(struct bench_server *s)
{
    char port[16];
    int fd;

    snprintf(port, sizeof(port), "%u", s->port);
    if ((s->pid = fork()) == -1)
        return -1;
    if (s->pid == 0) {
        if ((fd = open("/dev/null", O_RDWR)) != -1) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(s->path, s->path, "-port", port, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300; i++) {
        int c = fd_connect_loopback(s->port);

        if (c != -1) {
            close(c);
            usleep(200000); /* let the probe's close settle */
            return 0;
        }
        usleep(20000);
    }
    return -1;
}

static void
server_stop(struct bench_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

/* Lookups at 1, 16 and 64 clients against a running server, with the
 * server's CPU time per lookup. */
static void
bench_lookup_runs(struct bench_server *s, struct bench_result *r)
{
    for (int i = 0; i < 3; i++) {
        double c0 = cpu_sec(s->pid), t0 = now_sec(), c1;

        r->lookups[i] =
            bench_lookups(s->port, bench_clients[i], &r->lookup_errors[i]);
        c1 = cpu_sec(s->pid);
        r->cpu_us[i] =
            r->lookups[i] > 0
                ? (c1 - c0) * 1e6 / (r->lookups[i] * (now_sec() - t0))
                : 0;
        printf("  %-5s lookups/s at %2d clients: %9.0f (%lu failed), server "
               "CPU %.1f us per lookup\n",
               s->label, bench_clients[i], r->lookups[i], r->lookup_errors[i],
               r->cpu_us[i]);
        fflush(stdout);
        usleep(500000);
    }
}

/* The floor server's loop: accept, read, answer, close, for ever. */
static void
floor_serve(int lfd, const uint8_t *resp, size_t len)
{
    uint8_t buf[512];

    for (;;) {
        int c = accept(lfd, NULL, NULL);

        if (c == -1)
            continue;
        if (recv(c, buf, sizeof(buf), 0) > 0)
            (void)send(c, resp, len, MSG_NOSIGNAL);
        close(c);
    }
}

/* Start the floor on s->port, answering every request with benchnode's
 * PORT2_RESP, and measure its lookups as bench_one does. */
static int
bench_floor(struct bench_server *s, struct bench_result *r)
{
    struct epmd_node_info n = {
        .port = 4242,
        .node_type = EPMD_NODE_NORMAL,
        .high_vsn = 6,
        .low_vsn = 5,
        .name = (const uint8_t *)"benchnode",
        .name_len = 9,
    };
    struct sockaddr_in sin;
    uint8_t resp[64];
    size_t len = epmd_wire_port2_resp(resp, sizeof(resp), &n);
    int lfd, one = 1;

    memset(r, 0, sizeof(*r));
    if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(s->port);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
        listen(lfd, 128) == -1 || (s->pid = fork()) == -1) {
        close(lfd);
        return -1;
    }
    if (s->pid == 0)
        floor_serve(lfd, resp, len);
    close(lfd);
    bench_lookup_runs(s, r);
    server_stop(s);
    return 0;
}

/* Run every measurement against one server. */
static int
bench_one(struct bench_server *s, struct bench_result *r, int *fds)
{
    int hold, n;

    memset(r, 0, sizeof(*r));
    if (server_start(s) == -1) {
        fprintf(stderr, "epmd-bench: cannot start %s (%s)\n", s->label,
                s->path);
        return -1;
    }
    r->rss_idle_kb = rss_kb(s->pid);
    if ((hold = bench_register(s->port, "benchnode", 4242)) == -1) {
        fprintf(stderr, "epmd-bench: %s: cannot register\n", s->label);
        server_stop(s);
        return -1;
    }
    bench_lookup_runs(s, r);
    close(hold);
    n = bench_register_many(s->port, 1000, "a", fds, &r->reg1000_sec);
    r->reg1000_taken = n;
    printf("  %-5s register 1000: %d taken in %.3f s\n", s->label, n,
           r->reg1000_sec);
    usleep(300000);
    r->rss_1000_kb = rss_kb(s->pid);
    if (n == 1000 &&
        bench_names(s->port, 1000, &r->names_p50_ms, &r->names_p99_ms) == 0)
        printf("  %-5s NAMES with 1000: p50 %.3f ms, p99 %.3f ms\n", s->label,
               r->names_p50_ms, r->names_p99_ms);
    else
        printf("  %-5s NAMES with 1000: failed\n", s->label);
    close_all(fds, n);
    /* A fresh server for the big run, so the first one's leftovers do not
     * count against it. */
    server_stop(s);
    if (server_start(s) == -1)
        return -1;
    n = bench_register_many(s->port, 10000, "b", fds, &r->reg10000_sec);
    r->reg10000_taken = n;
    printf("  %-5s register 10000: %d taken in %.3f s\n", s->label, n,
           r->reg10000_sec);
    close_all(fds, n);
    server_stop(s);
    printf("  %-5s RSS idle %ld kB, with 1000 names %ld kB\n", s->label,
           r->rss_idle_kb, r->rss_1000_kb);
    fflush(stdout);
    return 0;
}

static void
usage(void)
{
    fprintf(stderr, "usage: epmd-bench [-o otp-epmd] [-e our-epmd] "
                    "[-p first-port] [-t seconds-per-lookup-run]\n");
    exit(1);
}

int
main(int argc, char **argv)
{
    static int fds[10000];
    struct bench_server ours = {"ours", NULL, 15000, 0};
    struct bench_server otp = {"otp", "/usr/bin/epmd", 15001, 0};
    struct bench_server flo = {"floor", NULL, 15002, 0};
    struct bench_result ro, rt, rf;
    struct rlimit rl;
    char self[PATH_MAX], *slash;
    ssize_t n;
    int ch;

    if ((n = readlink("/proc/self/exe", self, sizeof(self) - 16)) > 0) {
        self[n] = '\0';
        if ((slash = strrchr(self, '/')) != NULL)
            strcpy(slash + 1, "epmd");
        ours.path = self;
    }
    while ((ch = getopt(argc, argv, "o:e:p:t:")) != -1) {
        switch (ch) {
        case 'o':
            otp.path = optarg;
            break;
        case 'e':
            ours.path = optarg;
            break;
        case 'p':
            ours.port = (uint16_t)atoi(optarg);
            otp.port = (uint16_t)(ours.port + 1);
            flo.port = (uint16_t)(ours.port + 2);
            break;
        case 't':
            bench_seconds = atof(optarg);
            break;
        default:
            usage();
        }
    }
    if (ours.path == NULL || bench_seconds <= 0)
        usage();
    signal(SIGPIPE, SIG_IGN);
    /* Room for 10,000 client sockets, in us and in the servers we start. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        printf("epmd-bench: open files limit %llu\n",
               (unsigned long long)rl.rlim_cur);
    }
    printf("epmd-bench: ours %s on %u, otp %s on %u, %.1f s per lookup run\n",
           ours.path, ours.port, otp.path, otp.port, bench_seconds);
    if (bench_one(&ours, &ro, fds) == -1 || bench_one(&otp, &rt, fds) == -1)
        return 1;
    if (bench_floor(&flo, &rf) == -1) {
        fprintf(stderr, "epmd-bench: cannot start the floor server\n");
        return 1;
    }

    printf("\n%-28s %12s %12s %12s\n", "", "ours", "otp", "floor");
    for (int i = 0; i < 3; i++)
        printf("lookups/s, %2d clients       %12.0f %12.0f %12.0f\n",
               bench_clients[i], ro.lookups[i], rt.lookups[i], rf.lookups[i]);
    for (int i = 0; i < 3; i++)
        printf("server CPU us/lookup, %2d cl. %12.1f %12.1f %12.1f\n",
               bench_clients[i], ro.cpu_us[i], rt.cpu_us[i], rf.cpu_us[i]);
    printf("register 1000: taken         %12d %12d\n", ro.reg1000_taken,
           rt.reg1000_taken);
    printf("register 1000: seconds       %12.3f %12.3f\n", ro.reg1000_sec,
           rt.reg1000_sec);
    printf("register 10000: taken        %12d %12d\n", ro.reg10000_taken,
           rt.reg10000_taken);
    printf("register 10000: seconds      %12.3f %12.3f\n", ro.reg10000_sec,
           rt.reg10000_sec);
    printf("NAMES, 1000 names, p50 ms    %12.3f %12.3f\n", ro.names_p50_ms,
           rt.names_p50_ms);
    printf("NAMES, 1000 names, p99 ms    %12.3f %12.3f\n", ro.names_p99_ms,
           rt.names_p99_ms);
    printf("RSS idle, kB                 %12ld %12ld\n", ro.rss_idle_kb,
           rt.rss_idle_kb);
    printf("RSS with 1000 names, kB      %12ld %12ld\n", ro.rss_1000_kb,
           rt.rss_1000_kb);
    printf("epmd-bench: the floor (accept, read, write, close and nothing "
           "else) does lookups64 %.2fx otp: no epmd can do more here\n",
           rt.lookups[2] > 0 ? rf.lookups[2] / rt.lookups[2] : 0.0);
    printf("epmd-bench: lookups64 %.2fx otp, max_nodes %d vs %d, rss1000 "
           "%.2fx otp\n",
           rt.lookups[2] > 0 ? ro.lookups[2] / rt.lookups[2] : 0.0,
           ro.reg10000_taken, rt.reg10000_taken,
           rt.rss_1000_kb > 0 ? (double)ro.rss_1000_kb / rt.rss_1000_kb : 0.0);
    return 0;
}
