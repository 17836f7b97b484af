/* cat_io.h: one msockcat run's state and its input and output: error reports, the clock, stop
 * signals, waiting on a socket's readiness fd, and sending, receiving and printing messages. */
#ifndef CAT_IO_H
#define CAT_IO_H

#include <stdbool.h>
#include <stdint.h>

#include <msock.h>

#include "cat_args.h"

/* A deadline that never comes. */
#define CAT_NEVER INT64_MAX

/* cat_wait_until's fd argument when there is nothing to watch, only a deadline. */
#define CAT_FD_NONE (-1)

enum cat_step {
    CAT_STEP_OK,     /* go on */
    CAT_STEP_DONE,   /* finished normally (count reached, receive timeout, signal) */
    CAT_STEP_FAILED, /* an error, already reported */
};

enum cat_wait_result {
    CAT_WAIT_READY,
    CAT_WAIT_TIMEOUT,
    CAT_WAIT_STOPPED,
};

struct cat_run {
    const struct cat_options *opts;
    msock_socket sock;
    bool sock_open;
    /* How the stream schedule sends --data and takes one waiting message: cat_send_data and
     * cat_receive_ready, or the group client's own (cat_group.h). */
    enum cat_step (*send_data)(struct cat_run *run);
    enum cat_step (*receive_ready)(struct cat_run *run, bool *got);
    uint32_t group; /* --group: the joined group's id, 0 when none */
    int send_fd; /* readable when a send would not wait; -1 if unknown */
    int recv_fd; /* readable when a message waits; -1 if unknown */
    int64_t survey_ms; /* surveyor: how long a survey collects responses */
    uint64_t sent;
    uint64_t received;
};

/* Writes "msockcat: " and the formatted text as one line to standard error. */
void cat_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Milliseconds on the monotonic clock. */
int64_t cat_now_ms(void);

/* The deadline ms from now; a negative ms (no timeout) gives CAT_NEVER. */
int64_t cat_deadline_in(int64_t ms);

/* Makes SIGINT and SIGTERM ask for a stop (see cat_stop_requested) and wake any wait, and
 * ignores SIGPIPE. Returns 0, or -1 with errno set. */
int cat_install_signals(void);

/* Whether SIGINT or SIGTERM came. */
bool cat_stop_requested(void);

/* Waits until fd is readable, the deadline passes or a stop signal comes. With fd CAT_FD_NONE
 * it only sleeps; with wants_fd set but fd unknown (-1) it returns CAT_WAIT_READY now and
 * then, so that the caller retries its non-blocking call. */
enum cat_wait_result cat_wait_until(int fd, bool wants_fd, int64_t deadline);

/* Sends --data once, waiting at most --send-timeout. */
enum cat_step cat_send_data(struct cat_run *run);

/* Prints a received message in the chosen format; m stays with the caller. */
enum cat_step cat_print_message(struct cat_run *run, msock_msg *m);

/* Takes one waiting message, if any, prints it, and answers it when this socket answers
 * requests and has --data. Sets *got when there was one. */
enum cat_step cat_receive_ready(struct cat_run *run, bool *got);

#endif
