/* cli.c — the cardline command: global options, subcommands, exit codes */
#include "cli/cli.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/i18n.h"
#include "store/backup.h"
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

/* `cardline --help`, from the command reference (help.c) like every other usage */
static void usage(FILE *out)
{
    cli_usage_top(out);
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
    fprintf(stderr, _("cardline: %s '%s' must be a number from %ld to %ld\n"), opt, value ? value : "", min,
            max);
    return EXIT_USAGE;
}

/* --- db ------------------------------------------------------------------------------------------------- */

/* db backup DIR | db restore DIR [--replace]; argv[0] is the subcommand */
static int cmd_db_backup(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"jobs", required_argument, NULL, 'j'},
                                         {"replace", no_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *sub = argv[0];
    bool restore = strcmp(sub, "restore") == 0;
    struct producer_backup_options o = {.version = CARDLINE_VERSION, .jobs = 2};
    struct producer_backup_manifest m;
    long v;
    int c, r, applied = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (!cli_parse_int(optarg, 1, PRODUCER_BACKUP_JOBS_MAX, &v))
                return cli_bad_number("--jobs", optarg, 1, PRODUCER_BACKUP_JOBS_MAX);
            o.jobs = (int)v;
            break;
        case 'r':
            if (!restore)
                return cli_usage_error("db", sub);
            o.replace = true;
            break;
        case 'h':
            cli_usage_print(stdout, "db", sub);
            return 0;
        default:
            return cli_usage_error("db", sub);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("db", sub);
    if (cli_resolve(g) < 0)
        return 1;
    if (!restore) {
        r = producer_db_backup(&g->cfg, argv[optind], &o, &m);
        if (r < 0)
            return 1;
        printf(_("backup of database %s written to %s\n"
                 "taken at %s (bureau time), schema %d: %lld applications, %lld cards, %lld shipments\n"),
               m.database, argv[optind], m.taken_at, m.schema_version, m.applications, m.cards, m.shipments);
        return 0;
    }
    r = producer_db_restore(&g->cfg, argv[optind], &o, &m, &applied);
    if (r < 0)
        return 1;
    printf(_("restored the backup of %s taken at %s (bureau time), schema %d: %lld applications, %lld cards, "
             "%lld shipments; %d migration(s) applied\n"),
           m.database, m.taken_at, m.schema_version, m.applications, m.cards, m.shipments, applied);
    return 0;
}

