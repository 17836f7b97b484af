/* transport.h: what a transport provides. Each transport file fills one const ms_transport
 * (its only global symbol); the registry checks that every required op is set.
 * Threading: dialer and listener ops run on the endpoint's reactor thread, except init and
 * bind which run on the caller's thread before the endpoint is shared. Pipe ops run on any
 * thread, never with a socket lock held; upcalls (ms_pipe_*) are made with no transport lock
 * held. */
#ifndef MS_TRANSPORT_H
#define MS_TRANSPORT_H

#include "core/defs.h"

/* Operations on one connection; tp is the transport's connection object. */
typedef struct ms_pipe_ops {
    /* Takes m and returns 0, or returns MSOCK_EAGAIN when the outbound queue is full (then the
     * transport calls ms_pipe_send_ready once it has room) or MSOCK_ECLOSED. Any thread. */
    int (*send)(void *tp, msock_msg *m);
    /* Optional: sends len bytes from the caller's buffer, which is the caller's again on
     * return; a stream frames a small one straight into its write batch, with no message in
     * between. Returns as send does, or MSOCK_ENOMEM. Any thread. */
    int (*send_copy)(void *tp, const void *buf, size_t len);
    /* The socket has room again after ms_pipe_deliver said MSOCK_EAGAIN. Any thread. */
    void (*recv_resume)(void *tp);
    /* Messages still waiting to be written (close with linger waits for 0). Any thread. */
    size_t (*queued)(void *tp);
    /* Starts closing; non-blocking and idempotent. The transport then calls ms_pipe_gone once
     * (if the pipe was attached) and drops its reference. Any thread. */
    void (*close)(void *tp);
    /* The pipe's last reference is gone: free tp. Any thread, no lock held. */
    void (*free)(void *tp);
} ms_pipe_ops;

struct ms_transport {
    const char *scheme; /* "tcp", "tcp4", "tls+tcp", "ipc", "inproc", "ws", "wss"... */
    /* Dialer: init checks the URL (caller's thread; may block on nothing). connect starts one
     * attempt on the reactor thread and ends with exactly one ms_endpoint_dial_done(ep, rv)
     * (rv 0 once the pipe is attached). close cancels an attempt in flight: after it returns
     * no dial_done comes for it. fini frees. */
    int (*dialer_init)(ms_endpoint *ep, void **tp);
    void (*dialer_connect)(void *tp);
    void (*dialer_close)(void *tp);
    void (*dialer_fini)(void *tp);
    /* Listener: init checks the URL; bind reserves the address (caller's thread) and writes the
     * bound URL into the endpoint (port 0 resolved); start begins accepting on the reactor
     * thread; close stops accepting (reactor thread) leaving accepted pipes alone; fini frees. */
    int (*listener_init)(ms_endpoint *ep, void **tp);
    int (*listener_bind)(void *tp);
    void (*listener_start)(void *tp);
    void (*listener_close)(void *tp);
    void (*listener_fini)(void *tp);
};

/* Finds the transport for a URL scheme; NULL if there is none. */
const ms_transport *ms_transport_find(const char *scheme);

extern const ms_transport ms_transport_inproc;
extern const ms_transport ms_transport_ipc;
extern const ms_transport ms_transport_tcp;
extern const ms_transport ms_transport_tcp4;
extern const ms_transport ms_transport_tcp6;
extern const ms_transport ms_transport_tls_tcp; /* tls.c: tls+tcp, over OpenSSL */
extern const ms_transport ms_transport_tls_tcp4;
extern const ms_transport ms_transport_tls_tcp6;
#ifdef MSOCK_HAVE_WS
extern const ms_transport ms_transport_ws; /* ws.c files, built with libwebsockets */
extern const ms_transport ms_transport_wss;
#endif

#endif
