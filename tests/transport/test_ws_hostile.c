/* test_ws_hostile.c: hostile and misbehaving WebSocket clients against ws:// listeners (bad
 * handshakes, text frames, oversized and endless messages, a SUB that talks, foreign Origins,
 * too many connections (and 5,000 held against a limit), silent peers, peers that stop reading,
 * frames announcing 2^63 bytes, random bytes after the upgrade) and the listener options
 * that bound them (MSOCK_OPT_MAX_CONNS, MSOCK_OPT_WS_ORIGINS, MSOCK_OPT_WS_PING_INTERVAL and
 * _TIMEOUT, MSOCK_OPT_HANDSHAKE_TIMEOUT, MSOCK_OPT_WS_HTTP_DIR). After each attack the
 * listener must still serve a libmsock dialer at once, and only the hostile connection may
 * have been closed. Wrong path (404) and wrong subprotocol (400) are in test_ws.c. In a build
 * without ws (configure --disable-ws) there is nothing to attack. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "transport/ws_rawclient.h"

#ifndef MSOCK_TEST_WS

int main(void)
{
    return 0;
}

#else

#define WS_PATH "/sp"
#define REP_SUBPROTO "rep.sp.nanomsg.org" /* what a REQ offers a REP listener */

/* Loose time bounds: the tests must pass on a loaded two-core machine. A timed close must come
 * within CLOSE_BOUND_MS (far below the defaults it would fall back to: 10 s handshake, 30 s
 * ping) and not before its own limit could have run out. */
#define CLOSE_BOUND_MS 5000
#define HANDSHAKE_QUICK_MS 300
#define HANDSHAKE_NOT_BEFORE_MS 100
#define PING_INTERVAL_MS 200
#define PING_TIMEOUT_MS 400
#define PING_NOT_BEFORE_MS 150

/* The receive max of the frame tests. */
#define RECV_MAX 4096
/* The flood: one-byte fragments carrying 1024 times the receive max in all. A server that kept
 * the flood would grow by at least its payload; one that enforces the limit keeps at most
 * RECV_MAX of it, so the peak RSS growth of the process may not exceed 512 times the limit
 * (2 MiB, room for allocator and thread-stack noise). */
#define FLOOD_FRAMES (1024 * RECV_MAX)
#define FLOOD_BATCH 4096 /* frames per write */
#define FLOOD_RSS_BOUND ((size_t)512 * RECV_MAX)
/* 10,000 header lines of 200 bytes: 2 MB. lws keeps at most a few KiB of a request head; a
 * server that kept them all would grow by 2 MB, so growth must stay under 1 MiB. */
#define MANY_HEADER_LINES 10000
#define HEADER_LINE_LEN 200
#define HEADERS_RSS_BOUND ((size_t)1 << 20)
/* A request line that never ends: up to 1 MiB of it. */
#define ENDLESS_LINE_BYTES ((size_t)1 << 20)

/* ---- sockets and listeners ---- */

/* Listener options; zero or NULL leaves the default. */
typedef struct lopts {
    int64_t handshake_ms;
    int max_conns;
    const char *origins;
    bool ping_set;
    int64_t ping_interval_ms, ping_timeout_ms;
    const char *http_dir;
    size_t recv_max;
} lopts;


/* Listens on ws://127.0.0.1:0<path> with the options set between create and start; returns
 * the bound port. */
static int listen_ws(msock_socket s, const char *path, const lopts *o, msock_listener *l,
                     char *url, size_t len)
{
    char any[TU_URL_MAX];
    snprintf(any, sizeof any, "ws://127.0.0.1:0%s", path);
    TU_OK(msock_listener_create(l, s, any));
    if (o && o->handshake_ms)
        TU_OK(msock_listener_set_ms(*l, MSOCK_OPT_HANDSHAKE_TIMEOUT, o->handshake_ms));
    if (o && o->max_conns)
        TU_OK(msock_listener_set_int(*l, MSOCK_OPT_MAX_CONNS, o->max_conns));
    if (o && o->origins)
        TU_OK(msock_listener_set_string(*l, MSOCK_OPT_WS_ORIGINS, o->origins));
    if (o && o->ping_set) {
        TU_OK(msock_listener_set_ms(*l, MSOCK_OPT_WS_PING_INTERVAL, o->ping_interval_ms));
        TU_OK(msock_listener_set_ms(*l, MSOCK_OPT_WS_PING_TIMEOUT, o->ping_timeout_ms));
    }
    if (o && o->http_dir)
        TU_OK(msock_listener_set_string(*l, MSOCK_OPT_WS_HTTP_DIR, o->http_dir));
    if (o && o->recv_max)
        TU_OK(msock_listener_set_size(*l, MSOCK_OPT_RECV_MAXSZ, o->recv_max));
    TU_OK(msock_listener_start(*l, 0));
    tu_listener_url(*l, url, len);
    int port = tu_url_port(url);
    assert_true(port > 0);
    return port;
}

/* A request and its reply through a REQ and a REP socket. */
static void round_trip(msock_socket req, msock_socket rep, uint32_t seed)
{
    uint8_t out[16], in[32];
    tu_fill(out, sizeof out, seed);
    TU_OK(msock_send(req, out, sizeof out, 0));
    size_t len = sizeof in;
    TU_OK(msock_recv(rep, in, &len, 0));
    assert_int_equal(len, sizeof out);
    assert_true(tu_check(in, len, seed));
    TU_OK(msock_send(rep, in, len, 0));
    len = sizeof in;
    TU_OK(msock_recv(req, in, &len, 0));
    assert_int_equal(len, sizeof out);
    assert_true(tu_check(in, len, seed));
}

/* ---- the REP server most cases attack ---- */

/* A REP socket listening on ws://127.0.0.1:0/sp, and optionally a REQ bystander connected
 * before the attack, which must stay connected through it. */
typedef struct server {
    msock_socket rep, bystander;
    bool has_bystander;
    msock_listener l;
    tu_waiter *w;
    char url[TU_URL_MAX];
    int port;
} server;

static void server_open(server *s, const lopts *o, bool bystander)
{
    memset(s, 0, sizeof *s);
    s->rep = tu_socket_bounded(msock_rep_open);
    s->w = tu_waiter_attach(s->rep);
    s->port = listen_ws(s->rep, WS_PATH, o, &s->l, s->url, sizeof s->url);
    s->has_bystander = bystander;
    if (bystander) {
        s->bystander = tu_socket_bounded(msock_req_open);
        TU_OK(msock_dial(s->bystander, s->url, NULL, 0));
        assert_true(tu_wait_added(s->w, 1, TU_DEADLINE_MS));
        round_trip(s->bystander, s->rep, 0xb0);
    }
}

