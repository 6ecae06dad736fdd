/* test_printer_golden.c — cardline's printer streams for a fixed test face against golden streams made by the
 * vendors' own open programs (Printer-EVOLIS evolis-driver.pl, Magicard's GPL rastertoultra): the K panel
 * byte for byte and every framing byte; how the goldens were made is in golden/README.md */
#include "emulator.h"
#include "printer-private.h"
#include "printer.h"
#include "transport/transport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define EV_K_SIZE (648u * 1016 / 8)

/* The fixed test face (golden/README.md, pattern.py there): black where this is true, white elsewhere. */
static bool face_black(unsigned x, unsigned y)
{
    return (((x / 8 + y / 8) % 3 == 0) != (x >= 600 && x < 900 && y >= 400 && y < 600)) ||
           (x == 0 && y == 0) || (x == 1015 && y == 647);
}

/* The face as a raster: black pixels on the K panel. The chip window is chosen so that cardline's overcoat
 * hole is the vendor's "chip normal" preset NCT90,295,260,450 (left 90, right 260, bottom 644 - 349, top
 * 644 - 194); chip false leaves no window. */
static struct printer_raster *test_face(bool chip)
{
    struct printer_raster *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    r->width = PRINTER_FACE_WIDTH;
    r->height = PRINTER_FACE_HEIGHT;
    r->rgb = malloc((size_t)r->width * r->height * 3);
    r->kmask = calloc((size_t)r->width * r->height, 1);
    assert_non_null(r->rgb);
    assert_non_null(r->kmask);
    for (unsigned y = 0; y < r->height; y++)
        for (unsigned x = 0; x < r->width; x++) {
            bool k = face_black(x, y);

            r->kmask[(size_t)y * r->width + x] = k;
            memset(r->rgb + ((size_t)y * r->width + x) * 3, k ? 0 : 255, 3);
        }
    if (chip) {
        r->chip_x = 90;
        r->chip_w = 171;
        r->chip_y = 194;
        r->chip_h = 156;
    }
    return r;
}

static uint8_t *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long n;

    if (!f)
        fail_msg("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *ret_len = (size_t)n;
    return data;
}

static uint8_t *golden(const char *name, size_t *ret_len)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", CARDLINE_GOLDEN_DIR, name);
    return read_file(path, ret_len);
}

