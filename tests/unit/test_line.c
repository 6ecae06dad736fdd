/* test_line.c — the line's per-card state machine against an in-memory store, a fake printer driver and the
 * simulated chip: every fault at every step leads to the right action, and nothing is written twice */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "line/line-private.h"
#include "printer-private.h"

#define TODAY_ISO   "2026-11-28"
#define MAX_APPS    8
#define MAX_CARDS   32
#define MAX_ATTEMPT 3

/* --- the in-memory store ----------------------------------------------------------------------------------
 */

struct mem_app {
    struct producer_app app;
    char status[16]; /* pending, in_production, held, produced, cancelled */
    char step[16];
    bool held_for_applicant;
    char held_reason[RULES_REASON_MAX];
    int holds, requeues, spoils, finishes;
    int closing_writes; /* hold, requeue, spoil or finish since the last claim: at most one each time */
};

struct mem_card {
    char number[10];
    int app; /* index into apps */
    char status[16];
    int good_writes, spoil_writes, unused_writes;
};

struct mem_store {
    struct mem_app apps[MAX_APPS];
    int napps;
    struct mem_card cards[MAX_CARDS];
    int ncards;
    int next_number;
    /* fault injection: the named operation fails with a database error fail_times times */
    const char *fail_op;
    int fail_times;
    /* an operator cancels the application when the line records this step */
    const char *cancel_at_step;
    bool duplicate; /* allocate finds the person's live card */
    char line_state[16];
    char pause_cause[160];
    int pauses;
};

static bool failing(struct mem_store *s, const char *op)
{
    if (s->fail_op && strcmp(s->fail_op, op) == 0 && s->fail_times > 0) {
        s->fail_times--;
        return true;
    }
    return false;
}

static struct mem_app *app_of(struct mem_store *s, const char *id)
{
    int i = atoi(id) - 1;
    assert_true(i >= 0 && i < s->napps);
    return &s->apps[i];
}

static struct mem_card *card_of(struct mem_store *s, const char *number)
{
    for (int i = 0; i < s->ncards; i++)
        if (strcmp(s->cards[i].number, number) == 0)
            return &s->cards[i];
    return NULL;
}

static bool in_production(const struct mem_app *a)
{
    return strcmp(a->status, "in_production") == 0;
}

/* A claim ends in one write that closes it, never two (held and requeued, spoiled and good, ...). */
static void closing_write(struct mem_app *a)
{
    assert_int_equal(a->closing_writes, 0);
    a->closing_writes++;
}

static int mem_claim(void *ctx, struct producer_claim *ret)
{
    struct mem_store *s = ctx;

    if (failing(s, "claim"))
        return PRODUCER_ERROR_DB;
    for (int i = 0; i < s->napps; i++) {
        struct mem_app *a = &s->apps[i];
        if (strcmp(a->status, "pending") != 0)
            continue;
        snprintf(a->status, sizeof(a->status), "in_production");
        snprintf(a->step, sizeof(a->step), "claimed");
        a->app.attempts++;
        a->closing_writes = 0;
        memset(ret, 0, sizeof(*ret));
        ret->app = a->app;
        snprintf(ret->id_text, sizeof(ret->id_text), "%d", i + 1);
        snprintf(ret->today, sizeof(ret->today), "20261128");
        snprintf(ret->issue_date, sizeof(ret->issue_date), TODAY_ISO);
        snprintf(ret->expiry_date, sizeof(ret->expiry_date), "2036-11-28");
        return 1;
    }
    return 0;
}

static int mem_outlet_known(void *ctx, const char *outlet_code)
{
    struct mem_store *s = ctx;
    if (failing(s, "outlet_known"))
        return PRODUCER_ERROR_DB;
    return strcmp(outlet_code, "HR0101") == 0;
}

static int mem_earlier_card(void *ctx, const char *card_number, const char *ssn, char ret_status[16],
                            bool *ret_same_person)
{
    struct mem_store *s = ctx;
    struct mem_card *c;

    if (failing(s, "earlier_card"))
        return PRODUCER_ERROR_DB;
    c = card_of(s, card_number);
    if (!c)
        return 0;
    snprintf(ret_status, 16, "%s", c->status);
    *ret_same_person = strcmp(s->apps[c->app].app.ssn, ssn) == 0;
    return 1;
}

static int mem_other_card(void *ctx, const char *ssn, bool temporary, const char *except, char ret_card[16],
                          char ret_status[16])
{
    static const char *const live[] = {"allocated", "printing",   "encoding",  "ejecting",
                                       "good",      "in_transit", "at_outlet", "issued"};
    struct mem_store *s = ctx;

    (void)temporary;
    if (failing(s, "other_card"))
        return PRODUCER_ERROR_DB;
    for (int i = 0; i < s->ncards; i++) {
        const struct mem_card *c = &s->cards[i];
        if (strcmp(s->apps[c->app].app.ssn, ssn) != 0 || (except && strcmp(c->number, except) == 0))
            continue;
        for (size_t k = 0; k < sizeof(live) / sizeof(live[0]); k++) {
            if (strcmp(c->status, live[k]) == 0) {
                snprintf(ret_card, 16, "%s", c->number);
                snprintf(ret_status, 16, "%s", c->status);
                return 1;
            }
        }
    }
    return 0;
}

