/* dispatch.c — shipments after production: packing, sealing, dispatch, receipt at the outlet, collection,
 * activation, return of uncollected cards, loss in transit, and the shipment export; the custody events
 * themselves are written by the database's triggers (migration 0005), this file decides which move is allowed
 * and asks the store (store/shipments.h, store/tracking.h) to make it inside a transaction */
#include "dispatch/dispatch.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "store/bank_data.h"
#include "store/shipments.h"
#include "store/store.h"
#include "store/tracking.h"

#include "base/csv.h"
#include "base/log.h"
#include "base/rules.h"
#include "store/calendar.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* the store writes the database's refusal straight into the context's message */
_Static_assert(sizeof(((struct producer_ctx *)0)->message) == STORE_REASON_SIZE, "message and reason sizes");

const char *dispatch_strerror(int err)
{
    switch (err) {
    case DISPATCH_ERROR_STATE:
        return _("not in a state that allows this");
    case DISPATCH_ERROR_IDENTITY:
        return _("identity not confirmed");
    case DISPATCH_ERROR_OUTLET:
        return _("belongs to another outlet");
    case DISPATCH_ERROR_RENDER:
        return _("cannot draw the document");
    default:
        return _(producer_strerror(err));
    }
}

/* A store failure as the domain's answer: the custody triggers' refusals are a state the move is not allowed
 * in; the store has already put the database's sentence into ctx->message. */
static int store_failure(int r)
{
    return r == STORE_SHIPMENTS_REFUSED ? DISPATCH_ERROR_STATE : r;
}

static int begin(struct producer_ctx *ctx, const char *detail)
{
    int r;

    if (store_begin(ctx->conn) < 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB,
                                 _("the database did not start the change; try again"));
    r = store_shipments_custody(ctx->conn, ctx->actor, detail, ctx->message);
    if (r < 0) {
        store_rollback(ctx->conn);
        return store_failure(r);
    }
    return 0;
}

static int commit(struct producer_ctx *ctx, int r)
{
    if (r < 0) {
        store_rollback(ctx->conn);
        return r;
    }
    if (store_commit(ctx->conn) < 0) {
        store_rollback(ctx->conn);
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB,
                                 _("the database did not save the change; nothing was changed"));
    }
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
    if (!conn || !valid_card_number(card_number) || !outlet_code)
        return PRODUCER_ERROR_INVALID;
    return store_shipments_pack(conn, card_number, outlet_code, ret_shipment);
}

/* --- shipment moves ------------------------------------------------------------------------------------- */

static int check_shipment_id(struct producer_ctx *ctx, const char *id)
{
    char norm[19];

    if (!id || producer_dispatch_parse_label(id, norm) < 0 || strcmp(norm, id) != 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 _("'%.40s' is not a shipment id (18 digits with a GS1 check digit)"),
                                 id ? id : "");
    return 0;
}

/* Lock the shipment and return its status and outlet; 0, or a negative error with the message set. */
static int lock_shipment(struct producer_ctx *ctx, const char *id, char status[16], char outlet[20])
{
    int r = store_shipments_lock(ctx->conn, id, status, outlet, ctx->message);

    if (r == PRODUCER_ERROR_NOT_FOUND)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_NOT_FOUND, _("no shipment %s"), id);
    return store_failure(r);
}

