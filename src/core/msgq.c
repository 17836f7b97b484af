/* msgq.c: the bounded message FIFO used by sockets and pipes; it keeps count and byte totals so
 * backpressure can be decided without walking the queue. */
#include "core/msgq.h"
#include "core/msg.h"

void ms_msgq_init(ms_msgq *q, size_t max_count, size_t max_bytes)
{
    q->head = NULL;
    q->tail = NULL;
    q->count = 0;
    q->bytes = 0;
    ms_msgq_set_limits(q, max_count, max_bytes);
}

void ms_msgq_fini(ms_msgq *q)
{
    msock_msg *m;
    while ((m = ms_msgq_get(q)) != NULL)
        ms_msg_free(m);
}

void ms_msgq_set_limits(ms_msgq *q, size_t max_count, size_t max_bytes)
{
    /* A zero count limit would make a queue that can never take anything; treat it as one. */
    q->max_count = max_count > 0 ? max_count : 1;
    q->max_bytes = max_bytes;
}

bool ms_msgq_fits(const ms_msgq *q, size_t count, size_t wire_len)
{
    if (count == 0)
        return true;
    if (count >= q->max_count)
        return false;
    if (q->max_bytes == 0)
        return true;
    /* Written as a subtraction: bytes may already exceed the limit after put_force. */
    return q->bytes < q->max_bytes && wire_len <= q->max_bytes - q->bytes;
}

bool ms_msgq_can_put(const ms_msgq *q, size_t wire_len)
{
    return ms_msgq_fits(q, q->count, wire_len);
}

void ms_msgq_put_force(ms_msgq *q, msock_msg *m)
{
    m->next = NULL;
    if (q->tail != NULL)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->count++;
    q->bytes += ms_msg_wire_len(m);
}

int ms_msgq_put(ms_msgq *q, msock_msg *m)
{
    if (!ms_msgq_can_put(q, ms_msg_wire_len(m)))
        return MSOCK_EAGAIN;
    ms_msgq_put_force(q, m);
    return 0;
}

void ms_msgq_splice(ms_msgq *q, msock_msg *head, msock_msg *tail, size_t count, size_t bytes)
{
    if (head == NULL)
        return;
    if (q->tail != NULL)
        q->tail->next = head;
    else
        q->head = head;
    q->tail = tail;
    q->count += count;
    q->bytes += bytes;
}

msock_msg *ms_msgq_get(ms_msgq *q)
{
    msock_msg *m = q->head;
    if (m == NULL)
        return NULL;
    q->head = m->next;
    if (q->head == NULL)
        q->tail = NULL;
    m->next = NULL;
    q->count--;
    q->bytes -= ms_msg_wire_len(m);
    return m;
}
