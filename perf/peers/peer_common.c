/* peer_common.c: argument parsing, dispatch, clock, percentiles and output lines shared by the
   nng and libzmq perf peers, so their output matches our perf programs line for line. */
#define _POSIX_C_SOURCE 200809L
#include "peer_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *cur_lib = "peer";
static const char *cur_prog = "";

void pc_fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s %s: ", cur_lib, cur_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

uint64_t pc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pc_sleep_s(double seconds)
{
	struct timespec ts;
	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

uint64_t pc_warmup(uint64_t roundtrips)
{
	uint64_t w = roundtrips / 10;
	return w < 1000 ? w : 1000;
}

long pc_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

/* ---- samples ---- */

void pc_samples_init(struct pc_samples *s, size_t hint)
{
	s->n = 0;
	s->sorted = 0;
	s->cap = hint ? hint : 64;
	s->v = malloc(s->cap * sizeof(*s->v));
	if (s->v == NULL)
		pc_fail("out of memory for %zu samples", s->cap);
}

static void samples_reserve(struct pc_samples *s, size_t need)
{
	uint64_t *nv;
	size_t cap = s->cap;
	if (need <= cap)
		return;
	while (cap < need)
		cap *= 2;
	nv = realloc(s->v, cap * sizeof(*nv));
	if (nv == NULL)
		pc_fail("out of memory for %zu samples", cap);
	s->v = nv;
	s->cap = cap;
}

void pc_samples_add(struct pc_samples *s, uint64_t ns)
{
	if (s->n == s->cap)
		samples_reserve(s, s->n + 1);
	s->v[s->n++] = ns;
	s->sorted = 0;
}

void pc_samples_merge(struct pc_samples *dst, const struct pc_samples *src)
{
	samples_reserve(dst, dst->n + src->n);
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	dst->sorted = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

double pc_samples_pct(struct pc_samples *s, double p)
{
	size_t rank;
	if (s->n == 0)
		return 0;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
		s->sorted = 1;
	}
	/* Nearest rank: the smallest sample with at least p of all samples at or below it. */
	rank = (size_t)(p * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return (double)s->v[rank - 1];
}

uint64_t pc_samples_max(const struct pc_samples *s)
{
	uint64_t m = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] > m)
			m = s->v[i];
	return m;
}

void pc_samples_free(struct pc_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* ---- output ---- */

void pc_print_latency(uint64_t total_ns, uint64_t rt, struct pc_samples *rtt)
{
	double avg = rt ? (double)total_ns / 1e3 / (2.0 * (double)rt) : 0;
	printf("average latency: %.3f [us]\n", avg);
	printf("p50 latency: %.3f [us]\n", pc_samples_pct(rtt, 0.50) / 2e3);
	printf("p99 latency: %.3f [us]\n", pc_samples_pct(rtt, 0.99) / 2e3);
	fflush(stdout);
}

void pc_print_throughput(uint64_t elapsed_ns, uint64_t count, size_t size, long rss_end,
    long rss_warm)
{
	double secs = (double)elapsed_ns / 1e9;
	double msgs = secs > 0 ? (double)count / secs : 0;
	printf("message size: %zu [B]\n", size);
	printf("message count: %llu\n", (unsigned long long)count);
	printf("mean throughput: %.0f [msg/s]\n", msgs);
	printf("mean throughput: %.3f [Mb/s]\n", msgs * (double)size * 8.0 / 1e6);
	printf("rss: %ld [KiB]\n", rss_end);
	printf("rss growth after warm-up: %ld [KiB]\n", rss_end - rss_warm);
	fflush(stdout);
}

void pc_print_reqrep(uint64_t elapsed_ns, uint64_t requests, struct pc_samples *lat)
{
	double secs = (double)elapsed_ns / 1e9;
	printf("requests/s: %.0f\n", secs > 0 ? (double)requests / secs : 0);
	printf("latency p50: %.3f [us]\n", pc_samples_pct(lat, 0.50) / 1e3);
	printf("latency p99: %.3f [us]\n", pc_samples_pct(lat, 0.99) / 1e3);
	printf("latency max: %.3f [us]\n", (double)pc_samples_max(lat) / 1e3);
	fflush(stdout);
}

void pc_print_bound(const char *url)
{
	fprintf(stderr, "bound: %s\n", url);
	fflush(stderr);
}

/* ---- URLs ---- */

int pc_url_has_port(const char *url)
{
	return strncmp(url, "tcp://", 6) == 0 || strncmp(url, "tcp4://", 7) == 0 ||
	    strncmp(url, "tcp6://", 7) == 0 || strncmp(url, "ws://", 5) == 0;
}

char *pc_url_with_port(const char *url, unsigned port)
{
	const char *host, *colon, *p, *path;
	size_t hlen, n;
	char *out;
	if (!pc_url_has_port(url)) {
		out = strdup(url);
		if (out == NULL)
			pc_fail("out of memory");
		return out;
	}
	host = strstr(url, "://") + 3;
	path = strchr(host, '/'); /* ws: the path follows the port */
	if (path == NULL)
		path = host + strlen(host);
	/* The port follows the last ':' outside an IPv6 literal's brackets. */
	colon = NULL;
	for (p = host; p < path; p++) {
		if (*p == '[') {
			const char *close = strchr(p, ']');
			if (close == NULL)
				break;
			p = close;
		} else if (*p == ':') {
			colon = p;
		}
	}
	hlen = colon ? (size_t)(colon - host) : (size_t)(path - host);
	n = (size_t)(host - url) + hlen + strlen(path) + 32;
	out = malloc(n);
	if (out == NULL)
		pc_fail("out of memory");
	if (hlen == 0 || (hlen == 1 && host[0] == '*'))
		snprintf(out, n, "%.*s127.0.0.1:%u%s", (int)(host - url), url, port, path);
	else
		snprintf(out, n, "%.*s:%u%s", (int)(host - url + (ptrdiff_t)hlen), url, port, path);
	return out;
}

/* ---- command line ---- */

static uint64_t parse_u64(const char *what, const char *s, uint64_t min)
{
	char *end;
	unsigned long long v;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min)
		pc_fail("bad %s '%s' (want an integer >= %llu)", what, s, (unsigned long long)min);
	return (uint64_t)v;
}

