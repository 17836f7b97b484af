/* stream.h: SP over a byte stream fd (tcp and ipc): the connection (handshake, framing,
 * reads and batched writes) and the generic dialer and listener that tcp.c and ipc.c
 * configure with their address family. */
#ifndef MS_STREAM_H
#define MS_STREAM_H

#include <openssl/ssl.h>

#include "core/sockaddr.h"
#include "socket/endpoint.h"

typedef struct ms_stream_conn ms_stream_conn;

/* What differs between tcp and ipc. */
typedef struct ms_stream_kind {
    int framing; /* enum ms_sp_framing */
    /* Fills sa for the endpoint's URL (listen: a wildcard is allowed). */
    int (*resolve)(ms_endpoint *ep, ms_sockaddr *sa, bool for_listen);
    /* Socket options on a new connected fd (TCP_NODELAY...). */
    void (*prepare)(ms_endpoint *ep, int fd);
    bool tls; /* a TLS handshake comes first, and TLS carries the bytes (tls+tcp) */
} ms_stream_kind;

extern const ms_stream_kind ms_stream_kind_tls; /* tcp.c: tcp's addresses, with TLS */

/* Called on the conn's reactor thread when its handshake ends: rv 0 = pipe attached. */
typedef void (*ms_stream_done_cb)(void *arg, ms_stream_conn *c, int rv);

/* Takes a connected non-blocking fd, registers it on reactor r and starts the handshake (TLS
 * first when tls is set, then SP). Must run on r's thread. `done` (may be NULL) hears how the
 * handshake ended; until then *track (if not NULL) points at the connection, so its owner can
 * abort it. */
void ms_stream_conn_start(ms_endpoint *ep, ms_reactor *r, int fd, int framing, SSL_CTX *tls,
                          const char *url, ms_stream_done_cb done, void *done_arg,
                          ms_stream_conn **track);
/* The same from another thread: the start runs as a task on r. */
void ms_stream_conn_start_remote(ms_endpoint *ep, ms_reactor *r, int fd, int framing, SSL_CTX *tls,
                                 const char *url);
/* Aborts a connection still in its handshake (r's thread): `done` is not called. */
void ms_stream_conn_abort(ms_stream_conn *c);

int ms_stream_dialer_init(ms_endpoint *ep, void **tp, const ms_stream_kind *kind);
void ms_stream_dialer_connect(void *tp);
void ms_stream_dialer_close(void *tp);
void ms_stream_dialer_fini(void *tp);
int ms_stream_listener_init(ms_endpoint *ep, void **tp, const ms_stream_kind *kind);
int ms_stream_listener_bind(void *tp);
void ms_stream_listener_start(void *tp);
void ms_stream_listener_close(void *tp);
void ms_stream_listener_fini(void *tp);

#endif
