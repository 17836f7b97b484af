/* perfutil.c: helpers shared by the perf programs: arguments, clocks, socket set-up, resident
 * memory, descriptor limits, percentiles and the latency/throughput loops with their output. */
#include "perfutil.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *program_name = "perf";

void perf_init(const char *program)
{
    program_name = program;
}

void perf_fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", program_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void perf_check(int rc, const char *what)
{
    if (rc != 0)
        perf_fail("%s: %s (%s)", what, msock_strerror(rc), msock_errname(rc));
}

/* ---- command line ---- */

void perf_args(int argc, char **argv, int want_args, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: %s %s", program_name, usage);
            exit(0);
        }
    }
    if (argc != want_args + 1) {
        fprintf(stderr, "usage: %s %s", program_name, usage);
        exit(2);
    }
}

uint64_t perf_parse_u64(const char *what, const char *text, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max)
        perf_fail("bad %s '%s': want an integer from %" PRIu64 " to %" PRIu64, what, text, min,
                  max);
    return (uint64_t)v;
}

double perf_parse_seconds(const char *what, const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v > 0) || v > 86400)
        perf_fail("bad %s '%s': want a number of seconds above 0", what, text);
    return v;
}

/* ---- clocks ---- */

uint64_t perf_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t perf_now_us(void)
{
    return perf_now_ns() / 1000u;
}

void perf_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- sockets ---- */

void perf_open(const char *proto, msock_socket *s)
{
    bool receives = true;
    int rc;
    if (strcmp(proto, "pair") == 0) {
        rc = msock_pair_open(s);
    } else if (strcmp(proto, "push") == 0) {
        rc = msock_push_open(s);
        receives = false;
    } else if (strcmp(proto, "pull") == 0) {
        rc = msock_pull_open(s);
    } else {
        perf_fail("unknown protocol '%s'", proto);
    }
    perf_check(rc, proto);
    if (receives)
        perf_check(msock_socket_set_size(*s, MSOCK_OPT_RECV_MAXSZ, 0), "receive max size");
    /* tls+tcp:// and wss:// runs: the certificate files come from the environment, as socket
     * options that every endpoint of the socket takes. */
    static const struct { const char *env; int opt; } tls_env[] = {
        {"PERF_TLS_CERT", MSOCK_OPT_TLS_CERT},
        {"PERF_TLS_KEY", MSOCK_OPT_TLS_KEY},
        {"PERF_TLS_CA", MSOCK_OPT_TLS_CA},
    };
    for (size_t i = 0; i < sizeof tls_env / sizeof tls_env[0]; i++) {
        const char *v = getenv(tls_env[i].env);
        if (v && *v)
            perf_check(msock_socket_set_string(*s, tls_env[i].opt, v), tls_env[i].env);
    }
}

void perf_listen(msock_socket s, const char *url, msock_listener *l, char *bound, size_t len)
{
    msock_listener tmp;
    size_t got = len;
    perf_check(msock_listen(s, url, &tmp, 0), url);
    perf_check(msock_listener_get_string(tmp, MSOCK_OPT_URL, bound, &got), "listener URL");
    if (got > len)
        perf_fail("bound URL longer than %zu bytes", len);
    if (l != NULL)
        *l = tmp;
}

void perf_announce_bound(const char *bound)
{
    fprintf(stderr, "bound: %s\n", bound);
    fflush(stderr);
}

/* One slot per dialing socket. The slots are static so that a late callback never touches
 * freed memory. */
typedef struct dial_waiter {
    uint32_t socket_id;
    int pipes_added;
} dial_waiter;

#define DIAL_WAITERS 16
static dial_waiter dial_waiters[DIAL_WAITERS];
static pthread_mutex_t dial_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dial_cond = PTHREAD_COND_INITIALIZER;

static void dial_added_cb(msock_pipe p, int event, void *arg)
{
    dial_waiter *w = arg;
    (void)p;
    (void)event;
    pthread_mutex_lock(&dial_mutex);
    w->pipes_added++;
    pthread_cond_broadcast(&dial_cond);
    pthread_mutex_unlock(&dial_mutex);
}

