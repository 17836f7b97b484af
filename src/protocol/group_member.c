/* group_member.c: the group client's protocol (0xF01): one hub connection, the receive hook
 * that sorts what the hub sends (replies to calls, data, relays, events, CLOSING), the groups
 * this client is in, and sending data to a group. */
#include <stdlib.h>

#include "core/clock.h"
#include "core/msg.h"
#include "protocol/group_member.h"
#include "protocol/protocol.h"
#include "socket/pipe.h"
#include "socket/receiver.h"
#include "socket/sender.h"
#include "socket/socket.h"

/* The local DISCONNECTED event's header: a CLOSING message (type, status). The hub's own
 * CLOSING messages are never queued, so this header means only this event. */
#define GROUP_DISCONNECTED_LEN 2
#define GROUP_EVENT_LEN 15 /* type, event, group, who, status */
#define GROUP_DATA_HEAD_LEN 13 /* type, group, from (a SEND head is as long: type, group, to) */
#define GROUP_RELAYED_HEAD_LEN 9

/* Index of the first membership whose group is >= group. */
static size_t membership_index(const ms_group_state *st, uint32_t group)
{
    size_t lo = 0, hi = st->n_groups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->groups[mid].group < group)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static ms_group_membership *membership_get(ms_group_state *st, uint32_t group)
{
    size_t i = membership_index(st, group);
    return i < st->n_groups && st->groups[i].group == group ? &st->groups[i] : NULL;
}

int ms_group_membership_add(ms_group_state *st, uint32_t group, uint8_t role, bool has_master)
{
    size_t i = membership_index(st, group);
    if (i == st->n_groups || st->groups[i].group != group) {
        if (st->n_groups == st->cap_groups) {
            size_t cap = st->cap_groups ? st->cap_groups * 2 : 8;
            ms_group_membership *g = realloc(st->groups, cap * sizeof *g);
            if (g == NULL)
                return MSOCK_ENOMEM;
            st->groups = g;
            st->cap_groups = cap;
        }
        memmove(&st->groups[i + 1], &st->groups[i], (st->n_groups - i) * sizeof *st->groups);
        st->n_groups++;
    }
    st->groups[i] = (ms_group_membership){.group = group, .role = role, .has_master = has_master};
    return 0;
}

void ms_group_membership_remove(ms_group_state *st, uint32_t group)
{
    size_t i = membership_index(st, group);
    if (i == st->n_groups || st->groups[i].group != group)
        return;
    memmove(&st->groups[i], &st->groups[i + 1], (st->n_groups - i - 1) * sizeof *st->groups);
    st->n_groups--;
}

static int group_init_cb(ms_socket *s)
{
    ms_group_state *st = ms_socket_proto(s);
    ms_cond_init(&st->calls_cv);
    st->next_req = (uint32_t)ms_random_u64();
    return 0;
}

static void group_fini_cb(ms_socket *s)
{
    ms_group_state *st = ms_socket_proto(s);
    ms_group_calls_free(st);
    free(st->groups);
    pthread_cond_destroy(&st->calls_cv);
}

/* Waiting calls end with MSOCK_ECLOSED (s->closing is set). */
static void group_close_cb(ms_socket *s)
{
    ms_group_state *st = ms_socket_proto(s);
    pthread_mutex_lock(&s->mtx);
    pthread_cond_broadcast(&st->calls_cv);
    pthread_mutex_unlock(&s->mtx);
}

/* A new hub connection, now able to carry messages (a pipe vetoed before this never
 * counts): a new client with no groups; max_pipes 1 makes it the only one. */
static void group_pipe_start_cb(ms_socket *s, ms_pipe *p)
{
    ms_group_state *st = ms_socket_proto(s);
    pthread_mutex_lock(&s->mtx);
    /* A pipe closed already (from an ADD_POST callback) had its removal, which came first. */
    if (!atomic_load(&p->gone_done)) {
        st->pipe_id = p->id;
        st->closing_status = st->early_pipe_id == p->id ? st->early_closing_status : 0;
        st->early_pipe_id = 0;
        st->down_error = 0;
        pthread_cond_broadcast(&st->calls_cv); /* calls waiting for a connection */
    }
    pthread_mutex_unlock(&s->mtx);
}

/* Under s->mtx: tells a reader that the connection dropped (a full queue misses it: a peer
 * that makes us reconnect over and over must not grow it). */
