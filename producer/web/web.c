/* web.c — the dashboard's routes: who may call what (roles checked here, on every request), CSRF, input
 * validation, and the JSON API for operators, studios, dispatch, auditors and admins; personal data leaves
 * masked */
#include "web/web.h"
#include "store/store.h"

#include "dispatch/dispatch.h"
#include "schedule/schedule.h"
#include "intake/applications.h"
#include "intake/intake.h"
#include "store/limit.h"
#include "base/i18n.h"
#include "base/log.h"
#include "photo.h"
#include "intake/photo_receipt.h"
#include "producer.h"
#include "web/web_receipt.h"
#include "store/reads.h"
#include "store/stock.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    R_OPERATOR = 1 << 0,
    R_STUDIO = 1 << 1,
    R_DISPATCH = 1 << 2,
    R_AUDITOR = 1 << 3,
    R_ADMIN = 1 << 4,
    R_STAFF = R_OPERATOR | R_DISPATCH | R_AUDITOR | R_ADMIN,
    R_ANY = R_STAFF | R_STUDIO,
    R_PUBLIC = 0,
};

/* What one call sees: the request, its caller, and the captured path segments. */
struct call {
    struct web_server *s;
    PGconn *conn;
    const struct web_request *req;
    struct web_response *resp;
    struct account_identity who;
    bool signed_in;
    char csrf[ACCOUNT_SECRET_HEX];
    char session[ACCOUNT_SECRET_HEX];
    const char *seg[2]; /* the '*' segments of the route */
    char segbuf[2][96];
    char actor[64];
};

/* --- responses ------------------------------------------------------------------------------------------ */

static void set_body(struct web_response *resp, int status, const char *type, const void *data, size_t len)
{
    free(resp->body);
    resp->body = malloc(len ? len : 1);
    resp->len = resp->body ? len : 0;
    if (resp->body && len)
        memcpy(resp->body, data, len);
    resp->status = status;
    resp->content_type = type;
}

static void reply_json(struct call *c, int status, json_object *o)
{
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

    set_body(c->resp, status, "application/json; charset=utf-8", s, strlen(s));
    json_object_put(o);
}

static void reply_error(struct call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply_error(struct call *c, int status, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    json_object *o = json_object_new_object();

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object_object_add(o, "error", json_object_new_string(msg));
    reply_json(c, status, o);
    c->resp->language = i18n_tag(i18n_get());
}

/* a producer/dispatch error as an HTTP status */
static void reply_failure(struct call *c, int r, const char *message)
{
    int status = 500;

    switch (r) {
    case PRODUCER_ERROR_INPUT:
    case PRODUCER_ERROR_INVALID:
        status = 400;
        break;
    case PRODUCER_ERROR_NOT_FOUND:
        status = 404;
        break;
    case DISPATCH_ERROR_STATE:
    case DISPATCH_ERROR_OUTLET:
    case ACCOUNT_ERROR_EXISTS:
        status = 409;
        break;
    case DISPATCH_ERROR_IDENTITY:
    case ACCOUNT_ERROR_WEAK:
        status = 422;
        break;
    case PRODUCER_ERROR_DB:
        status = 503;
        break;
    default:
        break;
    }
    reply_error(c, status, "%s", message && *message ? message : dispatch_strerror(r));
}

static void reply_ok(struct call *c, const char *key, const char *value)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "ok", json_object_new_boolean(1));
    if (key)
        json_object_object_add(o, key, json_object_new_string(value));
    reply_json(c, 200, o);
}

/* --- input ---------------------------------------------------------------------------------------------- */

static bool content_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);

    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The request's JSON object, or NULL after replying 4xx. */
static json_object *json_body(struct call *c)
{
    char why[160];
    json_object *o;

    if (!content_type_is(c->req->content_type, "application/json")) {
        reply_error(c, 415, _("send the body as application/json"));
        return NULL;
    }
    o = web_parse_json(c->req->body, c->req->body_len, why, sizeof(why));
    if (!o)
        reply_error(c, 400, "%s", why);
    return o;
}

/* A string field: absent is NULL (ok unless required); anything else than a valid bounded string is an error.
 */
static bool field(struct call *c, json_object *o, const char *key, size_t max, bool required,
                  const char **ret)
{
    json_object *v;

    *ret = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
        if (required)
            reply_error(c, 400, _("'%s' is required"), key);
        return !required;
    }
    if (!json_object_is_type(v, json_type_string) || !web_text_ok(json_object_get_string(v), max)) {
        reply_error(c, 400, _("'%s' must be text of at most %zu bytes without control characters"), key, max);
        return false;
    }
    *ret = json_object_get_string(v);
    return true;
}

static const char *query(struct call *c, const char *key)
{
    const char *v = c->req->arg ? c->req->arg(c->req->arg_ctx, key) : NULL;

    return v && *v && web_text_ok(v, 128) ? v : NULL;
}

static bool valid_card(const char *s)
{
    return s && strlen(s) == 9 && isupper((unsigned char)s[0]) && strspn(s + 1, "0123456789") == 8;
}

static bool valid_shipment(const char *s)
{
    return s && strlen(s) == 18 && strspn(s, "0123456789") == 18;
}

static bool valid_code(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;

    return n >= 1 && n <= max &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") == n;
}

/* --- read models --------------------------------------------------------------------------------------- */

/* Answer with a read model of the store (store/reads.h), the same object the CLI prints. */
static void reply_read(struct call *c, int r, json_object *o)
{
    if (r < 0) {
        char method[32], path[400];
        web_log_text(c->req->method, method, sizeof(method));
        web_log_text(c->req->path, path, sizeof(path));
        log_warn("web", "%s %s: the database did not answer", method, path);
        reply_error(c, 503, _("the database did not answer; try again"));
        return;
    }
    reply_json(c, 200, o);
}

/* --- session -------------------------------------------------------------------------------------------- */

static const char *role_home(const char *role)
{
    if (strcmp(role, "operator") == 0)
        return "/operator.html";
    if (strcmp(role, "studio") == 0)
        return "/studio.html";
    if (strcmp(role, "dispatch") == 0)
        return "/dispatch.html";
    if (strcmp(role, "auditor") == 0)
        return "/audit.html";
    return "/admin.html";
}

static json_object *identity_json(const struct call *c)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "name", json_object_new_string(c->who.name));
    json_object_object_add(o, "role", json_object_new_string(c->who.role));
    if (c->who.studio[0])
        json_object_object_add(o, "studio", json_object_new_string(c->who.studio));
    json_object_object_add(o, "home", json_object_new_string(role_home(c->who.role)));
    if (c->csrf[0])
        json_object_object_add(o, "csrf", json_object_new_string(c->csrf));
    return o;
}

static const struct producer_limit login_limit = {
    .kind = "login",
    .window_s = WEB_LOGIN_WINDOW_S,
    .per_address = WEB_LOGIN_FAILURES_PER_CLIENT,
    .per_subject_address = WEB_LOGIN_FAILURES,
    .per_subject = WEB_LOGIN_FAILURES_PER_ACCOUNT,
};

static const struct producer_limit track_limit = {
    .kind = "track",
    .window_s = WEB_TRACK_WINDOW_S,
    .per_address = WEB_TRACK_FAILURES_PER_CLIENT,
    .per_subject_address = WEB_TRACK_FAILURES,
    .per_subject = WEB_TRACK_FAILURES_PER_APP,
};

/* Take a try under lim; false after answering 429 (limit reached) or 503 (no database). */
static bool limit_take(struct call *c, const struct producer_limit *lim, const char *subject,
                       const char *what, int64_t *ret_id)
{
    int r = producer_limit_take(c->conn, lim, subject, c->req->client, ret_id);

    if (r > 0) {
        snprintf(c->resp->retry_after, sizeof(c->resp->retry_after), "%d", r);
        reply_error(c, 429, _("too many failed %s; try again in %d seconds"), what, r);
        return false;
    }
    if (r < 0) {
        reply_error(c, 503, _("not possible right now; try again later"));
        return false;
    }
    return true;
}

