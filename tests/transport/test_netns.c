/* test_netns.c: two network namespaces joined by a veth pair carry PUSH/PULL and REQ/REP over
 * tcp while the link goes down and up, then loses 10% of its packets both ways: with netem
 * (and 50 ms delay) where the kernel has it, else with an nftables rule (no delay). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* The test binary runs itself with this first argument to play one end inside a namespace: a
 * fresh process, so it enters the namespace before the library starts any thread. */
#define PEER_FLAG "--netns-peer"
#define SUBNET "10.201.7"
#define STREAM_MSGS 20000
#define STREAM_MSG_LEN 16
/* 8 messages then 2 ms: the stream lasts at least 5 s, long enough to span every fault. */
#define STREAM_BATCH 8
#define STREAM_PAUSE_MS 2
#define REQUESTS 300
#define REQUEST_PAUSE_MS 10
#define REQ_RESEND_MS 500
#define FAULT_START_MS 300
#define LINK_DOWN_MS 1000
#define NETEM_MS 1500
/* A peer process gives up after this, so a hang costs a bounded time. */
#define PEER_BUDGET_MS 25000
/* The puller stops this long after the last message when the stream's end was lost. */
#define PULL_IDLE_END_MS 8000
#define PEER_WAIT_MS 30000
#define MAX_PIPES 64

static char ns_a[32], ns_b[32], veth_a[16], veth_b[16];
static char self_exe[PATH_MAX];
static bool ns_made, ns_ready, netem_ok, nft_loss_ok;
static char setup_error[512];

/* ---- commands (ip, tc) ---- */

/* Copies src into dst, cut to fit. */
static void text_copy(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static const char *tool_path(const char *name)
{
    static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
    static char path[64];
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
        if (tu_executable(path))
            return path;
    }
    return NULL;
}

/* Runs tool with the NULL-terminated arguments; false (with its stderr in err) unless it exits
 * with status 0 within the deadline. */
static bool cmd_run(char *err, size_t err_len, const char *tool, ...)
{
    const char *argv[24];
    int argc = 0;
    const char *path = tool_path(tool);
    if (!path) {
        snprintf(err, err_len, "no %s command", tool);
        return false;
    }
    argv[argc++] = path;
    va_list ap;
    va_start(ap, tool);
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL && argc < 23)
        argv[argc++] = arg;
    va_end(ap);
    argv[argc] = NULL;
    tu_child c;
    int rc = tu_child_start(&c, argv);
    if (rc != 0) {
        snprintf(err, err_len, "cannot start %s: %s", tool, strerror(-rc));
        return false;
    }
    bool exited = tu_child_wait_exit(&c, TU_DEADLINE_MS);
    tu_child_stop(&c);
    bool ok = exited && tu_child_exited_ok(&c);
    text_copy(err, err_len, exited ? c.err : "still running at the deadline");
    size_t n = strlen(err);
    while (n > 0 && err[n - 1] == '\n')
        err[--n] = '\0';
    tu_child_release(&c);
    return ok;
}

#define IP(err, ...) cmd_run(err, sizeof(err), "ip", __VA_ARGS__, (const char *)NULL)
#define TC(err, ...) cmd_run(err, sizeof(err), "tc", __VA_ARGS__, (const char *)NULL)

/* ---- the namespaces ---- */

/* Deleting a namespace deletes the veth end in it, and with it the pair. */
static void netns_remove(void)
{
    char err[512];
    if (!ns_made)
        return;
    ns_made = false;
    ns_ready = false;
    IP(err, "netns", "del", ns_a);
    IP(err, "netns", "del", ns_b);
}

/* A run killed by its watchdog leaves its namespaces behind; the next run removes those whose
 * process is gone. */
static void netns_remove_stale(void)
{
    DIR *dir = opendir("/var/run/netns");
    if (!dir)
        return;
    struct dirent *e;
    char err[512];
    while ((e = readdir(dir)) != NULL) {
        int pid;
        char side;
        if (sscanf(e->d_name, "msock-%c-%d", &side, &pid) == 2 && pid > 0 &&
            kill(pid, 0) != 0 && errno == ESRCH)
            IP(err, "netns", "del", e->d_name);
    }
    closedir(dir);
}

