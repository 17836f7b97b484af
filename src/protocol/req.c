/* req.c: REQ (0x30): each context has at most one request outstanding, under an id (bit 31
 * set) that its reply must carry; replies with other ids are stale. A copy of the request is
 * kept and sent again after the resend time, or at once when the pipe carrying it closes.
 * Resends run on a reactor thread. Raw mode sends what it is given and takes each reply's
 * backtrace into the header. */
#include "core/clock.h"
#include "core/msg.h"
#include "core/reactor.h"
#include "protocol/backtrace.h"
#include "protocol/protocol.h"
#include "protocol/reqid.h"
#include "socket/ctx.h"
#include "socket/pipe.h"
#include "socket/sender.h"
#include "socket/socket.h"

/* A request whose send failed for want of room is tried again this much later. */
#define REQ_RETRY_MS 100
/* Resends made per scan; the rest wait for the next one, which comes at once. */
#define REQ_SCAN_BATCH 32

typedef struct req_state {
    ms_socket *sock;
    ms_reqids ids;       /* id -> context; under s->mtx */
    uint64_t pipes_gone; /* bumped by every pipe removal; under s->mtx */
    ms_reactor *reactor;
    ms_task scan_task;
    ms_timer timer;
    bool timer_armed;             /* reactor thread only; an armed timer holds the socket */
    atomic_int_fast64_t timer_at; /* when the armed timer fires, MS_NEVER if none */
} req_state;

typedef struct req_ctx {
    uint32_t id;         /* outstanding request, 0 if none */
    msock_msg *request;  /* copy kept for resends (header = id); NULL while the first send runs */
    msock_msg *reply;    /* arrived, not yet received */
    atomic_bool has_reply;
    uint32_t pipe_id;    /* pipe carrying the request; 0 once it is gone (resend at once) */
    int64_t resend_at;   /* ms clock; MS_NEVER: no timed resend */
    bool resending;      /* the reactor is sending a copy now */
} req_ctx;

static void req_kick(ms_socket *s)
{
    req_state *st = ms_socket_proto(s);
    ms_socket_hold(s);
    if (!ms_reactor_post(st->reactor, &st->scan_task))
        ms_socket_release(s); /* already queued: that run holds its own reference */
}

/* Reactor thread: arms the timer for `next` (MS_NEVER: disarms it). */
static void req_arm(req_state *st, int64_t next, int64_t now)
{
    if (next == MS_NEVER || atomic_load(&st->sock->closing_flag)) {
        if (st->timer_armed) {
            ms_timer_cancel(st->reactor, &st->timer);
            st->timer_armed = false;
            atomic_store(&st->timer_at, MS_NEVER);
            ms_socket_release(st->sock); /* the caller still holds one */
        }
        return;
    }
    if (!st->timer_armed) {
        ms_socket_hold(st->sock);
        st->timer_armed = true;
    }
    atomic_store(&st->timer_at, next);
    ms_timer_schedule(st->reactor, &st->timer, next > now ? next - now : 0);
}

typedef struct req_resend {
    ms_ctx *ctx;
    msock_msg *copy;
    uint32_t id;
} req_resend;

/* Reactor thread: sends every request that is due, then sets the timer for the next one. */
static void req_scan(ms_socket *s)
{
    req_state *st = ms_socket_proto(s);
    req_resend due[REQ_SCAN_BATCH];
    size_t n = 0;
    int64_t now = ms_clock_ms(), next = MS_NEVER;
    pthread_mutex_lock(&s->mtx);
    for (ms_ctx *c = s->closing ? NULL : s->ctxs; c; c = c->next) {
        req_ctx *rc = ms_ctx_data(c);
        if (rc->id == 0 || rc->request == NULL || rc->resending || rc->reply != NULL)
            continue;
        if (rc->pipe_id != 0 && rc->resend_at > now) {
            next = MS_MIN(next, rc->resend_at);
        } else if (n == REQ_SCAN_BATCH) {
            next = now;
        } else if (ms_msg_dup(&due[n].copy, rc->request) == 0) {
            rc->resending = true;
            atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
            due[n].ctx = c;
            due[n++].id = rc->id;
        } else {
            next = MS_MIN(next, now + REQ_RETRY_MS);
        }
    }
    pthread_mutex_unlock(&s->mtx);
    for (size_t i = 0; i < n; i++) {
        uint32_t pipe = 0;
        pthread_mutex_lock(&s->mtx);
        uint64_t gone = st->pipes_gone;
        pthread_mutex_unlock(&s->mtx);
        int rv = ms_sender_send(s, due[i].copy, MS_NEVER, true, &pipe);
        if (rv != 0)
            ms_msg_free(due[i].copy);
        req_ctx *rc = ms_ctx_data(due[i].ctx);
        pthread_mutex_lock(&s->mtx);
        rc->resending = false;
        if (rc->id == due[i].id) {
            int64_t resend = ms_ctx_resend_time(due[i].ctx);
            rc->pipe_id = rv == 0 && st->pipes_gone == gone ? pipe : 0;
            rc->resend_at = rv != 0 ? now + REQ_RETRY_MS : resend > 0 ? now + resend : MS_NEVER;
            next = MS_MIN(next, rc->pipe_id == 0 && rv == 0 ? now : rc->resend_at);
        }
        pthread_mutex_unlock(&s->mtx);
        ms_ctx_release(due[i].ctx);
    }
    req_arm(st, next, now);
}

