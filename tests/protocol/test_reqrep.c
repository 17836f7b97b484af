/* test_reqrep.c: REQ/REP state, stale replies, resends, contexts, raw modes, wire edge cases. */
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
#include <unistd.h>

#include "testutil.h"
#include "protoutil.h"

static msock_msg *recv_msg(msock_socket s)
{
    msock_msg *m = NULL;
    int rc = msock_recvmsg(s, &m, 0);
    if (rc != 0)
        fail_msg("recvmsg: %s", tu_errname(rc));
    assert_non_null(m);
    return m;
}

static void expect_body(msock_msg *m, const char *text)
{
    size_t len = strlen(text);
    if (msock_msg_len(m) != len || memcmp(msock_msg_body(m), text, len) != 0)
        fail_msg("body of %zu bytes \"%.*s\", want \"%s\"", msock_msg_len(m),
                 (int)(msock_msg_len(m) < 40 ? msock_msg_len(m) : 40),
                 (const char *)msock_msg_body(m), text);
}

/* Replaces the body of a received request, keeping its header and pipe. */
static void set_body(msock_msg *m, const char *text)
{
    msock_msg_clear(m);
    TU_OK(msock_msg_append(m, text, strlen(text)));
}

static void expect_same_header(msock_msg *a, msock_msg *b)
{
    assert_int_equal(msock_msg_header_len(a), msock_msg_header_len(b));
    assert_memory_equal(msock_msg_header(a), msock_msg_header(b), msock_msg_header_len(a));
}

/* ---- state errors ---- */

static void test_estate(void **state)
{
    (void)state;
    pu_node req = pu_node_open(msock_req_open);
    pu_node rep = pu_node_open(msock_rep_open);
    char buf[16];
    size_t len = sizeof(buf);
    msock_msg *m = NULL;
    /* Nothing asked yet: nothing to wait for, nothing to answer. */
    TU_EXPECT_RC(MSOCK_ESTATE, msock_recv(req.sock, buf, &len, 0));
    TU_EXPECT_RC(MSOCK_ESTATE, msock_recv(req.sock, buf, &len, MSOCK_FLAG_NONBLOCK));
    TU_EXPECT_RC(MSOCK_ESTATE, msock_recvmsg(req.sock, &m, 0));
    assert_null(m);
    TU_EXPECT_RC(MSOCK_ESTATE, msock_send(rep.sock, "x", 1, 0));
    TU_EXPECT_RC(MSOCK_ESTATE, msock_send(rep.sock, "x", 1, MSOCK_FLAG_NONBLOCK));
    m = tu_msg_new(6, 6);
    TU_EXPECT_RC(MSOCK_ESTATE, msock_sendmsg(rep.sock, m, 0));
    assert_true(tu_check(msock_msg_body(m), 6, 6)); /* still ours */
    msock_msg_free(m);
    msock_ctx rc_ctx, pc_ctx;
    TU_OK(msock_ctx_open(&rc_ctx, req.sock));
    TU_OK(msock_ctx_open(&pc_ctx, rep.sock));
    len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ESTATE, msock_ctx_recv(rc_ctx, buf, &len, 0));
    TU_EXPECT_RC(MSOCK_ESTATE, msock_ctx_send(pc_ctx, "x", 1, 0));

    /* After a full exchange both are back where they started. */
    pu_link(&rep, &req, TU_INPROC);
    pu_send_str(req.sock, "ping");
    pu_recv_str(rep.sock, "ping");
    pu_send_str(rep.sock, "pong");
    pu_recv_str(req.sock, "pong");
    len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ESTATE, msock_recv(req.sock, buf, &len, 0));
    TU_EXPECT_RC(MSOCK_ESTATE, msock_send(rep.sock, "again", 5, 0));
    /* A request taken on the socket is not the context's to answer. */
    pu_send_str(req.sock, "ping2");
    pu_recv_str(rep.sock, "ping2");
    TU_EXPECT_RC(MSOCK_ESTATE, msock_ctx_send(pc_ctx, "x", 1, 0));
    pu_send_str(rep.sock, "pong2");
    pu_recv_str(req.sock, "pong2");
    TU_OK(msock_ctx_close(rc_ctx));
    TU_OK(msock_ctx_close(pc_ctx));
    pu_node_close(&req);
    pu_node_close(&rep);
}

/* The received request carries its backtrace in the header and its pipe; sent back with a new
 * body it answers that request. */
