/* face-private.h — the card layout as loaded from its data file, face geometry and name fitting; shared by
 * the renderer (render/) and the printer library's tests */
#pragma once

#include "printer.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FACE_TEXTS_MAX   16  /* text items on one face */
#define FACE_FAMILY_MAX  128 /* a Pango family list */
#define FACE_LITERAL_MAX 128 /* fixed text (a title, a label), UTF-8 */

struct face_cache;

/* An axis-aligned rectangle in face pixels (origin top-left, 300 dpi). */
struct printer_face_rect {
    double x;
    double y;
    double w;
    double h;
};

/* What a text item prints: fixed text from the layout, or one field of the card. */
enum face_field {
    FACE_FIELD_LITERAL = 0,
    FACE_FIELD_NAME,
    FACE_FIELD_SSN,
    FACE_FIELD_CARD_NUMBER,
    FACE_FIELD_ISSUE_DATE,
    FACE_FIELD_BANK,
    FACE_FIELD_VALID_UNTIL, /* temporary cards only: "临时卡 有效期至 YYYY年MM月DD日" */
};

/* Where and how one piece of text goes. */
struct face_slot {
    enum face_field field;
    char text[FACE_LITERAL_MAX];  /* FACE_FIELD_LITERAL only */
    struct printer_face_rect box; /* the text never leaves this box */
    double baseline;              /* of a single line, in face pixels */
    char family[FACE_FAMILY_MAX]; /* Pango family list */
    int weight;                   /* CSS/Pango weight, 100..1000 */
    double size;                  /* em size in pixels */
    double min_size;              /* shrink stepwise down to this before condensing */
    double min_hscale;            /* then condense horizontally down to this before two lines (if allowed) */
    bool two_lines;               /* may go to two lines (names) */
    bool align_right;
    bool justify;    /* spread the characters over the box width */
    uint32_t colour; /* 0xRRGGBB, as all colours here */
    bool resin;      /* black text: printed on the K panel */
};

/* The whole layout, as the data file gives it. */
struct printer_layout {
    uint32_t paper; /* unprinted card: the chip keep-out shows this */
    uint32_t body_top;
    uint32_t body_bottom;
    double band_height; /* header band behind the title */
    uint32_t band_left;
    uint32_t band_right;
    double rule_y; /* accent rule under the band */
    double rule_height;
    uint32_t rule;
    int wave_count; /* pale security-style waves across the body */
    double wave_y;
    double wave_pitch;
    double wave_amplitude;
    int wave_period; /* pixels */
    int wave_shift;  /* horizontal offset from one wave to the next, pixels */
    double wave_width;
    uint32_t wave;
    struct printer_face_rect chip; /* never printed, no overlay */
    double chip_radius;
    struct printer_face_rect photo;
    double photo_frame_width; /* drawn outside the window */
    uint32_t photo_frame;
    uint32_t photo_mat;                     /* behind a photo whose aspect differs from the window */
    uint32_t photo_placeholder;             /* no photo */
    double shrink_step;                     /* pixels per font shrink step */
    double name_wrap_size;                  /* em size of a name on two lines */
    double name_wrap_min_size;              /* two lines shrink down to this to fit the box height */
    double name_wrap_line_spacing;          /* baseline distance as a factor of the em size */
    struct face_slot texts[FACE_TEXTS_MAX]; /* drawn in this order */
    size_t n_texts;
    /* What every card of this layout shows, drawn by the first card rendered with it (cache.c); NULL
     * until then. Set once, atomically: the layout stays shareable between threads. */
    _Atomic(struct face_cache *) cache;
};

/* Parses a layout from JSON text (name is the file name used in messages). Returns 0 or
 * PRINTER_ERROR_LAYOUT with why set (at most why_size bytes), or NOMEM. Pure; fuzzed. */
int printer_layout_parse(const char *json, size_t len, const char *name, struct printer_layout **ret,
                         char *ret_why, size_t why_size);

/* Frees a layout's drawn static layer (printer_layout_free() calls it); accepts NULL. */
void printer_face_cache_free(struct face_cache *cache);

/* printer_render_face() drawn the straightforward way, every layer of the card in order on full-size
 * surfaces, without the layout's static layer: the reference the tests compare the fast way with. */
int printer_render_face_reference(const struct printer_face *face, struct printer_raster **ret,
                                  char bad_char[8]);
/* printer_render_face() from the layout's static layer only (face->layout must be set): returns 1 and
 * leaves *ret alone when this card cannot be drawn that way (printer_render_face() then draws it the
 * straightforward way). For the tests, which must know the fast way ran. */
int printer_render_face_cached(const struct printer_face *face, struct printer_raster **ret,
                               char bad_char[8]);
/* How many texts that come back card after card (banks, dates) the layout keeps as drawn (for the tests). */
size_t printer_face_kept_texts(const struct printer_layout *layout);
/* Whether photos of width x height are resampled by resample.c's replica of cairo's GOOD filter in this
 * layout (it is used only where it was found to give cairo's very pixels on this system). */
bool printer_face_photo_replicated(const struct printer_layout *layout, unsigned width, unsigned height);

/* The slot of a field in the layout, or NULL. */
const struct face_slot *printer_layout_slot(const struct printer_layout *layout, enum face_field field);

enum printer_face_area {
    PRINTER_FACE_AREA_CHIP,        /* ISO 7816-2 contact plate plus margin; never printed */
    PRINTER_FACE_AREA_PHOTO,       /* the photo window */
    PRINTER_FACE_AREA_NAME,        /* box the name value is fitted into */
    PRINTER_FACE_AREA_SSN,         /* box of the social security number value */
    PRINTER_FACE_AREA_CARD_NUMBER, /* box of the card number value */
    PRINTER_FACE_AREA_ISSUE_DATE,  /* box of the issue date value */
    PRINTER_FACE_AREA_BANK,        /* box of the bank name */
};

/* Copies the rectangle of one area of the layout into *ret. Returns 0 or PRINTER_ERROR_INVALID. */
int printer_face_area(const struct printer_layout *layout, enum printer_face_area area,
                      struct printer_face_rect *ret);

/* Lays the name out exactly as printer_render_face() does and returns in *ret_ink the rectangle its
 * ink covers on the face. Errors as printer_render_face(), including PRINTER_ERROR_FONT with bad_char. */
int printer_face_measure_name(const struct printer_layout *layout, const char *name,
                              struct printer_face_rect *ret_ink, char bad_char[8]);
