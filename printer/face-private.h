/* face-private.h — face geometry and name fitting, shared by face.c and the printer library's tests */
#pragma once

#include "printer.h"

/* An axis-aligned rectangle in face pixels (origin top-left, 300 dpi). */
struct printer_face_rect {
    double x;
    double y;
    double w;
    double h;
};

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
int printer_face_area(enum printer_face_area area, struct printer_face_rect *ret);

/* Lays the name out exactly as printer_render_face() does and returns in *ret_ink the rectangle its
 * ink covers on the face. Errors as printer_render_face(), including PRINTER_ERROR_FONT with bad_char. */
int printer_face_measure_name(const char *name, struct printer_face_rect *ret_ink, char bad_char[8]);
