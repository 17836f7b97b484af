/* test_interop_cat.c: msockcat as a process against nngcat, nanocat and itself over tcp and ipc:
 * exact bytes both ways with each side listening in turn, nngcat's output formats, error exits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

enum tool { MSOCKCAT, NNGCAT, NANOCAT, TOOL_COUNT };
static const char *const tool_names[TOOL_COUNT] = {"msockcat", "nngcat", "nanocat"};
static char tool_paths[TOOL_COUNT][PATH_MAX];

/* Quotes, a backslash, control and high bytes, CR and LF: the escapes nngcat and nanocat agree
 * on (nanocat writes a tab as \x09, nngcat as \t, so no tab here). */
static const char payload[] = "msg \"q\" back\\slash \x01\x7f\xc3\xa9\r\n end";
static const char payload_quoted[] =
    "\"msg \\\"q\\\" back\\\\slash \\x01\\x7f\\xc3\\xa9\\r\\n end\"\n";

#define LISTEN_ATTEMPTS 5
#define MAX_ARGS 32

/* ---- processes ---- */

/* The children of the running test; its teardown stops every one, also after a failed assert. */
#define MAX_KIDS 4
static tu_child kids[MAX_KIDS];
static int kid_count;

static tu_child *spawn(const char *const argv[])
{
    assert_true(kid_count < MAX_KIDS);
    tu_child *c = &kids[kid_count++];
    int rc = tu_child_start(c, argv);
    if (rc != 0)
        fail_msg("cannot start %s: %s", argv[0], strerror(-rc));
    return c;
}

static void unspawn(tu_child *c)
{
    tu_child_stop(c);
    tu_child_release(c);
    if (c == &kids[kid_count - 1])
        kid_count--;
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

static bool exited_ok(const tu_child *c)
{
    return c->exited && WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

/* Waits for the child to finish by itself and asserts that it exited with status 0. */
static void assert_finishes_ok(tu_child *c, const char *who)
{
    if (!tu_child_wait_exit(c, TU_DEADLINE_MS)) {
        tu_child_stop(c);
        fail_msg("%s still runs at the deadline; stderr: %s", who, c->err);
    }
    tu_child_stop(c); /* collects the rest of its output */
    if (!exited_ok(c))
        fail_msg("%s failed (status 0x%x); stderr: %s", who, (unsigned)c->status, c->err);
}

/* Runs argv to its end and returns its exit status (-1 if it died by a signal). */
static int run_to_end(const char *const argv[], tu_child **out)
{
    tu_child *c = spawn(argv);
    if (!tu_child_wait_exit(c, TU_DEADLINE_MS))
        fail_msg("%s still runs at the deadline", argv[0]);
    tu_child_stop(c);
    *out = c;
    return WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
}

/* Waits until the child wrote needle to stderr; false if it ended or the deadline passed. */
static bool wait_stderr(tu_child *c, const char *needle)
{
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    while (strstr(c->err, needle) == NULL) {
        if (c->out_fd < 0 || tu_deadline_passed(deadline)) {
            tu_child_stop(c);
            return strstr(c->err, needle) != NULL;
        }
        tu_child_read(c, SIZE_MAX, 20);
    }
    return true;
}

/* ---- command lines ---- */

struct cmd {
    const char *argv[MAX_ARGS + 1];
    int argc;
    int url_at; /* index of the address, filled in when the listener's address is known */
};

static void cmd_start(struct cmd *c, enum tool t)
{
    memset(c, 0, sizeof(*c));
    c->url_at = -1;
    c->argv[c->argc++] = tool_paths[t];
}

static void cmd_add(struct cmd *c, const char *arg)
{
    assert_true(c->argc < MAX_ARGS);
    c->argv[c->argc++] = arg;
}

static void cmd_add_url(struct cmd *c, const char *url)
{
    c->url_at = c->argc;
    cmd_add(c, url);
}

/* ---- addresses ---- */

static int free_tcp_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* True when a socket listens at the tcp or ipc URL. Read from /proc rather than by connecting:
 * nng 1.5.2's ipc listener stops accepting after a connection that closes before the SP
 * header, and a probe would count as a peer of the tool under test. */
static bool url_listening(const char *url)
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
            /* Num RefCount Protocol Flags Type St Inode Path; flag 0x10000 means listening */
            found = sscanf(line, "%*s %*x %*x %x %*x %*x %*u %255s", &flags, path) == 2 &&
                    (flags & 0x10000) != 0 && strcmp(path, url + 6) == 0;
        } else {
            /* sl local_address rem_address st ...; state 0A means listening */
            found = sscanf(line, " %*u: %*x:%x %*x:%*x %x", &port, &state) == 2 &&
                    (int)port == want_port && state == 0x0a;
        }
    }
    fclose(f);
    return found;
}

