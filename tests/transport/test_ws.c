/* test_ws.c: the ws:// transport: REQ/REP and PUSH/PULL on 127.0.0.1 port 0 with sizes up to
 * 1 MiB, several paths on one port, the handshake refusals, and nngcat interop both ways. In a
 * build without ws (configure --disable-ws) it checks that ws:// URLs give MSOCK_ENOTSUP. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#ifndef MSOCK_TEST_WS

static void test_ws_absent(void **state)
{
    (void)state;
    msock_socket s;
    TU_OK(msock_pair_open(&s));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_listen(s, "ws://127.0.0.1:0/p", NULL, 0));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_dial(s, "ws://127.0.0.1:1/p", NULL, MSOCK_FLAG_NONBLOCK));
    TU_OK(msock_close(s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_ws_absent)};
    int rc = cmocka_run_group_tests_name("ws (not built)", tests, NULL, NULL);
    msock_fini();
    return rc;
}

#else

#define MIB ((size_t)1024 * 1024)

/* Around the fragment size (64 KiB), the 125/126 and 65535/65536 frame length encodings. */
static const size_t sizes[] = {0, 1, 125, 126, 1000, 65535, 65536, 65537, 200000, MIB};

typedef int (*opener)(msock_socket *s);

static msock_socket open_socket(opener open_fn)
{
    msock_socket s = tu_socket_bounded(open_fn);
    TU_OK(msock_socket_set_size(s, MSOCK_OPT_RECV_MAXSZ, 2 * MIB));
    return s;
}

static void send_sized(msock_socket s, size_t len, uint32_t seed)
{
    TU_OK(msock_sendmsg(s, tu_msg_new(len, seed), 0));
}

static void recv_sized(msock_socket s, size_t len, uint32_t seed)
{
    msock_msg *m = NULL;
    TU_OK(msock_recvmsg(s, &m, 0));
    assert_int_equal(msock_msg_len(m), len);
    assert_true(tu_check(msock_msg_body(m), len, seed));
    msock_msg_free(m);
}

/* Listens on ws://127.0.0.1:0/path and returns the bound URL, which must name a real port. */
static void listen_port0(msock_socket s, const char *path, msock_listener *l, char *url, size_t len)
{
    char any[TU_URL_MAX];
    snprintf(any, sizeof any, "ws://127.0.0.1:0%s", path);
    TU_OK(msock_listen(s, any, l, 0));
    tu_listener_url(*l, url, len);
    int port = tu_url_port(url);
    assert_true(port > 0);
    char want[TU_URL_MAX];
    snprintf(want, sizeof want, "ws://127.0.0.1:%d%s", port, path);
    assert_string_equal(url, want);
}

static void test_reqrep_sizes(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open), req = open_socket(msock_req_open);
    msock_listener l;
    char url[TU_URL_MAX];
    listen_port0(rep, "/rr", &l, url, sizeof url);
    TU_OK(msock_dial(req, url, NULL, 0));
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        send_sized(req, sizes[i], tu_seed(1, (unsigned)i));
        recv_sized(rep, sizes[i], tu_seed(1, (unsigned)i));
        send_sized(rep, sizes[i], tu_seed(2, (unsigned)i));
        recv_sized(req, sizes[i], tu_seed(2, (unsigned)i));
    }
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));
}

static void test_pushpull_sizes(void **state)
{
    (void)state;
    msock_socket pull = open_socket(msock_pull_open), push = open_socket(msock_push_open);
    msock_listener l;
    char url[TU_URL_MAX];
    listen_port0(pull, "/pipeline", &l, url, sizeof url);
    TU_OK(msock_dial(push, url, NULL, 0));
    /* All sent before any is received: the queues and fragments interleave. */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        send_sized(push, sizes[i], tu_seed(3, (unsigned)i));
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        recv_sized(pull, sizes[i], tu_seed(3, (unsigned)i));
    TU_OK(msock_close(push));
    TU_OK(msock_close(pull));
}

/* A listener with an Origin list still serves our dialer, which is no browser and sends no
 * Origin; pings in both directions with a dead-peer timeout keep an idle pair connected. */
