/* fuzz_sp_stream.c: libFuzzer harness for the SP byte-stream codec of tcp and ipc: the 8-byte
 * connection header check and the length-prefixed decoder, fed in input-chosen chunk splits. */
#include <stdlib.h>

#include "core/defs.h"
#include "core/msg.h"
#include "transport/sp_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Receive max sizes to try; 0 (unlimited) is left out: a peer may then claim up to PTRDIFF_MAX
 * bytes and the allocation failing is the documented ENOMEM, not a decoder bug. */
static const size_t stream_max_sizes[] = {1, 16, 255, 4096, 65536, 1u << 20};

/* Feeds data to d in chunks of the sizes in splits (cycled, 0 meaning 1), as the reader
 * would: through feed, or for an open body through body_room/body_filled when direct. */
static int stream_run(ms_sp_decoder *d, const uint8_t *data, size_t size, const uint8_t *splits,
                      size_t n_splits, bool direct)
{
    size_t pos = 0, turn = 0, messages = 0;
    while (pos < size) {
        size_t chunk = n_splits ? splits[turn++ % n_splits] : size;
        if (chunk == 0)
            chunk = 1;
        if (chunk > size - pos)
            chunk = size - pos;
        size_t missing = 0;
        uint8_t *room = direct ? ms_sp_decoder_body_room(d, &missing) : NULL;
        if (room != NULL) {
            size_t n = MS_MIN(missing, chunk);
            memcpy(room, data + pos, n);
            pos += n;
            msock_msg *m = NULL;
            if (ms_sp_decoder_body_filled(d, n, &m) == 1) {
                messages++;
                ms_msg_free(m);
            }
            continue;
        }
        const uint8_t *end = data + pos + chunk;
        while (data + pos < end) {
            size_t used = 0;
            msock_msg *m = NULL;
            int rc = ms_sp_decoder_feed(d, data + pos, (size_t)(end - (data + pos)), &used, &m);
            if (used > (size_t)(end - (data + pos)))
                abort(); /* the decoder claimed bytes it was not given */
            pos += used;
            if (rc < 0)
                return rc;
            if (rc == 1) {
                if (m == NULL || m->header_len != 0)
                    abort();
                messages++;
                ms_msg_free(m);
            } else if (used == 0) {
                abort(); /* 0 means every byte was consumed */
            }
        }
    }
    return (int)messages;
}

/* Input: [control][max size][split count n][n split sizes][8-byte SP header][stream...]. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t control = data[0];
    size_t max_size = stream_max_sizes[data[1] % (sizeof(stream_max_sizes) / sizeof(stream_max_sizes[0]))];
    size_t n_splits = data[2] % 16;
    data += 3;
    size -= 3;
    if (n_splits > size)
        n_splits = size;
    const uint8_t *splits = data;
    data += n_splits;
    size -= n_splits;

    if (size >= MS_SP_HEADER_LEN) {
        uint16_t proto = 0;
        if (ms_sp_header_decode(data, &proto) == 0) {
            uint8_t again[MS_SP_HEADER_LEN];
            ms_sp_header_encode(again, proto);
            if (memcmp(again, data, MS_SP_HEADER_LEN) != 0)
                abort(); /* an accepted header must be exactly what we would send */
        }
        data += MS_SP_HEADER_LEN;
        size -= MS_SP_HEADER_LEN;
    }

    int framing = control & 1 ? MS_SP_FRAMING_IPC : MS_SP_FRAMING_TCP;
    ms_sp_decoder d;
    ms_sp_decoder_init(&d, framing, max_size);
    int rc = stream_run(&d, data, size, splits, n_splits, (control & 2) != 0);
    if (rc == MSOCK_EMSGSIZE) {
        /* Feeding again after an error must repeat it, never read payload as a prefix. */
        size_t used = 0;
        msock_msg *m = NULL;
        uint8_t zero[16] = {0};
        if (ms_sp_decoder_feed(&d, zero, sizeof(zero), &used, &m) != MSOCK_EMSGSIZE)
            abort();
    }
    ms_sp_decoder_fini(&d);
    return 0;
}
