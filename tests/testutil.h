/* testutil.h: helpers shared by the libmsock API tests: deadlines, pipe-event waiters, listeners
 * on a transport's "any" address, plain sockets, a temporary directory, child processes,
 * checkable payloads, and msockcat, nngcat and nanocat as children. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include "msock.h"

/* Every wait in the tests is bounded by this: generous, because the tests must pass on a loaded
 * two-core machine and assert outcomes, never speed. */
#define TU_DEADLINE_MS 10000
#define TU_URL_MAX 256

/* Fails the running cmocka test unless expr yields the expected MSOCK_E* code (0 = success), and
 * names both codes in the message. Only for the thread that runs the test. */
#define TU_EXPECT_RC(expected, expr)                                                         \
    do {                                                                                     \
        int tu_want_ = (expected);                                                           \
        int tu_got_ = (expr);                                                                \
        if (tu_got_ != tu_want_)                                                             \
            fail_msg("%s: got %s (%d), want %s (%d)", #expr, tu_errname(tu_got_), tu_got_, \
                     tu_errname(tu_want_), tu_want_);                                        \
    } while (0)
#define TU_OK(expr) TU_EXPECT_RC(0, expr)

/* msock_errname that also names success. */
const char *tu_errname(int rc);

/* Clock: milliseconds on CLOCK_MONOTONIC; a deadline is an absolute value of that clock. */
int64_t tu_clock_ms(void);
int64_t tu_deadline_in(int64_t ms);
bool tu_deadline_passed(int64_t deadline);
int64_t tu_ms_left(int64_t deadline);
/* For pacing and for giving threads a chance to block; never to wait for a connection. */
void tu_sleep_ms(int64_t ms);
/* Joins a thread unless it is still running at the deadline (then returns false). */
bool tu_thread_join(pthread_t thread, int64_t timeout_ms);

/* Kills the whole test program if it runs longer than this (children die with it). */
void tu_watchdog(unsigned seconds);
/* Resident set size of this process in bytes (the library under test runs in it). */
size_t tu_rss_bytes(void);
/* Raises the soft limit on open files towards want (up to the hard limit); returns the new
 * soft limit. */
size_t tu_raise_fd_limit(size_t want);

/* Statistics. tu_stat asserts that the read works. The library signals no event when a counter
 * moves, so waiting on one polls it in short steps until the deadline. */
uint64_t tu_stat(msock_socket s, int stat);
bool tu_stat_wait_at_least(msock_socket s, int stat, uint64_t min, int64_t timeout_ms);

/* Pipe-event waiter: counts ADD_PRE, ADD_POST and REM_POST of one socket, lets a test wait until
 * a count reaches n, and can veto new pipes by closing them in ADD_PRE. It owns the socket's
 * three notify slots. Free it only after the socket is closed; its memory stays valid even so,
 * in case the library calls back late. */
typedef struct tu_waiter tu_waiter;
tu_waiter *tu_waiter_attach(msock_socket s);
void tu_waiter_free(tu_waiter *w);
int tu_waiter_pre(tu_waiter *w);
int tu_waiter_added(tu_waiter *w);
int tu_waiter_removed(tu_waiter *w);
int tu_waiter_vetoed(tu_waiter *w);
/* The pipe of the newest ADD_POST (id 0 before the first). */
msock_pipe tu_waiter_last_added(tu_waiter *w);
bool tu_wait_added(tu_waiter *w, int n, int64_t timeout_ms);
bool tu_wait_removed(tu_waiter *w, int n, int64_t timeout_ms);
void tu_waiter_set_veto(tu_waiter *w, bool veto);

/* Transports under test. tcp4/tcp6 are tcp over 127.0.0.1 and [::1], ws4/ws6 ws:// likewise.
 * Loops over every transport end at TU_TRANSPORT_COUNT, before the ws ones, because a build
 * may leave ws:// out (configure --disable-ws); TU_TRANSPORT_ALL counts them too. */
typedef enum tu_transport {
    TU_INPROC,
    TU_IPC,
    TU_TCP4,
    TU_TCP6,
    TU_TRANSPORT_COUNT,
    TU_WS4 = TU_TRANSPORT_COUNT,
    TU_WS6,
    TU_TRANSPORT_ALL
} tu_transport;
const char *tu_transport_name(tu_transport t);
/* tcp6 needs a usable ::1; ws4 needs a library built with ws:// (a listen does not give
 * MSOCK_ENOTSUP), ws6 both; inproc, ipc and tcp4 are always there. */
