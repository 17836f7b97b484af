/* cat_args.c: parses msockcat's command line. Long options may be abbreviated to any unique
 * prefix and take "--opt=value" or "--opt value", as in nngcat and nanocat. msockcat's own
 * flags (the group ones) never take a prefix away from a flag of nngcat or nanocat. */
#include "cat_args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_io.h"

/* Every protocol flag of nngcat and nanocat, with the forms ending in 0 that nngcat prefers. */
#define SEND_RECV (CAT_ROLE_SEND | CAT_ROLE_RECV)
static const struct cat_proto protos[] = {
    {"pair0", "pair", msock_pair_open, SEND_RECV, CAT_EXCHANGE_STREAM},
    {"pair", "pair", msock_pair_open, SEND_RECV, CAT_EXCHANGE_STREAM},
    {"pair1", "pair1", msock_pair1_open, SEND_RECV, CAT_EXCHANGE_STREAM},
    {"push0", "push", msock_push_open, CAT_ROLE_SEND, CAT_EXCHANGE_STREAM},
    {"push", "push", msock_push_open, CAT_ROLE_SEND, CAT_EXCHANGE_STREAM},
    {"pull0", "pull", msock_pull_open, CAT_ROLE_RECV, CAT_EXCHANGE_STREAM},
    {"pull", "pull", msock_pull_open, CAT_ROLE_RECV, CAT_EXCHANGE_STREAM},
    {"pub0", "pub", msock_pub_open, CAT_ROLE_SEND, CAT_EXCHANGE_STREAM},
    {"pub", "pub", msock_pub_open, CAT_ROLE_SEND, CAT_EXCHANGE_STREAM},
    {"sub0", "sub", msock_sub_open, CAT_ROLE_RECV, CAT_EXCHANGE_STREAM},
    {"sub", "sub", msock_sub_open, CAT_ROLE_RECV, CAT_EXCHANGE_STREAM},
    {"bus0", "bus", msock_bus_open, SEND_RECV, CAT_EXCHANGE_STREAM},
    {"bus", "bus", msock_bus_open, SEND_RECV, CAT_EXCHANGE_STREAM},
    {"req0", "req", msock_req_open, SEND_RECV, CAT_EXCHANGE_REQUEST},
    {"req", "req", msock_req_open, SEND_RECV, CAT_EXCHANGE_REQUEST},
    {"rep0", "rep", msock_rep_open, SEND_RECV, CAT_EXCHANGE_REPLY},
    {"rep", "rep", msock_rep_open, SEND_RECV, CAT_EXCHANGE_REPLY},
    {"surveyor0", "surveyor", msock_surveyor_open, SEND_RECV, CAT_EXCHANGE_SURVEY},
    {"surveyor", "surveyor", msock_surveyor_open, SEND_RECV, CAT_EXCHANGE_SURVEY},
    {"respondent0", "respondent", msock_respondent_open, SEND_RECV, CAT_EXCHANGE_REPLY},
    {"respondent", "respondent", msock_respondent_open, SEND_RECV, CAT_EXCHANGE_REPLY},
};

/* msockcat's own protocols: the group pattern, which neither nngcat nor nanocat has. */
static const struct cat_proto own_protos[] = {
    {"group-hub", "group hub", msock_group_hub_open, 0, CAT_EXCHANGE_GROUP_HUB},
    {"group", "group", msock_group_open, SEND_RECV, CAT_EXCHANGE_GROUP},
};

enum opt_id {
    OPT_LISTEN, OPT_DIAL, OPT_BIND_LOCAL, OPT_CONNECT_LOCAL, OPT_BIND_IPC, OPT_CONNECT_IPC,
    OPT_FORMAT, OPT_RAW, OPT_ASCII, OPT_QUOTED, OPT_HEX, OPT_MSGPACK,
    OPT_DATA, OPT_FILE, OPT_COUNT, OPT_DELAY, OPT_INTERVAL,
    OPT_RECV_TIMEOUT, OPT_SEND_TIMEOUT, OPT_RECV_MAXSZ, OPT_SUBSCRIBE, OPT_SOCKET_NAME,
    OPT_VERBOSE, OPT_SILENT, OPT_ASYNC, OPT_COMPAT, OPT_STATS, OPT_HELP, OPT_VERSION,
    OPT_CERT, OPT_KEY, OPT_CACERT, OPT_INSECURE, /* nngcat's TLS flags (cat_tls.c) */
    OPT_ZT_HOME, /* nngcat's ZeroTier option: known, so the error can say why */
    OPT_CREATE, OPT_JOIN, OPT_PASSWORD, OPT_MASTER_PASSWORD, OPT_TO, OPT_LIST_GROUPS,
    OPT_WHOAMI, OPT_PEERS, OPT_RELAY, OPT_MAX_CONNS,
};

