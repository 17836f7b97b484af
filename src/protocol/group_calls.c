/* group_calls.c: the group client's calls (list, create, join, leave, delete, whoami, peers,
 * relay): each sends its request under a fresh req and waits for the REPLY that carries it.
 * Any number of threads may call at once; the receive hook wakes each when its reply comes. */
#include <stdlib.h>

#include "core/clock.h"
#include "core/msg.h"
#include "protocol/group_member.h"
#include "protocol/protocol.h"
#include "socket/pipe.h"
#include "socket/sender.h"
#include "socket/socket.h"

/* Calls whose callers gave up waiting (join, leave, delete) stay until their reply comes, so
 * that the memberships still follow what the hub did; a hub that never answers costs at
 * most this many. */
#define GROUP_ABANDONED_MAX 64

struct ms_group_call {
    ms_group_call *next;
    uint32_t req;
    uint8_t op;
    uint8_t role;     /* JOIN */
    uint32_t group;   /* LEAVE, DELETE */
    uint32_t pipe_id; /* the connection carrying the request; 0 while it is being sent */
    int64_t deadline;
    bool done;        /* the reply came (reply, r), or the call failed (error) */
    bool abandoned;   /* its caller is gone; the reply only updates the memberships */
    int error;
    msock_msg *reply;
    ms_gw_msg r; /* the reply, pointing into its body */
};

static void call_free(ms_group_call *c)
{
    if (c->reply != NULL)
        ms_msg_free(c->reply);
    free(c);
}

static void call_unlink(ms_group_state *st, ms_group_call *c)
{
    for (ms_group_call **pp = &st->calls; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    if (c->abandoned)
        st->n_abandoned--;
}

/* Under s->mtx: the call that waits for req. */
static ms_group_call *call_find(ms_group_state *st, uint32_t req)
{
    for (ms_group_call *c = st->calls; c; c = c->next)
        if (c->req == req && !c->done)
            return c;
    return NULL;
}

/* Under s->mtx: what a reply means for the memberships (also when its caller is gone). */
static void call_apply(ms_group_state *st, ms_group_call *c, const ms_gw_msg *r)
{
    switch (c->op) {
    case MS_GW_JOIN:
        if (r->status == MS_GW_OK) {
            bool master = c->role == MSOCK_GROUP_MASTER || (r->flags & MS_GW_FLAG_MASTER);
            c->error = ms_group_membership_add(st, r->group, c->role, master);
        }
        break;
    case MS_GW_LEAVE:
    case MS_GW_DELETE:
        /* NOT_FOUND: the hub has us in no such group either. */
        if (r->status == MS_GW_OK || r->status == MS_GW_NOT_FOUND)
            ms_group_membership_remove(st, c->group);
        break;
    default: break;
    }
}

int ms_group_call_reply(ms_socket *s, ms_pipe *p, const ms_gw_msg *r, msock_msg *m)
{
    ms_group_state *st = ms_socket_proto(s);
    ms_group_call *c = call_find(st, r->req);
    if (c == NULL) {
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_STALE);
        return MS_RX_DROP;
    }
    if (c->op != r->op) {
        /* Replies come in the order of their requests: this hub lost track. */
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_MALFORMED);
        return MS_RX_CLOSE;
    }
    call_apply(st, c, r);
    if (c->abandoned) {
        call_unlink(st, c);
        call_free(c);
        return MS_RX_DROP;
    }
    c->reply = m;
    c->r = *r;
    c->done = true;
    pthread_cond_broadcast(&st->calls_cv);
    return MS_RX_TAKEN;
}

void ms_group_calls_fail(ms_group_state *st, uint32_t pipe_id, int error)
{
    ms_group_call **pp = &st->calls;
    while (*pp) {
        ms_group_call *c = *pp;
        if (c->pipe_id != pipe_id || c->done) {
            pp = &c->next;
        } else if (c->abandoned) {
            *pp = c->next;
            st->n_abandoned--;
            call_free(c);
        } else {
            c->done = true;
            c->error = error;
            pp = &c->next;
        }
    }
    pthread_cond_broadcast(&st->calls_cv);
}

void ms_group_calls_free(ms_group_state *st)
{
    while (st->calls) {
        ms_group_call *c = st->calls;
        st->calls = c->next;
        call_free(c);
    }
    st->n_abandoned = 0;
}

/* Starts a call of type op: a fresh req and the deadline, which covers waiting for a
 * connection too. Fails at once on a closed socket, and while the hub's last word on the
 * last connection (CLOSING) still holds. */
