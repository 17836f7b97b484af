/* test_hostile.c: raw clients send bad headers, wrong protocols, huge lengths, garbage and silence
 * to a pull socket over tcp and ipc; it must drop and count them and keep serving valid peers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* The handshake limit of the "quick" listener, which the silence cases use. */
#define QUICK_HANDSHAKE_MS 200
/* Well below the 10 s default, so a close within it shows the quick limit at work. */
#define QUICK_CLOSE_DEADLINE_MS 5000

static const uint8_t pull_header[8] = {0x00, 0x53, 0x50, 0x00, 0x00, 0x51, 0x00, 0x00};
static const uint8_t push_header[8] = {0x00, 0x53, 0x50, 0x00, 0x00, 0x50, 0x00, 0x00};

/* A pull socket with a default listener and a quick-handshake listener on one transport. */
typedef struct server {
    tu_transport transport;
    msock_socket sock;
    msock_listener main_l, quick_l;
    char main_url[TU_URL_MAX];
    char quick_url[TU_URL_MAX];
} server;

static void server_open(server *srv, tu_transport t)
{
    srv->transport = t;
    TU_OK(msock_pull_open(&srv->sock));
    TU_OK(msock_socket_set_ms(srv->sock, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS));
    tu_listen_any(srv->sock, t, &srv->main_l, srv->main_url, sizeof(srv->main_url));
    char any[TU_URL_MAX];
    tu_any_url(t, any, sizeof(any));
    TU_OK(msock_listener_create(&srv->quick_l, srv->sock, any));
    TU_OK(msock_listener_set_ms(srv->quick_l, MSOCK_OPT_HANDSHAKE_TIMEOUT, QUICK_HANDSHAKE_MS));
    TU_OK(msock_listener_start(srv->quick_l, 0));
    tu_listener_url(srv->quick_l, srv->quick_url, sizeof(srv->quick_url));
}

static void server_close(server *srv)
{
    TU_OK(msock_close(srv->sock));
}

/* ---- raw client ---- */

static void expect_header(int fd, const uint8_t want[8])
{
    uint8_t got[8];
    assert_int_equal(tu_read_until(fd, got, sizeof(got), tu_deadline_in(TU_DEADLINE_MS), NULL),
                     sizeof(got));
    assert_memory_equal(got, want, sizeof(got));
}

static void expect_pull_header(int fd)
{
    expect_header(fd, pull_header);
}

/* Writes everything it can; the library may already have closed, which is fine here. */
static void raw_write(int fd, const void *buf, size_t len)
{
    (void)tu_send_all(fd, buf, len);
}

/* True once the library closed the connection (end of stream or a reset) before the deadline.
 * The library may say nothing more after its header: extra bytes fail the test. */
static bool raw_wait_closed(int fd, int64_t timeout_ms)
{
    int64_t deadline = tu_deadline_in(timeout_ms);
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t left = tu_ms_left(deadline);
        int n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            return false;
        uint8_t buf[256];
        ssize_t got = read(fd, buf, sizeof(buf));
        if (got == 0 || (got < 0 && (errno == ECONNRESET || errno == EPIPE)))
            return true;
        if (got > 0)
            fail_msg("the library sent %zd unexpected bytes", got);
    }
}

/* A frame of the SP stream mapping: ipc puts a type byte 1 before the length. */
static size_t frame_head(tu_transport t, uint64_t length, uint8_t *out)
{
    size_t at = 0;
    if (t == TU_IPC)
        out[at++] = 0x01;
    for (int i = 7; i >= 0; i--)
        out[at++] = (uint8_t)(length >> (8 * i));
    return at;
}

/* ---- statistics ---- */

static const int err_stats[] = {MSOCK_STAT_ERR_BAD_HEADER, MSOCK_STAT_ERR_PEER_PROTO,
                                MSOCK_STAT_DROPS_TOO_LARGE, MSOCK_STAT_ERR_HANDSHAKE_TIMEOUT,
                                MSOCK_STAT_ERR_IO};
#define N_ERR_STATS (sizeof(err_stats) / sizeof(err_stats[0]))

static void snapshot_errors(msock_socket s, uint64_t *values)
{
    for (size_t i = 0; i < N_ERR_STATS; i++)
        values[i] = tu_stat(s, err_stats[i]);
}

