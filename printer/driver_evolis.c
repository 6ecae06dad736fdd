/* driver_evolis.c — Evolis card printers (Primacy, Zenius, ...): ESC…CR commands, Db panel downloads, card
 * moves */
#include "codec.h"
#include "link.h"
#include "panel.h"

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

/* Sent once at open; each must answer OK. */
static const char *const evolis_setup[] = {
    "Pem;2",   /* errors are handled by the host: the printer answers ERROR ... instead of waiting */
    "Pneab;E", /* no eject at the end of a job: the card goes on to the chip station */
    "Pcrm;D",  /* rejected cards go to the reject box */
};

#define EVOLIS_RIBBON "Pr;ymcko"

struct evolis {
    struct printer_link link;
    unsigned colour_bits;
    char model[PRINTER_IDENT_SIZE];
    char serial[PRINTER_IDENT_SIZE];
    uint8_t *frame; /* one panel download; sized for the deepest panel */
    size_t frame_size;
};

static const struct printer_usb_id evolis_ids[] = {
    {EVOLIS_VENDOR, 0}, /* every Evolis product speaks the same command set */
    {0, 0},
};

/* Sends cmd and checks the answer: OK (or a value, into ret_text when not NULL) or a NACK mapped to its
 * fault. */
static int evolis_command(struct evolis *e, const char *cmd, unsigned reply_ms,
                          enum printer_disposition on_stall, char *ret_text,
                          enum printer_disposition *ret_disp, char *ret_cause)
{
    uint8_t frame[EVOLIS_CMD_MAX + 2], answer[LINK_REPLY_MAX];
    struct printer_reply reply;
    int n;

    n = evolis_encode(cmd, frame, sizeof(frame));
    if (n < 0)
        return printer_link_fail(n, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause, "bad command %s",
                                 cmd);
    n = printer_link_exchange(&e->link, frame, (size_t)n, reply_ms, cmd, on_stall, answer, ret_disp,
                              ret_cause);
    if (n < 0)
        return n;
    if (evolis_parse_reply(answer, (size_t)n, &reply) < 0)
        return printer_link_fail(PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "printer sent an unreadable answer to %s", cmd);
    if (reply.kind == PRINTER_REPLY_ERROR) {
        if (!reply.fault->match[0])
            return printer_link_fail(PRINTER_ERROR_DEVICE, reply.fault->disposition, ret_disp, ret_cause,
                                     "printer error: %s", reply.text);
        return printer_link_fail(PRINTER_ERROR_DEVICE, reply.fault->disposition, ret_disp, ret_cause, "%s",
                                 reply.fault->cause);
    }
    if (ret_text)
        snprintf(ret_text, PRINTER_REPLY_MAX, "%s", reply.text);
    return 0;
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
                               NULL, &disp, cause);

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
    int r = evolis_command(e, "Rlr;p", e->link.to.command_ms, PRINTER_DISPOSITION_RETRY, text, ret_disp,
                           ret_cause);

    if (r < 0)
        return r;
    if (evolis_parse_position(text, ret) < 0)
        return printer_link_fail(PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "printer gave an unknown card position '%s'", text);
    return 0;
}

static int evolis_status(void *ctx, struct printer_status *ret, enum printer_disposition *ret_disp,
                         char *ret_cause)
{
    struct evolis *e = ctx;
    struct printer_status s = {.card = PRINTER_CARD_UNKNOWN, .feeder = -1};
    char text[PRINTER_REPLY_MAX];
    int r;

    r = evolis_position(e, &s.card, ret_disp, ret_cause);
    if (r < 0)
        return r;
    r = evolis_command(e, "Rse;f", e->link.to.command_ms, PRINTER_DISPOSITION_RETRY, text, ret_disp,
                       ret_cause);
    if (r < 0)
        return r;
    if (evolis_parse_feeder(text, &s.feeder) < 0)
        s.feeder = -1;
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
    return evolis_command(e, "Ser", e->link.to.move_ms, PRINTER_DISPOSITION_PAUSE_LINE, NULL, ret_disp,
                          ret_cause);
}

static int evolis_feed(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;
    enum printer_card_position pos;
    int r;

    r = evolis_position(e, &pos, ret_disp, ret_cause);
    if (r < 0)
        return r;
    if (pos != PRINTER_CARD_NONE)
        return printer_link_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "a card is already in the printer");
    /* a stall here moved nothing that we know of: the line may try again */
    return evolis_command(e, "Si", e->link.to.move_ms, PRINTER_DISPOSITION_RETRY, NULL, ret_disp, ret_cause);
}

static int evolis_print(void *ctx, const struct printer_raster *r, const char *label,
                        enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;
    const struct printer_keepout chip = {r->chip_x, r->chip_y, r->chip_w, r->chip_h};
    struct printer_panels *panels = NULL;
    int err;

    (void)label;
    err = printer_panels_split(r, &chip, &panels);
    if (err < 0)
        return printer_link_fail(err, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                                 "cannot split the face into panels: %s", printer_strerror(err));
    err = evolis_command(e, EVOLIS_RIBBON, e->link.to.command_ms, PRINTER_DISPOSITION_REJECT_CARD, NULL,
                         ret_disp, ret_cause);
    if (err == 0)
        err = evolis_command(e, "Ss", e->link.to.command_ms, PRINTER_DISPOSITION_REJECT_CARD, NULL, ret_disp,
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
            n = printer_link_exchange(&e->link, e->frame, (size_t)n, e->link.to.command_ms, what,
                                      PRINTER_DISPOSITION_REJECT_CARD, answer, ret_disp, ret_cause);
            if (n < 0) {
                err = n;
            } else if (evolis_parse_reply(answer, (size_t)n, &reply) < 0 ||
                       reply.kind == PRINTER_REPLY_VALUE) {
                err = printer_link_fail(PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp,
                                        ret_cause, "printer sent an unreadable answer to %s", what);
            } else if (reply.kind == PRINTER_REPLY_ERROR) {
                err = printer_link_fail(PRINTER_ERROR_DEVICE, reply.fault->disposition, ret_disp, ret_cause,
                                        "%s", reply.fault->match[0] ? reply.fault->cause : reply.text);
            }
        }
    }
    printer_panels_free(panels);
    if (err == 0)
        err = evolis_command(e, "Sr", e->link.to.print_ms, PRINTER_DISPOSITION_REJECT_CARD, NULL, ret_disp,
                             ret_cause);
    return err;
}

static int evolis_to_encoder(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;

    return evolis_command(e, "Sis", e->link.to.move_ms, PRINTER_DISPOSITION_REJECT_CARD, NULL, ret_disp,
                          ret_cause);
}

static int evolis_eject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;

    return evolis_command(e, "Se", e->link.to.move_ms, PRINTER_DISPOSITION_REJECT_CARD, NULL, ret_disp,
                          ret_cause);
}

static int evolis_reject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct evolis *e = ctx;

    return evolis_command(e, "Ser", e->link.to.move_ms, PRINTER_DISPOSITION_PAUSE_LINE, NULL, ret_disp,
                          ret_cause);
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
