/* options.h: the typed option table: each MSOCK_OPT_* has one type, the objects it applies
 * to, whether it is read-only, and (for stored ones) its place in struct ms_opts. */
#ifndef MS_OPTIONS_H
#define MS_OPTIONS_H

#include "core/defs.h"

enum ms_opt_type { MS_OPT_INT, MS_OPT_BOOL, MS_OPT_MS, MS_OPT_SIZE, MS_OPT_STRING };

enum ms_opt_where {
    MS_ON_SOCKET = 1,
    MS_ON_DIALER = 2,
    MS_ON_LISTENER = 4,
    MS_ON_PIPE = 8,
};

#define MS_SOCKET_NAME_MAX 64
#define MS_WS_ORIGINS_MAX 1024
#define MS_WS_HTTP_DIR_MAX 512
#define MS_TLS_PATH_MAX 1024
#define MS_TLS_NAME_MAX 256
#define MS_GROUP_KDF_MIN 1000
#define MS_GROUP_KDF_MAX 10000000

/* Values an endpoint takes from its socket when it is created. */
struct ms_opts {
    int64_t send_timeout, recv_timeout, reconnect_min, reconnect_max, linger, handshake_timeout;
    size_t recv_maxsz, send_queue_bytes, recv_queue_bytes;
    int send_queue_msgs, recv_queue_msgs, ipc_permissions, max_pipes;
    int maxttl;                           /* req/rep/surveyor/respondent/pair1 */
    int max_conns;                        /* listener */
    int64_t ws_ping_interval, ws_ping_timeout;
    int64_t req_resend_time, survey_time; /* req; surveyor */
    /* group hub: limits, password hashing, body size; group: how long a call waits */
    int group_max_clients, group_max_groups, group_max_members, group_max_auth_fails;
    int group_kdf_iterations;
    size_t group_max_body;
    int64_t group_timeout;
    bool tcp_nodelay, tcp_keepalive;
    char socket_name[MS_SOCKET_NAME_MAX];
    char ws_origins[MS_WS_ORIGINS_MAX];   /* comma-separated; "" = any */
    char ws_http_dir[MS_WS_HTTP_DIR_MAX]; /* listener; "" = no files */
    /* TLS: files ("" = none / key in the cert file / system CAs), checks, versions */
    int tls_verify, tls_min_version, tls_max_version;
    char tls_cert[MS_TLS_PATH_MAX], tls_key[MS_TLS_PATH_MAX], tls_ca[MS_TLS_PATH_MAX];
    char tls_server_name[MS_TLS_NAME_MAX];
};

/* A typed value crossing the option calls. */
typedef struct ms_optval {
    int type;
    union {
        int i;
        bool b;
        int64_t ms;
        size_t size;
        const char *str;
    } v;
} ms_optval;

void ms_opts_defaults(ms_opts *o);
/* Checks that opt exists (MSOCK_ENOTSUP), applies to `where` (MSOCK_ENOTSUP), has val's type
 * (MSOCK_EBADTYPE) and, for a set, is writable (MSOCK_EREADONLY). Returns 0 when the option
 * is stored in ms_opts, 1 when the object must answer it itself. */
int ms_opt_check(int opt, int where, int type, bool set);
/* Stores a checked value; MSOCK_EINVAL when out of range. */
int ms_opts_set(ms_opts *o, int opt, const ms_optval *val);
/* Reads a stored value into val (val->type already set). */
void ms_opts_get(const ms_opts *o, int opt, ms_optval *val);
/* Copies a string option the way every *_get_string call does: NUL included, cut to *len,
 * *len set to the full size. */
int ms_opt_copy_string(const char *s, char *buf, size_t *len);

#endif
