/* group_bench.c: the group pattern's throughput: a hub, one master and MEMBERS members in one
 * process; either the master broadcasts COUNT messages to every member, or the members funnel
 * COUNT messages to the master. Prints messages/s (and deliveries/s for a broadcast) and the
 * hub's queue-full drops.
 *
 * Delivery through a hub is best effort: a receiver whose queue on the hub is full misses the
 * message (MSOCK_STAT_DROPS_QUEUE_FULL). So that the figure is a sustained rate rather than how
 * fast the hub can drop, the senders keep a window: at most WINDOW messages (fewer for big ones)
 * may be sent and neither delivered nor dropped. Drops are still counted and reported, and end
 * the run's wait like deliveries do, so a dropping hub cannot stall it.
 *
 * Members wait on their sockets' MSOCK_OPT_RECV_FD with epoll in two threads (as reqrep_bench's
 * clients do), so a member costs three descriptors over tcp and ipc: its connection's two ends
 * and its readiness fd. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "perfutil.h"

static const char usage[] =
    "MODE URL MEMBERS COUNT SIZE\n"
    "  Opens a group hub listening at URL (tcp port 0: any free port), one master and MEMBERS\n"
    "  members dialing it, all in one group. MODE broadcast: the master sends COUNT messages of\n"
    "  SIZE bytes to every member; prints the master's messages/s and the deliveries/s (messages\n"
    "  received by all members together). MODE funnel: the members send COUNT messages in all,\n"
    "  taking turns, to the master; prints the messages/s the master receives. Both print the\n"
    "  hub's queue-full drops; senders keep a bounded window of messages in flight.\n";

#define RECV_THREADS 2
#define SEND_THREADS 2
#define EVENTS_PER_WAIT 256
#define STOP_CHECK_MS 20
/* Messages in flight at most, and at most this many bytes of them. */
#define WINDOW_MSGS 512
#define WINDOW_BYTES (2u << 20)
/* A run that makes no progress this long is stuck: fail rather than hang. */
#define STALL_MS 20000
#define SEND_TIMEOUT_MS 20000
#define URL_MAX 512
#define FDS_SPARE 64
#define GROUP_NAME "bench"
#define PASSWORD "bench"

static atomic_bool stopping;

/* ---- sockets ---- */

static void open_client(msock_socket *s, const char *url, const char *what)
{
    perf_check(msock_group_open(s), what);
    perf_check(msock_socket_set_size(*s, MSOCK_OPT_RECV_MAXSZ, 0), "receive max size");
    perf_check(msock_socket_set_ms(*s, MSOCK_OPT_LINGER, 0), "linger");
    perf_check(msock_socket_set_ms(*s, MSOCK_OPT_SEND_TIMEOUT, SEND_TIMEOUT_MS), "send timeout");
    perf_check(msock_socket_set_ms(*s, MSOCK_OPT_GROUP_TIMEOUT, SEND_TIMEOUT_MS), "group timeout");
    perf_check(msock_dial(*s, url, NULL, 0), url);
}

static uint64_t hub_drops(msock_socket hub)
{
    uint64_t v = 0;
    perf_check(msock_stat_get(hub, MSOCK_STAT_DROPS_QUEUE_FULL, &v), "hub drops");
    return v;
}

/* Takes one data message of size bytes from s without waiting: 1 if it was one, 0 for an event
 * or nothing there (*empty set then). */
static int take_data(msock_socket s, size_t size, bool *empty)
{
    msock_msg *m;
    msock_group_rx rx;
    int rc = msock_group_recvmsg(s, &rx, &m, MSOCK_FLAG_NONBLOCK);
    if (rc == MSOCK_EAGAIN || (rc != 0 && atomic_load(&stopping))) {
        *empty = true;
        return 0;
    }
    perf_check(rc, "receive");
    int got = 0;
    if (rx.kind == MSOCK_GROUP_DATA) {
        if (msock_msg_len(m) != size)
            perf_fail("message of %zu bytes, want %zu", msock_msg_len(m), size);
        got = 1;
    } else if (rx.kind == MSOCK_GROUP_EV_DISCONNECTED || rx.kind == MSOCK_GROUP_EV_UNDELIVERED) {
        perf_fail("%s: %s", rx.kind == MSOCK_GROUP_EV_DISCONNECTED ? "disconnected"
                                                                     : "undelivered",
                  msock_strerror(rx.error));
    }
    msock_msg_free(m);
    return got;
}

/* ---- receivers: members (broadcast) ---- */

typedef struct receiver {
    msock_socket *socks;
    size_t count;
    size_t size;
    int epoll_fd;
    atomic_uint_fast64_t received;
    pthread_t thread;
} receiver;

