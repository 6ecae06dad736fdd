/* printer-private.h — the driver interface behind struct printer, shared by printer.c and the drivers */
#pragma once

#include "printer.h"

#include <stdbool.h>
#include <stdint.h>

/* Marks a message that producer/ translates where it shows it to a person (tests/lint/po.sh collects these);
 * the library itself stays English and free of gettext. */
#ifndef N_
#define N_(msgid) msgid
#endif

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

    /* Where the card is, whether the feeder has blanks, ribbon left, cards printed and cleaning due, into
     * *ret: the generic layer pre-fills every field with "not reported" (UNKNOWN / -1) and the driver sets
     * what its printer reports; *ret is not used on failure. Moves no card. Required. */
    int (*status)(void *ctx, struct printer_status *ret, enum printer_disposition *ret_disp, char *ret_cause);

    /* Copies the model and serial number (each at most PRINTER_IDENT_SIZE bytes, NUL included; "" when
     * unknown). Never fails. NULL for drivers that know neither. */
    void (*identify)(const void *ctx, char *ret_model, char *ret_serial);

    /* Throw any card inside the printer into the reject box (start-up after a crash). Returns 0 also
     * when there was no card. Required. */
    int (*purge)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

    /* Chip first: take one blank from the feeder into the printer — to the contact station where the printer
     * can (Evolis Sis), or only check that it can when the printer takes the card itself with the next move
     * (Magicard: CHP or the job). Fails with PRINTER_ERROR_DEVICE and PAUSE_LINE when the feeder is empty, a
     * cleaning is due or a card is already inside. Required. */
    int (*feed)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

    /* Print the face r (PRINTER_FACE_WIDTH x PRINTER_FACE_HEIGHT, already checked by the generic layer)
     * on the card inside (a personalised card at the contact station goes back under the head, or the
     * printer feeds one); label is the card number, for drivers that name output after it. Printers whose
     * print sequence ends by ejecting (Evolis Se, a Magicard job) leave the card in the output stacker;
     * otherwise it stays at the print position. On failure the card stays inside; a failure that spoils
     * it answers REJECT_CARD. Required. */
    int (*print)(void *ctx, const struct printer_raster *r, const char *label,
                 enum printer_disposition *ret_disp, char *ret_cause);

    /* Make sure the card is at the contact (chip) station; 0 if it is already there (chip first: before
     * print). Required. */
    int (*to_encoder)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

    /* Put the printed card into the output stacker; 0 when the print already did. Fails when there is no
     * card. Required. */
    int (*eject)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

    /* Put the card inside into the reject box (a printer without one, such as the Magicard, ejects it and
     * the line records it spoiled). Required. */
    int (*reject)(void *ctx, enum printer_disposition *ret_disp, char *ret_cause);

    /* Disconnect and free ctx. Never fails, never moves a card. Required. */
    void (*close)(void *ctx);
};

#define PRINTER_IDENT_SIZE 64

/* The handle behind the public calls. */
struct printer {
    const struct printer_driver *drv;
    void *ctx;
    char model[PRINTER_IDENT_SIZE];
    char serial[PRINTER_IDENT_SIZE];
};

/* Opens drv with its driver-specific config; what each printer_open_*() calls.
 * Returns 0 or a PRINTER_ERROR; *ret is untouched on failure. */
int printer_new(const struct printer_driver *drv, const void *config, struct printer **ret);

/* All drivers, each defined in drivers/<name>.c. */
extern const struct printer_driver printer_driver_sim;
extern const struct printer_driver printer_driver_evolis;
extern const struct printer_driver printer_driver_magicard;
/* The drivers of printers on USB, ended by NULL: the one table enumeration and printer_open_spec() use. */
extern const struct printer_driver *const printer_usb_drivers[];

/* How long the USB drivers wait for an answer, by kind of command; 0 = the driver's default. Real
 * printers take tens of seconds to print a YMCKO face; tests use a few hundred milliseconds. */
struct printer_timeouts {
    unsigned command_ms; /* settings and status queries */
    unsigned move_ms;    /* feed, move to the contact station, eject, reject */
    unsigned print_ms;   /* a whole print (the answer to the last panel / the job) */
};

struct printer_transport;

