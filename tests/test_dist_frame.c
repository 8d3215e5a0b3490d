/*
 * Length-prefixed framing: 2-byte handshake frames, 4-byte frames once
 * connected, ticks, limits, and frames arriving a byte at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dist_proto.h"
#include "frame.h"

static void
test_need_header(void **state)
{
    uint8_t b[4] = {0, 0, 0, 5};
    size_t plen = 12345;

    (void)state;
    assert_int_equal(frame_next(b, 0, 4, 100, &plen), FRAME_NEED_MORE);
    assert_int_equal(frame_next(b, 3, 4, 100, &plen), FRAME_NEED_MORE);
    assert_int_equal(frame_next(b, 1, 2, 100, &plen), FRAME_NEED_MORE);
    /* The header is there, the payload is not. */
    assert_int_equal(frame_next(b, 4, 4, 100, &plen), FRAME_NEED_MORE);
    assert_int_equal(plen, 5);
}

static void
test_whole_frames(void **state)
{
    uint8_t b[16] = {0, 0, 0, 3, 'a', 'b', 'c', 0xFF};
    uint8_t h[8] = {0, 4, 'N', 1, 2, 3};
    size_t plen = 0;

    (void)state;
    assert_int_equal(frame_next(b, 7, 4, 100, &plen), FRAME_OK);
    assert_int_equal(plen, 3);
    /* Bytes of the next frame after it do not matter. */
    assert_int_equal(frame_next(b, 8, 4, 100, &plen), FRAME_OK);
    assert_int_equal(plen, 3);
    /* 2-byte handshake framing */
    assert_int_equal(frame_next(h, 5, 2, HS_MAX_MSG, &plen), FRAME_NEED_MORE);
    assert_int_equal(frame_next(h, 6, 2, HS_MAX_MSG, &plen), FRAME_OK);
    assert_int_equal(plen, 4);
}

static void
test_tick(void **state)
{
    uint8_t b[4] = {0, 0, 0, 0};
    size_t plen = 99;

    (void)state;
    assert_int_equal(frame_next(b, 4, 4, 100, &plen), FRAME_OK);
    assert_int_equal(plen, 0);
}

static void
test_limits(void **state)
{
    uint8_t b[4];
    size_t plen;

    (void)state;
    /* exactly the limit is fine (and waits for its bytes) */
    b[0] = 0;
    b[1] = 0;
    b[2] = 1;
    b[3] = 0;
    assert_int_equal(frame_next(b, 4, 4, 256, &plen), FRAME_NEED_MORE);
    assert_int_equal(plen, 256);
    /* one over is refused at once, before any payload arrives */
    b[3] = 1;
    assert_int_equal(frame_next(b, 4, 4, 256, &plen), FRAME_REJECT);
    assert_int_equal(plen, 257);
    /* the largest 32-bit length */
    memset(b, 0xFF, 4);
    assert_int_equal(frame_next(b, 4, 4, DIST_DEFAULT_MAX_FRAME, &plen),
                     FRAME_REJECT);
    assert_int_equal(plen, 0xFFFFFFFFu);
    /* a handshake message over HS_MAX_MSG */
    b[0] = (HS_MAX_MSG + 1) >> 8;
    b[1] = (HS_MAX_MSG + 1) & 0xFF;
    assert_int_equal(frame_next(b, 2, 2, HS_MAX_MSG, &plen), FRAME_REJECT);
    /* the high bit of a 4-byte length is a length, not a sign */
    b[0] = 0x80;
    b[1] = b[2] = b[3] = 0;
    assert_int_equal(frame_next(b, 4, 4, 100, &plen), FRAME_REJECT);
    assert_int_equal(plen, 0x80000000u);
}

/* A stream of frames cut at every byte: the frames found are the frames
 * written, in order, and nothing is found early. */
static void
test_stream_byte_at_a_time(void **state)
{
    static const size_t sizes[] = {0, 1, 0, 300, 70000, 5, 0};
    const size_t n = sizeof(sizes) / sizeof(sizes[0]);
    uint8_t *stream;
    size_t total = 0, i, have, start = 0, found = 0, plen, j;

    (void)state;
    for (i = 0; i < n; i++)
        total += 4 + sizes[i];
    stream = malloc(total);
    assert_non_null(stream);
    for (i = 0, j = 0; i < n; i++) {
        stream[j++] = (uint8_t)(sizes[i] >> 24);
        stream[j++] = (uint8_t)(sizes[i] >> 16);
        stream[j++] = (uint8_t)(sizes[i] >> 8);
        stream[j++] = (uint8_t)sizes[i];
        memset(stream + j, (int)i, sizes[i]);
        j += sizes[i];
    }
    for (have = 0; have <= total; have++) {
        enum frame_result r;

        while ((r = frame_next(stream + start, have - start, 4, 100000,
                               &plen)) == FRAME_OK) {
            assert_true(found < n);
            assert_int_equal(plen, sizes[found]);
            assert_true(start + 4 + plen <= have);
            /* exactly when the last byte arrived */
            assert_int_equal(start + 4 + plen, have);
            if (plen > 0)
                assert_int_equal(stream[start + 4 + plen - 1], found);
            start += 4 + plen;
            found++;
        }
        assert_int_equal(r, FRAME_NEED_MORE);
    }
    assert_int_equal(found, n);
    assert_int_equal(start, total);
    free(stream);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_need_header),
        cmocka_unit_test(test_whole_frames),
        cmocka_unit_test(test_tick),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_stream_byte_at_a_time),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
