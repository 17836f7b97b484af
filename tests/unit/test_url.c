/* test_url.c: ms_url_parse against a table of good and bad endpoint URLs, plus the wildcard
 * test and ms_url_format_tcp. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/url.h"

struct url_case {
    const char *url;
    int rc;
    const char *scheme;
    const char *host;
    uint16_t port;
    bool has_port;
    const char *path;
    int family;
};

/* Expected fields for URLs that parse. */
static const struct url_case good_urls[] = {
    {"tcp://127.0.0.1:5555", 0, "tcp", "127.0.0.1", 5555, true, "", MS_URL_ANY},
    {"tcp://localhost:1", 0, "tcp", "localhost", 1, true, "", MS_URL_ANY},
    {"tcp://my-host.example_1.com:65535", 0, "tcp", "my-host.example_1.com", 65535, true, "",
     MS_URL_ANY},
    {"tcp://[::1]:5555", 0, "tcp", "::1", 5555, true, "", MS_URL_ANY},
    {"tcp://[fe80::1%eth0]:7", 0, "tcp", "fe80::1%eth0", 7, true, "", MS_URL_ANY},
    {"tcp://[::ffff:1.2.3.4]:9", 0, "tcp", "::ffff:1.2.3.4", 9, true, "", MS_URL_ANY},
    {"tcp://*:0", 0, "tcp", "", 0, true, "", MS_URL_ANY},
    {"tcp://:80", 0, "tcp", "", 80, true, "", MS_URL_ANY},
    {"tcp://0.0.0.0:0", 0, "tcp", "0.0.0.0", 0, true, "", MS_URL_ANY},
    {"tcp://h:00080", 0, "tcp", "h", 80, true, "", MS_URL_ANY},
    {"tcp4://10.0.0.1:6000", 0, "tcp4", "10.0.0.1", 6000, true, "", MS_URL_INET4},
    {"tcp4://*:6000", 0, "tcp4", "", 6000, true, "", MS_URL_INET4},
    {"tcp6://[::]:6001", 0, "tcp6", "::", 6001, true, "", MS_URL_INET6},
    {"tcp6://localhost:6002", 0, "tcp6", "localhost", 6002, true, "", MS_URL_INET6},
    {"TCP://Host:5", 0, "tcp", "Host", 5, true, "", MS_URL_ANY},
    {"Tcp6://[::1]:5", 0, "tcp6", "::1", 5, true, "", MS_URL_INET6},
    {"ipc:///abs/path", 0, "ipc", "", 0, false, "/abs/path", MS_URL_ANY},
    {"ipc://relative", 0, "ipc", "", 0, false, "relative", MS_URL_ANY},
    {"ipc://rel/dir/x.ipc", 0, "ipc", "", 0, false, "rel/dir/x.ipc", MS_URL_ANY},
    {"IPC:///tmp/x", 0, "ipc", "", 0, false, "/tmp/x", MS_URL_ANY},
    {"inproc://any string: [with] *odd* chars://", 0, "inproc", "", 0, false,
     "any string: [with] *odd* chars://", MS_URL_ANY},
    {"inproc://x", 0, "inproc", "", 0, false, "x", MS_URL_ANY},
    {"ws://h:1/p", 0, "ws", "h", 1, true, "/p", MS_URL_ANY},
    {"wss://h:1/p", 0, "wss", "h", 1, true, "/p", MS_URL_ANY},
    {"wss://h", 0, "wss", "h", 443, false, "/", MS_URL_ANY},
    {"TLS+TCP://h:5", 0, "tls+tcp", "h", 5, true, "", MS_URL_ANY},
    {"tls+tcp4://1.2.3.4:5", 0, "tls+tcp4", "1.2.3.4", 5, true, "", MS_URL_INET4},
    {"tls+tcp6://[::1]:5", 0, "tls+tcp6", "::1", 5, true, "", MS_URL_INET6},
    {"ws://h", 0, "ws", "h", 80, false, "/", MS_URL_ANY},
    {"ws://h/", 0, "ws", "h", 80, false, "/", MS_URL_ANY},
    {"ws://h:8080", 0, "ws", "h", 8080, true, "/", MS_URL_ANY},
    {"ws://*:5560", 0, "ws", "", 5560, true, "/", MS_URL_ANY},
    {"ws://:5560/sp/", 0, "ws", "", 5560, true, "/sp/", MS_URL_ANY},
    {"ws://[::1]:9/a/b?q=1", 0, "ws", "::1", 9, true, "/a/b?q=1", MS_URL_ANY},
    {"ws://[::1]/p", 0, "ws", "::1", 80, false, "/p", MS_URL_ANY},
    {"ws://[::1]", 0, "ws", "::1", 80, false, "/", MS_URL_ANY},
    {"ws://h:0/", 0, "ws", "h", 0, true, "/", MS_URL_ANY},
};

