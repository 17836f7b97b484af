/* test_wss.c: wss:// (WebSocket over TLS through libwebsockets) with certificates made by
 * tests/tls/make_certs.sh: every size both ways, the CA and server name checks (refused
 * certificates give MSOCK_EPEERAUTH), client certificates, TLS versions, bad files, clients
 * that speak no TLS, a listener that serves on after each refusal, and nngcat over wss both
 * ways. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "transport/tlsutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MIB ((size_t)1024 * 1024)

/* Around the ws fragment size (64 KiB), the frame length encodings and TLS records (16 KiB). */
static const size_t sizes[] = {0, 1, 125, 126, 16384, 16385, 65535, 65536, 65537, 200000, MIB};

static msock_socket open_socket(int (*open_fn)(msock_socket *))
{
    msock_socket s = tu_socket_bounded(open_fn);
    TU_OK(msock_socket_set_size(s, MSOCK_OPT_RECV_MAXSZ, 2 * MIB));
    return s;
}

/* A started wss listener on wss://host:0/path with cert/key, its checks set by setup (may be
 * NULL) before it starts; url gets "wss://dial_host:PORT/path". */
static msock_listener wss_listen_with(msock_socket s, const char *host, const char *path,
                                      const char *cert, const char *key, const char *dial_host,
                                      void (*setup)(msock_listener), char *url, size_t len)
{
    char bind_url[TU_URL_MAX];
    snprintf(bind_url, sizeof bind_url, "wss://%s:0%s", host, path);
    msock_listener l;
    TU_OK(msock_listener_create(&l, s, bind_url));
    tls_listener_identity(l, cert, key);
    if (setup)
        setup(l);
    TU_OK(msock_listener_start(l, 0));
    char bound[TU_URL_MAX], want[TU_URL_MAX];
    tu_listener_url(l, bound, sizeof bound);
    int port = tu_url_port(bound);
    assert_true(port > 0);
    snprintf(want, sizeof want, "wss://%s:%d%s", host, port, path);
    assert_string_equal(bound, want);
    snprintf(url, len, "wss://%s:%d%s", dial_host, port, path);
    return l;
}

static msock_listener wss_listen(msock_socket s, const char *cert, const char *key, char *url,
                                 size_t len)
{
    return wss_listen_with(s, "127.0.0.1", "/sp", cert, key, "localhost", NULL, url, len);
}

/* A blocking dial to url trusting ca (NULL: the system's CAs), its other options set by setup
 * (may be NULL); returns the dial's result (the dialer is kept on success). */
static int wss_dial_with(msock_socket s, const char *url, const char *ca,
                         void (*setup)(msock_dialer))
{
    msock_dialer d;
    TU_OK(msock_dialer_create(&d, s, url));
    if (ca)
        tls_dialer_trust(d, ca);
    if (setup)
        setup(d);
    int rv = msock_dialer_start(d, 0);
    if (rv != 0)
        msock_dialer_close(d);
    return rv;
}

static int wss_dial(msock_socket s, const char *url, const char *ca)
{
    return wss_dial_with(s, url, ca, NULL);
}

static void expect_roundtrip(msock_socket req, msock_socket rep, size_t size, uint32_t seed)
{
    TU_OK(msock_sendmsg(req, tu_msg_new(size, seed), 0));
    msock_msg *got;
    TU_OK(msock_recvmsg(rep, &got, 0));
    assert_int_equal(msock_msg_len(got), size);
    assert_true(tu_check(msock_msg_body(got), size, seed));
    TU_OK(msock_sendmsg(rep, got, 0)); /* echo */
    TU_OK(msock_recvmsg(req, &got, 0));
    assert_int_equal(msock_msg_len(got), size);
    assert_true(tu_check(msock_msg_body(got), size, seed));
    msock_msg_free(got);
}

/* After a refusal the listener still serves a good dialer at once. */
static void expect_served(msock_socket rep, const char *url)
{
    msock_socket req = open_socket(msock_req_open);
    TU_OK(wss_dial(req, url, "ca.crt"));
    expect_roundtrip(req, rep, 10, 99);
    TU_OK(msock_close(req));
}

