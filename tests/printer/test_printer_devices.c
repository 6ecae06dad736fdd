/* test_printer_devices.c — the Evolis and Magicard drivers against the emulated printer: a whole job
 * byte-exact, the face the printer decodes, and every fault to its disposition, either in-process (--emu,
 * the library's emu transport, and the "emu:" printer specs) or through real libusb under umockdev (--usb) */
#include "codec.h"
#include "emulator.h"
#include "panel.h"
#include "printer-private.h"
#include "printer.h"
#include "transport.h"
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

/* --- the expected byte stream
 * ---------------------------------------------------------------------------------- */

struct bytes {
    uint8_t *data;
    size_t len, cap;
};

static void put(struct bytes *b, const uint8_t *data, size_t len)
{
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void put_evolis(struct bytes *b, const char *cmd)
{
    uint8_t f[EVOLIS_CMD_MAX + 2];
    int n = evolis_encode(cmd, f, sizeof(f));

    assert_true(n > 0);
    put(b, f, (size_t)n);
}

static void put_evolis_panel(struct bytes *b, char panel, unsigned bits, const uint8_t *samples)
{
    size_t size = evolis_panel_frame_size(bits);
    uint8_t *f = malloc(size);
    int n = evolis_encode_panel(panel, bits, samples, f, size);

    assert_int_equal(n, (int)size);
    put(b, f, size);
    free(f);
}

static void put_magicard(struct bytes *b, const char *cmd)
{
    uint8_t f[MAGICARD_CMD_MAX + 16];
    int n = magicard_encode(cmd, f, sizeof(f));

    assert_true(n > 0);
    put(b, f, (size_t)n);
}

static struct printer_panels *split(const struct printer_raster *r)
{
    const struct printer_keepout chip = {r->chip_x, r->chip_y, r->chip_w, r->chip_h};
    struct printer_panels *p = NULL;

    assert_int_equal(printer_panels_split(r, &chip, &p), 0);
    return p;
}

static void assert_received(struct fixture *fx, const struct bytes *want)
{
    size_t len;
    uint8_t *got = printer_emulator_take_received(fx->emu, &len);

    assert_int_equal(len, want->len);
    for (size_t i = 0; i < len; i++)
        if (got[i] != want->data[i])
            fail_msg("byte %zu: got 0x%02x, want 0x%02x", i, got[i], want->data[i]);
    free(got);
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
    struct printer_panels *panels = split(fx->face);
    struct printer_status st;
    struct printer_emulator_state s;
    struct bytes want = {0};
    uint8_t *face;

    assert_int_equal(printer_emulator_capture_faces(fx->emu, true), 0);
    OK(printer_purge(fx->p, &d_, c_));
    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_get_status(fx->p, &st, &d_, c_));
    assert_int_equal(st.card, PRINTER_CARD_PRINT);
    assert_int_equal(st.feeder, 1);
    OK(printer_print(fx->p, fx->face, "A12345678", &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    OK(printer_eject(fx->p, &d_, c_));
    s = emu_state(fx);
    assert_int_equal(s.printed, 1);
    assert_int_equal(s.ejected, 1);
    assert_int_equal(s.feeder, 99);
    assert_int_equal(s.position, PRINTER_EMULATOR_CARD_NONE);
    assert_string_equal(printer_name(fx->p), "evolis");
    assert_string_equal(printer_model(fx->p), "Primacy");
    assert_string_equal(printer_serial(fx->p), "EV0001");

    put_evolis(&want, "Pem;2");
    put_evolis(&want, "Pneab;E");
    put_evolis(&want, "Pcrm;D");
    put_evolis(&want, "Rlr;p"); /* purge: no card */
    put_evolis(&want, "Rlr;p"); /* feed */
    put_evolis(&want, "Si");
    put_evolis(&want, "Rlr;p"); /* status */
    put_evolis(&want, "Rse;f");
    put_evolis(&want, "Pr;ymcko");
    put_evolis(&want, "Ss");
    put_evolis_panel(&want, 'y', 6, panels->y);
    put_evolis_panel(&want, 'm', 6, panels->m);
    put_evolis_panel(&want, 'c', 6, panels->c);
    put_evolis_panel(&want, 'k', 1, panels->k);
    put_evolis_panel(&want, 'o', 1, panels->o);
    put_evolis(&want, "Sr");
    put_evolis(&want, "Sis");
    put_evolis(&want, "Se");
    assert_received(fx, &want);
    free(want.data);
    printer_panels_free(panels);
    face = printer_emulator_take_face(fx->emu);
    assert_face(face, fx->face, 0);
    free(face);
    assert_null(printer_emulator_take_face(fx->emu)); /* one face per print */
}

static void test_evolis_feeder_empty(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s = emu_state(fx);

    s.feeder = 0;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "feeder empty");
    assert_int_equal(emu_state(fx).position, PRINTER_EMULATOR_CARD_NONE);
}

static void test_evolis_ribbon_out(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s = emu_state(fx);

    s.ribbon = 0;
    printer_emulator_set_state(fx->emu, &s);
    OK(printer_feed(fx->p, &d_, c_));
    /* the blank is spoiled and an operator must change the ribbon: the line rejects it, then pauses */
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "ribbon out");
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
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "cover open");
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "cover open");
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
                PRINTER_DISPOSITION_PAUSE_LINE, "card jam");
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "card jam");
}

