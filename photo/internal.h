/* internal.h — what the photo library's sources share and nobody outside photo/ may use */
#pragma once

#include "photo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Marks a message that producer/ translates where it shows it to a person (tests/lint/po.sh collects these);
 * the library itself stays English and free of gettext. */
#ifndef N_
#define N_(msgid) msgid
#endif

/* What we learnt about a file even when decoding failed, so a verdict can name it. */
struct photo_decode_info {
    unsigned width; /* 0 until the header was read */
    unsigned height;
    const char *why; /* static one-line detail for a refusal, or NULL */
};

int photo_decode_detailed(const uint8_t *data, size_t len, struct photo_image **ret,
                          struct photo_decode_info *info);
/* One line a studio can act on for a decoding error. */
void photo_describe_decode_failure(int err, size_t len, const struct photo_decode_info *info, char *reason,
                                   size_t reason_size);

/* ---- Haar cascades (haar.c) ------------------------------------------------------------------------- */

struct haar_cascade;

/* Parse an OpenCV 3/4 "opencv-cascade-classifier" HAAR BOOST cascade (stumps or trees, no tilted features).
 * PHOTO_ERROR_MODEL when the file is missing, too large or not such a cascade. */
int haar_cascade_load(const char *path, struct haar_cascade **ret);
int haar_cascade_parse(const char *xml, size_t len, struct haar_cascade **ret);
void haar_cascade_free(struct haar_cascade *c);
unsigned haar_cascade_window(const struct haar_cascade *c); /* detection window side in pixels */

/* A luminance image with its integral, computed once per photo and shared by every search. */
struct haar_image {
    unsigned width, height;
    const uint8_t *gray; /* width * height */
    const uint32_t *sum; /* (width + 1) * (height + 1) */
};

struct haar_box {
    int x, y, w, h;
    int neighbours; /* raw detections merged into this box: a confidence */
};

struct haar_search {
    int x, y, w, h;  /* region of the image to search */
    double min_size; /* smallest and largest window side, in image pixels */
    double max_size;
    double scale_step;  /* e.g. 1.08 */
    int step;           /* window step in pixels of each pyramid level (OpenCV: 1 above scale 2, else 2) */
    int min_neighbours; /* as OpenCV's minNeighbors */
};

/* Run the cascade over the region at every scale from min_size to max_size, merge overlapping hits like
 * OpenCV's groupRectangles (eps 0.2) and return at most cap boxes, strongest first. */
int haar_detect(const struct haar_cascade *c, const struct haar_image *img, const struct haar_search *s,
                struct haar_box *out, size_t cap, size_t *ret_n);
