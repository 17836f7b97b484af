/* cat_group.c: msockcat's group modes: a hub that routes until stopped, and a client that asks
 * the hub, joins, sends --data to its group or relays it to ids, and prints what arrives. */
#include "cat_group.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_format.h"

/* The most groups or peers fetched and printed, whatever count a hub claims: a bound on
 * memory (1000 is the hub's default limit for both). */
#define MAX_LISTED 100000

/* Fetches again when the hub's count grew between two calls, at most this often. */
#define FETCH_ATTEMPTS 4

/* Messages a client that prints nothing takes before each send, at most. */
#define DRAIN_MAX 10000

/* Reports "msockcat: WHAT: text (MSOCK_ENAME)". */
static void report_failure(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report_failure(int rc, const char *fmt, ...)
{
    char what[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    cat_report("%s: %s (%s)", what, msock_strerror(rc), msock_errname(rc));
}

static enum cat_step flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cat_report("cannot write to standard output: %s", strerror(errno));
        return CAT_STEP_FAILED;
    }
    return CAT_STEP_OK;
}

/* ---- the hub ---- */

enum cat_step cat_group_hub_configure(struct cat_run *run)
{
    const struct cat_group_options *g = &run->opts->group;
    int rc;

    if (g->max_conns_given &&
        (rc = msock_socket_set_int(run->sock, MSOCK_OPT_GROUP_MAX_CLIENTS, g->max_conns)) != 0) {
        report_failure(rc, "cannot set --max-conns to %d", g->max_conns);
        return CAT_STEP_FAILED;
    }
    return CAT_STEP_OK;
}

enum cat_step cat_group_hub_run(struct cat_run *run)
{
    /* The library routes on its own threads: there is nothing to do but wait for a signal. */
    cat_wait_until(CAT_FD_NONE, false, CAT_NEVER);
    if (run->opts->verbose > 0)
        cat_report("stopping the hub");
    return CAT_STEP_DONE;
}

/* ---- a client's calls ---- */

static enum cat_step print_whoami(struct cat_run *run)
{
    uint64_t id;
    int rc = msock_group_whoami(run->sock, &id);

    if (rc != 0) {
        report_failure(rc, "cannot ask the hub for our id");
        return CAT_STEP_FAILED;
    }
    printf("%" PRIu64 "\n", id);
    return flush_stdout();
}

static enum cat_step create_group(struct cat_run *run)
{
    const struct cat_group_options *g = &run->opts->group;
    const char *password = g->password != NULL ? g->password : "";
    int rc = msock_group_create(run->sock, g->name, strlen(g->name), password, strlen(password),
                                g->master_password, strlen(g->master_password), g->capacity);

    if (rc != 0) {
        report_failure(rc, "cannot create group '%s'", g->name);
        return CAT_STEP_FAILED;
    }
    if (run->opts->verbose > 0)
        cat_report("created group '%s' with capacity %" PRIu32, g->name, g->capacity);
    return CAT_STEP_OK;
}

/* As master with --master-password, else as a member with --password (empty if not given). */
static enum cat_step join_group(struct cat_run *run)
{
    const struct cat_group_options *g = &run->opts->group;
    bool master = g->master_password != NULL;
    const char *password = master ? g->master_password : g->password != NULL ? g->password : "";
    const char *role = master ? "master" : "member";
    int rc = msock_group_join(run->sock, g->name, strlen(g->name), password, strlen(password),
                              master ? MSOCK_GROUP_MASTER : MSOCK_GROUP_MEMBER, &run->group);

    if (rc != 0) {
        report_failure(rc, "cannot join group '%s' as %s", g->name, role);
        return CAT_STEP_FAILED;
    }
    if (run->opts->verbose > 0)
        cat_report("joined group '%s' (%" PRIu32 ") as %s", g->name, run->group, role);
    return CAT_STEP_OK;
}

/* A call that fills up to *n items and sets *n to how many the hub has. */
typedef int (*fetch_fn)(msock_socket s, void *items, size_t *n);

static int fetch_groups(msock_socket s, void *items, size_t *n)
{
    return msock_group_list(s, items, n);
}

static int fetch_peers(msock_socket s, void *items, size_t *n)
{
    return msock_group_peers(s, items, n);
}

/* Calls fetch with a buffer large enough for the hub's answer (up to MAX_LISTED items): *items
 * gets the buffer (to free) and *count the items in it. Returns 0 or an MSOCK_E* code. */
