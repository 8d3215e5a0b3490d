/*
 * Length-prefixed framing.
 */
#include "frame.h"

enum frame_result
frame_next(const uint8_t *buf, size_t len, unsigned hdr, size_t max,
           size_t *plen)
{
    size_t n;

    if (len < hdr)
        return FRAME_NEED_MORE;
    if (hdr == 2)
        n = ((size_t)buf[0] << 8) | buf[1];
    else
        n = ((size_t)buf[0] << 24) | ((size_t)buf[1] << 16) |
            ((size_t)buf[2] << 8) | buf[3];
    *plen = n;
    if (n > max)
        return FRAME_REJECT;
    if (len - hdr < n)
        return FRAME_NEED_MORE;
    return FRAME_OK;
}
