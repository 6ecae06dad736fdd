/* test_printer_devices.c — the Evolis and Magicard drivers against the strict emulated printers: a whole job
 * checked against the vendors' framing (literal bytes from the guide and UltraDriver, never from our
 * encoders), the face the printer decodes, what the emulators refuse, chip first, and every fault to its
 * disposition, either in-process (--emu, the library's emu transport, the "emu:" and "file:" printer specs)
 * or through real libusb under umockdev (--usb) */
#include "emulator.h"
#include "printer-private.h"
#include "printer.h"
#include "transport/transport.h"
#ifdef HAVE_TESTBED
#include "usbprinter_testbed.h"
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

#define SKIP            77
#define FAULT_BOUND_MS  5000 /* no fault may take longer than this to report */
#define TEST_COMMAND_MS 300
#define TEST_MOVE_MS    300
#define TEST_PRINT_MS   600

static bool use_usb; /* chosen once by main() from argv */

/* --- fixture
 * --------------------------------------------------------------------------------------------------- */

struct fixture {
    struct printer_emulator *emu;
#ifdef HAVE_TESTBED
    struct usbprinter_testbed *bed;
#endif
    struct printer *p;
    struct printer_raster *face;
};

static const struct printer_timeouts test_timeouts = {TEST_COMMAND_MS, TEST_MOVE_MS, TEST_PRINT_MS};

static struct printer_raster *render(void)
{
    static uint8_t photo[441][358][3];
    struct printer_raster *r = NULL;
    struct printer_face f = {.name = "王堃",
                             .ssn = "44030119900101123X",
                             .card_number = "A12345678",
                             .issue_year = 2026,
                             .issue_month = 3,
                             .bank_name = "中国工商银行",
                             .photo_rgb = &photo[0][0][0],
                             .photo_width = 358,
                             .photo_height = 441};

    for (unsigned y = 0; y < 441; y++)
        for (unsigned x = 0; x < 358; x++) {
            photo[y][x][0] = (uint8_t)x;
            photo[y][x][1] = (uint8_t)y;
            photo[y][x][2] = 0x80;
        }
    assert_int_equal(printer_render_face(&f, &r, NULL), 0);
    return r;
}

static int open_printer(struct fixture *fx, enum printer_emulator_kind kind)
{
    fx->emu = printer_emulator_new(kind, kind == PRINTER_EMULATOR_EVOLIS ? "EV0001" : "MC0001");
    assert_non_null(fx->emu);
    if (use_usb) {
#ifdef HAVE_TESTBED
        char why[256];

        assert_int_equal(usbprinter_testbed_new(&fx->bed, why, sizeof(why)), 0);
        assert_int_equal(usbprinter_testbed_add(fx->bed, fx->emu, 5, why, sizeof(why)), 0);
        return printer_open_spec_timeouts(kind == PRINTER_EMULATOR_EVOLIS ? "usb:evolis" : "usb:magicard",
                                          NULL, &test_timeouts, &fx->p);
#else
        fail_msg("built without umockdev");
#endif
    }
    {
        /* the library's in-process transport; the test keeps the emulator */
        struct printer_transport *t = NULL;
        struct printer_link_config link = {.product_id = printer_emulator_product(fx->emu),
                                           .device_id = printer_emulator_device_id(fx->emu),
                                           .usb_serial = printer_emulator_serial(fx->emu),
                                           .timeouts = test_timeouts};
        int r;

        assert_int_equal(printer_transport_emu_new(fx->emu, &t), 0);
        link.transport = t;
        r = printer_new(kind == PRINTER_EMULATOR_EVOLIS ? &printer_driver_evolis : &printer_driver_magicard,
                        &link, &fx->p);
        if (r < 0)
            printer_transport_free(t);
        return r;
    }
}

static int setup_evolis(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    fx->face = render();
    assert_int_equal(open_printer(fx, PRINTER_EMULATOR_EVOLIS), 0);
    *state = fx;
    return 0;
}