void perf_dial(msock_socket s, const char *url)
{
    dial_waiter *w = NULL;
    pthread_mutex_lock(&dial_mutex);
    for (int i = 0; i < DIAL_WAITERS && w == NULL; i++) {
        if (dial_waiters[i].socket_id == 0) {
            w = &dial_waiters[i];
            w->socket_id = msock_socket_id(s);
            w->pipes_added = 0;
        }
    }
    pthread_mutex_unlock(&dial_mutex);
    if (w == NULL)
        perf_fail("more than %d sockets dialing at once", DIAL_WAITERS);

    perf_check(msock_pipe_notify(s, MSOCK_PIPE_EV_ADD_POST, dial_added_cb, w), "pipe notify");
    /* The listener may start later; a short backoff cap keeps that from costing seconds. */
    perf_check(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MIN, 10), "reconnect min");
    perf_check(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MAX, 500), "reconnect max");
    perf_check(msock_dial(s, url, NULL, MSOCK_FLAG_NONBLOCK), url);

    /* A statically initialised condition variable waits on CLOCK_REALTIME. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += PERF_DIAL_TIMEOUT_MS / 1000;
    pthread_mutex_lock(&dial_mutex);
    int rc = 0;
    while (w->pipes_added == 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&dial_cond, &dial_mutex, &deadline);
    bool connected = w->pipes_added > 0;
    pthread_mutex_unlock(&dial_mutex);
    if (!connected)
        perf_fail("%s: no connection within %d s", url, PERF_DIAL_TIMEOUT_MS / 1000);
}

void perf_close(msock_socket s)
{
    uint32_t id = msock_socket_id(s);
    int rc = msock_close(s);
    if (rc != 0 && rc != MSOCK_ECLOSED)
        perf_check(rc, "close");
    pthread_mutex_lock(&dial_mutex);
    for (int i = 0; i < DIAL_WAITERS; i++)
        if (dial_waiters[i].socket_id == id)
            dial_waiters[i].socket_id = 0;
    pthread_mutex_unlock(&dial_mutex);
}

/* ---- resources ---- */

static long status_field_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t field_len = strlen(field);
    long kib = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, field, field_len) == 0 && line[field_len] == ':') {
            kib = strtol(line + field_len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

long perf_rss_kib(void)
{
    return status_field_kib("VmRSS");
}

long perf_rss_peak_kib(void)
{
    return status_field_kib("VmHWM");
}

uint64_t perf_raise_fd_limit(uint64_t need)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return 0;
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need) {
        struct rlimit want = lim;
        want.rlim_cur = need;
        if (want.rlim_max != RLIM_INFINITY && want.rlim_max < need)
            want.rlim_max = need;
        /* Raising the hard limit needs privilege; without it, the hard limit is the ceiling. */
        if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
            want = lim;
            want.rlim_cur = lim.rlim_max;
            setrlimit(RLIMIT_NOFILE, &want);
        }
        getrlimit(RLIMIT_NOFILE, &lim);
    }
    return lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)lim.rlim_cur;
}

/* ---- samples ---- */

void perf_samples_init(perf_samples *s, size_t expected)
{
    s->count = 0;
    s->sorted = true;
    s->capacity = expected > 16 ? expected : 16;
    s->values = malloc(s->capacity * sizeof(*s->values));
    if (s->values == NULL)
        perf_fail("out of memory for %zu samples", s->capacity);
}

static void samples_reserve(perf_samples *s, size_t need)
{
    size_t capacity = s->capacity;
    if (need <= capacity)
        return;
    while (capacity < need)
        capacity *= 2;
    uint64_t *grown = realloc(s->values, capacity * sizeof(*grown));
    if (grown == NULL)
        perf_fail("out of memory for %zu samples", capacity);
    s->values = grown;
    s->capacity = capacity;
}

void perf_samples_add(perf_samples *s, uint64_t ns)
{
    if (s->count == s->capacity)
        samples_reserve(s, s->count + 1);
    s->values[s->count++] = ns;
    s->sorted = false;
}

void perf_samples_merge(perf_samples *into, const perf_samples *from)
{
    if (from->count == 0)
        return;
    samples_reserve(into, into->count + from->count);
    memcpy(into->values + into->count, from->values, from->count * sizeof(*from->values));
    into->count += from->count;
    into->sorted = false;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t perf_samples_percentile(perf_samples *s, double p)
{
    if (s->count == 0)
        return 0;
    if (!s->sorted) {
        qsort(s->values, s->count, sizeof(*s->values), compare_u64);
        s->sorted = true;
    }
    double exact = p * (double)s->count;
    size_t rank = (size_t)exact;
    if ((double)rank < exact)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > s->count)
        rank = s->count;
    return s->values[rank - 1];
}

uint64_t perf_samples_max(const perf_samples *s)
{
    uint64_t max = 0;
    for (size_t i = 0; i < s->count; i++)
        if (s->values[i] > max)
            max = s->values[i];
    return max;
}

