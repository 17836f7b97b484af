/* ws_service.c: the one libwebsockets context of the process, its service thread, the
 * command queue other threads use to reach it (lws calls are safe on that thread only), and
 * the TLS vhosts of wss:// with their certificate checks. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "transport/tls_config.h"
#include "transport/ws.h"
#include "transport/ws_frame.h"

/* Every SP subprotocol name: lws binds an upgrade to a protocol by name and drops one that
 * offers none of them, so each gets an entry; all share one callback. Our dials use the last
 * entry, whatever name they offer. */
static const char *const ws_names[] = {
    "pair.sp.nanomsg.org", "pair1.sp.nanomsg.org", "req.sp.nanomsg.org",
    "rep.sp.nanomsg.org", "pub.sp.nanomsg.org", "sub.sp.nanomsg.org",
    "push.sp.nanomsg.org", "pull.sp.nanomsg.org", "bus.sp.nanomsg.org",
    "surveyor.sp.nanomsg.org", "respondent.sp.nanomsg.org", "group-hub.sp.nanomsg.org",
    "group.sp.nanomsg.org", "msock-client",
};
#define WS_NPROTOS (sizeof ws_names / sizeof ws_names[0])

/* A file's identity, so that a certificate replaced on disk gets a new vhost. */
typedef struct ws_file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec ctime;
} ws_file_id;

struct ms_ws_tls {
    bool server;
    ms_opts opts;        /* the TLS fields are what matters; ms_tls_ctx_configure takes these */
    ws_file_id files[3]; /* cert, key, CA */
    char vh_name[24];
    SSL_CTX *client_ctx; /* dialer: ours, lent to its lws vhost */
    struct lws_vhost *vh; /* service thread: made on first use (lws_vhost_destroy does nothing
                           * in lws 4.1.6, so vhosts live as long as the context) */
    atomic_bool vh_failed; /* then endpoints made later get a new try */
    ms_ws_tls *next;
};

typedef struct ws_service {
    struct lws_context *lc;
    struct lws_vhost *cli_vh, *srv_vh;
    struct lws_protocols protos[WS_NPROTOS + 1];
    pthread_t thread;
    atomic_bool stop;
    bool running;
    pthread_mutex_t qmtx; /* the command queue, and the TLS list */
    ms_ws_conn *qhead, **qtail;
    ms_ws_tls *tls_list;
    unsigned tls_vhosts;
    /* Frames on their way into lws_write: a fragment and its header, or whole small ones. */
    uint8_t txbuf[LWS_PRE + MS_WS_FRAG + MS_WS_FRAME_HEAD_MAX];
} ws_service;

static pthread_mutex_t ws_start_mtx = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(ws_service *) ws_svc;

void ms_ws_post(ms_ws_conn *c, unsigned want)
{
    ws_service *s = atomic_load_explicit(&ws_svc, memory_order_acquire);
    if (!s)
        return; /* msock_fini stopped the service: a late task of a dead connection */
    pthread_mutex_lock(&s->qmtx);
    c->want |= want;
    bool wake = !c->queued;
    if (wake) {
        c->queued = true;
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
        c->qnext = NULL;
        *s->qtail = c;
        s->qtail = &c->qnext;
    }
    pthread_mutex_unlock(&s->qmtx);
    /* One eventfd write per conn that was idle: a burst of sends costs one wake-up. */
    if (wake)
        lws_cancel_service(s->lc);
}

/* EVENT_WAIT_CANCELLED reaches every protocol of every vhost: taking the whole queue at once
 * makes the later calls find it empty. */
static void ws_drain(ws_service *s)
{
    pthread_mutex_lock(&s->qmtx);
    ms_ws_conn *c = s->qhead;
    s->qhead = NULL;
    s->qtail = &s->qhead;
    pthread_mutex_unlock(&s->qmtx);
    while (c) {
        ms_ws_conn *next = c->qnext;
        pthread_mutex_lock(&s->qmtx);
        unsigned want = c->want;
        c->want = 0;
        c->queued = false;
        pthread_mutex_unlock(&s->qmtx);
        ms_ws_conn_run(c, want);
        ms_ws_conn_release(c);
        c = next;
    }
}

