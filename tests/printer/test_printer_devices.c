/* test_printer_devices.c — the Evolis and Magicard drivers against the emulated printer: a whole job
 * byte-exact and every fault to its disposition, either in-process (--emu) or through real libusb under
 * umockdev (--usb) */
#include "codec.h"
#include "panel.h"
#include "printer-private.h"
#include "printer.h"
#include "transport.h"
#include "usbprinter.h"
#ifdef HAVE_TESTBED
#include "usbprinter_testbed.h"
#endif

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define SKIP            77
#define FAULT_BOUND_MS  5000 /* no fault may take longer than this to report */
#define TEST_COMMAND_MS 300
#define TEST_MOVE_MS    300
#define TEST_PRINT_MS   600

static bool use_usb; /* chosen once by main() from argv */

/* --- the in-process transport
 * ---------------------------------------------------------------------------------- */

static int emu_write(void *ctx, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    (void)timeout_ms;
    for (size_t off = 0; off < len; off += PRINTER_USB_CHUNK) {
        size_t n = len - off < PRINTER_USB_CHUNK ? len - off : PRINTER_USB_CHUNK;
        int r = usbprinter_write(ctx, data + off, n);

        if (r == -ENODEV)
            return PRINTER_ERROR_GONE;
        if (r == -EPIPE)
            return PRINTER_ERROR_STALL;
    }
    return 0;
}

static int emu_read(void *ctx, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
    int r = usbprinter_read(ctx, buf, cap);

    (void)timeout_ms;
    if (r == -ENODEV)
        return PRINTER_ERROR_GONE;
    return r == 0 ? PRINTER_ERROR_TIMEOUT : r;
}

static void emu_close(void *ctx)
{
    (void)ctx; /* the test owns the printer */
}

static const struct printer_transport_ops emu_ops = {
    .write = emu_write, .read = emu_read, .close = emu_close};

/* --- fixture
 * --------------------------------------------------------------------------------------------------- */

struct fixture {
    struct usbprinter *emu;
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

static int open_printer(struct fixture *fx, enum usbprinter_kind kind)
{
    fx->emu = usbprinter_new(kind, kind == USBPRINTER_EVOLIS ? "EV0001" : "MC0001");
    assert_non_null(fx->emu);
    if (use_usb) {
#ifdef HAVE_TESTBED
        char why[256];

        assert_int_equal(usbprinter_testbed_new(&fx->bed, why, sizeof(why)), 0);
        assert_int_equal(usbprinter_testbed_add(fx->bed, fx->emu, 5, why, sizeof(why)), 0);
        return printer_open_spec_timeouts(kind == USBPRINTER_EVOLIS ? "usb:evolis" : "usb:magicard", NULL,
                                          &test_timeouts, &fx->p);
#else
        fail_msg("built without umockdev");
#endif
    }
    {
        struct printer_transport *t = calloc(1, sizeof(*t));
        struct printer_link_config link = {.transport = t,
                                           .product_id = usbprinter_product(fx->emu),
                                           .device_id = usbprinter_device_id(fx->emu),
                                           .usb_serial = usbprinter_serial(fx->emu),
                                           .timeouts = test_timeouts};
        int r;

        t->ops = &emu_ops;
        t->ctx = fx->emu;
        r = printer_new(kind == USBPRINTER_EVOLIS ? &printer_driver_evolis : &printer_driver_magicard, &link,
                        &fx->p);
        if (r < 0)
            printer_transport_free(t);
        return r;
    }
}

static int setup_evolis(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    fx->face = render();
    assert_int_equal(open_printer(fx, USBPRINTER_EVOLIS), 0);
    *state = fx;
    return 0;
}

static int setup_magicard(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    fx->face = render();
    assert_int_equal(open_printer(fx, USBPRINTER_MAGICARD), 0);
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
    usbprinter_free(fx->emu);
    printer_raster_free(fx->face);
    free(fx);
    return 0;
}

static struct usbprinter_state emu_state(struct fixture *fx)
{
    struct usbprinter_state s;

    usbprinter_get_state(fx->emu, &s);
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
    uint8_t *got = usbprinter_take_received(fx->emu, &len);

    assert_int_equal(len, want->len);
    for (size_t i = 0; i < len; i++)
        if (got[i] != want->data[i])
            fail_msg("byte %zu: got 0x%02x, want 0x%02x", i, got[i], want->data[i]);
    free(got);
}

/* --- Evolis
 * ---------------------------------------------------------------------------------------------------- */

static void test_evolis_full_job(void **state)
{
    struct fixture *fx = *state;
    struct printer_panels *panels = split(fx->face);
    struct printer_status st;
    struct usbprinter_state s;
    struct bytes want = {0};

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
    assert_int_equal(s.position, USBPRINTER_CARD_NONE);
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
}

static void test_evolis_feeder_empty(void **state)
{
    struct fixture *fx = *state;
    struct usbprinter_state s = emu_state(fx);

    s.feeder = 0;
    usbprinter_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "feeder empty");
    assert_int_equal(emu_state(fx).position, USBPRINTER_CARD_NONE);
}

