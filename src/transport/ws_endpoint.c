/* ws_endpoint.c: the ws:// and wss:// dialer and listener. Listeners share our own listening
 * sockets: several paths may listen on one host:port, and accepted fds are handed to lws, which
 * runs TLS (wss) and the HTTP upgrade; the request's path then picks the listener
 * (ms_ws_listener_match). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sockaddr.h"
#include "socket/pipe.h"
#include "socket/socket.h"
#include "transport/tls_config.h"
#include "transport/transport.h"
#include "transport/ws.h"

#define WS_LISTEN_BACKLOG 4096
#define WS_ACCEPT_RETRY_MS 100 /* out of fds: pending connections wait in the backlog */

struct ms_ws_dialer {
    ms_endpoint *ep;
    ms_ws_conn *conn; /* reactor thread: the attempt in flight (its creation reference) */
};

typedef struct ws_listener ws_listener;

/* One listening socket; its listeners differ by path. Fields under ws_ports_mtx, except ev
 * and fd which the port's reactor owns once registered. */
typedef struct ws_port {
    uint64_t id;
    int fd;
    char host[MS_URL_MAX]; /* as the URL gave it, to find the port again */
    uint16_t port;         /* bound */
    ms_ws_tls *tls;        /* wss: the TLS of every listener on it; NULL for ws */
    bool registered;
    int64_t handshake_ms; /* of the listener that opened it: before the path is known */
    ms_reactor *reactor;
    ms_ev ev;
    ms_timer retry_timer;
    ms_task close_task;
    ws_listener *listeners;
    struct ws_port *next;
} ws_port;

struct ws_listener {
    ms_endpoint *ep;
    ws_port *port; /* NULL once unlinked */
    char proto_name[48];
    ws_listener *next;
};

static pthread_mutex_t ws_ports_mtx = PTHREAD_MUTEX_INITIALIZER;
static ws_port *ws_ports;
static uint64_t ws_port_ids;

void ms_ws_proto_name(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s.sp.nanomsg.org", name);
}

static bool ws_secure(const ms_endpoint *ep)
{
    return strcmp(ep->url.scheme, "wss") == 0;
}

/* ---- dialer ---- */

static int ws_dialer_init(ms_endpoint *ep, void **tp)
{
    if (ep->url.host[0] == '\0')
        return MSOCK_EINVAL; /* a dial needs a host */
    int rv = ms_ws_service_start();
    if (rv != 0)
        return rv;
    ms_ws_dialer *d = calloc(1, sizeof *d);
    if (!d)
        return MSOCK_ENOMEM;
    d->ep = ep;
    *tp = d;
    return 0;
}

/* Runs on the dialer's reactor: attaches the pipe there, so that it is serialised with
 * dialer_close, as the endpoint requires. */
static void ws_dial_task(ms_task *t)
{
    ms_ws_conn *c = MS_CONTAINER_OF(t, ms_ws_conn, dial_task);
    ms_ws_dialer *d = c->dialer;
    int rv = c->dial_rv;
    if (d->conn != c) { /* cancelled by dialer_close: it asked the conn to close */
        ms_ws_conn_release(c);
        return;
    }
    d->conn = NULL;
    if (rv == 0)
        rv = ms_ws_conn_attach(c);
    ms_ws_post(c, rv == 0 ? MS_WS_WANT_RESUME : MS_WS_WANT_CLOSE);
    ms_endpoint_dial_done(d->ep, rv);
    ms_ws_conn_release(c); /* the attempt's reference */
    ms_ws_conn_release(c); /* the task's */
}

void ms_ws_dial_result(ms_ws_conn *c, int rv)
{
    if (!c->dialer || c->dial_reported)
        return;
    c->dial_reported = true;
    c->dial_rv = rv;
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    ms_reactor_post(c->ep->reactor, &c->dial_task);
}

