/* zmq_perf.c: our perf programs (latency, throughput, concurrent req/rep) written against
   libzmq's public API, with the same arguments and output lines as ours, for `make bench`. */

/*
 * Shapes: latency uses ZMQ_PAIR (local echoes each zmq_msg_t back), throughput ZMQ_PUSH ->
 * ZMQ_PULL (remote sends a 0-byte sync message, then COUNT messages; local times from the sync
 * message to the last one). Senders send from a buffer (zmq_send copies), receivers take
 * zmq_msg_t without a copy. Default linger (-1) makes zmq_ctx_term wait until queued messages
 * are delivered, so no sender exits early. ZMQ_MAXMSGSIZE is -1 (no receive limit).
 *
 * reqrep_bench: one ZMQ_REP socket served by one thread (the shape in ANCHORS.md: "one REP
 * thread"; requests from all clients queue in its pipes and are answered one at a time, as a
 * single-threaded ROUTER would), in its own context; CLIENTS ZMQ_REQ sockets in a second context,
 * split over two client threads that drive them with zmq_poll, one request outstanding each.
 * Every client does one untimed round trip first, so all connections exist when the clock starts.
 */
#define _POSIX_C_SOURCE 200809L
#include "peer_common.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#define INPROC_LAT_URL "inproc://zmq_perf_lat"
#define INPROC_THR_URL "inproc://zmq_perf_thr"
#ifndef RR_THREADS
#define RR_THREADS 2
#endif

static void check(int rc, const char *what)
{
	if (rc < 0)
		pc_fail("%s: %s", what, zmq_strerror(zmq_errno()));
}

static void *new_ctx(void)
{
	void *ctx = zmq_ctx_new();
	if (ctx == NULL)
		pc_fail("zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
	return ctx;
}

static void *open_sock(void *ctx, int type)
{
	int64_t nolimit = -1;
	void *s = zmq_socket(ctx, type);
	if (s == NULL)
		pc_fail("zmq_socket: %s", zmq_strerror(zmq_errno()));
	check(zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &nolimit, sizeof(nolimit)), "ZMQ_MAXMSGSIZE");
	return s;
}

/* Binds url (tcp port 0 means any free port); returns a malloc'd URL a peer can connect to. */
static char *bind_to(void *s, const char *url)
{
	char ep[1024];
	size_t len = sizeof(ep);
	char *u = strdup(url), *out;
	size_t n = strlen(url);
	if (u == NULL)
		pc_fail("out of memory");
	/* libzmq spells "any port" '*'; our URLs say 0. */
	if (pc_url_has_port(url) && n >= 2 && strcmp(url + n - 2, ":0") == 0)
		u[n - 1] = '*';
	check(zmq_bind(s, u), u);
	free(u);
	check(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len), "ZMQ_LAST_ENDPOINT");
	out = strdup(ep);
	if (out == NULL)
		pc_fail("out of memory");
	return out;
}

static void *alloc_buf(size_t size)
{
	void *buf = malloc(size ? size : 1);
	if (buf == NULL)
		pc_fail("out of memory");
	memset(buf, 'm', size);
	return buf;
}

static void send_buf(void *s, const void *buf, size_t size)
{
	int rc;
	do
		rc = zmq_send(s, buf, size, 0);
	while (rc < 0 && zmq_errno() == EINTR);
	check(rc, "zmq_send");
}

/* Receives into m (an initialised zmq_msg_t) and checks the size. */
static void recv_msg(void *s, zmq_msg_t *m, size_t want)
{
	int rc;
	do
		rc = zmq_msg_recv(m, s, 0);
	while (rc < 0 && zmq_errno() == EINTR);
	check(rc, "zmq_msg_recv");
	if (zmq_msg_size(m) != want)
		pc_fail("received %zu bytes, expected %zu", zmq_msg_size(m), want);
}

/* ---- latency ---- */

static void echo_loop(void *s, size_t size, uint64_t total)
{
	zmq_msg_t m;
	zmq_msg_init(&m);
	for (uint64_t i = 0; i < total; i++) {
		recv_msg(s, &m, size);
		check(zmq_msg_send(&m, s, 0), "zmq_msg_send");
	}
	zmq_msg_close(&m);
}

