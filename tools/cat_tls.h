/* cat_tls.h: msockcat's TLS flags, those of nngcat (--cert/-E, --key, --cacert,
 * --insecure/-k): parsed into one set of files and put on every dialer and listener. */
#ifndef CAT_TLS_H
#define CAT_TLS_H

#include <stdbool.h>

#include <msock.h>

enum cat_tls_flag {
    CAT_TLS_CERT,     /* --cert FILE, -E FILE */
    CAT_TLS_KEY,      /* --key FILE */
    CAT_TLS_CACERT,   /* --cacert FILE */
    CAT_TLS_INSECURE, /* --insecure, -k */
};

/* Paths are NUL-terminated copies of the arguments, owned, NULL when not given. */
struct cat_tls_options {
    char *cert;   /* our certificate (and chain): a listener's identity, a dialer's client one */
    char *key;    /* its private key; NULL: in the cert file */
    char *cacert; /* the CAs that verify the peer; a listener then requires a client cert */
    bool insecure; /* verify no peer certificate */
};

/* Records one flag (flag is its spelling, for messages; value NULL for --insecure). Returns 0,
 * or -1 after reporting a repeated flag. */
int cat_tls_set(struct cat_tls_options *t, enum cat_tls_flag which, const char *flag,
                const char *value);

/* Checks the flags together once parsed; -1 after reporting what is wrong. */
int cat_tls_check(const struct cat_tls_options *t);

/* Checks that a listener on url has what its transport needs (a TLS one: --cert); -1 after
 * reporting what is missing. */
int cat_tls_check_listener(const struct cat_tls_options *t, const char *url);

/* Puts the TLS options on an endpoint between its create and its start. Non-TLS transports
 * keep them unused. Returns 0 or a MSOCK_E* code; *what then names the option that failed. */
int cat_tls_apply_dialer(const struct cat_tls_options *t, msock_dialer d, const char **what);
int cat_tls_apply_listener(const struct cat_tls_options *t, msock_listener l, const char **what);

void cat_tls_free(struct cat_tls_options *t);

#endif