static void group_queue_disconnected(ms_socket *s, ms_pipe *p, uint8_t status)
{
    const uint8_t head[GROUP_DISCONNECTED_LEN] = {MS_GW_CLOSING, status};
    msock_msg *m;
    if (s->closing || ms_msg_alloc(&m, 0) != 0)
        return;
    m->pipe_id = p->id;
    if (ms_msg_header_append(m, head, sizeof head) != 0 || ms_receiver_push(s, m) != 0) {
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_QUEUE_FULL);
        ms_msg_free(m);
    }
}

/* The hub connection is gone, and with it every membership and every call on it. */
static void group_pipe_rem_cb(ms_socket *s, ms_pipe *p)
{
    ms_group_state *st = ms_socket_proto(s);
    pthread_mutex_lock(&s->mtx);
    if (st->early_pipe_id == p->id)
        st->early_pipe_id = 0; /* gone before its start: nobody will ask */
    if (st->pipe_id == p->id) {
        int why = st->closing_status != 0 ? ms_gw_status_error(st->closing_status) : 0;
        st->pipe_id = 0;
        st->down_error = why;
        st->n_groups = 0;
        ms_group_calls_fail(st, p->id, why != 0 ? why : MSOCK_ECONNRESET);
        group_queue_disconnected(s, p, st->closing_status);
    }
    pthread_mutex_unlock(&s->mtx);
}

/* Under s->mtx: what an event means for our memberships. */
static void group_event_apply(ms_group_state *st, const ms_gw_msg *g)
{
    ms_group_membership *mb = membership_get(st, g->group);
    if (mb == NULL)
        return;
    switch (g->event) {
    case MS_GW_EV_MASTER_JOINED: mb->has_master = true; break;
    case MS_GW_EV_MASTER_LEFT: mb->has_master = mb->role == MSOCK_GROUP_MASTER; break;
    case MS_GW_EV_GROUP_DELETED: ms_group_membership_remove(st, g->group); break;
    case MS_GW_EV_UNDELIVERED:
        if (g->status == MS_GW_NO_MASTER && mb->role != MSOCK_GROUP_MASTER)
            mb->has_master = false;
        break;
    default: break;
    }
}

/* Moves the first n body bytes (the wire head) into the header, where
 * msock_group_msg_info reads them; the body is what the application sent. */
static int group_head_to_header(msock_msg *m, size_t n)
{
    if (ms_msg_header_append(m, m->body, n) != 0)
        return MS_RX_DROP;
    m->body += n;
    m->len -= n;
    return MS_RX_KEEP;
}

static int group_recv_hook_cb(ms_socket *s, ms_pipe *p, msock_msg *m)
{
    ms_group_state *st = ms_socket_proto(s);
    if (p->id != st->pipe_id) {
        ms_gw_msg early;
        if (st->pipe_id == 0 && ms_gw_decode(m->body, m->len, true, &early) == 0 &&
            early.type == MS_GW_CLOSING) {
            /* The hub's reason, faster than this pipe's start (hub full, over inproc). */
            st->early_pipe_id = p->id;
            st->early_closing_status = early.status;
            return MS_RX_DROP;
        }
        /* What an old connection still had in flight: its memberships are gone. */
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_STALE);
        return MS_RX_DROP;
    }
    ms_gw_msg g;
    if (ms_gw_decode(m->body, m->len, true, &g) != 0) {
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_MALFORMED);
        return MS_RX_CLOSE;
    }
    switch (g.type) {
    case MS_GW_REPLY: return ms_group_call_reply(s, p, &g, m);
    case MS_GW_DATA:
    case MS_GW_RELAYED: return group_head_to_header(m, g.head_len);
    case MS_GW_EVENT:
        group_event_apply(st, &g);
        return group_head_to_header(m, m->len);
    case MS_GW_CLOSING: st->closing_status = g.status; return MS_RX_DROP;
    default:
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_MALFORMED);
        return MS_RX_CLOSE;
    }
}

/* msock_send and msock_sendmsg: a group message needs a group (msock_group_send). */
static int group_plain_send_cb(ms_socket *s, msock_msg *m, int64_t deadline, bool nonblock)
{
    MS_UNUSED(s), MS_UNUSED(m), MS_UNUSED(deadline), MS_UNUSED(nonblock);
    return MSOCK_ENOTSUP;
}

