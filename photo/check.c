/* check.c — the full ID-photo quality check: format, background, face and eye geometry, exposure, sharpness,
 * colour */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum check_index {
    C_DECODE,
    C_DIMENSIONS,
    C_COLOUR,
    C_DENSITY,
    C_QUALITY,
    C_FILE_SIZE,
    C_PROGRESSIVE,
    C_ORIENTATION,
    C_BG_COLOUR,
    C_BG_UNIFORMITY,
    C_BG_BORDER,
    C_BG_CONTRAST,
    C_FACE_COUNT,
    C_FACE_WIDTH,
    C_HEAD_TOP,
    C_EYE_LINE,
    C_EYE_CENTRE,
    C_ROLL,
    C_EYES,
    C_EYE_DISTANCE,
    C_EXPOSURE_MEAN,
    C_CLIPPING,
    C_DYNAMIC_RANGE,
    C_SHARPNESS,
    C_SKIN,
    C_ILLUMINATION,
    C_GLARE,
    C_BLOCKINESS,
};

/* Per-channel colour steps (max - min) of a truly grey photo stay within JPEG's chroma rounding; a colour
 * portrait has skin and clothing far above this at its 99th percentile. */
#define COLOUR_MIN_CHROMA 8
/* A pixel differs from the background when its summed channel distance exceeds this. */
#define BACKGROUND_DISTANCE 60
#define MAX_FACES           8
#define MAX_EYES            16

struct photo_checker {
    struct haar_cascade *face;
    struct haar_cascade *eye;
    struct haar_cascade *eye_glasses;
};

const char *photo_status_name(enum photo_status status)
{
    switch (status) {
    case PHOTO_STATUS_PASS:
        return "pass";
    case PHOTO_STATUS_WARN:
        return "warn";
    case PHOTO_STATUS_FAIL:
        return "fail";
    case PHOTO_STATUS_SKIP:
        return "skip";
    }
    return "unknown";
}

void photo_checker_free(struct photo_checker *ck)
{
    if (!ck)
        return;
    haar_cascade_free(ck->face);
    haar_cascade_free(ck->eye);
    haar_cascade_free(ck->eye_glasses);
    free(ck);
}

static int load_one(const char *dir, const char *file, struct haar_cascade **ret)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof(path))
        return PHOTO_ERROR_MODEL;
    return haar_cascade_load(path, ret);
}

int photo_checker_new(const char *model_dir, struct photo_checker **ret)
{
    struct photo_checker *ck;
    int r;

    if (!ret)
        return PHOTO_ERROR_INVALID;
    if (!model_dir || !*model_dir)
        model_dir = PHOTO_DEFAULT_MODEL_DIR;
    ck = calloc(1, sizeof(*ck));
    if (!ck)
        return PHOTO_ERROR_NOMEM;
    if ((r = load_one(model_dir, "haarcascade_frontalface_default.xml", &ck->face)) < 0 ||
        (r = load_one(model_dir, "haarcascade_eye.xml", &ck->eye)) < 0 ||
        (r = load_one(model_dir, "haarcascade_eye_tree_eyeglasses.xml", &ck->eye_glasses)) < 0) {
        photo_checker_free(ck);
        return r;
    }
    *ret = ck;
    return 0;
}

/* ---- report helpers -------------------------------------------------------------------------------- */

static struct photo_check_result *entry(struct photo_report *rep, enum check_index i)
{
    return &rep->checks[i];
}

static void set_status(struct photo_check_result *c, enum photo_status st)
{
    c->status = st;
}

static __attribute__((format(printf, 2, 3))) void set_value(struct photo_check_result *c, const char *fmt,
                                                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->value_text, sizeof(c->value_text), fmt, ap);
    va_end(ap);
}

static __attribute__((format(printf, 2, 3))) void set_limit(struct photo_check_result *c, const char *fmt,
                                                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->limit, sizeof(c->limit), fmt, ap);
    va_end(ap);
}

static __attribute__((format(printf, 2, 3))) void set_message(struct photo_check_result *c, const char *fmt,
                                                              ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
}

static void skip(struct photo_report *rep, enum check_index i, const char *why)
{
    struct photo_check_result *c = entry(rep, i);
    c->status = PHOTO_STATUS_SKIP;
    c->has_value = 0;
    snprintf(c->message, sizeof(c->message), "not measured: %s", why);
}

static void skip_range(struct photo_report *rep, enum check_index from, enum check_index to, const char *why)
{
    for (int i = from; i <= (int)to; i++)
        if (rep->checks[i].status == PHOTO_STATUS_PASS && !rep->checks[i].has_value &&
            !rep->checks[i].value_text[0])
            skip(rep, (enum check_index)i, why);
}

static bool in_range(double v, struct photo_range r)
{
    return v >= r.min && v <= r.max;
}

static void format_limit(struct photo_check_result *c, struct photo_range r, const char *unit)
{
    if (r.min <= -1e8)
        set_limit(c, "<= %g%s", r.max, unit);
    else if (r.max >= 1e8)
        set_limit(c, ">= %g%s", r.min, unit);
    else if (r.min == r.max)
        set_limit(c, "%g%s", r.min, unit);
    else
        set_limit(c, "%g..%g%s", r.min, r.max, unit);
}

/* Record a measurement against a range; out of range becomes fail or warn by the profile's severity, and the
 * message says which way it is off using the two hints. Returns true when within range. */
static bool measure(struct photo_report *rep, const struct photo_profile *p, enum check_index i, double v,
                    int decimals, struct photo_range r, const char *unit, const char *too_low,
                    const char *too_high)
{
    struct photo_check_result *c = entry(rep, i);

    c->value = v;
    c->has_value = 1;
    snprintf(c->value_text, sizeof(c->value_text), "%.*f", decimals, v);
    format_limit(c, r, unit);
    if (in_range(v, r))
        return true;
    set_status(c, p->severity[i] == PHOTO_SEVERITY_WARN ? PHOTO_STATUS_WARN : PHOTO_STATUS_FAIL);
    set_message(c, "%s%s is outside %s: %s", c->value_text, unit, c->limit, v < r.min ? too_low : too_high);
    return false;
}