static int cmd_db(struct globals *g, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    PGconn *conn;
    int r;

    if (!sub)
        return cli_usage_error("db", NULL);
    if (strcmp(sub, "backup") == 0 || strcmp(sub, "restore") == 0)
        return cmd_db_backup(g, argc - 1, argv + 1);
    if (cli_resolve(g) < 0)
        return 1;
    if (strcmp(sub, "start") == 0)
        return producer_db_start(&g->cfg) < 0;
    if (strcmp(sub, "stop") == 0) {
        r = producer_db_stop(&g->cfg);
        if (r == 0)
            printf(_("stopped\n"));
        return r < 0;
    }
    if (strcmp(sub, "destroy") == 0) {
        if (argc != 3 || strcmp(argv[2], "--yes") != 0) {
            fprintf(
                stderr,
                _("cardline db destroy deletes the private cluster and all its data, with the card faces, "
                  "photo receipts and shipment exports under the data directory; add --yes\n"));
            return EXIT_USAGE;
        }
        r = producer_db_destroy(&g->cfg);
        if (r == 0)
            printf(_("destroyed %s\n"), g->cfg.cluster_dir);
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
            printf(_("%d migration(s) applied; schema is current\n"), applied);
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
    fprintf(stderr, _("cardline db: unknown subcommand '%s'\n"), sub);
    return EXIT_USAGE;
}

/* --- run ------------------------------------------------------------------------------------------------ */

static int cmd_run(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"lines", required_argument, NULL, 'l'},
                                         {"until-empty", no_argument, NULL, 'u'},
                                         {"line-prefix", required_argument, NULL, 'p'},
                                         {"lease-seconds", required_argument, NULL, 'L'},
                                         {"card-ms", required_argument, NULL, 'c'},
                                         {"print-faults", required_argument, NULL, 'P'},
                                         {"chip-faults", required_argument, NULL, 'C'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"max-cards", required_argument, NULL, 'm'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"printer", required_argument, NULL, 'R'},
                                         {"encoder", required_argument, NULL, 'E'},
                                         {"config", required_argument, NULL, 'F'},
                                         {"key-service", required_argument, NULL, 'K'},
                                         {"no-faces", no_argument, NULL, 'N'},
                                         {"scp02-faults", required_argument, NULL, 'S'},
                                         {NULL, 0, NULL, 0}};
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
                fprintf(stderr,
                        _("cardline run: --line-prefix takes up to 32 letters, digits, '-' or '_'\n"));
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
        case 'S':
            if (!cli_parse_int(optarg, 0, 1000, &v))
                return cli_bad_number("--scp02-faults", optarg, 0, 1000);
            cfg.scp02_fault_permille = (unsigned)v;
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
            cli_usage_print(stdout, "run", NULL);
            return 0;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, _("cardline run: unexpected argument '%s'\n"), argv[optind]);
        return EXIT_USAGE;
    }
    if (config_path) {
        char err[512];
        if (producer_config_load(config_path, &config, err, sizeof(err)) < 0) {
            fprintf(stderr, _("cardline: %s\n"), err);
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
        else {
            fprintf(stderr, _("cardline status: unknown argument '%s'\n"), argv[i]);
            return cli_usage_error("status", NULL);
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

    (void)argv; /* summary takes no arguments */
    if (argc > 1)
        return cli_usage_error("summary", NULL);
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

    if (argc != 3 || strcmp(argv[1], "applications") != 0)
        return cli_usage_error("import", "applications");
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    r = producer_import_applications(conn, argv[2]);
    PQfinish(conn);
    if (r >= 0)
        printf(_("imported %d application(s)\n"), r);
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

    if (strcmp(what, "outlets") != 0 && strcmp(what, "applications") != 0 && strcmp(what, "photo") != 0)
        return cli_usage_error("gen", NULL);
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
        case 't': {
            /* a day as written, never PostgreSQL's reading of it ("yesterday") */
            char why[200];
            if (producer_time_parse(optarg, PRODUCER_TIME_DATE,
                                    c == 'f' ? "--accepted-from" : "--accepted-to",
                                    &(struct producer_time){0}, why, sizeof(why)) < 0) {
                fprintf(stderr, _("cardline gen: %s\n"), why);
                return EXIT_USAGE;
            }
            *(c == 'f' ? &cfg.accepted_from : &cfg.accepted_to) = optarg;
            break;
        }
        case 'p':
            cfg.photo_profile = optarg;
            break;
        case 'h':
            cli_usage_print(stdout, "gen", what);
            return 0;
        default:
            return cli_usage_error("gen", what);
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
            fprintf(stderr, _("cardline gen photo: name the output file\n"));
            return EXIT_USAGE;
        }
        r = producer_gen_portrait(cfg.seed, &jpeg, &len);
        if (r < 0) {
            fprintf(stderr, _("cardline gen photo: %s\n"), _(photo_strerror(r)));
            return 1;
        }
        f = fopen(argv[optind], "wbe");
        if (!f || fwrite(jpeg, 1, len, f) != len || fclose(f) != 0) {
            fprintf(stderr, _("cardline gen photo: cannot write %s\n"), argv[optind]);
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
        fprintf(stderr, _("cardline gen outlets: the default outlets could not be written: %s\n"),
                _(producer_strerror(r)));
    if (r >= 0)
        printf(strcmp(what, "outlets") == 0 ? _("generated %d outlets (seed %u)\n")
                                            : _("generated %d applications (seed %u)\n"),
               r, cfg.seed);
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

    if (strcmp(sub, "list") != 0 && strcmp(sub, "add") != 0)
        return cli_usage_error("outlet", NULL);
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
                fprintf(
                    stderr,
                    _("cardline outlet: --weekdays takes ISO weekday numbers 1..7 separated by commas\n"));
                return EXIT_USAGE;
            }
            break;
        case 't':
            if (!cli_parse_int(optarg, 0, 10, &transit))
                return cli_bad_number("--transit", optarg, 0, 10);
            break;
        case 'h':
            cli_usage_print(stdout, "outlet", sub);
            return 0;
        default:
            return cli_usage_error("outlet", sub);
        }
    }
    if (strcmp(sub, "add") == 0 && (optind != argc - 1 || !name || !kind || !county)) {
        fprintf(stderr, _("cardline outlet add: CODE, --name, --kind and --county are required\n"));
        return cli_usage_error("outlet", "add");
    }
    if (strcmp(sub, "add") == 0 && strcmp(kind, "hrss") != 0 && strcmp(kind, "bank") != 0) {
        fprintf(stderr,
                _("cardline outlet add: --kind '%s' is not hrss (an HR&SS window) or bank (a bank branch)\n"),
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

    if (argc != 3 || strcmp(argv[1], "export") != 0)
        return cli_usage_error("shipment", "export");
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    r = producer_dispatch_export(conn, argv[2], &files);
    PQfinish(conn);
    if (r == 0)
        printf(_("wrote %d file(s) to %s\n"), files, argv[2]);
    return r < 0;
}

static int cmd_clock(struct globals *g, int argc, char **argv)
{
    bool date_only = argc == 2 && strcmp(argv[1], "--date") == 0;
    PGconn *conn;
    struct store_clock clk;

    if (argc > 2 || (argc == 2 && !date_only && strcmp(argv[1], "--offset") != 0))
        return cli_usage_error("clock", NULL);
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
    if (date_only) {
        printf("%s\n", clk.today);
    } else {
        /* the store's words for the day (store/calendar.c), as a person reads them */
        static const char *const day_words[] = {N_("a working day"), N_("not a working day"),
                                                N_("unknown: no official calendar for its year")};
        const char *working = clk.working;
        for (size_t i = 0; i < sizeof(day_words) / sizeof(day_words[0]); i++) {
            if (strcmp(working, day_words[i]) == 0)
                working = _(day_words[i]);
        }
        printf(_("now    %s %s%s\ntoday  %s, %s\n"), clk.now, clk.time_zone,
               producer_clock_pinned() ? _(" (pinned by CARDLINE_NOW)") : "", clk.today, working);
    }
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
    {"bank", cmd_bank},
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
    i18n_init();
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
    /* COMMAND [SUB] --help is answered here, from the command reference, before anything is resolved,
     * started or created: help never has a side effect, whatever the command does */
    if (cli_is_command(argv[optind]) && cli_help(argv[optind], argc - optind, argv + optind) == 0)
        return 0;
    {
        char err[200];
        if (producer_clock_init(err, sizeof(err)) < 0) {
            fprintf(stderr, _("cardline: %s\n"), err);
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
    fprintf(stderr, _("cardline: unknown command '%s'\n"), argv[optind]);
    usage(stderr);
    return EXIT_USAGE;
}
