/* cat_io.c: msockcat's input and output: reports on standard error, stop signals, waits that a
 * signal can cut short, and the non-blocking send, receive and print of messages. */
#include "cat_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cat_format.h"

/* When the library cannot give a readiness fd, waits wake this often to retry the call. */
#define FALLBACK_POLL_MS 20

static volatile sig_atomic_t stop_requested;
static int signal_pipe[2] = {-1, -1};

void cat_report(const char *fmt, ...)
{
    va_list ap;
    fputs("msockcat: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int64_t cat_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cat_deadline_in(int64_t ms)
{
    return ms < 0 ? CAT_NEVER : cat_now_ms() + ms;
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

int cat_install_signals(void)
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

bool cat_stop_requested(void)
{
    return stop_requested != 0;
}

enum cat_wait_result cat_wait_until(int fd, bool wants_fd, int64_t deadline)
{
    for (;;) {
        struct pollfd pfds[2] = {{.fd = signal_pipe[0], .events = POLLIN},
                                 {.fd = fd, .events = POLLIN}};
        int64_t now = cat_now_ms();
        int64_t wait_ms;
        int n;

        if (stop_requested)
            return CAT_WAIT_STOPPED;
        if (now >= deadline)
            return CAT_WAIT_TIMEOUT;
        wait_ms = deadline == CAT_NEVER ? -1 : deadline - now;
        if (wants_fd && fd < 0 && (wait_ms < 0 || wait_ms > FALLBACK_POLL_MS))
            wait_ms = FALLBACK_POLL_MS;
        if (wait_ms > INT_MAX)
            wait_ms = INT_MAX;
        n = poll(pfds, fd >= 0 ? 2 : 1, (int)wait_ms);
        if (n < 0 && errno != EINTR) {
            cat_report("cannot wait: %s", strerror(errno));
            return CAT_WAIT_STOPPED;
        }
        if (n > 0 && fd >= 0 && (pfds[1].revents & (POLLIN | POLLERR | POLLHUP)))
            return CAT_WAIT_READY;
        if (n == 0 && wants_fd && fd < 0)
            return CAT_WAIT_READY;
    }
}

/* Sends m, which it takes whatever happens, waiting at most --send-timeout for the socket to
 * accept it. */
static enum cat_step send_msg(struct cat_run *run, msock_msg *m)
{
    const struct cat_options *opts = run->opts;
    int64_t deadline = cat_deadline_in(opts->send_timeout_ms);
    size_t len = msock_msg_len(m);

    for (;;) {
        int rc = msock_sendmsg(run->sock, m, MSOCK_FLAG_NONBLOCK);
        enum cat_wait_result waited;

        if (rc == 0) {
            run->sent++;
            if (opts->verbose > 1)
                cat_report("sent %zu bytes", len);
            return CAT_STEP_OK;
        }
        if (rc != MSOCK_EAGAIN) {
            msock_msg_free(m);
            cat_report("cannot send: %s", msock_strerror(rc));
            return CAT_STEP_FAILED;
        }
        waited = cat_wait_until(run->send_fd, true, deadline);
        if (waited == CAT_WAIT_READY)
            continue;
        msock_msg_free(m);
        if (waited == CAT_WAIT_STOPPED)
            return CAT_STEP_DONE;
        cat_report("cannot send: %s", msock_strerror(MSOCK_ETIMEDOUT));
        return CAT_STEP_FAILED;
    }
}

/* Fills m's body with --data; frees m and reports if it cannot. */
static enum cat_step fill_with_data(struct cat_run *run, msock_msg *m)
{
    int rc;

    msock_msg_clear(m);
    if ((rc = msock_msg_append(m, run->opts->data, run->opts->data_len)) != 0) {
        msock_msg_free(m);
        cat_report("cannot build a message: %s", msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    return CAT_STEP_OK;
}

enum cat_step cat_send_data(struct cat_run *run)
{
    msock_msg *m;
    int rc = msock_msg_alloc(&m, 0);

    if (rc != 0) {
        cat_report("cannot build a message: %s", msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    if (fill_with_data(run, m) != CAT_STEP_OK)
        return CAT_STEP_FAILED;
    return send_msg(run, m);
}

/* Answers a received request with --data. The request's own message carries its backtrace and
 * pipe, so rewriting its body and sending it answers exactly that request. */
static enum cat_step send_reply(struct cat_run *run, msock_msg *request)
{
    if (fill_with_data(run, request) != CAT_STEP_OK)
        return CAT_STEP_FAILED;
    return send_msg(run, request);
}

enum cat_step cat_print_message(struct cat_run *run, msock_msg *m)
{
    run->received++;
    if (run->opts->verbose > 1)
        cat_report("received %zu bytes", msock_msg_len(m));
    if (cat_format_write(stdout, run->opts->format, msock_msg_body(m), msock_msg_len(m)) != 0) {
        cat_report("cannot write to standard output: %s", strerror(errno));
        return CAT_STEP_FAILED;
    }
    return CAT_STEP_OK;
}

enum cat_step cat_receive_ready(struct cat_run *run, bool *got)
{
    const struct cat_options *opts = run->opts;
    msock_msg *m;
    int rc = msock_recvmsg(run->sock, &m, MSOCK_FLAG_NONBLOCK);
    enum cat_step st;

    *got = false;
    if (rc == MSOCK_EAGAIN)
        return CAT_STEP_OK;
    if (rc != 0) {
        cat_report("cannot receive: %s", msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    *got = true;
    st = cat_print_message(run, m);
    if (st != CAT_STEP_OK || opts->proto->exchange != CAT_EXCHANGE_REPLY || !opts->data_given) {
        msock_msg_free(m);
        return st;
    }
    return send_reply(run, m);
}
