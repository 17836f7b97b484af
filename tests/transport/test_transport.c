/* test_transport.c: table-driven transport tests: every case over inproc, ipc, tcp on 127.0.0.1
 * and on [::1], the data cases also with 0 B, 1 B, 1 KiB and 1 MiB messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"

#define MIB ((size_t)1024 * 1024)
/* The default receive limit is exactly 1 MiB; the 1 MiB cases raise it on the receivers. */
#define BIG_RECV_MAXSZ (2 * MIB)

typedef struct tparam {
    tu_transport transport;
    size_t size;
} tparam;

static const tparam *param_of(void **state)
{
    const tparam *p = *state;
    if (!tu_transport_available(p->transport))
        skip();
    return p;
}

/* How many messages a stream case sends: many small ones, a few big ones. */
static unsigned stream_count(size_t size, unsigned small_count)
{
    return size >= MIB ? 8 : small_count;
}

/* ---- sockets, links and threads ---- */

typedef int (*opener)(msock_socket *s);

/* A socket with bounded waits, so that a library hang fails the test instead of stalling it. */
static msock_socket open_socket(opener open_fn)
{
    msock_socket s;
    TU_OK(open_fn(&s));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_size(s, MSOCK_OPT_RECV_MAXSZ, BIG_RECV_MAXSZ));
    /* Redials in the tests should come quickly. */
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MIN, 10));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MAX, 100));
    return s;
}

/* One listening and one dialing socket, connected. */
typedef struct peers {
    msock_socket lsock, dsock;
    tu_waiter *lw, *dw;
    msock_listener l;
    msock_dialer d;
    char url[TU_URL_MAX];
} peers;

static void link_open(peers *k, tu_transport t, opener listen_fn, opener dial_fn)
{
    k->lsock = open_socket(listen_fn);
    k->dsock = open_socket(dial_fn);
    k->lw = tu_waiter_attach(k->lsock);
    k->dw = tu_waiter_attach(k->dsock);
    tu_listen_any(k->lsock, t, &k->l, k->url, sizeof(k->url));
    TU_OK(msock_dial(k->dsock, k->url, &k->d, 0));
    assert_true(tu_wait_added(k->lw, 1, TU_DEADLINE_MS));
    assert_true(tu_wait_added(k->dw, 1, TU_DEADLINE_MS));
}

static void link_close(peers *k)
{
    TU_OK(msock_close(k->dsock));
    TU_OK(msock_close(k->lsock));
    tu_waiter_free(k->dw);
    tu_waiter_free(k->lw);
}

static void send_seeded(msock_socket s, size_t size, uint32_t seed)
{
    uint8_t *buf = malloc(size ? size : 1);
    assert_non_null(buf);
    tu_fill(buf, size, seed);
    TU_OK(msock_send(s, buf, size, 0));
    free(buf);
}

static void recv_expect(msock_socket s, size_t size, uint32_t seed)
{
    size_t cap = size + 16;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    size_t len = cap;
    TU_OK(msock_recv(s, buf, &len, 0));
    assert_int_equal(len, size);
    assert_true(tu_check(buf, len, seed));
    free(buf);
}

static void expect_nothing_queued(msock_socket s)
{
    uint8_t byte;
    size_t len = sizeof(byte);
    TU_EXPECT_RC(MSOCK_EAGAIN, msock_recv(s, &byte, &len, MSOCK_FLAG_NONBLOCK));
}

/* Sends count seeded messages from its own thread, so receivers never deadlock on full queues. */
typedef struct sender_job {
    msock_socket sock;
    unsigned sender;
    unsigned count;
    size_t size;         /* of every message, unless sizes is set */
    const size_t *sizes; /* message i has sizes[i % nsizes] bytes (size is their maximum) */
    size_t nsizes;
    int rc;
    unsigned sent;
    pthread_t thread;
} sender_job;

static void *sender_main(void *arg)
{
    sender_job *job = arg;
    uint8_t *buf = malloc(job->size ? job->size : 1);
    if (buf == NULL) {
        job->rc = MSOCK_ENOMEM;
        return NULL;
    }
    for (unsigned i = 0; i < job->count; i++) {
        size_t size = job->sizes ? job->sizes[i % job->nsizes] : job->size;
        tu_fill(buf, size, tu_seed(job->sender, i));
        job->rc = msock_send(job->sock, buf, size, 0);
        if (job->rc != 0)
            break;
        job->sent++;
    }
    free(buf);
    return NULL;
}

