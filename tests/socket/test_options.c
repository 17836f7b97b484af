/* test_options.c: every option of msock.h on the sockets, dialers and listeners it applies to:
 * documented defaults, typed round trips, type/read-only/range errors and inheritance. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define MIB ((int64_t)1024 * 1024)

enum otype { T_INT, T_BOOL, T_MS, T_SIZE, T_STRING, T_COUNT };
static const char *const type_names[T_COUNT] = {"int", "bool", "ms", "size", "string"};

enum { ON_SOCKET = 1, ON_DIALER = 2, ON_LISTENER = 4 };

/* One option as msock.h documents it. Numbers are kept in int64_t whatever the type. */
typedef struct optdef {
    int opt;
    const char *name;
    int type;
    int where;
    bool readonly;
    bool has_default;
    int64_t def;
    int64_t sample; /* a valid value other than the default */
    bool has_invalid;
    int64_t invalid;
} optdef;

#define OPT(o) MSOCK_OPT_##o, #o
static const optdef options[] = {
    {OPT(SEND_TIMEOUT), T_MS, ON_SOCKET, false, true, -1, 1234, true, -2},
    {OPT(RECV_TIMEOUT), T_MS, ON_SOCKET, false, true, -1, 2345, true, -2},
    {OPT(RECV_MAXSZ), T_SIZE, ON_SOCKET | ON_DIALER | ON_LISTENER, false, true, MIB, 5000, false,
     0},
    {OPT(RECONNECT_MIN), T_MS, ON_SOCKET | ON_DIALER, false, true, 100, 250, true, -1},
    {OPT(RECONNECT_MAX), T_MS, ON_SOCKET | ON_DIALER, false, true, 30000, 0, true, -1},
    {OPT(SEND_QUEUE_MSGS), T_INT, ON_SOCKET, false, true, 8192, 16, true, -1},
    {OPT(SEND_QUEUE_BYTES), T_SIZE, ON_SOCKET, false, true, 4 * MIB, 65536, false, 0},
    {OPT(RECV_QUEUE_MSGS), T_INT, ON_SOCKET, false, true, 8192, 32, true, -1},
    {OPT(RECV_QUEUE_BYTES), T_SIZE, ON_SOCKET, false, true, 4 * MIB, 131072, false, 0},
    {OPT(LINGER), T_MS, ON_SOCKET, false, true, 1000, 0, true, -2},
    {OPT(TCP_NODELAY), T_BOOL, ON_SOCKET | ON_DIALER | ON_LISTENER, false, true, 1, 0, false, 0},
    {OPT(TCP_KEEPALIVE), T_BOOL, ON_SOCKET | ON_DIALER | ON_LISTENER, false, true, 0, 1, false, 0},
    {OPT(IPC_PERMISSIONS), T_INT, ON_LISTENER, false, true, 0, 0600, true, -1},
    {OPT(HANDSHAKE_TIMEOUT), T_MS, ON_SOCKET | ON_DIALER | ON_LISTENER, false, true, 10000, 500,
     true, -1},
    {OPT(MAX_PIPES), T_INT, ON_SOCKET, false, true, 0, 3, true, -1},
    {OPT(URL), T_STRING, ON_DIALER | ON_LISTENER, true, false, 0, 0, false, 0},
    {OPT(PROTOCOL), T_INT, ON_SOCKET, true, true, MSOCK_PROTO_PUSH, 0, false, 0},
    {OPT(PEER), T_INT, ON_SOCKET, true, true, MSOCK_PROTO_PULL, 0, false, 0},
    {OPT(PROTOCOL_NAME), T_STRING, ON_SOCKET, true, false, 0, 0, false, 0},
    {OPT(PEER_NAME), T_STRING, ON_SOCKET, true, false, 0, 0, false, 0},
    {OPT(SEND_FD), T_INT, ON_SOCKET, true, false, 0, 0, false, 0},
    {OPT(SOCKET_NAME), T_STRING, ON_SOCKET, false, false, 0, 0, false, 0},
    {OPT(MAX_CONNS), T_INT, ON_SOCKET | ON_LISTENER, false, true, 0, 5, true, -1},
    {OPT(WS_ORIGINS), T_STRING, ON_SOCKET | ON_LISTENER, false, false, 0, 0, false, 0},
    {OPT(WS_PING_INTERVAL), T_MS, ON_SOCKET | ON_DIALER | ON_LISTENER, false, true, 30000, 100,
     true, -1},
    {OPT(WS_PING_TIMEOUT), T_MS, ON_SOCKET | ON_DIALER | ON_LISTENER, false, true, 0, 500, true,
     -1},
    {OPT(WS_HTTP_DIR), T_STRING, ON_LISTENER, false, false, 0, 0, false, 0},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))
