/* inproc_thr.c: the throughput test within one process: a PUSH thread feeding a PULL socket
 * over inproc://, with local_thr's output. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "perfutil.h"

static const char usage[] =
    "SIZE COUNT\n"
    "  Runs remote_thr and local_thr as two threads over inproc:// (PUSH -> PULL) and prints\n"
    "  local_thr's lines: throughput, resident memory and its growth after the first 10 %.\n";

typedef struct send_job {
    msock_socket s;
    size_t size;
    uint64_t count;
} send_job;

static void *send_thread(void *arg)
{
    send_job *job = arg;
    perf_thr_send(job->s, job->size, job->count);
    return NULL;
}

int main(int argc, char **argv)
{
    perf_init("inproc_thr");
    perf_args(argc, argv, 2, usage);
    size_t size = (size_t)perf_parse_u64("SIZE", argv[1], 0, SIZE_MAX / 2);
    uint64_t count = perf_parse_u64("COUNT", argv[2], 1, UINT64_MAX / 2);

    char url[64], bound[128];
    snprintf(url, sizeof(url), "inproc://perf_thr_%ld", (long)getpid());
    msock_socket puller;
    send_job job = {.size = size, .count = count};
    perf_open("pull", &puller);
    perf_open("push", &job.s);
    perf_check(msock_socket_set_ms(job.s, MSOCK_OPT_LINGER, PERF_LINGER_MS), "linger");
    perf_listen(puller, url, NULL, bound, sizeof(bound));
    perf_dial(job.s, bound);

    pthread_t sender;
    if (pthread_create(&sender, NULL, send_thread, &job) != 0)
        perf_fail("cannot start the sending thread");
    perf_thr_receive(puller, size, count);
    pthread_join(sender, NULL);
    perf_close(job.s);
    perf_close(puller);
    msock_fini();
    return 0;
}
