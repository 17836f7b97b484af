/* msg.c: messages: an inline header area and a refcounted, copy-on-write body chunk, with
 * per-thread recycling of message structs and small chunks, since this is the allocation hot path. */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/msg.h"
#include "core/msg_depot.h"

/* Free bytes kept in front of a new body so that small msock_msg_insert calls move nothing. */
#define MSG_HEADROOM 32

/* Recycled chunks come in classes of 64 B << class data bytes. Classes count data, not the
 * allocation, so that the common power-of-two message sizes fill a class exactly. */
#define MSG_CLASS_MIN_SHIFT 6
#define MSG_CLASS_COUNT 11 /* 64 B .. 64 KiB */
#define MSG_CLASS_MAX_CAP ((size_t)1 << (MSG_CLASS_MIN_SHIFT + MSG_CLASS_COUNT - 1))

/* Per-thread cache bounds: at most 64 chunks per class and at most 1 MiB per class (so the
 * big classes keep fewer), plus 256 message structs: a few MiB per thread at worst. */
#define MSG_CACHE_CLASS_DEPTH 64u
#define MSG_CACHE_CLASS_BYTES ((size_t)1 << 20)
#define MSG_CACHE_MSGS 256u

/* Lengths past this are refused as MSOCK_ENOMEM early, which keeps all size sums free of
 * overflow (three of them still fit in a size_t, with room to double). */
#define MSG_SIZE_LIMIT (SIZE_MAX / 8)

_Static_assert(sizeof(ms_chunk *) <= ((size_t)1 << MSG_CLASS_MIN_SHIFT),
               "a free chunk keeps its free-list link in its data");

struct msg_cache {
    msock_msg *msgs; /* free structs, linked through next */
    unsigned msg_count;
    ms_chunk *chunks[MSG_CLASS_COUNT]; /* free chunks, linked through their first data bytes */
    unsigned chunk_count[MSG_CLASS_COUNT];
    bool registered; /* the thread-exit destructor will flush this cache */
    bool closed;     /* the thread is exiting: free straight away, cache nothing more */
};

static MS_TLS struct msg_cache msg_cache;
static pthread_key_t msg_cache_key;
static bool msg_cache_key_ok;
static pthread_once_t msg_cache_once = PTHREAD_ONCE_INIT;

/* Depot kinds: one per chunk class, then the message structs. */
#define MSG_DEPOT_STRUCTS MSG_CLASS_COUNT
_Static_assert(MSG_CLASS_COUNT + 1 <= MS_DEPOT_KINDS, "the depot has a kind per class");

/* Frees a NULL-terminated chain of free chunks (linked through data) or structs (through next). */
static void msg_free_chain(unsigned kind, void *chain)
{
    while (chain != NULL) {
        void *next;
        if (kind == MSG_DEPOT_STRUCTS)
            next = ((msock_msg *)chain)->next;
        else
            memcpy(&next, ((ms_chunk *)chain)->data, sizeof next);
        free(chain);
        chain = next;
    }
}

/* What an empty message without a chunk reports as its body: never NULL, so callers may pass
 * it to memcpy with a zero length. Nothing is ever written to it. */
static uint8_t msg_empty_body[1];

static void msg_cache_thread_exit(void *unused)
{
    MS_UNUSED(unused);
    msg_cache.closed = true;
    msg_cache.registered = false;
    ms_msg_cache_flush();
}

/* The main thread runs no pthread key destructors when the process exits; flushing here keeps
 * leak checkers quiet about its cache. */
void ms_msg_depot_drain(void)
{
    ms_depot_drain(msg_free_chain);
}

__attribute__((destructor)) static void msg_cache_process_exit(void)
{
    msg_cache_thread_exit(NULL);
    ms_msg_depot_drain();
}

static void msg_cache_key_create(void)
{
    msg_cache_key_ok = pthread_key_create(&msg_cache_key, msg_cache_thread_exit) == 0;
}

/* True when this thread may keep freed memory: registration is done on the first free, so a
 * thread that never frees a message never touches the key. */
static bool msg_cache_usable(void)
{
    struct msg_cache *mc = &msg_cache;
    if (MS_LIKELY(mc->registered))
        return true;
    if (mc->closed)
        return false;
    pthread_once(&msg_cache_once, msg_cache_key_create);
    if (!msg_cache_key_ok || pthread_setspecific(msg_cache_key, mc) != 0) {
        mc->closed = true;
        return false;
    }
    mc->registered = true;
    return true;
}

static size_t msg_class_cap(unsigned cls)
{
    return (size_t)1 << (MSG_CLASS_MIN_SHIFT + cls);
}