static bool netns_make(void)
{
    char err[512];
    char addr_a[32], addr_b[32];
    snprintf(addr_a, sizeof(addr_a), "%s.1/24", SUBNET);
    snprintf(addr_b, sizeof(addr_b), "%s.2/24", SUBNET);
    ns_made = true;
    bool ok = IP(err, "netns", "add", ns_a) && IP(err, "netns", "add", ns_b) &&
              IP(err, "link", "add", veth_a, "netns", ns_a, "type", "veth", "peer", "name",
                 veth_b, "netns", ns_b) &&
              IP(err, "-n", ns_a, "addr", "add", addr_a, "dev", veth_a) &&
              IP(err, "-n", ns_b, "addr", "add", addr_b, "dev", veth_b) &&
              IP(err, "-n", ns_a, "link", "set", "lo", "up") &&
              IP(err, "-n", ns_b, "link", "set", "lo", "up") &&
              IP(err, "-n", ns_a, "link", "set", veth_a, "up") &&
              IP(err, "-n", ns_b, "link", "set", veth_b, "up");
    if (!ok)
        snprintf(setup_error, sizeof(setup_error), "network namespaces or veth unavailable: %.400s",
                 err);
    return ok;
}

/* netem on both ends, so loss and delay hit both directions. */
static bool netem_set(bool on, char *err, size_t err_len)
{
    const char *ends[2][2] = {{ns_a, veth_a}, {ns_b, veth_b}};
    for (int i = 0; i < 2; i++) {
        bool ok = on ? cmd_run(err, err_len, "tc", "-n", ends[i][0], "qdisc", "add", "dev",
                               ends[i][1], "root", "netem", "loss", "10%", "delay", "50ms",
                               (const char *)NULL)
                     : cmd_run(err, err_len, "tc", "-n", ends[i][0], "qdisc", "del", "dev",
                               ends[i][1], "root", (const char *)NULL);
        if (!ok)
            return false;
    }
    return true;
}

/* Without netem: 10% of each end's outgoing packets dropped by nftables (random numbers). */
static bool nft_loss_set(bool on, char *err, size_t err_len)
{
    const char *ns[2] = {ns_a, ns_b};
    for (int i = 0; i < 2; i++) {
        bool ok = on ? cmd_run(err, err_len, "ip", "netns", "exec", ns[i], "nft", "add", "table",
                               "inet", "msock_loss", (const char *)NULL) &&
                           cmd_run(err, err_len, "ip", "netns", "exec", ns[i], "nft", "add",
                                   "chain", "inet", "msock_loss", "out",
                                   "{ type filter hook output priority 0; }",
                                   (const char *)NULL) &&
                           cmd_run(err, err_len, "ip", "netns", "exec", ns[i], "nft", "add",
                                   "rule", "inet", "msock_loss", "out", "numgen", "random", "mod",
                                   "10", "0", "drop", (const char *)NULL)
                     : cmd_run(err, err_len, "ip", "netns", "exec", ns[i], "nft", "delete",
                               "table", "inet", "msock_loss", (const char *)NULL);
        if (!ok)
            return false;
    }
    return true;
}

static int netns_setup(void **state)
{
    (void)state;
    static bool exit_hooked;
    if (!exit_hooked) {
        atexit(netns_remove);
        exit_hooked = true;
    }
    tu_watchdog(120);
    int pid = (int)getpid();
    snprintf(ns_a, sizeof(ns_a), "msock-a-%d", pid);
    snprintf(ns_b, sizeof(ns_b), "msock-b-%d", pid);
    snprintf(veth_a, sizeof(veth_a), "msva%d", pid % 10000000);
    snprintf(veth_b, sizeof(veth_b), "msvb%d", pid % 10000000);
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    if (n <= 0) {
        snprintf(setup_error, sizeof(setup_error), "cannot find the test binary");
        return 0;
    }
    self_exe[n] = '\0';
    netns_remove_stale();
    if (!netns_make()) {
        netns_remove();
        return 0;
    }
    ns_ready = true;
    char err[512];
    netem_ok = netem_set(true, err, sizeof(err));
    if (netem_ok) {
        netem_ok = netem_set(false, err, sizeof(err));
        assert_true(netem_ok);
    } else {
        char ignored[512];
        netem_set(false, ignored, sizeof(ignored)); /* an end that took it */
        nft_loss_ok = nft_loss_set(true, ignored, sizeof(ignored));
        nft_loss_set(false, ignored, sizeof(ignored));
        print_message("netem unavailable on this kernel (tc: %s): %s\n", err[0] ? err : "failed",
                      nft_loss_ok ? "10% loss from nftables instead, no delay"
                                  : "no nftables either: the loss phase is left out");
    }
    return 0;
}

