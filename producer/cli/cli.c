/* cli.c — the cardline command: global options, subcommands, exit codes */
#include "cli/cli.h"
#include "base/clock.h"
#include "base/config.h"
#include "store/db.h"
#include "intake/gen_portrait.h"
#include "base/log.h"
#include "store/calendar.h"
#include "store/migrations.h"
#include "store/settings.h"
#include "photo.h"
#include "producer.h"
#include "dispatch/dispatch.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void usage(FILE *out)
{
    fputs(
        "Usage: cardline [--data-dir DIR] [--db CONNINFO] [-v|-q] COMMAND [ARGS]\n"
        "\n"
        "Production-line controller for social security cards.\n"
        "\n"
        "Commands:\n"
        "  run               run production lines (simulated devices)\n"
        "  status            applications, cards, shipments, lines, nearest deadlines\n"
        "  summary           what was produced, spoiled and held, and where the outputs are\n"
        "  import applications FILE.csv\n"
        "                    import approved applications (all rows or none)\n"
        "  gen applications N | gen outlets\n"
        "                    generate realistic test applications / the default outlets\n"
        "  outlet add|list   pickup outlets\n"
        "  application list|show|cancel|release\n"
        "                    applications; release held ones once fixed\n"
        "  risk              which applications will miss their delivery run, and why\n"
        "  calendar import|deadline|workdays|years\n"
        "                    the official working-day calendar\n"
        "  stock issue|return|sample|report\n"
        "                    blank cards per line; the report must balance\n"
        "  config check|apply FILE\n"
        "                    validate the configuration file / write its outlets\n"
        "  card report-lost CARD\n"
        "                    record a formal loss report\n"
        "  dispatch seal|label|manifest|send|receive|collect|return|lost|overdue|track ...\n"
        "                    shipments to the outlets, receipt, collection, tracking (dispatch --help)\n"
        "  serve [--listen 127.0.0.1:8080]\n"
        "                    the web dashboard and JSON API for operators, studios and dispatch\n"
        "  account add|list|disable|password|token\n"
        "                    dashboard accounts and their roles\n"
        "  photo check|verify|receipt|profile ...\n"
        "                    check ID photos, issue and verify quality receipts (photo --help)\n"
        "  chip read|personalize|readers\n"
        "                    read a card's chip (masked), personalise one card at a counter, list readers\n"
        "  shipment export DIR\n"
        "                    write each outlet's shipment list as DIR/<outlet>.csv\n"
        "  render --application ID --png FILE.png\n"
        "                    draw the application's card face as it will be printed\n"
        "  devices [--json]  card printers on USB and PC/SC readers attached to this machine\n"
        "  clock [--date]    the bureau's date and time as cardline sees them\n"
        "  db start|stop|status|migrate|conninfo|destroy\n"
        "                    the database (cardline's private PostgreSQL unless --db is given)\n"
        "\n"
        "Global options:\n"
        "  --data-dir DIR    data directory (default $CARDLINE_DATA_DIR or $XDG_DATA_HOME/cardline)\n"
        "  --db CONNINFO     use this PostgreSQL server (libpq conninfo or URI); PG* variables work too\n"
        "  -v, --verbose     more log output;  -q, --quiet  errors only\n"
        "  -h, --help        this help;  COMMAND --help for a command's options\n"
        "  --version         the version of cardline\n"
        "\n"
        "Environment:\n"
        "  CARDLINE_NOW      pin the bureau's clock (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]) for tests\n"
        "                    and rehearsals; it runs on from there (CARDLINE_NOW_ANCHOR: when it held)\n",
        out);
}

int cli_resolve(struct globals *g)
{
    return producer_db_resolve(g->data_dir, g->db, &g->cfg);
}

PGconn *cli_open_db(struct globals *g)
{
    if (cli_resolve(g) < 0)
        return NULL;
    return producer_db_open(&g->cfg);
}

bool cli_want_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

bool cli_parse_int(const char *s, long min, long max, long *ret)
{
    char *end;
    long v;

    if (!s || !*s)
        return false;
    v = strtol(s, &end, 10);
    if (*end || v < min || v > max)
        return false;
    *ret = v;
    return true;
}

int cli_bad_number(const char *opt, const char *value, long min, long max)
{
    fprintf(stderr, "cardline: %s '%s' must be a number from %ld to %ld\n", opt, value ? value : "", min,
            max);
    return EXIT_USAGE;
}

/* --- db ------------------------------------------------------------------------------------------------- */

