/*
 * libetf: the Erlang External Term Format.
 *
 * Two layers behind one header:
 *  - a bounded cursor reader and writer over byte buffers (etf_reader,
 *    etf_writer) that allocate nothing: every read knows where the buffer
 *    ends, and a writer with no buffer only measures;
 *  - a term tree (etf_term) allocated from an arena and freed with one call,
 *    with decode, encode, comparison, the Erlang text forms and the two JSON
 *    forms.
 *
 * Every function that can fail returns -1 (or NULL) and fills an etf_error
 * with a code, a message and the byte position where the input went wrong.
 * Libraries never exit; bytes from the network never reach an assert.
 */
#ifndef ETF_H
#define ETF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

/* Atoms hold at most 255 characters (erl_ext_dist: "MAX_ATOM_CHARACTERS"). */
#define ETF_MAX_ATOM_CHARS 255
/* ... which in UTF-8 is at most 4 bytes each. */
#define ETF_MAX_ATOM_BYTES (ETF_MAX_ATOM_CHARS * 4)
/* The BEAM refuses bignums of more than 4,194,296 digit bytes (2^25-64
 * bits); we refuse the same. */
#define ETF_MAX_BIG_BYTES 4194296u
/* NEWER_REFERENCE_EXT holds at most 5 id words (binary_to_term rejects 6). */
#define ETF_MAX_REF_WORDS 5
/* Default nesting limit of the tree decoder; the decoder is iterative, so
 * this bounds memory, not the C stack. */
#define ETF_DEFAULT_MAX_DEPTH 100000u
/* Default cap on the inflated size of a compressed term (tag 80). */
#define ETF_DEFAULT_MAX_INFLATED (64u * 1024 * 1024)
/* Entries of a distribution atom cache: 8 segments of 256. */
#define ETF_ATOM_CACHE_SIZE 2048
/* At most 255 atom cache references in one distribution header. */
#define ETF_MAX_CACHE_REFS 255

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

typedef enum etf_code {
    ETF_OK = 0,
    ETF_E_TRUNCATED,  /* input ends inside a term */
    ETF_E_VERSION,    /* first byte is not 131 */
    ETF_E_TAG,        /* unknown tag, or a tag not allowed here */
    ETF_E_LENGTH,     /* a length or arity larger than the bytes left */
    ETF_E_ATOM,       /* atom longer than 255 characters */
    ETF_E_UTF8,       /* invalid UTF-8 */
    ETF_E_FLOAT,      /* NaN, infinity or unreadable float text */
    ETF_E_DEPTH,      /* nesting deeper than the limit */
    ETF_E_COMPRESSED, /* bad zlib stream, or a size that lies */
    ETF_E_TRAILING,   /* bytes after the term where exactly one was asked */
    ETF_E_DUPKEY,     /* the same key twice in a map */
    ETF_E_BITS,       /* bad bit count in BIT_BINARY_EXT */
    ETF_E_BIG,        /* bignum over ETF_MAX_BIG_BYTES */
    ETF_E_REF,        /* reference with more than 5 words */
    ETF_E_CACHE,      /* ATOM_CACHE_REF without a cache, or unknown index */
    ETF_E_NODE,       /* the node of a pid, port or ref is not an atom */
    ETF_E_TYPE,       /* the term is not the kind the caller asked for */
    ETF_E_RANGE,      /* an integer does not fit the C type asked for */
    ETF_E_NOMEM,      /* out of memory */
    ETF_E_SPACE,      /* the writer's fixed buffer is full */
    ETF_E_LIMIT,      /* a caller-set limit was exceeded */
    ETF_E_SYNTAX,     /* Erlang text that does not parse */
    ETF_E_JSON,       /* JSON that does not map to a term */
    ETF_E_ARG,        /* an argument out of range */
} etf_code;

typedef struct etf_error {
    etf_code code;
    size_t pos;    /* byte offset in the input where it went wrong */
    char msg[128]; /* human-readable, NUL-terminated */
} etf_error;

/* Return a short constant name for a code ("truncated", "bad tag", ...). */
const char *etf_strerror(etf_code code);

/* ------------------------------------------------------------------ */
/* Cursor reader: zero allocation, bounded                             */
/* ------------------------------------------------------------------ */

/* An atom as it lies in the buffer; latin1 is true for ATOM_EXT and
 * SMALL_ATOM_EXT (one byte per character), false for UTF-8 tags. Not
 * NUL-terminated; atoms may contain NUL. */
