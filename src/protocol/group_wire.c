/* group_wire.c: the group protocol's codec (docs/group-protocol.md): a decoder that checks every
 * byte of a message against its type's layout, and the encoders both ends build messages with. */
#include <string.h>

#include "protocol/group_wire.h"
#include "core/defs.h"

/* A bounds-checked reader over one message. Every get fails (and keeps failing) once a field
 * would run past the end, so a decoder checks ok once at the end. */
typedef struct wire_reader {
    const uint8_t *p;
    size_t len, pos;
    bool ok;
} wire_reader;

static bool wire_need(wire_reader *r, size_t n)
{
    if (!r->ok || r->len - r->pos < n)
        r->ok = false;
    return r->ok;
}

static uint8_t wire_u8(wire_reader *r)
{
    return wire_need(r, 1) ? r->p[r->pos++] : 0;
}

static uint32_t wire_u32(wire_reader *r)
{
    if (!wire_need(r, 4))
        return 0;
    const uint8_t *b = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t wire_u64(wire_reader *r)
{
    if (!wire_need(r, 8))
        return 0;
    uint64_t v = ms_gw_id_at(r->p + r->pos, 0);
    r->pos += 8;
    return v;
}

static ms_gw_str wire_str8(wire_reader *r)
{
    ms_gw_str s = {NULL, 0};
    size_t n = wire_u8(r);
    if (wire_need(r, n)) {
        s.p = r->p + r->pos;
        s.len = n;
        r->pos += n;
    }
    return s;
}

/* n ids of 8 bytes each; returns where they start. */
static const uint8_t *wire_ids(wire_reader *r, size_t n)
{
    if (n > (r->len - r->pos) / MS_GW_ID_LEN) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *ids = r->p + r->pos;
    r->pos += n * MS_GW_ID_LEN;
    return ids;
}

/* The message ends here: nothing may follow. */
static bool wire_end(const wire_reader *r)
{
    return r->ok && r->pos == r->len;
}

static bool wire_is_request(uint8_t op)
{
    return op >= MS_GW_LIST && op <= MS_GW_RELAY;
}

static bool wire_status_ok(uint8_t status)
{
    return status < MS_GW_STATUS_COUNT;
}

static int decode_request(wire_reader *r, ms_gw_msg *m)
{
    switch (m->type) {
    case MS_GW_LIST:
    case MS_GW_WHOAMI:
    case MS_GW_PEERS:
        m->req = wire_u32(r);
        break;
    case MS_GW_CREATE:
        m->req = wire_u32(r);
        m->capacity = wire_u32(r);
        m->name = wire_str8(r);
        m->password = wire_str8(r);
        m->master_password = wire_str8(r);
        break;
    case MS_GW_JOIN:
        m->req = wire_u32(r);
        m->role = wire_u8(r);
        if (m->role > 1)
            return -1;
        m->name = wire_str8(r);
        m->password = wire_str8(r);
        break;
    case MS_GW_LEAVE:
    case MS_GW_DELETE:
        m->req = wire_u32(r);
        m->group = wire_u32(r);
        break;
    case MS_GW_RELAY:
        m->req = wire_u32(r);
        m->n_ids = wire_u8(r);
        if (r->ok && m->n_ids == 0)
            return -1;
        m->ids = wire_ids(r, m->n_ids);
        m->head_len = r->pos;
        return r->ok ? 0 : -1; /* the body is the rest */
    case MS_GW_SEND:
        m->group = wire_u32(r);
        m->id = wire_u64(r);
        m->head_len = r->pos;
        return r->ok ? 0 : -1;
    default:
        return -1;
    }
    return wire_end(r) ? 0 : -1;
}

/* LIST reply entries: count of them, each whole, ending exactly at the end. */
static int decode_list_entries(wire_reader *r, ms_gw_msg *m)
{
    m->count = wire_u32(r);
    if (!r->ok || m->count > (r->len - r->pos) / MS_GW_LIST_ENTRY_MIN)
        return -1;
    m->entries = r->p + r->pos;
    size_t start = r->pos;
    for (uint32_t i = 0; i < m->count && r->ok; i++) {
        if (wire_need(r, MS_GW_LIST_ENTRY_MIN - 1)) /* group, members, capacity, flags */
            r->pos += MS_GW_LIST_ENTRY_MIN - 1;
        (void)wire_str8(r);
    }
    m->entries_len = r->pos - start;
    return wire_end(r) ? 0 : -1;
}

static int decode_reply(wire_reader *r, ms_gw_msg *m)
{
    m->op = wire_u8(r);
    m->req = wire_u32(r);
    m->status = wire_u8(r);
    if (!r->ok || !wire_is_request(m->op) || !wire_status_ok(m->status))
        return -1;
    if (m->op == MS_GW_RELAY && (m->status == MS_GW_OK || m->status == MS_GW_NOT_FOUND)) {
        m->n_ids = wire_u8(r);
        /* OK names no unknown ids; NOT_FOUND names at least one. */
        if (r->ok && (m->status == MS_GW_OK) != (m->n_ids == 0))
            return -1;
        m->ids = wire_ids(r, m->n_ids);
        return wire_end(r) ? 0 : -1;
    }
    if (m->status != MS_GW_OK)
        return wire_end(r) ? 0 : -1;
    switch (m->op) {
    case MS_GW_LIST:
        return decode_list_entries(r, m);
    case MS_GW_CREATE:
        m->group = wire_u32(r);
        break;
    case MS_GW_JOIN:
        m->group = wire_u32(r);
        m->capacity = wire_u32(r);
        m->flags = wire_u8(r);
        break;
    case MS_GW_WHOAMI:
        m->id = wire_u64(r);
        break;
    case MS_GW_PEERS:
        m->count = wire_u32(r);
        if (!r->ok)
            return -1;
        m->n_ids = m->count;
        m->ids = wire_ids(r, m->n_ids);
        break;
    default: /* LEAVE, DELETE: nothing */
        break;
    }
    return wire_end(r) ? 0 : -1;
}

static int decode_from_hub(wire_reader *r, ms_gw_msg *m)
{
    switch (m->type) {
    case MS_GW_REPLY:
        return decode_reply(r, m);
    case MS_GW_DATA:
        m->group = wire_u32(r);
        m->id = wire_u64(r);
        m->head_len = r->pos;
        return r->ok ? 0 : -1;
    case MS_GW_RELAYED:
        m->id = wire_u64(r);
        m->head_len = r->pos;
        return r->ok ? 0 : -1;
    case MS_GW_EVENT:
        m->event = wire_u8(r);
        m->group = wire_u32(r);
        m->id = wire_u64(r);
        m->status = wire_u8(r);
        if (m->event < MS_GW_EV_MEMBER_JOINED || m->event > MS_GW_EV_UNDELIVERED ||
            !wire_status_ok(m->status))
            return -1;
        return wire_end(r) ? 0 : -1;
    case MS_GW_CLOSING:
        m->status = wire_u8(r);
        return wire_end(r) && wire_status_ok(m->status) ? 0 : -1;
    default:
        return -1;
    }
}

int ms_gw_decode(const uint8_t *buf, size_t len, bool from_hub, ms_gw_msg *out)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL || len == 0)
        return -1;
    wire_reader r = {buf, len, 1, true};
    out->type = buf[0];
    int rv = from_hub ? decode_from_hub(&r, out) : decode_request(&r, out);
    if (rv != 0)
        memset(out, 0, sizeof *out);
    return rv;
}

