/* gen_portrait.c — synthetic ID-photo portraits drawn with cairo, so no test needs a real applicant's face */
#include "gen_portrait.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "photo.h"

#define PORTRAIT_QUALITY 80
#define PORTRAIT_DPI     350

struct rgb {
    double r, g, b; /* 0..255 */
};

/* splitmix32: tiny, good enough for picking looks, and keeps the generator free of global state. */
struct rng {
    uint32_t state;
};

static uint32_t rng_next(struct rng *g)
{
    uint32_t z = (g->state += 0x9e3779b9u);
    z = (z ^ (z >> 16)) * 0x85ebca6bu;
    z = (z ^ (z >> 13)) * 0xc2b2ae35u;
    return z ^ (z >> 16);
}

static double rng_range(struct rng *g, double lo, double hi)
{
    return lo + (hi - lo) * (double)(rng_next(g) >> 8) / 16777216.0;
}

static unsigned rng_pick(struct rng *g, unsigned n)
{
    return (unsigned)(((uint64_t)rng_next(g) * n) >> 32);
}

static double clamp255(double v)
{
    return v < 0.0 ? 0.0 : (v > 255.0 ? 255.0 : v);
}

static struct rgb shade(struct rgb c, double f)
{
    return (struct rgb){clamp255(c.r * f), clamp255(c.g * f), clamp255(c.b * f)};
}

