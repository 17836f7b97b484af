/* testutil_proc.c: test helpers for other processes: starting, reading and stopping children,
 * finding msockcat, nngcat and nanocat, building their command lines and waiting for them. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* ---- child processes ---- */

#define TU_MAX_CHILDREN 16
static pid_t tu_live_children[TU_MAX_CHILDREN];
static pthread_mutex_t tu_children_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t tu_children_once = PTHREAD_ONCE_INIT;

static void tu_children_kill_all(void)
{
    pthread_mutex_lock(&tu_children_mutex);
    for (int i = 0; i < TU_MAX_CHILDREN; i++) {
        if (tu_live_children[i] > 0) {
            kill(tu_live_children[i], SIGKILL);
            waitpid(tu_live_children[i], NULL, 0);
            tu_live_children[i] = 0;
        }
    }
    pthread_mutex_unlock(&tu_children_mutex);
}

static void tu_children_register_exit(void)
{
    atexit(tu_children_kill_all);
}

static void tu_children_track(pid_t pid, bool live)
{
    pthread_mutex_lock(&tu_children_mutex);
    for (int i = 0; i < TU_MAX_CHILDREN; i++) {
        if (live && tu_live_children[i] == 0) {
            tu_live_children[i] = pid;
            break;
        }
        if (!live && tu_live_children[i] == pid) {
            tu_live_children[i] = 0;
            break;
        }
    }
    pthread_mutex_unlock(&tu_children_mutex);
}

bool tu_executable(const char *path)
{
    return path != NULL && access(path, X_OK) == 0;
}

int tu_child_start(tu_child *c, const char *const argv[])
{
    int out_pipe[2], err_pipe[2];
    memset(c, 0, sizeof(*c));
    c->out_fd = c->err_fd = -1;
    pthread_once(&tu_children_once, tu_children_register_exit);
    if (pipe2(out_pipe, O_CLOEXEC) != 0)
        return -errno;
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
        int err = errno;
        close(out_pipe[0]);
        close(out_pipe[1]);
        return -err;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(out_pipe[0]);
        close(out_pipe[1]);
        close(err_pipe[0]);
        close(err_pipe[1]);
        return -err;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec: the parent has threads. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(out_pipe[1], STDOUT_FILENO);
        dup2(err_pipe[1], STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    c->pid = pid;
    c->out_fd = out_pipe[0];
    c->err_fd = err_pipe[0];
    tu_children_track(pid, true);
    return 0;
}

/* Reads what one fd has; closes it at its end. */
static void tu_child_drain(tu_child *c, int *fd, bool is_out)
{
    char chunk[4096];
    ssize_t n = read(*fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return;
    }
    if (is_out) {
        if (c->out_len + (size_t)n > c->out_cap) {
            size_t cap = c->out_cap ? c->out_cap * 2 : 8192;
            while (cap < c->out_len + (size_t)n)
                cap *= 2;
            char *grown = realloc(c->out, cap);
            assert_non_null(grown);
            c->out = grown;
            c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, chunk, (size_t)n);
        c->out_len += (size_t)n;
    } else {
        size_t room = sizeof(c->err) - 1 - c->err_len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(c->err + c->err_len, chunk, take);
        c->err_len += take;
        c->err[c->err_len] = '\0';
    }
}

size_t tu_child_read(tu_child *c, size_t want, int64_t timeout_ms)
{
    int64_t deadline = tu_deadline_in(timeout_ms);
    while (c->out_fd >= 0 && c->out_len < want) {
        struct pollfd fds[2] = {{.fd = c->out_fd, .events = POLLIN},
                                {.fd = c->err_fd, .events = POLLIN}};
        int64_t left = tu_ms_left(deadline);
        int n = poll(fds, c->err_fd >= 0 ? 2 : 1, (int)left);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && fds[0].revents)
            tu_child_drain(c, &c->out_fd, true);
        if (n > 0 && c->err_fd >= 0 && fds[1].revents)
            tu_child_drain(c, &c->err_fd, false);
        if (left == 0)
            break;
    }
    return c->out_len;
}

static void tu_child_reaped(tu_child *c, int status)
{
    c->exited = true;
    c->status = status;
    tu_children_track(c->pid, false);
}

