/* file.c — print to file: a transport that copies every byte a driver writes to a file (exactly what the
 * printer's bulk OUT endpoint would receive) and passes everything on to the transport it wraps */
#include "transport/transport.h"

#include <stdio.h>
#include <stdlib.h>

struct file_link {
    struct printer_transport *inner; /* owned from a successful printer_transport_file_new() on */
    FILE *file;
};

static int file_write(void *ctx, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    struct file_link *l = ctx;

    /* chunk by chunk, each to the file before the printer takes it: when the printer fails, the file ends
     * with the chunk it failed on */
    for (size_t off = 0; off < len; off += PRINTER_USB_CHUNK) {
        size_t n = len - off < PRINTER_USB_CHUNK ? len - off : PRINTER_USB_CHUNK;
        int r;

        if (fwrite(data + off, 1, n, l->file) != n || fflush(l->file) != 0)
            return PRINTER_ERROR_IO;
        r = l->inner->ops->write(l->inner->ctx, data + off, n, timeout_ms);
        if (r < 0)
            return r;
    }
    return 0;
}

static int file_read(void *ctx, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
    struct file_link *l = ctx;

    return l->inner->ops->read(l->inner->ctx, buf, cap, timeout_ms);
}

static int file_device_id(void *ctx, char *buf, size_t size, unsigned timeout_ms)
{
    struct file_link *l = ctx;

    if (!l->inner->ops->device_id)
        return PRINTER_ERROR_IO;
    return l->inner->ops->device_id(l->inner->ctx, buf, size, timeout_ms);
}

static void file_close(void *ctx)
{
    struct file_link *l = ctx;

    fclose(l->file);
    printer_transport_free(l->inner);
    free(l);
}

static const struct printer_transport_ops file_ops = {
    .write = file_write,
    .read = file_read,
    .device_id = file_device_id,
    .close = file_close,
};

int printer_transport_file_new(struct printer_transport *inner, const char *path,
                               struct printer_transport **ret)
{
    struct printer_transport *t;
    struct file_link *l;

    if (!inner || !path || !ret)
        return PRINTER_ERROR_INVALID;
    t = calloc(1, sizeof(*t));
    l = calloc(1, sizeof(*l));
    if (!t || !l) {
        free(t);
        free(l);
        return PRINTER_ERROR_NOMEM;
    }
    l->file = fopen(path, "wbe");
    if (!l->file) {
        free(t);
        free(l);
        return PRINTER_ERROR_IO;
    }
    l->inner = inner;
    t->ops = &file_ops;
    t->ctx = l;
    *ret = t;
    return 0;
}
