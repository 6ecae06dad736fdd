/* card.c — the per-card state machine: validate, allocate, feed, personalise, print, eject, then finish,
 * spoil, hold or requeue; device faults and encoder errors become actions through tables */
#include "line/line-private.h"

#include "base/log.h"
#include "base/rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Time a device operation towards the line's utilisation. */
#define DEVICE(l, call)                                                                                      \
    ({                                                                                                       \
        int64_t t0_ = line_mono_ns();                                                                        \
        int r_ = (call);                                                                                     \
        (l)->busy_ns += line_mono_ns() - t0_;                                                                \
        r_;                                                                                                  \
    })

int64_t line_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- the fault tables ------------------------------------------------------------------------------------
 */

#define DISPOSITIONS (PRINTER_DISPOSITION_DEVICE_GONE + 1)

/* A printer failure, by step and by the driver's disposition (CUPS backends' job dispositions). A blank the
 * feeder could not take never left the hopper, so its application goes back untouched; a card that failed
 * later is spoiled. An operator must act when the printer asks for it or is gone. RETRY is not repeated in
 * place: the application is retried with a new card. */
static const struct line_fault_action printer_faults[LINE_STEP_COUNT][DISPOSITIONS] = {
    [LINE_STEP_FEED] =
        {
            [PRINTER_DISPOSITION_OK] = {LINE_FATE_REQUEUE, false},
            [PRINTER_DISPOSITION_RETRY] = {LINE_FATE_REQUEUE, false},
            [PRINTER_DISPOSITION_REJECT_CARD] = {LINE_FATE_REQUEUE, false},
            [PRINTER_DISPOSITION_PAUSE_LINE] = {LINE_FATE_REQUEUE, true},
            [PRINTER_DISPOSITION_DEVICE_GONE] = {LINE_FATE_REQUEUE, true},
        },
    [LINE_STEP_TO_ENCODER] =
        {
            [PRINTER_DISPOSITION_OK] = {LINE_FATE_SPOIL, false},
            [PRINTER_DISPOSITION_RETRY] = {LINE_FATE_SPOIL, false},
            [PRINTER_DISPOSITION_REJECT_CARD] = {LINE_FATE_SPOIL, false},
            [PRINTER_DISPOSITION_PAUSE_LINE] = {LINE_FATE_SPOIL, true},
            [PRINTER_DISPOSITION_DEVICE_GONE] = {LINE_FATE_SPOIL, true},
        },
    [LINE_STEP_PRINT] =
        {
            [PRINTER_DISPOSITION_OK] = {LINE_FATE_SPOIL, false},
            [PRINTER_DISPOSITION_RETRY] = {LINE_FATE_SPOIL, false},
            [PRINTER_DISPOSITION_REJECT_CARD] = {LINE_FATE_SPOIL, false},
            [PRINTER_DISPOSITION_PAUSE_LINE] = {LINE_FATE_SPOIL, true},
            [PRINTER_DISPOSITION_DEVICE_GONE] = {LINE_FATE_SPOIL, true},
        },
    [LINE_STEP_EJECT] =
        {
            [PRINTER_DISPOSITION_OK] = {LINE_FATE_SPOIL, false},
            [PRINTER_DISPOSITION_RETRY] = {LINE_FATE_SPOIL, false},
            [PRINTER_DISPOSITION_REJECT_CARD] = {LINE_FATE_SPOIL, false},
            [PRINTER_DISPOSITION_PAUSE_LINE] = {LINE_FATE_SPOIL, true},
            [PRINTER_DISPOSITION_DEVICE_GONE] = {LINE_FATE_SPOIL, true},
        },
};

/* The words each step's spoil reason starts with. */
static const char *const step_what[LINE_STEP_COUNT] = {
    [LINE_STEP_FEED] = "feed failed",
    [LINE_STEP_TO_ENCODER] = "move to chip station failed",
    [LINE_STEP_PRINT] = "print failed",
    [LINE_STEP_EJECT] = "eject failed",
};

struct line_fault_action line_printer_fault(enum line_step step, enum printer_disposition disp)
{
    /* a disposition this table does not know is a card fault that needs an operator */
    if ((unsigned)step >= LINE_STEP_COUNT)
        step = LINE_STEP_EJECT;
    if ((unsigned)disp >= DISPOSITIONS)
        disp = PRINTER_DISPOSITION_PAUSE_LINE;
    return printer_faults[step][disp];
}

