/* options.c: the option table, range checks and defaults shared by sockets and endpoints. */
#include "core/options.h"

#define S MS_ON_SOCKET
#define D MS_ON_DIALER
#define L MS_ON_LISTENER
#define P MS_ON_PIPE

static const struct opt_desc {
    int type;
    int where;
    bool readonly;
    bool stored; /* kept in struct ms_opts */
} opt_table[] = {
    [MSOCK_OPT_SEND_TIMEOUT] = {MS_OPT_MS, S, false, true},
    [MSOCK_OPT_RECV_TIMEOUT] = {MS_OPT_MS, S, false, true},
    [MSOCK_OPT_RECV_MAXSZ] = {MS_OPT_SIZE, S | D | L, false, true},
    [MSOCK_OPT_RECONNECT_MIN] = {MS_OPT_MS, S | D, false, true},
    [MSOCK_OPT_RECONNECT_MAX] = {MS_OPT_MS, S | D, false, true},
    [MSOCK_OPT_SEND_QUEUE_MSGS] = {MS_OPT_INT, S, false, true},
    [MSOCK_OPT_SEND_QUEUE_BYTES] = {MS_OPT_SIZE, S, false, true},
    [MSOCK_OPT_RECV_QUEUE_MSGS] = {MS_OPT_INT, S, false, true},
    [MSOCK_OPT_RECV_QUEUE_BYTES] = {MS_OPT_SIZE, S, false, true},
    [MSOCK_OPT_LINGER] = {MS_OPT_MS, S, false, true},
    [MSOCK_OPT_TCP_NODELAY] = {MS_OPT_BOOL, S | D | L, false, true},
    [MSOCK_OPT_TCP_KEEPALIVE] = {MS_OPT_BOOL, S | D | L, false, true},
    [MSOCK_OPT_IPC_PERMISSIONS] = {MS_OPT_INT, S | L, false, true},
    [MSOCK_OPT_HANDSHAKE_TIMEOUT] = {MS_OPT_MS, S | D | L, false, true},
    [MSOCK_OPT_MAX_PIPES] = {MS_OPT_INT, S, false, true},
    [MSOCK_OPT_URL] = {MS_OPT_STRING, D | L | P, true, false},
    [MSOCK_OPT_PROTOCOL] = {MS_OPT_INT, S | P, true, false},
    [MSOCK_OPT_PEER] = {MS_OPT_INT, S | P, true, false},
    [MSOCK_OPT_PROTOCOL_NAME] = {MS_OPT_STRING, S, true, false},
    [MSOCK_OPT_PEER_NAME] = {MS_OPT_STRING, S, true, false},
    [MSOCK_OPT_RECV_FD] = {MS_OPT_INT, S, true, false},
    [MSOCK_OPT_SEND_FD] = {MS_OPT_INT, S, true, false},
    [MSOCK_OPT_SOCKET_NAME] = {MS_OPT_STRING, S, false, true},
    [MSOCK_OPT_RAW] = {MS_OPT_BOOL, S, true, false},
    /* The protocol options below: the socket checks that its protocol has them. */
    [MSOCK_OPT_MAXTTL] = {MS_OPT_INT, S, false, true},
    [MSOCK_OPT_REQ_RESEND_TIME] = {MS_OPT_MS, S, false, true},
    [MSOCK_OPT_SURVEY_TIME] = {MS_OPT_MS, S, false, true},
    [MSOCK_OPT_MAX_CONNS] = {MS_OPT_INT, S | L, false, true},
    [MSOCK_OPT_WS_ORIGINS] = {MS_OPT_STRING, S | L, false, true},
    [MSOCK_OPT_WS_PING_INTERVAL] = {MS_OPT_MS, S | D | L, false, true},
    [MSOCK_OPT_WS_PING_TIMEOUT] = {MS_OPT_MS, S | D | L, false, true},
    [MSOCK_OPT_WS_HTTP_DIR] = {MS_OPT_STRING, L, false, true},
    [MSOCK_OPT_GROUP_MAX_CLIENTS] = {MS_OPT_INT, S, false, true},
    [MSOCK_OPT_GROUP_MAX_GROUPS] = {MS_OPT_INT, S, false, true},
    [MSOCK_OPT_GROUP_MAX_MEMBERS] = {MS_OPT_INT, S, false, true},
    [MSOCK_OPT_GROUP_MAX_AUTH_FAILS] = {MS_OPT_INT, S, false, true},
    [MSOCK_OPT_GROUP_KDF_ITERATIONS] = {MS_OPT_INT, S, false, true},
    [MSOCK_OPT_GROUP_MAX_BODY] = {MS_OPT_SIZE, S, false, true},
    [MSOCK_OPT_GROUP_TIMEOUT] = {MS_OPT_MS, S, false, true},
    [MSOCK_OPT_TLS_CERT] = {MS_OPT_STRING, S | D | L, false, true},
    [MSOCK_OPT_TLS_KEY] = {MS_OPT_STRING, S | D | L, false, true},
    [MSOCK_OPT_TLS_CA] = {MS_OPT_STRING, S | D | L, false, true},
    [MSOCK_OPT_TLS_VERIFY] = {MS_OPT_INT, S | D | L, false, true},
    [MSOCK_OPT_TLS_SERVER_NAME] = {MS_OPT_STRING, S | D, false, true},
    [MSOCK_OPT_TLS_MIN_VERSION] = {MS_OPT_INT, S | D | L, false, true},
    [MSOCK_OPT_TLS_MAX_VERSION] = {MS_OPT_INT, S | D | L, false, true},
};

