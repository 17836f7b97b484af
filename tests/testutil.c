/* testutil.c: the shared test helpers declared in testutil.h (clock, pipe-event waiter, any-address
 * listeners, plain sockets, temporary directory, seeded payloads); testutil_proc.c has the rest. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

const char *tu_errname(int rc)
{
    return rc == 0 ? "success" : msock_errname(rc);
}

int64_t tu_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tu_deadline_in(int64_t ms)
{
    return tu_clock_ms() + ms;
}

bool tu_deadline_passed(int64_t deadline)
{
    return tu_clock_ms() >= deadline;
}

int64_t tu_ms_left(int64_t deadline)
{
    int64_t left = deadline - tu_clock_ms();
    return left > 0 ? left : 0;
}

void tu_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The absolute CLOCK_MONOTONIC time for a condition variable set to that clock. */
static void tu_monotonic_timespec(int64_t deadline, struct timespec *ts)
{
    ts->tv_sec = deadline / 1000;
    ts->tv_nsec = (long)(deadline % 1000) * 1000000;
}

bool tu_thread_join(pthread_t thread, int64_t timeout_ms)
{
    /* pthread_timedjoin_np measures against CLOCK_REALTIME. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return pthread_timedjoin_np(thread, NULL, &ts) == 0;
}

static void tu_watchdog_fired(int sig)
{
    static const char text[] = "testutil: watchdog expired, the test program hangs\n";
    (void)sig;
    ssize_t ignored = write(STDERR_FILENO, text, sizeof(text) - 1);
    (void)ignored;
    _exit(3);
}

size_t tu_rss_bytes(void)
{
    unsigned long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lu %lu", &pages, &resident), 2);
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

size_t tu_raise_fd_limit(size_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return 0;
    }
    return rl.rlim_cur == RLIM_INFINITY ? want : (size_t)rl.rlim_cur;
}

void tu_watchdog(unsigned seconds)
{
    signal(SIGALRM, tu_watchdog_fired);
    alarm(seconds);
}

uint64_t tu_stat(msock_socket s, int stat)
{
    uint64_t value = 0;
    TU_OK(msock_stat_get(s, stat, &value));
    return value;
}

bool tu_stat_wait_at_least(msock_socket s, int stat, uint64_t min, int64_t timeout_ms)
{
    int64_t deadline = tu_deadline_in(timeout_ms);
    for (;;) {
        uint64_t value = 0;
        if (msock_stat_get(s, stat, &value) == 0 && value >= min)
            return true;
        if (tu_deadline_passed(deadline))
            return false;
        tu_sleep_ms(2);
    }
}

/* ---- pipe-event waiter ---- */

struct tu_waiter {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int pre;
    int added;
    int removed;
    int vetoed;
    bool veto;
    msock_pipe last_added;
    tu_waiter *next_retired;
};

/* Freed waiters are kept, reachable, until the program ends: should the library run a pipe
 * callback after msock_close returned (a bug that test_socket checks for by itself), it then
 * finds valid memory instead of turning every test into a use-after-free report. */
static tu_waiter *tu_retired_waiters;
static pthread_mutex_t tu_retired_mutex = PTHREAD_MUTEX_INITIALIZER;

static void tu_waiter_cb(msock_pipe p, int event, void *arg)
{
    tu_waiter *w = arg;
    bool close_it = false;
    pthread_mutex_lock(&w->mutex);
    switch (event) {
    case MSOCK_PIPE_EV_ADD_PRE:
        w->pre++;
        if (w->veto) {
            w->vetoed++;
            close_it = true;
        }
        break;
    case MSOCK_PIPE_EV_ADD_POST:
        w->added++;
        w->last_added = p;
        break;
    case MSOCK_PIPE_EV_REM_POST:
        w->removed++;
        break;
    default:
        break;
    }
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mutex);
    /* Outside our lock: closing may run library code that takes its own locks. */
    if (close_it)
        msock_pipe_close(p);
}