/* ---- image measures -------------------------------------------------------------------------------- */

struct work {
    const struct photo_image *img;
    uint8_t *y;    /* luminance, width * height */
    uint32_t *sum; /* integral of y */
    unsigned w, h;
    double bg[3]; /* background colour (median of the samples) */
};

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int make_luma(struct work *w)
{
    size_t n = (size_t)w->w * w->h, s = w->w + 1u;

    w->y = malloc(n);
    w->sum = calloc(s * (w->h + 1u), sizeof(*w->sum));
    if (!w->y || !w->sum)
        return PHOTO_ERROR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = w->img->rgb + 3u * i;
        w->y[i] = (uint8_t)((p[0] * 77u + p[1] * 150u + p[2] * 29u + 128u) >> 8);
    }
    for (unsigned yy = 0; yy < w->h; yy++) {
        uint32_t row = 0;
        for (unsigned x = 0; x < w->w; x++) {
            row += w->y[(size_t)yy * w->w + x];
            w->sum[(size_t)(yy + 1) * s + x + 1] = w->sum[(size_t)yy * s + x + 1] + row;
        }
    }
    return 0;
}

struct rect {
    int x0, y0, x1, y1; /* half-open */
};

static struct rect clip_rect(const struct work *w, double x0, double y0, double x1, double y1)
{
    struct rect r = {clampi((int)x0, 0, (int)w->w), clampi((int)y0, 0, (int)w->h),
                     clampi((int)x1, 0, (int)w->w), clampi((int)y1, 0, (int)w->h)};
    if (r.x1 < r.x0)
        r.x1 = r.x0;
    if (r.y1 < r.y0)
        r.y1 = r.y0;
    return r;
}

static size_t rect_area(struct rect r)
{
    return (size_t)(r.x1 - r.x0) * (size_t)(r.y1 - r.y0);
}

static void mean_rgb(const struct work *w, struct rect r, double out[3])
{
    double s[3] = {0, 0, 0};
    size_t n = rect_area(r);

    for (int y = r.y0; y < r.y1; y++)
        for (int x = r.x0; x < r.x1; x++) {
            const uint8_t *p = w->img->rgb + 3u * ((size_t)y * w->w + (size_t)x);
            s[0] += p[0];
            s[1] += p[1];
            s[2] += p[2];
        }
    for (int k = 0; k < 3; k++)
        out[k] = n ? s[k] / (double)n : 0;
}

static double mean_luma(const struct work *w, struct rect r)
{
    size_t n = rect_area(r), s = w->w + 1u;
    if (!n)
        return 0;
    uint32_t t = w->sum[(size_t)r.y1 * s + (size_t)r.x1] - w->sum[(size_t)r.y0 * s + (size_t)r.x1] -
                 w->sum[(size_t)r.y1 * s + (size_t)r.x0] + w->sum[(size_t)r.y0 * s + (size_t)r.x0];
    return (double)t / (double)n;
}

static int distance_to(const uint8_t *p, const double c[3])
{
    return abs(p[0] - (int)c[0]) + abs(p[1] - (int)c[1]) + abs(p[2] - (int)c[2]);
}

/* sRGB (0..255) to CIELAB (D65). */
static void rgb_to_lab(const double rgb[3], double lab[3])
{
    double lin[3];
    for (int k = 0; k < 3; k++) {
        double c = rgb[k] / 255.0;
        lin[k] = c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
    }
    double x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047;
    double y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    double z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883;
    double f[3] = {x, y, z};
    for (int k = 0; k < 3; k++)
        f[k] = f[k] > 0.008856 ? cbrt(f[k]) : 7.787 * f[k] + 16.0 / 116.0;
    lab[0] = 116.0 * f[1] - 16.0;
    lab[1] = 500.0 * (f[0] - f[1]);
    lab[2] = 200.0 * (f[1] - f[2]);
}

/* ---- the checks ------------------------------------------------------------------------------------ */

