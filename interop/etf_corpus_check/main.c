/*
 * etf-corpus-check: run libetf over the corpus that
 * interop/lib/etf_corpus.escript wrote, in one process, and write what it
 * makes of each input into an output directory for the escript to compare
 * with OTP:
 *
 *   OUT/decode.txt          "NNNNN ok USED" or "NNNNN err CODE POS MSG"
 *   OUT/re/NNNNN.etf        our re-encoding, with the term's options
 *   OUT/w/NNNNN.txt         our ~w text
 *   OUT/json/NNNNN.etf      typed JSON text and back, re-encoded
 *   OUT/parse/NNNNN.etf     our parse of DIR/parse/NNNNN.txt, encoded
 *   OUT/bad.txt             "ID o" or "ID x CODE" per malformed case
 *   OUT/trunc.txt           "NNNNN VERDICTS" per truncated term
 *
 * A step that fails writes NNNNN.err with libetf's message instead. Every
 * input is copied into a buffer of exactly its length, so a sanitizer build
 * catches any read past the end.
 *
 * usage: etf-corpus-check CORPUS_DIR OUT_DIR
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <etf.h>

struct counts {
    unsigned terms, decoded, encoded, printed, json, snippets, parsed;
    unsigned bad, bad_accepted, cuts, cuts_accepted;
};

static const char *corpus_dir;
static const char *out_dir;

static void die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("etf-corpus-check: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

/* Copy len bytes into a heap buffer of exactly len bytes. */
static uint8_t *
exact_copy(const void *p, size_t len)
{
    uint8_t *b = xmalloc(len);

    if (len > 0)
        memcpy(b, p, len);
    return b;
}

/* Read a whole file; NULL if it cannot be opened. */
static uint8_t *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        die("%s: cannot seek", path);
    buf = xmalloc((size_t)n);
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
        die("%s: short read", path);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void
write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    if (len > 0 && fwrite(p, 1, len, f) != len)
        die("%s: short write", path);
    if (fclose(f) != 0)
        die("%s: %s", path, strerror(errno));
}

static void
out_path(char *path, size_t size, const char *sub, const char *id,
         const char *ext)
{
    if ((size_t)snprintf(path, size, "%s/%s/%s%s", out_dir, sub, id, ext) >=
        size)
        die("path too long");
}

static void
write_out(const char *sub, const char *id, const char *ext, const void *p,
          size_t len)
{
    char path[4096];

    out_path(path, sizeof(path), sub, id, ext);
    write_file(path, p, len);
}

/* Write NNNNN.err with the step and libetf's error. */
static void
write_err(const char *sub, const char *id, const char *step,
          const etf_error *err)
{
    char msg[512];
    int n;

    n = snprintf(msg, sizeof(msg), "%s: %s at byte %zu: %s\n", step,
                 etf_strerror(err->code), err->pos, err->msg);
    write_out(sub, id, ".err", msg, (size_t)n);
}

static void
make_dir(const char *sub)
{
    char path[4096];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", out_dir, sub) >=
        sizeof(path))
        die("path too long");
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        die("%s: %s", path, strerror(errno));
}

/* Encode t into a malloc'd buffer; NULL and err on failure. */
static uint8_t *
encode(const etf_term *t, const etf_encode_opts *eo, size_t *len,
       etf_error *err)
{
    return etf_encode_alloc(t, eo, len, err);
}

/* Decode, re-encode, print and round-trip one term of the corpus. */
static void
check_term(etf_arena *a, FILE *dec, const char *id, int minor, int level,
           struct counts *c)
{
    char path[4096];
    etf_decode_opts o = {.exact = true};
    etf_encode_opts eo = {
        .utf8_atoms = minor == 2, .text_floats = minor == 0, .compress = level};
    etf_error err = {0};
    uint8_t *file, *buf, *bytes;
    etf_term *t, *back;
    size_t len, used = 0, n;
    char *text;

    snprintf(path, sizeof(path), "%s/terms/%s.etf", corpus_dir, id);
    if ((file = read_file(path, &len)) == NULL)
        die("%s: %s", path, strerror(errno));
    buf = exact_copy(file, len);
    free(file);
    c->terms++;
    etf_arena_reset(a);
    t = etf_decode(a, buf, len, &o, &used, &err);
    if (t == NULL) {
        fprintf(dec, "%s err %s %zu %s\n", id, etf_strerror(err.code), err.pos,
                err.msg);
        write_err("re", id, "decode", &err);
        write_err("w", id, "decode", &err);
        write_err("json", id, "decode", &err);
        free(buf);
        return;
    }
    c->decoded++;
    fprintf(dec, "%s ok %zu\n", id, used);
    free(buf);

