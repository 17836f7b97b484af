/* tcp.c: the tcp://, tcp4:// and tcp6:// transports: SP stream framing over TCP sockets. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "transport/sp_codec.h"
#include "transport/stream.h"
#include "transport/transport.h"

static int tcp_resolve(ms_endpoint *ep, ms_sockaddr *sa, bool for_listen)
{
    return ms_sockaddr_tcp(sa, &ep->url, for_listen);
}

static void tcp_prepare(ms_endpoint *ep, int fd)
{
    int nodelay = ep->opts.tcp_nodelay, keepalive = ep->opts.tcp_keepalive;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, sizeof keepalive);
}

static const ms_stream_kind tcp_kind = {
    .framing = MS_SP_FRAMING_TCP,
    .resolve = tcp_resolve,
    .prepare = tcp_prepare,
};

const ms_stream_kind ms_stream_kind_tls = {
    .framing = MS_SP_FRAMING_TCP,
    .resolve = tcp_resolve,
    .prepare = tcp_prepare,
    .tls = true,
};

static int tcp_dialer_init(ms_endpoint *ep, void **tp)
{
    return ms_stream_dialer_init(ep, tp, &tcp_kind);
}

static int tcp_listener_init(ms_endpoint *ep, void **tp)
{
    return ms_stream_listener_init(ep, tp, &tcp_kind);
}

#define TCP_TRANSPORT(name)                                                                \
    {                                                                                      \
        .scheme = name, .dialer_init = tcp_dialer_init,                                    \
        .dialer_connect = ms_stream_dialer_connect, .dialer_close = ms_stream_dialer_close, \
        .dialer_fini = ms_stream_dialer_fini, .listener_init = tcp_listener_init,          \
        .listener_bind = ms_stream_listener_bind, .listener_start = ms_stream_listener_start, \
        .listener_close = ms_stream_listener_close, .listener_fini = ms_stream_listener_fini, \
    }

const ms_transport ms_transport_tcp = TCP_TRANSPORT("tcp");
const ms_transport ms_transport_tcp4 = TCP_TRANSPORT("tcp4");
const ms_transport ms_transport_tcp6 = TCP_TRANSPORT("tcp6");
