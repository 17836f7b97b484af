/* test_survey.c: SURVEYOR/RESPONDENT deadlines, stale answers, contexts, state errors, raw. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "protoutil.h"

/* Long enough that answers given at once are never late on a loaded machine; each test that
 * waits for the deadline pays it once. */
#define SURVEY_MS 2000

static msock_msg *recv_msg(msock_socket s)
{
    msock_msg *m = NULL;
    int rc = msock_recvmsg(s, &m, 0);
    if (rc != 0)
        fail_msg("recvmsg: %s", tu_errname(rc));
    return m;
}

static void expect_body(msock_msg *m, const char *text)
{
    size_t len = strlen(text);
    if (msock_msg_len(m) != len || memcmp(msock_msg_body(m), text, len) != 0)
        fail_msg("body \"%.*s\", want \"%s\"", (int)msock_msg_len(m),
                 (const char *)msock_msg_body(m), text);
}

static void set_body(msock_msg *m, const char *text)
{
    msock_msg_clear(m);
    TU_OK(msock_msg_append(m, text, strlen(text)));
}

/* Receives n answers on a surveyor (socket or context) and checks they are exactly the
 * expected texts, in any order. expect_deadline then waits for the end of the survey. */
typedef int (*recv_fn)(void *where, char *buf, size_t *len);

static int recv_on_socket(void *where, char *buf, size_t *len)
{
    return msock_recv(*(msock_socket *)where, buf, len, 0);
}

static int recv_on_ctx(void *where, char *buf, size_t *len)
{
    return msock_ctx_recv(*(msock_ctx *)where, buf, len, 0);
}

static void expect_answers(recv_fn fn, void *where, const char *const *want, size_t n)
{
    bool seen[8] = {false};
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        size_t len = sizeof(buf) - 1;
        int rc = fn(where, buf, &len);
        if (rc != 0)
            fail_msg("answer %zu of %zu: %s", i + 1, n, tu_errname(rc));
        buf[len < sizeof(buf) - 1 ? len : sizeof(buf) - 1] = '\0';
        size_t k = 0;
        while (k < n && (seen[k] || strcmp(want[k], buf) != 0))
            k++;
        if (k == n)
            fail_msg("unexpected or repeated answer \"%s\"", buf);
        seen[k] = true;
    }
}

static void expect_deadline(recv_fn fn, void *where)
{
    char buf[64];
    size_t len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, fn(where, buf, &len));
}

static void survey_all_answer(tu_transport t)
{
    pu_node surveyor = pu_node_open(msock_surveyor_open);
    TU_OK(msock_socket_set_ms(surveyor.sock, MSOCK_OPT_SURVEY_TIME, SURVEY_MS));
    enum { N = 3 };
    pu_node resp[N];
    char url[TU_URL_MAX];
    pu_listen(&surveyor, t, url, sizeof(url));
    for (int i = 0; i < N; i++) {
        resp[i] = pu_node_open(msock_respondent_open);
        pu_dial_wait(&surveyor, &resp[i], url);
    }
    for (int round = 0; round < 2; round++) {
        char question[16];
        snprintf(question, sizeof(question), "who? %d", round);
        pu_send_str(surveyor.sock, question);
        uint8_t id[4];
        char answers[N][16];
        const char *want[N];
        for (int i = 0; i < N; i++) {
            msock_msg *m = recv_msg(resp[i].sock);
            expect_body(m, question);
            assert_int_equal(msock_msg_header_len(m), 4);
            /* One survey, one id, the same for everyone. */
            if (i == 0)
                memcpy(id, msock_msg_header(m), 4);
            assert_memory_equal(msock_msg_header(m), id, 4);
            assert_true(id[0] & 0x80);
            snprintf(answers[i], sizeof(answers[i]), "r%d.%d", round, i);
            want[i] = answers[i];
            /* Both ways of answering: the received message, or a fresh buffer. */
            if (i % 2 == 0) {
                set_body(m, answers[i]);
                TU_OK(msock_sendmsg(resp[i].sock, m, 0));
            } else {
                msock_msg_free(m);
                pu_send_str(resp[i].sock, answers[i]);
            }
        }
        expect_answers(recv_on_socket, &surveyor.sock, want, N);
        expect_deadline(recv_on_socket, &surveyor.sock);
    }
    assert_int_equal(tu_stat(surveyor.sock, MSOCK_STAT_DROPS_STALE), 0);
    for (int i = 0; i < N; i++)
        pu_node_close(&resp[i]);
    pu_node_close(&surveyor);
}

