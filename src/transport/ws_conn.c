/* ws_conn.c: one SP-over-WebSocket connection: its pipe ops (any thread), and on the lws
 * service thread its handshake checks, reassembly of fragmented messages, fragmented sends
 * and close. One SP message is one binary WebSocket message; there is no SP header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "core/log.h"
#include "core/msg.h"
#include "core/sockaddr.h"
#include "socket/pipe.h"
#include "socket/socket.h"
#include "transport/ws.h"
#include "transport/ws_frame.h"

#define WS_TX_BUDGET 16 /* frames per WRITEABLE callback, so one busy conn cannot starve others */

enum { WS_UNHANDLED = 1 }; /* ms_ws_conn_callback: let lws's default handler have it */

ms_ws_conn *ms_ws_conn_new(ms_endpoint *ep, int fd)
{
    ms_ws_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->fd = fd;
    if (getrandom(&c->mask_rng, sizeof c->mask_rng, GRND_NONBLOCK) != sizeof c->mask_rng)
        c->mask_rng = (uint64_t)(uintptr_t)c ^ (uint64_t)lws_now_usecs();
    c->mask_rng |= 1; /* xorshift never leaves 0 */
    pthread_mutex_init(&c->mtx, NULL);
    ms_msgq_init(&c->txq, 1, 0);
    if (ep) {
        ms_endpoint_hold(ep);
        c->ep = ep;
        ms_msgq_set_limits(&c->txq, (size_t)ep->opts.send_queue_msgs, ep->opts.send_queue_bytes);
        c->ping_ivl_us = ep->opts.ws_ping_interval * 1000;
        c->ping_to_us = ep->opts.ws_ping_timeout * 1000;
    }
    return c;
}

void ms_ws_conn_release(ms_ws_conn *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    ms_ws_rx_fini(&c->rx);
    ms_msg_chain_free(c->rx_early);
    ms_msgq_fini(&c->txq);
    pthread_mutex_destroy(&c->mtx);
    if (c->ep)
        ms_endpoint_release(c->ep);
    free(c);
}

/* ---- pipe ops (any thread) ---- */

static int ws_send(void *tp, msock_msg *m)
{
    ms_ws_conn *c = tp;
    pthread_mutex_lock(&c->mtx);
    if (c->dead || c->closing) {
        pthread_mutex_unlock(&c->mtx);
        return MSOCK_ECLOSED;
    }
    if (!ms_msgq_can_put(&c->txq, ms_msg_wire_len(m))) {
        c->want_ready = true;
        pthread_mutex_unlock(&c->mtx);
        return MSOCK_EAGAIN;
    }
    ms_msgq_put_force(&c->txq, m);
    /* The service thread writes until the queue is empty: only the first needs a wake-up. */
    bool kick = c->txq.count == 1;
    pthread_mutex_unlock(&c->mtx);
    if (kick)
        ms_ws_post(c, MS_WS_WANT_WRITE);
    return 0;
}

static void ws_recv_resume(void *tp)
{
    ms_ws_post(tp, MS_WS_WANT_RESUME);
}

static size_t ws_queued(void *tp)
{
    ms_ws_conn *c = tp;
    pthread_mutex_lock(&c->mtx);
    size_t n = c->txq.count;
    pthread_mutex_unlock(&c->mtx);
    return n;
}

static void ws_close(void *tp)
{
    ms_ws_conn *c = tp;
    pthread_mutex_lock(&c->mtx);
    bool first = !c->closing;
    c->closing = true;
    pthread_mutex_unlock(&c->mtx);
    if (first)
        ms_ws_post(c, MS_WS_WANT_CLOSE);
}

static void ws_free(void *tp)
{
    ms_ws_conn_release(tp);
}

static const ms_pipe_ops ws_pipe_ops = {
    .send = ws_send,
    .recv_resume = ws_recv_resume,
    .queued = ws_queued,
    .close = ws_close,
    .free = ws_free,
};

int ms_ws_conn_attach(ms_ws_conn *c)
{
    pthread_mutex_lock(&c->mtx);
    bool dead = c->dead || c->closing;
    pthread_mutex_unlock(&c->mtx);
    if (dead)
        return MSOCK_ECLOSED;
    ms_pipe *p = NULL;
    int rv = ms_pipe_attach(c->ep, &ws_pipe_ops, c, c->ep->sock->proto->peer, c->url, &p);
    if (rv != 0)
        return rv;
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed); /* the pipe's */
    pthread_mutex_lock(&c->mtx);
    dead = c->dead;
    if (!dead)
        c->pipe = p;
    pthread_mutex_unlock(&c->mtx);
    if (dead) {
        /* The connection died while the socket took the pipe: gone at once. */
        ms_pipe_gone(p, MSOCK_ECONNRESET);
        ms_pipe_release(p);
    }
    return 0;
}

