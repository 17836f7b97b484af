/* sockaddr.h: from parsed URLs to socket addresses and back, for the fd transports. */
#ifndef MS_SOCKADDR_H
#define MS_SOCKADDR_H

#include <sys/socket.h>
#include "core/url.h"

typedef struct ms_sockaddr {
    struct sockaddr_storage ss;
    socklen_t len;
} ms_sockaddr;

/* Resolves a tcp URL (blocking getaddrinfo for names). For listening a wildcard host gives
 * the IPv6 any address with dual stack where the family allows, else 0.0.0.0. Errors:
 * MSOCK_ENOTFOUND (name does not resolve), MSOCK_EINVAL. */
int ms_sockaddr_tcp(ms_sockaddr *sa, const ms_url *u, bool for_listen);
/* An AF_UNIX address for an ipc URL; MSOCK_ENAMETOOLONG if the path does not fit. */
int ms_sockaddr_ipc(ms_sockaddr *sa, const ms_url *u);
/* Formats a bound/peer tcp address as "scheme://host:port". */
int ms_sockaddr_format(const ms_sockaddr *sa, const char *scheme, char *buf, size_t len);
/* Maps an errno value to a MSOCK_E* code. */
int ms_errno_to_code(int err);

#endif