bool ms_gw_list_next(const ms_gw_msg *m, size_t *pos, ms_gw_list_entry *e)
{
    if (m->entries == NULL || *pos >= m->entries_len)
        return false;
    wire_reader r = {m->entries, m->entries_len, *pos, true};
    e->group = wire_u32(&r);
    e->members = wire_u32(&r);
    e->capacity = wire_u32(&r);
    e->flags = wire_u8(&r);
    e->name = wire_str8(&r);
    if (!r.ok)
        return false;
    *pos = r.pos;
    return true;
}

/* A bounds-checked writer: once something does not fit, every later put fails too and the
 * message's length is 0. */
typedef struct wire_writer {
    uint8_t *p;
    size_t cap, pos;
    bool ok;
} wire_writer;

static void put_bytes(wire_writer *w, const void *b, size_t n)
{
    if (!w->ok || w->cap - w->pos < n) {
        w->ok = false;
        return;
    }
    if (n)
        memcpy(w->p + w->pos, b, n);
    w->pos += n;
}

static void put_u8(wire_writer *w, uint8_t v)
{
    put_bytes(w, &v, 1);
}

static void put_u32(wire_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put_bytes(w, b, 4);
}

static void put_u64(wire_writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    put_bytes(w, b, 8);
}

static void put_str8(wire_writer *w, ms_gw_str s)
{
    if (s.len > 255 || (s.len > 0 && s.p == NULL)) {
        w->ok = false;
        return;
    }
    put_u8(w, (uint8_t)s.len);
    put_bytes(w, s.p, s.len);
}

static size_t put_done(const wire_writer *w)
{
    return w->ok ? w->pos : 0;
}

#define WRITER(buf, cap) {(buf), (buf) != NULL ? (cap) : 0, 0, (buf) != NULL}

size_t ms_gw_put_request(uint8_t *buf, size_t cap, uint8_t type, uint32_t req)
{
    if (type != MS_GW_LIST && type != MS_GW_WHOAMI && type != MS_GW_PEERS)
        return 0;
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, type);
    put_u32(&w, req);
    return put_done(&w);
}

size_t ms_gw_put_create(uint8_t *buf, size_t cap, uint32_t req, uint32_t capacity, ms_gw_str name,
                        ms_gw_str password, ms_gw_str master_password)
{
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, MS_GW_CREATE);
    put_u32(&w, req);
    put_u32(&w, capacity);
    put_str8(&w, name);
    put_str8(&w, password);
    put_str8(&w, master_password);
    return put_done(&w);
}

