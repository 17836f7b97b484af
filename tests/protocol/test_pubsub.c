/* test_pubsub.c: PUB/SUB filters, subscription changes, PUB never blocks, the slow subscriber. */
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
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "protoutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

/* A PUB and a SUB linked over t; the SUB has no subscription yet. */
static void open_pub_sub(pu_node *pub, pu_node *sub, tu_transport t)
{
    *pub = pu_node_open(msock_pub_open);
    *sub = pu_node_open(msock_sub_open);
    pu_link(pub, sub, t);
}

#define SEND_BIN(s, lit) pu_send((s), (lit), sizeof(lit) - 1)
#define RECV_BIN(s, lit) pu_recv_expect((s), (lit), sizeof(lit) - 1)

static void test_binary_topics(void **state)
{
    (void)state;
    pu_node pub, sub;
    open_pub_sub(&pub, &sub, TU_TCP4);
    msock_pipe sub_pipe = tu_waiter_last_added(sub.w);
    TU_OK(msock_sub_subscribe(sub.sock, "a\0b", 3));
    SEND_BIN(pub.sock, "a\0bX"); /* match */
    SEND_BIN(pub.sock, "a\0c");  /* differs after the NUL */
    SEND_BIN(pub.sock, "a");     /* shorter than the topic */
    SEND_BIN(pub.sock, "a\0b");  /* the topic itself */
    SEND_BIN(pub.sock, "");      /* empty */
    SEND_BIN(pub.sock, "\0a\0b"); /* contains it, but not as a prefix */
    SEND_BIN(pub.sock, "a\0b-end");
    RECV_BIN(sub.sock, "a\0bX");
    RECV_BIN(sub.sock, "a\0b");
    RECV_BIN(sub.sock, "a\0b-end");
    /* The pipe is ordered, so the filtered ones were all seen by now. */
    pu_expect_stat(sub.sock, MSOCK_STAT_DROPS_NO_SUB, 4);
    pu_expect_pipe_stat(sub_pipe, MSOCK_STAT_DROPS_NO_SUB, 4);
    pu_expect_stat(sub.sock, MSOCK_STAT_MSGS_RECV, 7);
    pu_expect_none(sub.sock, 0);
    pu_node_close(&sub);
    pu_node_close(&pub);
}

static void test_several_topics(void **state)
{
    (void)state;
    pu_node pub, sub;
    open_pub_sub(&pub, &sub, TU_INPROC);
    TU_OK(msock_sub_subscribe(sub.sock, "news", 4));
    TU_OK(msock_sub_subscribe(sub.sock, "weather", 7));
    TU_OK(msock_sub_subscribe(sub.sock, "\xff\x00", 2));
    SEND_BIN(pub.sock, "news:1");
    SEND_BIN(pub.sock, "sports:1");
    SEND_BIN(pub.sock, "weather:1");
    SEND_BIN(pub.sock, "\xff\x00x");
    SEND_BIN(pub.sock, "\xffx");
    SEND_BIN(pub.sock, "new");
    SEND_BIN(pub.sock, "newsflash");
    SEND_BIN(pub.sock, "news-end");
    RECV_BIN(sub.sock, "news:1");
    RECV_BIN(sub.sock, "weather:1");
    RECV_BIN(sub.sock, "\xff\x00x");
    RECV_BIN(sub.sock, "newsflash");
    RECV_BIN(sub.sock, "news-end");
    pu_expect_stat(sub.sock, MSOCK_STAT_DROPS_NO_SUB, 3);

    /* The empty topic takes everything, the empty message too. */
    TU_OK(msock_sub_subscribe(sub.sock, "", 0));
    SEND_BIN(pub.sock, "sports:2");
    SEND_BIN(pub.sock, "");
    SEND_BIN(pub.sock, "news:2");
    RECV_BIN(sub.sock, "sports:2");
    RECV_BIN(sub.sock, "");
    RECV_BIN(sub.sock, "news:2");
    TU_OK(msock_sub_unsubscribe(sub.sock, "", 0));
    TU_OK(msock_sub_unsubscribe(sub.sock, "weather", 7));
    SEND_BIN(pub.sock, "sports:3");
    SEND_BIN(pub.sock, "weather:3");
    SEND_BIN(pub.sock, "news:3");
    RECV_BIN(sub.sock, "news:3");
    pu_expect_stat(sub.sock, MSOCK_STAT_DROPS_NO_SUB, 5);

    /* Subscribing twice is harmless; one unsubscribe takes the topic away. */
    TU_OK(msock_sub_subscribe(sub.sock, "twice", 5));
    TU_OK(msock_sub_subscribe(sub.sock, "twice", 5));
    TU_OK(msock_sub_unsubscribe(sub.sock, "twice", 5));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_sub_unsubscribe(sub.sock, "twice", 5));
    SEND_BIN(pub.sock, "twice:1");
    SEND_BIN(pub.sock, "news:4");
    RECV_BIN(sub.sock, "news:4");
    pu_expect_stat(sub.sock, MSOCK_STAT_DROPS_NO_SUB, 6);
    pu_node_close(&sub);
    pu_node_close(&pub);
}

