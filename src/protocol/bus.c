/* bus.c: BUS (0x70): a send reaches every directly connected peer, nothing is forwarded. Raw
 * mode tags received messages with their pipe so a device can skip it when passing them on. */
#include "core/msg.h"
#include "protocol/protocol.h"
#include "socket/sender.h"
#include "socket/socket.h"

static int bus_raw_recv_hook(ms_socket *s, ms_pipe *p, msock_msg *m)
{
    (void)s;
    (void)p;
    uint8_t word[4];
    ms_put32(word, m->pipe_id);
    return ms_msg_header_append(m, word, 4) == 0 ? MS_RX_KEEP : MS_RX_DROP;
}

static int bus_raw_send(ms_socket *s, msock_msg *m, int64_t deadline, bool nonblock)
{
    (void)deadline;
    (void)nonblock;
    uint32_t skip = 0;
    if (m->header_len == 4)
        skip = ms_get32(ms_msg_hdr(m));
    else if (m->header_len != 0)
        return MSOCK_EINVAL;
    ms_msg_header_clear(m);
    return ms_sender_send_all(s, m, skip);
}

const ms_protocol ms_protocol_bus = {
    .self = MSOCK_PROTO_BUS, .peer = MSOCK_PROTO_BUS, .name = "bus", .peer_name = "bus",
    .send_policy = MS_SEND_ALL, .recv_policy = MS_RECV_ALL,
};

const ms_protocol ms_protocol_bus_raw = {
    .self = MSOCK_PROTO_BUS, .peer = MSOCK_PROTO_BUS, .name = "bus", .peer_name = "bus",
    .raw = true, .send_policy = MS_SEND_ALL, .recv_policy = MS_RECV_ALL,
    .recv_hook = bus_raw_recv_hook, .send = bus_raw_send,
};

int msock_bus_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_bus, s);
}
