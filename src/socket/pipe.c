/* pipe.c: pipe life: attach (with the protocol's and the application's vetoes), the upcalls
 * transports make (deliver, send ready, gone), lookup by id and reference counting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/idmap.h"
#include "core/log.h"
#include "core/msg.h"
#include "socket/endpoint.h"
#include "socket/pipe.h"
#include "socket/receiver.h"
#include "socket/sender.h"
#include "socket/socket.h"

static pthread_mutex_t pipes_mtx = MS_MUTEX_FAST_INITIALIZER;
static ms_idmap pipes;

static void pipe_event(ms_socket *s, ms_pipe *p, int ev)
{
    pthread_mutex_lock(&s->mtx);
    msock_pipe_cb cb = s->pipe_cb[ev];
    void *arg = s->pipe_cb_arg[ev];
    pthread_mutex_unlock(&s->mtx);
    if (cb)
        cb((msock_pipe){p->id}, ev, arg);
}

static void pipe_unlink(ms_socket *s, ms_pipe *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else if (s->pipes == p)
        s->pipes = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
    s->npipes--;
    pthread_cond_broadcast(&s->pipes_cv);
}

static void pipe_free(ms_pipe *p)
{
    pthread_mutex_lock(&pipes_mtx);
    if (ms_idmap_get(&pipes, p->id) == p)
        ms_idmap_remove(&pipes, p->id);
    pthread_mutex_unlock(&pipes_mtx);
    ms_socket_release(p->sock);
    ms_endpoint_release(p->ep);
    free(p);
}

int ms_pipe_attach(ms_endpoint *ep, const ms_pipe_ops *ops, void *tp, uint16_t peer_proto,
                   const char *url, ms_pipe **out)
{
    ms_socket *s = ep->sock;
    if (peer_proto != s->proto->peer) {
        ms_socket_stat_add(s, MSOCK_STAT_ERR_PEER_PROTO, 1);
        ms_debug("socket %u: refused a pipe from %s: peer protocol 0x%x, want 0x%x", s->id, url,
                 peer_proto, s->proto->peer);
        return MSOCK_EPEERPROTO;
    }
    ms_pipe *p = aligned_alloc(_Alignof(ms_pipe), sizeof *p);
    if (!p)
        return MSOCK_ENOMEM;
    memset(p, 0, sizeof *p);
    atomic_init(&p->refs, 2); /* the socket's list and the transport */
    p->sock = s;
    p->ep = ep;
    p->ops = ops;
    p->tp = tp;
    p->peer_proto = peer_proto;
    snprintf(p->url, sizeof p->url, "%s", url);

    pthread_mutex_lock(&pipes_mtx);
    int rv = ms_idmap_alloc(&pipes, p, &p->id);
    pthread_mutex_unlock(&pipes_mtx);
    if (rv != 0) {
        free(p);
        return rv;
    }
    ms_socket_hold(s);
    ms_endpoint_hold(ep);

    bool linked = false;
    pthread_mutex_lock(&s->mtx);
    if (s->closing)
        rv = MSOCK_ECLOSED;
    else if (s->opts.max_pipes > 0 && s->npipes >= s->opts.max_pipes)
        rv = MSOCK_EBUSY;
    if (rv == 0) {
        s->npipes++;
        p->next = s->pipes;
        if (s->pipes)
            s->pipes->prev = p;
        s->pipes = p;
        linked = true;
    }
    pthread_mutex_unlock(&s->mtx);
    if (rv == 0 && s->proto->pipe_add)
        rv = s->proto->pipe_add(s, p);
    if (rv == 0)
        pipe_event(s, p, MSOCK_PIPE_EV_ADD_PRE);

    pthread_mutex_lock(&s->mtx);
    if (rv == 0 && (s->closing || atomic_load(&p->closing)))
        rv = atomic_load(&p->closing) ? MSOCK_ECONNABORTED : MSOCK_ECLOSED;
    if (rv == 0) {
        p->attached = true;
        s->nattached++;
        ms_sender_ready(s, p);
    } else if (linked) {
        pipe_unlink(s, p);
    }
    pthread_mutex_unlock(&s->mtx);

    if (rv != 0) {
        if (rv == MSOCK_EBUSY || rv == MSOCK_ECONNABORTED)
            ms_socket_stat_add(s, MSOCK_STAT_PIPES_REJECTED, 1);
        ms_debug("socket %u: refused a pipe from %s: %s", s->id, url, msock_strerror(rv));
        pipe_free(p);
        return rv;
    }
    ms_socket_stat_add(s, MSOCK_STAT_PIPES_ADDED, 1);
    pipe_event(s, p, MSOCK_PIPE_EV_ADD_POST);
    if (s->proto->pipe_start)
        s->proto->pipe_start(s, p);
    *out = p;
    return 0;
}