static void receiver_init(receiver *r, msock_socket *socks, size_t count, size_t size)
{
    r->socks = socks;
    r->count = count;
    r->size = size;
    atomic_init(&r->received, 0);
    r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epoll_fd < 0)
        perf_fail("epoll_create1: %s", strerror(errno));
    for (size_t i = 0; i < count; i++) {
        int fd;
        perf_check(msock_socket_get_int(socks[i], MSOCK_OPT_RECV_FD, &fd), "receive fd");
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
        if (epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
            perf_fail("epoll_ctl: %s", strerror(errno));
    }
}

static void *receiver_thread(void *arg)
{
    receiver *r = arg;
    struct epoll_event events[EVENTS_PER_WAIT];
    while (!atomic_load(&stopping)) {
        int n = epoll_wait(r->epoll_fd, events, EVENTS_PER_WAIT, STOP_CHECK_MS);
        for (int i = 0; i < n; i++) {
            msock_socket s = r->socks[events[i].data.u64];
            uint64_t got = 0;
            bool empty = false;
            while (!empty)
                got += (uint64_t)take_data(s, r->size, &empty);
            if (got > 0)
                atomic_fetch_add(&r->received, got);
        }
    }
    return NULL;
}

static uint64_t all_received(receiver *rs, unsigned n)
{
    uint64_t sum = 0;
    for (unsigned t = 0; t < n; t++)
        sum += atomic_load(&rs[t].received);
    return sum;
}

/* ---- the run ---- */

typedef struct bench {
    msock_socket hub, master;
    msock_socket *members;
    size_t n_members;
    uint32_t group;
    size_t size;
    uint64_t count;
    uint64_t window;
} bench;

/* Waits until done() + the hub's drops reach target; fails when nothing moves for STALL_MS. */
typedef uint64_t (*progress_fn)(void *arg);
static void wait_progress(msock_socket hub, progress_fn done, void *arg, uint64_t target,
                          const char *what)
{
    if (done(arg) >= target) /* the usual case, without the hub's lock */
        return;
    uint64_t last = 0, last_change = perf_now_ns();
    for (;;) {
        uint64_t now_done = done(arg) + hub_drops(hub);
        if (now_done >= target)
            return;
        uint64_t now = perf_now_ns();
        if (now_done != last) {
            last = now_done;
            last_change = now;
        } else if (now - last_change > (uint64_t)STALL_MS * 1000000u) {
            perf_fail("%s: stuck at %llu of %llu for %d s", what, (unsigned long long)now_done,
                      (unsigned long long)target, STALL_MS / 1000);
        }
        /* A short nap, not a spin: on two cores a spinning sender takes the hub's CPU. */
        struct timespec nap = {.tv_nsec = 50000};
        nanosleep(&nap, NULL);
    }
}

typedef struct receivers_view {
    receiver *rs;
    unsigned n;
} receivers_view;

static uint64_t receivers_done(void *arg)
{
    receivers_view *v = arg;
    return all_received(v->rs, v->n);
}

static void run_broadcast(bench *b)
{
    unsigned threads = b->n_members < RECV_THREADS ? (unsigned)b->n_members : RECV_THREADS;
    receiver rs[RECV_THREADS];
    for (unsigned t = 0; t < threads; t++) {
        size_t first = b->n_members * t / threads, end = b->n_members * (t + 1) / threads;
        receiver_init(&rs[t], b->members + first, end - first, b->size);
    }
    for (unsigned t = 0; t < threads; t++)
        if (pthread_create(&rs[t].thread, NULL, receiver_thread, &rs[t]) != 0)
            perf_fail("cannot start a receiver thread");
    receivers_view view = {rs, threads};
    uint64_t drops_before = hub_drops(b->hub);
    char *buf = malloc(b->size ? b->size : 1);
    if (buf == NULL)
        perf_fail("out of memory");
    memset(buf, 'g', b->size);

    uint64_t start = perf_now_ns();
    uint64_t n = b->n_members;
    for (uint64_t sent = 0; sent < b->count; sent++) {
        if (sent >= b->window)
            wait_progress(b->hub, receivers_done, &view, (sent - b->window) * n + drops_before,
                          "broadcast");
        perf_check(msock_group_send(b->master, b->group, 0, buf, b->size, 0), "master send");
    }
    uint64_t sent_end = perf_now_ns();
    wait_progress(b->hub, receivers_done, &view, b->count * n + drops_before, "broadcast");
    uint64_t end = perf_now_ns();
    atomic_store(&stopping, true);
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(rs[t].thread, NULL);
        close(rs[t].epoll_fd);
    }
    uint64_t delivered = all_received(rs, threads);
    uint64_t drops = hub_drops(b->hub) - drops_before;
    double secs = (double)(end - start) / 1e9;
    printf("mode: broadcast\n");
    printf("members: %zu\n", b->n_members);
    printf("message size: %zu [B]\n", b->size);
    printf("message count: %llu\n", (unsigned long long)b->count);
    printf("messages/s: %.0f\n", (double)b->count / secs);
    printf("deliveries/s: %.0f\n", (double)delivered / secs);
    printf("delivered: %llu\n", (unsigned long long)delivered);
    printf("drops: %llu\n", (unsigned long long)drops);
    printf("send time: %.3f [s]\n", (double)(sent_end - start) / 1e9);
    printf("elapsed: %.3f [s]\n", secs);
    free(buf);
}

