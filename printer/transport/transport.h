/* transport.h — the byte pipe a printer driver talks through: libusb for real printers, anything for tests */
#pragma once

#include "printer-private.h"

#include <stddef.h>
#include <stdint.h>

/* Largest single bulk write; longer data goes in chunks of this size (printers.md). */
#define PRINTER_USB_CHUNK (64 * 1024)

/*
 * A transport (after libusb's backend table): one const ops table per kind. Every call returns a
 * negative PRINTER_ERROR on failure: GONE when the device went away (unplugged), TIMEOUT when the
 * device did not take or give data within timeout_ms, STALL when an endpoint stalled (the transport
 * has cleared the halt before returning), IO for anything else. Each call waits at most about
 * timeout_ms per chunk: none blocks without a bound.
 */
struct printer_transport_ops {
    /* Writes all len bytes to the printer, in chunks of at most PRINTER_USB_CHUNK. Returns 0 or an
     * error; on error an unknown prefix of data may have arrived. Required. */
    int (*write)(void *ctx, const uint8_t *data, size_t len, unsigned timeout_ms);

    /* Reads one answer (one transfer, at most cap bytes) into buf. Returns the number of bytes (>= 0)
     * or an error; TIMEOUT when nothing came. Required. */
    int (*read)(void *ctx, uint8_t *buf, size_t cap, unsigned timeout_ms);

    /* Copies the IEEE-1284 device ID (without its 2-byte length) as a NUL-terminated string into buf.
     * Returns 0 or an error. Optional (NULL). */
    int (*device_id)(void *ctx, char *buf, size_t size, unsigned timeout_ms);

    /* Releases the device and frees ctx. Never fails. Required. */
    void (*close)(void *ctx);
};

struct printer_transport {
    const struct printer_transport_ops *ops;
    void *ctx;
};

/* Closes the transport and frees t; accepts NULL. */
void printer_transport_free(struct printer_transport *t);

/* Print to file: a transport that writes every byte to the file at path (created or truncated), chunk by
 * chunk before inner takes it, and otherwise is inner. Takes inner over on success (closing the new
 * transport closes inner); inner stays the caller's on failure. Returns 0, INVALID, NOMEM or IO (the file
 * cannot be created); *ret untouched on failure. */
int printer_transport_file_new(struct printer_transport *inner, const char *path,
                               struct printer_transport **ret);

/* The answer to the USB printer class GET_DEVICE_ID request (len bytes: a 2-byte big-endian length, with or
 * without itself counted, then the ID) as a NUL-terminated string of printable ASCII in out (size bytes);
 * anything else becomes '?', and only the bytes that arrived count. Returns the string's length. Pure
 * (fuzzed). */
size_t printer_usb_device_id_decode(const uint8_t *buf, size_t len, char *out, size_t size);

/* What to open on USB. */
struct printer_usb_match {
    const char *driver; /* only devices in this driver's id table; NULL = any supported driver */
    const char *serial; /* only this serial number (USB string or IEEE-1284 SN); NULL = any */
    int bus;            /* with address: only this device; 0 = any */
    int address;
};

/* Finds the first matching printer, detaches a kernel driver (usblp) from its printer interface, claims
 * it and takes the bulk endpoints from its descriptors. On success *ret_transport is the open transport,
 * *ret_driver the driver for it, and ret_link (when not NULL) is filled with product id, device ID and
 * serial (strings point into *ret_transport, valid until it is freed). Returns 0, GONE (nothing
 * matching attached), ACCESS, IO or NOMEM; outputs untouched on failure. */
int printer_usb_open(const struct printer_usb_match *match, const struct printer_driver **ret_driver,
                     struct printer_transport **ret_transport, struct printer_link_config *ret_link);
