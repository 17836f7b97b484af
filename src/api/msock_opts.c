/* msock_opts.c: the typed option calls for sockets, dialers, listeners and pipes. Each
 * family is a thin wrapper that packs the value with its type and calls one checker. */
#include "api/api.h"

static int socket_set(msock_socket s, int opt, ms_optval v)
{
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    int rv = ms_socket_set(sock, opt, &v);
    ms_socket_release(sock);
    return rv;
}

static int socket_get(msock_socket s, int opt, ms_optval *v, char *buf, size_t *len)
{
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    int rv = ms_socket_get(sock, opt, v, buf, len);
    ms_socket_release(sock);
    return rv;
}

static int endpoint_set(ms_endpoint *ep, int opt, ms_optval v)
{
    if (!ep)
        return MSOCK_ECLOSED;
    int where = ep->kind == MS_DIALER ? MS_ON_DIALER : MS_ON_LISTENER;
    int rv = ms_opt_check(opt, where, v.type, true);
    if (rv == 0) {
        pthread_mutex_lock(&ep->mtx);
        /* The reactor reads endpoint options without a lock once the endpoint runs. */
        rv = ep->start_requested ? MSOCK_ESTATE : ms_opts_set(&ep->opts, opt, &v);
        if (rv == 0 && opt == MSOCK_OPT_RECONNECT_MIN)
            ep->backoff = ep->opts.reconnect_min;
        pthread_mutex_unlock(&ep->mtx);
    } else if (rv > 0) {
        rv = MSOCK_EREADONLY;
    }
    ms_endpoint_release(ep);
    return rv;
}

static int endpoint_get(ms_endpoint *ep, int opt, ms_optval *v, char *buf, size_t *len)
{
    if (!ep)
        return MSOCK_ECLOSED;
    int where = ep->kind == MS_DIALER ? MS_ON_DIALER : MS_ON_LISTENER;
    int rv = ms_opt_check(opt, where, v->type, false);
    if (rv >= 0) {
        pthread_mutex_lock(&ep->mtx);
        if (opt == MSOCK_OPT_URL)
            v->v.str = ep->bound_url[0] ? ep->bound_url : ep->url.raw;
        else
            ms_opts_get(&ep->opts, opt, v);
        rv = v->type == MS_OPT_STRING ? ms_opt_copy_string(v->v.str, buf, len) : 0;
        pthread_mutex_unlock(&ep->mtx);
    }
    ms_endpoint_release(ep);
    return rv;
}

#define OPT_SETTERS(prefix, handle_t, set_fn)                                              \
    int prefix##_set_int(handle_t h, int opt, int v)                                       \
    {                                                                                      \
        return set_fn(h, opt, (ms_optval){.type = MS_OPT_INT, .v.i = v});                  \
    }                                                                                      \
    int prefix##_set_bool(handle_t h, int opt, bool v)                                     \
    {                                                                                      \
        return set_fn(h, opt, (ms_optval){.type = MS_OPT_BOOL, .v.b = v});                 \
    }                                                                                      \
    int prefix##_set_ms(handle_t h, int opt, int64_t v)                                    \
    {                                                                                      \
        return set_fn(h, opt, (ms_optval){.type = MS_OPT_MS, .v.ms = v});                  \
    }                                                                                      \
    int prefix##_set_size(handle_t h, int opt, size_t v)                                   \
    {                                                                                      \
        return set_fn(h, opt, (ms_optval){.type = MS_OPT_SIZE, .v.size = v});              \
    }

