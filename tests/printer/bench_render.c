/* bench_render.c — time per card of rendering a face, splitting it into YMCKO panels and packing them for the
 * printer, next to writing the same 1016x648 image as a PNG with libpng, in one run (median of N) */
#include "codec/codec.h"
#include "codec/panel.h"
#include "printer.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_CARDS_DEFAULT 40
#define BENCH_CARDS_MAX     1000
#define BENCH_TARGET_MS     5.0

/* What one card costs in one phase: wall clock, this thread's CPU time (which a machine busy with other
 * work inflates far less) and minor page faults (fresh memory from the kernel). */
enum bench_phase { BENCH_RENDER, BENCH_SPLIT, BENCH_PACK, BENCH_TOTAL, BENCH_PNG, BENCH_PHASES };

struct bench_clock {
    double wall;
    double cpu;
    long faults;
};

static struct bench_clock bench_now(void)
{
    struct timespec wall, cpu;
    struct rusage ru;

    clock_gettime(CLOCK_MONOTONIC, &wall);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    getrusage(RUSAGE_THREAD, &ru);
    return (struct bench_clock){(double)wall.tv_sec * 1000 + (double)wall.tv_nsec / 1e6,
                                (double)cpu.tv_sec * 1000 + (double)cpu.tv_nsec / 1e6, ru.ru_minflt};
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct sink {
    size_t len;
};

static void sink_write(png_structp png, png_bytep data, png_size_t len)
{
    struct sink *s = png_get_io_ptr(png);

    (void)data;
    s->len += len;
}

static void sink_flush(png_structp png)
{
    (void)png;
}

/* libpng, default compression, into a counting sink (no disk in the measurement) */
static size_t write_png(const struct printer_raster *r)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    struct sink s = {0};

    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return 0;
    }
    png_set_write_fn(png, &s, sink_write, sink_flush);
    png_set_IHDR(png, info, r->width, r->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (unsigned y = 0; y < r->height; y++)
        png_write_row(png, r->rgb + (size_t)y * r->width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return s.len;
}

/* One card through render, split, pack and the PNG write; the phase costs go to wall[], cpu[], faults[]. */
static int bench_card(const struct printer_face *f, uint8_t *frame, size_t frame_size,
                      double wall[BENCH_PHASES], double cpu[BENCH_PHASES], double faults[BENCH_PHASES],
                      size_t *ret_png_bytes)
{
    struct printer_raster *r = NULL;
    struct printer_panels *p = NULL;
    struct printer_keepout chip;
    struct bench_clock t[5];

    t[0] = bench_now();
    if (printer_render_face(f, &r, NULL) < 0)
        return -1;
    t[1] = bench_now();
    chip = (struct printer_keepout){r->chip_x, r->chip_y, r->chip_w, r->chip_h};
    if (printer_panels_split(r, &chip, &p) < 0) {
        printer_raster_free(r);
        return -1;
    }
    t[2] = bench_now();
    evolis_encode_panel('y', 6, p->y, frame, frame_size);
    evolis_encode_panel('m', 6, p->m, frame, frame_size);
    evolis_encode_panel('c', 6, p->c, frame, frame_size);
    evolis_encode_panel('k', 1, p->k, frame, frame_size);
    evolis_encode_panel('o', 1, p->o, frame, frame_size);
    t[3] = bench_now();
    *ret_png_bytes = write_png(r);
    t[4] = bench_now();
    printer_panels_free(p);
    printer_raster_free(r);

    for (int ph = 0; ph < BENCH_PHASES; ph++) {
        int from = ph == BENCH_TOTAL ? 0 : ph == BENCH_PNG ? 3 : ph, to = ph == BENCH_TOTAL ? 3 : from + 1;

        wall[ph] = t[to].wall - t[from].wall;
        cpu[ph] = t[to].cpu - t[from].cpu;
        faults[ph] = (double)(t[to].faults - t[from].faults);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static uint8_t photo[441][358][3];
    static const char *const phase_names[BENCH_PHASES] = {
        "render face (Pango/Cairo)", "split YMCKO", "pack (Evolis 6-bit YMC, 1-bit KO)",
        "render + split + pack", "libpng write of the same 1016x648"};
    int cards = argc > 1 ? atoi(argv[1]) : BENCH_CARDS_DEFAULT;
    double *samples[3][BENCH_PHASES], med[3][BENCH_PHASES];
    struct printer_layout *layout = NULL;
    size_t frame_size = evolis_panel_frame_size(6), png_bytes = 0;
    uint8_t *frame = malloc(frame_size);
    char why[512] = "";
    int rc = 0;

    if (cards < 1 || cards > BENCH_CARDS_MAX)
        cards = BENCH_CARDS_DEFAULT;
    if (!frame || printer_layout_load(NULL, &layout, why, sizeof(why)) < 0) {
        fprintf(stderr, "bench-render: %s\n", why[0] ? why : "out of memory");
        free(frame);
        return 1;
    }
    for (unsigned y = 0; y < 441; y++)
        for (unsigned x = 0; x < 358; x++) {
            photo[y][x][0] = (uint8_t)(x * 255 / 358);
            photo[y][x][1] = (uint8_t)(y * 255 / 441);
            photo[y][x][2] = (uint8_t)((x ^ y) & 0xff);
        }
    for (int k = 0; k < 3; k++)
        for (int ph = 0; ph < BENCH_PHASES; ph++)
            samples[k][ph] = calloc((size_t)cards, sizeof(double));
    for (int i = 0; i < cards && rc == 0; i++) {
        char card[16];
        struct printer_face f = {.name = i % 2 ? "阿依古丽·买买提依明·阿卜杜克热木" : "王堃",
                                 .ssn = "44030119900101123X",
                                 .card_number = card,
                                 .issue_year = 2026,
                                 .issue_month = 3,
                                 .bank_name = "中国工商银行",
                                 .photo_rgb = &photo[0][0][0],
                                 .photo_width = 358,
                                 .photo_height = 441,
                                 .layout = layout};
        double wall[BENCH_PHASES], cpu[BENCH_PHASES], faults[BENCH_PHASES];

        snprintf(card, sizeof(card), "A%08d", i);
        if (!samples[0][0] || bench_card(&f, frame, frame_size, wall, cpu, faults, &png_bytes) < 0) {
            fprintf(stderr, "bench-render: card %d failed\n", i);
            rc = 1;
            break;
        }
        for (int ph = 0; ph < BENCH_PHASES; ph++) {
            samples[0][ph][i] = wall[ph];
            samples[1][ph][i] = cpu[ph];
            samples[2][ph][i] = faults[ph];
        }
    }
    if (rc == 0) {
        for (int k = 0; k < 3; k++)
            for (int ph = 0; ph < BENCH_PHASES; ph++)
                med[k][ph] = median(samples[k][ph], cards);
        printf("bench-render: %d cards, median per card (the first card builds the layout's caches)\n",
               cards);
        printf("  %-36s %9s %9s %8s\n", "", "wall ms", "cpu ms", "faults");
        for (int ph = 0; ph < BENCH_PHASES; ph++)
            printf("  %-36s %9.2f %9.2f %8.0f\n", phase_names[ph], med[0][ph], med[1][ph], med[2][ph]);
        printf("  render + split + pack: %.2f ms wall, target <= %.1f ms: %s; %.2fx the libpng write "
               "(%zu bytes)\n",
               med[0][BENCH_TOTAL], BENCH_TARGET_MS,
               med[0][BENCH_TOTAL] <= BENCH_TARGET_MS ? "met" : "NOT met",
               med[0][BENCH_TOTAL] / med[0][BENCH_PNG], png_bytes);
    }
    for (int k = 0; k < 3; k++)
        for (int ph = 0; ph < BENCH_PHASES; ph++)
            free(samples[k][ph]);
    free(frame);
    printer_layout_free(layout);
    return rc;
}
