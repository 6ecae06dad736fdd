/* producer.h — the controller's entry points: production run, intake, generator, reports */
#pragma once

#include "store/db.h"
#include "base/rules.h"

struct producer_config;

#include <stdbool.h>
#include <stdint.h>

struct producer_run_config {
    int lines;               /* number of simulated lines */
    const char *line_prefix; /* lines are named <prefix>1..<prefix>N */
    bool until_empty;        /* stop when nothing is left to produce */
    int lease_seconds;       /* how long a claimed application stays ours without a heartbeat */
    unsigned card_ms;        /* simulated time per card in the printer and in the encoder */
    unsigned print_fault_permille;
    unsigned chip_fault_permille;
    unsigned scp02_fault_permille; /* simulated cards whose bank application has other SCP02 keys */
    unsigned seed;
    int max_cards;            /* stop after this many cards in total (0 = no limit); for tests */
    const char *printer_spec; /* every line's printer when there is no config: sim, usb, usb:evolis, ... */
    const char *encoder_spec; /* every line's encoder when there is no config: sim, pcsc:<reader> */
    const char
        *key_service; /* soft:<key file> | psam:<reader>; NULL = a key made for this run (simulation) */
    const struct producer_config *config; /* lines and their devices from the configuration file, or NULL */
    bool no_faces;                        /* simulated printers do not write faces to <data dir>/faces */
};

int producer_run(const struct db_config *db, const struct producer_run_config *cfg);

/* The claim, the claimer and the rescue of expired leases are the queue's: store/queue.h. */
#include "store/queue.h"

/* Import approved applications from CSV in one transaction; errors name the line. Photos are read relative to
 * the CSV's directory. Returns the number imported or a negative error. */
int producer_import_applications(PGconn *conn, const char *csv_path);

struct producer_gen_config {
    int count;
    uint32_t seed;
    int defects;               /* how many applications carry a problem a person must fix */
    const char *accepted_from; /* YYYY-MM-DD; NULL = 35 days before today */
    const char *accepted_to;   /* YYYY-MM-DD; NULL = yesterday */
    const char *photo_profile; /* built-in profile name or profile file the photos must pass; NULL = "ssc" */
};
/* Create the default outlets when there are none. */
int producer_gen_outlets(PGconn *conn);
/* Generate realistic approved applications straight into the database, as an upstream platform would. */
int producer_gen_applications(PGconn *conn, const struct producer_gen_config *cfg);

/* Print the store's status read model (store/reads.h, the object GET /api/v1/status answers) as text or JSON.
 */
int producer_status(PGconn *conn, bool json);
/* Print the summary read model (store/reads.h) and write the per-outlet shipment lists under the data dir. */
int producer_summary(PGconn *conn, const struct db_config *db);
int producer_outlet_add(PGconn *conn, const char *code, const char *name, const char *kind,
                        const char *county, const char *weekdays, int transit_days);
int producer_outlet_list(PGconn *conn);