bool tu_child_wait_exit(tu_child *c, int64_t timeout_ms)
{
    int64_t deadline = tu_deadline_in(timeout_ms);
    while (!c->exited) {
        int status = 0;
        pid_t got = waitpid(c->pid, &status, WNOHANG);
        if (got == c->pid) {
            tu_child_reaped(c, status);
            break;
        }
        if (tu_deadline_passed(deadline))
            return false;
        /* Keep its pipes drained so that a chatty child cannot block on a full pipe. */
        if (c->out_fd >= 0)
            tu_child_read(c, SIZE_MAX, 20);
        else
            tu_sleep_ms(10);
    }
    return true;
}

void tu_child_stop(tu_child *c)
{
    if (c->pid <= 0)
        return;
    if (!c->exited) {
        int status = 0;
        kill(c->pid, SIGKILL);
        if (waitpid(c->pid, &status, 0) == c->pid)
            tu_child_reaped(c, status);
    }
    /* The write ends are closed now, so both pipes reach their end promptly. */
    while (c->out_fd >= 0 || c->err_fd >= 0) {
        if (c->out_fd >= 0)
            tu_child_drain(c, &c->out_fd, true);
        if (c->err_fd >= 0)
            tu_child_drain(c, &c->err_fd, false);
    }
}

void tu_child_release(tu_child *c)
{
    if (c->out_fd >= 0)
        close(c->out_fd);
    if (c->err_fd >= 0)
        close(c->err_fd);
    free(c->out);
    c->out = NULL;
    c->out_fd = c->err_fd = -1;
    c->out_len = c->out_cap = 0;
}

/* tu_child_wait_stderr for a needle at or after offset from of the child's stderr. */
static bool tu_child_wait_stderr_from(tu_child *c, size_t from, const char *needle,
                                      int64_t deadline)
{
    while (c->err_len < from || strstr(c->err + from, needle) == NULL) {
        if (c->out_fd < 0 || tu_deadline_passed(deadline)) {
            tu_child_stop(c);
            return c->err_len >= from && strstr(c->err + from, needle) != NULL;
        }
        tu_child_read(c, SIZE_MAX, 20);
    }
    return true;
}

bool tu_child_wait_stderr(tu_child *c, const char *needle, int64_t timeout_ms)
{
    return tu_child_wait_stderr_from(c, 0, needle, tu_deadline_in(timeout_ms));
}

bool tu_child_exited_ok(const tu_child *c)
{
    return c->exited && WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

void tu_child_expect_exit_ok(tu_child *c, const char *who)
{
    if (!tu_child_wait_exit(c, TU_DEADLINE_MS)) {
        tu_child_stop(c);
        fail_msg("%s still runs at the deadline; stderr: %s", who, c->err);
    }
    tu_child_stop(c); /* collects the rest of its output */
    if (!tu_child_exited_ok(c))
        fail_msg("%s failed (status 0x%x); stderr: %s", who, (unsigned)c->status, c->err);
}

/* ---- helpers for tests that run msockcat, nngcat and nanocat ---- */

int tu_free_tcp_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

bool tu_url_listening(const char *url)
{
    bool ipc = strncmp(url, "ipc://", 6) == 0;
    int want_port = ipc ? -1 : tu_url_port(url);
    FILE *f = fopen(ipc ? "/proc/net/unix" : "/proc/net/tcp", "r");
    char line[512];
    bool found = false;

    assert_non_null(f);
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        unsigned flags, port, state;
        char path[256];
        if (ipc) {
            /* Num RefCount Protocol Flags Type St Inode Path; flag 0x10000 is __SO_ACCEPTCON */
            found = sscanf(line, "%*s %*x %*x %x %*x %*x %*u %255s", &flags, path) == 2 &&
                    (flags & 0x10000) != 0 && strcmp(path, url + 6) == 0;
        } else {
            /* sl local_address rem_address st ...; state 0A is TCP_LISTEN */
            found = sscanf(line, " %*u: %*x:%x %*x:%*x %x", &port, &state) == 2 &&
                    (int)port == want_port && state == 0x0a;
        }
    }
    fclose(f);
    return found;
}

static size_t tu_count_newlines(const tu_child *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->out_len; i++)
        n += c->out[i] == '\n';
    return n;
}

size_t tu_child_read_lines(tu_child *c, size_t lines, int64_t timeout_ms)
{
    int64_t deadline = tu_deadline_in(timeout_ms);
    size_t held = tu_count_newlines(c);
    while (held < lines && c->out_fd >= 0 && !tu_deadline_passed(deadline)) {
        /* One more byte than held: returns as soon as anything new arrives. */
        tu_child_read(c, c->out_len + 1, tu_ms_left(deadline));
        held = tu_count_newlines(c);
    }
    return held;
}

