/* endpoint.c: dialers and listeners: creation from a URL, start (bind, or dial synchronously
 * or in the background), redial with exponential backoff and jitter, and close. */
#include <stdlib.h>

#include "core/clock.h"
#include "core/idmap.h"
#include "core/log.h"
#include "socket/endpoint.h"
#include "socket/pipe.h"
#include "socket/socket.h"
#include "transport/transport.h"

static pthread_mutex_t endpoints_mtx = PTHREAD_MUTEX_INITIALIZER;
static ms_idmap endpoints;

static void endpoint_schedule_redial(ms_endpoint *ep)
{
    /* Wait somewhere in [backoff/2, backoff] so many dialers of a dead peer spread out. */
    int64_t wait = ep->backoff / 2 + (int64_t)(ms_random_u64() % (uint64_t)(ep->backoff / 2 + 1));
    int64_t max = ep->opts.reconnect_max;
    if (max > ep->opts.reconnect_min)
        ep->backoff = ep->backoff * 2 > max ? max : ep->backoff * 2;
    ms_timer_schedule(ep->reactor, &ep->redial_timer, wait);
}

static void endpoint_dial(ms_endpoint *ep)
{
    ep->dialing = true;
    ep->tran->dialer_connect(ep->tp);
}

static void endpoint_redial_cb(ms_timer *t)
{
    ms_endpoint *ep = MS_CONTAINER_OF(t, ms_endpoint, redial_timer);
    if (ep->closed || ep->has_pipe || ep->dialing)
        return;
    ms_socket_stat_add(ep->sock, MSOCK_STAT_RECONNECTS, 1);
    endpoint_dial(ep);
}

static void endpoint_start_task(ms_task *t)
{
    ms_endpoint *ep = MS_CONTAINER_OF(t, ms_endpoint, start_task);
    if (ep->closed)
        return;
    ep->started = true;
    if (ep->kind == MS_LISTENER)
        ep->tran->listener_start(ep->tp);
    else
        endpoint_dial(ep);
}

static void endpoint_sync_result(ms_endpoint *ep, int rv)
{
    pthread_mutex_lock(&ep->mtx);
    if (ep->sync_dial && !ep->sync_done) {
        ep->sync_done = true;
        ep->sync_result = rv;
        pthread_cond_broadcast(&ep->cv);
    }
    pthread_mutex_unlock(&ep->mtx);
}

void ms_endpoint_dial_done(ms_endpoint *ep, int rv)
{
    ep->dialing = false;
    if (rv == 0) {
        ep->has_pipe = true;
        ep->backoff = ep->opts.reconnect_min;
        endpoint_sync_result(ep, 0);
        return;
    }
    ms_socket_stat_add(ep->sock, MSOCK_STAT_DIALS_FAILED, 1);
    ms_debug("dial %s failed: %s", ep->url.raw, msock_strerror(rv));
    pthread_mutex_lock(&ep->mtx);
    bool sync_first = ep->sync_dial && !ep->sync_done;
    pthread_mutex_unlock(&ep->mtx);
    if (sync_first) {
        endpoint_sync_result(ep, rv); /* the caller closes the dialer */
        return;
    }
    if (!ep->closed)
        endpoint_schedule_redial(ep);
}

static void endpoint_pipe_lost_task(ms_task *t)
{
    ms_endpoint *ep = MS_CONTAINER_OF(t, ms_endpoint, pipe_lost_task);
    ep->has_pipe = false;
    if (!ep->closed && !ep->dialing)
        endpoint_schedule_redial(ep);
    ms_endpoint_release(ep);
}

void ms_endpoint_pipe_lost(ms_endpoint *ep)
{
    if (ep->kind != MS_DIALER)
        return;
    ms_endpoint_hold(ep);
    if (!ms_reactor_post(ep->reactor, &ep->pipe_lost_task))
        ms_endpoint_release(ep);
}

static void endpoint_close_task(ms_task *t)
{
    ms_endpoint *ep = MS_CONTAINER_OF(t, ms_endpoint, close_task);
    if (!ep->closed) {
        ep->closed = true;
        ms_timer_cancel(ep->reactor, &ep->redial_timer);
        if (ep->kind == MS_LISTENER)
            ep->tran->listener_close(ep->tp);
        else
            ep->tran->dialer_close(ep->tp);
    }
    endpoint_sync_result(ep, MSOCK_ECLOSED);
    pthread_mutex_lock(&ep->mtx);
    ep->close_done = true;
    pthread_cond_broadcast(&ep->cv);
    pthread_mutex_unlock(&ep->mtx);
}

