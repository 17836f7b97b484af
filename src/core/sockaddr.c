/* sockaddr.c: name resolution and address formatting for tcp and ipc. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/un.h>

#include "core/sockaddr.h"

int ms_errno_to_code(int err)
{
    switch (err) {
    case 0: return 0;
    case EWOULDBLOCK: return MSOCK_EAGAIN;
    case ENOBUFS: return MSOCK_ENOMEM;
    case ENFILE: return MSOCK_EMFILE;
    case EPIPE: return MSOCK_ECONNRESET;
    case ENOTCONN: return MSOCK_ECONNRESET;
    case EAFNOSUPPORT: return MSOCK_EADDRNOTAVAIL;
    default: return -err;
    }
}

int ms_sockaddr_tcp(ms_sockaddr *sa, const ms_url *u, bool for_listen)
{
    memset(sa, 0, sizeof *sa);
    if (!for_listen && u->host[0] == '\0')
        return MSOCK_EINVAL; /* a wildcard host names no one to dial */
    if (for_listen && ms_url_host_is_wildcard(u)) {
        if (u->family == MS_URL_INET4) {
            struct sockaddr_in *in = (struct sockaddr_in *)&sa->ss;
            in->sin_family = AF_INET;
            in->sin_port = htons(u->port);
            in->sin_addr.s_addr = htonl(INADDR_ANY);
            sa->len = sizeof *in;
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa->ss;
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(u->port);
            in6->sin6_addr = in6addr_any;
            sa->len = sizeof *in6;
        }
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    hints.ai_family = u->family == MS_URL_INET4 ? AF_INET : u->family == MS_URL_INET6 ? AF_INET6 : AF_UNSPEC;
    if (for_listen)
        hints.ai_flags |= AI_PASSIVE;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)u->port);
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(u->host, port, &hints, &res);
    if (rc != 0 || res == NULL)
        return rc == EAI_MEMORY ? MSOCK_ENOMEM : MSOCK_ENOTFOUND;
    /* Prefer IPv4 for names like "localhost" that resolve to both, as peers listen there. */
    struct addrinfo *pick = res;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    memcpy(&sa->ss, pick->ai_addr, pick->ai_addrlen);
    sa->len = pick->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int ms_sockaddr_ipc(ms_sockaddr *sa, const ms_url *u)
{
    memset(sa, 0, sizeof *sa);
    struct sockaddr_un *un = (struct sockaddr_un *)&sa->ss;
    size_t n = strlen(u->path);
    if (n == 0)
        return MSOCK_EINVAL;
    if (n >= sizeof un->sun_path)
        return MSOCK_ENAMETOOLONG;
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, u->path, n + 1);
    sa->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

int ms_sockaddr_format(const ms_sockaddr *sa, const char *scheme, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    uint16_t port;
    if (sa->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&sa->ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&sa->ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    } else {
        return MSOCK_EINVAL;
    }
    return ms_url_format_tcp(buf, len, scheme, host, port);
}
