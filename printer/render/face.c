/* face.c — draws the front of a social security card: an RGB composite plus the K (resin black) mask
 *
 * Two ways give the same bytes. The straightforward way draws every layer of the card in order on full-size
 * surfaces (face_draw_composite(), face_draw_kmask() in draw.c). The way a production line takes
 * (render_face() with a loaded layout) draws what every card of the layout shows once, into the layout's
 * cache (the static layer), and per card only what is the card's own, in the same order, where it goes: the
 * photo in its window, resampled by a replica of cairo's filter that is checked against cairo before it is
 * used, and the card's texts, pasted when they were drawn before (a bank, the date). Whatever could make the
 * two ways differ (a text that would go under a cached one, ink outside its box) makes that card take the
 * straightforward way.
 *
 * The renderer's files: face.c (this: the entry points, the job, the raster), text.c (fitting the texts),
 * draw.c (the layers), resample.c (the photo as cairo resamples it), cache.c (the static layer and kept
 * texts), layout.c (the layout's data file); render-private.h is what they share. */
#include "render/render-private.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <pango/pangocairo.h>

int face_job_init(struct face_job *job, const struct printer_layout *lay)
{
    PangoFontMap *fontmap;
    cairo_font_options_t *options;

    *job = (struct face_job){0};
    job->lay = lay;
    /* Pango >= 1.32 keeps one default font map per thread, so this is safe on several line threads. */
    fontmap = pango_cairo_font_map_get_default();
    if (!fontmap)
        return PRINTER_ERROR_NOMEM;
    job->pango = pango_font_map_create_context(fontmap);
    if (!job->pango)
        return PRINTER_ERROR_NOMEM;

    /* Unhinted metrics make the layout independent of the target surface, so the K mask (A8) and the
     * composite (RGB24) get exactly the same glyph positions. */
    options = cairo_font_options_create();
    if (cairo_font_options_status(options) != CAIRO_STATUS_SUCCESS) {
        cairo_font_options_destroy(options);
        return PRINTER_ERROR_NOMEM;
    }
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(job->pango, options);
    cairo_font_options_destroy(options);
    pango_context_set_round_glyph_positions(job->pango, FALSE);
    /* Han characters take their simplified-Chinese shapes, also in fallback fonts. */
    pango_context_set_language(job->pango, pango_language_from_string("zh-cn"));
    pango_context_set_base_dir(job->pango, PANGO_DIRECTION_LTR);
    return 0;
}

void face_job_done(struct face_job *job)
{
    for (size_t i = 0; i < job->n_texts; i++)
        g_object_unref(job->texts[i].layout);
    job->n_texts = 0;
    if (job->pango)
        g_object_unref(job->pango);
    job->pango = NULL;
}

void printer_raster_free(struct printer_raster *r)
{
    if (!r)
        return;
    free(r->rgb);
    free(r->kmask);
    free(r);
}

static struct printer_raster *raster_new(unsigned width, unsigned height)
{
    struct printer_raster *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->width = width;
    r->height = height;
    r->rgb = malloc((size_t)width * height * 3);
    r->kmask = calloc((size_t)width * height, 1);
    if (!r->rgb || !r->kmask) {
        printer_raster_free(r);
        return NULL;
    }
    return r;
}

/* The layout to draw with: the caller's, or the default file read now into *ret_owned (freed by the caller).
 */
int face_use_layout(const struct printer_layout *given, const struct printer_layout **ret,
                    struct printer_layout **ret_owned)
{
    int r;

    *ret_owned = NULL;
    if (given) {
        *ret = given;
        return 0;
    }
    r = printer_layout_load(NULL, ret_owned, NULL, 0);
    if (r < 0)
        return r;
    *ret = *ret_owned;
    return 0;
}

/* How render_face() may draw: */
enum render_way {
    RENDER_ANY,       /* from the layout's static layer when it can, else the straightforward way */
    RENDER_REFERENCE, /* the straightforward way */
    RENDER_CACHED,    /* from the static layer or not at all (1): for the tests */
};

static int render_face(const struct printer_face *face, struct printer_raster **ret, char bad_char[8],
                       enum render_way way)
{
    const struct printer_layout *lay;
    struct printer_layout *owned;
    struct face_cache *cache = NULL;
    const char *texts[FACE_TEXTS_MAX];
    struct face_job job;
    struct printer_raster *ras = NULL;
    bool drawn = false;
    char date[32], valid[64];
    int r;

    if (!ret)
        return PRINTER_ERROR_INVALID;
    r = face_check(face);
    if (r < 0)
        return r;
    r = face_use_layout(face->layout, &lay, &owned);
    if (r < 0)
        return r;
    /* the static layer pays off from the second card of a layout; a layout read for one card, or one whose
     * static layer cannot be drawn, is drawn the straightforward way (which reports any error) */
    if (way != RENDER_REFERENCE && !owned && face_cache_get(lay, &cache) < 0)
        cache = NULL;
    if (way == RENDER_CACHED && !cache) {
        printer_layout_free(owned);
        return 1;
    }

