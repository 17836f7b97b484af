/* msock.h: the one public header of libmsock, a messaging library speaking the nanomsg/nng
 * Scalability Protocols. Every call returns 0 or a negative MSOCK_E* code. */
#ifndef MSOCK_H
#define MSOCK_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MSOCK_BUILDING) && defined(__GNUC__)
#define MSOCK_API __attribute__((visibility("default")))
#else
#define MSOCK_API
#endif

#define MSOCK_VERSION_MAJOR 0
#define MSOCK_VERSION_MINOR 1
#define MSOCK_VERSION_PATCH 0

/* Errors. Codes that POSIX has are -errno; the others sit below -1000. One table makes the
 * enum, msock_strerror() and msock_errname(). */
#define MSOCK_ERRNO_MAP(X)                                                                 \
    X(EINTR, -EINTR, "interrupted")                                                       \
    X(ENOMEM, -ENOMEM, "out of memory")                                                   \
    X(EINVAL, -EINVAL, "invalid argument")                                                \
    X(EBUSY, -EBUSY, "resource busy")                                                     \
    X(ETIMEDOUT, -ETIMEDOUT, "timed out")                                                 \
    X(ECONNREFUSED, -ECONNREFUSED, "connection refused")                                  \
    X(ECONNRESET, -ECONNRESET, "connection reset by peer")                                \
    X(ECONNABORTED, -ECONNABORTED, "connection aborted")                                  \
    X(EAGAIN, -EAGAIN, "try again")                                                       \
    X(ENOTSUP, -ENOTSUP, "operation not supported")                                       \
    X(EADDRINUSE, -EADDRINUSE, "address in use")                                          \
    X(EADDRNOTAVAIL, -EADDRNOTAVAIL, "address not available")                             \
    X(EHOSTUNREACH, -EHOSTUNREACH, "host unreachable")                                    \
    X(ENETUNREACH, -ENETUNREACH, "network unreachable")                                   \
    X(ENOENT, -ENOENT, "no such object")                                                  \
    X(EEXIST, -EEXIST, "already exists")                                                  \
    X(EACCES, -EACCES, "permission denied")                                               \
    X(EPERM, -EPERM, "operation not permitted")                                           \
    X(EMSGSIZE, -EMSGSIZE, "message too large")                                           \
    X(EPROTO, -EPROTO, "protocol error")                                                  \
    X(ENOSPC, -ENOSPC, "no space left")                                                   \
    X(ENAMETOOLONG, -ENAMETOOLONG, "name too long")                                       \
    X(EMFILE, -EMFILE, "too many open files")                                             \
    X(ECLOSED, -1001, "object closed")                                                    \
    X(EBADTYPE, -1002, "option has another type")                                         \
    X(EREADONLY, -1003, "option is read-only")                                            \
    X(ENOTFOUND, -1004, "address not found")                                              \
    X(ESTATE, -1005, "wrong state for this operation")                                    \
    X(EPEERPROTO, -1006, "peer speaks an incompatible protocol")                         \
    X(ENOMASTER, -1007, "the group has no master")                                     \
    X(EPEERAUTH, -1008, "TLS authentication failed: a certificate was refused")          \
    X(ECRYPTO, -1009, "TLS failure: handshake or record refused, or bad key material")

enum msock_errno {
#define MSOCK_ERR_ENUM_(name, value, text) MSOCK_##name = (value),
    MSOCK_ERRNO_MAP(MSOCK_ERR_ENUM_)
#undef MSOCK_ERR_ENUM_
};

/* Text for an error code ("timed out"); never NULL. */
MSOCK_API const char *msock_strerror(int err);
/* Name of an error code ("MSOCK_ETIMEDOUT"); "MSOCK_E?" for codes we do not know. */
MSOCK_API const char *msock_errname(int err);
/* The library version as "MAJOR.MINOR.PATCH". */
MSOCK_API const char *msock_version(void);

/* Handles: ids, looked up on every call; a closed handle gives MSOCK_ECLOSED, never a crash. */
typedef struct msock_socket { uint32_t id; } msock_socket;
typedef struct msock_dialer { uint32_t id; } msock_dialer;
typedef struct msock_listener { uint32_t id; } msock_listener;
typedef struct msock_pipe { uint32_t id; } msock_pipe;
typedef struct msock_msg msock_msg;

#define MSOCK_SOCKET_INITIALIZER {0}
#define MSOCK_PIPE_INITIALIZER {0}

