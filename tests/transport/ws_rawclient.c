/* ws_rawclient.c: a hand-made WebSocket client over a plain TCP socket (see ws_rawclient.h),
 * for the hostile ws:// tests. It asserts nothing itself: every outcome is returned. */
#include "transport/ws_rawclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

int wsr_connect(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Waits for `events` on fd until the deadline: true when one (or an error) is there. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)tu_ms_left(deadline));
        if (n < 0 && errno == EINTR)
            continue;
        return n > 0;
    }
}

int wsr_send(int fd, const void *buf, size_t len, int64_t deadline)
{
    const uint8_t *at = buf;
    while (len > 0) {
        /* Non-blocking writes: a server that stops reading must not hang the test. */
        ssize_t n = send(fd, at, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(fd, POLLOUT, deadline))
                return WSR_TIMEOUT;
            continue;
        }
        if (n <= 0)
            return WSR_CLOSED;
        at += n;
        len -= (size_t)n;
    }
    return 0;
}

int wsr_send_request(int fd, int port, const wsr_request *r, int64_t deadline)
{
    const char *key = r->key ? r->key : "dGhlIHNhbXBsZSBub25jZQ==";
    const char *version = r->version ? r->version : "13";
    const char *proto = r->proto ? r->proto : "";
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\n%s%s%s%s%s%s%s%s%s%s\r\n",
                     r->path ? r->path : "/", port, *key ? "Sec-WebSocket-Key: " : "", key,
                     *key ? "\r\n" : "", *version ? "Sec-WebSocket-Version: " : "", version,
                     *version ? "\r\n" : "", *proto ? "Sec-WebSocket-Protocol: " : "", proto,
                     *proto ? "\r\n" : "", r->extra ? r->extra : "");
    if (n < 0 || (size_t)n >= sizeof req)
        return WSR_CLOSED;
    return wsr_send(fd, req, (size_t)n, deadline);
}

int wsr_read_head(int fd, char *head, size_t cap, int64_t deadline)
{
    char local[8192];
    if (!head || cap > sizeof local) {
        head = local;
        cap = sizeof local;
    }
    size_t got = 0;
    head[0] = '\0';
    bool ended = false;
    /* One byte at a time: whatever follows the head (a 101's first frames) stays unread. */
    while (got + 1 < cap) {
        bool closed = false;
        if (tu_read_until(fd, head + got, 1, deadline, &closed) != 1) {
            ended = closed;
            if (!closed)
                return WSR_TIMEOUT;
            break;
        }
        head[++got] = '\0';
        if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    int status = 0;
    if (sscanf(head, "HTTP/1.%*d %d", &status) == 1)
        return status;
    return ended ? WSR_CLOSED : WSR_TIMEOUT;
}

bool wsr_head_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nl) != 0 || line[nl] != ':')
            continue;
        const char *v = line + nl + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t len = strcspn(v, "\r\n");
        if (len >= cap)
            len = cap - 1;
        memcpy(out, v, len);
        out[len] = '\0';
        return true;
    }
    return false;
}

int wsr_upgrade(int port, const wsr_request *r, int *fd_out)
{
    int fd = wsr_connect(port, 0);
    if (fd < 0)
        return WSR_CLOSED;
    int64_t deadline = tu_deadline_in(TU_DEADLINE_MS);
    int status = wsr_send_request(fd, port, r, deadline);
    if (status == 0)
        status = wsr_read_head(fd, NULL, 0, deadline);
    if (fd_out && status == 101)
        *fd_out = fd;
    else
        close(fd);
    return status;
}

