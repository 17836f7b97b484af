/* timer.c: the timer heap behind every reactor's timeouts (handshakes, redials, linger). */
#include <stdlib.h>
#include "core/timer.h"

static void heap_swap(ms_timer_heap *h, size_t a, size_t b)
{
    ms_timer *t = h->items[a];
    h->items[a] = h->items[b];
    h->items[b] = t;
    h->items[a]->heap_index = a;
    h->items[b]->heap_index = b;
}

static void heap_up(ms_timer_heap *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->when <= h->items[i]->when)
            break;
        heap_swap(h, i, parent);
        i = parent;
    }
}

static void heap_down(ms_timer_heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->count && h->items[l]->when < h->items[m]->when)
            m = l;
        if (r < h->count && h->items[r]->when < h->items[m]->when)
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

void ms_timer_heap_fini(ms_timer_heap *h)
{
    free(h->items);
    h->items = NULL;
    h->count = h->cap = 0;
}

int ms_timer_heap_set(ms_timer_heap *h, ms_timer *t)
{
    if (t->heap_index != SIZE_MAX) {
        heap_up(h, t->heap_index);
        heap_down(h, t->heap_index);
        return 0;
    }
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        ms_timer **items = realloc(h->items, cap * sizeof *items);
        if (!items)
            return MSOCK_ENOMEM;
        h->items = items;
        h->cap = cap;
    }
    t->heap_index = h->count;
    h->items[h->count++] = t;
    heap_up(h, t->heap_index);
    return 0;
}

void ms_timer_heap_remove(ms_timer_heap *h, ms_timer *t)
{
    size_t i = t->heap_index;
    if (i == SIZE_MAX)
        return;
    t->heap_index = SIZE_MAX;
    h->count--;
    if (i == h->count)
        return;
    h->items[i] = h->items[h->count];
    h->items[i]->heap_index = i;
    heap_up(h, i);
    heap_down(h, i);
}
