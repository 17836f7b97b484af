/* test_close_races.c: close under concurrent use (blocked callers get MSOCK_ECLOSED, open-to-close
 * loops, many threads on one socket with exact totals); meant for ASan and TSan runs too. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef int (*opener)(msock_socket *s);

/* ---- blocked callers ---- */

enum call_kind { CALL_RECV, CALL_RECVMSG, CALL_SEND, CALL_SENDMSG };

typedef struct blocked_call {
    msock_socket sock;
    int kind;
    atomic_int *started;
    int rc;
    pthread_t thread;
} blocked_call;

static void *blocked_call_main(void *arg)
{
    blocked_call *bc = arg;
    char buf[64] = "blocked";
    size_t len = sizeof(buf);
    msock_msg *m = NULL;
    atomic_fetch_add(bc->started, 1);
    switch (bc->kind) {
    case CALL_RECV:
        bc->rc = msock_recv(bc->sock, buf, &len, 0);
        break;
    case CALL_RECVMSG:
        bc->rc = msock_recvmsg(bc->sock, &m, 0);
        if (bc->rc == 0)
            msock_msg_free(m);
        break;
    case CALL_SEND:
        bc->rc = msock_send(bc->sock, buf, 8, 0);
        break;
    default:
        if (msock_msg_alloc(&m, 8) != 0) {
            bc->rc = MSOCK_ENOMEM;
            break;
        }
        bc->rc = msock_sendmsg(bc->sock, m, 0);
        if (bc->rc != 0)
            msock_msg_free(m);
        break;
    }
    return NULL;
}

static void start_blocked(blocked_call *calls, int n, msock_socket s, int kind, atomic_int *started)
{
    for (int i = 0; i < n; i++) {
        calls[i] = (blocked_call){.sock = s, .kind = kind, .started = started};
        assert_int_equal(pthread_create(&calls[i].thread, NULL, blocked_call_main, &calls[i]), 0);
    }
}

static void expect_all_closed(blocked_call *calls, int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        if (!tu_thread_join(calls[i].thread, TU_DEADLINE_MS))
            fail_msg("%s %d still blocked after close", what, i);
        if (calls[i].rc != MSOCK_ECLOSED)
            fail_msg("%s %d returned %s, want MSOCK_ECLOSED", what, i, tu_errname(calls[i].rc));
    }
}

static void wait_started(atomic_int *started, int n)
{
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    while (atomic_load(started) < n) {
        assert_false(tu_deadline_passed(deadline));
        tu_sleep_ms(1);
    }
    /* Not needed for correctness (a call after close also gets MSOCK_ECLOSED), but it makes
     * the interesting case, a caller really asleep in the library, the usual one. */
    tu_sleep_ms(30);
}

static void test_blocked_recv_wakes_on_close(void **state)
{
    (void)state;
    msock_socket pull;
    TU_OK(msock_pull_open(&pull));
    msock_listener l;
    char url[TU_URL_MAX];
    tu_listen_any(pull, TU_TCP4, &l, url, sizeof(url));
    /* A connected but silent peer, so the receivers wait on a live pipe. */
    msock_socket push;
    TU_OK(msock_push_open(&push));
    msock_dialer d;
    TU_OK(msock_dial(push, url, &d, 0));
    atomic_int started = 0;
    blocked_call recvs[4], recvmsgs[2];
    start_blocked(recvs, 4, pull, CALL_RECV, &started);
    start_blocked(recvmsgs, 2, pull, CALL_RECVMSG, &started);
    wait_started(&started, 6);
    TU_OK(msock_close(pull));
    expect_all_closed(recvs, 4, "recv");
    expect_all_closed(recvmsgs, 2, "recvmsg");
    TU_OK(msock_close(push));
}

