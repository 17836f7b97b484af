/* pubsub.c: shows PUB/SUB with topic subscriptions. `pubsub pub URL` publishes a tick a second;
 * `pubsub sub URL [TOPIC]` prints what matches TOPIC; no arguments runs a demo over inproc. */
#include <errno.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msock.h>

/* Posted once per pipe the publisher gains, so the demo waits for its peers instead of sleeping:
 * PUB never waits for peers, and a message published before a SUB is attached is not for it. */
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
    fprintf(stderr, "pubsub: %s: %s\n", what, msock_strerror(rc));
    return 1;
}

static const char *const news[] = {"weather/paris sunny", "sports/final 3-1",
                                   "weather/oslo snow", "markets/up 2%"};
static const struct {
    const char *name, *topic; /* topic "" subscribes to everything */
    int expected;             /* how many of news[] match it */
} readers[] = {{"weather fan", "weather/", 2}, {"sports fan", "sports/", 1}, {"archive", "", 4}};
#define READERS (int)(sizeof(readers) / sizeof(readers[0]))

static int self_contained(void)
{
    const char *url = "inproc://pubsub-example";
    sem_t added;
    msock_socket pub = MSOCK_SOCKET_INITIALIZER, subs[READERS] = {MSOCK_SOCKET_INITIALIZER};
    int rc, failed = 0;

    sem_init(&added, 0, 0);
    if ((rc = msock_pub_open(&pub)) != 0 ||
        (rc = msock_pipe_notify(pub, MSOCK_PIPE_EV_ADD_POST, pipe_added_cb, &added)) != 0 ||
        (rc = msock_listen(pub, url, NULL, 0)) != 0)
        goto out;
    for (int r = 0; r < READERS; r++) {
        const char *topic = readers[r].topic;
        if ((rc = msock_sub_open(&subs[r])) != 0 ||
            (rc = msock_sub_subscribe(subs[r], topic, strlen(topic))) != 0 ||
            (rc = msock_dial(subs[r], url, NULL, 0)) != 0)
            goto out;
        msock_socket_set_ms(subs[r], MSOCK_OPT_RECV_TIMEOUT, 250); /* "nothing more is coming" */
    }
    if (!wait_for_pipes(&added, READERS)) {
        rc = MSOCK_ETIMEDOUT;
        goto out;
    }
    for (size_t i = 0; i < sizeof(news) / sizeof(news[0]); i++) {
        if ((rc = msock_send(pub, news[i], strlen(news[i]), 0)) != 0) /* never waits */
            goto out;
        printf("pub: published \"%s\"\n", news[i]);
    }
    for (int r = 0; r < READERS; r++) {
        char buf[64];
        size_t len = sizeof(buf);
        uint64_t filtered = 0;
        int got = 0;
        for (; msock_recv(subs[r], buf, &len, 0) == 0; got++, len = sizeof(buf))
            printf("%s: received \"%.*s\"\n", readers[r].name,
                   (int)(len < sizeof(buf) ? len : sizeof(buf)), buf);
        msock_stat_get(subs[r], MSOCK_STAT_DROPS_NO_SUB, &filtered);
        printf("%s (topic \"%s\"): %d received, %llu filtered out\n", readers[r].name,
               readers[r].topic, got, (unsigned long long)filtered);
        failed |= got != readers[r].expected;
    }
out:
    for (int r = 0; r < READERS; r++)
        msock_close(subs[r]); /* an unopened handle (id 0) just gives MSOCK_ECLOSED */
    msock_close(pub); /* its callbacks are over once it returns */
    sem_destroy(&added);
    return rc != 0 ? fail("demo", rc) : failed;
}

int main(int argc, char **argv)
{
    msock_socket s = MSOCK_SOCKET_INITIALIZER;
    char buf[256];
    int rc;

    if (argc == 1)
        rc = self_contained();
    else if (argc == 3 && strcmp(argv[1], "pub") == 0) {
        if ((rc = msock_pub_open(&s)) != 0 || (rc = msock_listen(s, argv[2], NULL, 0)) != 0)
            return fail(argv[2], rc);
        for (unsigned tick = 1; rc == 0; tick++, sleep(1)) {
            int n = snprintf(buf, sizeof(buf), "tick %u", tick);
            if ((rc = msock_send(s, buf, (size_t)n, 0)) == 0)
                printf("pub: published \"%s\"\n", buf);
            fflush(stdout);
        }
        msock_close(s);
        rc = fail("publish", rc);
    } else if ((argc == 3 || argc == 4) && strcmp(argv[1], "sub") == 0) {
        const char *topic = argc == 4 ? argv[3] : "";
        size_t len;
        if ((rc = msock_sub_open(&s)) != 0 ||
            (rc = msock_sub_subscribe(s, topic, strlen(topic))) != 0 ||
            (rc = msock_dial(s, argv[2], NULL, MSOCK_FLAG_NONBLOCK)) != 0)
            return fail(argv[2], rc);
        while (len = sizeof(buf), (rc = msock_recv(s, buf, &len, 0)) == 0) {
            printf("sub: received \"%.*s\"\n", (int)(len < sizeof(buf) ? len : sizeof(buf)), buf);
            fflush(stdout);
        }
        msock_close(s);
        rc = fail("receive", rc);
    } else {
        fputs("usage: pubsub                     publisher and three subscribers over inproc\n"
              "       pubsub pub URL             listen, publish \"tick N\" every second\n"
              "       pubsub sub URL [TOPIC]     dial, print messages starting with TOPIC\n",
              stderr);
        rc = 2;
    }
    msock_fini();
    return rc;
}
