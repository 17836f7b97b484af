/* pair.c: PAIR v0 (0x10): one peer at a time, messages both ways, no header; raw is the same. */
#include "protocol/protocol.h"

#define PAIR0(raw_mode)                                                                   \
    {                                                                                     \
        .self = MSOCK_PROTO_PAIR0, .peer = MSOCK_PROTO_PAIR0, .name = "pair",             \
        .peer_name = "pair", .raw = raw_mode, .max_pipes = 1, .send_policy = MS_SEND_ONE, \
        .recv_policy = MS_RECV_ALL,                                                       \
    }

const ms_protocol ms_protocol_pair0 = PAIR0(false);
const ms_protocol ms_protocol_pair0_raw = PAIR0(true);

int msock_pair_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_pair0, s);
}