static void check_format(struct photo_report *rep, const struct photo_profile *p,
                         const struct photo_image *img, size_t len)
{
    struct photo_check_result *c;

    c = entry(rep, C_DECODE);
    set_value(c, "%s", img->format == PHOTO_FORMAT_JPEG ? "JPEG" : "PNG");
    set_limit(c, "%s", p->allow_png ? "JPEG or PNG" : "JPEG");
    if (img->format == PHOTO_FORMAT_PNG && !p->allow_png) {
        set_status(c, PHOTO_STATUS_FAIL);
        set_message(c, N_("profile %s accepts JPEG only; save the photo as a baseline JPEG"), p->name);
    }

    c = entry(rep, C_DIMENSIONS);
    set_value(c, "%ux%u", img->width, img->height);
    set_limit(c, "%ux%u", p->width, p->height);
    if (img->width != p->width || img->height != p->height) {
        set_status(c, PHOTO_STATUS_FAIL);
        set_message(c, N_("photo is %ux%u pixels; %ux%u required: crop and scale it to exactly that size"),
                    img->width, img->height, p->width, p->height);
    }

    /* 99th percentile of per-pixel colour spread: greyscale stored as RGB stays near zero. */
    unsigned hist[256] = {0};
    size_t n = 0;
    /* Every other pixel is plenty for a percentile over a whole photo. */
    for (size_t i = 0; i < (size_t)img->width * img->height; i += 2, n++) {
        const uint8_t *px = img->rgb + 3u * i;
        int mx = px[0] > px[1] ? px[0] : px[1], mn = px[0] < px[1] ? px[0] : px[1];
        mx = px[2] > mx ? px[2] : mx;
        mn = px[2] < mn ? px[2] : mn;
        hist[mx - mn]++;
    }
    size_t acc = 0, target = n - n / 100u;
    int p99 = 0;
    for (int k = 0; k < 256; k++) {
        acc += hist[k];
        if (acc >= target) {
            p99 = k;
            break;
        }
    }
    c = entry(rep, C_COLOUR);
    c->value = p99;
    c->has_value = 1;
    set_value(c, "%s, spread %d", img->components == 1 ? "greyscale file" : "24-bit", p99);
    set_limit(c, "24-bit colour, spread >= %d", COLOUR_MIN_CHROMA);
    if (img->components != 3) {
        set_status(c, PHOTO_STATUS_FAIL);
        set_message(c, N_("photo is stored as greyscale; a 24-bit colour photo is required"));
    } else if (p99 < COLOUR_MIN_CHROMA) {
        set_status(c, PHOTO_STATUS_FAIL);
        set_message(c, N_("photo is greyscale saved as colour; a colour photo is required"));
    }

    c = entry(rep, C_DENSITY);
    if (img->density_x == 0) {
        set_value(c, "none");
        format_limit(c, p->density_dpi, " dpi");
        set_status(c, p->severity[C_DENSITY] == PHOTO_SEVERITY_OFF ? PHOTO_STATUS_SKIP : PHOTO_STATUS_WARN);
        set_message(c, N_("the file records no resolution; save it at 350 dpi"));
    } else if (img->density_x != img->density_y) {
        set_value(c, "%ux%u dpi", img->density_x, img->density_y);
        format_limit(c, p->density_dpi, " dpi");
        set_status(c, PHOTO_STATUS_FAIL);
        set_message(c, N_("horizontal and vertical resolution differ; save it at 350 dpi"));
    } else {
        measure(rep, p, C_DENSITY, img->density_x, 0, p->density_dpi, " dpi",
                N_("resolution is too low; save it at 350 dpi"),
                N_("resolution is too high; save it at 350 dpi"));
    }

    c = entry(rep, C_QUALITY);
    if (img->format == PHOTO_FORMAT_JPEG)
        measure(rep, p, C_QUALITY, img->quality, 0, p->jpeg_quality, "",
                N_("compressed too hard: save with JPEG quality about 70-80"),
                N_("compressed too lightly: save with JPEG quality about 70-80"));
    else {
        set_value(c, "lossless");
        set_limit(c, "PNG: any");
    }

    double kb = (double)len / 1024.0;
    if (img->format == PHOTO_FORMAT_JPEG)
        measure(rep, p, C_FILE_SIZE, kb, 1, p->file_size_kb, " KB",
                N_("file too small: save with a higher JPEG quality"),
                N_("file too large: save with a lower JPEG quality"));
    else {
        c = entry(rep, C_FILE_SIZE);
        c->value = kb;
        c->has_value = 1;
        set_value(c, "%.1f KB", kb);
        set_limit(c, "PNG: <= %u KB", PHOTO_MAX_BYTES / 1024u);
    }

    c = entry(rep, C_PROGRESSIVE);
    set_value(c, "%s",
              img->progressive ? (img->format == PHOTO_FORMAT_JPEG ? "progressive" : "interlaced")
                               : "baseline");
    set_limit(c, "baseline");
    if (img->progressive) {
        set_status(c, PHOTO_STATUS_FAIL);
        set_message(c, "%s",
                    img->format == PHOTO_FORMAT_JPEG
                        ? N_("progressive JPEG; save it as a baseline (standard) JPEG")
                        : N_("interlaced PNG; save it without interlacing"));
    }

    c = entry(rep, C_ORIENTATION);
    set_value(c, "%u", img->orientation);
    set_limit(c, "none or 1 (upright)");
    if (img->orientation > 1) {
        set_status(c, PHOTO_STATUS_FAIL);
        set_message(
            c,
            N_("the file asks viewers to rotate or mirror it (EXIF orientation %u); rotate the pixels "
               "themselves and save without the orientation tag"),
            img->orientation);
    }
}

struct bg_acc {
    double sum, sumsq, rgb[3];
    size_t n;
};

static void bg_add(struct bg_acc *a, const struct work *w, int x, int y)
{
    double v = w->y[(size_t)y * w->w + (size_t)x];
    const uint8_t *p = w->img->rgb + 3u * ((size_t)y * w->w + (size_t)x);
    a->sum += v;
    a->sumsq += v * v;
    a->rgb[0] += p[0];
    a->rgb[1] += p[1];
    a->rgb[2] += p[2];
    a->n++;
}

/* The background is what lies between the photo's edge and the first clear change of colour: the rows above
 * the hair limit, and in the upper third each row walked inwards from both sides until it meets hair or skin.
 * Walking (rather than fixed corners) keeps a full head of hair out of the sample and a coloured backdrop in.
 */
