/* test_group.c: the group pattern through the public API: every msock_group_* call and each of
 * its errors, where data and events go (and where they must not), identity and relay, the hub's
 * limits, timeouts, closed handles and the MSOCK_OPT_GROUP_* options. */
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
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "testutil.h"
#include "protoutil.h"

#define LIT(s) (s), (sizeof(s) - 1)

/* One hub and its address. */
typedef struct hub_world {
    pu_node hub;
    char url[TU_URL_MAX];
} hub_world;

static void world_open(hub_world *w, tu_transport t)
{
    w->hub = pu_hub_open();
    pu_listen(&w->hub, t, w->url, sizeof(w->url));
}

static msock_socket world_client(hub_world *w)
{
    return pu_group_client(w->url);
}

static void world_close(hub_world *w)
{
    pu_node_close(&w->hub);
}

static void close_clients(msock_socket *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        TU_OK(msock_close(c[i]));
}

/* The entry of list[0..n) whose name is name[0..len), or NULL. */
static const msock_group_info *find_group(const msock_group_info *list, size_t n,
                                          const void *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].name_len == len && memcmp(list[i].name, name, len) == 0)
            return &list[i];
    return NULL;
}

/* Lists the hub's groups into list (room for cap); returns how many the hub has. */
static size_t list_groups(msock_socket s, msock_group_info *list, size_t cap)
{
    size_t n = cap;
    TU_OK(msock_group_list(s, list, &n));
    return n;
}

/* The hub's view of one group, found by name; fails if it is not listed. */
static msock_group_info group_info(msock_socket s, const char *name)
{
    msock_group_info list[16];
    size_t n = list_groups(s, list, 16);
    assert_true(n <= 16);
    const msock_group_info *g = find_group(list, n, name, strlen(name));
    if (g == NULL)
        fail_msg("group \"%s\" is not listed", name);
    return *g;
}

static void expect_not_listed(msock_socket s, const char *name)
{
    msock_group_info list[16];
    size_t n = list_groups(s, list, 16);
    assert_true(n <= 16);
    if (find_group(list, n, name, strlen(name)) != NULL)
        fail_msg("group \"%s\" is still listed", name);
}

/* ---- create and list ---- */

/* Names and passwords are any bytes: commas, spaces and NUL count like the others. */
static void test_create_any_bytes(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket c = world_client(&w);
    static const char name[] = "a, b\0c";     /* 6 bytes */
    static const char pw[] = "p w,\0x";       /* 6 bytes */
    static const char master_pw[] = "m\0 ,";  /* 4 bytes */
    TU_OK(msock_group_create(c, LIT(name), LIT(pw), LIT(master_pw), 3));
    TU_EXPECT_RC(MSOCK_EEXIST, msock_group_create(c, LIT(name), LIT("x"), LIT("y"), 5));
    /* The part before the NUL is another name. */
    TU_OK(msock_group_create(c, LIT("a, b"), LIT("q"), LIT("r"), 2));
    /* An empty password is a password. */
    TU_OK(msock_group_create(c, LIT("open"), "", 0, "", 0, 1));

    msock_group_info list[8];
    size_t n = list_groups(c, list, 8);
    assert_int_equal(n, 3);
    const msock_group_info *g = find_group(list, n, LIT(name));
    assert_non_null(g);
    assert_int_equal(g->capacity, 3);
    assert_int_equal(g->members, 0);
    assert_false(g->has_master);
    assert_int_equal(g->name[g->name_len], 0);
    assert_true(g->id != 0);
    const msock_group_info *g2 = find_group(list, n, LIT("a, b"));
    assert_non_null(g2);
    assert_int_equal(g2->capacity, 2);
    assert_true(g2->id != g->id);

    uint32_t id = 0;
    TU_OK(msock_group_join(c, LIT(name), LIT(pw), MSOCK_GROUP_MEMBER, &id));
    assert_int_equal(id, g->id);
    msock_socket d = world_client(&w);
    /* The password cut at its NUL, and the other group's password, are wrong. */
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(d, LIT(name), LIT("p w,"), MSOCK_GROUP_MEMBER,
                                                 NULL));
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(d, LIT(name), LIT("q"), MSOCK_GROUP_MEMBER, NULL));
    TU_OK(msock_group_join(d, LIT(name), LIT(master_pw), MSOCK_GROUP_MASTER, NULL));
    TU_OK(msock_group_join(d, LIT("open"), "", 0, MSOCK_GROUP_MEMBER, NULL));
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(c, LIT("open"), LIT("x"), MSOCK_GROUP_MEMBER,
                                                NULL));
    TU_OK(msock_group_join(c, LIT("open"), "", 0, MSOCK_GROUP_MASTER, NULL));
    msock_group_info open = group_info(c, "open");
    assert_int_equal(open.members, 1);
    assert_true(open.has_master);
    close_clients((msock_socket[]){c, d}, 2);
    world_close(&w);
}

static void test_name_and_password_lengths(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_INPROC);
    msock_socket c = world_client(&w);
    uint8_t long_name[MSOCK_GROUP_NAME_MAX + 1], long_pw[MSOCK_GROUP_PASSWORD_MAX + 1];
    for (size_t i = 0; i < sizeof(long_name); i++)
        long_name[i] = (uint8_t)(255 - i); /* every byte value from 255 down to 0 */
    memset(long_pw, ',', sizeof(long_pw));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_create(c, long_name, 0, LIT("p"), LIT("m"), 1));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_create(c, long_name, MSOCK_GROUP_NAME_MAX + 1,
                                                  LIT("p"), LIT("m"), 1));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_create(c, LIT("g"), long_pw,
                                                  MSOCK_GROUP_PASSWORD_MAX + 1, LIT("m"), 1));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_create(c, LIT("g"), LIT("p"), long_pw,
                                                  MSOCK_GROUP_PASSWORD_MAX + 1, 1));
    assert_int_equal(list_groups(c, NULL, 0), 0);

    TU_OK(msock_group_create(c, long_name, MSOCK_GROUP_NAME_MAX, long_pw,
                             MSOCK_GROUP_PASSWORD_MAX, long_pw, MSOCK_GROUP_PASSWORD_MAX, 1));
    msock_group_info info;
    size_t n = 1;
    TU_OK(msock_group_list(c, &info, &n));
    assert_int_equal(n, 1);
    assert_int_equal(info.name_len, MSOCK_GROUP_NAME_MAX);
    assert_memory_equal(info.name, long_name, MSOCK_GROUP_NAME_MAX);
    assert_int_equal(info.name[MSOCK_GROUP_NAME_MAX], 0);

    uint32_t id = 0;
    TU_OK(msock_group_join(c, long_name, MSOCK_GROUP_NAME_MAX, long_pw,
                           MSOCK_GROUP_PASSWORD_MAX, MSOCK_GROUP_MEMBER, &id));
    assert_int_equal(id, info.id);
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_join(c, long_name, 0, LIT("p"), MSOCK_GROUP_MEMBER,
                                                NULL));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_join(c, long_name, MSOCK_GROUP_NAME_MAX + 1, LIT("p"),
                                                MSOCK_GROUP_MEMBER, NULL));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_join(c, long_name, MSOCK_GROUP_NAME_MAX, long_pw,
                                                MSOCK_GROUP_PASSWORD_MAX + 1, MSOCK_GROUP_MASTER,
                                                NULL));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_join(c, long_name, MSOCK_GROUP_NAME_MAX, long_pw,
                                                MSOCK_GROUP_PASSWORD_MAX, 2, NULL));
    TU_OK(msock_close(c));
    world_close(&w);
}

