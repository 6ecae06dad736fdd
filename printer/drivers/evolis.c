/* evolis.c — Evolis card printers (Primacy, Zenius, ...): ESC…CR commands, Db panel downloads, card
 * moves */
#include "codec/codec.h"
#include "drivers/link.h"
#include "codec/panel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVOLIS_VENDOR 0x0f49

/* Printers differ in the depth of their dye panels; keyed on the MDL of the device ID. Rows are checked
 * in order, the first whose prefix matches wins; the empty prefix is the default. */
static const struct evolis_model {
    const char *mdl_prefix;
    unsigned colour_bits; /* 5, 6 or 7 */
} evolis_models[] = {
    {"Primacy", 6},
    {"Zenius", 6},
    {"Quantum", 6},
    {"", 6},
};

/* Sent once at open; must answer OK. Rev E p. 20: errors are managed by the host computer (not saved without
 * ";s", so it is sent on every open). Pneab/Pcrm/Pcem do not exist in Rev E or D2 and are not sent. */
static const char *const evolis_setup[] = {
    "Pem;2",
};

/* Rev E §21 (p. 69): ribbon, then Ss (begin sequence), Sr (front side: before the downloads), one Db per
 * panel (each Db after the first prints the previous panel), Se (prints the last panel, ends, ejects). */
#define EVOLIS_RIBBON "Pr;ymcko"

struct evolis {
    struct printer_link link;
    unsigned colour_bits;
    char model[PRINTER_IDENT_SIZE];
    char serial[PRINTER_IDENT_SIZE];
    uint8_t *frame; /* one panel download; sized for the deepest panel */
    size_t frame_size;
    bool at_contact;       /* the card inside came in with Sis and sits at the contact station */
    bool ejected_by_print; /* Se of the last print ejected the card */
};

static const struct printer_usb_id evolis_ids[] = {
    {EVOLIS_VENDOR, 0}, /* every Evolis product speaks the same command set */
    {0, 0},
};

/* Sends cmd and reads its answer (the text into ret_text when not NULL). With want_ok, anything but exactly
 * "OK" fails: a documented text with its fault, any other with the text quoted. Causes name the command
 * as `what` (a magnetic download carries card data, which a cause must not). */
static int evolis_exchange_as(struct evolis *e, const char *cmd, const char *what, unsigned reply_ms,
                              enum printer_disposition on_stall, bool want_ok, char *ret_text,
                              enum printer_disposition *ret_disp, char *ret_cause)
{
    uint8_t frame[EVOLIS_CMD_MAX + 2], answer[LINK_REPLY_MAX];
    struct printer_reply reply;
    const struct printer_fault *fault;
    int n;

    n = evolis_encode(cmd, frame, sizeof(frame));
    if (n < 0)
        return printer_link_fail(n, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause, "bad command %s",
                                 what);
    n = printer_link_exchange(&e->link, frame, (size_t)n, reply_ms, what, on_stall, answer, ret_disp,
                              ret_cause);
    if (n < 0)
        return n;
    if (evolis_parse_reply(answer, (size_t)n, &reply) < 0)
        return printer_link_fail(PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "printer sent an unreadable answer to %s", what);
    if (ret_text)
        snprintf(ret_text, PRINTER_REPLY_MAX, "%s", reply.text);
    if (want_ok && reply.kind != PRINTER_REPLY_OK) {
        fault = evolis_reply_fault(reply.text);
        if (fault)
            return printer_link_fail(PRINTER_ERROR_DEVICE, fault->disposition, ret_disp, ret_cause, "%s (%s)",
                                     fault->cause, what);
        return printer_link_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "printer answered '%.60s' to %s", reply.text, what);
    }
    return 0;
}

static int evolis_exchange(struct evolis *e, const char *cmd, unsigned reply_ms,
                           enum printer_disposition on_stall, bool want_ok, char *ret_text,
                           enum printer_disposition *ret_disp, char *ret_cause)
{
    return evolis_exchange_as(e, cmd, cmd, reply_ms, on_stall, want_ok, ret_text, ret_disp, ret_cause);
}

static int evolis_command(struct evolis *e, const char *cmd, unsigned reply_ms,
                          enum printer_disposition on_stall, enum printer_disposition *ret_disp,
                          char *ret_cause)
{
    return evolis_exchange(e, cmd, reply_ms, on_stall, true, NULL, ret_disp, ret_cause);
}