/* A browser's cross-site POST carries an Origin that is not ours: another host, or our host under the other
 * scheme (a page on http:// is not the https:// dashboard, and may be anyone's on the way) */
static bool same_origin(const struct call *c)
{
    const struct web_request *req = c->req;
    const char *o = req->origin;
    const char *scheme = req->scheme && *req->scheme ? req->scheme : c->s->secure_cookies ? "https" : "http";
    size_t n = strlen(scheme);

    if (!o || !*o)
        return true;
    if (!req->host)
        return false;
    if (strncasecmp(o, scheme, n) != 0 || strncmp(o + n, "://", 3) != 0)
        return false;
    return strcmp(o + n + 3, req->host) == 0;
}

static void api_login(struct call *c)
{
    const char *name, *password;
    char session[ACCOUNT_SECRET_HEX], masked[64];
    json_object *body;
    int64_t attempt = 0;
    int r;

    if (!same_origin(c)) {
        reply_error(c, 403, _("cross-site sign-in refused"));
        return;
    }
    if (!(body = json_body(c)))
        return;
    if (!field(c, body, "name", 32, true, &name) ||
        !field(c, body, "password", ACCOUNT_PASSWORD_MAX, true, &password)) {
        json_object_put(body);
        return;
    }
    if (!limit_take(c, &login_limit, name, "sign-ins", &attempt)) {
        json_object_put(body);
        return;
    }
    r = producer_account_login(c->conn, name, password, c->req->client, &c->who, session, c->csrf);
    if (r == ACCOUNT_ERROR_DENIED) {
        /* the name someone typed may be anything, a person's name too: masked like personal data */
        producer_mask_name(name, masked, sizeof(masked));
        log_info("web", "failed sign-in for '%s' from %s", masked, c->req->client ? c->req->client : "?");
        reply_error(c, 401, _("wrong name or password"));
    } else if (r == ACCOUNT_ERROR_BUSY) {
        producer_limit_forgive(c->conn, attempt);
        snprintf(c->resp->retry_after, sizeof(c->resp->retry_after), "1");
        reply_error(c, 503, "%s", account_strerror(r));
    } else if (r < 0) {
        producer_limit_forgive(c->conn, attempt);
        reply_error(c, 503, _("sign-in is not possible right now"));
    } else {
        producer_limit_forgive(c->conn, attempt);
        snprintf(c->resp->set_cookie, sizeof(c->resp->set_cookie),
                 "cardline_session=%s; Path=/; HttpOnly; SameSite=Strict%s", session,
                 c->s->secure_cookies ? "; Secure" : "");
        log_info("web", "%s (%s) signed in from %s", c->who.name, c->who.role,
                 c->req->client ? c->req->client : "?");
        reply_json(c, 200, identity_json(c));
    }
    json_object_put(body);
}

static void api_logout(struct call *c)
{
    producer_account_logout(c->conn, c->session);
    snprintf(c->resp->set_cookie, sizeof(c->resp->set_cookie),
             "cardline_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
             c->s->secure_cookies ? "; Secure" : "");
    reply_ok(c, NULL, NULL);
}

static void api_session(struct call *c)
{
    reply_json(c, 200, identity_json(c));
}

/* --- operators ------------------------------------------------------------------------------------------ */

static void api_status(struct call *c)
{
    json_object *o = NULL;
    int r = store_reads_status(c->conn, &o);

    /* with the deadlines as `cardline status` shows them (schedule/schedule.h) */
    if (r >= 0 && (r = producer_status_deadlines(c->conn, o)) < 0)
        json_object_put(o);
    /* the object `cardline status --json` prints; dispatch may read neither the lines nor the held list
     * (GET /api/v1/lines and /api/v1/held are not theirs), so it gets the rest */
    if (r >= 0 && strcmp(c->who.role, "dispatch") == 0) {
        json_object_object_del(o, "lines");
        json_object_object_del(o, "held");
    }
    reply_read(c, r, o);
}

static void api_lines(struct call *c)
{
    json_object *o = NULL;
    int r = store_reads_lines(c->conn, &o);

    reply_read(c, r, o);
}

static void api_queue(struct call *c)
{
    json_object *o = NULL;
    int r = store_reads_queue(c->conn, &o);

    reply_read(c, r, o);
}

static void api_at_risk(struct call *c)
{
    json_object *o = NULL;
    int r = store_reads_at_risk(c->conn, &o);

    reply_read(c, r, o);
}

static void api_held(struct call *c)
{
    json_object *o = NULL;
    int r = store_reads_held(c->conn, &o);

    reply_read(c, r, o);
}

static void api_spoiled(struct call *c)
{
    json_object *o = NULL;
    int r = store_reads_spoiled(c->conn, &o);

    reply_read(c, r, o);
}

/* the stock report `cardline stock report --json` prints, for the whole time */
static void api_stock(struct call *c)
{
    json_object *o = NULL;
    int r = store_stock_report(c->conn, NULL, NULL, NULL, &o);

    reply_read(c, r < 0 ? r : 0, o);
}

/* --- dispatch ------------------------------------------------------------------------------------------- */

static void reply_dispatch(struct call *c, int r, json_object *o)
{
    if (r < 0)
        reply_failure(c, r, r == PRODUCER_ERROR_NOT_FOUND ? "not found" : NULL);
    else
        reply_json(c, 200, o);
}

static void api_shipments(struct call *c)
{
    const char *status = query(c, "status"), *outlet = query(c, "outlet");
    json_object *o = NULL;

    if (status && strcmp(status, "open") && strcmp(status, "sealed") && strcmp(status, "dispatched") &&
        strcmp(status, "received") && strcmp(status, "lost")) {
        reply_error(c, 400, _("status is one of open, sealed, dispatched, received, lost"));
        return;
    }
    if (outlet && !valid_code(outlet, 16)) {
        reply_error(c, 400, _("outlet is a code of letters and digits"));
        return;
    }
    int r = producer_dispatch_shipments_json(c->conn, status, outlet, 500, &o);

    reply_dispatch(c, r, o);
}

static void api_shipment(struct call *c)
{
    json_object *o = NULL;

    int r = producer_dispatch_shipment_json(c->conn, c->seg[0], &o);

    reply_dispatch(c, r, o);
}

static void producer_ctx_init(struct call *c, struct producer_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->conn = c->conn;
    snprintf(c->actor, sizeof(c->actor), "web:%s", c->who.name);
    ctx->actor = c->actor;
}

static void api_shipment_action(struct call *c, const char *action)
{
    struct producer_ctx ctx;
    int r;

    producer_ctx_init(c, &ctx);
    r = strcmp(action, "seal") == 0 ? producer_dispatch_seal(&ctx, c->seg[0])
                                    : producer_dispatch_send(&ctx, c->seg[0]);
    if (r < 0)
        reply_failure(c, r, ctx.message);
    else
        reply_ok(c, "shipment", c->seg[0]);
}

static void api_seal(struct call *c)
{
    api_shipment_action(c, "seal");
}

static void api_send(struct call *c)
{
    api_shipment_action(c, "send");
}

static void api_seal_due(struct call *c)
{
    struct producer_ctx ctx;
    json_object *o;
    int n = 0, r;

    producer_ctx_init(c, &ctx);
    r = producer_dispatch_seal_due(&ctx, NULL, &n);
    if (r < 0) {
        reply_failure(c, r, ctx.message);
        return;
    }
    o = json_object_new_object();
    json_object_object_add(o, "sealed", json_object_new_int(n));
    reply_json(c, 200, o);
}

