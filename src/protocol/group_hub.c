/* group_hub.c: the group hub (0xF00): its descriptor, and the router thread that takes every
 * message off the socket queue and answers or forwards it. The router alone owns the hub's
 * state; pipe events and password results reach it as jobs. It sends with no lock held and
 * never waits on a client: one whose queue is full misses the message, as under PUB. */
#include <stdlib.h>

#include <openssl/rand.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/msg.h"
#include "protocol/group_hub.h"
#include "socket/pipe.h"
#include "socket/receiver.h"
#include "socket/socket.h"

/* ---- sending ---- */

/* Hands m to c's pipe: 0, or the pipe's error (m freed) for the caller to count. */
static int hub_send_once(gh_hub *hub, gh_client *c, msock_msg *m)
{
    ms_socket *s = hub->sock;
    ms_pipe *p = c->pipe;
    size_t len = ms_msg_wire_len(m);
    m->next = NULL;
    int rv = p->ops->send(p->tp, m);
    if (rv != 0) {
        ms_msg_free(m);
        return rv;
    }
    ms_socket_stat_add(s, MSOCK_STAT_MSGS_SENT, 1);
    ms_socket_stat_add(s, MSOCK_STAT_BYTES_SENT, len);
    ms_pipe_stat_add(p, MSOCK_STAT_MSGS_SENT, 1);
    ms_pipe_stat_add(p, MSOCK_STAT_BYTES_SENT, len);
    return 0;
}

