/* ws.h: the ws:// and wss:// transport's shared pieces: the one libwebsockets service thread
 * and its command queue (ws_service.c), wss's TLS configurations and vhosts (ws_tls.c), the
 * connection (ws_conn.c) and the endpoints (ws_endpoint.c). */
#ifndef MS_WS_H
#define MS_WS_H

#include <pthread.h>

#include <openssl/ssl.h>

#include "core/msgq.h"
#include "core/reactor.h"
#include "socket/endpoint.h"
#include "transport/ws_rx.h"

struct lws;
struct lws_context;
struct lws_protocols;
struct lws_vhost;

/* Send fragments: nng's listener sends 64 KiB and refuses frames over 1 MiB (SP-WIRE §3.1). */
#define MS_WS_FRAG 65536
/* Graceful close: after this many seconds without the close handshake, lws kills it. */
#define MS_WS_CLOSE_SECS 2

/* Work a user or reactor thread asks of the service thread (bits of ws_conn.want). */
enum ms_ws_want {
    MS_WS_WANT_CONNECT = 1, /* dialer: start the client connection */
    MS_WS_WANT_ADOPT = 2,   /* listener: hand the accepted fd to lws */
    MS_WS_WANT_WRITE = 4,   /* messages queued: ask for a WRITEABLE callback */
    MS_WS_WANT_RESUME = 8,  /* socket has room / pipe attached: receive again */
    MS_WS_WANT_CLOSE = 16,  /* pipe closed or dial cancelled */
};

typedef struct ms_ws_conn ms_ws_conn;
typedef struct ms_ws_dialer ms_ws_dialer;
/* One TLS configuration of the service (a wss listener's or dialer's options) and its lws vhost;
 * shared by every endpoint with the same settings, kept until ms_ws_service_stop. */
typedef struct ms_ws_tls ms_ws_tls;

struct ms_ws_conn {
    atomic_int refs;     /* the wsi (until WSI_DESTROY), the pipe, each queued command */
    ms_endpoint *ep;     /* held; NULL for an accepted conn until the path matched */
    ms_ws_dialer *dialer; /* dialing conn: its dialer (alive while ep is held) */
    uint64_t port_id;    /* accepted conn: the listening port it came in on */
    int fd;              /* accepted fd until adopted */
    char url[MS_URL_MAX + 8];
    char proto_name[48]; /* "<name>.sp.nanomsg.org" we accept (listener) or offer (dialer) */
    char addr[64];       /* dialer: numeric address to connect to */
    uint16_t rport;      /* dialer: its port */
    char host[MS_URL_MAX + MS_TLS_NAME_MAX + 8]; /* dialer: the Host header, "host:port" */
    int64_t handshake_ms; /* the upgrade must be done within this */
    int64_t ping_ivl_us, ping_to_us; /* keepalive (0: no pings), from the endpoint */
    ms_ws_tls *tls;      /* wss: the listening port's or the dialer's TLS; NULL for ws */
    int tls_verify;      /* dialer: its effective MSOCK_OPT_TLS_VERIFY */
    char tls_name[MS_URL_MAX + MS_TLS_NAME_MAX]; /* dialer: the name its server must prove */

    /* Service thread only: */
    struct lws *wsi;
    bool rx_paused, established, close_now;
    int reject_code;     /* a close code to send: the peer broke the rules, read no more */
    uint64_t mask_rng;   /* dialer: the masking keys of the frames we build (ws_frame.c) */
    bool wsi_ref;        /* the wsi's reference is held */
    bool dial_reported;  /* the dial result went to the dialer */
    bool counted;        /* accepted conn: counted in its listener's connections */
    bool ping_due, ping_out; /* a ping is to be written / was written and is unanswered */
    bool tls_refused;    /* dialer: we refused the server's certificate */
    bool tls_done;       /* accepted wss conn: its TLS handshake completed */
    bool timed_out;      /* the handshake timer fired before the upgrade */
    int64_t last_rx_us, ping_sent_us; /* lws_now_usecs() of the last frame in, of the ping */
    ms_ws_rx rx;         /* messages being reassembled (ws_rx.c) */
    bool rx_ready;       /* rx has its max (set on the first frame in) */
    msock_msg *rx_early, *rx_early_tail; /* dialer: received before its pipe was attached */
    size_t tx_frag_off;  /* bytes of the head message already written */
    ms_task dial_task;   /* dialer: the result goes to the endpoint's reactor */
    int dial_rv;