static void sender_start(sender_job *job, msock_socket s, unsigned sender, unsigned count,
                         size_t size)
{
    *job = (sender_job){.sock = s, .sender = sender, .count = count, .size = size};
    assert_int_equal(pthread_create(&job->thread, NULL, sender_main, job), 0);
}

static void sender_finish(sender_job *job)
{
    assert_true(tu_thread_join(job->thread, 3 * TU_DEADLINE_MS));
    TU_OK(job->rc);
    assert_int_equal(job->sent, job->count);
}

/* ---- data cases (transport x size) ---- */

static void test_pair_echo(void **state)
{
    const tparam *p = param_of(state);
    peers k;
    link_open(&k, p->transport, msock_pair_open, msock_pair_open);
    unsigned count = stream_count(p->size, 10);
    /* Both directions: each side starts exchanges that the other echoes. */
    for (unsigned dir = 0; dir < 2; dir++) {
        msock_socket from = dir == 0 ? k.dsock : k.lsock;
        msock_socket to = dir == 0 ? k.lsock : k.dsock;
        uint8_t *buf = malloc(p->size + 16);
        assert_non_null(buf);
        for (unsigned i = 0; i < count; i++) {
            uint32_t seed = tu_seed(dir, i);
            send_seeded(from, p->size, seed);
            size_t len = p->size + 16;
            TU_OK(msock_recv(to, buf, &len, 0));
            assert_int_equal(len, p->size);
            assert_true(tu_check(buf, len, seed));
            TU_OK(msock_send(to, buf, len, 0));
            recv_expect(from, p->size, seed);
        }
        free(buf);
    }
    expect_nothing_queued(k.lsock);
    expect_nothing_queued(k.dsock);
    link_close(&k);
}

static void test_push_pull_in_order(void **state)
{
    const tparam *p = param_of(state);
    peers k;
    link_open(&k, p->transport, msock_pull_open, msock_push_open);
    unsigned count = stream_count(p->size, 1000);
    sender_job job;
    sender_start(&job, k.dsock, 7, count, p->size);
    for (unsigned i = 0; i < count; i++)
        recv_expect(k.lsock, p->size, tu_seed(7, i));
    sender_finish(&job);
    expect_nothing_queued(k.lsock);
    link_close(&k);
}

/* Big and small messages interleaved: the reader switches between reading bodies straight
 * into their message (with the next prefix in the same call) and decoding from its buffer. */
static const size_t mixed_sizes[] = {70000, 0, 5, 40000, 65536, 1, 100000, 0, 32768, 32767, 8, 65544};
#define N_MIXED (sizeof mixed_sizes / sizeof mixed_sizes[0])

static void test_mixed_sizes_in_order(void **state)
{
    const tparam *p = param_of(state);
    peers k;
    link_open(&k, p->transport, msock_pull_open, msock_push_open);
    unsigned count = 12 * N_MIXED;
    sender_job job = {.sock = k.dsock, .sender = 3, .count = count, .size = 100000,
                      .sizes = mixed_sizes, .nsizes = N_MIXED};
    assert_int_equal(pthread_create(&job.thread, NULL, sender_main, &job), 0);
    for (unsigned i = 0; i < count; i++)
        recv_expect(k.lsock, mixed_sizes[i % N_MIXED], tu_seed(3, i));
    sender_finish(&job);
    expect_nothing_queued(k.lsock);
    link_close(&k);
}

/* Receives on one puller until the main thread says stop; records which messages arrived. */
typedef struct puller_job {
    msock_socket sock;
    size_t size;
    unsigned total; /* messages expected over all pullers */
    unsigned got;
    unsigned bad; /* wrong length or content */
    unsigned char *seen; /* per sequence number, shared; counts arrivals */
    pthread_mutex_t *mutex;
    unsigned *shared_got;
    int rc;
    pthread_t thread;
} puller_job;

