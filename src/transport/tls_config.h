/* tls_config.h: OpenSSL contexts made from an endpoint's TLS options, and the libmsock error
 * for a failed TLS call. Shared by tls+tcp (stream_tls.c) and wss (ws_service.c). */
#ifndef MS_TLS_CONFIG_H
#define MS_TLS_CONFIG_H

#include <openssl/ssl.h>

#include "core/options.h"

/* A new context for a listener (server) or dialer with o's certificate, key, CAs, checks and
 * versions. MSOCK_ENOENT/EACCES for a file that cannot be read, MSOCK_ECRYPTO for one OpenSSL
 * refuses (or a key that is not the certificate's), MSOCK_EINVAL for a listener without a
 * certificate or versions min > max. */
int ms_tls_ctx_new(const ms_opts *o, bool server, SSL_CTX **out);
/* The same settings applied to a context someone else made (libwebsockets'). */
int ms_tls_ctx_configure(SSL_CTX *ctx, const ms_opts *o, bool server);
/* The effective MSOCK_OPT_TLS_VERIFY of a listener (server) or dialer. */
int ms_tls_verify_mode(const ms_opts *o, bool server);
/* Sets a client connection's expected server name (o's, else host): SNI and the certificate
 * check, or the IP address check when the name is an address literal. */
int ms_tls_client_name(SSL *ssl, const ms_opts *o, const char *host);
/* The libmsock error for a TLS call that returned ret: MSOCK_EPEERAUTH when a certificate was
 * refused (ours by the peer, or the peer's by us), MSOCK_ECRYPTO for other TLS failures, the
 * errno's code for a system call, MSOCK_ECONNRESET for an end of stream. Clears OpenSSL's
 * error queue and logs its reason with ms_debug. */
int ms_tls_error(SSL *ssl, int ret, const char *what);

#endif