/* RECV_FD is tested on its own: the push socket used for the table has no receive side. */

/* A socket, dialer or listener behind one set of typed calls. */
typedef struct obj {
    int kind;
    msock_socket s;
    msock_dialer d;
    msock_listener l;
} obj;

/* Returned when an object kind has no setter of a type (dialers have no set_string). */
#define NO_SUCH_CALL 1

static int obj_set(const obj *o, int opt, int type, int64_t v, const char *str)
{
    switch (o->kind) {
    case ON_SOCKET:
        switch (type) {
        case T_INT: return msock_socket_set_int(o->s, opt, (int)v);
        case T_BOOL: return msock_socket_set_bool(o->s, opt, v != 0);
        case T_MS: return msock_socket_set_ms(o->s, opt, v);
        case T_SIZE: return msock_socket_set_size(o->s, opt, (size_t)v);
        default: return msock_socket_set_string(o->s, opt, str);
        }
    case ON_DIALER:
        switch (type) {
        case T_INT: return msock_dialer_set_int(o->d, opt, (int)v);
        case T_BOOL: return msock_dialer_set_bool(o->d, opt, v != 0);
        case T_MS: return msock_dialer_set_ms(o->d, opt, v);
        case T_SIZE: return msock_dialer_set_size(o->d, opt, (size_t)v);
        default: return NO_SUCH_CALL;
        }
    default:
        switch (type) {
        case T_INT: return msock_listener_set_int(o->l, opt, (int)v);
        case T_BOOL: return msock_listener_set_bool(o->l, opt, v != 0);
        case T_MS: return msock_listener_set_ms(o->l, opt, v);
        case T_SIZE: return msock_listener_set_size(o->l, opt, (size_t)v);
        default: return msock_listener_set_string(o->l, opt, str);
        }
    }
}

static int obj_get(const obj *o, int opt, int type, int64_t *v, char *buf, size_t *len)
{
    int i = 0, rc;
    bool b = false;
    size_t z = 0;
    switch (type) {
    case T_INT:
        rc = o->kind == ON_SOCKET   ? msock_socket_get_int(o->s, opt, &i)
             : o->kind == ON_DIALER ? msock_dialer_get_int(o->d, opt, &i)
                                    : msock_listener_get_int(o->l, opt, &i);
        *v = i;
        return rc;
    case T_BOOL:
        rc = o->kind == ON_SOCKET   ? msock_socket_get_bool(o->s, opt, &b)
             : o->kind == ON_DIALER ? msock_dialer_get_bool(o->d, opt, &b)
                                    : msock_listener_get_bool(o->l, opt, &b);
        *v = b;
        return rc;
    case T_MS:
        return o->kind == ON_SOCKET   ? msock_socket_get_ms(o->s, opt, v)
               : o->kind == ON_DIALER ? msock_dialer_get_ms(o->d, opt, v)
                                      : msock_listener_get_ms(o->l, opt, v);
    case T_SIZE:
        rc = o->kind == ON_SOCKET   ? msock_socket_get_size(o->s, opt, &z)
             : o->kind == ON_DIALER ? msock_dialer_get_size(o->d, opt, &z)
                                    : msock_listener_get_size(o->l, opt, &z);
        *v = (int64_t)z;
        return rc;
    default:
        return o->kind == ON_SOCKET   ? msock_socket_get_string(o->s, opt, buf, len)
               : o->kind == ON_DIALER ? msock_dialer_get_string(o->d, opt, buf, len)
                                      : msock_listener_get_string(o->l, opt, buf, len);
    }
}

static const char *kind_name(int kind)
{
    return kind == ON_SOCKET ? "socket" : kind == ON_DIALER ? "dialer" : "listener";
}

/* A fresh push socket with a (not started) tcp dialer and tcp listener, and an ipc listener for
 * the ipc-only option. */
typedef struct fixture {
    obj sock, dialer, tcp_listener, ipc_listener;
} fixture;

