/* printer-private.h — the driver interface behind struct printer, shared by printer.c and the drivers */
#pragma once

#include "printer.h"

#include <stdint.h>

/* printer.h promises callers that ret_cause needs at most this many bytes, NUL included. */
#define PRINTER_CAUSE_SIZE 128

struct printer_usb_id {
    uint16_t vendor;
    uint16_t product;
};

/*
 * A printer driver (after libusb's OS backend): one const table per driver, designated initialisers.
 *
 * Every card operation below gets the ctx that open returned, and returns 0 on success or a negative
 * PRINTER_ERROR. On failure it must set *ret_disp to what the line should do next (never
 * PRINTER_DISPOSITION_OK) and write a short NUL-terminated cause of at most PRINTER_CAUSE_SIZE bytes to
 * ret_cause; on success it leaves both alone. The generic layer always passes non-NULL ret_disp and
 * ret_cause and hands them to the caller only on failure, so drivers need not check them.
 * A printer is used by one thread at a time; drivers need no locking for their ctx but must not keep
 * global state. Every wait inside an operation has a timeout.
 */
struct printer_driver {
    /* Short lower-case name shown by printer_name(), e.g. "sim". Required. */
    const char *name;

    /* USB ids the driver handles, ended by {0, 0}; NULL for drivers not on USB. */
    const struct printer_usb_id *usb_ids;

    /* Connect to the printer that config describes (a driver-specific struct) and return the driver's
     * state in *ret_ctx. Returns 0 or PRINTER_ERROR_INVALID (bad config), NOMEM, IO, TIMEOUT or GONE;
     * *ret_ctx is untouched on failure. Must not move a card. Required. */
    int (*open)(const void *config, void **ret_ctx);

    /* Throw any card inside the printer into the reject box (start-up after a crash). Returns 0 also
     * when there was no card. Required. */
    int (*purge)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

    /* Take one blank from the feeder to the print position. Fails with PRINTER_ERROR_DEVICE and
     * PAUSE_LINE when the feeder is empty or a card is already inside. Required. */
    int (*feed)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

    /* Print the face r (PRINTER_FACE_WIDTH x PRINTER_FACE_HEIGHT, already checked by the generic layer)
     * on the card at the print position; label is the card number, for drivers that name output after
     * it. The card stays at the print position, also on failure. A failure that spoils the card answers
     * REJECT_CARD. Required. */
    int (*print)(void *ctx, const struct printer_raster *r, const char *label,
                 enum printer_disposition *ret_disp, char *ret_cause);

    /* Move the card inside to the contact (chip) station; 0 if it is already there. Required. */
    int (*to_encoder)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

    /* Put the card inside into the output stacker. Fails when there is no card. Required. */
    int (*eject)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

    /* Put the card inside into the reject box. Fails when there is no card. Required. */
    int (*reject)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

    /* Disconnect and free ctx. Never fails, never moves a card. Required. */
    void (*close)(void *ctx);
};

/* The handle behind the public calls. */
struct printer {
    const struct printer_driver *drv;
    void *ctx;
};

/* Opens drv with its driver-specific config; what each printer_open_*() calls.
 * Returns 0 or a PRINTER_ERROR; *ret is untouched on failure. */
int printer_new(const struct printer_driver *drv, const void *config, struct printer **ret);

/* All drivers, each defined in its driver_*.c. */
extern const struct printer_driver printer_driver_sim;

/* What the simulated printer has done so far (for tests and the line's self-check). */
struct printer_sim_counters {
    unsigned fed;      /* blanks taken from the feeder */
    unsigned printed;  /* faces printed without fault */
    unsigned faults;   /* prints spoiled by a simulated fault */
    unsigned ejected;  /* cards in the output stacker */
    unsigned rejected; /* cards in the reject box, purged ones included */
    unsigned purged;   /* cards thrown out by purge */
};

/* Copies the counters of a printer opened with printer_open_sim(). Returns 0 or PRINTER_ERROR_INVALID
 * (p is NULL or not a simulated printer); *ret is untouched on failure. */
int printer_sim_get_counters(const struct printer *p, struct printer_sim_counters *ret);