/* Every size both ways over REQ/REP, dialing by name (localhost) and by address (the
 * certificate's IP entry). */
static void test_reqrep_sizes(void **state)
{
    (void)state;
    const char *dial_hosts[] = {"localhost", "127.0.0.1"};
    for (size_t h = 0; h < ARRAY_LEN(dial_hosts); h++) {
        msock_socket rep = open_socket(msock_rep_open), req = open_socket(msock_req_open);
        char url[TU_URL_MAX];
        wss_listen_with(rep, "127.0.0.1", "/rr", "server.crt", "server.key", dial_hosts[h], NULL,
                        url, sizeof url);
        TU_OK(wss_dial(req, url, "ca.crt"));
        for (size_t i = 0; i < ARRAY_LEN(sizes); i++)
            expect_roundtrip(req, rep, sizes[i], tu_seed((unsigned)h, (unsigned)i));
        TU_OK(msock_close(req));
        assert_int_equal(tu_stat(rep, MSOCK_STAT_ERR_TLS), 0);
        TU_OK(msock_close(rep));
    }
}

/* All sizes sent before any is received (the queues and fragments interleave), on IPv4 and,
 * where the machine has it, on [::1] (the certificate has ::1 as an IP entry). */
static void test_pushpull_sizes(void **state)
{
    (void)state;
    const char *hosts[] = {"127.0.0.1", "[::1]"};
    for (size_t h = 0; h < ARRAY_LEN(hosts); h++) {
        msock_socket pull = open_socket(msock_pull_open), push = open_socket(msock_push_open);
        char probe[TU_URL_MAX], url[TU_URL_MAX];
        snprintf(probe, sizeof probe, "tcp://%s:0", hosts[h]);
        msock_listener pl;
        if (msock_listen(pull, probe, &pl, 0) != 0) { /* no IPv6 here */
            TU_OK(msock_close(pull));
            TU_OK(msock_close(push));
            continue;
        }
        TU_OK(msock_listener_close(pl));
        wss_listen_with(pull, hosts[h], "/pipeline", "server.pem", "server.pem", hosts[h], NULL,
                        url, sizeof url);
        TU_OK(wss_dial(push, url, "ca.crt"));
        for (size_t i = 0; i < ARRAY_LEN(sizes); i++)
            TU_OK(msock_sendmsg(push, tu_msg_new(sizes[i], tu_seed(3, (unsigned)i)), 0));
        for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
            msock_msg *m;
            TU_OK(msock_recvmsg(pull, &m, 0));
            assert_int_equal(msock_msg_len(m), sizes[i]);
            assert_true(tu_check(msock_msg_body(m), sizes[i], tu_seed(3, (unsigned)i)));
            msock_msg_free(m);
        }
        TU_OK(msock_close(push));
        TU_OK(msock_close(pull));
    }
}

static void verify_none(msock_dialer d)
{
    TU_OK(msock_dialer_set_int(d, MSOCK_OPT_TLS_VERIFY, MSOCK_TLS_VERIFY_NONE));
}

static void name_example_com(msock_dialer d)
{
    TU_OK(msock_dialer_set_string(d, MSOCK_OPT_TLS_SERVER_NAME, "example.com"));
}

/* A server certificate from another CA, or for another name, is refused with
 * MSOCK_EPEERAUTH; no verification, or the right server name, lets the dialer in. */
