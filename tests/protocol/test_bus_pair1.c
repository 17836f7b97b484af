/* test_bus_pair1.c: BUS reaches direct peers only; PAIR1 hop counts on the wire; PAIR0 refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
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
    return m;
}

/* Receives two messages and checks they are a and b, in either order. */
static void recv_two(msock_socket s, const char *a, const char *b)
{
    bool got_a = false, got_b = false;
    for (int i = 0; i < 2; i++) {
        char buf[32];
        size_t len = sizeof(buf) - 1;
        int rc = msock_recv(s, buf, &len, 0);
        if (rc != 0)
            fail_msg("recv %d of 2 (want \"%s\" and \"%s\"): %s", i + 1, a, b, tu_errname(rc));
        buf[len < sizeof(buf) - 1 ? len : sizeof(buf) - 1] = '\0';
        if (!got_a && strcmp(buf, a) == 0)
            got_a = true;
        else if (!got_b && strcmp(buf, b) == 0)
            got_b = true;
        else
            fail_msg("got \"%s\", want \"%s\" and \"%s\" once each", buf, a, b);
    }
}

/* ---- BUS ---- */

static void bus_mesh(tu_transport t)
{
    static const char *const names[3] = {"a", "b", "c"};
    pu_node nodes[3];
    for (int i = 0; i < 3; i++)
        nodes[i] = pu_node_open(msock_bus_open);
    char url_a[TU_URL_MAX], url_b[TU_URL_MAX];
    pu_listen(&nodes[0], t, url_a, sizeof(url_a));
    pu_listen(&nodes[1], t, url_b, sizeof(url_b));
    pu_dial_wait(&nodes[0], &nodes[1], url_a);
    pu_dial_wait(&nodes[0], &nodes[2], url_a);
    pu_dial_wait(&nodes[1], &nodes[2], url_b);

    char text[3][16];
    for (int i = 0; i < 3; i++) {
        snprintf(text[i], sizeof(text[i]), "m:%s", names[i]);
        pu_send_str(nodes[i].sock, text[i]);
    }
    for (int i = 0; i < 3; i++)
        recv_two(nodes[i].sock, text[(i + 1) % 3], text[(i + 2) % 3]);
    /* Markers: a pipe is ordered, so a copy sent twice or forwarded by the third node would
     * arrive before the marker of the pipe that carried it. */
    for (int i = 0; i < 3; i++) {
        snprintf(text[i], sizeof(text[i]), "end:%s", names[i]);
        pu_send_str(nodes[i].sock, text[i]);
    }
    for (int i = 0; i < 3; i++) {
        recv_two(nodes[i].sock, text[(i + 1) % 3], text[(i + 2) % 3]);
        pu_expect_none(nodes[i].sock, 0);
        assert_int_equal(tu_stat(nodes[i].sock, MSOCK_STAT_MSGS_RECV), 4);
    }
    for (int i = 0; i < 3; i++)
        pu_node_close(&nodes[i]);
}

static void test_bus_mesh_inproc(void **state)
{
    (void)state;
    bus_mesh(TU_INPROC);
}

static void test_bus_mesh_tcp(void **state)
{
    (void)state;
    bus_mesh(TU_TCP4);
}