static void api_receive(struct call *c)
{
    const char *label, *outlet;
    struct producer_ctx ctx;
    json_object *body = json_body(c);
    char id[19];
    int r;

    if (!body)
        return;
    if (field(c, body, "label", 64, true, &label) && field(c, body, "outlet", 16, false, &outlet)) {
        producer_ctx_init(c, &ctx);
        r = producer_dispatch_receive(&ctx, label, outlet, id);
        if (r < 0)
            reply_failure(c, r, ctx.message);
        else
            reply_ok(c, "shipment", id);
    }
    json_object_put(body);
}

static void api_collect(struct call *c)
{
    struct dispatch_collect col = {.card_number = c->seg[0], .activate = true};
    struct producer_ctx ctx;
    json_object *body = json_body(c), *v;
    int r;

    if (!body)
        return;
    if (field(c, body, "holder_doc", 32, true, &col.holder_doc) &&
        field(c, body, "agent_name", 60, false, &col.agent_name) &&
        field(c, body, "agent_doc_type", 32, false, &col.agent_doc_type) &&
        field(c, body, "agent_doc", 32, false, &col.agent_doc) &&
        field(c, body, "poa_ref", 64, false, &col.poa_reference) &&
        field(c, body, "skip_activation_reason", 500, false, &col.skip_activation_reason)) {
        if (json_object_object_get_ex(body, "activate", &v))
            col.activate = json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : true;
        if (json_object_object_get_ex(body, "temporary_returned", &v))
            col.temporary_returned = json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
        if (col.agent_name && !*col.agent_name)
            col.agent_name = NULL;
        if (col.agent_doc && !*col.agent_doc)
            col.agent_doc = NULL;
        if (col.agent_doc_type && (!*col.agent_doc_type || (!col.agent_name && !col.agent_doc)))
            col.agent_doc_type = NULL;
        if (col.poa_reference && !*col.poa_reference)
            col.poa_reference = NULL;
        producer_ctx_init(c, &ctx);
        r = producer_dispatch_collect(&ctx, &col);
        if (r < 0) {
            reply_failure(c, r, ctx.message);
        } else {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "ok", json_object_new_boolean(1));
            json_object_object_add(o, "card", json_object_new_string(c->seg[0]));
            json_object_object_add(o, "activated", json_object_new_boolean(col.activate));
            json_object_object_add(o, "temporary",
                                   col.ret_temporary[0] ? json_object_new_string(col.ret_temporary) : NULL);
            json_object_object_add(o, "temporary_due", json_object_new_boolean(col.ret_temporary_due));
            /* the bank application's account, masked; the bank activates that function itself */
            json_object_object_add(o, "bank_account",
                                   col.ret_bank_account[0] ? json_object_new_string(col.ret_bank_account)
                                                           : NULL);
            json_object_object_add(o, "bank", col.ret_bank[0] ? json_object_new_string(col.ret_bank) : NULL);
            reply_json(c, 200, o);
        }
    }
    json_object_put(body);
}

static void api_card_action(struct call *c, bool activate)
{
    struct producer_ctx ctx;
    int r;

    producer_ctx_init(c, &ctx);
    r = activate ? producer_dispatch_activate(&ctx, c->seg[0]) : producer_dispatch_return(&ctx, c->seg[0]);
    if (r < 0)
        reply_failure(c, r, ctx.message);
    else
        reply_ok(c, "card", c->seg[0]);
}

static void api_activate(struct call *c)
{
    api_card_action(c, true);
}

static void api_return(struct call *c)
{
    api_card_action(c, false);
}

static void api_lost(struct call *c)
{
    const char *id, *reason;
    struct producer_ctx ctx;
    json_object *body = json_body(c);
    int n = 0, r;

    if (!body)
        return;
    if (field(c, body, "id", 20, true, &id) && field(c, body, "reason", 200, false, &reason)) {
        producer_ctx_init(c, &ctx);
        r = producer_dispatch_lost(&ctx, id, reason, &n);
        if (r < 0)
            reply_failure(c, r, ctx.message);
        else {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "requeued", json_object_new_int(n));
            reply_json(c, 200, o);
        }
    }
    json_object_put(body);
}

static void api_overdue(struct call *c)
{
    json_object *o = NULL;

    int r = producer_dispatch_overdue_json(c->conn, &o);

    reply_dispatch(c, r, o);
}

static void api_uncollected(struct call *c)
{
    const char *due = query(c, "due");
    json_object *o = NULL;

    int r = producer_dispatch_uncollected_json(c->conn, due && strcmp(due, "1") == 0, &o);

    reply_dispatch(c, r, o);
}

/* label.png, label.pdf, manifest.pdf, manifest.csv: drawn into a private temporary file, then sent */
static void api_document(struct call *c)
{
    const char *doc = c->seg[1];
    const char *dot = strchr(doc, '.');
    char path[] = "/tmp/cardline-doc-XXXXXX";
    bool label = strncmp(doc, "label.", 6) == 0;
    struct stat st;
    int fd, r;

    if (!dot || !(strcmp(doc, "label.png") == 0 || strcmp(doc, "label.pdf") == 0 ||
                  strcmp(doc, "manifest.pdf") == 0 || strcmp(doc, "manifest.csv") == 0)) {
        reply_error(c, 404, _("documents: label.png, label.pdf, manifest.pdf, manifest.csv"));
        return;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        reply_error(c, 500, _("cannot make a temporary file"));
        return;
    }
    close(fd);
    r = label ? producer_dispatch_label(c->conn, c->seg[0], dot + 1, path)
              : producer_dispatch_manifest(c->conn, c->seg[0], dot + 1, path);
    if (r < 0) {
        unlink(path);
        reply_failure(c, r, r == PRODUCER_ERROR_NOT_FOUND ? "no such shipment" : NULL);
        return;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    unlink(path);
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > 64 * 1024 * 1024) {
        if (fd >= 0)
            close(fd);
        reply_error(c, 500, _("cannot read the document back"));
        return;
    }
    free(c->resp->body);
    c->resp->body = malloc((size_t)st.st_size + 1);
    c->resp->len =
        c->resp->body && read(fd, c->resp->body, (size_t)st.st_size) == st.st_size ? (size_t)st.st_size : 0;
    close(fd);
    c->resp->status = c->resp->len || st.st_size == 0 ? 200 : 500;
    c->resp->content_type = strcmp(dot, ".png") == 0   ? "image/png"
                            : strcmp(dot, ".pdf") == 0 ? "application/pdf"
                                                       : "text/csv; charset=utf-8";
    snprintf(c->resp->disposition, sizeof(c->resp->disposition), "%s; filename=\"%s-%s\"",
             strcmp(dot, ".png") == 0 ? "inline" : "attachment", c->seg[0], doc);
}

/* --- operators' changes: the domain functions `cardline application` and `cardline card` call ---------- */

static bool valid_application_ref(const char *s)
{
    return valid_code(s, 64);
}

static void api_release(struct call *c)
{
    struct producer_ctx ctx;
    int64_t id = 0;
    int r;

    if (!valid_application_ref(c->seg[0])) {
        reply_error(c, 404, _("no such application"));
        return;
    }
    producer_ctx_init(c, &ctx);
    r = producer_application_release(&ctx, c->seg[0], &id);
    if (r < 0)
        reply_failure(c, r, ctx.message);
    else
        reply_ok(c, "application", c->seg[0]);
}

