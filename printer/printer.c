/* printer.c — the generic printer handle: checks arguments, dispatches to the driver, opens by spec, names
 * errors */
#include "printer-private.h"
#include "transport/transport.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX 128

const struct printer_driver *const printer_usb_drivers[] = {
    &printer_driver_evolis,
    &printer_driver_magicard,
    NULL,
};

const char *printer_strerror(int err)
{
    if (err >= 0)
        return N_("success");
    switch ((enum printer_error)err) {
    case PRINTER_ERROR_INVALID:
        return N_("invalid argument");
    case PRINTER_ERROR_NOMEM:
        return N_("out of memory");
    case PRINTER_ERROR_IO:
        return N_("input/output error");
    case PRINTER_ERROR_FONT:
        return N_("character has no glyph in any installed font");
    case PRINTER_ERROR_TIMEOUT:
        return N_("timed out");
    case PRINTER_ERROR_DEVICE:
        return N_("printer fault");
    case PRINTER_ERROR_GONE:
        return N_("printer not found or unplugged");
    case PRINTER_ERROR_STALL:
        return N_("USB endpoint stalled");
    case PRINTER_ERROR_PROTOCOL:
        return N_("printer answered something unexpected");
    case PRINTER_ERROR_LAYOUT:
        return N_("card layout file missing or invalid");
    case PRINTER_ERROR_ACCESS:
        return N_("no permission to use the USB printer, or another program holds it");
    }
    return N_("unknown printer error");
}

const char *printer_disposition_name(enum printer_disposition d)
{
    switch (d) {
    case PRINTER_DISPOSITION_OK:
        return "ok";
    case PRINTER_DISPOSITION_RETRY:
        return "retry";
    case PRINTER_DISPOSITION_REJECT_CARD:
        return "reject-card";
    case PRINTER_DISPOSITION_PAUSE_LINE:
        return "pause-line";
    case PRINTER_DISPOSITION_DEVICE_GONE:
        return "device-gone";
    }
    return "unknown";
}

/* What to do after an error when the driver did not say: the safe choice for each kind. */
static enum printer_disposition default_disposition(int err)
{
    switch (err) {
    case PRINTER_ERROR_IO:
    case PRINTER_ERROR_TIMEOUT:
        return PRINTER_DISPOSITION_RETRY;
    case PRINTER_ERROR_GONE:
        return PRINTER_DISPOSITION_DEVICE_GONE;
    default:
        return PRINTER_DISPOSITION_PAUSE_LINE;
    }
}

/* Hands a failure's disposition and cause to the caller; on success their variables stay untouched. */
static int finish(int r, enum printer_disposition disp, const char *cause, enum printer_disposition *ret_disp,
                  char *ret_cause)
{
    if (r >= 0)
        return r;
    if (disp == PRINTER_DISPOSITION_OK)
        disp = default_disposition(r);
    if (ret_disp)
        *ret_disp = disp;
    if (ret_cause)
        snprintf(ret_cause, PRINTER_CAUSE_SIZE, "%s", cause[0] ? cause : printer_strerror(r));
    return r;
}

typedef int (*printer_op)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

/* op is the driver's operation, NULL when p is NULL. */
static int dispatch(struct printer *p, printer_op op, enum printer_disposition *ret_disp, char *ret_cause)
{
    enum printer_disposition disp = PRINTER_DISPOSITION_OK;
    char cause[PRINTER_CAUSE_SIZE] = "";
    int r;

    if (!p || !op)
        return finish(PRINTER_ERROR_INVALID, PRINTER_DISPOSITION_PAUSE_LINE, "no printer", ret_disp,
                      ret_cause);
    r = op(p->ctx, &disp, cause);
    cause[PRINTER_CAUSE_SIZE - 1] = '\0';
    return finish(r, disp, cause, ret_disp, ret_cause);
}

int printer_new(const struct printer_driver *drv, const void *config, struct printer **ret)
{
    struct printer *p;
    void *ctx = NULL;
    int r;

    if (!drv || !ret)
        return PRINTER_ERROR_INVALID;
    p = calloc(1, sizeof(*p));
    if (!p)
        return PRINTER_ERROR_NOMEM;
    r = drv->open(config, &ctx);
    if (r < 0) {
        free(p);
        return r;
    }
    p->drv = drv;
    p->ctx = ctx;
    if (drv->identify) {
        drv->identify(ctx, p->model, p->serial);
        p->model[PRINTER_IDENT_SIZE - 1] = '\0';
        p->serial[PRINTER_IDENT_SIZE - 1] = '\0';
    }
    *ret = p;
    return 0;
}

const char *printer_model(const struct printer *p)
{
    return p ? p->model : "";
}

const char *printer_serial(const struct printer *p)
{
    return p ? p->serial : "";
}

