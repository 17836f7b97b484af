/* test_sp_codec.c: the SP connection header and the tcp/ipc message framing decoder, fed whole,
 * split at every byte, byte by byte, truncated, hostile and random. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/msg.h"
#include "transport/sp_codec.h"

#define MIB (1024u * 1024u)

static const size_t stream_sizes[] = {0, 1, 1024, 70000, 0, 1};
#define STREAM_COUNT (sizeof(stream_sizes) / sizeof(stream_sizes[0]))

static const int framings[] = {MS_SP_FRAMING_TCP, MS_SP_FRAMING_IPC};

/* Payload byte k of message i, different per message so swaps and shifts show. */
static uint8_t pattern_byte(size_t i, size_t k)
{
    return (uint8_t)(k * 31 + i * 7 + (k >> 8));
}

static uint8_t *expected_payloads[STREAM_COUNT];

static int payloads_setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < STREAM_COUNT; i++) {
        expected_payloads[i] = malloc(stream_sizes[i] + 1);
        if (expected_payloads[i] == NULL)
            return -1;
        for (size_t k = 0; k < stream_sizes[i]; k++)
            expected_payloads[i][k] = pattern_byte(i, k);
    }
    return 0;
}

static int payloads_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < STREAM_COUNT; i++)
        free(expected_payloads[i]);
    return 0;
}

struct stream {
    uint8_t *bytes;
    size_t len;
};

static struct stream stream_build(int framing)
{
    struct stream s = {NULL, 0};
    size_t total = 0;

    for (size_t i = 0; i < STREAM_COUNT; i++)
        total += ms_sp_prefix_len(framing) + stream_sizes[i];
    s.bytes = malloc(total);
    assert_non_null(s.bytes);
    for (size_t i = 0; i < STREAM_COUNT; i++) {
        s.len += ms_sp_prefix_encode(s.bytes + s.len, framing, stream_sizes[i]);
        for (size_t k = 0; k < stream_sizes[i]; k++)
            s.bytes[s.len++] = pattern_byte(i, k);
    }
    assert_int_equal(s.len, total);
    return s;
}

/* Collects decoded messages and checks each against the stream as it arrives. */
struct sink {
    size_t count;
};

static void sink_take(struct sink *k, msock_msg *m)
{
    assert_non_null(m);
    assert_true(k->count < STREAM_COUNT);
    assert_int_equal(m->header_len, 0);
    assert_int_equal(m->len, stream_sizes[k->count]);
    /* memcmp against a prepared copy keeps the split-everywhere test fast. */
    if (m->len > 0 && memcmp(m->body, expected_payloads[k->count], m->len) != 0)
        fail_msg("message %zu: wrong payload", k->count);
    ms_msg_free(m);
    k->count++;
}

/* Feeds one buffer completely, taking every message it yields. */
static void feed_all(ms_sp_decoder *d, const uint8_t *buf, size_t len, struct sink *k)
{
    size_t pos = 0;

    for (;;) {
        size_t used = 12345;
        msock_msg *m = NULL;
        int rc = ms_sp_decoder_feed(d, buf + pos, len - pos, &used, &m);
        assert_true(used <= len - pos);
        pos += used;
        if (rc == 0) {
            assert_int_equal(pos, len);
            assert_null(m);
            return;
        }
        assert_int_equal(rc, 1);
        sink_take(k, m);
    }
}

