/* gen_portrait.h — synthetic ID-photo portraits for simulators, demos and tests (no real person's data) */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Draw a deterministic, plausible 358 x 441 ID-photo portrait for seed (white background, head and
 * shoulders, eye line and face width inside the photo rules) and encode it as a baseline JPEG at 350 dpi
 * that passes photo_check_basic(). Thread-safe. On success *ret_jpeg is malloc'd (caller frees) and
 * *ret_len its size. Returns 0 or a PHOTO_ERROR; ret_* are untouched on failure. */
int producer_gen_portrait(uint32_t seed, uint8_t **ret_jpeg, size_t *ret_len);
