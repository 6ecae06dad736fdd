/* applications.c — operators' changes to applications and issued cards, each with its audit event, and the
 * application read models; the CLI and the web call these */
#include "intake/applications.h"

#include "store/applications.h"
#include "store/store.h"
#include "base/i18n.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool valid_ctx(const struct producer_ctx *ctx)
{
    return ctx && ctx->conn && ctx->actor && ctx->actor[0];
}

/* One change to one application: the store's UPDATE (changed = 1, refused = 0), its audit event and the
 * commit, then the lines are woken so a released application is claimed at once. */
typedef int (*change_fn)(PGconn *conn, const char *application, const char *reason, int64_t *ret_id);

static int cancel_fn(PGconn *conn, const char *application, const char *reason, int64_t *ret_id)
{
    return store_applications_cancel(conn, application, reason, ret_id);
}

static int release_fn(PGconn *conn, const char *application, const char *reason, int64_t *ret_id)
{
    (void)reason;
    return store_applications_release(conn, application, ret_id);
}

static int change(struct producer_ctx *ctx, change_fn fn, const char *application, const char *reason,
                  const char *kind, const char *refusal, int64_t *ret_id)
{
    char id[24];
    int64_t app_id = 0;
    int r;

    ctx->message[0] = '\0';
    if (!application || !application[0] || strlen(application) > 64)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 _("give the application number or its upstream id"));
    if (store_begin(ctx->conn) < 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, _("the database is not available; nothing changed"));
    r = fn(ctx->conn, application, reason, &app_id);
    if (r == 0) {
        store_rollback(ctx->conn);
        return producer_ctx_fail(ctx, PRODUCER_ERROR_NOT_FOUND, "%s", refusal);
    }
    snprintf(id, sizeof(id), "%" PRId64, app_id);
    if (r < 0 || store_event(ctx->conn, ctx->actor, kind, id, NULL, NULL, reason) < 0 ||
        store_commit(ctx->conn) < 0) {
        store_rollback(ctx->conn);
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB,
                                 _("the database failed; application %.64s is unchanged"), application);
    }
    /* A failed wake-up only delays the lines until their next poll; the change itself is committed. */
    store_work_notify(ctx->conn);
    if (ret_id)
        *ret_id = app_id;
    return 0;
}

int producer_application_cancel(struct producer_ctx *ctx, const char *application, const char *reason,
                                int64_t *ret_id)
{
    if (!valid_ctx(ctx))
        return PRODUCER_ERROR_INVALID;
    if (!reason || !reason[0] || strlen(reason) > 500)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 _("a reason is required (at most 500 characters)"));
    return change(ctx, cancel_fn, application, reason, "cancelled",
                  _("no pending, held or in-production application with that id (produced ones are done)"),
                  ret_id);
}

int producer_application_release(struct producer_ctx *ctx, const char *application, int64_t *ret_id)
{
    if (!valid_ctx(ctx))
        return PRODUCER_ERROR_INVALID;
    return change(ctx, release_fn, application, NULL, "released", _("no held application with that id"),
                  ret_id);
}

/* --- the card's life after collection ------------------------------------------------------------------- */

const char *const producer_card_cancel_reasons[] = {"left-scheme", "emigrated", "deceased", "disappeared",
                                                    NULL};

/* The lapse of temporary reports is the system's doing, not the operator's. */
#define LAPSE_ACTOR "cardline"

/* Records lapsed temporary reports (so that what follows sees the card as it stands), then opens the change's
 * transaction and locks the card. 0 with the transaction open, or a failure (ctx->message) and no
 * transaction. */
static int card_begin(struct producer_ctx *ctx, const char *card_number, const char *reason,
                      struct store_card_life *life)
{
    int r;

    ctx->message[0] = '\0';
    if (!card_number || !card_number[0] || strlen(card_number) > 32)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT, _("give the card number"));
    if (reason && strlen(reason) > 500)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 _("the reason is too long (at most 500 characters)"));
    /* one statement of its own, committed even when the change itself is then refused */
    if (store_applications_lapse_losses(ctx->conn, LAPSE_ACTOR) < 0 || store_begin(ctx->conn) < 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, _("the database is not available; nothing changed"));
    r = store_applications_card_lock(ctx->conn, card_number, life);
    if (r == 1)
        return 0;
    store_rollback(ctx->conn);
    if (r == 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_NOT_FOUND, _("no card %.32s"), card_number);
    return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, _("the database failed; card %.32s is unchanged"),
                             card_number);
}

