/* fixtures.c — builds the photo tests' inputs from Debian's real sample photos and degrades them on purpose
 */
#include "fixtures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake/gen_portrait.h"

#define FX_MAX_FILE (8u * 1024u * 1024u)

uint8_t *fx_read(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rbe");
    uint8_t *buf;

    if (!f)
        return NULL;
    buf = malloc(FX_MAX_FILE);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t n = fread(buf, 1, FX_MAX_FILE, f);
    fclose(f);
    *ret_len = n;
    return buf;
}

static bool from_bytes(uint8_t *data, size_t len, struct fx_img *ret)
{
    struct photo_image *img = NULL;

    if (!data)
        return false;
    int r = photo_decode(data, len, &img);
    free(data);
    if (r < 0)
        return false;
    ret->w = img->width;
    ret->h = img->height;
    ret->rgb = img->rgb;
    img->rgb = NULL;
    photo_image_free(img);
    return true;
}

bool fx_load_sample(const char *name, struct fx_img *ret)
{
    char path[512];
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/%s", FX_SKIMAGE_DIR, name);
    /* Read first: the length is only known afterwards. */
    uint8_t *data = fx_read(path, &len);
    return from_bytes(data, len, ret);
}

bool fx_portrait_jpeg(uint32_t seed, uint8_t **ret, size_t *ret_len)
{
    return producer_gen_portrait(seed, ret, ret_len) == 0;
}

bool fx_portrait(uint32_t seed, struct fx_img *ret)
{
    uint8_t *jpeg = NULL;
    size_t len = 0;

    if (!fx_portrait_jpeg(seed, &jpeg, &len))
        return false;
    return from_bytes(jpeg, len, ret);
}

void fx_free(struct fx_img *img)
{
    free(img->rgb);
    img->rgb = NULL;
}

uint8_t *fx_jpeg(const struct fx_img *img, int quality, unsigned dpi, size_t *ret_len)
{
    uint8_t *out = NULL;
    if (photo_encode_jpeg(img->rgb, img->w, img->h, quality, dpi, &out, ret_len) < 0)
        return NULL;
    return out;
}

static void sample(const struct fx_img *img, double u, double v, uint8_t out[3])
{
    if (u < 0 || v < 0 || u > img->w - 1.0 || v > img->h - 1.0) {
        out[0] = out[1] = out[2] = 255;
        return;
    }
    unsigned x0 = (unsigned)u, y0 = (unsigned)v;
    unsigned x1 = x0 + 1 < img->w ? x0 + 1 : x0, y1 = y0 + 1 < img->h ? y0 + 1 : y0;
    double fx = u - x0, fy = v - y0;
    for (int c = 0; c < 3; c++) {
        double a = img->rgb[((size_t)y0 * img->w + x0) * 3 + (size_t)c];
        double b = img->rgb[((size_t)y0 * img->w + x1) * 3 + (size_t)c];
        double d = img->rgb[((size_t)y1 * img->w + x0) * 3 + (size_t)c];
        double e = img->rgb[((size_t)y1 * img->w + x1) * 3 + (size_t)c];
        double t = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
        out[c] = (uint8_t)(t + 0.5);
    }
}

static struct fx_img blank(unsigned w, unsigned h)
{
    struct fx_img o = {w, h, malloc((size_t)w * h * 3u)};
    if (o.rgb)
        memset(o.rgb, 255, (size_t)w * h * 3u);
    return o;
}

struct fx_img fx_resize(const struct fx_img *img, unsigned w, unsigned h)
{
    struct fx_img o = blank(w, h);
    for (unsigned y = 0; o.rgb && y < h; y++)
        for (unsigned x = 0; x < w; x++)
            sample(img, (x + 0.5) * img->w / w - 0.5, (y + 0.5) * img->h / h - 0.5,
                   o.rgb + ((size_t)y * w + x) * 3);
    return o;
}

struct fx_img fx_place(const struct fx_img *src, double s, double cx, double cy, unsigned w, unsigned h)
{
    struct fx_img o = blank(w, h);
    for (unsigned y = 0; o.rgb && y < h; y++)
        for (unsigned x = 0; x < w; x++)
            sample(src, (x - cx) / s + src->w / 2.0, (y - cy) / s + src->h / 2.0,
                   o.rgb + ((size_t)y * w + x) * 3);
    return o;
}

struct fx_img fx_rotate(const struct fx_img *img, double deg, double cx, double cy)
{
    struct fx_img o = blank(img->w, img->h);
    double a = deg * M_PI / 180.0, c = cos(a), s = sin(a);
    for (unsigned y = 0; o.rgb && y < img->h; y++)
        for (unsigned x = 0; x < img->w; x++) {
            double dx = x - cx, dy = y - cy;
            sample(img, cx + c * dx + s * dy, cy - s * dx + c * dy, o.rgb + ((size_t)y * img->w + x) * 3);
        }
    return o;
}

void fx_blur(struct fx_img *img, int radius)
{
    size_t n = (size_t)img->w * img->h * 3u;
    uint8_t *tmp = malloc(n);
    if (!tmp)
        return;
    for (int pass = 0; pass < 2; pass++) {
        const uint8_t *in = pass ? tmp : img->rgb;
        uint8_t *out = pass ? img->rgb : tmp;
        for (unsigned y = 0; y < img->h; y++)
            for (unsigned x = 0; x < img->w; x++)
                for (int c = 0; c < 3; c++) {
                    unsigned sum = 0, cnt = 0;
                    for (int d = -radius; d <= radius; d++) {
                        int xx = pass ? (int)x : (int)x + d, yy = pass ? (int)y + d : (int)y;
                        if (xx < 0 || yy < 0 || xx >= (int)img->w || yy >= (int)img->h)
                            continue;
                        sum += in[((size_t)yy * img->w + (size_t)xx) * 3 + (size_t)c];
                        cnt++;
                    }
                    out[((size_t)y * img->w + x) * 3 + (size_t)c] = (uint8_t)(sum / cnt);
                }
    }
    free(tmp);
}

void fx_levels(struct fx_img *img, double gain, double offset)
{
    size_t n = (size_t)img->w * img->h * 3u;
    for (size_t i = 0; i < n; i++) {
        double v = img->rgb[i] * gain + offset;
        img->rgb[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
    }
}

void fx_shift(struct fx_img *img, int dx, int dy)
{
    struct fx_img o = blank(img->w, img->h);
    for (unsigned y = 0; o.rgb && y < img->h; y++)
        for (unsigned x = 0; x < img->w; x++) {
            int sx = (int)x - dx, sy = (int)y - dy;
            if (sx >= 0 && sy >= 0 && sx < (int)img->w && sy < (int)img->h)
                memcpy(o.rgb + ((size_t)y * img->w + x) * 3,
                       img->rgb + ((size_t)sy * img->w + (size_t)sx) * 3, 3);
        }
    if (o.rgb) {
        free(img->rgb);
        img->rgb = o.rgb;
    }
}

void fx_fill(struct fx_img *img, int x0, int y0, int x1, int y1, uint8_t r, uint8_t g, uint8_t b)
{
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < (int)img->h; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < (int)img->w; x++) {
            uint8_t *p = img->rgb + ((size_t)y * img->w + (size_t)x) * 3;
            p[0] = r;
            p[1] = g;
            p[2] = b;
        }
}

bool fx_is_white(const struct fx_img *img, unsigned x, unsigned y)
{
    const uint8_t *p = img->rgb + ((size_t)y * img->w + x) * 3;
    return p[0] > 235 && p[1] > 235 && p[2] > 235;
}