static unsigned msg_class_depth(unsigned cls)
{
    size_t by_bytes = MSG_CACHE_CLASS_BYTES / msg_class_cap(cls);
    return by_bytes < MSG_CACHE_CLASS_DEPTH ? (unsigned)by_bytes : MSG_CACHE_CLASS_DEPTH;
}

/* Chunks moved to or from the depot at once: half a full class cache, so a thread that only
 * frees (or only allocates) big messages still hands them on. */
static unsigned msg_class_batch(unsigned cls)
{
    unsigned half = msg_class_depth(cls) / 2;
    return half == 0 ? 1 : (half < MS_DEPOT_BATCH ? half : MS_DEPOT_BATCH);
}

/* The smallest class holding cap data bytes, or MSG_CLASS_COUNT when none is big enough. */
static unsigned msg_class_for(size_t cap)
{
    if (cap > MSG_CLASS_MAX_CAP)
        return MSG_CLASS_COUNT;
    if (cap <= msg_class_cap(0))
        return 0;
    unsigned bits = (unsigned)(sizeof(unsigned long long) * CHAR_BIT) -
                    (unsigned)__builtin_clzll((unsigned long long)(cap - 1));
    return bits - MSG_CLASS_MIN_SHIFT;
}

/* A private chunk with at least min_cap data bytes, from this thread's cache when it can. */
static ms_chunk *msg_chunk_new(size_t min_cap)
{
    ms_chunk *c;
    unsigned cls = msg_class_for(min_cap);
    if (cls < MSG_CLASS_COUNT) {
        struct msg_cache *mc = &msg_cache;
        /* A batch from the depot is cached memory: the thread-exit flush must know of it. */
        if (mc->chunks[cls] == NULL && msg_cache_usable() && (mc->chunks[cls] = ms_depot_get(cls)) != NULL)
            mc->chunk_count[cls] = msg_class_batch(cls);
        c = mc->chunks[cls];
        if (c != NULL) {
            memcpy(&mc->chunks[cls], c->data, sizeof(ms_chunk *));
            mc->chunk_count[cls]--;
            /* Recycled memory was last written on another core, often: fetch the next one
             * while this one is being filled. */
            if (mc->chunks[cls] != NULL)
                __builtin_prefetch(mc->chunks[cls], 1);
        } else {
            c = malloc(sizeof(ms_chunk) + msg_class_cap(cls));
            if (c == NULL)
                return NULL;
            c->size_class = cls;
            c->cap = msg_class_cap(cls);
        }
    } else {
        c = malloc(sizeof(ms_chunk) + min_cap);
        if (c == NULL)
            return NULL;
        c->size_class = UINT32_MAX;
        c->cap = min_cap;
    }
    atomic_init(&c->refs, 1);
    return c;
}

/* Cuts the first batch of chunks off a full class cache and hands them to the depot. */
static void msg_chunk_spill(struct msg_cache *mc, uint32_t cls)
{
    unsigned batch = msg_class_batch(cls);
    ms_chunk *head = mc->chunks[cls], *last = head;
    for (unsigned i = 1; i < batch; i++)
        memcpy(&last, last->data, sizeof(ms_chunk *));
    memcpy(&mc->chunks[cls], last->data, sizeof(ms_chunk *));
    ms_chunk *end = NULL;
    memcpy(last->data, &end, sizeof(ms_chunk *));
    mc->chunk_count[cls] -= batch;
    if (!ms_depot_put(cls, head, batch * msg_class_cap(cls)))
        msg_free_chain(cls, head);
}

static void msg_chunk_recycle(ms_chunk *c)
{
    struct msg_cache *mc = &msg_cache;
    uint32_t cls = c->size_class;
    if (cls < MSG_CLASS_COUNT && mc->chunk_count[cls] >= msg_class_depth(cls) && !mc->closed)
        msg_chunk_spill(mc, cls);
    if (cls < MSG_CLASS_COUNT && mc->chunk_count[cls] < msg_class_depth(cls) && msg_cache_usable()) {
        memcpy(c->data, &mc->chunks[cls], sizeof(ms_chunk *));
        mc->chunks[cls] = c;
        mc->chunk_count[cls]++;
        return;
    }
    free(c);
}

static void msg_chunk_release(ms_chunk *c)
{
    /* A sole holder is the usual case; no other thread can then touch the count, so the
     * locked decrement is skipped (the acquire load still orders the earlier holders' use). */
    if (atomic_load_explicit(&c->refs, memory_order_acquire) == 1) {
        msg_chunk_recycle(c);
        return;
    }
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_release) != 1)
        return;
    /* The last holder must see every write the other holders made before letting go. This
     * acquire load reads our own decrement, which continues their release sequences; it is
     * the same guarantee as an acquire fence, in a form ThreadSanitizer understands. */
    (void)atomic_load_explicit(&c->refs, memory_order_acquire);
    msg_chunk_recycle(c);
}

