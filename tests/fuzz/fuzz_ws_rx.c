/* fuzz_ws_rx.c: libFuzzer harness for the WebSocket message reassembly (ws_rx.c): pieces with
 * any flags, lengths and announced frame rests, checked against a model of the rules. */
#include <stdlib.h>
#include <string.h>

#include "core/defs.h"
#include "core/msg.h"
#include "transport/ws_rx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Receive max sizes to try, all small so that every limit is reached; 0 (none) is left out:
 * then only memory bounds a message, which the fuzzer would spend its time allocating. */
static const size_t rx_max_sizes[] = {1, 2, 16, 100, 255, 1000, 4096};
#define RX_MAX_LARGEST 4096

/* The frame rest a byte announces: small ones as they are, the top 16 huge (up to SIZE_MAX),
 * as a peer's 64-bit frame length may be. */
static size_t rx_frame_rest(uint8_t b)
{
    return b < 0xF0 ? b : SIZE_MAX >> (b - 0xF0);
}

/* What the decoder must answer to a piece, given what came before. */
static int rx_expected(bool in_message, size_t have, size_t max, unsigned flags, size_t len,
                       size_t rest, int *code)
{
    bool first = flags & MS_WS_RX_FIRST;
    *code = 0;
    if (first == in_message)
        *code = MS_WS_CLOSE_PROTOCOL;
    else if (first && !(flags & MS_WS_RX_BINARY))
        *code = MS_WS_CLOSE_UNACCEPTABLE;
    else if ((first ? 0 : have) + len > max || rest > max - (first ? 0 : have) - len)
        *code = MS_WS_CLOSE_TOO_LARGE;
    if (*code)
        return MS_WS_RX_REFUSED;
    return flags & MS_WS_RX_FINAL ? MS_WS_RX_MESSAGE : MS_WS_RX_MORE;
}

/* Input: [max size index] then pieces: [flags][length][frame rest][length bytes] (the last
 * piece gets what bytes are left). Flags bits 0-2 are enum ms_ws_rx_flag. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max = rx_max_sizes[data[0] % (sizeof(rx_max_sizes) / sizeof(rx_max_sizes[0]))];
    data++;
    size--;

    static uint8_t model[RX_MAX_LARGEST]; /* the message so far, as the model has it */
    size_t have = 0;
    bool in_message = false;
    int done_rv = 0, done_code = 0; /* done_code != 0: refused; every answer is then done_rv */

    ms_ws_rx r;
    ms_ws_rx_init(&r, max);
    while (size >= 3) {
        unsigned flags = data[0] & 7u;
        size_t len = MS_MIN((size_t)data[1], size - 3), rest = rx_frame_rest(data[2]);
        const uint8_t *piece = data + 3;
        data += 3 + len;
        size -= 3 + len;

        msock_msg *sentinel = (msock_msg *)&r, *m = sentinel;
        int rv = ms_ws_rx_feed(&r, flags, piece, len, rest, &m);
        if (done_code) {
            /* Refused before: the same answer, nothing taken, nothing given. */
            if (rv != done_rv || r.close_code != done_code || m != sentinel || r.msg != NULL)
                abort();
            continue;
        }
        if (rv == MSOCK_ENOMEM) {
            /* Possible in principle; it must leave the decoder done with 1011. */
            if (r.close_code != MS_WS_CLOSE_INTERNAL || r.msg != NULL || m != sentinel)
                abort();
            done_rv = rv;
            done_code = r.close_code;
            continue;
        }
        int code = 0;
        int want = rx_expected(in_message, have, max, flags, len, rest, &code);
        if (rv != want)
            abort();
        switch (rv) {
        case MS_WS_RX_REFUSED:
            if (r.close_code != code || r.msg != NULL || r.in_message || m != sentinel)
                abort();
            if (!*ms_ws_rx_close_reason(code))
                abort(); /* every code we send has its reason */
            done_rv = rv;
            done_code = code;
            break;
        case MS_WS_RX_MORE:
            if (m != sentinel || r.close_code != 0)
                abort();
            if (flags & MS_WS_RX_FIRST)
                have = 0;
            memcpy(model + have, piece, len);
            have += len;
            in_message = true;
            if (!r.in_message || r.len != have || r.msg == NULL || r.msg->len > max ||
                r.msg->len < have)
                abort(); /* never more room than the max, always room for what came */
            break;
        case MS_WS_RX_MESSAGE:
            if (m == sentinel || m == NULL || r.close_code != 0 || r.in_message || r.msg != NULL)
                abort();
            if (flags & MS_WS_RX_FIRST)
                have = 0;
            memcpy(model + have, piece, len);
            have += len;
            /* The message is exactly its pieces, in order, and within the max. */
            if (m->len != have || m->len > max || m->header_len != 0 ||
                (have > 0 && memcmp(m->body, model, have) != 0))
                abort();
            ms_msg_free(m);
            have = 0;
            in_message = false;
            break;
        default:
            abort();
        }
    }
    ms_ws_rx_fini(&r);
    if (r.msg != NULL || r.in_message)
        abort();
    return 0;
}
