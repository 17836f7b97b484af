/* group_hub.h: the group hub's insides, shared by its files: the state its router thread owns
 * (clients, groups, memberships), the job queue that feeds the router, and the auth thread. */
#ifndef MS_GROUP_HUB_H
#define MS_GROUP_HUB_H

#include <pthread.h>

#include "core/idmap.h"
#include "protocol/group_wire.h"
#include "protocol/protocol.h"

#define GH_SALT_LEN 16
#define GH_HASH_LEN 32
/* A client whose CREATE or JOIN is being hashed has its later messages wait, in order, up to
 * this much; one that sends more is flooding and loses its connection. */
#define GH_BACKLOG_MSGS 1024
#define GH_BACKLOG_BYTES ((size_t)8 << 20)
/* How long a connection told CLOSING may keep its reason unsent before it is closed anyway. */
#define GH_CLOSE_WAIT_MS 2000
/* ... and not before this, once it is written: the client then most likely read the reason
 * before the end of the stream comes, and a reader that stops at a short read (edge-triggered
 * epoll) still sees the end as an event of its own. */
#define GH_CLOSE_GRACE_MS 20
/* How often the router looks at such connections' outbound queues. */
#define GH_CLOSE_POLL_MS 5

/* An intrusive hash table: nodes carry their hash; lookups walk one bucket and compare keys. */
typedef struct gh_node {
    struct gh_node *next;
    uint64_t hash;
} gh_node;

typedef struct gh_table {
    gh_node **buckets;
    size_t nbuckets; /* a power of two, or 0 before the first insert */
    size_t count;
} gh_table;

typedef struct gh_secret {
    uint8_t salt[GH_SALT_LEN];
    uint8_t hash[GH_HASH_LEN];
} gh_secret;

typedef struct gh_member gh_member;
typedef struct gh_group gh_group;

typedef struct gh_client {
    gh_node by_id;             /* hub->clients, when it has an id */
    uint64_t id;               /* 0: refused (HUB_FULL), never listed */
    ms_pipe *pipe;             /* held until the client is freed */
    uint32_t pipe_id;
    struct gh_client *prev, *next; /* hub's list of clients with an id */
    gh_member *groups;         /* memberships, linked through c_next */
    int auth_fails;
    bool closing;              /* told CLOSING or spoke garbage: what it sends is ignored */
    bool close_asked;          /* ms_pipe_close was called */
    bool auth_busy;            /* a CREATE or JOIN is at the auth thread */
    msock_msg *backlog, *backlog_tail; /* what came while auth_busy, oldest first */
    size_t backlog_msgs, backlog_bytes;
    int64_t close_after;       /* closing: not before this */
    int64_t close_by;          /* closing: close even with output still queued after this */
    uint8_t closing_status;    /* closing: the CLOSING reason */
    bool closing_unsent;       /* the pipe could not take the CLOSING yet: the router retries */
    struct gh_client *closing_next; /* hub's list of clients to close once their output left */
} gh_client;

struct gh_group {
    gh_node by_name;           /* hub->groups_by_name */
    uint32_t number;
    uint32_t capacity, nmembers; /* standard members */
    int iterations;            /* PBKDF2 rounds of both hashes */
    gh_secret member_secret, master_secret;
    gh_client *master;
    gh_member *members;        /* standard members, linked through g_next */
    gh_group *prev, *next;     /* hub's list of groups in number order */
    size_t name_len;
    uint8_t name[255];
};

struct gh_member {
    gh_node by_key;            /* hub->members, keyed by (group number, client id) */
    gh_group *group;
    gh_client *client;
    bool master;
    gh_member *g_prev, *g_next; /* the group's standard members */
    gh_member *c_prev, *c_next; /* the client's memberships */
};

typedef struct gh_auth gh_auth;

enum gh_job_kind {
    GH_JOB_NEW = 1, /* a pipe can carry messages: a client */
    GH_JOB_GONE,    /* a pipe is gone */
    GH_JOB_AUTH,    /* an auth result (the job is part of it) */
};

typedef struct gh_job {
    struct gh_job *next;
    int kind;
    ms_pipe *pipe;  /* NEW: held */
    uint32_t pipe_id;
    gh_auth *auth;  /* AUTH */
} gh_job;

/* A CREATE or JOIN on its way to the auth thread and back. Passwords live only here and are
 * wiped as soon as they are hashed. */
struct gh_auth {
    struct gh_auth *next;
    gh_job job;                /* how the result goes back to the router */
    uint8_t op;                /* MS_GW_CREATE or MS_GW_JOIN */
    uint64_t client;
    uint32_t req;
    uint8_t role;              /* JOIN */
    uint32_t group;            /* JOIN: the group's number */
    uint32_t capacity;         /* CREATE */
    int iterations;
    size_t name_len;
    uint8_t name[255];
    size_t pw_len, master_pw_len;
    uint8_t pw[255], master_pw[255];
    gh_secret secret, master_secret; /* CREATE: made; JOIN: secret is the one to match */
    bool ok;                   /* the work succeeded (JOIN: the password matched) */
};