static bool msg_chunk_shared(ms_chunk *c)
{
    /* Acquire pairs with the release decrement of a holder that just left, so its reads of
     * the body are done before we write it. */
    return atomic_load_explicit(&c->refs, memory_order_acquire) != 1;
}

static msock_msg *msg_struct_new(void)
{
    struct msg_cache *mc = &msg_cache;
    if (mc->msgs == NULL && msg_cache_usable() && (mc->msgs = ms_depot_get(MSG_DEPOT_STRUCTS)) != NULL)
        mc->msg_count = MS_DEPOT_BATCH;
    msock_msg *m = mc->msgs;
    if (m != NULL) {
        mc->msgs = m->next;
        mc->msg_count--;
        if (mc->msgs != NULL)
            __builtin_prefetch(mc->msgs, 1);
    } else {
        m = malloc(sizeof(*m));
        if (m == NULL)
            return NULL;
    }
    m->header_len = 0;
    m->header_ext = NULL;
    m->chunk = NULL;
    m->body = msg_empty_body;
    m->len = 0;
    m->pipe_id = 0;
    m->batched = 0;
    m->next = NULL;
    return m;
}

static void msg_struct_recycle(msock_msg *m)
{
    struct msg_cache *mc = &msg_cache;
    if (mc->msg_count >= MSG_CACHE_MSGS && !mc->closed) {
        msock_msg *head = mc->msgs, *last = head;
        for (unsigned i = 1; i < MS_DEPOT_BATCH; i++)
            last = last->next;
        mc->msgs = last->next;
        last->next = NULL;
        mc->msg_count -= MS_DEPOT_BATCH;
        if (!ms_depot_put(MSG_DEPOT_STRUCTS, head, MS_DEPOT_BATCH * sizeof *m))
            msg_free_chain(MSG_DEPOT_STRUCTS, head);
    }
    if (mc->msg_count < MSG_CACHE_MSGS && msg_cache_usable()) {
        m->next = mc->msgs;
        mc->msgs = m;
        mc->msg_count++;
        return;
    }
    free(m);
}

void ms_msg_cache_flush(void)
{
    struct msg_cache *mc = &msg_cache;
    while (mc->msgs != NULL) {
        msock_msg *m = mc->msgs;
        mc->msgs = m->next;
        free(m);
    }
    mc->msg_count = 0;
    for (unsigned cls = 0; cls < MSG_CLASS_COUNT; cls++) {
        while (mc->chunks[cls] != NULL) {
            ms_chunk *c = mc->chunks[cls];
            memcpy(&mc->chunks[cls], c->data, sizeof(ms_chunk *));
            free(c);
        }
        mc->chunk_count[cls] = 0;
    }
}

/* Makes the body private with at least front free bytes before it and back after it, keeping
 * its contents. A private chunk with enough spare room is reused by moving the body; else the
 * body moves to a new chunk, at least twice the old one when it was private (geometric growth,
 * so repeated appends cost amortised O(1) per byte). */
static int msg_reserve(msock_msg *m, size_t front, size_t back)
{
    if (front > MSG_SIZE_LIMIT || back > MSG_SIZE_LIMIT)
        return MSOCK_ENOMEM;
    ms_chunk *old = m->chunk;
    bool private_chunk = old != NULL && !msg_chunk_shared(old);
    size_t need = front + m->len + back;
    if (private_chunk) {
        size_t head = (size_t)(m->body - old->data);
        if (head >= front && old->cap - head - m->len >= back)
            return 0;
        /* Moving in place only when a quarter of the chunk stays spare bounds how often the
         * same body can be moved before the chunk grows. */
        if (need <= old->cap - old->cap / 4) {
            uint8_t *dst = old->data + front + (old->cap - need) / 2;
            memmove(dst, m->body, m->len);
            m->body = dst;
            return 0;
        }
    }
    size_t want = need + MSG_HEADROOM;
    if (private_chunk && want < 2 * old->cap)
        want = 2 * old->cap;
    ms_chunk *c = msg_chunk_new(want);
    if (c == NULL)
        return MSOCK_ENOMEM;
    uint8_t *body = c->data + front + MS_MIN(c->cap - need, (size_t)MSG_HEADROOM);
    if (m->len > 0)
        memcpy(body, m->body, m->len);
    m->chunk = c;
    m->body = body;
    if (old != NULL)
        msg_chunk_release(old);
    return 0;
}

