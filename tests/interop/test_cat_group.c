/* test_cat_group.c: msockcat's group mode as processes: a --group-hub and --group clients that
 * create, join, list, ask who they are and who is there, relay, send as member and as master
 * (to all and --to one), print what arrives with events under -v and --count counting data
 * only; wrong passwords and other errors exit 1 naming the error. Library clients play the
 * other side where a test needs ids or exact deliveries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "protocol/protoutil.h"

#define ROOM "room, one" /* a comma and a space: names are any bytes */

/* ---- msockcat processes ---- */

/* Spawns `msockcat --group-hub --bind tcp://127.0.0.1:0 -v [--max-conns N]`; url gets the bound
 * address it reports. */
static tu_child *spawn_hub(char *url, size_t len, const char *max_conns)
{
    tu_cmd c;
    tu_cmd_start(&c, TU_MSOCKCAT);
    tu_cmd_add(&c, "--group-hub");
    tu_cmd_add(&c, "--bind");
    tu_cmd_add(&c, "tcp://127.0.0.1:0");
    tu_cmd_add(&c, "-v");
    if (max_conns != NULL) {
        tu_cmd_add(&c, "--max-conns");
        tu_cmd_add(&c, max_conns);
    }
    tu_child *hub = tu_spawn(c.argv);
    if (!tu_msockcat_listen_url(hub, url, len))
        fail_msg("the hub did not report its address; stderr: %s", hub->err);
    return hub;
}

/* `msockcat --group --dial URL` and the NULL-terminated arguments that follow. */
static void group_cmd(tu_cmd *c, const char *url, ...)
{
    va_list ap;
    tu_cmd_start(c, TU_MSOCKCAT);
    tu_cmd_add(c, "--group");
    tu_cmd_add(c, "--dial");
    tu_cmd_add(c, url);
    va_start(ap, url);
    for (const char *arg = va_arg(ap, const char *); arg != NULL; arg = va_arg(ap, const char *))
        tu_cmd_add(c, arg);
    va_end(ap);
}

struct cat_result {
    int status; /* the exit status, -1 if killed by a signal */
    char out[4096];
    char err[2048];
};

/* Runs the command to its end (TU_DEADLINE_MS at most) and keeps its status and output. It must
 * be the newest child, so that its slot is freed for the next. */
static void run_cat(const tu_cmd *cmd, struct cat_result *r)
{
    tu_child *c = tu_spawn(cmd->argv);
    if (!tu_child_wait_exit(c, TU_DEADLINE_MS)) {
        tu_child_stop(c);
        fail_msg("msockcat still runs at the deadline; stderr: %s", c->err);
    }
    tu_child_stop(c);
    r->status = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
    snprintf(r->out, sizeof(r->out), "%.*s", (int)c->out_len, c->out != NULL ? c->out : "");
    snprintf(r->err, sizeof(r->err), "%s", c->err);
    tu_unspawn(c);
}

static void expect_success(const struct cat_result *r, const char *what)
{
    if (r->status != 0)
        fail_msg("%s: status %d; stderr: %s", what, r->status, r->err);
}

/* Status 1 and every needle in stderr. */
static void expect_failure(const struct cat_result *r, const char *what, const char *needle1,
                           const char *needle2)
{
    if (r->status != 1 || strstr(r->err, needle1) == NULL ||
        (needle2 != NULL && strstr(r->err, needle2) == NULL))
        fail_msg("%s: status %d, stderr '%s'; want 1 and '%s'%s%s", what, r->status, r->err,
                 needle1, needle2 != NULL ? " and " : "", needle2 != NULL ? needle2 : "");
}

/* The id a running child printed on its first line (--whoami). */
static uint64_t child_first_id(tu_child *c)
{
    if (tu_child_read_lines(c, 1, TU_DEADLINE_MS) < 1)
        fail_msg("no id printed; stderr: %s", c->err);
    uint64_t id = strtoull(c->out, NULL, 10);
    assert_true(id != 0);
    return id;
}

