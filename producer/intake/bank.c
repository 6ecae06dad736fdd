/* bank.c — the bank's data for each card (issue 16): importing the files the bank's data preparation makes,
 * matched to their applications; checking a file as the line needs it; the list the bank works from */
#include "intake/bank.h"

#include "base/i18n.h"

#include "store/bank_data.h"
#include "store/store.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define BANK_FILE_MAX 65536 /* as the table's check: a card's data is a few kilobytes */

int producer_bank_card_load(const char *text, size_t len, bool magicard, struct producer_bank_card *ret,
                            char *why, size_t why_size)
{
    int r;

    memset(ret, 0, sizeof(*ret));
    why[0] = '\0';
    r = encoder_bank_data_parse(text, len, &ret->data, why, why_size);
    if (r < 0)
        return r;
    if (encoder_bank_data_summary(ret->data, &ret->summary) < 0) {
        snprintf(why, why_size, "the bank data cannot be summarised");
        producer_bank_card_free(ret);
        return ENCODER_ERROR_BANK_DATA;
    }
    ret->mag.coercivity = PRINTER_MAG_HICO;
    for (int t = 0; t < PRINTER_MAG_TRACKS; t++) {
        if (encoder_bank_data_stripe(ret->data, t + 1, ret->track[t], sizeof(ret->track[t])) < 0) {
            snprintf(why, why_size, "magnetic track %d: longer than a track holds", t + 1);
            producer_bank_card_free(ret);
            return PRINTER_ERROR_INVALID;
        }
        if (ret->track[t][0]) {
            ret->mag.track[t] = ret->track[t];
            ret->ntracks++;
        }
    }
    if (ret->ntracks > 0) {
        char bad[160] = "";
        /* caught here, before a card is spent, rather than by the driver with the card in the printer */
        if (printer_mag_check(&ret->mag, bad, sizeof(bad)) < 0) {
            snprintf(why, why_size, "%s", bad);
            producer_bank_card_free(ret);
            return PRINTER_ERROR_INVALID;
        }
        /* a Magicard's job header is comma-separated: its driver refuses a comma in track 1 */
        if (magicard && strchr(ret->track[0], ',')) {
            snprintf(why, why_size,
                     "magnetic track 1: character %zu is a comma, which a Magicard cannot write",
                     (size_t)(strchr(ret->track[0], ',') - ret->track[0]) + 1);
            producer_bank_card_free(ret);
            return PRINTER_ERROR_INVALID;
        }
    }
    return 0;
}

void producer_bank_card_free(struct producer_bank_card *c)
{
    if (!c)
        return;
    encoder_bank_data_free(c->data);
    sodium_memzero(c->track, sizeof(c->track));
    c->data = NULL;
    memset(&c->mag, 0, sizeof(c->mag));
}

