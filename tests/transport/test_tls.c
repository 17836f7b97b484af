/* test_tls.c: tls+tcp:// with certificates made by tests/tls/make_certs.sh: messages of every
 * size both ways, the server name and CA checks (refused certificates give MSOCK_EPEERAUTH),
 * client certificates, TLS versions (checked from outside with openssl s_client), bad files
 * and options, hostile clients, and nngcat over TLS both ways. */
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

static msock_socket open_socket(int (*open_fn)(msock_socket *))
{
    msock_socket s;
    TU_OK(open_fn(&s));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECV_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_SEND_TIMEOUT, TU_DEADLINE_MS));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MIN, 20));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MAX, 200));
    TU_OK(msock_socket_set_size(s, MSOCK_OPT_RECV_MAXSZ, 4 * 1024 * 1024));
    return s;
}

/* A started TLS listener on host:0 with cert/key; url gets "tls+tcp://localhost:PORT" (or the
 * host given to dial, dial_host). */
static msock_listener tls_listen(msock_socket s, const char *host, const char *cert, const char *key,
                                 const char *dial_host, char *url, size_t len)
{
    char bind_url[TU_URL_MAX];
    snprintf(bind_url, sizeof bind_url, "tls+tcp://%s:0", host);
    msock_listener l;
    TU_OK(msock_listener_create(&l, s, bind_url));
    tls_listener_identity(l, cert, key);
    TU_OK(msock_listener_start(l, 0));
    char bound[TU_URL_MAX];
    tu_listener_url(l, bound, sizeof bound);
    snprintf(url, len, "tls+tcp://%s:%d", dial_host, tu_url_port(bound));
    return l;
}

/* A blocking dial to url trusting ca (NULL: the system's CAs); returns its result. */
static int tls_dial(msock_socket s, const char *url, const char *ca, msock_dialer *out)
{
    msock_dialer d;
    TU_OK(msock_dialer_create(&d, s, url));
    if (ca)
        tls_dialer_trust(d, ca);
    int rv = msock_dialer_start(d, 0);
    if (rv != 0)
        msock_dialer_close(d);
    else if (out)
        *out = d;
    return rv;
}

static void expect_roundtrip(msock_socket req, msock_socket rep, size_t size, uint32_t seed)
{
    msock_msg *m = tu_msg_new(size, seed);
    TU_OK(msock_sendmsg(req, m, 0));
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

static const size_t sizes[] = {0, 1, 100, 8191, 16383, 16384, 16385, 65536, 200000, 1024 * 1024};

/* Every size both ways over REQ/REP, dialing by name (localhost) and by address. */
static void test_reqrep_sizes(void **state)
{
    (void)state;
    const char *dial_hosts[] = {"localhost", "127.0.0.1"};
    for (size_t h = 0; h < ARRAY_LEN(dial_hosts); h++) {
        msock_socket rep = open_socket(msock_rep_open), req = open_socket(msock_req_open);
        char url[TU_URL_MAX];
        tls_listen(rep, "127.0.0.1", "server.crt", "server.key", dial_hosts[h], url, sizeof url);
        TU_OK(tls_dial(req, url, "ca.crt", NULL));
        for (size_t i = 0; i < ARRAY_LEN(sizes); i++)
            expect_roundtrip(req, rep, sizes[i], (uint32_t)(i + 1));
        TU_OK(msock_close(req));
        TU_OK(msock_close(rep));
    }
}

/* A burst of mixed sizes in order: the batched write path gathers many messages per record. */
static void test_pushpull_burst(void **state)
{
    (void)state;
    msock_socket pull = open_socket(msock_pull_open), push = open_socket(msock_push_open);
    char url[TU_URL_MAX];
    tls_listen(pull, "127.0.0.1", "server.pem", "server.pem", "localhost", url, sizeof url);
    TU_OK(tls_dial(push, url, "ca.crt", NULL));
    enum { COUNT = 3000 };
    for (uint32_t i = 0; i < COUNT; i++) {
        size_t size = (i % 100 == 99) ? 70000 : (i * 37) % 3000;
        TU_OK(msock_sendmsg(push, tu_msg_new(size, tu_seed(1, i)), 0));
    }
    for (uint32_t i = 0; i < COUNT; i++) {
        msock_msg *m;
        TU_OK(msock_recvmsg(pull, &m, 0));
        size_t size = (i % 100 == 99) ? 70000 : (i * 37) % 3000;
        assert_int_equal(msock_msg_len(m), size);
        assert_true(tu_check(msock_msg_body(m), size, tu_seed(1, i)));
        msock_msg_free(m);
    }
    TU_OK(msock_close(push));
    TU_OK(msock_close(pull));
}

/* IPv6: the certificate carries ::1 as an IP entry. */
static void test_ipv6(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open), req = open_socket(msock_req_open);
    char url[TU_URL_MAX];
    tls_listen(rep, "[::1]", "server.crt", "server.key", "[::1]", url, sizeof url);
    TU_OK(tls_dial(req, url, "ca.crt", NULL));
    expect_roundtrip(req, rep, 5000, 7);
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));
}