static void test_blocked_send_wakes_on_close(void **state)
{
    (void)state;
    /* No peer at all: push waits for one. */
    msock_socket lonely;
    TU_OK(msock_push_open(&lonely));
    msock_listener l;
    char url[TU_URL_MAX];
    tu_listen_any(lonely, TU_INPROC, &l, url, sizeof(url));
    atomic_int started = 0;
    blocked_call sends[4], sendmsgs[2];
    start_blocked(sends, 4, lonely, CALL_SEND, &started);
    start_blocked(sendmsgs, 2, lonely, CALL_SENDMSG, &started);
    wait_started(&started, 6);
    TU_OK(msock_close(lonely));
    expect_all_closed(sends, 4, "send without peer");
    expect_all_closed(sendmsgs, 2, "sendmsg without peer");
}

static void blocked_on_full_queue(tu_transport t)
{
    /* A peer that never reads: the queues fill, then sends wait. */
    msock_socket push, pull;
    TU_OK(msock_push_open(&push));
    TU_OK(msock_pull_open(&pull));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_LINGER, 0));
    TU_OK(msock_socket_set_int(pull, MSOCK_OPT_RECV_QUEUE_MSGS, 4));
    TU_OK(msock_socket_set_int(push, MSOCK_OPT_SEND_QUEUE_MSGS, 4));
    tu_waiter *w = tu_waiter_attach(push);
    msock_listener l;
    char url[TU_URL_MAX];
    tu_listen_any(pull, t, &l, url, sizeof(url));
    msock_dialer d;
    TU_OK(msock_dial(push, url, &d, 0));
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));
    /* Fill until a send would wait; over tcp the kernel buffers take a lot first. */
    static uint8_t chunk[64 * 1024];
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    int rc;
    while ((rc = msock_send(push, chunk, sizeof(chunk), MSOCK_FLAG_NONBLOCK)) == 0) {
        if (tu_deadline_passed(deadline))
            fail_msg("the queues never filled");
    }
    TU_EXPECT_RC(MSOCK_EAGAIN, rc);
    /* Writes already on their way (a batch the reactor flushes, a reader filling its queue)
     * may still make room: the queues are stuck once a send waits out a timeout. */
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_SEND_TIMEOUT, 200));
    while ((rc = msock_send(push, chunk, sizeof(chunk), 0)) == 0) {
        if (tu_deadline_passed(deadline))
            fail_msg("the queues never stayed full");
    }
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, rc);
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_SEND_TIMEOUT, -1));
    atomic_int started = 0;
    blocked_call sends[3];
    start_blocked(sends, 3, push, CALL_SEND, &started);
    wait_started(&started, 3);
    TU_OK(msock_close(push));
    expect_all_closed(sends, 3, "send on a full queue");
    TU_OK(msock_close(pull));
    tu_waiter_free(w);
}

static void test_blocked_send_full_queue_inproc(void **state)
{
    (void)state;
    blocked_on_full_queue(TU_INPROC);
}

static void test_blocked_send_full_queue_tcp(void **state)
{
    (void)state;
    blocked_on_full_queue(TU_TCP4);
}

/* ---- open/listen/dial/send/close loops ---- */

#define LOOP_ROUNDS 200
#define LOOP_MSGS 5

typedef struct loop_receiver {
    msock_socket sock;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int got;
    int bad;
    int rc;
    pthread_t thread;
} loop_receiver;

static void *loop_receiver_main(void *arg)
{
    loop_receiver *r = arg;
    for (;;) {
        char buf[32];
        size_t len = sizeof(buf);
        int rc = msock_recv(r->sock, buf, &len, 0);
        pthread_mutex_lock(&r->mutex);
        if (rc != 0) {
            r->rc = rc;
            pthread_mutex_unlock(&r->mutex);
            break;
        }
        if (len != 8 || !tu_check(buf, len, tu_seed(0, (unsigned)r->got)))
            r->bad++;
        r->got++;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->mutex);
    }
    return NULL;
}

static bool loop_wait_got(loop_receiver *r, int n)
{
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    struct timespec ts = {.tv_sec = deadline / 1000, .tv_nsec = (long)(deadline % 1000) * 1000000};
    pthread_mutex_lock(&r->mutex);
    while (r->got < n && pthread_cond_timedwait(&r->cond, &r->mutex, &ts) == 0) {
    }
    bool ok = r->got >= n;
    pthread_mutex_unlock(&r->mutex);
    return ok;
}

