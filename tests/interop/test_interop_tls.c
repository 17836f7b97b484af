/* test_interop_tls.c: msockcat's TLS flags against nngcat and itself over tls+tcp:// and, when
 * the library can listen on it, wss://: data both ways with each tool listening, client
 * certificates, refused server certificates, --insecure, and TLS command line errors. */
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

#include "testutil.h"
#include "transport/tlsutil.h"

static const char payload[] = "over \"tls\" \\ end";
static const char payload_quoted[] = "\"over \\\"tls\\\" \\\\ end\"\n";
static const char reply[] = "answer";
static const char reply_quoted[] = "\"answer\"\n";

enum tls_transport { TLS_TCP, TLS_WSS };

/* The path of a wss listener; tls+tcp has none. */
#define WSS_PATH "/sp/tls"

static const char *tls_scheme(enum tls_transport tr)
{
    return tr == TLS_TCP ? "tls+tcp" : "wss";
}

static const char *tls_path(enum tls_transport tr)
{
    return tr == TLS_TCP ? "" : WSS_PATH;
}

/* ---- whether wss:// works in this build ---- */

static int wss_state; /* 0: not yet known, 1: works, -1: not */

/* A wss listener with a certificate starts, or wss is not there (yet): its cases skip. */
static bool wss_available(void)
{
    msock_socket s;
    msock_listener l;

    if (wss_state != 0)
        return wss_state > 0;
    wss_state = -1;
    TU_OK(msock_pair_open(&s));
    if (msock_listener_create(&l, s, "wss://127.0.0.1:0" WSS_PATH) == 0 &&
        msock_listener_set_string(l, MSOCK_OPT_TLS_CERT, tls_cert_file("server.crt")) == 0 &&
        msock_listener_set_string(l, MSOCK_OPT_TLS_KEY, tls_cert_file("server.key")) == 0 &&
        msock_listener_start(l, 0) == 0)
        wss_state = 1;
    msock_close(s);
    return wss_state > 0;
}

static void need_transport(enum tls_transport tr)
{
    if (tr == TLS_WSS && !wss_available()) {
        print_message("wss:// cannot listen in this build: skipped\n");
        skip();
    }
}

/* ---- processes ---- */

/* How often spawn_tls_listener tries a fresh port for a tool that must be given one. */
#define LISTEN_ATTEMPTS 5

/* Adds "--flag FILE" with FILE one of the test certificates. */
static void add_file(tu_cmd *c, const char *flag, const char *name)
{
    tu_cmd_add(c, flag);
    tu_cmd_add(c, tls_cert_file(name));
}

/* A listener's identity: --cert and --key. */
static void add_identity(tu_cmd *c, const char *cert, const char *key)
{
    add_file(c, "--cert", cert);
    add_file(c, "--key", key);
}

/* Spawns cmd, a listener of tool t whose address argument is still open, on a fresh address of
 * tr, and waits until it listens. dial_url gets the address a dialer of tool dialer uses:
 * nngcat checks only DNS names in certificates, so it dials localhost; msockcat dials
 * 127.0.0.1, which its server certificate names too. nng's wss listener refuses an HTTP Host
 * other than the one it listens on, so nngcat listens on localhost there. */
