/* face.c — draws the front of a social security card: an RGB composite plus the K (resin black) mask
 *
 * Two ways give the same bytes. The straightforward way draws every layer of the card in order on full-size
 * surfaces (draw_composite(), draw_kmask()). The way a production line takes (render_face() with a loaded
 * layout) draws what every card of the layout shows once, into the layout's cache (the static layer), and per
 * card only what is the card's own, in the same order, where it goes: the photo in its window, resampled by a
 * replica of cairo's filter that is checked against cairo before it is used, and the card's texts, pasted
 * when they were drawn before (a bank, the date). Whatever could make the two ways differ (a text that would
 * go under a cached one, ink outside its box) makes that card take the straightforward way. */
#include "face-private.h"
#include "simd-private.h"
#include "printer.h"

#include <float.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <pango/pangocairo.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Input limits: everything the applicant controls is bounded before it reaches Pango. */
#define FACE_NAME_MAX_BYTES  256 /* the longest transliterated names are about 40 characters */
#define FACE_BANK_MAX_BYTES  128
#define FACE_PHOTO_MAX_SIDE  4096
#define FACE_SSN_LEN         18
#define FACE_CARD_NUMBER_LEN 9
#define FACE_YEAR_MIN        1000 /* keeps the date four digits wide */
#define FACE_YEAR_MAX        9999
#define FACE_KMASK_THRESHOLD 128   /* A8 coverage from which a pixel goes to the resin panel */
#define FACE_PNG_MAX_SIDE    32767 /* cairo's image surface limit */

/* One laid-out text, drawn twice: on the composite and, when resin, on the K mask. */
struct face_text {
    PangoLayout *layout;
    double x; /* where the layout's origin goes on the face */
    double y;
    double hscale; /* horizontal condensing, 1 = none */
    double vscale; /* vertical squeeze of text too tall for its box, 1 = none */
    struct printer_face_rect ink;
    const struct face_slot *slot;
};

/* Per-call state: a fresh Pango context so that concurrent calls share nothing but Pango's per-thread
 * font map. */
struct face_job {
    const struct printer_layout *lay;
    PangoContext *pango;
    struct face_text texts[FACE_TEXTS_MAX];
    size_t n_texts;
    /* per slot: the text as drawn on an earlier card with this layout, not laid out again (face.c's cache) */
    const struct face_sprite *sprites[FACE_TEXTS_MAX];
};

struct face_cache;
static const struct face_sprite *sprite_find(struct face_cache *c, const struct printer_layout *lay,
                                             size_t slot, const char *text);

static double dmin(double a, double b)
{
    return a < b ? a : b;
}

static double dmax(double a, double b)
{
    return a > b ? a : b;
}

static int job_init(struct face_job *job, const struct printer_layout *lay)
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

static void job_done(struct face_job *job)
{
    for (size_t i = 0; i < job->n_texts; i++)
        g_object_unref(job->texts[i].layout);
    job->n_texts = 0;
    if (job->pango)
        g_object_unref(job->pango);
    job->pango = NULL;
}

static PangoFontDescription *slot_font(const struct face_slot *s, double size)
{
    PangoFontDescription *desc = pango_font_description_new();

    pango_font_description_set_family(desc, s->family);
    pango_font_description_set_weight(desc, (PangoWeight)s->weight);
    pango_font_description_set_absolute_size(desc, size * PANGO_SCALE);
    return desc;
}

static void layout_set_size(PangoLayout *layout, const struct face_slot *s, double size)
{
    PangoFontDescription *desc = slot_font(s, size);

    pango_layout_set_font_description(layout, desc);
    pango_font_description_free(desc);
}

static double layout_width(PangoLayout *layout)
{
    PangoRectangle logical;

    pango_layout_get_extents(layout, NULL, &logical);
    return (double)logical.width / PANGO_SCALE;
}

/* Finds the first character of text that has no glyph in any font, testing each on its own because
 * the layout only counts unknown glyphs. Leaves bad_char empty if no single character is to blame. */
static void find_bad_char(PangoContext *pango, const struct face_slot *s, const char *text, char bad_char[8])
{
    PangoLayout *layout = pango_layout_new(pango);

    bad_char[0] = '\0';
    layout_set_size(layout, s, s->size);
    for (const char *c = text; *c; c = g_utf8_next_char(c)) {
        size_t len = (size_t)(g_utf8_next_char(c) - c);

        pango_layout_set_text(layout, c, (int)len);
        if (pango_layout_get_unknown_glyphs_count(layout) > 0) {
            memcpy(bad_char, c, len);
            bad_char[len] = '\0';
            break;
        }
    }
    g_object_unref(layout);
}

static bool is_name_separator(gunichar c)
{
    /* space, middle dots used between the parts of transliterated names, hyphens */
    return c == ' ' || c == 0x00B7 || c == 0x2022 || c == 0x2027 || c == 0x30FB || c == 0xFF0E || c == '-' ||
           c == 0x2010;
}

/* Breaks text into two lines of about equal width: after the separator nearest the middle, otherwise
 * at the character nearest the middle. Returns 0, 1 when there is nothing to break, or NOMEM. */
static int wrap_two_lines(PangoLayout *layout, const char *text)
{
    size_t len = strlen(text);
    double half = layout_width(layout) / 2;
    double best = -1;
    size_t end1 = 0, start2 = 0;
    char *wrapped;

    for (const char *c = text; *c; c = g_utf8_next_char(c)) {
        PangoRectangle pos;
        double distance;

        if (!is_name_separator(g_utf8_get_char(c)))
            continue;
        pango_layout_index_to_pos(layout, (int)(c - text), &pos);
        distance = (double)pos.x / PANGO_SCALE - half;
        if (distance < 0)
            distance = -distance;
        if (best < 0 || distance < best) {
            best = distance;
            /* a space goes away at the break; a dot or hyphen stays at the end of the first line */
            end1 = (size_t)(*c == ' ' ? c - text : g_utf8_next_char(c) - text);
            start2 = (size_t)(g_utf8_next_char(c) - text);
        }
    }
    if (best < 0 || end1 == 0 || start2 >= len) {
        int index, trailing;
        const char *at;

        pango_layout_xy_to_index(layout, (int)(half * PANGO_SCALE), 0, &index, &trailing);
        at = g_utf8_offset_to_pointer(text + index, trailing);
        end1 = start2 = (size_t)(at - text);
    }
    if (end1 == 0 || start2 >= len)
        return 1;

    wrapped = malloc(len + 2);
    if (!wrapped)
        return PRINTER_ERROR_NOMEM;
    memcpy(wrapped, text, end1);
    wrapped[end1] = '\n';
    memcpy(wrapped + end1 + 1, text + start2, len - start2);
    wrapped[end1 + 1 + len - start2] = '\0';
    pango_layout_set_text(layout, wrapped, -1);
    free(wrapped);
    return 0;
}

/* Spreads the characters of a one-line layout over the slot's width (title lettering). */
static void justify(PangoLayout *layout, const char *text, double box_width)
{
    glong n = g_utf8_strlen(text, -1);
    double extra = box_width - layout_width(layout);
    PangoAttrList *attrs;

    if (n < 2 || extra <= 0)
        return;
    attrs = pango_attr_list_new();
    pango_attr_list_insert(attrs,
                           pango_attr_letter_spacing_new((int)(extra / (double)(n - 1) * PANGO_SCALE)));
    pango_layout_set_attributes(layout, attrs);
    pango_attr_list_unref(attrs);
    /* Pango also puts spacing after the last character; take it back if it now overflows. */
    if (layout_width(layout) > box_width) {
        attrs = pango_attr_list_new();
        pango_attr_list_insert(attrs, pango_attr_letter_spacing_new((int)(extra / (double)n * PANGO_SCALE)));
        pango_layout_set_attributes(layout, attrs);
        pango_attr_list_unref(attrs);
    }
}

static double ink_height(PangoLayout *layout)
{
    PangoRectangle ink;

    pango_layout_get_extents(layout, &ink, NULL);
    return (double)ink.height / PANGO_SCALE;
}

/* Puts a laid-out text into its slot so that its ink stays inside the box: one line sits on the
 * baseline (moved only if some mark would leave the box), two lines are centred; text still too tall
 * is squeezed vertically. Horizontal fitting is done already (hscale). */
static void position_text(struct face_text *t, const struct face_slot *s, bool two_lines)
{
    PangoRectangle ink, logical;
    double ink_x, ink_y, ink_w, ink_h, top;

    pango_layout_get_extents(t->layout, &ink, &logical);
    ink_x = (double)ink.x / PANGO_SCALE;
    ink_y = (double)ink.y / PANGO_SCALE;
    ink_w = (double)ink.width / PANGO_SCALE;
    ink_h = (double)ink.height / PANGO_SCALE;

    if (s->align_right)
        t->x = s->box.x + s->box.w - (double)(logical.x + logical.width) / PANGO_SCALE * t->hscale;
    else
        t->x = s->box.x - (double)logical.x / PANGO_SCALE * t->hscale;

    t->vscale = ink_h > s->box.h ? s->box.h / ink_h : 1;
    if (two_lines || t->vscale < 1) {
        t->y = s->box.y + (s->box.h - ink_h * t->vscale) / 2 - ink_y * t->vscale;
    } else {
        t->y = s->baseline - (double)pango_layout_get_baseline(t->layout) / PANGO_SCALE;
        top = t->y + ink_y;
        if (top < s->box.y)
            t->y += s->box.y - top;
        else if (top + ink_h > s->box.y + s->box.h)
            t->y -= top + ink_h - (s->box.y + s->box.h);
    }
    t->ink = (struct printer_face_rect){
        .x = t->x + ink_x * t->hscale,
        .y = t->y + ink_y * t->vscale,
        .w = ink_w * t->hscale,
        .h = ink_h * t->vscale,
    };
}

/* Lays text out in its slot: shrinks the font stepwise, then condenses, then (may_wrap) goes to two
 * lines, and condenses as much as needed so that nothing is ever clipped. */
static int place_text(struct face_job *job, const struct face_slot *s, const char *text, bool may_wrap,
                      char *bad_char)
{
    const struct printer_layout *lay = job->lay;
    struct face_text *t;
    PangoLayout *layout;
    double size = s->size, width, hscale = 1;
    bool two_lines = false;

    if (job->n_texts == FACE_TEXTS_MAX)
        return PRINTER_ERROR_INVALID;
    layout = pango_layout_new(job->pango);
    pango_layout_set_text(layout, text, -1);
    layout_set_size(layout, s, size);
    if (pango_layout_get_unknown_glyphs_count(layout) > 0) {
        if (bad_char)
            find_bad_char(job->pango, s, text, bad_char);
        g_object_unref(layout);
        return PRINTER_ERROR_FONT;
    }

    width = layout_width(layout);
    while (width > s->box.w && size > s->min_size) {
        size = dmax(size - lay->shrink_step, s->min_size);
        layout_set_size(layout, s, size);
        width = layout_width(layout);
    }
    if (width > s->box.w) {
        hscale = s->box.w / width;
        if (hscale < s->min_hscale && may_wrap) {
            int r = wrap_two_lines(layout, text);

            if (r < 0) {
                g_object_unref(layout);
                return r;
            }
            if (r == 0) {
                two_lines = true;
                size = lay->name_wrap_size;
                pango_layout_set_line_spacing(layout, (float)lay->name_wrap_line_spacing);
                layout_set_size(layout, s, size);
                while (ink_height(layout) > s->box.h && size > lay->name_wrap_min_size) {
                    size = dmax(size - lay->shrink_step, lay->name_wrap_min_size);
                    layout_set_size(layout, s, size);
                }
                width = layout_width(layout);
                hscale = width > s->box.w ? s->box.w / width : 1;
            }
        }
    } else if (s->justify) {
        justify(layout, text, s->box.w);
    }

    t = &job->texts[job->n_texts++];
    t->layout = layout;
    t->slot = s;
    t->hscale = hscale;
    position_text(t, s, two_lines);
    return 0;
}