static void test_all_answer_inproc(void **state)
{
    (void)state;
    survey_all_answer(TU_INPROC);
}

static void test_all_answer_tcp(void **state)
{
    (void)state;
    survey_all_answer(TU_TCP4);
}

static void test_late_answer_dropped(void **state)
{
    (void)state;
    pu_node surveyor = pu_node_open(msock_surveyor_open);
    pu_node resp = pu_node_open(msock_respondent_open);
    TU_OK(msock_socket_set_ms(surveyor.sock, MSOCK_OPT_SURVEY_TIME, 300));
    pu_link(&surveyor, &resp, TU_TCP4);
    msock_pipe surveyor_pipe = tu_waiter_last_added(surveyor.w);
    pu_send_str(surveyor.sock, "quick?");
    msock_msg *m = recv_msg(resp.sock);
    char buf[32];
    size_t len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_recv(surveyor.sock, buf, &len, 0));
    set_body(m, "too late");
    TU_OK(msock_sendmsg(resp.sock, m, 0));
    pu_expect_stat(surveyor.sock, MSOCK_STAT_DROPS_STALE, 1);
    pu_expect_pipe_stat(surveyor_pipe, MSOCK_STAT_DROPS_STALE, 1);
    len = sizeof(buf);
    int rc = msock_recv(surveyor.sock, buf, &len, MSOCK_FLAG_NONBLOCK);
    if (rc != MSOCK_ESTATE && rc != MSOCK_ETIMEDOUT)
        fail_msg("recv after the deadline: %s, want MSOCK_ESTATE or MSOCK_ETIMEDOUT",
                 tu_errname(rc));
    pu_node_close(&resp);
    pu_node_close(&surveyor);
}

static void test_new_survey_cancels_old(void **state)
{
    (void)state;
    pu_node surveyor = pu_node_open(msock_surveyor_open);
    pu_node resp = pu_node_open(msock_respondent_open);
    TU_OK(msock_socket_set_ms(surveyor.sock, MSOCK_OPT_SURVEY_TIME, 3 * TU_DEADLINE_MS));
    pu_link(&resp, &surveyor, TU_INPROC);
    pu_send_str(surveyor.sock, "first");
    msock_msg *first = recv_msg(resp.sock);
    pu_send_str(surveyor.sock, "second");
    msock_msg *second = recv_msg(resp.sock);
    expect_body(second, "second");
    assert_memory_not_equal(msock_msg_header(first), msock_msg_header(second), 4);
    set_body(first, "answer to first");
    TU_OK(msock_sendmsg(resp.sock, first, 0));
    set_body(second, "answer to second");
    TU_OK(msock_sendmsg(resp.sock, second, 0));
    pu_recv_str(surveyor.sock, "answer to second");
    pu_expect_stat(surveyor.sock, MSOCK_STAT_DROPS_STALE, 1);
    pu_node_close(&resp);
    pu_node_close(&surveyor);
}

