/* test_group_hostile.c: a group hub against hand-made clients that speak the wire format of
 * docs/group-protocol.md byte by byte over plain TCP: every request and event, the limits and
 * their CLOSING reasons (which must arrive before the connection ends), and hostile input:
 * every truncation, random bytes, unknown and hub-to-client types, floods. After each, a fresh
 * client is still served. The bytes are built here, not by the library's codec. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pthread.h>

#include "testutil.h"
#include "protocol/protoutil.h"

#define KDF_FAST 1000
#define NAME_MAX_LEN 255

/* ---- bytes ---- */

typedef struct bytes {
    uint8_t b[8192];
    size_t n;
} bytes;

static void b_u8(bytes *x, uint8_t v)
{
    assert_true(x->n < sizeof(x->b));
    x->b[x->n++] = v;
}

static void b_u32(bytes *x, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        b_u8(x, (uint8_t)(v >> (8 * i)));
}

static void b_u64(bytes *x, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        b_u8(x, (uint8_t)(v >> (8 * i)));
}

static void b_raw(bytes *x, const void *p, size_t n)
{
    assert_true(x->n + n <= sizeof(x->b));
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

static void b_str(bytes *x, const char *s)
{
    size_t n = strlen(s);
    assert_true(n <= 255);
    b_u8(x, (uint8_t)n);
    b_raw(x, s, n);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static bytes req_simple(uint8_t type, uint32_t req)
{
    bytes x = {.n = 0};
    b_u8(&x, type);
    b_u32(&x, req);
    return x;
}

static bytes req_create(uint32_t req, uint32_t capacity, const char *name, const char *pw,
                        const char *master_pw)
{
    bytes x = {.n = 0};
    b_u8(&x, 0x02);
    b_u32(&x, req);
    b_u32(&x, capacity);
    b_str(&x, name);
    b_str(&x, pw);
    b_str(&x, master_pw);
    return x;
}

static bytes req_join(uint32_t req, uint8_t role, const char *name, const char *pw)
{
    bytes x = {.n = 0};
    b_u8(&x, 0x03);
    b_u32(&x, req);
    b_u8(&x, role);
    b_str(&x, name);
    b_str(&x, pw);
    return x;
}

static bytes req_group_op(uint8_t type, uint32_t req, uint32_t group)
{
    bytes x = req_simple(type, req);
    b_u32(&x, group);
    return x;
}

static bytes req_relay(uint32_t req, const uint64_t *ids, size_t n, const char *body)
{
    bytes x = req_simple(0x08, req);
    b_u8(&x, (uint8_t)n);
    for (size_t i = 0; i < n; i++)
        b_u64(&x, ids[i]);
    b_raw(&x, body, strlen(body));
    return x;
}

static bytes req_send(uint32_t group, uint64_t to, const char *body)
{
    bytes x = {.n = 0};
    b_u8(&x, 0x10);
    b_u32(&x, group);
    b_u64(&x, to);
    b_raw(&x, body, strlen(body));
    return x;
}

static bytes reply_head(uint8_t op, uint32_t req, uint8_t status)
{
    bytes x = {.n = 0};
    b_u8(&x, 0x81);
    b_u8(&x, op);
    b_u32(&x, req);
    b_u8(&x, status);
    return x;
}

static bytes event_msg(uint8_t event, uint32_t group, uint64_t who, uint8_t status)
{
    bytes x = {.n = 0};
    b_u8(&x, 0xA0);
    b_u8(&x, event);
    b_u32(&x, group);
    b_u64(&x, who);
    b_u8(&x, status);
    return x;
}

static bytes data_msg(uint8_t type, uint32_t group, uint64_t from, const char *body)
{
    bytes x = {.n = 0};
    b_u8(&x, type);
    if (type == 0x90)
        b_u32(&x, group);
    b_u64(&x, from);
    b_raw(&x, body, strlen(body));
    return x;
}

enum { ST_OK, ST_NOT_FOUND, ST_EXISTS, ST_DENIED, ST_FULL, ST_MASTER_PRESENT, ST_NOT_MASTER,
       ST_NO_MASTER, ST_INVALID, ST_TOO_LARGE, ST_HUB_FULL, ST_TOO_MANY_GROUPS,
       ST_AUTH_FAILURES };
enum { EV_MEMBER_JOINED = 1, EV_MEMBER_LEFT, EV_MASTER_JOINED, EV_MASTER_LEFT, EV_GROUP_DELETED,
       EV_UNDELIVERED };
enum { OP_LIST = 1, OP_CREATE, OP_JOIN, OP_LEAVE, OP_DELETE, OP_WHOAMI, OP_PEERS, OP_RELAY };

/* ---- the hub ---- */

typedef struct hub {
    msock_socket sock;
    char url[TU_URL_MAX];
} hub;

static hub hub_open(int max_clients, int max_groups, int max_auth_fails, size_t max_body)
{
    hub h;
    TU_OK(msock_group_hub_open(&h.sock));
    TU_OK(msock_socket_set_int(h.sock, MSOCK_OPT_GROUP_KDF_ITERATIONS, KDF_FAST));
    if (max_clients >= 0)
        TU_OK(msock_socket_set_int(h.sock, MSOCK_OPT_GROUP_MAX_CLIENTS, max_clients));
    if (max_groups >= 0)
        TU_OK(msock_socket_set_int(h.sock, MSOCK_OPT_GROUP_MAX_GROUPS, max_groups));
    if (max_auth_fails > 0)
        TU_OK(msock_socket_set_int(h.sock, MSOCK_OPT_GROUP_MAX_AUTH_FAILS, max_auth_fails));
    if (max_body > 0)
        TU_OK(msock_socket_set_size(h.sock, MSOCK_OPT_GROUP_MAX_BODY, max_body));
    msock_listener l;
    tu_listen_any(h.sock, TU_TCP4, &l, h.url, sizeof(h.url));
    return h;
}

static void hub_close(hub *h)
{
    TU_OK(msock_close(h->sock));
}

/* ---- a hand-made client ---- */

typedef struct client {
    int fd;
    uint64_t id;
} client;

static void c_send(const client *c, const bytes *x)
{
    pu_raw_send_frame(c->fd, x->b, x->n);
}

/* Reads the next frame; fails the test on a timeout or a closed connection. */
static size_t c_recv(const client *c, uint8_t *buf, size_t cap)
{
    long n = pu_raw_recv_frame(c->fd, buf, cap, TU_DEADLINE_MS);
    if (n == PU_FRAME_NONE)
        fail_msg("client %llu: no frame came", (unsigned long long)c->id);
    if (n == PU_FRAME_CLOSED)
        fail_msg("client %llu: the hub closed the connection", (unsigned long long)c->id);
    return (size_t)n;
}

static void dump(const char *what, const uint8_t *b, size_t n)
{
    char text[3 * 64 + 1] = "";
    for (size_t i = 0; i < n && i < 64; i++)
        snprintf(text + 3 * i, sizeof(text) - 3 * i, "%02x ", b[i]);
    print_message("%s (%zu bytes): %s\n", what, n, text);
}

/* The next frame is exactly want. */
static void c_expect(const client *c, const bytes *want)
{
    uint8_t buf[8192];
    size_t n = c_recv(c, buf, sizeof(buf));
    if (n != want->n || memcmp(buf, want->b, n) != 0) {
        dump("got ", buf, n);
        dump("want", want->b, want->n);
        fail_msg("client %llu: an unexpected frame", (unsigned long long)c->id);
    }
}

static void c_expect_reply(const client *c, uint8_t op, uint32_t req, uint8_t status)
{
    bytes want = reply_head(op, req, status);
    c_expect(c, &want);
}

static void c_expect_event(const client *c, uint8_t event, uint32_t group, uint64_t who,
                           uint8_t status)
{
    bytes want = event_msg(event, group, who, status);
    c_expect(c, &want);
}

static void c_expect_data(const client *c, uint32_t group, uint64_t from, const char *body)
{
    bytes want = data_msg(0x90, group, from, body);
    c_expect(c, &want);
}

static void c_expect_relayed(const client *c, uint64_t from, const char *body)
{
    bytes want = data_msg(0x91, 0, from, body);
    c_expect(c, &want);
}

/* Nothing arrives for a short while (and the connection stays open). */
static void c_expect_none(const client *c)
{
    uint8_t buf[256];
    long n = pu_raw_recv_frame(c->fd, buf, sizeof(buf), PU_QUIET_MS);
    if (n >= 0)
        dump("unexpected", buf, (size_t)n);
    assert_int_equal(n, PU_FRAME_NONE);
}

/* The hub sends CLOSING status and then ends the connection. */
static void c_expect_closing(const client *c, uint8_t status)
{
    bytes want = {.n = 0};
    b_u8(&want, 0xB0);
    b_u8(&want, status);
    c_expect(c, &want);
    assert_true(pu_raw_wait_closed(c->fd, TU_DEADLINE_MS));
}

static uint64_t c_whoami(const client *c)
{
    bytes x = req_simple(OP_WHOAMI, 0x5151);
    c_send(c, &x);
    uint8_t buf[64];
    size_t n = c_recv(c, buf, sizeof(buf));
    bytes head = reply_head(OP_WHOAMI, 0x5151, ST_OK);
    assert_int_equal(n, head.n + 8);
    assert_memory_equal(buf, head.b, head.n);
    uint64_t id = get_u64(buf + head.n);
    assert_true(id != 0);
    return id;
}

/* Connects without saying anything. */
static client c_connect(const hub *h)
{
    client c = {.fd = pu_raw_connect(h->url), .id = 0};
    pu_raw_handshake(c.fd, MSOCK_PROTO_GROUP, MSOCK_PROTO_GROUP_HUB);
    return c;
}

static client c_open(const hub *h)
{
    client c = c_connect(h);
    c.id = c_whoami(&c);
    return c;
}

static void c_close(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* CREATE; returns the group number on OK, else 0 after checking the status. */
static uint32_t c_create(const client *c, uint32_t req, uint32_t capacity, const char *name,
                         uint8_t want_status)
{
    bytes x = req_create(req, capacity, name, PU_MEMBER_PW, PU_MASTER_PW);
    c_send(c, &x);
    uint8_t buf[64];
    size_t n = c_recv(c, buf, sizeof(buf));
    bytes head = reply_head(OP_CREATE, req, want_status);
    if (n < head.n || memcmp(buf, head.b, head.n) != 0) {
        dump("got ", buf, n);
        fail_msg("CREATE \"%s\": want status %u", name, want_status);
    }
    if (want_status != ST_OK) {
        assert_int_equal(n, head.n);
        return 0;
    }
    assert_int_equal(n, head.n + 4);
    uint32_t g = pu_get32(buf + head.n);
    assert_true(g != 0);
    return g;
}

/* JOIN with the right password for role (or pw when not NULL); on OK checks the reply's group,
 * capacity and master flag. */
static void c_join(const client *c, uint32_t req, uint8_t role, const char *name, const char *pw,
                   uint8_t want_status, uint32_t group, uint32_t capacity, uint8_t flags)
{
    if (pw == NULL)
        pw = role == 1 ? PU_MASTER_PW : PU_MEMBER_PW;
    bytes x = req_join(req, role, name, pw);
    c_send(c, &x);
    bytes want = reply_head(OP_JOIN, req, want_status);
    if (want_status == ST_OK) {
        b_u32(&want, group);
        b_u32(&want, capacity);
        b_u8(&want, flags);
    }
    c_expect(c, &want);
}

/* A fresh client is answered at once (within the test deadline). */
static void expect_served(const hub *h)
{
    client c = c_open(h);
    c_close(&c);
}

/* ---- the protocol, happy and unhappy paths ---- */

static void test_groups_and_data(void **state)
{
    (void)state;
    hub h = hub_open(-1, -1, 0, 100);
    client m = c_open(&h), a = c_open(&h), b = c_open(&h), x = c_open(&h);
    assert_true(m.id != a.id && a.id != b.id && b.id != x.id && m.id != x.id);

    uint32_t g = c_create(&m, 1, 2, "room, 1", ST_OK);
    c_create(&x, 2, 5, "room, 1", ST_EXISTS);
    /* The creator is nobody special: it joins like anyone. */
    c_join(&a, 3, 0, "room, 1", "wrong", ST_DENIED, 0, 0, 0);
    c_join(&a, 4, 0, "room, 1", NULL, ST_OK, g, 2, 0);
    c_join(&m, 5, 1, "room, 1", NULL, ST_OK, g, 2, 0); /* no master before */
    c_expect_event(&a, EV_MASTER_JOINED, g, m.id, ST_OK);
    c_join(&b, 6, 0, "room, 1", NULL, ST_OK, g, 2, 1);
    c_expect_event(&m, EV_MEMBER_JOINED, g, b.id, ST_OK);
    c_expect_event(&a, EV_MEMBER_JOINED, g, b.id, ST_OK);
    c_join(&x, 7, 0, "room, 1", NULL, ST_FULL, 0, 0, 0);
    c_join(&x, 7, 0, "room, 1", "wrong", ST_DENIED, 0, 0, 0); /* the password comes first */
    c_join(&x, 8, 1, "room, 1", NULL, ST_MASTER_PRESENT, 0, 0, 0);
    c_join(&a, 9, 0, "room, 1", NULL, ST_EXISTS, 0, 0, 0);
    c_join(&m, 10, 0, "room, 1", NULL, ST_EXISTS, 0, 0, 0);
    c_join(&x, 11, 0, "no such room", NULL, ST_NOT_FOUND, 0, 0, 0);

    /* A member's data reaches the master only. */
    bytes s = req_send(g, 0, "hi master");
    c_send(&a, &s);
    c_expect_data(&m, g, a.id, "hi master");
    s = req_send(g, b.id, "psst");
    c_send(&a, &s);
    c_expect_event(&a, EV_UNDELIVERED, g, b.id, ST_NOT_MASTER);
    /* The master's reaches every member, or one. */
    s = req_send(g, 0, "hello all");
    c_send(&m, &s);
    c_expect_data(&a, g, m.id, "hello all");
    c_expect_data(&b, g, m.id, "hello all");
    s = req_send(g, b.id, "just b");
    c_send(&m, &s);
    c_expect_data(&b, g, m.id, "just b");
    s = req_send(g, x.id, "x is outside");
    c_send(&m, &s);
    c_expect_event(&m, EV_UNDELIVERED, g, x.id, ST_NOT_FOUND);
    s = req_send(g, 0, "let me in");
    c_send(&x, &s);
    c_expect_event(&x, EV_UNDELIVERED, g, 0, ST_NOT_FOUND);
    /* An empty body is a message too; one over the hub's limit (100 here) is not sent. */
    s = req_send(g, 0, "");
    c_send(&a, &s);
    c_expect_data(&m, g, a.id, "");
    char big[102];
    memset(big, 'z', 101);
    big[101] = 0;
    s = req_send(g, 0, big);
    c_send(&a, &s);
    c_expect_event(&a, EV_UNDELIVERED, g, 0, ST_TOO_LARGE);
    big[100] = 0;
    s = req_send(g, 0, big);
    c_send(&a, &s);
    c_expect_data(&m, g, a.id, big);

    /* LIST gives counts only. */
    bytes l = req_simple(OP_LIST, 12);
    c_send(&x, &l);
    bytes want = reply_head(OP_LIST, 12, ST_OK);
    b_u32(&want, 1);
    b_u32(&want, g);
    b_u32(&want, 2);
    b_u32(&want, 2);
    b_u8(&want, 1);
    b_str(&want, "room, 1");
    c_expect(&x, &want);

    /* PEERS: everyone else. */
    bytes p = req_simple(OP_PEERS, 13);
    c_send(&x, &p);
    uint8_t buf[256];
    size_t n = c_recv(&x, buf, sizeof(buf));
    bytes head = reply_head(OP_PEERS, 13, ST_OK);
    assert_int_equal(n, head.n + 4 + 3 * 8);
    assert_memory_equal(buf, head.b, head.n);
    assert_int_equal(pu_get32(buf + head.n), 3);
    uint64_t seen = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t id = get_u64(buf + head.n + 4 + 8 * i);
        seen |= id == m.id ? 1 : id == a.id ? 2 : id == b.id ? 4 : 8;
    }
    assert_int_equal(seen, 7);

    /* RELAY: to anyone by id; unknown ids come back. */
    uint64_t ids[3] = {a.id, 0x7777777777ull, m.id};
    bytes r = req_relay(14, ids, 3, "relayed!");
    c_send(&x, &r);
    c_expect_relayed(&a, x.id, "relayed!");
    c_expect_relayed(&m, x.id, "relayed!");
    want = reply_head(OP_RELAY, 14, ST_NOT_FOUND);
    b_u8(&want, 1);
    b_u64(&want, 0x7777777777ull);
    c_expect(&x, &want);
    r = req_relay(15, &x.id, 1, "");
    c_send(&x, &r);
    c_expect_relayed(&x, x.id, "");
    want = reply_head(OP_RELAY, 15, ST_OK);
    b_u8(&want, 0);
    c_expect(&x, &want);
    r = req_relay(16, &a.id, 1, big);
    c_send(&x, &r);
    c_expect_relayed(&a, x.id, big);
    want = reply_head(OP_RELAY, 16, ST_OK);
    b_u8(&want, 0);
    c_expect(&x, &want);
    memset(big, 'z', 101);
    r = req_relay(17, &a.id, 1, big);
    c_send(&x, &r);
    c_expect_reply(&x, OP_RELAY, 17, ST_TOO_LARGE);

    /* LEAVE, DELETE by the wrong clients. */
    bytes lv = req_group_op(OP_LEAVE, 18, g);
    c_send(&a, &lv);
    c_expect_reply(&a, OP_LEAVE, 18, ST_OK);
    c_expect_event(&m, EV_MEMBER_LEFT, g, a.id, ST_OK);
    c_expect_event(&b, EV_MEMBER_LEFT, g, a.id, ST_OK);
    c_send(&a, &lv);
    c_expect_reply(&a, OP_LEAVE, 18, ST_NOT_FOUND);
    bytes del = req_group_op(OP_DELETE, 19, g);
    c_send(&b, &del);
    c_expect_reply(&b, OP_DELETE, 19, ST_NOT_MASTER);
    c_send(&x, &del);
    c_expect_reply(&x, OP_DELETE, 19, ST_NOT_MASTER);
    del = req_group_op(OP_DELETE, 20, g + 1000);
    c_send(&m, &del);
    c_expect_reply(&m, OP_DELETE, 20, ST_NOT_FOUND);

    /* A master that disconnects leaves; the group stays; members then have no master. */
    c_close(&m);
    c_expect_event(&b, EV_MASTER_LEFT, g, m.id, ST_OK);
    s = req_send(g, 0, "anyone?");
    c_send(&b, &s);
    c_expect_event(&b, EV_UNDELIVERED, g, 0, ST_NO_MASTER);
    c_join(&x, 21, 1, "room, 1", NULL, ST_OK, g, 2, 0);
    c_expect_event(&b, EV_MASTER_JOINED, g, x.id, ST_OK);
    del = req_group_op(OP_DELETE, 22, g);
    c_send(&x, &del);
    c_expect_reply(&x, OP_DELETE, 22, ST_OK);
    c_expect_event(&b, EV_GROUP_DELETED, g, x.id, ST_OK);
    c_send(&b, &lv);
    c_expect_reply(&b, OP_LEAVE, 18, ST_NOT_FOUND);
    c_send(&a, &l);
    want = reply_head(OP_LIST, 12, ST_OK);
    b_u32(&want, 0);
    c_expect(&a, &want);
    /* The name is free again; the number is new. */
    uint32_t g2 = c_create(&a, 23, 3, "room, 1", ST_OK);
    assert_true(g2 != g);
    c_expect_none(&b);
    c_close(&a);
    c_close(&b);
    c_close(&x);
    expect_served(&h);
    hub_close(&h);
}

/* The bad values a well-formed request can carry. */
static void test_bad_values(void **state)
{
    (void)state;
    hub h = hub_open(-1, -1, 0, 0);
    TU_OK(msock_socket_set_int(h.sock, MSOCK_OPT_GROUP_MAX_MEMBERS, 50));
    client c = c_open(&h);
    c_create(&c, 1, 0, "zero", ST_INVALID);
    c_create(&c, 2, 51, "over the limit", ST_INVALID);
    c_create(&c, 3, 0xFFFFFFFFu, "huge", ST_INVALID);
    c_create(&c, 4, 5, "", ST_INVALID);
    char longest[256];
    memset(longest, 'n', 255);
    longest[255] = 0;
    uint32_t g = c_create(&c, 5, 50, longest, ST_OK);
    c_join(&c, 6, 0, longest, NULL, ST_OK, g, 50, 0);
    c_join(&c, 7, 0, longest, NULL, ST_EXISTS, 0, 0, 0);
    c_join(&c, 8, 1, longest, NULL, ST_EXISTS, 0, 0, 0); /* one role per client */
    c_join(&c, 9, 0, "", NULL, ST_NOT_FOUND, 0, 0, 0);
    bytes x = req_group_op(OP_LEAVE, 10, 0);
    c_send(&c, &x);
    c_expect_reply(&c, OP_LEAVE, 10, ST_NOT_FOUND);
    x = req_group_op(OP_LEAVE, 11, g + 1);
    c_send(&c, &x);
    c_expect_reply(&c, OP_LEAVE, 11, ST_NOT_FOUND);
    x = req_group_op(OP_DELETE, 12, 0);
    c_send(&c, &x);
    c_expect_reply(&c, OP_DELETE, 12, ST_NOT_FOUND);
    x = req_group_op(OP_DELETE, 13, g);
    c_send(&c, &x);
    c_expect_reply(&c, OP_DELETE, 13, ST_NOT_MASTER);
    x = req_send(0, 0, "nowhere");
    c_send(&c, &x);
    c_expect_event(&c, EV_UNDELIVERED, 0, 0, ST_NOT_FOUND);
    /* A member sending to a group without a master. */
    x = req_send(g, 0, "anyone?");
    c_send(&c, &x);
    c_expect_event(&c, EV_UNDELIVERED, g, 0, ST_NO_MASTER);
    /* Relay to 255 ids, most unknown, one twice: each known one gets it each time. */
    uint64_t ids[255];
    for (int i = 0; i < 255; i++)
        ids[i] = 0x1000000000ull + (uint64_t)i;
    ids[3] = c.id;
    ids[200] = c.id;
    ids[254] = 0; /* ids are never 0 */
    bytes r = req_relay(14, ids, 255, "wide");
    c_send(&c, &r);
    c_expect_relayed(&c, c.id, "wide");
    c_expect_relayed(&c, c.id, "wide");
    bytes want = reply_head(OP_RELAY, 14, ST_NOT_FOUND);
    b_u8(&want, 253);
    for (int i = 0; i < 255; i++)
        if (i != 3 && i != 200)
            b_u64(&want, ids[i]);
    c_expect(&c, &want);
    c_close(&c);
    expect_served(&h);
    hub_close(&h);
}

/* Requests sent back to back are answered in order, also behind the ones that hash passwords;
 * and the hub takes no msock_send or msock_recv of its own. */
static void test_pipelined_order(void **state)
{
    (void)state;
    hub h = hub_open(-1, -1, 0, 0);
    uint8_t buf[64];
    size_t len = sizeof(buf);
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_recv(h.sock, buf, &len, MSOCK_FLAG_NONBLOCK));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_send(h.sock, "x", 1, MSOCK_FLAG_NONBLOCK));
    int fd;
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_get_int(h.sock, MSOCK_OPT_RECV_FD, &fd));

    client c = c_open(&h), m = c_open(&h);
    bytes all = {.n = 0};
    bytes frames[8];
    int nf = 0;
    frames[nf++] = req_create(1, 4, "pipeline", PU_MEMBER_PW, PU_MASTER_PW);
    frames[nf++] = req_join(2, 0, "pipeline", "wrong");
    frames[nf++] = req_join(3, 0, "pipeline", PU_MEMBER_PW);
    frames[nf++] = req_simple(OP_WHOAMI, 4);
    frames[nf++] = req_send(1, 0, "before the master");
    frames[nf++] = req_simple(OP_LIST, 5);
    frames[nf++] = req_group_op(OP_LEAVE, 6, 1);
    for (int i = 0; i < nf; i++) {
        for (int k = 7; k >= 0; k--)
            b_u8(&all, (uint8_t)((uint64_t)frames[i].n >> (8 * k)));
        b_raw(&all, frames[i].b, frames[i].n);
    }
    pu_raw_write(c.fd, all.b, all.n);
    bytes want = reply_head(OP_CREATE, 1, ST_OK);
    b_u32(&want, 1);
    c_expect(&c, &want);
    c_expect_reply(&c, OP_JOIN, 2, ST_DENIED);
    want = reply_head(OP_JOIN, 3, ST_OK);
    b_u32(&want, 1);
    b_u32(&want, 4);
    b_u8(&want, 0);
    c_expect(&c, &want);
    want = reply_head(OP_WHOAMI, 4, ST_OK);
    b_u64(&want, c.id);
    c_expect(&c, &want);
    c_expect_event(&c, EV_UNDELIVERED, 1, 0, ST_NO_MASTER);
    want = reply_head(OP_LIST, 5, ST_OK);
    b_u32(&want, 1);
    b_u32(&want, 1);
    b_u32(&want, 1);
    b_u32(&want, 4);
    b_u8(&want, 0);
    b_str(&want, "pipeline");
    c_expect(&c, &want);
    c_expect_reply(&c, OP_LEAVE, 6, ST_OK);
    c_expect_none(&m);
    c_close(&c);
    c_close(&m);
    hub_close(&h);
}

