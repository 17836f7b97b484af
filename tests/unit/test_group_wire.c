/* test_group_wire.c: the group protocol codec: every message type built and read back, the
 * spec's example bytes, and every malformed form (each truncation, trailing bytes, unknown and
 * wrong-direction types, bad roles, events and statuses, lists past the end) refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/defs.h"
#include "protocol/group_wire.h"

#define STR(lit) ((ms_gw_str){(const uint8_t *)(lit), sizeof(lit) - 1})

/* A message built for the tests, with where its fixed part ends (the body, if any, follows). */
typedef struct sample {
    const char *what;
    uint8_t bytes[4096];
    size_t len;
    size_t head_len; /* == len for a message without a body */
    bool from_hub;
    bool has_body; /* a body may follow head_len (even an empty one) */
} sample;

static void append(sample *s, const void *b, size_t n)
{
    assert_true(s->len + n <= sizeof(s->bytes));
    memcpy(s->bytes + s->len, b, n);
    s->len += n;
}

/* Checks that every proper prefix shorter than the fixed part fails to decode, and, for a
 * message without a body, that one extra byte does too. */
static void expect_strict(const sample *s)
{
    ms_gw_msg m;
    for (size_t cut = 0; cut < s->head_len; cut++)
        if (ms_gw_decode(s->bytes, cut, s->from_hub, &m) == 0)
            fail_msg("%s cut to %zu of %zu bytes decoded", s->what, cut, s->len);
    /* The other direction never takes it. */
    if (ms_gw_decode(s->bytes, s->len, !s->from_hub, &m) == 0)
        fail_msg("%s decoded in the wrong direction", s->what);
    if (!s->has_body) {
        uint8_t longer[sizeof(s->bytes) + 1];
        memcpy(longer, s->bytes, s->len);
        longer[s->len] = 0;
        if (ms_gw_decode(longer, s->len + 1, s->from_hub, &m) == 0)
            fail_msg("%s with a trailing byte decoded", s->what);
    }
}

static void decode_ok(const sample *s, ms_gw_msg *m)
{
    if (ms_gw_decode(s->bytes, s->len, s->from_hub, m) != 0)
        fail_msg("%s (%zu bytes) did not decode", s->what, s->len);
    assert_int_equal(m->type, s->bytes[0]);
    expect_strict(s);
}

static sample request(const char *what, size_t len)
{
    sample s = {.what = what, .len = len, .head_len = len, .from_hub = false};
    return s;
}

/* ---- requests ---- */

static void test_simple_requests(void **state)
{
    (void)state;
    const uint8_t types[] = {MS_GW_LIST, MS_GW_WHOAMI, MS_GW_PEERS};
    for (size_t i = 0; i < sizeof(types); i++) {
        sample s = request("simple request", 0);
        s.len = s.head_len = ms_gw_put_request(s.bytes, sizeof(s.bytes), types[i], 0xA1B2C3D4);
        assert_int_equal(s.len, 5);
        ms_gw_msg m;
        decode_ok(&s, &m);
        assert_int_equal(m.req, 0xA1B2C3D4);
    }
    uint8_t buf[16];
    assert_int_equal(ms_gw_put_request(buf, sizeof(buf), MS_GW_CREATE, 1), 0);
    assert_int_equal(ms_gw_put_request(buf, sizeof(buf), MS_GW_SEND, 1), 0);
    assert_int_equal(ms_gw_put_request(buf, 4, MS_GW_LIST, 1), 0);
}

