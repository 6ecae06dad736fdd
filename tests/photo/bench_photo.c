/* bench_photo.c — bench-photo: median time of plain decoding vs the full check over the same photos, and the
 * ratio */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixtures.h"

#define PORTRAITS 20
#define ROUNDS    15

/* CPU time of this thread, not wall time: on a shared 2-core machine other jobs' load would otherwise show up as
 * our latency. Both measurements use the same clock, so the ratio is fair either way. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    struct photo_checker *ck = NULL;
    uint8_t *files[PORTRAITS + 64];
    size_t lens[PORTRAITS + 64], nfiles = 0;

    if (photo_checker_new(getenv("CARDLINE_PHOTO_MODELS"), &ck) < 0) {
        fprintf(stderr, "bench-photo: Haar cascades missing: install opencv-data\n");
        return 77;
    }
    /* The photos: files named on the command line, else generated ID photos from astronaut.png. */
    for (int i = 1; i < argc && nfiles < PORTRAITS + 64; i++) {
        files[nfiles] = fx_read(argv[i], &lens[nfiles]);
        if (files[nfiles])
            nfiles++;
    }
    for (uint32_t seed = 1; argc < 2 && seed <= PORTRAITS; seed++)
        if (fx_portrait_jpeg(seed, &files[nfiles], &lens[nfiles]))
            nfiles++;
    if (nfiles == 0) {
        fprintf(stderr, "bench-photo: no photos (install python3-skimage or name files)\n");
        photo_checker_free(ck);
        return 77;
    }
    size_t n = nfiles * ROUNDS;
    double *dec = calloc(n, sizeof(*dec)), *chk = calloc(n, sizeof(*chk));
    size_t k = 0;
    int verdicts[3] = {0, 0, 0};
    /* Interleaved, so both see the same cache and frequency conditions. */
    for (int round = 0; round < ROUNDS; round++)
        for (size_t i = 0; i < nfiles; i++, k++) {
            struct photo_image *img = NULL;
            struct photo_report *rep = NULL;
            double t0 = now_ms();
            int r = photo_decode(files[i], lens[i], &img);
            double t1 = now_ms();
            photo_image_free(img);
            double t2 = now_ms();
            photo_check(ck, files[i], lens[i], NULL, &rep);
            double t3 = now_ms();
            dec[k] = r == 0 ? t1 - t0 : 0;
            chk[k] = t3 - t2;
            if (rep && round == 0)
                verdicts[rep->verdict == PHOTO_STATUS_FAIL ? 2 : rep->verdict == PHOTO_STATUS_WARN]++;
            photo_report_free(rep);
        }
    double md = median(dec, n), mc = median(chk, n);
    printf("bench-photo: %zu photo(s) x %d rounds (358x441 JPEG; %d pass, %d warn, %d fail)\n", nfiles,
           ROUNDS, verdicts[0], verdicts[1], verdicts[2]);
    printf("decode median %.3f ms (CPU)\nfull check median %.3f ms (CPU, includes its own decode)\nratio %.1fx\n", md,
           mc, md > 0 ? mc / md : 0);
    free(dec);
    free(chk);
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    photo_checker_free(ck);
    return 0;
}
