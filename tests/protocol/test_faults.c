/* test_faults.c: a peer killed (SIGKILL) in the middle of a message, and a listener that goes
 * away and comes back while requests are outstanding: dialers reconnect, REQ resends, every
 * request gets exactly its own reply. Over tcp and ipc. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "protoutil.h"

/* ---- a REP socket that echoes requests until it is closed ---- */

typedef struct echo_server {
    msock_socket sock;
    pthread_t thread;
    unsigned limit; /* answers this many, then swallows the rest; 0 = no limit */
    unsigned answered;
} echo_server;

static void *echo_main(void *arg)
{
    echo_server *es = arg;
    for (;;) {
        msock_msg *m = NULL;
        if (msock_recvmsg(es->sock, &m, 0) != 0)
            return NULL;
        if (es->limit != 0 && es->answered == es->limit)
            msock_msg_free(m);
        else if (msock_sendmsg(es->sock, m, 0) != 0)
            msock_msg_free(m);
        else
            es->answered++;
    }
}

static void echo_start(echo_server *es, const char *url)
{
    TU_OK(msock_rep_open(&es->sock));
    msock_listener l;
    /* The port or path was ours a moment ago: a restart may have to wait for it to be free. */
    int rc = MSOCK_EADDRINUSE;
    for (int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
         rc == MSOCK_EADDRINUSE && !tu_deadline_passed(deadline);) {
        if ((rc = msock_listen(es->sock, url, &l, 0)) == MSOCK_EADDRINUSE)
            tu_sleep_ms(10);
    }
    TU_OK(rc);
    assert_int_equal(pthread_create(&es->thread, NULL, echo_main, es), 0);
}

static void echo_stop(echo_server *es)
{
    TU_OK(msock_close(es->sock));
    assert_true(tu_thread_join(es->thread, TU_DEADLINE_MS));
}

/* ---- a peer killed in the middle of a message ---- */