static void test_create(void **state)
{
    (void)state;
    sample s = request("CREATE", 0);
    uint8_t pw[255];
    memset(pw, 0, sizeof(pw)); /* any bytes: NULs too */
    ms_gw_str long_pw = {pw, sizeof(pw)};
    s.len = s.head_len = ms_gw_put_create(s.bytes, sizeof(s.bytes), 7, 10, STR("room, 1"),
                                          long_pw, STR(""));
    assert_int_equal(s.len, 1 + 4 + 4 + 1 + 7 + 1 + 255 + 1);
    ms_gw_msg m;
    decode_ok(&s, &m);
    assert_int_equal(m.req, 7);
    assert_int_equal(m.capacity, 10);
    assert_int_equal(m.name.len, 7);
    assert_memory_equal(m.name.p, "room, 1", 7);
    assert_int_equal(m.password.len, 255);
    assert_int_equal(m.master_password.len, 0);
    /* A string over 255 bytes or a buffer one byte short: nothing. */
    uint8_t big[300] = {0};
    ms_gw_str too_long = {big, 256};
    assert_int_equal(ms_gw_put_create(s.bytes, sizeof(s.bytes), 1, 1, too_long, STR(""), STR("")), 0);
    assert_int_equal(ms_gw_put_create(s.bytes, s.len - 1, 7, 10, STR("room, 1"), long_pw, STR("")), 0);
}

static void test_create_string_past_end(void **state)
{
    (void)state;
    /* name length 200 with 3 bytes behind it */
    const uint8_t bad[] = {MS_GW_CREATE, 0, 0, 0, 1, 0, 0, 0, 5, 200, 'a', 'b', 'c'};
    ms_gw_msg m;
    assert_int_equal(ms_gw_decode(bad, sizeof(bad), false, &m), -1);
    /* the last string's length runs one past the end */
    const uint8_t bad2[] = {MS_GW_CREATE, 0, 0, 0, 1, 0, 0, 0, 5, 1, 'n', 0, 2, 'x'};
    assert_int_equal(ms_gw_decode(bad2, sizeof(bad2), false, &m), -1);
    const uint8_t good[] = {MS_GW_CREATE, 0, 0, 0, 1, 0, 0, 0, 5, 1, 'n', 0, 2, 'x', 'y'};
    assert_int_equal(ms_gw_decode(good, sizeof(good), false, &m), 0);
}

static void test_join(void **state)
{
    (void)state;
    for (uint8_t role = 0; role <= 1; role++) {
        sample s = request("JOIN", 0);
        s.len = s.head_len = ms_gw_put_join(s.bytes, sizeof(s.bytes), 9, role, STR("g"), STR("pw"));
        assert_int_equal(s.len, 1 + 4 + 1 + 2 + 3);
        ms_gw_msg m;
        decode_ok(&s, &m);
        assert_int_equal(m.req, 9);
        assert_int_equal(m.role, role);
        assert_memory_equal(m.password.p, "pw", 2);
        /* every other role is malformed */
        for (int bad = 2; bad < 256; bad++) {
            s.bytes[5] = (uint8_t)bad;
            assert_int_equal(ms_gw_decode(s.bytes, s.len, false, &m), -1);
        }
    }
    uint8_t buf[64];
    assert_int_equal(ms_gw_put_join(buf, sizeof(buf), 1, 2, STR("g"), STR("")), 0);
}

static void test_spec_example(void **state)
{
    (void)state;
    const uint8_t join[] = {0x03, 0x00, 0x00, 0x00, 0x07, 0x01, 0x06, 0x72, 0x6f, 0x6f,
                            0x6d, 0x20, 0x31, 0x01, 0x6d};
    uint8_t buf[64];
    size_t n = ms_gw_put_join(buf, sizeof(buf), 7, 1, STR("room 1"), STR("m"));
    assert_int_equal(n, sizeof(join));
    assert_memory_equal(buf, join, sizeof(join));

    const uint8_t reply[] = {0x81, 0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00,
                             0x02, 0x00, 0x00, 0x00, 0x0a, 0x00};
    n = ms_gw_put_reply_head(buf, sizeof(buf), MS_GW_JOIN, 7, MS_GW_OK);
    n += ms_gw_put_u32(buf + n, sizeof(buf) - n, 2);
    n += ms_gw_put_u32(buf + n, sizeof(buf) - n, 10);
    n += ms_gw_put_u8(buf + n, sizeof(buf) - n, 0);
    assert_int_equal(n, sizeof(reply));
    assert_memory_equal(buf, reply, sizeof(reply));
    ms_gw_msg m;
    assert_int_equal(ms_gw_decode(reply, sizeof(reply), true, &m), 0);
    assert_int_equal(m.op, MS_GW_JOIN);
    assert_int_equal(m.group, 2);
    assert_int_equal(m.capacity, 10);
    assert_int_equal(m.flags, 0);

    const uint8_t send[] = {0x10, 0x00, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0x68, 0x69};
    n = ms_gw_put_send_head(buf, sizeof(buf), 2, 0);
    memcpy(buf + n, "hi", 2);
    assert_memory_equal(buf, send, sizeof(send));
    const uint8_t data[] = {0x90, 0x00, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x2a, 0x68, 0x69};
    n = ms_gw_put_data_head(buf, sizeof(buf), 2, 42);
    memcpy(buf + n, "hi", 2);
    assert_memory_equal(buf, data, sizeof(data));
    assert_int_equal(ms_gw_decode(data, sizeof(data), true, &m), 0);
    assert_int_equal(m.id, 42);
    assert_int_equal(m.head_len, 13);
}

