/* photo_receipt.c — photo quality receipts (issue with its audit event, read, verify), report JSON, and the
 * line's photo gate; the rows themselves are in store/photos.c */
#include "intake/photo_receipt.h"

#include "base/i18n.h"
#include "base/log.h"
#include "base/rules.h"
#include "store/calendar.h"
#include "store/photos.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *point_json(struct photo_point p)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "x", json_object_new_double(p.x));
    json_object_object_add(o, "y", json_object_new_double(p.y));
    return o;
}

json_object *producer_photo_report_json(const struct photo_report *report, const char *file)
{
    json_object *o, *checks, *face;

    if (!report)
        return NULL;
    o = json_object_new_object();
    if (!o)
        return NULL;
    if (file)
        json_object_object_add(o, "file", json_object_new_string(file));
    json_object_object_add(o, "verdict", json_object_new_string(photo_status_name(report->verdict)));
    json_object_object_add(o, "profile", json_object_new_string(report->profile));
    json_object_object_add(o, "profile_version", json_object_new_int((int)report->profile_version));
    json_object_object_add(o, "sha256", json_object_new_string(report->sha256));
    json_object_object_add(o, "file_size", json_object_new_int64((int64_t)report->file_size));
    checks = json_object_new_array();
    for (size_t i = 0; i < report->count && i < PHOTO_CHECK_COUNT; i++) {
        const struct photo_check_result *c = &report->checks[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "id", json_object_new_string(c->id));
        json_object_object_add(e, "status", json_object_new_string(photo_status_name(c->status)));
        json_object_object_add(e, "value", json_object_new_string(c->value_text));
        json_object_object_add(e, "measured", c->has_value ? json_object_new_double(c->value) : NULL);
        json_object_object_add(e, "limit", json_object_new_string(c->limit));
        json_object_object_add(e, "message", json_object_new_string(c->message));
        json_object_array_add(checks, e);
    }
    json_object_object_add(o, "checks", checks);
    face = json_object_new_object();
    json_object_object_add(face, "found", json_object_new_int(report->face.found));
    if (report->face.found > 0) {
        json_object *box = json_object_new_object();
        json_object_object_add(box, "x", json_object_new_int(report->face.x));
        json_object_object_add(box, "y", json_object_new_int(report->face.y));
        json_object_object_add(box, "w", json_object_new_int(report->face.w));
        json_object_object_add(box, "h", json_object_new_int(report->face.h));
        json_object_object_add(face, "box", box);
        json_object_object_add(face, "width", json_object_new_double(report->face.width));
    } else {
        json_object_object_add(face, "box", NULL);
        json_object_object_add(face, "width", NULL);
    }
    bool eyes = report->face.eyes_found == 2;
    json_object_object_add(face, "left_eye", eyes ? point_json(report->face.left_eye) : NULL);
    json_object_object_add(face, "right_eye", eyes ? point_json(report->face.right_eye) : NULL);
    json_object_object_add(face, "head_top",
                           report->face.head_top >= 0 ? json_object_new_int(report->face.head_top) : NULL);
    json_object_object_add(o, "face", face);
    return o;
}

/* The messages photo/ writes with values in them, as written there (marked N_() there too): a message that
 * matches one is shown as its translation with the same values, in the same order; a %s value is itself a
 * message of the library (an advice, a reason) and is translated in turn. Longer before shorter where one is
 * the other's start. */
static const char *const photo_formats[] = {
    N_("not measured: %s"),
    N_("%s is outside %s: %s"),
    N_("profile %s accepts JPEG only; save the photo as a baseline JPEG"),
    N_("photo is %ux%u pixels; %ux%u required: crop and scale it to exactly that size"),
    N_("photo is %ux%u pixels; %ux%u required"),
    N_("the file asks viewers to rotate or mirror it (EXIF orientation %u); rotate the pixels themselves "
       "and save without the orientation tag"),
    N_("background #%02x%02x%02x is not white (darkest channel %.0f, at least %g needed): use a pure white "
       "background with even light"),
    N_("background #%02x%02x%02x is tinted (cast %.0f); it must be pure white"),
    N_("both eyes must be open and clearly visible (found %d): no hair, glare or tinted glasses over the "
       "eyes"),
    N_("not applied by profile %s"),
    N_("photo file is truncated or damaged (%zu bytes)"),
    N_("photo file is %zu bytes; at most %u allowed"),
    N_("photo dimensions are too large; %ux%u required"),
    N_("photo could not be decoded: %s"),
};

#define PHOTO_FORMAT_ARGS 8