static void *puller_main(void *arg)
{
    puller_job *job = arg;
    size_t cap = job->size + 16;
    uint8_t *buf = malloc(cap);
    int64_t deadline = tu_deadline_in(3 * TU_DEADLINE_MS);
    for (;;) {
        pthread_mutex_lock(job->mutex);
        bool done = *job->shared_got >= job->total;
        pthread_mutex_unlock(job->mutex);
        if (done || buf == NULL || tu_deadline_passed(deadline))
            break;
        size_t len = cap;
        int rc = msock_recv(job->sock, buf, &len, 0);
        if (rc == MSOCK_ETIMEDOUT)
            continue;
        if (rc != 0) {
            job->rc = rc;
            break;
        }
        uint32_t seed = 0;
        bool ok = len == job->size;
        unsigned seq = 0;
        if (ok && tu_payload_seed(buf, len, &seed)) {
            seq = seed & 0xffffffu;
            ok = seq < job->total && tu_check(buf, len, seed);
        }
        pthread_mutex_lock(job->mutex);
        job->got++;
        (*job->shared_got)++;
        if (!ok)
            job->bad++;
        else if (len >= 4)
            job->seen[seq]++;
        pthread_mutex_unlock(job->mutex);
    }
    free(buf);
    return NULL;
}

static void test_push_load_balances(void **state)
{
    const tparam *p = param_of(state);
    msock_socket push = open_socket(msock_push_open);
    msock_socket pulls[2] = {open_socket(msock_pull_open), open_socket(msock_pull_open)};
    tu_waiter *push_w = tu_waiter_attach(push);
    tu_waiter *pull_w[2] = {tu_waiter_attach(pulls[0]), tu_waiter_attach(pulls[1])};
    msock_listener l;
    char url[TU_URL_MAX];
    tu_listen_any(push, p->transport, &l, url, sizeof(url));
    for (int i = 0; i < 2; i++) {
        /* Short receive waits so the pullers notice the end of the run. */
        TU_OK(msock_socket_set_ms(pulls[i], MSOCK_OPT_RECV_TIMEOUT, 50));
        msock_dialer d;
        TU_OK(msock_dial(pulls[i], url, &d, 0));
        assert_true(tu_wait_added(pull_w[i], 1, TU_DEADLINE_MS));
    }
    assert_true(tu_wait_added(push_w, 2, TU_DEADLINE_MS));

    unsigned total = stream_count(p->size, 200);
    unsigned char *seen = calloc(total, 1);
    assert_non_null(seen);
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    unsigned shared_got = 0;
    puller_job jobs[2];
    for (int i = 0; i < 2; i++) {
        jobs[i] = (puller_job){.sock = pulls[i], .size = p->size, .total = total, .seen = seen,
                               .mutex = &mutex, .shared_got = &shared_got};
        assert_int_equal(pthread_create(&jobs[i].thread, NULL, puller_main, &jobs[i]), 0);
    }
    sender_job sender;
    sender_start(&sender, push, 0, total, p->size);
    sender_finish(&sender);
    for (int i = 0; i < 2; i++)
        assert_true(tu_thread_join(jobs[i].thread, 4 * TU_DEADLINE_MS));
    for (int i = 0; i < 2; i++) {
        TU_OK(jobs[i].rc);
        assert_int_equal(jobs[i].bad, 0);
        if (jobs[i].got == 0)
            fail_msg("puller %d got nothing: push did not balance (%u/%u)", i, jobs[0].got,
                     jobs[1].got);
    }
    assert_int_equal(jobs[0].got + jobs[1].got, total);
    if (p->size >= 4) {
        for (unsigned i = 0; i < total; i++)
            assert_int_equal(seen[i], 1);
    }
    expect_nothing_queued(pulls[0]);
    expect_nothing_queued(pulls[1]);
    free(seen);
    TU_OK(msock_close(pulls[0]));
    TU_OK(msock_close(pulls[1]));
    TU_OK(msock_close(push));
    tu_waiter_free(push_w);
    tu_waiter_free(pull_w[0]);
    tu_waiter_free(pull_w[1]);
}