static void test_group_ops(void **state)
{
    (void)state;
    const uint8_t types[] = {MS_GW_LEAVE, MS_GW_DELETE};
    for (size_t i = 0; i < sizeof(types); i++) {
        sample s = request("LEAVE/DELETE", 0);
        s.len = s.head_len = ms_gw_put_group_op(s.bytes, sizeof(s.bytes), types[i], 3, 0xFFFFFFFF);
        assert_int_equal(s.len, 9);
        ms_gw_msg m;
        decode_ok(&s, &m);
        assert_int_equal(m.req, 3);
        assert_int_equal(m.group, 0xFFFFFFFF);
    }
    uint8_t buf[16];
    assert_int_equal(ms_gw_put_group_op(buf, sizeof(buf), MS_GW_JOIN, 1, 1), 0);
}

static void test_relay(void **state)
{
    (void)state;
    uint64_t ids[255];
    for (size_t i = 0; i < 255; i++)
        ids[i] = 0x0102030405060700ull + i;
    const size_t counts[] = {1, 2, 255};
    for (size_t c = 0; c < 3; c++) {
        size_t n = counts[c];
        sample s = request("RELAY", 0);
        s.has_body = true;
        s.len = s.head_len = ms_gw_put_relay_head(s.bytes, sizeof(s.bytes), 5, ids, n);
        assert_int_equal(s.len, 6 + 8 * n);
        assert_true(s.len <= MS_GW_HEAD_MAX);
        append(&s, "body", 4);
        ms_gw_msg m;
        decode_ok(&s, &m);
        assert_int_equal(m.req, 5);
        assert_int_equal(m.n_ids, n);
        assert_int_equal(m.head_len, s.head_len);
        for (size_t i = 0; i < n; i++)
            assert_true(ms_gw_id_at(m.ids, i) == ids[i]);
        /* an empty body is fine */
        assert_int_equal(ms_gw_decode(s.bytes, s.head_len, false, &m), 0);
        assert_int_equal(m.head_len, s.len - 4);
    }
    /* n = 0 is malformed, as is a list longer than the message */
    const uint8_t zero[] = {MS_GW_RELAY, 0, 0, 0, 1, 0, 'x'};
    ms_gw_msg m;
    assert_int_equal(ms_gw_decode(zero, sizeof(zero), false, &m), -1);
    const uint8_t short_list[] = {MS_GW_RELAY, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
    assert_int_equal(ms_gw_decode(short_list, sizeof(short_list), false, &m), -1);
    uint8_t buf[16];
    assert_int_equal(ms_gw_put_relay_head(buf, sizeof(buf), 1, ids, 0), 0);
    assert_int_equal(ms_gw_put_relay_head(buf, sizeof(buf), 1, ids, 256), 0);
    assert_int_equal(ms_gw_put_relay_head(buf, sizeof(buf), 1, ids, 2), 0); /* 22 bytes */
}

static void test_send(void **state)
{
    (void)state;
    sample s = request("SEND", 0);
    s.has_body = true;
    s.len = s.head_len = ms_gw_put_send_head(s.bytes, sizeof(s.bytes), 4, 0xFFFFFFFFFFFFFFFFull);
    assert_int_equal(s.len, 13);
    append(&s, "xyz", 3);
    ms_gw_msg m;
    decode_ok(&s, &m);
    assert_int_equal(m.group, 4);
    assert_true(m.id == 0xFFFFFFFFFFFFFFFFull);
    assert_int_equal(m.head_len, 13);
}

/* ---- hub to client ---- */

static sample reply(const char *what, uint8_t op, uint32_t req, uint8_t status)
{
    sample s = {.what = what, .from_hub = true};
    s.len = ms_gw_put_reply_head(s.bytes, sizeof(s.bytes), op, req, status);
    assert_int_equal(s.len, 7);
    return s;
}

static void reply_u8(sample *s, uint8_t v)
{
    s->len += ms_gw_put_u8(s->bytes + s->len, sizeof(s->bytes) - s->len, v);
}
static void reply_u32(sample *s, uint32_t v)
{
    s->len += ms_gw_put_u32(s->bytes + s->len, sizeof(s->bytes) - s->len, v);
}
static void reply_u64(sample *s, uint64_t v)
{
    s->len += ms_gw_put_u64(s->bytes + s->len, sizeof(s->bytes) - s->len, v);
}
static void reply_str8(sample *s, ms_gw_str v)
{
    size_t n = ms_gw_put_str8(s->bytes + s->len, sizeof(s->bytes) - s->len, v);
    assert_int_equal(n, v.len + 1);
    s->len += n;
}

static void test_reply_list(void **state)
{
    (void)state;
    sample s = reply("LIST reply", MS_GW_LIST, 1, MS_GW_OK);
    reply_u32(&s, 3);
    const char *names[] = {"a", "", "group, with spaces"};
    for (uint32_t i = 0; i < 3; i++) {
        reply_u32(&s, i + 1);
        reply_u32(&s, i * 10);
        reply_u32(&s, 100 + i);
        reply_u8(&s, (uint8_t)(i & 1));
        reply_str8(&s, (ms_gw_str){(const uint8_t *)names[i], strlen(names[i])});
    }
    s.head_len = s.len;
    ms_gw_msg m;
    decode_ok(&s, &m);
    assert_int_equal(m.count, 3);
    size_t pos = 0;
    ms_gw_list_entry e;
    for (uint32_t i = 0; i < 3; i++) {
        assert_true(ms_gw_list_next(&m, &pos, &e));
        assert_int_equal(e.group, i + 1);
        assert_int_equal(e.members, i * 10);
        assert_int_equal(e.capacity, 100 + i);
        assert_int_equal(e.flags, i & 1);
        assert_int_equal(e.name.len, strlen(names[i]));
        assert_memory_equal(e.name.p, names[i], e.name.len);
    }
    assert_false(ms_gw_list_next(&m, &pos, &e));

    /* An empty list. */
    sample empty = reply("empty LIST reply", MS_GW_LIST, 1, MS_GW_OK);
    reply_u32(&empty, 0);
    empty.head_len = empty.len;
    decode_ok(&empty, &m);
    pos = 0;
    assert_false(ms_gw_list_next(&m, &pos, &e));

    /* A count beyond the entries, a huge count, and a name running past the end. */
    sample more = s;
    more.bytes[7 + 3] = 4;
    assert_int_equal(ms_gw_decode(more.bytes, more.len, true, &m), -1);
    more.bytes[7] = 0xFF;
    assert_int_equal(ms_gw_decode(more.bytes, more.len, true, &m), -1);
    sample past = reply("LIST past end", MS_GW_LIST, 1, MS_GW_OK);
    reply_u32(&past, 1);
    reply_u32(&past, 1);
    reply_u32(&past, 0);
    reply_u32(&past, 5);
    reply_u8(&past, 0);
    reply_u8(&past, 10); /* a 10-byte name, 2 bytes follow */
    append(&past, "ab", 2);
    assert_int_equal(ms_gw_decode(past.bytes, past.len, true, &m), -1);
    /* The same with a second entry's worth of count but only one entry. */
    sample two = reply("LIST count 2", MS_GW_LIST, 1, MS_GW_OK);
    reply_u32(&two, 2);
    reply_u32(&two, 1);
    reply_u32(&two, 0);
    reply_u32(&two, 5);
    reply_u8(&two, 0);
    reply_str8(&two, STR("x"));
    append(&two, "0123456789abcd", 14 - 1); /* 13 bytes: one short of an entry */
    assert_int_equal(ms_gw_decode(two.bytes, two.len, true, &m), -1);
}

static void test_reply_fixed(void **state)
{
    (void)state;
    ms_gw_msg m;
    sample create = reply("CREATE reply", MS_GW_CREATE, 2, MS_GW_OK);
    reply_u32(&create, 77);
    create.head_len = create.len;
    decode_ok(&create, &m);
    assert_int_equal(m.op, MS_GW_CREATE);
    assert_int_equal(m.req, 2);
    assert_int_equal(m.group, 77);

    sample join = reply("JOIN reply", MS_GW_JOIN, 3, MS_GW_OK);
    reply_u32(&join, 5);
    reply_u32(&join, 1000);
    reply_u8(&join, MS_GW_FLAG_MASTER);
    join.head_len = join.len;
    decode_ok(&join, &m);
    assert_int_equal(m.group, 5);
    assert_int_equal(m.capacity, 1000);
    assert_int_equal(m.flags, MS_GW_FLAG_MASTER);

    const uint8_t bodiless[] = {MS_GW_LEAVE, MS_GW_DELETE};
    for (size_t i = 0; i < sizeof(bodiless); i++)
        for (uint8_t st = 0; st < MS_GW_STATUS_COUNT; st++) {
            sample s = reply("LEAVE/DELETE reply", bodiless[i], 4, st);
            s.head_len = s.len;
            decode_ok(&s, &m);
            assert_int_equal(m.status, st);
        }

    sample who = reply("WHOAMI reply", MS_GW_WHOAMI, 5, MS_GW_OK);
    reply_u64(&who, 0x8000000000000001ull);
    who.head_len = who.len;
    decode_ok(&who, &m);
    assert_true(m.id == 0x8000000000000001ull);

    sample peers = reply("PEERS reply", MS_GW_PEERS, 6, MS_GW_OK);
    reply_u32(&peers, 3);
    for (uint64_t i = 1; i <= 3; i++)
        reply_u64(&peers, i * 1000);
    peers.head_len = peers.len;
    decode_ok(&peers, &m);
    assert_int_equal(m.count, 3);
    assert_int_equal(m.n_ids, 3);
    assert_true(ms_gw_id_at(m.ids, 2) == 3000);
    peers.bytes[10] = 4; /* a count beyond the ids */
    assert_int_equal(ms_gw_decode(peers.bytes, peers.len, true, &m), -1);
    peers.bytes[7] = 0xFF; /* a huge count */
    assert_int_equal(ms_gw_decode(peers.bytes, peers.len, true, &m), -1);

    sample no_peers = reply("empty PEERS reply", MS_GW_PEERS, 6, MS_GW_OK);
    reply_u32(&no_peers, 0);
    no_peers.head_len = no_peers.len;
    decode_ok(&no_peers, &m);
    assert_int_equal(m.n_ids, 0);

    sample relay_ok = reply("RELAY OK reply", MS_GW_RELAY, 7, MS_GW_OK);
    reply_u8(&relay_ok, 0);
    relay_ok.head_len = relay_ok.len;
    decode_ok(&relay_ok, &m);
    assert_int_equal(m.n_ids, 0);
    sample relay_nf = reply("RELAY NOT_FOUND reply", MS_GW_RELAY, 7, MS_GW_NOT_FOUND);
    reply_u8(&relay_nf, 2);
    reply_u64(&relay_nf, 11);
    reply_u64(&relay_nf, 12);
    relay_nf.head_len = relay_nf.len;
    decode_ok(&relay_nf, &m);
    assert_int_equal(m.n_ids, 2);
    assert_true(ms_gw_id_at(m.ids, 1) == 12);
    /* OK naming unknown ids, NOT_FOUND naming none: malformed. */
    relay_ok.bytes[7] = 1;
    assert_int_equal(ms_gw_decode(relay_ok.bytes, relay_ok.len, true, &m), -1);
    sample relay_nf0 = reply("RELAY NOT_FOUND empty", MS_GW_RELAY, 7, MS_GW_NOT_FOUND);
    reply_u8(&relay_nf0, 0);
    assert_int_equal(ms_gw_decode(relay_nf0.bytes, relay_nf0.len, true, &m), -1);
    sample relay_big = reply("RELAY TOO_LARGE", MS_GW_RELAY, 7, MS_GW_TOO_LARGE);
    relay_big.head_len = relay_big.len;
    decode_ok(&relay_big, &m);
}

/* Errors carry no payload, for every op. */
static void test_reply_errors(void **state)
{
    (void)state;
    for (uint8_t op = MS_GW_LIST; op <= MS_GW_RELAY; op++)
        for (uint8_t st = 1; st < MS_GW_STATUS_COUNT; st++) {
            if (op == MS_GW_RELAY && st == MS_GW_NOT_FOUND)
                continue;
            sample s = reply("error reply", op, 9, st);
            s.head_len = s.len;
            ms_gw_msg m;
            decode_ok(&s, &m);
            assert_int_equal(m.status, st);
            assert_int_equal(m.op, op);
        }
    /* A status past the table, an op that is no request. */
    ms_gw_msg m;
    for (int st = MS_GW_STATUS_COUNT; st < 256; st++) {
        sample s = reply("bad status", MS_GW_LEAVE, 1, (uint8_t)st);
        assert_int_equal(ms_gw_decode(s.bytes, s.len, true, &m), -1);
    }
    const uint8_t bad_ops[] = {0, MS_GW_SEND, MS_GW_REPLY, MS_GW_DATA, 9, 0xFF};
    for (size_t i = 0; i < sizeof(bad_ops); i++) {
        sample s = reply("bad op", bad_ops[i], 1, MS_GW_NOT_FOUND);
        assert_int_equal(ms_gw_decode(s.bytes, s.len, true, &m), -1);
    }
}

static void test_data_relayed(void **state)
{
    (void)state;
    sample d = {.what = "DATA", .from_hub = true, .has_body = true};
    d.len = d.head_len = ms_gw_put_data_head(d.bytes, sizeof(d.bytes), 3, 99);
    assert_int_equal(d.len, 13);
    append(&d, "payload", 7);
    ms_gw_msg m;
    decode_ok(&d, &m);
    assert_int_equal(m.group, 3);
    assert_int_equal(m.id, 99);
    assert_int_equal(m.head_len, 13);

    sample r = {.what = "RELAYED", .from_hub = true, .has_body = true};
    r.len = r.head_len = ms_gw_put_relayed_head(r.bytes, sizeof(r.bytes), 5);
    assert_int_equal(r.len, 9);
    decode_ok(&r, &m); /* an empty body */
    assert_int_equal(m.id, 5);
    assert_int_equal(m.head_len, 9);
}

static void test_event_closing(void **state)
{
    (void)state;
    ms_gw_msg m;
    for (uint8_t ev = MS_GW_EV_MEMBER_JOINED; ev <= MS_GW_EV_UNDELIVERED; ev++) {
        sample e = {.what = "EVENT", .from_hub = true};
        e.len = e.head_len = ms_gw_put_event(e.bytes, sizeof(e.bytes), ev, 8, 1234, MS_GW_NO_MASTER);
        assert_int_equal(e.len, 15);
        decode_ok(&e, &m);
        assert_int_equal(m.event, ev);
        assert_int_equal(m.group, 8);
        assert_int_equal(m.id, 1234);
        assert_int_equal(m.status, MS_GW_NO_MASTER);
    }
    sample e = {.what = "EVENT", .from_hub = true};
    e.len = ms_gw_put_event(e.bytes, sizeof(e.bytes), 1, 8, 1234, 0);
    for (int ev = 0; ev < 256; ev++) {
        if (ev >= MS_GW_EV_MEMBER_JOINED && ev <= MS_GW_EV_UNDELIVERED)
            continue;
        e.bytes[1] = (uint8_t)ev;
        assert_int_equal(ms_gw_decode(e.bytes, e.len, true, &m), -1);
    }
    e.bytes[1] = 1;
    e.bytes[14] = MS_GW_STATUS_COUNT;
    assert_int_equal(ms_gw_decode(e.bytes, e.len, true, &m), -1);

    for (uint8_t st = 0; st < MS_GW_STATUS_COUNT; st++) {
        sample c = {.what = "CLOSING", .from_hub = true};
        c.len = c.head_len = ms_gw_put_closing(c.bytes, sizeof(c.bytes), st);
        assert_int_equal(c.len, 2);
        decode_ok(&c, &m);
        assert_int_equal(m.status, st);
    }
    const uint8_t bad_closing[] = {MS_GW_CLOSING, MS_GW_STATUS_COUNT};
    assert_int_equal(ms_gw_decode(bad_closing, 2, true, &m), -1);
}

/* Every type byte that is not one of a direction's types is refused there, whatever follows. */
static void test_unknown_types(void **state)
{
    (void)state;
    uint8_t buf[64];
    memset(buf, 0, sizeof(buf));
    for (int t = 0; t < 256; t++) {
        buf[0] = (uint8_t)t;
        bool request = (t >= MS_GW_LIST && t <= MS_GW_RELAY) || t == MS_GW_SEND;
        bool from_hub = t == MS_GW_REPLY || t == MS_GW_DATA || t == MS_GW_RELAYED ||
                        t == MS_GW_EVENT || t == MS_GW_CLOSING;
        ms_gw_msg m;
        for (size_t len = 1; len <= sizeof(buf); len++) {
            if (!request)
                assert_int_equal(ms_gw_decode(buf, len, false, &m), -1);
            if (!from_hub)
                assert_int_equal(ms_gw_decode(buf, len, true, &m), -1);
        }
    }
    ms_gw_msg m;
    assert_int_equal(ms_gw_decode(buf, 0, false, &m), -1);
    assert_int_equal(ms_gw_decode(NULL, 0, true, &m), -1);
}

/* Random bytes never crash the decoder; what it accepts stays inside the buffer. */
static void test_random_bytes(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    uint8_t buf[600];
    const uint8_t types[] = {MS_GW_LIST,  MS_GW_CREATE, MS_GW_JOIN,    MS_GW_LEAVE,
                             MS_GW_DELETE, MS_GW_WHOAMI, MS_GW_PEERS,  MS_GW_RELAY,
                             MS_GW_SEND,  MS_GW_REPLY,  MS_GW_DATA,    MS_GW_RELAYED,
                             MS_GW_EVENT, MS_GW_CLOSING};
    for (int round = 0; round < 200000; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = (size_t)(x % sizeof(buf));
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* small values make plausible lengths and counts */
            buf[i] = (uint8_t)((x & 3) == 0 ? x >> 8 : (x >> 8) % 4);
        }
        if (len > 0)
            buf[0] = types[(x >> 20) % sizeof(types)];
        if (len > 1 && buf[0] == MS_GW_REPLY)
            buf[1] = (uint8_t)(1 + (x >> 30) % 8);
        /* decode a private copy so that ASan catches any read past the end */
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, buf, len);
        for (int dir = 0; dir < 2; dir++) {
            ms_gw_msg m;
            if (ms_gw_decode(copy, len, dir == 1, &m) != 0)
                continue;
            assert_true(m.head_len <= len);
            if (m.ids)
                assert_true(m.ids + m.n_ids * MS_GW_ID_LEN <= copy + len);
            size_t pos = 0;
            ms_gw_list_entry e;
            uint32_t entries = 0;
            while (ms_gw_list_next(&m, &pos, &e)) {
                assert_true(e.name.p + e.name.len <= copy + len);
                entries++;
            }
            if (m.entries)
                assert_int_equal(entries, m.count);
        }
        free(copy);
    }
}