#define OPT_GETTERS(prefix, handle_t, get_fn)                                              \
    int prefix##_get_int(handle_t h, int opt, int *v)                                      \
    {                                                                                      \
        ms_optval o = {.type = MS_OPT_INT};                                                \
        int rv = v ? get_fn(h, opt, &o, NULL, NULL) : MSOCK_EINVAL;                        \
        if (rv == 0)                                                                       \
            *v = o.v.i;                                                                    \
        return rv;                                                                         \
    }                                                                                      \
    int prefix##_get_bool(handle_t h, int opt, bool *v)                                    \
    {                                                                                      \
        ms_optval o = {.type = MS_OPT_BOOL};                                               \
        int rv = v ? get_fn(h, opt, &o, NULL, NULL) : MSOCK_EINVAL;                        \
        if (rv == 0)                                                                       \
            *v = o.v.b;                                                                    \
        return rv;                                                                         \
    }                                                                                      \
    int prefix##_get_ms(handle_t h, int opt, int64_t *v)                                   \
    {                                                                                      \
        ms_optval o = {.type = MS_OPT_MS};                                                 \
        int rv = v ? get_fn(h, opt, &o, NULL, NULL) : MSOCK_EINVAL;                        \
        if (rv == 0)                                                                       \
            *v = o.v.ms;                                                                   \
        return rv;                                                                         \
    }                                                                                      \
    int prefix##_get_size(handle_t h, int opt, size_t *v)                                  \
    {                                                                                      \
        ms_optval o = {.type = MS_OPT_SIZE};                                               \
        int rv = v ? get_fn(h, opt, &o, NULL, NULL) : MSOCK_EINVAL;                        \
        if (rv == 0)                                                                       \
            *v = o.v.size;                                                                 \
        return rv;                                                                         \
    }                                                                                      \
    int prefix##_get_string(handle_t h, int opt, char *buf, size_t *len)                   \
    {                                                                                      \
        ms_optval o = {.type = MS_OPT_STRING};                                             \
        return len ? get_fn(h, opt, &o, buf, len) : MSOCK_EINVAL;                          \
    }

static int dialer_set(msock_dialer d, int opt, ms_optval v)
{
    return endpoint_set(ms_api_dialer(d), opt, v);
}
static int dialer_get(msock_dialer d, int opt, ms_optval *v, char *buf, size_t *len)
{
    return endpoint_get(ms_api_dialer(d), opt, v, buf, len);
}
static int listener_set(msock_listener l, int opt, ms_optval v)
{
    return endpoint_set(ms_api_listener(l), opt, v);
}
static int listener_get(msock_listener l, int opt, ms_optval *v, char *buf, size_t *len)
{
    return endpoint_get(ms_api_listener(l), opt, v, buf, len);
}

OPT_SETTERS(msock_socket, msock_socket, socket_set)
OPT_GETTERS(msock_socket, msock_socket, socket_get)
OPT_SETTERS(msock_dialer, msock_dialer, dialer_set)
OPT_GETTERS(msock_dialer, msock_dialer, dialer_get)
OPT_SETTERS(msock_listener, msock_listener, listener_set)
OPT_GETTERS(msock_listener, msock_listener, listener_get)

int msock_socket_set_string(msock_socket s, int opt, const char *v)
{
    if (v == NULL)
        return MSOCK_EINVAL;
    return socket_set(s, opt, (ms_optval){.type = MS_OPT_STRING, .v.str = v});
}

int msock_dialer_set_string(msock_dialer d, int opt, const char *v)
{
    if (v == NULL)
        return MSOCK_EINVAL;
    return dialer_set(d, opt, (ms_optval){.type = MS_OPT_STRING, .v.str = v});
}

int msock_listener_set_string(msock_listener l, int opt, const char *v)
{
    if (v == NULL)
        return MSOCK_EINVAL;
    return listener_set(l, opt, (ms_optval){.type = MS_OPT_STRING, .v.str = v});
}

static int pipe_get(msock_pipe p, int opt, ms_optval *v, char *buf, size_t *len)
{
    ms_pipe *pipe = p.id ? ms_pipe_find(p.id) : NULL;
    if (!pipe)
        return MSOCK_ECLOSED;
    int rv = ms_opt_check(opt, MS_ON_PIPE, v->type, false);
    if (rv >= 0) {
        rv = 0;
        if (opt == MSOCK_OPT_PEER)
            v->v.i = pipe->peer_proto;
        else if (opt == MSOCK_OPT_PROTOCOL)
            v->v.i = pipe->sock->proto->self;
        else
            rv = ms_opt_copy_string(pipe->url, buf, len);
    }
    ms_pipe_release(pipe);
    return rv;
}

int msock_pipe_get_int(msock_pipe p, int opt, int *v)
{
    ms_optval o = {.type = MS_OPT_INT};
    int rv = v ? pipe_get(p, opt, &o, NULL, NULL) : MSOCK_EINVAL;
    if (rv == 0)
        *v = o.v.i;
    return rv;
}

int msock_pipe_get_string(msock_pipe p, int opt, char *buf, size_t *len)
{
    ms_optval o = {.type = MS_OPT_STRING};
    return len ? pipe_get(p, opt, &o, buf, len) : MSOCK_EINVAL;
}
