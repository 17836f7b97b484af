/* sp_codec.h: the bytes of SP over byte streams (tcp and ipc): the 8-byte connection header
 * and the length-prefixed message framing, with an incremental decoder that never allocates
 * more than the receive max size allows. */
#ifndef MS_SP_CODEC_H
#define MS_SP_CODEC_H

#include "core/defs.h"

#define MS_SP_HEADER_LEN 8

/* Writes 00 'S' 'P' 00 <proto u16 BE> 00 00. */
void ms_sp_header_encode(uint8_t out[MS_SP_HEADER_LEN], uint16_t proto);
/* Checks all 8 bytes (magic, version 0, reserved zero). 0 and *proto, or MSOCK_EPROTO. */
int ms_sp_header_decode(const uint8_t in[MS_SP_HEADER_LEN], uint16_t *proto);

enum ms_sp_framing {
    MS_SP_FRAMING_TCP = 0, /* u64 BE length, payload */
    MS_SP_FRAMING_IPC = 1, /* 0x01, u64 BE length, payload */
};
/* Bytes before each payload: 8 for tcp, 9 for ipc. */
size_t ms_sp_prefix_len(int framing);
/* Writes the prefix for a payload of len bytes; returns the prefix length. */
size_t ms_sp_prefix_encode(uint8_t *out, int framing, uint64_t len);

/* Incremental decoder for the message stream after the connection header. */
typedef struct ms_sp_decoder {
    int framing;
    size_t max_size;      /* 0 = unlimited */
    uint8_t prefix[9];
    size_t prefix_have;
    msock_msg *msg;       /* message being filled, allocated once its length is known */
    size_t body_have;
} ms_sp_decoder;

void ms_sp_decoder_init(ms_sp_decoder *d, int framing, size_t max_size);
/* Frees a partly received message. */
void ms_sp_decoder_fini(ms_sp_decoder *d);
/* Consumes bytes from buf[0..len). Sets *used to the bytes consumed. Returns:
 *   1  a whole message is in *out (the payload is its body, header_len 0; caller owns it);
 *      call again with the rest of the buffer;
 *   0  every byte was consumed and more are needed (*out untouched);
 *   MSOCK_EMSGSIZE  the length is over max_size (nothing was allocated for it);
 *   MSOCK_EPROTO    ipc type byte is not 0x01;
 *   MSOCK_ENOMEM.
 * After an error the decoder must not be fed again. */
int ms_sp_decoder_feed(ms_sp_decoder *d, const uint8_t *buf, size_t len, size_t *used,
                       msock_msg **out);
/* When a large body is being filled, where the next body bytes go and how many are still
 * missing (so the caller can read() straight into the message); NULL when no body is open. */
uint8_t *ms_sp_decoder_body_room(ms_sp_decoder *d, size_t *missing);
/* Bytes still missing from the next length prefix; 0 while a body is open. A reader that
 * expects big messages reads just these, then the body straight into its message. */
size_t ms_sp_decoder_prefix_missing(const ms_sp_decoder *d);
/* Records n bytes written at ms_sp_decoder_body_room; returns 1 and *out when the message is
 * complete, else 0. */
int ms_sp_decoder_body_filled(ms_sp_decoder *d, size_t n, msock_msg **out);

#endif
