/* test_msg.c: unit tests for messages: body edits and their limits, the header area, shared
 * bodies with copy-on-write, recycling, and messages that cross threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/msg.h"

static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

static bool has_pattern(const uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != (uint8_t)(seed + i * 7))
            return false;
    }
    return true;
}

static unsigned chunk_refs(const msock_msg *m)
{
    return atomic_load(&m->chunk->refs);
}

static void test_alloc_sizes(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 47, 48, 63, 64, 65, 4096, 65535, 65536, 65537, 3u << 20};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        msock_msg *m = NULL;
        assert_int_equal(msock_msg_alloc(&m, sizes[i]), 0);
        assert_non_null(m);
        assert_int_equal(msock_msg_len(m), sizes[i]);
        assert_int_equal(msock_msg_header_len(m), 0);
        assert_int_equal(msock_msg_pipe(m).id, 0);
        uint8_t *body = msock_msg_body(m);
        assert_non_null(body);
        fill_pattern(body, sizes[i], (unsigned)i);
        assert_true(has_pattern(msock_msg_body(m), sizes[i], (unsigned)i));
        msock_msg_free(m);
    }
}

static void test_null_arguments(void **state)
{
    (void)state;
    msock_msg *m = NULL, *d = (msock_msg *)&d;
    assert_int_equal(msock_msg_alloc(NULL, 10), MSOCK_EINVAL);
    msock_msg_free(NULL);
    assert_int_equal(msock_msg_dup(NULL, NULL), MSOCK_EINVAL);
    assert_int_equal(msock_msg_dup(&d, NULL), MSOCK_EINVAL);
    assert_null(d);
    assert_null(msock_msg_body(NULL));
    assert_int_equal(msock_msg_len(NULL), 0);
    assert_int_equal(msock_msg_realloc(NULL, 5), MSOCK_EINVAL);
    assert_int_equal(msock_msg_append(NULL, "x", 1), MSOCK_EINVAL);
    assert_int_equal(msock_msg_insert(NULL, "x", 1), MSOCK_EINVAL);
    assert_int_equal(msock_msg_trim(NULL, 0), MSOCK_EINVAL);
    assert_int_equal(msock_msg_chop(NULL, 0), MSOCK_EINVAL);
    msock_msg_clear(NULL);
    assert_null(msock_msg_header(NULL));
    assert_int_equal(msock_msg_header_len(NULL), 0);
    assert_int_equal(msock_msg_pipe(NULL).id, 0);
    msock_msg_set_pipe(NULL, (msock_pipe){7});

    assert_int_equal(msock_msg_alloc(&m, 3), 0);
    assert_int_equal(msock_msg_append(m, NULL, 1), MSOCK_EINVAL);
    assert_int_equal(msock_msg_insert(m, NULL, 1), MSOCK_EINVAL);
    assert_int_equal(msock_msg_append(m, NULL, 0), 0);
    assert_int_equal(msock_msg_insert(m, NULL, 0), 0);
    assert_int_equal(msock_msg_len(m), 3);
    msock_msg_free(m);
}

static void test_huge_sizes_fail_cleanly(void **state)
{
    (void)state;
    msock_msg *m = (msock_msg *)&m;
    assert_int_equal(msock_msg_alloc(&m, SIZE_MAX), MSOCK_ENOMEM);
    assert_null(m);
    assert_int_equal(msock_msg_alloc(&m, 4), 0);
    memcpy(msock_msg_body(m), "abcd", 4);
    assert_int_equal(msock_msg_realloc(m, SIZE_MAX), MSOCK_ENOMEM);
    assert_int_equal(msock_msg_append(m, "x", SIZE_MAX - 2), MSOCK_ENOMEM);
    assert_int_equal(msock_msg_insert(m, "x", SIZE_MAX - 2), MSOCK_ENOMEM);
    assert_int_equal(msock_msg_len(m), 4);
    assert_memory_equal(msock_msg_body(m), "abcd", 4);
    msock_msg_free(m);
}

static void test_append_grows_geometrically(void **state)
{
    (void)state;
    msock_msg *m;
    assert_int_equal(msock_msg_alloc(&m, 0), 0);
    ms_chunk *last = NULL;
    int moves = 0;
    const size_t total = 200000;
    for (size_t i = 0; i < total; i++) {
        uint8_t byte = (uint8_t)(i * 7);
        assert_int_equal(msock_msg_append(m, &byte, 1), 0);
        if (m->chunk != last) {
            moves++;
            last = m->chunk;
        }
    }
    assert_int_equal(msock_msg_len(m), total);
    assert_true(has_pattern(msock_msg_body(m), total, 0));
    /* Doubling from 64 B to 256 KiB takes about 13 steps; one chunk per byte would be 200000. */
    assert_true(moves <= 20);
    msock_msg_free(m);
}

