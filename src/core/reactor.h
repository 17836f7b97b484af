/* reactor.h: the epoll threads that own every fd: edge-triggered events, tasks posted from
 * other threads, and timers. Objects handed to a reactor are touched only on its thread. */
#ifndef MS_REACTOR_H
#define MS_REACTOR_H

#include "core/defs.h"

/* One registered fd. cb runs on the reactor thread with the epoll event bits. */
struct ms_ev {
    int fd;
    void (*cb)(ms_ev *ev, uint32_t events);
    ms_reactor *reactor;
};

/* A unit of work for a reactor thread. A task is queued at most once at a time: posting a
 * task that is already queued does nothing (so a burst of wake-ups costs one). */
struct ms_task {
    ms_task *next;
    void (*fn)(ms_task *t);
    atomic_bool queued;
};

/* A one-shot timer, reactor thread only. */
struct ms_timer {
    int64_t when;
    size_t heap_index; /* SIZE_MAX when not scheduled */
    void (*fn)(ms_timer *t);
};

/* Starts the reactor threads on first use (one per core, or MSOCK_REACTORS=N); 0 or error. */
int ms_reactors_start(void);
/* Stops and joins every reactor thread (msock_fini); nothing may be registered any more. */
void ms_reactors_stop(void);
/* Picks a reactor for a new object, round robin. ms_reactors_start must have succeeded. */
ms_reactor *ms_reactor_pick(void);

/* Registers ev->fd for EPOLLIN|EPOLLOUT|EPOLLRDHUP, edge-triggered. Any thread. */
int ms_reactor_add(ms_reactor *r, ms_ev *ev, void (*cb)(ms_ev *, uint32_t), int fd);
/* Removes the fd (reactor thread only). No callback for it runs after this returns, and the
 * object may be freed once the current callback or task has returned. */
void ms_reactor_del(ms_ev *ev);

void ms_task_init(ms_task *t, void (*fn)(ms_task *));
/* Queues t to run on r's thread soon. Any thread; never blocks on the reactor. Returns false
 * when t was already queued (it will run once). */
bool ms_reactor_post(ms_reactor *r, ms_task *t);
/* The reactor's scratch read buffer (reactor thread only): connections read into it and
 * decode at once, so an idle connection owns no read buffer. */
uint8_t *ms_reactor_rbuf(ms_reactor *r, size_t *cap);
/* True on r's own thread. */
bool ms_reactor_on_thread(const ms_reactor *r);

void ms_timer_init(ms_timer *t, void (*fn)(ms_timer *));
/* Reactor thread only: (re)schedules t to fire delay_ms from now. */
void ms_timer_schedule(ms_reactor *r, ms_timer *t, int64_t delay_ms);
/* Reactor thread only: unschedules t (no-op if it is not scheduled). */
void ms_timer_cancel(ms_reactor *r, ms_timer *t);

#endif
