/* reqid.c: request id allocation: a random start makes ids of a restarted requester unlikely
 * to match replies still in flight for its previous life. */
#include <sys/random.h>
#include <time.h>

#include "protocol/backtrace.h"
#include "protocol/reqid.h"

void ms_reqids_init(ms_reqids *r)
{
    ms_idmap_init(&r->map);
    uint32_t seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint32_t)ts.tv_nsec * 2654435761u ^ (uint32_t)ts.tv_sec;
    }
    r->next = seed | MS_BT_END;
}

void ms_reqids_fini(ms_reqids *r)
{
    ms_idmap_fini(&r->map);
}

int ms_reqids_alloc(ms_reqids *r, ms_ctx *ctx, uint32_t *id)
{
    /* Bounded: at most as many ids are taken as there are contexts. */
    for (;;) {
        uint32_t candidate = r->next++ | MS_BT_END;
        int rv = ms_idmap_put(&r->map, candidate, ctx);
        if (rv != MSOCK_EEXIST) {
            if (rv == 0)
                *id = candidate;
            return rv;
        }
    }
}