    /* Under mtx: */
    pthread_mutex_t mtx;
    ms_msgq txq;
    ms_pipe *pipe;       /* attached pipe (the transport's reference) */
    bool dead;           /* the wsi is gone */
    bool closing, want_ready;
    int close_reason;

    /* Under the service's queue lock: */
    unsigned want;
    ms_ws_conn *qnext;
    bool queued;
};

/* ws_service.c. Starts the service thread on first use; 0 or an error. Any thread. */
int ms_ws_service_start(void);
/* Stops the thread and destroys the lws context (msock_fini). */
void ms_ws_service_stop(void);
/* Asks the service thread for `want` on c (holds c while queued). Any thread. */
void ms_ws_post(ms_ws_conn *c, unsigned want);
/* Service-thread helpers for ws_conn.c: the client connect, the adopt, the tx scratch. */
int ms_ws_client_connect(ms_ws_conn *c, const char *address, uint16_t port, const char *host,
                         const char *path);
struct lws *ms_ws_adopt(int fd, ms_ws_tls *tls, ms_ws_conn *c);
uint8_t *ms_ws_txbuf(void);
/* ws_tls.c. The TLS configuration of o for a wss listener (server) or dialer: its files are
 * read now, so a bad one fails here (the errors of ms_tls_ctx_new). Any thread. */
int ms_ws_tls_get(const ms_opts *o, bool server, ms_ws_tls **out);
/* Service thread: t's vhost, made on first use (NULL if lws refused it); lws's
 * callbacks for a listener's SSL_CTX (our CAs, checks, versions) and for each certificate of
 * a server's chain (0 accepts, as lws wants); every configuration freed (msock_fini). */
struct lws_vhost *ms_ws_tls_vhost(ms_ws_tls *t, struct lws_context *lc,
                                  const struct lws_protocols *protos);
int ms_ws_tls_server_ctx(struct lws *wsi, SSL_CTX *ctx);
int ms_ws_tls_check_server(struct lws *wsi, X509_STORE_CTX *x, int ok);
void ms_ws_tls_free_all(void);
/* The dial error for lws's CLIENT_CONNECTION_ERROR on c's wsi, with lws's text why (may be
 * NULL), on the service thread: MSOCK_EPEERAUTH for a certificate refused by either side,
 * MSOCK_ECRYPTO for another TLS failure, else MSOCK_ECONNREFUSED. */
int ms_ws_dial_error(ms_ws_conn *c, struct lws *wsi, const char *why);
/* An accepted wss conn is gone (service thread): a failed TLS handshake counts in the
 * MSOCK_STAT_ERR_TLS of its port's listeners. */
void ms_ws_tls_gone(ms_ws_conn *c);

/* ws_conn.c */
ms_ws_conn *ms_ws_conn_new(ms_endpoint *ep, int fd);
void ms_ws_conn_release(ms_ws_conn *c);
/* Runs the commands in want (service thread). */
void ms_ws_conn_run(ms_ws_conn *c, unsigned want);
/* The lws callback for every conn (service thread). */
int ms_ws_conn_callback(struct lws *wsi, int reason, void *in, size_t len);
/* Attaches the pipe of an established conn (dialer: on the endpoint's reactor; listener: on
 * the service thread); 0 or the error that refused it (the conn is then closed). */
int ms_ws_conn_attach(ms_ws_conn *c);

/* ws_endpoint.c: the listener for an accepted request: holds and returns its endpoint for
 * (port_id, path) when proto (the client's whole Sec-WebSocket-Protocol) is the listener's
 * subprotocol, origin (NULL: no Origin header) is allowed and the listener has room; the
 * connection is then counted until ms_ws_listener_leave. On NULL, *status is the HTTP refusal:
 * 404 no such path, 400 wrong protocol, 403 Origin not allowed, 503 too many connections. */
ms_endpoint *ms_ws_listener_match(uint64_t port_id, const char *path, const char *proto,
                                  const char *origin, int *status);
void ms_ws_listener_leave(ms_endpoint *ep);
/* Counts stat (MSOCK_STAT_...) on the socket of the first listener of a port. */
void ms_ws_port_count_error(uint64_t port_id, int stat);
/* The directory a port serves plain HTTP GETs from (the first of its listeners that has one);
 * false when none. */
bool ms_ws_port_http_dir(uint64_t port_id, char *dir, size_t len);
/* A dial attempt ended (service thread): posts the result to the dialer's reactor. */
void ms_ws_dial_result(ms_ws_conn *c, int rv);
/* "<name>.sp.nanomsg.org" into buf. */
void ms_ws_proto_name(char *buf, size_t len, const char *name);

#endif