/* After an attack in which the hostile clients got `hostile` pipes (all closed by now): those
 * pipes are gone, the bystander still has its pipe and a round trip, and a new dialer is
 * served at once. */
static void server_expect_serving(server *s, int hostile)
{
    if (!tu_wait_removed(s->w, hostile, TU_DEADLINE_MS))
        fail_msg("%d of the %d hostile pipes were removed", tu_waiter_removed(s->w), hostile);
    if (s->has_bystander)
        round_trip(s->bystander, s->rep, 0xb1);
    msock_socket fresh = tu_socket_bounded(msock_req_open);
    TU_OK(msock_dial(fresh, s->url, NULL, 0));
    round_trip(fresh, s->rep, 0xf1);
    int legit = s->has_bystander ? 2 : 1;
    if (tu_waiter_pre(s->w) != legit + hostile)
        fail_msg("%d pipes were offered to the socket, want %d (%d hostile)", tu_waiter_pre(s->w),
                 legit + hostile, hostile);
    if (tu_waiter_removed(s->w) != hostile)
        fail_msg("%d pipes were removed, want only the %d hostile ones", tu_waiter_removed(s->w),
                 hostile);
    TU_OK(msock_close(fresh));
}

static void server_close(server *s)
{
    if (s->has_bystander)
        TU_OK(msock_close(s->bystander));
    TU_OK(msock_close(s->rep));
    tu_waiter_free(s->w);
}

static const wsr_request good_req = {.path = WS_PATH, .proto = REP_SUBPROTO};

/* A raw client that completed the handshake with the REP listener. */
static int raw_open(const server *s)
{
    int fd = -1;
    int status = wsr_upgrade(s->port, &good_req, &fd);
    if (status != 101)
        fail_msg("the handshake got %d, want 101", status);
    return fd;
}

/* Fails unless the server answers with a 4xx status or ends the connection. */
static void expect_refused(int fd, const char *what)
{
    char head[1024];
    int status = wsr_read_head(fd, head, sizeof head, tu_deadline_in(TU_DEADLINE_MS));
    print_message("%s: %s %d\n", what, status > 0 ? "status" : "closed", status);
    if (status == WSR_TIMEOUT)
        fail_msg("%s: no answer and still open after %d ms", what, TU_DEADLINE_MS);
    if (status != WSR_CLOSED && (status < 400 || status > 499))
        fail_msg("%s: got [%s], want a 4xx status or a close", what, head);
}

/* ---- a. bad handshakes ---- */

typedef enum bad_kind {
    BAD_NO_KEY,
    BAD_VERSION_8,
    BAD_MANY_HEADERS,
    BAD_GARBAGE,
    BAD_ENDLESS_LINE,
} bad_kind;

/* Sends prefix and then unit `count` times, in batches, until the server stops taking them
 * (it may close as soon as it has seen enough); returns the peak RSS growth meanwhile. */
static size_t send_repeated(int fd, const char *prefix, const char *unit, size_t count)
{
    enum { BATCH = 64 };
    size_t unit_len = strlen(unit);
    char *batch = malloc(unit_len * BATCH);
    assert_non_null(batch);
    for (size_t i = 0; i < BATCH; i++)
        memcpy(batch + i * unit_len, unit, unit_len);
    size_t base = tu_rss_bytes(), peak = base;
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    int rv = wsr_send(fd, prefix, strlen(prefix), deadline);
    for (size_t sent = 0; rv == 0 && sent < count; sent += BATCH) {
        size_t n = count - sent < BATCH ? count - sent : BATCH;
        rv = wsr_send(fd, batch, n * unit_len, deadline);
        size_t now = tu_rss_bytes();
        peak = now > peak ? now : peak;
    }
    free(batch);
    return peak - base;
}

