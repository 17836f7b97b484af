/* pipe.h: the one pipe object the upper layers see: an id, the peer protocol, the transport
 * connection behind it, and a slot each for the sender and the receiver. Transports call the
 * ms_pipe_* upcalls below; the socket keeps the pipe in its lists under the socket lock. */
#ifndef MS_PIPE_H
#define MS_PIPE_H

#include "core/defs.h"
#include "transport/transport.h"

struct ms_pipe {
    uint32_t id;
    atomic_int refs;
    ms_socket *sock;
    ms_endpoint *ep; /* the dialer or listener that made it (holds a reference) */
    const ms_pipe_ops *ops;
    void *tp;
    uint16_t peer_proto;
    atomic_bool closing;   /* msock_pipe_close or socket close asked */
    atomic_bool gone_done; /* ms_pipe_gone ran */
    char url[MS_URL_MAX + 8];

    /* Under the socket lock: */
    bool attached;
    ms_pipe *next, *prev;           /* socket's list of pipes */
    bool send_ready;                /* sender: can take a message now */
    uint64_t ready_gen;             /* sender: bumped by every ms_pipe_send_ready */
    ms_pipe *ready_next, *ready_prev; /* sender: ring of ready pipes */
    bool rx_blocked;                /* receiver: waits for room in the socket queue */
    ms_pipe *rx_next;               /* receiver: list of blocked pipes */

    /* msock_pipe_stat_get. A line of its own: the sending thread counts here on every send,
     * while the peer's thread writes the sender fields above when it makes room. */
    _Alignas(64) atomic_uint_fast64_t stats[MSOCK_STAT_COUNT];
};

static inline void ms_pipe_stat_add(ms_pipe *p, int stat, uint64_t n)
{
    atomic_fetch_add_explicit(&p->stats[stat], n, memory_order_relaxed);
}

/* Creates and adds a pipe for a connection whose handshake has finished. Runs the protocol's
 * and the application's vetoes (ADD_PRE), then the receiver and sender see it (ADD_POST).
 * Returns 0 with *out holding the transport's reference, or an error (the transport keeps tp
 * and closes the connection): MSOCK_EPEERPROTO, MSOCK_EBUSY (pipe limit), MSOCK_ECONNABORTED
 * (vetoed), MSOCK_ECLOSED. Reactor or user thread; no locks held. */
int ms_pipe_attach(ms_endpoint *ep, const ms_pipe_ops *ops, void *tp, uint16_t peer_proto,
                   const char *url, ms_pipe **out);
/* Received messages: stamps them with the pipe and queues them (ms_receiver_deliver says how
 * force and the results work). A stream delivers whole chains with force; inproc delivers one
 * message without. */
int ms_pipe_deliver(ms_pipe *p, msock_msg **head, bool force);
/* The outbound queue has room again after a send said MSOCK_EAGAIN. */
void ms_pipe_send_ready(ms_pipe *p);
/* The connection is closed: the socket drops the pipe, the dialer redials. Exactly once.
 * `reason` is 0 or the error that ended it. */
void ms_pipe_gone(ms_pipe *p, int reason);
/* Counts a dropped connection or message in the socket's statistics, and in the pipe's when
 * there is one (p may be NULL before the handshake). */
void ms_pipe_count_error(ms_socket *s, ms_pipe *p, int stat);

void ms_pipe_hold(ms_pipe *p);
void ms_pipe_release(ms_pipe *p);
/* Looks up a pipe by id and holds it; NULL if none. */
ms_pipe *ms_pipe_find(uint32_t id);
/* Asks the pipe to close (idempotent, non-blocking). */
void ms_pipe_close(ms_pipe *p);
/* Asks every pipe of s that ep made (every pipe when ep is NULL) to close, one at a time,
 * without holding the socket lock while a transport closes. No lock held on entry. */
void ms_pipes_close(ms_socket *s, const ms_endpoint *ep);

#endif