static int setup_magicard(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    fx->face = render();
    assert_int_equal(open_printer(fx, PRINTER_EMULATOR_MAGICARD), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    printer_close(fx->p);
#ifdef HAVE_TESTBED
    usbprinter_testbed_free(fx->bed);
#endif
    printer_emulator_free(fx->emu);
    printer_raster_free(fx->face);
    free(fx);
    return 0;
}

static struct printer_emulator_state emu_state(struct fixture *fx)
{
    struct printer_emulator_state s;

    printer_emulator_get_state(fx->emu, &s);
    return s;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* Runs op expecting failure err with disposition disp and a cause starting with cause, within FAULT_BOUND_MS.
 */
#define EXPECT_FAIL(call, err, disp_want, cause_prefix)                                                      \
    do {                                                                                                     \
        enum printer_disposition d_ = PRINTER_DISPOSITION_OK;                                                \
        char c_[PRINTER_CAUSE_SIZE] = "";                                                                    \
        double t0_ = now_ms();                                                                               \
        int r_ = call;                                                                                       \
        if (r_ != (err) || d_ != (disp_want) || strncmp(c_, cause_prefix, strlen(cause_prefix)) != 0)        \
            fail_msg("%s: got %d %s '%s', want %d %s '%s...'", #call, r_, printer_disposition_name(d_), c_,  \
                     (err), printer_disposition_name(disp_want), cause_prefix);                              \
        assert_true(now_ms() - t0_ < FAULT_BOUND_MS);                                                        \
    } while (0)

#define OK(call)                                                                                             \
    do {                                                                                                     \
        enum printer_disposition d_ = PRINTER_DISPOSITION_OK;                                                \
        char c_[PRINTER_CAUSE_SIZE] = "";                                                                    \
        int r_ = call;                                                                                       \
        if (r_ != 0)                                                                                         \
            fail_msg("%s: %d %s '%s'", #call, r_, printer_disposition_name(d_), c_);                         \
    } while (0)

/* --- the expected byte stream, from the vendors' documents ------------------------------------------------
 */

/* Walks a received stream: each want_* checks the next bytes. */
struct walk {
    uint8_t *data;
    size_t len, at;
};

static struct walk take_received(struct fixture *fx)
{
    struct walk w = {0};

    w.data = printer_emulator_take_received(fx->emu, &w.len);
    return w;
}

static void want_bytes(struct walk *w, const void *bytes, size_t n, const char *what)
{
    if (w->at + n > w->len || memcmp(w->data + w->at, bytes, n) != 0)
        fail_msg("%s: not at byte %zu of %zu", what, w->at, w->len);
    w->at += n;
}

/* Evolis Rev E p. 4: ESC, command, CR. */
static void want_evolis(struct walk *w, const char *cmd)
{
    uint8_t f[80];
    size_t n = strlen(cmd);

    f[0] = 0x1b;
    memcpy(f + 1, cmd, n);
    f[n + 1] = 0x0d;
    want_bytes(w, f, n + 2, cmd);
}

/* Rev E p. 14: ESC "Db;<panel>;<code>;" then 648 x 1016 x bits / 8 bytes, then CR. */
static void want_evolis_db(struct walk *w, char panel, unsigned code, size_t payload)
{
    char head[32];

    snprintf(head, sizeof(head),
             "\x1b"
             "Db;%c;%u;",
             panel, code);
    want_bytes(w, head, strlen(head), head + 1);
    if (w->at + payload + 1 > w->len)
        fail_msg("Db;%c: payload cut short", panel);
    w->at += payload;
    want_bytes(w, "\r", 1, "CR after the payload");
}

/* selphy_print magicard_build_cmd: 9 x 0x05, 0x01, text, 0x1C, 0x03. */
static void want_magicard(struct walk *w, const char *cmd)
{
    uint8_t f[80];
    size_t n = strlen(cmd);

    memset(f, 0x05, 9);
    f[9] = 0x01;
    memcpy(f + 10, cmd, n);
    f[10 + n] = 0x1c;
    f[11 + n] = 0x03;
    want_bytes(w, f, n + 12, cmd);
}

/* UltraDriver: 64 x 0x05, 0x01, the header (the golden header with TDT's 8 hex digits free), 0x1C, then each
 * plane's bytes followed by 0x1C <letter> ':', then 0x03. Returns where the K plane starts. */
static size_t want_magicard_job(struct walk *w, const char *header, const char *letters, const size_t *sizes)
{
    uint8_t guards[65];
    const char *tdt = strstr(header, "TDT");
    size_t pre, k = 0;

    memset(guards, 0x05, 64);
    guards[64] = 0x01;
    want_bytes(w, guards, 65, "job guards and SOH");
    assert_non_null(tdt);
    pre = (size_t)(tdt - header) + 3;
    want_bytes(w, header, pre, "job header up to TDT");
    for (int i = 0; i < 8; i++, w->at++)
        if (w->at >= w->len || !strchr("0123456789ABCDEF", w->data[w->at]))
            fail_msg("TDT: not 8 hex digits");
    want_bytes(w, header + pre + 8, strlen(header) - pre - 8, "job header after TDT");
    want_bytes(w, "\x1c", 1, "0x1C ending the header, no comma before it");
    for (size_t i = 0; letters[i]; i++) {
        char term[3] = {0x1c, letters[i], ':'};

        if (letters[i] == 'K')
            k = w->at;
        w->at += sizes[i];
        want_bytes(w, term, 3, "plane terminator after the plane's data");
    }
    want_bytes(w, "\x03", 1, "ETX ending the job");
    return k;
}

static void want_end(struct walk *w)
{
    if (w->at != w->len)
        fail_msg("%zu bytes more than expected at byte %zu", w->len - w->at, w->at);
    free(w->data);
}

/* What the printer decoded from the panels it got is the face that was sent: resin black where the K mask
 * is, the colour within the dye depth's rounding elsewhere, and, on a Magicard, blank outside its narrower
 * print width (the rows at the top and bottom edge). */
static void assert_face(const uint8_t *got, const struct printer_raster *r, unsigned blank_rows)
{
    assert_non_null(got);
    for (unsigned y = 0; y < PRINTER_FACE_HEIGHT; y++)
        for (unsigned x = 0; x < PRINTER_FACE_WIDTH; x++) {
            size_t i = (size_t)y * PRINTER_FACE_WIDTH + x;
            bool blank = y < blank_rows || y >= PRINTER_FACE_HEIGHT - blank_rows;

            for (unsigned ch = 0; ch < 3; ch++) {
                int want = blank ? 255 : r->kmask[i] ? 0 : r->rgb[i * 3 + ch];
                int diff = got[i * 3 + ch] - want;

                if (diff < -3 || diff > 3)
                    fail_msg("face pixel %u,%u channel %u: got %u, want %d", x, y, ch, got[i * 3 + ch], want);
            }
        }
}

/* --- Evolis
 * ---------------------------------------------------------------------------------------------------- */

static void test_evolis_full_job(void **state)
{
    struct fixture *fx = *state;
    struct printer_status st;
    struct printer_emulator_state s;
    struct walk w;
    uint8_t *face;

    assert_int_equal(printer_emulator_capture_faces(fx->emu, true), 0);
    /* chip first: the blank goes to the contact station, then the face is printed */
    OK(printer_purge(fx->p, &d_, c_));
    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    OK(printer_get_status(fx->p, &st, &d_, c_));
    assert_int_equal(st.card, PRINTER_CARD_CONTACT);
    assert_int_equal(st.feeder, -1); /* Rev E reads no feeder level */
    assert_int_equal(st.ribbon_left, 200);
    assert_int_equal(st.cleaning_due, 0);
    assert_int_equal(emu_state(fx).position, PRINTER_EMULATOR_CARD_CONTACT);
    OK(printer_print(fx->p, fx->face, "A12345678", &d_, c_));
    OK(printer_eject(fx->p, &d_, c_));
    s = emu_state(fx);
    assert_int_equal(s.printed, 1);
    assert_int_equal(s.ejected, 1);
    assert_int_equal(s.feeder, 99);
    assert_int_equal(s.ribbon, 199);
    assert_int_equal(s.refused, 0);
    assert_int_equal(s.position, PRINTER_EMULATOR_CARD_NONE);
    assert_string_equal(printer_name(fx->p), "evolis");
    assert_string_equal(printer_model(fx->p), "Primacy");
    assert_string_equal(printer_serial(fx->p), "EV0001");

    w = take_received(fx);
    want_evolis(&w, "Pem;2"); /* p. 20: errors managed by the host */
    want_evolis(&w, "Rlr;p"); /* purge: p. 34 */
    want_evolis(&w, "Rlr;p"); /* feed */
    want_evolis(&w, "Rlr;r"); /* cleaning due? */
    want_evolis(&w, "Sis");   /* p. 59: a blank to the contact station */
    want_evolis(&w, "Rlr;p"); /* status */
    want_evolis(&w, "Rco;l"); /* p. 31 */
    want_evolis(&w, "Rco;c");
    want_evolis(&w, "Rlr;r");
    want_evolis(&w, "Pr;ymcko"); /* §21, p. 69 */
    want_evolis(&w, "Ss");
    want_evolis(&w, "Sr"); /* before the downloads */
    want_evolis_db(&w, 'y', 64, 648 * 1016 * 6 / 8);
    want_evolis_db(&w, 'm', 64, 648 * 1016 * 6 / 8);
    want_evolis_db(&w, 'c', 64, 648 * 1016 * 6 / 8);
    want_evolis_db(&w, 'k', 2, 648 * 1016 / 8);
    want_evolis_db(&w, 'o', 2, 648 * 1016 / 8);
    want_evolis(&w, "Se"); /* prints the overlay and ejects */
    want_end(&w);
    face = printer_emulator_take_face(fx->emu);
    assert_face(face, fx->face, 0);
    free(face);
    assert_null(printer_emulator_take_face(fx->emu)); /* one face per print */
}

/* A card whose chip fails is rejected before anything is printed: the ribbon is untouched. */
static void test_evolis_chip_failure_costs_no_ribbon(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s;

    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    /* ... the encoder fails the chip here ... */
    OK(printer_reject(fx->p, &d_, c_));
    s = emu_state(fx);
    assert_int_equal(s.ribbon, 200);
    assert_int_equal(s.printed, 0);
    assert_int_equal(s.rejected, 1);
    assert_int_equal(s.refused, 0);
}

static void test_evolis_feeder_empty(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s = emu_state(fx);

    s.feeder = 0;
    printer_emulator_set_state(fx->emu, &s);
    /* Sis fails and no card came in (Rlr;p: NO CARD): the printer's own text is quoted */
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "feeder empty: printer answered 'ERR FEEDER' to Sis");
    assert_int_equal(emu_state(fx).position, PRINTER_EMULATOR_CARD_NONE);
}

static void test_evolis_ribbon_out(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s = emu_state(fx);

    s.ribbon = 0;
    printer_emulator_set_state(fx->emu, &s);
    OK(printer_feed(fx->p, &d_, c_));
    /* the blank is spoiled and an operator must change the ribbon: the line rejects it, then pauses; Rcr
     * (p. 32: OK unless on the end mark) names the cause */
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "ribbon out: printer answered 'ERR RIBBON' to Db;m");
    OK(printer_reject(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).rejected, 1);
}

static void test_evolis_cover_open(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s;

    OK(printer_feed(fx->p, &d_, c_));
    s = emu_state(fx);
    s.cover_open = true;
    printer_emulator_set_state(fx->emu, &s);
    /* Rev E documents no reply for an open cover: the text is quoted, the line pauses */
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "printer answered 'ERR COVER' to Db;y");
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "printer answered 'ERR COVER' to Ser");
    s = emu_state(fx);
    s.cover_open = false;
    printer_emulator_set_state(fx->emu, &s);
    /* once the operator closes the cover, the card goes to the reject box */
    OK(printer_purge(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).rejected, 1);
}