static void fixture_open(fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->sock.kind = ON_SOCKET;
    TU_OK(msock_push_open(&f->sock.s));
    f->dialer = (obj){.kind = ON_DIALER, .s = f->sock.s};
    TU_OK(msock_dialer_create(&f->dialer.d, f->sock.s, "tcp://127.0.0.1:1"));
    f->tcp_listener = (obj){.kind = ON_LISTENER, .s = f->sock.s};
    TU_OK(msock_listener_create(&f->tcp_listener.l, f->sock.s, "tcp://127.0.0.1:0"));
    char url[TU_URL_MAX];
    tu_any_url(TU_IPC, url, sizeof(url));
    f->ipc_listener = (obj){.kind = ON_LISTENER, .s = f->sock.s};
    TU_OK(msock_listener_create(&f->ipc_listener.l, f->sock.s, url));
}

static void fixture_close(fixture *f)
{
    TU_OK(msock_close(f->sock.s));
}

static const obj *fixture_obj(const fixture *f, int kind, int opt)
{
    if (kind == ON_SOCKET)
        return &f->sock;
    if (kind == ON_DIALER)
        return &f->dialer;
    return opt == MSOCK_OPT_IPC_PERMISSIONS ? &f->ipc_listener : &f->tcp_listener;
}

static void test_defaults(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const optdef *od = &options[i];
        for (int kind = ON_SOCKET; kind <= ON_LISTENER; kind <<= 1) {
            if (!(od->where & kind) || !od->has_default)
                continue;
            int64_t v = -12345;
            int rc = obj_get(fixture_obj(&f, kind, od->opt), od->opt, od->type, &v, NULL, NULL);
            if (rc != 0)
                fail_msg("%s on a %s: get gives %s", od->name, kind_name(kind), tu_errname(rc));
            if (v != od->def)
                fail_msg("%s on a %s: default %lld, documented %lld", od->name, kind_name(kind),
                         (long long)v, (long long)od->def);
        }
    }
    fixture_close(&f);
}

/* The protocol options msock.h documents, on the protocols that have them. */
static void test_protocol_defaults(void **state)
{
    (void)state;
    static const struct {
        int (*open)(msock_socket *);
        const char *name;
        int maxttl;      /* 0: the protocol has no MSOCK_OPT_MAXTTL */
        int64_t resend;  /* 0: no MSOCK_OPT_REQ_RESEND_TIME */
        int64_t survey;  /* 0: no MSOCK_OPT_SURVEY_TIME */
    } protos[] = {
        {msock_req_open, "req", 8, 60000, 0},
        {msock_rep_open, "rep", 8, 0, 0},
        {msock_surveyor_open, "surveyor", 8, 0, 1000},
        {msock_respondent_open, "respondent", 8, 0, 0},
        {msock_pair1_open, "pair1", 8, 0, 0},
        {msock_pair_open, "pair", 0, 0, 0},
        {msock_pub_open, "pub", 0, 0, 0},
        {msock_sub_open, "sub", 0, 0, 0},
        {msock_bus_open, "bus", 0, 0, 0},
        {msock_push_open, "push", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        msock_socket s;
        TU_OK(protos[i].open(&s));
        int ttl = -1;
        int64_t ms = -1;
        bool raw = true;
        int rc = msock_socket_get_int(s, MSOCK_OPT_MAXTTL, &ttl);
        if (protos[i].maxttl ? rc != 0 || ttl != protos[i].maxttl : rc != MSOCK_ENOTSUP)
            fail_msg("%s: MAXTTL gives %s, %d", protos[i].name, tu_errname(rc), ttl);
        rc = msock_socket_get_ms(s, MSOCK_OPT_REQ_RESEND_TIME, &ms);
        if (protos[i].resend ? rc != 0 || ms != protos[i].resend : rc != MSOCK_ENOTSUP)
            fail_msg("%s: REQ_RESEND_TIME gives %s, %lld", protos[i].name, tu_errname(rc), (long long)ms);
        rc = msock_socket_get_ms(s, MSOCK_OPT_SURVEY_TIME, &ms);
        if (protos[i].survey ? rc != 0 || ms != protos[i].survey : rc != MSOCK_ENOTSUP)
            fail_msg("%s: SURVEY_TIME gives %s, %lld", protos[i].name, tu_errname(rc), (long long)ms);
        TU_OK(msock_socket_get_bool(s, MSOCK_OPT_RAW, &raw));
        assert_false(raw);
        TU_EXPECT_RC(MSOCK_EREADONLY, msock_socket_set_bool(s, MSOCK_OPT_RAW, true));
        TU_OK(msock_close(s));
    }
}

static void test_round_trips(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const optdef *od = &options[i];
        if (od->readonly || od->type == T_STRING)
            continue;
        for (int kind = ON_SOCKET; kind <= ON_LISTENER; kind <<= 1) {
            if (!(od->where & kind))
                continue;
            const obj *o = fixture_obj(&f, kind, od->opt);
            int rc = obj_set(o, od->opt, od->type, od->sample, NULL);
            if (rc != 0)
                fail_msg("%s on a %s: set %lld gives %s", od->name, kind_name(kind),
                         (long long)od->sample, tu_errname(rc));
            int64_t v = -12345;
            TU_OK(obj_get(o, od->opt, od->type, &v, NULL, NULL));
            if (v != od->sample)
                fail_msg("%s on a %s: set %lld, read back %lld", od->name, kind_name(kind),
                         (long long)od->sample, (long long)v);
        }
    }
    /* Values beyond the samples: the extremes a caller may use. */
    const obj *s = &f.sock;
    int64_t v;
    TU_OK(obj_set(s, MSOCK_OPT_RECV_TIMEOUT, T_MS, 0, NULL));
    TU_OK(obj_get(s, MSOCK_OPT_RECV_TIMEOUT, T_MS, &v, NULL, NULL));
    assert_int_equal(v, 0);
    TU_OK(obj_set(s, MSOCK_OPT_RECV_TIMEOUT, T_MS, -1, NULL));
    TU_OK(obj_get(s, MSOCK_OPT_RECV_TIMEOUT, T_MS, &v, NULL, NULL));
    assert_int_equal(v, -1);
    TU_OK(obj_set(s, MSOCK_OPT_RECV_MAXSZ, T_SIZE, 0, NULL));
    TU_OK(obj_get(s, MSOCK_OPT_RECV_MAXSZ, T_SIZE, &v, NULL, NULL));
    assert_int_equal(v, 0);
    TU_OK(obj_set(s, MSOCK_OPT_TCP_NODELAY, T_BOOL, 1, NULL));
    TU_OK(obj_get(s, MSOCK_OPT_TCP_NODELAY, T_BOOL, &v, NULL, NULL));
    assert_int_equal(v, 1);
    fixture_close(&f);
}