typedef struct msock_ctx { uint32_t id; } msock_ctx;

/* SP protocol numbers (protocol * 16 + role), as on the wire. */
enum msock_proto {
    MSOCK_PROTO_PAIR0 = 0x10,
    MSOCK_PROTO_PAIR1 = 0x11,
    MSOCK_PROTO_PUB = 0x20,
    MSOCK_PROTO_SUB = 0x21,
    MSOCK_PROTO_REQ = 0x30,
    MSOCK_PROTO_REP = 0x31,
    MSOCK_PROTO_PUSH = 0x50,
    MSOCK_PROTO_PULL = 0x51,
    MSOCK_PROTO_SURVEYOR = 0x62,
    MSOCK_PROTO_RESPONDENT = 0x63,
    MSOCK_PROTO_BUS = 0x70,
    /* The group pattern (msock_group.7): numbers from the SP local-use range 3840-4095. */
    MSOCK_PROTO_GROUP_HUB = 0xF00,
    MSOCK_PROTO_GROUP = 0xF01,
};

/* Sockets. Each opener makes a cooked socket of one protocol. */
MSOCK_API int msock_pair_open(msock_socket *s);   /* PAIR v0 */
MSOCK_API int msock_pair1_open(msock_socket *s);  /* PAIR v1: hop count header (nng) */
MSOCK_API int msock_push_open(msock_socket *s);
MSOCK_API int msock_pull_open(msock_socket *s);
MSOCK_API int msock_pub_open(msock_socket *s);
MSOCK_API int msock_sub_open(msock_socket *s);
MSOCK_API int msock_req_open(msock_socket *s);
MSOCK_API int msock_rep_open(msock_socket *s);
MSOCK_API int msock_surveyor_open(msock_socket *s);
MSOCK_API int msock_respondent_open(msock_socket *s);
MSOCK_API int msock_bus_open(msock_socket *s);
/* Flags for msock_socket_open. */
enum msock_open_flag {
    MSOCK_OPEN_RAW = 1, /* raw mode: protocol headers stay in the message header, for devices */
};
/* Opens a socket of any protocol by number (enum msock_proto), cooked or MSOCK_OPEN_RAW.
 * MSOCK_ENOTSUP for an unknown protocol. */
MSOCK_API int msock_socket_open(msock_socket *s, int proto, int flags);
/* Closes the socket: waits up to MSOCK_OPT_LINGER for queued outbound messages to be written,
 * then closes every pipe, dialer and listener and wakes blocked callers with MSOCK_ECLOSED. */
MSOCK_API int msock_close(msock_socket s);
/* The id of a socket, dialer, listener or pipe (0 is never a valid id). */
MSOCK_API uint32_t msock_socket_id(msock_socket s);

/* Flags for send, recv, dial and listen. */
enum msock_flag {
    MSOCK_FLAG_NONBLOCK = 1, /* send/recv: MSOCK_EAGAIN instead of waiting; dial: in background */
};

/* Endpoints. msock_listen/msock_dial create and start in one call; the create/start pair lets
 * endpoint options be set in between. A dial without MSOCK_FLAG_NONBLOCK waits for the first
 * connection and fails with its reason; with it, the dialer connects and redials in the
 * background with exponential backoff. Either way a dialer redials after its pipe drops. */
MSOCK_API int msock_listen(msock_socket s, const char *url, msock_listener *l, int flags);
MSOCK_API int msock_dial(msock_socket s, const char *url, msock_dialer *d, int flags);
MSOCK_API int msock_listener_create(msock_listener *l, msock_socket s, const char *url);
MSOCK_API int msock_listener_start(msock_listener l, int flags);
MSOCK_API int msock_listener_close(msock_listener l);
MSOCK_API int msock_dialer_create(msock_dialer *d, msock_socket s, const char *url);
MSOCK_API int msock_dialer_start(msock_dialer d, int flags);
MSOCK_API int msock_dialer_close(msock_dialer d);

/* Buffer API. msock_send copies buf; msock_recv copies at most *len bytes into buf and sets
 * *len to the message's full length (a larger *len than given means the copy was cut). */
MSOCK_API int msock_send(msock_socket s, const void *buf, size_t len, int flags);
MSOCK_API int msock_recv(msock_socket s, void *buf, size_t *len, int flags);
/* Message API, zero-copy. A successful sendmsg takes the message; a failed one leaves it with
 * the caller. A message whose pipe is set (msock_msg_set_pipe) goes to that pipe only. */