/* After a refusal the listener still serves a good dialer at once. */
static void expect_served(msock_socket rep, const char *url)
{
    msock_socket req = open_socket(msock_req_open);
    TU_OK(tls_dial(req, url, "ca.crt", NULL));
    expect_roundtrip(req, rep, 10, 99);
    TU_OK(msock_close(req));
}

/* A certificate from another CA, or for another name, is refused with MSOCK_EPEERAUTH; the
 * right server name, or no verification, lets the dialer in. */
static void test_server_checks(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open);
    char url[TU_URL_MAX];
    tls_listen(rep, "127.0.0.1", "other.crt", "other.key", "localhost", url, sizeof url);
    msock_socket req = open_socket(msock_req_open);
    TU_EXPECT_RC(MSOCK_EPEERAUTH, tls_dial(req, url, "ca.crt", NULL));
    /* The system's CAs do not know our test CA either. */
    TU_EXPECT_RC(MSOCK_EPEERAUTH, tls_dial(req, url, NULL, NULL));
    /* The listener saw the handshake fail, and counts it. */
    assert_true(tu_stat_wait_at_least(rep, MSOCK_STAT_ERR_TLS, 1, TU_DEADLINE_MS));
    msock_dialer d;
    TU_OK(msock_dialer_create(&d, req, url));
    tls_dialer_trust(d, "ca.crt");
    TU_OK(msock_dialer_set_int(d, MSOCK_OPT_TLS_VERIFY, MSOCK_TLS_VERIFY_NONE));
    TU_OK(msock_dialer_start(d, 0));
    expect_roundtrip(req, rep, 100, 3);
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));

    rep = open_socket(msock_rep_open);
    tls_listen(rep, "127.0.0.1", "wrongname.crt", "wrongname.key", "localhost", url, sizeof url);
    req = open_socket(msock_req_open);
    TU_EXPECT_RC(MSOCK_EPEERAUTH, tls_dial(req, url, "ca.crt", NULL));
    TU_OK(msock_dialer_create(&d, req, url));
    tls_dialer_trust(d, "ca.crt");
    TU_OK(msock_dialer_set_string(d, MSOCK_OPT_TLS_SERVER_NAME, "example.com"));
    TU_OK(msock_dialer_start(d, 0));
    expect_roundtrip(req, rep, 100, 4);
    TU_OK(msock_close(req));
    /* By address: the certificate has no IP entry for 127.0.0.1. */
    char by_ip[TU_URL_MAX];
    snprintf(by_ip, sizeof by_ip, "tls+tcp://127.0.0.1:%d", tu_url_port(url));
    req = open_socket(msock_req_open);
    TU_EXPECT_RC(MSOCK_EPEERAUTH, tls_dial(req, by_ip, "ca.crt", NULL));
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));
}

/* A listener that requires client certificates: none, or one from another CA, is refused; our
 * CA's client certificate gets in; a refused dialer leaves the listener serving. */
