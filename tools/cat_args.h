/* cat_args.h: msockcat's command line: the protocol table and the parsed options, which
 * accept the flags of nngcat and nanocat alike, and msockcat's own group flags. */
#ifndef CAT_ARGS_H
#define CAT_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msock.h>

#include "cat_format.h"
#include "cat_tls.h"

/* What a protocol's socket can do, which decides the meaning of --data and --format. */
enum cat_proto_role {
    CAT_ROLE_SEND = 1,
    CAT_ROLE_RECV = 2,
};

/* How msockcat drives a protocol's socket. */
enum cat_exchange {
    CAT_EXCHANGE_STREAM,  /* --data goes out on the schedule; whatever arrives is printed */
    CAT_EXCHANGE_REQUEST, /* req: --data is a request; its one reply ends the round */
    CAT_EXCHANGE_SURVEY,  /* surveyor: --data is a survey; responses come until its deadline */
    CAT_EXCHANGE_REPLY,   /* rep, respondent: each request is printed and answered with --data */
    CAT_EXCHANGE_GROUP_HUB, /* --group-hub: routes between group clients until stopped */
    CAT_EXCHANGE_GROUP,     /* --group: calls to the hub, then --data to the group or --relay
                             * ids on the schedule; whatever arrives is printed */
};

struct cat_proto {
    const char *flag; /* the long option, without "--" */
    const char *name; /* as shown in messages */
    int (*open)(msock_socket *s);
    int roles;        /* CAT_ROLE_* bits */
    enum cat_exchange exchange;
};

enum cat_endpoint_kind {
    CAT_ENDPOINT_LISTEN,
    CAT_ENDPOINT_DIAL,
};

struct cat_endpoint {
    enum cat_endpoint_kind kind;
    char *url; /* owned */
};

#define CAT_NO_TIMEOUT (-1)

/* The options of --group and --group-hub. Strings are NUL-terminated copies of the arguments,
 * owned, NULL when not given. */
struct cat_group_options {
    char *name;            /* --join NAME */
    char *password;        /* --password: the member password */
    char *master_password; /* --master-password: join as the master */
    uint32_t capacity;     /* --create CAPACITY; 0: no --create */
    uint64_t to;           /* --to ID; 0: every member */
    uint64_t *relay_ids;   /* --relay ID,ID,... */
    size_t relay_count;
    bool list_groups;
    bool whoami;
    bool peers;
    int max_conns;         /* --max-conns: the hub's MSOCK_OPT_GROUP_MAX_CLIENTS */
    bool max_conns_given;
};

struct cat_options {
    const struct cat_proto *proto;
    struct cat_endpoint *endpoints; /* in the order given */
    size_t endpoint_count;
    char **subscriptions; /* --subscribe topics; a --sub given none gets "", which matches all */
    size_t subscription_count;
    enum cat_format format;
    bool format_given;
    unsigned char *data; /* from --data or --file; owned */
    size_t data_len;
    bool data_given;
    uint64_t count;      /* 0: no limit */
    int64_t delay_ms;
    int64_t interval_ms; /* 0: send once */
    int64_t recv_timeout_ms; /* CAT_NO_TIMEOUT or >= 0 */
    int64_t send_timeout_ms;
    size_t recv_maxsz;
    bool recv_maxsz_given;
    char *socket_name;   /* nanocat's --socket-name; owned, may be NULL */
    int verbose;         /* -v adds one, -q sets -1 */
    bool async;          /* dial in the background (--async, --compat) */
    bool stats;          /* print the socket's statistics to stderr at exit */
    struct cat_group_options group;
    struct cat_tls_options tls; /* --cert, --key, --cacert, --insecure */
    bool help;
    bool version;
};

/* Parses argv into opts (which it initialises) and loads --file. Returns 0, or -1 after
 * printing the reason to stderr. opts must be released with cat_args_free either way. When
 * opts->help or opts->version is set the other fields are not checked. */
int cat_args_parse(struct cat_options *opts, int argc, char **argv);

void cat_args_free(struct cat_options *opts);

/* Req and surveyor ask: --data is their question, which they send in rounds. */
bool cat_proto_asks(const struct cat_proto *proto);

#endif
