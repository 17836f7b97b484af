/* demo.c: the README demo: a PUSH -> PULL pipeline and a PAIR exchange, over tcp (port 0) and
 * ipc (a unique path under /tmp). Prints what crosses; exits non-zero on any failure. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <msock.h>

#define TIMEOUT_MS 5000 /* generous: the demo also runs as a test on busy machines */

/* Prints the failed call and its error, then jumps to the caller's cleanup label. */
#define CHECK(call)                                                                       \
    do {                                                                                  \
        int rc_ = (call);                                                                 \
        if (rc_ != 0) {                                                                   \
            fprintf(stderr, "demo: %s: %s (%s)\n", #call, msock_strerror(rc_),            \
                    msock_errname(rc_));                                                  \
            goto out;                                                                     \
        }                                                                                 \
    } while (0)

/* Sends text on `from`, receives on `to` and checks the bytes arrived unchanged. */
static int exchange(msock_socket from, msock_socket to, const char *text, const char *label)
{
    char buf[256];
    size_t len = sizeof(buf) - 1;
    int ok = -1;

    CHECK(msock_send(from, text, strlen(text), 0));
    CHECK(msock_recv(to, buf, &len, 0));
    if (len != strlen(text) || memcmp(buf, text, len) != 0) {
        fprintf(stderr, "demo: %s: sent \"%s\" but received %zu other bytes\n", label, text, len);
        goto out;
    }
    buf[len] = '\0';
    printf("%s: \"%s\"\n", label, buf);
    ok = 0;
out:
    return ok;
}

/* Opens both ends with timeouts, listens on `url` with `server`, reads the bound URL back
 * (the real port when tcp asked for port 0) and dials it with `client`. */
static int connect_pair(msock_socket server, msock_socket client, const char *url)
{
    msock_listener l;
    msock_dialer d;
    char bound[160];
    size_t len = sizeof(bound);
    int ok = -1;

    CHECK(msock_socket_set_ms(server, MSOCK_OPT_RECV_TIMEOUT, TIMEOUT_MS));
    CHECK(msock_socket_set_ms(server, MSOCK_OPT_SEND_TIMEOUT, TIMEOUT_MS));
    CHECK(msock_socket_set_ms(client, MSOCK_OPT_RECV_TIMEOUT, TIMEOUT_MS));
    CHECK(msock_socket_set_ms(client, MSOCK_OPT_SEND_TIMEOUT, TIMEOUT_MS));
    CHECK(msock_listen(server, url, &l, 0));
    CHECK(msock_listener_get_string(l, MSOCK_OPT_URL, bound, &len));
    CHECK(msock_dial(client, bound, &d, 0));
    ok = 0;
out:
    return ok;
}

/* A PULL listens, a PUSH dials and sends one job. */
static int run_pipeline(const char *name, const char *url)
{
    msock_socket push = MSOCK_SOCKET_INITIALIZER, pull = MSOCK_SOCKET_INITIALIZER;
    char label[64];
    int ok = -1;

    snprintf(label, sizeof(label), "%s push -> pull", name);
    CHECK(msock_pull_open(&pull));
    CHECK(msock_push_open(&push));
    if (connect_pair(pull, push, url) != 0 || exchange(push, pull, "job 1", label) != 0)
        goto out;
    ok = 0;
out:
    if (push.id != 0)
        msock_close(push);
    if (pull.id != 0)
        msock_close(pull);
    return ok;
}

/* Two PAIR sockets: a ping one way and a pong back over the same connection. */
static int run_pair(const char *name, const char *url)
{
    msock_socket a = MSOCK_SOCKET_INITIALIZER, b = MSOCK_SOCKET_INITIALIZER;
    char there[64], back[64];
    int ok = -1;

    snprintf(there, sizeof(there), "%s pair b -> a", name);
    snprintf(back, sizeof(back), "%s pair a -> b", name);
    CHECK(msock_pair_open(&a));
    CHECK(msock_pair_open(&b));
    if (connect_pair(a, b, url) != 0 || exchange(b, a, "ping", there) != 0 ||
        exchange(a, b, "pong", back) != 0)
        goto out;
    ok = 0;
out:
    if (a.id != 0)
        msock_close(a);
    if (b.id != 0)
        msock_close(b);
    return ok;
}

int main(void)
{
    char ipc_push[128], ipc_pair[128];
    int failures = 0;

    /* The pid keeps parallel runs (make -j check) from sharing socket files. */
    snprintf(ipc_push, sizeof(ipc_push), "/tmp/msock-demo-%ld-push.ipc", (long)getpid());
    snprintf(ipc_pair, sizeof(ipc_pair), "/tmp/msock-demo-%ld-pair.ipc", (long)getpid());

    printf("libmsock %s demo\n", msock_version());
    failures += run_pipeline("tcp", "tcp://127.0.0.1:0") != 0;
    failures += run_pair("tcp", "tcp://127.0.0.1:0") != 0;

    char url[160];
    snprintf(url, sizeof(url), "ipc://%s", ipc_push);
    failures += run_pipeline("ipc", url) != 0;
    snprintf(url, sizeof(url), "ipc://%s", ipc_pair);
    failures += run_pair("ipc", url) != 0;
    unlink(ipc_push); /* normally gone with the listener already */
    unlink(ipc_pair);

    msock_fini();
    if (failures != 0) {
        fprintf(stderr, "demo: %d of 4 exchanges failed\n", failures);
        return 1;
    }
    printf("demo: all exchanges passed\n");
    return 0;
}
