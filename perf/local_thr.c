/* local_thr.c: the receiving half of the throughput test: a PULL socket on URL that times
 * COUNT messages from remote_thr and reports throughput and resident memory. */
#include "perfutil.h"

static const char usage[] =
    "URL SIZE COUNT\n"
    "  Listens on URL with a PULL socket, waits for remote_thr's start marker (an empty\n"
    "  message), then times COUNT messages of SIZE bytes from it to the last. Prints the\n"
    "  throughput in messages and megabits per second, the resident memory at the end and its\n"
    "  growth since the first 10 % of the messages. Prints \"bound: URL\" on stderr.\n";

int main(int argc, char **argv)
{
    perf_init("local_thr");
    perf_args(argc, argv, 3, usage);
    const char *url = argv[1];
    size_t size = (size_t)perf_parse_u64("SIZE", argv[2], 0, SIZE_MAX / 2);
    uint64_t count = perf_parse_u64("COUNT", argv[3], 1, UINT64_MAX / 2);

    msock_socket s;
    char bound[512];
    perf_open("pull", &s);
    perf_listen(s, url, NULL, bound, sizeof(bound));
    perf_announce_bound(bound);
    perf_thr_receive(s, size, count);
    perf_close(s);
    msock_fini();
    return 0;
}