/* After an action failed with the printer's own text, asks what the guide lets us ask: `Rlr;r` (p. 34,
 * "ERR NEED CLEANING") and `Rcr` (p. 32, "OK" unless on the ribbon's end mark), and puts the answer in front
 * of the cause. Transport failures of the diagnosis leave the first cause alone. */
static void evolis_diagnose(struct evolis *e, char *cause)
{
    enum printer_disposition d;
    char text[PRINTER_REPLY_MAX], tmp[PRINTER_CAUSE_SIZE], first[PRINTER_CAUSE_SIZE];

    snprintf(first, sizeof(first), "%s", cause);
    if (evolis_exchange(e, "Rlr;r", e->link.to.command_ms, PRINTER_DISPOSITION_PAUSE_LINE, false, text, &d,
                        tmp) == 0 &&
        evolis_reply_fault(text)) {
        snprintf(cause, PRINTER_CAUSE_SIZE, "%s: %.100s", evolis_reply_fault(text)->cause, first);
        return;
    }
    if (evolis_exchange(e, "Rcr", e->link.to.command_ms, PRINTER_DISPOSITION_PAUSE_LINE, false, text, &d,
                        tmp) == 0 &&
        strcmp(text, "OK") != 0)
        snprintf(cause, PRINTER_CAUSE_SIZE, "ribbon out: %.100s", first);
}

static void evolis_close(void *ctx)
{
    struct evolis *e = ctx;

    if (!e)
        return;
    printer_transport_free(e->link.t);
    free(e->frame);
    free(e);
}

static int evolis_open(const void *config, void **ret_ctx)
{
    const struct printer_link_config *cfg = config;
    enum printer_disposition disp;
    char cause[PRINTER_CAUSE_SIZE], mdl[PRINTER_IDENT_SIZE] = "";
    struct evolis *e;

    if (!cfg || !cfg->transport || !cfg->transport->ops)
        return PRINTER_ERROR_INVALID;
    e = calloc(1, sizeof(*e));
    if (!e)
        return PRINTER_ERROR_NOMEM;
    printer_link_init(&e->link, cfg);
    if (cfg->device_id)
        printer_device_id_field(cfg->device_id, "MDL", mdl, sizeof(mdl));
    for (size_t i = 0; i < sizeof(evolis_models) / sizeof(evolis_models[0]); i++) {
        if (strncmp(mdl, evolis_models[i].mdl_prefix, strlen(evolis_models[i].mdl_prefix)) == 0) {
            e->colour_bits = evolis_models[i].colour_bits;
            break;
        }
    }
    if (cfg->colour_bits) {
        if (!evolis_bits_code(cfg->colour_bits) || cfg->colour_bits == 1) {
            free(e);
            return PRINTER_ERROR_INVALID;
        }
        e->colour_bits = cfg->colour_bits;
    }
    snprintf(e->model, sizeof(e->model), "%s", mdl);
    if (!cfg->device_id || printer_device_id_field(cfg->device_id, "SN", e->serial, sizeof(e->serial)) < 0)
        snprintf(e->serial, sizeof(e->serial), "%s", cfg->usb_serial ? cfg->usb_serial : "");
    e->frame_size = evolis_panel_frame_size(7);
    e->frame = malloc(e->frame_size);
    if (!e->frame) {
        free(e);
        return PRINTER_ERROR_NOMEM;
    }
    for (size_t i = 0; i < sizeof(evolis_setup) / sizeof(evolis_setup[0]); i++) {
        int r = evolis_command(e, evolis_setup[i], e->link.to.command_ms, PRINTER_DISPOSITION_PAUSE_LINE,
                               &disp, cause);

        if (r < 0) {
            /* the caller still owns the transport */
            free(e->frame);
            free(e);
            return r;
        }
    }
    *ret_ctx = e;
    return 0;
}

static void evolis_identify(const void *ctx, char *ret_model, char *ret_serial)
{
    const struct evolis *e = ctx;

    snprintf(ret_model, PRINTER_IDENT_SIZE, "%s", e->model);
    snprintf(ret_serial, PRINTER_IDENT_SIZE, "%s", e->serial);
}

static int evolis_position(struct evolis *e, enum printer_card_position *ret,
                           enum printer_disposition *ret_disp, char *ret_cause)
{
    char text[PRINTER_REPLY_MAX];
    int r = evolis_exchange(e, "Rlr;p", e->link.to.command_ms, PRINTER_DISPOSITION_RETRY, false, text,
                            ret_disp, ret_cause);

