/* browser_peer.c: the C side of the browser tests. It listens with one libmsock socket per SP
 * role on ws://127.0.0.1:PORT/<role>, answers REP and RESPONDENT traffic by itself, and runs
 * the other sockets on command from run_browser_tests.mjs: one command line on stdin, one
 * "ok ..." or "err ..." line on stdout. Message bodies travel as hex ("-" for empty).
 * A group hub listens on ws://127.0.0.1:PORT/group-hub and on inproc://browser_peer_hub, where
 * C group clients (c1..c4, on command) meet the browser's.
 *
 *   browser_peer [--port N] [--origin ORIGIN] [--wss-dir DIR --cert FILE --key FILE]
 *
 * N = 0 (default) picks a free port; it prints "port P" when ready. Two more REP echo servers
 * check the Origin a browser sends: /rep-origin admits only ORIGIN (the test page's), and
 * /rep-foreign only an origin no page has.
 * With --wss-dir, two more REP echo servers listen on another port over TLS (FILE and FILE
 * the certificate and key): wss://127.0.0.1:W/wss-rep, which also serves DIR over https (the
 * page), and /wss-rep-foreign, which admits only an origin no page has; "wss-port W" comes
 * before "port P".
 *
 * Commands (MS is a timeout in milliseconds; every command gives up after it):
 *   send SOCK HEX MS               sendpat SOCK LEN SEED MS
 *   recv SOCK MS -> ok HEX         recvpat SOCK LEN SEED MS -> ok LEN (byte-exact check)
 *   request HEX MS -> ok HEX       (on the REQ socket)
 *   survey HEX MAX MS -> ok N HEX... (on the SURVEYOR socket: MS is the deadline; it ends
 *                                  early once MAX responses are in)
 *   subscribe HEX                  (on the SUB socket)
 *   pipes SOCK N MS -> ok          (waits until SOCK has exactly N connections)
 *   quit                           (closes every socket cleanly and exits 0)
 * Group clients (C is c1..c4; names, passwords and bodies in hex; ids and groups in decimal;
 * errors as "err what: MSOCK_E..."):
 *   gopen C MS -> ok ID            (a client dials the hub over inproc; its id)
 *   gclose C MS                    gwhoami C MS -> ok ID      gpeers C MS -> ok N ID...
 *   gcreate C NAME PW MPW CAP MS   gjoin C NAME PW ROLE MS -> ok GROUP (ROLE 0 member, 1 master)
 *   gleave C GROUP MS              gdelete C GROUP MS         gsend C GROUP TO HEX MS
 *   grelay C ID,ID... HEX MS       (-> err ...: MSOCK_ENOENT unknown ID,ID... when some are)
 *   grecv C MS -> ok KIND GROUP FROM HEX ERROR  (KIND data, relayed, joined, left,
 *                                  master-joined, master-left, deleted, undelivered,
 *                                  disconnected; ERROR an MSOCK_E name or "-")
 * End of input also exits. */
#include <msock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

#define RECV_MAXSZ (4u * 1024 * 1024) /* the tests send 1 MiB plus headers */
#define LINE_MAX_LEN (64 * 1024)
#define GROUP_HUB_INPROC "inproc://browser_peer_hub"
#define GROUP_KDF_ITERATIONS 1000 /* the least allowed: hashing fast keeps the cases quick */

typedef struct role {
    const char *name; /* command name, and the URL path */
    int (*open)(msock_socket *);
    msock_socket sock;
    msock_listener listener;
    thrd_t echo; /* REP and RESPONDENT answer on their own thread */
    bool echoes;
    const char *origins; /* MSOCK_OPT_WS_ORIGINS, when set */
    bool group_hub;      /* also listens on GROUP_HUB_INPROC for the C group clients */
} role;