static void test_reply_keeps_backtrace(void **state)
{
    (void)state;
    pu_node req = pu_node_open(msock_req_open);
    pu_node rep = pu_node_open(msock_rep_open);
    pu_link(&rep, &req, TU_TCP4);
    pu_send_str(req.sock, "hello");
    msock_msg *m = recv_msg(rep.sock);
    expect_body(m, "hello");
    assert_int_equal(msock_msg_header_len(m), 4);
    uint32_t id = pu_get32(msock_msg_header(m));
    assert_true(id & 0x80000000u);
    assert_int_equal(msock_pipe_id(msock_msg_pipe(m)), msock_pipe_id(tu_waiter_last_added(rep.w)));
    set_body(m, "world");
    TU_OK(msock_sendmsg(rep.sock, m, 0));
    pu_recv_str(req.sock, "world");

    /* The next request has another id. */
    pu_send_str(req.sock, "next");
    m = recv_msg(rep.sock);
    uint32_t id2 = pu_get32(msock_msg_header(m));
    assert_true(id2 & 0x80000000u);
    assert_int_not_equal(id2, id);
    msock_msg_free(m);
    pu_node_close(&req);
    pu_node_close(&rep);
}

/* ---- stale replies ---- */

static void test_stale_reply_dropped(void **state)
{
    (void)state;
    pu_node req = pu_node_open(msock_req_open);
    pu_node rep = pu_node_open(msock_rep_open);
    pu_link(&rep, &req, TU_TCP4);
    msock_pipe req_pipe = tu_waiter_last_added(req.w);
    pu_send_str(req.sock, "A");
    msock_msg *ask_a = recv_msg(rep.sock);
    expect_body(ask_a, "A");
    /* B cancels A: A's answer arrives first, but is stale. */
    pu_send_str(req.sock, "B");
    msock_msg *ask_b = recv_msg(rep.sock);
    expect_body(ask_b, "B");
    set_body(ask_a, "reply-A");
    TU_OK(msock_sendmsg(rep.sock, ask_a, 0));
    set_body(ask_b, "reply-B");
    TU_OK(msock_sendmsg(rep.sock, ask_b, 0));
    pu_recv_str(req.sock, "reply-B");
    pu_expect_stat(req.sock, MSOCK_STAT_DROPS_STALE, 1);
    pu_expect_pipe_stat(req_pipe, MSOCK_STAT_DROPS_STALE, 1);
    char buf[16];
    size_t len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ESTATE, msock_recv(req.sock, buf, &len, MSOCK_FLAG_NONBLOCK));
    pu_node_close(&req);
    pu_node_close(&rep);
}

/* ---- resends ---- */

static void test_resend_on_timer(void **state)
{
    (void)state;
    pu_node req = pu_node_open(msock_req_open);
    pu_node rep = pu_node_open(msock_rep_open);
    TU_OK(msock_socket_set_ms(req.sock, MSOCK_OPT_REQ_RESEND_TIME, 200));
    pu_link(&rep, &req, TU_TCP4);
    pu_send_str(req.sock, "again?");
    msock_msg *first = recv_msg(rep.sock);
    expect_body(first, "again?");
    /* Not answered: the same request comes again, same id. */
    msock_msg *second = recv_msg(rep.sock);
    expect_body(second, "again?");
    expect_same_header(first, second);
    /* Either copy answers it; the other answer is then stale. */
    set_body(first, "yes");
    TU_OK(msock_sendmsg(rep.sock, first, 0));
    pu_recv_str(req.sock, "yes");
    set_body(second, "yes twice");
    TU_OK(msock_sendmsg(rep.sock, second, 0));
    assert_true(tu_stat_wait_at_least(req.sock, MSOCK_STAT_DROPS_STALE, 1, TU_DEADLINE_MS));
    assert_true(tu_stat(req.sock, MSOCK_STAT_MSGS_SENT) >= 2);
    char buf[16];
    size_t len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ESTATE, msock_recv(req.sock, buf, &len, MSOCK_FLAG_NONBLOCK));
    pu_node_close(&req);
    pu_node_close(&rep);
}

static void test_resend_disabled(void **state)
{
    (void)state;
    static const int64_t never[] = {0, -1};
    for (size_t i = 0; i < 2; i++) {
        pu_node req = pu_node_open(msock_req_open);
        pu_node rep = pu_node_open(msock_rep_open);
        TU_OK(msock_socket_set_ms(req.sock, MSOCK_OPT_REQ_RESEND_TIME, never[i]));
        pu_link(&rep, &req, TU_TCP4);
        pu_send_str(req.sock, "once");
        msock_msg *ask = recv_msg(rep.sock);
        /* Longer than the timer of test_resend_on_timer: no second copy. */
        pu_expect_none(rep.sock, 2 * PU_QUIET_MS);
        set_body(ask, "late but fine");
        TU_OK(msock_sendmsg(rep.sock, ask, 0));
        pu_recv_str(req.sock, "late but fine");
        assert_int_equal(tu_stat(req.sock, MSOCK_STAT_MSGS_SENT), 1);
        pu_node_close(&req);
        pu_node_close(&rep);
    }
}

/* Two REPs; the pipe that carries the request closes, and the other REP gets it at once, well
 * before the 60 s resend timer could move it. */