static uint8_t *photo_jpeg;
static size_t photo_jpeg_len;

static int mem_photo(void *ctx, int64_t photo_id, uint8_t **ret_bytes, size_t *ret_len)
{
    struct mem_store *s = ctx;

    if (failing(s, "photo"))
        return PRODUCER_ERROR_DB;
    if (photo_id != 1)
        return 0;
    *ret_bytes = malloc(photo_jpeg_len);
    assert_non_null(*ret_bytes);
    memcpy(*ret_bytes, photo_jpeg, photo_jpeg_len);
    *ret_len = photo_jpeg_len;
    return 1;
}

static int mem_photo_gate(void *ctx, const struct photo_checker *ck, const struct photo_profile *profile,
                          int64_t photo_id, const uint8_t *bytes, size_t len, char *why, size_t why_size)
{
    struct mem_store *s = ctx;

    (void)ck, (void)profile, (void)photo_id, (void)bytes, (void)len, (void)why, (void)why_size;
    if (failing(s, "photo_gate"))
        return PRODUCER_ERROR_DB;
    return 0; /* a valid receipt */
}

static int mem_hold(void *ctx, const char *app_id, const char *line_id, const char *reason)
{
    struct mem_store *s = ctx;
    struct mem_app *a = app_of(s, app_id);

    (void)line_id;
    if (failing(s, "hold"))
        return PRODUCER_ERROR_DB;
    if (!in_production(a))
        return 0;
    closing_write(a);
    snprintf(a->status, sizeof(a->status), "held");
    snprintf(a->held_reason, sizeof(a->held_reason), "%s", reason);
    a->held_for_applicant = true;
    a->holds++;
    return 1;
}

static int mem_allocate(void *ctx, const char *app_id, const char *line_id, const struct producer_claim *c,
                        const char *prefix, char ret_card_number[10])
{
    struct mem_store *s = ctx;
    struct mem_app *a = app_of(s, app_id);
    struct mem_card *card;

    (void)line_id, (void)c;
    if (failing(s, "allocate"))
        return PRODUCER_ERROR_DB;
    if (!in_production(a))
        return PRODUCER_ERROR_NOT_FOUND;
    if (s->duplicate)
        return STORE_PRODUCTION_DUPLICATE;
    assert_true(s->ncards < MAX_CARDS);
    card = &s->cards[s->ncards++];
    memset(card, 0, sizeof(*card));
    snprintf(card->number, sizeof(card->number), "%.1s%08u", prefix,
             (unsigned)(++s->next_number) % 100000000u);
    card->app = atoi(app_id) - 1;
    snprintf(card->status, sizeof(card->status), "allocated");
    snprintf(a->step, sizeof(a->step), "feeding");
    snprintf(ret_card_number, 10, "%s", card->number);
    return 0;
}

static int mem_step(void *ctx, const char *app_id, const char *card_number, const char *status)
{
    struct mem_store *s = ctx;
    struct mem_app *a = app_of(s, app_id);
    struct mem_card *c = card_of(s, card_number);

    if (failing(s, "step"))
        return PRODUCER_ERROR_DB;
    if (s->cancel_at_step && strcmp(s->cancel_at_step, status) == 0)
        snprintf(a->status, sizeof(a->status), "cancelled"); /* an operator, in the same instant */
    if (!in_production(a) || !c || strcmp(c->status, "spoiled") == 0 || strcmp(c->status, "unused") == 0)
        return PRODUCER_ERROR_NOT_FOUND;
    snprintf(a->step, sizeof(a->step), "%s", status);
    snprintf(c->status, sizeof(c->status), "%s", status);
    return 0;
}

static int mem_requeue(void *ctx, const char *app_id, const char *line_id, const char *card_number,
                       const char *cause)
{
    struct mem_store *s = ctx;
    struct mem_app *a = app_of(s, app_id);

    (void)line_id, (void)cause;
    if (failing(s, "requeue"))
        return PRODUCER_ERROR_DB;
    if (card_number) {
        struct mem_card *c = card_of(s, card_number);
        assert_non_null(c);
        if (!c)
            return PRODUCER_ERROR_INVALID;
        snprintf(c->status, sizeof(c->status), "unused");
        c->unused_writes++;
    } else if (strcmp(a->step, "claimed") != 0) {
        return 0;
    }
    if (!in_production(a))
        return 0;
    closing_write(a);
    snprintf(a->status, sizeof(a->status), "pending");
    a->step[0] = '\0';
    a->app.attempts--;
    a->requeues++;
    return 1;
}

static int mem_spoil(void *ctx, const char *app_id, const char *line_id, const char *card_number,
                     const char *reason, const char *hold_reason, int max_attempts)
{
    struct mem_store *s = ctx;
    struct mem_app *a = app_of(s, app_id);
    struct mem_card *c = card_of(s, card_number);

    (void)line_id, (void)reason;
    if (failing(s, "spoil"))
        return PRODUCER_ERROR_DB;
    assert_non_null(c);
    if (!c)
        return PRODUCER_ERROR_INVALID;
    if (strcmp(c->status, "spoiled") != 0 && strcmp(c->status, "unused") != 0) {
        snprintf(c->status, sizeof(c->status), "spoiled");
        c->spoil_writes++;
    }
    if (in_production(a)) {
        closing_write(a);
        a->spoils++;
        a->step[0] = '\0';
        if (a->app.attempts >= max_attempts) {
            snprintf(a->status, sizeof(a->status), "held");
            snprintf(a->held_reason, sizeof(a->held_reason), "%s", hold_reason);
            a->held_for_applicant = false;
        } else {
            snprintf(a->status, sizeof(a->status), "pending");
        }
    }
    return 0;
}