/* A line a - b - c: b hears both, a and c hear only b. */
static void test_bus_line_no_forward(void **state)
{
    (void)state;
    pu_node a = pu_node_open(msock_bus_open);
    pu_node b = pu_node_open(msock_bus_open);
    pu_node c = pu_node_open(msock_bus_open);
    char url[TU_URL_MAX];
    pu_listen(&b, TU_TCP4, url, sizeof(url));
    pu_dial_wait(&b, &a, url);
    pu_dial_wait(&b, &c, url);

    pu_send_str(a.sock, "from-a");
    pu_recv_str(b.sock, "from-a");
    /* Had b forwarded a's message, c would see it before this one. */
    pu_send_str(b.sock, "from-b");
    pu_recv_str(c.sock, "from-b");
    pu_recv_str(a.sock, "from-b");
    pu_send_str(c.sock, "from-c");
    pu_recv_str(b.sock, "from-c");
    pu_send_str(b.sock, "from-b2");
    pu_recv_str(a.sock, "from-b2");
    pu_recv_str(c.sock, "from-b2");
    pu_expect_none(a.sock, PU_QUIET_MS);
    pu_expect_none(c.sock, 0);
    assert_int_equal(tu_stat(a.sock, MSOCK_STAT_MSGS_RECV), 2);
    assert_int_equal(tu_stat(c.sock, MSOCK_STAT_MSGS_RECV), 2);
    pu_node_close(&a);
    pu_node_close(&b);
    pu_node_close(&c);
}

/* Raw BUS: received messages name their pipe in a 4-byte header; sent with it, they skip that
 * pipe; sent without a header, they go to all. */
static void test_bus_raw(void **state)
{
    (void)state;
    pu_node raw = pu_node_raw(MSOCK_PROTO_BUS);
    pu_node peers[2] = {pu_node_open(msock_bus_open), pu_node_open(msock_bus_open)};
    char url[TU_URL_MAX];
    pu_listen(&raw, TU_TCP4, url, sizeof(url));
    pu_dial_wait(&raw, &peers[0], url);
    pu_dial_wait(&raw, &peers[1], url);
    pu_send_str(peers[0].sock, "x");
    msock_msg *m = recv_msg(raw.sock);
    assert_int_equal(msock_msg_len(m), 1);
    assert_int_equal(msock_msg_header_len(m), 4);
    assert_int_equal(pu_get32(msock_msg_header(m)), msock_pipe_id(msock_msg_pipe(m)));
    TU_OK(msock_sendmsg(raw.sock, m, 0));
    pu_recv_str(peers[1].sock, "x");
    msock_msg *all = tu_msg_new(0, 0);
    TU_OK(msock_msg_append(all, "all", 3));
    TU_OK(msock_sendmsg(raw.sock, all, 0));
    pu_recv_str(peers[1].sock, "all");
    /* The first thing the origin hears is the message for all, not its own echo. */
    pu_recv_str(peers[0].sock, "all");
    pu_expect_none(peers[0].sock, 0);
    pu_node_close(&peers[0]);
    pu_node_close(&peers[1]);
    pu_node_close(&raw);
}

/* ---- PAIR1 ---- */

static void test_pair1_both_ways(void **state)
{
    (void)state;
    static const tu_transport transports[] = {TU_INPROC, TU_IPC, TU_TCP4};
    for (size_t t = 0; t < sizeof(transports) / sizeof(transports[0]); t++) {
        pu_node a = pu_node_open(msock_pair1_open);
        pu_node b = pu_node_open(msock_pair1_open);
        pu_link(&a, &b, transports[t]);
        for (int i = 0; i < 5; i++) {
            pu_send_str(a.sock, "ping");
            msock_msg *m = recv_msg(b.sock);
            /* Cooked receive strips the hop count. */
            assert_int_equal(msock_msg_len(m), 4);
            assert_memory_equal(msock_msg_body(m), "ping", 4);
            msock_msg_clear(m);
            TU_OK(msock_msg_append(m, "pong", 4));
            TU_OK(msock_sendmsg(b.sock, m, 0));
            pu_recv_str(a.sock, "pong");
        }
        int v = 0;
        TU_OK(msock_socket_get_int(a.sock, MSOCK_OPT_MAX_PIPES, &v));
        assert_int_equal(v, 1);
        pu_node_close(&a);
        pu_node_close(&b);
    }
}

/* Connects a hand-made PAIR1 peer and waits until the socket has taken its pipe. */
static int pair1_peer(pu_node *n, const char *url)
{
    int before = tu_waiter_added(n->w);
    int fd = pu_raw_connect(url);
    pu_raw_handshake(fd, MSOCK_PROTO_PAIR1, MSOCK_PROTO_PAIR1);
    assert_true(tu_wait_added(n->w, before + 1, TU_DEADLINE_MS));
    return fd;
}