static bool valid_text(const char *s, size_t max_bytes)
{
    size_t len = strnlen(s, max_bytes + 1);

    if (len == 0 || len > max_bytes || !g_utf8_validate(s, (gssize)len, NULL))
        return false;
    /* control characters and line or paragraph separators would break the one-line layout */
    for (const char *c = s; *c; c = g_utf8_next_char(c)) {
        gunichar u = g_utf8_get_char(c);
        GUnicodeType type = g_unichar_type(u);

        if (type == G_UNICODE_CONTROL || type == G_UNICODE_LINE_SEPARATOR ||
            type == G_UNICODE_PARAGRAPH_SEPARATOR)
            return false;
    }
    return true;
}

static bool valid_code(const char *s, size_t len)
{
    if (strnlen(s, len + 1) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!g_ascii_isalnum(s[i]))
            return false;
    return true;
}

static int check_face(const struct printer_face *f)
{
    if (!f || !f->name || !f->ssn || !f->card_number)
        return PRINTER_ERROR_INVALID;
    if (!valid_text(f->name, FACE_NAME_MAX_BYTES))
        return PRINTER_ERROR_INVALID;
    if (!valid_code(f->ssn, FACE_SSN_LEN) || !valid_code(f->card_number, FACE_CARD_NUMBER_LEN))
        return PRINTER_ERROR_INVALID;
    if (f->issue_year < FACE_YEAR_MIN || f->issue_year > FACE_YEAR_MAX || f->issue_month < 1 ||
        f->issue_month > 12)
        return PRINTER_ERROR_INVALID;
    if (f->bank_name && f->bank_name[0] && !valid_text(f->bank_name, FACE_BANK_MAX_BYTES))
        return PRINTER_ERROR_INVALID;
    if (f->photo_rgb && (f->photo_width == 0 || f->photo_height == 0 ||
                         f->photo_width > FACE_PHOTO_MAX_SIDE || f->photo_height > FACE_PHOTO_MAX_SIDE))
        return PRINTER_ERROR_INVALID;
    return 0;
}

/* The text each slot of the layout shows on this card (NULL or empty: nothing); date: room for the date. */
static void card_texts(const struct printer_layout *lay, const struct printer_face *f, char date[32],
                       const char *texts[FACE_TEXTS_MAX])
{
    snprintf(date, 32, "%04d年%02d月", f->issue_year, f->issue_month);
    for (size_t i = 0; i < lay->n_texts; i++) {
        switch (lay->texts[i].field) {
        case FACE_FIELD_LITERAL:
            texts[i] = lay->texts[i].text;
            break;
        case FACE_FIELD_NAME:
            texts[i] = f->name;
            break;
        case FACE_FIELD_SSN:
            texts[i] = f->ssn;
            break;
        case FACE_FIELD_CARD_NUMBER:
            texts[i] = f->card_number;
            break;
        case FACE_FIELD_ISSUE_DATE:
            texts[i] = date;
            break;
        case FACE_FIELD_BANK:
            texts[i] = f->bank_name;
            break;
        }
    }
}

/* Lays out the texts of the card in layout order, leaving out the slots marked in skip (NULL: none) and
 * those that cache (NULL: none) has drawn before. */
static int place_texts(struct face_job *job, const char *const texts[FACE_TEXTS_MAX], const bool *skip,
                       struct face_cache *cache, char *bad_char)
{
    for (size_t i = 0; i < job->lay->n_texts; i++) {
        const struct face_slot *slot = &job->lay->texts[i];
        int r;

        if ((skip && skip[i]) || !texts[i] || !texts[i][0])
            continue;
        job->sprites[i] = cache ? sprite_find(cache, job->lay, i, texts[i]) : NULL;
        if (job->sprites[i])
            continue;
        r = place_text(job, slot, texts[i], slot->two_lines, bad_char);
        if (r < 0)
            return r;
    }
    return 0;
}

static double channel(uint32_t rgb, int shift)
{
    return (double)((rgb >> shift) & 0xff) / 255.0;
}

static void set_colour(cairo_t *cr, uint32_t rgb)
{
    cairo_set_source_rgb(cr, channel(rgb, 16), channel(rgb, 8), channel(rgb, 0));
}

static void add_stop(cairo_pattern_t *p, double offset, uint32_t rgb)
{
    cairo_pattern_add_color_stop_rgb(p, offset, channel(rgb, 16), channel(rgb, 8), channel(rgb, 0));
}

static void draw_background(cairo_t *cr, const struct printer_layout *lay)
{
    cairo_pattern_t *p;

    p = cairo_pattern_create_linear(0, 0, 0, PRINTER_FACE_HEIGHT);
    add_stop(p, 0, lay->body_top);
    add_stop(p, 1, lay->body_bottom);
    cairo_set_source(cr, p);
    cairo_paint(cr);
    cairo_pattern_destroy(p);

    /* Each half period is one cubic whose control points sit at 4/3 of the amplitude, which peaks at
     * exactly the amplitude: a sine look-alike without libm. */
    for (int i = 0; i < lay->wave_count; i++) {
        double y0 = lay->wave_y + lay->wave_pitch * i, half = lay->wave_period / 2.0,
               lift = lay->wave_amplitude * 4 / 3;
        double x = -(double)((i * lay->wave_shift) % lay->wave_period);

        cairo_move_to(cr, x, y0);
        for (int up = 1; x < PRINTER_FACE_WIDTH; x += half, up = !up)
            cairo_curve_to(cr, x + half / 3, up ? y0 - lift : y0 + lift, x + 2 * half / 3,
                           up ? y0 - lift : y0 + lift, x + half, y0);
    }
    set_colour(cr, lay->wave);
    cairo_set_line_width(cr, lay->wave_width);
    cairo_stroke(cr);

    p = cairo_pattern_create_linear(0, 0, PRINTER_FACE_WIDTH, 0);
    add_stop(p, 0, lay->band_left);
    add_stop(p, 1, lay->band_right);
    cairo_rectangle(cr, 0, 0, PRINTER_FACE_WIDTH, lay->band_height);
    cairo_set_source(cr, p);
    cairo_fill(cr);
    cairo_pattern_destroy(p);

    cairo_rectangle(cr, 0, lay->rule_y, PRINTER_FACE_WIDTH, lay->rule_height);
    set_colour(cr, lay->rule);
    cairo_fill(cr);
}

static void rounded_rect(cairo_t *cr, struct printer_face_rect r, double radius)
{
    cairo_new_sub_path(cr);
    cairo_arc(cr, r.x + r.w - radius, r.y + radius, radius, -G_PI / 2, 0);
    cairo_arc(cr, r.x + r.w - radius, r.y + r.h - radius, radius, 0, G_PI / 2);
    cairo_arc(cr, r.x + radius, r.y + r.h - radius, radius, G_PI / 2, G_PI);
    cairo_arc(cr, r.x + radius, r.y + radius, radius, G_PI, 3 * G_PI / 2);
    cairo_close_path(cr);
}

static void draw_chip_keepout(cairo_t *cr, const struct printer_layout *lay)
{
    /* grow the rounded shape just enough that its corner arcs still cover the corners of the rectangle */
    double grow = lay->chip_radius * (1 - G_SQRT2 / 2);
    struct printer_face_rect r = {lay->chip.x - grow, lay->chip.y - grow, lay->chip.w + 2 * grow,
                                  lay->chip.h + 2 * grow};

    rounded_rect(cr, r, lay->chip_radius);
    set_colour(cr, lay->paper);
    cairo_fill(cr);
}

/* The frame around the photo window: drawn outside the window, the same on every card. */
static void draw_photo_frame(cairo_t *cr, const struct printer_layout *lay)
{
    const struct printer_face_rect w = lay->photo;

    cairo_rectangle(cr, w.x - lay->photo_frame_width / 2, w.y - lay->photo_frame_width / 2,
                    w.w + lay->photo_frame_width, w.h + lay->photo_frame_width);
    set_colour(cr, lay->photo_frame);
    cairo_set_line_width(cr, lay->photo_frame_width);
    cairo_stroke(cr);
}

/* The window itself: the mat behind a photo, or the placeholder when there is none. */
static void draw_photo_mat(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay)
{
    const struct printer_face_rect w = lay->photo;

    cairo_rectangle(cr, w.x, w.y, w.w, w.h);
    set_colour(cr, f->photo_rgb ? lay->photo_mat : lay->photo_placeholder);
    cairo_fill(cr);
}

/* How the photo sits in the window: fit inside, aspect preserved, centred, so that the applicant's face
 * is never cropped. The one place this arithmetic lives: both ways of drawing the photo use it. */
static double photo_scale(const struct printer_face *f, const struct printer_layout *lay)
{
    return dmin(lay->photo.w / f->photo_width, lay->photo.h / f->photo_height);
}

static void photo_origin(const struct printer_face *f, const struct printer_layout *lay, double scale,
                         double *ret_x, double *ret_y)
{
    const struct printer_face_rect w = lay->photo;

    *ret_x = w.x + (w.w - f->photo_width * scale) / 2;
    *ret_y = w.y + (w.h - f->photo_height * scale) / 2;
}

/* The clip and the path of the photo fill, under the photo's transformation. */
static void photo_path(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay)
{
    const struct printer_face_rect w = lay->photo;
    double scale = photo_scale(f, lay), x, y;

    photo_origin(f, lay, scale, &x, &y);
    cairo_rectangle(cr, w.x, w.y, w.w, w.h);
    cairo_clip(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, scale, scale);
    cairo_rectangle(cr, 0, 0, f->photo_width, f->photo_height);
}

/* The photo scaled by cairo's GOOD filter (pixman's separable box convolution). */
static int draw_photo_image(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay)
{
    cairo_surface_t *photo;
    uint8_t *data;
    int stride;

    photo = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)f->photo_width, (int)f->photo_height);
    if (cairo_surface_status(photo) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(photo);
        return PRINTER_ERROR_NOMEM;
    }
    data = cairo_image_surface_get_data(photo);
    stride = cairo_image_surface_get_stride(photo);
    for (unsigned y = 0; y < f->photo_height; y++) {
        const uint8_t *src = f->photo_rgb + (size_t)y * f->photo_width * 3;
        uint32_t *dst = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);

        for (unsigned x = 0; x < f->photo_width; x++, src += 3)
            dst[x] = 0xff000000u | (uint32_t)src[0] << 16 | (uint32_t)src[1] << 8 | src[2];
    }
    cairo_surface_mark_dirty(photo);

    cairo_save(cr);
    photo_path(cr, f, lay);
    cairo_set_source_surface(cr, photo, 0, 0);
    /* PAD keeps the edge pixels from blending with transparency when filtering */
    cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(photo);
    return 0;
}

static int draw_photo(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay)
{
    draw_photo_frame(cr, lay);
    draw_photo_mat(cr, f, lay);
    return f->photo_rgb ? draw_photo_image(cr, f, lay) : 0;
}

static void draw_text(cairo_t *cr, const struct face_text *t, bool mask)
{
    cairo_save(cr);
    cairo_translate(cr, t->x, t->y);
    cairo_scale(cr, t->hscale, t->vscale);
    if (mask)
        cairo_set_source_rgba(cr, 0, 0, 0, 1);
    else
        set_colour(cr, t->slot->colour);
    cairo_move_to(cr, 0, 0);
    pango_cairo_show_layout(cr, t->layout);
    cairo_restore(cr);
}

static int cairo_error(cairo_status_t status)
{
    if (status == CAIRO_STATUS_SUCCESS)
        return 0;
    return status == CAIRO_STATUS_NO_MEMORY ? PRINTER_ERROR_NOMEM : PRINTER_ERROR_IO;
}

/* cairo's RGB24 (one native uint32 0x00RRGGBB per pixel) to packed RGB bytes, n pixels of a row. */
static void xrgb_to_rgb(const uint8_t *src, uint8_t *dst, size_t n)
{
    for (size_t x = 0; x < n; x++, src += 4, dst += 3) {
        uint32_t v;

        memcpy(&v, src, sizeof(v));
        dst[0] = (uint8_t)(v >> 16);
        dst[1] = (uint8_t)(v >> 8);
        dst[2] = (uint8_t)v;
    }
}

