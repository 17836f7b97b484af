/* protoutil.h: header-only helpers of the protocol tests: linked sockets, stats, a raw SP peer,
 * group hubs and clients. */
/* Include it after cmocka.h and testutil.h. */
#ifndef PROTOUTIL_H
#define PROTOUTIL_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

#define PU_MIB ((size_t)1024 * 1024)
/* Receive limit for sockets that carry the near-1-MiB messages plus a protocol header. */
#define PU_BIG_RECV_MAXSZ (2 * PU_MIB)
/* A short window for "nothing arrives": long enough that a wrongly delivered message would
 * usually show, never a bound on how fast anything must happen. */
#define PU_QUIET_MS 300

typedef int (*pu_opener)(msock_socket *s);

/* A socket and the waiter that counts its pipe events. */
typedef struct pu_node {
    msock_socket sock;
    tu_waiter *w;
} pu_node;

/* Bounded waits, so that a library hang fails the test instead of stalling it; quick redials. */
static inline void pu_bound(msock_socket s)
{
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MIN, 10));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MAX, 100));
}

static inline pu_node pu_node_open(pu_opener open_fn)
{
    pu_node n;
    TU_OK(open_fn(&n.sock));
    pu_bound(n.sock);
    n.w = tu_waiter_attach(n.sock);
    return n;
}

static inline pu_node pu_node_raw(int proto)
{
    pu_node n;
    TU_OK(msock_socket_open(&n.sock, proto, MSOCK_OPEN_RAW));
    pu_bound(n.sock);
    n.w = tu_waiter_attach(n.sock);
    return n;
}

static inline void pu_node_close(pu_node *n)
{
    TU_OK(msock_close(n->sock));
    tu_waiter_free(n->w);
    n->w = NULL;
}

/* Listens on a fresh address of t; url gets the bound address. */
static inline void pu_listen(pu_node *n, tu_transport t, char *url, size_t len)
{
    msock_listener l;
    tu_listen_any(n->sock, t, &l, url, len);
}

/* Dials url and waits until both sides have one more pipe than before. */
static inline void pu_dial_wait(pu_node *listener, pu_node *dialer, const char *url)
{
    int l_before = tu_waiter_added(listener->w);
    int d_before = tu_waiter_added(dialer->w);
    msock_dialer d;
    int rc = msock_dial(dialer->sock, url, &d, 0);
    if (rc != 0)
        fail_msg("dial %s: %s", url, tu_errname(rc));
    assert_true(tu_wait_added(listener->w, l_before + 1, TU_DEADLINE_MS));
    assert_true(tu_wait_added(dialer->w, d_before + 1, TU_DEADLINE_MS));
}

/* listener listens on a fresh address of t, dialer dials it; both see the new pipe. */
static inline void pu_link(pu_node *listener, pu_node *dialer, tu_transport t)
{
    char url[TU_URL_MAX];
    pu_listen(listener, t, url, sizeof(url));
    pu_dial_wait(listener, dialer, url);
}

/* ---- messages ---- */

static inline void pu_send(msock_socket s, const void *buf, size_t len)
{
    int rc = msock_send(s, buf, len, 0);
    if (rc != 0)
        fail_msg("send of %zu bytes: %s", len, tu_errname(rc));
}

static inline void pu_send_str(msock_socket s, const char *text)
{
    pu_send(s, text, strlen(text));
}

/* Receives one message and checks that it is exactly want[0..len). */
static inline void pu_recv_expect(msock_socket s, const void *want, size_t len)
{
    size_t cap = len + 64;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    size_t got = cap;
    int rc = msock_recv(s, buf, &got, 0);
    if (rc != 0)
        fail_msg("recv (want %zu bytes): %s", len, tu_errname(rc));
    if (got != len || memcmp(buf, want, len) != 0)
        fail_msg("received %zu bytes \"%.*s\", want %zu bytes \"%.*s\"", got,
                 (int)(got < 40 ? got : 40), (const char *)buf, len, (int)(len < 40 ? len : 40),
                 (const char *)want);
    free(buf);
}

static inline void pu_recv_str(msock_socket s, const char *text)
{
    pu_recv_expect(s, text, strlen(text));
}