tu_waiter *tu_waiter_attach(msock_socket s)
{
    tu_waiter *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&w->mutex, NULL);
    TU_OK(msock_pipe_notify(s, MSOCK_PIPE_EV_ADD_PRE, tu_waiter_cb, w));
    TU_OK(msock_pipe_notify(s, MSOCK_PIPE_EV_ADD_POST, tu_waiter_cb, w));
    TU_OK(msock_pipe_notify(s, MSOCK_PIPE_EV_REM_POST, tu_waiter_cb, w));
    return w;
}

void tu_waiter_free(tu_waiter *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&tu_retired_mutex);
    w->next_retired = tu_retired_waiters;
    tu_retired_waiters = w;
    pthread_mutex_unlock(&tu_retired_mutex);
}

static int tu_waiter_read(tu_waiter *w, const int *field)
{
    pthread_mutex_lock(&w->mutex);
    int value = *field;
    pthread_mutex_unlock(&w->mutex);
    return value;
}

int tu_waiter_pre(tu_waiter *w)
{
    return tu_waiter_read(w, &w->pre);
}

int tu_waiter_added(tu_waiter *w)
{
    return tu_waiter_read(w, &w->added);
}

int tu_waiter_removed(tu_waiter *w)
{
    return tu_waiter_read(w, &w->removed);
}

int tu_waiter_vetoed(tu_waiter *w)
{
    return tu_waiter_read(w, &w->vetoed);
}

msock_pipe tu_waiter_last_added(tu_waiter *w)
{
    pthread_mutex_lock(&w->mutex);
    msock_pipe p = w->last_added;
    pthread_mutex_unlock(&w->mutex);
    return p;
}

static bool tu_waiter_wait(tu_waiter *w, const int *field, int n, int64_t timeout_ms)
{
    struct timespec ts;
    tu_monotonic_timespec(tu_deadline_in(timeout_ms), &ts);
    bool reached;
    pthread_mutex_lock(&w->mutex);
    while (*field < n) {
        if (pthread_cond_timedwait(&w->cond, &w->mutex, &ts) == ETIMEDOUT)
            break;
    }
    reached = *field >= n;
    pthread_mutex_unlock(&w->mutex);
    return reached;
}

bool tu_wait_added(tu_waiter *w, int n, int64_t timeout_ms)
{
    return tu_waiter_wait(w, &w->added, n, timeout_ms);
}

bool tu_wait_removed(tu_waiter *w, int n, int64_t timeout_ms)
{
    return tu_waiter_wait(w, &w->removed, n, timeout_ms);
}

void tu_waiter_set_veto(tu_waiter *w, bool veto)
{
    pthread_mutex_lock(&w->mutex);
    w->veto = veto;
    pthread_mutex_unlock(&w->mutex);
}

/* ---- transports and addresses ---- */

const char *tu_transport_name(tu_transport t)
{
    static const char *const names[TU_TRANSPORT_ALL] = {"inproc", "ipc", "tcp4", "tcp6", "ws4",
                                                        "ws6"};
    return (unsigned)t < TU_TRANSPORT_ALL ? names[t] : "?";
}

static int tu_ipv6_state; /* 0 unknown, 1 usable, -1 not */
static pthread_once_t tu_ipv6_once = PTHREAD_ONCE_INIT;

static void tu_probe_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    tu_ipv6_state = (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) ? 1 : -1;
    if (fd >= 0)
        close(fd);
}

static int tu_ws_state; /* 0 unknown, 1 built, -1 not */
static pthread_once_t tu_ws_once = PTHREAD_ONCE_INIT;

/* Only MSOCK_ENOTSUP means "not built": any other failure is left for the test's own listen
 * to report. */
static void tu_probe_ws(void)
{
    msock_socket s;
    int rc = msock_pair_open(&s);
    if (rc == 0) {
        rc = msock_listen(s, "ws://127.0.0.1:0/tu-probe", NULL, 0);
        msock_close(s);
    }
    tu_ws_state = rc == MSOCK_ENOTSUP ? -1 : 1;
}

