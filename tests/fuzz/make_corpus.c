/* make_corpus.c: writes the fuzz harnesses' seed inputs into tests/fuzz/corpus/ (run by hand
 * when a decoder changes: see run_fuzz.sh's header). Valid messages of every kind, and edges. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/defs.h"
#include "protocol/group_wire.h"

#define STR(lit) ((ms_gw_str){(const uint8_t *)(lit), sizeof(lit) - 1})

static const char *corpus_root = "tests/fuzz/corpus";

static void corpus_write(const char *harness, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", corpus_root, harness);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", corpus_root, harness, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* A growable byte string for building inputs. */
typedef struct seed {
    uint8_t b[4096];
    size_t n;
} seed;

static void seed_put(seed *s, const void *p, size_t n)
{
    if (s->n + n > sizeof(s->b))
        abort();
    memcpy(s->b + s->n, p, n);
    s->n += n;
}
static void seed_u8(seed *s, uint8_t v)
{
    seed_put(s, &v, 1);
}
static void seed_u32(seed *s, uint32_t v)
{
    uint8_t w[4];
    ms_put_u32be(w, v);
    seed_put(s, w, 4);
}
static void seed_u64(seed *s, uint64_t v)
{
    seed_u32(s, (uint32_t)(v >> 32));
    seed_u32(s, (uint32_t)v);
}

/* sp_stream input: [control][max size index][n][n splits][SP header][stream]. */
static void stream_start(seed *s, uint8_t control, uint8_t max_index, const uint8_t *splits,
                         uint8_t n, uint16_t proto)
{
    s->n = 0;
    seed_u8(s, control);
    seed_u8(s, max_index);
    seed_u8(s, n);
    seed_put(s, splits, n);
    uint8_t head[8] = {0, 'S', 'P', 0, (uint8_t)(proto >> 8), (uint8_t)proto, 0, 0};
    seed_put(s, head, 8);
}
static void stream_msg(seed *s, bool ipc, uint64_t len, const void *body, size_t body_n)
{
    if (ipc)
        seed_u8(s, 1);
    seed_u64(s, len);
    seed_put(s, body, body_n);
}

static void make_sp_stream(void)
{
    static const uint8_t body[300] = {'h', 'e', 'l', 'l', 'o'};
    static const uint8_t ones[] = {1}, mixed[] = {1, 3, 7, 2}, big[] = {64, 200};
    seed s;
    for (int ipc = 0; ipc < 2; ipc++) {
        const char *fw = ipc ? "ipc" : "tcp";
        char name[64];
        stream_start(&s, (uint8_t)ipc, 5, NULL, 0, MSOCK_PROTO_REQ);
        stream_msg(&s, ipc, 0, NULL, 0);
        stream_msg(&s, ipc, 5, body, 5);
        stream_msg(&s, ipc, 12, "\x80\0\0\1request!", 12);
        snprintf(name, sizeof(name), "%s_three_messages", fw);
        corpus_write("sp_stream", name, s.b, s.n);

        stream_start(&s, (uint8_t)ipc, 3, ones, 1, MSOCK_PROTO_PAIR1);
        stream_msg(&s, ipc, 9, "\0\0\0\1pair", 8);
        snprintf(name, sizeof(name), "%s_byte_by_byte_truncated", fw);
        corpus_write("sp_stream", name, s.b, s.n);

        stream_start(&s, (uint8_t)(ipc | 2), 4, big, 2, MSOCK_PROTO_PUSH);
        stream_msg(&s, ipc, 300, body, 300);
        stream_msg(&s, ipc, 5, body, 5);
        snprintf(name, sizeof(name), "%s_direct_body", fw);
        corpus_write("sp_stream", name, s.b, s.n);

        stream_start(&s, (uint8_t)ipc, 4, mixed, 4, MSOCK_PROTO_BUS);
        stream_msg(&s, ipc, 5, body, 5);
        stream_msg(&s, ipc, 5, body, 5);
        stream_msg(&s, ipc, 0, NULL, 0);
        snprintf(name, sizeof(name), "%s_mixed_splits", fw);
        corpus_write("sp_stream", name, s.b, s.n);

        stream_start(&s, (uint8_t)ipc, 1, NULL, 0, MSOCK_PROTO_PULL);
        stream_msg(&s, ipc, 17, body, 17);
        snprintf(name, sizeof(name), "%s_over_max", fw);
        corpus_write("sp_stream", name, s.b, s.n);

        stream_start(&s, (uint8_t)ipc, 5, NULL, 0, MSOCK_PROTO_SUB);
        stream_msg(&s, ipc, UINT64_C(1) << 63, body, 8);
        snprintf(name, sizeof(name), "%s_length_2_63", fw);
        corpus_write("sp_stream", name, s.b, s.n);
    }
    stream_start(&s, 1, 5, NULL, 0, MSOCK_PROTO_REP);
    seed_u8(&s, 2);
    seed_u64(&s, 1);
    seed_u8(&s, 'x');
    corpus_write("sp_stream", "ipc_bad_type", s.b, s.n);

    s.n = 0;
    seed_put(&s, "\0\5\0\0\0SP\1\0\x30\0\1", 13);
    corpus_write("sp_stream", "bad_header_version", s.b, s.n);
    s.n = 0;
    seed_put(&s, "\0\5\0GET / HTTP/1.1\r\n\r\n", 22);
    corpus_write("sp_stream", "http_request", s.b, s.n);
}

