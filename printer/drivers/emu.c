/* emu.c — the "emu:" printers: a fresh in-process emulated Evolis or Magicard driven by the real
 * protocol driver over the emulator transport (transport/emu.c), a PNG per card decoded from the panels the
 * emulator received */
#include "emulator/emulator.h"
#include "drivers/link.h"
#include "printer-private.h"
#include "transport/transport.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define EMU_CARD_MS_MAX 60000u   /* a real printer takes well under a minute per card */
#define EMU_LARGE_STOCK 1000000u /* feeder and ribbon when feeder_cards is 0: more than any run prints */

struct emu_config {
    enum printer_emulator_kind kind;
    const struct printer_sim_config *sim;    /* may be NULL */
    const struct printer_timeouts *timeouts; /* may be NULL */
    const char *file;                        /* print to file: every byte sent goes there too; NULL none */
};

struct emu {
    const struct printer_driver *drv;      /* the real protocol driver */
    void *ctx;                             /* its state; it owns the transport */
    struct printer_emulator *emu;          /* outlives the transport: freed after drv->close */
    char output_dir[PRINTER_FACE_DIR_MAX]; /* empty: faces are not written */
    unsigned card_ms;
};

/* Numbers the emulated printers of this process so that lines show distinct serials (EMU-EV-1, ...). */
static atomic_uint emu_serials;

static void emu_close(void *ctx)
{
    struct emu *e = ctx;

    if (!e)
        return;
    if (e->ctx)
        e->drv->close(e->ctx);
    printer_emulator_free(e->emu);
    free(e);
}

/* Checks the sim settings an emulated printer honours; copies output_dir. */
static int emu_settings(struct emu *e, const struct printer_sim_config *sim)
{
    size_t dir_len;
    int r;

    if (!sim)
        return 0;
    if (sim->card_ms > EMU_CARD_MS_MAX)
        return PRINTER_ERROR_INVALID;
    e->card_ms = sim->card_ms;
    if (!sim->output_dir)
        return 0;
    r = printer_face_dir_check(sim->output_dir);
    if (r < 0)
        return r;
    dir_len = strlen(sim->output_dir);
    memcpy(e->output_dir, sim->output_dir, dir_len);
    e->output_dir[dir_len] = '\0';
    return 0;
}

static int emu_open(const void *config, void **ret_ctx)
{
    const struct emu_config *cfg = config;
    struct printer_link_config link = {0};
    struct printer_emulator_state st;
    struct printer_transport *t = NULL;
    char serial[32];
    struct emu *e;
    int r;

    if (!cfg)
        return PRINTER_ERROR_INVALID;
    e = calloc(1, sizeof(*e));
    if (!e)
        return PRINTER_ERROR_NOMEM;
    r = emu_settings(e, cfg->sim);
    if (r < 0)
        goto fail;
    snprintf(serial, sizeof(serial), "EMU-%s-%u", cfg->kind == PRINTER_EMULATOR_EVOLIS ? "EV" : "MC",
             atomic_fetch_add(&emu_serials, 1) + 1);
    r = PRINTER_ERROR_NOMEM;
    e->emu = printer_emulator_new(cfg->kind, serial);
    if (!e->emu)
        goto fail;
    printer_emulator_get_state(e->emu, &st);
    st.feeder = cfg->sim && cfg->sim->feeder_cards ? cfg->sim->feeder_cards : EMU_LARGE_STOCK;
    st.ribbon = st.feeder > EMU_LARGE_STOCK ? st.feeder : EMU_LARGE_STOCK;
    printer_emulator_set_state(e->emu, &st);
    /* a line runs for hours: the byte log is for tests that open the emulator themselves */
    printer_emulator_keep_received(e->emu, false);
    if (e->output_dir[0] && printer_emulator_capture_faces(e->emu, true) < 0)
        goto fail;
    r = printer_transport_emu_file_new(e->emu, cfg->file, &t);
    if (r < 0)
        goto fail;
    link.transport = t;
    link.product_id = printer_emulator_product(e->emu);
    link.device_id = printer_emulator_device_id(e->emu);
    link.usb_serial = printer_emulator_serial(e->emu);
    if (cfg->timeouts)
        link.timeouts = *cfg->timeouts;
    e->drv = cfg->kind == PRINTER_EMULATOR_EVOLIS ? &printer_driver_evolis : &printer_driver_magicard;
    r = e->drv->open(&link, &e->ctx);
    if (r < 0) {
        printer_transport_free(t); /* a driver that failed to open leaves the transport to us */
        goto fail;
    }
    *ret_ctx = e;
    return 0;
fail:
    emu_close(e);
    return r;
}

static int emu_status(void *ctx, struct printer_status *ret, enum printer_disposition *ret_disp,
                      char *ret_cause)
{
    struct emu *e = ctx;

    return e->drv->status(e->ctx, ret, ret_disp, ret_cause);
}

static void emu_identify(const void *ctx, char *ret_model, char *ret_serial)
{
    const struct emu *e = ctx;
    char model[PRINTER_IDENT_SIZE] = "";

    e->drv->identify(e->ctx, model, ret_serial);
    /* the device ID names a real model: say that this one is not */
    snprintf(ret_model, PRINTER_IDENT_SIZE, "%.40s (emulated)", model);
}

