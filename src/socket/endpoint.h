/* endpoint.h: dialers and listeners. A dialer keeps at most one pipe and redials with
 * exponential backoff and jitter; a listener accepts until closed. Endpoint state changes
 * happen on the endpoint's reactor thread; callers post to it. */
#ifndef MS_ENDPOINT_H
#define MS_ENDPOINT_H

#include <pthread.h>
#include "core/options.h"
#include "core/reactor.h"
#include "core/url.h"

enum ms_endpoint_kind { MS_DIALER = 1, MS_LISTENER = 2 };

struct ms_endpoint {
    uint32_t id;
    int kind;
    atomic_int refs;
    ms_socket *sock;
    const ms_transport *tran;
    void *tp;
    ms_reactor *reactor;
    ms_url url;
    char bound_url[MS_URL_MAX + 8]; /* listener: the address really bound */
    ms_opts opts;
    atomic_int conns; /* listener: its connections not yet freed (MSOCK_OPT_MAX_CONNS) */
    ms_endpoint *next, *prev; /* socket's list, under the socket lock */

    /* Reactor thread only: */
    bool started, closed, dialing, has_pipe;
    int64_t backoff; /* next redial wait, ms */
    ms_timer redial_timer;
    ms_task start_task, close_task, pipe_lost_task;

    /* Synchronous dial and close hand-shakes, under mtx: */
    pthread_mutex_t mtx;
    pthread_cond_t cv;
    bool start_requested, sync_dial, sync_done, close_done;
    int sync_result;
};

/* Creates an endpoint of kind for url on socket s (not started). */
int ms_endpoint_create(ms_endpoint **out, ms_socket *s, int kind, const char *url);
/* Starts it: a listener binds (errors returned here) and accepts; a dialer dials, waiting for
 * the first result unless MSOCK_FLAG_NONBLOCK. */
int ms_endpoint_start(ms_endpoint *ep, int flags);
/* Stops it and waits until its reactor work is done; closes the pipes it made when
 * close_pipes (msock_dialer_close, msock_listener_close), leaves them to the socket when not
 * (socket close lingers on them first). Idempotent. */
void ms_endpoint_close(ms_endpoint *ep, bool close_pipes);
void ms_endpoint_hold(ms_endpoint *ep);
void ms_endpoint_release(ms_endpoint *ep);
/* Finds by id and holds; NULL if none. */
ms_endpoint *ms_endpoint_find(uint32_t id, int kind);

/* Transport upcalls. dial_done: one attempt ended (0: a pipe was attached). Reactor thread. */
void ms_endpoint_dial_done(ms_endpoint *ep, int rv);
/* A pipe of this endpoint is gone (any thread): a dialer redials. */
void ms_endpoint_pipe_lost(ms_endpoint *ep);

#endif
