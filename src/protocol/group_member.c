/* group_member.c: placeholder descriptor until the group client is written. */
#include "protocol/protocol.h"

const ms_protocol ms_protocol_group = {
    .self = MSOCK_PROTO_GROUP, .peer = MSOCK_PROTO_GROUP_HUB, .name = "group",
    .peer_name = "group-hub", .max_pipes = 1, .send_policy = MS_SEND_ONE,
    .recv_policy = MS_RECV_ALL, .options = MS_POPT_GROUP,
};
