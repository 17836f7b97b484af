/* peer_common.h: helpers shared by the nng and libzmq perf peers: argument parsing and dispatch,
   the clock, latency samples with percentiles, and the exact output lines of our perf programs. */
#ifndef PEER_COMMON_H
#define PEER_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* The parsed command line of one program. Fields a program does not take stay zero. */
struct pc_args {
	const char *prog;   /* "local_lat", "inproc_thr", ... */
	const char *url;    /* NULL for the inproc_* programs */
	size_t size;        /* message size in bytes */
	uint64_t count;     /* round trips (lat) or messages (thr) */
	unsigned clients;   /* reqrep_bench: concurrent requesters */
	double seconds;     /* reqrep_bench: length of the counted window */
};

/* One entry point per program; each returns the process exit status. */
typedef int (*pc_prog_fn)(const struct pc_args *a);

/* What a peer binary provides: its name for messages and its seven programs. */
struct pc_peer {
	const char *lib;
	pc_prog_fn local_lat, remote_lat, local_thr, remote_thr;
	pc_prog_fn inproc_lat, inproc_thr, reqrep_bench;
};

/* Parses argv ("PROG ARGS..."), prints usage on error, runs the program. Never blocks itself. */
int pc_main(int argc, char **argv, const struct pc_peer *peer);

/* Prints "<lib> <prog>: message" to stderr and exits with status 1. */
_Noreturn void pc_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t pc_now_ns(void);               /* CLOCK_MONOTONIC in nanoseconds */
void pc_sleep_s(double seconds);        /* blocks the calling thread */
uint64_t pc_warmup(uint64_t roundtrips); /* untimed warm-up round trips: min(1000, rt / 10) */
long pc_rss_kib(void);                  /* VmRSS from /proc/self/status in KiB, -1 if unknown */

/* A growable array of durations in nanoseconds; one owner thread at a time. */
struct pc_samples {
	uint64_t *v;
	size_t n, cap;
	int sorted;
};
void pc_samples_init(struct pc_samples *s, size_t hint);
void pc_samples_add(struct pc_samples *s, uint64_t ns);
void pc_samples_merge(struct pc_samples *dst, const struct pc_samples *src);
/* The p-quantile (0 < p <= 1, nearest rank) in nanoseconds; sorts in place; 0 when empty. */
double pc_samples_pct(struct pc_samples *s, double p);
uint64_t pc_samples_max(const struct pc_samples *s);
void pc_samples_free(struct pc_samples *s);

/* The output lines. Latency: total_ns over rt round trips, rtt holds one round trip per sample;
   all figures are one-way (half a round trip). */
void pc_print_latency(uint64_t total_ns, uint64_t rt, struct pc_samples *rtt);
/* Throughput, as our local_thr prints it: size, count, msg/s, Mb/s, then the resident memory
   at the end (rss_end) and its growth since the first 10 % of the messages were in (rss_warm). */
void pc_print_throughput(uint64_t elapsed_ns, uint64_t count, size_t size, long rss_end,
    long rss_warm);
/* Request latencies are whole round trips. */
void pc_print_reqrep(uint64_t elapsed_ns, uint64_t requests, struct pc_samples *lat);
/* "bound: URL" on stderr, flushed, so a script can dial a port-0 listener. */
void pc_print_bound(const char *url);

/* Returns a malloc'd copy of a tcp-style URL with its port replaced by port and a wildcard host
   ("*" or empty) replaced by 127.0.0.1; other schemes are copied unchanged. */
char *pc_url_with_port(const char *url, unsigned port);
/* Nonzero when url has a port: tcp://, tcp4://, tcp6:// and ws://. */
int pc_url_has_port(const char *url);

#endif