/* The child's whole stdout (which is not NUL-terminated) is want. */
static void expect_output(const tu_child *c, const char *want)
{
    size_t len = strlen(want);
    if (c->out_len != len || memcmp(c->out, want, len) != 0)
        fail_msg("msockcat printed '%.*s', want '%s'", (int)c->out_len,
                 c->out != NULL ? c->out : "", want);
}

/* Waits for a -v report on the child's stderr. */
static void wait_report(tu_child *c, const char *needle)
{
    if (!tu_child_wait_stderr(c, needle, TU_DEADLINE_MS))
        fail_msg("no '%s' on msockcat's stderr: %s", needle, c->err);
}

static void id_text(char *buf, size_t len, uint64_t id)
{
    snprintf(buf, len, "%" PRIu64, id);
}

/* ---- library clients ---- */

/* Receives the next message of s; fails unless it is of that kind (and, given a body, has that
 * body). Returns the sender. */
static uint64_t expect_rx(msock_socket s, int kind, const char *body)
{
    char buf[256];
    size_t len = sizeof(buf);
    msock_group_rx rx;
    int rc = msock_group_recv(s, &rx, buf, &len, 0);
    if (rc != 0)
        fail_msg("waiting for %s: %s", pu_group_kind_name(kind), tu_errname(rc));
    if (rx.kind != kind)
        fail_msg("received %s, want %s", pu_group_kind_name(rx.kind), pu_group_kind_name(kind));
    if (body != NULL && (len != strlen(body) || memcmp(buf, body, len) != 0))
        fail_msg("%s body '%.*s', want '%s'", pu_group_kind_name(kind),
                 (int)(len < sizeof(buf) ? len : sizeof(buf)), buf, body);
    return rx.from;
}

/* A library client that created ROOM with PU_MEMBER_PW and PU_MASTER_PW and joined it in role
 * (-1: created it only). */
static msock_socket room_client(const char *url, int role, uint32_t *group)
{
    msock_socket s = pu_group_client(url);
    pu_group_create(s, ROOM, 4);
    if (role >= 0)
        *group = pu_group_join(s, ROOM, role);
    return s;
}

/* ---- tests ---- */

/* msockcat creates a group and stays as its master; others list it, ask who they are and who is
 * there; a library member's data reaches the master, which prints it and its join event. */
static void test_create_list_whoami_peers(void **state)
{
    char url[TU_URL_MAX], text[64];
    tu_cmd mcmd, cmd;
    struct cat_result r;
    (void)state;

    spawn_hub(url, sizeof(url), NULL);
    group_cmd(&mcmd, url, "--create", "3", "--join", ROOM, "--password", PU_MEMBER_PW,
              "--master-password", PU_MASTER_PW, "--whoami", "--quoted", "-v", "--count", "1",
              NULL);
    tu_child *master = tu_spawn(mcmd.argv);
    uint64_t master_id = child_first_id(master);
    wait_report(master, "joined group '" ROOM "'");

    group_cmd(&cmd, url, "--list-groups", NULL);
    run_cat(&cmd, &r);
    expect_success(&r, "--list-groups");
    assert_string_equal(r.out, "name=\"" ROOM "\" members=0 capacity=3 master=yes\n");

    msock_socket member = pu_group_client(url);
    uint64_t member_id = pu_group_whoami(member);
    group_cmd(&cmd, url, "--whoami", "--peers", NULL);
    run_cat(&cmd, &r);
    expect_success(&r, "--whoami --peers");
    /* Its own id first, then the others: the master and the library client, not itself (a
     * client that just left may still be listed). */
    uint64_t own = strtoull(r.out, NULL, 10);
    char *peers = strchr(r.out, '\n');
    assert_non_null(peers);
    assert_true(own != 0 && own != master_id && own != member_id);
    id_text(text, sizeof(text), master_id);
    assert_non_null(strstr(peers, text));
    id_text(text, sizeof(text), member_id);
    assert_non_null(strstr(peers, text));
    for (char *line = peers + 1; *line != '\0'; line = strchr(line, '\n') + 1)
        assert_true(strtoull(line, NULL, 10) != own);

    uint32_t group = pu_group_join(member, ROOM, MSOCK_GROUP_MEMBER);
    group_cmd(&cmd, url, "--list-groups", NULL);
    run_cat(&cmd, &r);
    expect_success(&r, "--list-groups after a join");
    assert_string_equal(r.out, "name=\"" ROOM "\" members=1 capacity=3 master=yes\n");

    /* The master prints the data and exits at --count 1; the join event is reported, not
     * counted. */
    pu_group_send_str(member, group, 0, "hello master");
    tu_child_expect_exit_ok(master, "the master");
    snprintf(text, sizeof(text), "%" PRIu64 "\n\"hello master\"\n", master_id);
    expect_output(master, text);
    snprintf(text, sizeof(text), "event member-joined group %" PRIu32 " id %" PRIu64, group,
             member_id);
    if (strstr(master->err, text) == NULL)
        fail_msg("no '%s' in the master's stderr: %s", text, master->err);
    msock_close(member);
}