/* Fails if a message can be received during window_ms. */
static inline void pu_expect_none(msock_socket s, int64_t window_ms)
{
    int64_t deadline = tu_deadline_in(window_ms);
    for (;;) {
        uint8_t buf[64];
        size_t len = sizeof(buf);
        int rc = msock_recv(s, buf, &len, MSOCK_FLAG_NONBLOCK);
        if (rc == 0)
            fail_msg("an unexpected message of %zu bytes arrived: \"%.*s\"", len,
                     (int)(len < sizeof(buf) ? len : sizeof(buf)), (const char *)buf);
        if (rc != MSOCK_EAGAIN)
            fail_msg("recv while expecting nothing: %s", tu_errname(rc));
        if (tu_deadline_passed(deadline))
            return;
        tu_sleep_ms(5);
    }
}

/* ---- statistics ---- */

static inline uint64_t pu_pipe_stat(msock_pipe p, int stat)
{
    uint64_t value = 0;
    TU_OK(msock_pipe_stat_get(p, stat, &value));
    return value;
}

/* Counters move without an event: polls in short steps until the deadline. */
static inline bool pu_pipe_stat_wait(msock_pipe p, int stat, uint64_t min, int64_t timeout_ms)
{
    int64_t deadline = tu_deadline_in(timeout_ms);
    for (;;) {
        uint64_t value = 0;
        if (msock_pipe_stat_get(p, stat, &value) == 0 && value >= min)
            return true;
        if (tu_deadline_passed(deadline))
            return false;
        tu_sleep_ms(2);
    }
}

/* Waits until a socket counter reaches want, then checks that it is exactly want. */
static inline void pu_expect_stat(msock_socket s, int stat, uint64_t want)
{
    tu_stat_wait_at_least(s, stat, want, TU_DEADLINE_MS);
    uint64_t got = tu_stat(s, stat);
    if (got != want)
        fail_msg("statistic %s is %llu, want %llu", msock_stat_name(stat),
                 (unsigned long long)got, (unsigned long long)want);
}

static inline void pu_expect_pipe_stat(msock_pipe p, int stat, uint64_t want)
{
    pu_pipe_stat_wait(p, stat, want, TU_DEADLINE_MS);
    uint64_t got = pu_pipe_stat(p, stat);
    if (got != want)
        fail_msg("pipe statistic %s is %llu, want %llu", msock_stat_name(stat),
                 (unsigned long long)got, (unsigned long long)want);
}

/* ---- SP words ---- */

static inline void pu_put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static inline uint32_t pu_get32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* ---- a hand-made SP peer on a plain TCP socket (SP-WIRE.md section 1) ---- */

/* What pu_raw_recv_frame returns when no frame came. */
#define PU_FRAME_NONE (-1L)   /* nothing before the deadline */
#define PU_FRAME_CLOSED (-2L) /* the library closed the connection */

