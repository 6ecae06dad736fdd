/* profile.c — the named threshold sets of the photo checks: built-in profiles and the bureau profile file
 * format */
#include "internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROFILE_MAX_BYTES (64u * 1024u)
#define PROFILE_MAX_LINE  256u
#define NONE_LO           (-1e9)
#define NONE_HI           (1e9)

static const char *const check_ids[PHOTO_CHECK_COUNT] = {
    "format.decode",
    "format.dimensions",
    "format.colour",
    "format.density",
    "format.quality",
    "format.file_size",
    "format.progressive",
    "format.orientation",
    "background.colour",
    "background.uniformity",
    "background.border",
    "background.contrast",
    "face.count",
    "face.width",
    "face.head_top",
    "face.eye_line",
    "face.eye_centre",
    "face.roll",
    "face.eyes",
    "face.eye_distance",
    "exposure.mean",
    "exposure.clipping",
    "exposure.dynamic_range",
    "sharpness",
    "colour.skin",
    "illumination.uniformity",
    "glare.glasses",
    "compression.blockiness",
};

const char *const *photo_check_ids(void)
{
    return check_ids;
}

/* This city's social security card photo: 358 x 441, 350 dpi, white background, face 179-255 px wide, eyes at
 * most 234 px from the top and centred, JPEG about quality 70 in 14-40 KB (PNG accepted, lossless). The
 * measured limits (exposure, sharpness, skin, blockiness) were set on real photos from Debian's
 * python3-skimage data and their degraded variants in tests/photo. */
#define SSC_COMMON                                                                                           \
    .width = PHOTO_WIDTH, .height = PHOTO_HEIGHT, .density_dpi = {350, 350}, .jpeg_quality = {55, 90},       \
    .background_min = {225, NONE_HI}, .background_chroma = {NONE_LO, 14}, .background_noise = {NONE_LO, 12}, \
    .border_step = {NONE_LO, 16}, .clothing_contrast = {25, NONE_HI}, .head_top = {7, 21},                   \
    .eye_line = {NONE_LO, 234}, .eye_centre = {162, 196}, .roll_deg = {NONE_LO, 8},                          \
    .eye_distance = {55, 130}, .face_luminance = {95, 215}, .clipping_pct = {NONE_LO, 5},                    \
    .entropy_bits = {5.0, NONE_HI}, .sharpness = {2.0, NONE_HI}, .skin_a = {4, 32}, .skin_b = {4, 38},       \
    .cheek_delta = {NONE_LO, 30}, .glare_pct = {NONE_LO, 4}, .blockiness = {NONE_LO, 1.5}

static const struct photo_profile profile_ssc = {
    .name = "ssc",
    .version = 1,
    .allow_png = 1,
    .file_size_kb = {14, 40},
    .face_width = {179, 255},
    SSC_COMMON,
};

/* The national resident ID photo variant: JPEG only, 14-20 KB, face width 207 +- 14. */
static const struct photo_profile profile_national = {
    .name = "national-id",
    .version = 1,
    .allow_png = 0,
    .file_size_kb = {14, 20},
    .face_width = {193, 221},
    SSC_COMMON,
};

const struct photo_profile *photo_profile_builtin(const char *name)
{
    if (!name || strcmp(name, "ssc") == 0 || strcmp(name, "default") == 0)
        return &profile_ssc;
    if (strcmp(name, "national-id") == 0)
        return &profile_national;
    return NULL;
}

/* ---- the profile file ------------------------------------------------------------------------------ */

struct range_key {
    const char *key;
    size_t offset;
};

#define RANGE(field)                                                                                         \
    {                                                                                                        \
#field, offsetof(struct photo_profile, field)                                                        \
    }
static const struct range_key range_keys[] = {
    RANGE(density_dpi),       RANGE(jpeg_quality),     RANGE(file_size_kb),   RANGE(background_min),
    RANGE(background_chroma), RANGE(background_noise), RANGE(border_step),    RANGE(clothing_contrast),
    RANGE(face_width),        RANGE(head_top),         RANGE(eye_line),       RANGE(eye_centre),
    RANGE(roll_deg),          RANGE(eye_distance),     RANGE(face_luminance), RANGE(clipping_pct),
    RANGE(entropy_bits),      RANGE(sharpness),        RANGE(skin_a),         RANGE(skin_b),
    RANGE(cheek_delta),       RANGE(glare_pct),        RANGE(blockiness),
};

static bool parse_number(const char *s, size_t n, double *ret)
{
    char buf[64];
    char *end;

    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* Profile files use '.' whatever the process locale says. */
    locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!loc)
        return false;
    errno = 0;
    double v = strtod_l(buf, &end, loc);
    int bad = *end || errno || !isfinite(v) || fabs(v) > 1e8;
    freelocale(loc);
    if (bad)
        return false;
    *ret = v;
    return true;
}