/* A msockcat member's --data reaches the master only, between its join and leave events. */
static void test_member_to_master(void **state)
{
    char url[TU_URL_MAX];
    tu_cmd cmd;
    struct cat_result r;
    uint32_t group;
    (void)state;

    spawn_hub(url, sizeof(url), NULL);
    msock_socket master = room_client(url, MSOCK_GROUP_MASTER, &group);
    msock_socket other = pu_group_client(url);
    pu_group_join(other, ROOM, MSOCK_GROUP_MEMBER);
    expect_rx(master, MSOCK_GROUP_EV_JOINED, NULL);

    group_cmd(&cmd, url, "--join", ROOM, "--password", PU_MEMBER_PW, "--data", "hi master", NULL);
    run_cat(&cmd, &r);
    expect_success(&r, "the member");
    uint64_t sender = expect_rx(master, MSOCK_GROUP_EV_JOINED, NULL);
    assert_int_equal(expect_rx(master, MSOCK_GROUP_DATA, "hi master"), sender);
    assert_int_equal(expect_rx(master, MSOCK_GROUP_EV_LEFT, NULL), sender);
    /* The other member saw it come and go, and no data. */
    assert_int_equal(expect_rx(other, MSOCK_GROUP_EV_JOINED, NULL), sender);
    assert_int_equal(expect_rx(other, MSOCK_GROUP_EV_LEFT, NULL), sender);
    pu_group_expect_none(other, PU_QUIET_MS);
    msock_close(other);
    msock_close(master);
}

/* A msockcat master's --data reaches every member; with --to, that member only. */
static void test_master_broadcast_and_to(void **state)
{
    char url[TU_URL_MAX], to[32];
    tu_cmd cmd;
    struct cat_result r;
    uint32_t group;
    (void)state;

    spawn_hub(url, sizeof(url), NULL);
    msock_socket a = room_client(url, MSOCK_GROUP_MEMBER, &group);
    msock_socket b = pu_group_client(url);
    pu_group_join(b, ROOM, MSOCK_GROUP_MEMBER);
    expect_rx(a, MSOCK_GROUP_EV_JOINED, NULL);

    group_cmd(&cmd, url, "--join", ROOM, "--master-password", PU_MASTER_PW, "--data", "to all",
              NULL);
    run_cat(&cmd, &r);
    expect_success(&r, "the master sending to all");
    for (int i = 0; i < 2; i++) {
        msock_socket s = i == 0 ? a : b;
        expect_rx(s, MSOCK_GROUP_EV_MASTER_JOINED, NULL);
        expect_rx(s, MSOCK_GROUP_DATA, "to all");
        expect_rx(s, MSOCK_GROUP_EV_MASTER_LEFT, NULL);
    }

    /* The master seat is free again (both saw it left): a second master sends to a only. */
    id_text(to, sizeof(to), pu_group_whoami(a));
    group_cmd(&cmd, url, "--join", ROOM, "--master-password", PU_MASTER_PW, "--to", to,
              "--data", "to a", NULL);
    run_cat(&cmd, &r);
    expect_success(&r, "the master sending --to a");
    expect_rx(a, MSOCK_GROUP_EV_MASTER_JOINED, NULL);
    expect_rx(a, MSOCK_GROUP_DATA, "to a");
    expect_rx(a, MSOCK_GROUP_EV_MASTER_LEFT, NULL);
    expect_rx(b, MSOCK_GROUP_EV_MASTER_JOINED, NULL);
    expect_rx(b, MSOCK_GROUP_EV_MASTER_LEFT, NULL);
    msock_close(a);
    msock_close(b);
}