static void test_peer_killed_mid_message(void **state)
{
    tu_transport t = *(const tu_transport *)*state;
    pu_node rep = pu_node_open(msock_rep_open);
    char url[TU_URL_MAX];
    pu_listen(&rep, t, url, sizeof(url));

    int fd = pu_raw_connect(url);
    pu_raw_handshake(fd, MSOCK_PROTO_REQ, MSOCK_PROTO_REP);
    assert_true(tu_wait_added(rep.w, 1, TU_DEADLINE_MS));

    /* The child announces a 4096-byte request, writes 100 bytes of it, tells us, and waits to
     * be killed; only write() and read() run in it (the parent has library threads). */
    int told[2];
    assert_int_equal(pipe(told), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        uint8_t part[8 + 100] = {0};
        part[6] = 0x10; /* length 4096 (big-endian), then the start of a request */
        part[8] = 0x80;
        if (t == TU_IPC) {
            uint8_t type = 1;
            if (write(fd, &type, 1) != 1)
                _exit(1);
        }
        if (write(fd, part, sizeof(part)) != (ssize_t)sizeof(part) || write(told[1], "w", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(fd); /* the child holds the connection now */
    char c;
    assert_int_equal(read(told[0], &c, 1), 1);
    assert_int_equal(kill(child, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    close(told[0]);
    close(told[1]);

    /* The half message goes with its connection; the socket serves the next peer at once. */
    assert_true(tu_wait_removed(rep.w, 1, TU_DEADLINE_MS));
    assert_int_equal(tu_stat(rep.sock, MSOCK_STAT_MSGS_RECV), 0);
    pu_node req = pu_node_open(msock_req_open);
    pu_dial_wait(&rep, &req, url);
    pu_send_str(req.sock, "after");
    pu_recv_str(rep.sock, "after");
    pu_send_str(rep.sock, "reply");
    pu_recv_str(req.sock, "reply");
    pu_node_close(&req);
    pu_node_close(&rep);
}

/* ---- a listener restarted while requests are outstanding ---- */

#define RESTART_THREADS 4
#define RESTART_REQUESTS 60 /* per thread */

typedef struct asker {
    msock_socket req;
    unsigned index;
    atomic_uint answered;
    unsigned wrong;
    int rc;
} asker;

static void *asker_main(void *arg)
{
    asker *a = arg;
    msock_ctx ctx;
    if ((a->rc = msock_ctx_open(&ctx, a->req)) != 0)
        return NULL;
    for (unsigned i = 0; i < RESTART_REQUESTS; i++) {
        char ask[32], got[32];
        int n = snprintf(ask, sizeof(ask), "%u-%u", a->index, i);
        if ((a->rc = msock_ctx_send(ctx, ask, (size_t)n, 0)) != 0)
            break;
        size_t len = sizeof(got);
        if ((a->rc = msock_ctx_recv(ctx, got, &len, 0)) != 0)
            break;
        if (len != (size_t)n || memcmp(got, ask, len) != 0)
            a->wrong++;
        a->answered++;
    }
    msock_ctx_close(ctx);
    return NULL;
}

static unsigned answered_total(const asker *askers)
{
    unsigned sum = 0;
    for (int i = 0; i < RESTART_THREADS; i++)
        sum += atomic_load(&askers[i].answered);
    return sum;
}

static void test_listener_restart(void **state)
{
    tu_transport t = *(const tu_transport *)*state;
    char any[TU_URL_MAX], url[TU_URL_MAX];
    tu_any_url(t, any, sizeof(any));
    /* The first server answers a third of the requests and then none: every other request is
     * outstanding when it goes away. */
    echo_server first = {.limit = RESTART_THREADS * RESTART_REQUESTS / 3};
    TU_OK(msock_rep_open(&first.sock));
    msock_listener l;
    TU_OK(msock_listen(first.sock, any, &l, 0));
    tu_listener_url(l, url, sizeof(url));
    assert_int_equal(pthread_create(&first.thread, NULL, echo_main, &first), 0);

    msock_socket req;
    TU_OK(msock_req_open(&req));
    TU_OK(msock_socket_set_ms(req, MSOCK_OPT_RECONNECT_MIN, 10));
    TU_OK(msock_socket_set_ms(req, MSOCK_OPT_RECONNECT_MAX, 200));
    TU_OK(msock_socket_set_ms(req, MSOCK_OPT_REQ_RESEND_TIME, 500));
    TU_OK(msock_socket_set_ms(req, MSOCK_OPT_SEND_TIMEOUT, 4 * TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(req, MSOCK_OPT_RECV_TIMEOUT, 4 * TU_DEADLINE_MS));
    tu_waiter *w = tu_waiter_attach(req);
    msock_dialer d;
    TU_OK(msock_dial(req, url, &d, 0));
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));

    asker askers[RESTART_THREADS];
    pthread_t threads[RESTART_THREADS];
    for (int i = 0; i < RESTART_THREADS; i++) {
        askers[i] = (asker){.req = req, .index = (unsigned)i};
        assert_int_equal(pthread_create(&threads[i], NULL, asker_main, &askers[i]), 0);
    }
    /* Then the server goes away and a new one takes its address. */
    int64_t deadline = tu_deadline_in(4 * TU_DEADLINE_MS);
    while (answered_total(askers) < first.limit && !tu_deadline_passed(deadline))
        tu_sleep_ms(1);
    assert_int_equal(answered_total(askers), first.limit);
    echo_stop(&first);
    assert_true(tu_wait_removed(w, 1, TU_DEADLINE_MS));
    echo_server second = {.limit = 0};
    echo_start(&second, url);
    assert_true(tu_wait_added(w, 2, TU_DEADLINE_MS));

    for (int i = 0; i < RESTART_THREADS; i++)
        assert_true(tu_thread_join(threads[i], 8 * TU_DEADLINE_MS));
    for (int i = 0; i < RESTART_THREADS; i++) {
        TU_OK(askers[i].rc);
        assert_int_equal(atomic_load(&askers[i].answered), RESTART_REQUESTS);
        assert_int_equal(askers[i].wrong, 0);
    }
    assert_true(tu_stat(req, MSOCK_STAT_RECONNECTS) >= 1);
    TU_OK(msock_close(req));
    echo_stop(&second);
    tu_waiter_free(w);
}

static const tu_transport on_tcp = TU_TCP4, on_ipc = TU_IPC;

int main(void)
{
    tu_watchdog(300);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_peer_killed_mid_message, (void *)&on_tcp),
        cmocka_unit_test_prestate(test_peer_killed_mid_message, (void *)&on_ipc),
        cmocka_unit_test_prestate(test_listener_restart, (void *)&on_tcp),
        cmocka_unit_test_prestate(test_listener_restart, (void *)&on_ipc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
