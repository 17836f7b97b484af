/* test_msgq.c: unit tests for the bounded message FIFO: count and byte limits, the oversize
 * message on an empty queue, order, forced puts and cleanup. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/msg.h"
#include "core/msgq.h"

static msock_msg *new_msg(size_t body_len, uint32_t tag)
{
    msock_msg *m = NULL;
    assert_int_equal(ms_msg_alloc(&m, body_len), 0);
    m->pipe_id = tag;
    return m;
}

static void test_count_limit(void **state)
{
    (void)state;
    ms_msgq q;
    ms_msgq_init(&q, 3, 0);
    assert_true(ms_msgq_empty(&q));
    for (uint32_t i = 0; i < 3; i++) {
        assert_false(ms_msgq_full(&q));
        assert_int_equal(ms_msgq_put(&q, new_msg(10, i)), 0);
    }
    assert_true(ms_msgq_full(&q));
    assert_false(ms_msgq_can_put(&q, 0));
    msock_msg *extra = new_msg(0, 99);
    assert_int_equal(ms_msgq_put(&q, extra), MSOCK_EAGAIN);
    assert_null(extra->next);
    assert_int_equal(q.count, 3);
    assert_int_equal(q.bytes, 30);
    ms_msg_free(extra);

    msock_msg *m = ms_msgq_get(&q);
    assert_int_equal(m->pipe_id, 0);
    ms_msg_free(m);
    assert_true(ms_msgq_can_put(&q, 1000000));
    ms_msgq_fini(&q);
}

static void test_byte_limit(void **state)
{
    (void)state;
    ms_msgq q;
    ms_msgq_init(&q, 100, 100);
    assert_int_equal(ms_msgq_put(&q, new_msg(60, 1)), 0);
    assert_false(ms_msgq_can_put(&q, 41));
    assert_true(ms_msgq_can_put(&q, 40));
    msock_msg *big = new_msg(41, 2);
    assert_int_equal(ms_msgq_put(&q, big), MSOCK_EAGAIN);
    /* Header bytes count: 36 + 4 = 40 fills the queue exactly. */
    msock_msg *with_header = new_msg(36, 3);
    assert_int_equal(ms_msg_header_append(with_header, "\x80\0\0\1", 4), 0);
    assert_int_equal(ms_msgq_put(&q, with_header), 0);
    assert_int_equal(q.bytes, 100);
    assert_true(ms_msgq_full(&q));
    assert_false(ms_msgq_can_put(&q, 0));
    assert_int_equal(ms_msgq_put(&q, big), MSOCK_EAGAIN);

    ms_msg_free(ms_msgq_get(&q));
    assert_int_equal(q.bytes, 40);
    assert_int_equal(ms_msgq_put(&q, big), 0);
    assert_int_equal(q.bytes, 81);
    ms_msgq_fini(&q);
    assert_true(ms_msgq_empty(&q));
    assert_int_equal(q.bytes, 0);
}

static void test_empty_queue_takes_oversize_message(void **state)
{
    (void)state;
    ms_msgq q;
    ms_msgq_init(&q, 5, 10);
    assert_true(ms_msgq_can_put(&q, 1000));
    assert_int_equal(ms_msgq_put(&q, new_msg(1000, 1)), 0);
    assert_int_equal(q.bytes, 1000);
    assert_true(ms_msgq_full(&q));
    msock_msg *small = new_msg(1, 2);
    assert_int_equal(ms_msgq_put(&q, small), MSOCK_EAGAIN);
    ms_msg_free(ms_msgq_get(&q));
    assert_int_equal(ms_msgq_put(&q, small), 0);
    ms_msgq_fini(&q);
}