static void test_evolis_reject_box_full(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s;

    OK(printer_feed(fx->p, &d_, c_));
    s = emu_state(fx);
    s.reject_full = true;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "reject box full");
    assert_int_equal(emu_state(fx).position, PRINTER_EMULATOR_CARD_PRINT);
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

static void test_magicard_full_job(void **state)
{
    struct fixture *fx = *state;
    struct printer_panels *panels = split(fx->face);
    struct printer_emulator_state s;
    struct bytes want = {0};
    uint8_t *job = malloc(magicard_job_size()), *face;
    int n;

    assert_int_equal(printer_emulator_capture_faces(fx->emu, true), 0);
    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_print(fx->p, fx->face, "A12345678", &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    OK(printer_eject(fx->p, &d_, c_));
    s = emu_state(fx);
    assert_int_equal(s.printed, 1);
    assert_int_equal(s.ejected, 1);
    assert_string_equal(printer_name(fx->p), "magicard");
    assert_string_equal(printer_model(fx->p), "Rio Pro");
    assert_string_equal(printer_serial(fx->p), "MC0001");

    put_magicard(&want, MAGICARD_STATUS_QUERY); /* open */
    put_magicard(&want, MAGICARD_STATUS_QUERY); /* feed */
    n = magicard_encode_job(panels, job, magicard_job_size());
    assert_int_equal(n, (int)magicard_job_size());
    put(&want, job, (size_t)n);
    put_magicard(&want, MAGICARD_STATUS_QUERY);
    put_magicard(&want, "CHP,");
    put_magicard(&want, MAGICARD_STATUS_QUERY);
    put_magicard(&want, "EJT,");
    put_magicard(&want, MAGICARD_STATUS_QUERY);
    assert_received(fx, &want);
    free(want.data);
    free(job);
    printer_panels_free(panels);
    face = printer_emulator_take_face(fx->emu);
    assert_face(face, fx->face, (PRINTER_PANEL_DOTS - PRINTER_MAGICARD_WIDTH) / 2);
    free(face);
}

static void test_magicard_faults(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s = emu_state(fx);

    s.ribbon = 0;
    printer_emulator_set_state(fx->emu, &s);
    OK(printer_feed(fx->p, &d_, c_));
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "ribbon out");
    OK(printer_reject(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).rejected, 1);

    s = emu_state(fx);
    s.ribbon = 10;
    s.feeder = 0;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "feeder empty");

    s = emu_state(fx);
    s.feeder = 10;
    s.cover_open = true;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "cover open");

    s = emu_state(fx);
    s.cover_open = false;
    s.jam_next_print = true;
    printer_emulator_set_state(fx->emu, &s);
    OK(printer_feed(fx->p, &d_, c_));
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "card jam");

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
    t0 = now_ms();
    OK(printer_print(p, face, "A12345678", &d_, c_));
    assert_true(now_ms() - t0 >= 30); /* card_ms: the simulated mechanical time */
    OK(printer_to_encoder(p, &d_, c_));
    OK(printer_get_status(p, &st, &d_, c_));
    assert_int_equal(st.card, PRINTER_CARD_CONTACT);
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
    OK(printer_purge(p, &d_, c_)); /* a Magicard has taken no blank yet: nothing to throw out */

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

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_evolis_full_job, setup_evolis, teardown),
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