static struct rgb mix(struct rgb a, struct rgb b, double t)
{
    return (struct rgb){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

static struct rgb jitter(struct rng *g, struct rgb c, double amount)
{
    double common = rng_range(g, -amount, amount);
    return (struct rgb){clamp255(c.r + common + rng_range(g, -2, 2)),
                        clamp255(c.g + common + rng_range(g, -2, 2)),
                        clamp255(c.b + common + rng_range(g, -2, 2))};
}

static void set_colour(cairo_t *cr, struct rgb c)
{
    cairo_set_source_rgb(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0);
}

enum hair_style { HAIR_SHORT, HAIR_SIDE_PART, HAIR_LONG, HAIR_BOB, HAIR_STYLE_COUNT };
enum neckline { NECK_CREW, NECK_V, NECK_SHIRT, NECKLINE_COUNT };

/* Everything that varies between portraits, fixed up front so drawing is pure geometry. */
struct look {
    double cx;       /* face centre x; also the eye midpoint */
    double eye_y;    /* eye line */
    double face_w;   /* cheek-to-cheek width, the photo rules' "face width" */
    double hair_top; /* highest hair pixel */
    double vertex;   /* top of the skull under the hair */
    double chin;
    double eye_dx; /* half the distance between eye centres */
    enum hair_style hair_style;
    enum neckline neckline;
    struct rgb skin, hair, brow, iris, lips, cloth, shirt;
};

static void choose_look(uint32_t seed, struct look *l)
{
    static const struct rgb skins[] = {
        {243, 208, 186}, {236, 192, 160}, {224, 172, 138}, {205, 150, 112},
        {176, 122, 88},  {141, 96, 68},   {110, 74, 54},   {232, 190, 150},
    };
    static const struct rgb hairs[] = {
        {22, 18, 18},  {38, 28, 24},    {62, 42, 30},   {98, 66, 40},
        {128, 70, 38}, {150, 146, 142}, {186, 150, 96},
    };
    static const struct rgb irises[] = {
        {45, 28, 20}, {74, 46, 28}, {96, 78, 46}, {70, 96, 120}, {70, 96, 70}};
    static const struct rgb cloths[] = {
        {24, 32, 68}, {44, 44, 50}, {18, 18, 22}, {30, 62, 46}, {92, 26, 36}, {62, 46, 36}, {40, 60, 100},
    };
    static const struct rgb shirts[] = {{250, 250, 250}, {214, 228, 246}, {236, 236, 228}};
    struct rng g = {seed ^ 0x5eed1d00u};

    l->face_w = rng_range(&g, 185.0, 225.0);
    l->cx = 179.0 + rng_range(&g, -5.0, 5.0);
    l->eye_y = rng_range(&g, 203.0, 221.0);
    l->hair_top = rng_range(&g, 11.0, 19.0);
    l->vertex = l->hair_top + rng_range(&g, 9.0, 18.0);
    l->chin = l->eye_y + l->face_w * rng_range(&g, 0.68, 0.74);
    l->eye_dx = l->face_w * rng_range(&g, 0.205, 0.225);
    l->hair_style = (enum hair_style)rng_pick(&g, HAIR_STYLE_COUNT);
    l->neckline = (enum neckline)rng_pick(&g, NECKLINE_COUNT);

    l->skin = jitter(&g, skins[rng_pick(&g, sizeof(skins) / sizeof(skins[0]))], 6.0);
    l->hair = jitter(&g, hairs[rng_pick(&g, sizeof(hairs) / sizeof(hairs[0]))], 5.0);
    /* Brows are darker than light hair; on dark hair they match it. */
    l->brow = mix(l->hair, (struct rgb){30, 22, 18}, 0.35);
    l->iris = irises[rng_pick(&g, sizeof(irises) / sizeof(irises[0]))];
    l->lips = mix(l->skin, (struct rgb){176, 76, 78}, rng_range(&g, 0.35, 0.55));
    l->cloth = jitter(&g, cloths[rng_pick(&g, sizeof(cloths) / sizeof(cloths[0]))], 6.0);
    l->shirt = shirts[rng_pick(&g, sizeof(shirts) / sizeof(shirts[0]))];
}

static void ellipse_path(cairo_t *cr, double x, double y, double rx, double ry)
{
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, rx, ry);
    cairo_new_sub_path(cr);
    cairo_arc(cr, 0.0, 0.0, 1.0, 0.0, 2.0 * M_PI);
    cairo_restore(cr);
}

/* Bezier handle length for the crown. A true ellipse (0.5523) makes a tall narrow head look pointed;
 * a fuller handle flattens the top the way a skull does. */
#define CROWN_K 0.68

/* Egg-shaped head: a dome from the cheeks to the skull top, a tapering jaw down to the chin. */
static void face_path(cairo_t *cr, const struct look *l)
{
    double a = l->face_w / 2.0, cx = l->cx, ey = l->eye_y;
    double up = ey - l->vertex, down = l->chin - ey;

    cairo_new_path(cr);
    cairo_move_to(cr, cx - a, ey);
    cairo_curve_to(cr, cx - a, ey - CROWN_K * up, cx - CROWN_K * a, l->vertex, cx, l->vertex);
    cairo_curve_to(cr, cx + CROWN_K * a, l->vertex, cx + a, ey - CROWN_K * up, cx + a, ey);
    cairo_curve_to(cr, cx + a, ey + 0.45 * down, cx + 0.82 * a, l->chin - 0.32 * down, cx + 0.5 * a,
                   l->chin - 0.1 * down);
    cairo_curve_to(cr, cx + 0.32 * a, l->chin + 0.01 * down, cx + 0.15 * a, l->chin, cx, l->chin);
    cairo_curve_to(cr, cx - 0.15 * a, l->chin, cx - 0.32 * a, l->chin + 0.01 * down, cx - 0.5 * a,
                   l->chin - 0.1 * down);
    cairo_curve_to(cr, cx - 0.82 * a, l->chin - 0.32 * down, cx - a, ey + 0.45 * down, cx - a, ey);
    cairo_close_path(cr);
}

/* Starts a new path with the crown of the hair: from the left side at y_side over (cx, top) to the
 * right side. */
static void hair_dome(cairo_t *cr, double cx, double top, double half_w, double y_side)
{
    double h = y_side - top;

    cairo_new_path(cr);
    cairo_move_to(cr, cx - half_w, y_side);
    cairo_curve_to(cr, cx - half_w, y_side - CROWN_K * h, cx - CROWN_K * half_w, top, cx, top);
    cairo_curve_to(cr, cx + CROWN_K * half_w, top, cx + half_w, y_side - CROWN_K * h, cx + half_w, y_side);
}

static void draw_back_hair(cairo_t *cr, const struct look *l)
{
    double a = l->face_w / 2.0;

    if (l->hair_style == HAIR_LONG) {
        double bottom = l->chin + 30.0;
        hair_dome(cr, l->cx, l->hair_top, a + 16.0, l->eye_y);
        cairo_line_to(cr, l->cx + a + 24.0, bottom);
        cairo_curve_to(cr, l->cx + a, bottom + 12.0, l->cx - a, bottom + 12.0, l->cx - a - 24.0, bottom);
        cairo_close_path(cr);
        set_colour(cr, shade(l->hair, 0.85));
        cairo_fill(cr);
    } else if (l->hair_style == HAIR_BOB) {
        double bottom = l->eye_y + 0.42 * l->face_w;
        hair_dome(cr, l->cx, l->hair_top, a + 14.0, l->eye_y);
        cairo_curve_to(cr, l->cx + a + 16.0, bottom - 30.0, l->cx + a + 8.0, bottom, l->cx + a - 10.0,
                       bottom);
        cairo_line_to(cr, l->cx - a + 10.0, bottom);
        cairo_curve_to(cr, l->cx - a - 8.0, bottom, l->cx - a - 16.0, bottom - 30.0, l->cx - a - 14.0,
                       l->eye_y);
        cairo_close_path(cr);
        set_colour(cr, shade(l->hair, 0.85));
        cairo_fill(cr);
    }
}

static void draw_neck_and_clothes(cairo_t *cr, const struct look *l)
{
    double nw = 0.24 * l->face_w; /* half neck width */
    double collar = fmin(l->chin + 14.0, (double)PHOTO_HEIGHT - 20.0);
    double edge = fmin(collar + 16.0, (double)PHOTO_HEIGHT - 6.0);
    double cx = l->cx;
    struct rgb neck = shade(l->skin, 0.9);

    cairo_new_path(cr);
    cairo_rectangle(cr, cx - nw, l->eye_y + 0.4 * l->face_w, 2.0 * nw, PHOTO_HEIGHT);
    set_colour(cr, neck);
    cairo_fill_preserve(cr);
    /* Shadow cast by the jaw, fading down the neck. */
    struct rgb dark = shade(l->skin, 0.62);
    cairo_pattern_t *p = cairo_pattern_create_linear(0.0, l->chin - 12.0, 0.0, l->chin + 16.0);
    cairo_pattern_add_color_stop_rgba(p, 0.0, dark.r / 255.0, dark.g / 255.0, dark.b / 255.0, 0.8);
    cairo_pattern_add_color_stop_rgba(p, 1.0, dark.r / 255.0, dark.g / 255.0, dark.b / 255.0, 0.0);
    cairo_set_source(cr, p);
    cairo_fill(cr);
    cairo_pattern_destroy(p);

    double v_depth = l->neckline == NECK_CREW ? 18.0 : 64.0;
    cairo_new_path(cr);
    cairo_move_to(cr, -5.0, PHOTO_HEIGHT + 5.0);
    cairo_line_to(cr, -5.0, edge);
    cairo_curve_to(cr, 30.0, edge - 10.0, cx - nw - 40.0, collar - 2.0, cx - nw - 6.0, collar - 6.0);
    if (l->neckline == NECK_CREW)
        cairo_curve_to(cr, cx - nw + 10.0, collar + v_depth, cx + nw - 10.0, collar + v_depth, cx + nw + 6.0,
                       collar - 6.0);
    else {
        cairo_line_to(cr, cx, collar + v_depth);
        cairo_line_to(cr, cx + nw + 6.0, collar - 6.0);
    }
    cairo_curve_to(cr, cx + nw + 50.0, collar - 4.0, PHOTO_WIDTH - 40.0, edge - 14.0, PHOTO_WIDTH + 5.0,
                   edge);
    cairo_line_to(cr, PHOTO_WIDTH + 5.0, PHOTO_HEIGHT + 5.0);
    cairo_close_path(cr);
    set_colour(cr, l->cloth);
    cairo_fill(cr);

    if (l->neckline == NECK_SHIRT) {
        /* Shirt front inside the jacket's V, with the neck showing above the collar. */
        cairo_new_path(cr);
        cairo_move_to(cr, cx - nw - 6.0, collar - 7.0);
        cairo_line_to(cr, cx + nw + 6.0, collar - 7.0);
        cairo_line_to(cr, cx, collar + v_depth - 2.0);
        cairo_close_path(cr);
        set_colour(cr, l->shirt);
        cairo_fill(cr);
        cairo_new_path(cr);
        cairo_move_to(cr, cx - nw + 1.0, collar - 8.0);
        cairo_line_to(cr, cx + nw - 1.0, collar - 8.0);
        cairo_line_to(cr, cx, collar + 18.0);
        cairo_close_path(cr);
        set_colour(cr, neck);
        cairo_fill(cr);
        cairo_new_path(cr);
        cairo_move_to(cr, cx - nw - 4.0, collar - 6.0);
        cairo_line_to(cr, cx, collar + 18.0);
        cairo_line_to(cr, cx + nw + 4.0, collar - 6.0);
        cairo_set_line_width(cr, 1.5);
        set_colour(cr, shade(l->shirt, 0.8));
        cairo_stroke(cr);
    }
}

static void draw_ears(cairo_t *cr, const struct look *l)
{
    double a = l->face_w / 2.0, y = l->eye_y + 0.1 * l->face_w;
    double rx = 0.065 * l->face_w, ry = 0.13 * l->face_w;

    for (int side = -1; side <= 1; side += 2) {
        double x = l->cx + side * (a - 0.01 * l->face_w);
        cairo_new_path(cr);
        ellipse_path(cr, x, y, rx, ry);
        set_colour(cr, shade(l->skin, 0.93));
        cairo_fill(cr);
        cairo_new_path(cr);
        ellipse_path(cr, x + side * rx * 0.25, y, rx * 0.45, ry * 0.6);
        set_colour(cr, shade(l->skin, 0.8));
        cairo_set_line_width(cr, 2.0);
        cairo_stroke(cr);
    }
}

static void draw_face(cairo_t *cr, const struct look *l)
{
    double a = l->face_w / 2.0;

    face_path(cr, l);
    set_colour(cr, l->skin);
    cairo_fill_preserve(cr);
    /* Soft fall-off towards the edges so the face reads as round rather than a flat sticker. */
    cairo_save(cr);
    cairo_clip(cr);
    cairo_pattern_t *p = cairo_pattern_create_radial(l->cx, l->eye_y + 0.12 * l->face_w, a * 0.35, l->cx,
                                                     l->eye_y + 0.05 * l->face_w, a * 1.45);
    struct rgb edge = shade(l->skin, 0.8);
    cairo_pattern_add_color_stop_rgba(p, 0.0, edge.r / 255.0, edge.g / 255.0, edge.b / 255.0, 0.0);
    cairo_pattern_add_color_stop_rgba(p, 1.0, edge.r / 255.0, edge.g / 255.0, edge.b / 255.0, 0.9);
    cairo_set_source(cr, p);
    cairo_paint(cr);
    cairo_pattern_destroy(p);
    cairo_restore(cr);
}

static void draw_front_hair(cairo_t *cr, const struct look *l)
{
    double a = l->face_w / 2.0, cx = l->cx, up = l->eye_y - l->vertex;
    double side_y = l->eye_y - 0.12 * up;    /* where hair meets the face at the temples */
    double hairline = l->vertex + 0.33 * up; /* middle of the forehead's upper edge */
    double temple_y = l->eye_y - 0.36 * up;
    double margin = l->hair_style == HAIR_SHORT ? 5.0 : 9.0;

    hair_dome(cr, cx, l->hair_top, a + margin, side_y);
    cairo_line_to(cr, cx + a - 3.0, side_y);
    switch (l->hair_style) {
    case HAIR_SIDE_PART:
        /* Fringe swept from a left parting down across the right temple. */
        cairo_curve_to(cr, cx + a - 8.0, temple_y, cx + 0.5 * a, hairline + 0.06 * up, cx + 0.1 * a,
                       hairline + 0.02 * up);
        cairo_curve_to(cr, cx - 0.2 * a, hairline, cx - 0.35 * a, hairline - 0.12 * up, cx - 0.42 * a,
                       hairline - 0.18 * up);
        cairo_curve_to(cr, cx - 0.6 * a, hairline - 0.05 * up, cx - a + 6.0, temple_y - 0.05 * up,
                       cx - a + 3.0, side_y);
        break;
    case HAIR_LONG:
        /* Centre parting. */
        cairo_curve_to(cr, cx + a - 6.0, temple_y, cx + 0.45 * a, hairline, cx, hairline - 0.08 * up);
        cairo_curve_to(cr, cx - 0.45 * a, hairline, cx - a + 6.0, temple_y, cx - a + 3.0, side_y);
        break;
    case HAIR_BOB:
        /* Straight fringe. */
        cairo_curve_to(cr, cx + a - 4.0, temple_y, cx + 0.8 * a, hairline + 0.12 * up, cx + 0.5 * a,
                       hairline + 0.13 * up);
        cairo_curve_to(cr, cx + 0.2 * a, hairline + 0.15 * up, cx - 0.2 * a, hairline + 0.15 * up,
                       cx - 0.5 * a, hairline + 0.13 * up);
        cairo_curve_to(cr, cx - 0.8 * a, hairline + 0.12 * up, cx - a + 4.0, temple_y, cx - a + 3.0, side_y);
        break;
    case HAIR_SHORT:
    default:
        cairo_curve_to(cr, cx + a - 8.0, temple_y, cx + 0.55 * a, hairline, cx, hairline);
        cairo_curve_to(cr, cx - 0.55 * a, hairline, cx - a + 8.0, temple_y, cx - a + 3.0, side_y);
        break;
    }
    cairo_close_path(cr);
    set_colour(cr, l->hair);
    cairo_fill(cr);
}

static void draw_eye(cairo_t *cr, const struct look *l, double ex)
{
    double ey = l->eye_y, rx = 0.08 * l->face_w, ry = 0.028 * l->face_w;
    double iris_r = 0.036 * l->face_w;

    cairo_new_path(cr);
    cairo_move_to(cr, ex - rx, ey);
    cairo_curve_to(cr, ex - 0.5 * rx, ey - 1.5 * ry, ex + 0.5 * rx, ey - 1.5 * ry, ex + rx, ey);
    cairo_curve_to(cr, ex + 0.5 * rx, ey + 1.2 * ry, ex - 0.5 * rx, ey + 1.2 * ry, ex - rx, ey);
    cairo_close_path(cr);
    cairo_set_source_rgb(cr, 0.96, 0.95, 0.93);
    cairo_fill_preserve(cr);

    cairo_save(cr);
    cairo_clip_preserve(cr);
    cairo_new_path(cr);
    cairo_arc(cr, ex, ey - 0.1 * ry, iris_r, 0.0, 2.0 * M_PI);
    set_colour(cr, l->iris);
    cairo_fill(cr);
    cairo_arc(cr, ex, ey - 0.1 * ry, iris_r * 0.42, 0.0, 2.0 * M_PI);
    cairo_set_source_rgb(cr, 0.04, 0.03, 0.03);
    cairo_fill(cr);
    cairo_arc(cr, ex + iris_r * 0.35, ey - iris_r * 0.4, iris_r * 0.16, 0.0, 2.0 * M_PI);
    cairo_set_source_rgb(cr, 1.0, 1.0, 1.0);
    cairo_fill(cr);
    cairo_restore(cr);

    /* Upper lid and lashes. */
    cairo_new_path(cr);
    cairo_move_to(cr, ex - rx - 1.0, ey + 0.5);
    cairo_curve_to(cr, ex - 0.5 * rx, ey - 1.55 * ry, ex + 0.5 * rx, ey - 1.55 * ry, ex + rx + 1.0, ey - 0.5);
    cairo_set_line_width(cr, 2.2);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    set_colour(cr, mix(l->brow, (struct rgb){20, 15, 15}, 0.5));
    cairo_stroke(cr);
    /* Lid crease. */
    cairo_move_to(cr, ex - 0.8 * rx, ey - 1.45 * ry);
    cairo_curve_to(cr, ex - 0.3 * rx, ey - 2.3 * ry, ex + 0.4 * rx, ey - 2.3 * ry, ex + 0.85 * rx,
                   ey - 1.5 * ry);
    cairo_set_line_width(cr, 1.2);
    set_colour(cr, shade(l->skin, 0.78));
    cairo_stroke(cr);
}

static void draw_features(cairo_t *cr, const struct look *l)
{
    double fw = l->face_w, cx = l->cx, ey = l->eye_y;

    for (int side = -1; side <= 1; side += 2) {
        double ex = cx + side * l->eye_dx;
        draw_eye(cr, l, ex);
        /* Eyebrow: arched, thicker towards the nose. */
        double by = ey - 0.115 * fw, inner = ex - side * 0.085 * fw, outer = ex + side * 0.1 * fw;
        cairo_new_path(cr);
        cairo_move_to(cr, inner, by + 2.0);
        cairo_curve_to(cr, inner + side * 0.05 * fw, by - 4.0, outer - side * 0.06 * fw, by - 5.0, outer,
                       by + 3.0);
        cairo_set_line_width(cr, 0.024 * fw);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
        set_colour(cr, l->brow);
        cairo_stroke(cr);
    }

    /* Nose: a shaded bridge side, the tip and two nostrils. */
    struct rgb nose = shade(l->skin, 0.76);
    double tip = ey + 0.32 * fw;
    cairo_new_path(cr);
    cairo_move_to(cr, cx - 0.045 * fw, ey + 0.04 * fw);
    cairo_curve_to(cr, cx - 0.05 * fw, ey + 0.15 * fw, cx - 0.07 * fw, tip - 0.06 * fw, cx - 0.075 * fw,
                   tip - 0.02 * fw);
    cairo_set_line_width(cr, 1.6);
    set_colour(cr, shade(l->skin, 0.86));
    cairo_stroke(cr);
    for (int side = -1; side <= 1; side += 2) {
        cairo_new_path(cr);
        cairo_move_to(cr, cx + side * 0.085 * fw, tip - 0.03 * fw);
        cairo_curve_to(cr, cx + side * 0.1 * fw, tip + 0.01 * fw, cx + side * 0.06 * fw, tip + 0.025 * fw,
                       cx + side * 0.03 * fw, tip + 0.015 * fw);
        cairo_set_line_width(cr, 2.0);
        set_colour(cr, nose);
        cairo_stroke(cr);
        cairo_new_path(cr);
        ellipse_path(cr, cx + side * 0.035 * fw, tip + 0.008 * fw, 0.017 * fw, 0.008 * fw);
        set_colour(cr, shade(l->skin, 0.55));
        cairo_fill(cr);
    }

    /* Mouth: closed, neutral. */
    double my = ey + 0.48 * fw, mw = 0.16 * fw;
    cairo_new_path(cr);
    cairo_move_to(cr, cx - mw, my);
    cairo_curve_to(cr, cx - 0.6 * mw, my - 0.07 * fw, cx - 0.2 * mw, my - 0.065 * fw, cx, my - 0.04 * fw);
    cairo_curve_to(cr, cx + 0.2 * mw, my - 0.065 * fw, cx + 0.6 * mw, my - 0.07 * fw, cx + mw, my);
    cairo_curve_to(cr, cx + 0.5 * mw, my + 0.09 * fw, cx - 0.5 * mw, my + 0.09 * fw, cx - mw, my);
    cairo_close_path(cr);
    set_colour(cr, l->lips);
    cairo_fill(cr);
    cairo_new_path(cr);
    cairo_move_to(cr, cx - mw, my);
    cairo_curve_to(cr, cx - 0.4 * mw, my + 0.012 * fw, cx + 0.4 * mw, my + 0.012 * fw, cx + mw, my);
    cairo_set_line_width(cr, 1.6);
    set_colour(cr, shade(l->lips, 0.6));
    cairo_stroke(cr);
}

/* cairo's RGB24 is a native-endian 32-bit 0x00RRGGBB per pixel; the encoder wants packed R, G, B bytes. */
static void surface_to_rgb(cairo_surface_t *surface, uint8_t *rgb)
{
    const unsigned char *data = cairo_image_surface_get_data(surface);
    int stride = cairo_image_surface_get_stride(surface);

    for (int y = 0; y < PHOTO_HEIGHT; y++) {
        const unsigned char *row = data + (size_t)y * (size_t)stride;
        for (int x = 0; x < PHOTO_WIDTH; x++) {
            uint32_t v;
            memcpy(&v, row + 4 * x, sizeof(v));
            uint8_t *p = rgb + ((size_t)y * PHOTO_WIDTH + (size_t)x) * 3u;
            p[0] = (uint8_t)(v >> 16);
            p[1] = (uint8_t)(v >> 8);
            p[2] = (uint8_t)v;
        }
    }
}

int producer_gen_portrait(uint32_t seed, uint8_t **ret_jpeg, size_t *ret_len)
{
    struct look l;
    uint8_t *rgb = NULL;
    int r = PHOTO_ERROR_NOMEM;

    if (!ret_jpeg || !ret_len)
        return PHOTO_ERROR_INVALID;
    choose_look(seed, &l);

    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PHOTO_WIDTH, PHOTO_HEIGHT);
    cairo_t *cr = cairo_create(surface);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        goto out;

    cairo_set_source_rgb(cr, 1.0, 1.0, 1.0);
    cairo_paint(cr);
    draw_back_hair(cr, &l);
    draw_neck_and_clothes(cr, &l);
    draw_ears(cr, &l);
    draw_face(cr, &l);
    draw_front_hair(cr, &l);
    draw_features(cr, &l);
    cairo_surface_flush(surface);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS || cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
        goto out;

    rgb = malloc((size_t)PHOTO_WIDTH * PHOTO_HEIGHT * 3u);
    if (!rgb)
        goto out;
    surface_to_rgb(surface, rgb);
    r = photo_encode_jpeg(rgb, PHOTO_WIDTH, PHOTO_HEIGHT, PORTRAIT_QUALITY, PORTRAIT_DPI, ret_jpeg, ret_len);
out:
    free(rgb);
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    return r;
}
