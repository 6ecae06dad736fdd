/* render-private.h — what the card face renderer's files share: limits, the per-call job, and the calls
 * between text fitting (text.c), drawing (draw.c), photo resampling (resample.c) and the static layer
 * (cache.c)
 */
#pragma once

#include "printer.h"
#include "render/face-private.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    /* per slot: the text as drawn on an earlier card with this layout, not laid out again (cache.c) */
    const struct face_sprite *sprites[FACE_TEXTS_MAX];
};

static inline double dmin(double a, double b)
{
    return a < b ? a : b;
}

static inline double dmax(double a, double b)
{
    return a > b ? a : b;
}

/* floor and ceil without libm, exact for the small magnitudes used here */
static inline double dfloor(double v)
{
    double t = (double)(long long)v;

    return t > v ? t - 1 : t;
}

static inline double dceil(double v)
{
    double t = (double)(long long)v;

    return t < v ? t + 1 : t;
}

/* --- the photo resampled as cairo does (resample.c) --- */

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

/* --- the layout's static layer (cache.c) --- */

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

/* --- the calls between the renderer's files: each returns 0 or a negative PRINTER_ERROR unless it says
 * otherwise --- */

/* face.c: a job's fresh Pango context (job_init) and its release (job_done, also after a failed init); the
 * layout to draw with, the caller's or the default file read into *ret_owned (freed by the caller). */
int face_job_init(struct face_job *job, const struct printer_layout *lay);
void face_job_done(struct face_job *job);
int face_use_layout(const struct printer_layout *given, const struct printer_layout **ret,
                    struct printer_layout **ret_owned);

/* text.c: the checks of a card's fields before anything is laid out; the text of each slot (date and valid
 * are the buffers the issue date and a temporary card's validity are written into); laying out one text, or
 * every text in layout order but the slots marked in skip and those cache has drawn before (either may be
 * NULL). PRINTER_ERROR_FONT sets bad_char. */
int face_check(const struct printer_face *f);
void face_card_texts(const struct printer_layout *lay, const struct printer_face *f, char date[32],
                     char valid[64], const char *texts[FACE_TEXTS_MAX]);
int face_place_text(struct face_job *job, const struct face_slot *s, const char *text, bool may_wrap,
                    char *bad_char);
int face_place_texts(struct face_job *job, const char *const texts[FACE_TEXTS_MAX], const bool *skip,
                     struct face_cache *cache, char *bad_char);

/* draw.c: the layers in the order a card shows them, the photo's place, a cairo status as a PRINTER_ERROR,
 * RGB24 to packed RGB, and the straightforward way: every layer on full-size surfaces (composite, K mask). */
void face_draw_background(cairo_t *cr, const struct printer_layout *lay);
void face_draw_chip_keepout(cairo_t *cr, const struct printer_layout *lay);
void face_draw_photo_frame(cairo_t *cr, const struct printer_layout *lay);
void face_draw_photo_mat(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay);
double face_photo_scale(const struct printer_face *f, const struct printer_layout *lay);
void face_photo_origin(const struct printer_face *f, const struct printer_layout *lay, double scale,
                       double *ret_x, double *ret_y);
void face_photo_path(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay);
int face_draw_photo_image(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay);
void face_draw_text(cairo_t *cr, const struct face_text *t, bool mask);
int face_cairo_error(cairo_status_t status);
void face_xrgb_to_rgb(const uint8_t *src, uint8_t *dst, size_t n);
int face_draw_composite(const struct face_job *job, const struct printer_face *f, struct printer_raster *ras);
int face_draw_kmask(const struct face_job *job, struct printer_raster *ras);

/* resample.c: cairo's sample positions and filter for f's photo in lay's window (false: cairo must draw it);
 * a geometry's tap tables and its release (accepts NULL); the photo drawn through the replica. */
bool face_photo_plan_init(const struct printer_face *f, const struct printer_layout *lay,
                          struct photo_plan *ret);
void face_photo_geometry_free(struct photo_geometry *g);
int face_photo_geometry_taps(struct photo_geometry *g);
int face_draw_photo_image_fast(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay,
                               const struct photo_geometry *g);

/* cache.c: this slot's text as drawn on an earlier card (or NULL); the layout's static layer, drawn by the
 * first card that needs it; a card drawn from it (returns 1 when the card must be drawn the straightforward
 * way instead). */
const struct face_sprite *face_sprite_find(struct face_cache *c, const struct printer_layout *lay,
                                           size_t slot, const char *text);
int face_cache_get(const struct printer_layout *lay, struct face_cache **ret);
int face_draw_from_cache(const struct face_job *job, struct face_cache *c, const struct printer_face *f,
                         const char *const *texts, struct printer_raster *ras);