static void test_capacity_and_group_limits(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_INPROC);
    TU_OK(msock_socket_set_int(w.hub.sock, MSOCK_OPT_GROUP_MAX_MEMBERS, 8));
    TU_OK(msock_socket_set_int(w.hub.sock, MSOCK_OPT_GROUP_MAX_GROUPS, 3));
    msock_socket c = world_client(&w);
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_create(c, LIT("zero"), LIT("p"), LIT("m"), 0));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_create(c, LIT("nine"), LIT("p"), LIT("m"), 9));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_create(c, LIT("huge"), LIT("p"), LIT("m"),
                                                  UINT32_MAX));
    pu_group_create(c, "eight", 8);
    pu_group_create(c, "two", 2);
    pu_group_create(c, "three", 3);
    assert_int_equal(group_info(c, "eight").capacity, 8);
    /* The name check and the group limit: either refusal is fine for a taken name, but a
     * fourth new name must hit the limit. */
    TU_EXPECT_RC(MSOCK_ENOSPC, msock_group_create(c, LIT("four"), LIT("p"), LIT("m"), 1));
    assert_int_equal(list_groups(c, NULL, 0), 3);
    /* Deleting one makes room again. */
    uint32_t two = pu_group_join(c, "two", MSOCK_GROUP_MASTER);
    TU_OK(msock_group_delete(c, two));
    pu_group_create(c, "four", 1);
    assert_int_equal(list_groups(c, NULL, 0), 3);
    TU_OK(msock_close(c));
    world_close(&w);
}

/* *n in: room in list; out: the groups the hub has. */
static void test_list_counts(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket c = world_client(&w);
    size_t n = 5;
    TU_OK(msock_group_list(c, NULL, &(size_t){0}));
    TU_OK(msock_group_list(c, (msock_group_info[1]){0}, &n));
    assert_int_equal(n, 0);
    static const char *const names[] = {"red", "green", "blue"};
    for (int i = 0; i < 3; i++)
        pu_group_create(c, names[i], (uint32_t)(i + 1));
    n = 0;
    TU_OK(msock_group_list(c, NULL, &n));
    assert_int_equal(n, 3);
    msock_group_info two[2];
    memset(two, 0, sizeof(two));
    n = 2;
    TU_OK(msock_group_list(c, two, &n));
    assert_int_equal(n, 3);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(two[i].name[two[i].name_len], 0);
        assert_non_null(find_group(two, 2, two[i].name, two[i].name_len));
        bool known = false;
        for (int k = 0; k < 3; k++)
            known |= two[i].name_len == strlen(names[k]) &&
                     memcmp(two[i].name, names[k], two[i].name_len) == 0;
        assert_true(known);
    }
    assert_true(two[0].id != two[1].id);
    msock_group_info all[10];
    n = list_groups(c, all, 10);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        const msock_group_info *g = find_group(all, n, names[i], strlen(names[i]));
        assert_non_null(g);
        assert_int_equal(g->capacity, (uint32_t)(i + 1));
    }

    /* Counts and the master flag follow joins and leaves. */
    msock_socket m = world_client(&w), a = world_client(&w), b = world_client(&w);
    uint32_t blue = pu_group_join(a, "blue", MSOCK_GROUP_MEMBER);
    assert_int_equal(group_info(c, "blue").members, 1);
    assert_false(group_info(c, "blue").has_master);
    pu_group_join(m, "blue", MSOCK_GROUP_MASTER);
    assert_true(group_info(c, "blue").has_master);
    assert_int_equal(group_info(c, "blue").members, 1);
    pu_group_join(b, "blue", MSOCK_GROUP_MEMBER);
    assert_int_equal(group_info(c, "blue").members, 2);
    assert_int_equal(group_info(c, "red").members, 0);
    TU_OK(msock_group_leave(a, blue));
    assert_int_equal(group_info(c, "blue").members, 1);
    TU_OK(msock_group_leave(m, blue));
    assert_false(group_info(c, "blue").has_master);
    close_clients((msock_socket[]){c, m, a, b}, 4);
    world_close(&w);
}

/* ---- join and leave ---- */

static void test_join_errors(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket a = world_client(&w), b = world_client(&w), c = world_client(&w),
                 m = world_client(&w);
    pu_group_create(a, "pair", 2);
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_join(a, LIT("nope"), LIT(PU_MEMBER_PW),
                                                MSOCK_GROUP_MEMBER, NULL));
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(a, LIT("pair"), LIT("wrong"), MSOCK_GROUP_MEMBER,
                                                NULL));
    /* Each role has its own password. */
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(a, LIT("pair"), LIT(PU_MASTER_PW),
                                                MSOCK_GROUP_MEMBER, NULL));
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(m, LIT("pair"), LIT(PU_MEMBER_PW),
                                                MSOCK_GROUP_MASTER, NULL));
    uint32_t g = pu_group_join(a, "pair", MSOCK_GROUP_MEMBER);
    TU_EXPECT_RC(MSOCK_EEXIST, msock_group_join(a, LIT("pair"), LIT(PU_MEMBER_PW),
                                                MSOCK_GROUP_MEMBER, NULL));
    TU_EXPECT_RC(MSOCK_EEXIST, msock_group_join(a, LIT("pair"), LIT(PU_MASTER_PW),
                                                MSOCK_GROUP_MASTER, NULL));
    assert_int_equal(pu_group_join(b, "pair", MSOCK_GROUP_MEMBER), g);
    TU_EXPECT_RC(MSOCK_ENOSPC, msock_group_join(c, LIT("pair"), LIT(PU_MEMBER_PW),
                                                MSOCK_GROUP_MEMBER, NULL));
    /* The capacity counts standard members: the master still gets in. */
    assert_int_equal(pu_group_join(m, "pair", MSOCK_GROUP_MASTER), g);
    TU_EXPECT_RC(MSOCK_EBUSY, msock_group_join(c, LIT("pair"), LIT(PU_MASTER_PW),
                                               MSOCK_GROUP_MASTER, NULL));
    TU_EXPECT_RC(MSOCK_EEXIST, msock_group_join(m, LIT("pair"), LIT(PU_MASTER_PW),
                                                MSOCK_GROUP_MASTER, NULL));
    /* Leave: only what one is in. */
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_leave(c, g));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_leave(c, g + 1000));
    TU_OK(msock_group_leave(b, g));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_leave(b, g));
    /* b's place is free again. */
    assert_int_equal(pu_group_join(c, "pair", MSOCK_GROUP_MEMBER), g);
    close_clients((msock_socket[]){a, b, c, m}, 4);
    world_close(&w);
}

/* ---- data ---- */

static void test_data_routing(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket m = world_client(&w), a = world_client(&w), b = world_client(&w);
    uint64_t id_m = pu_group_whoami(m), id_a = pu_group_whoami(a), id_b = pu_group_whoami(b);
    pu_group_create(m, "room", 10);
    uint32_t g = pu_group_join(m, "room", MSOCK_GROUP_MASTER);
    assert_int_equal(pu_group_join(a, "room", MSOCK_GROUP_MEMBER), g);
    pu_group_expect_event(m, MSOCK_GROUP_EV_JOINED, g, id_a);
    assert_int_equal(pu_group_join(b, "room", MSOCK_GROUP_MEMBER), g);
    pu_group_expect_event(m, MSOCK_GROUP_EV_JOINED, g, id_b);
    pu_group_expect_event(a, MSOCK_GROUP_EV_JOINED, g, id_b);

    /* A member's message reaches the master only. */
    pu_group_send_str(a, g, 0, "from a");
    pu_group_expect_data(m, g, id_a, "from a");
    pu_group_send_str(b, g, 0, "from b");
    pu_group_expect_data(m, g, id_b, "from b");
    /* The master's reaches every member, or one. */
    pu_group_send_str(m, g, 0, "to all");
    pu_group_expect_data(a, g, id_m, "to all");
    pu_group_expect_data(b, g, id_m, "to all");
    pu_group_send_str(m, g, id_b, "to b");
    pu_group_expect_data(b, g, id_m, "to b");
    pu_group_send_str(m, g, id_a, "to a");
    pu_group_expect_data(a, g, id_m, "to a");
    /* An empty body is a message too. */
    TU_OK(msock_group_send(m, g, 0, "", 0, 0));
    pu_group_expect_rx(a, MSOCK_GROUP_DATA, g, id_m, 0, "", 0);
    pu_group_expect_rx(b, MSOCK_GROUP_DATA, g, id_m, 0, "", 0);
    pu_group_expect_none(m, PU_QUIET_MS);
    pu_group_expect_none(a, 0);
    pu_group_expect_none(b, 0);

    /* The message API: msock_group_sendmsg, msock_group_recvmsg, msock_recvmsg and
     * msock_group_msg_info tell the same. */
    msock_msg *msg = tu_msg_new(100, 7);
    TU_OK(msock_group_sendmsg(m, g, id_a, msg, 0));
    msock_group_rx rx;
    msock_msg *got = NULL;
    TU_OK(msock_group_recvmsg(a, &rx, &got, 0));
    assert_int_equal(rx.kind, MSOCK_GROUP_DATA);
    assert_int_equal(rx.group, g);
    assert_true(rx.from == id_m);
    assert_int_equal(msock_msg_len(got), 100);
    assert_true(tu_check(msock_msg_body(got), 100, 7));
    msock_group_rx info;
    TU_OK(msock_group_msg_info(got, &info));
    assert_int_equal(info.kind, MSOCK_GROUP_DATA);
    assert_int_equal(info.group, g);
    assert_true(info.from == id_m);
    msock_msg_free(got);
    msg = tu_msg_new(33, 8);
    TU_OK(msock_group_sendmsg(b, g, 0, msg, 0));
    TU_OK(msock_recvmsg(m, &got, 0));
    memset(&info, 0, sizeof(info));
    TU_OK(msock_group_msg_info(got, &info));
    assert_int_equal(info.kind, MSOCK_GROUP_DATA);
    assert_int_equal(info.group, g);
    assert_true(info.from == id_b);
    assert_int_equal(msock_msg_len(got), 33);
    assert_true(tu_check(msock_msg_body(got), 33, 8));
    msock_msg_free(got);
    /* rx may be NULL. */
    pu_group_send_str(m, g, id_b, "no rx");
    char buf[16];
    size_t len = sizeof(buf);
    TU_OK(msock_group_recv(b, NULL, buf, &len, 0));
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "no rx", 5);
    /* A message that did not come from a group socket has no group information. */
    TU_OK(msock_msg_alloc(&msg, 4));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_msg_info(msg, &info));
    msock_msg_free(msg);
    close_clients((msock_socket[]){m, a, b}, 3);
    world_close(&w);
}

