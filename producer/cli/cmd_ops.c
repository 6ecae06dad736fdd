/* cmd_ops.c — operator commands: applications (list, show, cancel, release), a card's life after collection
 * (loss reports, their withdrawal, cancellation, the blacklist), the working-day calendar, blank stock and
 * the at-risk forecast */
#include "cli/cli.h"
#include "store/store.h"
#include "base/config.h"
#include "base/i18n.h"
#include "base/log.h"
#include "producer.h"
#include "schedule/schedule.h"
#include "dispatch/stock.h"
#include "intake/applications.h"
#include "line/line.h"
#include "encoder.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPERATOR "operator"

/* A field of a read model as text for the table: strings as they are, numbers printed, null as `none`. */
/* A day for a person: 2026年12月05日 in Chinese, YYYY-MM-DD (as the database has it) in English; anything
 * else as it is. */
static const char *day_text(const char *iso, char *buf, size_t size)
{
    int y, m, d;

    if (i18n_get() == I18N_EN || strlen(iso) != 10 || sscanf(iso, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return iso;
    /* TRANSLATORS: a day as people write it (year, month, day) */
    snprintf(buf, size, _("%04d-%02d-%02d"), y, m, d);
    return buf;
}

/* An application's kind and status as a person reads them; English keeps the database's word. */
static const char *app_word(const char *word)
{
    static const char *const words[][2] = {
        {"new", N_("new card")},        {"replacement", N_("replacement")},
        {"exchange", N_("exchange")},   {"temporary", N_("temporary card")},
        {"pending", N_("pending")},     {"in_production", N_("in production")},
        {"produced", N_("produced")},   {"held", N_("held")},
        {"cancelled", N_("cancelled")},
    };

    if (i18n_get() == I18N_EN)
        return word;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(word, words[i][0]) == 0)
            return _(words[i][1]);
    }
    return word;
}

static const char *field(json_object *o, const char *key, const char *none)
{
    json_object *v = json_object_object_get(o, key);

    return v ? json_object_get_string(v) : none;
}

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
    json_object *a = NULL;
    int r = producer_applications_json(conn, status, (int)limit, &a);

    if (r < 0) {
        fprintf(stderr, _("cardline application list: %s\n"), _(producer_strerror(r)));
        return 1;
    }
    printf("%-8s %-18s %-11s %-13s %-7s %-10s %-12s %s\n", "id", "upstream", "kind", "status", "outlet",
           "deadline", "holder", "note");
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *o = json_object_array_get_idx(a, i);
        printf("%-8s %-18s %-11s %-13s %-7s %-10s %-12s %s\n", field(o, "id", "-"),
               field(o, "upstream_id", ""), field(o, "kind", ""), field(o, "status", ""),
               field(o, "outlet", ""), field(o, "deadline", "-"), field(o, "holder", ""),
               field(o, "note", ""));
    }
    json_object_put(a);
    return 0;
}

static int app_show(PGconn *conn, const char *id)
{
    char deadline[40], latest[40];
    json_object *o = NULL;
    int r = producer_application_json(conn, id, &o);

    if (r == PRODUCER_ERROR_DB) {
        fprintf(stderr, _("cardline application show: %s\n"), _(producer_strerror(r)));
        return 1;
    }
    if (r < 0) {
        fprintf(stderr, _("cardline: no application '%s'\n"), id);
        return 1;
    }
    printf(_("application        %s (upstream %s)\nkind               %s\nstatus             %s\n"),
           field(o, "id", ""), field(o, "upstream_id", ""), app_word(field(o, "kind", "")),
           app_word(field(o, "status", "")));
    printf(_("holder             %s, %s %s\noutlet             %s\naccepted           %s\n"),
           field(o, "holder", ""), field(o, "doc_type", ""), field(o, "doc_number", ""),
           field(o, "outlet", ""), field(o, "accepted", ""));
    printf(_("deadline           %s (+%s working days held)\nlatest completion  %s\nattempts           %s\n"),
           day_text(field(o, "deadline", _("unknown")), deadline, sizeof(deadline)),
           field(o, "held_working_days", "0"),
           day_text(field(o, "latest_completion", _("unknown")), latest, sizeof(latest)),
           field(o, "attempts", "0"));
    if (json_object_object_get(o, "held_reason"))
        printf(_("held because       %s\n"), field(o, "held_reason", ""));
    if (json_object_object_get(o, "cancel_reason"))
        printf(_("cancelled because  %s\n"), field(o, "cancel_reason", ""));
    if (json_object_object_get(o, "deadline_problem"))
        printf(_("deadline problem   %s\n"), field(o, "deadline_problem", ""));
    printf(_("cards              %s\n"), field(o, "cards", _("none")));
    json_object_put(o);
    return 0;
}