static int netns_teardown(void **state)
{
    (void)state;
    netns_remove();
    return 0;
}

static void require_netns(void)
{
    if (!ns_ready) {
        print_message("skipped: %s\n", setup_error);
        skip();
    }
}

/* The faults, while the peers talk: the link down and up in namespace A, then netem. */
static void faults_apply(void)
{
    char err[512];
    tu_sleep_ms(FAULT_START_MS);
    int64_t down_at = tu_clock_ms();
    if (!IP(err, "-n", ns_a, "link", "set", "dev", veth_a, "down"))
        fail_msg("link down: %s", err);
    tu_sleep_ms(LINK_DOWN_MS);
    if (!IP(err, "-n", ns_a, "link", "set", "dev", veth_a, "up"))
        fail_msg("link up: %s", err);
    print_message("link down for %lld ms\n", (long long)(tu_clock_ms() - down_at));
    if (!netem_ok && nft_loss_ok) {
        if (!nft_loss_set(true, err, sizeof(err)))
            fail_msg("nft loss add: %s", err);
        tu_sleep_ms(NETEM_MS);
        if (!nft_loss_set(false, err, sizeof(err)))
            fail_msg("nft loss del: %s", err);
        print_message("nftables 10%% loss (no delay: no netem) for %d ms\n", NETEM_MS);
        return;
    }
    if (!netem_ok) {
        print_message("netem unavailable on this kernel: no loss/delay phase\n");
        return;
    }
    if (!netem_set(true, err, sizeof(err)))
        fail_msg("netem add: %s", err);
    tu_sleep_ms(NETEM_MS);
    if (!netem_set(false, err, sizeof(err)))
        fail_msg("netem del: %s", err);
    print_message("netem 10%% loss, 50 ms delay for %d ms\n", NETEM_MS);
}

/* ---- the parent's view of a peer ---- */

static tu_child *peer_spawn(const char *ns, const char *role, const char *url, int count)
{
    char count_arg[16];
    snprintf(count_arg, sizeof(count_arg), "%d", count);
    const char *argv[] = {self_exe, PEER_FLAG, ns, role, url, count_arg, NULL};
    return tu_spawn(argv);
}

/* Copies the peer's line number `index` (from 0) into line, waiting for it. */
static void peer_line(tu_child *c, size_t index, const char *who, char *line, size_t len)
{
    if (tu_child_read_lines(c, index + 1, TU_DEADLINE_MS) < index + 1) {
        tu_child_stop(c);
        fail_msg("%s wrote no line %zu; stderr: %s", who, index + 1, c->err);
    }
    const char *p = c->out;
    const char *end = c->out + c->out_len;
    for (size_t i = 0; i < index; i++)
        p = (const char *)memchr(p, '\n', (size_t)(end - p)) + 1;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = (size_t)(nl - p);
    assert_true(n < len);
    memcpy(line, p, n);
    line[n] = '\0';
}

static void peer_finish(tu_child *c, const char *who)
{
    if (!tu_child_wait_exit(c, PEER_WAIT_MS)) {
        tu_child_stop(c);
        fail_msg("%s still runs at the deadline; stderr: %s", who, c->err);
    }
    tu_child_expect_exit_ok(c, who);
}

static void listener_url(tu_child *c, const char *who, char *url, size_t len)
{
    char line[TU_URL_MAX + 16];
    peer_line(c, 0, who, line, sizeof(line));
    if (strncmp(line, "listening ", 10) != 0)
        fail_msg("%s: unexpected first line \"%s\"", who, line);
    text_copy(url, len, line + 10);
}