static void make_url(void)
{
    static const char *urls[] = {
        "tcp://127.0.0.1:5555", "tcp://*:0", "tcp://:80", "tcp://[::1]:65535", "tcp4://localhost:1",
        "tcp6://[fe80::1%25eth0]:9", "TCP://Host:7", "tcp://host:65536", "tcp://[::1:5", "tcp://host",
        "ipc:///tmp/sock", "ipc://rel/path", "ipc://", "inproc://name", "inproc://", "ws://h:80/p/q",
        "ws://[::1]:0", "ws://*:8080/", "wss://x:1/", "tls+tcp://a:1", "nope", "://x", "tcp://h:-1",
        "tcp://h:00000000000000000080",
    };
    char name[32];
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        snprintf(name, sizeof(name), "url_%02zu", i);
        corpus_write("url", name, urls[i], strlen(urls[i]));
    }
    char longest[MS_URL_MAX + 8];
    memset(longest, 'a', sizeof(longest));
    memcpy(longest, "ipc:///", 7);
    corpus_write("url", "too_long", longest, sizeof(longest));
    corpus_write("url", "exactly_max", longest, MS_URL_MAX);
}

/* proto_headers input, direct mode: [0x00][max words][k][k header words][body]. */
static void make_proto_headers(void)
{
    seed s;
    s.n = 0;
    seed_put(&s, "\0\0\0", 3);
    seed_u32(&s, 0x80000001u);
    seed_put(&s, "body", 4);
    corpus_write("proto_headers", "bt_id_only", s.b, s.n);

    s.n = 0;
    seed_put(&s, "\0\x08\0", 3);
    seed_u32(&s, 7);
    seed_u32(&s, 9);
    seed_u32(&s, 0x80001234u);
    corpus_write("proto_headers", "bt_two_hops", s.b, s.n);

    s.n = 0;
    seed_put(&s, "\0\x02\0", 3);
    seed_u32(&s, 1);
    seed_u32(&s, 2);
    seed_u32(&s, 0x80000003u);
    corpus_write("proto_headers", "bt_too_long", s.b, s.n);

    s.n = 0;
    seed_put(&s, "\0\x08\0", 3);
    seed_u32(&s, 1);
    seed_u32(&s, 2);
    seed_put(&s, "\x80\0", 2);
    corpus_write("proto_headers", "bt_malformed", s.b, s.n);

    s.n = 0;
    seed_put(&s, "\0\0\2", 3);
    seed_u32(&s, 5);
    seed_u32(&s, 6);
    seed_u32(&s, 0x80000009u);
    corpus_write("proto_headers", "bt_prefilled_header", s.b, s.n);

    s.n = 0;
    seed_put(&s, "\0\0\0", 3);
    for (uint32_t i = 0; i < 255; i++)
        seed_u32(&s, i + 1);
    seed_u32(&s, 0xFFFFFFFFu);
    corpus_write("proto_headers", "bt_255_hops", s.b, s.n);

    /* Hook mode: [0x80 | socket index][maxttl - 1][body as received]. The index is byte % 10:
     * pair1, pair1 raw, rep, rep raw, respondent, respondent raw, req, req raw, surveyor,
     * surveyor raw. */
    static const char *sockets[] = {"pair1", "pair1_raw", "rep", "rep_raw", "respondent",
                                    "respondent_raw", "req", "req_raw", "surveyor", "surveyor_raw"};
    for (unsigned i = 0; i < 10; i++) {
        uint8_t mode = (uint8_t)(0x80 + (i + 2) % 10); /* 0x80 % 10 == 8 */
        char name[64];
        s.n = 0;
        seed_u8(&s, mode);
        seed_u8(&s, 7);
        if (i < 2)
            seed_u32(&s, 3); /* hop count */
        else if (i < 6)
            seed_u32(&s, 0x80000042u); /* request or survey id, no hops */
        else {
            if (i % 2)
                seed_u32(&s, 11); /* raw reply: a pipe hop, then the id */
            seed_u32(&s, 0x80000042u);
        }
        seed_put(&s, "payload", 7);
        snprintf(name, sizeof(name), "hook_%s", sockets[i]);
        corpus_write("proto_headers", name, s.b, s.n);

        s.n = 0;
        seed_u8(&s, mode);
        seed_u8(&s, 0);
        seed_put(&s, "\0\1", 2); /* shorter than any header */
        snprintf(name, sizeof(name), "hook_%s_short", sockets[i]);
        corpus_write("proto_headers", name, s.b, s.n);
    }
    s.n = 0;
    seed_u8(&s, 0x80 + 2);
    seed_u8(&s, 254);
    seed_u32(&s, 256);
    corpus_write("proto_headers", "hook_pair1_hops_256", s.b, s.n);
    s.n = 0;
    seed_u8(&s, 0x80 + 2);
    seed_u8(&s, 0);
    seed_u32(&s, 2);
    corpus_write("proto_headers", "hook_pair1_over_ttl", s.b, s.n);
}

