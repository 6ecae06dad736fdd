/* text.c — fits the card's texts into their boxes: fonts, shrinking, condensing, two-line names, checks */
#include "render/render-private.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pango/pangocairo.h>

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
int face_place_text(struct face_job *job, const struct face_slot *s, const char *text, bool may_wrap,
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

/* YYYY-MM-DD, digits where digits belong, a month 1..12 and a day 1..31 */
static bool valid_day(const char *s)
{
    if (strnlen(s, 11) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !g_ascii_isdigit(s[i]))
            return false;
    return atoi(s + 5) >= 1 && atoi(s + 5) <= 12 && atoi(s + 8) >= 1 && atoi(s + 8) <= 31;
}

int face_check(const struct printer_face *f)
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
    if (f->valid_until && !valid_day(f->valid_until))
        return PRINTER_ERROR_INVALID;
    if (f->photo_rgb && (f->photo_width == 0 || f->photo_height == 0 ||
                         f->photo_width > FACE_PHOTO_MAX_SIDE || f->photo_height > FACE_PHOTO_MAX_SIDE))
        return PRINTER_ERROR_INVALID;
    return 0;
}

/* The text each slot of the layout shows on this card (NULL or empty: nothing); date: room for the date. */
void face_card_texts(const struct printer_layout *lay, const struct printer_face *f, char date[32],
                     char valid[64], const char *texts[FACE_TEXTS_MAX])
{
    snprintf(date, 32, "%04d年%02d月", f->issue_year, f->issue_month);
    valid[0] = '\0';
    if (f->valid_until) /* checked by face_check: YYYY-MM-DD */
        snprintf(valid, 64, "临时卡 有效期至 %.4s年%.2s月%.2s日", f->valid_until, f->valid_until + 5,
                 f->valid_until + 8);
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
        case FACE_FIELD_VALID_UNTIL:
            texts[i] = valid;
            break;
        }
    }
}

/* Lays out the texts of the card in layout order, leaving out the slots marked in skip (NULL: none) and
 * those that cache (NULL: none) has drawn before. */
int face_place_texts(struct face_job *job, const char *const texts[FACE_TEXTS_MAX], const bool *skip,
                     struct face_cache *cache, char *bad_char)
{
    for (size_t i = 0; i < job->lay->n_texts; i++) {
        const struct face_slot *slot = &job->lay->texts[i];
        int r;

        if ((skip && skip[i]) || !texts[i] || !texts[i][0])
            continue;
        job->sprites[i] = cache ? face_sprite_find(cache, job->lay, i, texts[i]) : NULL;
        if (job->sprites[i])
            continue;
        r = face_place_text(job, slot, texts[i], slot->two_lines, bad_char);
        if (r < 0)
            return r;
    }
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
    r = face_use_layout(layout, &lay, &owned);
    if (r < 0)
        return r;
    r = face_job_init(&job, lay);
    if (r == 0)
        r = face_place_text(&job, printer_layout_slot(lay, FACE_FIELD_NAME), name, true, bad_char);
    if (r == 0)
        *ret_ink = job.texts[0].ink;
    face_job_done(&job);
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
