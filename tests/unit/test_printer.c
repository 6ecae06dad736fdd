/* test_printer.c — unit tests of the printer library: face layout and rendering, K mask, simulated printer */
#include "render/face-private.h"
#include "printer-private.h"
#include "printer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cairo.h>
#include <pthread.h>

#define PHOTO_W 358
#define PHOTO_H 441

#define LONG_NAME      "阿依古丽·买买提依明·阿卜杜克热木"
#define VERY_LONG_NAME "阿依古丽·买买提依明·阿卜杜克热木·艾合买提江·吐尔逊托合提"
#define PUA_E000       "\xee\x80\x80"     /* U+E000, private use: no font has it */
#define PUA_10FFFD     "\xf4\x8f\xbf\xbd" /* U+10FFFD, private use */

static uint8_t photo[PHOTO_H][PHOTO_W][3];
static struct printer_layout *layout; /* the default layout file, loaded once by main() */

static struct printer_face sample_face(const char *name)
{
    for (unsigned y = 0; y < PHOTO_H; y++)
        for (unsigned x = 0; x < PHOTO_W; x++) {
            photo[y][x][0] = (uint8_t)(x * 255 / PHOTO_W);
            photo[y][x][1] = (uint8_t)(y * 255 / PHOTO_H);
            photo[y][x][2] = 0x80;
        }
    return (struct printer_face){
        .name = name,
        .ssn = "44030119900101123X",
        .card_number = "A12345678",
        .issue_year = 2024,
        .issue_month = 5,
        .bank_name = "中国工商银行",
        .photo_rgb = &photo[0][0][0],
        .photo_width = PHOTO_W,
        .photo_height = PHOTO_H,
    };
}

static struct printer_face_rect area(enum printer_face_area a)
{
    struct printer_face_rect r;

    assert_int_equal(printer_face_area(layout, a, &r), 0);
    return r;
}

/* Counts set kmask pixels inside r (clamped to the face). */
static size_t kmask_count(const struct printer_raster *ras, struct printer_face_rect r)
{
    size_t n = 0;
    unsigned x0 = r.x < 0 ? 0 : (unsigned)r.x, y0 = r.y < 0 ? 0 : (unsigned)r.y;
    unsigned x1 = (unsigned)(r.x + r.w), y1 = (unsigned)(r.y + r.h);

    if (x1 > ras->width)
        x1 = ras->width;
    if (y1 > ras->height)
        y1 = ras->height;
    for (unsigned y = y0; y < y1; y++)
        for (unsigned x = x0; x < x1; x++)
            n += ras->kmask[(size_t)y * ras->width + x];
    return n;
}

static struct printer_raster *render_ok(const char *name)
{
    struct printer_face f = sample_face(name);
    struct printer_raster *ras = NULL;
    char bad[8] = "";

    assert_int_equal(printer_render_face(&f, &ras, bad), 0);
    assert_non_null(ras);
    assert_int_equal(ras->width, PRINTER_FACE_WIDTH);
    assert_int_equal(ras->height, PRINTER_FACE_HEIGHT);
    return ras;
}

static void assert_name_inside_box(const char *name)
{
    struct printer_face_rect box = area(PRINTER_FACE_AREA_NAME), ink;
    char bad[8] = "";

    assert_int_equal(printer_face_measure_name(layout, name, &ink, bad), 0);
    assert_true(ink.w > 0 && ink.h > 0);
    assert_true(ink.x >= box.x - 0.5);
    assert_true(ink.x + ink.w <= box.x + box.w + 0.5);
    assert_true(ink.y >= box.y - 0.5);
    assert_true(ink.y + ink.h <= box.y + box.h + 0.5);
}

static void test_long_name_fits(void **state)
{
    struct printer_face_rect box = area(PRINTER_FACE_AREA_NAME), photo_win = area(PRINTER_FACE_AREA_PHOTO);
    struct printer_raster *ras;

    (void)state;
    assert_name_inside_box("张伟");
    assert_name_inside_box(LONG_NAME);
    assert_name_inside_box(VERY_LONG_NAME);
    assert_name_inside_box("Alexander Christopher Montgomery-Worthington of Somewhere Far Away");
    assert_name_inside_box(
        "李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆李喆"); /* no break */

    /* and on the rendered face: no resin right of the name box, up to the photo */
    ras = render_ok(LONG_NAME);
    assert_int_equal(kmask_count(ras, (struct printer_face_rect){box.x + box.w + 1, box.y,
                                                                 photo_win.x - (box.x + box.w + 1), box.h}),
                     0);
    assert_true(kmask_count(ras, box) > 0);
    printer_raster_free(ras);
}

