/*
 * Socket address helpers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "num.h"

int
addr_parse_ip(const char *s, uint16_t port, struct sockaddr_storage *ss,
              socklen_t *sslen)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        *sslen = sizeof(*sin6);
        return 0;
    }
    if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        *sslen = sizeof(*sin);
        return 0;
    }
    return -1;
}

int
addr_parse_port(const char *s, uint16_t *port)
{
    long long v;

    if (num_parse(s, 1, 65535, &v) == -1)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int
addr_parse_hostport(const char *s, struct sockaddr_storage *ss,
                    socklen_t *sslen)
{
    char host[ADDR_STRLEN];
    const char *colon, *portstr;
    size_t hlen;
    uint16_t port;

    if (addr_parse_port(s, &port) == 0)
        return addr_parse_ip("0.0.0.0", port, ss, sslen);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':')
            return -1;
        hlen = (size_t)(close - s - 1);
        memcpy(host, s + 1, hlen < sizeof(host) ? hlen : 0);
        portstr = close + 2;
    } else {
        if ((colon = strrchr(s, ':')) == NULL)
            return -1;
        hlen = (size_t)(colon - s);
        memcpy(host, s, hlen < sizeof(host) ? hlen : 0);
        portstr = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof(host))
        return -1;
    host[hlen] = '\0';
    if (addr_parse_port(portstr, &port) == -1)
        return -1;
    if (s[0] != '[' && strchr(host, ':') != NULL)
        return -1; /* IPv6 needs brackets when a port follows */
    return addr_parse_ip(host, port, ss, sslen);
}

char *
addr_fmt_ip(const struct sockaddr *sa, char *buf, size_t len)
{
    const void *a;

    if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    else if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else {
        snprintf(buf, len, "(family %d)", sa->sa_family);
        return buf;
    }
    if (inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "(unprintable)");
    return buf;
}

char *
addr_fmt(const struct sockaddr *sa, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN + 16];
    unsigned port;

    addr_fmt_ip(sa, ip, sizeof(ip));
    if (sa->sa_family == AF_INET6) {
        port =
            ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
        snprintf(buf, len, "[%s]:%u", ip, port);
    } else if (sa->sa_family == AF_INET) {
        port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
        snprintf(buf, len, "%s:%u", ip, port);
    } else
        snprintf(buf, len, "%s", ip);
    return buf;
}

int
addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const void *)sa;

        return (ntohl(sin->sin_addr.s_addr) & 0xff000000U) == 0x7f000000U;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const void *)sa;
        const uint8_t *b = sin6->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127;
    }
    return 0;
}

int
addr_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return memcmp(
                   &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
                   &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
                   sizeof(struct in6_addr)) == 0;
    return 0;
}