static void test_insert_uses_headroom(void **state)
{
    (void)state;
    msock_msg *m;
    assert_int_equal(msock_msg_alloc(&m, 5), 0);
    memcpy(msock_msg_body(m), "world", 5);
    uint8_t *body = m->body;
    ms_chunk *chunk = m->chunk;
    assert_int_equal(msock_msg_insert(m, "hello ", 6), 0);
    /* A small insert lands in the headroom: same chunk, body start moved back, no memmove. */
    assert_ptr_equal(m->chunk, chunk);
    assert_ptr_equal(m->body, body - 6);
    assert_int_equal(msock_msg_len(m), 11);
    assert_memory_equal(msock_msg_body(m), "hello world", 11);

    uint8_t big[5000];
    fill_pattern(big, sizeof(big), 3);
    assert_int_equal(msock_msg_insert(m, big, sizeof(big)), 0);
    assert_int_equal(msock_msg_len(m), sizeof(big) + 11);
    assert_true(has_pattern(msock_msg_body(m), sizeof(big), 3));
    assert_memory_equal((uint8_t *)msock_msg_body(m) + sizeof(big), "hello world", 11);
    msock_msg_free(m);

    /* Byte-by-byte inserts build the body back to front. */
    assert_int_equal(msock_msg_alloc(&m, 0), 0);
    const size_t total = 20000;
    for (size_t i = total; i-- > 0;) {
        uint8_t byte = (uint8_t)(i * 7);
        assert_int_equal(msock_msg_insert(m, &byte, 1), 0);
    }
    assert_int_equal(msock_msg_len(m), total);
    assert_true(has_pattern(msock_msg_body(m), total, 0));
    msock_msg_free(m);
}

static void test_append_and_insert_from_own_body(void **state)
{
    (void)state;
    msock_msg *m;
    assert_int_equal(msock_msg_alloc(&m, 0), 0);
    assert_int_equal(msock_msg_append(m, "abc", 3), 0);
    /* Each of these has to grow or move the body it reads from. */
    for (int i = 0; i < 12; i++)
        assert_int_equal(msock_msg_append(m, msock_msg_body(m), msock_msg_len(m)), 0);
    assert_int_equal(msock_msg_len(m), 3u << 12);
    const uint8_t *p = msock_msg_body(m);
    for (size_t i = 0; i < msock_msg_len(m); i += 3)
        assert_memory_equal(p + i, "abc", 3);

    assert_int_equal(msock_msg_realloc(m, 3), 0);
    for (int i = 0; i < 12; i++)
        assert_int_equal(msock_msg_insert(m, msock_msg_body(m), msock_msg_len(m)), 0);
    p = msock_msg_body(m);
    for (size_t i = 0; i < msock_msg_len(m); i += 3)
        assert_memory_equal(p + i, "abc", 3);
    msock_msg_free(m);
}

