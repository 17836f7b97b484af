/* tls.c: the tls+tcp://, tls+tcp4:// and tls+tcp6:// transports: SP stream framing over TLS
 * (OpenSSL) over TCP, the way nng's tls+tcp does it: the TLS handshake, then the SP header. */
#include "transport/sp_codec.h"
#include "transport/stream.h"
#include "transport/transport.h"

static int tls_dialer_init(ms_endpoint *ep, void **tp)
{
    return ms_stream_dialer_init(ep, tp, &ms_stream_kind_tls);
}

static int tls_listener_init(ms_endpoint *ep, void **tp)
{
    return ms_stream_listener_init(ep, tp, &ms_stream_kind_tls);
}

#define TLS_TRANSPORT(name)                                                                \
    {                                                                                      \
        .scheme = name, .dialer_init = tls_dialer_init,                                    \
        .dialer_connect = ms_stream_dialer_connect, .dialer_close = ms_stream_dialer_close, \
        .dialer_fini = ms_stream_dialer_fini, .listener_init = tls_listener_init,          \
        .listener_bind = ms_stream_listener_bind, .listener_start = ms_stream_listener_start, \
        .listener_close = ms_stream_listener_close, .listener_fini = ms_stream_listener_fini, \
    }

const ms_transport ms_transport_tls_tcp = TLS_TRANSPORT("tls+tcp");
const ms_transport ms_transport_tls_tcp4 = TLS_TRANSPORT("tls+tcp4");
const ms_transport ms_transport_tls_tcp6 = TLS_TRANSPORT("tls+tcp6");