bool tu_transport_available(tu_transport t);
static inline bool tu_transport_is_ws(tu_transport t)
{
    return t == TU_WS4 || t == TU_WS6;
}
/* A fresh address to listen on: port 0 for tcp, port 0 and a new path for ws, a new socket
 * path under the temporary directory for ipc, a new name for inproc. */
void tu_any_url(tu_transport t, char *url, size_t len);
/* Listens on a fresh "any" address and returns the bound URL (with the real tcp or ws port). */
void tu_listen_any(msock_socket s, tu_transport t, msock_listener *l, char *url, size_t len);
/* The listener's MSOCK_OPT_URL; asserts. */
void tu_listener_url(msock_listener l, char *url, size_t len);
/* The port of a tcp URL, or -1. */
int tu_url_port(const char *url);

/* Plain stream sockets, for a test that plays a hand-made peer of the library. */
/* Connects a stream socket to a tcp://127.0.0.1:PORT or ipc://PATH URL; fails the test if it
 * cannot. */
int tu_connect_url(const char *url);
/* Writes all of buf to the socket (no SIGPIPE). False, with errno set (0 when the socket took
 * nothing without an error), when it stops short: the peer may have closed. */
bool tu_send_all(int fd, const void *buf, size_t len);
/* Reads len bytes unless the deadline passes or the peer closes (end of stream or an error:
 * then *closed is set, if closed is not NULL); returns the bytes read. */
size_t tu_read_until(int fd, void *buf, size_t len, int64_t deadline, bool *closed);

/* One temporary directory per test program, made by mkdtemp and removed with its contents at
 * exit; tu_tmp_path names a new unused path in it. */
const char *tu_tmpdir(void);
void tu_tmp_path(char *buf, size_t len, const char *stem);
/* Writes len bytes of data to a new file at path; asserts. */
void tu_write_file(const char *path, const void *data, size_t len);

/* Payloads: len bytes derived from a 32-bit seed; when len >= 4 the first four bytes are the
 * seed itself (big-endian) so a receiver can tell which message it holds. */
void tu_fill(void *buf, size_t len, uint32_t seed);
bool tu_check(const void *buf, size_t len, uint32_t seed);
bool tu_payload_seed(const void *buf, size_t len, uint32_t *seed);
static inline uint32_t tu_seed(unsigned sender, unsigned seq)
{
    return ((uint32_t)(sender & 0xffu) << 24) | (uint32_t)(seq & 0xffffffu);
}
/* A message of len bytes filled from seed; asserts. */
msock_msg *tu_msg_new(size_t len, uint32_t seed);
/* Opens a socket with open_fn whose sends and receives wait at most TU_DEADLINE_MS (a library
 * hang fails the test instead of stalling it) and whose redials come within 10-100 ms. */
msock_socket tu_socket_bounded(int (*open_fn)(msock_socket *s));

/* Child processes (nngcat, nanocat) with captured stdout and stderr. The child dies with the
 * test program (PR_SET_PDEATHSIG) and every child still running at exit is killed. */
typedef struct tu_child {
    pid_t pid;
    int out_fd;
    int err_fd;
    char *out;
    size_t out_len;
    size_t out_cap;
    char err[2048];
    size_t err_len;
    bool exited;
    int status;
} tu_child;
/* Starts argv[0] (a path) with argv; returns 0 or a negative errno. */
int tu_child_start(tu_child *c, const char *const argv[]);
/* Reads the child's output until stdout holds at least want bytes, stdout reaches its end, or
 * the deadline passes; returns the bytes held. */
size_t tu_child_read(tu_child *c, size_t want, int64_t timeout_ms);
/* Waits for the child to exit by itself until the deadline; false if it still runs. */
bool tu_child_wait_exit(tu_child *c, int64_t timeout_ms);
/* Kills the child if it still runs, collects the rest of its output and reaps it. */
void tu_child_stop(tu_child *c);
/* Frees the captured output; the child must be stopped. */
void tu_child_release(tu_child *c);
/* True when path names an executable file. */
bool tu_executable(const char *path);
/* Waits until the child's stderr holds needle; false if the child's output ended first or the
 * deadline passed (then the child is stopped). */
bool tu_child_wait_stderr(tu_child *c, const char *needle, int64_t timeout_ms);
/* True when the child exited by itself with status 0. */
bool tu_child_exited_ok(const tu_child *c);
/* Waits for the child to finish by itself and fails the test, naming who and quoting its
 * stderr, unless it exited with status 0. Collects the rest of its output. */
void tu_child_expect_exit_ok(tu_child *c, const char *who);

/* ---- helpers for tests that run msockcat, nngcat and nanocat ---- */

