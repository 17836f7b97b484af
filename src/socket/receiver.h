/* receiver.h: the receiver policies: all (each message stamped with its origin pipe into the
 * bounded socket queue; a full queue pauses that pipe) or none (drop, but keep reading). */
#ifndef MS_RECEIVER_H
#define MS_RECEIVER_H

#include "core/defs.h"

/* Takes messages from pipe p under one lock; the protocol's receive hook runs on each (under
 * the lock) and may keep, drop or take it, or close p (MSOCK_ECLOSED then: the rest of the
 * chain is freed). Without force, *head is one message, taken only if it fits:
 * 0, or MSOCK_EAGAIN (not taken; p paused). With force, the whole chain *head (linked through
 * next) is taken, so a stream never holds decoded messages back: 0, or MSOCK_EAGAIN (taken,
 * but the queue is full: p paused, stop reading). MSOCK_ECLOSED: nothing taken. A paused pipe
 * hears ops->recv_resume when there is room. */
int ms_receiver_deliver(ms_socket *s, ms_pipe *p, msock_msg **head, bool force);
/* Receives one message, waiting until deadline unless nonblock; resumes paused pipes. A wait
 * ends with MSOCK_ECLOSED when *abort (may be NULL) turns true and recv_cv is broadcast. */
int ms_receiver_recv(ms_socket *s, msock_msg **m, int64_t deadline, bool nonblock,
                     const atomic_bool *abort);
/* The socket this thread last sent on: a receive on that socket is probably waiting for an
 * answer, worth a short spin; other receives (a stream's consumer) sleep at once, because a
 * spinning consumer takes the core its producer needs on a small machine. */
extern MS_TLS uint32_t ms_receiver_last_send;
static inline void ms_receiver_note_send(uint32_t socket_id)
{
    ms_receiver_last_send = socket_id;
}
/* Under s->mtx: queues a message the protocol made itself (a local event) for msock_recv.
 * 0, or MSOCK_EAGAIN when the queue is full, MSOCK_ECLOSED when the socket is: m stays the
 * caller's then. */
int ms_receiver_push(ms_socket *s, msock_msg *m);
/* Under s->mtx: forget p (it is going away). */
void ms_receiver_remove(ms_socket *s, ms_pipe *p);

#endif
