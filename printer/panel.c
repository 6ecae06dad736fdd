/* panel.c — splits a rendered face into Y, M, C, K and O panels and packs them into the printers' bit formats
 */
#include "panel.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The quarter turn: panel line l is face column l; dot 0 is the bottom row of the face. A printer that
 * feeds the other way round wants PANEL_TURN_CLOCKWISE false. */
#define PANEL_TURN_CLOCKWISE true
/* Dye polarity: true = a higher level means more dye. Kept here so one switch fixes a printer that
 * wants the opposite. (printers.md: on K a set bit means ink.) */
#define PANEL_DYE_HIGH_IS_INK true

void printer_panel_source(unsigned line, unsigned dot, unsigned *ret_x, unsigned *ret_y)
{
    *ret_x = PANEL_TURN_CLOCKWISE ? line : PRINTER_FACE_WIDTH - 1 - line;
    *ret_y = PANEL_TURN_CLOCKWISE ? PRINTER_FACE_HEIGHT - 1 - dot : dot;
}

void printer_panels_free(struct printer_panels *p)
{
    if (!p)
        return;
    free(p->y);
    free(p->m);
    free(p->c);
    free(p->k);
    free(p->o);
    free(p);
}

static uint8_t dye(uint8_t channel)
{
    return PANEL_DYE_HIGH_IS_INK ? (uint8_t)(255 - channel) : channel;
}

int printer_panels_split(const struct printer_raster *r, const struct printer_keepout *keepout,
                         struct printer_panels **ret)
{
    struct printer_panels *p;

    if (!r || !ret || !r->rgb || !r->kmask || r->width != PRINTER_FACE_WIDTH ||
        r->height != PRINTER_FACE_HEIGHT)
        return PRINTER_ERROR_INVALID;
    if (keepout &&
        (keepout->x > PRINTER_FACE_WIDTH || keepout->y > PRINTER_FACE_HEIGHT ||
         keepout->w > PRINTER_FACE_WIDTH - keepout->x || keepout->h > PRINTER_FACE_HEIGHT - keepout->y))
        return PRINTER_ERROR_INVALID;
    p = calloc(1, sizeof(*p));
    if (!p)
        return PRINTER_ERROR_NOMEM;
    p->y = malloc(PRINTER_PANEL_PIXELS);
    p->m = malloc(PRINTER_PANEL_PIXELS);
    p->c = malloc(PRINTER_PANEL_PIXELS);
    p->k = malloc(PRINTER_PANEL_PIXELS);
    p->o = malloc(PRINTER_PANEL_PIXELS);
    if (!p->y || !p->m || !p->c || !p->k || !p->o) {
        printer_panels_free(p);
        return PRINTER_ERROR_NOMEM;
    }

    /* Walk the face row by row (reads in order); each face row is one dot of every line. The mapping is
     * printer_panel_source() unrolled: a row y is dot PRINTER_FACE_HEIGHT - 1 - y (clockwise), else dot y. */
    for (unsigned y = 0; y < PRINTER_FACE_HEIGHT; y++) {
        const uint8_t *rgb = r->rgb + (size_t)y * PRINTER_FACE_WIDTH * 3,
                      *km = r->kmask + (size_t)y * PRINTER_FACE_WIDTH;
        unsigned dot = PANEL_TURN_CLOCKWISE ? PRINTER_FACE_HEIGHT - 1 - y : y;
        bool row_clear = keepout && y >= keepout->y && y < keepout->y + keepout->h;

        for (unsigned x = 0; x < PRINTER_FACE_WIDTH; x++) {
            unsigned line = PANEL_TURN_CLOCKWISE ? x : PRINTER_FACE_WIDTH - 1 - x;
            size_t i = (size_t)line * PRINTER_PANEL_DOTS + dot;
            bool resin = km[x] != 0;

            /* black text goes on K only: composite black under resin would smear its edges */
            p->y[i] = resin ? 0 : dye(rgb[x * 3 + 2]);
            p->m[i] = resin ? 0 : dye(rgb[x * 3 + 1]);
            p->c[i] = resin ? 0 : dye(rgb[x * 3 + 0]);
            p->k[i] = resin;
            p->o[i] = !(row_clear && x >= keepout->x && x < keepout->x + keepout->w);
        }
    }
    *ret = p;
    return 0;
}