static uint64_t ping_loop(void *s, size_t size, uint64_t rt, struct pc_samples *rtt)
{
	void *buf = alloc_buf(size);
	uint64_t t0, t1, ts;
	zmq_msg_t m;
	zmq_msg_init(&m);
	for (uint64_t i = pc_warmup(rt); i > 0; i--) {
		send_buf(s, buf, size);
		recv_msg(s, &m, size);
	}
	t0 = pc_now_ns();
	for (uint64_t i = 0; i < rt; i++) {
		ts = pc_now_ns();
		send_buf(s, buf, size);
		recv_msg(s, &m, size);
		pc_samples_add(rtt, pc_now_ns() - ts);
	}
	t1 = pc_now_ns();
	zmq_msg_close(&m);
	free(buf);
	return t1 - t0;
}

static int zmq_local_lat(const struct pc_args *a)
{
	void *ctx = new_ctx(), *s = open_sock(ctx, ZMQ_PAIR);
	char *bound = bind_to(s, a->url);
	pc_print_bound(bound);
	echo_loop(s, a->size, pc_warmup(a->count) + a->count);
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(bound);
	return 0;
}

static int zmq_remote_lat(const struct pc_args *a)
{
	struct pc_samples rtt;
	void *ctx = new_ctx(), *s = open_sock(ctx, ZMQ_PAIR);
	uint64_t total;
	check(zmq_connect(s, a->url), a->url);
	pc_samples_init(&rtt, (size_t)a->count);
	total = ping_loop(s, a->size, a->count, &rtt);
	pc_print_latency(total, a->count, &rtt);
	zmq_close(s);
	zmq_ctx_term(ctx);
	pc_samples_free(&rtt);
	return 0;
}

struct job {
	void *s;
	size_t size;
	uint64_t n;
};

static void *echo_thread(void *arg)
{
	struct job *j = arg;
	echo_loop(j->s, j->size, j->n);
	return NULL;
}

static int zmq_inproc_lat(const struct pc_args *a)
{
	struct pc_samples rtt;
	struct job job;
	pthread_t th;
	void *ctx = new_ctx();
	void *srv = open_sock(ctx, ZMQ_PAIR), *cli = open_sock(ctx, ZMQ_PAIR);
	uint64_t total;
	free(bind_to(srv, INPROC_LAT_URL));
	check(zmq_connect(cli, INPROC_LAT_URL), "zmq_connect");
	job.s = srv;
	job.size = a->size;
	job.n = pc_warmup(a->count) + a->count;
	if (pthread_create(&th, NULL, echo_thread, &job) != 0)
		pc_fail("pthread_create failed");
	pc_samples_init(&rtt, (size_t)a->count);
	total = ping_loop(cli, a->size, a->count, &rtt);
	pthread_join(th, NULL);
	pc_print_latency(total, a->count, &rtt);
	zmq_close(cli);
	zmq_close(srv);
	zmq_ctx_term(ctx);
	pc_samples_free(&rtt);
	return 0;
}

/* ---- throughput ---- */

/* Receives the sync message and COUNT messages, then prints the throughput line set. */
static void sink_loop(void *s, size_t size, uint64_t count)
{
	zmq_msg_t m;
	uint64_t t0, t1, warm_after = count / 10;
	long warm_rss = warm_after == 0 ? pc_rss_kib() : -1;
	zmq_msg_init(&m);
	recv_msg(s, &m, 0);
	t0 = pc_now_ns();
	for (uint64_t i = 1; i <= count; i++) {
		recv_msg(s, &m, size);
		if (i == warm_after)
			warm_rss = pc_rss_kib();
	}
	t1 = pc_now_ns();
	zmq_msg_close(&m);
	pc_print_throughput(t1 - t0, count, size, pc_rss_kib(), warm_rss);
}

static void source_loop(void *s, size_t size, uint64_t count)
{
	void *buf = alloc_buf(size);
	send_buf(s, buf, 0);
	for (uint64_t i = 0; i < count; i++)
		send_buf(s, buf, size);
	free(buf);
}

static int zmq_local_thr(const struct pc_args *a)
{
	void *ctx = new_ctx(), *s = open_sock(ctx, ZMQ_PULL);
	char *bound = bind_to(s, a->url);
	pc_print_bound(bound);
	sink_loop(s, a->size, a->count);
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(bound);
	return 0;
}

static int zmq_remote_thr(const struct pc_args *a)
{
	void *ctx = new_ctx(), *s = open_sock(ctx, ZMQ_PUSH);
	check(zmq_connect(s, a->url), a->url);
	source_loop(s, a->size, a->count);
	zmq_close(s);
	zmq_ctx_term(ctx); /* lingers until every message is delivered */
	return 0;
}

static void *source_thread(void *arg)
{
	struct job *j = arg;
	source_loop(j->s, j->size, j->n);
	return NULL;
}

