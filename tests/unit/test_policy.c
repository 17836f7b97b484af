/* test_policy.c: unit tests of the sender and receiver policies on fake pipes: round robin,
 * skipping full pipes, timeouts, fan-out sharing one body, directed sends, the bounded receive
 * queue pausing and resuming pipes, and close waking blocked callers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <pthread.h>

#include "testutil.h"
#include "core/clock.h"
#include "core/msg.h"
#include "socket/endpoint.h"
#include "socket/pipe.h"
#include "socket/receiver.h"
#include "socket/sender.h"
#include "socket/socket.h"

#define FAKE_CAP 4

/* A fake connection: keeps what it is sent, up to FAKE_CAP messages. */
typedef struct fake_conn {
    msock_msg *sent[64];
    int nsent, cap;
    int resumes;
    bool freed;
    ms_pipe *pipe;
} fake_conn;

static int fake_send(void *tp, msock_msg *m)
{
    fake_conn *c = tp;
    if (c->nsent >= c->cap)
        return MSOCK_EAGAIN;
    c->sent[c->nsent++] = m;
    return 0;
}

static void fake_resume(void *tp)
{
    ((fake_conn *)tp)->resumes++;
}

static size_t fake_queued(void *tp)
{
    (void)tp;
    return 0;
}

static void fake_close(void *tp)
{
    fake_conn *c = tp;
    ms_pipe_gone(c->pipe, 0);
    ms_pipe_release(c->pipe);
}

static void fake_free(void *tp)
{
    ((fake_conn *)tp)->freed = true;
}

static const ms_pipe_ops fake_ops = {
    .send = fake_send, .recv_resume = fake_resume, .queued = fake_queued, .close = fake_close, .free = fake_free};

static const ms_protocol proto_one = {.self = 0x7f0, .peer = 0x7f0, .name = "one", .peer_name = "one",
                                      .send_policy = MS_SEND_ONE, .recv_policy = MS_RECV_ALL};
static const ms_protocol proto_all = {.self = 0x7f0, .peer = 0x7f0, .name = "all", .peer_name = "all",
                                      .send_policy = MS_SEND_ALL, .recv_policy = MS_RECV_NONE};

typedef struct fixture {
    ms_socket *sock;
    ms_endpoint *ep;
    fake_conn conns[3];
} fixture;

static void fixture_open(fixture *f, const ms_protocol *p, int npipes)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(ms_socket_create(&f->sock, p), 0);
    /* A bare endpoint: the pipes only need its socket and a reference count. */
    f->ep = calloc(1, sizeof *f->ep);
    assert_non_null(f->ep);
    f->ep->sock = f->sock;
    atomic_init(&f->ep->refs, 1);
    pthread_mutex_init(&f->ep->mtx, NULL);
    ms_cond_init(&f->ep->cv);
    ms_socket_hold(f->sock);
    for (int i = 0; i < npipes; i++) {
        f->conns[i].cap = FAKE_CAP;
        assert_int_equal(ms_pipe_attach(f->ep, &fake_ops, &f->conns[i], p->peer, "fake://", &f->conns[i].pipe), 0);
    }
}

static void fixture_close(fixture *f)
{
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < f->conns[i].nsent; k++)
            ms_msg_free(f->conns[i].sent[k]);
    assert_int_equal(ms_socket_close(f->sock), 0);
    for (int i = 0; i < 3; i++)
        if (f->conns[i].pipe)
            assert_true(f->conns[i].freed);
    ms_endpoint_release(f->ep);
}

static msock_msg *make_msg(int tag)
{
    msock_msg *m;
    assert_int_equal(ms_msg_alloc(&m, sizeof tag), 0);
    memcpy(m->body, &tag, sizeof tag);
    return m;
}

static int msg_tag(msock_msg *m)
{
    int tag;
    memcpy(&tag, m->body, sizeof tag);
    return tag;
}

static void test_send_one_round_robin(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, &proto_one, 3);
    for (int i = 0; i < 9; i++)
        assert_int_equal(ms_socket_send(f.sock, make_msg(i), 0), 0);
    /* Each pipe got every third message, in order. */
    int seen[3] = {0};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f.conns[i].nsent, 3);
        for (int k = 0; k < 3; k++)
            seen[i] += msg_tag(f.conns[i].sent[k]) % 3 == msg_tag(f.conns[i].sent[0]) % 3;
        assert_true(msg_tag(f.conns[i].sent[0]) < msg_tag(f.conns[i].sent[1]));
    }
    assert_int_equal(seen[0] + seen[1] + seen[2], 9);
    fixture_close(&f);
}