static void open_send_close_loop(tu_transport t)
{
    if (!tu_transport_available(t))
        skip();
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    for (int round = 0; round < LOOP_ROUNDS; round++) {
        loop_receiver r = {.rc = 0};
        pthread_mutex_init(&r.mutex, NULL);
        pthread_cond_init(&r.cond, &attr);
        msock_socket push;
        TU_OK(msock_pull_open(&r.sock));
        TU_OK(msock_push_open(&push));
        TU_OK(msock_socket_set_ms(push, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS));
        /* Bounded: in the variants that close the puller first nothing can be flushed. */
        TU_OK(msock_socket_set_ms(push, MSOCK_OPT_LINGER, 200));
        msock_listener l;
        char url[TU_URL_MAX];
        tu_listen_any(r.sock, t, &l, url, sizeof(url));
        assert_int_equal(pthread_create(&r.thread, NULL, loop_receiver_main, &r), 0);
        msock_dialer d;
        TU_OK(msock_dial(push, url, &d, 0));
        for (unsigned i = 0; i < LOOP_MSGS; i++) {
            uint8_t buf[8];
            tu_fill(buf, sizeof(buf), tu_seed(0, i));
            TU_OK(msock_send(push, buf, sizeof(buf), 0));
        }
        int variant = round % 4;
        /* Variants 0 and 1 close after delivery, 2 and 3 while messages may be in flight. */
        if (variant < 2)
            assert_true(loop_wait_got(&r, LOOP_MSGS));
        if (variant % 2 == 0) {
            TU_OK(msock_close(push));
            TU_OK(msock_close(r.sock));
        } else {
            TU_OK(msock_close(r.sock));
            TU_OK(msock_close(push));
        }
        if (!tu_thread_join(r.thread, TU_DEADLINE_MS))
            fail_msg("round %d: receiver still blocked after close", round);
        if (r.rc != MSOCK_ECLOSED)
            fail_msg("round %d: receiver ended with %s", round, tu_errname(r.rc));
        assert_int_equal(r.bad, 0);
        assert_true(r.got <= LOOP_MSGS);
        if (variant < 2)
            assert_int_equal(r.got, LOOP_MSGS);
        pthread_cond_destroy(&r.cond);
        pthread_mutex_destroy(&r.mutex);
    }
    pthread_condattr_destroy(&attr);
}

static void test_loop_inproc(void **state)
{
    (void)state;
    open_send_close_loop(TU_INPROC);
}

static void test_loop_ipc(void **state)
{
    (void)state;
    open_send_close_loop(TU_IPC);
}

static void test_loop_tcp(void **state)
{
    (void)state;
    open_send_close_loop(TU_TCP4);
}

/* ---- many threads on one socket ---- */

#define CROWD_SENDERS 4
#define CROWD_RECEIVERS 4
#define CROWD_MSGS 500

/* What one side has received, by sender and sequence number. */
typedef struct tally {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    unsigned total;
    unsigned bad;
    unsigned char seen[CROWD_SENDERS][CROWD_MSGS];
} tally;

typedef struct crowd_thread {
    msock_socket sock;
    unsigned sender;
    tally *tally;
    int rc;
    pthread_t thread;
} crowd_thread;

static size_t crowd_size(unsigned seq)
{
    return 4 + (seq * 7) % 297;
}

static void *crowd_sender_main(void *arg)
{
    crowd_thread *ct = arg;
    uint8_t buf[320];
    for (unsigned i = 0; i < CROWD_MSGS; i++) {
        size_t size = crowd_size(i);
        tu_fill(buf, size, tu_seed(ct->sender, i));
        ct->rc = msock_send(ct->sock, buf, size, 0);
        if (ct->rc != 0)
            break;
    }
    return NULL;
}