static void test_bad_handshake(void **state)
{
    bad_kind kind = (bad_kind)(intptr_t)*state;
    /* Short, so a server that waits for more of a broken request closes it soon anyway. */
    lopts o = {.handshake_ms = 2000};
    server s;
    server_open(&s, &o, true);
    int fd = wsr_connect(s.port, 0);
    assert_true(fd >= 0);
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    wsr_request r = good_req;
    const char *what = "";
    switch (kind) {
    case BAD_NO_KEY:
        what = "no Sec-WebSocket-Key";
        r.key = "";
        assert_int_equal(wsr_send_request(fd, s.port, &r, deadline), 0);
        break;
    case BAD_VERSION_8:
        what = "Sec-WebSocket-Version: 8";
        r.version = "8";
        assert_int_equal(wsr_send_request(fd, s.port, &r, deadline), 0);
        break;
    case BAD_MANY_HEADERS: {
        what = "10,000 header lines";
        char prefix[256], line[HEADER_LINE_LEN + 1];
        snprintf(prefix, sizeof prefix,
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\n", WS_PATH, s.port);
        memset(line, 'v', HEADER_LINE_LEN);
        memcpy(line, "X-Junk: ", 8);
        memcpy(line + HEADER_LINE_LEN - 2, "\r\n", 2);
        line[HEADER_LINE_LEN] = '\0';
        size_t growth = send_repeated(fd, prefix, line, MANY_HEADER_LINES);
        (void)wsr_send(fd, "\r\n", 2, deadline);
        if (growth > HEADERS_RSS_BOUND)
            fail_msg("RSS grew by %zu bytes during the headers, bound %zu", growth,
                     HEADERS_RSS_BOUND);
        break;
    }
    case BAD_GARBAGE: {
        what = "garbage";
        uint8_t junk[4096];
        tu_fill(junk, sizeof junk, 0xbadbad);
        junk[0] = 0xff; /* never a letter: no HTTP method starts so */
        (void)wsr_send(fd, junk, sizeof junk, deadline);
        break;
    }
    case BAD_ENDLESS_LINE: {
        what = "a request line with no end";
        char unit[1025];
        memset(unit, 'a', sizeof unit - 1);
        unit[sizeof unit - 1] = '\0';
        (void)send_repeated(fd, "GET /", unit, ENDLESS_LINE_BYTES / (sizeof unit - 1));
        break;
    }
    }
    expect_refused(fd, what);
    close(fd);
    server_expect_serving(&s, 0);
    server_close(&s);
}

/* ---- b. frames after a good handshake ---- */

typedef enum frame_kind { FRAME_TEXT, FRAME_TOO_BIG, FRAME_FLOOD } frame_kind;

/* A binary message announced with FIN=0, then one-byte continuation frames without end. Stops
 * once the server has answered (its close frame) or ended the connection; returns the peak
 * RSS growth meanwhile. */
static size_t flood(int fd)
{
    enum { FRAME_LEN = 7 }; /* 2 header bytes, 4 mask bytes, 1 payload byte */
    uint8_t *batch = malloc((size_t)FLOOD_BATCH * FRAME_LEN);
    assert_non_null(batch);
    for (size_t i = 0; i < FLOOD_BATCH; i++)
        assert_int_equal(wsr_frame_encode(batch + i * FRAME_LEN, FRAME_LEN, WSR_OP_CONT, "f", 1),
                         FRAME_LEN);
    int64_t deadline = tu_deadline_in(4 * TU_DEADLINE_MS);
    size_t base = tu_rss_bytes(), peak = base, sent = 1;
    int rv = wsr_send_frame(fd, WSR_OP_BINARY, "f", 1, deadline);
    for (; rv == 0 && sent < FLOOD_FRAMES && !wsr_readable(fd); sent += FLOOD_BATCH) {
        rv = wsr_send(fd, batch, (size_t)FLOOD_BATCH * FRAME_LEN, deadline);
        size_t now = tu_rss_bytes();
        peak = now > peak ? now : peak;
    }
    free(batch);
    if (rv == WSR_TIMEOUT)
        fail_msg("the server neither read the flood nor closed it");
    print_message("flood: %zu frames written, peak RSS growth %zu bytes (bound %zu)\n", sent,
                  peak - base, FLOOD_RSS_BOUND);
    return peak - base;
}

static void test_frames(void **state)
{
    frame_kind kind = (frame_kind)(intptr_t)*state;
    lopts o = {.recv_max = RECV_MAX};
    server s;
    server_open(&s, &o, true);
    int fd = raw_open(&s);
    assert_true(tu_wait_added(s.w, 2, TU_DEADLINE_MS));
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    int want = 1009;
    switch (kind) {
    case FRAME_TEXT:
        want = 1003;
        assert_int_equal(wsr_send_frame(fd, WSR_FIN | WSR_OP_TEXT, "hi", 2, deadline), 0);
        break;
    case FRAME_TOO_BIG: {
        uint8_t big[RECV_MAX + 1];
        memset(big, 'x', sizeof big);
        (void)wsr_send_frame(fd, WSR_FIN | WSR_OP_BINARY, big, sizeof big, deadline);
        break;
    }
    case FRAME_FLOOD: {
        size_t growth = flood(fd);
        if (growth > FLOOD_RSS_BOUND)
            fail_msg("RSS grew by %zu bytes during the flood, bound %zu", growth, FLOOD_RSS_BOUND);
        break;
    }
    }
    int code = -1;
    if (wsr_wait_end(fd, tu_deadline_in(TU_DEADLINE_MS), &code) != WSR_CLOSED)
        fail_msg("the connection is still open %d ms later (close code %d)", TU_DEADLINE_MS, code);
    if (code != want)
        fail_msg("close code %d, want %d (-1: the connection ended without a close frame)", code,
                 want);
    close(fd);
    if (want == 1009)
        assert_true(tu_stat_wait_at_least(s.rep, MSOCK_STAT_DROPS_TOO_LARGE, 1, TU_DEADLINE_MS));
    server_expect_serving(&s, 1);
    server_close(&s);
}

/* ---- c. a subscriber that talks to its PUB ---- */

static void recv_text(msock_socket s, const char *want)
{
    char buf[64];
    size_t len = sizeof buf;
    TU_OK(msock_recv(s, buf, &len, 0));
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
}

static msock_socket sub_dial(const char *url)
{
    msock_socket sub = tu_socket_bounded(msock_sub_open);
    TU_OK(msock_sub_subscribe(sub, "", 0));
    TU_OK(msock_dial(sub, url, NULL, 0));
    return sub;
}

static void test_sub_sends(void **state)
{
    (void)state;
    msock_socket pub = tu_socket_bounded(msock_pub_open);
    tu_waiter *w = tu_waiter_attach(pub);
    msock_listener l;
    char url[TU_URL_MAX];
    int port = listen_ws(pub, "/pub", NULL, &l, url, sizeof url);
    msock_socket subs[3] = {sub_dial(url), sub_dial(url)};
    assert_true(tu_wait_added(w, 2, TU_DEADLINE_MS));

    const wsr_request r = {.path = "/pub", .proto = "pub.sp.nanomsg.org"};
    int fd = -1;
    assert_int_equal(wsr_upgrade(port, &r, &fd), 101);
    assert_true(tu_wait_added(w, 3, TU_DEADLINE_MS));
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    for (int i = 0; i < 3; i++)
        (void)wsr_send_frame(fd, WSR_FIN | WSR_OP_BINARY, "talking back", 12, deadline);
    if (wsr_wait_end(fd, tu_deadline_in(TU_DEADLINE_MS), NULL) != WSR_CLOSED)
        fail_msg("PUB kept a subscriber that sends messages");
    close(fd);
    if (!tu_stat_wait_at_least(pub, MSOCK_STAT_DROPS_MALFORMED, 1, TU_DEADLINE_MS))
        fail_msg("PUB did not count the messages (%s is %llu)",
                 msock_stat_name(MSOCK_STAT_DROPS_MALFORMED),
                 (unsigned long long)tu_stat(pub, MSOCK_STAT_DROPS_MALFORMED));
    assert_true(tu_wait_removed(w, 1, TU_DEADLINE_MS));

    /* The others keep receiving, and a new one is served at once. */
    TU_OK(msock_send(pub, "after", 5, 0));
    recv_text(subs[0], "after");
    recv_text(subs[1], "after");
    subs[2] = sub_dial(url);
    assert_true(tu_wait_added(w, 4, TU_DEADLINE_MS));
    TU_OK(msock_send(pub, "fresh", 5, 0));
    for (int i = 0; i < 3; i++)
        recv_text(subs[i], "fresh");
    assert_int_equal(tu_waiter_removed(w), 1);
    for (int i = 0; i < 3; i++)
        TU_OK(msock_close(subs[i]));
    TU_OK(msock_close(pub));
    tu_waiter_free(w);
}

/* ---- d. allowed Origins ---- */

/* The status a handshake with this Origin header gets (NULL: none); a 101 connection is kept
 * open in *fd_out (or closed when fd_out is NULL). */
static int origin_handshake(const server *s, const char *origin, int *fd_out)
{
    char extra[256] = "";
    if (origin)
        snprintf(extra, sizeof extra, "Origin: %s\r\n", origin);
    wsr_request r = good_req;
    r.extra = extra;
    return wsr_upgrade(s->port, &r, fd_out);
}

static void test_origins(void **state)
{
    (void)state;
    lopts o = {.origins = "http://good.example,http://other.example"};
    server s;
    /* The bystander is a libmsock dialer: it sends no Origin, so the list lets it in. */
    server_open(&s, &o, true);
    assert_int_equal(origin_handshake(&s, "http://evil.example", NULL), 403);
    int fds[3] = {-1, -1, -1};
    assert_int_equal(origin_handshake(&s, "http://good.example", &fds[0]), 101);
    assert_int_equal(origin_handshake(&s, "http://other.example", &fds[1]), 101);
    assert_int_equal(origin_handshake(&s, NULL, &fds[2]), 101);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    server_expect_serving(&s, 3);
    server_close(&s);

    /* By default any Origin is welcome. */
    server_open(&s, NULL, true);
    assert_int_equal(origin_handshake(&s, "http://evil.example", &fds[0]), 101);
    close(fds[0]);
    server_expect_serving(&s, 1);
    server_close(&s);
}

/* ---- e. connection limit ---- */

static void test_max_conns(void **state)
{
    (void)state;
    lopts o = {.max_conns = 2};
    server s;
    server_open(&s, &o, false);
    int a = raw_open(&s), b = raw_open(&s), c = -1;
    assert_true(tu_wait_added(s.w, 2, TU_DEADLINE_MS));
    int status = wsr_upgrade(s.port, &good_req, &c);
    print_message("a third connection: %d\n", status);
    if (status != 503 && status != WSR_CLOSED) {
        if (c >= 0)
            close(c);
        fail_msg("a third connection over MSOCK_OPT_MAX_CONNS 2 got %d, want 503 or a close",
                 status);
    }
    /* A slot frees when a connection goes. */
    close(a);
    assert_true(tu_wait_removed(s.w, 1, TU_DEADLINE_MS));
    c = raw_open(&s);
    close(b);
    close(c);
    server_expect_serving(&s, 3);
    server_close(&s);
}

/* ---- f. ping keepalive ---- */

/* Reads the server's frames for up to ms, answering each ping with a masked pong carrying the
 * same payload when `answer`. Returns WSR_CLOSED once the server ended the connection (*ended:
 * ms since the call) or WSR_TIMEOUT if it is still open; *pings counts pings, *others other
 * frames. */
static int watch_pings(int fd, int64_t ms, bool answer, int *pings, int *others, int64_t *ended)
{
    int64_t start = tu_clock_ms(), deadline = tu_deadline_in(ms);
    *pings = *others = 0;
    for (;;) {
        wsr_frame f;
        int rv = wsr_read_frame(fd, &f, deadline);
        if (rv == WSR_CLOSED)
            *ended = tu_clock_ms() - start;
        if (rv != 1)
            return rv;
        if (f.opcode != WSR_OP_PING) {
            (*others)++;
            continue;
        }
        (*pings)++;
        if (answer && wsr_send_frame(fd, WSR_FIN | WSR_OP_PONG, f.data, f.kept, deadline) != 0)
            fail_msg("cannot answer ping %d", *pings);
    }
}

static const lopts ping_opts = {
    .ping_set = true, .ping_interval_ms = PING_INTERVAL_MS, .ping_timeout_ms = PING_TIMEOUT_MS};

static void test_ping_unanswered(void **state)
{
    (void)state;
    server s;
    server_open(&s, &ping_opts, true);
    int fd = raw_open(&s);
    int pings = 0, others = 0;
    int64_t ended = -1;
    int rv = watch_pings(fd, CLOSE_BOUND_MS, false, &pings, &others, &ended);
    close(fd);
    if (rv != WSR_CLOSED)
        fail_msg("a peer that never answers pings is still open after %d ms (%d pings)",
                 CLOSE_BOUND_MS, pings);
    if (pings < 1)
        fail_msg("closed after %lld ms without a ping first", (long long)ended);
    print_message("closed %lld ms after the handshake, after %d pings\n", (long long)ended, pings);
    if (ended < PING_NOT_BEFORE_MS)
        fail_msg("closed after %lld ms, before interval %d + timeout %d could pass",
                 (long long)ended, PING_INTERVAL_MS, PING_TIMEOUT_MS);
    /* The bystander, a libmsock dialer, answered its pings all along. */
    server_expect_serving(&s, 1);
    server_close(&s);
}

static void test_ping_answered(void **state)
{
    (void)state;
    server s;
    server_open(&s, &ping_opts, true);
    int fd = raw_open(&s);
    assert_true(tu_wait_added(s.w, 2, TU_DEADLINE_MS));
    int pings = 0, others = 0;
    int64_t ended = -1;
    int rv = watch_pings(fd, 1500, true, &pings, &others, &ended);
    if (rv != WSR_TIMEOUT)
        fail_msg("a peer that answers every ping was closed after %lld ms (%d pings)",
                 (long long)ended, pings);
    print_message("%d pings answered in 1500 ms\n", pings);
    if (pings < 2)
        fail_msg("%d pings in 1500 ms with a %d ms interval", pings, PING_INTERVAL_MS);
    assert_int_equal(others, 0);
    assert_int_equal(tu_waiter_removed(s.w), 0);
    close(fd);
    server_expect_serving(&s, 1);
    server_close(&s);
}

static void test_ping_off(void **state)
{
    (void)state;
    lopts o = {.ping_set = true, .ping_interval_ms = 0, .ping_timeout_ms = PING_TIMEOUT_MS};
    server s;
    server_open(&s, &o, true);
    int fd = raw_open(&s);
    int pings = 0, others = 0;
    int64_t ended = -1;
    assert_int_equal(watch_pings(fd, 1000, true, &pings, &others, &ended), WSR_TIMEOUT);
    assert_int_equal(pings, 0);
    assert_int_equal(others, 0);
    close(fd);
    server_expect_serving(&s, 1);
    server_close(&s);
}

/* Two libmsock ends that ping each other often stay connected while idle: lws answers pings by
 * itself. */
static void test_ping_libmsock_pair(void **state)
{
    (void)state;
    msock_socket rep = tu_socket_bounded(msock_rep_open), req = tu_socket_bounded(msock_req_open);
    msock_socket both[2] = {rep, req};
    tu_waiter *w[2];
    for (int i = 0; i < 2; i++) {
        TU_OK(msock_socket_set_ms(both[i], MSOCK_OPT_WS_PING_INTERVAL, 100));
        TU_OK(msock_socket_set_ms(both[i], MSOCK_OPT_WS_PING_TIMEOUT, 300));
        w[i] = tu_waiter_attach(both[i]);
    }
    msock_listener l;
    char url[TU_URL_MAX];
    listen_ws(rep, WS_PATH, NULL, &l, url, sizeof url);
    TU_OK(msock_dial(req, url, NULL, 0));
    round_trip(req, rep, 0x91);
    msock_pipe first[2];
    for (int i = 0; i < 2; i++) {
        assert_true(tu_wait_added(w[i], 1, TU_DEADLINE_MS));
        first[i] = tu_waiter_last_added(w[i]);
    }
    /* Idle: the time over which the pings must keep the connection up, not a wait for it. */
    tu_sleep_ms(1000);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tu_waiter_removed(w[i]), 0);
        assert_int_equal(tu_waiter_added(w[i]), 1);
        assert_int_equal(msock_pipe_id(tu_waiter_last_added(w[i])), msock_pipe_id(first[i]));
    }
    round_trip(req, rep, 0x92);
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));
    for (int i = 0; i < 2; i++)
        tu_waiter_free(w[i]);
}

