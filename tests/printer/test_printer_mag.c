/* test_printer_mag.c — the magnetic stripe: track validation, the Evolis and Magicard magnetic commands
 * against the strict emulated printers (write, read back, refusals, stripe faults that spoil the card) */
#include "codec/codec.h"
#include "emulator.h"
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

/* ISO 7813-style test data (not a real account): track 1 "B" format code, PAN, name, expiry/service code */
#define T1 "B6228480402564890018^ZHANG/SAN^2912101123400000000"
#define T2 "6228480402564890018=29121011234"
#define T3 "016228480402564890018=1560000000000000003000000000000000000000000=000000000000=2912"

static const struct printer_mag good = {{T1, T2, T3}, PRINTER_MAG_HICO};

#define OK(call)                                                                                             \
    do {                                                                                                     \
        enum printer_disposition d_ = PRINTER_DISPOSITION_OK;                                                \
        char c_[PRINTER_CAUSE_SIZE] = "";                                                                    \
        int r_ = call;                                                                                       \
        if (r_ != 0)                                                                                         \
            fail_msg("%s: %d %s '%s'", #call, r_, printer_disposition_name(d_), c_);                         \
    } while (0)

#define EXPECT_FAIL(call, err, disp_want, cause_want)                                                        \
    do {                                                                                                     \
        enum printer_disposition d_ = PRINTER_DISPOSITION_OK;                                                \
        char c_[PRINTER_CAUSE_SIZE] = "";                                                                    \
        int r_ = call;                                                                                       \
        if (r_ != (err) || d_ != (disp_want) || strcmp(c_, cause_want) != 0)                                 \
            fail_msg("%s: got %d %s '%s', want %d %s '%s'", #call, r_, printer_disposition_name(d_), c_,     \
                     (err), printer_disposition_name(disp_want), cause_want);                                \
    } while (0)

/* --- validation ------------------------------------------------------------------------------------------
 */

static void expect_bad(const char *t1, const char *t2, const char *t3, const char *why_want)
{
    struct printer_mag m = {{t1, t2, t3}, PRINTER_MAG_HICO};
    char why[160] = "";

    assert_int_equal(printer_mag_check(&m, why, sizeof(why)), PRINTER_ERROR_INVALID);
    assert_string_equal(why, why_want);
}

static void test_track_validation(void **state)
{
    char t1[80], t2[40], t3[110];
    struct printer_mag m = {{NULL, NULL, NULL}, PRINTER_MAG_HICO};
    char why[160];

    (void)state;
    assert_int_equal(printer_mag_check(&good, NULL, 0), 0);
    /* ISO 7813: 79 / 40 / 107 characters with start, end sentinel and LRC */
    memset(t1, 'A', 76);
    t1[76] = '\0';
    memset(t2, '9', 37);
    t2[37] = '\0';
    memset(t3, '0', 104);
    t3[104] = '\0';
    m.track[0] = t1;
    m.track[1] = t2;
    m.track[2] = t3;
    assert_int_equal(printer_mag_check(&m, why, sizeof(why)), 0);
    /* the whole sets: 0x20..0x5F less % and ?; 0x30..0x3F less ; and ? */
    m.track[0] = " !\"#$&'()*+,-./0123456789:;<=>@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_";
    m.track[1] = "0123456789:<=>";
    m.track[2] = NULL;
    assert_int_equal(printer_mag_check(&m, why, sizeof(why)), 0);
    m.track[0] = "";
    m.track[1] = "";
    m.coercivity = PRINTER_MAG_LOCO;
    m.track[2] = "1";
    assert_int_equal(printer_mag_check(&m, why, sizeof(why)), 0);

    t1[76] = 'A';
    t1[77] = '\0';
    expect_bad(t1, NULL, NULL, "magnetic track 1: 77 characters, at most 76 (ISO 7813)");
    t2[37] = '9';
    t2[38] = '\0';
    expect_bad(NULL, t2, NULL, "magnetic track 2: 38 characters, at most 37 (ISO 7813)");
    t3[104] = '0';
    t3[105] = '\0';
    expect_bad(NULL, NULL, t3, "magnetic track 3: 105 characters, at most 104 (ISO 7813)");
    expect_bad("B62%28", NULL, NULL,
               "magnetic track 1: character 4 (0x25) is not in the 6-bit alphanumeric set (ISO 7811-2); "
               "sentinels are the printer's");
    expect_bad("B62zhang", NULL, NULL,
               "magnetic track 1: character 4 (0x7A) is not in the 6-bit alphanumeric set (ISO 7811-2)");
    expect_bad("B62\xe5\xbc\xa0", NULL, NULL,
               "magnetic track 1: character 4 (0xE5) is not in the 6-bit alphanumeric set (ISO 7811-2)");
    expect_bad(NULL, "6228A48", NULL,
               "magnetic track 2: character 5 (0x41) is not in the 4-bit numeric set (ISO 7811-2)");
    expect_bad(NULL, "6228?", NULL,
               "magnetic track 2: character 5 (0x3F) is not in the 4-bit numeric set (ISO 7811-2); sentinels "
               "are the printer's");
    expect_bad(NULL, NULL, ";0162",
               "magnetic track 3: character 1 (0x3B) is not in the 4-bit numeric set "
               "(ISO 7811-2); sentinels are the printer's");
    expect_bad(NULL, NULL, "01 62",
               "magnetic track 3: character 3 (0x20) is not in the 4-bit numeric set "
               "(ISO 7811-2)");
    expect_bad(NULL, "", "", "no magnetic track has data");
    assert_int_equal(printer_mag_check(NULL, why, sizeof(why)), PRINTER_ERROR_INVALID);
    m = good;
    m.coercivity = (enum printer_mag_coercivity)7;
    assert_int_equal(printer_mag_check(&m, why, sizeof(why)), PRINTER_ERROR_INVALID);
    assert_string_equal(why, "unknown coercivity 7");
}

/* The frames, from the vendors' texts. */
static void test_mag_codec(void **state)
{
    char out[512];
    struct printer_mag m = {{"B12^A/B", "123=45", NULL}, PRINTER_MAG_HICO};

    (void)state;
    /* A5013 Rev E p. 49: Dm;<track>;<ASCII data> */
    assert_int_equal(evolis_mag_download(2, T2, out, sizeof(out)), (int)strlen("Dm;2;" T2));
    assert_string_equal(out, "Dm;2;" T2);
    assert_int_equal(evolis_mag_download(4, T2, out, sizeof(out)), PRINTER_ERROR_INVALID);
    assert_int_equal(evolis_mag_download(2, "12A", out, sizeof(out)), PRINTER_ERROR_INVALID);
    assert_int_equal(evolis_mag_download(1, T1, out, 10), PRINTER_ERROR_INVALID);
    /* the read-back: the data, or the data between the track's sentinels */
    assert_true(evolis_mag_verify(1, T1, T1));
    assert_true(evolis_mag_verify(1, T1, "%" T1 "?"));
    assert_true(evolis_mag_verify(2, T2, ";" T2 "?"));
    assert_false(evolis_mag_verify(2, T2, "%" T2 "?"));
    assert_true(evolis_mag_verify(1, "NAME  ", "NAME"));
    assert_false(evolis_mag_verify(1, T1, T1 "0"));
    assert_false(evolis_mag_verify(2, T2, "6228480402564890019=29121011234"));
    assert_false(evolis_mag_verify(0, T2, T2));
    /* rastertoultra.c 2127-2180: MGVON, COEH, then MAG<n>, and the data magencd.c framed by sentinels */
    assert_int_equal(magicard_mag_fields(&m, out, sizeof(out)),
                     (int)strlen("MGVON,COEH,MAG1,%B12^A/B?,MAG2,;123=45?,"));
    assert_string_equal(out, "MGVON,COEH,MAG1,%B12^A/B?,MAG2,;123=45?,");
    m.track[0] = NULL;
    m.track[2] = "99";
    m.coercivity = PRINTER_MAG_LOCO;
    assert_true(magicard_mag_fields(&m, out, sizeof(out)) > 0);
    assert_string_equal(out, "MGVON,COEL,MAG2,;123=45?,MAG3,;99?,");
    assert_int_equal(magicard_mag_fields(NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    m.track[0] = "A,B"; /* a comma would end the header field */
    assert_int_equal(magicard_mag_fields(&m, out, sizeof(out)), PRINTER_ERROR_INVALID);
    m.track[0] = "a";
    assert_int_equal(magicard_mag_fields(&m, out, sizeof(out)), PRINTER_ERROR_INVALID);
}

/* --- drivers against the emulated printers ----------------------------------------------------------------
 */

struct fixture {
    struct printer *p;
    struct printer_emulator *emu;
    struct printer_raster *face;
};

/* A white face (no rendering: the stripe does not care what is printed). */
static struct printer_raster *white_face(void)
{
    struct printer_raster *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    r->width = PRINTER_FACE_WIDTH;
    r->height = PRINTER_FACE_HEIGHT;
    r->rgb = malloc((size_t)r->width * r->height * 3);
    r->kmask = calloc((size_t)r->width * r->height, 1);
    assert_non_null(r->rgb);
    assert_non_null(r->kmask);
    memset(r->rgb, 0xff, (size_t)r->width * r->height * 3);
    return r;
}

static int setup(void **state, const char *driver)
{
    static const struct printer_timeouts to = {200, 200, 500};
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    assert_int_equal(printer_open_emu(driver, NULL, &to, &fx->p), 0);
    fx->emu = printer_emu_emulator(fx->p);
    assert_non_null(fx->emu);
    printer_emulator_keep_received(fx->emu, true); /* the "emu:" printer keeps nothing by default */
    fx->face = white_face();
    *state = fx;
    return 0;
}

static int setup_evolis(void **state)
{
    return setup(state, "evolis");
}

static int setup_magicard(void **state)
{
    return setup(state, "magicard");
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    printer_close(fx->p);
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

/* The bytes the printer received, from the first occurrence of from on (the caller frees *ret_all). */
static const uint8_t *received_from(struct fixture *fx, const char *from, uint8_t **ret_all, size_t *ret_left)
{
    size_t len = 0;
    uint8_t *all = printer_emulator_take_received(fx->emu, &len);
    const uint8_t *at = all ? memmem(all, len, from, strlen(from)) : NULL;

    *ret_all = all;
    if (!at)
        fail_msg("'%s' not received", from);
    *ret_left = len - (size_t)(at - all);
    return at;
}

static void test_evolis_stripe_written_and_read_back(void **state)
{
    static const char want[] = "\x1bPmc;h\r"
                               "\x1bPmt;1;1\r"
                               "\x1b"
                               "Dm;1;" T1 "\r"
                               "\x1bPmt;2;2\r"
                               "\x1b"
                               "Dm;2;" T2 "\r"
                               "\x1bPmt;3;3\r"
                               "\x1b"
                               "Dm;3;" T3 "\r"
                               "\x1bSmw\r"
                               "\x1bSmr;1\r"
                               "\x1bSmr;2\r"
                               "\x1bSmr;3\r"
                               "\x1bPr;ymcko\r"
                               "\x1bSs\r"
                               "\x1bSr\r";
    struct fixture *fx = *state;
    struct printer_emulator_state s;
    uint8_t *all;
    const uint8_t *at;
    size_t left;

    OK(printer_feed(fx->p, &d_, c_));
    fx->face->mag = &good;
    OK(printer_print(fx->p, fx->face, "A12345678", &d_, c_));
    s = emu_state(fx);
    assert_string_equal(s.stripe[0], T1);
    assert_string_equal(s.stripe[1], T2);
    assert_string_equal(s.stripe[2], T3);
    assert_int_equal(s.stripes_written, 1);
    assert_int_equal(s.printed, 1);
    assert_int_equal(s.refused, 0);
    /* the stripe before the print sequence, each track read back, then §21 */
    at = received_from(fx, "\x1bPmc;", &all, &left);
    assert_true(left >= sizeof(want) - 1);
    assert_memory_equal(at, want, sizeof(want) - 1);
    free(all);

    /* only the tracks given are written and read; low coercivity */
    {
        const struct printer_mag two = {{NULL, T2, NULL}, PRINTER_MAG_LOCO};
        static const char want2[] = "\x1bPmc;l\r"
                                    "\x1bPmt;2;2\r"
                                    "\x1b"
                                    "Dm;2;" T2 "\r"
                                    "\x1bSmw\r"
                                    "\x1bSmr;2\r"
                                    "\x1bPr;ymcko\r";

        OK(printer_eject(fx->p, &d_, c_));
        OK(printer_feed(fx->p, &d_, c_));
        fx->face->mag = &two;
        OK(printer_print(fx->p, fx->face, "A12345679", &d_, c_));
        at = received_from(fx, "\x1bPmc;", &all, &left);
        assert_memory_equal(at, want2, sizeof(want2) - 1);
        free(all);
        s = emu_state(fx);
        assert_string_equal(s.stripe[0], ""); /* a new blank card */
        assert_string_equal(s.stripe[1], T2);
    }
}

/* A stripe that cannot be written spoils the card like a print fault: REJECT_CARD, no ribbon spent. */
static void test_evolis_stripe_faults(void **state)
{
    struct fixture *fx = *state;
    struct printer_emulator_state s;
    const unsigned ribbon = emu_state(fx).ribbon;

    fx->face->mag = &good;
    OK(printer_feed(fx->p, &d_, c_));
    s = emu_state(fx);
    s.mag_fail_next = true;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_REJECT_CARD, "magnetic stripe: printer answered 'ERR_MAGN WRITE' to Smw");
    OK(printer_reject(fx->p, &d_, c_));
    s = emu_state(fx);
    assert_int_equal(s.ribbon, ribbon);
    assert_int_equal(s.printed, 0);
    assert_int_equal(s.rejected, 1);

    /* written but reads back otherwise: the host's compare catches it, and names no data */
    OK(printer_feed(fx->p, &d_, c_));
    s = emu_state(fx);
    s.mag_corrupt_next = true;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A2", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_REJECT_CARD, "magnetic stripe: track 1 does not read back as written");
    OK(printer_reject(fx->p, &d_, c_));
    s = emu_state(fx);
    assert_int_equal(s.ribbon, ribbon);
    assert_int_equal(s.rejected, 2);
    assert_int_equal(s.refused, 0);

    /* the next card is good again */
    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_print(fx->p, fx->face, "A3", &d_, c_));
    assert_int_equal(emu_state(fx).printed, 1);
}

/* A track the standard forbids never reaches the printer; the cause names the track and the character. */
static void test_refused_track_sends_nothing(void **state)
{
    const struct printer_mag bad = {{"B62\xe5", T2, NULL}, PRINTER_MAG_HICO};
    struct fixture *fx = *state;
    size_t len = 0;
    uint8_t *all;

    OK(printer_feed(fx->p, &d_, c_));
    free(printer_emulator_take_received(fx->emu, &len));
    fx->face->mag = &bad;
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_INVALID,
                PRINTER_DISPOSITION_REJECT_CARD,
                "magnetic track 1: character 4 (0xE5) is not in the 6-bit alphanumeric set (ISO 7811-2)");
    all = printer_emulator_take_received(fx->emu, &len);
    assert_int_equal(len, 0);
    free(all);
    assert_int_equal(emu_state(fx).printed, 0);
}

/* Sends Evolis commands to a fresh emulator; returns the answer to the last one in out. */
static void evolis_say(struct printer_emulator *ev, const char *cmd, char *out, size_t size)
{
    uint8_t frame[256];
    size_t n = strlen(cmd);
    int got;

    frame[0] = 0x1b;
    memcpy(frame + 1, cmd, n);
    frame[n + 1] = 0x0d;
    assert_int_equal(printer_emulator_write(ev, frame, n + 2), 0);
    got = printer_emulator_read(ev, (uint8_t *)out, size - 1);
    assert_true(got > 0);
    out[got] = '\0';
}

static void test_evolis_emulator_magnetic_strict(void **state)
{
    struct printer_emulator *ev = printer_emulator_new(PRINTER_EMULATOR_EVOLIS, "EV1");
    struct printer_emulator_state s;
    char answer[256], why[160], longer[64];

    (void)state;
    evolis_say(ev, "Pmc;h", answer, sizeof(answer));
    assert_string_equal(answer, "OK");
    evolis_say(ev, "Pmc;x", answer, sizeof(answer));
    assert_string_equal(answer, "ERR CDE");
    evolis_say(ev, "Dm;1;b123", answer, sizeof(answer)); /* lower case is not in the 6-bit set */
    assert_string_equal(answer, "ERR_MAGN DATA");
    printer_emulator_last_refusal(ev, why, sizeof(why));
    assert_string_equal(why, "Dm;1: character outside track 1's 6-bit set");
    evolis_say(ev, "Dm;2;%123", answer, sizeof(answer));
    assert_string_equal(answer, "ERR_MAGN DATA");
    snprintf(longer, sizeof(longer), "Dm;2;%s", "11111111111111111111111111111111111111"); /* 38 digits */
    evolis_say(ev, longer, answer, sizeof(answer));
    assert_string_equal(answer, "ERR_MAGN DATA");
    printer_emulator_last_refusal(ev, why, sizeof(why));
    assert_string_equal(why, "Dm;2: track data too long for ISO 7811");
    /* p. 51: the track's format decides the set: ISO 2 on track 1 takes only digits */
    evolis_say(ev, "Pmt;1;2", answer, sizeof(answer));
    assert_string_equal(answer, "OK");
    evolis_say(ev, "Dm;1;B123", answer, sizeof(answer));
    assert_string_equal(answer, "ERR_MAGN DATA");
    evolis_say(ev, "Pmt;1;1", answer, sizeof(answer));
    evolis_say(ev, "Pmt;1;7", answer, sizeof(answer));
    assert_string_equal(answer, "ERR CDE");
    evolis_say(ev, "Dm;4;1", answer, sizeof(answer));
    assert_string_equal(answer, "ERR_MAGN DATA");
    evolis_say(ev, "Dm1;123", answer, sizeof(answer)); /* framing: Dm;<track>;<data> */
    assert_string_equal(answer, "ERR CDE");
    evolis_say(ev, "Smw", answer, sizeof(answer)); /* nothing downloaded */
    assert_string_equal(answer, "ERR CDE");
    evolis_say(ev, "Dm;2;123=45", answer, sizeof(answer));
    assert_string_equal(answer, "OK");
    evolis_say(ev, "Smw", answer, sizeof(answer)); /* no card inside */
    assert_string_equal(answer, "ERR CDE");
    evolis_say(ev, "Sis", answer, sizeof(answer));
    assert_string_equal(answer, "OK");
    evolis_say(ev, "Dm;2;123=45", answer, sizeof(answer));
    evolis_say(ev, "Smw", answer, sizeof(answer));
    assert_string_equal(answer, "OK");
    evolis_say(ev, "Smr;2", answer, sizeof(answer));
    assert_string_equal(answer, "123=45");
    evolis_say(ev, "Smr;1", answer, sizeof(answer)); /* a blank track */
    assert_string_equal(answer, "ERR_MAGN READ");
    evolis_say(ev, "Smr;4", answer, sizeof(answer));
    assert_string_equal(answer, "ERR CDE");
    printer_emulator_get_state(ev, &s);
    assert_int_equal(s.refused, 10);
    assert_int_equal(s.stripes_written, 1);
    printer_emulator_free(ev);
}

static void test_magicard_stripe_in_job(void **state)
{
    static const char fields[] = ",MGVON,COEH,MAG1,%" T1 "?,MAG2,;" T2 "?,MAG3,;" T3 "?,KGE2,SLWON,";
    struct fixture *fx = *state;
    struct printer_emulator_state s;
    uint8_t *all;
    const uint8_t *at;
    size_t left;

    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    fx->face->mag = &good;
    OK(printer_print(fx->p, fx->face, "A12345678", &d_, c_));
    s = emu_state(fx);
    assert_string_equal(s.stripe[0], T1);
    assert_string_equal(s.stripe[1], T2);
    assert_string_equal(s.stripe[2], T3);
    assert_int_equal(s.printed, 1);
    assert_int_equal(s.refused, 0);
    /* rastertoultra.c's order: ...,TDT<8 hex>, the magnetic fields, the print-head identifier */
    at = received_from(fx, ",LANENG,TDT", &all, &left);
    assert_true(left > 19 + sizeof(fields));
    assert_memory_equal(at + 19, fields, sizeof(fields) - 1);
    free(all);
}

static void test_magicard_stripe_faults(void **state)
{
    const struct printer_mag comma = {{"B1,2", NULL, NULL}, PRINTER_MAG_HICO};
    struct fixture *fx = *state;
    struct printer_emulator_state s;
    const unsigned ribbon = emu_state(fx).ribbon;

    fx->face->mag = &good;
    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    s = emu_state(fx);
    s.mag_fail_next = true;
    printer_emulator_set_state(fx->emu, &s);
    /* error_codes.h 1037 "mag verify failed": the card is spoiled, no film used */
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A1", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_REJECT_CARD, "magnetic stripe error (verify failed) (error 1037)");
    s = emu_state(fx);
    assert_int_equal(s.ribbon, ribbon);
    assert_int_equal(s.printed, 0);
    OK(printer_reject(fx->p, &d_, c_));

    /* written wrong: the printer's own verify (MGVON) catches it */
    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    s = emu_state(fx);
    s.mag_corrupt_next = true;
    printer_emulator_set_state(fx->emu, &s);
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A2", &d_, c_), PRINTER_ERROR_DEVICE,
                PRINTER_DISPOSITION_REJECT_CARD, "magnetic stripe error (verify failed) (error 1037)");
    OK(printer_reject(fx->p, &d_, c_));

    /* a comma cannot travel in the comma-separated header */
    OK(printer_feed(fx->p, &d_, c_));
    OK(printer_to_encoder(fx->p, &d_, c_));
    fx->face->mag = &comma;
    EXPECT_FAIL(printer_print(fx->p, fx->face, "A3", &d_, c_), PRINTER_ERROR_INVALID,
                PRINTER_DISPOSITION_REJECT_CARD,
                "magnetic track 1: a ',' cannot travel in a Magicard job header");
    fx->face->mag = &good;
    OK(printer_print(fx->p, fx->face, "A4", &d_, c_));
    s = emu_state(fx);
    assert_int_equal(s.printed, 1);
    assert_int_equal(s.refused, 0);
}