typedef enum tu_tool { TU_MSOCKCAT, TU_NNGCAT, TU_NANOCAT, TU_TOOL_COUNT } tu_tool;
/* "msockcat", "nngcat" or "nanocat". */
const char *tu_tool_name(tu_tool t);
/* Where the tool is, looked up on first use: $MSOCKCAT, $NNGCAT or $NANOCAT when set and not
 * empty (make check sets them); else /usr/bin/nngcat and /usr/bin/nanocat, and msockcat the
 * first executable one in a directory of $PATH. It may name no executable file. */
const char *tu_tool_path(tu_tool t);
/* True when tu_tool_path names an executable file. */
bool tu_tool_present(tu_tool t);
/* A cmocka group setup for tests that need msockcat: without it the group fails, saying so. */
int tu_require_msockcat(void **state);

/* A tool's command line, built argument by argument. The address argument may be left NULL
 * until the address is known: url_at is its index (-1: none). */
#define TU_CMD_MAX_ARGS 32
typedef struct tu_cmd {
    const char *argv[TU_CMD_MAX_ARGS + 1];
    int argc;
    int url_at;
} tu_cmd;
/* Starts the command line of tool t: its path, nothing else. */
void tu_cmd_start(tu_cmd *c, tu_tool t);
void tu_cmd_add(tu_cmd *c, const char *arg);
/* Adds the address argument and remembers where it is. */
void tu_cmd_add_url(tu_cmd *c, const char *url);

/* The children of the running test, at most TU_SPAWN_MAX at once. tu_spawn starts one or fails
 * the test; tu_unspawn stops and releases one (freeing its slot if it is the newest);
 * tu_stop_spawned, a cmocka teardown (state unused), stops and releases them all, also after a
 * failed assert. */
#define TU_SPAWN_MAX 4
tu_child *tu_spawn(const char *const argv[]);
void tu_unspawn(tu_child *c);
int tu_stop_spawned(void **state);

/* One quoted ping/pong with a tool run with "--data ping"/"--data pong" and "--quoted":
 * tu_expect_pong sends "ping" on req, wants "pong" back and "ping" in the tool's output;
 * tu_answer_ping wants "ping" on rep, answers "pong", and waits for the tool (a REQ) to exit
 * with "pong" in its output. */
void tu_expect_pong(msock_socket req, tu_child *kid);
void tu_answer_ping(msock_socket rep, tu_child *kid);

/* msockcat -v reports its bound address ("msockcat: listening on URL"); false if the child
 * ends or TU_DEADLINE_MS passes before the whole line is there, or the URL does not fit. */
bool tu_msockcat_listen_url(tu_child *c, char *url, size_t len);
/* Spawns cmd, a listener of tool t whose address argument is still open (tu_cmd_add_url), on
 * a fresh address of transport (TU_IPC, TU_TCP4 or TU_WS4), and waits until it accepts
 * connections; url gets the address, which a dialer can use as it is. msockcat listens on
 * port 0 and reports its port; the other tools get a free port, which another process may
 * take first, hence a few attempts. A ws listener gets a path, except nanocat's: nanomsg
 * refuses a bind URL with a path (even "/") and serves every path. Fails the test if the tool
 * never listens. */
tu_child *tu_spawn_listening_on(tu_cmd *cmd, tu_tool t, tu_transport transport, char *url,
                                size_t len);
/* tu_spawn_listening_on over ipc or else tcp4. */
tu_child *tu_spawn_listening(tu_cmd *cmd, tu_tool t, bool ipc, char *url, size_t len);
/* The same for an address tu_spawn_listening_on does not know (tls+tcp, wss): url is prefix,
 * a free port, suffix ("wss://localhost:" "/path"); the tool must listen on 127.0.0.1 then. */
tu_child *tu_spawn_listening_port(tu_cmd *cmd, const char *prefix, const char *suffix, char *url,
                                  size_t len);

/* A tcp port on 127.0.0.1 that was free a moment ago, for a tool that must listen on a port
 * it is given; another process may take it first, so callers retry. */
int tu_free_tcp_port(void);
/* True when a socket listens at the tcp or ws (both IPv4) or ipc URL. It reads /proc/net
 * instead of connecting, because a probe connection would count as a peer of the process under test
 * (and nng 1.5.2's ipc listener stops accepting after one that closes before the SP header). */
bool tu_url_listening(const char *url);
/* Reads the child's output until stdout holds at least lines newlines, stdout reaches its end,
 * or the deadline passes; returns the number of newlines held. */
size_t tu_child_read_lines(tu_child *c, size_t lines, int64_t timeout_ms);

#endif