/* A member that never reads misses broadcasts once its queues are full; the router does not
 * wait for it, so the others get every message, in order. */
static void test_slow_member(void **state)
{
    (void)state;
    hub h;
    TU_OK(msock_group_hub_open(&h.sock));
    TU_OK(msock_socket_set_int(h.sock, MSOCK_OPT_GROUP_KDF_ITERATIONS, KDF_FAST));
    TU_OK(msock_socket_set_size(h.sock, MSOCK_OPT_SEND_QUEUE_BYTES, 256 * 1024));
    msock_listener l;
    tu_listen_any(h.sock, TU_TCP4, &l, h.url, sizeof(h.url));
    client m = c_open(&h), fast = c_open(&h);
    client slow = {.fd = -1, .id = 0};
    slow.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(slow.fd >= 0);
    int small = 4096;
    setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)tu_url_port(h.url)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(slow.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    pu_raw_handshake(slow.fd, MSOCK_PROTO_GROUP, MSOCK_PROTO_GROUP_HUB);
    slow.id = c_whoami(&slow);

    uint32_t g = c_create(&m, 1, 5, "stream", ST_OK);
    c_join(&slow, 2, 0, "stream", NULL, ST_OK, g, 5, 0);
    c_join(&fast, 3, 0, "stream", NULL, ST_OK, g, 5, 0);
    c_join(&m, 4, 1, "stream", NULL, ST_OK, g, 5, 0);
    /* The slow one's events are never read. */
    c_expect_event(&fast, EV_MASTER_JOINED, g, m.id, ST_OK);

    const size_t body_len = 64 * 1024;
    uint8_t *frame = malloc(13 + body_len);
    uint8_t *got = malloc(13 + body_len + 16);
    assert_true(frame != NULL && got != NULL);
    for (uint32_t i = 0; i < 400; i++) {
        bytes head = req_send(g, 0, "");
        memcpy(frame, head.b, head.n);
        memset(frame + 13, (int)(i & 0xFF), body_len);
        pu_put32(frame + 13, i);
        pu_raw_send_frame(m.fd, frame, 13 + body_len);
        long n = pu_raw_recv_frame(fast.fd, got, 13 + body_len + 16, TU_DEADLINE_MS);
        assert_int_equal(n, (long)(13 + body_len));
        assert_int_equal(got[0], 0x90);
        assert_int_equal(pu_get32(got + 13), i);
        assert_int_equal(get_u64(got + 5), m.id);
    }
    free(frame);
    free(got);
    assert_true(tu_stat(h.sock, MSOCK_STAT_DROPS_QUEUE_FULL) > 0);
    c_close(&slow);
    c_close(&fast);
    c_close(&m);
    expect_served(&h);
    hub_close(&h);
}