static void test_two_pushers_one_puller(void **state)
{
    const tparam *p = param_of(state);
    msock_socket pull = open_socket(msock_pull_open);
    msock_socket pushes[2] = {open_socket(msock_push_open), open_socket(msock_push_open)};
    tu_waiter *pull_w = tu_waiter_attach(pull);
    msock_listener l;
    char url[TU_URL_MAX];
    tu_listen_any(pull, p->transport, &l, url, sizeof(url));
    for (int i = 0; i < 2; i++) {
        msock_dialer d;
        TU_OK(msock_dial(pushes[i], url, &d, 0));
    }
    assert_true(tu_wait_added(pull_w, 2, TU_DEADLINE_MS));

    unsigned count = stream_count(p->size, 300);
    sender_job senders[2];
    for (unsigned i = 0; i < 2; i++)
        sender_start(&senders[i], pushes[i], i + 1, count, p->size);

    /* Messages of one pipe come from one pusher, in that pusher's order. */
    uint32_t pipe_ids[2] = {0, 0};
    unsigned per_pipe[2] = {0, 0};
    int pipe_sender[2] = {-1, -1};
    for (unsigned n = 0; n < 2 * count; n++) {
        msock_msg *m = NULL;
        TU_OK(msock_recvmsg(pull, &m, 0));
        uint32_t id = msock_pipe_id(msock_msg_pipe(m));
        assert_int_not_equal(id, 0);
        int slot = id == pipe_ids[0] ? 0 : id == pipe_ids[1] ? 1 : -1;
        if (slot < 0) {
            slot = pipe_ids[0] == 0 ? 0 : pipe_ids[1] == 0 ? 1 : -1;
            if (slot < 0)
                fail_msg("message from a third pipe %u", id);
            pipe_ids[slot] = id;
        }
        assert_int_equal(msock_msg_len(m), p->size);
        uint32_t seed = 0;
        if (tu_payload_seed(msock_msg_body(m), p->size, &seed)) {
            int sender = (int)(seed >> 24);
            unsigned seq = seed & 0xffffffu;
            if (pipe_sender[slot] < 0)
                pipe_sender[slot] = sender;
            assert_int_equal(sender, pipe_sender[slot]);
            assert_int_equal(seq, per_pipe[slot]);
            assert_true(tu_check(msock_msg_body(m), p->size, seed));
        }
        per_pipe[slot]++;
        msock_msg_free(m);
    }
    sender_finish(&senders[0]);
    sender_finish(&senders[1]);
    assert_int_equal(per_pipe[0], count);
    assert_int_equal(per_pipe[1], count);
    if (p->size >= 4)
        assert_int_not_equal(pipe_sender[0], pipe_sender[1]);
    expect_nothing_queued(pull);
    TU_OK(msock_close(pushes[0]));
    TU_OK(msock_close(pushes[1]));
    TU_OK(msock_close(pull));
    tu_waiter_free(pull_w);
}

static void check_pipe_of(msock_msg *m, msock_socket owner, tu_waiter *owner_w, int proto,
                          int peer, const char *scheme)
{
    msock_pipe pipe = msock_msg_pipe(m);
    assert_int_not_equal(msock_pipe_id(pipe), 0);
    assert_int_equal(msock_pipe_id(pipe), msock_pipe_id(tu_waiter_last_added(owner_w)));
    int v = 0;
    TU_OK(msock_pipe_get_int(pipe, MSOCK_OPT_PEER, &v));
    assert_int_equal(v, peer);
    TU_OK(msock_pipe_get_int(pipe, MSOCK_OPT_PROTOCOL, &v));
    assert_int_equal(v, proto);
    msock_socket s;
    TU_OK(msock_pipe_socket(pipe, &s));
    assert_int_equal(msock_socket_id(s), msock_socket_id(owner));
    char url[TU_URL_MAX];
    size_t len = sizeof(url);
    TU_OK(msock_pipe_get_string(pipe, MSOCK_OPT_URL, url, &len));
    assert_true(strncmp(url, scheme, strlen(scheme)) == 0);
}

static const char *scheme_of(tu_transport t)
{
    return t == TU_INPROC ? "inproc://" : t == TU_IPC ? "ipc://" : "tcp://";
}

static void test_msg_pipe_reply(void **state)
{
    const tparam *p = param_of(state);
    peers k;
    link_open(&k, p->transport, msock_pair_open, msock_pair_open);
    send_seeded(k.dsock, p->size, tu_seed(1, 1));
    msock_msg *m = NULL;
    TU_OK(msock_recvmsg(k.lsock, &m, 0));
    assert_int_equal(msock_msg_len(m), p->size);
    assert_true(tu_check(msock_msg_body(m), p->size, tu_seed(1, 1)));
    check_pipe_of(m, k.lsock, k.lw, MSOCK_PROTO_PAIR0, MSOCK_PROTO_PAIR0, scheme_of(p->transport));

    msock_msg *reply = tu_msg_new(p->size, tu_seed(2, 2));
    msock_msg_set_pipe(reply, msock_msg_pipe(m));
    assert_int_equal(msock_pipe_id(msock_msg_pipe(reply)), msock_pipe_id(msock_msg_pipe(m)));
    TU_OK(msock_sendmsg(k.lsock, reply, 0));
    msock_msg_free(m);
    recv_expect(k.dsock, p->size, tu_seed(2, 2));
    link_close(&k);

    /* The origin pipe of a pulled message names the pusher's protocol as its peer. */
    link_open(&k, p->transport, msock_pull_open, msock_push_open);
    send_seeded(k.dsock, p->size, tu_seed(3, 3));
    TU_OK(msock_recvmsg(k.lsock, &m, 0));
    assert_true(tu_check(msock_msg_body(m), msock_msg_len(m), tu_seed(3, 3)));
    check_pipe_of(m, k.lsock, k.lw, MSOCK_PROTO_PULL, MSOCK_PROTO_PUSH, scheme_of(p->transport));
    msock_msg_free(m);
    link_close(&k);
}