static int fetch_all(msock_socket s, fetch_fn fetch, size_t item_size, void **items,
                     size_t *count)
{
    size_t cap = 16, n = 0;
    void *buf = NULL;
    int rc = 0;

    for (int attempt = 0; attempt < FETCH_ATTEMPTS; attempt++) {
        void *bigger = realloc(buf, cap * item_size);
        if (bigger == NULL) {
            rc = MSOCK_ENOMEM;
            break;
        }
        buf = bigger;
        n = cap;
        if ((rc = fetch(s, buf, &n)) != 0 || n <= cap || cap == MAX_LISTED)
            break;
        /* a little room for what arrives before the next call */
        cap = n < MAX_LISTED - 16 ? n + 16 : MAX_LISTED;
    }
    if (rc != 0) {
        free(buf);
        return rc;
    }
    if (n > cap)
        cat_report("the hub holds %zu; printing %zu", n, cap);
    *items = buf;
    *count = n < cap ? n : cap;
    return 0;
}

/* One line per group: name="NAME" members=N capacity=N master=yes|no, the name quoted as
 * --quoted does, so that any bytes in it keep the line parseable. */
static enum cat_step print_groups(struct cat_run *run)
{
    void *items;
    size_t n;
    int rc = fetch_all(run->sock, fetch_groups, sizeof(msock_group_info), &items, &n);
    const msock_group_info *list = items;

    if (rc != 0) {
        report_failure(rc, "cannot list the groups");
        return CAT_STEP_FAILED;
    }
    for (size_t i = 0; i < n; i++) {
        fputs("name=", stdout);
        cat_format_quote(stdout, list[i].name, list[i].name_len);
        printf(" members=%" PRIu32 " capacity=%" PRIu32 " master=%s\n", list[i].members,
               list[i].capacity, list[i].has_master ? "yes" : "no");
    }
    free(items);
    return flush_stdout();
}

static enum cat_step print_peers(struct cat_run *run)
{
    void *items;
    size_t n;
    int rc = fetch_all(run->sock, fetch_peers, sizeof(uint64_t), &items, &n);
    const uint64_t *ids = items;

    if (rc != 0) {
        report_failure(rc, "cannot ask the hub for the other clients");
        return CAT_STEP_FAILED;
    }
    for (size_t i = 0; i < n; i++)
        printf("%" PRIu64 "\n", ids[i]);
    free(items);
    return flush_stdout();
}

/* ---- what arrives ---- */

static const char *event_name(int kind)
{
    switch (kind) {
    case MSOCK_GROUP_EV_JOINED: return "member-joined";
    case MSOCK_GROUP_EV_LEFT: return "member-left";
    case MSOCK_GROUP_EV_MASTER_JOINED: return "master-joined";
    case MSOCK_GROUP_EV_MASTER_LEFT: return "master-left";
    case MSOCK_GROUP_EV_DELETED: return "group-deleted";
    case MSOCK_GROUP_EV_UNDELIVERED: return "undelivered";
    default: return "unknown";
    }
}

/* Events are reported only with -v, as "event NAME group G id ID"; a lost hub connection
 * ends the run, since every membership went with it. */
static enum cat_step handle_event(struct cat_run *run, const msock_group_rx *rx)
{
    if (rx->kind == MSOCK_GROUP_EV_DISCONNECTED) {
        if (rx->error != 0)
            report_failure(rx->error, "lost the connection to the hub");
        else
            cat_report("lost the connection to the hub");
        return CAT_STEP_FAILED;
    }
    if (rx->kind == MSOCK_GROUP_EV_DELETED && rx->group == run->group)
        run->group = 0;
    if (run->opts->verbose <= 0)
        return CAT_STEP_OK;
    if (rx->error != 0)
        report_failure(rx->error, "event %s group %" PRIu32 " id %" PRIu64, event_name(rx->kind),
                       rx->group, rx->from);
    else
        cat_report("event %s group %" PRIu32 " id %" PRIu64, event_name(rx->kind), rx->group,
                   rx->from);
    return CAT_STEP_OK;
}

static enum cat_step print_data(struct cat_run *run, const msock_group_rx *rx, msock_msg *m)
{
    size_t len = msock_msg_len(m);

    run->received++;
    if (run->opts->verbose > 1) {
        if (rx->kind == MSOCK_GROUP_DATA)
            cat_report("received %zu bytes from %" PRIu64 " in group %" PRIu32, len, rx->from,
                       rx->group);
        else
            cat_report("received %zu bytes relayed from %" PRIu64, len, rx->from);
    }
    if (cat_format_write(stdout, run->opts->format, msock_msg_body(m), len) != 0) {
        cat_report("cannot write to standard output: %s", strerror(errno));
        return CAT_STEP_FAILED;
    }
    return CAT_STEP_OK;
}

/* The receive hook: data and relays are printed and counted, events are not counted. */
static enum cat_step group_receive_ready(struct cat_run *run, bool *got)
{
    msock_group_rx rx;
    msock_msg *m;
    int rc = msock_group_recvmsg(run->sock, &rx, &m, MSOCK_FLAG_NONBLOCK);
    enum cat_step st;