MSOCK_API int msock_sendmsg(msock_socket s, msock_msg *m, int flags);
MSOCK_API int msock_recvmsg(msock_socket s, msock_msg **m, int flags);

/* Messages: a header area (protocol headers) and a refcounted body. */
MSOCK_API int msock_msg_alloc(msock_msg **m, size_t size);
MSOCK_API void msock_msg_free(msock_msg *m);
/* A new message sharing src's body; the body is copied only when one of them changes it. */
MSOCK_API int msock_msg_dup(msock_msg **dup, const msock_msg *src);
MSOCK_API void *msock_msg_body(msock_msg *m);
MSOCK_API size_t msock_msg_len(const msock_msg *m);
MSOCK_API int msock_msg_realloc(msock_msg *m, size_t size);
MSOCK_API int msock_msg_append(msock_msg *m, const void *data, size_t len);
MSOCK_API int msock_msg_insert(msock_msg *m, const void *data, size_t len);
MSOCK_API int msock_msg_trim(msock_msg *m, size_t len);  /* drop len bytes from the front */
MSOCK_API int msock_msg_chop(msock_msg *m, size_t len);  /* drop len bytes from the end */
MSOCK_API void msock_msg_clear(msock_msg *m);
MSOCK_API void *msock_msg_header(msock_msg *m);
MSOCK_API size_t msock_msg_header_len(const msock_msg *m);
MSOCK_API msock_pipe msock_msg_pipe(const msock_msg *m);
MSOCK_API void msock_msg_set_pipe(msock_msg *m, msock_pipe p);

/* Options. Each has one type; the typed calls check it (MSOCK_EBADTYPE). Socket options set
 * before an endpoint is created are that endpoint's defaults. */
