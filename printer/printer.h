/* printer.h — card face rendering and card printer drivers (public interface of the printer library) */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Error codes: negative, in the printer library's own range (as OpenSC's errors.h groups codes by subsystem:
 * printer -1100.., photo -1200.., encoder -1300.., producer -1400..), so a code means one thing everywhere.
 */
#define PRINTER_ERROR_RANGE_MAX (-1100)
#define PRINTER_ERROR_RANGE_MIN (-1199)
enum printer_error {
    PRINTER_ERROR_INVALID = -1101, /* bad argument */
    PRINTER_ERROR_NOMEM = -1102,
    PRINTER_ERROR_IO = -1103,   /* transport failure */
    PRINTER_ERROR_FONT = -1104, /* a character of the text has no glyph in any installed font */
    PRINTER_ERROR_TIMEOUT = -1105,
    PRINTER_ERROR_DEVICE = -1106,   /* the printer reported a fault; see the disposition */
    PRINTER_ERROR_GONE = -1107,     /* device unplugged / not found */
    PRINTER_ERROR_STALL = -1108,    /* a USB endpoint stalled (the halt was cleared) */
    PRINTER_ERROR_PROTOCOL = -1109, /* the printer answered something the driver does not understand */
    PRINTER_ERROR_LAYOUT = -1110,   /* the card layout file is missing or invalid */
    PRINTER_ERROR_ACCESS = -1111,   /* no permission to open the USB device (udev rule missing) */
};

/* What the line must do after a failed operation (after CUPS backends' job dispositions). */
enum printer_disposition {
    PRINTER_DISPOSITION_OK = 0,
    PRINTER_DISPOSITION_RETRY,       /* transient; repeat the same operation */
    PRINTER_DISPOSITION_REJECT_CARD, /* this card is spoiled; reject it and go on */
    PRINTER_DISPOSITION_PAUSE_LINE,  /* an operator must act (ribbon, feeder, cover, jam, reject box) */
    PRINTER_DISPOSITION_DEVICE_GONE,
};

/* Card face geometry: full bleed at 300 dpi, landscape. */
#define PRINTER_FACE_WIDTH  1016
#define PRINTER_FACE_HEIGHT 648

/* A card face layout (positions, sizes, fonts, colours) read from a JSON data file. Immutable once loaded:
 * one layout may be shared by any number of threads. */
struct printer_layout;

/* Where the default layout file is: $CARDLINE_LAYOUT when set, else the installed
 * <datadir>/cardline/layouts/ssc-front.json when it exists, else the one in the source tree. */
const char *printer_layout_default_path(void);
/* Reads and checks a layout file (path NULL = printer_layout_default_path()). Returns 0,
 * PRINTER_ERROR_LAYOUT (missing, unreadable or invalid: ret_why, when not NULL, says which file and what
 * is wrong, at most why_size bytes), INVALID or NOMEM. *ret untouched on failure. */
int printer_layout_load(const char *path, struct printer_layout **ret, char *ret_why, size_t why_size);
void printer_layout_free(struct printer_layout *layout);

/* Everything printed on the front of one card. Strings are UTF-8. */
struct printer_face {
    const char *name;
    const char *ssn;         /* social security number, 18 characters */
    const char *card_number; /* 9 characters */
    int issue_year;
    int issue_month;       /* 1..12 */
    const char *bank_name; /* may be NULL */
    /* A temporary card (临时卡): its last valid day, YYYY-MM-DD; the face then says 临时卡 and shows it (the
     * layout's valid_until text). NULL for a regular card. */
    const char *valid_until;
    const uint8_t *photo_rgb; /* 8-bit RGB, packed rows; may be NULL (then a grey placeholder box) */
    unsigned photo_width;
    unsigned photo_height;
    /* The layout to use; NULL = read the default layout file on every call (load it once with
     * printer_layout_load() where cards are rendered in a loop). */
    const struct printer_layout *layout;
};

/* The magnetic stripe of a card (ISO/IEC 7811-2 and 7813): each track's data WITHOUT start sentinel, end
 * sentinel or LRC — the printer adds those (Evolis Pmtc, A5013 Rev E p. 51; Magicard's driver puts the
 * sentinels in, magencd.c). ISO 7813 counts sentinels and LRC in a track's length, so the data is at most
 * 79 - 3 = 76 characters on track 1, 40 - 3 = 37 on track 2 and 107 - 3 = 104 on track 3.
 *   track 1: the 6-bit alphanumeric set, 0x20..0x5F ('^' separates fields), without '%' and '?' (sentinels)
 *   track 2, 3: the 4-bit set '0'..'9' ':' '<' '=' '>' ('=' separates fields), without ';' and '?'
 * Card data: log it masked only. */