/* ---- g. handshake timeout ---- */

static void test_handshake_timeout(void **state)
{
    const char *sent = *state; /* "" sends nothing */
    lopts o = {.handshake_ms = HANDSHAKE_QUICK_MS};
    server s;
    server_open(&s, &o, true);
    int fd = wsr_connect(s.port, 0);
    assert_true(fd >= 0);
    int64_t start = tu_clock_ms();
    assert_int_equal(wsr_send(fd, sent, strlen(sent), tu_deadline_in(TU_DEADLINE_MS)), 0);
    int rv = wsr_wait_eof(fd, tu_deadline_in(CLOSE_BOUND_MS));
    int64_t took = tu_clock_ms() - start;
    close(fd);
    if (rv != WSR_CLOSED)
        fail_msg("still open %d ms after sending [%s], handshake timeout %d ms", CLOSE_BOUND_MS,
                 sent, HANDSHAKE_QUICK_MS);
    print_message("closed after %lld ms\n", (long long)took);
    if (took < HANDSHAKE_NOT_BEFORE_MS)
        fail_msg("closed after %lld ms, before the %d ms handshake timeout", (long long)took,
                 HANDSHAKE_QUICK_MS);
    server_expect_serving(&s, 0);
    server_close(&s);
}

/* ---- h. close with linger against a peer that stopped reading ---- */