/* Exactly one drop, counted under `stat` and under no other reason. */
static void expect_one_drop(msock_socket s, const uint64_t *before, int stat)
{
    for (size_t i = 0; i < N_ERR_STATS; i++) {
        if (err_stats[i] == stat && !tu_stat_wait_at_least(s, stat, before[i] + 1, TU_DEADLINE_MS))
            fail_msg("statistic %s did not count the drop", msock_stat_name(stat));
    }
    uint64_t after[N_ERR_STATS];
    snapshot_errors(s, after);
    for (size_t i = 0; i < N_ERR_STATS; i++) {
        uint64_t want = before[i] + (err_stats[i] == stat ? 1 : 0);
        if (after[i] != want)
            fail_msg("statistic %s is %llu, want %llu", msock_stat_name(err_stats[i]),
                     (unsigned long long)after[i], (unsigned long long)want);
    }
}

/* ---- valid peer ---- */

/* A new push peer connects and its message arrives at once (within the deadline). */
static void valid_peer_delivers(server *srv, const char *url)
{
    msock_socket push;
    TU_OK(msock_push_open(&push));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS));
    msock_dialer d;
    TU_OK(msock_dial(push, url, &d, 0));
    const char text[] = "still serving";
    TU_OK(msock_send(push, text, sizeof(text), 0));
    char buf[64];
    size_t len = sizeof(buf);
    TU_OK(msock_recv(srv->sock, buf, &len, 0));
    assert_int_equal(len, sizeof(text));
    assert_memory_equal(buf, text, sizeof(text));
    TU_OK(msock_close(push));
}

/* ---- the cases ---- */

typedef enum attack {
    ATTACK_BAD_MAGIC,
    ATTACK_BAD_VERSION,
    ATTACK_BAD_RESERVED,
    ATTACK_HTTP,
    ATTACK_PAIR_PEER,
    ATTACK_PULL_PEER,
    ATTACK_HUGE_LENGTH,
    ATTACK_GARBAGE,
    ATTACK_SILENCE,
    ATTACK_PARTIAL_HEADER,
    ATTACK_BAD_IPC_TYPE,
} attack;

typedef struct hostile_case {
    tu_transport transport;
    attack kind;
    int stat;
    bool quick;
} hostile_case;