static void api_cancel(struct call *c)
{
    struct producer_ctx ctx;
    const char *reason;
    json_object *body;
    int64_t id = 0;
    int r;

    if (!valid_application_ref(c->seg[0])) {
        reply_error(c, 404, _("no such application"));
        return;
    }
    if (!(body = json_body(c)))
        return;
    if (field(c, body, "reason", 500, true, &reason)) {
        producer_ctx_init(c, &ctx);
        r = producer_application_cancel(&ctx, c->seg[0], reason, &id);
        if (r < 0)
            reply_failure(c, r, ctx.message);
        else
            reply_ok(c, "application", c->seg[0]);
    }
    json_object_put(body);
}

/* The card's life after collection and the temporary cards: one handler per route, one domain call each. */
enum card_life_action {
    CARD_REPORT_LOST,
    CARD_REPORT_LOST_TEMPORARY,
    CARD_WITHDRAW_LOSS,
    CARD_CANCEL,
    CARD_RETURN_TEMPORARY
};

static void api_card_life(struct call *c, enum card_life_action action)
{
    struct producer_ctx ctx;
    const char *reason = NULL;
    json_object *body;
    int r, n = 0;

    if (!(body = json_body(c)))
        return;
    if (field(c, body, "reason", 200, action == CARD_CANCEL, &reason)) {
        if (reason && !*reason)
            reason = NULL;
        producer_ctx_init(c, &ctx);
        switch (action) {
        case CARD_REPORT_LOST:
            r = producer_card_report_lost(&ctx, c->seg[0], reason);
            break;
        case CARD_REPORT_LOST_TEMPORARY:
            r = producer_card_report_lost_temporary(&ctx, c->seg[0], reason);
            break;
        case CARD_WITHDRAW_LOSS:
            r = producer_card_withdraw_loss(&ctx, c->seg[0], reason);
            break;
        case CARD_CANCEL:
            r = producer_card_cancel(&ctx, c->seg[0], reason, &n);
            break;
        default:
            r = producer_card_return_temporary(&ctx, c->seg[0], reason);
            break;
        }
        if (r < 0) {
            reply_failure(c, r, ctx.message);
        } else {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "ok", json_object_new_boolean(1));
            json_object_object_add(o, "card", json_object_new_string(c->seg[0]));
            if (action == CARD_CANCEL)
                json_object_object_add(o, "applications_cancelled", json_object_new_int(n));
            reply_json(c, 200, o);
        }
    }
    json_object_put(body);
}

static void api_report_lost(struct call *c)
{
    api_card_life(c, CARD_REPORT_LOST);
}

static void api_report_lost_temporary(struct call *c)
{
    api_card_life(c, CARD_REPORT_LOST_TEMPORARY);
}

static void api_withdraw_loss(struct call *c)
{
    api_card_life(c, CARD_WITHDRAW_LOSS);
}

static void api_card_cancel(struct call *c)
{
    api_card_life(c, CARD_CANCEL);
}

static void api_return_temporary(struct call *c)
{
    api_card_life(c, CARD_RETURN_TEMPORARY);
}

static void api_temporary_cards(struct call *c)
{
    const char *due = query(c, "due");
    json_object *o = NULL;
    int r = producer_card_temporary_json(c->conn, due && strcmp(due, "1") == 0, &o);

    if (r < 0)
        reply_failure(c, r, NULL);
    else
        reply_json(c, 200, o);
}

/* --- tracking ------------------------------------------------------------------------------------------- */

static void api_track(struct call *c)
{
    const char *app = query(c, "application"), *document = query(c, "document"), *last4 = query(c, "last4");
    bool staff = c->signed_in && strcmp(c->who.role, "studio") != 0;
    int64_t attempt = 0;
    json_object *o = NULL;
    int r;

    if (!app || !*app || strlen(app) > 64) {
        reply_error(c, 400, _("give the application number (application=...)"));
        return;
    }
    /* Without an account, the holder's whole document number must match too: application numbers are
     * sequential and 4 characters are soon guessed. A studio (signed in) may give the last 4. */
    if (!c->signed_in && (!document || strlen(document) < 5 || strlen(document) > 32)) {
        reply_error(c, 400, _("give the holder's whole document number (document=...)"));
        return;
    }
    if (c->signed_in && !staff && !document && !last4) {
        reply_error(
            c, 400,
            _("give the holder's document number (document=...) or its last 4 characters (last4=...)"));
        return;
    }
    if (document && strlen(document) > 32) {
        reply_error(c, 400, _("a document number has at most 32 characters"));
        return;
    }
    /* failed look-ups are limited for everyone but staff; an unknown application and a wrong document count
     * alike and are answered alike */
    if (!staff && !limit_take(c, &track_limit, app, "look-ups", &attempt))
        return;
    r = producer_dispatch_track_json(c->conn, app,
                                     staff      ? NULL
                                     : document ? document
                                                : last4,
                                     document != NULL, &o);
    if (r == PRODUCER_ERROR_NOT_FOUND || r == PRODUCER_ERROR_INPUT) {
        reply_error(c, 404, _("no application with that number and document"));
        return;
    }
    if (attempt)
        producer_limit_forgive(c->conn, attempt);
    reply_dispatch(c, r, o);
}

/* --- studios -------------------------------------------------------------------------------------------- */

/* The applicant's document number a studio sends with a photo: what producer_photo_receipt_issue (and so
 * `cardline photo check --receipt --id`) accepts, 5 to 32 bytes, and printable text for the receipt. */
static bool valid_doc_number(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n >= 5 && n <= 32 && web_text_ok(s, 32) && s[0] != ' ' && s[n - 1] != ' ';
}

static void api_photo_upload(struct call *c)
{
    const struct web_request *req = c->req;
    const struct photo_checker *ck = c->s->checker;
    struct photo_report *rep = NULL;
    struct photo_receipt rc;
    char failing[300], detail[360];
    json_object *o;
    struct producer_ctx ctx;
    const char *doc_type;
    int r;

    if (!content_type_is(req->content_type, "image/jpeg") &&
        !content_type_is(req->content_type, "image/png")) {
        reply_error(c, 415, _("send the photo itself as image/jpeg or image/png"));
        return;
    }
    if (req->body_len == 0) {
        reply_error(c, 400, _("the photo is empty"));
        return;
    }
    if (!valid_doc_number(req->doc_number)) {
        reply_error(c, 400,
                    _("give the applicant's document number (5 to 32 characters) in the X-Document-Number "
                      "header"));
        return;
    }
    /* the document's type (?doc_type=, default resident_id) and a number valid for it, before the slow
     * check: no receipt for a number no application could carry */
    producer_ctx_init(c, &ctx);
    doc_type = query(c, "doc_type");
    if (doc_type && !valid_code(doc_type, 23)) {
        reply_error(c, 400, "doc_type is one of " PRODUCER_DOC_TYPES);
        return;
    }
    r = producer_photo_receipt_doc_check(&ctx, doc_type, req->doc_number);
    if (r < 0) {
        if (r == PRODUCER_ERROR_INPUT)
            reply_error(c, 400, "%s", ctx.message);
        else
            reply_error(c, 503, _("the document could not be checked; try again"));
        return;
    }
    if (!ck) {
        reply_error(c, 503,
                    _("the photo checker is not available (face detection models missing); tell the "
                      "bureau"));
        return;
    }
    /* the configured profile, the rules the lines check the photo against again */
    if (photo_check(ck, req->body, req->body_len,
                    c->s->profile ? c->s->profile : photo_profile_builtin("ssc"), &rep) < 0) {
        reply_error(c, 503, _("the photo could not be checked; try again"));
        return;
    }
    o = producer_photo_report_json(rep, NULL);
    if (!o) {
        photo_report_free(rep);
        reply_error(c, 503, _("the photo could not be checked; try again"));
        return;
    }
    /* the studio reads the advice in its request's language; the receipt keeps the report in English */
    producer_photo_report_json_localise(o);
    json_object_object_add(o, "receipt_no", NULL);
    if (rep->verdict == PHOTO_STATUS_FAIL) {
        /* no receipt; the audit trail says which studio sent a failing photo and why */
        photo_report_failing_ids(rep, failing, sizeof(failing));
        snprintf(detail, sizeof(detail), "%s rejected: %s", c->who.studio, failing);
        if (store_event(c->conn, c->actor[0] ? c->actor : "web", "photo_checked", NULL, NULL, NULL, detail) <
            0)
            log_warn("web", "photo check by %s not recorded in the audit trail", c->who.studio);
        photo_report_free(rep);
        reply_json(c, 200, o);
        return;
    }
    /* one transaction: the receipt, its audit event (written by producer_photo_receipt_issue, as for the
     * CLI) and the photo it was issued for */
    if (store_begin(c->conn) < 0)
        goto db_fail;
    r = producer_photo_receipt_issue(&ctx, req->body, req->body_len, rep, c->who.studio, doc_type,
                                     req->doc_number, &rc);
    if (r == PRODUCER_ERROR_INPUT) {
        store_rollback(c->conn);
        photo_report_free(rep);
        json_object_put(o);
        reply_error(c, 400, "%s",
                    ctx.message[0] ? ctx.message : "the studio code or document number is malformed");
        return;
    }
    /* the photo is kept so its receipt can show it; only receipted photos are stored */
    int64_t pid;
    if (r < 0 || producer_insert_photo(c->conn, req->body, req->body_len, c->who.studio, &pid) < 0 ||
        store_commit(c->conn) < 0)
        goto db_fail;
    photo_report_free(rep);
    json_object_object_add(o, "receipt_no", json_object_new_string(rc.number));
    json_object_object_add(o, "valid_until", json_object_new_string(rc.valid_until));
    reply_json(c, 201, o);
    return;
db_fail:
    store_rollback(c->conn);
    photo_report_free(rep);
    json_object_put(o);
    reply_error(c, 503, _("the receipt could not be stored; try again"));
}