enum msock_opt {
    MSOCK_OPT_SEND_TIMEOUT = 1,  /* ms, socket; -1 waits for ever (default) */
    MSOCK_OPT_RECV_TIMEOUT,      /* ms, socket; -1 waits for ever (default) */
    MSOCK_OPT_RECV_MAXSZ,        /* size, socket/endpoint; 1 MiB default, 0 = unlimited */
    MSOCK_OPT_RECONNECT_MIN,     /* ms, socket/dialer; 100 default */
    MSOCK_OPT_RECONNECT_MAX,     /* ms, socket/dialer; 30000 default, 0 = no backoff */
    MSOCK_OPT_SEND_QUEUE_MSGS,   /* int, socket; per-pipe outbound limit, 8192 default */
    MSOCK_OPT_SEND_QUEUE_BYTES,  /* size, socket; per-pipe outbound limit, 4 MiB default */
    MSOCK_OPT_RECV_QUEUE_MSGS,   /* int, socket; inbound limit, 8192 default */
    MSOCK_OPT_RECV_QUEUE_BYTES,  /* size, socket; inbound limit, 4 MiB default */
    MSOCK_OPT_LINGER,            /* ms, socket; close waits this long to flush, 1000 default */
    MSOCK_OPT_TCP_NODELAY,       /* bool, socket/endpoint; true default */
    MSOCK_OPT_TCP_KEEPALIVE,     /* bool, socket/endpoint; false default */
    MSOCK_OPT_IPC_PERMISSIONS,   /* int, listener; file mode of the socket file, 0 = umask */
    MSOCK_OPT_HANDSHAKE_TIMEOUT, /* ms, socket/endpoint; SP header wait, 10000 default */
    MSOCK_OPT_MAX_PIPES,         /* int, socket; 0 = unlimited (pair: 1, read-only) */
    MSOCK_OPT_URL,               /* string, endpoint/pipe, read-only: the bound or peer URL */
    MSOCK_OPT_PROTOCOL,          /* int, socket/pipe, read-only: own protocol number */
    MSOCK_OPT_PEER,              /* int, socket/pipe, read-only: peer protocol number */
    MSOCK_OPT_PROTOCOL_NAME,     /* string, socket, read-only: "pair", "push", ... */
    MSOCK_OPT_PEER_NAME,         /* string, socket, read-only */
    MSOCK_OPT_RECV_FD,           /* int, socket, read-only: readable when recv would not wait */
    MSOCK_OPT_SEND_FD,           /* int, socket, read-only: readable when send would not wait */
    MSOCK_OPT_SOCKET_NAME,       /* string, socket: a free-form name for logs */
    MSOCK_OPT_RAW,               /* bool, socket, read-only: opened with MSOCK_OPEN_RAW */
    MSOCK_OPT_MAXTTL,            /* int, socket; req/rep/surveyor/respondent/pair1: hops 1..255, 8 default */
    MSOCK_OPT_REQ_RESEND_TIME,   /* ms, socket/ctx; req: resend an unanswered request after this,
                                  * 60000 default; 0 or negative never resends on a timer (a
                                  * request still moves at once when its pipe closes) */
    MSOCK_OPT_SURVEY_TIME,       /* ms, socket/ctx; surveyor: survey deadline, 1000 default */
    MSOCK_OPT_MAX_CONNS,         /* int, socket/listener; connections a listener keeps at once,
                                  * more are refused (ws: HTTP 503); 0 = unlimited (default) */
    MSOCK_OPT_WS_ORIGINS,        /* string, socket/listener; comma-separated Origins a browser
                                  * may come from ("http://host:port"); "" = any (default). A
                                  * request without Origin (not a browser) is always allowed */
    MSOCK_OPT_WS_PING_INTERVAL,  /* ms, socket/endpoint; ws: ping a peer idle this long, 30000
                                  * default, 0 = never */
    MSOCK_OPT_WS_PING_TIMEOUT,   /* ms, socket/endpoint; ws: close a connection that sends
                                  * nothing for this long after a ping; 0 = never (default:
                                  * nanomsg peers do not answer pings) */
    MSOCK_OPT_WS_HTTP_DIR,       /* string, listener; ws: a directory whose files are served to
                                  * plain HTTP GETs on the listener's port; "" = none (default) */
    MSOCK_OPT_GROUP_MAX_CLIENTS, /* int, group hub; connected clients at once, 1000 default,
                                  * 0 = unlimited; more are told "hub full" and closed */
    MSOCK_OPT_GROUP_MAX_GROUPS,  /* int, group hub; groups at once, 1000 default, 0 = unlimited */
    MSOCK_OPT_GROUP_MAX_MEMBERS, /* int, group hub; most standard members a group may have (its
                                  * capacity is at most this), 1000 default */
    MSOCK_OPT_GROUP_MAX_AUTH_FAILS, /* int, group hub; wrong passwords a connection may give
                                  * before the hub closes it, 5 default */
    MSOCK_OPT_GROUP_KDF_ITERATIONS, /* int, group hub; PBKDF2-HMAC-SHA256 rounds for the password
                                  * hashes of groups created from now on, 100000 default, at
                                  * least 1000 */
    MSOCK_OPT_GROUP_MAX_BODY,    /* size, group hub; largest group or relay message body, 1 MiB
                                  * default (group sockets' RECV_MAXSZ defaults leave room for it
                                  * and the group header) */
    MSOCK_OPT_GROUP_TIMEOUT,     /* ms, group; how long a group call (list, create, join, leave,
                                  * delete, whoami, peers, relay) waits for the hub, including
                                  * for a connection, 10000 default, -1 = for ever */
    /* TLS (tls+tcp://, wss://; msock_tls.7). Files are PEM; they are read when a listener
     * binds or a dialer connects, so a bad one fails msock_listen/msock_dial. */
    MSOCK_OPT_TLS_CERT,          /* string, socket/endpoint; our certificate (and chain); a
                                  * listener needs one, a dialer sends it when asked */
    MSOCK_OPT_TLS_KEY,           /* string, socket/endpoint; its private key; "" = in the
                                  * TLS_CERT file (default) */
    MSOCK_OPT_TLS_CA,            /* string, socket/endpoint; CA certificates that verify the
                                  * peer; "" = the system's trusted CAs (default) */
    MSOCK_OPT_TLS_VERIFY,        /* int, socket/endpoint; enum msock_tls_verify: whether the
                                  * peer's certificate is checked; default: dialers REQUIRED,
                                  * listeners NONE */
    MSOCK_OPT_TLS_SERVER_NAME,   /* string, socket/dialer; the name the server's certificate
                                  * must carry, also sent as SNI; "" = the URL's host (default) */
    MSOCK_OPT_TLS_MIN_VERSION,   /* int, socket/endpoint; enum msock_tls_version, 1.2 default */
    MSOCK_OPT_TLS_MAX_VERSION,   /* int, socket/endpoint; enum msock_tls_version, 1.3 default */
};

