/* cmd_dispatch.c — `cardline dispatch ...`: what dispatch staff and outlet clerks do with shipments and cards
 */
#include "cli/cli.h"
#include "dispatch/dispatch.h"
#include "schedule/schedule.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/log.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *cli_actor(char *buf, size_t size)
{
    struct passwd *pw = getpwuid(getuid());

    snprintf(buf, size, "cli:%s", pw && pw->pw_name ? pw->pw_name : "unknown");
    return buf;
}

static int print_json(json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return 0;
}

static const char *js(json_object *o, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !v)
        return "-";
    return json_object_get_string(v);
}

static void print_shipments(json_object *a)
{
    size_t n = json_object_array_length(a);

    if (n == 0)
        printf(_("(no shipments)\n"));
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(a, i);
        printf(_("%s  %-8s %-10s %4s card(s)  sealed %-16s dispatched %-16s received %-16s\n"), js(s, "id"),
               js(s, "outlet"), js(s, "status"), js(s, "cards"), js(s, "sealed_at"), js(s, "dispatched_at"),
               js(s, "received_at"));
    }
}

static void print_cards(json_object *a, const char *extra)
{
    size_t n = json_object_array_length(a);

    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(a, i);
        json_object *bank = NULL;
        printf("  %s  %-12s %-20s %-12s %s", js(c, "card_number"), js(c, "status"), js(c, "application"),
               js(c, "holder"), js(c, extra));
        /* the bank application's account, masked, where the card carries one */
        if (json_object_object_get_ex(c, "bank_account", &bank) && bank)
            printf("  %s %s", json_object_get_string(bank), js(c, "bank"));
        putchar('\n');
    }
}

/* the options of the dispatch subcommands; each subcommand uses its own */
struct dispatch_opts {
    bool json, due, activate, temporary_returned;
    const char *status, *outlet, *at, *reason, *holder_doc, *agent_name, *agent_doc_type, *agent_doc;
    const char *skip_activation, *poa_ref, *poa_scan;
    char why[200]; /* a refused option's reason */
};

static int parse_opts(int argc, char **argv, struct dispatch_opts *o)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"due", no_argument, NULL, 'd'},
                                         {"status", required_argument, NULL, 's'},
                                         {"outlet", required_argument, NULL, 'o'},
                                         {"at", required_argument, NULL, 'a'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"holder-doc", required_argument, NULL, 'H'},
                                         {"agent-name", required_argument, NULL, 'N'},
                                         {"agent-doc-type", required_argument, NULL, 'T'},
                                         {"agent-doc", required_argument, NULL, 'D'},
                                         {"no-activate", no_argument, NULL, 'n'},
                                         {"skip-activation", required_argument, NULL, 'S'},
                                         {"poa-ref", required_argument, NULL, 'P'},
                                         {"poa-scan", required_argument, NULL, 'p'},
                                         {"temporary-returned", no_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    o->activate = true;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            o->json = true;
            break;
        case 'd':
            o->due = true;
            break;
        case 's':
            o->status = optarg;
            break;
        case 'o':
            o->outlet = optarg;
            break;
        case 'a':
            /* refused before anything runs: PostgreSQL's readings ("yesterday") never reach it */
            if (producer_time_parse(optarg, PRODUCER_TIME_INSTANT, "--at", &(struct producer_time){0}, o->why,
                                    sizeof(o->why)) < 0) {
                fprintf(stderr, _("cardline dispatch: %s\n"), o->why);
                return EXIT_USAGE;
            }
            o->at = optarg;
            break;
        case 'r':
            o->reason = optarg;
            break;
        case 'H':
            o->holder_doc = optarg;
            break;
        case 'N':
            o->agent_name = optarg;
            break;
        case 'T':
            o->agent_doc_type = optarg;
            break;
        case 'D':
            o->agent_doc = optarg;
            break;
        case 'n':
            o->activate = false;
            break;
        case 'S':
            o->activate = false;
            o->skip_activation = optarg;
            break;
        case 'P':
            o->poa_ref = optarg;
            break;
        case 'p':
            o->poa_scan = optarg;
            break;
        case 't':
            o->temporary_returned = true;
            break;
        case 'h':
            return 0; /* answered before any command runs (cli_help) */
        default:
            return EXIT_USAGE;
        }
    }
    return -1;
}