    if (r < 0)
        return r;
    if (evolis_parse_position(text, ret) < 0)
        return printer_link_fail(PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "printer answered '%.60s' to Rlr;p", text);
    if (*ret == PRINTER_CARD_UNKNOWN && e->at_contact)
        *ret = PRINTER_CARD_CONTACT;
    if (*ret == PRINTER_CARD_NONE)
        e->at_contact = false;
    return 0;
}

/* A counter query (Rev E p. 31); -1 when the answer is not a number. */
static int evolis_counter(struct evolis *e, const char *cmd, long *ret, enum printer_disposition *ret_disp,
                          char *ret_cause)
{
    char text[PRINTER_REPLY_MAX];
    int r = evolis_exchange(e, cmd, e->link.to.command_ms, PRINTER_DISPOSITION_RETRY, false, text, ret_disp,
                            ret_cause);

    if (r < 0)
        return r;
    if (evolis_parse_counter(text, ret) < 0)
        *ret = -1;
    return 0;
}

static int evolis_status(void *ctx, struct printer_status *ret, enum printer_disposition *ret_disp,
                         char *ret_cause)
{
    struct evolis *e = ctx;
    struct printer_status s = *ret;
    char text[PRINTER_REPLY_MAX];
    int r;

    s.card = PRINTER_CARD_UNKNOWN;
    s.feeder = -1; /* Rev E has no feeder sensor reading for the internal feeder (Rse: c m o p r only) */
    r = evolis_position(e, &s.card, ret_disp, ret_cause);
    /* Rco;l: cards the ribbon still prints ("not accurate", p. 31); Rco;c: cards inserted */
    if (r == 0)
        r = evolis_counter(e, "Rco;l", &s.ribbon_left, ret_disp, ret_cause);
    if (r == 0)
        r = evolis_counter(e, "Rco;c", &s.cards_printed, ret_disp, ret_cause);
    if (r == 0)
        r = evolis_exchange(e, "Rlr;r", e->link.to.command_ms, PRINTER_DISPOSITION_RETRY, false, text,
                            ret_disp, ret_cause);
    if (r < 0)
        return r;
    s.cleaning_due = evolis_reply_fault(text) != NULL;
    *ret = s;
    return 0;
}

static int evolis_purge(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;
    enum printer_card_position pos;
    int r;

    r = evolis_position(e, &pos, ret_disp, ret_cause);
    if (r < 0 || pos == PRINTER_CARD_NONE)
        return r;
    /* p. 42: Ser ejects the card into the reject box */
    r = evolis_command(e, "Ser", e->link.to.move_ms, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause);
    if (r == 0)
        e->at_contact = false;
    return r;
}

/* Chip first: Sis (p. 59) inserts a blank from the feeder and stops it at the smart card contact station. */
static int evolis_feed(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;
    enum printer_card_position pos;
    char text[PRINTER_REPLY_MAX];
    int r;

    r = evolis_position(e, &pos, ret_disp, ret_cause);
    if (r < 0)
        return r;
    if (pos != PRINTER_CARD_NONE)
        return printer_link_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "a card is already in the printer");
    /* p. 34: Rlr;r says ERR NEED CLEANING once the cleaning counter is out: stop before a card goes in */
    r = evolis_exchange(e, "Rlr;r", e->link.to.command_ms, PRINTER_DISPOSITION_RETRY, false, text, ret_disp,
                        ret_cause);
    if (r < 0)
        return r;
    if (evolis_reply_fault(text))
        return printer_link_fail(PRINTER_ERROR_DEVICE, evolis_reply_fault(text)->disposition, ret_disp,
                                 ret_cause, "%s", evolis_reply_fault(text)->cause);
    e->ejected_by_print = false;
    /* a stall here moved nothing that we know of: the line may try again */
    r = evolis_command(e, "Sis", e->link.to.move_ms, PRINTER_DISPOSITION_RETRY, ret_disp, ret_cause);
    if (r == PRINTER_ERROR_DEVICE) {
        enum printer_disposition d;
        char first[PRINTER_CAUSE_SIZE], tmp[PRINTER_CAUSE_SIZE];

        /* no card came in: the feeder is empty (or the card did not come); the guide gives no reply text */
        snprintf(first, sizeof(first), "%s", ret_cause);
        if (evolis_position(e, &pos, &d, tmp) == 0 && pos == PRINTER_CARD_NONE)
            snprintf(ret_cause, PRINTER_CAUSE_SIZE, "feeder empty: %.100s", first);
        return r;
    }
    if (r == 0)
        e->at_contact = true;
    return r;
}