/* Values of MSOCK_OPT_TLS_VERIFY. */
enum msock_tls_verify {
    MSOCK_TLS_VERIFY_DEFAULT = -1,  /* dialers REQUIRED, listeners NONE */
    MSOCK_TLS_VERIFY_NONE = 0,      /* no check (a listener asks for no certificate) */
    MSOCK_TLS_VERIFY_OPTIONAL = 1,  /* a listener asks for one and checks it if given */
    MSOCK_TLS_VERIFY_REQUIRED = 2,  /* a valid certificate (a dialer: for the server name) */
};

/* Values of MSOCK_OPT_TLS_MIN_VERSION and MSOCK_OPT_TLS_MAX_VERSION: the wire numbers. */
enum msock_tls_version {
    MSOCK_TLS_1_2 = 0x0303,
    MSOCK_TLS_1_3 = 0x0304,
};

MSOCK_API int msock_socket_set_int(msock_socket s, int opt, int v);
MSOCK_API int msock_socket_set_bool(msock_socket s, int opt, bool v);
MSOCK_API int msock_socket_set_ms(msock_socket s, int opt, int64_t ms);
MSOCK_API int msock_socket_set_size(msock_socket s, int opt, size_t v);
MSOCK_API int msock_socket_set_string(msock_socket s, int opt, const char *v);
MSOCK_API int msock_socket_get_int(msock_socket s, int opt, int *v);
MSOCK_API int msock_socket_get_bool(msock_socket s, int opt, bool *v);
MSOCK_API int msock_socket_get_ms(msock_socket s, int opt, int64_t *ms);
MSOCK_API int msock_socket_get_size(msock_socket s, int opt, size_t *v);
/* Copies the string with its NUL into buf (cut to *len) and sets *len to the full size. */
MSOCK_API int msock_socket_get_string(msock_socket s, int opt, char *buf, size_t *len);

MSOCK_API int msock_dialer_set_int(msock_dialer d, int opt, int v);
MSOCK_API int msock_dialer_set_bool(msock_dialer d, int opt, bool v);
MSOCK_API int msock_dialer_set_ms(msock_dialer d, int opt, int64_t ms);
MSOCK_API int msock_dialer_set_size(msock_dialer d, int opt, size_t v);
MSOCK_API int msock_dialer_set_string(msock_dialer d, int opt, const char *v);
MSOCK_API int msock_dialer_get_int(msock_dialer d, int opt, int *v);
MSOCK_API int msock_dialer_get_bool(msock_dialer d, int opt, bool *v);
MSOCK_API int msock_dialer_get_ms(msock_dialer d, int opt, int64_t *ms);
MSOCK_API int msock_dialer_get_size(msock_dialer d, int opt, size_t *v);
MSOCK_API int msock_dialer_get_string(msock_dialer d, int opt, char *buf, size_t *len);

MSOCK_API int msock_listener_set_int(msock_listener l, int opt, int v);
MSOCK_API int msock_listener_set_bool(msock_listener l, int opt, bool v);
MSOCK_API int msock_listener_set_ms(msock_listener l, int opt, int64_t ms);
MSOCK_API int msock_listener_set_size(msock_listener l, int opt, size_t v);
MSOCK_API int msock_listener_set_string(msock_listener l, int opt, const char *v);
MSOCK_API int msock_listener_get_int(msock_listener l, int opt, int *v);
MSOCK_API int msock_listener_get_bool(msock_listener l, int opt, bool *v);
MSOCK_API int msock_listener_get_ms(msock_listener l, int opt, int64_t *ms);
MSOCK_API int msock_listener_get_size(msock_listener l, int opt, size_t *v);
MSOCK_API int msock_listener_get_string(msock_listener l, int opt, char *buf, size_t *len);

/* Pipes: one connection to one peer. */
MSOCK_API uint32_t msock_pipe_id(msock_pipe p);
MSOCK_API int msock_pipe_close(msock_pipe p);
MSOCK_API int msock_pipe_get_int(msock_pipe p, int opt, int *v);
MSOCK_API int msock_pipe_get_string(msock_pipe p, int opt, char *buf, size_t *len);
MSOCK_API int msock_pipe_socket(msock_pipe p, msock_socket *s);

/* Pipe events. ADD_PRE runs before the pipe carries data; closing the pipe there vetoes it.
 * Callbacks run on a library thread: they must not block. One callback per event. */
