/* test_device.c: msock_device as REQ/REP broker, PUB/SUB forwarder, BUS/PAIR reflector. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "protoutil.h"

/* ---- the device in its own thread ---- */

typedef struct device_job {
    msock_socket a, b;
    atomic_int rc;
    atomic_bool returned;
    pthread_t thread;
} device_job;

static void *device_main(void *arg)
{
    device_job *job = arg;
    atomic_store(&job->rc, msock_device(job->a, job->b));
    atomic_store(&job->returned, true);
    return NULL;
}

static void device_start(device_job *job, msock_socket a, msock_socket b)
{
    job->a = a;
    job->b = b;
    atomic_store(&job->rc, 1);
    atomic_store(&job->returned, false);
    assert_int_equal(pthread_create(&job->thread, NULL, device_main, job), 0);
}

/* Closes one of the device's sockets; the device must then return 0. */
static void device_stop(device_job *job, pu_node *closing)
{
    if (atomic_load(&job->returned)) /* it must have run until now */
        fail_msg("msock_device returned early: %s", tu_errname(atomic_load(&job->rc)));
    pu_node_close(closing);
    if (!tu_thread_join(job->thread, TU_DEADLINE_MS))
        fail_msg("msock_device still runs after one of its sockets closed");
    TU_EXPECT_RC(0, atomic_load(&job->rc));
}

/* ---- broker: REQ clients -> raw REP | device | raw REQ -> REP workers ---- */

#define BROKER_CLIENTS 3
#define BROKER_WORKERS 2
#define BROKER_REQUESTS 50
#define WORKER_POLL_MS 100

typedef struct broker_client {
    msock_socket req;
    unsigned id;
    unsigned done;
    char err[200];
    pthread_t thread;
} broker_client;

typedef struct broker_worker {
    msock_socket rep;
    unsigned id;
    atomic_bool *stop;
    unsigned served;
    char err[200];
    pthread_t thread;
} broker_worker;

static void *broker_client_main(void *arg)
{
    broker_client *job = arg;
    for (unsigned i = 0; i < BROKER_REQUESTS; i++) {
        char ask[32], answer[64];
        int n = snprintf(ask, sizeof(ask), "c%u:%u", job->id, i);
        int rc = msock_send(job->req, ask, (size_t)n, 0);
        size_t len = sizeof(answer) - 1;
        if (rc == 0)
            rc = msock_recv(job->req, answer, &len, 0);
        if (rc != 0) {
            snprintf(job->err, sizeof(job->err), "request %u: %s", i, tu_errname(rc));
            return NULL;
        }
        answer[len] = '\0';
        /* The answer is the request, "!" and the worker's number. */
        if (len != (size_t)n + 2 || memcmp(answer, ask, (size_t)n) != 0 || answer[n] != '!') {
            snprintf(job->err, sizeof(job->err), "request \"%s\" got \"%s\"", ask, answer);
            return NULL;
        }
        job->done++;
    }
    return NULL;
}

static void *broker_worker_main(void *arg)
{
    broker_worker *job = arg;
    int64_t deadline = tu_deadline_in(6 * TU_DEADLINE_MS);
    while (!atomic_load(job->stop) && !tu_deadline_passed(deadline)) {
        msock_msg *m = NULL;
        int rc = msock_recvmsg(job->rep, &m, 0);
        if (rc == MSOCK_ETIMEDOUT)
            continue;
        if (rc != 0) {
            snprintf(job->err, sizeof(job->err), "recvmsg: %s", tu_errname(rc));
            return NULL;
        }
        /* One hop through the device: its pipe word, then the client's request id. */
        if (msock_msg_header_len(m) != 8) {
            snprintf(job->err, sizeof(job->err), "a backtrace of %zu bytes, want 8",
                     msock_msg_header_len(m));
            msock_msg_free(m);
            return NULL;
        }
        char mark[2] = {'!', (char)('0' + job->id)};
        rc = msock_msg_append(m, mark, sizeof(mark));
        if (rc == 0)
            rc = msock_sendmsg(job->rep, m, 0);
        if (rc != 0) {
            msock_msg_free(m);
            snprintf(job->err, sizeof(job->err), "reply: %s", tu_errname(rc));
            return NULL;
        }
        job->served++;
    }
    return NULL;
}