/* msockcat -v reports its bound address ("msockcat: listening on URL"). */
static bool msockcat_listen_url(tu_child *c, char *url, size_t len)
{
    static const char mark[] = "msockcat: listening on ";
    if (!wait_stderr(c, "\n") || strstr(c->err, mark) == NULL)
        return false;
    const char *start = strstr(c->err, mark) + strlen(mark);
    size_t n = strcspn(start, "\n");
    if (start[n] != '\n' || n >= len)
        return false;
    memcpy(url, start, n);
    url[n] = '\0';
    return true;
}

/* Starts cmd, a listener of tool t, on a fresh tcp or ipc address and waits until it accepts
 * connections. msockcat listens on port 0 and reports its port; for the other tools a free port
 * is picked, which another process may take first, hence the retries. */
static tu_child *start_listening(struct cmd *c, enum tool t, bool ipc, char *url, size_t len)
{
    for (int attempt = 0; attempt < LISTEN_ATTEMPTS; attempt++) {
        char path[TU_URL_MAX - sizeof("ipc://")];
        if (ipc) {
            tu_tmp_path(path, sizeof(path), "cat");
            snprintf(url, len, "ipc://%s", path);
        } else if (t == MSOCKCAT) {
            snprintf(url, len, "tcp://127.0.0.1:0");
        } else {
            snprintf(url, len, "tcp://127.0.0.1:%d", free_tcp_port());
        }
        c->argv[c->url_at] = url;
        tu_child *kid = spawn(c->argv);
        if (t == MSOCKCAT) {
            if (!msockcat_listen_url(kid, url, len))
                fail_msg("msockcat did not report its address; stderr: %s", kid->err);
            return kid;
        }
        int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
        while (!tu_deadline_passed(deadline) && !tu_child_wait_exit(kid, 0)) {
            if (url_listening(url))
                return kid;
            tu_child_read(kid, SIZE_MAX, 20); /* paces the probe and keeps stderr drained */
        }
        unspawn(kid);
    }
    fail_msg("%s never listened", tool_names[t]);
    return NULL;
}

/* ---- transfers between two tools ---- */