static void test_send_one_skips_full_and_waits(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, &proto_one, 2);
    f.conns[0].cap = 0; /* always full */
    for (int i = 0; i < FAKE_CAP; i++)
        assert_int_equal(ms_socket_send(f.sock, make_msg(i), 0), 0);
    assert_int_equal(f.conns[1].nsent, FAKE_CAP);
    /* Both full now: non-blocking says EAGAIN, a deadline says ETIMEDOUT; the caller keeps m. */
    msock_msg *m = make_msg(99);
    assert_int_equal(ms_socket_send(f.sock, m, MSOCK_FLAG_NONBLOCK), MSOCK_EAGAIN);
    assert_int_equal(ms_sender_send(f.sock, m, ms_clock_ms() + 50, false, NULL), MSOCK_ETIMEDOUT);
    /* Room again on pipe 0: its ready signal lets the send through. */
    f.conns[0].cap = FAKE_CAP;
    ms_pipe_send_ready(f.conns[0].pipe);
    assert_int_equal(ms_socket_send(f.sock, m, MSOCK_FLAG_NONBLOCK), 0);
    assert_int_equal(f.conns[0].nsent, 1);
    assert_int_equal(msg_tag(f.conns[0].sent[0]), 99);
    fixture_close(&f);
}

static void test_send_to_named_pipe(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, &proto_one, 3);
    for (int i = 0; i < 3; i++) {
        msock_msg *m = make_msg(i);
        m->pipe_id = f.conns[2].pipe->id;
        assert_int_equal(ms_socket_send(f.sock, m, 0), 0);
    }
    assert_int_equal(f.conns[2].nsent, 3);
    assert_int_equal(f.conns[0].nsent + f.conns[1].nsent, 0);
    msock_msg *m = make_msg(7);
    m->pipe_id = 0x7fffffff; /* nobody */
    assert_int_equal(ms_socket_send(f.sock, m, 0), MSOCK_ENOENT);
    ms_msg_free(m);
    fixture_close(&f);
}

static void test_send_all_shares_body(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, &proto_all, 3);
    f.conns[1].cap = 0; /* a slow peer misses it; "all" never blocks */
    assert_int_equal(ms_socket_send(f.sock, make_msg(5), 0), 0);
    assert_int_equal(f.conns[0].nsent, 1);
    assert_int_equal(f.conns[1].nsent, 0);
    assert_int_equal(f.conns[2].nsent, 1);
    assert_ptr_equal(f.conns[0].sent[0]->chunk, f.conns[2].sent[0]->chunk);
    assert_int_equal(msg_tag(f.conns[2].sent[0]), 5);
    fixture_close(&f);
}

/* Delivers one message the way inproc does: taken only if it fits. */
static int deliver_one(ms_pipe *p, msock_msg *m)
{
    msock_msg *chain = m;
    return ms_pipe_deliver(p, &chain, false);
}

static void test_receiver_queue_pauses_and_resumes(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, &proto_one, 2);
    ms_optval v = {.type = MS_OPT_INT, .v.i = 2};
    assert_int_equal(ms_socket_set(f.sock, MSOCK_OPT_RECV_QUEUE_MSGS, &v), 0);
    assert_int_equal(deliver_one(f.conns[0].pipe, make_msg(1)), 0);
    assert_int_equal(deliver_one(f.conns[1].pipe, make_msg(2)), 0);
    msock_msg *third = make_msg(3);
    assert_int_equal(deliver_one(f.conns[1].pipe, third), MSOCK_EAGAIN);
    assert_int_equal(f.conns[1].resumes, 0);
    msock_msg *m;
    assert_int_equal(ms_socket_recv(f.sock, &m, 0), 0);
    assert_int_equal(msg_tag(m), 1);
    assert_int_equal(m->pipe_id, f.conns[0].pipe->id); /* stamped with its origin */
    ms_msg_free(m);
    /* The first receive took both queued messages as its batch; they count against the
     * limit until the batch is used up. */
    assert_int_equal(f.conns[1].resumes, 0);
    assert_int_equal(ms_socket_recv(f.sock, &m, 0), 0);
    assert_int_equal(msg_tag(m), 2);
    assert_int_equal(m->pipe_id, f.conns[1].pipe->id);
    ms_msg_free(m);
    assert_int_equal(f.conns[1].resumes, 1); /* room again: the paused pipe was told */
    assert_int_equal(deliver_one(f.conns[1].pipe, third), 0);
    assert_int_equal(ms_socket_recv(f.sock, &m, 0), 0);
    assert_int_equal(msg_tag(m), 3);
    ms_msg_free(m);
    assert_int_equal(ms_socket_recv(f.sock, &m, MSOCK_FLAG_NONBLOCK), MSOCK_EAGAIN);
    fixture_close(&f);
}

