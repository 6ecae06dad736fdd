/* web_receipt.c — draws the photo quality test receipt as PDF: number, studio, verdict, SHA-256, the photo */
#include "web_receipt.h"

#include "db.h"
#include "photo.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    uint8_t *data;
    size_t len, cap;
    int failed;
};

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int length)
{
    struct sink *s = closure;

    if (s->len + length > s->cap) {
        size_t cap = (s->cap ? s->cap * 2 : 65536);
        uint8_t *p;
        while (cap < s->len + length)
            cap *= 2;
        p = realloc(s->data, cap);
        if (!p) {
            s->failed = 1;
            return CAIRO_STATUS_NO_MEMORY;
        }
        s->data = p;
        s->cap = cap;
    }
    memcpy(s->data + s->len, data, length);
    s->len += length;
    return CAIRO_STATUS_SUCCESS;
}

static void text(cairo_t *cr, const char *font, const char *s, double x, double y)
{
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *fd = pango_font_description_from_string(font);

    pango_layout_set_font_description(layout, fd);
    pango_layout_set_width(layout, 330 * PANGO_SCALE);
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_text(layout, s, -1);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout);
    pango_font_description_free(fd);
    g_object_unref(layout);
}

/* the decoded photo as a cairo surface, or NULL */
static cairo_surface_t *photo_surface(const uint8_t *bytes, size_t len)
{
    struct photo_image *img = NULL;
    cairo_surface_t *s;
    unsigned char *px;
    int stride;

    if (!bytes || photo_decode(bytes, len, &img) < 0)
        return NULL;
    s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)img->width, (int)img->height);
    cairo_surface_flush(s);
    px = cairo_image_surface_get_data(s);
    stride = cairo_image_surface_get_stride(s);
    for (unsigned y = 0; px && y < img->height; y++) {
        uint32_t *row = (uint32_t *)(px + (size_t)y * (size_t)stride);
        const uint8_t *in = img->rgb + (size_t)y * img->width * 3;
        for (unsigned x = 0; x < img->width; x++)
            row[x] = (uint32_t)in[3 * x] << 16 | (uint32_t)in[3 * x + 1] << 8 | in[3 * x + 2];
    }
    cairo_surface_mark_dirty(s);
    photo_image_free(img);
    return s;
}

int web_receipt_pdf(const struct web_receipt *r, uint8_t **ret_pdf, size_t *ret_len)
{
    struct sink sink = {0};
    cairo_surface_t *pdf = cairo_pdf_surface_create_for_stream(sink_write, &sink, 420.94, 595.28); /* A5 */
    cairo_t *cr = cairo_create(pdf);
    cairo_surface_t *img = photo_surface(r->photo, r->photo_len);
    char line[256];
    int status;

    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, "Noto Sans CJK SC Bold 15", "数字相片质量检测回执", 40, 36);
    text(cr, "Noto Sans CJK SC 9", "Digital photo quality test receipt — social security card", 40, 60);
    if (img) {
        /* 358 x 441 px shown 26 x 32 mm, as on the card */
        double w = 26 / 25.4 * 72, h = 32 / 25.4 * 72;
        cairo_save(cr);
        cairo_translate(cr, 40, 90);
        cairo_scale(cr, w / cairo_image_surface_get_width(img), h / cairo_image_surface_get_height(img));
        cairo_set_source_surface(cr, img, 0, 0);
        cairo_paint(cr);
        cairo_restore(cr);
        cairo_surface_destroy(img);
    }
    snprintf(line, sizeof(line), "Receipt no. 回执编号: %s", r->receipt_no);
    text(cr, "Noto Sans CJK SC Bold 10", line, 130, 92);
    snprintf(line, sizeof(line), "Studio 照相馆: %s", r->studio);
    text(cr, "Noto Sans CJK SC 9", line, 130, 112);
    snprintf(line, sizeof(line), "Checked at 检测时间: %s", r->checked_at);
    text(cr, "Noto Sans CJK SC 9", line, 130, 128);
    snprintf(line, sizeof(line), "Verdict 检测结论: PASSED 合格 — %s", r->verdict);
    text(cr, "Noto Sans CJK SC 9", line, 130, 144);
    snprintf(line, sizeof(line), "Photo SHA-256: %s", r->sha256);
    text(cr, "DejaVu Sans Mono 7", line, 40, 200);
    text(cr, "Noto Sans CJK SC 8",
         "The service outlet verifies this receipt by its number in the cardline dashboard; the photo's "
         "SHA-256 "
         "must match the file the applicant submits. 网点可凭回执编号在系统中核验。",
         40, 226);
    cairo_show_page(cr);
    status = cairo_status(cr) != CAIRO_STATUS_SUCCESS;
    cairo_destroy(cr);
    cairo_surface_finish(pdf);
    status |= cairo_surface_status(pdf) != CAIRO_STATUS_SUCCESS;
    cairo_surface_destroy(pdf);
    if (status || sink.failed) {
        free(sink.data);
        return PRODUCER_ERROR_IO;
    }
    *ret_pdf = sink.data;
    *ret_len = sink.len;
    return 0;
}
