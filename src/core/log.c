/* log.c: the MSOCK_DEBUG switch and the writer of debug lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/log.h"

static atomic_int log_state; /* 0 unknown, 1 off, 2 on */

bool ms_log_enabled(void)
{
    int st = atomic_load_explicit(&log_state, memory_order_relaxed);
    if (MS_LIKELY(st != 0))
        return st == 2;
    const char *v = getenv("MSOCK_DEBUG");
    st = (v && *v && strcmp(v, "0") != 0) ? 2 : 1;
    atomic_store_explicit(&log_state, st, memory_order_relaxed);
    return st == 2;
}

void ms_log_write(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "msock: %s\n", line);
}