/* --- the straightforward way: every layer of every card drawn in order on full-size surfaces --- */

static int draw_composite(const struct face_job *job, const struct printer_face *f,
                          struct printer_raster *ras)
{
    cairo_surface_t *surface;
    cairo_t *cr;
    int r;

    surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PRINTER_FACE_WIDTH, PRINTER_FACE_HEIGHT);
    cr = cairo_create(surface);
    r = cairo_error(cairo_status(cr));
    if (r == 0) {
        draw_background(cr, job->lay);
        draw_chip_keepout(cr, job->lay);
        r = draw_photo(cr, f, job->lay);
    }
    if (r == 0) {
        for (size_t i = 0; i < job->n_texts; i++)
            draw_text(cr, &job->texts[i], false);
        r = cairo_error(cairo_status(cr));
    }
    if (r == 0) {
        const uint8_t *data;
        int stride;

        cairo_surface_flush(surface);
        data = cairo_image_surface_get_data(surface);
        stride = cairo_image_surface_get_stride(surface);
        for (unsigned y = 0; y < ras->height; y++)
            xrgb_to_rgb(data + (size_t)y * (size_t)stride, ras->rgb + (size_t)y * ras->width * 3, ras->width);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    return r;
}

static int draw_kmask(const struct face_job *job, struct printer_raster *ras)
{
    cairo_surface_t *surface;
    cairo_t *cr;
    int r;

    surface = cairo_image_surface_create(CAIRO_FORMAT_A8, PRINTER_FACE_WIDTH, PRINTER_FACE_HEIGHT);
    cr = cairo_create(surface);
    r = cairo_error(cairo_status(cr));
    if (r == 0) {
        for (size_t i = 0; i < job->n_texts; i++)
            if (job->texts[i].slot->resin)
                draw_text(cr, &job->texts[i], true);
        r = cairo_error(cairo_status(cr));
    }
    if (r == 0) {
        const uint8_t *data;
        int stride;

        cairo_surface_flush(surface);
        data = cairo_image_surface_get_data(surface);
        stride = cairo_image_surface_get_stride(surface);
        for (unsigned y = 0; y < ras->height; y++) {
            const uint8_t *src = data + (size_t)y * (size_t)stride;
            uint8_t *dst = ras->kmask + (size_t)y * ras->width;

            for (unsigned x = 0; x < ras->width; x++)
                dst[x] = src[x] >= FACE_KMASK_THRESHOLD;
        }
    }
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    return r;
}

/* --- the photo resampled without pixman's per-pixel general fetcher ---
 *
 * cairo draws the photo (GOOD filter, downscaled by more than 4/3) through pixman's separable convolution
 * with a box kernel: per output pixel a few by a few source pixels, each weighted by the product of a
 * column and a row weight rounded to 16.16 fixed point. Computed here with the same integer arithmetic,
 * the same filter table and the same sample positions (cairo's pattern matrix turned into pixman's
 * transformation the way cairo 1.16 does it), the result is those very pixels, and cairo composites them
 * as it would have: same path, same clip, same operator, only the source is already resampled. Whether
 * the replica is exact on the cairo and pixman at hand is not assumed: photo_geometry_new() compares it
 * once per photo size with cairo's own drawing of a photo of noise, and otherwise cairo draws the photo. */

#define PHOTO_FIXED_ONE       65536 /* pixman_fixed_1 */
#define PHOTO_MAX_TAPS        17    /* box_width(16), cairo's widest GOOD kernel */
#define PHOTO_FAST_MAX_SIDE   1024  /* larger photos are rare: cairo scales them */
#define PHOTO_FAST_WEIGHT_MAX 65535 /* a product weight this large would not fit the sums below */

struct photo_plan {
    int x0, y0, width, height; /* device pixels the fill composites (cairo's bounded extents) */
    int off_x, off_y;          /* source offset cairo passes to pixman with them */
    int32_t m[3][3];           /* pixman's transformation, 16.16 */
    int taps_x, taps_y;        /* kernel size */
    int phase_bits_x, phase_bits_y;
    int32_t weights_x[PHOTO_MAX_TAPS << 7]; /* one row of taps_x weights per phase */
    int32_t weights_y[PHOTO_MAX_TAPS << 7];
};

/* cairo's _cairo_fixed_16_16_from_double and _cairo_fixed_from_double (24.8): round to nearest even via
 * the magic-number addition. */
static int32_t fixed_16_16(double d)
{
    union {
        double d;
        int32_t i[2];
    } u;

    u.d = d + 103079215104.0; /* 1.5 * 2^36 */
    return u.i[__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 1 : 0];
}

static int32_t fixed_24_8(double d)
{
    union {
        double d;
        int32_t i[2];
    } u;

    u.d = d + 26388279066624.0; /* 1.5 * 2^44 */
    return u.i[__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 1 : 0];
}

/* floor and ceil without libm, exact for the small magnitudes used here */
static double dfloor(double v)
{
    double t = (double)(long long)v;

    return t > v ? t - 1 : t;
}

static double dceil(double v)
{
    double t = (double)(long long)v;

    return t < v ? t + 1 : t;
}

static double dabs(double v)
{
    return v < 0 ? -v : v;
}

/* pixman_transform_point_3d: v (16.16) by m, products rounded as pixman rounds them */
static void photo_transform(const int32_t m[3][3], int64_t v[3])
{
    int64_t hi[3], lo[3];

    for (int i = 0; i < 3; i++) {
        hi[i] = (int64_t)m[i][0] * (v[0] >> 16) + (int64_t)m[i][1] * (v[1] >> 16) +
                (int64_t)m[i][2] * (v[2] >> 16);
        lo[i] = (int64_t)m[i][0] * (v[0] & 0xffff) + (int64_t)m[i][1] * (v[1] & 0xffff) +
                (int64_t)m[i][2] * (v[2] & 0xffff);
    }
    for (int i = 0; i < 3; i++)
        v[i] = (int32_t)(hi[i] + ((lo[i] + 0x8000) >> 16));
}

/* _cairo_matrix_to_pixman_matrix: fixed-point entries, translation nudged until pixman and cairo agree at
 * the centre (xc, yc) of the composite. Only called for matrices that scale. */
static void photo_pixman_matrix(const cairo_matrix_t *mat, double xc, double yc, int32_t m[3][3])
{
    cairo_matrix_t inv = *mat;

    m[0][0] = fixed_16_16(mat->xx);
    m[0][1] = fixed_16_16(mat->xy);
    m[0][2] = fixed_16_16(mat->x0);
    m[1][0] = fixed_16_16(mat->yx);
    m[1][1] = fixed_16_16(mat->yy);
    m[1][2] = fixed_16_16(mat->y0);
    m[2][0] = 0;
    m[2][1] = 0;
    m[2][2] = PHOTO_FIXED_ONE;
    if (cairo_matrix_invert(&inv) != CAIRO_STATUS_SUCCESS)
        return;
    for (int iteration = 0; iteration < 5; iteration++) {
        int64_t v[3] = {fixed_16_16(xc), fixed_16_16(yc), PHOTO_FIXED_ONE};
        double x, y;
        int32_t dx, dy;

        photo_transform((const int32_t(*)[3])m, v);
        x = (double)v[0] / PHOTO_FIXED_ONE;
        y = (double)v[1] / PHOTO_FIXED_ONE;
        cairo_matrix_transform_point(&inv, &x, &y);
        x -= xc;
        y -= yc;
        cairo_matrix_transform_distance(mat, &x, &y);
        dx = fixed_16_16(x);
        dy = fixed_16_16(y);
        m[0][2] -= dx;
        m[1][2] -= dy;
        if (dx == 0 && dy == 0)
            return;
    }
}

/* _cairo_matrix_to_pixman_matrix_offset for a matrix that is no integer translation: an integer offset
 * moved out of the translation so that pixman's 16-bit integer parts suffice. */
static void photo_pixman_offset(const cairo_matrix_t *pattern, double xc, double yc, int32_t m[3][3],
                                int *ret_x, int *ret_y)
{
    cairo_matrix_t mat = *pattern;

    if (mat.x0 != 0.0 || mat.y0 != 0.0) {
        double tx = mat.x0, ty = mat.y0, norm = dmax(dabs(tx), dabs(ty));

        for (int i = -1; i < 2; i += 2)
            for (int j = -1; j < 2; j += 2) {
                double x, y, den = (mat.xx + i) * (mat.yy + j) - mat.xy * mat.yx, nn;

                if (dabs(den) < DBL_EPSILON)
                    continue;
                x = mat.y0 * mat.xy - mat.x0 * (mat.yy + j);
                y = mat.x0 * mat.yx - mat.y0 * (mat.xx + i);
                den = 1 / den;
                x *= den;
                y *= den;
                nn = dmax(dabs(x), dabs(y));
                if (norm > nn) {
                    norm = nn;
                    tx = x;
                    ty = y;
                }
            }
        tx = dfloor(tx);
        ty = dfloor(ty);
        *ret_x = (int)-tx;
        *ret_y = (int)-ty;
        cairo_matrix_translate(&mat, tx, ty);
    } else {
        *ret_x = 0;
        *ret_y = 0;
    }
    photo_pixman_matrix(&mat, xc, yc, m);
}

/* cairo's box kernel and its filter table (create_separable_convolution, get_filter) */
static double box_kernel(double x, double r)
{
    return dmax(0.0, dmin(dmin(r, 1.0), dmin((r + 1) / 2 - x, (r + 1) / 2 + x)));
}

static int box_width(double r)
{
    return r < 1.0 ? 2 : (int)dceil(r + 1);
}

static int phase_bits(double r, int width)
{
    int bits = 0;

    if (width > 1)
        while (r * (1 << bits) <= 128.0)
            bits++;
    return bits;
}

static void box_filter(double r, int width, int bits, int32_t *p)
{
    int phases = 1 << bits;
    double step = 1.0 / phases;

    if (width <= 1) {
        for (int i = 0; i < phases; i++)
            p[i] = PHOTO_FIXED_ONE;
        return;
    }
    for (int i = 0; i < phases; i++, p += width) {
        double frac = (i + .5) * step, x1 = dceil(frac - width / 2.0 - 0.5) - frac + 0.5, total = 0;
        int32_t new_total = 0;

        for (int j = 0; j < width; j++) {
            double v = box_kernel(x1 + j, r);

            total += v;
            p[j] = (int32_t)(v * 65536.0);
        }
        total = 1 / total;
        for (int j = 0; j < width; j++)
            new_total += (p[j] = (int32_t)(p[j] * total));
        p[width / 2] += PHOTO_FIXED_ONE - new_total;
    }
}

/* cairo's use_bilinear(): GOOD turns into BILINEAR for scales above 3/4 and for exact halves */
static bool photo_bilinear(double x, double y, double t)
{
    double h = x * x + y * y;

    if (h < 1.0 / (0.75 * 0.75))
        return true;
    return h > 3.99 && h < 4.01 && !fixed_24_8(x * y) && (fixed_24_8(t) & 0xff) == 0;
}

/* Works out what cairo and pixman would do for this photo. Returns false when it is not the separable box
 * convolution of an axis-aligned downscale this replica covers; then cairo draws the photo. */
static bool photo_plan_init(const struct printer_face *f, const struct printer_layout *lay,
                            struct photo_plan *ret)
{
    const struct printer_face_rect w = lay->photo;
    double scale = photo_scale(f, lay), x, y, rx, ry;
    cairo_matrix_t pattern, step;
    int32_t fx0, fy0, fx1, fy1;
    int x1, y1;

    /* the clip must be a pixel-aligned box, as cairo then composites without a clip mask */
    if (w.x != dfloor(w.x) || w.y != dfloor(w.y) || w.w != dfloor(w.w) || w.h != dfloor(w.h) ||
        f->photo_width > PHOTO_FAST_MAX_SIDE || f->photo_height > PHOTO_FAST_MAX_SIDE)
        return false;
    photo_origin(f, lay, scale, &x, &y);