    if ((bytes = encode(t, &eo, &n, &err)) != NULL) {
        write_out("re", id, ".etf", bytes, n);
        free(bytes);
        c->encoded++;
    } else
        write_err("re", id, "encode", &err);

    if ((text = etf_format(t, ETF_TEXT_W, &n)) != NULL) {
        write_out("w", id, ".txt", text, n);
        free(text);
        c->printed++;
    } else {
        err.code = ETF_E_NOMEM;
        err.pos = 0;
        snprintf(err.msg, sizeof(err.msg), "etf_format returned NULL");
        write_err("w", id, "format", &err);
    }

    text = etf_to_json_text(t, ETF_JSON_TYPED, false, &err);
    if (text == NULL && err.code == ETF_E_DEPTH) {
        /* Deeper than JSON's 2047 levels (jansson's limit, docs/json.md):
         * NNNNN.deep says so; the checker verifies the term is that deep. */
        write_out("json", id, ".deep", err.msg, strlen(err.msg));
        return;
    }
    if (text == NULL) {
        write_err("json", id, "etf_to_json_text", &err);
        return;
    }
    back = etf_from_json_text(a, text, strlen(text), ETF_JSON_TYPED, &err);
    free(text);
    if (back == NULL) {
        write_err("json", id, "etf_from_json_text", &err);
        return;
    }
    if ((bytes = encode(back, &eo, &n, &err)) == NULL) {
        write_err("json", id, "encode", &err);
        return;
    }
    write_out("json", id, ".etf", bytes, n);
    free(bytes);
    c->json++;
}

static void
check_terms(etf_arena *a, struct counts *c)
{
    char path[4096], line[256], id[64], flags[64];
    FILE *man, *dec;
    int minor, level, det;

    snprintf(path, sizeof(path), "%s/manifest.txt", corpus_dir);
    if ((man = fopen(path, "r")) == NULL)
        die("%s: %s", path, strerror(errno));
    snprintf(path, sizeof(path), "%s/decode.txt", out_dir);
    if ((dec = fopen(path, "w")) == NULL)
        die("%s: %s", path, strerror(errno));
    while (fgets(line, sizeof(line), man) != NULL) {
        if (sscanf(line, "%63s %d %d %d %63s", id, &minor, &level, &det,
                   flags) != 5)
            die("manifest: bad line: %s", line);
        check_term(a, dec, id, minor, level, c);
    }
    fclose(man);
    if (fclose(dec) != 0)
        die("decode.txt: %s", strerror(errno));
}

/* Parse every text snippet and encode what we make of it. */
static void
check_snippets(etf_arena *a, struct counts *c)
{
    char path[4096], id[256];
    struct dirent *de;
    DIR *d;

    snprintf(path, sizeof(path), "%s/parse", corpus_dir);
    if ((d = opendir(path)) == NULL)
        die("%s: %s", path, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name), len, n;
        etf_error err = {0};
        uint8_t *file, *bytes;
        char *text;
        etf_term *t;

        if (nl < 5 || strcmp(de->d_name + nl - 4, ".txt") != 0 ||
            nl - 4 >= sizeof(id))
            continue;
        memcpy(id, de->d_name, nl - 4);
        id[nl - 4] = '\0';
        snprintf(path, sizeof(path), "%s/parse/%s", corpus_dir, de->d_name);
        if ((file = read_file(path, &len)) == NULL)
            die("%s: %s", path, strerror(errno));
        text = (char *)exact_copy(file, len);
        free(file);
        c->snippets++;
        etf_arena_reset(a);
        t = etf_parse(a, text, len, &err);
        free(text);
        if (t == NULL) {
            write_err("parse", id, "etf_parse", &err);
            continue;
        }
        if ((bytes = encode(t, NULL, &n, &err)) == NULL) {
            write_err("parse", id, "encode", &err);
            continue;
        }
        write_out("parse", id, ".etf", bytes, n);
        free(bytes);
        c->parsed++;
    }
    closedir(d);
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* Our verdict on one input with etf_decode's defaults: 'o' or 'x'. */
static char
verdict(etf_arena *a, const uint8_t *p, size_t len, etf_error *err)
{
    uint8_t *buf = exact_copy(p, len);
    etf_term *t;

    etf_arena_reset(a);
    t = etf_decode(a, buf, len, NULL, NULL, err);
    free(buf);
    return t != NULL ? 'o' : 'x';
}