/* Offset of needle in hay at or after from, or SIZE_MAX. */
static size_t find(const uint8_t *hay, size_t len, size_t from, const void *needle, size_t n)
{
    for (size_t i = from; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return i;
    return SIZE_MAX;
}

/* Runs one card through the driver over an emulated printer whose transport writes every byte to a file, and
 * returns the file. */
static uint8_t *run_card(const struct printer_driver *drv, struct printer_emulator *emu,
                         const struct printer_raster *r, size_t *ret_len)
{
    char path[] = "/tmp/test_printer_golden_XXXXXX", cause[PRINTER_CAUSE_SIZE];
    struct printer_link_config link = {.product_id = printer_emulator_product(emu),
                                       .device_id = printer_emulator_device_id(emu),
                                       .usb_serial = printer_emulator_serial(emu),
                                       .timeouts = {300, 300, 600}};
    struct printer_transport *t = NULL;
    enum printer_disposition d;
    struct printer *p = NULL;
    uint8_t *data;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(printer_transport_emu_file_new(emu, path, &t), 0);
    link.transport = t;
    assert_int_equal(printer_new(drv, &link, &p), 0);
    assert_int_equal(printer_feed(p, &d, cause), 0);
    assert_int_equal(printer_to_encoder(p, &d, cause), 0);
    if (printer_print(p, r, "GOLDEN", &d, cause) != 0)
        fail_msg("print: %s", cause);
    printer_close(p);
    data = read_file(path, ret_len);
    remove(path);
    return data;
}

/* Evolis: the Db;k;2 payload of cardline's YMCKO job equals the one evolis-driver.pl made from the same face,
 * and both follow §21: Ss, Sr, then the downloads, Se at the end. */
static void test_evolis_golden(void **state)
{
    struct printer_emulator *emu = printer_emulator_new(PRINTER_EMULATOR_EVOLIS, "GOLD");
    struct printer_raster *r = test_face(false);
    size_t glen, olen, g, o, ss, se;
    uint8_t *gold = golden("evolis-k.bin", &glen), *ours = run_card(&printer_driver_evolis, emu, r, &olen);
    static const char db_k[] = "\x1b"
                               "Db;k;2;";

    (void)state;
    g = find(gold, glen, 0, db_k, strlen(db_k));
    o = find(ours, olen, 0, db_k, strlen(db_k));
    assert_true(g != SIZE_MAX && o != SIZE_MAX);
    for (size_t i = 0; i < EV_K_SIZE; i++)
        if (gold[g + 8 + i] != ours[o + 8 + i])
            fail_msg("K panel byte %zu (line %zu): golden 0x%02x, cardline 0x%02x", i, i / 81,
                     gold[g + 8 + i], ours[o + 8 + i]);
    assert_int_equal(gold[g + 8 + EV_K_SIZE], 0x0d);
    assert_int_equal(ours[o + 8 + EV_K_SIZE], 0x0d);
    /* the framing around the downloads: ESC Ss CR ESC Sr CR right before the first Db, ESC Se CR after the
     * last */
    ss = find(gold, glen, 0,
              "\x1bSs\r\x1bSr\r\x1b"
              "Db;",
              11);
    assert_true(ss != SIZE_MAX && ss < g);
    ss = find(ours, olen, 0,
              "\x1bSs\r\x1bSr\r\x1b"
              "Db;",
              11);
    assert_true(ss != SIZE_MAX && ss < o);
    se = find(gold, glen, g, "\r\x1bSe\r", 5);
    assert_int_equal(se, g + 8 + EV_K_SIZE);
    /* ours: K, then the overlay, then Se ends the stream */
    se = find(ours, olen, o,
              "\r\x1b"
              "Db;o;2;",
              9);
    assert_int_equal(se, o + 8 + EV_K_SIZE);
    assert_memory_equal(ours + olen - 5, "\r\x1bSe\r", 5);
    free(gold);
    free(ours);
    printer_raster_free(r);
    printer_emulator_free(emu);
}

/* Splits a header into its fields, drops what a K-only job differs in from a YMCK one (IMF, SZB/SZG/SZR) and
 * pins TDT; the rest must be equal, in order. */
static void normalise_header(const uint8_t *h, size_t len, char *out, size_t size)
{
    char buf[1024];
    size_t o = 0;

    assert_true(len < sizeof(buf));
    memcpy(buf, h, len);
    buf[len] = '\0';
    out[0] = '\0';
    for (char *save = NULL, *f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (!strncmp(f, "IMF", 3) || !strncmp(f, "SZB", 3) || !strncmp(f, "SZG", 3) || !strncmp(f, "SZR", 3))
            continue;
        o += (size_t)snprintf(out + o, size - o, ",%s", !strncmp(f, "TDT", 3) ? "TDT00000000" : f);
    }
}

/* Magicard: cardline's YMCK job for the test face against rastertoultra's K-only job (the same face, turned
 * 180° as the raster the filter was given: see golden/README.md). Header fields other than the planes, the K
 * plane byte for byte, its 0x1C 'K' ':' terminator and the final 0x03. */
static void magicard_golden(const char *name, const char *model, unsigned head_position, bool chip,
                            size_t k_size)
{
    struct printer_emulator *emu = printer_emulator_new_model(PRINTER_EMULATOR_MAGICARD, model, "GOLD");
    struct printer_emulator_state st;
    struct printer_raster *r = test_face(chip);
    char gh[1024], oh[1024];
    size_t glen, olen, gs, os, ge, oe;
    uint8_t *gold, *ours, guards[65];

    assert_non_null(emu);
    printer_emulator_get_state(emu, &st);
    st.head_position = head_position;
    printer_emulator_set_state(emu, &st);
    gold = golden(name, &glen);
    ours = run_card(&printer_driver_magicard, emu, r, &olen);
    memset(guards, 0x05, 64);
    guards[64] = 0x01;
    gs = find(gold, glen, 0, guards, 65);
    os = find(ours, olen, 0, guards, 65);
    assert_true(gs != SIZE_MAX && os != SIZE_MAX);
    gs += 65;
    os += 65;
    ge = find(gold, glen, gs, "\x1c", 1);
    oe = find(ours, olen, os, "\x1c", 1);
    assert_true(ge != SIZE_MAX && oe != SIZE_MAX);
    assert_int_not_equal(gold[ge - 1], ',');
    assert_int_not_equal(ours[oe - 1], ',');
    normalise_header(gold + gs, ge - gs, gh, sizeof(gh));
    normalise_header(ours + os, oe - os, oh, sizeof(oh));
    assert_string_equal(oh, gh);
    /* golden: header 0x1C, K plane, 0x1C 'K' ':', 0x03; ours: three colour planes first */
    ge += 1;
    oe += 1 + 3 * (6 * k_size + 3);
    assert_memory_equal(ours + oe - 3,
                        "\x1c"
                        "R:",
                        3);
    for (size_t i = 0; i < k_size; i++)
        if (gold[ge + i] != ours[oe + i])
            fail_msg("%s: K plane byte %zu (line %zu, byte %zu): golden 0x%02x, cardline 0x%02x", name, i,
                     i / (k_size / 1016), i % (k_size / 1016), gold[ge + i], ours[oe + i]);
    assert_memory_equal(gold + ge + k_size,
                        "\x1c"
                        "K:\x03",
                        4);
    assert_memory_equal(ours + oe + k_size,
                        "\x1c"
                        "K:\x03",
                        4);
    assert_int_equal(glen, ge + k_size + 4);
    free(gold);
    free(ours);
    printer_raster_free(r);
    printer_emulator_free(emu);
}

static void test_magicard_golden_riopro(void **state)
{
    (void)state;
    magicard_golden("magicard-riopro-k.bin", "Rio Pro", 50, true, 97536);
}

static void test_magicard_golden_riopro_pos40(void **state)
{
    (void)state;
    magicard_golden("magicard-riopro-k-pos40.bin", "Rio Pro", 40, false, 97536);
}

static void test_magicard_golden_xxl(void **state)
{
    (void)state;
    magicard_golden("magicard-xxl-k.bin", "Rio Pro XXL", 50, false, 85344);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evolis_golden),
        cmocka_unit_test(test_magicard_golden_riopro),
        cmocka_unit_test(test_magicard_golden_riopro_pos40),
        cmocka_unit_test(test_magicard_golden_xxl),
    };

    return cmocka_run_group_tests_name("printer_golden", tests, NULL, NULL);
}
