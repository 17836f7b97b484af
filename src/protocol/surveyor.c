/* surveyor.c: SURVEYOR (0x62): a survey goes to every respondent under an id (bit 31 set);
 * responses carrying it are collected until the survey's deadline, later ones are dropped.
 * Raw mode sends what it is given and takes each response's backtrace into the header. */
#include "core/clock.h"
#include "core/msg.h"
#include "protocol/backtrace.h"
#include "protocol/protocol.h"
#include "protocol/reqid.h"
#include "socket/ctx.h"
#include "socket/sender.h"
#include "socket/socket.h"

typedef struct surveyor_state {
    ms_reqids ids; /* id -> context; under s->mtx */
} surveyor_state;

typedef struct survey_ctx {
    uint32_t id;     /* the current survey's id, 0 when it has ended or none was sent */
    bool started;    /* a survey was sent */
    int64_t deadline;
    msock_msg *head, *tail; /* responses not yet received */
    size_t count;
} survey_ctx;

static int surveyor_init(ms_socket *s)
{
    ms_reqids_init(&((surveyor_state *)ms_socket_proto(s))->ids);
    return 0;
}

static void surveyor_fini(ms_socket *s)
{
    ms_reqids_fini(&((surveyor_state *)ms_socket_proto(s))->ids);
}

/* Under s->mtx: ends the context's survey (late responses become stale); returns the
 * responses nobody received, to free. */
static msock_msg *survey_end(surveyor_state *st, survey_ctx *sc, bool drop_responses)
{
    if (sc->id != 0)
        ms_reqids_remove(&st->ids, sc->id);
    sc->id = 0;
    msock_msg *rest = NULL;
    if (drop_responses) {
        rest = sc->head;
        sc->head = sc->tail = NULL;
        sc->count = 0;
    }
    return rest;
}

static int surveyor_recv_hook(ms_socket *s, ms_pipe *p, msock_msg *m)
{
    surveyor_state *st = ms_socket_proto(s);
    if (m->len < 4) {
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_MALFORMED);
        return MS_RX_CLOSE;
    }
    ms_ctx *c = ms_reqids_get(&st->ids, ms_get32(m->body));
    survey_ctx *sc = c ? ms_ctx_data(c) : NULL;
    if (sc == NULL || ms_clock_ms() >= sc->deadline) {
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_STALE);
        return MS_RX_DROP;
    }
    if (sc->count >= (size_t)s->opts.recv_queue_msgs) {
        ms_protocol_count(s, p, MSOCK_STAT_DROPS_QUEUE_FULL);
        return MS_RX_DROP;
    }
    m->body += 4;
    m->len -= 4;
    m->next = NULL;
    if (sc->tail)
        sc->tail->next = m;
    else
        sc->head = m;
    sc->tail = m;
    sc->count++;
    pthread_cond_broadcast(&c->cv);
    if (c == s->ctx0)
        ms_socket_update_fds(s);
    return MS_RX_TAKEN;
}

static void surveyor_ctx_fini(ms_ctx *c)
{
    ms_msg_chain_free(survey_end(ms_socket_proto(c->sock), ms_ctx_data(c), true));
}

static int surveyor_ctx_send(ms_ctx *c, msock_msg *m, int64_t deadline, bool nonblock)
{
    (void)deadline;
    (void)nonblock; /* a survey goes to whoever can take it now */
    ms_socket *s = c->sock;
    surveyor_state *st = ms_socket_proto(s);
    survey_ctx *sc = ms_ctx_data(c);
    uint32_t id = 0;
    pthread_mutex_lock(&s->mtx);
    if (atomic_load(&c->closed)) {
        pthread_mutex_unlock(&s->mtx);
        return MSOCK_ECLOSED;
    }
    msock_msg *old = survey_end(st, sc, true); /* a new survey cancels the last one */
    if (c == s->ctx0)
        ms_socket_update_fds(s);
    int rv = ms_reqids_alloc(&st->ids, c, &id);
    if (rv == 0) {
        sc->id = id;
        sc->started = true;
        sc->deadline = ms_clock_ms() + ms_ctx_survey_time(c);
    }
    pthread_mutex_unlock(&s->mtx);
    ms_msg_chain_free(old);
    if (rv != 0)
        return rv;
    uint8_t word[4];
    ms_put32(word, id);
    ms_msg_header_clear(m);
    ms_msg_header_append(m, word, 4);
    rv = ms_sender_send_all(s, m, 0);
    if (rv != 0) {
        ms_msg_header_clear(m);
        pthread_mutex_lock(&s->mtx);
        if (sc->id == id)
            survey_end(st, sc, false);
        pthread_mutex_unlock(&s->mtx);
    }
    return rv;
}

static int surveyor_ctx_recv(ms_ctx *c, msock_msg **out, int64_t deadline, bool nonblock)
{
    ms_socket *s = c->sock;
    survey_ctx *sc = ms_ctx_data(c);
    int rv = 0;
    pthread_mutex_lock(&s->mtx);
    for (;;) {
        if (atomic_load(&c->closed) || s->closing) {
            rv = MSOCK_ECLOSED;
            break;
        }
        if (sc->head != NULL) {
            msock_msg *m = sc->head;
            sc->head = m->next;
            if (sc->head == NULL)
                sc->tail = NULL;
            sc->count--;
            m->next = NULL;
            *out = m;
            if (c == s->ctx0)
                ms_socket_update_fds(s);
            break;
        }
        if (!sc->started) {
            rv = MSOCK_ESTATE;
            break;
        }
        int64_t now = ms_clock_ms();
        if (sc->id == 0 || now >= sc->deadline) {
            survey_end(ms_socket_proto(s), sc, false);
            rv = MSOCK_ETIMEDOUT;
            break;
        }
        if (nonblock) {
            rv = MSOCK_EAGAIN;
            break;
        }
        if (now >= deadline) {
            rv = MSOCK_ETIMEDOUT;
            break;
        }
        ms_cond_wait_until(&c->cv, &s->mtx, MS_MIN(deadline, sc->deadline));
    }
    pthread_mutex_unlock(&s->mtx);
    return rv;
}

static bool surveyor_ctx_readable(ms_ctx *c)
{
    return ((survey_ctx *)ms_ctx_data(c))->head != NULL;
}

const ms_protocol ms_protocol_surveyor = {
    .self = MSOCK_PROTO_SURVEYOR, .peer = MSOCK_PROTO_RESPONDENT, .name = "surveyor",
    .peer_name = "respondent", .send_policy = MS_SEND_ALL, .recv_policy = MS_RECV_ALL,
    .options = MS_POPT_MAXTTL | MS_POPT_SURVEY,
    .state_size = sizeof(surveyor_state), .init = surveyor_init, .fini = surveyor_fini,
    .recv_hook = surveyor_recv_hook, .ctx_size = sizeof(survey_ctx),
    .ctx_fini = surveyor_ctx_fini, .ctx_send = surveyor_ctx_send, .ctx_recv = surveyor_ctx_recv,
    .ctx_readable = surveyor_ctx_readable,
};

const ms_protocol ms_protocol_surveyor_raw = {
    .self = MSOCK_PROTO_SURVEYOR, .peer = MSOCK_PROTO_RESPONDENT, .name = "surveyor",
    .peer_name = "respondent", .raw = true, .send_policy = MS_SEND_ALL,
    .recv_policy = MS_RECV_ALL, .options = MS_POPT_MAXTTL,
    .recv_hook = ms_backtrace_raw_reply_hook,
};

int msock_surveyor_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_surveyor, s);
}