static void test_push_pull_faults(void **state)
{
    (void)state;
    require_netns();
    char url[TU_URL_MAX], line[256];
    int64_t start = tu_clock_ms();
    tu_child *pull = peer_spawn(ns_b, "pull", "tcp://" SUBNET ".2:0", STREAM_MSGS);
    listener_url(pull, "puller", url, sizeof(url));
    tu_child *push = peer_spawn(ns_a, "push", url, STREAM_MSGS);
    peer_line(push, 0, "pusher", line, sizeof(line));
    assert_string_equal(line, "connected");
    faults_apply();
    peer_finish(push, "pusher");
    peer_finish(pull, "puller");
    peer_line(push, 1, "pusher", line, sizeof(line));
    print_message("pusher: %s\n", line);
    peer_line(pull, 1, "puller", line, sizeof(line));
    print_message("puller: %s (whole case %lld ms)\n", line,
                  (long long)(tu_clock_ms() - start));
    unsigned received, lost, dup, ooo;
    assert_int_equal(sscanf(line, "received=%u lost=%u duplicated=%u out_of_order=%u",
                            &received, &lost, &dup, &ooo),
                     4);
    assert_int_equal(dup, 0);
    assert_int_equal(ooo, 0);
    assert_int_equal(received + lost, STREAM_MSGS);
    assert_true(received > 0);
}

static void test_req_rep_faults(void **state)
{
    (void)state;
    require_netns();
    char url[TU_URL_MAX], line[256];
    int64_t start = tu_clock_ms();
    tu_child *rep = peer_spawn(ns_b, "rep", "tcp://" SUBNET ".2:0", REQUESTS);
    listener_url(rep, "replier", url, sizeof(url));
    tu_child *req = peer_spawn(ns_a, "req", url, REQUESTS);
    peer_line(req, 0, "requester", line, sizeof(line));
    assert_string_equal(line, "connected");
    faults_apply();
    peer_finish(req, "requester");
    peer_finish(rep, "replier");
    peer_line(rep, 1, "replier", line, sizeof(line));
    print_message("replier: %s\n", line);
    peer_line(req, 1, "requester", line, sizeof(line));
    print_message("requester: %s (whole case %lld ms)\n", line,
                  (long long)(tu_clock_ms() - start));
    unsigned answered;
    assert_int_equal(sscanf(line, "answered=%u", &answered), 1);
    assert_int_equal(answered, REQUESTS);
}

/* ---- the peers (separate processes, outside cmocka: a failure exits with status 1) ---- */

static void peer_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void peer_check(int rc, const char *what)
{
    if (rc != 0)
        peer_fail("%s: %s", what, msock_errname(rc));
}

static void peer_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static void peer_enter_netns(const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "/var/run/netns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        peer_fail("open %s: %s", path, strerror(errno));
    if (setns(fd, CLONE_NEWNET) != 0)
        peer_fail("setns %s: %s", path, strerror(errno));
    close(fd);
}

static msock_socket peer_socket(int (*open_fn)(msock_socket *s), int64_t recv_timeout_ms)
{
    msock_socket s;
    peer_check(open_fn(&s), "open");
    peer_check(msock_socket_set_ms(s, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS), "send timeout");
    peer_check(msock_socket_set_ms(s, MSOCK_OPT_RECV_TIMEOUT, recv_timeout_ms), "recv timeout");
    peer_check(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MIN, 10), "reconnect min");
    peer_check(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MAX, 100), "reconnect max");
    return s;
}

static void peer_listen(msock_socket s, const char *url)
{
    msock_listener l;
    peer_check(msock_listen(s, url, &l, 0), "listen");
    char bound[TU_URL_MAX];
    size_t len = sizeof(bound);
    peer_check(msock_listener_get_string(l, MSOCK_OPT_URL, bound, &len), "listener url");
    peer_say("listening %s\n", bound);
}

static tu_waiter *peer_dial(msock_socket s, const char *url)
{
    tu_waiter *w = tu_waiter_attach(s);
    msock_dialer d;
    peer_check(msock_dial(s, url, &d, MSOCK_FLAG_NONBLOCK), "dial");
    if (!tu_wait_added(w, 1, TU_DEADLINE_MS))
        peer_fail("no connection to %s", url);
    peer_say("connected\n");
    return w;
}

