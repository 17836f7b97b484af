/* protocol.h: a protocol is a declaration on the socket's policies: SP ids and names, the pipe
 * limit, which sender and receiver it uses, and optional hooks for protocols with logic. */
#ifndef MS_PROTOCOL_H
#define MS_PROTOCOL_H

#include "core/defs.h"

enum ms_send_policy {
    MS_SEND_NONE = 0, /* the socket cannot send (pull, sub) */
    MS_SEND_ONE,      /* one pipe, fair round robin among those that can take a message */
    MS_SEND_ALL,      /* a shared copy to every pipe */
};

enum ms_recv_policy {
    MS_RECV_NONE = 0, /* reads only to notice closes; data is dropped */
    MS_RECV_ALL,      /* every message, stamped with its pipe, into the socket queue */
};

struct ms_protocol {
    uint16_t self, peer;
    const char *name, *peer_name;
    int max_pipes; /* 0 = unlimited; > 0 fixes the limit (MSOCK_OPT_MAX_PIPES read-only) */
    int send_policy;
    int recv_policy;
    /* Optional hooks (NULL when unused). pipe_add may veto a pipe with an error. recv_hook
     * may rewrite or drop (return nonzero) a received message before it is queued; send_hook
     * may rewrite a message before the sender policy sees it. */
    int (*pipe_add)(ms_socket *s, ms_pipe *p);
    void (*pipe_rem)(ms_socket *s, ms_pipe *p);
    int (*recv_hook)(ms_socket *s, ms_pipe *p, msock_msg *m);
    int (*send_hook)(ms_socket *s, msock_msg *m);
};

extern const ms_protocol ms_protocol_pair0;
extern const ms_protocol ms_protocol_push;
extern const ms_protocol ms_protocol_pull;

/* Opens a socket of protocol p and returns its handle. */
int ms_protocol_open(const ms_protocol *p, msock_socket *out);

#endif
