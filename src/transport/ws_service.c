/* ws_service.c: the one libwebsockets context of the process, its service thread and the
 * command queue other threads use to reach it (lws calls are safe on that thread only). The
 * TLS vhosts of wss:// are ws_tls.c's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "core/log.h"
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

typedef struct ws_service {
    struct lws_context *lc;
    struct lws_vhost *cli_vh, *srv_vh;
    struct lws_protocols protos[WS_NPROTOS + 1];
    pthread_t thread;
    atomic_bool stop;
    bool running;
    pthread_mutex_t qmtx; /* the command queue */
    ms_ws_conn *qhead, **qtail;
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

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        ws_drain(lws_context_user(lws_get_context(wsi)));
        return 0;
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        return ms_ws_tls_server_ctx(wsi, user);
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        return ms_ws_tls_check_server(wsi, user, (int)len);
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
    /* TLS is set up once for the context; only the wss vhosts use it (ms_ws_tls_vhost). */
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
        ms_ws_tls_free_all();
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
        i.vhost = ms_ws_tls_vhost(c->tls, s->lc, s->protos);
        if (!i.vhost)
            return MSOCK_ECRYPTO;
        /* Every check is ms_ws_tls_check_server's; lws's flags only keep it from second-guessing
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
    a.vh = tls ? ms_ws_tls_vhost(tls, s->lc, s->protos) : s->srv_vh;
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