/* 1 MiB bodies both ways, by id and to all. */
static void test_big_group_messages(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket m = world_client(&w), a = world_client(&w);
    uint64_t id_m = pu_group_whoami(m), id_a = pu_group_whoami(a);
    pu_group_create(m, "big", 1);
    uint32_t g = pu_group_join(m, "big", MSOCK_GROUP_MASTER);
    pu_group_join(a, "big", MSOCK_GROUP_MEMBER);
    pu_group_expect_event(m, MSOCK_GROUP_EV_JOINED, g, id_a);
    uint8_t *body = malloc(PU_MIB);
    assert_non_null(body);
    tu_fill(body, PU_MIB, 11);
    TU_OK(msock_group_send(m, g, id_a, body, PU_MIB, 0));
    pu_group_expect_rx(a, MSOCK_GROUP_DATA, g, id_m, 0, body, PU_MIB);
    tu_fill(body, PU_MIB, 12);
    TU_OK(msock_group_send(m, g, 0, body, PU_MIB, 0));
    pu_group_expect_rx(a, MSOCK_GROUP_DATA, g, id_m, 0, body, PU_MIB);
    tu_fill(body, PU_MIB, 13);
    TU_OK(msock_group_send(a, g, 0, body, PU_MIB, 0));
    pu_group_expect_rx(m, MSOCK_GROUP_DATA, g, id_a, 0, body, PU_MIB);
    free(body);
    close_clients((msock_socket[]){m, a}, 2);
    world_close(&w);
}

/* A member's send to a group without a master fails at once instead of vanishing. */
static void test_no_master(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket a = world_client(&w), m = world_client(&w);
    pu_group_create(a, "headless", 4);
    uint32_t g = pu_group_join(a, "headless", MSOCK_GROUP_MEMBER);
    TU_EXPECT_RC(MSOCK_ENOMASTER, msock_group_send(a, g, 0, LIT("anyone?"), 0));
    msock_msg *msg = tu_msg_new(10, 1);
    TU_EXPECT_RC(MSOCK_ENOMASTER, msock_group_sendmsg(a, g, 0, msg, 0));
    msock_msg_free(msg); /* a failed sendmsg leaves the message with us */
    uint64_t id_m = pu_group_whoami(m);
    pu_group_join(m, "headless", MSOCK_GROUP_MASTER);
    /* Once the member knows of the master, its sends go through. */
    pu_group_expect_event(a, MSOCK_GROUP_EV_MASTER_JOINED, g, id_m);
    pu_group_send_str(a, g, 0, "hello master");
    pu_group_expect_data(m, g, pu_group_whoami(a), "hello master");
    TU_OK(msock_group_leave(m, g));
    pu_group_expect_event(a, MSOCK_GROUP_EV_MASTER_LEFT, g, id_m);
    TU_EXPECT_RC(MSOCK_ENOMASTER, msock_group_send(a, g, 0, LIT("gone?"), 0));
    pu_group_expect_none(m, PU_QUIET_MS);
    close_clients((msock_socket[]){a, m}, 2);
    world_close(&w);
}

/* Sends the hub cannot deliver come back as EV_UNDELIVERED with the reason. */
static void test_undelivered(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_INPROC);
    TU_OK(msock_socket_set_size(w.hub.sock, MSOCK_OPT_GROUP_MAX_BODY, 100));
    msock_socket m = world_client(&w), a = world_client(&w), outsider = world_client(&w);
    uint64_t id_m = pu_group_whoami(m), id_a = pu_group_whoami(a);
    uint64_t id_out = pu_group_whoami(outsider);
    pu_group_create(m, "u", 4);
    uint32_t g = pu_group_join(m, "u", MSOCK_GROUP_MASTER);
    pu_group_join(a, "u", MSOCK_GROUP_MEMBER);
    pu_group_expect_event(m, MSOCK_GROUP_EV_JOINED, g, id_a);

    /* To a connected client that is not in the group, and to an id nobody has. */
    uint64_t nobody = id_m ^ id_a ^ id_out ^ 0x5a5a5a5a5a5a5a5aull;
    pu_group_send_str(m, g, id_out, "not yours");
    pu_group_expect_rx(m, MSOCK_GROUP_EV_UNDELIVERED, g, id_out, MSOCK_ENOENT, NULL, 0);
    pu_group_send_str(m, g, nobody, "nobody");
    pu_group_expect_rx(m, MSOCK_GROUP_EV_UNDELIVERED, g, nobody, MSOCK_ENOENT, NULL, 0);
    /* Over the hub's MSOCK_OPT_GROUP_MAX_BODY, both ways; at it, delivered. */
    uint8_t body[101];
    tu_fill(body, sizeof(body), 3);
    TU_OK(msock_group_send(m, g, 0, body, 101, 0));
    pu_group_expect_rx(m, MSOCK_GROUP_EV_UNDELIVERED, g, 0, MSOCK_EMSGSIZE, NULL, 0);
    TU_OK(msock_group_send(a, g, 0, body, 101, 0));
    pu_group_expect_rx(a, MSOCK_GROUP_EV_UNDELIVERED, g, 0, MSOCK_EMSGSIZE, NULL, 0);
    TU_OK(msock_group_send(m, g, 0, body, 100, 0));
    pu_group_expect_rx(a, MSOCK_GROUP_DATA, g, id_m, 0, body, 100);
    /* A standard member cannot address one member: refused at once or reported. */
    int rc = msock_group_send(a, g, id_m, LIT("by id"), 0);
    if (rc == 0)
        pu_group_expect_rx(a, MSOCK_GROUP_EV_UNDELIVERED, g, id_m, MSOCK_EPERM, NULL, 0);
    else if (rc != MSOCK_EINVAL && rc != MSOCK_EPERM)
        fail_msg("member send with a receiver id: %s, want EINVAL, EPERM or UNDELIVERED",
                 tu_errname(rc));
    /* Nothing of that reached anyone. */
    pu_group_expect_none(a, PU_QUIET_MS);
    pu_group_expect_none(m, 0);
    pu_group_expect_none(outsider, 0);
    /* A group one is not in. */
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_send(outsider, g, 0, LIT("x"), 0));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_send(outsider, g + 77, 0, LIT("x"), 0));
    close_clients((msock_socket[]){m, a, outsider}, 3);
    world_close(&w);
}

/* ---- events ---- */

