/* stream_tx.c: the write side of an SP stream connection. Small messages are framed and
 * copied into batch buffers, and their message is freed at once on the sending thread; big
 * ones are queued by reference. An occasional send is written by the sending thread itself; a
 * burst is written by the reactor in few sendmsg calls, or by the sender once enough is queued.
 * A writer drops the lock during sendmsg, so senders keep appending while it writes. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "core/msg.h"
#include "core/sockaddr.h"
#include "socket/pipe.h"
#include "socket/socket.h"
#include "transport/stream_conn.h"

#define STREAM_IOV_ENTRIES 256
/* Sends closer together than this are batched instead of written one by one: a busy sender
 * then costs a copy into a batch, not a system call, per message. */
#define STREAM_BATCH_WINDOW_NS 10000
/* Framed messages up to this size are copied: a copy is cheaper than the kernel walking one
 * more iovec, and the message goes back to its own thread's cache at once. */
#define STREAM_COPY_MAX 2048
/* Batch buffers fill the 64 KiB recycling class (the chunk header takes the rest). */
#define STREAM_BATCH_CAP (65536 - 64)
/* A burst that queued this much is written by its sender instead of waiting for the reactor:
 * the write is big enough to be cheap, and the reactor may be waiting for the same core. */
#define STREAM_SELF_WRITE_BYTES (32 * 1024)
/* sendmsg calls per turn; a writer with more to do hands the rest to the reactor's queue. */
#define STREAM_WRITE_ROUNDS 16

static size_t entry_wire_len(const ms_stream_conn *c, const msock_msg *m)
{
    return m->batched ? m->len : ms_sp_prefix_len(c->framing) + ms_msg_wire_len(m);
}

/* Room for one more message? The count limit counts messages, not batches. */
static bool conn_can_put(const ms_stream_conn *c, size_t wire_len)
{
    return ms_msgq_fits(&c->txq, c->tx_msgs, wire_len);
}

static bool conn_full(const ms_stream_conn *c)
{
    const ms_msgq *q = &c->txq;
    return c->tx_msgs >= q->max_count || (q->max_bytes && q->bytes >= q->max_bytes);
}

/* Frames a message (header and body parts) into the tail batch, starting a new batch when it
 * is full. False when no batch could be had (the caller queues a message instead). */
static bool conn_append_copy(ms_stream_conn *c, const void *hdr, size_t hlen, const void *body,
                             size_t blen)
{
    size_t framed = ms_sp_prefix_len(c->framing) + hlen + blen;
    msock_msg *b = c->txq.tail;
    if (b == NULL || !b->batched || STREAM_BATCH_CAP - b->len < framed) {
        if (ms_msg_alloc_headroom(&b, STREAM_BATCH_CAP, 0) != 0)
            return false;
        b->len = 0;
        ms_msgq_put_force(&c->txq, b);
    }
    uint8_t *dst = b->body + b->len;
    dst += ms_sp_prefix_encode(dst, c->framing, hlen + blen);
    if (hlen > 0)
        memcpy(dst, hdr, hlen);
    if (blen > 0)
        memcpy(dst + hlen, body, blen);
    b->len += framed;
    b->batched++;
    c->txq.bytes += framed;
    return true;
}

/* Builds the iovecs for up to STREAM_IOV_ENTRIES queued entries, skipping tx_off bytes. What
 * senders append after this call is not part of the write. */