void ms_opts_defaults(ms_opts *o)
{
    *o = (ms_opts){
        .send_timeout = -1,
        .recv_timeout = -1,
        .reconnect_min = 100,
        .reconnect_max = 30000,
        .linger = 1000,
        .handshake_timeout = 10000,
        .recv_maxsz = 1024 * 1024,
        .send_queue_bytes = 4 * 1024 * 1024,
        .recv_queue_bytes = 4 * 1024 * 1024,
        .send_queue_msgs = 8192,
        .recv_queue_msgs = 8192,
        .ipc_permissions = 0,
        .max_pipes = 0,
        .tcp_nodelay = true,
        .tcp_keepalive = false,
        .maxttl = 8,
        .req_resend_time = 60000,
        .survey_time = 1000,
        .max_conns = 0,
        .ws_ping_interval = 30000,
        .ws_ping_timeout = 0,
        .group_max_clients = 1000,
        .group_max_groups = 1000,
        .group_max_members = 1000,
        .group_max_auth_fails = 5,
        .group_kdf_iterations = 100000,
        .group_max_body = 1024 * 1024,
        .group_timeout = 10000,
        .tls_verify = MSOCK_TLS_VERIFY_DEFAULT,
        .tls_min_version = MSOCK_TLS_1_2,
        .tls_max_version = MSOCK_TLS_1_3,
    };
}

int ms_opt_check(int opt, int where, int type, bool set)
{
    if (opt <= 0 || (size_t)opt >= MS_ARRAY_LEN(opt_table) || opt_table[opt].where == 0)
        return MSOCK_ENOTSUP;
    const struct opt_desc *d = &opt_table[opt];
    if (!(d->where & where))
        return MSOCK_ENOTSUP;
    if (d->type != type)
        return MSOCK_EBADTYPE;
    if (set && d->readonly)
        return MSOCK_EREADONLY;
    return d->stored ? 0 : 1;
}

static int copy_string_opt(char *dst, size_t size, const char *src)
{
    if (src == NULL)
        return MSOCK_EINVAL;
    if (strlen(src) >= size)
        return MSOCK_ENAMETOOLONG;
    strcpy(dst, src);
    return 0;
}