static void *crowd_receiver_main(void *arg)
{
    crowd_thread *ct = arg;
    tally *t = ct->tally;
    for (;;) {
        msock_msg *m = NULL;
        int rc = msock_recvmsg(ct->sock, &m, 0);
        if (rc != 0) {
            ct->rc = rc;
            break;
        }
        uint32_t seed = 0;
        const void *body = msock_msg_body(m);
        size_t len = msock_msg_len(m);
        bool ok = tu_payload_seed(body, len, &seed) && tu_check(body, len, seed);
        unsigned sender = seed >> 24, seq = seed & 0xffffffu;
        ok = ok && sender < CROWD_SENDERS && seq < CROWD_MSGS && len == crowd_size(seq);
        msock_msg_free(m);
        pthread_mutex_lock(&t->mutex);
        if (ok)
            t->seen[sender][seq]++;
        else
            t->bad++;
        t->total++;
        pthread_cond_broadcast(&t->cond);
        pthread_mutex_unlock(&t->mutex);
    }
    return NULL;
}

static tally *tally_new(void)
{
    tally *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&t->mutex, NULL);
    return t;
}

static void tally_free(tally *t)
{
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mutex);
    free(t);
}

static bool tally_wait(tally *t, unsigned n, int64_t timeout_ms)
{
    int64_t deadline = tu_deadline_in(timeout_ms);
    struct timespec ts = {.tv_sec = deadline / 1000, .tv_nsec = (long)(deadline % 1000) * 1000000};
    pthread_mutex_lock(&t->mutex);
    while (t->total < n && pthread_cond_timedwait(&t->cond, &t->mutex, &ts) == 0) {
    }
    bool ok = t->total >= n;
    pthread_mutex_unlock(&t->mutex);
    return ok;
}

static void tally_expect_exact(tally *t, const char *side)
{
    pthread_mutex_lock(&t->mutex);
    unsigned total = t->total, bad = t->bad;
    unsigned missing = 0, doubled = 0;
    for (unsigned s = 0; s < CROWD_SENDERS; s++) {
        for (unsigned i = 0; i < CROWD_MSGS; i++) {
            missing += t->seen[s][i] == 0;
            doubled += t->seen[s][i] > 1;
        }
    }
    pthread_mutex_unlock(&t->mutex);
    if (total != CROWD_SENDERS * CROWD_MSGS || bad || missing || doubled)
        fail_msg("%s: %u received (want %u), %u bad, %u missing, %u twice", side, total,
                 CROWD_SENDERS * CROWD_MSGS, bad, missing, doubled);
}

/* One side of the crowd: senders and receivers sharing one socket. */
typedef struct crowd_side {
    msock_socket sock;
    tally *tally;
    crowd_thread senders[CROWD_SENDERS];
    crowd_thread receivers[CROWD_RECEIVERS];
} crowd_side;

static void crowd_start(crowd_side *side, bool sends, bool receives)
{
    for (unsigned i = 0; sends && i < CROWD_SENDERS; i++) {
        side->senders[i] = (crowd_thread){.sock = side->sock, .sender = i};
        crowd_thread *ct = &side->senders[i];
        assert_int_equal(pthread_create(&ct->thread, NULL, crowd_sender_main, ct), 0);
    }
    for (unsigned i = 0; receives && i < CROWD_RECEIVERS; i++) {
        side->receivers[i] = (crowd_thread){.sock = side->sock, .tally = side->tally};
        assert_int_equal(pthread_create(&side->receivers[i].thread, NULL, crowd_receiver_main,
                                        &side->receivers[i]),
                         0);
    }
}

static void crowd_join_senders(crowd_side *side)
{
    for (unsigned i = 0; i < CROWD_SENDERS; i++) {
        assert_true(tu_thread_join(side->senders[i].thread, 3 * TU_DEADLINE_MS));
        TU_OK(side->senders[i].rc);
    }
}