static void test_wrong_type(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char buf[64];
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const optdef *od = &options[i];
        for (int kind = ON_SOCKET; kind <= ON_LISTENER; kind <<= 1) {
            if (!(od->where & kind))
                continue;
            const obj *o = fixture_obj(&f, kind, od->opt);
            for (int type = 0; type < T_COUNT; type++) {
                if (type == od->type)
                    continue;
                int64_t v = 0;
                size_t len = sizeof(buf);
                int rc = obj_get(o, od->opt, type, &v, buf, &len);
                if (rc != MSOCK_EBADTYPE)
                    fail_msg("%s on a %s: get as %s gives %s, want MSOCK_EBADTYPE", od->name,
                             kind_name(kind), type_names[type], tu_errname(rc));
                /* A read-only option set with a wrong type could name either error. */
                if (od->readonly)
                    continue;
                rc = obj_set(o, od->opt, type, 1, "text");
                if (rc != MSOCK_EBADTYPE && rc != NO_SUCH_CALL)
                    fail_msg("%s on a %s: set as %s gives %s, want MSOCK_EBADTYPE", od->name,
                             kind_name(kind), type_names[type], tu_errname(rc));
            }
        }
    }
    fixture_close(&f);
}

static void test_read_only(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    msock_socket s = f.sock.s;
    TU_EXPECT_RC(MSOCK_EREADONLY, msock_socket_set_int(s, MSOCK_OPT_PROTOCOL, MSOCK_PROTO_PULL));
    TU_EXPECT_RC(MSOCK_EREADONLY, msock_socket_set_int(s, MSOCK_OPT_PEER, MSOCK_PROTO_PUSH));
    TU_EXPECT_RC(MSOCK_EREADONLY, msock_socket_set_string(s, MSOCK_OPT_PROTOCOL_NAME, "pull"));
    TU_EXPECT_RC(MSOCK_EREADONLY, msock_socket_set_string(s, MSOCK_OPT_PEER_NAME, "push"));
    TU_EXPECT_RC(MSOCK_EREADONLY, msock_socket_set_int(s, MSOCK_OPT_SEND_FD, 3));
    int v = 0;
    TU_OK(msock_socket_get_int(s, MSOCK_OPT_PROTOCOL, &v));
    assert_int_equal(v, MSOCK_PROTO_PUSH);
    fixture_close(&f);

    msock_socket pull, pair;
    TU_OK(msock_pull_open(&pull));
    TU_EXPECT_RC(MSOCK_EREADONLY, msock_socket_set_int(pull, MSOCK_OPT_RECV_FD, 3));
    TU_OK(msock_close(pull));
    /* Pair takes one peer, and says so read-only. */
    TU_OK(msock_pair_open(&pair));
    TU_OK(msock_socket_get_int(pair, MSOCK_OPT_MAX_PIPES, &v));
    assert_int_equal(v, 1);
    TU_EXPECT_RC(MSOCK_EREADONLY, msock_socket_set_int(pair, MSOCK_OPT_MAX_PIPES, 2));
    TU_OK(msock_socket_get_int(pair, MSOCK_OPT_MAX_PIPES, &v));
    assert_int_equal(v, 1);
    TU_OK(msock_close(pair));
}