/* The length of the printf conversion at fmt ('%' ... conversion letter), its width in *width (0 when none)
 * and whether it is %s in *is_s. */
static size_t conversion(const char *fmt, unsigned *width, bool *is_s)
{
    size_t n = 1;

    *width = 0;
    while (fmt[n] == '0' || fmt[n] == '-')
        n++;
    while (fmt[n] >= '0' && fmt[n] <= '9')
        *width = *width * 10 + (unsigned)(fmt[n++] - '0');
    if (fmt[n] == '.')
        for (n++; fmt[n] >= '0' && fmt[n] <= '9'; n++)
            ;
    while (fmt[n] == 'z' || fmt[n] == 'l' || fmt[n] == 'h')
        n++;
    *is_s = fmt[n] == 's';
    return fmt[n] ? n + 1 : n;
}

/* Whether message is fmt printed; each printed value's offset and length within message into at[] and len[],
 * whether it was a %s into is_s[], their number into *n. */
static bool match_format(const char *fmt, const char *message, size_t at[], size_t len[], bool is_s[],
                         size_t *n)
{
    const char *m = message;

    *n = 0;
    while (*fmt) {
        if (fmt[0] != '%' || fmt[1] == '%') {
            if (*m != *fmt)
                return false;
            fmt += fmt[0] == '%' ? 2 : 1;
            m++;
            continue;
        }
        unsigned width;
        if (*n == PHOTO_FORMAT_ARGS)
            return false;
        size_t k = conversion(fmt, &width, &is_s[*n]);
        const char *next = fmt + k, *end;
        if (k < 2)
            return false;
        if (*next == '%' && next[1] != '%') {
            /* two values side by side: only a fixed width tells them apart */
            if (width == 0 || strlen(m) < width)
                return false;
            end = m + width;
        } else if (!*next) {
            end = m + strlen(m);
        } else { /* up to where the text after the value first occurs */
            size_t lit = strcspn(next, "%");
            char piece[160];
            if (lit >= sizeof(piece))
                return false;
            memcpy(piece, next, lit);
            piece[lit] = '\0';
            end = strstr(m, piece);
            if (!end)
                return false;
        }
        at[*n] = (size_t)(m - message);
        len[*n] = (size_t)(end - m);
        (*n)++;
        m = end;
        fmt = next;
    }
    return *m == '\0';
}

const char *producer_photo_message(const char *message, char *buf, size_t size)
{
    size_t at[PHOTO_FORMAT_ARGS], len[PHOTO_FORMAT_ARGS], n;
    bool is_s[PHOTO_FORMAT_ARGS];

    if (!message || !message[0])
        return "";
    for (size_t i = 0; i < sizeof(photo_formats) / sizeof(photo_formats[0]); i++) {
        if (!match_format(photo_formats[i], message, at, len, is_s, &n))
            continue;
        /* the translation, its conversions replaced by the values in order (msgfmt -c keeps them alike) */
        const char *t = _(photo_formats[i]);
        size_t o = 0, k = 0;
        for (; *t && o + 1 < size; t++) {
            if (t[0] != '%' || t[1] == '%') {
                buf[o++] = *t;
                t += t[0] == '%';
                continue;
            }
            unsigned width;
            bool s_conv;
            size_t c = conversion(t, &width, &s_conv);
            if (k == n)
                return message;
            char value[160];
            snprintf(value, sizeof(value), "%.*s", (int)len[k], message + at[k]);
            const char *v = is_s[k] ? _(value) : value;
            o += (size_t)snprintf(buf + o, size - o, "%s", v);
            if (o >= size)
                o = size - 1;
            k++;
            t += c - 1;
        }
        buf[o] = '\0';
        return buf;
    }
    return _(message);
}

void producer_photo_report_json_localise(json_object *report)
{
    json_object *checks;
    char buf[512];

    if (!report || !json_object_object_get_ex(report, "checks", &checks))
        return;
    for (size_t i = 0; i < json_object_array_length(checks); i++) {
        json_object *e = json_object_array_get_idx(checks, i), *m;
        if (json_object_object_get_ex(e, "message", &m))
            json_object_object_add(
                e, "message",
                json_object_new_string(producer_photo_message(json_object_get_string(m), buf, sizeof(buf))));
    }
}

static bool studio_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 32 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static void warning_ids(const struct photo_report *report, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < report->count && i < PHOTO_CHECK_COUNT; i++) {
        if (report->checks[i].status != PHOTO_STATUS_WARN)
            continue;
        size_t need = strlen(report->checks[i].id) + (used ? 2u : 0u);
        if (used + need + 1u > size)
            break;
        used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", report->checks[i].id);
    }
}

