/* reactor.c: the epoll loop threads. Each owns an epoll set, an eventfd for posted tasks and a
 * timer heap; tasks run after the current batch of events so an object freed by a task can
 * have no event still pending in that batch. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/timer.h"

#define REACTOR_BATCH 128
#define REACTOR_MAX 64
#define REACTOR_RBUF 65536

struct ms_reactor {
    int epfd;
    int wakefd;
    pthread_t thread;
    pthread_mutex_t mtx; /* guards tasks and sleeping */
    ms_task *tasks_head, *tasks_tail;
    bool sleeping; /* in epoll_wait with no task queued: a post must write wakefd */
    ms_timer_heap timers;
    atomic_bool stop;
    uint8_t rbuf[REACTOR_RBUF];
};

static pthread_mutex_t reactors_mtx = PTHREAD_MUTEX_INITIALIZER;
static ms_reactor *reactors[REACTOR_MAX];
static size_t reactor_count;
static atomic_uint reactor_next;
static MS_TLS const ms_reactor *current_reactor;

/* Runs the queued tasks; returns true when tasks were queued meanwhile (run again soon). */
static bool reactor_run_tasks(ms_reactor *r)
{
    pthread_mutex_lock(&r->mtx);
    ms_task *t = r->tasks_head;
    r->tasks_head = r->tasks_tail = NULL;
    pthread_mutex_unlock(&r->mtx);
    while (t) {
        ms_task *next = t->next;
        t->next = NULL;
        /* Clear before running so the task may post itself again. */
        atomic_store_explicit(&t->queued, false, memory_order_release);
        t->fn(t);
        t = next;
    }
    pthread_mutex_lock(&r->mtx);
    bool more = r->tasks_head != NULL;
    pthread_mutex_unlock(&r->mtx);
    return more;
}

static int reactor_timeout(ms_reactor *r)
{
    ms_timer *t = ms_timer_heap_top(&r->timers);
    if (!t)
        return -1;
    int64_t wait = t->when - ms_clock_ms();
    return wait <= 0 ? 0 : (wait > 60000 ? 60000 : (int)wait);
}

static void reactor_run_timers(ms_reactor *r)
{
    int64_t now = ms_clock_ms();
    ms_timer *t;
    while ((t = ms_timer_heap_top(&r->timers)) && t->when <= now) {
        ms_timer_heap_remove(&r->timers, t);
        t->fn(t);
    }
}

