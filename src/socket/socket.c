/* socket.c: socket life (create, find, hold/release, close with linger), send and receive
 * entry points, options and readiness fds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/idmap.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/reactor.h"
#include "core/sockaddr.h"
#include "socket/ctx.h"
#include "socket/endpoint.h"
#include "socket/pipe.h"
#include "socket/receiver.h"
#include "socket/sender.h"
#include "socket/socket.h"

static pthread_mutex_t sockets_mtx = MS_MUTEX_FAST_INITIALIZER;
static ms_idmap sockets;

int ms_socket_create(ms_socket **out, const ms_protocol *p)
{
    int rv = ms_reactors_start();
    if (rv != 0)
        return rv;
    ms_socket *s = aligned_alloc(_Alignof(ms_socket), sizeof *s);
    if (!s)
        return MSOCK_ENOMEM;
    memset(s, 0, sizeof *s);
    s->proto = p;
    atomic_init(&s->refs, 1);
    ms_mutex_init_fast(&s->mtx);
    ms_mutex_init_fast(&s->rx_mtx);
    ms_cond_init(&s->recv_cv);
    ms_cond_init(&s->send_cv);
    ms_cond_init(&s->pipes_cv);
    ms_opts_defaults(&s->opts);
    if (p->recv_maxsz != 0)
        s->opts.recv_maxsz = p->recv_maxsz;
    s->opts.max_pipes = p->max_pipes;
    atomic_init(&s->send_timeout, s->opts.send_timeout);
    atomic_init(&s->recv_timeout, s->opts.recv_timeout);
    ms_msgq_init(&s->recvq, (size_t)s->opts.recv_queue_msgs, s->opts.recv_queue_bytes);
    s->recv_fd = s->send_fd = -1;
    if (p->state_size > 0 && (s->proto_data = calloc(1, p->state_size)) == NULL) {
        ms_socket_release(s);
        return MSOCK_ENOMEM;
    }
    if (p->init != NULL && (rv = p->init(s)) != 0) {
        free(s->proto_data);
        s->proto_data = NULL;
        ms_socket_release(s);
        return rv;
    }
    if (p->ctx_send != NULL && (rv = ms_ctx_create(s, true, &s->ctx0)) != 0) {
        ms_socket_release(s);
        return rv;
    }
    pthread_mutex_lock(&sockets_mtx);
    rv = ms_idmap_alloc(&sockets, s, &s->id);
    pthread_mutex_unlock(&sockets_mtx);
    if (rv != 0) {
        ms_socket_release(s);
        return rv;
    }
    *out = s;
    return 0;
}

ms_socket *ms_socket_find(uint32_t id)
{
    ms_socket *s = ms_socket_cache_get(id);
    if (s)
        return s;
    pthread_mutex_lock(&sockets_mtx);
    if ((s = ms_idmap_get(&sockets, id)) != NULL)
        ms_socket_hold(s);
    pthread_mutex_unlock(&sockets_mtx);
    if (s && !atomic_load_explicit(&s->closing_flag, memory_order_acquire))
        ms_socket_cache_store(s);
    return s;
}

void ms_socket_hold(ms_socket *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void ms_socket_release(ms_socket *s)
{
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (s->ctx0 != NULL)
        ms_ctx_release(s->ctx0);
    if (s->proto_data != NULL) {
        if (s->proto->fini != NULL)
            s->proto->fini(s);
        free(s->proto_data);
    }
    ms_msg_chain_free(s->rx_head);
    ms_msgq_fini(&s->recvq);
    if (s->recv_fd >= 0)
        close(s->recv_fd);
    if (s->send_fd >= 0)
        close(s->send_fd);
    pthread_cond_destroy(&s->recv_cv);
    pthread_cond_destroy(&s->send_cv);
    pthread_cond_destroy(&s->pipes_cv);
    pthread_mutex_destroy(&s->rx_mtx);
    pthread_mutex_destroy(&s->mtx);
    free(s);
}

/* Outbound messages still queued in the socket's pipes (under s->mtx). */
static size_t socket_queued(ms_socket *s)
{
    size_t n = 0;
    for (ms_pipe *p = s->pipes; p; p = p->next)
        if (p->attached)
            n += p->ops->queued(p->tp);
    return n;
}

static void socket_linger(ms_socket *s)
{
    int64_t deadline = ms_deadline_after(s->opts.linger);
    pthread_mutex_lock(&s->mtx);
    /* Writers signal send_cv when their queues drain; the short step covers the rest. */
    while (socket_queued(s) > 0) {
        int64_t step = ms_clock_ms() + 10;
        if (step > deadline)
            step = deadline;
        if (!ms_cond_wait_until(&s->send_cv, &s->mtx, step) && ms_clock_ms() >= deadline)
            break;
    }
    pthread_mutex_unlock(&s->mtx);
}