/* Each event reaches exactly the clients the protocol names; a master leaves and another one
 * takes over. bystander is in no group, other in another group: they see nothing. */
static void test_events_and_new_master(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket a = world_client(&w), b = world_client(&w), c = world_client(&w),
                 m1 = world_client(&w), m2 = world_client(&w), bystander = world_client(&w),
                 other = world_client(&w);
    uint64_t id_a = pu_group_whoami(a), id_b = pu_group_whoami(b), id_c = pu_group_whoami(c);
    uint64_t id_m1 = pu_group_whoami(m1), id_m2 = pu_group_whoami(m2);
    pu_group_create(a, "ev", 10);
    pu_group_create(other, "elsewhere", 10);
    pu_group_join(other, "elsewhere", MSOCK_GROUP_MEMBER);

    uint32_t g = pu_group_join(a, "ev", MSOCK_GROUP_MEMBER); /* no master yet: nobody told */
    pu_group_join(m1, "ev", MSOCK_GROUP_MASTER);
    pu_group_expect_event(a, MSOCK_GROUP_EV_MASTER_JOINED, g, id_m1);
    pu_group_join(b, "ev", MSOCK_GROUP_MEMBER);
    pu_group_expect_event(m1, MSOCK_GROUP_EV_JOINED, g, id_b);
    pu_group_expect_event(a, MSOCK_GROUP_EV_JOINED, g, id_b);
    /* The joiner learns what it needs from the join's reply, not from events. */
    pu_group_expect_none(b, PU_QUIET_MS);
    pu_group_expect_none(m1, 0);
    pu_group_expect_none(a, 0);

    TU_OK(msock_group_leave(a, g));
    pu_group_expect_event(m1, MSOCK_GROUP_EV_LEFT, g, id_a);
    pu_group_expect_event(b, MSOCK_GROUP_EV_LEFT, g, id_a);

    /* The master leaves; the group stays; a new master takes over. */
    TU_OK(msock_group_leave(m1, g));
    pu_group_expect_event(b, MSOCK_GROUP_EV_MASTER_LEFT, g, id_m1);
    TU_EXPECT_RC(MSOCK_ENOMASTER, msock_group_send(b, g, 0, LIT("hello?"), 0));
    assert_int_equal(pu_group_join(m2, "ev", MSOCK_GROUP_MASTER), g);
    pu_group_expect_event(b, MSOCK_GROUP_EV_MASTER_JOINED, g, id_m2);
    pu_group_send_str(m2, g, 0, "new master here");
    pu_group_expect_data(b, g, id_m2, "new master here");
    pu_group_send_str(b, g, 0, "welcome");
    pu_group_expect_data(m2, g, id_b, "welcome");

    /* Closing a connection leaves every group. */
    pu_group_join(c, "ev", MSOCK_GROUP_MEMBER);
    pu_group_expect_event(m2, MSOCK_GROUP_EV_JOINED, g, id_c);
    pu_group_expect_event(b, MSOCK_GROUP_EV_JOINED, g, id_c);
    TU_OK(msock_close(b));
    pu_group_expect_event(m2, MSOCK_GROUP_EV_LEFT, g, id_b);
    pu_group_expect_event(c, MSOCK_GROUP_EV_LEFT, g, id_b);
    TU_OK(msock_close(m2));
    pu_group_expect_event(c, MSOCK_GROUP_EV_MASTER_LEFT, g, id_m2);
    assert_false(group_info(c, "ev").has_master);
    assert_int_equal(group_info(c, "ev").members, 1);

    pu_group_expect_none(c, PU_QUIET_MS);
    pu_group_expect_none(a, 0);
    pu_group_expect_none(m1, 0);
    pu_group_expect_none(bystander, 0);
    pu_group_expect_none(other, 0);
    close_clients((msock_socket[]){a, c, m1, bystander, other}, 5);
    world_close(&w);
}

static void test_delete(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket m = world_client(&w), a = world_client(&w), b = world_client(&w),
                 x = world_client(&w);
    uint64_t id_m = pu_group_whoami(m), id_a = pu_group_whoami(a), id_b = pu_group_whoami(b);
    pu_group_create(x, "doomed", 5);
    uint32_t g = pu_group_join(m, "doomed", MSOCK_GROUP_MASTER);
    pu_group_join(a, "doomed", MSOCK_GROUP_MEMBER);
    pu_group_expect_event(m, MSOCK_GROUP_EV_JOINED, g, id_a);
    pu_group_join(b, "doomed", MSOCK_GROUP_MEMBER);
    pu_group_expect_event(m, MSOCK_GROUP_EV_JOINED, g, id_b);
    pu_group_expect_event(a, MSOCK_GROUP_EV_JOINED, g, id_b);

    /* Only the master deletes; the creator is nobody special. */
    TU_EXPECT_RC(MSOCK_EPERM, msock_group_delete(a, g));
    int rc = msock_group_delete(x, g);
    if (rc != MSOCK_EPERM && rc != MSOCK_ENOENT)
        fail_msg("delete by a client outside the group: %s, want EPERM or ENOENT",
                 tu_errname(rc));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_delete(m, g + 1000));
    group_info(x, "doomed");

    TU_OK(msock_group_delete(m, g));
    pu_group_expect_event(a, MSOCK_GROUP_EV_DELETED, g, id_m);
    pu_group_expect_event(b, MSOCK_GROUP_EV_DELETED, g, id_m);
    expect_not_listed(x, "doomed");
    /* The members were removed: nothing they do reaches the group any more. */
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_send(a, g, 0, LIT("still there?"), 0));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_leave(b, g));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_send(m, g, 0, LIT("anyone?"), 0));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_delete(m, g));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_join(a, LIT("doomed"), LIT(PU_MEMBER_PW),
                                                MSOCK_GROUP_MEMBER, NULL));
    /* The name is free; the number is not reused. */
    pu_group_create(x, "doomed", 5);
    uint32_t again = pu_group_join(a, "doomed", MSOCK_GROUP_MEMBER);
    assert_true(again != g);
    pu_group_expect_none(m, PU_QUIET_MS);
    pu_group_expect_none(b, 0);
    pu_group_expect_none(x, 0);
    close_clients((msock_socket[]){m, a, b, x}, 4);
    world_close(&w);
}

/* A client in several groups gets each group's traffic marked with that group. */
static void test_several_groups(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket m1 = world_client(&w), c = world_client(&w), d = world_client(&w),
                 e = world_client(&w);
    uint64_t id_m1 = pu_group_whoami(m1), id_c = pu_group_whoami(c), id_d = pu_group_whoami(d),
             id_e = pu_group_whoami(e);
    pu_group_create(m1, "one", 5);
    pu_group_create(m1, "two", 5);
    pu_group_create(m1, "three", 5);
    uint32_t g1 = pu_group_join(m1, "one", MSOCK_GROUP_MASTER);
    uint32_t g2 = pu_group_join(c, "two", MSOCK_GROUP_MASTER);
    uint32_t g3 = pu_group_join(c, "three", MSOCK_GROUP_MEMBER);
    assert_true(g1 != g2 && g2 != g3 && g1 != g3);
    assert_int_equal(pu_group_join(c, "one", MSOCK_GROUP_MEMBER), g1);
    pu_group_expect_event(m1, MSOCK_GROUP_EV_JOINED, g1, id_c);
    pu_group_join(e, "one", MSOCK_GROUP_MEMBER);
    pu_group_expect_event(m1, MSOCK_GROUP_EV_JOINED, g1, id_e);
    pu_group_expect_event(c, MSOCK_GROUP_EV_JOINED, g1, id_e);
    pu_group_join(d, "two", MSOCK_GROUP_MEMBER);
    pu_group_expect_event(c, MSOCK_GROUP_EV_JOINED, g2, id_d);

    pu_group_send_str(m1, g1, 0, "one: news");
    pu_group_expect_data(c, g1, id_m1, "one: news");
    pu_group_expect_data(e, g1, id_m1, "one: news");
    pu_group_send_str(d, g2, 0, "two: to master");
    pu_group_expect_data(c, g2, id_d, "two: to master");
    pu_group_send_str(c, g1, 0, "one: from c");
    pu_group_expect_data(m1, g1, id_c, "one: from c");
    pu_group_send_str(c, g2, 0, "two: news");
    pu_group_expect_data(d, g2, id_c, "two: news");
    /* "three" has no master; c's other groups do. */
    TU_EXPECT_RC(MSOCK_ENOMASTER, msock_group_send(c, g3, 0, LIT("three?"), 0));
    /* Leaving one group keeps the others. */
    TU_OK(msock_group_leave(c, g1));
    pu_group_expect_event(m1, MSOCK_GROUP_EV_LEFT, g1, id_c);
    pu_group_expect_event(e, MSOCK_GROUP_EV_LEFT, g1, id_c);
    pu_group_send_str(m1, g1, 0, "one: after");
    pu_group_expect_data(e, g1, id_m1, "one: after");
    pu_group_send_str(d, g2, 0, "two: still");
    pu_group_expect_data(c, g2, id_d, "two: still");
    pu_group_expect_none(c, PU_QUIET_MS);
    pu_group_expect_none(d, 0);
    pu_group_expect_none(e, 0);
    pu_group_expect_none(m1, 0);
    close_clients((msock_socket[]){m1, c, d, e}, 4);
    world_close(&w);
}