/* ---- the tools: where they are, their command lines, their processes ---- */

static const char *const tu_tool_names[TU_TOOL_COUNT] = {"msockcat", "nngcat", "nanocat"};
static char tu_tool_paths[TU_TOOL_COUNT][PATH_MAX];
static bool tu_tool_looked_up[TU_TOOL_COUNT];

const char *tu_tool_name(tu_tool t)
{
    assert_true(t >= 0 && t < TU_TOOL_COUNT);
    return tu_tool_names[t];
}

/* name in the first directory of $PATH (/usr/bin without one) that has it as an executable
 * file; without one, path names no executable file. */
static void tu_search_path(const char *name, char *path, size_t len)
{
    const char *search = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof(dirs), "%s", search != NULL ? search : "/usr/bin");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir != NULL;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(path, len, "%s/%s", dir, name);
        if (tu_executable(path))
            return;
    }
}

const char *tu_tool_path(tu_tool t)
{
    static const char *const vars[TU_TOOL_COUNT] = {"MSOCKCAT", "NNGCAT", "NANOCAT"};
    static const char *const defaults[TU_TOOL_COUNT] = {NULL, "/usr/bin/nngcat",
                                                        "/usr/bin/nanocat"};
    assert_true(t >= 0 && t < TU_TOOL_COUNT);
    char *path = tu_tool_paths[t];
    if (!tu_tool_looked_up[t]) {
        const char *given = getenv(vars[t]);
        if (given == NULL || given[0] == '\0')
            given = defaults[t];
        if (given != NULL)
            snprintf(path, PATH_MAX, "%s", given);
        else
            tu_search_path(tu_tool_names[t], path, PATH_MAX);
        tu_tool_looked_up[t] = true;
    }
    return path;
}

bool tu_tool_present(tu_tool t)
{
    return tu_executable(tu_tool_path(t));
}

int tu_require_msockcat(void **state)
{
    (void)state;
    if (!tu_tool_present(TU_MSOCKCAT)) {
        fprintf(stderr, "msockcat not found (set MSOCKCAT)\n");
        return -1;
    }
    return 0;
}

void tu_cmd_start(tu_cmd *c, tu_tool t)
{
    memset(c, 0, sizeof(*c));
    c->url_at = -1;
    c->argv[c->argc++] = tu_tool_path(t);
}

void tu_cmd_add(tu_cmd *c, const char *arg)
{
    assert_true(c->argc < TU_CMD_MAX_ARGS);
    c->argv[c->argc++] = arg;
}

void tu_cmd_add_url(tu_cmd *c, const char *url)
{
    c->url_at = c->argc;
    tu_cmd_add(c, url);
}

static tu_child tu_spawned[TU_SPAWN_MAX];
static int tu_spawned_count;

tu_child *tu_spawn(const char *const argv[])
{
    assert_true(tu_spawned_count < TU_SPAWN_MAX);
    tu_child *c = &tu_spawned[tu_spawned_count++];
    int rc = tu_child_start(c, argv);
    if (rc != 0)
        fail_msg("cannot start %s: %s", argv[0], strerror(-rc));
    return c;
}

void tu_unspawn(tu_child *c)
{
    tu_child_stop(c);
    tu_child_release(c);
    if (c == &tu_spawned[tu_spawned_count - 1])
        tu_spawned_count--;
}

int tu_stop_spawned(void **state)
{
    (void)state;
    for (int i = 0; i < tu_spawned_count; i++) {
        tu_child_stop(&tu_spawned[i]);
        tu_child_release(&tu_spawned[i]);
    }
    tu_spawned_count = 0;
    return 0;
}

bool tu_msockcat_listen_url(tu_child *c, char *url, size_t len)
{
    static const char mark[] = "msockcat: listening on ";
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    if (!tu_child_wait_stderr_from(c, 0, mark, deadline))
        return false;
    size_t from = (size_t)(strstr(c->err, mark) - c->err) + strlen(mark);
    if (!tu_child_wait_stderr_from(c, from, "\n", deadline))
        return false;
    size_t n = strcspn(c->err + from, "\n");
    if (n >= len)
        return false;
    memcpy(url, c->err + from, n);
    url[n] = '\0';
    return true;
}