static void test_unsubscribe_unknown(void **state)
{
    (void)state;
    msock_socket sub;
    TU_OK(msock_sub_open(&sub));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_sub_unsubscribe(sub, "x", 1));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_sub_unsubscribe(sub, "", 0));
    TU_OK(msock_sub_subscribe(sub, "abc", 3));
    /* Only the exact topic is there, not its prefixes or extensions or look-alikes. */
    TU_EXPECT_RC(MSOCK_ENOENT, msock_sub_unsubscribe(sub, "ab", 2));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_sub_unsubscribe(sub, "abcd", 4));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_sub_unsubscribe(sub, "abc\0", 4));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_sub_unsubscribe(sub, "", 0));
    TU_OK(msock_sub_unsubscribe(sub, "abc", 3));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_sub_unsubscribe(sub, "abc", 3));
    TU_OK(msock_sub_subscribe(sub, "", 0));
    TU_OK(msock_sub_unsubscribe(sub, "", 0));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_sub_subscribe(sub, NULL, 3));
    TU_OK(msock_close(sub));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_sub_subscribe(sub, "x", 1));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_sub_unsubscribe(sub, "x", 1));
}

/* No subscription: messages arrive (and are counted) but none is delivered. A raw SUB on the
 * same PUB needs no subscription and gets them all. */
static void test_no_subscription(void **state)
{
    (void)state;
    pu_node pub = pu_node_open(msock_pub_open);
    pu_node sub = pu_node_open(msock_sub_open);
    pu_node raw_sub = pu_node_raw(MSOCK_PROTO_SUB);
    char url[TU_URL_MAX];
    pu_listen(&pub, TU_TCP4, url, sizeof(url));
    pu_dial_wait(&pub, &sub, url);
    msock_pipe sub_pipe = tu_waiter_last_added(sub.w);
    pu_dial_wait(&pub, &raw_sub, url);
    enum { COUNT = 10 };
    for (unsigned i = 0; i < COUNT; i++) {
        char text[16];
        snprintf(text, sizeof(text), "m%u", i);
        pu_send_str(pub.sock, text);
    }
    for (unsigned i = 0; i < COUNT; i++) {
        char text[16];
        snprintf(text, sizeof(text), "m%u", i);
        pu_recv_str(raw_sub.sock, text);
    }
    pu_expect_stat(sub.sock, MSOCK_STAT_DROPS_NO_SUB, COUNT);
    pu_expect_pipe_stat(sub_pipe, MSOCK_STAT_DROPS_NO_SUB, COUNT);
    pu_expect_stat(sub.sock, MSOCK_STAT_MSGS_RECV, COUNT);
    pu_expect_none(sub.sock, PU_QUIET_MS);
    assert_int_equal(tu_stat(raw_sub.sock, MSOCK_STAT_DROPS_NO_SUB), 0);
    pu_node_close(&raw_sub);
    pu_node_close(&sub);
    pu_node_close(&pub);
}

/* ---- subscriptions changing while messages flow ---- */

typedef struct publisher_job {
    msock_socket pub;
    atomic_uint published; /* messages whose send returned */
    atomic_bool stop;
    int rc;
    pthread_t thread;
} publisher_job;

#define FLOW_MAX 1000000u