/* A client only in group B never learns anything of group A: no events, no data, no ids. */
static void test_groups_are_private(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_INPROC);
    msock_socket ma = world_client(&w), xa = world_client(&w), ya = world_client(&w),
                 mb = world_client(&w), only_b = world_client(&w);
    pu_group_create(ma, "alpha", 5);
    pu_group_create(mb, "beta", 5);
    uint32_t gb = pu_group_join(only_b, "beta", MSOCK_GROUP_MEMBER);
    pu_group_join(mb, "beta", MSOCK_GROUP_MASTER);
    pu_group_expect_event(only_b, MSOCK_GROUP_EV_MASTER_JOINED, gb, pu_group_whoami(mb));

    /* Everything that can happen in alpha. */
    uint32_t ga = pu_group_join(xa, "alpha", MSOCK_GROUP_MEMBER);
    pu_group_join(ma, "alpha", MSOCK_GROUP_MASTER);
    pu_group_join(ya, "alpha", MSOCK_GROUP_MEMBER);
    pu_group_send_str(xa, ga, 0, "alpha data up");
    pu_group_send_str(ma, ga, 0, "alpha data down");
    pu_group_send_str(ma, ga, pu_group_whoami(ya), "alpha to y");
    TU_OK(msock_group_leave(ya, ga));
    TU_OK(msock_group_leave(ma, ga));
    pu_group_join(ma, "alpha", MSOCK_GROUP_MASTER);
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(ya, LIT("alpha"), LIT("bad"),
                                                MSOCK_GROUP_MEMBER, NULL));
    TU_OK(msock_group_delete(ma, ga));
    /* xa got the last of alpha's events, so all of them were sent by now. */
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    for (;;) {
        msock_group_rx rx;
        char buf[64];
        size_t len = sizeof(buf);
        TU_OK(msock_group_recv(xa, &rx, buf, &len, 0));
        assert_int_equal(rx.group, ga);
        if (rx.kind == MSOCK_GROUP_EV_DELETED)
            break;
        assert_false(tu_deadline_passed(deadline));
    }
    pu_group_expect_none(only_b, PU_QUIET_MS);
    /* beta itself still talks to only_b. */
    pu_group_send_str(mb, gb, 0, "beta");
    pu_group_expect_data(only_b, gb, pu_group_whoami(mb), "beta");
    close_clients((msock_socket[]){ma, xa, ya, mb, only_b}, 5);
    world_close(&w);
}

/* ---- identity and relay ---- */

static bool has_id(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void test_whoami_and_peers(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    enum { N = 4 };
    msock_socket c[N];
    uint64_t id[N];
    for (int i = 0; i < N; i++) {
        c[i] = world_client(&w);
        id[i] = pu_group_whoami(c[i]);
        assert_true(pu_group_whoami(c[i]) == id[i]); /* stable */
        for (int k = 0; k < i; k++)
            assert_true(id[k] != id[i]);
    }
    for (int i = 0; i < N; i++) {
        uint64_t peers[N + 2];
        size_t n = N + 2;
        TU_OK(msock_group_peers(c[i], peers, &n));
        assert_int_equal(n, N - 1);
        assert_false(has_id(peers, n, id[i]));
        for (int k = 0; k < N; k++)
            if (k != i)
                assert_true(has_id(peers, n, id[k]));
    }
    /* *n in: room; out: how many there are. */
    size_t n = 0;
    TU_OK(msock_group_peers(c[0], NULL, &n));
    assert_int_equal(n, N - 1);
    uint64_t one = 0;
    n = 1;
    TU_OK(msock_group_peers(c[0], &one, &n));
    assert_int_equal(n, N - 1);
    assert_true(one == id[1] || one == id[2] || one == id[3]);

    /* A closed client is gone from the others' peers (once the hub saw the close). */
    TU_OK(msock_close(c[N - 1]));
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    uint64_t peers[N];
    for (;;) {
        n = N;
        TU_OK(msock_group_peers(c[0], peers, &n));
        if (n == N - 2)
            break;
        if (tu_deadline_passed(deadline))
            fail_msg("peers still counts %zu after a client closed", n);
        tu_sleep_ms(10);
    }
    assert_false(has_id(peers, n, id[N - 1]));
    close_clients(c, N - 1);
    world_close(&w);
}

/* Ids that are certainly not connected: none of known[0..n). */
static void unknown_ids(uint64_t *out, size_t count, const uint64_t *known, size_t n)
{
    uint64_t next = 0x7ff0000000000001ull;
    for (size_t i = 0; i < count; i++) {
        while (has_id(known, n, next))
            next++;
        out[i] = next++;
    }
}

static void test_relay(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket a = world_client(&w), b = world_client(&w), c = world_client(&w);
    uint64_t ids[3] = {pu_group_whoami(a), pu_group_whoami(b), pu_group_whoami(c)};
    uint64_t bc[2] = {ids[1], ids[2]};
    TU_OK(msock_group_relay(a, bc, 2, LIT("relayed"), NULL, NULL));
    pu_group_expect_rx(b, MSOCK_GROUP_RELAYED, 0, ids[0], 0, LIT("relayed"));
    pu_group_expect_rx(c, MSOCK_GROUP_RELAYED, 0, ids[0], 0, LIT("relayed"));
    pu_group_expect_none(a, PU_QUIET_MS);

    /* Unknown ids are reported; the known ones still get it. */
    uint64_t strangers[MSOCK_GROUP_RELAY_MAX];
    unknown_ids(strangers, MSOCK_GROUP_RELAY_MAX, ids, 3);
    uint64_t to[3] = {strangers[0], ids[1], strangers[1]};
    uint64_t unknown[4] = {0};
    size_t n_unknown = 4;
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_relay(c, to, 3, LIT("some"), unknown, &n_unknown));
    assert_int_equal(n_unknown, 2);
    assert_true(has_id(unknown, 2, strangers[0]) && has_id(unknown, 2, strangers[1]));
    pu_group_expect_rx(b, MSOCK_GROUP_RELAYED, 0, ids[2], 0, LIT("some"));
    n_unknown = 1;
    unknown[0] = 0;
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_relay(c, to, 3, LIT("again"), unknown, &n_unknown));
    assert_int_equal(n_unknown, 2);
    assert_true(unknown[0] == strangers[0] || unknown[0] == strangers[1]);
    pu_group_expect_rx(b, MSOCK_GROUP_RELAYED, 0, ids[2], 0, LIT("again"));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_relay(c, to, 3, LIT("third"), NULL, NULL));
    pu_group_expect_rx(b, MSOCK_GROUP_RELAYED, 0, ids[2], 0, LIT("third"));

    /* 255 ids at most: two clients and 253 strangers. */
    uint64_t many[MSOCK_GROUP_RELAY_MAX + 1];
    memcpy(many, strangers, sizeof(strangers));
    many[17] = ids[0];
    many[200] = ids[1];
    many[MSOCK_GROUP_RELAY_MAX] = ids[2];
    uint64_t reported[MSOCK_GROUP_RELAY_MAX];
    n_unknown = MSOCK_GROUP_RELAY_MAX;
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_relay(c, many, MSOCK_GROUP_RELAY_MAX, LIT("many"),
                                                 reported, &n_unknown));
    assert_int_equal(n_unknown, MSOCK_GROUP_RELAY_MAX - 2);
    assert_false(has_id(reported, n_unknown, ids[0]));
    assert_false(has_id(reported, n_unknown, ids[1]));
    pu_group_expect_rx(a, MSOCK_GROUP_RELAYED, 0, ids[2], 0, LIT("many"));
    pu_group_expect_rx(b, MSOCK_GROUP_RELAYED, 0, ids[2], 0, LIT("many"));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_relay(c, many, MSOCK_GROUP_RELAY_MAX + 1, LIT("x"),
                                                 NULL, NULL));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_group_relay(c, many, 0, LIT("x"), NULL, NULL));

    /* Bodies: 1 MiB arrives whole; one byte more is refused and reaches nobody. */
    uint8_t *body = malloc(PU_MIB + 1);
    assert_non_null(body);
    tu_fill(body, PU_MIB + 1, 99);
    TU_OK(msock_group_relay(a, &ids[1], 1, body, PU_MIB, NULL, NULL));
    pu_group_expect_rx(b, MSOCK_GROUP_RELAYED, 0, ids[0], 0, body, PU_MIB);
    TU_EXPECT_RC(MSOCK_EMSGSIZE, msock_group_relay(a, &ids[1], 1, body, PU_MIB + 1, NULL, NULL));
    TU_OK(msock_group_relay(a, &ids[1], 1, "", 0, NULL, NULL));
    pu_group_expect_rx(b, MSOCK_GROUP_RELAYED, 0, ids[0], 0, "", 0);
    free(body);
    pu_group_expect_none(a, PU_QUIET_MS);
    pu_group_expect_none(b, 0);
    pu_group_expect_none(c, 0);
    close_clients((msock_socket[]){a, b, c}, 3);
    world_close(&w);
}