static void test_contexts(void **state)
{
    (void)state;
    pu_node surveyor = pu_node_open(msock_surveyor_open);
    enum { N = 2 };
    pu_node resp[N];
    char url[TU_URL_MAX];
    pu_listen(&surveyor, TU_TCP4, url, sizeof(url));
    for (int i = 0; i < N; i++) {
        resp[i] = pu_node_open(msock_respondent_open);
        pu_dial_wait(&surveyor, &resp[i], url);
    }
    msock_ctx sa, sb;
    TU_OK(msock_ctx_open(&sa, surveyor.sock));
    TU_OK(msock_ctx_open(&sb, surveyor.sock));
    TU_OK(msock_ctx_set_ms(sa, MSOCK_OPT_SURVEY_TIME, SURVEY_MS));
    TU_OK(msock_ctx_set_ms(sb, MSOCK_OPT_SURVEY_TIME, SURVEY_MS));
    int64_t ms = 0;
    TU_OK(msock_ctx_get_ms(sa, MSOCK_OPT_SURVEY_TIME, &ms));
    assert_int_equal(ms, SURVEY_MS);
    /* Two surveys at once: a context's send cancels nothing of the other's. */
    TU_OK(msock_ctx_send(sa, "sa", 2, 0));
    TU_OK(msock_ctx_send(sb, "sb", 2, 0));
    for (int i = 0; i < N; i++) {
        msock_ctx rc1, rc2;
        TU_OK(msock_ctx_open(&rc1, resp[i].sock));
        TU_OK(msock_ctx_open(&rc2, resp[i].sock));
        TU_EXPECT_RC(MSOCK_ESTATE, msock_ctx_send(rc1, "x", 1, 0));
        char q1[8], q2[8];
        size_t l1 = sizeof(q1) - 1, l2 = sizeof(q2) - 1;
        TU_OK(msock_ctx_recv(rc1, q1, &l1, 0));
        TU_OK(msock_ctx_recv(rc2, q2, &l2, 0));
        q1[l1] = q2[l2] = '\0';
        assert_true((strcmp(q1, "sa") == 0 && strcmp(q2, "sb") == 0) ||
                    (strcmp(q1, "sb") == 0 && strcmp(q2, "sa") == 0));
        /* Answer the second first: each context answers its own survey. */
        char answer[16];
        snprintf(answer, sizeof(answer), "re:%s:%d", q2, i);
        TU_OK(msock_ctx_send(rc2, answer, strlen(answer), 0));
        snprintf(answer, sizeof(answer), "re:%s:%d", q1, i);
        TU_OK(msock_ctx_send(rc1, answer, strlen(answer), 0));
        TU_EXPECT_RC(MSOCK_ESTATE, msock_ctx_send(rc1, "again", 5, 0));
        TU_OK(msock_ctx_close(rc1));
        TU_OK(msock_ctx_close(rc2));
    }
    const char *want_a[N] = {"re:sa:0", "re:sa:1"};
    const char *want_b[N] = {"re:sb:0", "re:sb:1"};
    /* Both read before either deadline: answers still queued at a deadline may go with it. */
    expect_answers(recv_on_ctx, &sb, want_b, N);
    expect_answers(recv_on_ctx, &sa, want_a, N);
    expect_deadline(recv_on_ctx, &sb);
    /* sa's deadline came first, so it may be over already before we ask: either answer. */
    char buf[16];
    size_t len = sizeof(buf);
    int rc = msock_ctx_recv(sa, buf, &len, 0);
    if (rc != MSOCK_ETIMEDOUT && rc != MSOCK_ESTATE)
        fail_msg("recv on a context after its deadline: %s", tu_errname(rc));
    assert_int_equal(tu_stat(surveyor.sock, MSOCK_STAT_DROPS_STALE), 0);
    TU_OK(msock_ctx_close(sa));
    TU_OK(msock_ctx_close(sb));
    for (int i = 0; i < N; i++)
        pu_node_close(&resp[i]);
    pu_node_close(&surveyor);
}

static void test_estate(void **state)
{
    (void)state;
    pu_node surveyor = pu_node_open(msock_surveyor_open);
    pu_node resp = pu_node_open(msock_respondent_open);
    char buf[16];
    size_t len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ESTATE, msock_recv(surveyor.sock, buf, &len, 0));
    TU_EXPECT_RC(MSOCK_ESTATE, msock_recv(surveyor.sock, buf, &len, MSOCK_FLAG_NONBLOCK));
    msock_msg *m = NULL;
    TU_EXPECT_RC(MSOCK_ESTATE, msock_recvmsg(surveyor.sock, &m, 0));
    TU_EXPECT_RC(MSOCK_ESTATE, msock_send(resp.sock, "x", 1, 0));
    msock_ctx sc, rc;
    TU_OK(msock_ctx_open(&sc, surveyor.sock));
    TU_OK(msock_ctx_open(&rc, resp.sock));
    len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ESTATE, msock_ctx_recv(sc, buf, &len, 0));
    TU_EXPECT_RC(MSOCK_ESTATE, msock_ctx_send(rc, "x", 1, 0));
    /* An answered survey leaves nothing to answer. */
    TU_OK(msock_socket_set_ms(surveyor.sock, MSOCK_OPT_SURVEY_TIME, 3 * TU_DEADLINE_MS));
    pu_link(&surveyor, &resp, TU_INPROC);
    pu_send_str(surveyor.sock, "q");
    pu_recv_str(resp.sock, "q");
    pu_send_str(resp.sock, "a");
    TU_EXPECT_RC(MSOCK_ESTATE, msock_send(resp.sock, "a again", 7, 0));
    pu_recv_str(surveyor.sock, "a");
    TU_OK(msock_ctx_close(sc));
    TU_OK(msock_ctx_close(rc));
    pu_node_close(&resp);
    pu_node_close(&surveyor);
}

