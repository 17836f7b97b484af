/* ws_rx.h: reassembly of a WebSocket connection's binary messages from the pieces libwebsockets
 * hands its RECEIVE callback, with the rules we hold a peer to; no lws here, so it can be fuzzed. */
#ifndef MS_WS_RX_H
#define MS_WS_RX_H

#include "core/msg.h"

/* What is known of a piece (lws_is_first_fragment, lws_is_final_fragment, lws_frame_is_binary). */
enum ms_ws_rx_flag {
    MS_WS_RX_FIRST = 1,  /* the start of a message (a data frame's first bytes) */
    MS_WS_RX_FINAL = 2,  /* the end of a message */
    MS_WS_RX_BINARY = 4, /* the message's frames are binary, not text */
};

/* Results of ms_ws_rx_feed besides MSOCK_ENOMEM. */
enum ms_ws_rx_result {
    MS_WS_RX_MORE = 0,    /* the piece is kept: more of the message is to come */
    MS_WS_RX_MESSAGE = 1, /* a whole message is done */
    MS_WS_RX_REFUSED = 2, /* the peer broke a rule: close with the code in close_code */
};

/* Close codes the decoder refuses with (RFC 6455 §7.4.1). */
enum {
    MS_WS_CLOSE_PROTOCOL = 1002,   /* a continuation without a start, or a start inside a message */
    MS_WS_CLOSE_UNACCEPTABLE = 1003, /* a text message: SP speaks binary only */
    MS_WS_CLOSE_TOO_LARGE = 1009,  /* over the receive max size */
    MS_WS_CLOSE_INTERNAL = 1011,   /* we ran out of memory */
};

typedef struct ms_ws_rx {
    msock_msg *msg;  /* the message being put together; its len is the room allocated */
    size_t len;      /* bytes of it received */
    size_t max;      /* receive max size; 0: none */
    bool in_message; /* a message was started and its final piece has not come */
    int close_code;  /* not 0: refused (or out of memory); the decoder takes nothing more */
} ms_ws_rx;

/* A decoder for messages of at most max bytes (0: no limit). A zeroed ms_ws_rx is one with no
 * limit. */
void ms_ws_rx_init(ms_ws_rx *r, size_t max);
/* Takes one piece of len bytes with its flags (enum ms_ws_rx_flag); frame_rest is how many
 * bytes of the piece's frame are still to come (lws_remaining_packet_payload), used to size the
 * buffer and to refuse an announced frame over the max before its bytes come. Returns
 * MS_WS_RX_MORE, MS_WS_RX_MESSAGE with the message in *out (the caller's), MS_WS_RX_REFUSED,
 * or MSOCK_ENOMEM. After a refusal or MSOCK_ENOMEM the partial message is freed and every
 * later call returns the same without looking at its piece. */
int ms_ws_rx_feed(ms_ws_rx *r, unsigned flags, const void *in, size_t len, size_t frame_rest,
                  msock_msg **out);
/* The reason text sent with a close code of ours. */
const char *ms_ws_rx_close_reason(int code);
/* Frees a partial message. */
void ms_ws_rx_fini(ms_ws_rx *r);

#endif