/* The hub's MSOCK_OPT_GROUP_MAX_BODY bounds relays too. */
static void test_relay_body_limit(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_INPROC);
    TU_OK(msock_socket_set_size(w.hub.sock, MSOCK_OPT_GROUP_MAX_BODY, 100));
    msock_socket a = world_client(&w), b = world_client(&w);
    uint64_t id_a = pu_group_whoami(a), id_b = pu_group_whoami(b);
    uint8_t body[101];
    tu_fill(body, sizeof(body), 5);
    TU_EXPECT_RC(MSOCK_EMSGSIZE, msock_group_relay(a, &id_b, 1, body, 101, NULL, NULL));
    TU_OK(msock_group_relay(a, &id_b, 1, body, 100, NULL, NULL));
    pu_group_expect_rx(b, MSOCK_GROUP_RELAYED, 0, id_a, 0, body, 100);
    pu_group_expect_none(b, PU_QUIET_MS);
    close_clients((msock_socket[]){a, b}, 2);
    world_close(&w);
}

/* ---- security limits ---- */

/* Waits for the DISCONNECTED event (skipping what came before it) and checks its reason. */
static void expect_disconnected(msock_socket s, int error)
{
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    for (;;) {
        msock_group_rx rx;
        char buf[64];
        size_t len = sizeof(buf);
        int rc = msock_group_recv(s, &rx, buf, &len, 0);
        if (rc != 0)
            fail_msg("waiting for EV_DISCONNECTED: %s", tu_errname(rc));
        if (rx.kind == MSOCK_GROUP_EV_DISCONNECTED) {
            assert_int_equal(rx.group, 0);
            if (rx.error != error)
                fail_msg("disconnected because of %s, want %s", tu_errname(rx.error),
                         tu_errname(error));
            return;
        }
        if (tu_deadline_passed(deadline))
            fail_msg("no EV_DISCONNECTED");
    }
}

/* Calls whoami until it works (the client redials in the background); returns the id. */
static uint64_t whoami_eventually(msock_socket s)
{
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    for (;;) {
        uint64_t id = 0;
        int rc = msock_group_whoami(s, &id);
        if (rc == 0) {
            assert_true(id != 0);
            return id;
        }
        if (tu_deadline_passed(deadline))
            fail_msg("whoami still fails: %s", tu_errname(rc));
        tu_sleep_ms(10);
    }
}

/* `fails` wrong passwords on one connection: the last one closes it (EACCES). */
static void run_auth_failures(hub_world *w, int fails)
{
    msock_socket m = world_client(w), a = world_client(w);
    uint64_t id_a = pu_group_whoami(a);
    pu_group_create(m, "guarded", 5);
    uint32_t g = pu_group_join(m, "guarded", MSOCK_GROUP_MASTER);
    pu_group_join(a, "guarded", MSOCK_GROUP_MEMBER);
    pu_group_expect_event(m, MSOCK_GROUP_EV_JOINED, g, id_a);
    pu_group_create(m, "other", 5);
    for (int i = 1; i < fails; i++) {
        /* Wrong passwords for either role count alike. */
        int role = i % 2 ? MSOCK_GROUP_MASTER : MSOCK_GROUP_MEMBER;
        TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(a, LIT("other"), LIT("wrong"), role, NULL));
        assert_true(pu_group_whoami(a) == id_a); /* still the same connection */
    }
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(a, LIT("other"), LIT("wrong"),
                                                MSOCK_GROUP_MEMBER, NULL));
    expect_disconnected(a, MSOCK_EACCES);
    pu_group_expect_event(m, MSOCK_GROUP_EV_LEFT, g, id_a);
    /* The client connects again as a new client, in no group. */
    uint64_t again = whoami_eventually(a);
    assert_true(again != id_a);
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_send(a, g, 0, LIT("still in?"), 0));
    assert_int_equal(group_info(m, "guarded").members, 0);
    close_clients((msock_socket[]){m, a}, 2);
}

static void test_auth_failures_close(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    TU_OK(msock_socket_set_int(w.hub.sock, MSOCK_OPT_GROUP_MAX_AUTH_FAILS, 3));
    run_auth_failures(&w, 3);
    world_close(&w);
    world_open(&w, TU_INPROC); /* the default: 5 */
    run_auth_failures(&w, 5);
    world_close(&w);
}

/* MSOCK_OPT_GROUP_MAX_CLIENTS: one client more is told the hub is full. */
static void test_hub_full(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    TU_OK(msock_socket_set_int(w.hub.sock, MSOCK_OPT_GROUP_MAX_CLIENTS, 2));
    msock_socket a = world_client(&w), b = world_client(&w);
    uint64_t id_a = pu_group_whoami(a), id_b = pu_group_whoami(b);
    msock_socket third = tu_socket_bounded(msock_group_open);
    TU_OK(msock_socket_set_ms(third, MSOCK_OPT_GROUP_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_dial(third, w.url, NULL, MSOCK_FLAG_NONBLOCK));
    uint64_t id = 0;
    TU_EXPECT_RC(MSOCK_ENOSPC, msock_group_whoami(third, &id));
    TU_EXPECT_RC(MSOCK_ENOSPC, msock_group_list(third, NULL, &(size_t){0}));
    /* The two inside are untouched and do not count the refused one. */
    size_t n = 0;
    TU_OK(msock_group_peers(a, NULL, &n));
    assert_int_equal(n, 1);
    assert_true(pu_group_whoami(b) == id_b);
    /* Once a place is free, the third one gets in. */
    TU_OK(msock_close(a));
    uint64_t id_third = whoami_eventually(third);
    assert_true(id_third != id_a && id_third != id_b);
    close_clients((msock_socket[]){b, third}, 2);
    world_close(&w);
}

/* ---- timeouts, closing ---- */

static void expect_timeout(msock_socket s)
{
    int64_t start = tu_clock_ms();
    uint64_t id;
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_group_whoami(s, &id));
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_group_list(s, NULL, &(size_t){0}));
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_group_create(s, LIT("g"), LIT("p"), LIT("m"), 1));
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_group_join(s, LIT("g"), LIT("p"), MSOCK_GROUP_MEMBER,
                                                   NULL));
    /* A lower bound only: the calls may not give up before their time. */
    assert_true(tu_clock_ms() - start >= 4 * 250);
}

