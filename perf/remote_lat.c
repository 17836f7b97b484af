/* remote_lat.c: the timing half of the latency test: dials local_lat with a PAIR socket, runs
 * the round trips and prints the one-way latency (half a round trip). */
#include "perfutil.h"

static const char usage[] =
    "URL SIZE ROUNDTRIPS\n"
    "  Dials local_lat at URL with a PAIR socket, runs min(1000, ROUNDTRIPS / 10) warm-up and\n"
    "  then ROUNDTRIPS timed round trips of SIZE bytes, and prints the average, p50 and p99\n"
    "  one-way latency (round trip / 2).\n";

int main(int argc, char **argv)
{
    perf_init("remote_lat");
    perf_args(argc, argv, 3, usage);
    const char *url = argv[1];
    size_t size = (size_t)perf_parse_u64("SIZE", argv[2], 0, SIZE_MAX / 2);
    uint64_t roundtrips = perf_parse_u64("ROUNDTRIPS", argv[3], 1, UINT64_MAX / 2);

    msock_socket s;
    perf_samples rtt;
    perf_open("pair", &s);
    perf_dial(s, url);
    uint64_t total_ns = perf_lat_ping(s, size, roundtrips, &rtt);
    perf_print_latency(total_ns, roundtrips, &rtt);
    perf_samples_free(&rtt);
    perf_close(s);
    msock_fini();
    return 0;
}
