/* cmd_ops.c — operator commands: applications (list, show, cancel, release), formal loss reports, the
 * working-day calendar, blank stock and the at-risk forecast */
#include "cli/cli.h"
#include "store/store.h"
#include "base/config.h"
#include "base/log.h"
#include "producer.h"
#include "schedule/schedule.h"
#include "dispatch/stock.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPERATOR "operator"

static int usage_error(const char *text, bool help)
{
    fputs(text, help ? stdout : stderr);
    return help ? 0 : EXIT_USAGE;
}

/* --- application ---------------------------------------------------------------------------------------- */

static const char *const application_usage =
    "Usage: cardline application list [--status pending|in_production|produced|held|cancelled] [--limit N]\n"
    "       cardline application show ID\n"
    "       cardline application cancel ID --reason TEXT\n"
    "       cardline application release ID\n"
    "ID is the application number or its upstream id. 'release' returns a held application to the queue once "
    "its\n"
    "problem is fixed; days it was held waiting for the applicant extend its deadline. 'cancel' stops "
    "production:\n"
    "a card already in a machine is rejected and recorded spoiled.\n";

static int app_list(PGconn *conn, const char *status, long limit)
{
    char lim[16];
    const char *params[2] = {status, lim};
    PGresult *res;

    snprintf(lim, sizeof(lim), "%ld", limit);
    res = db_exec(conn,
                  "SELECT id, upstream_id, kind, status, outlet_code, coalesce(deadline::text, '-'), "
                  "  coalesce(held_reason, cancel_reason, deadline_problem, ''), name, doc_number "
                  "FROM application WHERE ($1::text IS NULL OR status = $1) "
                  "ORDER BY priority, latest_completion NULLS LAST, id LIMIT $2::integer",
                  2, params);
    if (!db_ok(res)) {
        log_error("application", "%s", PQresultErrorMessage(res));
        PQclear(res);
        return 1;
    }
    printf("%-8s %-18s %-11s %-13s %-7s %-10s %-12s %s\n", "id", "upstream", "kind", "status", "outlet",
           "deadline", "holder", "note");
    for (int i = 0; i < PQntuples(res); i++) {
        char name[128];
        producer_mask_name(PQgetvalue(res, i, 7), name, sizeof(name));
        printf("%-8s %-18s %-11s %-13s %-7s %-10s %-12s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
               name, PQgetvalue(res, i, 6));
    }
    PQclear(res);
    return 0;
}

