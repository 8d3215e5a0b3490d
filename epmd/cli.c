/*
 * The interactive commands -names, -started, -dump, -kill and -stop, with
 * OTP's output text and exit codes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "epmd.h"
#include "fdio.h"
#include "epmd_wire.h"

/* Connect to the local epmd: [::1] first, then 127.0.0.1. */
static int
cli_connect(uint16_t port, int silent)
{
    struct sockaddr_in6 sin6;
    struct sockaddr_in sin;
    int fd;

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    sin6.sin6_port = htons(port);
    if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
        if (connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0)
            return fd;
        close(fd);
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(port);
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
        if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
            return fd;
        close(fd);
    }
    if (!silent)
        fprintf(stderr, "epmd: Cannot connect to local epmd\n");
    return -1;
}

/* Read exactly len bytes: len, 0 at EOF (even after some bytes, as OTP's
 * read_fill does), or -1 on error. */
static ssize_t
cli_read_fill(int fd, char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);

        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return r;
        got += (size_t)r;
    }
    return (ssize_t)len;
}

/* Send a request; on failure print OTP's message. */
static int
cli_send(int fd, const uint8_t *req, size_t len)
{
    if (fd_write_all(fd, req, len) == -1) {
        printf("epmd: Can't write to epmd\n");
        return -1;
    }
    return 0;
}

/* NAMES_REQ or DUMP_REQ: print the header line and the raw reply. */
static int
cli_call(uint16_t port, uint8_t what, int silent)
{
    uint8_t req[3], hdr[4];
    char buf[4096];
    uint32_t rport;
    ssize_t r;
    int fd;

    if ((fd = cli_connect(port, silent)) == -1)
        return 1;
    if (cli_send(fd, req, epmd_wire_simple_req(req, sizeof(req), what))) {
        close(fd);
        return 1;
    }
    if (cli_read_fill(fd, (char *)hdr, sizeof(hdr)) != sizeof(hdr) ||
        epmd_wire_parse_names_header(hdr, sizeof(hdr), &rport, NULL) !=
            EPMD_WIRE_OK) {
        if (!silent)
            printf("epmd: no response from local epmd\n");
        close(fd);
        return 1;
    }
    if (!silent)
        printf("epmd: up and running on port %d with data:\n", (int)rport);
    fflush(stdout);
    for (;;) {
        r = read(fd, buf, sizeof(buf));
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (!silent)
            fwrite(buf, 1, (size_t)r, stdout);
    }
    close(fd);
    return 0;
}

int
cli_names(uint16_t port, int silent)
{
    return cli_call(port, EPMD_NAMES_REQ, silent);
}

int
cli_dump(uint16_t port)
{
    return cli_call(port, EPMD_DUMP_REQ, 0);
}

/* Connect, send req and read exactly want bytes of answer into buf:
 * returns want, 0 (EOF), -1 (read error), or -2 if the request could not
 * be sent (already reported). */
static ssize_t
cli_exchange(uint16_t port, const uint8_t *req, size_t len, char *buf,
             size_t want)
{
    ssize_t r;
    int fd;

    if ((fd = cli_connect(port, 0)) == -1)
        return -2;
    if (cli_send(fd, req, len)) {
        close(fd);
        return -2;
    }
    r = cli_read_fill(fd, buf, want);
    close(fd);
    return r;
}

/* Report an answer that did not come whole, as OTP words it. */
static int
cli_bad_answer(ssize_t r, char *buf)
{
    if (r == -2)
        return 1;
    if (r < 0) {
        printf("epmd: failed to read answer from local epmd\n");
        return 1;
    }
    buf[r] = '\0';
    printf("epmd: local epmd responded with <%s>\n", buf);
    return 1;
}

int
cli_kill(uint16_t port)
{
    uint8_t req[3];
    char buf[3];
    ssize_t r;

    r = cli_exchange(port, req,
                     epmd_wire_simple_req(req, sizeof(req), EPMD_KILL_REQ), buf,
                     2);
    if (r != 2)
        return cli_bad_answer(r, buf);
    if (memcmp(buf, EPMD_KILL_OK, 2) == 0) {
        printf("Killed\n");
        return 0;
    }
    printf("Killing not allowed - living nodes in database.\n");
    return 1;
}

int
cli_stop(uint16_t port, const char *name)
{
    uint8_t req[3 + EPMD_STOP_NAME_MAX];
    char buf[8];
    size_t nlen = strlen(name);
    ssize_t r;

    if (nlen > EPMD_STOP_NAME_MAX) {
        printf("epmd: Name too long!");
        return 1;
    }
    r = cli_exchange(
        port, req,
        epmd_wire_stop_req(req, sizeof(req), (const uint8_t *)name, nlen), buf,
        7);
    if (r != 7)
        return cli_bad_answer(r, buf);
    buf[7] = '\0';
    printf("%s\n", buf);
    return 0;
}