static void check_background(struct photo_report *rep, const struct photo_profile *p, struct work *w)
{
    struct bg_acc acc[3] = {{0}};
    int ymax = (int)(0.34 * w->h), half = (int)w->w / 2;
    double edge_sum[3] = {0, 0, 0}, inner_sum[3] = {0, 0, 0};
    size_t edge_n[3] = {0, 0, 0};

    for (int y = 1; y < 6 && y < (int)w->h; y++)
        for (int x = 4; x < (int)w->w - 4; x++)
            bg_add(&acc[0], w, x, y);
    for (unsigned x = 8; x + 8 < w->w && w->h > 6; x++) {
        edge_sum[0] += w->y[x] + w->y[w->w + x];
        inner_sum[0] += w->y[4 * w->w + x] + w->y[5 * w->w + x];
        edge_n[0] += 2;
    }
    double top[3] = {0, 0, 0};
    for (int k = 0; k < 3 && acc[0].n; k++)
        top[k] = acc[0].rgb[k] / (double)acc[0].n;
    for (int y = 6; y < ymax; y++)
        for (int side = 0; side < 2; side++) {
            int x0 = side ? (int)w->w - 4 : 3, dir = side ? -1 : 1;
            const uint8_t *ref = w->img->rgb + 3u * ((size_t)y * w->w + (size_t)x0);
            double refc[3] = {ref[0], ref[1], ref[2]};
            /* Hair reaching the edge is not background; the top rows say what the background looks like. */
            if (acc[0].n && distance_to(ref, top) > 60)
                continue;
            int x = x0, stop = x0;
            for (; abs(x - x0) < half; x += dir) {
                if (distance_to(w->img->rgb + 3u * ((size_t)y * w->w + (size_t)x), refc) > 30)
                    break;
                stop = x;
            }
            /* Four pixels short of the edge found, which a soft cut-out or JPEG ringing blurs. */
            for (x = x0; dir * (stop - x) > 4; x += dir)
                bg_add(&acc[1 + side], w, x, y);
            /* A frame shows as the outermost two pixels differing from the background just inside them. */
            if (dir * (stop - x0) >= 8) {
                const uint8_t *row = w->y + (size_t)y * w->w;
                int e0 = side ? (int)w->w - 1 : 0, e1 = side ? (int)w->w - 2 : 1;
                int i0 = side ? (int)w->w - 6 : 5, i1 = side ? (int)w->w - 7 : 6;
                edge_sum[1 + side] += row[e0] + row[e1];
                inner_sum[1 + side] += row[i0] + row[i1];
                edge_n[1 + side] += 2;
            }
        }
    double means[3], total = 0, totalsq = 0, rgb[3] = {0, 0, 0};
    size_t count = 0;
    int regions = 0;
    for (int i = 0; i < 3; i++) {
        if (acc[i].n < 20)
            continue;
        means[regions++] = acc[i].sum / (double)acc[i].n;
        total += acc[i].sum;
        totalsq += acc[i].sumsq;
        count += acc[i].n;
        for (int k = 0; k < 3; k++)
            rgb[k] += acc[i].rgb[k];
    }
    if (regions == 0)
        means[regions++] = 0;
    for (int k = 0; k < 3; k++)
        w->bg[k] = count ? rgb[k] / (double)count : 255;
    double mn = fmin(w->bg[0], fmin(w->bg[1], w->bg[2])), mx = fmax(w->bg[0], fmax(w->bg[1], w->bg[2]));

    struct photo_check_result *c = entry(rep, C_BG_COLOUR);
    if (!measure(rep, p, C_BG_COLOUR, mn, 0, p->background_min, "",
                 N_("the background is not white: use a pure "
                    "white background with even light"),
                 "")) {
        set_value(c, "#%02x%02x%02x", (unsigned)w->bg[0], (unsigned)w->bg[1], (unsigned)w->bg[2]);
        set_message(
            c,
            N_("background #%02x%02x%02x is not white (darkest channel %.0f, at least %g needed): use a "
               "pure white background with even light"),
            (unsigned)w->bg[0], (unsigned)w->bg[1], (unsigned)w->bg[2], mn, p->background_min.min);
    } else if (!in_range(mx - mn, p->background_chroma)) {
        c->value = mx - mn;
        set_value(c, "#%02x%02x%02x", (unsigned)w->bg[0], (unsigned)w->bg[1], (unsigned)w->bg[2]);
        format_limit(c, p->background_chroma, " colour cast");
        set_status(c,
                   p->severity[C_BG_COLOUR] == PHOTO_SEVERITY_WARN ? PHOTO_STATUS_WARN : PHOTO_STATUS_FAIL);
        set_message(c, N_("background #%02x%02x%02x is tinted (cast %.0f); it must be pure white"),
                    (unsigned)w->bg[0], (unsigned)w->bg[1], (unsigned)w->bg[2], mx - mn);
    } else {
        set_value(c, "#%02x%02x%02x", (unsigned)w->bg[0], (unsigned)w->bg[1], (unsigned)w->bg[2]);
    }

    /* Uniformity: the spread between the three regions' means (a shadow or gradient) or their noise. */
    double hi_m = means[0], lo_m = means[0];
    for (int i = 1; i < regions; i++) {
        hi_m = fmax(hi_m, means[i]);
        lo_m = fmin(lo_m, means[i]);
    }
    double spread = hi_m - lo_m;
    double mean = count ? total / (double)count : 0;
    double sd = count ? sqrt(fmax(0, totalsq / (double)count - mean * mean)) : 0;
    measure(rep, p, C_BG_UNIFORMITY, fmax(spread, sd), 1, p->background_noise, "", "",
            N_("the background is uneven (shadow, gradient or texture): use a plain, evenly lit white "
               "background"));

    /* Border: outermost pixels against the background a few pixels in, on the top, left and right edges. */
    double step = 0;
    for (int i = 0; i < 3; i++)
        if (edge_n[i])
            step = fmax(step, fabs(edge_sum[i] - inner_sum[i]) / (double)edge_n[i]);
    measure(rep, p, C_BG_BORDER, step, 1, p->border_step, "", "",
            N_("the photo has a frame or border line: remove it; the background must reach the edges"));

    /* Clothing must stand out: the share of the bottom rows that differ clearly from the background. */
    struct rect bottom = clip_rect(w, 0, w->h - 8, w->w, w->h);
    size_t differ = 0;
    for (int y = bottom.y0; y < bottom.y1; y++)
        for (int x = bottom.x0; x < bottom.x1; x++)
            if (distance_to(w->img->rgb + 3u * ((size_t)y * w->w + (size_t)x), w->bg) > BACKGROUND_DISTANCE)
                differ++;
    double pct = rect_area(bottom) ? 100.0 * (double)differ / (double)rect_area(bottom) : 0;
    measure(rep, p, C_BG_CONTRAST, pct, 0, p->clothing_contrast, " %",
            N_("clothing blends into the background: wear darker or coloured clothes (not white)"), "");
}

/* Whether the eye pair is plausible for this face box: side by side, level-ish, a sensible distance apart. */
static bool eye_pair_ok(const struct haar_box *face, struct photo_point l, struct photo_point r)
{
    double dx = r.x - l.x, dy = fabs(r.y - l.y);
    return dx > 0.22 * face->w && dx < 0.7 * face->w && dy < 0.25 * face->w &&
           l.y < face->y + 0.65 * face->h && r.y < face->y + 0.65 * face->h;
}