int producer_dispatch_seal(struct producer_ctx *ctx, const char *shipment_id)
{
    char status[16], outlet[20];
    int r = check_shipment_id(ctx, shipment_id);

    if (r < 0 || (r = begin(ctx, "manual")) < 0)
        return r;
    r = lock_shipment(ctx, shipment_id, status, outlet);
    if (r == 0 && strcmp(status, "open") != 0)
        r = producer_ctx_fail(ctx, DISPATCH_ERROR_STATE, _("shipment %s is already %s"), shipment_id, status);
    if (r == 0) {
        r = store_failure(store_shipments_seal(ctx->conn, shipment_id, ctx->message));
        if (r == 0)
            r = producer_ctx_fail(ctx, DISPATCH_ERROR_STATE,
                                  _("shipment %s is empty; there is nothing to seal"), shipment_id);
    }
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_seal_due(struct producer_ctx *ctx, const char *at, int *ret_sealed)
{
    int r;

    if ((r = begin(ctx, "cut-off")) < 0)
        return r;
    r = store_failure(store_shipments_seal_due(ctx->conn, at, ctx->message));
    r = commit(ctx, r);
    if (r >= 0 && ret_sealed)
        *ret_sealed = r;
    return r < 0 ? r : 0;
}

int producer_dispatch_send(struct producer_ctx *ctx, const char *shipment_id)
{
    char status[16], outlet[20];
    int r = check_shipment_id(ctx, shipment_id);

    if (r < 0 || (r = begin(ctx, NULL)) < 0)
        return r;
    r = lock_shipment(ctx, shipment_id, status, outlet);
    if (r == 0 && strcmp(status, "sealed") != 0)
        r = producer_ctx_fail(ctx, DISPATCH_ERROR_STATE,
                              _("shipment %s is %s; only a sealed shipment can be dispatched"), shipment_id,
                              status);
    if (r == 0)
        r = store_failure(store_shipments_send(ctx->conn, shipment_id, ctx->message));
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_receive(struct producer_ctx *ctx, const char *scanned, const char *expected_outlet,
                              char ret_id[19])
{
    char id[19], status[16], outlet[20];
    int r;

    if (producer_dispatch_parse_label(scanned, id) < 0)
        return producer_ctx_fail(
            ctx, PRODUCER_ERROR_INPUT,
            _("'%.40s' is not a shipment label (18 digits, or 00 and 18 digits, with a valid check digit); "
              "scan again"),
            scanned ? scanned : "");
    if ((r = begin(ctx, NULL)) < 0)
        return r;
    r = lock_shipment(ctx, id, status, outlet);
    if (r == 0 && expected_outlet && *expected_outlet && strcmp(expected_outlet, outlet) != 0)
        r = producer_ctx_fail(ctx, DISPATCH_ERROR_OUTLET,
                              _("shipment %s is for outlet %s, not %s; do not accept it"), id, outlet,
                              expected_outlet);
    if (r == 0 && strcmp(status, "received") == 0)
        r = producer_ctx_fail(ctx, DISPATCH_ERROR_STATE, _("shipment %s was already received"), id);
    else if (r == 0 && strcmp(status, "dispatched") != 0)
        r = producer_ctx_fail(ctx, DISPATCH_ERROR_STATE, _("shipment %s is %s, not dispatched"), id, status);
    if (r == 0)
        r = store_failure(store_shipments_receive(ctx->conn, id, ctx->actor, ctx->message));
    r = commit(ctx, r < 0 ? r : 0);
    if (r == 0 && ret_id)
        memcpy(ret_id, id, 19);
    return r;
}

/* --- cards at the outlet -------------------------------------------------------------------------------- */

static int check_card(struct producer_ctx *ctx, const char *card)
{
    if (!valid_card_number(card))
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 _("'%.20s' is not a card number (a letter and 8 digits)"), card ? card : "");
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

/* The agent's document, checked as any applicant's would be (base/rules: a resident ID number by its check
 * character and birth date, the other types by their published formats); the agent's nationality is not asked
 * at the counter, so it is not held against the document. */
static int check_agent_doc(struct producer_ctx *ctx, const char *type, const char *doc)
{
    char why[RULES_REASON_MAX];
    int today = 0;

    if (store_calendar_today(ctx->conn, &today) < 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB,
                                 _("the database did not say what day it is; try again"));
    if (!producer_doc_valid(type, doc, "", today, why, sizeof(why)))
        return producer_ctx_fail(ctx, DISPATCH_ERROR_IDENTITY,
                                 _("the agent's %s: %s; do not hand the card out"), type, why);
    return 0;
}

static bool printable_reference(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* bytea input text ("\\x" then two hex digits a byte) of the power of attorney's scan; NULL when out of
 * memory */
static char *scan_hex(const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *hex = malloc(2 * n + 3);

    if (!hex)
        return NULL;
    hex[0] = '\\';
    hex[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        hex[2 + 2 * i] = digits[b[i] >> 4];
        hex[3 + 2 * i] = digits[b[i] & 15];
    }
    hex[2 + 2 * n] = '\0';
    return hex;
}

int producer_dispatch_collect(struct producer_ctx *ctx, struct dispatch_collect *c)
{
    char doc[40], agent_doc[40], agent_doc_masked[48], agent_name_masked[200], detail[320], tstatus[16] = "";
    struct store_card_holder h;
    bool agent = c->agent_name || c->agent_doc || c->agent_doc_type, type_ok = false;
    char *poa_hex = NULL;
    int r = check_card(ctx, c->card_number);

    if (r < 0)
        return r;
    c->ret_temporary[0] = '\0';
    c->ret_temporary_due = false;
    norm_doc(c->holder_doc, doc, sizeof(doc));
    if (!doc[0])
        return producer_ctx_fail(ctx, DISPATCH_ERROR_IDENTITY,
                                 _("the holder's document number is needed (from the ID presented)"));
    if (!c->activate && (!c->skip_activation_reason || !*c->skip_activation_reason ||
                         strlen(c->skip_activation_reason) > 500))
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 _("the social security function is activated at collection; not activating "
                                   "it needs the reason (1 to 500 characters), which is recorded"));
    if (agent) {
        type_ok = c->agent_doc_type && producer_doc_type_known(c->agent_doc_type);
        norm_doc(c->agent_doc, agent_doc, sizeof(agent_doc));
        if (!c->agent_name || !*c->agent_name || strlen(c->agent_name) > 60 || !type_ok ||
            strlen(agent_doc) < 5 || strlen(agent_doc) > 32)
            return producer_ctx_fail(
                ctx, DISPATCH_ERROR_IDENTITY,
                _("an agent needs a name (up to 60 bytes), a document type (resident_id, passport, ...) and "
                  "a document number (5 to 32 characters), with the power of attorney and the holder's ID"));
        if (!printable_reference(c->poa_reference) && !(c->poa_scan && c->poa_scan_len > 0))
            return producer_ctx_fail(
                ctx, DISPATCH_ERROR_IDENTITY,
                _("an agent needs the holder's power of attorney: its reference number (1 "
                  "to 64 characters) or its scan; do not hand the card out"));
        if (c->poa_scan && c->poa_scan_len > DISPATCH_POA_SCAN_MAX)
            return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                     _("the power of attorney's scan is larger than %u bytes"),
                                     DISPATCH_POA_SCAN_MAX);
        if ((r = check_agent_doc(ctx, c->agent_doc_type, agent_doc)) < 0)
            return r;
        producer_mask_doc(agent_doc, agent_doc_masked, sizeof(agent_doc_masked));
        if (!strchr(agent_doc_masked, '*'))
            snprintf(agent_doc_masked, sizeof(agent_doc_masked), "*****");
        producer_mask_name(c->agent_name, agent_name_masked, sizeof(agent_name_masked));
        snprintf(detail, sizeof(detail), "agent %s, %s %s", agent_name_masked, c->agent_doc_type,
                 agent_doc_masked);
        if (c->poa_scan && c->poa_scan_len > 0 && !(poa_hex = scan_hex(c->poa_scan, c->poa_scan_len)))
            return producer_ctx_fail(ctx, PRODUCER_ERROR_NOMEM, "out of memory");
    } else {
        snprintf(detail, sizeof(detail), "holder in person");
    }
    if ((r = begin(ctx, detail)) < 0) {
        free(poa_hex);
        return r;
    }
    r = store_shipments_card_holder(ctx->conn, c->card_number, &h, ctx->message);
    if (r == PRODUCER_ERROR_NOT_FOUND)
        r = producer_ctx_fail(ctx, PRODUCER_ERROR_NOT_FOUND, _("no card %s"), c->card_number);
    r = store_failure(r);
    if (r == 0 && strcmp(h.status, "at_outlet") != 0)
        r = producer_ctx_fail(ctx, DISPATCH_ERROR_STATE,
                              _("card %s is %s; only a card received at its outlet can be handed out"),
                              c->card_number, h.status);
    if (r == 0 && strcmp(h.doc_upper, doc) != 0)
        r = producer_ctx_fail(
            ctx, DISPATCH_ERROR_IDENTITY,
            _("the document presented does not match the holder of card %s; do not hand it out"),
            c->card_number);
    /* an exchange: the holder hands the old card in when taking the new one */
    if (r == 0 && strcmp(h.kind, "exchange") == 0 && h.replaced_card[0]) {
        r = store_failure(store_shipments_hand_in(ctx->conn, h.replaced_card, ctx->message));
        if (r == 1)
            r = store_event(ctx->conn, ctx->actor, "handed_in", h.application_id, h.replaced_card, NULL,
                            "old card returned at exchange");
        else if (r >= 0)
            r = 0; /* the old card was already reported lost or returned */
    }
    /* the measures: the temporary card is returned and cancelled once the real one is in the holder's hands
     */
    if (r == 0) {
        r = store_failure(
            store_shipments_temporary_of(ctx->conn, c->card_number, c->ret_temporary, tstatus, ctx->message));
        if (r == 1) {
            char why[80];
            snprintf(why, sizeof(why), "%s when card %s was collected",
                     c->temporary_returned ? "handed in" : "not handed in", c->card_number);
            /* the temporary card's own event says why it moved, then the collection's detail again */
            r = store_failure(store_shipments_custody(ctx->conn, ctx->actor, why, ctx->message));
            if (r >= 0)
                r = store_failure(store_shipments_temporary_settle(ctx->conn, c->ret_temporary,
                                                                   c->temporary_returned, ctx->message));
            if (r >= 0)
                r = store_failure(store_shipments_custody(ctx->conn, ctx->actor, detail, ctx->message));
        }
        if (r >= 0) {
            c->ret_temporary_due = c->ret_temporary[0] && !c->temporary_returned;
            r = 0;
        }
    }
    if (r >= 0) {
        const struct store_collection col = {
            .card_number = c->card_number,
            .collected_by = agent ? "agent" : "holder",
            .agent_name = agent ? agent_name_masked : NULL,
            .agent_doc_type = agent ? c->agent_doc_type : NULL,
            .agent_doc_masked = agent ? agent_doc_masked : NULL,
            .actor = ctx->actor,
            .activate = c->activate,
            .activation_skipped = c->skip_activation_reason,
            .poa_reference = agent && printable_reference(c->poa_reference) ? c->poa_reference : NULL,
            .poa_scan_hex = poa_hex,
            .temporary_card = c->ret_temporary[0] ? c->ret_temporary : NULL,
            .temporary_returned = c->temporary_returned};
        r = store_failure(store_shipments_collect(ctx->conn, &col, ctx->message));
    }
    if (r >= 0 && !c->activate)
        r = store_event(ctx->conn, ctx->actor, "activation_skipped", h.application_id, c->card_number, NULL,
                        c->skip_activation_reason);
    /* the bank's function is the bank's to activate: the window only shows which account the card carries */
    c->ret_bank_account[0] = c->ret_bank[0] = '\0';
    if (r >= 0 && store_bank_data_of_card(ctx->conn, c->card_number, c->ret_bank_account, c->ret_bank) < 0)
        r = PRODUCER_ERROR_DB;
    explicit_bzero(&h, sizeof(h));
    free(poa_hex);
    if (r < 0)
        c->ret_temporary[0] = '\0';
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_activate(struct producer_ctx *ctx, const char *card_number)
{
    char status[16];
    bool activated = false;
    int r = check_card(ctx, card_number);

    if (r < 0 || (r = begin(ctx, NULL)) < 0)
        return r;
    r = store_shipments_card_state(ctx->conn, card_number, status, &activated, ctx->message);
    if (r == PRODUCER_ERROR_NOT_FOUND)
        r = producer_ctx_fail(ctx, PRODUCER_ERROR_NOT_FOUND, _("no card %s"), card_number);
    r = store_failure(r);
    if (r == 0 && strcmp(status, "issued") != 0)
        r = producer_ctx_fail(ctx, DISPATCH_ERROR_STATE,
                              _("card %s is %s; the social security function is activated at collection"),
                              card_number, status);
    else if (r == 0 && activated)
        r = producer_ctx_fail(ctx, DISPATCH_ERROR_STATE, _("card %s is already activated"), card_number);
    if (r == 0)
        r = store_failure(store_shipments_activate(ctx->conn, card_number, ctx->message));
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_return(struct producer_ctx *ctx, const char *card_number)
{
    int r = check_card(ctx, card_number);

    if (r < 0 || (r = begin(ctx, "not collected within the collection period")) < 0)
        return r;
    /* the custody trigger refuses a card that has not waited the configured period, with the dates */
    r = store_failure(store_shipments_return(ctx->conn, card_number, ctx->message));
    if (r == 0)
        r = producer_ctx_fail(ctx, PRODUCER_ERROR_NOT_FOUND, _("no card %s"), card_number);
    return commit(ctx, r < 0 ? r : 0);
}

int producer_dispatch_lost(struct producer_ctx *ctx, const char *id, const char *reason, int *ret_requeued)
{
    char detail[300];
    bool is_card = valid_card_number(id);
    struct store_ids apps = {0};
    int r;

    if (!is_card && (r = check_shipment_id(ctx, id)) < 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 _("'%.40s' is neither a shipment id nor a card number"), id ? id : "");
    snprintf(detail, sizeof(detail), "%.250s", reason && *reason ? reason : "lost in transit");
    if ((r = begin(ctx, detail)) < 0)
        return r;
    if (!is_card) {
        char status[16], outlet[20];
        r = lock_shipment(ctx, id, status, outlet);
        if (r == 0 && strcmp(status, "dispatched") != 0)
            r = producer_ctx_fail(ctx, DISPATCH_ERROR_STATE,
                                  _("shipment %s is %s; only a dispatched shipment can be lost in transit"),
                                  id, status);
        if (r == 0)
            r = store_failure(store_shipments_lose(ctx->conn, id, ctx->message));
    }
    /* the cards can never be used: blacklist their chips; the applications go to the front of the queue */
    if (r >= 0)
        r = store_failure(store_shipments_lose_cards(ctx->conn, id, &apps, ctx->message));
    if (r == 0)
        r = producer_ctx_fail(ctx, DISPATCH_ERROR_STATE, _("%s has no card in transit"), id);
    if (r > 0) {
        for (int i = 0; i < apps.n && r >= 0; i++) {
            r = store_failure(store_shipments_requeue(ctx->conn, apps.id[i], ctx->message));
            if (r >= 0)
                r = store_event(ctx->conn, ctx->actor, "requeued", apps.id[i], NULL, NULL,
                                "card lost in transit; a new card is produced first");
        }
        if (r >= 0 && ret_requeued)
            *ret_requeued = apps.n;
    }
    store_ids_free(&apps);
    r = commit(ctx, r < 0 ? r : 0);
    if (r == 0)
        store_work_notify(ctx->conn);
    return r;
}

/* --- read models (built by the store, the same for the CLI and the web) --------------------------------- */

int producer_dispatch_shipments_json(PGconn *conn, const char *status, const char *outlet, int limit,
                                     json_object **ret)
{
    return store_tracking_shipments_json(conn, status, outlet, limit, ret);
}

int producer_dispatch_shipment_json(PGconn *conn, const char *shipment_id, json_object **ret)
{
    return store_tracking_shipment_json(conn, shipment_id, ret);
}

int producer_dispatch_overdue_json(PGconn *conn, json_object **ret)
{
    return store_tracking_overdue_json(conn, ret);
}

int producer_dispatch_uncollected_json(PGconn *conn, bool due_only, json_object **ret)
{
    return store_tracking_uncollected_json(conn, due_only, ret);
}

int producer_dispatch_track_json(PGconn *conn, const char *application, const char *doc_check, bool whole_doc,
                                 json_object **ret)
{
    struct store_tracking_app app;
    int r;

    if (!application || !*application || strlen(application) > 64)
        return PRODUCER_ERROR_INPUT;
    r = store_tracking_find(conn, application, &app);
    if (r < 0)
        return r;
    if (doc_check) {
        const char *d = app.doc;
        size_t n = strlen(d), m;
        char want[48];
        norm_doc(doc_check, want, sizeof(want));
        m = strlen(want);
        /* the whole number (the public), or its last 4 characters (a studio, signed in) */
        if (whole_doc ? m < 5 || m != n || !same_doc(d, want, n)
                      : m != 4 || n < 4 || strcasecmp(d + n - 4, want) != 0)
            r = PRODUCER_ERROR_NOT_FOUND; /* the same answer as an unknown number: nothing to probe */
    }
    if (r == 0)
        r = store_tracking_json(conn, &app, ret);
    explicit_bzero(&app, sizeof(app));
    return r;
}

/* --- export: one CSV per outlet, for the couriers ------------------------------------------------------- */

int producer_dispatch_export(PGconn *conn, const char *dir, int *ret_files)
{
    static const char *const header[] = {"shipment", "status", "card_number", "application",
                                         "holder",   "ssn",    "packed_at"};
    struct store_shipment_card *rows = NULL;
    FILE *f = NULL;
    char current[20] = "", path[PATH_MAX];
    int n = 0, files = 0, r;

    if (!conn || !dir)
        return PRODUCER_ERROR_INVALID;
    r = producer_private_dir(dir);
    if (r < 0) {
        log_error("shipment", "cannot create %s: %s", dir, strerror(-r));
        return PRODUCER_ERROR_IO;
    }
    r = store_shipments_export(conn, &rows, &n);
    if (r < 0) {
        log_error("shipment", "cannot read the shipments to export: %s", producer_strerror(r));
        return r;
    }
    for (int i = 0; i < n; i++) {
        const struct store_shipment_card *c = &rows[i];
        char name[256], ssn[40];

        if (strcmp(current, c->outlet) != 0) {
            if (f && fclose(f) != 0)
                r = PRODUCER_ERROR_IO;
            f = NULL;
            snprintf(current, sizeof(current), "%s", c->outlet);
            if (snprintf(path, sizeof(path), "%s/%s.csv", dir, current) >= (int)sizeof(path)) {
                log_error("shipment", "directory name too long: %s", dir);
                r = PRODUCER_ERROR_IO;
                break;
            }
            f = fopen(path, "we");
            if (!f) {
                log_error("shipment", "cannot write %s: %s", path, strerror(errno));
                r = PRODUCER_ERROR_IO;
                break;
            }
            csv_write_record(f, header, 7, 0);
            files++;
        }
        /* shipment lists travel with couriers: holder data is masked */
        producer_mask_name(c->name, name, sizeof(name));
        producer_mask_doc(c->ssn, ssn, sizeof(ssn));
        const char *const fields[] = {c->shipment, c->shipment_status, c->card_number, c->application, name,
                                      ssn,         c->packed_at};
        if (csv_write_record(f, fields, 7, CSV_WRITE_SAFE_FORMULA) < 0)
            r = PRODUCER_ERROR_IO;
    }
    if (f && fclose(f) != 0)
        r = PRODUCER_ERROR_IO;
    if (rows)
        explicit_bzero(rows, (size_t)n * sizeof(*rows));
    free(rows);
    if (r == 0 && ret_files)
        *ret_files = files;
    return r;
}
