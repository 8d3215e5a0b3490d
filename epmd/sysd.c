/*
 * systemd socket activation (LISTEN_PID, LISTEN_FDS) and readiness
 * (NOTIFY_SOCKET), done by hand so that epmd needs no libsystemd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "epmd.h"
#include "log.h"
#include "num.h"

/* The first passed descriptor (sd_listen_fds(3): SD_LISTEN_FDS_START). */
#define SYSD_LISTEN_FDS_START 3

/* Parse a non-negative decimal number; -1 if s is not one. */
static long
sysd_number(const char *s)
{
    long long v;

    return num_parse(s, 0, INT32_MAX, &v) == 0 ? (long)v : -1;
}

int
sysd_listen_fds(int *fds, int max)
{
    long pid = sysd_number(getenv("LISTEN_PID"));
    long n = sysd_number(getenv("LISTEN_FDS"));

    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (pid != (long)getpid() || n <= 0)
        return 0;
    if (n > max)
        return -1;
    for (long i = 0; i < n; i++) {
        fds[i] = SYSD_LISTEN_FDS_START + (int)i;
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    return (int)n;
}

int
sysd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun;
    socklen_t len;
    size_t plen;
    int fd;
    ssize_t w;

    if (path == NULL || *path == '\0')
        return 0;
    plen = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path)) {
        log_warnx("NOTIFY_SOCKET \"%s\" is not a socket path", path);
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, plen);
    if (path[0] == '@')
        sun.sun_path[0] = '\0'; /* abstract namespace */
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
        log_warn("notify: socket");
        return -1;
    }
    w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun,
               len);
    close(fd);
    if (w == -1) {
        log_warn("notify: sendto %s", path);
        return -1;
    }
    return 0;
}
