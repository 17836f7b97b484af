/* receiver.c: the receiver policies. "all" queues each message (stamped with its pipe) into
 * the socket's bounded queue and pauses a pipe whose message does not fit, resuming it when a
 * receive makes room; "none" drops data but the transport keeps reading to notice closes. */
#include <sched.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/msg.h"
#include "protocol/protocol.h"
#include "socket/pipe.h"
#include "socket/receiver.h"
#include "socket/socket.h"

MS_TLS uint32_t ms_receiver_last_send;

static void receiver_pause(ms_socket *s, ms_pipe *p)
{
    if (!p->rx_blocked) {
        p->rx_blocked = true;
        p->rx_next = s->rx_blocked;
        s->rx_blocked = p;
    }
}

/* Adds to a counter that only holders of the socket lock write: no locked instruction. */
static inline void receiver_bump(atomic_uint_fast64_t *counter, uint64_t n)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Under s->mtx: counts n arrivals of `bytes` wire bytes on the socket and the pipe. */
static void receiver_count(ms_socket *s, ms_pipe *p, uint64_t n, uint64_t bytes)
{
    receiver_bump(&s->stats[MSOCK_STAT_MSGS_RECV], n);
    receiver_bump(&s->stats[MSOCK_STAT_BYTES_RECV], bytes);
    receiver_bump(&p->stats[MSOCK_STAT_MSGS_RECV], n);
    receiver_bump(&p->stats[MSOCK_STAT_BYTES_RECV], bytes);
}

int ms_receiver_deliver(ms_socket *s, ms_pipe *p, msock_msg **head, bool force)
{
    const ms_protocol *proto = s->proto;
    if (proto->recv_policy == MS_RECV_NONE) {
        /* No peer of a send-only protocol (PUB, PUSH) sends to it: this one does not speak
         * the protocol, and a flood from it must cost us nothing but its connection. */
        ms_msg_chain_free(*head);
        *head = NULL;
        ms_pipe_count_error(s, p, MSOCK_STAT_DROPS_MALFORMED);
        ms_pipe_close(p);
        return force ? MSOCK_ECLOSED : 0;
    }
    uint64_t n = 0, bytes = 0;
    int rv = 0;
    bool close_pipe = false;
    /* Stamped, counted and measured before the lock: with no hook to run, a whole stream
     * batch then joins the queue in one step and a receiver never waits behind it. */
    msock_msg *tail = NULL;
    for (msock_msg *m = *head; m; m = m->next) {
        m->pipe_id = p->id;
        n++;
        bytes += ms_msg_wire_len(m);
        tail = m;
    }
    bool splice = force && proto->recv_hook == NULL;
    uint64_t splice_n = n, splice_bytes = bytes, queued = 0;
    n = bytes = 0;
    pthread_mutex_lock(&s->mtx);
    if (s->closed) {
        pthread_mutex_unlock(&s->mtx);
        return MSOCK_ECLOSED;
    }
    bool was_empty = ms_msgq_empty(&s->recvq);
    if (splice) {
        receiver_count(s, p, splice_n, splice_bytes); /* before a receiver can see them */
        ms_msgq_splice(&s->recvq, *head, tail, splice_n, splice_bytes);
        queued = splice_n;
        *head = NULL;
    }
    while (*head) {
        msock_msg *m = *head;
        if (!force && !ms_msgq_can_put(&s->recvq, ms_msg_wire_len(m))) {
            receiver_pause(s, p);
            rv = MSOCK_EAGAIN;
            break;
        }
        *head = m->next;
        m->next = NULL;
        n++;
        bytes += ms_msg_wire_len(m);
        if (proto->recv_hook) {
            /* Hooks read what came on the wire: an inproc sender's header is part of it. */
            int verdict = m->header_len == 0 || ms_msg_header_to_body(m) == 0
                              ? proto->recv_hook(s, p, m)
                              : MS_RX_DROP;
            if (verdict == MS_RX_TAKEN)
                continue;
            if (verdict != MS_RX_KEEP) {
                close_pipe |= verdict == MS_RX_CLOSE;
                ms_msg_free(m);
                continue;
            }
        }
        queued++;
        ms_msgq_put_force(&s->recvq, m);
    }
    if (force && ms_msgq_full(&s->recvq)) {
        receiver_pause(s, p);
        rv = MSOCK_EAGAIN;
    }
    if (n)
        receiver_count(s, p, n, bytes);
    if (queued) {
        atomic_store_explicit(&s->recv_ready, s->recvq.count, memory_order_release);
        if (was_empty)
            ms_socket_update_fds(s);
        /* One wake-up per batch; a woken receiver passes it on while messages remain. */
        pthread_cond_signal(&s->recv_cv);
    }
    pthread_mutex_unlock(&s->mtx);
    if (close_pipe) {
        /* The rest of a chain from a peer speaking garbage goes with its connection. */
        ms_msg_chain_free(*head);
        *head = NULL;
        ms_pipe_close(p);
        /* A single message (inproc) was taken: the sender's part is done. */
        return force ? MSOCK_ECLOSED : 0;
    }
    return rv;
}

