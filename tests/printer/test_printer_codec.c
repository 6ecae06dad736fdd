/* test_printer_codec.c — byte-exact vectors for panel splitting, bit packing, Evolis and Magicard frames,
 * replies, device IDs and the layout file */
#include "codec/codec.h"
#include "render/face-private.h"
#include "codec/panel.h"
#include "printer-private.h"
#include "printer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_panel_sizes(void **state)
{
    (void)state;
    /* printers.md: Nb = 648 * 1016 * bits / 8 */
    assert_int_equal(PRINTER_PANEL_LINES, 1016);
    assert_int_equal(PRINTER_PANEL_DOTS, 648);
    assert_int_equal(printer_packed_size(PRINTER_PANEL_PIXELS, 1), 82296);
    assert_int_equal(printer_packed_size(PRINTER_PANEL_PIXELS, 5), 411480);
    assert_int_equal(printer_packed_size(PRINTER_PANEL_PIXELS, 6), 493776);
    assert_int_equal(printer_packed_size(PRINTER_PANEL_PIXELS, 7), 576072);
    assert_int_equal(evolis_panel_frame_size(1), strlen("\x1b"
                                                        "Db;k;2;") +
                                                     82296 + 1);
    assert_int_equal(evolis_panel_frame_size(6), strlen("\x1b"
                                                        "Db;y;64;") +
                                                     493776 + 1);
    assert_int_equal(evolis_panel_frame_size(7), strlen("\x1b"
                                                        "Db;y;128;") +
                                                     576072 + 1);
    assert_int_equal(evolis_panel_frame_size(8), 0);
    /* rastertoultra.c: KEE rows 21 words, KGE rows 24 words */
    assert_int_equal(magicard_row_bytes(MAGICARD_LAYOUT_KEE), 84);
    assert_int_equal(magicard_row_bytes(MAGICARD_LAYOUT_KGE), 96);
    /* margin = 65 - clamp(head position, 35, 65); 0 = the default 50 */
    assert_int_equal(magicard_margin(0), 15);
    assert_int_equal(magicard_margin(50), 15);
    assert_int_equal(magicard_margin(40), 25);
    assert_int_equal(magicard_margin(10), 30);
    assert_int_equal(magicard_margin(99), 0);
}

static void test_pack_1bpp(void **state)
{
    const uint8_t flags[12] = {1, 0, 1, 0, 0, 0, 0, 1, 7, 7, 0, 1};
    uint8_t out[2] = {0xee, 0xee};

    (void)state;
    printer_pack_1bpp(flags, 12, out);
    assert_int_equal(out[0], 0xa1); /* MSB first, any nonzero is set */
    assert_int_equal(out[1], 0xd0); /* the last byte is padded with zero bits */
}

static void test_pack_levels(void **state)
{
    /* top bits of each level: 0xff -> all ones, 0x80 -> 100.., 0x04 -> 0 */
    const uint8_t levels[8] = {0xff, 0x80, 0x04, 0xff, 0x00, 0xfc, 0x81, 0x7f};
    const uint8_t want6[6] = {0xfe, 0x00, 0x7f, 0x03, 0xf8, 0x1f};
    const uint8_t want5[5] = {0xfc, 0x01, 0xf0, 0x7e, 0x0f};
    const uint8_t want7[7] = {0xff, 0x00, 0x17, 0xf0, 0x1f, 0xa0, 0x3f};
    uint8_t out[8];

    (void)state;
    memset(out, 0xee, sizeof(out));
    printer_pack_levels(levels, 8, 6, out);
    assert_memory_equal(out, want6, 6);
    memset(out, 0xee, sizeof(out));
    printer_pack_levels(levels, 8, 5, out);
    assert_memory_equal(out, want5, 5);
    memset(out, 0xee, sizeof(out));
    printer_pack_levels(levels, 8, 7, out);
    assert_memory_equal(out, want7, 7);
}

static struct printer_raster *blank_raster(void)
{
    struct printer_raster *r = calloc(1, sizeof(*r));