/* lws's server always answers "Upgrade: WebSocket" and nng's dialer compares the value
 * case-sensitively with "websocket" (LWS.md §3.3). The 101 reply is already in lws's buffer
 * just before a->p when it asks for extra headers: rewrite the value in place, same length.
 * Tied to lws 4.1.x internals; tests/transport/test_ws.c dials us with nngcat to catch it. */
static void ws_fix_upgrade(struct lws *wsi, struct lws_process_html_args *a)
{
    static const char line[] = "\r\nUpgrade: WebSocket\r\n";
    const size_t n = sizeof line - 1;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE) <= 0 || a->p == NULL)
        return;
    /* Backwards from a->p, never past the status line the reply starts with (so never before
     * lws's buffer); the Upgrade line follows it at once. */
    for (size_t back = n; back < 512; back++) {
        char *q = a->p - back;
        if (memcmp(q, line, n) == 0) {
            memcpy(q + 11, "websocket", 9);
            return;
        }
        if (memcmp(q, "HTTP/1.", 7) == 0)
            return;
    }
}

/* ---- wss: TLS configurations, their vhosts and the dialer's certificate check ---- */

static void ws_file_identify(const char *path, ws_file_id *id)
{
    struct stat st;
    memset(id, 0, sizeof *id);
    if (path[0] && stat(path, &st) == 0) {
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        id->size = st.st_size;
        id->ctime = st.st_ctim; /* content or permissions changed */
    }
}

/* Where a dialer's SSL keeps whether the server refused our certificate (or our lack of one)
 * with an alert: lws's error text does not tell ("connect SSL err 1" or "read failed"), and
 * with TLS 1.3 the alert comes after our side of the handshake is done. */
static int ws_alert_index = -1;
static pthread_once_t ws_alert_once = PTHREAD_ONCE_INIT;

static void ws_alert_index_new(void)
{
    ws_alert_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static void ws_tls_info(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_READ_ALERT) || ws_alert_index < 0)
        return;
    switch (ret & 0xff) { /* the alert's description */
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED:
        SSL_set_ex_data((SSL *)ssl, ws_alert_index, (void *)1);
        break;
    default:
        break;
    }
}

static bool ws_tls_same(const ms_ws_tls *t, const ms_opts *o, bool server,
                        const ws_file_id files[3])
{
    return t->server == server && !atomic_load(&t->vh_failed) &&
           strcmp(t->opts.tls_cert, o->tls_cert) == 0 &&
           strcmp(t->opts.tls_key, o->tls_key) == 0 && strcmp(t->opts.tls_ca, o->tls_ca) == 0 &&
           ms_tls_verify_mode(&t->opts, server) == ms_tls_verify_mode(o, server) &&
           t->opts.tls_min_version == o->tls_min_version &&
           t->opts.tls_max_version == o->tls_max_version &&
           memcmp(t->files, files, sizeof t->files) == 0;
}

int ms_ws_tls_get(const ms_opts *o, bool server, ms_ws_tls **out)
{
    ws_service *s = atomic_load_explicit(&ws_svc, memory_order_acquire);
    if (!s)
        return MSOCK_ECLOSED;
    ws_file_id files[3];
    ws_file_identify(o->tls_cert, &files[0]);
    ws_file_identify(o->tls_key, &files[1]);
    ws_file_identify(o->tls_ca, &files[2]);
    pthread_mutex_lock(&s->qmtx);
    ms_ws_tls *t = s->tls_list;
    while (t && !ws_tls_same(t, o, server, files))
        t = t->next;
    pthread_mutex_unlock(&s->qmtx);
    if (t) {
        *out = t;
        return 0;
    }
    /* A new configuration: its files are read here, so that a bad one is this call's error
     * and not a vhost that later fails on the service thread. */
    SSL_CTX *ctx = NULL;
    int rv = ms_tls_ctx_new(o, server, &ctx);
    if (rv != 0)
        return rv;
    t = calloc(1, sizeof *t);
    if (!t) {
        SSL_CTX_free(ctx);
        return MSOCK_ENOMEM;
    }
    t->server = server;
    t->opts = *o;
    memcpy(t->files, files, sizeof t->files);
    if (server) {
        SSL_CTX_free(ctx); /* lws makes the listener's from the files (ws_tls_vhost) */
    } else {
        pthread_once(&ws_alert_once, ws_alert_index_new);
        SSL_CTX_set_info_callback(ctx, ws_tls_info);
        t->client_ctx = ctx;
    }
    pthread_mutex_lock(&s->qmtx);
    t->next = s->tls_list;
    s->tls_list = t;
    pthread_mutex_unlock(&s->qmtx);
    *out = t;
    return 0;
}

