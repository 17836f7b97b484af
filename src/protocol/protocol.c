/* protocol.c: opening a socket for a protocol declaration. */
#include "protocol/protocol.h"
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