/* ---- limits: the reason reaches the client before its connection ends ---- */

static void test_hub_full(void **state)
{
    (void)state;
    hub h = hub_open(2, -1, 0, 0);
    client a = c_open(&h), b = c_open(&h);
    client c = c_connect(&h);
    c_expect_closing(&c, ST_HUB_FULL);
    c_close(&c);
    /* One that asked something at once gets the same, not an answer. */
    c = c_connect(&h);
    bytes x = req_simple(OP_WHOAMI, 1);
    c_send(&c, &x);
    c_expect_closing(&c, ST_HUB_FULL);
    c_close(&c);
    /* Refused clients are nobody: the others do not see them. */
    x = req_simple(OP_PEERS, 2);
    c_send(&a, &x);
    bytes want = reply_head(OP_PEERS, 2, ST_OK);
    b_u32(&want, 1);
    b_u64(&want, b.id);
    c_expect(&a, &want);
    /* Once one leaves there is room again (the hub hears of it soon, not at once). */
    c_close(&b);
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    for (;;) {
        c = c_connect(&h);
        x = req_simple(OP_WHOAMI, 3);
        c_send(&c, &x);
        uint8_t buf[64];
        long n = pu_raw_recv_frame(c.fd, buf, sizeof(buf), TU_DEADLINE_MS);
        assert_true(n > 0);
        c_close(&c);
        if (buf[0] == 0x81)
            break;
        assert_int_equal(buf[0], 0xB0);
        assert_false(tu_deadline_passed(deadline));
        tu_sleep_ms(10);
    }
    assert_true(tu_stat(h.sock, MSOCK_STAT_PIPES_REJECTED) >= 2);
    c_close(&a);
    hub_close(&h);
}

