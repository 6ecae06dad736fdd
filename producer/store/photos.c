/* photos.c (store) — photo bytes and photo quality receipts in the database */
#include "store/photos.h"

#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bureau's local time for dates printed on receipts. */
#define LOCAL_NOW "bureau_time(clock_now())"

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

int store_photos_insert(PGconn *conn, const uint8_t *bytes, size_t len, const char *sha256,
                        const char *studio, int64_t *ret_id)
{
    const char *params[3] = {(const char *)bytes, sha256, studio};
    int lengths[3] = {(int)len, 0, 0};
    int formats[3] = {1, 0, 0};
    PGresult *res;
    int r = PRODUCER_ERROR_DB;

    if (len > INT_MAX)
        return PRODUCER_ERROR_INPUT;
    res = PQexecParams(conn, "INSERT INTO photo (bytes, sha256, studio) VALUES ($1, $2, $3) RETURNING id", 3,
                       NULL, params, lengths, formats, 0);
    if (db_ok(res) && PQntuples(res) == 1) {
        *ret_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        r = 0;
    } else {
        log_debug("store", "store photo: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return r;
}

int store_photos_receipt_slot(PGconn *conn, struct store_receipt_slot *ret)
{
    struct store_receipt_slot s;
    PGresult *res = store_query(
        conn, "receipt number",
        "SELECT nextval('photo_receipt_serial_seq'), to_char(t, 'YYYY'), to_char(t, 'MM'), "
        "to_char(t, 'DD'), to_char(t, 'YYYY-MM-DD HH24:MI'), to_char((t + coalesce((SELECT value::int "
        "FROM setting WHERE key = 'photo_receipt_valid_days'), 180) * interval '1 day')::date, "
        "'YYYY-MM-DD') FROM (SELECT " LOCAL_NOW " AS t) AS local",
        0, NULL);

    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    memset(&s, 0, sizeof(s));
    s.serial = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    s.year = atoi(PQgetvalue(res, 0, 1));
    s.month = atoi(PQgetvalue(res, 0, 2));
    s.day = atoi(PQgetvalue(res, 0, 3));
    copy(s.issued_at, sizeof(s.issued_at), PQgetvalue(res, 0, 4));
    copy(s.valid_until, sizeof(s.valid_until), PQgetvalue(res, 0, 5));
    PQclear(res);
    *ret = s;
    return 0;
}

int store_photos_receipt_insert(PGconn *conn, const struct photo_receipt *rc, size_t file_size,
                                const char *doc_number, const char *report_json)
{
    char size_s[24], version[16];
    PGresult *res;

    snprintf(size_s, sizeof(size_s), "%zu", file_size);
    snprintf(version, sizeof(version), "%u", rc->profile_version);
    const char *params[11] = {rc->number, rc->sha256,  size_s,       rc->profile, version,        rc->studio,
                              doc_number, rc->verdict, rc->warnings, report_json, rc->valid_until};
    res =
        store_query(conn, "store photo receipt",
                    "INSERT INTO photo_receipt (number, sha256, file_size, profile, profile_version, studio, "
                    "doc_number, verdict, warnings, report, valid_until) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::date)",
                    11, params);
    if (!res)
        return PRODUCER_ERROR_DB;
    PQclear(res);
    return 0;
}

int store_photos_receipt_get(PGconn *conn, const char *number, struct photo_receipt *ret)
{
    struct photo_receipt rc;
    const char *params[1] = {number};
    PGresult *res = store_query(
        conn, "read receipt",
        "SELECT number, sha256, profile, profile_version, studio, doc_number, "
        "to_char(bureau_time(issued_at), 'YYYY-MM-DD HH24:MI'), to_char(valid_until, 'YYYY-MM-DD'), "
        "verdict, warnings FROM photo_receipt WHERE number = $1",
        1, params);

    if (!res)
        return PRODUCER_ERROR_DB;
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

int store_photos_receipt_state(PGconn *conn, const char *number, struct store_receipt_state *ret)
{
    struct store_receipt_state s;
    const char *params[1] = {number};
    PGresult *res = store_query(conn, "verify receipt",
                                "SELECT sha256, valid_until < " LOCAL_NOW "::date, revoked_reason, "
                                "to_char(valid_until, 'YYYY-MM-DD') FROM photo_receipt WHERE number = $1",
                                1, params);

    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    memset(&s, 0, sizeof(s));
    copy(s.sha256, sizeof(s.sha256), PQgetvalue(res, 0, 0));
    s.expired = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    s.revoked = !PQgetisnull(res, 0, 2);
    copy(s.revoked_reason, sizeof(s.revoked_reason), PQgetvalue(res, 0, 2));
    copy(s.valid_until, sizeof(s.valid_until), PQgetvalue(res, 0, 3));
    PQclear(res);
    *ret = s;
    return 0;
}

int store_photos_receipt_of(PGconn *conn, int64_t photo_id, char ret[PHOTO_RECEIPT_NUMBER_LEN + 1])
{
    char id[24];
    const char *params[1] = {id};
    PGresult *res;

    snprintf(id, sizeof(id), "%" PRId64, photo_id);
    res = store_query(conn, "photo receipt", "SELECT receipt_number FROM photo WHERE id = $1", 1, params);
    if (!res)
        return PRODUCER_ERROR_DB;
    ret[0] = '\0';
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        copy(ret, PHOTO_RECEIPT_NUMBER_LEN + 1, PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}
