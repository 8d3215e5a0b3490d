/*
 * Logging to stderr or syslog.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static const char *log_progname = "log";
static int log_foreground = 1;
static int log_verbose;

void
log_init(const char *progname, int foreground, int facility)
{
    log_progname = progname;
    log_foreground = foreground;
    if (!foreground)
        openlog(progname, LOG_PID | LOG_NDELAY, facility);
    tzset();
}

void
log_setforeground(int foreground)
{
    if (!foreground && log_foreground)
        openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    log_foreground = foreground;
}

void
log_setverbose(int verbose)
{
    log_verbose = verbose;
}

int
log_getverbose(void)
{
    return log_verbose;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
    char msg[2048];
    char stamp[64];
    time_t now;
    struct tm tm;
    int saved = errno;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_foreground) {
        now = time(NULL);
        if (localtime_r(&now, &tm) == NULL ||
            strftime(stamp, sizeof(stamp), "%a %b %e %H:%M:%S %Y", &tm) == 0)
            stamp[0] = '\0';
        fprintf(stderr, "%s: %s: %s\n", log_progname, stamp, msg);
        fflush(stderr);
    } else
        syslog(pri, "%s", msg);
    errno = saved;
}

/* Log at a priority with a variable argument list. */
static void log_at(int pri, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_at(int pri, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(pri, fmt, ap);
    va_end(ap);
}

/* Log fmt with ": strerror(e)" appended. */
static void log_errno(int pri, int e, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_errno(int pri, int e, const char *fmt, va_list ap)
{
    char buf[2048];

    vsnprintf(buf, sizeof(buf), fmt, ap);
    /* A wrapper with a literal format keeps -Wformat-nonliteral quiet. */
    log_at(pri, "%s: %s", buf, strerror(e));
}

void
log_warn(const char *fmt, ...)
{
    va_list ap;
    int e = errno;

    va_start(ap, fmt);
    log_errno(LOG_WARNING, e, fmt, ap);
    va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_WARNING, fmt, ap);
    va_end(ap);
}

void
log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_INFO, fmt, ap);
    va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
    va_list ap;

    if (log_verbose < 1)
        return;
    va_start(ap, fmt);
    vlog(LOG_DEBUG, fmt, ap);
    va_end(ap);
}

void
log_trace(const char *fmt, ...)
{
    va_list ap;

    if (log_verbose < 2)
        return;
    va_start(ap, fmt);
    vlog(LOG_DEBUG, fmt, ap);
    va_end(ap);
}

void
fatal(const char *fmt, ...)
{
    va_list ap;
    int e = errno;

    va_start(ap, fmt);
    log_errno(LOG_CRIT, e, fmt, ap);
    va_end(ap);
    exit(1);
}

void
fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_CRIT, fmt, ap);
    va_end(ap);
    exit(1);
}

char *
log_escape(const void *in, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = in;
    size_t i, o = 0, need;
    char tmp[5];

    if (outlen == 0)
        return out;
    for (i = 0; i < len; i++) {
        unsigned char c = p[i];

        if (c == '\\' || c == '"') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            need = 2;
        } else if (c >= 0x20 && c < 0x7f) {
            tmp[0] = (char)c;
            need = 1;
        } else {
            tmp[0] = '\\';
            tmp[1] = 'x';
            tmp[2] = hex[c >> 4];
            tmp[3] = hex[c & 0xf];
            need = 4;
        }
        if (o + need + 1 > outlen) {
            /* Mark the truncation where there is room for it. */
            if (outlen >= 4) {
                o = o + 4 > outlen ? outlen - 4 : o;
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(out + o, tmp, need);
        o += need;
    }
    out[o] = '\0';
    return out;
}
