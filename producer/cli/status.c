/* status.c — what operators and dispatch read, printed from the store's read models (store/reads.h): queue
 * and card counts, shipments per outlet, lines, nearest deadlines, the demo's summary, outlets */
#include "producer.h"
#include "dispatch/dispatch.h"
#include "schedule/schedule.h"

#include "base/i18n.h"
#include "base/log.h"
#include "store/outlets.h"
#include "store/reads.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

static long long num(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : 0;
}

/* the statuses of applications, cards and lines as a person reads them (the database's word in English) */
static const char *const status_words[][2] = {
    {"pending", N_("pending")},
    {"in_production", N_("in production")},
    {"produced", N_("produced")},
    {"held", N_("held")},
    {"cancelled", N_("cancelled")},
    {"allocated", N_("allocated")},
    {"printing", N_("printing")},
    {"encoding", N_("encoding")},
    {"ejecting", N_("ejecting")},
    {"good", N_("good")},
    {"spoiled", N_("spoiled")},
    {"unused", N_("unused")},
    {"issued", N_("issued")},
    {"lost", N_("lost")},
    {"voided", N_("voided")},
    {"returned", N_("returned")},
    {"in_transit", N_("in transit")},
    {"at_outlet", N_("at the outlet")},
    {"uncollected", N_("uncollected")},
    {"lost_in_transit", N_("lost in transit")},
    {"lost_temporary", N_("reported lost (temporary)")},
    {"return_due", N_("return due")},
    {"running", N_("running")},
    {"paused", N_("paused")},
    {"stopped", N_("stopped")},
};

static const char *status_word(const char *status, bool card)
{
    /* English keeps the database's own word, which scripts and the README show */
    if (i18n_get() == I18N_EN)
        return status;
    /* an application is withdrawn (撤销), a card cancelled (注销): one English word, two Chinese ones */
    if (card && strcmp(status, "cancelled") == 0)
        return _("cancelled (card)");
    for (size_t i = 0; i < sizeof(status_words) / sizeof(status_words[0]); i++) {
        if (strcmp(status, status_words[i][0]) == 0)
            return _(status_words[i][1]);
    }
    return status;
}

/* s left-aligned in width terminal columns: a CJK character takes two columns and three bytes, so printf's
 * %-14s would misalign the Chinese tables */
static void pad(const char *s, int width)
{
    int cols = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue;
        cols += *p >= 0xE1 ? 2 : 1; /* U+1100 and above: the wide scripts, near enough for these words */
    }
    fputs(s, stdout);
    for (; cols < width; cols++)
        putchar(' ');
}

static void counts_text(const char *title, json_object *by, bool cards)
{
    long long total = 0;
    json_object *counts = json_object_object_get(by, "by_status");

    printf("%s\n", title);
    json_object_object_foreach(counts, status, n)
    {
        printf("  ");
        pad(status_word(status, cards), 14);
        printf(" %8lld\n", (long long)json_object_get_int64(n));
        total += json_object_get_int64(n);
    }
    printf("  ");
    pad(_("total"), 14);
    printf(" %8lld\n", total);
}

int producer_status(PGconn *conn, bool json)
{
    json_object *root = NULL, *a, *u;
    int r = store_reads_status(conn, &root);

    if (r >= 0 && (r = producer_status_deadlines(conn, root)) < 0)
        json_object_put(root);
    if (r < 0) {
        log_error("status", "the status could not be read from the database");
        return r;
    }
    if (json) {
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return 0;
    }
    counts_text(_("Applications:"), json_object_object_get(root, "applications"), false);
    counts_text(_("Cards:"), json_object_object_get(root, "cards"), true);
    printf("%s\n", _("Shipments (open) per outlet:"));
    a = json_object_object_get(root, "shipments");
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *o = json_object_array_get_idx(a, i);
        printf(_("  %-8s %-5s %6lld card(s)  %s  %s\n"), str(o, "outlet"), str(o, "kind"), num(o, "cards"),
               *str(o, "open_shipment") ? str(o, "open_shipment") : "-", str(o, "name"));
    }
    printf("%s\n", _("Lines:"));
    a = json_object_object_get(root, "lines");
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *o = json_object_array_get_idx(a, i);
        printf("  %-8s ", str(o, "line"));
        pad(status_word(str(o, "state"), false), 8);
        printf(_(" good %-6lld spoiled %-6lld %s\n"), num(o, "good"), num(o, "spoiled"), str(o, "reason"));
    }
    /* the nearest known deadlines first; the unknown ones counted with their reasons, not listed first */
    printf("%s\n", _("Nearest deadlines of open applications:"));
    a = json_object_object_get(root, "nearest_deadlines");
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *o = json_object_array_get_idx(a, i),
                    *left = json_object_object_get(o, "working_days_left");
        char days[24] = "?";
        if (left)
            snprintf(days, sizeof(days), "%d", json_object_get_int(left));
        /* the deadline as YYYY-MM-DD in both languages: a column of fixed width */
        printf("  %-18s ", str(o, "upstream_id"));
        pad(status_word(str(o, "status"), false), 14);
        printf(_(" due %s  %s working day(s) left\n"), str(o, "deadline"), days);
    }
    u = json_object_object_get(root, "deadlines_unknown");
    if (json_object_array_length(a) == 0 && num(u, "count") == 0)
        printf("%s\n", _("  (none open)"));
    if (num(u, "count") > 0) {
        json_object *why = json_object_object_get(u, "reasons");
        printf(_("  %lld deadline(s) unknown:"), num(u, "count"));
        for (size_t i = 0; i < json_object_array_length(why); i++) {
            json_object *w = json_object_array_get_idx(why, i);
            printf("%s %s (%lld)", i ? ";" : "", str(w, "reason"), num(w, "n"));
        }
        /* the usual reason has one remedy; say it */
        printf("%s\n", strstr(str(json_object_array_get_idx(why, 0), "reason"), "calendar")
                           ? _(" -- load the year with cardline calendar import")
                           : "");
    }
    json_object_put(root);
    return 0;
}

