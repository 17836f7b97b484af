/* ipc.c: the ipc:// transport: SP stream framing (with its type byte) over unix sockets. */
#include <sys/socket.h>

#include "transport/sp_codec.h"
#include "transport/stream.h"
#include "transport/transport.h"

static int ipc_resolve(ms_endpoint *ep, ms_sockaddr *sa, bool for_listen)
{
    MS_UNUSED(for_listen);
    return ms_sockaddr_ipc(sa, &ep->url);
}

/* Unix socket buffers default to ~200 KiB, three 64 KiB messages: a bigger buffer lets a
 * writer hand over several at once instead of waking on every EPOLLOUT. The kernel caps the
 * request at net.core.wmem_max / rmem_max. */
#define IPC_SOCKET_BUFFER (1024 * 1024)

static void ipc_prepare(ms_endpoint *ep, int fd)
{
    MS_UNUSED(ep);
    int size = IPC_SOCKET_BUFFER;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static const ms_stream_kind ipc_kind = {
    .framing = MS_SP_FRAMING_IPC,
    .resolve = ipc_resolve,
    .prepare = ipc_prepare,
};

static int ipc_dialer_init(ms_endpoint *ep, void **tp)
{
    return ms_stream_dialer_init(ep, tp, &ipc_kind);
}

static int ipc_listener_init(ms_endpoint *ep, void **tp)
{
    return ms_stream_listener_init(ep, tp, &ipc_kind);
}

const ms_transport ms_transport_ipc = {
    .scheme = "ipc",
    .dialer_init = ipc_dialer_init,
    .dialer_connect = ms_stream_dialer_connect,
    .dialer_close = ms_stream_dialer_close,
    .dialer_fini = ms_stream_dialer_fini,
    .listener_init = ipc_listener_init,
    .listener_bind = ms_stream_listener_bind,
    .listener_start = ms_stream_listener_start,
    .listener_close = ms_stream_listener_close,
    .listener_fini = ms_stream_listener_fini,
};