size_t wsr_frame_encode(uint8_t *out, size_t cap, uint8_t head, const void *data, size_t len)
{
    /* A new mask per frame, never all zero, as a browser's. */
    static uint32_t mask_seed = 0x5eed1234u;
    uint32_t mask = (mask_seed = mask_seed * 1664525u + 1013904223u) | 0x01010101u;
    size_t h = 0, hlen = 2 + 4 + (len < 126 ? 0 : len < 65536 ? 2 : 8);
    if (cap < hlen || cap - hlen < len)
        return 0;
    out[h++] = head;
    if (len < 126) {
        out[h++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t key[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
                      (uint8_t)mask};
    memcpy(out + h, key, 4);
    h += 4;
    const uint8_t *in = data;
    for (size_t i = 0; i < len; i++)
        out[h + i] = in[i] ^ key[i & 3];
    return h + len;
}

int wsr_send_frame(int fd, uint8_t head, const void *data, size_t len, int64_t deadline)
{
    size_t cap = len + 14;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return WSR_CLOSED;
    size_t n = wsr_frame_encode(buf, cap, head, data, len);
    int rv = wsr_send(fd, buf, n, deadline);
    free(buf);
    return rv;
}

/* Reads exactly len bytes: 1, WSR_CLOSED or WSR_TIMEOUT. */
static int read_exact(int fd, void *buf, size_t len, int64_t deadline)
{
    bool closed = false;
    if (tu_read_until(fd, buf, len, deadline, &closed) == len)
        return 1;
    return closed ? WSR_CLOSED : WSR_TIMEOUT;
}

int wsr_read_frame(int fd, wsr_frame *f, int64_t deadline)
{
    uint8_t b[8];
    int rv = read_exact(fd, b, 2, deadline);
    if (rv != 1)
        return rv;
    memset(f, 0, sizeof *f);
    f->fin = (b[0] & 0x80) != 0;
    f->opcode = b[0] & 0x0f;
    f->masked = (b[1] & 0x80) != 0;
    uint64_t len = b[1] & 0x7f;
    size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
    if (ext) {
        if ((rv = read_exact(fd, b, ext, deadline)) != 1)
            return rv;
        len = 0;
        for (size_t i = 0; i < ext; i++)
            len = len << 8 | b[i];
    }
    uint8_t key[4] = {0};
    if (f->masked && (rv = read_exact(fd, key, 4, deadline)) != 1)
        return rv;
    f->len = len;
    f->kept = len < sizeof f->data ? (size_t)len : sizeof f->data;
    if (f->kept && (rv = read_exact(fd, f->data, f->kept, deadline)) != 1)
        return rv;
    for (size_t i = 0; f->masked && i < f->kept; i++)
        f->data[i] ^= key[i & 3];
    uint8_t sink[4096];
    for (uint64_t left = len - f->kept; left > 0;) {
        size_t n = left < sizeof sink ? (size_t)left : sizeof sink;
        if ((rv = read_exact(fd, sink, n, deadline)) != 1)
            return rv;
        left -= n;
    }
    return 1;
}

int wsr_close_code(const wsr_frame *f)
{
    return f->kept >= 2 ? f->data[0] << 8 | f->data[1] : 0;
}

int wsr_wait_end(int fd, int64_t deadline, int *close_code)
{
    if (close_code)
        *close_code = -1;
    bool answered = false;
    for (;;) {
        wsr_frame f;
        int rv = wsr_read_frame(fd, &f, deadline);
        if (rv != 1)
            return rv;
        if (f.opcode != WSR_OP_CLOSE || answered)
            continue;
        if (close_code)
            *close_code = wsr_close_code(&f);
        /* The server may wait for our close before it ends the TCP connection. */
        (void)wsr_send_frame(fd, WSR_FIN | WSR_OP_CLOSE, f.data, f.kept < 2 ? f.kept : 2,
                             deadline);
        answered = true;
    }
}

int wsr_wait_eof(int fd, int64_t deadline)
{
    uint8_t sink[65536];
    for (;;) {
        bool closed = false;
        if (tu_read_until(fd, sink, sizeof sink, deadline, &closed) < sizeof sink)
            return closed ? WSR_CLOSED : WSR_TIMEOUT;
    }
}

bool wsr_readable(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 0) > 0;
}

void wsr_http_get(int port, const char *path, wsr_http_reply *r, int64_t deadline)
{
    memset(r, 0, sizeof *r);
    r->status = WSR_CLOSED;
    int fd = wsr_connect(port, 0);
    if (fd < 0)
        return;
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     "Connection: close\r\n\r\n", path, port);
    r->status = wsr_send(fd, req, (size_t)n, deadline);
    if (r->status == 0)
        r->status = wsr_read_head(fd, r->head, sizeof r->head, deadline);
    wsr_head_value(r->head, "Content-Type", r->content_type, sizeof r->content_type);
    char value[32];
    bool sized = wsr_head_value(r->head, "Content-Length", value, sizeof value);
    size_t want = sized ? (size_t)strtoull(value, NULL, 10) : 0;
    size_t cap = sized ? want : 65536;
    r->body = malloc(cap + 1);
    if (r->body && r->status > 0) {
        /* Without a length the body runs to the end of the connection (Connection: close). */
        r->body_len = tu_read_until(fd, r->body, cap, deadline, NULL);
    }
    if (r->body)
        r->body[r->body_len] = '\0';
    close(fd);
}

void wsr_http_reply_free(wsr_http_reply *r)
{
    free(r->body);
    r->body = NULL;
}