/* ---- connection cases (per transport) ---- */

/* An address nobody listens on but that may be listened on later. For tcp this reserves a
 * port with a listener and closes it again. */
static void unused_url(tu_transport t, char *url, size_t len)
{
    if (t == TU_TCP4 || t == TU_TCP6) {
        msock_socket s;
        msock_listener l;
        TU_OK(msock_pull_open(&s));
        tu_listen_any(s, t, &l, url, len);
        TU_OK(msock_close(s));
        return;
    }
    tu_any_url(t, url, len);
}

static void test_dial_before_listen(void **state)
{
    const tparam *p = param_of(state);
    char url[TU_URL_MAX];
    unused_url(p->transport, url, sizeof(url));
    msock_socket pull = open_socket(msock_pull_open);
    msock_socket push = open_socket(msock_push_open);
    tu_waiter *pull_w = tu_waiter_attach(pull);
    msock_dialer d;
    TU_OK(msock_dial(pull, url, &d, MSOCK_FLAG_NONBLOCK));
    msock_listener l;
    TU_OK(msock_listen(push, url, &l, 0));
    assert_true(tu_wait_added(pull_w, 1, TU_DEADLINE_MS));
    send_seeded(push, 100, tu_seed(0, 42));
    recv_expect(pull, 100, tu_seed(0, 42));
    TU_OK(msock_close(push));
    TU_OK(msock_close(pull));
    tu_waiter_free(pull_w);
}

static void test_redial_after_listener_returns(void **state)
{
    const tparam *p = param_of(state);
    peers k;
    link_open(&k, p->transport, msock_pull_open, msock_push_open);
    TU_OK(msock_listener_close(k.l));
    assert_true(tu_wait_removed(k.dw, 1, TU_DEADLINE_MS));
    assert_true(tu_wait_removed(k.lw, 1, TU_DEADLINE_MS));
    msock_listener again;
    TU_OK(msock_listen(k.lsock, k.url, &again, 0));
    assert_true(tu_wait_added(k.dw, 2, TU_DEADLINE_MS));
    assert_true(tu_wait_added(k.lw, 2, TU_DEADLINE_MS));
    send_seeded(k.dsock, 64, tu_seed(0, 9));
    recv_expect(k.lsock, 64, tu_seed(0, 9));
    uint64_t reconnects = tu_stat(k.dsock, MSOCK_STAT_RECONNECTS);
    assert_true(reconnects >= 1);
    link_close(&k);
}

static void test_dial_refused(void **state)
{
    const tparam *p = param_of(state);
    char url[TU_URL_MAX];
    unused_url(p->transport, url, sizeof(url));
    msock_socket s = open_socket(msock_push_open);
    msock_dialer d;
    /* inproc follows nng: nobody listening on the name is a refused connection. */
    TU_EXPECT_RC(MSOCK_ECONNREFUSED, msock_dial(s, url, &d, 0));
    assert_true(tu_stat(s, MSOCK_STAT_DIALS_FAILED) >= 1);
    TU_OK(msock_close(s));
}

static void test_listen_twice(void **state)
{
    const tparam *p = param_of(state);
    msock_socket a = open_socket(msock_pull_open);
    msock_socket b = open_socket(msock_pull_open);
    msock_listener la, lb;
    char url[TU_URL_MAX];
    tu_listen_any(a, p->transport, &la, url, sizeof(url));
    TU_EXPECT_RC(MSOCK_EADDRINUSE, msock_listen(b, url, &lb, 0));
    TU_EXPECT_RC(MSOCK_EADDRINUSE, msock_listen(a, url, &lb, 0));
    /* The first listener still accepts. */
    tu_waiter *aw = tu_waiter_attach(a);
    msock_socket c = open_socket(msock_push_open);
    msock_dialer d;
    TU_OK(msock_dial(c, url, &d, 0));
    assert_true(tu_wait_added(aw, 1, TU_DEADLINE_MS));
    TU_OK(msock_close(c));
    TU_OK(msock_close(b));
    TU_OK(msock_close(a));
    tu_waiter_free(aw);
}