enum msock_pipe_ev {
    MSOCK_PIPE_EV_ADD_PRE = 0,
    MSOCK_PIPE_EV_ADD_POST = 1,
    MSOCK_PIPE_EV_REM_POST = 2,
};
typedef void (*msock_pipe_cb)(msock_pipe p, int event, void *arg);
MSOCK_API int msock_pipe_notify(msock_socket s, int event, msock_pipe_cb cb, void *arg);

/* Statistics, counted since open, per socket and per pipe (a pipe counts what concerns one
 * connection: messages, bytes and drops; the others read 0 on a pipe). Received messages are
 * counted when they arrive from the wire, before protocol filters drop any. */
#define MSOCK_STAT_MAP(X)                                                                  \
    X(MSGS_SENT, "messages sent")                                                         \
    X(MSGS_RECV, "messages received")                                                     \
    X(BYTES_SENT, "bytes sent")                                                           \
    X(BYTES_RECV, "bytes received")                                                       \
    X(DROPS_QUEUE_FULL, "messages dropped: a peer's send queue was full (pub, bus, surveyor)") \
    X(DROPS_TOO_LARGE, "messages dropped: over the receive max size (connection closed)") \
    X(DROPS_STALE, "replies or responses dropped: stale, late or unknown id")              \
    X(DROPS_TTL, "messages dropped: more hops than MSOCK_OPT_MAXTTL")                     \
    X(DROPS_NO_SUB, "messages dropped: no matching subscription")                         \
    X(DROPS_NO_PIPE, "replies dropped: the requester's pipe is gone")                     \
    X(DROPS_MALFORMED, "messages dropped: malformed protocol header")                     \
    X(PIPES_ADDED, "pipes added")                                                         \
    X(PIPES_REMOVED, "pipes removed")                                                     \
    X(PIPES_REJECTED, "pipes refused (limit or application veto)")                        \
    X(DIALS_FAILED, "dial attempts that failed")                                          \
    X(RECONNECTS, "redials after a dropped or failed connection")                         \
    X(ERR_BAD_HEADER, "connections dropped: bad SP header or garbage")                    \
    X(ERR_PEER_PROTO, "connections dropped: incompatible peer protocol")                  \
    X(ERR_HANDSHAKE_TIMEOUT, "connections dropped: no SP header in time")                 \
    X(ERR_IO, "connections dropped: I/O error or reset")                                  \
    X(ERR_TLS, "connections dropped: TLS handshake failed or a certificate was refused")

enum msock_stat {
#define MSOCK_STAT_ENUM_(name, text) MSOCK_STAT_##name,
    MSOCK_STAT_MAP(MSOCK_STAT_ENUM_)
#undef MSOCK_STAT_ENUM_
    MSOCK_STAT_COUNT
};
MSOCK_API int msock_stat_get(msock_socket s, int stat, uint64_t *value);
MSOCK_API int msock_pipe_stat_get(msock_pipe p, int stat, uint64_t *value);
/* Short name of a statistic ("msgs_sent"), or NULL for an unknown one. */
MSOCK_API const char *msock_stat_name(int stat);

/* Subscriptions of a SUB socket: a message is received when one of them is a byte prefix of
 * its body (the empty topic matches all). A SUB with none receives nothing. Subscribing twice
 * is harmless; unsubscribing a topic that is not there gives MSOCK_ENOENT; other protocols
 * give MSOCK_ENOTSUP. */
MSOCK_API int msock_sub_subscribe(msock_socket s, const void *topic, size_t len);
MSOCK_API int msock_sub_unsubscribe(msock_socket s, const void *topic, size_t len);

/* Contexts: independent request/reply (or survey) state machines on one REQ, REP, SURVEYOR
 * or RESPONDENT socket, so many threads can each have a request outstanding, or serve one,
 * at once. Other protocols and raw sockets give MSOCK_ENOTSUP. A context uses its socket's
 * pipes; closing the socket closes its contexts. Context options: MSOCK_OPT_SEND_TIMEOUT,
 * MSOCK_OPT_RECV_TIMEOUT, MSOCK_OPT_REQ_RESEND_TIME, MSOCK_OPT_SURVEY_TIME (initially the
 * socket's values). */
