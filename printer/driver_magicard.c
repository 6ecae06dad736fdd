/* driver_magicard.c — Magicard card printers (Rio Pro, Enduro, ...): 0x05/0x01 framed commands, B/G/R/K print
 * jobs */
#include "codec.h"
#include "link.h"
#include "panel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAGICARD_VENDOR 0x0c1f
/* While a Magicard prints it answers BUSY; ask again after this long, up to the print timeout. */
#define MAGICARD_BUSY_POLL_MS 250

/* Card moves the driver sends (printers.md: EJT eject, CHP to the chip encoder; rejecting is EJT with the
 * reject-box argument; confirm on a real printer). */
#define MAGICARD_EJECT   "EJT,"
#define MAGICARD_REJECT  "EJT,REJ,"
#define MAGICARD_TO_CHIP "CHP,"

struct magicard {
    struct printer_link link;
    char model[PRINTER_IDENT_SIZE];
    char serial[PRINTER_IDENT_SIZE];
    uint8_t *job;
    size_t job_size;
};

static const struct printer_usb_id magicard_ids[] = {
    {MAGICARD_VENDOR, 0},
    {0, 0},
};

static void sleep_ms(unsigned ms)
{
    struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
}

static int magicard_fault(const struct magicard_status *s, enum printer_disposition *ret_disp,
                          char *ret_cause)
{
    return printer_link_fail(PRINTER_ERROR_DEVICE, s->fault->disposition, ret_disp, ret_cause, "%s",
                             s->fault->cause);
}

/* Sends frame (a command, or a whole job), then asks for the status until the printer is not busy, for
 * at most wait_ms. A fault in the status is returned as the command's failure. */
static int magicard_run(struct magicard *m, const uint8_t *frame, size_t len, const char *what,
                        unsigned wait_ms, enum printer_disposition on_stall, struct magicard_status *ret,
                        enum printer_disposition *ret_disp, char *ret_cause)
{
    uint8_t query[MAGICARD_CMD_MAX + 16], answer[LINK_REPLY_MAX];
    const struct printer_transport_ops *ops = m->link.t->ops;
    unsigned waited = 0;
    int qlen, r;

    if (frame) {
        r = ops->write(m->link.t->ctx, frame, len, m->link.to.command_ms);
        if (r < 0) {
            /* the frame never got through: let exchange's mapping name the failure */
            if (r == PRINTER_ERROR_GONE)
                return printer_link_fail(r, PRINTER_DISPOSITION_DEVICE_GONE, ret_disp, ret_cause,
                                         "printer unplugged (during %s)", what);
            if (r == PRINTER_ERROR_STALL)
                return printer_link_fail(r, on_stall, ret_disp, ret_cause, "USB endpoint stalled during %s",
                                         what);
            return printer_link_fail(r, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                     "printer did not take %s: %s", what, printer_strerror(r));
        }
    }
    qlen = magicard_encode(MAGICARD_STATUS_QUERY, query, sizeof(query));
    for (;;) {
        struct printer_reply reply;
        struct magicard_status s;

        r = printer_link_exchange(&m->link, query, (size_t)qlen, m->link.to.command_ms, what, on_stall,
                                  answer, ret_disp, ret_cause);
        if (r < 0)
            return r;
        if (magicard_parse_reply(answer, (size_t)r, &reply) < 0 || magicard_parse_status(reply.text, &s) < 0)
            return printer_link_fail(PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp,
                                     ret_cause, "printer sent an unreadable status after %s", what);
        if (s.fault)
            return magicard_fault(&s, ret_disp, ret_cause);
        if (!s.busy) {
            if (ret)
                *ret = s;
            return 0;
        }
        if (waited >= wait_ms)
            return printer_link_fail(PRINTER_ERROR_TIMEOUT, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp,
                                     ret_cause, "printer still busy with %s after %u ms", what, waited);
        {
            /* never sleep past the bound: the last poll waits only for what is left */
            unsigned step = wait_ms - waited < MAGICARD_BUSY_POLL_MS ? wait_ms - waited : MAGICARD_BUSY_POLL_MS;
            sleep_ms(step);
            waited += step;
        }
    }
}

static int magicard_command(struct magicard *m, const char *cmd, unsigned wait_ms,
                            enum printer_disposition on_stall, struct magicard_status *ret,
                            enum printer_disposition *ret_disp, char *ret_cause)
{
    uint8_t frame[MAGICARD_CMD_MAX + 16];
    int n = magicard_encode(cmd, frame, sizeof(frame));

    if (n < 0)
        return printer_link_fail(n, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause, "bad command %s",
                                 cmd);
    return magicard_run(m, frame, (size_t)n, cmd, wait_ms, on_stall, ret, ret_disp, ret_cause);
}

static void magicard_close(void *ctx)
{
    struct magicard *m = ctx;

    if (!m)
        return;
    printer_transport_free(m->link.t);
    free(m->job);
    free(m);
}

