/* replay.c — runs a fuzz target without libFuzzer: over the files named on the command line (a seed corpus or
 * crash reproducers), then over deterministic pseudo-random mutations of them, so that every build exercises
 * every fuzz target as a plain test */
#include <dirent.h>
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

static size_t load(const char *path, uint8_t *buf)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return 0;
    n = fread(buf, 1, REPLAY_MAX_INPUT, f);
    fclose(f);
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

int main(int argc, char **argv)
{
    static uint8_t seed[REPLAY_MAX_INPUT + 1], work[REPLAY_MAX_INPUT + 1];
    const char *env = getenv("FUZZ_REPLAY_RUNS");
    long runs = env ? atol(env) : 2000;
    char **files = calloc((size_t)argc * 4096 + 1, sizeof(char *));
    int nfiles = 0;

    /* directories are expanded one level */
    for (int i = 1; i < argc && files; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *de;
            while (d && (de = readdir(d)) && nfiles < argc * 4096) {
                char path[4096];
                if (de->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                files[nfiles++] = strdup(path);
            }
            if (d)
                closedir(d);
        } else {
            files[nfiles++] = strdup(argv[i]);
        }
    }
    for (int i = 0; i < nfiles; i++) {
        size_t n = load(files[i], seed);
        LLVMFuzzerTestOneInput(seed, n);
    }
    for (long r = 0; r < runs; r++) {
        size_t n = nfiles ? load(files[next() % (unsigned)nfiles], work) : 0;
        if (!nfiles) {
            n = next() % 512;
            for (size_t k = 0; k < n; k++)
                work[k] = (uint8_t)next();
        }
        n = mutate(work, n);
        LLVMFuzzerTestOneInput(work, n);
    }
    printf("replayed %d file(s) and %ld mutation(s)\n", nfiles, runs);
    for (int i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    return 0;
}