static void test_header(void **state)
{
    static const uint16_t protos[] = {0, 0x10, 0x30, 0x31, 0x51, 0x1234, 0xffff};
    uint8_t h[MS_SP_HEADER_LEN];
    uint16_t proto;

    (void)state;
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
        const uint8_t want[MS_SP_HEADER_LEN] = {0x00, 0x53, 0x50, 0x00, (uint8_t)(protos[i] >> 8),
                                                (uint8_t)protos[i], 0x00, 0x00};
        ms_sp_header_encode(h, protos[i]);
        assert_memory_equal(h, want, MS_SP_HEADER_LEN);
        proto = 0xabcd;
        assert_int_equal(ms_sp_header_decode(h, &proto), 0);
        assert_int_equal(proto, protos[i]);
    }

    /* Every wrong value in every checked byte is refused; the protocol bytes take anything. */
    ms_sp_header_encode(h, 0x30);
    for (size_t pos = 0; pos < MS_SP_HEADER_LEN; pos++) {
        for (unsigned v = 0; v < 256; v++) {
            uint8_t bad[MS_SP_HEADER_LEN];
            memcpy(bad, h, sizeof(bad));
            bad[pos] = (uint8_t)v;
            int rc = ms_sp_header_decode(bad, &proto);
            if (pos == 4 || pos == 5 || v == h[pos]) {
                assert_int_equal(rc, 0);
                assert_int_equal(proto, ms_get_u16be(bad + 4));
            } else if (rc != MSOCK_EPROTO) {
                fail_msg("byte %zu = 0x%02x accepted", pos, v);
            }
        }
    }
}

static void test_prefix(void **state)
{
    uint8_t out[9];
    const uint8_t tcp_want[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    const uint8_t ipc_want[9] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08};

    (void)state;
    assert_int_equal(ms_sp_prefix_len(MS_SP_FRAMING_TCP), 8);
    assert_int_equal(ms_sp_prefix_len(MS_SP_FRAMING_IPC), 9);
    assert_int_equal(ms_sp_prefix_encode(out, MS_SP_FRAMING_TCP, 0x0102030405060708ull), 8);
    assert_memory_equal(out, tcp_want, 8);
    assert_int_equal(ms_sp_prefix_encode(out, MS_SP_FRAMING_IPC, 8), 9);
    assert_memory_equal(out, ipc_want, 9);
}

static void test_stream_whole(void **state)
{
    (void)state;
    for (size_t f = 0; f < 2; f++) {
        struct stream s = stream_build(framings[f]);
        struct sink k = {0};
        ms_sp_decoder d;

        ms_sp_decoder_init(&d, framings[f], 0);
        feed_all(&d, s.bytes, s.len, &k);
        assert_int_equal(k.count, STREAM_COUNT);
        /* An empty feed, even with no buffer, asks for more and takes nothing. */
        size_t used = 99;
        msock_msg *m = NULL;
        assert_int_equal(ms_sp_decoder_feed(&d, NULL, 0, &used, &m), 0);
        assert_int_equal(used, 0);
        assert_null(m);
        ms_sp_decoder_fini(&d);

        /* A limit equal to the largest message lets it through. */
        k.count = 0;
        ms_sp_decoder_init(&d, framings[f], 70000);
        feed_all(&d, s.bytes, s.len, &k);
        assert_int_equal(k.count, STREAM_COUNT);
        ms_sp_decoder_fini(&d);
        free(s.bytes);
    }
}

static void test_stream_split_everywhere(void **state)
{
    (void)state;
    for (size_t f = 0; f < 2; f++) {
        struct stream s = stream_build(framings[f]);

        for (size_t cut = 0; cut <= s.len; cut++) {
            struct sink k = {0};
            ms_sp_decoder d;

            ms_sp_decoder_init(&d, framings[f], 1 * MIB);
            feed_all(&d, s.bytes, cut, &k);
            feed_all(&d, s.bytes + cut, s.len - cut, &k);
            if (k.count != STREAM_COUNT)
                fail_msg("framing %d cut %zu: %zu messages", framings[f], cut, k.count);
            ms_sp_decoder_fini(&d);
        }
        free(s.bytes);
    }
}

static void test_stream_byte_by_byte(void **state)
{
    (void)state;
    for (size_t f = 0; f < 2; f++) {
        struct stream s = stream_build(framings[f]);
        struct sink k = {0};
        ms_sp_decoder d;

        ms_sp_decoder_init(&d, framings[f], 0);
        for (size_t i = 0; i < s.len; i++)
            feed_all(&d, s.bytes + i, 1, &k);
        assert_int_equal(k.count, STREAM_COUNT);
        ms_sp_decoder_fini(&d);
        free(s.bytes);
    }
}

