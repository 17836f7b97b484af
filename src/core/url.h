/* url.h: parsing of endpoint URLs (inproc, ipc, tcp, tcp4, tcp6; ws later) into their parts. */
#ifndef MS_URL_H
#define MS_URL_H

#include "core/defs.h"

enum ms_url_family {
    MS_URL_ANY = 0, /* tcp://: IPv4 or IPv6, whatever the host resolves to */
    MS_URL_INET4,   /* tcp4:// */
    MS_URL_INET6,   /* tcp6:// */
};

struct ms_url {
    char raw[MS_URL_MAX + 1]; /* the URL as given */
    char scheme[16];          /* "tcp", "tls+tcp", "ipc", "inproc", "ws", "wss"... lower case */
    char host[MS_URL_MAX];    /* tcp/ws: host without brackets; "" for wildcard ("*" or empty) */
    uint16_t port;            /* tcp/ws: 0 = pick a free port (listen only) */
    bool has_port;
    char path[MS_URL_MAX];    /* ipc: the file path; inproc: the name; ws: "/..." (default "/") */
    int family;               /* enum ms_url_family */
};

/* Parses url into u. Returns 0; MSOCK_EINVAL for a malformed URL (missing "://", bad port,
 * unbalanced brackets, empty ipc path or inproc name, host part in ipc); MSOCK_ENAMETOOLONG
 * over MS_URL_MAX bytes; MSOCK_ENOTSUP for an unknown scheme. Scheme matching ignores case.
 * tcp: "tcp://host:port", "tcp://" "*:port" (wildcard), "tcp://:port", "tcp://[::1]:port"; the port is
 * required and 0..65535. ipc: "ipc:///abs/path" -> path "/abs/path", "ipc://rel" -> "rel";
 * the path must fit sun_path (107 bytes). */
int ms_url_parse(ms_url *u, const char *url);
/* True for a wildcard host ("", "*", "0.0.0.0", "::"). */
bool ms_url_host_is_wildcard(const ms_url *u);
/* Writes "scheme://host:port" (brackets around IPv6) into buf; 0 or MSOCK_ENAMETOOLONG. */
int ms_url_format_tcp(char *buf, size_t len, const char *scheme, const char *host, uint16_t port);

#endif