static int conn_gather(ms_stream_conn *c, struct iovec *iov, uint8_t (*pfx)[9])
{
    int n = 0, k = 0;
    size_t skip = c->tx_off;
    for (msock_msg *m = ms_msgq_peek(&c->txq); m && k < STREAM_IOV_ENTRIES; m = m->next, k++) {
        struct iovec parts[3];
        int np = 0;
        if (m->batched) {
            parts[np++] = (struct iovec){m->body, m->len};
        } else {
            size_t plen = ms_sp_prefix_encode(pfx[k], c->framing, ms_msg_wire_len(m));
            parts[np++] = (struct iovec){pfx[k], plen};
            parts[np++] = (struct iovec){ms_msg_hdr(m), m->header_len};
            parts[np++] = (struct iovec){m->body, m->len};
        }
        for (int i = 0; i < np; i++) {
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

/* Drops fully written entries from the queue head; the caller frees them outside the lock. */
static msock_msg *conn_advance(ms_stream_conn *c, size_t written)
{
    msock_msg *done = NULL, **tail = &done, *m;
    written += c->tx_off;
    while ((m = ms_msgq_peek(&c->txq)) != NULL) {
        size_t total = entry_wire_len(c, m);
        if (written < total)
            break;
        written -= total;
        ms_msgq_get(&c->txq);
        c->tx_msgs -= m->batched ? m->batched : 1;
        *tail = m;
        tail = &m->next;
    }
    *tail = NULL;
    c->tx_off = written;
    return done;
}

/* What a write leaves to do once the lock is dropped. */
typedef struct tx_after {
    msock_msg *written; /* entries to free */
    bool post_flush;    /* more is queued: the reactor goes on */
    bool post_close;    /* a close waited for this write */
    bool notify;        /* a sender waits for room, or a lingering close for an empty queue */
    int error;
} tx_after;

/* The writer is done (under mtx): a waiting close may go on, and senders hear of room. */
static void conn_writer_leaves(ms_stream_conn *c, tx_after *after, bool had)
{
    c->tx_writing = false;
    if (c->close_waits) {
        c->close_waits = false;
        after->post_close = true;
    }
    if (c->want_ready && !conn_full(c)) {
        c->want_ready = false;
        after->notify = true;
    }
    /* A lingering close waits for the queue to empty; nobody else needs to hear of it. */
    if (had && ms_msgq_empty(&c->txq) && atomic_load_explicit(&c->ep->sock->closing_flag, memory_order_relaxed))
        after->notify = true;
}

/* sendmsg, through TLS on tls+tcp: bytes, or -1 with *code. */
static ssize_t conn_writev(ms_stream_conn *c, struct iovec *iov, int n, int *code)
{
    if (c->ssl)
        return ms_stream_tls_writev(c, iov, n, code);
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0)
        *code = errno == EWOULDBLOCK ? MSOCK_EAGAIN : ms_errno_to_code(errno);
    return w;
}

/* Writes what is queued (under mtx, which it drops around each sendmsg). One writer at a time:
 * the caller has checked tx_writing. */
static void conn_write_locked(ms_stream_conn *c, tx_after *after)
{
    struct iovec iov[STREAM_IOV_ENTRIES * 3];
    uint8_t pfx[STREAM_IOV_ENTRIES][9];
    msock_msg **done_tail = &after->written;
    while (*done_tail)
        done_tail = &(*done_tail)->next;
    bool had = !ms_msgq_empty(&c->txq);
    c->tx_writing = true;
    int round = 0;
    while (!ms_msgq_empty(&c->txq) && !c->tx_blocked && !c->closing) {
        if (round++ == STREAM_WRITE_ROUNDS) {
            if (!c->flush_queued)
                after->post_flush = c->flush_queued = true;
            break;
        }
        int n = conn_gather(c, iov, pfx);
        uint64_t wakes = c->tx_wakes;
        pthread_mutex_unlock(&c->mtx);
        int code = 0;
        ssize_t w = conn_writev(c, iov, n, &code);
        pthread_mutex_lock(&c->mtx);
        if (w < 0) {
            if (code == MSOCK_EINTR)
                continue;
            if (code == MSOCK_EAGAIN) {
                /* An EPOLLOUT edge during the call would be lost on a blocked flag. */
                if (c->tx_wakes == wakes)
                    c->tx_blocked = true;
                continue;
            }
            after->error = code;
            break;
        }
        *done_tail = conn_advance(c, (size_t)w);
        while (*done_tail)
            done_tail = &(*done_tail)->next;
    }
    conn_writer_leaves(c, after, had);
}

/* Finishes a write with the lock released. */
static void conn_write_after(ms_stream_conn *c, tx_after *after)
{
    ms_msg_chain_free(after->written);
    if (after->post_close)
        ms_reactor_post(c->reactor, &c->close_task);
    if (after->post_flush)
        ms_reactor_post(c->reactor, &c->flush_task);
    if (after->error != 0) {
        ms_stream_close_async(c, after->error); /* accepted messages die with the connection */
        return;
    }
    if (after->notify && c->pipe)
        ms_pipe_send_ready(c->pipe);
}

static int64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* True (under mtx) when nothing is queued or being written and the last send was a while
 * ago: this send is written at once, from its own message, with no copy into a batch. */
static bool conn_sparse_locked(ms_stream_conn *c)
{
    if (!ms_msgq_empty(&c->txq) || c->tx_writing || c->tx_blocked || c->flush_queued)
        return false;
    return clock_ns() - c->last_send_ns >= STREAM_BATCH_WINDOW_NS;
}

/* A message was queued (under mtx): write now, leave it to the reactor, or to the writer on
 * its way. */
static void conn_queued_locked(ms_stream_conn *c, tx_after *after)
{
    c->tx_msgs++;
    bool write_now = false;
    if (!c->tx_writing && !c->tx_blocked) {
        if (c->txq.bytes >= STREAM_SELF_WRITE_BYTES) {
            write_now = true;
        } else if (!c->flush_queued) {
            int64_t now = clock_ns();
            bool burst = now - c->last_send_ns < STREAM_BATCH_WINDOW_NS;
            c->last_send_ns = now;
            if (burst)
                after->post_flush = c->flush_queued = true;
            else
                write_now = true;
        }
    }
    if (write_now) {
        conn_write_locked(c, after);
        /* The window counts from the end of the write: a write slower than the window must
         * not make every following send look sparse and pay a write of its own. */
        c->last_send_ns = clock_ns();
    }
}

/* Refuses a send (under mtx) when closing or full; 0 when it may be queued. */
static int conn_admit_locked(ms_stream_conn *c, size_t wire_len)
{
    if (c->closing)
        return MSOCK_ECLOSED;
    if (!conn_can_put(c, wire_len)) {
        c->want_ready = true;
        return MSOCK_EAGAIN;
    }
    return 0;
}

int ms_stream_send(void *tp, msock_msg *m)
{
    ms_stream_conn *c = tp;
    tx_after after = {0};
    pthread_mutex_lock(&c->mtx);
    size_t wire_len = ms_msg_wire_len(m);
    int rv = conn_admit_locked(c, wire_len);
    if (rv != 0) {
        pthread_mutex_unlock(&c->mtx);
        return rv;
    }
    if (ms_sp_prefix_len(c->framing) + wire_len <= STREAM_COPY_MAX && !conn_sparse_locked(c) &&
        conn_append_copy(c, ms_msg_hdr(m), m->header_len, m->body, m->len)) {
        m->next = NULL;
        after.written = m; /* freed below, on this thread, with the lock released */
    } else {
        ms_msgq_put_force(&c->txq, m);
    }
    conn_queued_locked(c, &after);
    pthread_mutex_unlock(&c->mtx);
    conn_write_after(c, &after);
    return 0;
}

int ms_stream_send_copy(void *tp, const void *buf, size_t len)
{
    ms_stream_conn *c = tp;
    tx_after after = {0};
    bool queue_copy = false;
    pthread_mutex_lock(&c->mtx);
    int rv = conn_admit_locked(c, len);
    if (rv == 0) {
        /* A big message, or one after a pause, is copied into a message of its own: a lone
         * send is then written from it without a batch, and a big one, queued, is written by
         * the reactor while this thread copies the next one, which beat writing it here from
         * the caller's buffer (measured: tcp 64 KiB 2.9 against 1.9 GB/s). */
        if (ms_sp_prefix_len(c->framing) + len <= STREAM_COPY_MAX && !conn_sparse_locked(c) &&
            conn_append_copy(c, NULL, 0, buf, len))
            conn_queued_locked(c, &after);
        else
            queue_copy = true;
    }
    pthread_mutex_unlock(&c->mtx);
    if (queue_copy) { /* the copy is made without the lock */
        msock_msg *m;
        if ((rv = ms_msg_from_buf(&m, buf, len)) != 0)
            return rv;
        if ((rv = ms_stream_send(tp, m)) != 0)
            ms_msg_free(m);
        return rv;
    }
    conn_write_after(c, &after);
    return rv;
}

size_t ms_stream_queued(void *tp)
{
    ms_stream_conn *c = tp;
    pthread_mutex_lock(&c->mtx);
    size_t n = c->closing ? 0 : c->tx_msgs;
    pthread_mutex_unlock(&c->mtx);
    return n;
}

void ms_stream_on_writable(ms_stream_conn *c, bool epollout)
{
    tx_after after = {0};
    pthread_mutex_lock(&c->mtx);
    if (epollout) {
        c->tx_blocked = false;
        c->tx_wakes++;
    }
    c->flush_queued = false;
    if (!c->tx_writing) /* else the thread writing now carries on */
        conn_write_locked(c, &after);
    pthread_mutex_unlock(&c->mtx);
    conn_write_after(c, &after);
}

void ms_stream_flush_task(ms_task *t)
{
    ms_stream_conn *c = MS_CONTAINER_OF(t, ms_stream_conn, flush_task);
    if (c->closed)
        return;
    ms_stream_on_writable(c, false);
}
