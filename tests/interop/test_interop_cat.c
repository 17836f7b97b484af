/* test_interop_cat.c: msockcat as a process against nngcat, nanocat and itself over tcp and ipc:
 * exact bytes both ways with each side listening in turn, nngcat's output formats, error exits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* Quotes, a backslash, control and high bytes, CR and LF: the escapes nngcat and nanocat agree
 * on (nanocat writes a tab as \x09, nngcat as \t, so no tab here). */
static const char payload[] = "msg \"q\" back\\slash \x01\x7f\xc3\xa9\r\n end";
static const char payload_quoted[] =
    "\"msg \\\"q\\\" back\\\\slash \\x01\\x7f\\xc3\\xa9\\r\\n end\"\n";

/* ---- processes ---- */

/* Runs argv to its end and returns its exit status (-1 if it died by a signal). */
static int run_to_end(const char *const argv[], tu_child **out)
{
    tu_child *c = tu_spawn(argv);
    if (!tu_child_wait_exit(c, TU_DEADLINE_MS))
        fail_msg("%s still runs at the deadline", argv[0]);
    tu_child_stop(c);
    *out = c;
    return WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
}

/* ---- transfers between two tools ---- */

struct side {
    tu_tool tool;
    const char *proto; /* "--push", "--pair0", ... */
};

struct transfer_case {
    struct side sender;
    struct side receiver;
    bool sender_listens;
    bool ipc;
    char name[96];
};

/* The sender sends the payload; peers resend every second, since they may exit before the data
 * drains. The receiver prints it quoted; nanocat has no --count and is stopped by the test.
 * nanomsg 1.1.5 over ipc drops a message whose sender closes right after it, so msockcat sends
 * a few times to nanocat before it exits. */
static void side_cmd(tu_cmd *c, const struct side *s, tu_tool peer, bool sends, bool listens,
                     const char *url)
{
    tu_cmd_start(c, s->tool);
    tu_cmd_add(c, s->proto);
    if (s->tool == TU_NANOCAT)
        tu_cmd_add(c, listens ? "--bind" : "--connect");
    else
        tu_cmd_add(c, listens ? "--listen" : "--dial");
    tu_cmd_add_url(c, url);
    if (s->tool == TU_MSOCKCAT && listens)
        tu_cmd_add(c, "-v");
    if (sends) {
        tu_cmd_add(c, "--data");
        tu_cmd_add(c, payload);
        if (s->tool != TU_MSOCKCAT) {
            tu_cmd_add(c, "--interval");
            tu_cmd_add(c, "1");
        } else if (peer == TU_NANOCAT && strcmp(s->proto, "--push") == 0) {
            const char *repeat[] = {"--interval", "0.2", "--count", "3"};
            for (size_t i = 0; i < 4; i++)
                tu_cmd_add(c, repeat[i]);
        } else if (strncmp(s->proto, "--pair", 6) == 0) {
            tu_cmd_add(c, "--recv-timeout"); /* a pair also receives: end it after the send */
            tu_cmd_add(c, "1");
        }
    } else {
        tu_cmd_add(c, "--quoted");
        if (s->tool != TU_NANOCAT) {
            tu_cmd_add(c, "--count");
            tu_cmd_add(c, "1");
        }
    }
}