static void ws_dialer_connect(void *tp)
{
    ms_ws_dialer *d = tp;
    ms_endpoint *ep = d->ep;
    ms_sockaddr sa;
    ms_ws_tls *tls = NULL;
    /* Resolved here, like tcp: this lws build resolves names on its one service thread. */
    int rv = ms_sockaddr_tcp(&sa, &ep->url, false);
    if (rv == 0 && ws_secure(ep))
        rv = ms_ws_tls_get(&ep->opts, false, &tls); /* its files, read on each attempt */
    ms_ws_conn *c = rv == 0 ? ms_ws_conn_new(ep, -1) : NULL;
    if (rv == 0 && !c)
        rv = MSOCK_ENOMEM;
    if (rv != 0) {
        ms_endpoint_dial_done(ep, rv);
        return;
    }
    const void *a = sa.ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&sa.ss)->sin6_addr
                                                 : (const void *)&((struct sockaddr_in *)&sa.ss)->sin_addr;
    inet_ntop(sa.ss.ss_family, a, c->addr, sizeof c->addr);
    c->rport = ep->url.port;
    /* wss: the server's certificate must name MSOCK_OPT_TLS_SERVER_NAME, else the URL's host;
     * the Host header (and so lws's SNI) names it too. */
    const char *name = tls && ep->opts.tls_server_name[0] ? ep->opts.tls_server_name : ep->url.host;
    c->tls = tls;
    c->tls_verify = ms_tls_verify_mode(&ep->opts, false);
    snprintf(c->tls_name, sizeof c->tls_name, "%s", strcmp(name, "*") == 0 ? "" : name);
    bool v6 = strchr(name, ':') != NULL;
    snprintf(c->host, sizeof c->host, "%s%s%s:%u", v6 ? "[" : "", name, v6 ? "]" : "",
             (unsigned)ep->url.port);
    snprintf(c->url, sizeof c->url, "%s", ep->url.raw);
    c->handshake_ms = ep->opts.handshake_timeout;
    ms_ws_proto_name(c->proto_name, sizeof c->proto_name, ep->sock->proto->peer_name);
    c->dialer = d;
    ms_task_init(&c->dial_task, ws_dial_task);
    d->conn = c;
    ms_ws_post(c, MS_WS_WANT_CONNECT);
}

static void ws_dialer_close(void *tp)
{
    ms_ws_dialer *d = tp;
    ms_ws_conn *c = d->conn;
    if (!c)
        return;
    d->conn = NULL;
    ms_ws_post(c, MS_WS_WANT_CLOSE);
    ms_ws_conn_release(c);
}

static void ws_dialer_fini(void *tp)
{
    free(tp);
}

/* ---- listening sockets ---- */

static void port_close_task(ms_task *t)
{
    ws_port *p = MS_CONTAINER_OF(t, ws_port, close_task);
    ms_timer_cancel(p->reactor, &p->retry_timer);
    ms_reactor_del(&p->ev);
    close(p->fd);
    free(p);
}

/* Removes l from its port; the last listener closes the socket (on the port's reactor). */
static void port_unlink(ws_listener *l)
{
    pthread_mutex_lock(&ws_ports_mtx);
    ws_port *p = l->port;
    bool last = false;
    if (p) {
        for (ws_listener **pp = &p->listeners; *pp; pp = &(*pp)->next)
            if (*pp == l) {
                *pp = l->next;
                break;
            }
        l->port = NULL;
        last = p->listeners == NULL;
        if (last)
            for (ws_port **pp = &ws_ports; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                    *pp = p->next;
                    break;
                }
    }
    bool registered = p && p->registered;
    pthread_mutex_unlock(&ws_ports_mtx);
    if (!last)
        return;
    if (registered) {
        ms_task_init(&p->close_task, port_close_task);
        ms_reactor_post(p->reactor, &p->close_task);
    } else {
        close(p->fd);
        free(p);
    }
}

static void port_accept(ws_port *p)
{
    for (;;) {
        int fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Try again later instead of spinning on a readable listening socket. */
                ms_debug("ws: accept on port %u: %s", (unsigned)p->port, strerror(errno));
                ms_timer_schedule(p->reactor, &p->retry_timer, WS_ACCEPT_RETRY_MS);
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ms_ws_conn *c = ms_ws_conn_new(NULL, fd);
        if (!c) {
            close(fd);
            continue;
        }
        c->port_id = p->id;
        c->tls = p->tls;
        c->handshake_ms = p->handshake_ms;
        ms_ws_post(c, MS_WS_WANT_ADOPT);
        ms_ws_conn_release(c);
    }
}

static void port_event(ms_ev *ev, uint32_t events)
{
    MS_UNUSED(events);
    port_accept(MS_CONTAINER_OF(ev, ws_port, ev));
}

static void port_retry(ms_timer *t)
{
    port_accept(MS_CONTAINER_OF(t, ws_port, retry_timer));
}

