/* group_hub.c: placeholder descriptor until the hub is written. */
#include "protocol/protocol.h"

const ms_protocol ms_protocol_group_hub = {
    .self = MSOCK_PROTO_GROUP_HUB, .peer = MSOCK_PROTO_GROUP, .name = "group-hub",
    .peer_name = "group", .send_policy = MS_SEND_NONE, .recv_policy = MS_RECV_ALL,
    .options = MS_POPT_GROUP_HUB,
};