static tu_child *spawn_tls_listener(tu_cmd *cmd, tu_tool t, enum tls_transport tr,
                                    tu_tool dialer, char *dial_url, size_t len)
{
    const char *dial_host = dialer == TU_NNGCAT || (t == TU_NNGCAT && tr == TLS_WSS)
                                ? "localhost"
                                : "127.0.0.1";
    char url[TU_URL_MAX];

    assert_true(cmd->url_at > 0);
    for (int attempt = 0; attempt < LISTEN_ATTEMPTS; attempt++) {
        int port = t == TU_MSOCKCAT ? 0 : tu_free_tcp_port();
        const char *host = t == TU_NNGCAT && tr == TLS_WSS ? "localhost" : "127.0.0.1";
        snprintf(url, sizeof url, "%s://%s:%d%s", tls_scheme(tr), host, port, tls_path(tr));
        cmd->argv[cmd->url_at] = url;
        tu_child *kid = tu_spawn(cmd->argv);
        if (t == TU_MSOCKCAT) {
            if (!tu_msockcat_listen_url(kid, url, sizeof url))
                fail_msg("msockcat did not report its address; stderr: %s", kid->err);
            port = tu_url_port(url);
            assert_true(port > 0);
            snprintf(dial_url, len, "%s://%s:%d%s", tls_scheme(tr), dial_host, port,
                     tls_path(tr));
            return kid;
        }
        int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
        while (!tu_deadline_passed(deadline) && !tu_child_wait_exit(kid, 0)) {
            if (tu_url_listening(url)) {
                snprintf(dial_url, len, "%s://%s:%d%s", tls_scheme(tr), dial_host, port,
                         tls_path(tr));
                return kid;
            }
            tu_child_read(kid, SIZE_MAX, 10); /* paces the probe and keeps stderr drained */
        }
        tu_unspawn(kid);
    }
    fail_msg("%s never listened on %s", tu_tool_name(t), tls_scheme(tr));
    return NULL;
}

/* Fails unless the child printed exactly want on stdout. */
static void expect_output(const tu_child *c, const char *who, const char *want)
{
    size_t n = strlen(want);
    if (c->out_len != n || memcmp(c->out, want, n) != 0)
        fail_msg("%s printed '%.*s', want '%s'; stderr: %s", who, (int)c->out_len,
                 c->out ? c->out : "", want, c->err);
}

/* Waits for the child to end by itself; fails unless it failed with status 1 and its stderr
 * holds reason (when not NULL). */
static void expect_failure(tu_child *c, const char *who, const char *reason)
{
    if (!tu_child_wait_exit(c, TU_DEADLINE_MS))
        fail_msg("%s still runs at the deadline; stderr: %s", who, c->err);
    tu_child_stop(c);
    int status = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
    if (status != 1 || (reason != NULL && strstr(c->err, reason) == NULL))
        fail_msg("%s: status %d, stderr '%s'; want 1 and '%s'", who, status, c->err,
                 reason ? reason : "");
}

/* ---- data between nngcat and msockcat ---- */

struct pairing {
    tu_tool listener;
    tu_tool dialer;
    bool req_rep; /* else push (dialer) to pull (listener) */
};

struct interop_case {
    struct pairing p;
    enum tls_transport tr;
    char name[96];
};

/* The listener shows server.crt; the dialer trusts ca.crt. Push/pull: the dialer pushes the
 * payload, the listener prints it. Req/rep: the dialer asks the payload, the listener prints
 * it and answers, the dialer prints the answer. nngcat repeats its push every second, since
 * the listener may come late to the connection; msockcat's dial returns once connected. */
static void test_interop(void **state)
{
    const struct interop_case *tc = *state;
    tu_cmd lcmd, dcmd;
    char url[TU_URL_MAX];

    need_transport(tc->tr);
    if (!tu_tool_present(TU_NNGCAT))
        skip();
    tu_cmd_start(&lcmd, tc->p.listener);
    tu_cmd_add(&lcmd, tc->p.req_rep ? "--rep" : "--pull");
    tu_cmd_add(&lcmd, "--listen");
    tu_cmd_add_url(&lcmd, NULL);
    if (tc->p.listener == TU_MSOCKCAT)
        tu_cmd_add(&lcmd, "-v");
    add_identity(&lcmd, "server.crt", "server.key");
    tu_cmd_add(&lcmd, "--quoted");
    tu_cmd_add(&lcmd, "--count");
    tu_cmd_add(&lcmd, "1");
    if (tc->p.req_rep) {
        tu_cmd_add(&lcmd, "--data");
        tu_cmd_add(&lcmd, reply);
    }
    tu_child *listener = spawn_tls_listener(&lcmd, tc->p.listener, tc->tr, tc->p.dialer, url,
                                            sizeof url);

    tu_cmd_start(&dcmd, tc->p.dialer);
    tu_cmd_add(&dcmd, tc->p.req_rep ? "--req" : "--push");
    tu_cmd_add(&dcmd, "--dial");
    tu_cmd_add_url(&dcmd, url);
    add_file(&dcmd, "--cacert", "ca.crt");
    tu_cmd_add(&dcmd, "--data");
    tu_cmd_add(&dcmd, payload);
    if (tc->p.req_rep) {
        tu_cmd_add(&dcmd, "--quoted");
    } else if (tc->p.dialer == TU_NNGCAT) {
        tu_cmd_add(&dcmd, "--interval");
        tu_cmd_add(&dcmd, "1");
    }
    tu_child *dialer = tu_spawn(dcmd.argv);

    tu_child_expect_exit_ok(listener, "the listener");
    expect_output(listener, "the listener", payload_quoted);
    if (tc->p.req_rep) {
        tu_child_expect_exit_ok(dialer, "the requester");
        expect_output(dialer, "the requester", reply_quoted);
    } else if (tc->p.dialer == TU_MSOCKCAT) {
        tu_child_expect_exit_ok(dialer, "the pushing msockcat");
    }
}