/* Under s->mtx: whether this client may send to group now, by what it knows. */
static int group_send_check(ms_group_state *st, uint32_t group, uint64_t to)
{
    const ms_group_membership *mb = membership_get(st, group);
    if (mb == NULL)
        return MSOCK_ENOENT;
    if (mb->role == MSOCK_GROUP_MASTER)
        return 0;
    if (to != 0)
        return MSOCK_EINVAL;
    return mb->has_master ? 0 : MSOCK_ENOMASTER;
}

int ms_group_send(ms_socket *s, uint32_t group, uint64_t to, msock_msg *m, bool nonblock)
{
    ms_group_state *st = ms_socket_proto(s);
    pthread_mutex_lock(&s->mtx);
    int rv = s->closing ? MSOCK_ECLOSED : group_send_check(st, group, to);
    pthread_mutex_unlock(&s->mtx);
    if (rv != 0)
        return rv;
    /* The SEND head goes into the header, so the body is sent as it is; the caller's header
     * and pipe come back if the send fails. */
    uint8_t saved[MS_MSG_HEADER_EXT_MAX], head[GROUP_DATA_HEAD_LEN];
    size_t saved_len = m->header_len, head_len = ms_gw_put_send_head(head, sizeof head, group, to);
    uint32_t saved_pipe = m->pipe_id;
    memcpy(saved, ms_msg_hdr(m), saved_len);
    ms_msg_header_clear(m);
    m->pipe_id = 0;
    if ((rv = ms_msg_header_append(m, head, head_len)) == 0) {
        ms_receiver_note_send(s->id);
        int64_t timeout = atomic_load_explicit(&s->send_timeout, memory_order_relaxed);
        rv = ms_sender_send(s, m, ms_deadline_after(timeout), nonblock, NULL);
    }
    if (rv != 0) {
        ms_msg_header_clear(m);
        if (ms_msg_header_append(m, saved, saved_len) != 0)
            m->header_len = 0; /* out of memory for a spilled header: drop it, keep the body */
        m->pipe_id = saved_pipe;
    }
    return rv;
}

static const uint8_t *group_msg_header(const msock_msg *m)
{
    return m->header_ext != NULL ? m->header_ext : m->header;
}

int ms_group_msg_info(const msock_msg *m, msock_group_rx *rx)
{
    const uint8_t *h = group_msg_header(m);
    size_t len = m->header_len;
    msock_group_rx out = {0};
    if (len == GROUP_DATA_HEAD_LEN && h[0] == MS_GW_DATA) {
        out.kind = MSOCK_GROUP_DATA;
        out.group = ms_get_u32be(h + 1);
        out.from = ms_get_u64be(h + 5);
    } else if (len == GROUP_RELAYED_HEAD_LEN && h[0] == MS_GW_RELAYED) {
        out.kind = MSOCK_GROUP_RELAYED;
        out.from = ms_get_u64be(h + 1);
    } else if (len == GROUP_EVENT_LEN && h[0] == MS_GW_EVENT && h[1] >= MS_GW_EV_MEMBER_JOINED &&
               h[1] <= MS_GW_EV_UNDELIVERED) {
        /* The public kinds follow the wire's event numbers, one up. */
        out.kind = MSOCK_GROUP_EV_JOINED + (h[1] - MS_GW_EV_MEMBER_JOINED);
        out.group = ms_get_u32be(h + 2);
        out.from = ms_get_u64be(h + 6);
        out.error = h[1] == MS_GW_EV_UNDELIVERED ? ms_gw_status_error(h[14]) : 0;
    } else if (len == GROUP_DISCONNECTED_LEN && h[0] == MS_GW_CLOSING) {
        out.kind = MSOCK_GROUP_EV_DISCONNECTED;
        out.error = ms_gw_status_error(h[1]);
    } else {
        return MSOCK_EINVAL;
    }
    if (rx != NULL)
        *rx = out;
    return 0;
}

const ms_protocol ms_protocol_group = {
    .self = MSOCK_PROTO_GROUP, .peer = MSOCK_PROTO_GROUP_HUB, .name = "group",
    .peer_name = "group-hub", .max_pipes = 1, .send_policy = MS_SEND_ONE,
    .recv_policy = MS_RECV_ALL, .options = MS_POPT_GROUP,
    .recv_maxsz = 1024 * 1024 + MS_GW_HEAD_MAX, .state_size = sizeof(ms_group_state),
    .init = group_init_cb, .fini = group_fini_cb, .close = group_close_cb,
    .pipe_start = group_pipe_start_cb, .pipe_rem = group_pipe_rem_cb,
    .recv_hook = group_recv_hook_cb, .send = group_plain_send_cb,
};