/* The receipt's rows and its audit event, in whatever transaction conn has open. */
static int issue_in_transaction(struct producer_ctx *ctx, size_t len, const struct photo_report *report,
                                const char *doc_number, struct photo_receipt *rc)
{
    struct store_receipt_slot slot;
    char detail[200];
    json_object *json;
    int r;

    r = store_photos_receipt_slot(ctx->conn, &slot);
    if (r < 0)
        return r;
    if (photo_receipt_number(slot.year, slot.month, slot.day, slot.serial, rc->number) < 0) {
        snprintf(ctx->message, sizeof(ctx->message),
                 _("receipt serials are exhausted or the date is out of range"));
        return PRODUCER_ERROR_DB;
    }
    copy(rc->issued_at, sizeof(rc->issued_at), slot.issued_at);
    copy(rc->valid_until, sizeof(rc->valid_until), slot.valid_until);
    json = producer_photo_report_json(report, NULL);
    if (!json)
        return PRODUCER_ERROR_NOMEM;
    r = store_photos_receipt_insert(ctx->conn, rc, len, doc_number,
                                    json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN));
    json_object_put(json);
    if (r < 0)
        return r;
    /* the same event whichever front end issued it: which studio, which receipt (no personal data) */
    snprintf(detail, sizeof(detail), "%s receipt %s", rc->studio, rc->number);
    return store_event(ctx->conn, ctx->actor, "photo_checked", NULL, NULL, NULL, detail);
}

int producer_photo_receipt_doc_check(struct producer_ctx *ctx, const char *doc_type, const char *doc_number)
{
    char reason[RULES_REASON_MAX];
    int today;

    if (!ctx || !ctx->conn)
        return PRODUCER_ERROR_INVALID;
    if (!doc_type || !doc_type[0])
        doc_type = "resident_id";
    if (!doc_number || !doc_number[0])
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT, _("give the applicant's document number"));
    if (strlen(doc_number) > 32)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 _("the document number is longer than 32 characters"));
    if (store_calendar_today(ctx->conn, &today) < 0)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_DB, _("the bureau's date could not be read"));
    /* the identity rules applications are checked with: a receipt for a number no application could carry
     * would only send the applicant back to the studio */
    if (!producer_doc_valid(doc_type, doc_number, "", today, reason, sizeof(reason)))
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT, "%s", reason);
    return 0;
}

int producer_photo_receipt_issue(struct producer_ctx *ctx, const uint8_t *data, size_t len,
                                 const struct photo_report *report, const char *studio, const char *doc_type,
                                 const char *doc_number, struct photo_receipt *ret)
{
    struct photo_receipt rc;
    char sha[65];
    bool own;
    int r;

    if (!ctx || !ctx->conn || !ctx->actor || !data || !report || !ret || !doc_number)
        return PRODUCER_ERROR_INVALID;
    ctx->message[0] = '\0';
    if (!studio_ok(studio))
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT,
                                 _("the studio code is malformed (1 to 32 letters, digits, '-', '_')"));
    if ((r = producer_photo_receipt_doc_check(ctx, doc_type, doc_number)) < 0)
        return r;
    if (report->verdict != PHOTO_STATUS_PASS && report->verdict != PHOTO_STATUS_WARN)
        return producer_ctx_fail(ctx, PRODUCER_ERROR_INPUT, _("the photo fails"));
    /* The receipt binds the bytes the studio hands over; a report of other bytes must not be receipted. */
    photo_sha256_hex(data, len, sha);
    if (strcmp(sha, report->sha256) != 0)
        return PRODUCER_ERROR_INVALID;

    memset(&rc, 0, sizeof(rc));
    copy(rc.sha256, sizeof(rc.sha256), sha);
    copy(rc.profile, sizeof(rc.profile), report->profile);
    rc.profile_version = report->profile_version;
    copy(rc.studio, sizeof(rc.studio), studio);
    producer_mask_doc(doc_number, rc.doc_masked, sizeof(rc.doc_masked));
    copy(rc.verdict, sizeof(rc.verdict), photo_status_name(report->verdict));
    warning_ids(report, rc.warnings, sizeof(rc.warnings));

    /* The web stores the photo in the same transaction as its receipt; the CLI has none open. */
    own = PQtransactionStatus(ctx->conn) == PQTRANS_IDLE;
    if (own && store_begin(ctx->conn) < 0)
        return PRODUCER_ERROR_DB;
    r = issue_in_transaction(ctx, len, report, doc_number, &rc);
    if (own && r == 0)
        r = store_commit(ctx->conn);
    if (r < 0) {
        if (own)
            store_rollback(ctx->conn);
        if (!ctx->message[0])
            snprintf(ctx->message, sizeof(ctx->message), _("the receipt could not be stored: %s"),
                     producer_strerror(r));
        return r;
    }
    *ret = rc;
    return 0;
}

