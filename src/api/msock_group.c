/* msock_group.c: the public entry points of the group pattern: the openers, the member's
 * calls, its sends and receives. Arguments are checked here, before any round trip. */
#include "api/api.h"
#include "core/msg.h"
#include "protocol/group_member.h"
#include "protocol/protocol.h"

int msock_group_hub_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_group_hub, s);
}

int msock_group_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_group, s);
}

/* The held group socket behind s: 0, MSOCK_ECLOSED, or MSOCK_ENOTSUP for other sockets. */
static int group_socket(msock_socket s, ms_socket **out)
{
    ms_socket *sock = ms_api_socket(s);
    if (!sock)
        return MSOCK_ECLOSED;
    if (sock->proto != &ms_protocol_group) {
        ms_socket_release(sock);
        return MSOCK_ENOTSUP;
    }
    *out = sock;
    return 0;
}

static bool group_bytes_ok(const void *p, size_t len, size_t min, size_t max)
{
    return (p != NULL || len == 0) && len >= min && len <= max;
}

static ms_gw_str group_str(const void *p, size_t len)
{
    return (ms_gw_str){.p = p, .len = len};
}

int msock_group_list(msock_socket s, msock_group_info *list, size_t *n)
{
    if (n == NULL || (list == NULL && *n > 0))
        return MSOCK_EINVAL;
    ms_socket *sock;
    int rv = group_socket(s, &sock);
    if (rv != 0)
        return rv;
    rv = ms_group_list(sock, list, n);
    ms_socket_release(sock);
    return rv;
}

int msock_group_create(msock_socket s, const void *name, size_t name_len, const void *password,
                       size_t password_len, const void *master_password,
                       size_t master_password_len, uint32_t capacity)
{
    if (!group_bytes_ok(name, name_len, 1, MSOCK_GROUP_NAME_MAX) ||
        !group_bytes_ok(password, password_len, 0, MSOCK_GROUP_PASSWORD_MAX) ||
        !group_bytes_ok(master_password, master_password_len, 0, MSOCK_GROUP_PASSWORD_MAX) ||
        capacity == 0)
        return MSOCK_EINVAL;
    ms_socket *sock;
    int rv = group_socket(s, &sock);
    if (rv != 0)
        return rv;
    rv = ms_group_create(sock, group_str(name, name_len), group_str(password, password_len),
                         group_str(master_password, master_password_len), capacity);
    ms_socket_release(sock);
    return rv;
}

int msock_group_join(msock_socket s, const void *name, size_t name_len, const void *password,
                     size_t password_len, int role, uint32_t *group)
{
    if (!group_bytes_ok(name, name_len, 1, MSOCK_GROUP_NAME_MAX) ||
        !group_bytes_ok(password, password_len, 0, MSOCK_GROUP_PASSWORD_MAX) ||
        (role != MSOCK_GROUP_MEMBER && role != MSOCK_GROUP_MASTER))
        return MSOCK_EINVAL;
    ms_socket *sock;
    int rv = group_socket(s, &sock);
    if (rv != 0)
        return rv;
    rv = ms_group_join(sock, group_str(name, name_len), group_str(password, password_len),
                       (uint8_t)role, group);
    ms_socket_release(sock);
    return rv;
}

static int group_leave_call(msock_socket s, uint32_t group, uint8_t op)
{
    ms_socket *sock;
    int rv = group_socket(s, &sock);
    if (rv != 0)
        return rv;
    /* Groups are never numbered 0: no such group, without asking. */
    rv = group == 0 ? MSOCK_ENOENT : ms_group_leave(sock, group, op);
    ms_socket_release(sock);
    return rv;
}

int msock_group_leave(msock_socket s, uint32_t group)
{
    return group_leave_call(s, group, MS_GW_LEAVE);
}

int msock_group_delete(msock_socket s, uint32_t group)
{
    return group_leave_call(s, group, MS_GW_DELETE);
}

int msock_group_whoami(msock_socket s, uint64_t *id)
{
    if (id == NULL)
        return MSOCK_EINVAL;
    ms_socket *sock;
    int rv = group_socket(s, &sock);
    if (rv != 0)
        return rv;
    rv = ms_group_whoami(sock, id);
    ms_socket_release(sock);
    return rv;
}

int msock_group_peers(msock_socket s, uint64_t *ids, size_t *n)
{
    if (n == NULL || (ids == NULL && *n > 0))
        return MSOCK_EINVAL;
    ms_socket *sock;
    int rv = group_socket(s, &sock);
    if (rv != 0)
        return rv;
    rv = ms_group_peers(sock, ids, n);
    ms_socket_release(sock);
    return rv;
}

int msock_group_relay(msock_socket s, const uint64_t *to, size_t n, const void *buf, size_t len,
                      uint64_t *unknown, size_t *n_unknown)
{
    if (to == NULL || n == 0 || n > MSOCK_GROUP_RELAY_MAX || (buf == NULL && len > 0) ||
        (unknown != NULL && n_unknown == NULL))
        return MSOCK_EINVAL;
    ms_socket *sock;
    int rv = group_socket(s, &sock);
    if (rv != 0)
        return rv;
    rv = ms_group_relay(sock, to, n, buf, len, unknown, n_unknown);
    ms_socket_release(sock);
    return rv;
}

int msock_group_sendmsg(msock_socket s, uint32_t group, uint64_t to, msock_msg *m, int flags)
{
    if (m == NULL || (flags & ~MSOCK_FLAG_NONBLOCK))
        return MSOCK_EINVAL;
    ms_socket *sock;
    int rv = group_socket(s, &sock);
    if (rv != 0)
        return rv;
    rv = ms_group_send(sock, group, to, m, (flags & MSOCK_FLAG_NONBLOCK) != 0);
    ms_socket_release(sock);
    return rv;
}

int msock_group_send(msock_socket s, uint32_t group, uint64_t to, const void *buf, size_t len,
                     int flags)
{
    if ((buf == NULL && len > 0) || (flags & ~MSOCK_FLAG_NONBLOCK))
        return MSOCK_EINVAL;
    msock_msg *m;
    int rv = ms_msg_from_buf(&m, buf, len);
    if (rv != 0)
        return rv;
    if ((rv = msock_group_sendmsg(s, group, to, m, flags)) != 0)
        ms_msg_free(m);
    return rv;
}

int msock_group_msg_info(const msock_msg *m, msock_group_rx *rx)
{
    if (m == NULL)
        return MSOCK_EINVAL;
    return ms_group_msg_info(m, rx);
}

int msock_group_recvmsg(msock_socket s, msock_group_rx *rx, msock_msg **m, int flags)
{
    if (m == NULL || (flags & ~MSOCK_FLAG_NONBLOCK))
        return MSOCK_EINVAL;
    ms_socket *sock;
    int rv = group_socket(s, &sock);
    if (rv != 0)
        return rv;
    rv = ms_socket_recv(sock, m, flags);
    ms_socket_release(sock);
    if (rv == 0 && ms_group_msg_info(*m, rx) != 0 && rx != NULL)
        *rx = (msock_group_rx){.kind = MSOCK_GROUP_DATA}; /* every queued message has a head */
    return rv;
}

int msock_group_recv(msock_socket s, msock_group_rx *rx, void *buf, size_t *len, int flags)
{
    if (len == NULL || (buf == NULL && *len > 0))
        return MSOCK_EINVAL;
    msock_msg *m;
    int rv = msock_group_recvmsg(s, rx, &m, flags);
    if (rv == 0)
        ms_api_copy_out(m, buf, len);
    return rv;
}