/* A vendor-framed job whose track breaks the rules is refused, as the printer refuses a bad header. */
static void test_magicard_emulator_magnetic_strict(void **state)
{
    static const char *const breaks[][2] = {
        {"%B123?", "B%123?"},     /* no start sentinel */
        {"%B123?", "%B12??"},     /* the end sentinel inside */
        {";123=45?", ";123A45?"}, /* a letter on track 2 */
        {";123=45?", "0123=45?"}, /* track 2 without its start sentinel */
        {"%B123?", "%B1234"},     /* no end sentinel */
        {"MAG2,", "MAG9,"},       /* no track 9 */
        {"MGVON,", "MGVXX,"},     /* unknown field */
    };
    const struct printer_mag m = {{"B123", "123=45", NULL}, PRINTER_MAG_HICO};
    struct printer_raster *face = white_face();
    struct printer_panels *panels = NULL;
    const struct printer_keepout none = {0, 0, 0, 0};
    struct magicard_job_params jp = {
        .layout = MAGICARD_LAYOUT_KGE, .head_id = "KGE2", .firmware = "F1.0", .mag = &m};
    size_t size = magicard_job_size(&jp);
    uint8_t *job = malloc(size);
    int n;

    (void)state;
    assert_true(size > 0);
    assert_int_equal(printer_panels_split(face, &none, &panels), 0);
    n = magicard_encode_job(&jp, panels, job, size);
    assert_true(n > 0);
    for (size_t i = 0; i <= sizeof(breaks) / sizeof(breaks[0]); i++) {
        struct printer_emulator *mc = printer_emulator_new(PRINTER_EMULATOR_MAGICARD, "MC1");
        struct printer_emulator_state s;
        uint8_t *copy = malloc((size_t)n);
        char why[160];

        memcpy(copy, job, (size_t)n);
        if (i < sizeof(breaks) / sizeof(breaks[0])) {
            uint8_t *at = memmem(copy, 200, breaks[i][0], strlen(breaks[i][0]));

            assert_non_null(at);
            assert_int_equal(strlen(breaks[i][0]), strlen(breaks[i][1]));
            memcpy(at, breaks[i][1], strlen(breaks[i][1]));
        }
        assert_int_equal(printer_emulator_write(mc, copy, (size_t)n), 0);
        printer_emulator_get_state(mc, &s);
        printer_emulator_last_refusal(mc, why, sizeof(why));
        if (i < sizeof(breaks) / sizeof(breaks[0])) {
            if (s.refused != 1 || s.printed != 0)
                fail_msg("break %zu (%s) not refused", i, breaks[i][1]);
        } else {
            /* the unbroken job: printed, the stripe kept */
            assert_int_equal(s.refused, 0);
            assert_int_equal(s.printed, 1);
            assert_string_equal(s.stripe[0], "B123");
            assert_string_equal(s.stripe[1], "123=45");
        }
        free(copy);
        printer_emulator_free(mc);
    }
    printer_panels_free(panels);
    free(job);
    printer_raster_free(face);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_track_validation),
        cmocka_unit_test(test_mag_codec),
        cmocka_unit_test_setup_teardown(test_evolis_stripe_written_and_read_back, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_evolis_stripe_faults, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_refused_track_sends_nothing, setup_evolis, teardown),
        cmocka_unit_test_setup_teardown(test_refused_track_sends_nothing, setup_magicard, teardown),
        cmocka_unit_test(test_evolis_emulator_magnetic_strict),
        cmocka_unit_test_setup_teardown(test_magicard_stripe_in_job, setup_magicard, teardown),
        cmocka_unit_test_setup_teardown(test_magicard_stripe_faults, setup_magicard, teardown),
        cmocka_unit_test(test_magicard_emulator_magnetic_strict),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