/* The bytes the raw client sends for an attack; returns their count. */
static size_t attack_bytes(const hostile_case *hc, uint8_t *out, size_t cap)
{
    static const char http[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    size_t len = 0;
    switch (hc->kind) {
    case ATTACK_BAD_MAGIC:
        memcpy(out, push_header, 8);
        out[2] = 'Q';
        return 8;
    case ATTACK_BAD_VERSION:
        memcpy(out, push_header, 8);
        out[3] = 0x01;
        return 8;
    case ATTACK_BAD_RESERVED:
        memcpy(out, push_header, 8);
        out[7] = 0x01;
        return 8;
    case ATTACK_HTTP:
        memcpy(out, http, sizeof(http) - 1);
        return sizeof(http) - 1;
    case ATTACK_PAIR_PEER:
        memcpy(out, push_header, 8);
        out[5] = MSOCK_PROTO_PAIR0;
        return 8;
    case ATTACK_PULL_PEER:
        memcpy(out, pull_header, 8);
        return 8;
    case ATTACK_HUGE_LENGTH:
        memcpy(out, push_header, 8);
        len = 8 + frame_head(hc->transport, UINT64_C(1) << 63, out + 8);
        return len;
    case ATTACK_GARBAGE:
        tu_fill(out, 64, 0xbadbad);
        /* Never a NUL first: that could start a valid header by chance. */
        out[0] = 0xff;
        return 64;
    case ATTACK_SILENCE:
        return 0;
    case ATTACK_PARTIAL_HEADER:
        memcpy(out, push_header, 3);
        return 3;
    case ATTACK_BAD_IPC_TYPE:
        memcpy(out, push_header, 8);
        len = 8 + frame_head(TU_IPC, 1, out + 8);
        out[8] = 0x02;
        out[len++] = 'x';
        return len;
    }
    (void)cap;
    return 0;
}

static void test_hostile(void **state)
{
    const hostile_case *hc = *state;
    server srv;
    server_open(&srv, hc->transport);
    const char *url = hc->quick ? srv.quick_url : srv.main_url;
    uint64_t before[N_ERR_STATS];
    snapshot_errors(srv.sock, before);

    int fd = tu_connect_url(url);
    expect_pull_header(fd);
    uint8_t bytes[256];
    size_t len = attack_bytes(hc, bytes, sizeof(bytes));
    raw_write(fd, bytes, len);
    int64_t close_deadline = hc->quick ? QUICK_CLOSE_DEADLINE_MS : TU_DEADLINE_MS;
    if (!raw_wait_closed(fd, close_deadline))
        fail_msg("the library kept the hostile connection open");
    close(fd);
    expect_one_drop(srv.sock, before, hc->stat);

    /* The listener that met the attack and the other one both still serve valid peers. */
    valid_peer_delivers(&srv, url);
    valid_peer_delivers(&srv, hc->quick ? srv.main_url : srv.quick_url);
    server_close(&srv);
}

/* The raw client itself, speaking correctly, is served: proves the framing the attacks bend. */
static void test_raw_push_is_served(void **state)
{
    const hostile_case *hc = *state;
    server srv;
    server_open(&srv, hc->transport);
    tu_waiter *w = tu_waiter_attach(srv.sock);
    int fd = tu_connect_url(srv.main_url);
    expect_pull_header(fd);
    raw_write(fd, push_header, sizeof(push_header));
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));

    uint8_t frame[64];
    const char text[] = "raw-hello";
    size_t head = frame_head(hc->transport, sizeof(text) - 1, frame);
    memcpy(frame + head, text, sizeof(text) - 1);
    raw_write(fd, frame, head + sizeof(text) - 1);
    /* Then an empty message, legal in the mapping. */
    head = frame_head(hc->transport, 0, frame);
    raw_write(fd, frame, head);

    char buf[64];
    size_t len = sizeof(buf);
    TU_OK(msock_recv(srv.sock, buf, &len, 0));
    assert_int_equal(len, sizeof(text) - 1);
    assert_memory_equal(buf, text, sizeof(text) - 1);
    len = sizeof(buf);
    TU_OK(msock_recv(srv.sock, buf, &len, 0));
    assert_int_equal(len, 0);
    assert_int_equal(tu_waiter_removed(w), 0);

    /* Our close is seen by the library as the pipe going away. */
    close(fd);
    assert_true(tu_wait_removed(w, 1, TU_DEADLINE_MS));
    server_close(&srv);
    tu_waiter_free(w);
}

/* A raw client that completes the SP handshake as a PUSH peer; -1 when the listener closed
 * the connection instead (refused). */
static int raw_push_connect(const char *url)
{
    int fd = tu_connect_url(url);
    uint8_t got[8];
    bool closed = false;
    size_t n = tu_read_until(fd, got, sizeof(got), tu_deadline_in(TU_DEADLINE_MS), &closed);
    if (n != sizeof(got)) {
        assert_true(closed);
        close(fd);
        return -1;
    }
    assert_memory_equal(got, pull_header, sizeof(got));
    raw_write(fd, push_header, sizeof(push_header));
    return fd;
}

/* MSOCK_OPT_MAX_CONNS: a full listener refuses at once; a place that frees is taken again. */
static void test_max_conns(void **state)
{
    const hostile_case *hc = *state;
    msock_socket pull;
    TU_OK(msock_pull_open(&pull));
    tu_waiter *w = tu_waiter_attach(pull);
    char any[TU_URL_MAX], url[TU_URL_MAX];
    tu_any_url(hc->transport, any, sizeof(any));
    msock_listener l;
    TU_OK(msock_listener_create(&l, pull, any));
    TU_OK(msock_listener_set_int(l, MSOCK_OPT_MAX_CONNS, 2));
    TU_OK(msock_listener_start(l, 0));
    tu_listener_url(l, url, sizeof(url));

    int a = raw_push_connect(url), b = raw_push_connect(url);
    assert_true(a >= 0 && b >= 0);
    assert_true(tu_wait_added(w, 2, TU_DEADLINE_MS));
    int refused = tu_connect_url(url);
    assert_true(raw_wait_closed(refused, TU_DEADLINE_MS));
    close(refused);
    assert_int_equal(tu_waiter_added(w), 2);

    close(a);
    assert_true(tu_wait_removed(w, 1, TU_DEADLINE_MS));
    /* The place frees when the connection's memory does, just after the pipe event. */
    int c = -1;
    for (int64_t deadline = tu_deadline_in(TU_DEADLINE_MS); c < 0 && !tu_deadline_passed(deadline);)
        if ((c = raw_push_connect(url)) < 0)
            tu_sleep_ms(10);
    assert_true(c >= 0);
    assert_true(tu_wait_added(w, 3, TU_DEADLINE_MS));
    close(b);
    close(c);
    TU_OK(msock_close(pull));
    tu_waiter_free(w);
}

