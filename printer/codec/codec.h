/* codec.h — the Evolis and Magicard wire formats: frames, panel downloads, replies and faults (pure
 * functions) */
#pragma once

#include "codec/panel.h"
#include "printer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A printer fault and what the line does about it. Tables of these are the drivers' quirk data. */
struct printer_fault {
    const char *match; /* Evolis: the whole reply text as the guide documents it */
    const char *cause; /* what operators read */
    enum printer_disposition disposition;
};

#define PRINTER_REPLY_MAX 384 /* longest reply text kept (longer ones are cut); a STA$$ reply is ~200 */

enum printer_reply_kind {
    PRINTER_REPLY_OK = 0, /* exactly "OK": the command was done */
    PRINTER_REPLY_VALUE,  /* any other text: an answer to a query, or a failure the caller names */
};

struct printer_reply {
    enum printer_reply_kind kind;
    char text[PRINTER_REPLY_MAX]; /* printable ASCII, trimmed */
};

/* --- Evolis: ESC command CR ------------------------------------------------------------------------------
 */

#define EVOLIS_ESC     0x1b
#define EVOLIS_CR      0x0d
#define EVOLIS_CMD_MAX 128 /* longest command text (without ESC and CR) the driver sends: Dm;3;<104> */

/* Frames cmd (printable ASCII, no ESC/CR) as ESC cmd CR into out. Returns the frame length or
 * PRINTER_ERROR_INVALID (bad command, or out too small). */
int evolis_encode(const char *cmd, uint8_t *out, size_t size);

/* The `Db` parameter for bits per pixel: 1 -> 2, 5 -> 32, 6 -> 64, 7 -> 128; 0 for other depths. */
unsigned evolis_bits_code(unsigned bits);
/* Size of a whole panel download frame (ESC "Db;p;code;" data CR) at bits per pixel; 0 if bits is
 * unsupported. */
size_t evolis_panel_frame_size(unsigned bits);
/* Frames one panel download: panel is 'y', 'm', 'c', 'k' or 'o'; samples are PRINTER_PANEL_PIXELS levels
 * (bits 5..7) or flags (bits 1). Returns the frame length or PRINTER_ERROR_INVALID. */
int evolis_encode_panel(char panel, unsigned bits, const uint8_t *samples, uint8_t *out, size_t size);

/* Parses one reply (printable text, ended by NUL, CR or LF; Parallel.pm reads up to a NUL). Returns 0 or
 * PRINTER_ERROR_PROTOCOL (empty, or not printable text). Only exactly "OK" is PRINTER_REPLY_OK. */
int evolis_parse_reply(const uint8_t *buf, size_t len, struct printer_reply *ret);
/* The fault of a reply text that the Programming Guide documents (Rev E p. 34: "ERR NEED CLEANING"), NULL
 * for any other text: the caller then fails with the text itself. */
const struct printer_fault *evolis_reply_fault(const char *text);
/* The card position from the text of a `Rlr;p` reply (Rev E p. 34): "NO CARD" = none, "ERR CARD" = a card
 * inside (where is not said: PRINTER_CARD_UNKNOWN). Returns 0 or PRINTER_ERROR_PROTOCOL for any other text.
 */
int evolis_parse_position(const char *text, enum printer_card_position *ret);
/* A decimal counter reply (`Rco;p`, `Rco;l` ...): *ret the value. Returns 0 or PRINTER_ERROR_PROTOCOL. */
int evolis_parse_counter(const char *text, long *ret);

/* --- Magicard: 0x05 guards, 0x01, fields, 0x1C, 0x03 (UltraDriver command.h, selphy_print) -------------- */

#define MAGICARD_GUARD      0x05
#define MAGICARD_SOH        0x01
#define MAGICARD_FS         0x1c
#define MAGICARD_ETX        0x03
#define MAGICARD_CMD_GUARDS 9  /* selphy_print magicard_build_cmd / _simple: 9 x 0x05 */
#define MAGICARD_JOB_GUARDS 64 /* UltraDriver magigen.h NUMBER_05S */
#define MAGICARD_CMD_MAX    64
/* The status request (rastertoultra.c: REQ,INF answered by the positional STA$$ reply). */
#define MAGICARD_STATUS_QUERY "REQ,INF,"

/* Frames a command ("REQ,INF,", "EJT,") as 9 x 0x05, 0x01, cmd, 0x1C, 0x03 into out. Returns the frame
 * length or PRINTER_ERROR_INVALID. */
int magicard_encode(const char *cmd, uint8_t *out, size_t size);

/* Row packers (rastertoultra.c format_printhead_data): KEE for Rio/Tango/XXL/Avalon, KGE for the Rio Pro and
 * Enduro family. */
enum magicard_layout {
    MAGICARD_LAYOUT_KEE, /* 84-byte bit-plane rows, image from head dot margin + 1 */
    MAGICARD_LAYOUT_KGE, /* 96-byte rows, 288-dot interleave, image from head dot margin */
};

