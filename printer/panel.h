/* panel.h — YMCKO panels from a rendered face, and the bit packings the printers take (pure functions) */
#pragma once

#include "printer.h"

#include <stddef.h>
#include <stdint.h>

/* A panel is sent as PRINTER_PANEL_LINES lines of PRINTER_PANEL_DOTS dots: the face turned a quarter turn,
 * each line one column of the face (printers.md: Evolis 1016 lines of 648 dots). This is the one constant
 * a real printer confirms; Nb = PRINTER_PANEL_LINES * PRINTER_PANEL_DOTS * bits / 8. */
#define PRINTER_PANEL_LINES  PRINTER_FACE_WIDTH
#define PRINTER_PANEL_DOTS   PRINTER_FACE_HEIGHT
#define PRINTER_PANEL_PIXELS ((size_t)PRINTER_PANEL_LINES * PRINTER_PANEL_DOTS)

/* The panels of one face, each PRINTER_PANEL_PIXELS samples in line order (line 0 first, dot 0 first).
 * y, m, c: ink amount 0 (none) .. 255 (full), nothing under resin black; k: 1 = resin; o: 1 = overlay. */
struct printer_panels {
    uint8_t *y;
    uint8_t *m;
    uint8_t *c;
    uint8_t *k;
    uint8_t *o;
};

/* A rectangle of the face that gets no overlay (the chip contacts), in face pixels; w or h 0 = none. */
struct printer_keepout {
    unsigned x;
    unsigned y;
    unsigned w;
    unsigned h;
};

/* Face pixel (x, y) that lands on panel line `line`, dot `dot`: the quarter turn and its direction live
 * here only. */
void printer_panel_source(unsigned line, unsigned dot, unsigned *ret_x, unsigned *ret_y);

/* Splits r (PRINTER_FACE_WIDTH x PRINTER_FACE_HEIGHT) into panels; the overlay leaves keepout (may be
 * NULL) clear. Returns 0, PRINTER_ERROR_INVALID or NOMEM; *ret untouched on failure. */
int printer_panels_split(const struct printer_raster *r, const struct printer_keepout *keepout,
                         struct printer_panels **ret);
void printer_panels_free(struct printer_panels *p);

/* Bytes that n samples take at bits per sample, packed without padding. */
size_t printer_packed_size(size_t n, unsigned bits);
/* Packs n 1-bit flags (nonzero = set) MSB first without padding into out (printer_packed_size(n, 1)). */
void printer_pack_1bpp(const uint8_t *flags, size_t n, uint8_t *out);
/* Packs the top `bits` (1..8) bits of n 8-bit levels MSB first without padding into out. */
void printer_pack_levels(const uint8_t *levels, size_t n, unsigned bits, uint8_t *out);

/* Magicard rows: PRINTER_MAGICARD_WIDTH dots of a panel line (centred), padded to a row of
 * PRINTER_MAGICARD_ROW_DOTS; a colour row is PRINTER_MAGICARD_BITS bit-planes of row bytes each, lowest
 * bit first. */
#define PRINTER_MAGICARD_WIDTH     642
#define PRINTER_MAGICARD_ROW_DOTS  672
#define PRINTER_MAGICARD_ROW_BYTES (PRINTER_MAGICARD_ROW_DOTS / 8)
#define PRINTER_MAGICARD_BITS      6
#define PRINTER_MAGICARD_DYE_SIZE                                                                            \
    ((size_t)PRINTER_PANEL_LINES * PRINTER_MAGICARD_ROW_BYTES * PRINTER_MAGICARD_BITS)
#define PRINTER_MAGICARD_K_SIZE ((size_t)PRINTER_PANEL_LINES * PRINTER_MAGICARD_ROW_BYTES)

/* Packs one dye panel (PRINTER_PANEL_PIXELS levels) as Magicard bit-planes into out
 * (PRINTER_MAGICARD_DYE_SIZE bytes). */
void printer_pack_magicard_dye(const uint8_t *levels, uint8_t *out);
/* Packs one 1-bit panel (PRINTER_PANEL_PIXELS flags) as Magicard rows into out (PRINTER_MAGICARD_K_SIZE). */
void printer_pack_magicard_k(const uint8_t *flags, uint8_t *out);
