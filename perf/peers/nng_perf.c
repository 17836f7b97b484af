/* nng_perf.c: our perf programs (latency, throughput, concurrent req/rep) written against nng's
   public API, with the same arguments and output lines as ours, for `make bench` comparisons. */

/*
 * Shapes: latency uses PAIR1 (local echoes each message object back), throughput PUSH -> PULL
 * (remote sends a 0-byte sync message, then COUNT messages; local times from the sync message to
 * the last one), reqrep_bench one cooked REP socket served by min(CLIENTS, 1024) contexts with
 * async aios, and CLIENTS separate REQ sockets (one tcp/ipc connection each), each driven by
 * one aio on nng's own threads, with one request outstanding per client.
 *
 * nng 1.5.2 has no linger: closing a socket may drop messages still queued. So the sending side
 * that finishes first (remote_thr after its last message, local_lat after its last echo) waits
 * until its peer hangs up (a pipe-removed event) before closing; the peer hangs up only after
 * it has received everything. Receive size limits are off (NNG_OPT_RECVMAXSZ 0).
 */
#define _POSIX_C_SOURCE 200809L
#include "peer_common.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#define INPROC_LAT_URL "inproc://nng_perf_lat"
#define INPROC_THR_URL "inproc://nng_perf_thr"
#define HANGUP_WAIT_S 30

static void check(int rv, const char *what)
{
	if (rv != 0)
		pc_fail("%s: %s", what, nng_strerror(rv));
}

typedef int (*opener)(nng_socket *);

static nng_socket open_sock(opener fn)
{
	nng_socket s;
	check(fn(&s), "open");
	check(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 0), "set NNG_OPT_RECVMAXSZ");
	return s;
}

/* Listens on url; returns a malloc'd URL a dialer can use (tcp port 0 resolved). */
static char *listen_at(nng_socket s, const char *url)
{
	nng_listener l;
	nng_sockaddr sa;
	unsigned port = 0;
	check(nng_listen(s, url, &l, 0), url);
	if (!pc_url_has_port(url))
		return pc_url_with_port(url, 0);
	check(nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa), "get NNG_OPT_LOCADDR");
	if (sa.s_family == NNG_AF_INET)
		port = ntohs(sa.s_in.sa_port);
	else if (sa.s_family == NNG_AF_INET6)
		port = ntohs(sa.s_in6.sa_port);
	return pc_url_with_port(url, port);
}

/* Dials without waiting: the dialer retries in the background until the listener is up. */
static void dial_to(nng_socket s, const char *url)
{
	check(nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK), url);
}

static void send_buf(nng_socket s, const void *buf, size_t size)
{
	check(nng_send(s, (void *)buf, size, 0), "send");
}

static nng_msg *recv_msg(nng_socket s, size_t want)
{
	nng_msg *m;
	check(nng_recvmsg(s, &m, 0), "recv");
	if (nng_msg_len(m) != want)
		pc_fail("received %zu bytes, expected %zu", nng_msg_len(m), want);
	return m;
}

static void *alloc_buf(size_t size)
{
	void *buf = malloc(size ? size : 1);
	if (buf == NULL)
		pc_fail("out of memory");
	memset(buf, 'm', size);
	return buf;
}

/* ---- waiting for the peer to hang up ---- */

struct hangup {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int gone;
};

static void hangup_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct hangup *h = arg;
	pthread_mutex_lock(&h->mu);
	h->gone = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Must run before the socket listens or dials, so no removal goes unseen. */
static void hangup_watch(struct hangup *h, nng_socket s)
{
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->gone = 0;
	check(nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, hangup_cb, h), "nng_pipe_notify");
}

/* Blocks until a pipe of the socket was removed, or seconds pass. */
static void hangup_wait(struct hangup *h, int seconds)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&h->mu);
	while (!h->gone)
		if (pthread_cond_timedwait(&h->cv, &h->mu, &until) != 0)
			break;
	pthread_mutex_unlock(&h->mu);
}

/* ---- latency ---- */

