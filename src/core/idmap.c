/* idmap.c: the id -> object map behind every public handle: open addressing with linear probing
 * and tombstones, ids handed out in increasing order so a stale handle does not alias a new one. */
#include <stdlib.h>

#include "core/idmap.h"

#define IDMAP_MIN_CAP 16
#define IDMAP_NOT_FOUND SIZE_MAX

/* Multiplying by an odd constant permutes the low bits, so consecutive ids, which is what the
 * map mostly holds, land in distinct slots. */
static size_t idmap_home(uint32_t id, size_t cap)
{
    return (size_t)(id * UINT32_C(0x9E3779B1)) & (cap - 1);
}

static bool idmap_is_free(const ms_idmap *m, size_t i)
{
    return m->keys[i] == 0;
}

static bool idmap_is_empty(const ms_idmap *m, size_t i)
{
    return m->keys[i] == 0 && !m->tomb[i];
}

static size_t idmap_find(const ms_idmap *m, uint32_t id)
{
    if (m->cap == 0 || id == 0)
        return IDMAP_NOT_FOUND;
    size_t mask = m->cap - 1;
    size_t i = idmap_home(id, m->cap);
    /* The table always keeps empty slots, so the chain ends well before cap probes; the bound
     * only guards the loop. */
    for (size_t probes = 0; probes < m->cap; probes++, i = (i + 1) & mask) {
        if (m->keys[i] == id)
            return i;
        if (idmap_is_empty(m, i))
            break;
    }
    return IDMAP_NOT_FOUND;
}

/* Places an id known to be absent in the first free slot of its chain; a reused tombstone
 * leaves the used count as it was. */
static void idmap_place(ms_idmap *m, uint32_t id, void *value)
{
    size_t mask = m->cap - 1;
    size_t i = idmap_home(id, m->cap);
    while (!idmap_is_free(m, i))
        i = (i + 1) & mask;
    if (!m->tomb[i])
        m->used++;
    m->tomb[i] = 0;
    m->keys[i] = id;
    m->values[i] = value;
    m->count++;
}

static int idmap_rehash(ms_idmap *m, size_t new_cap)
{
    uint32_t *keys = calloc(new_cap, sizeof(*keys));
    void **values = calloc(new_cap, sizeof(*values));
    uint8_t *tomb = calloc(new_cap, sizeof(*tomb));
    if (keys == NULL || values == NULL || tomb == NULL) {
        free(keys);
        free(values);
        free(tomb);
        return MSOCK_ENOMEM;
    }
    ms_idmap old = *m;
    m->keys = keys;
    m->values = values;
    m->tomb = tomb;
    m->cap = new_cap;
    m->count = 0;
    m->used = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.keys[i] != 0)
            idmap_place(m, old.keys[i], old.values[i]);
    }
    free(old.keys);
    free(old.values);
    free(old.tomb);
    return 0;
}

/* Keeps live entries plus tombstones at most 3/4 of the table. A rebuild sizes the table for
 * half load, which grows it, or only sweeps tombstones, or shrinks it after many removals. */
static int idmap_make_room(ms_idmap *m)
{
    if ((m->used + 1) * 4 <= m->cap * 3)
        return 0;
    size_t new_cap = IDMAP_MIN_CAP;
    while (new_cap / 2 < m->count + 1)
        new_cap *= 2;
    return idmap_rehash(m, new_cap);
}

void ms_idmap_init(ms_idmap *m)
{
    m->keys = NULL;
    m->values = NULL;
    m->tomb = NULL;
    m->cap = 0;
    m->count = 0;
    m->used = 0;
    m->next_id = 1;
}

void ms_idmap_fini(ms_idmap *m)
{
    free(m->keys);
    free(m->values);
    free(m->tomb);
    ms_idmap_init(m);
}

int ms_idmap_alloc(ms_idmap *m, void *value, uint32_t *id)
{
    /* Every id but 0 taken: the search below would not end. */
    if (m->count >= UINT32_MAX - 1)
        return MSOCK_ENOMEM;
    int rv = idmap_make_room(m);
    if (rv != 0)
        return rv;
    uint32_t candidate;
    do {
        candidate = m->next_id++;
        if (m->next_id == 0)
            m->next_id = 1;
    } while (candidate == 0 || idmap_find(m, candidate) != IDMAP_NOT_FOUND);
    idmap_place(m, candidate, value);
    *id = candidate;
    return 0;
}

int ms_idmap_put(ms_idmap *m, uint32_t id, void *value)
{
    if (id == 0 || idmap_find(m, id) != IDMAP_NOT_FOUND)
        return MSOCK_EEXIST;
    int rv = idmap_make_room(m);
    if (rv != 0)
        return rv;
    idmap_place(m, id, value);
    return 0;
}

void *ms_idmap_get(const ms_idmap *m, uint32_t id)
{
    size_t i = idmap_find(m, id);
    return i == IDMAP_NOT_FOUND ? NULL : m->values[i];
}

void *ms_idmap_remove(ms_idmap *m, uint32_t id)
{
    size_t i = idmap_find(m, id);
    if (i == IDMAP_NOT_FOUND)
        return NULL;
    void *value = m->values[i];
    size_t mask = m->cap - 1;
    m->keys[i] = 0;
    m->values[i] = NULL;
    m->tomb[i] = 1;
    m->count--;
    /* A chain that ends right after this slot does not need the tombstone, nor the ones just
     * before it: turning them back to empty keeps chains short without a rebuild. */
    if (idmap_is_empty(m, (i + 1) & mask)) {
        while (m->tomb[i]) {
            m->tomb[i] = 0;
            m->used--;
            i = (i - 1) & mask;
        }
    }
    return value;
}

void ms_idmap_foreach(const ms_idmap *m, void (*fn)(uint32_t id, void *value, void *arg), void *arg)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] != 0)
            fn(m->keys[i], m->values[i], arg);
    }
}