static void test_client_certificates(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open);
    msock_listener l;
    TU_OK(msock_listener_create(&l, rep, "tls+tcp://127.0.0.1:0"));
    tls_listener_identity(l, "server.crt", "server.key");
    tls_listener_verify(l, "ca.crt", MSOCK_TLS_VERIFY_REQUIRED);
    TU_OK(msock_listener_start(l, 0));
    char bound[TU_URL_MAX], url[TU_URL_MAX];
    tu_listener_url(l, bound, sizeof bound);
    snprintf(url, sizeof url, "tls+tcp://localhost:%d", tu_url_port(bound));

    msock_socket req = open_socket(msock_req_open);
    TU_EXPECT_RC(MSOCK_EPEERAUTH, tls_dial(req, url, "ca.crt", NULL));
    msock_dialer d;
    TU_OK(msock_dialer_create(&d, req, url));
    tls_dialer_trust(d, "ca.crt");
    tls_dialer_identity(d, "other.crt", "other.key");
    TU_EXPECT_RC(MSOCK_EPEERAUTH, msock_dialer_start(d, 0));
    msock_dialer_close(d);
    TU_OK(msock_dialer_create(&d, req, url));
    tls_dialer_trust(d, "ca.crt");
    tls_dialer_identity(d, "client.crt", "client.key");
    TU_OK(msock_dialer_start(d, 0));
    expect_roundtrip(req, rep, 1000, 5);
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));
}

/* Runs `openssl s_client` against 127.0.0.1:port with extra args; true when its output holds
 * needle ("New, TLSv1.3, Cipher is ..." after a handshake, "Cipher is (NONE)" without one). */
static bool s_client_says(int port, const char *args, const char *needle)
{
    char cmd[1024], out[16384];
    snprintf(cmd, sizeof cmd,
             "echo | timeout 10 openssl s_client -connect 127.0.0.1:%d -CAfile '%s' %s 2>&1", port,
             tls_cert_file("ca.crt"), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    return strstr(out, needle) != NULL;
}

/* TLS 1.2 and 1.3 are both spoken by default; a listener's min/max versions hold (seen from
 * outside), and a dialer that only speaks 1.2 cannot reach a 1.3-only listener. */
static void test_versions(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open);
    char url[TU_URL_MAX];
    tls_listen(rep, "127.0.0.1", "server.crt", "server.key", "localhost", url, sizeof url);
    int port = tu_url_port(url);
    assert_true(s_client_says(port, "-tls1_3", "New, TLSv1.3, Cipher is"));
    assert_true(s_client_says(port, "-tls1_2", "New, TLSv1.2, Cipher is"));
    assert_false(s_client_says(port, "-tls1_1", "New, TLSv1.1, Cipher is"));
    TU_OK(msock_close(rep));

    rep = open_socket(msock_rep_open);
    msock_listener l;
    TU_OK(msock_listener_create(&l, rep, "tls+tcp://127.0.0.1:0"));
    tls_listener_identity(l, "server.crt", "server.key");
    TU_OK(msock_listener_set_int(l, MSOCK_OPT_TLS_MIN_VERSION, MSOCK_TLS_1_3));
    TU_OK(msock_listener_start(l, 0));
    char bound[TU_URL_MAX];
    tu_listener_url(l, bound, sizeof bound);
    port = tu_url_port(bound);
    snprintf(url, sizeof url, "tls+tcp://localhost:%d", port);
    assert_true(s_client_says(port, "-tls1_2", "Cipher is (NONE)"));
    assert_true(s_client_says(port, "", "New, TLSv1.3, Cipher is"));
    msock_socket req = open_socket(msock_req_open);
    msock_dialer d;
    TU_OK(msock_dialer_create(&d, req, url));
    tls_dialer_trust(d, "ca.crt");
    TU_OK(msock_dialer_set_int(d, MSOCK_OPT_TLS_MAX_VERSION, MSOCK_TLS_1_2));
    int rv = msock_dialer_start(d, 0);
    assert_true(rv == MSOCK_ECRYPTO || rv == MSOCK_ECONNRESET);
    msock_dialer_close(d);
    TU_OK(tls_dial(req, url, "ca.crt", NULL));
    expect_roundtrip(req, rep, 300, 6);
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));

    /* Both ends at 1.2 only. */
    rep = open_socket(msock_rep_open);
    TU_OK(msock_socket_set_int(rep, MSOCK_OPT_TLS_MAX_VERSION, MSOCK_TLS_1_2));
    tls_listen(rep, "127.0.0.1", "server.crt", "server.key", "localhost", url, sizeof url);
    assert_true(s_client_says(tu_url_port(url), "", "New, TLSv1.2, Cipher is"));
    req = open_socket(msock_req_open);
    TU_OK(msock_socket_set_int(req, MSOCK_OPT_TLS_MAX_VERSION, MSOCK_TLS_1_2));
    TU_OK(tls_dial(req, url, "ca.crt", NULL));
    expect_roundtrip(req, rep, 70000, 8);
    TU_OK(msock_close(req));
    TU_OK(msock_close(rep));
}

