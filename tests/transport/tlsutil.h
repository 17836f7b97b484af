/* tlsutil.h: TLS test certificates (made once per test program by tests/tls/make_certs.sh with
 * the openssl command) and the options that put them on endpoints. */
#ifndef TLSUTIL_H
#define TLSUTIL_H

#include <stddef.h>

#include "msock.h"

/* The directory with ca.crt, server.crt/.key, client.crt/.key, other-ca.crt, other.crt/.key
 * (localhost from another CA), wrongname.crt/.key (example.com) and server.pem; made on first
 * use in the test's temporary directory; fails the test when openssl cannot make them. */
const char *tls_certs(void);
/* The path of one of them. */
const char *tls_cert_file(const char *name);
/* A listener with server.crt/.key (and, when ca is not NULL, that CA and verify mode). */
void tls_listener_identity(msock_listener l, const char *cert, const char *key);
void tls_listener_verify(msock_listener l, const char *ca, int verify);
/* A dialer that trusts ca (a file name in tls_certs()) and, when cert is not NULL, shows it. */
void tls_dialer_trust(msock_dialer d, const char *ca);
void tls_dialer_identity(msock_dialer d, const char *cert, const char *key);

#endif