static void test_transfer(void **state)
{
    const struct transfer_case *tc = *state;
    const struct side *listener = tc->sender_listens ? &tc->sender : &tc->receiver;
    const struct side *dialer = tc->sender_listens ? &tc->receiver : &tc->sender;
    tu_cmd lcmd, dcmd;
    char url[TU_URL_MAX];

    if (!tu_tool_present(tc->sender.tool) || !tu_tool_present(tc->receiver.tool))
        skip();
    side_cmd(&lcmd, listener, dialer->tool, tc->sender_listens, true, NULL);
    tu_child *lkid = tu_spawn_listening(&lcmd, listener->tool, tc->ipc, url, sizeof(url));
    side_cmd(&dcmd, dialer, listener->tool, !tc->sender_listens, false, url);
    tu_child *dkid = tu_spawn(dcmd.argv);
    tu_child *sender = tc->sender_listens ? lkid : dkid;
    tu_child *receiver = tc->sender_listens ? dkid : lkid;
    size_t want = strlen(payload_quoted);

    if (tc->receiver.tool == TU_NANOCAT) {
        tu_child_read(receiver, want, TU_DEADLINE_MS);
        if (receiver->out_len < want || memcmp(receiver->out, payload_quoted, want) != 0)
            fail_msg("nanocat printed '%.*s'; stderr: %s", (int)receiver->out_len,
                     receiver->out ? receiver->out : "", receiver->err);
    } else {
        tu_child_expect_exit_ok(receiver, "the receiver");
        if (receiver->out_len != want || memcmp(receiver->out, payload_quoted, want) != 0)
            fail_msg("receiver printed '%.*s', want '%s'", (int)receiver->out_len,
                     receiver->out ? receiver->out : "", payload_quoted);
    }
    if (tc->sender.tool == TU_MSOCKCAT)
        tu_child_expect_exit_ok(sender, "the sending msockcat");
}

/* msockcat against each peer, push/pull and pair, each side listening in turn, tcp and ipc. */
static const struct {
    struct side sender;
    struct side receiver;
} pairings[] = {
    {{TU_MSOCKCAT, "--push"}, {TU_NNGCAT, "--pull"}},
    {{TU_NNGCAT, "--push"}, {TU_MSOCKCAT, "--pull"}},
    {{TU_MSOCKCAT, "--push"}, {TU_NANOCAT, "--pull"}},
    {{TU_NANOCAT, "--push"}, {TU_MSOCKCAT, "--pull"}},
    {{TU_MSOCKCAT, "--push"}, {TU_MSOCKCAT, "--pull"}},
    {{TU_MSOCKCAT, "--pair0"}, {TU_NNGCAT, "--pair0"}},
    {{TU_NNGCAT, "--pair0"}, {TU_MSOCKCAT, "--pair0"}},
    {{TU_MSOCKCAT, "--pair"}, {TU_NANOCAT, "--pair"}},
    {{TU_NANOCAT, "--pair"}, {TU_MSOCKCAT, "--pair"}},
    {{TU_MSOCKCAT, "--pair0"}, {TU_MSOCKCAT, "--pair"}},
};
#define PAIRING_COUNT (sizeof(pairings) / sizeof(pairings[0]))
#define TRANSFER_COUNT (PAIRING_COUNT * 4)
static struct transfer_case transfer_cases[TRANSFER_COUNT];

/* ---- output formats, compared with nngcat's ---- */

struct format_case {
    const char *name; /* --format NAME */
    const char *flag; /* its own flag, or NULL */
};

static const struct format_case format_cases[] = {
    {"no", NULL},          {"raw", "--raw"}, {"ascii", "-A"},
    {"quoted", "--quoted"}, {"hex", "--hex"}, {"msgpack", "--msgpack"},
};
#define FORMAT_COUNT (sizeof(format_cases) / sizeof(format_cases[0]))

/* Sizes that reach each msgpack header (bin8, bin16, bin32); the first holds every escape. */
static const size_t format_sizes[] = {40, 256, 70000};
#define FORMAT_SIZE_COUNT (sizeof(format_sizes) / sizeof(format_sizes[0]))

static void write_payload_file(const char *path, size_t size)
{
    static const char escapes[] = "a\t\n\r\"\\'\x01\x7f\x80\xff z";
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++)
        fputc(size == 40 ? escapes[i % (sizeof(escapes) - 1)] : (int)(i % 256), f);
    assert_int_equal(fclose(f), 0);
}

