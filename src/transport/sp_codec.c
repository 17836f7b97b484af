/* sp_codec.c: the SP connection header and the length-prefixed message framing of the tcp and
 * ipc transports, with a decoder that checks a length before allocating anything for it. */
#include <assert.h>

#include "core/msg.h"
#include "transport/sp_codec.h"

#define SP_IPC_TYPE_INBAND 0x01

static const uint8_t sp_header_magic[4] = {0x00, 'S', 'P', 0x00};

void ms_sp_header_encode(uint8_t out[MS_SP_HEADER_LEN], uint16_t proto)
{
    memcpy(out, sp_header_magic, sizeof(sp_header_magic));
    ms_put_u16be(out + 4, proto);
    out[6] = 0;
    out[7] = 0;
}

int ms_sp_header_decode(const uint8_t in[MS_SP_HEADER_LEN], uint16_t *proto)
{
    /* nanomsg ignores the reserved bytes but nng refuses them; the RFC says close, so we do. */
    if (memcmp(in, sp_header_magic, sizeof(sp_header_magic)) != 0 || in[6] != 0 || in[7] != 0)
        return MSOCK_EPROTO;
    *proto = ms_get_u16be(in + 4);
    return 0;
}

size_t ms_sp_prefix_len(int framing)
{
    return framing == MS_SP_FRAMING_IPC ? 9 : 8;
}

size_t ms_sp_prefix_encode(uint8_t *out, int framing, uint64_t len)
{
    if (framing == MS_SP_FRAMING_IPC) {
        out[0] = SP_IPC_TYPE_INBAND;
        ms_put_u64be(out + 1, len);
        return 9;
    }
    ms_put_u64be(out, len);
    return 8;
}

void ms_sp_decoder_init(ms_sp_decoder *d, int framing, size_t max_size)
{
    memset(d, 0, sizeof(*d));
    d->framing = framing;
    d->max_size = max_size;
}

void ms_sp_decoder_fini(ms_sp_decoder *d)
{
    if (d->msg != NULL) {
        ms_msg_free(d->msg);
        d->msg = NULL;
    }
    d->prefix_have = 0;
    d->body_have = 0;
}

/* Hands the finished message to the caller and rearms for the next prefix. */
static void sp_decoder_finish(ms_sp_decoder *d, msock_msg **out)
{
    *out = d->msg;
    d->msg = NULL;
    d->body_have = 0;
    d->prefix_have = 0;
}

/* Only in-band messages (type 1) exist; nng closes on anything else. */
static int sp_decoder_check_type(const ms_sp_decoder *d)
{
    if (d->framing == MS_SP_FRAMING_IPC && d->prefix_have > 0 && d->prefix[0] != SP_IPC_TYPE_INBAND)
        return MSOCK_EPROTO;
    return 0;
}

/* The prefix is complete: validate the length and allocate the message. On failure the
 * prefix stays complete and d->msg NULL, so feeding again reports the same error instead of
 * reading payload bytes as a new prefix. */
static int sp_decoder_open_body(ms_sp_decoder *d)
{
    size_t length_at = ms_sp_prefix_len(d->framing) - 8;
    uint64_t length = ms_get_u64be(d->prefix + length_at);
    int rc;

    if (d->max_size != 0 && length > (uint64_t)d->max_size)
        return MSOCK_EMSGSIZE;
    /* With no limit set, a claim near 2^64 must still not reach the allocator, where adding
     * the chunk overhead could wrap; no object can be larger than PTRDIFF_MAX anyway. */
    if (length > (uint64_t)PTRDIFF_MAX)
        return MSOCK_EMSGSIZE;
    rc = ms_msg_alloc(&d->msg, (size_t)length);
    if (rc != 0) {
        d->msg = NULL;
        return rc;
    }
    d->body_have = 0;
    return 0;
}

int ms_sp_decoder_feed(ms_sp_decoder *d, const uint8_t *buf, size_t len, size_t *used,
                       msock_msg **out)
{
    size_t pos = 0;
    int rc;

    *used = 0;
    if (d->msg == NULL) {
        size_t prefix_len = ms_sp_prefix_len(d->framing);

        /* The ipc type byte is taken alone and checked first, so a hostile peer is refused
         * at that byte and its length is never read. */
        if (d->framing == MS_SP_FRAMING_IPC && d->prefix_have == 0 && len > 0)
            d->prefix[d->prefix_have++] = buf[pos++];
        rc = sp_decoder_check_type(d);
        if (rc != 0) {
            *used = pos;
            return rc;
        }
        size_t prefix_take = MS_MIN(prefix_len - d->prefix_have, len - pos);
        if (prefix_take > 0) /* buf may be NULL when len is 0 */
            memcpy(d->prefix + d->prefix_have, buf + pos, prefix_take);
        d->prefix_have += prefix_take;
        pos += prefix_take;
        *used = pos;
        if (d->prefix_have < prefix_len)
            return 0;
        rc = sp_decoder_open_body(d);
        if (rc != 0)
            return rc;
    }

    /* A zero-length payload falls through with nothing to copy and completes at once. */

    size_t body_take = MS_MIN(d->msg->len - d->body_have, len - pos);
    if (body_take > 0)
        memcpy(d->msg->body + d->body_have, buf + pos, body_take);
    d->body_have += body_take;
    pos += body_take;
    *used = pos;
    if (d->body_have < d->msg->len)
        return 0;
    sp_decoder_finish(d, out);
    return 1;
}

uint8_t *ms_sp_decoder_body_room(ms_sp_decoder *d, size_t *missing)
{
    if (d->msg == NULL || d->body_have >= d->msg->len) {
        *missing = 0;
        return NULL;
    }
    *missing = d->msg->len - d->body_have;
    return d->msg->body + d->body_have;
}

size_t ms_sp_decoder_prefix_missing(const ms_sp_decoder *d)
{
    return d->msg != NULL ? 0 : ms_sp_prefix_len(d->framing) - d->prefix_have;
}

int ms_sp_decoder_body_filled(ms_sp_decoder *d, size_t n, msock_msg **out)
{
    if (d->msg == NULL)
        return 0;
    assert(n <= d->msg->len - d->body_have);
    /* Clamped as well, so a caller bug cannot push body_have past the body in NDEBUG builds. */
    d->body_have += MS_MIN(n, d->msg->len - d->body_have);
    if (d->body_have < d->msg->len)
        return 0;
    sp_decoder_finish(d, out);
    return 1;
}