static void test_rare_gbk_characters(void **state)
{
    (void)state;
    printer_raster_free(render_ok("王堃"));
    printer_raster_free(render_ok("李喆"));
    printer_raster_free(render_ok("玛依努尔·艾则孜"));
}

static void test_missing_glyph(void **state)
{
    struct printer_face f = sample_face("张" PUA_E000 "三");
    struct printer_raster *ras = (struct printer_raster *)&f; /* sentinel: must stay untouched */
    char bad[8] = "";

    (void)state;
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_FONT);
    assert_string_equal(bad, PUA_E000);
    assert_ptr_equal(ras, (struct printer_raster *)&f);

    f.name = "王" PUA_10FFFD;
    memset(bad, 0, sizeof(bad));
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_FONT);
    assert_string_equal(bad, PUA_10FFFD);

    /* bad_char may be NULL */
    assert_int_equal(printer_render_face(&f, &ras, NULL), PRINTER_ERROR_FONT);

    /* the bank name is checked as well */
    f.name = "张三";
    f.bank_name = "银行" PUA_E000;
    memset(bad, 0, sizeof(bad));
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_FONT);
    assert_string_equal(bad, PUA_E000);
    assert_ptr_equal(ras, (struct printer_raster *)&f);
}

static void test_kmask_areas(void **state)
{
    struct printer_raster *ras;
    struct printer_face_rect chip = area(PRINTER_FACE_AREA_CHIP);

    (void)state;
    ras = render_ok("张三");
    assert_true(kmask_count(ras, area(PRINTER_FACE_AREA_CARD_NUMBER)) > 100);
    assert_true(kmask_count(ras, area(PRINTER_FACE_AREA_SSN)) > 100);
    assert_int_equal(kmask_count(ras, area(PRINTER_FACE_AREA_PHOTO)), 0);
    assert_int_equal(kmask_count(ras, chip), 0);
    /* the chip's contact area stays unprinted (white) */
    for (unsigned y = (unsigned)chip.y + 1; y < (unsigned)(chip.y + chip.h) - 1; y++)
        for (unsigned x = (unsigned)chip.x + 1; x < (unsigned)(chip.x + chip.w) - 1; x++) {
            const uint8_t *px = ras->rgb + ((size_t)y * ras->width + x) * 3;

            assert_true(px[0] == 0xff && px[1] == 0xff && px[2] == 0xff);
        }
    /* resin pixels are black on the composite too */
    for (size_t i = 0; i < (size_t)ras->width * ras->height; i++)
        if (ras->kmask[i])
            assert_true(ras->rgb[i * 3] < 0x80 && ras->rgb[i * 3 + 1] < 0x80 && ras->rgb[i * 3 + 2] < 0x80);
    printer_raster_free(ras);
}

static void test_no_photo(void **state)
{
    struct printer_face f = sample_face("张三");
    struct printer_raster *ras = NULL;

    (void)state;
    f.photo_rgb = NULL;
    f.bank_name = NULL;
    assert_int_equal(printer_render_face(&f, &ras, NULL), 0);
    printer_raster_free(ras);
}

static void test_invalid_face(void **state)
{
    struct printer_face f = sample_face("张三");
    struct printer_raster *ras = (struct printer_raster *)&f;
    char bad[8] = "";
    char long_name[400];

    (void)state;
    assert_int_equal(printer_render_face(NULL, &ras, bad), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_render_face(&f, NULL, bad), PRINTER_ERROR_INVALID);
    f.ssn = "4403011990";
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_INVALID);
    f = sample_face("张三");
    f.card_number = "A1234/678";
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_INVALID);
    f = sample_face("张三");
    f.issue_month = 13;
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_INVALID);
    f = sample_face("张\n三");
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_INVALID);
    f = sample_face("\xff\xfe");
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_INVALID);
    f = sample_face("");
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_INVALID);
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    f = sample_face(long_name);
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_INVALID);
    f = sample_face("张三");
    f.photo_width = 0;
    assert_int_equal(printer_render_face(&f, &ras, bad), PRINTER_ERROR_INVALID);
    assert_ptr_equal(ras, (struct printer_raster *)&f);
    assert_string_equal(bad, "");
}