static void test_broker(void **state)
{
    (void)state;
    pu_node front = pu_node_raw(MSOCK_PROTO_REP);
    pu_node back = pu_node_raw(MSOCK_PROTO_REQ);
    char front_url[TU_URL_MAX], back_url[TU_URL_MAX];
    pu_listen(&front, TU_TCP4, front_url, sizeof(front_url));
    pu_listen(&back, TU_TCP4, back_url, sizeof(back_url));
    pu_node clients[BROKER_CLIENTS], workers[BROKER_WORKERS];
    for (unsigned i = 0; i < BROKER_WORKERS; i++) {
        workers[i] = pu_node_open(msock_rep_open);
        TU_OK(msock_socket_set_ms(workers[i].sock, MSOCK_OPT_RECV_TIMEOUT, WORKER_POLL_MS));
        pu_dial_wait(&back, &workers[i], back_url);
    }
    for (unsigned i = 0; i < BROKER_CLIENTS; i++) {
        clients[i] = pu_node_open(msock_req_open);
        pu_dial_wait(&front, &clients[i], front_url);
    }
    static device_job device; /* static: outlives the test should the device hang */
    device_start(&device, front.sock, back.sock);

    atomic_bool stop = false;
    broker_worker wjobs[BROKER_WORKERS];
    for (unsigned i = 0; i < BROKER_WORKERS; i++) {
        wjobs[i] = (broker_worker){.rep = workers[i].sock, .id = i, .stop = &stop};
        assert_int_equal(pthread_create(&wjobs[i].thread, NULL, broker_worker_main, &wjobs[i]), 0);
    }
    broker_client cjobs[BROKER_CLIENTS];
    for (unsigned i = 0; i < BROKER_CLIENTS; i++) {
        cjobs[i] = (broker_client){.req = clients[i].sock, .id = i};
        assert_int_equal(pthread_create(&cjobs[i].thread, NULL, broker_client_main, &cjobs[i]), 0);
    }
    bool joined = true;
    for (unsigned i = 0; i < BROKER_CLIENTS; i++)
        joined &= tu_thread_join(cjobs[i].thread, 4 * TU_DEADLINE_MS);
    atomic_store(&stop, true);
    for (unsigned i = 0; i < BROKER_WORKERS; i++)
        joined &= tu_thread_join(wjobs[i].thread, 2 * TU_DEADLINE_MS);
    if (!joined)
        fail_msg("broker clients or workers still run at the deadline");
    unsigned served = 0;
    for (unsigned i = 0; i < BROKER_WORKERS; i++) {
        if (wjobs[i].err[0])
            fail_msg("worker %u: %s", i, wjobs[i].err);
        served += wjobs[i].served;
    }
    for (unsigned i = 0; i < BROKER_CLIENTS; i++) {
        if (cjobs[i].err[0])
            fail_msg("client %u: %s", i, cjobs[i].err);
        assert_int_equal(cjobs[i].done, BROKER_REQUESTS);
    }
    assert_int_equal(served, BROKER_CLIENTS * BROKER_REQUESTS);

    device_stop(&device, &front);
    pu_node_close(&back);
    for (unsigned i = 0; i < BROKER_CLIENTS; i++)
        pu_node_close(&clients[i]);
    for (unsigned i = 0; i < BROKER_WORKERS; i++)
        pu_node_close(&workers[i]);
}

/* ---- forwarder: PUB -> raw SUB | device | raw PUB -> SUBs ---- */