static void test_recv_timeout_and_nonblock(void **state)
{
    const tparam *p = param_of(state);
    peers k;
    link_open(&k, p->transport, msock_pull_open, msock_push_open);
    TU_OK(msock_socket_set_ms(k.lsock, MSOCK_OPT_RECV_TIMEOUT, 50));
    uint8_t buf[16];
    size_t len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_recv(k.lsock, buf, &len, 0));
    len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_EAGAIN, msock_recv(k.lsock, buf, &len, MSOCK_FLAG_NONBLOCK));
    msock_msg *m = NULL;
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_recvmsg(k.lsock, &m, 0));
    TU_EXPECT_RC(MSOCK_EAGAIN, msock_recvmsg(k.lsock, &m, MSOCK_FLAG_NONBLOCK));
    assert_null(m);
    /* The socket still works after the timeouts. */
    send_seeded(k.dsock, 5, tu_seed(0, 5));
    TU_OK(msock_socket_set_ms(k.lsock, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS));
    recv_expect(k.lsock, 5, tu_seed(0, 5));
    link_close(&k);
}

static void test_send_without_peer_times_out(void **state)
{
    const tparam *p = param_of(state);
    msock_socket push = open_socket(msock_push_open);
    msock_listener l;
    char url[TU_URL_MAX];
    tu_listen_any(push, p->transport, &l, url, sizeof(url));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_SEND_TIMEOUT, 50));
    const char text[] = "nobody";
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_send(push, text, sizeof(text), 0));
    TU_EXPECT_RC(MSOCK_EAGAIN, msock_send(push, text, sizeof(text), MSOCK_FLAG_NONBLOCK));
    msock_msg *m = tu_msg_new(8, 1);
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_sendmsg(push, m, 0));
    /* A failed sendmsg leaves the message with the caller. */
    assert_true(tu_check(msock_msg_body(m), msock_msg_len(m), 1));
    msock_msg_free(m);
    TU_OK(msock_close(push));
}

static void test_too_large_drops_pipe(void **state)
{
    const tparam *p = param_of(state);
    msock_socket pull = open_socket(msock_pull_open);
    TU_OK(msock_socket_set_size(pull, MSOCK_OPT_RECV_MAXSZ, 1000));
    tu_waiter *pull_w = tu_waiter_attach(pull);
    msock_listener l;
    char url[TU_URL_MAX];
    tu_listen_any(pull, p->transport, &l, url, sizeof(url));
    msock_socket offender = open_socket(msock_push_open);
    msock_socket good = open_socket(msock_push_open);
    msock_dialer d;
    TU_OK(msock_dial(offender, url, &d, 0));
    assert_true(tu_wait_added(pull_w, 1, TU_DEADLINE_MS));
    TU_OK(msock_dial(good, url, &d, 0));
    assert_true(tu_wait_added(pull_w, 2, TU_DEADLINE_MS));

    send_seeded(offender, 2000, tu_seed(1, 0));
    assert_true(tu_wait_removed(pull_w, 1, TU_DEADLINE_MS));
    assert_true(tu_stat_wait_at_least(pull, MSOCK_STAT_DROPS_TOO_LARGE, 1, TU_DEADLINE_MS));
    /* At the limit is still fine. */
    send_seeded(good, 1000, tu_seed(2, 0));
    recv_expect(pull, 1000, tu_seed(2, 0));
    send_seeded(good, 100, tu_seed(2, 1));
    recv_expect(pull, 100, tu_seed(2, 1));
    expect_nothing_queued(pull);
    TU_OK(msock_close(offender));
    TU_OK(msock_close(good));
    TU_OK(msock_close(pull));
    tu_waiter_free(pull_w);
}