static void test_invalid_values(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const optdef *od = &options[i];
        if (!od->has_invalid)
            continue;
        for (int kind = ON_SOCKET; kind <= ON_LISTENER; kind <<= 1) {
            if (!(od->where & kind))
                continue;
            const obj *o = fixture_obj(&f, kind, od->opt);
            int64_t before = 0, after = 0;
            TU_OK(obj_get(o, od->opt, od->type, &before, NULL, NULL));
            int rc = obj_set(o, od->opt, od->type, od->invalid, NULL);
            if (rc != MSOCK_EINVAL)
                fail_msg("%s on a %s: set %lld gives %s, want MSOCK_EINVAL", od->name,
                         kind_name(kind), (long long)od->invalid, tu_errname(rc));
            /* A refused value leaves the old one. */
            TU_OK(obj_get(o, od->opt, od->type, &after, NULL, NULL));
            assert_int_equal(after, before);
        }
    }
    TU_EXPECT_RC(MSOCK_EINVAL, msock_listener_set_int(f.ipc_listener.l, MSOCK_OPT_IPC_PERMISSIONS,
                                                      010000));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_set_ms(f.sock.s, MSOCK_OPT_RECONNECT_MIN, -100));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_set_string(f.sock.s, MSOCK_OPT_SOCKET_NAME, NULL));
    /* Output pointers are required. */
    TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_get_ms(f.sock.s, MSOCK_OPT_LINGER, NULL));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_get_size(f.sock.s, MSOCK_OPT_RECV_MAXSZ, NULL));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_socket_get_bool(f.sock.s, MSOCK_OPT_TCP_NODELAY, NULL));
    TU_EXPECT_RC(MSOCK_EINVAL,
                 msock_socket_get_string(f.sock.s, MSOCK_OPT_SOCKET_NAME, NULL, NULL));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_dialer_get_ms(f.dialer.d, MSOCK_OPT_RECONNECT_MIN, NULL));
    TU_EXPECT_RC(MSOCK_EINVAL,
                 msock_listener_get_size(f.tcp_listener.l, MSOCK_OPT_RECV_MAXSZ, NULL));
    fixture_close(&f);
}

static void test_not_applicable(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    int v;
    int64_t ms;
    char buf[64];
    size_t len = sizeof(buf);
    /* Options of another object, and numbers that are no option at all (as nng: ENOTSUP). */
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_dialer_set_ms(f.dialer.d, MSOCK_OPT_SEND_TIMEOUT, 5));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_dialer_get_ms(f.dialer.d, MSOCK_OPT_LINGER, &ms));
    TU_EXPECT_RC(MSOCK_ENOTSUP,
                 msock_listener_set_ms(f.tcp_listener.l, MSOCK_OPT_RECONNECT_MIN, 5));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_listener_get_int(f.tcp_listener.l, MSOCK_OPT_MAX_PIPES, &v));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_dialer_set_int(f.dialer.d, MSOCK_OPT_IPC_PERMISSIONS, 0600));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_get_string(f.sock.s, MSOCK_OPT_URL, buf, &len));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_set_int(f.sock.s, 9999, 1));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_get_int(f.sock.s, 9999, &v));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_set_int(f.sock.s, 0, 1));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_dialer_get_int(f.dialer.d, -1, &v));
    /* A push cannot receive, so it has no receive fd; a pull no send fd. */
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_get_int(f.sock.s, MSOCK_OPT_RECV_FD, &v));
    msock_socket pull;
    TU_OK(msock_pull_open(&pull));
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_get_int(pull, MSOCK_OPT_SEND_FD, &v));
    TU_OK(msock_close(pull));
    fixture_close(&f);
}