size_t printer_packed_size(size_t n, unsigned bits)
{
    return (n * bits + 7) / 8;
}

void printer_pack_1bpp(const uint8_t *flags, size_t n, uint8_t *out)
{
    size_t full = n / 8;

    for (size_t b = 0; b < full; b++) {
        const uint8_t *f = flags + b * 8;

        out[b] = (uint8_t)((f[0] != 0) << 7 | (f[1] != 0) << 6 | (f[2] != 0) << 5 | (f[3] != 0) << 4 |
                           (f[4] != 0) << 3 | (f[5] != 0) << 2 | (f[6] != 0) << 1 | (f[7] != 0));
    }
    if (n % 8) {
        uint8_t last = 0;

        for (size_t i = 0; i < n % 8; i++)
            last |= (uint8_t)((flags[full * 8 + i] != 0) << (7 - i));
        out[full] = last;
    }
}

void printer_pack_levels(const uint8_t *levels, size_t n, unsigned bits, uint8_t *out)
{
    uint32_t acc = 0; /* at most 7 pending bits + 8 new ones */
    unsigned have = 0;
    size_t o = 0;

    if (bits == 8) {
        memcpy(out, levels, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        acc = acc << bits | (uint32_t)(levels[i] >> (8 - bits));
        have += bits;
        if (have >= 8) {
            have -= 8;
            out[o++] = (uint8_t)(acc >> have);
            acc &= (1u << have) - 1;
        }
    }
    if (have)
        out[o] = (uint8_t)(acc << (8 - have));
}

/* First panel dot of a Magicard row: the narrower print width sits in the middle of the face. */
#define MAGICARD_FIRST_DOT ((PRINTER_PANEL_DOTS - PRINTER_MAGICARD_WIDTH) / 2)

void printer_pack_magicard_dye(const uint8_t *levels, uint8_t *out)
{
    const size_t row_size = (size_t)PRINTER_MAGICARD_ROW_BYTES * PRINTER_MAGICARD_BITS;

    memset(out, 0, PRINTER_MAGICARD_DYE_SIZE);
    for (unsigned line = 0; line < PRINTER_PANEL_LINES; line++) {
        const uint8_t *src = levels + (size_t)line * PRINTER_PANEL_DOTS + MAGICARD_FIRST_DOT;
        uint8_t *row = out + (size_t)line * row_size;

        for (unsigned d = 0; d < PRINTER_MAGICARD_WIDTH; d++) {
            unsigned v = src[d] >> (8 - PRINTER_MAGICARD_BITS);
            uint8_t mask = (uint8_t)(0x80u >> (d % 8));

            for (unsigned plane = 0; plane < PRINTER_MAGICARD_BITS; plane++)
                if (v & (1u << plane))
                    row[(size_t)plane * PRINTER_MAGICARD_ROW_BYTES + d / 8] |= mask;
        }
    }
}

void printer_pack_magicard_k(const uint8_t *flags, uint8_t *out)
{
    memset(out, 0, PRINTER_MAGICARD_K_SIZE);
    for (unsigned line = 0; line < PRINTER_PANEL_LINES; line++) {
        const uint8_t *src = flags + (size_t)line * PRINTER_PANEL_DOTS + MAGICARD_FIRST_DOT;
        uint8_t *row = out + (size_t)line * PRINTER_MAGICARD_ROW_BYTES;

        for (unsigned d = 0; d < PRINTER_MAGICARD_WIDTH; d++)
            if (src[d])
                row[d / 8] |= (uint8_t)(0x80u >> (d % 8));
    }
}
