/*
 * The EPMD wire codec: pure functions over byte buffers, no I/O and no
 * allocation. The server side frames and parses requests and builds
 * replies; the client side builds requests and parses replies.
 *
 * Conventions: decoders take (buf, len) and never read past len; builders
 * return the number of bytes the message needs and write it only when buf
 * is not NULL and cap is large enough, so a NULL buf measures.
 */
#ifndef EPMD_WIRE_H
#define EPMD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "epmd_proto.h"

/* Outcome of a framing or parsing step. */
enum epmd_wire_status {
    EPMD_WIRE_REJECT = -1,   /* bad bytes: give up on this peer */
    EPMD_WIRE_NEED_MORE = 0, /* wait for more bytes */
    EPMD_WIRE_OK = 1,
};

/* Why a step rejected its input. */
enum epmd_wire_errcode {
    EPMD_WIRE_ENONE = 0,
    EPMD_WIRE_EZEROLEN,  /* request length field is 0 */
    EPMD_WIRE_ETOOLARGE, /* request length field beyond the limit */
    EPMD_WIRE_EEXCESS,   /* more bytes than the request holds, at once */
    EPMD_WIRE_EUNKNOWN,  /* unknown request or reply tag */
    EPMD_WIRE_ESHORT,    /* too short for its type */
    EPMD_WIRE_ENAMELEN,  /* name length runs past the packet */
    EPMD_WIRE_EEXTRALEN, /* extra length runs past the packet */
    EPMD_WIRE_ENAMENUL,  /* NUL byte inside a name */
    EPMD_WIRE_ENAME,     /* name not 1..254 UTF-8 characters (lookup) */
    EPMD_WIRE_ESYNTAX,   /* malformed text in a NAMES reply */
    EPMD_WIRE_ECOUNT
};

/* What went wrong and at which byte offset of the input. */
struct epmd_wire_error {
    int code;        /* enum epmd_wire_errcode */
    const char *msg; /* static text */
    size_t pos;
};

/* Everything a node registers; also the body of a found PORT2_RESP. Name
 * and extra point into the buffer that was parsed (not NUL-terminated). */
struct epmd_node_info {
    uint16_t port;
    uint8_t node_type;
    uint8_t protocol;
    uint16_t high_vsn;
    uint16_t low_vsn;
    const uint8_t *name;
    size_t name_len;
    const uint8_t *extra;
    size_t extra_len;
};

/* A parsed request. */
struct epmd_request {
    uint8_t type;                /* EPMD_*_REQ */
    struct epmd_node_info alive; /* ALIVE2_REQ */
    const uint8_t *name;         /* PORT_PLEASE2_REQ, STOP_REQ */
    size_t name_len;
};

/* Why a well-formed ALIVE2_REQ is refused with Result 1. */
enum epmd_alive2_refusal {
    EPMD_ALIVE2_ACCEPTABLE = 0,
    EPMD_ALIVE2_NAME_TOO_LONG, /* > 1020 bytes or > 255 characters */
    EPMD_ALIVE2_NAME_UTF8,     /* not strict UTF-8 */
    EPMD_ALIVE2_EXTRA_TOO_LONG /* extra > 1020 bytes */
};

/* Resumable request framing: Length:16 then Length bytes. */
struct epmd_wire_framer {
    size_t want; /* 2 + Length once the header has been seen, else 0 */
};

/* Reset a framer for a new connection. */
void epmd_wire_framer_init(struct epmd_wire_framer *f);

/*
 * Look at everything received so far (buf, len) and say whether a whole
 * request is there. On OK the payload is buf[2 .. 2 + *payload_len). As in
 * OTP, bytes beyond the request that arrive together with the header are
 * an error, while bytes that come after the header was seen are ignored;
 * call this once per read, with the whole buffer each time.
 */
int epmd_wire_frame(struct epmd_wire_framer *f, const uint8_t *buf, size_t len,
                    size_t *payload_len, struct epmd_wire_error *err);

/*
 * Parse one request payload (the bytes after the length field). Every
 * outcome other than OK is a request OTP closes without a reply.
 */
