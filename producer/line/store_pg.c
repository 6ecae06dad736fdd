/* store_pg.c — the line's store interface (line.h) over PostgreSQL: each operation calls one store/ function
 * on the line's own connection */
#include "line/line.h"

#include "intake/photo_receipt.h"
#include "store/bank_data.h"
#include "store/production.h"
#include "store/queue.h"

#include <string.h>

static struct producer_claimer *claimer(void *ctx)
{
    return ctx;
}

static int pg_claim(void *ctx, struct producer_claim *ret)
{
    return store_queue_claim(claimer(ctx), ret);
}

static int pg_outlet_known(void *ctx, const char *outlet_code)
{
    return store_production_outlet_known(claimer(ctx)->conn, outlet_code);
}

static int pg_earlier_card(void *ctx, const char *card_number, const char *ssn, char ret_status[16],
                           bool *ret_same_person)
{
    return store_production_earlier_card(claimer(ctx)->conn, card_number, ssn, ret_status, ret_same_person);
}

static int pg_other_card(void *ctx, const char *ssn, bool temporary, const char *except, char ret_card[16],
                         char ret_status[16])
{
    return store_production_other_card(claimer(ctx)->conn, ssn, temporary, except, ret_card, ret_status);
}

static int pg_photo(void *ctx, int64_t photo_id, uint8_t **ret_bytes, size_t *ret_len)
{
    return store_production_photo(claimer(ctx)->conn, photo_id, ret_bytes, ret_len);
}

static int pg_photo_gate(void *ctx, const struct photo_checker *ck, const struct photo_profile *profile,
                         int64_t photo_id, const uint8_t *bytes, size_t len, char *why, size_t why_size)
{
    return producer_photo_gate(claimer(ctx)->conn, ck, profile, photo_id, bytes, len, why, why_size);
}

static int pg_hold(void *ctx, const char *app_id, const char *line_id, const char *reason)
{
    return store_production_hold(claimer(ctx)->conn, app_id, claimer(ctx)->owner, line_id, reason);
}

static int pg_allocate(void *ctx, const char *app_id, const char *line_id, const struct producer_claim *c,
                       const char *prefix, char ret_card_number[10])
{
    bool temporary = strcmp(c->app.kind, "temporary") == 0;
    struct store_allocation a = {.app_id = app_id,
                                 .owner = claimer(ctx)->owner,
                                 .line_id = line_id,
                                 .person_key = c->app.ssn,
                                 .issue_date = c->issue_date,
                                 .expiry_date = c->expiry_date,
                                 .prefix = prefix,
                                 .temporary = temporary};

    return store_production_allocate(claimer(ctx)->conn, &a, ret_card_number);
}

static int pg_step(void *ctx, const char *app_id, const char *card_number, const char *status)
{
    return store_production_step(claimer(ctx)->conn, app_id, claimer(ctx)->owner, card_number, status);
}

static int pg_requeue(void *ctx, const char *app_id, const char *line_id, const char *card_number,
                      const char *cause)
{
    return store_queue_requeue(claimer(ctx)->conn, app_id, claimer(ctx)->owner, line_id, card_number, cause);
}

static int pg_spoil(void *ctx, const char *app_id, const char *line_id, const char *card_number,
                    const char *reason, const char *hold_reason, int max_attempts)
{
    return store_production_spoil(claimer(ctx)->conn, app_id, claimer(ctx)->owner, line_id, card_number,
                                  reason, hold_reason, max_attempts);
}

static int pg_spoil_lost(void *ctx, const char *card_number)
{
    return store_production_spoil_lost(claimer(ctx)->conn, card_number);
}

static int pg_finish(void *ctx, const char *app_id, const char *line_id, const struct producer_claim *c,
                     const char *card_number, const char *atr_hex, const char *chip_id_hex,
                     char ret_shipment[19])
{
    struct store_finish f = {.app_id = app_id,
                             .owner = claimer(ctx)->owner,
                             .line_id = line_id,
                             .card_number = card_number,
                             .atr_hex = atr_hex,
                             .chip_id_hex = chip_id_hex,
                             .outlet_code = c->app.outlet_code,
                             .replaced_card =
                                 strcmp(c->app.kind, "replacement") == 0 ? c->app.replaced_card : NULL,
                             .temporary = strcmp(c->app.kind, "temporary") == 0};

    return store_production_finish(claimer(ctx)->conn, &f, ret_shipment);
}

static int pg_pause(void *ctx, const char *line_id, const char *cause)
{
    return store_production_pause_line(claimer(ctx)->conn, line_id, cause);
}

static int pg_work_left(void *ctx)
{
    return store_queue_work_left_for(claimer(ctx)->conn, claimer(ctx));
}

static const char *pg_last_error(void *ctx)
{
    const char *m = PQerrorMessage(claimer(ctx)->conn);
    return m ? m : "";
}

static int pg_bank_data(void *ctx, int64_t app_id, char **ret_text, size_t *ret_len)
{
    return store_bank_data_get(claimer(ctx)->conn, app_id, ret_text, ret_len);
}

static int pg_bank_card(void *ctx, const char *app_id, const char *card_number, const char *pan_masked,
                        const char *bank_name, const char *line_id)
{
    return store_bank_data_card(claimer(ctx)->conn, app_id, card_number, pan_masked, bank_name, line_id);
}

static int pg_bank_stripe(void *ctx, const char *app_id, const char *card_number, int tracks,
                          const char *line_id)
{
    return store_bank_data_stripe(claimer(ctx)->conn, app_id, card_number, tracks, line_id);
}

const struct line_store_ops line_store_pg = {
    .claim = pg_claim,
    .outlet_known = pg_outlet_known,
    .earlier_card = pg_earlier_card,
    .other_card = pg_other_card,
    .photo = pg_photo,
    .photo_gate = pg_photo_gate,
    .hold = pg_hold,
    .allocate = pg_allocate,
    .step = pg_step,
    .requeue = pg_requeue,
    .spoil = pg_spoil,
    .spoil_lost = pg_spoil_lost,
    .finish = pg_finish,
    .pause = pg_pause,
    .work_left = pg_work_left,
    .last_error = pg_last_error,
    .bank_data = pg_bank_data,
    .bank_card = pg_bank_card,
    .bank_stripe = pg_bank_stripe,
};
