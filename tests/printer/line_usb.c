/* line_usb.c — the production line driving emulated Evolis and Magicard printers through real libusb (umockdev):
 * the same driver code a bureau's printers get. Runs under umockdev-wrapper: line_usb CONNINFO DATA_DIR */
#include "base/config.h"
#include "store/db.h"
#include "producer.h"
#include "emulator.h"
#include "usbprinter_testbed.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fails;

#define EXPECT(cond, ...)                                                                                           \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "FAIL: " __VA_ARGS__);                                                                 \
            fputc('\n', stderr);                                                                                   \
            fails++;                                                                                               \
        }                                                                                                          \
    } while (0)

static long count(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    long n = PQresultStatus(res) == PGRES_TUPLES_OK ? atol(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    return n;
}

int main(int argc, char **argv)
{
    struct printer_emulator *evolis = printer_emulator_new(PRINTER_EMULATOR_EVOLIS, "EV0001");
    struct printer_emulator *magicard = printer_emulator_new(PRINTER_EMULATOR_MAGICARD, "MG0001");
    struct usbprinter_testbed *tb = NULL;
    struct producer_config config = {0};
    struct producer_run_config run = {.lease_seconds = 10, .seed = 1, .until_empty = true, .config = &config};
    struct printer_emulator_state ev, mg;
    struct db_config db;
    char why[256];
    PGconn *conn;
    long produced, total;

    if (argc != 3) {
        fprintf(stderr, "usage: line_usb CONNINFO DATA_DIR\n");
        return 2;
    }
    if (!usbprinter_testbed_available()) {
        /* locally a skip; CI must drive the printers through libusb, so there it is a failure */
        const char *ci = getenv("CI");
        bool in_ci = ci && strcmp(ci, "true") == 0;

        fprintf(stderr, "%s: not running under umockdev-wrapper\n", in_ci ? "FAIL" : "SKIP");
        return in_ci ? 1 : 77;
    }
    if (!evolis || !magicard || usbprinter_testbed_new(&tb, why, sizeof(why)) < 0 ||
        usbprinter_testbed_add(tb, evolis, 2, why, sizeof(why)) < 0 ||
        usbprinter_testbed_add(tb, magicard, 3, why, sizeof(why)) < 0) {
        fprintf(stderr, "testbed: %s\n", why);
        return 1;
    }
    config.nlines = 2;
    snprintf(config.lines[0].id, sizeof(config.lines[0].id), "EV");
    snprintf(config.lines[0].printer, sizeof(config.lines[0].printer), "usb:EV0001");
    snprintf(config.lines[0].encoder, sizeof(config.lines[0].encoder), "sim");
    snprintf(config.lines[1].id, sizeof(config.lines[1].id), "MG");
    snprintf(config.lines[1].printer, sizeof(config.lines[1].printer), "usb:magicard");
    snprintf(config.lines[1].encoder, sizeof(config.lines[1].encoder), "sim");
    if (producer_db_resolve(argv[2], argv[1], &db) < 0 || !(conn = producer_db_connect(&db)))
        return 1;

    /* every application printed on one of the two printers through libusb */
    EXPECT(producer_run(&db, &run) == 0, "run failed");
    printer_emulator_get_state(evolis, &ev);
    printer_emulator_get_state(magicard, &mg);
    produced = count(conn, "SELECT count(*) FROM application WHERE status = 'produced'");
    total = count(conn, "SELECT count(*) FROM application");
    printf("evolis printed %u (ejected %u, rejected %u), magicard printed %u (ejected %u, rejected %u); "
           "%ld of %ld produced\n",
           ev.printed, ev.ejected, ev.rejected, mg.printed, mg.ejected, mg.rejected, produced, total);
    EXPECT(produced == total, "not every application was produced");
    EXPECT((long)(ev.ejected + mg.ejected) == produced, "ejected cards %u + %u differ from produced %ld", ev.ejected,
           mg.ejected, produced);
    EXPECT(ev.ejected > 0 && mg.ejected > 0, "one of the printers printed nothing");
    EXPECT(count(conn, "SELECT count(*) FROM card WHERE status = 'good' AND line_id = 'EV'") == ev.ejected,
           "good cards of line EV differ from the Evolis output stacker");
    EXPECT(ev.position == PRINTER_EMULATOR_CARD_NONE && mg.position == PRINTER_EMULATOR_CARD_NONE, "a card was left inside");

    /* an empty feeder pauses the line with the cause; nothing is lost: the application goes back to the queue */
    ev.feeder = 0;
    printer_emulator_set_state(evolis, &ev);
    config.nlines = 1;
    {
        struct producer_gen_config gen = {.count = 1, .seed = 77};
        EXPECT(producer_gen_applications(conn, &gen) == 1, "could not generate one more application");
    }
    EXPECT(producer_run(&db, &run) == 0, "second run failed");
    EXPECT(count(conn, "SELECT count(*) FROM line WHERE id = 'EV' AND state = 'paused' "
                       "AND state_reason LIKE '%feeder%'") == 1,
           "line EV not paused for its empty feeder");
    EXPECT(count(conn, "SELECT count(*) FROM application WHERE status = 'pending'") == 1,
           "the application is not back in the queue");
    EXPECT(count(conn, "SELECT count(*) FROM card WHERE status IN ('allocated','printing','encoding','ejecting')") == 0,
           "a card was left in a physical step");

    /* chip first: with failing chips, every failed card is rejected before it is printed — the ribbon pays only
     * for the cards that were printed, and every printed card is good */
    {
        struct printer_emulator_state before;
        struct producer_gen_config gen = {.count = 12, .seed = 78};
        long chip_spoiled;

        ev.feeder = 100;
        printer_emulator_set_state(evolis, &ev);
        printer_emulator_get_state(evolis, &before);
        run.chip_fault_permille = 400;
        EXPECT(producer_gen_applications(conn, &gen) == 12, "could not generate more applications");
        EXPECT(producer_run(&db, &run) == 0, "third run failed");
        printer_emulator_get_state(evolis, &ev);
        chip_spoiled = count(conn, "SELECT count(*) FROM card WHERE line_id = 'EV' AND status = 'spoiled' "
                                   "AND spoil_reason LIKE 'chip%'");
        printf("with failing chips: %u printed, %u rejected, %ld spoiled by the chip, ribbon %u -> %u\n",
               ev.printed - before.printed, ev.rejected - before.rejected, chip_spoiled, before.ribbon, ev.ribbon);
        EXPECT(chip_spoiled > 0, "no chip failed: the test proves nothing");
        EXPECT(before.ribbon - ev.ribbon == ev.printed - before.printed, "ribbon used %u for %u printed cards",
               before.ribbon - ev.ribbon, ev.printed - before.printed);
        EXPECT(ev.printed - before.printed == ev.ejected - before.ejected, "a printed card was not good");
        EXPECT((long)(ev.rejected - before.rejected) >= chip_spoiled, "a chip-failed card was not rejected");
        EXPECT(ev.refused == 0, "the emulated Evolis refused %u commands", ev.refused);
    }
    /* the same on the Magicard line: CHP takes the blank to the encoder, a failed one is ejected unprinted */
    {
        struct printer_emulator_state before;
        struct producer_gen_config gen = {.count = 12, .seed = 79};
        long chip_spoiled, good_before = count(conn, "SELECT count(*) FROM card WHERE line_id = 'MG' AND status = 'good'");

        printer_emulator_get_state(magicard, &before);
        snprintf(config.lines[0].id, sizeof(config.lines[0].id), "MG");
        snprintf(config.lines[0].printer, sizeof(config.lines[0].printer), "usb:magicard");
        EXPECT(producer_gen_applications(conn, &gen) == 12, "could not generate more applications");
        EXPECT(producer_run(&db, &run) == 0, "fourth run failed");
        printer_emulator_get_state(magicard, &mg);
        chip_spoiled = count(conn, "SELECT count(*) FROM card WHERE line_id = 'MG' AND status = 'spoiled' "
                                   "AND spoil_reason LIKE 'chip%'");
        printf("magicard with failing chips: %u printed, %u ejected, %ld spoiled by the chip, film %u -> %u\n",
               mg.printed - before.printed, mg.ejected - before.ejected, chip_spoiled, before.ribbon, mg.ribbon);
        EXPECT(chip_spoiled > 0, "no chip failed on the Magicard line: the test proves nothing");
        EXPECT(before.ribbon - mg.ribbon == mg.printed - before.printed, "film used %u for %u printed cards",
               before.ribbon - mg.ribbon, mg.printed - before.printed);
        EXPECT((long)(mg.printed - before.printed) ==
                   count(conn, "SELECT count(*) FROM card WHERE line_id = 'MG' AND status = 'good'") - good_before,
               "a printed card was not good");
        EXPECT(mg.refused == 0, "the emulated Magicard refused %u commands or jobs", mg.refused);
        EXPECT(mg.position == PRINTER_EMULATOR_CARD_NONE, "a card was left in the Magicard");
    }

    PQfinish(conn);
    usbprinter_testbed_free(tb);
    printer_emulator_free(evolis);
    printer_emulator_free(magicard);
    if (fails)
        return 1;
    printf("ok: the line drove both printers through libusb; an empty feeder paused it without losing anything\n");
    return 0;
}