    *got = false;
    if (rc == MSOCK_EAGAIN)
        return CAT_STEP_OK;
    if (rc != 0) {
        report_failure(rc, "cannot receive");
        return CAT_STEP_FAILED;
    }
    *got = true;
    if (rx.kind == MSOCK_GROUP_DATA || rx.kind == MSOCK_GROUP_RELAYED)
        st = print_data(run, &rx, m);
    else
        st = handle_event(run, &rx);
    msock_msg_free(m);
    return st;
}

/* ---- what goes out ---- */

/* ids as "12,13", cut short if buf is too small. */
static void join_ids(char *buf, size_t len, const uint64_t *ids, size_t n)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%" PRIu64, i > 0 ? "," : "", ids[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static enum cat_step relay_data(struct cat_run *run)
{
    const struct cat_options *opts = run->opts;
    const struct cat_group_options *g = &opts->group;
    uint64_t unknown[MSOCK_GROUP_RELAY_MAX];
    size_t n_unknown = MSOCK_GROUP_RELAY_MAX;
    char listed[MSOCK_GROUP_RELAY_MAX * 21 + 1]; /* 20 digits and a comma each */
    int rc = msock_group_relay(run->sock, g->relay_ids, g->relay_count, opts->data,
                               opts->data_len, unknown, &n_unknown);

    if (rc == MSOCK_ENOENT) {
        join_ids(listed, sizeof(listed), unknown,
                 n_unknown < MSOCK_GROUP_RELAY_MAX ? n_unknown : MSOCK_GROUP_RELAY_MAX);
        report_failure(rc, "cannot relay to %zu of %zu ids, not connected: %s", n_unknown,
                       g->relay_count, listed);
        return CAT_STEP_FAILED;
    }
    if (rc != 0) {
        report_failure(rc, "cannot relay");
        return CAT_STEP_FAILED;
    }
    run->sent++;
    if (opts->verbose > 1)
        cat_report("relayed %zu bytes to %zu ids", opts->data_len, g->relay_count);
    return CAT_STEP_OK;
}

/* Sends --data to the joined group (to --to, if given), waiting at most --send-timeout. */
static enum cat_step send_to_group(struct cat_run *run)
{
    const struct cat_options *opts = run->opts;
    const struct cat_group_options *g = &opts->group;
    int64_t deadline = cat_deadline_in(opts->send_timeout_ms);

    for (;;) {
        int rc = msock_group_send(run->sock, run->group, g->to, opts->data, opts->data_len,
                                  MSOCK_FLAG_NONBLOCK);
        enum cat_wait_result waited;

        if (rc == 0) {
            run->sent++;
            if (opts->verbose > 1)
                cat_report("sent %zu bytes", opts->data_len);
            return CAT_STEP_OK;
        }
        if (rc != MSOCK_EAGAIN) {
            report_failure(rc, "cannot send to group '%s'", g->name);
            return CAT_STEP_FAILED;
        }
        waited = cat_wait_until(run->send_fd, true, deadline);
        if (waited == CAT_WAIT_READY)
            continue;
        if (waited == CAT_WAIT_STOPPED)
            return CAT_STEP_DONE;
        report_failure(MSOCK_ETIMEDOUT, "cannot send to group '%s'", g->name);
        return CAT_STEP_FAILED;
    }
}

/* The send hook. A client that prints nothing (no output format: the schedule never receives
 * when it sends) still takes what arrived first, so that a full receive queue cannot hold
 * back the hub's answers to its relays, and a lost hub connection ends the run. */
static enum cat_step group_send_data(struct cat_run *run)
{
    enum cat_step st;

    if (!run->opts->format_given) {
        for (int i = 0; i < DRAIN_MAX; i++) {
            bool got;
            if ((st = group_receive_ready(run, &got)) != CAT_STEP_OK)
                return st;
            if (!got)
                break;
        }
    }
    return run->opts->group.relay_count > 0 ? relay_data(run) : send_to_group(run);
}

enum cat_step cat_group_client_start(struct cat_run *run, bool *sends, bool *receives)
{
    const struct cat_options *opts = run->opts;
    const struct cat_group_options *g = &opts->group;
    enum cat_step st = CAT_STEP_OK;

    if (g->whoami)
        st = print_whoami(run);
    if (st == CAT_STEP_OK && g->capacity != 0)
        st = create_group(run);
    if (st == CAT_STEP_OK && g->name != NULL)
        st = join_group(run);
    if (st == CAT_STEP_OK && g->list_groups)
        st = print_groups(run);
    if (st == CAT_STEP_OK && g->peers)
        st = print_peers(run);
    if (st != CAT_STEP_OK)
        return st;
    run->send_data = group_send_data;
    run->receive_ready = group_receive_ready;
    *sends = opts->data_given;
    /* A member or master that sends nothing is there to receive, even without printing (as a
     * pull without a format): -v shows its events. */
    *receives = opts->format_given || (!opts->data_given && run->group != 0);
    return *sends || *receives ? CAT_STEP_OK : CAT_STEP_DONE;
}