void perf_samples_free(perf_samples *s)
{
    free(s->values);
    s->values = NULL;
    s->count = s->capacity = 0;
}

/* ---- latency ---- */

uint64_t perf_warmup_roundtrips(uint64_t roundtrips)
{
    return roundtrips / 10 < 1000 ? roundtrips / 10 : 1000;
}

static msock_msg *receive_sized(msock_socket s, size_t size)
{
    msock_msg *m;
    perf_check(msock_recvmsg(s, &m, 0), "receive");
    if (msock_msg_len(m) != size)
        perf_fail("received %zu bytes, want %zu", msock_msg_len(m), size);
    return m;
}

static void send_or_fail(msock_socket s, msock_msg *m)
{
    int rc = msock_sendmsg(s, m, 0);
    if (rc != 0) {
        msock_msg_free(m);
        perf_check(rc, "send");
    }
}

uint64_t perf_lat_ping(msock_socket s, size_t size, uint64_t roundtrips, perf_samples *rtt)
{
    msock_msg *m;
    uint64_t warmup = perf_warmup_roundtrips(roundtrips);
    perf_samples_init(rtt, (size_t)roundtrips);
    perf_check(msock_msg_alloc(&m, size), "message");
    memset(msock_msg_body(m), 'l', size);
    /* The echo comes back the same size, so each answer carries the next question. */
    for (uint64_t i = 0; i < warmup; i++) {
        send_or_fail(s, m);
        m = receive_sized(s, size);
    }
    uint64_t start = perf_now_ns(), before = start;
    for (uint64_t i = 0; i < roundtrips; i++) {
        send_or_fail(s, m);
        m = receive_sized(s, size);
        uint64_t after = perf_now_ns();
        perf_samples_add(rtt, after - before);
        before = after;
    }
    msock_msg_free(m);
    return before - start;
}

void perf_lat_echo(msock_socket s, size_t size, uint64_t messages)
{
    for (uint64_t i = 0; i < messages; i++)
        send_or_fail(s, receive_sized(s, size));
}

void perf_print_latency(uint64_t total_ns, uint64_t roundtrips, perf_samples *rtt)
{
    double average_us = (double)total_ns / 1e3 / (2.0 * (double)roundtrips);
    printf("average latency: %.3f [us]\n", average_us);
    printf("p50 latency: %.3f [us]\n", (double)perf_samples_percentile(rtt, 0.50) / 2e3);
    printf("p99 latency: %.3f [us]\n", (double)perf_samples_percentile(rtt, 0.99) / 2e3);
    fflush(stdout);
}

/* ---- throughput ---- */

void perf_thr_send(msock_socket s, size_t size, uint64_t count)
{
    char *payload = malloc(size > 0 ? size : 1);
    if (payload == NULL)
        perf_fail("out of memory for a %zu-byte message", size);
    memset(payload, 't', size);
    perf_check(msock_send(s, "", 0, 0), "send start marker");
    for (uint64_t i = 0; i < count; i++)
        perf_check(msock_send(s, payload, size, 0), "send");
    free(payload);
}

void perf_thr_receive(msock_socket s, size_t size, uint64_t count)
{
    msock_msg *m;
    /* The marker's size is not checked: it only starts the clock. */
    perf_check(msock_recvmsg(s, &m, 0), "receive start marker");
    msock_msg_free(m);
    uint64_t warm_after = count / 10;
    long warm_rss = warm_after == 0 ? perf_rss_kib() : -1;
    uint64_t start = perf_now_ns();
    for (uint64_t i = 1; i <= count; i++) {
        msock_msg_free(receive_sized(s, size));
        if (i == warm_after)
            warm_rss = perf_rss_kib();
    }
    uint64_t elapsed = perf_now_ns() - start;
    long end_rss = perf_rss_kib();

    double seconds = (double)elapsed / 1e9;
    double per_second = seconds > 0 ? (double)count / seconds : 0;
    printf("message size: %zu [B]\n", size);
    printf("message count: %" PRIu64 "\n", count);
    printf("mean throughput: %.0f [msg/s]\n", per_second);
    printf("mean throughput: %.3f [Mb/s]\n", per_second * (double)size * 8.0 / 1e6);
    printf("rss: %ld [KiB]\n", end_rss);
    printf("rss growth after warm-up: %ld [KiB]\n", end_rss - warm_rss);
    fflush(stdout);
}