/* ---- funnel: members send, the master receives ---- */

typedef struct funnel {
    bench *b;
    atomic_uint_fast64_t next;     /* the next message number to send */
    atomic_uint_fast64_t received; /* data messages at the master */
    uint64_t drops_before;
} funnel;

typedef struct sender {
    funnel *f;
    size_t first, end; /* members[first..end) */
    pthread_t thread;
} sender;

static uint64_t funnel_done(void *arg)
{
    return atomic_load(&((funnel *)arg)->received);
}

static void *sender_thread(void *arg)
{
    sender *s = arg;
    funnel *f = s->f;
    bench *b = f->b;
    char *buf = malloc(b->size ? b->size : 1);
    if (buf == NULL)
        perf_fail("out of memory");
    memset(buf, 'f', b->size);
    size_t turn = s->first;
    for (;;) {
        uint64_t k = atomic_fetch_add(&f->next, 1);
        if (k >= b->count)
            break;
        if (k >= b->window)
            wait_progress(b->hub, funnel_done, f, k - b->window + f->drops_before, "funnel");
        perf_check(msock_group_send(b->members[turn], b->group, 0, buf, b->size, 0),
                   "member send");
        if (++turn == s->end)
            turn = s->first;
    }
    free(buf);
    return NULL;
}

/* The master's receive loop: waits on its readiness fd, drains the socket at each wake-up. */
static void *master_thread(void *arg)
{
    funnel *f = arg;
    bench *b = f->b;
    int fd;
    perf_check(msock_socket_get_int(b->master, MSOCK_OPT_RECV_FD, &fd), "receive fd");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        perf_fail("epoll: %s", strerror(errno));
    while (!atomic_load(&stopping)) {
        if (epoll_wait(ep, &ev, 1, STOP_CHECK_MS) <= 0)
            continue;
        uint64_t got = 0;
        bool empty = false;
        while (!empty)
            got += (uint64_t)take_data(b->master, b->size, &empty);
        if (got > 0)
            atomic_fetch_add(&f->received, got);
    }
    close(ep);
    return NULL;
}

static void run_funnel(bench *b)
{
    funnel f = {.b = b};
    atomic_init(&f.next, 0);
    atomic_init(&f.received, 0);
    f.drops_before = hub_drops(b->hub);
    pthread_t master;
    if (pthread_create(&master, NULL, master_thread, &f) != 0)
        perf_fail("cannot start the master thread");
    unsigned threads = b->n_members < SEND_THREADS ? (unsigned)b->n_members : SEND_THREADS;
    sender ss[SEND_THREADS];
    uint64_t start = perf_now_ns();
    for (unsigned t = 0; t < threads; t++) {
        ss[t] = (sender){.f = &f, .first = b->n_members * t / threads,
                         .end = b->n_members * (t + 1) / threads};
        if (pthread_create(&ss[t].thread, NULL, sender_thread, &ss[t]) != 0)
            perf_fail("cannot start a sender thread");
    }
    for (unsigned t = 0; t < threads; t++)
        pthread_join(ss[t].thread, NULL);
    uint64_t sent_end = perf_now_ns();
    wait_progress(b->hub, funnel_done, &f, b->count + f.drops_before, "funnel");
    uint64_t end = perf_now_ns();
    atomic_store(&stopping, true);
    pthread_join(master, NULL);
    uint64_t received = atomic_load(&f.received);
    uint64_t drops = hub_drops(b->hub) - f.drops_before;
    double secs = (double)(end - start) / 1e9;
    printf("mode: funnel\n");
    printf("members: %zu\n", b->n_members);
    printf("message size: %zu [B]\n", b->size);
    printf("message count: %llu\n", (unsigned long long)b->count);
    printf("messages/s: %.0f\n", (double)received / secs);
    printf("delivered: %llu\n", (unsigned long long)received);
    printf("drops: %llu\n", (unsigned long long)drops);
    printf("send time: %.3f [s]\n", (double)(sent_end - start) / 1e9);
    printf("elapsed: %.3f [s]\n", secs);
}

/* ---- set-up ---- */

