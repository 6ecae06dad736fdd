/* printer.c — the generic printer handle: checks arguments, dispatches to the driver, names errors */
#include "printer-private.h"

#include <stdio.h>
#include <stdlib.h>

const char *printer_strerror(int err)
{
    if (err >= 0)
        return "success";
    switch ((enum printer_error)err) {
    case PRINTER_ERROR_INVALID:
        return "invalid argument";
    case PRINTER_ERROR_NOMEM:
        return "out of memory";
    case PRINTER_ERROR_IO:
        return "input/output error";
    case PRINTER_ERROR_FONT:
        return "character has no glyph in any installed font";
    case PRINTER_ERROR_TIMEOUT:
        return "timed out";
    case PRINTER_ERROR_DEVICE:
        return "printer fault";
    case PRINTER_ERROR_GONE:
        return "printer not found or unplugged";
    }
    return "unknown printer error";
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
    *ret = p;
    return 0;
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