int ms_pipe_deliver(ms_pipe *p, msock_msg **head, bool force)
{
    return ms_receiver_deliver(p->sock, p, head, force);
}

void ms_pipe_send_ready(ms_pipe *p)
{
    ms_socket *s = p->sock;
    pthread_mutex_lock(&s->mtx);
    p->ready_gen++;
    if (p->attached)
        ms_sender_ready(s, p);
    /* Also wakes a closing socket waiting for queues to drain. */
    pthread_cond_broadcast(&s->send_cv);
    pthread_mutex_unlock(&s->mtx);
}

void ms_pipe_gone(ms_pipe *p, int reason)
{
    if (atomic_exchange(&p->gone_done, true))
        return;
    ms_socket *s = p->sock;
    if (reason != 0)
        ms_debug("socket %u: pipe %u (%s) closed: %s", s->id, p->id, p->url, msock_strerror(reason));
    if (s->proto->pipe_rem)
        s->proto->pipe_rem(s, p);
    pthread_mutex_lock(&s->mtx);
    ms_sender_unready(s, p);
    ms_receiver_remove(s, p);
    p->attached = false;
    s->nattached--;
    ms_socket_update_fds(s);
    pthread_mutex_unlock(&s->mtx);
    ms_socket_stat_add(s, MSOCK_STAT_PIPES_REMOVED, 1);
    /* The handle is dead before REM_POST announces it: calls on it give MSOCK_ECLOSED. */
    pthread_mutex_lock(&pipes_mtx);
    ms_idmap_remove(&pipes, p->id);
    pthread_mutex_unlock(&pipes_mtx);
    pipe_event(s, p, MSOCK_PIPE_EV_REM_POST);
    ms_endpoint_pipe_lost(p->ep);
    /* Unlinked last: a closing socket waits for this, so REM_POST has run by then. */
    pthread_mutex_lock(&s->mtx);
    pipe_unlink(s, p);
    pthread_mutex_unlock(&s->mtx);
    ms_pipe_release(p); /* the socket list's reference */
}

void ms_pipe_count_error(ms_socket *s, ms_pipe *p, int stat)
{
    ms_socket_stat_add(s, stat, 1);
    if (p != NULL)
        ms_pipe_stat_add(p, stat, 1);
}

void ms_pipe_hold(ms_pipe *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void ms_pipe_release(ms_pipe *p)
{
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    p->ops->free(p->tp);
    pipe_free(p);
}

ms_pipe *ms_pipe_find(uint32_t id)
{
    ms_pipe *p = NULL;
    pthread_mutex_lock(&pipes_mtx);
    if ((p = ms_idmap_get(&pipes, id)) != NULL) {
        /* A pipe whose last reference is being dropped is as good as gone. */
        int r = atomic_load(&p->refs);
        while (r > 0 && !atomic_compare_exchange_weak(&p->refs, &r, r + 1))
            ;
        if (r == 0)
            p = NULL;
    }
    pthread_mutex_unlock(&pipes_mtx);
    return p;
}

void ms_pipe_close(ms_pipe *p)
{
    if (atomic_exchange(&p->closing, true))
        return;
    ms_socket *s = p->sock;
    pthread_mutex_lock(&s->mtx);
    bool attached = p->attached;
    pthread_mutex_unlock(&s->mtx);
    /* Before it is attached the veto path in ms_pipe_attach does the work. */
    if (attached)
        p->ops->close(p->tp);
}

void ms_pipes_close(ms_socket *s, const ms_endpoint *ep)
{
    pthread_mutex_lock(&s->mtx);
    for (;;) {
        ms_pipe *p = s->pipes;
        while (p && ((ep && p->ep != ep) || atomic_load(&p->closing)))
            p = p->next;
        if (!p)
            break;
        ms_pipe_hold(p);
        pthread_mutex_unlock(&s->mtx);
        ms_pipe_close(p); /* marks it closing first, so the scan moves on */
        ms_pipe_release(p);
        pthread_mutex_lock(&s->mtx);
    }
    pthread_mutex_unlock(&s->mtx);
}