/* An encoder error: the data, not the card, is at fault when it cannot be encoded — this card is spoiled and
 * the application held, as a new card would fail the same way; a reader that is gone or stuck needs an
 * operator; any other error spoils this card and the application is retried with a new one. */
static const struct {
    int err;
    struct line_fault_action action;
    const char *what;
} encoder_faults[] = {
    {ENCODER_ERROR_ENCODING, {LINE_FATE_SPOIL_HOLD, false}, "chip data cannot be encoded"},
    {ENCODER_ERROR_INVALID, {LINE_FATE_SPOIL_HOLD, false}, "chip data cannot be encoded"},
    {ENCODER_ERROR_NO_READER, {LINE_FATE_SPOIL, true}, "chip personalisation failed"},
    {ENCODER_ERROR_TIMEOUT, {LINE_FATE_SPOIL, true}, "chip personalisation failed"},
    /* the bank's application (issue 16): its data at fault holds the application (the reason starts with
     * "bank data", so importing a corrected file releases it); a card that is not the bank's product (wrong
     * SCP02 keys, no bank application on it) is put aside and the application retried on a new blank */
    {ENCODER_ERROR_BANK_DATA,
     {LINE_FATE_SPOIL_HOLD, false},
     "bank data unusable; ask the bank for a corrected file and import it (cardline bank import)"},
    {ENCODER_ERROR_CRYPTOGRAM, {LINE_FATE_SPOIL, false}, "bank application: the card's cryptogram is wrong"},
    {ENCODER_ERROR_NOT_BANK, {LINE_FATE_SPOIL, false}, "bank application: not on this card"},
};

struct line_fault_action line_encoder_fault(int err, const char **ret_what)
{
    for (size_t i = 0; i < sizeof(encoder_faults) / sizeof(encoder_faults[0]); i++) {
        if (encoder_faults[i].err == err) {
            if (ret_what)
                *ret_what = encoder_faults[i].what;
            return encoder_faults[i].action;
        }
    }
    if (ret_what)
        *ret_what = "chip personalisation failed";
    return (struct line_fault_action){LINE_FATE_SPOIL, false};
}

/* --- database steps through the store ------------------------------------------------------------------- */

#define ST(l) ((l)->store)

/* Hold the application with a reason a person can act on; the deadline clock stops while it is held. */
static void hold(struct line *l, struct line_job *job, const char *reason)
{
    int r = ST(l)->hold(l->store_ctx, job->c.id_text, l->id, reason);

    if (r == 1) {
        l->held++;
        log_warn(l->id, "application %s held: %s", job->c.id_text, reason);
    } else if (r < 0) {
        log_error(l->id, "application %s: hold: %s", job->c.id_text, ST(l)->last_error(l->store_ctx));
    }
}

/* Give the application back untouched, its attempt refunded: the checks could not be made (no card yet), or
 * its blank never left the hopper (card_number set: the number is given up). When the session is gone the
 * lease runs out instead and the rescuer returns the application the same way. */
static void requeue(struct line *l, struct line_job *job, const char *card_number, const char *cause)
{
    if (ST(l)->requeue(l->store_ctx, job->c.id_text, l->id, card_number, cause) < 0)
        log_warn(l->id, "application %s: requeue: %s", job->c.id_text, ST(l)->last_error(l->store_ctx));
}

/* The card is spoiled: it keeps its number and reason; the application is retried or, after too many
 * attempts (or at once, hold_now: a fault in the data would only repeat), held for an operator. */
static void spoil(struct line *l, struct line_job *job, const char *reason, bool hold_now)
{
    char hold_reason[RULES_REASON_MAX];

    if (hold_now)
        snprintf(hold_reason, sizeof(hold_reason), "%s", reason);
    else
        snprintf(hold_reason, sizeof(hold_reason), "production failed %d times; last: %s",
                 job->c.app.attempts, reason);
    if (ST(l)->spoil(l->store_ctx, job->c.id_text, l->id, job->card_number, reason, hold_reason,
                     hold_now ? 0 : l->ctl->max_attempts) < 0) {
        log_error(l->id, "card %s: recording it spoiled: %s", job->card_number,
                  ST(l)->last_error(l->store_ctx));
        return;
    }
    l->spoiled++;
    log_warn(l->id, "card %s spoiled (application %s): %s", job->card_number, job->c.id_text, reason);
}