static int mem_spoil_lost(void *ctx, const char *card_number)
{
    struct mem_store *s = ctx;
    struct mem_card *c = card_of(s, card_number);

    if (failing(s, "spoil_lost"))
        return PRODUCER_ERROR_DB;
    assert_non_null(c);
    if (!c)
        return PRODUCER_ERROR_INVALID;
    if (!in_production(&s->apps[c->app]) &&
        (strcmp(c->status, "allocated") == 0 || strcmp(c->status, "printing") == 0 ||
         strcmp(c->status, "encoding") == 0 || strcmp(c->status, "ejecting") == 0)) {
        snprintf(c->status, sizeof(c->status), "spoiled");
        c->spoil_writes++;
    }
    return 0;
}

static int mem_finish(void *ctx, const char *app_id, const char *line_id, const struct producer_claim *cl,
                      const char *card_number, const char *atr_hex, const char *chip_id_hex,
                      char ret_shipment[19])
{
    struct mem_store *s = ctx;
    struct mem_app *a = app_of(s, app_id);
    struct mem_card *c = card_of(s, card_number);
    bool temporary = strcmp(cl->app.kind, "temporary") == 0;

    (void)line_id;
    if (failing(s, "finish"))
        return PRODUCER_ERROR_DB;
    assert_non_null(c);
    if (!c)
        return PRODUCER_ERROR_INVALID;
    assert_true(atr_hex[0] && chip_id_hex[0]); /* the chip answered */
    if (!in_production(a) || strcmp(c->status, "ejecting") != 0)
        return PRODUCER_ERROR_NOT_FOUND;
    closing_write(a);
    snprintf(a->status, sizeof(a->status), "produced");
    a->step[0] = '\0';
    a->finishes++;
    snprintf(c->status, sizeof(c->status), "%s", temporary ? "issued" : "good");
    c->good_writes++;
    snprintf(ret_shipment, 19, "%s", temporary ? "" : "000000000000000017");
    return 0;
}

static int mem_pause(void *ctx, const char *line_id, const char *cause)
{
    struct mem_store *s = ctx;

    (void)line_id;
    snprintf(s->line_state, sizeof(s->line_state), "paused");
    snprintf(s->pause_cause, sizeof(s->pause_cause), "%s", cause);
    s->pauses++;
    return 0;
}

static int mem_work_left(void *ctx)
{
    struct mem_store *s = ctx;

    for (int i = 0; i < s->napps; i++)
        if (strcmp(s->apps[i].status, "pending") == 0 || in_production(&s->apps[i]))
            return 1;
    return 0;
}

static const char *mem_last_error(void *ctx)
{
    (void)ctx;
    return "simulated database failure";
}

static const struct line_store_ops mem_store_ops = {
    .claim = mem_claim,
    .outlet_known = mem_outlet_known,
    .earlier_card = mem_earlier_card,
    .other_card = mem_other_card,
    .photo = mem_photo,
    .photo_gate = mem_photo_gate,
    .hold = mem_hold,
    .allocate = mem_allocate,
    .step = mem_step,
    .requeue = mem_requeue,
    .spoil = mem_spoil,
    .spoil_lost = mem_spoil_lost,
    .finish = mem_finish,
    .pause = mem_pause,
    .work_left = mem_work_left,
    .last_error = mem_last_error,
};

/* --- a fake printer behind the driver interface ------------------------------------------------------------
 */

enum fake_op { FAKE_NONE, FAKE_FEED, FAKE_TO_ENCODER, FAKE_PRINT, FAKE_EJECT };

struct fake_printer {
    enum fake_op fail_at; /* this operation fails ... */
    int fail_times;       /* ... this many times (-1: always) */
    int fail_err;
    enum printer_disposition fail_disp;
    bool inside;
    int feeds, prints, ejects, rejects, purges;
};

static bool fake_fails(struct fake_printer *f, enum fake_op op, enum printer_disposition *ret_disp,
                       char *ret_cause, int *ret_err)
{
    if (f->fail_at != op || f->fail_times == 0)
        return false;
    if (f->fail_times > 0)
        f->fail_times--;
    *ret_disp = f->fail_disp;
    snprintf(ret_cause, PRINTER_CAUSE_SIZE, "fake fault %d", (int)op);
    *ret_err = f->fail_err;
    return true;
}

static int fake_open(const void *config, void **ret_ctx)
{
    *ret_ctx = (void *)config;
    return 0;
}

static int fake_status(void *ctx, struct printer_status *ret, enum printer_disposition *ret_disp,
                       char *ret_cause)
{
    (void)ctx, (void)ret_disp, (void)ret_cause;
    ret->feeder = 1;
    return 0;
}