static int cmd_db(struct globals *g, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    PGconn *conn;
    int r;

    if (!sub || cli_want_help(argc, argv)) {
        fputs("Usage: cardline db start|stop|status|migrate|conninfo|destroy --yes\n"
              "  start     create (first time) and start the private PostgreSQL cluster\n"
              "  stop      stop the private cluster\n"
              "  status    say whether the database is reachable and its schema version\n"
              "  migrate   apply pending schema migrations (also done automatically)\n"
              "  conninfo  print the libpq connection string cardline uses\n"
              "  destroy --yes  stop the private cluster and delete it with all its data\n",
              sub ? stdout : stderr);
        return sub ? 0 : EXIT_USAGE;
    }
    if (cli_resolve(g) < 0)
        return 1;
    if (strcmp(sub, "start") == 0)
        return producer_db_start(&g->cfg) < 0;
    if (strcmp(sub, "stop") == 0) {
        r = producer_db_stop(&g->cfg);
        if (r == 0)
            printf("stopped\n");
        return r < 0;
    }
    if (strcmp(sub, "destroy") == 0) {
        if (argc != 3 || strcmp(argv[2], "--yes") != 0) {
            fprintf(stderr,
                    "cardline db destroy deletes the private cluster and all its data, with the card faces, "
                    "photo receipts and shipment exports under the data directory; add --yes\n");
            return EXIT_USAGE;
        }
        r = producer_db_destroy(&g->cfg);
        if (r == 0)
            printf("destroyed %s\n", g->cfg.cluster_dir);
        return r < 0;
    }
    if (strcmp(sub, "conninfo") == 0) {
        printf("%s\n", g->cfg.conninfo);
        return 0;
    }
    if (strcmp(sub, "migrate") == 0) {
        int applied = 0;
        if (producer_db_start(&g->cfg) < 0 || !(conn = producer_db_connect(&g->cfg)))
            return 1;
        r = producer_db_migrate(conn, &applied);
        PQfinish(conn);
        if (r == 0)
            printf("%d migration(s) applied; schema is current\n", applied);
        return r < 0;
    }
    if (strcmp(sub, "status") == 0) {
        r = producer_db_running(&g->cfg);
        printf("database: %s (%s)\n", r == 1 ? "reachable" : "not reachable",
               g->cfg.embedded ? "private cluster" : "external server");
        if (g->cfg.embedded)
            printf("cluster:  %s\nsocket:   %s\n", g->cfg.cluster_dir, g->cfg.socket_dir);
        if (r == 1 && (conn = producer_db_connect(&g->cfg))) {
            /* the schema this database has, against the newest this program knows */
            int have = 0, want = producer_migrations[producer_migration_count - 1].version;
            if (store_settings_schema_version(conn, &have) < 0)
                have = 0;
            printf("schema:   %d (%s)\n", have,
                   have == want  ? "current"
                   : have < want ? "older than this program: cardline db migrate"
                                 : "newer than this program: upgrade cardline");
            PQfinish(conn);
        }
        return r == 1 ? 0 : 1;
    }
    fprintf(stderr, "cardline db: unknown subcommand '%s'\n", sub);
    return EXIT_USAGE;
}

/* --- run ------------------------------------------------------------------------------------------------ */