    /* the pattern matrix: the inverse CTM as cairo_translate() and cairo_scale() build it */
    cairo_matrix_init_identity(&pattern);
    cairo_matrix_init_translate(&step, -x, -y);
    cairo_matrix_multiply(&pattern, &pattern, &step);
    cairo_matrix_init_scale(&step, 1 / scale, 1 / scale);
    cairo_matrix_multiply(&pattern, &pattern, &step);
    if (pattern.xy != 0 || pattern.yx != 0 || pattern.xx <= 0 || pattern.yy <= 0)
        return false;
    /* _cairo_pattern_analyze_filter: pixel-exact or near-1:1 matrices are not filtered this way */
    if (photo_bilinear(pattern.xx, pattern.xy, pattern.x0) &&
        photo_bilinear(pattern.yx, pattern.yy, pattern.y0))
        return false;
    if (dabs(pattern.xx * pattern.yy - 1.0) < 2.0 / 256)
        return false;

    /* the bounded extents: the path's box in 24.8 fixed point, rounded out, within the clip */
    fx0 = fixed_24_8(x);
    fy0 = fixed_24_8(y);
    fx1 = fx0 + fixed_24_8(f->photo_width * scale);
    fy1 = fy0 + fixed_24_8(f->photo_height * scale);
    ret->x0 = (int)dmax(fx0 >> 8, w.x);
    ret->y0 = (int)dmax(fy0 >> 8, w.y);
    x1 = (int)dmin((fx1 + 255) >> 8, w.x + w.w);
    y1 = (int)dmin((fy1 + 255) >> 8, w.y + w.h);
    ret->width = x1 - ret->x0;
    ret->height = y1 - ret->y0;
    if (ret->width <= 0 || ret->height <= 0)
        return false;
    photo_pixman_offset(&pattern, ret->x0 + ret->width / 2., ret->y0 + ret->height / 2., ret->m, &ret->off_x,
                        &ret->off_y);
    if (ret->m[0][1] != 0 || ret->m[1][0] != 0 || ret->m[2][0] != 0 || ret->m[2][1] != 0 ||
        ret->m[2][2] != PHOTO_FIXED_ONE)
        return false;

    /* the GOOD filter: a box as wide as the downscale, clamped to 16 */
    rx = dmin(pattern.xx, 16.0);
    ry = dmin(pattern.yy, 16.0);
    if (rx < 1.0 / 0.75)
        rx = 1.0;
    if (ry < 1.0 / 0.75)
        ry = 1.0;
    ret->taps_x = box_width(rx);
    ret->taps_y = box_width(ry);
    ret->phase_bits_x = phase_bits(rx, ret->taps_x);
    ret->phase_bits_y = phase_bits(ry, ret->taps_y);
    if (ret->taps_x > PHOTO_MAX_TAPS || ret->taps_y > PHOTO_MAX_TAPS || ret->phase_bits_x > 7 ||
        ret->phase_bits_y > 7)
        return false;
    box_filter(rx, ret->taps_x, ret->phase_bits_x, ret->weights_x);
    box_filter(ry, ret->taps_y, ret->phase_bits_y, ret->weights_y);
    for (int i = 0; i < ret->taps_x << ret->phase_bits_x; i++)
        if (ret->weights_x[i] < 0 || ret->weights_x[i] > PHOTO_FAST_WEIGHT_MAX)
            return false;
    for (int i = 0; i < ret->taps_y << ret->phase_bits_y; i++)
        if (ret->weights_y[i] < 0 || ret->weights_y[i] > PHOTO_FAST_WEIGHT_MAX)
            return false;
    return true;
}

/* pixman's tap position for a sample position v along one axis: the first source index (before PAD
 * clamping) and the kernel phase */
static void photo_tap(int32_t v, int bits, int taps, int *ret_first, int *ret_phase)
{
    int shift = 16 - bits;
    int32_t centre = (int32_t)((uint32_t)(v >> shift) << shift) + ((1 << shift) >> 1);
    int32_t offset = ((taps << 16) - PHOTO_FIXED_ONE) >> 1;

    *ret_phase = (centre & 0xffff) >> shift;
    *ret_first = (centre - 1 - offset) >> 16;
}