static int app_show(PGconn *conn, const char *id)
{
    const char *params[1] = {id};
    PGresult *res =
        db_exec(conn,
                "SELECT id, upstream_id, kind, status, doc_type, doc_number, name, outlet_code, "
                "  bureau_date(accepted_at), deadline, "
                "  to_char(bureau_time(latest_completion), 'YYYY-MM-DD HH24:MI'), "
                "  held_working_days, attempts, coalesce(held_reason, ''), coalesce(cancel_reason, ''), "
                "  coalesce(deadline_problem, ''), "
                "  (SELECT string_agg(card_number || ' ' || status || coalesce(' (' || spoil_reason || ')', "
                "     ''), '; ' ORDER BY created_at) FROM card WHERE application_id = a.id) "
                "FROM application a WHERE a.id::text = $1 OR a.upstream_id = $1",
                1, params);
    char doc[40], name[128];

    if (!db_ok(res) || PQntuples(res) != 1) {
        fprintf(stderr, "cardline: no application '%s'\n", id);
        PQclear(res);
        return 1;
    }
    producer_mask_doc(PQgetvalue(res, 0, 5), doc, sizeof(doc));
    producer_mask_name(PQgetvalue(res, 0, 6), name, sizeof(name));
    printf("application        %s (upstream %s)\nkind               %s\nstatus             %s\n",
           PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
    printf("holder             %s, %s %s\noutlet             %s\naccepted           %s\n", name,
           PQgetvalue(res, 0, 4), doc, PQgetvalue(res, 0, 7), PQgetvalue(res, 0, 8));
    printf("deadline           %s (+%s working days held)\nlatest completion  %s\nattempts           %s\n",
           PQgetisnull(res, 0, 9) ? "unknown" : PQgetvalue(res, 0, 9), PQgetvalue(res, 0, 11),
           PQgetisnull(res, 0, 10) ? "unknown" : PQgetvalue(res, 0, 10), PQgetvalue(res, 0, 12));
    if (PQgetvalue(res, 0, 13)[0])
        printf("held because       %s\n", PQgetvalue(res, 0, 13));
    if (PQgetvalue(res, 0, 14)[0])
        printf("cancelled because  %s\n", PQgetvalue(res, 0, 14));
    if (PQgetvalue(res, 0, 15)[0])
        printf("deadline problem   %s\n", PQgetvalue(res, 0, 15));
    printf("cards              %s\n", PQgetisnull(res, 0, 16) ? "none" : PQgetvalue(res, 0, 16));
    PQclear(res);
    return 0;
}

/* Runs an UPDATE ... RETURNING id on one application inside a transaction with its audit event. */
static int app_change(PGconn *conn, const char *sql, int nparams, const char *const *params, const char *kind,
                      const char *detail, const char *refusal)
{
    PGresult *res;

    if (db_command(conn, "begin", "BEGIN", 0, NULL) < 0)
        return 1;
    res = db_exec(conn, sql, nparams, params);
    if (!db_ok(res) || PQntuples(res) != 1) {
        if (!db_ok(res))
            log_error("application", "%s", PQresultErrorMessage(res));
        else
            fprintf(stderr, "cardline: %s\n", refusal);
        PQclear(res);
        PQclear(PQexec(conn, "ROLLBACK"));
        return 1;
    }
    if (store_event(conn, OPERATOR, kind, PQgetvalue(res, 0, 0), NULL, NULL, detail) < 0 ||
        db_command(conn, "commit", "COMMIT", 0, NULL) < 0) {
        PQclear(res);
        PQclear(PQexec(conn, "ROLLBACK"));
        return 1;
    }
    printf("application %s %s\n", PQgetvalue(res, 0, 0), kind);
    PQclear(res);
    store_work_notify(conn);
    return 0;
}

int cmd_application(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"status", required_argument, NULL, 's'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *sub = argc > 1 ? argv[1] : "", *status = NULL, *reason = NULL;
    long limit = 50;
    PGconn *conn;
    int c, r = 1;

    if (strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "cancel") && strcmp(sub, "release"))
        return usage_error(application_usage, cli_want_help(argc, argv));
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            status = optarg;
            break;
        case 'l':
            if (!cli_parse_int(optarg, 1, 1000000, &limit))
                return cli_bad_number("--limit", optarg, 1, 1000000);
            break;
        case 'r':
            reason = optarg;
            break;
        case 'h':
            return usage_error(application_usage, true);
        default:
            return EXIT_USAGE;
        }
    }
    if (strcmp(sub, "list") != 0 && optind != argc - 1)
        return usage_error(application_usage, false);
    if (status && strcmp(status, "pending") && strcmp(status, "in_production") && strcmp(status, "produced") &&
        strcmp(status, "held") && strcmp(status, "cancelled")) {
        fprintf(stderr, "cardline application list: --status '%s' is not one of pending, in_production, "
                        "produced, held, cancelled\n",
                status);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "cancel") == 0 && (!reason || !*reason || strlen(reason) > 500)) {
        fprintf(stderr, "cardline application cancel: --reason is required (at most 500 characters)\n");
        return EXIT_USAGE;
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    if (strcmp(sub, "list") == 0) {
        r = app_list(conn, status, limit);
    } else if (strcmp(sub, "show") == 0) {
        r = app_show(conn, argv[optind]);
    } else if (strcmp(sub, "cancel") == 0) {
        const char *params[2] = {argv[optind], reason};
        r = app_change(
            conn,
            "UPDATE application SET status = 'cancelled', cancel_reason = $2, locked_by = NULL, "
            "  lease_until = NULL, step = NULL, held_reason = NULL, updated_at = clock_now() "
            "WHERE (id::text = $1 OR upstream_id = $1) AND status IN ('pending', 'held', 'in_production') "
            "RETURNING id",
            2, params, "cancelled", reason,
            "no pending, held or in-production application with that id (produced ones are done)");
    } else {
        const char *params[1] = {argv[optind]};
        r = app_change(
            conn,
            "UPDATE application SET status = 'pending', "
            "  held_working_days = held_working_days + CASE WHEN held_for_applicant "
            "    THEN greatest(0, working_days_between(bureau_date(held_since), bureau_date(clock_now()))) "
            "    ELSE 0 END, "
            "  held_reason = NULL, held_since = NULL, held_for_applicant = false, attempts = 0, "
            "  updated_at = clock_now() "
            "WHERE (id::text = $1 OR upstream_id = $1) AND status = 'held' RETURNING id",
            1, params, "released", NULL, "no held application with that id");
    }
    PQfinish(conn);
    return r;
}

/* --- card ----------------------------------------------------------------------------------------------- */