static void test_resend_when_pipe_closes(void **state)
{
    (void)state;
    pu_node req = pu_node_open(msock_req_open);
    pu_node reps[2] = {pu_node_open(msock_rep_open), pu_node_open(msock_rep_open)};
    char url[TU_URL_MAX];
    pu_listen(&req, TU_TCP4, url, sizeof(url));
    pu_dial_wait(&req, &reps[0], url);
    pu_dial_wait(&req, &reps[1], url);
    int64_t resend = 0;
    TU_OK(msock_socket_get_ms(req.sock, MSOCK_OPT_REQ_RESEND_TIME, &resend));
    assert_true(resend > 3 * TU_DEADLINE_MS);

    pu_send_str(req.sock, "who?");
    msock_msg *ask = NULL;
    int holder = -1;
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    while (holder < 0 && !tu_deadline_passed(deadline)) {
        for (int i = 0; i < 2 && holder < 0; i++) {
            int rc = msock_recvmsg(reps[i].sock, &ask, MSOCK_FLAG_NONBLOCK);
            if (rc == 0)
                holder = i;
            else if (rc != MSOCK_EAGAIN)
                fail_msg("recvmsg on rep %d: %s", i, tu_errname(rc));
        }
        if (holder < 0)
            tu_sleep_ms(2);
    }
    assert_true(holder >= 0);
    expect_body(ask, "who?");
    int other = 1 - holder;
    /* The holder refuses its redials, so the request can only settle on the other REP. */
    tu_waiter_set_veto(reps[holder].w, true);
    TU_OK(msock_pipe_close(msock_msg_pipe(ask)));
    msock_msg *again = recv_msg(reps[other].sock);
    expect_body(again, "who?");
    expect_same_header(ask, again);
    set_body(again, "me");
    TU_OK(msock_sendmsg(reps[other].sock, again, 0));
    pu_recv_str(req.sock, "me");
    msock_msg_free(ask);
    pu_node_close(&reps[0]);
    pu_node_close(&reps[1]);
    pu_node_close(&req);
}

/* The only REP goes away while it holds the request; a REP that connects later gets it. */
static void test_resend_when_pipe_attaches(void **state)
{
    (void)state;
    pu_node req = pu_node_open(msock_req_open);
    pu_node first = pu_node_open(msock_rep_open);
    char url[TU_URL_MAX];
    pu_listen(&req, TU_TCP4, url, sizeof(url));
    pu_dial_wait(&req, &first, url);
    pu_send_str(req.sock, "anyone?");
    msock_msg *ask = recv_msg(first.sock);
    msock_msg_free(ask);
    pu_node_close(&first);
    assert_true(tu_wait_removed(req.w, 1, TU_DEADLINE_MS));
    pu_node later = pu_node_open(msock_rep_open);
    pu_dial_wait(&req, &later, url);
    ask = recv_msg(later.sock);
    expect_body(ask, "anyone?");
    set_body(ask, "here");
    TU_OK(msock_sendmsg(later.sock, ask, 0));
    pu_recv_str(req.sock, "here");
    pu_node_close(&later);
    pu_node_close(&req);
}

/* A reply whose pipe is gone is dropped and counted; the requester's redial brings the request
 * back at once, and that copy is answered. */
static void test_reply_without_pipe(void **state)
{
    (void)state;
    pu_node req = pu_node_open(msock_req_open);
    pu_node rep = pu_node_open(msock_rep_open);
    pu_link(&rep, &req, TU_TCP4);
    pu_send_str(req.sock, "q");
    msock_msg *ask = recv_msg(rep.sock);
    TU_OK(msock_pipe_close(msock_msg_pipe(ask)));
    assert_true(tu_wait_removed(rep.w, 1, TU_DEADLINE_MS));
    set_body(ask, "lost");
    TU_OK(msock_sendmsg(rep.sock, ask, 0));
    pu_expect_stat(rep.sock, MSOCK_STAT_DROPS_NO_PIPE, 1);
    msock_msg *again = recv_msg(rep.sock);
    expect_body(again, "q");
    set_body(again, "found");
    TU_OK(msock_sendmsg(rep.sock, again, 0));
    pu_recv_str(req.sock, "found");
    pu_node_close(&req);
    pu_node_close(&rep);
}

/* ---- contexts ---- */

#define CLIENT_THREADS 10
#define CLIENT_REQUESTS 1000
#define REP_WORKERS 4
/* Workers poll their stop flag this often. */
#define WORKER_POLL_MS 100

typedef struct client_job {
    msock_socket req;
    unsigned id;
    unsigned done;
    char err[200];
    pthread_t thread;
} client_job;

typedef struct worker_job {
    msock_socket rep;
    unsigned id;
    bool use_ctx; /* else msg API on the socket: the received message goes back */
    atomic_bool *stop;
    unsigned served;
    char err[200];
    pthread_t thread;
} worker_job;