    /* a temporary card that the layout cannot mark as one is not printed at all */
    if (face->valid_until && !printer_layout_slot(lay, FACE_FIELD_VALID_UNTIL)) {
        printer_layout_free(owned);
        return PRINTER_ERROR_LAYOUT;
    }
    face_card_texts(lay, face, date, valid, texts);
    r = face_job_init(&job, lay);
    if (r == 0)
        r = face_place_texts(&job, texts, cache ? cache->cached : NULL, cache, bad_char);
    if (r == 0) {
        ras = raster_new(PRINTER_FACE_WIDTH, PRINTER_FACE_HEIGHT);
        if (!ras)
            r = PRINTER_ERROR_NOMEM;
    }
    if (r == 0 && cache) {
        r = face_draw_from_cache(&job, cache, face, texts, ras);
        drawn = r == 0;
        if (r == 1 && way == RENDER_ANY) {
            /* this card needs every text laid out for the straightforward way */
            face_job_done(&job);
            r = face_job_init(&job, lay);
            if (r == 0)
                r = face_place_texts(&job, texts, NULL, NULL, bad_char);
        }
    }
    if (r == 0 && !drawn)
        r = face_draw_composite(&job, face, ras);
    if (r == 0 && !drawn)
        r = face_draw_kmask(&job, ras);
    face_job_done(&job);
    if (r == 0) {
        /* the overlay keeps off the contacts: whole pixels covering the keep-out rectangle */
        ras->chip_x = (unsigned)lay->chip.x;
        ras->chip_y = (unsigned)lay->chip.y;
        ras->chip_w = (unsigned)(lay->chip.x + lay->chip.w + 0.999) - ras->chip_x;
        ras->chip_h = (unsigned)(lay->chip.y + lay->chip.h + 0.999) - ras->chip_y;
    }
    printer_layout_free(owned);
    if (r != 0) {
        printer_raster_free(ras);
        return r;
    }
    *ret = ras;
    return 0;
}

int printer_render_face(const struct printer_face *face, struct printer_raster **ret, char bad_char[8])
{
    return render_face(face, ret, bad_char, RENDER_ANY);
}

int printer_render_face_reference(const struct printer_face *face, struct printer_raster **ret,
                                  char bad_char[8])
{
    return render_face(face, ret, bad_char, RENDER_REFERENCE);
}

int printer_render_face_cached(const struct printer_face *face, struct printer_raster **ret, char bad_char[8])
{
    return render_face(face, ret, bad_char, RENDER_CACHED);
}

int printer_raster_write_png(const struct printer_raster *r, const char *path)
{
    cairo_surface_t *surface;
    uint8_t *data;
    int stride, err;

    if (!r || !path || !r->rgb || r->width == 0 || r->height == 0 || r->width > FACE_PNG_MAX_SIDE ||
        r->height > FACE_PNG_MAX_SIDE)
        return PRINTER_ERROR_INVALID;
    surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)r->width, (int)r->height);
    err = face_cairo_error(cairo_surface_status(surface));
    if (err < 0) {
        cairo_surface_destroy(surface);
        return err;
    }
    data = cairo_image_surface_get_data(surface);
    stride = cairo_image_surface_get_stride(surface);
    for (unsigned y = 0; y < r->height; y++) {
        const uint8_t *src = r->rgb + (size_t)y * r->width * 3;
        uint32_t *dst = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);

        for (unsigned x = 0; x < r->width; x++, src += 3)
            dst[x] = 0xff000000u | (uint32_t)src[0] << 16 | (uint32_t)src[1] << 8 | src[2];
    }
    cairo_surface_mark_dirty(surface);
    err = face_cairo_error(cairo_surface_write_to_png(surface, path));
    cairo_surface_destroy(surface);
    return err;
}

int printer_face_area(const struct printer_layout *layout, enum printer_face_area area,
                      struct printer_face_rect *ret)
{
    const struct face_slot *slot = NULL;

    if (!layout || !ret)
        return PRINTER_ERROR_INVALID;
    switch (area) {
    case PRINTER_FACE_AREA_CHIP:
        *ret = layout->chip;
        return 0;
    case PRINTER_FACE_AREA_PHOTO:
        *ret = layout->photo;
        return 0;
    case PRINTER_FACE_AREA_NAME:
        slot = printer_layout_slot(layout, FACE_FIELD_NAME);
        break;
    case PRINTER_FACE_AREA_SSN:
        slot = printer_layout_slot(layout, FACE_FIELD_SSN);
        break;
    case PRINTER_FACE_AREA_CARD_NUMBER:
        slot = printer_layout_slot(layout, FACE_FIELD_CARD_NUMBER);
        break;
    case PRINTER_FACE_AREA_ISSUE_DATE:
        slot = printer_layout_slot(layout, FACE_FIELD_ISSUE_DATE);
        break;
    case PRINTER_FACE_AREA_BANK:
        slot = printer_layout_slot(layout, FACE_FIELD_BANK);
        break;
    }
    if (!slot)
        return PRINTER_ERROR_INVALID;
    *ret = slot->box;
    return 0;
}