/* Raw RESPONDENT: the header is the origin pipe id and the backtrace; sending routes by it. */
static void test_raw_respondent(void **state)
{
    (void)state;
    pu_node surveyor = pu_node_open(msock_surveyor_open);
    pu_node raw = pu_node_raw(MSOCK_PROTO_RESPONDENT);
    TU_OK(msock_socket_set_ms(surveyor.sock, MSOCK_OPT_SURVEY_TIME, 3 * TU_DEADLINE_MS));
    pu_link(&surveyor, &raw, TU_TCP4);
    pu_send_str(surveyor.sock, "raw?");
    msock_msg *m = recv_msg(raw.sock);
    expect_body(m, "raw?");
    assert_int_equal(msock_msg_header_len(m), 8);
    const uint8_t *hdr = msock_msg_header(m);
    assert_int_equal(pu_get32(hdr), msock_pipe_id(msock_msg_pipe(m)));
    assert_true(pu_get32(hdr + 4) & 0x80000000u);
    set_body(m, "raw!");
    TU_OK(msock_sendmsg(raw.sock, m, 0));
    pu_recv_str(surveyor.sock, "raw!");
    msock_ctx c;
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_ctx_open(&c, raw.sock));
    pu_node_close(&raw);
    pu_node_close(&surveyor);
}

/* A respondent that never reads: its pipe fills and misses surveys, the surveyor never
 * blocks, and the misses are counted. */
static void test_full_respondent_misses_surveys(void **state)
{
    (void)state;
    pu_node surveyor = pu_node_open(msock_surveyor_open);
    pu_node resp = pu_node_open(msock_respondent_open);
    TU_OK(msock_socket_set_int(surveyor.sock, MSOCK_OPT_SEND_QUEUE_MSGS, 4));
    TU_OK(msock_socket_set_ms(surveyor.sock, MSOCK_OPT_LINGER, 0));
    TU_OK(msock_socket_set_int(resp.sock, MSOCK_OPT_RECV_QUEUE_MSGS, 4));
    pu_link(&surveyor, &resp, TU_TCP4);
    msock_pipe pipe = tu_waiter_last_added(surveyor.w);
    enum { COUNT = 3000, SIZE = 16 * 1024 };
    uint8_t *body = calloc(1, SIZE);
    assert_non_null(body);
    for (unsigned i = 0; i < COUNT; i++) {
        int rc = msock_send(surveyor.sock, body, SIZE, 0);
        if (rc != 0)
            fail_msg("survey %u: %s", i, tu_errname(rc));
    }
    free(body);
    assert_true(pu_pipe_stat_wait(pipe, MSOCK_STAT_DROPS_QUEUE_FULL, 1, TU_DEADLINE_MS));
    assert_true(tu_stat(surveyor.sock, MSOCK_STAT_DROPS_QUEUE_FULL) >= 1);
    pu_node_close(&resp);
    pu_node_close(&surveyor);
}

int main(void)
{
    tu_watchdog(600);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_answer_inproc),
        cmocka_unit_test(test_all_answer_tcp),
        cmocka_unit_test(test_late_answer_dropped),
        cmocka_unit_test(test_new_survey_cancels_old),
        cmocka_unit_test(test_contexts),
        cmocka_unit_test(test_estate),
        cmocka_unit_test(test_raw_respondent),
        cmocka_unit_test(test_full_respondent_misses_surveys),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed == 0)
        msock_fini();
    return failed;
}