/* A stream hands a whole decoded chain over: all of it is taken, in order, and a full queue
 * pauses the pipe until a receive makes room. */
static void test_receiver_batch_takes_all_then_pauses(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, &proto_one, 1);
    ms_optval v = {.type = MS_OPT_INT, .v.i = 3};
    assert_int_equal(ms_socket_set(f.sock, MSOCK_OPT_RECV_QUEUE_MSGS, &v), 0);
    msock_msg *chain = NULL, **tail = &chain;
    for (int i = 0; i < 5; i++) {
        msock_msg *m = make_msg(i);
        *tail = m;
        tail = &m->next;
    }
    assert_int_equal(ms_pipe_deliver(f.conns[0].pipe, &chain, true), MSOCK_EAGAIN);
    assert_null(chain);
    uint64_t n = 0;
    assert_int_equal(msock_stat_get((msock_socket){f.sock->id}, MSOCK_STAT_MSGS_RECV, &n), 0);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++) {
        msock_msg *m;
        assert_int_equal(ms_socket_recv(f.sock, &m, MSOCK_FLAG_NONBLOCK), 0);
        assert_int_equal(msg_tag(m), i);
        ms_msg_free(m);
        /* Resumed once the queue is down to half its limit, not at the first free slot, so a
         * full queue does not wake the pipe for every receive; the batch the first receive
         * took counts until it is used up. */
        assert_int_equal(f.conns[0].resumes, i >= 4 ? 1 : 0);
    }
    fixture_close(&f);
}

static void test_receiver_none_drops(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, &proto_all, 1);
    assert_int_equal(deliver_one(f.conns[0].pipe, make_msg(1)), 0);
    msock_msg *m;
    assert_int_equal(ms_socket_recv(f.sock, &m, 0), MSOCK_ENOTSUP);
    fixture_close(&f);
}

static void *close_later(void *arg)
{
    ms_socket *s = arg;
    tu_sleep_ms(50); /* lets the main thread block first; the assertions hold either way */
    ms_socket_close(s);
    return NULL;
}

static void test_close_wakes_blocked_recv_and_send(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, &proto_one, 1);
    f.conns[0].cap = 0;
    ms_socket_hold(f.sock);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, close_later, f.sock), 0);
    msock_msg *m;
    assert_int_equal(ms_socket_recv(f.sock, &m, 0), MSOCK_ECLOSED);
    pthread_join(t, NULL);
    m = make_msg(1);
    assert_int_equal(ms_socket_send(f.sock, m, 0), MSOCK_ECLOSED);
    ms_msg_free(m);
    assert_true(f.conns[0].freed);
    assert_int_equal(ms_socket_close(f.sock), MSOCK_ECLOSED);
    ms_socket_release(f.sock);
    ms_endpoint_release(f.ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_one_round_robin),
        cmocka_unit_test(test_send_one_skips_full_and_waits),
        cmocka_unit_test(test_send_to_named_pipe),
        cmocka_unit_test(test_send_all_shares_body),
        cmocka_unit_test(test_receiver_queue_pauses_and_resumes),
        cmocka_unit_test(test_receiver_batch_takes_all_then_pauses),
        cmocka_unit_test(test_receiver_none_drops),
        cmocka_unit_test(test_close_wakes_blocked_recv_and_send),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    msock_fini();
    return rv;
}
