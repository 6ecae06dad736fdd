/* cmd_photo_receipt.c — photo receipts in PostgreSQL, report JSON, and the line's photo gate (no CLI code
 * here) */
#include "intake/photo_receipt.h"

#include "store/db.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bureau's local time for dates printed on receipts. */
#define LOCAL_NOW "bureau_time(clock_now())"

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

int producer_photo_receipt_issue(PGconn *conn, const uint8_t *data, size_t len,
                                 const struct photo_report *report, const char *studio,
                                 const char *doc_number, struct photo_receipt *ret)
{
    struct photo_receipt rc;
    char sha[65], size_s[24], version[16];
    PGresult *res;
    json_object *json;
    int r;

    if (!conn || !data || !report || !ret || !doc_number)
        return PRODUCER_ERROR_INVALID;
    if (!studio_ok(studio) || strlen(doc_number) < 5 || strlen(doc_number) > 32)
        return PRODUCER_ERROR_INPUT;
    if (report->verdict != PHOTO_STATUS_PASS && report->verdict != PHOTO_STATUS_WARN)
        return PRODUCER_ERROR_INPUT;
    /* The receipt binds the bytes the studio hands over; a report of other bytes must not be receipted. */
    photo_sha256_hex(data, len, sha);
    if (strcmp(sha, report->sha256) != 0)
        return PRODUCER_ERROR_INVALID;

    memset(&rc, 0, sizeof(rc));
    res = db_exec(
        conn,
        "SELECT nextval('photo_receipt_serial_seq'), to_char(t, 'YYYY'), to_char(t, 'MM'), "
        "to_char(t, 'DD'), to_char(t, 'YYYY-MM-DD HH24:MI'), to_char((t + coalesce((SELECT value::int "
        "FROM setting WHERE key = 'photo_receipt_valid_days'), 180) * interval '1 day')::date, "
        "'YYYY-MM-DD') FROM (SELECT " LOCAL_NOW " AS t) AS local",
        0, NULL);
    if (!db_ok(res) || PQntuples(res) != 1) {
        log_error("photo", "receipt number: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    r = photo_receipt_number(atoi(PQgetvalue(res, 0, 1)), atoi(PQgetvalue(res, 0, 2)),
                             atoi(PQgetvalue(res, 0, 3)), (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10),
                             rc.number);
    copy(rc.issued_at, sizeof(rc.issued_at), PQgetvalue(res, 0, 4));
    copy(rc.valid_until, sizeof(rc.valid_until), PQgetvalue(res, 0, 5));
    PQclear(res);
    if (r < 0) {
        log_error("photo", "receipt serials are exhausted or the date is out of range");
        return PRODUCER_ERROR_DB;
    }
    copy(rc.sha256, sizeof(rc.sha256), sha);
    copy(rc.profile, sizeof(rc.profile), report->profile);
    rc.profile_version = report->profile_version;
    copy(rc.studio, sizeof(rc.studio), studio);
    producer_mask_doc(doc_number, rc.doc_masked, sizeof(rc.doc_masked));
    copy(rc.verdict, sizeof(rc.verdict), photo_status_name(report->verdict));
    warning_ids(report, rc.warnings, sizeof(rc.warnings));

    json = producer_photo_report_json(report, NULL);
    if (!json)
        return PRODUCER_ERROR_NOMEM;
    snprintf(size_s, sizeof(size_s), "%zu", len);
    snprintf(version, sizeof(version), "%u", rc.profile_version);
    const char *params[11] = {rc.number,     rc.sha256,
                              size_s,        rc.profile,
                              version,       rc.studio,
                              doc_number,    rc.verdict,
                              rc.warnings,   json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN),
                              rc.valid_until};
    r = db_command(conn, "store photo receipt",
                   "INSERT INTO photo_receipt (number, sha256, file_size, profile, profile_version, studio, "
                   "doc_number, verdict, warnings, report, valid_until) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::date)",
                   11, params);
    json_object_put(json);
    if (r < 0)
        return r;
    *ret = rc;
    return 0;
}