struct opt_def {
    const char *name;
    char short_name; /* 0: none */
    bool has_value;
    enum opt_id id;
};

static const struct opt_def opt_defs[] = {
    {"listen", 0, true, OPT_LISTEN},          {"bind", 0, true, OPT_LISTEN},
    {"dial", 0, true, OPT_DIAL},              {"connect", 0, true, OPT_DIAL},
    {"bind-local", 'L', true, OPT_BIND_LOCAL}, {"connect-local", 'l', true, OPT_CONNECT_LOCAL},
    {"bind-ipc", 'X', true, OPT_BIND_IPC},    {"connect-ipc", 'x', true, OPT_CONNECT_IPC},
    {"format", 0, true, OPT_FORMAT},          {"raw", 0, false, OPT_RAW},
    {"ascii", 'A', false, OPT_ASCII},         {"quoted", 'Q', false, OPT_QUOTED},
    {"hex", 0, false, OPT_HEX},               {"msgpack", 0, false, OPT_MSGPACK},
    {"data", 'D', true, OPT_DATA},            {"file", 'F', true, OPT_FILE},
    {"count", 'C', true, OPT_COUNT},          {"delay", 'd', true, OPT_DELAY},
    {"interval", 'i', true, OPT_INTERVAL},    {"recv-timeout", 0, true, OPT_RECV_TIMEOUT},
    {"send-timeout", 0, true, OPT_SEND_TIMEOUT}, {"recv-maxsz", 'Z', true, OPT_RECV_MAXSZ},
    {"subscribe", 0, true, OPT_SUBSCRIBE},    {"socket-name", 0, true, OPT_SOCKET_NAME},
    {"verbose", 'v', false, OPT_VERBOSE},     {"silent", 'q', false, OPT_SILENT},
    {"async", 0, false, OPT_ASYNC},           {"compat", 0, false, OPT_COMPAT},
    {"stats", 0, false, OPT_STATS},
    {"help", 'h', false, OPT_HELP},           {"version", 'V', false, OPT_VERSION},
    {"insecure", 'k', false, OPT_INSECURE},   {"cacert", 0, true, OPT_CACERT},
    {"cert", 'E', true, OPT_CERT},            {"key", 0, true, OPT_KEY},
    {"zt-home", 0, true, OPT_ZT_HOME},
};

/* msockcat's own options, for the group protocols; long only. */
static const struct opt_def own_opt_defs[] = {
    {"create", 0, true, OPT_CREATE},          {"join", 0, true, OPT_JOIN},
    {"password", 0, true, OPT_PASSWORD},      {"master-password", 0, true, OPT_MASTER_PASSWORD},
    {"to", 0, true, OPT_TO},                  {"list-groups", 0, false, OPT_LIST_GROUPS},
    {"whoami", 0, false, OPT_WHOAMI},         {"peers", 0, false, OPT_PEERS},
    {"relay", 0, true, OPT_RELAY},            {"max-conns", 0, true, OPT_MAX_CONNS},
};

/* The long flags of one origin: nngcat's and nanocat's, or msockcat's own. */
struct flag_table {
    const struct opt_def *opts;
    size_t opt_count;
    const struct cat_proto *protos;
    size_t proto_count;
};
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
static const struct flag_table common_flags = {opt_defs, COUNT_OF(opt_defs), protos,
                                               COUNT_OF(protos)};
static const struct flag_table own_flags = {own_opt_defs, COUNT_OF(own_opt_defs), own_protos,
                                            COUNT_OF(own_protos)};

