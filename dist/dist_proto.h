/*
 * Wire contract of Erlang distribution (erts/doc/src/erl_dist_protocol.xml,
 * erts/emulator/beam/dist.h, lib/kernel/src/dist_util.erl).
 */
#ifndef DIST_PROTO_H
#define DIST_PROTO_H

#include <stdint.h>

/* Distribution capability flags. */
#define DFLAG_PUBLISHED 0x1ULL
#define DFLAG_EXTENDED_REFERENCES 0x4ULL
#define DFLAG_DIST_MONITOR 0x8ULL
#define DFLAG_FUN_TAGS 0x10ULL
#define DFLAG_DIST_MONITOR_NAME 0x20ULL
#define DFLAG_NEW_FUN_TAGS 0x80ULL
#define DFLAG_EXTENDED_PIDS_PORTS 0x100ULL
#define DFLAG_EXPORT_PTR_TAG 0x200ULL
#define DFLAG_BIT_BINARIES 0x400ULL
#define DFLAG_NEW_FLOATS 0x800ULL
#define DFLAG_UNICODE_IO 0x1000ULL
#define DFLAG_DIST_HDR_ATOM_CACHE 0x2000ULL
#define DFLAG_SMALL_ATOM_TAGS 0x4000ULL
#define DFLAG_UTF8_ATOMS 0x10000ULL
#define DFLAG_MAP_TAG 0x20000ULL
#define DFLAG_BIG_CREATION 0x40000ULL
#define DFLAG_SEND_SENDER 0x80000ULL
#define DFLAG_BIG_SEQTRACE_LABELS 0x100000ULL
#define DFLAG_EXIT_PAYLOAD 0x400000ULL
#define DFLAG_FRAGMENTS 0x800000ULL
#define DFLAG_HANDSHAKE_23 0x1000000ULL
#define DFLAG_UNLINK_ID 0x2000000ULL
/* Stands for the whole OTP 25 mandatory set (dist.hrl; not bit 36). */
#define DFLAG_MANDATORY_25_DIGEST 0x4000000ULL
#define DFLAG_SPAWN (1ULL << 32)
#define DFLAG_NAME_ME (1ULL << 33)
#define DFLAG_V4_NC (1ULL << 34)
#define DFLAG_ALIAS (1ULL << 35)

/* What OTP 25 requires of a peer (erts_internal:get_dflags/0 on 25.2). */
#define DFLAG_MANDATORY_25                                                     \
    (DFLAG_EXTENDED_REFERENCES | DFLAG_FUN_TAGS | DFLAG_NEW_FUN_TAGS |         \
     DFLAG_EXTENDED_PIDS_PORTS | DFLAG_EXPORT_PTR_TAG | DFLAG_BIT_BINARIES |   \
     DFLAG_NEW_FLOATS | DFLAG_UTF8_ATOMS | DFLAG_MAP_TAG |                     \
     DFLAG_BIG_CREATION | DFLAG_HANDSHAKE_23)
/* OTP 26 adds these (DFLAG_DIST_MANDATORY_26 in dist.h). */
#define DFLAG_MANDATORY_26 (DFLAG_V4_NC | DFLAG_UNLINK_ID)

/* What we require of peers: enough to decode all they may send us. */
#define DFLAG_WE_REQUIRE DFLAG_MANDATORY_25

/* What we offer. Atom cache and fragments are left out, so peers send
 * pass-through frames; every offered flag is handled (monitors, spawn
 * requests, aliases, unlink ids, exit payloads, send-sender). */
#define DFLAG_WE_OFFER                                                         \
    (DFLAG_MANDATORY_25 | DFLAG_MANDATORY_25_DIGEST | DFLAG_MANDATORY_26 |     \
     DFLAG_DIST_MONITOR | DFLAG_DIST_MONITOR_NAME | DFLAG_UNICODE_IO |         \
     DFLAG_SMALL_ATOM_TAGS | DFLAG_SEND_SENDER | DFLAG_BIG_SEQTRACE_LABELS |   \
     DFLAG_EXIT_PAYLOAD | DFLAG_SPAWN | DFLAG_ALIAS)

/* Handshake message tags. */
#define HS_TAG_NAME_OLD 'n'
#define HS_TAG_NAME 'N'
#define HS_TAG_STATUS 's'
#define HS_TAG_COMPLEMENT 'c'
#define HS_TAG_REPLY 'r'
#define HS_TAG_ACK 'a'

/* The version a node registering with EPMD as HighestVersion 6 speaks. */
#define DIST_VERSION_6 6
#define DIST_VERSION_5 5

/* Control message operations (dist.h enum dop). */
enum dop {
    DOP_LINK = 1,
    DOP_SEND = 2,
    DOP_EXIT = 3,
    DOP_UNLINK = 4,
    DOP_REG_SEND = 6,
    DOP_GROUP_LEADER = 7,
    DOP_EXIT2 = 8,
    DOP_SEND_TT = 12,
    DOP_EXIT_TT = 13,
    DOP_REG_SEND_TT = 16,
    DOP_EXIT2_TT = 18,
    DOP_MONITOR_P = 19,
    DOP_DEMONITOR_P = 20,
    DOP_MONITOR_P_EXIT = 21,
    DOP_SEND_SENDER = 22,
    DOP_SEND_SENDER_TT = 23,
    DOP_PAYLOAD_EXIT = 24,
    DOP_PAYLOAD_EXIT_TT = 25,
    DOP_PAYLOAD_EXIT2 = 26,
    DOP_PAYLOAD_EXIT2_TT = 27,
    DOP_PAYLOAD_MONITOR_P_EXIT = 28,
    DOP_SPAWN_REQUEST = 29,
    DOP_SPAWN_REQUEST_TT = 30,
    DOP_SPAWN_REPLY = 31,
    DOP_SPAWN_REPLY_TT = 32,
    DOP_ALIAS_SEND = 33,
    DOP_ALIAS_SEND_TT = 34,
    DOP_UNLINK_ID = 35,
    DOP_UNLINK_ID_ACK = 36,
};

/* Pass-through frames start with this byte (then 131 <ctl> [131 <msg>]). */
#define DIST_PASS_THROUGH 112

/* Handshake messages are small: a name of at most 255 UTF-8 characters,
 * flags and numbers. Refuse anything larger before authentication. */
#define HS_MAX_MSG 2048
/* Largest frame we accept after the handshake: OTP has no limit below
 * 2^32; a gateway must not let one peer take all its memory. */
#define DIST_DEFAULT_MAX_FRAME (64u * 1024 * 1024)
/* The whole handshake must finish within net_setuptime (7 s in OTP). */
#define HS_TIMEOUT_SEC 7
/* net_ticktime: a peer silent for this long is down; we tick every
 * quarter of it. */
#define DIST_DEFAULT_TICKTIME 60

#endif