int producer_photo_receipt_get(PGconn *conn, const char *number, struct photo_receipt *ret)
{
    struct photo_receipt rc;
    const char *params[1] = {number};
    PGresult *res;

    if (!conn || !number || !ret)
        return PRODUCER_ERROR_INVALID;
    if (photo_receipt_number_valid(number) < 0)
        return PRODUCER_ERROR_INPUT;
    res = db_exec(
        conn,
        "SELECT number, sha256, profile, profile_version, studio, doc_number, "
        "to_char(bureau_time(issued_at), 'YYYY-MM-DD HH24:MI'), to_char(valid_until, 'YYYY-MM-DD'), "
        "verdict, warnings FROM photo_receipt WHERE number = $1",
        1, params);
    if (!db_ok(res)) {
        log_error("photo", "read receipt: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    memset(&rc, 0, sizeof(rc));
    copy(rc.number, sizeof(rc.number), PQgetvalue(res, 0, 0));
    copy(rc.sha256, sizeof(rc.sha256), PQgetvalue(res, 0, 1));
    copy(rc.profile, sizeof(rc.profile), PQgetvalue(res, 0, 2));
    rc.profile_version = (unsigned)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
    copy(rc.studio, sizeof(rc.studio), PQgetvalue(res, 0, 4));
    producer_mask_doc(PQgetvalue(res, 0, 5), rc.doc_masked, sizeof(rc.doc_masked));
    copy(rc.issued_at, sizeof(rc.issued_at), PQgetvalue(res, 0, 6));
    copy(rc.valid_until, sizeof(rc.valid_until), PQgetvalue(res, 0, 7));
    copy(rc.verdict, sizeof(rc.verdict), PQgetvalue(res, 0, 8));
    copy(rc.warnings, sizeof(rc.warnings), PQgetvalue(res, 0, 9));
    PQclear(res);
    *ret = rc;
    return 0;
}

int producer_photo_receipt_verify(PGconn *conn, const char *number, const uint8_t *data, size_t len,
                                  char *reason, size_t reason_size)
{
    const char *params[1] = {number};
    char sha[65], scratch[1];
    PGresult *res;
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
                 "'%.24s' is not a photo receipt number (P + 16 digits + check character)", number);
        return PRODUCER_ERROR_INPUT;
    }
    res = db_exec(conn,
                  "SELECT sha256, valid_until < " LOCAL_NOW "::date, revoked_reason, "
                  "to_char(valid_until, 'YYYY-MM-DD') FROM photo_receipt WHERE number = $1",
                  1, params);
    if (!db_ok(res)) {
        log_error("photo", "verify receipt: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    if (PQntuples(res) != 1) {
        snprintf(reason, reason_size, "receipt %s was never issued", number);
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    photo_sha256_hex(data, len, sha);
    if (!PQgetisnull(res, 0, 2)) {
        snprintf(reason, reason_size, "receipt %s was revoked: %.100s", number, PQgetvalue(res, 0, 2));
        r = PRODUCER_ERROR_INPUT;
    } else if (strcmp(PQgetvalue(res, 0, 0), sha) != 0) {
        snprintf(
            reason, reason_size,
            "the file is not the photo receipt %s was issued for (SHA-256 %.12s..., receipt names %.12s...)",
            number, sha, PQgetvalue(res, 0, 0));
        r = PRODUCER_ERROR_INPUT;
    } else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
        snprintf(reason, reason_size, "receipt %s expired on %s; the photo must be checked again", number,
                 PQgetvalue(res, 0, 3));
        r = PRODUCER_ERROR_INPUT;
    } else {
        r = 0;
    }
    PQclear(res);
    return r;
}

int producer_photo_gate(PGconn *conn, const struct photo_checker *ck, const struct photo_profile *profile,
                        int64_t photo_id, const uint8_t *bytes, size_t len, char *reason, size_t reason_size)
{
    char id[24], receipt[PHOTO_RECEIPT_NUMBER_LEN + 1] = "", why[200] = "", scratch[1];
    const char *params[1] = {id};
    struct photo_report *rep = NULL;
    PGresult *res;
    int r;

    if (!reason || reason_size == 0) {
        reason = scratch;
        reason_size = sizeof(scratch);
    }
    reason[0] = '\0';
    if (!conn || !ck || (!bytes && len > 0))
        return PRODUCER_ERROR_INVALID;
    snprintf(id, sizeof(id), "%" PRId64, photo_id);
    res = db_exec(conn, "SELECT receipt_number FROM photo WHERE id = $1", 1, params);
    if (!db_ok(res)) {
        log_error("photo", "photo %s receipt: %s", id, PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        copy(receipt, sizeof(receipt), PQgetvalue(res, 0, 0));
    PQclear(res);

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
            snprintf(reason, reason_size, "photo fails: format.decode (%s)%s%s", dec->message,
                     why[0] ? "; " : "", why);
        else
            snprintf(reason, reason_size, "photo fails: %s%s%s", ids, why[0] ? "; " : "", why);
        photo_report_free(rep);
        return PRODUCER_ERROR_INPUT;
    }
    photo_report_free(rep);
    return 0;
}
