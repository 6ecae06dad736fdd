/* codec.h — the Evolis and Magicard wire formats: frames, panel downloads, replies and faults (pure
 * functions) */
#pragma once

#include "panel.h"
#include "printer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A printer fault and what the line does about it. Tables of these are the drivers' quirk data. */
struct printer_fault {
    const char *match; /* word (Evolis: prefix of a word after ERROR) or phrase (Magicard) in the reply */
    const char *cause; /* what operators read */
    enum printer_disposition disposition;
};

#define PRINTER_REPLY_MAX 128 /* longest reply text kept (longer ones are cut) */

enum printer_reply_kind {
    PRINTER_REPLY_OK = 0, /* the command was done */
    PRINTER_REPLY_VALUE,  /* an answer to a query */
    PRINTER_REPLY_ERROR,  /* a NACK; fault says why */
};

struct printer_reply {
    enum printer_reply_kind kind;
    char text[PRINTER_REPLY_MAX];      /* printable ASCII, trimmed */
    const struct printer_fault *fault; /* ERROR only; never NULL then */
};

/* --- Evolis: ESC command CR ------------------------------------------------------------------------------
 */

#define EVOLIS_ESC     0x1b
#define EVOLIS_CR      0x0d
#define EVOLIS_CMD_MAX 64 /* longest command text (without ESC and CR) the driver sends */

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

/* Parses one reply. Returns 0 or PRINTER_ERROR_PROTOCOL (empty, or not printable text). */
int evolis_parse_reply(const uint8_t *buf, size_t len, struct printer_reply *ret);
/* The card position from the text of a `Rlr;p` reply. Returns 0 or PRINTER_ERROR_PROTOCOL. */
int evolis_parse_position(const char *text, enum printer_card_position *ret);
/* Whether the feeder has cards from the text of a `Rse;f` reply ("5,00 Volts"): *ret 1 or 0. Returns 0 or
 * PRINTER_ERROR_PROTOCOL. */
int evolis_parse_feeder(const char *text, int *ret);

/* --- Magicard: 0x05 x 9, 0x01, fields, 0x1C, 0x03 ----------------------------------------------------------
 */

#define MAGICARD_GUARD        0x05
#define MAGICARD_SOH          0x01
#define MAGICARD_FS           0x1c
#define MAGICARD_ETX          0x03
#define MAGICARD_CMD_GUARDS   9
#define MAGICARD_JOB_GUARDS   64
#define MAGICARD_CMD_MAX      64
#define MAGICARD_STATUS_QUERY "REQ,STA,MSR,"

/* Frames a command ("EJT,", "REQ,STA,MSR,") into out. Returns the frame length or PRINTER_ERROR_INVALID. */
int magicard_encode(const char *cmd, uint8_t *out, size_t size);
/* Size of the print job for one YMCKO face. */
size_t magicard_job_size(void);
/* Frames the print job for panels (B, G, R bit-planes from Y, M, C; K; overlay on) into out. Returns the
 * length or PRINTER_ERROR_INVALID. */
int magicard_encode_job(const struct printer_panels *panels, uint8_t *out, size_t size);

/* What a Magicard status reply says. */
struct magicard_status {
    const struct printer_fault *fault; /* NULL when the printer is fine */
    bool busy;
    enum printer_card_position card;
    int feeder; /* 1, 0 empty, -1 not said */
};
/* Parses a reply frame (0x01, fields, terminator). Returns 0 or PRINTER_ERROR_PROTOCOL. */
int magicard_parse_reply(const uint8_t *buf, size_t len, struct printer_reply *ret);
/* Reads the status out of the text of a status reply. Returns 0 or PRINTER_ERROR_PROTOCOL. */
int magicard_parse_status(const char *text, struct magicard_status *ret);