/* Receipts: a studio sees its own only; staff see all (outlets verify the receipts applicants bring). */
static void api_receipts(struct call *c)
{
    json_object *o = NULL;
    int r = store_reads_receipts(c->conn, strcmp(c->who.role, "studio") == 0 ? c->who.studio : NULL, &o);

    reply_read(c, r, o);
}

/* One receipt: ?format=pdf (default) or png, the document photo/receipt.c draws; json, its fields. */
static void api_receipt(struct call *c)
{
    const char *format = query(c, "format");
    enum photo_receipt_format fmt = PHOTO_RECEIPT_PDF;
    struct photo_receipt rc;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int r;

    if (!format || strcmp(format, "pdf") == 0)
        fmt = PHOTO_RECEIPT_PDF;
    else if (strcmp(format, "png") == 0)
        fmt = PHOTO_RECEIPT_PNG;
    else if (strcmp(format, "json") != 0) {
        reply_error(c, 400, _("format: pdf, png or json"));
        return;
    }
    r = producer_photo_receipt_get(c->conn, c->seg[0], &rc);
    if (r == PRODUCER_ERROR_INPUT || r == PRODUCER_ERROR_NOT_FOUND) {
        reply_error(c, 404, _("no such receipt"));
        return;
    }
    if (r < 0) {
        reply_error(c, 503, _("the database did not answer; try again"));
        return;
    }
    /* another studio's receipt gets the same answer as a receipt that does not exist */
    if (strcmp(c->who.role, "studio") == 0 && strcmp(rc.studio, c->who.studio) != 0) {
        reply_error(c, 404, _("no such receipt"));
        return;
    }
    if (format && strcmp(format, "json") == 0) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "receipt_no", json_object_new_string(rc.number));
        json_object_object_add(o, "sha256", json_object_new_string(rc.sha256));
        json_object_object_add(o, "profile", json_object_new_string(rc.profile));
        json_object_object_add(o, "profile_version", json_object_new_int64(rc.profile_version));
        json_object_object_add(o, "studio", json_object_new_string(rc.studio));
        json_object_object_add(o, "doc_number", json_object_new_string(rc.doc_masked));
        json_object_object_add(o, "issued_at", json_object_new_string(rc.issued_at));
        json_object_object_add(o, "valid_until", json_object_new_string(rc.valid_until));
        json_object_object_add(o, "verdict", json_object_new_string(rc.verdict));
        json_object_object_add(o, "warnings", json_object_new_string(rc.warnings));
        reply_json(c, 200, o);
        return;
    }
    /* the receipted photo, when the dashboard stored it, is drawn on the receipt */
    if (store_reads_receipt_photo(c->conn, rc.sha256, rc.studio, &bytes, &len) <= 0) {
        bytes = NULL;
        len = 0;
    }
    r = web_receipt_render(&rc, bytes, len, fmt, &c->resp->body, &c->resp->len);
    free(bytes);
    if (r < 0) {
        log_warn("web", "receipt %s: %s", rc.number, photo_strerror(r));
        reply_error(c, 500, _("the receipt could not be drawn"));
        return;
    }
    c->resp->status = 200;
    c->resp->content_type = fmt == PHOTO_RECEIPT_PNG ? "image/png" : "application/pdf";
    snprintf(c->resp->disposition, sizeof(c->resp->disposition), "attachment; filename=\"receipt-%s.%s\"",
             rc.number, fmt == PHOTO_RECEIPT_PNG ? "png" : "pdf");
}

/* --- auditors and admins -------------------------------------------------------------------------------- */

static void api_events(struct call *c)
{
    const char *before = query(c, "before"), *kind = query(c, "kind");
    json_object *o = NULL;
    int r;

    if ((before && (strspn(before, "0123456789") != strlen(before) || strlen(before) > 18)) ||
        (kind && !valid_code(kind, 32))) {
        reply_error(c, 400, _("before is an event id; kind a word"));
        return;
    }
    r = store_reads_events(c->conn, before, kind, &o);
    reply_read(c, r, o);
}

static void api_accounts(struct call *c)
{
    json_object *o = NULL;

    int r = producer_account_list_json(c->conn, &o);

    reply_dispatch(c, r, o);
}

static void api_account_add(struct call *c)
{
    const char *name, *role, *studio, *password;
    json_object *body = json_body(c);
    int r;

    if (!body)
        return;
    if (field(c, body, "name", 32, true, &name) && field(c, body, "role", 16, true, &role) &&
        field(c, body, "studio", 32, false, &studio) &&
        field(c, body, "password", ACCOUNT_PASSWORD_MAX, true, &password)) {
        if (studio && !*studio)
            studio = NULL;
        if (!producer_account_valid_name(name) || !producer_account_valid_role(role) ||
            (strcmp(role, "studio") == 0) != (studio != NULL) ||
            (studio && !producer_account_valid_studio(studio)))
            reply_error(c, 400,
                        _("name: 2-32 of a-z 0-9 . _ -; role: operator, studio, dispatch, auditor or admin; "
                          "a studio account needs a studio code, others none"));
        else if ((r = producer_account_add(c->conn, name, role, studio, password)) < 0)
            reply_failure(c, r, account_strerror(r));
        else {
            log_info("web", "%s added account %s (%s)", c->who.name, name, role);
            reply_ok(c, "name", name);
        }
    }
    json_object_put(body);
}

static void api_account_disable(struct call *c)
{
    int r;

    if (!producer_account_valid_name(c->seg[0])) {
        reply_error(c, 404, _("no such account"));
        return;
    }
    if (strcmp(c->seg[0], c->who.name) == 0) {
        reply_error(c, 409, _("you cannot disable your own account"));
        return;
    }
    r = producer_account_disable(c->conn, c->seg[0]);
    if (r < 0)
        reply_failure(c, r, r == PRODUCER_ERROR_NOT_FOUND ? "no such account" : NULL);
    else
        reply_ok(c, "name", c->seg[0]);
}

