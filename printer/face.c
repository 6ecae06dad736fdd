/* face.c — draws the front of a social security card: an RGB composite plus the K (resin black) mask */
#include "face-private.h"
#include "printer.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <pango/pangocairo.h>

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
};

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

static int place_texts(struct face_job *job, const struct printer_face *f, char *bad_char)
{
    char date[32];

    snprintf(date, sizeof(date), "%04d年%02d月", f->issue_year, f->issue_month);
    for (size_t i = 0; i < job->lay->n_texts; i++) {
        const struct face_slot *slot = &job->lay->texts[i];
        const char *text = NULL;
        int r;

        switch (slot->field) {
        case FACE_FIELD_LITERAL:
            text = slot->text;
            break;
        case FACE_FIELD_NAME:
            text = f->name;
            break;
        case FACE_FIELD_SSN:
            text = f->ssn;
            break;
        case FACE_FIELD_CARD_NUMBER:
            text = f->card_number;
            break;
        case FACE_FIELD_ISSUE_DATE:
            text = date;
            break;
        case FACE_FIELD_BANK:
            text = f->bank_name;
            break;
        }
        if (!text || !text[0])
            continue;
        r = place_text(job, slot, text, slot->two_lines, bad_char);
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

static int draw_photo(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay)
{
    const struct printer_face_rect w = lay->photo;
    cairo_surface_t *photo;
    uint8_t *data;
    int stride;
    double scale;

    cairo_rectangle(cr, w.x - lay->photo_frame_width / 2, w.y - lay->photo_frame_width / 2,
                    w.w + lay->photo_frame_width, w.h + lay->photo_frame_width);
    set_colour(cr, lay->photo_frame);
    cairo_set_line_width(cr, lay->photo_frame_width);
    cairo_stroke(cr);

    cairo_rectangle(cr, w.x, w.y, w.w, w.h);
    set_colour(cr, f->photo_rgb ? lay->photo_mat : lay->photo_placeholder);
    cairo_fill(cr);
    if (!f->photo_rgb)
        return 0;

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

    /* fit inside the window, aspect preserved, centred: the applicant's face is never cropped */
    scale = dmin(w.w / f->photo_width, w.h / f->photo_height);
    cairo_save(cr);
    cairo_rectangle(cr, w.x, w.y, w.w, w.h);
    cairo_clip(cr);
    cairo_translate(cr, w.x + (w.w - f->photo_width * scale) / 2, w.y + (w.h - f->photo_height * scale) / 2);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, photo, 0, 0);
    /* PAD keeps the edge pixels from blending with transparency when filtering */
    cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_rectangle(cr, 0, 0, f->photo_width, f->photo_height);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(photo);
    return 0;
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
        for (unsigned y = 0; y < ras->height; y++) {
            const uint32_t *src = (const uint32_t *)(const void *)(data + (size_t)y * (size_t)stride);
            uint8_t *dst = ras->rgb + (size_t)y * ras->width * 3;

            for (unsigned x = 0; x < ras->width; x++) {
                *dst++ = (uint8_t)(src[x] >> 16);
                *dst++ = (uint8_t)(src[x] >> 8);
                *dst++ = (uint8_t)src[x];
            }
        }
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

int printer_render_face(const struct printer_face *face, struct printer_raster **ret, char bad_char[8])
{
    const struct printer_layout *lay;
    struct printer_layout *owned;
    struct face_job job;
    struct printer_raster *ras = NULL;
    int r;

    if (!ret)
        return PRINTER_ERROR_INVALID;
    r = check_face(face);
    if (r < 0)
        return r;
    r = use_layout(face->layout, &lay, &owned);
    if (r < 0)
        return r;

    r = job_init(&job, lay);
    if (r == 0)
        r = place_texts(&job, face, bad_char);
    if (r == 0) {
        ras = raster_new(PRINTER_FACE_WIDTH, PRINTER_FACE_HEIGHT);
        if (!ras)
            r = PRINTER_ERROR_NOMEM;
    }
    if (r == 0)
        r = draw_composite(&job, face, ras);
    if (r == 0)
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
    if (r < 0) {
        printer_raster_free(ras);
        return r;
    }
    *ret = ras;
    return 0;
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