MSOCK_API int msock_ctx_open(msock_ctx *c, msock_socket s);
MSOCK_API int msock_ctx_close(msock_ctx c);
MSOCK_API uint32_t msock_ctx_id(msock_ctx c);
MSOCK_API int msock_ctx_send(msock_ctx c, const void *buf, size_t len, int flags);
MSOCK_API int msock_ctx_recv(msock_ctx c, void *buf, size_t *len, int flags);
MSOCK_API int msock_ctx_sendmsg(msock_ctx c, msock_msg *m, int flags);
MSOCK_API int msock_ctx_recvmsg(msock_ctx c, msock_msg **m, int flags);
MSOCK_API int msock_ctx_set_ms(msock_ctx c, int opt, int64_t ms);
MSOCK_API int msock_ctx_get_ms(msock_ctx c, int opt, int64_t *ms);

/* Forwards messages between two raw sockets whose protocols are each other's peers (raw REP
 * and raw REQ for a broker, raw SUB and raw PUB for a forwarder) or one raw socket to itself
 * (a BUS or PAIR reflector: a == b). Blocks until either socket closes, then returns 0;
 * MSOCK_EINVAL for cooked or mismatched sockets, MSOCK_ECLOSED for a closed handle. */
MSOCK_API int msock_device(msock_socket a, msock_socket b);

/* The group pattern (msock_group.7, docs/group-protocol.md). A hub routes between clients by
 * group; it needs no calls after it listens (msock_recv on a hub gives MSOCK_ENOTSUP). A group
 * socket dials one hub (one connection at a time; the dialer redials after a drop, as a new
 * client with a new id and no groups). Names are 1..MSOCK_GROUP_NAME_MAX and passwords
 * 0..MSOCK_GROUP_PASSWORD_MAX bytes, any bytes. A member's id is its connection's 64-bit
 * client id on the hub. msock_send and msock_sendmsg on a group socket give MSOCK_ENOTSUP.
 *
 * The calls (list, create, join, leave, delete, whoami, peers, relay) may be made from any
 * number of threads at once; each waits up to MSOCK_OPT_GROUP_TIMEOUT, connecting included,
 * and besides the errors listed with it may fail with: MSOCK_EINVAL (a bad argument, checked
 * before anything is sent), MSOCK_ETIMEDOUT (no connection or no answer in time),
 * MSOCK_ECONNRESET (the connection dropped first), the reason the hub gave for closing the
 * connection (MSOCK_ENOSPC: too many clients; MSOCK_EACCES: too many wrong passwords; calls
 * fail at once with it until a new connection is up), MSOCK_ECLOSED, and MSOCK_ENOTSUP on a
 * socket that is not a group socket. Answers travel behind received messages: a receive queue
 * left full holds them back. */
MSOCK_API int msock_group_hub_open(msock_socket *s);
MSOCK_API int msock_group_open(msock_socket *s);

#define MSOCK_GROUP_NAME_MAX 255
#define MSOCK_GROUP_PASSWORD_MAX 255
#define MSOCK_GROUP_RELAY_MAX 255 /* ids in one relay */

enum msock_group_role {
    MSOCK_GROUP_MEMBER = 0, /* a standard member: its data goes to the master */
    MSOCK_GROUP_MASTER = 1, /* the one master: its data goes to every member or to one */
};

typedef struct msock_group_info {
    uint32_t id;       /* the hub's number for the group */
    uint32_t members;  /* standard members now */
    uint32_t capacity; /* most standard members */
    bool has_master;
    size_t name_len;
    uint8_t name[MSOCK_GROUP_NAME_MAX + 1]; /* name_len bytes, then a NUL */
} msock_group_info;

/* Fills up to *n entries of list and sets *n to the number of groups on the hub. */
MSOCK_API int msock_group_list(msock_socket s, msock_group_info *list, size_t *n);
/* MSOCK_EEXIST: the name is taken; MSOCK_EINVAL: a length or the capacity is out of range;
 * MSOCK_ENOSPC: the hub has its most groups. The creator does not join. */
MSOCK_API int msock_group_create(msock_socket s, const void *name, size_t name_len,
                                 const void *password, size_t password_len,
                                 const void *master_password, size_t master_password_len,
                                 uint32_t capacity);
/* Joins as role (enum msock_group_role) with that role's password; *group (may be NULL) gets
 * the group's id. MSOCK_ENOENT no such group, MSOCK_EACCES wrong password, MSOCK_ENOSPC full,
 * MSOCK_EBUSY a master is there already, MSOCK_EEXIST joined already. */
MSOCK_API int msock_group_join(msock_socket s, const void *name, size_t name_len,
                               const void *password, size_t password_len, int role,
                               uint32_t *group);
