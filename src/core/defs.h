/* defs.h: internal definitions every libmsock source includes: forward declarations of all
 * internal structs, common macros and the small helpers that need no file of their own. */
#ifndef MS_DEFS_H
#define MS_DEFS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "msock.h"

typedef struct ms_chunk ms_chunk;
typedef struct ms_msgq ms_msgq;
typedef struct ms_idmap ms_idmap;
typedef struct ms_url ms_url;
typedef struct ms_reactor ms_reactor;
typedef struct ms_ev ms_ev;
typedef struct ms_timer ms_timer;
typedef struct ms_task ms_task;
typedef struct ms_opts ms_opts;
typedef struct ms_socket ms_socket;
typedef struct ms_pipe ms_pipe;
typedef struct ms_endpoint ms_endpoint;
typedef struct ms_transport ms_transport;
typedef struct ms_protocol ms_protocol;
typedef struct ms_sender ms_sender;
typedef struct ms_receiver ms_receiver;
typedef struct ms_ctx ms_ctx;

#define MS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define MS_UNUSED(x) ((void)(x))
#define MS_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
/* Thread-locals on the hot path: the initial-exec model reads them without a call into the
 * dynamic loader (they are few and small, well inside glibc's static TLS reserve). */
#define MS_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#define MS_LIKELY(x) __builtin_expect(!!(x), 1)
#define MS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Longest URL we accept, as nng (NNG_MAXADDRLEN) and nanomsg (NN_SOCKADDR_MAX). */
#define MS_URL_MAX 128

static inline void ms_put_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline uint64_t ms_get_u64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}
static inline void ms_put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static inline uint32_t ms_get_u32be(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void ms_put_u16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}
static inline uint16_t ms_get_u16be(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

#endif