/* The card is good: recorded, the application produced, the card packed (or handed over at the counter). */
static int finish(struct line *l, struct line_job *job, const struct encoder_result *enc)
{
    char shipment[19] = "";
    int r = ST(l)->finish(l->store_ctx, job->c.id_text, l->id, &job->c, job->card_number, enc->atr_hex,
                          enc->card_id_hex, shipment);

    if (r < 0)
        return r;
    l->good++;
    atomic_fetch_add(&l->ctl->cards_done, 1);
    if (strcmp(job->c.app.kind, "temporary") == 0)
        log_info(l->id, "temporary card %s issued at the counter for application %s", job->card_number,
                 job->c.id_text);
    else
        log_info(l->id, "card %s good for application %s, packed in shipment %s", job->card_number,
                 job->c.id_text, shipment);
    return 0;
}

/* Pause the line for an operator, with the cause shown in the dashboard and status. */
static void pause_line(struct line *l, const char *cause)
{
    ST(l)->pause(l->store_ctx, l->id, cause);
    log_error(l->id, "line paused: %s", cause);
}

/* Checks that need the database: outlet known, kind rules, one person one card, photo present and acceptable.
 * Returns 0 when the application may go on, CHECK_HOLD with a reason a person can act on, or a negative
 * PRODUCER_ERROR when the check itself could not be made (the database failed or went away): that is never
 * the applicant's problem, so the caller must not hold the application for it. */