/* 5,000 connections opened and held against a listener that keeps HELD_LIMIT: it serves that
 * many, refuses the rest at once, stays within HELD_RSS_BOUND of memory, and serves a valid
 * dialer as soon as the held ones go. The bound allows 64 KiB per kept connection (its pipe,
 * stream buffers and receive batch) and 8 MiB of slack; refused ones may cost nothing. */
#define HELD_CONNS 5000
#define HELD_LIMIT 500
#define HELD_RSS_BOUND ((size_t)HELD_LIMIT * 64 * 1024 + (size_t)8 * 1024 * 1024)

static void test_held_connections(void **state)
{
    const hostile_case *hc = *state;
    size_t want = HELD_CONNS + HELD_LIMIT + 200;
    int conns = HELD_CONNS;
    size_t limit = tu_raise_fd_limit(want);
    if (limit < want) {
        conns = (int)(limit > 2 * HELD_LIMIT + 200 ? limit - HELD_LIMIT - 200 : HELD_LIMIT + 10);
        print_message("descriptor limit %zu: holding %d connections instead of %d\n", limit,
                      conns, HELD_CONNS);
    }
    msock_socket pull;
    TU_OK(msock_pull_open(&pull));
    tu_waiter *w = tu_waiter_attach(pull);
    char any[TU_URL_MAX], url[TU_URL_MAX];
    tu_any_url(hc->transport, any, sizeof(any));
    msock_listener l;
    TU_OK(msock_listener_create(&l, pull, any));
    TU_OK(msock_listener_set_int(l, MSOCK_OPT_MAX_CONNS, HELD_LIMIT));
    TU_OK(msock_listener_start(l, 0));
    tu_listener_url(l, url, sizeof(url));

    size_t base = tu_rss_bytes(), peak = base;
    int *fds = malloc((size_t)conns * sizeof *fds);
    assert_non_null(fds);
    int kept = 0, refused = 0;
    for (int i = 0; i < conns; i++) {
        fds[i] = raw_push_connect(url);
        if (fds[i] >= 0)
            kept++;
        else
            refused++;
        if (i % 500 == 0) {
            size_t now = tu_rss_bytes();
            peak = now > peak ? now : peak;
        }
    }
    assert_int_equal(kept, HELD_LIMIT);
    assert_int_equal(refused, conns - HELD_LIMIT);
    assert_true(tu_wait_added(w, HELD_LIMIT, TU_DEADLINE_MS));
    size_t now = tu_rss_bytes();
    peak = now > peak ? now : peak;
    print_message("%d held, %d refused; RSS grew %zu KiB (bound %zu KiB)\n", kept, refused,
                  (peak - base) / 1024, HELD_RSS_BOUND / 1024);
    assert_true(peak - base <= HELD_RSS_BOUND);

    for (int i = 0; i < conns; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    assert_true(tu_wait_removed(w, HELD_LIMIT, TU_DEADLINE_MS));
    /* A valid peer is served once the places are free. */
    msock_socket push = tu_socket_bounded(msock_push_open);
    msock_dialer d;
    TU_OK(msock_dial(push, url, &d, 0));
    TU_OK(msock_send(push, "ok", 2, 0));
    char buf[8];
    size_t len = sizeof(buf);
    TU_OK(msock_socket_set_ms(pull, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_recv(pull, buf, &len, 0));
    assert_int_equal(len, 2);
    TU_OK(msock_close(push));
    TU_OK(msock_close(pull));
    tu_waiter_free(w);
}

/* A PULL peer that connects and never reads while a PUSH sends 1 KiB messages: sends fill the
 * pipe's queue and the kernel's buffers, then time out (PUSH blocks, it never drops); memory
 * stays within the queue's bytes plus slack; a second puller then gets what is sent. */
#define STUCK_MSG 1024
#define STUCK_QUEUE_BYTES ((size_t)256 * 1024)
#define STUCK_RSS_BOUND (STUCK_QUEUE_BYTES * 4 + (size_t)8 * 1024 * 1024)

static void test_stuck_reader(void **state)
{
    const hostile_case *hc = *state;
    msock_socket push;
    TU_OK(msock_push_open(&push));
    TU_OK(msock_socket_set_size(push, MSOCK_OPT_SEND_QUEUE_BYTES, STUCK_QUEUE_BYTES));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_SEND_TIMEOUT, 200));
    tu_waiter *w = tu_waiter_attach(push);
    char any[TU_URL_MAX], url[TU_URL_MAX];
    tu_any_url(hc->transport, any, sizeof(any));
    msock_listener l;
    TU_OK(msock_listen(push, any, &l, 0));
    tu_listener_url(l, url, sizeof(url));

    int fd = tu_connect_url(url);
    raw_write(fd, pull_header, sizeof(pull_header));
    expect_header(fd, push_header);
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));

    uint8_t msg[STUCK_MSG];
    tu_fill(msg, sizeof(msg), 7);
    size_t base = tu_rss_bytes(), sent = 0;
    int rc = 0;
    /* Bounded: the queue and the socket buffers hold far fewer than 100,000 messages. */
    while (sent < 100000 && (rc = msock_send(push, msg, sizeof(msg), 0)) == 0)
        sent++;
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, rc);
    size_t grew = tu_rss_bytes() > base ? tu_rss_bytes() - base : 0;
    print_message("%zu messages went out before the send blocked; RSS grew %zu KiB (bound %zu)\n",
                  sent, grew / 1024, STUCK_RSS_BOUND / 1024);
    assert_true(sent < 100000);
    assert_true(grew <= STUCK_RSS_BOUND);
    assert_int_equal(tu_waiter_removed(w), 0);

    /* A puller that reads is served at once, past the stuck one. */
    msock_socket pull = tu_socket_bounded(msock_pull_open);
    msock_dialer d;
    TU_OK(msock_dial(pull, url, &d, 0));
    assert_true(tu_wait_added(w, 2, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_send(push, "fresh", 5, 0));
    char buf[STUCK_MSG];
    size_t len;
    do {
        len = sizeof(buf);
        TU_OK(msock_recv(pull, buf, &len, 0));
    } while (len != 5);
    assert_memory_equal(buf, "fresh", 5);
    close(fd);
    TU_OK(msock_close(pull));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_LINGER, 0));
    TU_OK(msock_close(push));
    tu_waiter_free(w);
}