static void test_inherited_by_endpoints(void **state)
{
    (void)state;
    msock_socket s;
    TU_OK(msock_pull_open(&s));
    TU_OK(msock_socket_set_size(s, MSOCK_OPT_RECV_MAXSZ, 4321));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MIN, 77));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_RECONNECT_MAX, 777));
    TU_OK(msock_socket_set_bool(s, MSOCK_OPT_TCP_NODELAY, false));
    TU_OK(msock_socket_set_bool(s, MSOCK_OPT_TCP_KEEPALIVE, true));
    TU_OK(msock_socket_set_ms(s, MSOCK_OPT_HANDSHAKE_TIMEOUT, 1234));
    msock_dialer d;
    msock_listener l;
    TU_OK(msock_dialer_create(&d, s, "tcp://127.0.0.1:1"));
    TU_OK(msock_listener_create(&l, s, "tcp://127.0.0.1:0"));
    size_t z = 0;
    int64_t ms = 0;
    bool b = true;
    TU_OK(msock_dialer_get_size(d, MSOCK_OPT_RECV_MAXSZ, &z));
    assert_int_equal(z, 4321);
    TU_OK(msock_listener_get_size(l, MSOCK_OPT_RECV_MAXSZ, &z));
    assert_int_equal(z, 4321);
    TU_OK(msock_dialer_get_ms(d, MSOCK_OPT_RECONNECT_MIN, &ms));
    assert_int_equal(ms, 77);
    TU_OK(msock_dialer_get_ms(d, MSOCK_OPT_RECONNECT_MAX, &ms));
    assert_int_equal(ms, 777);
    TU_OK(msock_dialer_get_bool(d, MSOCK_OPT_TCP_NODELAY, &b));
    assert_false(b);
    TU_OK(msock_listener_get_bool(l, MSOCK_OPT_TCP_NODELAY, &b));
    assert_false(b);
    TU_OK(msock_dialer_get_bool(d, MSOCK_OPT_TCP_KEEPALIVE, &b));
    assert_true(b);
    TU_OK(msock_listener_get_bool(l, MSOCK_OPT_TCP_KEEPALIVE, &b));
    assert_true(b);
    TU_OK(msock_dialer_get_ms(d, MSOCK_OPT_HANDSHAKE_TIMEOUT, &ms));
    assert_int_equal(ms, 1234);
    TU_OK(msock_listener_get_ms(l, MSOCK_OPT_HANDSHAKE_TIMEOUT, &ms));
    assert_int_equal(ms, 1234);

    /* An endpoint's own value stays its own. */
    TU_OK(msock_dialer_set_size(d, MSOCK_OPT_RECV_MAXSZ, 99));
    TU_OK(msock_socket_get_size(s, MSOCK_OPT_RECV_MAXSZ, &z));
    assert_int_equal(z, 4321);
    TU_OK(msock_listener_get_size(l, MSOCK_OPT_RECV_MAXSZ, &z));
    assert_int_equal(z, 4321);
    TU_OK(msock_dialer_get_size(d, MSOCK_OPT_RECV_MAXSZ, &z));
    assert_int_equal(z, 99);
    TU_OK(msock_close(s));
}

static void check_string(const char *what, int rc, const char *got, const char *want)
{
    if (rc != 0)
        fail_msg("%s: %s", what, tu_errname(rc));
    if (strcmp(got, want) != 0)
        fail_msg("%s: \"%s\", want \"%s\"", what, got, want);
}

