/* survey.c: shows SURVEYOR/RESPONDENT, one question to all and answers until a deadline. `survey
 * surveyor URL` asks; `survey respondent URL NAME` answers; no arguments: a demo over inproc. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <msock.h>

#define RESPONDENTS 3

/* Posted once per pipe the surveyor gains, so the demo waits for its peers instead of sleeping:
 * a survey goes only to the respondents attached when it is sent. */
static void pipe_added_cb(msock_pipe p, int event, void *arg)
{
    (void)p, (void)event;
    sem_post(arg); /* never blocks, as a pipe callback must not */
}

/* Waits up to 5 s in all for `want` pipes; false if they did not all come. */
static bool wait_for_pipes(sem_t *added, int want)
{
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    while (want > 0)
        if (sem_timedwait(added, &deadline) == 0)
            want--;
        else if (errno != EINTR)
            return false;
    return true;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "survey: %s: %s\n", what, msock_strerror(rc));
    return 1;
}

struct respondent {
    msock_socket s;
    const char *name; /* NULL: hears the survey but stays silent */
};

/* Answers every survey with its name until its socket closes; each answer goes back to the
 * surveyor that asked, along the path the survey came. */
static void *respondent_thread(void *arg)
{
    struct respondent *me = arg;
    char question[64];
    size_t len = sizeof(question);

    for (; msock_recv(me->s, question, &len, 0) == 0; len = sizeof(question))
        if (me->name != NULL)
            msock_send(me->s, me->name, strlen(me->name), 0);
    return NULL;
}

/* Sends one survey and prints every answer until the deadline; returns how many came. */
static int ask(msock_socket surveyor, const char *question)
{
    char answer[128];
    size_t len;
    int64_t deadline_ms = 0;
    int rc, answers = 0;

    if ((rc = msock_send(surveyor, question, strlen(question), 0)) != 0)
        return -fail("survey", rc);
    msock_socket_get_ms(surveyor, MSOCK_OPT_SURVEY_TIME, &deadline_ms);
    printf("surveyor: asked \"%s\", answers close in %lld ms\n", question, (long long)deadline_ms);
    for (; len = sizeof(answer), (rc = msock_recv(surveyor, answer, &len, 0)) == 0; answers++)
        printf("surveyor: answer \"%.*s\"\n", (int)(len < sizeof(answer) ? len : sizeof(answer)),
               answer);
    printf("surveyor: deadline passed (%s), %d answers\n", msock_errname(rc), answers);
    fflush(stdout);
    return rc == MSOCK_ETIMEDOUT ? answers : -fail("survey", rc);
}

static int self_contained(void)
{
    const char *url = "inproc://survey-example";
    sem_t added;
    struct respondent team[RESPONDENTS] = {{.name = "alice"}, {.name = "bob"}, {.name = NULL}};
    pthread_t threads[RESPONDENTS];
    msock_socket surveyor = MSOCK_SOCKET_INITIALIZER;
    int rc, started = 0, answers = -1;

    sem_init(&added, 0, 0);
    if ((rc = msock_surveyor_open(&surveyor)) != 0 ||
        (rc = msock_socket_set_ms(surveyor, MSOCK_OPT_SURVEY_TIME, 750)) != 0 || /* default: 1 s */
        (rc = msock_pipe_notify(surveyor, MSOCK_PIPE_EV_ADD_POST, pipe_added_cb, &added)) != 0 ||
        (rc = msock_listen(surveyor, url, NULL, 0)) != 0)
        goto out;
    for (; started < RESPONDENTS; started++) {
        if ((rc = msock_respondent_open(&team[started].s)) != 0 ||
            (rc = msock_dial(team[started].s, url, NULL, 0)) != 0)
            goto out;
        msock_socket_set_ms(team[started].s, MSOCK_OPT_RECV_TIMEOUT, 5000);
        pthread_create(&threads[started], NULL, respondent_thread, &team[started]);
    }
    if (wait_for_pipes(&added, RESPONDENTS))
        answers = ask(surveyor, "who is there?"); /* ends at the deadline, not at 3 answers */
    else
        rc = MSOCK_ETIMEDOUT;
out:
    for (int i = 0; i < RESPONDENTS; i++)
        msock_close(team[i].s); /* wakes its thread with MSOCK_ECLOSED; id 0 is harmless */
    while (started > 0)
        pthread_join(threads[--started], NULL);
    msock_close(surveyor); /* its callbacks are over once it returns */
    sem_destroy(&added);
    return rc != 0 ? fail("demo", rc) : answers != RESPONDENTS - 1;
}

int main(int argc, char **argv)
{
    msock_socket s = MSOCK_SOCKET_INITIALIZER;
    int rc;

    if (argc == 1)
        rc = self_contained();
    else if (argc == 3 && strcmp(argv[1], "surveyor") == 0) {
        if ((rc = msock_surveyor_open(&s)) != 0 || (rc = msock_listen(s, argv[2], NULL, 0)) != 0)
            return fail(argv[2], rc);
        while (ask(s, "who is there?") >= 0) /* the 1 s default deadline paces the surveys */
            ;
        msock_close(s);
        rc = 1;
    } else if (argc == 4 && strcmp(argv[1], "respondent") == 0) {
        struct respondent me = {.name = argv[3]};
        if ((rc = msock_respondent_open(&me.s)) != 0 ||
            (rc = msock_dial(me.s, argv[2], NULL, MSOCK_FLAG_NONBLOCK)) != 0)
            return fail(argv[2], rc);
        respondent_thread(&me); /* no receive timeout: answers until killed */
        rc = 1;
    } else {
        fputs("usage: survey                          a surveyor and three respondents, inproc\n"
              "       survey surveyor URL             listen, survey every second\n"
              "       survey respondent URL NAME      dial, answer every survey with NAME\n",
              stderr);
        rc = 2;
    }
    msock_fini();
    return rc;
}