static int zmq_inproc_thr(const struct pc_args *a)
{
	struct job job;
	pthread_t th;
	void *ctx = new_ctx();
	void *pull = open_sock(ctx, ZMQ_PULL), *push = open_sock(ctx, ZMQ_PUSH);
	free(bind_to(pull, INPROC_THR_URL));
	check(zmq_connect(push, INPROC_THR_URL), "zmq_connect");
	job.s = push;
	job.size = a->size;
	job.n = a->count;
	if (pthread_create(&th, NULL, source_thread, &job) != 0)
		pc_fail("pthread_create failed");
	sink_loop(pull, a->size, a->count);
	pthread_join(th, NULL);
	zmq_close(push);
	zmq_close(pull);
	zmq_ctx_term(ctx);
	return 0;
}

/* ---- concurrent req/rep ---- */

struct rr_shared {
	atomic_uint primed;   /* client threads whose sockets all finished one round trip */
	atomic_int go, stop;
	const char *url;
	size_t size;
	void *ctx;
};

struct rr_thread {
	struct rr_shared *sh;
	unsigned n;           /* REQ sockets this thread drives */
	uint64_t done;
	struct pc_samples lat;
	pthread_t th;
};

/* The server: answer each request with itself until the context is shut down. */
static void *server_thread(void *arg)
{
	void *s = arg;
	zmq_msg_t m;
	zmq_msg_init(&m);
	for (;;) {
		if (zmq_msg_recv(&m, s, 0) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			break; /* ETERM */
		}
		if (zmq_msg_send(&m, s, 0) < 0 && zmq_errno() != EINTR)
			break;
	}
	zmq_msg_close(&m);
	zmq_close(s);
	return NULL;
}

/* Receives every ready reply; sends the next request on the socket unless resend is 0. */
static unsigned rr_reap(zmq_pollitem_t *items, uint64_t *sent_at, unsigned n, const void *buf,
    size_t size, int counting, int resend, struct rr_thread *t)
{
	zmq_msg_t m;
	unsigned got = 0;
	zmq_msg_init(&m);
	for (unsigned i = 0; i < n; i++) {
		if (!(items[i].revents & ZMQ_POLLIN))
			continue;
		if (zmq_msg_recv(&m, items[i].socket, ZMQ_DONTWAIT) < 0) {
			if (zmq_errno() == EAGAIN || zmq_errno() == EINTR)
				continue;
			pc_fail("zmq_msg_recv: %s", zmq_strerror(zmq_errno()));
		}
		got++;
		if (counting) {
			pc_samples_add(&t->lat, pc_now_ns() - sent_at[i]);
			t->done++;
		}
		if (resend) {
			sent_at[i] = pc_now_ns();
			send_buf(items[i].socket, buf, size);
		} else {
			items[i].events = 0;
		}
	}
	zmq_msg_close(&m);
	return got;
}

static void *client_thread(void *arg)
{
	struct rr_thread *t = arg;
	struct rr_shared *sh = t->sh;
	zmq_pollitem_t *items = calloc(t->n, sizeof(*items));
	uint64_t *sent_at = calloc(t->n, sizeof(*sent_at));
	void *buf = alloc_buf(sh->size);
	unsigned pending;
	int linger = 0;
	uint64_t deadline;

	if (items == NULL || sent_at == NULL)
		pc_fail("out of memory");
	for (unsigned i = 0; i < t->n; i++) {
		items[i].socket = open_sock(sh->ctx, ZMQ_REQ);
		check(zmq_setsockopt(items[i].socket, ZMQ_LINGER, &linger, sizeof(linger)),
		    "ZMQ_LINGER");
		check(zmq_connect(items[i].socket, sh->url), sh->url);
		items[i].events = ZMQ_POLLIN;
	}

	/* Untimed priming round trip on every socket: all connections are up before the clock. */
	for (unsigned i = 0; i < t->n; i++)
		send_buf(items[i].socket, buf, sh->size);
	deadline = pc_now_ns() + 30000000000ull;
	for (pending = t->n; pending > 0;) {
		if (pc_now_ns() > deadline)
			pc_fail("clients could not connect to %s", sh->url);
		if (zmq_poll(items, (int)t->n, 100) < 0 && zmq_errno() != EINTR)
			pc_fail("zmq_poll: %s", zmq_strerror(zmq_errno()));
		pending -= rr_reap(items, sent_at, t->n, buf, sh->size, 0, 0, t);
	}
	atomic_fetch_add(&sh->primed, 1);
	while (!atomic_load(&sh->go))
		pc_sleep_s(0.0002);

	for (unsigned i = 0; i < t->n; i++) {
		items[i].events = ZMQ_POLLIN;
		sent_at[i] = pc_now_ns();
		send_buf(items[i].socket, buf, sh->size);
	}
	/* Run until stopped, then collect the replies still in flight (uncounted). */
	for (pending = t->n; pending > 0;) {
		int stopping = atomic_load(&sh->stop);
		if (zmq_poll(items, (int)t->n, stopping ? 10 : 100) < 0 && zmq_errno() != EINTR)
			pc_fail("zmq_poll: %s", zmq_strerror(zmq_errno()));
		if (stopping) {
			pending -= rr_reap(items, sent_at, t->n, buf, sh->size, 0, 0, t);
			if (pc_now_ns() > deadline)
				break;
		} else {
			rr_reap(items, sent_at, t->n, buf, sh->size, 1, 1, t);
			deadline = pc_now_ns() + 5000000000ull;
		}
	}
	for (unsigned i = 0; i < t->n; i++)
		zmq_close(items[i].socket);
	free(buf);
	free(sent_at);
	free(items);
	return NULL;
}