typedef struct etf_atomv {
    const char *p;
    size_t len;
    bool latin1;
} etf_atomv;

/* The atoms a distribution header refers to, in reference order: the
 * ATOM_CACHE_REF index of a term points into this table. Text is UTF-8. */
typedef struct etf_atom_refs {
    unsigned count;
    struct {
        const char *p;
        uint16_t len;
    } ref[ETF_MAX_CACHE_REFS];
} etf_atom_refs;

/* The per-connection atom cache of the distribution protocol: 2048 slots,
 * each an owned UTF-8 copy (or NULL). */
typedef struct etf_atom_cache {
    char *text[ETF_ATOM_CACHE_SIZE];
    uint16_t len[ETF_ATOM_CACHE_SIZE];
} etf_atom_cache;

/* The broad kind of the next term, as etf_peek reports it. */
typedef enum etf_type {
    ETF_T_INTEGER = 1, /* 97, 98, 110, 111 */
    ETF_T_FLOAT,       /* 70, 99 */
    ETF_T_ATOM,        /* 100, 115, 118, 119, 82 */
    ETF_T_TUPLE,       /* 104, 105 */
    ETF_T_NIL,         /* 106 */
    ETF_T_STRING,      /* 107: a list of small integers */
    ETF_T_LIST,        /* 108 */
    ETF_T_BINARY,      /* 109, and 77 */
    ETF_T_MAP,         /* 116 */
    ETF_T_PID,         /* 88, 103 */
    ETF_T_PORT,        /* 89, 102, 120 */
    ETF_T_REF,         /* 90, 101, 114 */
    ETF_T_EXPORT,      /* 113 */
    ETF_T_FUN,         /* 112 */
    ETF_T_LOCAL,       /* 121 */
    ETF_T_COMPRESSED,  /* 80, only right after the version byte */
} etf_type;

typedef struct etf_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;                /* advances only on success */
    const etf_atom_refs *refs; /* for ATOM_CACHE_REF; NULL rejects them */
    bool allow_local;          /* read LOCAL_EXT (else refused, as OTP) */
    etf_error err;             /* filled when a read fails */
} etf_reader;

/* An integer of any size: big is false when it fits int64_t (then i holds
 * it), else sign (1 = negative) and the magnitude as little-endian digit
 * bytes with no high zero bytes, pointing into the buffer. */
typedef struct etf_intv {
    bool big;
    int64_t i;
    uint8_t sign;
    const uint8_t *digits;
    size_t ndigits;
} etf_intv;

typedef struct etf_pidv {
    etf_atomv node;
    uint32_t id, serial, creation;
} etf_pidv;

typedef struct etf_portv {
    etf_atomv node;
    uint64_t id;
    uint32_t creation;
} etf_portv;

typedef struct etf_refv {
    etf_atomv node;
    uint32_t creation;
    uint32_t len; /* 0..5 */
    uint32_t id[ETF_MAX_REF_WORDS];
} etf_refv;

/* NEW_FUN_EXT up to its free variables, which follow as numfree terms. */
typedef struct etf_funv {
    uint32_t size; /* as on the wire; the BEAM does not check it */
    uint8_t arity;
    uint8_t uniq[16];
    uint32_t index;
    uint32_t numfree;
    etf_atomv module;
    etf_intv old_index;
    etf_intv old_uniq;
    etf_pidv pid;         /* the creator, when it is a pid ... */
    bool creator_is_term; /* ... else the creator follows as one more term
                           * (the BEAM takes any term there), before the
                           * free variables */
} etf_funv;

/* Start reading len bytes at buf. */
void etf_reader_init(etf_reader *r, const void *buf, size_t len);

/* Consume the version byte 131. */
int etf_read_version(etf_reader *r);
/* Report the kind of the next term without consuming it. */
int etf_peek(etf_reader *r, etf_type *type);
/* Read an integer of any tag into v. */
int etf_read_integer(etf_reader *r, etf_intv *v);
/* Read an integer that must fit int64_t (ETF_E_RANGE otherwise). */
int etf_read_int64(etf_reader *r, int64_t *v);
int etf_read_double(etf_reader *r, double *v);
/* Read an atom, checking its length and UTF-8; ATOM_CACHE_REF resolves
 * through r->refs. */