static void req_scan_task(ms_task *t)
{
    req_state *st = MS_CONTAINER_OF(t, req_state, scan_task);
    ms_socket *s = st->sock;
    req_scan(s);
    ms_socket_release(s);
}

static void req_timer_fired(ms_timer *t)
{
    req_state *st = MS_CONTAINER_OF(t, req_state, timer);
    ms_socket *s = st->sock;
    st->timer_armed = false;
    atomic_store(&st->timer_at, MS_NEVER);
    req_scan(s);
    ms_socket_release(s); /* the armed timer's reference */
}

static int req_init(ms_socket *s)
{
    req_state *st = ms_socket_proto(s);
    st->sock = s;
    ms_reqids_init(&st->ids);
    st->reactor = ms_reactor_pick();
    ms_task_init(&st->scan_task, req_scan_task);
    ms_timer_init(&st->timer, req_timer_fired);
    atomic_init(&st->timer_at, MS_NEVER);
    return 0;
}

static void req_fini(ms_socket *s)
{
    req_state *st = ms_socket_proto(s);
    ms_reqids_fini(&st->ids);
}

static void req_close(ms_socket *s)
{
    req_kick(s); /* the scan sees the socket closing and disarms the timer */
}

static void req_pipe_start(ms_socket *s, ms_pipe *p)
{
    (void)p;
    req_kick(s); /* requests waiting for a pipe go now */
}

static void req_pipe_rem(ms_socket *s, ms_pipe *p)
{
    req_state *st = ms_socket_proto(s);
    bool orphans = false;
    pthread_mutex_lock(&s->mtx);
    st->pipes_gone++;
    for (ms_ctx *c = s->ctxs; c; c = c->next) {
        req_ctx *rc = ms_ctx_data(c);
        if (rc->id != 0 && rc->pipe_id == p->id) {
            rc->pipe_id = 0;
            orphans = true;
        }
    }
    pthread_mutex_unlock(&s->mtx);
    if (orphans)
        req_kick(s);
}

static int req_recv_hook(ms_socket *s, ms_pipe *p, msock_msg *m)
{
    req_state *st = ms_socket_proto(s);
    if (m->len < 4) {
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_MALFORMED);
        return MS_RX_CLOSE;
    }
    ms_ctx *c = ms_reqids_get(&st->ids, ms_get32(m->body));
    req_ctx *rc = c ? ms_ctx_data(c) : NULL;
    if (rc == NULL || rc->reply != NULL) {
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_STALE);
        return MS_RX_DROP;
    }
    m->body += 4;
    m->len -= 4;
    rc->reply = m;
    atomic_store_explicit(&rc->has_reply, true, memory_order_release);
    pthread_cond_broadcast(&c->cv);
    if (c == s->ctx0)
        ms_socket_update_fds(s);
    return MS_RX_TAKEN;
}

/* Under s->mtx: forgets the context's request; returns the messages to free. */
static void req_forget(req_state *st, req_ctx *rc, msock_msg **req, msock_msg **reply)
{
    if (rc->id != 0)
        ms_reqids_remove(&st->ids, rc->id);
    *req = rc->request;
    *reply = rc->reply;
    rc->id = 0;
    rc->request = rc->reply = NULL;
    atomic_store(&rc->has_reply, false);
}

static void req_ctx_fini(ms_ctx *c)
{
    msock_msg *req, *reply;
    req_forget(ms_socket_proto(c->sock), ms_ctx_data(c), &req, &reply);
    if (req)
        ms_msg_free(req);
    if (reply)
        ms_msg_free(reply);
}