struct render_thread {
    pthread_t thread;
    struct printer_raster *ras;
    int r;
};

static void *render_thread_main(void *arg)
{
    struct render_thread *t = arg;
    struct printer_face f = {
        .name = LONG_NAME,
        .ssn = "44030119900101123X",
        .card_number = "A12345678",
        .issue_year = 2024,
        .issue_month = 5,
        .bank_name = "中国工商银行",
        .photo_rgb = &photo[0][0][0],
        .photo_width = PHOTO_W,
        .photo_height = PHOTO_H,
    };

    t->r = 0;
    for (int i = 0; i < 3 && t->r == 0; i++) {
        printer_raster_free(t->ras);
        t->ras = NULL;
        t->r = printer_render_face(&f, &t->ras, NULL);
    }
    return NULL;
}

static void test_render_concurrently(void **state)
{
    struct render_thread threads[4] = {0};
    struct printer_raster *ref = render_ok(LONG_NAME); /* also fills the shared photo before the threads */
    size_t n = (size_t)ref->width * ref->height;

    (void)state;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&threads[i].thread, NULL, render_thread_main, &threads[i]), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(threads[i].thread, NULL), 0);
        assert_int_equal(threads[i].r, 0);
        assert_memory_equal(threads[i].ras->rgb, ref->rgb, n * 3);
        assert_memory_equal(threads[i].ras->kmask, ref->kmask, n);
        printer_raster_free(threads[i].ras);
    }
    printer_raster_free(ref);
}

static void test_free_null(void **state)
{
    (void)state;
    printer_raster_free(NULL);
    printer_close(NULL);
}

static void test_names(void **state)
{
    (void)state;
    assert_non_null(printer_strerror(0));
    for (int e = PRINTER_ERROR_INVALID; e >= PRINTER_ERROR_ACCESS; e--)
        assert_non_null(printer_strerror(e));
    assert_string_equal(printer_strerror(PRINTER_ERROR_FONT), "character has no glyph in any installed font");
    assert_string_equal(printer_disposition_name(PRINTER_DISPOSITION_REJECT_CARD), "reject-card");
    assert_string_equal(printer_disposition_name(PRINTER_DISPOSITION_PAUSE_LINE), "pause-line");
    assert_string_equal(printer_disposition_name((enum printer_disposition)42), "unknown");
}

/* --- the simulated printer --- */

static struct printer *open_sim(const struct printer_sim_config *cfg)
{
    struct printer *p = NULL;

    assert_int_equal(printer_open_sim(cfg, &p), 0);
    assert_non_null(p);
    assert_string_equal(printer_name(p), "sim");
    return p;
}

static void test_sim_print_without_feed(void **state)
{
    struct printer_sim_config cfg = {0};
    struct printer *p = open_sim(&cfg);
    struct printer_raster *ras = render_ok("张三");
    enum printer_disposition d = PRINTER_DISPOSITION_OK;
    char cause[PRINTER_CAUSE_SIZE] = "";

    (void)state;
    assert_int_equal(printer_print(p, ras, "A12345678", &d, cause), PRINTER_ERROR_DEVICE);
    assert_int_equal(d, PRINTER_DISPOSITION_PAUSE_LINE);
    assert_string_equal(cause, "no card at the print position");
    assert_int_equal(printer_to_encoder(p, &d, cause), PRINTER_ERROR_DEVICE);
    assert_int_equal(printer_eject(p, &d, cause), PRINTER_ERROR_DEVICE);
    assert_int_equal(printer_reject(p, NULL, NULL), PRINTER_ERROR_DEVICE);
    assert_int_equal(printer_purge(p, &d, cause), 0); /* nothing inside is fine */
    printer_raster_free(ras);
    printer_close(p);
}

