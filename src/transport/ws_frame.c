/* ws_frame.c: encodes WebSocket binary frames (header, payload, dialer-side masking). */
#include <string.h>

#include "transport/ws_frame.h"

/* xorshift64*: the masking key only has to be unpredictable to page scripts, which never see
 * our frames; it is seeded per connection from the system's random source. */
static uint32_t next_key(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

void ms_ws_frame_mask(uint8_t *p, size_t n, const uint8_t key[4])
{
    uint64_t k8;
    memcpy(&k8, key, 4);
    memcpy((uint8_t *)&k8 + 4, key, 4);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= k8;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= key[i & 3];
}

size_t ms_ws_frame_head(uint8_t *dst, bool first, bool fin, size_t len, uint64_t *rng,
                        uint8_t key[4])
{
    size_t h = 0;
    dst[h++] = (uint8_t)((fin ? 0x80 : 0) | (first ? 0x2 : 0x0));
    uint8_t mbit = rng ? 0x80 : 0;
    if (len < 126) {
        dst[h++] = (uint8_t)(mbit | len);
    } else if (len < 65536) {
        dst[h++] = mbit | 126;
        dst[h++] = (uint8_t)(len >> 8);
        dst[h++] = (uint8_t)len;
    } else {
        dst[h++] = mbit | 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            dst[h++] = (uint8_t)((uint64_t)len >> shift);
    }
    if (rng) {
        uint32_t k = next_key(rng);
        memcpy(key, &k, 4);
        memcpy(dst + h, key, 4);
        h += 4;
    }
    return h;
}

size_t ms_ws_frame_put(uint8_t *dst, msock_msg *m, uint64_t *rng)
{
    size_t len = ms_msg_wire_len(m);
    uint8_t key[4];
    size_t h = ms_ws_frame_head(dst, true, true, len, rng, key);
    uint8_t *p = dst + h;
    if (m->header_len)
        memcpy(p, ms_msg_hdr(m), m->header_len);
    memcpy(p + m->header_len, m->body, m->len);
    if (rng)
        ms_ws_frame_mask(p, len, key);
    return h + len;
}
