/* test_group_scale.c: the group pattern at size: 1000 members in one group on one hub (one
 * broadcast reaches each once, all of them funnel to the master), members on every transport in
 * one group, and several threads calling on one client socket at once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "protoutil.h"

#define MEMBERS 1000
/* Descriptors the tcp case needs: both ends of every connection and some to spare. */
#define TCP_FDS_NEEDED (2 * (MEMBERS + 1) + 100)
#define BROADCAST_LEN 1024

/* Receives from s, skipping events, until a data or relayed message comes; checks it. Events
 * are the joins of the members after this one: up to MEMBERS of them. */
static void expect_after_events(msock_socket s, int kind, uint32_t group, uint64_t from,
                                const void *body, size_t len)
{
    uint8_t *buf = malloc(len + 64);
    assert_non_null(buf);
    for (int skipped = 0;; skipped++) {
        msock_group_rx rx;
        size_t got = len + 64;
        int rc = msock_group_recv(s, &rx, buf, &got, 0);
        if (rc != 0)
            fail_msg("waiting for %s (after %d events): %s", pu_group_kind_name(kind), skipped,
                     tu_errname(rc));
        if (rx.kind >= MSOCK_GROUP_EV_JOINED) {
            if (rx.kind != MSOCK_GROUP_EV_JOINED || skipped > MEMBERS)
                fail_msg("unexpected %s from %llu", pu_group_kind_name(rx.kind),
                         (unsigned long long)rx.from);
            continue;
        }
        if (rx.kind != kind || rx.group != group || rx.from != from || got != len ||
            memcmp(buf, body, len) != 0)
            fail_msg("got %s group %u from %llu, %zu bytes; want %s group %u from %llu, %zu "
                     "bytes",
                     pu_group_kind_name(rx.kind), (unsigned)rx.group,
                     (unsigned long long)rx.from, got, pu_group_kind_name(kind), (unsigned)group,
                     (unsigned long long)from, len);
        break;
    }
    free(buf);
}

/* The index of id in ids[0..n), or -1. */
static long index_of(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return (long)i;
    return -1;
}

/* 1000 members in one group: one broadcast reaches each exactly once, every member's message
 * reaches the master, a relay reaches 255 of them. */