/* A msockcat member prints the master's data, reports another member's join with -v, and stops
 * after --count 2 data messages: the event is not counted. */
static void test_member_prints_and_counts_data(void **state)
{
    char url[TU_URL_MAX], text[96];
    tu_cmd cmd;
    uint32_t group;
    (void)state;

    spawn_hub(url, sizeof(url), NULL);
    msock_socket master = room_client(url, MSOCK_GROUP_MASTER, &group);
    group_cmd(&cmd, url, "--join", ROOM, "--password", PU_MEMBER_PW, "--quoted", "-v",
              "--count", "2", NULL);
    tu_child *member = tu_spawn(cmd.argv);
    wait_report(member, "joined group");
    expect_rx(master, MSOCK_GROUP_EV_JOINED, NULL);

    msock_socket other = pu_group_client(url);
    uint64_t other_id = pu_group_whoami(other);
    pu_group_join(other, ROOM, MSOCK_GROUP_MEMBER);
    pu_group_send_str(master, group, 0, "one");
    pu_group_send_str(master, group, 0, "two");
    tu_child_expect_exit_ok(member, "the member");
    expect_output(member, "\"one\"\n\"two\"\n");
    snprintf(text, sizeof(text), "event member-joined group %" PRIu32 " id %" PRIu64, group,
             other_id);
    if (strstr(member->err, text) == NULL)
        fail_msg("no '%s' in the member's stderr: %s", text, member->err);
    msock_close(other);
    msock_close(master);
}

/* Without -v the same member prints no events. */
static void test_events_only_with_verbose(void **state)
{
    char url[TU_URL_MAX];
    tu_cmd cmd;
    uint32_t group;
    (void)state;

    spawn_hub(url, sizeof(url), NULL);
    msock_socket master = room_client(url, MSOCK_GROUP_MASTER, &group);
    group_cmd(&cmd, url, "--join", ROOM, "--password", PU_MEMBER_PW, "--raw", "--count", "1",
              NULL);
    tu_child *member = tu_spawn(cmd.argv);
    expect_rx(master, MSOCK_GROUP_EV_JOINED, NULL);
    msock_socket other = pu_group_client(url);
    pu_group_join(other, ROOM, MSOCK_GROUP_MEMBER);
    pu_group_send_str(master, group, 0, "only this");
    tu_child_expect_exit_ok(member, "the member");
    expect_output(member, "only this");
    assert_null(strstr(member->err, "event"));
    msock_close(other);
    msock_close(master);
}

/* --relay reaches every id given; an unknown id is named on stderr with exit 1 (the known ones
 * still get it); a msockcat client prints what is relayed to it. */