int etf_read_atom(etf_reader *r, etf_atomv *a);
int etf_read_tuple_header(etf_reader *r, uint32_t *arity);
int etf_read_nil(etf_reader *r);
/* LIST_EXT: n elements follow, then the tail (NIL for a proper list). */
int etf_read_list_header(etf_reader *r, uint32_t *n);
/* STRING_EXT: the bytes are the list's elements. */
int etf_read_string(etf_reader *r, const uint8_t **p, size_t *len);
int etf_read_map_header(etf_reader *r, uint32_t *arity);
/* BINARY_EXT or BIT_BINARY_EXT; bits is the number of bits used in the
 * last byte, 8 for a whole binary (and for an empty one). Unused low bits
 * of the last byte are left as they are on the wire. */
int etf_read_binary(etf_reader *r, const uint8_t **p, size_t *len,
                    unsigned *bits);
int etf_read_pid(etf_reader *r, etf_pidv *pid);
int etf_read_port(etf_reader *r, etf_portv *port);
int etf_read_ref(etf_reader *r, etf_refv *ref);
int etf_read_export(etf_reader *r, etf_atomv *module, etf_atomv *function,
                    uint32_t *arity);
int etf_read_fun(etf_reader *r, etf_funv *fun);
/* LOCAL_EXT: its encoding is private to the node that made it, so the rest
 * of the input is taken as its payload. Refused unless r->allow_local. */
int etf_read_local(etf_reader *r, const uint8_t **p, size_t *len);
/* Skip one whole term, validating as it goes (all but duplicate map keys,
 * which need comparison: use etf_decode for that). No recursion. */
int etf_skip(etf_reader *r);
/* Compressed term (tag 80) right after the version byte: report the size it
 * claims to inflate to, and inflate it into out, which must hold exactly
 * that many bytes. The inflated bytes are a term without version byte. */
int etf_read_compressed_size(etf_reader *r, uint32_t *usize);
int etf_inflate(etf_reader *r, void *out, uint32_t usize);

/* Transcode an atom to UTF-8 into out (at least ETF_MAX_ATOM_BYTES bytes);
 * returns the length written. */
size_t etf_atom_utf8(const etf_atomv *a, char *out);

/* Read a distribution header (after 131, tag 68 'D'), updating cache with
 * new entries and filling refs for the terms of the message. */
int etf_read_dist_header(etf_reader *r, etf_atom_cache *cache,
                         etf_atom_refs *refs);
/* Free every text a cache holds; the cache itself is the caller's. */
void etf_atom_cache_clear(etf_atom_cache *cache);

/* ------------------------------------------------------------------ */
/* Cursor writer                                                       */
/* ------------------------------------------------------------------ */

/* A writer appends to a fixed buffer, to a growing heap buffer, or, with
 * no buffer, only counts. When a fixed buffer is full, writes fail with
 * ETF_E_SPACE but pos keeps counting, so the caller learns the size it
 * needs. */
typedef struct etf_writer {
    uint8_t *buf;
    size_t cap;
    size_t pos;
    bool grow;       /* buf is malloc'd and grows */
    bool full;       /* a fixed buffer ran out */
    bool utf8_atoms; /* minor_version 2: every atom as UTF-8 */
    bool old_floats; /* minor_version 0: FLOAT_EXT text floats */
    etf_error err;
} etf_writer;

/* Write into cap bytes at buf; buf NULL measures only. */
void etf_writer_init(etf_writer *w, void *buf, size_t cap);
/* Write into a heap buffer that grows; release it with etf_writer_free. */
int etf_writer_init_dynamic(etf_writer *w, size_t initial);
void etf_writer_free(etf_writer *w);
/* Hand over the heap buffer of a dynamic writer (caller frees it). */
uint8_t *etf_writer_release(etf_writer *w, size_t *len);

int etf_write_version(etf_writer *w);
/* Integers in the smallest form the BEAM uses: 97, 98, else 110/111. */
int etf_write_int64(etf_writer *w, int64_t v);
int etf_write_uint64(etf_writer *w, uint64_t v);
/* A bignum from little-endian digit bytes, canonicalised. */
int etf_write_bignum(etf_writer *w, bool negative, const uint8_t *digits,
                     size_t n);
/* NEW_FLOAT_EXT (or FLOAT_EXT with old_floats); refuses NaN and infinity. */
int etf_write_double(etf_writer *w, double v);
/* An atom given as UTF-8: ATOM_EXT in Latin-1 when every character fits
 * and utf8_atoms is off (OTP 25's default), else SMALL_ATOM_UTF8_EXT or
 * ATOM_UTF8_EXT. Checks UTF-8 and the 255-character limit. */