static int fake_purge(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct fake_printer *f = ctx;
    (void)ret_disp, (void)ret_cause;
    f->purges++;
    f->inside = false;
    return 0;
}

static int fake_feed(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct fake_printer *f = ctx;
    int err;

    if (fake_fails(f, FAKE_FEED, ret_disp, ret_cause, &err))
        return err;
    assert_false(f->inside); /* the last card left the printer */
    f->inside = true;
    f->feeds++;
    return 0;
}

static int fake_to_encoder(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct fake_printer *f = ctx;
    int err;

    assert_true(f->inside);
    if (fake_fails(f, FAKE_TO_ENCODER, ret_disp, ret_cause, &err))
        return err;
    return 0;
}

static int fake_print(void *ctx, const struct printer_raster *r, const char *label,
                      enum printer_disposition *ret_disp, char *ret_cause)
{
    struct fake_printer *f = ctx;
    int err;

    assert_true(f->inside);
    assert_non_null(r);
    assert_int_equal(strlen(label), 9);
    if (fake_fails(f, FAKE_PRINT, ret_disp, ret_cause, &err))
        return err;
    f->prints++;
    return 0;
}

static int fake_eject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct fake_printer *f = ctx;
    int err;

    assert_true(f->inside);
    if (fake_fails(f, FAKE_EJECT, ret_disp, ret_cause, &err))
        return err;
    f->inside = false;
    f->ejects++;
    return 0;
}

static int fake_reject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct fake_printer *f = ctx;
    (void)ret_disp, (void)ret_cause;
    f->inside = false;
    f->rejects++;
    return 0;
}

static void fake_close(void *ctx)
{
    (void)ctx; /* the test owns it */
}

static const struct printer_driver fake_driver = {
    .name = "fake",
    .usb_ids = NULL,
    .open = fake_open,
    .status = fake_status,
    .identify = NULL,
    .purge = fake_purge,
    .feed = fake_feed,
    .print = fake_print,
    .to_encoder = fake_to_encoder,
    .eject = fake_eject,
    .reject = fake_reject,
    .close = fake_close,
};

/* --- the encoder: the simulated card, with an error injected in front of it -------------------------------
 */

static int encoder_fail_err; /* 0: personalise for real */
static int encoder_calls;

static int fake_personalize(struct encoder_transport *t, struct encoder_key_service *ks,
                            const struct encoder_card_data *data, struct encoder_result *ret)
{
    encoder_calls++;
    if (encoder_fail_err) {
        memset(ret, 0, sizeof(*ret));
        snprintf(ret->cause, sizeof(ret->cause), "injected %s", encoder_strerror(encoder_fail_err));
        return encoder_fail_err;
    }
    return encoder_personalize(t, ks, data, ret);
}

/* --- fixture
 * ------------------------------------------------------------------------------------------------ */

struct fixture {
    struct mem_store store;
    struct fake_printer printer;
    struct producer_run_config cfg;
    struct controller ctl;
    struct line line;
};

static struct printer_layout *layout;

static int group_setup(void **state)
{
    enum { W = 358, H = 441 };
    uint8_t *rgb = malloc((size_t)W * H * 3);
    char why[256] = "";

    (void)state;
    log_set_level(LOG_LEVEL_ERROR); /* the faults are meant: only errors show */
    if (!rgb)
        return -1;
    for (size_t i = 0; i < (size_t)W * H * 3; i++)
        rgb[i] = (uint8_t)(200 - (i / 3 / W) / 4);
    if (photo_encode_jpeg(rgb, W, H, 90, 300, &photo_jpeg, &photo_jpeg_len) < 0) {
        free(rgb);
        return -1;
    }
    free(rgb);
    if (printer_layout_load(NULL, &layout, why, sizeof(why)) < 0) {
        fprintf(stderr, "layout: %s\n", why);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(photo_jpeg);
    printer_layout_free(layout);
    return 0;
}

/* The check digit of a resident ID number (ISO 7064 MOD 11-2), computed here, apart from the code under test.
 */
static char check_char(const char *first17)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (first17[i] - '0') * w[i];
    return "10X98765432"[sum % 11];
}

