/* draw.c — draws the layers of a card face with cairo: background, chip keep-out, photo, texts, K mask */
#include "render/render-private.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <cairo.h>
#include <pango/pangocairo.h>

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

void face_draw_background(cairo_t *cr, const struct printer_layout *lay)
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

void face_draw_chip_keepout(cairo_t *cr, const struct printer_layout *lay)
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
void face_draw_photo_frame(cairo_t *cr, const struct printer_layout *lay)
{
    const struct printer_face_rect w = lay->photo;

    cairo_rectangle(cr, w.x - lay->photo_frame_width / 2, w.y - lay->photo_frame_width / 2,
                    w.w + lay->photo_frame_width, w.h + lay->photo_frame_width);
    set_colour(cr, lay->photo_frame);
    cairo_set_line_width(cr, lay->photo_frame_width);
    cairo_stroke(cr);
}

/* The window itself: the mat behind a photo, or the placeholder when there is none. */
void face_draw_photo_mat(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay)
{
    const struct printer_face_rect w = lay->photo;

    cairo_rectangle(cr, w.x, w.y, w.w, w.h);
    set_colour(cr, f->photo_rgb ? lay->photo_mat : lay->photo_placeholder);
    cairo_fill(cr);
}

/* How the photo sits in the window: fit inside, aspect preserved, centred, so that the applicant's face
 * is never cropped. The one place this arithmetic lives: both ways of drawing the photo use it. */
double face_photo_scale(const struct printer_face *f, const struct printer_layout *lay)
{
    return dmin(lay->photo.w / f->photo_width, lay->photo.h / f->photo_height);
}

void face_photo_origin(const struct printer_face *f, const struct printer_layout *lay, double scale,
                       double *ret_x, double *ret_y)
{
    const struct printer_face_rect w = lay->photo;

    *ret_x = w.x + (w.w - f->photo_width * scale) / 2;
    *ret_y = w.y + (w.h - f->photo_height * scale) / 2;
}

/* The clip and the path of the photo fill, under the photo's transformation. */
void face_photo_path(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay)
{
    const struct printer_face_rect w = lay->photo;
    double scale = face_photo_scale(f, lay), x, y;

    face_photo_origin(f, lay, scale, &x, &y);
    cairo_rectangle(cr, w.x, w.y, w.w, w.h);
    cairo_clip(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, scale, scale);
    cairo_rectangle(cr, 0, 0, f->photo_width, f->photo_height);
}

/* The photo scaled by cairo's GOOD filter (pixman's separable box convolution). */
int face_draw_photo_image(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay)
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
    face_photo_path(cr, f, lay);
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
    face_draw_photo_frame(cr, lay);
    face_draw_photo_mat(cr, f, lay);
    return f->photo_rgb ? face_draw_photo_image(cr, f, lay) : 0;
}

void face_draw_text(cairo_t *cr, const struct face_text *t, bool mask)
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

int face_cairo_error(cairo_status_t status)
{
    if (status == CAIRO_STATUS_SUCCESS)
        return 0;
    return status == CAIRO_STATUS_NO_MEMORY ? PRINTER_ERROR_NOMEM : PRINTER_ERROR_IO;
}

/* cairo's RGB24 (one native uint32 0x00RRGGBB per pixel) to packed RGB bytes, n pixels of a row. */
void face_xrgb_to_rgb(const uint8_t *src, uint8_t *dst, size_t n)
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

int face_draw_composite(const struct face_job *job, const struct printer_face *f, struct printer_raster *ras)
{
    cairo_surface_t *surface;
    cairo_t *cr;
    int r;

    surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PRINTER_FACE_WIDTH, PRINTER_FACE_HEIGHT);
    cr = cairo_create(surface);
    r = face_cairo_error(cairo_status(cr));
    if (r == 0) {
        face_draw_background(cr, job->lay);
        face_draw_chip_keepout(cr, job->lay);
        r = draw_photo(cr, f, job->lay);
    }
    if (r == 0) {
        for (size_t i = 0; i < job->n_texts; i++)
            face_draw_text(cr, &job->texts[i], false);
        r = face_cairo_error(cairo_status(cr));
    }
    if (r == 0) {
        const uint8_t *data;
        int stride;

        cairo_surface_flush(surface);
        data = cairo_image_surface_get_data(surface);
        stride = cairo_image_surface_get_stride(surface);
        for (unsigned y = 0; y < ras->height; y++)
            face_xrgb_to_rgb(data + (size_t)y * (size_t)stride, ras->rgb + (size_t)y * ras->width * 3,
                             ras->width);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    return r;
}

int face_draw_kmask(const struct face_job *job, struct printer_raster *ras)
{
    cairo_surface_t *surface;
    cairo_t *cr;
    int r;

    surface = cairo_image_surface_create(CAIRO_FORMAT_A8, PRINTER_FACE_WIDTH, PRINTER_FACE_HEIGHT);
    cr = cairo_create(surface);
    r = face_cairo_error(cairo_status(cr));
    if (r == 0) {
        for (size_t i = 0; i < job->n_texts; i++)
            if (job->texts[i].slot->resin)
                face_draw_text(cr, &job->texts[i], true);
        r = face_cairo_error(cairo_status(cr));
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