static const struct pairing pairings[] = {
    {TU_MSOCKCAT, TU_NNGCAT, false},
    {TU_NNGCAT, TU_MSOCKCAT, false},
    {TU_MSOCKCAT, TU_NNGCAT, true},
    {TU_NNGCAT, TU_MSOCKCAT, true},
};
#define PAIRING_COUNT (sizeof(pairings) / sizeof(pairings[0]))
#define INTEROP_COUNT (PAIRING_COUNT * 2)
static struct interop_case interop_cases[INTEROP_COUNT];

/* ---- certificates: client ones, refused ones, --insecure ---- */

/* msockcat --pull listening on tr with cert/key, printing one message quoted; extra adds
 * flags (NULL-terminated) before the address is chosen. */
static tu_child *msockcat_puller(enum tls_transport tr, const char *cert, const char *key,
                                 const char *const *extra, tu_tool dialer, char *url,
                                 size_t len)
{
    tu_cmd c;

    tu_cmd_start(&c, TU_MSOCKCAT);
    tu_cmd_add(&c, "--pull");
    tu_cmd_add(&c, "--listen");
    tu_cmd_add_url(&c, NULL);
    tu_cmd_add(&c, "-v");
    add_identity(&c, cert, key);
    tu_cmd_add(&c, "--quoted");
    tu_cmd_add(&c, "--count");
    tu_cmd_add(&c, "1");
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        tu_cmd_add(&c, extra[i]);
    return spawn_tls_listener(&c, TU_MSOCKCAT, tr, dialer, url, len);
}

/* What a dialer that must be refused sends: the listener's exact output shows it never came. */
static const char intruder[] = "must not arrive";

/* msockcat --push of data to url with the flags in args (NULL-terminated). */
static tu_child *msockcat_pusher(const char *url, const char *data, const char *const *args)
{
    tu_cmd c;

    tu_cmd_start(&c, TU_MSOCKCAT);
    tu_cmd_add(&c, "--push");
    tu_cmd_add(&c, "--dial");
    tu_cmd_add_url(&c, url);
    tu_cmd_add(&c, "--data");
    tu_cmd_add(&c, data);
    for (size_t i = 0; args[i] != NULL; i++)
        tu_cmd_add(&c, args[i]);
    return tu_spawn(c.argv);
}

static enum tls_transport state_transport(void **state)
{
    return *(const enum tls_transport *)*state;
}

/* A listener given --cacert requires a client certificate from that CA: a dialer without one
 * is refused (and only that connection: the listener goes on), a dialer with one gets
 * through. */
