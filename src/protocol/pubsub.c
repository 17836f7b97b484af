/* pubsub.c: PUB (0x20) sends every message to every subscriber and never blocks (a subscriber
 * whose queue is full misses the newest message); SUB (0x21) keeps the messages that start
 * with one of its topics. Filtering is local: subscriptions never go on the wire. */
#include <stdlib.h>
#include <string.h>

#include "core/msg.h"
#include "protocol/protocol.h"
#include "protocol/pubsub.h"
#include "socket/socket.h"

typedef struct sub_topic {
    size_t len;
    uint8_t *bytes;
} sub_topic;

typedef struct sub_state {
    sub_topic *topics; /* under s->mtx */
    size_t count, cap;
} sub_state;

static void sub_fini(ms_socket *s)
{
    sub_state *st = ms_socket_proto(s);
    for (size_t i = 0; i < st->count; i++)
        free(st->topics[i].bytes);
    free(st->topics);
}

static int sub_recv_hook(ms_socket *s, ms_pipe *p, msock_msg *m)
{
    sub_state *st = ms_socket_proto(s);
    for (size_t i = 0; i < st->count; i++) {
        const sub_topic *t = &st->topics[i];
        if (t->len <= m->len && memcmp(t->bytes, m->body, t->len) == 0)
            return MS_RX_KEEP;
    }
    ms_protocol_count(s, p, MSOCK_STAT_DROPS_NO_SUB);
    return MS_RX_DROP;
}

/* Under s->mtx: the index of the topic, or count when absent. */
static size_t sub_find(const sub_state *st, const void *topic, size_t len)
{
    for (size_t i = 0; i < st->count; i++)
        if (st->topics[i].len == len && (len == 0 || memcmp(st->topics[i].bytes, topic, len) == 0))
            return i;
    return st->count;
}

int ms_sub_subscribe(ms_socket *s, const void *topic, size_t len)
{
    if (s->proto != &ms_protocol_sub)
        return MSOCK_ENOTSUP;
    sub_state *st = ms_socket_proto(s);
    int rv = 0;
    pthread_mutex_lock(&s->mtx);
    if (sub_find(st, topic, len) == st->count) {
        if (st->count == st->cap) {
            size_t cap = st->cap ? st->cap * 2 : 4;
            sub_topic *grown = realloc(st->topics, cap * sizeof *grown);
            if (grown == NULL)
                rv = MSOCK_ENOMEM;
            else {
                st->topics = grown;
                st->cap = cap;
            }
        }
        uint8_t *copy = rv == 0 ? malloc(len ? len : 1) : NULL;
        if (rv == 0 && copy == NULL)
            rv = MSOCK_ENOMEM;
        if (rv == 0) {
            if (len)
                memcpy(copy, topic, len);
            st->topics[st->count++] = (sub_topic){len, copy};
        }
    }
    pthread_mutex_unlock(&s->mtx);
    return rv;
}

int ms_sub_unsubscribe(ms_socket *s, const void *topic, size_t len)
{
    if (s->proto != &ms_protocol_sub)
        return MSOCK_ENOTSUP;
    sub_state *st = ms_socket_proto(s);
    int rv = MSOCK_ENOENT;
    pthread_mutex_lock(&s->mtx);
    size_t i = sub_find(st, topic, len);
    if (i < st->count) {
        free(st->topics[i].bytes);
        st->topics[i] = st->topics[--st->count];
        rv = 0;
    }
    pthread_mutex_unlock(&s->mtx);
    return rv;
}

#define PUB(raw_mode)                                                                     \
    {                                                                                     \
        .self = MSOCK_PROTO_PUB, .peer = MSOCK_PROTO_SUB, .name = "pub",                  \
        .peer_name = "sub", .raw = raw_mode, .send_policy = MS_SEND_ALL,                  \
        .recv_policy = MS_RECV_NONE,                                                      \
    }

const ms_protocol ms_protocol_pub = PUB(false);
const ms_protocol ms_protocol_pub_raw = PUB(true);

const ms_protocol ms_protocol_sub = {
    .self = MSOCK_PROTO_SUB, .peer = MSOCK_PROTO_PUB, .name = "sub", .peer_name = "pub",
    .send_policy = MS_SEND_NONE, .recv_policy = MS_RECV_ALL,
    .state_size = sizeof(sub_state), .fini = sub_fini, .recv_hook = sub_recv_hook,
};

/* Raw SUB keeps everything: a forwarder passes the whole stream on. */
const ms_protocol ms_protocol_sub_raw = {
    .self = MSOCK_PROTO_SUB, .peer = MSOCK_PROTO_PUB, .name = "sub", .peer_name = "pub",
    .raw = true, .send_policy = MS_SEND_NONE, .recv_policy = MS_RECV_ALL,
};

int msock_pub_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_pub, s);
}

int msock_sub_open(msock_socket *s)
{
    return ms_protocol_open(&ms_protocol_sub, s);
}