/* The request body: client id and sequence number; the reply appends "REP" and a worker id. */
static void *client_main(void *arg)
{
    client_job *job = arg;
    msock_ctx c;
    int rc = msock_ctx_open(&c, job->req);
    if (rc != 0) {
        snprintf(job->err, sizeof(job->err), "ctx_open: %s", tu_errname(rc));
        return NULL;
    }
    msock_ctx_set_ms(c, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS);
    msock_ctx_set_ms(c, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS);
    for (unsigned i = 0; i < CLIENT_REQUESTS; i++) {
        uint8_t ask[8];
        pu_put32(ask, job->id);
        pu_put32(ask + 4, i);
        rc = msock_ctx_send(c, ask, sizeof(ask), 0);
        if (rc != 0) {
            snprintf(job->err, sizeof(job->err), "request %u: send: %s", i, tu_errname(rc));
            break;
        }
        uint8_t answer[32];
        size_t len = sizeof(answer);
        rc = msock_ctx_recv(c, answer, &len, 0);
        if (rc != 0) {
            snprintf(job->err, sizeof(job->err), "request %u: recv: %s", i, tu_errname(rc));
            break;
        }
        if (len != 12 || memcmp(answer, ask, 8) != 0 || memcmp(answer + 8, "REP", 3) != 0) {
            snprintf(job->err, sizeof(job->err),
                     "request %u: reply of %zu bytes for client %u seq %u, want client %u seq %u",
                     i, len, len >= 4 ? pu_get32(answer) : 0, len >= 8 ? pu_get32(answer + 4) : 0,
                     job->id, i);
            break;
        }
        job->done++;
    }
    msock_ctx_close(c);
    return NULL;
}

static void *worker_main(void *arg)
{
    worker_job *job = arg;
    msock_ctx c = {0};
    int rc;
    if (job->use_ctx) {
        rc = msock_ctx_open(&c, job->rep);
        if (rc != 0) {
            snprintf(job->err, sizeof(job->err), "ctx_open: %s", tu_errname(rc));
            return NULL;
        }
        msock_ctx_set_ms(c, MSOCK_OPT_RECV_TIMEOUT, WORKER_POLL_MS);
    }
    int64_t deadline = tu_deadline_in(12 * TU_DEADLINE_MS);
    while (!atomic_load(job->stop) && !tu_deadline_passed(deadline)) {
        if (job->use_ctx) {
            uint8_t ask[32];
            size_t len = sizeof(ask);
            rc = msock_ctx_recv(c, ask, &len, 0);
            if (rc == MSOCK_ETIMEDOUT)
                continue;
            if (rc != 0 || len != 8) {
                snprintf(job->err, sizeof(job->err), "recv: %s, %zu bytes", tu_errname(rc), len);
                break;
            }
            uint8_t answer[12];
            memcpy(answer, ask, 8);
            memcpy(answer + 8, "REP", 3);
            answer[11] = (uint8_t)job->id;
            rc = msock_ctx_send(c, answer, sizeof(answer), 0);
        } else {
            msock_msg *m = NULL;
            rc = msock_recvmsg(job->rep, &m, 0);
            if (rc == MSOCK_ETIMEDOUT)
                continue;
            if (rc != 0) {
                snprintf(job->err, sizeof(job->err), "recvmsg: %s", tu_errname(rc));
                break;
            }
            uint8_t mark[4] = {'R', 'E', 'P', (uint8_t)job->id};
            rc = msock_msg_append(m, mark, sizeof(mark));
            if (rc == 0)
                rc = msock_sendmsg(job->rep, m, 0);
            if (rc != 0)
                msock_msg_free(m);
        }
        if (rc != 0) {
            snprintf(job->err, sizeof(job->err), "reply: %s", tu_errname(rc));
            break;
        }
        job->served++;
    }
    if (job->use_ctx)
        msock_ctx_close(c);
    return NULL;
}

static void many_clients(bool workers_use_ctx)
{
    pu_node req = pu_node_open(msock_req_open);
    pu_node rep = pu_node_open(msock_rep_open);
    if (!workers_use_ctx) /* the workers share the socket and poll their stop flag */
        TU_OK(msock_socket_set_ms(rep.sock, MSOCK_OPT_RECV_TIMEOUT, WORKER_POLL_MS));
    pu_link(&rep, &req, TU_TCP4);
    atomic_bool stop = false;
    worker_job workers[REP_WORKERS];
    for (unsigned i = 0; i < REP_WORKERS; i++) {
        workers[i] = (worker_job){.rep = rep.sock, .id = i, .use_ctx = workers_use_ctx,
                                  .stop = &stop};
        assert_int_equal(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]), 0);
    }
    client_job clients[CLIENT_THREADS];
    for (unsigned i = 0; i < CLIENT_THREADS; i++) {
        clients[i] = (client_job){.req = req.sock, .id = 100 + i};
        assert_int_equal(pthread_create(&clients[i].thread, NULL, client_main, &clients[i]), 0);
    }
    bool clients_joined = true;
    for (unsigned i = 0; i < CLIENT_THREADS; i++)
        clients_joined &= tu_thread_join(clients[i].thread, 12 * TU_DEADLINE_MS);
    atomic_store(&stop, true);
    bool workers_joined = true;
    for (unsigned i = 0; i < REP_WORKERS; i++)
        workers_joined &= tu_thread_join(workers[i].thread, 2 * TU_DEADLINE_MS);
    if (!clients_joined || !workers_joined)
        fail_msg("threads still running at the deadline (clients %d, workers %d)",
                 clients_joined, workers_joined);
    unsigned served = 0;
    for (unsigned i = 0; i < REP_WORKERS; i++) {
        if (workers[i].err[0])
            fail_msg("worker %u: %s", i, workers[i].err);
        served += workers[i].served;
    }
    for (unsigned i = 0; i < CLIENT_THREADS; i++) {
        if (clients[i].err[0])
            fail_msg("client %u: %s", i, clients[i].err);
        assert_int_equal(clients[i].done, CLIENT_REQUESTS);
    }
    assert_int_equal(served, CLIENT_THREADS * CLIENT_REQUESTS);
    assert_int_equal(tu_stat(rep.sock, MSOCK_STAT_MSGS_RECV), CLIENT_THREADS * CLIENT_REQUESTS);
    assert_int_equal(tu_stat(req.sock, MSOCK_STAT_DROPS_STALE), 0);
    pu_node_close(&req);
    pu_node_close(&rep);
}