static void test_thousand_members(void **state)
{
    (void)state;
    size_t limit = tu_raise_fd_limit(TCP_FDS_NEEDED);
    tu_transport t = TU_TCP4;
    if (limit < TCP_FDS_NEEDED) {
        t = TU_INPROC;
        print_message("descriptor limit %llu is below the %d that %d tcp members need: members "
                      "use inproc\n",
                      (unsigned long long)limit, TCP_FDS_NEEDED, MEMBERS);
    }
    pu_node hub = pu_hub_open();
    /* The master, the members and one more who finds the group full. */
    TU_OK(msock_socket_set_int(hub.sock, MSOCK_OPT_GROUP_MAX_CLIENTS, MEMBERS + 2));
    char url[TU_URL_MAX];
    pu_listen(&hub, t, url, sizeof(url));
    msock_socket master = pu_group_client(url);
    pu_group_create(master, "crowd", MEMBERS);
    uint32_t g = pu_group_join(master, "crowd", MSOCK_GROUP_MASTER);
    uint64_t id_master = pu_group_whoami(master);

    msock_socket *members = calloc(MEMBERS, sizeof(*members));
    uint64_t *ids = calloc(MEMBERS, sizeof(*ids));
    bool *heard = calloc(MEMBERS, sizeof(*heard));
    assert_true(members != NULL && ids != NULL && heard != NULL);
    for (int i = 0; i < MEMBERS; i++) {
        members[i] = pu_group_client(url);
        ids[i] = pu_group_whoami(members[i]);
        assert_int_equal(pu_group_join(members[i], "crowd", MSOCK_GROUP_MEMBER), g);
    }
    /* The master heard each join, in order. */
    for (int i = 0; i < MEMBERS; i++)
        pu_group_expect_event(master, MSOCK_GROUP_EV_JOINED, g, ids[i]);
    msock_group_info info;
    size_t n = 1;
    TU_OK(msock_group_list(master, &info, &n));
    assert_int_equal(n, 1);
    assert_int_equal(info.members, MEMBERS);
    /* Full. */
    msock_socket late = pu_group_client(url);
    pu_group_whoami(late); /* in the hub, so the refusal below is the group's */
    TU_EXPECT_RC(MSOCK_ENOSPC, msock_group_join(late, "crowd", 5, PU_MEMBER_PW,
                                                strlen(PU_MEMBER_PW), MSOCK_GROUP_MEMBER, NULL));
    TU_OK(msock_close(late));

    /* One broadcast, then a marker: each member gets the broadcast once, then the marker. */
    uint8_t body[BROADCAST_LEN];
    tu_fill(body, sizeof(body), 1000);
    TU_OK(msock_group_send(master, g, 0, body, sizeof(body), 0));
    TU_OK(msock_group_send(master, g, 0, "end", 3, 0));
    for (int i = 0; i < MEMBERS; i++) {
        expect_after_events(members[i], MSOCK_GROUP_DATA, g, id_master, body, sizeof(body));
        pu_group_expect_data(members[i], g, id_master, "end");
    }
    uint64_t drops = tu_stat(hub.sock, MSOCK_STAT_DROPS_QUEUE_FULL);
    assert_int_equal(drops, 0);

    /* Every member to the master. */
    for (int i = 0; i < MEMBERS; i++) {
        char text[32];
        snprintf(text, sizeof(text), "member %d", i);
        pu_group_send_str(members[i], g, 0, text);
    }
    for (int k = 0; k < MEMBERS; k++) {
        msock_group_rx rx;
        char text[32];
        size_t len = sizeof(text) - 1;
        TU_OK(msock_group_recv(master, &rx, text, &len, 0));
        assert_int_equal(rx.kind, MSOCK_GROUP_DATA);
        assert_int_equal(rx.group, g);
        long i = index_of(ids, MEMBERS, rx.from);
        assert_true(i >= 0);
        assert_false(heard[i]);
        heard[i] = true;
        text[len < sizeof(text) ? len : sizeof(text) - 1] = '\0';
        char want[32];
        snprintf(want, sizeof(want), "member %ld", i);
        assert_string_equal(text, want);
    }

    /* A relay to 255 members. */
    TU_OK(msock_group_relay(master, ids, MSOCK_GROUP_RELAY_MAX, "relay", 5, NULL, NULL));
    for (int i = 0; i < MSOCK_GROUP_RELAY_MAX; i++)
        pu_group_expect_rx(members[i], MSOCK_GROUP_RELAYED, 0, id_master, 0, "relay", 5);
    for (int i = 0; i < MEMBERS; i++)
        pu_group_expect_none(members[i], 0);
    pu_group_expect_none(master, PU_QUIET_MS);

    for (int i = 0; i < MEMBERS; i++)
        TU_OK(msock_close(members[i]));
    TU_OK(msock_close(master));
    pu_node_close(&hub);
    free(members);
    free(ids);
    free(heard);
}

/* ---- every transport in one group ---- */

static const tu_transport mixed[] = {TU_TCP4, TU_INPROC, TU_IPC,
#ifdef MSOCK_TEST_WS
                                     TU_WS4,
#endif
};
enum { N_MIXED = sizeof(mixed) / sizeof(mixed[0]) };
#define PER_TRANSPORT 2