static void test_call_timeouts(void **state)
{
    (void)state;
    /* Nobody listening at the address. */
    msock_socket s = tu_socket_bounded(msock_group_open);
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_GROUP_TIMEOUT, 300));
    char url[TU_URL_MAX];
    snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    TU_OK(msock_dial(s, url, NULL, MSOCK_FLAG_NONBLOCK));
    expect_timeout(s);
    TU_OK(msock_close(s));

    /* Not dialed at all. */
    s = tu_socket_bounded(msock_group_open);
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_GROUP_TIMEOUT, 300));
    expect_timeout(s);
    TU_OK(msock_close(s));

    /* A listener that takes the connection and never says anything. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t sl = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
    s = tu_socket_bounded(msock_group_open);
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_GROUP_TIMEOUT, 300));
    TU_OK(msock_dial(s, url, NULL, MSOCK_FLAG_NONBLOCK));
    expect_timeout(s);
    TU_OK(msock_close(s));
    close(fd);
}

typedef struct blocked_call {
    msock_socket s;
    int rc;
    pthread_t thread;
} blocked_call;

static void *blocked_whoami(void *arg)
{
    blocked_call *b = arg;
    uint64_t id;
    b->rc = msock_group_whoami(b->s, &id);
    return NULL;
}

/* Calls on a closed socket, and a call waiting for ever when its socket closes. */
static void test_closed_handles(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_INPROC);
    msock_socket c = world_client(&w);
    pu_group_create(c, "g", 2);
    uint32_t g = pu_group_join(c, "g", MSOCK_GROUP_MASTER);
    TU_OK(msock_close(c));
    uint64_t id = 0;
    size_t n = 0;
    msock_group_rx rx;
    char buf[8];
    size_t len = sizeof(buf);
    msock_msg *m = NULL;
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_list(c, NULL, &n));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_create(c, LIT("h"), LIT("p"), LIT("m"), 1));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_join(c, LIT("g"), LIT(PU_MEMBER_PW),
                                                 MSOCK_GROUP_MEMBER, NULL));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_leave(c, g));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_delete(c, g));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_whoami(c, &id));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_peers(c, NULL, &n));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_relay(c, &(uint64_t){1}, 1, LIT("x"), NULL, NULL));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_send(c, g, 0, LIT("x"), 0));
    msock_msg *out = tu_msg_new(4, 1);
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_sendmsg(c, g, 0, out, 0));
    msock_msg_free(out);
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_recv(c, &rx, buf, &len, 0));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_group_recvmsg(c, &rx, &m, 0));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_socket_set_ms(c, MSOCK_OPT_GROUP_TIMEOUT, 5));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_close(c));
    /* The hub's handle too. */
    msock_socket hub = w.hub.sock;
    world_close(&w);
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_socket_set_int(hub, MSOCK_OPT_GROUP_MAX_CLIENTS, 5));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_listen(hub, "inproc://closed-hub", NULL, 0));

    /* A call that would wait for ever wakes when its socket closes. */
    blocked_call b = {.rc = 1};
    b.s = tu_socket_bounded(msock_group_open);
    TU_OK(msock_socket_set_ms(b.s, MSOCK_OPT_GROUP_TIMEOUT, -1));
    assert_int_equal(pthread_create(&b.thread, NULL, blocked_whoami, &b), 0);
    tu_sleep_ms(100); /* lets the call block first; the outcome is the same if it has not */
    TU_OK(msock_close(b.s));
    assert_true(tu_thread_join(b.thread, TU_DEADLINE_MS));
    TU_EXPECT_RC(MSOCK_ECLOSED, b.rc);
}

/* The hub goes away: members are told, and calls fail after their timeout. */
static void test_hub_closes(void **state)
{
    (void)state;
    hub_world w;
    world_open(&w, TU_TCP4);
    msock_socket a = world_client(&w);
    pu_group_create(a, "g", 2);
    uint32_t g = pu_group_join(a, "g", MSOCK_GROUP_MEMBER);
    world_close(&w);
    msock_group_rx rx;
    char buf[8];
    size_t len = sizeof(buf);
    TU_OK(msock_group_recv(a, &rx, buf, &len, 0));
    assert_int_equal(rx.kind, MSOCK_GROUP_EV_DISCONNECTED);
    assert_int_equal(rx.group, 0);
    assert_int_equal(len, 0);
    TU_EXPECT_RC(MSOCK_ENOENT, msock_group_send(a, g, 0, LIT("x"), 0));
    TU_OK(msock_socket_set_ms(a, MSOCK_OPT_GROUP_TIMEOUT, 200));
    uint64_t id;
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_group_whoami(a, &id));
    TU_OK(msock_close(a));
}

/* ---- what each kind of socket supports ---- */

static void expect_group_calls_unsupported(msock_socket s)
{
    uint64_t id = 0;
    size_t n = 0;
    msock_group_rx rx;
    char buf[8];
    size_t len = sizeof(buf);
    msock_msg *m = NULL;
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_list(s, NULL, &n));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_create(s, LIT("h"), LIT("p"), LIT("m"), 1));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_join(s, LIT("g"), LIT("p"), MSOCK_GROUP_MEMBER,
                                                 NULL));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_leave(s, 1));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_delete(s, 1));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_whoami(s, &id));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_peers(s, NULL, &n));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_relay(s, &(uint64_t){1}, 1, LIT("x"), NULL, NULL));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_send(s, 1, 0, LIT("x"), 0));
    msock_msg *out = tu_msg_new(4, 1);
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_sendmsg(s, 1, 0, out, 0));
    msock_msg_free(out);
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_recv(s, &rx, buf, &len, MSOCK_FLAG_NONBLOCK));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_group_recvmsg(s, &rx, &m, MSOCK_FLAG_NONBLOCK));
}

static void test_not_supported(void **state)
{
    (void)state;
    /* A hub needs no calls: the buffer API and the group calls are not for it. */
    hub_world w;
    world_open(&w, TU_INPROC);
    char buf[8];
    size_t len = sizeof(buf);
    msock_msg *m = NULL;
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_send(w.hub.sock, LIT("x"), 0));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_recv(w.hub.sock, buf, &len, MSOCK_FLAG_NONBLOCK));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_recvmsg(w.hub.sock, &m, MSOCK_FLAG_NONBLOCK));
    expect_group_calls_unsupported(w.hub.sock);
    /* Other protocols have no group calls. */
    msock_socket pair = tu_socket_bounded(msock_pair_open);
    expect_group_calls_unsupported(pair);
    TU_OK(msock_close(pair));
    /* And the protocol numbers and names are the group's. */
    msock_socket c = world_client(&w);
    int v = 0;
    TU_OK(msock_socket_get_int(c, MSOCK_OPT_PROTOCOL, &v));
    assert_int_equal(v, MSOCK_PROTO_GROUP);
    TU_OK(msock_socket_get_int(c, MSOCK_OPT_PEER, &v));
    assert_int_equal(v, MSOCK_PROTO_GROUP_HUB);
    TU_OK(msock_socket_get_int(w.hub.sock, MSOCK_OPT_PROTOCOL, &v));
    assert_int_equal(v, MSOCK_PROTO_GROUP_HUB);
    msock_socket via_number;
    TU_OK(msock_socket_open(&via_number, MSOCK_PROTO_GROUP, 0));
    TU_OK(msock_close(via_number));
    TU_OK(msock_socket_open(&via_number, MSOCK_PROTO_GROUP_HUB, 0));
    TU_OK(msock_close(via_number));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_open(&via_number, MSOCK_PROTO_GROUP, MSOCK_OPEN_RAW));
    /* A group client and an SP socket never connect: the hub refuses a pair dialer. */
    msock_socket stranger = tu_socket_bounded(msock_pair_open);
    TU_OK(msock_dial(stranger, w.url, NULL, MSOCK_FLAG_NONBLOCK));
    tu_sleep_ms(PU_QUIET_MS); /* would let a wrong connection happen; correctness needs none */
    size_t n = 0;
    TU_OK(msock_group_peers(c, NULL, &n));
    assert_int_equal(n, 0);
    close_clients((msock_socket[]){c, stranger}, 2);
    world_close(&w);
}

/* ---- options ---- */

typedef struct int_opt {
    int opt;
    const char *name;
    int def;
    int min; /* lowest accepted; min - 1 is refused */
} int_opt;