int ms_socket_close(ms_socket *s)
{
    pthread_mutex_lock(&s->mtx);
    if (s->closing) {
        pthread_mutex_unlock(&s->mtx);
        return MSOCK_ECLOSED;
    }
    s->closing = true;
    atomic_store(&s->closing_flag, true);
    pthread_mutex_unlock(&s->mtx);

    pthread_mutex_lock(&sockets_mtx);
    ms_idmap_remove(&sockets, s->id);
    pthread_mutex_unlock(&sockets_mtx);
    ms_socket_cache_forget(s);
    /* Contexts first: their waiters wake with MSOCK_ECLOSED and requests stop resending. */
    ms_ctxs_close_all(s);
    if (s->proto->close != NULL)
        s->proto->close(s);

    /* Endpoints first, so nothing new arrives while queued messages drain. */
    for (;;) {
        pthread_mutex_lock(&s->mtx);
        ms_endpoint *ep = s->endpoints;
        if (ep)
            ms_endpoint_hold(ep);
        pthread_mutex_unlock(&s->mtx);
        if (!ep)
            break;
        ms_endpoint_close(ep, false);
        ms_endpoint_release(ep);
    }
    if (s->proto->send_policy != MS_SEND_NONE)
        socket_linger(s);

    pthread_mutex_lock(&s->mtx);
    s->closed = true;
    pthread_cond_broadcast(&s->recv_cv);
    pthread_cond_broadcast(&s->send_cv);
    ms_socket_update_fds(s);
    pthread_mutex_unlock(&s->mtx);
    /* Each close ends in ms_pipe_gone, which unlinks the pipe and wakes pipes_cv. */
    ms_pipes_close(s, NULL);
    pthread_mutex_lock(&s->mtx);
    while (s->pipes)
        pthread_cond_wait(&s->pipes_cv, &s->mtx);
    /* Unread messages go now: a thread's lookup cache may keep the socket itself a while. */
    ms_msgq recvq = s->recvq;
    ms_msgq_init(&s->recvq, 1, 0);
    pthread_mutex_lock(&s->rx_mtx);
    msock_msg *batch = s->rx_head;
    s->rx_head = NULL;
    atomic_store_explicit(&s->rx_any, false, memory_order_relaxed);
    s->rx_done_count = s->rx_done_bytes = 0;
    pthread_mutex_unlock(&s->rx_mtx);
    atomic_store_explicit(&s->recv_ready, 0, memory_order_relaxed);
    pthread_mutex_unlock(&s->mtx);
    ms_msg_chain_free(batch);
    ms_msgq_fini(&recvq);
    ms_socket_release(s); /* the reference the id map held */
    return 0;
}

int ms_socket_send(ms_socket *s, msock_msg *m, int flags)
{
    if (s->proto->send_policy == MS_SEND_NONE)
        return MSOCK_ENOTSUP;
    ms_receiver_note_send(s->id);
    int64_t timeout = atomic_load_explicit(&s->send_timeout, memory_order_relaxed);
    int64_t deadline = ms_deadline_after(timeout);
    bool nonblock = (flags & MSOCK_FLAG_NONBLOCK) != 0;
    if (s->ctx0 != NULL)
        return s->proto->ctx_send(s->ctx0, m, deadline, nonblock);
    if (s->proto->send != NULL)
        return s->proto->send(s, m, deadline, nonblock);
    return ms_sender_send(s, m, deadline, nonblock, NULL);
}

int ms_socket_ctx_send(ms_ctx *c, msock_msg *m, int flags)
{
    ms_socket *s = c->sock;
    ms_receiver_note_send(s->id);
    return s->proto->ctx_send(c, m, ms_ctx_send_deadline(c), (flags & MSOCK_FLAG_NONBLOCK) != 0);
}

int ms_socket_ctx_recv(ms_ctx *c, msock_msg **m, int flags)
{
    return c->sock->proto->ctx_recv(c, m, ms_ctx_recv_deadline(c), (flags & MSOCK_FLAG_NONBLOCK) != 0);
}

int ms_socket_send_buf(ms_socket *s, const void *buf, size_t len, int flags)
{
    if (s->proto->send_policy != MS_SEND_ONE || s->proto->send || s->ctx0) {
        msock_msg *m;
        int rv = ms_msg_from_buf(&m, buf, len);
        if (rv != 0)
            return rv;
        if ((rv = ms_socket_send(s, m, flags)) != 0)
            ms_msg_free(m);
        return rv;
    }
    ms_receiver_note_send(s->id);
    int64_t timeout = atomic_load_explicit(&s->send_timeout, memory_order_relaxed);
    return ms_sender_send_buf(s, buf, len, ms_deadline_after(timeout), (flags & MSOCK_FLAG_NONBLOCK) != 0);
}

int ms_socket_recv(ms_socket *s, msock_msg **m, int flags)
{
    if (s->proto->recv_policy == MS_RECV_NONE || s->proto->autonomous)
        return MSOCK_ENOTSUP;
    int64_t timeout = atomic_load_explicit(&s->recv_timeout, memory_order_relaxed);
    int64_t deadline = ms_deadline_after(timeout);
    bool nonblock = (flags & MSOCK_FLAG_NONBLOCK) != 0;
    if (s->ctx0 != NULL)
        return s->proto->ctx_recv(s->ctx0, m, deadline, nonblock);
    return ms_receiver_recv(s, m, deadline, nonblock, NULL);
}

