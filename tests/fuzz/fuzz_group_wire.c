/* fuzz_group_wire.c: libFuzzer harness for the group protocol decoder (docs/group-protocol.md),
 * both directions, walking every entry of a LIST reply it accepts. */
#include <stdlib.h>

#include "core/defs.h"
#include "protocol/group_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Everything a decoded message points at must lie inside the buffer. */
static void wire_check_span(const uint8_t *buf, size_t len, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (p == NULL || p < buf || p > buf + len || n > (size_t)(buf + len - p))
        abort();
}

static void wire_check(const uint8_t *buf, size_t len, bool from_hub)
{
    ms_gw_msg m;
    if (ms_gw_decode(buf, len, from_hub, &m) != 0)
        return;
    wire_check_span(buf, len, m.name.p, m.name.len);
    wire_check_span(buf, len, m.password.p, m.password.len);
    wire_check_span(buf, len, m.master_password.p, m.master_password.len);
    if (m.n_ids > len / MS_GW_ID_LEN)
        abort();
    wire_check_span(buf, len, m.ids, m.n_ids * MS_GW_ID_LEN);
    for (size_t i = 0; i < m.n_ids; i++)
        (void)ms_gw_id_at(m.ids, i);
    wire_check_span(buf, len, m.entries, m.entries_len);
    if (m.head_len > len)
        abort();
    if (m.type == MS_GW_REPLY)
        (void)ms_gw_status_error(m.status);

    size_t pos = 0, walked = 0;
    ms_gw_list_entry e;
    while (ms_gw_list_next(&m, &pos, &e)) {
        wire_check_span(buf, len, e.name.p, e.name.len);
        if (++walked > m.count || pos > m.entries_len)
            abort();
    }
    if (m.type == MS_GW_REPLY && m.op == MS_GW_LIST && m.status == MS_GW_OK && walked != m.count)
        abort(); /* a checked list yields exactly its count */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy of the exact length, so ASan sees any read past the end. */
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    wire_check(buf, size, true);
    wire_check(buf, size, false);
    free(buf);
    return 0;
}
