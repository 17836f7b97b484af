/* stream_endpoint.c: the dialer and listener shared by tcp, tls+tcp and ipc: non-blocking
 * connect, bind with port 0 and stale ipc files, an accept loop that backs off when out of
 * fds, and the TLS context of a tls+tcp endpoint (made from its options when it starts). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "socket/socket.h"
#include "transport/sp_codec.h"
#include "transport/stream.h"
#include "transport/tls_config.h"

#define ACCEPT_RETRY_MS 100
#define LISTEN_BACKLOG 4096

typedef struct stream_dialer {
    ms_endpoint *ep;
    const ms_stream_kind *kind;
    ms_ev ev;
    int fd;                   /* connecting socket, -1 when idle */
    ms_timer connect_timer;   /* a connect that hangs (no SYN answer) ends like a handshake */
    ms_stream_conn *hs_conn;  /* connection in its handshake */
    SSL_CTX *tls;             /* tls+tcp: made at the first connect, from the options then */
    char peer_url[MS_URL_MAX + 8];
} stream_dialer;

typedef struct stream_listener {
    ms_endpoint *ep;
    const ms_stream_kind *kind;
    ms_ev ev;
    int fd;
    ms_sockaddr sa;
    ms_timer retry_timer;
    SSL_CTX *tls; /* tls+tcp: made at bind, so a bad certificate fails msock_listen */
    bool registered;
    dev_t ipc_dev; /* identity of the socket file we made, to unlink only our own */
    ino_t ipc_ino;
} stream_listener;

static int socket_for(int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd < 0 ? ms_errno_to_code(errno) : fd;
}

/* ---- dialer ---- */

static void dialer_drop_fd(stream_dialer *d);

static void dialer_connect_timeout(ms_timer *t)
{
    stream_dialer *d = MS_CONTAINER_OF(t, stream_dialer, connect_timer);
    if (d->fd < 0)
        return;
    dialer_drop_fd(d);
    ms_endpoint_dial_done(d->ep, MSOCK_ETIMEDOUT);
}

int ms_stream_dialer_init(ms_endpoint *ep, void **tp, const ms_stream_kind *kind)
{
    if (kind->framing == MS_SP_FRAMING_TCP && ep->url.host[0] == '\0')
        return MSOCK_EINVAL; /* tcp dial needs a host */
    stream_dialer *d = calloc(1, sizeof *d);
    if (!d)
        return MSOCK_ENOMEM;
    d->ep = ep;
    d->kind = kind;
    d->fd = -1;
    ms_timer_init(&d->connect_timer, dialer_connect_timeout);
    snprintf(d->peer_url, sizeof d->peer_url, "%s", ep->url.raw);
    *tp = d;
    return 0;
}

static void dialer_hs_done(void *arg, ms_stream_conn *c, int rv)
{
    stream_dialer *d = arg;
    MS_UNUSED(c);
    d->hs_conn = NULL;
    ms_endpoint_dial_done(d->ep, rv);
}

static void dialer_drop_fd(stream_dialer *d)
{
    ms_timer_cancel(d->ep->reactor, &d->connect_timer);
    if (d->fd >= 0) {
        ms_reactor_del(&d->ev);
        close(d->fd);
        d->fd = -1;
    }
}

static void dialer_connected(stream_dialer *d)
{
    ms_timer_cancel(d->ep->reactor, &d->connect_timer);
    int fd = d->fd;
    ms_reactor_del(&d->ev);
    d->fd = -1;
    d->kind->prepare(d->ep, fd);
    /* The connection registers the fd again with its own handler. */
    ms_stream_conn_start(d->ep, d->ep->reactor, fd, d->kind->framing, d->tls, d->peer_url,
                         dialer_hs_done, d, &d->hs_conn);
}

static void dialer_event(ms_ev *ev, uint32_t events)
{
    stream_dialer *d = MS_CONTAINER_OF(ev, stream_dialer, ev);
    MS_UNUSED(events);
    if (d->fd < 0)
        return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        return;
    if (err != 0) {
        dialer_drop_fd(d);
        ms_endpoint_dial_done(d->ep, ms_errno_to_code(err));
        return;
    }
    dialer_connected(d);
}