/* The vhost of t, made on first use (service thread). A listener's: lws loads the certificate
 * and key (it serves TLS only on a vhost that has them), then ws_callback applies the rest of
 * our settings to lws's SSL_CTX. A dialer's: lws uses our SSL_CTX as it is. */
static struct lws_vhost *ws_tls_vhost(ws_service *s, ms_ws_tls *t)
{
    if (t->vh || atomic_load(&t->vh_failed))
        return t->vh;
    struct lws_context_creation_info v;
    memset(&v, 0, sizeof v);
    snprintf(t->vh_name, sizeof t->vh_name, "%s%u", t->server ? "wss" : "wsc", ++s->tls_vhosts);
    v.vhost_name = t->vh_name; /* lws keeps the pointer */
    v.protocols = s->protos;
    v.gid = v.uid = -1;
    v.user = t;
    v.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    /* HTTP/1.1 only: a browser offered h2 would run its WebSocket over h2 streams. */
    v.alpn = "http/1.1";
    if (t->server) {
        v.port = CONTEXT_PORT_NO_LISTEN_SERVER;
        v.ssl_info_event_mask = SSL_CB_HANDSHAKE_DONE; /* for MSOCK_STAT_ERR_TLS */
        v.ssl_cert_filepath = t->opts.tls_cert;
        v.ssl_private_key_filepath = t->opts.tls_key[0] ? t->opts.tls_key : t->opts.tls_cert;
    } else {
        v.port = CONTEXT_PORT_NO_LISTEN;
        v.provided_client_ssl_ctx = t->client_ctx;
    }
    t->vh = lws_create_vhost(s->lc, &v);
    atomic_store(&t->vh_failed, t->vh == NULL);
    if (!t->vh)
        ms_log_write("wss: cannot make the TLS vhost for %s",
                     t->server ? t->opts.tls_cert : "a dialer");
    return t->vh;
}

/* lws made a listener vhost's SSL_CTX: our CAs, client certificate checks and versions. */
static int ws_tls_server_ctx(struct lws *wsi, SSL_CTX *ctx)
{
    struct lws_vhost *vh = wsi ? lws_get_vhost(wsi) : NULL;
    ms_ws_tls *t = vh ? lws_vhost_user(vh) : NULL;
    if (!t || !t->server)
        return 0;
    int rv = ms_tls_ctx_configure(ctx, &t->opts, true);
    if (rv != 0)
        ms_log_write("wss: TLS settings of %s: %s", t->opts.tls_cert, msock_strerror(rv));
    /* lws's server name callback moves a connection to the vhost whose name starts with the
     * name the client sends ("w" finds "wss4"): another listener's certificate and CAs, so a
     * client certificate that listener trusts would pass here. Each port has one identity. */
    SSL_CTX_set_tlsext_servername_callback(ctx, NULL);
    return rv != 0;
}