static void test_client_certificate(void **state)
{
    enum tls_transport tr = state_transport(state);
    char url[TU_URL_MAX], cacert[TU_URL_MAX], cert[TU_URL_MAX], key[TU_URL_MAX];

    need_transport(tr);
    snprintf(cacert, sizeof cacert, "%s", tls_cert_file("ca.crt"));
    snprintf(cert, sizeof cert, "%s", tls_cert_file("client.crt"));
    snprintf(key, sizeof key, "%s", tls_cert_file("client.key"));
    const char *const require[] = {"--cacert", cacert, NULL};
    tu_child *listener = msockcat_puller(tr, "server.crt", "server.key", require, TU_MSOCKCAT,
                                         url, sizeof url);

    /* Over wss the listener's close can overtake its alert (libwebsockets closes with the
     * dialer's data unread), and then the dialer knows only that the connection failed. */
    const char *const anonymous[] = {"--cacert", cacert, NULL};
    tu_child *refused = msockcat_pusher(url, intruder, anonymous);
    expect_failure(refused, "the dialer without a client certificate",
                   tr == TLS_TCP ? msock_strerror(MSOCK_EPEERAUTH) : "cannot dial");
    tu_unspawn(refused);

    const char *const known[] = {"--cacert", cacert, "--cert", cert, "--key", key, NULL};
    tu_child *accepted = msockcat_pusher(url, payload, known);
    tu_child_expect_exit_ok(listener, "the listener");
    expect_output(listener, "the listener", payload_quoted);
    tu_child_expect_exit_ok(accepted, "the dialer with a client certificate");
}

/* A server certificate from another CA: msockcat's dialer fails naming the refused
 * certificate, nngcat's fails too, and msockcat --insecure gets through. */
static void test_untrusted_server(void **state)
{
    enum tls_transport tr = state_transport(state);
    char url[TU_URL_MAX], nng_url[TU_URL_MAX], cacert[TU_URL_MAX];

    need_transport(tr);
    snprintf(cacert, sizeof cacert, "%s", tls_cert_file("ca.crt"));
    tu_child *listener = msockcat_puller(tr, "other.crt", "other.key", NULL, TU_MSOCKCAT, url,
                                         sizeof url);

    const char *const trusting[] = {"--cacert", cacert, NULL};
    tu_child *refusing = msockcat_pusher(url, intruder, trusting);
    expect_failure(refusing, "msockcat dialing an untrusted server",
                   msock_strerror(MSOCK_EPEERAUTH));
    tu_unspawn(refusing);

    if (tu_tool_present(TU_NNGCAT)) {
        /* The same listener, as nngcat dials it: by name. */
        int port = tu_url_port(url);
        snprintf(nng_url, sizeof nng_url, "%s://localhost:%d%s", tls_scheme(tr), port,
                 tls_path(tr));
        const char *argv[] = {tu_tool_path(TU_NNGCAT), "--push", "--dial", nng_url, "--cacert",
                              cacert, "--data", intruder, NULL};
        tu_child *nng = tu_spawn(argv);
        expect_failure(nng, "nngcat dialing an untrusted server", NULL);
        tu_unspawn(nng);
    }

    const char *const insecure[] = {"--insecure", NULL};
    tu_child *daring = msockcat_pusher(url, payload, insecure);
    tu_child_expect_exit_ok(listener, "the listener");
    expect_output(listener, "the listener", payload_quoted);
    tu_child_expect_exit_ok(daring, "msockcat --insecure");
}

/* nngcat -k (its --insecure) takes a server certificate it cannot verify; and nngcat shows a
 * client certificate to a msockcat listener that requires one. */
static void test_nngcat_flags(void **state)
{
    enum tls_transport tr = state_transport(state);
    char url[TU_URL_MAX], cacert[TU_URL_MAX];

    need_transport(tr);
    if (!tu_tool_present(TU_NNGCAT))
        skip();
    snprintf(cacert, sizeof cacert, "%s", tls_cert_file("ca.crt"));
    const char *const require[] = {"--cacert", cacert, NULL};
    tu_child *listener = msockcat_puller(tr, "server.crt", "server.key", require, TU_NNGCAT,
                                         url, sizeof url);
    tu_cmd c;
    tu_cmd_start(&c, TU_NNGCAT);
    tu_cmd_add(&c, "--push");
    tu_cmd_add(&c, "--dial");
    tu_cmd_add_url(&c, url);
    tu_cmd_add(&c, "-k");
    add_identity(&c, "client.crt", "client.key");
    tu_cmd_add(&c, "--data");
    tu_cmd_add(&c, payload);
    tu_cmd_add(&c, "--interval");
    tu_cmd_add(&c, "1");
    tu_spawn(c.argv);
    tu_child_expect_exit_ok(listener, "the listener");
    expect_output(listener, "the listener", payload_quoted);
}

