/* chat_server.c: a chat room for web browsers. A BUS socket listens on ws://HOST:PORT/chat and
 * serves the page (www/ and js/msock.js) on the same port; each line a browser sends goes to
 * every browser and to stdout. Usage: chat_server [PORT | ws://HOST:PORT/chat] [WWW [JS]] */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msock.h>

#ifndef CHAT_SRCDIR
#define CHAT_SRCDIR "." /* the top of the source tree; the makefile passes the real one */
#endif
#define LINE_MAX_BYTES 4096 /* a browser that sends more is disconnected (close 1009) */

static volatile sig_atomic_t stop;

static void stop_cb(int sig)
{
    (void)sig;
    stop = 1;
}

/* Copies the regular files of `from` whose names end in `suffix` into `to`; false on error.
 * Copies, not symlinks: the listener serves only files that really lie under its directory. */
static bool copy_files(const char *from, const char *suffix, const char *to)
{
    DIR *d = opendir(from);
    struct dirent *e;
    bool ok = d != NULL;

    while (ok && (e = readdir(d)) != NULL) {
        char src[1024], dst[1024], buf[8192];
        size_t n = strlen(e->d_name), slen = strlen(suffix);
        struct stat st;
        if (e->d_name[0] == '.' || n < slen || strcmp(e->d_name + n - slen, suffix) != 0)
            continue;
        snprintf(src, sizeof src, "%s/%s", from, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", to, e->d_name);
        if (stat(src, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
        ok = in && out;
        while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
            ok = fwrite(buf, 1, n, out) == n;
        if (in)
            fclose(in);
        ok = (!out || fclose(out) == 0) && ok;
    }
    if (d)
        closedir(d);
    return ok;
}

/* Removes the files copy_files put in dir, then dir. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];

    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && snprintf(path, sizeof path, "%s/%s", dir, e->d_name) > 0)
            unlink(path);
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const char *arg = argc > 1 ? argv[1] : "8080";
    const char *www = argc > 2 ? argv[2] : CHAT_SRCDIR "/examples/browser/www";
    const char *js = argc > 3 ? argv[3] : CHAT_SRCDIR "/js";
    const char *tmp = getenv("TMPDIR");
    char url[256], dir[512], line[LINE_MAX_BYTES];
    size_t len = sizeof url;
    msock_socket s = MSOCK_SOCKET_INITIALIZER;
    msock_listener l;
    int rc;

    if (argc > 4 || arg[0] == '-' || (!strstr(arg, "://") && arg[strspn(arg, "0123456789")])) {
        fputs("usage: chat_server [PORT | ws://HOST:PORT/chat] [WWW_DIR [JS_DIR]]\n"
              "  listens on ws://127.0.0.1:PORT/chat (8080 by default; 0 picks a free port),\n"
              "  serves WWW_DIR and the *.js of JS_DIR at http://HOST:PORT/, relays chat lines\n",
              stderr);
        return 2;
    }
    snprintf(url, sizeof url, strstr(arg, "://") ? "%s" : "ws://127.0.0.1:%s/chat", arg);
    /* The listener serves one directory: build it from the page and msock.js, in /tmp. */
    snprintf(dir, sizeof dir, "%s/msock-chat-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("chat_server: mkdtemp");
        return 1;
    }
    if (!copy_files(www, "", dir) || !copy_files(js, ".js", dir)) {
        fprintf(stderr, "chat_server: cannot copy %s and %s/*.js into %s\n", www, js, dir);
        remove_dir(dir);
        return 1;
    }
    signal(SIGINT, stop_cb);
    signal(SIGTERM, stop_cb);
    setvbuf(stdout, NULL, _IOLBF, 0); /* a line as soon as it is there, also into a pipe */

    if ((rc = msock_bus_open(&s)) != 0 ||
        (rc = msock_socket_set_size(s, MSOCK_OPT_RECV_MAXSZ, LINE_MAX_BYTES)) != 0 ||
        (rc = msock_socket_set_ms(s, MSOCK_OPT_RECV_TIMEOUT, 200)) != 0 || /* to see `stop` */
        (rc = msock_listener_create(&l, s, url)) != 0 ||
        (rc = msock_listener_set_string(l, MSOCK_OPT_WS_HTTP_DIR, dir)) != 0 ||
        (rc = msock_listener_set_int(l, MSOCK_OPT_MAX_CONNS, 100)) != 0 ||
        (rc = msock_listener_start(l, 0)) != 0 ||
        (rc = msock_listener_get_string(l, MSOCK_OPT_URL, url, &len)) != 0) {
        fprintf(stderr, "chat_server: %s: %s\n", url, msock_strerror(rc));
        goto out;
    }
    /* "ws://127.0.0.1:40123/chat" -> "http://127.0.0.1:40123/" */
    printf("chat: listening on %s, open http://%.*s/\n", url, (int)strcspn(url + 5, "/"),
           url + 5);

    while (!stop) {
        len = sizeof line;
        rc = msock_recv(s, line, &len, 0);
        if (rc == MSOCK_ETIMEDOUT || (rc == 0 && len == 0))
            continue;
        if (rc != 0)
            break;
        len = len < sizeof line ? len : sizeof line; /* cannot be more, with RECV_MAXSZ */
        for (size_t i = 0; i < len; i++) /* one line of text: no newlines or escapes */
            if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
                line[i] = ' ';
        printf("%.*s\n", (int)len, line);
        msock_send(s, line, len, 0); /* BUS: to every browser, the sender too; never waits */
    }
    if (rc != 0 && rc != MSOCK_ETIMEDOUT)
        fprintf(stderr, "chat_server: receive: %s\n", msock_strerror(rc));
    rc = rc != 0 && rc != MSOCK_ETIMEDOUT;
out:
    msock_close(s);
    remove_dir(dir);
    msock_fini();
    return rc != 0;
}