int cmd_card(struct globals *g, int argc, char **argv)
{
    static const char *const text =
        "Usage: cardline card report-lost CARD_NUMBER\n"
        "Record the holder's formal loss report (in person): all functions stop and a\n"
        "replacement application may be produced.\n";
    const char *params[1];
    PGconn *conn;
    PGresult *res;
    int r = 1;

    if (cli_want_help(argc, argv) || argc != 3 || strcmp(argv[1], "report-lost") != 0)
        return usage_error(text, cli_want_help(argc, argv));
    params[0] = argv[2];
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    if (db_command(conn, "begin", "BEGIN", 0, NULL) == 0) {
        res = db_exec(conn,
                      "UPDATE card SET status = 'lost' WHERE card_number = $1 AND status = 'issued' "
                      "RETURNING card_number",
                      1, params);
        if (db_ok(res) && PQntuples(res) == 1 &&
            store_event(conn, OPERATOR, "reported_lost", NULL, argv[2], NULL, "formal loss report") == 0 &&
            db_command(conn, "commit", "COMMIT", 0, NULL) == 0) {
            printf("card %s reported lost\n", argv[2]);
            r = 0;
        } else {
            fprintf(stderr, "cardline: no card %s in a holder's hands\n", argv[2]);
            PQclear(PQexec(conn, "ROLLBACK"));
        }
        PQclear(res);
    }
    PQfinish(conn);
    return r;
}

/* --- calendar ------------------------------------------------------------------------------------------- */

int cmd_calendar(struct globals *g, int argc, char **argv)
{
    static const char *const text = "Usage: cardline calendar import FILE.csv\n"
                                    "       cardline calendar deadline DATE [--days N]\n"
                                    "       cardline calendar workdays FROM TO\n"
                                    "       cardline calendar years\n"
                                    "'deadline' is DATE plus N working days (default 30, the regulation's "
                                    "limit); 'workdays' counts the working\n"
                                    "days after FROM up to and including TO. Dates are YYYY-MM-DD; a date in "
                                    "a year whose official schedule is\n"
                                    "not loaded is an error. The import file has one 'year,YYYY,source' row, "
                                    "then 'off,FROM,TO,name' rows for\n"
                                    "holidays and 'work,DATE,,name' rows for makeup working days.\n";
    const char *sub = argc > 1 ? argv[1] : "";
    long days = 30;
    PGconn *conn;
    PGresult *res = NULL;
    int r = 1;

    if (cli_want_help(argc, argv))
        return usage_error(text, true);
    if (strcmp(sub, "deadline") == 0 && argc == 5 && strcmp(argv[3], "--days") == 0) {
        if (!cli_parse_int(argv[4], 0, 3650, &days))
            return cli_bad_number("--days", argv[4], 0, 3650);
        argc -= 2;
    }
    if (!((strcmp(sub, "import") == 0 && argc == 3) || (strcmp(sub, "deadline") == 0 && argc == 3) ||
          (strcmp(sub, "workdays") == 0 && argc == 4) || (strcmp(sub, "years") == 0 && argc == 2)))
        return usage_error(text, false);
    for (int i = 2; (strcmp(sub, "deadline") == 0 || strcmp(sub, "workdays") == 0) && i < argc; i++) {
        if (!producer_date_parse(argv[i], NULL, NULL, NULL)) {
            fprintf(stderr, "cardline calendar %s: '%s' is not a date (YYYY-MM-DD, a day that exists)\n", sub,
                    argv[i]);
            return EXIT_USAGE;
        }
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    if (strcmp(sub, "import") == 0) {
        r = producer_calendar_import(conn, argv[2]) < 0;
    } else if (strcmp(sub, "years") == 0) {
        res = db_exec(conn, "SELECT year, source FROM calendar_year ORDER BY year", 0, NULL);
        if (db_ok(res)) {
            for (int i = 0; i < PQntuples(res); i++)
                printf("%s  %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
            r = 0;
        }
    } else {
        char n[16];
        const char *params[2] = {argv[2], strcmp(sub, "deadline") == 0 ? n : argv[3]};
        snprintf(n, sizeof(n), "%ld", days);
        res = db_exec(conn,
                      strcmp(sub, "deadline") == 0 ? "SELECT add_working_days($1::date, $2::integer)"
                                                   : "SELECT working_days_between($1::date, $2::date)",
                      2, params);
        if (db_ok(res)) {
            printf("%s\n", PQgetvalue(res, 0, 0));
            r = 0;
        } else {
            const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            fprintf(stderr, "cardline calendar: %s\n", msg ? msg : "database error");
        }
    }
    PQclear(res);
    PQfinish(conn);
    return r;
}

/* --- stock ---------------------------------------------------------------------------------------------- */

int cmd_stock(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"line", required_argument, NULL, 'l'}, {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},   {"json", no_argument, NULL, 'j'},
        {"new-line", no_argument, NULL, 'n'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static const char *const text =
        "Usage: cardline stock issue --line L N [--new-line]\n"
        "       cardline stock return|sample --line L N\n"
        "       cardline stock report [--line L] [--from T --to T] [--json]\n"
        "issue: N blanks handed to line L's hopper; return: N unused blanks back to the store; sample: N "
        "blanks\n"
        "taken for quality samples. report: per line issued, used (good + spoiled + in the machine), "
        "returned,\n"
        "samples and what should be on hand; exits 1 and says DIFFERENCE when the books do not balance.\n"
        "A line's books open with its first issue and --new-line (a run or 'config apply' opens them too); a\n"
        "return or sample never takes more than the line has on hand.\n";
    const char *sub = argc > 1 ? argv[1] : "", *line = NULL, *from = NULL, *to = NULL;
    bool json = false, new_line = false;
    long n = 0;
    PGconn *conn;
    int c, r;

    if (strcmp(sub, "issue") && strcmp(sub, "return") && strcmp(sub, "sample") && strcmp(sub, "report"))
        return usage_error(text, cli_want_help(argc, argv));
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            line = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'n':
            new_line = true;
            break;
        case 'h':
            return usage_error(text, true);
        default:
            return EXIT_USAGE;
        }
    }
    if (strcmp(sub, "report") != 0) {
        if (!line || optind != argc - 1)
            return usage_error(text, false);
        if (!cli_parse_int(argv[optind], 1, 100000, &n))
            return cli_bad_number("N", argv[optind], 1, 100000);
    } else if (optind != argc) {
        return usage_error(text, false);
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    if (strcmp(sub, "report") == 0) {
        r = producer_stock_report(conn, line, from, to, json);
        r = r != 0;
    } else {
        const char *kind = strcmp(sub, "issue") == 0    ? "issued"
                           : strcmp(sub, "return") == 0 ? "returned"
                                                        : "sample";
        r = producer_stock_move(conn, line, kind, (int)n, new_line, OPERATOR) < 0;
        if (!r)
            printf("%s %ld blank(s) %s line %s\n", kind, n, strcmp(kind, "issued") == 0 ? "to" : "from",
                   line);
    }
    PQfinish(conn);
    return r;
}

/* --- risk ----------------------------------------------------------------------------------------------- */

int cmd_risk(struct globals *g, int argc, char **argv)
{
    static const char *const text =
        "Usage: cardline risk [--json] [--limit N]\n"
        "Which open applications will miss the delivery run that brings them to their outlet by the "
        "deadline:\n"
        "each one's place in the claim order, the day the lines' capacity reaches it (measured over the last "
        "hour,\n"
        "or the nominal rate), against its latest completion. Also held applications close to theirs.\n";
    bool json = false;
    long limit = 20;
    PGconn *conn;
    int r;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (!cli_parse_int(argv[++i], 1, 1000000, &limit))
                return cli_bad_number("--limit", argv[i], 1, 1000000);
        } else
            return usage_error(text, cli_want_help(argc, argv));
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    r = producer_risk_report(conn, json, (int)limit);
    PQfinish(conn);
    return r < 0;
}

