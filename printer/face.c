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
#define FACE_TEXTS_MAX       16    /* text items on one face */
#define FACE_KMASK_THRESHOLD 128   /* A8 coverage from which a pixel goes to the resin panel */
#define FACE_PNG_MAX_SIDE    32767 /* cairo's image surface limit */

#define FACE_FONT_CJK    "Noto Sans CJK SC"
#define FACE_FONT_DIGITS "DejaVu Sans, Noto Sans CJK SC" /* distinct 0/O and 1/I; CJK falls back */

/* Where and how one piece of text goes. */
struct face_slot {
    struct printer_face_rect box; /* the text never leaves this box */
    double baseline;              /* of a single line, in face pixels */
    const char *family;           /* Pango family list */
    PangoWeight weight;
    double size;       /* em size in pixels */
    double min_size;   /* shrink stepwise down to this before condensing */
    double min_hscale; /* then condense horizontally down to this before wrapping (if allowed) */
    bool align_right;
    bool justify;    /* spread the characters over the box width */
    uint32_t colour; /* 0xRRGGBB, as all colours here */
    bool resin;      /* black text: also goes on the K panel */
};

/* The whole layout. Kept as data in one place: a later issue moves it to a data file. */
static const struct face_geometry {
    uint32_t paper; /* unprinted card: the chip keep-out shows this */
    uint32_t body_top;
    uint32_t body_bottom;
    double band_height; /* header band behind the title */
    uint32_t band_left;
    uint32_t band_right;
    double rule_y; /* accent rule under the band */
    double rule_height;
    uint32_t rule;
    int wave_count; /* pale security-style waves across the body */
    double wave_y;
    double wave_pitch;
    double wave_amplitude;
    int wave_period; /* pixels */
    int wave_shift;  /* horizontal offset from one wave to the next, pixels */
    double wave_width;
    uint32_t wave;
    /* ISO 7816-2 contact zone (10.25-19.23 mm from the left, 19.23-29.0 mm from the top of the card, the
     * card sitting in the 1016 x 648 bleed with 2.5 / 5 px to spare) widened to the module plate and a
     * print margin: ink on the gold contacts would not stick and would hurt contact. */
    struct printer_face_rect chip;
    double chip_radius;
    struct printer_face_rect photo;
    double photo_frame_width; /* drawn outside the window */
    uint32_t photo_frame;
    uint32_t photo_mat;            /* behind a photo whose aspect differs from the window */
    uint32_t photo_placeholder;    /* no photo */
    double shrink_step;            /* pixels per font shrink step */
    double name_wrap_size;         /* em size of a name on two lines */
    double name_wrap_min_size;     /* two lines shrink down to this to fit the box height */
    double name_wrap_line_spacing; /* baseline distance as a factor of the em size */
    struct face_slot country;
    struct face_slot title;
    struct face_slot bank;
    struct face_slot label_name;
    struct face_slot label_ssn;
    struct face_slot label_card_number;
    struct face_slot label_issue_date;
    struct face_slot name;
    struct face_slot ssn;
    struct face_slot card_number;
    struct face_slot issue_date;
} geo = {
    .paper = 0xffffff,
    .body_top = 0xeef5fb,
    .body_bottom = 0xfbfcf6,
    .band_height = 168,
    .band_left = 0xc9e0f4,
    .band_right = 0xf1f7fc,
    .rule_y = 168,
    .rule_height = 5,
    .rule = 0xc82a36,
    .wave_count = 9,
    .wave_y = 250,
    .wave_pitch = 34,
    .wave_amplitude = 22,
    .wave_period = 520,
    .wave_shift = 30,
    .wave_width = 1.6,
    .wave = 0xd6e6f3,
    .chip = {98, 206, 158, 168},
    .chip_radius = 14,
    .photo = {730, 314, 240, 295},
    .photo_frame_width = 2,
    .photo_frame = 0x9ab4cc,
    .photo_mat = 0xffffff,
    .photo_placeholder = 0xc8c8c8,
    .shrink_step = 2,
    .name_wrap_size = 26,
    .name_wrap_min_size = 22,
    .name_wrap_line_spacing = 1.12,
    .country =
        {
            .box = {100, 30, 330, 40},
            .baseline = 62,
            .family = FACE_FONT_CJK,
            .weight = PANGO_WEIGHT_MEDIUM,
            .size = 28,
            .min_size = 28,
            .min_hscale = 1,
            .justify = true,
            .colour = 0x1f3d7a,
        },
    .title =
        {
            .box = {100, 74, 330, 76},
            .baseline = 138,
            .family = FACE_FONT_CJK,
            .weight = PANGO_WEIGHT_BOLD,
            .size = 60,
            .min_size = 60,
            .min_hscale = 1,
            .justify = true,
            .colour = 0xc41e3a,
        },
    .bank =
        {
            .box = {560, 36, 410, 48},
            .baseline = 72,
            .family = FACE_FONT_CJK,
            .weight = PANGO_WEIGHT_MEDIUM,
            .size = 32,
            .min_size = 22,
            .min_hscale = 0.7,
            .align_right = true,
            .colour = 0x0a6b5b,
        },
    .label_name =
        {
            .box = {100, 406, 156, 42},
            .baseline = 438,
            .family = FACE_FONT_CJK,
            .weight = PANGO_WEIGHT_NORMAL,
            .size = 26,
            .min_size = 26,
            .min_hscale = 1,
            .colour = 0x1f3d7a,
        },
    .label_ssn =
        {
            .box = {100, 464, 156, 42},
            .baseline = 497,
            .family = FACE_FONT_CJK,
            .weight = PANGO_WEIGHT_NORMAL,
            .size = 26,
            .min_size = 26,
            .min_hscale = 1,
            .colour = 0x1f3d7a,
        },
    .label_card_number =
        {
            .box = {100, 520, 156, 42},
            .baseline = 553,
            .family = FACE_FONT_CJK,
            .weight = PANGO_WEIGHT_NORMAL,
            .size = 26,
            .min_size = 26,
            .min_hscale = 1,
            .colour = 0x1f3d7a,
        },
    .label_issue_date =
        {
            .box = {100, 576, 156, 42},
            .baseline = 609,
            .family = FACE_FONT_CJK,
            .weight = PANGO_WEIGHT_NORMAL,
            .size = 26,
            .min_size = 26,
            .min_hscale = 1,
            .colour = 0x1f3d7a,
        },
    .name =
        {
            .box = {276, 388, 430, 66},
            .baseline = 438,
            .family = FACE_FONT_CJK,
            .weight = PANGO_WEIGHT_MEDIUM,
            .size = 40,
            .min_size = 30,
            .min_hscale = 0.8,
            .colour = 0x000000,
            .resin = true,
        },
    .ssn =
        {
            .box = {276, 464, 430, 42},
            .baseline = 497,
            .family = FACE_FONT_DIGITS,
            .weight = PANGO_WEIGHT_NORMAL,
            .size = 32,
            .min_size = 24,
            .min_hscale = 0.7,
            .colour = 0x000000,
            .resin = true,
        },
    .card_number =
        {
            .box = {276, 520, 430, 42},
            .baseline = 553,
            .family = FACE_FONT_DIGITS,
            .weight = PANGO_WEIGHT_NORMAL,
            .size = 32,
            .min_size = 24,
            .min_hscale = 0.7,
            .colour = 0x000000,
            .resin = true,
        },
    .issue_date =
        {
            .box = {276, 576, 430, 42},
            .baseline = 609,
            .family = FACE_FONT_DIGITS,
            .weight = PANGO_WEIGHT_NORMAL,
            .size = 30,
            .min_size = 24,
            .min_hscale = 0.7,
            .colour = 0x000000,
            .resin = true,
        },
};

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

