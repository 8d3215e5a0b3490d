/*
 * Blocking socket helpers for the command-line clients and the benches.
 */
#ifndef COMMON_FDIO_H
#define COMMON_FDIO_H

#include <stddef.h>
#include <stdint.h>

/* Write all of buf to a blocking fd, retrying on EINTR; 0 or -1. */
int fd_write_all(int fd, const void *buf, size_t len);
/* A blocking TCP connection to 127.0.0.1:port with TCP_NODELAY set, or
 * -1 with errno. */
int fd_connect_loopback(uint16_t port);

#endif