static void test_server_checks(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open);
    char url[TU_URL_MAX];
    wss_listen(rep, "other.crt", "other.key", url, sizeof url);
    msock_socket req = open_socket(msock_req_open);
    TU_EXPECT_RC(MSOCK_EPEERAUTH, wss_dial(req, url, "ca.crt"));
    TU_EXPECT_RC(MSOCK_EPEERAUTH, wss_dial(req, url, NULL)); /* the system's CAs */
    /* The listener saw the handshakes fail (our dialer's alert), and counts them. */
    assert_true(tu_stat_wait_at_least(rep, MSOCK_STAT_ERR_TLS, 2, TU_DEADLINE_MS));
    TU_OK(wss_dial_with(req, url, "ca.crt", verify_none));
    expect_roundtrip(req, rep, 100, 3);
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));

    rep = open_socket(msock_rep_open);
    wss_listen(rep, "wrongname.crt", "wrongname.key", url, sizeof url);
    req = open_socket(msock_req_open);
    TU_EXPECT_RC(MSOCK_EPEERAUTH, wss_dial(req, url, "ca.crt"));
    TU_OK(wss_dial_with(req, url, "ca.crt", name_example_com));
    expect_roundtrip(req, rep, 100, 4);
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));

    /* The good certificate: served after all of that. */
    rep = open_socket(msock_rep_open);
    wss_listen(rep, "server.crt", "server.key", url, sizeof url);
    req = open_socket(msock_req_open);
    TU_EXPECT_RC(MSOCK_EPEERAUTH, wss_dial_with(req, url, "other-ca.crt", NULL));
    TU_OK(msock_close(req));
    expect_served(rep, url);
    TU_OK(msock_close(rep));
}

static void require_client_cert(msock_listener l)
{
    tls_listener_verify(l, "ca.crt", MSOCK_TLS_VERIFY_REQUIRED);
}

static void client_identity(msock_dialer d)
{
    tls_dialer_identity(d, "client.crt", "client.key");
}

static void other_identity(msock_dialer d)
{
    tls_dialer_identity(d, "other.crt", "other.key");
}

/* A dialer refused for its certificate (or its lack of one) reads the listener's alert when it
 * comes before lws closes the connection: with TLS 1.3 that close can overtake the alert (a
 * reset), and then all the dialer knows is a failed connection. */
static void expect_client_refused(int rv)
{
    if (rv != MSOCK_EPEERAUTH && rv != MSOCK_ECONNREFUSED && rv != MSOCK_ECONNRESET)
        fail_msg("a refused client certificate gave %s", tu_errname(rv));
}

/* A listener that requires client certificates: none, or one from another CA, is refused (the
 * dialer gets an error, the listener serves on); our CA's client certificate gets in. */
static void test_client_certificates(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open);
    char url[TU_URL_MAX];
    wss_listen_with(rep, "127.0.0.1", "/sp", "server.crt", "server.key", "localhost",
                    require_client_cert, url, sizeof url);
    msock_socket req = open_socket(msock_req_open);
    expect_client_refused(wss_dial(req, url, "ca.crt"));
    expect_client_refused(wss_dial_with(req, url, "ca.crt", other_identity));
    TU_OK(wss_dial_with(req, url, "ca.crt", client_identity));
    expect_roundtrip(req, rep, 1000, 5);
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));
}

static void tls13_only(msock_listener l)
{
    TU_OK(msock_listener_set_int(l, MSOCK_OPT_TLS_MIN_VERSION, MSOCK_TLS_1_3));
}

static void tls12_only_listener(msock_listener l)
{
    TU_OK(msock_listener_set_int(l, MSOCK_OPT_TLS_MAX_VERSION, MSOCK_TLS_1_2));
}

static void tls12_only(msock_dialer d)
{
    TU_OK(msock_dialer_set_int(d, MSOCK_OPT_TLS_MAX_VERSION, MSOCK_TLS_1_2));
}

/* A dialer that speaks only TLS 1.2 cannot reach a 1.3-only listener (MSOCK_ECRYPTO), and
 * reaches a 1.2-only one. */