    r->width = PRINTER_FACE_WIDTH;
    r->height = PRINTER_FACE_HEIGHT;
    r->rgb = malloc((size_t)r->width * r->height * 3);
    r->kmask = calloc((size_t)r->width * r->height, 1);
    memset(r->rgb, 0xff, (size_t)r->width * r->height * 3);
    return r;
}

static void test_split(void **state)
{
    struct printer_raster *r = blank_raster();
    const struct printer_keepout chip = {100, 200, 10, 20};
    struct printer_panels *p = NULL;
    unsigned x, y;
    size_t top_left, bottom_left, red_px;

    (void)state;
    /* a red pixel at face (5, 7), a resin pixel at (0, 0) */
    red_px = ((size_t)7 * PRINTER_FACE_WIDTH + 5) * 3;
    r->rgb[red_px] = 0xff;
    r->rgb[red_px + 1] = 0x00;
    r->rgb[red_px + 2] = 0x00;
    r->kmask[0] = 1;
    r->rgb[0] = r->rgb[1] = r->rgb[2] = 0;
    assert_int_equal(printer_panels_split(r, &chip, &p), 0);

    /* the quarter turn: line = face column, dot 0 = bottom row */
    printer_panel_source(0, 0, &x, &y);
    assert_int_equal(x, 0);
    assert_int_equal(y, PRINTER_FACE_HEIGHT - 1);
    printer_panel_source(5, PRINTER_FACE_HEIGHT - 1 - 7, &x, &y);
    assert_int_equal(x, 5);
    assert_int_equal(y, 7);

    top_left = (size_t)0 * PRINTER_PANEL_DOTS + (PRINTER_FACE_HEIGHT - 1); /* face (0, 0) */
    bottom_left = 0;                                                       /* face (0, 647) */
    assert_int_equal(p->k[top_left], 1);
    assert_int_equal(p->y[top_left], 0); /* no dye under resin */
    assert_int_equal(p->m[top_left], 0);
    assert_int_equal(p->c[top_left], 0);
    assert_int_equal(p->k[bottom_left], 0);
    assert_int_equal(p->y[bottom_left], 0); /* white: no dye */
    {
        size_t i = (size_t)5 * PRINTER_PANEL_DOTS + (PRINTER_FACE_HEIGHT - 1 - 7);

        assert_int_equal(p->c[i], 0); /* red = magenta + yellow */
        assert_int_equal(p->m[i], 255);
        assert_int_equal(p->y[i], 255);
    }
    /* overlay everywhere but the chip window */
    assert_int_equal(p->o[bottom_left], 1);
    assert_int_equal(p->o[(size_t)100 * PRINTER_PANEL_DOTS + (PRINTER_FACE_HEIGHT - 1 - 200)], 0);
    assert_int_equal(p->o[(size_t)109 * PRINTER_PANEL_DOTS + (PRINTER_FACE_HEIGHT - 1 - 219)], 0);
    assert_int_equal(p->o[(size_t)110 * PRINTER_PANEL_DOTS + (PRINTER_FACE_HEIGHT - 1 - 219)], 1);
    assert_int_equal(p->o[(size_t)109 * PRINTER_PANEL_DOTS + (PRINTER_FACE_HEIGHT - 1 - 220)], 1);
    printer_panels_free(p);

    /* a keep-out outside the face is refused */
    {
        const struct printer_keepout bad = {1000, 0, 20, 1};

        p = (struct printer_panels *)r;
        assert_int_equal(printer_panels_split(r, &bad, &p), PRINTER_ERROR_INVALID);
        assert_ptr_equal(p, (struct printer_panels *)r);
    }
    printer_raster_free(r);
}