static void test_trim_and_chop_limits(void **state)
{
    (void)state;
    msock_msg *m;
    assert_int_equal(msock_msg_alloc(&m, 0), 0);
    assert_int_equal(msock_msg_trim(m, 0), 0);
    assert_int_equal(msock_msg_chop(m, 0), 0);
    assert_int_equal(msock_msg_trim(m, 1), MSOCK_EINVAL);
    assert_int_equal(msock_msg_chop(m, 1), MSOCK_EINVAL);

    assert_int_equal(msock_msg_append(m, "0123456789", 10), 0);
    assert_int_equal(msock_msg_trim(m, 11), MSOCK_EINVAL);
    assert_int_equal(msock_msg_chop(m, 11), MSOCK_EINVAL);
    assert_int_equal(msock_msg_len(m), 10);
    assert_int_equal(msock_msg_trim(m, 2), 0);
    assert_int_equal(msock_msg_chop(m, 3), 0);
    assert_int_equal(msock_msg_len(m), 5);
    assert_memory_equal(msock_msg_body(m), "23456", 5);
    assert_int_equal(msock_msg_trim(m, 5), 0);
    assert_int_equal(msock_msg_len(m), 0);
    assert_int_equal(msock_msg_append(m, "xy", 2), 0);
    assert_int_equal(msock_msg_chop(m, 2), 0);
    assert_int_equal(msock_msg_len(m), 0);
    msock_msg_free(m);
}

static void test_realloc_keeps_contents(void **state)
{
    (void)state;
    msock_msg *m;
    assert_int_equal(msock_msg_alloc(&m, 0), 0);
    assert_int_equal(msock_msg_realloc(m, 0), 0);
    assert_int_equal(msock_msg_realloc(m, 10), 0);
    fill_pattern(msock_msg_body(m), 10, 1);
    assert_int_equal(msock_msg_realloc(m, 100000), 0);
    assert_int_equal(msock_msg_len(m), 100000);
    assert_true(has_pattern(msock_msg_body(m), 10, 1));
    memset((uint8_t *)msock_msg_body(m) + 10, 0xAB, 100000 - 10);
    assert_int_equal(msock_msg_realloc(m, 4), 0);
    assert_int_equal(msock_msg_len(m), 4);
    assert_true(has_pattern(msock_msg_body(m), 4, 1));
    assert_int_equal(msock_msg_realloc(m, 0), 0);
    assert_int_equal(msock_msg_len(m), 0);
    msock_msg_free(m);
}

static void test_clear(void **state)
{
    (void)state;
    msock_msg *m, *d;
    assert_int_equal(msock_msg_alloc(&m, 8), 0);
    memcpy(msock_msg_body(m), "abcdefgh", 8);
    assert_int_equal(ms_msg_header_append(m, "HD", 2), 0);
    assert_int_equal(msock_msg_dup(&d, m), 0);
    msock_msg_clear(d);
    assert_int_equal(msock_msg_len(d), 0);
    assert_int_equal(msock_msg_header_len(d), 2);
    assert_int_equal(msock_msg_len(m), 8);
    assert_memory_equal(msock_msg_body(m), "abcdefgh", 8);
    assert_int_equal(msock_msg_append(d, "z", 1), 0);
    assert_memory_equal(msock_msg_body(m), "abcdefgh", 8);
    msock_msg_clear(m);
    assert_int_equal(msock_msg_len(m), 0);
    assert_int_equal(msock_msg_insert(m, "q", 1), 0);
    assert_memory_equal(msock_msg_body(m), "q", 1);
    assert_memory_equal(msock_msg_body(d), "z", 1);
    msock_msg_free(m);
    msock_msg_free(d);
}