static int port_open(ms_endpoint *ep, ms_ws_tls *tls, ws_port **out)
{
    ms_sockaddr sa;
    int rv = ms_sockaddr_tcp(&sa, &ep->url, true);
    if (rv != 0)
        return rv;
    int fd = socket(sa.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ms_errno_to_code(errno);
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa.ss.ss_family == AF_INET6 && ms_url_host_is_wildcard(&ep->url))
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&sa.ss, sa.len) < 0 || listen(fd, WS_LISTEN_BACKLOG) < 0) {
        rv = ms_errno_to_code(errno);
        close(fd);
        return rv;
    }
    ws_port *p = calloc(1, sizeof *p);
    if (!p) {
        close(fd);
        return MSOCK_ENOMEM;
    }
    ms_sockaddr bound = {.len = sizeof bound.ss};
    getsockname(fd, (struct sockaddr *)&bound.ss, &bound.len);
    p->port = ntohs(bound.ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound.ss)->sin6_port
                                                   : ((struct sockaddr_in *)&bound.ss)->sin_port);
    p->fd = fd;
    p->tls = tls;
    p->id = ++ws_port_ids;
    p->handshake_ms = ep->opts.handshake_timeout;
    ms_timer_init(&p->retry_timer, port_retry);
    snprintf(p->host, sizeof p->host, "%s", ep->url.host);
    ms_sockaddr_format(&bound, ep->url.scheme, ep->bound_url, sizeof ep->bound_url);
    *out = p;
    return 0;
}

/* ---- listener ---- */

static int ws_listener_init(ms_endpoint *ep, void **tp)
{
    int rv = ms_ws_service_start();
    if (rv != 0)
        return rv;
    ws_listener *l = calloc(1, sizeof *l);
    if (!l)
        return MSOCK_ENOMEM;
    l->ep = ep;
    ms_ws_proto_name(l->proto_name, sizeof l->proto_name, ep->sock->proto->name);
    *tp = l;
    return 0;
}

static int ws_listener_bind(void *tp)
{
    ws_listener *l = tp;
    ms_endpoint *ep = l->ep;
    ms_ws_tls *tls = NULL;
    /* wss: the certificate and key are read now, so that a bad one fails the listen. */
    int rv = ws_secure(ep) ? ms_ws_tls_get(&ep->opts, true, &tls) : 0;
    if (rv != 0)
        return rv;
    pthread_mutex_lock(&ws_ports_mtx);
    ws_port *p = NULL;
    if (ep->url.port != 0) /* port 0 always gets a socket of its own */
        for (p = ws_ports; p; p = p->next)
            if (p->port == ep->url.port && strcmp(p->host, ep->url.host) == 0)
                break;
    if (p) {
        /* Paths share a port's TLS: ws with wss, or another certificate or check, cannot. */
        if (p->tls != tls)
            rv = MSOCK_EADDRINUSE;
        for (ws_listener *o = p->listeners; o; o = o->next)
            if (strcmp(o->ep->url.path, ep->url.path) == 0)
                rv = MSOCK_EADDRINUSE;
        if (rv == 0)
            ms_url_format_tcp(ep->bound_url, sizeof ep->bound_url, ep->url.scheme, ep->url.host,
                              p->port);
    } else {
        rv = port_open(ep, tls, &p);
        if (rv == 0) {
            p->next = ws_ports;
            ws_ports = p;
        }
    }
    if (rv == 0) {
        l->port = p;
        l->next = p->listeners;
        p->listeners = l;
        size_t n = strlen(ep->bound_url);
        snprintf(ep->bound_url + n, sizeof ep->bound_url - n, "%s", ep->url.path);
    }
    pthread_mutex_unlock(&ws_ports_mtx);
    return rv;
}

static void ws_listener_start(void *tp)
{
    ws_listener *l = tp;
    pthread_mutex_lock(&ws_ports_mtx);
    ws_port *p = l->port;
    bool first = p && !p->registered;
    if (first) {
        p->registered = true;
        p->reactor = l->ep->reactor; /* this thread: the accept below runs where events will */
    }
    pthread_mutex_unlock(&ws_ports_mtx);
    if (!first)
        return;
    if (ms_reactor_add(p->reactor, &p->ev, port_event, p->fd) != 0)
        ms_log_write("ws: cannot watch %s", l->ep->bound_url);
    port_accept(p);
}

