/* pair.c: shows PAIR, two peers talking both ways over one connection. `pair listen URL`
 * answers every message; `pair dial URL [MSG]` sends MSG and prints the answer; no arguments
 * runs both peers over inproc. */
#include <stdio.h>
#include <string.h>

#include <msock.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "pair: %s: %s\n", what, msock_strerror(rc));
    return 1;
}

/* Receives one message into buf as a C string (cut to fit). */
static int recv_text(msock_socket s, char *buf, size_t size)
{
    size_t len = size - 1;
    int rc = msock_recv(s, buf, &len, 0);

    if (rc == 0)
        buf[len < size - 1 ? len : size - 1] = '\0';
    return rc;
}

/* Sends "ack: <text>" back for every message. It never returns on its own. */
static int listen_node(const char *url)
{
    msock_socket s;
    msock_listener l;
    char in[256], out[300];
    int rc;

    if ((rc = msock_pair_open(&s)) != 0)
        return fail("open", rc);
    if ((rc = msock_listen(s, url, &l, 0)) != 0) {
        msock_close(s);
        return fail(url, rc);
    }
    while ((rc = recv_text(s, in, sizeof(in))) == 0) {
        printf("listener: received \"%s\"\n", in);
        fflush(stdout);
        snprintf(out, sizeof(out), "ack: %s", in);
        if ((rc = msock_send(s, out, strlen(out), 0)) != 0)
            break;
    }
    msock_close(s);
    return fail("listener", rc);
}

/* Dials url, sends text and waits up to 5 s for the answer. */
static int dial_node(const char *url, const char *text)
{
    msock_socket s;
    msock_dialer d;
    char in[256];
    int rc;

    if ((rc = msock_pair_open(&s)) != 0)
        return fail("open", rc);
    msock_socket_set_ms(s, MSOCK_OPT_RECV_TIMEOUT, 5000);
    if ((rc = msock_dial(s, url, &d, 0)) != 0 ||
        (rc = msock_send(s, text, strlen(text), 0)) != 0 ||
        (rc = recv_text(s, in, sizeof(in))) != 0) {
        msock_close(s);
        return fail(url, rc);
    }
    printf("dialer: sent \"%s\", received \"%s\"\n", text, in);
    msock_close(s);
    return 0;
}

/* Both peers in one thread over inproc: each sends, then each reads what the other sent. */
static int self_contained(void)
{
    const char *url = "inproc://pair-example";
    msock_socket a, b;
    msock_listener l;
    msock_dialer d;
    char in[64];
    int rc;

    if ((rc = msock_pair_open(&a)) != 0)
        return fail("open", rc);
    if ((rc = msock_pair_open(&b)) != 0) {
        msock_close(a);
        return fail("open", rc);
    }
    msock_socket_set_ms(a, MSOCK_OPT_RECV_TIMEOUT, 5000);
    msock_socket_set_ms(b, MSOCK_OPT_RECV_TIMEOUT, 5000);
    msock_socket_set_ms(a, MSOCK_OPT_SEND_TIMEOUT, 5000); /* a may see its pipe a moment late */
    if ((rc = msock_listen(a, url, &l, 0)) != 0 || (rc = msock_dial(b, url, &d, 0)) != 0)
        goto out;
    if ((rc = msock_send(a, "hello from a", 12, 0)) != 0 ||
        (rc = msock_send(b, "hello from b", 12, 0)) != 0)
        goto out;
    if ((rc = recv_text(b, in, sizeof(in))) != 0)
        goto out;
    printf("b received \"%s\"\n", in);
    if ((rc = recv_text(a, in, sizeof(in))) != 0)
        goto out;
    printf("a received \"%s\"\n", in);
out:
    msock_close(b);
    msock_close(a);
    return rc == 0 ? 0 : fail("inproc pair", rc);
}

int main(int argc, char **argv)
{
    int rc;

    if (argc == 1)
        rc = self_contained();
    else if (argc == 3 && strcmp(argv[1], "listen") == 0)
        rc = listen_node(argv[2]);
    else if ((argc == 3 || argc == 4) && strcmp(argv[1], "dial") == 0)
        rc = dial_node(argv[2], argc == 4 ? argv[3] : "ping");
    else {
        fputs("usage: pair                  both peers over inproc\n"
              "       pair listen URL       answer every message\n"
              "       pair dial URL [MSG]   send MSG, print the answer\n",
              stderr);
        rc = 2;
    }
    msock_fini();
    return rc;
}
