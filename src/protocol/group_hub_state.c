/* group_hub_state.c: the group hub's tables: clients by id and by pipe, groups by name and by
 * number, memberships by (group, client); every lookup O(1). Only the router thread calls. */
#include <stdlib.h>
#include <string.h>

#include "core/msg.h"
#include "protocol/group_hub.h"
#include "socket/pipe.h"

/* ---- the intrusive hash table ---- */

static uint64_t state_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* Names come from clients: the hash is keyed per hub so that nobody can pick colliding ones
 * in advance. */
static uint64_t state_hash_name(const gh_hub *hub, const uint8_t *name, size_t len)
{
    uint64_t h = hub->seed ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, name + i, 8);
        h = state_mix(h ^ w);
    }
    uint64_t tail = 0;
    for (; i < len; i++)
        tail = tail << 8 | name[i];
    return state_mix(h ^ tail ^ 0x9e3779b97f4a7c15ull);
}

static uint64_t state_hash_member(uint32_t group, uint64_t client)
{
    return state_mix(state_mix(client) ^ group);
}

static gh_node *table_first(const gh_table *t, uint64_t hash)
{
    if (t->nbuckets == 0)
        return NULL;
    for (gh_node *n = t->buckets[hash & (t->nbuckets - 1)]; n; n = n->next)
        if (n->hash == hash)
            return n;
    return NULL;
}

static gh_node *table_next(const gh_node *n)
{
    for (gh_node *x = n->next; x; x = x->next)
        if (x->hash == n->hash)
            return x;
    return NULL;
}

/* Doubles the buckets once the table holds as many nodes; a failed grow keeps the table as it
 * is (longer chains, still correct). */