/* The strongest eye whose centre lies in the zone where this side's eye sits in a frontal face box (OpenCV's
 * frontal face cascade puts the eyes at about 28% and 72% of the box width, 38% of its height). Only the
 * zone plus half the largest eye is searched, which keeps the eye search to about a thousand windows. */
static int find_eye(const struct haar_cascade *model, const struct haar_image *hi,
                    const struct haar_box *face, double zx, struct haar_box *ret)
{
    double cx = face->x + zx * face->w, cy = face->y + 0.39 * face->h;
    double hx = 0.1 * face->w, hy = 0.08 * face->h, maxs = 0.28 * face->w;
    int x0 = (int)fmax(0, cx - hx - maxs / 2), y0 = (int)fmax(0, cy - hy - maxs / 2);
    int x1 = (int)fmin(hi->width, cx + hx + maxs / 2), y1 = (int)fmin(hi->height, cy + hy + maxs / 2);
    /* An eye's box is 0.2-0.23 of the face box and collects dozens of hits, so a coarse search loses nothing.
     */
    struct haar_search s = {.x = x0,
                            .y = y0,
                            .w = x1 - x0,
                            .h = y1 - y0,
                            .min_size = 0.17 * face->w,
                            .max_size = maxs,
                            .scale_step = 1.15,
                            .step = 2,
                            .min_neighbours = 3};
    struct haar_box eyes[MAX_EYES];
    size_t n = 0;

    if (s.w < 24 || s.h < 24)
        return 0;
    int r = haar_detect(model, hi, &s, eyes, MAX_EYES, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        double ex = eyes[i].x + eyes[i].w / 2.0, ey = eyes[i].y + eyes[i].h / 2.0;
        if (fabs(ex - cx) <= hx && fabs(ey - cy) <= hy) {
            *ret = eyes[i];
            return 1;
        }
    }
    return 0;
}

static int find_eyes(const struct photo_checker *ck, const struct haar_image *hi, const struct haar_box *face,
                     struct photo_point *ret_l, struct photo_point *ret_r, struct haar_box eye_box[2])
{
    const struct haar_cascade *models[2] = {ck->eye, ck->eye_glasses};
    struct haar_box found[2];
    int have[2] = {0, 0};

    /* The eyeglasses cascade is slower (trees, rotated features) and only asked where the plain one failed.
     */
    for (int m = 0; m < 2 && !(have[0] && have[1]); m++)
        for (int side = 0; side < 2; side++) {
            if (have[side])
                continue;
            int r = find_eye(models[m], hi, face, side ? 0.72 : 0.28, &found[side]);
            if (r < 0)
                return r;
            have[side] = r;
        }
    if (!have[0] || !have[1])
        return have[0] + have[1];
    struct photo_point l = {found[0].x + found[0].w / 2.0, found[0].y + found[0].h / 2.0};
    struct photo_point rr = {found[1].x + found[1].w / 2.0, found[1].y + found[1].h / 2.0};
    if (!eye_pair_ok(face, l, rr))
        return 1;
    *ret_l = l;
    *ret_r = rr;
    eye_box[0] = found[0];
    eye_box[1] = found[1];
    return 2;
}

/* Cheek-to-cheek width: from the face centre outwards along rows just below the eyes until the colour leaves
 * the skin's; the median over rows resists a stray strand of hair. Falls back to the detector's box. */
static double face_width(const struct work *w, const struct haar_box *face, double eye_y, double cx)
{
    struct rect ref =
        clip_rect(w, cx - 0.1 * face->w, eye_y + 0.12 * face->w, cx + 0.1 * face->w, eye_y + 0.25 * face->w);
    double skin[3];
    double widths[16];
    int nw = 0;

    if (!rect_area(ref))
        return face->w;
    mean_rgb(w, ref, skin);
    for (int k = 0; k < 16; k++) {
        int y = (int)(eye_y + (0.05 + 0.02 * k) * face->w);
        if (y < 0 || y >= (int)w->h)
            continue;
        int edge[2];
        for (int side = 0; side < 2; side++) {
            int dir = side ? 1 : -1, run = 0, x = (int)cx, last = (int)cx;
            for (; x >= 0 && x < (int)w->w && abs(x - (int)cx) < face->w; x += dir) {
                if (distance_to(w->img->rgb + 3u * ((size_t)y * w->w + (size_t)x), skin) > 90) {
                    if (++run >= 3)
                        break;
                } else {
                    run = 0;
                    last = x;
                }
            }
            edge[side] = last;
        }
        widths[nw++] = edge[1] - edge[0] + 1;
    }
    if (nw == 0)
        return face->w;
    for (int i = 1; i < nw; i++)
        for (int j = i; j > 0 && widths[j - 1] > widths[j]; j--) {
            double t = widths[j];
            widths[j] = widths[j - 1];
            widths[j - 1] = t;
        }
    double wd = widths[nw / 2];
    return wd > 0.6 * face->w && wd < 1.4 * face->w ? wd : face->w;
}

static int head_top(const struct work *w, const struct haar_box *face)
{
    int x0 = clampi(face->x + face->w / 4, 0, (int)w->w),
        x1 = clampi(face->x + 3 * face->w / 4, 0, (int)w->w);
    int need = (x1 - x0) / 4;

    for (int y = 0; y < face->y + face->h / 2 && y < (int)w->h; y++) {
        int differ = 0;
        for (int x = x0; x < x1; x++)
            if (distance_to(w->img->rgb + 3u * ((size_t)y * w->w + (size_t)x), w->bg) > BACKGROUND_DISTANCE)
                differ++;
        if (differ > need && differ > 0)
            return y;
    }
    return -1;
}

