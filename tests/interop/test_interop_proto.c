/* test_interop_proto.c: every SP protocol pair against nngcat and nanocat, over tcp, ipc and (in
 * a build with ws://, MSOCK_TEST_WS) ws, each side listening in turn; our side is msockcat,
 * then a libmsock socket in this process. */
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

#define PAYLOAD_MAX 128
#define QUOTED_MAX (PAYLOAD_MAX * 4 + 4)

/* How a role is driven from the command line, the same for all three tools. */
enum role_trait {
    T_SENDS = 1,      /* takes --data or --file */
    T_PRINTS = 2,     /* receives: takes --quoted */
    T_REPEATS = 4,    /* sends on --interval: a send may reach no peer, or the sender exits early */
    T_COUNTED = 8,    /* a receiver that --count 1 ends (nngcat and msockcat; nanocat has no
                       * --count) */
    T_SUBSCRIBES = 16,
};

enum role { REQ, REP, PUB, SUB, PUSH, PULL, BUS, SURVEYOR, RESPONDENT, PAIR0, PAIR1, ROLE_COUNT };

struct role_desc {
    const char *name;
    const char *flags[TU_TOOL_COUNT]; /* NULL: the tool does not have it */
    enum role peer;
    int proto; /* MSOCK_PROTO_*, for the peer check on our pipe */
    int (*open)(msock_socket *s);
    unsigned traits;
};

/* nngcat's --pair means pair1 unless --compat; nanocat's --pair is pair0 and it has no pair1. */
static const struct role_desc roles[ROLE_COUNT] = {
    [REQ] = {"req", {"--req", "--req", "--req"}, REP, MSOCK_PROTO_REQ, msock_req_open,
             T_SENDS | T_PRINTS},
    [REP] = {"rep", {"--rep", "--rep", "--rep"}, REQ, MSOCK_PROTO_REP, msock_rep_open,
             T_SENDS | T_PRINTS | T_COUNTED},
    [PUB] = {"pub", {"--pub", "--pub", "--pub"}, SUB, MSOCK_PROTO_PUB, msock_pub_open,
             T_SENDS | T_REPEATS},
    [SUB] = {"sub", {"--sub", "--sub", "--sub"}, PUB, MSOCK_PROTO_SUB, msock_sub_open,
             T_PRINTS | T_COUNTED | T_SUBSCRIBES},
    [PUSH] = {"push", {"--push", "--push", "--push"}, PULL, MSOCK_PROTO_PUSH, msock_push_open,
              T_SENDS | T_REPEATS},
    [PULL] = {"pull", {"--pull", "--pull", "--pull"}, PUSH, MSOCK_PROTO_PULL, msock_pull_open,
              T_PRINTS | T_COUNTED},
    [BUS] = {"bus", {"--bus", "--bus", "--bus"}, BUS, MSOCK_PROTO_BUS, msock_bus_open,
             T_SENDS | T_PRINTS | T_REPEATS},
    /* A respondent gets no --count: it answers every survey, so that an answer to a survey
     * the surveyor has already replaced by the next one cannot be the only one. */
    [SURVEYOR] = {"surveyor", {"--surveyor", "--surveyor", "--surveyor"}, RESPONDENT,
                  MSOCK_PROTO_SURVEYOR, msock_surveyor_open, T_SENDS | T_PRINTS | T_REPEATS},
    [RESPONDENT] = {"respondent", {"--respondent", "--respondent", "--respondent"}, SURVEYOR,
                    MSOCK_PROTO_RESPONDENT, msock_respondent_open, T_SENDS | T_PRINTS},
    [PAIR0] = {"pair0", {"--pair", "--pair0", "--pair"}, PAIR0, MSOCK_PROTO_PAIR0,
               msock_pair_open, T_SENDS | T_PRINTS | T_REPEATS},
    [PAIR1] = {"pair1", {"--pair1", "--pair1", NULL}, PAIR1, MSOCK_PROTO_PAIR1, msock_pair1_open,
               T_SENDS | T_PRINTS | T_REPEATS},
};