/* Prints what an operator's change did, or why it was refused. */
static int app_changed(const struct producer_ctx *ctx, int r, int64_t id, const char *kind)
{
    if (r < 0) {
        fprintf(stderr, _("cardline: %s\n"), ctx->message[0] ? ctx->message : producer_strerror(r));
        return 1;
    }
    printf(strcmp(kind, "cancelled") == 0 ? _("application %lld cancelled\n")
                                          : _("application %lld released\n"),
           (long long)id);
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
    if (status && strcmp(status, "pending") && strcmp(status, "in_production") &&
        strcmp(status, "produced") && strcmp(status, "held") && strcmp(status, "cancelled")) {
        fprintf(stderr,
                _("cardline application list: --status '%s' is not one of pending, in_production, "
                  "produced, held, cancelled\n"),
                status);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "cancel") == 0 && (!reason || !*reason || strlen(reason) > 500)) {
        fprintf(stderr, _("cardline application cancel: --reason is required (at most 500 characters)\n"));
        return EXIT_USAGE;
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    if (strcmp(sub, "list") == 0) {
        r = app_list(conn, status, limit);
    } else if (strcmp(sub, "show") == 0) {
        r = app_show(conn, argv[optind]);
    } else {
        struct producer_ctx ctx = {.conn = conn, .actor = OPERATOR};
        int64_t id = 0;
        bool cancel = strcmp(sub, "cancel") == 0;
        int e = cancel ? producer_application_cancel(&ctx, argv[optind], reason, &id)
                       : producer_application_release(&ctx, argv[optind], &id);
        r = app_changed(&ctx, e, id, cancel ? "cancelled" : "released");
    }
    PQfinish(conn);
    return r;
}

/* --- card ----------------------------------------------------------------------------------------------- */

static int card_blacklist(PGconn *conn, bool json)
{
    json_object *a = NULL;
    int r = producer_card_blacklist_json(conn, &a);

    if (r < 0) {
        fprintf(stderr, _("cardline card blacklist: %s\n"), _(producer_strerror(r)));
        return 1;
    }
    if (json) {
        puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    } else {
        printf("%-10s %-15s %-16s %-16s %s\n", "card", "status", "since", "until", "reason");
        for (size_t i = 0; i < json_object_array_length(a); i++) {
            json_object *o = json_object_array_get_idx(a, i);
            printf("%-10s %-15s %-16s %-16s %s\n", field(o, "card", ""), field(o, "status", ""),
                   field(o, "since", ""), field(o, "until", "-"), field(o, "reason", ""));
        }
    }
    json_object_put(a);
    return 0;
}

/* The window's temporary cards: the ones due back first. */
static int card_temporary_list(PGconn *conn, bool json, bool due)
{
    json_object *a = NULL;
    int r = producer_card_temporary_json(conn, due, &a);

    if (r < 0) {
        fprintf(stderr, _("cardline: %s\n"), _(producer_strerror(r)));
        return 1;
    }
    if (json) {
        puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    } else if (json_object_array_length(a) == 0) {
        printf("%s", due ? _("(no temporary card is due back)\n") : _("(no temporary card is out)\n"));
    } else {
        printf("%-10s %-11s %-10s %-12s %-8s %s\n", "card", "status", "valid to", "holder", "outlet",
               "due back");
        for (size_t i = 0; i < json_object_array_length(a); i++) {
            json_object *o = json_object_array_get_idx(a, i);
            printf("%-10s %-11s %-10s %-12s %-8s %s\n", field(o, "card", ""), field(o, "status", ""),
                   field(o, "valid_until", ""), field(o, "holder", ""), field(o, "outlet", ""),
                   field(o, "due_reason", "-"));
        }
    }
    json_object_put(a);
    return 0;
}

/* The usage texts are help.c's (cli_usages), the one source of --help, of bad-usage messages and of the man
 * pages. */