int ms_msg_alloc_headroom(msock_msg **m, size_t len, size_t headroom)
{
    *m = NULL;
    if (len > MSG_SIZE_LIMIT || headroom > MSG_SIZE_LIMIT)
        return MSOCK_ENOMEM;
    msock_msg *msg = msg_struct_new();
    if (msg == NULL)
        return MSOCK_ENOMEM;
    if (len > 0 || headroom > 0) {
        ms_chunk *c = msg_chunk_new(headroom + len);
        if (c == NULL) {
            msg_struct_recycle(msg);
            return MSOCK_ENOMEM;
        }
        msg->chunk = c;
        msg->body = c->data + headroom;
        msg->len = len;
    }
    *m = msg;
    return 0;
}

int ms_msg_alloc(msock_msg **m, size_t len)
{
    /* An empty message gets no chunk until something is added to it. A body that nearly fills
     * its class gets less headroom rather than a chunk twice as big. */
    size_t headroom = 0;
    if (len > 0) {
        unsigned cls = msg_class_for(len);
        headroom = cls < MSG_CLASS_COUNT ? MS_MIN(MSG_HEADROOM, msg_class_cap(cls) - len) : MSG_HEADROOM;
    }
    return ms_msg_alloc_headroom(m, len, headroom);
}

void ms_msg_free(msock_msg *m)
{
    if (MS_UNLIKELY(m->header_ext != NULL))
        free(m->header_ext);
    if (m->chunk != NULL)
        msg_chunk_release(m->chunk);
    msg_struct_recycle(m);
}

void ms_msg_chain_free(msock_msg *head)
{
    while (head != NULL) {
        msock_msg *next = head->next;
        ms_msg_free(head);
        head = next;
    }
}

int ms_msg_from_buf(msock_msg **m, const void *buf, size_t len)
{
    int rv = ms_msg_alloc(m, len);
    if (rv == 0 && len > 0)
        memcpy((*m)->body, buf, len);
    return rv;
}

int ms_msg_dup(msock_msg **dup, const msock_msg *src)
{
    msock_msg *m = msg_struct_new();
    *dup = m;
    if (m == NULL)
        return MSOCK_ENOMEM;
    if (MS_UNLIKELY(src->header_ext != NULL)) {
        if ((m->header_ext = malloc(MS_MSG_HEADER_EXT_MAX)) == NULL) {
            msg_struct_recycle(m);
            *dup = NULL;
            return MSOCK_ENOMEM;
        }
        memcpy(m->header_ext, src->header_ext, src->header_len);
    } else {
        memcpy(m->header, src->header, src->header_len);
    }
    m->header_len = src->header_len;
    m->pipe_id = src->pipe_id;
    if (src->chunk != NULL) {
        /* Relaxed: the new holder is made by an existing one, which orders everything else. */
        atomic_fetch_add_explicit(&src->chunk->refs, 1, memory_order_relaxed);
        m->chunk = src->chunk;
        m->body = src->body;
        m->len = src->len;
    }
    return 0;
}

int ms_msg_make_unique(msock_msg *m)
{
    if (m->chunk == NULL || !msg_chunk_shared(m->chunk))
        return 0;
    return msg_reserve(m, 0, 0);
}

int ms_msg_header_append(msock_msg *m, const void *data, size_t len)
{
    if (len > MS_MSG_HEADER_EXT_MAX - m->header_len)
        return MSOCK_EMSGSIZE;
    if (m->header_ext == NULL && len > MS_MSG_HEADER_MAX - m->header_len) {
        uint8_t *ext = malloc(MS_MSG_HEADER_EXT_MAX);
        if (ext == NULL)
            return MSOCK_ENOMEM;
        memcpy(ext, m->header, m->header_len);
        m->header_ext = ext;
    }
    if (len > 0)
        memmove(ms_msg_hdr(m) + m->header_len, data, len);
    m->header_len += len;
    return 0;
}

int ms_msg_header_trim(msock_msg *m, size_t len)
{
    if (len > m->header_len)
        return MSOCK_EINVAL;
    uint8_t *h = ms_msg_hdr(m);
    memmove(h, h + len, m->header_len - len);
    m->header_len -= len;
    return 0;
}

int ms_msg_header_chop(msock_msg *m, size_t len)
{
    if (len > m->header_len)
        return MSOCK_EINVAL;
    m->header_len -= len;
    return 0;
}

void ms_msg_header_clear(msock_msg *m)
{
    m->header_len = 0;
    if (MS_UNLIKELY(m->header_ext != NULL)) {
        free(m->header_ext);
        m->header_ext = NULL;
    }
}