static void sha256_hex(const char *text, size_t len, char out[65])
{
    unsigned char md[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(md, (const unsigned char *)text, len);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int producer_bank_import(struct producer_ctx *ctx, const char *name, const char *text, size_t len)
{
    struct producer_bank_card card;
    struct store_bank_app app;
    char why[256], sha[65], old_sha[65], id[24], detail[320];
    int r, replaced, released;

    ctx->message[0] = '\0';
    if (!ctx->conn || !ctx->actor || !ctx->actor[0] || !name || !text)
        return PRODUCER_ERROR_INVALID;
    if (len == 0 || len > BANK_FILE_MAX || memchr(text, '\0', len))
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 len == 0 ? _("%.120s: not a bank data file (empty)")
                                 : len > BANK_FILE_MAX
                                     ? _("%.120s: not a bank data file (larger than 64 KiB)")
                                     : _("%.120s: not a bank data file (binary)"),
                                 name);
    /* a file that would not go onto a card is refused now, not when its card is in the printer */
    r = producer_bank_card_load(text, len, false, &card, why, sizeof(why));
    if (r == ENCODER_ERROR_NOMEM)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_NOMEM, _("%.120s: out of memory"), name);
    if (r < 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT, "%.120s: %.180s", name, why);
    if (!card.summary.application[0] || !card.summary.bank[0]) {
        producer_bank_card_free(&card);
        return producer_ctx_fail(
            ctx, PRODUCER_ERROR_INPUT,
            card.summary.application[0]
                ? _("%.120s: BANK missing: the file must say which bank made it")
                : _("%.120s: APPLICATION missing: the file must say which application it is "
                    "for"),
            name);
    }
    sha256_hex(text, len, sha);
    if (store_begin(ctx->conn) < 0) {
        producer_bank_card_free(&card);
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB,
                                 _("the database is not available; nothing imported"));
    }
    r = store_bank_data_app(ctx->conn, card.summary.application, &app);
    if (r < 0)
        goto db_failed;
    if (r == 0) {
        r = producer_ctx_fail(ctx, PRODUCER_ERROR_NOT_FOUND,
                              _("%.120s: APPLICATION: no application %.64s at this bureau"), name,
                              card.summary.application);
        goto refused;
    }
    if (strcmp(app.status, "produced") == 0 || strcmp(app.status, "cancelled") == 0) {
        r = producer_ctx_fail(
            ctx, PRODUCER_ERROR_REFUSED,
            strcmp(app.status, "produced") == 0
                ? _("%.120s: APPLICATION: application %.64s is produced; its bank data can no "
                    "longer be attached")
                : _("%.120s: APPLICATION: application %.64s is cancelled; its bank data can no "
                    "longer be attached"),
            name, card.summary.application);
        goto refused;
    }
    if (strcmp(app.kind, "temporary") == 0) {
        r = producer_ctx_fail(
            ctx, PRODUCER_ERROR_REFUSED,
            _("%.120s: APPLICATION: application %.64s is for a temporary card, which carries no "
              "bank application"),
            name, card.summary.application);
        goto refused;
    }
    if (strcmp(app.bank_name, card.summary.bank) != 0) {
        if (app.bank_name[0])
            r = producer_ctx_fail(
                ctx, PRODUCER_ERROR_INPUT,
                _("%.120s: BANK: the file is from '%.60s' but application %.64s chose '%.60s'"), name,
                card.summary.bank, card.summary.application, app.bank_name);
        else
            r = producer_ctx_fail(
                ctx, PRODUCER_ERROR_INPUT,
                _("%.120s: BANK: the file is from '%.60s' but application %.64s chose no bank"), name,
                card.summary.bank, card.summary.application);
        goto refused;
    }
    {
        const struct store_bank_file f = {.application_id = app.id,
                                          .bank_name = card.summary.bank,
                                          .aid = card.summary.aid_hex,
                                          .pan_masked = card.summary.pan_masked,
                                          .has_stripe = card.ntracks > 0,
                                          .file_name = name,
                                          .content = text,
                                          .sha256 = sha,
                                          .actor = ctx->actor};
        replaced = store_bank_data_put(ctx->conn, &f, old_sha);
    }
    if (replaced < 0) {
        r = replaced;
        goto db_failed;
    }
    released = store_bank_data_release(ctx->conn, app.id);
    if (released < 0) {
        r = released;
        goto db_failed;
    }
    snprintf(id, sizeof(id), "%" PRId64, app.id);
    if (replaced)
        snprintf(detail, sizeof(detail), "%.120s sha256 %s, account %s; replaces sha256 %s", name, sha,
                 card.summary.pan_masked, old_sha);
    else
        snprintf(detail, sizeof(detail), "%.120s sha256 %s, account %s", name, sha, card.summary.pan_masked);
    if (store_event(ctx->conn, ctx->actor, replaced ? "bank_data_replaced" : "bank_data_imported", id, NULL,
                    NULL, detail) < 0 ||
        (released &&
         store_event(ctx->conn, ctx->actor, "released", id, NULL, NULL, "bank data imported") < 0)) {
        r = PRODUCER_ERROR_DB;
        goto db_failed;
    }
    if (released)
        store_work_notify(ctx->conn);
    if (store_commit(ctx->conn) < 0) {
        r = PRODUCER_ERROR_DB;
        goto db_failed;
    }
    snprintf(ctx->message, sizeof(ctx->message),
             replaced && released
                 ? _("%.120s: application %.64s, account %s (replaces the earlier file); released "
                     "to the queue")
             : replaced ? _("%.120s: application %.64s, account %s (replaces the earlier file)")
             : released ? _("%.120s: application %.64s, account %s; released to the queue")
                        : _("%.120s: application %.64s, account %s"),
             name, card.summary.application, card.summary.pan_masked);
    producer_bank_card_free(&card);
    return 0;

db_failed:
    store_rollback(ctx->conn);
    producer_bank_card_free(&card);
    return producer_ctx_fail(ctx, r == PRODUCER_ERROR_NOMEM ? r : PRODUCER_ERROR_DB,
                             _("%.120s: the database failed; nothing imported from it"), name);
refused:
    store_rollback(ctx->conn);
    producer_bank_card_free(&card);
    return r;
}

int producer_bank_pending(struct producer_ctx *ctx, store_bank_pending_row *row, void *arg)
{
    int r;

    ctx->message[0] = '\0';
    r = store_bank_data_pending(ctx->conn, row, arg);
    if (r == PRODUCER_ERROR_DB)
        return producer_ctx_fail(ctx, r, _("the database is not available"));
    return r;
}