/* The wsi is gone (service thread): the pipe goes with it. */
static void conn_dead(ms_ws_conn *c, int reason)
{
    pthread_mutex_lock(&c->mtx);
    c->dead = true;
    ms_pipe *p = c->pipe;
    c->pipe = NULL;
    if (!c->closing)
        c->close_reason = reason;
    reason = c->close_reason;
    ms_msgq_fini(&c->txq); /* unsent messages die with the connection */
    ms_msgq_init(&c->txq, 1, 0);
    pthread_mutex_unlock(&c->mtx);
    if (p) {
        ms_pipe_gone(p, reason);
        ms_pipe_release(p); /* may drop the pipe's reference on c; the wsi's is still held */
    }
}

/* ---- service thread: commands ---- */

static void conn_deliver(ms_ws_conn *c, struct lws *wsi, msock_msg *m);

static void conn_take_wsi_ref(ms_ws_conn *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    c->wsi_ref = true;
}

static void conn_drop_wsi_ref(ms_ws_conn *c)
{
    if (c->wsi_ref) {
        c->wsi_ref = false;
        ms_ws_conn_release(c);
    }
}

void ms_ws_conn_run(ms_ws_conn *c, unsigned want)
{
    if (want & MS_WS_WANT_CLOSE) {
        if (c->fd >= 0) { /* never adopted */
            close(c->fd);
            c->fd = -1;
        }
        want &= ~(unsigned)(MS_WS_WANT_CONNECT | MS_WS_WANT_ADOPT);
    }
    if (want & MS_WS_WANT_CONNECT) {
        conn_take_wsi_ref(c);
        int rv = ms_ws_client_connect(c, c->addr, c->rport, c->host, c->ep->url.path);
        if (rv == 0 && c->wsi)
            lws_set_timer_usecs(c->wsi, c->handshake_ms * 1000);
        if (rv != 0) {
            /* lws may or may not have called CONNECTION_ERROR and WSI_DESTROY already. */
            if (!c->wsi)
                conn_drop_wsi_ref(c);
            ms_ws_dial_result(c, rv);
        }
    }
    if (want & MS_WS_WANT_ADOPT) {
        conn_take_wsi_ref(c);
        int fd = c->fd;
        c->fd = -1;
        /* c is the wsi's from the start: a wss adopt may fail its TLS (and destroy the wsi,
         * dropping the wsi reference) within the call. */
        struct lws *w = ms_ws_adopt(fd, c->tls, c);
        if (w && c->wsi_ref) {
            c->wsi = w;
            lws_set_timer_usecs(w, c->handshake_ms * 1000);
        } else {
            conn_drop_wsi_ref(c);
        }
    }
    if (!c->wsi)
        return;
    if (want & MS_WS_WANT_CLOSE) {
        pthread_mutex_lock(&c->mtx);
        bool unsent = !ms_msgq_empty(&c->txq);
        pthread_mutex_unlock(&c->mtx);
        if (c->established && !unsent && !lws_partial_buffered(c->wsi)) {
            /* A close frame once writeable; a peer that stops reading now is killed later.
             * One that holds up our writes is killed at once: the socket's linger time, if
             * any, is over when its pipes close, and what is unsent is dropped anyway. */
            c->close_now = true;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, MS_WS_CLOSE_SECS);
            lws_callback_on_writable(c->wsi);
        } else {
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
        return;
    }
    if ((want & MS_WS_WANT_RESUME) && c->rx_early)
        conn_deliver(c, c->wsi, NULL); /* the pipe is attached now: hand them up */
    if ((want & MS_WS_WANT_RESUME) && c->rx_paused) {
        c->rx_paused = false;
        lws_rx_flow_control(c->wsi, 1);
    }
    if (want & MS_WS_WANT_WRITE)
        lws_callback_on_writable(c->wsi);
}

/* ---- service thread: receive ---- */

static int conn_reject(struct lws *wsi, enum lws_close_status code, const char *why)
{
    lws_close_reason(wsi, code, (unsigned char *)why, strlen(why));
    return -1;
}

