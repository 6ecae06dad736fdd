/* cache.c — the layout's static layer, kept photo geometries and texts, and drawing a card from them */
#include "render/render-private.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

/* --- the layout's static layer: what every card shows, drawn once per layout ---
 *
 * The background, the chip keep-out, the photo frame and the literal texts (titles, labels) do not change
 * from card to card. They are drawn once, exactly as the straightforward way draws them, into
 * cache->xrgb; a card starts from a copy of the regions it draws in (the photo window, its texts), draws
 * there what is its own in the usual order, and the rest of its raster is the static layer's. */

/* A text that comes back card after card (the bank, the issue date, literal texts kept out of the static
 * layer) as it came out the first time: its box of the composite and of the K mask. It is pasted only where
 * nothing else of the card touches its box, so that those pixels depend on the text and the static layer
 * alone, exactly as when they were drawn. */
struct face_sprite {
    size_t slot;
    char *text;
    struct face_box box;
    uint8_t *xrgb;  /* box pixels, RGB24, rows of box width */
    uint8_t *kmask; /* box of the K mask, or NULL when the text is not on K */
};

static void sprite_free(struct face_sprite *sp)
{
    if (!sp)
        return;
    free(sp->text);
    free(sp->xrgb);
    free(sp->kmask);
    free(sp);
}

/* Whether texts of this slot come back often enough to keep: a bank and an issue date serve many cards; names
 * and numbers never come back. */
static bool sprite_worthy(const struct face_cache *c, const struct printer_layout *lay, size_t slot)
{
    enum face_field field = lay->texts[slot].field;

    return field == FACE_FIELD_BANK || field == FACE_FIELD_ISSUE_DATE || field == FACE_FIELD_VALID_UNTIL ||
           (field == FACE_FIELD_LITERAL && !c->cached[slot]);
}

const struct face_sprite *face_sprite_find(struct face_cache *c, const struct printer_layout *lay,
                                           size_t slot, const char *text)
{
    const struct face_sprite *found = NULL;

    if (!sprite_worthy(c, lay, slot))
        return NULL;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_sprites && !found; i++)
        if (c->sprites[i]->slot == slot && strcmp(c->sprites[i]->text, text) == 0)
            found = c->sprites[i];
    pthread_mutex_unlock(&c->lock);
    return found;
}

/* Keeps sp unless the cache is full or has it already (then sp is freed). */
static void sprite_keep(struct face_cache *c, struct face_sprite *sp)
{
    bool have = false, kept = false;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_sprites && !have; i++)
        have = c->sprites[i]->slot == sp->slot && strcmp(c->sprites[i]->text, sp->text) == 0;
    if (!have && c->n_sprites < FACE_SPRITES) {
        c->sprites[c->n_sprites++] = sp;
        kept = true;
    }
    pthread_mutex_unlock(&c->lock);
    if (!kept)
        sprite_free(sp);
}

static struct face_box box_clamp(struct face_box b)
{
    b.x0 = b.x0 < 0 ? 0 : b.x0;
    b.y0 = b.y0 < 0 ? 0 : b.y0;
    b.x1 = b.x1 > PRINTER_FACE_WIDTH ? PRINTER_FACE_WIDTH : b.x1;
    b.y1 = b.y1 > PRINTER_FACE_HEIGHT ? PRINTER_FACE_HEIGHT : b.y1;
    if (b.x1 < b.x0)
        b.x1 = b.x0;
    if (b.y1 < b.y0)
        b.y1 = b.y0;
    return b;
}

/* The whole pixels r touches, grown by margin, within the face. */
static struct face_box box_around(struct printer_face_rect r, int margin)
{
    /* far outside the face is as good as at its edge; keeps the conversions below defined */
    double x0 = dmax(dmin(r.x, 2 * PRINTER_FACE_WIDTH), -PRINTER_FACE_WIDTH),
           y0 = dmax(dmin(r.y, 2 * PRINTER_FACE_HEIGHT), -PRINTER_FACE_HEIGHT),
           x1 = dmax(dmin(r.x + r.w, 2 * PRINTER_FACE_WIDTH), -PRINTER_FACE_WIDTH),
           y1 = dmax(dmin(r.y + r.h, 2 * PRINTER_FACE_HEIGHT), -PRINTER_FACE_HEIGHT);