static void test_evolis_jam(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s;

    OK(printer_feed(fx->p, &d_, c_));
    s = emu_state(fx);
    s.jam_next_print = true;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "printer answered 'ERR MECHANICAL' to Se");
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "printer answered 'ERR MECHANICAL' to Ser");
}

/* Rev E p. 34: Rlr;r says ERR NEED CLEANING: no card goes in, the line pauses with the cause. */
static void test_evolis_cleaning_due(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s = emu_state(fx);
    struct printer_status st;

    s.cleaning_due = true;
    printer_emulator_set_state(fx->emu, &s);
    OK(printer_get_status(fx->p, &st, &d_, c_));
    assert_int_equal(st.cleaning_due, 1);
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "cleaning due");
    assert_int_equal(emu_state(fx).feeder, 100);
}

static void test_evolis_reject_box_full(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s;

    OK(printer_feed(fx->p, &d_, c_));
    s = emu_state(fx);
    s.reject_full = true;
    printer_emulator_set_state(fx->emu, &s);
    /* Rev E has no reject-box sensor or reply: the printer's own text is quoted and the line pauses */
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "printer answered 'ERR REJECT BOX' to Ser");
    assert_int_equal(emu_state(fx).position, PRINTER_EMULATOR_CARD_CONTACT);
}

static void test_evolis_unplug_mid_job(void **state)
{
    struct fixture *fx = *state;

    OK(printer_feed(fx->p, &d_, c_));
    /* the cable comes out in the middle of the yellow panel */
    printer_emulator_set_fault(fx->emu, PRINTER_EMULATOR_FAULT_UNPLUG, 200000);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_GONE,
                PRINTER_DISPOSITION_DEVICE_GONE, "printer unplugged");
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_GONE, PRINTER_DISPOSITION_DEVICE_GONE,
                "printer unplugged");
}

static void test_evolis_stall(void **state)
{
    struct fixture *fx = *state;

    OK(printer_feed(fx->p, &d_, c_));
    printer_emulator_set_fault(fx->emu, PRINTER_EMULATOR_FAULT_STALL, 0);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_STALL,
                PRINTER_DISPOSITION_REJECT_CARD, "USB endpoint stalled");
    /* the halt was cleared: the spoiled card can go to the reject box */
    OK(printer_reject(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).rejected, 1);
}

static void test_evolis_no_answer(void **state)
{
    struct fixture *fx = *state;

    OK(printer_feed(fx->p, &d_, c_));
    printer_emulator_set_fault(fx->emu, PRINTER_EMULATOR_FAULT_MUTE, 0);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_TIMEOUT,
                PRINTER_DISPOSITION_PAUSE_LINE, "printer did not answer");
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_TIMEOUT, PRINTER_DISPOSITION_PAUSE_LINE,
                "printer did not answer");
    /* it answers again: the reject went through unanswered, so a purge finds the printer empty */
    printer_emulator_set_fault(fx->emu, PRINTER_EMULATOR_FAULT_NONE, 0);
    OK(printer_purge(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).rejected, 1);
    assert_int_equal(emu_state(fx).position, PRINTER_EMULATOR_CARD_NONE);
}

static void test_evolis_purge_and_busy(void **state)
{
    struct fixture *fx = *state;

    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "a card is already in the printer");
    OK(printer_purge(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).rejected, 1);
    OK(printer_purge(fx->p, &d_, c_)); /* nothing inside: nothing to do */
    assert_int_equal(emu_state(fx).rejected, 1);
}

/* --- Magicard
 * -------------------------------------------------------------------------------------------------- */

/* The Rio Pro (KGE) header rastertoultra.c writes (golden run, tests/printer/golden/README.md), with the
 * overcoat hole our layout's chip window gives: left 98, bottom 644 - 373, right 255, top 644 - 206. */
static const char riopro_header[] =
    ",NOC1,VER1.16-F1.0,LANENG,TDT00000000,KGE2,SLWON,DPXOFF,PAG1,IMFBGRK,XCO0,YCO0,"
    "WID1016,HGT642,OVRON,NNNOFF,USFOFF,PCT0,0,1015,641,NCT98,271,255,438,ICC0,"
    "DDD50,SZB585216,SZG585216,SZR585216,SZK97536";