static int magicard_open(const void *config, void **ret_ctx)
{
    const struct printer_link_config *cfg = config;
    enum printer_disposition disp;
    char cause[PRINTER_CAUSE_SIZE];
    struct magicard *m;
    int r;

    if (!cfg || !cfg->transport || !cfg->transport->ops)
        return PRINTER_ERROR_INVALID;
    m = calloc(1, sizeof(*m));
    if (!m)
        return PRINTER_ERROR_NOMEM;
    printer_link_init(&m->link, cfg);
    if (!cfg->device_id || printer_device_id_field(cfg->device_id, "MDL", m->model, sizeof(m->model)) < 0)
        m->model[0] = '\0';
    if (!cfg->device_id || printer_device_id_field(cfg->device_id, "SN", m->serial, sizeof(m->serial)) < 0)
        snprintf(m->serial, sizeof(m->serial), "%s", cfg->usb_serial ? cfg->usb_serial : "");
    m->job_size = magicard_job_size();
    m->job = malloc(m->job_size);
    if (!m->job) {
        free(m);
        return PRINTER_ERROR_NOMEM;
    }
    /* the printer must answer a status query; faults (cover open, ...) show on the first card */
    r = magicard_run(m, NULL, 0, "status", m->link.to.command_ms, PRINTER_DISPOSITION_PAUSE_LINE, NULL, &disp,
                     cause);
    if (r < 0 && r != PRINTER_ERROR_DEVICE) {
        free(m->job);
        free(m);
        return r;
    }
    *ret_ctx = m;
    return 0;
}

static void magicard_identify(const void *ctx, char *ret_model, char *ret_serial)
{
    const struct magicard *m = ctx;

    snprintf(ret_model, PRINTER_IDENT_SIZE, "%s", m->model);
    snprintf(ret_serial, PRINTER_IDENT_SIZE, "%s", m->serial);
}

static int magicard_status(void *ctx, struct printer_status *ret, enum printer_disposition *ret_disp,
                           char *ret_cause)
{
    struct magicard *m = ctx;
    struct magicard_status s;
    int r = magicard_run(m, NULL, 0, "status", m->link.to.command_ms, PRINTER_DISPOSITION_RETRY, &s, ret_disp,
                         ret_cause);

    if (r < 0)
        return r;
    ret->card = s.card;
    ret->feeder = s.feeder;
    return 0;
}

static int magicard_purge(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;
    struct magicard_status s;
    int r = magicard_run(m, NULL, 0, "status", m->link.to.command_ms, PRINTER_DISPOSITION_RETRY, &s, ret_disp,
                         ret_cause);

    if (r < 0 || s.card == PRINTER_CARD_NONE)
        return r;
    return magicard_command(m, MAGICARD_REJECT, m->link.to.move_ms, PRINTER_DISPOSITION_PAUSE_LINE, NULL,
                            ret_disp, ret_cause);
}

/* A Magicard takes the blank when the job arrives; feeding checks that it can. */
static int magicard_feed(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;
    struct magicard_status s;
    int r = magicard_run(m, NULL, 0, "status", m->link.to.command_ms, PRINTER_DISPOSITION_RETRY, &s, ret_disp,
                         ret_cause);

    if (r < 0)
        return r;
    if (s.card != PRINTER_CARD_NONE)
        return printer_link_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "a card is already in the printer");
    if (s.feeder == 0)
        return printer_link_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "feeder empty");
    return 0;
}

static int magicard_print(void *ctx, const struct printer_raster *r, const char *label,
                          enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;
    const struct printer_keepout chip = {r->chip_x, r->chip_y, r->chip_w, r->chip_h};
    struct printer_panels *panels = NULL;
    int err, n;

    (void)label;
    err = printer_panels_split(r, &chip, &panels);
    if (err < 0)
        return printer_link_fail(err, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                                 "cannot split the face into panels: %s", printer_strerror(err));
    n = magicard_encode_job(panels, m->job, m->job_size);
    printer_panels_free(panels);
    if (n < 0)
        return printer_link_fail(n, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                                 "cannot encode the job");
    return magicard_run(m, m->job, (size_t)n, "print job", m->link.to.print_ms,
                        PRINTER_DISPOSITION_REJECT_CARD, NULL, ret_disp, ret_cause);
}

static int magicard_to_encoder(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;

    return magicard_command(m, MAGICARD_TO_CHIP, m->link.to.move_ms, PRINTER_DISPOSITION_REJECT_CARD, NULL,
                            ret_disp, ret_cause);
}

static int magicard_eject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;

    return magicard_command(m, MAGICARD_EJECT, m->link.to.move_ms, PRINTER_DISPOSITION_REJECT_CARD, NULL,
                            ret_disp, ret_cause);
}

static int magicard_reject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;

    return magicard_command(m, MAGICARD_REJECT, m->link.to.move_ms, PRINTER_DISPOSITION_PAUSE_LINE, NULL,
                            ret_disp, ret_cause);
}

const struct printer_driver printer_driver_magicard = {
    .name = "magicard",
    .usb_ids = magicard_ids,
    .open = magicard_open,
    .status = magicard_status,
    .identify = magicard_identify,
    .purge = magicard_purge,
    .feed = magicard_feed,
    .print = magicard_print,
    .to_encoder = magicard_to_encoder,
    .eject = magicard_eject,
    .reject = magicard_reject,
    .close = magicard_close,
};
