/* stock.c — every blank card accounted for: issued to a line, fed (good, spoiled or still in the machine),
 * not fed, returned, taken as samples; the report balances exactly or says loudly where it does not */
#include "dispatch/stock.h"

#include "base/i18n.h"
#include "base/log.h"
#include "store/stock.h"
#include "store/store.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int producer_stock_move(PGconn *conn, const char *line, const char *kind, int quantity, bool new_line,
                        const char *actor)
{
    char detail[96];
    long long on_hand = 0;
    int r;

    if (quantity < 1 || quantity > 100000 ||
        (strcmp(kind, "issued") && strcmp(kind, "returned") && strcmp(kind, "sample")))
        return PRODUCER_ERROR_INVALID;
    snprintf(detail, sizeof(detail), "%s %d blank(s), line %s", kind, quantity, line);
    if (store_begin(conn) < 0)
        return PRODUCER_ERROR_DB;
    /* the line's row serialises its stock moves: two operators returning at once cannot both take the last */
    r = store_stock_lock_line(conn, line);
    if (r == 0) {
        if (strcmp(kind, "issued") != 0 || !new_line) {
            log_error("stock",
                      "line %s is not in the stock books; check the name (cardline stock report lists "
                      "the lines), or open a new line's books with its first issue and --new-line",
                      line);
            r = PRODUCER_ERROR_INPUT;
        } else {
            r = store_stock_add_line(conn, line);
        }
    } else if (r > 0) {
        r = 0;
    }
    if (r == 0 && strcmp(kind, "issued") != 0) {
        r = store_stock_on_hand(conn, line, &on_hand);
        if (r == 0 && on_hand < quantity) {
            log_error("stock", "line %s has %lld blank(s) on hand; %s %d would take more than is there", line,
                      on_hand, strcmp(kind, "returned") == 0 ? "returning" : "sampling", quantity);
            r = PRODUCER_ERROR_INPUT;
        }
    }
    if (r == 0)
        r = store_stock_add_move(conn, line, kind, quantity);
    if (r == 0)
        r = store_event(conn, actor, "stock", NULL, NULL, NULL, detail);
    if (r == 0)
        r = store_commit(conn);
    if (r < 0)
        store_rollback(conn);
    return r;
}

static long long num(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

int producer_stock_report(PGconn *conn, const char *line, const char *from, const char *to, bool json)
{
    static const char *const cols[8] = {"issued",     "used",     "good",    "spoiled",
                                        "in_machine", "returned", "samples", "on_hand"};
    json_object *root = NULL, *arr;
    long long tot[8] = {0};
    int problems = store_stock_report(conn, line, from, to, &root);

    if (problems < 0) {
        log_error("stock", "the stock report could not be read from the database");
        return problems;
    }
    if (json) {
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
        json_object_put(root);
        return problems;
    }
    if (from && to)
        printf(_("Blank card stock from %s to %s\n"), from, to);
    else if (from)
        printf(_("Blank card stock from %s\n"), from);
    else if (to)
        printf(_("Blank card stock to %s\n"), to);
    else
        printf("%s", _("Blank card stock\n"));
    /* one text with its columns' widths: a translation aligns its own words */
    printf("%s", _("line         issued     used     good  spoiled in mach. returned  samples   on hand\n"));
    json_object_object_get_ex(root, "lines", &arr);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        const char *id = json_object_get_string(json_object_object_get(o, "line"));
        long long v[8], fed_unused = num(o, "fed_but_unused"), unfed_used = num(o, "unfed_but_used");
        for (int c = 0; c < 8; c++) {
            v[c] = num(o, cols[c]);
            tot[c] += v[c];
        }
        printf("%-10s %8lld %8lld %8lld %8lld %8lld %8lld %8lld %9lld\n", id, v[0], v[1], v[2], v[3], v[4],
               v[5], v[6], v[7]);
        if (from)
            printf(_("  %s had %lld blank(s) on hand when the period began\n"), id, num(o, "opening"));
        if (v[1] != v[2] + v[3] + v[4])
            printf(_("  !! DIFFERENCE on %s: %lld blanks used but %lld cards accounted for (good + spoiled + "
                     "in the machine)\n"),
                   id, v[1], v[2] + v[3] + v[4]);
        if (fed_unused || unfed_used)
            printf(_("  !! DIFFERENCE on %s: %lld card(s) fed but recorded unused, %lld recorded not fed but "
                     "used\n"),
                   id, fed_unused, unfed_used);
        if (v[7] < 0)
            printf(_("  !! DIFFERENCE on %s: %lld more blanks used, returned or sampled than were issued to "
                     "it%s (record the issue with 'cardline stock issue')\n"),
                   id, -v[7], from ? _(" (counting what it had on hand when the period began)") : "");
        if (v[4])
            printf(_("  note: %lld card(s) of %s are recorded inside the machine (a line is running, or a "
                     "controller died and its leases have not run out yet)\n"),
                   v[4], id);
    }
    /* TRANSLATORS: the first column of the totals row, 10 columns wide (pad with spaces) */
    printf("%s %8lld %8lld %8lld %8lld %8lld %8lld %8lld %9lld\n", _("total     "), tot[0], tot[1], tot[2],
           tot[3], tot[4], tot[5], tot[6], tot[0] - tot[1] - tot[5] - tot[6]);
    if (problems)
        printf(_("STOCK DOES NOT BALANCE on %d line(s)\n"), problems);
    else
        printf("%s", _("stock balances\n"));
    json_object_put(root);
    return problems;
}
