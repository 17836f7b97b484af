/* stream_tx.c: the write side of an SP stream connection. An occasional send is written
 * straight to the fd by the sending thread; a burst of sends is queued and the reactor
 * gathers it into few sendmsg calls. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "core/msg.h"
#include "core/sockaddr.h"
#include "socket/pipe.h"
#include "transport/stream_conn.h"

#define STREAM_IOV_MSGS 256
/* Sends closer together than this are batched by the reactor instead of written one by one:
 * a busy sender then costs a queue append, not a system call, per message. */
#define STREAM_BATCH_WINDOW_NS 10000

/* Builds the iovecs for up to STREAM_IOV_MSGS queued messages, skipping tx_off bytes. */
static int conn_gather(ms_stream_conn *c, struct iovec *iov, uint8_t (*pfx)[9])
{
    int n = 0, k = 0;
    size_t skip = c->tx_off;
    for (msock_msg *m = ms_msgq_peek(&c->txq); m && k < STREAM_IOV_MSGS; m = m->next, k++) {
        size_t plen = ms_sp_prefix_encode(pfx[k], c->framing, ms_msg_wire_len(m));
        struct iovec parts[3] = {{pfx[k], plen}, {m->header, m->header_len}, {m->body, m->len}};
        for (int i = 0; i < 3; i++) {
            if (parts[i].iov_len <= skip) {
                skip -= parts[i].iov_len;
                continue;
            }
            iov[n].iov_base = (uint8_t *)parts[i].iov_base + skip;
            iov[n].iov_len = parts[i].iov_len - skip;
            skip = 0;
            n++;
        }
    }
    return n;
}

/* Drops written messages from the queue head. */
static void conn_advance(ms_stream_conn *c, size_t written)
{
    written += c->tx_off;
    msock_msg *m;
    while ((m = ms_msgq_peek(&c->txq)) != NULL) {
        size_t total = ms_sp_prefix_len(c->framing) + ms_msg_wire_len(m);
        if (written < total)
            break;
        written -= total;
        ms_msg_free(ms_msgq_get(&c->txq));
    }
    c->tx_off = written;
}

/* Writes as much of the queue as the kernel takes (under mtx). Returns 0 or an error. */
static int conn_flush_locked(ms_stream_conn *c)
{
    struct iovec iov[STREAM_IOV_MSGS * 3];
    uint8_t pfx[STREAM_IOV_MSGS][9];
    while (!ms_msgq_empty(&c->txq) && !c->tx_blocked) {
        int n = conn_gather(c, iov, pfx);
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->tx_blocked = true;
                break;
            }
            return ms_errno_to_code(errno);
        }
        conn_advance(c, (size_t)w);
    }
    return 0;
}

/* After a flush: a sender told "full" may go on once there is room. */
static bool conn_take_ready_locked(ms_stream_conn *c)
{
    if (c->want_ready && !ms_msgq_full(&c->txq)) {
        c->want_ready = false;
        return true;
    }
    return false;
}

static int64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int ms_stream_send(void *tp, msock_msg *m)
{
    ms_stream_conn *c = tp;
    pthread_mutex_lock(&c->mtx);
    if (c->closing) {
        pthread_mutex_unlock(&c->mtx);
        return MSOCK_ECLOSED;
    }
    if (!ms_msgq_can_put(&c->txq, ms_msg_wire_len(m))) {
        c->want_ready = true;
        pthread_mutex_unlock(&c->mtx);
        return MSOCK_EAGAIN;
    }
    ms_msgq_put_force(&c->txq, m);
    if (c->tx_blocked || c->flush_queued) {
        pthread_mutex_unlock(&c->mtx); /* a write is already on its way */
        return 0;
    }
    int64_t now = clock_ns();
    bool burst = now - c->last_send_ns < STREAM_BATCH_WINDOW_NS;
    c->last_send_ns = now;
    if (burst) {
        c->flush_queued = true;
        pthread_mutex_unlock(&c->mtx);
        ms_reactor_post(c->reactor, &c->flush_task);
        return 0;
    }
    int rv = conn_flush_locked(c);
    pthread_mutex_unlock(&c->mtx);
    if (rv != 0)
        ms_stream_close_async(c, rv); /* m was accepted; the connection's loss drops it */
    return 0;
}

size_t ms_stream_queued(void *tp)
{
    ms_stream_conn *c = tp;
    pthread_mutex_lock(&c->mtx);
    size_t n = c->closing ? 0 : c->txq.count;
    pthread_mutex_unlock(&c->mtx);
    return n;
}

void ms_stream_on_writable(ms_stream_conn *c)
{
    pthread_mutex_lock(&c->mtx);
    c->tx_blocked = false;
    c->flush_queued = false;
    bool had = !ms_msgq_empty(&c->txq);
    int rv = had ? conn_flush_locked(c) : 0;
    bool ready = conn_take_ready_locked(c);
    bool drained = had && ms_msgq_empty(&c->txq); /* a lingering close may be waiting */
    pthread_mutex_unlock(&c->mtx);
    if (rv != 0) {
        ms_stream_fail(c, rv);
        return;
    }
    if (c->pipe && (ready || drained))
        ms_pipe_send_ready(c->pipe);
}

void ms_stream_flush_task(ms_task *t)
{
    ms_stream_conn *c = MS_CONTAINER_OF(t, ms_stream_conn, flush_task);
    if (c->closed)
        return;
    ms_stream_on_writable(c);
}