static void test_pair_takes_one_pipe(void **state)
{
    const tparam *p = param_of(state);
    peers k;
    link_open(&k, p->transport, msock_pair_open, msock_pair_open);
    msock_socket third = open_socket(msock_pair_open);
    msock_dialer d;
    TU_OK(msock_dial(third, k.url, &d, MSOCK_FLAG_NONBLOCK));
    assert_true(tu_stat_wait_at_least(k.lsock, MSOCK_STAT_PIPES_REJECTED, 1, TU_DEADLINE_MS));
    assert_int_equal(tu_waiter_added(k.lw), 1);
    assert_int_equal(tu_waiter_removed(k.lw), 0);
    send_seeded(k.dsock, 10, tu_seed(0, 1));
    recv_expect(k.lsock, 10, tu_seed(0, 1));
    send_seeded(k.lsock, 10, tu_seed(0, 2));
    recv_expect(k.dsock, 10, tu_seed(0, 2));
    TU_OK(msock_close(third));
    link_close(&k);
}

/* ---- address cases (one transport each) ---- */

static void listen_port_zero(const char *any, const char *prefix, const char *dial_host)
{
    msock_socket pull = open_socket(msock_pull_open);
    msock_socket push = open_socket(msock_push_open);
    tu_waiter *w = tu_waiter_attach(pull);
    msock_listener l;
    TU_OK(msock_listen(pull, any, &l, 0));
    char bound[TU_URL_MAX];
    tu_listener_url(l, bound, sizeof(bound));
    if (strncmp(bound, prefix, strlen(prefix)) != 0)
        fail_msg("listening on %s reports %s, want the prefix %s", any, bound, prefix);
    int port = tu_url_port(bound);
    if (port <= 0)
        fail_msg("listening on %s reports %s, without a real port", any, bound);
    char url[TU_URL_MAX];
    snprintf(url, sizeof(url), "tcp://%s:%d", dial_host, port);
    msock_dialer d;
    TU_OK(msock_dial(push, url, &d, 0));
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));
    send_seeded(push, 3, tu_seed(0, 3));
    recv_expect(pull, 3, tu_seed(0, 3));
    /* A second port-0 listener gets a port of its own. */
    msock_listener l2;
    TU_OK(msock_listen(pull, any, &l2, 0));
    char bound2[TU_URL_MAX];
    tu_listener_url(l2, bound2, sizeof(bound2));
    assert_true(tu_url_port(bound2) > 0);
    assert_int_not_equal(tu_url_port(bound2), port);
    TU_OK(msock_close(push));
    TU_OK(msock_close(pull));
    tu_waiter_free(w);
}

static void test_tcp_port_zero_v4(void **state)
{
    (void)state;
    listen_port_zero("tcp://127.0.0.1:0", "tcp://127.0.0.1:", "127.0.0.1");
}

static void test_tcp_port_zero_wildcard(void **state)
{
    (void)state;
    listen_port_zero("tcp://*:0", "tcp://", "127.0.0.1");
}

static void test_tcp_port_zero_v6(void **state)
{
    (void)state;
    if (!tu_transport_available(TU_TCP6))
        skip();
    listen_port_zero("tcp://[::1]:0", "tcp://[::1]:", "[::1]");
}

/* Leaves a socket file with nobody behind it, as a crashed listener would. */
static void make_stale_socket_file(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    assert_true(strlen(path) < sizeof(sa.sun_path));
    strcpy(sa.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
}

static void test_ipc_stale_file_replaced(void **state)
{
    (void)state;
    char path[TU_URL_MAX], url[TU_URL_MAX + 8];
    tu_tmp_path(path, sizeof(path), "stale");
    make_stale_socket_file(path);
    snprintf(url, sizeof(url), "ipc://%s", path);

    /* Dialing the stale file is refused, as nobody listens. */
    msock_socket probe = open_socket(msock_push_open);
    msock_dialer d;
    TU_EXPECT_RC(MSOCK_ECONNREFUSED, msock_dial(probe, url, &d, 0));
    TU_OK(msock_close(probe));

    msock_socket pull = open_socket(msock_pull_open);
    msock_socket push = open_socket(msock_push_open);
    tu_waiter *w = tu_waiter_attach(pull);
    msock_listener l;
    TU_OK(msock_listen(pull, url, &l, 0));
    TU_OK(msock_dial(push, url, &d, 0));
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));
    send_seeded(push, 10, tu_seed(0, 10));
    recv_expect(pull, 10, tu_seed(0, 10));
    TU_OK(msock_close(push));
    TU_OK(msock_close(pull));
    tu_waiter_free(w);
}