int epmd_wire_parse_request(const uint8_t *p, size_t len,
                            struct epmd_request *req,
                            struct epmd_wire_error *err);

/* Say whether an ALIVE2_REQ must be refused (with a reply), and why. */
enum epmd_alive2_refusal epmd_wire_alive2_check(const struct epmd_node_info *n);

/* Text for an errcode or a refusal. */
const char *epmd_wire_strerror(int code);
const char *epmd_wire_strrefusal(enum epmd_alive2_refusal r);

/* Count the characters of strict UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF); -1 if s is not valid. */
int epmd_wire_utf8_chars(const uint8_t *s, size_t len);

/* Server replies. */
/* ALIVE2_X_RESP when high_vsn >= 6, else ALIVE2_RESP with creation's low
 * 16 bits. */
size_t epmd_wire_alive2_resp(uint8_t *buf, size_t cap, uint16_t high_vsn,
                             uint8_t result, uint32_t creation);
/* PORT2_RESP for a found node, or the 2-byte "not found" form if n is
 * NULL. A buffer of EPMD_PORT2_RESP_MAX bytes holds any. */
#define EPMD_PORT2_RESP_MAX (14 + 2 * EPMD_MAXSYMLEN)
size_t epmd_wire_port2_resp(uint8_t *buf, size_t cap,
                            const struct epmd_node_info *n);
/* The 4-byte port that starts a NAMES or DUMP reply. */
size_t epmd_wire_names_header(uint8_t *buf, size_t cap, uint32_t port);
/* "name N at port P\n". */
size_t epmd_wire_names_line(uint8_t *buf, size_t cap, const uint8_t *name,
                            size_t name_len, unsigned port);
/* "active name     <N> at port P, fd = F\n" and a NUL. */
size_t epmd_wire_dump_active(uint8_t *buf, size_t cap, const uint8_t *name,
                             size_t name_len, unsigned port, int fd);
/* "old/unused name <N>, port = P, fd = F \n" and a NUL. */
size_t epmd_wire_dump_old(uint8_t *buf, size_t cap, const uint8_t *name,
                          size_t name_len, unsigned port, int fd);

/* Client requests, length field included. They return 0 when the request
 * cannot be encoded (a field too long for the 16-bit length). */
size_t epmd_wire_alive2_req(uint8_t *buf, size_t cap,
                            const struct epmd_node_info *n);
size_t epmd_wire_port2_req(uint8_t *buf, size_t cap, const uint8_t *name,
                           size_t name_len);
/* NAMES_REQ, DUMP_REQ or KILL_REQ: the tag alone. */
size_t epmd_wire_simple_req(uint8_t *buf, size_t cap, uint8_t type);
size_t epmd_wire_stop_req(uint8_t *buf, size_t cap, const uint8_t *name,
                          size_t name_len);

/* Client reply parsers. *used is set to the bytes consumed on OK. */
/* ALIVE2_X_RESP or ALIVE2_RESP. */
int epmd_wire_parse_alive2_resp(const uint8_t *buf, size_t len, size_t *used,
                                uint8_t *result, uint32_t *creation,
                                struct epmd_wire_error *err);
/* PORT2_RESP; on result != 0 n is left zeroed. */
int epmd_wire_parse_port2_resp(const uint8_t *buf, size_t len, size_t *used,
                               uint8_t *result, struct epmd_node_info *n,
                               struct epmd_wire_error *err);
/* The 4-byte port of a NAMES or DUMP reply. */
int epmd_wire_parse_names_header(const uint8_t *buf, size_t len, uint32_t *port,
                                 struct epmd_wire_error *err);
/*
 * Take the next "name N at port P\n" line from a complete NAMES reply,
 * starting at *pos (4 for the first). OK: a line was read and *pos moved
 * past it. NEED_MORE: no whole line is left. REJECT: a malformed line.
 * Names may contain spaces: the last " at port " on the line ends the name.
 */
int epmd_wire_names_next(const uint8_t *buf, size_t len, size_t *pos,
                         const uint8_t **name, size_t *name_len, uint32_t *port,
                         struct epmd_wire_error *err);

#endif
