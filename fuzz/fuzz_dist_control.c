/*
 * Fuzz the connected link: frames (4-byte lengths, ticks) through
 * frame_next, each frame through ctl_parse, as the read callback does.
 *
 * Input: a flags byte (bit 0: an atom cache was agreed, so 131 'D'
 * headers parse; the cache lives for the whole input, as on a
 * connection), then a stream of frames.
 *
 * Invariants: nothing is read past a frame (each frame is copied into a
 * buffer of its exact size; ASan); frame_next never reports a frame
 * longer than the bytes it was shown or the limit; a parsed message has
 * the fields its op needs, of the right kinds; written back with
 * ctl_frame it is one pass-through frame of the length it says, which
 * parses again to the same op and equal terms, and writes back to the
 * same bytes (the encoding is stable).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "dist_proto.h"
#include "etf.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough to keep the fuzzer fast, big enough for real frames. */
#define FUZZ_MAX_FRAME (1u << 20)

static void
check_fields(const struct ctl_msg *m)
{
    if (m->ctl == NULL || m->ctl->kind != ETF_TUPLE)
        abort();
    switch (m->op) {
    case DOP_SEND:
    case DOP_SEND_TT:
        if (m->to == NULL || m->to->kind != ETF_PID || m->payload == NULL)
            abort();
        break;
    case DOP_REG_SEND:
    case DOP_REG_SEND_TT:
        if (m->from == NULL || m->from->kind != ETF_PID || m->to == NULL ||
            m->to->kind != ETF_ATOM || m->payload == NULL)
            abort();
        break;
    case DOP_SEND_SENDER:
    case DOP_SEND_SENDER_TT:
    case DOP_PAYLOAD_EXIT:
    case DOP_PAYLOAD_EXIT_TT:
    case DOP_PAYLOAD_EXIT2:
    case DOP_PAYLOAD_EXIT2_TT:
        if (m->from == NULL || m->from->kind != ETF_PID || m->to == NULL ||
            m->to->kind != ETF_PID || m->payload == NULL)
            abort();
        break;
    case DOP_LINK:
    case DOP_UNLINK:
    case DOP_GROUP_LEADER:
    case DOP_EXIT:
    case DOP_EXIT_TT:
    case DOP_EXIT2:
    case DOP_EXIT2_TT:
        if (m->from == NULL || m->from->kind != ETF_PID || m->to == NULL ||
            m->to->kind != ETF_PID || m->payload != NULL)
            abort();
        break;
    case DOP_UNLINK_ID:
    case DOP_UNLINK_ID_ACK:
        if (m->id == NULL ||
            (m->id->kind != ETF_INT && m->id->kind != ETF_BIG) ||
            m->from == NULL || m->from->kind != ETF_PID || m->to == NULL ||
            m->to->kind != ETF_PID)
            abort();
        break;
    case DOP_MONITOR_P:
    case DOP_DEMONITOR_P:
    case DOP_MONITOR_P_EXIT:
        if (m->from == NULL || m->to == NULL || m->ref == NULL ||
            m->ref->kind != ETF_REF)
            abort();
        break;
    case DOP_PAYLOAD_MONITOR_P_EXIT:
        if (m->from == NULL || m->to == NULL || m->ref == NULL ||
            m->ref->kind != ETF_REF || m->payload == NULL ||
            m->reason != m->payload)
            abort();
        break;
    case DOP_SPAWN_REQUEST:
    case DOP_SPAWN_REQUEST_TT:
        if (m->ref == NULL || m->from == NULL || m->from->kind != ETF_PID ||
            m->group_leader == NULL || m->group_leader->kind != ETF_PID ||
            m->mfa == NULL || m->mfa->kind != ETF_TUPLE || m->payload == NULL)
            abort();
        break;
    case DOP_SPAWN_REPLY:
    case DOP_SPAWN_REPLY_TT:
        if (m->ref == NULL || m->to == NULL || m->to->kind != ETF_PID ||
            m->result == NULL || m->id == NULL)
            abort();
        break;
    case DOP_ALIAS_SEND:
    case DOP_ALIAS_SEND_TT:
        if (m->from == NULL || m->to == NULL || m->to->kind != ETF_REF ||
            m->payload == NULL)
            abort();
        break;
    default:
        abort(); /* an op ctl_parse does not know */
    }
}

/* Write m back and check it parses to the same message, stably. */
static void
check_roundtrip(etf_arena *a, const struct ctl_msg *m)
{
    etf_writer w, w2;
    uint8_t *out, *out2;
    size_t len, len2, plen;
    struct ctl_msg m2;
    char why[256];

    if (etf_writer_init_dynamic(&w, 256) < 0)
        return;
    if (ctl_frame(&w, m->ctl, m->payload) < 0) {
        /* Everything that decoded encodes (no allocation limit here). */
        abort();
    }
    out = etf_writer_release(&w, &len);
    if (frame_next(out, len, 4, SIZE_MAX, &plen) != FRAME_OK ||
        plen + 4 != len || out[4] != DIST_PASS_THROUGH)
        abort();
    if (ctl_parse(a, out + 4, plen, NULL, &m2, why, sizeof(why)) != 0)
        abort();
    if (m2.op != m->op || !etf_equal(m2.ctl, m->ctl) ||
        (m->payload == NULL) != (m2.payload == NULL) ||
        (m->payload != NULL && !etf_equal(m2.payload, m->payload)))
        abort();
    if (etf_writer_init_dynamic(&w2, 256) < 0) {
        free(out);
        return;
    }
    if (ctl_frame(&w2, m2.ctl, m2.payload) < 0)
        abort();
    out2 = etf_writer_release(&w2, &len2);
    if (len2 != len || memcmp(out, out2, len) != 0)
        abort();
    free(out);
    free(out2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    etf_atom_cache *cache = NULL;
    etf_arena *a;
    struct ctl_msg m;
    char why[256];
    size_t off, plen;
    uint8_t *frame;
    enum frame_result fr;

    if (size < 1)
        return 0;
    if ((data[0] & 1) && (cache = calloc(1, sizeof(*cache))) == NULL)
        return 0;
    if ((a = etf_arena_new()) == NULL) {
        free(cache);
        return 0;
    }
    for (off = 1; off < size;) {
        fr = frame_next(data + off, size - off, 4, FUZZ_MAX_FRAME, &plen);
        if (fr == FRAME_REJECT) {
            if (plen <= FUZZ_MAX_FRAME)
                abort();
            break;
        }
        if (fr == FRAME_NEED_MORE) {
            if (size - off >= 4 && plen <= size - off - 4)
                abort();
            break;
        }
        if (plen > size - off - 4 || plen > FUZZ_MAX_FRAME)
            abort();
        off += 4;
        if (plen == 0)
            continue; /* a tick */
        if ((frame = malloc(plen)) == NULL)
            break;
        memcpy(frame, data + off, plen);
        off += plen;
        etf_arena_reset(a);
        if (ctl_parse(a, frame, plen, cache, &m, why, sizeof(why)) == 0) {
            check_fields(&m);
            check_roundtrip(a, &m);
        } else if (memchr(why, '\0', sizeof(why)) == NULL || why[0] == '\0') {
            abort();
        }
        free(frame);
    }
    etf_arena_free(a);
    if (cache != NULL) {
        etf_atom_cache_clear(cache);
        free(cache);
    }
    return 0;
}