static void send_hops(int fd, uint32_t hops, const char *body)
{
    pu_raw_send_words(fd, &hops, 1, body, strlen(body));
}

static void expect_hops(int fd, uint32_t hops, const char *body)
{
    uint8_t buf[64];
    long len = pu_raw_recv_frame(fd, buf, sizeof(buf), TU_DEADLINE_MS);
    if (len < 0)
        fail_msg("no frame: %s", len == PU_FRAME_CLOSED ? "connection closed" : "timeout");
    assert_int_equal((size_t)len, 4 + strlen(body));
    assert_int_equal(pu_get32(buf), hops);
    assert_memory_equal(buf + 4, body, strlen(body));
}

/* The library closes the peer's connection; the socket is then free for the next peer. */
static void expect_closed(pu_node *n, int fd, int removed)
{
    assert_true(pu_raw_wait_closed(fd, TU_DEADLINE_MS));
    close(fd);
    assert_true(tu_wait_removed(n->w, removed, TU_DEADLINE_MS));
}

static void test_pair1_wire(void **state)
{
    (void)state;
    pu_node pair = pu_node_open(msock_pair1_open);
    char url[TU_URL_MAX];
    pu_listen(&pair, TU_TCP4, url, sizeof(url));
    int fd = pair1_peer(&pair, url);
    msock_pipe pipe = tu_waiter_last_added(pair.w);

    /* The originator puts 1 on the wire. */
    pu_send_str(pair.sock, "p1");
    expect_hops(fd, 1, "p1");
    send_hops(fd, 3, "x");
    pu_recv_str(pair.sock, "x");
    /* More hops than MAXTTL (8): dropped, the connection stays. */
    send_hops(fd, 9, "ttl9");
    pu_expect_stat(pair.sock, MSOCK_STAT_DROPS_TTL, 1);
    pu_expect_pipe_stat(pipe, MSOCK_STAT_DROPS_TTL, 1);
    send_hops(fd, 8, "ttl8");
    pu_recv_str(pair.sock, "ttl8");
    assert_true(pu_raw_is_open(fd));
    assert_int_equal(tu_stat(pair.sock, MSOCK_STAT_DROPS_MALFORMED), 0);
    /* Past 255 is garbage: the connection goes. */
    send_hops(fd, 256, "big");
    expect_closed(&pair, fd, 1);
    pu_expect_stat(pair.sock, MSOCK_STAT_DROPS_MALFORMED, 1);
    pu_expect_none(pair.sock, 0);

    /* Shorter than a hop count, or nothing at all. */
    static const uint8_t three[3] = {0, 0, 1};
    for (int i = 0; i < 2; i++) {
        fd = pair1_peer(&pair, url);
        pu_raw_send_frame(fd, three, i == 0 ? sizeof(three) : 0);
        expect_closed(&pair, fd, 2 + i);
        pu_expect_stat(pair.sock, MSOCK_STAT_DROPS_MALFORMED, 2 + (uint64_t)i);
    }

    /* With MAXTTL at its top, 255 hops pass. */
    TU_OK(msock_socket_set_int(pair.sock, MSOCK_OPT_MAXTTL, 255));
    fd = pair1_peer(&pair, url);
    send_hops(fd, 255, "far");
    pu_recv_str(pair.sock, "far");
    pu_send_str(pair.sock, "back");
    expect_hops(fd, 1, "back");
    close(fd);
    pu_node_close(&pair);
}

/* Raw PAIR1: the header is the hop count as received; sending adds one, and refuses a message
 * without a 4-byte header. */
