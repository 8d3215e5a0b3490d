/*
 * The EPMD wire contract: request and reply tags, and every limit, each
 * with where it comes from. Sources: OTP's erts/epmd/src/epmd.h and
 * epmd_int.h, erts/doc/src/erl_dist_protocol.xml, and probes of OTP 25.2.3.
 */
#ifndef EPMD_PROTO_H
#define EPMD_PROTO_H

/* Default TCP port: EPMD_PORT_NO in erts/epmd/epmd.mk (IANA "epmd"). */
#define EPMD_DEFAULT_PORT 4369

/* Request tags (erl_dist_protocol.xml; epmd.h). */
#define EPMD_ALIVE2_REQ 'x'       /* 120: register a node */
#define EPMD_PORT_PLEASE2_REQ 'z' /* 122: look a node up ("PORT2_REQ") */
#define EPMD_NAMES_REQ 'n'        /* 110: list registered names */
#define EPMD_DUMP_REQ 'd'         /* 100: debugging dump */
#define EPMD_KILL_REQ 'k'         /* 107: stop the daemon */
#define EPMD_STOP_REQ 's'         /* 115: force-unregister a name */

/* Reply tags. */
#define EPMD_ALIVE2_X_RESP 'v' /* 118: 32-bit creation (OTP 23+) */
#define EPMD_ALIVE2_RESP 'y'   /* 121: 16-bit creation */
#define EPMD_PORT2_RESP 'w'    /* 119 */

/* The first distribution version with 32-bit creations: a node whose
 * highest version is at least this gets ALIVE2_X_RESP (erl_dist_protocol
 * .xml, "ALIVE2_X_RESP"; epmd_srv.c chooses on HighestVersion >= 6). */
#define EPMD_DIST_VSN_X_RESP 6

/* Longest symbol: MAXSYMLEN = 255 characters * 4 bytes of UTF-8
 * (epmd_int.h). Bounds a name in bytes, and the extra field. */
#define EPMD_MAXSYMLEN (255 * 4)
/* Most characters in a node name (epmd_srv.c, node_reg2 and PORT2_REQ). */
#define EPMD_MAX_NAME_CHARS 255

/* Input buffer: INBUF_SIZE = 3 * MAXSYMLEN (epmd_int.h). A request whose
 * length field plus the 2 header bytes reaches it is refused, so the
 * largest accepted length field is INBUF_SIZE - 3 = 3057 (probed). */
#define EPMD_INBUF_SIZE (3 * EPMD_MAXSYMLEN)
#define EPMD_MAX_REQUEST_LEN (EPMD_INBUF_SIZE - 3)

/* ALIVE2_REQ fixed part after the tag: port 2, type 1, proto 1, high 2,
 * low 2, nlen 2 = 10 bytes; with the tag and elen OTP requires more than
 * 13 bytes (epmd_srv.c "bsize <= 13"). */
#define EPMD_ALIVE2_MIN_LEN 14

/* Creation reported with a refused ALIVE2 (epmd_srv.c "put_int16(99"). */
#define EPMD_REFUSED_CREATION 99
/* Creations below this are raised to it (OTP commit 69d79d8cee, "Avoid
 * big creations smaller than 4"): 0..3 are the old 2-bit creations. */
#define EPMD_MIN_BIG_CREATION 4

/* Unregistered names remembered so a returning name gets a new creation:
 * MAX_UNREG_COUNT, and DEBUG_MAX_UNREG_COUNT with -d (epmd_int.h). */
#define EPMD_MAX_UNREG 1000
#define EPMD_DEBUG_MAX_UNREG 5

/* Default -packet_timeout: CLOSE_TIMEOUT in epmd_int.h, seconds. */
#define EPMD_CLOSE_TIMEOUT 60

/* Most listen sockets: MAX_LISTEN_SOCKETS in epmd_int.h. */
#define EPMD_MAX_LISTEN 16

/* -stop refuses longer names client-side (epmd_cli.c, "Name too long!"). */
#define EPMD_STOP_NAME_MAX 1000

/* KILL_REQ and STOP_REQ replies (epmd_srv.c). */
#define EPMD_KILL_OK "OK"
#define EPMD_KILL_NO "NO"
#define EPMD_STOP_OK "STOPPED"
#define EPMD_STOP_NOEXIST "NOEXIST"

/* Node types in ALIVE2_REQ (erl_dist_protocol.xml); stored, not checked. */
#define EPMD_NODE_NORMAL 77
#define EPMD_NODE_HIDDEN 72

#endif