/* Group mode takes the TLS flags too: a hub that requires client certificates answers a
 * client that shows one, and refuses one that does not. */
static void test_group_hub(void **state)
{
    char url[TU_URL_MAX], cacert[TU_URL_MAX], cert[TU_URL_MAX], key[TU_URL_MAX];
    tu_cmd hub;
    (void)state;

    snprintf(cacert, sizeof cacert, "%s", tls_cert_file("ca.crt"));
    snprintf(cert, sizeof cert, "%s", tls_cert_file("client.crt"));
    snprintf(key, sizeof key, "%s", tls_cert_file("client.key"));
    tu_cmd_start(&hub, TU_MSOCKCAT);
    tu_cmd_add(&hub, "--group-hub");
    tu_cmd_add(&hub, "--bind");
    tu_cmd_add_url(&hub, NULL);
    tu_cmd_add(&hub, "-v");
    add_identity(&hub, "server.crt", "server.key");
    tu_cmd_add(&hub, "--cacert");
    tu_cmd_add(&hub, cacert);
    spawn_tls_listener(&hub, TU_MSOCKCAT, TLS_TCP, TU_MSOCKCAT, url, sizeof url);

    const char *known[] = {tu_tool_path(TU_MSOCKCAT), "--group", "--dial", url, "--cacert",
                           cacert, "-E", cert, "--key", key, "--whoami", NULL};
    tu_child *client = tu_spawn(known);
    tu_child_expect_exit_ok(client, "the group client with a certificate");
    if (client->out_len < 2 || client->out[0] < '1' || client->out[0] > '9')
        fail_msg("--whoami printed '%.*s'", (int)client->out_len, client->out ? client->out : "");
    tu_unspawn(client);

    const char *anonymous[] = {tu_tool_path(TU_MSOCKCAT), "--group", "--dial", url, "--cacert",
                               cacert, "--whoami", NULL};
    tu_child *refused = tu_spawn(anonymous);
    expect_failure(refused, "the group client without a certificate",
                   msock_strerror(MSOCK_EPEERAUTH));
}

/* A server certificate for another name: refused by name, though its CA is trusted. */
static void test_wrong_name(void **state)
{
    char url[TU_URL_MAX], cacert[TU_URL_MAX];
    (void)state;

    snprintf(cacert, sizeof cacert, "%s", tls_cert_file("ca.crt"));
    /* Named as nngcat would dial it (localhost), so that the DNS name check is the one that
     * refuses. */
    tu_child *listener = msockcat_puller(TLS_TCP, "wrongname.crt", "wrongname.key", NULL,
                                         TU_NNGCAT, url, sizeof url);
    const char *const trusting[] = {"--cacert", cacert, NULL};
    tu_child *dialer = msockcat_pusher(url, intruder, trusting);
    expect_failure(dialer, "msockcat dialing a server named otherwise",
                   msock_strerror(MSOCK_EPEERAUTH));
    /* The listener goes on: a dialer that accepts any certificate gets through. */
    const char *const insecure[] = {"-k", NULL};
    tu_child *daring = msockcat_pusher(url, payload, insecure);
    tu_child_expect_exit_ok(listener, "the listener");
    expect_output(listener, "the listener", payload_quoted);
    tu_child_expect_exit_ok(daring, "msockcat -k");
}

/* ---- command line errors ---- */