static bool tu_ipv6_usable(void)
{
    pthread_once(&tu_ipv6_once, tu_probe_ipv6);
    return tu_ipv6_state == 1;
}

static bool tu_ws_built(void)
{
    pthread_once(&tu_ws_once, tu_probe_ws);
    return tu_ws_state == 1;
}

bool tu_transport_available(tu_transport t)
{
    switch (t) {
    case TU_INPROC:
    case TU_IPC:
    case TU_TCP4: return true;
    case TU_TCP6: return tu_ipv6_usable();
    case TU_WS4: return tu_ws_built();
    case TU_WS6: return tu_ws_built() && tu_ipv6_usable();
    default: return false;
    }
}

static atomic_uint tu_name_counter;

void tu_any_url(tu_transport t, char *url, size_t len)
{
    unsigned n = atomic_fetch_add(&tu_name_counter, 1);
    char path[TU_URL_MAX];
    switch (t) {
    case TU_INPROC:
        snprintf(url, len, "inproc://tu-%ld-%u", (long)getpid(), n);
        break;
    case TU_IPC:
        tu_tmp_path(path, sizeof(path), "sock");
        snprintf(url, len, "ipc://%s", path);
        break;
    case TU_TCP4:
        snprintf(url, len, "tcp://127.0.0.1:0");
        break;
    case TU_TCP6:
        snprintf(url, len, "tcp://[::1]:0");
        break;
    case TU_WS4:
        snprintf(url, len, "ws://127.0.0.1:0/tu%u", n);
        break;
    case TU_WS6:
        snprintf(url, len, "ws://[::1]:0/tu%u", n);
        break;
    default:
        fail_msg("unknown transport %d", (int)t);
    }
}

void tu_listener_url(msock_listener l, char *url, size_t len)
{
    size_t got = len;
    TU_OK(msock_listener_get_string(l, MSOCK_OPT_URL, url, &got));
    assert_true(got <= len);
}

void tu_listen_any(msock_socket s, tu_transport t, msock_listener *l, char *url, size_t len)
{
    char any[TU_URL_MAX];
    tu_any_url(t, any, sizeof(any));
    int rc = msock_listen(s, any, l, 0);
    if (rc != 0)
        fail_msg("listen on %s: %s", any, tu_errname(rc));
    tu_listener_url(*l, url, len);
    if (t == TU_TCP4 || t == TU_TCP6 || tu_transport_is_ws(t)) {
        if (tu_url_port(url) <= 0)
            fail_msg("listener on %s reports %s, without a real port", any, url);
    }
}

int tu_url_port(const char *url)
{
    const char *colon = strrchr(url, ':');
    if (colon == NULL || colon[1] == '\0' || colon[1] == '/')
        return -1;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || (*end != '\0' && *end != '/') || port < 0 || port > 65535)
        return -1;
    return (int)port;
}

/* ---- plain stream sockets ---- */

int tu_connect_url(const char *url)
{
    int fd;
    if (strncmp(url, "ipc://", 6) == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        const char *path = url + 6;
        assert_true(strlen(path) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            fail_msg("connect to %s: %s", url, strerror(errno));
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int port = tu_url_port(url);
        assert_true(port > 0);
        sa.sin_port = htons((uint16_t)port);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            fail_msg("connect to %s: %s", url, strerror(errno));
    }
    return fd;
}

bool tu_send_all(int fd, const void *buf, size_t len)
{
    const uint8_t *at = buf;
    while (len > 0) {
        ssize_t n = send(fd, at, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return false;
        }
        at += n;
        len -= (size_t)n;
    }
    return true;
}

size_t tu_read_until(int fd, void *buf, size_t len, int64_t deadline, bool *closed)
{
    uint8_t *at = buf;
    size_t got = 0;
    if (closed != NULL)
        *closed = false;
    while (got < len) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)tu_ms_left(deadline));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        ssize_t r = read(fd, at + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (closed != NULL)
                *closed = true; /* end of stream or a reset */
            break;
        }
        got += (size_t)r;
    }
    return got;
}

