/* stream_conn.h: the SP stream connection object, shared by the files that make it up:
 * stream.c (life, handshake, reads), stream_tx.c (queued and batched writes) and
 * stream_tls.c (TLS under both, for tls+tcp). */
#ifndef MS_STREAM_CONN_H
#define MS_STREAM_CONN_H

#include <pthread.h>
#include <sys/uio.h>

#include <openssl/ssl.h>

#include "core/msgq.h"
#include "core/reactor.h"
#include "transport/sp_codec.h"
#include "transport/stream.h"

struct ms_stream_conn {
    ms_ev ev;
    int fd;
    ms_reactor *reactor;
    ms_endpoint *ep; /* held */
    ms_pipe *pipe;   /* set once attached */
    int framing;
    char url[MS_URL_MAX + 8];
    ms_stream_done_cb done;
    void *done_arg;
    SSL *ssl;                /* tls+tcp; NULL on plain streams. Used under tls_mtx */
    pthread_mutex_t tls_mtx; /* one SSL call at a time: the reactor reads while a sender writes */

    /* Reactor thread only: */
    uint8_t hs_in[MS_SP_HEADER_LEN];
    size_t hs_got, hs_sent;
    bool established, closed;
    bool tls_done; /* the TLS handshake is over: the SP header goes through TLS */
    ms_timer hs_timer;
    ms_sp_decoder dec;
    bool rx_paused; /* the socket queue is full: read again on recv_resume */
    bool rx_hup;    /* the peer shut its side: read to the end, a short read is no sign */
    bool rx_big;    /* the last message was big: read the next prefix alone */
    ms_task resume_task, close_task, free_task, flush_task;

    /* Under mtx (a cache line apart from the reactor's read side, which other threads do not
     * touch): */
    _Alignas(64) pthread_mutex_t mtx;
    ms_msgq txq;       /* entries: messages, and batches of small framed messages */
    size_t tx_msgs;    /* messages accepted and not yet written (a batch holds many) */
    size_t tx_off;     /* bytes of the head entry already written, prefix included */
    uint64_t tx_wakes; /* counts EPOLLOUT edges, so a writer can tell one came during its write */
    bool tx_writing;   /* a thread is in sendmsg with the lock dropped: only it writes */
    bool tx_blocked;   /* the kernel said EAGAIN: wait for EPOLLOUT */
    bool flush_queued; /* flush_task is posted: it writes what is queued */
    bool close_waits;  /* the close task waits for the writer to leave sendmsg */
    int64_t last_send_ns;
    bool want_ready;   /* a sender was told MSOCK_EAGAIN */
    bool closing;
    int close_reason;
    uint8_t hs_out[MS_SP_HEADER_LEN];
};

/* stream.c: start closing from any thread / close now on the reactor thread. */
void ms_stream_close_async(ms_stream_conn *c, int reason);
void ms_stream_fail(ms_stream_conn *c, int reason);

/* stream_tls.c. Reads and writes with readv/sendmsg's shapes: bytes moved, or -1 with *code
 * MSOCK_EAGAIN (wait for the fd) or the error; 0 from a read is the end. A TLS read is short
 * only when the fd had no more, as a plain one. */
int ms_stream_tls_attach(ms_stream_conn *c, SSL_CTX *ctx, bool server);
int ms_stream_tls_handshake(ms_stream_conn *c); /* 1 done, 0 wait for the fd, or an error */
ssize_t ms_stream_tls_readv(ms_stream_conn *c, const struct iovec *iov, int n, int *code);
ssize_t ms_stream_tls_writev(ms_stream_conn *c, const struct iovec *iov, int n, int *code);
void ms_stream_tls_shutdown(ms_stream_conn *c); /* a close_notify if it fits, before close */
void ms_stream_tls_free(ms_stream_conn *c);

/* stream_tx.c: the pipe's send and queued ops, and the reactor's write side. */
int ms_stream_send(void *tp, msock_msg *m);
int ms_stream_send_copy(void *tp, const void *buf, size_t len);
size_t ms_stream_queued(void *tp);
/* The fd can take more (epollout), or a batch is due: writes what is queued (reactor thread). */
void ms_stream_on_writable(ms_stream_conn *c, bool epollout);
void ms_stream_flush_task(ms_task *t);

#endif