static void test_evolis_frames(void **state)
{
    uint8_t out[64];
    struct printer_raster *r = blank_raster();
    struct printer_panels *p = NULL;
    size_t size = evolis_panel_frame_size(1);
    uint8_t *frame = malloc(size);

    (void)state;
    assert_int_equal(evolis_encode("Si", out, sizeof(out)), 4);
    assert_memory_equal(out, "\x1bSi\r", 4);
    assert_int_equal(evolis_encode("Pcrm;D", out, sizeof(out)), 8);
    assert_memory_equal(out, "\x1bPcrm;D\r", 8);
    assert_int_equal(evolis_encode("S\ri", out, sizeof(out)), PRINTER_ERROR_INVALID);
    assert_int_equal(evolis_encode("", out, sizeof(out)), PRINTER_ERROR_INVALID);
    assert_int_equal(evolis_encode("Si", out, 3), PRINTER_ERROR_INVALID);

    /* K panel: the first line is face column 0 from the bottom row up; set face (0, 647) and (0, 639): dots 0
     * and 8 */
    r->kmask[(size_t)647 * PRINTER_FACE_WIDTH] = 1;
    r->kmask[(size_t)639 * PRINTER_FACE_WIDTH] = 1;
    r->kmask[(size_t)647 * PRINTER_FACE_WIDTH + 1] = 1; /* line 1, dot 0: bit 648 */
    assert_int_equal(printer_panels_split(r, NULL, &p), 0);
    assert_int_equal(evolis_encode_panel('k', 1, p->k, frame, size), (int)size);
    assert_memory_equal(frame,
                        "\x1b"
                        "Db;k;2;",
                        8);
    assert_int_equal(frame[8], 0x80);
    assert_int_equal(frame[8 + 1], 0x80);
    assert_int_equal(frame[8 + 81], 0x80); /* 648 dots = 81 bytes a line */
    assert_int_equal(frame[8 + 2], 0x00);
    assert_int_equal(frame[size - 1], 0x0d);
    /* panel/depth mismatches are refused */
    assert_int_equal(evolis_encode_panel('k', 6, p->k, frame, size), PRINTER_ERROR_INVALID);
    assert_int_equal(evolis_encode_panel('y', 1, p->y, frame, size), PRINTER_ERROR_INVALID);
    assert_int_equal(evolis_encode_panel('x', 1, p->k, frame, size), PRINTER_ERROR_INVALID);
    assert_int_equal(evolis_encode_panel('o', 1, p->o, frame, size - 1), PRINTER_ERROR_INVALID);
    assert_int_equal(evolis_bits_code(6), 64);
    assert_int_equal(evolis_bits_code(7), 128);
    assert_int_equal(evolis_bits_code(5), 32);
    assert_int_equal(evolis_bits_code(1), 2);
    printer_panels_free(p);
    printer_raster_free(r);
    free(frame);
}

