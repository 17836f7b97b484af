/* ws_rx.c: reassembly of binary WebSocket messages from lws's RECEIVE pieces (see ws_rx.h): text,
 * out-of-order continuations and messages over the receive max are refused with their close
 * codes, and no more than the max is ever allocated. */
#include <string.h>

#include "transport/ws_rx.h"

/* With no receive max, the room reserved up front for an announced frame is capped here: the
 * length is the peer's word, and a big message still grows by doubling. */
#define WS_RX_HINT_MAX ((size_t)1 << 20)

void ms_ws_rx_init(ms_ws_rx *r, size_t max)
{
    memset(r, 0, sizeof *r);
    r->max = max;
}

void ms_ws_rx_fini(ms_ws_rx *r)
{
    if (r->msg)
        ms_msg_free(r->msg);
    r->msg = NULL;
    r->len = 0;
    r->in_message = false;
}

const char *ms_ws_rx_close_reason(int code)
{
    switch (code) {
    case MS_WS_CLOSE_PROTOCOL: return "protocol error";
    case MS_WS_CLOSE_UNACCEPTABLE: return "binary only";
    case MS_WS_CLOSE_TOO_LARGE: return "message too large";
    default: return "";
    }
}

static int rx_refuse(ms_ws_rx *r, int code)
{
    ms_ws_rx_fini(r);
    r->close_code = code;
    return code == MS_WS_CLOSE_INTERNAL ? MSOCK_ENOMEM : MS_WS_RX_REFUSED;
}

/* Makes room for need bytes (doubling, so a message that comes in many pieces is copied O(1)
 * times per byte), never more than the max. */
static int rx_room(ms_ws_rx *r, size_t need, size_t hint)
{
    size_t cap = r->msg ? r->msg->len : 0;
    if (need <= cap && r->msg)
        return 0; /* (a message of empty pieces still needs its msock_msg) */
    size_t want = MS_MAX(need, MS_MAX(cap * 2, hint));
    if (r->max && want > r->max)
        want = r->max; /* need <= max: checked by the caller */
    msock_msg *m = NULL;
    if (ms_msg_alloc(&m, want) != 0)
        return MSOCK_ENOMEM;
    if (r->msg) {
        memcpy(m->body, r->msg->body, r->len);
        ms_msg_free(r->msg);
    }
    r->msg = m;
    return 0;
}

int ms_ws_rx_feed(ms_ws_rx *r, unsigned flags, const void *in, size_t len, size_t frame_rest,
                  msock_msg **out)
{
    if (r->close_code)
        return r->close_code == MS_WS_CLOSE_INTERNAL ? MSOCK_ENOMEM : MS_WS_RX_REFUSED;
    bool first = flags & MS_WS_RX_FIRST, final = flags & MS_WS_RX_FINAL;
    if (first == r->in_message)
        return rx_refuse(r, MS_WS_CLOSE_PROTOCOL); /* a start inside a message, or no start */
    if (first && !(flags & MS_WS_RX_BINARY))
        return rx_refuse(r, MS_WS_CLOSE_UNACCEPTABLE);
    /* Over the max now, or once the rest of this frame comes: refused at once. */
    if (r->max && (len > r->max - r->len || frame_rest > r->max - r->len - len))
        return rx_refuse(r, MS_WS_CLOSE_TOO_LARGE);
    if (first && final) { /* the whole message in one piece: one copy */
        if (ms_msg_from_buf(out, in, len) != 0)
            return rx_refuse(r, MS_WS_CLOSE_INTERNAL);
        return MS_WS_RX_MESSAGE;
    }
    size_t hint = 0;
    if (first) {
        r->len = 0;
        r->in_message = true;
        hint = len + MS_MIN(frame_rest, r->max ? r->max : WS_RX_HINT_MAX);
    }
    if (rx_room(r, r->len + len, hint) != 0)
        return rx_refuse(r, MS_WS_CLOSE_INTERNAL);
    if (len > 0)
        memcpy(r->msg->body + r->len, in, len);
    r->len += len;
    if (!final)
        return MS_WS_RX_MORE;
    msock_msg *m = r->msg;
    m->len = r->len;
    r->msg = NULL;
    r->len = 0;
    r->in_message = false;
    *out = m;
    return MS_WS_RX_MESSAGE;
}
