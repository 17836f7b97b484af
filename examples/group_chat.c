/* group_chat.c: a moderated chat room on the group pattern, all in one process: a hub, a
 * moderator (the group's master) and three members on threads. Members send their lines to the
 * moderator only; the moderator drops spam and broadcasts the other lines to every member.
 * Exits 0 when every member heard every approved line. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <msock.h>

#define HUB_URL "inproc://group-chat"
#define ROOM "lobby"
#define MEMBER_PW "let me in"
#define MODERATOR_PW "moderators only"
#define MEMBERS 3
#define LINES_EACH 2 /* a greeting, which is approved, and spam, which is not */
#define WAIT_MS 5000 /* every receive and call waits at most this long */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t joined_changed = PTHREAD_COND_INITIALIZER;
static int joined, heard_all[MEMBERS]; /* members that tried to join; that heard every line */
static const char *const event_names[] = {"data", "relay", "member joined", "member left",
    "moderator joined", "moderator left", "room closed", "undelivered", "disconnected"};

/* Counts this member in, then waits (at most WAIT_MS) for the others: a broadcast reaches only
 * the members in the room when it is sent, so no one talks before all are in. */
static void wait_for_everyone(void)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&lock);
    joined++;
    pthread_cond_broadcast(&joined_changed);
    while (joined < MEMBERS && pthread_cond_timedwait(&joined_changed, &lock, &deadline) == 0)
        ;
    pthread_mutex_unlock(&lock);
}

/* Prints what arrived: 1 for a line of data, 0 for an event. */
static int show(const char *who, const msock_group_rx *rx, const char *buf, size_t len)
{
    int known = rx->kind >= 0 && rx->kind < (int)(sizeof(event_names) / sizeof(event_names[0]));
    if (rx->kind == MSOCK_GROUP_DATA)
        printf("%s: heard \"%.*s\" from client %llu\n", who, (int)len, buf,
               (unsigned long long)rx->from);
    else
        printf("%s: event: %s (client %llu)\n", who, known ? event_names[rx->kind] : "other",
               (unsigned long long)rx->from);
    return rx->kind == MSOCK_GROUP_DATA;
}

/* Opens a group client whose calls and receives wait at most WAIT_MS, and dials the hub. */
static int client_open(msock_socket *s)
{
    int rc = msock_group_open(s);
    if (rc == 0 && (rc = msock_socket_set_ms(*s, MSOCK_OPT_RECV_TIMEOUT, WAIT_MS)) == 0 &&
        (rc = msock_socket_set_ms(*s, MSOCK_OPT_GROUP_TIMEOUT, WAIT_MS)) == 0)
        rc = msock_dial(*s, HUB_URL, NULL, 0);
    return rc;
}

static void *member_main(void *arg)
{
    int n = (int)(size_t)arg, heard = 0, rc;
    msock_socket s = MSOCK_SOCKET_INITIALIZER;
    char who[24], text[64], buf[256];
    uint32_t room = 0;

    snprintf(who, sizeof(who), "member %d", n + 1);
    if ((rc = client_open(&s)) == 0)
        rc = msock_group_join(s, ROOM, strlen(ROOM), MEMBER_PW, strlen(MEMBER_PW),
                              MSOCK_GROUP_MEMBER, &room);
    wait_for_everyone(); /* also after a failure, so that the others need not wait it out */
    snprintf(text, sizeof(text), "hello, I am %s", who);
    /* a member's sends go to the moderator only */
    if (rc == 0 && (rc = msock_group_send(s, room, 0, text, strlen(text), 0)) == 0)
        rc = msock_group_send(s, room, 0, "buy cheap spam", 14, 0);
    while (rc == 0 && heard < MEMBERS) {
        msock_group_rx rx;
        size_t len = sizeof(buf);
        if ((rc = msock_group_recv(s, &rx, buf, &len, 0)) == 0)
            heard += show(who, &rx, buf, len < sizeof(buf) ? len : sizeof(buf));
    }
    if ((heard_all[n] = heard == MEMBERS) == 0)
        fprintf(stderr, "%s: heard %d lines: %s\n", who, heard, msock_strerror(rc));
    msock_close(s); /* leaves the room */
    return NULL;
}

/* The moderator reads every member's lines and broadcasts the ones without spam. */
static int moderate(msock_socket s, uint32_t room)
{
    for (int handled = 0; handled < MEMBERS * LINES_EACH;) {
        char buf[200], line[256];
        msock_group_rx rx;
        size_t len = sizeof(buf) - 1;
        int rc = msock_group_recv(s, &rx, buf, &len, 0);
        if (rc != 0)
            return rc;
        len = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
        buf[len] = '\0';
        if (!show("moderator", &rx, buf, len))
            continue;
        handled++;
        if (strstr(buf, "spam") != NULL) {
            printf("moderator: dropped \"%s\"\n", buf);
            continue;
        }
        int n = snprintf(line, sizeof(line), "%llu says: %s", (unsigned long long)rx.from, buf);
        if ((rc = msock_group_send(s, room, 0, line, (size_t)n, 0)) != 0) /* to every member */
            return rc;
    }
    return 0;
}

int main(void)
{
    msock_socket hub = MSOCK_SOCKET_INITIALIZER, moderator = MSOCK_SOCKET_INITIALIZER;
    pthread_t threads[MEMBERS];
    int started = 0, rc, everyone_heard = 1;
    uint32_t room = 0;

    if ((rc = msock_group_hub_open(&hub)) != 0 || (rc = msock_listen(hub, HUB_URL, NULL, 0)) ||
        (rc = client_open(&moderator)) != 0 ||
        (rc = msock_group_create(moderator, ROOM, strlen(ROOM), MEMBER_PW, strlen(MEMBER_PW),
                                 MODERATOR_PW, strlen(MODERATOR_PW), MEMBERS)) != 0 ||
        (rc = msock_group_join(moderator, ROOM, strlen(ROOM), MODERATOR_PW,
                               strlen(MODERATOR_PW), MSOCK_GROUP_MASTER, &room)) != 0) {
        fprintf(stderr, "group_chat: opening the room: %s\n", msock_strerror(rc));
        goto out;
    }
    while (started < MEMBERS &&
           pthread_create(&threads[started], NULL, member_main, (void *)(size_t)started) == 0)
        started++;
    rc = started < MEMBERS ? MSOCK_ENOMEM : moderate(moderator, room);
    if (rc != 0)
        fprintf(stderr, "group_chat: moderating: %s\n", msock_strerror(rc));
    for (int i = 0; i < started; i++)
        everyone_heard &= pthread_join(threads[i], NULL) == 0 && heard_all[i];
out:
    msock_close(moderator); /* an unopened handle (id 0) gives MSOCK_ECLOSED, no harm */
    msock_close(hub);
    msock_fini();
    printf("%s\n", rc == 0 && everyone_heard ? "every member heard every approved line"
                                              : "a member missed a line");
    return rc == 0 && everyone_heard ? 0 : 1;
}
