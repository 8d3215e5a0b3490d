/*
 * Node names and cookies, found and checked as erl does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "options.h"

static bool
alive_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 255)
        return false;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static bool
host_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 255)
        return false;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' ||
              ch == ':'))
            return false;
    }
    return true;
}

int
opt_node_name(const char *arg, bool longnames, char *out, size_t outlen,
              char *why, size_t whylen)
{
    const char *at = strchr(arg, '@');
    char host[256];
    size_t alen = at ? (size_t)(at - arg) : strlen(arg);

    if (!alive_ok(arg, alen)) {
        snprintf(why, whylen,
                 "invalid node name '%s': the part before '@' must be "
                 "1-255 letters, digits, '_' or '-'",
                 arg);
        return -1;
    }
    if (at != NULL) {
        snprintf(host, sizeof(host), "%s", at + 1);
    } else if (gethostname(host, sizeof(host)) < 0) {
        snprintf(why, whylen, "cannot find this host's name: %s",
                 strerror(errno));
        return -1;
    }
    host[sizeof(host) - 1] = '\0';
    if (!longnames) {
        /* A short name is the host's first label. */
        if (at == NULL)
            host[strcspn(host, ".")] = '\0';
        else if (strchr(host, '.') != NULL) {
            snprintf(why, whylen,
                     "Can't set short node name '%s': the host part has a "
                     "dot; use -name for fully qualified hosts",
                     arg);
            return -1;
        }
    } else if (strchr(host, '.') == NULL && strchr(host, ':') == NULL) {
        snprintf(why, whylen,
                 "Can't set long node name '%s': the host '%s' is not fully "
                 "qualified; give -name %.*s@host.domain (or an IP address), "
                 "or use -sname",
                 arg, host, (int)alen, arg);
        return -1;
    }
    if (!host_ok(host)) {
        snprintf(why, whylen, "invalid host part '%s' in node name", host);
        return -1;
    }
    if ((size_t)snprintf(out, outlen, "%.*s@%s", (int)alen, arg, host) >=
        outlen) {
        snprintf(why, whylen, "node name too long");
        return -1;
    }
    return 0;
}

/* Read a cookie file: the first line, which must be owner-only. */
static int
read_cookie_file(const char *path, char *out, size_t outlen, char *why,
                 size_t whylen)
{
    struct stat st;
    FILE *f;
    size_t n;

    if ((f = fopen(path, "r")) == NULL) {
        snprintf(why, whylen, "cannot read cookie file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
        snprintf(why, whylen, "cookie file %s must be accessible by owner only",
                 path);
        fclose(f);
        return -1;
    }
    if (fgets(out, (int)outlen, f) == NULL)
        out[0] = '\0';
    fclose(f);
    n = strcspn(out, "\r\n");
    out[n] = '\0';
    while (n > 0 && out[n - 1] == ' ')
        out[--n] = '\0';
    if (n == 0) {
        snprintf(why, whylen, "cookie file %s is empty", path);
        return -1;
    }
    return 0;
}

/* Create ~/.erlang.cookie with 20 random capitals, mode 0400. */
static int
create_cookie_file(const char *path, char *out, size_t outlen, char *why,
                   size_t whylen)
{
    unsigned char rnd[20];
    int fd, i;

    if (outlen < 21 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(why, whylen, "cannot make a random cookie");
        return -1;
    }
    for (i = 0; i < 20; i++)
        out[i] = (char)('A' + rnd[i] % 26);
    out[20] = '\0';
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0400);
    if (fd < 0 || write(fd, out, 20) != 20) {
        snprintf(why, whylen, "cannot create cookie file %s: %s", path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int
opt_cookie(const char *flag, char *out, size_t outlen, char *why, size_t whylen)
{
    const char *env, *home;
    char path[PATH_MAX];

    if (flag != NULL || (env = getenv("ERLANG_COOKIE")) != NULL) {
        const char *c = flag != NULL ? flag : getenv("ERLANG_COOKIE");

        if (strlen(c) == 0 || strlen(c) >= outlen) {
            snprintf(why, whylen, "the cookie must be 1 to %zu bytes",
                     outlen - 1);
            return -1;
        }
        strcpy(out, c);
        return 0;
    }
    if ((env = getenv("ERLANG_COOKIE_FILE")) != NULL)
        return read_cookie_file(env, out, outlen, why, whylen);
    if ((home = getenv("HOME")) == NULL) {
        snprintf(why, whylen, "no cookie given and HOME is not set");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/.erlang.cookie", home);
    if (access(path, F_OK) != 0)
        return create_cookie_file(path, out, outlen, why, whylen);
    return read_cookie_file(path, out, outlen, why, whylen);
}

int
opt_port_range(const char *s, unsigned *min, unsigned *max)
{
    char *end;
    unsigned long a, b;

    errno = 0;
    a = strtoul(s, &end, 10);
    if (errno || end == s || a < 1 || a > 65535)
        return -1;
    if (*end == '\0') {
        *min = *max = (unsigned)a;
        return 0;
    }
    if (*end != '-')
        return -1;
    s = end + 1;
    b = strtoul(s, &end, 10);
    if (errno || end == s || *end != '\0' || b < a || b > 65535)
        return -1;
    *min = (unsigned)a;
    *max = (unsigned)b;
    return 0;
}
