/* rep.c: REP (0x31) and RESPONDENT (0x63): a request's backtrace is taken off on receipt and
 * kept with the message and its context; the reply carries it back on the request's pipe.
 * Raw mode prepends the pipe id to the backtrace instead, and routes replies by it. */
#include <sched.h>
#include <string.h>

#include "core/msg.h"
#include "protocol/backtrace.h"
#include "protocol/protocol.h"
#include "socket/ctx.h"
#include "socket/receiver.h"
#include "socket/sender.h"
#include "socket/socket.h"

/* The request a context answers next. A context is meant for one thread at a time, but the
 * socket's built-in one may be shared, so its state sits behind a tiny lock. */
typedef struct rep_ctx {
    atomic_flag lock;
    uint32_t pipe_id; /* 0: no request to answer */
    size_t bt_len;
    uint8_t bt[MS_MSG_HEADER_EXT_MAX];
} rep_ctx;

static void rep_lock(rep_ctx *rc)
{
    while (atomic_flag_test_and_set_explicit(&rc->lock, memory_order_acquire))
        sched_yield();
}

static void rep_unlock(rep_ctx *rc)
{
    atomic_flag_clear_explicit(&rc->lock, memory_order_release);
}

static void rep_ctx_init(ms_ctx *c)
{
    rep_ctx *rc = ms_ctx_data(c);
    atomic_flag_clear(&rc->lock);
}

static int rep_recv_hook(ms_socket *s, ms_pipe *p, msock_msg *m)
{
    size_t max_words = (size_t)s->opts.maxttl;
    if (s->proto->raw) {
        uint8_t word[4];
        ms_put32(word, m->pipe_id);
        if (ms_msg_header_append(m, word, 4) != 0)
            return MS_RX_DROP;
        max_words++; /* the pipe's word is ours, not a hop */
    }
    switch (ms_backtrace_take(m, max_words)) {
    case MS_BT_OK:
        return MS_RX_KEEP;
    case MS_BT_TOO_LONG:
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_TTL);
        return MS_RX_DROP;
    default:
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_MALFORMED);
        return MS_RX_CLOSE;
    }
}

/* Sends a reply whose pipe is set; a pipe that is gone loses it (as the requester's resend
 * will find another way). */
static int rep_send_to_pipe(ms_socket *s, msock_msg *m, int64_t deadline, bool nonblock)
{
    int rv = ms_sender_send(s, m, deadline, nonblock, NULL);
    if (rv == MSOCK_ENOENT || (rv == MSOCK_ECLOSED && !atomic_load(&s->closing_flag))) {
        ms_protocol_count(s, NULL, MSOCK_STAT_DROPS_NO_PIPE);
        ms_msg_free(m);
        return 0;
    }
    return rv;
}

static int rep_ctx_recv(ms_ctx *c, msock_msg **out, int64_t deadline, bool nonblock)
{
    if (atomic_load(&c->closed))
        return MSOCK_ECLOSED;
    msock_msg *m;
    int rv = ms_receiver_recv(c->sock, &m, deadline, nonblock, &c->closed);
    if (rv != 0)
        return rv;
    rep_ctx *rc = ms_ctx_data(c);
    rep_lock(rc);
    memcpy(rc->bt, ms_msg_hdr(m), m->header_len);
    rc->bt_len = m->header_len;
    rc->pipe_id = m->pipe_id;
    rep_unlock(rc);
    *out = m;
    return 0;
}