/* Files and options: every mistake is an error code at listen or dial, never a crash. */
static void test_bad_files_and_options(void **state)
{
    (void)state;
    msock_socket s = open_socket(msock_rep_open);
    int v = 0;
    TU_OK(msock_socket_get_int(s, MSOCK_OPT_TLS_VERIFY, &v));
    assert_int_equal(v, MSOCK_TLS_VERIFY_DEFAULT);
    TU_OK(msock_socket_get_int(s, MSOCK_OPT_TLS_MIN_VERSION, &v));
    assert_int_equal(v, MSOCK_TLS_1_2);
    TU_OK(msock_socket_get_int(s, MSOCK_OPT_TLS_MAX_VERSION, &v));
    assert_int_equal(v, MSOCK_TLS_1_3);
    TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_set_int(s, MSOCK_OPT_TLS_VERIFY, 3));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_set_int(s, MSOCK_OPT_TLS_MIN_VERSION, 0x0302));
    TU_EXPECT_RC(MSOCK_EBADTYPE, msock_socket_set_bool(s, MSOCK_OPT_TLS_VERIFY, true));
    char longpath[2048];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    TU_EXPECT_RC(MSOCK_ENAMETOOLONG, msock_socket_set_string(s, MSOCK_OPT_TLS_CERT, longpath));

    /* No certificate on a listener. */
    TU_EXPECT_RC(MSOCK_EINVAL, msock_listen(s, "tls+tcp://127.0.0.1:0", NULL, 0));
    msock_listener l;
    TU_OK(msock_listener_create(&l, s, "tls+tcp://127.0.0.1:0"));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_listener_set_string(l, MSOCK_OPT_TLS_SERVER_NAME, "x"));
    TU_OK(msock_listener_set_string(l, MSOCK_OPT_TLS_CERT, "/nonexistent/cert.pem"));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_listener_start(l, 0));
    msock_listener_close(l);

    char garbage[512];
    tu_tmp_path(garbage, sizeof garbage, "garbage.pem");
    tu_write_file(garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n", 40);
    TU_OK(msock_listener_create(&l, s, "tls+tcp://127.0.0.1:0"));
    TU_OK(msock_listener_set_string(l, MSOCK_OPT_TLS_CERT, garbage));
    TU_EXPECT_RC(MSOCK_ECRYPTO, msock_listener_start(l, 0));
    msock_listener_close(l);

    /* A key that is not the certificate's. */
    TU_OK(msock_listener_create(&l, s, "tls+tcp://127.0.0.1:0"));
    tls_listener_identity(l, "server.crt", "client.key");
    TU_EXPECT_RC(MSOCK_ECRYPTO, msock_listener_start(l, 0));
    msock_listener_close(l);

    /* A key under a passphrase is refused, not asked for on the terminal. */
    TU_OK(msock_listener_create(&l, s, "tls+tcp://127.0.0.1:0"));
    tls_listener_identity(l, "server.crt", "server-encrypted.key");
    TU_EXPECT_RC(MSOCK_ECRYPTO, msock_listener_start(l, 0));
    msock_listener_close(l);

    /* Versions the wrong way round. */
    TU_OK(msock_listener_create(&l, s, "tls+tcp://127.0.0.1:0"));
    tls_listener_identity(l, "server.crt", "server.key");
    TU_OK(msock_listener_set_int(l, MSOCK_OPT_TLS_MIN_VERSION, MSOCK_TLS_1_3));
    TU_OK(msock_listener_set_int(l, MSOCK_OPT_TLS_MAX_VERSION, MSOCK_TLS_1_2));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_listener_start(l, 0));
    msock_listener_close(l);

    /* A dialer whose CA file is missing fails its dial with the reason. */
    char url[TU_URL_MAX];
    tls_listen(s, "127.0.0.1", "server.crt", "server.key", "localhost", url, sizeof url);
    msock_socket req = open_socket(msock_req_open);
    msock_dialer d;
    TU_OK(msock_dialer_create(&d, req, url));
    TU_OK(msock_dialer_set_string(d, MSOCK_OPT_TLS_CA, "/nonexistent/ca.pem"));
    TU_EXPECT_RC(MSOCK_ENOENT, msock_dialer_start(d, 0));
    msock_dialer_close(d);
    expect_served(s, url);
    TU_OK(msock_close(req));
    TU_OK(msock_close(s));
}

