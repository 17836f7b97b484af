/* test_interop_lib.c: this libmsock program against nngcat and nanocat (pair and push/pull, tcp
 * and ipc, each side listening in turn), checking the exact bytes that cross. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum pattern { PAT_PAIR, PAT_WE_PUSH, PAT_WE_PULL };
enum output { OUT_RAW, OUT_QUOTED };

typedef struct interop_case {
    tu_tool tool;
    int pattern;
    tu_transport transport;
    bool tool_listens;
    int output;
} interop_case;

/* What we send: binary on purpose (NUL, newline, high bytes). */
static const uint8_t our_payload[] = {'m', 's', 'o', 'c', 'k', 0x00,
                                      0x01, 0xff, '\n', 'e', 'n', 'd'};
/* What the tool sends, from a file so that every byte value can be given. */
static const uint8_t tool_payload[] = {'t', 'o', 'o', 'l', 0x00, '\n', 0x7f, 0x80, 0xfe, '!'};
/* For the quoted cases: both tools print it alike (they differ on tab, which is left out). */
static const uint8_t quoted_payload[] = {'q', 0x00, '"', '\\', '\n', '\r', 0xff, '~', ' '};
static const char quoted_expect[] = "\"q\\x00\\\"\\\\\\n\\r\\xff~ \"\n";

/* The tool's side of the pattern. nngcat's pair must be --pair0 (nanomsg-compatible). */
static const char *tool_proto_flag(const interop_case *ic)
{
    bool nng = ic->tool == TU_NNGCAT;
    switch (ic->pattern) {
    case PAT_PAIR: return nng ? "--pair0" : "--pair";
    case PAT_WE_PUSH: return nng ? "--pull0" : "--pull";
    default: return nng ? "--push0" : "--push";
    }
}

/* The child currently running, so that teardown can stop it if a test fails half way. */
static tu_child current_child;
static bool child_running;

static int teardown_child(void **state)
{
    (void)state;
    if (child_running) {
        tu_child_stop(&current_child);
        tu_child_release(&current_child);
        child_running = false;
    }
    return 0;
}

static void start_tool(const interop_case *ic, const char *url, const char *data_file)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = tu_tool_path(ic->tool);
    argv[n++] = tool_proto_flag(ic);
    if (ic->tool == TU_NNGCAT)
        argv[n++] = ic->tool_listens ? "--listen" : "--dial";
    else
        argv[n++] = ic->tool_listens ? "--bind" : "--connect";
    argv[n++] = url;
    /* Both tools refuse an output format on a socket that cannot receive. */
    if (ic->pattern != PAT_WE_PULL)
        argv[n++] = ic->output == OUT_QUOTED ? "--quoted" : "--raw";
    if (data_file != NULL) {
        /* Keep sending every second: a sender that exits may lose its data (SP-WIRE 7.2). */
        argv[n++] = "--file";
        argv[n++] = data_file;
        argv[n++] = "--interval";
        argv[n++] = "1";
    }
    argv[n] = NULL;
    int rc = tu_child_start(&current_child, argv);
    if (rc != 0)
        fail_msg("cannot start %s: %s", argv[0], strerror(-rc));
    child_running = true;
}

static void fail_bytes(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
                       size_t want_len)
{
    char got_hex[512] = "", want_hex[512] = "";
    for (size_t i = 0; i < got_len && i < 100; i++)
        snprintf(got_hex + strlen(got_hex), sizeof(got_hex) - strlen(got_hex), "%02x ", got[i]);
    for (size_t i = 0; i < want_len && i < 100; i++)
        snprintf(want_hex + strlen(want_hex), sizeof(want_hex) - strlen(want_hex), "%02x ",
                 want[i]);
    fail_msg("%s: got %zu bytes [%s], want %zu bytes [%s]; tool stderr: %s", what, got_len, got_hex,
             want_len, want_hex, current_child.err);
}

static void expect_bytes(const char *what, const void *got, size_t got_len, const void *want,
                         size_t want_len)
{
    if (got_len != want_len || memcmp(got, want, want_len) != 0)
        fail_bytes(what, got, got_len, want, want_len);
}