static void test_pair1_raw(void **state)
{
    (void)state;
    pu_node raw = pu_node_raw(MSOCK_PROTO_PAIR1);
    char url[TU_URL_MAX];
    pu_listen(&raw, TU_TCP4, url, sizeof(url));
    int fd = pair1_peer(&raw, url);
    send_hops(fd, 5, "r");
    msock_msg *m = recv_msg(raw.sock);
    assert_int_equal(msock_msg_len(m), 1);
    assert_memory_equal(msock_msg_body(m), "r", 1);
    assert_int_equal(msock_msg_header_len(m), 4);
    assert_int_equal(pu_get32(msock_msg_header(m)), 5);
    TU_OK(msock_sendmsg(raw.sock, m, 0));
    expect_hops(fd, 6, "r");

    /* A fresh message has no hop count to add to. */
    msock_msg *fresh = tu_msg_new(4, 4);
    TU_EXPECT_RC(MSOCK_EINVAL, msock_sendmsg(raw.sock, fresh, 0));
    assert_true(tu_check(msock_msg_body(fresh), 4, 4));
    msock_msg_free(fresh);
    TU_EXPECT_RC(MSOCK_EINVAL, msock_send(raw.sock, "plain", 5, 0));

    /* 8 hops in, 9 out: more than MAXTTL, dropped. */
    send_hops(fd, 8, "edge");
    m = recv_msg(raw.sock);
    assert_int_equal(pu_get32(msock_msg_header(m)), 8);
    TU_OK(msock_sendmsg(raw.sock, m, 0));
    pu_expect_stat(raw.sock, MSOCK_STAT_DROPS_TTL, 1);
    send_hops(fd, 2, "ok");
    m = recv_msg(raw.sock);
    TU_OK(msock_sendmsg(raw.sock, m, 0));
    /* The dropped one never reached the wire: the next frame is this one. */
    expect_hops(fd, 3, "ok");
    close(fd);
    pu_node_close(&raw);
}

static void refuse(pu_opener listen_fn, pu_opener dial_fn, tu_transport t)
{
    pu_node l = pu_node_open(listen_fn);
    pu_node d = pu_node_open(dial_fn);
    char url[TU_URL_MAX];
    pu_listen(&l, t, url, sizeof(url));
    msock_dialer dialer;
    TU_OK(msock_dial(d.sock, url, &dialer, MSOCK_FLAG_NONBLOCK));
    /* Either side may be the one that notices; both refuse the pipe. */
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    uint64_t refused = 0;
    while (refused == 0 && !tu_deadline_passed(deadline)) {
        refused = tu_stat(l.sock, MSOCK_STAT_ERR_PEER_PROTO) +
                  tu_stat(d.sock, MSOCK_STAT_ERR_PEER_PROTO);
        tu_sleep_ms(2);
    }
    assert_true(refused > 0);
    assert_int_equal(tu_waiter_added(l.w), 0);
    assert_int_equal(tu_waiter_added(d.w), 0);
    /* With no peer, a send has nowhere to go. */
    TU_OK(msock_socket_set_ms(d.sock, MSOCK_OPT_SEND_TIMEOUT, 50));
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, msock_send(d.sock, "x", 1, 0));
    pu_node_close(&d);
    pu_node_close(&l);
}

static void test_pair1_pair0_refuse(void **state)
{
    (void)state;
    static const tu_transport transports[] = {TU_INPROC, TU_TCP4};
    for (size_t t = 0; t < sizeof(transports) / sizeof(transports[0]); t++) {
        refuse(msock_pair1_open, msock_pair_open, transports[t]);
        refuse(msock_pair_open, msock_pair1_open, transports[t]);
    }
}

int main(void)
{
    tu_watchdog(600);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_mesh_inproc),
        cmocka_unit_test(test_bus_mesh_tcp),
        cmocka_unit_test(test_bus_line_no_forward),
        cmocka_unit_test(test_bus_raw),
        cmocka_unit_test(test_pair1_both_ways),
        cmocka_unit_test(test_pair1_wire),
        cmocka_unit_test(test_pair1_raw),
        cmocka_unit_test(test_pair1_pair0_refuse),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed == 0)
        msock_fini();
    return failed;
}