static void test_versions(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open);
    char url[TU_URL_MAX];
    wss_listen_with(rep, "127.0.0.1", "/sp", "server.crt", "server.key", "localhost", tls13_only,
                    url, sizeof url);
    msock_socket req = open_socket(msock_req_open);
    TU_EXPECT_RC(MSOCK_ECRYPTO, wss_dial_with(req, url, "ca.crt", tls12_only));
    TU_OK(msock_close(req));
    expect_served(rep, url);
    TU_OK(msock_close(rep));

    rep = open_socket(msock_rep_open);
    wss_listen_with(rep, "127.0.0.1", "/sp", "server.crt", "server.key", "localhost",
                    tls12_only_listener, url, sizeof url);
    req = open_socket(msock_req_open);
    TU_OK(wss_dial_with(req, url, "ca.crt", tls12_only));
    expect_roundtrip(req, rep, 70000, 6);
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));
}

/* Bad files fail the listen or the dial at once with the file's error; a wss listener without
 * a certificate is refused; a ws listener cannot share a wss port. */
static void test_bad_files(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open);
    msock_listener l;
    TU_OK(msock_listener_create(&l, rep, "wss://127.0.0.1:0/sp"));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_listener_start(l, 0));
    TU_OK(msock_listener_close(l));
    TU_OK(msock_listener_create(&l, rep, "wss://127.0.0.1:0/sp"));
    tls_listener_identity(l, "missing.crt", "server.key");
    TU_EXPECT_RC(MSOCK_ENOENT, msock_listener_start(l, 0));
    TU_OK(msock_listener_close(l));
    TU_OK(msock_listener_create(&l, rep, "wss://127.0.0.1:0/sp"));
    tls_listener_identity(l, "server.crt", "client.key"); /* not the certificate's key */
    TU_EXPECT_RC(MSOCK_ECRYPTO, msock_listener_start(l, 0));
    TU_OK(msock_listener_close(l));
    char bad[640];
    snprintf(bad, sizeof bad, "%s/garbage.pem", tls_certs());
    tu_write_file(bad, "not a certificate\n", 18);
    TU_OK(msock_listener_create(&l, rep, "wss://127.0.0.1:0/sp"));
    TU_OK(msock_listener_set_string(l, MSOCK_OPT_TLS_CERT, bad));
    TU_EXPECT_RC(MSOCK_ECRYPTO, msock_listener_start(l, 0));
    TU_OK(msock_listener_close(l));

    char url[TU_URL_MAX];
    msock_listener good = wss_listen(rep, "server.crt", "server.key", url, sizeof url);
    char bound[TU_URL_MAX], plain[TU_URL_MAX];
    tu_listener_url(good, bound, sizeof bound);
    snprintf(plain, sizeof plain, "ws://127.0.0.1:%d/other", tu_url_port(bound));
    msock_socket rep2 = open_socket(msock_rep_open);
    TU_EXPECT_RC(MSOCK_EADDRINUSE, msock_listen(rep2, plain, NULL, 0));
    TU_OK(msock_close(rep2));

    msock_socket req = open_socket(msock_req_open);
    TU_EXPECT_RC(MSOCK_ENOENT, wss_dial(req, url, "missing-ca.crt"));
    TU_OK(msock_close(req));
    expect_served(rep, url);
    TU_OK(msock_close(rep));
}

/* Two paths on one wss port share its certificate; a plain ws:// dial to it fails. */
static void test_two_paths_and_plain_dial(void **state)
{
    (void)state;
    msock_socket a = open_socket(msock_rep_open), b = open_socket(msock_rep_open);
    char url_a[TU_URL_MAX], url_b[TU_URL_MAX], bind_b[TU_URL_MAX];
    wss_listen_with(a, "127.0.0.1", "/a", "server.crt", "server.key", "localhost", NULL, url_a,
                    sizeof url_a);
    int port = tu_url_port(url_a);
    snprintf(bind_b, sizeof bind_b, "wss://127.0.0.1:%d/b", port);
    msock_listener lb;
    TU_OK(msock_listener_create(&lb, b, bind_b));
    tls_listener_identity(lb, "server.crt", "server.key");
    TU_OK(msock_listener_start(lb, 0));
    snprintf(url_b, sizeof url_b, "wss://localhost:%d/b", port);
    msock_socket req = open_socket(msock_req_open);
    TU_OK(wss_dial(req, url_b, "ca.crt"));
    expect_roundtrip(req, b, 300, 8);
    TU_OK(msock_close(req));
    char plain[TU_URL_MAX];
    snprintf(plain, sizeof plain, "ws://127.0.0.1:%d/a", port);
    req = open_socket(msock_req_open);
    assert_true(msock_dial(req, plain, NULL, 0) != 0);
    TU_OK(msock_close(req));
    expect_served(a, url_a);
    TU_OK(msock_close(a));
    TU_OK(msock_close(b));
}

