/* device.c: msock_device: forwards messages between two raw sockets (or one raw socket to
 * itself) until either closes: the broker, forwarder and reflector of the SP protocols. */
#include <pthread.h>

#include "core/clock.h"
#include "core/msg.h"
#include "socket/device.h"
#include "socket/receiver.h"
#include "socket/sender.h"
#include "socket/socket.h"

/* A forwarder blocked on one socket notices the other's close within this long. */
#define DEVICE_POLL_MS 100

typedef struct device_path {
    ms_socket *from, *to;
    atomic_bool *stop; /* shared by both directions: set when either ends */
} device_path;

static bool device_closed(ms_socket *s)
{
    return atomic_load(&s->closing_flag);
}

static int device_send(ms_socket *s, msock_msg *m, int64_t deadline)
{
    if (s->proto->send != NULL)
        return s->proto->send(s, m, deadline, false);
    return ms_sender_send(s, m, deadline, false, NULL);
}

static void *device_forward(void *arg)
{
    device_path *path = arg;
    while (!atomic_load(path->stop) && !device_closed(path->from) && !device_closed(path->to)) {
        msock_msg *m;
        int rv = ms_receiver_recv(path->from, &m, ms_clock_ms() + DEVICE_POLL_MS, false, path->stop);
        if (rv == MSOCK_ETIMEDOUT)
            continue;
        if (rv != 0)
            break;
        m->pipe_id = 0; /* its origin, not a destination on the other side */
        for (;;) {
            rv = device_send(path->to, m, ms_clock_ms() + DEVICE_POLL_MS);
            if (rv != MSOCK_ETIMEDOUT || atomic_load(path->stop) || device_closed(path->from))
                break;
        }
        if (rv != 0) {
            ms_msg_free(m);
            if (rv == MSOCK_ECLOSED || rv == MSOCK_ETIMEDOUT)
                break;
            /* A message the other side refuses (say, a bad raw header) is dropped. */
        }
    }
    atomic_store(path->stop, true);
    return NULL;
}

static bool device_can(const ms_socket *from, const ms_socket *to)
{
    return from->proto->recv_policy != MS_RECV_NONE && to->proto->send_policy != MS_SEND_NONE;
}

int ms_device_run(ms_socket *a, ms_socket *b)
{
    if (!a->proto->raw || !b->proto->raw)
        return MSOCK_EINVAL;
    if (a->proto->self != b->proto->peer || b->proto->self != a->proto->peer)
        return MSOCK_EINVAL;
    atomic_bool stop = false;
    device_path ab = {a, b, &stop}, ba = {b, a, &stop};
    bool forward = device_can(a, b), backward = a != b && device_can(b, a);
    if (!forward && !backward)
        return MSOCK_EINVAL;
    if (!forward) {
        device_forward(&ba);
        return 0;
    }
    pthread_t thread;
    bool threaded = backward && pthread_create(&thread, NULL, device_forward, &ba) == 0;
    if (backward && !threaded)
        return MSOCK_ENOMEM;
    device_forward(&ab);
    if (threaded)
        pthread_join(thread, NULL);
    return 0;
}
