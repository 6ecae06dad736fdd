/* intake.c — approved applications enter the database: CSV import (all or nothing) and the shared insert path
 */
#include "intake/intake.h"
#include "store/applications.h"
#include "store/banks.h"
#include "store/calendar.h"
#include "store/outlets.h"
#include "store/photos.h"
#include "store/settings.h"
#include "store/store.h"

#include "base/fileio.h"
#include "base/i18n.h"

#include "base/csv.h"
#include "store/db.h"
#include "base/log.h"
#include "photo.h"
#include "producer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IMPORT_MAX_BYTES  (64u * 1024u * 1024u)
#define IMPORT_MAX_ERRORS 20

int producer_insert_photo(PGconn *conn, const uint8_t *bytes, size_t len, const char *studio, int64_t *ret_id)
{
    char sha[65];

    if (!conn || (!bytes && len > 0) || !ret_id)
        return PRODUCER_ERROR_INVALID;
    photo_sha256_hex(bytes, len, sha);
    return store_photos_insert(conn, bytes, len, sha, studio, ret_id);
}

int producer_insert_application(PGconn *conn, const struct producer_app *a, const char *accepted_at,
                                int priority, char *err, size_t err_size)
{
    if (!conn || !a || !accepted_at)
        return PRODUCER_ERROR_INVALID;
    return store_applications_insert(conn, a, accepted_at, priority, err, err_size);
}

/* --- CSV import ----------------------------------------------------------------------------------------- */

enum column {
    COL_UPSTREAM_ID,
    COL_KIND,
    COL_DOC_TYPE,
    COL_DOC_NUMBER,
    COL_SSN,
    COL_NAME,
    COL_SEX,
    COL_ETHNICITY,
    COL_BIRTH_DATE,
    COL_BIRTH_PLACE,
    COL_NATIONALITY,
    COL_OUTLET,
    COL_BANK,
    COL_ACCEPTED_AT,
    COL_PHOTO,
    COL_REPLACED_CARD,
    COL_PRIORITY,
    COL_REP_ROLE,
    COL_REP_NAME,
    COL_REP_DOC_TYPE,
    COL_REP_DOC_NUMBER,
    COL_REP_NATIONALITY,
    COL_REP_RELATIONSHIP,
    COL_COUNT
};

_Static_assert(COL_COUNT == PRODUCER_IMPORT_COLUMNS, "intake.h names the number of import columns");

static const struct {
    const char *name;
    bool required;
} columns[COL_COUNT] = {
    [COL_UPSTREAM_ID] = {"upstream_id", true},
    [COL_KIND] = {"kind", true},
    [COL_DOC_TYPE] = {"doc_type", true},
    [COL_DOC_NUMBER] = {"doc_number", true},
    [COL_SSN] = {"ssn", false},
    [COL_NAME] = {"name", true},
    [COL_SEX] = {"sex", true},
    [COL_ETHNICITY] = {"ethnicity", true},
    [COL_BIRTH_DATE] = {"birth_date", true},
    [COL_BIRTH_PLACE] = {"birth_place", true},
    [COL_NATIONALITY] = {"nationality", false},
    [COL_OUTLET] = {"outlet", true},
    [COL_BANK] = {"bank", false},
    [COL_ACCEPTED_AT] = {"accepted_at", true},
    [COL_PHOTO] = {"photo", true},
    [COL_REPLACED_CARD] = {"replaced_card", false},
    [COL_PRIORITY] = {"priority", false},
    [COL_REP_ROLE] = {"rep_role", false},
    [COL_REP_NAME] = {"rep_name", false},
    [COL_REP_DOC_TYPE] = {"rep_doc_type", false},
    [COL_REP_DOC_NUMBER] = {"rep_doc_number", false},
    [COL_REP_NATIONALITY] = {"rep_nationality", false},
    [COL_REP_RELATIONSHIP] = {"rep_relationship", false},
};

