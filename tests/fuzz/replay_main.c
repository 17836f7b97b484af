/* replay_main.c: main() for the fuzz harnesses in builds without libFuzzer: replays the seed
 * corpus ($srcdir/tests/fuzz/corpus/FUZZ_NAME/, or the files given) through the harness. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_NAME
#error "compile with -DFUZZ_NAME='\"<harness name>\"'"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads one file and runs it; 0, or -1 (reported) when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz_%s: %s: %s\n", FUZZ_NAME, path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        uint8_t *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(f) || buf == NULL;
    fclose(f);
    if (failed) {
        free(buf);
        fprintf(stderr, "fuzz_%s: %s: read failed\n", FUZZ_NAME, path);
        return -1;
    }
    /* An exact-size copy, so a read past the input's end is caught by sanitizers. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int replay_corpus(void)
{
    const char *srcdir = getenv("srcdir");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", srcdir && *srcdir ? srcdir : ".", FUZZ_NAME);
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "fuzz_%s: corpus %s: %s\n", FUZZ_NAME, dir, strerror(errno));
        return 1;
    }
    size_t ran = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (replay_file(path) == 0)
            ran++;
        else
            bad++;
    }
    closedir(d);
    printf("fuzz_%s: %zu inputs from %s ran\n", FUZZ_NAME, ran, dir);
    if (ran == 0) {
        fprintf(stderr, "fuzz_%s: corpus %s is empty\n", FUZZ_NAME, dir);
        return 1;
    }
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return replay_corpus();
    size_t ran = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        if (replay_file(argv[i]) == 0)
            ran++;
        else
            bad++;
    }
    printf("fuzz_%s: %zu inputs ran\n", FUZZ_NAME, ran);
    return bad ? 1 : 0;
}