/* Runs `openssl s_client` against 127.0.0.1:port sending the server name sni (an empty one
 * when sni is ""); true when its output holds needle. */
static bool s_client_says(int port, const char *sni, const char *needle)
{
    char cmd[1024], out[16384];
    snprintf(cmd, sizeof cmd,
             "echo | timeout 10 openssl s_client -connect 127.0.0.1:%d -CAfile '%s' "
             "-servername '%s' 2>&1", port, tls_cert_file("ca.crt"), sni);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    return strstr(out, needle) != NULL;
}

/* lws picks a vhost by the TLS server name a client sends (a prefix of a vhost's name is
 * enough); no name may get a client another listener's certificate or CAs. */
static void test_server_name_picks_nothing(void **state)
{
    (void)state;
    msock_socket a = open_socket(msock_rep_open), b = open_socket(msock_rep_open);
    char url_a[TU_URL_MAX], url_b[TU_URL_MAX];
    wss_listen(a, "server.crt", "server.key", url_a, sizeof url_a);
    wss_listen(b, "other.crt", "other.key", url_b, sizeof url_b);
    expect_served(a, url_a);
    msock_socket req = open_socket(msock_req_open);
    TU_OK(wss_dial(req, url_b, "other-ca.crt")); /* B's vhost exists now */
    TU_OK(msock_close(req));
    /* The vhosts of this process are named wss1, wss2... (listeners), wsc1... (dialers) in the
     * order they were made, srv and cli; "x.wssN" is lws's wildcard match. Run first, this
     * test made the only ones there are (at most 4). */
    char names[21][16];
    size_t count = 0;
    const char *fixed[] = {"localhost", "w", "ws", "wss", "s", "srv", "c", "cli", "wsc1"};
    for (size_t i = 0; i < ARRAY_LEN(fixed); i++)
        snprintf(names[count++], sizeof names[0], "%s", fixed[i]);
    for (int i = 1; count < ARRAY_LEN(names); i++) {
        snprintf(names[count++], sizeof names[0], "wss%d", i);
        snprintf(names[count++], sizeof names[0], "x.wss%d", i);
    }
    int port = tu_url_port(url_a);
    for (size_t i = 0; i < count; i++)
        if (!s_client_says(port, names[i], "Verify return code: 0 (ok)"))
            fail_msg("server name \"%s\" got another certificate", names[i]);
    TU_OK(msock_close(a));
    TU_OK(msock_close(b));
}

/* Reads from fd until the peer closes; false if it still holds the connection at the
 * deadline. */
static bool closed_by_peer(int fd, int64_t timeout_ms)
{
    int64_t deadline = tu_deadline_in(timeout_ms);
    char buf[512];
    bool closed = false;
    while (!closed && !tu_deadline_passed(deadline))
        tu_read_until(fd, buf, sizeof buf, deadline, &closed);
    return closed;
}

/* Clients that do not speak TLS to a wss port: plain HTTP is dropped, a silent one is dropped
 * after the handshake timeout, and the listener serves on. */
