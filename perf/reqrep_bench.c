/* reqrep_bench.c: concurrent request/reply load over one listener: CLIENTS cooked REQ sockets,
 * each keeping one SIZE-byte request outstanding, against one cooked REP socket listening at
 * URL; prints requests/s and latency percentiles. The same shape as the nng and libzmq peers'
 * reqrep_bench (perf/peers), so the figures compare.
 *
 * One server thread serves the REP socket with the socket's own blocking msock_recvmsg and
 * sends each request back as its own reply with msock_sendmsg. Measured on two vCPUs against
 * one context doing the same (msock_ctx_recvmsg/sendmsg), alternating 3 s runs: the context
 * made 0.86x the requests/s at 100 clients (8 of 10 pairs slower) and 1.02x at 1000 (noise);
 * draining the socket after each wake-up of its readiness fd, 1.01x and 1.05x (noise). Server
 * CPU per request was the same (~7 us) in all three, so the simplest one stays.
 *
 * Two client threads drive the requesters, waiting on their readiness fds (MSOCK_OPT_RECV_FD)
 * with epoll, so the run also exercises those fds on REQ sockets. Every client is connected
 * before the clock starts (the listener is up, so a blocking dial returns once connected).
 * Over tcp and ipc each client costs three descriptors in this process: its connection's two
 * ends and its readiness fd (5000 clients need about 15,000); over inproc only the last. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "perfutil.h"

static const char usage[] =
    "URL CLIENTS SECONDS SIZE\n"
    "  Runs CLIENTS REQ sockets, each dialing URL and keeping one SIZE-byte request\n"
    "  outstanding, against one REP socket listening at URL (tcp port 0: any free port), for\n"
    "  SECONDS, and prints requests/s and the p50, p99 and max request latency (a whole round\n"
    "  trip). One thread serves the REP socket; two client threads wait on the REQ sockets'\n"
    "  MSOCK_OPT_RECV_FD with epoll.\n";

#define CLIENT_THREADS 2
#define EVENTS_PER_WAIT 256
/* Workers look at the stop flag this often even when nothing arrives. */
#define STOP_CHECK_MS 20
/* A message that cannot be queued this long means the run is stuck: fail rather than hang. */
#define SEND_TIMEOUT_MS 10000
#define URL_MAX 512
/* Room for stdio, the library's reactors, the listener and the epoll descriptors. */
#define FDS_SPARE 64

typedef struct rr_client {
    msock_socket sock;
    uint64_t sent_ns;
} rr_client;

typedef struct rr_worker {
    rr_client *clients;
    size_t count;
    int epoll_fd;
    size_t size;
    uint64_t replies;
    perf_samples latency;
    pthread_t thread;
} rr_worker;

static atomic_bool stopping;
static pthread_barrier_t start_line;

/* Sockets of both kinds: no receive size limit (any SIZE works), no linger (at the end replies
 * and requests may still be in flight; nobody waits for them), a send that cannot be stuck. */
static void open_socket(int (*opener)(msock_socket *), msock_socket *s, const char *what)
{
    perf_check(opener(s), what);
    perf_check(msock_socket_set_size(*s, MSOCK_OPT_RECV_MAXSZ, 0), "receive max size");
    perf_check(msock_socket_set_ms(*s, MSOCK_OPT_LINGER, 0), "linger");
    perf_check(msock_socket_set_ms(*s, MSOCK_OPT_SEND_TIMEOUT, SEND_TIMEOUT_MS), "send timeout");
}

/* ---- the server ---- */

typedef struct rr_server {
    msock_socket sock;
    pthread_t thread;
} rr_server;

/* Answers each request with itself (a received request sent back carries its backtrace and
 * pipe) until the socket is closed, which wakes the receive with MSOCK_ECLOSED. */
static void *server_thread(void *arg)
{
    rr_server *srv = arg;
    msock_msg *m;
    int rc;
    while ((rc = msock_recvmsg(srv->sock, &m, 0)) == 0)
        if ((rc = msock_sendmsg(srv->sock, m, 0)) != 0)
            msock_msg_free(m);
    if (rc != MSOCK_ECLOSED)
        perf_check(rc, "server");
    return NULL;
}

/* ---- the clients ---- */

static void worker_init(rr_worker *w, rr_client *clients, size_t count, size_t size)
{
    w->clients = clients;
    w->count = count;
    w->size = size;
    w->replies = 0;
    perf_samples_init(&w->latency, 4096);
    w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epoll_fd < 0)
        perf_fail("epoll_create1: %s", strerror(errno));
    for (size_t i = 0; i < count; i++) {
        int fd;
        perf_check(msock_socket_get_int(clients[i].sock, MSOCK_OPT_RECV_FD, &fd), "receive fd");
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &clients[i]};
        if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
            perf_fail("epoll_ctl: %s", strerror(errno));
    }
}

static void worker_fini(rr_worker *w)
{
    perf_samples_free(&w->latency);
    close(w->epoll_fd);
}

/* Sends the request m on c, or frees it quietly once the run is over. */
static void send_request(rr_client *c, msock_msg *m)
{
    c->sent_ns = perf_now_ns();
    int rc = msock_sendmsg(c->sock, m, 0);
    if (rc != 0) {
        msock_msg_free(m);
        if (!atomic_load(&stopping))
            perf_check(rc, "send");
    }
}

/* Takes the reply a readiness fd announced; NULL when it was not there after all. One take per
 * wake-up suffices: the fd is level-triggered and each client has one request outstanding. */
static msock_msg *take_reply(rr_client *c)
{
    msock_msg *m;
    int rc = msock_recvmsg(c->sock, &m, MSOCK_FLAG_NONBLOCK);
    if (rc == MSOCK_EAGAIN || (rc != 0 && atomic_load(&stopping)))
        return NULL;
    perf_check(rc, "receive");
    return m;
}

