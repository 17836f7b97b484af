/* group_hub_control.c: what the group hub does with each client message (docs/group-protocol.md):
 * answers requests in order, sends events to whom the spec says, and forwards SEND and RELAY
 * bodies without copying them. Runs on the router thread only. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/msg.h"
#include "protocol/group_hub.h"
#include "socket/pipe.h"
#include "socket/socket.h"

/* Longest fixed reply: the JOIN reply (head 7, group, capacity, flags). */
#define CONTROL_REPLY_MAX 16

static void control_reply(gh_hub *hub, gh_client *c, const ms_gw_msg *d, uint8_t status)
{
    uint8_t buf[CONTROL_REPLY_MAX];
    gh_send_bytes(hub, c, buf, ms_gw_put_reply_head(buf, sizeof buf, d->type, d->req, status));
}

/* A reply of len bytes whose head is written; the caller fills the rest of *body. NULL when out
 * of memory (the request then goes unanswered, as a lost message would). */
static msock_msg *control_reply_alloc(gh_hub *hub, gh_client *c, const ms_gw_msg *d, size_t len,
                                      uint8_t status, uint8_t **body)
{
    msock_msg *m;
    if (ms_msg_alloc(&m, len) != 0) {
        ms_pipe_count_error(hub->sock, c->pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
        return NULL;
    }
    *body = m->body + ms_gw_put_reply_head(m->body, len, d->type, d->req, status);
    return m;
}

/* An event to every client of list[0..n). */
static void control_event(gh_hub *hub, gh_client **list, size_t n, uint8_t event, uint32_t group,
                          uint64_t who, uint8_t status)
{
    if (n == 0)
        return;
    uint8_t buf[16];
    size_t len = ms_gw_put_event(buf, sizeof buf, event, group, who, status);
    msock_msg *m;
    if (ms_msg_from_buf(&m, buf, len) != 0) {
        ms_socket_stat_add(hub->sock, MSOCK_STAT_DROPS_QUEUE_FULL, n);
        return;
    }
    gh_send_all(hub, list, n, m);
}

/* Into hub->targets: the group's standard members but `skip`, and its master when asked.
 * Returns how many (0 when out of memory: the fan-out is lost, as a full queue would lose it). */
static size_t control_targets(gh_hub *hub, gh_group *g, bool with_master, const gh_client *skip)
{
    if (!gh_targets_reserve(hub, (size_t)g->nmembers + 1)) {
        ms_socket_stat_add(hub->sock, MSOCK_STAT_DROPS_QUEUE_FULL, 1);
        return 0;
    }
    size_t n = 0;
    if (with_master && g->master != NULL && g->master != skip)
        hub->targets[n++] = g->master;
    for (gh_member *mb = g->members; mb; mb = mb->g_next)
        if (mb->client != skip)
            hub->targets[n++] = mb->client;
    return n;
}

/* mb's client leaves its group: MEMBER_LEFT to the master and the remaining members, or
 * MASTER_LEFT to the members. */
static void control_leave(gh_hub *hub, gh_member *mb)
{
    gh_group *g = mb->group;
    uint64_t who = mb->client->id;
    bool master = mb->master;
    gh_member_remove(hub, mb);
    size_t n = control_targets(hub, g, !master, NULL);
    control_event(hub, hub->targets, n, master ? MS_GW_EV_MASTER_LEFT : MS_GW_EV_MEMBER_LEFT,
                  g->number, who, MS_GW_OK);
}

void gh_control_client_gone(gh_hub *hub, gh_client *c)
{
    while (c->groups)
        control_leave(hub, c->groups);
    gh_client_free(hub, c);
}

/* ---- requests ---- */

static void control_list(gh_hub *hub, gh_client *c, const ms_gw_msg *d)
{
    size_t len = 7 + 4;
    for (gh_group *g = hub->group_first; g; g = g->next)
        len += MS_GW_LIST_ENTRY_MIN + g->name_len;
    uint8_t *p;
    msock_msg *m = control_reply_alloc(hub, c, d, len, MS_GW_OK, &p);
    if (m == NULL)
        return;
    uint8_t *end = m->body + len;
    p += ms_gw_put_u32(p, (size_t)(end - p), (uint32_t)hub->ngroups);
    for (gh_group *g = hub->group_first; g; g = g->next) {
        p += ms_gw_put_u32(p, (size_t)(end - p), g->number);
        p += ms_gw_put_u32(p, (size_t)(end - p), g->nmembers);
        p += ms_gw_put_u32(p, (size_t)(end - p), g->capacity);
        p += ms_gw_put_u8(p, (size_t)(end - p), g->master ? MS_GW_FLAG_MASTER : 0);
        p += ms_gw_put_str8(p, (size_t)(end - p), (ms_gw_str){g->name, g->name_len});
    }
    gh_send(hub, c, m);
}

static gh_auth *control_auth_new(gh_hub *hub, gh_client *c, const ms_gw_msg *d)
{
    gh_auth *a = calloc(1, sizeof *a);
    if (a == NULL) {
        ms_pipe_count_error(hub->sock, c->pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
        return NULL;
    }
    a->op = d->type;
    a->client = c->id;
    a->req = d->req;
    a->pw_len = d->password.len;
    if (a->pw_len)
        memcpy(a->pw, d->password.p, a->pw_len);
    return a;
}

/* The checks that need no password run here, so that a request bound to fail costs no hashing;
 * the result re-checks them, as the hub may have changed meanwhile. */
static void control_create(gh_hub *hub, gh_client *c, const ms_gw_msg *d)
{
    uint8_t status = MS_GW_OK;
    if (d->name.len == 0 || d->capacity == 0 || d->capacity > (uint32_t)hub->lim.max_members)
        status = MS_GW_INVALID;
    else if (gh_group_by_name(hub, d->name.p, d->name.len) != NULL)
        status = MS_GW_EXISTS;
    else if ((hub->lim.max_groups > 0 && hub->ngroups >= (size_t)hub->lim.max_groups) ||
             hub->next_group == 0)
        status = MS_GW_TOO_MANY_GROUPS;
    if (status != MS_GW_OK) {
        control_reply(hub, c, d, status);
        return;
    }
    gh_auth *a = control_auth_new(hub, c, d);
    if (a == NULL)
        return;
    a->capacity = d->capacity;
    a->iterations = hub->lim.kdf_iterations;
    a->name_len = d->name.len;
    memcpy(a->name, d->name.p, d->name.len);
    a->master_pw_len = d->master_password.len;
    if (a->master_pw_len)
        memcpy(a->master_pw, d->master_password.p, a->master_pw_len);
    c->auth_busy = true;
    gh_auth_submit(hub, a);
}

/* Why c may not join g at all, before its password is looked at (MS_GW_OK if it may try). */
static uint8_t control_join_check(gh_hub *hub, gh_client *c, gh_group *g)
{
    if (g == NULL)
        return MS_GW_NOT_FOUND;
    if (gh_member_find(hub, g->number, c->id) != NULL)
        return MS_GW_EXISTS;
    return MS_GW_OK;
}

/* Why a right password still does not get c in (MS_GW_OK if it does). */
static uint8_t control_join_room(const gh_group *g, uint8_t role)
{
    if (role == 1 && g->master != NULL)
        return MS_GW_MASTER_PRESENT;
    if (role == 0 && g->nmembers >= g->capacity)
        return MS_GW_FULL;
    return MS_GW_OK;
}

static void control_join(gh_hub *hub, gh_client *c, const ms_gw_msg *d)
{
    gh_group *g = d->name.len ? gh_group_by_name(hub, d->name.p, d->name.len) : NULL;
    /* A wrong password is DENIED even where a right one would find no room. */
    uint8_t status = control_join_check(hub, c, g);
    if (status != MS_GW_OK) {
        control_reply(hub, c, d, status);
        return;
    }
    gh_auth *a = control_auth_new(hub, c, d);
    if (a == NULL)
        return;
    a->role = d->role;
    a->group = g->number;
    a->iterations = g->iterations;
    a->secret = d->role == 1 ? g->master_secret : g->member_secret;
    c->auth_busy = true;
    gh_auth_submit(hub, a);
}

static void control_leave_request(gh_hub *hub, gh_client *c, const ms_gw_msg *d)
{
    gh_member *mb = gh_member_find(hub, d->group, c->id);
    if (mb != NULL)
        control_leave(hub, mb);
    control_reply(hub, c, d, mb != NULL ? MS_GW_OK : MS_GW_NOT_FOUND);
}

static void control_delete(gh_hub *hub, gh_client *c, const ms_gw_msg *d)
{
    gh_group *g = gh_group_by_number(hub, d->group);
    if (g == NULL || g->master != c) {
        control_reply(hub, c, d, g == NULL ? MS_GW_NOT_FOUND : MS_GW_NOT_MASTER);
        return;
    }
    size_t n = control_targets(hub, g, false, NULL);
    control_event(hub, hub->targets, n, MS_GW_EV_GROUP_DELETED, g->number, c->id, MS_GW_OK);
    while (g->members)
        gh_member_remove(hub, g->members);
    gh_member *mine = gh_member_find(hub, g->number, c->id);
    if (mine != NULL)
        gh_member_remove(hub, mine);
    gh_group_free(hub, g);
    control_reply(hub, c, d, MS_GW_OK);
}

static void control_whoami(gh_hub *hub, gh_client *c, const ms_gw_msg *d)
{
    uint8_t buf[CONTROL_REPLY_MAX];
    size_t n = ms_gw_put_reply_head(buf, sizeof buf, d->type, d->req, MS_GW_OK);
    n += ms_gw_put_u64(buf + n, sizeof buf - n, c->id);
    gh_send_bytes(hub, c, buf, n);
}

static void control_peers(gh_hub *hub, gh_client *c, const ms_gw_msg *d)
{
    size_t count = hub->nclients - 1; /* c itself has an id: it is listed */
    size_t len = 7 + 4 + count * MS_GW_ID_LEN;
    uint8_t *p;
    msock_msg *m = control_reply_alloc(hub, c, d, len, MS_GW_OK, &p);
    if (m == NULL)
        return;
    uint8_t *end = m->body + len;
    p += ms_gw_put_u32(p, (size_t)(end - p), (uint32_t)count);
    for (gh_client *x = hub->client_list; x; x = x->next)
        if (x != c)
            p += ms_gw_put_u64(p, (size_t)(end - p), x->id);
    gh_send(hub, c, m);
}

/* ---- data ---- */

static void control_relay(gh_hub *hub, gh_client *c, const ms_gw_msg *d, msock_msg *m)
{
    if (m->len - d->head_len > hub->lim.max_body) {
        control_reply(hub, c, d, MS_GW_TOO_LARGE);
        ms_msg_free(m);
        return;
    }
    uint64_t unknown[255];
    size_t n_unknown = 0, n = 0;
    if (!gh_targets_reserve(hub, d->n_ids)) {
        ms_pipe_count_error(hub->sock, c->pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
        ms_msg_free(m);
        return;
    }
    for (size_t i = 0; i < d->n_ids; i++) {
        uint64_t id = ms_gw_id_at(d->ids, i);
        gh_client *to = gh_client_by_id(hub, id);
        if (to != NULL)
            hub->targets[n++] = to;
        else
            unknown[n_unknown++] = id;
    }
    ms_gw_msg head = *d; /* d points into m, which is rewritten below */
    head.ids = NULL;
    /* RELAY's head is longer than RELAYED's: drop the difference and write the new head over
     * the rest, so the body is never copied. */
    uint8_t relayed[MS_GW_ID_LEN + 1];
    size_t relayed_len = ms_gw_put_relayed_head(relayed, sizeof relayed, c->id);
    if (n > 0 && msock_msg_trim(m, d->head_len - relayed_len) == 0 && ms_msg_make_unique(m) == 0) {
        memcpy(m->body, relayed, relayed_len);
        gh_send_all(hub, hub->targets, n, m);
    } else {
        if (n > 0)
            ms_socket_stat_add(hub->sock, MSOCK_STAT_DROPS_QUEUE_FULL, n);
        ms_msg_free(m);
    }
    size_t len = 7 + 1 + n_unknown * MS_GW_ID_LEN;
    uint8_t *p;
    msock_msg *r = control_reply_alloc(hub, c, &head, len, n_unknown ? MS_GW_NOT_FOUND : MS_GW_OK, &p);
    if (r == NULL)
        return;
    uint8_t *end = r->body + len;
    p += ms_gw_put_u8(p, (size_t)(end - p), (uint8_t)n_unknown);
    for (size_t i = 0; i < n_unknown; i++)
        p += ms_gw_put_u64(p, (size_t)(end - p), unknown[i]);
    gh_send(hub, c, r);
}

static void control_undelivered(gh_hub *hub, gh_client *c, const ms_gw_msg *d, uint8_t status)
{
    uint8_t buf[16];
    gh_send_bytes(hub, c, buf,
                  ms_gw_put_event(buf, sizeof buf, MS_GW_EV_UNDELIVERED, d->group, d->id, status));
}

/* Who gets a SEND from c, into hub->targets; a status other than OK says why nobody. */
static uint8_t control_send_targets(gh_hub *hub, gh_client *c, const ms_gw_msg *d, size_t *n)
{
    *n = 0;
    gh_member *mb = gh_member_find(hub, d->group, c->id);
    if (mb == NULL)
        return MS_GW_NOT_FOUND;
    gh_group *g = mb->group;
    if (!mb->master) {
        if (d->id != 0)
            return MS_GW_NOT_MASTER;
        if (g->master == NULL)
            return MS_GW_NO_MASTER;
        if (!gh_targets_reserve(hub, 1))
            return MS_GW_OK; /* lost, as to a full queue */
        hub->targets[(*n)++] = g->master;
        return MS_GW_OK;
    }
    if (d->id == 0) {
        *n = control_targets(hub, g, false, NULL);
        return MS_GW_OK;
    }
    gh_member *to = gh_member_find(hub, g->number, d->id);
    if (to == NULL || to->master)
        return MS_GW_NOT_FOUND;
    if (gh_targets_reserve(hub, 1))
        hub->targets[(*n)++] = to->client;
    return MS_GW_OK;
}

static void control_send(gh_hub *hub, gh_client *c, const ms_gw_msg *d, msock_msg *m)
{
    size_t n = 0;
    uint8_t status = m->len - d->head_len > hub->lim.max_body
                         ? MS_GW_TOO_LARGE
                         : control_send_targets(hub, c, d, &n);
    if (status != MS_GW_OK) {
        control_undelivered(hub, c, d, status);
        ms_msg_free(m);
        return;
    }
    /* SEND and DATA heads are the same size: only the type and the id change. */
    uint8_t head[13];
    if (n == 0 || ms_gw_put_data_head(head, sizeof head, d->group, c->id) != d->head_len ||
        ms_msg_make_unique(m) != 0) {
        ms_msg_free(m);
        return;
    }
    memcpy(m->body, head, sizeof head);
    gh_send_all(hub, hub->targets, n, m);
}

/* ---- entry points ---- */

/* Clears a password where it came in: message buffers are recycled, and no plaintext password
 * may outlive its request. The decoded view is const; the buffer is the hub's own. */
static void control_wipe(const ms_gw_str *pw)
{
    if (pw->len > 0)
        OPENSSL_cleanse((void *)(uintptr_t)pw->p, pw->len);
}

void gh_control_handle(gh_hub *hub, gh_client *c, msock_msg *m)
{
    /* An inproc sender's protocol header is part of what came on the wire. */
    if (m->header_len != 0 && ms_msg_header_to_body(m) != 0) {
        ms_pipe_count_error(hub->sock, c->pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
        ms_msg_free(m);
        return;
    }
    ms_gw_msg d;
    if (ms_gw_decode(m->body, m->len, false, &d) != 0) {
        ms_msg_free(m);
        gh_close_malformed(hub, c);
        return;
    }
    switch (d.type) {
    case MS_GW_SEND: control_send(hub, c, &d, m); return;
    case MS_GW_RELAY: control_relay(hub, c, &d, m); return;
    case MS_GW_LIST: control_list(hub, c, &d); break;
    case MS_GW_CREATE:
        control_create(hub, c, &d);
        control_wipe(&d.master_password);
        control_wipe(&d.password);
        break;
    case MS_GW_JOIN:
        control_join(hub, c, &d);
        control_wipe(&d.password);
        break;
    case MS_GW_LEAVE: control_leave_request(hub, c, &d); break;
    case MS_GW_DELETE: control_delete(hub, c, &d); break;
    case MS_GW_WHOAMI: control_whoami(hub, c, &d); break;
    case MS_GW_PEERS: control_peers(hub, c, &d); break;
    default: break; /* the decoder knows no other request */
    }
    ms_msg_free(m);
}

static void control_create_done(gh_hub *hub, gh_client *c, const gh_auth *a, ms_gw_msg *d)
{
    gh_group *g = NULL;
    uint8_t status = MS_GW_OK;
    if (!a->ok)
        status = MS_GW_INVALID; /* no randomness or no hash: nothing to store */
    else if (gh_group_by_name(hub, a->name, a->name_len) != NULL)
        status = MS_GW_EXISTS;
    else if ((hub->lim.max_groups > 0 && hub->ngroups >= (size_t)hub->lim.max_groups) ||
             (g = gh_group_add(hub, a)) == NULL)
        status = MS_GW_TOO_MANY_GROUPS;
    if (status != MS_GW_OK) {
        control_reply(hub, c, d, status);
        return;
    }
    uint8_t buf[CONTROL_REPLY_MAX];
    size_t n = ms_gw_put_reply_head(buf, sizeof buf, d->type, d->req, MS_GW_OK);
    n += ms_gw_put_u32(buf + n, sizeof buf - n, g->number);
    gh_send_bytes(hub, c, buf, n);
}

static void control_join_done(gh_hub *hub, gh_client *c, const gh_auth *a, ms_gw_msg *d)
{
    /* The group may have gone, or c joined it by another request, while this was hashed. */
    gh_group *g = gh_group_by_number(hub, a->group);
    uint8_t status = control_join_check(hub, c, g);
    if (status == MS_GW_OK && !a->ok) {
        control_reply(hub, c, d, MS_GW_DENIED);
        if (++c->auth_fails >= hub->lim.max_auth_fails)
            gh_close_with(hub, c, MS_GW_AUTH_FAILURES);
        return;
    }
    if (status == MS_GW_OK)
        status = control_join_room(g, a->role);
    uint8_t flags = status == MS_GW_OK && g->master != NULL ? MS_GW_FLAG_MASTER : 0;
    if (status == MS_GW_OK && gh_member_add(hub, g, c, a->role == 1) == NULL)
        status = MS_GW_FULL; /* out of memory: no room for this member */
    if (status != MS_GW_OK) {
        control_reply(hub, c, d, status);
        return;
    }
    uint8_t buf[CONTROL_REPLY_MAX];
    size_t n = ms_gw_put_reply_head(buf, sizeof buf, d->type, d->req, MS_GW_OK);
    n += ms_gw_put_u32(buf + n, sizeof buf - n, g->number);
    n += ms_gw_put_u32(buf + n, sizeof buf - n, g->capacity);
    n += ms_gw_put_u8(buf + n, sizeof buf - n, flags);
    gh_send_bytes(hub, c, buf, n);
    /* The others hear of it; the joiner has its reply. */
    size_t nt = control_targets(hub, g, a->role == 0, c);
    control_event(hub, hub->targets, nt,
                  a->role == 1 ? MS_GW_EV_MASTER_JOINED : MS_GW_EV_MEMBER_JOINED, g->number,
                  c->id, MS_GW_OK);
}

void gh_control_auth_done(gh_hub *hub, gh_auth *a)
{
    gh_client *c = gh_client_by_id(hub, a->client);
    if (c == NULL) {
        gh_auth_free(a);
        return;
    }
    c->auth_busy = false;
    if (!c->closing) {
        ms_gw_msg d = {.type = a->op, .req = a->req};
        if (a->op == MS_GW_CREATE)
            control_create_done(hub, c, a, &d);
        else
            control_join_done(hub, c, a, &d);
    }
    gh_auth_free(a);
    /* What waited behind it, in order, until another request waits for hashing. */
    while (c->backlog != NULL && !c->auth_busy && !c->closing) {
        msock_msg *m = c->backlog;
        c->backlog = m->next;
        if (c->backlog == NULL)
            c->backlog_tail = NULL;
        m->next = NULL;
        c->backlog_msgs--;
        c->backlog_bytes -= ms_msg_wire_len(m);
        gh_control_handle(hub, c, m);
    }
}