static int cmd_run(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"lines", required_argument, NULL, 'l'},       {"until-empty", no_argument, NULL, 'u'},
        {"line-prefix", required_argument, NULL, 'p'}, {"lease-seconds", required_argument, NULL, 'L'},
        {"card-ms", required_argument, NULL, 'c'},     {"print-faults", required_argument, NULL, 'P'},
        {"chip-faults", required_argument, NULL, 'C'}, {"seed", required_argument, NULL, 's'},
        {"max-cards", required_argument, NULL, 'm'},   {"help", no_argument, NULL, 'h'},
        {"printer", required_argument, NULL, 'R'},     {"encoder", required_argument, NULL, 'E'},
        {"config", required_argument, NULL, 'F'},      {"key-service", required_argument, NULL, 'K'},
        {"no-faces", no_argument, NULL, 'N'},          {NULL, 0, NULL, 0}};
    struct producer_run_config cfg = {.lines = 1, .line_prefix = "L", .lease_seconds = 30, .seed = 1};
    struct producer_config *config = NULL;
    const char *config_path = NULL;
    long v;
    int c, r;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (!cli_parse_int(optarg, 1, 64, &v))
                return cli_bad_number("--lines", optarg, 1, 64);
            cfg.lines = (int)v;
            break;
        case 'u':
            cfg.until_empty = true;
            break;
        case 'p':
            if (strlen(optarg) > 32 ||
                strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
                    strlen(optarg)) {
                fprintf(stderr, "cardline run: --line-prefix takes up to 32 letters, digits, '-' or '_'\n");
                return EXIT_USAGE;
            }
            cfg.line_prefix = optarg;
            break;
        case 'L':
            if (!cli_parse_int(optarg, 2, 3600, &v))
                return cli_bad_number("--lease-seconds", optarg, 2, 3600);
            cfg.lease_seconds = (int)v;
            break;
        case 'c':
            if (!cli_parse_int(optarg, 0, 60000, &v))
                return cli_bad_number("--card-ms", optarg, 0, 60000);
            cfg.card_ms = (unsigned)v;
            break;
        case 'P':
            if (!cli_parse_int(optarg, 0, 1000, &v))
                return cli_bad_number("--print-faults", optarg, 0, 1000);
            cfg.print_fault_permille = (unsigned)v;
            break;
        case 'C':
            if (!cli_parse_int(optarg, 0, 1000, &v))
                return cli_bad_number("--chip-faults", optarg, 0, 1000);
            cfg.chip_fault_permille = (unsigned)v;
            break;
        case 's':
            if (!cli_parse_int(optarg, 0, 2147483647L, &v))
                return cli_bad_number("--seed", optarg, 0, 2147483647L);
            cfg.seed = (unsigned)v;
            break;
        case 'm':
            if (!cli_parse_int(optarg, 0, 100000000L, &v))
                return cli_bad_number("--max-cards", optarg, 0, 100000000L);
            cfg.max_cards = (int)v;
            break;
        case 'R':
            cfg.printer_spec = optarg;
            break;
        case 'E':
            cfg.encoder_spec = optarg;
            break;
        case 'F':
            config_path = optarg;
            break;
        case 'K':
            cfg.key_service = optarg;
            break;
        case 'N':
            cfg.no_faces = true;
            break;
        case 'h':
            fputs(
                "Usage: cardline run [OPTIONS]\n"
                "Run production lines with simulated printers and chip encoders until stopped "
                "(SIGINT/SIGTERM\n"
                "finish the card in hand first).\n"
                "  --lines N            number of lines, named <prefix>1..<prefix>N (default 1)\n"
                "  --line-prefix P      line name prefix (default L); each controller needs its own names\n"
                "  --until-empty        stop when no application is left to produce\n"
                "  --lease-seconds S    lease on a claimed application without heartbeat (default 30)\n"
                "  --card-ms MS         simulated time per card in printer and encoder (default 0)\n"
                "  --print-faults N     simulated print faults per thousand cards (default 0)\n"
                "  --chip-faults N      simulated chip write faults per thousand cards (default 0)\n"
                "  --seed S             seed for the simulated faults (default 1)\n"
                "  --max-cards N        stop after N good cards (default: no limit)\n"
                "  --printer SPEC       every line's printer: sim (default), usb, usb:evolis, usb:magicard,\n"
                "                       usb:<serial>, usb:<bus>:<address> (see cardline devices);\n"
                "                       emu:evolis, emu:magicard (emulated printers); evolis:file:PATH,\n"
                "                       magicard:file:PATH (print to file: the bytes a USB printer would "
                "get)\n"
                "  --encoder SPEC       every line's chip encoder: sim (default) or pcsc:<reader name>\n"
                "  --key-service SPEC   issuer keys: soft:<key file> or psam:<reader name>\n"
                "                       (default: a key made for this run, which only simulated cards know)\n"
                "  --config FILE        lines, devices, key service and ATR allow-list from the\n"
                "                       configuration file\n"
                "  --no-faces           simulated and emulated printers do not write each face as a PNG\n",
                stdout);
            return 0;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cardline run: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (config_path) {
        char err[512];
        if (producer_config_load(config_path, &config, err, sizeof(err)) < 0) {
            fprintf(stderr, "cardline: %s\n", err);
            return 1;
        }
        cfg.config = config;
    }
    if (cli_resolve(g) < 0) {
        producer_config_free(config);
        return 1;
    }
    r = producer_run(&g->cfg, &cfg);
    producer_config_free(config);
    return r < 0;
}

/* --- status, summary ------------------------------------------------------------------------------------ */

