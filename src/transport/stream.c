/* stream.c: one SP connection over a stream fd: its life (start, handshake, close, free) and
 * its reads, which pull 64 KiB into the reactor's buffer and hand every whole message in it up
 * under one lock; big bodies are read straight into their message. Writes: stream_tx.c. */
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/msgq.h"
#include "core/reactor.h"
#include "socket/pipe.h"
#include "socket/socket.h"
#include "transport/sp_codec.h"
#include "transport/stream_conn.h"

#define STREAM_READ_BUDGET (256 * 1024) /* per event, so one busy peer cannot starve others */
/* Bodies this big are read straight into their message, after a read of just their prefix:
 * two system calls cost less than copying the body out of the read buffer. */
#define STREAM_DIRECT_MIN (32 * 1024)

static const ms_pipe_ops stream_pipe_ops;

static void conn_close_task(ms_task *t);

/* Starts closing from any thread; the reactor does the work. */
void ms_stream_close_async(ms_stream_conn *c, int reason)
{
    pthread_mutex_lock(&c->mtx);
    bool first = !c->closing;
    c->closing = true;
    if (first)
        c->close_reason = reason;
    pthread_mutex_unlock(&c->mtx);
    if (first)
        ms_reactor_post(c->reactor, &c->close_task);
}

/* Closes now (reactor thread); c may be freed when this returns. */
void ms_stream_fail(ms_stream_conn *c, int reason)
{
    pthread_mutex_lock(&c->mtx);
    if (!c->closing) {
        c->closing = true;
        c->close_reason = reason;
    }
    pthread_mutex_unlock(&c->mtx);
    conn_close_task(&c->close_task);
}

static void conn_free(ms_stream_conn *c)
{
    if (c->ep->kind == MS_LISTENER)
        atomic_fetch_sub_explicit(&c->ep->conns, 1, memory_order_relaxed);
    ms_msgq_fini(&c->txq);
    ms_sp_decoder_fini(&c->dec);
    ms_stream_tls_free(c);
    pthread_mutex_destroy(&c->mtx);
    ms_endpoint_release(c->ep);
    free(c);
}

/* Frees on the reactor thread, after every task of this connection already queued there has
 * run: tasks may be pending when the last pipe reference goes away on another thread. */
static void conn_free_task(ms_task *t)
{
    conn_free(MS_CONTAINER_OF(t, ms_stream_conn, free_task));
}

static void conn_free_later(ms_stream_conn *c)
{
    ms_reactor_post(c->reactor, &c->free_task);
}

static void conn_close_task(ms_task *t)
{
    ms_stream_conn *c = MS_CONTAINER_OF(t, ms_stream_conn, close_task);
    if (c->closed)
        return;
    pthread_mutex_lock(&c->mtx);
    if (c->tx_writing) {
        /* A sender is in sendmsg on our fd: it posts this task again when it is out. */
        c->close_waits = true;
        pthread_mutex_unlock(&c->mtx);
        return;
    }
    pthread_mutex_unlock(&c->mtx);
    c->closed = true;
    ms_timer_cancel(c->reactor, &c->hs_timer);
    ms_reactor_del(&c->ev);
    ms_stream_tls_shutdown(c);
    close(c->fd);
    c->fd = -1;
    pthread_mutex_lock(&c->mtx);
    int reason = c->close_reason;
    /* Unsent messages die with the connection; free them now, not at the last release. */
    ms_msgq_fini(&c->txq);
    ms_msgq_init(&c->txq, 1, 0);
    c->tx_msgs = 0;
    c->tx_off = 0;
    pthread_mutex_unlock(&c->mtx);
    if (c->pipe) {
        ms_pipe *p = c->pipe;
        ms_pipe_gone(p, reason);
        ms_pipe_release(p); /* may schedule c's free: nothing after this */
        return;
    }
    if (c->done)
        c->done(c->done_arg, c, reason ? reason : MSOCK_ECONNRESET);
    conn_free_later(c);
}


static void stream_close(void *tp)
{
    ms_stream_close_async(tp, 0);
}

static void stream_free(void *tp)
{
    conn_free_later(tp);
}


static int conn_decode_error(ms_stream_conn *c, int rv)
{
    ms_socket *s = c->ep->sock;
    if (rv == MSOCK_EMSGSIZE)
        ms_pipe_count_error(s, c->pipe, MSOCK_STAT_DROPS_TOO_LARGE);
    else if (rv == MSOCK_EPROTO)
        ms_pipe_count_error(s, c->pipe, MSOCK_STAT_ERR_BAD_HEADER);
    ms_debug("socket %u: dropping %s: %s", s->id, c->url, msock_strerror(rv));
    return rv;
}