#define CHECK_HOLD 1
static int check_with_db(struct line *l, struct line_job *job, char *reason, size_t reason_size)
{
    const struct producer_app *a = &job->c.app;
    bool temporary = strcmp(a->kind, "temporary") == 0, exchange = strcmp(a->kind, "exchange") == 0;
    char status[16], card[16];
    uint8_t *bytes = NULL;
    size_t len = 0;
    int r = CHECK_HOLD, q;

/* a lookup that failed is the database's fault, never the applicant's */
#define LOOKUP(what, call)                                                                                   \
    ({                                                                                                       \
        int q_ = (call);                                                                                     \
        if (q_ < 0) {                                                                                        \
            log_warn(l->id, "application %s: %s: %s", job->c.id_text, what,                                  \
                     ST(l)->last_error(l->store_ctx));                                                       \
            r = q_;                                                                                          \
            goto out;                                                                                        \
        }                                                                                                    \
        q_;                                                                                                  \
    })

    if (LOOKUP("outlet check", ST(l)->outlet_known(l->store_ctx, a->outlet_code)) != 1) {
        snprintf(reason, reason_size, "unknown pickup outlet '%s'; correct the outlet or register it",
                 a->outlet_code);
        goto out;
    }
    if (strcmp(a->kind, "replacement") == 0 || exchange) {
        bool same_person = false;
        if (LOOKUP("earlier card check",
                   ST(l)->earlier_card(l->store_ctx, a->replaced_card, a->ssn, status, &same_person)) != 1) {
            snprintf(reason, reason_size, "%s names card %s, which this bureau never issued", a->kind,
                     a->replaced_card);
            goto out;
        }
        if (!same_person) {
            snprintf(reason, reason_size, "card %s to be replaced belongs to someone else", a->replaced_card);
            goto out;
        }
        if (!exchange && strcmp(status, "lost") != 0) {
            snprintf(reason, reason_size,
                     "replacement needs a formal loss report for card %s first (card is '%s')",
                     a->replaced_card, status);
            goto out;
        }
        if (exchange && strcmp(status, "issued") != 0) {
            snprintf(reason, reason_size, "exchange needs card %s to be in the holder's hands (card is '%s')",
                     a->replaced_card, status);
            goto out;
        }
    }

    /* a new card needs a person without one; the old card of an exchange is checked above */
    if (LOOKUP("existing cards check", ST(l)->other_card(l->store_ctx, a->ssn, temporary,
                                                         exchange ? a->replaced_card : NULL, card, status)) ==
        1) {
        snprintf(reason, reason_size,
                 "the person already has card %s (%s); one person, one card — use a replacement or exchange",
                 card, status);
        goto out;
    }

    q = LOOKUP("photo", ST(l)->photo(l->store_ctx, a->photo_id, &bytes, &len));
    if (q != 1) {
        snprintf(reason, reason_size, "photo %" PRId64 " is missing; the applicant must submit a photo",
                 a->photo_id);
        goto out;
    }
    {
        char why[RULES_REASON_MAX - 32] = "";
        /* a valid receipt for exactly these bytes, or the same full check the studios run */
        int g = ST(l)->photo_gate(l->store_ctx, l->ctl->photo_checker, &l->ctl->photo_profile, a->photo_id,
                                  bytes, len, why, sizeof(why));
        if (g == PRODUCER_ERROR_INPUT) {
            snprintf(reason, reason_size, "%s; a new photo is needed", why);
            goto out;
        }
        if (g == PRODUCER_ERROR_DB || g == PRODUCER_ERROR_NOMEM) {
            /* the receipt lookup failed or memory ran out: try again later */
            log_warn(l->id, "application %s: photo gate: %s", job->c.id_text, producer_strerror(g));
            r = g;
            goto out;
        }
        if (g < 0) {
            snprintf(reason, reason_size, "photo could not be checked: %s", producer_strerror(g));
            goto out;
        }
        if (photo_decode(bytes, len, &job->photo) < 0) {
            snprintf(reason, reason_size, "photo cannot be decoded; a new photo is needed");
            goto out;
        }
    }
    {
        char bad[8] = "", why[128] = "";
        struct line_card_source src;
        struct encoder_card_data chip;
        /* the number is a placeholder: none is allocated yet */
        line_card_source_of_claim(&job->c, "A00000000", l->ctl->region, &src);
        line_card_chip(&src, &chip);
        if (encoder_check_card_data(&chip, why, sizeof(why)) < 0) {
            snprintf(reason, reason_size, "the data cannot be written to the chip: %s", why);
            goto out;
        }
        if (printer_check_text_layout(l->ctl->layout, a->name, bad) < 0) {
            snprintf(reason, reason_size,
                     "the name contains '%s', which no installed font can print; install a font that has it",
                     bad);
            goto out;
        }
    }
    /* the bank's application: its data is checked here, before a blank is spent (a temporary card carries
     * none); each reason starts with "bank data", which importing the bank's file releases */
    if (l->ctl->bank_required && !temporary) {
        char *text = NULL, why[224] = "";
        size_t tlen = 0;
        q = l->store->bank_data ? LOOKUP("bank data", ST(l)->bank_data(l->store_ctx, a->id, &text, &tlen))
                                : 0;
        if (q != 1) {
            /* without a bank no bank can send a file: the application itself must be corrected */
            snprintf(reason, reason_size, "%s",
                     a->bank_name[0]
                         ? "bank data missing: import the bank's file for this application (cardline "
                           "bank import)"
                         : "bank data missing: the application names no cooperating bank; the "
                           "upstream platform must correct it");
            goto out;
        }
        q = producer_bank_card_load(text, tlen, strcmp(printer_name(l->printer), "magicard") == 0, &job->bank,
                                    why, sizeof(why));
        free(text);
        if (q == ENCODER_ERROR_NOMEM) {
            r = PRODUCER_ERROR_NOMEM;
            goto out;
        }
        if (q < 0) {
            snprintf(reason, reason_size,
                     "bank data unusable: %.150s; ask the bank for a corrected file and import it (cardline "
                     "bank import)",
                     why);
            goto out;
        }
        job->has_bank = true;
    }
    r = 0;
out:
#undef LOOKUP
    free(bytes);
    return r;
}

/* Card number and the blank leaving the hopper. Returns 0, CHECK_HOLD with reason, or a negative error. */
static int allocate(struct line *l, struct line_job *job, char *reason, size_t reason_size)
{
    bool temporary = strcmp(job->c.app.kind, "temporary") == 0;
    int r = ST(l)->allocate(l->store_ctx, job->c.id_text, l->id, &job->c,
                            temporary ? "T" : l->ctl->card_prefix, job->card_number);

    if (r == STORE_PRODUCTION_DUPLICATE) {
        snprintf(reason, reason_size, "the person already has a card in production or awaiting collection");
        return CHECK_HOLD;
    }
    if (r == PRODUCER_ERROR_NOT_FOUND)
        log_warn(l->id, "application %s is no longer ours", job->c.id_text);
    else if (r < 0)
        log_error(l->id, "allocate: %s", ST(l)->last_error(l->store_ctx));
    return r;
}

/* Every this many good cards the line asks the printer for its ribbon and cleaning state, and warns while
 * fewer than RIBBON_LOW_CARDS prints are left (the printer's own counters: Evolis Rco;l, Magicard STA$$). */
#define RIBBON_CHECK_CARDS 25
#define RIBBON_LOW_CARDS   50

