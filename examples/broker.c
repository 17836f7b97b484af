/* broker.c: shows raw sockets and msock_device: REQ clients -> raw REP | device | raw REQ -> REP
 * workers. `broker FRONT WORKER...` runs a broker alone; no arguments runs all over inproc. */
#include <pthread.h>
#include <stdio.h>

#include <msock.h>

#define CLIENTS 3
#define WORKERS 2

struct worker {
    msock_socket s;
    int number;
};
struct device {
    msock_socket front, back; /* raw REP facing the clients, raw REQ facing the workers */
    int rc;
};

static int fail(const char *what, int rc)
{
    fprintf(stderr, "broker: %s: %s\n", what, msock_strerror(rc));
    return 1;
}

/* A worker is a plain REP socket; the broker is invisible to it. It serves until closed. */
static void *worker_thread(void *arg)
{
    struct worker *me = arg;
    char job[64], out[128];
    size_t len = sizeof(job);

    for (; msock_recv(me->s, job, &len, 0) == 0; len = sizeof(job)) {
        int n = snprintf(out, sizeof(out), "%.*s done by worker %d",
                         (int)(len < sizeof(job) ? len : sizeof(job)), job, me->number);
        msock_send(me->s, out, (size_t)n, 0);
    }
    return NULL;
}

/* Raw REP hands each request on with its way back (pipe id, backtrace) in the header; raw REQ
 * sends it on as it is, and the reply retraces the path. Runs until front or back closes. */
static void *device_thread(void *arg)
{
    struct device *dev = arg;

    dev->rc = msock_device(dev->front, dev->back);
    return NULL;
}

static int open_raw(struct device *dev, const char *front_url)
{
    int rc = msock_socket_open(&dev->front, MSOCK_PROTO_REP, MSOCK_OPEN_RAW);

    if (rc == 0 && (rc = msock_socket_open(&dev->back, MSOCK_PROTO_REQ, MSOCK_OPEN_RAW)) == 0)
        rc = msock_listen(dev->front, front_url, NULL, 0);
    return rc;
}

/* Clients are plain REQ sockets: to them the broker looks like one server. All send first, so
 * every request is in flight at once and the workers share them; then each reads its reply. */
static int run_clients(const char *front_url)
{
    msock_socket clients[CLIENTS] = {MSOCK_SOCKET_INITIALIZER};
    char job[CLIENTS][32], answer[128];
    int rc = 0;

    for (int i = 0; i < CLIENTS && rc == 0; i++) {
        int n = snprintf(job[i], sizeof(job[i]), "job from client %d", i + 1);
        if ((rc = msock_req_open(&clients[i])) == 0 &&
            (rc = msock_dial(clients[i], front_url, NULL, 0)) == 0 &&
            (rc = msock_socket_set_ms(clients[i], MSOCK_OPT_RECV_TIMEOUT, 5000)) == 0)
            rc = msock_send(clients[i], job[i], (size_t)n, 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        size_t len = sizeof(answer);
        if (rc == 0 && (rc = msock_recv(clients[i], answer, &len, 0)) == 0)
            printf("client %d: \"%s\" -> \"%.*s\"\n", i + 1, job[i],
                   (int)(len < sizeof(answer) ? len : sizeof(answer)), answer);
        msock_close(clients[i]); /* an unopened handle (id 0) just gives MSOCK_ECLOSED */
    }
    return rc;
}

static int self_contained(void)
{
    const char *front_url = "inproc://broker-front", *back_url = "inproc://broker-back";
    struct device dev = {MSOCK_SOCKET_INITIALIZER, MSOCK_SOCKET_INITIALIZER, 0};
    struct worker workers[WORKERS] = {{.number = 1}, {.number = 2}};
    pthread_t device, threads[WORKERS];
    int rc, started = 0;

    if ((rc = open_raw(&dev, front_url)) != 0 ||
        (rc = msock_listen(dev.back, back_url, NULL, 0)) != 0)
        goto out;
    for (; started < WORKERS; started++) {
        struct worker *w = &workers[started];
        if ((rc = msock_rep_open(&w->s)) != 0 || (rc = msock_dial(w->s, back_url, NULL, 0)) != 0)
            goto out;
        pthread_create(&threads[started], NULL, worker_thread, w);
    }
    pthread_create(&device, NULL, device_thread, &dev);
    rc = run_clients(front_url);
    msock_close(dev.front); /* ends msock_device */
    pthread_join(device, NULL);
    printf("device: returned %d once its front socket closed\n", dev.rc);
    rc = rc != 0 ? rc : dev.rc;
out:
    msock_close(dev.front);
    msock_close(dev.back);
    for (int i = 0; i < WORKERS; i++)
        msock_close(workers[i].s); /* wakes its thread with MSOCK_ECLOSED; id 0 is harmless */
    while (started > 0)
        pthread_join(threads[--started], NULL);
    return rc != 0 ? fail("demo", rc) : 0;
}

/* A broker between processes, such as `reqrep req FRONT` clients and `reqrep rep URL` workers. */
static int run_broker(const char *front_url, char **worker_urls, int nworkers)
{
    struct device dev = {MSOCK_SOCKET_INITIALIZER, MSOCK_SOCKET_INITIALIZER, 0};
    int rc = open_raw(&dev, front_url);

    for (int i = 0; rc == 0 && i < nworkers; i++)
        rc = msock_dial(dev.back, worker_urls[i], NULL, MSOCK_FLAG_NONBLOCK);
    if (rc == 0)
        rc = msock_device(dev.front, dev.back); /* until killed */
    msock_close(dev.front);
    msock_close(dev.back);
    return rc == 0 ? 0 : fail("broker", rc);
}

int main(int argc, char **argv)
{
    int rc;

    if (argc == 1)
        rc = self_contained();
    else if (argc >= 3 && argv[1][0] != '-')
        rc = run_broker(argv[1], argv + 2, argc - 2);
    else {
        fputs("usage: broker                      clients, broker and workers over inproc\n"
              "       broker FRONT WORKER...      listen for clients on FRONT, dial each WORKER\n",
              stderr);
        rc = 2;
    }
    msock_fini();
    return rc;
}