static void test_protocol_identity(void **state)
{
    (void)state;
    static const struct {
        int (*open_fn)(msock_socket *);
        int proto, peer;
        const char *name, *peer_name;
    } protos[] = {
        {msock_pair_open, MSOCK_PROTO_PAIR0, MSOCK_PROTO_PAIR0, "pair", "pair"},
        {msock_push_open, MSOCK_PROTO_PUSH, MSOCK_PROTO_PULL, "push", "pull"},
        {msock_pull_open, MSOCK_PROTO_PULL, MSOCK_PROTO_PUSH, "pull", "push"},
    };
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
        msock_socket s;
        TU_OK(protos[i].open_fn(&s));
        int v = 0;
        TU_OK(msock_socket_get_int(s, MSOCK_OPT_PROTOCOL, &v));
        assert_int_equal(v, protos[i].proto);
        TU_OK(msock_socket_get_int(s, MSOCK_OPT_PEER, &v));
        assert_int_equal(v, protos[i].peer);
        char buf[32];
        size_t len = sizeof(buf);
        int rc = msock_socket_get_string(s, MSOCK_OPT_PROTOCOL_NAME, buf, &len);
        check_string("protocol name", rc, buf, protos[i].name);
        assert_int_equal(len, strlen(protos[i].name) + 1);
        len = sizeof(buf);
        rc = msock_socket_get_string(s, MSOCK_OPT_PEER_NAME, buf, &len);
        check_string("peer name", rc, buf, protos[i].peer_name);
        TU_OK(msock_close(s));
    }
}

static void test_string_options(void **state)
{
    (void)state;
    msock_socket s;
    TU_OK(msock_pull_open(&s));
    TU_OK(msock_socket_set_string(s, MSOCK_OPT_SOCKET_NAME, "worker-7"));
    char buf[64];
    size_t len = sizeof(buf);
    int rc = msock_socket_get_string(s, MSOCK_OPT_SOCKET_NAME, buf, &len);
    check_string("socket name", rc, buf, "worker-7");
    assert_int_equal(len, sizeof("worker-7"));
    /* A short buffer gets the front, and *len the full size. */
    memset(buf, 'z', sizeof(buf));
    len = 4;
    TU_OK(msock_socket_get_string(s, MSOCK_OPT_SOCKET_NAME, buf, &len));
    assert_int_equal(len, sizeof("worker-7"));
    assert_memory_equal(buf, "wor", 3);
    assert_int_equal(buf[4], 'z');
    /* A size query. */
    len = 0;
    TU_OK(msock_socket_get_string(s, MSOCK_OPT_SOCKET_NAME, NULL, &len));
    assert_int_equal(len, sizeof("worker-7"));
    TU_OK(msock_socket_set_string(s, MSOCK_OPT_SOCKET_NAME, ""));
    len = sizeof(buf);
    rc = msock_socket_get_string(s, MSOCK_OPT_SOCKET_NAME, buf, &len);
    check_string("empty socket name", rc, buf, "");

    /* Endpoint URLs read back as given (a listener on a fixed address). */
    char url[TU_URL_MAX], got[TU_URL_MAX];
    tu_any_url(TU_IPC, url, sizeof(url));
    msock_listener l;
    TU_OK(msock_listen(s, url, &l, 0));
    len = sizeof(got);
    rc = msock_listener_get_string(l, MSOCK_OPT_URL, got, &len);
    check_string("ipc listener url", rc, got, url);
    msock_dialer d;
    TU_OK(msock_dialer_create(&d, s, "tcp://127.0.0.1:4711"));
    len = sizeof(got);
    rc = msock_dialer_get_string(d, MSOCK_OPT_URL, got, &len);
    check_string("dialer url", rc, got, "tcp://127.0.0.1:4711");
    TU_OK(msock_close(s));
}

/* The ws string options: a socket's Origins are its listeners' default; values longer than
 * the documented limits (1023 and 511 bytes) are refused whole; a started listener's are
 * fixed. The options exist in every build: only ws listeners read them. */