/* The TLS flags' own errors, all exiting 1 before anything is sent. */
static void test_tls_errors(void **state)
{
    char missing[TU_URL_MAX], url[TU_URL_MAX], cert[TU_URL_MAX], key[TU_URL_MAX];
    (void)state;

    tu_tmp_path(missing, sizeof missing, "no-such.crt");
    snprintf(url, sizeof url, "tls+tcp://127.0.0.1:%d", tu_free_tcp_port());
    snprintf(cert, sizeof cert, "%s", tls_cert_file("server.crt"));
    snprintf(key, sizeof key, "%s", tls_cert_file("server.key"));
    const struct {
        const char *args[10];
        const char *reason;
    } lines[] = {
        {{"--pull", "--listen", url, "--key", key}, "--key needs --cert"},
        {{"--pull", "--listen", url, "--cert", missing}, "cannot read --cert"},
        {{"--pull", "--listen", url, "--cert", cert, "--key", missing}, "cannot read --key"},
        {{"--push", "--dial", url, "--cacert", missing, "-D", "x"}, "cannot read --cacert"},
        {{"--pull", "--listen", url, "--cert", cert, "--cert", cert}, "only once"},
        /* a key that is not the certificate's */
        {{"--pull", "--listen", url, "--cert", cert, "--key", tls_cert_file("client.key")},
         "cannot listen"},
        /* a TLS listener has no identity without --cert */
        {{"--pull", "--listen", url}, "give --cert"},
        {{"--pull", "--listen", "WSS://127.0.0.1:0/x"}, "give --cert"},
        {{"--pull", "--listen", url, "--zt-home", "/tmp"}, "ZeroTier"},
    };

    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        const char *argv[12] = {tu_tool_path(TU_MSOCKCAT)};
        for (int a = 0; a < 10 && lines[i].args[a] != NULL; a++)
            argv[a + 1] = lines[i].args[a];
        tu_child *c = tu_spawn(argv);
        char who[32];
        snprintf(who, sizeof who, "line %zu", i);
        expect_failure(c, who, lines[i].reason);
        tu_unspawn(c);
    }
}

/* ---- setup ---- */

static const enum tls_transport transports[] = {TLS_TCP, TLS_WSS};

static void fill_interop_cases(struct CMUnitTest *tests)
{
    size_t n = 0;

    for (size_t t = 0; t < 2; t++) {
        for (size_t p = 0; p < PAIRING_COUNT; p++, n++) {
            struct interop_case *tc = &interop_cases[n];
            tc->p = pairings[p];
            tc->tr = transports[t];
            snprintf(tc->name, sizeof tc->name, "%s listens, %s dials: %s over %s",
                     tu_tool_name(tc->p.listener), tu_tool_name(tc->p.dialer),
                     tc->p.req_rep ? "rep/req" : "pull/push", tls_scheme(tc->tr));
            tests[n] = (struct CMUnitTest){.name = tc->name,
                                           .test_func = test_interop,
                                           .teardown_func = tu_stop_spawned,
                                           .initial_state = tc};
        }
    }
}

#define CERT_TEST(fn, tr)                                                                    \
    {                                                                                        \
        .name = #fn " over " #tr, .test_func = fn, .teardown_func = tu_stop_spawned,       \
        .initial_state = (void *)&transports[tr]                                             \
    }

/* Makes the certificates before any test forks a tool. */
static int make_certs(void **state)
{
    int rc = tu_require_msockcat(state);
    if (rc == 0)
        (void)tls_certs();
    return rc;
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        CERT_TEST(test_client_certificate, TLS_TCP),
        CERT_TEST(test_untrusted_server, TLS_TCP),
        CERT_TEST(test_nngcat_flags, TLS_TCP),
        CERT_TEST(test_client_certificate, TLS_WSS),
        CERT_TEST(test_untrusted_server, TLS_WSS),
        CERT_TEST(test_nngcat_flags, TLS_WSS),
        cmocka_unit_test_teardown(test_group_hub, tu_stop_spawned),
        cmocka_unit_test_teardown(test_wrong_name, tu_stop_spawned),
        cmocka_unit_test_teardown(test_tls_errors, tu_stop_spawned),
    };
    struct CMUnitTest tests[INTEROP_COUNT + sizeof(fixed) / sizeof(fixed[0])];
    size_t n = INTEROP_COUNT;

    tu_watchdog(600);
    signal(SIGPIPE, SIG_IGN);
    fill_interop_cases(tests);
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("interop_tls", tests, n, make_certs, NULL);
}