static int clamp_index(int i, int n)
{
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* Everything about drawing photos of one size in one layout's window that does not depend on the photo's
 * pixels, worked out once and kept in the layout's cache. */
struct photo_geometry {
    unsigned photo_width, photo_height;
    bool exact;               /* the replica drew a photo of noise of this size exactly as cairo */
    struct photo_plan plan;   /* valid when exact */
    int *columns;             /* per output column: phase, then the source column of each tap */
    int *rows;                /* per output row: phase, then the source row of each tap */
    int inner_from, inner_to; /* output columns [inner_from, inner_to) have no clamped tap */
    uint16_t *weights;        /* per (row phase, column phase): taps_y x taps_x weights, fx * fy rounded */
    /* the same for a 3 x 3 kernel as SSE2 multiply-adds take them, when every weight is below 2^15: per row
     * of taps the weights of taps 0 and 1 as a pair of int16, and that of tap 2 alone */
    uint32_t *pair_weights;
};

static void photo_geometry_free(struct photo_geometry *g)
{
    if (!g)
        return;
    free(g->columns);
    free(g->rows);
    free(g->weights);
    free(g->pair_weights);
    free(g);
}

/* Fills in columns, rows and weights of g from its plan: pixman's tap positions and per-tap weights. */
static int photo_geometry_taps(struct photo_geometry *g)
{
    const struct photo_plan *plan = &g->plan;
    const int tx = plan->taps_x, ty = plan->taps_y, pw = (int)g->photo_width, ph = (int)g->photo_height;
    const size_t phase_size = ((size_t)tx << plan->phase_bits_x) * (size_t)ty;
    bool *phase_done;
    int64_t v[3];

    g->columns = malloc(sizeof(int) * (size_t)plan->width * (size_t)(tx + 1));
    g->rows = malloc(sizeof(int) * (size_t)plan->height * (size_t)(ty + 1));
    g->weights = calloc((size_t)1 << plan->phase_bits_y, sizeof(uint16_t) * phase_size);
    phase_done = calloc((size_t)1 << plan->phase_bits_y, sizeof(bool));
    if (!g->columns || !g->rows || !g->weights || !phase_done) {
        free(phase_done);
        return PRINTER_ERROR_NOMEM;
    }
    /* the transformation is a scale plus a translation, so every column shares its taps down the
     * photo and every row along it; pixman steps from the first pixel of a row by m[0][0] */
    v[0] = (int64_t)(plan->x0 + plan->off_x) * PHOTO_FIXED_ONE + PHOTO_FIXED_ONE / 2;
    v[1] = (int64_t)(plan->y0 + plan->off_y) * PHOTO_FIXED_ONE + PHOTO_FIXED_ONE / 2;
    v[2] = PHOTO_FIXED_ONE;
    photo_transform((const int32_t(*)[3])plan->m, v);
    g->inner_from = plan->width;
    g->inner_to = 0;
    for (int k = 0; k < plan->width; k++) {
        int first, phase, *col = g->columns + (size_t)k * (size_t)(tx + 1);

        photo_tap((int32_t)(v[0] + (int64_t)k * plan->m[0][0]), plan->phase_bits_x, tx, &first, &phase);
        col[0] = phase;
        for (int j = 0; j < tx; j++)
            col[1 + j] = clamp_index(first + j, pw);
        /* the columns whose taps all lie inside the photo: a range, as first grows with k */
        if (first >= 0 && first + tx <= pw) {
            if (k < g->inner_from)
                g->inner_from = k;
            g->inner_to = k + 1;
        }
    }
    if (g->inner_to < g->inner_from)
        g->inner_from = g->inner_to = 0;
    for (int row = 0; row < plan->height; row++) {
        int first, phase, *r = g->rows + (size_t)row * (size_t)(ty + 1);
        const int32_t *wy;

        v[0] = (int64_t)(plan->x0 + plan->off_x) * PHOTO_FIXED_ONE + PHOTO_FIXED_ONE / 2;
        v[1] = (int64_t)(plan->y0 + row + plan->off_y) * PHOTO_FIXED_ONE + PHOTO_FIXED_ONE / 2;
        v[2] = PHOTO_FIXED_ONE;
        photo_transform((const int32_t(*)[3])plan->m, v);
        photo_tap((int32_t)v[1], plan->phase_bits_y, ty, &first, &phase);
        r[0] = phase;
        for (int i = 0; i < ty; i++)
            r[1 + i] = clamp_index(first + i, ph);
        if (phase_done[phase])
            continue;
        phase_done[phase] = true;
        /* pixman's per-tap weight ((fx * fy + 0x8000) >> 16); both are at most PHOTO_FAST_WEIGHT_MAX, so
         * the product fits 32 bits and the weight 16 */
        wy = plan->weights_y + phase * ty;
        for (int p = 0; p < 1 << plan->phase_bits_x; p++)
            for (int i = 0; i < ty; i++)
                for (int j = 0; j < tx; j++)
                    g->weights[(size_t)phase * phase_size +
                               ((size_t)p * (size_t)ty + (size_t)i) * (size_t)tx + (size_t)j] =
                        (uint16_t)(((uint32_t)plan->weights_x[p * tx + j] * (uint32_t)wy[i] + 0x8000) >> 16);
    }
    free(phase_done);
#if defined(__SSE2__)
    if (tx == 3 && ty == 3) {
        const size_t n = (size_t)1 << (plan->phase_bits_y + plan->phase_bits_x);
        bool small = true;

        for (size_t i = 0; i < n * 9 && small; i++)
            small = g->weights[i] < 0x8000;
        g->pair_weights = small ? malloc(sizeof(uint32_t) * n * 6) : NULL;
        for (size_t i = 0; g->pair_weights && i < n; i++)
            for (int row = 0; row < 3; row++) {
                const uint16_t *w = g->weights + i * 9 + (size_t)row * 3;

                g->pair_weights[i * 6 + (size_t)row * 2] = (uint32_t)w[0] | (uint32_t)w[1] << 16;
                g->pair_weights[i * 6 + (size_t)row * 2 + 1] = w[2];
            }
    }
#endif
    return 0;
}

/* The 3 x 3 kernel reads its source rows spread out, so that a tap costs two multiplications: per pixel
 * red and blue 32 bits apart and green beside a 1 that sums the weights (no half overflows into the other:
 * each is a sum of 8-bit values times weights that add up to about 65536, below 2^25); or, for SSE2, per
 * pixel x the int16 blue, green, red and 255 of x interleaved with those of x + 1, as a multiply-add takes
 * two taps. */
struct photo_spread {
    uint64_t rb;
    uint64_t g1;
};

/* A ring of spread source rows: output rows move down the photo, so each source row is spread once. */
struct photo_ring {
    struct photo_spread *rows; /* size rows of photo_width */
    int *tag;                  /* which source row each ring row holds, -1 none */
    int size;                  /* a power of two >= taps_y */
    bool pairs;                /* the SSE2 form */
};

static void ring_free(struct photo_ring *ring)
{
    free(ring->rows);
    free(ring->tag);
    *ring = (struct photo_ring){0};
}

/* The ring for g: only the 3 x 3 kernel reads spread rows. */
static int ring_init(const struct photo_geometry *g, struct photo_ring *ret)
{
    *ret = (struct photo_ring){.size = 1, .pairs = g->pair_weights != NULL};
    if (g->plan.taps_x != 3 || g->plan.taps_y != 3)
        return 0;
    while (ret->size < g->plan.taps_y)
        ret->size *= 2;
    ret->rows = malloc(sizeof(struct photo_spread) * g->photo_width * (size_t)ret->size);
    ret->tag = malloc(sizeof(int) * (size_t)ret->size);
    if (!ret->rows || !ret->tag) {
        ring_free(ret);
        return PRINTER_ERROR_NOMEM;
    }
    for (int i = 0; i < ret->size; i++)
        ret->tag[i] = -1;
    return 0;
}

#if defined(__SSE2__)
/* The SSE2 spread of source pixels [0, return) of a row of width pixels, 16 at a time while a 17th (the
 * neighbour of the 16th) follows. */
static unsigned spread_pairs16(const uint8_t *src, unsigned width, struct photo_spread *row)
{
    const __m128i zero = _mm_setzero_si128(), alpha = _mm_set1_epi16(255);
    unsigned x = 0;

    for (; x + 17 <= width; x += 16) {
        const uint8_t *p = src + 3 * x;
        __m128i ch[3], pairs[3][4];

        deinterleave_rgb(p, &ch[2], &ch[1], &ch[0]);
        for (int c = 0; c < 3; c++) {
            /* each value beside its right neighbour, the 17th pixel's coming in at the top */
            __m128i next =
                _mm_or_si128(_mm_srli_si128(ch[c], 1), _mm_slli_si128(_mm_cvtsi32_si128(p[48 + 2 - c]), 15));
            __m128i lo = _mm_unpacklo_epi8(ch[c], next), hi = _mm_unpackhi_epi8(ch[c], next);

            pairs[c][0] = _mm_unpacklo_epi8(lo, zero); /* pixels x..x+3: (value, neighbour) as int16 */
            pairs[c][1] = _mm_unpackhi_epi8(lo, zero);
            pairs[c][2] = _mm_unpacklo_epi8(hi, zero);
            pairs[c][3] = _mm_unpackhi_epi8(hi, zero);
        }
        for (int q = 0; q < 4; q++) {
            __m128i bg = _mm_unpacklo_epi32(pairs[0][q], pairs[1][q]),
                    ra = _mm_unpacklo_epi32(pairs[2][q], alpha),
                    bg2 = _mm_unpackhi_epi32(pairs[0][q], pairs[1][q]),
                    ra2 = _mm_unpackhi_epi32(pairs[2][q], alpha);

            _mm_storeu_si128((__m128i *)(void *)&row[x + 4 * (unsigned)q], _mm_unpacklo_epi64(bg, ra));
            _mm_storeu_si128((__m128i *)(void *)&row[x + 4 * (unsigned)q + 1], _mm_unpackhi_epi64(bg, ra));
            _mm_storeu_si128((__m128i *)(void *)&row[x + 4 * (unsigned)q + 2], _mm_unpacklo_epi64(bg2, ra2));
            _mm_storeu_si128((__m128i *)(void *)&row[x + 4 * (unsigned)q + 3], _mm_unpackhi_epi64(bg2, ra2));
        }
    }
    return x;
}

/* Blue, green, red and 255 of the pixel at p as four int16, in (x86, little-endian) memory order. */
static uint64_t spread_words(const uint8_t *p)
{
    return (uint64_t)p[2] | (uint64_t)p[1] << 16 | (uint64_t)p[0] << 32 | (uint64_t)255 << 48;
}
#endif

/* The ring row holding source row y of the photo, spread out. */
static const struct photo_spread *spread_row(struct photo_ring *ring, const struct printer_face *f, int y)
{
    int slot = y & (ring->size - 1);
    struct photo_spread *row = ring->rows + (size_t)slot * f->photo_width;
    const uint8_t *src = f->photo_rgb + (size_t)y * f->photo_width * 3;

    if (ring->tag[slot] == y)
        return row;
    ring->tag[slot] = y;
    if (!ring->pairs) {
        for (unsigned x = 0; x < f->photo_width; x++, src += 3)
            row[x] = (struct photo_spread){(uint64_t)src[0] << 32 | src[2], (uint64_t)src[1] << 32 | 1};
        return row;
    }
#if defined(__SSE2__)
    {
        /* blue, green, red, 255 as int16 of pixel x (cur) and x + 1 (next), interleaved; the neighbour of
         * the last pixel is itself: its weight is 0 anyway */
        unsigned x = spread_pairs16(src, f->photo_width, row);
        uint64_t cur = spread_words(src + 3 * x), next;

        for (; x < f->photo_width; x++, cur = next) {
            next = x + 1 < f->photo_width ? spread_words(src + 3 * (x + 1)) : cur;
            _mm_storeu_si128((__m128i *)(void *)&row[x],
                             _mm_unpacklo_epi16(_mm_loadl_epi64((const __m128i *)(const void *)&cur),
                                                _mm_loadl_epi64((const __m128i *)(const void *)&next)));
        }
    }
#endif
    return row;
}

/* The resampled pixel from the sums of its taps: channels and weights in 16.16, rounded, at most 255 (the
 * sums are never negative); the source is opaque, so alpha is 255 times the weights. */
static uint32_t resampled_pixel(uint32_t sum_r, uint32_t sum_g, uint32_t sum_b, uint32_t sum_w)
{
    uint32_t a = (255 * sum_w + 0x8000) >> 16, r = (sum_r + 0x8000) >> 16, g = (sum_g + 0x8000) >> 16,
             b = (sum_b + 0x8000) >> 16;

    return (a > 255 ? 255 : a) << 24 | (r > 255 ? 255 : r) << 16 | (g > 255 ? 255 : g) << 8 |
           (b > 255 ? 255 : b);
}

/* Output pixels [from, to) of a row, any kernel, from the photo's bytes: the columns the fast kernels
 * leave (near the photo's edges, and all of them for kernels other than 3 x 3). */
static void resample_span(const struct photo_geometry *g, const struct printer_face *f, const int *row,
                          const uint16_t *w, int from, int to, uint32_t *dst)
{
    const int tx = g->plan.taps_x, ty = g->plan.taps_y;

    for (int k = from; k < to; k++) {
        const int *col = g->columns + (size_t)k * (size_t)(tx + 1);
        const uint16_t *wk = w + (size_t)col[0] * (size_t)(tx * ty);
        uint32_t sum_r = 0, sum_g = 0, sum_b = 0, sum_w = 0;

        for (int i = 0; i < ty; i++)
            for (int j = 0; j < tx; j++) {
                const uint8_t *p =
                    f->photo_rgb + ((size_t)row[1 + i] * f->photo_width + (size_t)col[1 + j]) * 3;
                uint32_t weight = wk[i * tx + j];

                sum_r += p[0] * weight;
                sum_g += p[1] * weight;
                sum_b += p[2] * weight;
                sum_w += weight;
            }
        dst[k] = resampled_pixel(sum_r, sum_g, sum_b, sum_w);
    }
}

/* The 3 x 3 kernel for columns whose three taps are neighbours, written out. */
static void resample_span_3x3(const struct photo_geometry *g, const struct photo_spread *const *lines,
                              const uint16_t *w, int from, int to, uint32_t *dst)
{
    const struct photo_spread *l0 = lines[0], *l1 = lines[1], *l2 = lines[2];

    for (int k = from; k < to; k++) {
        const int *col = g->columns + (size_t)k * 4;
        const uint16_t *wk = w + (size_t)col[0] * 9;
        const struct photo_spread *p0 = l0 + col[1], *p1 = l1 + col[1], *p2 = l2 + col[1];
        uint64_t rb, g1;

        rb = p0[0].rb * wk[0] + p0[1].rb * wk[1] + p0[2].rb * wk[2] + p1[0].rb * wk[3] + p1[1].rb * wk[4] +
             p1[2].rb * wk[5] + p2[0].rb * wk[6] + p2[1].rb * wk[7] + p2[2].rb * wk[8];
        g1 = p0[0].g1 * wk[0] + p0[1].g1 * wk[1] + p0[2].g1 * wk[2] + p1[0].g1 * wk[3] + p1[1].g1 * wk[4] +
             p1[2].g1 * wk[5] + p2[0].g1 * wk[6] + p2[1].g1 * wk[7] + p2[2].g1 * wk[8];
        dst[k] = resampled_pixel((uint32_t)(rb >> 32), (uint32_t)(g1 >> 32), (uint32_t)rb, (uint32_t)g1);
    }
}

#if defined(__SSE2__)
/* The same with SSE2: per row of taps one multiply-add for taps 0 and 1 and one for tap 2 (beside a
 * neighbour of weight 0) sum blue, green, red and 255 times the weights in the four 32-bit lanes; the
 * rounding shift and packing with saturation make the pixel. */
static void resample_span_3x3_sse2(const struct photo_geometry *g, const struct photo_spread *const *lines,
                                   const uint32_t *w, int from, int to, uint32_t *dst)
{
    const __m128i *l0 = (const __m128i *)(const void *)lines[0],
                  *l1 = (const __m128i *)(const void *)lines[1],
                  *l2 = (const __m128i *)(const void *)lines[2];
    const __m128i half = _mm_set1_epi32(0x8000);

    for (int k = from; k < to; k++) {
        const int *col = g->columns + (size_t)k * 4;
        const uint32_t *wk = w + (size_t)col[0] * 6;
        const int x = col[1];
        __m128i sum;

        sum = _mm_add_epi32(_mm_madd_epi16(_mm_loadu_si128(l0 + x), _mm_set1_epi32((int)wk[0])),
                            _mm_madd_epi16(_mm_loadu_si128(l0 + x + 2), _mm_set1_epi32((int)wk[1])));
        sum = _mm_add_epi32(sum, _mm_madd_epi16(_mm_loadu_si128(l1 + x), _mm_set1_epi32((int)wk[2])));
        sum = _mm_add_epi32(sum, _mm_madd_epi16(_mm_loadu_si128(l1 + x + 2), _mm_set1_epi32((int)wk[3])));
        sum = _mm_add_epi32(sum, _mm_madd_epi16(_mm_loadu_si128(l2 + x), _mm_set1_epi32((int)wk[4])));
        sum = _mm_add_epi32(sum, _mm_madd_epi16(_mm_loadu_si128(l2 + x + 2), _mm_set1_epi32((int)wk[5])));
        sum = _mm_srli_epi32(_mm_add_epi32(sum, half), 16);
        sum = _mm_packs_epi32(sum, sum);
        /* blue, green, red, alpha in memory order: cairo's native-endian ARGB32 on this little-endian CPU */
        dst[k] = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(sum, sum));
    }
}
#endif

/* Resamples the photo into out (premultiplied ARGB of the plan's size, stride in bytes), exactly as
 * pixman's separable convolution fetcher for x8r8g8b8 with PAD repeat. */
static void photo_resample(const struct photo_geometry *g, const struct printer_face *f,
                           struct photo_ring *ring, uint8_t *out, size_t stride)
{
    const struct photo_plan *plan = &g->plan;
    const int ty = plan->taps_y;
    const size_t phases_x = (size_t)1 << plan->phase_bits_x,
                 phase_size = phases_x * (size_t)plan->taps_x * (size_t)ty;

    for (int y = 0; y < plan->height; y++) {
        const int *row = g->rows + (size_t)y * (size_t)(ty + 1);
        const struct photo_spread *lines[3];
        const uint16_t *w = g->weights + (size_t)row[0] * phase_size;
        uint32_t *dst = (uint32_t *)(void *)(out + (size_t)y * stride);

        if (plan->taps_x != 3 || ty != 3) {
            resample_span(g, f, row, w, 0, plan->width, dst);
            continue;
        }
        for (int i = 0; i < 3; i++)
            lines[i] = spread_row(ring, f, row[1 + i]);
        resample_span(g, f, row, w, 0, g->inner_from, dst);
#if defined(__SSE2__)
        if (ring->pairs)
            resample_span_3x3_sse2(g, lines, g->pair_weights + (size_t)row[0] * phases_x * 6, g->inner_from,
                                   g->inner_to, dst);
        else
#endif
            resample_span_3x3(g, lines, w, g->inner_from, g->inner_to, dst);
        resample_span(g, f, row, w, g->inner_to, plan->width, dst);
    }
}

/* The photo resampled here and composited by cairo along the same path, with the same clip and operator
 * as draw_photo_image(). Returns 0 or NOMEM. */