/* One receiver of tool t prints two copies of the file in the format; returns its stdout. */
static char *receive_formatted(tu_tool t, const struct format_case *fc, bool use_flag,
                               const char *file, size_t *len)
{
    tu_cmd rcmd, scmd;
    char url[TU_URL_MAX];

    tu_cmd_start(&rcmd, t);
    tu_cmd_add(&rcmd, "--pull");
    tu_cmd_add(&rcmd, "--listen");
    tu_cmd_add_url(&rcmd, NULL);
    if (t == TU_MSOCKCAT)
        tu_cmd_add(&rcmd, "-v");
    if (use_flag && fc->flag != NULL) {
        tu_cmd_add(&rcmd, fc->flag);
    } else {
        tu_cmd_add(&rcmd, "--format");
        tu_cmd_add(&rcmd, fc->name);
    }
    tu_cmd_add(&rcmd, "--count");
    tu_cmd_add(&rcmd, "2");
    tu_child *receiver = tu_spawn_listening(&rcmd, t, true, url, sizeof(url));

    tu_cmd_start(&scmd, TU_MSOCKCAT);
    const char *sargs[] = {"--push", "--dial", url, "--file", file, "--interval", "0.05",
                           "--count", "2"};
    for (size_t i = 0; i < sizeof(sargs) / sizeof(sargs[0]); i++)
        tu_cmd_add(&scmd, sargs[i]);
    tu_child *sender = tu_spawn(scmd.argv);

    tu_child_expect_exit_ok(receiver, tu_tool_name(t));
    tu_child_expect_exit_ok(sender, "the sending msockcat");
    char *out = malloc(receiver->out_len + 1);
    assert_non_null(out);
    memcpy(out, receiver->out ? receiver->out : "", receiver->out_len);
    *len = receiver->out_len;
    tu_stop_spawned(NULL);
    return out;
}

static void test_format(void **state)
{
    const struct format_case *fc = *state;

    if (!tu_tool_present(TU_NNGCAT))
        skip();
    for (size_t i = 0; i < FORMAT_SIZE_COUNT; i++) {
        char file[TU_URL_MAX];
        size_t nng_len, our_len;
        bool use_flag = i % 2 == 1;

        tu_tmp_path(file, sizeof(file), "payload");
        write_payload_file(file, format_sizes[i]);
        char *nng = receive_formatted(TU_NNGCAT, fc, use_flag, file, &nng_len);
        char *ours = receive_formatted(TU_MSOCKCAT, fc, use_flag, file, &our_len);
        if (nng_len != our_len || memcmp(nng, ours, nng_len) != 0)
            fail_msg("--format %s, %zu bytes: nngcat printed %zu bytes, msockcat %zu", fc->name,
                     format_sizes[i], nng_len, our_len);
        free(nng);
        free(ours);
        unlink(file);
    }
}

/* ---- command line forms, timeouts, signals, errors ---- */

/* Clustered short options, attached values, "--opt=value" and abbreviated long options. */
static void test_option_forms(void **state)
{
    tu_cmd rcmd, scmd;
    char url[TU_URL_MAX], port[16], data_opt[64];
    (void)state;

    tu_cmd_start(&rcmd, TU_MSOCKCAT);
    tu_cmd_add(&rcmd, "--pul");
    tu_cmd_add(&rcmd, "-L");
    tu_cmd_add(&rcmd, "0");
    tu_cmd_add(&rcmd, "-vQC1");
    tu_cmd_add(&rcmd, "--recv-t=5");
    tu_child *receiver = tu_spawn(rcmd.argv);
    assert_true(tu_msockcat_listen_url(receiver, url, sizeof(url)));
    int p = tu_url_port(url);
    assert_true(p > 0);
    snprintf(port, sizeof(port), "-l%d", p);
    snprintf(data_opt, sizeof(data_opt), "--data=%s", "a=b");
    tu_cmd_start(&scmd, TU_MSOCKCAT);
    tu_cmd_add(&scmd, "--push");
    tu_cmd_add(&scmd, port);
    tu_cmd_add(&scmd, data_opt);
    tu_cmd_add(&scmd, "-d");
    tu_cmd_add(&scmd, "0.1");
    tu_child *sender = tu_spawn(scmd.argv);
    tu_child_expect_exit_ok(receiver, "the receiver");
    tu_child_expect_exit_ok(sender, "the sender");
    assert_int_equal(receiver->out_len, 6);
    assert_memory_equal(receiver->out, "\"a=b\"\n", 6);
}