#define LINGER_MS 300
#define CHUNK ((size_t)64 * 1024)
#define MAX_SENDS 2000 /* 128 MB: far more than every queue and buffer on the way */

static void test_linger_stalled_peer(void **state)
{
    (void)state;
    msock_socket push = tu_socket_bounded(msock_push_open);
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_LINGER, LINGER_MS));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_SEND_TIMEOUT, 50));
    tu_waiter *w = tu_waiter_attach(push);
    msock_listener l;
    char url[TU_URL_MAX];
    int port = listen_ws(push, "/push", NULL, &l, url, sizeof url);
    /* A small receive window, so the stall comes after little data. */
    int fd = wsr_connect(port, 4096);
    assert_true(fd >= 0);
    const wsr_request r = {.path = "/push", .proto = "push.sp.nanomsg.org"};
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    assert_int_equal(wsr_send_request(fd, port, &r, deadline), 0);
    assert_int_equal(wsr_read_head(fd, NULL, 0, deadline), 101);
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));

    uint8_t *chunk = malloc(CHUNK);
    assert_non_null(chunk);
    tu_fill(chunk, CHUNK, 0x11);
    int rc = 0, sends = 0;
    while (sends < MAX_SENDS && (rc = msock_send(push, chunk, CHUNK, 0)) == 0)
        sends++;
    free(chunk);
    if (rc != MSOCK_ETIMEDOUT)
        fail_msg("send %d to a peer that never reads: %s, want MSOCK_ETIMEDOUT", sends,
                 tu_errname(rc));

    int64_t start = tu_clock_ms();
    TU_OK(msock_close(push));
    int64_t took = tu_clock_ms() - start;
    if (took > LINGER_MS + 3000)
        fail_msg("msock_close took %lld ms with linger %d ms", (long long)took, LINGER_MS);
    int64_t closing = tu_clock_ms();
    /* The peer reads at last: what was on the way, then the end. */
    if (wsr_wait_end(fd, tu_deadline_in(CLOSE_BOUND_MS), NULL) != WSR_CLOSED)
        fail_msg("the stalled connection is still open %d ms after msock_close", CLOSE_BOUND_MS);
    print_message("%d sends; msock_close took %lld ms; the end reached the peer %lld ms later\n",
                  sends, (long long)took, (long long)(tu_clock_ms() - closing));
    close(fd);
    tu_waiter_free(w);
}

/* ---- i. static files on the listener's port ---- */

static const char index_html[] = "<!doctype html><title>msock</title><p>index page</p>\n";
static const char app_js[] = "console.log('msock app');\n";

#define NOT_200 (-200) /* expect_get: any answer but 200 (a close too), never a hang */

/* GETs path and checks the status (and the body, when given). Nothing may ever serve
 * /etc/passwd. */
static void expect_get(int port, const char *path, int want, const char *body)
{
    wsr_http_reply r;
    wsr_http_get(port, path, &r, tu_deadline_in(TU_DEADLINE_MS));
    if (r.body && strstr((const char *)r.body, "root:"))
        fail_msg("GET %s served /etc/passwd", path);
    bool ok = want == NOT_200 ? r.status != 200 && r.status != WSR_TIMEOUT : r.status == want;
    if (!ok)
        fail_msg("GET %s: got %d [%s], want %s%d", path, r.status, r.head,
                 want == NOT_200 ? "anything but " : "", want == NOT_200 ? 200 : want);
    if (body) {
        assert_int_equal(r.body_len, strlen(body));
        assert_memory_equal(r.body, body, r.body_len);
    }
    if (strcmp(path, "/app.js") == 0 && !strstr(r.content_type, "javascript"))
        fail_msg("GET /app.js: Content-Type [%s], want a JavaScript type", r.content_type);
    wsr_http_reply_free(&r);
}

