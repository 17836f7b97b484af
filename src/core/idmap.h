/* idmap.h: the map from 32-bit handle ids to objects. Ids start at 1, grow, and are not reused
 * until the 32-bit space wraps, so a stale handle finds nothing instead of a new object. */
#ifndef MS_IDMAP_H
#define MS_IDMAP_H

#include "core/defs.h"

struct ms_idmap {
    uint32_t *keys;   /* open addressing, 0 = empty slot */
    void **values;
    uint8_t *tomb;    /* 1 = deleted slot, keeps probe chains intact */
    size_t cap, count, used; /* used = count + tombstones */
    uint32_t next_id;
};

/* A zero-filled ms_idmap (a static one, say) is already a valid empty map. */
void ms_idmap_init(ms_idmap *m);
void ms_idmap_fini(ms_idmap *m);
/* Stores value under a fresh id written to *id. 0 or MSOCK_ENOMEM. */
int ms_idmap_alloc(ms_idmap *m, void *value, uint32_t *id);
/* Stores value under a chosen id (not 0). 0, MSOCK_EEXIST or MSOCK_ENOMEM. */
int ms_idmap_put(ms_idmap *m, uint32_t id, void *value);
/* The value for id, or NULL. */
void *ms_idmap_get(const ms_idmap *m, uint32_t id);
/* Removes id; returns the value it held or NULL. */
void *ms_idmap_remove(ms_idmap *m, uint32_t id);
/* Calls fn for every entry (no changes to m from fn). */
void ms_idmap_foreach(const ms_idmap *m, void (*fn)(uint32_t id, void *value, void *arg), void *arg);

#endif
