/* msg_depot.c: a small locked stack of free-buffer batches per kind, bounded in bytes. */
#include <pthread.h>

#include "core/clock.h"
#include "core/msg_depot.h"

#define DEPOT_MAX_BATCHES 512u
#define DEPOT_MAX_BYTES ((size_t)4 << 20) /* per kind: idle memory stays small */

static struct depot_kind {
    pthread_mutex_t mtx;
    void *chains[DEPOT_MAX_BATCHES];
    unsigned count;
} depot[MS_DEPOT_KINDS] = {
#define DEPOT_INIT_ {.mtx = MS_MUTEX_FAST_INITIALIZER}
    DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_,
    DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_, DEPOT_INIT_,
#undef DEPOT_INIT_
};

bool ms_depot_put(unsigned kind, void *chain, size_t chain_bytes)
{
    if (kind >= MS_DEPOT_KINDS)
        return false;
    size_t by_bytes = DEPOT_MAX_BYTES / chain_bytes;
    unsigned max = by_bytes < DEPOT_MAX_BATCHES ? (unsigned)by_bytes : DEPOT_MAX_BATCHES;
    struct depot_kind *d = &depot[kind];
    pthread_mutex_lock(&d->mtx);
    bool ok = d->count < max;
    if (ok)
        d->chains[d->count++] = chain;
    pthread_mutex_unlock(&d->mtx);
    return ok;
}

void *ms_depot_get(unsigned kind)
{
    if (kind >= MS_DEPOT_KINDS)
        return NULL;
    struct depot_kind *d = &depot[kind];
    void *chain = NULL;
    pthread_mutex_lock(&d->mtx);
    if (d->count > 0)
        chain = d->chains[--d->count];
    pthread_mutex_unlock(&d->mtx);
    return chain;
}

void ms_depot_drain(void (*free_chain)(unsigned kind, void *chain))
{
    for (unsigned k = 0; k < MS_DEPOT_KINDS; k++) {
        void *chain;
        while ((chain = ms_depot_get(k)) != NULL)
            free_chain(k, chain);
    }
}
