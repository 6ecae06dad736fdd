/* gen_portrait.h — ID-photo portraits for simulators, demos and tests, composed from a real public-domain
 * photo */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Where Debian's python3-skimage installs its sample photos; astronaut.png (Eileen Collins, NASA, public
 * domain) is the face every portrait is made from. CARDLINE_PORTRAIT_DIR overrides the directory. */
#define PRODUCER_PORTRAIT_DIR  "/usr/lib/python3/dist-packages/skimage/data"
#define PRODUCER_PORTRAIT_FILE "astronaut.png"

/* Deliberate defects for applications that must be held. */
enum producer_portrait_flaw {
    PRODUCER_PORTRAIT_OK = 0,
    PRODUCER_PORTRAIT_GREY,            /* format.colour */
    PRODUCER_PORTRAIT_DARK,            /* exposure.mean */
    PRODUCER_PORTRAIT_BLUE_BACKGROUND, /* background.colour */
    PRODUCER_PORTRAIT_OFF_CENTRE,      /* face.eye_centre */
    PRODUCER_PORTRAIT_SMALL_FACE,      /* face.width */
    PRODUCER_PORTRAIT_BLURRED,         /* sharpness */
    PRODUCER_PORTRAIT_FLAW_COUNT,
};

/* The decoded source photo and its background mask: read-only after creation, so any number of threads may
 * render from one source at once. */
struct producer_portrait_source;

/* Load the source photo from dir (NULL: $CARDLINE_PORTRAIT_DIR, else PRODUCER_PORTRAIT_DIR). Returns 0, or
 * PHOTO_ERROR_IO when the file is missing (producer_portrait_strerror names the package), or another
 * PHOTO_ERROR. */
int producer_portrait_source_new(const char *dir, struct producer_portrait_source **ret);
void producer_portrait_source_free(struct producer_portrait_source *src);

/* Compose a 358 x 441, 350 dpi baseline JPEG for seed: the face scaled, placed, mirrored and lit a little
 * differently per seed on a white background, aimed to pass the default photo profile unless flaw asks otherwise
 * (the generator checks each one: see gen.h).
 * About 3 ms. On success *ret_jpeg is malloc'd (caller frees); ret_* untouched on failure. */
int producer_portrait_render(const struct producer_portrait_source *src, uint32_t seed,
                             enum producer_portrait_flaw flaw, uint8_t **ret_jpeg, size_t *ret_len);

/* The same with a source loaded once per process on first use (thread-safe). Returns 0 or a PHOTO_ERROR;
 * ret_* are untouched on failure. */
int producer_gen_portrait(uint32_t seed, uint8_t **ret_jpeg, size_t *ret_len);

/* A message for an error of the functions above; for a missing source it names the package to install. */
const char *producer_portrait_strerror(int err);