static void test_auth_failures(void **state)
{
    (void)state;
    hub h = hub_open(-1, -1, 3, 0);
    client m = c_open(&h);
    uint32_t g = c_create(&m, 1, 10, "vault", ST_OK);
    /* Two wrong, then right: the count is per connection and a right one does not end it. */
    client a = c_open(&h);
    c_join(&a, 2, 0, "vault", "guess 1", ST_DENIED, 0, 0, 0);
    c_join(&a, 3, 1, "vault", PU_MEMBER_PW, ST_DENIED, 0, 0, 0); /* the member's, as master */
    c_join(&a, 4, 0, "vault", NULL, ST_OK, g, 10, 0);
    /* The third wrong one closes. */
    client x = c_open(&h);
    for (uint32_t i = 0; i < 3; i++)
        c_join(&x, 10 + i, i & 1, "vault", "nope", ST_DENIED, 0, 0, 0);
    c_expect_closing(&x, ST_AUTH_FAILURES);
    c_close(&x);
    /* Pipelined, what follows the closing one is not answered. */
    x = c_open(&h);
    for (uint32_t i = 0; i < 5; i++) {
        bytes j = req_join(20 + i, 0, "vault", "nope");
        c_send(&x, &j);
    }
    for (uint32_t i = 0; i < 3; i++)
        c_expect_reply(&x, OP_JOIN, 20 + i, ST_DENIED);
    c_expect_closing(&x, ST_AUTH_FAILURES);
    c_close(&x);
    /* Wrong passwords of other connections cost a nothing. */
    bytes s = req_send(g, 0, "still here");
    c_send(&a, &s);
    c_expect_event(&a, EV_UNDELIVERED, g, 0, ST_NO_MASTER);
    c_close(&a);
    c_close(&m);
    expect_served(&h);
    hub_close(&h);
}

