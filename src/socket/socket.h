/* socket.h: the stateless Socket: a protocol declaration, a connector (its endpoints and
 * pipes), a sender and a receiver policy, options, statistics and the blocking waits. One
 * mutex guards the lists and queues; it is never held while calling into a transport. */
#ifndef MS_SOCKET_H
#define MS_SOCKET_H

#include <pthread.h>
#include "core/msgq.h"
#include "core/options.h"
#include "protocol/protocol.h"

struct ms_socket {
    uint32_t id;
    const ms_protocol *proto;
    void *proto_data;
    /* Every call holds and releases the socket: the count gets a cache line of its own, or
     * a receiving thread's updates would evict the fields a delivering thread reads. */
    _Alignas(64) atomic_int refs;

    /* Each group below starts a cache line of its own: the lock and queue, which producers
     * write, must not share a line with the reference count or with the receivers' batch. */
    _Alignas(64) pthread_mutex_t mtx;
    pthread_cond_t recv_cv, send_cv, pipes_cv;
    ms_opts opts;
    atomic_uint opts_gen; /* bumped by every option set: a protocol thread's copy is stale */
    /* opts.send_timeout and opts.recv_timeout, readable without the lock on every call */
    atomic_int_fast64_t send_timeout, recv_timeout;
    bool closing, closed;
    atomic_bool closing_flag; /* closing, readable without the lock */

    ms_ctx *ctx0; /* the built-in context of a protocol with contexts, else NULL */
    ms_ctx *ctxs; /* every open context, the built-in one included */
    ms_endpoint *endpoints;
    ms_pipe *pipes;
    int npipes;      /* attached and being attached, for the pipe limit */
    int nattached;

    /* receiver */
    ms_msgq recvq; /* its totals also count the receivers' batch below */
    atomic_size_t recv_ready; /* recvq.count, readable without the lock (for spinning) */
    _Alignas(64) pthread_mutex_t rx_mtx; /* guards the receivers' batch; taken inside mtx, never around it */
    msock_msg *rx_head;     /* messages taken off recvq at once, oldest first */
    atomic_bool rx_any;     /* rx_head != NULL, readable without rx_mtx (a hint) */
    size_t rx_done_count, rx_done_bytes; /* taken from the batch, not yet off recvq's totals */
    ms_pipe *rx_blocked;
    /* sender */
    _Alignas(64) ms_pipe *ready; /* ring of pipes that can take a message; next pick is this one */

    /* readiness fds (eventfd, made on first request; -1 until then) */
    int recv_fd, send_fd;
    bool recv_fd_set, send_fd_set;

    /* pipe events */
    msock_pipe_cb pipe_cb[3];
    void *pipe_cb_arg[3];

    _Alignas(64) atomic_uint_fast64_t stats[MSOCK_STAT_COUNT];
};

static inline void ms_socket_stat_add(ms_socket *s, int stat, uint64_t n)
{
    atomic_fetch_add_explicit(&s->stats[stat], n, memory_order_relaxed);
}

/* The socket's protocol state (proto->state_size bytes). */
static inline void *ms_socket_proto(ms_socket *s)
{
    return s->proto_data;
}

/* Creates a socket for a protocol and registers its id. */
int ms_socket_create(ms_socket **out, const ms_protocol *p);
/* Looks up and holds; NULL if no such socket (or it is closing). */
ms_socket *ms_socket_find(uint32_t id);
void ms_socket_hold(ms_socket *s);
/* socket_cache.c: the calling thread's lookup cache. get: the socket with this id, held, if
 * cached and not closing, else NULL; store: cache s (taking a reference of its own) unless its
 * slot holds a live socket; forget: drop s if cached; flush: drop all (thread exit does it
 * too; msock_fini calls it). */
ms_socket *ms_socket_cache_get(uint32_t id);
void ms_socket_cache_store(ms_socket *s);
void ms_socket_cache_forget(ms_socket *s);
void ms_socket_cache_flush(void);
void ms_socket_release(ms_socket *s);
/* msock_close: linger, close endpoints and pipes, wake waiters, drop the id. */
int ms_socket_close(ms_socket *s);

int ms_socket_send(ms_socket *s, msock_msg *m, int flags);
/* Sends len bytes of buf (the caller keeps buf); protocols without hooks send it without
 * first copying it into a message. */
int ms_socket_send_buf(ms_socket *s, const void *buf, size_t len, int flags);
int ms_socket_recv(ms_socket *s, msock_msg **m, int flags);
/* The same through a context (msock_ctx_*): its own timeouts and state. */
int ms_socket_ctx_send(ms_ctx *c, msock_msg *m, int flags);
int ms_socket_ctx_recv(ms_ctx *c, msock_msg **m, int flags);
int ms_socket_set(ms_socket *s, int opt, const ms_optval *v);
int ms_socket_get(ms_socket *s, int opt, ms_optval *v, char *buf, size_t *len);

/* Under s->mtx: bring the readiness fds up to date with the queues. */
void ms_socket_update_fds(ms_socket *s);

#endif
