/*
 * bridge-bench: load for the HTTP bridge of distgw serve from a second
 * process. C keep-alive connections each send POST PATH with a JSON body,
 * wait for the whole reply and send the next, for a fixed time after a
 * warm-up; one thread, poll(2). Prints the requests answered per second
 * and the latency percentiles, counting any status but the expected one
 * as an error, and as the last line:
 *   bridge-bench: send R req/s, p99 L ms
 * usage: bridge-bench -p PORT -b BODY [-P PATH] [-c CONNS] [-d SECONDS]
 *                     [-w WARMUP] [-s STATUS] [-q]
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"

#define BENCH_MAX_CONNS 1024
#define BENCH_REPLY_MAX 65536 /* a reply larger than this is an error */

struct client {
    int fd;
    double sent_at;
    size_t got;
    char buf[BENCH_REPLY_MAX];
};

struct run {
    double *lat; /* milliseconds, one per answered request */
    size_t nlat, caplat;
    unsigned long bad_status;
    unsigned long total_ok; /* every reply with the status, warm-up too */
};

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The length of a whole reply at the start of buf (status in *status),
 * 0 if more bytes are needed, -1 if it cannot be read. */
static long
reply_length(const char *buf, size_t got, int *status)
{
    const char *end = NULL, *p;
    long body = 0;
    size_t k;

    for (k = 0; k + 4 <= got; k++)
        if (memcmp(buf + k, "\r\n\r\n", 4) == 0) {
            end = buf + k;
            break;
        }
    if (end == NULL)
        return got >= BENCH_REPLY_MAX ? -1 : 0;
    if (got < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0)
        return -1;
    *status = atoi(buf + 9);
    for (p = buf; p < end; p++) {
        if ((p == buf || p[-1] == '\n') &&
            strncasecmp(p, "Content-Length:", 15) == 0) {
            body = strtol(p + 15, NULL, 10);
            break;
        }
    }
    if (body < 0 || (size_t)(end - buf) + 4 + (size_t)body > BENCH_REPLY_MAX)
        return -1;
    if ((size_t)(end - buf) + 4 + (size_t)body > got)
        return 0;
    return (long)((end - buf) + 4 + body);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double
percentile(const double *sorted, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static void
record(struct run *r, double ms)
{
    if (r->nlat == r->caplat) {
        r->caplat = r->caplat ? r->caplat * 2 : 65536;
        if ((r->lat = realloc(r->lat, r->caplat * sizeof(double))) == NULL) {
            perror("bridge-bench");
            exit(1);
        }
    }
    r->lat[r->nlat++] = ms;
}

static void
usage(void)
{
    fprintf(stderr, "usage: bridge-bench -p PORT -b BODY [-P PATH] "
                    "[-c CONNS] [-d SECONDS] [-w WARMUP] [-s STATUS] [-q]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *path = "/send", *body = NULL;
    long port = 0, conns = 16, expect = 202;
    double seconds = 10, warmup = 2, t0, t_end, t_measure, t, elapsed;
    double mean = 0;
    size_t k;
    bool quiet = false;
    struct client *cl;
    struct pollfd *pfd;
    struct run r = {0};
    char *req;
    size_t reqlen;
    long i, len;
    int opt, status, n;
    ssize_t got;

    while ((opt = getopt(argc, argv, "p:b:P:c:d:w:s:q")) != -1) {
        switch (opt) {
        case 'p':
            port = strtol(optarg, NULL, 10);
            break;
        case 'b':
            body = optarg;
            break;
        case 'P':
            path = optarg;
            break;
        case 'c':
            conns = strtol(optarg, NULL, 10);
            break;
        case 'd':
            seconds = strtod(optarg, NULL);
            break;
        case 'w':
            warmup = strtod(optarg, NULL);
            break;
        case 's':
            expect = strtol(optarg, NULL, 10);
            break;
        case 'q':
            quiet = true;
            break;
        default:
            usage();
        }
    }
    if (port < 1 || port > 65535 || body == NULL || conns < 1 ||
        conns > BENCH_MAX_CONNS || seconds <= 0 || warmup < 0)
        usage();
    reqlen = strlen(path) + strlen(body) + 200;
    req = malloc(reqlen);
    cl = calloc((size_t)conns, sizeof(*cl));
    pfd = calloc((size_t)conns, sizeof(*pfd));
    if (req == NULL || cl == NULL || pfd == NULL) {
        perror("bridge-bench");
        return 1;
    }
    reqlen = (size_t)snprintf(req, reqlen,
                              "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Content-Type: application/json\r\n"
                              "Content-Length: %zu\r\n\r\n%s",
                              path, strlen(body), body);

    t0 = now_ms();
    t_measure = t0 + warmup * 1e3;
    t_end = t_measure + seconds * 1e3;
    for (i = 0; i < conns; i++) {
        if ((cl[i].fd = fd_connect_loopback((uint16_t)port)) < 0) {
            fprintf(stderr, "bridge-bench: cannot connect to port %ld: %s\n",
                    port, strerror(errno));
            return 1;
        }
        cl[i].sent_at = now_ms();
        if (fd_write_all(cl[i].fd, req, reqlen) < 0) {
            perror("bridge-bench: write");
            return 1;
        }
        pfd[i].fd = cl[i].fd;
        pfd[i].events = POLLIN;
    }
    while ((t = now_ms()) < t_end) {
        n = poll(pfd, (nfds_t)conns, 100);
        if (n < 0 && errno != EINTR) {
            perror("bridge-bench: poll");
            return 1;
        }
        for (i = 0; i < conns && n > 0; i++) {
            if (pfd[i].revents == 0)
                continue;
            got = read(cl[i].fd, cl[i].buf + cl[i].got,
                       BENCH_REPLY_MAX - cl[i].got);
            if (got <= 0) {
                fprintf(stderr, "bridge-bench: connection %ld closed\n", i);
                return 1;
            }
            cl[i].got += (size_t)got;
            while ((len = reply_length(cl[i].buf, cl[i].got, &status)) != 0) {
                if (len < 0) {
                    fprintf(stderr, "bridge-bench: unreadable reply\n");
                    return 1;
                }
                t = now_ms();
                if (status == expect)
                    r.total_ok++;
                if (cl[i].sent_at >= t_measure && t <= t_end) {
                    if (status == expect)
                        record(&r, t - cl[i].sent_at);
                    else
                        r.bad_status++;
                }
                memmove(cl[i].buf, cl[i].buf + len, cl[i].got - (size_t)len);
                cl[i].got -= (size_t)len;
                cl[i].sent_at = t;
                if (fd_write_all(cl[i].fd, req, reqlen) < 0) {
                    perror("bridge-bench: write");
                    return 1;
                }
            }
        }
    }
    /* Take the replies still on their way, so that every request the
     * gateway answered is counted in total_ok; send nothing more. */
    for (i = 0; i < conns; i++) {
        while (reply_length(cl[i].buf, cl[i].got, &status) == 0) {
            struct pollfd one = {.fd = cl[i].fd, .events = POLLIN};

            if (poll(&one, 1, 5000) <= 0 ||
                (got = read(cl[i].fd, cl[i].buf + cl[i].got,
                            BENCH_REPLY_MAX - cl[i].got)) <= 0) {
                fprintf(stderr, "bridge-bench: no reply at the end\n");
                return 1;
            }
            cl[i].got += (size_t)got;
        }
        if (reply_length(cl[i].buf, cl[i].got, &status) > 0 && status == expect)
            r.total_ok++;
    }
    elapsed = seconds;
    for (k = 0; k < r.nlat; k++)
        mean += r.lat[k];
    mean = r.nlat ? mean / (double)r.nlat : 0;
    qsort(r.lat, r.nlat, sizeof(double), cmp_double);
    if (!quiet) {
        printf("bridge-bench: POST %s, %ld connections, %.0f s after %.0f s "
               "warm-up\n",
               path, conns, seconds, warmup);
        printf("bridge-bench: %zu answered %ld in the measured time (%lu in "
               "all), %lu other statuses\n",
               r.nlat, expect, r.total_ok, r.bad_status);
        printf("bridge-bench: latency mean %.3f ms, p50 %.3f ms, p90 %.3f ms, "
               "p99 %.3f ms, max %.3f ms\n",
               mean, percentile(r.lat, r.nlat, 50),
               percentile(r.lat, r.nlat, 90), percentile(r.lat, r.nlat, 99),
               r.nlat ? r.lat[r.nlat - 1] : 0.0);
        printf("bridge-bench: send %.0f req/s, p99 %.2f ms\n",
               (double)r.nlat / elapsed, percentile(r.lat, r.nlat, 99));
    } else {
        printf("bridge-bench: %ld connections: %.0f req/s, mean %.3f ms, p50 "
               "%.3f ms, p99 %.3f ms, %lu other statuses, %lu answered %ld in "
               "all\n",
               conns, (double)r.nlat / elapsed, mean,
               percentile(r.lat, r.nlat, 50), percentile(r.lat, r.nlat, 99),
               r.bad_status, r.total_ok, expect);
    }
    fflush(stdout);
    for (i = 0; i < conns; i++)
        close(cl[i].fd);
    free(r.lat);
    free(cl);
    free(pfd);
    free(req);
    return r.bad_status > 0 ? 1 : 0;
}