struct import_row {
    struct producer_import_row r;
    uint8_t *photo;
    size_t photo_len;
};

#define ROW_ERROR(...)                                                                                       \
    do {                                                                                                     \
        snprintf(err, err_size, __VA_ARGS__);                                                                \
        return PRODUCER_ERROR_INPUT;                                                                         \
    } while (0)

int producer_import_row_parse(const struct csv_record *rec, const int map[PRODUCER_IMPORT_COLUMNS],
                              int today_yyyymmdd, struct producer_import_row *row, char *err, size_t err_size)
{
    struct producer_app *a = &row->app;
    const char *v[COL_COUNT];
    char reason[RULES_REASON_MAX];
    char *end;

    memset(row, 0, sizeof(*row));
    row->line = rec->line;
    for (int c = 0; c < COL_COUNT; c++)
        v[c] = map[c] >= 0 && map[c] < rec->nfields ? rec->fields[map[c]] : "";
    for (int c = 0; c < COL_COUNT; c++) {
        if (columns[c].required && v[c][0] == '\0')
            ROW_ERROR(_("column %s is empty"), columns[c].name);
    }
#define COPY(field, col)                                                                                     \
    do {                                                                                                     \
        if (strlen(v[col]) >= sizeof(a->field))                                                              \
            ROW_ERROR(_("column %s is too long"), columns[col].name);                                        \
        snprintf(a->field, sizeof(a->field), "%s", v[col]);                                                  \
    } while (0)
    COPY(upstream_id, COL_UPSTREAM_ID);
    COPY(kind, COL_KIND);
    COPY(doc_type, COL_DOC_TYPE);
    COPY(doc_number, COL_DOC_NUMBER);
    COPY(name, COL_NAME);
    COPY(birth_date, COL_BIRTH_DATE);
    COPY(birth_place, COL_BIRTH_PLACE);
    COPY(nationality, COL_NATIONALITY);
    COPY(outlet_code, COL_OUTLET);
    COPY(bank_name, COL_BANK);
    COPY(replaced_card, COL_REPLACED_CARD);
    COPY(rep.role, COL_REP_ROLE);
    COPY(rep.name, COL_REP_NAME);
    COPY(rep.doc_type, COL_REP_DOC_TYPE);
    COPY(rep.doc_number, COL_REP_DOC_NUMBER);
    COPY(rep.nationality, COL_REP_NATIONALITY);
    COPY(rep.relationship, COL_REP_RELATIONSHIP);
    if (v[COL_SSN][0])
        COPY(ssn, COL_SSN);
    else
        snprintf(a->ssn, sizeof(a->ssn), "%.18s", a->doc_number);
#undef COPY
    if (strcmp(a->kind, "new") && strcmp(a->kind, "replacement") && strcmp(a->kind, "exchange") &&
        strcmp(a->kind, "temporary"))
        ROW_ERROR(_("kind '%s' is not one of new, replacement, exchange, temporary"), a->kind);
    if (strcmp(v[COL_SEX], "1") == 0 || strcmp(v[COL_SEX], "M") == 0)
        a->sex = '1';
    else if (strcmp(v[COL_SEX], "2") == 0 || strcmp(v[COL_SEX], "F") == 0)
        a->sex = '2';
    else
        ROW_ERROR(_("sex '%s' must be 1 (male) or 2 (female)"), v[COL_SEX]);
    a->ethnicity = (int)strtol(v[COL_ETHNICITY], &end, 10);
    if (*end || a->ethnicity < 1 || a->ethnicity > 98)
        ROW_ERROR(_("ethnicity '%s' is not a GB 3304 code (1..98)"), v[COL_ETHNICITY]);
    if (!producer_date_parse(a->birth_date, NULL, NULL, NULL))
        ROW_ERROR(_("birth_date '%s' is not YYYY-MM-DD"), a->birth_date);
    if (strlen(a->birth_place) != 6 || strspn(a->birth_place, "0123456789") != 6)
        ROW_ERROR(_("birth_place '%s' is not a 6-digit region code"), a->birth_place);
    {
        /* ISO 8601 only, so that PostgreSQL's own readings ("yesterday", "now") never reach it; the import
         * turns it into the instant it names (bureau time without an offset) once it knows the zone */
        struct producer_time t;
        if (producer_time_parse(v[COL_ACCEPTED_AT], PRODUCER_TIME_INSTANT, "accepted_at", &t, reason,
                                sizeof(reason)) < 0 ||
            strlen(v[COL_ACCEPTED_AT]) >= sizeof(row->accepted_at))
            ROW_ERROR("%s", reason);
        snprintf(row->accepted_at, sizeof(row->accepted_at), "%s", v[COL_ACCEPTED_AT]);
    }
    row->priority = 5;
    if (v[COL_PRIORITY][0]) {
        row->priority = (int)strtol(v[COL_PRIORITY], &end, 10);
        if (*end || row->priority < 0 || row->priority > 9)
            ROW_ERROR(_("priority '%s' must be 0..9"), v[COL_PRIORITY]);
    }
    /* the same rules the line applies, so that a bad number is refused at the door */
    a->photo_id = 1;
    /* the document first, so that the message names the field: its type, then its number */
    if (!producer_doc_type_known(a->doc_type))
        ROW_ERROR(_("doc_type: '%s' is not one of %s"), a->doc_type, PRODUCER_DOC_TYPES);
    if (!producer_doc_valid(a->doc_type, a->doc_number, "", today_yyyymmdd, reason, sizeof(reason)))
        ROW_ERROR(_("doc_number: %s"), reason);
    if (!producer_validate_app(a, today_yyyymmdd, reason, sizeof(reason)))
        ROW_ERROR("%s", reason);
    if (a->nationality[0] && !producer_doc_valid(a->doc_type, a->doc_number, a->nationality, today_yyyymmdd,
                                                 reason, sizeof(reason)))
        ROW_ERROR(_("nationality: %s"), reason);
    a->photo_id = 0;
    row->photo = v[COL_PHOTO];
    return 0;
}