static void echo_loop(nng_socket s, size_t size, uint64_t total)
{
	for (uint64_t i = 0; i < total; i++)
		check(nng_sendmsg(s, recv_msg(s, size), 0), "send");
}

/* Sends from a buffer and waits for each echo; returns the timed part's duration. */
static uint64_t ping_loop(nng_socket s, size_t size, uint64_t rt, struct pc_samples *rtt)
{
	void *buf = alloc_buf(size);
	uint64_t t0, t1, ts;
	for (uint64_t i = pc_warmup(rt); i > 0; i--) {
		send_buf(s, buf, size);
		nng_msg_free(recv_msg(s, size));
	}
	t0 = pc_now_ns();
	for (uint64_t i = 0; i < rt; i++) {
		ts = pc_now_ns();
		send_buf(s, buf, size);
		nng_msg_free(recv_msg(s, size));
		pc_samples_add(rtt, pc_now_ns() - ts);
	}
	t1 = pc_now_ns();
	free(buf);
	return t1 - t0;
}

static int nng_local_lat(const struct pc_args *a)
{
	struct hangup h;
	nng_socket s = open_sock(nng_pair1_open);
	char *bound;
	hangup_watch(&h, s);
	bound = listen_at(s, a->url);
	pc_print_bound(bound);
	echo_loop(s, a->size, pc_warmup(a->count) + a->count);
	hangup_wait(&h, HANGUP_WAIT_S);
	nng_close(s);
	free(bound);
	return 0;
}

static int nng_remote_lat(const struct pc_args *a)
{
	struct pc_samples rtt;
	nng_socket s = open_sock(nng_pair1_open);
	uint64_t total;
	pc_samples_init(&rtt, (size_t)a->count);
	dial_to(s, a->url);
	total = ping_loop(s, a->size, a->count, &rtt);
	pc_print_latency(total, a->count, &rtt);
	nng_close(s);
	pc_samples_free(&rtt);
	return 0;
}

struct echo_job {
	nng_socket s;
	size_t size;
	uint64_t total;
};

static void *echo_thread(void *arg)
{
	struct echo_job *j = arg;
	echo_loop(j->s, j->size, j->total);
	return NULL;
}

static int nng_inproc_lat(const struct pc_args *a)
{
	struct pc_samples rtt;
	struct echo_job job;
	pthread_t th;
	nng_socket srv = open_sock(nng_pair1_open), cli = open_sock(nng_pair1_open);
	uint64_t total;
	free(listen_at(srv, INPROC_LAT_URL));
	check(nng_dial(cli, INPROC_LAT_URL, NULL, 0), "dial");
	job.s = srv;
	job.size = a->size;
	job.total = pc_warmup(a->count) + a->count;
	if (pthread_create(&th, NULL, echo_thread, &job) != 0)
		pc_fail("pthread_create failed");
	pc_samples_init(&rtt, (size_t)a->count);
	total = ping_loop(cli, a->size, a->count, &rtt);
	pthread_join(th, NULL);
	pc_print_latency(total, a->count, &rtt);
	nng_close(cli);
	nng_close(srv);
	pc_samples_free(&rtt);
	return 0;
}

/* ---- throughput ---- */

/* Receives the sync message and COUNT messages, then prints the throughput line set. */
static void sink_loop(nng_socket s, size_t size, uint64_t count)
{
	uint64_t t0, t1, warm_after = count / 10;
	long warm_rss = warm_after == 0 ? pc_rss_kib() : -1;
	nng_msg_free(recv_msg(s, 0));
	t0 = pc_now_ns();
	for (uint64_t i = 1; i <= count; i++) {
		nng_msg_free(recv_msg(s, size));
		if (i == warm_after)
			warm_rss = pc_rss_kib();
	}
	t1 = pc_now_ns();
	pc_print_throughput(t1 - t0, count, size, pc_rss_kib(), warm_rss);
}

static void source_loop(nng_socket s, size_t size, uint64_t count)
{
	void *buf = alloc_buf(size);
	send_buf(s, buf, 0);
	for (uint64_t i = 0; i < count; i++)
		send_buf(s, buf, size);
	free(buf);
}

