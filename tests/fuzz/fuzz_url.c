/* fuzz_url.c: libFuzzer harness for endpoint URL parsing: any bytes as a URL, and what a
 * parsed URL yields formatted again. */
#include <stdlib.h>

#include "core/defs.h"
#include "core/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Room past MS_URL_MAX so over-long URLs reach the length check. */
    char text[2 * MS_URL_MAX + 2];
    size_t n = MS_MIN(size, sizeof(text) - 1);
    memcpy(text, data, n);
    text[n] = '\0';

    ms_url u;
    memset(&u, 0xA5, sizeof(u)); /* garbage in, so a field the parser forgets shows up */
    int rc = ms_url_parse(&u, text);
    if (rc != 0) {
        if (rc != MSOCK_EINVAL && rc != MSOCK_ENAMETOOLONG && rc != MSOCK_ENOTSUP)
            abort();
        return 0;
    }
    if (strnlen(u.raw, sizeof(u.raw)) == sizeof(u.raw) ||
        strnlen(u.scheme, sizeof(u.scheme)) == sizeof(u.scheme) ||
        strnlen(u.host, sizeof(u.host)) == sizeof(u.host) ||
        strnlen(u.path, sizeof(u.path)) == sizeof(u.path))
        abort(); /* every string field is terminated inside its array */
    (void)ms_url_host_is_wildcard(&u);

    char out[MS_URL_MAX + 1];
    if (ms_url_format_tcp(out, sizeof(out), u.scheme, u.host, u.port) == 0) {
        ms_url back;
        /* A tcp-like URL formatted from a parse must parse again to the same place. */
        if (strcmp(u.scheme, "tcp") == 0 && ms_url_parse(&back, out) == 0 &&
            (back.port != u.port || strcmp(back.host, u.host) != 0))
            abort();
    }
    return 0;
}
