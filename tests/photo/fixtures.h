/* fixtures.h — photo test fixtures made at test time from real photos shipped in Debian packages */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "photo.h"

/* python3-skimage's sample photos (public domain / CC0): astronaut.png, chelsea.png (a cat), coffee.png,
 * camera.png, truncated.jpg. */
#define FX_SKIMAGE_DIR "/usr/lib/python3/dist-packages/skimage/data"

/* An 8-bit RGB image the fixtures own. */
struct fx_img {
    unsigned w, h;
    uint8_t *rgb;
};

/* Read a whole file (at most 8 MiB); NULL when missing. */
uint8_t *fx_read(const char *path, size_t *ret_len);
/* Decode a skimage sample; false when the package is not installed. */
bool fx_load_sample(const char *name, struct fx_img *ret);
/* A passing ID photo for seed, built from astronaut.png by producer/intake/gen_portrait.c; false when missing. */
bool fx_portrait(uint32_t seed, struct fx_img *ret);
bool fx_portrait_jpeg(uint32_t seed, uint8_t **ret, size_t *ret_len);
void fx_free(struct fx_img *img);

uint8_t *fx_jpeg(const struct fx_img *img, int quality, unsigned dpi, size_t *ret_len);
/* Scale (bilinear) any image into a new w x h image. */
struct fx_img fx_resize(const struct fx_img *img, unsigned w, unsigned h);
/* Place src scaled by s with its centre at (cx, cy) on a white w x h canvas. */
struct fx_img fx_place(const struct fx_img *src, double s, double cx, double cy, unsigned w, unsigned h);
/* Rotate by deg degrees about (cx, cy), white where nothing maps. */
struct fx_img fx_rotate(const struct fx_img *img, double deg, double cx, double cy);
void fx_blur(struct fx_img *img, int radius);
/* Per-channel v' = v * gain + offset over the whole image. */
void fx_levels(struct fx_img *img, double gain, double offset);
/* Move the picture down by dy (white comes in at the top). */
void fx_shift(struct fx_img *img, int dx, int dy);
void fx_fill(struct fx_img *img, int x0, int y0, int x1, int y1, uint8_t r, uint8_t g, uint8_t b);
/* true when the pixel is (near) white background. */
bool fx_is_white(const struct fx_img *img, unsigned x, unsigned y);