static int emu_purge(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct emu *e = ctx;

    return e->drv->purge(e->ctx, ret_disp, ret_cause);
}

static int emu_feed(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct emu *e = ctx;

    return e->drv->feed(e->ctx, ret_disp, ret_cause);
}

static int emu_write_face(const struct emu *e, uint8_t *rgb, const char *label)
{
    const struct printer_raster r = {.width = PRINTER_FACE_WIDTH, .height = PRINTER_FACE_HEIGHT, .rgb = rgb};

    return printer_face_write(e->output_dir, label, &r);
}

static int emu_print(void *ctx, const struct printer_raster *r, const char *label,
                     enum printer_disposition *ret_disp, char *ret_cause)
{
    struct emu *e = ctx;
    uint8_t *face;
    int err;

    if (e->output_dir[0] && !printer_face_label_valid(label))
        return printer_link_fail(PRINTER_ERROR_INVALID, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                                 "card label must be 1-64 characters of A-Z a-z 0-9 _ -");
    free(printer_emulator_take_face(e->emu)); /* a face left from a print whose answer was lost */
    if (e->card_ms)
        printer_sleep_ms(e->card_ms);
    err = e->drv->print(e->ctx, r, label, ret_disp, ret_cause);
    if (err < 0 || !e->output_dir[0])
        return err;
    /* the card counts as printed either way, so the line cannot silently reprint it; a face that cannot
     * be shown needs an operator, as in the sim driver */
    face = printer_emulator_take_face(e->emu);
    if (!face)
        return printer_link_fail(PRINTER_ERROR_IO, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "the emulated printer could not decode the face of %s", label);
    err = emu_write_face(e, face, label);
    free(face);
    if (err < 0)
        return printer_link_fail(err == PRINTER_ERROR_NOMEM ? err : PRINTER_ERROR_IO,
                                 PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "cannot write %s.png to the output directory", label);
    return 0;
}

static int emu_to_encoder(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct emu *e = ctx;

    return e->drv->to_encoder(e->ctx, ret_disp, ret_cause);
}

static int emu_eject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct emu *e = ctx;

    return e->drv->eject(e->ctx, ret_disp, ret_cause);
}

static int emu_reject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct emu *e = ctx;

    return e->drv->reject(e->ctx, ret_disp, ret_cause);
}

/* One table per protocol so that printer_name() says which driver runs; neither has USB ids, so neither
 * is enumerated or listed by `cardline devices`. */
static const struct printer_driver printer_driver_emu_evolis = {
    .name = "evolis",
    .usb_ids = NULL,
    .open = emu_open,
    .status = emu_status,
    .identify = emu_identify,
    .purge = emu_purge,
    .feed = emu_feed,
    .print = emu_print,
    .to_encoder = emu_to_encoder,
    .eject = emu_eject,
    .reject = emu_reject,
    .close = emu_close,
};

static const struct printer_driver printer_driver_emu_magicard = {
    .name = "magicard",
    .usb_ids = NULL,
    .open = emu_open,
    .status = emu_status,
    .identify = emu_identify,
    .purge = emu_purge,
    .feed = emu_feed,
    .print = emu_print,
    .to_encoder = emu_to_encoder,
    .eject = emu_eject,
    .reject = emu_reject,
    .close = emu_close,
};

/* The emulated printer of the driver named (evolis, magicard) with cfg, behind that driver's real
 * protocol. */
static int emu_new_for(const char *driver, struct emu_config *cfg, struct printer **ret)
{
    if (strcmp(driver, printer_driver_evolis.name) == 0) {
        cfg->kind = PRINTER_EMULATOR_EVOLIS;
        return printer_new(&printer_driver_emu_evolis, cfg, ret);
    }
    if (strcmp(driver, printer_driver_magicard.name) == 0) {
        cfg->kind = PRINTER_EMULATOR_MAGICARD;
        return printer_new(&printer_driver_emu_magicard, cfg, ret);
    }
    return PRINTER_ERROR_INVALID;
}

int printer_open_emu(const char *driver, const struct printer_sim_config *sim,
                     const struct printer_timeouts *timeouts, struct printer **ret)
{
    struct emu_config cfg = {.sim = sim, .timeouts = timeouts};

    if (!driver || !ret)
        return PRINTER_ERROR_INVALID;
    return emu_new_for(driver, &cfg, ret);
}

int printer_open_file(const char *driver, const char *path, const struct printer_sim_config *sim,
                      const struct printer_timeouts *timeouts, struct printer **ret)
{
    struct emu_config cfg = {.sim = sim, .timeouts = timeouts, .file = path};

    if (!driver || !path || !*path || !ret)
        return PRINTER_ERROR_INVALID;
    return emu_new_for(driver, &cfg, ret);
}

struct printer_emulator *printer_emu_emulator(const struct printer *p)
{
    if (!p || (p->drv != &printer_driver_emu_evolis && p->drv != &printer_driver_emu_magicard))
        return NULL;
    return ((const struct emu *)p->ctx)->emu;
}
