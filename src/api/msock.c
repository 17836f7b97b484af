/* msock.c: the public entry points for sockets, endpoints, send/receive, pipes, events and
 * statistics: check arguments, look the handle up (hold), call down, release. */
#include <stdlib.h>

#include "api/api.h"
#include "core/msg.h"
#include "core/reactor.h"
#ifdef MSOCK_HAVE_WS
#include "transport/ws.h"
#endif

uint32_t msock_socket_id(msock_socket s)
{
    return s.id;
}

int msock_close(msock_socket s)
{
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    int rv = ms_socket_close(sock);
    ms_socket_release(sock);
    return rv;
}

static int endpoint_create(msock_socket s, const char *url, int kind, ms_endpoint **out)
{
    if (url == NULL)
        return MSOCK_EINVAL;
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    int rv = ms_endpoint_create(out, sock, kind, url);
    ms_socket_release(sock);
    return rv;
}

int msock_listener_create(msock_listener *l, msock_socket s, const char *url)
{
    ms_endpoint *ep;
    if (l == NULL)
        return MSOCK_EINVAL;
    int rv = endpoint_create(s, url, MS_LISTENER, &ep);
    if (rv == 0)
        l->id = ep->id;
    return rv;
}

int msock_dialer_create(msock_dialer *d, msock_socket s, const char *url)
{
    ms_endpoint *ep;
    if (d == NULL)
        return MSOCK_EINVAL;
    int rv = endpoint_create(s, url, MS_DIALER, &ep);
    if (rv == 0)
        d->id = ep->id;
    return rv;
}

static int endpoint_start(ms_endpoint *ep, int flags)
{
    if (!ep)
        return MSOCK_ECLOSED;
    if (flags & ~MSOCK_FLAG_NONBLOCK) {
        ms_endpoint_release(ep);
        return MSOCK_EINVAL;
    }
    int rv = ms_endpoint_start(ep, flags);
    ms_endpoint_release(ep);
    return rv;
}

int msock_listener_start(msock_listener l, int flags)
{
    return endpoint_start(ms_api_listener(l), flags);
}

int msock_dialer_start(msock_dialer d, int flags)
{
    return endpoint_start(ms_api_dialer(d), flags);
}

static int endpoint_close(ms_endpoint *ep)
{
    if (!ep)
        return MSOCK_ECLOSED;
    ms_endpoint_close(ep, true);
    ms_endpoint_release(ep);
    return 0;
}

int msock_listener_close(msock_listener l)
{
    return endpoint_close(ms_api_listener(l));
}

int msock_dialer_close(msock_dialer d)
{
    return endpoint_close(ms_api_dialer(d));
}

int msock_listen(msock_socket s, const char *url, msock_listener *l, int flags)
{
    msock_listener tmp;
    int rv = msock_listener_create(&tmp, s, url);
    if (rv != 0)
        return rv;
    rv = msock_listener_start(tmp, flags);
    if (rv != 0) {
        msock_listener_close(tmp);
        return rv;
    }
    if (l)
        *l = tmp;
    return 0;
}

int msock_dial(msock_socket s, const char *url, msock_dialer *d, int flags)
{
    msock_dialer tmp;
    int rv = msock_dialer_create(&tmp, s, url);
    if (rv != 0)
        return rv;
    rv = msock_dialer_start(tmp, flags);
    if (rv != 0) {
        msock_dialer_close(tmp);
        return rv;
    }
    if (d)
        *d = tmp;
    return 0;
}

int msock_sendmsg(msock_socket s, msock_msg *m, int flags)
{
    if (m == NULL || (flags & ~MSOCK_FLAG_NONBLOCK))
        return MSOCK_EINVAL;
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    int rv = ms_socket_send(sock, m, flags);
    ms_socket_release(sock);
    return rv;
}

int msock_recvmsg(msock_socket s, msock_msg **m, int flags)
{
    if (m == NULL || (flags & ~MSOCK_FLAG_NONBLOCK))
        return MSOCK_EINVAL;
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    int rv = ms_socket_recv(sock, m, flags);
    ms_socket_release(sock);
    return rv;
}

int msock_send(msock_socket s, const void *buf, size_t len, int flags)
{
    if ((buf == NULL && len > 0) || (flags & ~MSOCK_FLAG_NONBLOCK))
        return MSOCK_EINVAL;
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    int rv = ms_socket_send_buf(sock, buf, len, flags);
    ms_socket_release(sock);
    return rv;
}

int msock_recv(msock_socket s, void *buf, size_t *len, int flags)
{
    if (len == NULL || (buf == NULL && *len > 0))
        return MSOCK_EINVAL;
    msock_msg *m;
    int rv = msock_recvmsg(s, &m, flags);
    if (rv == 0)
        ms_api_copy_out(m, buf, len);
    return rv;
}

void ms_api_copy_out(msock_msg *m, void *buf, size_t *len)
{
    size_t n = MS_MIN(*len, m->len);
    if (n)
        memcpy(buf, m->body, n);
    *len = m->len;
    ms_msg_free(m);
}

uint32_t msock_pipe_id(msock_pipe p)
{
    return p.id;
}

int msock_pipe_close(msock_pipe p)
{
    ms_pipe *pipe = p.id ? ms_pipe_find(p.id) : NULL;
    if (!pipe)
        return MSOCK_ECLOSED;
    ms_pipe_close(pipe);
    ms_pipe_release(pipe);
    return 0;
}

int msock_pipe_socket(msock_pipe p, msock_socket *s)
{
    if (s == NULL)
        return MSOCK_EINVAL;
    ms_pipe *pipe = p.id ? ms_pipe_find(p.id) : NULL;
    if (!pipe)
        return MSOCK_ECLOSED;
    s->id = pipe->sock->id;
    ms_pipe_release(pipe);
    return 0;
}

int msock_pipe_notify(msock_socket s, int event, msock_pipe_cb cb, void *arg)
{
    if (event < MSOCK_PIPE_EV_ADD_PRE || event > MSOCK_PIPE_EV_REM_POST)
        return MSOCK_EINVAL;
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    pthread_mutex_lock(&sock->mtx);
    sock->pipe_cb[event] = cb;
    sock->pipe_cb_arg[event] = arg;
    pthread_mutex_unlock(&sock->mtx);
    ms_socket_release(sock);
    return 0;
}

int msock_stat_get(msock_socket s, int stat, uint64_t *value)
{
    if (value == NULL || stat < 0 || stat >= MSOCK_STAT_COUNT)
        return MSOCK_EINVAL;
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    *value = atomic_load_explicit(&sock->stats[stat], memory_order_relaxed);
    ms_socket_release(sock);
    return 0;
}

void msock_fini(void)
{
    ms_socket_cache_flush();
#ifdef MSOCK_HAVE_WS
    ms_ws_service_stop(); /* before the reactors: its callbacks post to them */
#endif
    ms_reactors_stop();
    ms_msg_cache_flush();
    ms_msg_depot_drain();
}
