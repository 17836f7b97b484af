/* url.c: splits endpoint URLs (inproc, ipc, tcp, tcp4, tcp6, tls+tcp*, ws, wss) into scheme, host, port and
 * path, rejecting anything a transport could misread later. */
#include <stdio.h>

#include "core/url.h"

/* sun_path is 108 bytes on Linux and needs a terminating NUL. */
#define URL_IPC_PATH_MAX 107
#define URL_WS_DEFAULT_PORT 80
#define URL_WSS_DEFAULT_PORT 443

enum url_kind { URL_KIND_INPROC, URL_KIND_IPC, URL_KIND_TCP, URL_KIND_WS };

struct url_scheme {
    const char *name;
    enum url_kind kind;
    int family;
};

/* "unix://" and "abstract://" are nng extensions we deliberately leave out. */
static const struct url_scheme url_schemes[] = {
    {"inproc", URL_KIND_INPROC, MS_URL_ANY}, {"ipc", URL_KIND_IPC, MS_URL_ANY},
    {"tcp", URL_KIND_TCP, MS_URL_ANY},       {"tcp4", URL_KIND_TCP, MS_URL_INET4},
    {"tcp6", URL_KIND_TCP, MS_URL_INET6},    {"ws", URL_KIND_WS, MS_URL_ANY},
    {"tls+tcp", URL_KIND_TCP, MS_URL_ANY},   {"tls+tcp4", URL_KIND_TCP, MS_URL_INET4},
    {"tls+tcp6", URL_KIND_TCP, MS_URL_INET6}, {"wss", URL_KIND_WS, MS_URL_ANY},
};

static bool url_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool url_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool url_is_hex(char c)
{
    return url_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char url_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Host names and IPv4 literals; ':' is excluded so an unbracketed IPv6 address fails. */
static bool url_is_name_char(char c)
{
    return url_is_alpha(c) || url_is_digit(c) || c == '-' || c == '.' || c == '_';
}

/* The inside of [...]: hex groups, ':' and '.' (for ::ffff:1.2.3.4), then an optional
 * "%zone" suffix naming an interface. */
static bool url_ipv6_literal_ok(const char *s, size_t len)
{
    size_t i = 0;
    bool has_colon = false;

    for (; i < len && s[i] != '%'; i++) {
        if (s[i] == ':')
            has_colon = true;
        else if (!url_is_hex(s[i]) && s[i] != '.')
            return false;
    }
    if (!has_colon)
        return false;
    if (i == len)
        return true;
    if (++i == len) /* a bare '%' */
        return false;
    for (; i < len; i++)
        if (!url_is_name_char(s[i]))
            return false;
    return true;
}

/* Decimal 0..65535, at least one digit, nothing else. */
static int url_parse_port(const char *s, size_t len, uint16_t *port)
{
    uint32_t value = 0;

    if (len == 0)
        return MSOCK_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (!url_is_digit(s[i]))
            return MSOCK_EINVAL;
        value = value * 10 + (uint32_t)(s[i] - '0');
        if (value > 65535) /* checked per digit, so long strings cannot overflow */
            return MSOCK_EINVAL;
    }
    *port = (uint16_t)value;
    return 0;
}

/* Parses "host[:port]" in authority[0..len) for tcp and ws. The port is required when
 * need_port is set. */
static int url_parse_authority(ms_url *u, const char *authority, size_t len, bool need_port)
{
    const char *host = authority;
    size_t host_len;
    size_t rest; /* offset of what follows the host */
    bool bracketed = false;

    if (len > 0 && authority[0] == '[') {
        const char *close = memchr(authority, ']', len);
        if (close == NULL)
            return MSOCK_EINVAL;
        host = authority + 1;
        host_len = (size_t)(close - host);
        if (!url_ipv6_literal_ok(host, host_len))
            return MSOCK_EINVAL;
        rest = (size_t)(close - authority) + 1;
        bracketed = true;
    } else {
        const char *colon = memchr(authority, ':', len);
        host_len = colon ? (size_t)(colon - authority) : len;
        rest = host_len;
        if (host_len == 1 && host[0] == '*') {
            host_len = 0;
        } else {
            for (size_t i = 0; i < host_len; i++)
                if (!url_is_name_char(host[i]))
                    return MSOCK_EINVAL;
        }
    }
    if (bracketed && u->family == MS_URL_INET4)
        return MSOCK_EINVAL;

    memcpy(u->host, host, host_len);
    u->host[host_len] = '\0';

    if (rest == len) {
        if (need_port)
            return MSOCK_EINVAL;
        return 0;
    }
    if (authority[rest] != ':') /* e.g. "[::1]x" */
        return MSOCK_EINVAL;
    /* The port runs to the end, so a second ':' (unbracketed IPv6) or junk fails here. */
    int rc = url_parse_port(authority + rest + 1, len - rest - 1, &u->port);
    if (rc != 0)
        return rc;
    u->has_port = true;
    return 0;
}