/* --- metrics -------------------------------------------------------------------------------------------- */

static long long metric(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static void api_metrics(struct call *c)
{
    static const char *const states[] = {"running", "paused", "stopped"};
    json_object *m = NULL, *lines;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (store_reads_metrics(c->conn, &m) < 0) {
        reply_read(c, PRODUCER_ERROR_DB, NULL);
        return;
    }
    f = open_memstream(&buf, &len);
    if (!f) {
        json_object_put(m);
        reply_error(c, 500, _("out of memory"));
        return;
    }
    lines = json_object_object_get(m, "lines");
    fprintf(
        f,
        "# HELP cardline_queue_depth Applications waiting, by status.\n# TYPE cardline_queue_depth gauge\n");
    fprintf(f, "cardline_queue_depth{status=\"pending\"} %lld\n", metric(m, "pending"));
    fprintf(f, "cardline_queue_depth{status=\"in_production\"} %lld\n", metric(m, "in_production"));
    fprintf(f, "cardline_queue_depth{status=\"held\"} %lld\n", metric(m, "held"));
    fprintf(f,
            "# HELP cardline_at_risk Open applications whose deadline is within at_risk_working_days working "
            "days, or unknown.\n# TYPE cardline_at_risk gauge\ncardline_at_risk %lld\n",
            metric(m, "at_risk"));
    {
        double spoiled = (double)metric(m, "spoiled_24h"), finished = (double)metric(m, "finished_24h");
        fprintf(f,
                "# HELP cardline_spoil_rate Spoiled share of the cards finished in the last 24 hours.\n"
                "# TYPE cardline_spoil_rate gauge\ncardline_spoil_rate %.4f\n",
                finished > 0 ? spoiled / finished : 0.0);
    }
    fprintf(f, "# HELP cardline_shipments Shipments by status.\n# TYPE cardline_shipments gauge\n");
    fprintf(f, "cardline_shipments{status=\"open\"} %lld\n", metric(m, "shipments_open"));
    fprintf(f, "cardline_shipments{status=\"sealed\"} %lld\n", metric(m, "shipments_sealed"));
    fprintf(f, "cardline_shipments{status=\"dispatched\"} %lld\n", metric(m, "shipments_dispatched"));
    fprintf(f,
            "# HELP cardline_cards_at_outlet Cards waiting for collection.\n# TYPE cardline_cards_at_outlet "
            "gauge\n"
            "cardline_cards_at_outlet %lld\n",
            metric(m, "at_outlet"));
    fprintf(f, "# HELP cardline_line_cards_per_hour Good cards finished by the line in the last hour.\n"
               "# TYPE cardline_line_cards_per_hour gauge\n");
    for (size_t i = 0; i < json_object_array_length(lines); i++) {
        json_object *l = json_object_array_get_idx(lines, i);
        fprintf(f, "cardline_line_cards_per_hour{line=\"%s\"} %lld\n",
                json_object_get_string(json_object_object_get(l, "line")), metric(l, "last_hour"));
    }
    fprintf(f,
            "# HELP cardline_line_state 1 for the line's current state.\n# TYPE cardline_line_state gauge\n");
    for (size_t i = 0; i < json_object_array_length(lines); i++) {
        json_object *l = json_object_array_get_idx(lines, i);
        const char *id = json_object_get_string(json_object_object_get(l, "line"));
        const char *state = json_object_get_string(json_object_object_get(l, "state"));
        for (int s = 0; s < 3; s++)
            fprintf(f, "cardline_line_state{line=\"%s\",state=\"%s\"} %d\n", id, states[s],
                    strcmp(state, states[s]) == 0);
    }
    fprintf(f, "# HELP cardline_line_cards_total Cards finished by the line since it was set up.\n"
               "# TYPE cardline_line_cards_total counter\n");
    for (size_t i = 0; i < json_object_array_length(lines); i++) {
        json_object *l = json_object_array_get_idx(lines, i);
        const char *id = json_object_get_string(json_object_object_get(l, "line"));
        fprintf(f, "cardline_line_cards_total{line=\"%s\",result=\"good\"} %lld\n", id, metric(l, "good"));
        fprintf(f, "cardline_line_cards_total{line=\"%s\",result=\"spoiled\"} %lld\n", id,
                metric(l, "spoiled"));
    }
    fclose(f);
    json_object_put(m);
    free(c->resp->body);
    c->resp->body = (uint8_t *)buf;
    c->resp->len = len;
    c->resp->status = 200;
    c->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* --- routing -------------------------------------------------------------------------------------------- */

struct route {
    const char *method;
    const char *pattern; /* '*' matches one path segment */
    int roles;           /* R_PUBLIC: no account needed */
    void (*handler)(struct call *c);
};

/* The photo rules studio uploads are checked against (the configured profile): the studio page says them as
 * the profile does, never from numbers of its own */
static void api_photo_profile(struct call *c)
{
    const struct photo_profile *p = c->s->profile ? c->s->profile : photo_profile_builtin("ssc");
    json_object *o = json_object_new_object();

    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "version", json_object_new_int64(p->version));
    json_object_object_add(o, "width", json_object_new_int64(p->width));
    json_object_object_add(o, "height", json_object_new_int64(p->height));
    json_object_object_add(o, "dpi_min", json_object_new_double(p->density_dpi.min));
    json_object_object_add(o, "dpi_max", json_object_new_double(p->density_dpi.max));
    json_object_object_add(o, "size_kb_min", json_object_new_double(p->file_size_kb.min));
    json_object_object_add(o, "size_kb_max", json_object_new_double(p->file_size_kb.max));
    json_object_object_add(o, "png", json_object_new_boolean(p->allow_png != 0));
    reply_json(c, 200, o);
}

static const struct route routes[] = {
    {"POST", "/api/v1/login", R_PUBLIC, api_login},
    {"POST", "/api/v1/logout", R_ANY, api_logout},
    {"GET", "/api/v1/session", R_ANY, api_session},
    {"GET", "/api/v1/status", R_STAFF, api_status},
    {"GET", "/api/v1/lines", R_OPERATOR | R_AUDITOR | R_ADMIN, api_lines},
    {"GET", "/api/v1/queue", R_OPERATOR | R_AUDITOR | R_ADMIN, api_queue},
    {"GET", "/api/v1/at-risk", R_OPERATOR | R_AUDITOR | R_ADMIN, api_at_risk},
    {"GET", "/api/v1/held", R_OPERATOR | R_AUDITOR | R_ADMIN, api_held},
    {"GET", "/api/v1/spoiled", R_OPERATOR | R_AUDITOR | R_ADMIN, api_spoiled},
    {"GET", "/api/v1/stock", R_OPERATOR | R_AUDITOR | R_ADMIN, api_stock},
    {"POST", "/api/v1/applications/*/release", R_OPERATOR | R_ADMIN, api_release},
    {"POST", "/api/v1/applications/*/cancel", R_OPERATOR | R_ADMIN, api_cancel},
    {"POST", "/api/v1/cards/*/report-lost", R_OPERATOR | R_ADMIN, api_report_lost},
    {"POST", "/api/v1/cards/*/report-lost-temporary", R_OPERATOR | R_ADMIN, api_report_lost_temporary},
    {"POST", "/api/v1/cards/*/withdraw-loss", R_OPERATOR | R_ADMIN, api_withdraw_loss},
    {"POST", "/api/v1/cards/*/cancel", R_OPERATOR | R_ADMIN, api_card_cancel},
    {"POST", "/api/v1/cards/*/return-temporary", R_OPERATOR | R_DISPATCH | R_ADMIN, api_return_temporary},
    {"GET", "/api/v1/temporary-cards", R_OPERATOR | R_DISPATCH | R_AUDITOR | R_ADMIN, api_temporary_cards},
    {"GET", "/api/v1/shipments", R_STAFF, api_shipments},
    {"GET", "/api/v1/shipments/*", R_STAFF, api_shipment},
    {"GET", "/api/v1/shipments/*/*", R_DISPATCH | R_AUDITOR | R_ADMIN, api_document},
    {"POST", "/api/v1/shipments/*/seal", R_DISPATCH | R_ADMIN, api_seal},
    {"POST", "/api/v1/shipments/*/send", R_DISPATCH | R_ADMIN, api_send},
    {"POST", "/api/v1/seal-due", R_DISPATCH | R_ADMIN, api_seal_due},
    {"POST", "/api/v1/receive", R_DISPATCH | R_ADMIN, api_receive},
    {"POST", "/api/v1/cards/*/collect", R_DISPATCH | R_ADMIN, api_collect},
    {"POST", "/api/v1/cards/*/activate", R_DISPATCH | R_ADMIN, api_activate},
    {"POST", "/api/v1/cards/*/return", R_DISPATCH | R_ADMIN, api_return},
    {"POST", "/api/v1/lost", R_DISPATCH | R_ADMIN, api_lost},
    {"GET", "/api/v1/overdue", R_DISPATCH | R_OPERATOR | R_AUDITOR | R_ADMIN, api_overdue},
    {"GET", "/api/v1/uncollected", R_DISPATCH | R_AUDITOR | R_ADMIN, api_uncollected},
    {"GET", "/api/v1/track", R_PUBLIC, api_track},
    {"POST", "/api/v1/photos", R_STUDIO, api_photo_upload},
    {"GET", "/api/v1/photo-profile", R_ANY, api_photo_profile},
    {"GET", "/api/v1/receipts", R_ANY, api_receipts},
    {"GET", "/api/v1/receipts/*", R_ANY, api_receipt},
    {"GET", "/api/v1/events", R_AUDITOR | R_ADMIN, api_events},
    {"GET", "/api/v1/accounts", R_ADMIN, api_accounts},
    {"POST", "/api/v1/accounts", R_ADMIN, api_account_add},
    {"POST", "/api/v1/accounts/*/disable", R_ADMIN, api_account_disable},
    {"GET", "/metrics", R_PUBLIC, api_metrics},
};

static int role_bit(const char *role)
{
    if (strcmp(role, "operator") == 0)
        return R_OPERATOR;
    if (strcmp(role, "studio") == 0)
        return R_STUDIO;
    if (strcmp(role, "dispatch") == 0)
        return R_DISPATCH;
    if (strcmp(role, "auditor") == 0)
        return R_AUDITOR;
    if (strcmp(role, "admin") == 0)
        return R_ADMIN;
    return 0;
}

/* Match path against pattern; captured segments go to c->seg. */
static bool match(const char *pattern, const char *path, struct call *c)
{
    int n = 0;

    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t len = strcspn(path, "/");
            if (len == 0 || len >= sizeof(c->segbuf[0]) || n >= 2)
                return false;
            memcpy(c->segbuf[n], path, len);
            c->segbuf[n][len] = '\0';
            c->seg[n] = c->segbuf[n];
            n++;
            path += len;
            pattern++;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return !*pattern && !*path;
}

/* Authenticate by session cookie or bearer token: 0 signed in, ACCOUNT_ERROR_DENIED when neither is valid
 * (or none is given), ACCOUNT_ERROR_BUSY or PRODUCER_ERROR_DB when it cannot be told now. */
static int authenticate(struct call *c)
{
    const char *auth = c->req->authorization;

    if (auth && strncmp(auth, "Bearer ", 7) == 0)
        return producer_account_token(c->conn, auth + 7, &c->who);
    if (web_cookie_get(c->req->cookie, "cardline_session", c->session, sizeof(c->session)))
        return producer_account_session(c->conn, c->session, &c->who, c->csrf);
    return ACCOUNT_ERROR_DENIED;
}

/* --- static assets -------------------------------------------------------------------------------------- */

static const char *asset_type(const char *path)
{
    const char *dot = strrchr(path, '.');

    if (!dot)
        return "application/octet-stream";
    if (strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    if (strcmp(dot, ".png") == 0)
        return "image/png";
    return "application/octet-stream";
}

/* A page in the request's language: each {{message}} becomes its translation (the catalog's, see
 * tests/lint/po.sh), and <html lang="en"> names the language the page is in. */
static void translate_page(struct call *c, const unsigned char *data, size_t len)
{
    const char *p = (const char *)data, *end = p + len;
    const char *html_lang = "<html lang=\"en\">";
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);

    if (!m) {
        reply_error(c, 500, _("out of memory"));
        return;
    }
    while (p < end) {
        const char *open = memmem(p, (size_t)(end - p), "{{", 2);
        const char *close = open ? memmem(open + 2, (size_t)(end - open - 2), "}}", 2) : NULL;
        const char *tag = memmem(p, (size_t)(end - p), html_lang, strlen(html_lang));

        if (tag && (!open || tag < open)) {
            fwrite(p, 1, (size_t)(tag - p), m);
            fprintf(m, "<html lang=\"%s\">", i18n_tag(i18n_get()));
            p = tag + strlen(html_lang);
            continue;
        }
        if (!open || !close) {
            fwrite(p, 1, (size_t)(end - p), m);
            break;
        }
        fwrite(p, 1, (size_t)(open - p), m);
        char msgid[1024];
        size_t n = (size_t)(close - open - 2);
        if (n < sizeof(msgid)) {
            memcpy(msgid, open + 2, n);
            msgid[n] = '\0';
            fputs(i18n_text(msgid), m);
        } else {
            fwrite(open, 1, (size_t)(close + 2 - open), m);
        }
        p = close + 2;
    }
    fclose(m);
    free(c->resp->body);
    c->resp->body = (uint8_t *)buf;
    c->resp->len = size;
    c->resp->status = 200;
    c->resp->content_type = asset_type(".html");
    c->resp->language = i18n_tag(i18n_get());
}

/* /i18n.js: the pages' scripts' messages in the request's language, as a table their _() reads (app.js) */
static void serve_script_messages(struct call *c)
{
    json_object *o = json_object_new_object();
    const char *s;
    char *buf = NULL;
    size_t size = 0;
    FILE *m;

    for (size_t i = 0; o && i < web_js_message_count; i++)
        json_object_object_add(o, web_js_messages[i], json_object_new_string(i18n_text(web_js_messages[i])));
    m = o ? open_memstream(&buf, &size) : NULL;
    if (!m) {
        json_object_put(o);
        reply_error(c, 500, _("out of memory"));
        return;
    }
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    /* generated from the catalog: the messages are data, and the script only names them */
    fprintf(m,
            "// i18n.js — the dashboard's messages in %s (generated by the server)\n'use strict';\n"
            "const cardlineLang = '%s';\nconst cardlineMessages = %s;\n",
            i18n_tag(i18n_get()), i18n_tag(i18n_get()), s);
    json_object_put(o);
    fclose(m);
    free(c->resp->body);
    c->resp->body = (uint8_t *)buf;
    c->resp->len = size;
    c->resp->status = 200;
    c->resp->content_type = asset_type(".js");
    c->resp->language = i18n_tag(i18n_get());
}

static bool serve_asset(struct call *c, const char *path)
{
    bool page = strlen(path) > 5 && strcmp(path + strlen(path) - 5, ".html") == 0;

    if (strcmp(path, "/i18n.js") == 0) {
        serve_script_messages(c);
        return true;
    }
    for (size_t i = 0; i < web_asset_count; i++) {
        if (strcmp(web_assets[i].path, path) != 0)
            continue;
        /* development: the same file from the source tree, so that pages change without a rebuild */
        if (c->s->web_dir) {
            char file[4096];
            FILE *f;
            snprintf(file, sizeof(file), "%s%s", c->s->web_dir, path);
            f = fopen(file, "rbe");
            if (f) {
                char *buf = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&buf, &len);
                char chunk[8192];
                size_t n;
                while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                    fwrite(chunk, 1, n, m);
                fclose(f);
                if (m) {
                    fclose(m);
                    if (page) {
                        translate_page(c, (const unsigned char *)buf, len);
                        free(buf);
                        return true;
                    }
                    free(c->resp->body);
                    c->resp->body = (uint8_t *)buf;
                    c->resp->len = len;
                    c->resp->status = 200;
                    c->resp->content_type = asset_type(path);
                    return true;
                }
            }
        }
        if (page) {
            translate_page(c, web_assets[i].data, web_assets[i].len);
            return true;
        }
        set_body(c->resp, 200, asset_type(path), web_assets[i].data, web_assets[i].len);
        c->resp->cacheable = true;
        return true;
    }
    return false;
}

