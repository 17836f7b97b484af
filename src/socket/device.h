/* device.h: forwarding between raw sockets (msock_device). */
#ifndef MS_DEVICE_H
#define MS_DEVICE_H

#include "core/defs.h"

/* Forwards a <-> b (or a to itself) until either closes: 0, or MSOCK_EINVAL for cooked or
 * mismatched sockets, MSOCK_ENOMEM when the second direction's thread cannot start. Both
 * sockets held by the caller. */
int ms_device_run(ms_socket *a, ms_socket *b);

#endif