static void add_app(struct mem_store *s, const char *kind, const char *seq)
{
    struct mem_app *a = &s->apps[s->napps++];
    struct producer_app *p = &a->app;

    memset(a, 0, sizeof(*a));
    snprintf(p->kind, sizeof(p->kind), "%s", kind);
    snprintf(p->doc_type, sizeof(p->doc_type), "resident_id");
    snprintf(p->doc_number, sizeof(p->doc_number), "44010619900307%s", seq); /* odd third digit: male */
    p->doc_number[17] = check_char(p->doc_number);
    p->doc_number[18] = '\0';
    memcpy(p->ssn, p->doc_number, 18);
    p->ssn[18] = '\0';
    snprintf(p->name, sizeof(p->name), "Test Person");
    p->sex = '1';
    p->ethnicity = 1;
    snprintf(p->birth_date, sizeof(p->birth_date), "1990-03-07");
    snprintf(p->birth_place, sizeof(p->birth_place), "440106");
    snprintf(p->outlet_code, sizeof(p->outlet_code), "HR0101");
    p->photo_id = 1;
    snprintf(a->status, sizeof(a->status), "pending");
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct encoder_sim_config ec = {.seed = 7};
    int r;

    if (!f)
        return -1;
    snprintf(f->store.line_state, sizeof(f->store.line_state), "running");
    f->cfg.lease_seconds = 30;
    f->ctl.cfg = &f->cfg;
    snprintf(f->ctl.id, sizeof(f->ctl.id), "test:1:00000000");
    snprintf(f->ctl.card_prefix, sizeof(f->ctl.card_prefix), "A");
    snprintf(f->ctl.region, sizeof(f->ctl.region), "440100");
    f->ctl.max_attempts = MAX_ATTEMPT;
    f->ctl.layout = layout;
    for (int i = 0; i < 16; i++)
        ec.master_key[i] = f->ctl.master_key[i] = (uint8_t)(0x40 + i);
    r = encoder_key_service_soft_new(f->ctl.master_key, &f->ctl.keys);
    assert_int_equal(r, 0);
    pthread_mutex_init(&f->ctl.lock, NULL);
    pthread_cond_init(&f->ctl.cond, NULL);

    f->line.ctl = &f->ctl;
    snprintf(f->line.id, sizeof(f->line.id), "T1");
    f->line.store = &mem_store_ops;
    f->line.store_ctx = &f->store;
    f->line.personalize = fake_personalize;
    assert_int_equal(printer_new(&fake_driver, &f->printer, &f->line.printer), 0);
    assert_int_equal(encoder_open_sim(&ec, &f->line.encoder), 0);
    line_render_worker_start(&f->line);
    encoder_fail_err = 0;
    encoder_calls = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    line_render_worker_stop(&f->line);
    printer_close(f->line.printer);
    encoder_transport_close(f->line.encoder);
    encoder_key_service_free(f->ctl.keys);
    pthread_mutex_destroy(&f->ctl.lock);
    pthread_cond_destroy(&f->ctl.cond);
    free(f);
    return 0;
}

/* Whatever happened: no card both good and spoiled, nothing written twice, no card left in the printer. */
static void assert_consistent(const struct fixture *f)
{
    for (int i = 0; i < f->store.ncards; i++) {
        const struct mem_card *c = &f->store.cards[i];
        assert_true(c->good_writes <= 1);
        assert_true(c->spoil_writes <= 1);
        assert_true(c->unused_writes <= 1);
        assert_true(c->good_writes + c->spoil_writes + c->unused_writes <= 1);
    }
    for (int i = 0; i < f->store.napps; i++)
        assert_true(f->store.apps[i].finishes <= 1);
    assert_false(f->printer.inside);
}

/* --- tests -------------------------------------------------------------------------------------------------
 */

static void test_good_card(void **state)
{
    struct fixture *f = *state;

    add_app(&f->store, "new", "123");
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
    assert_string_equal(f->store.apps[0].status, "produced");
    assert_int_equal(f->store.apps[0].finishes, 1);
    assert_int_equal(f->store.ncards, 1);
    assert_string_equal(f->store.cards[0].status, "good");
    assert_int_equal(f->printer.prints, 1);
    assert_int_equal(f->printer.ejects, 1);
    assert_int_equal(f->printer.rejects, 0);
    assert_int_equal(f->line.good, 1);
    assert_int_equal(atomic_load(&f->ctl.cards_done), 1);
    assert_int_equal(f->line.in_hand, 0);
    /* nothing more to do */
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_IDLE);
    assert_int_equal(mem_work_left(&f->store), 0);
    assert_consistent(f);
}

static void test_temporary_card(void **state)
{
    struct fixture *f = *state;

    add_app(&f->store, "temporary", "123");
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
    assert_string_equal(f->store.apps[0].status, "produced");
    assert_string_equal(f->store.cards[0].status, "issued");
    assert_int_equal(f->store.cards[0].number[0], 'T');
    assert_consistent(f);
}

/* Printer faults: every step, every disposition a failing driver gives. Expected, written out here: a blank
 * the feeder did not take costs nothing (number given up, application back untouched); a card that failed
 * later is spoiled and rejected and its application retried; the line pauses when the printer needs an
 * operator or is gone. */