int cmd_card(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"temporary", no_argument, NULL, 't'}, {"reason", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},      {"due", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
    const char *sub = argc > 1 ? argv[1] : "", *reason = NULL;
    bool temporary = false, json = false, due = false, report = strcmp(sub, "report-lost") == 0,
         withdraw = strcmp(sub, "withdraw-loss") == 0, cancel = strcmp(sub, "cancel") == 0,
         blacklist = strcmp(sub, "blacklist") == 0, list_temp = strcmp(sub, "temporary") == 0,
         return_temp = strcmp(sub, "return-temporary") == 0, listing = blacklist || list_temp;
    struct producer_ctx ctx = {.actor = OPERATOR};
    int c, r, n = 0;

    if (!report && !withdraw && !cancel && !blacklist && !list_temp && !return_temp) {
        if (cli_want_help(argc, argv)) {
            cli_usage_print(stdout, "card", NULL);
            return 0;
        }
        return cli_usage_error("card", NULL);
    }
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (!report)
                return cli_usage_error("card", sub);
            temporary = true;
            break;
        case 'r':
            if (listing)
                return cli_usage_error("card", sub);
            reason = optarg;
            break;
        case 'j':
            if (!listing)
                return cli_usage_error("card", sub);
            json = true;
            break;
        case 'd':
            if (!list_temp)
                return cli_usage_error("card", sub);
            due = true;
            break;
        case 'h':
            cli_usage_print(stdout, "card", sub);
            return 0;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind != argc - (listing ? 0 : 1))
        return cli_usage_error("card", sub);
    if (reason && strlen(reason) > 500) {
        fprintf(stderr, _("cardline card %s: --reason is at most 500 characters\n"), sub);
        return EXIT_USAGE;
    }
    if (cancel) {
        bool known = false;
        for (size_t i = 0; reason && producer_card_cancel_reasons[i]; i++)
            known = known || strcmp(reason, producer_card_cancel_reasons[i]) == 0;
        if (!known) {
            fprintf(stderr, _("cardline card cancel: --reason is one of left-scheme, emigrated, deceased, "
                              "disappeared\n"));
            return EXIT_USAGE;
        }
    }
    ctx.conn = cli_open_db(g);
    if (!ctx.conn)
        return 1;
    if (blacklist || list_temp) {
        r = blacklist ? card_blacklist(ctx.conn, json) : card_temporary_list(ctx.conn, json, due);
        PQfinish(ctx.conn);
        return r;
    }
    if (return_temp)
        r = producer_card_return_temporary(&ctx, argv[optind], reason);
    else if (report)
        r = temporary ? producer_card_report_lost_temporary(&ctx, argv[optind], reason)
                      : producer_card_report_lost(&ctx, argv[optind], reason);
    else if (withdraw)
        r = producer_card_withdraw_loss(&ctx, argv[optind], reason);
    else
        r = producer_card_cancel(&ctx, argv[optind], reason, &n);
    if (r < 0)
        fprintf(stderr, _("cardline: %s\n"), ctx.message[0] ? ctx.message : _(producer_strerror(r)));
    else if (report && temporary)
        printf(_("card %s reported lost (temporary report): blocked; the report lapses unless made formal in "
                 "person\n"),
               argv[optind]);
    else if (report)
        printf(_("card %s reported lost\n"), argv[optind]);
    else if (withdraw)
        printf(_("card %s: loss report withdrawn; the card is unblocked\n"), argv[optind]);
    else if (return_temp)
        printf(_("temporary card %s returned and cancelled\n"), argv[optind]);
    else
        printf(_("card %s cancelled (%s); %d open application(s) of its holder cancelled\n"), argv[optind],
               reason, n);
    PQfinish(ctx.conn);
    return r < 0;
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
        char why[200];
        if (producer_time_parse(argv[i], PRODUCER_TIME_DATE,
                                strcmp(sub, "deadline") == 0 ? "DATE"
                                : i == 2                     ? "FROM"
                                                             : "TO",
                                &(struct producer_time){0}, why, sizeof(why)) < 0) {
            fprintf(stderr, _("cardline calendar %s: %s (a day that exists)\n"), sub, why);
            return EXIT_USAGE;
        }
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    if (strcmp(sub, "import") == 0) {
        r = producer_calendar_import(conn, argv[2]) < 0;
    } else if (strcmp(sub, "years") == 0) {
        json_object *a = NULL;
        if (producer_calendar_years_json(conn, &a) == 0) {
            for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *o = json_object_array_get_idx(a, i);
                printf("%s  %s\n", field(o, "year", ""), field(o, "source", ""));
            }
            json_object_put(a);
            r = 0;
        } else {
            fprintf(stderr, _("cardline calendar: the calendar could not be read from the database\n"));
        }
    } else {
        char answer[32], err[256];
        int e = strcmp(sub, "deadline") == 0 ? producer_calendar_deadline(conn, argv[2], (int)days, answer,
                                                                          sizeof(answer), err, sizeof(err))
                                             : producer_calendar_workdays(conn, argv[2], argv[3], answer,
                                                                          sizeof(answer), err, sizeof(err));
        if (e == 0) {
            printf("%s\n", answer);
            r = 0;
        } else {
            fprintf(stderr, _("cardline calendar: %s\n"),
                    e == PRODUCER_ERROR_INPUT ? err : _("database error"));
        }
    }
    PQfinish(conn);
    return r;
}