static int draw_photo_image_fast(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay,
                                 const struct photo_geometry *g)
{
    const int stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, g->plan.width);
    cairo_surface_t *resampled;
    struct photo_ring ring = {0};
    uint8_t *pixels;
    int r = 0;

    /* every pixel is written: no need for cairo to clear it first */
    pixels = malloc((size_t)stride * (size_t)g->plan.height);
    resampled = cairo_image_surface_create_for_data(pixels, CAIRO_FORMAT_ARGB32, g->plan.width,
                                                    g->plan.height, stride);
    if (!pixels || ring_init(g, &ring) < 0 || cairo_surface_status(resampled) != CAIRO_STATUS_SUCCESS) {
        r = PRINTER_ERROR_NOMEM;
    } else {
        photo_resample(g, f, &ring, pixels, (size_t)stride);
        cairo_surface_mark_dirty(resampled);
        cairo_save(cr);
        photo_path(cr, f, lay);
        /* the path is in device space now: the resampled pixels go on 1:1 */
        cairo_identity_matrix(cr);
        cairo_set_source_surface(cr, resampled, g->plan.x0, g->plan.y0);
        cairo_fill(cr);
        cairo_restore(cr);
    }
    cairo_surface_finish(resampled);
    cairo_surface_destroy(resampled);
    free(pixels);
    ring_free(&ring);
    return r;
}

/* --- the layout's static layer: what every card shows, drawn once per layout ---
 *
 * The background, the chip keep-out, the photo frame and the literal texts (titles, labels) do not change
 * from card to card. They are drawn once, exactly as the straightforward way draws them, into
 * cache->xrgb; a card starts from a copy of the regions it draws in (the photo window, its texts), draws
 * there what is its own in the usual order, and the rest of its raster is the static layer's. */

#define FACE_INK_MARGIN  6  /* pixels around a text's ink that antialiasing and glyph rounding may touch */
#define FACE_PHOTO_SIZES 8  /* photo sizes per layout whose geometry is kept */
#define FACE_SPRITES     16 /* texts per layout kept as drawn (a few banks, this month's date) */
#define FACE_STRIDE      (PRINTER_FACE_WIDTH * 4)

/* A rectangle of whole face pixels, half-open, inside the face. */
struct face_box {
    int x0, y0, x1, y1;
};

struct face_cache {
    uint8_t *xrgb;                            /* the static layer as cairo left it: RGB24, FACE_STRIDE */
    uint8_t *rgb;                             /* the same as packed RGB */
    bool cached[FACE_TEXTS_MAX];              /* literal texts drawn into the static layer */
    struct face_box text_box[FACE_TEXTS_MAX]; /* where each cached text drew */
    struct face_box window;                   /* the photo window: mat and photo */
    pthread_mutex_t lock;                     /* guards geometries and sprites */
    struct photo_geometry *geometries[FACE_PHOTO_SIZES];
    size_t n_geometries;
    struct face_sprite *sprites[FACE_SPRITES];
    size_t n_sprites;
};

/* A text that comes back card after card (the bank, the issue date, literal texts kept out of the static
 * layer) as it came out the first time: its box of the composite and of the K mask. It is pasted only where
 * nothing else of the card touches its box, so that those pixels depend on the text and the static layer
 * alone, exactly as when they were drawn. */
struct face_sprite {
    size_t slot;
    char *text;
    struct face_box box;
    uint8_t *xrgb;  /* box pixels, RGB24, rows of box width */
    uint8_t *kmask; /* box of the K mask, or NULL when the text is not on K */
};

static void sprite_free(struct face_sprite *sp)
{
    if (!sp)
        return;
    free(sp->text);
    free(sp->xrgb);
    free(sp->kmask);
    free(sp);
}

/* Whether texts of this slot come back often enough to keep: a bank and an issue date serve many cards; names
 * and numbers never come back. */
static bool sprite_worthy(const struct face_cache *c, const struct printer_layout *lay, size_t slot)
{
    enum face_field field = lay->texts[slot].field;

    return field == FACE_FIELD_BANK || field == FACE_FIELD_ISSUE_DATE ||
           (field == FACE_FIELD_LITERAL && !c->cached[slot]);
}

static const struct face_sprite *sprite_find(struct face_cache *c, const struct printer_layout *lay,
                                             size_t slot, const char *text)
{
    const struct face_sprite *found = NULL;

    if (!sprite_worthy(c, lay, slot))
        return NULL;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_sprites && !found; i++)
        if (c->sprites[i]->slot == slot && strcmp(c->sprites[i]->text, text) == 0)
            found = c->sprites[i];
    pthread_mutex_unlock(&c->lock);
    return found;
}

/* Keeps sp unless the cache is full or has it already (then sp is freed). */
static void sprite_keep(struct face_cache *c, struct face_sprite *sp)
{
    bool have = false, kept = false;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_sprites && !have; i++)
        have = c->sprites[i]->slot == sp->slot && strcmp(c->sprites[i]->text, sp->text) == 0;
    if (!have && c->n_sprites < FACE_SPRITES) {
        c->sprites[c->n_sprites++] = sp;
        kept = true;
    }
    pthread_mutex_unlock(&c->lock);
    if (!kept)
        sprite_free(sp);
}

static struct face_box box_clamp(struct face_box b)
{
    b.x0 = b.x0 < 0 ? 0 : b.x0;
    b.y0 = b.y0 < 0 ? 0 : b.y0;
    b.x1 = b.x1 > PRINTER_FACE_WIDTH ? PRINTER_FACE_WIDTH : b.x1;
    b.y1 = b.y1 > PRINTER_FACE_HEIGHT ? PRINTER_FACE_HEIGHT : b.y1;
    if (b.x1 < b.x0)
        b.x1 = b.x0;
    if (b.y1 < b.y0)
        b.y1 = b.y0;
    return b;
}

/* The whole pixels r touches, grown by margin, within the face. */
static struct face_box box_around(struct printer_face_rect r, int margin)
{
    /* far outside the face is as good as at its edge; keeps the conversions below defined */
    double x0 = dmax(dmin(r.x, 2 * PRINTER_FACE_WIDTH), -PRINTER_FACE_WIDTH),
           y0 = dmax(dmin(r.y, 2 * PRINTER_FACE_HEIGHT), -PRINTER_FACE_HEIGHT),
           x1 = dmax(dmin(r.x + r.w, 2 * PRINTER_FACE_WIDTH), -PRINTER_FACE_WIDTH),
           y1 = dmax(dmin(r.y + r.h, 2 * PRINTER_FACE_HEIGHT), -PRINTER_FACE_HEIGHT);

    return box_clamp((struct face_box){(int)dfloor(x0) - margin, (int)dfloor(y0) - margin,
                                       (int)dceil(x1) + margin, (int)dceil(y1) + margin});
}