static void test_ws_string_options(void **state)
{
    (void)state;
    msock_socket s;
    TU_OK(msock_pub_open(&s));
    TU_OK(msock_socket_set_string(s, MSOCK_OPT_WS_ORIGINS, "http://a.example, http://b.example"));
    msock_listener l;
    TU_OK(msock_listener_create(&l, s, "tcp://127.0.0.1:0"));
    char buf[1100];
    size_t len = sizeof(buf);
    int rc = msock_listener_get_string(l, MSOCK_OPT_WS_ORIGINS, buf, &len);
    check_string("inherited origins", rc, buf, "http://a.example, http://b.example");
    TU_EXPECT_RC(MSOCK_ENOTSUP, msock_socket_set_string(s, MSOCK_OPT_WS_HTTP_DIR, "/tmp"));
    TU_EXPECT_RC(MSOCK_EINVAL, msock_listener_set_string(l, MSOCK_OPT_WS_HTTP_DIR, NULL));
    TU_EXPECT_RC(MSOCK_EBADTYPE, msock_listener_set_string(l, MSOCK_OPT_MAX_CONNS, "3"));

    memset(buf, 'o', sizeof(buf));
    buf[1024] = '\0';
    TU_EXPECT_RC(MSOCK_ENAMETOOLONG, msock_listener_set_string(l, MSOCK_OPT_WS_ORIGINS, buf));
    buf[1023] = '\0';
    TU_OK(msock_listener_set_string(l, MSOCK_OPT_WS_ORIGINS, buf));
    buf[512] = '\0';
    TU_EXPECT_RC(MSOCK_ENAMETOOLONG, msock_listener_set_string(l, MSOCK_OPT_WS_HTTP_DIR, buf));
    buf[511] = '\0';
    TU_OK(msock_listener_set_string(l, MSOCK_OPT_WS_HTTP_DIR, buf));
    len = sizeof(buf);
    TU_OK(msock_listener_get_string(l, MSOCK_OPT_WS_HTTP_DIR, buf, &len));
    assert_int_equal(len, 512);

    TU_OK(msock_listener_start(l, 0));
    TU_EXPECT_RC(MSOCK_ESTATE, msock_listener_set_string(l, MSOCK_OPT_WS_ORIGINS, ""));
    TU_EXPECT_RC(MSOCK_ESTATE, msock_listener_set_int(l, MSOCK_OPT_MAX_CONNS, 1));
    TU_OK(msock_close(s));
    TU_EXPECT_RC(MSOCK_ECLOSED, msock_listener_set_string(l, MSOCK_OPT_WS_ORIGINS, ""));
}

static void test_fd_options(void **state)
{
    (void)state;
    msock_socket pull, push, pair;
    TU_OK(msock_pull_open(&pull));
    TU_OK(msock_push_open(&push));
    TU_OK(msock_pair_open(&pair));
    int fd = -1;
    TU_OK(msock_socket_get_int(pull, MSOCK_OPT_RECV_FD, &fd));
    assert_true(fd >= 0);
    TU_OK(msock_socket_get_int(push, MSOCK_OPT_SEND_FD, &fd));
    assert_true(fd >= 0);
    TU_OK(msock_socket_get_int(pair, MSOCK_OPT_RECV_FD, &fd));
    assert_true(fd >= 0);
    int send_fd = -1;
    TU_OK(msock_socket_get_int(pair, MSOCK_OPT_SEND_FD, &send_fd));
    assert_true(send_fd >= 0);
    assert_int_not_equal(fd, send_fd);
    bool b;
    TU_EXPECT_RC(MSOCK_EBADTYPE, msock_socket_get_bool(pull, MSOCK_OPT_RECV_FD, &b));
    TU_OK(msock_close(pull));
    TU_OK(msock_close(push));
    TU_OK(msock_close(pair));
}

static void test_ipc_permissions_applied(void **state)
{
    (void)state;
    msock_socket s;
    TU_OK(msock_pull_open(&s));
    char url[TU_URL_MAX];
    tu_any_url(TU_IPC, url, sizeof(url));
    msock_listener l;
    TU_OK(msock_listener_create(&l, s, url));
    TU_OK(msock_listener_set_int(l, MSOCK_OPT_IPC_PERMISSIONS, 0600));
    TU_OK(msock_listener_start(l, 0));
    struct stat st;
    assert_int_equal(stat(url + strlen("ipc://"), &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    int v = 0;
    TU_OK(msock_listener_get_int(l, MSOCK_OPT_IPC_PERMISSIONS, &v));
    assert_int_equal(v, 0600);
    TU_OK(msock_close(s));
}

int main(void)
{
    tu_watchdog(300);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_protocol_defaults),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_not_applicable),
        cmocka_unit_test(test_inherited_by_endpoints),
        cmocka_unit_test(test_protocol_identity),
        cmocka_unit_test(test_string_options),
        cmocka_unit_test(test_ws_string_options),
        cmocka_unit_test(test_fd_options),
        cmocka_unit_test(test_ipc_permissions_applied),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed == 0)
        msock_fini();
    return failed;
}