/* The photo a parsed row names, relative to the CSV's directory, read and given the basic checks. */
static int load_photo(struct import_row *row, const char *base_dir, char *err, size_t err_size)
{
    const char *photo = row->r.photo;
    char reason[RULES_REASON_MAX], path[PATH_MAX];
    int r;

    if ((size_t)snprintf(path, sizeof(path), "%s%s%s", photo[0] == '/' ? "" : base_dir,
                         photo[0] == '/' ? "" : "/", photo) >= sizeof(path))
        ROW_ERROR(_("photo path is too long"));
    r = producer_read_file(path, PHOTO_MAX_BYTES, (char **)&row->photo, &row->photo_len);
    if (r < 0)
        ROW_ERROR(_("photo %s: %s"), photo, r == -EFBIG ? _("file larger than 4 MiB") : strerror(-r));
    if (photo_check_basic(row->photo, row->photo_len, reason, sizeof(reason)) < 0) {
        free(row->photo);
        row->photo = NULL;
        ROW_ERROR(_("photo %s: %s"), photo, reason);
    }
    return 0;
}

static bool parse_row(const struct csv_record *rec, const int map[COL_COUNT], const char *csv_path,
                      const char *base_dir, int today, struct import_row *row)
{
    char err[RULES_REASON_MAX + 64];

    row->photo = NULL;
    row->photo_len = 0;
    if (producer_import_row_parse(rec, map, today, &row->r, err, sizeof(err)) < 0 ||
        load_photo(row, base_dir, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s:%d: %s\n", csv_path, rec->line, err);
        return false;
    }
    /* the photo column points into rec, which the next record overwrites */
    row->r.photo = NULL;
    return true;
}

/* Appends "name:line: <problem with the column>\n" to err, as far as it goes (fmt names the column with
 * one %s). */
__attribute__((format(printf, 5, 0))) static void header_error(char *err, size_t err_size, const char *name,
                                                               int line, const char *fmt, const char *column)
{
    size_t used = strlen(err);
    char problem[200];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(problem, sizeof(problem), fmt, column);
#pragma GCC diagnostic pop
    if (used + 1 < err_size)
        snprintf(err + used, err_size - used, "%s:%d: %s\n", name, line, problem);
}

int producer_import_header(const struct csv_record *rec, const char *name,
                           int ret_map[PRODUCER_IMPORT_COLUMNS], char *err, size_t err_size)
{
    int r = 0;

    if (err_size)
        err[0] = '\0';
    for (int c = 0; c < COL_COUNT; c++)
        ret_map[c] = -1;
    for (int i = 0; i < rec->nfields; i++) {
        int found = -1;
        for (int c = 0; c < COL_COUNT; c++) {
            if (strcmp(rec->fields[i], columns[c].name) == 0)
                found = c;
        }
        if (found < 0) {
            header_error(err, err_size, name, rec->line, _("unknown column '%s'"), rec->fields[i]);
            r = PRODUCER_ERROR_INPUT;
        } else if (ret_map[found] >= 0) {
            header_error(err, err_size, name, rec->line, _("column '%s' appears twice"), rec->fields[i]);
            r = PRODUCER_ERROR_INPUT;
        } else {
            ret_map[found] = i;
        }
    }
    for (int c = 0; c < COL_COUNT; c++) {
        if (columns[c].required && ret_map[c] < 0) {
            header_error(err, err_size, name, rec->line, _("required column '%s' is missing"),
                         columns[c].name);
            r = PRODUCER_ERROR_INPUT;
        }
    }
    return r;
}

/* Every row's accepted_at becomes the instant it names, a value without an offset being bureau time (setting
 * bureau_timezone), and none may lie after the bureau's now (CARDLINE_NOW respected). The rows then carry UTC
 * text, which every later check and the insert read the same whatever the session's time zone. */
static int resolve_accepted(PGconn *conn, struct import_row *rows, int n, const char *csv_path)
{
    char(*text)[112] = calloc((size_t)n + 1, sizeof(*text)), (*utc)[32] = calloc((size_t)n + 1, sizeof(*utc));
    const char **texts = calloc((size_t)n + 1, sizeof(*texts));
    bool *future = calloc((size_t)n + 1, sizeof(*future));
    char zone[64];
    struct store_clock now;
    int bad = 0, r = PRODUCER_ERROR_NOMEM;

    if (text && utc && texts && future)
        r = store_settings_time_zone(conn, zone, sizeof(zone));
    for (int i = 0; i < n && r >= 0; i++) {
        struct producer_time t;
        r = producer_time_parse(rows[i].r.accepted_at, PRODUCER_TIME_INSTANT, "accepted_at", &t, NULL, 0);
        if (r >= 0)
            r = producer_time_sql(&t, zone, text[i], sizeof(text[i]));
        texts[i] = text[i];
    }
    if (r >= 0)
        r = store_calendar_instants(conn, texts, n, utc, future);
    if (r < 0) {
        fprintf(stderr, _("%s: could not read the accepted times: %s\n"), csv_path, _(producer_strerror(r)));
        bad = 1;
        goto out;
    }
    if (store_calendar_clock(conn, &now) < 0)
        snprintf(now.now, sizeof(now.now), "?");
    for (int i = 0; i < n; i++) {
        if (!future[i]) {
            snprintf(rows[i].r.accepted_at, sizeof(rows[i].r.accepted_at), "%s", utc[i]);
        } else if (bad++ < IMPORT_MAX_ERRORS) {
            fprintf(stderr, _("%s:%d: accepted_at '%s' is in the future: the bureau's time is now %s (%s)\n"),
                    csv_path, rows[i].r.line, rows[i].r.accepted_at, now.now, zone);
        }
    }
out:
    free(text);
    free(utc);
    free(texts);
    free(future);
    return bad;
}

static int check_outlets(PGconn *conn, struct import_row *rows, int n, const char *csv_path)
{
    int bad = 0;

    for (int i = 0; i < n && bad < IMPORT_MAX_ERRORS; i++) {
        int r = store_outlets_exists(conn, rows[i].r.app.outlet_code);
        /* a database failure is not the file's fault: say so, and stop checking */
        if (r < 0) {
            fprintf(stderr, _("%s:%d: could not check outlet '%s': %s\n"), csv_path, rows[i].r.line,
                    rows[i].r.app.outlet_code, _(producer_strerror(r)));
            return bad + 1;
        }
        if (r == 0) {
            fprintf(stderr, _("%s:%d: unknown outlet '%s'\n"), csv_path, rows[i].r.line,
                    rows[i].r.app.outlet_code);
            bad++;
        }
    }
    return bad;
}

/* The rules of the day of acceptance (which PostgreSQL reads from the row's accepted_at, in bureau time): the
 * applicant's document for their age, the guardian or agent. */
static int check_acceptance(PGconn *conn, struct import_row *rows, int n, int today, const char *csv_path)
{
    char reason[RULES_REASON_MAX];
    int bad = 0;

    for (int i = 0; i < n && bad < IMPORT_MAX_ERRORS; i++) {
        int day, r = store_applications_accept_day(conn, rows[i].r.accepted_at, &day);
        if (r == PRODUCER_ERROR_INPUT) {
            fprintf(stderr, _("%s:%d: accepted_at: '%s' is not a time\n"), csv_path, rows[i].r.line,
                    rows[i].r.accepted_at);
            bad++;
            continue;
        }
        if (r < 0) {
            fprintf(stderr, _("%s:%d: could not read accepted_at: %s\n"), csv_path, rows[i].r.line,
                    _(producer_strerror(r)));
            return bad + 1;
        }
        if (!producer_validate_intake(&rows[i].r.app, day, today, reason, sizeof(reason))) {
            fprintf(stderr, "%s:%d: %s\n", csv_path, rows[i].r.line, reason);
            bad++;
        }
    }
    return bad;
}

/* The account bank is one of the bureau's cooperating banks (table bank, written from the configuration). */
static int check_banks(PGconn *conn, struct import_row *rows, int n, const char *csv_path)
{
    char(*names)[STORE_BANK_NAME_MAX] = NULL;
    char source[301], list[STORE_BANKS_MAX * 24] = "";
    int bad = 0, count = -1;

    for (int i = 0; i < n && bad < IMPORT_MAX_ERRORS; i++) {
        bool known = false;

        if (!rows[i].r.app.bank_name[0])
            continue;
        if (count < 0) {
            names = calloc(STORE_BANKS_MAX, sizeof(*names));
            count = names ? store_banks_list(conn, names, STORE_BANKS_MAX, source, sizeof(source))
                          : PRODUCER_ERROR_NOMEM;
            if (count < 0) {
                fprintf(stderr, _("%s:%d: could not read the cooperating banks: %s\n"), csv_path,
                        rows[i].r.line, _(producer_strerror(count)));
                free(names);
                return bad + 1;
            }
            if (count > STORE_BANKS_MAX)
                count = STORE_BANKS_MAX;
            for (int k = 0; k < count; k++) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof(list) - used, "%s%s", k ? ", " : "", names[k]);
            }
        }
        for (int k = 0; k < count && !known; k++)
            known = strcmp(names[k], rows[i].r.app.bank_name) == 0;
        if (!known) {
            fprintf(
                stderr,
                _("%s:%d: bank: '%s' is not one of the bureau's cooperating banks (%s; the list comes from "
                  "%s)\n"),
                csv_path, rows[i].r.line, rows[i].r.app.bank_name, count ? list : _("none"),
                source[0] ? source : _("no configuration"));
            bad++;
        }
    }
    free(names);
    return bad;
}