size_t ms_gw_put_join(uint8_t *buf, size_t cap, uint32_t req, uint8_t role, ms_gw_str name,
                      ms_gw_str password)
{
    if (role > 1)
        return 0;
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, MS_GW_JOIN);
    put_u32(&w, req);
    put_u8(&w, role);
    put_str8(&w, name);
    put_str8(&w, password);
    return put_done(&w);
}

size_t ms_gw_put_group_op(uint8_t *buf, size_t cap, uint8_t type, uint32_t req, uint32_t group)
{
    if (type != MS_GW_LEAVE && type != MS_GW_DELETE)
        return 0;
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, type);
    put_u32(&w, req);
    put_u32(&w, group);
    return put_done(&w);
}

size_t ms_gw_put_relay_head(uint8_t *buf, size_t cap, uint32_t req, const uint64_t *ids, size_t n)
{
    if (n == 0 || n > 255 || ids == NULL)
        return 0;
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, MS_GW_RELAY);
    put_u32(&w, req);
    put_u8(&w, (uint8_t)n);
    for (size_t i = 0; i < n; i++)
        put_u64(&w, ids[i]);
    return put_done(&w);
}

size_t ms_gw_put_send_head(uint8_t *buf, size_t cap, uint32_t group, uint64_t to)
{
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, MS_GW_SEND);
    put_u32(&w, group);
    put_u64(&w, to);
    return put_done(&w);
}

size_t ms_gw_put_reply_head(uint8_t *buf, size_t cap, uint8_t op, uint32_t req, uint8_t status)
{
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, MS_GW_REPLY);
    put_u8(&w, op);
    put_u32(&w, req);
    put_u8(&w, status);
    return put_done(&w);
}

size_t ms_gw_put_data_head(uint8_t *buf, size_t cap, uint32_t group, uint64_t from)
{
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, MS_GW_DATA);
    put_u32(&w, group);
    put_u64(&w, from);
    return put_done(&w);
}

size_t ms_gw_put_relayed_head(uint8_t *buf, size_t cap, uint64_t from)
{
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, MS_GW_RELAYED);
    put_u64(&w, from);
    return put_done(&w);
}

size_t ms_gw_put_event(uint8_t *buf, size_t cap, uint8_t event, uint32_t group, uint64_t who,
                       uint8_t status)
{
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, MS_GW_EVENT);
    put_u8(&w, event);
    put_u32(&w, group);
    put_u64(&w, who);
    put_u8(&w, status);
    return put_done(&w);
}

size_t ms_gw_put_closing(uint8_t *buf, size_t cap, uint8_t status)
{
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, MS_GW_CLOSING);
    put_u8(&w, status);
    return put_done(&w);
}

size_t ms_gw_put_u8(uint8_t *buf, size_t cap, uint8_t v)
{
    wire_writer w = WRITER(buf, cap);
    put_u8(&w, v);
    return put_done(&w);
}

size_t ms_gw_put_u32(uint8_t *buf, size_t cap, uint32_t v)
{
    wire_writer w = WRITER(buf, cap);
    put_u32(&w, v);
    return put_done(&w);
}

size_t ms_gw_put_u64(uint8_t *buf, size_t cap, uint64_t v)
{
    wire_writer w = WRITER(buf, cap);
    put_u64(&w, v);
    return put_done(&w);
}

size_t ms_gw_put_str8(uint8_t *buf, size_t cap, ms_gw_str s)
{
    wire_writer w = WRITER(buf, cap);
    put_str8(&w, s);
    return put_done(&w);
}

int ms_gw_status_error(uint8_t status)
{
    static const int errors[MS_GW_STATUS_COUNT] = {
        [MS_GW_OK] = 0,
        [MS_GW_NOT_FOUND] = MSOCK_ENOENT,
        [MS_GW_EXISTS] = MSOCK_EEXIST,
        [MS_GW_DENIED] = MSOCK_EACCES,
        [MS_GW_FULL] = MSOCK_ENOSPC,
        [MS_GW_MASTER_PRESENT] = MSOCK_EBUSY,
        [MS_GW_NOT_MASTER] = MSOCK_EPERM,
        [MS_GW_NO_MASTER] = MSOCK_ENOMASTER,
        [MS_GW_INVALID] = MSOCK_EINVAL,
        [MS_GW_TOO_LARGE] = MSOCK_EMSGSIZE,
        [MS_GW_HUB_FULL] = MSOCK_ENOSPC,
        [MS_GW_TOO_MANY_GROUPS] = MSOCK_ENOSPC,
        [MS_GW_AUTH_FAILURES] = MSOCK_EACCES,
    };
    return status < MS_GW_STATUS_COUNT ? errors[status] : MSOCK_EPROTO;
}