static void test_pubsub_forwarder(void **state)
{
    (void)state;
    pu_node upstream = pu_node_open(msock_pub_open);
    pu_node raw_sub = pu_node_raw(MSOCK_PROTO_SUB);
    pu_node raw_pub = pu_node_raw(MSOCK_PROTO_PUB);
    pu_link(&upstream, &raw_sub, TU_TCP4);
    char url[TU_URL_MAX];
    pu_listen(&raw_pub, TU_INPROC, url, sizeof(url));
    pu_node subs[2];
    for (int i = 0; i < 2; i++) {
        subs[i] = pu_node_open(msock_sub_open);
        TU_OK(msock_sub_subscribe(subs[i].sock, "t", 1));
        pu_dial_wait(&raw_pub, &subs[i], url);
    }
    static device_job device; /* static: outlives the test should the device hang */
    device_start(&device, raw_sub.sock, raw_pub.sock);
    enum { COUNT = 20 };
    for (unsigned i = 0; i < COUNT; i++) {
        char text[16];
        snprintf(text, sizeof(text), "t%u", i);
        pu_send_str(upstream.sock, text);
        snprintf(text, sizeof(text), "x%u", i);
        pu_send_str(upstream.sock, text);
    }
    /* The raw SUB takes everything; each SUB keeps its topic, in order. */
    for (int s = 0; s < 2; s++) {
        for (unsigned i = 0; i < COUNT; i++) {
            char text[16];
            snprintf(text, sizeof(text), "t%u", i);
            pu_recv_str(subs[s].sock, text);
        }
        pu_expect_stat(subs[s].sock, MSOCK_STAT_DROPS_NO_SUB, COUNT);
        pu_expect_none(subs[s].sock, 0);
    }
    assert_int_equal(tu_stat(raw_sub.sock, MSOCK_STAT_DROPS_NO_SUB), 0);
    device_stop(&device, &raw_pub);
    pu_node_close(&raw_sub);
    pu_node_close(&upstream);
    for (int i = 0; i < 2; i++)
        pu_node_close(&subs[i]);
}

/* ---- reflectors ---- */

static void test_bus_reflector(void **state)
{
    (void)state;
    pu_node hub = pu_node_raw(MSOCK_PROTO_BUS);
    char url[TU_URL_MAX];
    pu_listen(&hub, TU_TCP4, url, sizeof(url));
    pu_node nodes[3];
    for (int i = 0; i < 3; i++) {
        nodes[i] = pu_node_open(msock_bus_open);
        pu_dial_wait(&hub, &nodes[i], url);
    }
    static device_job device; /* static: outlives the test should the device hang */
    device_start(&device, hub.sock, hub.sock);
    pu_send_str(nodes[0].sock, "hello");
    pu_recv_str(nodes[1].sock, "hello");
    pu_recv_str(nodes[2].sock, "hello");
    pu_send_str(nodes[1].sock, "from-1");
    pu_recv_str(nodes[2].sock, "from-1");
    pu_send_str(nodes[2].sock, "from-2");
    pu_recv_str(nodes[1].sock, "from-2");
    /* The hub never echoes to the origin: node 0's next messages are the others'. Had "hello"
     * come back, it would be first on that ordered pipe. */
    pu_recv_str(nodes[0].sock, "from-1");
    pu_recv_str(nodes[0].sock, "from-2");
    for (int i = 0; i < 3; i++)
        pu_expect_none(nodes[i].sock, i == 0 ? PU_QUIET_MS : 0);
    device_stop(&device, &hub);
    for (int i = 0; i < 3; i++)
        pu_node_close(&nodes[i]);
}

static void test_pair_reflector(void **state)
{
    (void)state;
    pu_node mirror = pu_node_raw(MSOCK_PROTO_PAIR0);
    pu_node peer = pu_node_open(msock_pair_open);
    pu_link(&mirror, &peer, TU_TCP4);
    static device_job device; /* static: outlives the test should the device hang */
    device_start(&device, mirror.sock, mirror.sock);
    for (unsigned i = 0; i < 5; i++) {
        char text[16];
        snprintf(text, sizeof(text), "echo %u", i);
        pu_send_str(peer.sock, text);
        pu_recv_str(peer.sock, text);
    }
    device_stop(&device, &mirror);
    pu_node_close(&peer);
}

/* ---- refusals ---- */