static void test_relay(void **state)
{
    char url[TU_URL_MAX], ids[64], text[96];
    tu_cmd cmd;
    struct cat_result r;
    (void)state;

    spawn_hub(url, sizeof(url), NULL);
    msock_socket a = pu_group_client(url), b = pu_group_client(url);
    uint64_t a_id = pu_group_whoami(a), b_id = pu_group_whoami(b);

    snprintf(ids, sizeof(ids), "%" PRIu64 ",%" PRIu64, a_id, b_id);
    group_cmd(&cmd, url, "--relay", ids, "--data", "relayed", NULL);
    run_cat(&cmd, &r);
    expect_success(&r, "--relay to two");
    uint64_t sender = expect_rx(a, MSOCK_GROUP_RELAYED, "relayed");
    assert_int_equal(expect_rx(b, MSOCK_GROUP_RELAYED, "relayed"), sender);

    snprintf(ids, sizeof(ids), "%" PRIu64 ",987654321", a_id);
    group_cmd(&cmd, url, "--relay", ids, "--data", "half", NULL);
    run_cat(&cmd, &r);
    expect_failure(&r, "--relay to an unknown id", "987654321", "MSOCK_ENOENT");
    expect_rx(a, MSOCK_GROUP_RELAYED, "half");

    group_cmd(&cmd, url, "--whoami", "--quoted", "--count", "1", NULL);
    tu_child *receiver = tu_spawn(cmd.argv);
    uint64_t receiver_id = child_first_id(receiver);
    TU_OK(msock_group_relay(a, &receiver_id, 1, "for you", 7, NULL, NULL));
    tu_child_expect_exit_ok(receiver, "the relay receiver");
    snprintf(text, sizeof(text), "%" PRIu64 "\n\"for you\"\n", receiver_id);
    expect_output(receiver, text);
    msock_close(a);
    msock_close(b);
}

/* Each refusal of the hub: status 1 and a message naming the error. */
static void test_errors(void **state)
{
    char url[TU_URL_MAX];
    tu_cmd cmd;
    struct cat_result r;
    uint32_t group;
    (void)state;

    spawn_hub(url, sizeof(url), NULL);
    msock_socket creator = room_client(url, -1, &group);

    group_cmd(&cmd, url, "--join", ROOM, "--password", "wrong", NULL);
    run_cat(&cmd, &r);
    expect_failure(&r, "a wrong member password", "cannot join", "MSOCK_EACCES");
    assert_non_null(strstr(r.err, "permission denied"));
    group_cmd(&cmd, url, "--join", ROOM, "--master-password", "wrong", NULL);
    run_cat(&cmd, &r);
    expect_failure(&r, "a wrong master password", "as master", "MSOCK_EACCES");
    group_cmd(&cmd, url, "--join", "no such room", "--password", PU_MEMBER_PW, NULL);
    run_cat(&cmd, &r);
    expect_failure(&r, "an unknown group", "cannot join", "MSOCK_ENOENT");
    group_cmd(&cmd, url, "--create", "2", "--join", ROOM, "--master-password", "m", NULL);
    run_cat(&cmd, &r);
    expect_failure(&r, "creating an existing group", "cannot create", "MSOCK_EEXIST");
    group_cmd(&cmd, url, "--join", ROOM, "--password", PU_MEMBER_PW, "--data", "anyone?", NULL);
    run_cat(&cmd, &r);
    expect_failure(&r, "a member's send without a master", "cannot send", "MSOCK_ENOMASTER");
    msock_close(creator);
}

/* --max-conns: a client over the limit fails with the reason; SIGTERM ends the hub with 0. */
static void test_hub_limit_and_sigterm(void **state)
{
    char url[TU_URL_MAX];
    tu_cmd cmd;
    struct cat_result r;
    (void)state;

    tu_child *hub = spawn_hub(url, sizeof(url), "1");
    msock_socket first = pu_group_client(url);
    pu_group_whoami(first); /* counted by the hub now */
    group_cmd(&cmd, url, "--whoami", NULL);
    run_cat(&cmd, &r);
    if (r.status != 1 || strstr(r.err, "MSOCK_E") == NULL)
        fail_msg("a client over --max-conns 1: status %d, stderr '%s'", r.status, r.err);
    msock_close(first);
    assert_int_equal(kill(hub->pid, SIGTERM), 0);
    tu_child_expect_exit_ok(hub, "the hub after SIGTERM");
}