static int call_start(ms_socket *s, uint8_t op, ms_group_call **out)
{
    ms_group_state *st = ms_socket_proto(s);
    ms_group_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return MSOCK_ENOMEM;
    c->op = op;
    pthread_mutex_lock(&s->mtx);
    int rv = s->closing                                ? MSOCK_ECLOSED
             : st->pipe_id == 0 && st->down_error != 0 ? st->down_error
                                                       : 0;
    if (rv == 0) {
        c->deadline = ms_deadline_after(s->opts.group_timeout);
        do
            c->req = st->next_req++;
        while (call_find(st, c->req) != NULL);
        c->next = st->calls;
        st->calls = c;
    }
    pthread_mutex_unlock(&s->mtx);
    if (rv != 0) {
        free(c);
        return rv;
    }
    *out = c;
    return 0;
}

/* Under s->mtx: the caller stops waiting for c without its reply. */
static void call_give_up(ms_group_state *st, ms_group_call *c)
{
    bool changes_groups = c->op == MS_GW_JOIN || c->op == MS_GW_LEAVE || c->op == MS_GW_DELETE;
    if (c->done || c->pipe_id == 0 || !changes_groups) {
        call_unlink(st, c);
        call_free(c);
        return;
    }
    if (st->n_abandoned == GROUP_ABANDONED_MAX) {
        ms_group_call *oldest = NULL;
        for (ms_group_call *o = st->calls; o; o = o->next)
            if (o->abandoned)
                oldest = o;
        call_unlink(st, oldest);
        call_free(oldest);
    }
    c->abandoned = true;
    st->n_abandoned++;
}

/* Under s->mtx (released while sending): sends m for c on the hub connection, waiting for
 * one until c's deadline. A connection that goes before it takes m is not the end: the next
 * one gets it, unless the hub said CLOSING on the way out (its reason is the answer then).
 * 0 once sent (m taken), else an error (m stays the caller's). */
static int call_send(ms_socket *s, ms_group_call *c, msock_msg *m)
{
    ms_group_state *st = ms_socket_proto(s);
    uint32_t refused = 0; /* the connection that just failed us, until its removal */
    for (;;) {
        if (s->closing)
            return MSOCK_ECLOSED;
        if (st->pipe_id == 0 && st->down_error != 0)
            return st->down_error;
        if (st->pipe_id == 0 || st->pipe_id == refused) {
            if (!ms_cond_wait_until(&st->calls_cv, &s->mtx, c->deadline))
                return MSOCK_ETIMEDOUT;
            continue;
        }
        /* Sent to that very connection, so that a reply can only come on the pipe whose
         * removal ends the call. */
        c->pipe_id = m->pipe_id = st->pipe_id;
        c->done = false;
        c->error = 0;
        pthread_mutex_unlock(&s->mtx);
        int rv = ms_sender_send(s, m, c->deadline, false, NULL);
        pthread_mutex_lock(&s->mtx);
        if (rv != MSOCK_ENOENT && rv != MSOCK_ECLOSED)
            return rv;
        refused = c->pipe_id;
        c->pipe_id = 0;
    }
}

/* Sends the request head[0..head_len) + body[0..len) for c and waits for its reply. Returns
 * 0 with the reply in c (now the caller's alone: call_free it), or an error (c is gone). */
static int call_run(ms_socket *s, ms_group_call *c, const uint8_t *head, size_t head_len,
                    const void *body, size_t len)
{
    ms_group_state *st = ms_socket_proto(s);
    msock_msg *m = NULL;
    int rv = head_len == 0 ? MSOCK_EINVAL : ms_msg_alloc(&m, head_len + len);
    if (rv == 0) {
        memcpy(m->body, head, head_len);
        if (len > 0)
            memcpy(m->body + head_len, body, len);
    }
    pthread_mutex_lock(&s->mtx);
    if (rv == 0 && (rv = call_send(s, c, m)) != 0)
        ms_msg_free(m);
    while (rv == 0 && !c->done) {
        if (s->closing)
            rv = MSOCK_ECLOSED;
        else if (!ms_cond_wait_until(&st->calls_cv, &s->mtx, c->deadline) && !c->done)
            rv = MSOCK_ETIMEDOUT;
    }
    if (rv == 0 && c->error != 0)
        rv = s->closing ? MSOCK_ECLOSED : c->error;
    if (rv == 0)
        call_unlink(st, c);
    else
        call_give_up(st, c);
    pthread_mutex_unlock(&s->mtx);
    return rv;
}

/* A whole call whose request has no body; the reply's status as an error. */
static int call_simple(ms_socket *s, ms_group_call *c, const uint8_t *head, size_t head_len)
{
    int rv = call_run(s, c, head, head_len, NULL, 0);
    if (rv == 0) {
        rv = ms_gw_status_error(c->r.status);
        call_free(c);
    }
    return rv;
}

