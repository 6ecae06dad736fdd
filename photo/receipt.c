/* receipt.c — photo quality receipts: numbers with a check character, and the printed receipt (PNG/PDF with a
 * QR) */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <qrencode.h>

/* A6 portrait, the size of the paper slip a studio hands over. */
#define A6_W_MM     105.0
#define A6_H_MM     148.0
#define PNG_DPI     300.0
#define MM_PER_INCH 25.4
#define PT_PER_INCH 72.0

/* ISO 7064 MOD 11-2 over the digits, as the resident ID number's check character. */
static char check_char(const char *digits, size_t n)
{
    unsigned p = 0;
    for (size_t i = 0; i < n; i++)
        p = ((p + (unsigned)(digits[i] - '0')) * 2u) % 11u;
    unsigned c = (12u - p) % 11u;
    return c == 10u ? 'X' : (char)('0' + c);
}

int photo_receipt_number(int year, int month, int day, uint32_t serial,
                         char ret[PHOTO_RECEIPT_NUMBER_LEN + 1])
{
    char buf[PHOTO_RECEIPT_NUMBER_LEN + 2];

    if (!ret || year < 2000 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31 || serial < 1 ||
        serial > 99999999u)
        return PHOTO_ERROR_INVALID;
    snprintf(buf, sizeof(buf), "P%04d%02d%02d%08u", year, month, day, (unsigned)serial);
    buf[17] = check_char(buf + 1, 16);
    buf[18] = '\0';
    memcpy(ret, buf, PHOTO_RECEIPT_NUMBER_LEN + 1);
    return 0;
}

int photo_receipt_number_valid(const char *number)
{
    if (!number || strlen(number) != PHOTO_RECEIPT_NUMBER_LEN || number[0] != 'P')
        return PHOTO_ERROR_INVALID;
    for (int i = 1; i <= 16; i++)
        if (number[i] < '0' || number[i] > '9')
            return PHOTO_ERROR_INVALID;
    return check_char(number + 1, 16) == number[17] ? 0 : PHOTO_ERROR_INVALID;
}

int photo_receipt_qr_text(const struct photo_receipt *receipt, char *buf, size_t size)
{
    if (!receipt || !buf || size == 0)
        return PHOTO_ERROR_INVALID;
    int n = snprintf(buf, size, "CLPR1|%s|%s", receipt->number, receipt->sha256);
    return n < 0 || (size_t)n >= size ? PHOTO_ERROR_INVALID : 0;
}

/* ---- rendering ------------------------------------------------------------------------------------- */

static void text_at(cairo_t *cr, double x, double y, double width, const char *font, const char *text)
{
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *desc = pango_font_description_from_string(font);

    /* At 72 "dpi" a font size in points equals user units, which are millimetres on this page. */
    pango_cairo_context_set_resolution(pango_layout_get_context(layout), 72.0);
    pango_layout_context_changed(layout);
    pango_layout_set_font_description(layout, desc);
    pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_text(layout, text, -1);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout);
    pango_font_description_free(desc);
    g_object_unref(layout);
}

/* Font sizes below are millimetres (see text_at). */
static void field(cairo_t *cr, double y, const char *label, const char *value)
{
    text_at(cr, 8, y, 30, "Noto Sans CJK SC 2.6", label);
    text_at(cr, 36, y, 62, "Noto Sans Mono CJK SC 2.6", value);
}

static int draw_qr(cairo_t *cr, const char *text, double x, double y, double side)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return errno == ENOMEM ? PHOTO_ERROR_NOMEM : PHOTO_ERROR_INVALID;
    /* 4 modules of quiet zone on each side, as the standard asks. */
    double m = side / (qr->width + 8);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x, y, side, side);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int r = 0; r < qr->width; r++)
        for (int c = 0; c < qr->width; c++)
            if (qr->data[r * qr->width + c] & 1)
                cairo_rectangle(cr, x + (c + 4) * m, y + (r + 4) * m, m, m);
    cairo_fill(cr);
    QRcode_free(qr);
    return 0;
}

static cairo_surface_t *photo_surface(const struct photo_image *photo)
{
    cairo_surface_t *s =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)photo->width, (int)photo->height);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (unsigned y = 0; y < photo->height; y++)
        for (unsigned x = 0; x < photo->width; x++) {
            const uint8_t *p = photo->rgb + 3u * ((size_t)y * photo->width + x);
            uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
            memcpy(data + (size_t)y * (size_t)stride + 4u * x, &v, sizeof(v));
        }
    cairo_surface_mark_dirty(s);
    return s;
}

/* the slip as the CLI prints it: both languages, Chinese first */
static const struct photo_receipt_words bilingual = {
    .title = "数字相片质量检测回执",
    .subtitle = "Digital photo quality receipt — social security card",
    .number = "回执编号 No.",
    .result = "检测结果 Result",
    .document = "证件号码 ID",
    .studio = "照相馆 Studio",
    .profile = "检测标准 Profile",
    .issued = "检测时间 Issued",
    .valid_until = "有效期至 Valid to",
    .warnings = "提示 Warnings",
    .pass = "合格 pass",
    .pass_with_warnings = "合格（有提示） pass with warnings",
    .footer = "凭本回执及相片文件在社保卡服务网点办理；网点以回执编号和相片 SHA-256 核验。\n"
              "Present with the photo file; the outlet verifies the number and the photo's SHA-256 "
              "(cardline photo verify).",
};

