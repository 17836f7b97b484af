/* pair1.c: PAIR v1 (0x11, nng's): one peer, messages both ways, each led on the wire by a
 * 32-bit hop count that every hop increments and receivers check against MAXTTL. */
#include <string.h>

#include "core/msg.h"
#include "protocol/protocol.h"
#include "socket/sender.h"
#include "socket/socket.h"

#define PAIR1_HOPS_MAX 255 /* a larger count is garbage, not a long route */

static int pair1_recv_hook(ms_socket *s, ms_pipe *p, msock_msg *m)
{
    uint32_t hops = m->len >= 4 ? ms_get32(m->body) : UINT32_MAX;
    if (hops > PAIR1_HOPS_MAX) {
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_MALFORMED);
        return MS_RX_CLOSE;
    }
    if (hops > (uint32_t)s->opts.maxttl) {
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_TTL);
        return MS_RX_DROP;
    }
    if (s->proto->raw && ms_msg_header_append(m, m->body, 4) != 0)
        return MS_RX_DROP;
    m->body += 4;
    m->len -= 4;
    return MS_RX_KEEP;
}

static int pair1_send(ms_socket *s, msock_msg *m, int64_t deadline, bool nonblock)
{
    uint32_t hops = 1; /* what a cooked sender's own hop makes of 0 */
    uint8_t given[4] = {0};
    if (s->proto->raw) {
        if (m->header_len != 4)
            return MSOCK_EINVAL;
        memcpy(given, ms_msg_hdr(m), 4);
        hops = ms_get32(given) + 1;
        pthread_mutex_lock(&s->mtx);
        bool too_far = hops > (uint32_t)s->opts.maxttl;
        pthread_mutex_unlock(&s->mtx);
        if (too_far) {
            ms_protocol_count(s, NULL, MSOCK_STAT_DROPS_TTL);
            ms_msg_free(m);
            return 0;
        }
    }
    uint8_t word[4];
    ms_put32(word, hops);
    ms_msg_header_clear(m);
    ms_msg_header_append(m, word, 4);
    int rv = ms_sender_send(s, m, deadline, nonblock, NULL);
    if (rv != 0) {
        ms_msg_header_clear(m);
        if (s->proto->raw)
            ms_msg_header_append(m, given, 4);
    }
    return rv;
}

#define PAIR1(raw_mode)                                                                   \
    {                                                                                     \
        .self = MSOCK_PROTO_PAIR1, .peer = MSOCK_PROTO_PAIR1, .name = "pair1",            \
        .peer_name = "pair1", .raw = raw_mode, .max_pipes = 1, .send_policy = MS_SEND_ONE, \
        .recv_policy = MS_RECV_ALL, .options = MS_POPT_MAXTTL,                            \
        .recv_hook = pair1_recv_hook, .send = pair1_send,                                 \
    }

const ms_protocol ms_protocol_pair1 = PAIR1(false);
const ms_protocol ms_protocol_pair1_raw = PAIR1(true);

int msock_pair1_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_pair1, s);
}
