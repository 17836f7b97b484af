/* msockcat.c: the nngcat/nanocat compatible command line tool: opens one socket, listens and
 * dials, then sends --data on its schedule, asks or answers, and prints what arrives; or runs a
 * group hub or client (cat_group.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msock.h>

#include "cat_args.h"
#include "cat_group.h"
#include "cat_io.h"
#include "cat_tls.h"

/* The survey deadline when the socket will not tell its own (the library's default). */
#define DEFAULT_SURVEY_MS 1000

/* How long past the survey deadline we wait for the library to end the survey itself, before
 * we end the round on our own clock. */
#define SURVEY_GRACE_MS 1000

static int readiness_fd(msock_socket s, int opt)
{
    int fd;
    return msock_socket_get_int(s, opt, &fd) == 0 ? fd : -1;
}

static enum cat_step open_socket(struct cat_run *run)
{
    const struct cat_options *opts = run->opts;
    int rc;

    if ((rc = opts->proto->open(&run->sock)) != 0) {
        cat_report("cannot open a %s socket: %s", opts->proto->name, msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    run->sock_open = true;
    if (opts->recv_maxsz_given &&
        (rc = msock_socket_set_size(run->sock, MSOCK_OPT_RECV_MAXSZ, opts->recv_maxsz)) != 0) {
        cat_report("cannot set the receive size limit: %s", msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    if (opts->socket_name != NULL &&
        (rc = msock_socket_set_string(run->sock, MSOCK_OPT_SOCKET_NAME, opts->socket_name)) != 0) {
        cat_report("cannot name the socket: %s", msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    for (size_t i = 0; i < opts->subscription_count; i++) {
        const char *topic = opts->subscriptions[i];
        if ((rc = msock_sub_subscribe(run->sock, topic, strlen(topic))) != 0) {
            cat_report("cannot subscribe to '%s': %s", topic, msock_strerror(rc));
            return CAT_STEP_FAILED;
        }
    }
    /* A reply goes to the one pipe its request came from, which the socket-wide send fd does
     * not describe; retrying the send now and then covers the rare full pipe. */
    if ((opts->proto->roles & CAT_ROLE_SEND) && opts->proto->exchange != CAT_EXCHANGE_REPLY)
        run->send_fd = readiness_fd(run->sock, MSOCK_OPT_SEND_FD);
    if (opts->proto->roles & CAT_ROLE_RECV)
        run->recv_fd = readiness_fd(run->sock, MSOCK_OPT_RECV_FD);
    if (opts->proto->exchange == CAT_EXCHANGE_SURVEY &&
        msock_socket_get_ms(run->sock, MSOCK_OPT_SURVEY_TIME, &run->survey_ms) != 0)
        run->survey_ms = DEFAULT_SURVEY_MS;
    return CAT_STEP_OK;
}

static enum cat_step start_listener(struct cat_run *run, const char *url)
{
    msock_listener l;
    char bound[256];
    size_t len = sizeof(bound);
    const char *what = NULL;
    int rc;

    if ((rc = msock_listener_create(&l, run->sock, url)) != 0) {
        cat_report("cannot listen on %s: %s", url, msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    /* The TLS options must be there before the start, which reads the files. */
    if ((rc = cat_tls_apply_listener(&run->opts->tls, l, &what)) != 0) {
        cat_report("cannot use %s on %s: %s", what, url, msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    if ((rc = msock_listener_start(l, 0)) != 0) {
        cat_report("cannot listen on %s: %s", url, msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    if (run->opts->verbose > 0) {
        /* The bound URL carries the real port when the given one was 0. */
        if (msock_listener_get_string(l, MSOCK_OPT_URL, bound, &len) != 0)
            snprintf(bound, sizeof(bound), "%s", url);
        cat_report("listening on %s", bound);
    }
    return CAT_STEP_OK;
}

static enum cat_step start_dialer(struct cat_run *run, const char *url)
{
    msock_dialer d;
    const char *what = NULL;
    int rc;

    if ((rc = msock_dialer_create(&d, run->sock, url)) != 0) {
        cat_report("cannot dial %s: %s", url, msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    if ((rc = cat_tls_apply_dialer(&run->opts->tls, d, &what)) != 0) {
        cat_report("cannot use %s on %s: %s", what, url, msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    if ((rc = msock_dialer_start(d, run->opts->async ? MSOCK_FLAG_NONBLOCK : 0)) != 0) {
        cat_report("cannot dial %s: %s", url, msock_strerror(rc));
        return CAT_STEP_FAILED;
    }
    if (run->opts->verbose > 0)
        cat_report(run->opts->async ? "dialing %s" : "connected to %s", url);
    return CAT_STEP_OK;
}

/* Listeners first, so that a socket may dial its own listener. */
static enum cat_step start_endpoints(struct cat_run *run)
{
    const struct cat_options *opts = run->opts;

    for (size_t i = 0; i < opts->endpoint_count; i++)
        if (opts->endpoints[i].kind == CAT_ENDPOINT_LISTEN &&
            start_listener(run, opts->endpoints[i].url) != CAT_STEP_OK)
            return CAT_STEP_FAILED;
    for (size_t i = 0; i < opts->endpoint_count; i++)
        if (opts->endpoints[i].kind == CAT_ENDPOINT_DIAL &&
            start_dialer(run, opts->endpoints[i].url) != CAT_STEP_OK)
            return CAT_STEP_FAILED;
    return CAT_STEP_OK;
}

static int64_t earliest(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Every protocol but req and surveyor, and the group client, whose sends and receives go
 * through run's hooks. The schedule, as nngcat's: --data goes after --delay, then every
 * --interval. --count counts sends when the socket sends on an interval or only sends, and
 * received messages otherwise (for rep and respondent: answered requests; for a group client:
 * data, not events). A pair or bus that sent its last message on an interval keeps printing for
 * one more interval. */
static enum cat_step run_loop(struct cat_run *run, bool sends, bool receives)
{
    const struct cat_options *opts = run->opts;
    bool count_sends = sends && (!receives || opts->interval_ms > 0);
    int64_t next_send = sends ? cat_now_ms() + opts->delay_ms : CAT_NEVER;
    int64_t finish_at = CAT_NEVER;
    /* A receive timeout runs from the last send or message, or from the start. */
    int64_t recv_deadline = receives && !sends ? cat_deadline_in(opts->recv_timeout_ms) : CAT_NEVER;

    for (;;) {
        int64_t now = cat_now_ms();
        enum cat_step st;
        bool got;

        if (cat_stop_requested())
            return CAT_STEP_DONE;
        if (next_send <= now) {
            if ((st = run->send_data(run)) != CAT_STEP_OK)
                return st;
            now = cat_now_ms();
            next_send = opts->interval_ms > 0 ? next_send + opts->interval_ms : CAT_NEVER;
            if (next_send <= now)
                next_send = now + opts->interval_ms; /* a slow send must not cause a burst */
            if (count_sends && opts->count > 0 && run->sent >= opts->count)
                next_send = CAT_NEVER;
            if (next_send == CAT_NEVER) {
                if (!receives)
                    return CAT_STEP_DONE;
                if (count_sends)
                    finish_at = now + opts->interval_ms;
            }
            if (receives)
                recv_deadline = cat_deadline_in(opts->recv_timeout_ms);
            continue;
        }
        if (now >= finish_at)
            return CAT_STEP_DONE;
        if (now >= recv_deadline) {
            if (opts->verbose > 0)
                cat_report("receive timed out");
            return CAT_STEP_DONE;
        }
        if (receives) {
            if ((st = run->receive_ready(run, &got)) != CAT_STEP_OK)
                return st;
            if (got) {
                if (!count_sends && opts->count > 0 && run->received >= opts->count)
                    return CAT_STEP_DONE;
                recv_deadline = cat_deadline_in(opts->recv_timeout_ms);
                continue;
            }
        }
        int64_t deadline = earliest(earliest(next_send, finish_at), recv_deadline);
        int fd = receives ? run->recv_fd : CAT_FD_NONE;
        if (cat_wait_until(fd, receives, deadline) == CAT_WAIT_STOPPED)
            return CAT_STEP_DONE;
    }
}

/* One round of req or surveyor: prints the answers to the request or survey sent at asked_at,
 * until the reply (req), the end of the survey, --recv-timeout without an answer, or
 * round_end, when the next round is due. */
static enum cat_step collect_answers(struct cat_run *run, int64_t asked_at, int64_t round_end)
{
    const struct cat_options *opts = run->opts;
    bool one_answer = opts->proto->exchange == CAT_EXCHANGE_REQUEST;
    int64_t survey_end = one_answer ? CAT_NEVER : asked_at + run->survey_ms;
    int64_t quiet_end = cat_deadline_in(opts->recv_timeout_ms);

    for (;;) {
        msock_msg *m;
        int rc = msock_recvmsg(run->sock, &m, MSOCK_FLAG_NONBLOCK);
        int fd = run->recv_fd;
        int64_t now, wake;

        if (rc == 0) {
            enum cat_step st = cat_print_message(run, m);
            msock_msg_free(m);
            if (st != CAT_STEP_OK || one_answer)
                return st;
            quiet_end = cat_deadline_in(opts->recv_timeout_ms);
            continue;
        }
        /* The survey is over, or nothing is outstanding any more: the round is complete. */
        if (rc == MSOCK_ETIMEDOUT || rc == MSOCK_ESTATE)
            return CAT_STEP_OK;
        if (rc != MSOCK_EAGAIN) {
            cat_report("cannot receive: %s", msock_strerror(rc));
            return CAT_STEP_FAILED;
        }
        now = cat_now_ms();
        if (now >= quiet_end && opts->verbose > 0)
            cat_report("receive timed out");
        if (now >= round_end || now >= quiet_end)
            return CAT_STEP_OK;
        wake = earliest(round_end, quiet_end);
        /* The library ends a survey on its own timer; the fd need not say so, so we wake at
         * the deadline and then retry until it does, for a bounded while. */
        if (now < survey_end)
            wake = earliest(wake, survey_end);
        else if (now < survey_end + SURVEY_GRACE_MS)
            fd = -1;
        else
            return CAT_STEP_OK;
        if (cat_wait_until(fd, true, wake) == CAT_WAIT_STOPPED)
            return CAT_STEP_DONE;
    }
}

/* Req and surveyor, as nngcat drives them: ask with --data after --delay, print the answers,
 * and ask again every --interval. --count counts rounds; with neither --count nor --interval
 * there is one round. */
static enum cat_step run_rounds(struct cat_run *run)
{
    const struct cat_options *opts = run->opts;
    int64_t next_ask = cat_now_ms() + opts->delay_ms;

    for (;;) {
        int64_t asked_at, round_end;
        enum cat_step st;

        if (cat_wait_until(CAT_FD_NONE, false, next_ask) == CAT_WAIT_STOPPED)
            return CAT_STEP_DONE;
        asked_at = cat_now_ms();
        if ((st = cat_send_data(run)) != CAT_STEP_OK)
            return st;
        round_end = opts->interval_ms > 0 ? asked_at + opts->interval_ms : CAT_NEVER;
        if ((st = collect_answers(run, asked_at, round_end)) != CAT_STEP_OK)
            return st;
        if (opts->count > 0 ? run->sent >= opts->count : opts->interval_ms == 0)
            return CAT_STEP_DONE;
        next_ask = round_end == CAT_NEVER ? cat_now_ms() : round_end;
    }
}

/* --stats: every statistic of the socket, one "msockcat: NAME VALUE" line each. */
static void print_stats(const struct cat_run *run)
{
    for (int stat = 0; stat < MSOCK_STAT_COUNT; stat++) {
        const char *name = msock_stat_name(stat);
        uint64_t value;
        int rc;

        if (name == NULL)
            continue;
        if ((rc = msock_stat_get(run->sock, stat, &value)) != 0)
            cat_report("cannot read statistic %s: %s", name, msock_strerror(rc));
        else
            cat_report("%s %" PRIu64, name, value);
    }
}

/* What the socket does once its endpoints are up. */
static enum cat_step run_exchange(struct cat_run *run)
{
    const struct cat_options *opts = run->opts;
    bool sends = opts->data_given && opts->proto->exchange == CAT_EXCHANGE_STREAM;
    bool receives = (opts->proto->roles & CAT_ROLE_RECV) != 0;
    enum cat_step st;

    switch (opts->proto->exchange) {
    case CAT_EXCHANGE_REQUEST:
    case CAT_EXCHANGE_SURVEY: return run_rounds(run);
    case CAT_EXCHANGE_GROUP_HUB: return cat_group_hub_run(run);
    case CAT_EXCHANGE_GROUP:
        if ((st = cat_group_client_start(run, &sends, &receives)) != CAT_STEP_OK)
            return st;
        break;
    case CAT_EXCHANGE_STREAM:
    case CAT_EXCHANGE_REPLY: break;
    }
    return run_loop(run, sends, receives);
}

static int run_cat(const struct cat_options *opts)
{
    struct cat_run run = {.opts = opts,
                          .send_data = cat_send_data,
                          .receive_ready = cat_receive_ready,
                          .send_fd = -1,
                          .recv_fd = -1};
    enum cat_step st;

    if (cat_install_signals() != 0) {
        cat_report("cannot set up signal handling: %s", strerror(errno));
        return EXIT_FAILURE;
    }
    st = open_socket(&run);
    if (st == CAT_STEP_OK && opts->proto->exchange == CAT_EXCHANGE_GROUP_HUB)
        st = cat_group_hub_configure(&run);
    if (st == CAT_STEP_OK)
        st = start_endpoints(&run);
    if (st == CAT_STEP_OK)
        st = run_exchange(&run);
    if (run.sock_open) {
        /* Read before closing: a closed socket has no statistics to give. */
        if (opts->stats)
            print_stats(&run);
        msock_close(run.sock); /* lingers so that queued messages still go out */
    }
    msock_fini();
    return st == CAT_STEP_FAILED ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The --help text; the same flags as nngcat and nanocat. */
static void print_usage(FILE *out)
{
    fputs("Usage: msockcat PROTOCOL ADDRESS... [FORMAT] [OPTION...] [DATA]\n"
          "       msockcat --group-hub --bind URL... [--max-conns N]\n"
          "       msockcat --group --dial URL [GROUP OPTION...] [FORMAT] [OPTION...] [DATA]\n"
          "Sends and receives Scalability Protocols messages; takes the flags of nngcat and\n"
          "nanocat. Long options may be shortened to any unique prefix.\n"
          "\n"
          "PROTOCOL (one; each also with a 0 at the end, as in --req0):\n"
          "  --push, --pull             pipeline: push sends DATA, pull prints\n"
          "  --pub, --sub               publish DATA; subscribe and print\n"
          "  --req                      send DATA as a request, print the reply\n"
          "  --rep                      print each request, answer it with DATA\n"
          "  --surveyor                 send DATA as a survey, print the responses\n"
          "  --respondent               print each survey, answer it with DATA\n"
          "  --bus                      send DATA to every peer, print what comes\n"
          "  --pair0, --pair            pair, version 0: send DATA, print what comes\n"
          "  --pair1                    pair, version 1 (nng)\n"
          "\n"
          "ADDRESS (one or more):\n"
          "  --listen URL, --bind URL   listen on URL (tcp://HOST:PORT, ipc://PATH)\n"
          "  --dial URL, --connect URL  dial URL\n"
          "  -L, --bind-local PORT      listen on tcp://127.0.0.1:PORT\n"
          "  -l, --connect-local PORT   dial tcp://127.0.0.1:PORT\n"
          "  -X, --bind-ipc PATH        listen on ipc://PATH\n"
          "  -x, --connect-ipc PATH     dial ipc://PATH\n"
          "  URL is tcp://HOST:PORT, ipc://PATH, ws://HOST:PORT/PATH, or with TLS\n"
          "  tls+tcp://HOST:PORT, wss://HOST:PORT/PATH\n"
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
          "  --subscribe TOPIC          sub: receive messages starting with TOPIC (repeatable;\n"
          "                             without it, every message)\n"
          "  -C, --count N              stop after N messages (req, surveyor: N rounds)\n"
          "  -d, --delay SEC            wait SEC seconds before the first send\n"
          "  -i, --interval SEC         send again every SEC seconds\n"
          "  --recv-timeout SEC         stop when no message came for SEC seconds\n"
          "  --send-timeout SEC         fail when a send waits longer than SEC seconds\n"
          "  -Z, --recv-maxsz BYTES     drop peers sending larger messages (0: no limit)\n"
          "  --async, --compat          dial in the background and keep redialling\n"
          "  --socket-name NAME         name the socket\n"
          "  --stats                    print the socket's statistics on standard error at exit\n"
          "  -v, --verbose              report what happens on standard error (repeatable)\n"
          "  -q, --silent               report nothing but errors\n"
          "  -E, --cert FILE            TLS: our certificate (PEM); a listener needs one, a\n"
          "                             dialer shows it to the listener\n"
          "  --key FILE                 TLS: the key of --cert (default: in the --cert file)\n"
          "  --cacert FILE              TLS: the CAs that verify the peer (default: the system's);\n"
          "                             a listener then requires a client certificate\n"
          "  -k, --insecure             TLS: verify no peer certificate\n"
          "  -h, --help                 show this help\n"
          "  -V, --version              show the version\n"
          "\n"
          "GROUP (msockcat's own; see msockcat(1)):\n"
          "  --group-hub                run a group hub until stopped\n"
          "  --max-conns N              hub: serve at most N clients at once (0: no limit)\n"
          "  --group                    a group client of the hub at --dial URL\n"
          "  --whoami                   print this client's id\n"
          "  --create CAPACITY          create the group of --join with --password and\n"
          "                             --master-password, then join it as master\n"
          "  --join NAME                join the group NAME: as master with --master-password\n"
          "                             PW, else as a member with --password PW\n"
          "  --list-groups              print one line per group:\n"
          "                             name=\"NAME\" members=N capacity=N master=yes|no\n"
          "  --peers                    print the ids of the other clients, one a line\n"
          "  --to ID                    master: send DATA to member ID only\n"
          "  --relay ID,ID,...          send DATA to these clients instead of the group\n"
          "  Received data is printed in FORMAT; -v reports events on standard error;\n"
          "  --count counts data, not events.\n",
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