/* MSOCK_ENOENT: not in that group. */
MSOCK_API int msock_group_leave(msock_socket s, uint32_t group);
/* Master only (MSOCK_EPERM otherwise; MSOCK_ENOENT no such group): members get
 * MSOCK_GROUP_EV_DELETED and are removed. */
MSOCK_API int msock_group_delete(msock_socket s, uint32_t group);
/* This connection's client id. */
MSOCK_API int msock_group_whoami(msock_socket s, uint64_t *id);
/* Fills up to *n ids of the other connected clients and sets *n to how many there are. */
MSOCK_API int msock_group_peers(msock_socket s, uint64_t *ids, size_t *n);
/* Delivers buf to every client in to[0..n) (1..MSOCK_GROUP_RELAY_MAX ids). When some are not
 * connected it returns MSOCK_ENOENT (the others got it) and fills up to *n_unknown of them into
 * unknown, setting *n_unknown to their number (0 on success; both may be NULL).
 * MSOCK_EMSGSIZE: len is over the hub's MSOCK_OPT_GROUP_MAX_BODY. */
MSOCK_API int msock_group_relay(msock_socket s, const uint64_t *to, size_t n, const void *buf,
                                size_t len, uint64_t *unknown, size_t *n_unknown);
/* Sends to a joined group: a member's message goes to the master (to must be 0; MSOCK_ENOMASTER
 * when the group has none); the master's goes to every member (to = 0) or to member `to`.
 * Checked first against what this client knows: MSOCK_ENOENT not in the group (or the
 * connection dropped since), MSOCK_EINVAL a member giving `to`, MSOCK_ENOMASTER. Waits like
 * msock_send (MSOCK_OPT_SEND_TIMEOUT, MSOCK_FLAG_NONBLOCK: MSOCK_EAGAIN). What the hub then
 * cannot deliver (no such member, a body over its limit) comes back as
 * MSOCK_GROUP_EV_UNDELIVERED. sendmsg takes m on success, replacing its header; on failure m
 * stays the caller's as it was. */
MSOCK_API int msock_group_send(msock_socket s, uint32_t group, uint64_t to, const void *buf,
                               size_t len, int flags);
MSOCK_API int msock_group_sendmsg(msock_socket s, uint32_t group, uint64_t to, msock_msg *m,
                                  int flags);

/* What a group socket received: data, a relayed message, or an event (kind >=
 * MSOCK_GROUP_EV_JOINED; its body is empty). Events reach only the groups' members: joined and
 * left go to the master and the members, master joined / left and deleted to the members. */
enum msock_group_kind {
    MSOCK_GROUP_DATA = 0,          /* group data; from = the sender's id */
    MSOCK_GROUP_RELAYED = 1,       /* a relay; group = 0, from = the sender's id */
    MSOCK_GROUP_EV_JOINED = 2,     /* member `from` joined */
    MSOCK_GROUP_EV_LEFT = 3,       /* member `from` left */
    MSOCK_GROUP_EV_MASTER_JOINED = 4,
    MSOCK_GROUP_EV_MASTER_LEFT = 5,
    MSOCK_GROUP_EV_DELETED = 6,    /* the group is gone; so is our membership */
    MSOCK_GROUP_EV_UNDELIVERED = 7, /* our message to `from` (0: the master or all) in `group`
                                     * was not delivered; error says why */
    MSOCK_GROUP_EV_DISCONNECTED = 8, /* the hub connection dropped (local): every membership is
                                      * gone; error says why (0 when unknown) */
};
typedef struct msock_group_rx {
    int kind;       /* enum msock_group_kind */
    uint32_t group; /* the group's id, 0 for relays and disconnects */
    uint64_t from;
    int error;      /* MSOCK_E* for UNDELIVERED and DISCONNECTED, else 0 */
} msock_group_rx;
/* Receives like msock_recv / msock_recvmsg and says what it was (rx may be NULL); the header
 * the kind is read from stays in the message. */
MSOCK_API int msock_group_recv(msock_socket s, msock_group_rx *rx, void *buf, size_t *len,
                               int flags);
MSOCK_API int msock_group_recvmsg(msock_socket s, msock_group_rx *rx, msock_msg **m, int flags);
/* What a message received from a group socket (msock_recvmsg) was; MSOCK_EINVAL for others. */
MSOCK_API int msock_group_msg_info(const msock_msg *m, msock_group_rx *rx);

/* Releases the library's threads once every socket is closed (for leak checkers); optional. */
MSOCK_API void msock_fini(void);

#ifdef __cplusplus
}
#endif
#endif