/* readv, through TLS on tls+tcp: bytes, 0 at the end of the stream, or -1 with *code. */
static ssize_t conn_readv(ms_stream_conn *c, const struct iovec *iov, int n, int *code)
{
    if (c->ssl)
        return ms_stream_tls_readv(c, iov, n, code);
    for (;;) {
        ssize_t r = readv(c->fd, iov, n);
        if (r >= 0)
            return r;
        if (errno != EINTR) {
            *code = errno == EWOULDBLOCK ? MSOCK_EAGAIN : ms_errno_to_code(errno);
            return -1;
        }
    }
}

/* Hands decoded messages up; false when the socket is full and reading must pause. */
static bool conn_deliver(ms_stream_conn *c, msock_msg *head)
{
    int rv = ms_pipe_deliver(c->pipe, &head, true);
    if (rv == MSOCK_EAGAIN || rv == MSOCK_ECLOSED) {
        /* Full: wait for room. Closed (the socket, or this pipe for garbage): read no more. */
        ms_msg_chain_free(head);
        c->rx_paused = true;
        return false;
    }
    return true;
}

/* Reads and delivers until EAGAIN, a pause, or the budget; returns 0 or the closing error. */
static int conn_read(ms_stream_conn *c)
{
    size_t cap, budget = STREAM_READ_BUDGET;
    uint8_t *buf = ms_reactor_rbuf(c->reactor, &cap);
    while (!c->rx_paused) {
        if (budget == 0) {
            ms_reactor_post(c->reactor, &c->resume_task); /* continue after others had a turn */
            return 0;
        }
        size_t missing = 0;
        uint8_t *room = ms_sp_decoder_body_room(&c->dec, &missing);
        /* The tail of a big body goes straight in too: reading it into the buffer would copy
         * it, and the start of the next big body with it. */
        bool direct = room && (missing >= STREAM_DIRECT_MIN || c->dec.msg->len >= STREAM_DIRECT_MIN);
        size_t want = direct ? MS_MIN(missing, budget) : cap;
        if (!room && c->rx_big)
            want = ms_sp_decoder_prefix_missing(&c->dec);
        /* A big body's last bytes come with the next prefix in one call: the body straight
         * into its message, the prefix into the buffer. */
        struct iovec iov[2] = {{direct ? room : buf, want}, {buf, ms_sp_prefix_len(c->framing)}};
        int iovcnt = direct && want == missing ? 2 : 1;
        size_t body_want = want;
        if (iovcnt == 2)
            want += iov[1].iov_len;
        int code = 0;
        ssize_t n = conn_readv(c, iov, iovcnt, &code);
        if (n == 0)
            return MSOCK_ECONNRESET;
        if (n < 0)
            return code == MSOCK_EAGAIN ? 0 : code;
        budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
        msock_msg *head = NULL, **tail = &head;
        size_t got = (size_t)n, rest = got; /* rest: bytes in buf to decode */
        if (direct) {
            size_t body_n = MS_MIN(got, body_want);
            if (ms_sp_decoder_body_filled(&c->dec, body_n, &head) == 1) {
                head->next = NULL;
                tail = &head->next;
            }
            rest = got - body_n; /* the next message's prefix, if it came along */
        }
        for (size_t pos = 0; pos < rest;) {
            size_t used = 0;
            msock_msg *m = NULL;
            int rv = ms_sp_decoder_feed(&c->dec, buf + pos, rest - pos, &used, &m);
            pos += used;
            if (rv < 0) {
                ms_msg_chain_free(head);
                return conn_decode_error(c, rv);
            }
            if (rv == 1) {
                m->next = NULL;
                *tail = m;
                tail = &m->next;
            }
        }
        if (head) {
            c->rx_big = MS_CONTAINER_OF(tail, msock_msg, next)->len >= STREAM_DIRECT_MIN;
            if (!conn_deliver(c, head))
                return 0;
        }
        /* A short read emptied the kernel buffer: new data brings a new edge. The end of the
         * stream brings none if it came with the data we just read. */
        if (got < want && !c->rx_hup)
            return 0;
    }
    return 0;
}

static void conn_resume_task(ms_task *t)
{
    ms_stream_conn *c = MS_CONTAINER_OF(t, ms_stream_conn, resume_task);
    if (c->closed || !c->established)
        return;
    c->rx_paused = false;
    int rv = conn_read(c);
    if (rv != 0)
        ms_stream_fail(c, rv);
}


static void stream_recv_resume(void *tp)
{
    ms_stream_conn *c = tp;
    ms_reactor_post(c->reactor, &c->resume_task);
}