#define PRINTER_MAG_TRACKS     3
#define PRINTER_MAG_TRACK1_MAX 76
#define PRINTER_MAG_TRACK2_MAX 37
#define PRINTER_MAG_TRACK3_MAX 104
#define PRINTER_MAG_DATA_MAX   PRINTER_MAG_TRACK3_MAX

enum printer_mag_coercivity {
    PRINTER_MAG_HICO = 0, /* high coercivity (Evolis Pmc;h, Magicard COEH): the usual bank card */
    PRINTER_MAG_LOCO,     /* low coercivity (Pmc;l, COEL) */
};

struct printer_mag {
    const char *track[PRINTER_MAG_TRACKS]; /* track[0] is track 1; NULL or "" = that track is not written */
    enum printer_mag_coercivity coercivity;
};

/* Whether the tracks can be written: at least one track, each within its length and character set, a known
 * coercivity. Returns 0 or PRINTER_ERROR_INVALID; then ret_why (when not NULL, why_size bytes) names the
 * track and the position and code of the bad character (never the data itself: it is card data). */
int printer_mag_check(const struct printer_mag *mag, char *ret_why, size_t why_size);

/* A rendered face: 8-bit RGB composite plus a mask of pixels that belong on the K (resin black) panel. */
struct printer_raster {
    unsigned width;
    unsigned height;
    uint8_t *rgb;   /* width * height * 3 */
    uint8_t *kmask; /* width * height, 1 = black resin */
    /* The chip window, left clear on the overlay (O) panel; w or h 0 = overlay everywhere. */
    unsigned chip_x, chip_y, chip_w, chip_h;
    /* Magnetic tracks written with this print job, NULL = none (the renderer leaves it NULL; the caller sets
     * it and keeps it alive through printer_print()). Checked with printer_mag_check() by the drivers: an
     * invalid set fails the print with INVALID and REJECT_CARD before anything reaches the printer. The
     * Evolis and Magicard drivers write the stripe before the face and verify it (see printer_print()); the
     * simulated printer ignores it. */
    const struct printer_mag *mag;
};

const char *printer_strerror(int err);
const char *printer_disposition_name(enum printer_disposition d);

/* Render the face. Long names shrink to fit. Returns PRINTER_ERROR_LAYOUT when face->layout is NULL and the
 * default layout file cannot be read, and PRINTER_ERROR_FONT when some character
 * cannot be drawn; then, when bad_char is not NULL, the offending character is copied there as UTF-8.
 * Thread-safe: may be called from several line threads at once. */
int printer_render_face(const struct printer_face *face, struct printer_raster **ret, char bad_char[8]);
void printer_raster_free(struct printer_raster *r);
/* Whether a name can be laid out on the face (valid UTF-8, no control characters, every character has a
 * glyph) before a card is spent on it, with the default layout file. Returns 0, PRINTER_ERROR_INVALID,
 * PRINTER_ERROR_LAYOUT, or PRINTER_ERROR_FONT with bad_char set. */
int printer_check_text(const char *name, char bad_char[8]);
/* The same with a loaded layout (NULL = the default layout file). */
int printer_check_text_layout(const struct printer_layout *layout, const char *name, char bad_char[8]);
int printer_raster_write_png(const struct printer_raster *r, const char *path);

/* An opened printer. Drivers implement the operations; the line only uses these calls.
 * Each returns 0 or a PRINTER_ERROR; on failure *ret_disp (when not NULL) says what to do next
 * and ret_cause (when not NULL, size >= 128) a short human cause such as "ribbon out". */
struct printer;

struct printer_sim_config {
    const char *output_dir;  /* where each printed face is written as <card>.png; NULL = not written */
    unsigned card_ms;        /* simulated time per card (print), 0 = instant */
    unsigned fault_permille; /* chance per card of a print fault that spoils the card (0..1000) */
    unsigned seed;           /* PRNG seed for faults */
    unsigned feeder_cards;   /* blanks in the hopper; 0 = unlimited */
};

int printer_open_sim(const struct printer_sim_config *cfg, struct printer **ret);

