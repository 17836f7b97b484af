/* backtrace.c: taking the backtrace off a received request or reply. */
#include "core/msg.h"
#include "protocol/backtrace.h"
#include "protocol/protocol.h"

int ms_backtrace_take(msock_msg *m, size_t max_words)
{
    size_t have = m->header_len / 4, words = 0;
    for (;;) {
        if (m->len - words * 4 < 4)
            return MS_BT_MALFORMED;
        uint32_t w = ms_get32(m->body + words * 4);
        if (have + ++words > max_words)
            return MS_BT_TOO_LONG;
        if (w & MS_BT_END)
            break;
    }
    if (ms_msg_header_append(m, m->body, words * 4) != 0)
        return MS_BT_TOO_LONG;
    m->body += words * 4;
    m->len -= words * 4;
    return MS_BT_OK;
}

int ms_backtrace_raw_reply_hook(ms_socket *s, ms_pipe *p, msock_msg *m)
{
    if (ms_backtrace_take(m, MS_BT_WORDS_MAX) == MS_BT_OK)
        return MS_RX_KEEP;
    ms_protocol_count(s, p, MSOCK_STAT_DROPS_MALFORMED);
    return MS_RX_CLOSE;
}