static void region_luma_stats(const struct work *w, struct rect r, double *mean, double *clip_pct,
                              double *entropy, double *sharp)
{
    unsigned hist[256] = {0};
    size_t n = rect_area(r), clipped = 0;
    double s = 0, lap = 0;
    size_t nl = 0;

    for (int y = r.y0; y < r.y1; y++)
        for (int x = r.x0; x < r.x1; x++) {
            int v = w->y[(size_t)y * w->w + (size_t)x];
            hist[v]++;
            s += v;
            if (v <= 4 || v >= 251)
                clipped++;
            if (x > 0 && y > 0 && x + 1 < (int)w->w && y + 1 < (int)w->h) {
                const uint8_t *c = w->y + (size_t)y * w->w + (size_t)x;
                lap += abs(4 * c[0] - c[-1] - c[1] - c[-(ptrdiff_t)w->w] - c[w->w]);
                nl++;
            }
        }
    double e = 0;
    for (int k = 0; k < 256; k++)
        if (hist[k]) {
            double q = (double)hist[k] / (double)n;
            e -= q * log2(q);
        }
    *mean = n ? s / (double)n : 0;
    *clip_pct = n ? 100.0 * (double)clipped / (double)n : 0;
    *entropy = e;
    *sharp = nl ? lap / (double)nl : 0;
}

static double glare_pct(const struct work *w, const struct haar_box *eye)
{
    struct rect r = clip_rect(w, eye->x, eye->y, eye->x + eye->w, eye->y + eye->h);
    size_t n = rect_area(r), hot = 0;

    for (int y = r.y0; y < r.y1; y++)
        for (int x = r.x0; x < r.x1; x++) {
            const uint8_t *p = w->img->rgb + 3u * ((size_t)y * w->w + (size_t)x);
            int mx = p[0] > p[1] ? p[0] : p[1], mn = p[0] < p[1] ? p[0] : p[1];
            mx = p[2] > mx ? p[2] : mx;
            mn = p[2] < mn ? p[2] : mn;
            if (mn >= 235 && mx - mn <= 24)
                hot++;
        }
    return n ? 100.0 * (double)hot / (double)n : 0;
}

/* JPEG blocking: mean luminance step across 8-pixel block boundaries over the mean step inside blocks, over
 * the middle of the photo (face and shoulders, where artefacts show) and only where the picture has some
 * texture, so the flat white background does not dilute it. */
static double blockiness(const struct work *w)
{
    unsigned x0 = w->w / 8u * 1u, x1 = w->w - w->w / 8u, y0 = w->h / 4u, y1 = w->h - 1u;
    long at = 0, in = 0;
    size_t nat = 0, nin = 0;

    /* Rows on a block boundary and one row inside each block: the ratio needs both, not every row. */
    for (unsigned y = y0; y < y1; y++) {
        if (y % 8u != 7u && y % 8u != 3u)
            continue;
        const uint8_t *row = w->y + (size_t)y * w->w, *below = row + w->w;
        bool hrow = y % 8u == 7u;
        for (unsigned x = x0; x < x1; x++) {
            if (row[x] > 245 && row[x + 1] > 245 && below[x] > 245)
                continue;
            int dh = abs(row[x + 1] - row[x]), dv = abs(below[x] - row[x]);
            if (x % 8u == 7u) {
                at += dh;
                nat++;
            } else {
                in += dh;
                nin++;
            }
            if (hrow) {
                at += dv;
                nat++;
            } else {
                in += dv;
                nin++;
            }
        }
    }
    if (!nat || !nin || in <= 0)
        return 1.0;
    return ((double)at / (double)nat) / ((double)in / (double)nin + 0.5);
}

static int check_face(const struct photo_checker *ck, struct photo_report *rep, const struct photo_profile *p,
                      struct work *w)
{
    struct haar_image hi = {w->w, w->h, w->y, w->sum};
    struct haar_box faces[MAX_FACES];
    size_t nf = 0;
    struct photo_face *pf = &rep->face;

    /* Only the scales that make sense in an ID photo: from well below the smallest allowed face to well above
     * the largest, so a wrong-sized face is still found and reported as such. */
    double lo = p->face_width.min > 0 && p->face_width.min < 1e8 ? p->face_width.min : 0.5 * w->w;
    double hi_w = p->face_width.max < 1e8 ? p->face_width.max : 0.75 * w->w;
    struct haar_search s = {.x = 0,
                            .y = 0,
                            .w = (int)w->w,
                            .h = (int)w->h,
                            .min_size = 0.75 * lo,
                            .max_size = fmin(1.2 * hi_w, fmin(w->w, w->h)),
                            .scale_step = 1.12,
                            .step = 2,
                            .min_neighbours = 2};
    int r = haar_detect(ck->face, &hi, &s, faces, MAX_FACES, &nf);
    if (r < 0)
        return r;

    pf->found = (int)nf;
    pf->head_top = -1;
    struct photo_check_result *c = entry(rep, C_FACE_COUNT);
    c->value = (double)nf;
    c->has_value = 1;
    set_value(c, "%zu", nf);
    set_limit(c, "1");
    if (nf != 1) {
        set_status(c, PHOTO_STATUS_FAIL);
        set_message(c, "%s",
                    nf == 0 ? N_("no frontal face found: the applicant must face the camera, eyes open, "
                                 "face uncovered")
                            : N_("more than one face found: only the applicant may be in the photo"));
    }
    if (nf == 0) {
        skip_range(rep, C_FACE_WIDTH, C_GLARE, N_("no face found"));
        return 0;
    }
    const struct haar_box *face = &faces[0];
    pf->x = face->x;
    pf->y = face->y;
    pf->w = face->w;
    pf->h = face->h;

    struct photo_point le = {0, 0}, re = {0, 0};
    struct haar_box eye_box[2] = {{0}, {0}};
    r = find_eyes(ck, &hi, face, &le, &re, eye_box);
    if (r < 0)
        return r;
    pf->eyes_found = r;
    c = entry(rep, C_EYES);
    c->value = r;
    c->has_value = 1;
    set_value(c, "%d", r);
    set_limit(c, "2");
    if (r != 2) {
        set_status(c, p->severity[C_EYES] == PHOTO_SEVERITY_WARN ? PHOTO_STATUS_WARN : PHOTO_STATUS_FAIL);
        set_message(
            c,
            N_("both eyes must be open and clearly visible (found %d): no hair, glare or tinted glasses "
               "over the eyes"),
            r);
    }
    /* Without both eyes the geometry is estimated from the face box, as the detector's training data places
     * the eyes at about 38% of its height. */
    double eye_y = r == 2 ? (le.y + re.y) / 2 : face->y + 0.38 * face->h;
    double eye_x = r == 2 ? (le.x + re.x) / 2 : face->x + face->w / 2.0;
    if (r == 2) {
        pf->left_eye = le;
        pf->right_eye = re;
    }

