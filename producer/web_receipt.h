/* web_receipt.h — the digital photo quality test receipt (《数字相片质量检测回执》) a studio hands the
 * applicant */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct web_receipt {
    const char *receipt_no;
    const char *studio;
    const char *verdict;
    const char *checked_at;
    const char *sha256;
    const uint8_t *photo; /* the checked photo, drawn on the receipt */
    size_t photo_len;
};

/* A one-page PDF in memory (*ret_pdf malloc'd). Returns 0 or a negative producer error. */
int web_receipt_pdf(const struct web_receipt *r, uint8_t **ret_pdf, size_t *ret_len);