static void fd_level(int fd, bool *is_set, bool want)
{
    if (fd < 0 || *is_set == want)
        return;
    uint64_t v = 1;
    ssize_t n = want ? write(fd, &v, sizeof v) : read(fd, &v, sizeof v);
    if (n == (ssize_t)sizeof v)
        *is_set = want;
}

void ms_socket_update_fds(ms_socket *s)
{
    if (MS_LIKELY(s->recv_fd < 0 && s->send_fd < 0))
        return;
    bool readable = !ms_msgq_empty(&s->recvq) ||
                    (s->proto->ctx_readable != NULL && s->ctx0 != NULL && s->proto->ctx_readable(s->ctx0));
    fd_level(s->recv_fd, &s->recv_fd_set, s->closed || readable);
    bool can_send = s->proto->send_policy == MS_SEND_ALL || s->ready != NULL;
    fd_level(s->send_fd, &s->send_fd_set, s->closed || can_send);
}

static int socket_make_fd(ms_socket *s, int *fd)
{
    if (*fd < 0) {
        *fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (*fd < 0)
            return ms_errno_to_code(errno);
        ms_socket_update_fds(s);
    }
    return 0;
}

/* Options only some protocols have: MSOCK_ENOTSUP on the others. */
static int socket_proto_opt(const ms_socket *s, int opt)
{
    unsigned need = opt == MSOCK_OPT_MAXTTL            ? MS_POPT_MAXTTL
                    : opt == MSOCK_OPT_REQ_RESEND_TIME ? MS_POPT_RESEND
                    : opt == MSOCK_OPT_SURVEY_TIME     ? MS_POPT_SURVEY
                    : opt == MSOCK_OPT_GROUP_TIMEOUT   ? MS_POPT_GROUP
                    : (opt >= MSOCK_OPT_GROUP_MAX_CLIENTS && opt <= MSOCK_OPT_GROUP_MAX_BODY)
                        ? MS_POPT_GROUP_HUB
                        : 0;
    return (s->proto->options & need) == need ? 0 : MSOCK_ENOTSUP;
}

int ms_socket_set(ms_socket *s, int opt, const ms_optval *v)
{
    int rv = ms_opt_check(opt, MS_ON_SOCKET, v->type, true);
    if (rv < 0)
        return rv;
    if ((rv = socket_proto_opt(s, opt)) != 0)
        return rv;
    pthread_mutex_lock(&s->mtx);
    if (opt == MSOCK_OPT_MAX_PIPES && s->proto->max_pipes > 0)
        rv = MSOCK_EREADONLY;
    else if (s->closing)
        rv = MSOCK_ECLOSED;
    else
        rv = ms_opts_set(&s->opts, opt, v);
    if (rv == 0) {
        atomic_fetch_add_explicit(&s->opts_gen, 1, memory_order_release);
        atomic_store_explicit(&s->send_timeout, s->opts.send_timeout, memory_order_relaxed);
        atomic_store_explicit(&s->recv_timeout, s->opts.recv_timeout, memory_order_relaxed);
    }
    if (rv == 0 && (opt == MSOCK_OPT_RECV_QUEUE_MSGS || opt == MSOCK_OPT_RECV_QUEUE_BYTES))
        ms_msgq_set_limits(&s->recvq, (size_t)s->opts.recv_queue_msgs, s->opts.recv_queue_bytes);
    pthread_mutex_unlock(&s->mtx);
    return rv;
}

int ms_socket_get(ms_socket *s, int opt, ms_optval *v, char *buf, size_t *len)
{
    int rv = ms_opt_check(opt, MS_ON_SOCKET, v->type, false);
    if (rv < 0)
        return rv;
    if ((rv = socket_proto_opt(s, opt)) != 0)
        return rv;
    pthread_mutex_lock(&s->mtx);
    switch (opt) {
    case MSOCK_OPT_RAW: v->v.b = s->proto->raw; break;
    case MSOCK_OPT_PROTOCOL: v->v.i = s->proto->self; break;
    case MSOCK_OPT_PEER: v->v.i = s->proto->peer; break;
    case MSOCK_OPT_PROTOCOL_NAME: v->v.str = s->proto->name; break;
    case MSOCK_OPT_PEER_NAME: v->v.str = s->proto->peer_name; break;
    case MSOCK_OPT_RECV_FD:
        rv = s->proto->recv_policy == MS_RECV_NONE || s->proto->autonomous
                 ? MSOCK_ENOTSUP
                 : socket_make_fd(s, &s->recv_fd);
        v->v.i = s->recv_fd;
        break;
    case MSOCK_OPT_SEND_FD:
        rv = s->proto->send_policy == MS_SEND_NONE ? MSOCK_ENOTSUP : socket_make_fd(s, &s->send_fd);
        v->v.i = s->send_fd;
        break;
    default: ms_opts_get(&s->opts, opt, v); break;
    }
    if (rv == 0 && v->type == MS_OPT_STRING)
        rv = ms_opt_copy_string(v->v.str, buf, len);
    pthread_mutex_unlock(&s->mtx);
    return rv;
}
