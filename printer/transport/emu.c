/* emu.c — the byte pipe to an in-process emulated printer (emulator.h), so the real Evolis and
 * Magicard drivers run without USB; with print to file, behind the file transport (file.c) */
#include "emulator/emulator.h"
#include "printer-private.h"
#include "transport/transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The emulator's errno-style results as the transport contract's PRINTER_ERRORs. */
static int emu_error(int r)
{
    switch (r) {
    case -ENODEV:
        return PRINTER_ERROR_GONE;
    case -EPIPE:
        return PRINTER_ERROR_STALL; /* the emulator clears its own halt */
    default:
        return r < 0 ? PRINTER_ERROR_IO : r;
    }
}

struct emu_link {
    struct printer_emulator *emu;
};

static int emu_write(void *ctx, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    struct emu_link *l = ctx;

    (void)timeout_ms; /* the emulator takes every transfer at once */
    for (size_t off = 0; off < len; off += PRINTER_USB_CHUNK) {
        size_t n = len - off < PRINTER_USB_CHUNK ? len - off : PRINTER_USB_CHUNK;
        int r;

        r = printer_emulator_write(l->emu, data + off, n);
        if (r < 0)
            return emu_error(r);
    }
    return 0;
}

static int emu_read(void *ctx, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
    int r = printer_emulator_read(((struct emu_link *)ctx)->emu, buf, cap);

    /* the emulator answers while it takes the command: nothing pending now means nothing will come, so
     * waiting out timeout_ms would only slow the line down */
    (void)timeout_ms;
    if (r == 0)
        return PRINTER_ERROR_TIMEOUT;
    return emu_error(r);
}

static int emu_device_id(void *ctx, char *buf, size_t size, unsigned timeout_ms)
{
    int n;

    struct printer_emulator *emu = ((struct emu_link *)ctx)->emu;

    (void)timeout_ms;
    if (printer_emulator_unplugged(emu))
        return PRINTER_ERROR_GONE;
    n = snprintf(buf, size, "%s", printer_emulator_device_id(emu));
    return n < 0 || (size_t)n >= size ? PRINTER_ERROR_IO : 0;
}

static void emu_close(void *ctx)
{
    struct emu_link *l = ctx;

    /* the emulator stays its owner's */
    free(l);
}

static const struct printer_transport_ops emu_ops = {
    .write = emu_write,
    .read = emu_read,
    .device_id = emu_device_id,
    .close = emu_close,
};

int printer_transport_emu_new(struct printer_emulator *emu, struct printer_transport **ret)
{
    struct printer_transport *t;
    struct emu_link *l;

    if (!emu || !ret)
        return PRINTER_ERROR_INVALID;
    t = calloc(1, sizeof(*t));
    l = calloc(1, sizeof(*l));
    if (!t || !l) {
        free(t);
        free(l);
        return PRINTER_ERROR_NOMEM;
    }
    l->emu = emu;
    t->ops = &emu_ops;
    t->ctx = l;
    *ret = t;
    return 0;
}

int printer_transport_emu_file_new(struct printer_emulator *emu, const char *path,
                                   struct printer_transport **ret)
{
    struct printer_transport *t, *f;
    int r;

    if (!emu || !ret)
        return PRINTER_ERROR_INVALID;
    r = printer_transport_emu_new(emu, &t);
    if (r < 0 || !path) {
        if (r == 0)
            *ret = t;
        return r;
    }
    r = printer_transport_file_new(t, path, &f);
    if (r < 0) {
        printer_transport_free(t);
        return r;
    }
    *ret = f;
    return 0;
}