static void test_evolis_replies(void **state)
{
    struct printer_reply r;
    enum printer_card_position pos;
    long v;

    (void)state;
    assert_int_equal(evolis_parse_reply((const uint8_t *)"OK\r\n", 4, &r), 0);
    assert_int_equal(r.kind, PRINTER_REPLY_OK);
    assert_int_equal(evolis_parse_reply((const uint8_t *)"OK\0", 3, &r), 0); /* Parallel.pm: ends with NUL */
    assert_int_equal(r.kind, PRINTER_REPLY_OK);
    /* only exactly OK is success: nothing else has a meaning the guide gives, except the ones below */
    assert_int_equal(evolis_parse_reply((const uint8_t *)"OKAY", 4, &r), 0);
    assert_int_equal(r.kind, PRINTER_REPLY_VALUE);
    assert_null(evolis_reply_fault("OKAY"));
    assert_null(evolis_reply_fault("ERROR FEEDER EMPTY")); /* not in Rev E: quoted, never interpreted */
    /* Rev E p. 34: Rlr;r answers ERR NEED CLEANING when the cleaning counter is out */
    assert_non_null(evolis_reply_fault("ERR NEED CLEANING"));
    assert_string_equal(evolis_reply_fault("ERR NEED CLEANING")->cause, "cleaning due");
    assert_int_equal(evolis_reply_fault("ERR NEED CLEANING")->disposition, PRINTER_DISPOSITION_PAUSE_LINE);
    assert_int_equal(evolis_parse_reply((const uint8_t *)"\r\n", 2, &r), PRINTER_ERROR_PROTOCOL);
    assert_int_equal(evolis_parse_reply((const uint8_t *)"O\x01K", 3, &r), PRINTER_ERROR_PROTOCOL);

    /* Rev E p. 34: Rlr;p returns NO CARD, or ERR CARD when a card is inside (the old parser took NO CARD for
     * a card at the print position) */
    assert_int_equal(evolis_parse_position("NO CARD", &pos), 0);
    assert_int_equal(pos, PRINTER_CARD_NONE);
    assert_int_equal(evolis_parse_position("ERR CARD", &pos), 0);
    assert_int_equal(pos, PRINTER_CARD_UNKNOWN);
    assert_int_equal(evolis_parse_position("OK", &pos), PRINTER_ERROR_PROTOCOL);
    assert_int_equal(evolis_parse_position("CARD", &pos), PRINTER_ERROR_PROTOCOL);
    assert_int_equal(evolis_parse_position("CARD SMART", &pos), PRINTER_ERROR_PROTOCOL);

    assert_int_equal(evolis_parse_counter("1234", &v), 0);
    assert_int_equal(v, 1234);
    assert_int_equal(evolis_parse_counter("12a", &v), PRINTER_ERROR_PROTOCOL);
    assert_int_equal(evolis_parse_counter("", &v), PRINTER_ERROR_PROTOCOL);
}

/* The KGE (Rio Pro) job header rastertoultra.c writes for a YMCK front with the "chip normal" overcoat hole
 * (golden run of the vendor filter, tests/printer/golden/README.md), TDT pinned to 0. */
static const char golden_kge_header[] =
    ",NOC1,VER1.16-F1.0,LANENG,TDT00000000,KGE2,SLWON,DPXOFF,PAG1,IMFBGRK,XCO0,YCO0,WID1016,HGT642,OVRON,"
    "NNNOFF,"
    "USFOFF,PCT0,0,1015,641,NCT90,295,260,450,ICC0,DDD50,SZB585216,SZG585216,SZR585216,SZK97536";
/* The KEE (XXL) header of the same run, no hole. */
static const char golden_kee_header[] =
    ",NOC1,VER1.16,LANENG,TDT00000000,KEE,RT2,SLWON,DPXOFF,PAG1,IMFBGRK,XCO0,YCO0,WID1016,HGT642,OVRON,"
    "NNNOFF,"
    "USFOFF,PCT0,0,1025,641,ICC0,DDD50,SZB512064,SZG512064,SZR512064,SZK85344";

