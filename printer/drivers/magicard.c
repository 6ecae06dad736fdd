/* magicard.c — Magicard card printers (Rio Pro, Rio/Tango/XXL): 0x05/0x01 framed commands, REQ,INF
 * status, B/G/R/K print jobs laid out per model as the vendor's UltraDriver does */
#include "codec/codec.h"
#include "drivers/link.h"
#include "codec/panel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAGICARD_VENDOR 0x0c1f
/* While a Magicard prints, ask for its status this often, up to the print timeout: STA$$ field 9 (cards
 * printed) going up ends the job, an error code in field 19 fails it. */
#define MAGICARD_POLL_MS 250

/* Card moves (selphy_print simple commands: "EJT," eject; its list of Rio Pro/Enduro+ commands names
 * "CHP UP/DOWN: feed card into smart encoder" without the exact frame — CHPDOWN is our reading, to be
 * confirmed on a printer). The vendor documents no reject box: a rejected card is ejected and recorded
 * spoiled. */
#define MAGICARD_EJECT   "EJT,"
#define MAGICARD_TO_CHIP "CHPDOWN,"

/* Models and their job layout (rastertoultra.c: KEE packer iff RIO_OEM or AVALON, KGE otherwise; the Enduro
 * family names its head from STA$$ field 2). The first row whose prefix matches the model name wins. */
static const struct magicard_model {
    const char *prefix;
    enum magicard_layout layout;
    bool head_from_status; /* KGE2 / KEE1 / KEE4 by STA$$ field 2, VER1.16-<firmware> */
    bool rio;              /* "KEE,RT2", overcoat area to 1025 */
} magicard_models[] = {
    {"Rio Pro XXL", MAGICARD_LAYOUT_KEE, false, true},
    {"Rio Pro", MAGICARD_LAYOUT_KGE, true, false},
    {"Rio", MAGICARD_LAYOUT_KEE, false, true},
    {"Tango", MAGICARD_LAYOUT_KEE, false, true},
};

struct magicard {
    struct printer_link link;
    char model[PRINTER_IDENT_SIZE];
    char serial[PRINTER_IDENT_SIZE];
    char firmware[16];
    const struct magicard_model *row; /* NULL: a model whose job layout we do not know */
    long head_type;
    unsigned head_position;
    uint8_t *job;
    size_t job_size;
    bool printed; /* the last job ejected its card */
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

/* REQ,INF and its STA$$ reply into *ret. */
static int magicard_query(struct magicard *m, const char *what, enum printer_disposition on_stall,
                          struct magicard_info *ret, enum printer_disposition *ret_disp, char *ret_cause)
{
    uint8_t query[MAGICARD_CMD_MAX + 16], answer[LINK_REPLY_MAX];
    struct printer_reply reply;
    int qlen = magicard_encode(MAGICARD_STATUS_QUERY, query, sizeof(query)), r;

    r = printer_link_exchange(&m->link, query, (size_t)qlen, m->link.to.command_ms, what, on_stall, answer,
                              ret_disp, ret_cause);
    if (r < 0)
        return r;
    if (magicard_parse_reply(answer, (size_t)r, &reply) < 0)
        return printer_link_fail(PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "printer sent an unreadable status after %s", what);
    if (magicard_parse_inf(reply.text, ret) < 0)
        return printer_link_fail(PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "printer answered '%.60s' to REQ,INF after %s", reply.text, what);
    return 0;
}

/* The fault of a STA$$ reply (major error, else minor), or 0. */
static int magicard_fault(const struct magicard_info *in, enum printer_disposition *ret_disp, char *ret_cause)
{
    long code = in->major > 0 ? in->major : in->minor > 0 ? in->minor : 0;
    const struct magicard_error *err;

    if (!code)
        return 0;
    err = magicard_error_lookup((unsigned)code);
    return printer_link_fail(PRINTER_ERROR_DEVICE, err->disposition, ret_disp, ret_cause, "%s (error %ld)",
                             err->cause, code);
}

/* Sends a frame (a simple command), then the status: a fault in it is the command's failure. */
static int magicard_command(struct magicard *m, const char *cmd, enum printer_disposition on_stall,
                            enum printer_disposition *ret_disp, char *ret_cause)
{
    uint8_t frame[MAGICARD_CMD_MAX + 16];
    struct magicard_info in;
    int n = magicard_encode(cmd, frame, sizeof(frame)), r;