static void test_magicard_full_job(void **state)
{
    static const size_t sizes[] = {585216, 585216, 585216, 97536}; /* 1016 rows of 6 x 96, 96 bytes */
    struct fixture *fx = *state;
    struct printer_emulator_state s;
    struct printer_status st;
    struct walk w;
    uint8_t *face;

    assert_int_equal(printer_emulator_capture_faces(fx->emu, true), 0);
    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).position, PRINTER_EMULATOR_CARD_CONTACT);
    OK(printer_print(fx->p, fx->face, "A12345678", &d_, c_));
    OK(printer_eject(fx->p, &d_, c_));
    OK(printer_get_status(fx->p, &st, &d_, c_));
    assert_int_equal(st.cards_printed, 1);
    assert_int_equal(st.ribbon_left, 199);
    assert_int_equal(st.cleaning_due, 0);
    s = emu_state(fx);
    assert_int_equal(s.printed, 1);
    assert_int_equal(s.ejected, 1);
    assert_int_equal(s.feeder, 99);
    assert_int_equal(s.refused, 0);
    assert_string_equal(printer_name(fx->p), "magicard");
    assert_string_equal(printer_model(fx->p), "Rio Pro");
    assert_string_equal(printer_serial(fx->p), "MC0001");

    w = take_received(fx);
    want_magicard(&w, "REQ,INF,"); /* open: model, head type and position */
    want_magicard(&w, "REQ,INF,"); /* feed */
    want_magicard(&w, "CHPDOWN,");
    want_magicard(&w, "REQ,INF,");
    want_magicard(&w, "REQ,INF,"); /* print: the card counter before */
    want_magicard_job(&w, riopro_header, "BGRK", sizes);
    want_magicard(&w, "REQ,INF,"); /* until STA$$ field 9 goes up */
    want_magicard(&w, "REQ,INF,"); /* status */
    want_end(&w);
    face = printer_emulator_take_face(fx->emu);
    assert_face(face, fx->face, 3);
    free(face);
}

/* A card whose chip fails costs no film: CHP takes it, EJT puts it out, nothing printed. */
static void test_magicard_chip_failure_costs_no_ribbon(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s;

    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    OK(printer_reject(fx->p, &d_, c_));
    s = emu_state(fx);
    assert_int_equal(s.ribbon, 200);
    assert_int_equal(s.printed, 0);
    assert_int_equal(s.ejected, 1); /* the vendor documents no reject box */
    assert_int_equal(s.refused, 0);
}

static void test_magicard_faults(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s = emu_state(fx);

    /* error codes from STA$$ field 19, mapped by UltraDriver error_codes.h */
    s.ribbon = 0;
    printer_emulator_set_state(fx->emu, &s);
    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "ribbon out (dye film expired) (error 1042)");
    OK(printer_reject(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).ejected, 1);

    s = emu_state(fx);
    s.ribbon = 10;
    s.feeder = 0;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_to_encoder(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "feeder empty (error 1025)");
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "feeder empty");

    s = emu_state(fx);
    s.feeder = 10;
    s.cover_open = true;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "cover open (error 1038)");

    s = emu_state(fx);
    s.cover_open = false;
    s.cleaning_due = true;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "cleaning due (error 2048)");

    s = emu_state(fx);
    s.cleaning_due = false;
    s.jam_next_print = true;
    printer_emulator_set_state(fx->emu, &s);
    OK(printer_feed(fx->p, &d_, c_));
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "card jam (error 1026)");
    assert_int_equal(emu_state(fx).refused, 0);

    printer_emulator_set_fault(fx->emu, PRINTER_EMULATOR_FAULT_UNPLUG, 10);
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_GONE, PRINTER_DISPOSITION_DEVICE_GONE,
                "printer unplugged");
}

static void test_magicard_no_answer(void **state)
{
    struct fixture *fx = *state;

    printer_emulator_set_fault(fx->emu, PRINTER_EMULATOR_FAULT_MUTE, 0);
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_TIMEOUT, PRINTER_DISPOSITION_PAUSE_LINE,
                "printer did not answer");
}

/* --- the "emu:" printer specs
 * --------------------------------------------------------------------------------- */

/* A whole card through printer_open_spec("emu:..."): the real driver, the emulator the printer owns, and
 * the face written from what the emulator received. */
static void spec_job(const char *spec, const char *driver, const char *serial_prefix, unsigned blank_rows)
{
    char dir[] = "/tmp/test_printer_emu_XXXXXX", path[64];
    struct printer_sim_config cfg = {.card_ms = 30};
    struct printer_raster *face = render();
    struct printer_emulator_state s;
    struct printer_status st;
    struct printer *p = NULL;
    png_image png = {0};
    uint8_t *rgb;
    double t0;

    assert_non_null(mkdtemp(dir));
    cfg.output_dir = dir;
    assert_int_equal(printer_open_spec(spec, &cfg, &p), 0);
    assert_string_equal(printer_name(p), driver);
    assert_int_equal(strncmp(printer_serial(p), serial_prefix, strlen(serial_prefix)), 0);
    assert_non_null(strstr(printer_model(p), "(emulated)"));
    assert_non_null(printer_emu_emulator(p));

    OK(printer_purge(p, &d_, c_));
    OK(printer_feed(p, &d_, c_));
    OK(printer_to_encoder(p, &d_, c_));
    OK(printer_get_status(p, &st, &d_, c_));
    /* an Evolis knows the card came in with Sis; STA$$ has no card position */
    assert_int_equal(st.card, strcmp(driver, "evolis") == 0 ? PRINTER_CARD_CONTACT : PRINTER_CARD_UNKNOWN);
    t0 = now_ms();
    OK(printer_print(p, face, "A12345678", &d_, c_));
    assert_true(now_ms() - t0 >= 30); /* card_ms: the simulated mechanical time */
    OK(printer_eject(p, &d_, c_));
    printer_emulator_get_state(printer_emu_emulator(p), &s);
    assert_int_equal(s.printed, 1);
    assert_int_equal(s.ejected, 1);
    assert_int_equal(s.position, PRINTER_EMULATOR_CARD_NONE);
    assert_true(s.feeder > 100000); /* feeder_cards 0: a feeder that does not run out in a demo */

    /* the file shows what the emulated printer received, not the raster handed to print */
    snprintf(path, sizeof(path), "%s/A12345678.png", dir);
    png.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&png, path));
    assert_int_equal(png.width, PRINTER_FACE_WIDTH);
    assert_int_equal(png.height, PRINTER_FACE_HEIGHT);
    png.format = PNG_FORMAT_RGB;
    rgb = malloc(PNG_IMAGE_SIZE(png));
    assert_non_null(rgb);
    assert_true(png_image_finish_read(&png, NULL, rgb, 0, NULL));
    assert_face(rgb, face, blank_rows);
    free(rgb);

    /* a label that cannot name a file spoils nothing yet: the card is rejected before it is printed */
    OK(printer_feed(p, &d_, c_));
    EXPECT_FAIL(printer_print(p, face, "../x", &d_, c_), PRINTER_ERROR_INVALID,
                PRINTER_DISPOSITION_REJECT_CARD, "card label");
    OK(printer_purge(p, &d_, c_)); /* the Evolis blank at the contact station goes to the reject box */

    printer_close(p); /* frees the emulator too (ASan/LSan check) */
    assert_int_equal(remove(path), 0);
    assert_int_equal(rmdir(dir), 0);
    printer_raster_free(face);
}

