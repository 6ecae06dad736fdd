/* dispatch.c — shipments after production: packing, sealing, dispatch, receipt at the outlet, collection,
 * activation, return of uncollected cards, loss in transit; the custody events themselves are written by the
 * database's triggers (migration 0005), this file only moves states inside transactions */
#include "dispatch/dispatch.h"
#include "store/store.h"

#include "intake/intake.h"
#include "base/log.h"
#include "producer.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *dispatch_strerror(int err)
{
    switch (err) {
    case DISPATCH_ERROR_STATE:
        return "not in a state that allows this";
    case DISPATCH_ERROR_IDENTITY:
        return "identity not confirmed";
    case DISPATCH_ERROR_OUTLET:
        return "belongs to another outlet";
    case DISPATCH_ERROR_RENDER:
        return "cannot draw the document";
    default:
        return producer_strerror(err);
    }
}

static int fail(struct producer_ctx *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct producer_ctx *ctx, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ctx->message, sizeof(ctx->message), fmt, ap);
    va_end(ap);
    return err;
}

/* The first line of a database error, without the "ERROR:  " prefix: trigger messages are written for people.
 */
static void db_reason(const PGresult *res, PGconn *conn, char *out, size_t size)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    if (!m)
        m = PQerrorMessage(conn);
    snprintf(out, size, "%s", m);
    out[strcspn(out, "\n")] = '\0';
}

/* Run a statement; on failure fill ctx->message and return DISPATCH_ERROR_STATE for refusals by a trigger or
 * constraint, PRODUCER_ERROR_DB otherwise. Returns the number of rows affected or returned. */
static int run(struct producer_ctx *ctx, const char *sql, int n, const char *const *params, PGresult **ret)
{
    PGresult *res = db_exec(ctx->conn, sql, n, params);
    int rows;

    if (!db_ok(res)) {
        /* class 23: integrity constraint violation (our triggers raise check_violation) */
        int r = strncmp(db_sqlstate(res), "23", 2) == 0 ? DISPATCH_ERROR_STATE : PRODUCER_ERROR_DB;
        db_reason(res, ctx->conn, ctx->message, sizeof(ctx->message));
        PQclear(res);
        return r;
    }
    rows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : atoi(PQcmdTuples(res));
    if (ret)
        *ret = res;
    else
        PQclear(res);
    return rows;
}

static int begin(struct producer_ctx *ctx, const char *detail)
{
    const char *p[2] = {ctx->actor, detail ? detail : ""};

    if (run(ctx, "BEGIN", 0, NULL, NULL) < 0)
        return PRODUCER_ERROR_DB;
    /* the custody triggers name the actor and the detail from these transaction-local settings */
    if (run(ctx, "SELECT set_config('cardline.actor', $1, true), set_config('cardline.detail', $2, true)", 2,
            p, NULL) < 0) {
        PQclear(PQexec(ctx->conn, "ROLLBACK"));
        return PRODUCER_ERROR_DB;
    }
    return 0;
}

static int commit(struct producer_ctx *ctx, int r)
{
    if (r < 0) {
        PQclear(PQexec(ctx->conn, "ROLLBACK"));
        return r;
    }
    if (run(ctx, "COMMIT", 0, NULL, NULL) < 0)
        return PRODUCER_ERROR_DB;
    return r;
}

