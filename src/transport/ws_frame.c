/* ws_frame.c: encodes a small message as one whole, optionally masked, binary frame. */
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

static void mask_bytes(uint8_t *p, size_t n, const uint8_t key[4])
{
    uint32_t k;
    memcpy(&k, key, 4);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t w;
        memcpy(&w, p + i, 4);
        w ^= k;
        memcpy(p + i, &w, 4);
    }
    for (; i < n; i++)
        p[i] ^= key[i & 3];
}

size_t ms_ws_frame_put(uint8_t *dst, msock_msg *m, bool mask, uint64_t *rng)
{
    size_t len = ms_msg_wire_len(m), h = 0;
    dst[h++] = 0x82; /* FIN, binary */
    uint8_t mbit = mask ? 0x80 : 0;
    if (len < 126) {
        dst[h++] = (uint8_t)(mbit | len);
    } else {
        dst[h++] = mbit | 126;
        dst[h++] = (uint8_t)(len >> 8);
        dst[h++] = (uint8_t)len;
    }
    uint8_t key[4];
    if (mask) {
        uint32_t k = next_key(rng);
        memcpy(key, &k, 4);
        memcpy(dst + h, key, 4);
        h += 4;
    }
    uint8_t *p = dst + h;
    if (m->header_len)
        memcpy(p, ms_msg_hdr(m), m->header_len);
    memcpy(p + m->header_len, m->body, m->len);
    if (mask)
        mask_bytes(p, len, key);
    return h + len;
}
