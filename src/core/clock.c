/* clock.c: monotonic clock, deadlines and a cheap random source for jitter. */
#include <sched.h>
#include <stdlib.h>
#include <sys/random.h>
#include "core/clock.h"

int64_t ms_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ms_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ms_spin_ns(void)
{
    static atomic_llong spin = -1;
    long long v = atomic_load_explicit(&spin, memory_order_relaxed);
    if (v < 0) {
        const char *env = getenv("MSOCK_SPIN_US");
        v = env && *env ? atoll(env) * 1000 : 50000;
        if (v < 0)
            v = 0;
        atomic_store_explicit(&spin, v, memory_order_relaxed);
    }
    return v;
}

bool ms_spin_until(bool (*ready)(const void *arg), const void *arg, const atomic_bool *stop)
{
    int64_t spin = ms_spin_ns();
    if (spin == 0)
        return ready(arg);
    int64_t until = ms_clock_ns() + spin;
    for (unsigned i = 1; !ready(arg); i++) {
        if ((i & 63) == 0 && (ms_clock_ns() > until || atomic_load(stop)))
            return false;
        if ((i & 15) == 0)
            sched_yield();
        else
            ms_cpu_relax();
    }
    return true;
}

int64_t ms_deadline_after(int64_t timeout_ms)
{
    if (timeout_ms < 0)
        return MS_NEVER;
    int64_t now = ms_clock_ms();
    return timeout_ms > MS_NEVER - now ? MS_NEVER : now + timeout_ms;
}

struct timespec ms_deadline_timespec(int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000};
    return ts;
}

void ms_mutex_init_fast(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

void ms_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

bool ms_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mtx, int64_t deadline_ms)
{
    if (deadline_ms == MS_NEVER) {
        pthread_cond_wait(c, mtx);
        return true;
    }
    if (ms_clock_ms() >= deadline_ms)
        return false;
    struct timespec ts = ms_deadline_timespec(deadline_ms);
    return pthread_cond_timedwait(c, mtx, &ts) == 0 || ms_clock_ms() < deadline_ms;
}

uint64_t ms_random_u64(void)
{
    /* xorshift seeded per thread from the kernel: jitter needs spread, not secrecy. */
    static _Thread_local uint64_t state;
    if (state == 0 && (getrandom(&state, sizeof state, GRND_NONBLOCK) != sizeof state || state == 0))
        state = (uint64_t)ms_clock_ms() * 0x9E3779B97F4A7C15ull | 1;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}