/* Command lines that must fail, and a word the error must contain. */
static const struct {
    const char *args[10];
    const char *reason;
} bad_lines[] = {
    {{"--group", "--dial", "tcp://127.0.0.1:1"}, "something to do"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--data", "x"}, "--join"},
    {{"--group", "--listen", "tcp://127.0.0.1:1", "--whoami"}, "one --dial"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--dial", "tcp://127.0.0.1:2", "--whoami"},
     "one --dial"},
    {{"--pull", "--dial", "tcp://127.0.0.1:1", "--join", "r"}, "--join needs --group"},
    {{"--group-hub", "--listen", "tcp://127.0.0.1:1", "--whoami"}, "--whoami needs --group"},
    {{"--pull", "--dial", "tcp://127.0.0.1:1", "--max-conns", "3"}, "needs --group-hub"},
    {{"--group-hub", "--listen", "tcp://127.0.0.1:1", "--data", "x"}, "does not send"},
    {{"--group-hub", "--listen", "tcp://127.0.0.1:1", "--quoted"}, "does not receive"},
    {{"--group-hub", "--listen", "tcp://127.0.0.1:1", "--max-conns", "-1"}, "whole number"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--join", "r", "--to", "5", "-D", "x"},
     "--to needs --master-password"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--join", "r", "--master-password", "m",
      "--to", "5"},
     "--to needs --data"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--relay", "5"}, "--relay needs --data"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--relay", "1,,2", "-D", "x"}, "whole number"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--relay", "0", "-D", "x"}, "0 is no"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--create", "3", "--join", "r"},
     "--master-password"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--create", "0", "--join", "r"}, "at least 1"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--join", ""}, "1 to 255 bytes"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--password", "p", "--whoami"},
     "--password needs --join"},
    {{"--group", "--dial", "tcp://127.0.0.1:1", "--join", "a", "--join", "b"}, "only once"},
    {{"--gr", "--dial", "tcp://127.0.0.1:1"}, "ambiguous"},
    {{"--group-hub", "--listen", "tcp://127.0.0.1:1", "--ma", "3"}, "ambiguous"},
};

static void test_bad_command_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        tu_cmd cmd;
        struct cat_result r;
        tu_cmd_start(&cmd, TU_MSOCKCAT);
        for (int a = 0; a < 10 && bad_lines[i].args[a] != NULL; a++)
            tu_cmd_add(&cmd, bad_lines[i].args[a]);
        run_cat(&cmd, &r);
        if (r.status != 1 || strstr(r.err, bad_lines[i].reason) == NULL)
            fail_msg("line %zu: status %d, stderr '%s', want 1 and '%s'", i, r.status, r.err,
                     bad_lines[i].reason);
    }
}

/* The group flags take no prefix away from nngcat's and nanocat's: --lis is still --listen and
 * --m still --msgpack. */
static void test_common_prefixes_kept(void **state)
{
    char path[TU_URL_MAX], url[TU_URL_MAX + 8];
    tu_cmd cmd;
    struct cat_result r;
    (void)state;

    tu_tmp_path(path, sizeof(path), "prefix");
    snprintf(url, sizeof(url), "ipc://%s", path);
    tu_cmd_start(&cmd, TU_MSOCKCAT);
    const char *args[] = {"--pull", "--lis", url, "--m", "--recv-timeout", "0.1"};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
        tu_cmd_add(&cmd, args[i]);
    run_cat(&cmd, &r);
    expect_success(&r, "--pull --lis URL --m");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_create_list_whoami_peers, tu_stop_spawned),
        cmocka_unit_test_teardown(test_member_to_master, tu_stop_spawned),
        cmocka_unit_test_teardown(test_master_broadcast_and_to, tu_stop_spawned),
        cmocka_unit_test_teardown(test_member_prints_and_counts_data, tu_stop_spawned),
        cmocka_unit_test_teardown(test_events_only_with_verbose, tu_stop_spawned),
        cmocka_unit_test_teardown(test_relay, tu_stop_spawned),
        cmocka_unit_test_teardown(test_errors, tu_stop_spawned),
        cmocka_unit_test_teardown(test_hub_limit_and_sigterm, tu_stop_spawned),
        cmocka_unit_test_teardown(test_bad_command_lines, tu_stop_spawned),
        cmocka_unit_test_teardown(test_common_prefixes_kept, tu_stop_spawned),
    };

    tu_watchdog(600);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, tu_require_msockcat, NULL);
}