int ms_opts_set(ms_opts *o, int opt, const ms_optval *val)
{
    switch (opt) {
    case MSOCK_OPT_SEND_TIMEOUT:
    case MSOCK_OPT_RECV_TIMEOUT:
    case MSOCK_OPT_LINGER:
        if (val->v.ms < -1)
            return MSOCK_EINVAL;
        *(opt == MSOCK_OPT_SEND_TIMEOUT ? &o->send_timeout
          : opt == MSOCK_OPT_RECV_TIMEOUT ? &o->recv_timeout
                                          : &o->linger) = val->v.ms;
        return 0;
    case MSOCK_OPT_RECONNECT_MIN:
        /* At least 1 ms: a dead address must never make a tight loop. */
        if (val->v.ms < 1)
            return MSOCK_EINVAL;
        o->reconnect_min = val->v.ms;
        return 0;
    case MSOCK_OPT_RECONNECT_MAX:
        if (val->v.ms < 0)
            return MSOCK_EINVAL;
        o->reconnect_max = val->v.ms;
        return 0;
    case MSOCK_OPT_HANDSHAKE_TIMEOUT:
        if (val->v.ms < 1)
            return MSOCK_EINVAL;
        o->handshake_timeout = val->v.ms;
        return 0;
    case MSOCK_OPT_RECV_MAXSZ:
        o->recv_maxsz = val->v.size;
        return 0;
    case MSOCK_OPT_SEND_QUEUE_BYTES:
        o->send_queue_bytes = val->v.size;
        return 0;
    case MSOCK_OPT_RECV_QUEUE_BYTES:
        o->recv_queue_bytes = val->v.size;
        return 0;
    case MSOCK_OPT_SEND_QUEUE_MSGS:
    case MSOCK_OPT_RECV_QUEUE_MSGS:
        if (val->v.i < 1)
            return MSOCK_EINVAL;
        *(opt == MSOCK_OPT_SEND_QUEUE_MSGS ? &o->send_queue_msgs : &o->recv_queue_msgs) = val->v.i;
        return 0;
    case MSOCK_OPT_IPC_PERMISSIONS:
        if (val->v.i < 0 || val->v.i > 07777)
            return MSOCK_EINVAL;
        o->ipc_permissions = val->v.i;
        return 0;
    case MSOCK_OPT_MAX_PIPES:
        if (val->v.i < 0)
            return MSOCK_EINVAL;
        o->max_pipes = val->v.i;
        return 0;
    case MSOCK_OPT_TCP_NODELAY:
        o->tcp_nodelay = val->v.b;
        return 0;
    case MSOCK_OPT_TCP_KEEPALIVE:
        o->tcp_keepalive = val->v.b;
        return 0;
    case MSOCK_OPT_MAXTTL:
        if (val->v.i < 1 || val->v.i > 255)
            return MSOCK_EINVAL;
        o->maxttl = val->v.i;
        return 0;
    case MSOCK_OPT_REQ_RESEND_TIME:
        o->req_resend_time = val->v.ms; /* 0 or negative: no timed resends */
        return 0;
    case MSOCK_OPT_SURVEY_TIME:
        if (val->v.ms < 1)
            return MSOCK_EINVAL;
        o->survey_time = val->v.ms;
        return 0;
    case MSOCK_OPT_MAX_CONNS:
        if (val->v.i < 0)
            return MSOCK_EINVAL;
        o->max_conns = val->v.i;
        return 0;
    case MSOCK_OPT_WS_PING_INTERVAL:
    case MSOCK_OPT_WS_PING_TIMEOUT:
        if (val->v.ms < 0)
            return MSOCK_EINVAL;
        *(opt == MSOCK_OPT_WS_PING_INTERVAL ? &o->ws_ping_interval : &o->ws_ping_timeout) =
            val->v.ms;
        return 0;
    case MSOCK_OPT_GROUP_MAX_CLIENTS:
    case MSOCK_OPT_GROUP_MAX_GROUPS:
        if (val->v.i < 0)
            return MSOCK_EINVAL;
        *(opt == MSOCK_OPT_GROUP_MAX_CLIENTS ? &o->group_max_clients : &o->group_max_groups) =
            val->v.i;
        return 0;
    case MSOCK_OPT_GROUP_MAX_MEMBERS:
    case MSOCK_OPT_GROUP_MAX_AUTH_FAILS:
        if (val->v.i < 1)
            return MSOCK_EINVAL;
        *(opt == MSOCK_OPT_GROUP_MAX_MEMBERS ? &o->group_max_members : &o->group_max_auth_fails) =
            val->v.i;
        return 0;
    case MSOCK_OPT_GROUP_KDF_ITERATIONS:
        if (val->v.i < MS_GROUP_KDF_MIN || val->v.i > MS_GROUP_KDF_MAX)
            return MSOCK_EINVAL;
        o->group_kdf_iterations = val->v.i;
        return 0;
    case MSOCK_OPT_GROUP_MAX_BODY:
        if (val->v.size < 1 || val->v.size > ((size_t)1 << 30))
            return MSOCK_EINVAL;
        o->group_max_body = val->v.size;
        return 0;
    case MSOCK_OPT_GROUP_TIMEOUT:
        if (val->v.ms < -1)
            return MSOCK_EINVAL;
        o->group_timeout = val->v.ms;
        return 0;
    case MSOCK_OPT_SOCKET_NAME:
        return copy_string_opt(o->socket_name, sizeof o->socket_name, val->v.str);
    case MSOCK_OPT_WS_ORIGINS:
        return copy_string_opt(o->ws_origins, sizeof o->ws_origins, val->v.str);
    case MSOCK_OPT_WS_HTTP_DIR:
        return copy_string_opt(o->ws_http_dir, sizeof o->ws_http_dir, val->v.str);
    case MSOCK_OPT_TLS_CERT:
        return copy_string_opt(o->tls_cert, sizeof o->tls_cert, val->v.str);
    case MSOCK_OPT_TLS_KEY:
        return copy_string_opt(o->tls_key, sizeof o->tls_key, val->v.str);
    case MSOCK_OPT_TLS_CA:
        return copy_string_opt(o->tls_ca, sizeof o->tls_ca, val->v.str);
    case MSOCK_OPT_TLS_SERVER_NAME:
        return copy_string_opt(o->tls_server_name, sizeof o->tls_server_name, val->v.str);
    case MSOCK_OPT_TLS_VERIFY:
        if (val->v.i < MSOCK_TLS_VERIFY_DEFAULT || val->v.i > MSOCK_TLS_VERIFY_REQUIRED)
            return MSOCK_EINVAL;
        o->tls_verify = val->v.i;
        return 0;
    case MSOCK_OPT_TLS_MIN_VERSION:
    case MSOCK_OPT_TLS_MAX_VERSION:
        if (val->v.i != MSOCK_TLS_1_2 && val->v.i != MSOCK_TLS_1_3)
            return MSOCK_EINVAL;
        *(opt == MSOCK_OPT_TLS_MIN_VERSION ? &o->tls_min_version : &o->tls_max_version) = val->v.i;
        return 0;
    default:
        return MSOCK_ENOTSUP;
    }
}