/* ---- hostile input ---- */

/* A fresh connection sends frame; the hub closes it without answering. */
static void expect_dropped(const hub *h, const uint8_t *frame, size_t len, const char *what)
{
    client c = c_connect(h);
    pu_raw_send_frame(c.fd, frame, len);
    uint8_t buf[256];
    long n = pu_raw_recv_frame(c.fd, buf, sizeof(buf), TU_DEADLINE_MS);
    if (n != PU_FRAME_CLOSED) {
        if (n >= 0)
            dump("answer", buf, (size_t)n);
        dump(what, frame, len);
        fail_msg("%s (%zu bytes): %s, want the connection closed", what, len,
                 n >= 0 ? "answered" : "still open");
    }
    c_close(&c);
}

typedef struct sample {
    const char *what;
    bytes x;
    size_t head; /* the fixed part: shorter is malformed */
    bool body;   /* a body may follow */
} sample;

static size_t valid_requests(sample *out)
{
    uint64_t ids[2] = {1, 2};
    size_t n = 0;
    out[n++] = (sample){"LIST", req_simple(OP_LIST, 1), 5, false};
    out[n++] = (sample){"WHOAMI", req_simple(OP_WHOAMI, 1), 5, false};
    out[n++] = (sample){"PEERS", req_simple(OP_PEERS, 1), 5, false};
    out[n++] = (sample){"CREATE", req_create(1, 5, "name", "pw", "mpw"), 0, false};
    out[n++] = (sample){"JOIN", req_join(1, 1, "name", "pw"), 0, false};
    out[n++] = (sample){"LEAVE", req_group_op(OP_LEAVE, 1, 1), 9, false};
    out[n++] = (sample){"DELETE", req_group_op(OP_DELETE, 1, 1), 9, false};
    out[n++] = (sample){"RELAY", req_relay(1, ids, 2, "body"), 6 + 16, true};
    out[n++] = (sample){"SEND", req_send(1, 0, "body"), 13, true};
    for (size_t i = 0; i < n; i++)
        if (out[i].head == 0)
            out[i].head = out[i].x.n;
    return n;
}