/* Plain SP, garbage, and a TLS client that says nothing: each costs its connection only. */
static void test_hostile_clients(void **state)
{
    (void)state;
    msock_socket rep = open_socket(msock_rep_open);
    TU_OK(msock_socket_set_ms(rep, MSOCK_OPT_HANDSHAKE_TIMEOUT, 300));
    char url[TU_URL_MAX], plain[TU_URL_MAX];
    tls_listen(rep, "127.0.0.1", "server.crt", "server.key", "localhost", url, sizeof url);
    snprintf(plain, sizeof plain, "tcp://127.0.0.1:%d", tu_url_port(url));

    /* A plain SP header where a ClientHello belongs. */
    int fd = tu_connect_url(plain);
    assert_true(fd >= 0);
    static const uint8_t sp_header[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};
    assert_true(tu_send_all(fd, sp_header, sizeof sp_header));
    char buf[256];
    bool closed = false;
    tu_read_until(fd, buf, sizeof buf, tu_deadline_in(TU_DEADLINE_MS), &closed);
    assert_true(closed);
    close(fd);
    /* Random bytes. */
    fd = tu_connect_url(plain);
    assert_true(fd >= 0);
    uint8_t junk[4096];
    tu_fill(junk, sizeof junk, 77);
    tu_send_all(fd, junk, sizeof junk); /* the listener may close before all of it is taken */
    closed = false;
    tu_read_until(fd, buf, sizeof buf, tu_deadline_in(TU_DEADLINE_MS), &closed);
    assert_true(closed);
    close(fd);
    /* Silence: the handshake timeout closes it. */
    fd = tu_connect_url(plain);
    assert_true(fd >= 0);
    closed = false;
    tu_read_until(fd, buf, sizeof buf, tu_deadline_in(TU_DEADLINE_MS), &closed);
    assert_true(closed);
    close(fd);
    assert_true(tu_stat_wait_at_least(rep, MSOCK_STAT_ERR_HANDSHAKE_TIMEOUT, 1, TU_DEADLINE_MS));
    assert_true(tu_stat_wait_at_least(rep, MSOCK_STAT_ERR_TLS, 2, TU_DEADLINE_MS));
    expect_served(rep, url);

    /* Our plain tcp dialer against it gets an error, not a hang. */
    msock_socket req = open_socket(msock_req_open);
    TU_OK(msock_socket_set_ms(req, MSOCK_OPT_HANDSHAKE_TIMEOUT, 500));
    assert_true(msock_dial(req, plain, NULL, 0) != 0);
    TU_OK(msock_close(req));
    expect_served(rep, url);
    TU_OK(msock_close(rep));
}

/* Many threads send while the reactor reads: TLS calls on one connection never overlap. */
typedef struct sender_arg {
    msock_socket s;
    unsigned id;
} sender_arg;

enum { THREADS = 4, PER_THREAD = 2000 };

static void *sender_main(void *p)
{
    sender_arg *a = p;
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        size_t size = 4 + (i * 131 + a->id * 17) % 20000;
        msock_msg *m = tu_msg_new(size, tu_seed(a->id, i));
        if (msock_sendmsg(a->s, m, 0) != 0) {
            msock_msg_free(m);
            break;
        }
    }
    return NULL;
}

