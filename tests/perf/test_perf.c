/* test_perf.c: runs every perf program with tiny counts over inproc, ipc and tcp and checks that
 * it exits cleanly and prints its contract lines with sane numbers; never asserts speed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* Each child gets this long; generous for sanitizer builds on a loaded two-core machine. */
#define CHILD_DEADLINE_MS 60000
#define MAX_ARGS 8
#define SIZE_ARG "64"
#define ROUNDTRIPS_ARG "200"
#define COUNT_ARG "2000"

static char perf_dir[PATH_MAX];

/* ---- children ---- */

/* The children of the running test; the teardown stops every one, also after a failed assert. */
#define MAX_KIDS 2
static tu_child kids[MAX_KIDS];
static int kid_count;

static tu_child *spawn(const char *program, const char *const args[])
{
    static char paths[MAX_KIDS][PATH_MAX + 32];
    const char *argv[MAX_ARGS + 2];
    int argc = 0;
    assert_true(kid_count < MAX_KIDS);
    snprintf(paths[kid_count], sizeof(paths[kid_count]), "%s/%s", perf_dir, program);
    argv[argc++] = paths[kid_count];
    for (int i = 0; args[i] != NULL; i++) {
        assert_true(argc < MAX_ARGS + 1);
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;
    tu_child *c = &kids[kid_count++];
    int rc = tu_child_start(c, argv);
    if (rc != 0)
        fail_msg("cannot start %s: %s", argv[0], strerror(-rc));
    return c;
}

static int stop_kids(void **state)
{
    (void)state;
    for (int i = 0; i < kid_count; i++) {
        tu_child_stop(&kids[i]);
        tu_child_release(&kids[i]);
    }
    kid_count = 0;
    return 0;
}

/* Waits for the child to exit by itself with status 0 and returns its whole stdout. */
static const char *finish(tu_child *c, const char *program)
{
    if (!tu_child_wait_exit(c, CHILD_DEADLINE_MS)) {
        tu_child_stop(c);
        fail_msg("%s still runs after %d s; stderr: %s", program, CHILD_DEADLINE_MS / 1000,
                 c->err);
    }
    tu_child_stop(c); /* collects what is left in the pipes */
    if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)
        fail_msg("%s failed (status 0x%x); stderr: %s", program, (unsigned)c->status, c->err);
    char *grown = realloc(c->out, c->out_len + 1);
    assert_non_null(grown);
    grown[c->out_len] = '\0';
    c->out = grown;
    c->out_cap = c->out_len + 1;
    return c->out;
}

/* Waits for the "bound: URL" line a listening program prints on stderr. */
static void wait_bound(tu_child *c, const char *program, char *url, size_t len)
{
    int64_t deadline = tu_deadline_in(CHILD_DEADLINE_MS);
    for (;;) {
        const char *line = strstr(c->err, "bound: ");
        const char *end = line != NULL ? strchr(line, '\n') : NULL;
        if (end != NULL) {
            line += strlen("bound: ");
            assert_true((size_t)(end - line) < len);
            memcpy(url, line, (size_t)(end - line));
            url[end - line] = '\0';
            return;
        }
        if (tu_deadline_passed(deadline) || (c->out_fd < 0 && c->err_fd < 0))
            fail_msg("%s printed no bound URL; stderr: %s", program, c->err);
        tu_child_read(c, SIZE_MAX, 20);
    }
}

/* ---- output lines ---- */

/* Finds the line "PREFIX NUMBER SUFFIX", exactly, and returns the number. Two lines may share a
 * prefix ("mean throughput: "), so the suffix tells them apart. */
