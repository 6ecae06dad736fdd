/* dispatch_docs.c — the papers that travel with a shipment: the label (GS1-128 and QR of the shipment id, PNG
 * or PDF) and the manifest (PDF with signature lines, or CSV), holder data masked, in the reader's language
 * (the web request's or the command's, base/i18n.h) */
#include "dispatch/dispatch.h"
#include "store/shipments.h"

#include "base/csv.h"
#include "base/i18n.h"
#include "base/log.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zint.h>

#define MM_PER_INCH 25.4
#define LABEL_W_MM  100.0
#define LABEL_H_MM  70.0
#define LABEL_DPI   300.0
#define A4_W_PT     595.276
#define A4_H_PT     841.890

/* Draw a zint symbol's rectangles into the box (x, y, w, h) in the current user units, keeping its aspect. */
static int draw_symbol(cairo_t *cr, int symbology, const char *data, double x, double y, double w, double h)
{
    struct zint_symbol *sym = ZBarcode_Create();
    double sx, sy, s;
    int r;

    if (!sym)
        return PRODUCER_ERROR_NOMEM;
    sym->symbology = symbology;
    sym->show_hrt = 0;
    sym->whitespace_width = 0;
    if (symbology == BARCODE_GS1_128)
        sym->input_mode = GS1_MODE;
    else
        sym->option_1 = 2; /* QR error correction M */
    r = ZBarcode_Encode_and_Buffer_Vector(sym, (const unsigned char *)data, (int)strlen(data), 0);
    if (r >= ZINT_ERROR || !sym->vector) {
        log_debug("dispatch", "zint: %s", sym->errtxt);
        ZBarcode_Delete(sym);
        return DISPATCH_ERROR_RENDER;
    }
    sx = w / sym->vector->width;
    sy = h / sym->vector->height;
    /* a linear symbol stretches to the box height; a matrix symbol keeps square modules */
    s = sx < sy ? sx : sy;
    if (symbology == BARCODE_GS1_128)
        s = sx;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    if (symbology == BARCODE_GS1_128)
        cairo_scale(cr, sx, sy);
    else
        cairo_scale(cr, s, s);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (struct zint_vector_rect *rect = sym->vector->rectangles; rect; rect = rect->next) {
        if (rect->colour == -1 || rect->colour == 7)
            cairo_rectangle(cr, rect->x, rect->y, rect->width, rect->height);
    }
    cairo_fill(cr);
    cairo_restore(cr);
    ZBarcode_Delete(sym);
    return 0;
}

static void text(cairo_t *cr, const char *font, const char *s, double x, double y, double width)
{
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *fd = pango_font_description_from_string(font);

    pango_layout_set_font_description(layout, fd);
    if (width > 0) {
        pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
        pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
    }
    pango_layout_set_text(layout, s, -1);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout);
    pango_font_description_free(fd);
    g_object_unref(layout);
}

/* A date or time from the store ("2026-12-05", "2026-12-05 07:05") as the reader writes it: the catalog says
 * the order (Chinese: 2026年12月05日 07:05); anything else unchanged */
static const char *doc_date(const char *s, char *out, size_t size)
{
    char y[5], m[3], d[3];

    if (!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-') {
        snprintf(out, size, "%s", s ? s : "");
        return out;
    }
    snprintf(y, sizeof(y), "%.4s", s);
    snprintf(m, sizeof(m), "%.2s", s + 5);
    snprintf(d, sizeof(d), "%.2s", s + 8);
    /* TRANSLATORS: a date: year, month, day (two digits each) */
    int n = snprintf(out, size, _("%s-%s-%s"), y, m, d);
    if (n >= 0 && (size_t)n < size && s[10])
        snprintf(out + n, size - (size_t)n, "%s", s + 10);
    return out;
}