static void test_printer_faults(void **state)
{
    static const struct {
        enum fake_op op;
        enum line_step step;
    } steps[] = {
        {FAKE_FEED, LINE_STEP_FEED},
        {FAKE_TO_ENCODER, LINE_STEP_TO_ENCODER},
        {FAKE_PRINT, LINE_STEP_PRINT},
        {FAKE_EJECT, LINE_STEP_EJECT},
    };
    static const struct {
        int err;
        enum printer_disposition disp;
        bool pause;
    } faults[] = {
        {PRINTER_ERROR_TIMEOUT, PRINTER_DISPOSITION_RETRY, false},
        {PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_REJECT_CARD, false},
        {PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, true},
        {PRINTER_ERROR_GONE, PRINTER_DISPOSITION_DEVICE_GONE, true},
        /* a driver that names no disposition: the generic layer's safe choice (IO: retry) */
        {PRINTER_ERROR_IO, PRINTER_DISPOSITION_OK, false},
        {PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_OK, true},
    };

    (void)state;
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        for (size_t k = 0; k < sizeof(faults) / sizeof(faults[0]); k++) {
            void *fs;
            struct fixture *f;
            bool feed = steps[s].op == FAKE_FEED;

            assert_int_equal(setup(&fs), 0);
            f = fs;
            add_app(&f->store, "new", "123");
            f->printer.fail_at = steps[s].op;
            f->printer.fail_times = 1;
            f->printer.fail_err = faults[k].err;
            f->printer.fail_disp = faults[k].disp;

            assert_int_equal(line_work_one(&f->line), faults[k].pause ? LINE_NEXT_STOP : LINE_NEXT_WORKED);
            assert_int_equal(f->store.pauses, faults[k].pause ? 1 : 0);
            if (faults[k].pause) {
                assert_string_equal(f->store.line_state, "paused");
                assert_non_null(strstr(f->store.pause_cause, "fake fault"));
            }
            assert_string_equal(f->store.apps[0].status, "pending");
            assert_int_equal(f->store.apps[0].holds, 0);
            assert_int_equal(f->store.apps[0].finishes, 0);
            assert_int_equal(f->store.ncards, 1);
            if (feed) {
                assert_string_equal(f->store.cards[0].status, "unused");
                assert_int_equal(f->store.apps[0].requeues, 1);
                assert_int_equal(f->store.apps[0].spoils, 0);
                assert_int_equal(f->store.apps[0].app.attempts, 0); /* the attempt is refunded */
                assert_int_equal(f->printer.rejects, 0);
                assert_int_equal(encoder_calls, 0);
            } else {
                assert_string_equal(f->store.cards[0].status, "spoiled");
                assert_int_equal(f->store.apps[0].requeues, 0);
                assert_int_equal(f->store.apps[0].spoils, 1);
                assert_int_equal(f->store.apps[0].app.attempts, 1);
                assert_int_equal(f->printer.rejects, 1);
                assert_int_equal(f->line.spoiled, 1);
            }
            assert_consistent(f);

            /* the operator has seen to the printer (a paused line is started again): the application gets a
             * new card, and the first one stays what it was */
            snprintf(f->store.line_state, sizeof(f->store.line_state), "running");
            assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
            assert_string_equal(f->store.apps[0].status, "produced");
            assert_int_equal(f->store.apps[0].finishes, 1);
            assert_int_equal(f->store.ncards, 2);
            assert_string_equal(f->store.cards[0].status, feed ? "unused" : "spoiled");
            assert_string_equal(f->store.cards[1].status, "good");
            assert_consistent(f);
            teardown(&fs);
        }
    }
}

/* Encoder errors: every code the library has. */
static void test_encoder_faults(void **state)
{
    (void)state;
    for (int err = ENCODER_ERROR_NOT_GENUINE; err <= ENCODER_ERROR_INVALID; err++) {
        bool data_fault = err == ENCODER_ERROR_ENCODING || err == ENCODER_ERROR_INVALID;
        bool station_fault = err == ENCODER_ERROR_NO_READER || err == ENCODER_ERROR_TIMEOUT;
        void *fs;
        struct fixture *f;

        assert_int_equal(setup(&fs), 0);
        f = fs;
        add_app(&f->store, "new", "123");
        encoder_fail_err = err;
        assert_int_equal(line_work_one(&f->line), station_fault ? LINE_NEXT_STOP : LINE_NEXT_WORKED);
        assert_string_equal(f->store.cards[0].status, "spoiled");
        assert_int_equal(f->store.apps[0].spoils, 1);
        assert_int_equal(f->printer.rejects, 1);
        assert_int_equal(f->printer.prints, 0); /* chip first: no ribbon spent on a failed chip */
        assert_int_equal(f->store.pauses, station_fault ? 1 : 0);
        if (station_fault)
            assert_non_null(strstr(f->store.pause_cause, "chip encoder"));
        if (data_fault) {
            /* the data would fail on every card: held at once, for an operator, not the applicant */
            assert_string_equal(f->store.apps[0].status, "held");
            assert_false(f->store.apps[0].held_for_applicant);
            assert_non_null(strstr(f->store.apps[0].held_reason, "chip data cannot be encoded"));
        } else {
            assert_string_equal(f->store.apps[0].status, "pending");
        }
        assert_int_equal(f->store.apps[0].holds, 0);
        assert_int_equal(f->store.apps[0].requeues, 0);
        assert_consistent(f);
        teardown(&fs);
    }
}

/* The table lookups themselves, for values no device gives today. */
static void test_fault_tables(void **state)
{
    const char *what = NULL;
    struct line_fault_action a;

    (void)state;
    a = line_encoder_fault(ENCODER_ERROR_WRITE, &what);
    assert_int_equal(a.fate, LINE_FATE_SPOIL);
    assert_false(a.pause_line);
    assert_string_equal(what, "chip personalisation failed");
    a = line_encoder_fault(-999, &what);
    assert_int_equal(a.fate, LINE_FATE_SPOIL);
    a = line_printer_fault(LINE_STEP_PRINT, (enum printer_disposition)42);
    assert_true(a.pause_line);
    a = line_printer_fault(LINE_STEP_FEED, PRINTER_DISPOSITION_DEVICE_GONE);
    assert_int_equal(a.fate, LINE_FATE_REQUEUE);
    assert_true(a.pause_line);
}