#define HOSTILE(t, kind, stat, quick) {t, kind, stat, quick}
static const hostile_case hostile_cases[] = {
    HOSTILE(TU_TCP4, ATTACK_BAD_MAGIC, MSOCK_STAT_ERR_BAD_HEADER, false),
    HOSTILE(TU_TCP4, ATTACK_BAD_VERSION, MSOCK_STAT_ERR_BAD_HEADER, false),
    HOSTILE(TU_TCP4, ATTACK_BAD_RESERVED, MSOCK_STAT_ERR_BAD_HEADER, false),
    HOSTILE(TU_TCP4, ATTACK_HTTP, MSOCK_STAT_ERR_BAD_HEADER, false),
    HOSTILE(TU_TCP4, ATTACK_PAIR_PEER, MSOCK_STAT_ERR_PEER_PROTO, false),
    HOSTILE(TU_TCP4, ATTACK_PULL_PEER, MSOCK_STAT_ERR_PEER_PROTO, false),
    HOSTILE(TU_TCP4, ATTACK_HUGE_LENGTH, MSOCK_STAT_DROPS_TOO_LARGE, false),
    HOSTILE(TU_TCP4, ATTACK_GARBAGE, MSOCK_STAT_ERR_BAD_HEADER, false),
    HOSTILE(TU_TCP4, ATTACK_SILENCE, MSOCK_STAT_ERR_HANDSHAKE_TIMEOUT, true),
    HOSTILE(TU_TCP4, ATTACK_PARTIAL_HEADER, MSOCK_STAT_ERR_HANDSHAKE_TIMEOUT, true),
    HOSTILE(TU_IPC, ATTACK_BAD_MAGIC, MSOCK_STAT_ERR_BAD_HEADER, false),
    HOSTILE(TU_IPC, ATTACK_BAD_VERSION, MSOCK_STAT_ERR_BAD_HEADER, false),
    HOSTILE(TU_IPC, ATTACK_BAD_RESERVED, MSOCK_STAT_ERR_BAD_HEADER, false),
    HOSTILE(TU_IPC, ATTACK_HTTP, MSOCK_STAT_ERR_BAD_HEADER, false),
    HOSTILE(TU_IPC, ATTACK_PAIR_PEER, MSOCK_STAT_ERR_PEER_PROTO, false),
    HOSTILE(TU_IPC, ATTACK_PULL_PEER, MSOCK_STAT_ERR_PEER_PROTO, false),
    HOSTILE(TU_IPC, ATTACK_HUGE_LENGTH, MSOCK_STAT_DROPS_TOO_LARGE, false),
    HOSTILE(TU_IPC, ATTACK_GARBAGE, MSOCK_STAT_ERR_BAD_HEADER, false),
    HOSTILE(TU_IPC, ATTACK_SILENCE, MSOCK_STAT_ERR_HANDSHAKE_TIMEOUT, true),
    HOSTILE(TU_IPC, ATTACK_PARTIAL_HEADER, MSOCK_STAT_ERR_HANDSHAKE_TIMEOUT, true),
    HOSTILE(TU_IPC, ATTACK_BAD_IPC_TYPE, MSOCK_STAT_ERR_BAD_HEADER, false),
};

