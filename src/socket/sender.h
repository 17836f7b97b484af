/* sender.h: the sender policies (one, all, none) and the directed send to one pipe. The
 * socket calls add/remove/ready under its lock; send takes the lock itself. */
#ifndef MS_SENDER_H
#define MS_SENDER_H

#include "core/defs.h"

/* Under s->mtx: a pipe joins or leaves the ring of pipes that can take a message. */
void ms_sender_ready(ms_socket *s, ms_pipe *p);
void ms_sender_unready(ms_socket *s, ms_pipe *p);
/* Sends m by the socket's policy (or to its pipe, when m names one), waiting until deadline
 * (ms, MS_NEVER) unless nonblock. Takes m on success; *sent_on (may be NULL) gets the pipe
 * that took it under the "one" policy. MSOCK_ENOENT: m names a pipe that is gone. No lock
 * held on entry. */
int ms_sender_send(ms_socket *s, msock_msg *m, int64_t deadline, bool nonblock, uint32_t *sent_on);
/* The "all" policy: a copy to every pipe but `skip` (a pipe id, or 0); a pipe that cannot
 * take it now misses it (counted as a queue-full drop). Never blocks; takes m. */
int ms_sender_send_all(ms_socket *s, msock_msg *m, uint32_t skip);
/* The "one" policy for len bytes of the caller's buffer: transports that can take bytes do,
 * so a small send makes no message. Same waits and returns, or MSOCK_ENOMEM. */
int ms_sender_send_buf(ms_socket *s, const void *buf, size_t len, int64_t deadline, bool nonblock);

#endif