static void test_header_area(void **state)
{
    (void)state;
    msock_msg *m, *d;
    uint8_t words[MS_MSG_HEADER_EXT_MAX + 1];
    fill_pattern(words, sizeof(words), 9);
    assert_int_equal(msock_msg_alloc(&m, 0), 0);
    assert_ptr_equal(msock_msg_header(m), m->header);
    assert_int_equal(ms_msg_header_append(m, words, MS_MSG_HEADER_EXT_MAX + 1), MSOCK_EMSGSIZE);
    assert_int_equal(msock_msg_header_len(m), 0);
    assert_int_equal(ms_msg_header_append(m, words, MS_MSG_HEADER_MAX - 4), 0);
    assert_int_equal(ms_msg_header_append(m, words + MS_MSG_HEADER_MAX - 4, 4), 0);
    assert_int_equal(msock_msg_header_len(m), MS_MSG_HEADER_MAX);
    assert_ptr_equal(msock_msg_header(m), m->header); /* still inline */
    assert_true(has_pattern(msock_msg_header(m), MS_MSG_HEADER_MAX, 9));
    /* Past the inline area the header spills, up to MS_MSG_HEADER_EXT_MAX, keeping its bytes. */
    assert_int_equal(ms_msg_header_append(m, words + MS_MSG_HEADER_MAX, 4), 0);
    assert_ptr_not_equal(msock_msg_header(m), m->header);
    assert_true(has_pattern(msock_msg_header(m), MS_MSG_HEADER_MAX + 4, 9));
    assert_int_equal(ms_msg_header_append(m, words, MS_MSG_HEADER_EXT_MAX), MSOCK_EMSGSIZE);
    assert_int_equal(ms_msg_header_append(m, words + MS_MSG_HEADER_MAX + 4,
                                          MS_MSG_HEADER_EXT_MAX - MS_MSG_HEADER_MAX - 4), 0);
    assert_int_equal(msock_msg_header_len(m), MS_MSG_HEADER_EXT_MAX);
    assert_true(has_pattern(msock_msg_header(m), MS_MSG_HEADER_EXT_MAX, 9));
    assert_int_equal(ms_msg_header_append(m, words, 1), MSOCK_EMSGSIZE);
    assert_int_equal(ms_msg_header_append(m, words, 0), 0);
    /* A copy gets its own spilled header. */
    assert_int_equal(msock_msg_dup(&d, m), 0);
    assert_ptr_not_equal(msock_msg_header(d), msock_msg_header(m));
    assert_memory_equal(msock_msg_header(d), msock_msg_header(m), MS_MSG_HEADER_EXT_MAX);
    msock_msg_free(d);

    assert_int_equal(ms_msg_header_trim(m, MS_MSG_HEADER_EXT_MAX + 1), MSOCK_EINVAL);
    assert_int_equal(ms_msg_header_chop(m, MS_MSG_HEADER_EXT_MAX + 1), MSOCK_EINVAL);
    assert_int_equal(ms_msg_header_chop(m, MS_MSG_HEADER_EXT_MAX - MS_MSG_HEADER_MAX), 0);
    assert_int_equal(ms_msg_header_trim(m, 4), 0);
    assert_int_equal(msock_msg_header_len(m), MS_MSG_HEADER_MAX - 4);
    assert_memory_equal(msock_msg_header(m), words + 4, MS_MSG_HEADER_MAX - 4);
    assert_int_equal(ms_msg_header_chop(m, 8), 0);
    assert_int_equal(msock_msg_header_len(m), MS_MSG_HEADER_MAX - 12);
    assert_memory_equal(msock_msg_header(m), words + 4, MS_MSG_HEADER_MAX - 12);
    /* The header is not part of the body until it is moved there. */
    assert_int_equal(msock_msg_len(m), 0);
    assert_int_equal(ms_msg_wire_len(m), MS_MSG_HEADER_MAX - 12);
    assert_int_equal(ms_msg_header_to_body(m), 0);
    assert_int_equal(msock_msg_header_len(m), 0);
    assert_int_equal(msock_msg_len(m), MS_MSG_HEADER_MAX - 12);
    assert_memory_equal(msock_msg_body(m), words + 4, MS_MSG_HEADER_MAX - 12);
    ms_msg_header_clear(m);
    assert_int_equal(msock_msg_header_len(m), 0);
    msock_msg_free(m);
}