static void test_pair_both_ways_threads(void **state)
{
    (void)state;
    msock_socket a = open_socket(msock_pair_open), b = open_socket(msock_pair_open);
    char url[TU_URL_MAX];
    tls_listen(a, "127.0.0.1", "server.crt", "server.key", "localhost", url, sizeof url);
    TU_OK(tls_dial(b, url, "ca.crt", NULL));
    pthread_t th[THREADS];
    sender_arg args[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        args[t] = (sender_arg){t < THREADS / 2 ? a : b, t};
        assert_int_equal(pthread_create(&th[t], NULL, sender_main, &args[t]), 0);
    }
    uint32_t next[THREADS] = {0};
    for (unsigned n = 0; n < THREADS * PER_THREAD; n++) {
        msock_socket from = n % 2 ? a : b; /* both directions at once */
        msock_msg *m;
        TU_OK(msock_recvmsg(from, &m, 0));
        uint32_t seed;
        assert_true(tu_payload_seed(msock_msg_body(m), msock_msg_len(m), &seed));
        unsigned id = seed >> 24;
        assert_true(id < THREADS);
        assert_true(tu_check(msock_msg_body(m), msock_msg_len(m), seed));
        assert_int_equal(seed, tu_seed(id, next[id])); /* in order per sender */
        next[id]++;
        msock_msg_free(m);
    }
    for (unsigned t = 0; t < THREADS; t++)
        assert_true(tu_thread_join(th[t], TU_DEADLINE_MS));
    TU_OK(msock_close(a));
    TU_OK(msock_close(b));
}

/* nngcat (nng 1.5.2, mbedtls) listens with our server certificate; our REQ dials it. */
static void test_nngcat_listens(void **state)
{
    (void)state;
    assert_true(tu_tool_present(TU_NNGCAT));
    tu_cmd cmd;
    tu_cmd_start(&cmd, TU_NNGCAT);
    tu_cmd_add(&cmd, "--rep");
    tu_cmd_add(&cmd, "--listen");
    tu_cmd_add_url(&cmd, NULL);
    const char *args[] = {"--cert", tls_cert_file("server.crt"), "--key",
                          tls_cert_file("server.key"), "--data", "pong", "--count", "1", "--quoted"};
    for (size_t i = 0; i < ARRAY_LEN(args); i++)
        tu_cmd_add(&cmd, args[i]);
    char listen_url[TU_URL_MAX], url[TU_URL_MAX];
    tu_child *kid = tu_spawn_listening_port(&cmd, "tls+tcp://127.0.0.1:", "", listen_url,
                                            sizeof listen_url);
    snprintf(url, sizeof url, "tls+tcp://localhost:%d", tu_url_port(listen_url));
    msock_socket req = open_socket(msock_req_open);
    TU_OK(tls_dial(req, url, "ca.crt", NULL));
    tu_expect_pong(req, kid);
    TU_OK(msock_close(req));
    tu_unspawn(kid);
}

/* Our REP listens; nngcat's REQ dials it trusting our CA, and refuses another CA's server. */
static void test_nngcat_dials(void **state)
{
    (void)state;
    assert_true(tu_tool_present(TU_NNGCAT));
    msock_socket rep = open_socket(msock_rep_open);
    char url[TU_URL_MAX];
    tls_listen(rep, "127.0.0.1", "server.crt", "server.key", "localhost", url, sizeof url);
    const char *argv[] = {tu_tool_path(TU_NNGCAT), "--req", "--dial", url, "--cacert",
                          tls_cert_file("ca.crt"), "--data", "ping", "--quoted", NULL};
    tu_child *kid = tu_spawn(argv);
    tu_answer_ping(rep, kid);
    tu_unspawn(kid);
    TU_OK(msock_close(rep));

    rep = open_socket(msock_rep_open);
    tls_listen(rep, "127.0.0.1", "other.crt", "other.key", "localhost", url, sizeof url);
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
        cmocka_unit_test(test_reqrep_sizes),
        cmocka_unit_test(test_pushpull_burst),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_server_checks),
        cmocka_unit_test(test_client_certificates),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_bad_files_and_options),
        cmocka_unit_test(test_hostile_clients),
        cmocka_unit_test(test_pair_both_ways_threads),
        cmocka_unit_test_teardown(test_nngcat_listens, tu_stop_spawned),
        cmocka_unit_test_teardown(test_nngcat_dials, tu_stop_spawned),
    };
    int rc = cmocka_run_group_tests_name("tls", tests, NULL, NULL);
    msock_fini();
    return rc;
}