int ms_endpoint_create(ms_endpoint **out, ms_socket *s, int kind, const char *url)
{
    ms_endpoint *ep = calloc(1, sizeof *ep);
    if (!ep)
        return MSOCK_ENOMEM;
    int rv = ms_url_parse(&ep->url, url);
    if (rv == 0 && (ep->tran = ms_transport_find(ep->url.scheme)) == NULL)
        rv = MSOCK_ENOTSUP;
    if (rv != 0) {
        free(ep);
        return rv;
    }
    ep->kind = kind;
    ep->sock = s;
    atomic_init(&ep->refs, 1);
    atomic_init(&ep->conns, 0);
    ep->reactor = ms_reactor_pick();
    pthread_mutex_init(&ep->mtx, NULL);
    ms_cond_init(&ep->cv);
    ms_timer_init(&ep->redial_timer, endpoint_redial_cb);
    ms_task_init(&ep->start_task, endpoint_start_task);
    ms_task_init(&ep->close_task, endpoint_close_task);
    ms_task_init(&ep->pipe_lost_task, endpoint_pipe_lost_task);
    pthread_mutex_lock(&s->mtx);
    ep->opts = s->opts;
    pthread_mutex_unlock(&s->mtx);
    ep->backoff = ep->opts.reconnect_min;
    rv = kind == MS_LISTENER ? ep->tran->listener_init(ep, &ep->tp) : ep->tran->dialer_init(ep, &ep->tp);
    if (rv != 0) {
        pthread_cond_destroy(&ep->cv);
        pthread_mutex_destroy(&ep->mtx);
        free(ep);
        return rv;
    }
    ms_socket_hold(s);
    pthread_mutex_lock(&endpoints_mtx);
    rv = ms_idmap_alloc(&endpoints, ep, &ep->id);
    pthread_mutex_unlock(&endpoints_mtx);
    if (rv != 0) {
        ms_endpoint_release(ep);
        return rv;
    }
    {
        pthread_mutex_lock(&s->mtx);
        if (s->closing) {
            rv = MSOCK_ECLOSED;
        } else {
            ep->next = s->endpoints;
            if (s->endpoints)
                s->endpoints->prev = ep;
            s->endpoints = ep;
        }
        pthread_mutex_unlock(&s->mtx);
    }
    if (rv != 0) {
        ms_endpoint_close(ep, false); /* drops the id map's reference: frees ep */
        return rv;
    }
    *out = ep;
    return 0;
}

int ms_endpoint_start(ms_endpoint *ep, int flags)
{
    pthread_mutex_lock(&ep->mtx);
    bool again = ep->start_requested || ep->close_done;
    bool sync = ep->kind == MS_DIALER && !(flags & MSOCK_FLAG_NONBLOCK);
    ep->start_requested = true;
    ep->sync_dial = sync;
    pthread_mutex_unlock(&ep->mtx);
    if (again)
        return MSOCK_ESTATE;
    if (ep->kind == MS_LISTENER) {
        int rv = ep->tran->listener_bind(ep->tp);
        if (rv != 0)
            return rv;
    }
    ms_reactor_post(ep->reactor, &ep->start_task);
    if (!sync)
        return 0;
    pthread_mutex_lock(&ep->mtx);
    while (!ep->sync_done)
        pthread_cond_wait(&ep->cv, &ep->mtx);
    int rv = ep->sync_result;
    pthread_mutex_unlock(&ep->mtx);
    return rv;
}

void ms_endpoint_close(ms_endpoint *ep, bool close_pipes)
{
    ms_socket *s = ep->sock;
    pthread_mutex_lock(&s->mtx);
    bool linked = ep->prev || s->endpoints == ep;
    if (linked) {
        if (ep->prev)
            ep->prev->next = ep->next;
        else
            s->endpoints = ep->next;
        if (ep->next)
            ep->next->prev = ep->prev;
        ep->next = ep->prev = NULL;
    }
    pthread_mutex_unlock(&s->mtx);

    pthread_mutex_lock(&endpoints_mtx);
    bool mapped = ms_idmap_get(&endpoints, ep->id) == ep;
    if (mapped)
        ms_idmap_remove(&endpoints, ep->id);
    pthread_mutex_unlock(&endpoints_mtx);

    if (ms_reactor_on_thread(ep->reactor)) {
        endpoint_close_task(&ep->close_task);
    } else {
        ms_reactor_post(ep->reactor, &ep->close_task);
        pthread_mutex_lock(&ep->mtx);
        while (!ep->close_done)
            pthread_cond_wait(&ep->cv, &ep->mtx);
        pthread_mutex_unlock(&ep->mtx);
    }
    if (close_pipes)
        ms_pipes_close(ep->sock, ep);
    if (mapped)
        ms_endpoint_release(ep); /* the id map's reference */
}

void ms_endpoint_hold(ms_endpoint *ep)
{
    atomic_fetch_add_explicit(&ep->refs, 1, memory_order_relaxed);
}

void ms_endpoint_release(ms_endpoint *ep)
{
    if (atomic_fetch_sub_explicit(&ep->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (ep->tp) {
        if (ep->kind == MS_LISTENER)
            ep->tran->listener_fini(ep->tp);
        else
            ep->tran->dialer_fini(ep->tp);
    }
    ms_socket_release(ep->sock);
    pthread_cond_destroy(&ep->cv);
    pthread_mutex_destroy(&ep->mtx);
    free(ep);
}

ms_endpoint *ms_endpoint_find(uint32_t id, int kind)
{
    ms_endpoint *ep = NULL;
    pthread_mutex_lock(&endpoints_mtx);
    if ((ep = ms_idmap_get(&endpoints, id)) != NULL) {
        if (ep->kind == kind)
            ms_endpoint_hold(ep);
        else
            ep = NULL;
    }
    pthread_mutex_unlock(&endpoints_mtx);
    return ep;
}