static void test_contexts_rep_contexts(void **state)
{
    (void)state;
    many_clients(true);
}

static void test_contexts_rep_msg_replies(void **state)
{
    (void)state;
    many_clients(false);
}

/* Each context has its own outstanding request: a send on one cancels nothing on another. */
static void test_contexts_independent(void **state)
{
    (void)state;
    pu_node req = pu_node_open(msock_req_open);
    pu_node rep = pu_node_open(msock_rep_open);
    pu_link(&rep, &req, TU_INPROC);
    msock_ctx a, b;
    TU_OK(msock_ctx_open(&a, req.sock));
    TU_OK(msock_ctx_open(&b, req.sock));
    assert_int_not_equal(msock_ctx_id(a), msock_ctx_id(b));
    TU_OK(msock_ctx_send(a, "for-a", 5, 0));
    TU_OK(msock_ctx_send(b, "for-b", 5, 0));
    pu_send_str(req.sock, "for-socket");
    msock_msg *asks[3];
    for (int i = 0; i < 3; i++)
        asks[i] = recv_msg(rep.sock);
    /* Answer in reverse order of arrival. */
    for (int i = 2; i >= 0; i--) {
        char answer[32];
        snprintf(answer, sizeof(answer), "re:%.*s", (int)msock_msg_len(asks[i]),
                 (const char *)msock_msg_body(asks[i]));
        set_body(asks[i], answer);
        TU_OK(msock_sendmsg(rep.sock, asks[i], 0));
    }
    char buf[32];
    size_t len = sizeof(buf);
    TU_OK(msock_ctx_recv(b, buf, &len, 0));
    assert_int_equal(len, 8);
    assert_memory_equal(buf, "re:for-b", 8);
    pu_recv_str(req.sock, "re:for-socket");
    len = sizeof(buf);
    TU_OK(msock_ctx_recv(a, buf, &len, 0));
    assert_int_equal(len, 8);
    assert_memory_equal(buf, "re:for-a", 8);
    assert_int_equal(tu_stat(req.sock, MSOCK_STAT_DROPS_STALE), 0);
    TU_OK(msock_ctx_close(a));
    TU_OK(msock_ctx_close(b));
    pu_node_close(&req);
    pu_node_close(&rep);
}

typedef struct blocked_recv {
    msock_ctx ctx;
    int rc;
    pthread_t thread;
} blocked_recv;

static void *blocked_recv_main(void *arg)
{
    blocked_recv *job = arg;
    char buf[16];
    size_t len = sizeof(buf);
    job->rc = msock_ctx_recv(job->ctx, buf, &len, 0);
    return NULL;
}

