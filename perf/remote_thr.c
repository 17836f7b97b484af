/* remote_thr.c: the sending half of the throughput test: dials local_thr with a PUSH socket and
 * sends a start marker and COUNT messages as fast as the socket takes them. */
#include "perfutil.h"

static const char usage[] =
    "URL SIZE COUNT\n"
    "  Dials local_thr at URL with a PUSH socket and sends an empty start marker, then COUNT\n"
    "  messages of SIZE bytes. Exits once they are written (closing lingers up to 30 s).\n";

int main(int argc, char **argv)
{
    perf_init("remote_thr");
    perf_args(argc, argv, 3, usage);
    const char *url = argv[1];
    size_t size = (size_t)perf_parse_u64("SIZE", argv[2], 0, SIZE_MAX / 2);
    uint64_t count = perf_parse_u64("COUNT", argv[3], 1, UINT64_MAX / 2);

    msock_socket s;
    perf_open("push", &s);
    /* Exiting must not drop messages still queued behind a slower receiver. */
    perf_check(msock_socket_set_ms(s, MSOCK_OPT_LINGER, PERF_LINGER_MS), "linger");
    perf_dial(s, url);
    perf_thr_send(s, size, count);
    perf_close(s);
    msock_fini();
    return 0;
}