static void ribbon_check(struct line *l)
{
    enum printer_disposition disp;
    struct printer_status st;
    char cause[160];

    if (printer_get_status(l->printer, &st, &disp, cause) < 0)
        return;
    if (st.ribbon_left >= 0 && st.ribbon_left < RIBBON_LOW_CARDS)
        log_warn(l->id, "ribbon low: the printer reports %ld prints left", st.ribbon_left);
    if (st.cleaning_due == 1)
        log_warn(l->id, "the printer asks for a cleaning");
}

/* The card failed at a step: apply the action, with the card in the reject box. Returns the enum line_next.
 */
static int card_failed(struct line *l, struct line_job *job, struct line_fault_action act, const char *reason,
                       const char *pause_cause)
{
    enum printer_disposition rdisp = PRINTER_DISPOSITION_OK;
    char rcause[160] = "";

    if (act.fate == LINE_FATE_REQUEUE) {
        requeue(l, job, job->card_number, pause_cause);
    } else {
        spoil(l, job, reason, act.fate == LINE_FATE_SPOIL_HOLD);
        if (printer_reject(l->printer, &rdisp, rcause) < 0 && rdisp != PRINTER_DISPOSITION_OK)
            log_error(l->id, "could not reject card %s: %s", job->card_number, rcause);
    }
    if (act.pause_line) {
        pause_line(l, pause_cause);
        return LINE_NEXT_STOP;
    }
    return LINE_NEXT_WORKED;
}

/* Takes one claimed application through the line. Returns LINE_NEXT_WORKED, or LINE_NEXT_STOP when the line
 * must stop. */