/* The config the USB drivers' open() takes. */
struct printer_link_config {
    struct printer_transport *transport; /* the driver owns it from a successful open on */
    uint16_t product_id;                 /* selects model quirks */
    const char *device_id;               /* IEEE-1284 device ID, "" unknown */
    const char *usb_serial;              /* "" unknown */
    struct printer_timeouts timeouts;
    unsigned colour_bits; /* Evolis dye depth 5..7; 0 = from the driver's model table */
};

struct printer_emulator;

/* A transport to an in-process emulated printer (emulator.h): writes go to the emulator in chunks of
 * PRINTER_USB_CHUNK, a read takes its pending answer at once (none pending is TIMEOUT straight away: the
 * emulator answers while it takes a command, so waiting could not help). emu stays the caller's and must
 * outlive the transport. Returns 0, INVALID or NOMEM; *ret untouched on failure. */
int printer_transport_emu_new(struct printer_emulator *emu, struct printer_transport **ret);
/* The same, and every byte written also goes to the file at path (created or truncated): what a USB printer
 * would receive, byte for byte. Returns 0, INVALID, NOMEM or IO (the file cannot be created). */
int printer_transport_emu_file_new(struct printer_emulator *emu, const char *path,
                                   struct printer_transport **ret);

/* Opens a fresh emulated printer (the "emu:" specs) for driver "evolis" or "magicard": the real driver
 * over printer_transport_emu_new(), the emulator owned by the printer and freed by printer_close(). sim
 * (NULL = defaults) gives feeder_cards (0 = a large feeder), card_ms (a pause before each print) and
 * output_dir (each printed face, decoded from the panels the emulator received, as <label>.png); its
 * fault settings are not used. timeouts NULL = the driver's defaults. Returns 0 or INVALID (unknown
 * driver, bad sim settings), IO (output_dir is not a directory), NOMEM; *ret untouched on failure. */
int printer_open_emu(const char *driver, const struct printer_sim_config *sim,
                     const struct printer_timeouts *timeouts, struct printer **ret);
/* Print to file (the "evolis:file:PATH" and "magicard:file:PATH" specs): printer_open_emu() whose transport
 * also writes every byte the driver sends to path, exactly what a USB printer would receive; the emulator
 * answers, so the driver runs its whole protocol. Returns as printer_open_emu(), or IO when path cannot be
 * created. */
int printer_open_file(const char *driver, const char *path, const struct printer_sim_config *sim,
                      const struct printer_timeouts *timeouts, struct printer **ret);
/* The emulator inside a printer that printer_open_emu() opened, NULL for any other printer; for tests,
 * which may read and change its state between operations. */
struct printer_emulator *printer_emu_emulator(const struct printer *p);

/* printer_open_spec() with explicit timeouts (NULL = defaults); for tests. */
int printer_open_spec_timeouts(const char *spec, const struct printer_sim_config *sim,
                               const struct printer_timeouts *timeouts, struct printer **ret);

/* The value of KEY in an IEEE-1284 device ID ("MFG:Evolis;MDL:Primacy;SN:123;"), copied into out
 * (size bytes, NUL included). Accepts the long key names too (MANUFACTURER, MODEL, SERIALNUMBER...).
 * Returns 0, or PRINTER_ERROR_INVALID when the key is absent. Pure; fuzzed. */
int printer_device_id_field(const char *device_id, const char *key, char *out, size_t size);

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

/* Faces written by the simulated and emulated printers (drivers/faces.c): <dir>/<label>.png, through a
 * temporary name so that a reader never sees half a file. */
#define PRINTER_FACE_DIR_MAX   1024 /* output_dir, NUL included */
#define PRINTER_FACE_LABEL_MAX 64   /* a card number is 9 characters; room for test labels */
/* The directory exists and leaves room for "/." + label + ".png.tmp". Returns 0, INVALID or IO. */
int printer_face_dir_check(const char *dir);
/* A label becomes a file name: only [A-Za-z0-9_-], so it can never leave the directory or be hidden. */
bool printer_face_label_valid(const char *label);
int printer_face_write(const char *dir, const char *label, const struct printer_raster *r);
/* Sleeps ms milliseconds, resuming after signals (the simulated mechanical time of a device). */
void printer_sleep_ms(unsigned ms);