static void test_http_dir(void **state)
{
    (void)state;
    char dir[256], path[300];
    tu_tmp_path(dir, sizeof dir, "www");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/index.html", dir);
    tu_write_file(path, index_html, strlen(index_html));
    snprintf(path, sizeof path, "%s/app.js", dir);
    tu_write_file(path, app_js, strlen(app_js));

    lopts o = {.http_dir = dir};
    server s;
    server_open(&s, &o, true);
    expect_get(s.port, "/", 200, index_html);
    expect_get(s.port, "/app.js", 200, app_js);
    expect_get(s.port, "/missing.html", 404, NULL);
    expect_get(s.port, "/../../etc/passwd", NOT_200, NULL);
    expect_get(s.port, "/%2e%2e/%2e%2e/etc/passwd", NOT_200, NULL);
    expect_get(s.port, "/..%2f..%2fetc%2fpasswd", NOT_200, NULL);
    /* The upgrade on the listener's path still works on the same port. */
    server_expect_serving(&s, 0);
    server_close(&s);

    /* Without the option plain HTTP finds nothing. */
    server_open(&s, NULL, true);
    expect_get(s.port, "/", 404, NULL);
    server_expect_serving(&s, 0);
    server_close(&s);
}

/* ---- j. 5,000 connections held against a limit of 500 ---- */

/* The connections opened and held, the listener's MSOCK_OPT_MAX_CONNS, and the memory the test
 * process (both ends) may gain meanwhile: 64 KiB per kept connection (lws's connection, the
 * pages of its 64 KiB receive buffer that are touched, the pipe) and 8 MiB of slack, as for
 * tcp in test_hostile.c; a refused one may cost nothing once it is gone. */
#define HELD_CONNS 5000
#define HELD_LIMIT 500
#define HELD_FDS (HELD_CONNS + HELD_LIMIT + 200) /* both ends of the kept ones, and some */
#define HELD_RSS_BOUND ((size_t)HELD_LIMIT * 64 * 1024 + (size_t)8 * 1024 * 1024)

/* The memory the process holds. Under AddressSanitizer freed blocks sit in its quarantine (up
 * to 256 MiB), so the RSS grows with every refused connection's freed memory; there the live
 * heap bytes are what the bound is about. */
#if defined(__SANITIZE_ADDRESS__)
#define HELD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HELD_ASAN 1
#endif
#endif
#ifdef HELD_ASAN
/* Declared here: gcc ships no sanitizer/allocator_interface.h, but libasan has the call. */
size_t __sanitizer_get_current_allocated_bytes(void);
#define HELD_MEASURE "live heap"
/* The live heap counts every byte of lws's 64 KiB receive buffers, touched or not, and
 * AddressSanitizer's own allocations: more slack (measured 33.4 MiB for 500 kept). */
#define HELD_BOUND (HELD_RSS_BOUND + (size_t)8 * 1024 * 1024)
static size_t held_memory(void)
{
    return __sanitizer_get_current_allocated_bytes();
}
#else
#define HELD_MEASURE "RSS"
#define HELD_BOUND HELD_RSS_BOUND
static size_t held_memory(void)
{
    return tu_rss_bytes();
}
#endif

/* One raw upgrade that reads its answer: 101 (fd kept in *fd_out), 503, or WSR_CLOSED. */
static int held_upgrade(int port, int *fd_out)
{
    *fd_out = -1;
    int fd = wsr_connect(port, 0);
    if (fd < 0)
        fail_msg("connect: %s (descriptors exhausted on our side?)", strerror(errno));
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    int status = wsr_send_request(fd, port, &good_req, deadline);
    if (status == 0)
        status = wsr_read_head(fd, NULL, 0, deadline);
    if (status == 101)
        *fd_out = fd;
    else
        close(fd);
    return status;
}

