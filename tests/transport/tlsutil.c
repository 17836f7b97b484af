/* tlsutil.c: makes the TLS test certificates with tests/tls/make_certs.sh and sets the TLS
 * options of test endpoints to them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "transport/tlsutil.h"

static char certs_dir[512];

const char *tls_certs(void)
{
    if (certs_dir[0])
        return certs_dir;
    const char *srcdir = getenv("srcdir");
    char script[1024], cmd[4096];
    snprintf(script, sizeof script, "%s/tests/tls/make_certs.sh", srcdir ? srcdir : ".");
    snprintf(certs_dir, sizeof certs_dir, "%s/certs", tu_tmpdir());
    snprintf(cmd, sizeof cmd, "sh '%s' '%s' >'%s.log' 2>&1", script, certs_dir, certs_dir);
    if (system(cmd) != 0) {
        char log[1100];
        snprintf(log, sizeof log, "%s.log", certs_dir);
        certs_dir[0] = '\0';
        fail_msg("make_certs.sh failed (is openssl installed?): see %s", log);
    }
    return certs_dir;
}

const char *tls_cert_file(const char *name)
{
    /* A few paths are alive at once in one call's arguments: rotate through some buffers. */
    static char paths[8][640];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", tls_certs(), name);
    return p;
}

void tls_listener_identity(msock_listener l, const char *cert, const char *key)
{
    TU_OK(msock_listener_set_string(l, MSOCK_OPT_TLS_CERT, tls_cert_file(cert)));
    TU_OK(msock_listener_set_string(l, MSOCK_OPT_TLS_KEY, tls_cert_file(key)));
}

void tls_listener_verify(msock_listener l, const char *ca, int verify)
{
    TU_OK(msock_listener_set_string(l, MSOCK_OPT_TLS_CA, tls_cert_file(ca)));
    TU_OK(msock_listener_set_int(l, MSOCK_OPT_TLS_VERIFY, verify));
}

void tls_dialer_trust(msock_dialer d, const char *ca)
{
    TU_OK(msock_dialer_set_string(d, MSOCK_OPT_TLS_CA, tls_cert_file(ca)));
}

void tls_dialer_identity(msock_dialer d, const char *cert, const char *key)
{
    TU_OK(msock_dialer_set_string(d, MSOCK_OPT_TLS_CERT, tls_cert_file(cert)));
    TU_OK(msock_dialer_set_string(d, MSOCK_OPT_TLS_KEY, tls_cert_file(key)));
}
