/* ctx.c: context life (create, lookup, close, release) and their option values; the protocol
 * (req, rep, surveyor, respondent) keeps its per-context state behind each one. */
#include <stdlib.h>

#include "core/clock.h"
#include "core/idmap.h"
#include "protocol/protocol.h"
#include "socket/ctx.h"
#include "socket/socket.h"

static pthread_mutex_t ctxs_mtx = MS_MUTEX_FAST_INITIALIZER;
static ms_idmap ctxs;

int ms_ctx_create(ms_socket *s, bool builtin, ms_ctx **out)
{
    const ms_protocol *p = s->proto;
    if (p->ctx_send == NULL || (!builtin && p->raw))
        return MSOCK_ENOTSUP;
    ms_ctx *c = calloc(1, sizeof *c + p->ctx_size);
    if (c == NULL)
        return MSOCK_ENOMEM;
    atomic_init(&c->refs, 1); /* the id map's, or the socket's for a built-in one */
    c->sock = s;
    ms_cond_init(&c->cv);
    pthread_mutex_lock(&s->mtx);
    atomic_init(&c->send_timeout, s->opts.send_timeout);
    atomic_init(&c->recv_timeout, s->opts.recv_timeout);
    atomic_init(&c->resend_time, s->opts.req_resend_time);
    atomic_init(&c->survey_time, s->opts.survey_time);
    int rv = s->closing ? MSOCK_ECLOSED : 0;
    if (rv == 0) {
        c->next = s->ctxs;
        if (s->ctxs)
            s->ctxs->prev = c;
        s->ctxs = c;
        if (p->ctx_init)
            p->ctx_init(c);
    }
    pthread_mutex_unlock(&s->mtx);
    if (rv == 0 && !builtin) {
        ms_socket_hold(s); /* a built-in context would otherwise keep its socket alive */
        pthread_mutex_lock(&ctxs_mtx);
        rv = ms_idmap_alloc(&ctxs, c, &c->id);
        pthread_mutex_unlock(&ctxs_mtx);
        if (rv != 0) {
            ms_ctx_close(c);
            ms_ctx_release(c);
            return rv;
        }
    }
    if (rv != 0) {
        pthread_cond_destroy(&c->cv);
        free(c);
        return rv;
    }
    *out = c;
    return 0;
}

ms_ctx *ms_ctx_find(uint32_t id)
{
    pthread_mutex_lock(&ctxs_mtx);
    ms_ctx *c = ms_idmap_get(&ctxs, id);
    if (c != NULL && !atomic_load(&c->closed))
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    else
        c = NULL;
    pthread_mutex_unlock(&ctxs_mtx);
    return c;
}

void ms_ctx_release(ms_ctx *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (c->id != 0)
        ms_socket_release(c->sock);
    pthread_cond_destroy(&c->cv);
    free(c);
}

void ms_ctx_close(ms_ctx *c)
{
    if (atomic_exchange(&c->closed, true))
        return;
    ms_socket *s = c->sock;
    pthread_mutex_lock(&s->mtx);
    if (c->prev)
        c->prev->next = c->next;
    else if (s->ctxs == c)
        s->ctxs = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    if (s->proto->ctx_fini)
        s->proto->ctx_fini(c);
    pthread_cond_broadcast(&c->cv);
    /* A context may wait in the socket's receive queue (rep, respondent). */
    pthread_cond_broadcast(&s->recv_cv);
    pthread_mutex_unlock(&s->mtx);
    if (c->id != 0) {
        pthread_mutex_lock(&ctxs_mtx);
        ms_idmap_remove(&ctxs, c->id);
        pthread_mutex_unlock(&ctxs_mtx);
        ms_ctx_release(c); /* the id map's reference */
    }
}

void ms_ctxs_close_all(ms_socket *s)
{
    for (;;) {
        pthread_mutex_lock(&s->mtx);
        ms_ctx *c = s->ctxs;
        if (c)
            atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
        pthread_mutex_unlock(&s->mtx);
        if (c == NULL)
            return;
        ms_ctx_close(c);
        ms_ctx_release(c);
    }
}

int64_t ms_ctx_resend_time(const ms_ctx *c)
{
    return c->id == 0 ? c->sock->opts.req_resend_time : atomic_load(&c->resend_time);
}

int64_t ms_ctx_survey_time(const ms_ctx *c)
{
    return c->id == 0 ? c->sock->opts.survey_time : atomic_load(&c->survey_time);
}

int64_t ms_ctx_send_deadline(ms_ctx *c)
{
    atomic_int_fast64_t *t = c->id == 0 ? &c->sock->send_timeout : &c->send_timeout;
    return ms_deadline_after(atomic_load_explicit(t, memory_order_relaxed));
}

int64_t ms_ctx_recv_deadline(ms_ctx *c)
{
    atomic_int_fast64_t *t = c->id == 0 ? &c->sock->recv_timeout : &c->recv_timeout;
    return ms_deadline_after(atomic_load_explicit(t, memory_order_relaxed));
}