static void test_origins_and_pings_with_our_dialer(void **state)
{
    (void)state;
    msock_socket pull = open_socket(msock_pull_open), push = open_socket(msock_push_open);
    TU_OK(msock_socket_set_ms(pull, MSOCK_OPT_WS_PING_INTERVAL, 50));
    TU_OK(msock_socket_set_ms(pull, MSOCK_OPT_WS_PING_TIMEOUT, 2000));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_WS_PING_INTERVAL, 50));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_WS_PING_TIMEOUT, 2000));
    msock_listener l;
    TU_OK(msock_listener_create(&l, pull, "ws://127.0.0.1:0/origins"));
    TU_OK(msock_listener_set_string(l, MSOCK_OPT_WS_ORIGINS, "http://only.example"));
    TU_OK(msock_listener_start(l, 0));
    char url[TU_URL_MAX];
    tu_listener_url(l, url, sizeof url);
    tu_waiter *w = tu_waiter_attach(pull);
    TU_OK(msock_dial(push, url, NULL, 0));
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));
    /* Idle for many ping intervals: the pongs must keep both sides from closing. */
    assert_false(tu_wait_removed(w, 1, 600));
    send_sized(push, 100, tu_seed(9, 1));
    recv_sized(pull, 100, tu_seed(9, 1));
    assert_int_equal(tu_waiter_added(w), 1);
    TU_OK(msock_close(push));
    TU_OK(msock_close(pull));
    tu_waiter_free(w);
}

/* Two sockets listen on different paths of one port; each dialer reaches its own. */
static void test_two_paths_one_port(void **state)
{
    (void)state;
    msock_socket a = open_socket(msock_pull_open), b = open_socket(msock_pull_open);
    msock_socket pa = open_socket(msock_push_open), pb = open_socket(msock_push_open);
    msock_listener la, lb;
    char url_a[TU_URL_MAX], url_b[TU_URL_MAX], url[TU_URL_MAX];
    listen_port0(a, "/a", &la, url_a, sizeof url_a);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/b", tu_url_port(url_a));
    TU_OK(msock_listen(b, url, &lb, 0));
    tu_listener_url(lb, url_b, sizeof url_b);
    assert_string_equal(url_b, url);
    /* The same path twice on one port is taken. */
    msock_socket c = open_socket(msock_pull_open);
    TU_EXPECT_RC(MSOCK_EADDRINUSE, msock_listen(c, url, NULL, 0));
    TU_OK(msock_close(c));
    TU_OK(msock_dial(pa, url_a, NULL, 0));
    TU_OK(msock_dial(pb, url_b, NULL, 0));
    send_sized(pa, 10, 0xa);
    send_sized(pb, 20, 0xb);
    recv_sized(a, 10, 0xa);
    recv_sized(b, 20, 0xb);
    /* Closing one listener leaves the other path served. */
    TU_OK(msock_close(a));
    send_sized(pb, 30, 0xc);
    recv_sized(b, 30, 0xc);
    TU_OK(msock_close(pa));
    TU_OK(msock_close(pb));
    TU_OK(msock_close(b));
}

/* A dial to a path nobody listens on, or with the wrong protocol, is refused. */
static void test_refused(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open);
    msock_socket req = open_socket(msock_req_open), push = open_socket(msock_push_open);
    msock_listener l;
    char url[TU_URL_MAX], other[TU_URL_MAX];
    listen_port0(rep, "/here", &l, url, sizeof url);
    snprintf(other, sizeof other, "ws://127.0.0.1:%d/elsewhere", tu_url_port(url));
    TU_EXPECT_RC(MSOCK_ECONNREFUSED, msock_dial(req, other, NULL, 0));
    TU_EXPECT_RC(MSOCK_ECONNREFUSED, msock_dial(push, url, NULL, 0)); /* offers pull.sp */
    TU_OK(msock_close(req));
    TU_OK(msock_close(push));
    TU_OK(msock_close(rep));
}

/* IPv6 loopback and the wildcard host ("*": every interface, dual stack). */
static void test_ipv6_and_wildcard(void **state)
{
    (void)state;
    const char *hosts[] = {"[::1]", "*"};
    for (size_t i = 0; i < 2; i++) {
        if (i == 0 && !tu_transport_available(TU_TCP6))
            continue;
        msock_socket pull = open_socket(msock_pull_open), push = open_socket(msock_push_open);
        msock_listener l;
        char any[TU_URL_MAX], url[TU_URL_MAX], dial[TU_URL_MAX];
        snprintf(any, sizeof any, "ws://%s:0/v", hosts[i]);
        TU_OK(msock_listen(pull, any, &l, 0));
        tu_listener_url(l, url, sizeof url);
        int port = tu_url_port(url);
        assert_true(port > 0);
        snprintf(dial, sizeof dial, "ws://%s:%d/v", i == 0 ? "[::1]" : "127.0.0.1", port);
        TU_OK(msock_dial(push, dial, NULL, 0));
        send_sized(push, 70000, 0x66);
        recv_sized(pull, 70000, 0x66);
        TU_OK(msock_close(push));
        TU_OK(msock_close(pull));
    }
}