static const char *const attack_names[] = {
    "bad_magic", "bad_version",     "bad_reserved",   "http",   "pair_peer",   "pull_peer",
    "huge_length", "garbage", "silence", "partial_header", "bad_ipc_type",
};

static const hostile_case raw_tcp = {TU_TCP4, ATTACK_SILENCE, 0, false};
static const hostile_case raw_ipc = {TU_IPC, ATTACK_SILENCE, 0, false};

int main(void)
{
    tu_watchdog(600);
    signal(SIGPIPE, SIG_IGN);
    enum { N_CASES = sizeof(hostile_cases) / sizeof(hostile_cases[0]) };
    struct CMUnitTest tests[N_CASES + 8];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest){.name = "max_conns/tcp4", .test_func = test_max_conns,
                                     .initial_state = (void *)&raw_tcp};
    tests[n++] = (struct CMUnitTest){.name = "max_conns/ipc", .test_func = test_max_conns,
                                     .initial_state = (void *)&raw_ipc};
    tests[n++] = (struct CMUnitTest){.name = "held_connections/tcp4",
                                     .test_func = test_held_connections,
                                     .initial_state = (void *)&raw_tcp};
    tests[n++] = (struct CMUnitTest){.name = "held_connections/ipc",
                                     .test_func = test_held_connections,
                                     .initial_state = (void *)&raw_ipc};
    tests[n++] = (struct CMUnitTest){.name = "stuck_reader/tcp4", .test_func = test_stuck_reader,
                                     .initial_state = (void *)&raw_tcp};
    tests[n++] = (struct CMUnitTest){.name = "stuck_reader/ipc", .test_func = test_stuck_reader,
                                     .initial_state = (void *)&raw_ipc};
    tests[n++] = (struct CMUnitTest){.name = "raw_push_is_served/tcp4",
                                     .test_func = test_raw_push_is_served,
                                     .initial_state = (void *)&raw_tcp};
    tests[n++] = (struct CMUnitTest){.name = "raw_push_is_served/ipc",
                                     .test_func = test_raw_push_is_served,
                                     .initial_state = (void *)&raw_ipc};
    size_t fixed = n; /* the names after these are allocated */
    for (size_t i = 0; i < N_CASES; i++) {
        char *name = NULL;
        assert_true(asprintf(&name, "hostile/%s/%s", tu_transport_name(hostile_cases[i].transport),
                             attack_names[hostile_cases[i].kind]) > 0);
        tests[n++] = (struct CMUnitTest){.name = name, .test_func = test_hostile,
                                         .initial_state = (void *)&hostile_cases[i]};
    }
    int failed = _cmocka_run_group_tests("hostile", tests, n, NULL, NULL);
    for (size_t i = fixed; i < n; i++)
        free((char *)tests[i].name);
    if (failed == 0)
        msock_fini();
    return failed;
}
