/* applications.c — operators' changes to applications and issued cards, each with its audit event, and the
 * application read models; the CLI and the web call these */
#include "intake/applications.h"

#include "store/applications.h"
#include "store/store.h"

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
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT, "give the application number or its upstream id");
    if (store_begin(ctx->conn) < 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, "the database is not available; nothing changed");
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
                                 "the database failed; application %.64s is unchanged", application);
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
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT, "a reason is required (at most 500 characters)");
    return change(ctx, cancel_fn, application, reason, "cancelled",
                  "no pending, held or in-production application with that id (produced ones are done)",
                  ret_id);
}

int producer_application_release(struct producer_ctx *ctx, const char *application, int64_t *ret_id)
{
    if (!valid_ctx(ctx))
        return PRODUCER_ERROR_INVALID;
    return change(ctx, release_fn, application, NULL, "released", "no held application with that id", ret_id);
}

int producer_card_report_lost(struct producer_ctx *ctx, const char *card_number, const char *reason)
{
    int r;

    if (!valid_ctx(ctx))
        return PRODUCER_ERROR_INVALID;
    ctx->message[0] = '\0';
    if (!card_number || !card_number[0] || strlen(card_number) > 32)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT, "give the card number");
    if (reason && strlen(reason) > 500)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 "the reason is too long (at most 500 characters)");
    if (store_begin(ctx->conn) < 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, "the database is not available; nothing changed");
    r = store_applications_card_lost(ctx->conn, card_number);
    if (r == 0) {
        store_rollback(ctx->conn);
        return producer_ctx_fail(ctx, PRODUCER_ERROR_NOT_FOUND, "no card %s in a holder's hands",
                                 card_number);
    }
    if (r < 0 ||
        store_event(ctx->conn, ctx->actor, "reported_lost", NULL, card_number, NULL,
                    reason && reason[0] ? reason : "formal loss report") < 0 ||
        store_commit(ctx->conn) < 0) {
        store_rollback(ctx->conn);
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, "the database failed; card %s is unchanged",
                                 card_number);
    }
    return 0;
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