static void expect_device_rc(int want, msock_socket a, msock_socket b, const char *what)
{
    /* A wrong verdict could mean a device that runs for ever: run it in a thread, whose job
     * is left allocated should it outlive the test. */
    device_job *job = malloc(sizeof(*job));
    assert_non_null(job);
    device_start(job, a, b);
    if (!tu_thread_join(job->thread, TU_DEADLINE_MS))
        fail_msg("%s: msock_device runs instead of refusing", what);
    int rc = atomic_load(&job->rc);
    free(job);
    if (rc != want)
        fail_msg("%s: got %s, want %s", what, tu_errname(rc), tu_errname(want));
}

static void test_device_refusals(void **state)
{
    (void)state;
    msock_socket rep, req, raw_rep, raw_req, raw_pub, raw_rep2, bus, raw_push;
    TU_OK(msock_rep_open(&rep));
    TU_OK(msock_req_open(&req));
    TU_OK(msock_bus_open(&bus));
    TU_OK(msock_socket_open(&raw_rep, MSOCK_PROTO_REP, MSOCK_OPEN_RAW));
    TU_OK(msock_socket_open(&raw_rep2, MSOCK_PROTO_REP, MSOCK_OPEN_RAW));
    TU_OK(msock_socket_open(&raw_req, MSOCK_PROTO_REQ, MSOCK_OPEN_RAW));
    TU_OK(msock_socket_open(&raw_pub, MSOCK_PROTO_PUB, MSOCK_OPEN_RAW));
    TU_OK(msock_socket_open(&raw_push, MSOCK_PROTO_PUSH, MSOCK_OPEN_RAW));
    expect_device_rc(MSOCK_EINVAL, rep, req, "cooked rep + cooked req");
    expect_device_rc(MSOCK_EINVAL, raw_rep, req, "raw rep + cooked req");
    expect_device_rc(MSOCK_EINVAL, rep, raw_req, "cooked rep + raw req");
    expect_device_rc(MSOCK_EINVAL, raw_rep, raw_pub, "raw rep + raw pub");
    expect_device_rc(MSOCK_EINVAL, raw_rep, raw_rep2, "raw rep + raw rep");
    expect_device_rc(MSOCK_EINVAL, raw_req, raw_req, "raw req reflector");
    expect_device_rc(MSOCK_EINVAL, raw_push, raw_push, "raw push reflector");
    expect_device_rc(MSOCK_EINVAL, bus, bus, "cooked bus reflector");
    TU_OK(msock_close(raw_rep2));
    expect_device_rc(MSOCK_ECLOSED, raw_rep2, raw_req, "closed first socket");
    expect_device_rc(MSOCK_ECLOSED, raw_req, raw_rep2, "closed second socket");
    msock_socket never = MSOCK_SOCKET_INITIALIZER;
    expect_device_rc(MSOCK_ECLOSED, never, never, "never opened");
    TU_OK(msock_close(rep));
    TU_OK(msock_close(req));
    TU_OK(msock_close(bus));
    TU_OK(msock_close(raw_rep));
    TU_OK(msock_close(raw_req));
    TU_OK(msock_close(raw_pub));
    TU_OK(msock_close(raw_push));
}

/* A device with no peers at all returns once either of its sockets closes. */
static void test_device_returns_on_close(void **state)
{
    (void)state;
    for (int which = 0; which < 2; which++) {
        pu_node front = pu_node_raw(MSOCK_PROTO_REP);
        pu_node back = pu_node_raw(MSOCK_PROTO_REQ);
        static device_job device; /* static: outlives the test should the device hang */
        device_start(&device, front.sock, back.sock);
        tu_sleep_ms(20); /* a chance to block inside */
        device_stop(&device, which == 0 ? &front : &back);
        pu_node_close(which == 0 ? &back : &front);
    }
}

int main(void)
{
    tu_watchdog(600);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker),
        cmocka_unit_test(test_pubsub_forwarder),
        cmocka_unit_test(test_bus_reflector),
        cmocka_unit_test(test_pair_reflector),
        cmocka_unit_test(test_device_refusals),
        cmocka_unit_test(test_device_returns_on_close),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed == 0)
        msock_fini();
    return failed;
}