static int zmq_reqrep_bench(const struct pc_args *a)
{
	struct rr_shared sh;
	struct rr_thread th[RR_THREADS];
	struct pc_samples all;
	unsigned nth = a->clients < RR_THREADS ? a->clients : RR_THREADS;
	void *sctx = new_ctx(), *srv;
	pthread_t sth;
	int backlog = 1024;
	uint64_t t0, t1, done = 0;
	char *bound;

	check(zmq_ctx_set(sctx, ZMQ_MAX_SOCKETS, (int)a->clients + 64), "ZMQ_MAX_SOCKETS");
	srv = open_sock(sctx, ZMQ_REP);
	check(zmq_setsockopt(srv, ZMQ_BACKLOG, &backlog, sizeof(backlog)), "ZMQ_BACKLOG");
	bound = bind_to(srv, a->url);
	if (pthread_create(&sth, NULL, server_thread, srv) != 0)
		pc_fail("pthread_create failed");

	memset(&sh, 0, sizeof(sh));
	atomic_init(&sh.primed, 0);
	atomic_init(&sh.go, 0);
	atomic_init(&sh.stop, 0);
	sh.url = bound;
	sh.size = a->size;
	/* inproc endpoints exist only inside one context; elsewhere the clients get their own. */
	if (strncmp(bound, "inproc://", 9) == 0) {
		sh.ctx = sctx;
	} else {
		sh.ctx = new_ctx();
		check(zmq_ctx_set(sh.ctx, ZMQ_MAX_SOCKETS, (int)a->clients + 64),
		    "ZMQ_MAX_SOCKETS");
	}
	for (unsigned i = 0; i < nth; i++) {
		th[i].sh = &sh;
		th[i].n = a->clients / nth + (i < a->clients % nth);
		th[i].done = 0;
		pc_samples_init(&th[i].lat, 4096);
		if (pthread_create(&th[i].th, NULL, client_thread, &th[i]) != 0)
			pc_fail("pthread_create failed");
	}
	while (atomic_load(&sh.primed) < nth)
		pc_sleep_s(0.001);

	t0 = pc_now_ns();
	atomic_store(&sh.go, 1);
	pc_sleep_s(a->seconds);
	atomic_store(&sh.stop, 1);
	t1 = pc_now_ns();
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i].th, NULL);
	if (sh.ctx != sctx)
		zmq_ctx_term(sh.ctx);
	zmq_ctx_shutdown(sctx); /* wakes the server thread with ETERM */
	pthread_join(sth, NULL);
	zmq_ctx_term(sctx);

	pc_samples_init(&all, 4096);
	for (unsigned i = 0; i < nth; i++) {
		done += th[i].done;
		pc_samples_merge(&all, &th[i].lat);
		pc_samples_free(&th[i].lat);
	}
	pc_print_reqrep(t1 - t0, done, &all);
	pc_samples_free(&all);
	free(bound);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct pc_peer peer = {
		.lib = "zmq_perf",
		.local_lat = zmq_local_lat,
		.remote_lat = zmq_remote_lat,
		.local_thr = zmq_local_thr,
		.remote_thr = zmq_remote_thr,
		.inproc_lat = zmq_inproc_lat,
		.inproc_thr = zmq_inproc_thr,
		.reqrep_bench = zmq_reqrep_bench,
	};
	return pc_main(argc, argv, &peer);
}