/* A database error in any of the checks never holds the application nor uses its attempt: it goes back to the
 * queue untouched, and is produced once the database answers. */
static void test_db_error_in_checks(void **state)
{
    static const char *const ops[] = {"outlet_known", "earlier_card", "other_card", "photo", "photo_gate"};

    (void)state;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        void *fs;
        struct fixture *f;

        assert_int_equal(setup(&fs), 0);
        f = fs;
        /* an exchange, so that the earlier card is looked up too: its old card was issued to the person */
        add_app(&f->store, "new", "123");
        assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
        snprintf(f->store.cards[0].status, sizeof(f->store.cards[0].status), "issued");
        add_app(&f->store, "exchange", "123");
        memcpy(f->store.apps[1].app.replaced_card, f->store.cards[0].number,
               sizeof(f->store.apps[1].app.replaced_card));

        f->store.fail_op = ops[i];
        f->store.fail_times = 1;
        assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
        assert_int_equal(f->store.fail_times, 0); /* the failure happened */
        assert_string_equal(f->store.apps[1].status, "pending");
        assert_int_equal(f->store.apps[1].holds, 0);
        assert_int_equal(f->store.apps[1].requeues, 1);
        assert_int_equal(f->store.apps[1].app.attempts, 0);
        assert_int_equal(f->store.ncards, 1); /* no card for it */
        assert_int_equal(f->line.held, 0);

        assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
        assert_string_equal(f->store.apps[1].status, "produced");
        assert_int_equal(f->store.apps[1].app.attempts, 1);
        assert_consistent(f);
        teardown(&fs);
    }
}

/* Data a person must fix is held for the applicant, once, with no card spent. */
static void test_holds(void **state)
{
    struct fixture *f = *state;

    add_app(&f->store, "new", "123");
    f->store.apps[0].app.doc_number[17] = f->store.apps[0].app.doc_number[17] == '0' ? '1' : '0';
    add_app(&f->store, "new", "135");
    snprintf(f->store.apps[1].app.outlet_code, sizeof(f->store.apps[1].app.outlet_code), "XX9999");
    add_app(&f->store, "new", "157");
    f->store.apps[2].app.photo_id = 2; /* no such photo */

    for (int i = 0; i < 3; i++)
        assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(f->store.apps[i].status, "held");
        assert_true(f->store.apps[i].held_for_applicant);
        assert_int_equal(f->store.apps[i].holds, 1);
    }
    assert_non_null(strstr(f->store.apps[1].held_reason, "unknown pickup outlet"));
    assert_non_null(strstr(f->store.apps[2].held_reason, "photo 2 is missing"));
    assert_int_equal(f->store.ncards, 0);
    assert_int_equal(f->printer.feeds, 0);
    assert_int_equal(f->line.held, 3);
    assert_consistent(f);
}

/* One person, one card: a second new card for the same person is held, and so is one whose allocation finds
 * the person's live card. */
static void test_one_person_one_card(void **state)
{
    struct fixture *f = *state;

    add_app(&f->store, "new", "123");
    add_app(&f->store, "new", "123");
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
    assert_string_equal(f->store.apps[0].status, "produced");
    assert_string_equal(f->store.apps[1].status, "held");
    assert_non_null(strstr(f->store.apps[1].held_reason, "already has card"));

    add_app(&f->store, "new", "135");
    f->store.duplicate = true;
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
    assert_string_equal(f->store.apps[2].status, "held");
    assert_non_null(strstr(f->store.apps[2].held_reason, "card in production"));
    assert_int_equal(f->store.ncards, 1);
    assert_consistent(f);
}

/* After max_attempts spoiled cards the application is held for an operator (not the applicant). */
static void test_hold_after_attempt_limit(void **state)
{
    struct fixture *f = *state;

    add_app(&f->store, "new", "123");
    f->printer.fail_at = FAKE_PRINT;
    f->printer.fail_times = -1;
    f->printer.fail_err = PRINTER_ERROR_DEVICE;
    f->printer.fail_disp = PRINTER_DISPOSITION_REJECT_CARD;
    for (int i = 1; i <= MAX_ATTEMPT; i++) {
        assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
        assert_string_equal(f->store.apps[0].status, i < MAX_ATTEMPT ? "pending" : "held");
    }
    assert_false(f->store.apps[0].held_for_applicant);
    assert_non_null(strstr(f->store.apps[0].held_reason, "production failed 3 times; last: print failed"));
    assert_int_equal(f->store.apps[0].spoils, MAX_ATTEMPT);
    assert_int_equal(f->store.apps[0].holds, 0);
    assert_int_equal(f->store.ncards, MAX_ATTEMPT);
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_IDLE);
    assert_consistent(f);
}

/* An operator cancels the application while its card is in the machine, at each physical step: the card goes
 * to the reject box and is recorded spoiled once; the application stays cancelled. */