static int refused(const char *what, struct producer_ctx *ctx, int r)
{
    fprintf(stderr, _("cardline dispatch %s: %s\n"), what,
            ctx->message[0] ? ctx->message : dispatch_strerror(r));
    return r == PRODUCER_ERROR_INPUT ? EXIT_USAGE : 1;
}

/* One scanned label per line until end of input; a bad scan is reported and the next one is read. */
static int receive_stream(struct producer_ctx *ctx, const char *outlet)
{
    char line[256], id[19];
    int failures = 0;

    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        ctx->message[0] = '\0';
        if (producer_dispatch_receive(ctx, line, outlet, id) == 0) {
            printf(_("received %s\n"), id);
        } else {
            fprintf(stderr, _("refused: %s\n"), ctx->message);
            failures++;
        }
        fflush(stdout);
    }
    return failures ? 1 : 0;
}

int cmd_dispatch(struct globals *g, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    struct dispatch_opts o = {0};
    struct producer_ctx ctx = {0};
    char actor[96];
    json_object *j = NULL;
    PGconn *conn;
    int r, nargs;
    char **args;

    if (!*sub)
        return cli_usage_error("dispatch", NULL);
    r = parse_opts(argc - 1, argv + 1, &o);
    if (r >= 0)
        return r;
    args = argv + 1 + optind;
    nargs = argc - 1 - optind;
#define NEED(n)                                                                                              \
    do {                                                                                                     \
        if (nargs != (n)) {                                                                                  \
            fprintf(stderr, _("cardline dispatch %s: wrong number of arguments\n"), sub);                    \
            return cli_usage_error("dispatch", sub);                                                         \
        }                                                                                                    \
    } while (0)
    if (strcmp(sub, "list") == 0 || strcmp(sub, "seal-due") == 0 || strcmp(sub, "overdue") == 0 ||
        strcmp(sub, "uncollected") == 0)
        NEED(0);
    else if (strcmp(sub, "label") == 0 || strcmp(sub, "manifest") == 0)
        NEED(2);
    else if (strcmp(sub, "receive") == 0) {
        /* any number of labels, or none to read them from a scanner */
    } else if (strcmp(sub, "return") == 0)
        NEED(o.due ? 0 : 1);
    else if (strcmp(sub, "show") == 0 || strcmp(sub, "seal") == 0 || strcmp(sub, "send") == 0 ||
             strcmp(sub, "collect") == 0 || strcmp(sub, "activate") == 0 || strcmp(sub, "lost") == 0 ||
             strcmp(sub, "track") == 0)
        NEED(1);
    else {
        fprintf(stderr, _("cardline dispatch: unknown command '%s'\n"), sub);
        return cli_usage_error("dispatch", NULL);
    }
#undef NEED
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    ctx.conn = conn;
    ctx.actor = cli_actor(actor, sizeof(actor));
    r = 0;

    if (strcmp(sub, "list") == 0) {
        r = producer_dispatch_shipments_json(conn, o.status, o.outlet, 1000, &j);
        if (r == 0 && o.json)
            print_json(j);
        else if (r == 0) {
            print_shipments(j);
            json_object_put(j);
        }
    } else if (strcmp(sub, "show") == 0) {
        r = producer_dispatch_shipment_json(conn, args[0], &j);
        if (r == PRODUCER_ERROR_NOT_FOUND)
            snprintf(ctx.message, sizeof(ctx.message), _("no shipment %.40s"), args[0]);
        if (r == 0 && o.json)
            print_json(j);
        else if (r == 0) {
            json_object *items;
            json_object_object_get_ex(j, "items", &items);
            printf(_("shipment %s for %s %s: %s, %s card(s)\n"), js(j, "id"), js(j, "outlet"),
                   js(j, "outlet_name"), js(j, "status"), js(j, "cards"));
            print_cards(items, "ssn");
            json_object_put(j);
        }
    } else if (strcmp(sub, "seal") == 0) {
        r = producer_dispatch_seal(&ctx, args[0]);
        if (r == 0)
            printf(_("sealed %s\n"), args[0]);
    } else if (strcmp(sub, "seal-due") == 0) {
        char at[112];
        int n = 0;
        r = o.at ? producer_time_text(conn, o.at, PRODUCER_TIME_INSTANT, "--at", at, sizeof(at), ctx.message,
                                      sizeof(ctx.message))
                 : 0;
        if (r == 0)
            r = producer_dispatch_seal_due(&ctx, o.at ? at : NULL, &n);
        if (r == 0)
            printf(_("sealed %d shipment(s) at their delivery cut-off\n"), n);
    } else if (strcmp(sub, "label") == 0 || strcmp(sub, "manifest") == 0) {
        const char *dot = strrchr(args[1], '.');
        const char *fmt = dot ? dot + 1 : "";
        r = strcmp(sub, "label") == 0 ? producer_dispatch_label(conn, args[0], fmt, args[1])
                                      : producer_dispatch_manifest(conn, args[0], fmt, args[1]);
        if (r == PRODUCER_ERROR_INVALID) {
            snprintf(ctx.message, sizeof(ctx.message), "%s",
                     strcmp(sub, "label") == 0 ? _("write the label as FILE.png or FILE.pdf")
                                               : _("write the manifest as FILE.pdf or FILE.csv"));
            r = PRODUCER_ERROR_INPUT;
        } else if (r == PRODUCER_ERROR_NOT_FOUND) {
            snprintf(ctx.message, sizeof(ctx.message), _("no shipment %.40s"), args[0]);
        }
        if (r == 0)
            printf(_("wrote %s\n"), args[1]);
    } else if (strcmp(sub, "send") == 0) {
        r = producer_dispatch_send(&ctx, args[0]);
        if (r == 0)
            printf(_("dispatched %s\n"), args[0]);
    } else if (strcmp(sub, "receive") == 0) {
        if (nargs == 0) {
            r = receive_stream(&ctx, o.outlet);
            PQfinish(conn);
            return r;
        }
        for (int i = 0; i < nargs; i++) {
            char id[19];
            ctx.message[0] = '\0';
            if (producer_dispatch_receive(&ctx, args[i], o.outlet, id) == 0)
                printf(_("received %s\n"), id);
            else {
                fprintf(stderr, _("cardline dispatch receive: %s\n"), ctx.message);
                r = 1;
            }
        }
        PQfinish(conn);
        return r;
    } else if (strcmp(sub, "collect") == 0) {
        struct dispatch_collect c = {.card_number = args[0],
                                     .holder_doc = o.holder_doc,
                                     .agent_name = o.agent_name,
                                     .agent_doc_type = o.agent_doc_type,
                                     .agent_doc = o.agent_doc,
                                     .poa_reference = o.poa_ref,
                                     .activate = o.activate,
                                     .skip_activation_reason =
                                         o.skip_activation ? o.skip_activation : o.reason,
                                     .temporary_returned = o.temporary_returned};
        char *scan = NULL;
        size_t scan_len = 0;

        if (o.poa_scan && producer_read_file(o.poa_scan, DISPATCH_POA_SCAN_MAX, &scan, &scan_len) < 0) {
            fprintf(stderr,
                    _("cardline dispatch collect: cannot read the power of attorney's scan %s (at most %u "
                      "bytes)\n"),
                    o.poa_scan, DISPATCH_POA_SCAN_MAX);
            PQfinish(conn);
            return 1;
        }
        c.poa_scan = (const uint8_t *)scan;
        c.poa_scan_len = scan_len;
        r = producer_dispatch_collect(&ctx, &c);
        free(scan);
        if (r == 0) {
            printf(o.activate ? _("card %s handed out; social security function activated\n")
                              : _("card %s handed out; social security function NOT activated (recorded "
                                  "exception)\n"),
                   args[0]);
            if (c.ret_bank_account[0])
                printf(_("bank account %s (%s): its financial function is activated by the bank\n"),
                       c.ret_bank_account, c.ret_bank[0] ? c.ret_bank : "-");
            if (c.ret_temporary[0])
                printf(c.ret_temporary_due
                           ? _("temporary card %s not handed in: flagged for return and blocked\n")
                           : _("temporary card %s returned and cancelled\n"),
                       c.ret_temporary);
        }
    } else if (strcmp(sub, "activate") == 0) {
        r = producer_dispatch_activate(&ctx, args[0]);
        if (r == 0)
            printf(_("card %s: social security function activated\n"), args[0]);
    } else if (strcmp(sub, "return") == 0 && !o.due) {
        r = producer_dispatch_return(&ctx, args[0]);
        if (r == 0)
            printf(_("card %s returned to the bureau as uncollected\n"), args[0]);
    } else if (strcmp(sub, "return") == 0) {
        r = producer_dispatch_uncollected_json(conn, true, &j);
        for (size_t i = 0; r == 0 && i < json_object_array_length(j); i++) {
            const char *card = js(json_object_array_get_idx(j, i), "card_number");
            if (producer_dispatch_return(&ctx, card) == 0)
                printf(_("card %s returned to the bureau as uncollected\n"), card);
            else
                fprintf(stderr, _("cardline dispatch return: %s\n"), ctx.message);
        }
        json_object_put(j);
    } else if (strcmp(sub, "lost") == 0) {
        int n = 0;
        r = producer_dispatch_lost(&ctx, args[0], o.reason, &n);
        if (r == 0)
            printf(
                _("%s recorded lost in transit; %d card(s) blacklisted, %d application(s) back in the queue "
                  "first\n"),
                args[0], n, n);
    } else if (strcmp(sub, "overdue") == 0) {
        r = producer_dispatch_overdue_json(conn, &j);
        if (r == 0 && o.json)
            print_json(j);
        else if (r == 0) {
            json_object *s, *c;
            json_object_object_get_ex(j, "shipments", &s);
            json_object_object_get_ex(j, "late_cards", &c);
            printf(_("Shipments past their expected arrival:\n"));
            print_shipments(s);
            printf(_("Cards not at their outlet by the deadline:\n"));
            if (json_object_array_length(c) == 0)
                printf(_("  (none)\n"));
            print_cards(c, "deadline");
            json_object_put(j);
        }
    } else if (strcmp(sub, "uncollected") == 0) {
        r = producer_dispatch_uncollected_json(conn, o.due, &j);
        if (r == 0 && o.json)
            print_json(j);
        else if (r == 0) {
            if (json_object_array_length(j) == 0)
                printf(_("(no cards waiting)\n"));
            for (size_t i = 0; i < json_object_array_length(j); i++) {
                json_object *c = json_object_array_get_idx(j, i);
                printf(_("  %s  %-8s %-20s %-12s since %s%s\n"), js(c, "card_number"), js(c, "outlet"),
                       js(c, "application"), js(c, "holder"), js(c, "received_at"),
                       json_object_get_boolean(json_object_object_get(c, "due_for_return"))
                           ? _("  DUE FOR RETURN")
                           : "");
            }
            json_object_put(j);
        }
    } else if (strcmp(sub, "track") == 0) {
        r = producer_dispatch_track_json(conn, args[0], NULL, false, &j);
        if (r == PRODUCER_ERROR_NOT_FOUND)
            snprintf(ctx.message, sizeof(ctx.message), _("no application %.64s"), args[0]);
        if (r == 0 && o.json)
            print_json(j);
        else if (r == 0) {
            json_object *ev;
            json_object_object_get_ex(j, "events", &ev);
            printf(_("application %s (%s, %s): %s; card %s %s; outlet %s %s; deadline %s\n"),
                   js(j, "application"), js(j, "holder"), js(j, "document"), js(j, "status"),
                   js(j, "card_number"), js(j, "card_status"), js(j, "outlet"), js(j, "outlet_name"),
                   js(j, "deadline"));
            for (size_t i = 0; i < json_object_array_length(ev); i++) {
                json_object *e = json_object_array_get_idx(ev, i);
                printf("  %s  %-16s %s %s\n", js(e, "at"), js(e, "kind"),
                       json_object_object_get(e, "card_number") ? js(e, "card_number") : "",
                       json_object_object_get(e, "shipment") ? js(e, "shipment") : "");
            }
            json_object_put(j);
        }
    }
    PQfinish(conn);
    if (r < 0)
        return refused(sub, &ctx, r);
    return 0;
}