static void test_held_connections(void **state)
{
    (void)state;
    int conns = HELD_CONNS;
    size_t limit = tu_raise_fd_limit(HELD_FDS);
    if (limit < HELD_FDS) {
        conns = (int)(limit > 2 * HELD_LIMIT + 200 ? limit - HELD_LIMIT - 200 : HELD_LIMIT + 10);
        print_message("descriptor limit %zu: holding %d connections instead of %d\n", limit,
                      conns, HELD_CONNS);
    }
    lopts o = {.max_conns = HELD_LIMIT};
    server s;
    server_open(&s, &o, false);
    static int fds[HELD_CONNS]; /* static: nothing to free when a check fails */
    size_t base = held_memory(), peak = base;
    int kept = 0, refused = 0;
    for (int i = 0; i < conns; i++) {
        int status = held_upgrade(s.port, &fds[i]);
        if (status == 101)
            kept++;
        else if (status == 503 || status == WSR_CLOSED)
            refused++;
        else
            fail_msg("connection %d got %d, want 101, 503 or a close", i, status);
        if (i % 250 == 0) {
            size_t now = held_memory();
            peak = now > peak ? now : peak;
        }
    }
    if (!tu_wait_added(s.w, HELD_LIMIT, TU_DEADLINE_MS))
        fail_msg("%d pipes, want %d", tu_waiter_added(s.w), HELD_LIMIT);
    size_t now = held_memory();
    peak = now > peak ? now : peak;
    print_message("%d held, %d refused; %s grew %zu KiB (bound %zu KiB)\n", kept, refused,
                  HELD_MEASURE, (peak - base) / 1024, HELD_BOUND / 1024);
    assert_int_equal(kept, HELD_LIMIT);
    assert_int_equal(refused, conns - HELD_LIMIT);
    if (peak - base > HELD_BOUND)
        fail_msg("memory grew by %zu bytes, bound %zu", peak - base, HELD_BOUND);
    /* The held ones keep their places: still one over the limit is refused. */
    int extra = -1;
    int status = held_upgrade(s.port, &extra);
    if (extra >= 0)
        close(extra);
    if (status != 503 && status != WSR_CLOSED)
        fail_msg("a connection over the full limit got %d", status);

    for (int i = 0; i < conns; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    /* Their places free as they go: a libmsock dialer is served at once. */
    server_expect_serving(&s, HELD_LIMIT);
    server_close(&s);
}

/* ---- k. a frame announcing 2^63 bytes or more ---- */

typedef enum huge_kind { HUGE_2_63, HUGE_2_64_MINUS_1, HUGE_2_63_MINUS_1 } huge_kind;

/* Under 1 MiB of growth: the server may keep at most RECV_MAX of a message, whatever the frame
 * claims. */
#define HUGE_RSS_BOUND ((size_t)1 << 20)

static void test_huge_length(void **state)
{
    huge_kind kind = (huge_kind)(intptr_t)*state;
    static const uint64_t lengths[] = {UINT64_C(1) << 63, UINT64_MAX, (UINT64_C(1) << 63) - 1};
    lopts o = {.recv_max = RECV_MAX};
    server s;
    server_open(&s, &o, true);
    int fd = raw_open(&s);
    assert_true(tu_wait_added(s.w, 2, TU_DEADLINE_MS));
    /* FIN and binary, masked, the 64-bit length form, a mask key, then some payload. */
    uint8_t frame[14 + 64];
    frame[0] = WSR_FIN | WSR_OP_BINARY;
    frame[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++)
        frame[2 + i] = (uint8_t)(lengths[kind] >> (56 - 8 * i));
    memcpy(frame + 10, "\x12\x34\x56\x78", 4);
    tu_fill(frame + 14, 64, 0x63);
    size_t base = tu_rss_bytes();
    (void)wsr_send(fd, frame, sizeof frame, tu_deadline_in(TU_DEADLINE_MS));
    int code = -1;
    if (wsr_wait_end(fd, tu_deadline_in(TU_DEADLINE_MS), &code) != WSR_CLOSED)
        fail_msg("still open %d ms after a frame of %llu bytes was announced", TU_DEADLINE_MS,
                 (unsigned long long)lengths[kind]);
    size_t now = tu_rss_bytes(), growth = now > base ? now - base : 0;
    print_message("length %llu: closed with code %d (-1: none); RSS grew %zu KiB (bound %zu)\n",
                  (unsigned long long)lengths[kind], code, growth / 1024, HUGE_RSS_BOUND / 1024);
    close(fd);
    /* lws refuses a length with its top bit set itself (RFC 6455 §5.2) and may end the
     * connection without a close frame; a length it takes is over our max: 1009. */
    if (kind == HUGE_2_63_MINUS_1 ? code != 1009 : code != 1009 && code != 1002 && code != -1)
        fail_msg("close code %d", code);
    if (growth > HUGE_RSS_BOUND)
        fail_msg("RSS grew by %zu bytes, bound %zu", growth, HUGE_RSS_BOUND);
    server_expect_serving(&s, 1);
    server_close(&s);
}

/* ---- l. a PULL peer that completes the upgrade and never reads ---- */

/* As test_hostile.c's stuck reader: 1 KiB messages into a 256 KiB send queue; the RSS may grow
 * by the queue four times over plus 8 MiB (lws's partial write, kernel-side nothing). */
#define STUCK_MSG 1024
#define STUCK_QUEUE_BYTES ((size_t)256 * 1024)
#define STUCK_RSS_BOUND (STUCK_QUEUE_BYTES * 4 + (size_t)8 * 1024 * 1024)
#define STUCK_MAX_SENDS 100000 /* far more than the queue and the buffers hold */

static void test_stuck_reader(void **state)
{
    (void)state;
    msock_socket push = tu_socket_bounded(msock_push_open);
    TU_OK(msock_socket_set_size(push, MSOCK_OPT_SEND_QUEUE_BYTES, STUCK_QUEUE_BYTES));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_SEND_TIMEOUT, 200));
    tu_waiter *w = tu_waiter_attach(push);
    msock_listener l;
    char url[TU_URL_MAX];
    int port = listen_ws(push, "/push", NULL, &l, url, sizeof url);
    int fd = wsr_connect(port, 4096); /* a small window: the stall comes soon */
    assert_true(fd >= 0);
    const wsr_request r = {.path = "/push", .proto = "push.sp.nanomsg.org"};
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    assert_int_equal(wsr_send_request(fd, port, &r, deadline), 0);
    assert_int_equal(wsr_read_head(fd, NULL, 0, deadline), 101);
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));

    uint8_t msg[STUCK_MSG];
    tu_fill(msg, sizeof msg, 7);
    size_t base = tu_rss_bytes(), peak = base;
    int rc = 0, sent = 0;
    while (sent < STUCK_MAX_SENDS && (rc = msock_send(push, msg, sizeof msg, 0)) == 0) {
        if (++sent % 256 == 0) {
            size_t now = tu_rss_bytes();
            peak = now > peak ? now : peak;
        }
    }
    size_t now = tu_rss_bytes();
    peak = now > peak ? now : peak;
    print_message("%d messages went out before the send blocked; RSS grew %zu KiB (bound %zu)\n",
                  sent, (peak - base) / 1024, STUCK_RSS_BOUND / 1024);
    TU_EXPECT_RC(MSOCK_ETIMEDOUT, rc);
    assert_true(sent < STUCK_MAX_SENDS);
    if (peak - base > STUCK_RSS_BOUND)
        fail_msg("RSS grew by %zu bytes, bound %zu", peak - base, STUCK_RSS_BOUND);
    assert_int_equal(tu_waiter_removed(w), 0); /* blocked, not dropped */

    /* A puller that reads is served at once, past the stuck one. */
    msock_socket pull = tu_socket_bounded(msock_pull_open);
    TU_OK(msock_dial(pull, url, NULL, 0));
    assert_true(tu_wait_added(w, 2, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_send(push, "fresh", 5, 0));
    char buf[STUCK_MSG];
    size_t len;
    int got = 0;
    do { /* the stuck pipe's queue is not its: only "fresh" can come, once */
        len = sizeof buf;
        TU_OK(msock_recv(pull, buf, &len, 0));
        got++;
    } while (len != 5 && got < 10);
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "fresh", 5);
    close(fd);
    TU_OK(msock_close(pull));
    TU_OK(msock_socket_set_ms(push, MSOCK_OPT_LINGER, 0));
    TU_OK(msock_close(push));
    tu_waiter_free(w);
}

/* ---- m. random bytes after a good handshake ---- */

#define JUNK_BATCH 4096
#define JUNK_MAX_BYTES ((size_t)8 << 20) /* far past RECV_MAX and every frame's header */

/* Writes random bytes until the server answers with a close frame or ends the connection
 * (pongs to pings in the junk are read and passed over); returns the close code, or -1. */