static void test_magicard_frames(void **state)
{
    static const uint8_t want[] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 1, 'E', 'J', 'T', ',', 0x1c, 0x03};
    static const struct magicard_hole chip_normal = {90, 295, 260, 450}; /* command.h */
    struct magicard_job_params kge = {.layout = MAGICARD_LAYOUT_KGE,
                                      .head_id = "KGE2",
                                      .firmware = "F1.0",
                                      .head_position = 50,
                                      .tdt = 0,
                                      .hole = &chip_normal},
                               kee = {.layout = MAGICARD_LAYOUT_KEE, .head_id = "KEE", .rio = true};
    struct printer_raster *r = blank_raster();
    struct printer_panels *p = NULL;
    uint8_t out[64], *job;
    size_t h, o, size;

    (void)state;
    assert_int_equal(magicard_encode("EJT,", out, sizeof(out)), (int)sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(magicard_encode("EJT,", out, 10), PRINTER_ERROR_INVALID);

    /* image pixel 0 = face row 644, pixel 641 = face row 3: resin at both ends of line 3, full yellow at both
     * ends of line 0 */
    r->kmask[(size_t)644 * PRINTER_FACE_WIDTH + 3] = 1;
    r->kmask[(size_t)3 * PRINTER_FACE_WIDTH + 3] = 1;
    r->rgb[((size_t)644 * PRINTER_FACE_WIDTH) * 3 + 2] = 0;
    assert_int_equal(printer_panels_split(r, NULL, &p), 0);

    size = magicard_job_size(&kge);
    job = malloc(size);
    assert_int_equal(magicard_encode_job(&kge, p, job, size), (int)size);
    for (int i = 0; i < 64; i++)
        assert_int_equal(job[i], 5);
    assert_int_equal(job[64], 1);
    h = strlen(golden_kge_header);
    assert_memory_equal(job + 65, golden_kge_header, h);
    o = 65 + h;
    assert_int_equal(job[o++], 0x1c); /* no comma before it, nothing between it and the first plane */
    /* KGE, head position 50 (margin 15): pixel 0 at byte 27 mask 0x02, pixel 641 at byte 92 mask 0x40 */
    for (int plane = 0; plane < 6; plane++)
        assert_int_equal(job[o + (size_t)plane * 96 + 27], 0x02);
    assert_int_equal(job[o + 6 * 96 + 27], 0x00); /* line 1 */
    o += 1016 * 576;
    assert_memory_equal(job + o,
                        "\x1c"
                        "B:",
                        3); /* the terminator FOLLOWS the plane */
    o += 3 + 1016 * 576;
    assert_memory_equal(job + o,
                        "\x1c"
                        "G:",
                        3);
    o += 3 + 1016 * 576;
    assert_memory_equal(job + o,
                        "\x1c"
                        "R:",
                        3);
    o += 3;
    assert_int_equal(job[o + 3 * 96 + 27], 0x02);
    assert_int_equal(job[o + 3 * 96 + 92], 0x40);
    assert_int_equal(job[o], 0x00);
    o += 1016 * 96;
    assert_memory_equal(job + o,
                        "\x1c"
                        "K:",
                        3);
    assert_int_equal(job[o + 3], 0x03);
    assert_int_equal(o + 4, size);
    free(job);

    /* head position 40 (margin 25): byte 30 mask 0x20, byte 94 mask 0x04 */
    kge.head_position = 40;
    job = malloc(magicard_job_size(&kge));
    assert_true(magicard_encode_job(&kge, p, job, magicard_job_size(&kge)) > 0);
    o = magicard_job_size(&kge) - 4 - 1016 * 96;
    assert_int_equal(job[o + 3 * 96 + 30], 0x20);
    assert_int_equal(job[o + 3 * 96 + 94], 0x04);
    free(job);

    /* KEE (XXL), position 50: pixel 0 at byte 2 mask 0x80, pixel 641 at byte 82 mask 0x40 */
    size = magicard_job_size(&kee);
    job = malloc(size);
    assert_int_equal(magicard_encode_job(&kee, p, job, size), (int)size);
    h = strlen(golden_kee_header);
    kee.tdt = 0;
    assert_memory_equal(job + 65, golden_kee_header, h);
    o = size - 4 - 1016 * 84;
    assert_int_equal(job[o + 3 * 84 + 2], 0x80);
    assert_int_equal(job[o + 3 * 84 + 82], 0x40);
    assert_memory_equal(job + size - 4,
                        "\x1c"
                        "K:\x03",
                        4);
    free(job);

    /* invalid parameters */
    kee.head_id = "KE,E";
    assert_int_equal(magicard_job_size(&kee), 0);
    assert_int_equal(magicard_encode_job(&kee, p, out, sizeof(out)), PRINTER_ERROR_INVALID);
    printer_panels_free(p);
    printer_raster_free(r);
}

