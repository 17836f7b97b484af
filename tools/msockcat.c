/* msockcat.c: the nngcat/nanocat compatible command line tool: opens one socket, listens and
 * dials, then sends --data on its schedule and prints what arrives, until done or signalled. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msock.h>

#include "cat_args.h"
#include "cat_format.h"

#define NEVER INT64_MAX

/* When the library cannot give a readiness fd, waits wake this often to retry the call. */
#define FALLBACK_POLL_MS 20

/* wait_until's fd argument when there is nothing to watch, only a deadline. */
#define FD_NONE (-1)

enum step {
    STEP_OK,      /* go on */
    STEP_DONE,    /* finished normally (count reached, receive timeout, signal) */
    STEP_FAILED,  /* an error, already reported */
};

enum wait_result {
    WAIT_READY,
    WAIT_TIMEOUT,
    WAIT_STOPPED,
};

struct cat_run {
    const struct cat_options *opts;
    msock_socket sock;
    bool sock_open;
    int send_fd; /* readable when a send would not wait; -1 if unknown */
    int recv_fd; /* readable when a message waits; -1 if unknown */
    uint64_t sent;
    uint64_t received;
};

static volatile sig_atomic_t stop_requested;
static int signal_pipe[2] = {-1, -1};

static void report(const char *fmt, ...)
{
    va_list ap;
    fputs("msockcat: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The deadline ms from now; a negative ms (no timeout) never comes. */
static int64_t deadline_in(int64_t ms)
{
    return ms < 0 ? NEVER : now_ms() + ms;
}

static void on_stop_signal(int signo)
{
    int saved = errno;
    (void)signo;
    stop_requested = 1;
    /* The pipe wakes a poll that began just before the flag was set. */
    if (write(signal_pipe[1], "", 1) < 0) {
        /* full pipe: a wake-up is already pending */
    }
    errno = saved;
}

static int install_signals(void)
{
    struct sigaction sa;

    if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    /* A closed stdout must end us with an error message, not silently. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Waits until fd is readable, the deadline passes or a stop signal comes. With fd FD_NONE it
 * only sleeps; with wants_fd set but fd unknown (-1) it returns WAIT_READY now and then, so
 * that the caller retries its non-blocking call. */
static enum wait_result wait_until(int fd, bool wants_fd, int64_t deadline)
{
    for (;;) {
        struct pollfd pfds[2] = {{.fd = signal_pipe[0], .events = POLLIN},
                                 {.fd = fd, .events = POLLIN}};
        int64_t now = now_ms();
        int64_t wait_ms;
        int n;

        if (stop_requested)
            return WAIT_STOPPED;
        if (now >= deadline)
            return WAIT_TIMEOUT;
        wait_ms = deadline == NEVER ? -1 : deadline - now;
        if (wants_fd && fd < 0 && (wait_ms < 0 || wait_ms > FALLBACK_POLL_MS))
            wait_ms = FALLBACK_POLL_MS;
        if (wait_ms > INT_MAX)
            wait_ms = INT_MAX;
        n = poll(pfds, fd >= 0 ? 2 : 1, (int)wait_ms);
        if (n < 0 && errno != EINTR) {
            report("cannot wait: %s", strerror(errno));
            return WAIT_STOPPED;
        }
        if (n > 0 && fd >= 0 && (pfds[1].revents & (POLLIN | POLLERR | POLLHUP)))
            return WAIT_READY;
        if (n == 0 && wants_fd && fd < 0)
            return WAIT_READY;
    }
}

static int readiness_fd(msock_socket s, int opt)
{
    int fd;
    return msock_socket_get_int(s, opt, &fd) == 0 ? fd : -1;
}

static enum step open_socket(struct cat_run *run)
{
    const struct cat_options *opts = run->opts;
    int rc;

    if ((rc = opts->proto->open(&run->sock)) != 0) {
        report("cannot open a %s socket: %s", opts->proto->name, msock_strerror(rc));
        return STEP_FAILED;
    }
    run->sock_open = true;
    if (opts->recv_maxsz_given &&
        (rc = msock_socket_set_size(run->sock, MSOCK_OPT_RECV_MAXSZ, opts->recv_maxsz)) != 0) {
        report("cannot set the receive size limit: %s", msock_strerror(rc));
        return STEP_FAILED;
    }
    if (opts->socket_name != NULL &&
        (rc = msock_socket_set_string(run->sock, MSOCK_OPT_SOCKET_NAME, opts->socket_name)) != 0) {
        report("cannot name the socket: %s", msock_strerror(rc));
        return STEP_FAILED;
    }
    if (opts->proto->roles & CAT_ROLE_SEND)
        run->send_fd = readiness_fd(run->sock, MSOCK_OPT_SEND_FD);
    if (opts->proto->roles & CAT_ROLE_RECV)
        run->recv_fd = readiness_fd(run->sock, MSOCK_OPT_RECV_FD);
    return STEP_OK;
}

static enum step start_listener(struct cat_run *run, const char *url)
{
    msock_listener l;
    char bound[256];
    size_t len = sizeof(bound);
    int rc;

    if ((rc = msock_listen(run->sock, url, &l, 0)) != 0) {
        report("cannot listen on %s: %s", url, msock_strerror(rc));
        return STEP_FAILED;
    }
    if (run->opts->verbose > 0) {
        /* The bound URL carries the real port when the given one was 0. */
        if (msock_listener_get_string(l, MSOCK_OPT_URL, bound, &len) != 0)
            snprintf(bound, sizeof(bound), "%s", url);
        report("listening on %s", bound);
    }
    return STEP_OK;
}

static enum step start_dialer(struct cat_run *run, const char *url)
{
    msock_dialer d;
    int rc = msock_dial(run->sock, url, &d, run->opts->async ? MSOCK_FLAG_NONBLOCK : 0);

    if (rc != 0) {
        report("cannot dial %s: %s", url, msock_strerror(rc));
        return STEP_FAILED;
    }
    if (run->opts->verbose > 0)
        report(run->opts->async ? "dialing %s" : "connected to %s", url);
    return STEP_OK;
}

/* Listeners first, so that a socket may dial its own listener. */
static enum step start_endpoints(struct cat_run *run)
{
    const struct cat_options *opts = run->opts;

    for (size_t i = 0; i < opts->endpoint_count; i++)
        if (opts->endpoints[i].kind == CAT_ENDPOINT_LISTEN &&
            start_listener(run, opts->endpoints[i].url) != STEP_OK)
            return STEP_FAILED;
    for (size_t i = 0; i < opts->endpoint_count; i++)
        if (opts->endpoints[i].kind == CAT_ENDPOINT_DIAL &&
            start_dialer(run, opts->endpoints[i].url) != STEP_OK)
            return STEP_FAILED;
    return STEP_OK;
}

/* Sends --data once, waiting at most --send-timeout for the socket to take it. */
static enum step send_data(struct cat_run *run)
{
    const struct cat_options *opts = run->opts;
    int64_t deadline = deadline_in(opts->send_timeout_ms);

    for (;;) {
        int rc = msock_send(run->sock, opts->data, opts->data_len, MSOCK_FLAG_NONBLOCK);

        if (rc == 0) {
            run->sent++;
            if (opts->verbose > 1)
                report("sent %zu bytes", opts->data_len);
            return STEP_OK;
        }
        if (rc != MSOCK_EAGAIN) {
            report("cannot send: %s", msock_strerror(rc));
            return STEP_FAILED;
        }
        switch (wait_until(run->send_fd, true, deadline)) {
        case WAIT_READY: break;
        case WAIT_STOPPED: return STEP_DONE;
        case WAIT_TIMEOUT:
            report("cannot send: %s", msock_strerror(MSOCK_ETIMEDOUT));
            return STEP_FAILED;
        }
    }
}

/* Takes one waiting message, if any, and prints it. Sets *got when there was one. */
static enum step receive_ready(struct cat_run *run, bool *got)
{
    msock_msg *m;
    int rc = msock_recvmsg(run->sock, &m, MSOCK_FLAG_NONBLOCK);

    *got = false;
    if (rc == MSOCK_EAGAIN)
        return STEP_OK;
    if (rc != 0) {
        report("cannot receive: %s", msock_strerror(rc));
        return STEP_FAILED;
    }
    *got = true;
    run->received++;
    if (run->opts->verbose > 1)
        report("received %zu bytes", msock_msg_len(m));
    rc = cat_format_write(stdout, run->opts->format, msock_msg_body(m), msock_msg_len(m));
    msock_msg_free(m);
    if (rc != 0) {
        report("cannot write to standard output: %s", strerror(errno));
        return STEP_FAILED;
    }
    return STEP_OK;
}

static int64_t earliest(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* The schedule, as nngcat's: --data goes after --delay, then every --interval. --count counts
 * sends when the socket sends on an interval or only sends, and received messages otherwise.
 * A pair that sent its last message on an interval keeps printing for one more interval. */
static enum step run_loop(struct cat_run *run)
{
    const struct cat_options *opts = run->opts;
    bool sends = opts->data_given;
    bool receives = (opts->proto->roles & CAT_ROLE_RECV) != 0;
    bool count_sends = sends && (!receives || opts->interval_ms > 0);
    int64_t next_send = sends ? now_ms() + opts->delay_ms : NEVER;
    int64_t finish_at = NEVER;
    /* A receive timeout runs from the last send or message, or from the start. */
    int64_t recv_deadline = receives && !sends ? deadline_in(opts->recv_timeout_ms) : NEVER;

    for (;;) {
        int64_t now = now_ms();
        enum step st;
        bool got;

        if (stop_requested)
            return STEP_DONE;
        if (next_send <= now) {
            if ((st = send_data(run)) != STEP_OK)
                return st;
            now = now_ms();
            next_send = opts->interval_ms > 0 ? next_send + opts->interval_ms : NEVER;
            if (next_send <= now)
                next_send = now + opts->interval_ms; /* a slow send must not cause a burst */
            if (count_sends && opts->count > 0 && run->sent >= opts->count)
                next_send = NEVER;
            if (next_send == NEVER) {
                if (!receives)
                    return STEP_DONE;
                if (count_sends)
                    finish_at = now + opts->interval_ms;
            }
            if (receives)
                recv_deadline = deadline_in(opts->recv_timeout_ms);
            continue;
        }
        if (now >= finish_at)
            return STEP_DONE;
        if (now >= recv_deadline) {
            if (opts->verbose > 0)
                report("receive timed out");
            return STEP_DONE;
        }
        if (receives) {
            if ((st = receive_ready(run, &got)) != STEP_OK)
                return st;
            if (got) {
                if (!count_sends && opts->count > 0 && run->received >= opts->count)
                    return STEP_DONE;
                recv_deadline = deadline_in(opts->recv_timeout_ms);
                continue;
            }
        }
        int64_t deadline = earliest(earliest(next_send, finish_at), recv_deadline);
        if (wait_until(receives ? run->recv_fd : FD_NONE, receives, deadline) == WAIT_STOPPED)
            return STEP_DONE;
    }
}

static int run_cat(const struct cat_options *opts)
{
    struct cat_run run = {.opts = opts, .send_fd = -1, .recv_fd = -1};
    enum step st;

    if (install_signals() != 0) {
        report("cannot set up signal handling: %s", strerror(errno));
        return EXIT_FAILURE;
    }
    st = open_socket(&run);
    if (st == STEP_OK)
        st = start_endpoints(&run);
    if (st == STEP_OK)
        st = run_loop(&run);
    if (run.sock_open)
        msock_close(run.sock); /* lingers so that queued messages still go out */
    msock_fini();
    return st == STEP_FAILED ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The --help text; the same flags as nngcat and nanocat, and only the protocols we have. */
static void print_usage(FILE *out)
{
    fputs("Usage: msockcat PROTOCOL ADDRESS... [FORMAT] [OPTION...] [DATA]\n"
          "Sends and receives Scalability Protocols messages; takes the flags of nngcat and\n"
          "nanocat. Long options may be shortened to any unique prefix.\n"
          "\n"
          "PROTOCOL (one):\n"
          "  --push, --pull             pipeline\n"
          "  --pair0, --pair            pair, version 0\n"
          "\n"
          "ADDRESS (one or more):\n"
          "  --listen URL, --bind URL   listen on URL (tcp://HOST:PORT, ipc://PATH)\n"
          "  --dial URL, --connect URL  dial URL\n"
          "  -L, --bind-local PORT      listen on tcp://127.0.0.1:PORT\n"
          "  -l, --connect-local PORT   dial tcp://127.0.0.1:PORT\n"
          "  -X, --bind-ipc PATH        listen on ipc://PATH\n"
          "  -x, --connect-ipc PATH     dial ipc://PATH\n"
          "\n"
          "FORMAT of received messages (default: no output):\n"
          "  --format no|raw|ascii|quoted|hex|msgpack\n"
          "  --raw, -A/--ascii, -Q/--quoted, --hex, --msgpack\n"
          "\n"
          "DATA to send:\n"
          "  -D, --data DATA            send DATA\n"
          "  -F, --file FILE            send the contents of FILE (- reads standard input)\n"
          "\n"
          "OPTION:\n"
          "  -C, --count N              stop after N messages\n"
          "  -d, --delay SEC            wait SEC seconds before the first send\n"
          "  -i, --interval SEC         send again every SEC seconds\n"
          "  --recv-timeout SEC         stop when no message came for SEC seconds\n"
          "  --send-timeout SEC         fail when a send waits longer than SEC seconds\n"
          "  -Z, --recv-maxsz BYTES     drop peers sending larger messages (0: no limit)\n"
          "  --async, --compat          dial in the background and keep redialling\n"
          "  --socket-name NAME         name the socket\n"
          "  -v, --verbose              report what happens on standard error (repeatable)\n"
          "  -q, --silent               report nothing but errors\n"
          "  -h, --help                 show this help\n"
          "  -V, --version              show the version\n",
          out);
}

int main(int argc, char **argv)
{
    struct cat_options opts;
    int status;

    if (cat_args_parse(&opts, argc, argv) != 0) {
        fputs("Try 'msockcat --help' for more information.\n", stderr);
        cat_args_free(&opts);
        return EXIT_FAILURE;
    }
    if (opts.help) {
        print_usage(stdout);
        status = EXIT_SUCCESS;
    } else if (opts.version) {
        printf("msockcat %s\n", msock_version());
        status = EXIT_SUCCESS;
    } else {
        status = run_cat(&opts);
    }
    cat_args_free(&opts);
    return status;
}