static bool box_overlap(struct face_box a, struct face_box b)
{
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

static void copy_box(const uint8_t *from, uint8_t *to, struct face_box b, size_t stride, size_t bpp)
{
    for (int y = b.y0; y < b.y1; y++)
        memcpy(to + (size_t)y * stride + (size_t)b.x0 * bpp, from + (size_t)y * stride + (size_t)b.x0 * bpp,
               (size_t)(b.x1 - b.x0) * bpp);
}

static void convert_box(const uint8_t *xrgb, uint8_t *rgb, struct face_box b)
{
    for (int y = b.y0; y < b.y1 && b.x1 > b.x0; y++) {
        const uint8_t *src = xrgb + (size_t)y * FACE_STRIDE + (size_t)b.x0 * 4;
        uint8_t *dst = rgb + ((size_t)y * PRINTER_FACE_WIDTH + (size_t)b.x0) * 3;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* 0x00RRGGBB byte-swapped is BB GG RR 00 read backwards: shifted down, its first three bytes in
         * memory are R, G, B; the fourth lands on the next pixel, which is written after it (the last one is
         * not) */
        for (int x = b.x0; x < b.x1 - 1; x++, src += 4, dst += 3) {
            uint32_t v;

            memcpy(&v, src, sizeof(v));
            v = __builtin_bswap32(v) >> 8;
            memcpy(dst, &v, sizeof(v));
        }
        xrgb_to_rgb(src, dst, 1);
#else
        xrgb_to_rgb(src, dst, (size_t)(b.x1 - b.x0));
#endif
    }
}

/* The card's raster, row by row: the static layer's pixels, and the work surface's inside the boxes. */
static void compose_rows(const struct face_cache *c, const uint8_t *work, const struct face_box *boxes,
                         size_t n_boxes, uint8_t *rgb)
{
    for (int y = 0; y < PRINTER_FACE_HEIGHT; y++) {
        struct face_box spans[FACE_TEXTS_MAX + 1];
        size_t n = 0;
        int x = 0;

        /* the boxes crossing this row, as spans sorted by their left end */
        for (size_t i = 0; i < n_boxes; i++) {
            size_t k;

            if (y < boxes[i].y0 || y >= boxes[i].y1 || boxes[i].x0 >= boxes[i].x1)
                continue;
            for (k = n++; k > 0 && spans[k - 1].x0 > boxes[i].x0; k--)
                spans[k] = spans[k - 1];
            spans[k] = (struct face_box){boxes[i].x0, y, boxes[i].x1, y + 1};
        }
        for (size_t k = 0; k < n; k++) {
            if (spans[k].x1 <= x)
                continue;
            if (spans[k].x0 > x)
                memcpy(rgb + ((size_t)y * PRINTER_FACE_WIDTH + (size_t)x) * 3,
                       c->rgb + ((size_t)y * PRINTER_FACE_WIDTH + (size_t)x) * 3,
                       (size_t)(spans[k].x0 - x) * 3);
            else
                spans[k].x0 = x;
            convert_box(work, rgb, spans[k]);
            x = spans[k].x1;
        }
        memcpy(rgb + ((size_t)y * PRINTER_FACE_WIDTH + (size_t)x) * 3,
               c->rgb + ((size_t)y * PRINTER_FACE_WIDTH + (size_t)x) * 3,
               (size_t)(PRINTER_FACE_WIDTH - x) * 3);
    }
}

/* Whether a pixel of work (bpp bytes, stride bytes a row) differs from the same pixel of expect, or from
 * 0 when expect is NULL; mask selects the bits that count. */
static bool pixel_differs(const uint8_t *expect, const uint8_t *work, size_t stride, size_t bpp,
                          uint32_t mask, int x, int y)
{
    uint32_t p = 0, q = 0;

    memcpy(&q, work + (size_t)y * stride + (size_t)x * bpp, bpp);
    if (expect)
        memcpy(&p, expect + (size_t)y * stride + (size_t)x * bpp, bpp);
    return ((p ^ q) & mask) != 0;
}

/* Whether the pixels of a and b inside box differ (RGB24, alpha byte ignored). */
static bool box_differs(const uint8_t *a, const uint8_t *b, struct face_box box)
{
    for (int y = box.y0; y < box.y1; y++)
        for (int x = box.x0; x < box.x1; x++) {
            uint32_t p, q;

            memcpy(&p, a + (size_t)y * FACE_STRIDE + (size_t)x * 4, sizeof(p));
            memcpy(&q, b + (size_t)y * FACE_STRIDE + (size_t)x * 4, sizeof(q));
            if ((p ^ q) & 0xffffff)
                return true;
        }
    return false;
}

void printer_face_cache_free(struct face_cache *cache)
{
    if (!cache)
        return;
    pthread_mutex_destroy(&cache->lock);
    for (size_t i = 0; i < cache->n_geometries; i++)
        photo_geometry_free(cache->geometries[i]);
    for (size_t i = 0; i < cache->n_sprites; i++)
        sprite_free(cache->sprites[i]);
    free(cache->xrgb);
    free(cache->rgb);
    free(cache);
}

/* Draws the static layer of lay into a new cache. Returns 0, NOMEM, or whatever laying out a literal
 * text returns (then the straightforward way reports it as it always did). */
static int cache_build(const struct printer_layout *lay, struct face_cache **ret)
{
    struct face_cache *c = calloc(1, sizeof(*c));
    cairo_surface_t *surface = NULL;
    uint8_t *plain = NULL;
    struct face_job job;
    cairo_t *cr;
    int r;

    if (!c)
        return PRINTER_ERROR_NOMEM;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return PRINTER_ERROR_NOMEM;
    }
    r = job_init(&job, lay);
    c->window = box_around(lay->photo, 0);
    /* literal black-on-K texts stay per card: the static layer has no K mask */
    for (size_t i = 0; r == 0 && i < lay->n_texts; i++) {
        const struct face_slot *s = &lay->texts[i];

        if (s->field != FACE_FIELD_LITERAL || s->resin)
            continue;
        r = place_text(&job, s, s->text, s->two_lines, NULL);
        if (r == 0) {
            c->text_box[i] = box_around(job.texts[job.n_texts - 1].ink, FACE_INK_MARGIN);
            c->cached[i] = !box_overlap(c->text_box[i], c->window);
        }
    }
    if (r == 0) {
        c->xrgb = malloc((size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
        c->rgb = malloc((size_t)PRINTER_FACE_WIDTH * PRINTER_FACE_HEIGHT * 3);
        plain = malloc((size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
        r = c->xrgb && c->rgb && plain ? 0 : PRINTER_ERROR_NOMEM;
    }
    if (r == 0) {
        /* a new surface, as the straightforward way starts from */
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PRINTER_FACE_WIDTH, PRINTER_FACE_HEIGHT);
        cr = cairo_create(surface);
        draw_background(cr, lay);
        draw_chip_keepout(cr, lay);
        draw_photo_frame(cr, lay);
        cairo_surface_flush(surface);
        r = cairo_error(cairo_status(cr));
        if (r == 0 && cairo_image_surface_get_stride(surface) != FACE_STRIDE)
            r = PRINTER_ERROR_INVALID;
        if (r == 0) {
            memcpy(plain, cairo_image_surface_get_data(surface), (size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
            for (size_t i = 0; i < job.n_texts; i++)
                if (c->cached[job.texts[i].slot - lay->texts])
                    draw_text(cr, &job.texts[i], false);
            cairo_surface_flush(surface);
            r = cairo_error(cairo_status(cr));
        }
        if (r == 0)
            memcpy(c->xrgb, cairo_image_surface_get_data(surface), (size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
        cairo_destroy(cr);
        cairo_surface_destroy(surface);
    }
    if (r == 0) {
        /* the texts drew inside their boxes, or the boxes are no use: then no text is cached */
        bool outside = false, inside[PRINTER_FACE_WIDTH];

        for (int y = 0; y < PRINTER_FACE_HEIGHT && !outside; y++) {
            memset(inside, 0, sizeof(inside));
            for (size_t i = 0; i < lay->n_texts; i++)
                if (c->cached[i] && y >= c->text_box[i].y0 && y < c->text_box[i].y1)
                    memset(inside + c->text_box[i].x0, 1, (size_t)(c->text_box[i].x1 - c->text_box[i].x0));
            for (int x = 0; x < PRINTER_FACE_WIDTH && !outside; x++)
                outside = !inside[x] && pixel_differs(plain, c->xrgb, FACE_STRIDE, 4, 0xffffff, x, y);
        }
        if (outside) {
            memcpy(c->xrgb, plain, (size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
            memset(c->cached, 0, sizeof(c->cached));
        }
        for (int y = 0; y < PRINTER_FACE_HEIGHT; y++)
            xrgb_to_rgb(c->xrgb + (size_t)y * FACE_STRIDE, c->rgb + (size_t)y * PRINTER_FACE_WIDTH * 3,
                        PRINTER_FACE_WIDTH);
    }
    job_done(&job);
    free(plain);
    if (r < 0) {
        printer_face_cache_free(c);
        return r;
    }
    *ret = c;
    return 0;
}

/* The layout's cache, drawn by the first card that needs it. Racing first cards each draw one and all
 * but one throw theirs away: the layout stays shareable without a lock on this path. */
static int cache_get(const struct printer_layout *lay, struct face_cache **ret)
{
    /* the one member of the otherwise immutable layout that changes, once, from NULL */
    struct printer_layout *shared = (struct printer_layout *)lay;
    struct face_cache *c = atomic_load_explicit(&shared->cache, memory_order_acquire), *expected = NULL;
    int r;

    if (!c) {
        r = cache_build(lay, &c);
        if (r < 0)
            return r;
        if (!atomic_compare_exchange_strong_explicit(&shared->cache, &expected, c, memory_order_acq_rel,
                                                     memory_order_acquire)) {
            printer_face_cache_free(c);
            c = expected;
        }
    }
    *ret = c;
    return 0;
}

/* A photo of the given size in noise, deterministic. */
static uint8_t *noise_photo(unsigned width, unsigned height)
{
    size_t n = (size_t)width * height * 3;
    uint8_t *p = malloc(n);
    uint32_t state = 0x9e3779b9u;

    for (size_t i = 0; p && i < n; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        p[i] = (uint8_t)(state >> 24);
    }
    return p;
}

/* Draws the photo of f in the window of a copy of the static layer, with cairo or (g) the replica. */
static int photo_trial(const struct face_cache *c, const struct printer_face *f,
                       const struct printer_layout *lay, const struct photo_geometry *g, uint8_t *work)
{
    cairo_surface_t *surface;
    cairo_t *cr;
    int r;

    copy_box(c->xrgb, work, c->window, FACE_STRIDE, 4);
    surface = cairo_image_surface_create_for_data(work, CAIRO_FORMAT_RGB24, PRINTER_FACE_WIDTH,
                                                  PRINTER_FACE_HEIGHT, FACE_STRIDE);
    cr = cairo_create(surface);
    r = cairo_error(cairo_status(cr));
    if (r == 0) {
        draw_photo_mat(cr, f, lay);
        r = g ? draw_photo_image_fast(cr, f, lay, g) : draw_photo_image(cr, f, lay);
    }
    if (r == 0)
        r = cairo_error(cairo_status(cr));
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cairo_surface_destroy(surface);
    return r;
}

/* Works out the geometry of photos of f's size, and whether the replica draws them exactly as cairo
 * does with the cairo and pixman at hand: tried on a photo of noise. NULL when out of memory. */
static struct photo_geometry *photo_geometry_new(const struct face_cache *c, const struct printer_face *f,
                                                 const struct printer_layout *lay)
{
    struct photo_geometry *g = calloc(1, sizeof(*g));
    struct printer_face trial = *f;
    uint8_t *a = NULL, *b = NULL, *noise = NULL;

    if (!g)
        return NULL;
    g->photo_width = f->photo_width;
    g->photo_height = f->photo_height;
    if (!photo_plan_init(f, lay, &g->plan))
        return g; /* not a case the replica covers: exact stays false */
    noise = noise_photo(f->photo_width, f->photo_height);
    a = malloc((size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
    b = malloc((size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
    if (!noise || !a || !b || photo_geometry_taps(g) < 0) {
        photo_geometry_free(g);
        g = NULL;
    } else {
        trial.photo_rgb = noise;
        g->exact = photo_trial(c, &trial, lay, NULL, a) == 0 && photo_trial(c, &trial, lay, g, b) == 0 &&
                   !box_differs(a, b, c->window);
    }
    free(noise);
    free(a);
    free(b);
    return g;
}

static struct photo_geometry *geometry_find(const struct face_cache *c, const struct printer_face *f)
{
    for (size_t i = 0; i < c->n_geometries; i++)
        if (c->geometries[i]->photo_width == f->photo_width &&
            c->geometries[i]->photo_height == f->photo_height)
            return c->geometries[i];
    return NULL;
}

/* The geometry to draw f's photo with the replica, or NULL: cairo draws it (also for photo sizes beyond
 * the first FACE_PHOTO_SIZES of the layout). */
static const struct photo_geometry *photo_geometry_get(struct face_cache *c, const struct printer_face *f,
                                                       const struct printer_layout *lay)
{
    struct photo_geometry *g, *kept;
    bool full;

    pthread_mutex_lock(&c->lock);
    g = geometry_find(c, f);
    full = c->n_geometries == FACE_PHOTO_SIZES;
    pthread_mutex_unlock(&c->lock);
    if (g || full)
        return g && g->exact ? g : NULL;

    /* worked out outside the lock; a racing card may do the same, the first one kept stays */
    g = photo_geometry_new(c, f, lay);
    if (!g)
        return NULL;
    pthread_mutex_lock(&c->lock);
    kept = geometry_find(c, f);
    if (!kept && c->n_geometries < FACE_PHOTO_SIZES) {
        kept = g;
        c->geometries[c->n_geometries++] = g;
    }
    pthread_mutex_unlock(&c->lock);
    if (kept != g)
        photo_geometry_free(g);
    return kept && kept->exact ? kept : NULL;
}

/* b grown by the ring of one pixel, within the face. */
static struct face_box box_ringed(struct face_box b)
{
    return box_clamp((struct face_box){b.x0 - 1, b.y0 - 1, b.x1 + 1, b.y1 + 1});
}

/* Whether nothing was drawn just outside box i, in the ring of one pixel around it that no other box
 * covers: then the boxes held all that was drawn. */
static bool ring_clean(const uint8_t *expect, const uint8_t *work, size_t stride, size_t bpp, uint32_t mask,
                       const struct face_box *boxes, size_t n_boxes, size_t i)
{
    struct face_box ring = box_ringed(boxes[i]), near[FACE_TEXTS_MAX + 1];
    size_t n_near = 0;

    /* the boxes that may cover part of the ring (box i itself where it touches the face's edge) */
    for (size_t k = 0; k < n_boxes && n_near < sizeof(near) / sizeof(near[0]); k++)
        if (box_overlap(ring, boxes[k]))
            near[n_near++] = boxes[k];
    for (int y = ring.y0; y < ring.y1; y++) {
        bool edge_row = y == ring.y0 || y == ring.y1 - 1;

        for (int x = ring.x0; x < ring.x1; x = edge_row || x == ring.x1 - 1 ? x + 1 : ring.x1 - 1) {
            bool covered = false;

            for (size_t k = 0; k < n_near && !covered; k++)
                covered = x >= near[k].x0 && x < near[k].x1 && y >= near[k].y0 && y < near[k].y1;
            if (!covered && pixel_differs(expect, work, stride, bpp, mask, x, y))
                return false;
        }
    }
    return true;
}

/* The K mask of the card's resin texts: drawn on an A8 surface cleared only in their boxes (and rings),
 * where the straightforward way draws on a fully clear one; all else stays 0 in ras->kmask. Returns 0, 1
 * when a text drew outside its box, or an error. */
static int draw_kmask_boxes(const struct face_job *job, const struct face_box *boxes,
                            struct printer_raster *ras)
{
    const size_t stride = PRINTER_FACE_WIDTH;
    struct face_box resin[FACE_TEXTS_MAX];
    cairo_surface_t *surface;
    size_t n = 0;
    uint8_t *coverage;
    cairo_t *cr;
    int r;

    _Static_assert(FACE_KMASK_THRESHOLD == 128, "the threshold is the top bit of the coverage");
    for (size_t i = 0; i < job->n_texts; i++)
        if (job->texts[i].slot->resin)
            resin[n++] = boxes[i];
    if (n == 0)
        return 0;
    if (cairo_format_stride_for_width(CAIRO_FORMAT_A8, PRINTER_FACE_WIDTH) != (int)stride)
        return 1;
    coverage = malloc(stride * PRINTER_FACE_HEIGHT);
    if (!coverage)
        return PRINTER_ERROR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct face_box b = box_ringed(resin[i]);

        for (int y = b.y0; y < b.y1; y++)
            memset(coverage + (size_t)y * stride + (size_t)b.x0, 0, (size_t)(b.x1 - b.x0));
    }
    surface = cairo_image_surface_create_for_data(coverage, CAIRO_FORMAT_A8, PRINTER_FACE_WIDTH,
                                                  PRINTER_FACE_HEIGHT, (int)stride);
    cr = cairo_create(surface);
    r = cairo_error(cairo_status(cr));
    for (size_t i = 0; r == 0 && i < job->n_texts; i++)
        if (job->texts[i].slot->resin)
            draw_text(cr, &job->texts[i], true);
    if (r == 0)
        r = cairo_error(cairo_status(cr));
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cairo_surface_destroy(surface);
    for (size_t i = 0; r == 0 && i < n; i++)
        if (!ring_clean(NULL, coverage, stride, 1, 0xff, resin, n, i))
            r = 1;
    for (size_t i = 0; r == 0 && i < n; i++)
        for (int y = resin[i].y0; y < resin[i].y1; y++)
            for (int x = resin[i].x0; x < resin[i].x1; x++)
                ras->kmask[(size_t)y * PRINTER_FACE_WIDTH + (size_t)x] =
                    coverage[(size_t)y * stride + (size_t)x] >> 7;
    free(coverage);
    return r;
}

/* A box's pixels from an image (stride bytes a row, bpp bytes a pixel) into rows of the box's width, or back.
 */
static void box_get(const uint8_t *image, size_t stride, size_t bpp, struct face_box b, uint8_t *out)
{
    size_t row = (size_t)(b.x1 - b.x0) * bpp;

    for (int y = b.y0; y < b.y1; y++, out += row)
        memcpy(out, image + (size_t)y * stride + (size_t)b.x0 * bpp, row);
}

static void box_put(const uint8_t *in, struct face_box b, size_t stride, size_t bpp, uint8_t *image)
{
    size_t row = (size_t)(b.x1 - b.x0) * bpp;

    for (int y = b.y0; y < b.y1; y++, in += row)
        memcpy(image + (size_t)y * stride + (size_t)b.x0 * bpp, in, row);
}

/* A sprite of text i of the card as drawn in work and ras, or NULL (out of memory: then none is kept). */
static struct face_sprite *sprite_new(const struct face_text *t, size_t slot, const char *text,
                                      struct face_box b, const uint8_t *work,
                                      const struct printer_raster *ras)
{
    struct face_sprite *sp = calloc(1, sizeof(*sp));
    size_t n = (size_t)(b.x1 - b.x0) * (size_t)(b.y1 - b.y0);

    if (!sp)
        return NULL;
    *sp = (struct face_sprite){.slot = slot, .text = strdup(text), .box = b, .xrgb = malloc(n * 4)};
    if (t->slot->resin)
        sp->kmask = malloc(n);
    if (!sp->text || !sp->xrgb || (t->slot->resin && !sp->kmask)) {
        sprite_free(sp);
        return NULL;
    }
    box_get(work, FACE_STRIDE, 4, b, sp->xrgb);
    if (sp->kmask)
        box_get(ras->kmask, PRINTER_FACE_WIDTH, 1, b, sp->kmask);
    return sp;
}

/* Whether box i is clear of every other box of the card. */
static bool box_alone(const struct face_box *boxes, size_t n_boxes, size_t i)
{
    for (size_t k = 0; k < n_boxes; k++)
        if (k != i && box_overlap(boxes[i], boxes[k]))
            return false;
    return true;
}

/* Draws the composite and the K mask of one card from the static layer: only the photo window and the
 * card's own texts are drawn, or pasted when drawn before. Returns 0, 1 when this card must be drawn the
 * straightforward way (a text would have to go under a cached one, a kept text is not alone in its box,
 * or a text drew outside its box), or an error. texts: the card's text per slot, for the sprites. */
static int draw_from_cache(const struct face_job *job, struct face_cache *c, const struct printer_face *f,
                           const char *const *texts, struct printer_raster *ras)
{
    /* the boxes: job->texts' first, then the sprites', then the window */
    struct face_box boxes[2 * FACE_TEXTS_MAX + 1];
    const struct face_sprite *sprites[FACE_TEXTS_MAX];
    struct face_sprite *fresh[FACE_TEXTS_MAX] = {0};
    cairo_surface_t *surface = NULL;
    size_t n_boxes, n_sprites = 0;
    uint8_t *work = NULL;
    bool resin = false;
    cairo_t *cr;
    int r = 0;

    /* each text of this card must come after every cached text it may touch, as it is drawn after them */
    for (size_t i = 0; i < job->lay->n_texts; i++)
        if (job->sprites[i])
            sprites[n_sprites++] = job->sprites[i];
    for (size_t i = 0; i < job->n_texts + n_sprites; i++) {
        size_t slot = i < job->n_texts ? (size_t)(job->texts[i].slot - job->lay->texts)
                                       : sprites[i - job->n_texts]->slot;

        boxes[i] = i < job->n_texts ? box_around(job->texts[i].ink, FACE_INK_MARGIN)
                                    : sprites[i - job->n_texts]->box;
        resin = resin || (i < job->n_texts && job->texts[i].slot->resin);
        for (size_t j = slot + 1; j < job->lay->n_texts; j++)
            if (c->cached[j] && box_overlap(boxes[i], c->text_box[j]))
                return 1;
    }
    n_boxes = job->n_texts + n_sprites;
    boxes[n_boxes++] = c->window;
    /* a sprite's pixels hold only if nothing else of the card comes near them */
    for (size_t i = job->n_texts; i < job->n_texts + n_sprites; i++)
        if (!box_alone(boxes, n_boxes, i))
            return 1;

    work = malloc((size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
    if (!work)
        return PRINTER_ERROR_NOMEM;
    /* each drawn box with a ring of one pixel around it, to see afterwards that nothing was drawn past it */
    for (size_t i = 0; i < n_boxes; i++)
        if (i < job->n_texts || i == n_boxes - 1)
            copy_box(c->xrgb, work, box_ringed(boxes[i]), FACE_STRIDE, 4);
    surface = cairo_image_surface_create_for_data(work, CAIRO_FORMAT_RGB24, PRINTER_FACE_WIDTH,
                                                  PRINTER_FACE_HEIGHT, FACE_STRIDE);
    cr = cairo_create(surface);
    r = cairo_error(cairo_status(cr));
    if (r == 0) {
        draw_photo_mat(cr, f, job->lay);
        if (f->photo_rgb) {
            const struct photo_geometry *g = photo_geometry_get(c, f, job->lay);

            r = g ? draw_photo_image_fast(cr, f, job->lay, g) : draw_photo_image(cr, f, job->lay);
        }
    }
    if (r == 0) {
        for (size_t i = 0; i < job->n_texts; i++)
            draw_text(cr, &job->texts[i], false);
        r = cairo_error(cairo_status(cr));
    }
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cairo_surface_destroy(surface);

    /* the texts' boxes held what they drew (the window's is the clip of the photo and the mat's rectangle) */
    for (size_t i = 0; r == 0 && i < job->n_texts; i++)
        if (!ring_clean(c->xrgb, work, FACE_STRIDE, 4, 0xffffff, boxes, n_boxes, i))
            r = 1;
    for (size_t i = 0; r == 0 && i < n_sprites; i++)
        box_put(sprites[i]->xrgb, sprites[i]->box, FACE_STRIDE, 4, work);
    if (r == 0)
        compose_rows(c, work, boxes, n_boxes, ras->rgb);
    if (r == 0 && resin)
        r = draw_kmask_boxes(job, boxes, ras);
    for (size_t i = 0; r == 0 && i < n_sprites; i++)
        if (sprites[i]->kmask)
            box_put(sprites[i]->kmask, sprites[i]->box, PRINTER_FACE_WIDTH, 1, ras->kmask);
    /* texts that come back, drawn alone in their boxes: kept for the next cards */
    for (size_t i = 0; r == 0 && i < job->n_texts; i++) {
        size_t slot = (size_t)(job->texts[i].slot - job->lay->texts);

        if (sprite_worthy(c, job->lay, slot) && box_alone(boxes, n_boxes, i))
            fresh[i] = sprite_new(&job->texts[i], slot, texts[slot], boxes[i], work, ras);
    }
    free(work);
    for (size_t i = 0; i < job->n_texts; i++)
        if (fresh[i])
            sprite_keep(c, fresh[i]);
    return r;
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
static int use_layout(const struct printer_layout *given, const struct printer_layout **ret,
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
    char date[32];
    int r;

    if (!ret)
        return PRINTER_ERROR_INVALID;
    r = check_face(face);
    if (r < 0)
        return r;
    r = use_layout(face->layout, &lay, &owned);
    if (r < 0)
        return r;
    /* the static layer pays off from the second card of a layout; a layout read for one card, or one whose
     * static layer cannot be drawn, is drawn the straightforward way (which reports any error) */
    if (way != RENDER_REFERENCE && !owned && cache_get(lay, &cache) < 0)
        cache = NULL;
    if (way == RENDER_CACHED && !cache) {
        printer_layout_free(owned);
        return 1;
    }

    card_texts(lay, face, date, texts);
    r = job_init(&job, lay);
    if (r == 0)
        r = place_texts(&job, texts, cache ? cache->cached : NULL, cache, bad_char);
    if (r == 0) {
        ras = raster_new(PRINTER_FACE_WIDTH, PRINTER_FACE_HEIGHT);
        if (!ras)
            r = PRINTER_ERROR_NOMEM;
    }
    if (r == 0 && cache) {
        r = draw_from_cache(&job, cache, face, texts, ras);
        drawn = r == 0;
        if (r == 1 && way == RENDER_ANY) {
            /* this card needs every text laid out for the straightforward way */
            job_done(&job);
            r = job_init(&job, lay);
            if (r == 0)
                r = place_texts(&job, texts, NULL, NULL, bad_char);
        }
    }
    if (r == 0 && !drawn)
        r = draw_composite(&job, face, ras);
    if (r == 0 && !drawn)
        r = draw_kmask(&job, ras);
    job_done(&job);
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

size_t printer_face_kept_texts(const struct printer_layout *layout)
{
    struct face_cache *cache = layout ? atomic_load_explicit(&layout->cache, memory_order_acquire) : NULL;
    size_t n = 0;

    if (cache) {
        pthread_mutex_lock(&cache->lock);
        n = cache->n_sprites;
        pthread_mutex_unlock(&cache->lock);
    }
    return n;
}

bool printer_face_photo_replicated(const struct printer_layout *layout, unsigned width, unsigned height)
{
    struct printer_face f = {.photo_rgb = (const uint8_t *)"", .photo_width = width, .photo_height = height};
    struct face_cache *cache;

    if (!layout || width == 0 || height == 0 || width > FACE_PHOTO_MAX_SIDE || height > FACE_PHOTO_MAX_SIDE ||
        cache_get(layout, &cache) < 0)
        return false;
    return photo_geometry_get(cache, &f, layout) != NULL;
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
    err = cairo_error(cairo_surface_status(surface));
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
    err = cairo_error(cairo_surface_write_to_png(surface, path));
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

int printer_face_measure_name(const struct printer_layout *layout, const char *name,
                              struct printer_face_rect *ret_ink, char bad_char[8])
{
    const struct printer_layout *lay;
    struct printer_layout *owned;
    struct face_job job;
    int r;

    if (!name || !ret_ink || !valid_text(name, FACE_NAME_MAX_BYTES))
        return PRINTER_ERROR_INVALID;
    r = use_layout(layout, &lay, &owned);
    if (r < 0)
        return r;
    r = job_init(&job, lay);
    if (r == 0)
        r = place_text(&job, printer_layout_slot(lay, FACE_FIELD_NAME), name, true, bad_char);
    if (r == 0)
        *ret_ink = job.texts[0].ink;
    job_done(&job);
    printer_layout_free(owned);
    return r;
}

int printer_check_text_layout(const struct printer_layout *layout, const char *name, char bad_char[8])
{
    struct printer_face_rect ink;

    return printer_face_measure_name(layout, name, &ink, bad_char);
}

int printer_check_text(const char *name, char bad_char[8])
{
    return printer_check_text_layout(NULL, name, bad_char);
}