static ms_pipe *conn_pipe(ms_ws_conn *c)
{
    pthread_mutex_lock(&c->mtx);
    ms_pipe *p = c->pipe; /* cleared only on the service thread */
    pthread_mutex_unlock(&c->mtx);
    return p;
}

/* Hands a chain to the pipe; a dialer's conn keeps what comes before its pipe is attached on
 * the reactor (reads are paused then, but lws may hold bytes that came with the 101). */
static void conn_deliver(ms_ws_conn *c, struct lws *wsi, msock_msg *m)
{
    ms_pipe *p = conn_pipe(c);
    if (m)
        m->next = NULL;
    if (!p && !m)
        return;
    if (!p) {
        if (c->dialer && !c->dead) {
            if (c->rx_early)
                c->rx_early_tail->next = m;
            else
                c->rx_early = m;
            c->rx_early_tail = m;
        } else {
            ms_msg_free(m);
        }
        return;
    }
    if (c->rx_early) { /* the early ones first, in order */
        c->rx_early_tail->next = m;
        m = c->rx_early;
        c->rx_early = c->rx_early_tail = NULL;
    }
    if (!m)
        return;
    int rv = ms_pipe_deliver(p, &m, true);
    if (rv == MSOCK_ECLOSED)
        ms_msg_chain_free(m);
    if (rv == MSOCK_EAGAIN || rv == MSOCK_ECLOSED) {
        /* Full: read no more until recv_resume. Closed: the pipe is on its way out. */
        c->rx_paused = true;
        lws_rx_flow_control(wsi, 0);
    }
}

/* Refuses the peer from the next WRITEABLE callback: refused from RECEIVE, lws 4.1 goes on
 * parsing what it has read while it waits to write the close frame, fails on it and drops the
 * connection without the close code. One that never lets us write is killed after a while. */
static int conn_reject_later(ms_ws_conn *c, struct lws *wsi, int code)
{
    c->reject_code = code;
    lws_rx_flow_control(wsi, 0);
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, MS_WS_CLOSE_SECS);
    lws_callback_on_writable(wsi);
    return 0;
}

static int conn_rx(ms_ws_conn *c, struct lws *wsi, const void *in, size_t len)
{
    if (c->reject_code)
        return 0; /* what lws had already read before the refusal */
    if (!c->rx_ready) {
        ms_ws_rx_init(&c->rx, c->ep->opts.recv_maxsz);
        c->rx_ready = true;
    }
    unsigned flags = (lws_is_first_fragment(wsi) ? MS_WS_RX_FIRST : 0) |
                     (lws_is_final_fragment(wsi) ? MS_WS_RX_FINAL : 0) |
                     (lws_frame_is_binary(wsi) ? MS_WS_RX_BINARY : 0);
    msock_msg *m = NULL;
    int rv = ms_ws_rx_feed(&c->rx, flags, in, len, lws_remaining_packet_payload(wsi), &m);
    if (rv == MS_WS_RX_MESSAGE)
        conn_deliver(c, wsi, m);
    if (rv != MS_WS_RX_REFUSED)
        return rv < 0 ? -1 : 0;
    if (c->rx.close_code == MS_WS_CLOSE_TOO_LARGE) {
        ms_pipe_count_error(c->ep->sock, conn_pipe(c), MSOCK_STAT_DROPS_TOO_LARGE);
        ms_debug("socket %u: dropping %s: message over the receive max size", c->ep->sock->id,
                 c->url);
    }
    return conn_reject_later(c, wsi, c->rx.close_code);
}

/* ---- service thread: send ---- */

/* Copies bytes [off, off + n) of m's wire form (header, then body) into dst. */
static void conn_copy_out(msock_msg *m, size_t off, size_t n, uint8_t *dst)
{
    if (off < m->header_len) {
        size_t h = MS_MIN(n, m->header_len - off);
        memcpy(dst, ms_msg_hdr(m) + off, h);
        dst += h;
        n -= h;
        off = 0;
    } else {
        off -= m->header_len;
    }
    if (n > 0)
        memcpy(dst, m->body + off, n);
}

/* The first n queued messages are written: frees them, and tells the pipe when its queue is
 * low again after it was full. */
