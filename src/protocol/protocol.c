/* protocol.c: opening a socket for a protocol declaration, by opener or by number. */
#include "protocol/protocol.h"
#include "socket/pipe.h"
#include "socket/socket.h"

int ms_protocol_open(const ms_protocol *p, msock_socket *out)
{
    if (out == NULL)
        return MSOCK_EINVAL;
    ms_socket *s;
    int rv = ms_socket_create(&s, p);
    if (rv != 0)
        return rv;
    out->id = s->id;
    return 0;
}

void ms_protocol_count(ms_socket *s, ms_pipe *p, int stat)
{
    ms_socket_stat_add(s, stat, 1);
    if (p != NULL)
        ms_pipe_stat_add(p, stat, 1);
}

static const struct {
    const ms_protocol *cooked, *raw;
} protocols[] = {
    {&ms_protocol_pair0, &ms_protocol_pair0_raw},
    {&ms_protocol_pair1, &ms_protocol_pair1_raw},
    {&ms_protocol_pub, &ms_protocol_pub_raw},
    {&ms_protocol_sub, &ms_protocol_sub_raw},
    {&ms_protocol_req, &ms_protocol_req_raw},
    {&ms_protocol_rep, &ms_protocol_rep_raw},
    {&ms_protocol_push, &ms_protocol_push_raw},
    {&ms_protocol_pull, &ms_protocol_pull_raw},
    {&ms_protocol_surveyor, &ms_protocol_surveyor_raw},
    {&ms_protocol_respondent, &ms_protocol_respondent_raw},
    {&ms_protocol_bus, &ms_protocol_bus_raw},
    {&ms_protocol_group_hub, NULL},
    {&ms_protocol_group, NULL},
};

int msock_socket_open(msock_socket *s, int proto, int flags)
{
    if (s == NULL || (flags & ~MSOCK_OPEN_RAW))
        return MSOCK_EINVAL;
    for (size_t i = 0; i < MS_ARRAY_LEN(protocols); i++)
        if (protocols[i].cooked->self == proto) {
            const ms_protocol *p = (flags & MSOCK_OPEN_RAW) ? protocols[i].raw : protocols[i].cooked;
            return p != NULL ? ms_protocol_open(p, s) : MSOCK_ENOTSUP;
        }
    return MSOCK_ENOTSUP;
}
