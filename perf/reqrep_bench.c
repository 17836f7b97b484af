/* reqrep_bench.c: concurrent request/reply load: CLIENTS requesters, each with one SIZE-byte
 * request outstanding, against an echo server; prints requests/s and latency percentiles.
 *
 * Until libmsock has REQ/REP this measures PAIR echo pairs: every client is a PAIR socket
 * dialing its own server PAIR socket, which listens on its own address derived from URL (tcp:
 * URL's host with port 0; ipc and inproc: URL plus ".N"). Once REQ/REP lands, the server becomes
 * one REP socket behind one listener at URL. One thread serves every server socket and two
 * threads drive the clients; all of them wait on the sockets' readiness fds (MSOCK_OPT_RECV_FD)
 * with epoll, so the run also exercises those fds.
 *
 * The server thread runs in this process while the descriptors fit: over tcp and ipc each pair
 * takes five (a listener, two connection ends, two readiness fds). Beyond the RLIMIT_NOFILE hard
 * limit (5000 pairs need 25,000) the server moves to a child process, which splits them 3:2.
 * That costs about a fifth of the requests/s on two cores (more reactor threads), so stderr
 * says which way a run went. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perfutil.h"

static const char usage[] =
    "URL CLIENTS SECONDS SIZE\n"
    "  Runs CLIENTS concurrent requesters, each with one SIZE-byte request outstanding, against\n"
    "  an echo server for SECONDS, and prints requests/s and the p50, p99 and max request\n"
    "  latency (a whole round trip).\n"
    "  Until REQ/REP exists it measures PAIR echo pairs: one server PAIR socket per client,\n"
    "  each listening on its own address derived from URL (tcp: URL's host, port 0; ipc and\n"
    "  inproc: URL plus \".N\"). It will move to one REP socket on one listener at URL then.\n"
    "  One server thread and two client threads wait on MSOCK_OPT_RECV_FD with epoll. When\n"
    "  the file descriptor limit cannot hold both sides, the server moves to a child process.\n";

#define CLIENT_THREADS 2
#define EVENTS_PER_WAIT 256
/* Workers look at the stop flag this often even when nothing arrives. */
#define STOP_CHECK_MS 20
/* A message that cannot be queued this long means the run is stuck: fail rather than hang. */
#define SEND_TIMEOUT_MS 10000
#define URL_MAX 512
/* Room for stdio, the library's reactors and the epoll and control descriptors. */
#define FDS_SPARE 64

typedef struct rr_conn {
    msock_socket sock;
    uint64_t sent_ns;
} rr_conn;

typedef struct rr_worker {
    rr_conn *conns;
    size_t conn_count;
    int epoll_fd;
    size_t size;
    uint64_t replies;
    perf_samples latency;
    pthread_t thread;
} rr_worker;

static atomic_bool stopping;
static pthread_barrier_t start_line;

static bool url_is_inproc(const char *url)
{
    return strncmp(url, "inproc://", 9) == 0;
}

/* The address of server socket index: one listener each until REQ/REP lands. */
static void server_url(const char *url, unsigned index, char *out, size_t len)
{
    int written;
    if (strncmp(url, "tcp://", 6) == 0 || strncmp(url, "tcp4://", 7) == 0 ||
        strncmp(url, "tcp6://", 7) == 0) {
        const char *host = strstr(url, "://") + 3;
        const char *port_colon = NULL;
        /* The port follows the last ':' outside an IPv6 literal's brackets. */
        for (const char *p = host; *p != '\0'; p++) {
            if (*p == '[') {
                p = strchr(p, ']');
                if (p == NULL)
                    perf_fail("bad URL '%s'", url);
            } else if (*p == ':') {
                port_colon = p;
            }
        }
        int prefix = (int)(port_colon != NULL ? (size_t)(port_colon - url) : strlen(url));
        written = snprintf(out, len, "%.*s:0", prefix, url);
    } else if (strncmp(url, "ipc://", 6) == 0 || url_is_inproc(url)) {
        written = snprintf(out, len, "%s.%u", url, index);
    } else {
        perf_fail("unsupported URL '%s' (want tcp://, ipc:// or inproc://)", url);
    }
    if (written < 0 || (size_t)written >= len)
        perf_fail("URL too long: '%s'", url);
}