int etf_write_atom(etf_writer *w, const char *utf8, size_t len);
int etf_write_tuple_header(etf_writer *w, uint32_t arity);
int etf_write_nil(etf_writer *w);
/* LIST_EXT header: n elements and then a tail must follow. */
int etf_write_list_header(etf_writer *w, uint32_t n);
/* A proper list of bytes: STRING_EXT up to 65535, else a LIST_EXT. */
int etf_write_string(etf_writer *w, const uint8_t *p, size_t len);
int etf_write_binary(etf_writer *w, const void *p, size_t len);
/* BIT_BINARY_EXT with bits (1..7) used in the last byte; 8 or an empty
 * binary writes BINARY_EXT. Unused bits are written as zero. */
int etf_write_bitbinary(etf_writer *w, const void *p, size_t len,
                        unsigned bits);
int etf_write_map_header(etf_writer *w, uint32_t arity);
/* Pids, ports and refs with the node given as UTF-8. */
int etf_write_pid(etf_writer *w, const char *node, size_t node_len, uint32_t id,
                  uint32_t serial, uint32_t creation);
int etf_write_port(etf_writer *w, const char *node, size_t node_len,
                   uint64_t id, uint32_t creation);
int etf_write_ref(etf_writer *w, const char *node, size_t node_len,
                  uint32_t creation, const uint32_t *id, uint32_t len);
int etf_write_export(etf_writer *w, const char *module, size_t module_len,
                     const char *function, size_t function_len, uint32_t arity);
/* Raw bytes (for callers that assemble their own terms). */
int etf_write_raw(etf_writer *w, const void *p, size_t len);

/* ------------------------------------------------------------------ */
/* Arena                                                               */
/* ------------------------------------------------------------------ */

typedef struct etf_arena etf_arena;

/* Make an arena; NULL on out of memory. */
etf_arena *etf_arena_new(void);
/* Free the arena and every term allocated from it. NULL is a no-op. */
void etf_arena_free(etf_arena *a);
/* Drop every allocation but keep the memory for reuse (the arena holds
 * on to its largest use until etf_arena_free). */
void etf_arena_reset(etf_arena *a);
/* Allocate n bytes aligned for any term; NULL on out of memory. */
void *etf_arena_alloc(etf_arena *a, size_t n);
/* Bytes handed out so far (for accounting). */
size_t etf_arena_used(const etf_arena *a);

/* ------------------------------------------------------------------ */
/* Term tree                                                           */
/* ------------------------------------------------------------------ */

typedef enum etf_kind {
    ETF_INT = 1, /* fits int64_t: v.i */
    ETF_BIG,     /* beyond int64_t: sign in aux (1 = negative), len digit
                  * bytes little-endian in v.bytes, no high zero bytes */
    ETF_FLOAT,   /* v.f, always finite */
    ETF_ATOM,    /* len bytes of UTF-8 at v.str, NUL-terminated for
                  * convenience (an atom may contain NUL too) */
    ETF_TUPLE,   /* len elements at v.elems */
    ETF_NIL,     /* [] */
    ETF_LIST,    /* len >= 1 elements at v.elems, then the tail at
                  * v.elems[len] (ETF_NIL for a proper list) */
    ETF_STRING,  /* a proper, non-empty list of len integers 0..255 kept
                  * as bytes at v.bytes: the same term as the ETF_LIST */
    ETF_BINARY,  /* len bytes at v.bytes; aux = bits used in the last byte,
                  * 8 for a binary, 1..7 for a bitstring (unused bits 0) */
    ETF_MAP,     /* len pairs at v.elems: key, value, key, value ... in
                  * the order they were decoded or built */
    ETF_PID,     /* v.pid */
    ETF_PORT,    /* v.port */
    ETF_REF,     /* v.ref */
    ETF_EXPORT,  /* v.exp: fun M:F/A */
    ETF_FUN,     /* v.fun: a local fun (NEW_FUN_EXT) */
    ETF_LOCAL,   /* LOCAL_EXT payload, opaque: len bytes at v.bytes */
} etf_kind;

typedef struct etf_term etf_term;
typedef struct etf_pid etf_pid;
typedef struct etf_port etf_port;
typedef struct etf_ref etf_ref;
typedef struct etf_export etf_export;
typedef struct etf_fun etf_fun;

