/*
 * etf: convert one Erlang term between the External Term Format, Erlang
 * text and JSON, from stdin to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etf.h"

/* Refuse inputs beyond this many bytes rather than grow without bound. */
#define MAX_INPUT (256u * 1024 * 1024)

enum form { F_ETF, F_TEXT, F_PRETTY, F_JSON, F_JSON_PLAIN };

static void
usage(FILE *f)
{
    fprintf(f, "usage: etf --from etf|text|json|json-plain\n"
               "           --to etf|text|pretty|json|json-plain\n"
               "           [--minor-version 0|1|2] [--compress 0-9]\n"
               "           [--pretty-json]\n"
               "Reads one term on stdin and writes it on stdout.\n"
               "  text    Erlang syntax, as io_lib:format(\"~~w\") prints it\n"
               "  pretty  as io_lib:format(\"~~tp\") prints it, on one line\n"
               "  json    the typed, lossless JSON form\n"
               "  json-plain  OTP 27 json module semantics (lossy)\n");
}

static int
parse_form(const char *s, bool input, enum form *f)
{
    if (strcmp(s, "etf") == 0)
        *f = F_ETF;
    else if (strcmp(s, "text") == 0)
        *f = F_TEXT;
    else if (strcmp(s, "pretty") == 0 && !input)
        *f = F_PRETTY;
    else if (strcmp(s, "json") == 0)
        *f = F_JSON;
    else if (strcmp(s, "json-plain") == 0)
        *f = F_JSON_PLAIN;
    else
        return -1;
    return 0;
}

/* Read all of stdin into a malloc'd buffer. */
static char *
read_all(size_t *len)
{
    size_t cap = 65536, n = 0, got;
    char *buf = malloc(cap + 1), *nb;

    if (buf == NULL)
        return NULL;
    while ((got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            if (cap >= MAX_INPUT) {
                fprintf(stderr, "etf: input larger than %u bytes\n", MAX_INPUT);
                free(buf);
                return NULL;
            }
            cap *= 2;
            if ((nb = realloc(buf, cap + 1)) == NULL) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
    }
    if (ferror(stdin)) {
        fprintf(stderr, "etf: reading stdin: %s\n", strerror(errno));
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int
bad_input(const char *what, const etf_error *err)
{
    fprintf(stderr, "etf: bad %s input at byte %zu: %s (%s)\n", what, err->pos,
            err->msg, etf_strerror(err->code));
    return 1;
}

/* Parse a small non-negative number option within [lo, hi]. */
static int
number_opt(const char *s, long lo, long hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"minor-version", required_argument, NULL, 'm'},
        {"compress", required_argument, NULL, 'c'},
        {"pretty-json", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum form from = F_ETF, to = F_TEXT;
    etf_encode_opts eo = {0};
    etf_decode_opts dopt = {.exact = true};
    etf_error err = {0};
    etf_arena *a;
    etf_term *t = NULL;
    char *in, *out;
    uint8_t *bin;
    size_t len, outlen;
    bool pretty_json = false;
    int c, minor = 1, rc = 0;

    while ((c = getopt_long(argc, argv, "f:t:m:c:ph", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (parse_form(optarg, true, &from) < 0) {
                fprintf(stderr, "etf: unknown input form '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            if (parse_form(optarg, false, &to) < 0) {
                fprintf(stderr, "etf: unknown output form '%s'\n", optarg);
                return 2;
            }
            break;
        case 'm':
            if (number_opt(optarg, 0, 2, &minor) < 0) {
                fprintf(stderr, "etf: --minor-version takes 0, 1 or 2\n");
                return 2;
            }
            break;
        case 'c':
            if (number_opt(optarg, 0, 9, &eo.compress) < 0) {
                fprintf(stderr, "etf: --compress takes 0 to 9\n");
                return 2;
            }
            break;
        case 'p':
            pretty_json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    eo.utf8_atoms = minor == 2;
    eo.text_floats = minor == 0;

    if ((in = read_all(&len)) == NULL || (a = etf_arena_new()) == NULL) {
        fprintf(stderr, "etf: out of memory\n");
        return 1;
    }
    switch (from) {
    case F_ETF:
        t = etf_decode(a, in, len, &dopt, NULL, &err);
        break;
    case F_TEXT:
        t = etf_parse(a, in, len, &err);
        break;
    case F_JSON:
    case F_JSON_PLAIN:
        t = etf_from_json_text(
            a, in, len, from == F_JSON ? ETF_JSON_TYPED : ETF_JSON_PLAIN, &err);
        break;
    default:
        break;
    }
    if (t == NULL) {
        rc = bad_input(from == F_ETF    ? "ETF"
                       : from == F_TEXT ? "text"
                                        : "JSON",
                       &err);
        goto done;
    }
    switch (to) {
    case F_ETF:
        if ((bin = etf_encode_alloc(t, &eo, &outlen, &err)) == NULL) {
            fprintf(stderr, "etf: cannot encode: %s\n", err.msg);
            rc = 1;
            break;
        }
        if (fwrite(bin, 1, outlen, stdout) != outlen)
            rc = 1;
        free(bin);
        break;
    case F_TEXT:
    case F_PRETTY:
        out = etf_format(t, to == F_TEXT ? ETF_TEXT_W : ETF_TEXT_TP, &outlen);
        if (out == NULL) {
            fprintf(stderr, "etf: out of memory\n");
            rc = 1;
            break;
        }
        fwrite(out, 1, outlen, stdout);
        putchar('\n');
        free(out);
        break;
    case F_JSON:
    case F_JSON_PLAIN:
        out =
            etf_to_json_text(t, to == F_JSON ? ETF_JSON_TYPED : ETF_JSON_PLAIN,
                             pretty_json, &err);
        if (out == NULL) {
            fprintf(stderr, "etf: cannot write JSON: %s\n", err.msg);
            rc = 1;
            break;
        }
        puts(out);
        free(out);
        break;
    }
    if (fflush(stdout) != 0)
        rc = 1;
done:
    etf_arena_free(a);
    free(in);
    return rc;
}