/* Every proper prefix of the stream yields the messages it holds whole and nothing more; fini
 * frees the partial one (the leak checker would see it otherwise). */
static void test_truncated(void **state)
{
    (void)state;
    for (size_t f = 0; f < 2; f++) {
        struct stream s = stream_build(framings[f]);
        size_t prefix_len = ms_sp_prefix_len(framings[f]);
        size_t ends[STREAM_COUNT];
        size_t at = 0;

        for (size_t i = 0; i < STREAM_COUNT; i++) {
            at += prefix_len + stream_sizes[i];
            ends[i] = at;
        }
        for (size_t cut = 0; cut < s.len; cut += (cut < 2000 ? 1 : 997)) {
            struct sink k = {0};
            size_t whole = 0;
            ms_sp_decoder d;

            while (whole < STREAM_COUNT && ends[whole] <= cut)
                whole++;
            ms_sp_decoder_init(&d, framings[f], 0);
            feed_all(&d, s.bytes, cut, &k);
            assert_int_equal(k.count, whole);
            ms_sp_decoder_fini(&d);
        }
        free(s.bytes);
    }
}

/* Feeds prefix bytes one at a time; every byte but the last must be taken with 0, the last
 * gives want_rc. */
static void feed_prefix_expect(ms_sp_decoder *d, const uint8_t *p, size_t len, int want_rc)
{
    for (size_t i = 0; i < len; i++) {
        size_t used = 99;
        msock_msg *m = NULL;
        int rc = ms_sp_decoder_feed(d, p + i, 1, &used, &m);
        assert_int_equal(used, 1);
        assert_null(m);
        assert_int_equal(rc, i + 1 < len ? 0 : want_rc);
    }
}

static void test_too_large(void **state)
{
    /* Lengths a malloc could never satisfy: were they allocated, we would see MSOCK_ENOMEM or
     * an allocator abort instead of MSOCK_EMSGSIZE. */
    static const uint64_t huge[] = {1ull << 63, 1ull << 40, UINT64_MAX, UINT64_MAX - 8,
                                    1 * MIB + 1};
    static const uint64_t impossible[] = {(uint64_t)PTRDIFF_MAX + 1, 1ull << 63, UINT64_MAX,
                                          UINT64_MAX - 8};
    uint8_t p[9 + 16];

    (void)state;
    for (size_t f = 0; f < 2; f++) {
        for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
            ms_sp_decoder d;
            size_t missing = 1;
            size_t used;
            msock_msg *m = NULL;
            size_t n = ms_sp_prefix_encode(p, framings[f], huge[i]);
            memset(p + n, 0xee, 16);

            ms_sp_decoder_init(&d, framings[f], 1 * MIB);
            feed_prefix_expect(&d, p, n, MSOCK_EMSGSIZE);
            assert_null(d.msg);
            assert_null(ms_sp_decoder_body_room(&d, &missing));
            assert_int_equal(missing, 0);

            /* All at once, with payload bytes behind: the length's end is where it stops. */
            ms_sp_decoder_fini(&d);
            ms_sp_decoder_init(&d, framings[f], 1 * MIB);
            assert_int_equal(ms_sp_decoder_feed(&d, p, n + 16, &used, &m), MSOCK_EMSGSIZE);
            assert_int_equal(used, n);
            assert_null(m);
            assert_null(d.msg);
            /* Fed again anyway, it keeps refusing rather than parse payload as a prefix. */
            assert_int_equal(ms_sp_decoder_feed(&d, p + n, 16, &used, &m), MSOCK_EMSGSIZE);
            assert_null(m);
            ms_sp_decoder_fini(&d);
        }

        /* Without a limit, claims no object could ever have are still refused unallocated. */
        for (size_t i = 0; i < sizeof(impossible) / sizeof(impossible[0]); i++) {
            ms_sp_decoder d;
            size_t n = ms_sp_prefix_encode(p, framings[f], impossible[i]);
            ms_sp_decoder_init(&d, framings[f], 0);
            feed_prefix_expect(&d, p, n, MSOCK_EMSGSIZE);
            assert_null(d.msg);
            ms_sp_decoder_fini(&d);
        }

        /* Exactly the limit is fine. */
        ms_sp_decoder d;
        size_t missing = 0;
        msock_msg *m = NULL;
        size_t n = ms_sp_prefix_encode(p, framings[f], 1 * MIB);
        ms_sp_decoder_init(&d, framings[f], 1 * MIB);
        feed_prefix_expect(&d, p, n, 0);
        uint8_t *room = ms_sp_decoder_body_room(&d, &missing);
        assert_non_null(room);
        assert_int_equal(missing, 1 * MIB);
        memset(room, 0x5a, missing);
        assert_int_equal(ms_sp_decoder_body_filled(&d, missing, &m), 1);
        assert_non_null(m);
        assert_int_equal(m->len, 1 * MIB);
        assert_int_equal(m->body[1 * MIB - 1], 0x5a);
        ms_msg_free(m);
        ms_sp_decoder_fini(&d);
    }
}

