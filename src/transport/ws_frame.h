/* ws_frame.h: WebSocket binary frames built by us: many small messages leave in one write
 * (lws_write sends one frame per call, one system call each), and a dialer masks a word at a
 * time where lws masks byte by byte. */
#ifndef MS_WS_FRAME_H
#define MS_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"

/* Messages up to this size (wire length) are batched, several to a write. */
#define MS_WS_BATCH_MSG_MAX 16384
/* The largest frame header: 2 bytes, 8 length bytes, 4 mask bytes. */
#define MS_WS_FRAME_HEAD_MAX 14

/* Writes a frame header for len payload bytes at dst and returns its size; first: the binary
 * opcode, else continuation; fin: the message's last frame. With rng (a dialer), a masking key
 * is drawn from it into key and the header says so (RFC 6455 §5.3). */
size_t ms_ws_frame_head(uint8_t *dst, bool first, bool fin, size_t len, uint64_t *rng,
                        uint8_t key[4]);
/* XORs n bytes with the key, as the frame's payload from its start. */
void ms_ws_frame_mask(uint8_t *p, size_t n, const uint8_t key[4]);
/* Writes m as one whole frame at dst (room for its wire length plus MS_WS_FRAME_HEAD_MAX)
 * and returns the bytes written; rng as above. */
size_t ms_ws_frame_put(uint8_t *dst, msock_msg *m, uint64_t *rng);

#endif