int producer_photo_receipt_get(PGconn *conn, const char *number, struct photo_receipt *ret)
{
    if (!conn || !number || !ret)
        return PRODUCER_ERROR_INVALID;
    if (photo_receipt_number_valid(number) < 0)
        return PRODUCER_ERROR_INPUT;
    return store_photos_receipt_get(conn, number, ret);
}

int producer_photo_receipt_verify(PGconn *conn, const char *number, const uint8_t *data, size_t len,
                                  char *reason, size_t reason_size)
{
    struct store_receipt_state st;
    char sha[65], scratch[1];
    int r;

    if (!reason || reason_size == 0) {
        reason = scratch;
        reason_size = sizeof(scratch);
    }
    reason[0] = '\0';
    if (!conn || !number || (!data && len > 0))
        return PRODUCER_ERROR_INVALID;
    if (photo_receipt_number_valid(number) < 0) {
        snprintf(reason, reason_size,
                 _("'%.24s' is not a photo receipt number (P + 16 digits + check character)"), number);
        return PRODUCER_ERROR_INPUT;
    }
    r = store_photos_receipt_state(conn, number, &st);
    if (r == PRODUCER_ERROR_NOT_FOUND) {
        snprintf(reason, reason_size, _("receipt %s was never issued"), number);
        return r;
    }
    if (r < 0) {
        snprintf(reason, reason_size, _("receipt %s could not be read from the database"), number);
        return r;
    }
    photo_sha256_hex(data, len, sha);
    if (st.revoked) {
        snprintf(reason, reason_size, _("receipt %s was revoked: %.100s"), number, st.revoked_reason);
        return PRODUCER_ERROR_INPUT;
    }
    if (strcmp(st.sha256, sha) != 0) {
        snprintf(reason, reason_size,
                 _("the file is not the photo receipt %s was issued for (SHA-256 %.12s..., receipt names "
                   "%.12s...)"),
                 number, sha, st.sha256);
        return PRODUCER_ERROR_INPUT;
    }
    if (st.expired) {
        snprintf(reason, reason_size, _("receipt %s expired on %s; the photo must be checked again"), number,
                 st.valid_until);
        return PRODUCER_ERROR_INPUT;
    }
    return 0;
}

int producer_photo_gate(PGconn *conn, const struct photo_checker *ck, const struct photo_profile *profile,
                        int64_t photo_id, const uint8_t *bytes, size_t len, char *reason, size_t reason_size)
{
    char receipt[PHOTO_RECEIPT_NUMBER_LEN + 1] = "", why[200] = "", scratch[1];
    struct photo_report *rep = NULL;
    int r;

    if (!reason || reason_size == 0) {
        reason = scratch;
        reason_size = sizeof(scratch);
    }
    reason[0] = '\0';
    if (!conn || !ck || (!bytes && len > 0))
        return PRODUCER_ERROR_INVALID;
    r = store_photos_receipt_of(conn, photo_id, receipt);
    if (r < 0)
        return r;
    if (receipt[0]) {
        r = producer_photo_receipt_verify(conn, receipt, bytes, len, why, sizeof(why));
        if (r == 0)
            return 0;
        if (r == PRODUCER_ERROR_DB)
            return r;
        /* An invalid receipt does not condemn the photo: the full check below may still accept it. */
    }
    r = photo_check(ck, bytes, len, profile, &rep);
    if (r < 0)
        return r == PHOTO_ERROR_NOMEM ? PRODUCER_ERROR_NOMEM : PRODUCER_ERROR_INVALID;
    if (rep->verdict == PHOTO_STATUS_FAIL) {
        char ids[200];
        photo_report_failing_ids(rep, ids, sizeof(ids));
        const struct photo_check_result *dec = photo_report_find(rep, "format.decode");
        if (dec && dec->status == PHOTO_STATUS_FAIL)
            snprintf(reason, reason_size, _("photo fails: format.decode (%s)%s%s"), dec->message,
                     why[0] ? "; " : "", why);
        else
            snprintf(reason, reason_size, _("photo fails: %s%s%s"), ids, why[0] ? "; " : "", why);
        photo_report_free(rep);
        return PRODUCER_ERROR_INPUT;
    }
    photo_report_free(rep);
    return 0;
}
