/* pubsub.h: SUB's subscription list, for the public entry points. */
#ifndef MS_PUBSUB_H
#define MS_PUBSUB_H

#include "core/defs.h"

/* Adds or removes a topic of a cooked SUB socket: 0, MSOCK_ENOTSUP (another protocol),
 * MSOCK_ENOENT (unsubscribing an absent topic) or MSOCK_ENOMEM. */
int ms_sub_subscribe(ms_socket *s, const void *topic, size_t len);
int ms_sub_unsubscribe(ms_socket *s, const void *topic, size_t len);

#endif