static void table_grow(gh_table *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
    gh_node **b = calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (gh_node *x = t->buckets[i], *next; x; x = next) {
            next = x->next;
            x->next = b[x->hash & (n - 1)];
            b[x->hash & (n - 1)] = x;
        }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

static bool table_insert(gh_table *t, gh_node *node, uint64_t hash)
{
    if (t->count >= t->nbuckets)
        table_grow(t);
    if (t->nbuckets == 0)
        return false;
    node->hash = hash;
    gh_node **head = &t->buckets[hash & (t->nbuckets - 1)];
    node->next = *head;
    *head = node;
    t->count++;
    return true;
}

static void table_remove(gh_table *t, gh_node *node)
{
    if (t->nbuckets == 0)
        return;
    for (gh_node **pp = &t->buckets[node->hash & (t->nbuckets - 1)]; *pp; pp = &(*pp)->next)
        if (*pp == node) {
            *pp = node->next;
            node->next = NULL;
            t->count--;
            return;
        }
}

static void table_fini(gh_table *t)
{
    free(t->buckets);
    memset(t, 0, sizeof *t);
}

/* ---- clients ---- */

void gh_state_init(gh_hub *hub)
{
    ms_idmap_init(&hub->by_pipe);
    ms_idmap_init(&hub->groups);
    hub->next_client_id = 1;
    hub->next_group = 1;
}

gh_client *gh_client_add(gh_hub *hub, ms_pipe *p)
{
    gh_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->pipe = p;
    c->pipe_id = p->id;
    if (ms_idmap_put(&hub->by_pipe, p->id, c) != 0) {
        free(c);
        return NULL;
    }
    bool room = hub->lim.max_clients == 0 || hub->nclients < (size_t)hub->lim.max_clients;
    if (room) {
        uint64_t id = hub->next_client_id;
        if (table_insert(&hub->clients, &c->by_id, state_mix(id))) {
            hub->next_client_id++;
            c->id = id;
            c->next = hub->client_list;
            if (c->next)
                c->next->prev = c;
            hub->client_list = c;
            hub->nclients++;
        }
    }
    return c;
}

gh_client *gh_client_by_pipe(gh_hub *hub, uint32_t pipe_id)
{
    return ms_idmap_get(&hub->by_pipe, pipe_id);
}

gh_client *gh_client_by_id(gh_hub *hub, uint64_t id)
{
    if (id == 0)
        return NULL;
    for (gh_node *n = table_first(&hub->clients, state_mix(id)); n; n = table_next(n)) {
        gh_client *c = MS_CONTAINER_OF(n, gh_client, by_id);
        if (c->id == id)
            return c;
    }
    return NULL;
}

void gh_client_free(gh_hub *hub, gh_client *c)
{
    if (ms_idmap_get(&hub->by_pipe, c->pipe_id) == c)
        ms_idmap_remove(&hub->by_pipe, c->pipe_id);
    if (c->id != 0) {
        table_remove(&hub->clients, &c->by_id);
        if (c->prev)
            c->prev->next = c->next;
        else
            hub->client_list = c->next;
        if (c->next)
            c->next->prev = c->prev;
        hub->nclients--;
    }
    for (gh_client **pp = &hub->closing_list; *pp; pp = &(*pp)->closing_next)
        if (*pp == c) {
            *pp = c->closing_next;
            break;
        }
    ms_msg_chain_free(c->backlog);
    ms_pipe_release(c->pipe);
    free(c);
}

/* ---- groups ---- */

gh_group *gh_group_by_name(gh_hub *hub, const uint8_t *name, size_t len)
{
    uint64_t h = state_hash_name(hub, name, len);
    for (gh_node *n = table_first(&hub->groups_by_name, h); n; n = table_next(n)) {
        gh_group *g = MS_CONTAINER_OF(n, gh_group, by_name);
        if (g->name_len == len && (len == 0 || memcmp(g->name, name, len) == 0))
            return g;
    }
    return NULL;
}

gh_group *gh_group_by_number(gh_hub *hub, uint32_t number)
{
    return number != 0 ? ms_idmap_get(&hub->groups, number) : NULL;
}

gh_group *gh_group_add(gh_hub *hub, const gh_auth *a)
{
    if (hub->next_group == 0) /* every number was used: they are never reused */
        return NULL;
    gh_group *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->number = hub->next_group;
    g->capacity = a->capacity;
    g->iterations = a->iterations;
    g->member_secret = a->secret;
    g->master_secret = a->master_secret;
    g->name_len = a->name_len;
    memcpy(g->name, a->name, a->name_len);
    if (ms_idmap_put(&hub->groups, g->number, g) != 0) {
        free(g);
        return NULL;
    }
    if (!table_insert(&hub->groups_by_name, &g->by_name, state_hash_name(hub, g->name, g->name_len))) {
        ms_idmap_remove(&hub->groups, g->number);
        free(g);
        return NULL;
    }
    hub->next_group++;
    g->prev = hub->group_last;
    if (g->prev)
        g->prev->next = g;
    else
        hub->group_first = g;
    hub->group_last = g;
    hub->ngroups++;
    return g;
}

void gh_group_free(gh_hub *hub, gh_group *g)
{
    ms_idmap_remove(&hub->groups, g->number);
    table_remove(&hub->groups_by_name, &g->by_name);
    if (g->prev)
        g->prev->next = g->next;
    else
        hub->group_first = g->next;
    if (g->next)
        g->next->prev = g->prev;
    else
        hub->group_last = g->prev;
    hub->ngroups--;
    /* The hashes are no secret once the group is gone, but leave nothing behind anyway. */
    memset(&g->member_secret, 0, sizeof g->member_secret);
    memset(&g->master_secret, 0, sizeof g->master_secret);
    free(g);
}

/* ---- memberships ---- */

gh_member *gh_member_find(gh_hub *hub, uint32_t group, uint64_t client)
{
    uint64_t h = state_hash_member(group, client);
    for (gh_node *n = table_first(&hub->members, h); n; n = table_next(n)) {
        gh_member *mb = MS_CONTAINER_OF(n, gh_member, by_key);
        if (mb->group->number == group && mb->client->id == client)
            return mb;
    }
    return NULL;
}

gh_member *gh_member_add(gh_hub *hub, gh_group *g, gh_client *c, bool master)
{
    gh_member *mb = calloc(1, sizeof *mb);
    if (mb == NULL)
        return NULL;
    mb->group = g;
    mb->client = c;
    mb->master = master;
    if (!table_insert(&hub->members, &mb->by_key, state_hash_member(g->number, c->id))) {
        free(mb);
        return NULL;
    }
    mb->c_next = c->groups;
    if (mb->c_next)
        mb->c_next->c_prev = mb;
    c->groups = mb;
    if (master) {
        g->master = c;
    } else {
        mb->g_next = g->members;
        if (mb->g_next)
            mb->g_next->g_prev = mb;
        g->members = mb;
        g->nmembers++;
    }
    return mb;
}

void gh_member_remove(gh_hub *hub, gh_member *mb)
{
    gh_group *g = mb->group;
    gh_client *c = mb->client;
    table_remove(&hub->members, &mb->by_key);
    if (mb->c_prev)
        mb->c_prev->c_next = mb->c_next;
    else
        c->groups = mb->c_next;
    if (mb->c_next)
        mb->c_next->c_prev = mb->c_prev;
    if (mb->master) {
        g->master = NULL;
    } else {
        if (mb->g_prev)
            mb->g_prev->g_next = mb->g_next;
        else
            g->members = mb->g_next;
        if (mb->g_next)
            mb->g_next->g_prev = mb->g_prev;
        g->nmembers--;
    }
    free(mb);
}

/* ---- teardown ---- */

static void state_pick_cb(uint32_t id, void *value, void *arg)
{
    (void)id;
    *(gh_client **)arg = value;
}

void gh_state_fini(gh_hub *hub)
{
    while (hub->group_first) {
        gh_group *g = hub->group_first;
        while (g->members)
            gh_member_remove(hub, g->members);
        if (g->master) {
            gh_member *mb = gh_member_find(hub, g->number, g->master->id);
            if (mb)
                gh_member_remove(hub, mb);
            g->master = NULL;
        }
        gh_group_free(hub, g);
    }
    /* Every client is in by_pipe, listed or not. */
    for (;;) {
        while (hub->client_list)
            gh_client_free(hub, hub->client_list);
        gh_client *c = NULL;
        ms_idmap_foreach(&hub->by_pipe, state_pick_cb, &c);
        if (c == NULL)
            break;
        gh_client_free(hub, c);
    }
    table_fini(&hub->clients);
    table_fini(&hub->groups_by_name);
    table_fini(&hub->members);
    ms_idmap_fini(&hub->by_pipe);
    ms_idmap_fini(&hub->groups);
    free(hub->targets);
    hub->targets = NULL;
    hub->targets_cap = 0;
}