/* Every truncation of every request, and a byte too many after those without a body. */
static void test_truncations(void **state)
{
    (void)state;
    hub h = hub_open(-1, -1, 0, 0);
    sample samples[16];
    size_t n = valid_requests(samples);
    uint64_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        const sample *sm = &samples[i];
        for (size_t cut = 0; cut < sm->head; cut++, dropped++)
            expect_dropped(&h, sm->x.b, cut, sm->what);
        if (!sm->body) {
            bytes longer = sm->x;
            b_u8(&longer, 0);
            expect_dropped(&h, longer.b, longer.n, sm->what);
            dropped++;
        }
    }
    /* Strings past the end, a zero-id relay, bad roles. */
    bytes x = req_create(1, 5, "name", "pw", "mpw");
    x.b[9] = 200; /* the name's length */
    expect_dropped(&h, x.b, x.n, "CREATE name past the end");
    x = req_join(1, 0, "name", "pw");
    x.b[x.n - 3] = 3; /* the password's length: one past the end */
    expect_dropped(&h, x.b, x.n, "JOIN password past the end");
    x = req_relay(1, NULL, 0, "body");
    expect_dropped(&h, x.b, x.n, "RELAY of 0 ids");
    uint64_t ids[3] = {1, 2, 3};
    x = req_relay(1, ids, 3, "");
    x.b[5] = 4; /* four ids announced, three there */
    expect_dropped(&h, x.b, x.n, "RELAY ids past the end");
    for (int role = 2; role < 256; role += 51) {
        x = req_join(1, (uint8_t)role, "name", "pw");
        expect_dropped(&h, x.b, x.n, "JOIN with a bad role");
    }
    dropped += 4 + 5;
    pu_expect_stat(h.sock, MSOCK_STAT_DROPS_MALFORMED, dropped);
    expect_served(&h);
    hub_close(&h);
}