static void require_fds(uint64_t needed, unsigned clients, const char *side)
{
    uint64_t limit = perf_raise_fd_limit(needed);
    if (limit < needed)
        perf_fail("%u clients need about %llu file descriptors in the %s but RLIMIT_NOFILE "
                  "allows %llu and cannot be raised further; raise the hard limit "
                  "(ulimit -Hn) or use fewer clients",
                  clients, (unsigned long long)needed, side, (unsigned long long)limit);
}

static void open_conn(rr_conn *c)
{
    perf_open("pair", &c->sock);
    /* At the end replies may still be in flight; nobody waits for them. */
    perf_check(msock_socket_set_ms(c->sock, MSOCK_OPT_LINGER, 0), "linger");
    perf_check(msock_socket_set_ms(c->sock, MSOCK_OPT_SEND_TIMEOUT, SEND_TIMEOUT_MS),
               "send timeout");
}

/* Opens and binds every server socket; report gets each bound URL in order. */
static rr_conn *open_servers(const char *url, unsigned clients,
                             void (*report)(const char *bound, void *arg), void *arg)
{
    rr_conn *servers = calloc(clients, sizeof(*servers));
    if (servers == NULL)
        perf_fail("out of memory for %u servers", clients);
    for (unsigned i = 0; i < clients; i++) {
        char listen_url[URL_MAX], bound[URL_MAX];
        server_url(url, i, listen_url, sizeof(listen_url));
        open_conn(&servers[i]);
        perf_listen(servers[i].sock, listen_url, NULL, bound, sizeof(bound));
        report(bound, arg);
    }
    return servers;
}

static void close_conns(rr_conn *conns, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        perf_close(conns[i].sock);
    free(conns);
}

static void worker_init(rr_worker *w, rr_conn *conns, size_t count, size_t size)
{
    w->conns = conns;
    w->conn_count = count;
    w->size = size;
    w->replies = 0;
    perf_samples_init(&w->latency, 4096);
    w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epoll_fd < 0)
        perf_fail("epoll_create1: %s", strerror(errno));
    for (size_t i = 0; i < count; i++) {
        int fd;
        perf_check(msock_socket_get_int(conns[i].sock, MSOCK_OPT_RECV_FD, &fd), "receive fd");
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
            perf_fail("epoll_ctl: %s", strerror(errno));
    }
}

static void worker_fini(rr_worker *w)
{
    perf_samples_free(&w->latency);
    close(w->epoll_fd);
}

/* Sends m on c, or frees it quietly once the run is over (the peer may be closing). */
static void send_on(rr_conn *c, msock_msg *m)
{
    int rc = msock_sendmsg(c->sock, m, 0);
    if (rc != 0) {
        msock_msg_free(m);
        if (!atomic_load(&stopping))
            perf_check(rc, "send");
    }
}

/* Takes one message from a socket its readiness fd marked; NULL when none was there after all.
 * One take per wake-up suffices: the fd is level-triggered and each pair holds one request. */
static msock_msg *take_ready(rr_conn *c)
{
    msock_msg *m;
    int rc = msock_recvmsg(c->sock, &m, MSOCK_FLAG_NONBLOCK);
    if (rc == MSOCK_EAGAIN)
        return NULL;
    if (rc != 0 && atomic_load(&stopping))
        return NULL;
    perf_check(rc, "receive");
    return m;
}

