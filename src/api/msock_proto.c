/* msock_proto.c: the public entry points of the protocol layer: subscriptions, contexts,
 * devices and per-pipe statistics. */
#include "api/api.h"
#include "core/msg.h"
#include "protocol/pubsub.h"
#include "socket/ctx.h"
#include "socket/device.h"

static int sub_call(msock_socket s, const void *topic, size_t len,
                    int (*fn)(ms_socket *, const void *, size_t))
{
    if (topic == NULL && len > 0)
        return MSOCK_EINVAL;
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    int rv = fn(sock, topic, len);
    ms_socket_release(sock);
    return rv;
}

int msock_sub_subscribe(msock_socket s, const void *topic, size_t len)
{
    return sub_call(s, topic, len, ms_sub_subscribe);
}

int msock_sub_unsubscribe(msock_socket s, const void *topic, size_t len)
{
    return sub_call(s, topic, len, ms_sub_unsubscribe);
}

int msock_ctx_open(msock_ctx *c, msock_socket s)
{
    if (c == NULL)
        return MSOCK_EINVAL;
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    ms_ctx *ctx;
    int rv = ms_ctx_create(sock, false, &ctx);
    if (rv == 0)
        c->id = ctx->id;
    ms_socket_release(sock);
    return rv;
}

static ms_ctx *api_ctx(msock_ctx c)
{
    return c.id ? ms_ctx_find(c.id) : NULL;
}

int msock_ctx_close(msock_ctx c)
{
    ms_ctx *ctx = api_ctx(c);
    if (!ctx)
        return MSOCK_ECLOSED;
    ms_ctx_close(ctx);
    ms_ctx_release(ctx);
    return 0;
}

uint32_t msock_ctx_id(msock_ctx c)
{
    return c.id;
}

int msock_ctx_sendmsg(msock_ctx c, msock_msg *m, int flags)
{
    if (m == NULL || (flags & ~MSOCK_FLAG_NONBLOCK))
        return MSOCK_EINVAL;
    ms_ctx *ctx = api_ctx(c);
    if (!ctx)
        return MSOCK_ECLOSED;
    int rv = ms_socket_ctx_send(ctx, m, flags);
    ms_ctx_release(ctx);
    return rv;
}

int msock_ctx_recvmsg(msock_ctx c, msock_msg **m, int flags)
{
    if (m == NULL || (flags & ~MSOCK_FLAG_NONBLOCK))
        return MSOCK_EINVAL;
    ms_ctx *ctx = api_ctx(c);
    if (!ctx)
        return MSOCK_ECLOSED;
    int rv = ms_socket_ctx_recv(ctx, m, flags);
    ms_ctx_release(ctx);
    return rv;
}

int msock_ctx_send(msock_ctx c, const void *buf, size_t len, int flags)
{
    if (buf == NULL && len > 0)
        return MSOCK_EINVAL;
    msock_msg *m;
    int rv = ms_msg_from_buf(&m, buf, len);
    if (rv != 0)
        return rv;
    if ((rv = msock_ctx_sendmsg(c, m, flags)) != 0)
        ms_msg_free(m);
    return rv;
}

int msock_ctx_recv(msock_ctx c, void *buf, size_t *len, int flags)
{
    if (len == NULL || (buf == NULL && *len > 0))
        return MSOCK_EINVAL;
    msock_msg *m;
    int rv = msock_ctx_recvmsg(c, &m, flags);
    if (rv == 0)
        ms_api_copy_out(m, buf, len);
    return rv;
}

/* The ms option of a context: where it is kept, or NULL when the context has no such one. */
static atomic_int_fast64_t *ctx_opt(ms_ctx *c, int opt)
{
    const ms_protocol *p = c->sock->proto;
    switch (opt) {
    case MSOCK_OPT_SEND_TIMEOUT: return p->send_policy != MS_SEND_NONE ? &c->send_timeout : NULL;
    case MSOCK_OPT_RECV_TIMEOUT: return &c->recv_timeout;
    case MSOCK_OPT_REQ_RESEND_TIME: return (p->options & MS_POPT_RESEND) ? &c->resend_time : NULL;
    case MSOCK_OPT_SURVEY_TIME: return (p->options & MS_POPT_SURVEY) ? &c->survey_time : NULL;
    default: return NULL;
    }
}

int msock_ctx_set_ms(msock_ctx c, int opt, int64_t ms)
{
    ms_ctx *ctx = api_ctx(c);
    if (!ctx)
        return MSOCK_ECLOSED;
    atomic_int_fast64_t *slot = ctx_opt(ctx, opt);
    int rv = slot == NULL ? MSOCK_ENOTSUP : 0;
    if (rv == 0 && (opt == MSOCK_OPT_SEND_TIMEOUT || opt == MSOCK_OPT_RECV_TIMEOUT) && ms < -1)
        rv = MSOCK_EINVAL;
    if (rv == 0 && opt == MSOCK_OPT_SURVEY_TIME && ms < 1)
        rv = MSOCK_EINVAL;
    if (rv == 0)
        atomic_store(slot, ms);
    ms_ctx_release(ctx);
    return rv;
}

int msock_ctx_get_ms(msock_ctx c, int opt, int64_t *ms)
{
    if (ms == NULL)
        return MSOCK_EINVAL;
    ms_ctx *ctx = api_ctx(c);
    if (!ctx)
        return MSOCK_ECLOSED;
    atomic_int_fast64_t *slot = ctx_opt(ctx, opt);
    if (slot != NULL)
        *ms = atomic_load(slot);
    ms_ctx_release(ctx);
    return slot != NULL ? 0 : MSOCK_ENOTSUP;
}

int msock_device(msock_socket a, msock_socket b)
{
    ms_socket *sa = ms_api_socket(a);
    ms_socket *sb = ms_api_socket(b);
    int rv = sa && sb ? ms_device_run(sa, sb) : MSOCK_ECLOSED;
    if (sa)
        ms_socket_release(sa);
    if (sb)
        ms_socket_release(sb);
    return rv;
}

int msock_pipe_stat_get(msock_pipe p, int stat, uint64_t *value)
{
    if (value == NULL || stat < 0 || stat >= MSOCK_STAT_COUNT)
        return MSOCK_EINVAL;
    ms_pipe *pipe = p.id ? ms_pipe_find(p.id) : NULL;
    if (!pipe)
        return MSOCK_ECLOSED;
    *value = atomic_load_explicit(&pipe->stats[stat], memory_order_relaxed);
    ms_pipe_release(pipe);
    return 0;
}