int ms_receiver_push(ms_socket *s, msock_msg *m)
{
    if (s->closed)
        return MSOCK_ECLOSED;
    if (!ms_msgq_can_put(&s->recvq, ms_msg_wire_len(m)))
        return MSOCK_EAGAIN;
    bool was_empty = ms_msgq_empty(&s->recvq);
    ms_msgq_put_force(&s->recvq, m);
    atomic_store_explicit(&s->recv_ready, s->recvq.count, memory_order_release);
    if (was_empty)
        ms_socket_update_fds(s);
    pthread_cond_signal(&s->recv_cv);
    return 0;
}

void ms_receiver_remove(ms_socket *s, ms_pipe *p)
{
    if (!p->rx_blocked)
        return;
    for (ms_pipe **pp = &s->rx_blocked; *pp; pp = &(*pp)->rx_next)
        if (*pp == p) {
            *pp = p->rx_next;
            break;
        }
    p->rx_blocked = false;
    p->rx_next = NULL;
}

static bool receiver_has_messages(const void *socket)
{
    const ms_socket *s = socket;
    return atomic_load_explicit(&s->recv_ready, memory_order_acquire) != 0;
}

/* Paused pipes picked for resuming: held, and copied out of the list so that neither they
 * nor the list can change under us while we call their transports. */
typedef struct receiver_resumes {
    ms_pipe *local[32], **list;
    size_t n;
} receiver_resumes;

/* Under s->mtx and rx_mtx: charges the messages receivers took from their batch to the
 * queue totals. */
static void receiver_charge(ms_socket *s)
{
    s->recvq.count -= s->rx_done_count;
    s->recvq.bytes -= s->rx_done_bytes;
    s->rx_done_count = s->rx_done_bytes = 0;
}

/* Under s->mtx, after a charge: publishes the count, picks the paused pipes to resume once the
 * queue is down to half its limits, and clears the readiness fd of an empty queue. */
static void receiver_after_charge(ms_socket *s, receiver_resumes *r)
{
    atomic_store_explicit(&s->recv_ready, s->recvq.count, memory_order_relaxed);
    if (s->rx_blocked && ms_msgq_low(&s->recvq)) {
        size_t n = 0;
        for (ms_pipe *p = s->rx_blocked; p; p = p->rx_next)
            n++;
        if (n > MS_ARRAY_LEN(r->local) && (r->list = malloc(n * sizeof *r->list)) == NULL) {
            r->list = r->local; /* the rest resume at the next settle */
            n = MS_ARRAY_LEN(r->local);
        }
        while (s->rx_blocked && r->n < n) {
            ms_pipe *p = s->rx_blocked;
            s->rx_blocked = p->rx_next;
            p->rx_next = NULL;
            p->rx_blocked = false;
            ms_pipe_hold(p);
            r->list[r->n++] = p;
        }
    }
    if (ms_msgq_empty(&s->recvq))
        ms_socket_update_fds(s);
}

/* Under s->mtx: charge, then the rest. */
static void receiver_settle(ms_socket *s, receiver_resumes *r)
{
    pthread_mutex_lock(&s->rx_mtx);
    receiver_charge(s);
    pthread_mutex_unlock(&s->rx_mtx);
    receiver_after_charge(s, r);
}

/* Calls the transports of the pipes receiver_settle picked (no lock held). */
static void receiver_resume(receiver_resumes *r)
{
    for (size_t i = 0; i < r->n; i++) {
        r->list[i]->ops->recv_resume(r->list[i]->tp);
        ms_pipe_release(r->list[i]);
    }
    if (r->list != r->local)
        free(r->list);
}