/* 16 bytes: kind, a small extra field, a length and one value. */
struct etf_term {
    uint8_t kind; /* etf_kind */
    uint8_t aux;  /* ETF_BIG: sign; ETF_BINARY: bits in last byte */
    uint32_t len;
    union {
        int64_t i;
        double f;
        const char *str;
        const uint8_t *bytes;
        etf_term *elems;
        etf_pid *pid;
        etf_port *port;
        etf_ref *ref;
        etf_export *exp;
        etf_fun *fun;
    } v;
};

struct etf_pid {
    etf_term node; /* ETF_ATOM */
    uint32_t id, serial, creation;
};

struct etf_port {
    etf_term node; /* ETF_ATOM */
    uint64_t id;
    uint32_t creation;
};

struct etf_ref {
    etf_term node; /* ETF_ATOM */
    uint32_t creation;
    uint32_t len; /* 0..5 words */
    uint32_t id[ETF_MAX_REF_WORDS];
};

struct etf_export {
    etf_term module;   /* ETF_ATOM */
    etf_term function; /* ETF_ATOM */
    uint32_t arity;
};

struct etf_fun {
    uint8_t arity;
    uint8_t uniq[16];
    uint32_t index;
    etf_term module;    /* ETF_ATOM */
    etf_term old_index; /* ETF_INT or ETF_BIG */
    etf_term old_uniq;  /* ETF_INT or ETF_BIG */
    etf_term pid;       /* the creator: ETF_PID (any term from the wire) */
    uint32_t numfree;
    etf_term *free; /* numfree terms */
};

/* Decode options; a zeroed struct (or NULL) means the defaults. */
typedef struct etf_decode_opts {
    unsigned max_depth;  /* 0: ETF_DEFAULT_MAX_DEPTH */
    size_t max_inflated; /* 0: ETF_DEFAULT_MAX_INFLATED */
    bool exact;          /* bytes after the term are an error */
    bool borrow;         /* binaries and strings point into buf (no copy), which
                          * must then outlive the tree; atoms are still copied */
    bool no_version;     /* input has no 131 byte (dist payload) */
    bool local;          /* keep LOCAL_EXT (OTP 26+ `local`) as an opaque term;
                          * without it, refused as binary_to_term/1 refuses it */
    const etf_atom_refs *refs; /* resolves ATOM_CACHE_REF; NULL rejects */
} etf_decode_opts;

/* Decode one term from len bytes at buf into a tree allocated from a.
 * Text and binaries are copied into the arena, so buf may go away (unless
 * opts->borrow says otherwise). On
 * success, *used (if not NULL) is the number of bytes consumed. Returns
 * NULL and fills err on failure. */
etf_term *etf_decode(etf_arena *a, const void *buf, size_t len,
                     const etf_decode_opts *opts, size_t *used, etf_error *err);

/* Encode options; a zeroed struct (or NULL) is term_to_binary/1 of OTP 25:
 * {minor_version,1}, no compression. */
typedef struct etf_encode_opts {
    bool utf8_atoms;  /* {minor_version,2}: every atom as UTF-8 (OTP 26) */
    bool text_floats; /* {minor_version,0}: floats as FLOAT_EXT text */
    int compress;     /* 0: off; 1..9: zlib level, used only if smaller */
    bool no_version;  /* omit the 131 byte */
} etf_encode_opts;

/* Encode t (with the version byte unless opts say otherwise). */
int etf_encode(const etf_term *t, etf_writer *w, const etf_encode_opts *opts);
/* Encode into a malloc'd buffer; NULL and err on failure. */
uint8_t *etf_encode_alloc(const etf_term *t, const etf_encode_opts *opts,
                          size_t *len, etf_error *err);

/* Term constructors. Those given an arena copy what they are given; NULL
 * or -1 means out of memory (or invalid UTF-8 / too long for atoms). */
void etf_set_int(etf_term *t, int64_t v);
void etf_set_float(etf_term *t, double v);
void etf_set_nil(etf_term *t);
/* A bignum from little-endian magnitude bytes; made ETF_INT if it fits. */
int etf_set_big(etf_arena *a, etf_term *t, bool negative, const uint8_t *digits,
                size_t n);
/* An atom from UTF-8 text (validated, at most 255 characters). */
int etf_set_atom(etf_arena *a, etf_term *t, const char *utf8, size_t len);
int etf_set_binary(etf_arena *a, etf_term *t, const void *p, size_t len);
int etf_set_bitstring(etf_arena *a, etf_term *t, const void *p, size_t len,
                      unsigned bits);
int etf_set_string(etf_arena *a, etf_term *t, const void *p, size_t len);
/* Containers: return the element array to fill (zeroed), NULL on OOM.
 * A list gets n + 1 slots, the last one the tail, set to NIL. */