static int produce(struct line *l, struct line_job *job)
{
    char reason[RULES_REASON_MAX], cause[160] = "";
    enum printer_disposition disp = PRINTER_DISPOSITION_OK;
    struct printer_raster *raster = NULL;
    struct render_task render = {.running = false};
    struct line_card_source src;
    struct encoder_card_data chip;
    struct encoder_result enc;
    struct line_fault_action act;
    enum line_step step;
    const char *what;
    int r, today = atoi(job->c.today);

    if (!producer_validate_app(&job->c.app, today, reason, sizeof(reason))) {
        hold(l, job, reason);
        return LINE_NEXT_WORKED;
    }
    r = check_with_db(l, job, reason, sizeof(reason));
    if (r == CHECK_HOLD) {
        hold(l, job, reason);
        return LINE_NEXT_WORKED;
    }
    if (r < 0) {
        requeue(l, job, NULL, NULL);
        return LINE_NEXT_WORKED;
    }
    r = allocate(l, job, reason, sizeof(reason));
    if (r == CHECK_HOLD) {
        hold(l, job, reason);
        return LINE_NEXT_WORKED;
    }
    if (r < 0)
        return LINE_NEXT_WORKED; /* the lease runs out and the rescuer returns the application */

    if (DEVICE(l, printer_feed(l->printer, &disp, cause)) < 0)
        return card_failed(l, job, line_printer_fault(LINE_STEP_FEED, disp), cause, cause);

    line_card_source_of_claim(&job->c, job->card_number, l->ctl->region, &src);
    /* the face renders while the chip is personalised */
    memset(&render, 0, sizeof(render));
    line_card_face(&src, l->ctl->layout, job->photo, &render.face);
    line_render_start(l, &render);

    /* Chip first (issue 11): the blank is personalised at the contact station before any ribbon is spent, so
     * a card whose chip fails costs no ribbon. */
    step = LINE_STEP_TO_ENCODER;
    if (ST(l)->step(l->store_ctx, job->c.id_text, job->card_number, "encoding") < 0)
        goto lost;
    if (DEVICE(l, printer_to_encoder(l->printer, &disp, cause)) < 0)
        goto printer_fault;
    line_card_chip(&src, &chip);
    memset(&enc, 0, sizeof(enc));
    r = DEVICE(l, l->personalize(l->encoder, l->ctl->keys, &chip, &enc));
    if (r < 0) {
        const char *why = enc.cause[0] ? enc.cause : encoder_strerror(r);
        act = line_encoder_fault(r, &what);
        snprintf(reason, sizeof(reason), "%s: %s", what, why);
        /* the station itself is gone or stuck: an operator must look at the reader */
        snprintf(cause, sizeof(cause), "chip encoder: %.120s", why);
        printer_raster_free(line_render_join(l, &render));
        return card_failed(l, job, act, reason, cause);
    }
    if (job->has_bank) {
        /* the bank's application on the same card at the same station, under the same key service */
        struct encoder_bank_result bres;
        memset(&bres, 0, sizeof(bres));
        r = DEVICE(l, encoder_bank_personalize(l->encoder, l->ctl->keys, job->bank.data, &bres));
        if (r < 0) {
            const char *why = bres.cause[0] ? bres.cause : encoder_strerror(r);
            act = line_encoder_fault(r, &what);
            /* The social security application already holds the holder's data. Blocking it needs a session
             * on this same card, which not every station can give after the bank's (a simulated station's
             * reset brings a new blank): the operator is told to destroy the card instead. */
            snprintf(reason, sizeof(reason),
                     "%s: %.120s; NOT blocked: the holder's data is on it, destroy it by hand", what, why);
            snprintf(cause, sizeof(cause), "chip encoder (bank application): %.100s", why);
            printer_raster_free(line_render_join(l, &render));
            return card_failed(l, job, act, reason, cause);
        }
        if (ST(l)->bank_card(l->store_ctx, job->c.id_text, job->card_number,
                             bres.pan_masked[0] ? bres.pan_masked : job->bank.summary.pan_masked,
                             job->c.app.bank_name, l->id) < 0)
            goto lost;
    }
    raster = line_render_join(l, &render);
    if (!raster) {
        snprintf(reason, sizeof(reason), "face rendering failed: %s", printer_strerror(render.r));
        return card_failed(l, job, (struct line_fault_action){LINE_FATE_SPOIL, false}, reason, reason);
    }
    step = LINE_STEP_PRINT;
    if (ST(l)->step(l->store_ctx, job->c.id_text, job->card_number, "printing") < 0)
        goto lost;
    /* the stripe goes with the print job (the drivers write and verify it first); the tracks live in the job
     * until the print returns */
    if (job->has_bank && job->bank.ntracks > 0)
        raster->mag = &job->bank.mag;
    if (DEVICE(l, printer_print(l->printer, raster, job->card_number, &disp, cause)) < 0)
        goto printer_fault;
    /* the simulated printer has no stripe to write */
    if (raster->mag && strcmp(printer_name(l->printer), "sim") != 0 &&
        ST(l)->bank_stripe(l->store_ctx, job->c.id_text, job->card_number, job->bank.ntracks, l->id) < 0)
        goto lost;
    step = LINE_STEP_EJECT;
    if (ST(l)->step(l->store_ctx, job->c.id_text, job->card_number, "ejecting") < 0)
        goto lost;
    if (DEVICE(l, printer_eject(l->printer, &disp, cause)) < 0)
        goto printer_fault;
    printer_raster_free(raster);
    if (finish(l, job, &enc) < 0)
        log_error(l->id, "card %s was ejected but could not be recorded good; the rescuer will spoil it",
                  job->card_number);
    else if (l->good % RIBBON_CHECK_CARDS == 0)
        ribbon_check(l);
    return LINE_NEXT_WORKED;

printer_fault:
    printer_raster_free(raster);
    printer_raster_free(line_render_join(l, &render));
    snprintf(reason, sizeof(reason), "%s: %s", step_what[step], cause);
    return card_failed(l, job, line_printer_fault(step, disp), reason, cause);

lost:
    /* The application is no longer ours (cancelled, or our lease ran out and a rescuer took it) or the
     * database is unreachable. The card goes to the reject box; record it spoiled when we still can —
     * otherwise the rescuer does once the lease runs out. */
    printer_raster_free(raster);
    printer_raster_free(line_render_join(l, &render));
    log_error(l->id, "lost application %s while producing card %s; rejecting the card", job->c.id_text,
              job->card_number);
    printer_reject(l->printer, NULL, NULL);
    ST(l)->spoil_lost(l->store_ctx, job->card_number);
    return LINE_NEXT_WORKED;
}

int line_work_one(struct line *l)
{
    struct line_job job;
    int r;

    memset(&job, 0, sizeof(job));
    r = ST(l)->claim(l->store_ctx, &job.c);
    if (r <= 0)
        return r;
    atomic_store(&l->in_hand, job.c.app.id);
    if (!l->first_work_ns)
        l->first_work_ns = line_mono_ns();
    r = produce(l, &job);
    l->last_work_ns = line_mono_ns();
    atomic_store(&l->in_hand, 0);
    photo_image_free(job.photo);
    producer_bank_card_free(&job.bank);
    return r;
}