/* A long batch is settled every so many messages, so paused pipes resume while it drains. */
#define RECEIVER_SETTLE_EVERY 256

/* Under rx_mtx: takes the batch's next message; *more and *settle as below. */
static msock_msg *receiver_pop_locked(ms_socket *s, bool *more, bool *settle)
{
    msock_msg *m = s->rx_head;
    if (m != NULL) {
        s->rx_head = m->next;
        s->rx_done_count++;
        s->rx_done_bytes += ms_msg_wire_len(m);
    }
    *more = s->rx_head != NULL;
    *settle = !*more || s->rx_done_count >= RECEIVER_SETTLE_EVERY;
    atomic_store_explicit(&s->rx_any, *more, memory_order_relaxed);
    return m;
}

/* Takes the next message from the receivers' batch (under rx_mtx); NULL when it is empty.
 * *more: messages remain in it; *settle: the totals are due for settling. */
static msock_msg *receiver_pop_batch(ms_socket *s, bool *more, bool *settle)
{
    pthread_mutex_lock(&s->rx_mtx);
    msock_msg *m = receiver_pop_locked(s, more, settle);
    pthread_mutex_unlock(&s->rx_mtx);
    return m;
}

/* Under s->mtx: takes the next message, refilling an empty batch with the whole queue, and
 * charges the totals when due (*settle then says receiver_after_charge is owed). */
static msock_msg *receiver_take(ms_socket *s, bool *more, bool *settle)
{
    pthread_mutex_lock(&s->rx_mtx);
    if (s->rx_head == NULL && s->recvq.head != NULL) {
        s->rx_head = s->recvq.head;
        s->recvq.head = s->recvq.tail = NULL;
    }
    msock_msg *m = receiver_pop_locked(s, more, settle);
    if (m != NULL && *settle)
        receiver_charge(s);
    pthread_mutex_unlock(&s->rx_mtx);
    return m;
}

int ms_receiver_recv(ms_socket *s, msock_msg **out, int64_t deadline, bool nonblock,
                     const atomic_bool *abort)
{
    receiver_resumes resumes;
    resumes.list = resumes.local;
    resumes.n = 0;
    bool more, settle;
    /* Receivers take the whole queue at once into a batch of their own (under rx_mtx), so a
     * producer and a consumer meet on the socket lock once per batch, not once per message.
     * The queue totals keep counting the batch's messages until they are settled. rx_any is
     * a hint read without the lock: an empty batch costs no lock here. */
    msock_msg *m = NULL;
    if (atomic_load_explicit(&s->rx_any, memory_order_relaxed))
        m = receiver_pop_batch(s, &more, &settle);
    if (m != NULL) {
        if (settle) {
            pthread_mutex_lock(&s->mtx);
            receiver_settle(s, &resumes);
            pthread_mutex_unlock(&s->mtx);
            receiver_resume(&resumes);
        }
        m->next = NULL;
        *out = m;
        return 0;
    }
    if (!nonblock && atomic_load_explicit(&s->recv_ready, memory_order_relaxed) == 0) {
        if (ms_receiver_last_send == s->id)
            ms_spin_until(receiver_has_messages, s, &s->closing_flag);
        else
            /* A consumer about to sleep lets a producer on the same core run first: then it
             * wakes to a batch, not to every single message. */
            sched_yield();
    }
    pthread_mutex_lock(&s->mtx);
    while ((m = receiver_take(s, &more, &settle)) == NULL) {
        if (s->closed || s->closing || (abort != NULL && atomic_load(abort))) {
            pthread_mutex_unlock(&s->mtx);
            return MSOCK_ECLOSED;
        }
        if (nonblock || !ms_cond_wait_until(&s->recv_cv, &s->mtx, deadline)) {
            pthread_mutex_unlock(&s->mtx);
            return nonblock ? MSOCK_EAGAIN : MSOCK_ETIMEDOUT;
        }
    }
    if (settle)
        receiver_after_charge(s, &resumes);
    if (more)
        pthread_cond_signal(&s->recv_cv); /* let another waiting receiver take the next one */
    pthread_mutex_unlock(&s->mtx);
    receiver_resume(&resumes);
    m->next = NULL;
    *out = m;
    return 0;
}
