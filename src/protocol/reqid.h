/* reqid.h: request and survey ids (bit 31 set, random start, then counting up) mapped to the
 * context waiting for their answer. Callers serialise access (the socket lock). */
#ifndef MS_REQID_H
#define MS_REQID_H

#include "core/idmap.h"

typedef struct ms_reqids {
    ms_idmap map;
    uint32_t next;
} ms_reqids;

void ms_reqids_init(ms_reqids *r);
void ms_reqids_fini(ms_reqids *r);
/* A fresh id for ctx. 0 or MSOCK_ENOMEM. */
int ms_reqids_alloc(ms_reqids *r, ms_ctx *ctx, uint32_t *id);
static inline ms_ctx *ms_reqids_get(ms_reqids *r, uint32_t id)
{
    return ms_idmap_get(&r->map, id);
}
static inline void ms_reqids_remove(ms_reqids *r, uint32_t id)
{
    ms_idmap_remove(&r->map, id);
}

#endif
