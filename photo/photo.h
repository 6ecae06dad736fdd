/* photo.h — decoding and encoding of applicants' digital photos (public interface of the photo library) */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Errors are negative; 0 or positive is success. */
enum photo_error {
    PHOTO_ERROR_INVALID = -1,      /* bad argument */
    PHOTO_ERROR_NOMEM = -2,        /* allocation failed */
    PHOTO_ERROR_FORMAT = -3,       /* neither JPEG nor PNG */
    PHOTO_ERROR_CORRUPT = -4,      /* truncated or damaged file */
    PHOTO_ERROR_TOO_LARGE = -5,    /* bytes or dimensions beyond the limits below */
    PHOTO_ERROR_UNSUPPORTED = -6,  /* valid file of a kind we refuse (CMYK, 12-bit, ...) */
    PHOTO_ERROR_IO = -7,           /* could not read or write a file */
};

#define PHOTO_MAX_BYTES (4u * 1024u * 1024u) /* larger submissions are refused before decoding */
#define PHOTO_MAX_PIXELS 4096u               /* per side */

/* A decoded photo: 8-bit RGB, rows packed (stride == width * 3). */
struct photo_image {
    unsigned width;
    unsigned height;
    unsigned density_x; /* dots per inch from JFIF/pHYs, 0 when absent */
    unsigned density_y;
    uint8_t *rgb;
};

const char *photo_strerror(int err);

/* Decode a JPEG or PNG held in memory. On success *ret is a new image to free with photo_image_free().
 * Returns 0 or a PHOTO_ERROR; *ret is untouched on failure. */
int photo_decode(const uint8_t *data, size_t len, struct photo_image **ret);
void photo_image_free(struct photo_image *img);

/* Encode 8-bit RGB as a baseline JFIF JPEG with the given quality (1..100) and density (dpi).
 * On success *ret_data is malloc'd (caller frees) and *ret_len its size. */
int photo_encode_jpeg(const uint8_t *rgb, unsigned width, unsigned height, int quality, unsigned dpi,
                      uint8_t **ret_data, size_t *ret_len);

/* SHA-256 of the bytes as 64 lowercase hex characters plus NUL. */
void photo_sha256_hex(const uint8_t *data, size_t len, char ret_hex[65]);

/* The minimal gate the line applies until the full quality checker exists: the photo decodes,
 * is 358 x 441 pixels and is in colour. Returns 0 when acceptable; otherwise a PHOTO_ERROR and a
 * one-line reason a person can act on in reason (always NUL-terminated). */
#define PHOTO_WIDTH 358
#define PHOTO_HEIGHT 441
int photo_check_basic(const uint8_t *data, size_t len, char *reason, size_t reason_size);