static int rep_ctx_send(ms_ctx *c, msock_msg *m, int64_t deadline, bool nonblock)
{
    if (atomic_load(&c->closed))
        return MSOCK_ECLOSED;
    ms_socket *s = c->sock;
    rep_ctx *rc = ms_ctx_data(c);
    /* A received request sent back answers itself; a fresh message answers the context's. */
    if (m->header_len > 0 && m->pipe_id != 0)
        return rep_send_to_pipe(s, m, deadline, nonblock);
    rep_lock(rc);
    uint32_t pipe_id = rc->pipe_id;
    if (pipe_id != 0) {
        ms_msg_header_clear(m);
        if (ms_msg_header_append(m, rc->bt, rc->bt_len) != 0)
            pipe_id = 0;
        else
            rc->pipe_id = 0;
    }
    rep_unlock(rc);
    if (pipe_id == 0)
        return MSOCK_ESTATE;
    m->pipe_id = pipe_id;
    int rv = rep_send_to_pipe(s, m, deadline, nonblock);
    if (rv != 0) {
        /* Not sent (timeout, closed): the request is still to be answered. */
        rep_lock(rc);
        if (rc->pipe_id == 0) {
            memcpy(rc->bt, ms_msg_hdr(m), m->header_len);
            rc->bt_len = m->header_len;
            rc->pipe_id = pipe_id;
        }
        rep_unlock(rc);
        ms_msg_header_clear(m);
        m->pipe_id = 0;
    }
    return rv;
}

static int rep_raw_send(ms_socket *s, msock_msg *m, int64_t deadline, bool nonblock)
{
    if (m->header_len < 4)
        return MSOCK_EINVAL;
    uint8_t *hdr = ms_msg_hdr(m);
    uint8_t word[4];
    memcpy(word, hdr, 4);
    uint32_t saved_pipe = m->pipe_id;
    m->pipe_id = ms_get32(word);
    ms_msg_header_trim(m, 4);
    int rv = m->pipe_id != 0 ? rep_send_to_pipe(s, m, deadline, nonblock) : MSOCK_EINVAL;
    if (rv != 0) {
        /* Give the caller the message back as it was. */
        uint8_t whole[MS_MSG_HEADER_EXT_MAX];
        size_t rest = m->header_len;
        memcpy(whole, word, 4);
        memcpy(whole + 4, ms_msg_hdr(m), rest);
        ms_msg_header_clear(m);
        ms_msg_header_append(m, whole, rest + 4);
        m->pipe_id = saved_pipe;
    }
    return rv;
}

#define REPLIER(self_id, peer_id, self_name, peer_name_)                                  \
    {                                                                                     \
        .self = self_id, .peer = peer_id, .name = self_name, .peer_name = peer_name_,     \
        .send_policy = MS_SEND_ONE, .recv_policy = MS_RECV_ALL, .options = MS_POPT_MAXTTL, \
        .recv_hook = rep_recv_hook, .ctx_size = sizeof(rep_ctx), .ctx_init = rep_ctx_init, \
        .ctx_send = rep_ctx_send, .ctx_recv = rep_ctx_recv,                               \
    }
#define REPLIER_RAW(self_id, peer_id, self_name, peer_name_)                              \
    {                                                                                     \
        .self = self_id, .peer = peer_id, .name = self_name, .peer_name = peer_name_,     \
        .raw = true, .send_policy = MS_SEND_ONE, .recv_policy = MS_RECV_ALL,              \
        .options = MS_POPT_MAXTTL, .recv_hook = rep_recv_hook, .send = rep_raw_send,      \
    }

const ms_protocol ms_protocol_rep = REPLIER(MSOCK_PROTO_REP, MSOCK_PROTO_REQ, "rep", "req");
const ms_protocol ms_protocol_rep_raw = REPLIER_RAW(MSOCK_PROTO_REP, MSOCK_PROTO_REQ, "rep", "req");
const ms_protocol ms_protocol_respondent =
    REPLIER(MSOCK_PROTO_RESPONDENT, MSOCK_PROTO_SURVEYOR, "respondent", "surveyor");
const ms_protocol ms_protocol_respondent_raw =
    REPLIER_RAW(MSOCK_PROTO_RESPONDENT, MSOCK_PROTO_SURVEYOR, "respondent", "surveyor");

int msock_rep_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_rep, s);
}

int msock_respondent_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_respondent, s);
}
