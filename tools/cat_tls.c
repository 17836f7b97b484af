/* cat_tls.c: msockcat's TLS flags, spelled as nngcat's, and the endpoint options they become.
 * One difference from nngcat, whose --cacert on a listener loads CAs it never asks for: here a
 * listener given --cacert requires a client certificate from that CA. */
#include "cat_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cat_io.h"

/* One endpoint option a flag stands for: a string, or an int when string is NULL. */
struct tls_setting {
    int opt;
    const char *string;
    int number;
    const char *flag;
};

/* At most --cert, --key, --cacert and the verify mode. */
#define TLS_SETTINGS_MAX 4

static int tls_verify_mode(const struct cat_tls_options *t)
{
    if (t->insecure)
        return MSOCK_TLS_VERIFY_NONE;
    /* A dialer verifies the server anyway; a listener asks for client certificates only
     * when told which CAs sign them. */
    return t->cacert != NULL ? MSOCK_TLS_VERIFY_REQUIRED : MSOCK_TLS_VERIFY_DEFAULT;
}

static size_t tls_settings(const struct cat_tls_options *t, struct tls_setting out[TLS_SETTINGS_MAX])
{
    size_t n = 0;

    if (t->cert != NULL)
        out[n++] = (struct tls_setting){MSOCK_OPT_TLS_CERT, t->cert, 0, "--cert"};
    if (t->key != NULL)
        out[n++] = (struct tls_setting){MSOCK_OPT_TLS_KEY, t->key, 0, "--key"};
    if (t->cacert != NULL)
        out[n++] = (struct tls_setting){MSOCK_OPT_TLS_CA, t->cacert, 0, "--cacert"};
    if (tls_verify_mode(t) != MSOCK_TLS_VERIFY_DEFAULT)
        out[n++] = (struct tls_setting){MSOCK_OPT_TLS_VERIFY, NULL, tls_verify_mode(t),
                                        t->insecure ? "--insecure" : "--cacert"};
    return n;
}

static int tls_set_path(char **slot, const char *flag, const char *value)
{
    if (*slot != NULL) {
        cat_report("%s may be given only once", flag);
        return -1;
    }
    if ((*slot = strdup(value)) == NULL) {
        cat_report("out of memory");
        exit(1);
    }
    return 0;
}

int cat_tls_set(struct cat_tls_options *t, enum cat_tls_flag which, const char *flag,
                const char *value)
{
    switch (which) {
    case CAT_TLS_CERT: return tls_set_path(&t->cert, flag, value);
    case CAT_TLS_KEY: return tls_set_path(&t->key, flag, value);
    case CAT_TLS_CACERT: return tls_set_path(&t->cacert, flag, value);
    case CAT_TLS_INSECURE: t->insecure = true; return 0;
    }
    return -1;
}

/* The library reads the files only when an endpoint starts, and then can say only "no such
 * file"; naming the flag and the path now is kinder. */
static int tls_check_readable(const char *flag, const char *path)
{
    FILE *f;

    if (path == NULL)
        return 0;
    if ((f = fopen(path, "r")) == NULL) {
        cat_report("cannot read %s %s: %s", flag, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

int cat_tls_check(const struct cat_tls_options *t)
{
    if (t->key != NULL && t->cert == NULL) {
        cat_report("--key needs --cert: it is the key of that certificate");
        return -1;
    }
    if (tls_check_readable("--cert", t->cert) != 0 || tls_check_readable("--key", t->key) != 0 ||
        tls_check_readable("--cacert", t->cacert) != 0)
        return -1;
    return 0;
}

/* The schemes of the TLS transports; schemes are case-insensitive. */
static bool tls_url(const char *url)
{
    static const char *const schemes[] = {"tls+tcp://", "tls+tcp4://", "tls+tcp6://", "wss://"};

    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0)
            return true;
    return false;
}

int cat_tls_check_listener(const struct cat_tls_options *t, const char *url)
{
    /* The library would refuse it too, but only as "invalid argument". */
    if (t->cert == NULL && tls_url(url)) {
        cat_report("listening on %s needs a certificate: give --cert", url);
        return -1;
    }
    return 0;
}

int cat_tls_apply_dialer(const struct cat_tls_options *t, msock_dialer d, const char **what)
{
    struct tls_setting s[TLS_SETTINGS_MAX];
    size_t n = tls_settings(t, s);

    for (size_t i = 0; i < n; i++) {
        int rc = s[i].string != NULL ? msock_dialer_set_string(d, s[i].opt, s[i].string)
                                     : msock_dialer_set_int(d, s[i].opt, s[i].number);
        if (rc != 0) {
            *what = s[i].flag;
            return rc;
        }
    }
    return 0;
}

int cat_tls_apply_listener(const struct cat_tls_options *t, msock_listener l, const char **what)
{
    struct tls_setting s[TLS_SETTINGS_MAX];
    size_t n = tls_settings(t, s);

    for (size_t i = 0; i < n; i++) {
        int rc = s[i].string != NULL ? msock_listener_set_string(l, s[i].opt, s[i].string)
                                     : msock_listener_set_int(l, s[i].opt, s[i].number);
        if (rc != 0) {
            *what = s[i].flag;
            return rc;
        }
    }
    return 0;
}

void cat_tls_free(struct cat_tls_options *t)
{
    free(t->cert);
    free(t->key);
    free(t->cacert);
    *t = (struct cat_tls_options){0};
}