/* Refuses inside card_begin's transaction: rolls it back. */
static int card_refuse(struct producer_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int card_refuse(struct producer_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    store_rollback(ctx->conn);
    va_start(ap, fmt);
    vsnprintf(ctx->message, sizeof(ctx->message), fmt, ap);
    va_end(ap);
    return PRODUCER_ERROR_NOT_FOUND;
}

/* Moves the locked card, writes the event and commits. */
static int card_finish(struct producer_ctx *ctx, const char *card_number, const char *from, const char *to,
                       const char *cancel_reason, const char *kind, const char *detail)
{
    int r = store_applications_card_move(ctx->conn, card_number, from, to, cancel_reason);

    if (r != 1 || store_event(ctx->conn, ctx->actor, kind, NULL, card_number, NULL, detail) < 0 ||
        store_commit(ctx->conn) < 0) {
        store_rollback(ctx->conn);
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, _("the database failed; card %.32s is unchanged"),
                                 card_number);
    }
    return 0;
}

static int report_loss(struct producer_ctx *ctx, const char *card_number, bool formal, const char *reason)
{
    struct store_card_life life;
    int r;

    if (!valid_ctx(ctx))
        return PRODUCER_ERROR_INVALID;
    r = card_begin(ctx, card_number, reason, &life);
    if (r < 0)
        return r;
    if (strcmp(life.status, "lost") == 0)
        return card_refuse(ctx, _("card %s is already formally reported lost"), card_number);
    if (strcmp(life.status, "lost_temporary") == 0 && !formal)
        return card_refuse(ctx,
                           _("card %s is already reported lost (temporary report, lapses %s unless made "
                             "formal in person)"),
                           card_number, life.lapses_at);
    if (strcmp(life.status, "issued") != 0 && strcmp(life.status, "lost_temporary") != 0)
        return card_refuse(ctx,
                           _("card %s is not in a holder's hands (it is %s); only a collected card is "
                             "reported lost"),
                           card_number, life.status);
    if (!reason || !reason[0])
        reason = !formal ? "temporary loss report"
                 : strcmp(life.status, "lost_temporary") == 0
                     ? "formal loss report (the temporary one made formal)"
                     : "formal loss report";
    return card_finish(ctx, card_number, life.status, formal ? "lost" : "lost_temporary", NULL,
                       formal ? "reported_lost" : "reported_lost_temporary", reason);
}

int producer_card_report_lost(struct producer_ctx *ctx, const char *card_number, const char *reason)
{
    return report_loss(ctx, card_number, true, reason);
}

int producer_card_report_lost_temporary(struct producer_ctx *ctx, const char *card_number, const char *reason)
{
    return report_loss(ctx, card_number, false, reason);
}

int producer_card_withdraw_loss(struct producer_ctx *ctx, const char *card_number, const char *reason)
{
    struct store_card_life life;
    int r;

    if (!valid_ctx(ctx))
        return PRODUCER_ERROR_INVALID;
    r = card_begin(ctx, card_number, reason, &life);
    if (r < 0)
        return r;
    if (strcmp(life.status, "lost") != 0 && strcmp(life.status, "lost_temporary") != 0)
        return card_refuse(ctx, _("card %s is not reported lost (it is %s)"), card_number, life.status);
    if (life.replacement)
        return card_refuse(ctx,
                           _("a replacement for card %s was already requested (application %lld); the loss "
                             "report can no longer be withdrawn"),
                           card_number, (long long)life.replacement);
    if (life.other_card[0])
        return card_refuse(
            ctx, _("card %s cannot come back: the person has card %s (%s) now; one person, one card"),
            card_number, life.other_card, life.other_status);
    if (!reason || !reason[0])
        reason = strcmp(life.status, "lost") == 0 ? "formal loss report withdrawn"
                                                  : "temporary loss report withdrawn";
    return card_finish(ctx, card_number, life.status, "issued", NULL, "loss_withdrawn", reason);
}