static const ms_pipe_ops stream_pipe_ops = {
    .send = ms_stream_send,
    .send_copy = ms_stream_send_copy,
    .recv_resume = stream_recv_resume,
    .queued = ms_stream_queued,
    .close = stream_close,
    .free = stream_free,
};

static void conn_established(ms_stream_conn *c)
{
    uint16_t peer;
    ms_socket *s = c->ep->sock;
    if (ms_sp_header_decode(c->hs_in, &peer) != 0) {
        ms_pipe_count_error(s, c->pipe, MSOCK_STAT_ERR_BAD_HEADER);
        ms_debug("socket %u: bad SP header from %s", s->id, c->url);
        ms_stream_fail(c, MSOCK_EPROTO);
        return;
    }
    ms_timer_cancel(c->reactor, &c->hs_timer);
    ms_sp_decoder_init(&c->dec, c->framing, c->ep->opts.recv_maxsz);
    c->established = true;
    ms_pipe *p = NULL;
    int rv = ms_pipe_attach(c->ep, &stream_pipe_ops, c, peer, c->url, &p);
    if (rv != 0) {
        ms_stream_fail(c, rv);
        return;
    }
    c->pipe = p;
    if (c->done) {
        ms_stream_done_cb done = c->done;
        c->done = NULL;
        done(c->done_arg, c, 0);
    }
    /* Data may have arrived with the header: edge-triggered, so read it now. */
    if (!c->closed) {
        rv = conn_read(c);
        if (rv != 0)
            ms_stream_fail(c, rv);
    }
}

/* Writes some of the SP header: bytes, or -1 with *code. */
static ssize_t conn_header_write(ms_stream_conn *c, int *code)
{
    struct iovec iov = {c->hs_out + c->hs_sent, MS_SP_HEADER_LEN - c->hs_sent};
    if (c->ssl)
        return ms_stream_tls_writev(c, &iov, 1, code);
    for (;;) {
        ssize_t n = send(c->fd, iov.iov_base, iov.iov_len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno != EINTR) {
            *code = errno == EWOULDBLOCK ? MSOCK_EAGAIN : ms_errno_to_code(errno);
            return -1;
        }
    }
}

/* After a refused TLS handshake: the alert is out, so end our side and take in what the peer
 * sent after its last handshake message (TLS 1.3 clients send data at once). Closing with it
 * unread would reset the connection, and the reset can overtake the alert, which is the
 * peer's only clear word of why. */
static void conn_drain_before_close(ms_stream_conn *c)
{
    uint8_t sink[4096];
    shutdown(c->fd, SHUT_WR);
    for (int i = 0; i < 16 && read(c->fd, sink, sizeof sink) > 0; i++)
        ;
}

/* tls+tcp: the TLS handshake comes before the SP header. False while it is not over (or
 * failed, and c is closed). */
static bool conn_tls_ready(ms_stream_conn *c)
{
    if (!c->ssl || c->tls_done)
        return true;
    int rv = ms_stream_tls_handshake(c);
    if (rv == 1) {
        c->tls_done = true;
        return true;
    }
    if (rv < 0) {
        ms_pipe_count_error(c->ep->sock, NULL, MSOCK_STAT_ERR_TLS);
        conn_drain_before_close(c);
        ms_stream_fail(c, rv);
    }
    return false;
}

static void conn_handshake_io(ms_stream_conn *c)
{
    if (!conn_tls_ready(c))
        return;
    int code = 0;
    while (c->hs_sent < MS_SP_HEADER_LEN) {
        ssize_t n = conn_header_write(c, &code);
        if (n < 0 && code == MSOCK_EAGAIN)
            break;
        if (n < 0) {
            ms_stream_fail(c, code);
            return;
        }
        c->hs_sent += (size_t)n;
    }
    while (c->hs_got < MS_SP_HEADER_LEN) {
        struct iovec iov = {c->hs_in + c->hs_got, MS_SP_HEADER_LEN - c->hs_got};
        ssize_t n = conn_readv(c, &iov, 1, &code);
        if (n < 0 && code == MSOCK_EAGAIN)
            return;
        if (n <= 0) {
            ms_stream_fail(c, n == 0 ? MSOCK_ECONNRESET : code);
            return;
        }
        c->hs_got += (size_t)n;
    }
    if (c->hs_sent == MS_SP_HEADER_LEN)
        conn_established(c);
}