/* The label in millimetres: addressee on top, the GS1-128 across, the QR and the human-readable id below. */
static int draw_label(cairo_t *cr, const struct store_shipment_label *l)
{
    char gs1[32], hri[40], line[256], sealed[64];
    int r;

    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.4);
    cairo_rectangle(cr, 1, 1, LABEL_W_MM - 2, LABEL_H_MM - 2);
    cairo_stroke(cr);
    text(cr, "Noto Sans CJK SC Bold 4.2", l->outlet_name, 4, 3, LABEL_W_MM - 8);
    snprintf(line, sizeof(line), _("%s · %s · %d card(s) · sealed %s"), l->outlet, l->county, l->cards,
             l->sealed_at[0] ? doc_date(l->sealed_at, sealed, sizeof(sealed)) : _("(open)"));
    text(cr, "Noto Sans CJK SC 2.4", line, 4, 10.5, LABEL_W_MM - 8);
    snprintf(gs1, sizeof(gs1), "[00]%s", l->id);
    r = draw_symbol(cr, BARCODE_GS1_128, gs1, 6, 17, LABEL_W_MM - 12, 24);
    if (r < 0)
        return r;
    /* GS1 human-readable interpretation: (00) extension, company prefix + serial, check digit */
    snprintf(hri, sizeof(hri), "(00) %.1s %.16s %.1s", l->id, l->id + 1, l->id + 17);
    text(cr, "DejaVu Sans Mono 3.2", hri, 12, 42, 0);
    r = draw_symbol(cr, BARCODE_QRCODE, l->id, 4, 48.5, 19, 19);
    if (r < 0)
        return r;
    text(cr, "Noto Sans CJK SC 2.6", _("Social security cards · shipment label"), 26, 50, LABEL_W_MM - 30);
    text(cr, "Noto Sans CJK SC 2.6", _("Scan at the outlet to record receipt."), 26, 55, LABEL_W_MM - 30);
    return 0;
}

static int finish_surface(cairo_surface_t *surface, int r)
{
    cairo_surface_flush(surface);
    if (r == 0 && cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
        r = PRODUCER_ERROR_IO;
    cairo_surface_finish(surface);
    if (r == 0 && cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
        r = PRODUCER_ERROR_IO;
    cairo_surface_destroy(surface);
    return r;
}

int producer_dispatch_label(PGconn *conn, const char *shipment_id, const char *format, const char *path)
{
    struct store_shipment_label l;
    cairo_surface_t *surface;
    cairo_t *cr;
    bool png = format && strcmp(format, "png") == 0;
    int r;

    if (!format || (!png && strcmp(format, "pdf") != 0) || !path)
        return PRODUCER_ERROR_INVALID;
    r = store_shipments_label(conn, shipment_id, &l);
    if (r < 0)
        return r;
    if (png)
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)(LABEL_W_MM / MM_PER_INCH * LABEL_DPI),
                                             (int)(LABEL_H_MM / MM_PER_INCH * LABEL_DPI));
    else
        surface =
            cairo_pdf_surface_create(path, LABEL_W_MM / MM_PER_INCH * 72, LABEL_H_MM / MM_PER_INCH * 72);
    cr = cairo_create(surface);
    cairo_scale(cr, (png ? LABEL_DPI : 72) / MM_PER_INCH, (png ? LABEL_DPI : 72) / MM_PER_INCH);
    if (png)
        cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE); /* crisp bar edges for scanners */
    r = draw_label(cr, &l);
    if (r == 0 && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        r = DISPATCH_ERROR_RENDER;
    cairo_destroy(cr);
    if (r == 0 && png && cairo_surface_write_to_png(surface, path) != CAIRO_STATUS_SUCCESS)
        r = PRODUCER_ERROR_IO;
    return finish_surface(surface, r);
}

/* --- manifest ------------------------------------------------------------------------------------------- */

/* the rows hold holder data in clear: wipe them before giving the memory back */
static void free_rows(struct store_shipment_card *rows, int n)
{
    if (rows)
        explicit_bzero(rows, (size_t)n * sizeof(*rows));
    free(rows);
}