static int draw_receipt(cairo_t *cr, const struct photo_receipt *rc, const struct photo_receipt_words *wd,
                        const struct photo_image *photo)
{
    char qr_text[128], buf[256];

    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, 8, 7, 89, "Noto Sans CJK SC Bold 4.2", wd->title);
    text_at(cr, 8, 14, 89, "Noto Sans CJK SC 2.4", wd->subtitle);
    cairo_set_line_width(cr, 0.3);
    cairo_move_to(cr, 8, 19);
    cairo_line_to(cr, 97, 19);
    cairo_stroke(cr);

    double y = 22;
    field(cr, y, wd->number, rc->number);
    field(cr, y += 6, wd->result, strcmp(rc->verdict, "warn") == 0 ? wd->pass_with_warnings : wd->pass);
    field(cr, y += 6, wd->document, rc->doc_masked[0] ? rc->doc_masked : "-");
    field(cr, y += 6, wd->studio, rc->studio[0] ? rc->studio : "-");
    snprintf(buf, sizeof(buf), "%s v%u", rc->profile, rc->profile_version);
    field(cr, y += 6, wd->profile, buf);
    field(cr, y += 6, wd->issued, rc->issued_at);
    field(cr, y += 6, wd->valid_until, rc->valid_until);
    if (rc->warnings[0])
        field(cr, y += 6, wd->warnings, rc->warnings);
    /* The hash in two lines of 32 so it fits the slip and can be compared by eye. */
    snprintf(buf, sizeof(buf), "%.32s\n%.32s", rc->sha256, rc->sha256 + 32);
    field(cr, y += 6, "SHA-256", buf);

    if (photo && photo->rgb && photo->width && photo->height) {
        cairo_surface_t *ps = photo_surface(photo);
        if (cairo_surface_status(ps) == CAIRO_STATUS_SUCCESS) {
            double w = 26.0, h = w * photo->height / photo->width; /* 26 x 32 mm as printed */
            cairo_save(cr);
            cairo_translate(cr, 8, 88);
            cairo_scale(cr, w / photo->width, h / photo->height);
            cairo_set_source_surface(cr, ps, 0, 0);
            cairo_paint(cr);
            cairo_restore(cr);
            cairo_rectangle(cr, 8, 88, w, h);
            cairo_set_line_width(cr, 0.2);
            cairo_stroke(cr);
        }
        cairo_surface_destroy(ps);
    }
    int r = photo_receipt_qr_text(rc, qr_text, sizeof(qr_text));
    if (r == 0)
        r = draw_qr(cr, qr_text, 52, 84, 45);
    if (r < 0)
        return r;
    text_at(cr, 8, 132, 89, "Noto Sans CJK SC 2.2", wd->footer);
    return cairo_status(cr) == CAIRO_STATUS_SUCCESS ? 0 : PHOTO_ERROR_NOMEM;
}

int photo_receipt_render(const struct photo_receipt *receipt, const struct photo_image *photo,
                         enum photo_receipt_format format, const char *path)
{
    return photo_receipt_render_words(receipt, NULL, photo, format, path);
}

int photo_receipt_render_words(const struct photo_receipt *receipt, const struct photo_receipt_words *words,
                               const struct photo_image *photo, enum photo_receipt_format format,
                               const char *path)
{
    cairo_surface_t *s;
    cairo_t *cr;
    int r;

    if (!receipt || !path || (format != PHOTO_RECEIPT_PNG && format != PHOTO_RECEIPT_PDF))
        return PHOTO_ERROR_INVALID;
    if (format == PHOTO_RECEIPT_PDF) {
        s = cairo_pdf_surface_create(path, A6_W_MM / MM_PER_INCH * PT_PER_INCH,
                                     A6_H_MM / MM_PER_INCH * PT_PER_INCH);
    } else {
        s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)(A6_W_MM / MM_PER_INCH * PNG_DPI + 0.5),
                                       (int)(A6_H_MM / MM_PER_INCH * PNG_DPI + 0.5));
    }
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return format == PHOTO_RECEIPT_PDF ? PHOTO_ERROR_IO : PHOTO_ERROR_NOMEM;
    }
    cr = cairo_create(s);
    double unit = format == PHOTO_RECEIPT_PDF ? PT_PER_INCH / MM_PER_INCH : PNG_DPI / MM_PER_INCH;
    cairo_scale(cr, unit, unit);
    r = draw_receipt(cr, receipt, words ? words : &bilingual, photo);
    cairo_destroy(cr);
    if (r == 0 && format == PHOTO_RECEIPT_PNG && cairo_surface_write_to_png(s, path) != CAIRO_STATUS_SUCCESS)
        r = PHOTO_ERROR_IO;
    cairo_surface_finish(s);
    if (r == 0 && cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        r = PHOTO_ERROR_IO;
    cairo_surface_destroy(s);
    return r;
}
