/* idle_conns.c: the memory cost of idle connections: COUNT raw stream clients complete the SP
 * handshake as PUSH peers against one libmsock PULL listener and stay idle.
 *
 * The raw clients live in a child process forked before the library starts: both ends of
 * 10,000 connections in one process would need 20,000 descriptors, the usual hard limit, and
 * apart, the listener's resident memory holds nothing of the clients. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perfutil.h"

static const char usage[] =
    "URL COUNT\n"
    "  Listens on URL (tcp:// or ipc://) with a PULL socket; a child process opens COUNT plain\n"
    "  POSIX connections to it that exchange SP headers as a PUSH peer and then stay idle.\n"
    "  Once the listener has added COUNT pipes, prints the listener process's resident memory\n"
    "  and its growth per connection (VmRSS after minus before, divided by COUNT).\n";

/* SP headers: 'S' 'P', version 0, the sender's protocol number (PUSH 0x50, PULL 0x51). */
static const unsigned char push_header[8] = {0x00, 0x53, 0x50, 0x00, 0x00, 0x50, 0x00, 0x00};
static const unsigned char pull_header[8] = {0x00, 0x53, 0x50, 0x00, 0x00, 0x51, 0x00, 0x00};

/* Connections whose listener header has not come back yet: more would risk overflowing the
 * listen backlog, whose overflow costs seconds of SYN retries. */
#define MAX_PENDING 1024
#define SETTLE_TIMEOUT_MS 60000
#define FDS_SPARE 64
#define URL_MAX 512

typedef struct peer_address {
    struct sockaddr_storage addr;
    socklen_t len;
} peer_address;

static void resolve(const char *bound, peer_address *out)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(bound, "ipc://", 6) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&out->addr;
        const char *path = bound + 6;
        if (strlen(path) >= sizeof(un->sun_path))
            perf_fail("ipc path too long: %s", path);
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, path);
        out->len = sizeof(*un);
        return;
    }
    const char *host = strstr(bound, "://");
    const char *colon = strrchr(bound, ':');
    if (strncmp(bound, "tcp", 3) != 0 || host == NULL || colon <= host)
        perf_fail("unsupported URL '%s' (want tcp://HOST:PORT or ipc://PATH)", bound);
    host += 3;
    char name[256];
    size_t name_len = (size_t)(colon - host);
    if (name_len >= 2 && host[0] == '[' && host[name_len - 1] == ']') {
        host++;
        name_len -= 2;
    }
    if (name_len >= sizeof(name))
        perf_fail("host name too long in '%s'", bound);
    memcpy(name, host, name_len);
    name[name_len] = '\0';

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *found;
    int rc = getaddrinfo(name[0] != '\0' ? name : "127.0.0.1", colon + 1, &hints, &found);
    if (rc != 0)
        perf_fail("%s: %s", bound, gai_strerror(rc));
    memcpy(&out->addr, found->ai_addr, found->ai_addrlen);
    out->len = found->ai_addrlen;
    freeaddrinfo(found);
}