static int req_ctx_send(ms_ctx *c, msock_msg *m, int64_t deadline, bool nonblock)
{
    ms_socket *s = c->sock;
    req_state *st = ms_socket_proto(s);
    req_ctx *rc = ms_ctx_data(c);
    msock_msg *old_req, *old_reply;
    uint32_t id = 0;
    pthread_mutex_lock(&s->mtx);
    if (atomic_load(&c->closed)) {
        pthread_mutex_unlock(&s->mtx);
        return MSOCK_ECLOSED;
    }
    req_forget(st, rc, &old_req, &old_reply); /* a new request cancels the last one */
    if (c == s->ctx0)
        ms_socket_update_fds(s);
    int rv = ms_reqids_alloc(&st->ids, c, &id);
    if (rv == 0) {
        rc->id = id;
        rc->pipe_id = 0;
        rc->resend_at = MS_NEVER;
    }
    uint64_t gone = st->pipes_gone;
    int64_t resend = ms_ctx_resend_time(c);
    pthread_mutex_unlock(&s->mtx);
    if (old_req)
        ms_msg_free(old_req);
    if (old_reply)
        ms_msg_free(old_reply);
    uint8_t word[4];
    ms_put32(word, id);
    msock_msg *copy = NULL;
    if (rv == 0) {
        ms_msg_header_clear(m);
        ms_msg_header_append(m, word, 4);
        rv = ms_msg_dup(&copy, m);
    }
    uint32_t pipe = 0;
    if (rv == 0)
        rv = ms_sender_send(s, m, deadline, nonblock, &pipe);
    bool kick = false;
    pthread_mutex_lock(&s->mtx);
    if (rc->id == id && id != 0) {
        if (rv != 0) {
            ms_reqids_remove(&st->ids, id);
            rc->id = 0;
        } else {
            rc->request = copy;
            copy = NULL;
            /* A pipe that went while we sent may have been ours: resend to be sure. */
            rc->pipe_id = st->pipes_gone == gone ? pipe : 0;
            rc->resend_at = resend > 0 ? ms_clock_ms() + resend : MS_NEVER;
            kick = rc->pipe_id == 0 || rc->resend_at < atomic_load(&st->timer_at);
        }
    }
    pthread_mutex_unlock(&s->mtx);
    if (copy)
        ms_msg_free(copy);
    if (rv != 0)
        ms_msg_header_clear(m); /* the caller gets its message back as given */
    if (kick)
        req_kick(s);
    return rv;
}

static bool req_has_reply(const void *ctx_data)
{
    const req_ctx *rc = ctx_data;
    return atomic_load_explicit(&rc->has_reply, memory_order_acquire);
}

static int req_ctx_recv(ms_ctx *c, msock_msg **out, int64_t deadline, bool nonblock)
{
    ms_socket *s = c->sock;
    req_state *st = ms_socket_proto(s);
    req_ctx *rc = ms_ctx_data(c);
    if (!nonblock)
        ms_spin_until(req_has_reply, rc, &c->closed);
    pthread_mutex_lock(&s->mtx);
    int rv = 0;
    while (rc->reply == NULL) {
        if (atomic_load(&c->closed) || s->closing)
            rv = MSOCK_ECLOSED;
        else if (rc->id == 0)
            rv = MSOCK_ESTATE;
        else if (nonblock)
            rv = MSOCK_EAGAIN;
        else if (!ms_cond_wait_until(&c->cv, &s->mtx, deadline))
            rv = MSOCK_ETIMEDOUT;
        if (rv != 0) {
            pthread_mutex_unlock(&s->mtx);
            return rv;
        }
    }
    msock_msg *req, *reply;
    req_forget(st, rc, &req, &reply);
    if (c == s->ctx0)
        ms_socket_update_fds(s);
    pthread_mutex_unlock(&s->mtx);
    if (req)
        ms_msg_free(req);
    *out = reply;
    return 0;
}

static bool req_ctx_readable(ms_ctx *c)
{
    return ((req_ctx *)ms_ctx_data(c))->reply != NULL;
}

const ms_protocol ms_protocol_req = {
    .self = MSOCK_PROTO_REQ, .peer = MSOCK_PROTO_REP, .name = "req", .peer_name = "rep",
    .send_policy = MS_SEND_ONE, .recv_policy = MS_RECV_ALL,
    .options = MS_POPT_MAXTTL | MS_POPT_RESEND,
    .state_size = sizeof(req_state), .init = req_init, .fini = req_fini, .close = req_close,
    .pipe_start = req_pipe_start, .pipe_rem = req_pipe_rem, .recv_hook = req_recv_hook,
    .ctx_size = sizeof(req_ctx), .ctx_fini = req_ctx_fini,
    .ctx_send = req_ctx_send, .ctx_recv = req_ctx_recv, .ctx_readable = req_ctx_readable,
};

const ms_protocol ms_protocol_req_raw = {
    .self = MSOCK_PROTO_REQ, .peer = MSOCK_PROTO_REP, .name = "req", .peer_name = "rep",
    .raw = true, .send_policy = MS_SEND_ONE, .recv_policy = MS_RECV_ALL,
    .options = MS_POPT_MAXTTL, .recv_hook = ms_backtrace_raw_reply_hook,
};

int msock_req_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_req, s);
}