static bool ws_tls_name_ok(X509 *cert, const char *name)
{
    unsigned char addr[16];
    if (!cert)
        return false;
    if (name[0] == '\0')
        return true;
    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
        return X509_check_ip_asc(cert, name, 0) == 1;
    return X509_check_host(cert, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* lws asks a dialer about each certificate of the server's chain (lws convention: 0 accepts).
 * lws's own name check is off (it would take the Host header, and no IP address): ours takes
 * MSOCK_OPT_TLS_SERVER_NAME or the URL's host, as tls+tcp does. */
static int ws_tls_check_server(struct lws *wsi, X509_STORE_CTX *x, int ok)
{
    ms_ws_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    if (!c || !c->tls)
        return !ok;
    if (c->tls_verify != MSOCK_TLS_VERIFY_REQUIRED) {
        X509_STORE_CTX_set_error(x, X509_V_OK);
        return 0;
    }
    if (ok && X509_STORE_CTX_get_error_depth(x) == 0 &&
        !ws_tls_name_ok(X509_STORE_CTX_get_current_cert(x), c->tls_name)) {
        X509_STORE_CTX_set_error(x, X509_V_ERR_HOSTNAME_MISMATCH);
        ok = 0;
    }
    if (!ok) {
        ms_debug("wss: %s: server certificate refused: %s", c->url,
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(x)));
        c->tls_refused = true;
        return 1;
    }
    return 0;
}

void ms_ws_tls_gone(ms_ws_conn *c)
{
    /* A silent client that timed out is no TLS failure; one that closed at once is. */
    if (c->tls && !c->dialer && !c->tls_done && !c->timed_out)
        ms_ws_port_count_error(c->port_id, MSOCK_STAT_ERR_TLS);
}

int ms_ws_dial_error(ms_ws_conn *c, struct lws *wsi, const char *why)
{
    if (!c->tls)
        return MSOCK_ECONNREFUSED;
    SSL *ssl = wsi ? lws_get_ssl(wsi) : NULL;
    ERR_clear_error();
    if (c->tls_refused || (ssl && ws_alert_index >= 0 && SSL_get_ex_data(ssl, ws_alert_index)))
        return MSOCK_EPEERAUTH;
    /* lws's words for a failed handshake; the others are the TCP connection's. */
    if (why && (strstr(why, "SSL") || strstr(why, "ssl") || strstr(why, "tls")))
        return MSOCK_ECRYPTO;
    return MSOCK_ECONNREFUSED;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        ws_drain(lws_context_user(lws_get_context(wsi)));
        return 0;
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        return ws_tls_server_ctx(wsi, user);
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        return ws_tls_check_server(wsi, user, (int)len);
    case LWS_CALLBACK_SSL_INFO: { /* listeners' connections: ssl_info_event_mask */
        ms_ws_conn *c = lws_get_opaque_user_data(wsi);
        if (c && (((const struct lws_ssl_info *)in)->where & SSL_CB_HANDSHAKE_DONE))
            c->tls_done = true;
        return 0;
    }
    case LWS_CALLBACK_ADD_HEADERS:
        ws_fix_upgrade(wsi, in);
        return 0;
    default:
        break;
    }
    int rv = ms_ws_conn_callback(wsi, (int)reason, in, len);
    if (rv != 1)
        return rv; /* handled: 0 to go on, -1 to close */
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static void *ws_thread(void *arg)
{
    ws_service *s = arg;
    while (!atomic_load(&s->stop))
        if (lws_service(s->lc, 0) < 0)
            break;
    return NULL;
}

static struct lws_vhost *ws_vhost(ws_service *s, const char *name, int port)
{
    struct lws_context_creation_info v;
    memset(&v, 0, sizeof v);
    v.port = port;
    v.protocols = s->protos;
    v.vhost_name = name;
    v.gid = v.uid = -1;
    /* TODO(ws listener options): allowed Origins are checked in FILTER (ws_conn.c); max
     * connections and ping keepalive (v.retry_and_idle_policy) will be set here. */
    return lws_create_vhost(s->lc, &v);
}

/* lws's error lines go to our debug log (MSOCK_DEBUG=1). */
static void ws_log(int level, const char *line)
{
    MS_UNUSED(level);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    ms_debug("lws: %.*s", (int)n, line);
}

static int ws_create(ws_service *s)
{
    for (size_t i = 0; i < WS_NPROTOS; i++)
        s->protos[i] = (struct lws_protocols){
            .name = ws_names[i], .callback = ws_callback, .rx_buffer_size = MS_WS_FRAG,
            .tx_packet_size = MS_WS_FRAG};
    pthread_mutex_init(&s->qmtx, NULL);
    s->qtail = &s->qhead;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    /* TLS is set up once for the context; only the wss vhosts use it (ws_tls_vhost). */
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.gid = info.uid = -1;
    info.user = s;
    /* Process-wide, so once: lws prints banners and every refused upgrade otherwise, and an
     * error line for each certificate refused, which callers get as an error code anyway. Note
     * that creating the context also sets SIGPIPE to SIG_IGN for the whole process. */
    lws_set_log_level(LLL_ERR, ws_log);
    s->lc = lws_create_context(&info);
    if (!s->lc)
        return MSOCK_ENOMEM;
    /* The client vhost also hears EVENT_WAIT_CANCELLED; the server one gets adopted fds. */
    s->cli_vh = ws_vhost(s, "cli", CONTEXT_PORT_NO_LISTEN);
    s->srv_vh = ws_vhost(s, "srv", CONTEXT_PORT_NO_LISTEN_SERVER);
    if (!s->cli_vh || !s->srv_vh) {
        lws_context_destroy(s->lc);
        return MSOCK_ENOMEM;
    }
    if (pthread_create(&s->thread, NULL, ws_thread, s) != 0) {
        lws_context_destroy(s->lc);
        return MSOCK_ENOMEM;
    }
    s->running = true;
    return 0;
}

int ms_ws_service_start(void)
{
    int rv = 0;
    pthread_mutex_lock(&ws_start_mtx);
    if (!ws_svc) {
        ws_service *s = calloc(1, sizeof *s);
        rv = s ? ws_create(s) : MSOCK_ENOMEM;
        if (rv == 0)
            ws_svc = s;
        else
            free(s);
    }
    pthread_mutex_unlock(&ws_start_mtx);
    return rv;
}

void ms_ws_service_stop(void)
{
    pthread_mutex_lock(&ws_start_mtx);
    ws_service *s = ws_svc;
    if (s) {
        atomic_store(&ws_svc, NULL); /* late posts are dropped from here on */
        atomic_store(&s->stop, true);
        lws_cancel_service(s->lc);
        pthread_join(s->thread, NULL);
        /* Still queued commands die with their connections. */
        ms_ws_conn *c = s->qhead;
        s->qhead = NULL;
        while (c) {
            ms_ws_conn *next = c->qnext;
            c->queued = false;
            ms_ws_conn_release(c);
            c = next;
        }
        lws_context_destroy(s->lc); /* closes what is left: their callbacks run here */
        while (s->tls_list) {
            ms_ws_tls *t = s->tls_list;
            s->tls_list = t->next;
            SSL_CTX_free(t->client_ctx); /* lws never frees a context it was lent */
            free(t);
        }
        pthread_mutex_destroy(&s->qmtx);
        free(s);
    }
    pthread_mutex_unlock(&ws_start_mtx);
}

int ms_ws_client_connect(ms_ws_conn *c, const char *address, uint16_t port, const char *host,
                         const char *path)
{
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    ws_service *s = ws_svc;
    i.context = s->lc;
    i.vhost = s->cli_vh;
    if (c->tls) {
        i.vhost = ws_tls_vhost(s, c->tls);
        if (!i.vhost)
            return MSOCK_ECRYPTO;
        /* Every check is ws_tls_check_server's; lws's flags only keep it from second-guessing
         * a certificate that a dialer without REQUIRED takes. */
        i.ssl_connection = LCCSCF_USE_SSL | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
        if (c->tls_verify != MSOCK_TLS_VERIFY_REQUIRED)
            i.ssl_connection |=
                LCCSCF_ALLOW_SELFSIGNED | LCCSCF_ALLOW_INSECURE | LCCSCF_ALLOW_EXPIRED;
    }
    i.address = address; /* numeric: this build resolves names on the service thread */
    i.port = port;
    i.path = path;
    i.host = host; /* no Origin: not a browser, so a listener's Origin list never refuses us */
    i.protocol = c->proto_name;
    i.local_protocol_name = "msock-client";
    i.opaque_user_data = c;
    i.pwsi = &c->wsi;
    return lws_client_connect_via_info(&i) ? 0 : MSOCK_ECONNREFUSED;
}

struct lws *ms_ws_adopt(int fd, ms_ws_tls *tls, ms_ws_conn *c)
{
    ws_service *s = ws_svc;
    lws_adopt_desc_t a;
    memset(&a, 0, sizeof a);
    a.vh = tls ? ws_tls_vhost(s, tls) : s->srv_vh;
    if (!a.vh) {
        close(fd);
        return NULL;
    }
    /* ALLOW_SSL: TLS when the vhost has a certificate. Closes fd itself on failure. */
    a.type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | LWS_ADOPT_ALLOW_SSL;
    a.fd.sockfd = fd;
    a.opaque = c;
    return lws_adopt_descriptor_vhost_via_info(&a);
}

uint8_t *ms_ws_txbuf(void)
{
    return ws_svc->txbuf + LWS_PRE;
}