static double line_value(const char *out, const char *prefix, const char *suffix)
{
    size_t prefix_len = strlen(prefix);
    for (const char *line = out; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t line_len = end != NULL ? (size_t)(end - line) : strlen(line);
        if (line_len > prefix_len && line_len < 256 && strncmp(line, prefix, prefix_len) == 0) {
            char copy[256], *after;
            memcpy(copy, line, line_len);
            copy[line_len] = '\0';
            double v = strtod(copy + prefix_len, &after);
            if (after != copy + prefix_len && strcmp(after, suffix) == 0)
                return v;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    fail_msg("no line '%sN%s' in output:\n%s", prefix, suffix, out);
    return 0;
}

static void expect_positive(const char *out, const char *prefix, const char *suffix)
{
    double v = line_value(out, prefix, suffix);
    if (!(v > 0))
        fail_msg("'%s' is %f, want a positive number; output:\n%s", prefix, v, out);
}

static void check_latency_output(const char *out)
{
    expect_positive(out, "average latency: ", " [us]");
    expect_positive(out, "p50 latency: ", " [us]");
    expect_positive(out, "p99 latency: ", " [us]");
    assert_true(line_value(out, "p50 latency: ", " [us]") <=
                line_value(out, "p99 latency: ", " [us]"));
}

static void check_throughput_output(const char *out)
{
    assert_int_equal((int)line_value(out, "message size: ", " [B]"), atoi(SIZE_ARG));
    assert_int_equal((int)line_value(out, "message count: ", ""), atoi(COUNT_ARG));
    expect_positive(out, "mean throughput: ", " [msg/s]");
    expect_positive(out, "mean throughput: ", " [Mb/s]");
    expect_positive(out, "rss: ", " [KiB]");
    line_value(out, "rss growth after warm-up: ", " [KiB]"); /* may be 0 or negative */
}

/* ---- cases ---- */

static void test_inproc_lat(void **state)
{
    (void)state;
    tu_child *c = spawn("inproc_lat", (const char *const[]){SIZE_ARG, ROUNDTRIPS_ARG, NULL});
    check_latency_output(finish(c, "inproc_lat"));
}

static void test_inproc_thr(void **state)
{
    (void)state;
    tu_child *c = spawn("inproc_thr", (const char *const[]){SIZE_ARG, COUNT_ARG, NULL});
    check_throughput_output(finish(c, "inproc_thr"));
}

/* A listening address for the local_* programs: port 0 for tcp, a fresh path for ipc. */
static void listen_url(tu_transport t, char *url, size_t len)
{
    if (t == TU_TCP4) {
        snprintf(url, len, "tcp://127.0.0.1:0");
        return;
    }
    char path[TU_URL_MAX / 2];
    tu_tmp_path(path, sizeof(path), "perf");
    snprintf(url, len, "ipc://%s", path);
}

/* local_NAME listens first; remote_NAME dials the address it prints. Returns the timing side's
 * output (remote_lat for latency, local_thr for throughput). */
static const char *run_local_remote(tu_transport t, const char *kind, const char *n_arg)
{
    char local[32], remote[32], url[TU_URL_MAX], bound[TU_URL_MAX];
    snprintf(local, sizeof(local), "local_%s", kind);
    snprintf(remote, sizeof(remote), "remote_%s", kind);
    listen_url(t, url, sizeof(url));
    tu_child *listener = spawn(local, (const char *const[]){url, SIZE_ARG, n_arg, NULL});
    wait_bound(listener, local, bound, sizeof(bound));
    tu_child *dialer = spawn(remote, (const char *const[]){bound, SIZE_ARG, n_arg, NULL});
    const char *dialer_out = finish(dialer, remote);
    const char *listener_out = finish(listener, local);
    return strcmp(kind, "lat") == 0 ? dialer_out : listener_out;
}

static void test_lat_ipc(void **state)
{
    (void)state;
    check_latency_output(run_local_remote(TU_IPC, "lat", ROUNDTRIPS_ARG));
}

static void test_lat_tcp(void **state)
{
    (void)state;
    check_latency_output(run_local_remote(TU_TCP4, "lat", ROUNDTRIPS_ARG));
}

static void test_thr_ipc(void **state)
{
    (void)state;
    check_throughput_output(run_local_remote(TU_IPC, "thr", COUNT_ARG));
}

static void test_thr_tcp(void **state)
{
    (void)state;
    check_throughput_output(run_local_remote(TU_TCP4, "thr", COUNT_ARG));
}

/* The dialing side may start first: it keeps redialing until the listener is up. */
static void test_remote_starts_first(void **state)
{
    (void)state;
    char path[TU_URL_MAX / 2], url[TU_URL_MAX];
    tu_tmp_path(path, sizeof(path), "early");
    snprintf(url, sizeof(url), "ipc://%s", path);
    tu_child *sender = spawn("remote_thr", (const char *const[]){url, SIZE_ARG, COUNT_ARG, NULL});
    tu_sleep_ms(200); /* gives the dialer time to fail at least once; correctness needs none */
    tu_child *receiver = spawn("local_thr", (const char *const[]){url, SIZE_ARG, COUNT_ARG, NULL});
    check_throughput_output(finish(receiver, "local_thr"));
    finish(sender, "remote_thr");
}

static void run_reqrep(const char *url)
{
    tu_child *c = spawn("reqrep_bench", (const char *const[]){url, "20", "1", "581", NULL});
    const char *out = finish(c, "reqrep_bench");
    expect_positive(out, "requests/s: ", "");
    expect_positive(out, "latency p50: ", " [us]");
    expect_positive(out, "latency p99: ", " [us]");
    expect_positive(out, "latency max: ", " [us]");
    assert_true(line_value(out, "latency p99: ", " [us]") <=
                line_value(out, "latency max: ", " [us]"));
}

static void test_reqrep_inproc(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "inproc://perf_test_%ld", (long)getpid());
    run_reqrep(url);
}

static void test_reqrep_ipc(void **state)
{
    (void)state;
    char url[TU_URL_MAX];
    listen_url(TU_IPC, url, sizeof(url));
    run_reqrep(url);
}

static void test_reqrep_tcp(void **state)
{
    (void)state;
    run_reqrep("tcp://127.0.0.1:0");
}

static void run_idle_conns(const char *url)
{
    tu_child *c = spawn("idle_conns", (const char *const[]){url, "200", NULL});
    const char *out = finish(c, "idle_conns");
    assert_int_equal((int)line_value(out, "connections: ", ""), 200);
    expect_positive(out, "rss: ", " [KiB]");
    line_value(out, "rss per connection: ", " [B]"); /* page granularity may make it 0 */
}

static void test_idle_conns_tcp(void **state)
{
    (void)state;
    run_idle_conns("tcp://127.0.0.1:0");
}

static void test_idle_conns_ipc(void **state)
{
    (void)state;
    char url[TU_URL_MAX];
    listen_url(TU_IPC, url, sizeof(url));
    run_idle_conns(url);
}

/* group_bench with ten members: every message is delivered or counted as a drop. */
static void run_group_bench(const char *mode, const char *url, const char *members,
                            const char *count)
{
    tu_child *c =
        spawn("group_bench", (const char *const[]){mode, url, members, count, "1024", NULL});
    const char *out = finish(c, "group_bench");
    assert_int_equal((int)line_value(out, "members: ", ""), atoi(members));
    assert_int_equal((int)line_value(out, "message size: ", " [B]"), 1024);
    assert_int_equal((int)line_value(out, "message count: ", ""), atoi(count));
    expect_positive(out, "messages/s: ", "");
    double delivered = line_value(out, "delivered: ", "");
    double drops = line_value(out, "drops: ", "");
    double want = atof(count) * (strcmp(mode, "broadcast") == 0 ? atof(members) : 1);
    if (delivered + drops != want || delivered <= 0)
        fail_msg("%s: %.0f delivered and %.0f dropped, want %.0f in all; output:\n%s", mode,
                 delivered, drops, want, out);
    if (strcmp(mode, "broadcast") == 0)
        expect_positive(out, "deliveries/s: ", "");
}

static void test_group_broadcast_tcp(void **state)
{
    (void)state;
    run_group_bench("broadcast", "tcp://127.0.0.1:0", "10", "200");
}

static void test_group_funnel_tcp(void **state)
{
    (void)state;
    run_group_bench("funnel", "tcp://127.0.0.1:0", "10", "1000");
}

static void test_group_inproc(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "inproc://perf_group_%ld", (long)getpid());
    run_group_bench("broadcast", url, "3", "100");
    stop_kids(NULL);
    run_group_bench("funnel", url, "3", "100");
}

