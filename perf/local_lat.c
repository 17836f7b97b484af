/* local_lat.c: the listening half of the latency test: a PAIR socket on URL that echoes every
 * message back; remote_lat times the round trips. */
#include "perfutil.h"

static const char usage[] =
    "URL SIZE ROUNDTRIPS\n"
    "  Listens on URL with a PAIR socket and echoes ROUNDTRIPS plus warm-up messages of SIZE\n"
    "  bytes back to remote_lat. Prints \"bound: URL\" on stderr (the real port for port 0).\n";

int main(int argc, char **argv)
{
    perf_init("local_lat");
    perf_args(argc, argv, 3, usage);
    const char *url = argv[1];
    size_t size = (size_t)perf_parse_u64("SIZE", argv[2], 0, SIZE_MAX / 2);
    uint64_t roundtrips = perf_parse_u64("ROUNDTRIPS", argv[3], 1, UINT64_MAX / 2);

    msock_socket s;
    char bound[512];
    perf_open("pair", &s);
    /* The last echo may still be queued when the loop ends; closing must wait for it. */
    perf_check(msock_socket_set_ms(s, MSOCK_OPT_LINGER, PERF_LINGER_MS), "linger");
    perf_listen(s, url, NULL, bound, sizeof(bound));
    perf_announce_bound(bound);
    perf_lat_echo(s, size, roundtrips + perf_warmup_roundtrips(roundtrips));
    perf_close(s);
    msock_fini();
    return 0;
}
