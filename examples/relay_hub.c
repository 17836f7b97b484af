/* relay_hub.c: `relay_hub PORT` (0: any) serves nc users on 127.0.0.1 (printing "relay_hub:
 * listening on port N"), each through its own group client of a libmsock hub over inproc. A
 * user's lines: "identity" -> "identity: ID"; "list" -> "list: ID,..." (the other users);
 * "relay", then "ID,ID,...", then a body -> "relayed" or "unknown: ID,..." (the others got it),
 * and each receiver reads "from ID: BODY". */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <msock.h>

#define HUB_URL "inproc://relay-hub"
#define MAX_LINE 1024 /* a longer line ends the connection: memory per user stays bounded */
#define MAX_IDS MSOCK_GROUP_RELAY_MAX

/* A user's connection: read through in, written with dprintf (one write for a short line). */
struct user { int fd; FILE *in; msock_socket s; };

/* ids as "12,13"; out has room for MAX_IDS of them. */
static char *join_ids(char *out, const uint64_t *ids, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0, used = 0; i < n && i < MAX_IDS; i++)
        used += (size_t)sprintf(out + used, "%s%" PRIu64, i > 0 ? "," : "", ids[i]);
    return out;
}

/* "12,13" into to; 0 for no ids, too many, or one that is 0 or not a number. */
static size_t parse_ids(uint64_t *to, char *text)
{
    char *save, *end;
    size_t n = 0;
    for (char *item = strtok_r(text, ",", &save); item; item = strtok_r(NULL, ",", &save))
        if (n == MAX_IDS || (to[n++] = strtoull(item, &end, 10)) == 0 || *end != '\0')
            return 0;
    return n;
}

/* A line into line[MAX_LINE + 2], without its end; false at the end or for a line too long. */
static bool read_line(struct user *u, char *line)
{
    if (fgets(line, MAX_LINE + 2, u->in) == NULL ||
        (strlen(line) == MAX_LINE + 1 && line[MAX_LINE] != '\n'))
        return false;
    line[strcspn(line, "\r\n")] = '\0'; /* nc -C ends lines with CRLF */
    return true;
}

/* Writes each message relayed to u as a line, until u's socket closes or the hub drops it. */
static void *deliver_main(void *arg)
{
    struct user *u = arg;
    char body[MAX_LINE + 1];
    msock_group_rx rx;
    for (size_t len = MAX_LINE; msock_group_recv(u->s, &rx, body, &len, 0) == 0 &&
                                rx.kind != MSOCK_GROUP_EV_DISCONNECTED;
         len = MAX_LINE) {
        body[len < MAX_LINE ? len : MAX_LINE] = '\0'; /* longer bodies are cut */
        if (rx.kind == MSOCK_GROUP_RELAYED) /* as one line: up to a line break */
            dprintf(u->fd, "from %" PRIu64 ": %.*s\n", rx.from, (int)strcspn(body, "\r\n"), body);
    }
    shutdown(u->fd, SHUT_RDWR); /* without the hub the user is done: this ends the reader */
    return NULL;
}

/* Serves one user: answers its commands while deliver_main writes what is relayed to it. A
 * failed call leaves rc set and falls through to the error report at the end of the loop. */
static void *user_main(void *arg)
{
    struct user *u = arg;
    uint64_t ids[MAX_IDS], to[MAX_IDS], id;
    char line[MAX_LINE + 2], body[MAX_LINE + 2], listed[MAX_IDS * 21 + 1];
    pthread_t deliverer;
    int rc = msock_group_open(&u->s);
    if (rc == 0 && (rc = msock_dial(u->s, HUB_URL, NULL, 0)) == 0)
        rc = pthread_create(&deliverer, NULL, deliver_main, u) == 0 ? 0 : MSOCK_ENOMEM;
    bool serving = rc == 0;
    for (size_t n = MAX_IDS, n_to; serving && read_line(u, line); n = MAX_IDS, rc = 0) {
        if (strcmp(line, "identity") == 0 && (rc = msock_group_whoami(u->s, &id)) == 0)
            dprintf(u->fd, "identity: %" PRIu64 "\n", id);
        else if (strcmp(line, "list") == 0 && (rc = msock_group_peers(u->s, ids, &n)) == 0)
            dprintf(u->fd, "list: %s\n", join_ids(listed, ids, n)); /* the first MAX_IDS */
        else if (strcmp(line, "relay") == 0) {
            if (!read_line(u, line) || !read_line(u, body))
                break;
            if ((n_to = parse_ids(to, line)) == 0)
                dprintf(u->fd, "error: expected ids like 12,13 (at most %d)\n", MAX_IDS);
            else if ((rc = msock_group_relay(u->s, to, n_to, body, strlen(body), ids, &n)) == 0)
                dprintf(u->fd, "relayed\n");
            else if (rc == MSOCK_ENOENT)
                dprintf(u->fd, "unknown: %s\n", join_ids(listed, ids, n));
        } else if (rc == 0 && line[0] != '\0')
            dprintf(u->fd, "error: unknown command (identity, list or relay)\n");
        if (rc != 0 && rc != MSOCK_ENOENT)
            dprintf(u->fd, "error: %s\n", msock_strerror(rc));
    }
    if (!serving)
        dprintf(u->fd, "error: %s\n", msock_strerror(rc));
    msock_close(u->s); /* wakes deliver_main; the hub forgets the id */
    if (serving)
        pthread_join(deliverer, NULL);
    fclose(u->in); /* and fd */
    free(u);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    msock_socket hub;
    int lfd = -1, rc;
    if (argc != 2) {
        fputs("usage: relay_hub PORT   (0: any free port)\n", stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a user that left makes a write fail, not the server die */
    addr.sin_port = htons((uint16_t)atoi(argv[1]));
    if ((rc = msock_group_hub_open(&hub)) != 0 || /* at most 100 users: it turns away more */
        (rc = msock_socket_set_int(hub, MSOCK_OPT_GROUP_MAX_CLIENTS, 100)) != 0 ||
        (rc = msock_listen(hub, HUB_URL, NULL, 0)) != 0 ||
        (lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &(socklen_t){sizeof(addr)}) != 0) {
        fprintf(stderr, "relay_hub: %s\n", rc != 0 ? msock_strerror(rc) : strerror(errno));
        return 1;
    }
    dprintf(STDOUT_FILENO, "relay_hub: listening on port %d\n", ntohs(addr.sin_port));
    for (;;) { /* until killed */
        int fd = accept(lfd, NULL, NULL);
        struct user *u = fd >= 0 ? calloc(1, sizeof(*u)) : NULL;
        pthread_t thread;
        if (u != NULL && (u->in = fdopen(u->fd = fd, "r")) != NULL &&
            pthread_create(&thread, NULL, user_main, u) == 0)
            pthread_detach(thread);
        else if (fd >= 0) {
            u != NULL && u->in != NULL ? fclose(u->in) : close(fd);
            free(u);
        }
    }
}
