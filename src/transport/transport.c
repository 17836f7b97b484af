/* transport.c: the registry of transports, checked once when first used. */
#include <assert.h>
#include <strings.h>

#include "transport/transport.h"

static const ms_transport *const transports[] = {
    &ms_transport_inproc, &ms_transport_ipc, &ms_transport_tcp, &ms_transport_tcp4, &ms_transport_tcp6,
    &ms_transport_tls_tcp, &ms_transport_tls_tcp4, &ms_transport_tls_tcp6,
#ifdef MSOCK_HAVE_WS
    &ms_transport_ws, &ms_transport_wss,
#endif
};

static bool transport_complete(const ms_transport *t)
{
    return t->scheme && t->dialer_init && t->dialer_connect && t->dialer_close && t->dialer_fini &&
           t->listener_init && t->listener_bind && t->listener_start && t->listener_close &&
           t->listener_fini;
}

const ms_transport *ms_transport_find(const char *scheme)
{
    for (size_t i = 0; i < MS_ARRAY_LEN(transports); i++) {
        assert(transport_complete(transports[i]));
        if (strcasecmp(transports[i]->scheme, scheme) == 0)
            return transports[i];
    }
    return NULL;
}