static void test_dup_shares_then_copies_on_write(void **state)
{
    (void)state;
    msock_msg *m, *d;
    assert_int_equal(msock_msg_alloc(&m, 6), 0);
    memcpy(msock_msg_body(m), "shared", 6);
    assert_int_equal(ms_msg_header_append(m, "\x80\0\0\1", 4), 0);
    msock_msg_set_pipe(m, (msock_pipe){42});
    assert_int_equal(msock_msg_dup(&d, m), 0);
    assert_ptr_equal(d->chunk, m->chunk);
    assert_ptr_equal(d->body, m->body);
    assert_int_equal(chunk_refs(m), 2);
    assert_int_equal(msock_msg_header_len(d), 4);
    assert_memory_equal(msock_msg_header(d), "\x80\0\0\1", 4);
    assert_int_equal(msock_msg_pipe(d).id, 42);

    /* Trim and chop only move the view: still shared. */
    assert_int_equal(msock_msg_trim(d, 1), 0);
    assert_int_equal(msock_msg_chop(d, 1), 0);
    assert_ptr_equal(d->chunk, m->chunk);

    assert_int_equal(msock_msg_append(d, "!", 1), 0);
    assert_ptr_not_equal(d->chunk, m->chunk);
    assert_int_equal(chunk_refs(m), 1);
    assert_int_equal(chunk_refs(d), 1);
    assert_int_equal(msock_msg_len(d), 5);
    assert_memory_equal(msock_msg_body(d), "hare!", 5);
    assert_memory_equal(msock_msg_body(m), "shared", 6);
    msock_msg_free(d);

    /* Writing through msock_msg_body is a change too. */
    assert_int_equal(msock_msg_dup(&d, m), 0);
    uint8_t *w = msock_msg_body(d);
    assert_ptr_not_equal(w, m->body);
    w[0] = 'S';
    assert_memory_equal(msock_msg_body(m), "shared", 6);
    assert_memory_equal(msock_msg_body(d), "Shared", 6);
    msock_msg_free(d);

    /* Insert, realloc growth and make_unique copy; the original outlives nothing it needs. */
    assert_int_equal(msock_msg_dup(&d, m), 0);
    assert_int_equal(msock_msg_insert(d, ">", 1), 0);
    assert_memory_equal(msock_msg_body(d), ">shared", 7);
    msock_msg_free(d);
    assert_int_equal(msock_msg_dup(&d, m), 0);
    assert_int_equal(msock_msg_realloc(d, 1000), 0);
    assert_memory_equal(msock_msg_body(d), "shared", 6);
    msock_msg_free(d);
    assert_int_equal(msock_msg_dup(&d, m), 0);
    assert_int_equal(ms_msg_make_unique(d), 0);
    assert_ptr_not_equal(d->chunk, m->chunk);
    assert_int_equal(ms_msg_make_unique(d), 0);
    msock_msg_free(m);
    assert_memory_equal(msock_msg_body(d), "shared", 6);
    msock_msg_free(d);

    /* An empty message dups to an empty message. */
    assert_int_equal(msock_msg_alloc(&m, 0), 0);
    assert_int_equal(msock_msg_dup(&d, m), 0);
    assert_int_equal(msock_msg_len(d), 0);
    assert_int_equal(msock_msg_append(d, "a", 1), 0);
    assert_int_equal(msock_msg_len(m), 0);
    msock_msg_free(m);
    msock_msg_free(d);
}

static void test_fan_out_copies_share_one_body(void **state)
{
    (void)state;
    msock_msg *m, *copies[16];
    assert_int_equal(msock_msg_alloc(&m, 3000), 0);
    fill_pattern(msock_msg_body(m), 3000, 5);
    for (int i = 0; i < 16; i++)
        assert_int_equal(msock_msg_dup(&copies[i], m), 0);
    assert_int_equal(chunk_refs(m), 17);
    msock_msg_free(m);
    for (int i = 0; i < 16; i++) {
        assert_true(has_pattern(copies[i]->body, 3000, 5));
        msock_msg_free(copies[i]);
    }
}

static void test_pipe_id(void **state)
{
    (void)state;
    msock_msg *m;
    assert_int_equal(msock_msg_alloc(&m, 1), 0);
    assert_int_equal(msock_msg_pipe(m).id, 0);
    msock_msg_set_pipe(m, (msock_pipe){UINT32_MAX});
    assert_int_equal(msock_msg_pipe(m).id, UINT32_MAX);
    msock_msg_set_pipe(m, (msock_pipe){0});
    assert_int_equal(msock_msg_pipe(m).id, 0);
    msock_msg_free(m);
}