static int cmd_status(struct globals *g, int argc, char **argv)
{
    bool json = false;
    PGconn *conn;
    int r;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs("Usage: cardline status [--json]\n"
                  "Applications and cards by status, open shipments per outlet, lines, nearest deadlines.\n",
                  stdout);
            return 0;
        } else {
            fprintf(stderr, "cardline status: unknown argument '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    r = producer_status(conn, json);
    PQfinish(conn);
    return r < 0;
}

static int cmd_summary(struct globals *g, int argc, char **argv)
{
    PGconn *conn;
    int r;

    if (cli_want_help(argc, argv) || argc > 1) {
        fputs("Usage: cardline summary\nProduced, spoiled and held (with reasons), cards per outlet, the "
              "smallest\n"
              "deadline margin; writes the per-outlet shipment lists under the data directory.\n",
              argc > 1 && !cli_want_help(argc, argv) ? stderr : stdout);
        return cli_want_help(argc, argv) ? 0 : EXIT_USAGE;
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    r = producer_summary(conn, &g->cfg);
    PQfinish(conn);
    return r < 0;
}

/* --- import, gen ---------------------------------------------------------------------------------------- */

static int cmd_import(struct globals *g, int argc, char **argv)
{
    PGconn *conn;
    int r;

    if (cli_want_help(argc, argv) || argc != 3 || strcmp(argv[1], "applications") != 0) {
        bool help = cli_want_help(argc, argv);
        fputs("Usage: cardline import applications FILE.csv\n"
              "Import approved applications. The first row names the columns (any order):\n"
              "  upstream_id, kind (new|replacement|exchange|temporary), doc_type (resident_id|\n"
              "  household_register|passport|hk_macau_permit|taiwan_permit|foreign_permanent), doc_number,\n"
              "  ssn (optional for resident IDs), name, sex (1|2), ethnicity (GB 3304 code), birth_date\n"
              "  (YYYY-MM-DD), birth_place (6-digit region code), nationality (optional, ISO alpha-3),\n"
              "  outlet, bank (optional), accepted_at (timestamp), photo (path relative to the CSV),\n"
              "  replaced_card (replacement/exchange), priority (optional 0..9, default 5).\n"
              "Every row is checked first; one bad row and nothing is imported.\n",
              help ? stdout : stderr);
        return help ? 0 : EXIT_USAGE;
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    r = producer_import_applications(conn, argv[2]);
    PQfinish(conn);
    if (r >= 0)
        printf("imported %d application(s)\n", r);
    return r < 0;
}

static int cmd_gen(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"seed", required_argument, NULL, 's'},
                                         {"defects", required_argument, NULL, 'd'},
                                         {"accepted-from", required_argument, NULL, 'f'},
                                         {"accepted-to", required_argument, NULL, 't'},
                                         {"photo-profile", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct producer_gen_config cfg = {0};
    const char *what = argc > 1 ? argv[1] : "";
    PGconn *conn;
    bool seeded = false;
    long v;
    int c, r;

    if (strcmp(what, "outlets") != 0 && strcmp(what, "applications") != 0 && strcmp(what, "photo") != 0) {
        bool help = cli_want_help(argc, argv);
        fputs(
            "Usage: cardline gen applications N [--seed S] [--defects K] [--accepted-from DATE]\n"
            "                                    [--accepted-to DATE] [--photo-profile NAME|FILE]\n"
            "       cardline gen outlets\n"
            "       cardline gen photo FILE.jpg [--seed S]\n"
            "Generate realistic approved applications as an upstream platform would write them: resident ID\n"
            "numbers with correct check characters, minors, foreigners, rare and long names, both kinds of\n"
            "outlet, replacements and exchanges, each with a photo that passes the photo profile (default\n"
            "ssc). --defects K makes K of them carry a problem a person must fix (they are held, not\n"
            "produced). Each application depends only on the seed and its place in the batch; accepted "
            "dates\n"
            "are working days from --accepted-from (default 35 days before today) to --accepted-to (default\n"
            "yesterday), in the bureau's calendar (CARDLINE_NOW pins today).\n",
            help ? stdout : stderr);
        return help ? 0 : EXIT_USAGE;
    }
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (!cli_parse_int(optarg, 0, 4294967295L, &v))
                return cli_bad_number("--seed", optarg, 0, 4294967295L);
            cfg.seed = (uint32_t)v;
            seeded = true;
            break;
        case 'd':
            if (!cli_parse_int(optarg, 0, 1000000, &v))
                return cli_bad_number("--defects", optarg, 0, 1000000);
            cfg.defects = (int)v;
            break;
        case 'f':
            cfg.accepted_from = optarg;
            break;
        case 't':
            cfg.accepted_to = optarg;
            break;
        case 'p':
            cfg.photo_profile = optarg;
            break;
        case 'h':
            return cmd_gen(g, 1, argv - 1);
        default:
            return EXIT_USAGE;
        }
    }
    if (strcmp(what, "applications") == 0) {
        if (optind != argc - 1 || !cli_parse_int(argv[optind], 0, 1000000, &v))
            return cli_bad_number("N", optind < argc ? argv[optind] : "", 0, 1000000);
        cfg.count = (int)v;
    }
    if (!seeded && getrandom(&cfg.seed, sizeof(cfg.seed), 0) != sizeof(cfg.seed))
        cfg.seed = 1;
    if (strcmp(what, "photo") == 0) {
        uint8_t *jpeg = NULL;
        size_t len = 0;
        FILE *f;
        if (optind != argc - 1) {
            fprintf(stderr, "cardline gen photo: name the output file\n");
            return EXIT_USAGE;
        }
        r = producer_gen_portrait(cfg.seed, &jpeg, &len);
        if (r < 0) {
            fprintf(stderr, "cardline gen photo: %s\n", photo_strerror(r));
            return 1;
        }
        f = fopen(argv[optind], "wbe");
        if (!f || fwrite(jpeg, 1, len, f) != len || fclose(f) != 0) {
            fprintf(stderr, "cardline gen photo: cannot write %s\n", argv[optind]);
            free(jpeg);
            return 1;
        }
        free(jpeg);
        return 0;
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    r = strcmp(what, "outlets") == 0 ? producer_gen_outlets(conn) : producer_gen_applications(conn, &cfg);
    PQfinish(conn);
    /* the generator reports its own failures; the outlets' only failure is the database's */
    if (r < 0 && strcmp(what, "outlets") == 0)
        fprintf(stderr, "cardline gen outlets: the default outlets could not be written: %s\n",
                producer_strerror(r));
    if (r >= 0)
        printf("generated %d %s (seed %u)\n", r, what, cfg.seed);
    return r < 0;
}

/* --- outlet, shipment ----------------------------------------------------------------------------------- */

static int cmd_outlet(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"kind", required_argument, NULL, 'k'},
                                         {"county", required_argument, NULL, 'c'},
                                         {"weekdays", required_argument, NULL, 'w'},
                                         {"transit", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *sub = argc > 1 ? argv[1] : "", *name = NULL, *kind = NULL, *county = NULL,
               *weekdays = "1,2,3,4,5";
    long transit = 1;
    PGconn *conn;
    int c, r;

    if (strcmp(sub, "list") != 0 && strcmp(sub, "add") != 0) {
        bool help = cli_want_help(argc, argv);
        fputs("Usage: cardline outlet list\n"
              "       cardline outlet add CODE --name NAME --kind hrss|bank --county COUNTY\n"
              "                           [--weekdays 1,3,5] [--transit DAYS]\n"
              "--weekdays: ISO weekdays (1 = Monday) the delivery run leaves; --transit: working days on the "
              "road.\n",
              help ? stdout : stderr);
        return help ? 0 : EXIT_USAGE;
    }
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'k':
            kind = optarg;
            break;
        case 'c':
            county = optarg;
            break;
        case 'w':
            weekdays = optarg;
            if (strspn(weekdays, "1234567,") != strlen(weekdays) || !*weekdays) {
                fprintf(stderr,
                        "cardline outlet: --weekdays takes ISO weekday numbers 1..7 separated by commas\n");
                return EXIT_USAGE;
            }
            break;
        case 't':
            if (!cli_parse_int(optarg, 0, 10, &transit))
                return cli_bad_number("--transit", optarg, 0, 10);
            break;
        case 'h':
            return cmd_outlet(g, 1, argv - 1);
        default:
            return EXIT_USAGE;
        }
    }
    if (strcmp(sub, "add") == 0 && (optind != argc - 1 || !name || !kind || !county)) {
        fprintf(stderr, "cardline outlet add: CODE, --name, --kind and --county are required\n");
        return EXIT_USAGE;
    }
    if (strcmp(sub, "add") == 0 && strcmp(kind, "hrss") != 0 && strcmp(kind, "bank") != 0) {
        fprintf(stderr,
                "cardline outlet add: --kind '%s' is not hrss (an HR&SS window) or bank (a bank branch)\n",
                kind);
        return EXIT_USAGE;
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    if (strcmp(sub, "list") == 0)
        r = producer_outlet_list(conn);
    else
        r = producer_outlet_add(conn, argv[optind], name, kind, county, weekdays, (int)transit);
    PQfinish(conn);
    return r < 0;
}

static int cmd_shipment(struct globals *g, int argc, char **argv)
{
    PGconn *conn;
    int files = 0, r;

    if (cli_want_help(argc, argv) || argc != 3 || strcmp(argv[1], "export") != 0) {
        bool help = cli_want_help(argc, argv);
        fputs("Usage: cardline shipment export DIR\n"
              "Write one CSV per outlet with its shipments' cards (holder data masked).\n",
              help ? stdout : stderr);
        return help ? 0 : EXIT_USAGE;
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    r = producer_dispatch_export(conn, argv[2], &files);
    PQfinish(conn);
    if (r == 0)
        printf("wrote %d file(s) to %s\n", files, argv[2]);
    return r < 0;
}

static int cmd_clock(struct globals *g, int argc, char **argv)
{
    bool date_only = argc == 2 && strcmp(argv[1], "--date") == 0;
    PGconn *conn;
    struct store_clock clk;

    if (cli_want_help(argc, argv) || (argc != 1 && !date_only && strcmp(argv[1], "--offset") != 0)) {
        bool help = cli_want_help(argc, argv);
        fputs("Usage: cardline clock [--date | --offset]\n"
              "The bureau's time and date as cardline sees them (CARDLINE_NOW pins them for tests and\n"
              "rehearsals), and whether today is a working day. --date prints only YYYY-MM-DD; --offset\n"
              "the seconds the clock is ahead of the real one, for other programs' sessions\n"
              "(PGOPTIONS=\"-c cardline.clock_offset=SECONDS\" makes SQL's clock_now() agree).\n",
              help ? stdout : stderr);
        return help ? 0 : EXIT_USAGE;
    }
    if (argc == 2 && strcmp(argv[1], "--offset") == 0) {
        printf("%lld\n", producer_clock_offset());
        return 0;
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    if (store_calendar_clock(conn, &clk) < 0) {
        log_error("clock", "the business clock could not be read from the database");
        PQfinish(conn);
        return 1;
    }
    if (date_only)
        printf("%s\n", clk.today);
    else
        printf("now    %s %s%s\ntoday  %s, %s\n", clk.now, clk.time_zone,
               producer_clock_pinned() ? " (pinned by CARDLINE_NOW)" : "", clk.today, clk.working);
    PQfinish(conn);
    return 0;
}

/* one entry per command; commands of other parts live in cmd_<part>.c and are declared in cli.h */
static const struct {
    const char *name;
    int (*run)(struct globals *g, int argc, char **argv);
} commands[] = {
    {"db", cmd_db},           {"run", cmd_run},
    {"status", cmd_status},   {"summary", cmd_summary},
    {"import", cmd_import},   {"application", cmd_application},
    {"card", cmd_card},       {"calendar", cmd_calendar},
    {"stock", cmd_stock},     {"risk", cmd_risk},
    {"config", cmd_config},   {"gen", cmd_gen},
    {"outlet", cmd_outlet},   {"shipment", cmd_shipment},
    {"photo", cmd_photo},     {"dispatch", cmd_dispatch},
    {"serve", cmd_serve},     {"account", cmd_account},
    {"chip", cmd_chip},       {"render", cmd_render},
    {"devices", cmd_devices}, {"clock", cmd_clock},
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'D'},
                                         {"db", required_argument, NULL, 'B'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    struct globals g;
    int c;

    memset(&g, 0, sizeof(g));
    /* '+': stop at the command so that its own options are left for it */
    while ((c = getopt_long(argc, argv, "+vqh", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            g.data_dir = optarg;
            break;
        case 'B':
            g.db = optarg;
            break;
        case 'v':
            log_set_level(LOG_LEVEL_DEBUG);
            break;
        case 'q':
            log_set_level(LOG_LEVEL_ERROR);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("cardline %s\n", CARDLINE_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    {
        char err[200];
        if (producer_clock_init(err, sizeof(err)) < 0) {
            fprintf(stderr, "cardline: %s\n", err);
            return EXIT_USAGE;
        }
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[optind], commands[i].name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;
            optind = 0; /* 0, not 1: GNU getopt then also forgets the "+" ordering used above */
            return commands[i].run(&g, sub_argc, sub_argv);
        }
    }
    fprintf(stderr, "cardline: unknown command '%s'\n", argv[optind]);
    usage(stderr);
    return EXIT_USAGE;
}