/* A stripe failure spoils the card as a print fault does: the printer refused a magnetic command (with a text
 * the guide does not document) or the stripe does not read back -> REJECT_CARD; a documented operator's
 * matter (ERR NEED CLEANING), an unreadable answer, a timeout or an unplug keep what the link said. */
static int evolis_stripe_fail(int err, enum printer_disposition *ret_disp, char *ret_cause)
{
    char first[PRINTER_CAUSE_SIZE];

    if (err == PRINTER_ERROR_DEVICE && *ret_disp == PRINTER_DISPOSITION_PAUSE_LINE &&
        strncmp(ret_cause, "cleaning due", 12) != 0)
        *ret_disp = PRINTER_DISPOSITION_REJECT_CARD;
    snprintf(first, sizeof(first), "%s", ret_cause);
    snprintf(ret_cause, PRINTER_CAUSE_SIZE, "magnetic stripe: %.100s", first);
    return err;
}

/* Writes the tracks on the card inside and reads each back (A5013 Rev E pp. 49-55): Pmc coercivity, per
 * track Pmt;<track>;<track> (ISO format of that track) and Dm;<track>;<data> (the printer adds sentinels and
 * LRC: its ISO defaults, Pmt/Pmtc p. 51), Smw writes what was downloaded, Smr;<track> reads one track back.
 * The guide says nothing of where the stripe goes in a print sequence; it is written before Ss, on the card
 * that Sis brought in, so that a bad stripe costs no ribbon (as chip first does). The replies of a successful
 * Dm/Smw and the text of Smr are not documented: OK is taken as success (as for every action), Smr's text is
 * compared by evolis_mag_verify(). Every failure is REJECT_CARD. Neither the data nor the read-back reaches a
 * cause. */
static int evolis_write_stripe(struct evolis *e, const struct printer_mag *mag,
                               enum printer_disposition *ret_disp, char *ret_cause)
{
    char cmd[EVOLIS_CMD_MAX + 1], what[16], text[PRINTER_REPLY_MAX];
    int err;

    err = evolis_command(e, mag->coercivity == PRINTER_MAG_LOCO ? "Pmc;l" : "Pmc;h", e->link.to.command_ms,
                         PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause);
    for (unsigned t = 1; err == 0 && t <= PRINTER_MAG_TRACKS; t++) {
        if (!mag->track[t - 1] || !mag->track[t - 1][0])
            continue;
        if (evolis_mag_download(t, mag->track[t - 1], cmd, sizeof(cmd)) < 0)
            return evolis_stripe_fail(printer_link_fail(PRINTER_ERROR_INVALID,
                                                        PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                                                        "track %u cannot be sent", t),
                                      ret_disp, ret_cause);
        /* p. 51: ISO format n on track n, whatever format a previous user left saved in the printer */
        snprintf(what, sizeof(what), "Pmt;%u;%u", t, t);
        err = evolis_command(e, what, e->link.to.command_ms, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                             ret_cause);
        if (err < 0)
            break;
        snprintf(what, sizeof(what), "Dm;%u", t);
        err = evolis_exchange_as(e, cmd, what, e->link.to.command_ms, PRINTER_DISPOSITION_REJECT_CARD, true,
                                 NULL, ret_disp, ret_cause);
    }
    /* Smw moves the card under the magnetic head and back: a card move's time */
    if (err == 0)
        err = evolis_command(e, "Smw", e->link.to.move_ms, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                             ret_cause);
    for (unsigned t = 1; err == 0 && t <= PRINTER_MAG_TRACKS; t++) {
        if (!mag->track[t - 1] || !mag->track[t - 1][0])
            continue;
        snprintf(what, sizeof(what), "Smr;%u", t);
        err = evolis_exchange_as(e, what, what, e->link.to.move_ms, PRINTER_DISPOSITION_REJECT_CARD, false,
                                 text, ret_disp, ret_cause);
        if (err == 0 && !evolis_mag_verify(t, mag->track[t - 1], text))
            err = printer_link_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                                    ret_cause, "track %u does not read back as written", t);
    }
    if (err < 0)
        return evolis_stripe_fail(err, ret_disp, ret_cause);
    return 0;
}