void web_server_init(struct web_server *s)
{
    memset(s, 0, sizeof(*s));
    s->default_lang = (int)i18n_get();
}

void web_server_destroy(struct web_server *s)
{
    photo_checker_free(s->checker);
    s->checker = NULL;
    free(s->profile);
    s->profile = NULL;
}

int web_server_set_profile(struct web_server *s, const char *name)
{
    struct photo_profile *p;
    char why[256];
    int r;

    if (!name || !*name)
        return 0;
    p = malloc(sizeof(*p));
    if (!p)
        return PHOTO_ERROR_NOMEM;
    /* as the lines read the configuration */
    if ((r = photo_profile_find(name, p, why, sizeof(why))) < 0) {
        log_error("web", "photo profile: %s", why);
        free(p);
        return r;
    }
    free(s->profile);
    s->profile = p;
    return 0;
}

int web_server_load_checker(struct web_server *s, const char *model_dir)
{
    int r;

    if (!model_dir || !*model_dir)
        model_dir = getenv("CARDLINE_PHOTO_MODELS");
    r = photo_checker_new(model_dir && *model_dir ? model_dir : NULL, &s->checker);
    if (r < 0) {
        s->checker = NULL;
        log_warn(
            "web",
            "face detection models not found or unreadable in %s (install the Debian package opencv-data): "
            "studio photo uploads are refused",
            model_dir && *model_dir ? model_dir : PHOTO_DEFAULT_MODEL_DIR);
    }
    return r;
}