/* "a..b", "a..", "..b" or "a" (exactly a). */
static bool parse_range(const char *v, struct photo_range *ret)
{
    const char *dots = strstr(v, "..");
    struct photo_range r = {NONE_LO, NONE_HI};

    if (!dots) {
        if (!parse_number(v, strlen(v), &r.min))
            return false;
        r.max = r.min;
    } else {
        if (dots > v && !parse_number(v, (size_t)(dots - v), &r.min))
            return false;
        if (dots[2] && !parse_number(dots + 2, strlen(dots + 2), &r.max))
            return false;
        if (dots == v && !dots[2])
            return false;
    }
    if (r.min > r.max)
        return false;
    *ret = r;
    return true;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int line_error(char *err, size_t err_size, unsigned line, const char *what, const char *detail)
{
    if (err && err_size)
        snprintf(err, err_size, "line %u: %s%s%s", line, what, detail ? ": " : "", detail ? detail : "");
    return PHOTO_ERROR_PROFILE;
}

static int apply(struct photo_profile *p, const char *key, const char *value, unsigned line, char *err,
                 size_t err_size)
{
    double v;

    if (strcmp(key, "name") == 0) {
        size_t n = strlen(value);
        if (n == 0 || n >= sizeof(p->name) || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != n)
            return line_error(err, err_size, line,
                              "name takes 1-31 lowercase letters, digits, '-', '_' or '.'", NULL);
        memcpy(p->name, value, n + 1);
        return 0;
    }
    if (strcmp(key, "version") == 0) {
        if (!parse_number(value, strlen(value), &v) || v < 1 || v > 1e6 || v != floor(v))
            return line_error(err, err_size, line, "version must be a whole number from 1", NULL);
        p->version = (unsigned)v;
        return 0;
    }
    if (strcmp(key, "formats") == 0) {
        if (strcmp(value, "jpeg") == 0)
            p->allow_png = 0;
        else if (strcmp(value, "jpeg,png") == 0 || strcmp(value, "png,jpeg") == 0)
            p->allow_png = 1;
        else
            return line_error(err, err_size, line, "formats is 'jpeg' or 'jpeg,png'", value);
        return 0;
    }
    if (strcmp(key, "width") == 0 || strcmp(key, "height") == 0) {
        if (!parse_number(value, strlen(value), &v) || v < 16 || v > PHOTO_MAX_PIXELS || v != floor(v))
            return line_error(err, err_size, line, "width and height are whole pixels", value);
        *(key[0] == 'w' ? &p->width : &p->height) = (unsigned)v;
        return 0;
    }
    if (strncmp(key, "severity.", 9) == 0) {
        for (unsigned i = 0; i < PHOTO_CHECK_COUNT; i++) {
            if (strcmp(key + 9, check_ids[i]) != 0)
                continue;
            if (strcmp(value, "fail") == 0)
                p->severity[i] = PHOTO_SEVERITY_FAIL;
            else if (strcmp(value, "warn") == 0)
                p->severity[i] = PHOTO_SEVERITY_WARN;
            else if (strcmp(value, "off") == 0 && i != 0)
                p->severity[i] = PHOTO_SEVERITY_OFF;
            else
                return line_error(err, err_size, line,
                                  "severity is fail, warn or off (format.decode: no off)", value);
            return 0;
        }
        return line_error(err, err_size, line, "unknown check id", key + 9);
    }
    for (size_t i = 0; i < sizeof(range_keys) / sizeof(range_keys[0]); i++) {
        if (strcmp(key, range_keys[i].key) != 0)
            continue;
        struct photo_range r;
        if (!parse_range(value, &r))
            return line_error(err, err_size, line, "expected a range MIN..MAX, MIN.., ..MAX or a number",
                              value);
        memcpy((char *)p + range_keys[i].offset, &r, sizeof(r));
        return 0;
    }
    return line_error(err, err_size, line, "unknown key", key);
}

int photo_profile_parse(const char *text, size_t len, struct photo_profile *ret, char *err, size_t err_size)
{
    struct photo_profile p = *photo_profile_builtin("ssc");
    char line[PROFILE_MAX_LINE + 1];
    unsigned lineno = 0;
    bool named = false, any = false;
    size_t pos = 0;

    if (err && err_size)
        err[0] = '\0';
    if (!text || !ret)
        return PHOTO_ERROR_INVALID;
    if (len > PROFILE_MAX_BYTES)
        return line_error(err, err_size, 0, "profile file larger than 64 KiB", NULL);
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        lineno++;
        if (end - pos > PROFILE_MAX_LINE)
            return line_error(err, err_size, lineno, "line longer than 256 characters", NULL);
        if (memchr(text + pos, '\0', end - pos))
            return line_error(err, err_size, lineno, "NUL byte in profile", NULL);
        memcpy(line, text + pos, end - pos);
        line[end - pos] = '\0';
        pos = end + 1;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return line_error(err, err_size, lineno, "expected KEY = VALUE", s);
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (strcmp(key, "base") == 0) {
            const struct photo_profile *b = photo_profile_builtin(value);
            if (any || !b)
                return line_error(err, err_size, lineno,
                                  any ? "base must be the first setting" : "unknown base profile", value);
            p = *b;
            any = true;
            continue;
        }
        int r = apply(&p, key, value, lineno, err, err_size);
        if (r < 0)
            return r;
        named |= strcmp(key, "name") == 0;
        any = true;
    }
    if (!named)
        return line_error(err, err_size, lineno, "the profile needs a name", NULL);
    *ret = p;
    return 0;
}

int photo_profile_load(const char *path, struct photo_profile *ret, char *err, size_t err_size)
{
    char buf[PROFILE_MAX_BYTES + 1];
    FILE *f;

    if (!path || !ret)
        return PHOTO_ERROR_INVALID;
    f = fopen(path, "rbe");
    if (!f) {
        if (err && err_size)
            snprintf(err, err_size, "cannot open: %s", strerror(errno));
        return PHOTO_ERROR_IO;
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        if (err && err_size)
            snprintf(err, err_size, "cannot read");
        return PHOTO_ERROR_IO;
    }
    return photo_profile_parse(buf, n, ret, err, err_size);
}

int photo_profile_find(const char *name, struct photo_profile *ret, char *err, size_t err_size)
{
    const struct photo_profile *builtin = photo_profile_builtin(name && *name ? name : NULL);

    if (!ret)
        return PHOTO_ERROR_INVALID;
    if (builtin) {
        *ret = *builtin;
        return 0;
    }
    return photo_profile_load(name, ret, err, err_size);
}