/* --- stock ---------------------------------------------------------------------------------------------- */

int cmd_stock(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"line", required_argument, NULL, 'l'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"new-line", no_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
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
        "A line's books open with its first issue and --new-line (a run or 'config apply' opens them too); "
        "a\n"
        "return or sample never takes more than the line has on hand.\n";
    const char *sub = argc > 1 ? argv[1] : "", *line = NULL, *from = NULL, *to = NULL;
    char why[200], from_text[112], to_text[112];
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
        case 't':
            /* refused before anything runs: PostgreSQL's readings ("yesterday") never reach it */
            if (producer_time_parse(optarg, PRODUCER_TIME_INSTANT, c == 'f' ? "--from" : "--to",
                                    &(struct producer_time){0}, why, sizeof(why)) < 0) {
                fprintf(stderr, _("cardline stock: %s\n"), why);
                return EXIT_USAGE;
            }
            *(c == 'f' ? &from : &to) = optarg;
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
        /* bureau time unless the value says otherwise */
        r = from ? producer_time_text(conn, from, PRODUCER_TIME_INSTANT, "--from", from_text,
                                      sizeof(from_text), why, sizeof(why))
                 : 0;
        if (r == 0 && to)
            r = producer_time_text(conn, to, PRODUCER_TIME_INSTANT, "--to", to_text, sizeof(to_text), why,
                                   sizeof(why));
        if (r < 0)
            fprintf(stderr, _("cardline stock report: %s\n"), why);
        else
            r = producer_stock_report(conn, line, from ? from_text : NULL, to ? to_text : NULL, json);
        r = r != 0;
    } else {
        const char *kind = strcmp(sub, "issue") == 0    ? "issued"
                           : strcmp(sub, "return") == 0 ? "returned"
                                                        : "sample";
        r = producer_stock_move(conn, line, kind, (int)n, new_line, OPERATOR) < 0;
        if (!r)
            printf(strcmp(kind, "issued") == 0     ? _("issued %ld blank(s) to line %s\n")
                   : strcmp(kind, "returned") == 0 ? _("returned %ld blank(s) from line %s\n")
                                                   : _("sample %ld blank(s) from line %s\n"),
                   n, line);
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
        fprintf(stderr, _("cardline: %s\n"), err);
        return 1;
    }
    /* a configuration whose key file is missing or open to others would stop every line at start-up: say so
     * now, while someone is looking */
    if (cfg->key_service[0] && encoder_key_service_explain(cfg->key_service, err, sizeof(err)) < 0) {
        fprintf(stderr, _("cardline: %s: (top).key_service: %s\n"), argv[2], err);
        producer_config_free(cfg);
        return 1;
    }
    printf(_("%s: %d line(s), %d outlet(s), key service %s\n"), argv[2], cfg->nlines, cfg->noutlets,
           cfg->key_service[0] ? cfg->key_service : _("per-run (simulation only)"));
    if (strcmp(argv[1], "check") == 0) {
        producer_config_free(cfg);
        return 0;
    }
    conn = cli_open_db(g);
    r = conn ? producer_config_apply(conn, cfg) : PRODUCER_ERROR_DB;
    if (r >= 0)
        printf(_("applied %d outlet(s)\n"), r);
    PQfinish(conn);
    producer_config_free(cfg);
    return r < 0;
}
