/* pipeline.c: PUSH (0x50) load-balances round robin over its pullers and blocks when none can
 * take a message; PULL (0x51) fair-queues from every pusher. No header on the wire. */
#include "protocol/protocol.h"

const ms_protocol ms_protocol_push = {
    .self = MSOCK_PROTO_PUSH,
    .peer = MSOCK_PROTO_PULL,
    .name = "push",
    .peer_name = "pull",
    .send_policy = MS_SEND_ONE,
    .recv_policy = MS_RECV_NONE,
};

const ms_protocol ms_protocol_pull = {
    .self = MSOCK_PROTO_PULL,
    .peer = MSOCK_PROTO_PUSH,
    .name = "pull",
    .peer_name = "push",
    .send_policy = MS_SEND_NONE,
    .recv_policy = MS_RECV_ALL,
};

int msock_push_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_push, s);
}

int msock_pull_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_pull, s);
}