static double parse_secs(const char *s)
{
	char *end;
	double v;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400)
		pc_fail("bad SECONDS '%s' (want a number > 0)", s);
	return v;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
	    "usage: %s local_lat URL SIZE ROUNDTRIPS\n"
	    "       %s remote_lat URL SIZE ROUNDTRIPS\n"
	    "       %s local_thr URL SIZE COUNT\n"
	    "       %s remote_thr URL SIZE COUNT\n"
	    "       %s inproc_lat SIZE ROUNDTRIPS\n"
	    "       %s inproc_thr SIZE COUNT\n"
	    "       %s reqrep_bench URL CLIENTS SECONDS SIZE\n",
	    argv0, argv0, argv0, argv0, argv0, argv0, argv0);
}

int pc_main(int argc, char **argv, const struct pc_peer *peer)
{
	struct pc_args a;
	const char *prog;
	pc_prog_fn fn = NULL;
	int want;

	memset(&a, 0, sizeof(a));
	cur_lib = peer->lib;
	if (argc < 2) {
		usage(argv[0]);
		return 2;
	}
	prog = argv[1];
	cur_prog = prog;
	a.prog = prog;
	if (strcmp(prog, "local_lat") == 0)
		fn = peer->local_lat;
	else if (strcmp(prog, "remote_lat") == 0)
		fn = peer->remote_lat;
	else if (strcmp(prog, "local_thr") == 0)
		fn = peer->local_thr;
	else if (strcmp(prog, "remote_thr") == 0)
		fn = peer->remote_thr;
	else if (strcmp(prog, "inproc_lat") == 0)
		fn = peer->inproc_lat;
	else if (strcmp(prog, "inproc_thr") == 0)
		fn = peer->inproc_thr;
	else if (strcmp(prog, "reqrep_bench") == 0)
		fn = peer->reqrep_bench;
	if (fn == NULL) {
		usage(argv[0]);
		return 2;
	}

	if (strcmp(prog, "reqrep_bench") == 0)
		want = 6;
	else if (strncmp(prog, "inproc_", 7) == 0)
		want = 4;
	else
		want = 5;
	if (argc != want) {
		usage(argv[0]);
		return 2;
	}

	if (want == 6) {
		a.url = argv[2];
		a.clients = (unsigned)parse_u64("CLIENTS", argv[3], 1);
		if (a.clients > 1000000)
			pc_fail("too many clients: %u", a.clients);
		a.seconds = parse_secs(argv[4]);
		a.size = (size_t)parse_u64("SIZE", argv[5], 0);
	} else {
		int i = 2;
		if (want == 5)
			a.url = argv[i++];
		a.size = (size_t)parse_u64("SIZE", argv[i++], 0);
		a.count = parse_u64(strstr(prog, "_lat") ? "ROUNDTRIPS" : "COUNT", argv[i], 1);
	}
	return fn(&a);
}