int producer_import_applications(PGconn *conn, const char *csv_path)
{
    struct csv_record *rec = malloc(sizeof(*rec));
    struct import_row *rows = NULL;
    char *data = NULL, base_dir[PATH_MAX];
    size_t len = 0, pos = 0;
    int map[COL_COUNT], line = 1, n = 0, cap = 0, bad = 0, r, today;

    if (!rec)
        return PRODUCER_ERROR_NOMEM;
    r = producer_read_file(csv_path, IMPORT_MAX_BYTES, &data, &len);
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", csv_path, r == -EFBIG ? _("file larger than 64 MiB") : strerror(-r));
        free(rec);
        return PRODUCER_ERROR_IO;
    }
    snprintf(base_dir, sizeof(base_dir), "%s", csv_path);
    {
        char *slash = strrchr(base_dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(base_dir, sizeof(base_dir), ".");
    }
    /* 0 when the database cannot say: the rows' date checks then fail and name the problem */
    if (store_calendar_today(conn, &today) < 0)
        today = 0;

    r = csv_next(data, len, &pos, &line, rec);
    if (r != CSV_RECORD) {
        fprintf(stderr, "%s:%d: %s\n", csv_path, line, r == CSV_END ? _("no header row") : csv_strerror(r));
        r = PRODUCER_ERROR_INPUT;
        goto out;
    }
    {
        char err[2048];
        r = producer_import_header(rec, csv_path, map, err, sizeof(err));
        if (r < 0) {
            fputs(err, stderr);
            goto out;
        }
    }

    /* parse and check everything before writing anything */
    while ((r = csv_next(data, len, &pos, &line, rec)) == CSV_RECORD) {
        if (n == cap) {
            int ncap = cap ? cap * 2 : 64;
            struct import_row *grown = realloc(rows, (size_t)ncap * sizeof(*rows));
            if (!grown) {
                r = PRODUCER_ERROR_NOMEM;
                goto out;
            }
            rows = grown;
            cap = ncap;
        }
        if (parse_row(rec, map, csv_path, base_dir, today, &rows[n]))
            n++;
        else if (++bad >= IMPORT_MAX_ERRORS)
            break;
    }
    if (r < 0) {
        fprintf(stderr, "%s:%d: %s\n", csv_path, line, csv_strerror(r));
        bad++;
    }
    if (!bad)
        bad = resolve_accepted(conn, rows, n, csv_path);
    if (!bad)
        bad = check_outlets(conn, rows, n, csv_path);
    if (!bad)
        bad = check_banks(conn, rows, n, csv_path);
    if (!bad)
        bad = check_acceptance(conn, rows, n, today, csv_path);
    if (bad) {
        fprintf(stderr, _("%s: %d bad row(s); nothing was imported\n"), csv_path, bad);
        r = PRODUCER_ERROR_INPUT;
        goto out;
    }

    if (store_begin(conn) < 0) {
        r = PRODUCER_ERROR_DB;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        char err[256];
        snprintf(err, sizeof(err), "%s", _("could not store the photo"));
        if (producer_insert_photo(conn, rows[i].photo, rows[i].photo_len, NULL, &rows[i].r.app.photo_id) <
                0 ||
            producer_insert_application(conn, &rows[i].r.app, rows[i].r.accepted_at, rows[i].r.priority, err,
                                        sizeof(err)) < 0) {
            fprintf(stderr, _("%s:%d: %s; nothing was imported\n"), csv_path, rows[i].r.line, _(err));
            store_rollback(conn);
            r = PRODUCER_ERROR_INPUT;
            goto out;
        }
    }
    if (store_event(conn, "import", "imported", NULL, NULL, NULL, csv_path) < 0 || store_commit(conn) < 0) {
        store_rollback(conn);
        r = PRODUCER_ERROR_DB;
        goto out;
    }
    store_work_notify(conn);
    r = n;
out:
    for (int i = 0; i < n; i++)
        free(rows[i].photo);
    free(rows);
    free(data);
    free(rec);
    return r;
}