/* --- config --------------------------------------------------------------------------------------------- */

int cmd_config(struct globals *g, int argc, char **argv)
{
    static const char *const text =
        "Usage: cardline config check FILE\n"
        "       cardline config apply FILE\n"
        "check: read and validate the configuration (lines and their devices, key service, photo profile, "
        "ATR\n"
        "allow-list, outlets with delivery runs) and say what is wrong, with its line and field.\n"
        "apply: also write its outlets and delivery runs to the database (insert or update).\n";
    struct producer_config *cfg = NULL;
    char err[512];
    PGconn *conn;
    int r;

    if (argc != 3 || (strcmp(argv[1], "check") && strcmp(argv[1], "apply")))
        return usage_error(text, cli_want_help(argc, argv));
    if (producer_config_load(argv[2], &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "cardline: %s\n", err);
        return 1;
    }
    printf("%s: %d line(s), %d outlet(s), key service %s\n", argv[2], cfg->nlines, cfg->noutlets,
           cfg->key_service[0] ? cfg->key_service : "per-run (simulation only)");
    if (strcmp(argv[1], "check") == 0) {
        producer_config_free(cfg);
        return 0;
    }
    conn = cli_open_db(g);
    r = conn ? producer_config_apply(conn, cfg) : PRODUCER_ERROR_DB;
    if (r >= 0)
        printf("applied %d outlet(s)\n", r);
    PQfinish(conn);
    producer_config_free(cfg);
    return r < 0;
}
