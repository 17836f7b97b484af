/* pipeline.c: shows PUSH/PULL, the one-way pipeline. `pipeline pull URL` listens and prints
 * every message; `pipeline push URL MSG...` dials and sends; no arguments runs both over inproc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msock.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "pipeline: %s: %s\n", what, msock_strerror(rc));
    return 1;
}

/* Listens on url and prints messages until `count` arrived (0 = for ever). */
static int pull_node(const char *url, int count)
{
    msock_socket s;
    msock_listener l;
    int rc;

    if ((rc = msock_pull_open(&s)) != 0)
        return fail("open", rc);
    if ((rc = msock_listen(s, url, &l, 0)) != 0) {
        msock_close(s);
        return fail(url, rc);
    }
    for (int got = 0; count == 0 || got < count; got++) {
        msock_msg *m;
        if ((rc = msock_recvmsg(s, &m, 0)) != 0) {
            msock_close(s);
            return fail("recv", rc);
        }
        printf("pull: received \"%.*s\"\n", (int)msock_msg_len(m), (char *)msock_msg_body(m));
        fflush(stdout);
        msock_msg_free(m);
    }
    msock_close(s);
    return 0;
}

/* Dials url (waiting for the connection) and sends each message; close then lingers so the
 * queued messages reach the peer before the process exits. */
static int push_node(const char *url, char *const *msgs, int n)
{
    msock_socket s;
    msock_dialer d;
    int rc;

    if ((rc = msock_push_open(&s)) != 0)
        return fail("open", rc);
    if ((rc = msock_dial(s, url, &d, 0)) != 0) {
        msock_close(s);
        return fail(url, rc);
    }
    for (int i = 0; i < n; i++) {
        if ((rc = msock_send(s, msgs[i], strlen(msgs[i]), 0)) != 0) {
            msock_close(s);
            return fail("send", rc);
        }
        printf("push: sent \"%s\"\n", msgs[i]);
    }
    msock_close(s);
    return 0;
}

/* Both ends in one thread: inproc needs no network, and PUSH queues until PULL reads. */
static int self_contained(void)
{
    const char *url = "inproc://pipeline-example";
    const char *jobs[] = {"job 1", "job 2", "job 3"};
    msock_socket pull, push;
    msock_listener l;
    msock_dialer d;
    int rc;

    if ((rc = msock_pull_open(&pull)) != 0)
        return fail("open pull", rc);
    if ((rc = msock_push_open(&push)) != 0) {
        msock_close(pull);
        return fail("open push", rc);
    }
    msock_socket_set_ms(pull, MSOCK_OPT_RECV_TIMEOUT, 5000);
    if ((rc = msock_listen(pull, url, &l, 0)) != 0 || (rc = msock_dial(push, url, &d, 0)) != 0)
        goto out;
    for (int i = 0; i < 3; i++) {
        if ((rc = msock_send(push, jobs[i], strlen(jobs[i]), 0)) != 0)
            goto out;
        printf("push: sent \"%s\"\n", jobs[i]);
    }
    for (int i = 0; i < 3; i++) {
        char buf[64];
        size_t len = sizeof(buf);
        if ((rc = msock_recv(pull, buf, &len, 0)) != 0)
            goto out;
        printf("pull: received \"%.*s\"\n", (int)(len < sizeof(buf) ? len : sizeof(buf)), buf);
    }
out:
    msock_close(push);
    msock_close(pull);
    return rc == 0 ? 0 : fail("inproc pipeline", rc);
}

int main(int argc, char **argv)
{
    int rc;

    if (argc == 1)
        rc = self_contained();
    else if (argc >= 3 && strcmp(argv[1], "pull") == 0)
        rc = pull_node(argv[2], argc > 3 ? atoi(argv[3]) : 0);
    else if (argc >= 3 && strcmp(argv[1], "push") == 0) {
        char *dflt[] = {"hello"};
        rc = argc > 3 ? push_node(argv[2], argv + 3, argc - 3) : push_node(argv[2], dflt, 1);
    } else {
        fputs("usage: pipeline                     run both ends over inproc\n"
              "       pipeline pull URL [COUNT]    listen, print COUNT messages (0: all)\n"
              "       pipeline push URL [MSG...]   dial, send each MSG\n",
              stderr);
        rc = 2;
    }
    msock_fini();
    return rc;
}
