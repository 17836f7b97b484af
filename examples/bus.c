/* bus.c: shows BUS, three nodes in a full mesh, each hearing every other. `bus URL [PEER...]`
 * runs one node that listens on URL and dials each PEER; no arguments runs three over inproc. */
#include <errno.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <msock.h>

#define NODES 3

/* Posted once per pipe a node gains, so the demo waits for its peers instead of sleeping:
 * BUS sends only to the peers attached at that moment. */
static void pipe_added_cb(msock_pipe p, int event, void *arg)
{
    (void)p, (void)event;
    sem_post(arg); /* never blocks, as a pipe callback must not */
}

/* Waits up to 5 s in all for `want` pipes; false if they did not all come. */
static bool wait_for_pipes(sem_t *added, int want)
{
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    while (want > 0)
        if (sem_timedwait(added, &deadline) == 0)
            want--;
        else if (errno != EINTR)
            return false;
    return true;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "bus: %s: %s\n", what, msock_strerror(rc));
    return 1;
}

/* Node i listens on its own name and dials every node before it, so each pair of nodes is
 * connected exactly once: BUS does not forward, a message reaches direct peers only. */
static int self_contained(void)
{
    sem_t added;
    msock_socket nodes[NODES] = {MSOCK_SOCKET_INITIALIZER};
    char url[NODES][32], text[64], buf[64];
    int rc = 0, failed = 0;

    sem_init(&added, 0, 0);
    for (int i = 0; i < NODES; i++) {
        snprintf(url[i], sizeof(url[i]), "inproc://bus-example-%d", i);
        if ((rc = msock_bus_open(&nodes[i])) != 0 ||
            (rc = msock_pipe_notify(nodes[i], MSOCK_PIPE_EV_ADD_POST, pipe_added_cb,
                                    &added)) != 0 ||
            (rc = msock_listen(nodes[i], url[i], NULL, 0)) != 0)
            goto out;
        for (int peer = 0; peer < i; peer++)
            if ((rc = msock_dial(nodes[i], url[peer], NULL, 0)) != 0)
                goto out;
        msock_socket_set_ms(nodes[i], MSOCK_OPT_RECV_TIMEOUT, 2000);
    }
    if (!wait_for_pipes(&added, NODES * (NODES - 1))) { /* every link has a pipe at both ends */
        rc = MSOCK_ETIMEDOUT;
        goto out;
    }
    for (int i = 0; i < NODES; i++) {
        int n = snprintf(text, sizeof(text), "hello from node %d", i);
        if ((rc = msock_send(nodes[i], text, (size_t)n, 0)) != 0) /* to every peer at once */
            goto out;
        printf("node %d: sent \"%s\"\n", i, text);
    }
    /* Each node hears each of the others once, and never its own message. */
    for (int i = 0; i < NODES; i++) {
        int own = snprintf(text, sizeof(text), "hello from node %d", i);
        for (int got = 0; got < NODES - 1; got++) {
            size_t len = sizeof(buf);
            if ((rc = msock_recv(nodes[i], buf, &len, 0)) != 0)
                goto out;
            printf("node %d: received \"%.*s\"\n", i,
                   (int)(len < sizeof(buf) ? len : sizeof(buf)), buf);
            failed |= len == (size_t)own && memcmp(buf, text, len) == 0;
        }
    }
out:
    for (int i = 0; i < NODES; i++)
        msock_close(nodes[i]); /* an unopened handle (id 0) just gives MSOCK_ECLOSED */
    sem_destroy(&added); /* no callback runs after the sockets are closed */
    return rc != 0 ? fail("demo", rc) : failed;
}

/* One node of a mesh across processes: says hello every second (the receive timeout paces
 * it) and prints whatever its peers say. */
static int run_node(const char *url, char **peers, int npeers)
{
    msock_socket s;
    char text[160], buf[256];
    int rc;

    if ((rc = msock_bus_open(&s)) != 0 || (rc = msock_listen(s, url, NULL, 0)) != 0)
        return fail(url, rc);
    for (int i = 0; i < npeers; i++)
        if ((rc = msock_dial(s, peers[i], NULL, MSOCK_FLAG_NONBLOCK)) != 0) /* peer may be late */
            return fail(peers[i], rc);
    msock_socket_set_ms(s, MSOCK_OPT_RECV_TIMEOUT, 1000);
    snprintf(text, sizeof(text), "hello from %s", url);
    for (;;) {
        size_t len = sizeof(buf);
        if ((rc = msock_send(s, text, strlen(text), 0)) != 0)
            break;
        while ((rc = msock_recv(s, buf, &len, 0)) == 0) {
            printf("received \"%.*s\"\n", (int)(len < sizeof(buf) ? len : sizeof(buf)), buf);
            fflush(stdout);
            len = sizeof(buf);
        }
        if (rc != MSOCK_ETIMEDOUT)
            break;
    }
    msock_close(s);
    return fail("node", rc);
}

int main(int argc, char **argv)
{
    int rc;

    if (argc == 1)
        rc = self_contained();
    else if (argv[1][0] != '-')
        rc = run_node(argv[1], argv + 2, argc - 2);
    else {
        fputs("usage: bus                   three nodes in a mesh over inproc\n"
              "       bus URL [PEER...]     one node: listen on URL, dial each PEER\n",
              stderr);
        rc = 2;
    }
    msock_fini();
    return rc;
}