static void make_group_wire(void)
{
    uint8_t b[1024];
    size_t n;
    uint64_t ids[3] = {1, 0x0102030405060708u, UINT64_MAX};
#define GW(name, expr)                                       \
    do {                                                     \
        n = (expr);                                          \
        if (n == 0)                                          \
            abort();                                         \
        corpus_write("group_wire", name, b, n);              \
    } while (0)
    GW("list", ms_gw_put_request(b, sizeof(b), MS_GW_LIST, 1));
    GW("whoami", ms_gw_put_request(b, sizeof(b), MS_GW_WHOAMI, 2));
    GW("peers", ms_gw_put_request(b, sizeof(b), MS_GW_PEERS, 3));
    GW("create", ms_gw_put_create(b, sizeof(b), 4, 10, STR("room"), STR("pw"), STR("master")));
    GW("create_empty_strings", ms_gw_put_create(b, sizeof(b), 4, 0, STR(""), STR(""), STR("")));
    GW("join_member", ms_gw_put_join(b, sizeof(b), 5, 0, STR("room"), STR("pw")));
    GW("join_master", ms_gw_put_join(b, sizeof(b), 5, 1, STR("room"), STR("master")));
    GW("leave", ms_gw_put_group_op(b, sizeof(b), MS_GW_LEAVE, 6, 77));
    GW("delete", ms_gw_put_group_op(b, sizeof(b), MS_GW_DELETE, 7, 77));
    n = ms_gw_put_relay_head(b, sizeof(b), 8, ids, 3);
    memcpy(b + n, "body", 4);
    corpus_write("group_wire", "relay", b, n + 4);
    n = ms_gw_put_send_head(b, sizeof(b), 77, 0);
    memcpy(b + n, "hi", 2);
    corpus_write("group_wire", "send", b, n + 2);
    n = ms_gw_put_data_head(b, sizeof(b), 77, 42);
    memcpy(b + n, "hi", 2);
    corpus_write("group_wire", "data", b, n + 2);
    n = ms_gw_put_relayed_head(b, sizeof(b), 42);
    corpus_write("group_wire", "relayed_empty", b, n);
    GW("event_joined", ms_gw_put_event(b, sizeof(b), MS_GW_EV_MEMBER_JOINED, 77, 42, 0));
    GW("event_undelivered", ms_gw_put_event(b, sizeof(b), MS_GW_EV_UNDELIVERED, 77, 0, MS_GW_NOT_FOUND));
    GW("closing", ms_gw_put_closing(b, sizeof(b), MS_GW_HUB_FULL));

    /* Replies: head, then the payload of their op. */
    n = ms_gw_put_reply_head(b, sizeof(b), MS_GW_LIST, 1, MS_GW_OK);
    n += ms_gw_put_u32(b + n, sizeof(b) - n, 2);
    for (uint32_t g = 1; g <= 2; g++) {
        n += ms_gw_put_u32(b + n, sizeof(b) - n, g);
        n += ms_gw_put_u32(b + n, sizeof(b) - n, 3);
        n += ms_gw_put_u32(b + n, sizeof(b) - n, 10);
        n += ms_gw_put_u8(b + n, sizeof(b) - n, (uint8_t)(g == 1 ? MS_GW_FLAG_MASTER : 0));
        n += ms_gw_put_str8(b + n, sizeof(b) - n, g == 1 ? STR("room") : STR(""));
    }
    corpus_write("group_wire", "reply_list", b, n);
    n = ms_gw_put_reply_head(b, sizeof(b), MS_GW_LIST, 1, MS_GW_OK);
    n += ms_gw_put_u32(b + n, sizeof(b) - n, 0);
    corpus_write("group_wire", "reply_list_empty", b, n);
    n = ms_gw_put_reply_head(b, sizeof(b), MS_GW_LIST, 1, MS_GW_OK);
    n += ms_gw_put_u32(b + n, sizeof(b) - n, 3); /* claims 3, holds 0 */
    corpus_write("group_wire", "reply_list_short", b, n);
    n = ms_gw_put_reply_head(b, sizeof(b), MS_GW_CREATE, 4, MS_GW_OK);
    n += ms_gw_put_u32(b + n, sizeof(b) - n, 77);
    corpus_write("group_wire", "reply_create", b, n);
    n = ms_gw_put_reply_head(b, sizeof(b), MS_GW_JOIN, 5, MS_GW_OK);
    n += ms_gw_put_u32(b + n, sizeof(b) - n, 77);
    n += ms_gw_put_u32(b + n, sizeof(b) - n, 10);
    n += ms_gw_put_u8(b + n, sizeof(b) - n, MS_GW_FLAG_MASTER);
    corpus_write("group_wire", "reply_join", b, n);
    GW("reply_join_denied", ms_gw_put_reply_head(b, sizeof(b), MS_GW_JOIN, 5, MS_GW_DENIED));
    GW("reply_leave", ms_gw_put_reply_head(b, sizeof(b), MS_GW_LEAVE, 6, MS_GW_OK));
    GW("reply_bad_status", ms_gw_put_reply_head(b, sizeof(b), MS_GW_DELETE, 7, 200));
    n = ms_gw_put_reply_head(b, sizeof(b), MS_GW_WHOAMI, 2, MS_GW_OK);
    n += ms_gw_put_u64(b + n, sizeof(b) - n, 42);
    corpus_write("group_wire", "reply_whoami", b, n);
    n = ms_gw_put_reply_head(b, sizeof(b), MS_GW_PEERS, 3, MS_GW_OK);
    n += ms_gw_put_u32(b + n, sizeof(b) - n, 3);
    for (int i = 0; i < 3; i++)
        n += ms_gw_put_u64(b + n, sizeof(b) - n, ids[i]);
    corpus_write("group_wire", "reply_peers", b, n);
    n = ms_gw_put_reply_head(b, sizeof(b), MS_GW_RELAY, 8, MS_GW_NOT_FOUND);
    n += ms_gw_put_u8(b + n, sizeof(b) - n, 1);
    n += ms_gw_put_u64(b + n, sizeof(b) - n, 9);
    corpus_write("group_wire", "reply_relay_unknown", b, n);
    corpus_write("group_wire", "empty", b, 0);
    corpus_write("group_wire", "unknown_type", "\x42\0\0\0\1", 5);
#undef GW
}