int ms_msg_header_to_body(msock_msg *m)
{
    if (m->header_len == 0)
        return 0;
    int rv = msock_msg_insert(m, ms_msg_hdr(m), m->header_len);
    if (rv == 0)
        ms_msg_header_clear(m);
    return rv;
}

/* Public API: argument checks, then the internal calls above. */

int msock_msg_alloc(msock_msg **m, size_t size)
{
    if (m == NULL)
        return MSOCK_EINVAL;
    return ms_msg_alloc(m, size);
}

void msock_msg_free(msock_msg *m)
{
    if (m != NULL)
        ms_msg_free(m);
}

int msock_msg_dup(msock_msg **dup, const msock_msg *src)
{
    if (dup == NULL)
        return MSOCK_EINVAL;
    if (src == NULL) {
        *dup = NULL;
        return MSOCK_EINVAL;
    }
    return ms_msg_dup(dup, src);
}

void *msock_msg_body(msock_msg *m)
{
    /* The caller may write through this pointer, so a shared body is copied first; the
     * library's own readers use m->body and keep the sharing. */
    if (m == NULL || ms_msg_make_unique(m) != 0)
        return NULL;
    return m->body;
}

size_t msock_msg_len(const msock_msg *m)
{
    return m != NULL ? m->len : 0;
}

int msock_msg_realloc(msock_msg *m, size_t size)
{
    if (m == NULL)
        return MSOCK_EINVAL;
    if (size <= m->len) {
        m->len = size;
        return 0;
    }
    if (size > MSG_SIZE_LIMIT)
        return MSOCK_ENOMEM;
    int rv = msg_reserve(m, 0, size - m->len);
    if (rv == 0)
        m->len = size;
    return rv;
}

/* Adds len bytes at the front or the back of the body. A source inside m's own body is
 * tracked as an offset, because msg_reserve may move that body before the copy. */
static int msg_add(msock_msg *m, const void *data, size_t len, bool at_front)
{
    if (m == NULL || (data == NULL && len > 0))
        return MSOCK_EINVAL;
    if (len == 0)
        return 0;
    if (len > MSG_SIZE_LIMIT - m->len)
        return MSOCK_ENOMEM;
    uintptr_t src = (uintptr_t)data, body = (uintptr_t)m->body;
    bool inside = m->chunk != NULL && src >= body && src < body + m->len;
    size_t offset = inside ? (size_t)(src - body) : 0;
    int rv = msg_reserve(m, at_front ? len : 0, at_front ? 0 : len);
    if (rv != 0)
        return rv;
    uint8_t *dst = at_front ? m->body - len : m->body + m->len;
    memmove(dst, inside ? m->body + offset : (const uint8_t *)data, len);
    if (at_front)
        m->body = dst;
    m->len += len;
    return 0;
}

int msock_msg_append(msock_msg *m, const void *data, size_t len)
{
    return msg_add(m, data, len, false);
}

int msock_msg_insert(msock_msg *m, const void *data, size_t len)
{
    return msg_add(m, data, len, true);
}

int msock_msg_trim(msock_msg *m, size_t len)
{
    if (m == NULL || len > m->len)
        return MSOCK_EINVAL;
    /* Only the view moves, so a shared body needs no copy. */
    m->body += len;
    m->len -= len;
    return 0;
}

int msock_msg_chop(msock_msg *m, size_t len)
{
    if (m == NULL || len > m->len)
        return MSOCK_EINVAL;
    m->len -= len;
    return 0;
}

void msock_msg_clear(msock_msg *m)
{
    if (m == NULL)
        return;
    m->len = 0;
    if (m->chunk == NULL)
        return;
    if (msg_chunk_shared(m->chunk)) {
        /* Nothing of the shared body is needed any more; let the other holders keep it. */
        msg_chunk_release(m->chunk);
        m->chunk = NULL;
        m->body = msg_empty_body;
        return;
    }
    m->body = m->chunk->data + MS_MIN(m->chunk->cap, (size_t)MSG_HEADROOM);
}

void *msock_msg_header(msock_msg *m)
{
    return m != NULL ? ms_msg_hdr(m) : NULL;
}

size_t msock_msg_header_len(const msock_msg *m)
{
    return m != NULL ? m->header_len : 0;
}

msock_pipe msock_msg_pipe(const msock_msg *m)
{
    msock_pipe p = {m != NULL ? m->pipe_id : 0};
    return p;
}

void msock_msg_set_pipe(msock_msg *m, msock_pipe p)
{
    if (m != NULL)
        m->pipe_id = p.id;
}