static void test_not_tls_clients(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open);
    TU_OK(msock_socket_set_ms(rep, MSOCK_OPT_HANDSHAKE_TIMEOUT, 300));
    char url[TU_URL_MAX], tcp[TU_URL_MAX];
    wss_listen(rep, "server.crt", "server.key", url, sizeof url);
    snprintf(tcp, sizeof tcp, "tcp://127.0.0.1:%d", tu_url_port(url));
    int fd = tu_connect_url(tcp);
    static const char get[] = "GET /sp HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assert_true(tu_send_all(fd, get, sizeof get - 1));
    assert_true(closed_by_peer(fd, TU_DEADLINE_MS));
    close(fd);
    assert_true(tu_stat_wait_at_least(rep, MSOCK_STAT_ERR_TLS, 1, TU_DEADLINE_MS));
    int silent = tu_connect_url(tcp);
    assert_true(closed_by_peer(silent, TU_DEADLINE_MS));
    close(silent);
    expect_served(rep, url);
    TU_OK(msock_close(rep));
}

/* nngcat (nng 1.5.2, mbedtls) listens on wss with our server certificate; our REQ dials it by
 * name (nng checks DNS names only). */
static void test_nngcat_listens(void **state)
{
    (void)state;
    if (!tu_tool_present(TU_NNGCAT))
        skip();
    tu_cmd cmd;
    tu_cmd_start(&cmd, TU_NNGCAT);
    tu_cmd_add(&cmd, "--rep");
    tu_cmd_add(&cmd, "--listen");
    tu_cmd_add_url(&cmd, NULL);
    const char *args[] = {"--cert", tls_cert_file("server.crt"), "--key",
                          tls_cert_file("server.key"), "--data", "pong", "--count", "1", "--quoted"};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        tu_cmd_add(&cmd, args[i]);
    char url[TU_URL_MAX];
    /* nng's listener answers 404 unless the Host header names its URL's host. */
    tu_child *kid = tu_spawn_listening_port(&cmd, "wss://localhost:", "/sp/path", url, sizeof url);
    msock_socket req = open_socket(msock_req_open);
    TU_OK(wss_dial(req, url, "ca.crt"));
    tu_expect_pong(req, kid);
    TU_OK(msock_close(req));
    tu_unspawn(kid);
}

/* Our REP listens on wss; nngcat's REQ dials it trusting our CA (this also needs the
 * "Upgrade: websocket" rewrite), and refuses another CA's server. */
static void test_nngcat_dials(void **state)
{
    (void)state;
    if (!tu_tool_present(TU_NNGCAT))
        skip();
    msock_socket rep = open_socket(msock_rep_open);
    char url[TU_URL_MAX];
    wss_listen(rep, "server.crt", "server.key", url, sizeof url);
    const char *argv[] = {tu_tool_path(TU_NNGCAT), "--req", "--dial", url, "--cacert",
                          tls_cert_file("ca.crt"), "--data", "ping", "--quoted", NULL};
    tu_child *kid = tu_spawn(argv);
    tu_answer_ping(rep, kid);
    tu_unspawn(kid);
    TU_OK(msock_close(rep));

    rep = open_socket(msock_rep_open);
    wss_listen(rep, "other.crt", "other.key", url, sizeof url);
    const char *argv2[] = {tu_tool_path(TU_NNGCAT), "--req", "--dial", url, "--cacert",
                           tls_cert_file("ca.crt"), "--data", "ping", NULL};
    kid = tu_spawn(argv2);
    assert_true(tu_child_wait_exit(kid, TU_DEADLINE_MS));
    assert_false(tu_child_exited_ok(kid));
    tu_unspawn(kid);
    TU_OK(msock_close(rep));
}

int main(void)
{
    tu_watchdog(180);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_name_picks_nothing),
        cmocka_unit_test(test_reqrep_sizes),
        cmocka_unit_test(test_pushpull_sizes),
        cmocka_unit_test(test_server_checks),
        cmocka_unit_test(test_client_certificates),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_two_paths_and_plain_dial),
        cmocka_unit_test(test_not_tls_clients),
        cmocka_unit_test_teardown(test_nngcat_listens, tu_stop_spawned),
        cmocka_unit_test_teardown(test_nngcat_dials, tu_stop_spawned),
    };
    int rc = cmocka_run_group_tests_name("wss", tests, NULL, NULL);
    msock_fini();
    return rc;
}