static void test_options(void **state)
{
    (void)state;
    static const int_opt hub_ints[] = {
        {MSOCK_OPT_GROUP_MAX_CLIENTS, "MAX_CLIENTS", 1000, 0},
        {MSOCK_OPT_GROUP_MAX_GROUPS, "MAX_GROUPS", 1000, 0},
        {MSOCK_OPT_GROUP_MAX_MEMBERS, "MAX_MEMBERS", 1000, 1},
        {MSOCK_OPT_GROUP_MAX_AUTH_FAILS, "MAX_AUTH_FAILS", 5, 1},
        {MSOCK_OPT_GROUP_KDF_ITERATIONS, "KDF_ITERATIONS", 100000, 1000},
    };
    msock_socket hub, client, pair;
    TU_OK(msock_group_hub_open(&hub));
    TU_OK(msock_group_open(&client));
    TU_OK(msock_pair_open(&pair));
    for (size_t i = 0; i < sizeof(hub_ints) / sizeof(hub_ints[0]); i++) {
        const int_opt *o = &hub_ints[i];
        int v = -7;
        TU_OK(msock_socket_get_int(hub, o->opt, &v));
        if (v != o->def)
            fail_msg("hub %s defaults to %d, want %d", o->name, v, o->def);
        TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_set_int(hub, o->opt, o->min - 1));
        TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_set_int(hub, o->opt, -1000000));
        TU_OK(msock_socket_set_int(hub, o->opt, o->min));
        TU_OK(msock_socket_get_int(hub, o->opt, &v));
        assert_int_equal(v, o->min);
        TU_OK(msock_socket_set_int(hub, o->opt, o->def + 1));
        TU_OK(msock_socket_get_int(hub, o->opt, &v));
        assert_int_equal(v, o->def + 1);
        TU_EXPECT_RC(MSOCK_EBADTYPE, msock_socket_set_ms(hub, o->opt, 10));
        TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_set_int(client, o->opt, o->def));
        TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_get_int(client, o->opt, &v));
        TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_set_int(pair, o->opt, o->def));
        TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_get_int(pair, o->opt, &v));
    }
    TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_set_int(hub, MSOCK_OPT_GROUP_KDF_ITERATIONS,
                                                    10000001));
    TU_OK(msock_socket_set_int(hub, MSOCK_OPT_GROUP_KDF_ITERATIONS, 10000000));

    size_t size = 0;
    TU_OK(msock_socket_get_size(hub, MSOCK_OPT_GROUP_MAX_BODY, &size));
    assert_int_equal(size, PU_MIB);
    TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_set_size(hub, MSOCK_OPT_GROUP_MAX_BODY, 0));
    TU_OK(msock_socket_set_size(hub, MSOCK_OPT_GROUP_MAX_BODY, 1));
    TU_OK(msock_socket_set_size(hub, MSOCK_OPT_GROUP_MAX_BODY, 16 * PU_MIB));
    TU_OK(msock_socket_get_size(hub, MSOCK_OPT_GROUP_MAX_BODY, &size));
    assert_int_equal(size, 16 * PU_MIB);
    TU_EXPECT_RC(MSOCK_EBADTYPE, msock_socket_set_int(hub, MSOCK_OPT_GROUP_MAX_BODY, 5));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_set_size(client, MSOCK_OPT_GROUP_MAX_BODY, 5));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_set_size(pair, MSOCK_OPT_GROUP_MAX_BODY, 5));

    int64_t ms = 0;
    TU_OK(msock_socket_get_ms(client, MSOCK_OPT_GROUP_TIMEOUT, &ms));
    assert_int_equal(ms, 10000);
    TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_set_ms(client, MSOCK_OPT_GROUP_TIMEOUT, -2));
    TU_OK(msock_socket_set_ms(client, MSOCK_OPT_GROUP_TIMEOUT, -1));
    TU_OK(msock_socket_set_ms(client, MSOCK_OPT_GROUP_TIMEOUT, 0));
    TU_OK(msock_socket_set_ms(client, MSOCK_OPT_GROUP_TIMEOUT, 1234));
    TU_OK(msock_socket_get_ms(client, MSOCK_OPT_GROUP_TIMEOUT, &ms));
    assert_int_equal(ms, 1234);
    TU_EXPECT_RC(MSOCK_EBADTYPE, msock_socket_set_int(client, MSOCK_OPT_GROUP_TIMEOUT, 5));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_set_ms(hub, MSOCK_OPT_GROUP_TIMEOUT, 5));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_get_ms(hub, MSOCK_OPT_GROUP_TIMEOUT, &ms));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_set_ms(pair, MSOCK_OPT_GROUP_TIMEOUT, 5));

    /* Socket options only: endpoints do not take them. */
    msock_listener l;
    msock_dialer d;
    TU_OK(msock_listener_create(&l, hub, "inproc://group-options"));
    TU_OK(msock_dialer_create(&d, client, "inproc://group-options"));
    int v;
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_listener_set_int(l, MSOCK_OPT_GROUP_MAX_CLIENTS, 3));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_listener_get_int(l, MSOCK_OPT_GROUP_MAX_CLIENTS, &v));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_dialer_set_ms(d, MSOCK_OPT_GROUP_TIMEOUT, 3));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_dialer_get_ms(d, MSOCK_OPT_GROUP_TIMEOUT, &ms));

    /* Receive limits leave room for a 1 MiB body and the group header. */
    TU_OK(msock_socket_get_size(client, MSOCK_OPT_RECV_MAXSZ, &size));
    assert_true(size > PU_MIB);
    TU_OK(msock_socket_get_size(hub, MSOCK_OPT_RECV_MAXSZ, &size));
    assert_true(size > PU_MIB);
    close_clients((msock_socket[]){hub, client, pair}, 3);
}

/* The default PBKDF2 rounds (100,000) stay in force unless set, and joins work with them. */
static void test_default_kdf(void **state)
{
    (void)state;
    pu_node hub = pu_node_open(msock_group_hub_open);
    int v = 0;
    TU_OK(msock_socket_get_int(hub.sock, MSOCK_OPT_GROUP_KDF_ITERATIONS, &v));
    assert_int_equal(v, 100000);
    char url[TU_URL_MAX];
    pu_listen(&hub, TU_TCP4, url, sizeof(url));
    msock_socket m = pu_group_client(url), a = pu_group_client(url);
    pu_group_create(m, "slow hash", 3);
    uint32_t g = pu_group_join(m, "slow hash", MSOCK_GROUP_MASTER);
    TU_EXPECT_RC(MSOCK_EACCES, msock_group_join(a, LIT("slow hash"), LIT("guess"),
                                                MSOCK_GROUP_MEMBER, NULL));
    assert_int_equal(pu_group_join(a, "slow hash", MSOCK_GROUP_MEMBER), g);
    pu_group_expect_event(m, MSOCK_GROUP_EV_JOINED, g, pu_group_whoami(a));
    pu_group_send_str(a, g, 0, "hi");
    pu_group_expect_data(m, g, pu_group_whoami(a), "hi");
    close_clients((msock_socket[]){m, a}, 2);
    pu_node_close(&hub);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_any_bytes),
        cmocka_unit_test(test_name_and_password_lengths),
        cmocka_unit_test(test_capacity_and_group_limits),
        cmocka_unit_test(test_list_counts),
        cmocka_unit_test(test_join_errors),
        cmocka_unit_test(test_data_routing),
        cmocka_unit_test(test_big_group_messages),
        cmocka_unit_test(test_no_master),
        cmocka_unit_test(test_undelivered),
        cmocka_unit_test(test_events_and_new_master),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_several_groups),
        cmocka_unit_test(test_groups_are_private),
        cmocka_unit_test(test_whoami_and_peers),
        cmocka_unit_test(test_relay),
        cmocka_unit_test(test_relay_body_limit),
        cmocka_unit_test(test_auth_failures_close),
        cmocka_unit_test(test_hub_full),
        cmocka_unit_test(test_call_timeouts),
        cmocka_unit_test(test_closed_handles),
        cmocka_unit_test(test_hub_closes),
        cmocka_unit_test(test_not_supported),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_default_kdf),
    };
    tu_watchdog(600);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("group", tests, NULL, NULL);
}