static void test_spec_emu_evolis(void **state)
{
    (void)state;
    spec_job("emu:evolis", "evolis", "EMU-EV-", 0);
}

static void test_spec_emu_magicard(void **state)
{
    (void)state;
    spec_job("emu:magicard", "magicard", "EMU-MC-", 3);
}

/* feeder_cards: the emulated feeder runs empty and the line must pause. An Evolis says so when asked to
 * feed; a Magicard takes the blank with the print job, so it says so then. */
static void test_spec_emu_feeder_empty(void **state)
{
    struct printer_sim_config cfg = {.feeder_cards = 1};
    struct printer_raster *face = render();
    struct printer *p = NULL;

    (void)state;
    assert_int_equal(printer_open_spec("emu:evolis", &cfg, &p), 0);
    OK(printer_feed(p, &d_, c_));
    OK(printer_to_encoder(p, &d_, c_));
    OK(printer_print(p, face, "A1", &d_, c_));
    OK(printer_eject(p, &d_, c_));
    EXPECT_FAIL(printer_feed(p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "feeder empty");
    printer_close(p);

    assert_int_equal(printer_open_spec("emu:magicard", &cfg, &p), 0);
    OK(printer_feed(p, &d_, c_));
    OK(printer_print(p, face, "A1", &d_, c_));
    OK(printer_eject(p, &d_, c_));
    EXPECT_FAIL(printer_print(p, face, "A2", &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "feeder empty");
    printer_close(p);
    printer_raster_free(face);
}

static void test_spec_emu_errors(void **state)
{
    struct printer_sim_config cfg = {.card_ms = 60001};
    struct printer *p = NULL;

    (void)state;
    assert_int_equal(printer_open_spec("emu:", NULL, &p), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_open_spec("emu:sim", NULL, &p), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_open_spec("emu:evolis:x", NULL, &p), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_open_spec("emu:evolis", &cfg, &p), PRINTER_ERROR_INVALID);
    cfg.card_ms = 0;
    cfg.output_dir = "/nonexistent/cardline-faces";
    assert_int_equal(printer_open_spec("emu:magicard", &cfg, &p), PRINTER_ERROR_IO);
    assert_null(p);
    /* sim settings are optional for an emulated printer; two of them are two printers */
    {
        struct printer *q = NULL;

        assert_int_equal(printer_open_spec("emu:evolis", NULL, &p), 0);
        assert_int_equal(printer_open_spec("emu:evolis", NULL, &q), 0);
        assert_string_not_equal(printer_serial(p), printer_serial(q));
        assert_ptr_not_equal(printer_emu_emulator(p), printer_emu_emulator(q));
        printer_close(q);
    }
    printer_close(p);
    assert_null(printer_emu_emulator(NULL));
}

/* --- the emulators refuse what a real printer would -------------------------------------------------------
 */

struct stream {
    uint8_t *data;
    size_t len;
};

static void add(struct stream *b, const void *data, size_t len)
{
    b->data = realloc(b->data, b->len + len);
    assert_non_null(b->data);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void add_evolis(struct stream *b, const char *cmd)
{
    add(b, "\x1b", 1);
    add(b, cmd, strlen(cmd));
    add(b, "\r", 1);
}

/* ESC "Db;p;code;" + n zero bytes + CR */
static void add_evolis_db(struct stream *b, char panel, unsigned code, size_t n)
{
    char head[32];
    uint8_t *zero = calloc(1, n);

    snprintf(head, sizeof(head),
             "\x1b"
             "Db;%c;%u;",
             panel, code);
    add(b, head, strlen(head));
    add(b, zero, n);
    add(b, "\r", 1);
    free(zero);
}

static void add_magicard(struct stream *b, const char *cmd)
{
    static const uint8_t guards[10] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 1};

    add(b, guards, sizeof(guards));
    add(b, cmd, strlen(cmd));
    add(b, "\x1c\x03", 2);
}

/* 64 guards, SOH, header, FS, planes (zeros) each followed by terminator unless cut, ETX */
static void add_magicard_job(struct stream *b, const char *header, const char *letters, size_t dye, size_t k,
                             bool terminators_first)
{
    uint8_t g[65];

    memset(g, 5, 64);
    g[64] = 1;
    add(b, g, 65);
    add(b, header, strlen(header));
    add(b, "\x1c", 1);
    for (size_t i = 0; letters[i]; i++) {
        char term[3] = {0x1c, letters[i], ':'};
        size_t n = letters[i] == 'K' ? k : dye;
        uint8_t *zero = calloc(1, n);

        if (terminators_first)
            add(b, term, 3);
        add(b, zero, n);
        if (!terminators_first)
            add(b, term, 3);
        free(zero);
    }
    add(b, "\x03", 1);
}

/* Feeds a stream to a fresh emulator; returns how many things it refused, and whether it printed. */
static unsigned feed_stream(struct printer_emulator *e, struct stream *b, char *why, size_t why_size)
{
    struct printer_emulator_state s;

    assert_int_equal(printer_emulator_write(e, b->data, b->len), 0);
    printer_emulator_get_state(e, &s);
    printer_emulator_last_refusal(e, why, why_size);
    free(b->data);
    b->data = NULL;
    b->len = 0;
    assert_int_equal(s.printed, 0);
    return s.refused;
}

static void test_emulators_refuse_old_streams(void **state)
{
    struct printer_emulator *ev = printer_emulator_new(PRINTER_EMULATOR_EVOLIS, "EV1"),
                            *mc = printer_emulator_new(PRINTER_EMULATOR_MAGICARD, "MC1");
    struct stream b = {0};
    char why[160];

    (void)state;
    /* what cardline sent before issue 11: settings that are not in Rev E, the downloads before Sr, and Sr as
     * the print command */
    add_evolis(&b, "Pem;2");
    add_evolis(&b, "Pneab;E");
    add_evolis(&b, "Pcrm;D");
    add_evolis(&b, "Rlr;p");
    add_evolis(&b, "Si");
    add_evolis(&b, "Rse;f");
    add_evolis(&b, "Pr;ymcko");
    add_evolis(&b, "Ss");
    add_evolis_db(&b, 'y', 64, 493776);
    add_evolis_db(&b, 'm', 64, 493776);
    add_evolis_db(&b, 'c', 64, 493776);
    add_evolis_db(&b, 'k', 2, 82296);
    add_evolis_db(&b, 'o', 2, 82296);
    add_evolis(&b, "Sr");
    add_evolis(&b, "Sis");
    add_evolis(&b, "Se");
    /* Pneab, Pcrm, Rse;f, five Db before Sr, Sr after them (the sequence was ended) */
    assert_int_equal(feed_stream(ev, &b, why, sizeof(why)), 9);

    /* the old Magicard job: fields out of the vendor's order, HGT1016/WID642, a comma before 0x1C, Tango-only
     * ESS/REJ, and each plane's terminator before its data */
    add_magicard(&b, "REQ,STA,MSR,");
    add_magicard_job(
        &b, ",IMFBGRK,SZB512064,SZG512064,SZR512064,SZK85344,LC1,DPXOFF,OVRON,REJON,HGT1016,WID642,ESS1,",
        "BGRK", 512064, 85344, true);
    add_magicard(&b, "EJT,REJ,");
    assert_int_equal(feed_stream(mc, &b, why, sizeof(why)), 2);
    assert_string_equal(why, "unknown command 'EJT,REJ,'");
    printer_emulator_free(ev);
    printer_emulator_free(mc);
}

static void test_evolis_emulator_is_strict(void **state)
{
    struct printer_emulator *ev = printer_emulator_new(PRINTER_EMULATOR_EVOLIS, "EV1");
    struct printer_emulator_state s;
    struct stream b = {0};
    char why[160];

    (void)state;
    add_evolis(&b, "Pr;ymcko");
    add_evolis(&b, "Ss");
    add_evolis_db(&b, 'y', 64, 493776);
    assert_int_equal(feed_stream(ev, &b, why, sizeof(why)), 1);
    assert_string_equal(why, "Db before Sr: the side must be set first (Rev E p. 43)");

    add_evolis(&b, "Ss");
    add_evolis(&b, "Sr");
    add_evolis_db(&b, 'm', 64, 493776);
    assert_int_equal(feed_stream(ev, &b, why, sizeof(why)), 2);
    assert_string_equal(why, "Db: panel out of the ribbon's order");

    add_evolis(&b, "Ss");
    add_evolis(&b, "Sr");
    add_evolis_db(&b, 'y', 64, 493775); /* one byte short: the CR is taken as data, then no CR */
    add_evolis(&b, "Rlr;p");
    assert_int_equal(feed_stream(ev, &b, why, sizeof(why)), 3);
    assert_string_equal(why, "Db: payload longer than the panel (648 x 1016 dots)");

    add_evolis(&b, "Ss");
    add_evolis(&b, "Sr");
    add_evolis_db(&b, 'y', 64, 493776);
    add_evolis(&b, "Se"); /* before every panel */
    assert_int_equal(feed_stream(ev, &b, why, sizeof(why)), 4);
    assert_string_equal(why, "Se before every panel of the ribbon was downloaded");

    add_evolis(&b, "Ss");
    add_evolis(&b, "Sr");
    add_evolis_db(&b, 'y', 2, 82296); /* 1 bit is for K and O */
    assert_int_equal(feed_stream(ev, &b, why, sizeof(why)), 5);
    assert_string_equal(why, "Db: resolution not allowed for this panel");

    /* the sequence of §21, K-only ribbon: printed */
    add_evolis(&b, "Pr;k");
    add_evolis(&b, "Ss");
    add_evolis(&b, "Sr");
    add_evolis_db(&b, 'k', 2, 82296);
    add_evolis(&b, "Se");
    assert_int_equal(printer_emulator_write(ev, b.data, b.len), 0);
    free(b.data);
    printer_emulator_get_state(ev, &s);
    assert_int_equal(s.refused, 5);
    assert_int_equal(s.printed, 1);
    printer_emulator_free(ev);
}

static void test_magicard_emulator_is_strict(void **state)
{
    /* the vendor's own header for this model (golden), then one thing wrong at a time */
    static const char good[] =
        ",NOC1,VER1.16-F1.0,LANENG,TDT00000000,KGE2,SLWON,DPXOFF,PAG1,IMFK,XCO0,YCO0,WID1016,"
        "HGT642,OVRON,NNNOFF,USFOFF,PCT0,0,1015,641,ICC0,DDD50,SZK97536";
    static const struct {
        const char *header;
        size_t k;
        bool terminators_first;
        const char *why;
    } bad[] = {
        {",NOC1,VER1.16-F1.0,LANENG,TDT00000000,KGE2,SLWON,DPXOFF,PAG1,IMFK,XCO0,YCO0,WID1016,HGT642,OVRON,"
         "NNNOFF,"
         "USFOFF,PCT0,0,1015,641,ICC0,DDD50,SZK97536,",
         97536, false, "comma right before 0x1C (command.h: the firmware faults)"},
        {",NOC1,VER1.16-F1.0,LANENG,TDT00000000,KGE2,SLWON,DPXOFF,PAG1,IMFK,XCO0,YCO0,HGT642,WID1016,OVRON,"
         "NNNOFF,"
         "USFOFF,PCT0,0,1015,641,ICC0,DDD50,SZK97536",
         97536, false, "HGT642 must follow WID1016"},
        {",NOC1,VER1.16,LANENG,TDT00000000,KEE,RT2,SLWON,DPXOFF,PAG1,IMFK,XCO0,YCO0,WID1016,HGT642,OVRON,"
         "NNNOFF,"
         "USFOFF,PCT0,0,1025,641,ICC0,DDD50,SZK85344",
         85344, false, "print-head identifier not this model's"},
        {",NOC1,VER1.16-F1.0,LANENG,TDT00000000,KGE2,SLWON,DPXOFF,PAG1,IMFK,XCO0,YCO0,WID1016,HGT642,OVRON,"
         "NNNOFF,"
         "USFOFF,PCT0,0,1015,641,ICC0,DDD50,SZK85344",
         85344, false, "plane size not this model's layout"},
        {good, 97536, true, "plane data not followed by its 0x1C <letter> ':' terminator"},
        {",NOC1,VER1.16-F1.0,LANENG,TDT00000000,KGE2,ESS1,SLWON,DPXOFF,PAG1,IMFK,XCO0,YCO0,WID1016,HGT642,"
         "OVRON,"
         "NNNOFF,USFOFF,PCT0,0,1015,641,ICC0,DDD50,SZK97536",
         97536, false, "unknown field in the job header"},
    };
    struct printer_emulator *mc = printer_emulator_new(PRINTER_EMULATOR_MAGICARD, "MC1"),
                            *xxl =
                                printer_emulator_new_model(PRINTER_EMULATOR_MAGICARD, "Rio Pro XXL", "MC2");
    struct printer_emulator_state s;
    struct stream b = {0};
    char why[160];

    (void)state;
    assert_null(printer_emulator_new_model(PRINTER_EMULATOR_MAGICARD, "Enduro", "X"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        add_magicard_job(&b, bad[i].header, "K", 0, bad[i].k, bad[i].terminators_first);
        assert_int_equal(feed_stream(mc, &b, why, sizeof(why)), i + 1);
        if (strcmp(why, bad[i].why) != 0)
            fail_msg("case %zu: refused for '%s', want '%s'", i, why, bad[i].why);
    }
    add_magicard(&b, "FLIP,");
    assert_int_equal(feed_stream(mc, &b, why, sizeof(why)), sizeof(bad) / sizeof(bad[0]) + 1);
    assert_string_equal(why, "unknown command 'FLIP,'");
    /* the KGE job the XXL (KEE) does not take, and the vendor's KEE job it does */
    add_magicard_job(&b, good, "K", 0, 97536, false);
    assert_int_equal(feed_stream(xxl, &b, why, sizeof(why)), 1);
    add_magicard_job(&b, bad[2].header, "K", 0, 85344, false);
    assert_int_equal(printer_emulator_write(xxl, b.data, b.len), 0);
    free(b.data);
    printer_emulator_get_state(xxl, &s);
    assert_int_equal(s.printed, 1);
    assert_int_equal(s.refused, 1);
    printer_emulator_free(mc);
    printer_emulator_free(xxl);
}

/* --- print to file
 * -------------------------------------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    data = malloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *ret_len = (size_t)n;
    return data;
}

static void test_print_to_file(void **state)
{
    static const char *const specs[] = {"evolis:file:", "magicard:file:"};
    struct printer_raster *face = render();

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        char path[] = "/tmp/test_printer_file_XXXXXX", spec[64];
        struct printer *p = NULL;
        struct walk w = {0};
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        close(fd);
        snprintf(spec, sizeof(spec), "%s%s", specs[i], path);
        assert_int_equal(printer_open_spec(spec, NULL, &p), 0);
        assert_string_equal(printer_name(p), i ? "magicard" : "evolis");
        OK(printer_feed(p, &d_, c_));
        OK(printer_to_encoder(p, &d_, c_));
        OK(printer_print(p, face, "A1", &d_, c_));
        OK(printer_eject(p, &d_, c_));
        printer_close(p);
        w.data = read_file(path, &w.len);
        if (i == 0) {
            want_evolis(&w, "Pem;2");
            want_evolis(&w, "Rlr;p");
            want_evolis(&w, "Rlr;r");
            want_evolis(&w, "Sis");
            want_evolis(&w, "Pr;ymcko");
            want_evolis(&w, "Ss");
            want_evolis(&w, "Sr");
            want_evolis_db(&w, 'y', 64, 493776);
            want_evolis_db(&w, 'm', 64, 493776);
            want_evolis_db(&w, 'c', 64, 493776);
            want_evolis_db(&w, 'k', 2, 82296);
            want_evolis_db(&w, 'o', 2, 82296);
            want_evolis(&w, "Se");
        } else {
            static const size_t sizes[] = {585216, 585216, 585216, 97536};

            want_magicard(&w, "REQ,INF,");
            want_magicard(&w, "REQ,INF,");
            want_magicard(&w, "CHPDOWN,");
            want_magicard(&w, "REQ,INF,");
            want_magicard(&w, "REQ,INF,");
            want_magicard_job(&w, riopro_header, "BGRK", sizes);
            want_magicard(&w, "REQ,INF,");
        }
        want_end(&w);
        assert_int_equal(remove(path), 0);
    }
    {
        struct printer *p = NULL;

        assert_int_equal(printer_open_spec("evolis:file:/nonexistent/dir/x.bin", NULL, &p), PRINTER_ERROR_IO);
        assert_int_equal(printer_open_spec("evolis:file:", NULL, &p), PRINTER_ERROR_INVALID);
        assert_int_equal(printer_open_spec("sim:file:/tmp/x", NULL, &p), PRINTER_ERROR_INVALID);
    }
    printer_raster_free(face);
}

/* --- enumeration (real libusb only)
 * ---------------------------------------------------------------------------- */

static void test_list_and_open_by_serial(void **state)
{
#ifdef HAVE_TESTBED
    struct printer_emulator *ev = printer_emulator_new(PRINTER_EMULATOR_EVOLIS, "EVSER42"),
                            *mc = printer_emulator_new(PRINTER_EMULATOR_MAGICARD, "MCSER7");
    struct usbprinter_testbed *bed = NULL;
    struct printer_device_info *list = NULL;
    struct printer *p = NULL;
    size_t n = 0;
    char why[256];
    bool seen_ev = false, seen_mc = false;

    (void)state;
    assert_int_equal(usbprinter_testbed_new(&bed, why, sizeof(why)), 0);
    assert_int_equal(usbprinter_testbed_add(bed, ev, 3, why, sizeof(why)), 0);
    assert_int_equal(usbprinter_testbed_add(bed, mc, 4, why, sizeof(why)), 0);
    /* an emulated printer is no attached hardware: `cardline devices` must not list it */
    assert_int_equal(printer_open_spec("emu:evolis", NULL, &p), 0);
    assert_int_equal(printer_list_usb(&list, &n), 0);
    printer_close(p);
    p = NULL;
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(list[i].driver, "evolis")) {
            seen_ev = true;
            assert_string_equal(list[i].model, "Primacy");
            assert_string_equal(list[i].serial, "EVSER42");
            assert_string_equal(list[i].manufacturer, "Evolis");
            assert_string_equal(list[i].spec, "usb:1:3");
        } else {
            seen_mc = true;
            assert_string_equal(list[i].driver, "magicard");
            assert_string_equal(list[i].model, "Rio Pro");
            assert_string_equal(list[i].serial, "MCSER7");
        }
        assert_int_equal(list[i].open_error, 0);
    }
    assert_true(seen_ev && seen_mc);
    free(list);

    assert_int_equal(printer_open_spec_timeouts("usb:MCSER7", NULL, &test_timeouts, &p), 0);
    assert_string_equal(printer_name(p), "magicard");
    printer_close(p);
    assert_int_equal(printer_open_spec_timeouts("usb:1:3", NULL, &test_timeouts, &p), 0);
    assert_string_equal(printer_name(p), "evolis");
    printer_close(p);
    assert_int_equal(printer_open_spec_timeouts("usb:NOSUCH", NULL, &test_timeouts, &p), PRINTER_ERROR_GONE);
    assert_int_equal(printer_open_spec("usb:", NULL, &p), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_open_spec("lpt", NULL, &p), PRINTER_ERROR_INVALID);
    usbprinter_testbed_free(bed);
    printer_emulator_free(ev);
    printer_emulator_free(mc);
#else
    (void)state;
    skip();
#endif
}

/* The print-to-file transport on its own, over a recording transport: every byte goes to the file chunk by
 * chunk before the wrapped transport takes it, a failure of the wrapped one comes back unchanged, and the
 * wrapped transport is the caller's until the file transport owns it. */
struct recorder {
    uint8_t *data;
    size_t len;
    unsigned writes;
    unsigned fail_at; /* the write that fails (1 = the first), 0 = none */
    bool closed;
};

static int recorder_write(void *ctx, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    struct recorder *rec = ctx;

    (void)timeout_ms;
    if (++rec->writes == rec->fail_at)
        return PRINTER_ERROR_GONE;
    memcpy(rec->data + rec->len, data, len);
    rec->len += len;
    return 0;
}

static int recorder_read(void *ctx, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
    (void)ctx, (void)buf, (void)cap, (void)timeout_ms;
    return PRINTER_ERROR_TIMEOUT;
}

static void recorder_close(void *ctx)
{
    ((struct recorder *)ctx)->closed = true;
}

static const struct printer_transport_ops recorder_ops = {
    .write = recorder_write, .read = recorder_read, .close = recorder_close};

static void test_file_transport(void **state)
{
    size_t len = 2 * PRINTER_USB_CHUNK + 10;
    uint8_t *data = malloc(len);
    struct recorder rec = {.data = malloc(len)};
    struct printer_transport *inner = calloc(1, sizeof(*inner)), *t = NULL;
    char path[] = "/tmp/test_printer_tee_XXXXXX", id[8];
    size_t got = 0;
    uint8_t *file;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0 && data && rec.data && inner);
    close(fd);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 7 + i / 251);
    inner->ops = &recorder_ops;
    inner->ctx = &rec;

    assert_int_equal(printer_transport_file_new(NULL, path, &t), PRINTER_ERROR_INVALID);
    assert_int_equal(printer_transport_file_new(inner, "/nonexistent-dir/x.bin", &t), PRINTER_ERROR_IO);
    assert_null(t);
    assert_false(rec.closed);

    assert_int_equal(printer_transport_file_new(inner, path, &t), 0);
    assert_int_equal(t->ops->write(t->ctx, data, len, 100), 0);
    assert_int_equal(rec.writes, 3);
    assert_int_equal(rec.len, len);
    assert_memory_equal(rec.data, data, len);
    assert_int_equal(t->ops->read(t->ctx, rec.data, 1, 100), PRINTER_ERROR_TIMEOUT);
    assert_int_equal(t->ops->device_id(t->ctx, id, sizeof(id), 100), PRINTER_ERROR_IO);
    /* the second chunk fails: it is in the file, the third is not */
    rec.writes = 0;
    rec.len = 0;
    rec.fail_at = 2;
    assert_int_equal(t->ops->write(t->ctx, data, len, 100), PRINTER_ERROR_GONE);
    assert_int_equal(rec.len, PRINTER_USB_CHUNK);
    printer_transport_free(t);
    assert_true(rec.closed);

    file = read_file(path, &got);
    assert_int_equal(got, len + 2 * PRINTER_USB_CHUNK);
    assert_memory_equal(file, data, len);
    assert_memory_equal(file + len, data, 2 * PRINTER_USB_CHUNK);
    free(file);
    unlink(path);
    free(rec.data);
    free(data);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_evolis_full_job, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_chip_failure_costs_no_ribbon, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_cleaning_due, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_feeder_empty, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_ribbon_out, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_cover_open, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_jam, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_reject_box_full, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_unplug_mid_job, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_stall, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_no_answer, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_purge_and_busy, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_magicard_full_job, setup_magicard, teardown),
        cmocka_unit_test_setup_teardown(test_magicard_chip_failure_costs_no_ribbon, setup_magicard, teardown),
        cmocka_unit_test_setup_teardown(test_magicard_faults, setup_magicard, teardown),
        cmocka_unit_test_setup_teardown(test_magicard_no_answer, setup_magicard, teardown),
    };
    const struct CMUnitTest usb_only[] = {
        cmocka_unit_test(test_list_and_open_by_serial),
    };
    const struct CMUnitTest emu_specs[] = {
        cmocka_unit_test(test_spec_emu_evolis),
        cmocka_unit_test(test_spec_emu_magicard),
        cmocka_unit_test(test_spec_emu_feeder_empty),
        cmocka_unit_test(test_spec_emu_errors),
        cmocka_unit_test(test_emulators_refuse_old_streams),
        cmocka_unit_test(test_evolis_emulator_is_strict),
        cmocka_unit_test(test_magicard_emulator_is_strict),
        cmocka_unit_test(test_print_to_file),
        cmocka_unit_test(test_file_transport),
    };
    const char *ci = getenv("CI");
    int failed;

    use_usb = argc > 1 && strcmp(argv[1], "--usb") == 0;
    if (use_usb) {
#ifdef HAVE_TESTBED
        if (!usbprinter_testbed_available()) {
            fprintf(stderr, "not running under umockdev-wrapper: %s\n",
                    ci && !strcmp(ci, "true") ? "FAIL" : "skip");
            return ci && !strcmp(ci, "true") ? 1 : SKIP;
        }
#else
        fprintf(stderr, "umockdev is not installed (libumockdev-dev): %s\n",
                ci && !strcmp(ci, "true") ? "FAIL" : "skip");
        return ci && !strcmp(ci, "true") ? 1 : SKIP;
#endif
    }
    failed = cmocka_run_group_tests_name(use_usb ? "printer_devices_usb" : "printer_devices_emu", tests, NULL,
                                         NULL);
    if (use_usb)
        failed += cmocka_run_group_tests_name("printer_enumeration_usb", usb_only, NULL, NULL);
    else
        failed += cmocka_run_group_tests_name("printer_emu_specs", emu_specs, NULL, NULL);
    return failed ? 1 : 0;
}