    pf->width = face_width(w, face, eye_y, eye_x);
    measure(rep, p, C_FACE_WIDTH, pf->width, 0, p->face_width, " px",
            N_("the face is too small: the face must fill more of the photo (closer, or crop tighter)"),
            N_("the face is too large: leave more room around the head (step back, or crop wider)"));

    pf->head_top = head_top(w, face);
    c = entry(rep, C_HEAD_TOP);
    if (pf->head_top < 0) {
        set_status(c, PHOTO_STATUS_FAIL);
        set_value(c, "not found");
        format_limit(c, p->head_top, " px");
        set_message(c, N_("the top of the head could not be told from the background"));
    } else if (!measure(rep, p, C_HEAD_TOP, pf->head_top, 0, p->head_top, " px",
                        N_("the head is cut off or too close to the top edge: leave 7-21 px above the hair"),
                        N_("too much space above the head: move the head up"))) {
        /* The eye rule wins over the hair rule: a photo whose eye line is right only warns about the hair. */
        if (r == 2 && in_range(eye_y, p->eye_line))
            set_status(c, PHOTO_STATUS_WARN);
    }

    if (r == 2) {
        measure(rep, p, C_EYE_LINE, eye_y, 0, p->eye_line, " px",
                N_("the eyes are too high: move the head down in the frame"),
                N_("the eyes are too low: the eye line must be at least 207 px above the bottom edge"));
        measure(rep, p, C_EYE_CENTRE, eye_x, 0, p->eye_centre, " px",
                N_("the face is off-centre to the left: centre the face"),
                N_("the face is off-centre to the right: centre the face"));
        double roll = atan2(re.y - le.y, re.x - le.x) * 180.0 / M_PI;
        measure(rep, p, C_ROLL, fabs(roll), 1, p->roll_deg, " deg", "",
                N_("the head is tilted: keep the head upright, eyes level"));
        entry(rep, C_ROLL)->value = roll;
        measure(rep, p, C_EYE_DISTANCE, hypot(re.x - le.x, re.y - le.y), 0, p->eye_distance, " px",
                N_("the eyes are too close together for this face size: face the camera squarely"),
                N_("the eyes are too far apart: the face is too large or turned"));
    } else {
        skip(rep, C_EYE_LINE, N_("both eyes were not found"));
        skip(rep, C_EYE_CENTRE, N_("both eyes were not found"));
        skip(rep, C_ROLL, N_("both eyes were not found"));
        skip(rep, C_EYE_DISTANCE, N_("both eyes were not found"));
    }

    /* Inner face: between the eyes' outer corners, from the brows to above the chin. */
    double fw = face->w;
    struct rect inner =
        clip_rect(w, eye_x - 0.3 * fw, eye_y - 0.12 * fw, eye_x + 0.3 * fw, eye_y + 0.42 * fw);
    double mean, clip, ent, sharp;
    region_luma_stats(w, inner, &mean, &clip, &ent, &sharp);
    measure(rep, p, C_EXPOSURE_MEAN, mean, 0, p->face_luminance, "",
            N_("the face is too dark: more light on the face"),
            N_("the face is too bright: less light or exposure"));
    measure(rep, p, C_CLIPPING, clip, 1, p->clipping_pct, " %", "",
            N_("parts of the face are burnt out or crushed black: correct the exposure"));
    measure(rep, p, C_DYNAMIC_RANGE, ent, 2, p->entropy_bits, " bits",
            N_("the face has too little tonal range (flat, washed out or posterised): improve lighting and "
               "exposure"),
            "");
    measure(rep, p, C_SHARPNESS, sharp, 2, p->sharpness, "",
            N_("the photo is blurred or out of focus: take it again in focus, without motion"), "");

    /* Cheeks: below each eye, inside the face. */
    double ied = r == 2 ? hypot(re.x - le.x, re.y - le.y) : 0.4 * fw;
    double lx = r == 2 ? le.x : eye_x - ied / 2, rx = r == 2 ? re.x : eye_x + ied / 2;
    struct rect lc = clip_rect(w, lx - 0.18 * ied, eye_y + 0.35 * ied, lx + 0.18 * ied, eye_y + 0.65 * ied);
    struct rect rc = clip_rect(w, rx - 0.18 * ied, eye_y + 0.35 * ied, rx + 0.18 * ied, eye_y + 0.65 * ied);
    double lrgb[3], rrgb[3], both[3], lab[3];
    mean_rgb(w, lc, lrgb);
    mean_rgb(w, rc, rrgb);
    for (int k = 0; k < 3; k++)
        both[k] = (lrgb[k] + rrgb[k]) / 2;
    rgb_to_lab(both, lab);
    c = entry(rep, C_SKIN);
    c->value = lab[1];
    c->has_value = 1;
    set_value(c, "a*=%.0f b*=%.0f", lab[1], lab[2]);
    set_limit(c, "a* %g..%g, b* %g..%g", p->skin_a.min, p->skin_a.max, p->skin_b.min, p->skin_b.max);
    if (!in_range(lab[1], p->skin_a) || !in_range(lab[2], p->skin_b)) {
        set_status(c, p->severity[C_SKIN] == PHOTO_SEVERITY_WARN ? PHOTO_STATUS_WARN : PHOTO_STATUS_FAIL);
        set_message(
            c,
            N_("skin colour is unnatural (colour cast or wrong white balance): correct the white balance"));
    }
    double dl = fabs(mean_luma(w, lc) - mean_luma(w, rc));
    measure(rep, p, C_ILLUMINATION, dl, 0, p->cheek_delta, "", "",
            N_("one side of the face is much darker: light the face evenly from the front"));