static void test_ipc_type(void **state)
{
    static const uint8_t bad_types[] = {0x00, 0x02, 0x80, 0xff};
    uint8_t p[9 + 4];

    (void)state;
    for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
        ms_sp_decoder d;
        size_t used = 99;
        msock_msg *m = NULL;

        ms_sp_prefix_encode(p, MS_SP_FRAMING_IPC, 4);
        memset(p + 9, 'x', 4);
        p[0] = bad_types[i];
        ms_sp_decoder_init(&d, MS_SP_FRAMING_IPC, 0);
        /* Refused on the type byte itself, before any length is read. */
        assert_int_equal(ms_sp_decoder_feed(&d, p, sizeof(p), &used, &m), MSOCK_EPROTO);
        assert_int_equal(used, 1);
        assert_null(m);
        assert_int_equal(ms_sp_decoder_feed(&d, p + 1, sizeof(p) - 1, &used, &m), MSOCK_EPROTO);
        assert_null(m);
        ms_sp_decoder_fini(&d);

        ms_sp_decoder_init(&d, MS_SP_FRAMING_IPC, 0);
        assert_int_equal(ms_sp_decoder_feed(&d, p, 1, &used, &m), MSOCK_EPROTO);
        ms_sp_decoder_fini(&d);
    }

    /* The same bytes are a plain length prefix under tcp framing. */
    ms_sp_decoder d;
    size_t used;
    msock_msg *m = NULL;
    ms_sp_prefix_encode(p, MS_SP_FRAMING_TCP, 5);
    p[0] = 0x02;
    ms_sp_decoder_init(&d, MS_SP_FRAMING_TCP, 1 * MIB);
    assert_int_equal(ms_sp_decoder_feed(&d, p, 8, &used, &m), MSOCK_EMSGSIZE);
    ms_sp_decoder_fini(&d);
}

