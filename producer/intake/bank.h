/* bank.h — the bank's data for each card (issue 16): importing the files the bank's data preparation makes,
 * matched to their applications; checking a file as the line needs it (chip data and stripe tracks); the list
 * of applications the bank still owes data for */
#pragma once

#include "base/ctx.h"
#include "store/bank_data.h"

#include <stdbool.h>
#include <stddef.h>

#include "encoder.h"
#include "printer.h"

/* What a usable file gives the line: the parsed data, what may be shown of it, and the stripe tracks (all
 * empty when the data has none; mag.track[] points into track[]). */
struct producer_bank_card {
    struct encoder_bank_data *data;
    struct encoder_bank_summary summary;
    char track[PRINTER_MAG_TRACKS][PRINTER_MAG_DATA_MAX + 8];
    struct printer_mag mag;
    int ntracks; /* tracks present */
};

/* Parse and check one file (len bytes of text) as a card would use it: the encoder's strict parser, then the
 * stripe tracks through printer_mag_check() (with a Magicard's stricter track 1 when magicard). Returns 0
 * (ret filled; producer_bank_card_free() it), or ENCODER_ERROR_BANK_DATA / PRINTER_ERROR_INVALID /
 * ENCODER_ERROR_NOMEM with why naming the line, field or track and the problem, never the account number. */
int producer_bank_card_load(const char *text, size_t len, bool magicard, struct producer_bank_card *ret,
                            char *why, size_t why_size);
void producer_bank_card_free(struct producer_bank_card *c);

/* Import one bank data file (name is how the import names it in messages and the audit trail): parsed and
 * checked, matched to its application by APPLICATION, its BANK the application's bank, the application not
 * produced or cancelled; stored in one transaction with its audit event, and an application held for bank
 * data released to the queue. Returns 0 (ctx->message says what was done) or a negative error with
 * ctx->message naming the file, the line and field, or the application (never the account number). */
int producer_bank_import(struct producer_ctx *ctx, const char *name, const char *text, size_t len);

/* The applications the bank still owes data for (pending or held, not temporary cards), oldest first. Returns
 * the count or a negative error (ctx->message). */
int producer_bank_pending(struct producer_ctx *ctx, store_bank_pending_row *row, void *arg);