static void *reactor_main(void *arg)
{
    ms_reactor *r = arg;
    struct epoll_event evs[REACTOR_BATCH];
    bool pending = false;
    current_reactor = r;
    while (!atomic_load(&r->stop)) {
        int timeout = pending ? 0 : reactor_timeout(r);
        if (timeout != 0) {
            /* Posters write the eventfd only while we sleep: a busy reactor costs them none. */
            pthread_mutex_lock(&r->mtx);
            if (r->tasks_head != NULL)
                timeout = 0;
            else
                r->sleeping = true;
            pthread_mutex_unlock(&r->mtx);
        }
        int n = epoll_wait(r->epfd, evs, REACTOR_BATCH, timeout);
        if (timeout != 0) {
            pthread_mutex_lock(&r->mtx);
            r->sleeping = false;
            pthread_mutex_unlock(&r->mtx);
        }
        if (n < 0 && errno != EINTR) {
            ms_debug("epoll_wait: %s", strerror(errno));
            continue;
        }
        for (int i = 0; i < n; i++) {
            ms_ev *ev = evs[i].data.ptr;
            if (ev == NULL) {
                uint64_t v;
                if (read(r->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
                    ms_debug("eventfd read: %s", strerror(errno));
                continue;
            }
            ev->cb(ev, evs[i].events);
        }
        reactor_run_timers(r);
        pending = reactor_run_tasks(r);
    }
    reactor_run_tasks(r);
    ms_msg_cache_flush();
    return NULL;
}

static void reactor_free(ms_reactor *r)
{
    if (r->epfd >= 0)
        close(r->epfd);
    if (r->wakefd >= 0)
        close(r->wakefd);
    pthread_mutex_destroy(&r->mtx);
    ms_timer_heap_fini(&r->timers);
    free(r);
}

static int reactor_create(ms_reactor **rp)
{
    ms_reactor *r = calloc(1, sizeof *r);
    if (!r)
        return MSOCK_ENOMEM;
    ms_mutex_init_fast(&r->mtx);
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    r->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
    if (r->epfd < 0 || r->wakefd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &e) < 0) {
        int err = -errno;
        reactor_free(r);
        return err;
    }
    int rc = pthread_create(&r->thread, NULL, reactor_main, r);
    if (rc != 0) {
        reactor_free(r);
        return -rc;
    }
    *rp = r;
    return 0;
}

int ms_reactors_start(void)
{
    int rv = 0;
    pthread_mutex_lock(&reactors_mtx);
    if (reactor_count == 0) {
        long want = sysconf(_SC_NPROCESSORS_ONLN);
        const char *env = getenv("MSOCK_REACTORS");
        if (env && atoi(env) > 0)
            want = atoi(env);
        if (want < 1)
            want = 1;
        if (want > REACTOR_MAX)
            want = REACTOR_MAX;
        for (long i = 0; i < want; i++) {
            rv = reactor_create(&reactors[reactor_count]);
            if (rv != 0)
                break;
            reactor_count++;
        }
        if (reactor_count > 0)
            rv = 0;
    }
    pthread_mutex_unlock(&reactors_mtx);
    return rv;
}

void ms_reactors_stop(void)
{
    pthread_mutex_lock(&reactors_mtx);
    for (size_t i = 0; i < reactor_count; i++) {
        ms_reactor *r = reactors[i];
        atomic_store(&r->stop, true);
        uint64_t one = 1;
        if (write(r->wakefd, &one, sizeof one) < 0)
            ms_debug("eventfd write: %s", strerror(errno));
        pthread_join(r->thread, NULL);
        reactor_free(r);
        reactors[i] = NULL;
    }
    reactor_count = 0;
    pthread_mutex_unlock(&reactors_mtx);
}

ms_reactor *ms_reactor_pick(void)
{
    unsigned i = atomic_fetch_add_explicit(&reactor_next, 1, memory_order_relaxed);
    return reactors[i % reactor_count];
}

int ms_reactor_add(ms_reactor *r, ms_ev *ev, void (*cb)(ms_ev *, uint32_t), int fd)
{
    ev->fd = fd;
    ev->cb = cb;
    ev->reactor = r;
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = ev};
    return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

void ms_reactor_del(ms_ev *ev)
{
    if (ev->reactor && ev->fd >= 0)
        epoll_ctl(ev->reactor->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
}

void ms_task_init(ms_task *t, void (*fn)(ms_task *))
{
    t->next = NULL;
    t->fn = fn;
    atomic_init(&t->queued, false);
}

bool ms_reactor_post(ms_reactor *r, ms_task *t)
{
    if (atomic_exchange_explicit(&t->queued, true, memory_order_acq_rel))
        return false;
    pthread_mutex_lock(&r->mtx);
    t->next = NULL;
    if (r->tasks_tail)
        r->tasks_tail->next = t;
    else
        r->tasks_head = t;
    r->tasks_tail = t;
    /* One wake-up per sleep; an awake reactor looks at its task list before it sleeps. */
    bool wake = r->sleeping;
    r->sleeping = false;
    pthread_mutex_unlock(&r->mtx);
    if (wake && current_reactor != r) {
        uint64_t one = 1;
        if (write(r->wakefd, &one, sizeof one) < 0)
            ms_debug("eventfd write: %s", strerror(errno));
    }
    return true;
}

uint8_t *ms_reactor_rbuf(ms_reactor *r, size_t *cap)
{
    *cap = sizeof r->rbuf;
    return r->rbuf;
}

bool ms_reactor_on_thread(const ms_reactor *r)
{
    return current_reactor == r;
}

void ms_timer_init(ms_timer *t, void (*fn)(ms_timer *))
{
    t->when = 0;
    t->heap_index = SIZE_MAX;
    t->fn = fn;
}

void ms_timer_schedule(ms_reactor *r, ms_timer *t, int64_t delay_ms)
{
    t->when = ms_clock_ms() + (delay_ms < 0 ? 0 : delay_ms);
    if (ms_timer_heap_set(&r->timers, t) != 0)
        ms_debug("timer heap: out of memory");
}

void ms_timer_cancel(ms_reactor *r, ms_timer *t)
{
    ms_timer_heap_remove(&r->timers, t);
}