/* Echoes every request until the stop flag is set or control_fd (if not -1) becomes readable. */
static void serve(rr_worker *w, int control_fd)
{
    struct epoll_event events[EVENTS_PER_WAIT];
    if (control_fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, control_fd, &ev) != 0)
            perf_fail("epoll_ctl: %s", strerror(errno));
    }
    while (!atomic_load(&stopping)) {
        int n = epoll_wait(w->epoll_fd, events, EVENTS_PER_WAIT, STOP_CHECK_MS);
        for (int i = 0; i < n; i++) {
            rr_conn *c = events[i].data.ptr;
            if (c == NULL)
                return;
            msock_msg *m = take_ready(c);
            if (m != NULL)
                send_on(c, m);
        }
    }
}

static void *server_thread(void *arg)
{
    serve(arg, -1);
    return NULL;
}

static void *client_thread(void *arg)
{
    rr_worker *w = arg;
    struct epoll_event events[EVENTS_PER_WAIT];
    pthread_barrier_wait(&start_line);
    for (size_t i = 0; i < w->conn_count; i++) {
        msock_msg *m;
        perf_check(msock_msg_alloc(&m, w->size), "message");
        memset(msock_msg_body(m), 'q', w->size);
        w->conns[i].sent_ns = perf_now_ns();
        send_on(&w->conns[i], m);
    }
    while (!atomic_load(&stopping)) {
        int n = epoll_wait(w->epoll_fd, events, EVENTS_PER_WAIT, STOP_CHECK_MS);
        for (int i = 0; i < n; i++) {
            rr_conn *c = events[i].data.ptr;
            msock_msg *m = take_ready(c);
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
            /* The reply has the request's size: it goes out again as the next request. */
            c->sent_ns = now;
            send_on(c, m);
        }
    }
    return NULL;
}

/* ---- where the server runs ---- */

typedef struct url_list {
    char (*urls)[URL_MAX];
    unsigned count;
} url_list;

static void remember_url(const char *bound, void *arg)
{
    url_list *list = arg;
    size_t len = strlen(bound);
    if (len >= URL_MAX)
        perf_fail("URL too long: '%s'", bound);
    memcpy(list->urls[list->count++], bound, len + 1);
}

static void write_url_line(const char *bound, void *arg)
{
    if (fprintf((FILE *)arg, "%s\n", bound) < 0)
        perf_fail("cannot hand the server URLs over: %s", strerror(errno));
}

/* The child: binds every server socket, tells the parent each bound URL, then echoes until the
 * parent closes the control pipe. Never returns. */
static _Noreturn void server_process(const char *url, unsigned clients, size_t size,
                                     int control_fd, int url_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    perf_init("reqrep_bench (server)");
    /* Per client: a listener, a connection end and a readiness fd. */
    require_fds((uint64_t)clients * 3 + FDS_SPARE, clients, "server process");
    FILE *to_parent = fdopen(url_fd, "w");
    if (to_parent == NULL)
        perf_fail("fdopen: %s", strerror(errno));
    rr_conn *servers = open_servers(url, clients, write_url_line, to_parent);
    rr_worker server;
    worker_init(&server, servers, clients, size);
    if (fclose(to_parent) != 0)
        perf_fail("cannot hand the server URLs over: %s", strerror(errno));
    serve(&server, control_fd);
    worker_fini(&server);
    close_conns(servers, clients);
    msock_fini();
    exit(0);
}

typedef struct server_handle {
    pid_t pid;        /* the server process, or 0 when the server is a thread here */
    int control_fd;   /* closing it stops the server process */
    rr_conn *servers; /* thread mode only */
    rr_worker worker; /* thread mode only */
} server_handle;

/* Starts the server, in a child process when in_child, and fills urls with the address of each
 * server socket. */