/* Every type that is not a request, the hub-to-client ones well formed. */
static void test_wrong_types(void **state)
{
    (void)state;
    hub h = hub_open(-1, -1, 0, 0);
    uint64_t dropped = 0;
    bytes wellformed[5];
    wellformed[0] = reply_head(OP_WHOAMI, 1, ST_OK);
    b_u64(&wellformed[0], 1);
    wellformed[1] = data_msg(0x90, 1, 1, "data");
    wellformed[2] = data_msg(0x91, 0, 1, "relayed");
    wellformed[3] = event_msg(EV_MEMBER_JOINED, 1, 1, 0);
    wellformed[4] = (bytes){.n = 0};
    b_u8(&wellformed[4], 0xB0);
    b_u8(&wellformed[4], ST_HUB_FULL);
    for (int i = 0; i < 5; i++, dropped++)
        expect_dropped(&h, wellformed[i].b, wellformed[i].n, "a hub-to-client message");
    for (int t = 0; t < 256; t++) {
        if ((t >= 0x01 && t <= 0x08) || t == 0x10)
            continue;
        bytes x = {.n = 0};
        b_u8(&x, (uint8_t)t);
        for (int k = 0; k < 24; k++)
            b_u8(&x, (uint8_t)(k * 37 + t));
        expect_dropped(&h, x.b, x.n, "an unknown type");
        dropped++;
    }
    pu_expect_stat(h.sock, MSOCK_STAT_DROPS_MALFORMED, dropped);
    expect_served(&h);
    hub_close(&h);
}

/* Random frames, some of them well formed by chance: each connection is answered or closed,
 * and the hub goes on serving. */
static void test_random_bytes(void **state)
{
    (void)state;
    hub h = hub_open(-1, 20, 0, 0);
    uint64_t seed = 0x243F6A8885A308D3ull;
    const uint8_t types[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x10, 0x81, 0x90, 0xA0, 0x00, 0xFF};
    for (int round = 0; round < 200; round++) {
        uint8_t frame[80];
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        size_t len = (size_t)(seed % sizeof(frame));
        for (size_t i = 0; i < len; i++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            frame[i] = (uint8_t)((seed & 7) == 0 ? seed >> 11 : (seed >> 11) % 6);
        }
        if (len > 0)
            frame[0] = types[(seed >> 40) % sizeof(types)];
        client c = c_connect(&h);
        pu_raw_send_frame(c.fd, frame, len);
        bytes who = req_simple(OP_WHOAMI, 0xFEEDu);
        pu_raw_send_frame(c.fd, who.b, who.n);
        /* Whatever it answered first, then our WHOAMI's reply, or the end. */
        bool done = false;
        for (int k = 0; k < 8 && !done; k++) {
            uint8_t buf[1024];
            long n = pu_raw_recv_frame(c.fd, buf, sizeof(buf), TU_DEADLINE_MS);
            assert_true(n != PU_FRAME_NONE);
            done = n == PU_FRAME_CLOSED ||
                   (n == 15 && buf[0] == 0x81 && buf[1] == OP_WHOAMI && pu_get32(buf + 2) == 0xFEEDu);
        }
        assert_true(done);
        c_close(&c);
    }
    expect_served(&h);
    hub_close(&h);
}