/* Called after the side's socket is closed: every receiver must end with MSOCK_ECLOSED. */
static void crowd_join_receivers(crowd_side *side)
{
    for (unsigned i = 0; i < CROWD_RECEIVERS; i++) {
        assert_true(tu_thread_join(side->receivers[i].thread, TU_DEADLINE_MS));
        TU_EXPECT_RC(MSOCK_ECLOSED, side->receivers[i].rc);
    }
}

/* Returns the dialer side's waiter, to be freed only after both sockets are closed. */
static tu_waiter *crowd_connect(msock_socket listener_sock, msock_socket dialer_sock,
                                tu_transport t)
{
    tu_waiter *w = tu_waiter_attach(dialer_sock);
    msock_listener l;
    char url[TU_URL_MAX];
    tu_listen_any(listener_sock, t, &l, url, sizeof(url));
    msock_dialer d;
    TU_OK(msock_dial(dialer_sock, url, &d, 0));
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));
    return w;
}

static void crowd_pair(tu_transport t)
{
    crowd_side a = {.tally = tally_new()}, b = {.tally = tally_new()};
    TU_OK(msock_pair_open(&a.sock));
    TU_OK(msock_pair_open(&b.sock));
    tu_waiter *w = crowd_connect(a.sock, b.sock, t);
    crowd_start(&a, true, true);
    crowd_start(&b, true, true);
    crowd_join_senders(&a);
    crowd_join_senders(&b);
    unsigned want = CROWD_SENDERS * CROWD_MSGS;
    assert_true(tally_wait(a.tally, want, 3 * TU_DEADLINE_MS));
    assert_true(tally_wait(b.tally, want, 3 * TU_DEADLINE_MS));
    TU_OK(msock_close(a.sock));
    TU_OK(msock_close(b.sock));
    crowd_join_receivers(&a);
    crowd_join_receivers(&b);
    tally_expect_exact(a.tally, "pair a");
    tally_expect_exact(b.tally, "pair b");
    tally_free(a.tally);
    tally_free(b.tally);
    tu_waiter_free(w);
}

static void crowd_pipeline(tu_transport t)
{
    crowd_side tx = {.tally = NULL}, rx = {.tally = tally_new()};
    TU_OK(msock_push_open(&tx.sock));
    TU_OK(msock_pull_open(&rx.sock));
    tu_waiter *w = crowd_connect(rx.sock, tx.sock, t);
    crowd_start(&rx, false, true);
    crowd_start(&tx, true, false);
    crowd_join_senders(&tx);
    assert_true(tally_wait(rx.tally, CROWD_SENDERS * CROWD_MSGS, 3 * TU_DEADLINE_MS));
    TU_OK(msock_close(tx.sock));
    TU_OK(msock_close(rx.sock));
    crowd_join_receivers(&rx);
    tally_expect_exact(rx.tally, "pull");
    tally_free(rx.tally);
    tu_waiter_free(w);
}

static void test_crowd_pair_inproc(void **state)
{
    (void)state;
    crowd_pair(TU_INPROC);
}

static void test_crowd_pair_tcp(void **state)
{
    (void)state;
    crowd_pair(TU_TCP4);
}

static void test_crowd_pipeline_inproc(void **state)
{
    (void)state;
    crowd_pipeline(TU_INPROC);
}

static void test_crowd_pipeline_ipc(void **state)
{
    (void)state;
    crowd_pipeline(TU_IPC);
}

int main(void)
{
    tu_watchdog(1200);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocked_recv_wakes_on_close),
        cmocka_unit_test(test_blocked_send_wakes_on_close),
        cmocka_unit_test(test_blocked_send_full_queue_inproc),
        cmocka_unit_test(test_blocked_send_full_queue_tcp),
        cmocka_unit_test(test_loop_inproc),
        cmocka_unit_test(test_loop_ipc),
        cmocka_unit_test(test_loop_tcp),
        cmocka_unit_test(test_crowd_pair_inproc),
        cmocka_unit_test(test_crowd_pair_tcp),
        cmocka_unit_test(test_crowd_pipeline_inproc),
        cmocka_unit_test(test_crowd_pipeline_ipc),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed == 0)
        msock_fini();
    return failed;
}
