/* ws_frame.h: whole WebSocket binary frames built by us, so that many small messages leave in
 * one write (lws_write sends one frame per call, one system call each). */
#ifndef MS_WS_FRAME_H
#define MS_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"

/* Messages up to this size (wire length) are batched; bigger ones go through lws_write. */
#define MS_WS_BATCH_MSG_MAX 16384
/* The frame header's largest size here: 2 + 2 length bytes + 4 mask bytes. */
#define MS_WS_FRAME_HEAD_MAX 8

/* Writes m as one final binary frame at dst (room for its wire length plus
 * MS_WS_FRAME_HEAD_MAX) and returns the bytes written. A client (mask) masks the payload
 * with a key drawn from *rng, as RFC 6455 §5.3 requires of clients. */
size_t ms_ws_frame_put(uint8_t *dst, msock_msg *m, bool mask, uint64_t *rng);

#endif