/* The master on each transport in turn, members on all of them: broadcast, by id, funnel. */
static void test_mixed_transports(void **state)
{
    (void)state;
#ifdef MSOCK_TEST_WS
    if (!tu_transport_available(TU_WS4))
        fail_msg("ws:// gives MSOCK_ENOTSUP, yet this test was built with MSOCK_TEST_WS");
#endif
    pu_node hub = pu_hub_open();
    char urls[N_MIXED][TU_URL_MAX];
    for (int k = 0; k < N_MIXED; k++)
        pu_listen(&hub, mixed[k], urls[k], sizeof(urls[k]));
    enum { N = N_MIXED * PER_TRANSPORT };
    msock_socket members[N];
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        members[i] = pu_group_client(urls[i % N_MIXED]);
        ids[i] = pu_group_whoami(members[i]);
    }
    for (int k = 0; k < N_MIXED; k++) {
        char name[32];
        snprintf(name, sizeof(name), "mixed %s", tu_transport_name(mixed[k]));
        msock_socket master = pu_group_client(urls[k]);
        uint64_t id_master = pu_group_whoami(master);
        pu_group_create(master, name, N);
        uint32_t g = pu_group_join(master, name, MSOCK_GROUP_MASTER);
        for (int i = 0; i < N; i++) {
            pu_group_join(members[i], name, MSOCK_GROUP_MEMBER);
            pu_group_expect_event(master, MSOCK_GROUP_EV_JOINED, g, ids[i]);
            for (int j = 0; j < i; j++)
                pu_group_expect_event(members[j], MSOCK_GROUP_EV_JOINED, g, ids[i]);
        }
        uint8_t big[64 * 1024];
        tu_fill(big, sizeof(big), (uint32_t)k);
        TU_OK(msock_group_send(master, g, 0, big, sizeof(big), 0));
        for (int i = 0; i < N; i++)
            pu_group_expect_rx(members[i], MSOCK_GROUP_DATA, g, id_master, 0, big, sizeof(big));
        for (int i = 0; i < N; i++) {
            char text[48];
            snprintf(text, sizeof(text), "to %d via %s", i, tu_transport_name(mixed[i % N_MIXED]));
            pu_group_send_str(master, g, ids[i], text);
            pu_group_expect_data(members[i], g, id_master, text);
            snprintf(text, sizeof(text), "from %d via %s", i,
                     tu_transport_name(mixed[i % N_MIXED]));
            pu_group_send_str(members[i], g, 0, text);
            pu_group_expect_data(master, g, ids[i], text);
        }
        /* A relay across transports. */
        TU_OK(msock_group_relay(members[0], ids, N, "across", 6, NULL, NULL));
        for (int i = 0; i < N; i++)
            pu_group_expect_rx(members[i], MSOCK_GROUP_RELAYED, 0, ids[0], 0, "across", 6);
        TU_OK(msock_group_delete(master, g));
        for (int i = 0; i < N; i++)
            pu_group_expect_event(members[i], MSOCK_GROUP_EV_DELETED, g, id_master);
        pu_group_expect_none(master, PU_QUIET_MS);
        TU_OK(msock_close(master));
    }
    for (int i = 0; i < N; i++) {
        pu_group_expect_none(members[i], 0);
        TU_OK(msock_close(members[i]));
    }
    pu_node_close(&hub);
}

/* ---- threads on one client ---- */

#define THREADS 4
#define ROUNDS 50

typedef struct thread_job {
    int index;
    msock_socket s;
    uint64_t self, other; /* this client's id, the other client's */
    uint32_t groups[ROUNDS];
    char error[256];
    pthread_t thread;
} thread_job;

#define JOB_FAIL(j, ...)                                                                     \
    do {                                                                                     \
        snprintf((j)->error, sizeof((j)->error), __VA_ARGS__);                               \
        return NULL;                                                                         \
    } while (0)

/* Each round checks that every answer is the answer to its own call: whoami's id, a group it
 * alone creates and joins, the peer count, a relay. */