/* Connects to a tcp://127.0.0.1:PORT URL. */
static inline int pu_raw_connect(const char *url)
{
    int fd = tu_connect_url(url);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static inline void pu_raw_write(int fd, const void *buf, size_t len)
{
    if (!tu_send_all(fd, buf, len))
        fail_msg("write to the library: %s", errno != 0 ? strerror(errno) : "nothing written");
}

/* Sends our SP header for self_proto and checks the library's one names want_peer. */
static inline void pu_raw_handshake(int fd, int self_proto, int want_peer)
{
    uint8_t mine[8] = {0x00, 'S', 'P', 0x00, (uint8_t)(self_proto >> 8), (uint8_t)self_proto,
                       0x00, 0x00};
    pu_raw_write(fd, mine, sizeof(mine));
    uint8_t theirs[8];
    bool closed;
    size_t got =
        tu_read_until(fd, theirs, sizeof(theirs), tu_deadline_in(TU_DEADLINE_MS), &closed);
    assert_int_equal(got, sizeof(theirs));
    uint8_t want[8] = {0x00, 'S', 'P', 0x00, (uint8_t)(want_peer >> 8), (uint8_t)want_peer,
                       0x00, 0x00};
    assert_memory_equal(theirs, want, sizeof(want));
}

/* Sends one frame: 64-bit big-endian length, then the payload. */
static inline void pu_raw_send_frame(int fd, const void *payload, size_t len)
{
    uint8_t *frame = malloc(8 + len);
    assert_non_null(frame);
    uint64_t n = len;
    for (int i = 7; i >= 0; i--) {
        frame[i] = (uint8_t)n;
        n >>= 8;
    }
    if (len > 0)
        memcpy(frame + 8, payload, len);
    pu_raw_write(fd, frame, 8 + len);
    free(frame);
}

/* Sends a frame made of SP words followed by a body. */
static inline void pu_raw_send_words(int fd, const uint32_t *words, size_t n_words,
                                     const void *body, size_t body_len)
{
    size_t len = 4 * n_words + body_len;
    uint8_t *payload = malloc(len ? len : 1);
    assert_non_null(payload);
    for (size_t i = 0; i < n_words; i++)
        pu_put32(payload + 4 * i, words[i]);
    if (body_len > 0)
        memcpy(payload + 4 * n_words, body, body_len);
    pu_raw_send_frame(fd, payload, len);
    free(payload);
}

/* Reads one frame into buf: returns the payload length, PU_FRAME_NONE or PU_FRAME_CLOSED. A
 * frame larger than cap, or one cut short, fails the test. */
static inline long pu_raw_recv_frame(int fd, uint8_t *buf, size_t cap, int64_t timeout_ms)
{
    int64_t deadline = tu_deadline_in(timeout_ms);
    uint8_t head[8];
    bool closed;
    size_t got = tu_read_until(fd, head, sizeof(head), deadline, &closed);
    if (got == 0)
        return closed ? PU_FRAME_CLOSED : PU_FRAME_NONE;
    if (got < sizeof(head))
        fail_msg("a frame length cut short after %zu bytes", got);
    uint64_t len = 0;
    for (int i = 0; i < 8; i++)
        len = len << 8 | head[i];
    if (len > cap)
        fail_msg("a frame of %llu bytes, more than the %zu expected", (unsigned long long)len, cap);
    /* A started frame gets the full deadline again: it is owed, not optional. */
    got = tu_read_until(fd, buf, (size_t)len, tu_deadline_in(TU_DEADLINE_MS), &closed);
    if (got != len)
        fail_msg("a frame of %llu bytes cut short after %zu", (unsigned long long)len, got);
    return (long)len;
}

/* True once the library closed the connection before the deadline; whatever it still sends
 * is read and dropped. */
static inline bool pu_raw_wait_closed(int fd, int64_t timeout_ms)
{
    int64_t deadline = tu_deadline_in(timeout_ms);
    for (;;) {
        uint8_t buf[4096];
        bool closed;
        size_t got = tu_read_until(fd, buf, sizeof(buf), deadline, &closed);
        if (closed)
            return true;
        if (got < sizeof(buf) && tu_deadline_passed(deadline))
            return false;
    }
}

/* True while the connection is open: no end of stream is pending. */
static inline bool pu_raw_is_open(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) <= 0)
        return true;
    if (pfd.revents & (POLLHUP | POLLERR))
        return false;
    uint8_t byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
}

/* ---- the group pattern ---- */

/* Hubs in tests hash passwords with the fewest PBKDF2 rounds allowed: the default 100,000 costs
 * tens of milliseconds per create and join, too slow for tests that make hundreds. */
#define PU_GROUP_FAST_KDF 1000
#define PU_MEMBER_PW "member pw"
#define PU_MASTER_PW "master pw"

/* A group hub with fast password hashing and bounded waits. */
static inline pu_node pu_hub_open(void)
{
    pu_node hub = pu_node_open(msock_group_hub_open);
    TU_OK(msock_socket_set_int(hub.sock, MSOCK_OPT_GROUP_KDF_ITERATIONS, PU_GROUP_FAST_KDF));
    return hub;
}

/* A group client whose calls and receives wait at most TU_DEADLINE_MS, dialed to a hub at url
 * (a blocking dial: it returns once connected). */
static inline msock_socket pu_group_client(const char *url)
{
    msock_socket s = tu_socket_bounded(msock_group_open);
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_GROUP_TIMEOUT, TU_DEADLINE_MS));
    int rc = msock_dial(s, url, NULL, 0);
    if (rc != 0)
        fail_msg("group client dialing %s: %s", url, tu_errname(rc));
    return s;
}

/* Creates the group `name` (a C string) with PU_MEMBER_PW and PU_MASTER_PW. */
static inline void pu_group_create(msock_socket s, const char *name, uint32_t capacity)
{
    TU_OK(msock_group_create(s, name, strlen(name), PU_MEMBER_PW, strlen(PU_MEMBER_PW),
                             PU_MASTER_PW, strlen(PU_MASTER_PW), capacity));
}

