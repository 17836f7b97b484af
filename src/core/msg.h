/* msg.h: messages inside the library: a small inline header area (SP backtraces, hop counts)
 * and a refcounted body chunk shared by copies; small chunks and message structs are recycled. */
#ifndef MS_MSG_H
#define MS_MSG_H

#include "core/defs.h"

/* Protocol header bytes kept inline: the default MAXTTL backtrace (8 words, plus a device's
 * hop) and every other SP header fit; a longer header spills into a separate buffer of up to
 * MS_MSG_HEADER_EXT_MAX bytes (a 255-hop backtrace and a device's hop word). */
#define MS_MSG_HEADER_MAX 64
#define MS_MSG_HEADER_EXT_MAX (4 * 256 + 16)

/* Body storage: refcounted, so fan-out and msock_msg_dup share one copy. */
struct ms_chunk {
    atomic_uint refs;
    uint32_t size_class; /* index of the recycling class, or UINT32_MAX for none */
    size_t cap;          /* bytes in data[] */
    uint8_t data[];
};

struct msock_msg {
    uint8_t header[MS_MSG_HEADER_MAX];
    uint8_t *header_ext; /* NULL, or the spilled header (MS_MSG_HEADER_EXT_MAX bytes) */
    size_t header_len;
    ms_chunk *chunk; /* NULL while the body is empty and nothing was allocated */
    uint8_t *body;   /* points into chunk->data */
    size_t len;
    uint32_t pipe_id; /* origin pipe on receive; target pipe on send (0 = none) */
    uint32_t batched; /* 0, or a stream's send batch: framed messages copied into the body */
    msock_msg *next;  /* free for the owner of the message: queues link through it */
};

/* Allocates a message whose body has len bytes (uninitialised). Returns 0 or MSOCK_ENOMEM. */
int ms_msg_alloc(msock_msg **m, size_t len);
/* Allocates with room for `headroom` bytes of later msock_msg_insert without moving. */
int ms_msg_alloc_headroom(msock_msg **m, size_t len, size_t headroom);
void ms_msg_free(msock_msg *m);
/* Frees every message of a chain linked through next (NULL is an empty chain). */
void ms_msg_chain_free(msock_msg *head);
/* Allocates a message holding a copy of len bytes of buf. 0 or MSOCK_ENOMEM. */
int ms_msg_from_buf(msock_msg **m, const void *buf, size_t len);
/* Copies the message struct and shares the body (refcount + 1). */
int ms_msg_dup(msock_msg **dup, const msock_msg *src);
/* Makes the body private (copies it if shared) so it may be written. 0 or MSOCK_ENOMEM. */
int ms_msg_make_unique(msock_msg *m);
/* Total bytes the message puts on an SP stream: header + body. */
static inline size_t ms_msg_wire_len(const msock_msg *m)
{
    return m->header_len + m->len;
}
/* The header bytes (inline or spilled). */
static inline uint8_t *ms_msg_hdr(msock_msg *m)
{
    return m->header_ext != NULL ? m->header_ext : m->header;
}
/* Header area helpers: 0, or MSOCK_EMSGSIZE if the header would pass MS_MSG_HEADER_EXT_MAX
 * (MSOCK_ENOMEM if spilling fails), or MSOCK_EINVAL when trimming more than there is. */
int ms_msg_header_append(msock_msg *m, const void *data, size_t len);
int ms_msg_header_trim(msock_msg *m, size_t len);
/* Drops len bytes from the end of the header area (ms_msg_header_trim drops from the front). */
int ms_msg_header_chop(msock_msg *m, size_t len);
void ms_msg_header_clear(msock_msg *m);
/* Moves the header to the front of the body (a received message is all body, as on the wire).
 * 0 or MSOCK_ENOMEM. */
int ms_msg_header_to_body(msock_msg *m);
/* Frees the calling thread's recycling caches (called at thread exit and by msock_fini). */
void ms_msg_cache_flush(void);
/* Frees the buffers parked in the shared depot (process exit, msock_fini). */
void ms_msg_depot_drain(void);

#endif