/* The limits the router works with, copied from the socket's options when they change. */
typedef struct gh_limits {
    int max_clients, max_groups, max_members, max_auth_fails, kdf_iterations;
    size_t max_body;
} gh_limits;

typedef struct gh_hub {
    ms_socket *sock;
    uint64_t seed; /* keys the name hash */

    /* Owned by the router thread (and by shutdown once it has stopped): no lock. */
    gh_table clients, groups_by_name, members;
    ms_idmap by_pipe, groups;   /* pipe id -> client, group number -> group */
    gh_client *client_list;     /* clients with an id, newest first */
    gh_group *group_first, *group_last;
    size_t nclients, ngroups;
    uint64_t next_client_id;
    uint32_t next_group;
    gh_client *closing_list;
    gh_limits lim;
    unsigned opts_gen;
    gh_client **targets;        /* scratch list of a fan-out */
    size_t targets_cap;

    /* The router's inbox: jobs from pipe events and the auth thread. */
    pthread_mutex_t jq_mtx;
    gh_job *jq_head, *jq_tail;
    bool jq_closed;             /* the router stopped: nothing more is queued */
    atomic_bool wake;           /* jobs wait (also aborts the router's receive wait) */
    atomic_bool stop;
    atomic_bool rescan;         /* a GONE job could not be made: look for gone pipes */
    pthread_t router;
    bool router_running;

    /* The auth thread's queue. */
    pthread_mutex_t auth_mtx;
    pthread_cond_t auth_cv;
    gh_auth *auth_head, *auth_tail;
    bool auth_stop;
    pthread_t auth_thread;
    bool auth_running;

    bool shut; /* threads joined, state freed */
} gh_hub;

/* ---- group_hub.c: the router ---- */

/* Queues a job for the router and wakes it; frees what the job owns when the router has
 * stopped. Any thread, no lock held. */
void gh_post(gh_hub *hub, gh_job *job);
/* Sends m to c (takes m). A client that cannot take it now misses it (counted as a queue-full
 * drop); the router never waits. */
void gh_send(gh_hub *hub, gh_client *c, msock_msg *m);
void gh_send_bytes(gh_hub *hub, gh_client *c, const uint8_t *buf, size_t len);
/* Sends m to every client of list[0..n) (the body shared); takes m. */
void gh_send_all(gh_hub *hub, gh_client **list, size_t n, msock_msg *m);
/* Sends CLOSING status and closes c once it is written. */
void gh_close_with(gh_hub *hub, gh_client *c, uint8_t status);
/* Closes c now: it spoke garbage (counted as malformed). */
void gh_close_malformed(gh_hub *hub, gh_client *c);
/* Room for n fan-out targets in hub->targets; false when out of memory. */
bool gh_targets_reserve(gh_hub *hub, size_t n);

/* ---- group_hub_control.c: one message from a client ---- */

/* Handles a message from c (takes m). */
void gh_control_handle(gh_hub *hub, gh_client *c, msock_msg *m);
/* Applies a finished auth job and answers its request (frees a). */
void gh_control_auth_done(gh_hub *hub, gh_auth *a);
/* c is gone: it leaves its groups (events follow); then it is freed. */
void gh_control_client_gone(gh_hub *hub, gh_client *c);

/* ---- group_hub_state.c: the tables ---- */

void gh_state_init(gh_hub *hub);
/* Frees every client (releasing its pipe), group and membership. */
void gh_state_fini(gh_hub *hub);
/* A client for a new pipe (taking the caller's hold on it); an id when under max_clients,
 * else id 0. NULL when out of memory. */
gh_client *gh_client_add(gh_hub *hub, ms_pipe *p);
gh_client *gh_client_by_pipe(gh_hub *hub, uint32_t pipe_id);
gh_client *gh_client_by_id(gh_hub *hub, uint64_t id);
/* Unlinks and frees c (no memberships left), releasing its pipe and its backlog. */
void gh_client_free(gh_hub *hub, gh_client *c);
gh_group *gh_group_by_name(gh_hub *hub, const uint8_t *name, size_t len);
gh_group *gh_group_by_number(gh_hub *hub, uint32_t number);
/* A group from a finished CREATE with the next number; NULL when out of memory or numbers. */
gh_group *gh_group_add(gh_hub *hub, const gh_auth *a);
/* Unlinks and frees g (no members left). */
void gh_group_free(gh_hub *hub, gh_group *g);
gh_member *gh_member_find(gh_hub *hub, uint32_t group, uint64_t client);
/* c joins g in a role; NULL when out of memory. */
gh_member *gh_member_add(gh_hub *hub, gh_group *g, gh_client *c, bool master);
/* Unlinks and frees mb, updating the group's master and count. */
void gh_member_remove(gh_hub *hub, gh_member *mb);

/* ---- group_hub_auth.c: password hashing off the router ---- */

int gh_auth_start(gh_hub *hub);
/* Stops and joins the thread; drops (and wipes) what it had not done. */
void gh_auth_stop(gh_hub *hub);
/* Queues a for hashing; its result comes back as a GH_JOB_AUTH job. */
void gh_auth_submit(gh_hub *hub, gh_auth *a);
/* Wipes the passwords and frees. */
void gh_auth_free(gh_auth *a);

#endif
