/* clock.h: monotonic time in milliseconds and deadline arithmetic for blocking calls. */
#ifndef MS_CLOCK_H
#define MS_CLOCK_H

#include <pthread.h>
#include <time.h>
#include "core/defs.h"

/* A deadline that never comes. */
#define MS_NEVER INT64_MAX

/* Milliseconds since an arbitrary start, CLOCK_MONOTONIC. */
int64_t ms_clock_ms(void);
/* Nanoseconds on CLOCK_MONOTONIC. */
int64_t ms_clock_ns(void);
/* How long a blocking receive polls before it sleeps, in ns: MSOCK_SPIN_US (default 50 µs). */
int64_t ms_spin_ns(void);
static inline void ms_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
/* Polls ready(arg) for up to ms_spin_ns() without sleeping, yielding now and then (on a small
 * machine the thread that brings what we wait for may need this very core); gives up early
 * when *stop turns true. Returns ready(arg)'s last answer. Waking a sleeping thread on another
 * core costs more than a whole exchange when the peer answers quickly. */
bool ms_spin_until(bool (*ready)(const void *arg), const void *arg, const atomic_bool *stop);
/* Absolute deadline for a timeout in ms (-1 or any negative: MS_NEVER). */
int64_t ms_deadline_after(int64_t timeout_ms);
/* A CLOCK_MONOTONIC timespec for pthread_cond_timedwait on condvars made by ms_cond_init. */
struct timespec ms_deadline_timespec(int64_t deadline_ms);
/* A mutex for short critical sections on the message path: it spins briefly before sleeping,
 * so a lock held for a few hundred nanoseconds by another core costs no futex calls. */
void ms_mutex_init_fast(pthread_mutex_t *m);
#define MS_MUTEX_FAST_INITIALIZER PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP

/* Condition variables that wait on the monotonic clock. */
void ms_cond_init(pthread_cond_t *c);
/* Waits until signalled or the deadline; returns false when the deadline has passed. */
bool ms_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mtx, int64_t deadline_ms);
/* Random 64-bit value (not for security): jitter, random starting ids. */
uint64_t ms_random_u64(void);

#endif
