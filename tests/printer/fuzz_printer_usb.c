/* fuzz_printer_usb.c — fuzz target for the USB read path of the printer drivers: the IEEE-1284 device ID as
 * it comes from GET_DEVICE_ID, then every bulk IN answer the Evolis or Magicard driver reads through the link
 * layer, over a whole card (open, status, purge, feed, print, to the encoder, eject or reject), from an
 * in-memory transport fed by the input.
 *
 * Input: a flags byte (bit 0 Magicard instead of Evolis, bit 1 reject instead of eject, high nibble 1: print
 * a face — one flags value in sixteen, as rendering the panels of a face costs a hundred times the rest),
 * then the GET_DEVICE_ID answer as [length byte][bytes], then one entry per read: a byte c, then c answer
 * bytes when c < 0xF0; 0xF0..0xF3 make that read fail with TIMEOUT, STALL, GONE or IO. Reads past the end
 * time out. */
#include "fuzz.h"
#include "printer-private.h"
#include "transport/transport.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct feed {
    const uint8_t *p;
    size_t left;
    size_t written; /* bytes the driver sent, for a sanity bound */
};

static int feed_write(void *ctx, const uint8_t *buf, size_t len, unsigned timeout_ms)
{
    struct feed *f = ctx;

    (void)timeout_ms;
    CHECK(buf != NULL || len == 0);
    f->written += len;
    return 0;
}

static int feed_read(void *ctx, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
    static const int errors[] = {PRINTER_ERROR_TIMEOUT, PRINTER_ERROR_STALL, PRINTER_ERROR_GONE,
                                 PRINTER_ERROR_IO};
    struct feed *f = ctx;
    size_t n;

    (void)timeout_ms;
    if (f->left == 0)
        return PRINTER_ERROR_TIMEOUT;
    n = f->p[0];
    f->p++;
    f->left--;
    if (n >= 0xF0)
        return errors[(n - 0xF0) % 4];
    if (n > f->left)
        n = f->left;
    /* one bulk transfer never gives more than was asked for */
    if (n > cap)
        n = cap;
    memcpy(buf, f->p, n);
    f->p += n;
    f->left -= n;
    return (int)n;
}

static void feed_close(void *ctx)
{
    (void)ctx; /* the feed lives on the caller's stack */
}

static const struct printer_transport_ops feed_ops = {
    .write = feed_write,
    .read = feed_read,
    .close = feed_close,
};

/* A blank face: the drivers' panel splitting and encoding run on it as on any other. */
static const struct printer_raster *blank_face(void)
{
    static struct printer_raster r;

    if (!r.rgb) {
        r.width = PRINTER_FACE_WIDTH;
        r.height = PRINTER_FACE_HEIGHT;
        r.rgb = malloc((size_t)r.width * r.height * 3);
        r.kmask = calloc((size_t)r.width * r.height, 1);
        CHECK(r.rgb && r.kmask);
        memset(r.rgb, 0xFF, (size_t)r.width * r.height * 3);
        r.chip_x = 90, r.chip_y = 230, r.chip_w = 130, r.chip_h = 110;
    }
    return &r;
}

/* Every failure says what to do and why; a disposition is never OK on failure. */
static void check_result(int r, enum printer_disposition disp, const char *cause)
{
    if (r == 0)
        return;
    CHECK(r < 0);
    CHECK(disp != PRINTER_DISPOSITION_OK);
    CHECK(cause[0] != '\0' && strnlen(cause, PRINTER_CAUSE_SIZE) < PRINTER_CAUSE_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct feed f = {0};
    struct printer_transport *t;
    struct printer_link_config cfg = {0};
    struct printer *p = NULL;
    struct printer_status st;
    enum printer_disposition disp;
    char device_id[1024], cause[PRINTER_CAUSE_SIZE];
    size_t idlen, n;
    uint8_t flags;
    int r;

    if (size < 2)
        return 0;
    flags = data[0];
    idlen = data[1];
    data += 2;
    size -= 2;
    if (idlen > size)
        idlen = size;
    n = printer_usb_device_id_decode(data, idlen, device_id, sizeof(device_id));
    CHECK(n < sizeof(device_id) && strlen(device_id) == n);
    for (size_t i = 0; i < n; i++)
        CHECK(device_id[i] >= 0x20 && device_id[i] < 0x7f);
    f.p = data + idlen;
    f.left = size - idlen;

    t = calloc(1, sizeof(*t));
    if (!t)
        return 0;
    t->ops = &feed_ops;
    t->ctx = &f;
    cfg.transport = t;
    cfg.product_id = 0;
    cfg.device_id = device_id;
    cfg.usb_serial = "FUZZ";
    /* short waits: a busy printer is polled once, not for seconds */
    cfg.timeouts = (struct printer_timeouts){.command_ms = 1, .move_ms = 1, .print_ms = 1};
    r = printer_new(flags & 1 ? &printer_driver_magicard : &printer_driver_evolis, &cfg, &p);
    if (r < 0) {
        printer_transport_free(t);
        return 0;
    }
    CHECK(strnlen(printer_model(p), PRINTER_IDENT_SIZE) < PRINTER_IDENT_SIZE);
    CHECK(strnlen(printer_serial(p), PRINTER_IDENT_SIZE) < PRINTER_IDENT_SIZE);

#define STEP(call)                                                                                           \
    do {                                                                                                     \
        disp = PRINTER_DISPOSITION_OK;                                                                       \
        cause[0] = '\0';                                                                                     \
        r = (call);                                                                                          \
        check_result(r, disp, cause);                                                                        \
    } while (0)
    STEP(printer_get_status(p, &st, &disp, cause));
    if (r == 0)
        CHECK(st.card >= PRINTER_CARD_NONE && st.card <= PRINTER_CARD_UNKNOWN && st.feeder >= -1 &&
              st.feeder <= 1);
    STEP(printer_purge(p, &disp, cause));
    STEP(printer_feed(p, &disp, cause));
    if ((flags & 0xF0) == 0x10)
        STEP(printer_print(p, blank_face(), "A00000017", &disp, cause));
    STEP(printer_to_encoder(p, &disp, cause));
    if (flags & 2)
        STEP(printer_reject(p, &disp, cause));
    else
        STEP(printer_eject(p, &disp, cause));
#undef STEP
    printer_close(p);
    return 0;
}