static uint32_t seq_of(const uint8_t *body)
{
    return (uint32_t)body[0] << 24 | (uint32_t)body[1] << 16 | (uint32_t)body[2] << 8 | body[3];
}

/* Per pipe, sequence numbers only rise; over all pipes none comes twice. */
static int peer_pull(const char *url, uint32_t count)
{
    msock_socket s = peer_socket(msock_pull_open, 200);
    peer_listen(s, url);
    uint8_t *seen = calloc(count, 1);
    struct {
        uint32_t pipe;
        uint32_t last;
    } pipes[MAX_PIPES];
    unsigned npipes = 0, received = 0, dup = 0, ooo = 0, gaps = 0;
    int64_t start = tu_clock_ms(), budget = tu_deadline_in(PEER_BUDGET_MS), last_rx = 0;
    bool end_seen = false;
    while (!end_seen && !tu_deadline_passed(budget) &&
           !(last_rx && tu_clock_ms() - last_rx > PULL_IDLE_END_MS)) {
        msock_msg *m;
        int rc = msock_recvmsg(s, &m, 0);
        if (rc == MSOCK_ETIMEDOUT)
            continue;
        peer_check(rc, "recv");
        last_rx = tu_clock_ms();
        const uint8_t *body = msock_msg_body(m);
        size_t len = msock_msg_len(m);
        uint32_t seq = len >= 4 ? seq_of(body) : UINT32_MAX;
        if (len != STREAM_MSG_LEN || seq >= count || !tu_check(body, len, seq))
            peer_fail("bad message: %zu bytes, seq %u", len, (unsigned)seq);
        uint32_t pipe = msock_pipe_id(msock_msg_pipe(m));
        msock_msg_free(m);
        unsigned i = 0;
        while (i < npipes && pipes[i].pipe != pipe)
            i++;
        bool in_order = true;
        if (i == npipes) {
            if (npipes == MAX_PIPES)
                peer_fail("more than %d pipes", MAX_PIPES);
            pipes[npipes].pipe = pipe;
            npipes++;
        } else if (seq <= pipes[i].last) {
            in_order = false;
        } else if (seq != pipes[i].last + 1) {
            gaps++;
        }
        pipes[i].last = seq;
        if (seen[seq]) {
            dup++;
        } else {
            seen[seq] = 1;
            received++;
            if (!in_order)
                ooo++;
        }
        end_seen = seq == count - 1;
    }
    free(seen);
    peer_say("received=%u lost=%u duplicated=%u out_of_order=%u gaps=%u pipes=%u ms=%lld\n",
             received, count - received, dup, ooo, gaps, npipes,
             (long long)(tu_clock_ms() - start));
    peer_check(msock_close(s), "close");
    return 0;
}

static int peer_push(const char *url, uint32_t count)
{
    msock_socket s = peer_socket(msock_push_open, TU_DEADLINE_MS);
    peer_check(msock_socket_set_ms(s, MSOCK_OPT_LINGER, TU_DEADLINE_MS), "linger");
    tu_waiter *w = peer_dial(s, url);
    int64_t start = tu_clock_ms();
    uint8_t body[STREAM_MSG_LEN];
    for (uint32_t seq = 0; seq < count; seq++) {
        tu_fill(body, sizeof(body), seq);
        int rc = msock_send(s, body, sizeof(body), 0);
        if (rc != 0)
            peer_fail("send %u: %s", (unsigned)seq, msock_errname(rc));
        if ((seq + 1) % STREAM_BATCH == 0)
            tu_sleep_ms(STREAM_PAUSE_MS);
    }
    peer_say("sent=%u ms=%lld pipes_added=%d reconnects=%llu\n", (unsigned)count,
             (long long)(tu_clock_ms() - start), tu_waiter_added(w),
             (unsigned long long)tu_stat(s, MSOCK_STAT_RECONNECTS));
    peer_check(msock_close(s), "close");
    tu_waiter_free(w);
    return 0;
}

