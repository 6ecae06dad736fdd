/* bench_render.c — time per card of rendering a face, splitting it into YMCKO panels and packing them for the
 * printer, next to writing the same 1016x648 image as a PNG with libpng, in one run (median of N) */
#include "codec.h"
#include "panel.h"
#include "printer.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_CARDS_DEFAULT 40
#define BENCH_CARDS_MAX     1000
#define BENCH_TARGET_MS     5.0

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
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

int main(int argc, char **argv)
{
    static uint8_t photo[441][358][3];
    int cards = argc > 1 ? atoi(argv[1]) : BENCH_CARDS_DEFAULT;
    double *render_ms, *panels_ms, *split_ms, *total_ms, *png_ms;
    struct printer_layout *layout = NULL;
    size_t frame_size = evolis_panel_frame_size(6), png_bytes = 0;
    uint8_t *frame = malloc(frame_size);
    char why[512] = "";
    double t_render, t_panels, t_png;

    if (cards < 1 || cards > BENCH_CARDS_MAX)
        cards = BENCH_CARDS_DEFAULT;
    if (printer_layout_load(NULL, &layout, why, sizeof(why)) < 0) {
        fprintf(stderr, "bench-render: %s\n", why);
        return 1;
    }
    for (unsigned y = 0; y < 441; y++)
        for (unsigned x = 0; x < 358; x++) {
            photo[y][x][0] = (uint8_t)(x * 255 / 358);
            photo[y][x][1] = (uint8_t)(y * 255 / 441);
            photo[y][x][2] = (uint8_t)((x ^ y) & 0xff);
        }
    render_ms = calloc((size_t)cards, sizeof(double));
    panels_ms = calloc((size_t)cards, sizeof(double));
    split_ms = calloc((size_t)cards, sizeof(double));
    total_ms = calloc((size_t)cards, sizeof(double));
    png_ms = calloc((size_t)cards, sizeof(double));
    for (int i = 0; i < cards; i++) {
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
        struct printer_raster *r = NULL;
        struct printer_panels *p = NULL;
        struct printer_keepout chip;
        double t0, t1, t1s, t2, t3;

        snprintf(card, sizeof(card), "A%08d", i);
        t0 = now_ms();
        if (printer_render_face(&f, &r, NULL) < 0)
            return 1;
        t1 = now_ms();
        chip = (struct printer_keepout){r->chip_x, r->chip_y, r->chip_w, r->chip_h};
        if (printer_panels_split(r, &chip, &p) < 0)
            return 1;
        t1s = now_ms();
        evolis_encode_panel('y', 6, p->y, frame, frame_size);
        evolis_encode_panel('m', 6, p->m, frame, frame_size);
        evolis_encode_panel('c', 6, p->c, frame, frame_size);
        evolis_encode_panel('k', 1, p->k, frame, frame_size);
        evolis_encode_panel('o', 1, p->o, frame, frame_size);
        t2 = now_ms();
        png_bytes = write_png(r);
        t3 = now_ms();
        render_ms[i] = t1 - t0;
        panels_ms[i] = t2 - t1;
        split_ms[i] = t1s - t1;
        total_ms[i] = t2 - t0;
        png_ms[i] = t3 - t2;
        printer_panels_free(p);
        printer_raster_free(r);
    }
    t_render = median(render_ms, cards);
    t_panels = median(panels_ms, cards);
    t_png = median(png_ms, cards);
    printf("bench-render: %d cards, median per card\n", cards);
    printf("  render face (Pango/Cairo)          %8.2f ms\n", t_render);
    printf("  split YMCKO + pack (Evolis 6-bit)  %8.2f ms (split alone %.2f ms)\n", t_panels,
           median(split_ms, cards));
    printf("  render + panels total              %8.2f ms  (target <= %.1f ms: %s)\n",
           median(total_ms, cards), BENCH_TARGET_MS,
           median(total_ms, cards) <= BENCH_TARGET_MS ? "met" : "NOT met");
    printf("  libpng write of the same 1016x648  %8.2f ms  (%zu bytes)\n", t_png, png_bytes);
    free(render_ms);
    free(panels_ms);
    free(split_ms);
    free(total_ms);
    free(png_ms);
    free(frame);
    printer_layout_free(layout);
    return 0;
}
