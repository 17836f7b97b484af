/* pipeline.c: PUSH (0x50) load-balances round robin over its pullers and blocks when none can
 * take a message; PULL (0x51) fair-queues from every pusher. No header on the wire; raw mode
 * is the same. */
#include "protocol/protocol.h"

#define PUSH(raw_mode)                                                                    \
    {                                                                                     \
        .self = MSOCK_PROTO_PUSH, .peer = MSOCK_PROTO_PULL, .name = "push",               \
        .peer_name = "pull", .raw = raw_mode, .send_policy = MS_SEND_ONE,                 \
        .recv_policy = MS_RECV_NONE,                                                      \
    }
#define PULL(raw_mode)                                                                    \
    {                                                                                     \
        .self = MSOCK_PROTO_PULL, .peer = MSOCK_PROTO_PUSH, .name = "pull",               \
        .peer_name = "push", .raw = raw_mode, .send_policy = MS_SEND_NONE,                \
        .recv_policy = MS_RECV_ALL,                                                       \
    }

const ms_protocol ms_protocol_push = PUSH(false);
const ms_protocol ms_protocol_push_raw = PUSH(true);
const ms_protocol ms_protocol_pull = PULL(false);
const ms_protocol ms_protocol_pull_raw = PULL(true);

int msock_push_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_push, s);
}

int msock_pull_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_pull, s);
}