/* Joins `name` with the right password for role; returns the group's id (never 0). */
static inline uint32_t pu_group_join(msock_socket s, const char *name, int role)
{
    const char *pw = role == MSOCK_GROUP_MASTER ? PU_MASTER_PW : PU_MEMBER_PW;
    uint32_t group = 0;
    int rc = msock_group_join(s, name, strlen(name), pw, strlen(pw), role, &group);
    if (rc != 0)
        fail_msg("join \"%s\" as %s: %s", name, role == MSOCK_GROUP_MASTER ? "master" : "member",
                 tu_errname(rc));
    assert_true(group != 0);
    return group;
}

static inline uint64_t pu_group_whoami(msock_socket s)
{
    uint64_t id = 0;
    TU_OK(msock_group_whoami(s, &id));
    assert_true(id != 0);
    return id;
}

static inline const char *pu_group_kind_name(int kind)
{
    static const char *const names[] = {"DATA",          "RELAYED",     "EV_JOINED",
                                        "EV_LEFT",       "EV_MASTER_JOINED",
                                        "EV_MASTER_LEFT", "EV_DELETED", "EV_UNDELIVERED",
                                        "EV_DISCONNECTED"};
    return kind >= 0 && kind < (int)(sizeof(names) / sizeof(names[0])) ? names[kind] : "?";
}

/* Receives one message and checks what it is: kind, group, from, error and the body (an event's
 * body is empty: pass NULL, 0). */
static inline void pu_group_expect_rx(msock_socket s, int kind, uint32_t group, uint64_t from,
                                      int error, const void *body, size_t len)
{
    size_t cap = len + 64;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    size_t got = cap;
    msock_group_rx rx;
    memset(&rx, 0xAB, sizeof(rx));
    int rc = msock_group_recv(s, &rx, buf, &got, 0);
    if (rc != 0)
        fail_msg("group recv (want %s in group %u from %llu): %s", pu_group_kind_name(kind),
                 (unsigned)group, (unsigned long long)from, tu_errname(rc));
    if (rx.kind != kind || rx.group != group || rx.from != from || rx.error != error)
        fail_msg("received %s group %u from %llu error %s (%zu bytes), want %s group %u from "
                 "%llu error %s",
                 pu_group_kind_name(rx.kind), (unsigned)rx.group, (unsigned long long)rx.from,
                 tu_errname(rx.error), got, pu_group_kind_name(kind), (unsigned)group,
                 (unsigned long long)from, tu_errname(error));
    if (got != len || (len > 0 && memcmp(buf, body, len) != 0))
        fail_msg("%s body of %zu bytes \"%.*s\", want %zu bytes \"%.*s\"",
                 pu_group_kind_name(kind), got, (int)(got < 40 ? got : 40), (const char *)buf,
                 len, (int)(len < 40 ? len : 40), (const char *)body);
    free(buf);
}

static inline void pu_group_expect_data(msock_socket s, uint32_t group, uint64_t from,
                                        const char *text)
{
    pu_group_expect_rx(s, MSOCK_GROUP_DATA, group, from, 0, text, strlen(text));
}

static inline void pu_group_expect_event(msock_socket s, int kind, uint32_t group, uint64_t who)
{
    pu_group_expect_rx(s, kind, group, who, 0, NULL, 0);
}

/* Fails if anything (data or event) can be received during window_ms. */
static inline void pu_group_expect_none(msock_socket s, int64_t window_ms)
{
    int64_t deadline = tu_deadline_in(window_ms);
    for (;;) {
        uint8_t buf[64];
        size_t len = sizeof(buf);
        msock_group_rx rx;
        int rc = msock_group_recv(s, &rx, buf, &len, MSOCK_FLAG_NONBLOCK);
        if (rc == 0)
            fail_msg("unexpected %s in group %u from %llu (%zu bytes)",
                     pu_group_kind_name(rx.kind), (unsigned)rx.group,
                     (unsigned long long)rx.from, len);
        if (rc != MSOCK_EAGAIN)
            fail_msg("group recv while expecting nothing: %s", tu_errname(rc));
        if (tu_deadline_passed(deadline))
            return;
        tu_sleep_ms(5);
    }
}

static inline void pu_group_send_str(msock_socket s, uint32_t group, uint64_t to,
                                     const char *text)
{
    int rc = msock_group_send(s, group, to, text, strlen(text), 0);
    if (rc != 0)
        fail_msg("group send \"%s\" to group %u, member %llu: %s", text, (unsigned)group,
                 (unsigned long long)to, tu_errname(rc));
}

#endif
