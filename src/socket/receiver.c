/* receiver.c: the receiver policies. "all" queues each message (stamped with its pipe) into
 * the socket's bounded queue and pauses a pipe whose message does not fit, resuming it when a
 * receive makes room; "none" drops data but the transport keeps reading to notice closes. */
#include <stdlib.h>

#include "core/clock.h"
#include "core/msg.h"
#include "protocol/protocol.h"
#include "socket/pipe.h"
#include "socket/receiver.h"
#include "socket/socket.h"

int ms_receiver_deliver(ms_socket *s, ms_pipe *p, msock_msg *m)
{
    if (s->proto->recv_policy == MS_RECV_NONE) {
        ms_msg_free(m);
        return 0;
    }
    if (s->proto->recv_hook && s->proto->recv_hook(s, p, m) != 0) {
        ms_msg_free(m);
        return 0;
    }
    size_t wire_len = ms_msg_wire_len(m);
    pthread_mutex_lock(&s->mtx);
    if (s->closed) {
        pthread_mutex_unlock(&s->mtx);
        return MSOCK_ECLOSED;
    }
    if (ms_msgq_put(&s->recvq, m) != 0) {
        if (!p->rx_blocked) {
            p->rx_blocked = true;
            p->rx_next = s->rx_blocked;
            s->rx_blocked = p;
        }
        pthread_mutex_unlock(&s->mtx);
        return MSOCK_EAGAIN;
    }
    /* Counted before a receiver can see the message, so statistics never lag behind it. */
    ms_socket_stat_add(s, MSOCK_STAT_MSGS_RECV, 1);
    ms_socket_stat_add(s, MSOCK_STAT_BYTES_RECV, wire_len);
    if (s->recvq.count == 1)
        ms_socket_update_fds(s);
    pthread_cond_signal(&s->recv_cv);
    pthread_mutex_unlock(&s->mtx);
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

int ms_receiver_recv(ms_socket *s, msock_msg **out, int64_t deadline, bool nonblock)
{
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
