/* tls_config.c: builds an endpoint's OpenSSL context from its TLS options (certificate and
 * key, CAs, peer checks, versions) and turns OpenSSL's failures into libmsock errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/sockaddr.h"
#include "transport/tls_config.h"

static const unsigned char session_context[] = "libmsock";

/* A file we cannot read is reported as the system says; OpenSSL's own error would not. */
static int readable(const char *path)
{
    return access(path, R_OK) == 0 ? 0 : ms_errno_to_code(errno);
}

static int ssl_failed(const char *what, const char *path)
{
    char reason[256];
    unsigned long e = ERR_peek_last_error();
    ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    ms_debug("tls: %s %s: %s", what, path, reason);
    return MSOCK_ECRYPTO;
}

int ms_tls_verify_mode(const ms_opts *o, bool server)
{
    if (o->tls_verify != MSOCK_TLS_VERIFY_DEFAULT)
        return o->tls_verify;
    return server ? MSOCK_TLS_VERIFY_NONE : MSOCK_TLS_VERIFY_REQUIRED;
}

/* A key under a passphrase would make OpenSSL ask for it on the terminal: refuse it instead. */
static int no_passphrase_cb(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return 0;
}

static int load_identity(SSL_CTX *ctx, const ms_opts *o)
{
    const char *key = o->tls_key[0] ? o->tls_key : o->tls_cert;
    int rv = readable(o->tls_cert);
    if (rv == 0)
        rv = readable(key);
    if (rv != 0)
        return rv;
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase_cb);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1)
        return ssl_failed("certificate", o->tls_cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        return ssl_failed("private key", key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return ssl_failed("private key does not match", o->tls_cert);
    return 0;
}

static int load_cas(SSL_CTX *ctx, const ms_opts *o, bool server)
{
    if (o->tls_ca[0] == '\0') {
        SSL_CTX_set_default_verify_paths(ctx);
        return 0;
    }
    int rv = readable(o->tls_ca);
    if (rv != 0)
        return rv;
    if (SSL_CTX_load_verify_locations(ctx, o->tls_ca, NULL) != 1)
        return ssl_failed("CA file", o->tls_ca);
    if (server) {
        /* Tells clients which issuers we accept, so one with several certificates picks. */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->tls_ca);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
        ERR_clear_error();
    }
    return 0;
}

int ms_tls_ctx_configure(SSL_CTX *ctx, const ms_opts *o, bool server)
{
    if (o->tls_min_version > o->tls_max_version)
        return MSOCK_EINVAL;
    if (server && o->tls_cert[0] == '\0')
        return MSOCK_EINVAL; /* a TLS listener has nothing to show without one */
    SSL_CTX_set_min_proto_version(ctx, o->tls_min_version);
    SSL_CTX_set_max_proto_version(ctx, o->tls_max_version);
    /* SP frames its own messages: a peer that closes without close_notify loses nothing a
     * clean close would have kept, so its end is an end, not an attack on truncation. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    int rv = o->tls_cert[0] ? load_identity(ctx, o) : 0;
    int verify = ms_tls_verify_mode(o, server);
    if (rv == 0 && verify != MSOCK_TLS_VERIFY_NONE)
        rv = load_cas(ctx, o, server);
    if (rv != 0)
        return rv;
    int mode = SSL_VERIFY_NONE;
    if (server && verify == MSOCK_TLS_VERIFY_OPTIONAL)
        mode = SSL_VERIFY_PEER;
    else if (server && verify == MSOCK_TLS_VERIFY_REQUIRED)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (!server && verify == MSOCK_TLS_VERIFY_REQUIRED)
        mode = SSL_VERIFY_PEER; /* OPTIONAL on a dialer: the result is kept, the link too */
    SSL_CTX_set_verify(ctx, mode, NULL);
    if (server)
        SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);
    return 0;
}

int ms_tls_ctx_new(const ms_opts *o, bool server, SSL_CTX **out)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) {
        ERR_clear_error();
        return MSOCK_ENOMEM;
    }
    int rv = ms_tls_ctx_configure(ctx, o, server);
    if (rv != 0) {
        SSL_CTX_free(ctx);
        return rv;
    }
    *out = ctx;
    return 0;
}

int ms_tls_client_name(SSL *ssl, const ms_opts *o, const char *host)
{
    const char *name = o->tls_server_name[0] ? o->tls_server_name : host;
    if (name == NULL || name[0] == '\0' || strcmp(name, "*") == 0)
        return 0;
    unsigned char addr[16];
    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1) {
        /* An address is checked against the certificate's IP entries; SNI carries no address. */
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        return X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1 ? 0 : MSOCK_EINVAL;
    }
    if (SSL_set_tlsext_host_name(ssl, name) != 1 || SSL_set1_host(ssl, name) != 1) {
        ERR_clear_error();
        return MSOCK_EINVAL;
    }
    return 0;
}

/* Alerts a peer sends when it refuses our certificate, or wants one we did not give. */
static bool is_certificate_alert(int reason)
{
    switch (reason) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return true;
    default:
        return false;
    }
}

int ms_tls_error(SSL *ssl, int ret, const char *what)
{
    int saved_errno = errno;
    int err = SSL_get_error(ssl, ret);
    unsigned long e = ERR_peek_last_error();
    char reason[256] = "";
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    long verify = SSL_get_verify_result(ssl);
    switch (err) {
    case SSL_ERROR_ZERO_RETURN:
        return MSOCK_ECONNRESET;
    case SSL_ERROR_SYSCALL:
        if (e == 0)
            return saved_errno ? ms_errno_to_code(saved_errno) : MSOCK_ECONNRESET;
        break;
    default:
        break;
    }
    /* After the handshake a failed check no longer matters (a dialer with OPTIONAL keeps it). */
    bool in_handshake = !SSL_is_init_finished(ssl);
    if (!in_handshake)
        verify = X509_V_OK;
    bool refused = (e && is_certificate_alert(ERR_GET_REASON(e))) || verify != X509_V_OK;
    ms_debug("tls: %s: %s%s%s", what, reason[0] ? reason : "failed",
             verify != X509_V_OK ? ": " : "",
             verify != X509_V_OK ? X509_verify_cert_error_string(verify) : "");
    return refused ? MSOCK_EPEERAUTH : MSOCK_ECRYPTO;
}