void web_response_free(struct web_response *resp)
{
    free(resp->body);
    resp->body = NULL;
}

/* The language a request is answered in: the reader's choice on the pages (the lang cookie the language
 * switch sets), else the browser's Accept-Language, else the server's own (a script sends neither) */
static enum i18n_lang request_lang(const struct web_server *s, const struct web_request *req)
{
    char chosen[16];
    enum i18n_lang lang;

    if (web_cookie_get(req->cookie, "lang", chosen, sizeof(chosen)) && i18n_lang_of(chosen, &lang))
        return lang;
    if (req->accept_language && *req->accept_language)
        return i18n_accept_language(req->accept_language);
    return (enum i18n_lang)s->default_lang;
}

void web_handle(struct web_server *s, PGconn *conn, const struct web_request *req, struct web_response *resp)
{
    struct call c;
    const struct route *route = NULL;
    bool path_known = false;
    int r;

    memset(resp, 0, sizeof(*resp));
    memset(&c, 0, sizeof(c));
    i18n_set(request_lang(s, req));
    c.s = s;
    c.conn = conn;
    c.req = req;
    c.resp = resp;

    if (!req->method || !req->path || req->path[0] != '/' || strlen(req->path) > 256 ||
        !web_text_ok(req->path, 256)) {
        reply_error(&c, 400, _("bad request path"));
        return;
    }
    /* DNS rebinding: a page from a name that is not ours, made to point at this server, would read it as
     * its own; browsers always send the name they loaded from */
    if (!req->via_proxy && !web_host_ok(s, req->host)) {
        reply_error(&c, 421, _("this server does not answer for that host name"));
        return;
    }
    if (req->body_too_large) {
        reply_error(&c, 413, _("the body is too large (photos up to %u bytes, API calls up to %u)"),
                    WEB_UPLOAD_MAX, WEB_JSON_MAX);
        return;
    }
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
        if (strcmp(req->path, "/") == 0) {
            snprintf(resp->location, sizeof(resp->location), "/login.html");
            reply_error(&c, 302, _("see /login.html"));
            return;
        }
        if (strncmp(req->path, "/api/", 5) != 0 && strcmp(req->path, "/metrics") != 0) {
            if (!serve_asset(&c, req->path))
                reply_error(&c, 404, _("not found"));
            return;
        }
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        struct call probe;
        memset(&probe, 0, sizeof(probe));
        if (!match(routes[i].pattern, req->path, &probe))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, req->method) == 0 ||
            (strcmp(req->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            route = &routes[i];
            memcpy(c.segbuf, probe.segbuf, sizeof(c.segbuf));
            for (int k = 0; k < 2; k++)
                c.seg[k] = probe.seg[k] ? c.segbuf[k] : NULL;
            break;
        }
    }
    if (!route) {
        reply_error(&c, path_known ? 405 : 404, path_known ? _("method not allowed") : _("not found"));
        return;
    }
    /* path segments that name things are checked before any database work */
    if ((strncmp(route->pattern, "/api/v1/shipments/*", 19) == 0 && !valid_shipment(c.seg[0])) ||
        (strncmp(route->pattern, "/api/v1/cards/*", 15) == 0 && !valid_card(c.seg[0]))) {
        reply_error(&c, 404, _("no such shipment or card"));
        return;
    }
    if (!conn) {
        reply_error(&c, 503, _("no database"));
        return;
    }
    r = authenticate(&c);
    c.signed_in = r == 0;
    /* a server fault is not a reason to sign in again: the database failing (restarted under a pooled
     * connection, say) is 503, and nothing was changed yet, so the caller may try once more */
    if (r < 0 && r != ACCOUNT_ERROR_DENIED && r != ACCOUNT_ERROR_BUSY) {
        snprintf(c.resp->retry_after, sizeof(c.resp->retry_after), "1");
        resp->db_retry = true;
        reply_error(&c, 503, _("the database did not answer; try again"));
        return;
    }
    if (r == ACCOUNT_ERROR_BUSY && route->roles != R_PUBLIC) {
        snprintf(c.resp->retry_after, sizeof(c.resp->retry_after), "1");
        reply_error(&c, 503, "%s", account_strerror(r));
        return;
    }
    if (route->roles != R_PUBLIC) {
        if (!c.signed_in) {
            reply_error(&c, 401, _("sign in first"));
            return;
        }
        if (!(route->roles & role_bit(c.who.role))) {
            reply_error(&c, 403, _("your role (%s) may not do this"), c.who.role);
            return;
        }
    }
    /* a browser session must show the token it was given for every change; bearer tokens are not sent by
     * browsers on their own, so they need none */
    if (strcmp(req->method, "POST") == 0 && route->handler != api_login && c.session[0] &&
        !(req->authorization && strncmp(req->authorization, "Bearer ", 7) == 0)) {
        if (!req->csrf || !c.csrf[0] || !producer_account_secret_eq(req->csrf, c.csrf) || !same_origin(&c)) {
            reply_error(&c, 403, _("missing or wrong CSRF token; reload the page"));
            return;
        }
    }
    if (c.signed_in)
        snprintf(c.actor, sizeof(c.actor), "web:%s", c.who.name);
    route->handler(&c);
}