static void test_fifo_order(void **state)
{
    (void)state;
    ms_msgq q;
    ms_msgq_init(&q, 1000, 0);
    assert_null(ms_msgq_get(&q));
    assert_null(ms_msgq_peek(&q));
    for (uint32_t round = 0; round < 3; round++) {
        for (uint32_t i = 1; i <= 200; i++)
            assert_int_equal(ms_msgq_put(&q, new_msg(i % 7, i)), 0);
        assert_int_equal(q.count, 200);
        for (uint32_t i = 1; i <= 200; i++) {
            assert_int_equal(ms_msgq_peek(&q)->pipe_id, i);
            msock_msg *m = ms_msgq_get(&q);
            assert_int_equal(m->pipe_id, i);
            assert_null(m->next);
            ms_msg_free(m);
        }
        assert_true(ms_msgq_empty(&q));
        assert_int_equal(q.bytes, 0);
        assert_null(q.head);
        assert_null(q.tail);
        assert_null(ms_msgq_get(&q));
    }
    ms_msgq_fini(&q);
}

static void test_put_force_ignores_limits(void **state)
{
    (void)state;
    ms_msgq q;
    ms_msgq_init(&q, 2, 50);
    for (uint32_t i = 1; i <= 5; i++)
        ms_msgq_put_force(&q, new_msg(30, i));
    assert_int_equal(q.count, 5);
    assert_int_equal(q.bytes, 150);
    assert_true(ms_msgq_full(&q));
    assert_false(ms_msgq_can_put(&q, 0));
    msock_msg *m = new_msg(0, 6);
    assert_int_equal(ms_msgq_put(&q, m), MSOCK_EAGAIN);
    ms_msgq_put_force(&q, m);
    for (uint32_t i = 1; i <= 6; i++) {
        msock_msg *got = ms_msgq_get(&q);
        assert_int_equal(got->pipe_id, i);
        ms_msg_free(got);
    }
    assert_int_equal(q.bytes, 0);
    ms_msgq_fini(&q);
}

static void test_set_limits(void **state)
{
    (void)state;
    ms_msgq q;
    ms_msgq_init(&q, 0, 0);
    /* A count limit of 0 behaves as 1. */
    assert_int_equal(q.max_count, 1);
    assert_int_equal(ms_msgq_put(&q, new_msg(5, 1)), 0);
    msock_msg *m = new_msg(5, 2);
    assert_int_equal(ms_msgq_put(&q, m), MSOCK_EAGAIN);
    ms_msgq_set_limits(&q, 4, 8);
    assert_false(ms_msgq_can_put(&q, 5));
    assert_true(ms_msgq_can_put(&q, 3));
    ms_msgq_set_limits(&q, 4, 0);
    assert_int_equal(ms_msgq_put(&q, m), 0);
    ms_msgq_set_limits(&q, 1, 0);
    assert_true(ms_msgq_full(&q));
    ms_msgq_fini(&q);
}

static void test_fini_frees_everything(void **state)
{
    (void)state;
    ms_msgq q;
    ms_msgq_init(&q, 100, 0);
    for (uint32_t i = 0; i < 50; i++) {
        msock_msg *m = new_msg((size_t)i * 1000, i);
        if (i % 2 == 0) {
            msock_msg *copy;
            assert_int_equal(ms_msg_dup(&copy, m), 0);
            ms_msgq_put_force(&q, copy);
        }
        assert_int_equal(ms_msgq_put(&q, m), 0);
    }
    ms_msgq_fini(&q);
    assert_true(ms_msgq_empty(&q));
    assert_null(q.head);
    /* The queue can be used again after fini. */
    assert_int_equal(ms_msgq_put(&q, new_msg(1, 1)), 0);
    ms_msgq_fini(&q);
    ms_msgq_fini(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_limit),
        cmocka_unit_test(test_byte_limit),
        cmocka_unit_test(test_empty_queue_takes_oversize_message),
        cmocka_unit_test(test_fifo_order),
        cmocka_unit_test(test_put_force_ignores_limits),
        cmocka_unit_test(test_set_limits),
        cmocka_unit_test(test_fini_frees_everything),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ms_msg_cache_flush();
    return failed;
}