int producer_dispatch_manifest(PGconn *conn, const char *shipment_id, const char *format, const char *path)
{
    struct store_shipment_label l;
    struct store_shipment_card *rows = NULL;
    bool csv = format && strcmp(format, "csv") == 0;
    int r, n;

    if (!format || (!csv && strcmp(format, "pdf") != 0) || !path)
        return PRODUCER_ERROR_INVALID;
    r = store_shipments_label(conn, shipment_id, &l);
    if (r < 0)
        return r;
    r = store_shipments_manifest(conn, shipment_id, &rows, &n);
    if (r < 0)
        return r;
    if (csv) {
        static const char *const header[] = {"shipment", "outlet", "card_number", "application",
                                             "holder",   "ssn",    "status"};
        FILE *f = fopen(path, "we");
        if (!f) {
            log_error("dispatch", "cannot write %s: %s", path, strerror(errno));
            free_rows(rows, n);
            return PRODUCER_ERROR_IO;
        }
        r = csv_write_record(f, header, 7, 0);
        for (int i = 0; i < n && r == 0; i++) {
            char name[256], ssn[48];
            producer_mask_name(rows[i].name, name, sizeof(name));
            producer_mask_doc(rows[i].ssn, ssn, sizeof(ssn));
            /* every value quoted, as manifests always were; a leading formula character neutralised */
            const char *const fields[] = {l.id, l.outlet, rows[i].card_number, rows[i].application,
                                          name, ssn,      rows[i].card_status};
            r = csv_write_record(f, fields, 7, CSV_WRITE_QUOTE_ALL | CSV_WRITE_SAFE_FORMULA);
        }
        if (fclose(f) != 0)
            r = -1;
        free_rows(rows, n);
        return r == 0 ? 0 : PRODUCER_ERROR_IO;
    }

    cairo_surface_t *surface = cairo_pdf_surface_create(path, A4_W_PT, A4_H_PT);
    cairo_t *cr = cairo_create(surface);
    const int rows_per_page = 40;
    int pages = n / rows_per_page + 1;
    char line[512], sealed[64];

    for (int page = 0; page < pages; page++) {
        double y = 40;
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, "Noto Sans CJK SC Bold 15", _("Shipment manifest · social security cards"), 40, y, 0);
        y += 26;
        snprintf(line, sizeof(line), _("Shipment %s    Outlet %s %s"), l.id, l.outlet, l.outlet_name);
        text(cr, "Noto Sans CJK SC 8.5", line, 40, y, A4_W_PT - 80);
        y += 13;
        snprintf(line, sizeof(line), _("Cards %d    Sealed %s    Page %d of %d"), l.cards,
                 l.sealed_at[0] ? doc_date(l.sealed_at, sealed, sizeof(sealed)) : _("(open)"), page + 1,
                 pages);
        text(cr, "Noto Sans CJK SC 8.5", line, 40, y, A4_W_PT - 80);
        y += 22;
        text(cr, "Noto Sans CJK SC Bold 9", "#", 40, y, 0);
        text(cr, "Noto Sans CJK SC Bold 9", _("Card number"), 70, y, 0);
        text(cr, "Noto Sans CJK SC Bold 9", _("Application"), 160, y, 0);
        text(cr, "Noto Sans CJK SC Bold 9", _("Holder"), 300, y, 0);
        text(cr, "Noto Sans CJK SC Bold 9", _("Social security number"), 380, y, 0);
        text(cr, "Noto Sans CJK SC Bold 9", "✓", 535, y, 0);
        y += 15;
        cairo_move_to(cr, 40, y);
        cairo_line_to(cr, A4_W_PT - 40, y);
        cairo_set_line_width(cr, 0.6);
        cairo_stroke(cr);
        y += 3;
        for (int i = page * rows_per_page; i < n && i < (page + 1) * rows_per_page; i++) {
            char name[256], ssn[48], num[16];
            producer_mask_name(rows[i].name, name, sizeof(name));
            producer_mask_doc(rows[i].ssn, ssn, sizeof(ssn));
            snprintf(num, sizeof(num), "%d", i + 1);
            text(cr, "Noto Sans CJK SC 8.5", num, 40, y, 0);
            text(cr, "DejaVu Sans Mono 8.5", rows[i].card_number, 70, y, 0);
            text(cr, "DejaVu Sans Mono 8.5", rows[i].application, 160, y, 135);
            text(cr, "Noto Sans CJK SC 8.5", name, 300, y, 75);
            text(cr, "DejaVu Sans Mono 8.5", ssn, 380, y, 0);
            cairo_rectangle(cr, 535, y + 2, 8, 8);
            cairo_stroke(cr);
            y += 15;
        }
        if (page == pages - 1) {
            static const char *const sign[] = {N_("Packed and sealed by (bureau)"), N_("Courier"),
                                               N_("Received at the outlet by")};
            y += 20;
            snprintf(line, sizeof(line), _("Total: %d card(s). Holder data is masked."), n);
            text(cr, "Noto Sans CJK SC 9", line, 40, y, 0);
            y += 30;
            for (int s = 0; s < 3; s++) {
                text(cr, "Noto Sans CJK SC 9", _(sign[s]), 40, y, 0);
                cairo_move_to(cr, 250, y + 13);
                cairo_line_to(cr, 420, y + 13);
                cairo_move_to(cr, 450, y + 13);
                cairo_line_to(cr, A4_W_PT - 40, y + 13);
                cairo_stroke(cr);
                text(cr, "Noto Sans CJK SC 7", _("signature"), 250, y + 15, 0);
                text(cr, "Noto Sans CJK SC 7", _("date and time"), 450, y + 15, 0);
                y += 42;
            }
        }
        cairo_show_page(cr);
    }
    r = cairo_status(cr) == CAIRO_STATUS_SUCCESS ? 0 : DISPATCH_ERROR_RENDER;
    cairo_destroy(cr);
    free_rows(rows, n);
    return finish_surface(surface, r);
}