static void test_ctx_close(void **state)
{
    (void)state;
    pu_node req = pu_node_open(msock_req_open);
    pu_node rep = pu_node_open(msock_rep_open);
    TU_OK(msock_socket_set_ms(rep.sock, MSOCK_OPT_RECV_TIMEOUT, 3 * TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(req.sock, MSOCK_OPT_RECV_TIMEOUT, 3 * TU_DEADLINE_MS));
    pu_link(&rep, &req, TU_INPROC);

    /* Closing a context wakes its waiter; later calls on it fail. */
    blocked_recv waiter = {.rc = 1};
    TU_OK(msock_ctx_open(&waiter.ctx, rep.sock));
    assert_int_equal(pthread_create(&waiter.thread, NULL, blocked_recv_main, &waiter), 0);
    tu_sleep_ms(50); /* a chance to block; closing first must give the same answer */
    TU_OK(msock_ctx_close(waiter.ctx));
    assert_true(tu_thread_join(waiter.thread, TU_DEADLINE_MS));
    TU_EXPECT_RC(MSOCK_ECLOSED, waiter.rc);
    char buf[8];
    size_t len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_ctx_recv(waiter.ctx, buf, &len, 0));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_ctx_send(waiter.ctx, "x", 1, 0));
    int64_t ms = 0;
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_ctx_get_ms(waiter.ctx, MSOCK_OPT_RECV_TIMEOUT, &ms));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_ctx_close(waiter.ctx));

    /* Closing the socket does the same to its contexts: a REQ context waiting for a reply
     * that never comes (the REP does not answer), and an idle one. */
    blocked_recv asker = {.rc = 1};
    msock_ctx idle;
    TU_OK(msock_ctx_open(&asker.ctx, req.sock));
    TU_OK(msock_ctx_open(&idle, req.sock));
    TU_OK(msock_ctx_send(asker.ctx, "unanswered", 10, 0));
    pu_recv_str(rep.sock, "unanswered");
    assert_int_equal(pthread_create(&asker.thread, NULL, blocked_recv_main, &asker), 0);
    tu_sleep_ms(50);
    msock_socket closed = req.sock;
    pu_node_close(&req);
    assert_true(tu_thread_join(asker.thread, TU_DEADLINE_MS));
    TU_EXPECT_RC(MSOCK_ECLOSED, asker.rc);
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_ctx_send(idle, "x", 1, 0));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_ctx_close(idle));
    msock_ctx late;
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_ctx_open(&late, closed));
    pu_node_close(&rep);
}

/* ---- raw modes ---- */

static void test_raw_rep_and_raw_req(void **state)
{
    (void)state;
    /* Raw REP: the header starts with the origin pipe id (bit 31 clear), then the backtrace. */
    pu_node req = pu_node_open(msock_req_open);
    pu_node raw_rep = pu_node_raw(MSOCK_PROTO_REP);
    pu_link(&raw_rep, &req, TU_TCP4);
    pu_send_str(req.sock, "raw?");
    msock_msg *m = recv_msg(raw_rep.sock);
    expect_body(m, "raw?");
    assert_int_equal(msock_msg_header_len(m), 8);
    const uint8_t *hdr = msock_msg_header(m);
    uint32_t pipe_word = pu_get32(hdr);
    assert_int_equal(pipe_word & 0x80000000u, 0);
    assert_int_equal(pipe_word, msock_pipe_id(msock_msg_pipe(m)));
    assert_true(pu_get32(hdr + 4) & 0x80000000u);
    /* No state: sending needs no request, the header routes the message. */
    set_body(m, "raw!");
    TU_OK(msock_sendmsg(raw_rep.sock, m, 0));
    pu_recv_str(req.sock, "raw!");
    msock_ctx c;
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_ctx_open(&c, raw_rep.sock));
    pu_node_close(&req);
    pu_node_close(&raw_rep);

    /* Raw REQ: the header goes out as it is, the reply's backtrace comes back in the header. */
    pu_node raw_req = pu_node_raw(MSOCK_PROTO_REQ);
    pu_node rep = pu_node_open(msock_rep_open);
    pu_link(&rep, &raw_req, TU_TCP4);
    msock_msg *ask = NULL;
    TU_OK(msock_msg_alloc(&ask, 0));
    TU_OK(msock_msg_append(ask, "by hand", 7));
    uint8_t words[8];
    pu_put32(words, 0x00000007u);
    pu_put32(words + 4, 0x80001234u);
    /* The API has no call to add header bytes: a fresh message carries the backtrace at the
     * front of its body, and a raw REQ sends header + body as they are. */
    TU_OK(msock_msg_insert(ask, words, sizeof(words)));
    TU_OK(msock_sendmsg(raw_req.sock, ask, 0));
    msock_msg *got = recv_msg(rep.sock);
    expect_body(got, "by hand");
    assert_int_equal(msock_msg_header_len(got), 8);
    assert_memory_equal(msock_msg_header(got), words, 8);
    set_body(got, "answered");
    TU_OK(msock_sendmsg(rep.sock, got, 0));
    msock_msg *reply = recv_msg(raw_req.sock);
    expect_body(reply, "answered");
    assert_int_equal(msock_msg_header_len(reply), 8);
    assert_memory_equal(msock_msg_header(reply), words, 8);
    msock_msg_free(reply);
    pu_node_close(&raw_req);
    pu_node_close(&rep);
}

/* ---- wire edge cases against a hand-made peer ---- */

static void send_request_words(int fd, const uint32_t *words, size_t n, const char *body)
{
    pu_raw_send_words(fd, words, n, body, strlen(body));
}

/* Reads one reply frame and checks it is exactly words + body. */
static void expect_reply_words(int fd, const uint32_t *words, size_t n, const char *body)
{
    size_t want_len = 4 * n + strlen(body);
    uint8_t *buf = malloc(want_len + 64);
    assert_non_null(buf);
    long got = pu_raw_recv_frame(fd, buf, want_len + 64, TU_DEADLINE_MS);
    if (got < 0)
        fail_msg("no reply frame: %s", got == PU_FRAME_CLOSED ? "connection closed" : "timeout");
    assert_int_equal((size_t)got, want_len);
    for (size_t i = 0; i < n; i++) {
        if (pu_get32(buf + 4 * i) != words[i])
            fail_msg("reply word %zu is %08x, want %08x", i, pu_get32(buf + 4 * i), words[i]);
    }
    assert_memory_equal(buf + 4 * n, body, strlen(body));
    free(buf);
}

