/* web_receipt.h — the photo quality test receipt (《数字相片质量检测回执》) a studio downloads from the
 * dashboard: the slip `cardline photo check --receipt` writes (photo/receipt.c), in the reader's language, in
 * memory */
#pragma once

#include "photo.h"

#include <stddef.h>
#include <stdint.h>

/* Render the receipt as PNG or PDF into a malloc'd buffer (*ret_data), with the photo drawn on it when photo
 * (its file bytes) is given and decodes. Returns 0 or a negative PHOTO_ERROR. Thread-safe. */
int web_receipt_render(const struct photo_receipt *rc, const uint8_t *photo, size_t photo_len,
                       enum photo_receipt_format format, uint8_t **ret_data, size_t *ret_len);