/* The longest delay or timeout we take, in seconds: about 115 days, far from overflow. */
#define MAX_SECONDS 1e7

static char *dup_or_die(const char *s)
{
    char *copy = strdup(s);
    if (copy == NULL) {
        cat_report("out of memory");
        exit(1);
    }
    return copy;
}

static void *grow_or_die(void *array, size_t count, size_t elem_size)
{
    void *bigger = realloc(array, (count + 1) * elem_size);
    if (bigger == NULL) {
        cat_report("out of memory");
        exit(1);
    }
    return bigger;
}

static void add_endpoint(struct cat_options *opts, enum cat_endpoint_kind kind,
                         const char *prefix, const char *rest)
{
    size_t len = strlen(prefix) + strlen(rest) + 1;
    char *url = malloc(len);
    if (url == NULL) {
        cat_report("out of memory");
        exit(1);
    }
    snprintf(url, len, "%s%s", prefix, rest);
    opts->endpoints = grow_or_die(opts->endpoints, opts->endpoint_count, sizeof(*opts->endpoints));
    opts->endpoints[opts->endpoint_count].kind = kind;
    opts->endpoints[opts->endpoint_count].url = url;
    opts->endpoint_count++;
}

static void add_subscription(struct cat_options *opts, const char *topic)
{
    opts->subscriptions = grow_or_die(opts->subscriptions, opts->subscription_count,
                                      sizeof(*opts->subscriptions));
    opts->subscriptions[opts->subscription_count++] = dup_or_die(topic);
}