int printer_get_status(struct printer *p, struct printer_status *ret, enum printer_disposition *ret_disp,
                       char *ret_cause)
{
    enum printer_disposition disp = PRINTER_DISPOSITION_OK;
    char cause[PRINTER_CAUSE_SIZE] = "";
    struct printer_status s = {.card = PRINTER_CARD_UNKNOWN,
                               .feeder = -1,
                               .ribbon_left = -1,
                               .cards_printed = -1,
                               .cleaning_due = -1};
    int r;

    if (!p || !ret)
        return finish(PRINTER_ERROR_INVALID, PRINTER_DISPOSITION_PAUSE_LINE, "no printer", ret_disp,
                      ret_cause);
    /* drivers fill what they know; the rest stays "not reported" */
    r = p->drv->status(p->ctx, &s, &disp, cause);
    cause[PRINTER_CAUSE_SIZE - 1] = '\0';
    if (r >= 0)
        *ret = s;
    return finish(r, disp, cause, ret_disp, ret_cause);
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int printer_open_spec_timeouts(const char *spec, const struct printer_sim_config *sim,
                               const struct printer_timeouts *timeouts, struct printer **ret)
{
    struct printer_usb_match match = {0};
    struct printer_link_config link = {0};
    const struct printer_driver *drv = NULL;
    struct printer_transport *t = NULL;
    char buf[SPEC_MAX], *arg, *colon;
    int r;

    if (!spec || !ret || strnlen(spec, SPEC_MAX) >= SPEC_MAX)
        return PRINTER_ERROR_INVALID;
    if (strcmp(spec, "sim") == 0)
        return sim ? printer_open_sim(sim, ret) : PRINTER_ERROR_INVALID;
    if (strncmp(spec, "emu:", 4) == 0)
        return printer_open_emu(spec + 4, sim, timeouts, ret);
    /* print to file: "<driver>:file:PATH" */
    for (size_t d = 0; printer_usb_drivers[d]; d++) {
        size_t n = strlen(printer_usb_drivers[d]->name);

        if (strncmp(spec, printer_usb_drivers[d]->name, n) == 0 && strncmp(spec + n, ":file:", 6) == 0)
            return printer_open_file(printer_usb_drivers[d]->name, spec + n + 6, sim, timeouts, ret);
    }
    if (strcmp(spec, "usb") != 0 && strncmp(spec, "usb:", 4) != 0)
        return PRINTER_ERROR_INVALID;
    snprintf(buf, sizeof(buf), "%s", spec);
    arg = buf[3] == ':' ? buf + 4 : NULL;
    if (arg) {
        colon = strchr(arg, ':');
        if (colon && all_digits(colon + 1) && (*colon = '\0', all_digits(arg))) {
            match.bus = atoi(arg);
            match.address = atoi(colon + 1);
            if (match.bus <= 0 || match.bus > 255 || match.address <= 0 || match.address > 127)
                return PRINTER_ERROR_INVALID;
        } else if (!*arg) {
            return PRINTER_ERROR_INVALID;
        } else {
            if (colon)
                *colon = ':';
            for (size_t d = 0; printer_usb_drivers[d]; d++)
                if (strcmp(arg, printer_usb_drivers[d]->name) == 0)
                    match.driver = printer_usb_drivers[d]->name;
            if (!match.driver)
                match.serial = arg;
        }
    }
    r = printer_usb_open(&match, &drv, &t, &link);
    if (r < 0)
        return r;
    if (timeouts)
        link.timeouts = *timeouts;
    r = printer_new(drv, &link, ret);
    if (r < 0)
        printer_transport_free(t);
    return r;
}

int printer_open_spec(const char *spec, const struct printer_sim_config *sim, struct printer **ret)
{
    return printer_open_spec_timeouts(spec, sim, NULL, ret);
}

const char *printer_name(const struct printer *p)
{
    return p ? p->drv->name : "none";
}

int printer_purge(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause)
{
    return dispatch(p, p ? p->drv->purge : NULL, ret_disp, ret_cause);
}

int printer_feed(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause)
{
    return dispatch(p, p ? p->drv->feed : NULL, ret_disp, ret_cause);
}

int printer_print(struct printer *p, const struct printer_raster *r, const char *label,
                  enum printer_disposition *ret_disp, char *ret_cause)
{
    enum printer_disposition disp = PRINTER_DISPOSITION_OK;
    char cause[PRINTER_CAUSE_SIZE] = "";
    int err;

    if (!p)
        return finish(PRINTER_ERROR_INVALID, PRINTER_DISPOSITION_PAUSE_LINE, "no printer", ret_disp,
                      ret_cause);
    /* The blank at the print position is still good, but this job cannot be printed: move on. */
    if (!r || !r->rgb || !r->kmask || r->width != PRINTER_FACE_WIDTH || r->height != PRINTER_FACE_HEIGHT)
        return finish(PRINTER_ERROR_INVALID, PRINTER_DISPOSITION_REJECT_CARD, "no face or wrong face size",
                      ret_disp, ret_cause);
    if (!label || !label[0])
        return finish(PRINTER_ERROR_INVALID, PRINTER_DISPOSITION_REJECT_CARD, "no card label", ret_disp,
                      ret_cause);
    err = p->drv->print(p->ctx, r, label, &disp, cause);
    cause[PRINTER_CAUSE_SIZE - 1] = '\0';
    return finish(err, disp, cause, ret_disp, ret_cause);
}

int printer_to_encoder(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause)
{
    return dispatch(p, p ? p->drv->to_encoder : NULL, ret_disp, ret_cause);
}

int printer_eject(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause)
{
    return dispatch(p, p ? p->drv->eject : NULL, ret_disp, ret_cause);
}

int printer_reject(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause)
{
    return dispatch(p, p ? p->drv->reject : NULL, ret_disp, ret_cause);
}

void printer_close(struct printer *p)
{
    if (!p)
        return;
    p->drv->close(p->ctx);
    free(p);
}