static void test_sim_happy_path(void **state)
{
    struct printer_sim_config cfg = {.card_ms = 5};
    struct printer *p = open_sim(&cfg);
    struct printer_raster *ras = render_ok("张三");
    enum printer_disposition d = PRINTER_DISPOSITION_RETRY;
    char cause[PRINTER_CAUSE_SIZE] = "untouched";
    struct printer_sim_counters c;

    (void)state;
    assert_int_equal(printer_feed(p, &d, cause), 0);
    assert_int_equal(printer_feed(p, &d, cause), PRINTER_ERROR_DEVICE); /* one card at a time */
    assert_int_equal(d, PRINTER_DISPOSITION_PAUSE_LINE);
    d = PRINTER_DISPOSITION_RETRY;
    strcpy(cause, "untouched");
    assert_int_equal(printer_print(p, ras, "A12345678", &d, cause), 0);
    assert_int_equal(printer_to_encoder(p, &d, cause), 0);
    assert_int_equal(printer_to_encoder(p, &d, cause), 0);
    assert_int_equal(printer_print(p, ras, "A12345678", &d, cause), PRINTER_ERROR_DEVICE); /* printed already */
    d = PRINTER_DISPOSITION_RETRY;
    strcpy(cause, "untouched");
    assert_int_equal(printer_eject(p, &d, cause), 0);
    /* success leaves the failure outputs alone */
    assert_int_equal(d, PRINTER_DISPOSITION_RETRY);
    assert_string_equal(cause, "untouched");
    assert_int_equal(printer_eject(p, &d, cause), PRINTER_ERROR_DEVICE);

    /* a card left inside is thrown out by purge */
    assert_int_equal(printer_feed(p, &d, cause), 0);
    assert_int_equal(printer_purge(p, &d, cause), 0);
    assert_int_equal(printer_sim_get_counters(p, &c), 0);
    assert_int_equal(c.fed, 2);
    assert_int_equal(c.printed, 1);
    assert_int_equal(c.ejected, 1);
    assert_int_equal(c.purged, 1);
    assert_int_equal(c.rejected, 1);
    assert_int_equal(c.faults, 0);
    printer_raster_free(ras);
    printer_close(p);
}

static void test_sim_feeder_empty(void **state)
{
    struct printer_sim_config cfg = {.feeder_cards = 2};
    struct printer *p = open_sim(&cfg);
    enum printer_disposition d = PRINTER_DISPOSITION_OK;
    char cause[PRINTER_CAUSE_SIZE] = "";

    (void)state;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(printer_feed(p, &d, cause), 0);
        assert_int_equal(printer_eject(p, &d, cause), 0);
    }
    assert_int_equal(printer_feed(p, &d, cause), PRINTER_ERROR_DEVICE);
    assert_int_equal(d, PRINTER_DISPOSITION_PAUSE_LINE);
    assert_string_equal(cause, "feeder empty");
    printer_close(p);
}

static void test_sim_fault(void **state)
{
    struct printer_sim_config cfg = {.fault_permille = 1000, .seed = 7};
    struct printer *p = open_sim(&cfg);
    struct printer_raster *ras = render_ok("张三");
    enum printer_disposition d = PRINTER_DISPOSITION_OK;
    char cause[PRINTER_CAUSE_SIZE] = "";
    struct printer_sim_counters c;

    (void)state;
    assert_int_equal(printer_feed(p, &d, cause), 0);
    assert_int_equal(printer_print(p, ras, "A12345678", &d, cause), PRINTER_ERROR_DEVICE);
    assert_int_equal(d, PRINTER_DISPOSITION_REJECT_CARD);
    assert_non_null(strstr(cause, "print head fault"));
    /* the spoiled card is not printed over */
    assert_int_equal(printer_print(p, ras, "A12345678", &d, cause), PRINTER_ERROR_DEVICE);
    assert_int_equal(d, PRINTER_DISPOSITION_REJECT_CARD);
    assert_int_equal(printer_reject(p, &d, cause), 0);
    assert_int_equal(printer_sim_get_counters(p, &c), 0);
    assert_int_equal(c.faults, 1);
    assert_int_equal(c.rejected, 1);
    assert_int_equal(c.printed, 0);
    printer_raster_free(ras);
    printer_close(p);
}