static int job_init(struct face_job *job)
{
    PangoFontMap *fontmap;
    cairo_font_options_t *options;

    *job = (struct face_job){0};
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
    pango_font_description_set_weight(desc, s->weight);
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
        size = dmax(size - geo.shrink_step, s->min_size);
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
                size = geo.name_wrap_size;
                pango_layout_set_line_spacing(layout, (float)geo.name_wrap_line_spacing);
                layout_set_size(layout, s, size);
                while (ink_height(layout) > s->box.h && size > geo.name_wrap_min_size) {
                    size = dmax(size - geo.shrink_step, geo.name_wrap_min_size);
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
    struct {
        const struct face_slot *slot;
        const char *text;
        bool may_wrap;
    } items[] = {
        {&geo.country, "中华人民共和国", false},
        {&geo.title, "社会保障卡", false},
        {&geo.label_name, "姓名", false},
        {&geo.label_ssn, "社会保障号码", false},
        {&geo.label_card_number, "社会保障卡号", false},
        {&geo.label_issue_date, "发卡日期", false},
        {&geo.name, f->name, true},
        {&geo.ssn, f->ssn, false},
        {&geo.card_number, f->card_number, false},
        {&geo.issue_date, date, false},
        {&geo.bank, f->bank_name, false},
    };

    snprintf(date, sizeof(date), "%04d年%02d月", f->issue_year, f->issue_month);
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        int r;

        if (!items[i].text || !items[i].text[0])
            continue;
        r = place_text(job, items[i].slot, items[i].text, items[i].may_wrap, bad_char);
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

static void draw_background(cairo_t *cr)
{
    cairo_pattern_t *p;

    p = cairo_pattern_create_linear(0, 0, 0, PRINTER_FACE_HEIGHT);
    add_stop(p, 0, geo.body_top);
    add_stop(p, 1, geo.body_bottom);
    cairo_set_source(cr, p);
    cairo_paint(cr);
    cairo_pattern_destroy(p);

    /* Each half period is one cubic whose control points sit at 4/3 of the amplitude, which peaks at
     * exactly the amplitude: a sine look-alike without libm. */
    for (int i = 0; i < geo.wave_count; i++) {
        double y0 = geo.wave_y + geo.wave_pitch * i, half = geo.wave_period / 2.0,
               lift = geo.wave_amplitude * 4 / 3;
        double x = -(double)((i * geo.wave_shift) % geo.wave_period);

        cairo_move_to(cr, x, y0);
        for (int up = 1; x < PRINTER_FACE_WIDTH; x += half, up = !up)
            cairo_curve_to(cr, x + half / 3, up ? y0 - lift : y0 + lift, x + 2 * half / 3,
                           up ? y0 - lift : y0 + lift, x + half, y0);
    }
    set_colour(cr, geo.wave);
    cairo_set_line_width(cr, geo.wave_width);
    cairo_stroke(cr);

    p = cairo_pattern_create_linear(0, 0, PRINTER_FACE_WIDTH, 0);
    add_stop(p, 0, geo.band_left);
    add_stop(p, 1, geo.band_right);
    cairo_rectangle(cr, 0, 0, PRINTER_FACE_WIDTH, geo.band_height);
    cairo_set_source(cr, p);
    cairo_fill(cr);
    cairo_pattern_destroy(p);

    cairo_rectangle(cr, 0, geo.rule_y, PRINTER_FACE_WIDTH, geo.rule_height);
    set_colour(cr, geo.rule);
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

static void draw_chip_keepout(cairo_t *cr)
{
    /* grow the rounded shape just enough that its corner arcs still cover the corners of the rectangle */
    double grow = geo.chip_radius * (1 - G_SQRT2 / 2);
    struct printer_face_rect r = {geo.chip.x - grow, geo.chip.y - grow, geo.chip.w + 2 * grow,
                                  geo.chip.h + 2 * grow};

    rounded_rect(cr, r, geo.chip_radius);
    set_colour(cr, geo.paper);
    cairo_fill(cr);
}

static int draw_photo(cairo_t *cr, const struct printer_face *f)
{
    const struct printer_face_rect w = geo.photo;
    cairo_surface_t *photo;
    uint8_t *data;
    int stride;
    double scale;

    cairo_rectangle(cr, w.x - geo.photo_frame_width / 2, w.y - geo.photo_frame_width / 2,
                    w.w + geo.photo_frame_width, w.h + geo.photo_frame_width);
    set_colour(cr, geo.photo_frame);
    cairo_set_line_width(cr, geo.photo_frame_width);
    cairo_stroke(cr);

    cairo_rectangle(cr, w.x, w.y, w.w, w.h);
    set_colour(cr, f->photo_rgb ? geo.photo_mat : geo.photo_placeholder);
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
        draw_background(cr);
        draw_chip_keepout(cr);
        r = draw_photo(cr, f);
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

int printer_render_face(const struct printer_face *face, struct printer_raster **ret, char bad_char[8])
{
    struct face_job job;
    struct printer_raster *ras = NULL;
    int r;

    if (!ret)
        return PRINTER_ERROR_INVALID;
    r = check_face(face);
    if (r < 0)
        return r;

    r = job_init(&job);
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

int printer_face_area(enum printer_face_area area, struct printer_face_rect *ret)
{
    const struct printer_face_rect *r;

    if (!ret)
        return PRINTER_ERROR_INVALID;
    switch (area) {
    case PRINTER_FACE_AREA_CHIP:
        r = &geo.chip;
        break;
    case PRINTER_FACE_AREA_PHOTO:
        r = &geo.photo;
        break;
    case PRINTER_FACE_AREA_NAME:
        r = &geo.name.box;
        break;
    case PRINTER_FACE_AREA_SSN:
        r = &geo.ssn.box;
        break;
    case PRINTER_FACE_AREA_CARD_NUMBER:
        r = &geo.card_number.box;
        break;
    case PRINTER_FACE_AREA_ISSUE_DATE:
        r = &geo.issue_date.box;
        break;
    case PRINTER_FACE_AREA_BANK:
        r = &geo.bank.box;
        break;
    default:
        return PRINTER_ERROR_INVALID;
    }
    *ret = *r;
    return 0;
}

int printer_face_measure_name(const char *name, struct printer_face_rect *ret_ink, char bad_char[8])
{
    struct face_job job;
    int r;

    if (!name || !ret_ink || !valid_text(name, FACE_NAME_MAX_BYTES))
        return PRINTER_ERROR_INVALID;
    r = job_init(&job);
    if (r == 0)
        r = place_text(&job, &geo.name, name, true, bad_char);
    if (r == 0)
        *ret_ink = job.texts[0].ink;
    job_done(&job);
    return r;
}

int printer_check_text(const char *name, char bad_char[8])
{
    struct printer_face_rect ink;

    return printer_face_measure_name(name, &ink, bad_char);
}