static void test_ipc_live_file_kept(void **state)
{
    (void)state;
    msock_socket owner = open_socket(msock_pull_open);
    tu_waiter *w = tu_waiter_attach(owner);
    msock_listener l;
    char url[TU_URL_MAX];
    tu_listen_any(owner, TU_IPC, &l, url, sizeof(url));
    msock_socket intruder = open_socket(msock_pull_open);
    msock_listener l2;
    TU_EXPECT_RC(MSOCK_EADDRINUSE, msock_listen(intruder, url, &l2, 0));
    struct stat st;
    assert_int_equal(stat(url + strlen("ipc://"), &st), 0);
    /* The file still leads to the first listener. */
    msock_socket push = open_socket(msock_push_open);
    msock_dialer d;
    TU_OK(msock_dial(push, url, &d, 0));
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));
    send_seeded(push, 10, tu_seed(0, 11));
    recv_expect(owner, 10, tu_seed(0, 11));
    TU_OK(msock_close(intruder));
    TU_OK(msock_close(push));
    TU_OK(msock_close(owner));
    tu_waiter_free(w);
    /* Closing the listener takes its file away. */
    assert_int_equal(stat(url + strlen("ipc://"), &st), -1);
    assert_int_equal(errno, ENOENT);
}

/* ---- the table ---- */

typedef struct case_def {
    const char *name;
    CMUnitTestFunction fn;
    bool sized;
} case_def;

static const case_def cases[] = {
    {"pair_echo", test_pair_echo, true},
    {"push_pull_in_order", test_push_pull_in_order, true},
    {"push_load_balances", test_push_load_balances, true},
    {"two_pushers_one_puller", test_two_pushers_one_puller, true},
    {"msg_pipe_reply", test_msg_pipe_reply, true},
    {"dial_before_listen", test_dial_before_listen, false},
    {"redial_after_listener_returns", test_redial_after_listener_returns, false},
    {"dial_refused", test_dial_refused, false},
    {"listen_twice", test_listen_twice, false},
    {"recv_timeout_and_nonblock", test_recv_timeout_and_nonblock, false},
    {"send_without_peer_times_out", test_send_without_peer_times_out, false},
    {"too_large_drops_pipe", test_too_large_drops_pipe, false},
    {"pair_takes_one_pipe", test_pair_takes_one_pipe, false},
    {"mixed_sizes_in_order", test_mixed_sizes_in_order, false},
};

static const size_t sizes[] = {0, 1, 1024, MIB};
static const char *const size_names[] = {"0B", "1B", "1KiB", "1MiB"};

int main(void)
{
    tu_watchdog(900);
    enum { N_SIZES = sizeof(sizes) / sizeof(sizes[0]) };
    size_t max_tests = sizeof(cases) / sizeof(cases[0]) * TU_TRANSPORT_COUNT * N_SIZES + 8;
    struct CMUnitTest *tests = calloc(max_tests, sizeof(*tests));
    tparam *params = calloc(max_tests, sizeof(*params));
    assert_non_null(tests);
    assert_non_null(params);
    size_t n = 0;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (int t = 0; t < TU_TRANSPORT_COUNT; t++) {
            size_t n_sizes = cases[c].sized ? N_SIZES : 1;
            for (size_t z = 0; z < n_sizes; z++) {
                char *name = NULL;
                if (cases[c].sized)
                    assert_true(asprintf(&name, "%s/%s/%s", cases[c].name,
                                         tu_transport_name((tu_transport)t), size_names[z]) > 0);
                else
                    assert_true(asprintf(&name, "%s/%s", cases[c].name,
                                         tu_transport_name((tu_transport)t)) > 0);
                params[n] = (tparam){.transport = (tu_transport)t, .size = sizes[z]};
                tests[n] = (struct CMUnitTest){.name = name, .test_func = cases[c].fn,
                                               .initial_state = &params[n]};
                n++;
            }
        }
    }
    const struct CMUnitTest singles[] = {
        cmocka_unit_test(test_tcp_port_zero_v4),
        cmocka_unit_test(test_tcp_port_zero_wildcard),
        cmocka_unit_test(test_tcp_port_zero_v6),
        cmocka_unit_test(test_ipc_stale_file_replaced),
        cmocka_unit_test(test_ipc_live_file_kept),
    };
    size_t n_named = n;
    for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++)
        tests[n++] = singles[i];
    int failed = _cmocka_run_group_tests("transport", tests, n, NULL, NULL);
    for (size_t i = 0; i < n_named; i++)
        free((char *)tests[i].name);
    free(tests);
    free(params);
    /* A failed test may leave sockets open, and msock_fini waits for none. */
    if (failed == 0)
        msock_fini();
    return failed;
}