static void test_recv_timeout_exits_zero(void **state)
{
    char path[TU_URL_MAX];
    tu_child *c;
    (void)state;

    tu_tmp_path(path, sizeof(path), "quiet");
    const char *argv[] = {tu_tool_path(TU_MSOCKCAT), "--pull", "-X", path, "--recv-timeout",
                          "0.2", "--raw", NULL};
    assert_int_equal(run_to_end(argv, &c), 0);
    assert_int_equal(c->out_len, 0);
}

static void test_sigterm_exits_cleanly(void **state)
{
    char path[TU_URL_MAX], url[TU_URL_MAX];
    (void)state;

    tu_tmp_path(path, sizeof(path), "term");
    const char *argv[] = {tu_tool_path(TU_MSOCKCAT), "--pair", "--bind-ipc", path, "-v", "-Q",
                          NULL};
    tu_child *c = tu_spawn(argv);
    assert_true(tu_msockcat_listen_url(c, url, sizeof(url)));
    assert_int_equal(kill(c->pid, SIGTERM), 0);
    tu_child_expect_exit_ok(c, "msockcat after SIGTERM");
}

static void test_help_and_version(void **state)
{
    tu_child *c;
    (void)state;

    const char *help[] = {tu_tool_path(TU_MSOCKCAT), "--help", NULL};
    assert_int_equal(run_to_end(help, &c), 0);
    assert_non_null(c->out);
    assert_non_null(strstr(c->out, "--listen"));
    const char *version[] = {tu_tool_path(TU_MSOCKCAT), "-V", NULL};
    char want[64];
    int want_len = snprintf(want, sizeof(want), "msockcat %s\n", msock_version());
    assert_int_equal(run_to_end(version, &c), 0);
    assert_int_equal(c->out_len, want_len);
    assert_memory_equal(c->out, want, (size_t)want_len);
}

/* Each line: arguments that must fail, and a word the error must contain. */
static const struct {
    const char *args[8];
    const char *reason;
} bad_lines[] = {
    {{"--pull", "--bogus"}, "unknown option"},
    {{"--pu", "--dial", "tcp://127.0.0.1:1"}, "ambiguous"},
    {{"--pull"}, "no address"},
    {{"--dial", "tcp://127.0.0.1:1"}, "no protocol"},
    {{"--push", "--dial", "tcp://127.0.0.1:1"}, "--data"},
    {{"--pull", "--dial", "tcp://127.0.0.1:1", "--data", "x"}, "does not send"},
    {{"--push", "--dial", "tcp://127.0.0.1:1", "-D", "x", "-Q"}, "does not receive"},
    {{"--push", "--pull", "--dial", "tcp://127.0.0.1:1"}, "only one protocol"},
    {{"--pull", "--dial", "tcp://127.0.0.1:1", "--count", "-1"}, "whole number"},
    {{"--pull", "--dial", "tcp://127.0.0.1:1", "--delay", "soon"}, "seconds"},
    {{"--pull", "--dial", "tcp://127.0.0.1:1", "--format", "fancy"}, "unknown format"},
    {{"--pull", "--dial", "tcp://127.0.0.1:1", "-Q", "--hex"}, "only once"},
    {{"--pull", "--dial"}, "needs a value"},
    {{"--req", "--dial", "tcp://127.0.0.1:1"}, "--data"},
    {{"--rep", "--listen", "tcp://127.0.0.1:1", "--data", "x", "--interval", "1"}, "--interval"},
    {{"--pull", "stray"}, "unexpected argument"},
};

