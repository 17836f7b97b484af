/* sender.c: the sender policies. "one" keeps a ring of pipes that can take a message and
 * rotates through it (fair round robin); "all" gives every pipe a copy sharing one body; a
 * message naming a pipe goes to that pipe only. Transports are called with no lock held. */
#include <stdlib.h>

#include "core/clock.h"
#include "core/msg.h"
#include "socket/pipe.h"
#include "socket/sender.h"
#include "socket/socket.h"

void ms_sender_ready(ms_socket *s, ms_pipe *p)
{
    if (p->send_ready || !p->attached)
        return;
    p->send_ready = true;
    if (s->ready == NULL) {
        p->ready_next = p->ready_prev = p;
        s->ready = p;
    } else {
        /* Insert at the tail of the ring: just before the next pick. */
        ms_pipe *head = s->ready;
        p->ready_next = head;
        p->ready_prev = head->ready_prev;
        head->ready_prev->ready_next = p;
        head->ready_prev = p;
    }
    pthread_cond_broadcast(&s->send_cv);
    ms_socket_update_fds(s);
}

void ms_sender_unready(ms_socket *s, ms_pipe *p)
{
    if (!p->send_ready)
        return;
    p->send_ready = false;
    if (p->ready_next == p) {
        s->ready = NULL;
    } else {
        p->ready_prev->ready_next = p->ready_next;
        p->ready_next->ready_prev = p->ready_prev;
        if (s->ready == p)
            s->ready = p->ready_next;
    }
    p->ready_next = p->ready_prev = NULL;
    ms_socket_update_fds(s);
}

static void sender_count(ms_socket *s, ms_pipe *p, size_t wire_len)
{
    ms_socket_stat_add(s, MSOCK_STAT_MSGS_SENT, 1);
    ms_socket_stat_add(s, MSOCK_STAT_BYTES_SENT, wire_len);
    if (p != NULL) {
        ms_pipe_stat_add(p, MSOCK_STAT_MSGS_SENT, 1);
        ms_pipe_stat_add(p, MSOCK_STAT_BYTES_SENT, wire_len);
    }
}

/* Waits for the next candidate pipe under s->mtx: the target pipe when it is ready, else the
 * head of the ready ring. Returns it held, or an error. */
static int sender_pick(ms_socket *s, ms_pipe *target, int64_t deadline, bool nonblock, ms_pipe **out)
{
    for (;;) {
        if (s->closing)
            return MSOCK_ECLOSED;
        ms_pipe *p = NULL;
        if (target) {
            if (!target->attached || atomic_load(&target->closing))
                return MSOCK_ECLOSED;
            if (target->send_ready)
                p = target;
        } else if (s->ready) {
            p = s->ready;
            s->ready = p->ready_next;
        }
        if (p) {
            ms_pipe_hold(p);
            *out = p;
            return 0;
        }
        if (nonblock)
            return MSOCK_EAGAIN;
        if (!ms_cond_wait_until(&s->send_cv, &s->mtx, deadline))
            return MSOCK_ETIMEDOUT;
    }
}

/* What sender_one hands a pipe: a message, or the caller's buffer. */
typedef struct sender_payload {
    msock_msg *msg;
    const void *buf;
    size_t len;
} sender_payload;

static int payload_send(ms_pipe *p, const sender_payload *pl)
{
    if (pl->msg != NULL)
        return p->ops->send(p->tp, pl->msg);
    if (p->ops->send_copy != NULL)
        return p->ops->send_copy(p->tp, pl->buf, pl->len);
    msock_msg *m;
    int rv = ms_msg_from_buf(&m, pl->buf, pl->len);
    if (rv != 0)
        return rv;
    if ((rv = p->ops->send(p->tp, m)) != 0)
        ms_msg_free(m);
    return rv;
}