/* How often tu_spawn_listening_on tries a fresh address. */
#define TU_LISTEN_ATTEMPTS 5
/* The path of a ws listener, two segments deep so that the whole path must match. */
#define TU_WS_PATH "/sp/cat"

/* msockcat reports the port it gets; the other tools say nothing of it. */
static int tu_tool_port(tu_tool t)
{
    return t == TU_MSOCKCAT ? 0 : tu_free_tcp_port();
}

/* A fresh address for tool t to listen on (see tu_spawn_listening_on). */
static void tu_tool_listen_url(tu_tool t, tu_transport transport, char *url, size_t len)
{
    char path[TU_URL_MAX - sizeof("ipc://")];

    switch (transport) {
    case TU_IPC:
        tu_tmp_path(path, sizeof(path), "listener");
        snprintf(url, len, "ipc://%s", path);
        break;
    case TU_TCP4:
        snprintf(url, len, "tcp://127.0.0.1:%d", tu_tool_port(t));
        break;
    case TU_WS4:
        snprintf(url, len, "ws://127.0.0.1:%d%s", tu_tool_port(t),
                 t == TU_NANOCAT ? "" : TU_WS_PATH);
        break;
    default:
        fail_msg("a tool cannot listen on %s here", tu_transport_name(transport));
    }
}

tu_child *tu_spawn_listening_on(tu_cmd *cmd, tu_tool t, tu_transport transport, char *url,
                                size_t len)
{
    assert_true(cmd->url_at > 0);
    for (int attempt = 0; attempt < TU_LISTEN_ATTEMPTS; attempt++) {
        tu_tool_listen_url(t, transport, url, len);
        cmd->argv[cmd->url_at] = url;
        tu_child *kid = tu_spawn(cmd->argv);
        if (t == TU_MSOCKCAT) {
            if (!tu_msockcat_listen_url(kid, url, len))
                fail_msg("msockcat did not report its address; stderr: %s", kid->err);
            return kid;
        }
        int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
        while (!tu_deadline_passed(deadline) && !tu_child_wait_exit(kid, 0)) {
            if (tu_url_listening(url))
                return kid;
            tu_child_read(kid, SIZE_MAX, 10); /* paces the probe and keeps stderr drained */
        }
        tu_unspawn(kid);
    }
    fail_msg("%s never listened", tu_tool_name(t));
    return NULL;
}

tu_child *tu_spawn_listening_port(tu_cmd *cmd, const char *prefix, const char *suffix, char *url,
                                  size_t len)
{
    assert_true(cmd->url_at > 0);
    for (int attempt = 0; attempt < TU_LISTEN_ATTEMPTS; attempt++) {
        int port = tu_free_tcp_port();
        char probe[64];
        snprintf(url, len, "%s%d%s", prefix, port, suffix);
        snprintf(probe, sizeof probe, "tcp://127.0.0.1:%d", port);
        cmd->argv[cmd->url_at] = url;
        tu_child *kid = tu_spawn(cmd->argv);
        int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
        while (!tu_deadline_passed(deadline) && !tu_child_wait_exit(kid, 0)) {
            if (tu_url_listening(probe))
                return kid;
            tu_child_read(kid, SIZE_MAX, 10); /* paces the probe and keeps stderr drained */
        }
        tu_unspawn(kid);
    }
    fail_msg("%s never listened", cmd->argv[0]);
    return NULL;
}

tu_child *tu_spawn_listening(tu_cmd *cmd, tu_tool t, bool ipc, char *url, size_t len)
{
    return tu_spawn_listening_on(cmd, t, ipc ? TU_IPC : TU_TCP4, url, len);
}

void tu_expect_pong(msock_socket req, tu_child *kid)
{
    TU_OK(msock_send(req, "ping", 4, 0));
    char buf[16];
    size_t len = sizeof buf;
    TU_OK(msock_recv(req, buf, &len, 0));
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "pong", 4);
    tu_child_read(kid, 6, TU_DEADLINE_MS);
    assert_non_null(strstr(kid->out, "\"ping\""));
}

void tu_answer_ping(msock_socket rep, tu_child *kid)
{
    char buf[16];
    size_t len = sizeof buf;
    TU_OK(msock_recv(rep, buf, &len, 0));
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "ping", 4);
    TU_OK(msock_send(rep, "pong", 4, 0));
    tu_child_expect_exit_ok(kid, "the tool's REQ");
    assert_non_null(strstr(kid->out, "\"pong\""));
}
