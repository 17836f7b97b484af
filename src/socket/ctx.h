/* ctx.h: contexts: independent request/reply state machines sharing one socket's pipes. Each
 * socket of a protocol with contexts has a built-in one for its own send and receive. */
#ifndef MS_CTX_H
#define MS_CTX_H

#include <pthread.h>
#include <stddef.h>

#include "core/defs.h"

struct ms_ctx {
    uint32_t id; /* 0 for a socket's built-in context */
    atomic_int refs;
    ms_socket *sock; /* held */
    atomic_bool closed;
    /* Waits on the protocol state use the socket lock with this condition. */
    pthread_cond_t cv;
    /* Options of an opened context (a built-in one reads its socket's); under s->mtx. */
    atomic_int_fast64_t send_timeout, recv_timeout, resend_time, survey_time;
    ms_ctx *next, *prev; /* the socket's contexts, under s->mtx */
    _Alignas(max_align_t) unsigned char proto[]; /* the protocol's ctx_size bytes */
};

static inline void *ms_ctx_data(ms_ctx *c)
{
    return c->proto;
}

/* Makes a context on s (s must have contexts); registered as a handle unless builtin. */
int ms_ctx_create(ms_socket *s, bool builtin, ms_ctx **out);
/* Looks up an opened context by id and holds it; NULL if none or closed. */
ms_ctx *ms_ctx_find(uint32_t id);
void ms_ctx_release(ms_ctx *c);
/* Closes c: its protocol state is dropped and its waiters wake with MSOCK_ECLOSED.
 * Idempotent; no lock held. */
void ms_ctx_close(ms_ctx *c);
/* Closes every context of a closing socket, the built-in one included. No lock held. */
void ms_ctxs_close_all(ms_socket *s);

/* Under s->mtx: the context's current request resend time and survey time (ms). */
int64_t ms_ctx_resend_time(const ms_ctx *c);
int64_t ms_ctx_survey_time(const ms_ctx *c);
/* Absolute deadlines for a send or receive on c from now. */
int64_t ms_ctx_send_deadline(ms_ctx *c);
int64_t ms_ctx_recv_deadline(ms_ctx *c);

#endif