    if (n < 0)
        return printer_link_fail(n, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause, "bad command %s",
                                 cmd);
    r = m->link.t->ops->write(m->link.t->ctx, frame, (size_t)n, m->link.to.command_ms);
    if (r < 0)
        return printer_link_fail(
            r,
            r == PRINTER_ERROR_GONE    ? PRINTER_DISPOSITION_DEVICE_GONE
            : r == PRINTER_ERROR_STALL ? on_stall
                                       : PRINTER_DISPOSITION_PAUSE_LINE,
            ret_disp, ret_cause,
            r == PRINTER_ERROR_GONE ? "printer unplugged (during %s)" : "printer did not take %s", cmd);
    r = magicard_query(m, cmd, on_stall, &in, ret_disp, ret_cause);
    return r < 0 ? r : magicard_fault(&in, ret_disp, ret_cause);
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

static void magicard_learn(struct magicard *m, const struct magicard_info *in)
{
    if (in->model[0])
        snprintf(m->model, sizeof(m->model), "%s", in->model);
    if (in->serial[0] && !m->serial[0])
        snprintf(m->serial, sizeof(m->serial), "%s", in->serial);
    snprintf(m->firmware, sizeof(m->firmware), "%s", in->firmware);
    m->head_type = in->head_type;
    m->head_position = in->head_position > 0 ? (unsigned)in->head_position : 0;
    m->row = NULL;
    for (size_t i = 0; i < sizeof(magicard_models) / sizeof(magicard_models[0]); i++)
        if (strncmp(m->model, magicard_models[i].prefix, strlen(magicard_models[i].prefix)) == 0) {
            m->row = &magicard_models[i];
            break;
        }
}

static int magicard_open(const void *config, void **ret_ctx)
{
    const struct printer_link_config *cfg = config;
    enum printer_disposition disp;
    char cause[PRINTER_CAUSE_SIZE];
    struct magicard_info in;
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
    /* the printer must answer REQ,INF: model, head type and position decide the job's layout */
    r = magicard_query(m, "status", PRINTER_DISPOSITION_PAUSE_LINE, &in, &disp, cause);
    if (r < 0) {
        free(m);
        return r;
    }
    magicard_learn(m, &in);
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
    struct magicard_info in;
    int r = magicard_query(m, "status", PRINTER_DISPOSITION_RETRY, &in, ret_disp, ret_cause);

    if (r < 0)
        return r;
    /* STA$$ has no card position and no feeder level: only error 1025 says the hopper is empty */
    ret->card = PRINTER_CARD_UNKNOWN;
    ret->feeder = in.major == 1025 || in.minor == 1025 ? 0 : -1;
    ret->ribbon_left = in.film_shots >= 0 && in.film_used >= 0 ? in.film_shots - in.film_used : -1;
    ret->cards_printed = in.cards_printed;
    /* the vendor's own test: cards since the last clean reached cards between cleans, or error 2048 */
    ret->cleaning_due = in.major == 2048 || in.minor == 2048 ||
                        (in.cards_between_clean > 0 && in.cards_since_clean >= in.cards_between_clean);
    return 0;
}

/* A card may sit at the chip station after a crash: eject it (there is no reject box to send it to). */
static int magicard_purge(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;

    m->printed = false;
    return magicard_command(m, MAGICARD_EJECT, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause);
}

/* The card is taken by CHP (chip first) or by the job; feeding checks that the printer has no fault. */
static int magicard_feed(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;
    struct magicard_info in;
    int r = magicard_query(m, "status", PRINTER_DISPOSITION_RETRY, &in, ret_disp, ret_cause);

    m->printed = false;
    return r < 0 ? r : magicard_fault(&in, ret_disp, ret_cause);
}

/* The chip window of the face as an overcoat hole in the card frame: x along the 1016 lines, y = head pixel
 * (644 - face row) counted from the bottom edge, as rastertoultra.c writes NCT (left, bottom, right, top). */
static bool magicard_hole(const struct printer_raster *r, struct magicard_hole *ret)
{
    unsigned y0, y1;

    if (!r->chip_w || !r->chip_h || r->chip_x >= PRINTER_PANEL_LINES)
        return false;
    y0 = r->chip_y;
    y1 = r->chip_y + r->chip_h - 1;
    if (y1 > PRINTER_MAGICARD_FIRST_DOT + PRINTER_MAGICARD_WIDTH - 1)
        y1 = PRINTER_MAGICARD_FIRST_DOT + PRINTER_MAGICARD_WIDTH - 1;
    if (y0 < PRINTER_MAGICARD_FIRST_DOT)
        y0 = PRINTER_MAGICARD_FIRST_DOT;
    if (y0 > y1)
        return false;
    ret->left = r->chip_x;
    ret->right =
        r->chip_x + r->chip_w - 1 < PRINTER_PANEL_LINES ? r->chip_x + r->chip_w - 1 : PRINTER_PANEL_LINES - 1;
    ret->bottom = PRINTER_MAGICARD_FIRST_DOT + PRINTER_MAGICARD_WIDTH - 1 - y1;
    ret->top = PRINTER_MAGICARD_FIRST_DOT + PRINTER_MAGICARD_WIDTH - 1 - y0;
    return true;
}

static int magicard_print(void *ctx, const struct printer_raster *r, const char *label,
                          enum printer_disposition *ret_disp, char *ret_cause)
{
    static const char *const kge_heads[] = {"KGE2", "KEE1", "KEE4"};
    struct magicard *m = ctx;
    const struct printer_keepout none = {0, 0, 0, 0};
    struct printer_panels *panels = NULL;
    struct magicard_hole hole;
    struct magicard_job_params jp = {0};
    struct magicard_info before, in;
    unsigned waited = 0;
    size_t size;
    int err, n;