/* The same seed gives the same faults; some faults and some good cards at 50 %. */
static void test_sim_fault_deterministic(void **state)
{
    struct printer_sim_config cfg = {.fault_permille = 500, .seed = 12345};
    struct printer *a = open_sim(&cfg), *b = open_sim(&cfg);
    struct printer_raster *ras = render_ok("张三");
    int faults = 0;

    (void)state;
    for (int i = 0; i < 40; i++) {
        int ra, rb;

        assert_int_equal(printer_feed(a, NULL, NULL), 0);
        assert_int_equal(printer_feed(b, NULL, NULL), 0);
        ra = printer_print(a, ras, "A12345678", NULL, NULL);
        rb = printer_print(b, ras, "A12345678", NULL, NULL);
        assert_int_equal(ra, rb);
        faults += ra < 0;
        assert_int_equal(printer_eject(a, NULL, NULL), 0);
        assert_int_equal(printer_eject(b, NULL, NULL), 0);
    }
    assert_true(faults > 5 && faults < 35);
    printer_raster_free(ras);
    printer_close(a);
    printer_close(b);
}

static void test_sim_output_png(void **state)
{
    char dir[] = "/tmp/test_printer.XXXXXX", path[256];
    struct printer_sim_config cfg = {0};
    struct printer *p;
    struct printer_raster *ras = render_ok("张三");
    enum printer_disposition d = PRINTER_DISPOSITION_OK;
    char cause[PRINTER_CAUSE_SIZE] = "";
    cairo_surface_t *png;
    const uint8_t *data;
    int stride;

    (void)state;
    assert_non_null(mkdtemp(dir));
    cfg.output_dir = dir;
    p = open_sim(&cfg);
    assert_int_equal(printer_feed(p, &d, cause), 0);
    assert_int_equal(printer_print(p, ras, "A12345678", &d, cause), 0);

    snprintf(path, sizeof(path), "%s/A12345678.png", dir);
    png = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(png), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(png), PRINTER_FACE_WIDTH);
    assert_int_equal(cairo_image_surface_get_height(png), PRINTER_FACE_HEIGHT);
    /* pixels survive the round trip */
    data = cairo_image_surface_get_data(png);
    stride = cairo_image_surface_get_stride(png);
    for (unsigned y = 0; y < ras->height; y += 37)
        for (unsigned x = 0; x < ras->width; x += 13) {
            uint32_t v;
            const uint8_t *px = ras->rgb + ((size_t)y * ras->width + x) * 3;

            memcpy(&v, data + (size_t)y * (size_t)stride + x * 4, sizeof(v));
            assert_int_equal((v >> 16) & 0xff, px[0]);
            assert_int_equal((v >> 8) & 0xff, px[1]);
            assert_int_equal(v & 0xff, px[2]);
        }
    cairo_surface_destroy(png);
    assert_int_equal(unlink(path), 0);

    /* labels that could leave the directory are refused, and nothing is written */
    assert_int_equal(printer_eject(p, &d, cause), 0);
    assert_int_equal(printer_feed(p, &d, cause), 0);
    assert_int_equal(printer_print(p, ras, "../x", &d, cause), PRINTER_ERROR_INVALID);
    assert_int_equal(d, PRINTER_DISPOSITION_REJECT_CARD);
    assert_int_equal(printer_print(p, ras, "a/b", &d, cause), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_print(p, ras, ".hidden", &d, cause), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_print(p, ras, "", &d, cause), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_print(p, ras, NULL, &d, cause), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_print(p, NULL, "A1", &d, cause), PRINTER_ERROR_INVALID);
    assert_int_equal(rmdir(dir), 0); /* empty: no stray or temporary files */
    printer_close(p);
    printer_raster_free(ras);
}

static void test_sim_open_invalid(void **state)
{
    struct printer *p = (struct printer *)&p;
    struct printer_sim_config cfg = {.fault_permille = 1001};

    (void)state;
    assert_int_equal(printer_open_sim(NULL, &p), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_open_sim(&cfg, &p), PRINTER_ERROR_INVALID);
    cfg = (struct printer_sim_config){.output_dir = "/nonexistent/cardline"};
    assert_int_equal(printer_open_sim(&cfg, &p), PRINTER_ERROR_IO);
    assert_ptr_equal(p, (struct printer *)&p);
    assert_int_equal(printer_feed(NULL, NULL, NULL), PRINTER_ERROR_INVALID);
}