static void test_encoders_short_buffers(void **state)
{
    (void)state;
    uint8_t buf[64];
    uint64_t ids[2] = {1, 2};
    for (size_t cap = 0; cap < 64; cap++) {
        size_t n;
        n = ms_gw_put_request(buf, cap, MS_GW_LIST, 1);
        assert_true(cap >= 5 ? n == 5 : n == 0);
        n = ms_gw_put_create(buf, cap, 1, 2, STR("ab"), STR("c"), STR(""));
        assert_true(cap >= 15 ? n == 15 : n == 0);
        n = ms_gw_put_join(buf, cap, 1, 0, STR("ab"), STR("c"));
        assert_true(cap >= 11 ? n == 11 : n == 0);
        n = ms_gw_put_group_op(buf, cap, MS_GW_LEAVE, 1, 2);
        assert_true(cap >= 9 ? n == 9 : n == 0);
        n = ms_gw_put_relay_head(buf, cap, 1, ids, 2);
        assert_true(cap >= 22 ? n == 22 : n == 0);
        n = ms_gw_put_send_head(buf, cap, 1, 2);
        assert_true(cap >= 13 ? n == 13 : n == 0);
        n = ms_gw_put_reply_head(buf, cap, MS_GW_LIST, 1, 0);
        assert_true(cap >= 7 ? n == 7 : n == 0);
        n = ms_gw_put_data_head(buf, cap, 1, 2);
        assert_true(cap >= 13 ? n == 13 : n == 0);
        n = ms_gw_put_relayed_head(buf, cap, 2);
        assert_true(cap >= 9 ? n == 9 : n == 0);
        n = ms_gw_put_event(buf, cap, 1, 1, 2, 0);
        assert_true(cap >= 15 ? n == 15 : n == 0);
        n = ms_gw_put_closing(buf, cap, 1);
        assert_true(cap >= 2 ? n == 2 : n == 0);
        n = ms_gw_put_u64(buf, cap, 1);
        assert_true(cap >= 8 ? n == 8 : n == 0);
        n = ms_gw_put_str8(buf, cap, STR("abc"));
        assert_true(cap >= 4 ? n == 4 : n == 0);
    }
    assert_int_equal(ms_gw_put_request(NULL, 64, MS_GW_LIST, 1), 0);
}