/* Alternates topics 'A' and 'B'; the body is the topic byte and a 32-bit sequence number. */
static void *publisher_main(void *arg)
{
    publisher_job *job = arg;
    int64_t deadline = tu_deadline_in(3 * TU_DEADLINE_MS);
    for (unsigned i = 0; i < FLOW_MAX && !atomic_load(&job->stop); i++) {
        uint8_t body[5] = {(uint8_t)(i % 2 == 0 ? 'A' : 'B')};
        pu_put32(body + 1, i);
        job->rc = msock_send(job->pub, body, sizeof(body), 0);
        if (job->rc != 0 || tu_deadline_passed(deadline))
            break;
        atomic_store(&job->published, i + 1);
        if (i % 16 == 15)
            tu_sleep_ms(1); /* pacing: the subscriber should keep up, but need not */
    }
    return NULL;
}

typedef struct flow_msg {
    char topic;
    unsigned seq;
} flow_msg;

static flow_msg flow_recv(msock_socket s)
{
    uint8_t buf[16];
    size_t len = sizeof(buf);
    int rc = msock_recv(s, buf, &len, 0);
    if (rc != 0)
        fail_msg("recv while messages flow: %s", tu_errname(rc));
    assert_int_equal(len, 5);
    return (flow_msg){(char)buf[0], pu_get32(buf + 1)};
}

static void test_subscribe_while_flowing(void **state)
{
    (void)state;
    pu_node pub, sub;
    open_pub_sub(&pub, &sub, TU_TCP4);
    publisher_job job = {.pub = pub.sock};
    assert_int_equal(pthread_create(&job.thread, NULL, publisher_main, &job), 0);
    int64_t deadline = tu_deadline_in(2 * TU_DEADLINE_MS);
    while (atomic_load(&job.published) < 100 && !tu_deadline_passed(deadline))
        tu_sleep_ms(1);
    pu_expect_none(sub.sock, 50);

    TU_OK(msock_sub_subscribe(sub.sock, "A", 1));
    for (int i = 0; i < 50; i++) {
        flow_msg m = flow_recv(sub.sock);
        assert_int_equal(m.topic, 'A');
    }
    TU_OK(msock_sub_subscribe(sub.sock, "B", 1));
    unsigned after_b = atomic_load(&job.published);
    /* Some B published after the subscription arrives. */
    bool got_b = false;
    for (int i = 0; i < 100000 && !got_b; i++) {
        flow_msg m = flow_recv(sub.sock);
        assert_true(m.topic == 'A' || m.topic == 'B');
        got_b = m.topic == 'B' && m.seq > after_b;
    }
    assert_true(got_b);

    TU_OK(msock_sub_unsubscribe(sub.sock, "A", 1));
    /* A message numbered past this was sent after the unsubscribe returned. */
    unsigned after_unsub_a = atomic_load(&job.published);
    unsigned late_b = 0;
    for (int i = 0; i < 100000 && late_b < 200; i++) {
        flow_msg m = flow_recv(sub.sock);
        if (m.topic == 'A' && m.seq > after_unsub_a)
            fail_msg("A #%u delivered, sent after unsubscribing A (at #%u)", m.seq, after_unsub_a);
        if (m.topic == 'B' && m.seq > after_unsub_a)
            late_b++;
    }
    assert_int_equal(late_b, 200);

    TU_OK(msock_sub_unsubscribe(sub.sock, "B", 1));
    unsigned after_unsub_b = atomic_load(&job.published);
    /* Drain while the publisher goes on for a while: nothing newer may come. */
    int64_t drain_deadline = tu_deadline_in(2 * TU_DEADLINE_MS);
    bool quiet_long_enough = false;
    int64_t quiet_since = -1;
    while (!quiet_long_enough && !tu_deadline_passed(drain_deadline)) {
        uint8_t buf[16];
        size_t len = sizeof(buf);
        int rc = msock_recv(sub.sock, buf, &len, MSOCK_FLAG_NONBLOCK);
        if (rc == 0) {
            unsigned seq = pu_get32(buf + 1);
            if (seq > after_unsub_b)
                fail_msg("#%u delivered, sent after the last unsubscribe (at #%u)", seq,
                         after_unsub_b);
            quiet_since = -1;
            continue;
        }
        TU_EXPECT_RC(MSOCK_EAGAIN, rc);
        if (quiet_since < 0)
            quiet_since = tu_clock_ms();
        quiet_long_enough = atomic_load(&job.published) > after_unsub_b + 300 &&
                            tu_clock_ms() - quiet_since >= PU_QUIET_MS;
        tu_sleep_ms(2);
    }
    atomic_store(&job.stop, true);
    assert_true(tu_thread_join(job.thread, 4 * TU_DEADLINE_MS));
    TU_OK(job.rc);
    assert_true(quiet_long_enough);
    assert_true(tu_stat(sub.sock, MSOCK_STAT_DROPS_NO_SUB) > 0);
    pu_node_close(&sub);
    pu_node_close(&pub);
}

