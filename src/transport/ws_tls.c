/* ws_tls.c: the TLS side of wss://: one configuration (and lws vhost) per distinct set of TLS
 * options and files, our settings on the SSL_CTX lws makes for a listener, the dialer's check
 * of the server's certificate, and TLS failures as libmsock errors. Service thread, except
 * ms_ws_tls_get. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "transport/tls_config.h"
#include "transport/ws.h"

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

/* Every configuration made, until ms_ws_tls_free_all: vhosts cannot be destroyed. */
static pthread_mutex_t ws_tls_mtx = PTHREAD_MUTEX_INITIALIZER;
static ms_ws_tls *ws_tls_list;
static unsigned ws_tls_vhosts; /* service thread: names the vhosts */

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
    ws_file_id files[3];
    ws_file_identify(o->tls_cert, &files[0]);
    ws_file_identify(o->tls_key, &files[1]);
    ws_file_identify(o->tls_ca, &files[2]);
    pthread_mutex_lock(&ws_tls_mtx);
    ms_ws_tls *t = ws_tls_list;
    while (t && !ws_tls_same(t, o, server, files))
        t = t->next;
    pthread_mutex_unlock(&ws_tls_mtx);
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
    pthread_mutex_lock(&ws_tls_mtx);
    t->next = ws_tls_list;
    ws_tls_list = t;
    pthread_mutex_unlock(&ws_tls_mtx);
    *out = t;
    return 0;
}

/* The vhost of t, made on first use (service thread). A listener's: lws loads the certificate
 * and key (it serves TLS only on a vhost that has them), then ws_callback applies the rest of
 * our settings to lws's SSL_CTX. A dialer's: lws uses our SSL_CTX as it is. */
struct lws_vhost *ms_ws_tls_vhost(ms_ws_tls *t, struct lws_context *lc,
                                  const struct lws_protocols *protos)
{
    if (t->vh || atomic_load(&t->vh_failed))
        return t->vh;
    struct lws_context_creation_info v;
    memset(&v, 0, sizeof v);
    snprintf(t->vh_name, sizeof t->vh_name, "%s%u", t->server ? "wss" : "wsc", ++ws_tls_vhosts);
    v.vhost_name = t->vh_name; /* lws keeps the pointer */
    v.protocols = protos;
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
    t->vh = lws_create_vhost(lc, &v);
    atomic_store(&t->vh_failed, t->vh == NULL);
    if (!t->vh)
        ms_log_write("wss: cannot make the TLS vhost for %s",
                     t->server ? t->opts.tls_cert : "a dialer");
    return t->vh;
}

/* lws made a listener vhost's SSL_CTX: our CAs, client certificate checks and versions. */
int ms_ws_tls_server_ctx(struct lws *wsi, SSL_CTX *ctx)
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
int ms_ws_tls_check_server(struct lws *wsi, X509_STORE_CTX *x, int ok)
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

void ms_ws_tls_free_all(void)
{
    pthread_mutex_lock(&ws_tls_mtx);
    while (ws_tls_list) {
        ms_ws_tls *t = ws_tls_list;
        ws_tls_list = t->next;
        SSL_CTX_free(t->client_ctx); /* lws never frees a context it was lent */
        free(t);
    }
    ws_tls_vhosts = 0;
    pthread_mutex_unlock(&ws_tls_mtx);
}