static void test_bad_command_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        const char *argv[10] = {tu_tool_path(TU_MSOCKCAT)};
        tu_child *c;
        for (int a = 0; a < 8 && bad_lines[i].args[a] != NULL; a++)
            argv[a + 1] = bad_lines[i].args[a];
        int status = run_to_end(argv, &c);
        if (status != 1 || strstr(c->err, bad_lines[i].reason) == NULL)
            fail_msg("line %zu: status %d, stderr '%s', want 1 and '%s'", i, status, c->err,
                     bad_lines[i].reason);
        tu_stop_spawned(NULL);
    }
}

static void test_dial_dead_address_fails(void **state)
{
    char tcp_url[TU_URL_MAX], ipc_path[TU_URL_MAX], ipc_url[TU_URL_MAX + 8];
    const char *urls[] = {tcp_url, ipc_url};
    (void)state;

    snprintf(tcp_url, sizeof(tcp_url), "tcp://127.0.0.1:%d", tu_free_tcp_port());
    tu_tmp_path(ipc_path, sizeof(ipc_path), "nobody");
    snprintf(ipc_url, sizeof(ipc_url), "ipc://%s", ipc_path);
    for (size_t i = 0; i < 2; i++) {
        const char *argv[] = {tu_tool_path(TU_MSOCKCAT), "--push", "--dial", urls[i], "--data",
                              "x", NULL};
        tu_child *c;
        int status = run_to_end(argv, &c);
        if (status == 0 || strstr(c->err, "cannot dial") == NULL)
            fail_msg("%s: status %d, stderr '%s'", urls[i], status, c->err);
        tu_stop_spawned(NULL);
    }
}

/* ---- setup ---- */

static void fill_transfer_cases(struct CMUnitTest *tests)
{
    size_t n = 0;

    for (size_t p = 0; p < PAIRING_COUNT; p++) {
        for (int v = 0; v < 4; v++, n++) {
            struct transfer_case *tc = &transfer_cases[n];
            tc->sender = pairings[p].sender;
            tc->receiver = pairings[p].receiver;
            tc->sender_listens = (v & 1) != 0;
            tc->ipc = (v & 2) != 0;
            snprintf(tc->name, sizeof(tc->name), "%s %s -> %s %s, %s listens, %s",
                     tu_tool_name(tc->sender.tool), tc->sender.proto,
                     tu_tool_name(tc->receiver.tool), tc->receiver.proto,
                     tc->sender_listens ? "sender" : "receiver", tc->ipc ? "ipc" : "tcp");
            tests[n] = (struct CMUnitTest){.name = tc->name,
                                           .test_func = test_transfer,
                                           .teardown_func = tu_stop_spawned,
                                           .initial_state = tc};
        }
    }
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test_teardown(test_option_forms, tu_stop_spawned),
        cmocka_unit_test_teardown(test_recv_timeout_exits_zero, tu_stop_spawned),
        cmocka_unit_test_teardown(test_sigterm_exits_cleanly, tu_stop_spawned),
        cmocka_unit_test_teardown(test_help_and_version, tu_stop_spawned),
        cmocka_unit_test_teardown(test_bad_command_lines, tu_stop_spawned),
        cmocka_unit_test_teardown(test_dial_dead_address_fails, tu_stop_spawned),
    };
    static char format_names[FORMAT_COUNT][48];
    struct CMUnitTest tests[TRANSFER_COUNT + FORMAT_COUNT + sizeof(fixed) / sizeof(fixed[0])];
    size_t n = 0;

    tu_watchdog(900);
    signal(SIGPIPE, SIG_IGN);
    fill_transfer_cases(tests);
    n = TRANSFER_COUNT;
    for (size_t i = 0; i < FORMAT_COUNT; i++, n++) {
        snprintf(format_names[i], sizeof(format_names[i]), "format %s as nngcat",
                 format_cases[i].name);
        tests[n] = (struct CMUnitTest){.name = format_names[i],
                                       .test_func = test_format,
                                       .teardown_func = tu_stop_spawned,
                                       .initial_state = (void *)&format_cases[i]};
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("interop_cat", tests, n, tu_require_msockcat, NULL);
}
