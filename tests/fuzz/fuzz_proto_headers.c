/* fuzz_proto_headers.c: libFuzzer harness for the SP protocol headers a peer sends: backtraces
 * (ms_backtrace_take and the raw REQ/SURVEYOR reply hook), request and survey ids, and PAIR1 hop
 * counts. The id and hop checks are static receive hooks, reached through each protocol's
 * recv_hook on a real socket, called as the receiver calls it (socket lock held, header empty). */
#include <pthread.h>
#include <stdlib.h>

#include "core/defs.h"
#include "core/msg.h"
#include "protocol/backtrace.h"
#include "protocol/protocol.h"
#include "socket/socket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The sockets whose hooks read the headers: cooked and raw of each protocol with one. */
static const struct {
    int proto, flags;
} headers_sockets[] = {
    {MSOCK_PROTO_PAIR1, 0},      {MSOCK_PROTO_PAIR1, MSOCK_OPEN_RAW},
    {MSOCK_PROTO_REP, 0},        {MSOCK_PROTO_REP, MSOCK_OPEN_RAW},
    {MSOCK_PROTO_RESPONDENT, 0}, {MSOCK_PROTO_RESPONDENT, MSOCK_OPEN_RAW},
    {MSOCK_PROTO_REQ, 0},        {MSOCK_PROTO_REQ, MSOCK_OPEN_RAW},
    {MSOCK_PROTO_SURVEYOR, 0},   {MSOCK_PROTO_SURVEYOR, MSOCK_OPEN_RAW},
};
#define HEADERS_N_SOCKETS (sizeof(headers_sockets) / sizeof(headers_sockets[0]))

static msock_socket headers_handles[HEADERS_N_SOCKETS];
static ms_socket *headers_open[HEADERS_N_SOCKETS];

/* Opened once and kept for the process (reachable, so no leak report). */
static ms_socket *headers_socket(size_t i)
{
    if (headers_open[i] == NULL) {
        if (msock_socket_open(&headers_handles[i], headers_sockets[i].proto, headers_sockets[i].flags) != 0)
            abort();
        headers_open[i] = ms_socket_find(headers_handles[i].id);
        if (headers_open[i] == NULL)
            abort();
    }
    return headers_open[i];
}

/* A kept backtrace: whole words, the last with the end bit. */
static void headers_check_backtrace(msock_msg *m, size_t max_words)
{
    size_t n = m->header_len;
    if (n == 0 || n % 4 != 0 || n / 4 > max_words)
        abort();
    if (!(ms_get32(ms_msg_hdr(m) + n - 4) & MS_BT_END))
        abort();
}

/* Input: [mode][arg][prefilled header words k][k*4 header bytes][body...]. */
static void headers_take(const uint8_t *data, size_t size)
{
    size_t max_words = data[1] == 0 ? MS_BT_WORDS_MAX : data[1];
    size_t k = MS_MIN((size_t)data[2] % 16, (size - 3) / 4);
    msock_msg *m;
    if (ms_msg_from_buf(&m, data + 3 + 4 * k, size - 3 - 4 * k) != 0)
        return;
    if (k > 0 && ms_msg_header_append(m, data + 3, 4 * k) != 0)
        abort();
    size_t before = m->header_len + m->len;
    int rc = ms_backtrace_take(m, max_words);
    if (m->header_len + m->len != before)
        abort(); /* bytes move between body and header, none appear or vanish */
    if (rc == MS_BT_OK)
        headers_check_backtrace(m, max_words);
    else if (rc != MS_BT_TOO_LONG && rc != MS_BT_MALFORMED)
        abort();
    ms_msg_free(m);
}

static void headers_hook(const uint8_t *data, size_t size)
{
    size_t which = data[0] % HEADERS_N_SOCKETS;
    ms_socket *s = headers_socket(which);
    int maxttl = data[1] % 255 + 1;
    if (msock_socket_set_int(headers_handles[which], MSOCK_OPT_MAXTTL, maxttl) != 0)
        abort();
    msock_msg *m;
    if (ms_msg_from_buf(&m, data + 2, size - 2) != 0)
        return;
    m->pipe_id = 1;
    size_t before = m->len;
    pthread_mutex_lock(&s->mtx);
    int verdict = s->proto->recv_hook(s, NULL, m);
    pthread_mutex_unlock(&s->mtx);
    switch (verdict) {
    case MS_RX_KEEP:
        if (m->header_len + m->len > before + 4) /* at most the raw REP pipe word is added */
            abort();
        if (headers_sockets[which].proto != MSOCK_PROTO_PAIR1 && m->header_len > 0)
            headers_check_backtrace(m, MS_BT_WORDS_MAX);
        ms_msg_free(m);
        break;
    case MS_RX_DROP:
    case MS_RX_CLOSE:
        ms_msg_free(m);
        break;
    case MS_RX_TAKEN: /* no request is outstanding, so no reply may be taken */
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    /* Mode byte: high bit clear fuzzes ms_backtrace_take directly, set a socket's hook. */
    if ((data[0] & 0x80) == 0)
        headers_take(data, size);
    else
        headers_hook(data, size);
    return 0;
}
