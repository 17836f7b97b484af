/* group_wire.h: the group protocol's messages (docs/group-protocol.md): one decoder that checks
 * every byte, and encoders that build each message into a buffer. Shared by hub and client. */
#ifndef MS_GROUP_WIRE_H
#define MS_GROUP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ms_gw_type {
    MS_GW_LIST = 0x01,
    MS_GW_CREATE = 0x02,
    MS_GW_JOIN = 0x03,
    MS_GW_LEAVE = 0x04,
    MS_GW_DELETE = 0x05,
    MS_GW_WHOAMI = 0x06,
    MS_GW_PEERS = 0x07,
    MS_GW_RELAY = 0x08,
    MS_GW_SEND = 0x10,
    MS_GW_REPLY = 0x81,
    MS_GW_DATA = 0x90,
    MS_GW_RELAYED = 0x91,
    MS_GW_EVENT = 0xA0,
    MS_GW_CLOSING = 0xB0,
};

enum ms_gw_status {
    MS_GW_OK = 0,
    MS_GW_NOT_FOUND = 1,
    MS_GW_EXISTS = 2,
    MS_GW_DENIED = 3,
    MS_GW_FULL = 4,
    MS_GW_MASTER_PRESENT = 5,
    MS_GW_NOT_MASTER = 6,
    MS_GW_NO_MASTER = 7,
    MS_GW_INVALID = 8,
    MS_GW_TOO_LARGE = 9,
    MS_GW_HUB_FULL = 10,
    MS_GW_TOO_MANY_GROUPS = 11,
    MS_GW_AUTH_FAILURES = 12,
    MS_GW_STATUS_COUNT
};

enum ms_gw_event {
    MS_GW_EV_MEMBER_JOINED = 1,
    MS_GW_EV_MEMBER_LEFT = 2,
    MS_GW_EV_MASTER_JOINED = 3,
    MS_GW_EV_MASTER_LEFT = 4,
    MS_GW_EV_GROUP_DELETED = 5,
    MS_GW_EV_UNDELIVERED = 6,
};

#define MS_GW_FLAG_MASTER 1u  /* LIST entry and JOIN reply: a master is present */
#define MS_GW_ID_LEN 8
#define MS_GW_LIST_ENTRY_MIN 14 /* group, members, capacity, flags, name length */
/* Longest header before a body: RELAY with 255 ids. */
#define MS_GW_HEAD_MAX (1 + 4 + 1 + 255 * MS_GW_ID_LEN)

typedef struct ms_gw_str {
    const uint8_t *p;
    size_t len;
} ms_gw_str;

/* A decoded message; pointers point into the decoded buffer. Fields a type lacks are 0. */
typedef struct ms_gw_msg {
    uint8_t type;
    uint8_t op;     /* REPLY: the request's type */
    uint32_t req;   /* requests and REPLY */
    uint8_t status; /* REPLY, EVENT, CLOSING */
    uint8_t role;   /* JOIN */
    uint8_t event;  /* EVENT */
    uint8_t flags;  /* JOIN reply */
    uint32_t group; /* LEAVE, DELETE, SEND, DATA, EVENT; CREATE and JOIN replies */
    uint32_t capacity; /* CREATE; JOIN reply */
    uint32_t count; /* LIST and PEERS replies: entries */
    uint64_t id;    /* SEND to, DATA/RELAYED from, EVENT who, WHOAMI reply */
    ms_gw_str name, password, master_password; /* CREATE, JOIN (password) */
    const uint8_t *ids; /* RELAY ids, PEERS reply ids, RELAY reply unknown ids: n_ids x u64 */
    size_t n_ids;
    const uint8_t *entries; /* LIST reply: count entries, checked, walk with ms_gw_list_next */
    size_t entries_len;
    size_t head_len; /* SEND, DATA, RELAYED, RELAY: bytes before the body */
} ms_gw_msg;

/* Decodes buf[0..len). from_hub selects the hub-to-client types (a client decodes with true, a
 * hub with false). Returns 0, or -1 for anything malformed: unknown type, short, a string or a
 * list past the end, trailing bytes after a message without a body, a bad role, event or
 * status. Never reads outside buf. */
int ms_gw_decode(const uint8_t *buf, size_t len, bool from_hub, ms_gw_msg *out);

/* One LIST reply entry. *pos starts at 0; returns false after the last (entries were checked by
 * ms_gw_decode). */
typedef struct ms_gw_list_entry {
    uint32_t group, members, capacity;
    uint8_t flags;
    ms_gw_str name;
} ms_gw_list_entry;
bool ms_gw_list_next(const ms_gw_msg *m, size_t *pos, ms_gw_list_entry *e);

static inline uint64_t ms_gw_id_at(const uint8_t *ids, size_t i)
{
    const uint8_t *b = ids + i * MS_GW_ID_LEN;
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | b[k];
    return v;
}

/* Encoders: each writes one message (without a body) into buf, which has room for cap bytes,
 * and returns its length, or 0 when it does not fit or a string is over 255 bytes. */
size_t ms_gw_put_request(uint8_t *buf, size_t cap, uint8_t type, uint32_t req); /* LIST WHOAMI PEERS */
size_t ms_gw_put_create(uint8_t *buf, size_t cap, uint32_t req, uint32_t capacity, ms_gw_str name,
                        ms_gw_str password, ms_gw_str master_password);
size_t ms_gw_put_join(uint8_t *buf, size_t cap, uint32_t req, uint8_t role, ms_gw_str name,
                      ms_gw_str password);
size_t ms_gw_put_group_op(uint8_t *buf, size_t cap, uint8_t type, uint32_t req, uint32_t group); /* LEAVE DELETE */
size_t ms_gw_put_relay_head(uint8_t *buf, size_t cap, uint32_t req, const uint64_t *ids, size_t n);
size_t ms_gw_put_send_head(uint8_t *buf, size_t cap, uint32_t group, uint64_t to);
/* REPLY head (type, op, req, status); the payload follows, put with the helpers below. */
size_t ms_gw_put_reply_head(uint8_t *buf, size_t cap, uint8_t op, uint32_t req, uint8_t status);
size_t ms_gw_put_data_head(uint8_t *buf, size_t cap, uint32_t group, uint64_t from);
size_t ms_gw_put_relayed_head(uint8_t *buf, size_t cap, uint64_t from);
size_t ms_gw_put_event(uint8_t *buf, size_t cap, uint8_t event, uint32_t group, uint64_t who,
                       uint8_t status);
size_t ms_gw_put_closing(uint8_t *buf, size_t cap, uint8_t status);
/* Payload pieces: u8, u32, u64 and str8 at buf (room for cap); return bytes written or 0. */
size_t ms_gw_put_u8(uint8_t *buf, size_t cap, uint8_t v);
size_t ms_gw_put_u32(uint8_t *buf, size_t cap, uint32_t v);
size_t ms_gw_put_u64(uint8_t *buf, size_t cap, uint64_t v);
size_t ms_gw_put_str8(uint8_t *buf, size_t cap, ms_gw_str s);

/* The libmsock error for a status (0 for OK, MSOCK_EPROTO for a status this version lacks). */
int ms_gw_status_error(uint8_t status);

#endif
