/*
 * OpenBSD-style logging: stderr in the foreground, syslog once daemonized.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* Start logging as progname; foreground selects stderr over syslog. */
void log_init(const char *progname, int foreground, int facility);
/* Switch between stderr (foreground != 0) and syslog. */
void log_setforeground(int foreground);
/* Set the debug verbosity: log_debug prints at >= 1, log_trace at >= 2. */
void log_setverbose(int verbose);
int log_getverbose(void);

/* Log a warning followed by ": strerror(errno)". */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log a warning. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log an informational message. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at verbosity 1 and above. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at verbosity 2 and above. */
void log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log with strerror(errno) and exit 1. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Log and exit 1. */
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Log at a syslog priority; the building block of the others. */
void vlog(int pri, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Escape len bytes of peer-supplied data into out (always NUL-terminated,
 * truncated with "..." if outlen is too small): printable ASCII is kept,
 * '\\' and '"' are backslash-escaped, anything else becomes \xHH. Returns out.
 */
char *log_escape(const void *in, size_t len, char *out, size_t outlen);

/* Size of an out buffer that holds any escaped name of up to n bytes. */
#define LOG_ESCAPE_SIZE(n) ((n)*4 + 1)

#endif