/* URLs that must fail, with the exact code. */
static const struct url_case bad_urls[] = {
    {"tcp://h:65536", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://h:99999999999999999999999", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://h:-1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://h:+1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://h:8o", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://h: 80", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://h:", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://h", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://h:80/", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://h:80x", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://h:80:81", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://::1:5555", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://fe80::1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://[::1:5555", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://::1]:5555", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://[::1]]:5555", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://[[::1]:5555", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://[]:5555", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://[::1]5555", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://[::1]", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://[host]:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://[::1%]:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://**:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://a b:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp://eth0;h:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp4://[::1]:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp:/h:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tcp:h:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"h:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"://h:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"t c p://h:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"inproc://", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"ipc://", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"ws://h:/p", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"ws://h:70000/p", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"ws://h:1/a b", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"ws://[::1/p", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"ws://::1/p", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"udp://h:1", MSOCK_ENOTSUP, NULL, NULL, 0, false, NULL, 0},
    {"unix:///tmp/x", MSOCK_ENOTSUP, NULL, NULL, 0, false, NULL, 0},
    {"abstract://x", MSOCK_ENOTSUP, NULL, NULL, 0, false, NULL, 0},
    {"tls+udp://h:1", MSOCK_ENOTSUP, NULL, NULL, 0, false, NULL, 0},
    {"+tcp://h:1", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"tls+tcp://h", MSOCK_EINVAL, NULL, NULL, 0, false, NULL, 0},
    {"averyveryverylongscheme://x", MSOCK_ENOTSUP, NULL, NULL, 0, false, NULL, 0},
};

static void test_good_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good_urls) / sizeof(good_urls[0]); i++) {
        const struct url_case *c = &good_urls[i];
        ms_url u;
        int rc = ms_url_parse(&u, c->url);
        if (rc != 0)
            fail_msg("%s: rc %d", c->url, rc);
        assert_string_equal(u.raw, c->url);
        assert_string_equal(u.scheme, c->scheme);
        assert_string_equal(u.host, c->host);
        if (u.port != c->port || u.has_port != c->has_port)
            fail_msg("%s: port %u/%d", c->url, (unsigned)u.port, (int)u.has_port);
        assert_string_equal(u.path, c->path);
        assert_int_equal(u.family, c->family);
    }
}

static void test_bad_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        const struct url_case *c = &bad_urls[i];
        ms_url u;
        int rc = ms_url_parse(&u, c->url);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d", c->url, rc, c->rc);
        /* A failed parse leaves nothing a caller could mistake for a result. */
        assert_string_equal(u.scheme, "");
        assert_string_equal(u.path, "");
    }
    ms_url u;
    assert_int_equal(ms_url_parse(&u, NULL), MSOCK_EINVAL);
}

/* Fills buf with prefix followed by 'a' up to total bytes. */
static void make_url(char *buf, const char *prefix, size_t total)
{
    size_t n = strlen(prefix);
    memcpy(buf, prefix, n);
    memset(buf + n, 'a', total - n);
    buf[total] = '\0';
}

static void test_lengths(void **state)
{
    char buf[512];
    ms_url u;

    (void)state;
    make_url(buf, "inproc://", MS_URL_MAX);
    assert_int_equal(ms_url_parse(&u, buf), 0);
    assert_int_equal(strlen(u.path), MS_URL_MAX - strlen("inproc://"));
    make_url(buf, "inproc://", MS_URL_MAX + 1);
    assert_int_equal(ms_url_parse(&u, buf), MSOCK_ENAMETOOLONG);
    make_url(buf, "tcp://", 400);
    assert_int_equal(ms_url_parse(&u, buf), MSOCK_ENAMETOOLONG);

    /* sun_path takes 107 bytes plus the NUL. */
    make_url(buf, "ipc:///", strlen("ipc://") + 107);
    assert_int_equal(ms_url_parse(&u, buf), 0);
    assert_int_equal(strlen(u.path), 107);
    make_url(buf, "ipc:///", strlen("ipc://") + 108);
    assert_int_equal(ms_url_parse(&u, buf), MSOCK_ENAMETOOLONG);

    /* A long host name is fine as long as the whole URL fits. */
    make_url(buf, "ws://", MS_URL_MAX - 2);
    strcat(buf, ":1");
    assert_int_equal(ms_url_parse(&u, buf), 0);
    assert_int_equal(strlen(u.host), MS_URL_MAX - 2 - strlen("ws://"));
}