int producer_card_cancel(struct producer_ctx *ctx, const char *card_number, const char *reason,
                         int *ret_applications)
{
    struct store_card_life life;
    char why[96];
    bool known = false;
    int r, n;

    if (!valid_ctx(ctx))
        return PRODUCER_ERROR_INVALID;
    for (size_t i = 0; reason && producer_card_cancel_reasons[i]; i++)
        known = known || strcmp(reason, producer_card_cancel_reasons[i]) == 0;
    if (!known)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 _("the reason is one of left-scheme, emigrated, deceased, disappeared"));
    r = card_begin(ctx, card_number, NULL, &life);
    if (r < 0)
        return r;
    if (strcmp(life.status, "cancelled") == 0)
        return card_refuse(ctx, _("card %s is already cancelled"), card_number);
    if (life.temporary)
        return card_refuse(ctx, _("card %s is a temporary card: it is returned at the window, not cancelled"),
                           card_number);
    if (strcmp(life.status, "issued") && strcmp(life.status, "lost_temporary") && strcmp(life.status, "lost"))
        return card_refuse(ctx,
                           _("card %s cannot be cancelled: it is %s (only a card in its holder's hands or "
                             "reported lost)"),
                           card_number, life.status);
    /* the measures: the linked business is settled first — a later card of the person included */
    if (life.other_card[0] && strcmp(life.other_status, "allocated") &&
        strcmp(life.other_status, "printing") && strcmp(life.other_status, "encoding") &&
        strcmp(life.other_status, "ejecting"))
        return card_refuse(ctx, _("the person also has card %s (%s); settle that card first"),
                           life.other_card, life.other_status);
    snprintf(why, sizeof(why), "holder's card %.32s cancelled: %s", card_number, reason);
    n = store_applications_cancel_holder(ctx->conn, card_number, why, ctx->actor);
    if (n < 0) {
        store_rollback(ctx->conn);
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, _("the database failed; card %.32s is unchanged"),
                                 card_number);
    }
    r = card_finish(ctx, card_number, life.status, "cancelled", reason, "card_cancelled", reason);
    if (r < 0)
        return r;
    /* a card of a cancelled application may be in a machine: its line rejects it once woken */
    if (n > 0)
        store_work_notify(ctx->conn);
    if (ret_applications)
        *ret_applications = n;
    return 0;
}

int producer_card_temporary_json(PGconn *conn, bool due_only, json_object **ret)
{
    if (!conn || !ret)
        return PRODUCER_ERROR_INVALID;
    /* the list shows the cards as they stand today: an expiry nobody recorded yet is recorded first */
    if (store_applications_temporary_expire(conn, LAPSE_ACTOR) < 0)
        return PRODUCER_ERROR_DB;
    return store_applications_temporary_json(conn, due_only, ret);
}

int producer_card_return_temporary(struct producer_ctx *ctx, const char *card_number, const char *reason)
{
    struct store_card_life life;
    int r;

    if (!valid_ctx(ctx))
        return PRODUCER_ERROR_INVALID;
    if (store_applications_temporary_expire(ctx->conn, LAPSE_ACTOR) < 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, _("the database is not available; nothing changed"));
    r = card_begin(ctx, card_number, reason, &life);
    if (r < 0)
        return r;
    if (!life.temporary)
        return card_refuse(ctx, _("card %s is not a temporary card; it is not returned at the window"),
                           card_number);
    if (strcmp(life.status, "issued") != 0 && strcmp(life.status, "return_due") != 0)
        return card_refuse(ctx, _("temporary card %s is not out (it is %s)"), card_number, life.status);
    r = store_applications_temporary_return(ctx->conn, card_number, life.status, ctx->actor,
                                            reason && reason[0] ? reason : "handed in at the window");
    if (r != 1 || store_commit(ctx->conn) < 0) {
        store_rollback(ctx->conn);
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, _("the database failed; card %.32s is unchanged"),
                                 card_number);
    }
    return 0;
}

int producer_card_blacklist_json(PGconn *conn, json_object **ret)
{
    if (!conn || !ret)
        return PRODUCER_ERROR_INVALID;
    return store_applications_blacklist_json(conn, ret);
}

static bool valid_status(const char *s)
{
    static const char *const statuses[] = {"pending", "in_production", "produced", "held", "cancelled"};

    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (strcmp(s, statuses[i]) == 0)
            return true;
    return false;
}

int producer_applications_json(PGconn *conn, const char *status, int limit, json_object **ret)
{
    if (!conn || !ret)
        return PRODUCER_ERROR_INVALID;
    if ((status && !valid_status(status)) || limit < 1 || limit > 1000000)
        return PRODUCER_ERROR_INPUT;
    return store_applications_list_json(conn, status, limit, ret);
}

int producer_application_json(PGconn *conn, const char *application, json_object **ret)
{
    if (!conn || !ret)
        return PRODUCER_ERROR_INVALID;
    if (!application || !application[0] || strlen(application) > 64)
        return PRODUCER_ERROR_INPUT;
    return store_applications_show_json(conn, application, ret);
}
