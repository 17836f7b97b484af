/* msg_depot.h: the shared depot behind the per-thread message caches. A thread that frees
 * more messages than it allocates (a receiver) hands batches of free buffers to threads that
 * allocate more than they free (a sender or a reactor), one lock per batch. */
#ifndef MS_MSG_DEPOT_H
#define MS_MSG_DEPOT_H

#include "core/defs.h"

#define MS_DEPOT_BATCH 32u /* the most items in one chain */
#define MS_DEPOT_KINDS 16u

/* Stores one chain of free items of `kind` (a kind always uses one chain length) whose items
 * take chain_bytes in all; false when the depot holds enough of that kind already (the caller
 * frees the chain). */
bool ms_depot_put(unsigned kind, void *chain, size_t chain_bytes);
/* A chain of `kind`, or NULL. */
void *ms_depot_get(unsigned kind);
/* Hands every stored chain to free_chain and empties the depot (process exit, msock_fini). */
void ms_depot_drain(void (*free_chain)(unsigned kind, void *chain));

#endif