/* Opens the printer that spec names:
 *   "sim"            the simulated printer, configured by sim (required then)
 *   "usb"            the first attached printer that a driver supports
 *   "usb:evolis"     the first attached printer of that driver ("usb:magicard" likewise)
 *   "usb:SERIAL"     the attached printer whose serial number (USB or IEEE-1284 SN) is SERIAL
 *   "usb:BUS:ADDR"   the printer at that USB bus number and device address, e.g. "usb:1:4"
 *   "emu:evolis"     a fresh emulated Evolis printer inside this process, driven by the real Evolis driver
 *                    ("emu:magicard" likewise); serial EMU-EV-<n> / EMU-MC-<n>, model "... (emulated)".
 *                    sim may be NULL; of it, feeder_cards (0 = a feeder that never runs out), card_ms
 *                    (a pause before each print) and output_dir count. With output_dir, each printed face
 *                    is written as <output_dir>/<label>.png, decoded from the panels the emulated printer
 *                    received (K as black, Y/M/C composed back into RGB). Not attached hardware: never
 *                    listed by printer_list_usb().
 *   "evolis:file:PATH" print to file: the Evolis driver writes to PATH exactly the bytes a USB printer would
 *                    receive (an emulated printer answers it); "magicard:file:PATH" likewise. sim as for
 *                    "emu:". IO when PATH cannot be created.
 * Returns 0 or PRINTER_ERROR_INVALID (bad spec), GONE (no such printer attached), ACCESS (no permission:
 * see the README's udev rule), IO, TIMEOUT, PROTOCOL or NOMEM; *ret untouched on failure. The USB drivers
 * set the printer up (Evolis: errors handled by the host; Magicard: model and head position read) but move
 * no card. */
int printer_open_spec(const char *spec, const struct printer_sim_config *sim, struct printer **ret);

const char *printer_name(const struct printer *p); /* e.g. "sim", "evolis", "magicard" */
/* Model and serial number of an opened printer ("" when unknown); never NULL. */
const char *printer_model(const struct printer *p);
const char *printer_serial(const struct printer *p);

/* One attached USB printer, as `cardline devices` lists it. */
struct printer_device_info {
    char driver[16];       /* "evolis", "magicard", or "" for a printer-class device no driver supports */
    char model[64];        /* from the IEEE-1284 device ID (MDL), else the USB product string */
    char manufacturer[64]; /* MFG, else the USB manufacturer string */
    char serial[64];       /* SN / SERN of the device ID, else the USB serial string; "" unknown */
    char spec[32];         /* what printer_open_spec() takes to open exactly this printer */
    uint16_t vendor_id;
    uint16_t product_id;
    uint8_t bus;
    uint8_t address;
    int open_error; /* 0, or why the device could not be opened to read its device ID */
};

/* Lists attached USB printers: those in a driver's id table and any of USB printer class 7. *ret_list is
 * an array of *ret_count entries to free(); an empty list is 0 with *ret_count 0. Returns 0 or
 * PRINTER_ERROR_IO / NOMEM. Opens each device briefly to read its device ID; never moves a card. */
int printer_list_usb(struct printer_device_info **ret_list, size_t *ret_count);

enum printer_card_position {
    PRINTER_CARD_NONE = 0, /* no card inside */
    PRINTER_CARD_PRINT,    /* at the print position */
    PRINTER_CARD_CONTACT,  /* at the contact (chip) station */
    PRINTER_CARD_CONTACTLESS,
    PRINTER_CARD_UNKNOWN, /* inside or not known: position not reported (Evolis ERR CARD, Magicard) */
};

/* What a printer says about itself. */
struct printer_status {
    enum printer_card_position card;
    int feeder;       /* 1 blanks present, 0 feeder empty, -1 not reported */
    long ribbon_left; /* cards (Evolis Rco;l) or film shots (Magicard STA$$ 22 - 23) left; -1 not reported */
    long cards_printed; /* the printer's own card counter; -1 not reported */
    int cleaning_due;   /* 1 the printer asks for a cleaning, 0 not, -1 not reported */
};

/* Asks the printer where the card is and whether blanks are left; never moves a card. */
int printer_get_status(struct printer *p, struct printer_status *ret, enum printer_disposition *ret_disp,
                       char *ret_cause);
/* Throw out whatever card is inside (start-up after a crash). */
int printer_purge(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause);
/* Chip first: take one blank from the hopper into the printer (to the contact station where the printer can).
 */
int printer_feed(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause);
/* Print the face on the card inside; label (card number) names the output file. With r->mag the stripe is
 * written first and verified (Evolis: read back with Smr and compared; Magicard: the printer's own verify,
 * MGVON) — a stripe that cannot be written or does not verify fails with PRINTER_ERROR_DEVICE and
 * REJECT_CARD, as a print fault that spoils the card does, with a cause starting "magnetic stripe"; an
 * invalid track set fails with INVALID and REJECT_CARD before anything is sent. Printers whose print ends by
 * ejecting (Evolis, Magicard) leave the card in the output stacker; printer_eject() then has nothing to do.
 */
int printer_print(struct printer *p, const struct printer_raster *r, const char *label,
                  enum printer_disposition *ret_disp, char *ret_cause);
/* Have the card at the contact (chip) station, to personalise it before it is printed. */
int printer_to_encoder(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause);
/* Eject to the output stacker (good card) or to the reject box (spoiled). */
int printer_eject(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause);
int printer_reject(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause);
void printer_close(struct printer *p);