    (void)label;
    if (!m->row)
        return printer_link_fail(PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "no known job layout for model '%s'", m->model);
    jp.layout = m->row->layout;
    jp.rio = m->row->rio;
    jp.head_id = m->row->head_from_status
                     ? (m->head_type >= 0 && m->head_type <= 2 ? kge_heads[m->head_type] : "KGE")
                     : "KEE";
    jp.firmware = m->row->head_from_status ? m->firmware : NULL;
    jp.head_position = m->head_position;
    jp.tdt = (uint32_t)time(NULL);
    jp.hole = magicard_hole(r, &hole) ? &hole : NULL;
    /* The tracks travel in the job header (rastertoultra.c 2127-2180) with MGVON: the printer reads the
     * stripe back itself and reports a mismatch as error 1037 (error_codes.h), which the status poll below
     * turns into REJECT_CARD. The protocol has no command that returns a track's data to the host (no
     * source shows one), so the host cannot compare the data itself. */
    if (r->mag) {
        char why[PRINTER_CAUSE_SIZE - 20];

        if (printer_mag_check(r->mag, why, sizeof(why)) < 0)
            return printer_link_fail(PRINTER_ERROR_INVALID, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                                     ret_cause, "%s", why);
        if (r->mag->track[0] && strchr(r->mag->track[0], ','))
            return printer_link_fail(PRINTER_ERROR_INVALID, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                                     ret_cause,
                                     "magnetic track 1: a ',' cannot travel in a Magicard job header");
        jp.mag = r->mag;
    }
    size = magicard_job_size(&jp);
    if (size > m->job_size) {
        free(m->job);
        m->job = malloc(size);
        m->job_size = m->job ? size : 0;
        if (!m->job)
            return printer_link_fail(PRINTER_ERROR_NOMEM, PRINTER_DISPOSITION_REJECT_CARD, ret_disp,
                                     ret_cause, "out of memory for the job");
    }
    /* the overcoat hole is the printer's (NCT): the O panel is not sent */
    err = printer_panels_split(r, &none, &panels);
    if (err < 0)
        return printer_link_fail(err, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                                 "cannot split the face into panels: %s", printer_strerror(err));
    n = magicard_encode_job(&jp, panels, m->job, m->job_size);
    printer_panels_free(panels);
    if (n < 0)
        return printer_link_fail(n, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause,
                                 "cannot encode the job");
    err = magicard_query(m, "print job", PRINTER_DISPOSITION_REJECT_CARD, &before, ret_disp, ret_cause);
    if (err < 0)
        return err;
    err = m->link.t->ops->write(m->link.t->ctx, m->job, (size_t)n, m->link.to.command_ms);
    if (err < 0)
        return printer_link_fail(err,
                                 err == PRINTER_ERROR_GONE    ? PRINTER_DISPOSITION_DEVICE_GONE
                                 : err == PRINTER_ERROR_STALL ? PRINTER_DISPOSITION_REJECT_CARD
                                                              : PRINTER_DISPOSITION_PAUSE_LINE,
                                 ret_disp, ret_cause,
                                 err == PRINTER_ERROR_GONE    ? "printer unplugged (during %s)"
                                 : err == PRINTER_ERROR_STALL ? "USB endpoint stalled during %s"
                                                              : "printer did not take %s",
                                 "print job");
    for (;;) {
        err = magicard_query(m, "print job", PRINTER_DISPOSITION_REJECT_CARD, &in, ret_disp, ret_cause);
        if (err < 0)
            return err;
        err = magicard_fault(&in, ret_disp, ret_cause);
        if (err < 0)
            return err;
        if (in.cards_printed > before.cards_printed) {
            m->printed = true;
            return 0;
        }
        if (waited >= m->link.to.print_ms)
            return printer_link_fail(PRINTER_ERROR_TIMEOUT, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp,
                                     ret_cause, "printer did not finish the print job within %u ms", waited);
        {
            unsigned step = m->link.to.print_ms - waited < MAGICARD_POLL_MS ? m->link.to.print_ms - waited
                                                                            : MAGICARD_POLL_MS;
            sleep_ms(step);
            waited += step;
        }
    }
}

static int magicard_to_encoder(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;

    return magicard_command(m, MAGICARD_TO_CHIP, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause);
}

/* A Magicard ejects the card at the end of its job (UltraDriver sends nothing after the job). */
static int magicard_eject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;

    if (m->printed) {
        m->printed = false;
        return 0;
    }
    return magicard_command(m, MAGICARD_EJECT, PRINTER_DISPOSITION_REJECT_CARD, ret_disp, ret_cause);
}

static int magicard_reject(void *ctx, enum printer_disposition *ret_disp, char *ret_cause)
{
    struct magicard *m = ctx;

    m->printed = false;
    return magicard_command(m, MAGICARD_EJECT, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause);
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