/* 10,000 CREATEs, pipelined in batches, against a limit of 5 groups: answered in order. */
static void test_create_flood(void **state)
{
    (void)state;
    hub h = hub_open(-1, 5, 0, 0);
    client c = c_open(&h);
    const uint32_t total = 10000, batch = 500;
    for (uint32_t start = 0; start < total; start += batch) {
        bytes *frames = malloc(sizeof(bytes));
        assert_non_null(frames);
        uint8_t *wire = malloc((size_t)batch * 64);
        assert_non_null(wire);
        size_t at = 0;
        for (uint32_t i = start; i < start + batch; i++) {
            char name[32];
            snprintf(name, sizeof(name), "g%u", (unsigned)i);
            *frames = req_create(i, 3, name, "pw", "mpw");
            uint64_t len = frames->n;
            for (int k = 7; k >= 0; k--)
                wire[at + (size_t)(7 - k)] = (uint8_t)(len >> (8 * k));
            memcpy(wire + at + 8, frames->b, frames->n);
            at += 8 + frames->n;
        }
        pu_raw_write(c.fd, wire, at);
        for (uint32_t i = start; i < start + batch; i++) {
            uint8_t buf[64];
            size_t n = c_recv(&c, buf, sizeof(buf));
            bytes head = reply_head(OP_CREATE, i, i < 5 ? ST_OK : ST_TOO_MANY_GROUPS);
            assert_int_equal(n, head.n + (i < 5 ? 4 : 0));
            assert_memory_equal(buf, head.b, head.n);
        }
        free(wire);
        free(frames);
    }
    bytes l = req_simple(OP_LIST, 1);
    c_send(&c, &l);
    uint8_t buf[512];
    size_t n = c_recv(&c, buf, sizeof(buf));
    assert_true(n > 11);
    assert_int_equal(pu_get32(buf + 7), 5);
    c_close(&c);
    expect_served(&h);
    hub_close(&h);
}

/* A hub closed while passwords are being hashed and messages wait behind them: no hang, and
 * (under the sanitizers) nothing leaks. */
static void test_close_busy(void **state)
{
    (void)state;
    hub h = hub_open(-1, -1, 0, 0);
    TU_OK(msock_socket_set_int(h.sock, MSOCK_OPT_GROUP_KDF_ITERATIONS, 200000));
    client c[8];
    for (int i = 0; i < 8; i++) {
        c[i] = c_open(&h);
        char name[16];
        snprintf(name, sizeof(name), "busy %d", i);
        bytes x = req_create(1, 4, name, "pw", "mpw");
        c_send(&c[i], &x);
        x = req_send(1, 0, "waits behind the create");
        c_send(&c[i], &x);
        x = req_simple(OP_LIST, 2);
        c_send(&c[i], &x);
    }
    hub_close(&h);
    for (int i = 0; i < 8; i++) {
        assert_true(pu_raw_wait_closed(c[i].fd, TU_DEADLINE_MS));
        c_close(&c[i]);
    }
}

/* ---- the reasons over every transport, to the library's own client ---- */

/* s receives its disconnection, with err as the reason, before anything else of note. */
static void expect_disconnected(msock_socket s, int err, msock_socket hub_sock, tu_transport t)
{
    for (int i = 0; i < 16; i++) {
        msock_group_rx rx;
        uint8_t buf[64];
        size_t len = sizeof(buf);
        int rc = msock_group_recv(s, &rx, buf, &len, 0);
        if (rc != 0)
            fail_msg("%s: waiting for the disconnection: %s (hub pipes removed %llu; client "
                     "pipes added %llu, removed %llu, messages %llu)",
                     tu_transport_name(t), tu_errname(rc),
                     (unsigned long long)tu_stat(hub_sock, MSOCK_STAT_PIPES_REMOVED),
                     (unsigned long long)tu_stat(s, MSOCK_STAT_PIPES_ADDED),
                     (unsigned long long)tu_stat(s, MSOCK_STAT_PIPES_REMOVED),
                     (unsigned long long)tu_stat(s, MSOCK_STAT_MSGS_RECV));
        if (rx.kind == MSOCK_GROUP_EV_DISCONNECTED) {
            if (rx.error != err)
                fail_msg("%s: disconnected with %s, want %s (hub drops, queue full: %llu)",
                         tu_transport_name(t), tu_errname(rx.error), tu_errname(err),
                         (unsigned long long)tu_stat(hub_sock, MSOCK_STAT_DROPS_QUEUE_FULL));
            return;
        }
    }
    fail_msg("%s: no disconnection came", tu_transport_name(t));
}

static void closing_over(tu_transport t)
{
    if (!tu_transport_available(t))
        return;
    pu_node h = pu_hub_open();
    TU_OK(msock_socket_set_int(h.sock, MSOCK_OPT_GROUP_MAX_CLIENTS, 2));
    TU_OK(msock_socket_set_int(h.sock, MSOCK_OPT_GROUP_MAX_AUTH_FAILS, 2));
    char url[TU_URL_MAX];
    pu_listen(&h, t, url, sizeof(url));
    msock_socket a = pu_group_client(url);
    pu_group_whoami(a); /* a is a client of the hub now */
    pu_group_create(a, "g", 4);
    /* The second wrong password ends a's connection, saying why. */
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(a, "g", 1, "x", 1, MSOCK_GROUP_MEMBER, NULL));
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(a, "g", 1, "y", 1, MSOCK_GROUP_MEMBER, NULL));
    expect_disconnected(a, MSOCK_EACCES, h.sock, t);
    TU_OK(msock_close(a));
    a = pu_group_client(url);
    pu_group_whoami(a);
    msock_socket b = pu_group_client(url);
    pu_group_whoami(b);
    /* The third is one too many, and hears so. */
    msock_socket c = pu_group_client(url);
    expect_disconnected(c, MSOCK_ENOSPC, h.sock, t);
    TU_OK(msock_close(c));
    TU_OK(msock_close(b));
    TU_OK(msock_close(a));
    pu_node_close(&h);
}

static void test_closing_transports(void **state)
{
    (void)state;
    closing_over(TU_INPROC);
    closing_over(TU_IPC);
    closing_over(TU_TCP4);
#ifdef MSOCK_TEST_WS
    closing_over(TU_WS4);
#endif
}

int main(void)
{
    tu_watchdog(600);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_and_data),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_pipelined_order),
        cmocka_unit_test(test_slow_member),
        cmocka_unit_test(test_hub_full),
        cmocka_unit_test(test_auth_failures),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_create_flood),
        cmocka_unit_test(test_closing_transports),
        cmocka_unit_test(test_close_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