static role roles[] = {
    {.name = "rep", .open = msock_rep_open, .echoes = true},
    {.name = "req", .open = msock_req_open},
    {.name = "pub", .open = msock_pub_open},
    {.name = "sub", .open = msock_sub_open},
    {.name = "push", .open = msock_push_open},
    {.name = "pull", .open = msock_pull_open},
    {.name = "pair", .open = msock_pair_open},
    {.name = "pair1", .open = msock_pair1_open},
    {.name = "bus", .open = msock_bus_open},
    {.name = "surveyor", .open = msock_surveyor_open},
    {.name = "respondent", .open = msock_respondent_open, .echoes = true},
    {.name = "rep-origin", .open = msock_rep_open, .echoes = true, .origins = ""},
    {.name = "rep-foreign",
     .open = msock_rep_open,
     .echoes = true,
     .origins = "http://foreign.invalid"},
    {.name = "group-hub", .open = msock_group_hub_open, .group_hub = true},
};
#define NROLES (sizeof roles / sizeof roles[0])

/* Over wss, on a port of their own (only with --wss-dir). */
static role wss_roles[] = {
    {.name = "wss-rep", .open = msock_rep_open, .echoes = true},
    {.name = "wss-rep-foreign",
     .open = msock_rep_open,
     .echoes = true,
     .origins = "https://foreign.invalid"},
};
#define NWSS_ROLES (sizeof wss_roles / sizeof wss_roles[0])
static bool wss_on;

static role *find_role(const char *name)
{
    for (size_t i = 0; i < NROLES; i++)
        if (strcmp(roles[i].name, name) == 0)
            return &roles[i];
    return NULL;
}

/* The test pattern, also computed by the page: not periodic over 256 bytes, so a shifted or
 * repeated chunk does not compare equal. */
static unsigned char pattern_byte(size_t i, unsigned seed)
{
    return (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xffu);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex (or "-" for empty) into a new message; NULL when malformed. */
static msock_msg *msg_from_hex(const char *hex)
{
    if (strcmp(hex, "-") == 0)
        hex = "";
    size_t n = strlen(hex);
    msock_msg *m;
    if (n % 2 != 0 || msock_msg_alloc(&m, n / 2) != 0)
        return NULL;
    unsigned char *b = msock_msg_body(m);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            msock_msg_free(m);
            return NULL;
        }
        b[i] = (unsigned char)(hi * 16 + lo);
    }
    return m;
}

