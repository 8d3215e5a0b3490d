/*
 * Socket address parsing and printing.
 */
#ifndef COMMON_ADDR_H
#define COMMON_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text addr_fmt writes: "[" IPv6 "]:" port, NUL. */
#define ADDR_STRLEN 64

/*
 * Parse a numeric IP address, trying IPv6 first and then IPv4, into ss with
 * the given port. Returns 0, or -1 if s is not an address.
 */
int addr_parse_ip(const char *s, uint16_t port, struct sockaddr_storage *ss,
                  socklen_t *sslen);

/*
 * Parse "PORT", "IPv4:PORT" or "[IPv6]:PORT" (a bare port means all IPv4
 * interfaces). Returns 0, or -1 with nothing parsed.
 */
int addr_parse_hostport(const char *s, struct sockaddr_storage *ss,
                        socklen_t *sslen);

/* Parse a decimal port 1..65535 with nothing after it. Returns 0 or -1. */
int addr_parse_port(const char *s, uint16_t *port);

/* Print "a.b.c.d:port" or "[v6]:port" into buf; returns buf. */
char *addr_fmt(const struct sockaddr *sa, char *buf, size_t len);

/* Print the address without the port; returns buf. */
char *addr_fmt_ip(const struct sockaddr *sa, char *buf, size_t len);

/* True for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8. */
int addr_is_loopback(const struct sockaddr *sa);

/* True if both hold the same IP address (ports are ignored). */
int addr_same_ip(const struct sockaddr *a, const struct sockaddr *b);

#endif