/* Drains the master's queue of the members' join events, so the run starts empty. */
static void drain_joins(msock_socket master, size_t members)
{
    size_t joins = 0;
    perf_check(msock_socket_set_ms(master, MSOCK_OPT_RECV_TIMEOUT, PERF_DIAL_TIMEOUT_MS),
               "receive timeout");
    while (joins < members) {
        msock_group_rx rx;
        size_t len = 0;
        perf_check(msock_group_recv(master, &rx, NULL, &len, 0), "join events");
        if (rx.kind != MSOCK_GROUP_EV_JOINED)
            perf_fail("the master got %d during set-up, want join events", rx.kind);
        joins++;
    }
}

int main(int argc, char **argv)
{
    perf_init("group_bench");
    perf_args(argc, argv, 5, usage);
    const char *mode = argv[1];
    const char *url = argv[2];
    bool broadcast = strcmp(mode, "broadcast") == 0;
    if (!broadcast && strcmp(mode, "funnel") != 0)
        perf_fail("bad MODE '%s': want broadcast or funnel", mode);
    bench b = {0};
    b.n_members = (size_t)perf_parse_u64("MEMBERS", argv[3], 1, 100000);
    b.count = perf_parse_u64("COUNT", argv[4], 1, UINT64_MAX / 2 / b.n_members);
    b.size = (size_t)perf_parse_u64("SIZE", argv[5], 0, 1u << 20);
    b.window = WINDOW_BYTES / (b.size ? b.size : 1);
    if (b.window > WINDOW_MSGS)
        b.window = WINDOW_MSGS;
    if (b.window == 0)
        b.window = 1;

    uint64_t per_client = strncmp(url, "inproc://", 9) == 0 ? 1 : 3;
    uint64_t fds_needed = (b.n_members + 1) * per_client + FDS_SPARE;
    uint64_t fds_limit = perf_raise_fd_limit(fds_needed);
    if (fds_limit < fds_needed)
        perf_fail("%zu members need about %llu file descriptors but RLIMIT_NOFILE allows %llu; "
                  "raise the hard limit (ulimit -Hn) or use fewer members",
                  b.n_members, (unsigned long long)fds_needed, (unsigned long long)fds_limit);

    char bound[URL_MAX];
    perf_check(msock_group_hub_open(&b.hub), "hub");
    /* Joins hash a password each: the fewest rounds keep the set-up of 1000 members short. */
    perf_check(msock_socket_set_int(b.hub, MSOCK_OPT_GROUP_KDF_ITERATIONS, 1000), "kdf");
    perf_check(msock_socket_set_int(b.hub, MSOCK_OPT_GROUP_MAX_CLIENTS, 0), "max clients");
    perf_check(msock_socket_set_int(b.hub, MSOCK_OPT_GROUP_MAX_MEMBERS, (int)b.n_members),
               "max members");
    perf_check(msock_socket_set_ms(b.hub, MSOCK_OPT_LINGER, 0), "hub linger");
    perf_listen(b.hub, url, NULL, bound, sizeof(bound));

    uint64_t setup_start = perf_now_ns();
    open_client(&b.master, bound, "master");
    perf_check(msock_group_create(b.master, GROUP_NAME, strlen(GROUP_NAME), PASSWORD,
                                  strlen(PASSWORD), PASSWORD, strlen(PASSWORD),
                                  (uint32_t)b.n_members),
               "create");
    perf_check(msock_group_join(b.master, GROUP_NAME, strlen(GROUP_NAME), PASSWORD,
                                strlen(PASSWORD), MSOCK_GROUP_MASTER, &b.group),
               "master join");
    b.members = calloc(b.n_members, sizeof(*b.members));
    if (b.members == NULL)
        perf_fail("out of memory for %zu members", b.n_members);
    for (size_t i = 0; i < b.n_members; i++) {
        open_client(&b.members[i], bound, "member");
        perf_check(msock_group_join(b.members[i], GROUP_NAME, strlen(GROUP_NAME), PASSWORD,
                                    strlen(PASSWORD), MSOCK_GROUP_MEMBER, NULL),
                   "member join");
    }
    drain_joins(b.master, b.n_members);
    fprintf(stderr, "group_bench: %s, hub at %s, 1 master and %zu members joined in %.1f s, "
            "window %llu messages\n",
            mode, bound, b.n_members, (double)(perf_now_ns() - setup_start) / 1e9,
            (unsigned long long)b.window);

    atomic_store(&stopping, false);
    if (broadcast)
        run_broadcast(&b);
    else
        run_funnel(&b);
    fflush(stdout);

    perf_close(b.master);
    for (size_t i = 0; i < b.n_members; i++)
        perf_close(b.members[i]);
    perf_close(b.hub);
    free(b.members);
    msock_fini();
    return 0;
}