static void test_cancel_in_machine(void **state)
{
    static const char *const steps[] = {"encoding", "printing", "ejecting"};

    (void)state;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        void *fs;
        struct fixture *f;

        assert_int_equal(setup(&fs), 0);
        f = fs;
        add_app(&f->store, "new", "123");
        f->store.cancel_at_step = steps[i];
        assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
        assert_string_equal(f->store.apps[0].status, "cancelled");
        assert_string_equal(f->store.cards[0].status, "spoiled");
        assert_int_equal(f->store.cards[0].spoil_writes, 1);
        assert_int_equal(f->store.apps[0].spoils + f->store.apps[0].finishes + f->store.apps[0].holds +
                             f->store.apps[0].requeues,
                         0);
        assert_int_equal(f->printer.rejects, 1);
        assert_int_equal(f->printer.ejects, 0);
        assert_int_equal(f->line.good, 0);
        assert_int_equal(line_work_one(&f->line), LINE_NEXT_IDLE);
        assert_consistent(f);
        teardown(&fs);
    }
}

/* The printer disappears in the middle of a print: the card is spoiled, the line pauses with the cause and
 * stops taking work; started again with the printer back, it produces the application. */
static void test_printer_gone_then_resume(void **state)
{
    struct fixture *f = *state;

    add_app(&f->store, "new", "123");
    add_app(&f->store, "new", "135");
    f->printer.fail_at = FAKE_PRINT;
    f->printer.fail_times = 1;
    f->printer.fail_err = PRINTER_ERROR_GONE;
    f->printer.fail_disp = PRINTER_DISPOSITION_OK; /* the generic layer says: device gone */
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_STOP);
    assert_string_equal(f->store.line_state, "paused");
    assert_string_equal(f->store.apps[0].status, "pending");
    assert_string_equal(f->store.apps[1].status, "pending"); /* not touched while paused */
    assert_string_equal(f->store.cards[0].status, "spoiled");

    snprintf(f->store.line_state, sizeof(f->store.line_state), "running");
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
    assert_string_equal(f->store.apps[0].status, "produced");
    assert_string_equal(f->store.apps[1].status, "produced");
    assert_int_equal(f->store.pauses, 1);
    assert_int_equal(f->line.good, 2);
    assert_int_equal(f->line.spoiled, 1);
    assert_consistent(f);
}

/* A database error while recording the good card: nothing is recorded twice and the line goes on (the rescuer
 * settles the card once the lease runs out). A failed claim is handed to the caller to back off. */
static void test_db_error_at_finish_and_claim(void **state)
{
    struct fixture *f = *state;

    add_app(&f->store, "new", "123");
    f->store.fail_op = "finish";
    f->store.fail_times = 1;
    assert_int_equal(line_work_one(&f->line), LINE_NEXT_WORKED);
    assert_string_equal(f->store.apps[0].status, "in_production");
    assert_int_equal(f->store.apps[0].finishes, 0);
    assert_int_equal(f->line.good, 0);
    assert_int_equal(f->printer.ejects, 1);

    f->store.fail_op = "claim";
    f->store.fail_times = 1;
    assert_int_equal(line_work_one(&f->line), PRODUCER_ERROR_DB);
    assert_consistent(f);
}

/* What the chip and the printer get, from the application: the one function the line, render and chip use. */
static void test_card_content(void **state)
{
    struct line_card_source s = {.name = "Test Person",
                                 .ssn = "44010619900307123X",
                                 .sex = '1',
                                 .ethnicity = 1,
                                 .birth_place = "440106",
                                 .birth_date = "1990-03-07",
                                 .bank_name = "",
                                 .card_number = "A00000017",
                                 .issue_date = "2026-11-28",
                                 .expiry_date = "20361128",
                                 .region_code = "440100"};
    struct encoder_card_data d;
    struct printer_face face;

    (void)state;
    line_card_chip(&s, &d);
    assert_string_equal(d.region_code, "440100");
    assert_int_equal(d.card_type, '3');
    assert_string_equal(d.spec_version, "3.00");
    assert_string_equal(d.card_number, "A00000017");
    assert_string_equal(d.issue_date, "20261128");
    assert_string_equal(d.expiry_date, "20361128");
    assert_string_equal(d.birth_date, "19900307");
    assert_string_equal(d.ssn, "44010619900307123X");
    assert_string_equal(d.name, "Test Person");
    line_card_face(&s, layout, NULL, &face);
    assert_int_equal(face.issue_year, 2026);
    assert_int_equal(face.issue_month, 11);
    assert_null(face.bank_name);
    assert_null(face.photo_rgb);
    assert_ptr_equal(face.layout, layout);
    s.issue_date = "";
    line_card_chip(&s, &d);
    assert_string_equal(d.issue_date, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_card, setup, teardown),
        cmocka_unit_test_setup_teardown(test_temporary_card, setup, teardown),
        cmocka_unit_test(test_printer_faults),
        cmocka_unit_test(test_encoder_faults),
        cmocka_unit_test(test_fault_tables),
        cmocka_unit_test(test_db_error_in_checks),
        cmocka_unit_test_setup_teardown(test_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_person_one_card, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_after_attempt_limit, setup, teardown),
        cmocka_unit_test(test_cancel_in_machine),
        cmocka_unit_test_setup_teardown(test_printer_gone_then_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_error_at_finish_and_claim, setup, teardown),
        cmocka_unit_test(test_card_content),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