    if (r == 2) {
        double g = fmax(glare_pct(w, &eye_box[0]), glare_pct(w, &eye_box[1]));
        measure(rep, p, C_GLARE, g, 1, p->glare_pct, " %", "",
                N_("reflections over the eyes (glasses glare): tilt the glasses or change the lighting"));
    } else {
        skip(rep, C_GLARE, N_("both eyes were not found"));
    }
    return 0;
}

static void apply_severity_off(struct photo_report *rep, const struct photo_profile *p)
{
    for (unsigned i = 1; i < PHOTO_CHECK_COUNT; i++)
        if (p->severity[i] == PHOTO_SEVERITY_OFF) {
            rep->checks[i].status = PHOTO_STATUS_SKIP;
            snprintf(rep->checks[i].message, sizeof(rep->checks[i].message), N_("not applied by profile %s"),
                     p->name);
        }
}

int photo_check(const struct photo_checker *ck, const uint8_t *data, size_t len,
                const struct photo_profile *profile, struct photo_report **ret)
{
    struct photo_decode_info info = {0};
    struct photo_image *img = NULL;
    struct photo_report *rep;
    struct work w = {0};
    int r;

    if (!ck || !ret || (!data && len > 0))
        return PHOTO_ERROR_INVALID;
    if (!profile)
        profile = photo_profile_builtin(NULL);
    rep = calloc(1, sizeof(*rep));
    if (!rep)
        return PHOTO_ERROR_NOMEM;
    snprintf(rep->profile, sizeof(rep->profile), "%s", profile->name);
    rep->profile_version = profile->version;
    rep->file_size = len;
    rep->face.head_top = -1;
    photo_sha256_hex(data, len, rep->sha256);
    rep->count = PHOTO_CHECK_COUNT;
    for (unsigned i = 0; i < PHOTO_CHECK_COUNT; i++)
        rep->checks[i].id = photo_check_ids()[i];

    r = photo_decode_detailed(data, len, &img, &info);
    if (r == PHOTO_ERROR_NOMEM)
        goto fail;
    if (r < 0) {
        struct photo_check_result *c = entry(rep, C_DECODE);
        c->status = PHOTO_STATUS_FAIL;
        set_value(c, "%s",
                  r == PHOTO_ERROR_FORMAT        ? "not JPEG/PNG"
                  : r == PHOTO_ERROR_CORRUPT     ? "damaged"
                  : r == PHOTO_ERROR_TOO_LARGE   ? "too large"
                  : r == PHOTO_ERROR_UNSUPPORTED ? "unsupported"
                                                 : "unreadable");
        set_limit(c, "%s", profile->allow_png ? "JPEG or PNG" : "JPEG");
        photo_describe_decode_failure(r, len, &info, c->message, sizeof(c->message));
        if (info.width && (info.width != profile->width || info.height != profile->height)) {
            c = entry(rep, C_DIMENSIONS);
            c->status = PHOTO_STATUS_FAIL;
            set_value(c, "%ux%u", info.width, info.height);
            set_limit(c, "%ux%u", profile->width, profile->height);
            set_message(c, N_("photo is %ux%u pixels; %ux%u required"), info.width, info.height,
                        profile->width, profile->height);
        }
        skip_range(rep, C_DIMENSIONS, C_BLOCKINESS, N_("the file could not be decoded"));
        goto done;
    }

    check_format(rep, profile, img, len);
    if (img->width != profile->width || img->height != profile->height) {
        skip_range(rep, C_BG_COLOUR, C_BLOCKINESS, N_("the photo does not have the required size"));
        goto done;
    }
    w.img = img;
    w.w = img->width;
    w.h = img->height;
    r = make_luma(&w);
    if (r < 0)
        goto fail;
    check_background(rep, profile, &w);
    r = check_face(ck, rep, profile, &w);
    if (r < 0)
        goto fail;
    measure(rep, profile, C_BLOCKINESS, blockiness(&w), 2, profile->blockiness, "", "",
            N_("visible JPEG blocks: save from the original at a higher JPEG quality, not from a "
               "recompressed copy"));

done:
    apply_severity_off(rep, profile);
    rep->verdict = PHOTO_STATUS_PASS;
    for (unsigned i = 0; i < PHOTO_CHECK_COUNT; i++) {
        enum photo_status st = rep->checks[i].status;
        if (st == PHOTO_STATUS_FAIL || (st == PHOTO_STATUS_WARN && rep->verdict == PHOTO_STATUS_PASS))
            rep->verdict = st;
    }
    free(w.y);
    free(w.sum);
    photo_image_free(img);
    *ret = rep;
    return 0;
fail:
    free(w.y);
    free(w.sum);
    photo_image_free(img);
    free(rep);
    return r;
}

void photo_report_free(struct photo_report *report)
{
    free(report);
}

const struct photo_check_result *photo_report_find(const struct photo_report *report, const char *id)
{
    if (!report || !id)
        return NULL;
    for (size_t i = 0; i < report->count && i < PHOTO_CHECK_COUNT; i++)
        if (report->checks[i].id && strcmp(report->checks[i].id, id) == 0)
            return &report->checks[i];
    return NULL;
}

int photo_report_failing_ids(const struct photo_report *report, char *buf, size_t size)
{
    size_t used = 0;
    int failing = 0;

    if (buf && size)
        buf[0] = '\0';
    if (!report)
        return 0;
    for (size_t i = 0; i < report->count && i < PHOTO_CHECK_COUNT; i++) {
        if (report->checks[i].status != PHOTO_STATUS_FAIL)
            continue;
        failing++;
        if (!buf || !size)
            continue;
        size_t need = strlen(report->checks[i].id) + (used ? 2u : 0u);
        if (used + need + 1u > size)
            continue; /* cut at a whole id */
        used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", report->checks[i].id);
    }
    return failing;
}
