/* group_member.h: the group client (protocol 0xF01): one connection to a hub, the calls that
 * wait there for their REPLY, the groups this client is in, and its data path. */
#ifndef MS_GROUP_MEMBER_H
#define MS_GROUP_MEMBER_H

#include <pthread.h>

#include "core/defs.h"
#include "protocol/group_wire.h"

/* A group this client is in, as far as it knows: the hub decides, this only lets a send that
 * cannot succeed fail at once with a clear error. */
typedef struct ms_group_membership {
    uint32_t group;
    uint8_t role; /* enum msock_group_role */
    bool has_master;
} ms_group_membership;

typedef struct ms_group_call ms_group_call;

/* The socket's protocol state; every field under s->mtx. */
typedef struct ms_group_state {
    pthread_cond_t calls_cv; /* a call got its answer, or the socket closes */
    ms_group_call *calls;    /* pending and abandoned calls, newest first */
    size_t n_abandoned;
    uint32_t next_req;
    uint32_t pipe_id;       /* the hub connection; 0 when there is none */
    uint8_t closing_status; /* the CLOSING the hub sent on pipe_id, 0 if none */
    /* A CLOSING that came on a pipe before its start (inproc delivers as soon as the hub's end
     * is up): the start takes it over. */
    uint32_t early_pipe_id;
    uint8_t early_closing_status;
    int down_error;         /* the error of the CLOSING that ended the last connection, until
                             * a new one comes up: calls fail at once with it meanwhile */
    ms_group_membership *groups; /* sorted by group */
    size_t n_groups, cap_groups;
} ms_group_state;

/* Memberships (group_member.c), under s->mtx. add fails only with MSOCK_ENOMEM. */
int ms_group_membership_add(ms_group_state *st, uint32_t group, uint8_t role, bool has_master);
void ms_group_membership_remove(ms_group_state *st, uint32_t group);

/* Calls (group_calls.c). Under s->mtx, from the receive hook: hands a REPLY r (decoded from m)
 * to its call and returns the receiver's verdict on m. */
int ms_group_call_reply(ms_socket *s, ms_pipe *p, const ms_gw_msg *r, msock_msg *m);
/* Under s->mtx: the connection pipe_id is gone; its calls end with `error`. */
void ms_group_calls_fail(ms_group_state *st, uint32_t pipe_id, int error);
/* Frees every call (the socket is being freed; nobody waits any more). */
void ms_group_calls_free(ms_group_state *st);

/* The calls of msock.h (arguments checked by the caller). Each blocks up to
 * MSOCK_OPT_GROUP_TIMEOUT with no lock held. */
int ms_group_list(ms_socket *s, msock_group_info *list, size_t *n);
int ms_group_create(ms_socket *s, ms_gw_str name, ms_gw_str password, ms_gw_str master_password,
                    uint32_t capacity);
int ms_group_join(ms_socket *s, ms_gw_str name, ms_gw_str password, uint8_t role, uint32_t *group);
int ms_group_leave(ms_socket *s, uint32_t group, uint8_t op); /* op: MS_GW_LEAVE or MS_GW_DELETE */
int ms_group_whoami(ms_socket *s, uint64_t *id);
int ms_group_peers(ms_socket *s, uint64_t *ids, size_t *n);
int ms_group_relay(ms_socket *s, const uint64_t *to, size_t n, const void *buf, size_t len,
                   uint64_t *unknown, size_t *n_unknown);

/* Sends m's body to a joined group (group_member.c). Takes m on success; on failure m stays
 * the caller's as given. No lock held. */
int ms_group_send(ms_socket *s, uint32_t group, uint64_t to, msock_msg *m, bool nonblock);
/* What a message a group socket received is: 0, or MSOCK_EINVAL when its header is no group
 * header. */
int ms_group_msg_info(const msock_msg *m, msock_group_rx *rx);

#endif