static int parse_unsigned(const char *flag, const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    /* strtoull quietly negates "-1"; a leading sign is never a valid count. */
    if (text[0] < '0' || text[0] > '9' || ((v = strtoull(text, &end, 10)), errno != 0) ||
        *end != '\0' || v > max) {
        cat_report("%s expects a whole number up to %llu, not '%s'", flag,
                   (unsigned long long)max, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* Seconds may be fractional, as nanocat allows ("0.25"). */
static int parse_seconds(const char *flag, const char *text, int64_t *ms)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(v) || v < 0 || v > MAX_SECONDS) {
        cat_report("%s expects a number of seconds, not '%s'", flag, text);
        return -1;
    }
    *ms = (int64_t)(v * 1000.0 + 0.5);
    return 0;
}

static int parse_port(const char *flag, const char *text)
{
    uint64_t port;
    return parse_unsigned(flag, text, 65535, &port);
}

static int read_stream(FILE *in, unsigned char **data, size_t *len)
{
    size_t cap = 0, used = 0;
    unsigned char *buf = NULL;

    for (;;) {
        if (used == cap) {
            size_t bigger = cap == 0 ? 4096 : cap * 2;
            unsigned char *grown = realloc(buf, bigger);
            if (grown == NULL) {
                free(buf);
                errno = ENOMEM;
                return -1;
            }
            buf = grown;
            cap = bigger;
        }
        size_t n = fread(buf + used, 1, cap - used, in);
        used += n;
        if (n == 0) {
            if (ferror(in)) {
                free(buf);
                return -1;
            }
            break;
        }
    }
    *data = buf;
    *len = used;
    return 0;
}

static int load_file(struct cat_options *opts, const char *path)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *in = is_stdin ? stdin : fopen(path, "rb");
    int rc;

    if (in == NULL) {
        cat_report("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    rc = read_stream(in, &opts->data, &opts->data_len);
    if (rc != 0)
        cat_report("cannot read %s: %s", is_stdin ? "standard input" : path, strerror(errno));
    if (!is_stdin)
        fclose(in);
    return rc;
}

static int set_format(struct cat_options *opts, enum cat_format format)
{
    if (opts->format_given) {
        cat_report("the output format may be given only once");
        return -1;
    }
    opts->format = format;
    opts->format_given = true;
    return 0;
}

static int set_data(struct cat_options *opts, bool from_file, const char *value)
{
    if (opts->data_given) {
        cat_report("--data or --file may be given only once");
        return -1;
    }
    opts->data_given = true;
    if (from_file)
        return load_file(opts, value);
    opts->data_len = strlen(value);
    opts->data = (unsigned char *)dup_or_die(value);
    return 0;
}

/* A group name or password: given once, min..max bytes (the wire's str8 limits). */
static int set_group_string(char **slot, const char *flag, const char *value, size_t min,
                            size_t max)
{
    size_t len = strlen(value);

    if (*slot != NULL) {
        cat_report("%s may be given only once", flag);
        return -1;
    }
    if (len < min || len > max) {
        cat_report("%s expects %zu to %zu bytes, not %zu", flag, min, max, len);
        return -1;
    }
    *slot = dup_or_die(value);
    return 0;
}

/* A client id: a decimal number other than 0, which no client has. */
static int parse_client_id(const char *flag, const char *text, uint64_t *id)
{
    if (parse_unsigned(flag, text, UINT64_MAX, id) != 0)
        return -1;
    if (*id == 0) {
        cat_report("%s: 0 is no client's id", flag);
        return -1;
    }
    return 0;
}

/* --relay ID,ID,...: 1 to MSOCK_GROUP_RELAY_MAX ids. */
static int parse_relay_ids(struct cat_group_options *g, const char *flag, const char *value)
{
    char *list, *save = NULL;
    int rc = 0;

    if (g->relay_count > 0) {
        cat_report("%s may be given only once", flag);
        return -1;
    }
    g->relay_ids = calloc(MSOCK_GROUP_RELAY_MAX, sizeof(*g->relay_ids));
    if (g->relay_ids == NULL) {
        cat_report("out of memory");
        exit(1);
    }
    /* strtok_r would skip empty items; an empty item is a typo worth reporting. */
    list = dup_or_die(value);
    for (char *item = list; rc == 0 && item != NULL; item = save) {
        save = strchr(item, ',');
        if (save != NULL)
            *save++ = '\0';
        if (g->relay_count == MSOCK_GROUP_RELAY_MAX) {
            cat_report("%s takes at most %d ids", flag, MSOCK_GROUP_RELAY_MAX);
            rc = -1;
        } else {
            rc = parse_client_id(flag, item, &g->relay_ids[g->relay_count]);
            g->relay_count += rc == 0;
        }
    }
    free(list);
    return rc;
}

static int set_flag_once(bool *flag_set, const char *flag)
{
    if (*flag_set) {
        cat_report("%s may be given only once", flag);
        return -1;
    }
    *flag_set = true;
    return 0;
}

/* The options of --group and --group-hub. */
static int apply_group_option(struct cat_options *opts, const struct opt_def *def,
                              const char *flag, const char *value)
{
    struct cat_group_options *g = &opts->group;
    uint64_t n;

    switch (def->id) {
    case OPT_CREATE:
        if (g->capacity != 0) {
            cat_report("%s may be given only once", flag);
            return -1;
        }
        if (parse_unsigned(flag, value, UINT32_MAX, &n) != 0)
            return -1;
        if (n == 0) {
            cat_report("%s expects a capacity of at least 1", flag);
            return -1;
        }
        g->capacity = (uint32_t)n;
        return 0;
    case OPT_JOIN:
        return set_group_string(&g->name, flag, value, 1, MSOCK_GROUP_NAME_MAX);
    case OPT_PASSWORD:
        return set_group_string(&g->password, flag, value, 0, MSOCK_GROUP_PASSWORD_MAX);
    case OPT_MASTER_PASSWORD:
        return set_group_string(&g->master_password, flag, value, 0, MSOCK_GROUP_PASSWORD_MAX);
    case OPT_TO:
        if (g->to != 0) {
            cat_report("%s may be given only once", flag);
            return -1;
        }
        return parse_client_id(flag, value, &g->to);
    case OPT_LIST_GROUPS: return set_flag_once(&g->list_groups, flag);
    case OPT_WHOAMI: return set_flag_once(&g->whoami, flag);
    case OPT_PEERS: return set_flag_once(&g->peers, flag);
    case OPT_RELAY: return parse_relay_ids(g, flag, value);
    case OPT_MAX_CONNS:
        if (g->max_conns_given) {
            cat_report("%s may be given only once", flag);
            return -1;
        }
        if (parse_unsigned(flag, value, INT_MAX, &n) != 0)
            return -1;
        g->max_conns = (int)n;
        g->max_conns_given = true;
        return 0;
    default:
        return -1;
    }
}

/* Applies one option; flag is its canonical spelling, for messages. */
static int apply_option(struct cat_options *opts, const struct opt_def *def, const char *flag,
                        const char *value)
{
    uint64_t n;
    enum cat_format format;

    switch (def->id) {
    case OPT_LISTEN: add_endpoint(opts, CAT_ENDPOINT_LISTEN, "", value); return 0;
    case OPT_DIAL: add_endpoint(opts, CAT_ENDPOINT_DIAL, "", value); return 0;
    case OPT_BIND_LOCAL:
    case OPT_CONNECT_LOCAL:
        if (parse_port(flag, value) != 0)
            return -1;
        add_endpoint(opts, def->id == OPT_BIND_LOCAL ? CAT_ENDPOINT_LISTEN : CAT_ENDPOINT_DIAL,
                     "tcp://127.0.0.1:", value);
        return 0;
    case OPT_BIND_IPC: add_endpoint(opts, CAT_ENDPOINT_LISTEN, "ipc://", value); return 0;
    case OPT_CONNECT_IPC: add_endpoint(opts, CAT_ENDPOINT_DIAL, "ipc://", value); return 0;
    case OPT_FORMAT:
        if (cat_format_from_name(value, &format) != 0) {
            cat_report("unknown format '%s' (use no, raw, ascii, quoted, hex or msgpack)", value);
            return -1;
        }
        return set_format(opts, format);
    case OPT_RAW: return set_format(opts, CAT_FORMAT_RAW);
    case OPT_ASCII: return set_format(opts, CAT_FORMAT_ASCII);
    case OPT_QUOTED: return set_format(opts, CAT_FORMAT_QUOTED);
    case OPT_HEX: return set_format(opts, CAT_FORMAT_HEX);
    case OPT_MSGPACK: return set_format(opts, CAT_FORMAT_MSGPACK);
    case OPT_DATA:
    case OPT_FILE: return set_data(opts, def->id == OPT_FILE, value);
    case OPT_COUNT: return parse_unsigned(flag, value, UINT64_MAX, &opts->count);
    case OPT_DELAY: return parse_seconds(flag, value, &opts->delay_ms);
    case OPT_INTERVAL: return parse_seconds(flag, value, &opts->interval_ms);
    case OPT_RECV_TIMEOUT: return parse_seconds(flag, value, &opts->recv_timeout_ms);
    case OPT_SEND_TIMEOUT: return parse_seconds(flag, value, &opts->send_timeout_ms);
    case OPT_RECV_MAXSZ:
        if (parse_unsigned(flag, value, SIZE_MAX, &n) != 0)
            return -1;
        opts->recv_maxsz = (size_t)n;
        opts->recv_maxsz_given = true;
        return 0;
    case OPT_SUBSCRIBE: add_subscription(opts, value); return 0;
    case OPT_SOCKET_NAME:
        free(opts->socket_name);
        opts->socket_name = dup_or_die(value);
        return 0;
    case OPT_VERBOSE: opts->verbose = opts->verbose < 0 ? 1 : opts->verbose + 1; return 0;
    case OPT_SILENT: opts->verbose = -1; return 0;
    case OPT_ASYNC:
    case OPT_COMPAT: opts->async = true; return 0;
    case OPT_STATS: opts->stats = true; return 0;
    case OPT_HELP: opts->help = true; return 0;
    case OPT_VERSION: opts->version = true; return 0;
    case OPT_CERT: return cat_tls_set(&opts->tls, CAT_TLS_CERT, flag, value);
    case OPT_KEY: return cat_tls_set(&opts->tls, CAT_TLS_KEY, flag, value);
    case OPT_CACERT: return cat_tls_set(&opts->tls, CAT_TLS_CACERT, flag, value);
    case OPT_INSECURE: return cat_tls_set(&opts->tls, CAT_TLS_INSECURE, flag, value);
    case OPT_ZT_HOME:
        cat_report("%s is not supported: msockcat has no ZeroTier", flag);
        return -1;
    case OPT_CREATE:
    case OPT_JOIN:
    case OPT_PASSWORD:
    case OPT_MASTER_PASSWORD:
    case OPT_TO:
    case OPT_LIST_GROUPS:
    case OPT_WHOAMI:
    case OPT_PEERS:
    case OPT_RELAY:
    case OPT_MAX_CONNS: return apply_group_option(opts, def, flag, value);
    }
    return -1;
}

static int set_proto(struct cat_options *opts, const struct cat_proto *proto)
{
    if (opts->proto != NULL) {
        cat_report("only one protocol may be given");
        return -1;
    }
    opts->proto = proto;
    return 0;
}

/* A long option found by name: exactly one of the two is set. */
struct long_match {
    const struct opt_def *opt;
    const struct cat_proto *proto;
};

/* Aliases ("--bind" and "--listen", "--pull0" and "--pull") mean the same thing, so a prefix
 * shared only by aliases is not ambiguous. */
static bool same_meaning(const struct long_match *a, const struct long_match *b)
{
    if (a->opt != NULL && b->opt != NULL)
        return a->opt->id == b->opt->id;
    if (a->proto != NULL && b->proto != NULL)
        return strcmp(a->proto->name, b->proto->name) == 0;
    return false;
}

/* Records one candidate for a prefix; counts how many different meanings were seen. */
static void note_prefix(struct long_match *first, size_t *meanings, struct long_match candidate)
{
    if (*meanings == 0)
        *first = candidate;
    else if (same_meaning(first, &candidate))
        return;
    (*meanings)++;
}

/* Looks for name in one table: true for the flag of exactly that name (in *first); otherwise
 * counts in *meanings what the flags it prefixes mean. */
static bool scan_long(const char *name, size_t len, const struct flag_table *t,
                      struct long_match *first, size_t *meanings)
{
    for (size_t i = 0; i < t->opt_count; i++) {
        const struct opt_def *def = &t->opts[i];
        if (strncmp(def->name, name, len) != 0)
            continue;
        if (def->name[len] == '\0') {
            *first = (struct long_match){def, NULL};
            return true;
        }
        note_prefix(first, meanings, (struct long_match){def, NULL});
    }
    for (size_t i = 0; i < t->proto_count; i++) {
        const struct cat_proto *proto = &t->protos[i];
        if (strncmp(proto->flag, name, len) != 0)
            continue;
        if (proto->flag[len] == '\0') {
            *first = (struct long_match){NULL, proto};
            return true;
        }
        note_prefix(first, meanings, (struct long_match){NULL, proto});
    }
    return false;
}

/* A whole name wins; then a prefix of the flags nngcat and nanocat have, so that what was
 * unique before msockcat's own flags (--lis for --listen, --m for --msgpack) still is; then a
 * prefix of msockcat's own flags. */
static int find_long(const char *name, size_t len, struct long_match *found)
{
    size_t meanings = 0, own_meanings = 0;
    struct long_match first = {NULL, NULL}, own_first = {NULL, NULL};

    if (scan_long(name, len, &common_flags, &first, &meanings)) {
        *found = first;
        return 0;
    }
    if (scan_long(name, len, &own_flags, &own_first, &own_meanings)) {
        *found = own_first;
        return 0;
    }
    if (meanings == 0) {
        first = own_first;
        meanings = own_meanings;
    }
    if (meanings == 1) {
        *found = first;
        return 0;
    }
    cat_report(meanings == 0 ? "unknown option --%.*s" : "option --%.*s is ambiguous", (int)len,
               name);
    return -1;
}

/* Handles argv[*i], a "--name[=value]" option; may consume the next argument as its value. */
static int parse_long(struct cat_options *opts, int argc, char **argv, int *i)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    struct long_match found;
    char flag[64];

    if (find_long(name, len, &found) != 0)
        return -1;
    if (found.proto != NULL) {
        if (eq != NULL) {
            cat_report("--%s takes no value", found.proto->flag);
            return -1;
        }
        return set_proto(opts, found.proto);
    }
    snprintf(flag, sizeof(flag), "--%s", found.opt->name);
    if (!found.opt->has_value) {
        if (eq != NULL) {
            cat_report("%s takes no value", flag);
            return -1;
        }
        return apply_option(opts, found.opt, flag, NULL);
    }
    if (eq != NULL)
        return apply_option(opts, found.opt, flag, eq + 1);
    if (*i + 1 >= argc) {
        cat_report("%s needs a value", flag);
        return -1;
    }
    return apply_option(opts, found.opt, flag, argv[++*i]);
}

static const struct opt_def *find_short(char c)
{
    for (size_t i = 0; i < COUNT_OF(opt_defs); i++)
        if (opt_defs[i].short_name == c)
            return &opt_defs[i];
    return NULL;
}

/* Handles argv[*i], a cluster of short options ("-vq", "-C5", "-C 5"). */
static int parse_short(struct cat_options *opts, int argc, char **argv, int *i)
{
    for (const char *p = argv[*i] + 1; *p != '\0'; p++) {
        const struct opt_def *def = find_short(*p);
        char flag[3] = {'-', *p, '\0'};

        if (def == NULL) {
            cat_report("unknown option %s", flag);
            return -1;
        }
        if (!def->has_value) {
            if (apply_option(opts, def, flag, NULL) != 0)
                return -1;
            continue;
        }
        if (p[1] != '\0')
            return apply_option(opts, def, flag, p + 1);
        if (*i + 1 >= argc) {
            cat_report("%s needs a value", flag);
            return -1;
        }
        return apply_option(opts, def, flag, argv[++*i]);
    }
    return 0;
}

/* SUB is the one protocol with topics; its opener tells it apart. */
static bool takes_topics(const struct cat_proto *proto)
{
    return proto->open == msock_sub_open;
}

/* The first group client flag given, for messages; NULL when none is. */
static const char *group_client_flag(const struct cat_group_options *g)
{
    if (g->capacity != 0)
        return "--create";
    if (g->name != NULL)
        return "--join";
    if (g->password != NULL)
        return "--password";
    if (g->master_password != NULL)
        return "--master-password";
    if (g->to != 0)
        return "--to";
    if (g->relay_count > 0)
        return "--relay";
    if (g->list_groups)
        return "--list-groups";
    if (g->whoami)
        return "--whoami";
    return g->peers ? "--peers" : NULL;
}

/* A group client dials one hub; what it sends needs a place to go. */
static int check_group_client(const struct cat_options *opts)
{
    const struct cat_group_options *g = &opts->group;

    if (opts->endpoint_count != 1 || opts->endpoints[0].kind != CAT_ENDPOINT_DIAL) {
        cat_report("--group connects to one hub: give one --dial address");
        return -1;
    }
    if (g->capacity != 0 && (g->name == NULL || g->master_password == NULL)) {
        cat_report("--create needs --join NAME and --master-password (the creator joins as "
                   "master)");
        return -1;
    }
    if ((g->password != NULL || g->master_password != NULL) && g->name == NULL) {
        cat_report("%s needs --join", g->password != NULL ? "--password" : "--master-password");
        return -1;
    }
    if (g->to != 0 && g->master_password == NULL) {
        cat_report("--to needs --master-password: only the master sends to one member");
        return -1;
    }
    if (g->to != 0 && g->relay_count > 0) {
        cat_report("--to and --relay do not go together");
        return -1;
    }
    if ((g->to != 0 || g->relay_count > 0) && !opts->data_given) {
        cat_report("%s needs --data or --file", g->to != 0 ? "--to" : "--relay");
        return -1;
    }
    if (opts->data_given && g->name == NULL && g->relay_count == 0) {
        cat_report("--group sends --data to a group (--join) or to ids (--relay): give one");
        return -1;
    }
    if (g->name == NULL && g->relay_count == 0 && !g->list_groups && !g->whoami && !g->peers &&
        !opts->format_given) {
        cat_report("--group needs something to do: --join, --list-groups, --whoami, --peers, "
                   "--relay or an output format");
        return -1;
    }
    return 0;
}

/* msockcat's own flags: each where it applies. */
static int check_group_options(const struct cat_options *opts)
{
    enum cat_exchange exchange = opts->proto->exchange;
    const char *client_flag = group_client_flag(&opts->group);

    if (exchange != CAT_EXCHANGE_GROUP && client_flag != NULL) {
        cat_report("%s needs --group", client_flag);
        return -1;
    }
    if (exchange != CAT_EXCHANGE_GROUP_HUB && opts->group.max_conns_given) {
        cat_report("--max-conns needs --group-hub");
        return -1;
    }
    return exchange == CAT_EXCHANGE_GROUP ? check_group_client(opts) : 0;
}

/* The combinations that nngcat and nanocat refuse, refused the same way. */
static int check_options(const struct cat_options *opts)
{
    const struct cat_proto *proto = opts->proto;

    if (proto == NULL) {
        cat_report("no protocol given (for example --push, --pull or --pair0)");
        return -1;
    }
    if (opts->endpoint_count == 0) {
        cat_report("no address given (use --listen or --dial)");
        return -1;
    }
    if (opts->data_given && !(proto->roles & CAT_ROLE_SEND)) {
        cat_report("protocol %s does not send: --data and --file do not apply", proto->name);
        return -1;
    }
    if (!opts->data_given && (proto->roles == CAT_ROLE_SEND || cat_proto_asks(proto))) {
        cat_report("protocol %s needs --data or --file", proto->name);
        return -1;
    }
    if (proto->exchange == CAT_EXCHANGE_REPLY && opts->interval_ms > 0) {
        cat_report("protocol %s only answers what it receives: --interval does not apply",
                   proto->name);
        return -1;
    }
    if (opts->format_given && !(proto->roles & CAT_ROLE_RECV)) {
        cat_report("protocol %s does not receive: output formats do not apply", proto->name);
        return -1;
    }
    if (opts->subscription_count > 0 && !takes_topics(proto)) {
        cat_report("--subscribe needs --sub");
        return -1;
    }
    if (cat_tls_check(&opts->tls) != 0)
        return -1;
    for (size_t i = 0; i < opts->endpoint_count; i++)
        if (opts->endpoints[i].kind == CAT_ENDPOINT_LISTEN &&
            cat_tls_check_listener(&opts->tls, opts->endpoints[i].url) != 0)
            return -1;
    return check_group_options(opts);
}

int cat_args_parse(struct cat_options *opts, int argc, char **argv)
{
    *opts = (struct cat_options){
        .format = CAT_FORMAT_NO,
        .recv_timeout_ms = CAT_NO_TIMEOUT,
        .send_timeout_ms = CAT_NO_TIMEOUT,
    };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int rc;

        if (arg[0] == '-' && arg[1] == '-' && arg[2] != '\0')
            rc = parse_long(opts, argc, argv, &i);
        else if (arg[0] == '-' && arg[1] != '\0' && arg[1] != '-')
            rc = parse_short(opts, argc, argv, &i);
        else {
            cat_report("unexpected argument '%s'", arg);
            rc = -1;
        }
        if (rc != 0)
            return -1;
    }
    if (opts->help || opts->version)
        return 0;
    if (check_options(opts) != 0)
        return -1;
    /* As in nngcat and nanocat: a SUB told no topic gets every message. */
    if (takes_topics(opts->proto) && opts->subscription_count == 0)
        add_subscription(opts, "");
    return 0;
}

bool cat_proto_asks(const struct cat_proto *proto)
{
    return proto->exchange == CAT_EXCHANGE_REQUEST || proto->exchange == CAT_EXCHANGE_SURVEY;
}

void cat_args_free(struct cat_options *opts)
{
    for (size_t i = 0; i < opts->endpoint_count; i++)
        free(opts->endpoints[i].url);
    free(opts->endpoints);
    for (size_t i = 0; i < opts->subscription_count; i++)
        free(opts->subscriptions[i]);
    free(opts->subscriptions);
    free(opts->data);
    free(opts->socket_name);
    free(opts->group.name);
    free(opts->group.password);
    free(opts->group.master_password);
    free(opts->group.relay_ids);
    cat_tls_free(&opts->tls);
    *opts = (struct cat_options){0};
}
