/* msgq.h: a bounded FIFO of messages, limited in count and in bytes. Not locked: the owner
 * (a socket or a pipe) guards it with its own lock. */
#ifndef MS_MSGQ_H
#define MS_MSGQ_H

#include "core/defs.h"

struct ms_msgq {
    msock_msg *head, *tail; /* linked through msock_msg.next */
    size_t count, bytes;    /* bytes = sum of ms_msg_wire_len */
    size_t max_count, max_bytes;
};

/* max_count >= 1; max_bytes 0 means unlimited. */
void ms_msgq_init(ms_msgq *q, size_t max_count, size_t max_bytes);
/* Frees every queued message. */
void ms_msgq_fini(ms_msgq *q);
void ms_msgq_set_limits(ms_msgq *q, size_t max_count, size_t max_bytes);
/* True when a message of wire_len bytes fits. An empty queue takes any one message, so a
 * message larger than max_bytes still passes when nothing else is queued. */
bool ms_msgq_can_put(const ms_msgq *q, size_t wire_len);
/* The same test for a queue whose owner counts its messages itself (count of them queued):
 * a stream's write batches hold many messages in one entry. */
bool ms_msgq_fits(const ms_msgq *q, size_t count, size_t wire_len);
/* Appends m; 0, or MSOCK_EAGAIN (m stays with the caller) when it does not fit. */
int ms_msgq_put(ms_msgq *q, msock_msg *m);
/* Appends m ignoring the limits (a message already accepted must not be lost). */
void ms_msgq_put_force(ms_msgq *q, msock_msg *m);
/* Appends the chain head..tail (linked through next, tail->next NULL) of count messages and
 * bytes wire bytes in O(1), ignoring the limits like ms_msgq_put_force. */
void ms_msgq_splice(ms_msgq *q, msock_msg *head, msock_msg *tail, size_t count, size_t bytes);
/* Removes the oldest message; NULL when empty. */
msock_msg *ms_msgq_get(ms_msgq *q);
static inline msock_msg *ms_msgq_peek(const ms_msgq *q)
{
    return q->head;
}
static inline bool ms_msgq_empty(const ms_msgq *q)
{
    return q->count == 0;
}
static inline bool ms_msgq_full(const ms_msgq *q)
{
    return q->count >= q->max_count || (q->max_bytes && q->bytes >= q->max_bytes);
}

/* At or below half of both limits: where a paused producer resumes, so that a full queue
 * does not wake it for every message taken out. */
static inline bool ms_msgq_low(const ms_msgq *q)
{
    return q->count <= q->max_count / 2 && (q->max_bytes == 0 || q->bytes <= q->max_bytes / 2);
}

#endif
