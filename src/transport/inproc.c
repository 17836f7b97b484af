/* inproc.c: the inproc:// transport: a pair of pipe ends in one process. A send hands the
 * message pointer straight to the peer socket's queue: no copy, no reactor, no syscall. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/msg.h"
#include "socket/endpoint.h"
#include "socket/pipe.h"
#include "socket/socket.h"
#include "transport/transport.h"

typedef struct inproc_pair inproc_pair;

typedef struct inproc_end {
    inproc_pair *pair;
    int side;
    ms_pipe *pipe; /* the pair holds the transport's reference until close */
} inproc_end;

struct inproc_pair {
    pthread_mutex_t mtx;
    bool open, closed;
    atomic_int refs; /* one per end still owned by a pipe or by the dial in progress */
    inproc_end ends[2];
};

typedef struct inproc_listener {
    ms_endpoint *ep;
    struct inproc_listener *next;
    bool bound;
} inproc_listener;

typedef struct inproc_dialer {
    ms_endpoint *ep;
} inproc_dialer;

static pthread_mutex_t inproc_mtx = PTHREAD_MUTEX_INITIALIZER;
static inproc_listener *inproc_listeners;

static void pair_release(inproc_pair *pr)
{
    if (atomic_fetch_sub_explicit(&pr->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&pr->mtx);
    free(pr);
}

/* The other end's pipe, held; NULL when the pair is not (or no longer) open. */
static ms_pipe *pair_peer_pipe(inproc_end *e)
{
    inproc_pair *pr = e->pair;
    ms_pipe *p = NULL;
    pthread_mutex_lock(&pr->mtx);
    if (pr->open && !pr->closed) {
        p = pr->ends[1 - e->side].pipe;
        ms_pipe_hold(p);
    }
    pthread_mutex_unlock(&pr->mtx);
    return p;
}

static void inproc_close(void *tp);

static int inproc_send(void *tp, msock_msg *m)
{
    inproc_end *e = tp;
    ms_pipe *peer = pair_peer_pipe(e);
    if (!peer)
        return e->pair->closed ? MSOCK_ECLOSED : MSOCK_EAGAIN;
    size_t max = peer->ep->opts.recv_maxsz;
    if (max && ms_msg_wire_len(m) > max) {
        /* As on the wire: the receiver drops a connection that sends more than it takes. */
        ms_pipe_count_error(peer->sock, peer, MSOCK_STAT_DROPS_TOO_LARGE);
        ms_debug("socket %u: dropping inproc pipe %u: message over the receive max size",
                 peer->sock->id, peer->id);
        ms_pipe_release(peer);
        ms_msg_free(m);
        inproc_close(e);
        return 0;
    }
    /* Delivery stamps the message with the receiving pipe: its origin as the peer sees it. */
    m->next = NULL;
    msock_msg *chain = m;
    int rv = ms_pipe_deliver(peer, &chain, false);
    ms_pipe_release(peer);
    return rv; /* on failure m is still the caller's */
}

static void inproc_recv_resume(void *tp)
{
    ms_pipe *peer = pair_peer_pipe(tp);
    if (peer) {
        ms_pipe_send_ready(peer);
        ms_pipe_release(peer);
    }
}

static size_t inproc_queued(void *tp)
{
    MS_UNUSED(tp);
    return 0; /* every accepted message is already in the peer socket's queue */
}

static void inproc_close(void *tp)
{
    inproc_end *e = tp;
    inproc_pair *pr = e->pair;
    pthread_mutex_lock(&pr->mtx);
    bool first = !pr->closed;
    pr->closed = true;
    ms_pipe *pipes[2] = {pr->ends[0].pipe, pr->ends[1].pipe};
    pthread_mutex_unlock(&pr->mtx);
    if (!first)
        return;
    for (int i = 0; i < 2; i++)
        if (pipes[i])
            ms_pipe_gone(pipes[i], 0);
    for (int i = 0; i < 2; i++)
        if (pipes[i])
            ms_pipe_release(pipes[i]); /* may free the pair */
}

static void inproc_free(void *tp)
{
    pair_release(((inproc_end *)tp)->pair);
}

static const ms_pipe_ops inproc_pipe_ops = {
    .send = inproc_send,
    .recv_resume = inproc_recv_resume,
    .queued = inproc_queued,
    .close = inproc_close,
    .free = inproc_free,
};

static inproc_listener *inproc_find(const char *name)
{
    for (inproc_listener *l = inproc_listeners; l; l = l->next)
        if (strcmp(l->ep->url.path, name) == 0)
            return l;
    return NULL;
}

/* Attaches both ends; returns 0 or the error of the side that refused. */
static int inproc_connect_to(ms_endpoint *dialer, ms_endpoint *listener)
{
    inproc_pair *pr = calloc(1, sizeof *pr);
    if (!pr)
        return MSOCK_ENOMEM;
    ms_mutex_init_fast(&pr->mtx);
    atomic_init(&pr->refs, 2);
    for (int i = 0; i < 2; i++) {
        pr->ends[i].pair = pr;
        pr->ends[i].side = i;
    }
    ms_endpoint *eps[2] = {listener, dialer};
    int rv = 0;
    for (int i = 0; i < 2 && rv == 0; i++) {
        ms_pipe *p = NULL;
        /* Each end's peer is the socket at the other end. */
        uint16_t peer_proto = eps[1 - i]->sock->proto->self;
        rv = ms_pipe_attach(eps[i], &inproc_pipe_ops, &pr->ends[i], peer_proto, eps[i]->url.raw, &p);
        if (rv == 0) {
            pthread_mutex_lock(&pr->mtx);
            pr->ends[i].pipe = p;
            pthread_mutex_unlock(&pr->mtx);
        }
    }
    if (rv != 0) {
        ms_pipe *first = pr->ends[0].pipe;
        if (first) {
            inproc_close(&pr->ends[0]); /* gone + release: frees that end */
            pair_release(pr);           /* the end that never attached */
        } else {
            pthread_mutex_destroy(&pr->mtx);
            free(pr);
        }
        return rv;
    }
    pthread_mutex_lock(&pr->mtx);
    pr->open = true;
    ms_pipe *p0 = pr->ends[0].pipe, *p1 = pr->ends[1].pipe;
    ms_pipe_hold(p0);
    ms_pipe_hold(p1);
    pthread_mutex_unlock(&pr->mtx);
    /* Senders that tried before both ends existed were told to wait: wake them. */
    ms_pipe_send_ready(p0);
    ms_pipe_send_ready(p1);
    ms_pipe_release(p0);
    ms_pipe_release(p1);
    return 0;
}

static int inproc_dialer_init(ms_endpoint *ep, void **tp)
{
    inproc_dialer *d = calloc(1, sizeof *d);
    if (!d)
        return MSOCK_ENOMEM;
    d->ep = ep;
    *tp = d;
    return 0;
}

static void inproc_dialer_connect(void *tp)
{
    inproc_dialer *d = tp;
    pthread_mutex_lock(&inproc_mtx);
    inproc_listener *l = inproc_find(d->ep->url.path);
    ms_endpoint *lep = l ? l->ep : NULL;
    if (lep)
        ms_endpoint_hold(lep);
    pthread_mutex_unlock(&inproc_mtx);
    int rv = lep ? inproc_connect_to(d->ep, lep) : MSOCK_ECONNREFUSED;
    if (lep)
        ms_endpoint_release(lep);
    ms_endpoint_dial_done(d->ep, rv);
}

static void inproc_dialer_close(void *tp)
{
    MS_UNUSED(tp); /* connects are synchronous: nothing is ever in flight */
}

static void inproc_fini(void *tp)
{
    free(tp);
}

static int inproc_listener_init(ms_endpoint *ep, void **tp)
{
    inproc_listener *l = calloc(1, sizeof *l);
    if (!l)
        return MSOCK_ENOMEM;
    l->ep = ep;
    *tp = l;
    return 0;
}

static int inproc_listener_bind(void *tp)
{
    inproc_listener *l = tp;
    int rv = 0;
    pthread_mutex_lock(&inproc_mtx);
    if (inproc_find(l->ep->url.path)) {
        rv = MSOCK_EADDRINUSE;
    } else {
        l->next = inproc_listeners;
        inproc_listeners = l;
        l->bound = true;
    }
    pthread_mutex_unlock(&inproc_mtx);
    snprintf(l->ep->bound_url, sizeof l->ep->bound_url, "%s", l->ep->url.raw);
    return rv;
}

static void inproc_listener_start(void *tp)
{
    MS_UNUSED(tp);
}

static void inproc_listener_close(void *tp)
{
    inproc_listener *l = tp;
    pthread_mutex_lock(&inproc_mtx);
    for (inproc_listener **pp = &inproc_listeners; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    l->bound = false;
    pthread_mutex_unlock(&inproc_mtx);
}

static void inproc_listener_fini(void *tp)
{
    inproc_listener_close(tp);
    free(tp);
}

const ms_transport ms_transport_inproc = {
    .scheme = "inproc",
    .dialer_init = inproc_dialer_init,
    .dialer_connect = inproc_dialer_connect,
    .dialer_close = inproc_dialer_close,
    .dialer_fini = inproc_fini,
    .listener_init = inproc_listener_init,
    .listener_bind = inproc_listener_bind,
    .listener_start = inproc_listener_start,
    .listener_close = inproc_listener_close,
    .listener_fini = inproc_listener_fini,
};