static int nng_local_thr(const struct pc_args *a)
{
	nng_socket s = open_sock(nng_pull0_open);
	char *bound = listen_at(s, a->url);
	pc_print_bound(bound);
	sink_loop(s, a->size, a->count);
	nng_close(s);
	free(bound);
	return 0;
}

static int nng_remote_thr(const struct pc_args *a)
{
	struct hangup h;
	nng_socket s = open_sock(nng_push0_open);
	hangup_watch(&h, s);
	dial_to(s, a->url);
	source_loop(s, a->size, a->count);
	/* No linger in nng: stay until local_thr has everything and hangs up. */
	hangup_wait(&h, HANGUP_WAIT_S);
	nng_close(s);
	return 0;
}

struct source_job {
	nng_socket s;
	size_t size;
	uint64_t count;
};

static void *source_thread(void *arg)
{
	struct source_job *j = arg;
	source_loop(j->s, j->size, j->count);
	return NULL;
}

static int nng_inproc_thr(const struct pc_args *a)
{
	struct source_job job;
	pthread_t th;
	nng_socket pull = open_sock(nng_pull0_open), push = open_sock(nng_push0_open);
	free(listen_at(pull, INPROC_THR_URL));
	check(nng_dial(push, INPROC_THR_URL, NULL, 0), "dial");
	job.s = push;
	job.size = a->size;
	job.count = a->count;
	if (pthread_create(&th, NULL, source_thread, &job) != 0)
		pc_fail("pthread_create failed");
	sink_loop(pull, a->size, a->count);
	pthread_join(th, NULL);
	nng_close(push);
	nng_close(pull);
	return 0;
}

/* ---- concurrent req/rep ---- */

enum { ST_SEND, ST_RECV };

struct rr_state {
	atomic_int stop;
	atomic_uint busy; /* clients whose request/reply chain has not ended yet */
};

struct rr_server_ctx {
	nng_ctx ctx;
	nng_aio *aio;
	int state;
};

struct rr_client {
	nng_socket s;
	nng_aio *aio;
	int state;
	uint64_t sent_at;
	uint64_t done;
	struct pc_samples lat;
	struct rr_state *rr;
	size_t size;
};

/* One REP context: receive a request, send it back as the reply, repeat until closed. */
static void server_cb(void *arg)
{
	struct rr_server_ctx *c = arg;
	if (nng_aio_result(c->aio) != 0) {
		if (c->state == ST_SEND)
			nng_msg_free(nng_aio_get_msg(c->aio));
		return;
	}
	if (c->state == ST_RECV) {
		c->state = ST_SEND;
		nng_aio_set_msg(c->aio, nng_aio_get_msg(c->aio));
		nng_ctx_send(c->ctx, c->aio);
	} else {
		c->state = ST_RECV;
		nng_ctx_recv(c->ctx, c->aio);
	}
}

static void client_send(struct rr_client *c, nng_msg *m)
{
	c->state = ST_SEND;
	c->sent_at = pc_now_ns();
	nng_aio_set_msg(c->aio, m);
	nng_send_aio(c->s, c->aio);
}

/* One client: send, wait for the reply, record its round trip, send again until stopped. */
static void client_cb(void *arg)
{
	struct rr_client *c = arg;
	nng_msg *m;
	uint64_t now;
	if (nng_aio_result(c->aio) != 0) {
		if (c->state == ST_SEND)
			nng_msg_free(nng_aio_get_msg(c->aio));
		atomic_fetch_sub(&c->rr->busy, 1);
		return;
	}
	if (c->state == ST_SEND) {
		c->state = ST_RECV;
		nng_recv_aio(c->s, c->aio);
		return;
	}
	now = pc_now_ns();
	m = nng_aio_get_msg(c->aio);
	if (atomic_load(&c->rr->stop)) {
		nng_msg_free(m);
		atomic_fetch_sub(&c->rr->busy, 1);
		return;
	}
	pc_samples_add(&c->lat, now - c->sent_at);
	c->done++;
	nng_msg_header_clear(m);
	if (nng_msg_len(m) != c->size)
		nng_msg_realloc(m, c->size);
	client_send(c, m);
}

