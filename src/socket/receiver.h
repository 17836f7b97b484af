/* receiver.h: the receiver policies: all (each message stamped with its origin pipe into the
 * bounded socket queue; a full queue pauses that pipe) or none (drop, but keep reading). */
#ifndef MS_RECEIVER_H
#define MS_RECEIVER_H

#include "core/defs.h"

/* Takes m from pipe p: 0, MSOCK_EAGAIN (queue full, p paused) or MSOCK_ECLOSED. */
int ms_receiver_deliver(ms_socket *s, ms_pipe *p, msock_msg *m);
/* Receives one message, waiting until deadline unless nonblock; resumes paused pipes. */
int ms_receiver_recv(ms_socket *s, msock_msg **m, int64_t deadline, bool nonblock);
/* Under s->mtx: forget p (it is going away). */
void ms_receiver_remove(ms_socket *s, ms_pipe *p);

#endif
