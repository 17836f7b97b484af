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

static void receiver_pause(ms_socket *s, ms_pipe *p)
{
    if (!p->rx_blocked) {
        p->rx_blocked = true;
        p->rx_next = s->rx_blocked;
        s->rx_blocked = p;
    }
}

int ms_receiver_deliver(ms_socket *s, ms_pipe *p, msock_msg **head, bool force)
{
    if (s->proto->recv_policy == MS_RECV_NONE) {
        while (*head) {
            msock_msg *m = *head;
            *head = m->next;
            ms_msg_free(m);
        }
        return 0;
    }
    uint64_t n = 0, bytes = 0;
    int rv = 0;
    pthread_mutex_lock(&s->mtx);
    if (s->closed) {
        pthread_mutex_unlock(&s->mtx);
        return MSOCK_ECLOSED;
    }
    bool was_empty = ms_msgq_empty(&s->recvq);
    while (*head) {
        msock_msg *m = *head;
        if (!force && !ms_msgq_can_put(&s->recvq, ms_msg_wire_len(m))) {
            receiver_pause(s, p);
            rv = MSOCK_EAGAIN;
            break;
        }
        *head = m->next;
        m->next = NULL;
        if (s->proto->recv_hook && s->proto->recv_hook(s, p, m) != 0) {
            ms_msg_free(m);
            continue;
        }
        n++;
        bytes += ms_msg_wire_len(m);
        ms_msgq_put_force(&s->recvq, m);
    }
    if (force && ms_msgq_full(&s->recvq)) {
        receiver_pause(s, p);
        rv = MSOCK_EAGAIN;
    }
    if (n) {
        atomic_store_explicit(&s->recv_ready, s->recvq.count, memory_order_release);
        /* Counted before a receiver can see them, so statistics never lag behind. */
        ms_socket_stat_add(s, MSOCK_STAT_MSGS_RECV, n);
        ms_socket_stat_add(s, MSOCK_STAT_BYTES_RECV, bytes);
        if (was_empty)
            ms_socket_update_fds(s);
        /* One wake-up per batch; a woken receiver passes it on while messages remain. */
        pthread_cond_signal(&s->recv_cv);
    }
    pthread_mutex_unlock(&s->mtx);
    return rv;
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

/* Waits briefly without sleeping for a message that is about to arrive: waking a sleeping
 * thread on another core costs more than the whole exchange when a peer answers quickly. */
static void receiver_spin(ms_socket *s)
{
    int64_t spin = ms_spin_ns();
    if (spin == 0)
        return;
    int64_t until = ms_clock_ns() + spin;
    for (unsigned i = 1; atomic_load_explicit(&s->recv_ready, memory_order_acquire) == 0; i++) {
        if ((i & 63) == 0 && (ms_clock_ns() > until || atomic_load(&s->closing_flag)))
            return;
        /* Yield now and then: on a small machine the reactor that brings the message may be
         * waiting for this very core. */
        if ((i & 15) == 0)
            sched_yield();
        else
            ms_cpu_relax();
    }
}

int ms_receiver_recv(ms_socket *s, msock_msg **out, int64_t deadline, bool nonblock)
{
    if (!nonblock && atomic_load_explicit(&s->recv_ready, memory_order_relaxed) == 0)
        receiver_spin(s);
    pthread_mutex_lock(&s->mtx);
    msock_msg *m;
    while ((m = ms_msgq_get(&s->recvq)) == NULL) {
        if (s->closed || s->closing) {
            pthread_mutex_unlock(&s->mtx);
            return MSOCK_ECLOSED;
        }
        if (nonblock || !ms_cond_wait_until(&s->recv_cv, &s->mtx, deadline)) {
            pthread_mutex_unlock(&s->mtx);
            return nonblock ? MSOCK_EAGAIN : MSOCK_ETIMEDOUT;
        }
    }
    atomic_store_explicit(&s->recv_ready, s->recvq.count, memory_order_relaxed);
    /* Paused pipes resume once there is room. They are held and copied out of the list, so
     * neither they nor the list can change under us while we call their transports. */
    ms_pipe *local[32], **resume = local;
    size_t nresume = 0;
    if (s->rx_blocked && !ms_msgq_full(&s->recvq)) {
        size_t n = 0;
        for (ms_pipe *p = s->rx_blocked; p; p = p->rx_next)
            n++;
        if (n > MS_ARRAY_LEN(local) && (resume = malloc(n * sizeof *resume)) == NULL) {
            resume = local;
            n = MS_ARRAY_LEN(local);
        }
        while (s->rx_blocked && nresume < n) {
            ms_pipe *p = s->rx_blocked;
            s->rx_blocked = p->rx_next;
            p->rx_next = NULL;
            p->rx_blocked = false;
            ms_pipe_hold(p);
            resume[nresume++] = p;
        }
    }
    if (ms_msgq_empty(&s->recvq))
        ms_socket_update_fds(s);
    else
        pthread_cond_signal(&s->recv_cv); /* let another waiting receiver take the next one */
    pthread_mutex_unlock(&s->mtx);
    for (size_t i = 0; i < nresume; i++) {
        resume[i]->ops->recv_resume(resume[i]->tp);
        ms_pipe_release(resume[i]);
    }
    if (resume != local)
        free(resume);
    m->next = NULL;
    *out = m;
    return 0;
}