static void print_hex(const msock_msg *m)
{
    const unsigned char *b = msock_msg_body((msock_msg *)m);
    size_t n = msock_msg_len(m);
    if (n == 0)
        fputs("-", stdout);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

static void reply_err(const char *what, int rv)
{
    printf("err %s: %s\n", what, msock_errname(rv));
}

/* REP and RESPONDENT: answer every request or survey with its own body, so the browser can
 * check a round trip byte for byte. */
static int echo_main(void *arg)
{
    role *r = arg;
    for (;;) {
        msock_msg *m;
        int rv = msock_recvmsg(r->sock, &m, 0);
        if (rv == MSOCK_ECLOSED)
            return 0;
        if (rv != 0) {
            fprintf(stderr, "browser_peer: %s recv: %s\n", r->name, msock_errname(rv));
            continue;
        }
        if ((rv = msock_sendmsg(r->sock, m, 0)) != 0) {
            msock_msg_free(m);
            if (rv == MSOCK_ECLOSED)
                return 0;
            fprintf(stderr, "browser_peer: %s send: %s\n", r->name, msock_errname(rv));
        }
    }
}

/* Listens on every role's path of one port: the first on `port` (0 = any), the rest on the
 * port it got. Returns the port, or 0 after printing the error. */
static unsigned listen_all(unsigned port)
{
    for (size_t i = 0; i < NROLES; i++) {
        role *r = &roles[i];
        char url[128];
        int rv = r->open(&r->sock);
        if (rv == 0)
            rv = msock_socket_set_size(r->sock, MSOCK_OPT_RECV_MAXSZ, RECV_MAXSZ);
        if (rv == 0 && r->origins)
            rv = msock_socket_set_string(r->sock, MSOCK_OPT_WS_ORIGINS, r->origins);
        if (rv == 0 && r->group_hub)
            rv = msock_socket_set_int(r->sock, MSOCK_OPT_GROUP_KDF_ITERATIONS, GROUP_KDF_ITERATIONS);
        if (rv == 0 && r->group_hub)
            rv = msock_listen(r->sock, GROUP_HUB_INPROC, NULL, 0);
        snprintf(url, sizeof url, "ws://127.0.0.1:%u/%s", port, r->name);
        if (rv == 0)
            rv = msock_listen(r->sock, url, &r->listener, 0);
        if (rv != 0) {
            fprintf(stderr, "browser_peer: listen %s: %s\n", url, msock_strerror(rv));
            return 0;
        }
        if (port == 0) {
            char bound[128];
            size_t len = sizeof bound;
            rv = msock_listener_get_string(r->listener, MSOCK_OPT_URL, bound, &len);
            /* "ws://127.0.0.1:PORT/rep": the port sits between the last ':' and the path. */
            char *colon = rv == 0 ? strrchr(bound, ':') : NULL;
            port = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
            if (port == 0) {
                fprintf(stderr, "browser_peer: cannot read the bound port of %s\n", url);
                return 0;
            }
        }
    }
    return port;
}

static int echo_main(void *arg);

/* The wss echo servers: every path on one port that serves dir over https with cert and key;
 * true once they listen and answer, after printing "wss-port W". */
static bool listen_wss(const char *dir, const char *cert, const char *key)
{
    unsigned port = 0;
    for (size_t i = 0; i < NWSS_ROLES; i++) {
        role *r = &wss_roles[i];
        char url[128];
        snprintf(url, sizeof url, "wss://127.0.0.1:%u/%s", port, r->name);
        int rv = r->open(&r->sock);
        if (rv == 0)
            rv = msock_socket_set_size(r->sock, MSOCK_OPT_RECV_MAXSZ, RECV_MAXSZ);
        if (rv == 0 && r->origins)
            rv = msock_socket_set_string(r->sock, MSOCK_OPT_WS_ORIGINS, r->origins);
        if (rv == 0)
            rv = msock_listener_create(&r->listener, r->sock, url);
        if (rv == 0)
            rv = msock_listener_set_string(r->listener, MSOCK_OPT_WS_HTTP_DIR, dir);
        if (rv == 0)
            rv = msock_listener_set_string(r->listener, MSOCK_OPT_TLS_CERT, cert);
        if (rv == 0)
            rv = msock_listener_set_string(r->listener, MSOCK_OPT_TLS_KEY, key);
        if (rv == 0)
            rv = msock_listener_start(r->listener, 0);
        if (rv == 0 && port == 0) {
            char bound[128];
            size_t len = sizeof bound;
            rv = msock_listener_get_string(r->listener, MSOCK_OPT_URL, bound, &len);
            char *colon = rv == 0 ? strrchr(bound, ':') : NULL;
            port = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
        }
        if (rv != 0 || port == 0) {
            fprintf(stderr, "browser_peer: listen %s: %s\n", url, msock_strerror(rv));
            return false;
        }
        wss_on = true;
        if (thrd_create(&r->echo, echo_main, r) != thrd_success) {
            fprintf(stderr, "browser_peer: cannot start the %s thread\n", r->name);
            return false;
        }
    }
    printf("wss-port %u\n", port);
    return true;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t open_pipes(role *r)
{
    uint64_t added = 0, removed = 0;
    msock_stat_get(r->sock, MSOCK_STAT_PIPES_ADDED, &added);
    msock_stat_get(r->sock, MSOCK_STAT_PIPES_REMOVED, &removed);
    return added - removed;
}

/* libmsock has no "wait for a pipe" call, so poll the counters briefly until the deadline.
 * Exactly N, not at least N: a pipe of an earlier test that is still closing must not count
 * as the new one, or a PUB or PUSH would send to the leaving connection only. */
static void cmd_pipes(role *r, unsigned long want, long ms)
{
    int64_t deadline = now_ms() + ms;
    const struct timespec tick = {0, 5 * 1000 * 1000};
    uint64_t n;
    while ((n = open_pipes(r)) != want && now_ms() < deadline)
        thrd_sleep(&tick, NULL);
    if (n == want)
        puts("ok");
    else
        printf("err %s has %llu connections, wanted %lu within %ld ms\n", r->name,
               (unsigned long long)n, want, ms);
}

static void cmd_send(role *r, msock_msg *m, long ms)
{
    msock_socket_set_ms(r->sock, MSOCK_OPT_SEND_TIMEOUT, ms);
    int rv = msock_sendmsg(r->sock, m, 0);
    if (rv != 0) {
        msock_msg_free(m);
        reply_err("send", rv);
    } else
        puts("ok");
}

static msock_msg *pattern_msg(size_t len, unsigned seed)
{
    msock_msg *m;
    if (msock_msg_alloc(&m, len) != 0)
        return NULL;
    unsigned char *b = msock_msg_body(m);
    for (size_t i = 0; i < len; i++)
        b[i] = pattern_byte(i, seed);
    return m;
}

static int recv_within(role *r, msock_msg **m, long ms)
{
    msock_socket_set_ms(r->sock, MSOCK_OPT_RECV_TIMEOUT, ms);
    return msock_recvmsg(r->sock, m, 0);
}

static void cmd_recv(role *r, long ms)
{
    msock_msg *m;
    int rv = recv_within(r, &m, ms);
    if (rv != 0) {
        reply_err("recv", rv);
        return;
    }
    fputs("ok ", stdout);
    print_hex(m);
    putchar('\n');
    msock_msg_free(m);
}

static void cmd_recvpat(role *r, size_t len, unsigned seed, long ms)
{
    msock_msg *m;
    int rv = recv_within(r, &m, ms);
    if (rv != 0) {
        reply_err("recv", rv);
        return;
    }
    const unsigned char *b = msock_msg_body(m);
    size_t n = msock_msg_len(m), bad = 0;
    while (bad < n && bad < len && b[bad] == pattern_byte(bad, seed))
        bad++;
    if (n != len)
        printf("err got %zu bytes, wanted %zu\n", n, len);
    else if (bad != len)
        printf("err byte %zu differs\n", bad);
    else
        printf("ok %zu\n", n);
    msock_msg_free(m);
}

static void cmd_request(msock_msg *m, long ms)
{
    role *r = find_role("req");
    msock_socket_set_ms(r->sock, MSOCK_OPT_SEND_TIMEOUT, ms);
    int rv = msock_sendmsg(r->sock, m, 0);
    if (rv != 0) {
        msock_msg_free(m);
        reply_err("request send", rv);
        return;
    }
    cmd_recv(r, ms);
}

static void cmd_survey(msock_msg *m, size_t max, long ms)
{
    role *r = find_role("surveyor");
    msock_socket_set_ms(r->sock, MSOCK_OPT_SURVEY_TIME, ms);
    msock_socket_set_ms(r->sock, MSOCK_OPT_RECV_TIMEOUT, ms + 1000);
    int rv = msock_sendmsg(r->sock, m, 0);
    if (rv != 0) {
        msock_msg_free(m);
        reply_err("survey send", rv);
        return;
    }
    /* The deadline ends the survey with ETIMEDOUT (or ESTATE): that is success here. */
    msock_msg *got[64];
    size_t n = 0;
    if (max > sizeof got / sizeof got[0])
        max = sizeof got / sizeof got[0];
    while (n < max && (rv = msock_recvmsg(r->sock, &got[n], 0)) == 0)
        n++;
    if (rv != 0 && rv != MSOCK_ETIMEDOUT && rv != MSOCK_ESTATE) {
        reply_err("survey recv", rv);
    } else {
        printf("ok %zu", n);
        for (size_t i = 0; i < n; i++) {
            putchar(' ');
            print_hex(got[i]);
        }
        putchar('\n');
    }
    for (size_t i = 0; i < n; i++)
        msock_msg_free(got[i]);
}

/* ---- group clients: C members and masters that meet the browser's on the hub ---- */

static const char *const group_client_names[] = {"c1", "c2", "c3", "c4"};
#define NGROUP_CLIENTS (sizeof group_client_names / sizeof group_client_names[0])
static msock_socket group_clients[NGROUP_CLIENTS];
static bool group_client_open[NGROUP_CLIENTS];

/* The index of client `name`, or -1. */
static int find_group_client(const char *name)
{
    for (size_t i = 0; i < NGROUP_CLIENTS; i++)
        if (strcmp(group_client_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* Every group call of this command waits up to ms, for the hub or for a message. */
static void group_timeouts(msock_socket g, long ms)
{
    msock_socket_set_ms(g, MSOCK_OPT_GROUP_TIMEOUT, ms);
    msock_socket_set_ms(g, MSOCK_OPT_RECV_TIMEOUT, ms);
    msock_socket_set_ms(g, MSOCK_OPT_SEND_TIMEOUT, ms);
}

static void cmd_gopen(int c, long ms)
{
    if (group_client_open[c]) {
        puts("err already open");
        return;
    }
    msock_socket g;
    uint64_t id = 0;
    int rv = msock_group_open(&g);
    if (rv != 0) {
        reply_err("group open", rv);
        return;
    }
    group_timeouts(g, ms);
    if ((rv = msock_socket_set_size(g, MSOCK_OPT_RECV_MAXSZ, RECV_MAXSZ)) == 0 &&
        (rv = msock_dial(g, GROUP_HUB_INPROC, NULL, 0)) == 0)
        rv = msock_group_whoami(g, &id);
    if (rv != 0) {
        msock_close(g);
        reply_err("group dial", rv);
        return;
    }
    group_clients[c] = g;
    group_client_open[c] = true;
    printf("ok %llu\n", (unsigned long long)id);
}

static void print_group_error(const char *what, int rv, const uint64_t *unknown, size_t n)
{
    printf("err %s: %s", what, msock_errname(rv));
    if (n > 0)
        fputs(" unknown ", stdout);
    for (size_t i = 0; i < n; i++)
        printf("%s%llu", i ? "," : "", (unsigned long long)unknown[i]);
    putchar('\n');
}

static void reply_group(const char *what, int rv)
{
    if (rv != 0)
        print_group_error(what, rv, NULL, 0);
    else
        puts("ok");
}

/* ID,ID,... into ids; returns their number, 0 when malformed. */
static size_t parse_ids(const char *list, uint64_t *ids, size_t cap)
{
    size_t n = 0;
    for (const char *p = list;; p++) {
        char *end;
        if (n == cap)
            return 0;
        ids[n++] = strtoull(p, &end, 10);
        if (end == p || (*end != ',' && *end != '\0'))
            return 0;
        if (*end == '\0')
            return n;
        p = end;
    }
}

static void cmd_grelay(msock_socket g, const char *list, msock_msg *m)
{
    uint64_t ids[MSOCK_GROUP_RELAY_MAX], unknown[MSOCK_GROUP_RELAY_MAX];
    size_t n_unknown = MSOCK_GROUP_RELAY_MAX;
    size_t n = parse_ids(list, ids, MSOCK_GROUP_RELAY_MAX);
    if (n == 0) {
        puts("err bad id list");
        return;
    }
    int rv = msock_group_relay(g, ids, n, msock_msg_body(m), msock_msg_len(m), unknown, &n_unknown);
    if (rv == MSOCK_ENOENT)
        print_group_error("relay", rv, unknown, n_unknown < MSOCK_GROUP_RELAY_MAX ? n_unknown : 0);
    else
        reply_group("relay", rv);
}

static const char *group_kind_name(int kind)
{
    /* Indexed by enum msock_group_kind. */
    static const char *const names[] = {
        "data",        "relayed", "joined",      "left",         "master-joined",
        "master-left", "deleted", "undelivered", "disconnected",
    };
    return kind >= 0 && (size_t)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

static void cmd_grecv(msock_socket g)
{
    msock_group_rx rx;
    msock_msg *m;
    int rv = msock_group_recvmsg(g, &rx, &m, 0);
    if (rv != 0) {
        reply_err("group recv", rv);
        return;
    }
    printf("ok %s %lu %llu ", group_kind_name(rx.kind), (unsigned long)rx.group,
           (unsigned long long)rx.from);
    print_hex(m);
    printf(" %s\n", rx.error != 0 ? msock_errname(rx.error) : "-");
    msock_msg_free(m);
}

static void cmd_gpeers(msock_socket g)
{
    uint64_t ids[64];
    size_t n = sizeof ids / sizeof ids[0];
    int rv = msock_group_peers(g, ids, &n);
    if (rv != 0) {
        reply_err("peers", rv);
        return;
    }
    printf("ok %zu", n);
    for (size_t i = 0; i < n && i < sizeof ids / sizeof ids[0]; i++)
        printf(" %llu", (unsigned long long)ids[i]);
    putchar('\n');
}

/* The group commands: argv[1] is the client. Returns false when cmd is none of them. */
static bool run_group_command(int argc, char **argv, long ms)
{
    const char *cmd = argv[0];
    if (cmd[0] != 'g' || argc < 3)
        return false;
    int c = find_group_client(argv[1]);
    if (c < 0) {
        printf("err no group client %s\n", argv[1]);
        return true;
    }
    if (strcmp(cmd, "gopen") == 0 && argc == 3) {
        cmd_gopen(c, ms);
        return true;
    }
    if (!group_client_open[c]) {
        printf("err group client %s is not open\n", argv[1]);
        return true;
    }
    msock_socket g = group_clients[c];
    group_timeouts(g, ms);
    msock_msg *a = NULL, *b = NULL, *d = NULL;
    uint64_t id;
    uint32_t group;
    if (strcmp(cmd, "gclose") == 0 && argc == 3) {
        group_client_open[c] = false;
        reply_group("close", msock_close(g));
    } else if (strcmp(cmd, "gwhoami") == 0 && argc == 3) {
        int rv = msock_group_whoami(g, &id);
        if (rv == 0)
            printf("ok %llu\n", (unsigned long long)id);
        else
            reply_err("whoami", rv);
    } else if (strcmp(cmd, "gpeers") == 0 && argc == 3) {
        cmd_gpeers(g);
    } else if (strcmp(cmd, "grecv") == 0 && argc == 3) {
        cmd_grecv(g);
    } else if (strcmp(cmd, "gcreate") == 0 && argc == 7) {
        if ((a = msg_from_hex(argv[2])) && (b = msg_from_hex(argv[3])) && (d = msg_from_hex(argv[4])))
            reply_group("create", msock_group_create(g, msock_msg_body(a), msock_msg_len(a),
                                                     msock_msg_body(b), msock_msg_len(b),
                                                     msock_msg_body(d), msock_msg_len(d),
                                                     (uint32_t)strtoul(argv[5], NULL, 10)));
        else
            puts("err bad hex");
    } else if (strcmp(cmd, "gjoin") == 0 && argc == 6) {
        if ((a = msg_from_hex(argv[2])) && (b = msg_from_hex(argv[3]))) {
            int rv = msock_group_join(g, msock_msg_body(a), msock_msg_len(a), msock_msg_body(b),
                                      msock_msg_len(b), atoi(argv[4]), &group);
            if (rv == 0)
                printf("ok %lu\n", (unsigned long)group);
            else
                reply_err("join", rv);
        } else
            puts("err bad hex");
    } else if (strcmp(cmd, "gleave") == 0 && argc == 4) {
        reply_group("leave", msock_group_leave(g, (uint32_t)strtoul(argv[2], NULL, 10)));
    } else if (strcmp(cmd, "gdelete") == 0 && argc == 4) {
        reply_group("delete", msock_group_delete(g, (uint32_t)strtoul(argv[2], NULL, 10)));
    } else if (strcmp(cmd, "gsend") == 0 && argc == 6) {
        if ((a = msg_from_hex(argv[4])))
            reply_group("send", msock_group_send(g, (uint32_t)strtoul(argv[2], NULL, 10),
                                                 strtoull(argv[3], NULL, 10), msock_msg_body(a),
                                                 msock_msg_len(a), 0));
        else
            puts("err bad hex");
    } else if (strcmp(cmd, "grelay") == 0 && argc == 5) {
        if ((a = msg_from_hex(argv[3])))
            cmd_grelay(g, argv[2], a);
        else
            puts("err bad hex");
    } else {
        return false;
    }
    msock_msg_free(a);
    msock_msg_free(b);
    msock_msg_free(d);
    return true;
}

static void close_all(void)
{
    for (size_t i = 0; i < NGROUP_CLIENTS; i++)
        if (group_client_open[i])
            msock_close(group_clients[i]);
    for (size_t i = 0; i < NROLES; i++)
        msock_close(roles[i].sock);
    for (size_t i = 0; i < NROLES; i++)
        if (roles[i].echoes)
            thrd_join(roles[i].echo, NULL);
    for (size_t i = 0; wss_on && i < NWSS_ROLES; i++) {
        msock_close(wss_roles[i].sock);
        thrd_join(wss_roles[i].echo, NULL);
    }
}

/* Runs one command line; false for "quit". */
static bool run_command(char *line)
{
    char *argv[8] = {0};
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < 8; tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (argc == 0)
        return true;
    const char *cmd = argv[0];
    if (strcmp(cmd, "quit") == 0)
        return false;
    /* The last argument of every command but subscribe is its timeout. */
    long ms = argc > 1 ? strtol(argv[argc - 1], NULL, 10) : 0;
    role *r = argc > 1 ? find_role(argv[1]) : NULL;
    msock_msg *m;
    if (run_group_command(argc, argv, ms)) {
        /* done */
    } else if (strcmp(cmd, "send") == 0 && argc == 4 && r) {
        if ((m = msg_from_hex(argv[2])) != NULL)
            cmd_send(r, m, ms);
        else
            puts("err bad hex");
    } else if (strcmp(cmd, "sendpat") == 0 && argc == 5 && r) {
        if ((m = pattern_msg(strtoul(argv[2], NULL, 10), (unsigned)strtoul(argv[3], NULL, 10))))
            cmd_send(r, m, ms);
        else
            puts("err out of memory");
    } else if (strcmp(cmd, "recv") == 0 && argc == 3 && r) {
        cmd_recv(r, ms);
    } else if (strcmp(cmd, "recvpat") == 0 && argc == 5 && r) {
        cmd_recvpat(r, strtoul(argv[2], NULL, 10), (unsigned)strtoul(argv[3], NULL, 10), ms);
    } else if (strcmp(cmd, "pipes") == 0 && argc == 4 && r) {
        cmd_pipes(r, strtoul(argv[2], NULL, 10), ms);
    } else if (strcmp(cmd, "request") == 0 && argc == 3) {
        if ((m = msg_from_hex(argv[1])) != NULL)
            cmd_request(m, ms);
        else
            puts("err bad hex");
    } else if (strcmp(cmd, "survey") == 0 && argc == 4) {
        if ((m = msg_from_hex(argv[1])) != NULL)
            cmd_survey(m, strtoul(argv[2], NULL, 10), ms);
        else
            puts("err bad hex");
    } else if (strcmp(cmd, "subscribe") == 0 && argc == 2) {
        if ((m = msg_from_hex(argv[1])) == NULL) {
            puts("err bad hex");
        } else {
            msock_socket sub = find_role("sub")->sock;
            int rv = msock_sub_subscribe(sub, msock_msg_body(m), msock_msg_len(m));
            msock_msg_free(m);
            if (rv != 0)
                reply_err("subscribe", rv);
            else
                puts("ok");
        }
    } else {
        printf("err unknown command or arguments: %s\n", cmd);
    }
    return true;
}

int main(int argc, char **argv)
{
    unsigned port = 0;
    const char *wss_dir = NULL, *cert = NULL, *key = NULL;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 < argc && strcmp(argv[i], "--port") == 0)
            port = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--origin") == 0)
            find_role("rep-origin")->origins = argv[i + 1];
        else if (i + 1 < argc && strcmp(argv[i], "--wss-dir") == 0)
            wss_dir = argv[i + 1];
        else if (i + 1 < argc && strcmp(argv[i], "--cert") == 0)
            cert = argv[i + 1];
        else if (i + 1 < argc && strcmp(argv[i], "--key") == 0)
            key = argv[i + 1];
        else {
            fprintf(stderr, "usage: %s [--port N] [--origin ORIGIN] [--wss-dir DIR --cert FILE "
                            "--key FILE]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* the runner reads replies line by line */
    if (wss_dir && (!cert || !key || !listen_wss(wss_dir, cert, key)))
        return 1;
    port = listen_all(port);
    if (port == 0)
        return 1;
    for (size_t i = 0; i < NROLES; i++)
        if (roles[i].echoes && thrd_create(&roles[i].echo, echo_main, &roles[i]) != thrd_success) {
            fprintf(stderr, "browser_peer: cannot start the %s thread\n", roles[i].name);
            return 1;
        }
    printf("port %u\n", port);

    static char line[LINE_MAX_LEN];
    while (fgets(line, sizeof line, stdin) && run_command(line))
        fflush(stdout);
    close_all();
    puts("ok");
    return 0;
}
