/* link.h — what the USB drivers share: one command/answer exchange with bounded waits and fault mapping */
#pragma once

#include "printer-private.h"
#include "transport/transport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINK_DEFAULT_COMMAND_MS 3000
#define LINK_DEFAULT_MOVE_MS    15000
#define LINK_DEFAULT_PRINT_MS   90000
#define LINK_REPLY_MAX          512 /* one bulk IN transfer: a multiple of the 64/512-byte packet size */
#define LINK_DRAIN_MS           20  /* waiting for a late answer after a timeout */

struct printer_link {
    struct printer_transport *t;
    struct printer_timeouts to; /* defaults filled in */
    bool desync;                /* an answer timed out: a late one may still come and must be dropped */
};

/* Takes the timeouts of cfg (0 = defaults) and its transport. */
void printer_link_init(struct printer_link *l, const struct printer_link_config *cfg);

/* Sets *ret_disp and a formatted cause, returns err. */
int printer_link_fail(int err, enum printer_disposition disp, enum printer_disposition *ret_disp,
                      char *ret_cause, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Sends frame and reads one answer into reply (LINK_REPLY_MAX bytes) within reply_ms. Returns the answer's
 * length or a PRINTER_ERROR with disposition and cause set: GONE -> DEVICE_GONE ("printer unplugged"),
 * no answer -> PAUSE_LINE, a stall -> on_stall (the halt is cleared), other USB errors -> PAUSE_LINE.
 * what names the command in causes. */
int printer_link_exchange(struct printer_link *l, const uint8_t *frame, size_t len, unsigned reply_ms,
                          const char *what, enum printer_disposition on_stall, uint8_t *reply,
                          enum printer_disposition *ret_disp, char *ret_cause);
