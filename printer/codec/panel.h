/* panel.h — YMCKO panels from a rendered face, and the bit packings the printers take (pure functions) */
#pragma once

#include "printer.h"

#include <stdbool.h>
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

/* Magicard rows (rastertoultra.c 6152-6681): the print head has 672 dots, a full-bleed image 642 of them,
 * taken from panel dots 3..644 (image pixel p = panel dot p + 3). A colour row is PRINTER_MAGICARD_BITS
 * bit-planes (bit j of the 6-bit level in plane j, lowest first), each one K-sized row. */
#define PRINTER_MAGICARD_WIDTH         642
#define PRINTER_MAGICARD_FIRST_DOT     ((PRINTER_PANEL_DOTS - PRINTER_MAGICARD_WIDTH) / 2)
#define PRINTER_MAGICARD_HEAD_DOTS     672
#define PRINTER_MAGICARD_KEE_ROW       84 /* Rio/Tango/XXL: 21 32-bit words */
#define PRINTER_MAGICARD_KGE_ROW       96 /* Rio Pro/Enduro: 24 32-bit words, 288-dot interleave */
#define PRINTER_MAGICARD_BITS          6
#define MAGICARD_HEAD_POSITION_DEFAULT 50
#define MAGICARD_HEAD_POSITION_MIN     35
#define MAGICARD_HEAD_POSITION_MAX     65

/* Packs one dye panel (PRINTER_PANEL_PIXELS levels, the top 6 bits used) as Magicard bit-plane rows into out:
 * KEE (kge false: 84-byte rows, image pixel p at head dot margin + 1 + p, MSB first) or KGE (96-byte rows,
 * head dot a = margin + p, a < 288 at even bits of words 6.., the rest at odd bits of words 0.., MSB first
 * after the vendor's bit reversal). Returns the bytes written: 1016 * 6 * row bytes. */
size_t printer_pack_magicard_dye(const uint8_t *levels, bool kge, unsigned margin, uint8_t *out);
/* The same for one 1-bit panel (nonzero = set): 1016 * row bytes. */
size_t printer_pack_magicard_k(const uint8_t *flags, bool kge, unsigned margin, uint8_t *out);