static void test_magicard_status(void **state)
{
    /* shaped as ParseEnduroStatus reads it (rastertoultra.c 8531-8733): field 16 head position, 19/20 errors
     */
    static const char sta[] =
        "STA$$3,Rio Pro,0,SN123,PH1,PCB1,F1.0,0,0,10,10,40,1,40,10,1000,40,50,50,1042,0,TAG,"
        "1000,10,LC1,0,0,0,0,0,0,0,0,0,0";
    static const uint8_t frame[] = {1, 'S', 'T', 'A', '$', '$', '1', ',', 'X', ',', 0x03};
    struct magicard_info in;
    struct printer_reply rep;

    (void)state;
    assert_int_equal(magicard_parse_inf(sta, &in), 0);
    assert_int_equal(in.model_number, 3);
    assert_string_equal(in.model, "Rio Pro");
    assert_int_equal(in.head_type, 0);
    assert_string_equal(in.serial, "SN123");
    assert_string_equal(in.firmware, "F1.0");
    assert_int_equal(in.cards_printed, 10);
    assert_int_equal(in.cards_since_clean, 10);
    assert_int_equal(in.cards_between_clean, 1000);
    assert_int_equal(in.head_position, 40);
    assert_int_equal(in.major, 1042);
    assert_int_equal(in.minor, 0);
    assert_int_equal(in.film_shots, 1000);
    assert_int_equal(in.film_used, 10);
    assert_string_equal(magicard_error_lookup(1042)->cause, "ribbon out (dye film expired)");
    assert_string_equal(magicard_error_lookup(1025)->cause, "feeder empty");
    assert_string_equal(magicard_error_lookup(1038)->cause, "cover open");
    assert_string_equal(magicard_error_lookup(1026)->cause, "card jam");
    assert_string_equal(magicard_error_lookup(2048)->cause, "cleaning due");
    assert_int_equal(magicard_error_lookup(1037)->disposition, PRINTER_DISPOSITION_REJECT_CARD);
    assert_string_equal(magicard_error_lookup(4242)->cause, "printer error");
    /* the old status words are not a status; MSR is the serial number */
    assert_int_equal(magicard_parse_inf("STA,MSR,READY", &in), PRINTER_ERROR_PROTOCOL);
    assert_int_equal(magicard_parse_inf("STA$$1,2,3", &in), PRINTER_ERROR_PROTOCOL);
    assert_int_equal(
        magicard_parse_inf("STA$$3,Rio Pro,0,SN123,PH1,PCB1,F1.0,0,0,X,10,40,1,40,10,1000,40,50,50,0,0", &in),
        PRINTER_ERROR_PROTOCOL);
    assert_int_equal(magicard_parse_reply(frame, sizeof(frame), &rep), 0);
    assert_string_equal(rep.text, "STA$$1,X");
    assert_int_equal(magicard_parse_reply(frame, sizeof(frame) - 1, &rep), PRINTER_ERROR_PROTOCOL);
}

static void test_device_id(void **state)
{
    char v[16];

    (void)state;
    assert_int_equal(printer_device_id_field("MFG:Evolis;MDL:Primacy;SN:A1;", "MDL", v, sizeof(v)), 0);
    assert_string_equal(v, "Primacy");
    assert_int_equal(
        printer_device_id_field("MANUFACTURER:Magicard;MODEL:Rio Pro;SERIALNUMBER:X9", "SN", v, sizeof(v)),
        0);
    assert_string_equal(v, "X9");
    assert_int_equal(printer_device_id_field("MANUFACTURER:Magicard;MODEL: Rio Pro ;", "MDL", v, sizeof(v)),
                     0);
    assert_string_equal(v, "Rio Pro");
    assert_int_equal(printer_device_id_field("MDL:An extremely long model name here;", "MDL", v, sizeof(v)),
                     0);
    assert_string_equal(v, "An extremely lo");
    assert_int_equal(printer_device_id_field("MFG:Evolis;", "SN", v, sizeof(v)), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_device_id_field("garbage", "SN", v, sizeof(v)), PRINTER_ERROR_INVALID);
}