static void ws_listener_close(void *tp)
{
    port_unlink(tp);
}

static void ws_listener_fini(void *tp)
{
    port_unlink(tp);
    free(tp);
}

/* Whether origin is one of the comma-separated entries of list (blanks around them ignored);
 * an empty list allows any. */
static bool origin_allowed(const char *list, const char *origin)
{
    if (list[0] == '\0')
        return true;
    size_t olen = strlen(origin);
    for (const char *q = list; *q;) {
        while (*q == ' ' || *q == '\t' || *q == ',')
            q++;
        const char *end = q;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > q && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        if ((size_t)(last - q) == olen && olen > 0 && strncasecmp(q, origin, olen) == 0)
            return true;
        q = end;
    }
    return false;
}

static ws_port *port_find(uint64_t port_id)
{
    ws_port *p = ws_ports;
    while (p && p->id != port_id)
        p = p->next;
    return p;
}

ms_endpoint *ms_ws_listener_match(uint64_t port_id, const char *path, const char *proto,
                                  const char *origin, int *status)
{
    ms_endpoint *ep = NULL;
    *status = 404;
    /* No path is "/": nngcat 1.5.2 dialing ws://host:port sends "GET  HTTP/1.1", which lws
     * reads as the path "HTTP/1.1"; a path always starts with '/'. */
    path = path[0] == '/' ? path : "/";
    pthread_mutex_lock(&ws_ports_mtx);
    ws_port *p = port_find(port_id);
    for (ws_listener *l = p ? p->listeners : NULL; l; l = l->next) {
        if (strcmp(l->ep->url.path[0] ? l->ep->url.path : "/", path) != 0)
            continue;
        /* Exactly one token, ours (a list such as "rep.sp.nanomsg.org, x" is refused, as nng
         * does). The listener's options are fixed once it started: no lock needed. */
        if (strcasecmp(proto, l->proto_name) != 0)
            *status = 400;
        else if (origin && !origin_allowed(l->ep->opts.ws_origins, origin))
            *status = 403;
        else if (l->ep->opts.max_conns > 0 &&
                 atomic_load_explicit(&l->ep->conns, memory_order_relaxed) >= l->ep->opts.max_conns)
            *status = 503;
        else {
            atomic_fetch_add_explicit(&l->ep->conns, 1, memory_order_relaxed);
            ep = l->ep;
            ms_endpoint_hold(ep);
        }
        break;
    }
    pthread_mutex_unlock(&ws_ports_mtx);
    return ep;
}

void ms_ws_listener_leave(ms_endpoint *ep)
{
    atomic_fetch_sub_explicit(&ep->conns, 1, memory_order_relaxed);
}

void ms_ws_port_count_error(uint64_t port_id, int stat)
{
    pthread_mutex_lock(&ws_ports_mtx);
    ws_port *p = port_find(port_id);
    if (p && p->listeners)
        ms_pipe_count_error(p->listeners->ep->sock, NULL, stat);
    pthread_mutex_unlock(&ws_ports_mtx);
}

bool ms_ws_port_http_dir(uint64_t port_id, char *dir, size_t len)
{
    bool found = false;
    pthread_mutex_lock(&ws_ports_mtx);
    ws_port *p = port_find(port_id);
    for (ws_listener *l = p ? p->listeners : NULL; l && !found; l = l->next)
        if (l->ep->opts.ws_http_dir[0] != '\0') {
            snprintf(dir, len, "%s", l->ep->opts.ws_http_dir);
            found = true;
        }
    pthread_mutex_unlock(&ws_ports_mtx);
    return found;
}

#define WS_TRANSPORT(name)                                                                 \
    {                                                                                      \
        .scheme = name, .dialer_init = ws_dialer_init, .dialer_connect = ws_dialer_connect, \
        .dialer_close = ws_dialer_close, .dialer_fini = ws_dialer_fini,                    \
        .listener_init = ws_listener_init, .listener_bind = ws_listener_bind,              \
        .listener_start = ws_listener_start, .listener_close = ws_listener_close,          \
        .listener_fini = ws_listener_fini,                                                 \
    }

const ms_transport ms_transport_ws = WS_TRANSPORT("ws");
/* wss://: the same endpoints; ws_secure tells them apart by the URL's scheme. */
const ms_transport ms_transport_wss = WS_TRANSPORT("wss");