static void test_evolis_ribbon_out(void **state)
{
    struct fixture *fx = *state;
    struct usbprinter_state s = emu_state(fx);

    s.ribbon = 0;
    usbprinter_set_state(fx->emu, &s);
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
    struct usbprinter_state s;

    OK(printer_feed(fx->p, &d_, c_));
    s = emu_state(fx);
    s.cover_open = true;
    usbprinter_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "cover open");
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "cover open");
    s = emu_state(fx);
    s.cover_open = false;
    usbprinter_set_state(fx->emu, &s);
    /* once the operator closes the cover, the card goes to the reject box */
    OK(printer_purge(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).rejected, 1);
}

static void test_evolis_jam(void **state)
{
    struct fixture *fx = *state;
    struct usbprinter_state s;

    OK(printer_feed(fx->p, &d_, c_));
    s = emu_state(fx);
    s.jam_next_print = true;
    usbprinter_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "card jam");
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "card jam");
}

static void test_evolis_reject_box_full(void **state)
{
    struct fixture *fx = *state;
    struct usbprinter_state s;

    OK(printer_feed(fx->p, &d_, c_));
    s = emu_state(fx);
    s.reject_full = true;
    usbprinter_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "reject box full");
    assert_int_equal(emu_state(fx).position, USBPRINTER_CARD_PRINT);
}

static void test_evolis_unplug_mid_job(void **state)
{
    struct fixture *fx = *state;

    OK(printer_feed(fx->p, &d_, c_));
    /* the cable comes out in the middle of the yellow panel */
    usbprinter_set_fault(fx->emu, USBPRINTER_FAULT_UNPLUG, 200000);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_GONE,
                PRINTER_DISPOSITION_DEVICE_GONE, "printer unplugged");
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_GONE, PRINTER_DISPOSITION_DEVICE_GONE,
                "printer unplugged");
}

static void test_evolis_stall(void **state)
{
    struct fixture *fx = *state;

    OK(printer_feed(fx->p, &d_, c_));
    usbprinter_set_fault(fx->emu, USBPRINTER_FAULT_STALL, 0);
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
    usbprinter_set_fault(fx->emu, USBPRINTER_FAULT_MUTE, 0);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_TIMEOUT,
                PRINTER_DISPOSITION_PAUSE_LINE, "printer did not answer");
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_TIMEOUT, PRINTER_DISPOSITION_PAUSE_LINE,
                "printer did not answer");
    /* it answers again: the reject went through unanswered, so a purge finds the printer empty */
    usbprinter_set_fault(fx->emu, USBPRINTER_FAULT_NONE, 0);
    OK(printer_purge(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).rejected, 1);
    assert_int_equal(emu_state(fx).position, USBPRINTER_CARD_NONE);
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
    struct usbprinter_state s;
    struct bytes want = {0};
    uint8_t *job = malloc(magicard_job_size());
    int n;

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
}

static void test_magicard_faults(void **state)
{
    struct fixture *fx = *state;
    struct usbprinter_state s = emu_state(fx);

    s.ribbon = 0;
    usbprinter_set_state(fx->emu, &s);
    OK(printer_feed(fx->p, &d_, c_));
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "ribbon out");
    OK(printer_reject(fx->p, &d_, c_));
    assert_int_equal(emu_state(fx).rejected, 1);

    s = emu_state(fx);
    s.ribbon = 10;
    s.feeder = 0;
    usbprinter_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "feeder empty");

    s = emu_state(fx);
    s.feeder = 10;
    s.cover_open = true;
    usbprinter_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_DEVICE, PRINTER_DISPOSITION_PAUSE_LINE,
                "cover open");

    s = emu_state(fx);
    s.cover_open = false;
    s.jam_next_print = true;
    usbprinter_set_state(fx->emu, &s);
    OK(printer_feed(fx->p, &d_, c_));
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_PAUSE_LINE, "card jam");

    usbprinter_set_fault(fx->emu, USBPRINTER_FAULT_UNPLUG, 10);
    EXPECT_FAIL(printer_reject(fx->p, &d_, c_), PRINTER_ERROR_GONE, PRINTER_DISPOSITION_DEVICE_GONE,
                "printer unplugged");
}

static void test_magicard_no_answer(void **state)
{
    struct fixture *fx = *state;

    usbprinter_set_fault(fx->emu, USBPRINTER_FAULT_MUTE, 0);
    EXPECT_FAIL(printer_feed(fx->p, &d_, c_), PRINTER_ERROR_TIMEOUT, PRINTER_DISPOSITION_PAUSE_LINE,
                "printer did not answer");
}

/* --- enumeration (real libusb only)
 * ---------------------------------------------------------------------------- */

static void test_list_and_open_by_serial(void **state)
{
#ifdef HAVE_TESTBED
    struct usbprinter *ev = usbprinter_new(USBPRINTER_EVOLIS, "EVSER42"),
                      *mc = usbprinter_new(USBPRINTER_MAGICARD, "MCSER7");
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
    assert_int_equal(printer_list_usb(&list, &n), 0);
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
    usbprinter_free(ev);
    usbprinter_free(mc);
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
    return failed ? 1 : 0;
}
