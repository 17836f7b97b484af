/* backtrace.h: the SP request/reply backtrace: 32-bit big-endian words in front of a request
 * body, hop ids with bit 31 clear, ending with the request (or survey) id with bit 31 set. */
#ifndef MS_BACKTRACE_H
#define MS_BACKTRACE_H

#include "core/defs.h"

#define MS_BT_END 0x80000000u /* the bit that marks the request id, the last word */

enum ms_bt_result {
    MS_BT_OK = 0,
    MS_BT_TOO_LONG,  /* more than max_words words: drop the message */
    MS_BT_MALFORMED, /* the body ended before the request id: the peer speaks garbage */
};

/* Moves the backtrace from the front of m's body to the end of its header; max_words counts
 * the words already in the header too. Returns an ms_bt_result. */
int ms_backtrace_take(msock_msg *m, size_t max_words);

/* The receive hook of raw REQ and raw SURVEYOR: a reply's backtrace goes into its header; a
 * reply without a request id closes its pipe. */
int ms_backtrace_raw_reply_hook(ms_socket *s, ms_pipe *p, msock_msg *m);

/* Most words any header holds: a 255-hop backtrace plus a device's pipe word. */
#define MS_BT_WORDS_MAX 257

#endif
