/* reqrep.c: shows REQ/REP, and contexts letting several threads share one REQ socket. `reqrep
 * rep URL` answers requests; `reqrep req URL [MSG]` asks once; no arguments runs all in-process. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <msock.h>

#define CLIENT_THREADS 3

struct client {
    msock_socket req; /* shared by every client thread */
    int number;
    int failed;
};

static int fail(const char *what, int rc)
{
    fprintf(stderr, "reqrep: %s: %s\n", what, msock_strerror(rc));
    return 1;
}

/* Answers every request with "re: <request>" until the socket closes or a receive times out.
 * REP remembers which peer asked: the reply needs no address. */
static int serve(msock_socket rep)
{
    char in[200], out[256];
    size_t len;
    int rc;

    while (len = sizeof(in), (rc = msock_recv(rep, in, &len, 0)) == 0) {
        int shown = (int)(len < sizeof(in) ? len : sizeof(in));
        int n = snprintf(out, sizeof(out), "re: %.*s", shown, in);
        printf("rep: answering \"%.*s\"\n", shown, in);
        fflush(stdout);
        if ((rc = msock_send(rep, out, (size_t)n, 0)) != 0)
            break;
    }
    return rc == MSOCK_ECLOSED ? 0 : fail("rep", rc);
}

static void *server_thread(void *arg)
{
    serve(*(msock_socket *)arg);
    return NULL;
}

/* Sends text and prints the reply, on the socket itself (ctx NULL) or on a context. */
static int ask(msock_socket req, const msock_ctx *ctx, const char *text)
{
    char answer[256];
    size_t len = sizeof(answer);
    int rc;

    if (ctx == NULL)
        rc = msock_send(req, text, strlen(text), 0);
    else
        rc = msock_ctx_send(*ctx, text, strlen(text), 0);
    if (rc == 0)
        rc = ctx == NULL ? msock_recv(req, answer, &len, 0) : msock_ctx_recv(*ctx, answer, &len, 0);
    if (rc != 0)
        return fail("request", rc);
    printf("%s: sent \"%s\", got \"%.*s\"\n", ctx == NULL ? "req" : "req ctx", text,
           (int)(len < sizeof(answer) ? len : sizeof(answer)), answer);
    return 0;
}

/* One client thread: a context of its own on the shared REQ socket, so its request and reply
 * never mix with the other threads', although all of them are outstanding at once. */
static void *client_thread(void *arg)
{
    struct client *me = arg;
    char question[64];
    msock_ctx ctx;
    int rc;

    snprintf(question, sizeof(question), "question from thread %d", me->number);
    if ((rc = msock_ctx_open(&ctx, me->req)) != 0) {
        me->failed = fail("ctx open", rc);
        return NULL;
    }
    msock_ctx_set_ms(ctx, MSOCK_OPT_RECV_TIMEOUT, 5000); /* bounded, even if the server died */
    me->failed = ask(me->req, &ctx, question);
    msock_ctx_close(ctx);
    return NULL;
}

static int self_contained(void)
{
    const char *url = "inproc://reqrep-example";
    msock_socket rep = MSOCK_SOCKET_INITIALIZER, req = MSOCK_SOCKET_INITIALIZER;
    struct client clients[CLIENT_THREADS];
    pthread_t server, threads[CLIENT_THREADS];
    int rc, failed;

    if ((rc = msock_rep_open(&rep)) != 0 || (rc = msock_req_open(&req)) != 0 ||
        (rc = msock_listen(rep, url, NULL, 0)) != 0 || (rc = msock_dial(req, url, NULL, 0)) != 0) {
        msock_close(req);
        msock_close(rep);
        return fail("setup", rc);
    }
    msock_socket_set_ms(rep, MSOCK_OPT_RECV_TIMEOUT, 5000);
    msock_socket_set_ms(req, MSOCK_OPT_RECV_TIMEOUT, 5000);
    pthread_create(&server, NULL, server_thread, &rep);
    failed = ask(req, NULL, "hello"); /* without contexts: one request at a time per socket */
    for (int i = 0; i < CLIENT_THREADS; i++) {
        clients[i] = (struct client){.req = req, .number = i + 1};
        pthread_create(&threads[i], NULL, client_thread, &clients[i]);
    }
    for (int i = 0; i < CLIENT_THREADS; i++) {
        pthread_join(threads[i], NULL);
        failed |= clients[i].failed;
    }
    msock_close(req);
    msock_close(rep); /* wakes the server thread with MSOCK_ECLOSED */
    pthread_join(server, NULL);
    return failed;
}

int main(int argc, char **argv)
{
    msock_socket s = MSOCK_SOCKET_INITIALIZER;
    int rc;

    if (argc == 1)
        rc = self_contained();
    else if (argc == 3 && strcmp(argv[1], "rep") == 0) {
        if ((rc = msock_rep_open(&s)) == 0 && (rc = msock_listen(s, argv[2], NULL, 0)) == 0)
            rc = serve(s); /* no receive timeout: serves until killed */
        else
            rc = fail(argv[2], rc);
        msock_close(s);
    } else if ((argc == 3 || argc == 4) && strcmp(argv[1], "req") == 0) {
        if ((rc = msock_req_open(&s)) == 0 && (rc = msock_dial(s, argv[2], NULL, 0)) == 0) {
            msock_socket_set_ms(s, MSOCK_OPT_RECV_TIMEOUT, 5000);
            rc = ask(s, NULL, argc == 4 ? argv[3] : "ping");
        } else
            rc = fail(argv[2], rc);
        msock_close(s);
    } else {
        fputs("usage: reqrep                  REQ, REP and context threads over inproc\n"
              "       reqrep rep URL          listen, answer every request\n"
              "       reqrep req URL [MSG]    dial, send MSG, print the reply\n",
              stderr);
        rc = 2;
    }
    msock_fini();
    return rc;
}