static int sender_one(ms_socket *s, ms_pipe *target, const sender_payload *pl, int64_t deadline,
                      bool nonblock, uint32_t *sent_on)
{
    size_t wire_len = pl->msg != NULL ? ms_msg_wire_len(pl->msg) : pl->len;
    pthread_mutex_lock(&s->mtx);
    for (;;) {
        ms_pipe *p;
        int rv = sender_pick(s, target, deadline, nonblock, &p);
        if (rv != 0) {
            pthread_mutex_unlock(&s->mtx);
            return rv;
        }
        uint64_t gen = p->ready_gen;
        pthread_mutex_unlock(&s->mtx);
        rv = payload_send(p, pl);
        if (rv == 0 || rv == MSOCK_ENOMEM) {
            if (rv == 0) {
                sender_count(s, p, wire_len);
                if (sent_on != NULL)
                    *sent_on = p->id;
            }
            ms_pipe_release(p);
            return rv;
        }
        pthread_mutex_lock(&s->mtx);
        /* A ready signal that came while we were sending means the pipe has room again. */
        if (p->ready_gen == gen)
            ms_sender_unready(s, p);
        pthread_mutex_unlock(&s->mtx);
        ms_pipe_release(p);
        pthread_mutex_lock(&s->mtx);
        if (rv == MSOCK_ECLOSED && target) {
            pthread_mutex_unlock(&s->mtx);
            return rv;
        }
    }
}

int ms_sender_send_buf(ms_socket *s, const void *buf, size_t len, int64_t deadline, bool nonblock)
{
    sender_payload pl = {.buf = buf, .len = len};
    return sender_one(s, NULL, &pl, deadline, nonblock, NULL);
}

int ms_sender_send_all(ms_socket *s, msock_msg *m, uint32_t skip)
{
    size_t wire_len = ms_msg_wire_len(m);
    pthread_mutex_lock(&s->mtx);
    if (s->closing) {
        pthread_mutex_unlock(&s->mtx);
        return MSOCK_ECLOSED;
    }
    size_t n = 0;
    for (ms_pipe *p = s->pipes; p; p = p->next)
        n += p->attached && p->id != skip;
    ms_pipe **list = n ? malloc(n * sizeof *list) : NULL;
    if (n && !list) {
        pthread_mutex_unlock(&s->mtx);
        return MSOCK_ENOMEM;
    }
    size_t k = 0;
    for (ms_pipe *p = s->pipes; p && k < n; p = p->next)
        if (p->attached && p->id != skip) {
            ms_pipe_hold(p);
            list[k++] = p;
        }
    pthread_mutex_unlock(&s->mtx);
    for (size_t i = 0; i < k; i++) {
        msock_msg *copy = NULL;
        if (i + 1 < k) {
            if (ms_msg_dup(&copy, m) != 0)
                copy = NULL;
        } else {
            copy = m; /* the last pipe gets the original */
            m = NULL;
        }
        /* A pipe that cannot take it now misses this one: "all" never blocks. */
        int rv = copy ? list[i]->ops->send(list[i]->tp, copy) : MSOCK_ENOMEM;
        if (rv == 0) {
            ms_pipe_stat_add(list[i], MSOCK_STAT_MSGS_SENT, 1);
            ms_pipe_stat_add(list[i], MSOCK_STAT_BYTES_SENT, wire_len);
        } else {
            if (copy)
                ms_msg_free(copy);
            if (rv != MSOCK_ECLOSED) {
                ms_socket_stat_add(s, MSOCK_STAT_DROPS_QUEUE_FULL, 1);
                ms_pipe_stat_add(list[i], MSOCK_STAT_DROPS_QUEUE_FULL, 1);
            }
        }
        ms_pipe_release(list[i]);
    }
    if (m)
        ms_msg_free(m);
    free(list);
    sender_count(s, NULL, wire_len);
    return 0;
}

int ms_sender_send(ms_socket *s, msock_msg *m, int64_t deadline, bool nonblock, uint32_t *sent_on)
{
    if (m->pipe_id != 0) {
        ms_pipe *target = ms_pipe_find(m->pipe_id);
        if (target == NULL || target->sock != s) {
            if (target)
                ms_pipe_release(target);
            return MSOCK_ENOENT;
        }
        sender_payload pl = {.msg = m};
        int rv = sender_one(s, target, &pl, deadline, nonblock, sent_on);
        ms_pipe_release(target);
        return rv;
    }
    if (s->proto->send_policy == MS_SEND_ALL)
        return ms_sender_send_all(s, m, 0);
    sender_payload pl = {.msg = m};
    return sender_one(s, NULL, &pl, deadline, nonblock, sent_on);
}