void ms_stream_dialer_connect(void *tp)
{
    stream_dialer *d = tp;
    ms_sockaddr sa;
    int rv = 0;
    if (d->kind->tls && !d->tls && (rv = ms_tls_ctx_new(&d->ep->opts, false, &d->tls)) != 0) {
        ms_endpoint_dial_done(d->ep, rv);
        return;
    }
    rv = d->kind->resolve(d->ep, &sa, false);
    int fd = rv == 0 ? socket_for(sa.ss.ss_family) : rv;
    if (fd < 0) {
        ms_endpoint_dial_done(d->ep, fd);
        return;
    }
    if (connect(fd, (struct sockaddr *)&sa.ss, sa.len) == 0) {
        d->fd = fd;
        d->ev.reactor = NULL;
        dialer_connected(d);
        return;
    }
    if (errno != EINPROGRESS && errno != EAGAIN) {
        rv = ms_errno_to_code(errno);
        if (rv == MSOCK_ENOENT)
            rv = MSOCK_ECONNREFUSED; /* an ipc path nobody listens on */
        close(fd);
        ms_endpoint_dial_done(d->ep, rv);
        return;
    }
    d->fd = fd;
    rv = ms_reactor_add(d->ep->reactor, &d->ev, dialer_event, fd);
    if (rv != 0) {
        close(fd);
        d->fd = -1;
        ms_endpoint_dial_done(d->ep, rv);
        return;
    }
    ms_timer_schedule(d->ep->reactor, &d->connect_timer, d->ep->opts.handshake_timeout);
}

void ms_stream_dialer_close(void *tp)
{
    stream_dialer *d = tp;
    dialer_drop_fd(d);
    if (d->hs_conn) {
        ms_stream_conn *c = d->hs_conn;
        d->hs_conn = NULL;
        ms_stream_conn_abort(c);
    }
}

void ms_stream_dialer_fini(void *tp)
{
    stream_dialer *d = tp;
    if (d->tls)
        SSL_CTX_free(d->tls);
    free(d);
}

/* ---- listener ---- */

int ms_stream_listener_init(ms_endpoint *ep, void **tp, const ms_stream_kind *kind)
{
    stream_listener *l = calloc(1, sizeof *l);
    if (!l)
        return MSOCK_ENOMEM;
    l->ep = ep;
    l->kind = kind;
    l->fd = -1;
    ms_timer_init(&l->retry_timer, NULL);
    int rv = kind->resolve(ep, &l->sa, true);
    if (rv != 0) {
        free(l);
        return rv;
    }
    *tp = l;
    return 0;
}

/* A socket file that refuses connections is left by a dead listener; any other file (or a
 * live listener) is never touched. */