static bool valid_card_number(const char *s)
{
    if (!s || strlen(s) != 9 || !isupper((unsigned char)s[0]))
        return false;
    for (int i = 1; i < 9; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static bool gs1_valid(const char *id18)
{
    int sum = 0;

    for (int i = 0; i < 17; i++)
        sum += (id18[16 - i] - '0') * (i % 2 == 0 ? 3 : 1);
    return (10 - sum % 10) % 10 == id18[17] - '0';
}

int producer_dispatch_parse_label(const char *scanned, char ret_id[19])
{
    char digits[64];
    size_t n = 0;
    const char *s = scanned;

    if (!s)
        return PRODUCER_ERROR_INPUT;
    while (isspace((unsigned char)*s))
        s++;
    /* AIM symbology identifier a scanner may prefix: ]C1 (GS1-128), ]Q3 (QR with FNC1) */
    if (s[0] == ']' && s[1] && s[2])
        s += 3;
    for (; *s; s++) {
        if (isdigit((unsigned char)*s)) {
            if (n + 1 >= sizeof(digits))
                return PRODUCER_ERROR_INPUT;
            digits[n++] = *s;
        } else if (*s == '(' || *s == ')' || *s == ' ' || *s == '\r' || *s == '\n' || *s == '\x1d' ||
                   *s == '\t') {
            continue; /* "(00) 0 6901234 000000001 2" as printed, or a group separator */
        } else {
            return PRODUCER_ERROR_INPUT;
        }
    }
    digits[n] = '\0';
    if (n == 20 && digits[0] == '0' && digits[1] == '0')
        memmove(digits, digits + 2, 19); /* AI 00 in front of the SSCC */
    else if (n != 18)
        return PRODUCER_ERROR_INPUT;
    if (!gs1_valid(digits))
        return PRODUCER_ERROR_INPUT;
    memcpy(ret_id, digits, 19);
    return 0;
}

/* --- packing (inside the line's transaction) ------------------------------------------------------------ */

int producer_dispatch_pack(PGconn *conn, const char *card_number, const char *outlet_code,
                           char ret_shipment[19])
{
    const char *p_outlet[1] = {outlet_code};
    char shipment[19] = "";
    const char *p_item[2] = {card_number, shipment};
    const char *p_ship[1] = {shipment};
    PGresult *res;

    if (!conn || !valid_card_number(card_number) || !outlet_code)
        return PRODUCER_ERROR_INVALID;
    /* The open shipment's row lock orders the lines that pack for one outlet, so the count that seals it is
     * exact. A line that waited on a shipment that got sealed meanwhile finds no open one and opens the next.
     */
    for (int tries = 0; tries < 4 && !shipment[0]; tries++) {
        if (db_command(conn, "open shipment",
                       "INSERT INTO shipment (id, outlet_code) VALUES (next_shipment_id(), $1) "
                       "ON CONFLICT (outlet_code) WHERE status = 'open' DO NOTHING",
                       1, p_outlet) < 0)
            return PRODUCER_ERROR_DB;
        res = db_exec(conn, "SELECT id FROM shipment WHERE outlet_code = $1 AND status = 'open' FOR UPDATE",
                      1, p_outlet);
        if (!db_ok(res)) {
            log_debug("dispatch", "lock open shipment: %s", PQresultErrorMessage(res));
            PQclear(res);
            return PRODUCER_ERROR_DB;
        }
        if (PQntuples(res) == 1)
            snprintf(shipment, sizeof(shipment), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    if (!shipment[0])
        return PRODUCER_ERROR_DB;
    if (db_command(conn, "pack", "INSERT INTO shipment_item (card_number, shipment_id) VALUES ($1, $2)", 2,
                   p_item) < 0)
        return PRODUCER_ERROR_DB;
    if (db_command(conn, "seal when full",
                   "UPDATE shipment SET status = 'sealed', sealed_at = clock_now(), seal_reason = 'full' "
                   "WHERE id = $1 AND (SELECT count(*) FROM shipment_item WHERE shipment_id = $1) >= "
                   "  (SELECT value::integer FROM setting WHERE key = 'shipment_max_cards')",
                   1, p_ship) < 0)
        return PRODUCER_ERROR_DB;
    memcpy(ret_shipment, shipment, 19);
    return 0;
}

/* --- shipment moves ------------------------------------------------------------------------------------- */

static int check_shipment_id(struct producer_ctx *ctx, const char *id)
{
    char norm[19];

    if (!id || producer_dispatch_parse_label(id, norm) < 0 || strcmp(norm, id) != 0)
        return fail(ctx, PRODUCER_ERROR_INPUT,
                    "'%.40s' is not a shipment id (18 digits with a GS1 check digit)", id ? id : "");
    return 0;
}

/* Lock the shipment and return its status and outlet; 0, or a negative error with the message set. */
static int lock_shipment(struct producer_ctx *ctx, const char *id, char status[16], char outlet[20])
{
    const char *p[1] = {id};
    PGresult *res = NULL;
    int r = run(ctx, "SELECT status, outlet_code FROM shipment WHERE id = $1 FOR UPDATE", 1, p, &res);

    if (r < 0)
        return r;
    if (r == 0) {
        PQclear(res);
        return fail(ctx, PRODUCER_ERROR_NOT_FOUND, "no shipment %s", id);
    }
    snprintf(status, 16, "%s", PQgetvalue(res, 0, 0));
    snprintf(outlet, 20, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

int producer_dispatch_seal(struct producer_ctx *ctx, const char *shipment_id)
{
    const char *p[1] = {shipment_id};
    char status[16], outlet[20];
    int r = check_shipment_id(ctx, shipment_id);

    if (r < 0 || (r = begin(ctx, "manual")) < 0)
        return r;
    r = lock_shipment(ctx, shipment_id, status, outlet);
    if (r == 0 && strcmp(status, "open") != 0)
        r = fail(ctx, DISPATCH_ERROR_STATE, "shipment %s is already %s", shipment_id, status);
    if (r == 0) {
        r = run(ctx,
                "UPDATE shipment SET status = 'sealed', sealed_at = clock_now(), seal_reason = 'manual' "
                "WHERE id = $1 AND EXISTS (SELECT 1 FROM shipment_item WHERE shipment_id = $1)",
                1, p, NULL);
        if (r == 0)
            r = fail(ctx, DISPATCH_ERROR_STATE, "shipment %s is empty; there is nothing to seal",
                     shipment_id);
    }
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_seal_due(struct producer_ctx *ctx, const char *at, int *ret_sealed)
{
    const char *p[1] = {at && *at ? at : NULL};
    int r;

    if ((r = begin(ctx, "cut-off")) < 0)
        return r;
    r = run(ctx,
            "UPDATE shipment s SET status = 'sealed', sealed_at = coalesce($1::timestamptz, clock_now()), "
            "  seal_reason = 'cut-off' "
            "WHERE s.status = 'open' AND EXISTS (SELECT 1 FROM shipment_item i WHERE i.shipment_id = s.id) "
            "  AND shipment_cutoff(s.outlet_code, bureau_date(coalesce($1::timestamptz, clock_now()))) "
            "      <= coalesce($1::timestamptz, clock_now())",
            1, p, NULL);
    if (r >= 0 && ret_sealed)
        *ret_sealed = r;
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_send(struct producer_ctx *ctx, const char *shipment_id)
{
    const char *p[1] = {shipment_id};
    char status[16], outlet[20];
    int r = check_shipment_id(ctx, shipment_id);

    if (r < 0 || (r = begin(ctx, NULL)) < 0)
        return r;
    r = lock_shipment(ctx, shipment_id, status, outlet);
    if (r == 0 && strcmp(status, "sealed") != 0)
        r = fail(ctx, DISPATCH_ERROR_STATE, "shipment %s is %s; only a sealed shipment can be dispatched",
                 shipment_id, status);
    if (r == 0)
        r = run(ctx, "UPDATE shipment SET status = 'dispatched', dispatched_at = clock_now() WHERE id = $1", 1, p,
                NULL);
    if (r >= 0)
        r = run(ctx,
                "UPDATE card SET status = 'in_transit' WHERE status = 'good' AND card_number IN "
                "(SELECT card_number FROM shipment_item WHERE shipment_id = $1)",
                1, p, NULL);
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_receive(struct producer_ctx *ctx, const char *scanned, const char *expected_outlet,
                              char ret_id[19])
{
    char id[19], status[16], outlet[20];
    const char *p[2] = {id, ctx->actor};
    int r;

    if (producer_dispatch_parse_label(scanned, id) < 0)
        return fail(
            ctx, PRODUCER_ERROR_INPUT,
            "'%.40s' is not a shipment label (18 digits, or 00 and 18 digits, with a valid check digit); "
            "scan again",
            scanned ? scanned : "");
    if ((r = begin(ctx, NULL)) < 0)
        return r;
    r = lock_shipment(ctx, id, status, outlet);
    if (r == 0 && expected_outlet && *expected_outlet && strcmp(expected_outlet, outlet) != 0)
        r = fail(ctx, DISPATCH_ERROR_OUTLET, "shipment %s is for outlet %s, not %s; do not accept it", id,
                 outlet, expected_outlet);
    if (r == 0 && strcmp(status, "received") == 0)
        r = fail(ctx, DISPATCH_ERROR_STATE, "shipment %s was already received", id);
    else if (r == 0 && strcmp(status, "dispatched") != 0)
        r = fail(ctx, DISPATCH_ERROR_STATE, "shipment %s is %s, not dispatched", id, status);
    if (r == 0)
        r = run(
            ctx,
            "UPDATE shipment SET status = 'received', received_at = clock_now(), received_by = $2 WHERE id = $1", 2,
            p, NULL);
    if (r >= 0)
        r = run(ctx,
                "UPDATE card SET status = 'at_outlet' WHERE status = 'in_transit' AND card_number IN "
                "(SELECT card_number FROM shipment_item WHERE shipment_id = $1)",
                1, p, NULL);
    r = commit(ctx, r < 0 ? r : 0);
    if (r == 0 && ret_id)
        memcpy(ret_id, id, 19);
    return r;
}

/* --- cards at the outlet -------------------------------------------------------------------------------- */

static int check_card(struct producer_ctx *ctx, const char *card)
{
    if (!valid_card_number(card))
        return fail(ctx, PRODUCER_ERROR_INPUT, "'%.20s' is not a card number (a letter and 8 digits)",
                    card ? card : "");
    return 0;
}

/* trim and upper-case a presented document number for comparison */
static void norm_doc(const char *in, char *out, size_t size)
{
    size_t n = 0;

    for (; in && *in && n + 1 < size; in++) {
        if (!isspace((unsigned char)*in))
            out[n++] = (char)toupper((unsigned char)*in);
    }
    out[n] = '\0';
}

/* Case-insensitive comparison of n bytes in time independent of where they differ. */
static bool same_doc(const char *a, const char *b, size_t n)
{
    unsigned diff = 0;

    for (size_t i = 0; i < n; i++)
        diff |= (unsigned)(toupper((unsigned char)a[i]) ^ toupper((unsigned char)b[i]));
    return diff == 0;
}

static const char *const agent_doc_types[] = {"resident_id",     "household_register", "passport",
                                              "hk_macau_permit", "taiwan_permit",      "foreign_permanent"};

int producer_dispatch_collect(struct producer_ctx *ctx, const struct dispatch_collect *c)
{
    char doc[40], agent_doc[40], agent_doc_masked[48], agent_name_masked[200], detail[320];
    const char *p_card[1] = {c->card_number};
    PGresult *res = NULL;
    bool agent = c->agent_name || c->agent_doc || c->agent_doc_type, type_ok = false;
    int r = check_card(ctx, c->card_number);

    if (r < 0)
        return r;
    norm_doc(c->holder_doc, doc, sizeof(doc));
    if (!doc[0])
        return fail(ctx, DISPATCH_ERROR_IDENTITY,
                    "the holder's document number is needed (from the ID presented)");
    if (agent) {
        for (size_t i = 0; i < sizeof(agent_doc_types) / sizeof(agent_doc_types[0]); i++)
            type_ok = type_ok || (c->agent_doc_type && strcmp(c->agent_doc_type, agent_doc_types[i]) == 0);
        norm_doc(c->agent_doc, agent_doc, sizeof(agent_doc));
        if (!c->agent_name || !*c->agent_name || strlen(c->agent_name) > 60 || !type_ok ||
            strlen(agent_doc) < 5 || strlen(agent_doc) > 32)
            return fail(
                ctx, DISPATCH_ERROR_IDENTITY,
                "an agent needs a name (up to 60 bytes), a document type (resident_id, passport, ...) and "
                "a document number (5 to 32 characters), with the power of attorney and the holder's ID");
        producer_mask_doc(agent_doc, agent_doc_masked, sizeof(agent_doc_masked));
        if (!strchr(agent_doc_masked, '*'))
            snprintf(agent_doc_masked, sizeof(agent_doc_masked), "*****");
        producer_mask_name(c->agent_name, agent_name_masked, sizeof(agent_name_masked));
        snprintf(detail, sizeof(detail), "agent %s, %s %s", agent_name_masked, c->agent_doc_type,
                 agent_doc_masked);
    } else {
        snprintf(detail, sizeof(detail), "holder in person");
    }
    if ((r = begin(ctx, detail)) < 0)
        return r;
    r = run(
        ctx,
        "SELECT c.status, upper(a.doc_number), a.kind, coalesce(a.replaced_card_number, ''), a.id "
        "FROM card c JOIN application a ON a.id = c.application_id WHERE c.card_number = $1 FOR UPDATE OF c",
        1, p_card, &res);
    if (r == 0)
        r = fail(ctx, PRODUCER_ERROR_NOT_FOUND, "no card %s", c->card_number);
    if (r > 0 && strcmp(PQgetvalue(res, 0, 0), "at_outlet") != 0)
        r = fail(ctx, DISPATCH_ERROR_STATE,
                 "card %s is %s; only a card received at its outlet can be handed out", c->card_number,
                 PQgetvalue(res, 0, 0));
    if (r > 0 && strcmp(PQgetvalue(res, 0, 1), doc) != 0)
        r = fail(ctx, DISPATCH_ERROR_IDENTITY,
                 "the document presented does not match the holder of card %s; do not hand it out",
                 c->card_number);
    /* an exchange: the holder hands the old card in when taking the new one */
    if (r > 0 && strcmp(PQgetvalue(res, 0, 2), "exchange") == 0 && PQgetvalue(res, 0, 3)[0]) {
        const char *p_old[1] = {PQgetvalue(res, 0, 3)};
        r = run(ctx, "UPDATE card SET status = 'returned' WHERE card_number = $1 AND status = 'issued'", 1,
                p_old, NULL);
        if (r == 1)
            r = store_event(ctx->conn, ctx->actor, "handed_in", PQgetvalue(res, 0, 4), p_old[0], NULL,
                               "old card returned at exchange");
        else if (r >= 0)
            r = 1; /* the old card was already reported lost or returned */
    }
    if (r >= 0) {
        const char *p_col[6] = {c->card_number,
                                agent ? "agent" : "holder",
                                agent ? agent_name_masked : NULL,
                                agent ? c->agent_doc_type : NULL,
                                agent ? agent_doc_masked : NULL,
                                ctx->actor};
        const char *p_act[2] = {c->card_number, c->activate ? "t" : "f"};
        r = run(ctx,
                "INSERT INTO collection (card_number, collected_by, agent_name, agent_doc_type, "
                "agent_doc_masked, "
                "actor) VALUES ($1, $2, $3, $4, $5, $6)",
                6, p_col, NULL);
        if (r >= 0)
            r = run(ctx,
                    "UPDATE card SET status = 'issued', collected_at = clock_now(), "
                    "  activated_at = CASE WHEN $2::boolean THEN clock_now() END WHERE card_number = $1",
                    2, p_act, NULL);
    }
    PQclear(res);
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_activate(struct producer_ctx *ctx, const char *card_number)
{
    const char *p[1] = {card_number};
    PGresult *res = NULL;
    int r = check_card(ctx, card_number);

    if (r < 0 || (r = begin(ctx, NULL)) < 0)
        return r;
    r = run(ctx, "SELECT status, activated_at IS NOT NULL FROM card WHERE card_number = $1 FOR UPDATE", 1, p,
            &res);
    if (r == 0)
        r = fail(ctx, PRODUCER_ERROR_NOT_FOUND, "no card %s", card_number);
    if (r > 0 && strcmp(PQgetvalue(res, 0, 0), "issued") != 0)
        r = fail(ctx, DISPATCH_ERROR_STATE,
                 "card %s is %s; the social security function is activated at collection", card_number,
                 PQgetvalue(res, 0, 0));
    else if (r > 0 && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        r = fail(ctx, DISPATCH_ERROR_STATE, "card %s is already activated", card_number);
    PQclear(res);
    if (r > 0)
        r = run(ctx, "UPDATE card SET activated_at = clock_now() WHERE card_number = $1", 1, p, NULL);
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_return(struct producer_ctx *ctx, const char *card_number)
{
    const char *p[1] = {card_number};
    int r = check_card(ctx, card_number);

    if (r < 0 || (r = begin(ctx, "not collected within the collection period")) < 0)
        return r;
    /* the custody trigger refuses a card that has not waited the configured period, with the dates */
    r = run(ctx, "UPDATE card SET status = 'uncollected' WHERE card_number = $1", 1, p, NULL);
    if (r == 0)
        r = fail(ctx, PRODUCER_ERROR_NOT_FOUND, "no card %s", card_number);
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_lost(struct producer_ctx *ctx, const char *id, const char *reason, int *ret_requeued)
{
    char detail[300];
    bool is_card = valid_card_number(id);
    const char *p[2] = {id, detail};
    PGresult *res = NULL;
    int r;

    if (!is_card && (r = check_shipment_id(ctx, id)) < 0)
        return fail(ctx, PRODUCER_ERROR_INPUT, "'%.40s' is neither a shipment id nor a card number",
                    id ? id : "");
    snprintf(detail, sizeof(detail), "%.250s", reason && *reason ? reason : "lost in transit");
    if ((r = begin(ctx, detail)) < 0)
        return r;
    if (!is_card) {
        char status[16], outlet[20];
        r = lock_shipment(ctx, id, status, outlet);
        if (r == 0 && strcmp(status, "dispatched") != 0)
            r = fail(ctx, DISPATCH_ERROR_STATE,
                     "shipment %s is %s; only a dispatched shipment can be lost in transit", id, status);
        if (r == 0)
            r = run(ctx, "UPDATE shipment SET status = 'lost', lost_at = clock_now() WHERE id = $1", 1, p, NULL);
    }
    /* the cards can never be used: blacklist their chips; the applications go to the front of the queue */
    if (r >= 0)
        r = run(ctx,
                "UPDATE card SET status = 'lost_in_transit', blacklisted_at = clock_now() WHERE status = "
                "'in_transit' AND "
                "(card_number = $1 OR card_number IN (SELECT card_number FROM shipment_item WHERE "
                "shipment_id = $1)) "
                "RETURNING application_id",
                1, p, &res);
    if (r == 0)
        r = fail(ctx, DISPATCH_ERROR_STATE, "%s has no card in transit", id);
    if (r > 0) {
        int n = PQntuples(res);
        for (int i = 0; i < n && r >= 0; i++) {
            const char *p_app[2] = {PQgetvalue(res, i, 0), detail};
            r = run(
                ctx,
                "UPDATE application SET status = 'pending', priority = 0, attempts = 0, produced_at = NULL, "
                "  updated_at = clock_now() WHERE id = $1 AND status = 'produced'",
                1, p_app, NULL);
            if (r >= 0)
                r = store_event(ctx->conn, ctx->actor, "requeued", p_app[0], NULL, NULL,
                                   "card lost in transit; a new card is produced first");
        }
        if (r >= 0 && ret_requeued)
            *ret_requeued = n;
    }
    PQclear(res);
    r = commit(ctx, r < 0 ? r : 0);
    if (r == 0)
        store_work_notify(ctx->conn);
    return r;
}

/* --- read models ---------------------------------------------------------------------------------------- */

static json_object *str_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : json_object_new_string(PQgetvalue(res, row, col));
}

static PGresult *query(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = db_exec(conn, sql, n, params);

    if (!db_ok(res)) {
        log_debug("dispatch", "%s", PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

/* expected arrival: the bureau date of dispatch plus the outlet's transit working days (NULL past the
 * calendar) */
#define SQL_EXPECTED                                                                                         \
    "CASE WHEN s.dispatched_at IS NOT NULL AND extract(year FROM s.dispatched_at)::integer IN "              \
    "(SELECT year FROM calendar_year) AND extract(year FROM s.dispatched_at)::integer + 1 IN "               \
    "(SELECT year FROM calendar_year) THEN add_working_days(bureau_date(s.dispatched_at), "                  \
    "o.transit_days)::text END"
#define SQL_LOCAL(col) "to_char(bureau_time(" col "), 'YYYY-MM-DD HH24:MI')"

static json_object *shipment_row(PGresult *res, int i)
{
    json_object *o = json_object_new_object();
    static const char *const keys[] = {
        "id",        "outlet",      "outlet_name",   "status",      "cards",       "created_at",
        "sealed_at", "seal_reason", "dispatched_at", "received_at", "received_by", "expected_arrival"};

    for (int c = 0; c < 12; c++) {
        if (c == 4)
            json_object_object_add(o, keys[c], json_object_new_int64(atoll(PQgetvalue(res, i, c))));
        else
            json_object_object_add(o, keys[c], str_or_null(res, i, c));
    }
    return o;
}

#define SQL_SHIPMENT_COLS                                                                                    \
    "s.id, s.outlet_code, o.name, s.status, (SELECT count(*) FROM shipment_item i WHERE i.shipment_id = "    \
    "s.id), " SQL_LOCAL("s.created_at") ", " SQL_LOCAL("s.sealed_at") ", s.seal_reason, " SQL_LOCAL(         \
        "s.dispatched_at") " AS dispatched_at, " SQL_LOCAL("s.received_at") ", s.received_by, " SQL_EXPECTED \
                                                                            " AS expected_arrival "

int producer_dispatch_shipments_json(PGconn *conn, const char *status, const char *outlet, int limit,
                                     json_object **ret)
{
    char lim[16];
    const char *p[3] = {status && *status ? status : NULL, outlet && *outlet ? outlet : NULL, lim};
    PGresult *res;
    json_object *a;

    snprintf(lim, sizeof(lim), "%d", limit > 0 && limit <= 1000 ? limit : 200);
    res = query(
        conn,
        "SELECT " SQL_SHIPMENT_COLS "FROM shipment s JOIN outlet o ON o.code = s.outlet_code "
        "WHERE ($1::text IS NULL OR s.status = $1) AND ($2::text IS NULL OR s.outlet_code = $2) "
        "ORDER BY CASE s.status WHEN 'open' THEN 0 WHEN 'sealed' THEN 1 WHEN 'dispatched' THEN 2 ELSE 3 END, "
        "  s.created_at DESC, s.id DESC LIMIT $3::integer",
        3, p);
    if (!res)
        return PRODUCER_ERROR_DB;
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_object_array_add(a, shipment_row(res, i));
    PQclear(res);
    *ret = a;
    return 0;
}

int producer_dispatch_shipment_json(PGconn *conn, const char *shipment_id, json_object **ret)
{
    const char *p[1] = {shipment_id};
    PGresult *res, *cards;
    json_object *o, *a;

    res = query(conn,
                "SELECT " SQL_SHIPMENT_COLS "FROM shipment s JOIN outlet o ON o.code = s.outlet_code "
                "WHERE s.id = $1",
                1, p);
    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    cards = query(conn,
                  "SELECT i.card_number, c.status, a.upstream_id, a.name, a.ssn, " SQL_LOCAL(
                      "i.added_at") " FROM shipment_item i JOIN card c ON c.card_number = i.card_number "
                                    "JOIN application a ON a.id = c.application_id WHERE i.shipment_id = $1 "
                                    "ORDER BY i.card_number",
                  1, p);
    if (!cards) {
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    o = shipment_row(res, 0);
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(cards); i++) {
        json_object *c = json_object_new_object();
        char name[256], ssn[48];
        producer_mask_name(PQgetvalue(cards, i, 3), name, sizeof(name));
        producer_mask_doc(PQgetvalue(cards, i, 4), ssn, sizeof(ssn));
        json_object_object_add(c, "card_number", json_object_new_string(PQgetvalue(cards, i, 0)));
        json_object_object_add(c, "status", json_object_new_string(PQgetvalue(cards, i, 1)));
        json_object_object_add(c, "application", json_object_new_string(PQgetvalue(cards, i, 2)));
        json_object_object_add(c, "holder", json_object_new_string(name));
        json_object_object_add(c, "ssn", json_object_new_string(ssn));
        json_object_object_add(c, "packed_at", json_object_new_string(PQgetvalue(cards, i, 5)));
        json_object_array_add(a, c);
    }
    json_object_object_add(o, "items", a);
    PQclear(res);
    PQclear(cards);
    *ret = o;
    return 0;
}

int producer_dispatch_overdue_json(PGconn *conn, json_object **ret)
{
    PGresult *ships, *late;
    json_object *o, *a, *b;

    ships = query(conn,
                  "SELECT * FROM (SELECT " SQL_SHIPMENT_COLS
                  "FROM shipment s JOIN outlet o ON o.code = s.outlet_code "
                  "WHERE s.status = 'dispatched') x WHERE expected_arrival IS NULL OR "
                  "expected_arrival::date < bureau_date(clock_now()) ORDER BY dispatched_at",
                  0, NULL);
    late = query(conn,
                 "SELECT c.card_number, c.status, a.upstream_id, a.outlet_code, a.deadline::text, a.name "
                 "FROM card c JOIN application a ON a.id = c.application_id "
                 "WHERE c.status IN ('good', 'in_transit') AND a.deadline < bureau_date(clock_now()) "
                 "ORDER BY a.deadline, c.card_number LIMIT 500",
                 0, NULL);
    if (!ships || !late) {
        PQclear(ships);
        PQclear(late);
        return PRODUCER_ERROR_DB;
    }
    o = json_object_new_object();
    a = json_object_new_array();
    b = json_object_new_array();
    for (int i = 0; i < PQntuples(ships); i++)
        json_object_array_add(a, shipment_row(ships, i));
    for (int i = 0; i < PQntuples(late); i++) {
        json_object *c = json_object_new_object();
        char name[256];
        producer_mask_name(PQgetvalue(late, i, 5), name, sizeof(name));
        json_object_object_add(c, "card_number", json_object_new_string(PQgetvalue(late, i, 0)));
        json_object_object_add(c, "status", json_object_new_string(PQgetvalue(late, i, 1)));
        json_object_object_add(c, "application", json_object_new_string(PQgetvalue(late, i, 2)));
        json_object_object_add(c, "outlet", json_object_new_string(PQgetvalue(late, i, 3)));
        json_object_object_add(c, "deadline", json_object_new_string(PQgetvalue(late, i, 4)));
        json_object_object_add(c, "holder", json_object_new_string(name));
        json_object_array_add(b, c);
    }
    json_object_object_add(o, "shipments", a);
    json_object_object_add(o, "late_cards", b);
    PQclear(ships);
    PQclear(late);
    *ret = o;
    return 0;
}

int producer_dispatch_uncollected_json(PGconn *conn, bool due_only, json_object **ret)
{
    const char *p[1] = {due_only ? "t" : "f"};
    PGresult *res;
    json_object *a;

    res = query(
        conn,
        "SELECT c.card_number, a.upstream_id, s.outlet_code, a.name, " SQL_LOCAL(
            "s.received_at") ", "
                             "  (s.received_at + make_interval(months => (SELECT value::integer FROM setting "
                             "     WHERE key = 'uncollected_return_months')) <= clock_now()) AS due, s.id "
                             "FROM card c JOIN application a ON a.id = c.application_id "
                             "JOIN shipment_item i ON i.card_number = c.card_number JOIN shipment s ON s.id "
                             "= i.shipment_id "
                             "WHERE c.status = 'at_outlet' AND (NOT $1::boolean OR s.received_at + "
                             "make_interval(months => "
                             "  (SELECT value::integer FROM setting WHERE key = "
                             "'uncollected_return_months')) <= clock_now()) "
                             "ORDER BY s.received_at, c.card_number LIMIT 1000",
        1, p);
    if (!res)
        return PRODUCER_ERROR_DB;
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *c = json_object_new_object();
        char name[256];
        producer_mask_name(PQgetvalue(res, i, 3), name, sizeof(name));
        json_object_object_add(c, "card_number", json_object_new_string(PQgetvalue(res, i, 0)));
        json_object_object_add(c, "application", json_object_new_string(PQgetvalue(res, i, 1)));
        json_object_object_add(c, "outlet", json_object_new_string(PQgetvalue(res, i, 2)));
        json_object_object_add(c, "holder", json_object_new_string(name));
        json_object_object_add(c, "received_at", json_object_new_string(PQgetvalue(res, i, 4)));
        json_object_object_add(c, "due_for_return", json_object_new_boolean(PQgetvalue(res, i, 5)[0] == 't'));
        json_object_object_add(c, "shipment", json_object_new_string(PQgetvalue(res, i, 6)));
        json_object_array_add(a, c);
    }
    PQclear(res);
    *ret = a;
    return 0;
}

int producer_dispatch_track_json(PGconn *conn, const char *application, const char *doc_check, bool whole_doc,
                                 json_object **ret)
{
    const char *p[1] = {application};
    PGresult *app, *ev = NULL;
    json_object *o, *a;
    char name[256], doc[48];

    if (!application || !*application || strlen(application) > 64)
        return PRODUCER_ERROR_INPUT;
    app = query(
        conn,
        "SELECT a.id, a.upstream_id, a.status, a.name, a.doc_number, a.outlet_code, o.name, "
        "a.deadline::text, "
        "  " SQL_LOCAL("a.accepted_at") ", "
                                        "  (SELECT c.card_number FROM card c WHERE c.application_id = a.id "
                                        "AND c.status NOT IN "
                                        "    ('spoiled', 'unused') ORDER BY c.created_at DESC LIMIT 1), "
                                        "  (SELECT c.status FROM card c WHERE c.application_id = a.id AND "
                                        "c.status NOT IN "
                                        "    ('spoiled', 'unused') ORDER BY c.created_at DESC LIMIT 1) "
                                        "FROM application a LEFT JOIN outlet o ON o.code = a.outlet_code "
                                        "WHERE a.upstream_id = $1",
        1, p);
    if (!app)
        return PRODUCER_ERROR_DB;
    if (PQntuples(app) != 1) {
        PQclear(app);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    if (doc_check) {
        const char *d = PQgetvalue(app, 0, 4);
        size_t n = strlen(d), m;
        char want[48];
        norm_doc(doc_check, want, sizeof(want));
        m = strlen(want);
        /* the whole number (the public), or its last 4 characters (a studio, signed in) */
        if (whole_doc ? m < 5 || m != n || !same_doc(d, want, n)
                      : m != 4 || n < 4 || strcasecmp(d + n - 4, want) != 0) {
            PQclear(app);
            return PRODUCER_ERROR_NOT_FOUND; /* the same answer as an unknown number: nothing to probe */
        }
    }
    p[0] = PQgetvalue(app, 0, 0);
    ev = query(
        conn,
        "SELECT kind, " SQL_LOCAL(
            "e.at") ", coalesce(e.card_number, ''), coalesce(e.shipment_id, '') "
                    "FROM event e WHERE e.application_id = $1::bigint OR (e.card_number IS NULL AND "
                    "e.shipment_id IN "
                    "(SELECT i.shipment_id FROM shipment_item i JOIN card c ON c.card_number = i.card_number "
                    "WHERE c.application_id = $1::bigint)) ORDER BY e.at, e.id LIMIT 200",
        1, p);
    if (!ev) {
        PQclear(app);
        return PRODUCER_ERROR_DB;
    }
    producer_mask_name(PQgetvalue(app, 0, 3), name, sizeof(name));
    producer_mask_doc(PQgetvalue(app, 0, 4), doc, sizeof(doc));
    o = json_object_new_object();
    json_object_object_add(o, "application", json_object_new_string(PQgetvalue(app, 0, 1)));
    json_object_object_add(o, "status", json_object_new_string(PQgetvalue(app, 0, 2)));
    json_object_object_add(o, "holder", json_object_new_string(name));
    json_object_object_add(o, "document", json_object_new_string(doc));
    json_object_object_add(o, "outlet", json_object_new_string(PQgetvalue(app, 0, 5)));
    json_object_object_add(o, "outlet_name", str_or_null(app, 0, 6));
    json_object_object_add(o, "deadline", str_or_null(app, 0, 7));
    json_object_object_add(o, "accepted_at", json_object_new_string(PQgetvalue(app, 0, 8)));
    json_object_object_add(o, "card_number", str_or_null(app, 0, 9));
    json_object_object_add(o, "card_status", str_or_null(app, 0, 10));
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(ev); i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "kind", json_object_new_string(PQgetvalue(ev, i, 0)));
        json_object_object_add(e, "at", json_object_new_string(PQgetvalue(ev, i, 1)));
        if (PQgetvalue(ev, i, 2)[0])
            json_object_object_add(e, "card_number", json_object_new_string(PQgetvalue(ev, i, 2)));
        if (PQgetvalue(ev, i, 3)[0])
            json_object_object_add(e, "shipment", json_object_new_string(PQgetvalue(ev, i, 3)));
        json_object_array_add(a, e);
    }
    json_object_object_add(o, "events", a);
    PQclear(app);
    PQclear(ev);
    *ret = o;
    return 0;
}