static int junk_until_closed(int fd, uint32_t seed)
{
    uint8_t junk[JUNK_BATCH];
    int64_t deadline = tu_deadline_in(4 * TU_DEADLINE_MS);
    size_t sent = 0;
    int code = -1;
    while (sent < JUNK_MAX_BYTES) {
        while (wsr_readable(fd)) {
            wsr_frame f;
            int rv = wsr_read_frame(fd, &f, deadline);
            if (rv == WSR_CLOSED)
                return code;
            if (rv == 1 && f.opcode == WSR_OP_CLOSE) {
                code = wsr_close_code(&f);
                (void)wsr_wait_end(fd, tu_deadline_in(TU_DEADLINE_MS), NULL);
                return code;
            }
        }
        tu_fill(junk, sizeof junk, seed + (uint32_t)sent);
        int rv = wsr_send(fd, junk, sizeof junk, deadline);
        if (rv == WSR_CLOSED)
            return code;
        if (rv == WSR_TIMEOUT && !wsr_readable(fd))
            fail_msg("the server neither read the junk nor closed (%zu bytes sent)", sent);
        sent += sizeof junk;
    }
    fail_msg("%zu bytes of junk and the connection is still open", sent);
    return code;
}

static void test_junk_frames(void **state)
{
    uint32_t seed = (uint32_t)(intptr_t)*state;
    lopts o = {.recv_max = RECV_MAX};
    server s;
    server_open(&s, &o, true);
    int fd = raw_open(&s);
    assert_true(tu_wait_added(s.w, 2, TU_DEADLINE_MS));
    int code = junk_until_closed(fd, seed);
    print_message("junk (seed %#x): closed with code %d (-1: none)\n", seed, code);
    (void)wsr_wait_eof(fd, tu_deadline_in(TU_DEADLINE_MS));
    close(fd);
    server_expect_serving(&s, 1);
    server_close(&s);
}

/* ---- n. a message in empty fragments (legal, if odd) ---- */

/* Empty frames make one empty message; a message's last fragment may be empty too. */
static void test_empty_fragments(void **state)
{
    (void)state;
    msock_socket pull = tu_socket_bounded(msock_pull_open);
    TU_OK(msock_socket_set_ms(pull, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS));
    tu_waiter *w = tu_waiter_attach(pull);
    msock_listener l;
    char url[TU_URL_MAX];
    int port = listen_ws(pull, "/pull", NULL, &l, url, sizeof url);
    const wsr_request r = {.path = "/pull", .proto = "pull.sp.nanomsg.org"};
    int fd = -1;
    assert_int_equal(wsr_upgrade(port, &r, &fd), 101);
    assert_true(tu_wait_added(w, 1, TU_DEADLINE_MS));
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    assert_int_equal(wsr_send_frame(fd, WSR_OP_BINARY, "", 0, deadline), 0);
    assert_int_equal(wsr_send_frame(fd, WSR_OP_CONT, "", 0, deadline), 0);
    assert_int_equal(wsr_send_frame(fd, WSR_FIN | WSR_OP_CONT, "", 0, deadline), 0);
    assert_int_equal(wsr_send_frame(fd, WSR_OP_BINARY, "ab", 2, deadline), 0);
    assert_int_equal(wsr_send_frame(fd, WSR_FIN | WSR_OP_CONT, "", 0, deadline), 0);
    char buf[8];
    size_t len = sizeof buf;
    TU_OK(msock_recv(pull, buf, &len, 0));
    assert_int_equal(len, 0);
    len = sizeof buf;
    TU_OK(msock_recv(pull, buf, &len, 0));
    assert_int_equal(len, 2);
    assert_memory_equal(buf, "ab", 2);
    assert_false(wsr_readable(fd)); /* not closed */
    assert_int_equal(tu_waiter_removed(w), 0);
    close(fd);
    TU_OK(msock_close(pull));
    tu_waiter_free(w);
}

/* ---- the list ---- */

#define CASE(name, fn, arg) {name, fn, NULL, NULL, (void *)(intptr_t)(arg)}

int main(void)
{
    tu_watchdog(300);
    /* lws sizes its descriptor table from the limit when its context is made (the first ws use):
     * the held connections need it raised before. */
    (void)tu_raise_fd_limit(HELD_FDS);
    const struct CMUnitTest tests[] = {
        CASE("bad_handshake/no_key", test_bad_handshake, BAD_NO_KEY),
        CASE("bad_handshake/version_8", test_bad_handshake, BAD_VERSION_8),
        CASE("bad_handshake/10000_headers", test_bad_handshake, BAD_MANY_HEADERS),
        CASE("bad_handshake/garbage", test_bad_handshake, BAD_GARBAGE),
        CASE("bad_handshake/endless_request_line", test_bad_handshake, BAD_ENDLESS_LINE),
        CASE("frames/text_1003", test_frames, FRAME_TEXT),
        CASE("frames/too_big_1009", test_frames, FRAME_TOO_BIG),
        CASE("frames/fragment_flood_1009", test_frames, FRAME_FLOOD),
        CASE("pub/subscriber_sends", test_sub_sends, NULL),
        CASE("origins", test_origins, NULL),
        CASE("max_conns", test_max_conns, NULL),
        CASE("ping/unanswered_closed", test_ping_unanswered, NULL),
        CASE("ping/answered_stays", test_ping_answered, NULL),
        CASE("ping/interval_0_never", test_ping_off, NULL),
        CASE("ping/libmsock_pair_stays", test_ping_libmsock_pair, NULL),
        CASE("handshake_timeout/silent", test_handshake_timeout, ""),
        CASE("handshake_timeout/half_request_line", test_handshake_timeout, "GET /s"),
        CASE("linger/stalled_peer", test_linger_stalled_peer, NULL),
        CASE("http_dir", test_http_dir, NULL),
        CASE("held_connections/5000_limit_500", test_held_connections, NULL),
        CASE("huge_length/2^63", test_huge_length, HUGE_2_63),
        CASE("huge_length/2^64-1", test_huge_length, HUGE_2_64_MINUS_1),
        CASE("huge_length/2^63-1", test_huge_length, HUGE_2_63_MINUS_1),
        CASE("stuck_reader/push_blocks", test_stuck_reader, NULL),
        CASE("junk_frames/seed_1", test_junk_frames, 0x1),
        CASE("junk_frames/seed_2", test_junk_frames, 0x5eed),
        CASE("junk_frames/seed_3", test_junk_frames, 0xfeedbeef),
        CASE("frames/empty_fragments", test_empty_fragments, NULL),
    };
    /* To run some cases only, e.g. WS_HOSTILE_FILTER='ping*'. */
    const char *only = getenv("WS_HOSTILE_FILTER");
    if (only && *only)
        cmocka_set_test_filter(only);
    int failed = cmocka_run_group_tests_name("ws hostile", tests, NULL, NULL);
    if (failed == 0)
        msock_fini();
    return failed;
}

#endif /* MSOCK_TEST_WS */
