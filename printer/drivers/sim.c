/* sim.c — in-process simulated card printer: card positions, feeder, timing, faults, a PNG per card */
#include "printer-private.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SIM_CARD_MS_MAX 60000u /* a real printer takes well under a minute per card */
#define SIM_PERMILLE    1000u

enum sim_position {
    SIM_CARD_NONE,
    SIM_CARD_PRINT,   /* at the print head */
    SIM_CARD_CONTACT, /* at the contact (chip) station */
};

struct sim {
    char output_dir[PRINTER_FACE_DIR_MAX]; /* empty: printed faces are not written */
    unsigned card_ms;
    unsigned fault_permille;
    unsigned feeder_cards; /* 0 = unlimited */
    uint64_t prng;         /* splitmix64 state: per printer, so no locking and reproducible per seed */
    enum sim_position position;
    bool printed; /* the card inside already carries a face (good or spoiled) */
    struct printer_sim_counters counters;
};

static uint64_t sim_random(struct sim *s)
{
    uint64_t z = (s->prng += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* True with probability permille / 1000; multiply-shift instead of % avoids modulo bias. */
static bool sim_chance(struct sim *s, unsigned permille)
{
    return ((sim_random(s) >> 32) * SIM_PERMILLE >> 32) < permille;
}

static int sim_fail(int err, enum printer_disposition disp, const char *cause,
                    enum printer_disposition *ret_disp, char *ret_cause)
{
    *ret_disp = disp;
    snprintf(ret_cause, PRINTER_CAUSE_SIZE, "%s", cause);
    return err;
}

static int sim_open(const void *config, void **ret_ctx)
{
    const struct printer_sim_config *cfg = config;
    size_t dir_len = 0;
    struct sim *s;

    if (!cfg || cfg->fault_permille > SIM_PERMILLE || cfg->card_ms > SIM_CARD_MS_MAX)
        return PRINTER_ERROR_INVALID;
    if (cfg->output_dir) {
        int r = printer_face_dir_check(cfg->output_dir);
        if (r < 0)
            return r;
        dir_len = strlen(cfg->output_dir);
    }

    s = calloc(1, sizeof(*s));
    if (!s)
        return PRINTER_ERROR_NOMEM;
    memcpy(s->output_dir, cfg->output_dir ? cfg->output_dir : "", dir_len);
    s->output_dir[dir_len] = '\0';
    s->card_ms = cfg->card_ms;
    s->fault_permille = cfg->fault_permille;
    s->feeder_cards = cfg->feeder_cards;
    s->prng = cfg->seed;
    s->position = SIM_CARD_NONE;
    *ret_ctx = s;
    return 0;
}

static int sim_status(void *ctx, struct printer_status *ret, enum printer_disposition *ret_disp,
                      char *ret_cause)
{
    const struct sim *s = ctx;

    (void)ret_disp;
    (void)ret_cause;
    ret->card = s->position == SIM_CARD_NONE    ? PRINTER_CARD_NONE
                : s->position == SIM_CARD_PRINT ? PRINTER_CARD_PRINT
                                                : PRINTER_CARD_CONTACT;
    ret->feeder = !s->feeder_cards || s->counters.fed < s->feeder_cards;
    return 0;
}

static int sim_purge(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct sim *s = ctx;

    (void)ret_disp;
    (void)ret_cause;
    if (s->position != SIM_CARD_NONE) {
        s->counters.purged++;
        s->counters.rejected++;
    }
    s->position = SIM_CARD_NONE;
    s->printed = false;
    return 0;
}

static int sim_feed(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct sim *s = ctx;

    if (s->position != SIM_CARD_NONE)
        return sim_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                        "a card is already in the printer", ret_disp, ret_cause);
    if (s->feeder_cards && s->counters.fed >= s->feeder_cards)
        return sim_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, "feeder empty", ret_disp,
                        ret_cause);
    s->counters.fed++;
    s->position = SIM_CARD_PRINT;
    s->printed = false;
    return 0;
}

static int sim_print(void *ctx, const struct printer_raster *r, const char *label,
                     enum printer_disposition *ret_disp, char *ret_cause)
{
    struct sim *s = ctx;
    int err;

    if (s->position == SIM_CARD_NONE)
        return sim_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, "no card at the print position",
                        ret_disp, ret_cause);
    if (s->printed)
        return sim_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_REJECT_CARD, "card is already printed",
                        ret_disp, ret_cause);
    if (!printer_face_label_valid(label))
        return sim_fail(PRINTER_ERROR_INVALID, PRINTER_DISPOSITION_REJECT_CARD,
                        "card label must be 1-64 characters of A-Z a-z 0-9 _ -", ret_disp, ret_cause);

    if (s->card_ms)
        printer_sleep_ms(s->card_ms);
    /* chip first: a card personalised at the contact station comes back under the head */
    s->position = SIM_CARD_PRINT;
    s->printed = true;
    if (sim_chance(s, s->fault_permille)) {
        s->counters.faults++;
        return sim_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_REJECT_CARD,
                        "print head fault: ribbon wrinkle", ret_disp, ret_cause);
    }
    if (s->output_dir[0]) {
        err = printer_face_write(s->output_dir, label, r);
        if (err < 0) {
            /* the card counts as printed, so the line cannot silently reprint it; and a full disk or a
             * vanished directory needs an operator */
            *ret_disp = PRINTER_DISPOSITION_PAUSE_LINE;
            snprintf(ret_cause, PRINTER_CAUSE_SIZE, "cannot write %s.png to the output directory", label);
            return err == PRINTER_ERROR_NOMEM ? err : PRINTER_ERROR_IO;
        }
    }
    s->counters.printed++;
    return 0;
}

static int sim_to_encoder(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct sim *s = ctx;

    if (s->position == SIM_CARD_NONE)
        return sim_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                        "no card to move to the contact station", ret_disp, ret_cause);
    s->position = SIM_CARD_CONTACT;
    return 0;
}

static int sim_eject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct sim *s = ctx;

    if (s->position == SIM_CARD_NONE)
        return sim_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, "no card to eject", ret_disp,
                        ret_cause);
    s->counters.ejected++;
    s->position = SIM_CARD_NONE;
    s->printed = false;
    return 0;
}

static int sim_reject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct sim *s = ctx;

    if (s->position == SIM_CARD_NONE)
        return sim_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, "no card to reject", ret_disp,
                        ret_cause);
    s->counters.rejected++;
    s->position = SIM_CARD_NONE;
    s->printed = false;
    return 0;
}

static void sim_close(void *ctx)
{
    free(ctx);
}

const struct printer_driver printer_driver_sim = {
    .name = "sim",
    .usb_ids = NULL,
    .open = sim_open,
    .status = sim_status,
    .identify = NULL,
    .purge = sim_purge,
    .feed = sim_feed,
    .print = sim_print,
    .to_encoder = sim_to_encoder,
    .eject = sim_eject,
    .reject = sim_reject,
    .close = sim_close,
};

int printer_open_sim(const struct printer_sim_config *cfg, struct printer **ret)
{
    return printer_new(&printer_driver_sim, cfg, ret);
}

int printer_sim_get_counters(const struct printer *p, struct printer_sim_counters *ret)
{
    const struct sim *s;

    if (!p || !ret || p->drv != &printer_driver_sim)
        return PRINTER_ERROR_INVALID;
    s = p->ctx;
    *ret = s->counters;
    return 0;
}