static void *thread_main(void *arg)
{
    thread_job *j = arg;
    for (int r = 0; r < ROUNDS; r++) {
        char name[32];
        snprintf(name, sizeof(name), "thread %d round %d", j->index, r);
        uint64_t id = 0;
        int rc = msock_group_whoami(j->s, &id);
        if (rc != 0 || id != j->self)
            JOB_FAIL(j, "%s: whoami %s, id %llu", name, tu_errname(rc), (unsigned long long)id);
        rc = msock_group_create(j->s, name, strlen(name), "p", 1, "m", 1, 3);
        if (rc != 0)
            JOB_FAIL(j, "%s: create %s", name, tu_errname(rc));
        rc = msock_group_create(j->s, name, strlen(name), "p", 1, "m", 1, 3);
        if (rc != MSOCK_EEXIST)
            JOB_FAIL(j, "%s: second create %s", name, tu_errname(rc));
        uint32_t g = 0;
        rc = msock_group_join(j->s, name, strlen(name), "m", 1, MSOCK_GROUP_MASTER, &g);
        if (rc != 0 || g == 0)
            JOB_FAIL(j, "%s: join %s", name, tu_errname(rc));
        rc = msock_group_join(j->s, name, strlen(name), "x", 1, MSOCK_GROUP_MEMBER, NULL);
        if (rc != MSOCK_EEXIST && rc != MSOCK_EACCES)
            JOB_FAIL(j, "%s: join again %s", name, tu_errname(rc));
        j->groups[r] = g;
        size_t n = 0;
        rc = msock_group_peers(j->s, NULL, &n);
        if (rc != 0 || n != 1)
            JOB_FAIL(j, "%s: peers %s, %zu", name, tu_errname(rc), n);
        uint64_t stranger = j->self ^ j->other ^ 0x0123456789abcdefull;
        uint64_t to[2] = {j->other, stranger};
        uint64_t unknown = 0;
        size_t n_unknown = 1;
        rc = msock_group_relay(j->s, to, 2, name, strlen(name), &unknown, &n_unknown);
        if (rc != MSOCK_ENOENT || n_unknown != 1 || unknown != stranger)
            JOB_FAIL(j, "%s: relay %s, %zu unknown", name, tu_errname(rc), n_unknown);
        rc = msock_group_leave(j->s, g);
        if (rc != 0)
            JOB_FAIL(j, "%s: leave %s", name, tu_errname(rc));
        rc = msock_group_leave(j->s, g);
        if (rc != MSOCK_ENOENT)
            JOB_FAIL(j, "%s: leave again %s", name, tu_errname(rc));
    }
    return NULL;
}

/* Wrong passwords in the loop above would close the connection: the hub allows enough. */
static void test_threads_on_one_client(void **state)
{
    (void)state;
    pu_node hub = pu_hub_open();
    TU_OK(msock_socket_set_int(hub.sock, MSOCK_OPT_GROUP_MAX_AUTH_FAILS,
                               THREADS * ROUNDS + 1));
    char url[TU_URL_MAX];
    pu_listen(&hub, TU_TCP4, url, sizeof(url));
    msock_socket shared = pu_group_client(url), other = pu_group_client(url);
    uint64_t self = pu_group_whoami(shared), id_other = pu_group_whoami(other);
    thread_job jobs[THREADS];
    memset(jobs, 0, sizeof(jobs));
    for (int k = 0; k < THREADS; k++) {
        jobs[k] = (thread_job){.index = k, .s = shared, .self = self, .other = id_other};
        assert_int_equal(pthread_create(&jobs[k].thread, NULL, thread_main, &jobs[k]), 0);
    }
    for (int k = 0; k < THREADS; k++)
        assert_true(tu_thread_join(jobs[k].thread, 120000));
    for (int k = 0; k < THREADS; k++)
        if (jobs[k].error[0] != '\0')
            fail_msg("thread %d: %s", k, jobs[k].error);
    /* Every group got its own number. */
    for (int k = 0; k < THREADS; k++)
        for (int r = 0; r < ROUNDS; r++)
            for (int k2 = 0; k2 <= k; k2++)
                for (int r2 = 0; r2 < (k2 == k ? r : ROUNDS); r2++)
                    assert_true(jobs[k].groups[r] != jobs[k2].groups[r2]);
    assert_int_equal(tu_stat(hub.sock, MSOCK_STAT_DROPS_QUEUE_FULL), 0);
    /* The other client got every relay once. */
    bool seen[THREADS][ROUNDS];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < THREADS * ROUNDS; i++) {
        msock_group_rx rx;
        char text[40];
        size_t len = sizeof(text) - 1;
        TU_OK(msock_group_recv(other, &rx, text, &len, 0));
        assert_int_equal(rx.kind, MSOCK_GROUP_RELAYED);
        assert_true(rx.from == self);
        assert_true(len < sizeof(text));
        text[len] = '\0';
        int k, r;
        assert_int_equal(sscanf(text, "thread %d round %d", &k, &r), 2);
        assert_true(k >= 0 && k < THREADS && r >= 0 && r < ROUNDS);
        assert_false(seen[k][r]);
        seen[k][r] = true;
    }
    pu_group_expect_none(other, PU_QUIET_MS);
    TU_OK(msock_close(shared));
    TU_OK(msock_close(other));
    pu_node_close(&hub);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousand_members),
        cmocka_unit_test(test_mixed_transports),
        cmocka_unit_test(test_threads_on_one_client),
    };
    tu_watchdog(900);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("group scale", tests, NULL, NULL);
}
