/* replay.c — runs a fuzz target without libFuzzer: over the files named on the command line (a seed corpus or
 * crash reproducers), then over deterministic pseudo-random mutations of them, so that every build exercises
 * every fuzz target as a plain test */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1u << 20)

static uint32_t rng = 0x9E3779B9u;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* A seed that cannot be read is a broken corpus, not an empty input: it would hide that the seed is never
 * exercised. The same for one too large to replay whole. */
static size_t load(const char *path, uint8_t *buf)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    int failed;

    if (!f) {
        fprintf(stderr, "replay: cannot open seed %s: %s\n", path, strerror(errno));
        exit(1);
    }
    n = fread(buf, 1, REPLAY_MAX_INPUT + 1, f);
    failed = ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "replay: cannot read seed %s\n", path);
        exit(1);
    }
    if (n > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: seed %s is larger than %u bytes\n", path, REPLAY_MAX_INPUT);
        exit(1);
    }
    return n;
}

/* A handful of the mutations libFuzzer itself starts with: flip, overwrite, insert, erase, truncate. */
static size_t mutate(uint8_t *buf, size_t len)
{
    int n = 1 + (int)(next() % 8);

    for (int i = 0; i < n; i++) {
        size_t at = len ? next() % len : 0;
        switch (next() % 5) {
        case 0:
            if (len)
                buf[at] ^= (uint8_t)(1u << (next() % 8));
            break;
        case 1:
            if (len)
                buf[at] = (uint8_t)next();
            break;
        case 2:
            if (len < REPLAY_MAX_INPUT) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (uint8_t)next();
                len++;
            }
            break;
        case 3:
            if (len) {
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
            }
            break;
        default:
            len = at;
            break;
        }
    }
    return len;
}

struct file_list {
    char **name;
    size_t n, cap;
};

static void add_file(struct file_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **grown = realloc(l->name, cap * sizeof(*grown));
        if (!grown) {
            fprintf(stderr, "replay: out of memory\n");
            exit(1);
        }
        l->name = grown;
        l->cap = cap;
    }
    l->name[l->n] = strdup(path);
    if (!l->name[l->n]) {
        fprintf(stderr, "replay: out of memory\n");
        exit(1);
    }
    l->n++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Directories are expanded one level (hidden files skipped); an unreadable or empty directory is an error. */
static void add_arg(struct file_list *l, const char *arg)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    size_t before = l->n;

    if (stat(arg, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", arg, strerror(errno));
        exit(1);
    }
    if (!S_ISDIR(st.st_mode)) {
        add_file(l, arg);
        return;
    }
    d = opendir(arg);
    if (!d) {
        fprintf(stderr, "replay: cannot open corpus directory %s: %s\n", arg, strerror(errno));
        exit(1);
    }
    while ((de = readdir(d))) {
        char path[4096];
        if (de->d_name[0] == '.')
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", arg, de->d_name) >= sizeof(path)) {
            fprintf(stderr, "replay: path too long in %s\n", arg);
            exit(1);
        }
        add_file(l, path);
    }
    closedir(d);
    if (l->n == before) {
        fprintf(stderr, "replay: corpus directory %s holds no seed\n", arg);
        exit(1);
    }
    /* readdir order differs between file systems; sorted, the mutations are the same everywhere */
    qsort(l->name + before, l->n - before, sizeof(*l->name), by_name);
}

int main(int argc, char **argv)
{
    static uint8_t seed[REPLAY_MAX_INPUT + 1], work[REPLAY_MAX_INPUT + 1];
    const char *env = getenv("FUZZ_REPLAY_RUNS");
    long runs = env ? atol(env) : 2000;
    struct file_list files = {0};

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        add_arg(&files, argv[i]);
    for (size_t i = 0; i < files.n; i++) {
        size_t n = load(files.name[i], seed);
        LLVMFuzzerTestOneInput(seed, n);
    }
    for (long r = 0; r < runs; r++) {
        size_t n = load(files.name[next() % files.n], work);
        n = mutate(work, n);
        LLVMFuzzerTestOneInput(work, n);
    }
    printf("replayed %zu file(s) and %ld mutation(s)\n", files.n, runs);
    for (size_t i = 0; i < files.n; i++)
        free(files.name[i]);
    free(files.name);
    return 0;
}