/* ---- a hand-made client, for what our own dialer never sends ---- */

/* Sends an upgrade request (proto NULL: no Sec-WebSocket-Protocol) and returns the HTTP status
 * of the answer; *fd_out keeps the connection when it is wanted. */
static int raw_upgrade(int port, const char *path, const char *proto, int *fd_out)
{
    char url[64], req[512], resp[1024];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
    int fd = tu_connect_url(url);
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                     path, port, proto ? "Sec-WebSocket-Protocol: " : "", proto ? proto : "",
                     proto ? "\r\n" : "");
    assert_true(tu_send_all(fd, req, (size_t)n));
    size_t got = 0;
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    while (got < sizeof resp - 1 && !tu_deadline_passed(deadline)) {
        bool closed = false;
        size_t k = tu_read_until(fd, resp + got, 1, deadline, &closed);
        got += k;
        resp[got] = '\0';
        if (closed || strstr(resp, "\r\n\r\n"))
            break;
    }
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) {
        print_message("answer to GET %s (%s): [%s]\n", path, proto ? proto : "no protocol", resp);
        status = -1;
    }
    if (fd_out && status == 101)
        *fd_out = fd;
    else
        close(fd);
    return status;
}

/* Sends one masked frame (mask 0: the payload goes as is). */
static void raw_frame(int fd, uint8_t op_fin, const uint8_t *data, size_t len)
{
    uint8_t hdr[8];
    size_t h = 0;
    hdr[h++] = op_fin;
    assert_true(len < 65536);
    if (len < 126) {
        hdr[h++] = (uint8_t)(0x80 | len);
    } else {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (uint8_t)(len >> 8);
        hdr[h++] = (uint8_t)len;
    }
    memset(hdr + h, 0, 4);
    h += 4;
    assert_true(tu_send_all(fd, hdr, h));
    assert_true(tu_send_all(fd, data, len));
}

/* Reads frames until a close frame and returns its status code (-1: none came). */
static int raw_close_code(int fd)
{
    uint8_t b[4];
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    for (;;) {
        if (tu_read_until(fd, b, 2, deadline, NULL) != 2)
            return -1;
        size_t len = b[1] & 0x7f;
        if (len == 126) {
            if (tu_read_until(fd, b + 2, 2, deadline, NULL) != 2)
                return -1;
            len = (size_t)b[2] << 8 | b[3];
        }
        assert_true(len < 126 || (b[0] & 0x0f) != 0x8);
        uint8_t body[65536];
        if (len > sizeof body || tu_read_until(fd, body, len, deadline, NULL) != len)
            return -1;
        if ((b[0] & 0x0f) == 0x8)
            return len >= 2 ? body[0] << 8 | body[1] : 0;
    }
}

/* SP-WIRE §3: wrong path 404, missing or wrong subprotocol 400, text frame 1003, and the
 * receive max size counted across fragments 1009. */