etf_term *etf_set_tuple(etf_arena *a, etf_term *t, uint32_t n);
etf_term *etf_set_list(etf_arena *a, etf_term *t, uint32_t n);
etf_term *etf_set_map(etf_arena *a, etf_term *t, uint32_t pairs);
etf_pid *etf_set_pid(etf_arena *a, etf_term *t);
etf_port *etf_set_port(etf_arena *a, etf_term *t);
etf_ref *etf_set_ref(etf_arena *a, etf_term *t);
etf_export *etf_set_export(etf_arena *a, etf_term *t);
etf_fun *etf_set_fun(etf_arena *a, etf_term *t, uint32_t numfree);

/* Compare in Erlang term order: <0, 0, >0. With exact, 1 and 1.0 differ
 * (=:=, and the order of map keys); without, they compare equal (==).
 * Strings compare as the lists they are. */
int etf_compare(const etf_term *x, const etf_term *y, bool exact);
/* x =:= y */
bool etf_equal(const etf_term *x, const etf_term *y);
/* Sort the pairs of a map by key in map-key order (as OTP orders the keys
 * of a small map); returns -1 with ETF_E_DUPKEY if two keys are equal. */
int etf_map_sort(etf_term *map, etf_error *err);

/* Number of elements of a list (ETF_LIST or ETF_STRING; 0 for NIL) and
 * element i of it as a term (for strings, written to *tmp). */
size_t etf_list_length(const etf_term *t);
const etf_term *etf_list_nth(const etf_term *t, size_t i, etf_term *tmp);

/* ------------------------------------------------------------------ */
/* Text forms                                                          */
/* ------------------------------------------------------------------ */

typedef enum etf_text_fmt {
    ETF_TEXT_W,  /* io_lib:format("~w", [T]) */
    ETF_TEXT_TP, /* io_lib:format("~tp", [T]) on a single line */
} etf_text_fmt;

/* Print t as text into a malloc'd NUL-terminated UTF-8 string (length in
 * *len if not NULL); NULL on out of memory. The text is OTP 25's byte for
 * byte, except for pids, ports and refs, where OTP prints an index into its
 * own node table: libetf names the node, always quoted, followed by
 * /Creation unless the creation is 0: <'a@h'/3.81.0>, #Port<'a@h'/3.5>,
 * #Ref<'a@h'/3.3.2.1> (id words highest first, as OTP). LOCAL_EXT prints
 * as #Local<B1,B2,...>. etf_parse reads all four back. Any depth prints;
 * no recursion. ETF_TEXT_TP is io_lib:format("~0tp", [T]): ~tp with no
 * line breaks. See docs/text.md. */
char *etf_format(const etf_term *t, etf_text_fmt fmt, size_t *len);

/* Parse one term in Erlang syntax (a trailing '.' is allowed) from len
 * bytes of UTF-8 into a tree from a, as erl_scan, erl_parse and erl_eval
 * make it, plus etf_format's pid, port, ref and #Local forms. NULL and err
 * (code, byte position, message) on failure. Nesting is bounded by
 * ETF_DEFAULT_MAX_DEPTH, without recursion. */
etf_term *etf_parse(etf_arena *a, const char *text, size_t len, etf_error *err);

/* ------------------------------------------------------------------ */
/* JSON forms (jansson)                                                */
/* ------------------------------------------------------------------ */

struct json_t;

typedef enum etf_json_form {
    ETF_JSON_TYPED, /* lossless: every term maps to JSON and back */
    ETF_JSON_PLAIN, /* OTP 27 json semantics; lossy, errors where it can't */
} etf_json_form;

/* Map a term to a new jansson value (caller json_decref's it); NULL and err
 * when the plain form cannot carry the term. */
struct json_t *etf_to_json(const etf_term *t, etf_json_form form,
                           etf_error *err);
/* Map a jansson value back to a term allocated from a. */
etf_term *etf_from_json(etf_arena *a, const struct json_t *j,
                        etf_json_form form, etf_error *err);
/* The same through JSON text: malloc'd NUL-terminated output, and input
 * of len bytes; err->pos is the byte where the JSON went wrong. */
char *etf_to_json_text(const etf_term *t, etf_json_form form, bool pretty,
                       etf_error *err);
etf_term *etf_from_json_text(etf_arena *a, const char *text, size_t len,
                             etf_json_form form, etf_error *err);

#ifdef __cplusplus
}
#endif
#endif /* ETF_H */