/* REP answers the last request on the socket: receive it and reply with a new body. */
static void answer_next(msock_socket rep, const char *want_body, size_t want_hops,
                        const char *answer)
{
    msock_msg *m = recv_msg(rep);
    expect_body(m, want_body);
    assert_int_equal(msock_msg_header_len(m), 4 * want_hops);
    set_body(m, answer);
    TU_OK(msock_sendmsg(rep, m, 0));
}

static void test_wire_rep_backtrace(void **state)
{
    (void)state;
    pu_node rep = pu_node_open(msock_rep_open);
    char url[TU_URL_MAX];
    pu_listen(&rep, TU_TCP4, url, sizeof(url));
    int fd = pu_raw_connect(url);
    pu_raw_handshake(fd, MSOCK_PROTO_REQ, MSOCK_PROTO_REP);
    assert_true(tu_wait_added(rep.w, 1, TU_DEADLINE_MS));
    msock_pipe pipe = tu_waiter_last_added(rep.w);

    /* 7 hops and the request id: exactly MAXTTL words, answered with the same 8 words. */
    const uint32_t eight[] = {1, 2, 3, 4, 5, 6, 0x7fffffffu, 0x80000042u};
    send_request_words(fd, eight, 8, "ttl8");
    answer_next(rep.sock, "ttl8", 8, "ok8");
    expect_reply_words(fd, eight, 8, "ok8");

    /* Only the words through the first with bit 31 set are the backtrace. */
    const uint32_t stops_early[] = {5, 0x80000051u};
    uint8_t tail_body[4];
    pu_put32(tail_body, 0x80000052u);
    pu_raw_send_words(fd, stops_early, 2, tail_body, 4);
    msock_msg *m = recv_msg(rep.sock);
    assert_int_equal(msock_msg_len(m), 4);
    assert_memory_equal(msock_msg_body(m), tail_body, 4);
    assert_int_equal(msock_msg_header_len(m), 8);
    TU_OK(msock_sendmsg(rep.sock, m, 0)); /* echo: backtrace + the same body */
    const uint32_t echoed[] = {5, 0x80000051u, 0x80000052u};
    expect_reply_words(fd, echoed, 3, "");

    /* 9 words: one hop too many, dropped without closing the connection. */
    const uint32_t nine[] = {1, 2, 3, 4, 5, 6, 7, 8, 0x80000043u};
    send_request_words(fd, nine, 9, "ttl9");
    pu_expect_stat(rep.sock, MSOCK_STAT_DROPS_TTL, 1);
    pu_expect_pipe_stat(pipe, MSOCK_STAT_DROPS_TTL, 1);
    pu_expect_none(rep.sock, PU_QUIET_MS);
    assert_true(pu_raw_is_open(fd));
    uint8_t probe[16];
    assert_int_equal(pu_raw_recv_frame(fd, probe, sizeof(probe), 0), PU_FRAME_NONE);
    const uint32_t good[] = {0x80000044u};
    send_request_words(fd, good, 1, "again");
    answer_next(rep.sock, "again", 1, "fine");
    expect_reply_words(fd, good, 1, "fine");
    assert_int_equal(tu_stat(rep.sock, MSOCK_STAT_DROPS_MALFORMED), 0);

    /* Words without an end: the peer speaks garbage, its connection goes. */
    const uint32_t endless[] = {1, 2};
    send_request_words(fd, endless, 2, "ab");
    assert_true(pu_raw_wait_closed(fd, TU_DEADLINE_MS));
    close(fd);
    pu_expect_stat(rep.sock, MSOCK_STAT_DROPS_MALFORMED, 1);
    assert_true(tu_wait_removed(rep.w, 1, TU_DEADLINE_MS));

    /* An empty payload and a part of a word are no better. */
    static const uint8_t part_word[3] = {0x80, 0x00, 0x00};
    for (int i = 0; i < 2; i++) {
        fd = pu_raw_connect(url);
        pu_raw_handshake(fd, MSOCK_PROTO_REQ, MSOCK_PROTO_REP);
        pu_raw_send_frame(fd, part_word, i == 0 ? 0 : sizeof(part_word));
        assert_true(pu_raw_wait_closed(fd, TU_DEADLINE_MS));
        close(fd);
        pu_expect_stat(rep.sock, MSOCK_STAT_DROPS_MALFORMED, 2 + (uint64_t)i);
    }
    pu_expect_none(rep.sock, 0);
    pu_node_close(&rep);
}