/* An overcoat hole in the 1016 x 642 card frame: left, bottom, right, top (rastertoultra.c NCT). */
struct magicard_hole {
    unsigned left, bottom, right, top;
};

/* What a print job depends on; the driver fills it from its model table and the printer's STA$$ reply. */
struct magicard_job_params {
    enum magicard_layout layout;
    const char *head_id;              /* "KEE", "KGE2", "KEE1", ... (rastertoultra.c 2217-2242) */
    bool rio;                         /* KEE family: ",RT2" after the head id, overcoat area to x 1025 */
    const char *firmware;             /* Enduro family: VER1.16-<firmware>; NULL or "" = VER1.16 */
    unsigned head_position;           /* STA$$ field 16; 0 = the vendor default 50 */
    uint32_t tdt;                     /* the job's time stamp (TDT, 8 hex digits) */
    const struct magicard_hole *hole; /* NULL = overcoat everywhere */
    /* Magnetic tracks (already checked with printer_mag_check(), no ',' in track 1); NULL = none. In the
     * header after TDT, as rastertoultra.c 2127-2180 writes them: MGVON, (the printer verifies what it
     * wrote), COEH,|COEL, then per track MAG<n>,<start sentinel><data>?, (sentinels as magencd.c puts
     * them: '%' track 1, ';' tracks 2 and 3, '?' end; ISO density and bits per character are the
     * printer's defaults, so no BPI/MPC fields). */
    const struct printer_mag *mag;
};

/* The Magicard header fields for the tracks (see magicard_job_params.mag) into out: "" for NULL. Returns
 * the length or PRINTER_ERROR_INVALID (invalid tracks, a ',' in a track, out too small). */
int magicard_mag_fields(const struct printer_mag *mag, char *out, size_t size);

/* Evolis magnetic commands (A5013 Rev E pp. 49-55): the track download "Dm;<n>;<data>" for track n (1..3)
 * into out. Returns the length or PRINTER_ERROR_INVALID (bad track number or data, out too small). */
int evolis_mag_download(unsigned track, const char *data, char *out, size_t size);
/* Whether the text of an `Smr;<n>` reply is the data written on track n (1..3). Rev E p. 55 does not give
 * the reply's format: the data itself, or framed by the track's sentinels ('%' or ';' ... '?'), are taken;
 * spaces at either end are compared loosely because a reply cannot carry them (evolis_parse_reply trims). */
bool evolis_mag_verify(unsigned track, const char *written, const char *reply_text);

/* The row margin from the head position: 65 - clamp(position, 35, 65) (rastertoultra.c 6152-6167). */
unsigned magicard_margin(unsigned head_position);
/* Bytes of one plane row for the layout: 84 (KEE) or 96 (KGE). */
size_t magicard_row_bytes(enum magicard_layout layout);
/* Size of the print job for one YMCK face with these parameters; 0 when they are invalid. */
size_t magicard_job_size(const struct magicard_job_params *params);
/* Frames the print job: 64 x 0x05, 0x01, the header (vendor order, no comma before 0x1C), 0x1C, then for
 * B, G, R (from Y, M, C) and K each plane's data followed by 0x1C <letter> ':', then 0x03. Returns the
 * length or PRINTER_ERROR_INVALID. */
int magicard_encode_job(const struct magicard_job_params *params, const struct printer_panels *panels,
                        uint8_t *out, size_t size);

/* A vendor error code (UltraDriver error_codes.h) and what the line does about it. */
struct magicard_error {
    unsigned code;
    const char *cause;
    enum printer_disposition disposition;
};
/* The row of code in the vendor table; an unknown nonzero code gets a generic row (cause "printer error"). */
const struct magicard_error *magicard_error_lookup(unsigned code);

/* The fields of a STA$$ reply (rastertoultra.c ParseEnduroStatus), by position; -1 = not in the reply. */
struct magicard_info {
    long model_number;        /* field 0 */
    char model[32];           /* field 1 */
    long head_type;           /* field 2: 0 KGE2, 1 KEE1, 2 KEE4 */
    char serial[32];          /* field 3 */
    char firmware[16];        /* field 6 */
    long cards_printed;       /* field 9 */
    long cleans;              /* field 12 */
    long cards_since_clean;   /* field 14 */
    long cards_between_clean; /* field 15 */
    long head_position;       /* field 16 */
    long major;               /* field 19 */
    long minor;               /* field 20 */
    long film_shots;          /* field 22 */
    long film_used;           /* field 23 */
};
/* Parses the text of a reply (after 0x01) that starts "STA$$": fields separated by ',' or ':'. Returns 0
 * or PRINTER_ERROR_PROTOCOL (not a STA$$ reply, or fields 0..20 missing). */
int magicard_parse_inf(const char *text, struct magicard_info *ret);
/* Parses a reply frame (0x01, text, optional ',' or 0x1C, 0x03). Returns 0 or PRINTER_ERROR_PROTOCOL. */
int magicard_parse_reply(const uint8_t *buf, size_t len, struct printer_reply *ret);