/* Runs a call whose request is its type and req id alone (LIST, WHOAMI, PEERS); on success
 * *out holds the answered call for the caller to read and free. */
static int call_request(ms_socket *s, uint8_t type, ms_group_call **out)
{
    uint8_t head[8];
    int rv = call_start(s, type, out);
    if (rv != 0)
        return rv;
    size_t len = ms_gw_put_request(head, sizeof head, type, (*out)->req);
    return call_run(s, *out, head, len, NULL, 0);
}

int ms_group_list(ms_socket *s, msock_group_info *list, size_t *n)
{
    ms_group_call *c;
    int rv = call_request(s, MS_GW_LIST, &c);
    if (rv != 0)
        return rv;
    if ((rv = ms_gw_status_error(c->r.status)) == 0) {
        size_t pos = 0, i = 0;
        ms_gw_list_entry e;
        while (ms_gw_list_next(&c->r, &pos, &e)) {
            if (i < *n) {
                msock_group_info *g = &list[i];
                g->id = e.group;
                g->members = e.members;
                g->capacity = e.capacity;
                g->has_master = (e.flags & MS_GW_FLAG_MASTER) != 0;
                g->name_len = e.name.len;
                memcpy(g->name, e.name.p, e.name.len);
                g->name[e.name.len] = 0;
            }
            i++;
        }
        *n = i;
    }
    call_free(c);
    return rv;
}

int ms_group_create(ms_socket *s, ms_gw_str name, ms_gw_str password, ms_gw_str master_password,
                    uint32_t capacity)
{
    ms_group_call *c;
    uint8_t head[1 + 4 + 4 + 3 * 256];
    int rv = call_start(s, MS_GW_CREATE, &c);
    if (rv != 0)
        return rv;
    return call_simple(s, c, head,
                       ms_gw_put_create(head, sizeof head, c->req, capacity, name, password,
                                        master_password));
}

int ms_group_join(ms_socket *s, ms_gw_str name, ms_gw_str password, uint8_t role, uint32_t *group)
{
    ms_group_call *c;
    uint8_t head[1 + 4 + 1 + 2 * 256];
    int rv = call_start(s, MS_GW_JOIN, &c);
    if (rv != 0)
        return rv;
    c->role = role;
    size_t len = ms_gw_put_join(head, sizeof head, c->req, role, name, password);
    if ((rv = call_run(s, c, head, len, NULL, 0)) != 0)
        return rv;
    if ((rv = ms_gw_status_error(c->r.status)) == 0 && group != NULL)
        *group = c->r.group;
    call_free(c);
    return rv;
}

int ms_group_leave(ms_socket *s, uint32_t group, uint8_t op)
{
    ms_group_call *c;
    uint8_t head[16];
    int rv = call_start(s, op, &c);
    if (rv != 0)
        return rv;
    c->group = group;
    return call_simple(s, c, head, ms_gw_put_group_op(head, sizeof head, op, c->req, group));
}

int ms_group_whoami(ms_socket *s, uint64_t *id)
{
    ms_group_call *c;
    int rv = call_request(s, MS_GW_WHOAMI, &c);
    if (rv != 0)
        return rv;
    if ((rv = ms_gw_status_error(c->r.status)) == 0)
        *id = c->r.id;
    call_free(c);
    return rv;
}

int ms_group_peers(ms_socket *s, uint64_t *ids, size_t *n)
{
    ms_group_call *c;
    int rv = call_request(s, MS_GW_PEERS, &c);
    if (rv != 0)
        return rv;
    if ((rv = ms_gw_status_error(c->r.status)) == 0) {
        for (size_t i = 0; i < c->r.n_ids && i < *n; i++)
            ids[i] = ms_gw_id_at(c->r.ids, i);
        *n = c->r.n_ids;
    }
    call_free(c);
    return rv;
}

int ms_group_relay(ms_socket *s, const uint64_t *to, size_t n, const void *buf, size_t len,
                   uint64_t *unknown, size_t *n_unknown)
{
    ms_group_call *c;
    uint8_t head[MS_GW_HEAD_MAX];
    int rv = call_start(s, MS_GW_RELAY, &c);
    if (rv != 0)
        return rv;
    size_t head_len = ms_gw_put_relay_head(head, sizeof head, c->req, to, n);
    if ((rv = call_run(s, c, head, head_len, buf, len)) != 0)
        return rv;
    rv = ms_gw_status_error(c->r.status);
    if (n_unknown != NULL && (rv == 0 || rv == MSOCK_ENOENT)) {
        for (size_t i = 0; unknown != NULL && i < c->r.n_ids && i < *n_unknown; i++)
            unknown[i] = ms_gw_id_at(c->r.ids, i);
        *n_unknown = c->r.n_ids;
    }
    call_free(c);
    return rv;
}