static void server_start(server_handle *h, const char *url, unsigned clients, size_t size,
                         bool in_child, url_list *urls)
{
    memset(h, 0, sizeof(*h));
    h->control_fd = -1;
    if (!in_child) {
        h->servers = open_servers(url, clients, remember_url, urls);
        worker_init(&h->worker, h->servers, clients, size);
        if (pthread_create(&h->worker.thread, NULL, server_thread, &h->worker) != 0)
            perf_fail("cannot start the server thread");
        return;
    }
    int control[2], url_pipe[2];
    if (pipe2(control, O_CLOEXEC) != 0 || pipe2(url_pipe, O_CLOEXEC) != 0)
        perf_fail("pipe: %s", strerror(errno));
    fflush(NULL);
    h->pid = fork();
    if (h->pid < 0)
        perf_fail("fork: %s", strerror(errno));
    if (h->pid == 0) {
        close(control[1]);
        close(url_pipe[0]);
        server_process(url, clients, size, control[0], url_pipe[1]);
    }
    close(control[0]);
    close(url_pipe[1]);
    h->control_fd = control[1];
    FILE *from_server = fdopen(url_pipe[0], "r");
    if (from_server == NULL)
        perf_fail("fdopen: %s", strerror(errno));
    char line[URL_MAX + 2];
    while (urls->count < clients && fgets(line, sizeof(line), from_server) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        remember_url(line, urls);
    }
    fclose(from_server);
    if (urls->count < clients)
        perf_fail("the server process failed after %u of %u sockets", urls->count, clients);
}

static void server_stop(server_handle *h, unsigned clients)
{
    if (h->pid == 0) {
        pthread_join(h->worker.thread, NULL);
        worker_fini(&h->worker);
        close_conns(h->servers, clients);
        return;
    }
    close(h->control_fd);
    int status;
    while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        perf_fail("the server process failed (status %d)", status);
}

int main(int argc, char **argv)
{
    perf_init("reqrep_bench");
    perf_args(argc, argv, 4, usage);
    const char *url = argv[1];
    unsigned clients = (unsigned)perf_parse_u64("CLIENTS", argv[2], 1, 1000000);
    double seconds = perf_parse_seconds("SECONDS", argv[3]);
    size_t size = (size_t)perf_parse_u64("SIZE", argv[4], 0, 64u << 20);

    /* Per pair: two readiness fds and, over tcp and ipc, a listener and two connection ends. */
    uint64_t fds_per_pair = url_is_inproc(url) ? 2 : 5;
    uint64_t fds_one_process = (uint64_t)clients * fds_per_pair + FDS_SPARE;
    bool server_in_child = false;
    if (perf_raise_fd_limit(fds_one_process) < fds_one_process) {
        /* inproc cannot cross processes: there the limit is final. */
        if (url_is_inproc(url))
            require_fds(fds_one_process, clients, "process");
        server_in_child = true;
        require_fds((uint64_t)clients * 2 + FDS_SPARE, clients, "client process");
    }
    url_list urls = {.urls = calloc(clients, URL_MAX), .count = 0};
    if (urls.urls == NULL)
        perf_fail("out of memory for %u URLs", clients);
    atomic_store(&stopping, false);
    server_handle server;
    server_start(&server, url, clients, size, server_in_child, &urls);

    rr_conn *requesters = calloc(clients, sizeof(*requesters));
    if (requesters == NULL)
        perf_fail("out of memory for %u clients", clients);
    for (unsigned i = 0; i < clients; i++) {
        open_conn(&requesters[i]);
        /* The listener is already up, so a blocking dial returns once connected. */
        perf_check(msock_dial(requesters[i].sock, urls.urls[i], NULL, 0), urls.urls[i]);
    }
    free(urls.urls);

    unsigned client_threads = clients < CLIENT_THREADS ? clients : CLIENT_THREADS;
    rr_worker workers[CLIENT_THREADS];
    for (unsigned t = 0; t < client_threads; t++) {
        size_t first = (size_t)clients * t / client_threads;
        size_t end = (size_t)clients * (t + 1) / client_threads;
        worker_init(&workers[t], requesters + first, end - first, size);
    }
    fprintf(stderr,
            "reqrep_bench: %u PAIR echo pairs (until REQ/REP), 1 server thread%s, %u client "
            "threads\n",
            clients, server.pid != 0 ? " in a child process" : "", client_threads);

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

    server_stop(&server, clients);
    close_conns(requesters, clients);
    msock_fini();
    return 0;
}
