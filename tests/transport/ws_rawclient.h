/* ws_rawclient.h: a hand-made WebSocket client over a plain TCP socket, for tests that must send
 * what a correct client never would: any request headers, masked frames of any opcode, FIN bit
 * and length, and no answers at all. It reads the server's HTTP status, its frames (close frames
 * with their code) and the end of the connection. Every wait is bounded by a deadline of
 * testutil's clock. */
#ifndef WS_RAWCLIENT_H
#define WS_RAWCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Results besides a status, a frame or a byte count. */
enum {
    WSR_CLOSED = -1,  /* the server ended the connection (end of stream or a reset) */
    WSR_TIMEOUT = -2, /* the deadline passed with the connection still open */
};

/* Frame header bits and opcodes (RFC 6455 §5.2). */
enum {
    WSR_FIN = 0x80,
    WSR_OP_CONT = 0x0,
    WSR_OP_TEXT = 0x1,
    WSR_OP_BINARY = 0x2,
    WSR_OP_CLOSE = 0x8,
    WSR_OP_PING = 0x9,
    WSR_OP_PONG = 0xa,
};

/* Connects to 127.0.0.1:port; rcvbuf > 0 shrinks the receive buffer first (before the
 * handshake, so the window stays small). Returns the fd, or -1 with errno set. */
int wsr_connect(int port, int rcvbuf);

/* An upgrade request. NULL fields take the correct value; "" drops the header. */
typedef struct wsr_request {
    const char *path;    /* NULL: "/" */
    const char *proto;   /* Sec-WebSocket-Protocol; NULL or "": none */
    const char *key;     /* Sec-WebSocket-Key; NULL: RFC 6455's sample key */
    const char *version; /* Sec-WebSocket-Version; NULL: "13" */
    const char *extra;   /* more header lines, each ending in "\r\n"; NULL: none */
} wsr_request;

/* Writes len bytes unless the connection fails or the deadline passes (never blocks past it,
 * even when the server stops reading): 0, WSR_CLOSED or WSR_TIMEOUT. */
int wsr_send(int fd, const void *buf, size_t len, int64_t deadline);
/* Sends the request; 0, WSR_CLOSED or WSR_TIMEOUT. */
int wsr_send_request(int fd, int port, const wsr_request *r, int64_t deadline);
/* Reads an HTTP response head up to its blank line, never a byte further (frames may follow a
 * 101). Returns the status code, WSR_CLOSED when the connection ended before a status line,
 * or WSR_TIMEOUT. head (may be NULL) gets the text read, NUL-terminated. */
int wsr_read_head(int fd, char *head, size_t cap, int64_t deadline);
/* Copies the value of header `name` (case-insensitive) from a head; false when absent. */
bool wsr_head_value(const char *head, const char *name, char *out, size_t cap);

/* Connects, sends the request and reads the answer's status (or WSR_CLOSED/WSR_TIMEOUT). On
 * 101 the connection stays open in *fd_out (when not NULL); otherwise it is closed. A failed
 * connect gives WSR_CLOSED. */
int wsr_upgrade(int port, const wsr_request *r, int *fd_out);

/* Encodes one masked client frame: head = WSR_FIN (or 0) | opcode; returns its size, or 0
 * when cap is too small. The length uses the shortest encoding. */
size_t wsr_frame_encode(uint8_t *out, size_t cap, uint8_t head, const void *data, size_t len);
/* Encodes and sends one frame: 0, WSR_CLOSED or WSR_TIMEOUT. */
int wsr_send_frame(int fd, uint8_t head, const void *data, size_t len, int64_t deadline);

/* A frame from the server. Only the first sizeof data payload bytes are kept (all of a control
 * frame's); the rest are read and dropped. */
typedef struct wsr_frame {
    uint8_t opcode;
    bool fin;
    bool masked; /* a server must not mask */
    uint64_t len;
    size_t kept;
    uint8_t data[128];
} wsr_frame;
/* Reads one frame: 1, WSR_CLOSED or WSR_TIMEOUT. */
int wsr_read_frame(int fd, wsr_frame *f, int64_t deadline);
/* The status code of a close frame: 0 when it carries none. */
int wsr_close_code(const wsr_frame *f);
/* Reads frames until the connection ends, as a polite client would: a close frame is answered
 * with a close frame of the same code, and its code goes to *close_code (-1: none came, may be
 * NULL). Returns WSR_CLOSED once the server ended the connection, else WSR_TIMEOUT. */
int wsr_wait_end(int fd, int64_t deadline, int *close_code);
/* Reads and drops raw bytes until the connection ends: WSR_CLOSED or WSR_TIMEOUT. */
int wsr_wait_eof(int fd, int64_t deadline);
/* True when the server sent something (or ended the connection) that is not read yet. */
bool wsr_readable(int fd);

/* A plain HTTP GET (Connection: close) and its whole answer. */
typedef struct wsr_http_reply {
    int status; /* or WSR_CLOSED / WSR_TIMEOUT */
    char head[4096];
    char content_type[128];
    uint8_t *body; /* malloc'd, NUL-terminated; free with wsr_http_reply_free */
    size_t body_len;
} wsr_http_reply;
void wsr_http_get(int port, const char *path, wsr_http_reply *r, int64_t deadline);
void wsr_http_reply_free(wsr_http_reply *r);

#endif