static int connect_idle_peer(const peer_address *peer)
{
    int fd = socket(peer->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        perf_fail("socket: %s", strerror(errno));
    if (connect(fd, (const struct sockaddr *)&peer->addr, peer->len) != 0)
        perf_fail("connect: %s", strerror(errno));
    size_t sent = 0;
    while (sent < sizeof(push_header)) {
        ssize_t n = write(fd, push_header + sent, sizeof(push_header) - sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            perf_fail("sending the SP header: %s", strerror(errno));
        sent += (size_t)n;
    }
    return fd;
}

/* Waits, bounded, for the listener's SP header on fd and checks that it is PULL's. */
static void expect_pull_header(int fd)
{
    unsigned char got[sizeof(pull_header)];
    size_t have = 0;
    uint64_t give_up = perf_now_ns() + (uint64_t)SETTLE_TIMEOUT_MS * 1000000u;
    while (have < sizeof(got)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t now = perf_now_ns();
        if (now >= give_up)
            perf_fail("no SP header from the listener within %d s", SETTLE_TIMEOUT_MS / 1000);
        if (poll(&p, 1, (int)((give_up - now) / 1000000u) + 1) < 0 && errno != EINTR)
            perf_fail("poll: %s", strerror(errno));
        ssize_t n = read(fd, got + have, sizeof(got) - have);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            perf_fail("the listener closed a connection during the handshake");
        have += (size_t)n;
    }
    if (memcmp(got, pull_header, sizeof(got)) != 0)
        perf_fail("the listener sent an unexpected SP header");
}

/* The child: reads the listener's URL, connects count idle peers, says "ok" and holds them
 * until the parent closes its end of from_parent. Never returns. */
static _Noreturn void client_process(uint64_t count, int from_parent, int to_parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    perf_init("idle_conns (clients)");
    char url[URL_MAX + 2];
    FILE *in = fdopen(from_parent, "r");
    if (in == NULL || fgets(url, sizeof(url), in) == NULL)
        exit(1); /* the parent failed and said why */
    url[strcspn(url, "\n")] = '\0';
    peer_address peer;
    resolve(url, &peer);

    int *fds = malloc(count * sizeof(*fds));
    if (fds == NULL)
        perf_fail("out of memory");
    uint64_t answered = 0;
    for (uint64_t i = 0; i < count; i++) {
        while (i - answered >= MAX_PENDING)
            expect_pull_header(fds[answered++]);
        fds[i] = connect_idle_peer(&peer);
    }
    while (answered < count)
        expect_pull_header(fds[answered++]);
    if (write(to_parent, "ok\n", 3) != 3)
        perf_fail("cannot report to the parent: %s", strerror(errno));

    char rest[64];
    while (fread(rest, 1, sizeof(rest), in) > 0)
        ;
    for (uint64_t i = 0; i < count; i++)
        close(fds[i]);
    free(fds);
    exit(0);
}

static uint64_t pipes_added(msock_socket s)
{
    uint64_t v;
    perf_check(msock_stat_get(s, MSOCK_STAT_PIPES_ADDED, &v), "statistics");
    return v;
}

static void require_fds(uint64_t needed, uint64_t count)
{
    uint64_t limit = perf_raise_fd_limit(needed);
    if (limit < needed)
        perf_fail("%llu connections need about %llu file descriptors per process but "
                  "RLIMIT_NOFILE allows %llu and cannot be raised; raise the hard limit "
                  "(ulimit -Hn)",
                  (unsigned long long)count, (unsigned long long)needed,
                  (unsigned long long)limit);
}

int main(int argc, char **argv)
{
    perf_init("idle_conns");
    perf_args(argc, argv, 2, usage);
    const char *url = argv[1];
    uint64_t count = perf_parse_u64("COUNT", argv[2], 1, 1000000);
    if (strncmp(url, "tcp", 3) != 0 && strncmp(url, "ipc://", 6) != 0)
        perf_fail("unsupported URL '%s' (want tcp:// or ipc://)", url);
    require_fds(count + FDS_SPARE, count);

    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
        perf_fail("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t child = fork();
    if (child < 0)
        perf_fail("fork: %s", strerror(errno));
    if (child == 0) {
        close(to_child[1]);
        close(from_child[0]);
        client_process(count, to_child[0], from_child[1]);
    }
    close(to_child[0]);
    close(from_child[1]);

    msock_socket puller;
    char bound[URL_MAX];
    perf_open("pull", &puller);
    perf_listen(puller, url, NULL, bound, sizeof(bound));
    long rss_before = perf_rss_kib();
    FILE *to_clients = fdopen(to_child[1], "w");
    if (to_clients == NULL || fprintf(to_clients, "%s\n", bound) < 0 || fflush(to_clients) != 0)
        perf_fail("cannot start the clients: %s", strerror(errno));
    char answer[8];
    ssize_t n;
    while ((n = read(from_child[0], answer, sizeof(answer))) < 0 && errno == EINTR)
        ;
    if (n <= 0)
        perf_fail("the client process failed");

    uint64_t give_up = perf_now_ns() + (uint64_t)SETTLE_TIMEOUT_MS * 1000000u;
    while (pipes_added(puller) < count) {
        if (perf_now_ns() > give_up)
            perf_fail("only %llu of %llu connections were added within %d s",
                      (unsigned long long)pipes_added(puller), (unsigned long long)count,
                      SETTLE_TIMEOUT_MS / 1000);
        perf_sleep_ms(5);
    }
    long rss_after = perf_rss_kib();

    uint64_t removed;
    perf_check(msock_stat_get(puller, MSOCK_STAT_PIPES_REMOVED, &removed), "statistics");
    if (removed != 0)
        fprintf(stderr, "idle_conns: warning: %llu connections were dropped\n",
                (unsigned long long)removed);
    printf("connections: %llu\n", (unsigned long long)count);
    printf("rss: %ld [KiB]\n", rss_after);
    printf("rss per connection: %lld [B]\n",
           (long long)(rss_after - rss_before) * 1024 / (long long)count);
    fflush(stdout);

    fclose(to_clients);
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    close(from_child[0]);
    perf_close(puller);
    msock_fini();
    return 0;
}