/* Answers each request with its own body until "quit". */
static int peer_rep(const char *url)
{
    msock_socket s = peer_socket(msock_rep_open, 200);
    peer_listen(s, url);
    int64_t budget = tu_deadline_in(PEER_BUDGET_MS);
    unsigned served = 0;
    for (;;) {
        if (tu_deadline_passed(budget))
            peer_fail("no quit request within %d ms (served %u)", PEER_BUDGET_MS, served);
        char buf[64];
        size_t len = sizeof(buf);
        int rc = msock_recv(s, buf, &len, 0);
        if (rc == MSOCK_ETIMEDOUT)
            continue;
        peer_check(rc, "recv");
        if (len > sizeof(buf))
            peer_fail("request of %zu bytes", len);
        rc = msock_send(s, buf, len, 0);
        if (rc != 0 && rc != MSOCK_ETIMEDOUT)
            peer_check(rc, "send reply");
        if (len == 4 && memcmp(buf, "quit", 4) == 0)
            break;
        served++;
    }
    peer_say("served=%u (resent requests included)\n", served);
    peer_check(msock_close(s), "close");
    return 0;
}

static int peer_req(const char *url, uint32_t count)
{
    msock_socket s = peer_socket(msock_req_open, TU_DEADLINE_MS);
    peer_check(msock_socket_set_ms(s, MSOCK_OPT_REQ_RESEND_TIME, REQ_RESEND_MS), "resend");
    tu_waiter *w = peer_dial(s, url);
    int64_t start = tu_clock_ms(), slowest = 0;
    unsigned answered = 0;
    for (uint32_t k = 0; k < count; k++) {
        uint8_t request[STREAM_MSG_LEN], reply[64];
        tu_fill(request, sizeof(request), k);
        int64_t sent_at = tu_clock_ms();
        peer_check(msock_send(s, request, sizeof(request), 0), "send request");
        size_t len = sizeof(reply);
        int rc = msock_recv(s, reply, &len, 0);
        if (rc != 0)
            peer_fail("request %u: no reply: %s", (unsigned)k, msock_errname(rc));
        if (len != sizeof(request) || memcmp(reply, request, len) != 0)
            peer_fail("request %u: got a reply of %zu bytes for seq %u", (unsigned)k, len,
                      len >= 4 ? (unsigned)seq_of(reply) : 0u);
        answered++;
        if (tu_clock_ms() - sent_at > slowest)
            slowest = tu_clock_ms() - sent_at;
        tu_sleep_ms(REQUEST_PAUSE_MS);
    }
    peer_check(msock_send(s, "quit", 4, 0), "send quit");
    char reply[8];
    size_t len = sizeof(reply);
    peer_check(msock_recv(s, reply, &len, 0), "quit reply");
    peer_say("answered=%u ms=%lld slowest=%lld stale_replies_dropped=%llu pipes_added=%d\n",
             answered, (long long)(tu_clock_ms() - start), (long long)slowest,
             (unsigned long long)tu_stat(s, MSOCK_STAT_DROPS_STALE), tu_waiter_added(w));
    peer_check(msock_close(s), "close");
    tu_waiter_free(w);
    return 0;
}

static int peer_main(int argc, char **argv)
{
    if (argc != 6)
        peer_fail("usage: %s %s NETNS pull|push|rep|req URL COUNT", argv[0], PEER_FLAG);
    /* Before any library call: sockets and library threads then live in the namespace. */
    peer_enter_netns(argv[2]);
    const char *role = argv[3], *url = argv[4];
    uint32_t count = (uint32_t)strtoul(argv[5], NULL, 10);
    if (count == 0 || count > 0xffffffu)
        peer_fail("bad count %s", argv[5]);
    if (strcmp(role, "pull") == 0)
        return peer_pull(url, count);
    if (strcmp(role, "push") == 0)
        return peer_push(url, count);
    if (strcmp(role, "rep") == 0)
        return peer_rep(url);
    if (strcmp(role, "req") == 0)
        return peer_req(url, count);
    peer_fail("unknown role %s", role);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], PEER_FLAG) == 0)
        return peer_main(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_push_pull_faults, tu_stop_spawned),
        cmocka_unit_test_teardown(test_req_rep_faults, tu_stop_spawned),
    };
    int failed = cmocka_run_group_tests(tests, netns_setup, netns_teardown);
    /* 77 tells the automake test driver the whole program was skipped. */
    return failed == 0 && setup_error[0] != '\0' ? 77 : failed;
}
