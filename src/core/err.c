/* err.c: error texts and names, statistic names and the version string, all generated from the
 * X-macro tables in msock.h so that a new code or statistic needs one line in one place. */
#include <pthread.h>

#include "core/defs.h"

#define ERR_STRINGIFY_(x) #x
#define ERR_STRINGIFY(x) ERR_STRINGIFY_(x)

const char *msock_strerror(int err)
{
    /* A switch rather than a table: the compiler then rejects two entries with one value. */
    switch (err) {
#define ERR_TEXT_CASE_(name, value, text) \
    case (value):                         \
        return (text);
        MSOCK_ERRNO_MAP(ERR_TEXT_CASE_)
#undef ERR_TEXT_CASE_
    case 0:
        return "success";
    default:
        return "unknown error";
    }
}

const char *msock_errname(int err)
{
    switch (err) {
#define ERR_NAME_CASE_(name, value, text) \
    case (value):                         \
        return "MSOCK_" #name;
        MSOCK_ERRNO_MAP(ERR_NAME_CASE_)
#undef ERR_NAME_CASE_
    default:
        return "MSOCK_E?";
    }
}

const char *msock_version(void)
{
    return ERR_STRINGIFY(MSOCK_VERSION_MAJOR) "." ERR_STRINGIFY(MSOCK_VERSION_MINOR) "." ERR_STRINGIFY(
        MSOCK_VERSION_PATCH);
}

/* The preprocessor cannot lower-case, so the short statistic names are made once at first use
 * from the upper-case enum names; every name must fit a fixed slot, which is checked here. */
#define STAT_NAME_SLOT 32

#define STAT_NAME_FITS_(name, text) \
    _Static_assert(sizeof(#name) <= STAT_NAME_SLOT, "statistic name too long: " #name);
MSOCK_STAT_MAP(STAT_NAME_FITS_)
#undef STAT_NAME_FITS_

static const char *const stat_upper_names[MSOCK_STAT_COUNT] = {
#define STAT_UPPER_NAME_(name, text) [MSOCK_STAT_##name] = #name,
    MSOCK_STAT_MAP(STAT_UPPER_NAME_)
#undef STAT_UPPER_NAME_
};

static char stat_lower_names[MSOCK_STAT_COUNT][STAT_NAME_SLOT];
static pthread_once_t stat_names_once = PTHREAD_ONCE_INIT;

static void stat_names_build(void)
{
    for (size_t i = 0; i < MSOCK_STAT_COUNT; i++) {
        const char *upper = stat_upper_names[i];
        size_t j = 0;
        for (; upper[j] != '\0'; j++) {
            char c = upper[j];
            stat_lower_names[i][j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        stat_lower_names[i][j] = '\0';
    }
}

const char *msock_stat_name(int stat)
{
    if (stat < 0 || stat >= MSOCK_STAT_COUNT)
        return NULL;
    pthread_once(&stat_names_once, stat_names_build);
    return stat_lower_names[stat];
}
