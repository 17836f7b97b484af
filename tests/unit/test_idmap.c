/* test_idmap.c: unit tests for the handle id map: lookups, growth, removal, id order and
 * wrap-around, tombstone churn and iteration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "core/idmap.h"

/* Values are fake pointers made from numbers; the map never dereferences them. */
static void *as_value(uintptr_t n)
{
    return (void *)(n * 8 + 8);
}

static void test_alloc_get_remove(void **state)
{
    (void)state;
    ms_idmap m;
    ms_idmap_init(&m);
    assert_null(ms_idmap_get(&m, 1));
    assert_null(ms_idmap_remove(&m, 1));
    assert_null(ms_idmap_get(&m, 0));

    uint32_t a = 0, b = 0, c = 0;
    assert_int_equal(ms_idmap_alloc(&m, as_value(1), &a), 0);
    assert_int_equal(ms_idmap_alloc(&m, as_value(2), &b), 0);
    assert_int_equal(ms_idmap_alloc(&m, as_value(3), &c), 0);
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    assert_int_equal(c, 3);
    assert_int_equal(m.count, 3);
    assert_ptr_equal(ms_idmap_get(&m, a), as_value(1));
    assert_ptr_equal(ms_idmap_get(&m, b), as_value(2));
    assert_ptr_equal(ms_idmap_get(&m, c), as_value(3));
    assert_null(ms_idmap_get(&m, 0));
    assert_null(ms_idmap_get(&m, 4));
    assert_null(ms_idmap_get(&m, UINT32_MAX));

    assert_ptr_equal(ms_idmap_remove(&m, b), as_value(2));
    assert_null(ms_idmap_get(&m, b));
    assert_null(ms_idmap_remove(&m, b));
    assert_ptr_equal(ms_idmap_get(&m, a), as_value(1));
    assert_ptr_equal(ms_idmap_get(&m, c), as_value(3));
    assert_int_equal(m.count, 2);
    ms_idmap_fini(&m);

    /* Usable again after fini. */
    assert_null(ms_idmap_get(&m, a));
    assert_int_equal(ms_idmap_alloc(&m, as_value(9), &a), 0);
    assert_ptr_equal(ms_idmap_get(&m, a), as_value(9));
    ms_idmap_fini(&m);
}

static void test_many_ids_grow_the_map(void **state)
{
    (void)state;
    enum { N = 100000 };
    ms_idmap m;
    ms_idmap_init(&m);
    uint32_t *ids = malloc(N * sizeof(*ids));
    assert_non_null(ids);
    for (uintptr_t i = 0; i < N; i++) {
        assert_int_equal(ms_idmap_alloc(&m, as_value(i), &ids[i]), 0);
        if (i > 0)
            assert_true(ids[i] > ids[i - 1]);
    }
    assert_int_equal(m.count, N);
    assert_true(m.cap >= N);
    for (uintptr_t i = 0; i < N; i++)
        assert_ptr_equal(ms_idmap_get(&m, ids[i]), as_value(i));
    for (uintptr_t i = 1; i < N; i += 2)
        assert_ptr_equal(ms_idmap_remove(&m, ids[i]), as_value(i));
    for (uintptr_t i = 0; i < N; i++) {
        if (i % 2)
            assert_null(ms_idmap_get(&m, ids[i]));
        else
            assert_ptr_equal(ms_idmap_get(&m, ids[i]), as_value(i));
    }
    assert_int_equal(m.count, N / 2);
    free(ids);
    ms_idmap_fini(&m);
}

static void test_ids_are_not_reused_soon(void **state)
{
    (void)state;
    ms_idmap m;
    ms_idmap_init(&m);
    uint32_t keep = 0;
    assert_int_equal(ms_idmap_alloc(&m, as_value(0), &keep), 0);
    uint32_t last = keep;
    /* Open-close churn, as sockets and pipes do: every id is new, old ones stay unknown, and
     * tombstones do not make the table grow. */
    for (uintptr_t i = 1; i <= 200000; i++) {
        uint32_t id = 0;
        assert_int_equal(ms_idmap_alloc(&m, as_value(i), &id), 0);
        assert_true(id > last);
        assert_null(ms_idmap_get(&m, last == keep ? 0 : last));
        assert_ptr_equal(ms_idmap_remove(&m, id), as_value(i));
        assert_null(ms_idmap_get(&m, id));
        last = id;
    }
    assert_int_equal(m.count, 1);
    assert_true(m.cap <= 64);
    assert_ptr_equal(ms_idmap_get(&m, keep), as_value(0));
    ms_idmap_fini(&m);
}

static void test_wrap_skips_zero_and_ids_in_use(void **state)
{
    (void)state;
    ms_idmap m;
    ms_idmap_init(&m);
    uint32_t one = 0, two = 0, id = 0;
    assert_int_equal(ms_idmap_alloc(&m, as_value(1), &one), 0);
    assert_int_equal(ms_idmap_alloc(&m, as_value(2), &two), 0);
    m.next_id = UINT32_MAX - 1;
    assert_int_equal(ms_idmap_alloc(&m, as_value(3), &id), 0);
    assert_int_equal(id, UINT32_MAX - 1);
    assert_int_equal(ms_idmap_alloc(&m, as_value(4), &id), 0);
    assert_int_equal(id, UINT32_MAX);
    assert_int_equal(ms_idmap_alloc(&m, as_value(5), &id), 0);
    assert_int_equal(id, 3);
    assert_ptr_equal(ms_idmap_get(&m, one), as_value(1));
    assert_ptr_equal(ms_idmap_get(&m, two), as_value(2));
    assert_ptr_equal(ms_idmap_get(&m, UINT32_MAX), as_value(4));
    assert_ptr_equal(ms_idmap_get(&m, 3), as_value(5));
    ms_idmap_fini(&m);
}

struct visit {
    size_t calls;
    uint64_t id_sum;
    uint64_t value_sum;
};

static void visit_cb(uint32_t id, void *value, void *arg)
{
    struct visit *v = arg;
    v->calls++;
    v->id_sum += id;
    v->value_sum += (uintptr_t)value;
}

static void test_foreach_visits_each_entry_once(void **state)
{
    (void)state;
    ms_idmap m;
    ms_idmap_init(&m);
    struct visit v = {0, 0, 0};
    ms_idmap_foreach(&m, visit_cb, &v);
    assert_int_equal(v.calls, 0);

    uint64_t id_sum = 0, value_sum = 0;
    for (uintptr_t i = 0; i < 1000; i++) {
        uint32_t id;
        assert_int_equal(ms_idmap_alloc(&m, as_value(i), &id), 0);
        if (i % 3 == 0) {
            ms_idmap_remove(&m, id);
            continue;
        }
        id_sum += id;
        value_sum += (uintptr_t)as_value(i);
    }
    ms_idmap_foreach(&m, visit_cb, &v);
    assert_int_equal(v.calls, m.count);
    assert_int_equal(v.calls, 666);
    assert_true(v.id_sum == id_sum);
    assert_true(v.value_sum == value_sum);
    ms_idmap_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_get_remove),
        cmocka_unit_test(test_many_ids_grow_the_map),
        cmocka_unit_test(test_ids_are_not_reused_soon),
        cmocka_unit_test(test_wrap_skips_zero_and_ids_in_use),
        cmocka_unit_test(test_foreach_visits_each_entry_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
