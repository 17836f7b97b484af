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