static void test_layout_file(void **state)
{
    struct printer_layout *l = NULL;
    struct printer_face_rect box;
    char why[256] = "";

    (void)state;
    assert_int_equal(printer_layout_load(NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l->n_texts, 12); /* with valid_until, the temporary card's 临时卡 line */
    assert_non_null(printer_layout_slot(l, FACE_FIELD_VALID_UNTIL));
    assert_int_equal(printer_face_area(l, PRINTER_FACE_AREA_CHIP, &box), 0);
    assert_true(box.x == 98 && box.y == 206 && box.w == 158 && box.h == 168);
    assert_int_equal(printer_face_area(l, PRINTER_FACE_AREA_NAME, &box), 0);
    assert_true(box.x == 276 && box.w == 430);
    assert_true(printer_layout_slot(l, FACE_FIELD_NAME)->two_lines);
    assert_true(printer_layout_slot(l, FACE_FIELD_SSN)->resin);
    assert_false(printer_layout_slot(l, FACE_FIELD_BANK)->resin);
    printer_layout_free(l);

    l = (struct printer_layout *)why; /* sentinel: untouched on failure */
    assert_int_equal(printer_layout_load("/nonexistent/layout.json", &l, why, sizeof(why)),
                     PRINTER_ERROR_LAYOUT);
    assert_non_null(strstr(why, "/nonexistent/layout.json: cannot read the card layout"));
    assert_ptr_equal(l, (struct printer_layout *)why);
    assert_int_equal(printer_layout_parse("{", 1, "x.json", &l, why, sizeof(why)), PRINTER_ERROR_LAYOUT);
    assert_non_null(strstr(why, "x.json: not valid JSON"));
    assert_int_equal(printer_layout_parse("{\"format\":\"other/2\"}", 20, "x.json", &l, why, sizeof(why)),
                     PRINTER_ERROR_LAYOUT);
    assert_non_null(strstr(why, "this cardline reads 'cardline-card-layout/1'"));
    assert_ptr_equal(l, (struct printer_layout *)why);
}

static void test_layout_errors_name_the_place(void **state)
{
    struct printer_layout *l = NULL;
    char *json, why[256];
    long len;
    FILE *f = fopen(printer_layout_default_path(), "rb");
    static const struct {
        const char *from, *to, *message;
    } edits[] = {
        {"\"box\": [730, 314, 240, 295]", "\"box\": [900, 314, 240, 295]", "photo: 'box' must lie inside"},
        {"\"colour\": \"#c41e3a\"", "\"colour\": \"red\"", "texts[1]: 'colour' must be a colour"},
        {"\"field\": \"ssn\"", "\"field\": \"passport\"", "texts[7]: unknown field 'passport'"},
        {"\"field\": \"card_number\"", "\"field\": \"ssn\"", "texts[8]: the field appears twice"},
        {"\"weight\": \"bold\"", "\"weight\": \"fat\"", "texts[1]: unknown weight 'fat'"},
        {"\"size\": 40, \"min_size\": 30", "\"size\": 40, \"min_size\": 50", "texts[6]: 'min_size' must be"},
    };

    (void)state;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    json = calloc(1, (size_t)len + 64);
    assert_int_equal(fread(json, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char *copy = calloc(1, (size_t)len + 64), *at = strstr(json, edits[i].from);

        assert_non_null(at);
        memcpy(copy, json, (size_t)(at - json));
        strcat(copy, edits[i].to);
        strcat(copy, at + strlen(edits[i].from));
        assert_int_equal(printer_layout_parse(copy, strlen(copy), "l.json", &l, why, sizeof(why)),
                         PRINTER_ERROR_LAYOUT);
        if (!strstr(why, edits[i].message))
            fail_msg("edit %zu: '%s' does not say '%s'", i, why, edits[i].message);
        free(copy);
    }
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_panel_sizes),
        cmocka_unit_test(test_pack_1bpp),
        cmocka_unit_test(test_pack_levels),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_evolis_frames),
        cmocka_unit_test(test_evolis_replies),
        cmocka_unit_test(test_magicard_frames),
        cmocka_unit_test(test_magicard_status),
        cmocka_unit_test(test_device_id),
        cmocka_unit_test(test_layout_file),
        cmocka_unit_test(test_layout_errors_name_the_place),
    };

    return cmocka_run_group_tests_name("printer_codec", tests, NULL, NULL);
}