static void
check_bad(etf_arena *a, struct counts *c)
{
    char path[4096];
    uint8_t *all;
    size_t len, off = 0;
    FILE *out;

    snprintf(path, sizeof(path), "%s/bad.bin", corpus_dir);
    if ((all = read_file(path, &len)) == NULL)
        die("%s: %s", path, strerror(errno));
    snprintf(path, sizeof(path), "%s/bad.txt", out_dir);
    if ((out = fopen(path, "w")) == NULL)
        die("%s: %s", path, strerror(errno));
    while (off < len) {
        uint32_t id, n;
        etf_error err = {0};
        char v;

        if (len - off < 8)
            die("bad.bin: truncated record header at %zu", off);
        id = get32(all + off);
        n = get32(all + off + 4);
        if (len - off - 8 < n)
            die("bad.bin: truncated record %" PRIu32, id);
        v = verdict(a, all + off + 8, n, &err);
        c->bad++;
        if (v == 'o') {
            c->bad_accepted++;
            fprintf(out, "%" PRIu32 " o\n", id);
        } else
            fprintf(out, "%" PRIu32 " x %s@%zu\n", id, etf_strerror(err.code),
                    err.pos);
        off += 8 + (size_t)n;
    }
    free(all);
    if (fclose(out) != 0)
        die("bad.txt: %s", strerror(errno));
}

/* Decode the prefixes that trunc.txt names for each term. */
static void
check_trunc(etf_arena *a, struct counts *c)
{
    char path[4096], id[64];
    uint8_t *list;
    size_t len;
    FILE *out;
    char *line, *save = NULL;

    snprintf(path, sizeof(path), "%s/trunc.txt", corpus_dir);
    if ((list = read_file(path, &len)) == NULL)
        die("%s: %s", path, strerror(errno));
    list = realloc(list, len + 1);
    if (list == NULL)
        die("out of memory");
    list[len] = '\0';
    snprintf(path, sizeof(path), "%s/trunc.txt", out_dir);
    if ((out = fopen(path, "w")) == NULL)
        die("%s: %s", path, strerror(errno));
    for (line = strtok_r((char *)list, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *spec, *sp, *cut;
        uint8_t *file;
        size_t flen;

        sp = strchr(line, ' ');
        if (sp == NULL || (size_t)(sp - line) >= sizeof(id))
            die("trunc.txt: bad line");
        memcpy(id, line, (size_t)(sp - line));
        id[sp - line] = '\0';
        spec = sp + 1;
        if ((sp = strchr(spec, ' ')) != NULL)
            *sp = '\0';
        snprintf(path, sizeof(path), "%s/terms/%s.etf", corpus_dir, id);
        if ((file = read_file(path, &flen)) == NULL)
            die("%s: %s", path, strerror(errno));
        fprintf(out, "%s ", id);
        if (strcmp(spec, "all") == 0) {
            for (size_t k = 0; k < flen; k++) {
                etf_error err;
                char v = verdict(a, file, k, &err);

                c->cuts++;
                c->cuts_accepted += v == 'o';
                fputc(v, out);
            }
        } else {
            char *csave = NULL;

            for (cut = strtok_r(spec, ",", &csave); cut != NULL;
                 cut = strtok_r(NULL, ",", &csave)) {
                unsigned long k = strtoul(cut, NULL, 10);
                etf_error err;
                char v;

                if (k >= flen)
                    die("trunc.txt: cut %lu past %s", k, id);
                v = verdict(a, file, k, &err);
                c->cuts++;
                c->cuts_accepted += v == 'o';
                fputc(v, out);
            }
        }
        fputc('\n', out);
        free(file);
    }
    free(list);
    if (fclose(out) != 0)
        die("trunc.txt: %s", strerror(errno));
}

int
main(int argc, char **argv)
{
    struct counts c = {0};
    etf_arena *a;

    if (argc != 3) {
        fprintf(stderr, "usage: etf-corpus-check CORPUS_DIR OUT_DIR\n");
        return 2;
    }
    corpus_dir = argv[1];
    out_dir = argv[2];
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST)
        die("%s: %s", out_dir, strerror(errno));
    make_dir("re");
    make_dir("w");
    make_dir("json");
    make_dir("parse");
    if ((a = etf_arena_new()) == NULL)
        die("out of memory");

    check_terms(a, &c);
    check_snippets(a, &c);
    check_bad(a, &c);
    check_trunc(a, &c);
    etf_arena_free(a);

    printf("etf-corpus-check: %u terms: %u decoded, %u re-encoded, %u "
           "printed, %u through JSON; %u snippets, %u parsed; %u malformed "
           "(%u accepted); %u truncations (%u accepted)\n",
           c.terms, c.decoded, c.encoded, c.printed, c.json, c.snippets,
           c.parsed, c.bad, c.bad_accepted, c.cuts, c.cuts_accepted);
    return 0;
}
