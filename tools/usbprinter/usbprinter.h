/* usbprinter.h — an emulated Evolis or Magicard card printer: parses what the host sends, keeps the machine's
 * state, answers like the real thing; sits behind umockdev's usbdevfs ioctl handler (usbprinter_testbed) or
 * any transport */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USBPRINTER_EVOLIS_VENDOR    0x0f49
#define USBPRINTER_EVOLIS_PRODUCT   0x1001
#define USBPRINTER_MAGICARD_VENDOR  0x0c1f
#define USBPRINTER_MAGICARD_PRODUCT 0x1800

enum usbprinter_kind {
    USBPRINTER_EVOLIS,
    USBPRINTER_MAGICARD,
};

enum usbprinter_position {
    USBPRINTER_CARD_NONE,
    USBPRINTER_CARD_PRINT,
    USBPRINTER_CARD_CONTACT,
};

/* The machine. Tests read it and change it between operations. */
struct usbprinter_state {
    unsigned feeder; /* blanks in the feeder */
    unsigned ribbon; /* YMCKO panel sets (cards) left on the ribbon */
    bool cover_open;
    bool jam_next_print; /* the next print jams the card inside */
    bool jammed;         /* a card is stuck: every move fails until cleared */
    bool reject_full;    /* the reject box takes no more cards */
    enum usbprinter_position position;
    unsigned printed;  /* cards printed */
    unsigned ejected;  /* cards in the output stacker */
    unsigned rejected; /* cards in the reject box */
};

/* Link faults, injected between operations. */
enum usbprinter_fault {
    USBPRINTER_FAULT_NONE,
    USBPRINTER_FAULT_STALL,  /* the next bulk OUT transfer stalls (once) */
    USBPRINTER_FAULT_MUTE,   /* the printer stops answering (the host must time out) */
    USBPRINTER_FAULT_UNPLUG, /* unplugged once `after_bytes` more bytes have arrived */
};

struct usbprinter;

/* A new printer with a full feeder and ribbon. serial goes into the device ID. NULL on out of memory. */
struct usbprinter *usbprinter_new(enum usbprinter_kind kind, const char *serial);
void usbprinter_free(struct usbprinter *p);

void usbprinter_get_state(struct usbprinter *p, struct usbprinter_state *ret);
void usbprinter_set_state(struct usbprinter *p, const struct usbprinter_state *state);
void usbprinter_set_fault(struct usbprinter *p, enum usbprinter_fault fault, size_t after_bytes);

/* A bulk OUT transfer. Returns 0, -EPIPE (stalled) or -ENODEV (unplugged). */
int usbprinter_write(struct usbprinter *p, const uint8_t *data, size_t len);
/* A bulk IN transfer: moves the oldest pending answer (at most cap bytes) into buf. Returns its length, 0
 * when there is none yet, or -ENODEV. */
int usbprinter_read(struct usbprinter *p, uint8_t *buf, size_t cap);
bool usbprinter_unplugged(struct usbprinter *p);

/* IEEE-1284 device ID, e.g. "MFG:Evolis;MDL:Primacy;CMD:...;SN:...;" */
const char *usbprinter_device_id(const struct usbprinter *p);
uint16_t usbprinter_vendor(const struct usbprinter *p);
uint16_t usbprinter_product(const struct usbprinter *p);
const char *usbprinter_serial(const struct usbprinter *p);
const char *usbprinter_product_name(const struct usbprinter *p);
const char *usbprinter_manufacturer(const struct usbprinter *p);

/* Every byte received since creation or the last call; the caller frees. *ret_len 0 and NULL when none. */
uint8_t *usbprinter_take_received(struct usbprinter *p, size_t *ret_len);