    return box_clamp((struct face_box){(int)dfloor(x0) - margin, (int)dfloor(y0) - margin,
                                       (int)dceil(x1) + margin, (int)dceil(y1) + margin});
}

static bool box_overlap(struct face_box a, struct face_box b)
{
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

static void copy_box(const uint8_t *from, uint8_t *to, struct face_box b, size_t stride, size_t bpp)
{
    for (int y = b.y0; y < b.y1; y++)
        memcpy(to + (size_t)y * stride + (size_t)b.x0 * bpp, from + (size_t)y * stride + (size_t)b.x0 * bpp,
               (size_t)(b.x1 - b.x0) * bpp);
}

static void convert_box(const uint8_t *xrgb, uint8_t *rgb, struct face_box b)
{
    for (int y = b.y0; y < b.y1 && b.x1 > b.x0; y++) {
        const uint8_t *src = xrgb + (size_t)y * FACE_STRIDE + (size_t)b.x0 * 4;
        uint8_t *dst = rgb + ((size_t)y * PRINTER_FACE_WIDTH + (size_t)b.x0) * 3;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* 0x00RRGGBB byte-swapped is BB GG RR 00 read backwards: shifted down, its first three bytes in
         * memory are R, G, B; the fourth lands on the next pixel, which is written after it (the last one is
         * not) */
        for (int x = b.x0; x < b.x1 - 1; x++, src += 4, dst += 3) {
            uint32_t v;

            memcpy(&v, src, sizeof(v));
            v = __builtin_bswap32(v) >> 8;
            memcpy(dst, &v, sizeof(v));
        }
        face_xrgb_to_rgb(src, dst, 1);
#else
        face_xrgb_to_rgb(src, dst, (size_t)(b.x1 - b.x0));
#endif
    }
}

/* The card's raster, row by row: the static layer's pixels, and the work surface's inside the boxes. */
static void compose_rows(const struct face_cache *c, const uint8_t *work, const struct face_box *boxes,
                         size_t n_boxes, uint8_t *rgb)
{
    for (int y = 0; y < PRINTER_FACE_HEIGHT; y++) {
        struct face_box spans[FACE_TEXTS_MAX + 1];
        size_t n = 0;
        int x = 0;

        /* the boxes crossing this row, as spans sorted by their left end */
        for (size_t i = 0; i < n_boxes; i++) {
            size_t k;

            if (y < boxes[i].y0 || y >= boxes[i].y1 || boxes[i].x0 >= boxes[i].x1)
                continue;
            for (k = n++; k > 0 && spans[k - 1].x0 > boxes[i].x0; k--)
                spans[k] = spans[k - 1];
            spans[k] = (struct face_box){boxes[i].x0, y, boxes[i].x1, y + 1};
        }
        for (size_t k = 0; k < n; k++) {
            if (spans[k].x1 <= x)
                continue;
            if (spans[k].x0 > x)
                memcpy(rgb + ((size_t)y * PRINTER_FACE_WIDTH + (size_t)x) * 3,
                       c->rgb + ((size_t)y * PRINTER_FACE_WIDTH + (size_t)x) * 3,
                       (size_t)(spans[k].x0 - x) * 3);
            else
                spans[k].x0 = x;
            convert_box(work, rgb, spans[k]);
            x = spans[k].x1;
        }
        memcpy(rgb + ((size_t)y * PRINTER_FACE_WIDTH + (size_t)x) * 3,
               c->rgb + ((size_t)y * PRINTER_FACE_WIDTH + (size_t)x) * 3,
               (size_t)(PRINTER_FACE_WIDTH - x) * 3);
    }
}

/* Whether a pixel of work (bpp bytes, stride bytes a row) differs from the same pixel of expect, or from
 * 0 when expect is NULL; mask selects the bits that count. */
static bool pixel_differs(const uint8_t *expect, const uint8_t *work, size_t stride, size_t bpp,
                          uint32_t mask, int x, int y)
{
    uint32_t p = 0, q = 0;

    memcpy(&q, work + (size_t)y * stride + (size_t)x * bpp, bpp);
    if (expect)
        memcpy(&p, expect + (size_t)y * stride + (size_t)x * bpp, bpp);
    return ((p ^ q) & mask) != 0;
}

/* Whether the pixels of a and b inside box differ (RGB24, alpha byte ignored). */
static bool box_differs(const uint8_t *a, const uint8_t *b, struct face_box box)
{
    for (int y = box.y0; y < box.y1; y++)
        for (int x = box.x0; x < box.x1; x++) {
            uint32_t p, q;

            memcpy(&p, a + (size_t)y * FACE_STRIDE + (size_t)x * 4, sizeof(p));
            memcpy(&q, b + (size_t)y * FACE_STRIDE + (size_t)x * 4, sizeof(q));
            if ((p ^ q) & 0xffffff)
                return true;
        }
    return false;
}

void printer_face_cache_free(struct face_cache *cache)
{
    if (!cache)
        return;
    pthread_mutex_destroy(&cache->lock);
    for (size_t i = 0; i < cache->n_geometries; i++)
        face_photo_geometry_free(cache->geometries[i]);
    for (size_t i = 0; i < cache->n_sprites; i++)
        sprite_free(cache->sprites[i]);
    free(cache->xrgb);
    free(cache->rgb);
    free(cache);
}

/* Draws the static layer of lay into a new cache. Returns 0, NOMEM, or whatever laying out a literal
 * text returns (then the straightforward way reports it as it always did). */
static int cache_build(const struct printer_layout *lay, struct face_cache **ret)
{
    struct face_cache *c = calloc(1, sizeof(*c));
    cairo_surface_t *surface = NULL;
    uint8_t *plain = NULL;
    struct face_job job;
    cairo_t *cr;
    int r;

    if (!c)
        return PRINTER_ERROR_NOMEM;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return PRINTER_ERROR_NOMEM;
    }
    r = face_job_init(&job, lay);
    c->window = box_around(lay->photo, 0);
    /* literal black-on-K texts stay per card: the static layer has no K mask */
    for (size_t i = 0; r == 0 && i < lay->n_texts; i++) {
        const struct face_slot *s = &lay->texts[i];

        if (s->field != FACE_FIELD_LITERAL || s->resin)
            continue;
        r = face_place_text(&job, s, s->text, s->two_lines, NULL);
        if (r == 0) {
            c->text_box[i] = box_around(job.texts[job.n_texts - 1].ink, FACE_INK_MARGIN);
            c->cached[i] = !box_overlap(c->text_box[i], c->window);
        }
    }
    if (r == 0) {
        c->xrgb = malloc((size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
        c->rgb = malloc((size_t)PRINTER_FACE_WIDTH * PRINTER_FACE_HEIGHT * 3);
        plain = malloc((size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
        r = c->xrgb && c->rgb && plain ? 0 : PRINTER_ERROR_NOMEM;
    }
    if (r == 0) {
        /* a new surface, as the straightforward way starts from */
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PRINTER_FACE_WIDTH, PRINTER_FACE_HEIGHT);
        cr = cairo_create(surface);
        face_draw_background(cr, lay);
        face_draw_chip_keepout(cr, lay);
        face_draw_photo_frame(cr, lay);
        cairo_surface_flush(surface);
        r = face_cairo_error(cairo_status(cr));
        if (r == 0 && cairo_image_surface_get_stride(surface) != FACE_STRIDE)
            r = PRINTER_ERROR_INVALID;
        if (r == 0) {
            memcpy(plain, cairo_image_surface_get_data(surface), (size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
            for (size_t i = 0; i < job.n_texts; i++)
                if (c->cached[job.texts[i].slot - lay->texts])
                    face_draw_text(cr, &job.texts[i], false);
            cairo_surface_flush(surface);
            r = face_cairo_error(cairo_status(cr));
        }
        if (r == 0)
            memcpy(c->xrgb, cairo_image_surface_get_data(surface), (size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
        cairo_destroy(cr);
        cairo_surface_destroy(surface);
    }
    if (r == 0) {
        /* the texts drew inside their boxes, or the boxes are no use: then no text is cached */
        bool outside = false, inside[PRINTER_FACE_WIDTH];

        for (int y = 0; y < PRINTER_FACE_HEIGHT && !outside; y++) {
            memset(inside, 0, sizeof(inside));
            for (size_t i = 0; i < lay->n_texts; i++)
                if (c->cached[i] && y >= c->text_box[i].y0 && y < c->text_box[i].y1)
                    memset(inside + c->text_box[i].x0, 1, (size_t)(c->text_box[i].x1 - c->text_box[i].x0));
            for (int x = 0; x < PRINTER_FACE_WIDTH && !outside; x++)
                outside = !inside[x] && pixel_differs(plain, c->xrgb, FACE_STRIDE, 4, 0xffffff, x, y);
        }
        if (outside) {
            memcpy(c->xrgb, plain, (size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
            memset(c->cached, 0, sizeof(c->cached));
        }
        for (int y = 0; y < PRINTER_FACE_HEIGHT; y++)
            face_xrgb_to_rgb(c->xrgb + (size_t)y * FACE_STRIDE, c->rgb + (size_t)y * PRINTER_FACE_WIDTH * 3,
                             PRINTER_FACE_WIDTH);
    }
    face_job_done(&job);
    free(plain);
    if (r < 0) {
        printer_face_cache_free(c);
        return r;
    }
    *ret = c;
    return 0;
}

/* The layout's cache, drawn by the first card that needs it. Racing first cards each draw one and all
 * but one throw theirs away: the layout stays shareable without a lock on this path. */
int face_cache_get(const struct printer_layout *lay, struct face_cache **ret)
{
    /* the one member of the otherwise immutable layout that changes, once, from NULL */
    struct printer_layout *shared = (struct printer_layout *)lay;
    struct face_cache *c = atomic_load_explicit(&shared->cache, memory_order_acquire), *expected = NULL;
    int r;

    if (!c) {
        r = cache_build(lay, &c);
        if (r < 0)
            return r;
        if (!atomic_compare_exchange_strong_explicit(&shared->cache, &expected, c, memory_order_acq_rel,
                                                     memory_order_acquire)) {
            printer_face_cache_free(c);
            c = expected;
        }
    }
    *ret = c;
    return 0;
}

/* A photo of the given size in noise, deterministic. */
static uint8_t *noise_photo(unsigned width, unsigned height)
{
    size_t n = (size_t)width * height * 3;
    uint8_t *p = malloc(n);
    uint32_t state = 0x9e3779b9u;

    for (size_t i = 0; p && i < n; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        p[i] = (uint8_t)(state >> 24);
    }
    return p;
}

/* Draws the photo of f in the window of a copy of the static layer, with cairo or (g) the replica. */
static int photo_trial(const struct face_cache *c, const struct printer_face *f,
                       const struct printer_layout *lay, const struct photo_geometry *g, uint8_t *work)
{
    cairo_surface_t *surface;
    cairo_t *cr;
    int r;

    copy_box(c->xrgb, work, c->window, FACE_STRIDE, 4);
    surface = cairo_image_surface_create_for_data(work, CAIRO_FORMAT_RGB24, PRINTER_FACE_WIDTH,
                                                  PRINTER_FACE_HEIGHT, FACE_STRIDE);
    cr = cairo_create(surface);
    r = face_cairo_error(cairo_status(cr));
    if (r == 0) {
        face_draw_photo_mat(cr, f, lay);
        r = g ? face_draw_photo_image_fast(cr, f, lay, g) : face_draw_photo_image(cr, f, lay);
    }
    if (r == 0)
        r = face_cairo_error(cairo_status(cr));
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cairo_surface_destroy(surface);
    return r;
}

/* Works out the geometry of photos of f's size, and whether the replica draws them exactly as cairo
 * does with the cairo and pixman at hand: tried on a photo of noise. NULL when out of memory. */
static struct photo_geometry *photo_geometry_new(const struct face_cache *c, const struct printer_face *f,
                                                 const struct printer_layout *lay)
{
    struct photo_geometry *g = calloc(1, sizeof(*g));
    struct printer_face trial = *f;
    uint8_t *a = NULL, *b = NULL, *noise = NULL;

    if (!g)
        return NULL;
    g->photo_width = f->photo_width;
    g->photo_height = f->photo_height;
    if (!face_photo_plan_init(f, lay, &g->plan))
        return g; /* not a case the replica covers: exact stays false */
    noise = noise_photo(f->photo_width, f->photo_height);
    a = malloc((size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
    b = malloc((size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
    if (!noise || !a || !b || face_photo_geometry_taps(g) < 0) {
        face_photo_geometry_free(g);
        g = NULL;
    } else {
        trial.photo_rgb = noise;
        g->exact = photo_trial(c, &trial, lay, NULL, a) == 0 && photo_trial(c, &trial, lay, g, b) == 0 &&
                   !box_differs(a, b, c->window);
    }
    free(noise);
    free(a);
    free(b);
    return g;
}

static struct photo_geometry *geometry_find(const struct face_cache *c, const struct printer_face *f)
{
    for (size_t i = 0; i < c->n_geometries; i++)
        if (c->geometries[i]->photo_width == f->photo_width &&
            c->geometries[i]->photo_height == f->photo_height)
            return c->geometries[i];
    return NULL;
}

/* The geometry to draw f's photo with the replica, or NULL: cairo draws it (also for photo sizes beyond
 * the first FACE_PHOTO_SIZES of the layout). */
static const struct photo_geometry *photo_geometry_get(struct face_cache *c, const struct printer_face *f,
                                                       const struct printer_layout *lay)
{
    struct photo_geometry *g, *kept;
    bool full;

    pthread_mutex_lock(&c->lock);
    g = geometry_find(c, f);
    full = c->n_geometries == FACE_PHOTO_SIZES;
    pthread_mutex_unlock(&c->lock);
    if (g || full)
        return g && g->exact ? g : NULL;

    /* worked out outside the lock; a racing card may do the same, the first one kept stays */
    g = photo_geometry_new(c, f, lay);
    if (!g)
        return NULL;
    pthread_mutex_lock(&c->lock);
    kept = geometry_find(c, f);
    if (!kept && c->n_geometries < FACE_PHOTO_SIZES) {
        kept = g;
        c->geometries[c->n_geometries++] = g;
    }
    pthread_mutex_unlock(&c->lock);
    if (kept != g)
        face_photo_geometry_free(g);
    return kept && kept->exact ? kept : NULL;
}

/* b grown by the ring of one pixel, within the face. */
static struct face_box box_ringed(struct face_box b)
{
    return box_clamp((struct face_box){b.x0 - 1, b.y0 - 1, b.x1 + 1, b.y1 + 1});
}

/* Whether nothing was drawn just outside box i, in the ring of one pixel around it that no other box
 * covers: then the boxes held all that was drawn. */
static bool ring_clean(const uint8_t *expect, const uint8_t *work, size_t stride, size_t bpp, uint32_t mask,
                       const struct face_box *boxes, size_t n_boxes, size_t i)
{
    struct face_box ring = box_ringed(boxes[i]), near[FACE_TEXTS_MAX + 1];
    size_t n_near = 0;

    /* the boxes that may cover part of the ring (box i itself where it touches the face's edge) */
    for (size_t k = 0; k < n_boxes && n_near < sizeof(near) / sizeof(near[0]); k++)
        if (box_overlap(ring, boxes[k]))
            near[n_near++] = boxes[k];
    for (int y = ring.y0; y < ring.y1; y++) {
        bool edge_row = y == ring.y0 || y == ring.y1 - 1;

        for (int x = ring.x0; x < ring.x1; x = edge_row || x == ring.x1 - 1 ? x + 1 : ring.x1 - 1) {
            bool covered = false;

            for (size_t k = 0; k < n_near && !covered; k++)
                covered = x >= near[k].x0 && x < near[k].x1 && y >= near[k].y0 && y < near[k].y1;
            if (!covered && pixel_differs(expect, work, stride, bpp, mask, x, y))
                return false;
        }
    }
    return true;
}

/* The K mask of the card's resin texts: drawn on an A8 surface cleared only in their boxes (and rings),
 * where the straightforward way draws on a fully clear one; all else stays 0 in ras->kmask. Returns 0, 1
 * when a text drew outside its box, or an error. */
static int draw_kmask_boxes(const struct face_job *job, const struct face_box *boxes,
                            struct printer_raster *ras)
{
    const size_t stride = PRINTER_FACE_WIDTH;
    struct face_box resin[FACE_TEXTS_MAX];
    cairo_surface_t *surface;
    size_t n = 0;
    uint8_t *coverage;
    cairo_t *cr;
    int r;

    _Static_assert(FACE_KMASK_THRESHOLD == 128, "the threshold is the top bit of the coverage");
    for (size_t i = 0; i < job->n_texts; i++)
        if (job->texts[i].slot->resin)
            resin[n++] = boxes[i];
    if (n == 0)
        return 0;
    if (cairo_format_stride_for_width(CAIRO_FORMAT_A8, PRINTER_FACE_WIDTH) != (int)stride)
        return 1;
    coverage = malloc(stride * PRINTER_FACE_HEIGHT);
    if (!coverage)
        return PRINTER_ERROR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct face_box b = box_ringed(resin[i]);

        for (int y = b.y0; y < b.y1; y++)
            memset(coverage + (size_t)y * stride + (size_t)b.x0, 0, (size_t)(b.x1 - b.x0));
    }
    surface = cairo_image_surface_create_for_data(coverage, CAIRO_FORMAT_A8, PRINTER_FACE_WIDTH,
                                                  PRINTER_FACE_HEIGHT, (int)stride);
    cr = cairo_create(surface);
    r = face_cairo_error(cairo_status(cr));
    for (size_t i = 0; r == 0 && i < job->n_texts; i++)
        if (job->texts[i].slot->resin)
            face_draw_text(cr, &job->texts[i], true);
    if (r == 0)
        r = face_cairo_error(cairo_status(cr));
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cairo_surface_destroy(surface);
    for (size_t i = 0; r == 0 && i < n; i++)
        if (!ring_clean(NULL, coverage, stride, 1, 0xff, resin, n, i))
            r = 1;
    for (size_t i = 0; r == 0 && i < n; i++)
        for (int y = resin[i].y0; y < resin[i].y1; y++)
            for (int x = resin[i].x0; x < resin[i].x1; x++)
                ras->kmask[(size_t)y * PRINTER_FACE_WIDTH + (size_t)x] =
                    coverage[(size_t)y * stride + (size_t)x] >> 7;
    free(coverage);
    return r;
}

/* A box's pixels from an image (stride bytes a row, bpp bytes a pixel) into rows of the box's width, or back.
 */
static void box_get(const uint8_t *image, size_t stride, size_t bpp, struct face_box b, uint8_t *out)
{
    size_t row = (size_t)(b.x1 - b.x0) * bpp;

    for (int y = b.y0; y < b.y1; y++, out += row)
        memcpy(out, image + (size_t)y * stride + (size_t)b.x0 * bpp, row);
}

static void box_put(const uint8_t *in, struct face_box b, size_t stride, size_t bpp, uint8_t *image)
{
    size_t row = (size_t)(b.x1 - b.x0) * bpp;

    for (int y = b.y0; y < b.y1; y++, in += row)
        memcpy(image + (size_t)y * stride + (size_t)b.x0 * bpp, in, row);
}

/* A sprite of text i of the card as drawn in work and ras, or NULL (out of memory: then none is kept). */
static struct face_sprite *sprite_new(const struct face_text *t, size_t slot, const char *text,
                                      struct face_box b, const uint8_t *work,
                                      const struct printer_raster *ras)
{
    struct face_sprite *sp = calloc(1, sizeof(*sp));
    size_t n = (size_t)(b.x1 - b.x0) * (size_t)(b.y1 - b.y0);

    if (!sp)
        return NULL;
    *sp = (struct face_sprite){.slot = slot, .text = strdup(text), .box = b, .xrgb = malloc(n * 4)};
    if (t->slot->resin)
        sp->kmask = malloc(n);
    if (!sp->text || !sp->xrgb || (t->slot->resin && !sp->kmask)) {
        sprite_free(sp);
        return NULL;
    }
    box_get(work, FACE_STRIDE, 4, b, sp->xrgb);
    if (sp->kmask)
        box_get(ras->kmask, PRINTER_FACE_WIDTH, 1, b, sp->kmask);
    return sp;
}

/* Whether box i is clear of every other box of the card. */
static bool box_alone(const struct face_box *boxes, size_t n_boxes, size_t i)
{
    for (size_t k = 0; k < n_boxes; k++)
        if (k != i && box_overlap(boxes[i], boxes[k]))
            return false;
    return true;
}

/* Draws the composite and the K mask of one card from the static layer: only the photo window and the
 * card's own texts are drawn, or pasted when drawn before. Returns 0, 1 when this card must be drawn the
 * straightforward way (a text would have to go under a cached one, a kept text is not alone in its box,
 * or a text drew outside its box), or an error. texts: the card's text per slot, for the sprites. */
int face_draw_from_cache(const struct face_job *job, struct face_cache *c, const struct printer_face *f,
                         const char *const *texts, struct printer_raster *ras)
{
    /* the boxes: job->texts' first, then the sprites', then the window */
    struct face_box boxes[2 * FACE_TEXTS_MAX + 1];
    const struct face_sprite *sprites[FACE_TEXTS_MAX];
    struct face_sprite *fresh[FACE_TEXTS_MAX] = {0};
    cairo_surface_t *surface = NULL;
    size_t n_boxes, n_sprites = 0;
    uint8_t *work = NULL;
    bool resin = false;
    cairo_t *cr;
    int r = 0;

    /* each text of this card must come after every cached text it may touch, as it is drawn after them */
    for (size_t i = 0; i < job->lay->n_texts; i++)
        if (job->sprites[i])
            sprites[n_sprites++] = job->sprites[i];
    for (size_t i = 0; i < job->n_texts + n_sprites; i++) {
        size_t slot = i < job->n_texts ? (size_t)(job->texts[i].slot - job->lay->texts)
                                       : sprites[i - job->n_texts]->slot;

        boxes[i] = i < job->n_texts ? box_around(job->texts[i].ink, FACE_INK_MARGIN)
                                    : sprites[i - job->n_texts]->box;
        resin = resin || (i < job->n_texts && job->texts[i].slot->resin);
        for (size_t j = slot + 1; j < job->lay->n_texts; j++)
            if (c->cached[j] && box_overlap(boxes[i], c->text_box[j]))
                return 1;
    }
    n_boxes = job->n_texts + n_sprites;
    boxes[n_boxes++] = c->window;
    /* a sprite's pixels hold only if nothing else of the card comes near them */
    for (size_t i = job->n_texts; i < job->n_texts + n_sprites; i++)
        if (!box_alone(boxes, n_boxes, i))
            return 1;

    work = malloc((size_t)FACE_STRIDE * PRINTER_FACE_HEIGHT);
    if (!work)
        return PRINTER_ERROR_NOMEM;
    /* each drawn box with a ring of one pixel around it, to see afterwards that nothing was drawn past it */
    for (size_t i = 0; i < n_boxes; i++)
        if (i < job->n_texts || i == n_boxes - 1)
            copy_box(c->xrgb, work, box_ringed(boxes[i]), FACE_STRIDE, 4);
    surface = cairo_image_surface_create_for_data(work, CAIRO_FORMAT_RGB24, PRINTER_FACE_WIDTH,
                                                  PRINTER_FACE_HEIGHT, FACE_STRIDE);
    cr = cairo_create(surface);
    r = face_cairo_error(cairo_status(cr));
    if (r == 0) {
        face_draw_photo_mat(cr, f, job->lay);
        if (f->photo_rgb) {
            const struct photo_geometry *g = photo_geometry_get(c, f, job->lay);

            r = g ? face_draw_photo_image_fast(cr, f, job->lay, g) : face_draw_photo_image(cr, f, job->lay);
        }
    }
    if (r == 0) {
        for (size_t i = 0; i < job->n_texts; i++)
            face_draw_text(cr, &job->texts[i], false);
        r = face_cairo_error(cairo_status(cr));
    }
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cairo_surface_destroy(surface);

    /* the texts' boxes held what they drew (the window's is the clip of the photo and the mat's rectangle) */
    for (size_t i = 0; r == 0 && i < job->n_texts; i++)
        if (!ring_clean(c->xrgb, work, FACE_STRIDE, 4, 0xffffff, boxes, n_boxes, i))
            r = 1;
    for (size_t i = 0; r == 0 && i < n_sprites; i++)
        box_put(sprites[i]->xrgb, sprites[i]->box, FACE_STRIDE, 4, work);
    if (r == 0)
        compose_rows(c, work, boxes, n_boxes, ras->rgb);
    if (r == 0 && resin)
        r = draw_kmask_boxes(job, boxes, ras);
    for (size_t i = 0; r == 0 && i < n_sprites; i++)
        if (sprites[i]->kmask)
            box_put(sprites[i]->kmask, sprites[i]->box, PRINTER_FACE_WIDTH, 1, ras->kmask);
    /* texts that come back, drawn alone in their boxes: kept for the next cards */
    for (size_t i = 0; r == 0 && i < job->n_texts; i++) {
        size_t slot = (size_t)(job->texts[i].slot - job->lay->texts);

        if (sprite_worthy(c, job->lay, slot) && box_alone(boxes, n_boxes, i))
            fresh[i] = sprite_new(&job->texts[i], slot, texts[slot], boxes[i], work, ras);
    }
    free(work);
    for (size_t i = 0; i < job->n_texts; i++)
        if (fresh[i])
            sprite_keep(c, fresh[i]);
    return r;
}

size_t printer_face_kept_texts(const struct printer_layout *layout)
{
    struct face_cache *cache = layout ? atomic_load_explicit(&layout->cache, memory_order_acquire) : NULL;
    size_t n = 0;

    if (cache) {
        pthread_mutex_lock(&cache->lock);
        n = cache->n_sprites;
        pthread_mutex_unlock(&cache->lock);
    }
    return n;
}

bool printer_face_photo_replicated(const struct printer_layout *layout, unsigned width, unsigned height)
{
    struct printer_face f = {.photo_rgb = (const uint8_t *)"", .photo_width = width, .photo_height = height};
    struct face_cache *cache;

    if (!layout || width == 0 || height == 0 || width > FACE_PHOTO_MAX_SIDE || height > FACE_PHOTO_MAX_SIDE ||
        face_cache_get(layout, &cache) < 0)
        return false;
    return photo_geometry_get(cache, &f, layout) != NULL;
}