void ms_opts_get(const ms_opts *o, int opt, ms_optval *val)
{
    switch (opt) {
    case MSOCK_OPT_SEND_TIMEOUT: val->v.ms = o->send_timeout; break;
    case MSOCK_OPT_RECV_TIMEOUT: val->v.ms = o->recv_timeout; break;
    case MSOCK_OPT_LINGER: val->v.ms = o->linger; break;
    case MSOCK_OPT_RECONNECT_MIN: val->v.ms = o->reconnect_min; break;
    case MSOCK_OPT_RECONNECT_MAX: val->v.ms = o->reconnect_max; break;
    case MSOCK_OPT_HANDSHAKE_TIMEOUT: val->v.ms = o->handshake_timeout; break;
    case MSOCK_OPT_RECV_MAXSZ: val->v.size = o->recv_maxsz; break;
    case MSOCK_OPT_SEND_QUEUE_BYTES: val->v.size = o->send_queue_bytes; break;
    case MSOCK_OPT_RECV_QUEUE_BYTES: val->v.size = o->recv_queue_bytes; break;
    case MSOCK_OPT_SEND_QUEUE_MSGS: val->v.i = o->send_queue_msgs; break;
    case MSOCK_OPT_RECV_QUEUE_MSGS: val->v.i = o->recv_queue_msgs; break;
    case MSOCK_OPT_IPC_PERMISSIONS: val->v.i = o->ipc_permissions; break;
    case MSOCK_OPT_MAX_PIPES: val->v.i = o->max_pipes; break;
    case MSOCK_OPT_TCP_NODELAY: val->v.b = o->tcp_nodelay; break;
    case MSOCK_OPT_TCP_KEEPALIVE: val->v.b = o->tcp_keepalive; break;
    case MSOCK_OPT_SOCKET_NAME: val->v.str = o->socket_name; break;
    case MSOCK_OPT_MAXTTL: val->v.i = o->maxttl; break;
    case MSOCK_OPT_REQ_RESEND_TIME: val->v.ms = o->req_resend_time; break;
    case MSOCK_OPT_SURVEY_TIME: val->v.ms = o->survey_time; break;
    case MSOCK_OPT_MAX_CONNS: val->v.i = o->max_conns; break;
    case MSOCK_OPT_WS_PING_INTERVAL: val->v.ms = o->ws_ping_interval; break;
    case MSOCK_OPT_WS_PING_TIMEOUT: val->v.ms = o->ws_ping_timeout; break;
    case MSOCK_OPT_WS_ORIGINS: val->v.str = o->ws_origins; break;
    case MSOCK_OPT_WS_HTTP_DIR: val->v.str = o->ws_http_dir; break;
    case MSOCK_OPT_GROUP_MAX_CLIENTS: val->v.i = o->group_max_clients; break;
    case MSOCK_OPT_GROUP_MAX_GROUPS: val->v.i = o->group_max_groups; break;
    case MSOCK_OPT_GROUP_MAX_MEMBERS: val->v.i = o->group_max_members; break;
    case MSOCK_OPT_GROUP_MAX_AUTH_FAILS: val->v.i = o->group_max_auth_fails; break;
    case MSOCK_OPT_GROUP_KDF_ITERATIONS: val->v.i = o->group_kdf_iterations; break;
    case MSOCK_OPT_GROUP_MAX_BODY: val->v.size = o->group_max_body; break;
    case MSOCK_OPT_GROUP_TIMEOUT: val->v.ms = o->group_timeout; break;
    case MSOCK_OPT_TLS_CERT: val->v.str = o->tls_cert; break;
    case MSOCK_OPT_TLS_KEY: val->v.str = o->tls_key; break;
    case MSOCK_OPT_TLS_CA: val->v.str = o->tls_ca; break;
    case MSOCK_OPT_TLS_SERVER_NAME: val->v.str = o->tls_server_name; break;
    case MSOCK_OPT_TLS_VERIFY: val->v.i = o->tls_verify; break;
    case MSOCK_OPT_TLS_MIN_VERSION: val->v.i = o->tls_min_version; break;
    case MSOCK_OPT_TLS_MAX_VERSION: val->v.i = o->tls_max_version; break;
    default: break;
    }
}

int ms_opt_copy_string(const char *s, char *buf, size_t *len)
{
    if (len == NULL || (buf == NULL && *len > 0))
        return MSOCK_EINVAL;
    size_t need = strlen(s) + 1;
    if (*len > 0) {
        size_t n = MS_MIN(need, *len);
        memcpy(buf, s, n - 1);
        buf[n - 1] = '\0';
    }
    *len = need;
    return 0;
}
