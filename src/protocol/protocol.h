/* protocol.h: a protocol is a declaration on the socket's policies: SP ids and names, the pipe
 * limit, which sender and receiver it uses, and optional hooks for protocols with logic. */
#ifndef MS_PROTOCOL_H
#define MS_PROTOCOL_H

#include "core/defs.h"

enum ms_send_policy {
    MS_SEND_NONE = 0, /* the socket cannot send (pull, sub) */
    MS_SEND_ONE,      /* one pipe, fair round robin among those that can take a message */
    MS_SEND_ALL,      /* a shared copy to every pipe; a pipe that is full misses it (counted) */
};

enum ms_recv_policy {
    MS_RECV_NONE = 0, /* reads only to notice closes; data is dropped */
    MS_RECV_ALL,      /* every message, stamped with its pipe, into the socket queue */
};

/* What a receive hook decided about a message (the receiver acts on it). */
enum ms_rx_verdict {
    MS_RX_KEEP = 0, /* queue it for msock_recv */
    MS_RX_DROP,     /* free it (the hook counted why) */
    MS_RX_TAKEN,    /* the protocol kept it (a context's reply) */
    MS_RX_CLOSE,    /* free it and close its pipe: the peer speaks garbage */
};

/* Protocol-specific options a protocol accepts (ms_protocol.options). */
enum ms_proto_opt {
    MS_POPT_MAXTTL = 1,
    MS_POPT_RESEND = 2,
    MS_POPT_SURVEY = 4,
    MS_POPT_GROUP_HUB = 8, /* MSOCK_OPT_GROUP_MAX_* and KDF_ITERATIONS */
    MS_POPT_GROUP = 16,    /* MSOCK_OPT_GROUP_TIMEOUT */
};

struct ms_protocol {
    uint16_t self, peer;
    const char *name, *peer_name;
    bool raw;
    int max_pipes; /* 0 = unlimited; > 0 fixes the limit (MSOCK_OPT_MAX_PIPES read-only) */
    int send_policy;
    int recv_policy;
    unsigned options; /* ms_proto_opt bits */
    /* The protocol's own thread takes every received message (the group hub routes them):
     * msock_recv and MSOCK_OPT_RECV_FD give MSOCK_ENOTSUP. */
    bool autonomous;
    size_t recv_maxsz; /* default MSOCK_OPT_RECV_MAXSZ when not 0 (the usual 1 MiB otherwise) */
    /* Private socket state: state_size bytes at s->proto_data, zeroed; init/fini around them
     * (init may fail with an error code). */
    size_t state_size;
    int (*init)(ms_socket *s);
    void (*fini)(ms_socket *s);
    /* Connector observers. pipe_add may veto a pipe with an error (no lock held);
     * pipe_start runs once the pipe can carry messages; pipe_rem when it is gone. */
    int (*pipe_add)(ms_socket *s, ms_pipe *p);
    void (*pipe_start)(ms_socket *s, ms_pipe *p);
    void (*pipe_rem)(ms_socket *s, ms_pipe *p);
    /* Runs under s->mtx on each received message (its wire bytes all in the body) and
     * returns an ms_rx_verdict. Protocols without one get whole batches queued at once. */
    int (*recv_hook)(ms_socket *s, ms_pipe *p, msock_msg *m);
    /* Sends m the protocol's way through the sender functions, instead of the policy alone.
     * Takes m on success; on failure m stays the caller's with its header as given. No lock
     * held. Not used by protocols with contexts (their ctx_send does it). */
    int (*send)(ms_socket *s, msock_msg *m, int64_t deadline, bool nonblock);
    /* The socket is closing (contexts are closed already): stop timers and tasks. */
    void (*close)(ms_socket *s);
    /* Request/reply state machines (req, rep, surveyor, respondent). When set, the socket's
     * own send and receive go through its built-in context, and msock_ctx_open works (cooked
     * sockets only). ctx_size bytes of private state follow each context, zeroed. */
    size_t ctx_size;
    void (*ctx_init)(ms_ctx *c);
    void (*ctx_fini)(ms_ctx *c);  /* under s->mtx: the context closes; wake its waiters */
    int (*ctx_send)(ms_ctx *c, msock_msg *m, int64_t deadline, bool nonblock);
    int (*ctx_recv)(ms_ctx *c, msock_msg **m, int64_t deadline, bool nonblock);
    /* Under s->mtx: a receive on c would not wait (for MSOCK_OPT_RECV_FD of protocols whose
     * answers go to contexts, not to the socket queue). */
    bool (*ctx_readable)(ms_ctx *c);
};

extern const ms_protocol ms_protocol_pair0, ms_protocol_pair0_raw;
extern const ms_protocol ms_protocol_pair1, ms_protocol_pair1_raw;
extern const ms_protocol ms_protocol_push, ms_protocol_push_raw;
extern const ms_protocol ms_protocol_pull, ms_protocol_pull_raw;
extern const ms_protocol ms_protocol_pub, ms_protocol_pub_raw;
extern const ms_protocol ms_protocol_sub, ms_protocol_sub_raw;
extern const ms_protocol ms_protocol_bus, ms_protocol_bus_raw;
extern const ms_protocol ms_protocol_req, ms_protocol_req_raw;
extern const ms_protocol ms_protocol_rep, ms_protocol_rep_raw;
extern const ms_protocol ms_protocol_surveyor, ms_protocol_surveyor_raw;
extern const ms_protocol ms_protocol_respondent, ms_protocol_respondent_raw;
extern const ms_protocol ms_protocol_group_hub, ms_protocol_group; /* no raw modes */

/* Opens a socket of protocol p and returns its handle. */
int ms_protocol_open(const ms_protocol *p, msock_socket *out);

/* Counts a statistic on the socket and on the pipe (p may be NULL). */
void ms_protocol_count(ms_socket *s, ms_pipe *p, int stat);

/* Big-endian 32-bit words, the unit of SP protocol headers. */
static inline uint32_t ms_get32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline void ms_put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

#endif