static void test_wildcard(void **state)
{
    static const struct {
        const char *url;
        bool wildcard;
    } cases[] = {
        {"tcp://*:1", true},       {"tcp://:1", true},         {"tcp://0.0.0.0:1", true},
        {"tcp://[::]:1", true},    {"ws://*", true},           {"tcp://127.0.0.1:1", false},
        {"tcp://[::1]:1", false},  {"tcp://localhost:1", false},
    };
    ms_url u;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(ms_url_parse(&u, cases[i].url), 0);
        if (ms_url_host_is_wildcard(&u) != cases[i].wildcard)
            fail_msg("%s: wildcard %d", cases[i].url, (int)!cases[i].wildcard);
    }
    /* Hosts set by hand, as a listener might before formatting. */
    memset(&u, 0, sizeof(u));
    strcpy(u.host, "*");
    assert_true(ms_url_host_is_wildcard(&u));
    strcpy(u.host, "::");
    assert_true(ms_url_host_is_wildcard(&u));
}

static void test_format_tcp(void **state)
{
    char buf[MS_URL_MAX + 1];
    ms_url u;

    (void)state;
    assert_int_equal(ms_url_format_tcp(buf, sizeof(buf), "tcp", "127.0.0.1", 5555), 0);
    assert_string_equal(buf, "tcp://127.0.0.1:5555");
    assert_int_equal(ms_url_format_tcp(buf, sizeof(buf), "tcp6", "::1", 65535), 0);
    assert_string_equal(buf, "tcp6://[::1]:65535");
    assert_int_equal(ms_url_format_tcp(buf, sizeof(buf), "tcp", "", 0), 0);
    assert_string_equal(buf, "tcp://:0");
    assert_int_equal(ms_url_format_tcp(buf, sizeof(buf), "ws", "h", 80), 0);
    assert_string_equal(buf, "ws://h:80");

    /* What we format, we parse back to the same parts. */
    assert_int_equal(ms_url_format_tcp(buf, sizeof(buf), "tcp", "fe80::1%eth0", 42), 0);
    assert_int_equal(ms_url_parse(&u, buf), 0);
    assert_string_equal(u.host, "fe80::1%eth0");
    assert_int_equal(u.port, 42);

    /* Exactly fitting, one byte short, and no room at all. */
    assert_int_equal(ms_url_format_tcp(buf, strlen("tcp://h:1") + 1, "tcp", "h", 1), 0);
    assert_string_equal(buf, "tcp://h:1");
    assert_int_equal(ms_url_format_tcp(buf, strlen("tcp://h:1"), "tcp", "h", 1),
                     MSOCK_ENAMETOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(ms_url_format_tcp(buf, 0, "tcp", "h", 1), MSOCK_ENAMETOOLONG);
}

/* Random strings built from URL punctuation behind each scheme: parsing never crashes, fails
 * only with the documented codes, and a parsed tcp URL formats and parses back to itself. */
static void test_fuzz(void **state)
{
    static const char *const schemes[] = {"tcp://", "tcp4://", "tcp6://", "ws://", "ipc://",
                                          "inproc://", "TcP://", "x://", ""};
    static const char alphabet[] = "[]:/*.%0123456789abcdefh-_ ?;@";
    uint64_t seed = 0x243f6a8885a308d3ull;
    char buf[MS_URL_MAX + 40];

    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        const char *scheme = schemes[seed % (sizeof(schemes) / sizeof(schemes[0]))];
        size_t n = strlen(scheme), len = n + (size_t)((seed >> 8) % (MS_URL_MAX + 8 - n));
        strcpy(buf, scheme);
        for (size_t i = n; i < len; i++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            buf[i] = alphabet[seed % (sizeof(alphabet) - 1)];
        }
        buf[len] = '\0';

        ms_url u, back;
        char formatted[MS_URL_MAX + 1];
        int rc = ms_url_parse(&u, buf);
        if (rc != 0 && rc != MSOCK_EINVAL && rc != MSOCK_ENOTSUP && rc != MSOCK_ENAMETOOLONG)
            fail_msg("%s: rc %d", buf, rc);
        if (rc != 0 || strncmp(u.scheme, "tcp", 3) != 0)
            continue;
        assert_null(strpbrk(u.host, "[]/ "));
        assert_int_equal(ms_url_format_tcp(formatted, sizeof(formatted), u.scheme, u.host, u.port),
                         0);
        assert_int_equal(ms_url_parse(&back, formatted), 0);
        assert_string_equal(back.host, u.host);
        assert_int_equal(back.port, u.port);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls), cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_lengths),   cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_format_tcp), cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