static void conn_tx_done(ms_ws_conn *c, size_t n)
{
    msock_msg *done = NULL;
    ms_pipe *ready = NULL;
    pthread_mutex_lock(&c->mtx);
    for (size_t i = 0; i < n; i++) {
        msock_msg *m = ms_msgq_get(&c->txq);
        m->next = done;
        done = m;
    }
    if (c->want_ready && ms_msgq_low(&c->txq) && c->pipe) {
        c->want_ready = false;
        ready = c->pipe;
        ms_pipe_hold(ready);
    }
    pthread_mutex_unlock(&c->mtx);
    ms_msg_chain_free(done);
    if (ready) {
        ms_pipe_send_ready(ready);
        ms_pipe_release(ready);
    }
}

/* Writes up to WS_TX_BUDGET fragments or batches of small messages, framed by us (ws_frame.c)
 * in the service thread's scratch buffer and handed to lws as raw bytes: a dialer masks in
 * that copy, so shared (fan-out) bodies stay untouched. */
static int conn_tx(ms_ws_conn *c, struct lws *wsi)
{
    if (c->reject_code)
        return conn_reject(wsi, (enum lws_close_status)c->reject_code,
                           ms_ws_rx_close_reason(c->reject_code));
    if (c->close_now)
        return conn_reject(wsi, LWS_CLOSE_STATUS_NORMAL, "");
    uint8_t *buf = ms_ws_txbuf();
    if (c->ping_due && c->tx_frag_off == 0) {
        /* lws 4.1 reports no pong with an empty payload: the ping carries 8 bytes. */
        memcpy(buf, "msockpng", 8);
        if (lws_write(wsi, buf, 8, LWS_WRITE_PING) < 0)
            return -1;
        c->ping_due = false;
        c->ping_out = true;
        c->ping_sent_us = lws_now_usecs();
        lws_set_timer_usecs(wsi, c->ping_to_us > 0 ? c->ping_to_us : c->ping_ivl_us);
    }
    uint64_t *rng = c->dialer ? &c->mask_rng : NULL; /* a dialer masks what it sends */
    for (int budget = WS_TX_BUDGET; budget > 0; budget--) {
        /* Messages stay queued while written: only this thread removes them. The first n of
         * them are small enough to go out as whole frames in one write. */
        size_t n = 0, used = 0;
        pthread_mutex_lock(&c->mtx);
        msock_msg *m = ms_msgq_peek(&c->txq);
        for (msock_msg *x = c->tx_frag_off == 0 ? m : NULL; x; x = x->next) {
            size_t w = ms_msg_wire_len(x) + MS_WS_FRAME_HEAD_MAX;
            if (w > MS_WS_BATCH_MSG_MAX || used + w > MS_WS_FRAG)
                break;
            used += w;
            n++;
        }
        pthread_mutex_unlock(&c->mtx);
        if (!m)
            return 0;
        if (n > 0) {
            size_t len = 0;
            msock_msg *x = m;
            for (size_t i = 0; i < n; i++, x = i < n ? x->next : NULL)
                len += ms_ws_frame_put(buf + len, x, rng);
            /* LWS_WRITE_RAW: our frames as they are, in one system call. */
            if (lws_write(wsi, buf, len, LWS_WRITE_RAW) < (int)len)
                return -1;
            conn_tx_done(c, n);
        } else {
            /* One fragment of a big message, also framed here (lws masks byte by byte). */
            size_t total = ms_msg_wire_len(m), off = c->tx_frag_off;
            size_t k = MS_MIN(total - off, (size_t)MS_WS_FRAG);
            uint8_t key[4];
            size_t h = ms_ws_frame_head(buf, off == 0, off + k == total, k, rng, key);
            conn_copy_out(m, off, k, buf + h);
            if (rng)
                ms_ws_frame_mask(buf + h, k, key);
            if (lws_write(wsi, buf, h + k, LWS_WRITE_RAW) < (int)(h + k))
                return -1;
            c->tx_frag_off = off + k;
            if (c->tx_frag_off == total) {
                c->tx_frag_off = 0;
                conn_tx_done(c, 1);
            }
        }
        /* Stop once the kernel refused part of a frame (lws holds the rest and calls back
         * when it is out). lws_send_pipe_choked would poll() per frame: it cost 60 % of the
         * 64 KiB throughput (2.2k -> 5.6k msg/s without it, perf/local_thr). */
        if (lws_partial_buffered(wsi))
            break;
    }
    pthread_mutex_lock(&c->mtx);
    bool more = !ms_msgq_empty(&c->txq);
    pthread_mutex_unlock(&c->mtx);
    if (more)
        lws_callback_on_writable(wsi);
    return 0;
}

