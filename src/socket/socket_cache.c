/* socket_cache.c: the per-thread cache of socket handle lookups, so that threads working on
 * their own sockets do not meet on the global id map's lock for every call. */
#include <pthread.h>

#include "socket/socket.h"

/* Sockets this thread looked up, held by the cache (direct-mapped by id). A cached socket that
 * starts closing is looked up again (and not found); its memory stays until its slot is
 * reused or the thread exits, and close has already emptied its queues. */
#define SOCKET_CACHE_SLOTS 16
static MS_TLS struct socket_cache {
    ms_socket *slot[SOCKET_CACHE_SLOTS];
    bool registered;
} socket_cache;
static pthread_key_t socket_cache_key;
static bool socket_cache_key_ok;
static pthread_once_t socket_cache_once = PTHREAD_ONCE_INIT;

void ms_socket_cache_flush(void)
{
    for (unsigned i = 0; i < SOCKET_CACHE_SLOTS; i++) {
        ms_socket *old = socket_cache.slot[i];
        socket_cache.slot[i] = NULL;
        if (old)
            ms_socket_release(old);
    }
}

static void socket_cache_thread_exit(void *unused)
{
    MS_UNUSED(unused);
    ms_socket_cache_flush();
}

static void socket_cache_key_create(void)
{
    socket_cache_key_ok = pthread_key_create(&socket_cache_key, socket_cache_thread_exit) == 0;
}

__attribute__((destructor)) static void socket_cache_process_exit(void)
{
    ms_socket_cache_flush();
}

void ms_socket_cache_store(ms_socket *s)
{
    struct socket_cache *sc = &socket_cache;
    if (!sc->registered) {
        pthread_once(&socket_cache_once, socket_cache_key_create);
        if (!socket_cache_key_ok || pthread_setspecific(socket_cache_key, sc) != 0)
            return;
        sc->registered = true;
    }
    ms_socket **slot = &sc->slot[s->id % SOCKET_CACHE_SLOTS];
    ms_socket *old = *slot;
    /* A live socket keeps its slot: a thread serving more sockets than slots would otherwise
     * pay for an eviction on every call, more than the lookup it saves. */
    if (old && !atomic_load_explicit(&old->closing_flag, memory_order_acquire))
        return;
    ms_socket_hold(s);
    *slot = s;
    if (old)
        ms_socket_release(old);
}

void ms_socket_cache_forget(ms_socket *s)
{
    ms_socket **slot = &socket_cache.slot[s->id % SOCKET_CACHE_SLOTS];
    if (*slot == s) {
        *slot = NULL;
        ms_socket_release(s);
    }
}

ms_socket *ms_socket_cache_get(uint32_t id)
{
    ms_socket *s = socket_cache.slot[id % SOCKET_CACHE_SLOTS];
    if (s && s->id == id && !atomic_load_explicit(&s->closing_flag, memory_order_acquire)) {
        ms_socket_hold(s);
        return s;
    }
    return NULL;
}