/* Every publisher's data starts with this, and every subscriber subscribes to it. */
static const char topic[] = "pub from ";

/* ---- payloads and nngcat's quoted format ---- */

/* Printable text with a quote, a backslash, a control byte, DEL and two high bytes: what
 * travels as a command line argument (no NUL) and shows each escape of --quoted. */
static size_t text_payload(char *buf, size_t cap, enum role r, const char *who)
{
    int n = snprintf(buf, cap, "%s from %s: \"q\" back\\slash \x01\x7f\xc3\xa9 end",
                     roles[r].name, who);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* The same with NUL, CR, LF and 0xff added: for a libmsock socket and for a tool's --file. */
static size_t binary_payload(uint8_t *buf, size_t cap, enum role r, const char *who)
{
    static const uint8_t tail[] = {0x00, '\r', '\n', 0xff, 0x00, '!'};
    size_t n = text_payload((char *)buf, cap - sizeof(tail), r, who);
    memcpy(buf + n, tail, sizeof(tail));
    return n + sizeof(tail);
}

/* One message as nngcat and nanocat print it with --quoted (they differ only on TAB, which no
 * payload here holds). */
static void quote_line(const uint8_t *data, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    assert_true(cap >= len * 4 + 4);
    out[n++] = '"';
    for (size_t i = 0; i < len; i++) {
        uint8_t b = data[i];
        if (b == '\n' || b == '\r') {
            out[n++] = '\\';
            out[n++] = b == '\n' ? 'n' : 'r';
        } else if (b == '"' || b == '\\') {
            out[n++] = '\\';
            out[n++] = (char)b;
        } else if (b >= 0x20 && b < 0x7f) {
            out[n++] = (char)b;
        } else {
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", b);
        }
    }
    out[n++] = '"';
    out[n++] = '\n';
    out[n] = '\0';
}

/* ---- processes ---- */

/* Waits until the child printed a whole line; then every line it printed must be want (a
 * repeating peer may make it print the same message more than once). */
static void expect_printed(tu_child *c, const char *who, const char *want, const tu_child *peer)
{
    size_t want_len = strlen(want);
    size_t lines = tu_child_read_lines(c, 1, TU_DEADLINE_MS);
    const char *out = c->out != NULL ? c->out : "";

    if (lines == 0)
        fail_msg("%s printed no whole line, want %s; stdout '%.*s'; stderr: %s; peer stderr: %s",
                 who, want, (int)c->out_len, out, c->err, peer->err);
    for (size_t at = 0; at < c->out_len;) {
        const char *nl = memchr(out + at, '\n', c->out_len - at);
        if (nl == NULL)
            break; /* a line still being written */
        size_t line_len = (size_t)(nl - (out + at)) + 1;
        if (line_len != want_len || memcmp(out + at, want, want_len) != 0)
            fail_msg("%s printed '%.*s', want '%s'; stderr: %s; peer stderr: %s", who,
                     (int)line_len, out + at, want, c->err, peer->err);
        at += line_len;
    }
}

/* A child that keeps running until the test stops it must not have failed on its own. */
static void expect_not_failed(tu_child *c, const char *who)
{
    if (tu_child_wait_exit(c, 0) && !tu_child_exited_ok(c)) {
        tu_child_stop(c);
        fail_msg("%s failed (status 0x%x); stderr: %s", who, (unsigned)c->status, c->err);
    }
}

/* ---- command lines ---- */

/* One side of an exchange as a process. */
struct party {
    tu_tool tool;
    enum role role;
    bool listens;
    const char *data;      /* --data, or NULL */
    const char *data_file; /* --file, or NULL */
    bool uncounted;        /* runs until the test stops it, even where --count would end it */
};

/* nanocat has no --count. */
static bool party_counts(const struct party *p)
{
    return (roles[p->role].traits & T_COUNTED) != 0 && p->tool != TU_NANOCAT && !p->uncounted;
}

/* A requester sends once, prints the reply and exits by itself (nngcat's rule without
 * --count); a counted receiver exits after its one message. */
static bool party_exits(const struct party *p)
{
    return (p->role == REQ && p->tool != TU_NANOCAT) || party_counts(p);
}

static void party_cmd(tu_cmd *c, const struct party *p, const char *url)
{
    const struct role_desc *r = &roles[p->role];

    tu_cmd_start(c, p->tool);
    assert_non_null(r->flags[p->tool]);
    tu_cmd_add(c, r->flags[p->tool]);
    if (p->tool == TU_NANOCAT)
        tu_cmd_add(c, p->listens ? "--bind" : "--connect");
    else
        tu_cmd_add(c, p->listens ? "--listen" : "--dial");
    tu_cmd_add_url(c, url);
    if (p->tool == TU_MSOCKCAT && p->listens)
        tu_cmd_add(c, "-v"); /* reports the bound address */
    if (r->traits & T_SENDS) {
        tu_cmd_add(c, p->data_file != NULL ? "--file" : "--data");
        tu_cmd_add(c, p->data_file != NULL ? p->data_file : p->data);
    }
    if (r->traits & T_REPEATS) {
        /* nngcat takes whole seconds only. A surveyor must hear the answer to a survey
         * before it sends the next one, so it gets more room. */
        tu_cmd_add(c, "--interval");
        tu_cmd_add(c, p->tool == TU_NNGCAT ? "1" : p->role == SURVEYOR ? "0.5" : "0.2");
    }
    if (r->traits & T_PRINTS)
        tu_cmd_add(c, "--quoted");
    if (r->traits & T_SUBSCRIBES) {
        tu_cmd_add(c, "--subscribe");
        tu_cmd_add(c, topic);
    }
    if (party_counts(p)) {
        tu_cmd_add(c, "--count");
        tu_cmd_add(c, "1");
    }
}

/* ---- the cases ---- */

/* One case: our side plays role against the tool playing its peer. */
struct proto_case {
    bool in_process; /* our side: a libmsock socket here, or msockcat */
    enum role role;
    tu_tool tool;
    tu_transport transport; /* TU_TCP4, TU_IPC or TU_WS4 */
    bool we_listen;
    char name[112];
};

/* ---- msockcat against a tool ---- */

static void test_msockcat(void **state)
{
    const struct proto_case *pc = *state;
    enum role peer_role = roles[pc->role].peer;
    char our_data[PAYLOAD_MAX], their_data[PAYLOAD_MAX];
    char our_quoted[QUOTED_MAX], their_quoted[QUOTED_MAX];
    char url[TU_URL_MAX];
    tu_cmd lcmd, dcmd;

    if (!tu_tool_present(pc->tool))
        skip();
    size_t our_len = text_payload(our_data, sizeof(our_data), pc->role, "msockcat");
    size_t their_len = text_payload(their_data, sizeof(their_data), peer_role,
                                    tu_tool_name(pc->tool));
    quote_line((const uint8_t *)our_data, our_len, our_quoted, sizeof(our_quoted));
    quote_line((const uint8_t *)their_data, their_len, their_quoted, sizeof(their_quoted));

    /* nanocat 1.1.5 can lose a reply whose sender closes at once: over ipc the close shows as
     * EPOLLHUP before nanomsg has asked for input on the connection, and it then closes the
     * connection unread. So a replying msockcat stays until the test has seen nanocat print. */
    struct party ours = {.tool = TU_MSOCKCAT, .role = pc->role, .listens = pc->we_listen,
                         .data = our_data,
                         .uncounted = pc->role == REP && pc->tool == TU_NANOCAT};
    struct party theirs = {.tool = pc->tool, .role = peer_role, .listens = !pc->we_listen,
                           .data = their_data};
    const struct party *listener = pc->we_listen ? &ours : &theirs;
    const struct party *dialer = pc->we_listen ? &theirs : &ours;

    party_cmd(&lcmd, listener, NULL);
    tu_child *lkid =
        tu_spawn_listening_on(&lcmd, listener->tool, pc->transport, url, sizeof(url));
    party_cmd(&dcmd, dialer, url);
    tu_child *dkid = tu_spawn(dcmd.argv);
    tu_child *our_kid = pc->we_listen ? lkid : dkid;
    tu_child *their_kid = pc->we_listen ? dkid : lkid;

    if (roles[peer_role].traits & T_PRINTS)
        expect_printed(their_kid, tu_tool_name(pc->tool), our_quoted, our_kid);
    if (roles[pc->role].traits & T_PRINTS)
        expect_printed(our_kid, "msockcat", their_quoted, their_kid);
    if (party_exits(&ours)) {
        tu_child_expect_exit_ok(our_kid, "msockcat");
        if (our_kid->out_len != strlen(their_quoted))
            fail_msg("msockcat printed '%.*s', want '%s' once", (int)our_kid->out_len,
                     our_kid->out != NULL ? our_kid->out : "", their_quoted);
    } else {
        expect_not_failed(our_kid, "msockcat");
    }
}

/* ---- a libmsock socket against a tool ---- */

/* The socket of the running in-process case, closed by the teardown if the test fails. */
static struct {
    msock_socket sock;
    bool open;
    tu_waiter *waiter;
} lib;

static int teardown_case(void **state)
{
    (void)state;
    tu_stop_spawned(NULL); /* first: our socket's close then has no live peer to linger for */
    if (lib.open) {
        msock_close(lib.sock);
        lib.open = false;
    }
    if (lib.waiter != NULL) {
        tu_waiter_free(lib.waiter);
        lib.waiter = NULL;
    }
    return 0;
}

struct lib_run {
    const struct proto_case *pc;
    msock_socket s;
    tu_child *tool;
    uint8_t ours[PAYLOAD_MAX];
    size_t ours_len;
    uint8_t theirs[PAYLOAD_MAX];
    size_t theirs_len;
    char ours_quoted[QUOTED_MAX]; /* what the tool must print */
};

static void fail_bytes(const struct lib_run *run, const char *what, const uint8_t *got,
                       size_t got_len, const uint8_t *want, size_t want_len)
{
    char got_hex[3 * PAYLOAD_MAX + 1] = "", want_hex[3 * PAYLOAD_MAX + 1] = "";
    for (size_t i = 0; i < got_len && i < PAYLOAD_MAX; i++)
        snprintf(got_hex + 3 * i, 4, "%02x ", got[i]);
    for (size_t i = 0; i < want_len && i < PAYLOAD_MAX; i++)
        snprintf(want_hex + 3 * i, 4, "%02x ", want[i]);
    fail_msg("%s: got %zu bytes [%s], want %zu bytes [%s]; %s stderr: %s", what, got_len,
             got_hex, want_len, want_hex, tu_tool_name(run->pc->tool), run->tool->err);
}

/* Fails unless the body of m is exactly the tool's data (freeing m before it fails). */
static void check_theirs(const struct lib_run *run, msock_msg *m)
{
    if (msock_msg_len(m) != run->theirs_len ||
        memcmp(msock_msg_body(m), run->theirs, run->theirs_len) != 0) {
        uint8_t copy[PAYLOAD_MAX];
        size_t len = msock_msg_len(m) < sizeof(copy) ? msock_msg_len(m) : sizeof(copy);
        memcpy(copy, msock_msg_body(m), len);
        msock_msg_free(m);
        fail_bytes(run, "message from the tool", copy, len, run->theirs, run->theirs_len);
    }
}

/* Receives one message from the tool and checks that its body is exactly the tool's data.
 * Returns the message for further checks; the caller frees it. */
static msock_msg *recv_theirs(const struct lib_run *run)
{
    msock_msg *m = NULL;
    int rc = msock_recvmsg(run->s, &m, 0);
    if (rc != 0)
        fail_msg("receiving from %s: %s; its stderr: %s", tu_tool_name(run->pc->tool),
                 tu_errname(rc), run->tool->err);
    check_theirs(run, m);
    return m;
}

static void send_ours(const struct lib_run *run)
{
    TU_OK(msock_send(run->s, run->ours, run->ours_len, 0));
}

static void expect_tool_printed(const struct lib_run *run)
{
    static const tu_child no_peer = {.err = "(libmsock in the test)"};
    expect_printed(run->tool, tu_tool_name(run->pc->tool), run->ours_quoted, &no_peer);
}

/* A request or survey arrives with its backtrace in the header: just the 4-byte id with its
 * high bit set, as both tools send it directly. */
static void expect_id_header(msock_msg *m, msock_pipe pipe)
{
    const uint8_t *hdr = msock_msg_header(m);
    assert_int_equal(msock_msg_header_len(m), 4);
    assert_true((hdr[0] & 0x80) != 0);
    assert_int_equal(msock_msg_pipe(m).id, pipe.id);
}

/* Answers the request or survey m by rewriting its body: the header and pipe route it. */
static void reply_with_ours(const struct lib_run *run, msock_msg *m)
{
    msock_msg_clear(m);
    TU_OK(msock_msg_append(m, run->ours, run->ours_len));
    int rc = msock_sendmsg(run->s, m, 0);
    if (rc != 0) {
        msock_msg_free(m);
        fail_msg("replying: %s", tu_errname(rc));
    }
}

/* Publishes a message off the topic and then ours until the tool prints: the tool only
 * subscribes to the topic, so the other message must never show. */
static void exchange_pub(const struct lib_run *run)
{
    static const char noise[] = "noise from libmsock: not the topic";
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    while (tu_child_read_lines(run->tool, 1, 0) == 0 && !tu_deadline_passed(deadline)) {
        TU_OK(msock_send(run->s, noise, strlen(noise), 0));
        send_ours(run);
        tu_child_read_lines(run->tool, 1, 100);
    }
    expect_tool_printed(run);
}

/* First subscribed elsewhere: the tool's messages arrive but are filtered out, then the
 * topic's subscription lets the next one through. */
static void exchange_sub(const struct lib_run *run)
{
    static const char elsewhere[] = "weather";
    uint8_t buf[PAYLOAD_MAX];
    size_t len = sizeof(buf);

    TU_OK(msock_sub_subscribe(run->s, elsewhere, strlen(elsewhere)));
    if (!tu_stat_wait_at_least(run->s, MSOCK_STAT_DROPS_NO_SUB, 1, TU_DEADLINE_MS))
        fail_msg("no message from %s was filtered out; received %llu; its stderr: %s",
                 tu_tool_name(run->pc->tool),
                 (unsigned long long)tu_stat(run->s, MSOCK_STAT_MSGS_RECV), run->tool->err);
    assert_true(tu_stat(run->s, MSOCK_STAT_MSGS_RECV) >= 1);
    TU_EXPECT_RC(MSOCK_EAGAIN, msock_recv(run->s, buf, &len, MSOCK_FLAG_NONBLOCK));
    TU_OK(msock_sub_subscribe(run->s, topic, strlen(topic)));
    msock_msg_free(recv_theirs(run));
}

/* Sends ours until the tool prints it (a bus drops what a peer not yet attached misses), then
 * takes the tool's own message, which it repeats. */
static void exchange_bus(const struct lib_run *run)
{
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    while (tu_child_read_lines(run->tool, 1, 0) == 0 && !tu_deadline_passed(deadline)) {
        send_ours(run);
        tu_child_read_lines(run->tool, 1, 100);
    }
    expect_tool_printed(run);
    msock_msg_free(recv_theirs(run));
}

/* Surveys until an answer comes within the deadline: a survey that went out before the
 * respondent's side of the connection was ready reaches nobody. */
static void exchange_surveyor(const struct lib_run *run)
{
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    for (;;) {
        msock_msg *m = NULL;
        send_ours(run);
        int rc = msock_recvmsg(run->s, &m, 0);
        if (rc == 0) {
            check_theirs(run, m);
            msock_msg_free(m);
            break;
        }
        if (rc != MSOCK_ETIMEDOUT || tu_deadline_passed(deadline))
            fail_msg("surveying %s: %s; its stderr: %s", tu_tool_name(run->pc->tool),
                     tu_errname(rc), run->tool->err);
    }
    expect_tool_printed(run);
}

/* Answers surveys until the tool prints the answer: an answer to a survey the tool has
 * already replaced by its next one is dropped there. */
static void exchange_respondent(const struct lib_run *run, msock_pipe pipe)
{
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    while (tu_child_read_lines(run->tool, 1, 0) == 0 && !tu_deadline_passed(deadline)) {
        msock_msg *m = recv_theirs(run);
        expect_id_header(m, pipe);
        reply_with_ours(run, m);
        tu_child_read_lines(run->tool, 1, 1500);
    }
    expect_tool_printed(run);
}

static void exchange(const struct lib_run *run, msock_pipe pipe)
{
    msock_msg *m;

    switch (run->pc->role) {
    case REQ:
        send_ours(run);
        msock_msg_free(recv_theirs(run));
        expect_tool_printed(run);
        break;
    case REP:
        m = recv_theirs(run);
        expect_id_header(m, pipe);
        reply_with_ours(run, m);
        expect_tool_printed(run);
        break;
    case PUB: exchange_pub(run); break;
    case SUB: exchange_sub(run); break;
    case PUSH:
        send_ours(run);
        expect_tool_printed(run);
        break;
    case PULL: msock_msg_free(recv_theirs(run)); break;
    case BUS: exchange_bus(run); break;
    case SURVEYOR: exchange_surveyor(run); break;
    case RESPONDENT: exchange_respondent(run, pipe); break;
    case PAIR0:
    case PAIR1:
        /* A pair keeps what it sends until its one peer is there. */
        send_ours(run);
        msock_msg_free(recv_theirs(run));
        expect_tool_printed(run);
        break;
    default: fail_msg("no exchange for role %d", (int)run->pc->role);
    }
}

static void test_in_process(void **state)
{
    const struct proto_case *pc = *state;
    const struct role_desc *r = &roles[pc->role];
    enum role peer_role = r->peer;
    struct lib_run run = {.pc = pc};
    char data_file[TU_URL_MAX], url[TU_URL_MAX];
    tu_cmd tcmd;

    if (!tu_tool_present(pc->tool))
        skip();
    run.ours_len = binary_payload(run.ours, sizeof(run.ours), pc->role, "libmsock");
    run.theirs_len = binary_payload(run.theirs, sizeof(run.theirs), peer_role,
                                    tu_tool_name(pc->tool));
    quote_line(run.ours, run.ours_len, run.ours_quoted, sizeof(run.ours_quoted));
    tu_tmp_path(data_file, sizeof(data_file), "data");
    tu_write_file(data_file, run.theirs, run.theirs_len);

    int rc = r->open(&lib.sock);
    if (rc != 0)
        fail_msg("cannot open a %s socket: %s", r->name, tu_errname(rc));
    lib.open = true;
    run.s = lib.sock;
    TU_OK(msock_socket_set_ms(run.s, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(run.s, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(run.s, MSOCK_OPT_LINGER, 0));
    if (pc->role == SURVEYOR) /* room for a loaded machine; the tools' own default is 1 s */
        TU_OK(msock_socket_set_ms(run.s, MSOCK_OPT_SURVEY_TIME, 2000));
    lib.waiter = tu_waiter_attach(run.s);

    struct party tool = {.tool = pc->tool, .role = peer_role, .listens = !pc->we_listen,
                         .data_file = data_file};
    party_cmd(&tcmd, &tool, NULL);
    if (pc->we_listen) {
        msock_listener l;
        tu_listen_any(run.s, pc->transport, &l, url, sizeof(url));
        tcmd.argv[tcmd.url_at] = url;
        run.tool = tu_spawn(tcmd.argv);
    } else {
        msock_dialer d;
        run.tool = tu_spawn_listening_on(&tcmd, pc->tool, pc->transport, url, sizeof(url));
        rc = msock_dial(run.s, url, &d, 0);
        if (rc != 0)
            fail_msg("dialing %s at %s: %s; its stderr: %s", tu_tool_name(pc->tool), url,
                     tu_errname(rc), run.tool->err);
    }
    if (!tu_wait_added(lib.waiter, 1, TU_DEADLINE_MS)) {
        tu_child_stop(run.tool);
        fail_msg("%s never connected over %s; its stderr: %s", tu_tool_name(pc->tool), url,
                 run.tool->err);
    }
    msock_pipe pipe = tu_waiter_last_added(lib.waiter);
    int peer = 0;
    TU_OK(msock_pipe_get_int(pipe, MSOCK_OPT_PEER, &peer));
    assert_int_equal(peer, roles[peer_role].proto);

    exchange(&run, pipe);
}

/* ---- setup ---- */

/* The transports, as the case names call them. ws cases exist only in a build with ws://. */
static const struct {
    tu_transport transport;
    const char *name;
} transports[] = {
    {TU_TCP4, "tcp"},
    {TU_IPC, "ipc"},
#ifdef MSOCK_TEST_WS
    {TU_WS4, "ws"},
#endif
};
#define N_TRANSPORTS (sizeof(transports) / sizeof(transports[0]))

/* Both styles x every role x both tools (where the tool has the peer role) x every transport x
 * either side listening. */
#define CASE_MAX (2 * ROLE_COUNT * 2 * N_TRANSPORTS * 2)
static struct proto_case cases[CASE_MAX];

static size_t fill_cases(struct CMUnitTest *tests)
{
    size_t n = 0;

    for (int style = 0; style < 2; style++) {
        for (int role = 0; role < ROLE_COUNT; role++) {
            for (int tool = TU_NNGCAT; tool <= TU_NANOCAT; tool++) {
                if (roles[roles[role].peer].flags[tool] == NULL)
                    continue;
                for (size_t v = 0; v < 2 * N_TRANSPORTS; v++) {
                    struct proto_case *pc = &cases[n];
                    const char *ours = style == 1 ? "libmsock" : "msockcat";
                    pc->in_process = style == 1;
                    pc->role = (enum role)role;
                    pc->tool = (tu_tool)tool;
                    pc->transport = transports[v / 2].transport;
                    pc->we_listen = v % 2 == 0;
                    snprintf(pc->name, sizeof(pc->name), "%s %s vs %s %s, %s, %s listens", ours,
                             roles[role].name, tu_tool_name(tool),
                             roles[roles[role].peer].flags[tool], transports[v / 2].name,
                             pc->we_listen ? ours : tu_tool_name(tool));
                    tests[n] = (struct CMUnitTest){
                        .name = pc->name,
                        .test_func = pc->in_process ? test_in_process : test_msockcat,
                        .teardown_func = teardown_case,
                        .initial_state = pc,
                    };
                    n++;
                }
            }
        }
    }
    return n;
}

int main(void)
{
    static struct CMUnitTest tests[CASE_MAX];

    tu_watchdog(600);
    signal(SIGPIPE, SIG_IGN);
    size_t n = fill_cases(tests);
    int failed = _cmocka_run_group_tests("interop_proto", tests, n, tu_require_msockcat, NULL);
    if (failed == 0)
        msock_fini();
    return failed;
}