/* ---- service thread: handshake and life ---- */

/* Server side: the request's path picks the listener, its subprotocol must be the
 * listener's own (SP-WIRE §3.2: wrong path 404, missing or wrong subprotocol 400). */
static int conn_filter(ms_ws_conn *c, struct lws *wsi)
{
    char path[MS_URL_MAX + 8], proto[64], origin[MS_WS_ORIGINS_MAX], version[8];
    int status = HTTP_STATUS_NOT_FOUND;
    /* lws 4.1 takes any Sec-WebSocket-Version for 13; RFC 6455 §4.2.1 speaks 13 only. */
    if (lws_hdr_copy(wsi, version, sizeof version, WSI_TOKEN_VERSION) <= 0 ||
        strcmp(version, "13") != 0) {
        lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, NULL);
        return -1;
    }
    if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0)
        path[0] = '\0';
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) <= 0 ||
        lws_hdr_copy(wsi, proto, sizeof proto, WSI_TOKEN_PROTOCOL) < 0)
        proto[0] = '\0';
    /* No Origin header: not a browser, so not a page that a user's browser was made to open
     * (an Origin too long for any list can match nothing). */
    bool has_origin = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0;
    if (has_origin && lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0)
        snprintf(origin, sizeof origin, "-");
    ms_endpoint *ep = ms_ws_listener_match(c->port_id, path, proto, has_origin ? origin : NULL,
                                           &status);
    if (!ep) {
        lws_return_http_status(wsi, (unsigned)status, NULL);
        return -1;
    }
    c->ep = ep;
    c->counted = true;
    c->ping_ivl_us = ep->opts.ws_ping_interval * 1000;
    c->ping_to_us = ep->opts.ws_ping_timeout * 1000;
    ms_msgq_set_limits(&c->txq, (size_t)ep->opts.send_queue_msgs, ep->opts.send_queue_bytes);
    ms_sockaddr peer = {.len = sizeof peer.ss};
    if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&peer.ss, &peer.len) != 0 ||
        ms_sockaddr_format(&peer, c->tls ? "wss" : "ws", c->url, sizeof c->url) != 0)
        snprintf(c->url, sizeof c->url, "%s", ep->bound_url);
    return 0;
}

/* Client side: the lws client takes a 101 without our subprotocol; nng would not. */
static int conn_client_check(ms_ws_conn *c, struct lws *wsi)
{
    char proto[64];
    if (lws_hdr_copy(wsi, proto, sizeof proto, WSI_TOKEN_PROTOCOL) <= 0 ||
        strcasecmp(proto, c->proto_name) != 0)
        return -1;
    return 0;
}

/* The connection is up: the handshake timer becomes the keepalive timer. */
static void conn_established(ms_ws_conn *c, struct lws *wsi)
{
    c->established = true;
    c->last_rx_us = lws_now_usecs();
    lws_set_timer_usecs(wsi, c->ping_ivl_us > 0 ? c->ping_ivl_us : LWS_SET_TIMER_USEC_CANCEL);
}

/* Before the upgrade: the handshake took too long. After: ping a peer that has been quiet
 * for the interval, and (with a timeout set) close one that stays quiet for the timeout after
 * the ping. Silence while we hold its reads (our socket's queue is full) is ours, not the
 * peer's. */
static int conn_timer(ms_ws_conn *c, struct lws *wsi)
{
    if (!c->established) {
        ms_debug("ws: %s: handshake timed out", c->url[0] ? c->url : "accepted connection");
        ms_ws_dial_result(c, MSOCK_ETIMEDOUT);
        c->timed_out = true;
        /* lws 4.1 closes a wss connection still in its TLS handshake by waiting up to 5 s
         * for the peer's TLS close: cut the TCP connection now. */
        if (c->tls)
            shutdown(lws_get_socket_fd(wsi), SHUT_RDWR);
        return -1;
    }
    if (c->ping_ivl_us <= 0)
        return 0;
    int64_t now = lws_now_usecs();
    if (c->ping_out) {
        if (c->ping_to_us > 0 && c->last_rx_us < c->ping_sent_us && !c->rx_paused) {
            int64_t left = c->ping_sent_us + c->ping_to_us - now;
            if (left <= 0) {
                /* No close handshake: lws would wait 5 s for a dead peer's answer. */
                ms_debug("ws: %s: no answer to a ping, closing", c->url);
                lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
                return 0;
            }
            lws_set_timer_usecs(wsi, left);
            return 0;
        }
        c->ping_out = false;
    }
    int64_t idle = c->rx_paused ? 0 : now - c->last_rx_us;
    if (idle >= c->ping_ivl_us) {
        c->ping_due = true; /* written before the next message; its timer starts then */
        lws_callback_on_writable(wsi);
        lws_set_timer_usecs(wsi, c->ping_ivl_us);
    } else {
        lws_set_timer_usecs(wsi, c->ping_ivl_us - idle);
    }
    return 0;
}