static void test_help_and_bad_arguments(void **state)
{
    (void)state;
    static const char *const programs[] = {"local_lat",  "remote_lat",   "local_thr",
                                           "remote_thr", "inproc_lat",   "inproc_thr",
                                           "reqrep_bench", "idle_conns", "group_bench"};
    for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
        tu_child *c = spawn(programs[i], (const char *const[]){"--help", NULL});
        const char *out = finish(c, programs[i]);
        assert_non_null(strstr(out, "usage: "));
        stop_kids(NULL);

        c = spawn(programs[i], (const char *const[]){"too", "many", "arguments", "here", "x",
                                                     "y", NULL});
        assert_true(tu_child_wait_exit(c, CHILD_DEADLINE_MS));
        assert_true(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 2);
        stop_kids(NULL);
    }
    tu_child *c = spawn("inproc_lat", (const char *const[]){"64", "zero", NULL});
    assert_true(tu_child_wait_exit(c, CHILD_DEADLINE_MS));
    assert_true(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 1);
    stop_kids(NULL);
    c = spawn("group_bench", (const char *const[]){"sideways", "tcp://127.0.0.1:0", "1", "1",
                                                   "1", NULL});
    assert_true(tu_child_wait_exit(c, CHILD_DEADLINE_MS));
    assert_true(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 1);
}

static int require_programs(void **state)
{
    (void)state;
    const char *dir = getenv("PERF_DIR");
    snprintf(perf_dir, sizeof(perf_dir), "%s", dir != NULL && dir[0] != '\0' ? dir : "./perf");
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/inproc_lat", perf_dir);
    if (!tu_executable(path)) {
        fprintf(stderr, "test_perf: no perf programs in %s (set PERF_DIR)\n", perf_dir);
        return -1;
    }
    return 0;
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_inproc_lat, stop_kids),
        cmocka_unit_test_teardown(test_inproc_thr, stop_kids),
        cmocka_unit_test_teardown(test_lat_ipc, stop_kids),
        cmocka_unit_test_teardown(test_lat_tcp, stop_kids),
        cmocka_unit_test_teardown(test_thr_ipc, stop_kids),
        cmocka_unit_test_teardown(test_thr_tcp, stop_kids),
        cmocka_unit_test_teardown(test_remote_starts_first, stop_kids),
        cmocka_unit_test_teardown(test_reqrep_inproc, stop_kids),
        cmocka_unit_test_teardown(test_reqrep_ipc, stop_kids),
        cmocka_unit_test_teardown(test_reqrep_tcp, stop_kids),
        cmocka_unit_test_teardown(test_idle_conns_tcp, stop_kids),
        cmocka_unit_test_teardown(test_idle_conns_ipc, stop_kids),
        cmocka_unit_test_teardown(test_group_broadcast_tcp, stop_kids),
        cmocka_unit_test_teardown(test_group_funnel_tcp, stop_kids),
        cmocka_unit_test_teardown(test_group_inproc, stop_kids),
        cmocka_unit_test_teardown(test_help_and_bad_arguments, stop_kids),
    };
    tu_watchdog(900);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("perf", tests, require_programs, NULL);
}