static void test_layout_sources(void **state)
{
    struct printer_face f = sample_face("张伟");
    struct printer_raster *a = NULL, *b = NULL;
    struct printer_face_rect chip = area(PRINTER_FACE_AREA_CHIP);
    char bad[8] = "";
    const char *saved = getenv("CARDLINE_LAYOUT");
    char *keep = saved ? strdup(saved) : NULL;

    (void)state;
    /* a loaded layout and the default file draw the same face */
    f.layout = layout;
    assert_int_equal(printer_render_face(&f, &a, bad), 0);
    f.layout = NULL;
    assert_int_equal(printer_render_face(&f, &b, bad), 0);
    assert_memory_equal(a->rgb, b->rgb, (size_t)a->width * a->height * 3);
    assert_memory_equal(a->kmask, b->kmask, (size_t)a->width * a->height);
    /* the raster carries the chip window for the overlay panel */
    assert_int_equal(a->chip_x, (unsigned)chip.x);
    assert_int_equal(a->chip_w, (unsigned)chip.w);
    assert_int_equal(a->chip_h, (unsigned)chip.h);
    printer_raster_free(a);
    printer_raster_free(b);

    /* a missing layout file is a clear error, not a blank card */
    setenv("CARDLINE_LAYOUT", "/nonexistent/ssc-front.json", 1);
    assert_string_equal(printer_layout_default_path(), "/nonexistent/ssc-front.json");
    a = NULL;
    assert_int_equal(printer_render_face(&f, &a, bad), PRINTER_ERROR_LAYOUT);
    assert_null(a);
    assert_int_equal(printer_check_text("张伟", bad), PRINTER_ERROR_LAYOUT);
    assert_int_equal(printer_check_text_layout(layout, "张伟", bad), 0);
    if (keep)
        setenv("CARDLINE_LAYOUT", keep, 1);
    else
        unsetenv("CARDLINE_LAYOUT");
    free(keep);
}

static void test_open_spec_sim(void **state)
{
    struct printer_sim_config cfg = {0};
    struct printer_status st = {.card = PRINTER_CARD_UNKNOWN};
    enum printer_disposition disp = PRINTER_DISPOSITION_OK;
    char cause[128] = "";
    struct printer *p = NULL;

    (void)state;
    assert_int_equal(printer_open_spec("sim", NULL, &p), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_open_spec("nonsense", &cfg, &p), PRINTER_ERROR_INVALID);
    assert_null(p);
    assert_int_equal(printer_open_spec("sim", &cfg, &p), 0);
    assert_string_equal(printer_name(p), "sim");
    assert_string_equal(printer_model(p), "");
    assert_int_equal(printer_get_status(p, &st, &disp, cause), 0);
    assert_int_equal(st.card, PRINTER_CARD_NONE);
    assert_int_equal(printer_feed(p, &disp, cause), 0);
    assert_int_equal(printer_get_status(p, &st, &disp, cause), 0);
    assert_int_equal(st.card, PRINTER_CARD_PRINT);
    printer_close(p);
}

static int load_layout(void **state)
{
    char why[256] = "";

    (void)state;
    if (printer_layout_load(NULL, &layout, why, sizeof(why)) < 0) {
        fprintf(stderr, "%s\n", why);
        return -1;
    }
    return 0;
}

static int free_layout(void **state)
{
    (void)state;
    printer_layout_free(layout);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_name_fits),
        cmocka_unit_test(test_rare_gbk_characters),
        cmocka_unit_test(test_missing_glyph),
        cmocka_unit_test(test_kmask_areas),
        cmocka_unit_test(test_no_photo),
        cmocka_unit_test(test_invalid_face),
        cmocka_unit_test(test_render_concurrently),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_sim_print_without_feed),
        cmocka_unit_test(test_sim_happy_path),
        cmocka_unit_test(test_sim_feeder_empty),
        cmocka_unit_test(test_sim_fault),
        cmocka_unit_test(test_sim_fault_deterministic),
        cmocka_unit_test(test_sim_output_png),
        cmocka_unit_test(test_sim_open_invalid),
        cmocka_unit_test(test_layout_sources),
        cmocka_unit_test(test_open_spec_sim),
    };

    return cmocka_run_group_tests_name("printer", tests, load_layout, free_layout);
}