static void test_wire_rep_maxttl_255(void **state)
{
    (void)state;
    pu_node rep = pu_node_open(msock_rep_open);
    TU_OK(msock_socket_set_int(rep.sock, MSOCK_OPT_MAXTTL, 255));
    char url[TU_URL_MAX];
    pu_listen(&rep, TU_TCP4, url, sizeof(url));
    int fd = pu_raw_connect(url);
    pu_raw_handshake(fd, MSOCK_PROTO_REQ, MSOCK_PROTO_REP);
    enum { HOPS = 200 };
    uint32_t words[HOPS];
    for (unsigned i = 0; i < HOPS - 1; i++)
        words[i] = 0x1000u + i;
    words[HOPS - 1] = 0x80000200u;
    send_request_words(fd, words, HOPS, "deep");
    msock_msg *m = recv_msg(rep.sock);
    expect_body(m, "deep");
    assert_int_equal(msock_msg_header_len(m), 4 * HOPS);
    set_body(m, "up");
    TU_OK(msock_sendmsg(rep.sock, m, 0));
    expect_reply_words(fd, words, HOPS, "up");
    assert_int_equal(tu_stat(rep.sock, MSOCK_STAT_DROPS_TTL), 0);
    close(fd);
    pu_node_close(&rep);
}

static void test_wire_req_replies(void **state)
{
    (void)state;
    pu_node req = pu_node_open(msock_req_open);
    char url[TU_URL_MAX];
    pu_listen(&req, TU_TCP4, url, sizeof(url));
    int fd = pu_raw_connect(url);
    pu_raw_handshake(fd, MSOCK_PROTO_REP, MSOCK_PROTO_REQ);
    assert_true(tu_wait_added(req.w, 1, TU_DEADLINE_MS));
    msock_pipe pipe = tu_waiter_last_added(req.w);

    pu_send_str(req.sock, "q1");
    uint8_t buf[64];
    long len = pu_raw_recv_frame(fd, buf, sizeof(buf), TU_DEADLINE_MS);
    assert_int_equal(len, 6);
    uint32_t id = pu_get32(buf);
    assert_true(id & 0x80000000u);
    assert_memory_equal(buf + 4, "q1", 2);
    /* Another id: stale, dropped; then the right one is delivered. */
    const uint32_t wrong[] = {id ^ 1u};
    send_request_words(fd, wrong, 1, "wrong");
    pu_expect_stat(req.sock, MSOCK_STAT_DROPS_STALE, 1);
    pu_expect_pipe_stat(pipe, MSOCK_STAT_DROPS_STALE, 1);
    const uint32_t right[] = {id};
    send_request_words(fd, right, 1, "right");
    pu_recv_str(req.sock, "right");

    /* A reply shorter than a request id closes the connection. */
    pu_send_str(req.sock, "q2");
    len = pu_raw_recv_frame(fd, buf, sizeof(buf), TU_DEADLINE_MS);
    assert_int_equal(len, 6);
    uint32_t id2 = pu_get32(buf);
    assert_true(id2 & 0x80000000u);
    assert_int_not_equal(id2, id);
    static const uint8_t short_reply[3] = {0x80, 0x00, 0x01};
    pu_raw_send_frame(fd, short_reply, sizeof(short_reply));
    assert_true(pu_raw_wait_closed(fd, TU_DEADLINE_MS));
    close(fd);
    pu_expect_stat(req.sock, MSOCK_STAT_DROPS_MALFORMED, 1);

    /* The request is still outstanding: it moves to the next peer that attaches. */
    fd = pu_raw_connect(url);
    pu_raw_handshake(fd, MSOCK_PROTO_REP, MSOCK_PROTO_REQ);
    len = pu_raw_recv_frame(fd, buf, sizeof(buf), TU_DEADLINE_MS);
    assert_int_equal(len, 6);
    assert_int_equal(pu_get32(buf), id2);
    assert_memory_equal(buf + 4, "q2", 2);
    const uint32_t right2[] = {id2};
    send_request_words(fd, right2, 1, "a2");
    pu_recv_str(req.sock, "a2");
    close(fd);
    pu_node_close(&req);
}

int main(void)
{
    tu_watchdog(600);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estate),
        cmocka_unit_test(test_reply_keeps_backtrace),
        cmocka_unit_test(test_stale_reply_dropped),
        cmocka_unit_test(test_resend_on_timer),
        cmocka_unit_test(test_resend_disabled),
        cmocka_unit_test(test_resend_when_pipe_closes),
        cmocka_unit_test(test_resend_when_pipe_attaches),
        cmocka_unit_test(test_reply_without_pipe),
        cmocka_unit_test(test_contexts_independent),
        cmocka_unit_test(test_contexts_rep_contexts),
        cmocka_unit_test(test_contexts_rep_msg_replies),
        cmocka_unit_test(test_ctx_close),
        cmocka_unit_test(test_raw_rep_and_raw_req),
        cmocka_unit_test(test_wire_rep_backtrace),
        cmocka_unit_test(test_wire_rep_maxttl_255),
        cmocka_unit_test(test_wire_req_replies),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed == 0)
        msock_fini();
    return failed;
}
