/* log.h: debug log lines on stderr, enabled by the environment variable MSOCK_DEBUG=1. */
#ifndef MS_LOG_H
#define MS_LOG_H

#include "core/defs.h"

bool ms_log_enabled(void);
void ms_log_write(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ms_debug(...)                                                                      \
    do {                                                                                   \
        if (MS_UNLIKELY(ms_log_enabled()))                                                 \
            ms_log_write(__VA_ARGS__);                                                     \
    } while (0)

#endif