static void test_body_direct(void **state)
{
    (void)state;
    for (size_t f = 0; f < 2; f++) {
        struct stream s = stream_build(framings[f]);
        size_t prefix_len = ms_sp_prefix_len(framings[f]);
        /* Offset of the 70000-byte message (index 3) and of the one after it. */
        size_t big_at = 3 * prefix_len + 0 + 1 + 1024;
        size_t next_at = big_at + prefix_len + 70000;
        struct sink k = {0};
        ms_sp_decoder d;
        size_t missing = 7;
        msock_msg *m = NULL;

        ms_sp_decoder_init(&d, framings[f], 0);
        assert_null(ms_sp_decoder_body_room(&d, &missing));
        assert_int_equal(missing, 0);
        assert_int_equal(ms_sp_decoder_body_filled(&d, 0, &m), 0);
        assert_null(m);

        /* The first three messages and the big one's prefix plus 100 body bytes via feed. */
        feed_all(&d, s.bytes, big_at + prefix_len + 100, &k);
        assert_int_equal(k.count, 3);

        /* The rest of the big body goes straight into the message, in three writes. */
        uint8_t *room = ms_sp_decoder_body_room(&d, &missing);
        assert_non_null(room);
        assert_int_equal(missing, 70000 - 100);
        memcpy(room, s.bytes + big_at + prefix_len + 100, 30000);
        assert_int_equal(ms_sp_decoder_body_filled(&d, 30000, &m), 0);
        assert_null(m);
        assert_int_equal(ms_sp_decoder_body_filled(&d, 0, &m), 0);

        room = ms_sp_decoder_body_room(&d, &missing);
        assert_non_null(room);
        assert_int_equal(missing, 70000 - 30100);
        memcpy(room, s.bytes + big_at + prefix_len + 30100, missing - 1);
        assert_int_equal(ms_sp_decoder_body_filled(&d, missing - 1, &m), 0);

        room = ms_sp_decoder_body_room(&d, &missing);
        assert_int_equal(missing, 1);
        *room = s.bytes[next_at - 1];
        assert_int_equal(ms_sp_decoder_body_filled(&d, 1, &m), 1);
        sink_take(&k, m);
        assert_null(ms_sp_decoder_body_room(&d, &missing));

        /* Feeding carries on with the next prefix. */
        feed_all(&d, s.bytes + next_at, s.len - next_at, &k);
        assert_int_equal(k.count, STREAM_COUNT);
        ms_sp_decoder_fini(&d);
        free(s.bytes);
    }
}

/* A small fixed-seed generator, so a failure replays. */
static uint64_t fuzz_state = 0x9e3779b97f4a7c15ull;

static uint64_t fuzz_next(void)
{
    fuzz_state ^= fuzz_state << 13;
    fuzz_state ^= fuzz_state >> 7;
    fuzz_state ^= fuzz_state << 17;
    return fuzz_state;
}

/* Random bytes mixed with well-formed prefixes of small lengths, fed in random pieces. The
 * limit is always set because an unlimited decoder would (rightly) try to allocate random
 * lengths of up to 2^63 bytes. */
static void test_fuzz(void **state)
{
    uint8_t buf[512];

    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        int framing = (int)(fuzz_next() & 1);
        size_t max_size = (fuzz_next() & 1) ? 64 : 4096;
        size_t len = (size_t)(fuzz_next() % sizeof(buf));
        ms_sp_decoder d;

        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)fuzz_next();
        for (size_t at = 0; at + 9 < len; at += 1 + (size_t)(fuzz_next() % 96)) {
            if (fuzz_next() % 3 != 0)
                ms_sp_prefix_encode(buf + at, framing, fuzz_next() % 80);
        }

        ms_sp_decoder_init(&d, framing, max_size);
        size_t pos = 0;
        int rc = 0;
        while (pos < len && rc >= 0) {
            size_t piece = 1 + (size_t)(fuzz_next() % 40);
            size_t end = MS_MIN(len, pos + piece);
            while (pos < end) {
                size_t used = SIZE_MAX;
                msock_msg *m = NULL;
                rc = ms_sp_decoder_feed(&d, buf + pos, end - pos, &used, &m);
                assert_true(used <= end - pos);
                pos += used;
                if (rc == 1) {
                    assert_non_null(m);
                    assert_true(m->len <= max_size);
                    ms_msg_free(m);
                    continue;
                }
                assert_null(m);
                if (rc < 0) {
                    assert_true(rc == MSOCK_EMSGSIZE || rc == MSOCK_EPROTO);
                    assert_true(framing == MS_SP_FRAMING_IPC || rc == MSOCK_EMSGSIZE);
                    break;
                }
                assert_int_equal(rc, 0);
                assert_int_equal(pos, end);
            }
            if (rc < 0)
                break;
            size_t missing;
            if (ms_sp_decoder_body_room(&d, &missing) != NULL)
                assert_true(missing > 0 && missing <= max_size);
        }
        ms_sp_decoder_fini(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_stream_whole),
        cmocka_unit_test(test_stream_split_everywhere),
        cmocka_unit_test(test_stream_byte_by_byte),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_ipc_type),
        cmocka_unit_test(test_body_direct),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, payloads_setup, payloads_teardown);
}
