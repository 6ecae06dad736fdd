/* printer.h — card face rendering and card printer drivers (public interface of the printer library) */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum printer_error {
    PRINTER_ERROR_INVALID = -1,  /* bad argument */
    PRINTER_ERROR_NOMEM = -2,
    PRINTER_ERROR_IO = -3,       /* transport failure */
    PRINTER_ERROR_FONT = -4,     /* a character of the text has no glyph in any installed font */
    PRINTER_ERROR_TIMEOUT = -5,
    PRINTER_ERROR_DEVICE = -6,   /* the printer reported a fault; see the disposition */
    PRINTER_ERROR_GONE = -7,     /* device unplugged / not found */
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
#define PRINTER_FACE_WIDTH 1016
#define PRINTER_FACE_HEIGHT 648

/* Everything printed on the front of one card. Strings are UTF-8. */
struct printer_face {
    const char *name;
    const char *ssn;          /* social security number, 18 characters */
    const char *card_number;  /* 9 characters */
    int issue_year;
    int issue_month;          /* 1..12 */
    const char *bank_name;    /* may be NULL */
    const uint8_t *photo_rgb; /* 8-bit RGB, packed rows; may be NULL (then a grey placeholder box) */
    unsigned photo_width;
    unsigned photo_height;
};

/* A rendered face: 8-bit RGB composite plus a mask of pixels that belong on the K (resin black) panel. */
struct printer_raster {
    unsigned width;
    unsigned height;
    uint8_t *rgb;    /* width * height * 3 */
    uint8_t *kmask;  /* width * height, 1 = black resin */
};

const char *printer_strerror(int err);
const char *printer_disposition_name(enum printer_disposition d);

/* Render the face. Long names shrink to fit. Returns PRINTER_ERROR_FONT when some character
 * cannot be drawn; then, when bad_char is not NULL, the offending character is copied there as UTF-8.
 * Thread-safe: may be called from several line threads at once. */
int printer_render_face(const struct printer_face *face, struct printer_raster **ret, char bad_char[8]);
void printer_raster_free(struct printer_raster *r);
/* Whether a name can be laid out on the face (valid UTF-8, no control characters, every character has a glyph)
 * before a card is spent on it. Returns 0, PRINTER_ERROR_INVALID, or PRINTER_ERROR_FONT with bad_char set. */
int printer_check_text(const char *name, char bad_char[8]);
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
const char *printer_name(const struct printer *p); /* e.g. "sim" */

/* Throw out whatever card is inside (start-up after a crash). */
int printer_purge(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause);
/* Pull one blank from the hopper to the print position. */
int printer_feed(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause);
/* Print the face on the card at the print position; label (card number) names the output file. */
int printer_print(struct printer *p, const struct printer_raster *r, const char *label,
                  enum printer_disposition *ret_disp, char *ret_cause);
/* Move the card to the contact (chip) station. */
int printer_to_encoder(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause);
/* Eject to the output stacker (good card) or to the reject box (spoiled). */
int printer_eject(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause);
int printer_reject(struct printer *p, enum printer_disposition *ret_disp, char *ret_cause);
void printer_close(struct printer *p);