void gh_send(gh_hub *hub, gh_client *c, msock_msg *m)
{
    int rv = hub_send_once(hub, c, m);
    if (rv != 0 && rv != MSOCK_ECLOSED)
        ms_pipe_count_error(hub->sock, c->pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
}

void gh_send_bytes(gh_hub *hub, gh_client *c, const uint8_t *buf, size_t len)
{
    msock_msg *m;
    if (ms_msg_from_buf(&m, buf, len) != 0) {
        ms_pipe_count_error(hub->sock, c->pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
        return;
    }
    gh_send(hub, c, m);
}

void gh_send_all(gh_hub *hub, gh_client **list, size_t n, msock_msg *m)
{
    for (size_t i = 0; i + 1 < n; i++) {
        msock_msg *copy;
        if (ms_msg_dup(&copy, m) != 0)
            ms_pipe_count_error(hub->sock, list[i]->pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
        else
            gh_send(hub, list[i], copy);
    }
    if (n > 0)
        gh_send(hub, list[n - 1], m); /* the last one gets the original */
    else
        ms_msg_free(m);
}

bool gh_targets_reserve(gh_hub *hub, size_t n)
{
    if (n <= hub->targets_cap)
        return true;
    size_t cap = hub->targets_cap ? hub->targets_cap : 64;
    while (cap < n)
        cap *= 2;
    gh_client **grown = realloc(hub->targets, cap * sizeof *grown);
    if (grown == NULL)
        return false;
    hub->targets = grown;
    hub->targets_cap = cap;
    return true;
}

/* ---- closing clients ---- */

static void hub_close_now(gh_client *c)
{
    if (!c->close_asked) {
        c->close_asked = true;
        ms_pipe_close(c->pipe);
    }
}

/* Tries to send c's CLOSING; false while the pipe cannot take it (an inproc peer that is still
 * starting its end, a full queue). */
static bool hub_send_closing(gh_hub *hub, gh_client *c)
{
    uint8_t buf[2];
    msock_msg *m;
    if (ms_msg_from_buf(&m, buf, ms_gw_put_closing(buf, sizeof buf, c->closing_status)) != 0)
        return false;
    int rv = hub_send_once(hub, c, m);
    return rv == 0 || rv == MSOCK_ECLOSED; /* closed: nobody is left to tell */
}

static void hub_drop_backlog(gh_client *c)
{
    ms_msg_chain_free(c->backlog);
    c->backlog = c->backlog_tail = NULL;
    c->backlog_msgs = 0;
    c->backlog_bytes = 0;
}

void gh_close_with(gh_hub *hub, gh_client *c, uint8_t status)
{
    if (c->closing)
        return;
    ms_debug("socket %u: pipe %u closes, telling the client why (status %u)", hub->sock->id,
             c->pipe_id, status);
    c->closing = true;
    hub_drop_backlog(c);
    c->closing_status = status;
    c->closing_unsent = !hub_send_closing(hub, c);
    /* A transport drops what is still queued when its connection closes: the reason must be
     * written first. The router checks the queue until it is empty (or the wait is over), and
     * sends the reason again if the pipe could not take it. */
    int64_t now = ms_clock_ms();
    c->close_after = now + GH_CLOSE_GRACE_MS;
    c->close_by = now + GH_CLOSE_WAIT_MS;
    c->closing_next = hub->closing_list;
    hub->closing_list = c;
}

void gh_close_malformed(gh_hub *hub, gh_client *c)
{
    ms_pipe_count_error(hub->sock, c->pipe, MSOCK_STAT_DROPS_MALFORMED);
    c->closing = true;
    hub_drop_backlog(c);
    hub_close_now(c);
}

/* Closes the clients told CLOSING whose reason has left (or waited long enough). */
static void hub_check_closing(gh_hub *hub)
{
    int64_t now = ms_clock_ms();
    for (gh_client **pp = &hub->closing_list; *pp;) {
        gh_client *c = *pp;
        if (c->closing_unsent && !c->close_asked && now < c->close_by)
            c->closing_unsent = !hub_send_closing(hub, c);
        if (c->closing_unsent && now >= c->close_by)
            ms_pipe_count_error(hub->sock, c->pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
        bool done = c->close_asked || now >= c->close_by ||
                    (!c->closing_unsent && now >= c->close_after &&
                     c->pipe->ops->queued(c->pipe->tp) == 0);
        if (done) {
            *pp = c->closing_next;
            c->closing_next = NULL;
            hub_close_now(c);
        } else {
            pp = &c->closing_next;
        }
    }
}

/* ---- jobs ---- */

static void hub_wake(gh_hub *hub)
{
    ms_socket *s = hub->sock;
    atomic_store(&hub->wake, true);
    /* The router may sleep in the socket's receive wait: the wake flag aborts it. */
    pthread_mutex_lock(&s->mtx);
    pthread_cond_broadcast(&s->recv_cv);
    pthread_mutex_unlock(&s->mtx);
}

static void hub_job_free(gh_job *job)
{
    if (job->kind == GH_JOB_AUTH) {
        gh_auth_free(job->auth); /* the job is part of it */
        return;
    }
    if (job->pipe)
        ms_pipe_release(job->pipe);
    free(job);
}

void gh_post(gh_hub *hub, gh_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&hub->jq_mtx);
    bool closed = hub->jq_closed;
    if (!closed) {
        if (hub->jq_tail)
            hub->jq_tail->next = job;
        else
            hub->jq_head = job;
        hub->jq_tail = job;
    }
    pthread_mutex_unlock(&hub->jq_mtx);
    if (closed)
        hub_job_free(job);
    else
        hub_wake(hub);
}

static void hub_new_client(gh_hub *hub, ms_pipe *p)
{
    gh_client *c = gh_client_add(hub, p);
    if (c == NULL) {
        ms_pipe_close(p);
        ms_pipe_release(p);
        return;
    }
    if (c->id == 0) {
        ms_debug("socket %u: pipe %u refused: the hub has its most clients", hub->sock->id, p->id);
        ms_socket_stat_add(hub->sock, MSOCK_STAT_PIPES_REJECTED, 1);
        gh_close_with(hub, c, MS_GW_HUB_FULL);
    }
}

typedef struct hub_gone_list {
    gh_client **list;
    size_t n, cap;
} hub_gone_list;

static void hub_collect_gone_cb(uint32_t id, void *value, void *arg)
{
    (void)id;
    hub_gone_list *g = arg;
    gh_client *c = value;
    if (g->n < g->cap && atomic_load(&c->pipe->gone_done))
        g->list[g->n++] = c;
}

/* A pipe's GONE job could not be made: finds the clients whose pipes are gone. */
static void hub_rescan(gh_hub *hub)
{
    hub_gone_list g = {NULL, 0, hub->by_pipe.count};
    if (g.cap == 0)
        return;
    if ((g.list = malloc(g.cap * sizeof *g.list)) == NULL) {
        atomic_store(&hub->rescan, true); /* next time round */
        return;
    }
    ms_idmap_foreach(&hub->by_pipe, hub_collect_gone_cb, &g);
    for (size_t i = 0; i < g.n; i++)
        gh_control_client_gone(hub, g.list[i]);
    free(g.list);
}

static void hub_refresh_limits(gh_hub *hub)
{
    ms_socket *s = hub->sock;
    unsigned gen = atomic_load_explicit(&s->opts_gen, memory_order_acquire);
    if (gen == hub->opts_gen)
        return;
    pthread_mutex_lock(&s->mtx);
    hub->lim = (gh_limits){
        .max_clients = s->opts.group_max_clients,
        .max_groups = s->opts.group_max_groups,
        .max_members = s->opts.group_max_members,
        .max_auth_fails = s->opts.group_max_auth_fails,
        .kdf_iterations = s->opts.group_kdf_iterations,
        .max_body = s->opts.group_max_body,
    };
    pthread_mutex_unlock(&s->mtx);
    hub->opts_gen = gen;
}

static void hub_run_jobs(gh_hub *hub)
{
    hub_refresh_limits(hub); /* a limit set before a client came must apply to it */
    pthread_mutex_lock(&hub->jq_mtx);
    gh_job *job = hub->jq_head;
    hub->jq_head = hub->jq_tail = NULL;
    pthread_mutex_unlock(&hub->jq_mtx);
    while (job) {
        gh_job *next = job->next;
        if (job->kind == GH_JOB_NEW) {
            hub_new_client(hub, job->pipe); /* takes the hold */
            free(job);
        } else if (job->kind == GH_JOB_GONE) {
            gh_client *c = gh_client_by_pipe(hub, job->pipe_id);
            if (c)
                gh_control_client_gone(hub, c);
            free(job);
        } else {
            gh_control_auth_done(hub, job->auth); /* frees it, job included */
        }
        job = next;
    }
    if (atomic_exchange(&hub->rescan, false))
        hub_rescan(hub);
}

/* ---- the router ---- */

static void hub_route(gh_hub *hub, msock_msg *m)
{
    hub_refresh_limits(hub); /* one atomic load when nothing changed */
    gh_client *c = gh_client_by_pipe(hub, m->pipe_id);
    if (c == NULL) {
        /* Its NEW job may not have run yet: a pipe is announced before it delivers. */
        hub_run_jobs(hub);
        c = gh_client_by_pipe(hub, m->pipe_id);
    }
    if (c == NULL || c->closing) {
        ms_msg_free(m);
        return;
    }
    if (!c->auth_busy) {
        gh_control_handle(hub, c, m);
        return;
    }
    /* Replies go out in request order: what follows a CREATE or JOIN waits for its result. */
    m->next = NULL;
    if (c->backlog_tail)
        c->backlog_tail->next = m;
    else
        c->backlog = m;
    c->backlog_tail = m;
    c->backlog_msgs++;
    c->backlog_bytes += ms_msg_wire_len(m);
    if (c->backlog_msgs > GH_BACKLOG_MSGS || c->backlog_bytes > GH_BACKLOG_BYTES) {
        ms_pipe_count_error(hub->sock, c->pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
        c->closing = true;
        hub_drop_backlog(c);
        hub_close_now(c);
    }
}

static void *hub_router_main(void *arg)
{
    gh_hub *hub = arg;
    ms_socket *s = hub->sock;
    while (!atomic_load(&hub->stop) && !atomic_load(&s->closing_flag)) {
        if (atomic_exchange(&hub->wake, false))
            hub_run_jobs(hub);
        if (hub->closing_list)
            hub_check_closing(hub);
        int64_t deadline = hub->closing_list ? ms_clock_ms() + GH_CLOSE_POLL_MS : MS_NEVER;
        msock_msg *m;
        if (ms_receiver_recv(s, &m, deadline, false, &hub->wake) == 0)
            hub_route(hub, m);
    }
    return NULL;
}

/* ---- life ---- */

/* Under jq_mtx: the router and the auth thread start with the first pipe, once the socket is
 * whole (its id is set after init). */
static int hub_start_locked(gh_hub *hub)
{
    if (hub->router_running)
        return 0;
    if (!hub->auth_running && gh_auth_start(hub) != 0)
        return MSOCK_ENOMEM;
    if (pthread_create(&hub->router, NULL, hub_router_main, hub) != 0)
        return MSOCK_ENOMEM;
    hub->router_running = true;
    return 0;
}

static void hub_pipe_start(ms_socket *s, ms_pipe *p)
{
    gh_hub *hub = ms_socket_proto(s);
    gh_job *job = calloc(1, sizeof *job);
    ms_pipe_hold(p);
    bool queued = false, refuse = job == NULL;
    pthread_mutex_lock(&hub->jq_mtx);
    /* A pipe already gone had its GONE job before this one: it never becomes a client. */
    if (job != NULL && !hub->jq_closed && !atomic_load(&p->gone_done)) {
        if (hub_start_locked(hub) != 0) {
            refuse = true;
        } else {
            job->kind = GH_JOB_NEW;
            job->pipe = p;
            job->next = NULL;
            if (hub->jq_tail)
                hub->jq_tail->next = job;
            else
                hub->jq_head = job;
            hub->jq_tail = job;
            queued = true;
        }
    }
    pthread_mutex_unlock(&hub->jq_mtx);
    if (queued) {
        hub_wake(hub);
        return;
    }
    free(job);
    ms_pipe_release(p);
    if (refuse)
        ms_pipe_close(p);
}

static void hub_pipe_rem(ms_socket *s, ms_pipe *p)
{
    gh_hub *hub = ms_socket_proto(s);
    gh_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        atomic_store(&hub->rescan, true);
        hub_wake(hub);
        return;
    }
    job->kind = GH_JOB_GONE;
    job->pipe_id = p->id;
    gh_post(hub, job);
}

static int hub_init(ms_socket *s)
{
    gh_hub *hub = ms_socket_proto(s);
    hub->sock = s;
    if (RAND_bytes((unsigned char *)&hub->seed, sizeof hub->seed) != 1)
        hub->seed = ms_random_u64();
    gh_state_init(hub);
    ms_mutex_init_fast(&hub->jq_mtx);
    pthread_mutex_init(&hub->auth_mtx, NULL);
    ms_cond_init(&hub->auth_cv);
    atomic_init(&hub->wake, false);
    atomic_init(&hub->stop, false);
    atomic_init(&hub->rescan, false);
    /* No other thread sees the socket yet. */
    hub->opts_gen = atomic_load(&s->opts_gen) - 1; /* stale: the router reads them first */
    return 0;
}

/* Stops both threads and frees the state; idempotent. No lock held. */
static void hub_shutdown(gh_hub *hub)
{
    if (hub->shut)
        return;
    pthread_mutex_lock(&hub->jq_mtx);
    hub->jq_closed = true;
    bool running = hub->router_running;
    pthread_mutex_unlock(&hub->jq_mtx);
    if (running) {
        atomic_store(&hub->stop, true);
        hub_wake(hub);
        pthread_join(hub->router, NULL);
        hub->router_running = false;
    }
    gh_auth_stop(hub);
    pthread_mutex_lock(&hub->jq_mtx);
    gh_job *job = hub->jq_head;
    hub->jq_head = hub->jq_tail = NULL;
    pthread_mutex_unlock(&hub->jq_mtx);
    while (job) {
        gh_job *next = job->next;
        hub_job_free(job);
        job = next;
    }
    gh_state_fini(hub);
    hub->shut = true;
}

static void hub_close(ms_socket *s)
{
    hub_shutdown(ms_socket_proto(s));
}

static void hub_fini(ms_socket *s)
{
    gh_hub *hub = ms_socket_proto(s);
    if (hub->sock == NULL)
        return; /* init never ran */
    hub_shutdown(hub);
    pthread_cond_destroy(&hub->auth_cv);
    pthread_mutex_destroy(&hub->auth_mtx);
    pthread_mutex_destroy(&hub->jq_mtx);
}

const ms_protocol ms_protocol_group_hub = {
    .self = MSOCK_PROTO_GROUP_HUB, .peer = MSOCK_PROTO_GROUP, .name = "group-hub",
    .peer_name = "group", .send_policy = MS_SEND_NONE, .recv_policy = MS_RECV_ALL,
    .options = MS_POPT_GROUP_HUB, .autonomous = true,
    /* the default largest body and the longest header before it */
    .recv_maxsz = ((size_t)1 << 20) + MS_GW_HEAD_MAX,
    .state_size = sizeof(gh_hub), .init = hub_init, .fini = hub_fini,
    .pipe_start = hub_pipe_start, .pipe_rem = hub_pipe_rem, .close = hub_close,
};