static void test_status_errors(void **state)
{
    (void)state;
    assert_int_equal(ms_gw_status_error(MS_GW_OK), 0);
    assert_int_equal(ms_gw_status_error(MS_GW_NOT_FOUND), MSOCK_ENOENT);
    assert_int_equal(ms_gw_status_error(MS_GW_EXISTS), MSOCK_EEXIST);
    assert_int_equal(ms_gw_status_error(MS_GW_DENIED), MSOCK_EACCES);
    assert_int_equal(ms_gw_status_error(MS_GW_FULL), MSOCK_ENOSPC);
    assert_int_equal(ms_gw_status_error(MS_GW_MASTER_PRESENT), MSOCK_EBUSY);
    assert_int_equal(ms_gw_status_error(MS_GW_NOT_MASTER), MSOCK_EPERM);
    assert_int_equal(ms_gw_status_error(MS_GW_NO_MASTER), MSOCK_ENOMASTER);
    assert_int_equal(ms_gw_status_error(MS_GW_INVALID), MSOCK_EINVAL);
    assert_int_equal(ms_gw_status_error(MS_GW_TOO_LARGE), MSOCK_EMSGSIZE);
    assert_int_equal(ms_gw_status_error(MS_GW_HUB_FULL), MSOCK_ENOSPC);
    assert_int_equal(ms_gw_status_error(MS_GW_TOO_MANY_GROUPS), MSOCK_ENOSPC);
    assert_int_equal(ms_gw_status_error(MS_GW_AUTH_FAILURES), MSOCK_EACCES);
    assert_int_equal(ms_gw_status_error(MS_GW_STATUS_COUNT), MSOCK_EPROTO);
    assert_int_equal(ms_gw_status_error(255), MSOCK_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_requests),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_create_string_past_end),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_group_ops),
        cmocka_unit_test(test_relay),
        cmocka_unit_test(test_send),
        cmocka_unit_test(test_reply_list),
        cmocka_unit_test(test_reply_fixed),
        cmocka_unit_test(test_reply_errors),
        cmocka_unit_test(test_data_relayed),
        cmocka_unit_test(test_event_closing),
        cmocka_unit_test(test_unknown_types),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_encoders_short_buffers),
        cmocka_unit_test(test_status_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
