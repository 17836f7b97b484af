/* perfutil.h: helpers shared by the perf programs: argument parsing, clocks, opening, listening
 * and dialing sockets, resident memory, file-descriptor limits, percentiles and output lines. */
#ifndef PERFUTIL_H
#define PERFUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msock.h"

/* Linger for the side that finishes sending first: close must not drop what is still queued. */
#define PERF_LINGER_MS 30000
/* How long a dialer waits for its connection before the program gives up. */
#define PERF_DIAL_TIMEOUT_MS 60000

/* Names the program in messages; call first in main. */
void perf_init(const char *program);
/* Prints "program: message" on stderr and exits with status 1. */
_Noreturn void perf_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Fails with the library's text for rc unless rc is 0. */
void perf_check(int rc, const char *what);

/* Command line. With -h or --help anywhere, prints usage on stdout and exits 0; with a wrong
 * argument count, prints it on stderr and exits 2. usage is "ARGS\n  explanation...". */
void perf_args(int argc, char **argv, int want_args, const char *usage);
/* Parses a decimal integer in [min, max] or fails naming what. */
uint64_t perf_parse_u64(const char *what, const char *text, uint64_t min, uint64_t max);
/* Parses a positive number of seconds (at most a day) or fails. */
double perf_parse_seconds(const char *what, const char *text);

/* CLOCK_MONOTONIC. */
uint64_t perf_now_ns(void);
uint64_t perf_now_us(void);
void perf_sleep_ms(int64_t ms);

/* Sockets. perf_open takes "pair", "push" or "pull"; receivers get an unlimited receive size
 * so that any SIZE works. */
void perf_open(const char *proto, msock_socket *s);
/* Listens on url and writes the bound URL (the real port for port 0) to bound. */
void perf_listen(msock_socket s, const char *url, msock_listener *l, char *bound, size_t len);
/* Prints "bound: URL" on stderr, so a script can hand a port-0 address to the dialing side. */
void perf_announce_bound(const char *bound);
/* Dials in the background and waits, bounded by PERF_DIAL_TIMEOUT_MS, until the connection is
 * up, so the listening program may start before or after this one. One dial per socket. */
void perf_dial(msock_socket s, const char *url);
/* Closes s and forgets its dial waiter. */
void perf_close(msock_socket s);

/* Resident memory from /proc/self/status in KiB (VmRSS, VmHWM); -1 when unreadable. */
long perf_rss_kib(void);
long perf_rss_peak_kib(void);

/* Raises RLIMIT_NOFILE to at least need descriptors when it can (the soft limit to the hard
 * one, the hard one too when privileged); returns the soft limit now in force. */
uint64_t perf_raise_fd_limit(uint64_t need);

/* Durations in nanoseconds with nearest-rank percentiles; one owner thread at a time. */
typedef struct perf_samples {
    uint64_t *values;
    size_t count;
    size_t capacity;
    bool sorted;
} perf_samples;
void perf_samples_init(perf_samples *s, size_t expected);
void perf_samples_add(perf_samples *s, uint64_t ns);
void perf_samples_merge(perf_samples *into, const perf_samples *from);
/* The smallest sample with at least fraction p (0 < p <= 1) of all samples at or below it;
 * 0 when there are none. Sorts in place. */
uint64_t perf_samples_percentile(perf_samples *s, double p);
uint64_t perf_samples_max(const perf_samples *s);
void perf_samples_free(perf_samples *s);

/* Latency: untimed warm-up round trips before the timed ones, min(1000, roundtrips / 10). */
uint64_t perf_warmup_roundtrips(uint64_t roundtrips);
/* Starts every round trip: warm-up, then roundtrips timed ones, each sampled into rtt (which
 * perf_lat_ping initialises). Returns the total time of the timed ones. */
uint64_t perf_lat_ping(msock_socket s, size_t size, uint64_t roundtrips, perf_samples *rtt);
/* Sends back each of messages messages as it arrives, checking its size. */
void perf_lat_echo(msock_socket s, size_t size, uint64_t messages);
/* "average latency", "p50 latency", "p99 latency": one-way, half a round trip. */
void perf_print_latency(uint64_t total_ns, uint64_t roundtrips, perf_samples *rtt);

/* Throughput: a zero-byte start marker, then count messages of size bytes. */
void perf_thr_send(msock_socket s, size_t size, uint64_t count);
/* Takes the start marker, starts the clock, takes count messages of size bytes, and prints the
 * message size and count, both mean throughputs, the resident memory at the end and its growth
 * since the first 10 % of the messages were in. */
void perf_thr_receive(msock_socket s, size_t size, uint64_t count);

#endif