static void test_recycling_returns_usable_memory(void **state)
{
    (void)state;
    msock_msg *m;
    assert_int_equal(msock_msg_alloc(&m, 100), 0);
    msock_msg *first = m;
    ms_chunk *first_chunk = m->chunk;
    msock_msg_set_pipe(m, (msock_pipe){5});
    assert_int_equal(ms_msg_header_append(m, "abcd", 4), 0);
    msock_msg_free(m);
    /* The cache is last-in first-out: the same struct and chunk come back, reset. */
    assert_int_equal(msock_msg_alloc(&m, 90), 0);
    assert_ptr_equal(m, first);
    assert_ptr_equal(m->chunk, first_chunk);
    assert_int_equal(msock_msg_pipe(m).id, 0);
    assert_int_equal(msock_msg_header_len(m), 0);
    assert_null(m->next);
    assert_int_equal(chunk_refs(m), 1);
    msock_msg_free(m);

    /* Power-of-two bodies, the usual benchmark sizes, fill a recycled class exactly. */
    const size_t exact[] = {64, 4096, 65536};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(msock_msg_alloc(&m, exact[i]), 0);
        assert_int_equal(m->chunk->cap, exact[i]);
        assert_int_not_equal(m->chunk->size_class, UINT32_MAX);
        msock_msg_free(m);
    }
    assert_int_equal(msock_msg_alloc(&m, 65537), 0);
    assert_int_equal(m->chunk->size_class, UINT32_MAX);
    msock_msg_free(m);

    /* Churn through every class and past the cache bounds; ASan checks each write. */
    for (int round = 0; round < 3; round++) {
        static msock_msg *many[300];
        for (size_t i = 0; i < 300; i++) {
            size_t len = ((size_t)1 << (i % 18)) + i;
            assert_int_equal(msock_msg_alloc(&many[i], len), 0);
            fill_pattern(msock_msg_body(many[i]), len, (unsigned)i);
            ms_chunk *c = many[i]->chunk;
            assert_true((size_t)(many[i]->body - c->data) + len <= c->cap);
        }
        for (size_t i = 0; i < 300; i++) {
            size_t len = ((size_t)1 << (i % 18)) + i;
            assert_true(has_pattern(msock_msg_body(many[i]), len, (unsigned)i));
            msock_msg_free(many[i]);
        }
    }
    ms_msg_cache_flush();
    ms_msg_cache_flush();
    assert_int_equal(msock_msg_alloc(&m, 10), 0);
    msock_msg_free(m);
    ms_msg_cache_flush();
}

/* A small blocking mailbox between two threads; waits end after a generous deadline so a bug
 * fails the test instead of hanging it. */
#define BOX_SLOTS 8
struct mailbox {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    msock_msg *slots[BOX_SLOTS];
    size_t head, count;
};

static void box_init(struct mailbox *b)
{
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    b->head = b->count = 0;
}

static void box_fini(struct mailbox *b)
{
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
}

static bool box_wait(struct mailbox *b, bool for_room)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 60;
    while (for_room ? b->count == BOX_SLOTS : b->count == 0) {
        if (pthread_cond_timedwait(&b->cond, &b->lock, &deadline) != 0)
            return false;
    }
    return true;
}

static bool box_put(struct mailbox *b, msock_msg *m)
{
    pthread_mutex_lock(&b->lock);
    bool ok = box_wait(b, true);
    if (ok) {
        b->slots[(b->head + b->count) % BOX_SLOTS] = m;
        b->count++;
        pthread_cond_broadcast(&b->cond);
    }
    pthread_mutex_unlock(&b->lock);
    return ok;
}

static msock_msg *box_get(struct mailbox *b)
{
    msock_msg *m = NULL;
    pthread_mutex_lock(&b->lock);
    if (box_wait(b, false)) {
        m = b->slots[b->head];
        b->head = (b->head + 1) % BOX_SLOTS;
        b->count--;
        pthread_cond_broadcast(&b->cond);
    }
    pthread_mutex_unlock(&b->lock);
    return m;
}

#define PING_ROUNDS 3000
struct ping_pong {
    struct mailbox to_peer, to_main;
    int peer_errors;
};

static size_t ping_len(int round)
{
    return (size_t)(round * 37) % 9000;
}

/* The peer checks and frees what main sends (main keeps a copy sharing the body and edits it
 * at the same time), and answers with messages of its own that main frees. */