/* ---- PUB never blocks ---- */

static void test_pub_never_blocks(void **state)
{
    (void)state;
    uint8_t body[1024];
    tu_fill(body, sizeof(body), 1);
    /* No subscriber at all: every send succeeds, blocking or not. */
    pu_node pub = pu_node_open(msock_pub_open);
    for (unsigned i = 0; i < 2000; i++) {
        int rc = msock_send(pub.sock, body, sizeof(body), i % 2 ? MSOCK_FLAG_NONBLOCK : 0);
        if (rc != 0)
            fail_msg("send %u without subscribers: %s", i, tu_errname(rc));
    }

    /* A subscriber that never reads, with small queues on both sides. */
    TU_OK(msock_socket_set_int(pub.sock, MSOCK_OPT_SEND_QUEUE_MSGS, 16));
    TU_OK(msock_socket_set_ms(pub.sock, MSOCK_OPT_LINGER, 0));
    pu_node stuck = pu_node_open(msock_sub_open);
    TU_OK(msock_socket_set_int(stuck.sock, MSOCK_OPT_RECV_QUEUE_MSGS, 16));
    TU_OK(msock_sub_subscribe(stuck.sock, "", 0));
    pu_link(&pub, &stuck, TU_TCP4);
    msock_pipe stuck_pipe = tu_waiter_last_added(pub.w);
    /* Enough to fill the queues and the kernel's socket buffers many times over. */
    enum { COUNT = 40000 };
    for (unsigned i = 0; i < COUNT; i++) {
        tu_fill(body, sizeof(body), i);
        int rc = msock_send(pub.sock, body, sizeof(body), i % 2 ? MSOCK_FLAG_NONBLOCK : 0);
        if (rc != 0)
            fail_msg("send %u to a stuck subscriber: %s", i, tu_errname(rc));
    }
    assert_true(pu_pipe_stat_wait(stuck_pipe, MSOCK_STAT_DROPS_QUEUE_FULL, 1, TU_DEADLINE_MS));
    assert_true(tu_stat(pub.sock, MSOCK_STAT_DROPS_QUEUE_FULL) >= 1);
    /* Reading at last, the stuck subscriber gets the oldest messages in order (a full queue
     * drops the newest message, so the first one published is there), and exactly those its
     * pipe did not count as dropped. Whether the very last one got in depends on whether the
     * kernel opened its window once more (receive buffers grow), so it is not checked. */
    TU_OK(msock_socket_set_ms(stuck.sock, MSOCK_OPT_RECV_TIMEOUT, PU_QUIET_MS));
    unsigned got = 0;
    long last = -1;
    for (;;) {
        size_t len = sizeof(body);
        uint8_t buf[sizeof(body)];
        int rc = msock_recv(stuck.sock, buf, &len, 0);
        if (rc == MSOCK_ETIMEDOUT)
            break;
        TU_OK(rc);
        uint32_t seq = 0;
        assert_int_equal(len, sizeof(body));
        assert_true(tu_payload_seed(buf, len, &seq));
        assert_true(tu_check(buf, len, seq));
        if (got == 0 && seq != 0)
            fail_msg("the stuck subscriber starts at message %u, not at the first", seq);
        if ((long)seq <= last)
            fail_msg("message %u after message %ld: out of order", seq, last);
        last = seq;
        if (++got > COUNT)
            fail_msg("more messages than were published");
    }
    assert_true(last >= 0);
    uint64_t drops = pu_pipe_stat(stuck_pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
    assert_int_equal(got + drops, COUNT);
    pu_node_close(&stuck);
    pu_node_close(&pub);
}

/* ---- the slow subscriber ---- */

#define SLOW_MSG_SIZE 1024
#define SLOW_QUEUE_MSGS 1000
#define SLOW_QUEUE_BYTES PU_MIB
/* The publisher stays at most this many messages ahead of the reading subscriber: well under
 * both queue limits, so that this subscriber should lose nothing however slow the machine. */
#define SLOW_WINDOW 256u
#if defined(UNDER_TSAN)
#define SLOW_COUNT 100000u
#else
#define SLOW_COUNT 200000u
#endif

typedef struct reader_job {
    msock_socket sub;
    atomic_uint got;
    atomic_bool publishing_done;
    unsigned out_of_order;
    unsigned bad;
    int rc;
    pthread_t thread;
} reader_job;

static void *reader_main(void *arg)
{
    reader_job *job = arg;
    uint8_t buf[SLOW_MSG_SIZE + 64];
    long last = -1;
    int64_t deadline = tu_deadline_in(6 * TU_DEADLINE_MS);
    while (atomic_load(&job->got) < SLOW_COUNT && !tu_deadline_passed(deadline)) {
        size_t len = sizeof(buf);
        int rc = msock_recv(job->sub, buf, &len, 0);
        if (rc == MSOCK_ETIMEDOUT) {
            if (atomic_load(&job->publishing_done))
                break; /* quiet after the end: whatever is missing was dropped */
            continue;
        }
        if (rc != 0) {
            job->rc = rc;
            break;
        }
        uint32_t seq = 0;
        if (len != SLOW_MSG_SIZE || !tu_payload_seed(buf, len, &seq) || !tu_check(buf, len, seq))
            job->bad++;
        else if ((long)seq <= last)
            job->out_of_order++;
        else
            last = seq;
        atomic_fetch_add(&job->got, 1);
    }
    return NULL;
}

/* What the limits allow to be held at once, beyond the memory in use before publishing:
 * four queues (the PUB's two pipes, the two SUBs' receive queues), each at most
 * SLOW_QUEUE_BYTES of bodies plus a generous per-message overhead for SLOW_QUEUE_MSGS messages;
 * the stream buffers of four connections; and slack for the allocator's free lists. Keeping
 * all 200,000 messages of the stuck subscriber would need about 200 MiB. */
static size_t rss_allowance(void)
{
    size_t per_queue = SLOW_QUEUE_BYTES + (size_t)SLOW_QUEUE_MSGS * 512;
    size_t allowance = 4 * per_queue + 4 * PU_MIB + 16 * PU_MIB;
#if defined(UNDER_TSAN)
    allowance = allowance * 4 + 64 * PU_MIB; /* shadow memory of what is touched */
#endif
#if defined(UNDER_ASAN)
    allowance += 256 * PU_MIB + 64 * PU_MIB; /* the freed-memory quarantine and its shadow */
#endif
    return allowance;
}

static void short_pause(void)
{
    struct timespec ts = {0, 50 * 1000};
    nanosleep(&ts, NULL);
}

static void test_slow_subscriber(void **state)
{
    (void)state;
    pu_node pub = pu_node_open(msock_pub_open);
    TU_OK(msock_socket_set_int(pub.sock, MSOCK_OPT_SEND_QUEUE_MSGS, SLOW_QUEUE_MSGS));
    TU_OK(msock_socket_set_size(pub.sock, MSOCK_OPT_SEND_QUEUE_BYTES, SLOW_QUEUE_BYTES));
    TU_OK(msock_socket_set_ms(pub.sock, MSOCK_OPT_LINGER, 0));
    pu_node subs[2];
    for (int i = 0; i < 2; i++) {
        subs[i] = pu_node_open(msock_sub_open);
        TU_OK(msock_socket_set_int(subs[i].sock, MSOCK_OPT_RECV_QUEUE_MSGS, SLOW_QUEUE_MSGS));
        TU_OK(msock_socket_set_size(subs[i].sock, MSOCK_OPT_RECV_QUEUE_BYTES, SLOW_QUEUE_BYTES));
        TU_OK(msock_sub_subscribe(subs[i].sock, "", 0));
    }
    pu_node *stuck = &subs[0], *reading = &subs[1];
    TU_OK(msock_socket_set_ms(reading->sock, MSOCK_OPT_RECV_TIMEOUT, 500));
    char url[TU_URL_MAX];
    pu_listen(&pub, TU_TCP4, url, sizeof(url));
    pu_dial_wait(&pub, stuck, url);
    msock_pipe stuck_pipe = tu_waiter_last_added(pub.w);
    pu_dial_wait(&pub, reading, url);
    msock_pipe reading_pipe = tu_waiter_last_added(pub.w);
    assert_int_not_equal(msock_pipe_id(stuck_pipe), msock_pipe_id(reading_pipe));

    reader_job reader = {.sub = reading->sock};
    assert_int_equal(pthread_create(&reader.thread, NULL, reader_main, &reader), 0);
    size_t baseline = tu_rss_bytes();
    size_t peak = baseline;
    uint8_t body[SLOW_MSG_SIZE];
    int64_t deadline = tu_deadline_in(6 * TU_DEADLINE_MS);
    unsigned sent = 0;
    for (; sent < SLOW_COUNT && !tu_deadline_passed(deadline); sent++) {
        /* Wait for the reader, never for the stuck one; a message lost on the reader's pipe
         * counts as done so that a drop cannot stall the window. */
        unsigned spins = 0;
        while (sent - atomic_load(&reader.got) >= SLOW_WINDOW && !tu_deadline_passed(deadline)) {
            if (++spins % 2048 == 0 &&
                sent - atomic_load(&reader.got) -
                        pu_pipe_stat(reading_pipe, MSOCK_STAT_DROPS_QUEUE_FULL) < SLOW_WINDOW)
                break;
            short_pause();
        }
        tu_fill(body, sizeof(body), sent);
        int rc = msock_send(pub.sock, body, sizeof(body), 0);
        if (rc != 0)
            fail_msg("publish %u: %s", sent, tu_errname(rc));
        if (sent % 1000 == 0) {
            size_t rss = tu_rss_bytes();
            if (rss > peak)
                peak = rss;
        }
    }
    atomic_store(&reader.publishing_done, true);
    assert_true(tu_thread_join(reader.thread, 3 * TU_DEADLINE_MS));
    size_t rss = tu_rss_bytes();
    if (rss > peak)
        peak = rss;
    assert_int_equal(sent, SLOW_COUNT);
    TU_OK(reader.rc);
    assert_int_equal(reader.bad, 0);
    assert_int_equal(reader.out_of_order, 0);

    unsigned got = atomic_load(&reader.got);
    uint64_t reader_drops = pu_pipe_stat(reading_pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
    uint64_t stuck_drops = pu_pipe_stat(stuck_pipe, MSOCK_STAT_DROPS_QUEUE_FULL);
    printf("# slow subscriber: reader got %u of %u (%llu dropped on its pipe), stuck pipe "
           "dropped %llu, RSS %zu KiB -> peak %zu KiB (allowed +%zu KiB)\n",
           got, SLOW_COUNT, (unsigned long long)reader_drops, (unsigned long long)stuck_drops,
           baseline / 1024, peak / 1024, rss_allowance() / 1024);
    /* Every message reached the reader or was counted as dropped on its pipe. */
    assert_int_equal(got + reader_drops, SLOW_COUNT);
    if (got < SLOW_COUNT - SLOW_COUNT / 100)
        fail_msg("the reader got only %u of %u", got, SLOW_COUNT);
    assert_true(stuck_drops > 0);
    assert_int_equal(tu_stat(pub.sock, MSOCK_STAT_DROPS_QUEUE_FULL), stuck_drops + reader_drops);
    if (peak > baseline + rss_allowance())
        fail_msg("RSS grew from %zu KiB to %zu KiB, more than the %zu KiB the queue limits allow",
                 baseline / 1024, peak / 1024, rss_allowance() / 1024);
    pu_node_close(stuck);
    pu_node_close(reading);
    pu_node_close(&pub);
}

int main(void)
{
    tu_watchdog(600);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_topics),
        cmocka_unit_test(test_several_topics),
        cmocka_unit_test(test_unsubscribe_unknown),
        cmocka_unit_test(test_no_subscription),
        cmocka_unit_test(test_subscribe_while_flowing),
        cmocka_unit_test(test_pub_never_blocks),
        cmocka_unit_test(test_slow_subscriber),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed == 0)
        msock_fini();
    return failed;
}