/* ---- temporary directory ---- */

static char tu_tmpdir_path[128];
static pthread_once_t tu_tmpdir_once = PTHREAD_ONCE_INIT;
static atomic_uint tu_path_counter;

static void tu_tmpdir_remove(void)
{
    DIR *dir = opendir(tu_tmpdir_path);
    if (dir != NULL) {
        struct dirent *entry;
        char path[512];
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", tu_tmpdir_path, entry->d_name);
            unlink(path);
        }
        closedir(dir);
    }
    rmdir(tu_tmpdir_path);
}

static void tu_tmpdir_make(void)
{
    snprintf(tu_tmpdir_path, sizeof(tu_tmpdir_path), "/tmp/msock-test-XXXXXX");
    if (mkdtemp(tu_tmpdir_path) == NULL) {
        perror("mkdtemp");
        abort();
    }
    atexit(tu_tmpdir_remove);
}

const char *tu_tmpdir(void)
{
    pthread_once(&tu_tmpdir_once, tu_tmpdir_make);
    return tu_tmpdir_path;
}

void tu_tmp_path(char *buf, size_t len, const char *stem)
{
    unsigned n = atomic_fetch_add(&tu_path_counter, 1);
    int written = snprintf(buf, len, "%s/%s%u", tu_tmpdir(), stem, n);
    assert_true(written > 0 && (size_t)written < len);
}

void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- payloads ---- */

/* xorshift32 never leaves 0, so the state is kept away from it. */
static uint32_t tu_prng_start(uint32_t seed)
{
    uint32_t state = seed * 2654435761u + 0x9e3779b9u;
    return state != 0 ? state : 1;
}

static uint32_t tu_prng_next(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static void tu_put_seed(uint8_t *out, uint32_t seed)
{
    out[0] = (uint8_t)(seed >> 24);
    out[1] = (uint8_t)(seed >> 16);
    out[2] = (uint8_t)(seed >> 8);
    out[3] = (uint8_t)seed;
}

void tu_fill(void *buf, size_t len, uint32_t seed)
{
    uint8_t *out = buf;
    size_t at = 0;
    if (len >= 4) {
        tu_put_seed(out, seed);
        at = 4;
    }
    uint32_t state = tu_prng_start(seed);
    while (at < len) {
        uint32_t word = tu_prng_next(&state);
        for (int i = 0; i < 4 && at < len; i++, at++)
            out[at] = (uint8_t)(word >> (8 * i));
    }
}

bool tu_check(const void *buf, size_t len, uint32_t seed)
{
    const uint8_t *in = buf;
    size_t at = 0;
    if (len >= 4) {
        uint8_t head[4];
        tu_put_seed(head, seed);
        if (memcmp(in, head, 4) != 0)
            return false;
        at = 4;
    }
    uint32_t state = tu_prng_start(seed);
    while (at < len) {
        uint32_t word = tu_prng_next(&state);
        for (int i = 0; i < 4 && at < len; i++, at++) {
            if (in[at] != (uint8_t)(word >> (8 * i)))
                return false;
        }
    }
    return true;
}

bool tu_payload_seed(const void *buf, size_t len, uint32_t *seed)
{
    const uint8_t *in = buf;
    if (len < 4)
        return false;
    *seed = ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) | in[3];
    return true;
}

msock_msg *tu_msg_new(size_t len, uint32_t seed)
{
    msock_msg *m = NULL;
    TU_OK(msock_msg_alloc(&m, len));
    assert_int_equal(msock_msg_len(m), len);
    tu_fill(msock_msg_body(m), len, seed);
    return m;
}

msock_socket tu_socket_bounded(int (*open_fn)(msock_socket *s))
{
    msock_socket s;
    TU_OK(open_fn(&s));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MIN, 10));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MAX, 100));
    return s;
}