/* ws_rx input: [max size index] then pieces [flags][length][frame rest byte][bytes]. Max size
 * indexes: 0 = 1, 1 = 2, 2 = 16, 3 = 100, 4 = 255, 5 = 1000, 6 = 4096. A rest byte of 0xF0 or
 * more announces SIZE_MAX >> (byte - 0xF0): 0xF1 is 2^63 - 1 on 64 bits. */
enum { WS_FIRST = 1, WS_FINAL = 2, WS_BINARY = 4, WS_WHOLE = 7 };

static void ws_piece(seed *s, uint8_t flags, uint8_t len, uint8_t rest, const void *bytes)
{
    static const uint8_t filler[255] = {'p', 'i', 'e', 'c', 'e'};
    seed_u8(s, flags);
    seed_u8(s, len);
    seed_u8(s, rest);
    seed_put(s, bytes ? bytes : filler, len);
}

static void make_ws_rx(void)
{
    seed s;
#define WS_SEED(name, max_index, pieces)          \
    do {                                          \
        s.n = 0;                                  \
        seed_u8(&s, max_index);                   \
        pieces;                                   \
        corpus_write("ws_rx", name, s.b, s.n);    \
    } while (0)
    WS_SEED("one_piece", 5, ws_piece(&s, WS_WHOLE, 5, 0, "hello"));
    WS_SEED("empty_message", 5, ws_piece(&s, WS_WHOLE, 0, 0, NULL));
    WS_SEED("two_frames", 5, (ws_piece(&s, WS_FIRST | WS_BINARY, 3, 0, "hel"),
                              ws_piece(&s, WS_FINAL, 2, 0, "lo")));
    WS_SEED("frame_in_two_pieces", 5, (ws_piece(&s, WS_FIRST | WS_BINARY, 10, 20, NULL),
                                       ws_piece(&s, WS_FINAL, 20, 0, NULL)));
    s.n = 0;
    seed_u8(&s, 6);
    for (int i = 0; i < 20; i++)
        ws_piece(&s, (uint8_t)(i == 0 ? WS_FIRST | WS_BINARY : i == 19 ? WS_FINAL : 0), 10, 0, NULL);
    corpus_write("ws_rx", "many_frames", s.b, s.n);
    WS_SEED("three_messages", 4, (ws_piece(&s, WS_WHOLE, 4, 0, "one!"),
                                  ws_piece(&s, WS_FIRST | WS_BINARY, 2, 1, "tw"),
                                  ws_piece(&s, WS_FINAL, 1, 0, "o"),
                                  ws_piece(&s, WS_WHOLE, 0, 0, NULL)));
    WS_SEED("empty_pieces", 5, (ws_piece(&s, WS_FIRST | WS_BINARY, 0, 0, NULL),
                                ws_piece(&s, 0, 0, 0, NULL), ws_piece(&s, WS_FINAL, 0, 0, NULL)));
    WS_SEED("text", 5, ws_piece(&s, WS_FIRST | WS_FINAL, 2, 0, "hi"));
    WS_SEED("text_in_pieces", 5, (ws_piece(&s, WS_FIRST, 2, 0, "hi"),
                                  ws_piece(&s, WS_FINAL, 1, 0, "!")));
    WS_SEED("continuation_without_start", 5, ws_piece(&s, WS_FINAL | WS_BINARY, 3, 0, "abc"));
    WS_SEED("start_inside_message", 5, (ws_piece(&s, WS_FIRST | WS_BINARY, 1, 0, "a"),
                                        ws_piece(&s, WS_WHOLE, 1, 0, "b")));
    WS_SEED("exactly_max", 2, (ws_piece(&s, WS_WHOLE, 16, 0, NULL),
                               ws_piece(&s, WS_FIRST | WS_BINARY, 8, 8, NULL),
                               ws_piece(&s, WS_FINAL, 8, 0, NULL)));
    WS_SEED("over_max_one_piece", 2, ws_piece(&s, WS_WHOLE, 17, 0, NULL));
    WS_SEED("over_max_in_frames", 2, (ws_piece(&s, WS_FIRST | WS_BINARY, 10, 0, NULL),
                                      ws_piece(&s, WS_FINAL, 7, 0, NULL)));
    WS_SEED("announced_over_by_one", 3, ws_piece(&s, WS_FIRST | WS_BINARY, 50, 51, NULL));
    WS_SEED("announced_2_63", 6, ws_piece(&s, WS_FIRST | WS_BINARY, 4, 0xF1, NULL));
    WS_SEED("announced_size_max", 6, (ws_piece(&s, WS_FIRST | WS_BINARY, 1, 0, NULL),
                                      ws_piece(&s, 0, 4, 0xF0, NULL)));
    WS_SEED("after_refusal", 5, (ws_piece(&s, WS_FIRST | WS_FINAL, 2, 0, "hi"),
                                 ws_piece(&s, WS_WHOLE, 5, 0, "valid")));
    WS_SEED("max_one", 0, (ws_piece(&s, WS_WHOLE, 1, 0, "x"),
                           ws_piece(&s, WS_FIRST | WS_BINARY, 1, 0, "y"),
                           ws_piece(&s, WS_FINAL, 0, 0, NULL), ws_piece(&s, WS_WHOLE, 2, 0, "zz")));
    WS_SEED("final_piece_with_rest", 5, ws_piece(&s, WS_WHOLE, 2, 5, "ok"));
    WS_SEED("truncated", 5, (seed_u8(&s, WS_FIRST | WS_BINARY), seed_u8(&s, 200), seed_u8(&s, 0),
                             seed_put(&s, "short", 5)));
    WS_SEED("partial_at_end", 6, (ws_piece(&s, WS_FIRST | WS_BINARY, 255, 100, NULL),
                                  ws_piece(&s, 0, 100, 0, NULL)));
#undef WS_SEED
}

int main(int argc, char **argv)
{
    if (argc > 1)
        corpus_root = argv[1];
    if (mkdir(corpus_root, 0755) != 0 && errno != EEXIST) {
        perror(corpus_root);
        return 1;
    }
    make_sp_stream();
    make_url();
    make_proto_headers();
    make_group_wire();
    make_ws_rx();
    return 0;
}
