/* api.h: helpers shared by the public entry points: handle lookup with hold/release. */
#ifndef MS_API_H
#define MS_API_H

#include "socket/endpoint.h"
#include "socket/pipe.h"
#include "socket/socket.h"

/* Each returns the held object or NULL (the caller answers MSOCK_ECLOSED). */
static inline ms_socket *ms_api_socket(msock_socket s)
{
    return s.id ? ms_socket_find(s.id) : NULL;
}
static inline ms_endpoint *ms_api_dialer(msock_dialer d)
{
    return d.id ? ms_endpoint_find(d.id, MS_DIALER) : NULL;
}
static inline ms_endpoint *ms_api_listener(msock_listener l)
{
    return l.id ? ms_endpoint_find(l.id, MS_LISTENER) : NULL;
}

/* msock_recv's contract for a received message: copies at most *len bytes of its body into
 * buf, sets *len to the body's full length and frees the message. */
void ms_api_copy_out(msock_msg *m, void *buf, size_t *len);

#endif