static void *client_thread(void *arg)
{
    rr_worker *w = arg;
    struct epoll_event events[EVENTS_PER_WAIT];
    pthread_barrier_wait(&start_line);
    for (size_t i = 0; i < w->count; i++) {
        msock_msg *m;
        perf_check(msock_msg_alloc(&m, w->size), "message");
        memset(msock_msg_body(m), 'q', w->size);
        send_request(&w->clients[i], m);
    }
    while (!atomic_load(&stopping)) {
        int n = epoll_wait(w->epoll_fd, events, EVENTS_PER_WAIT, STOP_CHECK_MS);
        for (int i = 0; i < n; i++) {
            rr_client *c = events[i].data.ptr;
            msock_msg *m = take_reply(c);
            if (m == NULL)
                continue;
            uint64_t now = perf_now_ns();
            if (atomic_load(&stopping)) {
                msock_msg_free(m);
                continue;
            }
            if (msock_msg_len(m) != w->size)
                perf_fail("reply of %zu bytes, want %zu", msock_msg_len(m), w->size);
            perf_samples_add(&w->latency, now - c->sent_ns);
            w->replies++;
            /* The reply has the request's size: it goes out again as the next request, routed
             * like a fresh one (not pinned to the pipe it came from). */
            msock_msg_set_pipe(m, (msock_pipe)MSOCK_PIPE_INITIALIZER);
            send_request(c, m);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    perf_init("reqrep_bench");
    perf_args(argc, argv, 4, usage);
    const char *url = argv[1];
    unsigned clients = (unsigned)perf_parse_u64("CLIENTS", argv[2], 1, 1000000);
    double seconds = perf_parse_seconds("SECONDS", argv[3]);
    size_t size = (size_t)perf_parse_u64("SIZE", argv[4], 0, 64u << 20);

    uint64_t per_client = strncmp(url, "inproc://", 9) == 0 ? 1 : 3;
    uint64_t fds_needed = (uint64_t)clients * per_client + FDS_SPARE;
    uint64_t fds_limit = perf_raise_fd_limit(fds_needed);
    if (fds_limit < fds_needed)
        perf_fail("%u clients need about %llu file descriptors (%llu each) but RLIMIT_NOFILE "
                  "allows %llu and cannot be raised further; raise the hard limit (ulimit -Hn) "
                  "or use fewer clients",
                  clients, (unsigned long long)fds_needed, (unsigned long long)per_client,
                  (unsigned long long)fds_limit);

    atomic_store(&stopping, false);
    rr_server server;
    char bound[URL_MAX];
    open_socket(msock_rep_open, &server.sock, "rep");
    perf_listen(server.sock, url, NULL, bound, sizeof(bound));
    if (pthread_create(&server.thread, NULL, server_thread, &server) != 0)
        perf_fail("cannot start the server thread");

    rr_client *requesters = calloc(clients, sizeof(*requesters));
    if (requesters == NULL)
        perf_fail("out of memory for %u clients", clients);
    for (unsigned i = 0; i < clients; i++) {
        open_socket(msock_req_open, &requesters[i].sock, "req");
        perf_check(msock_dial(requesters[i].sock, bound, NULL, 0), bound);
    }

    unsigned client_threads = clients < CLIENT_THREADS ? clients : CLIENT_THREADS;
    rr_worker workers[CLIENT_THREADS];
    for (unsigned t = 0; t < client_threads; t++) {
        size_t first = (size_t)clients * t / client_threads;
        size_t end = (size_t)clients * (t + 1) / client_threads;
        worker_init(&workers[t], requesters + first, end - first, size);
    }
    fprintf(stderr, "reqrep_bench: %u REQ clients, 1 REP socket at %s, 1 server thread, %u "
            "client threads\n", clients, bound, client_threads);

    if (pthread_barrier_init(&start_line, NULL, client_threads + 1) != 0)
        perf_fail("pthread_barrier_init failed");
    for (unsigned t = 0; t < client_threads; t++)
        if (pthread_create(&workers[t].thread, NULL, client_thread, &workers[t]) != 0)
            perf_fail("cannot start a client thread");
    pthread_barrier_wait(&start_line);
    uint64_t start = perf_now_ns();
    perf_sleep_ms((int64_t)(seconds * 1000.0));
    atomic_store(&stopping, true);
    uint64_t elapsed = perf_now_ns() - start;

    perf_samples all;
    uint64_t replies = 0;
    perf_samples_init(&all, 4096);
    for (unsigned t = 0; t < client_threads; t++) {
        pthread_join(workers[t].thread, NULL);
        replies += workers[t].replies;
        perf_samples_merge(&all, &workers[t].latency);
        worker_fini(&workers[t]);
    }
    pthread_barrier_destroy(&start_line);

    printf("requests/s: %.0f\n", (double)replies / ((double)elapsed / 1e9));
    printf("latency p50: %.3f [us]\n", (double)perf_samples_percentile(&all, 0.50) / 1e3);
    printf("latency p99: %.3f [us]\n", (double)perf_samples_percentile(&all, 0.99) / 1e3);
    printf("latency max: %.3f [us]\n", (double)perf_samples_max(&all) / 1e3);
    fflush(stdout);
    perf_samples_free(&all);

    perf_close(server.sock); /* wakes the server thread with MSOCK_ECLOSED */
    pthread_join(server.thread, NULL);
    for (unsigned i = 0; i < clients; i++)
        perf_close(requesters[i].sock);
    free(requesters);
    msock_fini();
    return 0;
}