static int nng_reqrep_bench(const struct pc_args *a)
{
	struct rr_state rr;
	struct rr_server_ctx *sc;
	struct rr_client *cl;
	struct pc_samples all;
	nng_socket srv = open_sock(nng_rep0_open);
	unsigned nserv = a->clients < 1024 ? a->clients : 1024;
	uint64_t t0, t1, done = 0;
	char *bound;

	atomic_init(&rr.stop, 0);
	atomic_init(&rr.busy, a->clients);
	bound = listen_at(srv, a->url);
	sc = calloc(nserv, sizeof(*sc));
	cl = calloc(a->clients, sizeof(*cl));
	if (sc == NULL || cl == NULL)
		pc_fail("out of memory");
	for (unsigned i = 0; i < nserv; i++) {
		check(nng_ctx_open(&sc[i].ctx, srv), "nng_ctx_open");
		check(nng_aio_alloc(&sc[i].aio, server_cb, &sc[i]), "nng_aio_alloc");
		sc[i].state = ST_RECV;
		nng_ctx_recv(sc[i].ctx, sc[i].aio);
	}
	/* Connect every client before the clock starts (a blocking dial returns once connected). */
	for (unsigned i = 0; i < a->clients; i++) {
		struct rr_client *c = &cl[i];
		c->s = open_sock(nng_req0_open);
		check(nng_dial(c->s, bound, NULL, 0), bound);
		check(nng_aio_alloc(&c->aio, client_cb, c), "nng_aio_alloc");
		c->rr = &rr;
		c->size = a->size;
		pc_samples_init(&c->lat, 1024);
	}

	t0 = pc_now_ns();
	for (unsigned i = 0; i < a->clients; i++) {
		nng_msg *m;
		check(nng_msg_alloc(&m, a->size), "nng_msg_alloc");
		memset(nng_msg_body(m), 'r', a->size);
		client_send(&cl[i], m);
	}
	pc_sleep_s(a->seconds);
	atomic_store(&rr.stop, 1);
	t1 = pc_now_ns();

	/* Let every outstanding request finish, then stop each aio (cancels what is pending and
	   waits for its callback) before closing: nng 1.5.2 can hang closing a socket that still
	   has an operation in flight. */
	for (int i = 0; i < 5000 && atomic_load(&rr.busy) > 0; i++)
		pc_sleep_s(0.001);
	for (unsigned i = 0; i < a->clients; i++)
		nng_aio_stop(cl[i].aio);
	for (unsigned i = 0; i < nserv; i++)
		nng_aio_stop(sc[i].aio);
	for (unsigned i = 0; i < a->clients; i++) {
		nng_close(cl[i].s);
		nng_aio_free(cl[i].aio);
	}
	for (unsigned i = 0; i < nserv; i++) {
		nng_ctx_close(sc[i].ctx);
		nng_aio_free(sc[i].aio);
	}
	nng_close(srv);

	pc_samples_init(&all, 1024);
	for (unsigned i = 0; i < a->clients; i++) {
		done += cl[i].done;
		pc_samples_merge(&all, &cl[i].lat);
		pc_samples_free(&cl[i].lat);
	}
	pc_print_reqrep(t1 - t0, done, &all);
	pc_samples_free(&all);
	free(cl);
	free(sc);
	free(bound);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct pc_peer peer = {
		.lib = "nng_perf",
		.local_lat = nng_local_lat,
		.remote_lat = nng_remote_lat,
		.local_thr = nng_local_thr,
		.remote_thr = nng_remote_thr,
		.inproc_lat = nng_inproc_lat,
		.inproc_thr = nng_inproc_thr,
		.reqrep_bench = nng_reqrep_bench,
	};
	return pc_main(argc, argv, &peer);
}