static void conn_event(ms_ev *ev, uint32_t events)
{
    ms_stream_conn *c = MS_CONTAINER_OF(ev, ms_stream_conn, ev);
    if (c->closed)
        return;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->rx_hup = true;
    if (!c->established) {
        conn_handshake_io(c);
        return;
    }
    if (events & EPOLLOUT) {
        ms_stream_on_writable(c, true);
        if (c->closed)
            return;
    }
    if (!c->rx_paused) {
        int rv = conn_read(c);
        if (rv != 0)
            ms_stream_fail(c, rv);
    }
}

static void conn_hs_timeout(ms_timer *t)
{
    ms_stream_conn *c = MS_CONTAINER_OF(t, ms_stream_conn, hs_timer);
    ms_pipe_count_error(c->ep->sock, NULL, MSOCK_STAT_ERR_HANDSHAKE_TIMEOUT);
    ms_debug("socket %u: no SP header from %s in time", c->ep->sock->id, c->url);
    ms_stream_fail(c, MSOCK_ETIMEDOUT);
}

void ms_stream_conn_start(ms_endpoint *ep, ms_reactor *r, int fd, int framing, SSL_CTX *tls,
                          const char *url, ms_stream_done_cb done, void *done_arg,
                          ms_stream_conn **track)
{
    ms_stream_conn *c = aligned_alloc(_Alignof(ms_stream_conn), sizeof *c);
    if (c)
        memset(c, 0, sizeof *c);
    if (!c) {
        close(fd);
        if (ep->kind == MS_LISTENER)
            atomic_fetch_sub_explicit(&ep->conns, 1, memory_order_relaxed);
        if (done)
            done(done_arg, NULL, MSOCK_ENOMEM);
        return;
    }
    if (track)
        *track = c;
    c->fd = fd;
    c->reactor = r;
    ms_endpoint_hold(ep);
    c->ep = ep;
    c->framing = framing;
    c->done = done;
    c->done_arg = done_arg;
    snprintf(c->url, sizeof c->url, "%s", url);
    ms_mutex_init_fast(&c->mtx);
    ms_msgq_init(&c->txq, (size_t)ep->opts.send_queue_msgs, ep->opts.send_queue_bytes);
    ms_task_init(&c->resume_task, conn_resume_task);
    ms_task_init(&c->close_task, conn_close_task);
    ms_task_init(&c->free_task, conn_free_task);
    ms_task_init(&c->flush_task, ms_stream_flush_task);
    ms_timer_init(&c->hs_timer, conn_hs_timeout);
    ms_sp_decoder_init(&c->dec, framing, ep->opts.recv_maxsz);
    ms_sp_header_encode(c->hs_out, ep->sock->proto->self);
    int rv = tls ? ms_stream_tls_attach(c, tls, ep->kind == MS_LISTENER) : 0;
    if (rv == 0)
        rv = ms_reactor_add(r, &c->ev, conn_event, fd);
    if (rv != 0) {
        ms_stream_fail(c, rv);
        return;
    }
    ms_timer_schedule(r, &c->hs_timer, ep->opts.handshake_timeout);
    conn_handshake_io(c);
}

void ms_stream_conn_abort(ms_stream_conn *c)
{
    c->done = NULL;
    ms_stream_fail(c, MSOCK_ECLOSED);
}

typedef struct conn_start_req {
    ms_task task;
    ms_endpoint *ep; /* held */
    ms_reactor *reactor;
    SSL_CTX *tls;    /* held */
    int fd, framing;
    char url[MS_URL_MAX + 8];
} conn_start_req;

static void conn_start_task(ms_task *t)
{
    conn_start_req *q = MS_CONTAINER_OF(t, conn_start_req, task);
    ms_stream_conn_start(q->ep, q->reactor, q->fd, q->framing, q->tls, q->url, NULL, NULL, NULL);
    if (q->tls)
        SSL_CTX_free(q->tls);
    ms_endpoint_release(q->ep);
    free(q);
}

void ms_stream_conn_start_remote(ms_endpoint *ep, ms_reactor *r, int fd, int framing, SSL_CTX *tls,
                                 const char *url)
{
    conn_start_req *q = malloc(sizeof *q);
    if (!q) {
        close(fd);
        atomic_fetch_sub_explicit(&ep->conns, 1, memory_order_relaxed); /* only listeners */
        return;
    }
    ms_task_init(&q->task, conn_start_task);
    ms_endpoint_hold(ep);
    q->ep = ep;
    q->reactor = r;
    q->fd = fd;
    q->framing = framing;
    q->tls = tls;
    if (tls)
        SSL_CTX_up_ref(tls); /* the listener may close and free its own before the task runs */
    snprintf(q->url, sizeof q->url, "%s", url);
    ms_reactor_post(r, &q->task);
}