struct side {
    enum tool tool;
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
static void side_cmd(struct cmd *c, const struct side *s, enum tool peer, bool sends, bool listens,
                     const char *url)
{
    cmd_start(c, s->tool);
    cmd_add(c, s->proto);
    if (s->tool == NANOCAT)
        cmd_add(c, listens ? "--bind" : "--connect");
    else
        cmd_add(c, listens ? "--listen" : "--dial");
    cmd_add_url(c, url);
    if (s->tool == MSOCKCAT && listens)
        cmd_add(c, "-v");
    if (sends) {
        cmd_add(c, "--data");
        cmd_add(c, payload);
        if (s->tool != MSOCKCAT) {
            cmd_add(c, "--interval");
            cmd_add(c, "1");
        } else if (peer == NANOCAT && strcmp(s->proto, "--push") == 0) {
            const char *repeat[] = {"--interval", "0.2", "--count", "3"};
            for (size_t i = 0; i < 4; i++)
                cmd_add(c, repeat[i]);
        } else if (strncmp(s->proto, "--pair", 6) == 0) {
            cmd_add(c, "--recv-timeout"); /* a pair also receives: end it after the send */
            cmd_add(c, "1");
        }
    } else {
        cmd_add(c, "--quoted");
        if (s->tool != NANOCAT) {
            cmd_add(c, "--count");
            cmd_add(c, "1");
        }
    }
}

static bool tool_present(enum tool t)
{
    return tu_executable(tool_paths[t]);
}

static void test_transfer(void **state)
{
    const struct transfer_case *tc = *state;
    const struct side *listener = tc->sender_listens ? &tc->sender : &tc->receiver;
    const struct side *dialer = tc->sender_listens ? &tc->receiver : &tc->sender;
    struct cmd lcmd, dcmd;
    char url[TU_URL_MAX];

    if (!tool_present(tc->sender.tool) || !tool_present(tc->receiver.tool))
        skip();
    side_cmd(&lcmd, listener, dialer->tool, tc->sender_listens, true, NULL);
    tu_child *lkid = start_listening(&lcmd, listener->tool, tc->ipc, url, sizeof(url));
    side_cmd(&dcmd, dialer, listener->tool, !tc->sender_listens, false, url);
    tu_child *dkid = spawn(dcmd.argv);
    tu_child *sender = tc->sender_listens ? lkid : dkid;
    tu_child *receiver = tc->sender_listens ? dkid : lkid;
    size_t want = strlen(payload_quoted);

    if (tc->receiver.tool == NANOCAT) {
        tu_child_read(receiver, want, TU_DEADLINE_MS);
        if (receiver->out_len < want || memcmp(receiver->out, payload_quoted, want) != 0)
            fail_msg("nanocat printed '%.*s'; stderr: %s", (int)receiver->out_len,
                     receiver->out ? receiver->out : "", receiver->err);
    } else {
        assert_finishes_ok(receiver, "the receiver");
        if (receiver->out_len != want || memcmp(receiver->out, payload_quoted, want) != 0)
            fail_msg("receiver printed '%.*s', want '%s'", (int)receiver->out_len,
                     receiver->out ? receiver->out : "", payload_quoted);
    }
    if (tc->sender.tool == MSOCKCAT)
        assert_finishes_ok(sender, "the sending msockcat");
}

/* msockcat against each peer, push/pull and pair, each side listening in turn, tcp and ipc. */
static const struct {
    struct side sender;
    struct side receiver;
} pairings[] = {
    {{MSOCKCAT, "--push"}, {NNGCAT, "--pull"}},
    {{NNGCAT, "--push"}, {MSOCKCAT, "--pull"}},
    {{MSOCKCAT, "--push"}, {NANOCAT, "--pull"}},
    {{NANOCAT, "--push"}, {MSOCKCAT, "--pull"}},
    {{MSOCKCAT, "--push"}, {MSOCKCAT, "--pull"}},
    {{MSOCKCAT, "--pair0"}, {NNGCAT, "--pair0"}},
    {{NNGCAT, "--pair0"}, {MSOCKCAT, "--pair0"}},
    {{MSOCKCAT, "--pair"}, {NANOCAT, "--pair"}},
    {{NANOCAT, "--pair"}, {MSOCKCAT, "--pair"}},
    {{MSOCKCAT, "--pair0"}, {MSOCKCAT, "--pair"}},
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
static char *receive_formatted(enum tool t, const struct format_case *fc, bool use_flag,
                               const char *file, size_t *len)
{
    struct cmd rcmd, scmd;
    char url[TU_URL_MAX];

    cmd_start(&rcmd, t);
    cmd_add(&rcmd, "--pull");
    cmd_add(&rcmd, "--listen");
    cmd_add_url(&rcmd, NULL);
    if (t == MSOCKCAT)
        cmd_add(&rcmd, "-v");
    if (use_flag && fc->flag != NULL) {
        cmd_add(&rcmd, fc->flag);
    } else {
        cmd_add(&rcmd, "--format");
        cmd_add(&rcmd, fc->name);
    }
    cmd_add(&rcmd, "--count");
    cmd_add(&rcmd, "2");
    tu_child *receiver = start_listening(&rcmd, t, true, url, sizeof(url));

    cmd_start(&scmd, MSOCKCAT);
    const char *sargs[] = {"--push", "--dial", url, "--file", file, "--interval", "0.05",
                           "--count", "2"};
    for (size_t i = 0; i < sizeof(sargs) / sizeof(sargs[0]); i++)
        cmd_add(&scmd, sargs[i]);
    tu_child *sender = spawn(scmd.argv);

    assert_finishes_ok(receiver, tool_names[t]);
    assert_finishes_ok(sender, "the sending msockcat");
    char *out = malloc(receiver->out_len + 1);
    assert_non_null(out);
    memcpy(out, receiver->out ? receiver->out : "", receiver->out_len);
    *len = receiver->out_len;
    stop_kids(NULL);
    return out;
}

static void test_format(void **state)
{
    const struct format_case *fc = *state;

    if (!tool_present(NNGCAT))
        skip();
    for (size_t i = 0; i < FORMAT_SIZE_COUNT; i++) {
        char file[TU_URL_MAX];
        size_t nng_len, our_len;
        bool use_flag = i % 2 == 1;

        tu_tmp_path(file, sizeof(file), "payload");
        write_payload_file(file, format_sizes[i]);
        char *nng = receive_formatted(NNGCAT, fc, use_flag, file, &nng_len);
        char *ours = receive_formatted(MSOCKCAT, fc, use_flag, file, &our_len);
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
    struct cmd rcmd, scmd;
    char url[TU_URL_MAX], port[16], data_opt[64];
    (void)state;

    cmd_start(&rcmd, MSOCKCAT);
    cmd_add(&rcmd, "--pul");
    cmd_add(&rcmd, "-L");
    cmd_add(&rcmd, "0");
    cmd_add(&rcmd, "-vQC1");
    cmd_add(&rcmd, "--recv-t=5");
    tu_child *receiver = spawn(rcmd.argv);
    assert_true(msockcat_listen_url(receiver, url, sizeof(url)));
    int p = tu_url_port(url);
    assert_true(p > 0);
    snprintf(port, sizeof(port), "-l%d", p);
    snprintf(data_opt, sizeof(data_opt), "--data=%s", "a=b");
    cmd_start(&scmd, MSOCKCAT);
    cmd_add(&scmd, "--push");
    cmd_add(&scmd, port);
    cmd_add(&scmd, data_opt);
    cmd_add(&scmd, "-d");
    cmd_add(&scmd, "0.1");
    tu_child *sender = spawn(scmd.argv);
    assert_finishes_ok(receiver, "the receiver");
    assert_finishes_ok(sender, "the sender");
    assert_int_equal(receiver->out_len, 6);
    assert_memory_equal(receiver->out, "\"a=b\"\n", 6);
}

static void test_recv_timeout_exits_zero(void **state)
{
    char path[TU_URL_MAX];
    tu_child *c;
    (void)state;

    tu_tmp_path(path, sizeof(path), "quiet");
    const char *argv[] = {tool_paths[MSOCKCAT], "--pull", "-X", path, "--recv-timeout", "0.2",
                          "--raw", NULL};
    assert_int_equal(run_to_end(argv, &c), 0);
    assert_int_equal(c->out_len, 0);
}

static void test_sigterm_exits_cleanly(void **state)
{
    char path[TU_URL_MAX], url[TU_URL_MAX];
    (void)state;

    tu_tmp_path(path, sizeof(path), "term");
    const char *argv[] = {tool_paths[MSOCKCAT], "--pair", "--bind-ipc", path, "-v", "-Q", NULL};
    tu_child *c = spawn(argv);
    assert_true(msockcat_listen_url(c, url, sizeof(url)));
    assert_int_equal(kill(c->pid, SIGTERM), 0);
    assert_finishes_ok(c, "msockcat after SIGTERM");
}

static void test_help_and_version(void **state)
{
    tu_child *c;
    (void)state;

    const char *help[] = {tool_paths[MSOCKCAT], "--help", NULL};
    assert_int_equal(run_to_end(help, &c), 0);
    assert_non_null(c->out);
    assert_non_null(strstr(c->out, "--listen"));
    const char *version[] = {tool_paths[MSOCKCAT], "-V", NULL};
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
        const char *argv[10] = {tool_paths[MSOCKCAT]};
        tu_child *c;
        for (int a = 0; a < 8 && bad_lines[i].args[a] != NULL; a++)
            argv[a + 1] = bad_lines[i].args[a];
        int status = run_to_end(argv, &c);
        if (status != 1 || strstr(c->err, bad_lines[i].reason) == NULL)
            fail_msg("line %zu: status %d, stderr '%s', want 1 and '%s'", i, status, c->err,
                     bad_lines[i].reason);
        stop_kids(NULL);
    }
}

static void test_dial_dead_address_fails(void **state)
{
    char tcp_url[TU_URL_MAX], ipc_path[TU_URL_MAX], ipc_url[TU_URL_MAX + 8];
    const char *urls[] = {tcp_url, ipc_url};
    (void)state;

    snprintf(tcp_url, sizeof(tcp_url), "tcp://127.0.0.1:%d", free_tcp_port());
    tu_tmp_path(ipc_path, sizeof(ipc_path), "nobody");
    snprintf(ipc_url, sizeof(ipc_url), "ipc://%s", ipc_path);
    for (size_t i = 0; i < 2; i++) {
        const char *argv[] = {tool_paths[MSOCKCAT], "--push", "--dial", urls[i], "--data", "x",
                              NULL};
        tu_child *c;
        int status = run_to_end(argv, &c);
        if (status == 0 || strstr(c->err, "cannot dial") == NULL)
            fail_msg("%s: status %d, stderr '%s'", urls[i], status, c->err);
        stop_kids(NULL);
    }
}

/* ---- setup ---- */

/* MSOCKCAT, NNGCAT and NANOCAT come from make check; outside it msockcat is looked up on PATH. */
static void find_tools(void)
{
    static const char *const defaults[TOOL_COUNT] = {NULL, "/usr/bin/nngcat", "/usr/bin/nanocat"};
    static const char *const vars[TOOL_COUNT] = {"MSOCKCAT", "NNGCAT", "NANOCAT"};

    for (int t = 0; t < TOOL_COUNT; t++) {
        const char *path = getenv(vars[t]);
        if (path == NULL || path[0] == '\0')
            path = defaults[t];
        if (path != NULL) {
            snprintf(tool_paths[t], sizeof(tool_paths[t]), "%s", path);
            continue;
        }
        const char *search = getenv("PATH");
        char dirs[4096];
        snprintf(dirs, sizeof(dirs), "%s", search != NULL ? search : "/usr/bin");
        for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir != NULL;
             dir = strtok_r(NULL, ":", &save)) {
            snprintf(tool_paths[t], sizeof(tool_paths[t]), "%s/%s", dir, tool_names[t]);
            if (tu_executable(tool_paths[t]))
                break;
        }
    }
}

static int require_msockcat(void **state)
{
    (void)state;
    if (!tool_present(MSOCKCAT)) {
        fprintf(stderr, "msockcat not found (set MSOCKCAT)\n");
        return -1;
    }
    return 0;
}

static void fill_transfer_cases(struct CMUnitTest *tests)
{
    static const char *const proto_names[TOOL_COUNT] = {"msockcat", "nngcat", "nanocat"};
    size_t n = 0;

    for (size_t p = 0; p < PAIRING_COUNT; p++) {
        for (int v = 0; v < 4; v++, n++) {
            struct transfer_case *tc = &transfer_cases[n];
            tc->sender = pairings[p].sender;
            tc->receiver = pairings[p].receiver;
            tc->sender_listens = (v & 1) != 0;
            tc->ipc = (v & 2) != 0;
            snprintf(tc->name, sizeof(tc->name), "%s %s -> %s %s, %s listens, %s",
                     proto_names[tc->sender.tool], tc->sender.proto,
                     proto_names[tc->receiver.tool], tc->receiver.proto,
                     tc->sender_listens ? "sender" : "receiver", tc->ipc ? "ipc" : "tcp");
            tests[n] = (struct CMUnitTest){.name = tc->name,
                                           .test_func = test_transfer,
                                           .teardown_func = stop_kids,
                                           .initial_state = tc};
        }
    }
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test_teardown(test_option_forms, stop_kids),
        cmocka_unit_test_teardown(test_recv_timeout_exits_zero, stop_kids),
        cmocka_unit_test_teardown(test_sigterm_exits_cleanly, stop_kids),
        cmocka_unit_test_teardown(test_help_and_version, stop_kids),
        cmocka_unit_test_teardown(test_bad_command_lines, stop_kids),
        cmocka_unit_test_teardown(test_dial_dead_address_fails, stop_kids),
    };
    static char format_names[FORMAT_COUNT][48];
    struct CMUnitTest tests[TRANSFER_COUNT + FORMAT_COUNT + sizeof(fixed) / sizeof(fixed[0])];
    size_t n = 0;

    tu_watchdog(900);
    signal(SIGPIPE, SIG_IGN);
    find_tools();
    fill_transfer_cases(tests);
    n = TRANSFER_COUNT;
    for (size_t i = 0; i < FORMAT_COUNT; i++, n++) {
        snprintf(format_names[i], sizeof(format_names[i]), "format %s as nngcat",
                 format_cases[i].name);
        tests[n] = (struct CMUnitTest){.name = format_names[i],
                                       .test_func = test_format,
                                       .teardown_func = stop_kids,
                                       .initial_state = (void *)&format_cases[i]};
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("interop_cat", tests, n, require_msockcat, NULL);
}