static int url_parse_ipc(ms_url *u, const char *rest)
{
    size_t len = strlen(rest);

    if (len == 0)
        return MSOCK_EINVAL;
    if (len > URL_IPC_PATH_MAX)
        return MSOCK_ENAMETOOLONG;
    memcpy(u->path, rest, len + 1);
    return 0;
}

static int url_parse_inproc(ms_url *u, const char *rest)
{
    size_t len = strlen(rest);

    if (len == 0)
        return MSOCK_EINVAL;
    memcpy(u->path, rest, len + 1);
    return 0;
}

static int url_parse_tcp(ms_url *u, const char *rest)
{
    return url_parse_authority(u, rest, strlen(rest), true);
}

/* ws://host[:port][/path] (and wss://): the path goes verbatim into the HTTP request line, so characters
 * that would break that line are refused. */
static int url_parse_ws(ms_url *u, const char *rest)
{
    const char *slash = strchr(rest, '/');
    size_t authority_len = slash ? (size_t)(slash - rest) : strlen(rest);
    int rc = url_parse_authority(u, rest, authority_len, false);

    if (rc != 0)
        return rc;
    if (!u->has_port)
        u->port = strcmp(u->scheme, "wss") == 0 ? URL_WSS_DEFAULT_PORT : URL_WS_DEFAULT_PORT;
    if (slash == NULL) {
        strcpy(u->path, "/");
        return 0;
    }
    for (const char *p = slash; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
            return MSOCK_EINVAL;
    memcpy(u->path, slash, strlen(slash) + 1);
    return 0;
}

static int url_parse_into(ms_url *u, const char *url)
{
    const struct url_scheme *scheme = NULL;
    const char *sep;
    size_t url_len, scheme_len;

    if (url == NULL)
        return MSOCK_EINVAL;
    url_len = strnlen(url, MS_URL_MAX + 1);
    if (url_len > MS_URL_MAX)
        return MSOCK_ENAMETOOLONG;
    memcpy(u->raw, url, url_len + 1);

    sep = strstr(url, "://");
    if (sep == NULL || sep == url)
        return MSOCK_EINVAL;
    scheme_len = (size_t)(sep - url);
    for (size_t i = 0; i < scheme_len; i++) {
        if (!url_is_alpha(url[i]) && !(i > 0 && (url_is_digit(url[i]) || url[i] == '+')))
            return MSOCK_EINVAL;
    }
    if (scheme_len >= sizeof(u->scheme))
        return MSOCK_ENOTSUP;
    for (size_t i = 0; i < scheme_len; i++)
        u->scheme[i] = url_lower(url[i]);
    u->scheme[scheme_len] = '\0';

    for (size_t i = 0; i < MS_ARRAY_LEN(url_schemes); i++) {
        if (strcmp(u->scheme, url_schemes[i].name) == 0) {
            scheme = &url_schemes[i];
            break;
        }
    }
    if (scheme == NULL)
        return MSOCK_ENOTSUP;
    u->family = scheme->family;

    switch (scheme->kind) {
    case URL_KIND_INPROC:
        return url_parse_inproc(u, sep + 3);
    case URL_KIND_IPC:
        return url_parse_ipc(u, sep + 3);
    case URL_KIND_TCP:
        return url_parse_tcp(u, sep + 3);
    default:
        return url_parse_ws(u, sep + 3);
    }
}

int ms_url_parse(ms_url *u, const char *url)
{
    int rc;

    memset(u, 0, sizeof(*u));
    rc = url_parse_into(u, url);
    if (rc != 0) /* callers must not act on half-parsed fields */
        memset(u, 0, sizeof(*u));
    return rc;
}

bool ms_url_host_is_wildcard(const ms_url *u)
{
    static const char *const wildcards[] = {"", "*", "0.0.0.0", "::", "::0"};

    for (size_t i = 0; i < MS_ARRAY_LEN(wildcards); i++)
        if (strcmp(u->host, wildcards[i]) == 0)
            return true;
    return false;
}

int ms_url_format_tcp(char *buf, size_t len, const char *scheme, const char *host, uint16_t port)
{
    const char *open = "", *close = "";
    int n;

    if (buf == NULL || len == 0)
        return MSOCK_ENAMETOOLONG;
    if (host == NULL)
        host = "";
    if (strchr(host, ':') != NULL)
        open = "[", close = "]";
    n = snprintf(buf, len, "%s://%s%s%s:%u", scheme, open, host, close, (unsigned)port);
    if (n < 0 || (size_t)n >= len) {
        buf[0] = '\0';
        return MSOCK_ENAMETOOLONG;
    }
    return 0;
}
