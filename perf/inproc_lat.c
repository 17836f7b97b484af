/* inproc_lat.c: the latency test within one process: two threads, two PAIR sockets over
 * inproc://, one echoing and one timing the round trips. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "perfutil.h"

static const char usage[] =
    "SIZE ROUNDTRIPS\n"
    "  Runs local_lat and remote_lat as two threads over inproc:// with PAIR sockets and\n"
    "  prints the average, p50 and p99 one-way latency (round trip / 2).\n";

typedef struct echo_job {
    msock_socket s;
    size_t size;
    uint64_t messages;
} echo_job;

static void *echo_thread(void *arg)
{
    echo_job *job = arg;
    perf_lat_echo(job->s, job->size, job->messages);
    return NULL;
}

int main(int argc, char **argv)
{
    perf_init("inproc_lat");
    perf_args(argc, argv, 2, usage);
    size_t size = (size_t)perf_parse_u64("SIZE", argv[1], 0, SIZE_MAX / 2);
    uint64_t roundtrips = perf_parse_u64("ROUNDTRIPS", argv[2], 1, UINT64_MAX / 2);

    char url[64], bound[128];
    snprintf(url, sizeof(url), "inproc://perf_lat_%ld", (long)getpid());
    echo_job job = {.size = size, .messages = roundtrips + perf_warmup_roundtrips(roundtrips)};
    msock_socket pinger;
    perf_open("pair", &job.s);
    perf_open("pair", &pinger);
    perf_listen(job.s, url, NULL, bound, sizeof(bound));
    perf_dial(pinger, bound);

    pthread_t echoer;
    if (pthread_create(&echoer, NULL, echo_thread, &job) != 0)
        perf_fail("cannot start the echo thread");
    perf_samples rtt;
    uint64_t total_ns = perf_lat_ping(pinger, size, roundtrips, &rtt);
    pthread_join(echoer, NULL);
    perf_print_latency(total_ns, roundtrips, &rtt);
    perf_samples_free(&rtt);
    perf_close(pinger);
    perf_close(job.s);
    msock_fini();
    return 0;
}