static void test_interop(void **state)
{
    const interop_case *ic = *state;
    if (!tu_tool_present(ic->tool))
        skip();

    int (*open_fn)(msock_socket *) = ic->pattern == PAT_PAIR      ? msock_pair_open
                                     : ic->pattern == PAT_WE_PUSH ? msock_push_open
                                                                  : msock_pull_open;
    msock_socket s;
    TU_OK(open_fn(&s));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MIN, 20));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MAX, 100));
    tu_waiter *w = tu_waiter_attach(s);

    const uint8_t *send_bytes = ic->output == OUT_QUOTED ? quoted_payload : our_payload;
    size_t send_len = ic->output == OUT_QUOTED ? sizeof(quoted_payload) : sizeof(our_payload);
    const uint8_t *print_expect = ic->output == OUT_QUOTED ? (const uint8_t *)quoted_expect
                                                           : our_payload;
    size_t print_len = ic->output == OUT_QUOTED ? strlen(quoted_expect) : sizeof(our_payload);

    char data_file[TU_URL_MAX];
    const char *data_arg = NULL;
    if (ic->pattern != PAT_WE_PUSH) {
        tu_tmp_path(data_file, sizeof(data_file), "data");
        tu_write_file(data_file, tool_payload, sizeof(tool_payload));
        data_arg = data_file;
    }

    char url[TU_URL_MAX];
    if (ic->tool_listens) {
        /* The tool binds first; we dial in the background until it is there. */
        if (ic->transport == TU_IPC) {
            char path[TU_URL_MAX - 16];
            tu_tmp_path(path, sizeof(path), "tool");
            snprintf(url, sizeof(url), "ipc://%s", path);
        } else {
            snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", tu_free_tcp_port());
        }
        start_tool(ic, url, data_arg);
        msock_dialer d;
        TU_OK(msock_dial(s, url, &d, MSOCK_FLAG_NONBLOCK));
    } else {
        /* nngcat dials synchronously and gives up at once: our listener must come first. */
        msock_listener l;
        tu_listen_any(s, ic->transport, &l, url, sizeof(url));
        start_tool(ic, url, data_arg);
    }
    if (!tu_wait_added(w, 1, TU_DEADLINE_MS)) {
        tu_child_stop(&current_child);
        fail_msg("%s never connected over %s; stderr: %s", tu_tool_name(ic->tool), url,
                 current_child.err);
    }

    if (ic->pattern != PAT_WE_PUSH) {
        uint8_t buf[256];
        size_t len = sizeof(buf);
        int rc = msock_recv(s, buf, &len, 0);
        if (rc != 0) {
            tu_child_stop(&current_child);
            fail_msg("receiving from %s: %s; stderr: %s", tu_tool_name(ic->tool), tu_errname(rc),
                     current_child.err);
        }
        expect_bytes("message from the tool", buf, len, tool_payload, sizeof(tool_payload));
    }
    if (ic->pattern != PAT_WE_PULL) {
        TU_OK(msock_send(s, send_bytes, send_len, 0));
        tu_child_read(&current_child, print_len, TU_DEADLINE_MS);
        /* Anything printed beyond our one message would be a duplicate or garbage. */
        tu_child_stop(&current_child);
        expect_bytes("what the tool printed", (const uint8_t *)current_child.out,
                     current_child.out_len, print_expect, print_len);
    }
    teardown_child(NULL);
    TU_OK(msock_close(s));
    tu_waiter_free(w);
}

int main(void)
{
    tu_watchdog(900);
    static interop_case cases[64];
    struct CMUnitTest tests[64];
    size_t n = 0;
    static const char *const pattern_names[] = {"pair", "we_push", "we_pull"};
    for (tu_tool tool = TU_NNGCAT; tool <= TU_NANOCAT; tool++) {
        for (int pattern = PAT_PAIR; pattern <= PAT_WE_PULL; pattern++) {
            for (int t = 0; t < 2; t++) {
                for (int tool_listens = 0; tool_listens < 2; tool_listens++) {
                    cases[n] = (interop_case){.tool = tool, .pattern = pattern,
                                              .transport = t == 0 ? TU_TCP4 : TU_IPC,
                                              .tool_listens = tool_listens, .output = OUT_RAW};
                    n++;
                }
            }
        }
        /* The quoted format, once per tool. */
        cases[n++] = (interop_case){.tool = tool, .pattern = PAT_WE_PUSH, .transport = TU_TCP4,
                                    .tool_listens = false, .output = OUT_QUOTED};
    }
    for (size_t i = 0; i < n; i++) {
        const interop_case *ic = &cases[i];
        char *name = NULL;
        assert_true(asprintf(&name, "%s/%s/%s/%s%s", tu_tool_name(ic->tool),
                             pattern_names[ic->pattern], tu_transport_name(ic->transport),
                             ic->tool_listens ? "tool_listens" : "we_listen",
                             ic->output == OUT_QUOTED ? "/quoted" : "") > 0);
        tests[i] = (struct CMUnitTest){.name = name, .test_func = test_interop,
                                       .teardown_func = teardown_child, .initial_state = &cases[i]};
    }
    int failed = _cmocka_run_group_tests("interop_lib", tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free((char *)tests[i].name);
    if (failed == 0)
        msock_fini();
    return failed;
}
