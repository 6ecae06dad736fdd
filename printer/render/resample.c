/* resample.c — the photo resampled as cairo's GOOD filter does, without pixman's general fetcher */
#include "render/render-private.h"
#include "simd-private.h"

#include <float.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
bool face_photo_plan_init(const struct printer_face *f, const struct printer_layout *lay,
                          struct photo_plan *ret)
{
    const struct printer_face_rect w = lay->photo;
    double scale = face_photo_scale(f, lay), x, y, rx, ry;
    cairo_matrix_t pattern, step;
    int32_t fx0, fy0, fx1, fy1;
    int x1, y1;

    /* the clip must be a pixel-aligned box, as cairo then composites without a clip mask */
    if (w.x != dfloor(w.x) || w.y != dfloor(w.y) || w.w != dfloor(w.w) || w.h != dfloor(w.h) ||
        f->photo_width > PHOTO_FAST_MAX_SIDE || f->photo_height > PHOTO_FAST_MAX_SIDE)
        return false;
    face_photo_origin(f, lay, scale, &x, &y);

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

void face_photo_geometry_free(struct photo_geometry *g)
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
int face_photo_geometry_taps(struct photo_geometry *g)
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
 * as face_draw_photo_image(). Returns 0 or NOMEM. */
int face_draw_photo_image_fast(cairo_t *cr, const struct printer_face *f, const struct printer_layout *lay,
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
        face_photo_path(cr, f, lay);
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
