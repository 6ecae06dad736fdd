/* emulator.h — strict emulated Evolis and Magicard card printers, written from the vendors' documents (Evolis
 * A5013 Rev E; Magicard UltraDriver and selphy_print) and sharing no code or constants with printer/'s
 * drivers: they refuse what a real printer would refuse; behind the in-process transport (the "emu:" and
 * "file:" specs) or umockdev's usbdevfs ioctl handler (tools/usbprinter) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRINTER_EMULATOR_EVOLIS_VENDOR    0x0f49
#define PRINTER_EMULATOR_EVOLIS_PRODUCT   0x1001
#define PRINTER_EMULATOR_MAGICARD_VENDOR  0x0c1f
#define PRINTER_EMULATOR_MAGICARD_PRODUCT 0x1800

/* Longest track data a printer takes, sentinels and LRC not counted: ISO 7813 track 3 is 107 characters
 * with them. */
#define PRINTER_EMULATOR_TRACK_MAX 104

enum printer_emulator_kind {
    PRINTER_EMULATOR_EVOLIS,
    PRINTER_EMULATOR_MAGICARD,
};

enum printer_emulator_position {
    PRINTER_EMULATOR_CARD_NONE,
    PRINTER_EMULATOR_CARD_PRINT,
    PRINTER_EMULATOR_CARD_CONTACT,
};

/* The machine. Tests read it and change it between operations. */
struct printer_emulator_state {
    unsigned feeder;        /* blanks in the feeder */
    unsigned ribbon;        /* YMCKO panel sets (cards) left on the ribbon / film */
    bool cleaning_due;      /* Evolis: Rlr;r answers ERR NEED CLEANING; Magicard: minor error 2048 */
    unsigned head_position; /* Magicard STA$$ field 16 (drives the row margin); 0 = 50 */
    bool cover_open;
    bool jam_next_print; /* the next print jams the card inside */
    bool jammed;         /* a card is stuck: every move fails until cleared */
    bool reject_full;    /* the reject box takes no more cards */
    enum printer_emulator_position position;
    unsigned printed;  /* cards printed */
    unsigned ejected;  /* cards in the output stacker */
    unsigned rejected; /* cards in the reject box */
    unsigned refused;  /* commands and jobs refused as a real printer would (wrong order, size, framing...) */
    /* The magnetic stripe. Fault switches, each for the next stripe write only: mag_fail_next = the write
     * fails (Evolis: Smw answers an error; Magicard: the job stops with error 1037); mag_corrupt_next = the
     * write "succeeds" but the stripe holds other data (Evolis: Smr reads it; Magicard: its own verify,
     * MGVON, reports 1037). */
    bool mag_fail_next;
    bool mag_corrupt_next;
    char stripe[3][PRINTER_EMULATOR_TRACK_MAX + 1]; /* tracks on the card inside or last out, without
                                                      sentinels; "" = blank; a new card starts blank */
    unsigned stripes_written;                       /* stripe writes that succeeded */
};

/* Link faults, injected between operations. */
enum printer_emulator_fault {
    PRINTER_EMULATOR_FAULT_NONE,
    PRINTER_EMULATOR_FAULT_STALL,  /* the next bulk OUT transfer stalls (once) */
    PRINTER_EMULATOR_FAULT_MUTE,   /* the printer stops answering (the host must time out) */
    PRINTER_EMULATOR_FAULT_UNPLUG, /* unplugged once `after_bytes` more bytes have arrived */
};

struct printer_emulator;

/* A new printer with a full feeder and ribbon. serial goes into the device ID. NULL on out of memory. The
 * Evolis is a Primacy, the Magicard a Rio Pro (KGE rows, head type 0 = KGE2). */
struct printer_emulator *printer_emulator_new(enum printer_emulator_kind kind, const char *serial);
/* The same with a Magicard model: "Rio Pro" (KGE, 96-byte rows) or "Rio Pro XXL" (KEE, 84-byte rows); the
 * printer accepts only jobs laid out for its model. NULL for another model or kind, or out of memory. */
struct printer_emulator *printer_emulator_new_model(enum printer_emulator_kind kind, const char *model,
                                                    const char *serial);
/* Why the printer last refused something ("" if never), copied into out (size bytes). */
void printer_emulator_last_refusal(struct printer_emulator *p, char *out, size_t size);
void printer_emulator_free(struct printer_emulator *p);

void printer_emulator_get_state(struct printer_emulator *p, struct printer_emulator_state *ret);
void printer_emulator_set_state(struct printer_emulator *p, const struct printer_emulator_state *state);
void printer_emulator_set_fault(struct printer_emulator *p, enum printer_emulator_fault fault,
                                size_t after_bytes);

/* A bulk OUT transfer. Returns 0, -EPIPE (stalled) or -ENODEV (unplugged). */
int printer_emulator_write(struct printer_emulator *p, const uint8_t *data, size_t len);
/* A bulk IN transfer: moves the oldest pending answer (at most cap bytes) into buf. Returns its length, 0
 * when there is none yet, or -ENODEV. */
int printer_emulator_read(struct printer_emulator *p, uint8_t *buf, size_t cap);
bool printer_emulator_unplugged(struct printer_emulator *p);

/* IEEE-1284 device ID, e.g. "MFG:Evolis;MDL:Primacy;CMD:...;SN:...;" */
const char *printer_emulator_device_id(const struct printer_emulator *p);
uint16_t printer_emulator_vendor(const struct printer_emulator *p);
uint16_t printer_emulator_product(const struct printer_emulator *p);
const char *printer_emulator_serial(const struct printer_emulator *p);
const char *printer_emulator_product_name(const struct printer_emulator *p);
const char *printer_emulator_manufacturer(const struct printer_emulator *p);

/* Every byte received since creation or the last call (at most 16 MiB are kept); the caller frees. *ret_len 0
 * and NULL when none. */
uint8_t *printer_emulator_take_received(struct printer_emulator *p, size_t *ret_len);
/* Whether received bytes are kept for printer_emulator_take_received (on at creation). A long-running
 * emulated line turns it off; turning it off drops what was kept. */
void printer_emulator_keep_received(struct printer_emulator *p, bool keep);

/* Whether the printer keeps what it prints (off at creation). When on, every print that succeeds is decoded
 * from the panels received — the K panel as black, the Y/M/C dye panels composed back into RGB (dye
 * 0 = white), the overlay left out — into a face as the card shows it. Returns 0, or -ENOMEM (then it stays
 * off). */
int printer_emulator_capture_faces(struct printer_emulator *p, bool on);
/* The face of the last successful print since the previous call, as PRINTER_FACE_WIDTH x
 * PRINTER_FACE_HEIGHT packed 8-bit RGB rows; the caller frees. NULL when capture is off, nothing was printed
 * since. The face is read back with the emulator's own decoding: Evolis line l = face column l, dot d = face
 * row 647 - d (Printer-EVOLIS evolis-driver.pl); Magicard line l = face column l, image pixel p = face row
 * 644 - p (the 642 printable rows), rows as the model's layout puts them. */
uint8_t *printer_emulator_take_face(struct printer_emulator *p);