static void test_handshake_and_frames(void **state)
{
    (void)state;
    msock_socket pull = open_socket(msock_pull_open);
    TU_OK(msock_socket_set_size(pull, MSOCK_OPT_RECV_MAXSZ, 1000));
    msock_listener l;
    char url[TU_URL_MAX];
    listen_port0(pull, "/f", &l, url, sizeof url);
    int port = tu_url_port(url);
    assert_int_equal(raw_upgrade(port, "/nope", "pull.sp.nanomsg.org", NULL), 404);
    assert_int_equal(raw_upgrade(port, "/f", NULL, NULL), 400);
    assert_int_equal(raw_upgrade(port, "/f", "push.sp.nanomsg.org", NULL), 400);
    assert_int_equal(raw_upgrade(port, "/f", "pull.sp.nanomsg.org, x", NULL), 400);
    /* A listener without a path is "/", and so is a request with an empty one (nngcat). */
    char nopath[TU_URL_MAX];
    snprintf(nopath, sizeof nopath, "ws://127.0.0.1:%d", port);
    TU_OK(msock_listen(pull, nopath, NULL, 0));
    int root = -1;
    assert_int_equal(raw_upgrade(port, "", "pull.sp.nanomsg.org", &root), 101);
    close(root);
    assert_int_equal(raw_upgrade(port, "/", "pull.sp.nanomsg.org", &root), 101);
    close(root);

    int fd = -1;
    assert_int_equal(raw_upgrade(port, "/f", "pull.sp.nanomsg.org", &fd), 101);
    raw_frame(fd, 0x81, (const uint8_t *)"hi", 2); /* FIN + TEXT */
    assert_int_equal(raw_close_code(fd), 1003);
    close(fd);

    uint8_t part[600];
    memset(part, 'x', sizeof part);
    assert_int_equal(raw_upgrade(port, "/f", "pull.sp.nanomsg.org", &fd), 101);
    raw_frame(fd, 0x82, part, 10); /* a small whole message first: delivered */
    raw_frame(fd, 0x02, part, sizeof part);   /* BINARY, no FIN */
    raw_frame(fd, 0x80, part, sizeof part);   /* CONTINUATION + FIN: 1200 > 1000 */
    assert_int_equal(raw_close_code(fd), 1009);
    close(fd);
    char buf[16];
    size_t len = sizeof buf;
    TU_OK(msock_recv(pull, buf, &len, 0));
    assert_int_equal(len, 10);
    assert_true(tu_stat_wait_at_least(pull, MSOCK_STAT_DROPS_TOO_LARGE, 1, TU_DEADLINE_MS));
    TU_OK(msock_close(pull));
}

/* nngcat's REP listens; our REQ dials it. */
static void test_nngcat_listens(void **state)
{
    (void)state;
    if (!tu_tool_present(TU_NNGCAT))
        skip();
    char url[TU_URL_MAX], probe[TU_URL_MAX];
    tu_child *kid = NULL;
    for (int attempt = 0; attempt < 5 && !kid; attempt++) {
        int port = tu_free_tcp_port();
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/sp/path", port);
        snprintf(probe, sizeof probe, "tcp://127.0.0.1:%d", port);
        const char *argv[] = {tu_tool_path(TU_NNGCAT), "--rep", "--listen", url, "--data", "pong",
                              "--count", "1", "--quoted", NULL};
        kid = tu_spawn(argv);
        int64_t deadline = tu_deadline_in(3000);
        while (!tu_url_listening(probe) && !tu_deadline_passed(deadline))
            tu_sleep_ms(10);
        if (!tu_url_listening(probe)) {
            tu_unspawn(kid);
            kid = NULL;
        }
    }
    assert_non_null(kid);
    msock_socket req = open_socket(msock_req_open);
    TU_OK(msock_dial(req, url, NULL, 0));
    tu_expect_pong(req, kid);
    TU_OK(msock_close(req));
    tu_unspawn(kid);
}

/* Our REP listens; nngcat's REQ dials it (this needs the "Upgrade: websocket" rewrite). */
static void test_nngcat_dials(void **state)
{
    (void)state;
    if (!tu_tool_present(TU_NNGCAT))
        skip();
    msock_socket rep = open_socket(msock_rep_open);
    msock_listener l;
    char url[TU_URL_MAX];
    listen_port0(rep, "/sp", &l, url, sizeof url);
    const char *argv[] = {tu_tool_path(TU_NNGCAT), "--req", "--dial", url, "--data", "ping",
                          "--quoted", NULL};
    tu_child *kid = tu_spawn(argv);
    tu_answer_ping(rep, kid);
    tu_unspawn(kid);
    TU_OK(msock_close(rep));
}

int main(void)
{
    tu_watchdog(120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reqrep_sizes),
        cmocka_unit_test(test_pushpull_sizes),
        cmocka_unit_test(test_two_paths_one_port),
        cmocka_unit_test(test_origins_and_pings_with_our_dialer),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_ipv6_and_wildcard),
        cmocka_unit_test(test_handshake_and_frames),
        cmocka_unit_test_teardown(test_nngcat_listens, tu_stop_spawned),
        cmocka_unit_test_teardown(test_nngcat_dials, tu_stop_spawned),
    };
    int rc = cmocka_run_group_tests_name("ws", tests, NULL, NULL);
    msock_fini();
    return rc;
}

#endif /* MSOCK_TEST_WS */