static void *ping_peer(void *arg)
{
    struct ping_pong *pp = arg;
    for (int round = 0; round < PING_ROUNDS; round++) {
        msock_msg *m = box_get(&pp->to_peer);
        if (m == NULL) {
            pp->peer_errors++;
            break;
        }
        if (m->len != ping_len(round) || !has_pattern(m->body, m->len, (unsigned)round))
            pp->peer_errors++;
        msock_msg_free(m);
        msock_msg *reply;
        if (msock_msg_alloc(&reply, ping_len(round) / 2) != 0) {
            pp->peer_errors++;
            break;
        }
        fill_pattern(msock_msg_body(reply), msock_msg_len(reply), (unsigned)round + 1);
        if (!box_put(&pp->to_main, reply)) {
            msock_msg_free(reply);
            pp->peer_errors++;
            break;
        }
    }
    ms_msg_cache_flush();
    return NULL;
}

static void test_two_thread_ping_pong(void **state)
{
    (void)state;
    struct ping_pong pp = {.peer_errors = 0};
    box_init(&pp.to_peer);
    box_init(&pp.to_main);
    pthread_t peer;
    assert_int_equal(pthread_create(&peer, NULL, ping_peer, &pp), 0);
    int errors = 0;
    for (int round = 0; round < PING_ROUNDS && errors == 0; round++) {
        msock_msg *m, *mine;
        assert_int_equal(msock_msg_alloc(&m, ping_len(round)), 0);
        fill_pattern(msock_msg_body(m), ping_len(round), (unsigned)round);
        assert_int_equal(msock_msg_dup(&mine, m), 0);
        assert_true(box_put(&pp.to_peer, m));
        /* Copy-on-write while the peer reads the shared body. */
        assert_int_equal(msock_msg_append(mine, "tail", 4), 0);
        assert_true(has_pattern(mine->body, ping_len(round), (unsigned)round));
        msock_msg_free(mine);
        msock_msg *reply = box_get(&pp.to_main);
        assert_non_null(reply);
        if (!has_pattern(reply->body, reply->len, (unsigned)round + 1))
            errors++;
        msock_msg_free(reply);
    }
    assert_int_equal(pthread_join(peer, NULL), 0);
    assert_int_equal(errors, 0);
    assert_int_equal(pp.peer_errors, 0);
    box_fini(&pp.to_peer);
    box_fini(&pp.to_main);
    ms_msg_cache_flush();
}

/* A thread that frees messages and exits without flushing: its thread-exit destructor must
 * release its cache, or the leak checker reports it. */
static void *cache_then_exit(void *arg)
{
    msock_msg **from_main = arg;
    for (int i = 0; i < 64; i++)
        msock_msg_free(from_main[i]);
    for (int i = 0; i < 200; i++) {
        msock_msg *m;
        if (msock_msg_alloc(&m, (size_t)(i * 331) % 70000) != 0)
            return (void *)1;
        msock_msg_free(m);
    }
    return NULL;
}

static void test_thread_exit_frees_cache(void **state)
{
    (void)state;
    static msock_msg *from_main[64];
    for (int i = 0; i < 64; i++)
        assert_int_equal(msock_msg_alloc(&from_main[i], (size_t)i * 100), 0);
    pthread_t t;
    void *result = (void *)1;
    assert_int_equal(pthread_create(&t, NULL, cache_then_exit, from_main), 0);
    assert_int_equal(pthread_join(t, &result), 0);
    assert_null(result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_sizes),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_huge_sizes_fail_cleanly),
        cmocka_unit_test(test_append_grows_geometrically),
        cmocka_unit_test(test_insert_uses_headroom),
        cmocka_unit_test(test_append_and_insert_from_own_body),
        cmocka_unit_test(test_trim_and_chop_limits),
        cmocka_unit_test(test_realloc_keeps_contents),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_header_area),
        cmocka_unit_test(test_dup_shares_then_copies_on_write),
        cmocka_unit_test(test_fan_out_copies_share_one_body),
        cmocka_unit_test(test_pipe_id),
        cmocka_unit_test(test_recycling_returns_usable_memory),
        cmocka_unit_test(test_two_thread_ping_pong),
        cmocka_unit_test(test_thread_exit_frees_cache),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ms_msg_cache_flush();
    return failed;
}