static const char *http_content_type(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript"},            {".mjs", "text/javascript"},
        {".css", "text/css"},                  {".json", "application/json"},
        {".png", "image/png"},                 {".svg", "image/svg+xml"},
        {".txt", "text/plain; charset=utf-8"}, {".ico", "image/x-icon"},
        {".wasm", "application/wasm"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < MS_ARRAY_LEN(types); i++)
        if (strcasecmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

/* A plain HTTP request (no upgrade): a file from the listener's directory, or 404. Paths with
 * ".." or a backslash are refused outright; symbolic links inside the directory are served. */
static int conn_http(ms_ws_conn *c, struct lws *wsi, const char *uri)
{
    char dir[MS_WS_HTTP_DIR_MAX], path[MS_WS_HTTP_DIR_MAX + MS_URL_MAX + 16];
    struct stat st;
    bool ok = uri && uri[0] == '/' && !strstr(uri, "..") && !strchr(uri, '\\') &&
              ms_ws_port_http_dir(c->port_id, dir, sizeof dir);
    if (ok) {
        size_t n = strlen(uri);
        int w = snprintf(path, sizeof path, "%s%s%s", dir, uri,
                         uri[n - 1] == '/' ? "index.html" : "");
        ok = w > 0 && (size_t)w < sizeof path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
    }
    if (!ok) {
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
        return -1;
    }
    int rv = lws_serve_http_file(wsi, path, http_content_type(path), NULL, 0);
    if (rv < 0 || (rv > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

int ms_ws_conn_callback(struct lws *wsi, int reason, void *in, size_t len)
{
    ms_ws_conn *c = lws_get_opaque_user_data(wsi);
    if (!c)
        return WS_UNHANDLED;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return conn_filter(c, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        conn_established(c, wsi);
        return ms_ws_conn_attach(c) == 0 ? 0 : conn_reject(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, "refused");
    case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
        return conn_client_check(c, wsi);
    case LWS_CALLBACK_CLIENT_ESTABLISHED: {
        /* Small SP messages must not wait for Nagle (accepted fds get it in ws_endpoint.c). */
        int one = 1;
        setsockopt(lws_get_socket_fd(wsi), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* The pipe is attached on the dialer's reactor; hold reads until then. */
        conn_established(c, wsi);
        c->rx_paused = true;
        lws_rx_flow_control(wsi, 0);
        ms_ws_dial_result(c, 0);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        ms_debug("ws: dial %s: %s", c->url, in ? (const char *)in : "failed");
        ms_ws_dial_result(c, ms_ws_dial_error(c, wsi, in));
        return 0;
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_CLIENT_RECEIVE:
        c->last_rx_us = lws_now_usecs();
        return c->ep ? conn_rx(c, wsi, in, len) : -1;
    case LWS_CALLBACK_RECEIVE_PONG:
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        c->last_rx_us = lws_now_usecs();
        return 0;
    case LWS_CALLBACK_TIMER:
        return conn_timer(c, wsi);
    case LWS_CALLBACK_HTTP:
        return conn_http(c, wsi, in);
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return conn_tx(c, wsi);
    case LWS_CALLBACK_WSI_DESTROY:
        lws_set_opaque_user_data(wsi, NULL);
        c->wsi = NULL;
        if (c->dialer)
            ms_ws_dial_result(c, MSOCK_ECONNRESET); /* no-op when already reported */
        conn_dead(c, MSOCK_ECONNRESET);
        ms_ws_tls_gone(c);
        if (c->counted) {
            c->counted = false;
            ms_ws_listener_leave(c->ep);
        }
        conn_drop_wsi_ref(c); /* may free c */
        return 0;
    default:
        return WS_UNHANDLED;
    }
}
