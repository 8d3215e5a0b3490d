/*
 * Length-prefixed framing, resumable and without I/O: the read callback
 * pulls bytes up and asks whether a whole frame is there.
 */
#ifndef DIST_FRAME_H
#define DIST_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum frame_result {
    FRAME_REJECT = -1,   /* length over the limit: drop the peer */
    FRAME_NEED_MORE = 0, /* wait for more bytes */
    FRAME_OK = 1,        /* a frame of *plen bytes starts at buf + hdr */
};

/* Look at len buffered bytes for one frame with a hdr-byte (2 or 4)
 * big-endian length; frames over max are refused. A zero-length frame
 * (a tick once connected) is FRAME_OK with *plen 0. */
enum frame_result frame_next(const uint8_t *buf, size_t len, unsigned hdr,
                             size_t max, size_t *plen);

#endif
