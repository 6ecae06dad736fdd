/* card_content.c — an application as the printer and the chip get it: one pure function each, used by the
 * line, `cardline render` and `cardline chip` */
#include "line/line.h"

#include "encoder.h"
#include "photo.h"
#include "printer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The chip's card generation and spec version (the blanks the bureau buys). */
#define CHIP_CARD_TYPE    '3'
#define CHIP_SPEC_VERSION "3.00"

/* YYYY-MM-DD or YYYYMMDD -> YYYYMMDD; anything else (also "") -> "". */
static void compact_date(const char *d, char out[9])
{
    size_t n = d ? strlen(d) : 0;

    if (n == 10 && d[4] == '-' && d[7] == '-')
        snprintf(out, 9, "%.4s%.2s%.2s", d, d + 5, d + 8);
    else if (n == 8)
        snprintf(out, 9, "%s", d);
    else
        out[0] = '\0';
}

void line_card_chip(const struct line_card_source *s, struct encoder_card_data *ret)
{
    memset(ret, 0, sizeof(*ret));
    snprintf(ret->region_code, sizeof(ret->region_code), "%s", s->region_code ? s->region_code : "");
    ret->card_type = CHIP_CARD_TYPE;
    snprintf(ret->spec_version, sizeof(ret->spec_version), CHIP_SPEC_VERSION);
    snprintf(ret->card_number, sizeof(ret->card_number), "%s", s->card_number ? s->card_number : "");
    compact_date(s->issue_date, ret->issue_date);
    compact_date(s->expiry_date, ret->expiry_date);
    snprintf(ret->ssn, sizeof(ret->ssn), "%s", s->ssn ? s->ssn : "");
    ret->name = s->name;
    ret->sex = s->sex;
    ret->ethnicity = (unsigned)s->ethnicity;
    snprintf(ret->birth_place, sizeof(ret->birth_place), "%s", s->birth_place ? s->birth_place : "");
    compact_date(s->birth_date, ret->birth_date);
}

void line_card_face(const struct line_card_source *s, const struct printer_layout *layout,
                    const struct photo_image *photo, struct printer_face *ret)
{
    char issue[9];

    memset(ret, 0, sizeof(*ret));
    compact_date(s->issue_date, issue);
    ret->name = s->name;
    ret->ssn = s->ssn;
    ret->card_number = s->card_number;
    /* YYYYMMDD: the year, then the month */
    ret->issue_month = issue[0] ? atoi(issue + 4) / 100 : 0;
    issue[4] = '\0';
    ret->issue_year = atoi(issue);
    ret->bank_name = s->bank_name && s->bank_name[0] ? s->bank_name : NULL;
    /* the measures: a temporary card shows its validity on the face, the same date as in the chip */
    ret->valid_until = s->temporary && s->expiry_date && strlen(s->expiry_date) == 10 ? s->expiry_date : NULL;
    if (photo) {
        ret->photo_rgb = photo->rgb;
        ret->photo_width = photo->width;
        ret->photo_height = photo->height;
    }
    ret->layout = layout;
}

void line_card_source_of_claim(const struct producer_claim *c, const char *card_number,
                               const char *region_code, struct line_card_source *ret)
{
    const struct producer_app *a = &c->app;

    *ret = (struct line_card_source){.name = a->name,
                                     .ssn = a->ssn,
                                     .sex = a->sex,
                                     .ethnicity = a->ethnicity,
                                     .birth_place = a->birth_place,
                                     .birth_date = a->birth_date,
                                     .bank_name = a->bank_name,
                                     .card_number = card_number,
                                     .issue_date = c->issue_date,
                                     .expiry_date = c->expiry_date,
                                     .region_code = region_code,
                                     .temporary = strcmp(a->kind, "temporary") == 0};
}