static bool ipc_path_is_stale(const ms_sockaddr *sa)
{
    struct stat st;
    if (lstat(((const struct sockaddr_un *)&sa->ss)->sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool stale = connect(fd, (const struct sockaddr *)&sa->ss, sa->len) < 0 && errno == ECONNREFUSED;
    close(fd);
    return stale;
}

int ms_stream_listener_bind(void *tp)
{
    stream_listener *l = tp;
    if (l->kind->tls) {
        int rv = ms_tls_ctx_new(&l->ep->opts, true, &l->tls);
        if (rv != 0)
            return rv;
    }
    int family = l->sa.ss.ss_family;
    int fd = socket_for(family);
    if (fd < 0)
        return fd;
    int one = 1, zero = 0;
    if (family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6 && l->ep->url.family != MS_URL_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    const char *path = family == AF_UNIX ? ((struct sockaddr_un *)&l->sa.ss)->sun_path : NULL;
    int rc = bind(fd, (struct sockaddr *)&l->sa.ss, l->sa.len);
    if (rc < 0 && errno == EADDRINUSE && path && ipc_path_is_stale(&l->sa)) {
        ms_debug("ipc: replacing stale socket file %s", path);
        unlink(path);
        rc = bind(fd, (struct sockaddr *)&l->sa.ss, l->sa.len);
    }
    if (rc < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        int err = ms_errno_to_code(errno);
        close(fd);
        return err;
    }
    if (path) {
        struct stat st;
        if (l->ep->opts.ipc_permissions)
            chmod(path, (mode_t)l->ep->opts.ipc_permissions);
        if (stat(path, &st) == 0) {
            l->ipc_dev = st.st_dev;
            l->ipc_ino = st.st_ino;
        }
        snprintf(l->ep->bound_url, sizeof l->ep->bound_url, "%s", l->ep->url.raw);
    } else {
        ms_sockaddr bound = {.len = sizeof bound.ss};
        getsockname(fd, (struct sockaddr *)&bound.ss, &bound.len);
        ms_sockaddr_format(&bound, l->ep->url.scheme, l->ep->bound_url, sizeof l->ep->bound_url);
    }
    l->fd = fd;
    return 0;
}

static void listener_accept(stream_listener *l)
{
    for (;;) {
        ms_sockaddr peer = {.len = sizeof peer.ss};
        int fd = accept4(l->fd, (struct sockaddr *)&peer.ss, &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Pending connections stay queued; try again later instead of spinning. */
                ms_debug("accept on %s: %s", l->ep->bound_url, strerror(errno));
                ms_timer_schedule(l->ep->reactor, &l->retry_timer, ACCEPT_RETRY_MS);
            }
            return;
        }
        int max = l->ep->opts.max_conns;
        if (max > 0 && atomic_load_explicit(&l->ep->conns, memory_order_relaxed) >= max) {
            /* Refused at once: a full listener must not hold fds for peers it will not serve. */
            ms_debug("accept on %s: %d connections already, refusing", l->ep->bound_url, max);
            close(fd);
            continue;
        }
        atomic_fetch_add_explicit(&l->ep->conns, 1, memory_order_relaxed);
        char url[MS_URL_MAX + 8];
        if (peer.ss.ss_family == AF_UNIX || ms_sockaddr_format(&peer, l->ep->url.scheme, url, sizeof url) != 0)
            snprintf(url, sizeof url, "%s", l->ep->bound_url);
        l->kind->prepare(l->ep, fd);
        ms_reactor *r = ms_reactor_pick();
        /* The connection must start on its own reactor's thread. */
        if (r == l->ep->reactor)
            ms_stream_conn_start(l->ep, r, fd, l->kind->framing, l->tls, url, NULL, NULL, NULL);
        else
            ms_stream_conn_start_remote(l->ep, r, fd, l->kind->framing, l->tls, url);
    }
}

static void listener_event(ms_ev *ev, uint32_t events)
{
    MS_UNUSED(events);
    listener_accept(MS_CONTAINER_OF(ev, stream_listener, ev));
}

static void listener_retry(ms_timer *t)
{
    listener_accept(MS_CONTAINER_OF(t, stream_listener, retry_timer));
}

void ms_stream_listener_start(void *tp)
{
    stream_listener *l = tp;
    l->retry_timer.fn = listener_retry;
    if (ms_reactor_add(l->ep->reactor, &l->ev, listener_event, l->fd) == 0)
        l->registered = true;
    listener_accept(l);
}

void ms_stream_listener_close(void *tp)
{
    stream_listener *l = tp;
    if (l->fd < 0)
        return;
    ms_timer_cancel(l->ep->reactor, &l->retry_timer);
    if (l->registered)
        ms_reactor_del(&l->ev);
    close(l->fd);
    l->fd = -1;
    if (l->sa.ss.ss_family == AF_UNIX) {
        const char *path = ((struct sockaddr_un *)&l->sa.ss)->sun_path;
        struct stat st;
        if (stat(path, &st) == 0 && st.st_dev == l->ipc_dev && st.st_ino == l->ipc_ino)
            unlink(path);
    }
}

void ms_stream_listener_fini(void *tp)
{
    stream_listener *l = tp;
    if (l->fd >= 0)
        close(l->fd); /* bound but never started */
    if (l->tls)
        SSL_CTX_free(l->tls); /* connections hold their own references (SSL_new takes one) */
    free(l);
}