static void reasons_text(json_object *a)
{
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *o = json_object_array_get_idx(a, i);
        printf("                 %3lld x %s\n", num(o, "n"), str(o, "reason"));
    }
}

int producer_summary(PGconn *conn, const struct db_config *db)
{
    json_object *s = NULL, *a;
    int files = 0, r;
    char dir[PATH_MAX + 16];

    r = store_reads_summary(conn, &s);
    if (r < 0) {
        log_error("summary", "the summary could not be read from the database");
        return r;
    }
    printf("%s", _("\n== cardline summary ==\n"));
    printf(_("applications:  %lld\n"), num(s, "applications"));
    printf(_("produced:      %lld good cards\n"), num(s, "produced"));
    printf(_("spoiled:       %lld cards (each kept its number; the application was retried)\n"),
           num(s, "spoiled"));
    reasons_text(json_object_object_get(s, "spoiled_by_reason"));
    printf(_("blanks used:   %lld (good + spoiled)\n"), num(s, "blanks_used"));
    printf(_("held:          %lld applications waiting for a person to act\n"), num(s, "held"));
    reasons_text(json_object_object_get(s, "held_by_reason"));
    printf(_("still queued:  %lld\n"), num(s, "queued"));
    printf("%s", _("cards per outlet:\n"));
    a = json_object_object_get(s, "outlets");
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *o = json_object_array_get_idx(a, i);
        printf("  %-8s %4lld  %s\n", str(o, "outlet"), num(o, "cards"), str(o, "name"));
    }
    if (json_object_object_get(s, "smallest_margin"))
        printf(_("smallest deadline margin: %lld working day(s) between finishing a card and its deadline\n"),
               num(s, "smallest_margin"));
    if (num(s, "deadline_unknown") > 0)
        printf(
            _("deadline unknown for %lld produced application(s): the official calendar of their year is not "
              "loaded\n"),
            num(s, "deadline_unknown"));
    json_object_put(s);
    snprintf(dir, sizeof(dir), "%s/shipments", db->data_dir);
    r = producer_dispatch_export(conn, dir, &files);
    printf(_("card faces:    %s/faces/<card number>.png\n"), db->data_dir);
    printf(_("shipment lists: %s/<outlet>.csv (%d file(s))\n"), dir, files);
    return r;
}

int producer_outlet_add(PGconn *conn, const char *code, const char *name, const char *kind,
                        const char *county, const char *weekdays, int transit_days)
{
    char arr[64];
    const struct store_outlet o = {.code = code,
                                   .name = name,
                                   .kind = kind,
                                   .county = county,
                                   .weekdays = arr,
                                   .transit_days = transit_days};
    const char *why = "";
    int r;

    snprintf(arr, sizeof(arr), "{%s}", weekdays);
    r = store_outlets_put(conn, &o, STORE_OUTLET_REFUSE, &why);
    /* say what is wrong in the operator's terms, not PostgreSQL's */
    if (r == PRODUCER_ERROR_INPUT && why && strcmp(why, "exists") == 0)
        log_error("outlet", "outlet %s already exists (cardline outlet list)", code);
    else if (r == PRODUCER_ERROR_INPUT)
        log_error("outlet", "outlet %s: a field is out of range (code, kind hrss|bank, weekdays 1..7)", code);
    else if (r < 0)
        log_error("outlet", "add outlet %s: the database refused it", code);
    return r < 0 ? PRODUCER_ERROR_DB : 0;
}

int producer_outlet_list(PGconn *conn)
{
    json_object *a = NULL;

    if (store_reads_outlets(conn, &a) < 0) {
        log_error("outlet", "the outlets could not be read from the database");
        return PRODUCER_ERROR_DB;
    }
    /* the header stays English: the columns are the configuration's field names (cardline.json outlets) */
    printf("%-8s %-5s %-8s %-10s %-7s %s\n", "code", "kind", "county", "weekdays", "transit", "name");
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *o = json_object_array_get_idx(a, i);
        printf("%-8s %-5s %-8s %-10s %-7lld %s\n", str(o, "code"), str(o, "kind"), str(o, "county"),
               str(o, "weekdays"), num(o, "transit_days"), str(o, "name"));
    }
    json_object_put(a);
    return 0;
}
