/* stream_tls.c: TLS under an SP stream connection (tls+tcp): the handshake before the SP
 * header, and reads and writes through OpenSSL in the shapes stream.c and stream_tx.c use for
 * readv and sendmsg, so the framing, batching and flow control above stay the same. */
#include <errno.h>
#include <string.h>

#include <openssl/err.h>

#include "core/clock.h"
#include "transport/stream_conn.h"
#include "transport/tls_config.h"

/* Small queued entries are gathered into one record this big: one SSL_write per record, as
 * one sendmsg covers many messages on a plain stream. */
#define TLS_STAGE 16384

int ms_stream_tls_attach(ms_stream_conn *c, SSL_CTX *ctx, bool server)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl) {
        ERR_clear_error();
        return MSOCK_ENOMEM;
    }
    int rv = 0;
    if (SSL_set_fd(ssl, c->fd) != 1) {
        ERR_clear_error();
        rv = MSOCK_ENOMEM;
    } else if (!server) {
        rv = ms_tls_client_name(ssl, &c->ep->opts, c->ep->url.host);
    }
    if (rv != 0) {
        SSL_free(ssl);
        return rv;
    }
    if (server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    ms_mutex_init_fast(&c->tls_mtx);
    c->ssl = ssl;
    return 0;
}

static bool tls_would_block(int err)
{
    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
}

int ms_stream_tls_handshake(ms_stream_conn *c)
{
    pthread_mutex_lock(&c->tls_mtx);
    int r = SSL_do_handshake(c->ssl);
    int rv = 1;
    if (r != 1)
        rv = tls_would_block(SSL_get_error(c->ssl, r)) ? 0 : ms_tls_error(c->ssl, r, c->url);
    pthread_mutex_unlock(&c->tls_mtx);
    return rv;
}

ssize_t ms_stream_tls_readv(ms_stream_conn *c, const struct iovec *iov, int n, int *code)
{
    size_t total = 0;
    int stop = 0; /* 1: the fd is drained, 2: end of stream, 3: error in *code */
    pthread_mutex_lock(&c->tls_mtx);
    for (int i = 0; i < n && !stop; i++) {
        uint8_t *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        /* OpenSSL may hold decrypted bytes the fd no longer signals: read until it asks for
         * the fd, so a short read means what it means on a plain stream. */
        while (left > 0) {
            size_t got = 0;
            int r = SSL_read_ex(c->ssl, p, left, &got);
            if (r != 1) {
                int err = SSL_get_error(c->ssl, r);
                if (tls_would_block(err)) {
                    stop = 1;
                } else if (err == SSL_ERROR_ZERO_RETURN) {
                    stop = 2;
                } else {
                    *code = ms_tls_error(c->ssl, r, c->url);
                    stop = *code == MSOCK_ECONNRESET ? 2 : 3;
                }
                break;
            }
            p += got;
            left -= got;
            total += got;
        }
    }
    pthread_mutex_unlock(&c->tls_mtx);
    /* Bytes first; an end or error comes again on the next call. */
    if (total > 0)
        return (ssize_t)total;
    if (stop == 2)
        return 0;
    if (stop == 1)
        *code = MSOCK_EAGAIN;
    return -1;
}

/* The next record's bytes from iov[*i] at *off: a big entry is written from where it is, small
 * ones are copied together into stage. After a refused write the caller calls again from the
 * same bytes (the queue only grows at its tail), which is what OpenSSL asks of a retry. */
static size_t tls_next_chunk(const struct iovec *iov, int n, int *i, size_t *off, uint8_t *stage,
                             const uint8_t **src)
{
    if (*off == 0 && iov[*i].iov_len >= TLS_STAGE) {
        *src = iov[*i].iov_base;
        return iov[(*i)++].iov_len;
    }
    size_t len = 0;
    while (*i < n && len < TLS_STAGE) {
        if (*off == 0 && iov[*i].iov_len >= TLS_STAGE && len > 0)
            break; /* written from where it is, next time */
        size_t take = MS_MIN(TLS_STAGE - len, iov[*i].iov_len - *off);
        memcpy(stage + len, (const uint8_t *)iov[*i].iov_base + *off, take);
        len += take;
        *off += take;
        if (*off == iov[*i].iov_len) {
            (*i)++;
            *off = 0;
        }
    }
    *src = stage;
    return len;
}

ssize_t ms_stream_tls_writev(ms_stream_conn *c, const struct iovec *iov, int n, int *code)
{
    uint8_t stage[TLS_STAGE];
    size_t total = 0;
    int i = 0, err = 0;
    size_t off = 0;
    while (i < n && err == 0) {
        const uint8_t *src;
        size_t len = tls_next_chunk(iov, n, &i, &off, stage, &src);
        pthread_mutex_lock(&c->tls_mtx);
        while (len > 0) {
            size_t put = 0;
            int r = SSL_write_ex(c->ssl, src, len, &put);
            if (r != 1) {
                int e = SSL_get_error(c->ssl, r);
                err = tls_would_block(e) ? MSOCK_EAGAIN : ms_tls_error(c->ssl, r, c->url);
                break;
            }
            src += put;
            len -= put;
            total += put;
        }
        pthread_mutex_unlock(&c->tls_mtx);
    }
    if (total > 0)
        return (ssize_t)total;
    *code = err;
    return -1;
}

void ms_stream_tls_shutdown(ms_stream_conn *c)
{
    if (!c->ssl || !c->tls_done)
        return;
    pthread_mutex_lock(&c->tls_mtx);
    if (SSL_shutdown(c->ssl) < 0)
        ERR_clear_error(); /* best effort: the fd closes next either way */
    pthread_mutex_unlock(&c->tls_mtx);
}

void ms_stream_tls_free(ms_stream_conn *c)
{
    if (!c->ssl)
        return;
    SSL_free(c->ssl);
    c->ssl = NULL;
    pthread_mutex_destroy(&c->tls_mtx);
}
