/* timer.h: a binary min-heap of timers, ordered by due time; used by each reactor. */
#ifndef MS_TIMER_H
#define MS_TIMER_H

#include "core/reactor.h"

typedef struct ms_timer_heap {
    ms_timer **items;
    size_t count, cap;
} ms_timer_heap;

void ms_timer_heap_fini(ms_timer_heap *h);
/* Inserts or moves t to its new t->when. 0 or MSOCK_ENOMEM. */
int ms_timer_heap_set(ms_timer_heap *h, ms_timer *t);
void ms_timer_heap_remove(ms_timer_heap *h, ms_timer *t);
/* The earliest timer, or NULL. */
static inline ms_timer *ms_timer_heap_top(const ms_timer_heap *h)
{
    return h->count ? h->items[0] : NULL;
}

#endif