static int evolis_print(void *ctx, const struct printer_raster *r, const char *label,
                        enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;
    const struct printer_keepout chip = {r->chip_x, r->chip_y, r->chip_w, r->chip_h};
    struct printer_panels *panels = NULL;
    int err;

    (void)label;
    if (r->mag) {
        char why[PRINTER_CAUSE_SIZE - 20];

        if (printer_mag_check(r->mag, why, sizeof(why)) < 0)
            return printer_link_fail(PRINTER_ERROR_INVALID, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                                     ret_cause, "%s", why);
        err = evolis_write_stripe(e, r->mag, ret_disp, ret_cause);
        if (err < 0)
            return err;
    }
    err = printer_panels_split(r, &chip, &panels);
    if (err < 0)
        return printer_link_fail(err, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                                 "cannot split the face into panels: %s", printer_strerror(err));
    err = evolis_command(e, EVOLIS_RIBBON, e->link.to.command_ms, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                         ret_cause);
    if (err == 0)
        err = evolis_command(e, "Ss", e->link.to.command_ms, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                             ret_cause);
    if (err == 0)
        err = evolis_command(e, "Sr", e->link.to.command_ms, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                             ret_cause);
    {
        const struct {
            char name;
            const uint8_t *samples;
            unsigned bits;
        } order[] = {{'y', panels->y, e->colour_bits},
                     {'m', panels->m, e->colour_bits},
                     {'c', panels->c, e->colour_bits},
                     {'k', panels->k, 1},
                     {'o', panels->o, 1}};

        for (size_t i = 0; err == 0 && i < sizeof(order) / sizeof(order[0]); i++) {
            uint8_t answer[LINK_REPLY_MAX];
            struct printer_reply reply;
            char what[16];
            int n =
                evolis_encode_panel(order[i].name, order[i].bits, order[i].samples, e->frame, e->frame_size);

            snprintf(what, sizeof(what), "Db;%c", order[i].name);
            if (n < 0) {
                err = printer_link_fail(n, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                                        "cannot encode panel %c", order[i].name);
                break;
            }
            /* every Db after the first prints the panel before it (§21): a panel's print time */
            n = printer_link_exchange(&e->link, e->frame, (size_t)n,
                                      i ? e->link.to.print_ms : e->link.to.command_ms, what,
                                      PRINTER_DISPOSITION_REJECT_CARD, answer, ret_disp, ret_cause);
            if (n < 0)
                err = n;
            else if (evolis_parse_reply(answer, (size_t)n, &reply) < 0)
                err = printer_link_fail(PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp,
                                        ret_cause, "printer sent an unreadable answer to %s", what);
            else if (reply.kind != PRINTER_REPLY_OK)
                err = printer_link_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp,
                                        ret_cause, "printer answered '%.60s' to %s", reply.text, what);
        }
    }
    printer_panels_free(panels);
    /* Se prints the overlay and ejects the card (p. 42, §21) */
    if (err == 0)
        err = evolis_command(e, "Se", e->link.to.print_ms, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                             ret_cause);
    if (err == 0) {
        e->at_contact = false;
        e->ejected_by_print = true;
    } else if (err == PRINTER_ERROR_DEVICE) {
        evolis_diagnose(e, ret_cause);
    }
    return err;
}

/* The card came in with Sis and is at the contact station already; anything else is not documented. */
static int evolis_to_encoder(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;

    if (e->at_contact)
        return 0;
    return printer_link_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                             "no card at the contact station (Rev E has no move back to it)");
}

/* Se at the end of the print already ejected the card (p. 42); there is no eject outside a sequence. */
static int evolis_eject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;

    if (e->ejected_by_print) {
        e->ejected_by_print = false;
        return 0;
    }
    return printer_link_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                             "no printed card to eject");
}

static int evolis_reject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;
    int r = evolis_command(e, "Ser", e->link.to.move_ms, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause);

    if (r == 0)
        e->at_contact = false;
    else if (r == PRINTER_ERROR_DEVICE)
        evolis_diagnose(e, ret_cause);
    return r;
}

const struct printer_driver printer_driver_evolis = {
    .name = "evolis",
    .usb_ids = evolis_ids,
    .open = evolis_open,
    .status = evolis_status,
    .identify = evolis_identify,
    .purge = evolis_purge,
    .feed = evolis_feed,
    .print = evolis_print,
    .to_encoder = evolis_to_encoder,
    .eject = evolis_eject,
    .reject = evolis_reject,
    .close = evolis_close,
};
